#include "vmfs/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define LOOP_MAX 32

struct source {
	int fd;
	loop_fn fn;
	void *arg;
	int owned; /* closed by loop_free */
};

struct loop {
	int ep;
	struct source src[LOOP_MAX];
	int n;
};

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->n; i++)
		if (l->src[i].owned)
			close(l->src[i].fd);
	close(l->ep);
	free(l);
}

static int loop_add(struct loop *l, int fd, loop_fn fn, void *arg, int owned)
{
	if (l->n == LOOP_MAX)
		return -ENOSPC;
	struct source *s = &l->src[l->n];
	*s = (struct source){fd, fn, arg, owned};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	l->n++;
	return 0;
}

int loop_add_fd(struct loop *l, int fd, loop_fn fn, void *arg)
{
	return loop_add(l, fd, fn, arg, 0);
}

static int on_signal(void *arg)
{
	struct signalfd_siginfo si;
	int fd = (int)(intptr_t)arg;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return 0;
	return 1; /* every signal we take means: unmount and exit */
}

int loop_add_signals(struct loop *l)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	int r = loop_add(l, fd, on_signal, (void *)(intptr_t)fd, 1);
	if (r)
		close(fd);
	return r;
}

struct timer {
	loop_fn fn;
	void *arg;
	int fd;
};

int loop_add_timer(struct loop *l, unsigned ms, loop_fn fn, void *arg)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct itimerspec it = {{ms / 1000, (ms % 1000) * 1000000L}, {ms / 1000, (ms % 1000) * 1000000L}};
	timerfd_settime(fd, 0, &it, NULL);
	int r = loop_add(l, fd, fn, arg, 1);
	if (r)
		close(fd);
	return r;
}

int loop_run(struct loop *l)
{
	struct epoll_event ev[16];
	for (;;) {
		int n = epoll_wait(l->ep, ev, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct source *s = ev[i].data.ptr;
			if (s->owned && s->fn != on_signal) {
				uint64_t ticks; /* a timer: drain its count */
				if (read(s->fd, &ticks, sizeof(ticks)) < 0 && errno == EAGAIN)
					continue;
			}
			if (s->fn(s->arg))
				return 0;
		}
	}
}
