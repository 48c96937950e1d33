/* Verbs on many objects at once: every start's first half (spawning its process) goes out
 * before any waits, and likewise every kill's signal, so that they proceed side by side. */
#include "runtime/lifecycle.h"

#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>

#include "runtime/backend.h"
#include "runtime/run.h"

/* A verb whose action comes in two halves in o's state (a BUILDING kill has no backend
 * action: lifecycle_do does it whole). */
static bool split(const struct object *o, enum verb v)
{
	const struct lcstep *s = lifecycle_step(o->state, (enum lcevent)v);
	return s && (s->action == A_START || s->action == A_KILL);
}

static int do_first(struct model *m, struct object *o, enum verb v, int *fd, struct err *e)
{
	const struct backend *b = backend_of(o);
	if (!split(o, v))
		return lifecycle_do_err(m, o, v, e);
	int r = lifecycle_legal_err(o, v, e);
	if (r)
		return r;
	if (v == V_START) {
		*fd = b->start_spawn(m, o, e);
		return *fd < 0 ? *fd : 0;
	}
	return b->kill_signal(m, o, e);
}

/* Starts whose second half waits for the process (QEMU daemonizing, a shim reporting):
 * each pending object's descriptor is in m->rtep, and only the ctl write that asked
 * waits, on the batch's queue; vmfs answers everything else meanwhile. */
struct lcbatch {
	struct waitq wq;
	enum verb v;
	size_t left, done;
	int r;
	bool abandoned; /* nobody waits for the answer: free it at the end */
	struct err e;   /* the first failure's reason */
};

struct lcpend {
	struct rtsrc src; /* first: the epoll data points here */
	struct lcbatch *b;
	struct object *o;
	int fd;
	struct timespec deadline;
};

static long ms_until(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

static void batch_note(struct lcbatch *b, int r, const struct err *e)
{
	if (r && !b->r) {
		b->r = r;
		b->e = *e;
	}
	b->done += !r;
}

static void pend_finish(struct model *m, struct lcpend *p, int timeout_ms)
{
	struct lcbatch *b = p->b;
	struct object *o = p->o;
	struct err e;
	err_clear(&e);
	epoll_ctl(m->rtep, EPOLL_CTL_DEL, p->fd, NULL);
	o->rt.starting = NULL;
	int r = err_ensure(&e, backend_of(o)->start_finish(m, o, p->fd, timeout_ms, &e));
	batch_note(b, r, &e);
	free(p);
	obj_put(o);
	if (--b->left)
		return;
	if (b->abandoned)
		free(b);
	else
		waitq_wake_all(&b->wq);
}

static void pend_ready(struct model *m, struct rtsrc *s)
{
	struct lcpend *p = (struct lcpend *)s;
	pend_finish(m, p, (int)ms_until(&p->deadline));
}

void lifecycle_start_settle(struct model *m, struct object *o, bool deadline_only)
{
	struct lcpend *p = o->rt.starting;
	if (p && (!deadline_only || ms_until(&p->deadline) == 0))
		pend_finish(m, p, (int)ms_until(&p->deadline));
}

/* Hands a spawned start to the event loop; false if it cannot (then it finishes here). */
static bool pend_add(struct model *m, struct lcbatch *b, struct object *o, int fd)
{
	struct lcpend *p = calloc(1, sizeof(*p));
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = p};
	if (!p || epoll_ctl(m->rtep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(p);
		return false;
	}
	p->src.ready = pend_ready;
	p->b = b;
	p->o = o;
	p->fd = fd;
	clock_gettime(CLOCK_MONOTONIC, &p->deadline);
	p->deadline.tv_sec += backend_of(o)->start_timeout_ms / 1000;
	obj_get(o);
	o->rt.starting = p;
	b->left++;
	return true;
}

static int do_many(struct model *m, struct object **objs, size_t n, enum verb v,
		   struct lcbatch **wait, size_t *done, struct err *e)
{
	int *fds = calloc(n ? n : 1, sizeof(*fds));
	signed char *state = calloc(n ? n : 1, 1); /* 0 not tried, 1 first half done, 2 done */
	struct lcbatch *b = wait && v == V_START ? calloc(1, sizeof(*b)) : NULL;
	int r = fds && state && (b || !wait || v != V_START) ? 0 : -ENOMEM;
	*done = 0;
	for (size_t i = 0; i < n && !r; i++) {
		if (v == V_KILL || v == V_FLUSH) /* what they hit must have finished starting */
			lifecycle_start_settle(m, objs[i], false);
		bool halves = split(objs[i], v);
		r = do_first(m, objs[i], v, &fds[i], e);
		if (!r)
			state[i] = halves ? 1 : 2;
	}
	/* finish every first half that went out, even after a failure: nothing half-done */
	for (size_t j = 0; j < n && state; j++) {
		if (state[j] == 1 && b && pend_add(m, b, objs[j], fds[j]))
			continue;
		if (state[j] == 1) {
			const struct backend *be = backend_of(objs[j]);
			struct err ej; /* the first failure's reason is the one told */
			err_clear(&ej);
			int rj = v == V_START ? be->start_finish(m, objs[j], fds[j], be->start_timeout_ms,
								 &ej)
					      : be->kill_wait(m, objs[j], &ej);
			if (rj && !r) {
				r = err_ensure(&ej, rj);
				*e = ej;
			}
			state[j] = rj ? 0 : 2;
		}
		*done += state[j] == 2;
	}
	free(fds);
	free(state);
	if (b && b->left) {
		waitq_init(&b->wq);
		b->v = v;
		b->r = r;
		b->done = *done;
		if (r)
			b->e = *e;
		*wait = b;
		return -EINPROGRESS;
	}
	free(b);
	return r;
}

int lifecycle_do_many(struct model *m, struct object **objs, size_t n, enum verb v,
		      struct lcbatch **wait, size_t *done, char *err, size_t errlen)
{
	struct err e;
	err_clear(&e);
	int r = do_many(m, objs, n, v, wait, done, &e);
	return r == -EINPROGRESS ? r : err_result(&e, r, err, errlen);
}

struct waitq *lifecycle_batch_wq(struct lcbatch *b) { return &b->wq; }

int lifecycle_batch_end(struct lcbatch *b, enum verb *v, size_t *done, char *err, size_t errlen)
{
	if (b->left)
		return -EINPROGRESS;
	int r = b->r;
	*v = b->v;
	*done = b->done;
	err_result(&b->e, r, err, errlen);
	free(b);
	return r;
}

void lifecycle_batch_abandon(struct lcbatch *b)
{
	if (b->left)
		b->abandoned = true;
	else
		free(b);
}
