/* A member's side of a launch's `create` command (cluster/ccmd_int.h). Every part of it is
 * peer input: the objects must be claimed for this host, with these ids and names, by the
 * intent the command names, itself the sender's; each template value passes the checks a
 * local write of it has. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/ccmd_int.h"
#include "cluster/chosts.h"
#include "cluster/cnsjoin.h"
#include "cluster/cpub.h"
#include "cluster/crec.h"
#include "ctl/params.h"
#include "runtime/model.h"
#include "vmfs/node.h"

static bool same_tag(const struct ckey_tag *a, const struct ckey_tag *b)
{
	return !strcmp(a->host, b->host) && a->run == b->run && a->seq == b->seq;
}

int ccmd_job_ns(struct ccmd *c, struct mjob *j, char *why, size_t whylen)
{
	struct cview *cv = c->v->cview;
	const struct cview_ns *cns = cv ? cview_ns_id(cv, j->cmd.ns) : NULL;
	/* a launch may follow at once the hosts write that named this host: made now */
	if (cns && !ns_find(&c->v->m, cns->name) && cnsjoin_listed(c->v, cns->name))
		cnsjoin_now(c->v);
	if (!cns || !ns_find(&c->v->m, cns->name)) {
		snprintf(why, whylen, "namespace id %llu is not one %s has",
			 (unsigned long long)j->cmd.ns, c->ch->self);
		return ENOENT;
	}
	snprintf(j->ns, sizeof(j->ns), "%s", cns->name);
	return 0;
}

bool ccreate_claim_ok(const struct crec_claim *cl, uint64_t id, const char *self,
		      const struct ccreate *cr)
{
	return cl->id == id && !strcmp(cl->host, self) && cl->type == cr->type &&
	       same_tag(&cl->intent, &cr->intent);
}

static int claim_refused(struct ccmd *c, struct mjob *j, size_t i, char *why, size_t whylen)
{
	char itag[CKEY_TAG_LEN];
	ckey_tag_fmt(&j->cr.intent, itag);
	snprintf(why, whylen, "%s (id %llu) is not claimed in ns/%s for %s as a %s by launch %s",
		 j->cr.names[i], (unsigned long long)j->cmd.ids[i], j->ns, c->ch->self,
		 otype_name(j->cr.type), itag);
	return EINVAL;
}

static int check_claims(struct ccmd *c, struct mjob *j, char *why, size_t whylen)
{
	struct cview *cv = c->v->cview;
	int r = ccmd_job_ns(c, j, why, whylen);
	if (r)
		return r;
	if (!j->cmd.nids || j->cmd.take_ms > CCMD_TAKE_MS * 30ull) {
		snprintf(why, whylen, "a create needs ids and a take-ms of at most %u",
			 CCMD_TAKE_MS * 30);
		return EINVAL;
	}
	r = ccreate_read(j->cmd.args, &j->cr, why, whylen);
	if (r)
		return -r;
	if (j->cr.n != j->cmd.nids) {
		snprintf(why, whylen, "%zu names for %zu ids", j->cr.n, j->cmd.nids);
		return EINVAL;
	}
	if (strcmp(j->cr.intent.host, j->cmd.from)) {
		snprintf(why, whylen, "the intent is %s's, not its sender's (%s)", j->cr.intent.host,
			 j->cmd.from);
		return EINVAL;
	}
	/* a cache at or past the command's revision has every claim put before it; one behind
	 * (the command came by the watch of this host's commands first) may lack some: those
	 * are read from etcd by the worker before the take */
	bool behind = ccache_revision(c->ch->cache) < j->rev;
	for (size_t i = 0; i < j->cr.n; i++) {
		char e[256];
		if (name_check(j->cr.names[i], e, sizeof(e))) {
			snprintf(why, whylen, "a name of the command: %s", e);
			return EINVAL;
		}
		const struct cview_obj *o = cview_obj_id(cv, j->cmd.ns, j->cmd.ids[i]);
		if (o && !strcmp(o->name, j->cr.names[i]) &&
		    ccreate_claim_ok(&o->claim, j->cmd.ids[i], c->ch->self, &j->cr))
			continue;
		if (!behind)
			return claim_refused(c, j, i, why, whylen);
		j->claims_unread = true;
	}
	return 0;
}

/* The worker's: every claim of the command read from etcd (ranges, up to CLAIMS_TXN a txn),
 * each a peer's value, checked as the cache's would be. 0, or a positive errno with why. */
#define CLAIMS_TXN 120
int ccreate_claims_read(struct ccmd *c, struct mjob *j, char *why, size_t whylen)
{
	char(*keys)[CKEY_MAX + 1] = calloc(CLAIMS_TXN, sizeof(*keys));
	struct etcd_op *ops = calloc(CLAIMS_TXN, sizeof(*ops));
	int err = 0;
	if (!keys || !ops) {
		snprintf(why, whylen, "out of memory reading the claims");
		err = ENOMEM;
	}
	for (size_t at = 0; !err && at < j->cr.n; at += CLAIMS_TXN) {
		size_t n = j->cr.n - at < CLAIMS_TXN ? j->cr.n - at : CLAIMS_TXN;
		for (size_t i = 0; i < n; i++) {
			if (ckey_claim(keys[i], sizeof(keys[i]), c->ch->cluster, j->cmd.ns,
				       j->cr.names[at + i]) < 0)
				return free(keys), free(ops), claim_refused(c, j, at + i, why, whylen);
			ops[i] = (struct etcd_op){.kind = ETCD_OP_RANGE, .key = keys[i]};
		}
		struct etcd_txn_result res = {0};
		struct err e;
		int r = etcd_txn(c->w, NULL, 0, ops, n, NULL, 0, &res, &e);
		if (r || res.nranges != n) {
			snprintf(why, whylen, "the claims could not be read from etcd: %s",
				 r ? e.why : "a short answer");
			err = EIO;
		}
		for (size_t i = 0; !err && i < n; i++) {
			struct crec_claim cl;
			char e2[256];
			const struct etcd_kvs *kv = &res.ranges[i];
			if (kv->n != 1 ||
			    crec_claim_read(kv->kv[0].value, kv->kv[0].value_len, &cl, e2,
					    sizeof(e2)) ||
			    !ccreate_claim_ok(&cl, j->cmd.ids[at + i], c->ch->self, &j->cr))
				err = claim_refused(c, j, at + i, why, whylen);
		}
		etcd_txn_result_free(&res);
	}
	free(keys);
	free(ops);
	return err;
}

void ccreate_seen(struct ccmd *c, struct mjob *j)
{
	j->create = true;
	j->pre_err = check_claims(c, j, j->pre_reason, sizeof(j->pre_reason));
	j->n = j->cr.n;
	ccmd_queue(c, j);
}

int ccmd_check_value(struct ccmd *c, struct ns *ns, int i, const char *value, const char *whose,
		     char *why, size_t whylen)
{
	const struct param *p = &params[i];
	char e[600];
	int r = param_check(p, value, e, sizeof(e));
	/* host-reaching first: a peer's path is not looked at (stat) unless this host's own
	 * template has the same */
	if (!r && (!ns->cfg[i] || strcmp(ns->cfg[i], value)) &&
	    param_host_reaching(ns, i, value, e, sizeof(e)))
		r = -EPERM;
	if (!r)
		r = model_check_paths(&c->v->m, p, value, e, sizeof(e));
	if (r)
		snprintf(why, whylen, "%.80s%s: %.400s", whose, p->name, e);
	return -r;
}

void ccreate_apply(struct ccmd *c, struct mjob *j)
{
	struct ns *ns = ns_find(&c->v->m, j->ns);
	char why[HOSTANS_REASON_MAX] = "";
	int err = 0;
	if (!ns) {
		snprintf(why, sizeof(why), "namespace %s is gone from %s", j->ns, c->ch->self);
		return ccmd_answer(c, j, ENOENT, why, 0);
	}
	for (size_t i = 0; !err && i < nparams && i < NPARAMS_MAX; i++)
		if (j->cr.cfg[i])
			err = ccmd_check_value(c, ns, (int)i, j->cr.cfg[i], "the template's ", why,
					       sizeof(why));
	struct object *like = err ? NULL : calloc(1, sizeof(*like));
	if (!err && !like) {
		err = ENOMEM;
		snprintf(why, sizeof(why), "out of memory");
	}
	if (!err) {
		/* the launcher's template, as the config the objects are made from */
		snprintf(like->name, sizeof(like->name), "%.40s's template", j->cmd.from);
		memcpy(like->cfg, j->cr.cfg, sizeof(like->cfg));
		char e[HOSTANS_REASON_MAX];
		int r = obj_create_many_ids(&c->v->m, ns, j->cr.type, j->cr.names, j->cr.n,
					    j->cmd.ids, like, e, sizeof(e));
		if (r) {
			err = -r;
			snprintf(why, sizeof(why), "%s", e);
		}
	}
	free(like);
	if (!err)
		cpub_kick(); /* the launcher waits for their records */
	ccmd_answer(c, j, err, why, err ? 0 : j->cr.n);
}
