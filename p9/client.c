/* The 9P2000.L client (p9/client.h): requests encoded and replies decoded by p9/msg.c, one
 * at a time, every wait a poll bounded by the caller's deadline. */
#include "p9/client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Twrite's fields before its data: size[4] type[1] tag[2] fid[4] offset[8] count[4] */
#define TWRITE_HDR 23
/* what the client asks at most: a console poll or a table needs no more */
#define CLIENT_MAXMSIZE (64 * 1024)

struct p9c {
	int rfd, wfd;
	bool sock;
	bool broken;
	uint32_t msize;
	uint16_t tag;
	uint32_t next_fid;
	uint64_t deadline;
	uint8_t *in, *out; /* CLIENT_MAXMSIZE each: a reply, a request */
	char why[160];
};

uint64_t p9c_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

struct p9c *p9c_new(int rfd, int wfd)
{
	struct p9c *c = calloc(1, sizeof(*c));
	if (c) {
		c->in = malloc(CLIENT_MAXMSIZE);
		c->out = malloc(CLIENT_MAXMSIZE);
	}
	if (!c || !c->in || !c->out) {
		if (c) {
			free(c->in);
			free(c->out);
		}
		free(c);
		close(rfd);
		if (wfd != rfd)
			close(wfd);
		return NULL;
	}
	int type;
	socklen_t tl = sizeof(type);
	c->rfd = rfd;
	c->wfd = wfd;
	c->sock = getsockopt(wfd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0;
	c->msize = P9_MINMSIZE;
	c->next_fid = 1;
	c->deadline = UINT64_MAX;
	/* every wait is a poll: a read or a write never blocks past the deadline */
	fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) | O_NONBLOCK);
	fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK);
	return c;
}

void p9c_free(struct p9c *c)
{
	if (!c)
		return;
	close(c->rfd);
	if (c->wfd != c->rfd)
		close(c->wfd);
	free(c->in);
	free(c->out);
	free(c);
}

void p9c_set_deadline(struct p9c *c, uint64_t deadline_ms) { c->deadline = deadline_ms; }

bool p9c_broken(const struct p9c *c) { return c->broken; }

const char *p9c_why(const struct p9c *c) { return c->why; }

static int give_up(struct p9c *c, int err, const char *why)
{
	if (!c->broken)
		snprintf(c->why, sizeof(c->why), "%s", why);
	c->broken = true;
	return err;
}

/* Waits until fd is ready for events: 0, -ETIMEDOUT at the deadline, or -errno. */
static int wait_fd(struct p9c *c, int fd, short events)
{
	for (;;) {
		uint64_t now = p9c_now_ms();
		if (now >= c->deadline)
			return -ETIMEDOUT;
		uint64_t left = c->deadline - now;
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0; /* an error or a hangup shows in the read or write that follows */
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int send_all(struct p9c *c, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = c->sock ? send(c->wfd, p, len, MSG_NOSIGNAL) : write(c->wfd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int r = wait_fd(c, c->wfd, POLLOUT);
			if (r)
				return r;
			continue;
		}
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

static int recv_all(struct p9c *c, uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = read(c->rfd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int r = wait_fd(c, c->rfd, POLLIN);
			if (r)
				return r;
			continue;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= n;
	}
	return 0;
}

/* The request is not answered in time: a Tflush goes, if it can go at once, so that the
 * server lets a parked read go; the connection is given up either way. */
static int timed_out(struct p9c *c, uint16_t tag)
{
	uint8_t buf[16];
	struct p9_msg f = {.type = P9_TFLUSH, .tag = (uint16_t)(tag + 1), .oldtag = tag};
	if (f.tag == P9_NOTAG)
		f.tag = 0;
	long n = p9_encode(&f, buf, sizeof(buf));
	if (n > 0) {
		ssize_t w = c->sock ? send(c->wfd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT)
				    : write(c->wfd, buf, n);
		(void)w; /* a peer that cannot take 9 bytes is gone anyway */
	}
	return give_up(c, -ETIMEDOUT, "no answer within its time: flushed, connection given up");
}

/* One request, its reply decoded into *r (its data and strings in c->in, valid until the
 * next call): 0, the Rlerror's -errno, or a transport error (the connection given up). */
static int rpc(struct p9c *c, struct p9_msg *t, struct p9_msg *r, uint8_t want)
{
	char why[160];
	if (c->broken)
		return -ECONNABORTED;
	if (p9c_now_ms() >= c->deadline)
		return -ETIMEDOUT; /* nothing sent: the connection stays good */
	if (t->type != P9_TVERSION) {
		if (++c->tag == P9_NOTAG)
			c->tag = 0;
		t->tag = c->tag;
	}
	long n = p9_encode(t, c->out, c->msize);
	if (n < 0)
		return n == -EMSGSIZE ? -EMSGSIZE : -EINVAL;
	int e = send_all(c, c->out, n);
	if (e == -ETIMEDOUT)
		return timed_out(c, t->tag);
	if (e) {
		snprintf(why, sizeof(why), "sending: %s", strerror(-e));
		return give_up(c, e, why);
	}
	for (;;) {
		const char *bad = "";
		e = recv_all(c, c->in, 4);
		long size = e ? e : p9_frame_size(c->in, c->msize, &bad);
		if (size > 0)
			e = recv_all(c, c->in + 4, size - 4);
		if (size == -EPROTO || (!e && (e = p9_decode(c->in, size, c->msize, r, &bad)))) {
			snprintf(why, sizeof(why), "a reply that is not one: %s", bad);
			return give_up(c, -EPROTO, why);
		}
		if (e == -ETIMEDOUT)
			return timed_out(c, t->tag);
		if (e) {
			snprintf(why, sizeof(why), "receiving: %s",
				 e == -ECONNRESET ? "the peer closed the connection" : strerror(-e));
			return give_up(c, e, why);
		}
		if (r->tag != t->tag)
			continue; /* a late reply to a request that was flushed */
		if (r->type == P9_RLERROR)
			return r->ecode ? -(int)r->ecode : -EIO;
		if (r->type != want) {
			snprintf(why, sizeof(why), "%s answered with %s", p9_type_name(t->type),
				 p9_type_name(r->type) ? p9_type_name(r->type) : "an unknown type");
			return give_up(c, -EPROTO, why);
		}
		return 0;
	}
}

static struct p9_str str(const char *s)
{
	size_t n = strlen(s);
	return (struct p9_str){s, n > UINT16_MAX ? UINT16_MAX : (uint16_t)n};
}

static uint32_t new_fid(struct p9c *c)
{
	uint32_t f = c->next_fid++;
	if (c->next_fid == P9_NOFID)
		c->next_fid = 1;
	return f;
}

int p9c_connect(struct p9c *c, uint32_t msize, const char *uname, uint32_t *root)
{
	return p9c_connect_aname(c, msize, uname, "", root);
}

int p9c_connect_aname(struct p9c *c, uint32_t msize, const char *uname, const char *aname,
		      uint32_t *root)
{
	struct p9_msg r;
	struct p9_msg t = {.type = P9_TVERSION, .tag = P9_NOTAG, .s1 = str(P9_VERSION)};
	t.msize = msize > CLIENT_MAXMSIZE ? CLIENT_MAXMSIZE : msize < P9_MINMSIZE ? P9_MINMSIZE : msize;
	/* its reply may be as large as what is asked */
	uint32_t asked = t.msize;
	c->msize = asked;
	int e = rpc(c, &t, &r, P9_RVERSION);
	if (e)
		return e;
	if (r.s1.len != strlen(P9_VERSION) || memcmp(r.s1.s, P9_VERSION, r.s1.len))
		return give_up(c, -EPROTONOSUPPORT, "the server does not speak 9P2000.L");
	if (r.msize < P9_MINMSIZE || r.msize > asked)
		return give_up(c, -EPROTO, "the server's msize is out of range");
	c->msize = r.msize;
	uint32_t fid = new_fid(c);
	t = (struct p9_msg){.type = P9_TATTACH, .fid = fid, .fid2 = P9_NOFID, .s1 = str(uname),
			    .s2 = str(aname), .n_uname = P9_NOFID};
	e = rpc(c, &t, &r, P9_RATTACH);
	if (!e)
		*root = fid;
	return e;
}

int p9c_walk(struct p9c *c, uint32_t fid, const char *path, uint32_t *newfid)
{
	struct p9_msg t, r;
	uint32_t nf = new_fid(c);
	bool made = false;
	const char *p = path;
	do {
		t = (struct p9_msg){.type = P9_TWALK, .fid = made ? nf : fid, .fid2 = nf};
		while (*p && t.nwname < P9_MAXWELEM) {
			while (*p == '/')
				p++;
			size_t len = strcspn(p, "/");
			if (!len)
				break;
			if (len > UINT16_MAX)
				return -ENAMETOOLONG;
			t.wname[t.nwname++] = (struct p9_str){p, (uint16_t)len};
			p += len;
		}
		while (*p == '/')
			p++;
		int e = rpc(c, &t, &r, P9_RWALK);
		if (!e && r.nwqid < t.nwname)
			e = -ENOENT; /* cut short: newfid was not moved (nor made) */
		if (e) {
			if (made)
				p9c_clunk(c, nf);
			return e;
		}
		made = true;
	} while (*p);
	*newfid = nf;
	return 0;
}

int p9c_lopen(struct p9c *c, uint32_t fid, uint32_t flags)
{
	struct p9_msg r, t = {.type = P9_TLOPEN, .fid = fid, .flags = flags};
	return rpc(c, &t, &r, P9_RLOPEN);
}

int p9c_lcreate(struct p9c *c, uint32_t fid, const char *name, uint32_t flags, uint32_t mode)
{
	struct p9_msg r, t = {.type = P9_TLCREATE, .fid = fid, .s1 = str(name), .flags = flags,
			      .mode = mode};
	return rpc(c, &t, &r, P9_RLCREATE);
}

int p9c_mkdir(struct p9c *c, uint32_t dfid, const char *name, uint32_t mode)
{
	struct p9_msg r, t = {.type = P9_TMKDIR, .fid = dfid, .s1 = str(name), .mode = mode};
	return rpc(c, &t, &r, P9_RMKDIR);
}

int p9c_getattr(struct p9c *c, uint32_t fid, struct p9_attr *a)
{
	struct p9_msg r, t = {.type = P9_TGETATTR, .fid = fid, .mask = P9_GETATTR_BASIC};
	int e = rpc(c, &t, &r, P9_RGETATTR);
	if (!e)
		*a = r.attr;
	return e;
}

/* Tread and Treaddir: the reply's data into buf. */
static ssize_t read_like(struct p9c *c, uint8_t type, uint32_t fid, uint64_t off, void *buf,
			 size_t count)
{
	if (count > c->msize - P9_IOHDR)
		count = c->msize - P9_IOHDR;
	struct p9_msg r, t = {.type = type, .fid = fid, .offset = off, .count = (uint32_t)count};
	int e = rpc(c, &t, &r, type + 1);
	if (e)
		return e;
	if (r.count > count)
		return give_up(c, -EPROTO, "a read answered with more than it asked");
	memcpy(buf, r.data, r.count);
	return r.count;
}

ssize_t p9c_read(struct p9c *c, uint32_t fid, uint64_t off, void *buf, size_t count)
{
	return read_like(c, P9_TREAD, fid, off, buf, count);
}

ssize_t p9c_readdir(struct p9c *c, uint32_t fid, uint64_t off, void *buf, size_t count)
{
	return read_like(c, P9_TREADDIR, fid, off, buf, count);
}

ssize_t p9c_write(struct p9c *c, uint32_t fid, uint64_t off, const void *buf, size_t count)
{
	if (count > c->msize - TWRITE_HDR)
		count = c->msize - TWRITE_HDR;
	struct p9_msg r, t = {.type = P9_TWRITE, .fid = fid, .offset = off, .count = (uint32_t)count,
			      .data = buf};
	int e = rpc(c, &t, &r, P9_RWRITE);
	if (e)
		return e;
	if (r.count > count)
		return give_up(c, -EPROTO, "a write answered with more than it sent");
	return r.count;
}

int p9c_clunk(struct p9c *c, uint32_t fid)
{
	struct p9_msg r, t = {.type = P9_TCLUNK, .fid = fid};
	return rpc(c, &t, &r, P9_RCLUNK);
}
