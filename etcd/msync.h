/* The cluster's cache kept current (docs/cluster-design.md, "Membership"): a snapshot of P/ at
 * a revision R, then etcd's watch from R + 1, applied to the cache (cluster/ccache.h) on vmfs's
 * loop, every change told to hosts/ (cluster/chosts.h). A watch that says COMPACTED (or a
 * rejoin after a cut) is a new snapshot, which replaces the cache; what vanished meanwhile is
 * logged.
 *
 * etcd's calls block: the snapshot and the P/down/H records are made by a worker thread of its
 * own (its own etcd handle), which hands a snapshot to the loop through an eventfd; the watch
 * streams on its own thread (etcd/watch.h). The loop never waits on etcd. */
#ifndef VMFS_ETCD_MSYNC_H
#define VMFS_ETCD_MSYNC_H
#include "etcd/client.h"

struct chosts;
struct loop;
struct threadlog;
struct msync;

/* o's strings are copied. The thread's lines go to tl (host/log). */
int msync_new(const struct etcd_opts *o, struct chosts *ch, struct threadlog *tl,
	      struct msync **out, struct err *e);
/* Joins the loop and starts the worker, which takes the first snapshot. */
int msync_attach(struct msync *s, struct loop *l);
/* From any thread: the cache is to be read again whole (after a cut). */
void msync_resync(struct msync *s);
/* The loop has ended: the worker and the watch stop. */
void msync_stop(struct msync *s);
void msync_free(struct msync *s);
#endif
