/* The publisher's door and the loop's side of it (cluster/cpub.h): snapshots of the model
 * handed to the thread, and the thread's lines for namespaces' logs. */
#include "cluster/cpub.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "cluster/cpub_int.h"
#include "cluster/chload.h"
#include "cluster/chosts.h"
#include "cluster/cmig.h"
#include "cluster/cnsjoin.h"
#include "cluster/cvxlan.h"
#include "conf/conf.h"
#include "etcd/member.h"
#include "etcd/client.h"
#include "runtime/vlan.h"
#include "runtime/lifecycle.h"
#include "runtime/migrate.h"
#include "runtime/net.h"
#include "vmfs/door.h"
#include "vmfs/kinds.h"
#include "vmfs/loop.h"
#include "vmfs/node.h"

#define NSLINES_MAX 64 /* lines for namespaces' logs waiting at most; the rest go to host/log only */

void psnap_free(struct psnap *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nobj; i++)
		crec_obj_free(&s->obj[i].rec);
	for (size_t i = 0; i < s->nns; i++)
		free(s->ns[i].vl);
	free(s->obj);
	free(s->ns);
	free(s);
}

/* A source whose migration completed is QUIT to the cluster at once: its paused QEMU lingers
 * (the destination's resume is waited for) but never runs the guest again, and a live move's
 * recovery judges by this record. */
static enum ostate published_state(const struct object *o)
{
	return migrate_out_completed(o) ? ST_QUIT : o->state;
}

static bool live(const struct object *o)
{
	return o->state == ST_RUNNING || o->state == ST_PAUSED;
}

/* An error as a record holds it: one line, of bounded length. */
static char *one_line(const char *s)
{
	size_t n = strnlen(s, CREC_TEXT_MAX);
	char *t = strndup(s, n);
	for (size_t i = 0; t && i < n; i++)
		if ((unsigned char)t[i] < ' ' || t[i] == 0x7f)
			t[i] = ' ';
	return t;
}

static int snap_obj(const struct object *o, struct psnap_obj *out)
{
	struct crec_obj *r = &out->rec;
	out->lns = o->ns->id;
	out->local = o->id;
	out->ctime = o->ctime > 0 ? (uint64_t)o->ctime : 0;
	snprintf(r->name, sizeof(r->name), "%s", o->name);
	r->type = o->type;
	r->state = published_state(o);
	bool on = (r->state == ST_RUNNING || r->state == ST_PAUSED) && o->rt.pid > 0;
	r->started = on && o->rt.started > 0 ? (uint64_t)o->rt.started : 0;
	r->pid = on ? (uint64_t)o->rt.pid : 0;
	if (o->error && *o->error && !(r->error = one_line(o->error)))
		return -ENOMEM;
	int nn = on && o->rt.nnics > 0 ? o->rt.nnics : 0;
	if (nn > CREC_NICS_MAX)
		nn = CREC_NICS_MAX;
	if (nn && !(r->nic = calloc(nn, sizeof(*r->nic))))
		return -ENOMEM;
	for (int i = 0; i < nn; i++) {
		const struct netnic *n = &o->rt.nics[i];
		struct crec_nic *c = &r->nic[r->nnic++];
		snprintf(c->vlan, sizeof(c->vlan), "%s", n->vlan);
		c->vid = n->vid >= 1 && n->vid <= 4094 ? n->vid : 0;
		snprintf(c->tap, sizeof(c->tap), "%s", n->dev);
		snprintf(c->mac, sizeof(c->mac), "%s", n->mac);
		snprintf(c->ip, sizeof(c->ip), "%.*s", (int)sizeof(c->ip) - 1, n->addr);
	}
	for (int i = 0; i < NPARAMS_MAX; i++)
		if (o->cfg[i] && !(r->cfg[i] = strdup(o->cfg[i])))
			return -ENOMEM;
	/* top's figures, as vmfs/obj.c's obj_top_row prints them */
	snprintf(out->figures, sizeof(out->figures), "%.1f %lluK %llu %.0f %.0f %.0f %.0f",
		 on ? o->rt.cpu : 0.0, on ? (unsigned long long)o->rt.mem >> 10 : 0ULL,
		 on ? (unsigned long long)o->rt.pids : 0ULL, on ? o->rt.net_rx_rate : 0.0,
		 on ? o->rt.net_tx_rate : 0.0, on ? o->rt.disk_rd_rate : 0.0,
		 on ? o->rt.disk_wr_rate : 0.0);
	return 0;
}

static int ns_cmp(const void *a, const void *b)
{
	const struct psnap_ns *x = a, *y = b;
	return x->local < y->local ? -1 : x->local > y->local;
}

static int obj_cmp(const void *a, const void *b)
{
	const struct psnap_obj *x = a, *y = b;
	if (x->lns != y->lns)
		return x->lns < y->lns ? -1 : 1;
	return x->local < y->local ? -1 : x->local > y->local;
}

static void host_info(const struct vmfs *v, struct crec_hinfo *h)
{
	struct sysinfo si;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	h->cpus = cpus > 0 ? (uint64_t)cpus : 1;
	h->memory = sysinfo(&si) ? 1 : (uint64_t)si.totalram * si.mem_unit;
	/* vmfs.conf's, checked when it was read (the design's defaults 4 and 1 if not) */
	char err[128];
	if (value_ratio(v->conf->cpu_ratio, 1, 1000000, &h->cpu_ratio, err, sizeof(err)))
		h->cpu_ratio = 4000;
	if (value_ratio(v->conf->mem_ratio, 1, 1000000, &h->mem_ratio, err, sizeof(err)))
		h->mem_ratio = 1000;
	h->kvm = v->m.kvm.verdict == KVM_WORKS;
}

/* The model as it is now. Every object's record is rendered anew whenever anything changed
 * and compared by the thread with what it last published: simple and right, at a cost that
 * grows with the objects (100,000 objects will need per-object dirty marks set by the model
 * instead). NULL: out of memory (tried again at the next tick). */
static struct psnap *snapshot(struct cpub *p)
{
	struct model *m = &p->v->m;
	struct psnap *s = calloc(1, sizeof(*s));
	size_t nobj = 0;
	for (size_t i = 0; i < m->nns; i++)
		nobj += m->nss[i]->objs[OT_VM].n + m->nss[i]->objs[OT_CT].n;
	if (!s || (m->nns && !(s->ns = calloc(m->nns, sizeof(*s->ns)))) ||
	    (nobj && !(s->obj = calloc(nobj, sizeof(*s->obj))))) {
		psnap_free(s);
		return NULL;
	}
	for (size_t i = 0; i < m->nns; i++) {
		const struct ns *ns = m->nss[i];
		if (ns->gone || !ns->id)
			continue;
		struct psnap_ns *n = &s->ns[s->nns++];
		n->local = ns->id;
		snprintf(n->name, sizeof(n->name), "%s", ns->name);
		n->uid = ns->uid;
		n->gid = ns->gid;
		n->mode = ns->mode & 0777; /* (a record's mode: permission bits only) */
		n->ctime = ns->ctime > 0 ? (uint64_t)ns->ctime : 0;
		if (ns->nvlans && !(n->vl = calloc(ns->nvlans, sizeof(*n->vl)))) {
			psnap_free(s);
			return NULL;
		}
		for (size_t j = 0; j < ns->nvlans; j++) {
			snprintf(n->vl[j].name, sizeof(n->vl[j].name), "%s", ns->vlans[j].name);
			n->vl[j].id = ns->vlans[j].id;
		}
		n->nvl = ns->nvlans;
		for (int t = 0; t < 2; t++)
			for (size_t j = 0; j < ns->objs[t].n; j++) {
				const struct object *o = ns->objs[t].v[j];
				if (o->gone || !o->id || cmig_held(o))
					continue; /* (a migration's destination: the source's) */
				if (snap_obj(o, &s->obj[s->nobj++])) {
					psnap_free(s);
					return NULL;
				}
			}
	}
	if (s->nns) /* (qsort takes no NULL, even for none) */
		qsort(s->ns, s->nns, sizeof(*s->ns), ns_cmp);
	if (s->nobj)
		qsort(s->obj, s->nobj, sizeof(*s->obj), obj_cmp);
	host_info(p->v, &s->info);
	s->load = p->load_sent;
	return s;
}

/* The host's own figures, measured every CPUB_TOP_S: true when one moved beyond its threshold
 * (or none was handed over yet), for a snapshot to carry them to the thread. */
static bool load_moved(struct cpub *p)
{
	struct timespec now;
	struct sysinfo si;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (now.tv_sec - p->load_at.tv_sec) * 1000 +
		  (now.tv_nsec - p->load_at.tv_nsec) / 1000000;
	if ((p->load_at.tv_sec && ms < CPUB_TOP_S * 1000) || sysinfo(&si))
		return false;
	p->load_at = now;
	uint64_t total = (uint64_t)si.totalram * si.mem_unit,
		 avail = (uint64_t)(si.freeram + si.bufferram) * si.mem_unit;
	struct crec_hload h;
	chload_make(hoststats_cpu(p->v->stats), si.loads[0] / 65536.0,
		    total > avail ? total - avail : 0, time(NULL), &h);
	if (p->load_sent.at && !chload_moved(&p->load_sent, &h, total))
		return false;
	p->load_sent = h;
	return true;
}

void cpub_say(struct cpub *p, uint64_t lns, const char *fmt, ...)
{
	char text[1024]; /* a name, a host, a key and etcd's words fit */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	threadlog_say(&p->tl, "%s", text);
	char *line = lns ? strdup(text) : NULL;
	pthread_mutex_lock(&p->lock);
	if (lns && p->nnslines < NSLINES_MAX) /* (beyond: in host/log only) */
		p->nslines[p->nnslines++] = (struct nsline){lns, take_ptr(line)};
	pthread_mutex_unlock(&p->lock);
	free(line);
}

/* In the loop, at its tick: the thread's lines for namespaces' logs (host/log has them at
 * once, through the threadlog; a namespace's log may lag by a tick). */
static void nslines_flush(struct cpub *p)
{
	struct model *m = &p->v->m;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->nnslines; i++) {
		for (size_t j = 0; j < m->nns; j++)
			if (m->nss[j]->id == p->nslines[i].lns && !m->nss[j]->gone)
				evlog_add(&m->nss[j]->log, "cluster: %s", p->nslines[i].text);
		free(p->nslines[i].text);
	}
	p->nnslines = 0;
	pthread_mutex_unlock(&p->lock);
}

int cpub_stray(struct cpub *p, uint64_t lns, uint64_t local, const char *name,
	       enum stray_kind kind, const char *tag, const char *to)
{
	pthread_mutex_lock(&p->lock);
	struct stray *v = realloc(p->strays, (p->nstrays + 1) * sizeof(*v));
	if (v) {
		p->strays = v;
		v[p->nstrays] = (struct stray){.lns = lns, .local = local, .kind = kind};
		snprintf(v[p->nstrays].name, sizeof(v->name), "%s", name);
		snprintf(v[p->nstrays].why, sizeof(v->why), "%s", tag ? tag : "");
		snprintf(v[p->nstrays].to, sizeof(v->to), "%s", to ? to : "");
		p->nstrays++;
	}
	pthread_mutex_unlock(&p->lock);
	return v ? 0 : -ENOMEM;
}

static struct object *local_obj(struct model *m, uint64_t lns, uint64_t local, const char *name)
{
	for (size_t i = 0; i < m->nns; i++) {
		struct ns *ns = m->nss[i];
		if (ns->gone || ns->id != lns)
			continue;
		struct object *o = obj_find_any(ns, name);
		return o && !o->gone && o->id == local ? o : NULL;
	}
	return NULL;
}

/* A line in ns's log and host/log, from the loop. */
static void cluster_said(struct cpub *p, struct ns *ns, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void cluster_said(struct cpub *p, struct ns *ns, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	evlog_add(&ns->log, "cluster: %s", text);
	evlog_add(&p->v->log, "cluster: ns %s: %s", ns->name, text);
}

/* What a stray is, in words: "a stray of launch h1.3.7 (rolled back)". */
static void stray_what(const struct stray *s, char *out, size_t len)
{
	if (s->kind == STRAY_MOVE)
		snprintf(out, len, "the copy made here for move %s (rolled back)", s->why);
	else if (s->kind == STRAY_MOVED)
		snprintf(out, len, "moved to %s while this host was away (its claim names %s)",
			 s->to, s->to);
	else
		snprintf(out, len, "a stray of launch %s (rolled back)", s->why);
}

/* In the loop: the strays the thread found go, unless they run (kept, said: only the admin
 * kills a guest). One BUILDING never started: it is killed first, as a rollback does (flush
 * does not take it), and looked at again at the next tick if it is still BUILDING. */
static void strays_remove(struct cpub *p)
{
	pthread_mutex_lock(&p->lock);
	struct stray *v = p->strays;
	size_t n = p->nstrays;
	p->strays = NULL;
	p->nstrays = 0;
	pthread_mutex_unlock(&p->lock);
	size_t left = 0;
	for (size_t i = 0; i < n; i++) {
		struct object *o = local_obj(&p->v->m, v[i].lns, v[i].local, v[i].name);
		if (!o)
			continue;
		char err[256], what[NAME_MAX_LEN * 2 + CKEY_TAG_LEN + 64];
		struct ns *ns = o->ns;
		stray_what(&v[i], what, sizeof(what));
		if (o->state == ST_BUILDING && lifecycle_do(&p->v->m, o, V_KILL, err, sizeof(err)) &&
		    !v[i].said) {
			evlog_add(&ns->log, "cluster: %s, %s, cannot be killed yet: %s", v[i].name,
				  what, err);
			v[i].said = true;
		}
		if (o->state == ST_BUILDING) {
			v[left++] = v[i];
			continue;
		}
		/* (host/log has each line too: these are the thread's findings, acted on) */
		if (live(o))
			cluster_said(p, ns, "%s is %s but it is %s: kept, not listed in the cluster; kill and flush it",
				     v[i].name, what, ostate_name(o->state));
		else if (lifecycle_remove(&p->v->m, o, err, sizeof(err))) /* as a flush: all of it */
			cluster_said(p, ns, "%s, %s, stays: %s", v[i].name, what, err);
		else
			cluster_said(p, ns, "%s removed: %s", v[i].name, what);
	}
	if (left) {
		pthread_mutex_lock(&p->lock);
		struct stray *w = realloc(p->strays, (p->nstrays + left) * sizeof(*w));
		if (w) {
			memcpy(&w[p->nstrays], v, left * sizeof(*w));
			p->strays = w;
			p->nstrays += left;
		}
		pthread_mutex_unlock(&p->lock);
	}
	free(v);
}

static int tick(void *arg)
{
	struct cpub *p = arg;
	nslines_flush(p);
	strays_remove(p);
	cnsjoin_tick(p->v); /* (before the snapshot: a namespace made is in it) */
	cvxlan_tick(p->v);
	if (!load_moved(p) && model_changes == p->changes && p->snap_at.tv_sec)
		return 0;
	struct psnap *s = snapshot(p);
	if (!s)
		return 0;
	p->changes = model_changes;
	clock_gettime(CLOCK_MONOTONIC, &p->snap_at);
	pthread_mutex_lock(&p->lock);
	psnap_free(p->next); /* not taken yet: the newer one says all it said */
	p->next = s;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* The one publisher of this process, for cpub_kick (the loop's, like tick). */
static struct cpub *kickable;

void cpub_kick(void)
{
	if (kickable)
		tick(kickable);
}

static bool due_wait(struct cpub *p, const struct timespec *due)
{
	pthread_mutex_lock(&p->lock);
	while (!p->stopping && !p->next &&
	       (due ? pthread_cond_timedwait(&p->cv, &p->lock, due) != ETIMEDOUT
		    : !pthread_cond_wait(&p->cv, &p->lock)))
		;
	bool go_on = !p->stopping;
	pthread_mutex_unlock(&p->lock);
	return go_on;
}

static void after_ms(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_nsec += ms * 1000000L;
	t->tv_sec += t->tv_nsec / 1000000000L;
	t->tv_nsec %= 1000000000L;
}

/* The thread: a pass over the newest snapshot whenever one comes, again every second while
 * etcd does not take it, and when a namespace's top was held back by CPUB_TOP_S. */
static void *run(void *arg)
{
	struct cpub *p = arg;
	struct psnap *cur = NULL;
	bool failing = false, refused = false, out = false;
	struct timespec due;
	bool timed = false;
	while (due_wait(p, timed ? &due : NULL)) {
		pthread_mutex_lock(&p->lock);
		if (p->next) {
			psnap_free(cur);
			cur = p->next;
			p->next = NULL;
		}
		pthread_mutex_unlock(&p->lock);
		if (!cur)
			continue;
		/* only a member publishes: a host refused (its name another machine's, a newer
		 * cluster) writes nothing, and none writes before its join's txn claimed its name */
		char why[512];
		enum chosts_link link =
		    p->v->chosts ? chosts_get_link(p->v->chosts, why, sizeof(why)) : CL_JOINED;
		if (link != CL_JOINED) {
			if (link == CL_REFUSED && !refused)
				cpub_say(p, 0, "not publishing: this host is not a member (%s)", why);
			refused = link == CL_REFUSED;
			out = true;
			timed = true;
			after_ms(&due, CPUB_RETRY_MS);
			continue;
		}
		refused = false;
		if (out) { /* (re)joined: the claims looked at again, and the reconcile */
			p->checked = false;
			p->reconciled = false;
			out = false;
		}
		struct err e;
		int r = cpub_pass(p, cur, &e);
		if (r < 0) {
			if (!failing)
				cpub_say(p, 0,
					 "cannot publish (%s): what changes is kept and published when etcd takes it (tried every %d ms); this host works as before",
					 e.why, CPUB_RETRY_MS);
			failing = true;
			r = CPUB_RETRY_MS;
		} else if (failing) {
			cpub_say(p, 0, "etcd takes what this host publishes again: published what changed meanwhile");
			failing = false;
		}
		if ((timed = r > 0)) /* failed, or a top held back: r ms until the next pass */
			after_ms(&due, r);
	}
	psnap_free(cur);
	return NULL;
}

static int cpub_attach(void *self, struct loop *l)
{
	struct cpub *p = self;
	if (threadlog_attach(&p->tl, l) || loop_add_timer(l, CPUB_TICK_MS, tick, p))
		return -1;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&p->th, NULL, run, p))
		evlog_add(&p->v->log, "cluster: cannot start the publisher's thread: nothing is published");
	else
		p->started = true;
	kickable = p;
	tick(p);
	return 0;
}

static void cpub_stop(void *self)
{
	struct cpub *p = self;
	if (kickable == p)
		kickable = NULL;
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		p->stopping = true;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->th, NULL);
		pthread_cond_destroy(&p->cv);
		p->started = false;
	}
	struct err e; /* what a failed last pass left unwritten (the thread is gone: ours) */
	if (cns_map_sync(p, &e))
		cpub_say(p, 0, "%s", e.why);
	threadlog_flush(&p->tl);
	nslines_flush(p);
}

static void cpub_close(void *self)
{
	struct cpub *p = self;
	if (kickable == p)
		kickable = NULL;
	etcd_close(p->c);
	threadlog_fini(&p->tl);
	for (size_t i = 0; i < p->nnslines; i++)
		free(p->nslines[i].text);
	free(p->nslines);
	free(p->strays);
	psnap_free(p->next);
	for (size_t i = 0; i < p->nobjs; i++)
		free(p->objs[i].published);
	free(p->objs);
	for (size_t i = 0; i < p->ntops; i++)
		free(p->tops[i].published);
	free(p->tops);
	free(p->info);
	free(p->load);
	cidmap_free(&p->map);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static const struct door_ops cpub_ops = {
    .attach = cpub_attach,
    .stop = cpub_stop,
    .close = cpub_close,
};

int cpub_door_open(struct vmfs *v, const struct vmfs_conf *conf, struct door *out, char *err,
		   size_t errlen)
{
	struct cpub *p = calloc(1, sizeof(*p));
	if (!p || !(p->nslines = calloc(NSLINES_MAX, sizeof(*p->nslines))) ||
	    threadlog_init(&p->tl, &v->log, "cluster: ")) {
		if (p)
			free(p->nslines);
		free(p);
		snprintf(err, errlen, "cluster: out of memory or descriptors");
		return -1;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->v = v;
	p->statefd = v->m.statefd;
	snprintf(p->cluster, sizeof(p->cluster), "%s", conf->cluster);
	snprintf(p->host, sizeof(p->host), "%.*s", (int)sizeof(p->host) - 1, v->hostname);
	char why[700];
	if (cidmap_load(p->statefd, p->cluster, &p->map, why, sizeof(why))) {
		snprintf(err, errlen,
			 "cluster: %s/%s: refused (never half used): repair it, or move it aside "
			 "so that this host claims its namespaces and objects again",
			 v->m.statedir, why);
		cpub_close(p);
		return -1;
	}
	struct err e;
	const struct etcd_opts o = member_etcd_opts(conf, 0);
	if (etcd_open(&o, &p->c, &e)) {
		snprintf(err, errlen, "%s", e.why);
		cpub_close(p);
		return -1;
	}
	*out = (struct door){&cpub_ops, p, -1};
	return 0;
}
