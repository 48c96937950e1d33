/* The model: namespaces and the VMs and containers they hold, their configuration, state
 * and event logs, and how all of it is kept in the state directory. Knows nothing of FUSE
 * or HTTP: the node table (vmfs/) and the web server both call these functions.
 *
 * Single-threaded by design: everything here runs on the event loop's thread, so there are
 * no locks. Objects and namespaces are reference counted because open files (handles) can
 * outlive an rmdir; a removed one is marked gone and freed at its last put. */
#ifndef VMFS_MODEL_H
#define VMFS_MODEL_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "ctl/ctl.h"
#include "ctl/params.h"
#include "runtime/kvm.h"
#include "runtime/userns.h"
#include "runtime/util.h"
#include "runtime/waitq.h"

#define NPARAMS_MAX 64

enum otype { OT_VM, OT_CT };
enum ostate { ST_BUILDING, ST_RUNNING, ST_PAUSED, ST_QUIT, ST_ERROR };

const char *otype_name(enum otype t);     /* "kvm", "container" */
const char *otype_dir(enum otype t);      /* "vms", "containers" */
const char *ostate_name(enum ostate s);   /* "BUILDING" ... */
unsigned otype_mask(enum otype t);        /* PARAM_VM or PARAM_CT */

/* An append-only event log kept as a file in the state directory; readers pread it, so a
 * log costs no memory and `tail -f` works through the mount. */
struct evlog {
	int dirfd;      /* the namespace's state directory (borrowed) */
	char path[NAME_MAX_LEN + 32]; /* "log" or "vms/NAME/log" below it */
	uint64_t size;  /* bytes in the file now */
	struct waitq wq; /* readers waiting for the log to grow */
};

struct ns;

/* What a running object is, as its runtime found it (nothing of it is saved: it is read
 * back from the run directory and /proc when vmfs starts). */
/* Something of the runtime's that the event loop watches through m->rtep (a VM's monitor,
 * a background job): the epoll data points at it, and ready is called when it is. */
struct model;
struct netnic;
struct rtsrc {
	void (*ready)(struct model *m, struct rtsrc *s);
};

struct objrt {
	pid_t pid;              /* the container's init or QEMU, in our PID namespace */
	unsigned long long pid_start; /* its start time (/proc/PID/stat field 22) */
	time_t started;
	time_t stop_deadline;   /* stop: SIGKILL after this, 0 if not stopping */
	bool killing;           /* vmfs sent the SIGKILL: not the OOM killer's doing */
	int wd;                 /* inotify watch on the run directory, -1 if none */
	int console_fd;         /* connection to console.sock for input, -1 if none */
	struct rtsrc console_src; /* VMs: drains what QEMU sends back on it (runtime/console.c) */
	int pidfd;              /* the shim's or QEMU's pidfd in m->rtep: its end, at once */
	struct rtsrc pid_src;
	uint64_t cpu_usec;      /* last sample, for cpu% */
	double cpu;             /* percent of one CPU over the last second */
	uint64_t mem, pids;     /* last sample */
	char exit[128];         /* how it ended: "exited 0", "killed KILL", ... */
	/* VMs only */
	struct qmon *qmon;      /* the event monitor (runtime/qmon.c), NULL if none */
	char status[24];        /* QEMU's run state as it last reported it */
	char accel[8];          /* the accelerator QEMU reports in use (query-kvm) */
	char shutdown[32];      /* the reason of QEMU's SHUTDOWN event, "" if none came */
	int vnc_display;        /* VNC on port 5900 + this, websocket on 5700 + this; -1 */
	uint64_t disk_rd, disk_wr; /* bytes since QEMU started (query-blockstats) */
	double disk_rd_rate, disk_wr_rate;
	struct timespec disk_at;
	uint64_t guest_ticks;   /* last sample of /proc/PID/stat guest_time */
	double guest_cpu;       /* percent of one CPU spent running guest code */
	struct vmjob *job;      /* a commit in progress (runtime/vmdisk.c), NULL if none */
	struct lcpend *starting; /* a start waiting for its process (lifecycle.c), NULL if none */
	int job_result;         /* how the last one ended: 0 or -errno ... */
	char *job_err;          /* ... and why (malloc'd; NULL: out of memory) */
	struct netnic *nics;    /* while it runs (runtime/net.c), NULL if none */
	int nnics;
	uint64_t net_rx, net_tx; /* bytes the guest received and sent, all NICs (last sample) */
	double net_rx_rate, net_tx_rate;
};

struct object {
	int refs;
	bool gone;
	/* its key in m->slots once inserted: ns->id << OBJ_ID_BITS | id, the persistent part
	 * of its inode numbers (vmfs/node.c); 0 before */
	uint64_t slot;
	struct ns *ns;
	enum otype type;
	char name[NAME_MAX_LEN + 1];
	uint64_t id;    /* persistent, unique within the namespace, never reused: 1..OBJ_ID_MAX */
	enum ostate state;
	char *cfg[NPARAMS_MAX]; /* NULL: the default of params[i] */
	time_t ctime, mtime, cfg_mtime[NPARAMS_MAX];
	char *error;    /* the last error, in words (info's "error" line) */
	struct evlog log;
	struct waitq console_wq; /* console readers waiting for output */
	struct waitq job_wq;     /* ctl writes waiting for a commit to end */
	struct objrt rt;
};

struct objlist {
	struct object **v; /* sorted by name */
	size_t n, cap;
};

struct ns {
	int refs;
	bool gone;
	/* persistent, unique within the state directory and never reused (state/ids keeps
	 * the count): 1..NS_ID_MAX; 0 until it has one */
	uint64_t id;
	uint64_t slot; /* its key in m->slots once registered: id << OBJ_ID_BITS; 0 before */
	struct model *model; /* whose subscribers hear of it (model_subscribe) */
	char name[NAME_MAX_LEN + 1];
	uid_t uid;
	gid_t gid;
	mode_t mode;        /* permission bits of the namespace directory */
	char *cfg[NPARAMS_MAX]; /* the template for new objects */
	time_t cfg_mtime[NPARAMS_MAX];
	char *hosts;        /* space-separated host names; "" means this host */
	char *vlan_range;   /* "101-4096" */
	char *taps;         /* host interfaces: "VLAN=ADDR/PREFIX ..." (runtime/net.c), NULL: none */
	struct vlan_alias *vlans; /* vlans/ALIAS (runtime/vlan.c), in the order made */
	size_t nvlans;
	unsigned vlan_serial;
	uint64_t next_id;
	time_t ctime, mtime;
	struct objlist objs[2]; /* [OT_VM], [OT_CT] */
	int dirfd;          /* state/ns/NAME */
	struct evlog log;
};

/* What the model tells the layers above it (networking) that keep a part of a namespace:
 * they subscribe to its events instead of the model calling up into them. */
enum model_ev_kind {
	/* Loading ns.conf: a key the model does not know (key, value). The subscriber that
	 * owns it returns 0, or -errno with the reason in err; the others return 1. A key no
	 * one owns makes ns.conf damaged, so subscribe before model_open. */
	MEV_NS_KEY,
	MEV_NS_SAVING,  /* ns.conf is being written: append your keys to conf (same write) */
	MEV_NS_REMOVED, /* its directory is gone; it is still in the list, its fields intact */
	MEV_NS_FREED,   /* its last reference goes: free what you hung on it */
	/* config/NAME (param, value) of the namespace's template (o NULL) or of object o is to
	 * be set, checked already: a subscriber may refuse (-errno, reason in err) or make
	 * ready what the value needs (networking gives the VLAN aliases it names their ids);
	 * the others return 1. */
	MEV_CFG_SETTING,
	/* Whether value of param reaches past the namespace (ctl/params.h's reach), for a
	 * param whose reach is a subscriber's to judge (PR_NET: the namespace's VLANs): its
	 * judge returns 0 (it stays inside) or -EPERM with the reason; the others return 1. No
	 * judge: it reaches. */
	MEV_CFG_REACH,
};

struct err;
struct model_ev {
	enum model_ev_kind kind;
	struct ns *ns;
	struct object *o;        /* MEV_CFG_SETTING: NULL for the template */
	int param;               /* MEV_CFG_*: an index in params[] */
	const char *key, *value; /* MEV_NS_KEY; value also MEV_CFG_* */
	struct sbuf *conf;       /* MEV_NS_SAVING */
	struct err *err;         /* why a subscriber refused (MEV_NS_KEY, MEV_CFG_*) */
};

typedef int (*model_fn)(void *ctx, struct model *m, const struct model_ev *ev);

#define MODEL_SUBS_MAX 4

struct model {
	/* Told of the model's events, in the order they subscribed (kept by model_open and
	 * model_close: subscribe once, on a zeroed model, before model_open). */
	struct model_sub {
		model_fn fn;
		void *ctx;
	} subs[MODEL_SUBS_MAX];
	size_t nsubs;
	/* 0 if a namespace may name this host in its hosts (this host, a member) */
	int (*host_check)(void *arg, const char *name);
	void *host_check_arg;
	/* The id ns's VLAN alias has in the cluster this host is of (cluster/cvlan.h), 0: none
	 * (no cluster, or no host claimed it yet). runtime/vlan.c gives a new alias that id, and
	 * an alias no running NIC uses takes it at the next start of an object on it. */
	unsigned (*vlan_cluster)(void *arg, const struct ns *ns, const char *alias);
	void *vlan_cluster_arg;
	char *statedir, *imagedir;
	const char *mountpoint; /* never looked at from inside: it would ask us */
	char *shim;      /* the vmfs-shim binary */
	char cgroup_top[32]; /* our top cgroup: "vmfs", or vmfs-HASH for another state dir */
	int inotify;     /* run directories of running objects */
	int rtep;        /* epoll set of struct rtsrc: VM monitors, background jobs */
	int statefd, nsdirfd, imagefd;
	struct ns **nss; /* sorted by name */
	size_t nns, capns;
	uint64_t next_ns_id; /* kept in state/ids (runtime/ids.c) */
	/* This start of the state directory, greater than every earlier one's (state/ids):
	 * what lasts only while vmfs runs is told apart by it across restarts. */
	uint32_t run;
	struct slotmap *slots; /* persistent key -> ns or object */
	time_t started;
	uint64_t nobjs[2];
	struct net *net; /* runtime/net.c: bridges, taps, veths, learned addresses */
	struct kvm_probe kvm; /* probed once at startup: whether `accel auto` may use KVM */
	struct userns_host userns; /* probed once at startup: containers' user namespaces */
	/* What model_open found unreadable and moved aside to damaged/ (or removed: a half-made
	 * directory), a line each: the front end writes it to host/log once that is open. */
	struct sbuf damage;
	/* Some state was not loaded and is not in damaged/ either (it stayed where it was: out of
	 * memory, descriptors, a move aside that failed): nothing may be judged lost by its
	 * absence (damage_left). Set while loading, read-only after. */
	bool load_incomplete;
	/* Told when an object leaves, so a front end can drop what it cached of it. */
	void (*on_remove)(void *arg, const struct object *o);
	void *on_remove_arg;
};

/* Inode numbers (vmfs/node.c) carry a namespace's id and an object's in 48 bits: past
 * these, no namespace or object is made (ENOSPC) nor loaded (damaged). */
#define OBJ_ID_BITS 28
#define NS_ID_BITS 20
#define OBJ_ID_MAX ((1ull << OBJ_ID_BITS) - 1)
#define NS_ID_MAX ((1ull << NS_ID_BITS) - 1)

/* What a key refers to, for decoding inode numbers: a namespace's is id << OBJ_ID_BITS,
 * an object's that | its id. */
enum slot_kind { SLOT_NS = 1, SLOT_OBJ = 2 };
void *model_slot(struct model *m, uint64_t key, enum slot_kind kind);

/* fn(ctx, m, ev) is told of every event from now on. -ENOSPC past MODEL_SUBS_MAX. */
int model_subscribe(struct model *m, model_fn fn, void *ctx);

/* Opens (creating) the state and image directories and loads every namespace and object.
 * What cannot be read is moved aside to damaged/ (runtime/damaged.h), never deleted and never
 * fatal; m->damage and the namespace's log say so. m is zeroed, or as model_close left it:
 * its subscribers are kept, the rest is set anew. */
int model_open(struct model *m, const char *statedir, const char *imagedir, char *err,
	       size_t errlen);
void model_close(struct model *m);
/* Loads ns's object TYPE/name, made in the state directory since model_open (a cold move's
 * copy): as at the start, what cannot be read is moved aside and said. 0 when loaded. */
int model_load_obj(struct model *m, struct ns *ns, enum otype t, const char *name);

struct ns *ns_find(struct model *m, const char *name);
/* mkdir ns/NAME: uid/gid own it. -EEXIST, -EINVAL (reason in err). */
int ns_create(struct model *m, const char *name, uid_t uid, gid_t gid, mode_t mode,
	      struct ns **out, char *err, size_t errlen);
/* rmdir ns/NAME: -ENOTEMPTY while it holds objects; "default" is -EBUSY. */
int ns_remove(struct model *m, struct ns *ns, char *err, size_t errlen);
int ns_set_owner(struct model *m, struct ns *ns, uid_t uid, gid_t gid, mode_t mode);
int ns_save(struct model *m, struct ns *ns);
void ns_get(struct ns *ns);
void ns_put(struct ns *ns);

struct object *obj_find(struct ns *ns, enum otype t, const char *name);
/* Finds a name in either list: names are unique across a namespace's VMs and containers. */
struct object *obj_find_any(struct ns *ns, const char *name);
/* Creates objects from the namespace template (or from a copy of like's config). All or
 * nothing: the names are checked first, then all written with one sync. */
int obj_create_many(struct model *m, struct ns *ns, enum otype t, char **names, size_t n,
		    const struct object *like, char *err, size_t errlen);
/* The same with the ids a cluster's claims gave (ids[0..n)), taken when each is past the
 * namespace's counter and the one before; else the counter's (the cluster's id is then mapped
 * by the publisher, cluster/cidmap.h). */
int obj_create_many_ids(struct model *m, struct ns *ns, enum otype t, char **names, size_t n,
			const uint64_t *ids, const struct object *like, char *err, size_t errlen);
int obj_remove(struct model *m, struct object *o, char *err, size_t errlen);
int obj_save(struct model *m, struct object *o);
void obj_get(struct object *o);
void obj_put(struct object *o);

/* The effective value of parameter i: the object's own, else the default. */
const char *obj_param(const struct object *o, int i);
const char *ns_param(const struct ns *ns, int i);
/* The same, by parameter name (the name must be in params[]). */
const char *obj_cfg(const struct object *o, const char *name);
/* A boolean parameter as ctl/value.c reads it: true, yes, on, 1 (any case), or false. */
bool obj_cfg_bool(const struct object *o, const char *name);
/* A path parameter's value as a host path: absolute as it is, else in the image store. */
void model_image_path(const struct model *m, const char *v, char *out, size_t outlen);
/* Validates and sets (value "" resets to the default). Changes nothing on error. */
/* Whether value of parameter i, in namespace ns, reaches the host (ctl/params.h's reach):
 * only host root may write it; why says what it reaches. */
bool param_host_reaching(const struct ns *ns, int i, const char *value, char *why, size_t whylen);
int obj_param_set(struct model *m, struct object *o, int i, const char *value, char *err,
		  size_t errlen);
int ns_param_set(struct model *m, struct ns *ns, int i, const char *value, char *err,
		 size_t errlen);
int ns_hosts_set(struct model *m, struct ns *ns, const char *value, char *err, size_t errlen);
int ns_vlan_range_set(struct model *m, struct ns *ns, const char *value, char *err,
		      size_t errlen);

void evlog_init(struct evlog *l, int dirfd, const char *path);
/* Appends one line "TIME text" to the log. */
void evlog_add(struct evlog *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Counts changes of anything a generated file shows: every logged event (states, errors,
 * learned addresses), every write through either door, every sampling of the figures. A
 * front end may keep a generated file while the count and the second (uptimes) are the same
 * (web/get.c does, for tables served many times a second). */
extern uint64_t model_changes;
/* An error in words, in the object's log and the namespace's (either may be NULL). */
void model_error(struct ns *ns, struct object *o, const char *what, const char *reason);
void model_event(struct ns *ns, struct object *o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reads the log at off; returns bytes read, 0 at the end, -errno. */
ssize_t evlog_read(struct evlog *l, char *buf, size_t size, uint64_t off);

/* Checks a path parameter value exists (absolute, or under the image store). */
int model_check_paths(struct model *m, const struct param *p, const char *value, char *err,
		      size_t errlen);
#endif
