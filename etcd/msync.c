#include "etcd/msync.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cluster/chosts.h"
#include "cluster/ckey.h"
#include "cluster/crec.h"
#include "etcd/watch.h"
#include "runtime/model.h"
#include "vmfs/loop.h"
#include "vmfs/threadlog.h"

#define DOWN_QUEUE_MAX                                                                             \
	256 /* hosts whose P/down waits to be written; more: the next snapshot's                   \
	     * scan finds them */

struct down_job {
	char host[NAME_MAX_LEN + 1];
	time_t since;
	bool unseen; /* found without alive or down: nobody saw it go */
};

struct msync {
	struct etcd_opts o;
	char *endpoints, *ca, *cert, *key, *user, *password_file; /* o's own copies */
	struct chosts *ch;
	struct threadlog *tl;
	struct loop *loop;
	struct etcd *w; /* the worker's */
	struct etcd_watch *watch;
	int efd; /* the worker has a snapshot for the loop */
	pthread_t th;
	bool started;
	pthread_mutex_t lock; /* what follows */
	pthread_cond_t cv;
	bool stopping, want_snapshot;
	struct etcd_kvs *snap; /* taken by the loop */
	struct down_job downs[DOWN_QUEUE_MAX];
	size_t ndowns;
	/* watches the loop is done with: closing one joins its thread, which may be in a call */
	struct etcd_watch *old[4];
	size_t nold;
	unsigned gone; /* the loop's: keys that vanished at a resync */
};

static void wake_worker(struct msync *s) { pthread_cond_signal(&s->cv); }

void msync_resync(struct msync *s)
{
	pthread_mutex_lock(&s->lock);
	s->want_snapshot = true;
	wake_worker(s);
	pthread_mutex_unlock(&s->lock);
}

/* chosts' lapse: P/down/H is to be written (in the loop: the worker writes it) */
static void queue_down(struct msync *s, const char *host, bool unseen)
{
	pthread_mutex_lock(&s->lock);
	bool queued = false;
	for (size_t i = 0; i < s->ndowns; i++)
		queued |= !strcmp(s->downs[i].host, host);
	if (!queued && s->ndowns < DOWN_QUEUE_MAX) {
		struct down_job *d = &s->downs[s->ndowns++];
		snprintf(d->host, sizeof(d->host), "%s", host);
		d->since = time(NULL);
		d->unseen = unseen;
		wake_worker(s);
	}
	pthread_mutex_unlock(&s->lock);
}

static void on_lapse(void *ctx, const char *host) { queue_down(ctx, host, false); }

/* P/down/H, if nobody wrote it and H did not come back meanwhile: one txn. */
static void write_down(struct msync *s, const struct down_job *d)
{
	char k_alive[CKEY_MAX + 1], k_down[CKEY_MAX + 1];
	if (ckey_alive(k_alive, sizeof(k_alive), s->ch->cluster, d->host) < 0 ||
	    ckey_down(k_down, sizeof(k_down), s->ch->cluster, d->host) < 0)
		return;
	struct crec_down rec = {.since = (uint64_t)d->since, .why = CREC_DOWN_LAPSED};
	snprintf(rec.by, sizeof(rec.by), "%s", s->ch->self);
	struct sbuf v = {0};
	crec_down_write(&rec, &v);
	if (d->unseen) /* read by chosts: "down since at least T" */
		sb_puts(&v, "unseen=yes\n");
	const struct etcd_cmp none[] = {
	    {.key = k_alive, .target = ETCD_VERSION, .result = ETCD_EQUAL},
	    {.key = k_down, .target = ETCD_VERSION, .result = ETCD_EQUAL},
	};
	const struct etcd_op put = {.kind = ETCD_OP_PUT, .key = k_down, .value = v.p, .len = v.len};
	struct etcd_txn_result res = {0};
	struct err e;
	if (v.oom)
		threadlog_say(s->tl, "cannot write %s: out of memory", k_down);
	else if (etcd_txn(s->w, none, 2, &put, 1, NULL, 0, &res, &e))
		threadlog_say(s->tl, "cannot write %s: %s", k_down, e.why);
	else if (res.succeeded)
		threadlog_say(s->tl, "%s is down (%s): wrote %s", d->host,
			      d->unseen ? "found without alive or down" : "its lease lapsed",
			      k_down);
	/* else: another host wrote it first, or d->host is back */
	etcd_txn_result_free(&res);
	sb_free(&v);
}

static void *work(void *arg)
{
	struct msync *s = arg;
	char prefix[CKEY_MAX + 1];
	ckey_prefix(prefix, sizeof(prefix), s->ch->cluster);
	int last = 0; /* a failure said once until it changes */
	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		if (s->want_snapshot) {
			s->want_snapshot = false;
			pthread_mutex_unlock(&s->lock);
			struct etcd_kvs *kvs = calloc(1, sizeof(*kvs));
			struct err e;
			int r = kvs ? etcd_range_snapshot(s->w, prefix, 0, kvs, &e)
				    : err_set(&e, ENOMEM, "out of memory");
			if (r && r != last)
				threadlog_say(s->tl, "cannot read %s: %s (trying again)", prefix,
					      e.why);
			last = r;
			pthread_mutex_lock(&s->lock);
			if (r) {
				free(kvs);
				s->want_snapshot = true;
				struct timespec t;
				clock_gettime(CLOCK_MONOTONIC, &t);
				t.tv_sec += 1;
				pthread_cond_timedwait(&s->cv, &s->lock, &t);
				continue;
			}
			if (s->snap) { /* not taken yet: this one is newer */
				etcd_kvs_free(s->snap);
				free(s->snap);
			}
			s->snap = kvs;
			uint64_t one = 1;
			if (write(s->efd, &one, sizeof(one)) < 0) {
				/* (an eventfd at its limit is readable all the same) */
			}
			continue;
		}
		if (s->nold) {
			struct etcd_watch *w = s->old[--s->nold];
			pthread_mutex_unlock(&s->lock);
			etcd_watch_close(w);
			pthread_mutex_lock(&s->lock);
			continue;
		}
		if (s->ndowns) {
			struct down_job d = s->downs[0];
			memmove(s->downs, s->downs + 1, --s->ndowns * sizeof(*s->downs));
			pthread_mutex_unlock(&s->lock);
			write_down(s, &d);
			pthread_mutex_lock(&s->lock);
			continue;
		}
		pthread_cond_wait(&s->cv, &s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* counts what a resync removes, then tells chosts and its listeners */
static void changed(void *ctx, const char *key, const struct ccache_kv *old,
		    const struct ccache_kv *now)
{
	struct msync *s = ctx;
	if (old && !now && s->ch->loading && s->gone++ < 5)
		evlog_add(s->ch->log, "etcd: resync: %s vanished while the watch was away", key);
	chosts_changed(s->ch, key, old, now);
	for (size_t i = 0; i < s->ch->nlisten; i++)
		s->ch->listen[i].fn(s->ch->listen[i].ctx, key, old, now);
}

static int on_watch(void *arg);

/* The loop lets go of a watch; the worker closes it. */
static void retire(struct msync *s, struct etcd_watch *w)
{
	pthread_mutex_lock(&s->lock);
	bool queued = s->nold < sizeof(s->old) / sizeof(*s->old);
	if (queued) {
		s->old[s->nold++] = w;
		wake_worker(s);
	}
	pthread_mutex_unlock(&s->lock);
	if (!queued) /* (the worker is stuck: this one waits here) */
		etcd_watch_close(w);
}

static void watch_close(struct msync *s)
{
	if (!s->watch)
		return;
	loop_del_fd(s->loop, etcd_watch_fd(s->watch));
	retire(s, s->watch);
	s->watch = NULL;
}

/* The hosts that have a name and neither alive nor down: down since at least now. */
static void scan_unseen(struct msync *s)
{
	for (size_t i = 0; i < s->ch->n; i++) {
		const struct chost *h = s->ch->v[i];
		char ka[CKEY_MAX + 1], kd[CKEY_MAX + 1];
		if (!h->present || !strcmp(h->name, s->ch->self) ||
		    ckey_alive(ka, sizeof(ka), s->ch->cluster, h->name) < 0 ||
		    ckey_down(kd, sizeof(kd), s->ch->cluster, h->name) < 0)
			continue;
		if (!ccache_get(s->ch->cache, ka) && !ccache_get(s->ch->cache, kd))
			queue_down(s, h->name, true);
	}
}

/* the loop: a snapshot is ready: it replaces the cache, and the watch starts after it */
static int on_snapshot(void *arg)
{
	struct msync *s = arg;
	uint64_t n;
	if (read(s->efd, &n, sizeof(n)) < 0) {
		/* (nothing to take: spurious) */
	}
	pthread_mutex_lock(&s->lock);
	struct etcd_kvs *kvs = s->snap;
	s->snap = NULL;
	pthread_mutex_unlock(&s->lock);
	if (!kvs)
		return 0;
	struct ccache_kv *kv = calloc(kvs->n ? kvs->n : 1, sizeof(*kv));
	if (!kv) {
		evlog_add(s->ch->log,
			  "etcd: out of memory for a snapshot of %zu keys: trying again", kvs->n);
		msync_resync(s);
		goto out;
	}
	for (size_t i = 0; i < kvs->n; i++)
		kv[i] = (struct ccache_kv){kvs->kv[i].key,	    kvs->kv[i].value,
					   kvs->kv[i].value_len,    kvs->kv[i].create_revision,
					   kvs->kv[i].mod_revision, kvs->kv[i].version,
					   kvs->kv[i].lease};
	bool first = !s->ch->synced;
	s->ch->loading = true;
	s->gone = 0;
	int r = ccache_load(s->ch->cache, kv, kvs->n, kvs->revision, changed, s);
	s->ch->loading = false;
	free(kv);
	if (r) {
		evlog_add(s->ch->log,
			  "etcd: out of memory for a snapshot of %zu keys: trying again", kvs->n);
		msync_resync(s);
		goto out;
	}
	s->ch->synced = true;
	if (!first)
		evlog_add(s->ch->log, "etcd: resync at revision %lld: %zu keys, %u vanished",
			  (long long)kvs->revision, kvs->n, s->gone);
	scan_unseen(s);
	watch_close(s);
	struct err e;
	if (etcd_watch_open(&s->o, s->ch->prefix, kvs->revision + 1, &s->watch, &e) ||
	    loop_add_fd(s->loop, etcd_watch_fd(s->watch), on_watch, s)) {
		evlog_add(s->ch->log, "etcd: cannot watch %s: %s: reading it again", s->ch->prefix,
			  s->watch ? "no room in the loop" : e.why);
		if (s->watch) /* (not in the loop) */
			retire(s, s->watch);
		s->watch = NULL;
		msync_resync(s);
	}
out:
	etcd_kvs_free(kvs);
	free(kvs);
	return 0;
}

static void apply(struct msync *s, const struct etcd_wbatch *b)
{
	struct ccache_event *ev = calloc(b->n ? b->n : 1, sizeof(*ev));
	if (!ev) {
		evlog_add(s->ch->log, "etcd: out of memory for %zu events: reading %s again", b->n,
			  s->ch->prefix);
		watch_close(s);
		msync_resync(s);
		return;
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct etcd_kv *k = &b->events[i].kv;
		ev[i].del = b->events[i].type == ETCD_EV_DELETE;
		ev[i].kv = (struct ccache_kv){k->key,
					      ev[i].del ? "" : k->value,
					      ev[i].del ? 0 : k->value_len,
					      k->create_revision,
					      k->mod_revision,
					      k->version,
					      k->lease};
	}
	if (ccache_apply(s->ch->cache, ev, b->n, changed, s)) {
		evlog_add(s->ch->log, "etcd: out of memory applying events: reading %s again",
			  s->ch->prefix);
		watch_close(s);
		msync_resync(s);
	}
	free(ev);
}

static int on_watch(void *arg)
{
	struct msync *s = arg;
	for (int rounds = 0; s->watch && rounds < 64; rounds++) { /* then the loop's other work */
		struct etcd_wbatch b;
		etcd_watch_take(s->watch, &b);
		enum etcd_wstatus st = b.status;
		switch (st) {
		case ETCD_W_EVENTS:
			apply(s, &b);
			break;
		case ETCD_W_COMPACTED:
			evlog_add(s->ch->log,
				  "etcd: the watch of %s lost its place (%s%s): reading it again",
				  s->ch->prefix, b.compact_revision ? "compacted" : b.why,
				  b.compact_revision ? "" : "");
			watch_close(s);
			msync_resync(s);
			break;
		case ETCD_W_DOWN:
			evlog_add(s->ch->log, "etcd: the watch has no answer: %s", b.why);
			break;
		case ETCD_W_UP:
			evlog_add(s->ch->log, "etcd: the watch answers again, nothing lost");
			break;
		case ETCD_W_NONE:
			break;
		}
		etcd_wbatch_free(&b);
		if (st == ETCD_W_NONE || st == ETCD_W_COMPACTED)
			break;
	}
	return 0;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

int msync_new(const struct etcd_opts *o, struct chosts *ch, struct threadlog *tl,
	      struct msync **out, struct err *e)
{
	struct msync *s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(e, ENOMEM, "etcd: out of memory");
	s->efd = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->ch = ch;
	s->tl = tl;
	s->o = *o;
	s->o.endpoints = s->endpoints = strdup(o->endpoints);
	s->o.ca = s->ca = dup_or_null(o->ca);
	s->o.cert = s->cert = dup_or_null(o->cert);
	s->o.key = s->key = dup_or_null(o->key);
	s->o.user = s->user = dup_or_null(o->user);
	s->o.password_file = s->password_file = dup_or_null(o->password_file);
	s->o.timeout_ms = 5000; /* a snapshot's pages, a down record: not the lease's hurry */
	if (!s->endpoints || (o->ca && !s->ca) || (o->cert && !s->cert) || (o->key && !s->key) ||
	    (o->user && !s->user) || (o->password_file && !s->password_file)) {
		msync_free(s);
		return err_set(e, ENOMEM, "etcd: out of memory");
	}
	int r = etcd_open(&s->o, &s->w, e);
	if (!r && (s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		r = err_set(e, errno, "etcd: eventfd: %s", strerror(errno));
	if (r) {
		msync_free(s);
		return r;
	}
	ch->lapsed = on_lapse;
	ch->ctx = s;
	*out = s;
	return 0;
}

int msync_attach(struct msync *s, struct loop *l)
{
	s->loop = l;
	if (loop_add_fd(l, s->efd, on_snapshot, s))
		return -1;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	s->want_snapshot = true;
	if (pthread_create(&s->th, NULL, work, s))
		evlog_add(s->ch->log, "etcd: cannot start the cache's thread: hosts/ stays empty");
	else
		s->started = true;
	return 0;
}

void msync_stop(struct msync *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		wake_worker(s);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->th, NULL);
		pthread_cond_destroy(&s->cv);
		s->started = false;
	}
	if (s->watch) {
		etcd_watch_close(s->watch); /* the loop is gone: no loop_del_fd */
		s->watch = NULL;
	}
	while (s->nold) /* the worker has ended */
		etcd_watch_close(s->old[--s->nold]);
}

void msync_free(struct msync *s)
{
	if (!s)
		return;
	msync_stop(s);
	if (s->snap) {
		etcd_kvs_free(s->snap);
		free(s->snap);
	}
	etcd_close(s->w);
	if (s->efd >= 0)
		close(s->efd);
	free(s->endpoints);
	free(s->ca);
	free(s->cert);
	free(s->key);
	free(s->user);
	free(s->password_file);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
