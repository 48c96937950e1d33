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

struct link {
	struct p9door *d;
	struct link *next;
	int fd;
	uint32_t events; /* what the loop watches now */
	struct p9_conn *c;
	uint8_t *in; /* bytes read, not yet a whole message */
	size_t inlen, incap;
	uint8_t *out; /* replies the peer has not read yet: out[outoff, outoff + outlen) */
	size_t outoff, outlen, outcap;
	bool dead; /* closed at the end of its own event, why says why ("" quietly) */
	char why[320];
	bool tcp; /* the peer's key for its count: an address, or a uid on the socket */
	uint32_t addr;
	uid_t uid;
	char who[64]; /* "10.0.0.2:41234", "uid 1000 (pid 123)" */
};

struct p9door {
	struct vmfs *v;
	struct loop *loop; /* vmfs's: listeners and links are in it (NULL until attached) */
	int tcpfd, unixfd;
	unsigned resting; /* listeners out of the loop until the tick: 1 TCP, 2 the socket */
	char addr[64];
	char sock[108];
	dev_t sock_dev;
	ino_t sock_ino;
	struct {
		uint32_t net, mask;
	} peers[P9_PEERS_MAX];
	int npeers;
	bool cluster_peers; /* p9_peers names `cluster`: the hosts of the etcd cluster too */
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

/* The listeners join the loop l (the door's attach, less its tick: a test drives both). */
int p9door_watch(struct p9door *d, struct loop *l);
/* One round of the loop, not waiting (a test's, by hand): the events handled. */
int p9door_run(struct p9door *d);
/* Every 2 s: the log's window, and listeners that rested (out of descriptors) watched again. */
int p9door_tick(void *arg);

/* A connection accepted (fd non-blocking) for who, acting as cred and groups; the door owns
 * it now. 0 or -errno (fd closed). */
int link_open(struct p9door *d, int fd, const struct vcred *cred, const struct who *w,
	      const char *who, bool tcp, uint32_t addr);
/* What the loop said of l (a struct link *): read, frame, answer, send; closed if it ended. */
int link_event(void *l, uint32_t events);
/* l is to close: why is logged ("" for an ordinary end). */
void link_kill(struct link *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Out of the loop, closed and freed (unlinked from d->links by the caller). */
void link_close(struct link *l);
#endif
