#include "cluster/rjob.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster/rtrans.h"
#include "runtime/model.h"

#define TAIL_CALL_MS 5000

struct rworker {
	struct rtsrc src;
	struct model *m;
	int efd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rjob *queue, *cur, *done; /* done: newest first, delivered oldest first */
	bool quit, abandoned, retiring;
	int stop;                /* set when abandoned: a follow ends at its next poll */
	struct rtarget *target;  /* NULL: POSIX calls on the paths as given */
	int refs; /* the thread's and the owner's */
	unsigned busy;
};

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

struct rjob *rjob_new(enum rop op, const char *path, void (*done)(struct rjob *), void *arg)
{
	struct rjob *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->op = op;
	snprintf(j->path, sizeof(j->path), "%s", path);
	j->done = done;
	j->arg = arg;
	return j;
}

void rjob_free(struct rjob *j)
{
	if (!j)
		return;
	sb_free(&j->in);
	sb_free(&j->out);
	free(j);
}

static int run_argv(const char *args, size_t len, struct sbuf *out)
{
	char *argv[64];
	int n = 0;
	for (const char *a = args; a < args + len && n < 63; a += strlen(a) + 1)
		argv[n++] = (char *)a;
	argv[n] = NULL;
	if (!n)
		return -EINVAL;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	pid_t pid;
	extern char **environ;
	int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r) {
		close(p[0]);
		return -r;
	}
	char buf[4096];
	ssize_t got;
	while ((got = read(p[0], buf, sizeof(buf))) > 0) /* until every holder closed it */
		if (out->len < 65536)
			sb_add(out, buf, got);
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/* What a growing file (console.log) has from *off, polled every 250 ms for 20 s: a poll is a
 * short read that the other host answers at once, so its file server is never held, and a
 * worker let go stops at the next poll. Each poll has its own few seconds, so that a link
 * that went dead fails the follow instead of holding it until the job's own deadline. */
static int tail(struct rworker *w, struct rtrans *t, const char *path, uint64_t deadline,
		struct sbuf *out, uint64_t *off)
{
	/* on the heap: a poll may (re)make the transport, and spawning ssh under it on the
	 * worker's 256 KiB stack overflowed it under AddressSanitizer with 64 KiB taken here */
	enum { TAIL_BUF = 65536 };
	char *buf = malloc(TAIL_BUF);
	if (!buf)
		return -ENOMEM;
	int r = 0;
	for (int i = 0; i < 80 && !__atomic_load_n(&w->stop, __ATOMIC_RELAXED); i++) {
		uint64_t now = now_ms();
		t->deadline = deadline < now + TAIL_CALL_MS ? deadline : now + TAIL_CALL_MS;
		ssize_t n = t->ops->pread(t, path, off, buf, TAIL_BUF);
		if (n < 0 && n != -ENOENT) { /* a console not made yet is one with nothing yet */
			r = (int)n;
			break;
		}
		if (n > 0) {
			sb_add(out, buf, n);
			*off += n;
			r = sb_err(out);
			break;
		}
		struct timespec ts = {0, 250000000};
		nanosleep(&ts, NULL);
	}
	free(buf);
	return r;
}

/* The transport's calls for a job, on the worker's transport (made at its first job). */
static int do_op(struct rworker *w, struct rtrans **tp, enum rop op, const char *path,
		 uint64_t deadline, const struct sbuf *in, struct sbuf *out, uint64_t *off)
{
	if (op == ROP_RUN)
		return run_argv(in->p ? in->p : "", in->len, out);
	if (!*tp && !(*tp = rtrans_new(w->target)))
		return -ENOMEM;
	struct rtrans *t = *tp;
	t->deadline = deadline;
	t->why[0] = 0;
	int r = -EINVAL;
	switch (op) {
	case ROP_TAIL:
		r = tail(w, t, path, deadline, out, off);
		break;
	case ROP_READ:
		r = t->ops->read(t, path, out);
		break;
	case ROP_WRITE:
	case ROP_CTL:
		r = t->ops->write(t, path, in->p ? in->p : "", in->len, op == ROP_CTL, out);
		break;
	case ROP_MKDIR:
		r = t->ops->mkdir(t, path);
		break;
	case ROP_RUN:
		break;
	}
	/* the transport's own failure says why, where the member's answer would be */
	if (r && *t->why && !out->len)
		sb_puts(out, t->why);
	return r;
}

static void put(struct rworker *w)
{
	bool last = --w->refs == 0;
	pthread_mutex_unlock(&w->mu);
	if (!last)
		return;
	close(w->efd);
	free(w->target);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

static void *work(void *arg)
{
	struct rworker *w = arg;
	struct rtrans *t = NULL; /* this thread's connection: it goes when the thread goes */
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->queue && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->quit && !w->queue)
			break;
		struct rjob *j = w->queue;
		w->queue = j->next;
		w->cur = j;
		/* the time runs from here: a job waiting behind a slow one is not late */
		j->deadline = now_ms() + j->timeout;
		enum rop op = j->op;
		char path[sizeof(j->path)];
		memcpy(path, j->path, sizeof(path));
		struct sbuf in = {0}, out = {0};
		uint64_t off = j->off, deadline = j->deadline;
		sb_add(&in, j->in.p ? j->in.p : "", j->in.len);
		pthread_mutex_unlock(&w->mu);
		int r = sb_err(&in) ? -ENOMEM : do_op(w, &t, op, path, deadline, &in, &out, &off);
		sb_free(&in);
		pthread_mutex_lock(&w->mu);
		if (w->cur == j && !w->abandoned) {
			j->err = r;
			j->off = off;
			sb_free(&j->out);
			j->out = out;
			j->next = w->done;
			w->done = j;
			uint64_t one = 1;
			if (write(w->efd, &one, sizeof(one)) < 0) {
				/* the counter cannot overflow here: the main thread reads it */
			}
		} else {
			sb_free(&out);
		}
		w->cur = NULL;
	}
	pthread_mutex_unlock(&w->mu);
	if (t)
		t->ops->free(t);
	pthread_mutex_lock(&w->mu);
	put(w);
	return NULL;
}

/* The main thread: the jobs that finished, in order. */
static void deliver(struct rjob *done)
{
	struct rjob *rev = NULL;
	while (done) {
		struct rjob *next = done->next;
		done->next = rev;
		rev = done;
		done = next;
	}
	while (rev) {
		struct rjob *next = rev->next;
		rev->ms = (unsigned)(now_ms() - rev->t0);
		rev->done(rev);
		rev = next;
	}
}

static void on_done(struct model *m, struct rtsrc *s)
{
	struct rworker *w = (struct rworker *)s;
	uint64_t n;
	if (read(w->efd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&w->mu);
	struct rjob *done = w->done;
	w->done = NULL;
	for (struct rjob *j = done; j; j = j->next)
		w->busy--;
	bool last = w->retiring && !w->busy;
	pthread_mutex_unlock(&w->mu);
	deliver(done);
	if (last)
		rworker_drop(w);
}

void rworker_retire(struct rworker *w)
{
	pthread_mutex_lock(&w->mu);
	w->retiring = true;
	bool idle = !w->busy;
	pthread_mutex_unlock(&w->mu);
	if (idle)
		rworker_drop(w);
}

struct rworker *rworker_new(struct model *m)
{
	return rworker_new_to(m, NULL);
}

struct rworker *rworker_new_to(struct model *m, const struct rtarget *target)
{
	struct rworker *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	if (target && !(w->target = malloc(sizeof(*target)))) {
		free(w);
		return NULL;
	}
	if (target)
		*w->target = *target;
	w->src.ready = on_done;
	w->m = m;
	w->refs = 2;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &w->src};
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 256 * 1024);
	pthread_t t;
	if (w->efd < 0 || epoll_ctl(m->rtep, EPOLL_CTL_ADD, w->efd, &ev) < 0 ||
	    pthread_create(&t, &a, work, w)) {
		pthread_attr_destroy(&a);
		if (w->efd >= 0) {
			epoll_ctl(m->rtep, EPOLL_CTL_DEL, w->efd, NULL);
			close(w->efd);
		}
		free(w->target);
		free(w);
		return NULL;
	}
	pthread_attr_destroy(&a);
	return w;
}

void rworker_submit(struct rworker *w, struct rjob *j, unsigned timeout_ms)
{
	j->t0 = now_ms();
	j->timeout = timeout_ms;
	j->next = NULL;
	pthread_mutex_lock(&w->mu);
	struct rjob **p = &w->queue;
	while (*p)
		p = &(*p)->next;
	*p = j;
	w->busy++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Takes every job from w and lets the thread go; the running job fails with err. */
static void abandon(struct rworker *w, int err)
{
	pthread_mutex_lock(&w->mu);
	struct rjob *cur = w->cur, *queue = w->queue, *done = w->done;
	w->cur = w->queue = w->done = NULL;
	w->quit = true;
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELAXED);
	if (cur)
		w->abandoned = true;
	epoll_ctl(w->m->rtep, EPOLL_CTL_DEL, w->efd, NULL);
	pthread_cond_signal(&w->cv);
	put(w); /* the owner's reference; the thread's goes when it ends */
	deliver(done);
	if (cur) {
		cur->err = err;
		cur->ms = (unsigned)(now_ms() - cur->t0);
		cur->done(cur);
	}
	while (queue) {
		struct rjob *next = queue->next;
		queue->err = -EHOSTDOWN;
		queue->done(queue);
		queue = next;
	}
}

bool rworker_expire(struct rworker *w)
{
	pthread_mutex_lock(&w->mu);
	bool late = w->cur && now_ms() > w->cur->deadline;
	pthread_mutex_unlock(&w->mu);
	if (late)
		abandon(w, -ETIMEDOUT);
	return late;
}

void rworker_drop(struct rworker *w)
{
	abandon(w, -EHOSTDOWN);
}
