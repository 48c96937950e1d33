/* A namespace's VLAN aliases across the hosts of a cluster on etcd (docs/cluster-design.md,
 * P/ns/NAME/vlan/ALIAS): the first host to have an alias claims it with its id (the
 * publisher's thread: cvlan.c, cpub_int.h's cvlan_sync); the others read the claim from the
 * cache, on the loop, to give a new alias that id and an idle one it at the next start. */
#ifndef VMFS_CLUSTER_CVLAN_H
#define VMFS_CLUSTER_CVLAN_H
struct ns;
/* struct model's vlan_cluster (arg: the struct vmfs): the claimed id, checked (1..4094, the
 * alias by the key's name check), 0 when none, not on etcd, or the record is bad. */
unsigned cvlan_cluster_id(void *arg, const struct ns *ns, const char *alias);
#endif
