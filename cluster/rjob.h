/* File operations on another host's tree (a network mount: sshfs, 9P, NFS), bounded in time.
 *
 * vmfs answers everything from one thread, and a read on a network mount whose host went
 * away can block for as long as the network filesystem waits (sshfs: until its keep-alives
 * give up, or forever without them). So each member has a worker thread that makes the
 * system calls, one job at a time, and hands results back through an eventfd in the
 * model's epoll. The main thread holds the deadlines: a job that overstays its time fails
 * with ETIMEDOUT at once, and the worker stuck in the kernel is abandoned (it frees itself
 * whenever its call returns, and its late result is dropped); the next job gets a new
 * worker. The thread copies what it needs from a job before the call and writes its result
 * back only while the job is still waited for, so an abandoned job is never touched. */
#ifndef VMFS_CLUSTER_RJOB_H
#define VMFS_CLUSTER_RJOB_H
#include <stdbool.h>
#include <stdint.h>

#include "runtime/util.h"

struct model;
struct rworker;
struct rtarget;

enum rop {
	ROP_READ,  /* the whole file (at most 16 MiB) into out */
	ROP_WRITE, /* in, written at offset 0 (O_WRONLY | O_TRUNC) */
	ROP_CTL,   /* in written to a ctl, then its answer read back on the same descriptor */
	ROP_MKDIR,
	ROP_RUN,   /* runs argv (in: NUL-separated) and waits for it: mounts, unmounts */
	ROP_TAIL,  /* what a growing file (console.log) has from off, waiting up to 20 s for
		    * more: polled, so the other host's file server is never held, and a worker
		    * let go stops at its next poll */
};

struct rjob {
	enum rop op;
	char path[BUILT_PATH_MAX];
	struct sbuf in, out;
	uint64_t off; /* ROP_TAIL: from where; after: where the next read goes on */
	int err;     /* 0, or -errno (-ETIMEDOUT when the deadline passed, -EHOSTDOWN if dropped);
		      * the member's own errno over 9P. On a failure of the transport itself
		      * (a connection refused), out says why in words */
	unsigned ms; /* how long it took */
	void (*done)(struct rjob *j); /* in the main thread; it may free j (rjob_free) */
	void *arg;
	/* the worker's */
	struct rjob *next;
	uint64_t deadline, t0, timeout;
};

struct rjob *rjob_new(enum rop op, const char *path, void (*done)(struct rjob *), void *arg);
void rjob_free(struct rjob *j);

/* A worker whose eventfd joins m's epoll, its jobs' paths taken as they are (POSIX calls).
 * NULL on failure. */
struct rworker *rworker_new(struct model *m);
/* One whose jobs' paths are relative to the member's tree that target names, reached by its
 * transport (cluster/rtrans.h): a thread's own connection, made at its first job. */
struct rworker *rworker_new_to(struct model *m, const struct rtarget *target);
/* Queues j; its done is called exactly once, from the main thread. */
void rworker_submit(struct rworker *w, struct rjob *j, unsigned timeout_ms);
/* On the main thread's tick: true if the running job is past its deadline; then every job
 * of w has been failed (ETIMEDOUT for the running one, EHOSTDOWN for the queued), w is
 * abandoned, and the caller must forget it. */
bool rworker_expire(struct rworker *w);
/* Fails the queued jobs with EHOSTDOWN and lets the thread go (now if idle, else when its
 * call returns). */
void rworker_drop(struct rworker *w);
/* Lets w go once its queued jobs are done and delivered (an unmount at remove). */
void rworker_retire(struct rworker *w);
#endif
