/* Learns the IP addresses guests use from their own traffic, so that a NIC can show its
 * `ip` (as minimega does) whatever the guest configured inside: one AF_PACKET socket in
 * vmfs's network namespace, where the host ends of the guests' taps and veth pairs are,
 * sees the frames a guest sends as they enter the host on its NIC's host end.
 *
 * What is learned, and from which frames:
 *  - ARP requests and replies (gratuitous ARP too): the sender's IPv4 address. Probes
 *    (sender 0.0.0.0, RFC 5227) are skipped: the address is not the guest's yet.
 *  - ICMPv6 neighbour solicitations and advertisements: the IPv6 source address. Duplicate
 *    address detection (source ::) is skipped likewise.
 *  - DHCP ACKs (UDP 67 -> 68): the address the server gave (yiaddr) to the client (chaddr).
 * A VLAN tag in the frame (802.1Q or 802.1ad, one only) is skipped over.
 *
 * Which MAC is reported: for ARP and ND the frame's Ethernet source, and only when the
 * protocol's own sender MAC (ARP's sender hardware address, ND's link-layer option when
 * present) agrees with it; for DHCP the client's chaddr. Which ifindex: the interface the
 * frame was seen on. ARP and ND frames count only as they enter the host (the copies
 * the host sends out of other ports are other guests' traffic); a DHCP ACK counts in both
 * directions, since it is the server's frame and reaches the client by going out of the
 * client's port. So a caller should believe a report only where ifindex and mac both
 * belong to one of its NICs: then it came from that guest (ARP, ND) or was handed to it
 * (DHCP). Guests can still lie about their own address, of course.
 *
 * Frames are untrusted guest bytes: the parser checks every length and field it reads. */
#ifndef VMFS_ADDRLEARN_H
#define VMFS_ADDRLEARN_H
#include <stddef.h>

#include "runtime/err.h"

#define ADDRLEARN_ADDRLEN 46 /* INET6_ADDRSTRLEN */

/* What addrlearn_parse learned from. */
enum { ADDRLEARN_NONE, ADDRLEARN_ARP, ADDRLEARN_ND, ADDRLEARN_DHCP };

struct addrlearn;

/* The socket, in the calling thread's network namespace, seeing every interface, non-
 * blocking and close-on-exec, with a classic BPF filter that lets only the frames above
 * through (everything else never leaves the kernel). Needs CAP_NET_RAW. 0 or -errno, with
 * the reason in e. */
int addrlearn_open(struct addrlearn **out, struct err *e);
/* For epoll (level-triggered: drain reads a bounded batch). */
int addrlearn_fd(const struct addrlearn *a);
/* Reads pending frames, at most ADDRLEARN_BATCH so that a guest's ARP flood cannot hold
 * the caller's loop, and calls fn for each address learned. Returns frames read (0 when
 * none was pending), or -errno. The same address is reported each time it is seen. */
#define ADDRLEARN_BATCH 256
typedef void addrlearn_fn(void *arg, int ifindex, const unsigned char mac[6], const char *addr);
int addrlearn_drain(struct addrlearn *a, addrlearn_fn *fn, void *arg);
void addrlearn_close(struct addrlearn *a);

/* The parser, pure (for tests and fuzzing): an Ethernet frame of len bytes. Returns
 * ADDRLEARN_ARP, _ND or _DHCP with mac and addr ("10.0.0.2", "fe80::1") filled, or
 * ADDRLEARN_NONE when the frame teaches nothing (another protocol, malformed, truncated,
 * a probe, a multicast sender). */
int addrlearn_parse(const unsigned char *frame, size_t len, unsigned char mac[6],
		    char addr[ADDRLEARN_ADDRLEN]);
#endif
