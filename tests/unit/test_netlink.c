/* runtime/netlink.c on real devices. Needs root.
 *
 * The whole test runs in a network namespace of its own (and a mount namespace, for a
 * sysfs that shows that network namespace), so it never sees or touches the host's
 * devices; the three "guests" are child processes each in a further new network
 * namespace. Everything made is removed at exit whatever failed, and the namespaces go
 * with the processes anyway. Traffic is checked with busybox (ip, ping) run inside the
 * guests' namespaces: two guests on VLAN 101 reach each other, one on 102, in the same
 * IP subnet, does not, until it is moved to 101. Addresses are read back with getifaddrs,
 * which asks the kernel itself. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/netlink.h"
#include "tests/unit/tap.h"

#define NGUEST 3
static pid_t guest[NGUEST];
static struct nl *nl;
static struct err ne; /* the reason of the last nl_ call that failed */

/* The call failed with want, and said so in ne: its errno and a reason. */
static bool said(int rc, int want)
{
	return rc < 0 && rc == want && ne.no == -rc && *ne.why;
}
static int vf; /* the kernel has bridge VLAN filtering */


static const char *sysnet(const char *dev, const char *file)
{
	char p[128];
	snprintf(p, sizeof p, "/sys/class/net/%s/%s", dev, file);
	return slurp(p);
}

static int is_up(const char *dev)
{
	const char *f = sysnet(dev, "flags");
	return f && (strtoul(f, NULL, 16) & 1);
}

static void del_one(void *arg, const char *name, const char *kind)
{
	int rc = nl_link_del(nl, name);
	if (arg)
		ok(rc == 0, "nl_link_del %s: %s", name, rc ? strerror(-rc) : "ok");
}

static void cleanup(void)
{
	if (nl)
		nl_links(nl, "vt", del_one, NULL);
	for (int i = 0; i < NGUEST; i++)
		if (guest[i] > 0) {
			kill(guest[i], SIGKILL);
			waitpid(guest[i], NULL, 0);
		}
	nl_close(nl);
}

/* A process in a new network namespace that waits to be killed. */
static pid_t guest_start(void)
{
	int p[2];
	char c;
	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		if (unshare(CLONE_NEWNET))
			_exit(1);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1)
		pid = -1;
	close(p[0]);
	return pid;
}

static void enter_net(pid_t pid)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/ns/net", (int)pid);
	int fd = open(p, O_RDONLY);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		_exit(126);
	close(fd);
}

/* Runs busybox with the arguments inside pid's network namespace (0: ours): its exit
 * status. */
static int in_guest(pid_t pid, const char *a1, const char *a2, const char *a3, const char *a4,
		    const char *a5, const char *a6, const char *a7)
{
	int st;
	pid_t c = fork();
	if (c == 0) {
		if (pid)
			enter_net(pid);
		dup2(2, 1); /* keep busybox's words out of the TAP stream */
		execl("/bin/busybox", "busybox", a1, a2, a3, a4, a5, a6, a7, (char *)NULL);
		_exit(127);
	}
	if (c < 0 || waitpid(c, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* /sys/class/net/DEV/address as seen inside pid's namespace (a sysfs mounted there). */
static const char *guest_mac(pid_t pid, const char *dev)
{
	static char out[64];
	int p[2];
	ssize_t n;
	if (pipe(p))
		return NULL;
	pid_t c = fork();
	if (c == 0) {
		close(p[0]);
		enter_net(pid);
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("sysfs", "/sys", "sysfs", 0, NULL))
			_exit(1);
		const char *m = sysnet(dev, "address");
		if (m && write(p[1], m, strlen(m)) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	n = c < 0 ? -1 : read(p[0], out, sizeof out - 1);
	close(p[0]);
	if (c > 0)
		waitpid(c, NULL, 0);
	if (n <= 0)
		return NULL;
	out[n] = 0;
	return out;
}

/* "101 102" for the port's VLANs, or "error: ..." */
static const char *vlans(const char *port)
{
	static char out[4][128];
	static int k;
	char *o = out[k++ % 4];
	unsigned v[16];
	int n = nl_port_vlans(nl, port, v, 16);
	if (n < 0) {
		snprintf(o, 128, "error: %s", strerror(-n));
		return o;
	}
	o[0] = 0;
	for (int i = 0; i < n; i++)
		snprintf(o + strlen(o), 128 - strlen(o), "%s%u", i ? " " : "", v[i]);
	return o;
}

/* Appends "name:kind"; links come in index order, which is the order they were made. */
static void collect(void *arg, const char *name, const char *kind)
{
	char *s = arg;
	snprintf(s + strlen(s), 256 - strlen(s), "%s%s:%s", *s ? " " : "", name, kind);
}

static const char *fmt_mac(const unsigned char m[6])
{
	static char out[2][18];
	static int k;
	char *o = out[k++ % 2];
	snprintf(o, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return o;
}

/* The address bytes of an IPv4 or IPv6 sockaddr. */
static const unsigned char *sa_bytes(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
	return (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
}

/* Whether dev has the address cidr ("10.0.0.1/24"). */
static int has_addr(const char *dev, const char *cidr)
{
	struct ifaddrs *all, *i;
	char a[INET6_ADDRSTRLEN], c[64];
	int found = 0;
	if (getifaddrs(&all))
		return 0;
	for (i = all; i && !found; i = i->ifa_next) {
		int fam = i->ifa_addr ? i->ifa_addr->sa_family : 0, plen = 0;
		if (strcmp(i->ifa_name, dev) || (fam != AF_INET && fam != AF_INET6) ||
		    !i->ifa_netmask)
			continue;
		for (int k = 0; k < (fam == AF_INET ? 4 : 16); k++)
			plen += __builtin_popcount(sa_bytes(i->ifa_netmask)[k]);
		inet_ntop(fam, sa_bytes(i->ifa_addr), a, sizeof a);
		snprintf(c, sizeof c, "%s/%d", a, plen);
		found = !strcmp(c, cidr);
	}
	freeifaddrs(all);
	return found;
}

static void test_probe(void)
{
	char name[16], names[256] = "";
	struct err why;
	/* One left by a probe that died: the next probe steps over it. A single-threaded
	 * process's thread id is its pid. */
	snprintf(name, sizeof name, "vfprobe%u", (unsigned)getpid() % 10000000u);
	int rc = nl_bridge_plain_add(nl, name, &ne);
	ok(rc == 0, "a stale probe bridge %s: %s", name, rc ? ne.why : "ok");
	rc = nl_vlan_filtering(nl, &why);
	ok(rc == 0 || rc == 1, "nl_vlan_filtering: %d (%s)", rc, rc == 1 ? "supported" : why.why);
	if (rc == 1)
		is_str(why.why, "", "and no reason given");
	else
		ok(strstr(why.why, "(CONFIG_BRIDGE_VLAN_FILTERING): bridge vlan_filtering: "),
		   "and it says why: %s", why.why);
	ok(nl_links(nl, "vfprobe", collect, names) == 0, "no probe bridge is left (%s)", names);
	vf = rc == 1;
}

/* vtbr1, without VLAN filtering whatever the kernel has. */
static void test_bridge_plain(void)
{
	int rc = nl_bridge_plain_add(nl, "vtbr1", &ne);
	ok(rc == 0, "plain bridge vtbr1 made: %s", rc ? ne.why : "ok");
	ok(sysnet("vtbr1", "bridge/forward_delay") != NULL, "it is a bridge");
	if (vf)
		is_str(sysnet("vtbr1", "bridge/vlan_filtering"), "0", "it does not filter VLANs");
	else
		ok(sysnet("vtbr1", "bridge/vlan_filtering") == NULL,
		   "it does not filter VLANs (no vlan_filtering knob in this kernel)");
	ok(is_up("vtbr1"), "it is up");
	rc = nl_bridge_plain_add(nl, "vtbr1", &ne);
	ok(said(rc, -EEXIST), "making it again: -EEXIST (%s)", ne.why);
	rc = nl_bridge_plain_add(nl, "vt br", &ne);
	ok(said(rc, -EINVAL), "a name with a space: -EINVAL (%s)", ne.why);
}

static void test_bridge(void)
{
	int rc = nl_bridge_add(nl, "vtbr0", &ne);
	if (!vf) {
		/* A plain bridge instead, so veths, taps and traffic still get tested. */
		ok(said(rc, -EOPNOTSUPP) && sysnet("vtbr0", "flags") == NULL,
		   "# SKIP VLAN parts: nl_bridge_add agrees with the probe, says '%s' and leaves "
		   "nothing", ne.why);
		rc = nl_bridge_plain_add(nl, "vtbr0", &ne);
		ok(rc == 0, "a plain bridge vtbr0 instead: %s", rc ? ne.why : "ok");
		test_bridge_plain();
		return;
	}
	ok(rc == 0, "bridge vtbr0 made: %s", rc ? ne.why : "ok");
	is_str(sysnet("vtbr0", "bridge/vlan_filtering"), "1", "it filters VLANs");
	is_str(sysnet("vtbr0", "bridge/default_pvid"), "0", "its default PVID is 0");
	ok(is_up("vtbr0"), "it is up");
	rc = nl_bridge_add(nl, "vtbr0", &ne);
	ok(said(rc, -EEXIST), "making it again: -EEXIST (%s)", ne.why);
	test_bridge_plain();
}

static void test_guests(void)
{
	static const unsigned vid[NGUEST] = {101, 101, 102};
	char host[16], want[32];
	int rc;

	for (int i = 0; i < NGUEST; i++) {
		unsigned char mac[6] = {0x02, 0x00, 0x00, 0x00, 0x01, i + 1};
		guest[i] = guest_start();
		ok(guest[i] > 0, "guest %d in its own network namespace", i + 1);
		snprintf(host, sizeof host, "vtve%d", i + 1);
		rc = nl_veth_add(nl, host, "eth0", guest[i], mac, &ne);
		ok(rc == 0, "veth %s, peer eth0 in guest %d: %s", host, i + 1, rc ? ne.why : "ok");
		ok(is_up(host), "%s is up", host);
		snprintf(want, sizeof want, "02:00:00:00:01:%02x", i + 1);
		is_str(guest_mac(guest[i], "eth0"), want, "guest %d's eth0 has the MAC asked for",
		       i + 1);
		ok(sysnet("eth0", "address") == NULL, "no eth0 on our side");
		rc = nl_link_set_master(nl, host, "vtbr0");
		ok(rc == 0, "%s attached to vtbr0: %s", host, strerror(-rc));
		if (!vf)
			continue;
		is_str(vlans(host), "", "%s is in no VLAN yet (default PVID 0)", host);
		rc = nl_port_vlan(nl, host, vid[i], &ne);
		ok(rc == 0, "%s on VLAN %u: %s", host, vid[i], rc ? ne.why : "ok");
		snprintf(want, sizeof want, "%u", vid[i]);
		is_str(vlans(host), want, "nl_port_vlans(%s)", host);
	}
	rc = nl_veth_add(nl, "vtve1", "eth1", guest[0], NULL, &ne);
	ok(said(rc, -EEXIST), "a second vtve1: -EEXIST (%s)", ne.why);

	for (int i = 0; i < NGUEST; i++) {
		char addr[32];
		snprintf(addr, sizeof addr, "10.0.101.%d/24", i + 1);
		rc = in_guest(guest[i], "ip", "addr", "add", addr, "dev", "eth0", NULL) ||
		     in_guest(guest[i], "ip", "link", "set", "eth0", "up", NULL, NULL);
		ok(rc == 0, "guest %d has address %s, eth0 up", i + 1, addr);
	}
	rc = in_guest(guest[0], "ping", "-c1", "-W2", "10.0.101.2", NULL, NULL, NULL);
	ok(rc == 0, "guest 1 reaches guest 2 on the same VLAN");
	if (!vf) {
		ok(1, "# SKIP isolation of VLAN 102: no VLAN filtering in this kernel");
		return;
	}
	rc = in_guest(guest[0], "ping", "-c1", "-W2", "10.0.101.3", NULL, NULL, NULL);
	ok(rc != 0, "guest 1 does not reach guest 3 on another VLAN, same subnet");
	rc = nl_port_vlan(nl, "vtve3", 101, &ne);
	ok(rc == 0, "vtve3 moved to VLAN 101: %s", rc ? ne.why : "ok");
	is_str(vlans("vtve3"), "101", "and out of 102");
	rc = in_guest(guest[0], "ping", "-c1", "-W2", "10.0.101.3", NULL, NULL, NULL);
	ok(rc == 0, "now guest 1 reaches guest 3");
}

/* Peers put in a namespace by an open fd: guest 1's, then our own. */
static void test_veth_ns(void)
{
	unsigned char mac[6] = {0x02, 0x00, 0x00, 0x00, 0x02, 0x01}, got[6];
	char p[64];
	int fd, rc;

	snprintf(p, sizeof p, "/proc/%d/ns/net", (int)guest[0]);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	ok(fd >= 0, "guest 1's network namespace open: %s", fd < 0 ? strerror(errno) : "ok");
	rc = nl_veth_add_ns(nl, "vtve4", "eth1", fd, mac, &ne);
	ok(rc == 0, "veth vtve4, peer eth1 in guest 1 by fd: %s", rc ? ne.why : "ok");
	ok(is_up("vtve4"), "vtve4 is up");
	is_str(guest_mac(guest[0], "eth1"), "02:00:00:00:02:01",
	       "guest 1's eth1 has the MAC asked for");
	ok(sysnet("eth1", "address") == NULL, "no eth1 on our side");
	rc = nl_veth_add_ns(nl, "vtve4", "eth2", fd, NULL, &ne);
	ok(said(rc, -EEXIST), "a second vtve4: -EEXIST (%s)", ne.why);
	close(fd);

	fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	mac[5] = 0x02;
	rc = nl_veth_add_ns(nl, "vtve5", "vtp5", fd, mac, &ne);
	ok(rc == 0, "veth vtve5, peer vtp5 by the fd of our own namespace: %s", rc ? ne.why : "ok");
	close(fd);
	rc = nl_link_mac(nl, "vtp5", got);
	is_str(rc ? strerror(-rc) : fmt_mac(got), "02:00:00:00:02:02",
	       "nl_link_mac(vtp5) is the MAC asked for");
	ok(sysnet("vtp5", "flags") && !is_up("vtp5"),
	   "vtp5 is left down, for its namespace's owner");
	rc = nl_link_mac(nl, "vtve5", got);
	is_str(rc ? strerror(-rc) : fmt_mac(got), sysnet("vtve5", "address"), "nl_link_mac(vtve5)");
	ok(nl_link_mac(nl, "vtnone", got) == -ENODEV, "nl_link_mac of a missing link: -ENODEV");

	rc = nl_veth_add_ns(nl, "vtve6", "eth0", -1, NULL, &ne);
	ok(said(rc, -EINVAL), "namespace fd -1: -EINVAL (%s)", ne.why);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	rc = nl_veth_add_ns(nl, "vtve6", "eth0", fd, NULL, &ne);
	ok(said(rc, rc) && !sysnet("vtve6", "flags"), "an fd that is no namespace: %s (%s)",
	   strerror(-rc), ne.why);
	close(fd);
}

static void test_tap(void)
{
	int rc = nl_tap_add(nl, "vttap0", &ne);
	ok(rc == 0, "tap vttap0 made: %s", rc ? ne.why : "ok");
	/* 0x0800 is IFF_PERSIST, reported there beside IFF_TAP and IFF_NO_PI */
	is_str(sysnet("vttap0", "tun_flags"), "0x1802", "a persistent tap without packet info");
	ok(is_up("vttap0"), "it is up");
	rc = nl_tap_add(nl, "vttap0", &ne);
	ok(said(rc, -EEXIST), "making it again: -EEXIST (%s)", ne.why);
	rc = nl_tap_add(nl, "vtbr0", &ne);
	ok(rc == -EEXIST, "a tap named like the bridge: -EEXIST (%s)", ne.why);
	rc = nl_link_set_master(nl, "vttap0", "vtbr0");
	ok(rc == 0, "vttap0 attached: %s", strerror(-rc));
	if (!vf) {
		rc = nl_port_vlan(nl, "vttap0", 102, &ne);
		ok(said(rc, rc), "# SKIP VLANs on vttap0: %s", ne.why);
		return;
	}
	rc = nl_port_vlan(nl, "vttap0", 102, &ne);
	ok(rc == 0, "vttap0 on VLAN 102: %s", rc ? ne.why : "ok");
	is_str(vlans("vttap0"), "102", "nl_port_vlans(vttap0)");
	rc = nl_port_vlan_tagged(nl, "vttap0", 103, &ne);
	ok(rc == 0, "vttap0 also tagged on 103: %s", rc ? ne.why : "ok");
	is_str(vlans("vttap0"), "102 103", "nl_port_vlans(vttap0)");
	is_str(sysnet("vttap0", "brport/state"), "3", "it forwards");
	rc = nl_port_vlan(nl, "vttap0", 4094, &ne);
	ok(rc == 0, "vttap0 moved to VLAN 4094: %s", rc ? ne.why : "ok");
	is_str(vlans("vttap0"), "4094", "and out of 102 and 103");
}

static void test_ports(void)
{
	char m[16];
	int rc = nl_link_set_master(nl, "vtve4", "vtbr1");
	ok(rc == 0, "vtve4 attached to vtbr1: %s", strerror(-rc));
	rc = nl_link_master(nl, "vtve4", m, sizeof m);
	is_str(rc ? strerror(-rc) : m, "vtbr1", "nl_link_master(vtve4)");
	rc = nl_link_master(nl, "vtve1", m, sizeof m);
	is_str(rc ? strerror(-rc) : m, "vtbr0", "nl_link_master(vtve1)");
	rc = nl_link_master(nl, "vtbr0", m, sizeof m);
	is_str(rc ? strerror(-rc) : m, "", "a bridge has no master");
	ok(nl_link_master(nl, "vtve4", m, 5) == -ERANGE, "a name that does not fit: -ERANGE");
	ok(nl_link_master(nl, "vtnone", m, sizeof m) == -ENODEV, "a missing link: -ENODEV");

	rc = nl_bridge_ports(nl, "vtbr0");
	ok(rc == 4, "vtbr0 has 4 ports, vtve1-3 and vttap0 (%d)", rc);
	rc = nl_bridge_ports(nl, "vtbr1");
	ok(rc == 1, "vtbr1 has 1 (%d)", rc);
	rc = nl_link_set_master(nl, "vttap0", "vtbr1");
	ok(rc == 0, "vttap0 moved to vtbr1: %s", strerror(-rc));
	rc = nl_link_master(nl, "vttap0", m, sizeof m);
	is_str(rc ? strerror(-rc) : m, "vtbr1", "nl_link_master(vttap0)");
	ok(nl_bridge_ports(nl, "vtbr0") == 3 && nl_bridge_ports(nl, "vtbr1") == 2,
	   "now vtbr0 has 3 ports and vtbr1 2");
	rc = nl_bridge_ports(nl, "lo");
	ok(rc == 0, "lo has none (%d)", rc);
	ok(nl_bridge_ports(nl, "vtnone") == -ENODEV, "nl_bridge_ports of a missing link: -ENODEV");
}

static void test_addr(void)
{
	static const char *bad[] = {"10.0.0.1", "10.0.0.1/33", "fd00::1/129", "10.0.0/24",
				    "10.0.0.1/24x", "/24", "10.0.0.1/", "10.0.0.1/-1",
				    "10.0.0.1/ 24", "10.0.0.1/+24", "", "fd00::1%eth0/64"};
	int rc = nl_addr_add(nl, "vtbr0", "10.0.101.254/24", &ne);
	ok(rc == 0, "10.0.101.254/24 added to vtbr0: %s", rc ? ne.why : "ok");
	ok(has_addr("vtbr0", "10.0.101.254/24"), "vtbr0 has it");
	if (vf) {
		ok(1, "# SKIP guest 1 reaching it: vtbr0 itself is in no VLAN");
	} else {
		rc = in_guest(guest[0], "ping", "-c1", "-W2", "10.0.101.254", NULL, NULL, NULL);
		ok(rc == 0, "guest 1 reaches it");
	}
	rc = nl_addr_add(nl, "vtbr0", "10.0.101.254/24", &ne);
	ok(said(rc, -EEXIST), "adding it again: -EEXIST (%s)", ne.why);
	rc = nl_addr_add(nl, "vtbr0", "fd00:101::fe/64", &ne);
	ok(rc == 0, "fd00:101::fe/64 added to vtbr0: %s", rc ? ne.why : "ok");
	ok(has_addr("vtbr0", "fd00:101::fe/64"), "vtbr0 has it");
	rc = nl_addr_del(nl, "vtbr0", "10.0.101.254/24", &ne);
	ok(rc == 0 && !has_addr("vtbr0", "10.0.101.254/24"), "10.0.101.254/24 removed: %s",
	   rc ? ne.why : "ok");
	ok(has_addr("vtbr0", "fd00:101::fe/64"), "the other stays");
	rc = nl_addr_del(nl, "vtbr0", "fd00:101::fe/64", &ne);
	ok(rc == 0 && !has_addr("vtbr0", "fd00:101::fe/64"), "fd00:101::fe/64 removed: %s",
	   rc ? ne.why : "ok");
	rc = nl_addr_del(nl, "vtbr0", "10.0.101.254/24", &ne);
	ok(said(rc, -EADDRNOTAVAIL), "removing it again: -EADDRNOTAVAIL (%s)", ne.why);
	rc = nl_addr_add(nl, "vtnone", "10.0.101.254/24", &ne);
	ok(said(rc, -ENODEV), "on a missing link: -ENODEV (%s)", ne.why);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		rc = nl_addr_add(nl, "vtbr0", bad[i], &ne);
		ok(said(rc, -EINVAL), "'%s': -EINVAL (%s)", bad[i], ne.why);
	}
	rc = nl_addr_del(nl, "vtbr0", NULL, &ne);
	ok(said(rc, -EINVAL), "removing NULL: -EINVAL (%s)", ne.why);
}

static void test_errors(void)
{
	int rc = nl_bridge_add(nl, "vt-sixteen-chars", &ne);
	ok(said(rc, -EINVAL), "a 16-byte name: -EINVAL (%s)", ne.why);
	rc = nl_veth_add(nl, "vtok", "a/b", guest[0], NULL, &ne);
	ok(said(rc, -EINVAL), "a name with '/': -EINVAL (%s)", ne.why);
	rc = nl_port_vlan(nl, "vtve1", 0, &ne);
	ok(said(rc, -EINVAL), "VLAN 0: -EINVAL (%s)", ne.why);
	rc = nl_port_vlan(nl, "vtve1", 4095, &ne);
	ok(said(rc, -EINVAL), "VLAN 4095: -EINVAL (%s)", ne.why);
	rc = nl_port_vlan_tagged(nl, "vtve1", 4095, &ne);
	ok(said(rc, -EINVAL), "tagged VLAN 4095: -EINVAL (%s)", ne.why);
	if (vf)
		is_str(vlans("vtve1"), "101", "vtve1 kept its VLAN");
	rc = nl_port_vlan(nl, "lo", 101, &ne);
	ok(said(rc, rc), "VLAN on lo, no bridge port: %s (%s)", strerror(-rc), ne.why);
	rc = nl_port_vlan(nl, "vtnone", 101, &ne);
	ok(said(rc, -ENODEV), "VLAN on a missing link: -ENODEV (%s)", ne.why);
	ok(nl_port_vlans(nl, "vtnone", NULL, 0) == -ENODEV, "nl_port_vlans of a missing link");
	rc = nl_veth_add(nl, "vtve9", "eth0", 0x3fffffff, NULL, &ne);
	ok(said(rc, rc), "veth into a missing process: %s (%s)", strerror(-rc), ne.why);
	ok(nl_link_set_master(nl, "vtve1", "vtnone") == -ENODEV, "attaching to a missing bridge");
}

/* An uplink's 802.1Q interface: made where the kernel has 8021q, refused in words where not. */
static void test_vlan_iface(void)
{
	int rc = nl_vlan_add(nl, "xv101", "vttap0", 101, &ne);
	if (rc == -EOPNOTSUPP) {
		ok(strstr(ne.why, "no 802.1Q VLAN interfaces (CONFIG_VLAN_8021Q, module 8021q)") != NULL,
		   "without 8021q: -EOPNOTSUPP, saying so (%s)", ne.why);
		ok(sysnet("xv101", "flags") == NULL, "and nothing made");
	} else {
		ok(rc == 0, "xv101 on vttap0, VLAN 101: %s", rc ? ne.why : "ok");
		ok(is_up("xv101"), "it is up");
		ok(nl_link_del(nl, "xv101") == 0, "and removed");
	}
	rc = nl_vlan_add(nl, "xv102", "nosuchlink0", 102, &ne);
	ok(rc == -ENODEV && strstr(ne.why, "uplink nosuchlink0"), "on a missing uplink: -ENODEV (%s)",
	   ne.why);
	rc = nl_vlan_add(nl, "xv4095", "vttap0", 4095, &ne);
	ok(said(rc, -EINVAL), "VLAN 4095: -EINVAL (%s)", ne.why);
}

static void test_cleanup(void)
{
	char names[256] = "";
	int rc = nl_links(nl, "vt", collect, names);
	ok(rc == 9, "nl_links(vt) finds 9 links (%d)", rc);
	is_str(names,
	       "vtbr0:bridge vtbr1:bridge vtve1:veth vtve2:veth vtve3:veth vtve4:veth vtp5:veth "
	       "vtve5:veth vttap0:tun",
	       "the ones made with their kinds, nothing else");
	names[0] = 0;
	ok(nl_links(nl, "lo", collect, names) == 1, "nl_links(lo) finds lo");
	is_str(names, "lo:", "lo has no kind");
	ok(nl_links(nl, "vtx", collect, names) == 0, "a prefix nothing has: 0");
	nl_links(nl, "vtve", del_one, "report");
	ok(guest_mac(guest[0], "eth0") == NULL, "the peer went with its host end");
	ok(sysnet("vtp5", "flags") == NULL, "so did vtp5");
	nl_links(nl, "vt", del_one, "report");
	ok(nl_links(nl, "vt", collect, names) == 0, "nothing left");
	rc = nl_link_del(nl, "vtve1");
	ok(rc == -ENODEV, "deleting a missing link: -ENODEV (%s)", strerror(-rc));
}

int main(void)
{
	int rc;
	if (geteuid() != 0) {
		printf("1..0 # SKIP network namespaces and devices need root\n");
		return 77;
	}
	setvbuf(stdout, NULL, _IONBF, 0); /* children fork: no buffered line printed twice */
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("sysfs", "/sys", "sysfs", 0, NULL)) {
		printf("1..0 # SKIP no private network namespace with its sysfs: %s\n",
		       strerror(errno));
		return 77;
	}
	atexit(cleanup);
	rc = nl_open(&nl);
	ok(rc == 0, "nl_open: %s", strerror(-rc));
	if (rc)
		return tap_done();
	test_probe();
	test_bridge();
	test_guests();
	test_veth_ns();
	test_tap();
	test_ports();
	test_addr();
	test_errors();
	test_vlan_iface();
	test_cleanup();
	return tap_done();
}
