/* A VM's VNC in the browser: a websocket on .../vnc is passed through to QEMU's VNC server
 * on its Unix socket (run/vnc.sock, which only root reaches), after http.c has checked who
 * asks (auth and Origin). QEMU cannot serve websockets on a Unix socket, so vmfs speaks the
 * websocket side (RFC 6455) itself: the handshake, client frames unmasked into bytes for
 * QEMU, QEMU's bytes sent as binary frames. RFB itself passes untouched.
 *
 * Both sockets join an epoll of their own (in vmfs's loop) and each direction has one
 * buffer: a full buffer stops reading its source until the other side drains it, so a slow
 * browser slows QEMU's updates down instead of growing memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "runtime/run.h"
#include "runtime/vm.h"
#include "web/web_int.h"

#define BUF (64 * 1024)
#define WS_HEAD 4 /* a server frame's header for a payload under 64 KiB */
#define WS_RAW 4096 /* the browser's frames, before unmasking */

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
	/* the browser's side: frames read, not yet unmasked into buf[0] */
	size_t rawlen;
	uint64_t left; /* bytes of the current frame's payload still to come */
	unsigned kpos;
	bool data; /* the current frame carries RFB (not a ping or pong) */
	unsigned char key[4];
	unsigned char raw[WS_RAW];
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

/* Unmasks what raw holds of the browser's frames into buf[0], as far as it has room. -1 for
 * a close frame or one that breaks the protocol (a client's frames are masked). */
static int ws_decode(struct proxy *p)
{
	size_t r = 0;
	while (r < p->rawlen && p->len[0] < BUF) {
		if (!p->left) {
			const unsigned char *h = p->raw + r;
			size_t avail = p->rawlen - r, hl = 2;
			if (avail < 2)
				break;
			uint64_t len = h[1] & 0x7f;
			hl += len == 126 ? 2 : len == 127 ? 8 : 0;
			if (!(h[1] & 0x80) || (h[0] & 0x0f) == 8)
				return -1;
			if (avail < hl + 4)
				break;
			if (len >= 126) {
				len = 0;
				for (size_t i = 2; i < hl; i++)
					len = len << 8 | h[i];
			}
			memcpy(p->key, h + hl, 4);
			p->data = (h[0] & 0x0f) <= 2; /* continuation, text or binary */
			p->left = len;
			p->kpos = 0;
			r += hl + 4;
			continue;
		}
		size_t take = p->rawlen - r;
		if (take > p->left)
			take = p->left;
		if (p->data && take > BUF - p->len[0])
			take = BUF - p->len[0];
		for (size_t i = 0; p->data && i < take; i++)
			p->buf[0][p->len[0]++] = p->raw[r + i] ^ p->key[p->kpos++ & 3];
		r += take;
		p->left -= take;
	}
	memmove(p->raw, p->raw + r, p->rawlen - r);
	p->rawlen -= r;
	return 0;
}

/* Refills an empty buf[i]: 1 when it holds something, 0 when nothing came, -1 at the end. */
static int fill(struct proxy *p, int i)
{
	p->off[i] = 0;
	for (;;) {
		if (!i && ws_decode(p) < 0)
			return -1;
		if (!i && p->len[0])
			return 1;
		ssize_t n = i ? recv(p->fd[1], p->buf[1] + WS_HEAD, BUF - WS_HEAD, MSG_DONTWAIT)
			      : recv(p->fd[0], p->raw + p->rawlen, WS_RAW - p->rawlen, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (n < 0)
			return 0;
		if (!i) {
			p->rawlen += n;
			continue;
		}
		/* one binary frame per read: FIN, opcode 2, no mask, a 7- or 16-bit length */
		unsigned char *h = (unsigned char *)p->buf[1] + (n < 126 ? 2 : 0);
		h[0] = 0x82;
		if (n < 126)
			h[1] = n;
		else
			h[1] = 126, h[2] = n >> 8, h[3] = n & 0xff;
		p->off[1] = n < 126 ? 2 : 0;
		p->len[1] = WS_HEAD + n;
		return 1;
	}
}

/* Moves what can move both ways; marks the proxy dead when either side ends. */
static void proxy_pump(struct proxy *p)
{
	for (int i = 0; i < 2 && !p->dead; i++) {
		for (;;) {
			if (!p->len[i]) {
				int r = fill(p, i);
				if (r < 0)
					p->dead = true;
				if (r <= 0)
					break;
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
	if (extra_len > WS_RAW)
		extra_len = 0, p->dead = true; /* not a VNC client: nothing that large comes first */
	memcpy(p->raw, extra, extra_len);
	p->rawlen = extra_len;
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

/* RFC 6455's answer to the browser's key: base64(SHA-1(key GUID)). */
static int ws_accept(const char *key, char *accept, size_t len)
{
	char in[128];
	unsigned char sum[20];
	int n = snprintf(in, sizeof(in), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
	gnutls_datum_t d = {sum, sizeof(sum)}, b64 = {0};
	if (gnutls_hash_fast(GNUTLS_DIG_SHA1, in, n, sum) || gnutls_base64_encode2(&d, &b64))
		return -EIO;
	snprintf(accept, len, "%.*s", (int)b64.size, (char *)b64.data);
	gnutls_free(b64.data);
	return 0;
}

/* Checks the browser's websocket request and connects to QEMU's VNC socket (through the
 * run directory's descriptor: its path may be longer than sun_path). */
static int qemu_connect(struct req *q, struct object *o, struct proxy *p, char *accept,
			char *proto, char *err, size_t errlen)
{
	const char *key = web_header(q, "Sec-WebSocket-Key");
	const char *want = web_header(q, "Sec-WebSocket-Protocol");
	if (!key || strlen(key) > 64 || strpbrk(key, "\r\n")) {
		snprintf(err, errlen, "not a websocket request (Sec-WebSocket-Key)");
		return -EINVAL;
	}
	/* noVNC asks for binary, or for nothing */
	snprintf(proto, 128, "%s", want && strstr(want, "binary") ? "binary" : "");
	if (ws_accept(key, accept, 64)) {
		snprintf(err, errlen, "cannot compute the websocket answer");
		return -EIO;
	}
	int dfd = run_open(&q->w->v->m, o);
	if (dfd < 0) {
		snprintf(err, errlen, "%s has no run directory: %s", o->name, strerror(-dfd));
		return dfd;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	/* QEMU (not root) made it in its own directory: a link there to another socket (a root
	 * daemon's) is not followed, only a socket is connected to */
	int sfd = openat(dfd, QEMU_DIR "/" VNC_SOCKET, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (sfd >= 0 && (fstat(sfd, &st) < 0 || !S_ISSOCK(st.st_mode))) {
		close(sfd);
		sfd = -1;
		errno = ENOTSOCK;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d", sfd);
	int fd = sfd < 0 ? -1 : socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r = fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	if (sfd >= 0)
		close(sfd);
	if (r) {
		snprintf(err, errlen, "QEMU's VNC socket does not answer: %s", strerror(-r));
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	p->fd[1] = fd;
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
	if (!vm_has_display(o, err, sizeof(err))) {
		node_reject(q->w->v, n, "vnc", err);
		web_fail(q, ENODEV, err);
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
	int r = qemu_connect(q, o, p, accept, proto, err, sizeof(err));
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
