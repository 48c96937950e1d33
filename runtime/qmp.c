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
	size_t len;
	long deadline_ms;
};

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Reads one JSON line; -ETIMEDOUT past the deadline, -ECONNRESET if QEMU went away. */
static int qmp_line(struct qconn *c, json_object **out)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			*nl = 0;
			*out = json_tokener_parse(c->buf);
			size_t used = nl + 1 - c->buf;
			memmove(c->buf, nl + 1, c->len - used);
			c->len -= used;
			if (*out)
				return 0;
			continue; /* not JSON: skip it */
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

/* Waits for the answer to the last command: {"return": ...} or {"error": ...}. */
static int qmp_answer(struct qconn *c, char *reply, size_t replylen, char *err, size_t errlen)
{
	for (;;) {
		json_object *o, *v;
		int r = qmp_line(c, &o);
		if (r)
			return r;
		if (json_object_object_get_ex(o, "return", &v)) {
			if (reply)
				snprintf(reply, replylen, "%s",
					 json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
			json_object_put(o);
			return 0;
		}
		if (json_object_object_get_ex(o, "error", &v)) {
			json_object *cls = NULL, *desc = NULL;
			json_object_object_get_ex(v, "class", &cls);
			json_object_object_get_ex(v, "desc", &desc);
			snprintf(err, errlen, "QEMU: %s: %s",
				 json_object_is_type(cls, json_type_string) ? json_object_get_string(cls) : "?",
				 json_object_is_type(desc, json_type_string) ? json_object_get_string(desc) : "?");
			json_object_put(o);
			return -EIO;
		}
		json_object_put(o); /* an event, or the greeting: not the answer */
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
	c.len = 0;
	c.deadline_ms = now_ms() + timeout_ms;
	c.fd = qmp_connect(dirfd);
	if (c.fd < 0) {
		snprintf(err, errlen, "cannot reach QEMU's QMP socket: %s", strerror(-c.fd));
		return c.fd;
	}
	int r = qmp_line(&c, &greeting);
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
