#include "etcd/member.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "etcd/client.h"
#include "vmfs/door.h"
#include "vmfs/kinds.h"
#include "vmfs/loop.h"
#include "vmfs/node.h"
#include "vmfs/threadlog.h"

struct emember {
	struct vmfs *v;
	struct etcd *c;
	char key[sizeof(MEMBER_PREFIX) + 256];
	char *value;
	int64_t lease;
	pthread_t th;
	bool started;
	struct threadlog tl;  /* the thread's lines for host/log */
	pthread_mutex_t lock; /* what follows */
	pthread_cond_t cv;
	bool stopping;
};

/* Takes a lease and claims the key on it; 0, or -errno with the reason in e. */
static int join(struct emember *m, struct err *e)
{
	int64_t lease;
	int r = etcd_lease_grant(m->c, MEMBER_TTL_S, &lease, NULL, e);
	if (r)
		return r;
	struct etcd_kv cur;
	r = etcd_claim(m->c, m->key, m->value, strlen(m->value), lease, &cur, e);
	if (r == 1) {
		m->lease = lease;
		return 0;
	}
	if (r == 0) {
		r = err_set(e, EEXIST,
			    "%s is held by another host (lease %" PRId64 "): its value %.200s",
			    m->key, cur.lease, cur.value);
		etcd_kv_free(&cur);
	}
	struct err ignored;
	etcd_lease_revoke(m->c, lease, &ignored); /* (else it lapses by itself) */
	return r;
}

/* waits until the next renewal is due; false once the daemon stops */
static bool pause_until(struct emember *m, const struct timespec *due)
{
	pthread_mutex_lock(&m->lock);
	while (!m->stopping && pthread_cond_timedwait(&m->cv, &m->lock, due) != ETIMEDOUT)
		;
	bool go_on = !m->stopping;
	pthread_mutex_unlock(&m->lock);
	return go_on;
}

static void *keep(void *arg)
{
	struct emember *m = arg;
	struct err e;
	int last = 0; /* the errno of the last failure said: a lasting one is said once (its words
		       * vary: "after 1001 ms") */
	struct timespec due;
	clock_gettime(CLOCK_MONOTONIC, &due);
	do {
		int r;
		if (!m->lease) {
			if (!(r = join(m, &e))) {
				threadlog_say(&m->tl,
					      "joined as %s, lease %" PRId64
					      " (%d s, renewed every %d ms)",
					      m->key, m->lease, MEMBER_TTL_S, MEMBER_RENEW_MS);
				last = 0;
			}
		} else if ((r = etcd_lease_keepalive(m->c, m->lease, NULL, &e)) == -ENOENT) {
			threadlog_say(&m->tl,
				      "lease %" PRId64
				      " lapsed (not renewed in time): %s is gone; joining again",
				      m->lease, m->key);
			m->lease = 0;
			last = 0;
			continue;
		}
		if (r && last != -r) {
			threadlog_say(&m->tl, "%s: %s",
				      m->lease ? "cannot renew the lease" : "cannot join", e.why);
			last = -r;
		} else if (!r && last) {
			if (m->lease)
				threadlog_say(&m->tl, "etcd answers again");
			last = 0;
		}
		due.tv_nsec += MEMBER_RENEW_MS * 1000000L;
		due.tv_sec += due.tv_nsec / 1000000000L;
		due.tv_nsec %= 1000000000L;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec >
		    due.tv_sec + 1) /* behind (a call took its whole timeout): no burst */
			due = now;
	} while (pause_until(m, &due));
	if (m->lease && etcd_lease_revoke(m->c, m->lease, &e))
		threadlog_say(&m->tl, "cannot end lease %" PRId64 " (it lapses in %d s): %s",
			      m->lease, MEMBER_TTL_S, e.why);
	else if (m->lease)
		threadlog_say(&m->tl, "left: lease %" PRId64 " ended, %s removed", m->lease,
			      m->key);
	return NULL;
}

static int member_attach(void *self, struct loop *l)
{
	struct emember *m = self;
	if (threadlog_attach(&m->tl, l))
		return -1;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&m->th, NULL, keep, m))
		evlog_add(&m->v->log, "etcd: cannot start the membership's thread: not a member");
	else
		m->started = true;
	return 0;
}

static void member_stop(void *self)
{
	struct emember *m = self;
	if (m->started) {
		pthread_mutex_lock(&m->lock);
		m->stopping = true;
		pthread_cond_signal(&m->cv);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->th, NULL);
		pthread_cond_destroy(&m->cv);
		m->started = false;
	}
	threadlog_flush(&m->tl);
}

static void member_close(void *self)
{
	struct emember *m = self;
	etcd_close(m->c);
	free(m->value);
	threadlog_fini(&m->tl);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static const struct door_ops member_ops = {
    .attach = member_attach,
    .stop = member_stop,
    .close = member_close,
};

/* the key's value: who this host is and where its doors are */
static char *describe(const struct vmfs *v, const struct vmfs_conf *conf)
{
	json_object *o = json_object_new_object();
	char web[300], p9[300]; /* URLs as a head's hosts/ctl takes them (9p://HOST:PORT) */
	snprintf(web, sizeof(web), "%s://%s/", *conf->web_cert ? "https" : "http", conf->web);
	snprintf(p9, sizeof(p9), "9p://%s", conf->p9);
	if (!o || json_object_object_add(o, "host", json_object_new_string(v->hostname)) ||
	    json_object_object_add(o, "vmfs", json_object_new_string(VMFS_VERSION)) ||
	    json_object_object_add(o, "since", json_object_new_int64((int64_t)time(NULL))) ||
	    (*conf->web && json_object_object_add(o, "web", json_object_new_string(web))) ||
	    (*conf->p9 && json_object_object_add(o, "p9", json_object_new_string(p9)))) {
		json_object_put(o);
		return NULL;
	}
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
	char *copy = s ? strdup(s) : NULL;
	json_object_put(o);
	return copy;
}

int member_door_open(struct vmfs *v, const struct vmfs_conf *conf, struct door *out, char *err,
		     size_t errlen)
{
	struct emember *m = calloc(1, sizeof(*m));
	if (!m || threadlog_init(&m->tl, &v->log, "etcd: ")) {
		free(m);
		snprintf(err, errlen, "etcd: out of memory or descriptors");
		return -1;
	}
	struct err e;
	const struct etcd_opts o = {
	    .endpoints = conf->etcd,
	    .ca = *conf->etcd_ca ? conf->etcd_ca : NULL,
	    .cert = *conf->etcd_cert ? conf->etcd_cert : NULL,
	    .key = *conf->etcd_key ? conf->etcd_key : NULL,
	    .user = *conf->etcd_user ? conf->etcd_user : NULL,
	    .password_file = *conf->etcd_password_file ? conf->etcd_password_file : NULL,
	    .timeout_ms = 1000, /* two renewals' time: a lease of 2 s survives one slow call */
	};
	pthread_mutex_init(&m->lock, NULL);
	m->v = v;
	snprintf(m->key, sizeof(m->key), "%s%s", MEMBER_PREFIX, v->hostname);
	if (etcd_open(&o, &m->c, &e)) {
		snprintf(err, errlen, "%s", e.why);
		member_close(m);
		return -1;
	}
	if (!(m->value = describe(v, conf))) {
		snprintf(err, errlen, "etcd: out of memory");
		member_close(m);
		return -1;
	}
	*out = (struct door){&member_ops, m, -1};
	return 0;
}
