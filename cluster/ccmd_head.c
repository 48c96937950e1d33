/* A head's command (cluster/ccmd_int.h): resolution over every host, this host's part applied
 * here, the others' sent by ccmd_send.c, and the answer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/ccmd_int.h"
#include "cluster/chosts.h"
#include "etcd/member.h"
#include "runtime/model.h"
#include "vmfs/node.h"
#include "vmfs/vreq.h"

void hcmd_hold(struct hcmd *h) { h->refs++; }

void hcmd_put(struct hcmd *h)
{
	if (!h || --h->refs)
		return;
	for (size_t i = 0; i < h->np; i++)
		sb_free(&h->p[i].value);
	free(h->p);
	free(h->ia);
	free(h->a);
	free(h->hosts);
	free(h->text);
	if (h->ns)
		ns_put(h->ns);
	pthread_cond_destroy(&h->cv);
	free(h);
}

struct waitq *hcmd_wq(struct hcmd *h) { return &h->wq; }

static bool hcmd_done(const struct hcmd *h) { return h->self_done && !h->running; }

int hcmd_end(struct hcmd *h, struct sbuf *reply, char *err, size_t errlen)
{
	if (!hcmd_done(h))
		return -EINPROGRESS;
	if (h->text && !h->fail) {
		reply->len = 0;
		sb_puts(reply, h->text);
		return reply->oom ? -ENOMEM : 0;
	}
	if (h->fail) {
		reply->len = 0;
		sb_printf(reply, "error: %s\n", h->failwhy);
		snprintf(err, errlen, "%s", h->failwhy);
		return -h->fail;
	}
	const char **names = calloc(h->nhosts ? h->nhosts : 1, sizeof(*names));
	for (size_t i = 0; names && i < h->nhosts; i++)
		names[i] = h->hosts[i];
	reply->len = 0;
	const char *vname = h->vname ? h->vname : verb_name(h->verb);
	int r = cmdans_render(h->a, h->na, names, names ? h->nhosts : 0, vname, reply);
	free(names);
	if (reply->oom)
		return -ENOMEM;
	/* the sum is the last line: the write's words */
	const char *end = reply->p + reply->len - 1, *last = end;
	while (last > reply->p && last[-1] != '\n')
		last--;
	snprintf(err, errlen, "%.*s", (int)(end - last), last);
	if (!h->logged && h->ns) {
		h->logged = true;
		for (size_t i = 0; i < h->na; i++) {
			if (h->a[i].kind == HA_DONE)
				continue;
			struct sbuf line = {0};
			cmdans_line(&h->a[i], vname, &line);
			if (!line.oom && line.len)
				evlog_add(&h->ns->log, "cluster: %s %s: %.*s", h->tagtext, vname,
					  (int)line.len - 1, line.p);
			sb_free(&line);
		}
	}
	return r;
}

int hcmd_start(struct hcmd *h)
{
	struct ccmd *c = h->c;
	hcmd_hold(h);
	pthread_mutex_lock(&c->lock);
	h->next = c->heads;
	c->heads = h;
	h->running = !pthread_create(&h->th, NULL, hcmd_thread, h);
	if (!h->running)
		c->heads = h->next;
	pthread_mutex_unlock(&c->lock);
	if (h->running)
		return 0;
	hcmd_put(h);
	return -EAGAIN;
}

static void self_applied(struct capply *a)
{
	struct hcmd *h = a->arg;
	struct hostans *s = &h->a[h->self];
	s->kind = a->err ? HA_REFUSED : HA_DONE;
	s->err = a->err;
	s->count = a->count;
	snprintf(s->reason, sizeof(s->reason), "%s", a->reason);
	h->self_done = true;
	waitq_wake_all(&h->wq);
	hcmd_put(h);
}

/* Finds the objects of the view (by index) for this host's part. */
static int by_id(const void *a, const void *b)
{
	const struct resolve_obj *x = *(const struct resolve_obj *const *)a,
				 *y = *(const struct resolve_obj *const *)b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int self_objects(const struct cview_in *in, const struct resolve_part *p,
			struct object ***out)
{
	const struct resolve_obj **idx = calloc(in->nobjs ? in->nobjs : 1, sizeof(*idx));
	struct object **objs = calloc(p->n ? p->n : 1, sizeof(*objs));
	if (!idx || !objs) {
		free(idx);
		free(objs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < in->nobjs; i++)
		idx[i] = &in->objs[i];
	qsort(idx, in->nobjs, sizeof(*idx), by_id);
	for (size_t i = 0; i < p->n; i++) {
		struct resolve_obj key = {.id = p->ids[i]};
		const struct resolve_obj *k = &key,
					 **f = bsearch(&k, idx, in->nobjs, sizeof(*idx), by_id);
		objs[i] = f ? in->local[*f - in->objs] : NULL;
	}
	free(idx);
	*out = objs;
	return 0;
}

struct hcmd *hcmd_alloc(struct ccmd *c, struct ns *ns, enum verb verb, size_t nhosts,
			size_t nparts)
{
	struct hcmd *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->refs = 1;
	h->c = c;
	h->verb = verb;
	h->self = SIZE_MAX;
	h->self_done = true;
	waitq_init(&h->wq);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cv, &ca);
	pthread_condattr_destroy(&ca);
	ns_get(ns);
	h->ns = ns;
	snprintf(h->tag.host, sizeof(h->tag.host), "%s", c->ch->self);
	h->tag.run = c->v->m.run;
	h->tag.seq = ++c->seq;
	ckey_tag_fmt(&h->tag, h->tagtext);
	h->hosts = calloc(nhosts ? nhosts : 1, sizeof(*h->hosts));
	h->a = calloc(nparts ? nparts : 1, sizeof(*h->a));
	h->p = calloc(nparts ? nparts : 1, sizeof(*h->p));
	h->ia = calloc(nparts ? nparts : 1, sizeof(*h->ia));
	if (!h->hosts || !h->a || !h->p || !h->ia) {
		hcmd_put(h);
		return NULL;
	}
	return h;
}

static struct hcmd *hcmd_new(struct ccmd *c, struct ns *ns, enum verb verb,
			     const struct cview_in *in, const struct resolution *res)
{
	struct hcmd *h = hcmd_alloc(c, ns, verb, in->nhosts, res->nparts);
	if (!h)
		return NULL;
	h->nhosts = in->nhosts;
	memcpy(h->hosts, in->hnames, in->nhosts * sizeof(*h->hosts));
	return h;
}

int ccmd_ns_act(struct ccmd *c, struct ns *ns, enum verb verb, const char *spec, struct vwait *wait,
		struct sbuf *reply, char *err, size_t errlen)
{
	struct cview_in in;
	struct resolution res;
	int r = ccmd_view(c, ns, &in, err, errlen);
	if (r)
		return r;
	if ((r = resolve(in.hosts, in.nhosts, in.objs, in.nobjs, ns->name, verb, spec, &res, err,
			 errlen))) {
		ccmd_view_free(&in);
		return r;
	}
	if (!res.nparts) { /* `all` in a namespace without objects */
		sb_printf(reply, "ok: %s 0\n", verb_name(verb));
		resolve_free(&res);
		ccmd_view_free(&in);
		return 0;
	}
	bool remote = false, others = false;
	for (size_t i = 0; i < res.nparts; i++) {
		others |= res.parts[i].host != in.self;
		remote |= res.parts[i].host != in.self && !res.parts[i].down;
	}
	char why[256], since[32];
	pthread_mutex_lock(&c->ch->lock);
	fmt_time(c->ch->link_since, since);
	pthread_mutex_unlock(&c->ch->lock);
	enum chosts_link link = chosts_get_link(c->ch, why, sizeof(why));
	if ((others && link != CL_JOINED) || (remote && !member_lease(c->ch))) {
		snprintf(err, errlen,
			 "this host is %s the cluster's etcd%s%s (%s): a change that spans hosts "
			 "cannot be made now; this host's guests keep running",
			 link == CL_CUT ? "cut from" : "not joined to",
			 link == CL_CUT ? " since " : "", link == CL_CUT ? since : "",
			 *why ? why : "no lease");
		resolve_free(&res);
		ccmd_view_free(&in);
		return -ENOTCONN;
	}
	if (link != CL_JOINED) /* (its own objects only: published when back) */
		evlog_add(&ns->log, "cluster: %s %s: applied while cut from etcd", verb_name(verb),
			  spec);
	struct hcmd *h = hcmd_new(c, ns, verb, &in, &res);
	struct object **mine = NULL;
	r = h ? 0 : -ENOMEM;
	for (size_t i = 0; !r && i < res.nparts; i++) {
		const struct resolve_part *p = &res.parts[i];
		struct hostans *a = &h->a[h->na++];
		snprintf(a->host, sizeof(a->host), "%s", in.hnames[p->host]);
		if (p->down) {
			resolve_down_answer(in.hosts, p, a);
		} else if (p->host == in.self) {
			h->self = h->na - 1;
			r = self_objects(&in, p, &mine);
			for (size_t k = 0; !r && k < p->n; k++)
				if (!mine[k])
					r = -ENOENT;
			if (!r) {
				h->self_done = false;
				h->apply.done = self_applied;
				h->apply.arg = h;
				hcmd_hold(h);
				if (capply_run(c, &h->apply, ns, mine, p->n, verb,
					       res.unfit == UNFIT_REFUSE) != -EINPROGRESS)
					self_applied(&h->apply);
			}
		} else {
			struct hpart *hp = &h->p[h->np];
			h->ia[h->np++] = h->na - 1;
			snprintf(hp->host, sizeof(hp->host), "%s", in.hnames[p->host]);
			if (ckey_cmd(hp->key, sizeof(hp->key), c->ch->cluster, hp->host, &h->tag) <
			    0)
				r = -ENAMETOOLONG;
			ccmd_record(c->ch->self, in.nsid, verb, p->ids, p->n,
				    res.unfit == UNFIT_REFUSE, CCMD_TAKE_MS, (uint64_t)time(NULL),
				    &hp->value);
			if (hp->value.oom)
				r = -ENOMEM;
		}
	}
	free(mine);
	resolve_free(&res);
	ccmd_view_free(&in);
	if (!r && h->np)
		r = hcmd_start(h);
	if (r) {
		snprintf(err, errlen, "%s", strerror(-r));
		hcmd_put(h);
		return r;
	}
	if (!hcmd_done(h)) {
		wait->hcmd = h;
		return -EINPROGRESS;
	}
	r = hcmd_end(h, reply, err, errlen);
	hcmd_put(h);
	wait->keep_reply = true;
	return r;
}

int ccmd_obj_act(struct ccmd *c, struct ns *ns, uint64_t id, enum verb verb, struct vwait *wait,
		 struct sbuf *reply, char *err, size_t errlen)
{
	char spec[24]; /* named: a state that refuses the verb is EBUSY, as on one host */
	snprintf(spec, sizeof(spec), "%llu", (unsigned long long)id);
	return ccmd_ns_act(c, ns, verb, spec, wait, reply, err, errlen);
}
