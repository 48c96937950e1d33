/* Long work in slices (vmfs/slice.h). */
#include "vmfs/slice.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vmfs/loop.h"
#include "vmfs/node.h"

/* How many objects go to lifecycle_do_many at once: kills of running objects overlap
 * within a chunk (all are signalled, then all waited for); anything else gains nothing
 * from more, and each costs a synced state file, so it goes one at a time. */
#define CHUNK_KILL 16
#define GRACE_US 1000
/* A launch chunk ends in a syncfs, which takes milliseconds whatever the chunk: fewer than
 * LAUNCH_MIN objects a chunk would make a launch of thousands mostly syncfs. */
#define LAUNCH_MIN 16
#define LAUNCH_MAX 64

static bool overlaps(const struct object *o, enum verb v)
{
	return v == V_KILL && (o->state == ST_RUNNING || o->state == ST_PAUSED);
}

static struct {
	int fd; /* an eventfd, readable while some work waits for its next slice */
	int urgent;
	int grace; /* a timerfd: the slices wait for it while requests come in a row */
	struct timespec last_req;
	struct waitq wq;
	struct timespec t0;
} S = {.fd = -1, .urgent = -1, .grace = -1};

static long us_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000000 + (now.tv_nsec - t->tv_nsec) / 1000;
}

/* A reader's requests come one after the other (lookup, open, read, release): right after
 * one was answered, the next is likely on its way, and the slices wait GRACE_US for it
 * rather than make it wait for a step in hand. */
static void wake_or_wait(void)
{
	long since = us_since(&S.last_req);
	if (since >= GRACE_US) {
		waitq_wake_all(&S.wq); /* a waiter that yields again waits for the next turn */
		return;
	}
	struct itimerspec it = {.it_value = {0, (GRACE_US - since) * 1000}};
	timerfd_settime(S.grace, 0, &it, NULL);
}

static int on_slice(void *arg)
{
	uint64_t n;
	if (read(S.fd, &n, sizeof(n)) < 0 && errno == EAGAIN)
		return 0;
	wake_or_wait();
	return 0;
}

static int on_grace(void *arg)
{
	uint64_t n;
	if (read(S.grace, &n, sizeof(n)) < 0 && errno == EAGAIN)
		return 0;
	waitq_wake_all(&S.wq); /* one grace at most: a stream of requests must not starve them */
	return 0;
}

void slice_note_request(void) { clock_gettime(CLOCK_MONOTONIC, &S.last_req); }

int slice_attach(struct loop *l, int urgent_fd)
{
	S.urgent = urgent_fd;
	waitq_init(&S.wq);
	S.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	S.grace = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (S.fd < 0 || S.grace < 0)
		return -errno;
	int r = loop_add_fd(l, S.fd, on_slice, NULL);
	return r ? r : loop_add_fd(l, S.grace, on_grace, NULL);
}

struct waitq *slice_wq(void)
{
	if (!S.wq.head.next)
		waitq_init(&S.wq);
	return &S.wq;
}

void slice_begin(void) { clock_gettime(CLOCK_MONOTONIC, &S.t0); }

/* A request that came during the slice waits for no more than the step in hand: a `cat`
 * is several requests in a row, each of which would otherwise wait for a whole slice. */
bool slice_over(void)
{
	struct timespec now;
	struct pollfd p = {.fd = S.urgent, .events = POLLIN};
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - S.t0.tv_sec) * 1000 + (now.tv_nsec - S.t0.tv_nsec) / 1000000 >=
		       SLICE_MS ||
	       (S.urgent >= 0 && poll(&p, 1, 0) == 1);
}

void slice_yield(void)
{
	uint64_t one = 1;
	if (S.fd >= 0 && write(S.fd, &one, sizeof(one)) < 0)
		return; /* the counter is full: the loop will wake the queue anyway */
}

struct nsjob {
	struct ns *ns;
	/* launch: names to make, chunk after chunk of them (it grows while chunks are quick:
	 * each costs a syncfs) */
	char **names;
	enum otype type;
	struct object *like;
	size_t chunk;
	enum verb verb;
	bool explicit;
	struct object **objs;
	size_t n, next, done;
};

struct nsjob *nsjob_new(struct ns *ns, enum verb verb, struct object **objs, size_t n,
			bool explicit)
{
	struct nsjob *j = calloc(1, sizeof(*j));
	if (!j || !(j->objs = malloc((n ? n : 1) * sizeof(*objs)))) {
		free(j);
		return NULL;
	}
	if (n) /* objs may be NULL when nothing matched here (a glob that matched on a member) */
		memcpy(j->objs, objs, n * sizeof(*objs));
	for (size_t i = 0; i < n; i++)
		obj_get(objs[i]);
	ns_get(ns);
	j->ns = ns;
	j->verb = verb;
	j->n = n;
	j->explicit = explicit;
	return j;
}

int nsjob_launch(struct ns *ns, enum otype type, char **names, size_t n,
		 const struct object *like, struct nsjob **out, char *err, size_t errlen)
{
	struct nsjob *j = NULL;
	int r = 0;
	for (size_t i = 0; i < n && !r; i++) {
		struct object *o = obj_find_any(ns, names[i]);
		if (o) {
			snprintf(err, errlen, "%s exists already (a %s in namespace %s)", names[i],
				 o->type == OT_VM ? "VM" : "container", ns->name);
			r = -EEXIST;
		}
	}
	if (!r && !(j = calloc(1, sizeof(*j))))
		r = -ENOMEM;
	if (r) {
		range_free(names);
		return r;
	}
	ns_get(ns);
	j->like = (struct object *)like; /* a reference, so that it stays readable */
	if (j->like)
		obj_get(j->like);
	j->ns = ns;
	j->names = names;
	j->n = n;
	j->type = type;
	j->chunk = LAUNCH_MIN;
	*out = j;
	return 0;
}

/* One chunk of a launch; the chunk doubles while it takes less than half a slice, and
 * halves (down to LAUNCH_MIN) when it takes more than one. */
static int launch_chunk(struct vmfs *v, struct nsjob *j, char *err, size_t errlen)
{
	size_t k = j->n - j->next < j->chunk ? j->n - j->next : j->chunk;
	struct timespec t0, t1;
	if (j->like && j->like->gone) {
		snprintf(err, errlen, "%s was removed meanwhile", j->like->name);
		return -ENOENT;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r = obj_create_many(&v->m, j->ns, j->type, j->names + j->next, k, j->like, err,
				errlen);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r)
		return r;
	j->next += k;
	j->done += k;
	long us = (t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
	if (us < SLICE_MS * 500 && j->chunk < LAUNCH_MAX)
		j->chunk *= 2;
	else if (us > SLICE_MS * 1000 && j->chunk > LAUNCH_MIN)
		j->chunk /= 2;
	return 0;
}

/* The next objects whose turn it is and that can take the verb now (the others changed
 * since the command was checked: removed, or acted on by another command). */
static int next_chunk(struct nsjob *j, struct object **chunk, size_t max, size_t *k, char *err,
		      size_t errlen)
{
	char why[256];
	*k = 0;
	while (*k < max && j->next < j->n) {
		struct object *o = j->objs[j->next];
		if (o->gone || lifecycle_legal(o, j->verb, why, sizeof(why))) {
			if (!j->explicit) {
				j->next++;
				continue;
			}
			if (o->gone)
				snprintf(why, sizeof(why), "%s was removed meanwhile", o->name);
			snprintf(err, errlen, "%s", why);
			return o->gone ? -ENOENT : -EBUSY;
		}
		bool together = overlaps(o, j->verb);
		if (*k && !together)
			break; /* alone, in the next chunk */
		chunk[(*k)++] = o;
		j->next++;
		if (!together)
			break;
	}
	return 0;
}

int nsjob_run(struct vmfs *v, struct nsjob *j, struct sbuf *reply, char *err, size_t errlen)
{
	struct object *chunk[CHUNK_KILL];
	size_t k, d;
	int r = 0;
	if (j->ns->gone) {
		snprintf(err, errlen, "namespace %s was removed meanwhile", j->ns->name);
		r = -ENOENT;
	}
	while (!r && j->next < j->n) {
		if (j->names) {
			r = launch_chunk(v, j, err, errlen);
		} else if (!(r = next_chunk(j, chunk, CHUNK_KILL, &k, err, errlen)) && k) {
			r = lifecycle_do_many(&v->m, chunk, k, j->verb, NULL, &d, err, errlen);
			j->done += d;
		}
		/* at least one step a call, so that the work goes on whatever else comes */
		if (!r && j->next < j->n && slice_over()) {
			slice_yield();
			return -EINPROGRESS;
		}
	}
	j->next = j->n; /* ended, well or not: nothing left to say at free */
	if (r && j->names && j->done) /* what was made stays: say so */
		snprintf(err + strlen(err), errlen - strlen(err), " (%zu of %zu were launched)",
			 j->done, j->n);
	if (!r && j->names)
		sb_printf(reply, "ok: launched %zu\n", j->done);
	else if (!r)
		sb_printf(reply, "ok: %s %zu\n", verb_name(j->verb), j->done);
	return r;
}

int nsjob_start(struct vmfs *v, struct nsjob *j, struct nsjob **wait, struct sbuf *reply,
		char *err, size_t errlen)
{
	int r = nsjob_run(v, j, reply, err, errlen);
	if (r == -EINPROGRESS)
		*wait = j;
	else
		nsjob_free(j);
	return r;
}

void nsjob_free(struct nsjob *j)
{
	if (!j)
		return;
	if (j->next < j->n)
		evlog_add(&j->ns->log, "%s: stopped after %zu of %zu (its writer went away)",
			  j->names ? "launch" : verb_name(j->verb), j->done, j->n);
	for (size_t i = 0; j->objs && i < j->n; i++)
		obj_put(j->objs[i]);
	if (j->like)
		obj_put(j->like);
	range_free(j->names);
	ns_put(j->ns);
	free(j->objs);
	free(j);
}
