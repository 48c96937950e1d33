/* Blocking work (etcd's calls) on a thread of its own, its end handled on the model's loop:
 * the thread runs work, then the loop joins it and calls done. A job embeds struct bgjob
 * first, so that work and done get it back by a cast. */
#ifndef VMFS_BGJOB_H
#define VMFS_BGJOB_H
#include <pthread.h>
#include <stdbool.h>

#include "runtime/model.h"

struct bgjob {
	struct rtsrc src; /* first: the model's epoll hands it back */
	struct model *m;
	int efd;
	pthread_t th;
	bool threaded; /* a thread to join (bgjob_start), not a timer (bgjob_after) */
	void (*work)(struct bgjob *b); /* on the thread */
	void (*done)(struct bgjob *b); /* on the loop, the thread joined */
};

/* Starts work on a new thread; done follows on the loop. 0, or -errno (nothing started). A
 * job may be started again from its own done. */
int bgjob_start(struct bgjob *b, struct model *m, void (*work)(struct bgjob *b),
		void (*done)(struct bgjob *b));
/* Calls done on the loop after ms milliseconds, with no thread: a job that waits for something
 * the loop sees (this host's cache) looks again without a thread per look. 0, or -errno. */
int bgjob_after(struct bgjob *b, struct model *m, unsigned ms, void (*done)(struct bgjob *b));
#endif
