/* Many hosts: the members of the cluster, each another host's vmfs tree (README.md, "Many
 * hosts"). No wire protocol of ours: the head reads and writes the member's files, carried
 * by a network filesystem or by 9P (cluster/rtrans.h). vmfs mounts a member given as
 * ssh://USER@HOST/PATH itself (sshfs, with reconnect); one given as a path was mounted by the
 * admin (NFS, or anything else); one given as 9p://HOST:PORT or 9p+ssh://USER@HOST is spoken
 * to in 9P by the head itself, so the member's errno reaches the head's user.
 *
 * Every operation on a member goes through its worker (cluster/rjob.h), bounded in time, so
 * a member that stops answering never blocks the head: it is probed every second (its
 * host/info, which also gives the round trip), marked down when a probe fails or overstays
 * 1.5 s, and up again when one answers. The tables of the namespaces that span it (info,
 * top) are copied on each probe, so the head's merged tables and listings answer from
 * memory, at once, whatever the members do. */
#ifndef VMFS_CLUSTER_H
#define VMFS_CLUSTER_H
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cluster/rjob.h"
#include "cluster/rtrans.h"
#include "runtime/model.h"
#include "runtime/util.h"

struct model;
struct evlog;
struct ns;

enum mstate { MS_CONNECTING, MS_UP, MS_DOWN };

/* A namespace's tables as the member last gave them. */
struct mtab {
	char ns[64];
	struct sbuf info, top;
	bool fresh; /* from the last probe that answered */
};

/* A VLAN's peers as last told to a member (vxlan.c). */
struct vxsent {
	unsigned vid;
	char peers[512];
	bool wanted; /* in this pass */
};

struct member {
	struct cluster *cl;
	uint32_t slot; /* for inode numbers; never reused */
	char name[64];
	char url[1024];
	char root[PATH_MAX]; /* where its tree is, on this host (a mounted one) */
	bool ssh;        /* vmfs mounts it with sshfs (and unmounts it) */
	struct rtarget target; /* how its workers reach it */
	enum mstate state;
	time_t since;
	char why[512];
	unsigned latency_ms;
	struct sbuf info, top; /* its host/info and host/top */
	struct rworker *w;  /* the users' requests */
	struct rworker *hw; /* probes, tables, mounts: never queued behind a slow command */
	bool probing, mounting, removed;
	unsigned down_ticks;
	struct mtab *tabs;
	size_t ntabs;
	struct vxsent *vx;
	size_t nvx;
	unsigned refs;
};

/* A VM or container of a member, as the head names it: found in the member's table, given
 * an id (for inode numbers) the first time it is looked up, never reused. */
struct robj {
	uint32_t id;
	struct member *mb;
	char ns[64];
	int type; /* OT_VM, OT_CT */
	char name[64];
};

struct cluster {
	struct model *m;
	struct evlog *log; /* host/log */
	const char *sshfs_options;
	int dirfd; /* STATE/members: members.conf and the sshfs mount points */
	struct member **v;
	size_t n;
	uint32_t next_slot;
	bool running; /* the event loop runs: workers may start */
	uint64_t synced; /* model_changes at the last VXLAN decision */
	struct robj **robjs;
	size_t nrobjs;
	struct vxself {
		char peers[512];
		bool wanted;
	} *self_vx; /* by VLAN id: this host's VXLANs (vxlan.c) */
	int tfd;
	struct rtsrc tick;
};

/* Reads STATE/members/members.conf, adds each, and joins the model's epoll (a timer). */
int cluster_open(struct cluster *cl, struct model *m, struct evlog *log, const char *sshfs_options,
		 char *err, size_t errlen);
void cluster_close(struct cluster *cl);
/* hosts/ctl: add NAME URL, remove NAME. */
int cluster_add(struct cluster *cl, const char *name, const char *url, char *err, size_t errlen);
/* Is url one add takes (ssh://USER@HOST/PATH, 9p://HOST[:PORT], 9p+ssh://USER@HOST[:PORT], or
 * an absolute path)? For vmfs.conf's members. */
int member_url_check(const char *url, char *err, size_t errlen);
int cluster_remove(struct cluster *cl, const char *name, char *err, size_t errlen);
struct member *cluster_find(const struct cluster *cl, const char *name);
void member_put(struct member *mb);
struct member *cluster_slot(const struct cluster *cl, uint32_t slot);
const char *mstate_name(enum mstate s);
/* A worker of mb's own (a console's reads), reaching it as mb's do; jobs' paths relative. */
struct rworker *member_worker_new(struct member *mb);
/* hosts/NAME/info's last line: "transport 9p over TCP to 10.0.0.12:564". */
void member_transport_text(const struct member *mb, struct sbuf *out);
/* hosts/NAME/state: "up since T, 3 ms" or "down since T: why". */
void member_state_text(const struct member *mb, struct sbuf *out);
/* A new copy of NS's info (or top) table of mb (text is taken). */
void member_table_set(struct member *mb, const char *ns, bool top, struct sbuf *text);
/* The member's copy of NS's tables, NULL if it has none. */
const struct mtab *member_tab(const struct member *mb, const char *ns);
/* The rows of every member that ns spans, for the head's info (or top) table. */
void cluster_rows(const struct cluster *cl, const struct ns *ns, bool top, struct sbuf *out);
/* Each name of ns's hosts value, in order (this host's too): fn until it returns non-zero. */
int ns_hosts_each(const struct ns *ns, int (*fn)(void *ctx, const char *host), void *ctx);
/* The members ns spans, in its hosts order: calls fn until it returns non-zero. */
int cluster_spanned(const struct cluster *cl, const struct ns *ns,
		    int (*fn)(void *ctx, struct member *mb), void *ctx);
/* Runs a job on mb's tree (path relative to its root), within timeout_ms; done gets -EHOSTDOWN
 * at once when the member is down. */
void member_job(struct member *mb, struct rjob *j, const char *rel, unsigned timeout_ms);
/* Requests to members that one command waits for (a launch placed on several hosts, a
 * `start all` that reaches every member): counted down as they answer; the first failure
 * keeps its reason. Jobs for one member run in the order given. */
struct rbatch {
	int refs;
	unsigned pending;
	int err;
	char why[1024];
	unsigned long count; /* the N of each member's "ok: VERB N" */
	struct waitq wq;
};
struct rbatch *rbatch_new(void);
void rbatch_put(struct rbatch *b);
/* Adds a job (ROP_CTL, ROP_WRITE, ROP_MKDIR) on mb's rel; ok_err is an error that counts as
 * success (EEXIST for a namespace that is there already). */
void rbatch_add(struct rbatch *b, struct member *mb, enum rop op, const char *rel,
		const char *data, size_t len, int ok_err);
/* Then mb's tables of ns and its host/info read again, so that the command's answer comes
 * with them (and the next launch places by what is there now). */
void rbatch_refresh(struct rbatch *b, struct member *mb, const char *ns);

/* Once a second: the VXLANs every host of every namespace should have (vxlan.c). */
void cluster_vxlan_sync(struct cluster *cl);

/* The remote object ns/NS/(vms|containers)/NAME, if a member that ns spans lists it. */
struct robj *cluster_robj_find(struct cluster *cl, const struct ns *ns, int type, const char *name);
struct robj *cluster_robj(const struct cluster *cl, uint32_t id);
/* The names of the remote objects of a type in ns: fn until it returns non-zero. */
int cluster_robj_names(const struct cluster *cl, const struct ns *ns, int type,
		       int (*fn)(void *ctx, const char *name), void *ctx);
#endif
