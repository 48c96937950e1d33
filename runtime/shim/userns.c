/* The shim's side of a user namespace (docs/security.md): a network namespace that vmfs made
 * (a container with NICs) is owned by the host's user namespace, so what needs privilege over
 * it is done by the shim, in it, before the clone: lo brought up, ICMP echo sockets allowed
 * (ping without a raw socket, which needs CAP_NET_RAW over the namespace), and a sysfs of it
 * made (a user namespace that does not own a network namespace cannot mount sysfs for it),
 * which the child moves onto its /sys. The child then becomes the namespace's root. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/mount.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/shim/shim_int.h"

static int make_sysfs(struct shim *sh, char *err)
{
	/* the sysfs context takes the network namespace of the process that opens it */
	int fs = (int)syscall(SYS_fsopen, "sysfs", FSOPEN_CLOEXEC);
	if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int e = errno;
		if (fs >= 0)
			close(fs);
		errno = e;
		return shim_fail(err, NULL, "make a sysfs for the container");
	}
	sh->sysfd = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
				 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				     MOUNT_ATTR_NOEXEC);
	close(fs);
	return sh->sysfd < 0 ? shim_fail(err, NULL, "fsmount the container's sysfs") : 0;
}

/* net.ipv4.ping_group_range of the namespace the shim is in: every group (Docker's default) */
static int ping_groups(char *err)
{
	const char *p = "/proc/sys/net/ipv4/ping_group_range", *v = "0 2147483647\n";
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0; /* a kernel without IPv4 */
	ssize_t n = fd < 0 ? -1 : write(fd, v, strlen(v));
	if (fd >= 0)
		close(fd);
	return n < 0 ? shim_fail(err, NULL, "write %s", p) : 0;
}

int shim_net_leave(int hostnet, char *err)
{
	int r = setns(hostnet, CLONE_NEWNET);
	int e = errno;
	close(hostnet);
	errno = e;
	return r < 0 && err ? shim_fail(err, NULL, "return to the host's network namespace") : r;
}

int shim_net_enter(struct shim *sh, int *hostnet, char *err)
{
	*hostnet = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*hostnet < 0)
		return shim_fail(err, NULL, "/proc/self/ns/net");
	int fd = open(sh->spec.netns, O_RDONLY | O_CLOEXEC);
	int r = fd < 0 ? -1 : setns(fd, CLONE_NEWNET);
	if (fd >= 0)
		close(fd);
	if (r < 0)
		shim_fail(err, NULL, "join the network namespace %s", sh->spec.netns);
	if (!r && (setup_lo_up(err) || ping_groups(err) || make_sysfs(sh, err)))
		r = -1;
	if (r < 0) {
		shim_net_leave(*hostnet, NULL);
		*hostnet = -1;
	}
	return r;
}

/* The child was cloned as host root (kuid 0, unmapped in its namespace: it shows as
 * nobody); once it has opened what it needs from RUNDIR it takes uid and gid 0 of its
 * namespace, the mapped range's first ids, and no other group. Its capabilities in the
 * namespace stay. */
int setup_become_root(char *err)
{
	if (setresgid(0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresuid(0, 0, 0) < 0)
		return shim_fail(err, NULL, "become root of the user namespace");
	return 0;
}
