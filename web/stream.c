/* GET console?follow=1: the scrollback, then the output as it comes, in one chunked answer
 * that ends only when the object is removed or the client leaves. Every follower has its
 * own position in the same console log, so any number of viewers share one console.
 *
 * A follower with nothing to send is a read through the request object (vreq_read) that
 * waits on the console's wait queue with its connection suspended (libmicrohttpd then
 * neither polls nor times it out), as a parked FUSE read does. Since a suspended connection is not watched, a client that left is found on the
 * tick (stream_reap). Unlike a read through the mount, a follower does not stop at the end
 * of a run: a restart's output follows in the same answer. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>

#include "web/web_int.h"

#define CHUNK 16384

/* The end of a run: a start begins a new log, which follows. */
static void stream_wake(struct waiter *wt)
{
	struct req *q = (struct req *)((char *)wt - offsetof(struct req, wt));
	web_unpark(q);
}

/* A follower's read: answered at once into libmicrohttpd's buffer, or later, when the
 * console has more, into q->out, which the next call hands on. */
static void stream_respond(struct vreq *vq, ssize_t n)
{
	struct req *q = (struct req *)((char *)vq - offsetof(struct req, vq));
	q->got = n;
	if (!vq->later)
		return;
	if (n > 0)
		sb_add(&q->out, vq->data, n);
	web_unpark(q);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct req *q = cls;
	if (q->out.len) {
		size_t n = q->out.len < max ? q->out.len : max;
		memcpy(buf, q->out.p, n);
		memmove(q->out.p, q->out.p + n, q->out.len - n);
		q->out.len -= n;
		return n;
	}
	if (q->closing || (q->vq.h->n.obj && q->vq.h->n.obj->gone))
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (q->got < 0 && q->got != -EAGAIN) /* what a read that waited was answered */
		return MHD_CONTENT_READER_END_WITH_ERROR;
	q->got = 0;
	q->vq.later = false; /* this read's, which may wait */
	if (vreq_read(&q->vq, buf, max, 0)) {
		web_park(q); /* the console has nothing yet: stream_respond resumes it */
		return 0;
	}
	if (q->got > 0)
		return q->got;
	if (q->got < 0 && q->got != -EAGAIN)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	/* the run ended (or vmfs is exiting): a start begins a new log, which follows */
	q->wt.wake = stream_wake;
	waitq_add(node_waitq(q->w->v, q->vq.h), &q->wt);
	web_park(q);
	return 0;
}

void stream_console(struct req *q, const struct vnode *n)
{
	/* not O_NONBLOCK: a read with nothing yet waits (vreq_read) */
	int r = vreq_open(&q->vq, n, O_RDONLY);
	if (r) {
		web_fail(q, -r, NULL);
		return;
	}
	q->vq.respond = stream_respond;
	q->stream = true;
	q->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, CHUNK, stream_read, q, NULL);
	if (!q->resp) {
		web_fail(q, ENOMEM, NULL);
		return;
	}
	MHD_add_response_header(q->resp, "Content-Type", "application/octet-stream");
	/* proxies (nginx) must pass it on as it comes */
	MHD_add_response_header(q->resp, "X-Accel-Buffering", "no");
	q->status = MHD_HTTP_OK;
}

void stream_reap(struct web *w)
{
	for (struct req *q = w->parked, *next; q; q = next) {
		next = q->next;
		if (!q->stream)
			continue;
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(q->c, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct pollfd p = {ci ? ci->connect_fd : -1, POLLIN | POLLRDHUP, 0};
		if (p.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
			waiter_del(&q->wt);
			vreq_abandon(&q->vq);
			q->closing = true;
			web_unpark(q);
		}
	}
}
