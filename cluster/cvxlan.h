/* VLANs across hosts of a cluster on etcd (docs/cluster-design.md, "The tree on every host":
 * each host decides its own VXLANs from the records, no head, no `vxlan` command).
 *
 * For each VLAN id a NIC of one of this host's running objects is on, the host keeps the
 * VXLAN PREFIXxVID (VNI = VLAN id, UDP 4789, runtime/net.c's net_vxlan) joined to exactly
 * the other hosts that are up (their P/h/H/alive exists) and whose records show a running
 * object with a NIC on that id (the record's vid.N, or a VLAN written as a number): their
 * alive's addr, IPv4. A peer that comes, goes, or stops using the VLAN changes the list; a
 * VLAN no longer used here, or used by no up peer, loses its VXLAN. A host that goes down
 * (its alive lapsed) leaves every list at once, not at `forget`: its records are then the
 * last it said, no longer what it runs, and a broadcast copied to an address nobody answers
 * is only cost; when it comes back its alive and records bring it back.
 *
 * While this host is not joined (cut from etcd, or before its first join) nothing changes:
 * its cache no longer says what the others run, and tearing down VXLANs that may still
 * carry traffic would be the worse guess. Everything read is peer input already checked by
 * the records' readers (crec.h); ids are checked again against 1..4094. */
#ifndef VMFS_CLUSTER_CVXLAN_H
#define VMFS_CLUSTER_CVXLAN_H

struct vmfs;

/* On the loop (the publisher's tick): brings the VXLANs in line when the cache or the model
 * moved (and every 5 s, for a VXLAN that went with its bridge). Netlink only: no waiting. */
void cvxlan_tick(struct vmfs *v);
#endif
