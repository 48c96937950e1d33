/* One connection of the 9P door (p9/door_int.h): the stream cut into whole messages
 * (p9_frame_size) for p9/srv.c, and its replies sent without ever blocking vmfs: what the
 * peer does not read yet waits in the link's queue, bounded. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "p9/door_int.h"
#include "p9/msg.h"
#include "vmfs/loop.h"

#define READ_CHUNK (64 * 1024)

/* The loop watches what l needs now: requests while its queue is short, writability while
 * it holds replies. */
static void link_arm(struct link *l)
{
	uint32_t want =
	    (l->outlen <= P9_OUT_SOFT ? EPOLLIN | EPOLLRDHUP : 0) | (l->outlen ? EPOLLOUT : 0);
	if (want != l->events && loop_mod_fd(l->d->loop, l->fd, want) == 0)
		l->events = want;
}

void link_kill(struct link *l, const char *fmt, ...)
{
	if (l->dead)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->why, sizeof(l->why), fmt, ap);
	va_end(ap);
	l->dead = true;
	/* the loop then reports it (EPOLLHUP), so its own event closes it, even when a reply
	 * that came later, from outside the door's handler, killed it */
	shutdown(l->fd, SHUT_RDWR);
}

static void link_flush(struct link *l)
{
	while (l->outlen && !l->dead) {
		ssize_t n = send(l->fd, l->out + l->outoff, l->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			link_kill(l, "cannot send: %s", strerror(errno));
			return;
		}
		l->outoff += n;
		l->outlen -= n;
	}
	if (!l->outlen)
		l->outoff = 0;
}

/* p9/srv.c's send: at once if the socket takes it, else queued. */
static void link_send(void *ctx, const uint8_t *buf, size_t len)
{
	struct link *l = ctx;
	if (l->dead)
		return;
	if (!l->outlen) {
		ssize_t n = send(l->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			link_kill(l, "cannot send: %s", strerror(errno));
			return;
		}
		if (n > 0) {
			buf += n;
			len -= n;
		}
		if (!len)
			return;
	}
	if (l->outlen + len > P9_OUT_MAX) {
		link_kill(l, "more than %d MiB of replies wait for the peer to read them",
			  P9_OUT_MAX >> 20);
		return;
	}
	if (l->outoff + l->outlen + len > l->outcap) {
		if (l->outlen)
			memmove(l->out, l->out + l->outoff, l->outlen);
		l->outoff = 0;
		if (l->outlen + len > l->outcap) {
			size_t cap = l->outcap ? l->outcap : P9_MAXMSIZE;
			while (cap < l->outlen + len)
				cap *= 2;
			uint8_t *out = realloc(l->out, cap);
			if (!out) {
				link_kill(l, "out of memory for its replies");
				return;
			}
			l->out = out;
			l->outcap = cap;
		}
	}
	memcpy(l->out + l->outoff + l->outlen, buf, len);
	l->outlen += len;
	link_arm(l);
}

/* The whole messages read so far, to the server; stops while replies pile up. */
static void link_feed(struct link *l)
{
	size_t off = 0;
	while (!l->dead && l->outlen <= P9_OUT_SOFT && l->inlen - off >= 4) {
		const char *why = "";
		long size = p9_frame_size(l->in + off, p9_conn_msize(l->c), &why);
		if (size < 0) {
			link_kill(l, "its framing is bad: %s", why);
			break;
		}
		if (l->inlen - off < (size_t)size)
			break;
		if (p9_conn_input(l->c, l->in + off, size) == -EPROTO) {
			link_kill(l, "%s", p9_conn_why(l->c));
			break;
		}
		off += size;
	}
	if (off) {
		memmove(l->in, l->in + off, l->inlen - off);
		l->inlen -= off;
	}
}

static void link_read(struct link *l)
{
	/* room for one whole message of the msize agreed (it may have grown) */
	size_t need = p9_conn_msize(l->c) > READ_CHUNK ? p9_conn_msize(l->c) : READ_CHUNK;
	if (l->incap < need) {
		uint8_t *in = realloc(l->in, need);
		if (!in) {
			link_kill(l, "out of memory for its requests");
			return;
		}
		l->in = in;
		l->incap = need;
	}
	if (l->inlen == l->incap)
		return; /* whole messages wait behind replies not read yet */
	ssize_t n = recv(l->fd, l->in + l->inlen, l->incap - l->inlen, MSG_DONTWAIT);
	if (n == 0) {
		link_kill(l, "%s", l->inlen ? "it ended inside a message" : "");
	} else if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			link_kill(l, "cannot read: %s", strerror(errno));
	} else {
		l->inlen += n;
	}
}

/* l ended: out of the door's list, closed */
static void link_reap(struct link *l)
{
	struct p9door *d = l->d;
	for (struct link **pp = &d->links; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			d->nlinks--;
			break;
		}
	link_close(l);
}

int link_event(void *arg, uint32_t events)
{
	struct link *l = arg;
	if (!l->dead && (events & EPOLLOUT))
		link_flush(l);
	if (!l->dead && (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) &&
	    l->outlen <= P9_OUT_SOFT)
		link_read(l);
	if (!l->dead)
		link_feed(l);
	if (!l->dead)
		link_arm(l);
	else
		link_reap(l);
	return 0;
}

int link_open(struct p9door *d, int fd, const struct vcred *cred, const struct who *w,
	      const char *who, bool tcp, uint32_t addr)
{
	struct link *l = calloc(1, sizeof(*l));
	if (!l) {
		close(fd);
		return -ENOMEM;
	}
	*l = (struct link){.d = d,
			   .fd = fd,
			   .tcp = tcp,
			   .addr = addr,
			   .uid = cred->uid,
			   .events = EPOLLIN | EPOLLRDHUP};
	snprintf(l->who, sizeof(l->who), "%s", who);
	int e = -ENOMEM;
	if (!(l->c = p9_conn_new(d->v, cred, link_send, l)) ||
	    (e = loop_add_io(d->loop, fd, l->events, link_event, l))) {
		p9_conn_free(l->c);
		close(fd);
		free(l);
		return e;
	}
	p9_conn_set_groups(l->c, w->groups, w->ngroups);
	if (tcp)
		p9_conn_set_tcp_peer(l->c, addr);
	l->next = d->links;
	d->links = l;
	d->nlinks++;
	return 0;
}

void link_close(struct link *l)
{
	if (*l->why)
		p9door_log(l->d, "error: 9p: closed the connection of %s: %s", l->who, l->why);
	/* what waits is abandoned first: nothing is sent on a link going away */
	l->dead = true;
	p9_conn_free(l->c);
	if (l->d->loop)
		loop_del_fd(l->d->loop, l->fd);
	close(l->fd);
	free(l->in);
	free(l->out);
	free(l);
}
