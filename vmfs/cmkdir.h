/* `mkdir ns/NS/vms/NAME` in a namespace of a cluster on etcd (vmfs/cmkdir.c): a launch of one,
 * answered once it is made and shows on this host; and a look-up of a name the cache does not
 * have, which asks etcd for its claim before ENOENT. */
#ifndef VMFS_CMKDIR_H
#define VMFS_CMKDIR_H
#include <stddef.h>

#include "vmfs/node.h"

struct cmkdir;
struct waitq;

/* Starts the launch of name (type) in dir's namespace: -EINPROGRESS with *out set (then
 * cmkdir_resume until it is not -EINPROGRESS, then cmkdir_free), or -errno with err. */
int cmkdir_start(struct vmfs *v, const struct vnode *dir, enum otype type, const char *name,
		 struct cmkdir **out, char *err, size_t errlen);
/* A look-up of name in dir (a directory of objects of namespace nsid of the cluster) that
 * found nothing: -EINPROGRESS with *out set, the get of its claim under way (first wait on
 * cmkdir_wq, then as for a mkdir: ENOENT if unclaimed, or not shown in time); or -ENOENT at
 * once (not a name, no cluster, no thread). */
int cmkdir_ask(struct vmfs *v, const struct vnode *dir, uint64_t nsid, const char *name,
	       struct cmkdir **out);
struct waitq *cmkdir_wq(struct cmkdir *mk);
bool cmkdir_is_lookup(const struct cmkdir *mk);
/* The launch's outcome once its object shows here: 0, -errno with err (in words), or
 * -EINPROGRESS with *wq the queue to wait on before asking again. */
int cmkdir_resume(struct cmkdir *mk, struct waitq **wq, char *err, size_t errlen);
/* The directory and name it makes. */
uint64_t cmkdir_dir(const struct cmkdir *mk);
const char *cmkdir_name(const struct cmkdir *mk);
/* Lets go of mk (a poll under way frees it when it ends). */
void cmkdir_free(struct cmkdir *mk);
#endif
