/* GET console?follow=1: the scrollback, then the output as it comes, in one chunked answer
 * that ends only when the object is removed or the client leaves. Every follower has its
 * own position in the same console log, so any number of viewers share one console.
 *
 * A follower with nothing to send waits on the console's wait queue with its connection
 * suspended (libmicrohttpd then neither polls nor times it out), as a parked FUSE read
 * does. Since a suspended connection is not watched, a client that left is found on the
 * tick (stream_reap). Unlike a read through the mount, a follower does not stop at the end
 * of a run: a restart's output follows in the same answer. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>

#include "web/web_int.h"

#define CHUNK 16384

static void stream_wake(struct waiter *wt)
{
	struct req *q = (struct req *)((char *)wt - offsetof(struct req, wt));
	web_unpark(q);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct req *q = cls;
	struct vmfs *v = q->w->v;
	if (q->closing || (q->h->n.obj && q->h->n.obj->gone))
		return MHD_CONTENT_READER_END_OF_STREAM;
	ssize_t n = node_read(v, q->h, buf, max, 0);
	if (n > 0)
		return n;
	if (n < 0 && n != -EAGAIN)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	/* nothing now (or the run ended: a start begins a new log, which follows) */
	q->wt.wake = stream_wake;
	waitq_add(node_waitq(v, q->h), &q->wt);
	web_park(q);
	return 0;
}

void stream_console(struct req *q, const struct vnode *n)
{
	int r = node_open(q->w->v, n, O_RDONLY | O_NONBLOCK, &q->w->cred, &q->h);
	if (r) {
		web_fail(q, -r, NULL);
		return;
	}
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
			q->closing = true;
			web_unpark(q);
		}
	}
}
