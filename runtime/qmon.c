/* QEMU serves each -qmp socket to one client at a time, so the monitor that stays
 * connected has a socket of its own (events.sock); qmp.sock stays free for commands and
 * for the user's qmp file. Nothing here blocks: lines are read as they come, and a QEMU that
 * stops answering only leaves its figures stale. */
#include "runtime/qmon.h"

#include <json-c/json.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "runtime/lifecycle.h"
#include "runtime/migrate.h"
#include "runtime/run.h"

struct qmon {
	struct rtsrc src; /* first: the epoll data points here */
	struct object *o;
	int fd;
	bool ready;     /* qmp_capabilities answered */
	bool asking;    /* a query-blockstats is unanswered: do not pile up another */
	struct timespec asked;
	size_t len;
	char buf[32768];
};

static void qmon_ready(struct model *m, struct rtsrc *s);

/* Sent whenever QEMU's run state may have changed; the answer carries id "status". */
#define QUERY_STATUS "{\"execute\":\"query-status\",\"id\":\"status\"}\n"

static void qmon_send(struct qmon *q, const char *cmd)
{
	/* a monitor whose socket is full is stuck: skipping a query costs one stale second */
	send(q->fd, cmd, strlen(cmd), MSG_DONTWAIT | MSG_NOSIGNAL);
}

int qmon_attach(struct model *m, struct object *o)
{
	if (o->rt.qmon || m->rtep < 0)
		return 0;
	int dfd = run_open(m, o);
	if (dfd < 0)
		return dfd;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	/* the run directory's path may be longer than sun_path allows */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/events.sock", dfd);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r = fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	close(dfd);
	struct qmon *q = r ? NULL : calloc(1, sizeof(*q));
	if (!q) {
		if (fd >= 0)
			close(fd);
		return r ? r : -ENOMEM;
	}
	q->src.ready = qmon_ready;
	q->o = o;
	q->fd = fd;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = q};
	if (epoll_ctl(m->rtep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		close(fd);
		free(q);
		return r;
	}
	obj_get(o);
	o->rt.qmon = q;
	qmon_send(q, "{\"execute\":\"qmp_capabilities\"}\n");
	return 0;
}

void qmon_detach(struct model *m, struct object *o)
{
	struct qmon *q = o->rt.qmon;
	if (!q)
		return;
	epoll_ctl(m->rtep, EPOLL_CTL_DEL, q->fd, NULL);
	close(q->fd);
	o->rt.qmon = NULL;
	free(q);
	obj_put(o);
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* QEMU's run state is the truth: events only say it may have changed. */
static void qmon_status(struct model *m, struct object *o, json_object *ret)
{
	const char *status = jstr(ret, "status");
	if (!status)
		return;
	snprintf(o->rt.status, sizeof(o->rt.status), "%s", status);
	migrate_status(o, status);
	if (!strcmp(status, "running")) {
		lifecycle_event(m, o, EV_RESUMED, "QEMU reports it running");
		return;
	}
	/* shutdown, postmigrate and the like end in QEMU's exit, which vm_check reports */
	static const char *const halted[] = {"paused", "io-error", "guest-panicked",
					     "internal-error", "watchdog", "suspended", "debug"};
	for (size_t i = 0; i < ARRAY_SIZE(halted); i++)
		if (!strcmp(status, halted[i]) && !lifecycle_allows(o, EV_GUEST_STOPPED, NULL, 0)) {
			char why[64];
			snprintf(why, sizeof(why), "QEMU stopped the guest (%s)", status);
			if (strcmp(status, "paused"))
				model_error(o->ns, o, "guest", why);
			lifecycle_event(m, o, EV_GUEST_STOPPED, why);
		}
}

static uint64_t jint(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	int64_t n = json_object_get_int64(v);
	return n > 0 ? (uint64_t)n : 0;
}

static void qmon_blockstats(struct qmon *q, json_object *ret)
{
	struct object *o = q->o;
	uint64_t rd = 0, wr = 0;
	if (!json_object_is_type(ret, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(ret); i++) {
		json_object *st;
		if (json_object_object_get_ex(json_object_array_get_idx(ret, i), "stats", &st)) {
			rd += jint(st, "rd_bytes");
			wr += jint(st, "wr_bytes");
		}
	}
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double secs = (now.tv_sec - o->rt.disk_at.tv_sec) + (now.tv_nsec - o->rt.disk_at.tv_nsec) / 1e9;
	if (o->rt.disk_at.tv_sec && secs > 0.1 && rd >= o->rt.disk_rd && wr >= o->rt.disk_wr) {
		o->rt.disk_rd_rate = (rd - o->rt.disk_rd) / secs;
		o->rt.disk_wr_rate = (wr - o->rt.disk_wr) / secs;
	}
	o->rt.disk_rd = rd;
	o->rt.disk_wr = wr;
	o->rt.disk_at = now;
}

static void qmon_event(struct model *m, struct qmon *q, const char *name, json_object *msg)
{
	struct object *o = q->o;
	json_object *data = NULL;
	json_object_object_get_ex(msg, "data", &data);
	migrate_event(m, o, name, msg);
	if (!strcmp(name, "STOP") || !strcmp(name, "RESUME"))
		qmon_send(q, QUERY_STATUS);
	else if (!strcmp(name, "SHUTDOWN")) {
		const char *reason = data ? jstr(data, "reason") : NULL;
		snprintf(o->rt.shutdown, sizeof(o->rt.shutdown), "%s", reason ? reason : "unknown");
	} else if (!strcmp(name, "GUEST_PANICKED"))
		snprintf(o->rt.shutdown, sizeof(o->rt.shutdown), "guest-panic");
	else if (!strcmp(name, "RESET"))
		model_event(o->ns, o, "the guest was reset");
	else if (!strcmp(name, "BLOCK_IO_ERROR")) {
		const char *dev = data ? jstr(data, "device") : NULL, *why = data ? jstr(data, "reason") : NULL;
		char line[256];
		snprintf(line, sizeof(line), "I/O error on disk %s: %s", dev && *dev ? dev : "?",
			 why ? why : "?");
		model_error(o->ns, o, "disk", line);
	}
}

static void qmon_line(struct model *m, struct qmon *q, const char *line)
{
	json_object *msg = json_tokener_parse(line), *ret;
	if (!msg || !json_object_is_type(msg, json_type_object)) {
		json_object_put(msg);
		return; /* not JSON: nothing from QEMU is trusted */
	}
	const char *id = jstr(msg, "id"), *ev = jstr(msg, "event");
	bool answer = json_object_object_get_ex(msg, "return", &ret);
	if (ev)
		qmon_event(m, q, ev, msg);
	else if (answer && !id && !q->ready) {
		q->ready = true; /* the capabilities reply; a restarted vmfs learns the state now */
		qmon_send(q, QUERY_STATUS
			     "{\"execute\":\"query-kvm\",\"id\":\"kvm\"}\n");
	} else if (answer && id && !strcmp(id, "status"))
		qmon_status(m, q->o, ret);
	else if (answer && id && !strcmp(id, "kvm")) {
		json_object *on;
		bool kvm = json_object_object_get_ex(ret, "enabled", &on) && json_object_get_boolean(on);
		snprintf(q->o->rt.accel, sizeof(q->o->rt.accel), "%s", kvm ? "kvm" : "tcg");
	}
	else if (id && !strcmp(id, "blockstats")) {
		q->asking = false;
		if (answer)
			qmon_blockstats(q, ret);
	}
	json_object_put(msg);
}

/* QEMU closed the monitor: it is ending (or ended). */
static void qmon_hangup(struct model *m, struct qmon *q)
{
	struct object *o = q->o;
	obj_get(o);
	qmon_detach(m, o);
	vm_check(m, o);
	obj_put(o);
}

static void qmon_ready(struct model *m, struct rtsrc *s)
{
	struct qmon *q = (struct qmon *)s;
	for (;;) {
		if (q->len == sizeof(q->buf))
			q->len = 0; /* a line longer than any answer we ask for: drop it */
		ssize_t n = recv(q->fd, q->buf + q->len, sizeof(q->buf) - q->len, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			qmon_hangup(m, q);
			return;
		}
		if (n < 0)
			return;
		q->len += n;
		char *start = q->buf, *nl;
		while ((nl = memchr(start, '\n', q->buf + q->len - start))) {
			*nl = 0;
			qmon_line(m, q, start);
			start = nl + 1;
		}
		q->len -= start - q->buf;
		memmove(q->buf, start, q->len);
	}
}

int qmon_command(struct object *o, const char *cmd)
{
	struct qmon *q = o->rt.qmon;
	char line[512];
	int n = snprintf(line, sizeof(line), "%s\n", cmd);
	if (!q || !q->ready)
		return -ENOTCONN;
	if (n < 0 || n >= (int)sizeof(line))
		return -E2BIG;
	return send(q->fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL) == n ? 0 : -errno;
}

void qmon_sample(struct model *m, struct object *o)
{
	struct qmon *q = o->rt.qmon;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!q || !q->ready)
		return;
	if (q->asking && now.tv_sec - q->asked.tv_sec < 10)
		return;
	q->asking = true;
	q->asked = now;
	qmon_send(q, "{\"execute\":\"query-blockstats\",\"id\":\"blockstats\"}\n");
}
