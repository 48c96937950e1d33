/* The request helpers that every kind of answer of the HTTP door uses (web/web_int.h): its
 * failure, a read answered at once, suspending and resuming its connection, its headers and
 * arguments. The server
 * (web/http.c) and the answers (get.c, stream.c, ui.c, vnc.c) call these; this file calls
 * neither. */
#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>

#include "web/web_int.h"

static int http_status(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return MHD_HTTP_NOT_FOUND;
	case EACCES:
	case EPERM:
		return MHD_HTTP_FORBIDDEN;
	case EINVAL:
	case ENAMETOOLONG:
	case ERANGE:
	case E2BIG:
		return MHD_HTTP_BAD_REQUEST;
	case EBUSY:
	case EEXIST:
	case ENOTEMPTY:
	case EISDIR:
	case EAGAIN:
		return MHD_HTTP_CONFLICT;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

void web_fail(struct req *q, int err, const char *why)
{
	q->status = http_status(err);
	q->out.len = 0;
	q->type = "text/plain; charset=utf-8";
	sb_printf(&q->out, "error: %s\n", why && *why ? why : *q->vq.why ? q->vq.why
							: strerror(err));
}

static void read_kept(struct vreq *vq, ssize_t n)
{
	struct req *q = (struct req *)((char *)vq - offsetof(struct req, vq));
	q->got = n;
}

ssize_t web_read_now(struct req *q, char *buf, size_t size, off_t off)
{
	void (*respond)(struct vreq *, ssize_t) = q->vq.respond;
	q->vq.respond = read_kept;
	bool waits = vreq_read(&q->vq, buf, size, off);
	q->vq.respond = respond;
	if (waits) { /* not a file read at once: it is not read */
		vreq_abandon(&q->vq);
		return -EAGAIN;
	}
	return q->got;
}

void web_park(struct req *q)
{
	if ((q->next = q->w->parked))
		q->next->prevp = &q->next;
	q->w->parked = q;
	q->prevp = &q->w->parked;
	MHD_suspend_connection(q->c);
}

void web_unpark(struct req *q)
{
	if (q->prevp && (*q->prevp = q->next))
		q->next->prevp = q->prevp;
	q->prevp = NULL;
	MHD_resume_connection(q->c);
	web_soon(q->w);
}

const char *web_header(struct req *q, const char *name)
{
	return MHD_lookup_connection_value(q->c, MHD_HEADER_KIND, name);
}

const char *web_arg(struct req *q, const char *name)
{
	return MHD_lookup_connection_value(q->c, MHD_GET_ARGUMENT_KIND, name);
}

/* Soon, from the loop: a resumed connection is served at once, not at the next tick. */
void web_soon(struct web *w)
{
	struct itimerspec it = {{0, 0}, {0, 100000}};
	timerfd_settime(w->tfd, 0, &it, NULL);
}
