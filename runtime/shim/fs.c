/* The container's file system. The root is mounted by the shim in the host's mount
 * namespace (so vmfs can see into RUNDIR/root, and the shim unmounts it at the end); the
 * rest is mounted by the child in the container's own mount namespace, before pivot_root.
 * Every path inside the root is resolved with RESOLVE_IN_ROOT and mounted on through
 * /proc/self/fd/N, so a symlink in an image (/proc -> /host/...) cannot aim a mount at the
 * host. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/beneath.h"
#include "runtime/shim/shim_int.h"

/* The root filesystem by descriptor: in the image store, opened beneath it with no
 * symlink followed (a user who owns a folder there could swap a directory for a symlink to
 * /, and the shim is host root); else the absolute path host root configured. The mounts
 * below name it as /proc/self/fd/N, the directory itself and not a path looked up again. */
static int root_open(const struct spec *s, char *err)
{
	if (!s->image) {
		int fd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		return fd < 0 ? shim_fail(err, "(is config/filesystem right?)", "rootfs %s",
					  s->rootfs) : fd;
	}
	int store = open(s->imagedir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (store < 0)
		return shim_fail(err, NULL, "the image store %s", s->imagedir);
	int fd = beneath_open(store, s->image, O_PATH | O_DIRECTORY, 0);
	int e = errno;
	close(store);
	errno = e;
	if (fd < 0)
		return shim_fail(err, errno == ELOOP || errno == EXDEV
					  ? "(a symlink on the way: images/ paths are never followed "
					    "through symlinks)"
					  : "(is config/filesystem right?)",
				 "rootfs images/%s", s->image);
	return fd;
}

static int mount_root(struct shim *sh, const char *rootfs, int rootfd, char *err);

int fs_mount_root(struct shim *sh, char *err)
{
	int fd = root_open(&sh->spec, err);
	if (fd < 0)
		return -1;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int r = mount_root(sh, path, fd, err);
	close(fd);
	return r;
}

static int mount_root(struct shim *sh, const char *rootfs, int rootfd, char *err)
{
	const struct spec *s = &sh->spec;
	if (mkdir("root", 0755) < 0 && errno != EEXIST)
		return shim_fail(err, NULL, "mkdir %s", sh->root);
	umount2("root", MNT_DETACH); /* left mounted by a shim that was killed */
	if (s->userns) {
		/* the container's own, where vmfs made it; else one made for the mapping alone */
		int ns = s->usernsfile ? open(s->usernsfile, O_RDONLY | O_CLOEXEC)
				       : userns_make(&s->ur, NULL, err, ERRLEN);
		if (ns < 0)
			return s->usernsfile ? shim_fail(err, NULL, "open %s", s->usernsfile) : -1;
		int r = fs_mount_root_idmapped(sh, rootfd, ns, err);
		close(ns);
		return r;
	}
	if (!s->snapshot) {
		if (mount(rootfs, "root", NULL, MS_BIND | MS_REC, NULL) < 0)
			return shim_fail(err, NULL, "bind %s on %s", s->rootfs, sh->root);
		return sh->root_mounted = true, 0;
	}
	if (strpbrk(sh->rundir, ",:"))
		return shim_msg(err, "overlay: the path %s must not hold ',' or ':'", sh->rundir);
	if ((mkdir("upper", 0755) < 0 && errno != EEXIST) ||
	    (mkdir("work", 0700) < 0 && errno != EEXIST))
		return shim_fail(err, NULL, "mkdir %s/upper, work", sh->rundir);
	char opts[3 * BUILT_PATH_MAX];
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s/upper,workdir=%s/work", rootfs,
		 sh->rundir, sh->rundir);
	if (mount("overlay", "root", "overlay", 0, opts) < 0)
		return shim_fail(
		    err, errno == EINVAL ? "(upperdir on a filesystem without d_type?)" : NULL,
		    "mount overlay on %s", sh->root);
	return sh->root_mounted = true, 0;
}

/* The detached tree fd onto RUNDIR/root (closed). */
static int attach_root(struct shim *sh, int fd, char *err)
{
	int r = (int)syscall(SYS_move_mount, fd, "", AT_FDCWD, "root", MOVE_MOUNT_F_EMPTY_PATH);
	int e = errno;
	close(fd);
	errno = e;
	if (r < 0)
		return shim_fail(err, NULL, "mount the container's root on %s", sh->root);
	return sh->root_mounted = true, 0;
}

/* The idmapped image as the overlay's lower layer: by descriptor (lowerdir+, 6.13), or on
 * older kernels (idmapped layers came in 5.19) by a path: the tree is put on RUNDIR/lower,
 * inside the 0700 run directory, only until the overlay is made.
 * VMFS_SHIM_OVERLAY_LOWER=path takes the older way here too, for its test. */
static int lower_layer(struct shim *sh, int fs, int lower, char *err)
{
	const char *how = getenv("VMFS_SHIM_OVERLAY_LOWER");
	if (!(how && !strcmp(how, "path"))) {
		if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_FD, "lowerdir+", NULL, lower) == 0)
			return 0;
		if (errno != EINVAL)
			return shim_fail(err, NULL, "overlay: the idmapped image as its lower layer");
	}
	char path[BUILT_PATH_MAX + 100];
	snprintf(path, sizeof(path), "%s/lower", sh->rundir);
	if (strpbrk(path, ",:")) /* overlayfs splits lowerdir there */
		return shim_msg(err, "overlay: the path %s must not hold ',' or ':'", path);
	umount2("lower", MNT_DETACH); /* left by a shim that was killed */
	if (mkdir("lower", 0700) < 0 && errno != EEXIST)
		return shim_fail(err, NULL, "mkdir %s", path);
	if (syscall(SYS_move_mount, lower, "", AT_FDCWD, "lower", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return shim_fail(err, NULL, "put the idmapped image on %s", path);
	if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir", path, 0) < 0)
		return shim_fail(err, "(a kernel before 5.19 has no idmapped overlay layers)",
				 "overlay: the idmapped image on %s as its lower layer", path);
	return 0;
}

/* An overlay over the idmapped image: the image's root-owned files appear owned by the
 * mapped range, and what the container creates in upper/ is owned by it on the host. The
 * overlay itself cannot be idmapped (overlayfs refuses MOUNT_ATTR_IDMAP), its lower layer
 * can, given by descriptor (lowerdir+). upper/ belongs to the container's root, or its
 * / would show as nobody's. */
static int overlay_idmapped(struct shim *sh, int lower, char *err)
{
	const struct userns_range *u = &sh->spec.ur;
	char upper[BUILT_PATH_MAX + 100], work[BUILT_PATH_MAX + 100];
	snprintf(upper, sizeof(upper), "%s/upper", sh->rundir);
	snprintf(work, sizeof(work), "%s/work", sh->rundir);
	if (lchown("upper", u->uid, u->gid) < 0)
		return shim_fail(err, NULL, "chown %s to the container's root", upper);
	int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return shim_fail(err, NULL, "fsopen overlay");
	int r = lower_layer(sh, fs, lower, err);
	if (!r && (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
		   syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
		   syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0))
		r = shim_fail(err, NULL, "overlay over the idmapped image %s", sh->spec.rootfs);
	int m = r ? -1 : (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
	if (!r && m < 0)
		r = shim_fail(err, NULL, "fsmount the overlay");
	close(fs);
	umount2("lower", MNT_DETACH); /* the overlay holds its own copy of the layer */
	rmdir("lower");
	return r ? r : attach_root(sh, m, err);
}

int fs_mount_root_idmapped(struct shim *sh, int rootfd, int usernsfd, char *err)
{
	const struct spec *s = &sh->spec;
	char why[ERRLEN];
	int t = userns_idmapped_tree(rootfd, "", usernsfd, why, sizeof(why));
	if (t < 0)
		return shim_msg(err, "%s; config/privileged=true runs it without a user namespace",
				why);
	if (!s->snapshot) /* the image itself: the container's root writes as root on disk */
		return attach_root(sh, t, err);
	int r = -1;
	if ((mkdir("upper", 0755) < 0 && errno != EEXIST) ||
	    (mkdir("work", 0700) < 0 && errno != EEXIST))
		shim_fail(err, NULL, "mkdir %s/upper, work", sh->rundir);
	else
		r = overlay_idmapped(sh, t, err);
	close(t);
	return r;
}

int fs_make_fifos(struct shim *sh, char *err)
{
	char p[32];
	struct stat st;
	if (!sh->spec.fifos)
		return 0;
	if (mkdir("fifo", 0755) < 0 && errno != EEXIST)
		return shim_fail(err, NULL, "mkdir %s/fifo", sh->rundir);
	for (unsigned i = 0; i < sh->spec.fifos; i++) {
		snprintf(p, sizeof(p), "fifo/%u", i);
		if (mkfifo(p, 0666) < 0 && errno != EEXIST)
			return shim_fail(err, NULL, "mkfifo %s/%s", sh->rundir, p);
		if (stat(p, &st) < 0 || !S_ISFIFO(st.st_mode))
			return shim_msg(err, "%s/%s exists and is not a named pipe", sh->rundir, p);
		chmod(p, 0666); /* the umask must not keep a container user out */
	}
	return 0;
}

int fs_open_in(int rootfd, const char *path)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	return syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/* path inside the root as an O_PATH fd, created when missing (with its parents): a
 * directory, or an empty file when dir is false (a mount point for a file). */
int fs_in_root(int rootfd, const char *path, bool dir, char *err)
{
	int fd = fs_open_in(rootfd, path);
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : shim_fail(err, NULL, "%s in the container", path);
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", path);
	char *slash = strrchr(parent, '/');
	const char *base = slash ? slash + 1 : parent;
	if (slash)
		*slash = 0;
	int pfd = fs_in_root(rootfd, slash && slash != parent ? parent : "/", true, err);
	if (pfd < 0)
		return -1;
	int r = dir ? mkdirat(pfd, base, 0755)
		    : openat(pfd, base, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (r < 0 && errno != EEXIST) {
		close(pfd);
		return shim_fail(err, NULL, "create %s in the container", path);
	}
	if (!dir && r >= 0)
		close(r);
	close(pfd);
	fd = fs_open_in(rootfd, path);
	return fd >= 0 ? fd : shim_fail(err, NULL, "%s in the container", path);
}

/* mount(2) on what fd names (the magic link resolves to exactly that directory). */
int fs_mount_fd(const char *src, int fd, const char *type, unsigned long flags, const char *data)
{
	char p[32];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return mount(src, p, type, flags, data);
}

/* Mounts on path inside the root and returns an fd of what is now there (the new mount's
 * root, not the directory beneath it); -1 with the reason in err. */
int fs_mount_in(int rootfd, const char *path, bool dir, const char *src, const char *type,
		unsigned long flags, const char *data, char *err)
{
	int fd = fs_in_root(rootfd, path, dir, err);
	if (fd < 0)
		return -1;
	int r = fs_mount_fd(src, fd, type, flags, data);
	close(fd);
	if (r < 0)
		return shim_fail(err, NULL, "mount %s on %s in the container", type ? type : src,
				 path);
	fd = fs_open_in(rootfd, path);
	return fd >= 0 ? fd : shim_fail(err, NULL, "%s in the container", path);
}

/* A bind mount made read-only. The remount must repeat nosuid/nodev/noexec the source
 * has, or it would clear them. */
int fs_remount_ro(int fd, const char *what, char *err)
{
	struct statvfs sv;
	unsigned long keep = 0;
	if (fstatvfs(fd, &sv) == 0)
		keep = sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME |
				    ST_RELATIME);
	unsigned long flags =
	    (keep & ST_NOSUID ? MS_NOSUID : 0) | (keep & ST_NODEV ? MS_NODEV : 0) |
	    (keep & ST_NOEXEC ? MS_NOEXEC : 0) | (keep & ST_NOATIME ? MS_NOATIME : 0) |
	    (keep & ST_NODIRATIME ? MS_NODIRATIME : 0) | (keep & ST_RELATIME ? MS_RELATIME : 0);
	if (fs_mount_fd(NULL, fd, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | flags, NULL) < 0)
		return shim_fail(err, NULL, "remount %s read-only", what);
	return 0;
}

static int mount_volume(int rootfd, const struct volume *v, char *err)
{
	struct stat st;
	if (stat(v->host, &st) < 0)
		return shim_fail(err, "(is config/volume right?)", "volume %s", v->host);
	int fd = fs_mount_in(rootfd, v->guest, S_ISDIR(st.st_mode), v->host, NULL, MS_BIND | MS_REC,
			     NULL, err);
	if (fd < 0)
		return -1;
	int r = v->ro ? fs_remount_ro(fd, v->guest, err) : 0;
	close(fd);
	return r;
}

int fs_setup(struct shim *sh, char *err)
{
	int rootfd = sh->rootfd >= 0 ? sh->rootfd : open("root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return shim_fail(err, NULL, "%s", sh->root);
	int r = kfs_proc(rootfd, err);
	if (!r)
		r = kfs_sys(rootfd, err);
	if (!r)
		r = kfs_dev(sh, rootfd, err);
	for (int i = 0; !r && i < sh->spec.nvol; i++)
		r = mount_volume(rootfd, &sh->spec.vol[i], err);
	if (rootfd != sh->rootfd)
		close(rootfd);
	return r;
}
