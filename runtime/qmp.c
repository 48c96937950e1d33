#include "runtime/qmp.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct qconn {
	int fd;
	char buf[65536];
	size_t len, used;
	long deadline_ms;
};

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Reads one line (NUL-terminated in place, valid until the next call); -ETIMEDOUT past the
 * deadline, -ECONNRESET if QEMU went away. */
static int qmp_line(struct qconn *c, char **out)
{
	if (c->used) { /* the line returned last time */
		memmove(c->buf, c->buf + c->used, c->len - c->used);
		c->len -= c->used;
		c->used = 0;
	}
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			*nl = 0;
			c->used = nl + 1 - c->buf;
			*out = c->buf;
			return 0;
		}
		long left = c->deadline_ms - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if (c->len == sizeof(c->buf))
			return -EMSGSIZE;
		struct pollfd p = {c->fd, POLLIN, 0};
		if (poll(&p, 1, (int)left) <= 0)
			return -ETIMEDOUT;
		ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n <= 0)
			return -ECONNRESET;
		c->len += n;
	}
}

int qmp_reply_parse(const char *line, char *reply, size_t replylen, char *err, size_t errlen)
{
	json_object *o = json_tokener_parse(line), *v;
	int r = 1; /* not JSON, an event, or the greeting: not the answer */
	if (json_object_object_get_ex(o, "return", &v)) {
		if (reply)
			snprintf(reply, replylen, "%s",
				 json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		r = 0;
	} else if (json_object_object_get_ex(o, "error", &v)) {
		json_object *cls = NULL, *desc = NULL;
		json_object_object_get_ex(v, "class", &cls);
		json_object_object_get_ex(v, "desc", &desc);
		snprintf(err, errlen, "QEMU: %s: %s",
			 json_object_is_type(cls, json_type_string) ? json_object_get_string(cls) : "?",
			 json_object_is_type(desc, json_type_string) ? json_object_get_string(desc) : "?");
		r = -EIO;
	}
	json_object_put(o);
	return r;
}

/* Waits for the answer to the last command: {"return": ...} or {"error": ...}. */
static int qmp_answer(struct qconn *c, char *reply, size_t replylen, char *err, size_t errlen)
{
	for (;;) {
		char *line;
		int r = qmp_line(c, &line);
		if (r || (r = qmp_reply_parse(line, reply, replylen, err, errlen)) <= 0)
			return r;
	}
}

static int qmp_connect(int dirfd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/qmp.sock", dirfd);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static int qmp_send(int fd, const char *s)
{
	size_t len = strlen(s);
	if (send(fd, s, len, MSG_NOSIGNAL) != (ssize_t)len || send(fd, "\n", 1, MSG_NOSIGNAL) != 1)
		return -errno;
	return 0;
}

int qmp_run(int dirfd, const char *cmd, int timeout_ms, char *reply, size_t replylen, char *err,
	    size_t errlen)
{
	static struct qconn c; /* 64 KiB: not on the stack; one command at a time */
	json_object *greeting = NULL;
	if (errlen)
		err[0] = 0;
	c.len = c.used = 0;
	c.deadline_ms = now_ms() + timeout_ms;
	c.fd = qmp_connect(dirfd);
	if (c.fd < 0) {
		snprintf(err, errlen, "cannot reach QEMU's QMP socket: %s", strerror(-c.fd));
		return c.fd;
	}
	char *line;
	int r;
	while (!(r = qmp_line(&c, &line)) && !(greeting = json_tokener_parse(line)))
		; /* not JSON: skip it */
	if (!r && !json_object_object_get_ex(greeting, "QMP", NULL))
		r = -EPROTO;
	json_object_put(greeting);
	if (!r)
		r = qmp_send(c.fd, "{\"execute\":\"qmp_capabilities\"}");
	if (!r)
		r = qmp_answer(&c, NULL, 0, err, errlen);
	if (!r)
		r = qmp_send(c.fd, cmd);
	if (!r)
		r = qmp_answer(&c, reply, replylen, err, errlen);
	close(c.fd);
	if (r == -ETIMEDOUT)
		snprintf(err, errlen, "QEMU did not answer %s within %d ms", cmd, timeout_ms);
	else if (r && r != -EIO && !*err)
		snprintf(err, errlen, "QMP: %s", strerror(-r));
	return r;
}
