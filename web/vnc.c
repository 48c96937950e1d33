/* A VM's VNC in the browser: a websocket on .../vnc is passed through to QEMU's own
 * websocket listener (-vnc ...,websocket=), so noVNC speaks RFB to QEMU and vmfs only
 * copies bytes, after it has checked who asks (auth and Origin, in http.c).
 *
 * The handshake is QEMU's: the client's key goes to QEMU, and QEMU's answer (its
 * Sec-WebSocket-Accept) goes back in the 101, so vmfs computes nothing of the protocol.
 * Then both sockets join an epoll of their own (in vmfs's loop) and each direction has one
 * buffer: a full buffer stops reading its source until the other side drains it, so a slow
 * browser slows QEMU's updates down instead of growing memory. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/vm.h"
#include "web/web_int.h"

#define BUF (64 * 1024)

struct end {
	struct proxy *p;
	int i;
};

struct proxy {
	struct web *w;
	struct req *q; /* until the upgrade: the request that asked */
	struct proxy *next;
	int fd[2]; /* 0: the browser (libmicrohttpd's socket), 1: QEMU */
	struct end end[2];
	uint32_t mask[2];
	bool upgraded, dead;
	struct MHD_UpgradeResponseHandle *urh;
	size_t len[2], off[2]; /* buf[i]: read from fd[i], not yet written to fd[!i] */
	char buf[2][BUF];
};

int vnc_init(struct web *w)
{
	w->pep = epoll_create1(EPOLL_CLOEXEC);
	return w->pep < 0 ? -errno : 0;
}

static void proxy_free(struct proxy *p)
{
	for (struct proxy **pp = &p->w->proxies; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (p->q)
		p->q->proxy = NULL;
	if (p->upgraded) {
		epoll_ctl(p->w->pep, EPOLL_CTL_DEL, p->fd[0], NULL);
		epoll_ctl(p->w->pep, EPOLL_CTL_DEL, p->fd[1], NULL);
		MHD_upgrade_action(p->urh, MHD_UPGRADE_ACTION_CLOSE);
	}
	if (p->fd[1] >= 0)
		close(p->fd[1]);
	free(p);
}

/* Moves what can move both ways; marks the proxy dead when either side ends. */
static void proxy_pump(struct proxy *p)
{
	for (int i = 0; i < 2 && !p->dead; i++) {
		for (;;) {
			if (!p->len[i]) {
				ssize_t n = recv(p->fd[i], p->buf[i], BUF, MSG_DONTWAIT);
				if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
					p->dead = true;
					break;
				}
				if (n < 0)
					break;
				p->len[i] = n;
				p->off[i] = 0;
			}
			ssize_t n = send(p->fd[!i], p->buf[i] + p->off[i], p->len[i] - p->off[i],
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				p->dead = true;
				break;
			}
			if (n < 0)
				break;
			p->off[i] += n;
			if (p->off[i] < p->len[i])
				break;
			p->len[i] = 0;
		}
	}
	for (int i = 0; i < 2 && !p->dead; i++) {
		uint32_t mask = (p->len[i] ? 0 : EPOLLIN) | (p->len[!i] ? EPOLLOUT : 0);
		if (mask == p->mask[i])
			continue;
		struct epoll_event ev = {.events = mask, .data.ptr = &p->end[i]};
		epoll_ctl(p->w->pep, EPOLL_CTL_MOD, p->fd[i], &ev);
		p->mask[i] = mask;
	}
}

int vnc_run(void *arg)
{
	struct web *w = arg;
	struct epoll_event ev[16];
	int n = epoll_wait(w->pep, ev, 16, 0);
	for (int i = 0; i < n; i++) {
		struct proxy *p = ((struct end *)ev[i].data.ptr)->p;
		if (!p->dead)
			proxy_pump(p);
	}
	/* freed after the batch: a later event of it may still point at it */
	for (struct proxy *p = w->proxies, *next; p; p = next) {
		next = p->next;
		if (p->dead)
			proxy_free(p);
	}
	return 0;
}

static void upgraded(void *cls, struct MHD_Connection *c, void *state, const char *extra,
		     size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct proxy *p = cls;
	struct req *q = state;
	if (q)
		q->proxy = NULL;
	p->q = NULL;
	p->upgraded = true;
	p->urh = urh;
	p->fd[0] = sock;
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
	if (extra_len > BUF)
		extra_len = 0, p->dead = true; /* not a VNC client: nothing that large comes first */
	memcpy(p->buf[0], extra, extra_len);
	p->len[0] = extra_len;
	for (int i = 0; i < 2; i++) {
		p->end[i] = (struct end){p, i};
		p->mask[i] = EPOLLIN;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &p->end[i]};
		if (epoll_ctl(p->w->pep, EPOLL_CTL_ADD, p->fd[i], &ev) < 0)
			p->dead = true;
	}
	if (!p->dead)
		proxy_pump(p);
	if (p->dead)
		vnc_run(p->w);
}

/* One header's value from QEMU's answer, into out. */
static bool answer_header(const char *head, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);
	for (const char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n"))
		if (!strncasecmp(l + 2, name, nl) && l[2 + nl] == ':') {
			const char *v = l + 3 + nl;
			while (*v == ' ')
				v++;
			snprintf(out, len, "%.*s", (int)strcspn(v, "\r\n"), v);
			return true;
		}
	return false;
}

/* Connects to QEMU's websocket listener and makes the handshake with the browser's key.
 * QEMU answers at once from its main loop; the wait is bounded all the same. */
static int qemu_handshake(struct req *q, struct object *o, struct proxy *p, char *accept,
			  char *proto, char *err, size_t errlen)
{
	const char *key = web_header(q, "Sec-WebSocket-Key");
	const char *want = web_header(q, "Sec-WebSocket-Protocol");
	const char *listen = obj_cfg(o, "vnc-listen");
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(VNC_WS_PORT(o->rt.vnc_display))};
	if (!key || strlen(key) > 64 || strpbrk(key, "\r\n") || (want && (strlen(want) > 128 ||
								    strpbrk(want, "\r\n")))) {
		snprintf(err, errlen, "not a websocket request (Sec-WebSocket-Key)");
		return -EINVAL;
	}
	if (!listen || inet_pton(AF_INET, listen, &sa.sin_addr) != 1 || !sa.sin_addr.s_addr)
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {2, 0};
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(err, errlen, "QEMU's VNC websocket (port %d) does not answer: %s",
			 VNC_WS_PORT(o->rt.vnc_display), strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	p->fd[1] = fd;
	char head[4096];
	int n = snprintf(head, sizeof(head),
			 "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
			 "Sec-WebSocket-Version: 13\r\n%s%s%s\r\n",
			 key, want ? "Sec-WebSocket-Protocol: " : "", want ? want : "",
			 want ? "\r\n" : "");
	if (send(fd, head, n, MSG_NOSIGNAL) != n) {
		snprintf(err, errlen, "QEMU's VNC websocket: %s", strerror(errno));
		return -EIO;
	}
	size_t got = 0;
	char *end = NULL;
	while (!end && got < sizeof(head) - 1) {
		ssize_t r = recv(fd, head + got, sizeof(head) - 1 - got, 0);
		if (r <= 0) {
			snprintf(err, errlen, "QEMU's VNC websocket did not answer the handshake");
			return -EIO;
		}
		got += r;
		head[got] = 0;
		end = strstr(head, "\r\n\r\n");
	}
	if (!end || strncmp(head, "HTTP/1.1 101", 12) ||
	    !answer_header(head, "Sec-WebSocket-Accept", accept, 64)) {
		snprintf(err, errlen, "QEMU refused the websocket: %.*s", (int)strcspn(head, "\r\n"),
			 head);
		return -EIO;
	}
	if (!answer_header(head, "Sec-WebSocket-Protocol", proto, 128))
		*proto = 0;
	/* what QEMU sent after its answer (the RFB greeting) is the browser's already */
	end += 4;
	p->len[1] = got - (end - head);
	memcpy(p->buf[1], end, p->len[1]);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

void vnc_upgrade(struct req *q, const struct vnode *n)
{
	struct object *o = n->obj;
	char err[512], accept[64], proto[128];
	if (o->state != ST_RUNNING && o->state != ST_PAUSED) {
		snprintf(err, sizeof(err), "%s is not running: start it first", o->name);
		node_reject(q->w->v, n, "vnc", err);
		web_fail(q, EAGAIN, err);
		return;
	}
	if (o->rt.vnc_display < 0) {
		snprintf(err, sizeof(err), "%s has no VNC server (config/vnc-listen)", o->name);
		node_reject(q->w->v, n, "vnc", err);
		web_fail(q, ENOENT, err);
		return;
	}
	struct proxy *p = calloc(1, sizeof(*p));
	if (!p) {
		web_fail(q, ENOMEM, NULL);
		return;
	}
	p->w = q->w;
	p->q = q;
	p->fd[0] = p->fd[1] = -1;
	p->next = q->w->proxies;
	q->w->proxies = p;
	int r = qemu_handshake(q, o, p, accept, proto, err, sizeof(err));
	if (!r && !(q->resp = MHD_create_response_for_upgrade(upgraded, p)))
		r = -ENOMEM, snprintf(err, sizeof(err), "%s", strerror(ENOMEM));
	if (r) {
		node_reject(q->w->v, n, "vnc", err);
		web_fail(q, -r, err);
		proxy_free(p);
		return;
	}
	MHD_add_response_header(q->resp, "Upgrade", "websocket");
	MHD_add_response_header(q->resp, "Sec-WebSocket-Accept", accept);
	if (*proto)
		MHD_add_response_header(q->resp, "Sec-WebSocket-Protocol", proto);
	q->proxy = p;
	q->status = MHD_HTTP_SWITCHING_PROTOCOLS;
	evlog_add(&o->log, "vnc: a viewer connected over the web");
}

/* A request that ended before its upgrade (the browser left): QEMU's side is closed. */
void vnc_abandon(struct req *q)
{
	if (q->proxy)
		proxy_free(q->proxy);
}

void vnc_close_all(struct web *w)
{
	while (w->proxies)
		proxy_free(w->proxies);
}
