/* Other hosts' doors, a worker each (cluster/chostw.h). */
#include "cluster/chostw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cluster/rtrans.h"
#include "runtime/model.h"

struct hostw {
	char host[256];
	char p9[80];
	struct rworker *w;
};

struct chostw {
	struct model *m;
	struct rtsrc tick;
	int tfd;
	struct hostw *v;
	size_t n;
};

static void tick_ready(struct model *m, struct rtsrc *src)
{
	(void)m;
	struct chostw *s = (struct chostw *)((char *)src - offsetof(struct chostw, tick));
	uint64_t n;
	if (read(s->tfd, &n, sizeof(n)) < 0)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].w && rworker_expire(s->v[i].w))
			s->v[i].w = NULL; /* failed ETIMEDOUT: the next job gets a new worker */
}

struct chostw *chostw_new(struct model *m)
{
	struct chostw *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->m = m;
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec it = {{1, 0}, {1, 0}};
	s->tick.ready = tick_ready;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->tick};
	if (s->tfd < 0 || timerfd_settime(s->tfd, 0, &it, NULL) < 0 ||
	    epoll_ctl(m->rtep, EPOLL_CTL_ADD, s->tfd, &ev) < 0) {
		if (s->tfd >= 0)
			close(s->tfd);
		free(s);
		return NULL;
	}
	return s;
}

void chostw_free(struct chostw *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].w)
			rworker_drop(s->v[i].w);
	free(s->v);
	epoll_ctl(s->m->rtep, EPOLL_CTL_DEL, s->tfd, NULL);
	close(s->tfd);
	free(s);
}

/* The target of a door's address, as a 9p:// member URL names it. */
static int target_of(const char *p9, struct rtarget *t, char *err, size_t errlen)
{
	char url[128];
	if (!*p9 || strlen(p9) > 80) {
		snprintf(err, errlen, "its alive record names no 9P door");
		return -EHOSTDOWN;
	}
	snprintf(url, sizeof(url), "9p://%s", p9);
	return rtarget_parse(url, NULL, NULL, t, err, errlen) ? -EHOSTDOWN : 0;
}

struct rworker *chostw_worker_new(struct chostw *s, const char *p9, char *err, size_t errlen)
{
	struct rtarget t;
	if (target_of(p9, &t, err, errlen))
		return NULL;
	struct rworker *w = rworker_new_to(s->m, &t);
	if (!w)
		snprintf(err, errlen, "%s", strerror(ENOMEM));
	return w;
}

static struct hostw *slot_of(struct chostw *s, const char *host)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].host, host))
			return &s->v[i];
	struct hostw *v = realloc(s->v, (s->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	s->v = v;
	v = &s->v[s->n++];
	memset(v, 0, sizeof(*v));
	snprintf(v->host, sizeof(v->host), "%s", host);
	return v;
}

void chostw_job(struct chostw *s, const char *host, const char *p9, struct rjob *j,
		const char *rel, unsigned timeout_ms)
{
	char err[256] = "";
	struct hostw *h = slot_of(s, host);
	snprintf(j->path, sizeof(j->path), "%s", rel);
	if (h && h->w && strcmp(h->p9, p9)) { /* the host came back at another address */
		rworker_drop(h->w);
		h->w = NULL;
	}
	if (h && !h->w && (h->w = chostw_worker_new(s, p9, err, sizeof(err))))
		snprintf(h->p9, sizeof(h->p9), "%s", p9);
	if (!h || !h->w) {
		j->err = -EHOSTDOWN;
		sb_puts(&j->out, *err ? err : strerror(ENOMEM));
		j->done(j);
		return;
	}
	rworker_submit(h->w, j, timeout_ms);
}
