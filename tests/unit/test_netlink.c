/* runtime/netlink.c on real devices. Needs root.
 *
 * The whole test runs in a network namespace of its own (and a mount namespace, for a
 * sysfs that shows that network namespace), so it never sees or touches the host's
 * devices; the three "guests" are child processes each in a further new network
 * namespace. Everything made is removed at exit whatever failed, and the namespaces go
 * with the processes anyway. Traffic is checked with busybox (ip, ping) run inside the
 * guests' namespaces: two guests on VLAN 101 reach each other, one on 102, in the same
 * IP subnet, does not, until it is moved to 101. */
#include <errno.h>
#include <fcntl.h>
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
static char err[256];
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

static void del_one(void *arg, const char *name)
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

static void collect(void *arg, const char *name)
{
	char *s = arg;
	/* names come in index order; the test makes them in sorted order */
	snprintf(s + strlen(s), 256 - strlen(s), "%s%s", *s ? " " : "", name);
}

static void test_bridge(void)
{
	int rc = nl_bridge_add(nl, "vtbr0", err, sizeof err);
	if (rc == -EOPNOTSUPP) {
		/* A plain bridge instead, so veths, taps and traffic still get tested. */
		ok(*err && sysnet("vtbr0", "flags") == NULL,
		   "# SKIP VLAN parts: nl_bridge_add says '%s' and leaves nothing", err);
		rc = in_guest(0, "ip", "link", "add", "vtbr0", "type", "bridge", NULL) ||
		     nl_link_up(nl, "vtbr0");
		ok(rc == 0, "a plain bridge vtbr0 made with busybox ip instead");
		return;
	}
	vf = 1;
	ok(rc == 0, "bridge vtbr0 made: %s", rc ? err : "ok");
	is_str(sysnet("vtbr0", "bridge/vlan_filtering"), "1", "it filters VLANs");
	is_str(sysnet("vtbr0", "bridge/default_pvid"), "0", "its default PVID is 0");
	ok(is_up("vtbr0"), "it is up");
	rc = nl_bridge_add(nl, "vtbr0", err, sizeof err);
	ok(rc == -EEXIST && *err, "making it again: -EEXIST (%s)", err);
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
		rc = nl_veth_add(nl, host, "eth0", guest[i], mac, err, sizeof err);
		ok(rc == 0, "veth %s, peer eth0 in guest %d: %s", host, i + 1, rc ? err : "ok");
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
		rc = nl_port_vlan(nl, host, vid[i], err, sizeof err);
		ok(rc == 0, "%s on VLAN %u: %s", host, vid[i], rc ? err : "ok");
		snprintf(want, sizeof want, "%u", vid[i]);
		is_str(vlans(host), want, "nl_port_vlans(%s)", host);
	}
	rc = nl_veth_add(nl, "vtve1", "eth1", guest[0], NULL, err, sizeof err);
	ok(rc == -EEXIST && *err, "a second vtve1: -EEXIST (%s)", err);

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
	rc = nl_port_vlan(nl, "vtve3", 101, err, sizeof err);
	ok(rc == 0, "vtve3 moved to VLAN 101: %s", rc ? err : "ok");
	is_str(vlans("vtve3"), "101", "and out of 102");
	rc = in_guest(guest[0], "ping", "-c1", "-W2", "10.0.101.3", NULL, NULL, NULL);
	ok(rc == 0, "now guest 1 reaches guest 3");
}

static void test_tap(void)
{
	int rc = nl_tap_add(nl, "vttap0", err, sizeof err);
	ok(rc == 0, "tap vttap0 made: %s", rc ? err : "ok");
	/* 0x0800 is IFF_PERSIST, reported there beside IFF_TAP and IFF_NO_PI */
	is_str(sysnet("vttap0", "tun_flags"), "0x1802", "a persistent tap without packet info");
	ok(is_up("vttap0"), "it is up");
	rc = nl_tap_add(nl, "vttap0", err, sizeof err);
	ok(rc == -EEXIST && *err, "making it again: -EEXIST (%s)", err);
	rc = nl_tap_add(nl, "vtbr0", err, sizeof err);
	ok(rc == -EEXIST, "a tap named like the bridge: -EEXIST (%s)", err);
	rc = nl_link_set_master(nl, "vttap0", "vtbr0");
	ok(rc == 0, "vttap0 attached: %s", strerror(-rc));
	if (!vf) {
		rc = nl_port_vlan(nl, "vttap0", 102, err, sizeof err);
		ok(rc < 0 && *err, "# SKIP VLANs on vttap0: %s", err);
		return;
	}
	rc = nl_port_vlan(nl, "vttap0", 102, err, sizeof err);
	ok(rc == 0, "vttap0 on VLAN 102: %s", rc ? err : "ok");
	is_str(vlans("vttap0"), "102", "nl_port_vlans(vttap0)");
	rc = nl_port_vlan_tagged(nl, "vttap0", 103, err, sizeof err);
	ok(rc == 0, "vttap0 also tagged on 103: %s", rc ? err : "ok");
	is_str(vlans("vttap0"), "102 103", "nl_port_vlans(vttap0)");
	is_str(sysnet("vttap0", "brport/state"), "3", "it forwards");
	rc = nl_port_vlan(nl, "vttap0", 4094, err, sizeof err);
	ok(rc == 0, "vttap0 moved to VLAN 4094: %s", rc ? err : "ok");
	is_str(vlans("vttap0"), "4094", "and out of 102 and 103");
}

static void test_errors(void)
{
	int rc = nl_bridge_add(nl, "vt-sixteen-chars", err, sizeof err);
	ok(rc == -EINVAL && *err, "a 16-byte name: -EINVAL (%s)", err);
	rc = nl_veth_add(nl, "vtok", "a/b", guest[0], NULL, err, sizeof err);
	ok(rc == -EINVAL && *err, "a name with '/': -EINVAL (%s)", err);
	rc = nl_port_vlan(nl, "vtve1", 0, err, sizeof err);
	ok(rc == -EINVAL && *err, "VLAN 0: -EINVAL (%s)", err);
	rc = nl_port_vlan(nl, "vtve1", 4095, err, sizeof err);
	ok(rc == -EINVAL && *err, "VLAN 4095: -EINVAL (%s)", err);
	rc = nl_port_vlan_tagged(nl, "vtve1", 4095, err, sizeof err);
	ok(rc == -EINVAL && *err, "tagged VLAN 4095: -EINVAL (%s)", err);
	if (vf)
		is_str(vlans("vtve1"), "101", "vtve1 kept its VLAN");
	rc = nl_port_vlan(nl, "lo", 101, err, sizeof err);
	ok(rc < 0 && *err, "VLAN on lo, no bridge port: %s (%s)", strerror(-rc), err);
	rc = nl_port_vlan(nl, "vtnone", 101, err, sizeof err);
	ok(rc == -ENODEV && *err, "VLAN on a missing link: -ENODEV (%s)", err);
	ok(nl_port_vlans(nl, "vtnone", NULL, 0) == -ENODEV, "nl_port_vlans of a missing link");
	rc = nl_veth_add(nl, "vtve9", "eth0", 0x3fffffff, NULL, err, sizeof err);
	ok(rc < 0 && *err, "veth into a missing process: %s (%s)", strerror(-rc), err);
	ok(nl_link_set_master(nl, "vtve1", "vtnone") == -ENODEV, "attaching to a missing bridge");
}

static void test_cleanup(void)
{
	char names[256] = "";
	int rc = nl_links(nl, "vt", collect, names);
	ok(rc == 5, "nl_links(vt) finds 5 links (%d)", rc);
	is_str(names, "vtbr0 vtve1 vtve2 vtve3 vttap0", "the ones made, nothing else");
	ok(nl_links(nl, "vtx", collect, names) == 0, "a prefix nothing has: 0");
	nl_links(nl, "vtve", del_one, "report");
	ok(guest_mac(guest[0], "eth0") == NULL, "the peer went with its host end");
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
	test_bridge();
	test_guests();
	test_tap();
	test_errors();
	test_cleanup();
	return tap_done();
}
