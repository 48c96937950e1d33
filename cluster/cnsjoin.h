/* Each host follows the namespaces' records (docs/cluster-design.md, "The tree on every
 * host"): the record P/ns/NAME is the namespace's truth on every host. On the loop, whenever
 * the cache has moved (the publisher's tick):
 *
 * - a host named in a record's `hosts` that does not have the namespace makes it, with the
 *   record's owner, group and mode (the publisher then maps it to the record's id, by name): so
 *   writing `h1 h2 h3` to ns/lab/hosts on any host is all h2 and h3 need to hold lab's objects;
 * - every namespace this host has takes the record's owner, group and mode (a chown or chmod
 *   made on any host: cnsowner_start); rights are judged against them here as everywhere;
 * - a host dropped from a record's `hosts` (named in it before, in this run) removes its local
 *   namespace if it is empty (and not `default`); one that still holds objects keeps it, said.
 * - a record deleted (the cache tells each deletion, however short the record's life: an
 *   rmdir ns/NS on some host, cnsrm_start) takes this host's copy with it at the next tick if
 *   it is empty (and not `default`) and no record of that name is back; one with objects
 *   stays, said; at the first pass after a start, so does a local namespace that
 *   STATE/cluster/ids maps (it was the cluster's) without a record (removed while away);
 * - a record never written since it was made (version 1) that names this host alone is one
 *   its publisher made; after the first pass, for a namespace this host does not have, it was
 *   made just before an rmdir removed the namespace here: not made again (the publisher
 *   deletes that record: cluster/cns.c).
 *
 * A record's values are peer input: crec_ns_read has checked them (owner and group below
 * 2^32 - 1, a mode of permission bits only), and cview keeps the last readable record when
 * another host writes one that is not (logged): nothing changes here then. Until the cache
 * has this host's own owner write, no record is followed (no older one undoes it). */
#ifndef VMFS_CLUSTER_CNSJOIN_H
#define VMFS_CLUSTER_CNSJOIN_H
#include <stdbool.h>
#include <stdint.h>

struct vmfs;

/* On the loop: follow the records if the cache moved since the last call. */
void cnsjoin_tick(struct vmfs *v);

/* On the loop: follow the records now, whether the cache moved or not (a command for a
 * namespace the record names this host in, come before the next tick). */
void cnsjoin_now(struct vmfs *v);

/* On the loop: this host wrote ns's owner and mode into the record at revision rev: its own
 * namespace takes them now. */
void cnsjoin_owner_written(struct vmfs *v, const char *ns, uint64_t uid, uint64_t gid,
			   uint64_t mode, int64_t rev);

/* Whether ns's record (as the cache has it) names this host in its hosts. */
bool cnsjoin_listed(struct vmfs *v, const char *ns);
#endif
