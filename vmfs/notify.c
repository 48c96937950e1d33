/* Telling the kernel that a name is gone (a VM flushed by a ctl command, not by rmdir).
 *
 * Why a thread: the kernel takes the parent directory's lock to drop the entry. If another
 * process holds that lock while it waits for our answer (a mkdir in the same directory),
 * the event loop would wait on the kernel and the kernel on the event loop. This thread
 * only writes to /dev/fuse, so it may wait; it touches nothing of the model. */
#define FUSE_USE_VERSION 31
#include "vmfs/notify.h"

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct inval {
	struct inval *next;
	uint64_t parent;
	char name[];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond, idle;
	struct inval *head, **tail;
	struct fuse_session *se;
	pthread_t thread;
	bool running, stop, busy;
} N = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};

static void *notify_main(void *arg)
{
	pthread_mutex_lock(&N.lock);
	for (;;) {
		while (!N.head && !N.stop)
			pthread_cond_wait(&N.cond, &N.lock);
		if (!N.head)
			break;
		struct inval *iv = N.head;
		N.head = iv->next;
		if (!N.head)
			N.tail = &N.head;
		N.busy = true;
		pthread_mutex_unlock(&N.lock);
		/* ENOENT (the kernel had no such entry) is the common, harmless answer */
		fuse_lowlevel_notify_inval_entry(N.se, iv->parent, iv->name, strlen(iv->name));
		free(iv);
		pthread_mutex_lock(&N.lock);
		N.busy = false;
		if (!N.head)
			pthread_cond_broadcast(&N.idle);
	}
	pthread_mutex_unlock(&N.lock);
	return NULL;
}

int notify_start(struct fuse_session *se)
{
	sigset_t all, old;
	N.se = se;
	N.tail = &N.head;
	N.stop = false;
	sigfillset(&all); /* signals belong to the event loop's signalfd */
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = pthread_create(&N.thread, NULL, notify_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	N.running = r == 0;
	return -r;
}

void notify_inval(uint64_t parent, const char *name)
{
	if (!N.running)
		return;
	size_t len = strlen(name);
	struct inval *iv = malloc(sizeof(*iv) + len + 1);
	if (!iv)
		return; /* the entry then expires by itself within its timeout */
	iv->next = NULL;
	iv->parent = parent;
	memcpy(iv->name, name, len + 1);
	pthread_mutex_lock(&N.lock);
	*N.tail = iv;
	N.tail = &iv->next;
	pthread_cond_signal(&N.cond);
	pthread_mutex_unlock(&N.lock);
}

void notify_settle(int max_ms)
{
	if (!N.running)
		return;
	struct timespec end;
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_nsec += (long)max_ms * 1000000;
	end.tv_sec += end.tv_nsec / 1000000000;
	end.tv_nsec %= 1000000000;
	pthread_mutex_lock(&N.lock);
	while ((N.head || N.busy) && pthread_cond_timedwait(&N.idle, &N.lock, &end) == 0)
		;
	pthread_mutex_unlock(&N.lock);
}

void notify_stop(void)
{
	if (!N.running)
		return;
	pthread_mutex_lock(&N.lock);
	N.stop = true;
	pthread_cond_signal(&N.cond);
	pthread_mutex_unlock(&N.lock);
	pthread_join(N.thread, NULL);
	N.running = false;
}
