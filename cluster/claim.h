/* A launch's claims in a cluster on etcd (docs/cluster-design.md, "Launch and placement", step
 * 3): the ids of the new objects taken from the namespace's next-id, the hosts' reservations
 * (P/cap/H) added and the intent P/intent/L listing every object placed, in one transaction;
 * then the names claimed in chunks that fit etcd's 128 operations, several at once.
 *
 * The pure part (claim_view_read, claim_place, claim_reserve_build, claim_chunk_build,
 * claim_undo_build) is here so that it can be tested without etcd; claim_run does the I/O and
 * BLOCKS: call it from a thread of its own with its own etcd handle, never from the loop.
 *
 * The reservation, for objects o1..on placed on hosts H1..Hh:
 *   compares: P/ns/NAME's mod_revision as read; each P/cap/Hj's mod_revision as read (0:
 *             absent); P/intent/L absent;
 *   success:  P/ns/NAME with next-id moved past the n ids (and this host added to its hosts if
 *             it holds objects of it now); each P/cap/Hj with its objects added; P/intent/L
 *             (phase claiming) listing every object with its id and host.
 * A compare that fails means another launch won the race: placed again from a new read
 * (CLAIM_TRIES, then EAGAIN); nothing was written.
 * A chunk, for objects oi..ok of the intent at revision R (the reservation's):
 *   compares: each P/name/NSID/oi absent; P/intent/L's mod_revision R;
 *   success:  each claim put (intent=L);
 *   failure:  a range of each claim key, to say which name was taken, and where.
 * The chunks touch no shared counter, so they go at once (CLAIM_PAR connections); the intent's
 * compare makes any chunk fail once the intent was rewritten (a rollback, an adoption). A name
 * taken fails the launch (EEXIST) and the launch is rolled back: at phase claiming every listed
 * object holds its reservation, claimed or not. */
#ifndef VMFS_CLUSTER_CLAIM_H
#define VMFS_CLUSTER_CLAIM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/crec.h"
#include "cluster/sched.h"
#include "etcd/client.h"

#define CLAIM_TRIES 5

/* A host of the namespace as read at R. */
struct claim_host {
	char name[NAME_MAX_LEN + 1];
	bool up;       /* its P/h/H/alive is there */
	bool has_info; /* its P/h/H/info was read (else it takes nothing: its capacity is unknown) */
	struct crec_hinfo info;
	struct crec_cap cap; /* what placements hold there; zero if absent */
	int64_t cap_rev;     /* P/cap/H's mod_revision, 0: absent */
	bool cap_bad;	     /* P/cap/H could not be read: it takes nothing (said in why) */
};

/* A name of the namespace already claimed, and its owner ("" if its claim cannot be read). */
struct claim_taken {
	char name[NAME_MAX_LEN + 1];
	char host[NAME_MAX_LEN + 1];
};

/* What a launch places by: read at one revision. Free with claim_view_free. */
struct claim_view {
	char ns_name[NAME_MAX_LEN + 1];
	bool ns_found;
	struct crec_ns ns;
	int64_t ns_rev;
	struct claim_host *hosts; /* ns.hosts in order, then this host if it is not one of them */
	size_t nhosts;
	struct claim_taken *taken;
	size_t ntaken;
	int64_t rev;
	char why[512]; /* the first value that could not be read, "" if none */
};
void claim_view_free(struct claim_view *v);

/* What to launch. */
struct claim_req {
	const char *cluster;
	const char *self;
	const char *ns;
	enum otype type;
	char **names;
	size_t n;
	uint64_t vcpus, memory; /* each object's, from the template */
	enum sched_policy policy;
	const char *pin; /* the template's host, or NULL */
	bool only_self;	 /* other hosts take nothing (this host sends no commands) */
	struct ckey_tag intent;
	uint64_t ctime;
};

/* One object claimed (or placed, for a plan). */
struct claim_obj {
	char name[NAME_MAX_LEN + 1];
	uint64_t id;
	char host[NAME_MAX_LEN + 1];
};

/* The view from keys read at rev: P/ns/NAME (whose id says which claims are the namespace's),
 * claims P/name/NSID/..., P/cap/H, P/h/H/alive, P/h/H/info (others are ignored). Values that
 * fail their reader are treated as the design says (a claim: the name taken, owner unknown;
 * a cap or an info: that host takes nothing) and the first is said in v->why. 0 or -ENOMEM. */
int claim_view_read(const char *cluster, const char *self, const char *ns,
		    const struct etcd_kv *kv, size_t n, int64_t rev, struct claim_view *v);

/* Places rq's objects (whose names must not be taken: -EEXIST "k7 exists already in ns/lab
 * (on h3)") on the view's hosts by sched_place with capacity and drain. where[i]: index into
 * v->hosts. -ENOENT if the namespace is not in the cluster; -EAGAIN if this host
 * has no alive or info in the view yet (just started); sched_place's errors otherwise. */
int claim_place(const struct claim_view *v, const struct claim_req *rq, size_t *where, char *err,
		size_t errlen);

/* The plan's text: "k1 h2" per object, then each host's load after (sched_plan's). */
void claim_plan(const struct claim_view *v, const struct claim_req *rq, const size_t *where,
		struct sbuf *out);

/* Objects one chunk takes: a compare each, besides the intent's. */
#define CLAIM_CHUNK (ETCD_TXN_MAX - 1)
/* Chunks sent at once, each on a connection of its own. */
#define CLAIM_PAR 8

/* The arrays of one transaction and what they point into. */
struct claim_txn {
	struct etcd_cmp cmp[ETCD_TXN_MAX];
	size_t ncmp;
	struct etcd_op ok[ETCD_TXN_MAX];
	size_t nok;
	struct etcd_op fail[ETCD_TXN_MAX];
	size_t nfail;
	char keys[2 * ETCD_TXN_MAX][CKEY_MAX + 1];
	size_t nkeys;
	struct sbuf vals[ETCD_TXN_MAX];
	size_t nvals;
};
void claim_txn_free(struct claim_txn *t);

/* The reservation's transaction for rq's n objects (where[i]: their hosts in v, ids from
 * v->ns.next_id on); *objs (n, the caller frees) says each object's id and host as the intent
 * lists them. 0, -E2BIG (too many hosts), -ENOMEM, -EINVAL (a key that cannot be built). */
int claim_reserve_build(struct claim_txn *t, const struct claim_view *v,
			const struct claim_req *rq, const size_t *where, struct claim_obj **objs);

/* The intent's value once every chunk is in: objs[0..rq->n) at phase creating. */
int claim_creating_value(struct sbuf *out, const struct claim_req *rq, uint64_t nsid,
			 const struct claim_obj *objs);

/* One chunk's transaction: the claims of objs[0..k) (k <= CLAIM_CHUNK) in namespace nsid,
 * the intent compared on irev. 0, -E2BIG, -ENOMEM, -EINVAL. */
int claim_chunk_build(struct claim_txn *t, const struct claim_req *rq, uint64_t nsid,
		      const struct claim_obj *objs, size_t k, int64_t irev);

/* An object of an intent whose claim was read for a rollback. */
struct claim_undo {
	const struct crec_intent_obj *o;
	bool ours;	    /* the claim is there, names this intent and this object's host and id */
	int64_t claim_rev;  /* its mod_revision */
	bool absent;	    /* no claim of that name when read */
};
/* A host's reservation as read for a rollback. */
struct claim_undo_cap {
	const char *host;
	struct crec_cap cap;
	int64_t rev;
};

/* One rollback transaction of intent `in` (key ikey, mod_revision irev): u[0..k) the objects
 * it handles (each claim that is ours deleted, compared on its revision; each host's
 * reservation given back, compared too), and the intent put again with the objects after
 * these or deleted when none is left (left == 0). rest[0..left): the objects that stay in the
 * intent. A launch's intent at phase claiming reserved every object it lists: those whose
 * claim is not ours give their reservation back too (their claim compared as read: absent or
 * another's), and the intent stays at claiming; any other goes to phase rollback. */
int claim_undo_build(struct claim_txn *t, const char *cluster, const struct crec_intent *in,
		     const char *ikey, int64_t irev, const struct claim_undo *u, size_t k,
		     const struct claim_undo_cap *caps, size_t ncaps,
		     const struct crec_intent_obj *rest, size_t left);

/* The I/O (blocking). Reads the view, places, reserves, claims in chunks (CLAIM_PAR at once,
 * each on a connection opened with o; o NULL: one after the other on c); on success *out (n
 * objects, the caller frees) and 0. plan: stops before the first txn, *out is the placement
 * and plan_text its text. Failures: -EEXIST (a name taken; rolled back), -EAGAIN (lost the
 * race CLAIM_TRIES times; nothing written), -ENOSPC and the others of claim_place, etcd's
 * errors (after a rollback tried); err says why in words. first (may be NULL; freed here): a
 * view the first try places from instead of reading one (the caller's cache: the
 * reservation's compares catch one that is behind, and the tries after read etcd). Claimed,
 * the intent is put at phase creating (compared on the reservation's revision: no read of it
 * first); refused (the intent changed: adopted by another host) the launch is rolled back,
 * -EAGAIN. *nsid (if not NULL): the namespace's id the claims were made under (the caller's
 * own view of the cluster may not hold the namespace yet, just after its start). */
int claim_run(struct etcd *c, const struct etcd_opts *o, const struct claim_req *rq, bool plan,
	      struct claim_view *first, struct claim_obj **out, uint64_t *nsid,
	      struct sbuf *plan_text, char *err, size_t errlen);

/* The view read in one transaction at one revision (claim_run's first step). */
int claim_read(struct etcd *c, const struct claim_req *rq, struct claim_view *v, char *err,
	       size_t errlen);
#endif
