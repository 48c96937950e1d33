/* Lines for host/log from a thread of vmfs's own (Avahi's, etcd membership's). The event log is
 * the loop's alone, so such a thread queues its lines here (bounded: a thread that talks without
 * end costs a count, not memory) and the loop writes them, woken by an eventfd. */
#ifndef VMFS_THREADLOG_H
#define VMFS_THREADLOG_H
#include <pthread.h>

struct evlog;
struct loop;

#define THREADLOG_MAX 64 /* lines waiting at most; the rest are counted */

struct threadlog {
	struct evlog *log;
	char prefix[32]; /* "etcd: ", "discovery: " */
	int efd;
	pthread_mutex_t lock; /* what follows */
	char *lines[THREADLOG_MAX];
	unsigned n, dropped;
};

/* 0, or -errno (no eventfd). */
int threadlog_init(struct threadlog *t, struct evlog *log, const char *prefix);
/* From any thread. */
void threadlog_say(struct threadlog *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* In the loop: what waits goes to the log now. Also the loop's callback (arg: t). */
int threadlog_flush(void *t);
int threadlog_attach(struct threadlog *t, struct loop *l);
/* After the thread has ended: flushes and frees. */
void threadlog_fini(struct threadlog *t);
#endif
