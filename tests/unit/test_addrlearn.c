/* runtime/addrlearn.c: the frame parser from tables (no sockets), then the socket and its
 * kernel filter on a real veth pair in a private network namespace (needs root).
 *
 * In the live part the veth's "guest" end stands for a guest's eth0: frames are written
 * out of it with an AF_PACKET socket, and must be learned where they enter the host, on
 * the other end, while the junk sent with them never leaves the kernel. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "runtime/addrlearn.h"
#include "runtime/netlink.h"
#include "tests/unit/tap.h"

static const unsigned char BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const unsigned char GUEST[6] = {0x02, 0x00, 0x00, 0x00, 0xaa, 0x02};
static const unsigned char OTHER[6] = {0x02, 0x00, 0x00, 0x00, 0xaa, 0x09};
static const unsigned char MCAST[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};

/* ---- building frames ---- */

struct frame {
	unsigned char b[1600];
	size_t n;
};

static void p8(struct frame *f, unsigned v) { f->b[f->n++] = (unsigned char)v; }
static void p16(struct frame *f, unsigned v)
{
	p8(f, v >> 8);
	p8(f, v);
}
static void pn(struct frame *f, const void *p, size_t n)
{
	memcpy(f->b + f->n, p, n);
	f->n += n;
}
static void pz(struct frame *f, size_t n)
{
	memset(f->b + f->n, 0, n);
	f->n += n;
}
static void pip(struct frame *f, int af, const char *text)
{
	unsigned char a[16];
	if (inet_pton(af, text, a) != 1)
		abort();
	pn(f, a, af == AF_INET ? 4 : 16);
}
static void eth(struct frame *f, const unsigned char *dst, const unsigned char *src, unsigned vlan,
		unsigned type)
{
	f->n = 0;
	pn(f, dst, 6);
	pn(f, src, 6);
	if (vlan) {
		p16(f, ETH_P_8021Q);
		p16(f, vlan);
	}
	p16(f, type);
}

static struct frame arp_frame(const unsigned char *src, unsigned vlan, unsigned op,
			      const unsigned char *sha, const char *spa, const char *tpa)
{
	struct frame f;
	eth(&f, BCAST, src, vlan, ETH_P_ARP);
	p16(&f, 1);
	p16(&f, ETH_P_IP);
	p8(&f, 6);
	p8(&f, 4);
	p16(&f, op);
	pn(&f, sha, 6);
	pip(&f, AF_INET, spa);
	pz(&f, 6);
	pip(&f, AF_INET, tpa);
	return f;
}
#define ARP(op, spa) arp_frame(GUEST, 0, op, GUEST, spa, "10.0.0.1")

/* An ICMPv6 message of type with a target and, if opt, one link-layer address option. */
static struct frame nd_frame(unsigned type, const char *saddr, unsigned hops, unsigned opt,
			     const unsigned char *optmac, unsigned optlen)
{
	static const unsigned char dst[6] = {0x33, 0x33, 0xff, 0x00, 0x00, 0x01};
	struct frame f;
	eth(&f, dst, GUEST, 0, ETH_P_IPV6);
	p8(&f, 0x60);
	pz(&f, 3);
	p16(&f, 24 + (opt ? 8 : 0));
	p8(&f, 58);
	p8(&f, hops);
	pip(&f, AF_INET6, saddr);
	pip(&f, AF_INET6, "ff02::1:ff00:1");
	p8(&f, type);
	pz(&f, 7); /* code, checksum, flags */
	pip(&f, AF_INET6, "fe80::1");
	if (opt) {
		p8(&f, opt);
		p8(&f, optlen);
		pn(&f, optmac, 6);
	}
	return f;
}
#define NS(saddr) nd_frame(135, saddr, 255, 1, GUEST, 1)

/* A DHCP message from a server (OTHER) to the client GUEST: options are the type and then
 * extra (n bytes), then the end. */
static struct frame dhcp_frame(unsigned vlan, unsigned sport, unsigned dport, unsigned msgtype,
			       const char *yiaddr, const void *extra, size_t n)
{
	static const unsigned char cookie[4] = {99, 130, 83, 99};
	struct frame f;
	size_t ip;
	eth(&f, GUEST, OTHER, vlan, ETH_P_IP);
	ip = f.n;
	p8(&f, 0x45);
	p8(&f, 0);
	p16(&f, 0); /* total length, below */
	pz(&f, 4);
	p8(&f, 64);
	p8(&f, 17);
	pz(&f, 2);
	pip(&f, AF_INET, "10.0.0.1");
	pip(&f, AF_INET, "10.0.0.50");
	p16(&f, sport);
	p16(&f, dport);
	p16(&f, 0); /* UDP length, below */
	pz(&f, 2);
	p8(&f, 2);
	p8(&f, 1);
	p8(&f, 6);
	pz(&f, 13);
	pip(&f, AF_INET, yiaddr);
	pz(&f, 8);
	pn(&f, GUEST, 6);
	pz(&f, 10 + 64 + 128);
	pn(&f, cookie, 4);
	if (msgtype) {
		p8(&f, 53);
		p8(&f, 1);
		p8(&f, msgtype);
	}
	pn(&f, extra, n);
	p8(&f, 255);
	f.b[ip + 2] = (unsigned char)((f.n - ip) >> 8);
	f.b[ip + 3] = (unsigned char)(f.n - ip);
	f.b[ip + 24] = (unsigned char)((f.n - ip - 20) >> 8);
	f.b[ip + 25] = (unsigned char)(f.n - ip - 20);
	return f;
}
#define DHCP(type) dhcp_frame(0, 67, 68, type, "10.0.0.50", "", 0)

/* ---- the parser ---- */

static const char *macstr(const unsigned char *m)
{
	static char s[4][18];
	static int i;
	char *o = s[i++ % 4];
	snprintf(o, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return o;
}

/* "arp 02:00:00:00:aa:02 10.0.0.2", or "none" */
static const char *parsed(const unsigned char *b, size_t n)
{
	static const char *kinds[] = {"none", "arp", "nd", "dhcp"};
	static char out[96];
	unsigned char mac[6];
	char addr[ADDRLEARN_ADDRLEN];
	int k = addrlearn_parse(b, n, mac, addr);
	if (k <= 0 || k > ADDRLEARN_DHCP)
		snprintf(out, sizeof out, "%s", k ? "bad kind" : "none");
	else
		snprintf(out, sizeof out, "%s %s %s", kinds[k], macstr(mac), addr);
	return out;
}

#define CASE(what, fr, want)                                                                       \
	do {                                                                                       \
		struct frame f_ = (fr);                                                            \
		is_str(parsed(f_.b, f_.n), want, "%s", what);                                      \
	} while (0)

/* Every proper prefix of a frame teaches nothing, and none is read past its end (each is
 * copied into a buffer of exactly its size, for ASan: make SANITIZE=1). */
static void truncations(const char *what, struct frame f)
{
	size_t bad = 0, fails = 0;
	for (size_t n = 0; n < f.n; n++) {
		unsigned char *b = malloc(n ? n : 1);
		memcpy(b, f.b, n);
		if (strcmp(parsed(b, n), "none") != 0 && !fails++)
			bad = n;
		free(b);
	}
	ok(fails == 0, "%s: none of its %zu truncations parses", what, f.n);
	if (fails)
		printf("#   %zu do, the first at %zu bytes: %s\n", fails, bad, parsed(f.b, bad));
}

static void test_arp(void)
{
	struct frame f;
	CASE("ARP request", ARP(1, "10.0.0.2"), "arp 02:00:00:00:aa:02 10.0.0.2");
	CASE("ARP reply", ARP(2, "10.0.0.3"), "arp 02:00:00:00:aa:02 10.0.0.3");
	CASE("gratuitous ARP", arp_frame(GUEST, 0, 1, GUEST, "10.0.0.4", "10.0.0.4"),
	     "arp 02:00:00:00:aa:02 10.0.0.4");
	CASE("ARP probe (sender 0.0.0.0): skipped", ARP(1, "0.0.0.0"), "none");
	CASE("ARP from 255.255.255.255", ARP(1, "255.255.255.255"), "none");
	CASE("ARP from 127.0.0.1", ARP(1, "127.0.0.1"), "none");
	CASE("ARP whose sender MAC is not the frame's source",
	     arp_frame(GUEST, 0, 1, OTHER, "10.0.0.2", "10.0.0.1"), "none");
	CASE("ARP from a multicast MAC", arp_frame(MCAST, 0, 1, MCAST, "10.0.0.2", "10.0.0.1"),
	     "none");
	CASE("ARP from the broadcast MAC", arp_frame(BCAST, 0, 1, BCAST, "10.0.0.2", "10.0.0.1"),
	     "none");
	CASE("RARP-style op 3", ARP(3, "10.0.0.2"), "none");
	f = ARP(1, "10.0.0.2");
	pz(&f, 60 - f.n);
	CASE("ARP with Ethernet padding to 60 bytes", f, "arp 02:00:00:00:aa:02 10.0.0.2");
	f = ARP(1, "10.0.0.2");
	f.b[15] = 6; /* hardware type IEEE 802 */
	CASE("ARP of another hardware type", f, "none");
	f = ARP(1, "10.0.0.2");
	f.b[19] = 16; /* protocol address length */
	CASE("ARP with a protocol address length of 16", f, "none");
	CASE("VLAN-tagged (802.1Q) ARP, VLAN 101",
	     arp_frame(GUEST, 101, 1, GUEST, "10.1.0.2", "10.1.0.1"),
	     "arp 02:00:00:00:aa:02 10.1.0.2");
	f = arp_frame(GUEST, 101, 1, GUEST, "10.1.0.2", "10.1.0.1");
	f.b[12] = 0x88, f.b[13] = 0xa8;
	CASE("802.1ad-tagged ARP", f, "arp 02:00:00:00:aa:02 10.1.0.2");
	f = arp_frame(GUEST, 101, 1, GUEST, "10.1.0.2", "10.1.0.1");
	memmove(f.b + 16, f.b + 12, f.n - 12);
	f.n += 4;
	f.b[12] = 0x88, f.b[13] = 0xa8, f.b[14] = 0, f.b[15] = 7;
	CASE("double-tagged ARP (only one tag is skipped)", f, "none");
	f = ARP(1, "10.0.0.2");
	f.b[12] = 0x08, f.b[13] = 0x00;
	CASE("an IPv4 frame (no ARP)", f, "none");
	f = ARP(1, "10.0.0.2");
	f.b[12] = 0x88, f.b[13] = 0xcc;
	CASE("an LLDP frame", f, "none");
	ok(addrlearn_parse(NULL, 0, (unsigned char[6]){0}, (char[ADDRLEARN_ADDRLEN]){0}) == 0,
	   "an empty frame");
	truncations("ARP request", ARP(1, "10.0.0.2"));
	truncations("VLAN-tagged ARP", arp_frame(GUEST, 101, 1, GUEST, "10.1.0.2", "10.1.0.1"));
}

static void test_nd(void)
{
	struct frame f;
	CASE("IPv6 NS with a source link-layer option", NS("fe80::2"),
	     "nd 02:00:00:00:aa:02 fe80::2");
	CASE("IPv6 NA with a target link-layer option",
	     nd_frame(136, "2001:db8::5", 255, 2, GUEST, 1), "nd 02:00:00:00:aa:02 2001:db8::5");
	CASE("IPv6 NA without options", nd_frame(136, "fe80::3", 255, 0, NULL, 0),
	     "nd 02:00:00:00:aa:02 fe80::3");
	CASE("NS from :: (duplicate address detection): skipped", NS("::"), "none");
	CASE("NS from a multicast address", NS("ff02::1"), "none");
	CASE("NS from ::1", NS("::1"), "none");
	CASE("NS with hop limit 64 (forwarded)", nd_frame(135, "fe80::2", 64, 1, GUEST, 1), "none");
	CASE("NS whose link-layer option is another MAC",
	     nd_frame(135, "fe80::2", 255, 1, OTHER, 1), "none");
	CASE("NA whose target link-layer option is another MAC",
	     nd_frame(136, "fe80::2", 255, 2, OTHER, 1), "none");
	CASE("NS with an option of length 0", nd_frame(135, "fe80::2", 255, 1, GUEST, 0), "none");
	CASE("NS with an option longer than the message",
	     nd_frame(135, "fe80::2", 255, 1, GUEST, 2), "none");
	CASE("ICMPv6 echo request", nd_frame(128, "fe80::2", 255, 0, NULL, 0), "none");
	CASE("router solicitation", nd_frame(133, "fe80::2", 255, 1, GUEST, 1), "none");
	f = NS("fe80::2");
	f.b[20] = 0; /* next header: hop-by-hop options */
	CASE("NS behind an extension header", f, "none");
	f = NS("fe80::2");
	f.b[19] = 80; /* payload length past the frame's end */
	CASE("NS whose payload length is past the frame's end", f, "none");
	f = NS("fe80::2");
	pz(&f, 12);
	CASE("NS followed by padding", f, "nd 02:00:00:00:aa:02 fe80::2");
	truncations("NS", NS("fe80::2"));
	truncations("NA", nd_frame(136, "2001:db8::5", 255, 2, GUEST, 1));
}

static void test_dhcp(void)
{
	static const unsigned char pads[] = {0, 0, 0, 53, 1, 5}, lease[] = {51, 4, 0, 0, 14, 16};
	static const unsigned char overrun[] = {53, 200, 5};
	struct frame f;
	CASE("DHCP ACK: the client's MAC and address", DHCP(5), "dhcp 02:00:00:00:aa:02 10.0.0.50");
	CASE("DHCP ACK with a lease time after the type",
	     dhcp_frame(0, 67, 68, 5, "10.0.0.50", lease, sizeof lease),
	     "dhcp 02:00:00:00:aa:02 10.0.0.50");
	CASE("DHCP ACK whose type follows pads",
	     dhcp_frame(0, 67, 68, 0, "10.0.0.51", pads, sizeof pads),
	     "dhcp 02:00:00:00:aa:02 10.0.0.51");
	CASE("VLAN-tagged DHCP ACK", dhcp_frame(101, 67, 68, 5, "10.1.0.50", "", 0),
	     "dhcp 02:00:00:00:aa:02 10.1.0.50");
	CASE("DHCP OFFER", DHCP(2), "none");
	CASE("DHCP NAK", DHCP(6), "none");
	CASE("DHCP reply without a message type", DHCP(0), "none");
	CASE("DHCP ACK with an option running past the end",
	     dhcp_frame(0, 67, 68, 0, "10.0.0.50", overrun, sizeof overrun), "none");
	CASE("DHCP ACK giving 0.0.0.0", dhcp_frame(0, 67, 68, 5, "0.0.0.0", "", 0), "none");
	CASE("UDP 68 -> 67 (a client's message)", dhcp_frame(0, 68, 67, 5, "10.0.0.50", "", 0),
	     "none");
	f = DHCP(5);
	f.b[14 + 28 + 28] = 0x01; /* chaddr multicast */
	CASE("DHCP ACK to a multicast chaddr", f, "none");
	f = DHCP(5);
	f.b[14 + 6] = 0x20; /* more fragments */
	CASE("a first fragment of a DHCP ACK", f, "none");
	f = DHCP(5);
	f.b[14] = 0x44; /* header length 16 */
	CASE("IPv4 header length under 20", f, "none");
	f = DHCP(5);
	f.b[14 + 28 + 236] = 0;
	CASE("DHCP without the magic cookie", f, "none");
	truncations("DHCP ACK", DHCP(5));
	truncations("VLAN-tagged DHCP ACK", dhcp_frame(101, 67, 68, 5, "10.1.0.50", "", 0));
}

/* ---- the socket, live ---- */

static int if_guest, if_host;
static char seen[16][80];
static int nseen;

static void learned(void *arg, int ifindex, const unsigned char mac[6], const char *addr)
{
	char name[IF_NAMESIZE] = "?";
	if (nseen < 16) {
		if_indextoname((unsigned)ifindex, name);
		snprintf(seen[nseen], sizeof seen[0], "%s %s %s", name, macstr(mac), addr);
	}
	nseen++;
}

static int cmp(const void *a, const void *b) { return strcmp(a, b); }

/* What was learned, sorted, one report per line. */
static const char *seen_text(void)
{
	static char out[16 * 81];
	out[0] = 0;
	qsort(seen, nseen < 16 ? nseen : 16, sizeof seen[0], cmp);
	for (int i = 0; i < nseen && i < 16; i++)
		snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", i ? "\n" : "",
			 seen[i]);
	return out;
}

/* Frames read until want reports came or 2 s went by, then 100 ms more for any extra. */
static int drain_until(struct addrlearn *a, int want)
{
	struct timespec t0, t;
	int frames = 0, rc;
	long ms = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ms < 2000 && nseen < want) {
		poll(&(struct pollfd){addrlearn_fd(a), POLLIN, 0}, 1, 50);
		if ((rc = addrlearn_drain(a, learned, NULL)) < 0)
			return rc;
		frames += rc;
		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
	}
	usleep(100 * 1000);
	rc = addrlearn_drain(a, learned, NULL);
	return rc < 0 ? rc : frames + rc;
}

static int tx;
static void send_frame(struct frame f)
{
	struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = if_guest, .sll_halen = 6};
	memcpy(to.sll_addr, f.b, 6);
	if (sendto(tx, f.b, f.n, 0, (struct sockaddr *)&to, sizeof to) != (ssize_t)f.n)
		printf("# sendto: %s\n", strerror(errno));
}

static void test_live_frames(struct addrlearn *a)
{
	struct frame junk;
	int n;
	/* junk that the filter must keep in the kernel */
	junk = dhcp_frame(0, 1234, 53, 5, "10.0.0.50", "", 0);
	send_frame(junk);
	send_frame(nd_frame(128, "fe80::2", 255, 0, NULL, 0));
	send_frame(nd_frame(133, "fe80::2", 255, 1, GUEST, 1));
	junk = ARP(1, "10.0.0.2");
	junk.b[12] = 0x88, junk.b[13] = 0xb5;
	send_frame(junk);
	/* let through but teaching nothing */
	send_frame(ARP(1, "0.0.0.0"));
	/* learned */
	send_frame(ARP(1, "10.0.0.2"));
	send_frame(NS("fe80::2"));
	send_frame(dhcp_frame(101, 67, 68, 5, "10.1.0.50", "", 0));
	n = drain_until(a, 4);
	ok(n == 5,
	   "5 frames read: the probe, ARP, NS, and the DHCP ACK going out and coming in "
	   "(%d)",
	   n);
	is_str(seen_text(),
	       "alguest 02:00:00:00:aa:02 10.1.0.50\n"
	       "alhost 02:00:00:00:aa:02 10.0.0.2\n"
	       "alhost 02:00:00:00:aa:02 10.1.0.50\n"
	       "alhost 02:00:00:00:aa:02 fe80::2",
	       "ARP and NS learned where they enter the host, the DHCP ACK on both ends");
	n = addrlearn_drain(a, learned, NULL);
	ok(n == 0, "then nothing is pending, and drain does not block (%d)", n);
}

/* A flood is read in batches of ADDRLEARN_BATCH. */
static void test_live_batch(struct addrlearn *a)
{
	int big = 4 << 20, n1, n2, n3, total = ADDRLEARN_BATCH + 44;
	setsockopt(addrlearn_fd(a), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
	for (int i = 0; i < total; i++) {
		char ip[24];
		snprintf(ip, sizeof ip, "10.2.%u.%u", (unsigned)i / 200 % 256,
			 (unsigned)i % 200 + 1);
		send_frame(ARP(1, ip));
	}
	usleep(200 * 1000);
	nseen = 0;
	n1 = addrlearn_drain(a, learned, NULL);
	n2 = addrlearn_drain(a, learned, NULL);
	n3 = addrlearn_drain(a, learned, NULL);
	ok(n1 == ADDRLEARN_BATCH && n2 == total - ADDRLEARN_BATCH && n3 == 0,
	   "%d ARPs read as %d, %d, %d", total, n1, n2, n3);
	ok(nseen == total, "and each learned (%d)", nseen);
}

static void test_live(void)
{
	struct addrlearn *a = NULL;
	struct nl *nl = NULL;
	int rc, fl;

	/* No IPv6 of the kernel's own on the new links (router solicitations, duplicate
	 * address detection): the test sends all the traffic there is. */
	int fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY);
	if (fd >= 0 && write(fd, "1", 1) != 1)
		printf("# disable_ipv6: %s\n", strerror(errno));
	if (fd >= 0)
		close(fd);
	rc = nl_open(&nl);
	ok(rc == 0, "nl_open: %s", strerror(-rc));
	if (rc)
		return;
	struct err e;
	rc = nl_veth_add(nl, "alhost", "alguest", getpid(), GUEST, &e);
	ok(rc == 0, "veth alhost/alguest: %s", rc ? e.why : "ok");
	rc = rc ? rc : nl_link_up(nl, "alguest");
	ok(rc == 0, "both ends up: %s", strerror(-rc));
	if_host = (int)if_nametoindex("alhost");
	if_guest = (int)if_nametoindex("alguest");
	tx = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: sends, never receives */
	ok(tx >= 0 && if_host > 0 && if_guest > 0, "a sending socket on alguest");

	rc = addrlearn_open(&a, &e);
	ok(rc == 0, "addrlearn_open: %s", rc ? e.why : "ok");
	if (rc == 0) {
		fl = fcntl(addrlearn_fd(a), F_GETFL);
		ok(fl >= 0 && (fl & O_NONBLOCK), "its socket is non-blocking");
		fl = fcntl(addrlearn_fd(a), F_GETFD);
		ok(fl >= 0 && (fl & FD_CLOEXEC), "and close-on-exec");
		rc = addrlearn_drain(a, learned, NULL);
		ok(rc == 0, "nothing pending at first (%d)", rc);
		test_live_frames(a);
		test_live_batch(a);
	}
	addrlearn_close(a);
	if (tx >= 0)
		close(tx);
	nl_link_del(nl, "alhost");
	nl_close(nl);
}

int main(void)
{
	test_arp();
	test_nd();
	test_dhcp();
	if (geteuid() != 0)
		ok(1, "# SKIP live test: AF_PACKET sockets and a network namespace need root");
	else if (unshare(CLONE_NEWNET))
		ok(1, "# SKIP live test: no private network namespace: %s", strerror(errno));
	else
		test_live();
	return tap_done();
}
