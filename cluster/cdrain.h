/* hosts/ctl's verbs on the hosts of a cluster on etcd (docs/cluster-design.md, "Drain, move,
 * live migration"):
 *
 * - `drain H`: P/cap/H gets drain=since by CAS on its mod_revision (retried on a lost race),
 *   so that a launch placed at the same instant fails its own compare and places again.
 *   Placement (cluster/claim.h) gives a draining host nothing; its objects stay. `undrain H`
 *   clears it.
 * - `forget H`: for a host that will never return. Refused while P/h/H/alive exists; else one
 *   txn (compared on alive absent and each claim's revision) puts P/forgotten/H and deletes
 *   P/cap/H and every claim naming H (more than fit one txn: the rest in the next ones). Every
 *   host then ignores H (cluster/chosts.h); H's own area P/h/H/ is its own or the admin's to
 *   delete: the answer prints the etcdctl line.
 *
 * etcd's calls block: each verb runs on a thread of its own (its own etcd handle); the write
 * waits for it as for a launch (an rbatch whose why holds the answer). */
#ifndef VMFS_CLUSTER_CDRAIN_H
#define VMFS_CLUSTER_CDRAIN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/crec.h"

struct vmfs;
struct vwait;
struct sbuf;

/* Whether word is one of the verbs here. */
bool cdrain_verb(const char *word);
/* The verb (argv[0]) on host argv[1], from the loop: checked against the cache first (an
 * unknown or forgotten host, this host, a host up for forget: refused with words), then
 * -EINPROGRESS with wait->rbatch set (wait->rverb NULL: the answer is the rbatch's why). */
int cdrain_start(struct vmfs *v, char **argv, struct vwait *wait, char *err, size_t errlen);

/* Pure parts. */

/* cap as it becomes: drain (now) or undrain. false: nothing to change (already so). */
bool cdrain_apply(struct crec_cap *cap, bool drain, uint64_t now);
/* The admin's line that deletes host's area, given its prefix P/h/H/. */
void cdrain_etcdctl_line(const char *host_prefix, struct sbuf *out);
#endif
