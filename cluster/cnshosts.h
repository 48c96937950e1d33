/* ns/NS/hosts, owner, mode and rmdir with etcd (docs/cluster-design.md, "The tree on every host"):
 * the namespace's record P/ns/NAME is what every host places by and judges rights by, so a
 * write of hosts, a chown or a chmod is a transaction on it, not a change of this host's model
 * (each host follows the record: cluster/cnsjoin.h). */
#ifndef VMFS_CNSHOSTS_H
#define VMFS_CNSHOSTS_H
#include <stddef.h>
#include <sys/types.h>

#include "ctl/ctl.h"

struct vmfs;
struct rbatch;

/* Parses value (names split by blanks or commas) into out, once each, checking each against
 * the cluster's hosts (known is asked, with ctx): 0 and *n, or -errno with words. */
int cnshosts_parse(const char *value, char (*out)[NAME_MAX_LEN + 1], size_t max, size_t *n,
		   int (*known)(void *ctx, const char *host, char *why, size_t whylen), void *ctx,
		   char *err, size_t errlen);

/* Starts the write of namespace ns's hosts to value: -EINPROGRESS with *wait to wait on
 * (its err and why are the outcome once pending is 0; rbatch_put it), or -errno with words
 * when refused before anything is sent. */
int cnshosts_start(struct vmfs *v, const char *ns, const char *value, struct rbatch **wait,
		   char *err, size_t errlen);

/* Starts the write of namespace ns's owner and mode (chown, chmod) into its record, as
 * cnshosts_start; once written, this host's namespace takes them at once (cnsjoin.h), every
 * other host when its cache has the record. */
int cnsowner_start(struct vmfs *v, const char *ns, uid_t uid, gid_t gid, mode_t mode,
		   struct rbatch **wait, char *err, size_t errlen);
/* Starts the removal of namespace ns from the cluster (rmdir ns/NS), as cnshosts_start: its
 * record goes in one txn that compares no claim of it anywhere (EBUSY naming a host that holds
 * objects otherwise); once this host's cache has that, its own empty copy goes too, and every
 * other host's when its cache has it (cnsjoin.h). */
int cnsrm_start(struct vmfs *v, const char *ns, struct rbatch **wait, char *err, size_t errlen);
#endif
