#include "runtime/qmpsess.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "runtime/qmp.h"

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

const char *qjstr(json_object *obj, const char *key)
{
	json_object *v;
	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

long long qjint(json_object *obj, const char *key)
{
	json_object *v;
	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

/* An event line goes to s->event; returns true if line was one. */
static bool event_line(struct qsess *s, json_object *msg)
{
	const char *name = qjstr(msg, "event");
	if (!name)
		return false;
	json_object *data = NULL, *ts = NULL;
	json_object_object_get_ex(msg, "data", &data);
	json_object_object_get_ex(msg, "timestamp", &ts);
	long long sec = qjint(ts, "seconds"), usec = qjint(ts, "microseconds");
	long long at = sec >= 0 && usec >= 0 && usec < 1000000 ? sec * 1000000 + usec : 0;
	if (s->event)
		s->event(s->ctx, name, json_object_is_type(data, json_type_object) ? data : NULL,
			 at);
	return true;
}

/* One line into line (NUL-terminated, at most linelen); -ETIMEDOUT past deadline. */
static int read_line(struct qsess *s, long long deadline, char *line, size_t linelen)
{
	for (;;) {
		char *nl = memchr(s->buf, '\n', s->len);
		if (nl) {
			size_t n = nl - s->buf;
			snprintf(line, linelen, "%.*s", (int)n, s->buf);
			memmove(s->buf, nl + 1, s->len - n - 1);
			s->len -= n + 1;
			return 0;
		}
		if (s->len == sizeof(s->buf))
			s->len = 0; /* longer than any line asked for: dropped */
		long long left = deadline - mono_ms();
		struct pollfd p = {s->fd, POLLIN, 0};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -ETIMEDOUT;
		ssize_t got = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
		if (got <= 0)
			return -ECONNRESET;
		s->len += got;
	}
}

int qsess_wait(struct qsess *s, int timeout_ms, bool (*done)(void *ctx))
{
	long long deadline = mono_ms() + timeout_ms;
	while (!done(s->ctx)) {
		int r = read_line(s, deadline, s->line, sizeof(s->line));
		if (r)
			return r;
		json_object *msg = json_tokener_parse(s->line);
		if (json_object_is_type(msg, json_type_object))
			event_line(s, msg);
		json_object_put(msg);
	}
	return 0;
}

/* cmd and its newline in one message, with fd (if >= 0) as its SCM_RIGHTS: QEMU takes a
 * passed descriptor from the message that carries the command naming it. */
static int send_cmd(struct qsess *s, const char *cmd, int fd)
{
	size_t len = strlen(cmd);
	struct iovec iov[2] = {{(void *)cmd, len}, {"\n", 1}};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u = {0};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	if (fd >= 0) {
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t n = sendmsg(s->fd, &mh, MSG_NOSIGNAL);
	return n == (ssize_t)len + 1 ? 0 : n < 0 ? -errno : -EIO;
}

int qsess_cmd(struct qsess *s, const char *cmd, int timeout_ms, char *reply, size_t replylen,
	      struct err *e)
{
	return qsess_cmd_fd(s, cmd, -1, timeout_ms, reply, replylen, e);
}

int qsess_cmd_fd(struct qsess *s, const char *cmd, int fd, int timeout_ms, char *reply,
		 size_t replylen, struct err *e)
{
	int sr = send_cmd(s, cmd, fd);
	if (sr)
		return err_sys(e, sr, "QMP: cannot send %s", cmd);
	long long deadline = mono_ms() + timeout_ms;
	for (;;) {
		int r = read_line(s, deadline, s->line, sizeof(s->line));
		if (r == -ETIMEDOUT)
			return err_set(e, r, "QEMU did not answer %s within %d ms", cmd,
				       timeout_ms);
		if (r)
			return err_set(e, r, "QEMU closed QMP while asked %s", cmd);
		json_object *msg = json_tokener_parse(s->line);
		bool ev = json_object_is_type(msg, json_type_object) && event_line(s, msg);
		json_object_put(msg);
		if (ev)
			continue;
		r = qmp_reply_parse(s->line, reply, replylen, e->why, sizeof(e->why));
		if (r <= 0)
			return r ? err_took(e, r) : 0;
	}
}

int qsess_open(struct qsess *s, int dirfd, int timeout_ms, struct err *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/qmp.sock", dirfd);
	s->len = 0;
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = err_sys(e, errno, "cannot reach QEMU's QMP socket");
		qsess_close(s);
		return r;
	}
	/* the greeting: the first line that is JSON */
	long long deadline = mono_ms() + timeout_ms;
	int r;
	json_object *g = NULL;
	while (!(r = read_line(s, deadline, s->line, sizeof(s->line))) &&
	       !(g = json_tokener_parse(s->line)))
		;
	bool greeted = !r && json_object_object_get_ex(g, "QMP", NULL);
	json_object_put(g);
	if (!greeted) {
		qsess_close(s);
		return err_set(e, r ? r : -EPROTO, "QEMU's QMP socket did not greet");
	}
	r = qsess_cmd(s, "{\"execute\":\"qmp_capabilities\"}", timeout_ms, NULL, 0, e);
	if (r)
		qsess_close(s);
	return r;
}

void qsess_close(struct qsess *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
