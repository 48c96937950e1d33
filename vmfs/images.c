/* images/: the image store, a real directory shown as it is. cp, ls -l, mv and rm work on
 * real files; rm of an image that a VM or container names is refused (EBUSY).
 *
 * Unlike the rest of the tree, these inodes stand for paths that users create, so a table
 * maps slot <-> relative path and counts the kernel's references (forget frees them). Every
 * path is relative to the store's directory descriptor and built from single names that
 * the kernel looked up. A user who owns a folder here can swap one of its directories for
 * a symlink at any moment, so a stored path is never handed to a plain *at call: the file
 * or the directory holding the name acted on is opened beneath the store by descriptor
 * (runtime/beneath.c), no symlink followed, and the call acts on that descriptor.
 *
 * Its kind is fk_pass (vmfs/fkind.h), whose tree the node operations hand images/ to. */
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/beneath.h"
#include "runtime/slotmap.h"
#include "vmfs/fkind.h"
#include "vmfs/vreq.h"
#include "vmfs/kinds.h"

#define IMG_BUCKETS 1024

struct image {
	char *path; /* relative to the store; "" is the store itself */
	uint64_t nlookup;
	uint32_t slot;
	mode_t type; /* S_IFMT */
	struct image *hnext;
};

struct imgtab {
	struct image *bucket[IMG_BUCKETS];
	struct slotmap *slots;
	uint32_t next;
};

struct imgtab *imgtab_new(void)
{
	struct imgtab *t = calloc(1, sizeof(*t));
	if (t && !(t->slots = slotmap_new())) {
		free(t);
		return NULL;
	}
	return t;
}

void imgtab_free(struct imgtab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < IMG_BUCKETS; i++)
		for (struct image *e = t->bucket[i], *nx; e; e = nx) {
			nx = e->hnext;
			free(e->path);
			free(e);
		}
	slotmap_free(t->slots);
	free(t);
}

static size_t path_hash(const char *s)
{
	size_t h = 5381;
	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % IMG_BUCKETS;
}

/* A path swapped on the host (a folder for a symlink) is another inode for each type, as
 * the kernel refuses an inode whose type changes; type 0 matches any. */
static struct image *img_get(struct imgtab *t, const char *path, mode_t type, bool add)
{
	size_t b = path_hash(path);
	for (struct image *e = t->bucket[b]; e; e = e->hnext)
		if (!strcmp(e->path, path) && (!type || e->type == type))
			return e;
	if (!add)
		return NULL;
	struct image *e = calloc(1, sizeof(*e));
	if (!e || !(e->path = strdup(path))) {
		free(e);
		return NULL;
	}
	e->type = type;
	e->slot = ++t->next;
	if (slotmap_put(t->slots, e->slot, 1, e) < 0) {
		free(e->path);
		free(e);
		return NULL;
	}
	e->hnext = t->bucket[b];
	t->bucket[b] = e;
	return e;
}

static void img_drop(struct imgtab *t, struct image *img)
{
	struct image **pp = &t->bucket[path_hash(img->path)];
	while (*pp && *pp != img)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = img->hnext;
	slotmap_del(t->slots, img->slot);
	free(img->path);
	free(img);
}

static void img_forget(struct vmfs *v, uint64_t slot, uint64_t n)
{
	struct image *img = slotmap_get(v->images->slots, slot, 1);
	if (!img)
		return;
	img->nlookup = img->nlookup > n ? img->nlookup - n : 0;
	if (!img->nlookup)
		img_drop(v->images, img);
}

/* A path's node lasts while the kernel holds it (forget drops it) and slots are numbered
 * per run: a file handle of one is stale once the kernel let it go or vmfs restarted. */
static int img_from_slot(struct vmfs *v, uint64_t slot, struct vnode *out)
{
	if (out->e->kind == VK_IMAGES)
		return 0; /* the store itself: a fixed node */
	out->aux = slotmap_get(v->images->slots, slot, 1);
	return out->aux ? 0 : -ESTALE;
}

/* The path of dir's child name, relative to the store ("." for the store itself). */
static int child_path(const struct vnode *dir, const char *name, char *out, size_t outlen)
{
	const struct image *img = dir->aux;
	const char *base = img ? img->path : "";
	int n = *base ? snprintf(out, outlen, "%s/%s", base, name) : snprintf(out, outlen, "%s", name);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

static const char *node_path(const struct vnode *n)
{
	const struct image *img = n->aux;
	return img && *img->path ? img->path : ".";
}

/* fstatat of the entry itself (a symlink is not followed), from its parent's descriptor. */
static int img_stat(struct vmfs *v, const char *path, struct stat *st)
{
	if (!strcmp(path, ".")) {
		if (fstat(v->m.imagefd, st) < 0)
			return -errno;
		/* the store is 0700 on the host, so that no host user reaches it by its path; in
		 * the mount everyone enters it, and the modes below decide (only root makes names
		 * at the top) */
		st->st_mode = (st->st_mode & ~07777) | 0755;
		return 0;
	}
	const char *last;
	int dfd = beneath_parent(v->m.imagefd, path, &last);
	if (dfd < 0)
		return -errno;
	int r = fstatat(dfd, last, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	close(dfd);
	return r;
}

static int img_node(struct vmfs *v, const char *path, mode_t type, struct vnode *out)
{
	struct image *img = img_get(v->images, path, type & S_IFMT, true);
	*out = (struct vnode){.e = vtab_find(VK_IMAGE), .aux = img};
	if (!img)
		return -ENOMEM;
	/* the front end replies with this entry, and the kernel counts one more reference */
	img->nlookup++;
	out->ino = node_ino(VK_IMAGE, img->slot, 0);
	return 0;
}

/* "." and "..", which the kernel asks for to turn a file handle back into a node */
static int img_dots(struct vmfs *v, const struct vnode *dir, bool up, struct vnode *out)
{
	const struct image *img = dir->aux;
	if (!img) /* the store: "..", the root */
		return up ? node_from_ino(v, NODE_ROOT_INO, out) : (*out = *dir, 0);
	if (!up)
		return img_node(v, img->path, img->type, out);
	char path[PATH_MAX];
	const char *slash = strrchr(img->path, '/');
	if (!slash) {
		*out = (struct vnode){.e = vtab_find(VK_IMAGES), .ino = node_ino(VK_IMAGES, 0, 0)};
		return 0;
	}
	snprintf(path, sizeof(path), "%.*s", (int)(slash - img->path), img->path);
	return img_node(v, path, S_IFDIR, out);
}

static int img_lookup(struct vmfs *v, const struct vnode *dir, const char *name, struct vnode *out)
{
	char path[PATH_MAX];
	struct stat st;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return img_dots(v, dir, name[1] == '.', out);
	int r = child_path(dir, name, path, sizeof(path));
	if (r)
		return r;
	if ((r = img_stat(v, path, &st)))
		return r;
	return img_node(v, path, st.st_mode, out);
}

static int img_getattr(struct vmfs *v, const struct vnode *n, struct stat *st)
{
	int r = img_stat(v, node_path(n), st);
	if (r)
		return r;
	st->st_ino = n->ino;
	return 0;
}

static int img_readdir(struct vmfs *v, const struct vnode *dir, off_t off, node_fill_fn fill, void *ctx)
{
	int fd = beneath_open(v->m.imagefd, node_path(dir), O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	struct dirent *de;
	off_t pos = 0;
	while ((de = readdir(d))) {
		if (++pos <= off)
			continue;
		struct stat st = {.st_ino = de->d_ino, .st_mode = DTTOIF(de->d_type)};
		if (fill(ctx, de->d_name, &st, pos))
			break;
	}
	closedir(d);
	return 0;
}

static int img_open(struct vmfs *v, struct vhandle *h, int flags)
{
	int fl = flags & (O_ACCMODE | O_APPEND | O_TRUNC | O_DIRECTORY);
	h->fd = beneath_open(v->m.imagefd, node_path(&h->n), fl | O_NOFOLLOW, 0);
	return h->fd < 0 ? -errno : 0;
}

static int img_mkdir(struct vmfs *v, const struct vnode *dir, const char *name, mode_t mode,
	      const struct vcred *c, struct vnode *out)
{
	char path[PATH_MAX];
	int r = child_path(dir, name, path, sizeof(path));
	if (r)
		return r;
	const char *last;
	int dfd = beneath_parent(v->m.imagefd, path, &last);
	if (dfd < 0)
		return -errno;
	if (mkdirat(dfd, last, mode & ~c->umask) < 0 ||
	    (fchownat(dfd, last, c->uid, c->gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM))
		r = -errno;
	close(dfd);
	return r ? r : img_node(v, path, S_IFDIR, out);
}

struct inuse {
	const struct model *m;
	const char *target; /* realpath of what is removed or renamed */
	size_t tlen;
};

/* Does config path p name the target, something inside it, or a directory holding it
 * (a container's root filesystem)? Compared as real paths, so "./k", "a//b" or an
 * absolute path into the store cannot slip by. */
static int path_matches(const char *p, void *arg)
{
	const struct inuse *u = arg;
	char abs[BUILT_PATH_MAX], real[PATH_MAX];
	model_image_path(u->m, p, abs, sizeof(abs));
	if (!realpath(abs, real))
		return 0;
	size_t rl = strlen(real);
	if (!strncmp(real, u->target, u->tlen) && (!real[u->tlen] || real[u->tlen] == '/'))
		return 1;
	return !strncmp(u->target, real, rl) && u->target[rl] == '/';
}

/* cfg's own values; with o, the defaults that apply to o too (a container on the default
 * image uses images/busybox without naming it). */
static bool cfg_in_use(char *const *cfg, const struct object *o, struct inuse *u)
{
	for (size_t p = 0; p < nparams; p++) {
		const char *val = o ? (params[p].applies & otype_mask(o->type) ? obj_param(o, p) : NULL)
				    : cfg[p];
		if (val && *val && (params[p].type == PT_PATH || params[p].type == PT_PATHS) &&
		    param_paths(&params[p], val, path_matches, u) > 0)
			return true;
	}
	return false;
}

/* Which namespace template or object names this image, if any (rm or mv would pull it
 * from under them). */
static bool img_in_use(struct vmfs *v, const char *rel, char *who, size_t wholen)
{
	char abs[BUILT_PATH_MAX], real[PATH_MAX];
	/* the real path of the entry itself: a symlink being removed is not its target */
	const char *slash = strrchr(rel, '/');
	snprintf(abs, sizeof(abs), "%s/%.*s", v->m.imagedir, slash ? (int)(slash - rel) : 0, rel);
	if (!realpath(abs, real) || strlen(real) + strlen(rel) + 2 > sizeof(real))
		return false;
	strcat(real, "/");
	strcat(real, slash ? slash + 1 : rel);
	struct inuse u = {&v->m, real, strlen(real)};
	for (size_t i = 0; i < v->m.nns; i++) {
		struct ns *ns = v->m.nss[i];
		if (cfg_in_use(ns->cfg, NULL, &u)) {
			snprintf(who, wholen, "the template ns/%s/config", ns->name);
			return true;
		}
		for (int t = 0; t < 2; t++)
			for (size_t j = 0; j < ns->objs[t].n; j++)
				if (cfg_in_use(ns->objs[t].v[j]->cfg, ns->objs[t].v[j], &u)) {
					snprintf(who, wholen, "ns/%s/%s/%s", ns->name, otype_dir(t),
						 ns->objs[t].v[j]->name);
					return true;
				}
	}
	return false;
}

static int img_remove(struct vmfs *v, const struct vnode *dir, const char *name, bool isdir)
{
	char path[PATH_MAX], who[200], why[4400];
	int r = child_path(dir, name, path, sizeof(path));
	if (r)
		return r;
	if (img_in_use(v, path, who, sizeof(who))) {
		snprintf(why, sizeof(why), "images/%s is in use by %s", path, who);
		evlog_add(&v->log, "error: rm images/%s: %s", path, why);
		return -EBUSY;
	}
	const char *last;
	int dfd = beneath_parent(v->m.imagefd, path, &last);
	if (dfd < 0)
		return -errno;
	r = unlinkat(dfd, last, isdir ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
	close(dfd);
	if (r)
		return r;
	evlog_add(&v->log, "images/%s removed", path);
	return 0;
}

static int img_create(struct vmfs *v, const struct vnode *dir, const char *name, mode_t mode, int flags,
	       const struct vcred *c, struct vnode *out, int *fd)
{
	char path[PATH_MAX];
	int r = child_path(dir, name, path, sizeof(path));
	if (r)
		return r;
	int fl = (flags & (O_ACCMODE | O_APPEND | O_TRUNC | O_EXCL)) | O_CREAT | O_NOFOLLOW;
	*fd = beneath_open(v->m.imagefd, path, fl, mode);
	if (*fd < 0)
		return -errno;
	if (fchown(*fd, c->uid, c->gid) < 0 && errno != EPERM) {
		r = -errno;
		close(*fd);
		return r;
	}
	r = img_node(v, path, S_IFREG, out);
	if (r)
		close(*fd);
	return r;
}

/* Keeps the table's paths right for the renamed entry and everything below it. */
static void img_rekey(struct imgtab *t, const char *from, const char *to)
{
	size_t fl = strlen(from);
	struct image *moved = NULL;
	for (size_t b = 0; b < IMG_BUCKETS; b++)
		for (struct image **pp = &t->bucket[b]; *pp;) {
			struct image *e = *pp;
			if (strncmp(e->path, from, fl) || (e->path[fl] && e->path[fl] != '/')) {
				pp = &e->hnext;
				continue;
			}
			*pp = e->hnext;
			char *np = NULL;
			if (asprintf(&np, "%s%s", to, e->path + fl) < 0)
				np = NULL;
			if (np) {
				free(e->path);
				e->path = np;
			}
			e->hnext = moved;
			moved = e;
		}
	while (moved) {
		struct image *e = moved;
		moved = e->hnext;
		size_t b = path_hash(e->path);
		e->hnext = t->bucket[b];
		t->bucket[b] = e;
	}
}

static int img_rename(struct vmfs *v, const struct vnode *dir, const char *name,
	       const struct vnode *newdir, const char *newname, unsigned flags)
{
	char from[PATH_MAX], to[PATH_MAX];
	int r = child_path(dir, name, from, sizeof(from));
	if (!r)
		r = child_path(newdir, newname, to, sizeof(to));
	if (r)
		return r;
	char who[200];
	if (img_in_use(v, from, who, sizeof(who))) {
		evlog_add(&v->log, "error: mv images/%s: it is in use by %s", from, who);
		return -EBUSY;
	}
	const char *fl, *tl;
	int ffd = beneath_parent(v->m.imagefd, from, &fl);
	int tfd = ffd < 0 ? -1 : beneath_parent(v->m.imagefd, to, &tl);
	r = tfd < 0 || renameat2(ffd, fl, tfd, tl, flags) < 0 ? -errno : 0;
	if (ffd >= 0)
		close(ffd);
	if (tfd >= 0)
		close(tfd);
	if (r)
		return r;
	if (flags & RENAME_EXCHANGE) { /* both live on, each under the other's name */
		img_rekey(v->images, to, "\x01exchanging");
		img_rekey(v->images, from, to);
		img_rekey(v->images, "\x01exchanging", from);
		return 0;
	}
	struct image *old = img_get(v->images, to, 0, false);
	if (old) /* the replaced target: its inode lives on with a path no one can reach */
		img_rekey(v->images, to, "\x01replaced");
	img_rekey(v->images, from, to);
	return 0;
}

/* Times of a symlink itself, set from its parent's descriptor. */
static int link_times(struct vmfs *v, const char *p, const struct timespec ts[2])
{
	const char *last;
	int dfd = beneath_parent(v->m.imagefd, p, &last);
	if (dfd < 0)
		return -errno;
	int r = utimensat(dfd, last, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	close(dfd);
	return r;
}

/* Acts on the entry opened beneath the store (O_PATH, a symlink not followed) and named
 * through /proc/self/fd, so a path swapped after the open changes nothing. */
static int setattr_fd(struct vmfs *v, const char *p, int nfd, const struct stat *a, int which,
		      struct vhandle *h)
{
	struct stat st;
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", nfd);
	if (fstat(nfd, &st) < 0)
		return -errno;
	bool link = S_ISLNK(st.st_mode);
	if (which & NA_MODE) {
		if (link) /* as lchmod: a symlink has no mode of its own */
			return -EOPNOTSUPP;
		if (chmod(self, a->st_mode & 07777) < 0)
			return -errno;
	}
	if ((which & (NA_UID | NA_GID)) &&
	    fchownat(nfd, "", which & NA_UID ? a->st_uid : (uid_t)-1,
		     which & NA_GID ? a->st_gid : (gid_t)-1, AT_EMPTY_PATH) < 0)
		return -errno;
	if (which & NA_SIZE) {
		int r;
		if (h && h->fd >= 0)
			r = ftruncate(h->fd, a->st_size);
		else if (link)
			r = (errno = ELOOP, -1);
		else {
			int tfd = open(self, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
			r = tfd < 0 ? -1 : ftruncate(tfd, a->st_size);
			if (tfd >= 0)
				close(tfd);
		}
		if (r < 0)
			return -errno;
	}
	if (which & (NA_ATIME | NA_MTIME)) {
		struct timespec ts[2] = {a->st_atim, a->st_mtim};
		if (!(which & NA_ATIME))
			ts[0].tv_nsec = UTIME_OMIT;
		if (!(which & NA_MTIME))
			ts[1].tv_nsec = UTIME_OMIT;
		if (link)
			return link_times(v, p, ts);
		if (utimensat(AT_FDCWD, self, ts, 0) < 0)
			return -errno;
	}
	return 0;
}

static int img_setattr(struct vmfs *v, const struct vnode *n, const struct stat *a, int which,
		struct vhandle *h)
{
	const char *p = node_path(n);
	int nfd = beneath_open(v->m.imagefd, p, O_PATH | O_NOFOLLOW, 0);
	if (nfd < 0)
		return -errno;
	int r = setattr_fd(v, p, nfd, a, which, h);
	close(nfd);
	return r;
}

static int img_readlink(struct vmfs *v, const struct vnode *n, char *buf, size_t size)
{
	const char *last;
	int dfd = beneath_parent(v->m.imagefd, node_path(n), &last);
	if (dfd < 0)
		return -errno;
	ssize_t len = readlinkat(dfd, last, buf, size - 1);
	int e = errno;
	close(dfd);
	errno = e;
	if (len < 0)
		return -errno;
	buf[len] = 0;
	return 0;
}

static int img_symlink(struct vmfs *v, const char *target, const struct vnode *dir, const char *name,
		const struct vcred *c, struct vnode *out)
{
	char path[PATH_MAX];
	int r = child_path(dir, name, path, sizeof(path));
	if (r)
		return r;
	const char *last;
	int dfd = beneath_parent(v->m.imagefd, path, &last);
	if (dfd < 0)
		return -errno;
	if (symlinkat(target, dfd, last) < 0)
		r = -errno;
	else if (fchownat(dfd, last, c->uid, c->gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM)
		r = -errno;
	close(dfd);
	return r ? r : img_node(v, path, S_IFLNK, out);
}

static ssize_t pass_read(struct vmfs *v, struct vhandle *h, char *buf, size_t size, off_t off)
{
	ssize_t got = pread(h->fd, buf, size, off);
	return got < 0 ? -errno : got;
}

static ssize_t pass_write(struct vmfs *v, struct vreq *q, const char *buf, size_t size,
			  off_t off)
{
	struct vhandle *h = q->h;
	ssize_t n = pwrite(h->fd, buf, size, off);
	return n < 0 ? -errno : n;
}

static void pass_release(struct vmfs *v, struct vhandle *h)
{
	if (h->fd >= 0)
		close(h->fd);
}

static const struct ftree img_tree = {
	.from_ino = img_from_slot,
	.lookup = img_lookup,
	.getattr = img_getattr,
	.readdir = img_readdir,
	.mkdir = img_mkdir,
	.remove = img_remove,
	.create = img_create,
	.rename = img_rename,
	.setattr = img_setattr,
	.readlink = img_readlink,
	.symlink = img_symlink,
	.forget = img_forget,
};

const struct fkind fk_pass = {
	.open = img_open,
	.read = pass_read,
	.write = pass_write,
	.release = pass_release,
	.tree = &img_tree,
};
