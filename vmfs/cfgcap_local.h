/* A write of config/vcpus or config/memory of this host's own object in a namespace of the
 * cluster on etcd (docs/cluster-design.md, "Launch and placement"): its reservation in
 * P/cap/SELF moves by CAS (cluster/cfgcap.h) before the value is applied, off the loop; the
 * write waits, parked, until the record shows the value and the mark is dropped. */
#ifndef VMFS_CFGCAP_LOCAL_H
#define VMFS_CFGCAP_LOCAL_H
#include <stdbool.h>
#include <stddef.h>

struct vmfs;
struct vnode;
struct rbatch;

/* Whether setting n (a VK_OBJ_PARAM) to value must move this host's reservation. */
bool cfgcap_local_moves(struct vmfs *v, const struct vnode *n, const char *value);

/* Sets n to value: 1 when the cluster has no part in it (set it as on one host: no etcd, not
 * vcpus nor memory, no change of figure, an object with no claim of this host); -EINPROGRESS
 * with *wait (its err and why are the outcome once pending is 0; rbatch_put it); or -errno with
 * words, nothing changed (ENOTCONN while this host is not joined to etcd, EBUSY while another
 * such write of the object is under way). */
int cfgcap_local_start(struct vmfs *v, const struct vnode *n, const char *value,
		       struct rbatch **wait, char *err, size_t errlen);
#endif
