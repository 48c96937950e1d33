/* Reservations kept exact, and a host's claims matched with its objects (docs/cluster-design.md,
 * "Launch and placement" and "Membership", reconcile): what P/cap/H should hold is the sum of
 * the claims naming H, each sized by its owner's record (cfg.vcpus and cfg.memory, or their
 * defaults). The pure part (crsize_of, crsum_build, crsum_judge) is here so that it can be
 * tested without etcd; creconcile_run does the I/O in the publisher's thread (BLOCKS).
 *
 * A claim listed in its host's P/cap/H `cfg-pending` (a config change whose reservation moved
 * before its record shows it: cluster/ccmd_cfgcap.c) is sized by that list, not by its record,
 * while the host is up in the run that wrote it: a reconcile that reads between the move and
 * the record agrees with the move instead of undoing it. A list of an earlier run is stale
 * (ignored, dropped when P/cap/H is rewritten); one of a host that is down is not known to be
 * either: that host is not judged.
 *
 * A host is judged only when every claim naming it can be sized (its record is there and
 * read) and nothing is under way on it (no intent lists it, no claim of it names an intent
 * still there or a move): a launch between its claims and its records, or a move, holds a
 * reservation the claims alone do not explain. A P/cap/H with keys this vmfs does not know (a
 * newer vmfs wrote it) is not rewritten. */
#ifndef VMFS_CLUSTER_CRECONCILE_H
#define VMFS_CLUSTER_CRECONCILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/crec.h"
#include "etcd/client.h"

/* What one object reserves, from its record (the owner's): cfg.vcpus and cfg.memory, else the
 * parameters' defaults, as a launch reserves them from its template. */
void crsize_of(const struct crec_obj *rec, uint64_t *vcpus, uint64_t *memory);

#define CRSUM_PEND_MAX (CREC_PENDING_LEN / 8) /* more than a list that fits can hold */
struct crsum_pend {
	struct crec_pend p;
	bool used;  /* a claim of the host was sized by it */
	bool shown; /* ... and its record shows the same figures: the entry is done */
};
struct crsum_host {
	char name[NAME_MAX_LEN + 1];
	bool alive;   /* P/h/H/alive is there and read */
	uint64_t run; /* ... its run */
	struct crsum_pend pend[CRSUM_PEND_MAX]; /* P/cap/H's cfg-pending */
	size_t npend;
	struct crec_cap sum; /* of its claims: vcpus, memory, objects */
	bool has_cap;	     /* P/cap/H is there */
	bool cap_bad;	     /* ... and could not be read (rewritten whole when judged) */
	struct crec_cap cap;
	int64_t cap_rev; /* its mod_revision, 0: absent */
	bool busy;	 /* a launch, move or migration is under way on it */
	unsigned unsized; /* claims of it without a readable record */
};
struct crsum {
	struct crsum_host *h; /* in name order */
	size_t n;
};
void crsum_free(struct crsum *s);

/* The sums from the keys of ranges r[0..nr) read at one revision: every claim (P/name/),
 * record (P/h/H/o/), alive (P/h/H/alive), reservation (P/cap/) and intent (P/intent/) among
 * them; other keys are ignored, and so is a claim that cannot be read (its host unknown). 0 or
 * -ENOMEM. */
int crsum_build(const char *cluster, const struct etcd_kvs *r, size_t nr, struct crsum *out);

enum crsum_verdict {
	CRSUM_AGREES,	 /* P/cap/H is the sum (or absent with nothing claimed) */
	CRSUM_DISAGREES, /* *want: what it should hold (its drain kept, and the entries of its
			  * cfg-pending still under way) */
	CRSUM_UNKNOWN,	 /* not judged: busy, unsized claims, or keys unknown to this vmfs */
};
enum crsum_verdict crsum_judge(const struct crsum_host *h, struct crec_cap *want);

/* STATE/damaged/ holds anything (or cannot be read), or m loaded only part of the state
 * (m->load_incomplete): state this vmfs could not read, which
 * may be an object whose claim would look lost. */
bool creconcile_damaged(const struct model *m, int statefd);

struct cpub;
struct psnap;
struct err;
/* At a (re)join, once every local object's claim was looked at: each claim naming this host
 * whose object is not here (made before this join, under no intent still there, not moving)
 * deleted with its reservation, unless STATE/damaged/ holds anything (then kept, said); then
 * every host's P/cap/H summed and a disagreeing one said and corrected by CAS. Lines in
 * host/log and the namespace's log. 0, or -errno with e (etcd failed: again at the next pass). */
int creconcile_run(struct cpub *p, const struct psnap *s, struct err *e);

/* A local object made for a launch carries the launch's intent tag (in STATE/cluster/ids) until
 * the launch is seen done (its intent gone, its claim still this host's): then the tag goes. At
 * a reconcile, an object that still has the tag and whose claim went is a stray of that
 * launch (rolled back while this host was cut or down); one without, whose claim went, is
 * claimed again. 0, or -errno with e. */
int creconcile_confirm(struct cpub *p, struct err *e);
#endif
