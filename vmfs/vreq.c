/* Requests (vmfs/vreq.h): the waiting of a read or a write, the same for every door; and of a
 * mkdir or a look-up in a namespace of a cluster (vmfs/cmkdir.h), for a door that sets made. */
#include "vmfs/vreq.h"
#include "vmfs/kinds.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "cluster/cluster.h" /* struct rbatch */
#include "vmfs/cmkdir.h"

static struct vreq *current;

struct vreq *vreq_enter(struct vreq *q)
{
	struct vreq *was = current;
	current = q;
	return was;
}

void vreq_reason(const char *what, const char *why)
{
	if (current)
		snprintf(current->why, sizeof(current->why), "%s: %s", what, why);
}


void vreq_release(struct vreq *q)
{
	struct vreq *was = vreq_enter(q);
	node_release(q->v, q->h);
	vreq_enter(was);
	q->h = NULL;
}

/* The operations answered at once: each runs as q's, with q current for its reasons. */
#define AS(q, call)                                                                        \
	({                                                                                 \
		struct vreq *was_ = vreq_enter(q);                                         \
		int r_ = (call);                                                           \
		vreq_enter(was_);                                                          \
		r_;                                                                        \
	})

int vreq_open(struct vreq *q, const struct vnode *n, int flags)
{
	return AS(q, node_open(q->v, n, flags, &q->cred, &q->h));
}

static void name_park(struct vreq *q, int r, struct waitq *wq);

int vreq_lookup(struct vreq *q, const struct vnode *dir, const char *name, struct vnode *out)
{
	int r = AS(q, node_lookup(q->v, dir, name, out));
	if (r != -ENOENT || !q->made || node_lookup_ask(q->v, dir, name, q) != -EINPROGRESS)
		return r;
	q->later = true;
	name_park(q, -EINPROGRESS, cmkdir_wq(q->mk));
	return -EINPROGRESS;
}

int vreq_getattr(struct vreq *q, const struct vnode *n, struct stat *st)
{
	return AS(q, node_getattr(q->v, n, st));
}

int vreq_readdir(struct vreq *q, const struct vnode *dir, off_t off, node_fill_fn fill, void *ctx)
{
	return AS(q, node_readdir(q->v, dir, off, fill, ctx));
}

int vreq_readlink(struct vreq *q, const struct vnode *n, char *buf, size_t size)
{
	return AS(q, node_readlink(q->v, n, buf, size));
}

int vreq_statfs(struct vreq *q, struct statvfs *st)
{
	return AS(q, node_statfs(q->v, st));
}

static void name_wake(struct waiter *w);

/* A mkdir or a look-up that waits: parked on wq, or answered through q->made (r, or the node
 * made or found). A vmfs that exits answers EINTR. */
static void name_park(struct vreq *q, int r, struct waitq *wq)
{
	if (r == -EINPROGRESS && !q->v->exiting) {
		q->w.wake = name_wake;
		waitq_add(wq, &q->w);
		return;
	}
	struct vnode dir, n;
	if (r == -EINPROGRESS)
		r = -EINTR;
	if (!r)
		r = AS(q, node_from_ino(q->v, cmkdir_dir(q->mk), &dir));
	if (!r)
		r = AS(q, node_lookup(q->v, &dir, cmkdir_name(q->mk), &n));
	cmkdir_free(q->mk);
	q->mk = NULL;
	q->made(q, r, r ? NULL : &n);
}

static void name_wake(struct waiter *w)
{
	struct vreq *q = (struct vreq *)((char *)w - offsetof(struct vreq, w));
	struct waitq *wq = NULL;
	int r = AS(q, node_mkdir_resume(q->v, q, &wq));
	name_park(q, r, wq);
}

int vreq_mkdir(struct vreq *q, const struct vnode *dir, const char *name, mode_t mode,
	       struct vnode *out)
{
	int r = AS(q, node_mkdir(q->v, dir, name, mode, q, out));
	if (r != -EINPROGRESS)
		return r;
	q->later = true;
	struct waitq *wq = NULL;
	r = AS(q, node_mkdir_resume(q->v, q, &wq));
	name_park(q, r, wq); /* (q may be answered, and gone, after it) */
	return -EINPROGRESS;
}

int vreq_rmdir(struct vreq *q, const struct vnode *dir, const char *name)
{
	return AS(q, node_rmdir(q->v, dir, name, q));
}

int vreq_unlink(struct vreq *q, const struct vnode *dir, const char *name)
{
	return AS(q, node_unlink(q->v, dir, name, q));
}

int vreq_create(struct vreq *q, const struct vnode *dir, const char *name, mode_t mode,
		int flags, struct vnode *out)
{
	return AS(q, node_create(q->v, dir, name, mode, flags, q, out));
}

int vreq_rename(struct vreq *q, const struct vnode *dir, const char *name,
		const struct vnode *newdir, const char *newname, unsigned flags)
{
	return AS(q, node_rename(q->v, dir, name, newdir, newname, flags, q));
}

int vreq_setattr(struct vreq *q, const struct vnode *n, const struct stat *attr, int which,
		 struct stat *out)
{
	return AS(q, node_setattr(q->v, n, attr, which, q, out));
}

/* A chown, chmod or rmdir of a namespace of the cluster: its record's transaction
 * (q->wait.rbatch), answered when it ends. */
static void attr_wake(struct waiter *w)
{
	struct vreq *q = (struct vreq *)((char *)w - offsetof(struct vreq, w));
	struct rbatch *b = q->wait.rbatch;
	if (b->pending && !q->v->exiting) {
		waitq_add(&b->wq, &q->w);
		return;
	}
	int r = b->pending ? -EINTR : b->err;
	rbatch_put(b);
	q->wait.rbatch = NULL;
	q->respond(q, r);
}

bool vreq_setattr_wait(struct vreq *q, const struct vnode *n, const struct stat *attr, int which)
{
	struct stat out;
	q->can_wait = true;
	int r = AS(q, node_setattr(q->v, n, attr, which, q, &out));
	if (r == -EINPROGRESS && q->wait.rbatch) {
		/* the open file was node_setattr's only: a clunk or release may free it while
		 * the record's transaction runs */
		q->h = NULL;
		q->later = true;
		q->w.wake = attr_wake;
		attr_wake(&q->w); /* (answered now if it has ended already) */
		return true;
	}
	q->respond(q, r == -EINPROGRESS ? -EIO : r);
	return false;
}

int vreq_symlink(struct vreq *q, const char *target, const struct vnode *dir, const char *name,
		 struct vnode *out)
{
	return AS(q, node_symlink(q->v, target, dir, name, q, out));
}

static void read_wake(struct waiter *w);

/* Tries q's read into buf: answered, or parked on the stream's queue (true). */
static bool read_try(struct vreq *q, char *buf)
{
	struct vreq *was = vreq_enter(q);
	ssize_t n = node_read(q->v, q->h, buf, q->size, q->off);
	vreq_enter(was);
	struct waitq *wq = n == -EAGAIN ? node_waitq(q->v, q->h) : NULL;
	if (wq && !(q->h->flags & O_NONBLOCK) && !q->v->exiting) {
		q->later = true;
		q->w.wake = read_wake;
		waitq_add(wq, &q->w);
		return true;
	}
	q->data = buf;
	q->respond(q, n);
	return false;
}

static void read_wake(struct waiter *w)
{
	struct vreq *q = (struct vreq *)((char *)w - offsetof(struct vreq, w));
	if (q->v->exiting) {
		q->respond(q, -EINTR);
		return;
	}
	char stack[8192];
	char *buf = q->size <= sizeof(stack) ? stack : malloc(q->size);
	if (!buf) {
		q->respond(q, -ENOMEM);
		return;
	}
	read_try(q, buf); /* q may be gone after this */
	if (buf != stack)
		free(buf);
}

bool vreq_read(struct vreq *q, char *buf, size_t size, off_t off)
{
	q->size = size;
	q->off = off;
	return read_try(q, buf);
}

static void vreq_wake(struct waiter *w)
{
	struct vreq *q = (struct vreq *)((char *)w - offsetof(struct vreq, w));
	struct vreq *was = vreq_enter(q);
	ssize_t n = node_write_resume(q->v, q);
	vreq_enter(was);
	if (n == -EINPROGRESS && !q->v->exiting) {
		waitq_add(node_waitq(q->v, q->h), &q->w);
		return;
	}
	if (n == -EINPROGRESS) {
		node_write_abandon(q->h); /* vmfs is exiting: the command is cut short */
		n = -EINTR;
	}
	q->respond(q, n);
}

bool vreq_write(struct vreq *q, const char *buf, size_t size, off_t off)
{
	struct vreq *was = vreq_enter(q);
	q->write = true;
	ssize_t n = node_write(q->v, q, buf, size, off);
	vreq_enter(was);
	struct waitq *wq = n == -EINPROGRESS ? node_waitq(q->v, q->h) : NULL;
	if (wq) {
		q->later = true;
		q->w.wake = vreq_wake;
		waitq_add(wq, &q->w);
		return true;
	}
	if (n == -EINPROGRESS) {
		node_write_abandon(q->h);
		n = -EIO;
	}
	q->respond(q, n);
	return false;
}

void vreq_abandon(struct vreq *q)
{
	waiter_del(&q->w);
	if (q->write) {
		node_write_abandon(q->h);
	} else if (q->wait.rmdir) {
		cobj_rmdir_abandon(q);
	} else if (q->mk) { /* a launch goes on by itself: only its waiting goes */
		cmkdir_free(q->mk);
		q->mk = NULL;
	} else if (q->wait.rbatch) { /* a setattr's transaction ends by itself too */
		rbatch_put(q->wait.rbatch);
		q->wait.rbatch = NULL;
	}
}

static void rmdir_wake(struct waiter *w)
{
	struct vreq *q = (struct vreq *)((char *)w - offsetof(struct vreq, w));
	struct vreq *was = vreq_enter(q);
	int r = cobj_rmdir_resume(q->v, q);
	vreq_enter(was);
	struct waitq *wq = r == -EINPROGRESS ? cobj_rmdir_wq(q) : NULL;
	if (wq && !q->v->exiting) {
		waitq_add(wq, &q->w);
		return;
	}
	if (r == -EINPROGRESS) {
		cobj_rmdir_abandon(q);
		r = -EINTR;
	}
	q->respond(q, r);
}

bool vreq_rmdir_wait(struct vreq *q, const struct vnode *dir, const char *name)
{
	q->can_wait = true;
	struct vreq *was = vreq_enter(q);
	int r = node_rmdir(q->v, dir, name, q);
	vreq_enter(was);
	if (r == -EINPROGRESS && q->wait.rbatch) { /* a namespace of the cluster: attr_wake's */
		q->later = true;
		q->w.wake = attr_wake;
		attr_wake(&q->w);
		return true;
	}
	struct waitq *wq = r == -EINPROGRESS ? cobj_rmdir_wq(q) : NULL;
	if (wq) {
		q->later = true;
		q->w.wake = rmdir_wake;
		waitq_add(wq, &q->w);
		return true;
	}
	if (r == -EINPROGRESS) {
		cobj_rmdir_abandon(q);
		r = -EIO;
	}
	q->respond(q, r);
	return false;
}
