#include "runtime/bgjob.h"

#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

static void *run(void *arg)
{
	struct bgjob *b = arg;
	b->work(b);
	uint64_t one = 1;
	if (write(b->efd, &one, sizeof(one)) < 0) {
		/* an eventfd's counter does not overflow at 1 */
	}
	return NULL;
}

static void ended(struct model *m, struct rtsrc *s)
{
	struct bgjob *b = (struct bgjob *)s;
	uint64_t n;
	if (read(b->efd, &n, sizeof(n)) < 0)
		return;
	if (b->threaded)
		pthread_join(b->th, NULL);
	epoll_ctl(m->rtep, EPOLL_CTL_DEL, b->efd, NULL);
	close(b->efd);
	b->efd = -1;
	b->done(b);
}

/* b->efd on the loop's epoll, or closed: 0 or -errno */
static int watch(struct bgjob *b, struct model *m)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &b->src};
	if (b->efd < 0 || epoll_ctl(m->rtep, EPOLL_CTL_ADD, b->efd, &ev) < 0) {
		int r = -errno;
		if (b->efd >= 0)
			close(b->efd);
		b->efd = -1;
		return r;
	}
	return 0;
}

int bgjob_start(struct bgjob *b, struct model *m, void (*work)(struct bgjob *b),
		void (*done)(struct bgjob *b))
{
	b->src.ready = ended;
	b->m = m;
	b->work = work;
	b->done = done;
	b->threaded = true;
	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int r = watch(b, m);
	if (r)
		return r;
	r = pthread_create(&b->th, NULL, run, b);
	if (r) {
		epoll_ctl(m->rtep, EPOLL_CTL_DEL, b->efd, NULL);
		close(b->efd);
		b->efd = -1;
		return -r;
	}
	return 0;
}

int bgjob_after(struct bgjob *b, struct model *m, unsigned ms, void (*done)(struct bgjob *b))
{
	b->src.ready = ended;
	b->m = m;
	b->work = NULL;
	b->done = done;
	b->threaded = false;
	b->efd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec it = {.it_value = {ms / 1000, (long)(ms % 1000) * 1000000L + (ms ? 0 : 1)}};
	if (b->efd >= 0 && timerfd_settime(b->efd, 0, &it, NULL) < 0) {
		int r = -errno;
		close(b->efd);
		b->efd = -1;
		return r;
	}
	return watch(b, m);
}
