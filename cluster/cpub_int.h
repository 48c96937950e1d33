/* The publisher's parts (cluster/cpub.h): what the loop hands its thread, and what the thread
 * keeps. cpub.c is the door and the loop's side (snapshots of the model), cpubw.c the thread's
 * pass (records, top, info), cns.c the claims of namespaces and objects. */
#ifndef VMFS_CLUSTER_CPUB_INT_H
#define VMFS_CLUSTER_CPUB_INT_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cluster/cidmap.h"
#include "cluster/crec.h"
#include "vmfs/threadlog.h"

struct etcd;

/* The model as the loop saw it at one moment: copies, so the thread never reads the model. */
struct psnap_vlan {
	char name[NAME_MAX_LEN + 1];
	unsigned id;
};
struct psnap_ns {
	uint64_t local;
	char name[NAME_MAX_LEN + 1];
	uint64_t uid, gid, mode, ctime;
	struct psnap_vlan *vl; /* its VLAN aliases */
	size_t nvl;
};
struct psnap_obj {
	uint64_t lns, local;
	uint64_t ctime;
	struct crec_obj rec; /* since 0: the thread keeps when a state began */
	char figures[CREC_FIGURES_MAX + 1]; /* its row of top */
};
struct psnap {
	struct psnap_ns *ns; /* in local id order */
	size_t nns;
	struct psnap_obj *obj; /* in (lns, local) order */
	size_t nobj;
	struct crec_hinfo info;
	struct crec_hload load; /* the host's figures last found to have moved (at 0: none yet) */
};
void psnap_free(struct psnap *s);

/* What the thread knows of one local object, in (lns, local) order. */
struct pobj {
	uint64_t lns, local;
	char name[NAME_MAX_LEN + 1];
	enum ostate state;
	uint64_t since;
	char *published; /* the record etcd holds (as this host wrote it), NULL: none */
	bool refused;    /* its name is another host's: it stays local and unlisted */
	bool stray;	 /* made for a launch rolled back (its claim went): handed to the loop
			  * to remove, never claimed nor published again */
	struct ckey_tag intent; /* the launch it was made for (its claim's), published in its
				 * record: a stray is told by it */
	uint64_t vcpus, memory; /* what it reserves (its config), given back when it goes */
	bool seen; /* in a snapshot of this run (else only read back: gone while vmfs was down) */
	bool kept; /* gone, its claim kept for STATE/damaged/ (said) */
	uint64_t stale_ns, stale; /* a record of it under an id it no longer has, to delete */
};
/* ... and of one local namespace's top. */
struct ptop {
	uint64_t lns;
	char *published;
	struct timespec at; /* when it was put (monotonic) */
	bool said; /* why the namespace is not published was said */
};

/* Why a local object is a stray (removed by the loop unless it runs). */
enum stray_kind {
	STRAY_LAUNCH, /* made for a launch that was rolled back */
	STRAY_MOVE,   /* this host's copy for a cold move that was rolled back */
	STRAY_MOVED,  /* moved to another host while this one was away (its claim names it) */
};

struct cpub {
	struct vmfs *v;
	struct etcd *c;
	char cluster[64];
	char host[NAME_MAX_LEN + 1];
	int statefd;
	struct cidmap map; /* the thread's, once it runs */
	struct pobj *objs;
	size_t nobjs;
	struct ptop *tops;
	size_t ntops;
	char *info; /* the P/h/H/info etcd holds, NULL: none yet */
	char *load; /* ... and P/h/H/load */
	bool probed; /* QEMU was asked its version and machines (once) */
	char qemu[CREC_QEMU_MAX + 1], machine[CREC_MACHINE_MAX + 1];
	bool read;    /* this host's records were read back from etcd */
	bool checked; /* the claims of every local object were looked at once */
	bool recheck; /* ... but one waits for a launch's rollback: again at the next pass */
	bool recovered; /* this host's own launch intents were recovered (cpub_intent.c) */
	struct timespec intents_at; /* when the intents were last looked at (monotonic) */
	uint64_t vlans_sum; /* the aliases last held against the cluster's (cvlan.c), 0: none yet */
	bool map_unsynced; /* STATE/cluster/ids was written but not synced (cns_map_sync) */
	bool reconciled; /* this join's reconcile ran (cluster/creconcile.h); a rejoin clears
			  * it and checked */
	/* the loop's side */
	uint64_t changes; /* model_changes at the last snapshot */
	struct timespec snap_at;
	struct crec_hload load_sent; /* the host's figures handed over last (cluster/chload.h) */
	struct timespec load_at;     /* when they were last measured */
	/* between them */
	pthread_t th;
	bool started;
	struct threadlog tl; /* the thread's lines for host/log */
	pthread_mutex_t lock; /* what follows */
	pthread_cond_t cv;
	bool stopping;
	struct psnap *next; /* the newest snapshot not taken yet */
	struct nsline { /* the thread's lines for namespaces' logs */
		uint64_t lns;
		char *text;
	} *nslines;
	size_t nnslines;
	struct stray { /* local objects the thread found to be strays, for the loop to remove */
		uint64_t lns, local;
		enum stray_kind kind;
		char name[NAME_MAX_LEN + 1];
		char why[CKEY_TAG_LEN];	  /* the launch's or the move's tag */
		char to[NAME_MAX_LEN + 1]; /* STRAY_MOVED: its host now */
		bool said; /* that it cannot be killed yet */
	} *strays;
	size_t nstrays;
};

/* From the thread: a line for host/log and, if lns is not 0, for that namespace's log. */
void cpub_say(struct cpub *p, uint64_t lns, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The thread's pass over one snapshot: 0 when all of it is in etcd, else -errno with the
 * reason in e (etcd failed: the pass is made again later, from what is still to do). */
int cpub_pass(struct cpub *p, const struct psnap *s, struct err *e);

/* cns.c. Every namespace of s gets its cluster id (claimed, or the one the cluster has), and
 * every object of s not yet mapped its claim; a name another host holds leaves the object
 * refused (said once). The map is saved when it changed. */
int cns_claim_all(struct cpub *p, const struct psnap *s, struct err *e);
/* STATE/cluster/ids synced if cns_claim_all wrote it unsynced: 0, or -errno with why in e. */
int cns_map_sync(struct cpub *p, struct err *e);
/* The objects mapped but not in s (removed here): their records and claims go, and their
 * entries. Namespaces no longer in s leave the map (the cluster's namespace stays). */
int cns_forget_gone(struct cpub *p, const struct psnap *s, struct err *e);
/* At the first pass: this host's records in etcd, to keep their since and not put them again;
 * records of objects this host no longer has are deleted (said). */
int cns_read_back(struct cpub *p, struct err *e);
/* cvlan.c. Each local VLAN alias against P/ns/NAME/vlan/ALIAS: one the cluster lacks is
 * claimed with this host's id (unless another alias of the namespace has that id); one whose
 * cluster id differs from this host's is said in the namespace's log. Done again only when
 * the aliases changed (or a pass failed). */
int cvlan_sync(struct cpub *p, const struct psnap *s, struct err *e);
/* cpub_intent.c: launch intents left behind, this host's (first pass) and down hosts'. */
#define CPUB_INTENT_MS 1000 /* a pass at least this often, to see a host down long enough */
int cpub_intents(struct cpub *p, const struct psnap *s, struct err *e);
/* The local namespace mapped to cluster namespace nsid, 0 if none. */
uint64_t cpub_local_ns(const struct cpub *p, uint64_t nsid);
/* From the thread: a local object that is a stray (kind: made for launch `tag`, rolled back; a
 * copy for move `tag`, rolled back; moved to host `to`), for the loop to remove at its next
 * tick if it is not running (cpub.c). */
int cpub_stray(struct cpub *p, uint64_t lns, uint64_t local, const char *name,
	       enum stray_kind kind, const char *tag, const char *to);
/* The thread's entry of a local namespace's top (made if make), NULL if none (or no memory). */
struct ptop *top_of(struct cpub *p, uint64_t lns, bool make);
/* The thread's entry of a local object, NULL if none. */
struct pobj *cpub_obj(struct cpub *p, uint64_t lns, uint64_t local);
int cpub_obj_add(struct cpub *p, uint64_t lns, uint64_t local, const char *name,
		 struct pobj **out);
void cpub_obj_drop(struct cpub *p, uint64_t lns, uint64_t local);
#endif
