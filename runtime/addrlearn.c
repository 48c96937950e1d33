/* Address learning from guest traffic: see addrlearn.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/addrlearn.h"
#include "runtime/util.h"

struct addrlearn {
	int fd;
};

/* What one frame may be: enough for a DHCP ACK with its usual options (the message type
 * comes first in practice); ARP and ND frames are under 100 bytes. The filter tells the
 * kernel to copy no more. */
#define SNAPLEN 2048

static unsigned be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

/* ---- the parser ---- */

/* A MAC a sender can have: not a group address (multicast, broadcast), not all zero. */
static int mac_unicast(const unsigned char *m)
{
	static const unsigned char zero[6];
	return !(m[0] & 1) && memcmp(m, zero, 6) != 0;
}

/* An IPv4 address a host can hold: not 0/8 (0.0.0.0 is the ARP probe's), not loopback,
 * not multicast, reserved or broadcast (224/3). */
static int ip4_unicast(const unsigned char *a) { return a[0] != 0 && a[0] != 127 && a[0] < 224; }

static int ip6_unicast(const unsigned char *a)
{
	static const unsigned char any[16], loop[16] = {[15] = 1};
	return a[0] != 0xff && memcmp(a, any, 16) != 0 && memcmp(a, loop, 16) != 0;
}

static int put_addr(int af, const unsigned char *a, char *addr, int kind)
{
	return inet_ntop(af, a, addr, ADDRLEARN_ADDRLEN) ? kind : ADDRLEARN_NONE;
}

/* p: the ARP packet, n bytes (Ethernet padding may follow); src: the Ethernet source. */
static int parse_arp(const unsigned char *p, size_t n, const unsigned char *src,
		     unsigned char mac[6], char *addr)
{
	const unsigned char *sha = p + 8, *spa = p + 14;
	if (n < 28 || be16(p) != 1 || be16(p + 2) != ETH_P_IP || p[4] != 6 || p[5] != 4)
		return ADDRLEARN_NONE;
	if (be16(p + 6) != 1 && be16(p + 6) != 2) /* request, reply */
		return ADDRLEARN_NONE;
	if (memcmp(sha, src, 6) != 0 || !ip4_unicast(spa))
		return ADDRLEARN_NONE;
	memcpy(mac, src, 6);
	return put_addr(AF_INET, spa, addr, ADDRLEARN_ARP);
}

/* The options of an NS or NA (o, n bytes): whether they are well formed and any link-layer
 * address of type want (1 source, 2 target) in them is src. RFC 4861 4.6: a length of 0
 * makes the whole message invalid. */
static int nd_options_ok(const unsigned char *o, size_t n, unsigned want, const unsigned char *src)
{
	while (n > 0) {
		size_t olen = n >= 2 ? (size_t)o[1] * 8 : 0;
		if (olen == 0 || olen > n)
			return 0;
		if (o[0] == want && memcmp(o + 2, src, 6) != 0)
			return 0;
		o += olen;
		n -= olen;
	}
	return 1;
}

/* p: the IPv6 packet, n bytes captured. */
static int parse_nd(const unsigned char *p, size_t n, const unsigned char *src,
		    unsigned char mac[6], char *addr)
{
	const unsigned char *icmp = p + 40, *saddr = p + 8;
	size_t plen;
	if (n < 40 || p[0] >> 4 != 6 || p[6] != 58 /* ICMPv6, no extension header */)
		return ADDRLEARN_NONE;
	/* Hop limit 255: it was sent on this link, never forwarded (RFC 4861 7.1). */
	plen = be16(p + 4);
	if (p[7] != 255 || plen > n - 40 || plen < 24)
		return ADDRLEARN_NONE;
	if ((icmp[0] != 135 && icmp[0] != 136) || icmp[1] != 0 || !ip6_unicast(saddr))
		return ADDRLEARN_NONE;
	if (!nd_options_ok(icmp + 24, plen - 24, icmp[0] == 135 ? 1 : 2, src))
		return ADDRLEARN_NONE;
	memcpy(mac, src, 6);
	return put_addr(AF_INET6, saddr, addr, ADDRLEARN_ND);
}

/* Whether the DHCP options (o, n bytes) say DHCPACK (option 53, value 5). */
static int dhcp_is_ack(const unsigned char *o, size_t n)
{
	size_t i = 0;
	while (i < n && o[i] != 255) {
		if (o[i] == 0) { /* pad */
			i++;
			continue;
		}
		if (n - i < 2 || o[i + 1] > n - i - 2)
			return 0;
		if (o[i] == 53)
			return o[i + 1] == 1 && o[i + 2] == 5;
		i += 2 + o[i + 1];
	}
	return 0;
}

/* p: the IPv4 packet, n bytes captured. */
static int parse_dhcp(const unsigned char *p, size_t n, unsigned char mac[6], char *addr)
{
	static const unsigned char cookie[4] = {99, 130, 83, 99};
	const unsigned char *udp, *b;
	size_t ihl, tot, ulen;
	if (n < 20 || p[0] >> 4 != 4 || p[9] != 17 /* UDP */ || (be16(p + 6) & 0x3fff))
		return ADDRLEARN_NONE; /* also no fragments: the options may be in another */
	ihl = (size_t)(p[0] & 15) * 4;
	tot = be16(p + 2);
	if (ihl < 20 || tot > n || tot < ihl + 8)
		return ADDRLEARN_NONE;
	udp = p + ihl;
	ulen = be16(udp + 4);
	if (be16(udp) != 67 || be16(udp + 2) != 68 || ulen > tot - ihl || ulen < 8 + 240)
		return ADDRLEARN_NONE;
	b = udp + 8; /* BOOTP: op htype hlen hops xid(4) secs(2) flags(2) ciaddr yiaddr siaddr
		       giaddr chaddr(16) sname(64) file(128) cookie(4) options */
	if (b[0] != 2 || b[1] != 1 || b[2] != 6 || memcmp(b + 236, cookie, 4) != 0)
		return ADDRLEARN_NONE;
	if (!mac_unicast(b + 28) || !ip4_unicast(b + 16) || !dhcp_is_ack(b + 240, ulen - 8 - 240))
		return ADDRLEARN_NONE;
	memcpy(mac, b + 28, 6);
	return put_addr(AF_INET, b + 16, addr, ADDRLEARN_DHCP);
}

int addrlearn_parse(const unsigned char *f, size_t len, unsigned char mac[6],
		    char addr[ADDRLEARN_ADDRLEN])
{
	size_t off = 14;
	unsigned type;
	if (len < 14 || !mac_unicast(f + 6))
		return ADDRLEARN_NONE;
	type = be16(f + 12);
	if (type == ETH_P_8021Q || type == ETH_P_8021AD) {
		if (len < 18)
			return ADDRLEARN_NONE;
		type = be16(f + 16);
		off = 18;
	}
	switch (type) {
	case ETH_P_ARP:
		return parse_arp(f + off, len - off, f + 6, mac, addr);
	case ETH_P_IPV6:
		return parse_nd(f + off, len - off, f + 6, mac, addr);
	case ETH_P_IP:
		return parse_dhcp(f + off, len - off, mac, addr);
	}
	return ADDRLEARN_NONE;
}

/* ---- the socket ---- */

/* The kernel runs this on every frame of every interface in the namespace, so it is short
 * and lets nothing else through. X holds the VLAN tag's length (0 or 4), so [x+k] is byte k
 * of the untagged layout; a load past the frame's end drops it. (Frames entering the host
 * reach us untagged, the kernel having moved any tag into the skb's metadata; the copies
 * it sends out of trunk ports can still carry it in the frame.) Jumps are forward only:
 * J(at, to) is the offset from instruction `at` to `to`. */
#define J(at, to) ((to) - (at)-1)
enum { L_ARP = 11, L_IPV6 = 13, L_IPV4 = 20, L_ACCEPT = 33, L_DROP = 34 };
static const struct sock_filter filter[] = {
    /*  0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
    /*  1 */ BPF_STMT(BPF_ST, 0),
    /*  2 */ BPF_STMT(BPF_LDX | BPF_IMM, 0),
    /*  3 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
    /*  4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_8021Q, J(4, 6), 0),
    /*  5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_8021AD, 0, J(5, 8)),
    /*  6 */ BPF_STMT(BPF_LDX | BPF_IMM, 4),
    /*  7 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 16),
    /*  8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_ARP, J(8, L_ARP), 0),
    /*  9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, J(9, L_IPV6), 0),
    /* 10 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, J(10, L_IPV4), J(10, L_DROP)),
    /* ARP: as it enters the host */
    /* 11 */ BPF_STMT(BPF_LD | BPF_MEM, 0),
    /* 12 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, J(12, L_DROP), J(12, L_ACCEPT)),
    /* IPv6: likewise; next header ICMPv6, type NS or NA */
    /* 13 */ BPF_STMT(BPF_LD | BPF_MEM, 0),
    /* 14 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, J(14, L_DROP), 0),
    /* 15 */ BPF_STMT(BPF_LD | BPF_B | BPF_IND, 14 + 6),
    /* 16 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 58, 0, J(16, L_DROP)),
    /* 17 */ BPF_STMT(BPF_LD | BPF_B | BPF_IND, 14 + 40),
    /* 18 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 135, J(18, L_ACCEPT), 0),
    /* 19 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 136, J(19, L_ACCEPT), J(19, L_DROP)),
    /* IPv4: UDP, first fragment, 67 -> 68, either direction */
    /* 20 */ BPF_STMT(BPF_LD | BPF_B | BPF_IND, 14 + 9),
    /* 21 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, J(21, L_DROP)),
    /* 22 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 14 + 6),
    /* 23 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, J(23, L_DROP), 0),
    /* 24 */ BPF_STMT(BPF_LD | BPF_B | BPF_IND, 14),
    /* 25 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf),
    /* 26 */ BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 2),
    /* 27 */ BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0),
    /* 28 */ BPF_STMT(BPF_MISC | BPF_TAX, 0), /* X = tag + IP header length */
    /* 29 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 14),
    /* 30 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 67, 0, J(30, L_DROP)),
    /* 31 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 16),
    /* 32 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 68, J(32, L_ACCEPT), J(32, L_DROP)),
    /* 33 */ BPF_STMT(BPF_RET | BPF_K, SNAPLEN),
    /* 34 */ BPF_STMT(BPF_RET | BPF_K, 0),
};
_Static_assert(ARRAY_SIZE(filter) == L_DROP + 1, "filter labels out of step");

int addrlearn_open(struct addrlearn **out, struct err *e)
{
	struct sock_fprog prog = {ARRAY_SIZE(filter), (struct sock_filter *)filter};
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	struct addrlearn *a;
	/* Protocol 0 receives nothing until bound: binding only once the filter is on means
	 * no unfiltered frame is ever queued. */
	auto_close int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(e, errno, "address learning: AF_PACKET socket");
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0)
		return err_sys(e, errno, "address learning: attaching the filter");
	if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0)
		return err_sys(e, errno, "address learning: binding to every interface");
	if (!(a = malloc(sizeof *a)))
		return err_sys(e, ENOMEM, "address learning: allocating");
	a->fd = take_fd(fd);
	*out = a;
	return 0;
}

int addrlearn_fd(const struct addrlearn *a) { return a->fd; }

int addrlearn_drain(struct addrlearn *a, addrlearn_fn *fn, void *arg)
{
	unsigned char frame[SNAPLEN], mac[6];
	char addr[ADDRLEARN_ADDRLEN];
	int n = 0;
	while (n < ADDRLEARN_BATCH) {
		struct sockaddr_ll sll;
		socklen_t sl = sizeof sll;
		ssize_t len = recvfrom(a->fd, frame, sizeof frame, 0, (struct sockaddr *)&sll, &sl);
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0) /* EAGAIN: all read; anything else again next time, if it lasts */
			return n > 0 || errno == EAGAIN ? n : -errno;
		n++;
		int kind = addrlearn_parse(frame, (size_t)len, mac, addr);
		/* the filter's rule again: an ARP or ND frame the host sends is not the guest's */
		if (kind == ADDRLEARN_NONE ||
		    (sll.sll_pkttype == PACKET_OUTGOING && kind != ADDRLEARN_DHCP))
			continue;
		fn(arg, sll.sll_ifindex, mac, addr);
	}
	return n;
}

void addrlearn_close(struct addrlearn *a)
{
	if (!a)
		return;
	close(a->fd);
	free(a);
}
