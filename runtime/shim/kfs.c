/* The kernel's file systems as the container sees them: its own /proc and a read-only /sys
 * with the paths that leak or control the host masked or read-only (runc's default lists),
 * its own cgroup tree read-only, and a /dev that holds only what a container may use (the
 * cgroup's devices list or device program, runtime/cgdev.c, enforces the same). */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/shim/shim_int.h"

/* Masked: /dev/null over files, an empty read-only tmpfs over directories. Only those that
 * exist on this kernel: insisting on one that is absent (kcore, timer_stats on most
 * kernels) would fail every container for nothing. */
static const char *const proc_masked[] = {"acpi",	   "asound",	 "kcore",	"keys",
					  "latency_stats", "timer_list", "timer_stats", "sched_debug",
					  "scsi"};
static const char *const proc_ro[] = {"bus", "fs", "irq", "sys", "sysrq-trigger"};
/* Firmware tables (ACPI, EFI variables, DMI) and the power-capping knobs, relative to /sys */
static const char *const sys_masked[] = {"firmware", "devices/virtual/powercap"};

/* dirfd: the container's /proc or /sys, named top in reasons. */
static int kfs_mask(int dirfd, const char *top, const char *name, char *err)
{
	struct stat st;
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : shim_fail(err, NULL, "%s/%s", top, name);
	int r = fstat(fd, &st);
	if (r == 0 && S_ISDIR(st.st_mode))
		r = fs_mount_fd("tmpfs", fd, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
				"mode=555");
	else if (r == 0)
		r = fs_mount_fd("/dev/null", fd, NULL, MS_BIND, NULL);
	close(fd);
	return r < 0 ? shim_fail(err, NULL, "mask %s/%s", top, name) : 0;
}

/* Read-only: bound on itself, then that bind mount remounted read-only. */
static int proc_readonly(int procfd, const char *name, char *err)
{
	char self[32], what[32];
	int fd = openat(procfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : shim_fail(err, NULL, "/proc/%s", name);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	int r = fs_mount_fd(self, fd, NULL, MS_BIND | MS_REC, NULL);
	close(fd);
	if (r < 0)
		return shim_fail(err, NULL, "bind /proc/%s", name);
	snprintf(what, sizeof(what), "/proc/%s", name);
	fd = openat(procfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC); /* now the bind mount */
	r = fd < 0 ? shim_fail(err, NULL, "%s", what) : fs_remount_ro(fd, what, err);
	if (fd >= 0)
		close(fd);
	return r;
}

int kfs_proc(int rootfd, char *err)
{
	int procfd = fs_mount_in(rootfd, "/proc", true, "proc", "proc",
				 MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err);
	if (procfd < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; !r && i < sizeof(proc_masked) / sizeof(*proc_masked); i++)
		r = kfs_mask(procfd, "/proc", proc_masked[i], err);
	for (size_t i = 0; !r && i < sizeof(proc_ro) / sizeof(*proc_ro); i++)
		r = proc_readonly(procfd, proc_ro[i], err);
	close(procfd);
	return r;
}

/* On cgroup2 the container's own tree, as runc mounts it: read-only, and (the cgroup
 * namespace being rooted at its group) nothing above it. The v1 hierarchies are not
 * mounted: /sys/fs/cgroup stays the empty directory of a read-only sysfs. */
static int kfs_cgroup(int sysfd, char *err)
{
	if (cg_probe() != CG_V2)
		return 0;
	int fd = openat(sysfd, "fs/cgroup", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0; /* a kernel without cgroups in sysfs: nothing to show, nothing to guard */
	int r = fd < 0 ? -1
		       : fs_mount_fd("cgroup2", fd, "cgroup2",
				     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	if (fd >= 0)
		close(fd);
	return r < 0 ? shim_fail(err, NULL, "mount cgroup2 read-only on /sys/fs/cgroup") : 0;
}

int kfs_sys(int rootfd, char *err)
{
	int fd = fs_mount_in(rootfd, "/sys", true, "sysfs", "sysfs",
			     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err);
	if (fd < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; !r && i < sizeof(sys_masked) / sizeof(*sys_masked); i++)
		r = kfs_mask(fd, "/sys", sys_masked[i], err);
	if (!r)
		r = kfs_cgroup(fd, err);
	close(fd);
	return r;
}

/* src (a host path: the console pty, a named pipe, a device) bound on an empty file
 * dirfd/name, which the container sees as what. */
static int bind_file(int dirfd, const char *name, const char *src, const char *what, char *err)
{
	int fd = openat(dirfd, name, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd >= 0) {
		close(fd);
		fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	}
	int r = fd < 0 ? -1 : fs_mount_fd(src, fd, NULL, MS_BIND, NULL);
	if (fd >= 0)
		close(fd);
	return r < 0 ? shim_fail(err, NULL, "bind %s on %s in the container", src, what) : 0;
}

static const struct devnode {
	const char *name;
	unsigned maj, min;
} devnodes[] = {{"null", 1, 3},	  {"zero", 1, 5},    {"full", 1, 7},
		{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

/* mknod where allowed; where not (a vmfs that itself runs in a container without
 * CAP_MKNOD), the host's node bound on an empty file. */
static int dev_node(int devfd, const struct devnode *d, char *err)
{
	char host[32];
	if (mknodat(devfd, d->name, S_IFCHR | 0666, makedev(d->maj, d->min)) == 0)
		return 0;
	if (errno != EPERM)
		return shim_fail(err, NULL, "mknod /dev/%s in the container", d->name);
	snprintf(host, sizeof(host), "/dev/%s", d->name);
	return bind_file(devfd, d->name, host, host, err);
}

static const char *const devlinks[][2] = {{"ptmx", "pts/ptmx"},
					  {"fd", "/proc/self/fd"},
					  {"stdin", "/proc/self/fd/0"},
					  {"stdout", "/proc/self/fd/1"},
					  {"stderr", "/proc/self/fd/2"}};

/* A tmpfs below devfd (pts, shm). */
static int dev_mount(int devfd, const char *name, mode_t mode, const char *type,
		     unsigned long flags, const char *data, char *err)
{
	if (mkdirat(devfd, name, mode) < 0)
		return shim_fail(err, NULL, "mkdir /dev/%s in the container", name);
	int fd = openat(devfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int r = fd < 0 ? -1 : fs_mount_fd(type, fd, type, flags, data);
	if (fd >= 0)
		close(fd);
	return r < 0 ? shim_fail(err, NULL, "mount %s on /dev/%s in the container", type, name) : 0;
}

/* /dev/fifo/N: the run directory's named pipes. */
static int dev_fifos(struct shim *sh, int devfd, char *err)
{
	char src[BUILT_PATH_MAX + 100], name[16], what[32];
	if (!sh->spec.fifos)
		return 0;
	if (mkdirat(devfd, "fifo", 0755) < 0)
		return shim_fail(err, NULL, "mkdir /dev/fifo in the container");
	int fd = openat(devfd, "fifo", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return shim_fail(err, NULL, "/dev/fifo in the container");
	int r = 0;
	for (unsigned i = 0; !r && i < sh->spec.fifos; i++) {
		snprintf(name, sizeof(name), "%u", i);
		if (sh->fifofd >= 0) /* userns: RUNDIR is out of the child's reach by path */
			snprintf(src, sizeof(src), "/proc/self/fd/%d/%u", sh->fifofd, i);
		else
			snprintf(src, sizeof(src), "%s/fifo/%u", sh->rundir, i);
		snprintf(what, sizeof(what), "/dev/fifo/%u", i);
		r = bind_file(fd, name, src, what, err);
	}
	close(fd);
	return r;
}

static int dev_fill(struct shim *sh, int devfd, char *err)
{
	for (size_t i = 0; i < sizeof(devnodes) / sizeof(*devnodes); i++)
		if (dev_node(devfd, &devnodes[i], err))
			return -1;
	for (size_t i = 0; i < sizeof(devlinks) / sizeof(*devlinks); i++)
		if (symlinkat(devlinks[i][1], devfd, devlinks[i][0]) < 0)
			return shim_fail(err, NULL, "symlink /dev/%s in the container",
					 devlinks[i][0]);
	/* its own devpts instance: the container sees its ptys only, not the host's */
	if (dev_mount(devfd, "pts", 0755, "devpts", MS_NOSUID | MS_NOEXEC,
		      "newinstance,ptmxmode=0666,mode=0620", err) ||
	    dev_mount(devfd, "shm", 01777, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		      "mode=1777,size=65536k", err))
		return -1;
	if (bind_file(devfd, "console", sh->slave_path, "/dev/console", err))
		return -1;
	return dev_fifos(sh, devfd, err);
}

int kfs_dev(struct shim *sh, int rootfd, char *err)
{
	int devfd = fs_mount_in(rootfd, "/dev", true, "tmpfs", "tmpfs", MS_NOSUID | MS_NOEXEC,
				"mode=755,size=65536k", err);
	if (devfd < 0)
		return -1;
	int r = dev_fill(sh, devfd, err);
	close(devfd);
	return r;
}
