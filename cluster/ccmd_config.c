/* The `config` command (cluster/ccmd.h): a write of config/NAME of another host's object.
 * The head sends it to the owner, one host, as a verb is sent; the owner checks it as peer
 * input, applies it as a local root write of that file (the same checks: a refusal carries
 * its errno and words back) and answers only once its own record in etcd shows the value:
 * etcd's watch gives the head the record before the answer, so a read right after the write
 * sees the new value there. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/ccmd_int.h"
#include "cluster/cfgcap.h"
#include "cluster/chosts.h"
#include "cluster/cmove_int.h"
#include "cluster/creconcile.h"
#include "ctl/params.h"
#include "etcd/member.h"
#include "runtime/model.h"
#include "vmfs/loop.h"
#include "vmfs/node.h"

#define CCONFIG_PUBLISH_MS 3000 /* the owner's record waited for, before the answer */
#define CCONFIG_ANSWER_MS (CCONFIG_PUBLISH_MS + 2000)

/* What the change moves in this host's reservation (the worker moves it, after the take):
 * nothing for a parameter other than vcpus and memory, nor for a running object (refused). */
static void reservation_moves(struct ccmd *c, struct mjob *j)
{
	struct ns *ns = ns_find(&c->v->m, j->ns);
	struct object *o = ns ? obj_find_any(ns, j->names[0]) : NULL;
	struct cfgcap k = {0};
	if (!o || !cfgcap_of(o, j->cf.param, j->cf.value, &k))
		return;
	j->cf.dvcpus = k.dvcpus;
	j->cf.dmemory = k.dmemory;
	j->cf.vcpus = k.vcpus;
	j->cf.memory = k.memory;
}

/* Peer input: one object of this host in a namespace it has, and a parameter of its type. */
static int config_check(struct ccmd *c, struct mjob *j, const struct cview_obj **out, char *why,
			size_t wl)
{
	const struct cview_obj *o;
	int r = ccmd_job_ns(c, j, why, wl);
	if (r)
		return r;
	if (j->cmd.nids != 1 || j->cmd.take_ms > CCMD_TAKE_MS * 30ull) {
		snprintf(why, wl, "a config command names one id, with a take-ms of at most %u",
			 CCMD_TAKE_MS * 30);
		return EINVAL;
	}
	if (!(o = cview_obj_id(c->v->cview, j->cmd.ns, j->cmd.ids[0])) ||
	    strcmp(o->claim.host, c->ch->self)) {
		snprintf(why, wl, "id %llu is no object of %s in namespace %s",
			 (unsigned long long)j->cmd.ids[0], c->ch->self, j->ns);
		return ENOENT;
	}
	if (cconfig_read(j->cmd.args, &j->cf, why, wl))
		return EINVAL;
	if (!(params[j->cf.param].applies & otype_mask(o->claim.type))) {
		snprintf(why, wl, "%s is no parameter of a %s", params[j->cf.param].name,
			 otype_name(o->claim.type));
		return EINVAL;
	}
	*out = o;
	return 0;
}

void cconfig_seen(struct ccmd *c, struct mjob *j)
{
	const struct cview_obj *o = NULL;
	j->config = true;
	j->cf.param = -1;
	if (!(j->names = calloc(1, sizeof(*j->names)))) {
		mjob_free(j);
		return;
	}
	j->pre_err = config_check(c, j, &o, j->pre_reason, sizeof(j->pre_reason));
	if (!j->pre_err) {
		snprintf(j->names[0], sizeof(*j->names), "%s", o->name);
		j->n = 1;
		reservation_moves(c, j); /* every claim holds a reservation (the sum's rule) */
	}
	ccmd_queue(c, j);
}

/* Applied, its answer waiting for this host's record to show the value. */
struct cpending {
	struct cpending *next;
	struct ccmd *c;
	struct mjob *j;
	uint64_t nsid, id;
	int64_t due;
};
static struct cpending *pending;
static bool ticking;
static struct waitq tick_wq = {{&tick_wq.head, &tick_wq.head}};

static bool same(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

/* Whether the record in this host's cache has what the model has now (or the object is
 * gone: nothing more to wait for). */
static bool published(struct cpending *p)
{
	struct ns *ns = ns_find(&p->c->v->m, p->j->ns);
	struct object *o = ns ? obj_find_any(ns, p->j->names[0]) : NULL;
	const struct cview_obj *r = p->c->v->cview ? cview_obj_id(p->c->v->cview, p->nsid, p->id)
						   : NULL;
	if (!o)
		return true;
	return r && r->rec && same(r->rec->cfg[p->j->cf.param], o->cfg[p->j->cf.param]);
}

static int tick(void *arg)
{
	(void)arg;
	waitq_wake_all(&tick_wq);
	int64_t now = ccmd_now_ms();
	for (struct cpending **pp = &pending; *pp;) {
		struct cpending *p = *pp;
		bool pub = !p->c->stopping && published(p);
		if (!pub && now < p->due && !p->c->stopping) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		p->j->cf.shown = pub;
		if (!pub)
			evlog_add(&p->c->v->log,
				  "cluster: command %s: config/%s of %s set; its record was not "
				  "published within %u ms (a read on %s may show the old value a "
				  "while)",
				  p->j->tag, params[p->j->cf.param].name, p->j->names[0],
				  CCONFIG_PUBLISH_MS, p->j->cmd.from);
		if (p->c->stopping)
			mjob_free(p->j);
		else
			ccmd_answer(p->c, p->j, 0, "", 1);
		free(p);
	}
	return 0;
}

struct waitq *ccmd_tick(struct ccmd *c)
{
	if (!ticking && c->loop && !loop_add_timer(c->loop, CCMD_TICK_MS, tick, NULL))
		ticking = true;
	return ticking ? &tick_wq : NULL;
}

void cconfig_apply(struct ccmd *c, struct mjob *j)
{
	struct ns *ns = ns_find(&c->v->m, j->ns);
	struct object *o = ns ? obj_find_any(ns, j->names[0]) : NULL;
	char why[HOSTANS_REASON_MAX] = "";
	int err = 0;
	if (!o) {
		j->cf.give_back = true;
		snprintf(why, sizeof(why), "no VM or container named %s in namespace %s on %s",
			 j->names[0], j->ns, c->ch->self);
		return ccmd_answer(c, j, ENOENT, why, 0);
	}
	const char *pname = params[j->cf.param].name;
	char whose[NAME_MAX_LEN + 16];
	snprintf(whose, sizeof(whose), "%s/config/", o->name);
	char busy[NAME_MAX_LEN + 16];
	if (cmove_busy(c->v, o, busy, sizeof(busy))) { /* a cold move copies it */
		err = EBUSY;
		snprintf(why, sizeof(why), "%s is %s: its config waits until that has ended",
			 o->name, busy);
	} else if (*j->cf.value) {
		err = ccmd_check_value(c, ns, j->cf.param, j->cf.value, whose, why, sizeof(why));
	}
	char e[HOSTANS_REASON_MAX - 64];
	int r = err ? 0 : obj_param_set(&c->v->m, o, j->cf.param, j->cf.value, e, sizeof(e));
	if (r) {
		err = -r;
		snprintf(why, sizeof(why), "%.64s/config/%.32s: %.380s", o->name, pname, e);
	}
	j->cf.give_back = err != 0;
	struct cpending *p = err ? NULL : calloc(1, sizeof(*p));
	if (!err && p && ccmd_tick(c)) {
		*p = (struct cpending){pending, c, j, j->cmd.ns, j->cmd.ids[0],
				       ccmd_now_ms() + CCONFIG_PUBLISH_MS};
		pending = p;
		return;
	}
	free(p);
	ccmd_answer(c, j, err, why, err ? 0 : 1);
}

/* A head's part. */

struct hcmd *cconfig_send(struct ccmd *c, struct ns *ns, uint64_t nsid, const char *host,
			  uint64_t id, int param, const char *value, int *r, char *why,
			  size_t whylen)
{
	char lw[256];
	enum chosts_link link = chosts_get_link(c->ch, lw, sizeof(lw));
	if (link != CL_JOINED || !member_lease(c->ch)) {
		snprintf(why, whylen,
			 "this host is %s the cluster's etcd (%s): the config of %s's object cannot "
			 "be changed now",
			 link == CL_CUT ? "cut from" : "not joined to", *lw ? lw : "no lease", host);
		*r = -ENOTCONN;
		return NULL;
	}
	struct hsend part = {.host = host, .ids = &id, .n = 1};
	cconfig_args(param, value, &part.args);
	struct hcmd *h = hcmd_send(c, ns, nsid, CCONFIG_VERB, true, &part, 1, CCMD_TAKE_MS,
				   CCONFIG_ANSWER_MS, r);
	sb_free(&part.args);
	if (!h)
		snprintf(why, whylen, "cannot send the command: %s", strerror(-*r));
	return h;
}

int hcmd_one_end(struct hcmd *h, char *why, size_t whylen)
{
	size_t n;
	const struct hostans *a = hcmd_answers(h, &n);
	int err = n ? hostans_errno(&a[0]) : EIO;
	if (!err)
		return 0;
	struct sbuf line = {0};
	if (n)
		cmdans_line(&a[0], h->vname ? h->vname : verb_name(h->verb), &line);
	snprintf(why, whylen, "%.*s", line.len ? (int)line.len - 1 : 0, line.p ? line.p : "");
	sb_free(&line);
	return -err;
}
