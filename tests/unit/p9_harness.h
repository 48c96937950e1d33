/* For the unit tests of 9P clients (test_p9client.c, test_rtrans.c): vmfs's own 9P server
 * (p9/srv.c) over a model with ns/lab and its container c1 (BUILDING), served from a thread
 * of its own, one connection at a time, so that a blocking client can be driven from the
 * test's thread. */
#ifndef VMFS_TESTS_P9_HARNESS_H
#define VMFS_TESTS_P9_HARNESS_H
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p9/msg.h"
#include "p9/srv.h"
#include "runtime/model.h"
#include "runtime/net.h"
#include "tests/unit/tap.h"
#include "vmfs/vreq.h"

static struct vmfs v;

/* The server side: one connection (fd), or each connection a listener accepts in turn. */
struct server {
	int fd, lfd;
	pthread_t t;
	int conns;   /* connections served */
	int flushes; /* Tflush messages it took */
	int waiting; /* requests still parked when the last client went */
};

static void srv_send(void *ctx, const uint8_t *buf, size_t len)
{
	struct server *s = ctx;
	while (len) {
		ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		buf += n;
		len -= n;
	}
}

static int read_full(int fd, uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static void serve_conn(struct server *s)
{
	struct vcred root = {0};
	struct p9_conn *c = p9_conn_new(&v, &root, srv_send, s);
	static uint8_t buf[P9_MAXMSIZE];
	const char *why;
	s->conns++;
	while (c && read_full(s->fd, buf, 4) == 0) {
		long size = p9_frame_size(buf, P9_MAXMSIZE, &why);
		if (size < 0 || read_full(s->fd, buf + 4, size - 4))
			break;
		if (buf[4] == P9_TFLUSH)
			s->flushes++;
		/* a walk whose last name is "hangup": the connection ends there, unanswered */
		if (buf[4] == P9_TWALK && size >= 23 && !memcmp(buf + size - 6, "hangup", 6))
			break;
		if (p9_conn_input(c, buf, size))
			break;
	}
	s->waiting = c ? p9_conn_waiting(c) : -1;
	p9_conn_free(c);
	close(s->fd);
}

static void *serve(void *arg)
{
	struct server *s = arg;
	if (s->lfd < 0) {
		serve_conn(s);
		return NULL;
	}
	while ((s->fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		serve_conn(s);
	return NULL;
}

/* A server on fd (one connection), or on a listener lfd (fd: -1) until harness_stop. */
static void harness_serve(struct server *s, int fd, int lfd)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->lfd = lfd;
	pthread_create(&s->t, NULL, serve, s);
}

/* Waits for the server's end: its connection closed by the client (or the listener shut
 * down here). */
static void harness_stop(struct server *s)
{
	if (s->lfd >= 0)
		shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->t, NULL);
	if (s->lfd >= 0)
		close(s->lfd);
}

/* DIR/state and DIR/images, and the model: ns/lab with c1. */
static bool harness_model(const char *dir, char *err, size_t errlen)
{
	char state[256], images[256];
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(images, sizeof(images), "%s/images", dir);
	mkdir(state, 0700);
	mkdir(images, 0700);
	evlog_init(&v.log, open(dir, O_RDONLY | O_DIRECTORY), "log");
	struct ns *ns;
	char *names[] = {"c1"};
	net_subscribe(&v.m); /* as vmfs does: VLAN aliases (vlans/) are kept and freed */
	return model_open(&v.m, state, images, err, errlen) == 0 &&
	       ns_create(&v.m, "lab", 0, 0, 0755, &ns, err, errlen) == 0 &&
	       obj_create_many(&v.m, ns, OT_CT, names, 1, NULL, err, errlen) == 0;
}

/* The test's start: SIGPIPE ignored (a peer gone is an error, as in vmfs), dir made from its
 * template (XXXXXX), the model in it. */
static bool harness_open(char *dir)
{
	char err[256] = "mkdtemp failed";
	signal(SIGPIPE, SIG_IGN);
	bool ready = mkdtemp(dir) && harness_model(dir, err, sizeof(err));
	ok(ready, "a model with lab/c1 (BUILDING)%s%s", ready ? "" : ": ", ready ? "" : err);
	return ready;
}

static void harness_close(const char *dir)
{
	char rm[128];
	model_close(&v.m);
	close(v.log.dirfd);
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	ok(system(rm) == 0, "cleaned up");
}

/* A TCP listener on a free port of 127.0.0.1. */
static inline int harness_listen(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl))
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}
#endif
