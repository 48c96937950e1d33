#include "vmfs/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* A watched descriptor; epoll's events point to it. */
struct source {
	struct source *next;
	int fd;
	loop_fn fn;
	loop_io_fn io; /* instead of fn: told the events */
	void *arg;
	int owned; /* closed by loop_free */
	int gone;  /* removed: its events of this round are dropped, it is freed after it */
};

struct loop {
	int ep;
	struct source *src;  /* watched */
	struct source *gone; /* removed during this round */
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
	for (struct source *lists[] = {l->src, l->gone}, **p = lists; p < lists + 2; p++)
		for (struct source *s = *p, *next; s; s = next) {
			next = s->next;
			if (s->owned && !s->gone)
				close(s->fd);
			free(s);
		}
	close(l->ep);
	free(l);
}

static int loop_watch(struct loop *l, struct source proto, uint32_t events)
{
	struct source *s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = proto;
	struct epoll_event ev = {.events = events, .data.ptr = s};
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
		int e = errno;
		free(s);
		return -e;
	}
	s->next = l->src;
	l->src = s;
	return 0;
}

static int loop_add(struct loop *l, int fd, loop_fn fn, void *arg, int owned)
{
	return loop_watch(l, (struct source){.fd = fd, .fn = fn, .arg = arg, .owned = owned},
			  EPOLLIN);
}

int loop_add_fd(struct loop *l, int fd, loop_fn fn, void *arg)
{
	return loop_add(l, fd, fn, arg, 0);
}

int loop_add_io(struct loop *l, int fd, uint32_t events, loop_io_fn fn, void *arg)
{
	return loop_watch(l, (struct source){.fd = fd, .io = fn, .arg = arg}, events);
}

static struct source **source_of(struct loop *l, int fd)
{
	struct source **p = &l->src;
	while (*p && (*p)->fd != fd)
		p = &(*p)->next;
	return p;
}

int loop_mod_fd(struct loop *l, int fd, uint32_t events)
{
	struct source *s = *source_of(l, fd);
	if (!s)
		return -ENOENT;
	struct epoll_event ev = {.events = events, .data.ptr = s};
	return epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int loop_del_fd(struct loop *l, int fd)
{
	struct source **p = source_of(l, fd), *s = *p;
	if (!s)
		return -ENOENT;
	epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
	/* an event of it may be in the round being delivered: it stays, marked, till its end */
	*p = s->next;
	s->gone = 1;
	s->next = l->gone;
	l->gone = s;
	return 0;
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

int loop_poll(struct loop *l, int timeout_ms)
{
	struct epoll_event ev[16];
	int n = epoll_wait(l->ep, ev, 16, timeout_ms), stop = 0;
	if (n < 0)
		return errno == EINTR ? 0 : -2;
	for (int i = 0; i < n && !stop; i++) {
		struct source *s = ev[i].data.ptr;
		if (s->gone)
			continue;
		if (s->owned && s->fn != on_signal) {
			uint64_t ticks; /* a timer: drain its count */
			if (read(s->fd, &ticks, sizeof(ticks)) < 0 && errno == EAGAIN)
				continue;
		}
		stop = s->io ? s->io(s->arg, ev[i].events) : s->fn(s->arg);
	}
	while (l->gone) {
		struct source *s = l->gone;
		l->gone = s->next;
		free(s);
	}
	return stop ? -1 : n;
}

int loop_run(struct loop *l)
{
	for (;;) {
		int r = loop_poll(l, -1);
		if (r < 0)
			return r == -1 ? 0 : 1;
	}
}
