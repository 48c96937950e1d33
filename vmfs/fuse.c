/* The FUSE adapter, a door (vmfs/door.h): with vmfs/notify.c, the only file that sees
 * libfuse. It turns kernel requests into node operations (vmfs/node.h) and their results
 * into replies.
 *
 * Why the low-level API: a console read that has nothing to return yet must wait without
 * holding a thread. Here such a request is a struct vreq (vmfs/vreq.h), parked on the
 * object's wait queue and answered later from the event loop; 200 readers cost 200 small
 * structs, and `cat info` is answered meanwhile.
 *
 * Threads: the daemon's event loop (vmfs/daemon.c) reads /dev/fuse among its other
 * sources and runs every request to completion, so the model needs no locks. A second,
 * tiny thread (vmfs/notify.c) only sends the kernel "this name is gone" notices, which may
 * have to wait for a directory lock; it shares nothing but its own queue. Nothing here
 * ever touches a path under our own mount point. */
#define FUSE_USE_VERSION 31
#include "vmfs/fuse.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <string.h>
#include <sys/statvfs.h>

#include "vmfs/kinds.h"
#include "vmfs/loop.h"
#include "vmfs/notify.h"
#include "vmfs/sigpend.h"
#include "vmfs/slice.h"
#include "vmfs/vreq.h"

#define ENTRY_TIMEOUT 1.0
#define ATTR_TIMEOUT 1.0

/* Under an NFS server (nfs_export, docs/export.md) a refusal must end: nfs-ganesha turns
 * EBUSY and ETIMEDOUT into NFS4ERR_DELAY, which clients retry for ever. EPERM becomes
 * NFS4ERR_PERM on every operation and every client gives it back as EPERM; ETXTBSY would
 * say "busy" but ganesha answers NFS4ERR_LOCKED to a write and NFS4ERR_SHARE_DENIED to the
 * rest. EIO is NFS4ERR_IO. Only the number on the wire changes, at reply time: the log
 * keeps the reason in words. Every refusal below goes through here. */
static bool nfs_errnos;
static int reply_err(fuse_req_t req, int err)
{
	if (nfs_errnos && err == EBUSY)
		err = EPERM;
	else if (nfs_errnos && err == ETIMEDOUT)
		err = EIO;
	return fuse_reply_err(req, err);
}

/* A read or write that may wait (a console with nothing yet, a ctl command that goes on). */
struct parked {
	struct vreq q; /* first: respond's q is the parked request */
	struct parked *next_intr; /* on the interrupted list */
	fuse_req_t req;
	bool interrupted;
};
static void on_interrupt(fuse_req_t req, void *data);

static struct vfuse {
	struct vmfs *v;
	struct fuse_session *se;
	struct parked *interrupted; /* answered after the current request: see on_interrupt */
	const char *mountpoint;
	bool notifying; /* between attach and close: the kernel may be told of removals */
	struct vhandle *open; /* what the kernel holds open (open_track) */
} F;

static struct vcred req_cred(fuse_req_t req)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	return (struct vcred){c->uid, c->gid, c->pid, c->umask};
}

/* A kernel request answered at once, as the node operations see it. */
static struct vreq req_of(fuse_req_t req)
{
	return (struct vreq){.v = F.v, .cred = req_cred(req)};
}

static int node_of(fuse_ino_t ino, struct vnode *n) { return node_from_ino(F.v, ino, n); }

static void reply_entry(fuse_req_t req, struct vreq *q, const struct vnode *n)
{
	struct fuse_entry_param e = {.ino = n->ino, .generation = node_generation(F.v, n),
				     .attr_timeout = ATTR_TIMEOUT, .entry_timeout = ENTRY_TIMEOUT};
	int r = vreq_getattr(q, n, &e.attr);
	if (r) {
		node_forget(F.v, n->ino, 1);
		reply_err(req, -r);
		return;
	}
	fuse_reply_entry(req, &e);
}


static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	node_forget(F.v, ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		node_forget(F.v, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vnode n;
	struct stat st;
	struct vreq q = req_of(req);
	int r = node_of(ino, &n);
	if (!r)
		r = vreq_getattr(&q, &n, &st);
	if (r)
		reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, ATTR_TIMEOUT);
}

/* A setattr that may wait (a namespace of the cluster's owner or mode: its record's
 * transaction): not interruptible, bounded by etcd's deadlines. */
struct parked_attr {
	struct vreq q; /* first */
	fuse_req_t req;
	fuse_ino_t ino;
};

static void attr_respond(struct vreq *q, ssize_t res)
{
	struct parked_attr *p = (struct parked_attr *)q;
	struct vnode n;
	struct stat st;
	int r = (int)res;
	if (!r)
		r = node_of(p->ino, &n);
	if (!r)
		r = vreq_getattr(q, &n, &st);
	if (r)
		reply_err(p->req, -r);
	else
		fuse_reply_attr(p->req, &st, ATTR_TIMEOUT);
	free(p);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	static const struct {
		int fuse, node;
	} map[] = {{FUSE_SET_ATTR_MODE, NA_MODE},   {FUSE_SET_ATTR_UID, NA_UID},
		   {FUSE_SET_ATTR_GID, NA_GID},     {FUSE_SET_ATTR_SIZE, NA_SIZE},
		   {FUSE_SET_ATTR_ATIME, NA_ATIME}, {FUSE_SET_ATTR_MTIME, NA_MTIME}};
	struct vnode n;
	int which = 0;
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (to_set & map[i].fuse)
			which |= map[i].node;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		which |= NA_ATIME, clock_gettime(CLOCK_REALTIME, &attr->st_atim);
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		which |= NA_MTIME, clock_gettime(CLOCK_REALTIME, &attr->st_mtim);
	int r = node_of(ino, &n);
	struct parked_attr *p = r ? NULL : calloc(1, sizeof(*p));
	if (!p) {
		reply_err(req, r ? -r : ENOMEM);
		return;
	}
	p->req = req;
	p->ino = ino;
	p->q = req_of(req);
	p->q.h = fi ? (struct vhandle *)(uintptr_t)fi->fh : NULL;
	p->q.respond = attr_respond;
	vreq_setattr_wait(&p->q, &n, attr, which);
}

/* A mkdir or a look-up that waits (vmfs/cmkdir.h: a launch in a cluster, a name asked of
 * etcd). It is not interrupted: it ends by itself in bounded time, and a launch's object stays
 * made either way. */
struct parked_name {
	struct vreq q; /* first */
	fuse_req_t req;
};

static void name_made(struct vreq *q, int r, const struct vnode *n)
{
	struct parked_name *p = (struct parked_name *)q;
	if (r)
		reply_err(p->req, -r);
	else
		reply_entry(p->req, q, n);
	free(p);
}

static struct parked_name *parked_name_new(fuse_req_t req)
{
	struct parked_name *p = calloc(1, sizeof(*p));
	if (!p) {
		reply_err(req, ENOMEM);
		return NULL;
	}
	p->req = req;
	p->q = req_of(req);
	p->q.made = name_made;
	return p;
}

/* r from vreq_lookup or vreq_mkdir through p: answered now, or later by name_made. */
static void name_answer(struct parked_name *p, int r, const struct vnode *n)
{
	if (r == -EINPROGRESS)
		return; /* answered by name_made, maybe already: p is not touched */
	if (r)
		reply_err(p->req, -r);
	else
		reply_entry(p->req, &p->q, n);
	free(p);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct vnode dir, n;
	struct parked_name *p = parked_name_new(req);
	if (!p)
		return;
	int r = node_of(parent, &dir);
	if (!r)
		r = vreq_lookup(&p->q, &dir, name, &n);
	name_answer(p, r, &n);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct vnode dir, n;
	struct parked_name *p = parked_name_new(req);
	if (!p)
		return;
	int r = node_of(parent, &dir);
	if (!r)
		r = vreq_mkdir(&p->q, &dir, name, mode, &n);
	name_answer(p, r, &n);
}

static void op_remove(fuse_req_t req, fuse_ino_t parent, const char *name, bool isdir)
{
	struct vnode dir;
	struct vreq q = req_of(req);
	int r = node_of(parent, &dir);
	if (!r)
		r = isdir ? vreq_rmdir(&q, &dir, name) : vreq_unlink(&q, &dir, name);
	reply_err(req, -r);
}

static void rmdir_respond(struct vreq *q, ssize_t n)
{
	struct parked *p = (struct parked *)q;
	reply_err(p->req, n < 0 ? (int)-n : 0);
	free(p);
}

/* Another host's object's rmdir waits for its owner's answer: parked as a write is. */
static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct vnode dir;
	int r = node_of(parent, &dir);
	struct parked *p = r ? NULL : calloc(1, sizeof(*p));
	if (!p) {
		reply_err(req, r ? -r : ENOMEM);
		return;
	}
	p->req = req;
	p->q = req_of(req);
	p->q.respond = rmdir_respond;
	if (vreq_rmdir_wait(&p->q, &dir, name))
		fuse_req_interrupt_func(req, on_interrupt, p);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	op_remove(req, parent, name, false);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct vnode dir, newdir;
	struct vreq q = req_of(req);
	int r = node_of(parent, &dir);
	if (!r)
		r = node_of(newparent, &newdir);
	if (!r)
		r = vreq_rename(&q, &dir, name, &newdir, newname, flags);
	reply_err(req, -r);
}

static void open_flags(const struct vhandle *h, struct fuse_file_info *fi)
{
	enum vfile f = h->n.e->file;
	fi->fh = (uintptr_t)h;
	/* generated content has no stable size, so the page cache must not be trusted */
	fi->direct_io = f != VF_PASS;
	/* ctl and console ignore offsets, but an lseek must succeed: sftp-server (sshfs, the
	 * way members are reached) seeks before every read and write */
	fi->nonseekable = 0;
}

/* every handle the kernel was given and has not released (F.open) */
static void open_track(struct vhandle *h)
{
	h->open_prev = NULL;
	h->open_next = F.open;
	if (F.open)
		F.open->open_prev = h;
	F.open = h;
}

static void open_untrack(struct vhandle *h)
{
	if (h->open_prev)
		h->open_prev->open_next = h->open_next;
	else if (F.open == h)
		F.open = h->open_next;
	if (h->open_next)
		h->open_next->open_prev = h->open_prev;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vnode n;
	struct vreq q = req_of(req);
	int r = node_of(ino, &n);
	if (!r)
		r = vreq_open(&q, &n, fi->flags);
	if (r) {
		reply_err(req, -r);
		return;
	}
	open_flags(q.h, fi);
	if (fuse_reply_open(req, fi) == -ENOENT) /* the opener was interrupted meanwhile */
		vreq_release(&q);
	else
		open_track(q.h);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct vnode dir, n;
	struct vreq q = req_of(req);
	int r = node_of(parent, &dir);
	if (!r)
		r = vreq_create(&q, &dir, name, mode, fi->flags, &n);
	if (r) {
		reply_err(req, -r);
		return;
	}
	struct fuse_entry_param e = {.ino = n.ino, .generation = node_generation(F.v, &n),
				     .attr_timeout = ATTR_TIMEOUT, .entry_timeout = ENTRY_TIMEOUT};
	/* an images/ path swapped for a symlink since: the kernel would take no attributes,
	 * and drop the open without a release */
	if ((r = vreq_getattr(&q, &n, &e.attr))) {
		vreq_release(&q);
		reply_err(req, -r);
		return;
	}
	open_flags(q.h, fi);
	if (fuse_reply_create(req, &e, fi))
		vreq_release(&q);
	else
		open_track(q.h);
}

static void write_respond(struct vreq *q, ssize_t n);

/* Called by libfuse while it holds the request's lock, and sometimes from inside
 * fuse_req_interrupt_func: replying here would free the request under libfuse's feet, so
 * the reader is unparked now and answered (EINTR) after the current request. */
static void on_interrupt(fuse_req_t req, void *data)
{
	struct parked *p = data;
	if (p->interrupted)
		return;
	/* A write (a ctl command) ends by itself in bounded time: a signal the caller only
	 * catches to be told something (a shell's SIGCHLD) must not fail it. A read waits for
	 * output without end, so any signal lets it go. */
	if ((p->q.respond == write_respond || p->q.respond == rmdir_respond) &&
	    !sigpend_wants_out(fuse_req_ctx(req)->pid))
		return;
	p->interrupted = true;
	waiter_del(&p->q.w);
	p->next_intr = F.interrupted;
	F.interrupted = p;
}

static void answer_interrupted(void)
{
	while (F.interrupted) {
		struct parked *p = F.interrupted;
		F.interrupted = p->next_intr;
		vreq_abandon(&p->q); /* a write's command goes on; its end is logged */
		reply_err(p->req, EINTR);
		free(p);
	}
}

static void read_respond(struct vreq *q, ssize_t n)
{
	struct parked *p = (struct parked *)q;
	if (n < 0)
		reply_err(p->req, -n);
	else
		fuse_reply_buf(p->req, q->data, n);
	free(p);
}

static struct parked *parked_new(fuse_req_t req, struct fuse_file_info *fi,
				 void (*respond)(struct vreq *q, ssize_t n))
{
	struct parked *p = calloc(1, sizeof(*p));
	if (!p) {
		reply_err(req, ENOMEM);
		return NULL;
	}
	p->req = req;
	p->q = req_of(req);
	p->q.h = (struct vhandle *)(uintptr_t)fi->fh;
	p->q.respond = respond;
	return p;
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct parked *p = parked_new(req, fi, read_respond);
	if (!p)
		return;
	char stack[8192];
	char *buf = size <= sizeof(stack) ? stack : malloc(size);
	if (!buf) {
		reply_err(req, ENOMEM);
		free(p);
		return;
	}
	p->q.h->flags = (p->q.h->flags & ~O_NONBLOCK) | (fi->flags & O_NONBLOCK);
	/* parked: an interrupt must be able to find it. The callback may run at once if the
	 * reader was interrupted already, so p is not touched after this. */
	bool waits = vreq_read(&p->q, buf, size, off);
	if (buf != stack)
		free(buf);
	if (waits)
		fuse_req_interrupt_func(req, on_interrupt, p);
}

#define NOTIFY_SETTLE_MS 100 /* what a write that removed objects may wait for the kernel */

static void write_respond(struct vreq *q, ssize_t n)
{
	struct parked *p = (struct parked *)q;
	notify_settle(NOTIFY_SETTLE_MS);
	if (n < 0)
		reply_err(p->req, -n);
	else
		fuse_reply_write(p->req, n);
	free(p);
}

/* A ctl command that goes on in the background (a start waiting for its process, a commit)
 * parks its write like a console read: nothing else waits for it. */
static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct parked *p = parked_new(req, fi, write_respond);
	/* waiting: an interrupt must be able to find it (p is not touched after this) */
	if (p && vreq_write(&p->q, buf, size, off))
		fuse_req_interrupt_func(req, on_interrupt, p);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vreq q = req_of(req);
	q.h = (struct vhandle *)(uintptr_t)fi->fh;
	open_untrack(q.h);
	vreq_release(&q);
	reply_err(req, 0);
}

struct rdbuf {
	fuse_req_t req;
	char *buf;
	size_t size, used;
};

static int rd_fill(void *ctx, const char *name, const struct stat *st, off_t next)
{
	struct rdbuf *b = ctx;
	size_t need = fuse_add_direntry(b->req, NULL, 0, name, NULL, 0);
	if (b->used + need > b->size)
		return 1;
	fuse_add_direntry(b->req, b->buf + b->used, b->size - b->used, name, st, next);
	b->used += need;
	return 0;
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct vnode dir;
	struct vreq q = req_of(req);
	struct rdbuf b = {req, malloc(size), size, 0};
	int r = b.buf ? node_of(ino, &dir) : -ENOMEM;
	if (!r)
		r = vreq_readdir(&q, &dir, off, rd_fill, &b);
	if (r)
		reply_err(req, -r);
	else
		fuse_reply_buf(req, b.buf, b.used);
	free(b.buf);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st;
	struct vreq q = req_of(req);
	int r = vreq_statfs(&q, &st);
	if (r)
		reply_err(req, -r);
	else
		fuse_reply_statfs(req, &st);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct vnode n;
	char buf[4096];
	struct vreq q = req_of(req);
	int r = node_of(ino, &n);
	if (!r)
		r = vreq_readlink(&q, &n, buf, sizeof(buf));
	if (r)
		reply_err(req, -r);
	else
		fuse_reply_readlink(req, buf);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct vnode dir, n;
	struct vreq q = req_of(req);
	int r = node_of(parent, &dir);
	if (!r)
		r = vreq_symlink(&q, link, &dir, name, &n);
	if (r)
		reply_err(req, -r);
	else
		reply_entry(req, &q, &n);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	/* open(O_TRUNC) arrives with the open, so `echo bad > config/x` cannot clear the
	 * value before the write is refused */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* file handles (name_to_handle_at, an NFS server over the mount) are turned back into
	 * nodes by LOOKUP of "." and ".." (node_lookup); inode numbers and generations hold
	 * across restarts (vmfs/node.h) */
	if (conn->capable & FUSE_CAP_EXPORT_SUPPORT)
		conn->want |= FUSE_CAP_EXPORT_SUPPORT;
}

static const struct fuse_lowlevel_ops vmfs_ll_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.release = op_release,
	.readdir = op_readdir,
	.statfs = op_statfs,
	.create = op_create,
};

static int on_fuse_readable(void *arg)
{
	static struct fuse_buf buf;
	for (int i = 0; i < 64; i++) { /* a batch, then let timers and signals in */
		int n = fuse_session_receive_buf(F.se, &buf);
		if (n == -EAGAIN || n == -EINTR)
			break;
		if (n <= 0 || fuse_session_exited(F.se)) {
			free(buf.mem);
			buf.mem = NULL;
			return 1; /* unmounted: stop the loop */
		}
		fuse_session_process_buf(F.se, &buf);
		answer_interrupted();
		slice_note_request();
	}
	return 0;
}

static void on_obj_remove(void *arg, const struct object *o)
{
	enum vkind dir = o->type == OT_VM ? VK_NS_VMS : VK_NS_CTS;
	notify_inval(node_ino(dir, o->ns->slot, 0), o->name);
}

/* A namespace removed through another door (9P, HTTP): the kernel forgets its name now,
 * not when its entry expires. The model cannot unsubscribe: F.notifying says when. */
static int on_model_event(void *ctx, struct model *m, const struct model_ev *ev)
{
	if (ev->kind == MEV_NS_REMOVED && F.notifying)
		notify_inval(node_ino(VK_NSDIR, 0, 0), ev->ns->name);
	/* the events one subscriber owns are not this one's: 1 passes them on */
	return ev->kind == MEV_NS_KEY || ev->kind == MEV_CFG_REACH ? 1 : 0;
}

static int fuse_attach(void *self, struct loop *l)
{
	F.v->m.on_remove = on_obj_remove;
	notify_start(F.se);
	F.notifying = true;
	if (model_subscribe(&F.v->m, on_model_event, NULL))
		return -1;
	return loop_add_fd(l, fuse_session_fd(F.se), on_fuse_readable, NULL);
}

static void fuse_close(void *self)
{
	answer_interrupted();
	F.notifying = false;
	notify_stop();
	F.v->m.on_remove = NULL;
	evlog_add(&F.v->log, "unmounting %s", F.mountpoint);
	fuse_session_unmount(F.se);
	fuse_session_destroy(F.se);
	/* releases the kernel had queued when the mount went never come */
	while (F.open) {
		struct vreq q = {.v = F.v, .h = F.open};
		open_untrack(q.h);
		vreq_release(&q);
	}
}

static const struct door_ops fuse_door_ops = {fuse_attach, NULL, fuse_close};

int fuse_door_cmdline(struct fuse_args *args, struct fuse_cli *out)
{
	struct fuse_cmdline_opts fo = {0};
	if (fuse_parse_cmdline(args, &fo) != 0)
		return -1;
	*out = (struct fuse_cli){fo.mountpoint, fo.foreground, fo.debug, fo.show_help,
				 fo.show_version};
	return 0;
}

const char *fuse_door_libversion(void) { return fuse_pkgversion(); }

int fuse_door_options(struct fuse_args *args, const struct vmfs_conf *conf)
{
	/* the kernel checks modes against what getattr reports: Unix permissions are
	 * vmfs's access control */
	if (fuse_opt_add_arg(args, "-odefault_permissions,fsname=vmfs,subtype=vmfs") < 0)
		return -1;
	if (conf->allow_other && fuse_opt_add_arg(args, "-oallow_other") < 0)
		return -1;
	nfs_errnos = conf->nfs_export;
	if (*conf->options) {
		char *o = NULL;
		if (asprintf(&o, "-o%s", conf->options) < 0 || fuse_opt_add_arg(args, o) < 0) {
			free(o);
			return -1;
		}
		free(o);
	}
	if (conf->debug && fuse_opt_add_arg(args, "-d") < 0)
		return -1;
	return 0;
}

int fuse_door_open(struct vmfs *v, struct fuse_args *args, const char *mountpoint,
		   bool foreground, struct door *out)
{
	F.v = v;
	F.mountpoint = mountpoint;
	F.se = fuse_session_new(args, &vmfs_ll_ops, sizeof(vmfs_ll_ops), v);
	if (!F.se)
		return 2; /* libfuse said why (an unknown -o option, usually) */
	if (fuse_session_mount(F.se, mountpoint) != 0) {
		fuse_session_destroy(F.se);
		return 1;
	}
	/* libfuse's: the parent exits once the mount is there */
	fuse_daemonize(foreground);
	evlog_add(&v->log, "mounted at %s (pid %d)", mountpoint, (int)getpid());
	int fd = fuse_session_fd(F.se);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	*out = (struct door){&fuse_door_ops, &F, fd};
	return 0;
}
