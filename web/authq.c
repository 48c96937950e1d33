/* The workers of web/authq.h: a queue under a mutex, an eventfd towards the loop. */
#include "web/authq.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "web/auth.h"

/* Two at once: a flood of wrong passwords keeps both busy, the loop still gets the CPU
 * (the workers run at a lower priority), and the rest wait in the queue. */
#define AUTHQ_THREADS 2
#define AUTHQ_NICE 10

struct job {
	void *tag; /* NULL once forgotten while a worker runs it */
	char who[AUTHQ_WHO_MAX];
	char *pass;
	char *hash;
	bool yes;
	struct job *next;
};

struct authq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *todo, *done, *running[AUTHQ_THREADS];
	pthread_t th[AUTHQ_THREADS];
	int nth;
	bool stop;
	int efd;
};

struct worker {
	struct authq *q;
	int i;
};

static void job_free(struct job *j)
{
	if (!j)
		return;
	explicit_bzero(j->pass, strlen(j->pass));
	free(j->pass);
	free(j->hash);
	free(j);
}

static unsigned running_for(const struct authq *q, const char *who)
{
	unsigned n = 0;
	for (int i = 0; i < AUTHQ_THREADS; i++)
		n += q->running[i] && !strcmp(q->running[i]->who, who);
	return n;
}

/* The oldest job of the address with the fewest checks running: another client's password
 * waits for one check at most, however many an address keeps sending. With q->mu held. */
static struct job *take_fairly(struct authq *q)
{
	struct job **best = &q->todo;
	unsigned fewest = running_for(q, q->todo->who);
	for (struct job **p = &q->todo->next; *p && fewest; p = &(*p)->next) {
		unsigned n = running_for(q, (*p)->who);
		if (n < fewest) {
			fewest = n;
			best = p;
		}
	}
	struct job *j = *best;
	*best = j->next;
	return j;
}

/* Checks of who's waiting or running (a forgotten one too: it holds a worker). */
static unsigned pending_for(const struct authq *q, const char *who)
{
	unsigned n = running_for(q, who);
	for (const struct job *j = q->todo; j; j = j->next)
		n += !strcmp(j->who, who);
	return n;
}

static void *worker_main(void *arg)
{
	struct worker me = *(struct worker *)arg;
	struct authq *q = me.q;
	free(arg);
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), AUTHQ_NICE);
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->stop && !q->todo)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->stop)
			break;
		struct job *j = take_fairly(q);
		q->running[me.i] = j;
		pthread_mutex_unlock(&q->mu);
		bool yes = auth_crypt(j->pass, j->hash);
		pthread_mutex_lock(&q->mu);
		q->running[me.i] = NULL;
		if (!j->tag) {
			job_free(j);
			continue;
		}
		j->yes = yes;
		j->next = q->done;
		q->done = j;
		uint64_t one = 1;
		if (write(q->efd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow here: the loop reads it */
		}
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int authq_new(struct authq **out)
{
	struct authq *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd < 0) {
		int e = errno;
		free(q);
		return -e;
	}
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	*out = q;
	return 0;
}

int authq_fd(const struct authq *q) { return q->efd; }

/* Called with q->mu held. The threads take no signal: the loop reads them on a signalfd. */
static int start_workers(struct authq *q)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	while (q->nth < AUTHQ_THREADS) {
		struct worker *w = malloc(sizeof(*w));
		if (!w)
			break;
		*w = (struct worker){q, q->nth};
		if (pthread_create(&q->th[q->nth], NULL, worker_main, w)) {
			free(w);
			break;
		}
		q->nth++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return q->nth ? 0 : -EAGAIN;
}

int authq_ask(struct authq *q, void *tag, const char *who, const char *pass, const char *hash)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j || !(j->pass = strdup(pass)) || !(j->hash = strdup(hash))) {
		if (j)
			free(j->pass);
		free(j);
		return -ENOMEM;
	}
	j->tag = tag;
	snprintf(j->who, sizeof(j->who), "%s", who);
	pthread_mutex_lock(&q->mu);
	int r = q->nth < AUTHQ_THREADS ? start_workers(q) : 0;
	if (!r && pending_for(q, j->who) >= AUTHQ_PER_WHO)
		r = -EBUSY;
	if (!r) {
		struct job **p = &q->todo;
		while (*p)
			p = &(*p)->next;
		*p = j;
		pthread_cond_signal(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	if (r)
		job_free(j);
	return r;
}

void *authq_take(struct authq *q, bool *yes)
{
	uint64_t n;
	if (read(q->efd, &n, sizeof(n)) < 0) {
		/* nothing new since the last read: the list may still hold answers */
	}
	pthread_mutex_lock(&q->mu);
	struct job *j = q->done;
	if (j)
		q->done = j->next;
	pthread_mutex_unlock(&q->mu);
	if (!j)
		return NULL;
	void *tag = j->tag;
	*yes = j->yes;
	job_free(j);
	return tag;
}

static void drop_tag(struct job **list, void *tag)
{
	for (struct job **p = list; *p;)
		if ((*p)->tag == tag) {
			struct job *j = *p;
			*p = j->next;
			job_free(j);
		} else {
			p = &(*p)->next;
		}
}

void authq_forget(struct authq *q, void *tag)
{
	pthread_mutex_lock(&q->mu);
	drop_tag(&q->todo, tag);
	drop_tag(&q->done, tag);
	for (int i = 0; i < AUTHQ_THREADS; i++)
		if (q->running[i] && q->running[i]->tag == tag)
			q->running[i]->tag = NULL;
	pthread_mutex_unlock(&q->mu);
}

void authq_free(struct authq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (int i = 0; i < q->nth; i++)
		pthread_join(q->th[i], NULL);
	while (q->todo) {
		struct job *j = q->todo;
		q->todo = j->next;
		job_free(j);
	}
	while (q->done) {
		struct job *j = q->done;
		q->done = j->next;
		job_free(j);
	}
	close(q->efd);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q);
}
