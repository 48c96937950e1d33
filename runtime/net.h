/* The NICs of VMs and containers: a bridge port per NIC, made when the object starts and
 * removed when it ends (runtime/netlink.c does the rtnetlink).
 *
 * Where the kernel has VLAN-filtering bridges, one bridge carries every VLAN and a port is
 * an untagged member of its NIC's VLAN. Where it has not (CONFIG_BRIDGE_VLAN_FILTERING
 * off), each VLAN gets a plain bridge of its own: the isolation is the same, only the
 * device count differs. Which one is probed at startup and shown in host/info.
 *
 * Every device vmfs makes starts with a prefix of its own ("vmfs" for the default state
 * directory, vHHHH for another, like the cgroups), so two vmfs on one host never touch
 * each other's devices, and what a crashed vmfs left is found by name:
 *   PREFIX0        the VLAN-filtering bridge        PREFIX.VID   a VLAN's own bridge
 *   PREFIXtN       a VM's tap                       PREFIXvN     a container's veth (host end)
 *   PREFIXhVID     a namespace's host interface on VLAN VID, PREFIXhVIDp its bridge port
 *   PREFIXxVID     VLAN VID's VXLAN to the other hosts of a cluster (VNI = VID)
 *   PREFIXuVID     with a bridge per VLAN, the uplink's 802.1Q interface for VID (with the
 *                  filtering bridge, the uplink itself is a port, tagged in every VLAN used)
 * A container's network namespace is made by vmfs and bind-mounted on run/netns, where the
 * shim joins it (its eth0, eth1... are configured before init runs, by vmfs). The NICs of
 * a running object are kept in run/nics, one line each: DEV BRIDGE VID VLAN MAC ADDR. */
#ifndef VMFS_NET_H
#define VMFS_NET_H
#include "runtime/err.h"
#include "runtime/model.h"

#define NET_NICS_MAX 16

struct netnic {
	char vlan[NAME_MAX_LEN + 1]; /* as config/net names it: alias or number */
	unsigned vid;
	char bridge[16];
	char dev[16];     /* the host end: a tap or a veth */
	int ifindex;      /* dev's, in vmfs's network namespace */
	char mac[18];     /* the guest's */
	char driver[32];  /* VMs: the QEMU model */
	char addr[52];    /* configured ADDR/PREFIX, "" if none */
	char ip[48], ip6[48]; /* learned from the guest's traffic, "" until seen */
};

/* Networking hears the model's events (runtime/model.h) instead of the model calling it:
 * VLAN records kept in ns.conf, a config/net's VLAN ids and where it reaches (runtime/vlan.h),
 * a removed namespace's taps. Before model_open, which loads the records. */
int net_subscribe(struct model *m);
/* Probes the bridge kind and starts learning addresses. Never fatal: without netlink,
 * objects with NICs fail to start with the reason, the rest works. */
void net_open(struct model *m, const char *uplink);
void net_close(struct model *m);
/* host/info's line: how VLANs are carried here, or why there is no networking. */
const char *net_mode(const struct model *m);

/* Before the process starts: the object's NICs from config/net, their bridges, taps (VMs)
 * or network namespace and veths (containers), recorded in rundfd/nics. All or nothing:
 * on failure nothing is left and e says what failed. */
int net_start(struct model *m, struct object *o, int rundfd, struct err *e);
/* After it ended (any way): removes its devices and bridges no one uses any more. */
void net_stop(struct model *m, struct object *o);
/* A restarted vmfs reads run/nics of what still runs ... */
void net_adopt(struct model *m, struct object *o, int rundfd);
/* ... and then removes whatever devices of its prefix nothing running claims. */
void net_sweep(struct model *m);
/* ctl "tap VLAN ADDR/PREFIX" (addr NULL: "tap delete VLAN"): a host interface on one of
 * the namespace's VLANs, kept in ns.conf (taps) and made again if missing at startup. */
int net_host_tap(struct model *m, struct ns *ns, const char *vlan, const char *addr, char *why,
		 size_t whylen);
/* Whether the namespace has a tap on VLAN (so its alias is in use). */
bool net_tap_names(const struct ns *ns, const char *vlan);
void net_host_taps_restore(struct model *m);
/* ns/NS/taps: "VLAN ID ADDR DEVICE" per tap. */
void net_host_taps_list(const struct model *m, const struct ns *ns, struct sbuf *out);
/* Once a second: the guest's traffic from its host ends' counters (a guest's receive is
 * its host end's transmit). */
void net_sample(struct object *o);
/* VLAN vid's bridge joined by VXLAN to peers ("ADDR,ADDR", IPv4), or disjoined (""). */
int net_vxlan(struct model *m, unsigned vid, const char *peers, char *why, size_t whylen);
/* Whether VLAN vid's VXLAN is here (the last NIC's stop takes it with the bridge). */
bool net_vxlan_present(const struct model *m, unsigned vid);
/* present[VID] set for each VLAN 1..max whose VXLAN of this vmfs's prefix is here (one link
 * dump, not a look per id). */
void net_vxlans_present(const struct model *m, bool *present, unsigned max);
/* One peer (IPv4) added to, or taken off, VLAN vid's VXLAN that is here: the others' traffic
 * goes on meanwhile. */
int net_vxlan_peer(struct model *m, unsigned vid, const char *peer, bool add, char *why,
		   size_t whylen);
/* The MAC a NIC gets when config/net gives none: stable for the same object and NIC. */
void net_default_mac(const struct object *o, int i, char out[18]);
#endif
