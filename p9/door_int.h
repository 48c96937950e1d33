/* Inside the 9P door (p9/door.h): the door's state, shared by door.c (listening, who the
 * peer is, admission) and link.c (one connection's framing and output queue). */
#ifndef VMFS_P9_DOOR_INT_H
#define VMFS_P9_DOOR_INT_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "p9/srv.h"
#include "runtime/imgrights.h"

/* queued replies past which the peer's requests are not read until it reads (a pipelining
 * client is slowed, not closed) */
#define P9_OUT_SOFT (2 * P9_MAXMSIZE)
/* queued replies past which the connection is closed: answers that come later (parked reads)
 * cannot be held back by not reading */
#define P9_OUT_MAX (64 * P9_MAXMSIZE)
#define P9_PEERS_MAX 64

/* What the inner epoll's events point to: a listener or a link. */
enum src_kind { SRC_TCP, SRC_UNIX, SRC_LINK };

struct link {
	enum src_kind kind; /* SRC_LINK: first, as in a listener's */
	struct p9door *d;
	struct link *next;
	int fd;
	uint32_t events; /* what the inner epoll watches now */
	struct p9_conn *c;
	uint8_t *in; /* bytes read, not yet a whole message */
	size_t inlen, incap;
	uint8_t *out; /* replies the peer has not read yet: out[outoff, outoff + outlen) */
	size_t outoff, outlen, outcap;
	bool dead; /* closed at the end of this round of events, why says why ("" quietly) */
	char why[320];
	bool tcp; /* the peer's key for its count: an address, or a uid on the socket */
	uint32_t addr;
	uid_t uid;
	char who[64]; /* "10.0.0.2:41234", "uid 1000 (pid 123)" */
};

struct p9door {
	struct vmfs *v;
	int ep; /* the inner epoll: listeners and links; the loop watches it */
	enum src_kind tcp_kind, unix_kind;
	int tcpfd, unixfd;
	char addr[64];
	char sock[108];
	dev_t sock_dev;
	ino_t sock_ino;
	struct {
		uint32_t net, mask;
	} peers[P9_PEERS_MAX];
	int npeers;
	struct who tcp_who; /* p9_user: what TCP peers act as */
	char tcp_user[64];
	struct link *links;
	int nlinks;
	time_t refuse_win;
	unsigned refused, unlogged;
};

/* A line in host/log, at most 200 in 10 s (a flood must not fill it). */
void p9door_log(struct p9door *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void p9door_log_flush(struct p9door *d, time_t now);

/* The inner epoll is ready (the loop's callback; a test calls it by hand): each event, then
 * the links that ended are closed. */
int p9door_run(void *arg);

/* A connection accepted (fd non-blocking) for who, acting as cred and groups; the door owns
 * it now. 0 or -errno (fd closed). */
int link_open(struct p9door *d, int fd, const struct vcred *cred, const struct who *w,
	      const char *who, bool tcp, uint32_t addr);
/* What the inner epoll said of l: read, frame, answer, send. */
void link_event(struct link *l, uint32_t events);
/* l is to close: why is logged ("" for an ordinary end). */
void link_kill(struct link *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Closes and frees l (unlinked from d->links by the caller). */
void link_close(struct link *l);
#endif
