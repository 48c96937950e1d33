/* What this host publishes in etcd (issue 18, step 4's first half; docs/cluster-design.md,
 * "Keys" and "Names and ids"): with `etcd` in vmfs.conf, every local namespace is claimed as a
 * cluster namespace (P/ns/NAME, P/nsid/ID; `default` is one for the whole cluster), every local
 * object claimed (P/name/NSID/NAME, its id from the namespace's counter) and its record kept in
 * P/h/H/o/NSID/ID as the object changes; P/h/H/top/NSID at most every 5 s and only when a
 * figure changed; P/h/H/info at start and on change; P/h/H/load (this host's own cpu%, load1
 * and mem_used, measured every CPUB_TOP_S) only when one moved beyond its threshold
 * (cluster/chload.h). The local id of each namespace and object
 * and its cluster id are kept in STATE/cluster/ids (cluster/cidmap.h).
 *
 * etcd's calls block, so they run on a thread of the publisher's own with its own etcd handle;
 * the loop hands it snapshots of the model and gets its log lines back (host/log: "cluster:
 * ...", and the namespace's log for what concerns one). etcd down: what changed is published
 * when it answers again (tried every second, said once each way); nothing of the host's own
 * behaviour changes. A name another host holds leaves the object local and unlisted, said in
 * both logs with that host's name: nothing is renamed or removed.
 *
 * Reservations (P/cap/H) follow the claims it makes and deletes: each claim adds its object's
 * vcpus and memory in its txn, and an object that went (a flush) gives them back in the txn
 * that deletes its claim. At each (re)join it reconciles (cluster/creconcile.h): claims of
 * this host without their object, strays of rolled-back launches, every host's P/cap/H
 * against its claims.
 *
 * Not here: the other hosts' records (the cache, cluster/ccache.c), inode numbers from cluster
 * ids, removing a cluster namespace (rmdir ns/NS: cluster/cnshosts.h's cnsrm_start; a
 * namespace removed here only loses this host's top, but for a record its publisher made just
 * before: cluster/cns.c). */
#ifndef VMFS_CLUSTER_CPUB_H
#define VMFS_CLUSTER_CPUB_H
#include <stddef.h>

#define CPUB_RETRY_MS 1000 /* etcd did not take a pass: again after this */
#define CPUB_TOP_S 5       /* a namespace's top is put at most this often */
#define CPUB_TICK_MS 200   /* how often the loop looks whether the model changed */

struct vmfs;
struct vmfs_conf;
struct door;

/* On the loop: the model changed in a way other hosts wait for (objects made on a command):
 * hand the publisher its snapshot now, not at the next tick. */
void cpub_kick(void);

/* Loads STATE/cluster/ids and fills out with the publisher's door (vmfs/door.h). -1 with the
 * reason in err (a damaged map, etcd's options): the start fails, as with a bad key. */
int cpub_door_open(struct vmfs *v, const struct vmfs_conf *conf, struct door *out, char *err,
		   size_t errlen);
#endif
