/* A local write of config/vcpus or config/memory in a namespace of the cluster: the steps of a
 * `config` command's owner (cluster/ccmd_config.c), for a write through this host's own tree.
 * One job per write, on bgjob's threads (etcd's calls block) and the loop in turns: reserve
 * (CAS on P/cap/SELF, the object marked in cfg-pending), apply on the loop (set_obj_param: the
 * same checks as on one host), then either give back (the apply refused) or wait for this
 * host's record to show the value (the cache looked at on a loop timer, as a mkdir's record
 * is) and drop the mark. The write is answered at the end: its reservation is exact and its record in etcd.
 *
 * Cut from etcd (or not joined yet), such a write is refused ENOTCONN: it changes a
 * reservation, which the cluster places by (docs/cluster-design.md, "A host that loses etcd"). */
#include "vmfs/cfgcap_local.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/cfgcap.h"
#include "cluster/chosts.h"
#include "cluster/cluster.h"
#include "cluster/cmove_int.h"
#include "cluster/cview.h"
#include "etcd/client.h"
#include "etcd/member.h"
#include "runtime/bgjob.h"
#include "vmfs/kinds.h"
#include "vmfs/node.h"

#define CALL_MS 3000	     /* each etcd call's bound */
#define PUBLISH_MS 3000	     /* the record waited for, as a config command's owner waits */
#define POLL_MS 20	     /* between two looks at the cache */

enum phase { RESERVE, WAIT, SETTLE };

struct lcjob {
	struct bgjob bg; /* first */
	struct lcjob *next;
	struct vmfs *v;
	struct etcd_opts o;
	struct etcd *w;
	char cluster[NAME_MAX_LEN + 1], self[NAME_MAX_LEN + 1];
	uint64_t run;
	char ns[NAME_MAX_LEN + 1], name[NAME_MAX_LEN + 1];
	int param;
	char *value;
	struct cfgcap k;
	enum phase phase;
	bool back;	    /* SETTLE gives the figures back */
	int r;		    /* the thread's outcome (positive errno) */
	char why[700];	    /* its words */
	int err;	    /* the write's outcome, told once the job ends */
	char errwhy[1024];
	struct timespec due; /* of WAIT */
	struct rbatch *b;
};

static struct lcjob *running; /* the loop's */

static struct object *object_of(struct vmfs *v, const char *nsname, const char *name)
{
	struct ns *ns = ns_find(&v->m, nsname);
	return ns ? obj_find_any(ns, name) : NULL;
}

bool cfgcap_local_moves(struct vmfs *v, const struct vnode *n, const char *value)
{
	struct cfgcap k;
	return v->chosts && n->obj && n->sub >= 0 && cfgcap_of(n->obj, n->sub, value, &k);
}

static struct cfgcap_host host_of(struct lcjob *j)
{
	return (struct cfgcap_host){j->w, j->cluster, j->self, j->run};
}

static void work(struct bgjob *bg)
{
	struct lcjob *j = (struct lcjob *)bg;
	struct err e;
	struct cfgcap_host h;
	j->r = 0;
	switch (j->phase) {
	case RESERVE:
		if (etcd_open(&j->o, &j->w, &e)) {
			j->w = NULL;
			snprintf(j->why, sizeof(j->why), "etcd: %.600s", e.why);
			j->r = EAGAIN;
			return;
		}
		h = host_of(j);
		if ((j->r = cfgcap_reserve(&h, &j->k, j->why, sizeof(j->why)))) {
			etcd_close(j->w);
			j->w = NULL;
		}
		return;
	case WAIT: /* (a timer's: no work) */
		return;
	case SETTLE:
		h = host_of(j);
		j->r = cfgcap_settle(&h, &j->k, j->back, j->why, sizeof(j->why));
		etcd_close(j->w);
		j->w = NULL;
		return;
	}
}

static void done(struct bgjob *bg);

static void finish(struct lcjob *j)
{
	for (struct lcjob **pp = &running; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	etcd_close(j->w); /* (a WAIT that timed out keeps nothing more to do) */
	j->b->err = j->err;
	snprintf(j->b->why, sizeof(j->b->why), "%s", j->errwhy);
	j->b->pending = 0;
	waitq_wake_all(&j->b->wq);
	rbatch_put(j->b);
	free(j->value);
	free(j);
}

static void next(struct lcjob *j, enum phase ph)
{
	j->phase = ph;
	/* WAIT looks at this host's cache, which the loop keeps: a timer, not a thread per look */
	int r = ph == WAIT ? bgjob_after(&j->bg, &j->v->m, POLL_MS, done)
			   : bgjob_start(&j->bg, &j->v->m, work, done);
	if (!r)
		return;
	evlog_add(&j->v->log,
		  "ns %s: %s/config/%s: its reservation in P/cap/%s is not %s (no thread: %s): a "
		  "vmfs corrects it from the claims at its start",
		  j->ns, j->name, params[j->param].name, j->self,
		  j->back ? "given back" : "unmarked", strerror(-r));
	finish(j);
}

static bool past(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

static bool same(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

/* Whether the record in this host's cache has the object's value now (or it is gone). */
static bool published(struct lcjob *j)
{
	struct vmfs *v = j->v;
	const struct object *o = object_of(v, j->ns, j->name);
	const struct cview_obj *r = v->cview ? cview_obj_id(v->cview, j->k.nsid, j->k.id) : NULL;
	return !o || (r && r->rec && same(r->rec->cfg[j->param], o->cfg[j->param]));
}

/* Reserved: the value applied as on one host, unless the object changed meanwhile. */
static void apply(struct lcjob *j)
{
	struct vmfs *v = j->v;
	struct object *o = object_of(v, j->ns, j->name);
	struct cfgcap now = j->k;
	char e[700];
	int r;
	if (!o) {
		r = -ENOENT;
		snprintf(e, sizeof(e), "%s is gone", j->name);
	} else if (o->state != ST_RUNNING && o->state != ST_PAUSED &&
		   !cmove_busy(v, o, e, sizeof(e)) &&
		   (!cfgcap_of(o, j->param, j->value, &now) || now.dvcpus != j->k.dvcpus ||
		    now.dmemory != j->k.dmemory)) {
		r = -EAGAIN;
		snprintf(e, sizeof(e), "config/%s of %s changed while its reservation moved: try again",
			 params[j->param].name, j->name);
	} else {
		struct vnode n = {.ns = o->ns, .obj = o, .sub = j->param};
		r = set_obj_param(v, &n, j->value, e, sizeof(e));
	}
	if (r) {
		j->err = r;
		snprintf(j->errwhy, sizeof(j->errwhy), "%s", e);
		j->back = true;
		return next(j, SETTLE);
	}
	clock_gettime(CLOCK_MONOTONIC, &j->due);
	j->due.tv_sec += PUBLISH_MS / 1000;
	j->due.tv_nsec += (PUBLISH_MS % 1000) * 1000000L;
	if (j->due.tv_nsec >= 1000000000L)
		j->due.tv_sec++, j->due.tv_nsec -= 1000000000L;
	next(j, WAIT);
}

static void done(struct bgjob *bg)
{
	struct lcjob *j = (struct lcjob *)bg;
	struct ns *ns = ns_find(&j->v->m, j->ns);
	switch (j->phase) {
	case RESERVE:
		if (!j->r)
			return apply(j);
		j->err = -j->r;
		snprintf(j->errwhy, sizeof(j->errwhy), "%s", j->why); /* logged as refused */
		return finish(j);
	case WAIT:
		if (published(j))
			return next(j, SETTLE);
		if (!past(&j->due))
			return next(j, WAIT);
		if (ns)
			evlog_add(&ns->log,
				  "%s/config/%s set; its record was not published within %d ms: its "
				  "mark in P/cap/%s stays (harmless: it says what the record will say)",
				  j->name, params[j->param].name, PUBLISH_MS, j->self);
		return finish(j);
	case SETTLE:
		if (j->r)
			evlog_add(&j->v->log,
				  "ns %s: %s/config/%s %s, and its reservation in P/cap/%s not %s "
				  "(%s): a vmfs corrects it from the claims at its start",
				  j->ns, j->name, params[j->param].name,
				  j->back ? "was refused" : "is published", j->self,
				  j->back ? "given back" : "unmarked", j->why);
		return finish(j);
	}
}

int cfgcap_local_start(struct vmfs *v, const struct vnode *n, const char *value,
		       struct rbatch **wait, char *err, size_t errlen)
{
	struct chosts *ch = v->chosts;
	struct object *o = n->obj;
	struct cfgcap k = {0};
	if (!ch || !o || !n->ns || n->sub < 0 || !cfgcap_of(o, n->sub, value, &k) ||
	    cmove_busy(v, o, err, errlen))
		return 1; /* (a busy one: set refuses it, with its words) */
	const char *pname = params[n->sub].name;
	char lw[256];
	enum chosts_link link = chosts_get_link(ch, lw, sizeof(lw));
	if (link != CL_JOINED || !member_lease(ch) || !ch->synced || !v->cview) {
		snprintf(err, errlen,
			 "this host is %s the cluster's etcd (%s): config/%s of %s moves its "
			 "reservation, which the cluster places by, so it waits for etcd",
			 link == CL_CUT ? "cut from" : "not joined to", *lw ? lw : "not yet", pname,
			 o->name);
		return -ENOTCONN;
	}
	const struct cview_ns *cn = cview_ns_find(v->cview, n->ns->name);
	const struct cview_obj *co = cn ? cview_obj_find(v->cview, cn->rec.id, o->name) : NULL;
	if (!co || strcmp(co->claim.host, ch->self) || co->claim.type != o->type)
		return 1; /* no claim of it here: nothing reserved (its claim will reserve it) */
	for (struct lcjob *r = running; r; r = r->next)
		if (!strcmp(r->ns, n->ns->name) && !strcmp(r->name, o->name)) {
			snprintf(err, errlen,
				 "a write of config/%s of %s is under way (its reservation moves): "
				 "try again once it has ended",
				 params[r->param].name, o->name);
			return -EBUSY;
		}
	struct lcjob *j = calloc(1, sizeof(*j));
	if (!j || !(j->value = strdup(value)) || !(j->b = rbatch_new())) {
		if (j)
			free(j->value);
		free(j);
		return -ENOMEM;
	}
	k.nsid = co->nsid;
	k.id = co->id;
	j->k = k;
	j->v = v;
	j->o = member_etcd_opts(v->conf, CALL_MS);
	j->run = v->m.run;
	j->param = n->sub;
	snprintf(j->cluster, sizeof(j->cluster), "%s", ch->cluster);
	snprintf(j->self, sizeof(j->self), "%s", ch->self);
	snprintf(j->ns, sizeof(j->ns), "%s", n->ns->name);
	snprintf(j->name, sizeof(j->name), "%s", o->name);
	j->b->pending = 1;
	j->phase = RESERVE;
	int r = bgjob_start(&j->bg, &v->m, work, done);
	if (r) {
		snprintf(err, errlen, "no thread to move the reservation: %s", strerror(-r));
		rbatch_put(j->b);
		free(j->value);
		free(j);
		return r;
	}
	j->b->refs++; /* the writer's */
	*wait = j->b;
	j->next = running;
	running = j;
	return -EINPROGRESS;
}
