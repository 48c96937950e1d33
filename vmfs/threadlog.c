/* A thread's lines for host/log, written by the loop (vmfs/threadlog.h). */
#include "vmfs/threadlog.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "runtime/model.h"
#include "vmfs/loop.h"

int threadlog_init(struct threadlog *t, struct evlog *log, const char *prefix)
{
	*t = (struct threadlog){.log = log};
	snprintf(t->prefix, sizeof(t->prefix), "%s", prefix);
	if ((t->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return -errno;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void threadlog_say(struct threadlog *t, const char *fmt, ...)
{
	char *line = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	pthread_mutex_lock(&t->lock);
	if (line && t->n < THREADLOG_MAX) {
		t->lines[t->n++] = line;
		line = NULL;
	} else {
		t->dropped++;
	}
	pthread_mutex_unlock(&t->lock);
	free(line);
	uint64_t one = 1;
	if (write(t->efd, &one, sizeof(one)) < 0) {
		/* the counter is full: the loop has a wake-up pending anyway */
	}
}

int threadlog_flush(void *arg)
{
	struct threadlog *t = arg;
	uint64_t n;
	if (read(t->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return 0;
	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < t->n; i++) {
		evlog_add(t->log, "%s%s", t->prefix, t->lines[i]);
		free(t->lines[i]);
	}
	if (t->dropped)
		evlog_add(t->log, "%s%u lines more were left out", t->prefix, t->dropped);
	t->n = t->dropped = 0;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int threadlog_attach(struct threadlog *t, struct loop *l)
{
	return loop_add_fd(l, t->efd, threadlog_flush, t);
}

void threadlog_fini(struct threadlog *t)
{
	if (t->efd < 0)
		return;
	threadlog_flush(t);
	close(t->efd);
	t->efd = -1;
	pthread_mutex_destroy(&t->lock);
}
