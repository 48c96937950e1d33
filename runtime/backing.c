/* The backing-chain check. Each qcow2 layer is read with `qemu-img info` of that one file
 * (given open, as /proc/self/fd/3, to a qemu-img run as QEMU's user), which opens no
 * backing file: the next layer is looked at only once its path has been resolved (through
 * an O_PATH descriptor, so that every symbolic link on the way is followed) and found
 * inside a root. qemu-img info --backing-chain would open the whole chain first. A raw
 * layer has no header that could name another file: no qemu-img reads it. */
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/backing.h"
#include "runtime/disk.h"
#include "runtime/imgrights.h"
#include "runtime/vm.h"

#define INFO_TIMEOUT 5000 /* ms, per layer */

struct roots {
	char dir[2][PATH_MAX];
	int n, vm;      /* dir[vm] is the VM's own directory (-1: none) */
	int storefd;    /* dir[0]'s, when it is the image store (-1: no store) */
	struct who who; /* the namespace's owner: images are theirs to name (runtime/imgrights.h) */
};

/* path opened without reading it (O_PATH: a FIFO does not block, a device is not
 * started), its real path in real (every link followed), and checked to lie inside a root:
 * the O_PATH descriptor, or -errno. */
static int confined(const struct roots *rt, const char *path, char *real, size_t reallen,
		    struct err *e)
{
	char link[64];
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "%s", path);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, real, reallen - 1);
	if (n < 0) {
		int r = err_sys(e, errno, "%s", path);
		close(fd);
		return r;
	}
	real[n] = 0;
	for (int i = 0; i < rt->n; i++) {
		size_t l = strlen(rt->dir[i]);
		if (strncmp(real, rt->dir[i], l) || real[l] != '/')
			continue;
		/* run/ holds what QEMU (the user vmfs) writes: nothing there is a checked file */
		if (i == rt->vm && !strncmp(real + l + 1, "run/", 4))
			break;
		return fd;
	}
	close(fd);
	if (strcmp(path, real))
		return err_set(e, EACCES, "%s is %s, outside images/ and the VM's state directory: "
			       "refused (its run/ is QEMU's own)", path, real);
	return err_set(e, EACCES, "%s is outside images/ and the VM's state directory: refused "
		       "(its run/ is QEMU's own)", path);
}

/* The file behind an O_PATH descriptor opened for reading (or writing): the same inode,
 * whatever its name points at by now. Only regular files and block devices. */
static int reopen(int pathfd, int flags, const char *path, struct err *e)
{
	char link[64];
	struct stat st;
	if (fstat(pathfd, &st) < 0)
		return err_sys(e, errno, "%s", path);
	if (!(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		return err_set(e, EINVAL, "%s is %s, not a file: refused", path,
			       file_kind(st.st_mode));
	snprintf(link, sizeof(link), "/proc/self/fd/%d", pathfd);
	int fd = open(link, flags | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? err_sys(e, errno, "%s", path) : fd;
}

/* QEMU reopens what it was given through /proc/self/fd/N, where the file's mode decides:
 * a file its user may write, given to read (a base many VMs share), it could write. */
static int writable_by_qemu(int fd, const char *path, struct err *e)
{
	struct stat st;
	uid_t uid;
	gid_t gid;
	/* without QEMU's user the start fails later, saying why (runtime/vmuser.c) */
	if (vm_user(&uid, &gid, e->why, sizeof(e->why)) || !uid || fstat(fd, &st) < 0)
		return 0;
	/* its owner may chmod it; else its mode, for QEMU's groups too (kvm) */
	if (st.st_uid != uid && !vm_user_may(&st, S_IWOTH))
		return 0;
	return err_set(e, EPERM, "%s (mode %04o, owner %d:%d) is writable by QEMU's user: a VM "
		       "that only reads it could write it; refused (chmod go-w, and root as its "
		       "owner)", path, (unsigned)(st.st_mode & 07777), (int)st.st_uid,
		       (int)st.st_gid);
}

/* In a namespace a user owns, an image of the store only if that user could open it. */
static int owner_may(const struct roots *rt, int pfd, const char *real, bool rw, struct err *e)
{
	size_t l = strlen(rt->dir[0]);
	struct stat st;
	if (rt->storefd < 0 || !rt->who.uid || strncmp(real, rt->dir[0], l) || real[l] != '/')
		return 0;
	if (fstat(pfd, &st) < 0)
		return err_sys(e, errno, "%s", real);
	/* imgrights.c is still on (why, whylen) */
	int r = err_took(e, imgrights_walk(rt->storefd, real + l, &rt->who, R_OK | (rw ? W_OK : 0),
					   &st, e->why, sizeof(e->why)));
	return r ? err_wrap(e, "%s: the namespace's owner may not use it", real + l + 1) : 0;
}

/* confined, then open: the descriptor for reading (and *rw for writing if rw), or -errno */
static int open_checked(const struct roots *rt, const char *path, char *real, size_t reallen,
			int *rw, struct err *e)
{
	int pfd = confined(rt, path, real, reallen, e);
	if (pfd < 0)
		return pfd;
	int r = rw ? 0 : writable_by_qemu(pfd, path, e);
	if (!r)
		r = owner_may(rt, pfd, real, rw != NULL, e);
	if (r) {
		close(pfd);
		return r;
	}
	int fd = reopen(pfd, O_RDONLY, path, e);
	if (fd >= 0 && rw && (*rw = reopen(pfd, O_RDWR, path, e)) < 0) {
		close(fd);
		fd = *rw;
	}
	close(pfd);
	return fd;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

/* A file name QEMU would take for a file (json:{...}, nbd://, http: ... are not). */
static bool plain_name(const char *name)
{
	const char *colon = strchr(name, ':'), *slash = strchr(name, '/');
	return !colon || (slash && slash < colon);
}

/* name as QEMU resolves it: a relative one from the directory of the layer naming it */
static void beside(const char *layer, const char *name, char *out, size_t outlen)
{
	const char *slash = strrchr(layer, '/');
	if (name[0] == '/' || !slash)
		snprintf(out, outlen, "%s", name);
	else
		snprintf(out, outlen, "%.*s/%s", (int)(slash - layer), layer, name);
}

int backing_parse(const char *json, const char *path, struct backing_layer *l, struct err *e)
{
	json_object *j = json_tokener_parse(json), *fs, *fsd;
	*l->backing = *l->backing_format = *l->data_file = *l->format = 0;
	l->size = 0;
	if (!j || !json_object_is_type(j, json_type_object)) {
		json_object_put(j);
		return err_set(e, EIO, "cannot read %s: qemu-img info gave no JSON object", path);
	}
	int r = 0;
	/* the name as recorded, resolved here: qemu-img read the file as /proc/self/fd/3, so
	 * its own full-backing-filename would lie under /proc */
	const char *df = NULL, *bf = jstr(j, "backing-filename"), *f = jstr(j, "format");
	const char *bfmt = jstr(j, "backing-filename-format");
	json_object *vs;
	l->size = json_object_object_get_ex(j, "virtual-size", &vs) ? json_object_get_int64(vs) : 0;
	if (!bf)
		bf = jstr(j, "full-backing-filename");
	if (json_object_object_get_ex(j, "format-specific", &fs) &&
	    json_object_object_get_ex(fs, "data", &fsd))
		df = jstr(fsd, "data-file");
	if (!f || (strcmp(f, "qcow2") && strcmp(f, "raw"))) {
		/* vmdk extents, quorum children ...: more files this check knows nothing of */
		r = err_set(e, EPERM, "%s is of format %s: only qcow2 and raw are taken", path,
			    f ? f : "unknown");
	} else if (df && !plain_name(df)) {
		r = err_set(e, EPERM, "%s has the data file %s, which is not a file: refused", path,
			    df);
	} else if (df && *df != '/') {
		/* QEMU opens it from its own working directory, not beside the image */
		r = err_set(e, EPERM, "%s has the relative data file %s: refused (give it a full "
			    "path)", path, df);
	} else if (bf && !plain_name(bf)) {
		r = err_set(e, EPERM, "%s is backed by %s, which is not a file: refused", path, bf);
	} else {
		if (df)
			snprintf(l->data_file, sizeof(l->data_file), "%s", df);
		if (bf)
			beside(path, bf, l->backing, sizeof(l->backing));
		snprintf(l->backing_format, sizeof(l->backing_format), "%s", bfmt ? bfmt : "");
		snprintf(l->format, sizeof(l->format), "%s", f);
	}
	json_object_put(j);
	return r;
}


/* What qemu-img said of a layer, kept while the file is unchanged (same inode, size, mtime
 * and ctime: a write to a header changes them), so that starting a VM again spawns no
 * qemu-img for an image that did not change. */
#define CACHE_MAX 32
static struct cached {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	char asked[16];
	char *real;
	struct backing_layer l;
} *cache[CACHE_MAX];
static unsigned cache_next;

static bool same(const struct cached *c, const struct stat *st, const char *real,
		 const char *asked)
{
	return c && c->dev == st->st_dev && c->ino == st->st_ino && c->size == st->st_size &&
	       c->mtime.tv_sec == st->st_mtim.tv_sec && c->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       c->ctime.tv_sec == st->st_ctim.tv_sec && c->ctime.tv_nsec == st->st_ctim.tv_nsec &&
	       !strcmp(c->asked, asked) && !strcmp(c->real, real);
}

static int info_cached(int fd, const char *real, const char *format, struct backing_layer *l,
		       struct err *e)
{
	struct stat st;
	const char *asked = format ? format : "";
	if (fstat(fd, &st) < 0)
		return err_sys(e, errno, "%s", real);
	if (!strcmp(asked, "raw")) { /* no header: nothing in it names another file */
		*l = (struct backing_layer){.format = "raw", .size = disk_raw_size(fd)};
		return 0;
	}
	for (int i = 0; i < CACHE_MAX; i++)
		if (same(cache[i], &st, real, asked)) {
			*l = cache[i]->l;
			return 0;
		}
	/* qemu-img reads the very file vmfs holds open, not whatever the name is by now */
	struct sbuf out = {0};
	int r = disk_info(fd, real, format, INFO_TIMEOUT, &out, e);
	if (!r)
		r = backing_parse(out.p, real, l, e);
	sb_free(&out);
	struct cached *c = r ? NULL : calloc(1, sizeof(*c));
	if (!c || !(c->real = strdup(real))) {
		free(c);
		return r;
	}
	*c = (struct cached){st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim, "", c->real,
			     *l};
	snprintf(c->asked, sizeof(c->asked), "%s", asked);
	struct cached **slot = &cache[cache_next++ % CACHE_MAX];
	if (*slot)
		free((*slot)->real);
	free(*slot);
	*slot = c;
	return 0;
}

/* One layer, open in fd (real, as QEMU will read it as format; NULL: probed): what it is and
 * names in l, its data file checked and opened into v. */
static int layer(const struct roots *rt, const char *what, const char *real, int fd,
		 const char *format, bool writable, struct backing_layer *l, struct vm_layer *v,
		 struct err *e)
{
	char dreal[PATH_MAX];
	int r = info_cached(fd, real, format, l, e);
	if (r)
		return err_wrap(e, "%s", what);
	snprintf(v->format, sizeof(v->format), "%s", l->format);
	v->size = l->size;
	if (!*l->data_file)
		return 0;
	v->datafd = open_checked(rt, l->data_file, dreal, sizeof(dreal),
				 writable ? &v->datarw : NULL, e);
	return v->datafd >= 0 ? 0 : err_wrap(e, "%s: the data file of %s", what, real);
}

void vm_chain_close(struct vm_chain *c)
{
	for (int i = 0; i < c->n; i++) {
		int *fds[] = {&c->l[i].fd, &c->l[i].rwfd, &c->l[i].datafd, &c->l[i].datarw};
		for (size_t k = 0; k < ARRAY_SIZE(fds); k++)
			if (*fds[k] >= 0)
				close(*fds[k]);
	}
	c->n = 0;
}

static struct vm_layer *layer_new(struct vm_chain *c)
{
	struct vm_layer *v = &c->l[c->n++];
	*v = (struct vm_layer){.fd = -1, .rwfd = -1, .datafd = -1, .datarw = -1};
	return v;
}

/* path and every layer under it, into c */
/* pinned: QEMU is told the first layer's format (runtime/vmdisk.c), else it probes it */
static int chain_open(const struct roots *rt, const char *what, const char *path, bool pinned,
		      bool writable, struct vm_chain *c, struct err *e)
{
	static struct backing_layer l; /* 8 KiB: one start at a time */
	char cur[PATH_MAX], real[PATH_MAX], fmt[32] = "";
	snprintf(cur, sizeof(cur), "%s", path);
	for (int depth = 0; depth < CHAIN_MAX; depth++) {
		struct vm_layer *v = layer_new(c);
		bool rw = writable && !depth;
		v->fd = open_checked(rt, cur, real, sizeof(real), rw ? &v->rwfd : NULL, e);
		if (v->fd < 0 && depth)
			return err_wrap(e, "%s: the backing chain of %s", what, path);
		if (v->fd < 0)
			return err_wrap(e, "%s", what);
		struct stat st;
		v->blockdev = fstat(v->fd, &st) == 0 && S_ISBLK(st.st_mode);
		if (!depth && pinned)
			snprintf(fmt, sizeof(fmt), "%s", disk_format_fd(v->fd));
		/* the format named by the layer above, else qemu-img probes it as QEMU would */
		int r = layer(rt, what, real, v->fd, *fmt ? fmt : NULL, rw, &l, v, e);
		if (r || !*l.backing)
			return r;
		snprintf(cur, sizeof(cur), "%s", l.backing);
		snprintf(fmt, sizeof(fmt), "%s", l.backing_format);
	}
	return err_set(e, ELOOP, "%s: the backing chain of %s is deeper than %d files: refused",
		       what, path, CHAIN_MAX);
}

void vm_files_init(struct vm_files *f)
{
	f->kernel = f->initrd = -1;
	f->cdrom.n = f->ndisks = 0;
}

void vm_files_close(struct vm_files *f)
{
	if (f->kernel >= 0)
		close(f->kernel);
	if (f->initrd >= 0)
		close(f->initrd);
	vm_chain_close(&f->cdrom);
	for (int i = 0; i < f->ndisks; i++)
		vm_chain_close(&f->disk[i]);
	vm_files_init(f);
}

/* images/ and o's own directory */
static void roots_of(struct model *m, struct object *o, struct roots *rt)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/ns/%s/vms/%s", m->statedir, o->ns->name, o->name);
	rt->n = 0;
	rt->vm = -1;
	rt->storefd = -1;
	if (realpath(m->imagedir, rt->dir[rt->n])) {
		rt->storefd = m->imagefd;
		rt->n++;
	}
	if (realpath(dir, rt->dir[rt->n]))
		rt->vm = rt->n++;
	who_of(&rt->who, o->ns->uid, o->ns->gid);
}

static int files_open(struct model *m, struct object *o, struct vm_files *f, struct err *e)
{
	static struct vm_disk d[VM_DISKS_MAX];
	struct roots rt;
	char path[PATH_MAX], real[PATH_MAX], what[32];
	roots_of(m, o, &rt);
	const char *kernel = obj_cfg(o, "kernel"), *initrd = obj_cfg(o, "initrd");
	if (!*kernel && !*obj_cfg(o, "disk") && !*obj_cfg(o, "cdrom")) {
		kernel = "vmlinuz"; /* as runtime/qemu.c boots it */
		initrd = *initrd ? initrd : "initrd";
	}
	const char *files[][2] = {{"config/kernel", kernel}, {"config/initrd", *kernel ? initrd : ""}};
	int *fds[] = {&f->kernel, &f->initrd};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		if (!*files[i][1])
			continue;
		model_image_path(m, files[i][1], path, sizeof(path));
		*fds[i] = open_checked(&rt, path, real, sizeof(real), NULL, e);
		if (*fds[i] < 0)
			return err_wrap(e, "%s", files[i][0]);
	}
	if (*obj_cfg(o, "cdrom")) {
		model_image_path(m, obj_cfg(o, "cdrom"), path, sizeof(path));
		int r = chain_open(&rt, "config/cdrom", path, false, false, &f->cdrom, e);
		if (r)
			return r;
	}
	int n = vm_disks(m, o, d, VM_DISKS_MAX);
	bool snap = obj_cfg_bool(o, "snapshot");
	for (int i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "disk %d", i);
		f->ndisks = i + 1;
		int r = chain_open(&rt, what, d[i].image, true, !snap, &f->disk[i], e);
		if (r)
			return r;
	}
	return 0;
}

int vm_files_open(struct model *m, struct object *o, struct vm_files *f, struct err *e)
{
	vm_files_init(f);
	int r = files_open(m, o, f, e);
	if (r)
		vm_files_close(f);
	return r;
}

/* The overlay at path (made by vmfs in the VM's own directory, root's: no link can be
 * there), open for writing too, on top of c. */
static int overlay_top(const char *path, int i, struct vm_chain *c, struct err *e)
{
	int rw = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", rw);
	int ro = rw < 0 ? -1 : open(link, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (ro < 0) {
		int r = err_sys(e, errno, "disk %d: the overlay %s", i, path);
		if (rw >= 0)
			close(rw);
		return r;
	}
	memmove(&c->l[1], &c->l[0], c->n * sizeof(c->l[0]));
	c->n++;
	c->l[0] = (struct vm_layer){.fd = ro, .rwfd = rw, .datafd = -1, .datarw = -1};
	snprintf(c->l[0].format, sizeof(c->l[0].format), "qcow2");
	return 0;
}

int vm_files_overlays(struct model *m, struct object *o, struct vm_files *f, struct err *e)
{
	static struct vm_disk d[VM_DISKS_MAX];
	if (!obj_cfg_bool(o, "snapshot"))
		return 0;
	int n = vm_disks(m, o, d, VM_DISKS_MAX);
	for (int i = 0; i < n && i < f->ndisks; i++) {
		int r = overlay_top(d[i].path, i, &f->disk[i], e);
		if (r)
			return r;
	}
	return 0;
}

static int commit_chain(struct model *m, struct object *o, bool overlay, struct vm_chain *c,
			struct err *e)
{
	static struct vm_disk d[VM_DISKS_MAX];
	static struct backing_layer l;
	struct roots rt;
	roots_of(m, o, &rt);
	if (vm_disks(m, o, d, VM_DISKS_MAX) < 1)
		return err_set(e, EINVAL, "%s has no disk", o->name);
	int r = chain_open(&rt, "disk 0", d[0].image, true, !obj_cfg_bool(o, "snapshot"), c, e);
	if (r || !overlay || (r = overlay_top(d[0].path, 0, c, e)))
		return r;
	/* its header as QEMU left it: a data file there would be opened by its name */
	if ((r = info_cached(c->l[0].fd, d[0].path, "qcow2", &l, e)))
		return err_wrap(e, "disk 0: the overlay");
	if (*l.data_file)
		return err_set(e, EPERM, "disk 0: the overlay %s names the data file %s, which vmfs "
			       "never makes (QEMU wrote its header): refused", d[0].path,
			       l.data_file);
	return 0;
}

int vm_commit_chain(struct model *m, struct object *o, bool overlay, struct vm_chain *c,
		    struct err *e)
{
	c->n = 0;
	int r = commit_chain(m, o, overlay, c, e);
	if (r)
		vm_chain_close(c);
	return r;
}
