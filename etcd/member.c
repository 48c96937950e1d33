#include "etcd/member.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster/chosts.h"
#include "cluster/ckey.h"
#include "cluster/cview.h"
#include "cluster/crec.h"
#include "conf/conf.h"
#include "etcd/client.h"
#include "etcd/msync.h"
#include "runtime/migrate.h"
#include "runtime/util.h"
#include "vmfs/door.h"
#include "vmfs/kinds.h"
#include "vmfs/loop.h"
#include "vmfs/node.h"
#include "vmfs/threadlog.h"

struct emember {
	struct vmfs *v;
	struct chosts *ch;
	struct cview *view;
	struct msync *sync;
	struct etcd *c; /* the membership thread's */
	char uuid[33];
	char addr[INET6_ADDRSTRLEN], p9[CREC_HOSTPORT_MAX], web[CREC_URL_MAX + 1];
	char k_id[CKEY_MAX + 1], k_alive[CKEY_MAX + 1], k_down[CKEY_MAX + 1],
	    k_layout[CKEY_MAX + 1];
	int64_t lease;
	const char *open_to; /* NULL, or why anyone who reaches etcd can write the cluster */
	pthread_t th;
	bool started;
	struct threadlog tl;  /* the threads' lines for host/log */
	pthread_mutex_t lock; /* what follows */
	pthread_cond_t cv;
	bool stopping;
};

static void set_lease(struct chosts *ch, int64_t lease);

/* STATE/cluster/uuid: this machine, whatever its name. Read strictly: a damaged one is not
 * replaced behind the admin's back (a new uuid is another machine to the cluster). */
static int uuid_load(int statefd, char out[33], char *err, size_t errlen)
{
	if (mkdirat(statefd, "cluster", 0700) && errno != EEXIST) {
		snprintf(err, errlen, "etcd: cannot make STATE/cluster: %s", strerror(errno));
		return -1;
	}
	auto_close int dfd = openat(statefd, "cluster", O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char *text = NULL;
	size_t n = 0;
	int r = dfd < 0 ? -errno : read_small(dfd, "uuid", 64, &text, &n);
	if (!r) {
		bool good = n == 33 && text[32] == '\n';
		for (int i = 0; good && i < 32; i++)
			good = (text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f');
		if (good) {
			memcpy(out, text, 32);
			out[32] = 0;
		} else {
			snprintf(err, errlen,
				 "etcd: STATE/cluster/uuid is not 32 lowercase hex digits and a "
				 "newline: damaged; remove it to make a new one (the cluster then sees "
				 "another machine, and refuses this host's name until the old "
				 "P/h/NAME/id is gone)");
		}
		free(text);
		return good ? 0 : -1;
	}
	if (r != -ENOENT) {
		snprintf(err, errlen, "etcd: cannot read STATE/cluster/uuid: %s", strerror(-r));
		return -1;
	}
	unsigned char raw[16];
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw)) {
		snprintf(err, errlen, "etcd: no random bytes for this machine's uuid");
		return -1;
	}
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	char line[34];
	snprintf(line, sizeof(line), "%s\n", out);
	if ((r = write_atomic(dfd, "uuid", line, 33, 1))) {
		snprintf(err, errlen, "etcd: cannot write STATE/cluster/uuid: %s", strerror(-r));
		return -1;
	}
	return 0;
}

static void value_of_id(const struct emember *m, struct sbuf *out)
{
	struct crec_hid id = {.joined = (uint64_t)time(NULL)};
	memcpy(id.uuid, m->uuid, sizeof(id.uuid));
	crec_hid_write(&id, out);
}

static void value_of_alive(const struct emember *m, struct sbuf *out)
{
	struct crec_alive a = {.run = m->v->m.run, .started = (uint64_t)time(NULL)};
	snprintf(a.version, sizeof(a.version), "%s", VMFS_VERSION);
	snprintf(a.addr, sizeof(a.addr), "%s", m->addr);
	snprintf(a.p9, sizeof(a.p9), "%s", m->p9);
	snprintf(a.web, sizeof(a.web), "%s", m->web);
	unsigned lo, hi;
	migrate_ports(&lo, &hi);
	a.migrate_lo = (uint16_t)lo;
	a.migrate_hi = (uint16_t)hi;
	crec_alive_write(&a, out);
}

/* The name is ours: P/h/H/id holds our uuid (mod_rev: its revision, for the txn). 1: ours,
 * 0: another machine's (err says so), -1: unreadable (err says why). */
static int id_is_ours(const struct emember *m, const struct etcd_kvs *r, int64_t *mod_rev,
		      char *err, size_t errlen)
{
	if (!r || r->n != 1) {
		snprintf(err, errlen, "%s went while this host joined: trying again", m->k_id);
		return -1;
	}
	struct crec_hid id;
	char why[256];
	if (crec_hid_read(r->kv[0].value, r->kv[0].value_len, &id, why, sizeof(why))) {
		snprintf(err, errlen, "%s is not a name claim this vmfs reads (%s): not joining",
			 m->k_id, why);
		return 0;
	}
	*mod_rev = r->kv[0].mod_revision;
	if (strcmp(id.uuid, m->uuid)) {
		snprintf(err, errlen, "%s is taken in cluster %s by another machine (uuid %s)",
			 m->v->hostname, m->ch->cluster, id.uuid);
		return 0;
	}
	return 1;
}

/* P/layout: written by the first host; a cluster of a higher layout (or one this vmfs cannot
 * read) is a newer vmfs's: not joined. 0; 1 refused (why in e); -errno. */
static int layout_check(struct emember *m, struct err *e)
{
	struct crec_layout ours = {.layout = CREC_LAYOUT}, got;
	struct sbuf v = {0};
	struct etcd_kv cur;
	crec_layout_write(&ours, &v);
	int r = v.oom ? err_set(e, ENOMEM, "etcd: out of memory")
		      : etcd_claim(m->c, m->k_layout, v.p, v.len, 0, &cur, e);
	sb_free(&v);
	if (r)
		return r == 1 ? 0 : r;
	char why[256];
	r = crec_layout_read(cur.value, cur.value_len, &got, why, sizeof(why));
	etcd_kv_free(&cur);
	if (r)
		err_set(e, EPROTO, "%s: %s: cluster %s is not one this vmfs knows", m->k_layout,
			why, m->ch->cluster);
	else if (got.layout > CREC_LAYOUT)
		err_set(
		    e, EPROTO,
		    "cluster %s has layout %llu, this vmfs knows layout %d: a newer vmfs made it",
		    m->ch->cluster, (unsigned long long)got.layout, CREC_LAYOUT);
	return r || got.layout > CREC_LAYOUT ? 1 : 0;
}

/* A host forgotten (hosts/ctl's forget, cluster/cdrain.h) does not rejoin until the admin
 * has deleted P/forgotten/H: 1 with the words in e; 0; -errno. */
static int forgotten_check(struct emember *m, char *key, size_t len, struct err *e)
{
	struct etcd_kv kv = {0};
	bool found = false;
	if (ckey_forgotten(key, len, m->ch->cluster, m->v->hostname) < 0)
		return err_set(e, EINVAL, "etcd: no key for this host's name");
	int r = etcd_get(m->c, key, &kv, &found, e);
	if (r || !found)
		return r;
	struct crec_forgotten f = {0};
	char why[256], ts[32], area[CKEY_MAX + 1];
	if (crec_forgotten_read(kv.value, kv.value_len, &f, why, sizeof(why)))
		snprintf(f.by, sizeof(f.by), "?");
	etcd_kv_free(&kv);
	fmt_time((time_t)f.since, ts);
	ckey_host_prefix(area, sizeof(area), m->ch->cluster, m->v->hostname);
	err_set(e, EPERM,
		"this host was forgotten by %s at %s (hosts/ctl forget): it does not rejoin until "
		"the admin deletes %s and %s (etcdctl del %s; etcdctl del --prefix %s)",
		f.by, ts, key, area, key, area);
	return 1;
}

/* One txn claims the name (absent) and puts alive, deletes down; if the name is there, a
 * second one does the same if it holds our uuid. 0; 1 refused (why in e); -errno. */
static int join(struct emember *m, struct err *e)
{
	int64_t lease;
	char k_forg[CKEY_MAX + 1];
	int r = layout_check(m, e);
	if (r || (r = forgotten_check(m, k_forg, sizeof(k_forg), e)) ||
	    (r = etcd_lease_grant(m->c, MEMBER_TTL_S, &lease, NULL, e)))
		return r;
	struct sbuf id = {0}, alive = {0};
	value_of_id(m, &id);
	value_of_alive(m, &alive);
	/* a forget between the check and here fails the txn: the next try says so */
	struct etcd_cmp absent[] = {
	    {.key = m->k_id, .target = ETCD_VERSION, .result = ETCD_EQUAL},
	    {.key = k_forg, .target = ETCD_VERSION, .result = ETCD_EQUAL},
	};
	const struct etcd_op up[] = {
	    {.kind = ETCD_OP_PUT, .key = m->k_id, .value = id.p, .len = id.len},
	    {.kind = ETCD_OP_PUT,
	     .key = m->k_alive,
	     .value = alive.p,
	     .len = alive.len,
	     .lease = lease},
	    {.kind = ETCD_OP_DELETE, .key = m->k_down},
	};
	const struct etcd_op read_id = {.kind = ETCD_OP_RANGE, .key = m->k_id};
	struct etcd_txn_result res = {0};
	if (id.oom || alive.oom)
		r = err_set(e, ENOMEM, "etcd: out of memory");
	else
		r = etcd_txn(m->c, absent, 2, up, 3, &read_id, 1, &res, e);
	if (!r && !res.succeeded) {
		int64_t mod_rev = 0;
		char why[1024];
		int ours =
		    id_is_ours(m, res.nranges ? &res.ranges[0] : NULL, &mod_rev, why, sizeof(why));
		etcd_txn_result_free(&res);
		memset(&res, 0, sizeof(res));
		if (ours == 1) {
			struct etcd_cmp same[] = {
			    {.key = m->k_id, .target = ETCD_MOD, .num = mod_rev},
			    {.key = k_forg, .target = ETCD_VERSION, .result = ETCD_EQUAL},
			};
			r = etcd_txn(m->c, same, 2, up + 1, 2, NULL, 0, &res, e);
			if (!r && !res.succeeded)
				r = err_set(e, EAGAIN,
					    "%s changed while this host joined: trying again",
					    m->k_id);
		} else {
			r = ours == 0 ? 1 : -EAGAIN;
			err_set(e, ours == 0 ? EEXIST : EAGAIN, "%s", why);
		}
	}
	etcd_txn_result_free(&res);
	sb_free(&id);
	sb_free(&alive);
	if (!r) {
		m->lease = lease;
		set_lease(m->ch, lease);
		return 0;
	}
	struct err ignored;
	etcd_lease_revoke(m->c, lease, &ignored); /* (else it lapses by itself) */
	return r;
}

/* The lease others read (member_lease): the commands a head sends are put on it. */
static void set_lease(struct chosts *ch, int64_t lease)
{
	pthread_mutex_lock(&ch->lock);
	ch->lease = lease;
	pthread_mutex_unlock(&ch->lock);
}

int64_t member_lease(struct chosts *ch)
{
	pthread_mutex_lock(&ch->lock);
	int64_t lease = ch->lease;
	pthread_mutex_unlock(&ch->lock);
	return lease;
}

/* A clean stop: alive goes and down says why, in one txn (others see "stopped", not a lapse),
 * then the lease ends. */
static void leave(struct emember *m)
{
	struct err e;
	struct crec_down d = {.since = (uint64_t)time(NULL), .why = CREC_DOWN_STOPPED};
	memcpy(d.by, m->ch->self, sizeof(d.by));
	struct sbuf down = {0};
	crec_down_write(&d, &down);
	struct etcd_cmp ours = {.key = m->k_alive, .target = ETCD_LEASE, .num = m->lease};
	const struct etcd_op ops[] = {
	    {.kind = ETCD_OP_DELETE, .key = m->k_alive},
	    {.kind = ETCD_OP_PUT, .key = m->k_down, .value = down.p, .len = down.len},
	};
	struct etcd_txn_result res = {0};
	if (!down.oom && etcd_txn(m->c, &ours, 1, ops, 2, NULL, 0, &res, &e))
		threadlog_say(&m->tl, "cannot say %s stopped (others will see its lease lapse): %s",
			      m->v->hostname, e.why);
	etcd_txn_result_free(&res);
	sb_free(&down);
	if (etcd_lease_revoke(m->c, m->lease, &e))
		threadlog_say(&m->tl, "cannot end lease %" PRId64 " (it lapses in %d s): %s",
			      m->lease, MEMBER_TTL_S, e.why);
	else
		threadlog_say(&m->tl, "left cluster %s: %s is down (stopped)", m->ch->cluster,
			      m->v->hostname);
}

/* waits until due; false once the daemon stops */
static bool pause_until(struct emember *m, const struct timespec *due)
{
	pthread_mutex_lock(&m->lock);
	while (!m->stopping && pthread_cond_timedwait(&m->cv, &m->lock, due) != ETIMEDOUT)
		;
	bool go_on = !m->stopping;
	pthread_mutex_unlock(&m->lock);
	return go_on;
}

static long ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void *keep(void *arg)
{
	struct emember *m = arg;
	struct err e;
	int last = 0; /* the errno of the last failure said: a lasting one is said once */
	bool cut = false, refused = false;
	struct timespec due, answered; /* the last time etcd answered a keepalive */
	clock_gettime(CLOCK_MONOTONIC, &due);
	answered = due;
	do {
		int r = 0;
		if (refused) {
			due.tv_sec += 3600; /* until the daemon stops: a refusal stays */
			continue;
		}
		if (!m->lease) {
			if ((r = join(m, &e)) == 1) {
				threadlog_say(&m->tl, "not joining: %s", e.why);
				chosts_set_link(m->ch, CL_REFUSED, e.why);
				refused = true;
				continue;
			}
			if (!r) {
				threadlog_say(&m->tl,
					      "joined cluster %s as %s, lease %" PRId64
					      " (%d s, renewed every %d ms)",
					      m->ch->cluster, m->v->hostname, m->lease,
					      MEMBER_TTL_S, MEMBER_RENEW_MS);
				chosts_set_link(m->ch, CL_JOINED, NULL);
				if (cut) /* the cache missed what happened meanwhile */
					msync_resync(m->sync);
				cut = false;
				last = 0;
				clock_gettime(CLOCK_MONOTONIC, &answered);
			}
		} else if ((r = etcd_lease_keepalive(m->c, m->lease, NULL, &e)) == -ENOENT) {
			threadlog_say(&m->tl,
				      "lease %" PRId64 " lapsed (not renewed in time): %s is gone; "
				      "joining again",
				      m->lease, m->k_alive);
			m->lease = 0;
			set_lease(m->ch, 0);
			last = 0;
			continue;
		} else if (!r) {
			clock_gettime(CLOCK_MONOTONIC, &answered);
			if (cut) { /* the lease outlived the cut (an election, a short outage) */
				threadlog_say(&m->tl, "back in cluster %s: lease %" PRId64 " held",
					      m->ch->cluster, m->lease);
				chosts_set_link(m->ch, CL_JOINED, NULL);
				msync_resync(m->sync);
				cut = false;
			}
		}
		if (r && !cut && ms_since(&answered) >= MEMBER_TTL_S * 1000) {
			/* the lease may be gone: the cache is no longer to be trusted */
			threadlog_say(&m->tl, "cut from etcd: %s", e.why);
			chosts_set_link(m->ch, CL_CUT, e.why);
			cut = true;
			last = -r;
		}
		if (r && last != -r) {
			threadlog_say(&m->tl, "%s: %s",
				      m->lease ? "cannot renew the lease" : "cannot join", e.why);
			last = -r;
		} else if (!r && last) {
			threadlog_say(&m->tl, "etcd answers again");
			last = 0;
		}
		if (r && !m->lease && !cut)
			chosts_set_link(m->ch, CL_JOINING, e.why);
		due.tv_nsec += MEMBER_RENEW_MS * 1000000L;
		due.tv_sec += due.tv_nsec / 1000000000L;
		due.tv_nsec %= 1000000000L;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > due.tv_sec + 1) /* behind (a call took its whole timeout) */
			due = now;
	} while (pause_until(m, &due));
	set_lease(m->ch, 0);
	if (m->lease)
		leave(m);
	return NULL;
}

static int member_attach(void *self, struct loop *l)
{
	struct emember *m = self;
	if (threadlog_attach(&m->tl, l) || msync_attach(m->sync, l))
		return -1;
	if (m->open_to) /* a lab may run so; it is said at every start */
		evlog_add(&m->v->log,
			  "etcd: %s: whoever reaches etcd can write cluster %s's keys (see "
			  "docs/cluster-design.md, Security: TLS with client certificates, and "
			  "etcd_user, etcd_password_file)",
			  m->open_to, m->ch->cluster);
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
	msync_stop(m->sync);
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
	msync_free(m->sync);
	etcd_close(m->c);
	if (m->v->chosts == m->ch)
		m->v->chosts = NULL;
	if (m->v->cview == m->view)
		m->v->cview = NULL;
	cview_free(m->view);
	chosts_free(m->ch);
	threadlog_fini(&m->tl);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static const struct door_ops member_ops = {
    .attach = member_attach,
    .stop = member_stop,
    .close = member_close,
};

/* Where others reach this host: cluster_addr, else the 9P door's address; its doors. */
static int addresses(struct emember *m, const struct vmfs_conf *conf, char *err, size_t errlen)
{
	const char *colon = strrchr(conf->p9, ':');
	if (*conf->cluster_addr)
		snprintf(m->addr, sizeof(m->addr), "%s", conf->cluster_addr);
	else if (colon && strncmp(conf->p9, "127.", 4) && strncmp(conf->p9, "0.0.0.0:", 8))
		snprintf(m->addr, sizeof(m->addr), "%.*s", (int)(colon - conf->p9), conf->p9);
	else {
		snprintf(err, errlen,
			 "etcd: cluster_addr is not set: the address other hosts of the cluster "
			 "reach this one at");
		return -1;
	}
	if (!colon) { /* alive's p9 is how others reach this host's objects' files (step 7) */
		snprintf(err, errlen,
			 "etcd: p9 is not set: a host of a cluster serves its 9P door to the other "
			 "hosts (p9 = ADDR:PORT, 0.0.0.0:PORT for cluster_addr's)");
		return -1;
	}
	/* a door on all addresses is reached at cluster_addr */
	if (!strncmp(conf->p9, "0.0.0.0:", 8))
		snprintf(m->p9, sizeof(m->p9), strchr(m->addr, ':') ? "[%s]%s" : "%s%s", m->addr,
			 colon);
	else
		snprintf(m->p9, sizeof(m->p9), "%s", conf->p9);
	if (*conf->web)
		snprintf(m->web, sizeof(m->web), "%s://%s/", *conf->web_cert ? "https" : "http",
			 conf->web);
	return 0;
}

struct etcd_opts member_etcd_opts(const struct vmfs_conf *conf, int timeout_ms)
{
	return (struct etcd_opts){
	    .endpoints = conf->etcd,
	    .ca = *conf->etcd_ca ? conf->etcd_ca : NULL,
	    .cert = *conf->etcd_cert ? conf->etcd_cert : NULL,
	    .key = *conf->etcd_key ? conf->etcd_key : NULL,
	    .user = *conf->etcd_user ? conf->etcd_user : NULL,
	    .password_file = *conf->etcd_password_file ? conf->etcd_password_file : NULL,
	    .timeout_ms = timeout_ms,
	};
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
	pthread_mutex_init(&m->lock, NULL);
	m->v = v;
	struct err e;
	/* two renewals' time: a lease of 2 s survives one slow call */
	const struct etcd_opts o = member_etcd_opts(conf, 1000);
	if (ckey_hid(m->k_id, sizeof(m->k_id), conf->cluster, v->hostname) < 0 ||
	    ckey_alive(m->k_alive, sizeof(m->k_alive), conf->cluster, v->hostname) < 0 ||
	    ckey_down(m->k_down, sizeof(m->k_down), conf->cluster, v->hostname) < 0 ||
	    ckey_layout(m->k_layout, sizeof(m->k_layout), conf->cluster) < 0) {
		snprintf(err, errlen, "etcd: cluster %s, host %s: the keys would be too long",
			 conf->cluster, v->hostname);
		goto fail;
	}
	if (addresses(m, conf, err, errlen) || uuid_load(v->m.statefd, m->uuid, err, errlen))
		goto fail;
	if (!(m->ch = chosts_new(conf->cluster, v->hostname, &v->log)) ||
	    !(m->view = cview_new(conf->cluster, v->hostname, m->ch, &v->log)) ||
	    chosts_listen(m->ch, cview_changed, m->view)) {
		snprintf(err, errlen, "etcd: out of memory");
		goto fail;
	}
	if (etcd_open(&o, &m->c, &e) || msync_new(&o, m->ch, &m->tl, &m->sync, &e)) {
		snprintf(err, errlen, "%s", e.why);
		goto fail;
	}
	m->open_to = !o.cert && !o.password_file ? "no client certificate, no password"
		     : !o.cert			 ? "no TLS client certificate"
		     : !o.password_file		 ? "no etcd user and password (no RBAC)"
						 : NULL;
	v->chosts = m->ch;
	v->cview = m->view;
	*out = (struct door){&member_ops, m, -1};
	return 0;
fail:
	member_close(m);
	return -1;
}
