/* `launch` and `plan launch` in a namespace of a cluster on etcd (docs/cluster-design.md,
 * "Launch and placement"; cluster/claim.h): the claims are made before anything is created,
 * on a thread of the launch's own (etcd's calls block; the loop never waits on etcd), then
 * this host's objects are made with the claimed ids on the loop, then the intent is deleted
 * (or, on any failure, everything rolled back) on the thread again. The write waits for it
 * all (its answer an hcmd's, cluster/ccmd.h). A launch just after the start waits up to
 * CLAUNCH_WAIT_S for this host to join and publish its namespace and info.
 *
 * The other hosts' objects are made by a `create` command each (cluster/ccmd.h), sent just
 * before this host makes its part (both at once); all answered ok and this host's part made,
 * the intent goes; anything else rolls the launch back: kill and flush commands for what was
 * made on hosts that answered ok, this host's removed, the claims deleted. The answer is a
 * line per host, then the sum. `plan` reads the cache and changes nothing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/ccmd.h"
#include "cluster/chosts.h"
#include "cluster/claim.h"
#include "cluster/cpub.h"
#include "cluster/cintent.h"
#include "cluster/cluster.h"
#include "cluster/cview.h"
#include "ctl/params.h"
#include "etcd/member.h"
#include "runtime/bgjob.h"
#include "vmfs/claunch.h"
#include "vmfs/vreq.h"

#define CLAUNCH_WAIT_S 5 /* a launch just after the start waits this long for the cluster */

enum stage { ST_CLAIM, ST_CREATE, ST_ROLLBACK, ST_FINISH };

struct cljob {
	struct bgjob bg; /* first */
	struct vmfs *v;
	enum stage stage;
	struct claim_req rq;
	char cluster[NAME_MAX_LEN + 1], self[NAME_MAX_LEN + 1], ns[NAME_MAX_LEN + 1];
	char pin[NAME_MAX_LEN + 1];
	char **names;
	struct ns *lns; /* the local namespace (a reference) */
	struct object *like; /* `like NAME`: its config, the template (NULL: the namespace's) */
	struct claim_obj *objs;
	uint64_t nsid; /* the namespace's id in the cluster, from the claims */
	struct claim_view view; /* from the cache when the write came (the first try's) */
	int r;		 /* the launch's outcome */
	int here_r;	 /* this host's part's (made while the others make theirs) */
	char err[1024];	 /* its reason */
	struct hcmd *out;  /* the writer's answer */
	struct hcmd *send; /* the creations or flushes on the other hosts, while they go */
	struct waiter w;
	struct hostans *ans; /* a line per host that had objects */
	size_t nans;
	int undoing; /* a rollback's commands: 1 kill (a new object is BUILDING), 2 flush */
};

bool claunch_on(const struct vmfs *v) { return v->chosts != NULL; }

static uint64_t size_of(const char *value)
{
	uint64_t b = 0;
	char err[128];
	return value_size(value, &b, err, sizeof(err)) ? 0 : b;
}

/* A launch needs this host to be a member with a lease: its claims are the cluster's word. */
static int joined(struct vmfs *v, char *err, size_t errlen)
{
	char why[512];
	enum chosts_link l = chosts_get_link(v->chosts, why, sizeof(why));
	if (l == CL_JOINED)
		return 0;
	snprintf(err, errlen, "launch: this host is %s (%s): a launch claims its names in the "
		 "cluster first", l == CL_REFUSED ? "not a member of the cluster" :
		 l == CL_CUT ? "cut from etcd" : "not joined to the cluster yet",
		 why[0] ? why : "no lease yet");
	return l == CL_REFUSED ? -EPERM : l == CL_CUT ? -EHOSTDOWN : -EAGAIN;
}

/* rq from the local namespace's template: what each object reserves, the policy, the pin. */
static int req_of(struct vmfs *v, struct ns *ns, const struct object *like, enum otype type,
		  char **names, size_t n, struct claim_req *rq, char *pin, char *err,
		  size_t errlen)
{
	int vc = param_index("vcpus"), mem = param_index("memory");
	enum sched_policy pol;
	int r = sched_policy_parse(ns_param(ns, param_index("schedule")), &pol, err, errlen);
	if (r)
		return r;
	static uint64_t seq;
	snprintf(pin, NAME_MAX_LEN + 1, "%s", ns_param(ns, param_index("host")));
	*rq = (struct claim_req){
	    .cluster = v->chosts->cluster,
	    .self = v->chosts->self,
	    .ns = ns->name,
	    .type = type,
	    .names = names,
	    .n = n,
	    .vcpus = strtoull(like ? obj_param(like, vc) : ns_param(ns, vc), NULL, 10),
	    .memory = size_of(like ? obj_param(like, mem) : ns_param(ns, mem)),
	    .policy = pol,
	    .pin = *pin ? pin : NULL,
	    .only_self = !v->ccmd,
	    .intent = {.run = v->m.run, .seq = ++seq},
	    .ctime = (uint64_t)time(NULL),
	};
	snprintf(rq->intent.host, sizeof(rq->intent.host), "%s", v->chosts->self);
	return 0;
}

/* The keys a view is read from, out of the cache (the loop's). */
struct gather {
	struct etcd_kv *kv;
	size_t n, cap;
};

static int gather_one(void *ctx, const struct ccache_kv *kv)
{
	struct gather *g = ctx;
	if (g->n == g->cap) {
		size_t nc = g->cap ? 2 * g->cap : 64;
		struct etcd_kv *nv = realloc(g->kv, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		g->kv = nv;
		g->cap = nc;
	}
	g->kv[g->n++] = (struct etcd_kv){.key = (char *)kv->key, .value = (char *)kv->value,
					 .value_len = kv->len, .mod_revision = kv->mod_rev};
	return 0;
}

/* Every key under P/ that a view reads: the namespace, claims, caps, hosts' alive and info.
 * (One pass over the prefixes that hold them; the reader keeps what it needs.) */
static int view_from_cache(struct vmfs *v, const struct claim_req *rq, struct claim_view *view,
			   char *err, size_t errlen)
{
	struct chosts *ch = v->chosts;
	if (!ch->synced) {
		snprintf(err, errlen, "launch: the cluster's records are not read yet (etcd: %s)",
			 "joining");
		return -EAGAIN;
	}
	struct gather g = {0};
	char key[CKEY_MAX + 16];
	int r = 0;
	const char *parts[] = {"ns/", "name/", "cap/", "h/"};
	for (size_t i = 0; i < 4 && !r; i++) {
		snprintf(key, sizeof(key), "%s%s", ch->prefix, parts[i]);
		r = ccache_each(ch->cache, key, gather_one, &g);
	}
	if (!r)
		r = claim_view_read(rq->cluster, rq->self, rq->ns, g.kv, g.n,
				    ccache_revision(ch->cache), view);
	free(g.kv);
	if (r)
		snprintf(err, errlen, "launch: %s", strerror(-r));
	return r;
}

int claunch_plan(struct vmfs *v, struct ns *ns, enum otype type, char **names, size_t n,
		 struct sbuf *reply, char *err, size_t errlen)
{
	struct claim_req rq;
	char pin[NAME_MAX_LEN + 1];
	int r = joined(v, err, errlen);
	if (!r)
		r = req_of(v, ns, NULL, type, names, n, &rq, pin, err, errlen);
	struct claim_view view;
	if (r || (r = view_from_cache(v, &rq, &view, err, errlen)))
		return r;
	size_t *where = calloc(n ? n : 1, sizeof(*where));
	r = where ? claim_place(&view, &rq, where, err, errlen) : -ENOMEM;
	if (!r) {
		claim_plan(&view, &rq, where, reply);
		sb_printf(reply, "ok: plan %zu (nothing changed)\n", n);
	}
	free(where);
	claim_view_free(&view);
	return r;
}

static void job_free(struct cljob *j)
{
	if (j->lns)
		ns_put(j->lns);
	if (j->names) {
		for (size_t i = 0; i < j->rq.n; i++)
			free(j->names[i]);
		free(j->names);
	}
	free(j->objs);
	claim_view_free(&j->view);
	free(j->ans);
	for (size_t i = 0; j->like && i < NPARAMS_MAX; i++)
		free(j->like->cfg[i]);
	free(j->like);
	hcmd_put(j->out);
	hcmd_put(j->send);
	free(j);
}

static void work(struct bgjob *bg)
{
	struct cljob *j = (struct cljob *)bg;
	struct etcd_opts o = member_etcd_opts(j->v->conf, 0);
	struct etcd *c;
	struct err e;
	char rerr[512];
	if (etcd_open(&o, &c, &e)) {
		if (j->stage == ST_CLAIM) {
			j->r = -e.no;
			snprintf(j->err, sizeof(j->err), "launch: etcd: %.900s", e.why);
		}
		goto out;
	}
	if (j->stage == ST_CLAIM) {
		/* just started: this host joins and publishes its namespaces and info first */
		struct timespec t0, now, pause = {0, 250000000};
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			j->r = joined(j->v, j->err, sizeof(j->err));
			if (!j->r)
				j->r = claim_run(c, &o, &j->rq, false, &j->view, &j->objs, &j->nsid, NULL,
						 j->err, sizeof(j->err));
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((j->r != -EAGAIN && j->r != -ENOENT) ||
			    now.tv_sec - t0.tv_sec >= CLAUNCH_WAIT_S)
				break;
			nanosleep(&pause, NULL);
		}
		/* claimed, the intent at creating (claim_run's last step): a cut from here on
		 * is finished if all is made */
	}
	if (j->stage == ST_ROLLBACK &&
	    cintent_rollback(c, j->rq.cluster, &j->rq.intent, NULL, rerr, sizeof(rerr)))
		snprintf(j->err + strlen(j->err), sizeof(j->err) - strlen(j->err),
			 "; its rollback failed (the intent stays, recovered later): %s", rerr);
	if (j->stage == ST_FINISH &&
	    cintent_finish(c, j->rq.cluster, &j->rq.intent, rerr, sizeof(rerr)))
		snprintf(j->err, sizeof(j->err), "%s", rerr); /* recovered later */
	etcd_close(c);
out:;
}

static void answer(struct cljob *j)
{
	if (j->nans)
		hcmd_settle(j->out, j->ans, j->nans);
	else
		hcmd_fail(j->out, j->r ? j->r : -EIO, j->err);
}

static int run(struct cljob *j, enum stage st);
static void job_free(struct cljob *j);

/* The hosts that take objects, in the namespace's hosts order: their lines of the answer. */
static int group(struct cljob *j)
{
	const struct cview_ns *cns = j->v->cview ? cview_ns_find(j->v->cview, j->ns) : NULL;
	size_t n = j->rq.n, k = 0;
	if (!(j->ans = calloc(n ? n : 1, sizeof(*j->ans))))
		return -ENOMEM;
	for (size_t pass = 0; pass < 2; pass++) /* the namespace's hosts, then any other */
		for (size_t i = 0; i < (pass ? n : cns ? cns->rec.nhosts : 0); i++) {
			const char *h = pass ? j->objs[i].host : cns->rec.hosts[i];
			bool seen = false, used = false;
			for (size_t g = 0; g < k && !seen; g++)
				seen = !strcmp(j->ans[g].host, h);
			for (size_t o = 0; o < n && !used; o++)
				used = !strcmp(j->objs[o].host, h);
			if (!seen && used)
				snprintf(j->ans[k++].host, sizeof(j->ans[0].host), "%s", h);
		}
	j->nans = k;
	return 0;
}

/* The objects of host h: their names and ids (the caller frees both arrays). */
static size_t part_of(struct cljob *j, const char *h, char ***names, uint64_t **ids)
{
	size_t n = 0;
	*names = calloc(j->rq.n ? j->rq.n : 1, sizeof(**names));
	*ids = calloc(j->rq.n ? j->rq.n : 1, sizeof(**ids));
	for (size_t i = 0; *names && *ids && i < j->rq.n; i++)
		if (!strcmp(j->objs[i].host, h)) {
			(*names)[n] = j->objs[i].name;
			(*ids)[n++] = j->objs[i].id;
		}
	return *names && *ids ? n : 0;
}

/* This host's part, made with the claimed ids; its line of the answer. */
static int create_here(struct cljob *j)
{
	struct vmfs *v = j->v;
	char **names, err[512] = "";
	uint64_t *ids;
	size_t n = part_of(j, j->self, &names, &ids);
	int r = names && ids ? 0 : -ENOMEM;
	if (!r && j->lns->gone) {
		snprintf(err, sizeof(err), "ns/%s was removed here meanwhile", j->ns);
		r = -ENOENT;
	} else if (!r && n) {
		r = obj_create_many_ids(&v->m, j->lns, j->rq.type, names, n, ids, j->like, err,
					sizeof(err));
		if (!r)
			cpub_kick(); /* their records at once, as a member's create does */
	}
	for (size_t g = 0; g < j->nans; g++)
		if (!strcmp(j->ans[g].host, j->self)) {
			j->ans[g].kind = r ? HA_REFUSED : HA_DONE;
			j->ans[g].err = -r;
			j->ans[g].count = r ? 0 : n;
			snprintf(j->ans[g].reason, sizeof(j->ans[g].reason), "%s",
				 err[0] ? err : r ? strerror(-r) : "");
		}
	if (r)
		snprintf(j->err, sizeof(j->err), "launch: %s", err[0] ? err : strerror(-r));
	free(names);
	free(ids);
	return r;
}

/* A rollback's part here: what this host made goes. */
static void remove_here(struct cljob *j)
{
	for (size_t i = 0; i < j->rq.n; i++) {
		struct object *o = !strcmp(j->objs[i].host, j->self)
				       ? obj_find(j->lns, j->rq.type, j->objs[i].name)
				       : NULL;
		char err[256];
		if (o && o->id == j->objs[i].id && obj_remove(&j->v->m, o, err, sizeof(err)))
			evlog_add(&j->lns->log, "cluster: launch rollback: %s stays here: %s",
				  j->objs[i].name, err);
	}
}

static void on_sent(struct waiter *w);

/* A command to each other host (create), or to each whose creation was answered ok (kill,
 * flush). */
static int send_others(struct cljob *j, const char *verb)
{
	bool create = !strcmp(verb, "create");
	struct hsend *parts = calloc(j->nans ? j->nans : 1, sizeof(*parts));
	char ***names = calloc(j->nans ? j->nans : 1, sizeof(*names));
	uint64_t **ids = calloc(j->nans ? j->nans : 1, sizeof(*ids));
	size_t np = 0;
	int r = parts && names && ids ? 0 : -ENOMEM;
	for (size_t g = 0; !r && g < j->nans; g++) {
		if (!strcmp(j->ans[g].host, j->self) || (!create && j->ans[g].kind != HA_DONE))
			continue;
		struct hsend *p = &parts[np];
		p->host = j->ans[g].host;
		p->n = part_of(j, p->host, &names[np], &ids[np]);
		p->ids = ids[np];
		if (create) {
			struct ccreate cr = {.intent = j->rq.intent, .type = j->rq.type,
					     .names = names[np], .n = p->n};
			memcpy(cr.cfg, j->like ? j->like->cfg : j->lns->cfg, sizeof(cr.cfg));
			ccreate_args(&cr, &p->args);
		}
		np++;
		r = p->n ? 0 : -ENOMEM;
	}
	if (!r && np) {
		j->send = hcmd_send(j->v->ccmd, j->lns, j->nsid, verb, true, parts, np,
				    create ? CCMD_CREATE_TAKE_MS : CCMD_TAKE_MS,
				    create ? 10000 : ccmd_verb_ms(V_FLUSH), &r);
		if (j->send) {
			j->w.wake = on_sent;
			waitq_add(hcmd_wq(j->send), &j->w);
		}
	}
	for (size_t i = 0; parts && names && ids && i < np; i++) {
		sb_free(&parts[i].args);
		free(names[i]);
		free(ids[i]);
	}
	free(parts);
	free(names);
	free(ids);
	if (r)
		snprintf(j->err, sizeof(j->err), "launch: the commands to the other hosts: %s",
			 strerror(-r));
	return r ? r : np ? -EINPROGRESS : 0;
}

/* Anything failed: what was made goes, then the claims (on the thread). */
static void roll_back(struct cljob *j)
{
	while (j->undoing < 2) {
		if (send_others(j, ++j->undoing == 1 ? "kill" : "flush") == -EINPROGRESS)
			return; /* on_sent again */
	}
	/* just before the claims go (the rollback's txn gives their reservation back; this
	 * host's publisher, seeing the objects gone first, would give it back too) */
	remove_here(j);
	if (!j->r)
		j->r = -EIO;
	if (run(j, ST_ROLLBACK)) {
		snprintf(j->err, sizeof(j->err), "launch: no thread for its rollback (its intent "
			 "stays, recovered at the next start)");
		answer(j);
		job_free(j);
	}
}

/* The other hosts' creations (or a rollback's flushes) have ended. */
static void on_sent(struct waiter *w)
{
	struct cljob *j = (struct cljob *)((char *)w - offsetof(struct cljob, w));
	if (!hcmd_sent_done(j->send)) {
		waitq_add(hcmd_wq(j->send), &j->w);
		return;
	}
	size_t n;
	const struct hostans *a = hcmd_answers(j->send, &n);
	bool all = true;
	for (size_t i = 0; i < n; i++) {
		all &= a[i].kind == HA_DONE;
		if (j->undoing) {
			if (a[i].kind != HA_DONE)
				evlog_add(&j->lns->log, "cluster: launch rollback: the %s on %s "
					  "failed: its objects stay there until its reconcile",
					  j->undoing == 1 ? "kill" : "flush", a[i].host);
			continue;
		}
		for (size_t g = 0; g < j->nans; g++)
			if (!strcmp(j->ans[g].host, a[i].host))
				j->ans[g] = a[i];
	}
	hcmd_put(j->send);
	j->send = NULL;
	if (j->undoing)
		return roll_back(j);
	if (all && !j->here_r && !run(j, ST_FINISH))
		return;
	j->r = j->here_r ? j->here_r : -EIO;
	evlog_add(&j->lns->log, "cluster: launch of %zu: %s did not make its part: rolled back",
		  j->rq.n, j->here_r ? "this host" : "a host");
	roll_back(j);
}

static void on_ready(struct bgjob *bg)
{
	struct cljob *j = (struct cljob *)bg;
	enum stage next = ST_CREATE;
	switch (j->stage) {
	case ST_CLAIM:
		if (j->r) {
			answer(j);
			job_free(j);
			return;
		}
		if ((j->r = group(j))) {
			next = ST_ROLLBACK;
			break;
		}
		/* the others asked first: they make their parts while this host makes its own */
		if ((j->r = send_others(j, "create")) != -EINPROGRESS && j->r) {
			/* nothing was asked of anyone: the answer is the failure, not a line per
			 * host (a line not filled in reads as done) */
			j->nans = 0;
			roll_back(j);
			return;
		}
		bool sent = j->r == -EINPROGRESS;
		j->r = 0;
		j->here_r = create_here(j);
		if (sent)
			return; /* on_sent */
		if ((j->r = j->here_r)) {
			for (size_t g = 0; g < j->nans; g++) /* nothing was asked of the others */
				if (!strcmp(j->ans[g].host, j->self))
					j->ans[0] = j->ans[g];
			j->nans = j->nans && j->ans[0].kind != HA_DONE;
			next = ST_ROLLBACK;
			break;
		}
		next = ST_FINISH;
		break;
	case ST_FINISH:
		if (j->err[0])
			evlog_add(&j->lns->log, "cluster: launch of %zu: done, but its intent stays "
				  "(deleted when recovered): %s", j->rq.n, j->err);
		j->err[0] = 0;
		/* fall through */
	case ST_ROLLBACK:
		if (j->nans && j->err[0])
			evlog_add(&j->lns->log, "cluster: launch of %zu: %s", j->rq.n, j->err);
		/* fall through */
	case ST_CREATE:
		answer(j);
		job_free(j);
		return;
	}
	if (run(j, next)) {
		snprintf(j->err, sizeof(j->err), "launch: no thread for the launch's next step "
			 "(its intent stays, recovered at the next start)");
		j->r = -EAGAIN;
		answer(j);
		job_free(j);
	}
}

static int run(struct cljob *j, enum stage st)
{
	j->stage = st;
	return bgjob_start(&j->bg, &j->v->m, work, on_ready);
}

char *const *claunch_like_cfg(struct vmfs *v, const struct ns *ns, enum otype type,
			      const char *name)
{
	const struct cview_ns *cns = v->cview ? cview_ns_find(v->cview, ns->name) : NULL;
	const struct cview_obj *o = cns ? cview_obj_find(v->cview, cns->rec.id, name) : NULL;
	return o && o->rec && o->claim.type == type && o->rec->type == type ? o->rec->cfg : NULL;
}

int claunch_like_check(const struct ns *ns, const char *name, char *const *cfg, char *err,
		       size_t errlen)
{
	char why[600];
	for (size_t i = 0; i < nparams && i < NPARAMS_MAX; i++) {
		if (!cfg[i])
			continue;
		int r = param_check(&params[i], cfg[i], why, sizeof(why));
		if (!r && (!ns->cfg[i] || strcmp(ns->cfg[i], cfg[i])) &&
		    param_host_reaching(ns, (int)i, cfg[i], why, sizeof(why)))
			r = -EPERM;
		if (r) {
			snprintf(err, errlen,
				 "launch: like %s (another host's): its %s: %s (a value that reaches "
				 "the host is copied only if this host's template has the same)",
				 name, params[i].name, why);
			return r;
		}
	}
	return 0;
}

/* The template of `like NAME`, a copy of its config (NULL without memory). */
static struct object *like_of(const char *name, char *const *cfg)
{
	struct object *o = calloc(1, sizeof(*o));
	bool oom = !o;
	for (size_t i = 0; o && i < NPARAMS_MAX; i++)
		oom |= cfg[i] && !(o->cfg[i] = strdup(cfg[i]));
	if (o)
		snprintf(o->name, sizeof(o->name), "%s", name);
	return oom ? NULL : o;
}

int claunch_start(struct vmfs *v, struct ns *ns, enum otype type, char **names, size_t n,
		  struct vwait *wait, char *err, size_t errlen)
{
	return claunch_start_like(v, ns, type, names, n, NULL, NULL, wait, err, errlen);
}

int claunch_start_like(struct vmfs *v, struct ns *ns, enum otype type, char **names, size_t n,
		       const char *like, char *const *cfg, struct vwait *wait, char *err,
		       size_t errlen)
{
	struct cljob *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->v = v;
	char why[512];
	int r = chosts_get_link(v->chosts, why, sizeof(why)) == CL_REFUSED ? joined(v, err, errlen)
									   : 0;
	if (!r && like && !(j->like = like_of(like, cfg)))
		r = -ENOMEM;
	if (!r)
		r = req_of(v, ns, j->like, type, names, n, &j->rq, j->pin, err, errlen);
	if (r) {
		job_free(j);
		return r;
	}
	snprintf(j->cluster, sizeof(j->cluster), "%s", j->rq.cluster);
	snprintf(j->self, sizeof(j->self), "%s", j->rq.self);
	snprintf(j->ns, sizeof(j->ns), "%s", ns->name);
	j->rq.cluster = j->cluster;
	j->rq.self = j->self;
	j->rq.ns = j->ns;
	j->rq.pin = j->pin[0] ? j->pin : NULL;
	j->names = calloc(n ? n : 1, sizeof(*j->names));
	j->out = v->ccmd ? hcmd_open(v->ccmd, ns, "launched") : NULL;
	r = j->names && j->out ? 0 : v->ccmd ? -ENOMEM : -EAGAIN;
	if (r == -EAGAIN)
		snprintf(err, errlen, "launch: this host takes no part in the cluster's commands "
			 "(see host/log)");
	for (size_t i = 0; !r && i < n; i++)
		if (!(j->names[i] = strdup(names[i])))
			r = -ENOMEM;
	j->rq.names = j->names;
	j->lns = ns;
	ns_get(ns);
	char verr[256];
	if (!r && view_from_cache(v, &j->rq, &j->view, verr, sizeof(verr)))
		j->view = (struct claim_view){0}; /* not synced yet: the thread reads etcd */
	if (!r && (r = run(j, ST_CLAIM)))
		snprintf(err, errlen, "launch: no thread for it: %s", strerror(-r));
	if (r) {
		job_free(j);
		return r;
	}
	hcmd_hold(j->out); /* the write's */
	wait->hcmd = j->out;
	return -EINPROGRESS;
}

int claunch_hosts_check(struct vmfs *v, const char *ns, const char *value, char *err,
			size_t errlen)
{
	struct chosts *ch = v->chosts;
	if (!ch || !ch->synced)
		return 0;
	struct claim_req rq = {.cluster = ch->cluster, .self = ch->self, .ns = ns};
	struct claim_view view;
	char why[256];
	if (view_from_cache(v, &rq, &view, why, sizeof(why)))
		return 0;
	int r = 0;
	size_t at = 0;
	for (size_t h = 0; h < view.nhosts && !r; h++) {
		const char *name = view.hosts[h].name;
		size_t nl = strlen(name);
		bool kept = false;
		for (const char *p = value; *p;) {
			p += strspn(p, " \t\n,");
			size_t l = strcspn(p, " \t\n,");
			kept |= l == nl && !memcmp(p, name, l);
			p += l;
		}
		size_t held = 0;
		for (size_t i = 0; i < view.ntaken; i++)
			held += !strcmp(view.taken[i].host, name);
		if (kept || !held)
			continue;
		at += snprintf(err + at, at < errlen ? errlen - at : 0,
			       "%s holds %zu object%s of ns/%s (", name, held, held == 1 ? "" : "s",
			       ns);
		size_t shown = 0;
		for (size_t i = 0; i < view.ntaken && shown < 3; i++)
			if (!strcmp(view.taken[i].host, name))
				at += snprintf(err + at, at < errlen ? errlen - at : 0, "%s%s",
					       shown++ ? " " : "", view.taken[i].name);
		at += snprintf(err + at, at < errlen ? errlen - at : 0,
			       "%s): move or flush them first", held > 3 ? " ..." : "");
		r = -EBUSY;
	}
	claim_view_free(&view);
	return r;
}
