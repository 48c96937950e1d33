/* With etcd, the workers (cluster/rjob.h) that reach other hosts' trees through their 9P
 * doors, at the `p9` of each one's alive record (docs/cluster-design.md, "The tree on every
 * host"): one per host, made at its first job, made anew when its address changes or it was
 * abandoned. The set's own timer expires jobs past their deadline (ETIMEDOUT within a second),
 * as the probing cluster's tick does for its members. On the loop's thread only. */
#ifndef VMFS_CLUSTER_CHOSTW_H
#define VMFS_CLUSTER_CHOSTW_H
#include "cluster/rjob.h"

struct model;
struct chostw;

/* NULL on failure (memory, the timer). */
struct chostw *chostw_new(struct model *m);
/* Lets every worker go (their queued jobs fail EHOSTDOWN). */
void chostw_free(struct chostw *s);
/* Runs j on host's tree (rel relative to its root) through the door at p9 (ADDR:PORT or
 * [V6]:PORT), within timeout_ms; jobs of one host run in order. A p9 that is no address:
 * done gets -EHOSTDOWN at once, j->out saying why. */
void chostw_job(struct chostw *s, const char *host, const char *p9, struct rjob *j,
		const char *rel, unsigned timeout_ms);
/* A worker of the caller's own to the door at p9 (a console's reads, which wait for output);
 * NULL (why in err) if p9 is no address or without memory. */
struct rworker *chostw_worker_new(struct chostw *s, const char *p9, char *err, size_t errlen);
#endif
