/* hosts/ when vmfs names an etcd (docs/cluster-design.md, "Membership"): every host that has
 * claimed a name in the cluster (P/h/H/id), this one too, each with its state and info as the
 * cache (cluster/ccache.h) holds them. Nobody is probed: what a host is comes from its own
 * records (alive, info) and from P/down/H.
 *
 * The cache is applied on the loop; chosts_changed is its change callback: it keeps the list
 * of hosts (a sorted array: a cluster has tens of hosts, not thousands), logs each host going
 * up or down and a record that fails its reader (once per revision: each event is one), and
 * tells its owner (etcd/member.c) a lapse it saw, so that P/down/H gets written.
 *
 * The membership thread tells how this host stands with etcd (chosts_link, under a lock):
 * joined, refused, or cut since T. While cut, this host's state says so and every other
 * host's is UNKNOWN since the cut (the cache is no longer true). */
#ifndef VMFS_CLUSTER_CHOSTS_H
#define VMFS_CLUSTER_CHOSTS_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cluster/ccache.h"
#include "ctl/ctl.h"

struct sbuf;
struct evlog;

/* A host of the cluster, as hosts/NAME names it: kept (not freed) once seen, so that a
 * node's pointer and slot (its inode numbers) stay valid; present while its id is in the
 * cache. */
#define CHOSTS_LISTEN_MAX 8

struct chost {
	uint32_t slot;
	bool present;
	bool forgotten; /* P/forgotten/H exists: hosts/ and everything else ignore it */
	char name[NAME_MAX_LEN + 1];
};

enum chosts_link {
	CL_JOINING, /* no lease yet (etcd not reached, or not asked yet) */
	CL_JOINED,  /* a lease, alive put */
	CL_REFUSED, /* the name is another machine's: why says so */
	CL_CUT,	    /* no keepalive answered for the TTL: since, why */
};

struct chosts {
	char cluster[NAME_MAX_LEN + 1];
	char self[NAME_MAX_LEN + 1];
	char prefix[NAME_MAX_LEN + 16]; /* P/ */
	struct ccache *cache;
	struct evlog *log;
	struct chost **v; /* by name */
	size_t n;
	uint32_t next_slot;
	bool synced;  /* a snapshot has been loaded */
	bool loading; /* changes come from a snapshot, not from events: no lapse is seen */
	/* a DELETE of P/h/H/alive seen: the owner writes P/down/H */
	void (*lapsed)(void *ctx, const char *host);
	void *ctx;
	/* told every change after chosts_changed (etcd/msync.c): chosts_listen */
	struct chosts_listener {
		ccache_change_fn fn;
		void *ctx;
	} listen[CHOSTS_LISTEN_MAX];
	size_t nlisten;
	pthread_mutex_t lock; /* what follows: the membership thread's word */
	enum chosts_link link;
	time_t link_since;
	char link_why[512];
	int64_t lease; /* the lease alive is on (0: none): the membership's (member_lease) */
};

/* NULL without memory. */
struct chosts *chosts_new(const char *cluster, const char *self, struct evlog *log);
void chosts_free(struct chosts *ch);

/* The ccache callback (ctx: the chosts). */
void chosts_changed(void *ctx, const char *key, const struct ccache_kv *old,
		    const struct ccache_kv *now);

/* On the loop's thread, before the cache is fed: fn is told every change of the cache after
 * chosts_changed (the cluster's view, cluster/cview.h; the commands' taker). 0, or -ENOSPC. */
int chosts_listen(struct chosts *ch, ccache_change_fn fn, void *ctx);

/* From any thread: how this host stands with etcd; since is kept while the state stays. */
void chosts_set_link(struct chosts *ch, enum chosts_link l, const char *why);

/* From any thread: how this host stands now, and why (if why is not NULL). */
enum chosts_link chosts_get_link(struct chosts *ch, char *why, size_t whylen);
/* Whether host is forgotten (P/forgotten/H, cluster/cdrain.h): why then says by whom, when,
 * and what the admin deletes. */
bool chosts_forgotten(struct chosts *ch, const char *host, char *why, size_t whylen);
/* Whether host's alive is in the cache. */
bool chosts_up(struct chosts *ch, const char *host);
/* hosts/NAME: NULL if NAME has no id in the cache, or is forgotten (this host is not looked
 * up here). */
struct chost *chosts_find(struct chosts *ch, const char *name);
/* The host of an inode's slot, while present. */
struct chost *chosts_slot(struct chosts *ch, uint32_t slot);
/* hosts/'s names: this host first (idx 0), then the others in name order; fn as
 * vtab's names. */
int chosts_names(struct chosts *ch, size_t from, int (*fn)(void *ctx, const char *name, size_t idx),
		 void *ctx);
/* Host's alive record as read (false: none, or one its reader refused). */
struct crec_alive;
bool chosts_alive(struct chosts *ch, const char *host, struct crec_alive *a);
/* Whether addr (as inet_ntop writes it) is the `addr` of another host with an id and an alive
 * record: `p9_peers = cluster` admits it. */
bool chosts_addr_known(struct chosts *ch, const char *addr);
/* hosts/NAME/state (h NULL: this host) and hosts/NAME/info (of another); a host draining
 * (P/cap/H's drain) says so after its up or down words. */
void chosts_state_text(struct chosts *ch, const struct chost *h, struct sbuf *out);
void chosts_info_text(struct chosts *ch, const struct chost *h, struct sbuf *out);
/* hosts/NAME/top in a cluster: a local host/top's columns, and `age`, how long ago the host
 * measured its figures (this host's own row: 0s). */
#define CHOSTS_TOP_HEAD "host\tcpu%\tload1\tmem_used\tmem_total\tvms\tcontainers\tage\n"
/* hosts/NAME/top of another host. vms and containers are the counts of the claims naming it
 * (the caller's, from cluster/cview.h), mem_total its info's `memory`; cpu%, load1 and
 * mem_used its P/h/H/load (cluster/chload.h), `-` while it has none or one that its reader or
 * chload_sane refuses (said in host/log when it came), and age the time since its `at`, by
 * this host's clock. A host without alive (down) has every figure `-` (its state says why). */
void chosts_top_text(struct chosts *ch, const struct chost *h, size_t vms, size_t cts,
		     struct sbuf *out);
#endif
