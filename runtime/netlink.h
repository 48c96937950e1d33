/* Host networking for VLANs through rtnetlink (libmnl), never by spawning `ip`: one
 * VLAN-filtering Linux bridge, taps for VMs, veth pairs for containers, and the bridge
 * port VLAN table (the kernel's own VLAN filtering, so no Open vSwitch is needed); where
 * the kernel lacks VLAN filtering, one plain bridge per VLAN instead. Also addresses.
 *
 * Everything returns 0 or -errno. Where a function has e (runtime/err.h), it sets it on
 * failure to a reason in words: the kernel's extended-ack message when it sent one (it
 * often names the real problem, where the errno alone is just EINVAL), otherwise the
 * errno's text, prefixed by what was being done and to which device.
 *
 * Names are interface names: 1..15 bytes, no '/', ':' or white space (-EINVAL otherwise).
 * VLAN ids are 1..4094 (0 and 4095 are reserved by 802.1Q: -EINVAL).
 *
 * One struct nl is one NETLINK_ROUTE socket in the network namespace of the thread that
 * opened it. Calls on it are serialized by a mutex inside, so threads may share one. */
#ifndef VMFS_NETLINK_H
#define VMFS_NETLINK_H
#include <stddef.h>
#include <sys/types.h>

#include "runtime/err.h"

struct nl;

int nl_open(struct nl **out);
void nl_close(struct nl *nl);

/* A bridge with vlan_filtering on and default_pvid 0 (a new port is in no VLAN until told,
 * rather than silently in VLAN 1 with every other forgotten port), up. -EEXIST if there;
 * -EOPNOTSUPP if the kernel was built without CONFIG_BRIDGE_VLAN_FILTERING (no bridge is
 * made then: one without filtering would join every VLAN). */
int nl_bridge_add(struct nl *nl, const char *name, struct err *e);
/* A bridge without VLAN filtering, up: every port is in one broadcast domain, so it stands
 * for a single VLAN on a kernel without filtering. -EEXIST if there. */
int nl_bridge_plain_add(struct nl *nl, const char *name, struct err *e);
/* Whether nl_bridge_add can work here, asked of the kernel itself (a kernel's config is
 * not always readable) with a throwaway bridge. 1 yes (e->why ""); 0 no, with the reason in
 * e; -errno (reason in e) if the probe itself failed, e.g. -EPERM. */
int nl_vlan_filtering(struct nl *nl, struct err *e);
/* How many links have bridge as their master (a bridge with none can go), -ENODEV if
 * there is no such link. */
int nl_bridge_ports(struct nl *nl, const char *bridge);

/* A veth pair: host end `host` in our netns, up; the peer created directly in the network
 * namespace of process `pid` as `peer` (e.g. "eth0"), with MAC mac (NULL: the kernel's),
 * down: the kernel cannot bring it up at creation (ENOTCONN), so whoever runs in that
 * namespace (the container's setup) does. */
int nl_veth_add(struct nl *nl, const char *host, const char *peer, pid_t pid,
		const unsigned char mac[6], struct err *e);
/* The same, the peer going into the network namespace open as netnsfd (/proc/PID/ns/net
 * or a bind mount of it): for a namespace no process holds, or one whose pid may be
 * reused. The fd stays the caller's. */
int nl_veth_add_ns(struct nl *nl, const char *host, const char *peer, int netnsfd,
		   const unsigned char mac[6], struct err *e);

/* A persistent TAP device (IFF_TAP|IFF_NO_PI), up, for a VM (nl_tap_open gives it to
 * QEMU). -EEXIST if a link has that name. */
int nl_tap_add(struct nl *nl, const char *name, struct err *e);
/* The tap name (made by nl_tap_add), open for QEMU's -netdev tap,fd=: QEMU, not root, may not
 * attach to it itself, and the descriptor lets only that QEMU use it. fd or -errno. */
int nl_tap_open(const char *name, struct err *e);

/* An 802.1Q VLAN interface name on parent (an uplink), carrying vid tagged, up. The
 * kernel needs 8021q: -EOPNOTSUPP (and says so) without it. */
/* A VXLAN interface (VNI vni, UDP 4789, learning), down; nl_fdb_flood adds a peer that
 * gets its broadcast and unknown traffic (head-end replication: no multicast needed). */
int nl_vxlan_add(struct nl *nl, const char *name, unsigned vni, struct err *e);
int nl_fdb_flood(struct nl *nl, const char *dev, const char *ipv4, struct err *e);
/* ... and nl_fdb_unflood takes it off (the others stay as they are). */
int nl_fdb_unflood(struct nl *nl, const char *dev, const char *ipv4, struct err *e);
int nl_vlan_add(struct nl *nl, const char *name, const char *parent, unsigned vid, struct err *e);

/* Removes any link (a veth's peer goes with it). -ENODEV if absent. */
int nl_link_del(struct nl *nl, const char *name);
int nl_link_up(struct nl *nl, const char *name);
/* Makes name a port of bridge. */
int nl_link_set_master(struct nl *nl, const char *name, const char *bridge);
/* Writes the name of name's master (its bridge) into master, "" if it has none.
 * -ENODEV if no such link, -ERANGE if len is too small (IFNAMSIZ always fits). */
int nl_link_master(struct nl *nl, const char *name, char *master, size_t len);
/* The link's MAC address. -ENODEV if no such link, -ENODATA if it has no Ethernet
 * address (a TUN, not TAP, device). */
int nl_link_mac(struct nl *nl, const char *name, unsigned char mac[6]);

/* Adds or removes the address cidr, "ADDR/PREFIX", IPv4 or IPv6 ("10.0.0.1/24",
 * "fd00::1/64"), on link name. -EINVAL for a malformed cidr; adding one that is there:
 * -EEXIST; removing one that is not: -EADDRNOTAVAIL. */
int nl_addr_add(struct nl *nl, const char *name, const char *cidr, struct err *e);
int nl_addr_del(struct nl *nl, const char *name, const char *cidr, struct err *e);

/* Makes port (already a bridge port) an untagged member of vid with vid as its PVID, and
 * removes it from every other VLAN it was in. */
int nl_port_vlan(struct nl *nl, const char *port, unsigned vid, struct err *e);
/* Adds vid as a tagged VLAN on port (a trunk/uplink), leaving its other VLANs alone. */
int nl_port_vlan_tagged(struct nl *nl, const char *port, unsigned vid, struct err *e);
/* The VLANs port is in, ascending: fills vids with at most n of them and returns how many
 * it filled (0 for a link that is no bridge port), or -errno (-ENODEV: no such link). */
int nl_port_vlans(struct nl *nl, const char *port, unsigned *vids, int n);

/* Calls fn for each link whose name starts with prefix (to remove what a crashed vmfs
 * left), with its kind ("bridge", "veth", "tun" for a tap, "" for one without, like lo),
 * so a cleanup can tell its own bridge from its taps. fn is called after the dump is over,
 * so it may use nl itself (nl_link_del). Returns how many links matched, or -errno. */
int nl_links(struct nl *nl, const char *prefix,
	     void (*fn)(void *arg, const char *name, const char *kind), void *arg);
#endif
