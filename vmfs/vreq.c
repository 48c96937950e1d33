/* Requests (vmfs/vreq.h): the waiting of a write, the same for every door. */
#include "vmfs/vreq.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>

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
	node_write_abandon(q->h);
}
