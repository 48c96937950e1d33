#include "runtime/lifecycle.h"

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "runtime/net.h"
#include "runtime/run.h"
#include "runtime/vm.h"

extern const struct backend container_backend, qemu_backend;

const struct backend *backends[2] = {&qemu_backend, &container_backend};

static const char *const verb_names[V_MAX] = {"start", "stop",    "pause", "resume",
					      "kill",  "restart", "flush"};

const char *verb_name(enum verb v) { return verb_names[v]; }

int verb_parse(const char *word)
{
	for (int v = 0; v < V_MAX; v++)
		if (!strcmp(word, verb_names[v]))
			return v;
	return -1;
}

#define B (1u << ST_BUILDING)
#define R (1u << ST_RUNNING)
#define P (1u << ST_PAUSED)
#define Q (1u << ST_QUIT)
#define E (1u << ST_ERROR)

/* The states each verb is legal in (s6-supervise's action table, in one row per verb). */
static const unsigned legal[V_MAX] = {
	[V_START] = B | Q | E,
	[V_STOP] = R | P,
	[V_PAUSE] = R,
	[V_RESUME] = P,
	[V_KILL] = B | R | P,
	[V_RESTART] = R | P,
	[V_FLUSH] = Q | E,
};

static const char *const legal_words[V_MAX] = {
	[V_START] = "BUILDING, QUIT or ERROR",
	[V_STOP] = "RUNNING or PAUSED",
	[V_PAUSE] = "RUNNING",
	[V_RESUME] = "PAUSED",
	[V_KILL] = "BUILDING, RUNNING or PAUSED",
	[V_RESTART] = "RUNNING or PAUSED",
	[V_FLUSH] = "QUIT or ERROR",
};

void lifecycle_set(struct model *m, struct object *o, enum ostate s, const char *why)
{
	if (o->state == s)
		return;
	model_event(o->ns, o, "%s -> %s%s%s", ostate_name(o->state), ostate_name(s),
		    why ? ": " : "", why ? why : "");
	o->state = s;
	o->mtime = time(NULL);
	obj_save(m, o);
	if (s == ST_QUIT || s == ST_ERROR)
		net_stop(m, o); /* however it ended: its devices go */
}

typedef int (*backend_fn)(struct model *, struct object *, char *, size_t);

static backend_fn backend_verb(const struct backend *b, enum verb v)
{
	if (!b)
		return NULL;
	switch (v) {
	case V_START:
		return b->start;
	case V_STOP:
		return b->stop;
	case V_PAUSE:
		return b->pause;
	case V_RESUME:
		return b->resume;
	case V_KILL:
		return b->kill;
	case V_RESTART:
		return b->restart;
	default:
		return NULL;
	}
}

int lifecycle_legal(const struct object *o, enum verb v, char *err, size_t errlen)
{
	if (o->rt.starting && (v == V_KILL || v == V_FLUSH))
		return 0; /* judged again once the start has finished (lifecycle_start_settle) */
	if (o->rt.starting) {
		snprintf(err, errlen, "%s is starting: %s waits until it has started", o->name,
			 verb_names[v]);
		return -EBUSY;
	}
	/* a commit copies the disk of a paused VM: only kill and removal may cut in */
	if (o->rt.job && v != V_KILL && v != V_FLUSH) {
		snprintf(err, errlen, "%s is being committed to an image: %s waits until the copy ends "
				      "(kill or rmdir cancel it)", o->name, verb_names[v]);
		return -EBUSY;
	}
	if (legal[v] & (1u << o->state))
		return 0;
	snprintf(err, errlen, "%s is %s: %s needs it %s", o->name, ostate_name(o->state),
		 verb_names[v], legal_words[v]);
	return -EBUSY;
}

int lifecycle_do(struct model *m, struct object *o, enum verb v, char *err, size_t errlen)
{
	if (v == V_KILL || v == V_FLUSH)
		lifecycle_start_settle(m, o, false); /* what a kill hits must have finished starting */
	int r = lifecycle_legal(o, v, err, errlen);
	if (r)
		return r;
	if (v == V_FLUSH)
		return lifecycle_remove(m, o, err, errlen);
	if (v == V_KILL && o->state == ST_BUILDING) {
		/* nothing runs yet: as in minimega, killing a BUILDING object quits it */
		lifecycle_set(m, o, ST_QUIT, "killed before it started");
		return 0;
	}
	backend_fn fn = backend_verb(backends[o->type], v);
	if (!fn) {
		snprintf(err, errlen, "cannot %s %s: no backend for %s does that", verb_names[v],
			 o->name, o->type == OT_VM ? "QEMU VMs" : "containers");
		return -EOPNOTSUPP;
	}
	return fn(m, o, err, errlen);
}

int lifecycle_remove(struct model *m, struct object *o, char *err, size_t errlen)
{
	lifecycle_start_settle(m, o, false); /* a QEMU half-started would run on, orphaned */
	vm_job_cancel(m, o, "the VM is being removed");
	if (o->state == ST_RUNNING || o->state == ST_PAUSED) {
		int r = lifecycle_do(m, o, V_KILL, err, errlen);
		if (r)
			return r;
	}
	/* all or nothing: what it holds outside the state directory goes first */
	int r = run_gone(m, o, err, errlen);
	if (r)
		return r;
	run_unwatch_pid(m, o);
	return obj_remove(m, o, err, errlen); /* its directory holds the run directory */
}

/* The two halves of a verb, when the backend splits it and the object is in the state
 * where the split applies (a BUILDING kill needs no backend). */
static bool split(const struct object *o, enum verb v)
{
	const struct backend *b = backends[o->type];
	if (!b)
		return false;
	if (v == V_START)
		return b->start_spawn && b->start_finish;
	return v == V_KILL && o->state != ST_BUILDING && b->kill_signal && b->kill_wait;
}

static int do_first(struct model *m, struct object *o, enum verb v, int *fd, char *err,
		    size_t errlen)
{
	const struct backend *b = backends[o->type];
	if (!split(o, v))
		return lifecycle_do(m, o, v, err, errlen);
	int r = lifecycle_legal(o, v, err, errlen);
	if (r)
		return r;
	if (v == V_START) {
		*fd = b->start_spawn(m, o, err, errlen);
		return *fd < 0 ? *fd : 0;
	}
	return b->kill_signal(m, o, err, errlen);
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
	char err[1024];
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

static void batch_note(struct lcbatch *b, int r, const char *err)
{
	if (r && !b->r) {
		b->r = r;
		snprintf(b->err, sizeof(b->err), "%s", err);
	}
	b->done += !r;
}

static void pend_finish(struct model *m, struct lcpend *p, int timeout_ms)
{
	struct lcbatch *b = p->b;
	struct object *o = p->o;
	char err[1024] = "";
	epoll_ctl(m->rtep, EPOLL_CTL_DEL, p->fd, NULL);
	o->rt.starting = NULL;
	int r = backends[o->type]->start_finish(m, o, p->fd, timeout_ms, err, sizeof(err));
	batch_note(b, r, err);
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
	p->deadline.tv_sec += backends[o->type]->start_timeout_ms / 1000;
	obj_get(o);
	o->rt.starting = p;
	b->left++;
	return true;
}

int lifecycle_do_many(struct model *m, struct object **objs, size_t n, enum verb v,
		      struct lcbatch **wait, size_t *done, char *err, size_t errlen)
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
		r = do_first(m, objs[i], v, &fds[i], err, errlen);
		if (!r)
			state[i] = halves ? 1 : 2;
	}
	/* finish every first half that went out, even after a failure: nothing half-done */
	for (size_t j = 0; j < n && state; j++) {
		if (state[j] == 1 && b && pend_add(m, b, objs[j], fds[j]))
			continue;
		if (state[j] == 1) {
			const struct backend *be = backends[objs[j]->type];
			int rj = v == V_START ? be->start_finish(m, objs[j], fds[j], be->start_timeout_ms,
								 err, errlen)
					      : be->kill_wait(m, objs[j], err, errlen);
			if (rj && !r)
				r = rj;
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
		snprintf(b->err, sizeof(b->err), "%s", r ? err : "");
		*wait = b;
		return -EINPROGRESS;
	}
	free(b);
	return r;
}

struct waitq *lifecycle_batch_wq(struct lcbatch *b) { return &b->wq; }

int lifecycle_batch_end(struct lcbatch *b, enum verb *v, size_t *done, char *err, size_t errlen)
{
	if (b->left)
		return -EINPROGRESS;
	int r = b->r;
	*v = b->v;
	*done = b->done;
	if (r)
		snprintf(err, errlen, "%s", b->err);
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

int lifecycle_fail(struct model *m, struct object *o, const char *why, int r, char *err,
		   size_t errlen)
{
	snprintf(err, errlen, "%s", why);
	snprintf(o->rt.exit, sizeof(o->rt.exit), "error: %.120s", why);
	lifecycle_set(m, o, ST_ERROR, why);
	net_stop(m, o); /* also when it was ERROR before: lifecycle_set did nothing then */
	run_intent_clear(m, o);
	return r;
}
