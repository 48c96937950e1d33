/* Membership of a cluster on etcd (docs/cluster-design.md, "Membership"; issue 18, step 3):
 * with `etcd = URL[,URL...]` in vmfs.conf, this vmfs is host NAME (its host name) of cluster
 * `cluster` (default "default"), whose keys are under P/ = /vmfs/CLUSTER/.
 *
 * - Its machine is told apart by a uuid made once, kept in STATE/cluster/uuid (0600).
 * - At join, one txn claims the name and says it is up: P/h/NAME/id absent or holding this
 *   uuid (else the join is refused, with words: "h3 is taken in cluster lab by another machine
 *   (uuid ...)"), puts P/h/NAME/id if absent, P/h/NAME/alive on a lease of MEMBER_TTL_S, and
 *   deletes P/down/NAME. The lease is renewed every MEMBER_RENEW_MS from a thread of its own;
 *   a lapsed lease (a stalled vmfs) is a new join. A clean stop deletes alive and puts
 *   P/down/NAME (why=stopped) in one txn, then revokes the lease.
 * - Every key under P/ is kept in a cache (cluster/ccache.h): a snapshot, then a watch from
 *   the snapshot's revision; a compacted watch is a new snapshot. The cache is applied on
 *   vmfs's loop; etcd calls block and are made by the membership thread and a worker thread,
 *   never by the loop.
 * - A DELETE of P/h/H/alive seen in the watch: this vmfs writes P/down/H (since now,
 *   why=lapsed, by this host) unless alive or down exists by then (a txn): the first host to
 *   see it writes it. After a snapshot, a host with an id and neither alive nor down gets a
 *   down record too, "since at least" now.
 * - hosts/ lists the cluster's hosts from the cache (cluster/chosts.h).
 * What happens goes to host/log ("etcd: ..."). */
#ifndef VMFS_ETCD_MEMBER_H
#define VMFS_ETCD_MEMBER_H
#include <stddef.h>
#include <stdint.h>

#include "etcd/client.h"

#define MEMBER_TTL_S 2
#define MEMBER_RENEW_MS 500

struct vmfs;
struct vmfs_conf;
struct door;

/* How every thread of vmfs reaches the cluster's etcd (vmfs.conf's etcd keys); timeout_ms: the
 * bound of each call. */
struct etcd_opts member_etcd_opts(const struct vmfs_conf *conf, int timeout_ms);

/* Checks conf's etcd keys (the endpoints, the TLS files, cluster_addr), reads or makes
 * STATE/cluster/uuid and fills out with the door that keeps the membership while the daemon
 * runs (vmfs/door.h); sets v->chosts. -1 with the reason in err: the start fails, as with any
 * other key that cannot be used. etcd itself need not be up. */
int member_door_open(struct vmfs *v, const struct vmfs_conf *conf, struct door *out, char *err,
		     size_t errlen);
/* From any thread: the lease this host's alive is on, 0 while it has none (not joined, or its
 * lease lapsed). A head's commands are put on it (docs/cluster-design.md, "Commands"). */
struct chosts;
int64_t member_lease(struct chosts *ch);
#endif
