#include "cluster/rjob.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/model.h"

#define READ_MAX (16u << 20)

struct rworker {
	struct rtsrc src;
	struct model *m;
	int efd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rjob *queue, *cur, *done; /* done: newest first, delivered oldest first */
	bool quit, abandoned, retiring;
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

static int read_all(int fd, struct sbuf *out)
{
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (out->len + n > READ_MAX)
			return -EFBIG;
		sb_add(out, buf, n);
	}
	return n < 0 ? -errno : sb_err(out);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
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
	read_all(p[0], out); /* until every holder of the pipe closed it */
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/* A new run starts its file again: a size below off means read from its start. */
static int tail(const char *path, struct sbuf *out, uint64_t *off)
{
	char buf[65536];
	for (int i = 0; i < 80; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT)
			return -errno;
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_size < *off)
			*off = 0;
		ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf), (off_t)*off) : 0;
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (n < 0)
			return -e;
		if (n > 0) {
			sb_add(out, buf, n);
			*off += n;
			return sb_err(out);
		}
		struct timespec ts = {0, 250000000};
		nanosleep(&ts, NULL);
	}
	return 0;
}

static int do_op(enum rop op, const char *path, const struct sbuf *in, struct sbuf *out,
		 uint64_t *off)
{
	int fd, r;
	switch (op) {
	case ROP_TAIL:
		return tail(path, out, off);
	case ROP_READ:
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return -errno;
		r = read_all(fd, out);
		close(fd);
		return r;
	case ROP_WRITE:
	case ROP_CTL:
		if ((fd = open(path, (op == ROP_CTL ? O_RDWR : O_WRONLY | O_TRUNC | O_CREAT) | O_CLOEXEC, 0666)) < 0)
			return -errno;
		r = write_all(fd, in->p ? in->p : "", in->len);
		if (op == ROP_CTL) /* the answer says why, also after a failed write */
			read_all(fd, out);
		close(fd);
		return r;
	case ROP_MKDIR:
		return mkdir(path, 0777) < 0 ? -errno : 0;
	case ROP_RUN:
		return run_argv(in->p ? in->p : "", in->len, out);
	}
	return -EINVAL;
}

static void put(struct rworker *w)
{
	bool last = --w->refs == 0;
	pthread_mutex_unlock(&w->mu);
	if (!last)
		return;
	close(w->efd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

static void *work(void *arg)
{
	struct rworker *w = arg;
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
		uint64_t off = j->off;
		sb_add(&in, j->in.p ? j->in.p : "", j->in.len);
		pthread_mutex_unlock(&w->mu);
		int r = sb_err(&in) ? -ENOMEM : do_op(op, path, &in, &out, &off);
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
	struct rworker *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
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
