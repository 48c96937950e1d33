/* `launch` and `plan launch` in a cluster on etcd (vmfs/claunch.c). */
#ifndef VMFS_CLAUNCH_H
#define VMFS_CLAUNCH_H
#include <stdbool.h>
#include <stddef.h>

#include "vmfs/node.h"

struct vwait;

/* This vmfs names an etcd: launches claim in the cluster first. */
bool claunch_on(const struct vmfs *v);
/* `plan launch TYPE NAMES`: "k1 h1" per object and the hosts' load after, from the cache;
 * changes nothing. */
int claunch_plan(struct vmfs *v, struct ns *ns, enum otype type, char **names, size_t n,
		 struct sbuf *reply, char *err, size_t errlen);
/* `launch TYPE NAMES`: claims, creates this host's part, finishes or rolls back; the write
 * waits (-EINPROGRESS with wait set). */
int claunch_start(struct vmfs *v, struct ns *ns, enum otype type, char **names, size_t n,
		  struct vwait *wait, char *err, size_t errlen);
/* The same with `like NAME`: the template is cfg (NAME's config, of this host's object or
 * from its record), not the namespace's. */
/* `like NAME` of another host's object: its record's config (valid until the cache's next
 * change), or NULL when the cache has no such object of that type. */
/* Another host's config (its record's) as a template here, checked as peer input: each value
 * as a write of it is, and one that reaches the host only if ns's own template has it
 * (-EPERM otherwise, with words). */
int claunch_like_check(const struct ns *ns, const char *name, char *const *cfg, char *err,
		       size_t errlen);
char *const *claunch_like_cfg(struct vmfs *v, const struct ns *ns, enum otype type,
			      const char *name);
int claunch_start_like(struct vmfs *v, struct ns *ns, enum otype type, char **names, size_t n,
		       const char *like, char *const *cfg, struct vwait *wait, char *err,
		       size_t errlen);
/* A write of ns/NS/hosts that drops a host holding objects of the namespace (its claims in
 * the cache): -EBUSY "h3 holds 12 objects of ns/lab (c1 c2 c3 ...): move or flush them
 * first"; else 0. */
int claunch_hosts_check(struct vmfs *v, const char *ns, const char *value, char *err,
			size_t errlen);
#endif
