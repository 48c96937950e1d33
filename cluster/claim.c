/* A launch's claims (cluster/claim.h): the view, the placement, the chunks' transactions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cintent.h"
#include "cluster/claim.h"

void claim_view_free(struct claim_view *v)
{
	crec_ns_free(&v->ns);
	free(v->hosts);
	free(v->taken);
	*v = (struct claim_view){0};
}

static void why_once(struct claim_view *v, const char *key, const char *why)
{
	if (!v->why[0])
		snprintf(v->why, sizeof(v->why), "%s: %s", key, why);
}

static struct claim_host *host_of(struct claim_view *v, const char *name)
{
	for (size_t i = 0; i < v->nhosts; i++)
		if (!strcmp(v->hosts[i].name, name))
			return &v->hosts[i];
	return NULL;
}

int claim_view_read(const char *cluster, const char *self, const char *ns,
		    const struct etcd_kv *kv, size_t n, int64_t rev, struct claim_view *v)
{
	*v = (struct claim_view){.rev = rev};
	snprintf(v->ns_name, sizeof(v->ns_name), "%s", ns);
	char why[300];
	struct ckey k;
	/* the namespace first: its id says which claims are its own, its hosts which hosts */
	for (size_t i = 0; i < n && !v->ns_found; i++) {
		if (ckey_parse(cluster, kv[i].key, &k) != CK_NS || strcmp(k.ns, ns))
			continue;
		if (crec_ns_read(kv[i].value, kv[i].value_len, &v->ns, why, sizeof(why))) {
			why_once(v, kv[i].key, why);
			continue;
		}
		v->ns_found = true;
		v->ns_rev = kv[i].mod_revision;
	}
	size_t nh = v->ns_found ? v->ns.nhosts : 0;
	v->hosts = calloc(nh + 1, sizeof(*v->hosts));
	v->taken = calloc(n ? n : 1, sizeof(*v->taken));
	if (!v->hosts || !v->taken) {
		claim_view_free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nh; i++)
		snprintf(v->hosts[v->nhosts++].name, NAME_MAX_LEN + 1, "%s", v->ns.hosts[i]);
	if (!host_of(v, self))
		snprintf(v->hosts[v->nhosts++].name, NAME_MAX_LEN + 1, "%s", self);
	for (size_t i = 0; i < n; i++) {
		int kind = ckey_parse(cluster, kv[i].key, &k);
		struct claim_host *h = kind == CK_CAP || kind == CK_ALIVE || kind == CK_HINFO
					       ? host_of(v, k.host)
					       : NULL;
		if (kind == CK_CLAIM && v->ns_found && k.nsid == v->ns.id) {
			struct claim_taken *t = &v->taken[v->ntaken++];
			struct crec_claim c;
			snprintf(t->name, sizeof(t->name), "%s", k.name);
			if (crec_claim_read(kv[i].value, kv[i].value_len, &c, why, sizeof(why)))
				why_once(v, kv[i].key, why);
			else
				snprintf(t->host, sizeof(t->host), "%s", c.host);
		} else if (h && kind == CK_ALIVE) {
			h->up = true;
		} else if (h && kind == CK_HINFO) {
			if (crec_hinfo_read(kv[i].value, kv[i].value_len, &h->info, why, sizeof(why)))
				why_once(v, kv[i].key, why);
			else
				h->has_info = true;
		} else if (h && kind == CK_CAP) {
			h->cap_rev = kv[i].mod_revision;
			if (crec_cap_read(kv[i].value, kv[i].value_len, &h->cap, why, sizeof(why))) {
				h->cap_bad = true;
				why_once(v, kv[i].key, why);
			}
		}
	}
	return 0;
}

static const struct claim_taken *taken(const struct claim_view *v, const char *name)
{
	for (size_t i = 0; i < v->ntaken; i++)
		if (!strcmp(v->taken[i].name, name))
			return &v->taken[i];
	return NULL;
}

/* What sched_place is given: the hosts that may take this launch's objects (all of the
 * view's, or only this host when it sends no commands), hidx[] mapping them back to the
 * view's, the objects already claimed on them and the objects to place. */
struct sin {
	struct sched_host *sh;
	size_t nsh, *hidx;
	struct sched_existing *ex;
	size_t nex;
	struct sched_obj *objs;
};

static void sin_free(struct sin *s)
{
	free(s->sh);
	free(s->hidx);
	free(s->ex);
	free(s->objs);
}

static int sin_make(const struct claim_view *v, const struct claim_req *rq, struct sin *s)
{
	*s = (struct sin){0};
	s->sh = calloc(v->nhosts ? v->nhosts : 1, sizeof(*s->sh));
	s->hidx = calloc(v->nhosts ? v->nhosts : 1, sizeof(*s->hidx));
	s->ex = calloc(v->ntaken ? v->ntaken : 1, sizeof(*s->ex));
	s->objs = calloc(rq->n ? rq->n : 1, sizeof(*s->objs));
	if (!s->sh || !s->hidx || !s->ex || !s->objs) {
		sin_free(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < v->nhosts; i++) {
		const struct claim_host *h = &v->hosts[i];
		if (rq->only_self && strcmp(h->name, rq->self))
			continue;
		/* the namespace's hosts take its objects: this host (listed after them when it is
		 * not one) only while there are none yet, or when the template pins it */
		if (i >= v->ns.nhosts && v->ns.nhosts && !(rq->pin && !strcmp(rq->pin, h->name)))
			continue;
		s->hidx[s->nsh] = i;
		s->sh[s->nsh++] = (struct sched_host){
		    .name = h->name,
		    .up = h->up && h->has_info && !h->cap_bad,
		    .cpus = h->has_info ? (unsigned)h->info.cpus : 0,
		    .mem_total = h->has_info ? h->info.memory : 0,
		    .containers = (unsigned)h->cap.objects,
		    .cpu_commit = (double)h->cap.vcpus,
		    .mem_commit = h->cap.memory,
		    .draining = h->cap.drain != 0,
		    .limited = true,
		    .cpu_ratio = h->has_info ? h->info.cpu_ratio / 1000.0 : 0,
		    .mem_ratio = h->has_info ? h->info.mem_ratio / 1000.0 : 0,
		};
	}
	for (size_t i = 0; i < v->ntaken; i++)
		for (size_t h = 0; h < s->nsh; h++)
			if (!strcmp(v->taken[i].host, s->sh[h].name))
				s->ex[s->nex++] = (struct sched_existing){v->taken[i].name, h, false, 0};
	for (size_t i = 0; i < rq->n; i++)
		s->objs[i] = (struct sched_obj){rq->names[i], (unsigned)rq->vcpus, rq->memory,
						rq->pin, NULL, false, 0};
	return 0;
}

int claim_place(const struct claim_view *v, const struct claim_req *rq, size_t *where, char *err,
		size_t errlen)
{
	if (!v->ns_found) {
		snprintf(err, errlen, "launch: ns/%s is not in the cluster%s%s", rq->ns,
			 v->why[0] ? ": " : "", v->why);
		return -ENOENT;
	}
	for (size_t i = 0; i < rq->n; i++) {
		const struct claim_taken *t = taken(v, rq->names[i]);
		if (t) {
			snprintf(err, errlen, "launch: %s exists already in ns/%s (on %s)", t->name,
				 rq->ns, t->host[0] ? t->host : "a host whose claim cannot be read");
			return -EEXIST;
		}
	}
	if (rq->pin && *rq->pin && rq->only_self && strcmp(rq->pin, rq->self)) {
		snprintf(err, errlen, "launch: the template pins host %s; this host sends no "
			 "commands to others (see host/log)", rq->pin);
		return -EOPNOTSUPP;
	}
	for (size_t h = 0; h < v->nhosts; h++) /* just started: its alive and info first */
		if (!strcmp(v->hosts[h].name, rq->self) && (!v->hosts[h].up || !v->hosts[h].has_info)) {
			snprintf(err, errlen, "launch: this host (%s) has not published its %s in the "
				 "cluster yet", rq->self, v->hosts[h].up ? "info" : "alive");
			return -EAGAIN;
		}
	struct sin s;
	int r = sin_make(v, rq, &s);
	if (r)
		return r;
	struct sched_ns sns = {s.sh, s.nsh, s.ex, s.nex, rq->policy};
	r = sched_place(&sns, s.objs, rq->n, where, err, errlen);
	for (size_t i = 0; !r && i < rq->n; i++)
		where[i] = s.hidx[where[i]];
	sin_free(&s);
	return r;
}

void claim_plan(const struct claim_view *v, const struct claim_req *rq, const size_t *where,
		struct sbuf *out)
{
	struct sin s;
	size_t *w = calloc(rq->n ? rq->n : 1, sizeof(*w));
	if (!w || sin_make(v, rq, &s)) {
		free(w);
		out->oom = true;
		return;
	}
	for (size_t i = 0; i < rq->n; i++)
		for (size_t h = 0; h < s.nsh; h++)
			if (s.hidx[h] == where[i])
				w[i] = h;
	struct sched_ns sns = {s.sh, s.nsh, s.ex, s.nex, rq->policy};
	sched_plan(&sns, s.objs, rq->n, w, out);
	for (size_t i = 0; rq->only_self && i < v->nhosts; i++)
		if (strcmp(v->hosts[i].name, rq->self))
			sb_printf(out, "%s: takes nothing launched here: this host sends no "
				  "commands to others (see host/log)\n", v->hosts[i].name);
	sin_free(&s);
	free(w);
}

void claim_txn_free(struct claim_txn *t)
{
	for (size_t i = 0; i < t->nvals; i++)
		sb_free(&t->vals[i]);
	t->nvals = t->ncmp = t->nok = t->nfail = t->nkeys = 0;
}

static char *key_slot(struct claim_txn *t)
{
	return t->nkeys < 2 * ETCD_TXN_MAX ? t->keys[t->nkeys++] : NULL;
}

static struct sbuf *val_slot(struct claim_txn *t)
{
	if (t->nvals == ETCD_TXN_MAX)
		return NULL;
	t->vals[t->nvals] = (struct sbuf){0};
	return &t->vals[t->nvals++];
}

/* r, or -ENOMEM if a value could not be written whole; t emptied on failure */
static int txn_done(struct claim_txn *t, int r)
{
	for (size_t i = 0; !r && i < t->nvals; i++)
		if (sb_err(&t->vals[i]))
			r = -ENOMEM;
	if (r)
		claim_txn_free(t);
	return r;
}

static void put(struct claim_txn *t, const char *key, const struct sbuf *v)
{
	t->ok[t->nok++] = (struct etcd_op){.kind = ETCD_OP_PUT, .key = key, .value = v->p,
					   .len = v->len};
}

static void cmp_mod(struct claim_txn *t, const char *key, int64_t rev)
{
	t->cmp[t->ncmp++] = (struct etcd_cmp){.key = key, .target = ETCD_MOD, .num = rev};
}

/* The intent's value: objs[0..n) at phase. */
static int intent_value(struct sbuf *out, const struct claim_req *rq, uint64_t nsid,
			const struct claim_obj *objs, size_t n, enum crec_phase phase)
{
	struct crec_intent in = {.kind = CREC_INTENT_LAUNCH, .ns = nsid, .phase = phase,
				 .vcpus = rq->vcpus, .memory = rq->memory};
	snprintf(in.host, sizeof(in.host), "%s", rq->self);
	in.objects = calloc(n ? n : 1, sizeof(*in.objects));
	if (!in.objects)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		snprintf(in.objects[i].name, sizeof(in.objects[i].name), "%s", objs[i].name);
		in.objects[i].id = objs[i].id;
		snprintf(in.objects[i].host, sizeof(in.objects[i].host), "%s", objs[i].host);
	}
	in.nobjects = n;
	crec_intent_write(&in, out);
	free(in.objects);
	return sb_err(out) ? -ENOMEM : 0;
}

int claim_reserve_build(struct claim_txn *t, const struct claim_view *v,
			const struct claim_req *rq, const size_t *where, struct claim_obj **objs)
{
	*t = (struct claim_txn){0};
	*objs = NULL;
	if (v->nhosts + 2 > ETCD_TXN_MAX)
		return -E2BIG;
	bool *touched = calloc(v->nhosts ? v->nhosts : 1, sizeof(*touched));
	struct claim_obj *o = calloc(rq->n ? rq->n : 1, sizeof(*o));
	if (!touched || !o) {
		free(touched);
		free(o);
		return -ENOMEM;
	}
	int r = 0;
	for (size_t i = 0; i < rq->n && !r; i++) {
		if (where[i] >= v->nhosts) {
			r = -EINVAL;
			break;
		}
		touched[where[i]] = true;
		snprintf(o[i].name, sizeof(o[i].name), "%s", rq->names[i]);
		o[i].id = v->ns.next_id + i;
		snprintf(o[i].host, sizeof(o[i].host), "%s", v->hosts[where[i]].name);
	}
	/* the namespace: its counter past the launch, and this host one of its hosts if it
	 * holds objects of it now */
	char *nkey = r ? NULL : key_slot(t);
	struct sbuf *nval = r ? NULL : val_slot(t);
	if (!r && ckey_ns(nkey, CKEY_MAX + 1, rq->cluster, v->ns_name) < 0)
		r = -EINVAL;
	if (!r) {
		struct crec_ns ns = v->ns;
		ns.next_id += rq->n;
		char(*hosts)[NAME_MAX_LEN + 1] = calloc(v->nhosts, sizeof(*hosts));
		if (!hosts) {
			r = -ENOMEM;
		} else {
			memcpy(hosts, v->ns.hosts, v->ns.nhosts * sizeof(*hosts));
			ns.hosts = hosts;
			for (size_t h = v->ns.nhosts; h < v->nhosts; h++)
				if (touched[h])
					snprintf(hosts[ns.nhosts++], NAME_MAX_LEN + 1, "%s",
						 v->hosts[h].name);
			crec_ns_write(&ns, nval);
			free(hosts);
			cmp_mod(t, nkey, v->ns_rev);
			put(t, nkey, nval);
		}
	}
	for (size_t h = 0; h < v->nhosts && !r; h++) {
		if (!touched[h])
			continue;
		char *key = key_slot(t);
		struct sbuf *val = val_slot(t);
		struct crec_cap cap = v->hosts[h].cap;
		for (size_t i = 0; i < rq->n; i++)
			if (where[i] == h) {
				cap.vcpus += rq->vcpus;
				cap.memory += rq->memory;
				cap.objects++;
			}
		if (ckey_cap(key, CKEY_MAX + 1, rq->cluster, v->hosts[h].name) < 0) {
			r = -EINVAL;
			break;
		}
		crec_cap_write(&cap, val);
		cmp_mod(t, key, v->hosts[h].cap_rev);
		put(t, key, val);
	}
	if (!r) {
		char *key = key_slot(t);
		struct sbuf *val = val_slot(t);
		if (ckey_intent(key, CKEY_MAX + 1, rq->cluster, &rq->intent) < 0)
			r = -EINVAL;
		else if (!(r = intent_value(val, rq, v->ns.id, o, rq->n, CREC_PHASE_CLAIMING))) {
			t->cmp[t->ncmp++] = (struct etcd_cmp){.key = key, .target = ETCD_CREATE, .num = 0};
			put(t, key, val);
		}
	}
	free(touched);
	if ((r = txn_done(t, r)))
		free(o);
	else
		*objs = o;
	return r;
}

int claim_creating_value(struct sbuf *out, const struct claim_req *rq, uint64_t nsid,
			 const struct claim_obj *objs)
{
	return intent_value(out, rq, nsid, objs, rq->n, CREC_PHASE_CREATING);
}

int claim_chunk_build(struct claim_txn *t, const struct claim_req *rq, uint64_t nsid,
		      const struct claim_obj *objs, size_t k, int64_t irev)
{
	*t = (struct claim_txn){0};
	if (k > CLAIM_CHUNK)
		return -E2BIG;
	int r = 0;
	for (size_t i = 0; i < k && !r; i++) {
		char *key = key_slot(t);
		struct sbuf *val = val_slot(t);
		struct crec_claim c = {.id = objs[i].id, .type = rq->type, .intent = rq->intent,
				       .ctime = rq->ctime};
		snprintf(c.host, sizeof(c.host), "%s", objs[i].host);
		if (ckey_claim(key, CKEY_MAX + 1, rq->cluster, nsid, objs[i].name) < 0) {
			r = -EINVAL;
			break;
		}
		crec_claim_write(&c, val);
		t->cmp[t->ncmp++] = (struct etcd_cmp){.key = key, .target = ETCD_VERSION, .num = 0};
		put(t, key, val);
		t->fail[t->nfail++] = (struct etcd_op){.kind = ETCD_OP_RANGE, .key = key};
	}
	char *key = r ? NULL : key_slot(t);
	if (!r && ckey_intent(key, CKEY_MAX + 1, rq->cluster, &rq->intent) < 0)
		r = -EINVAL;
	if (!r)
		cmp_mod(t, key, irev);
	return txn_done(t, r);
}

int claim_undo_build(struct claim_txn *t, const char *cluster, const struct crec_intent *in,
		     const char *ikey, int64_t irev, const struct claim_undo *u, size_t k,
		     const struct claim_undo_cap *caps, size_t ncaps,
		     const struct crec_intent_obj *rest, size_t left)
{
	*t = (struct claim_txn){0};
	if (k + ncaps + 1 > ETCD_TXN_MAX)
		return -E2BIG;
	/* at claiming the launch's reservation holds every object listed, claimed or not */
	bool all = in->kind == CREC_INTENT_LAUNCH && in->phase == CREC_PHASE_CLAIMING;
	int r = 0;
	for (size_t i = 0; i < k && !r; i++) {
		if (!u[i].ours && !(all && u[i].absent))
			continue;
		char *key = key_slot(t);
		if (ckey_claim(key, CKEY_MAX + 1, cluster, in->ns, u[i].o->name) < 0)
			r = -EINVAL;
		if (u[i].ours) {
			cmp_mod(t, key, u[i].claim_rev);
			t->ok[t->nok++] = (struct etcd_op){.kind = ETCD_OP_DELETE, .key = key};
		} else { /* not claimed when read: it must not be now (a chunk late) */
			t->cmp[t->ncmp++] =
			    (struct etcd_cmp){.key = key, .target = ETCD_VERSION, .num = 0};
		}
	}
	for (size_t h = 0; h < ncaps && !r; h++) {
		struct crec_cap cap = caps[h].cap;
		bool any = false;
		for (size_t i = 0; i < k; i++)
			if ((u[i].ours || all) && !strcmp(u[i].o->host, caps[h].host)) {
				cap.vcpus -= cap.vcpus < in->vcpus ? cap.vcpus : in->vcpus;
				cap.memory -= cap.memory < in->memory ? cap.memory : in->memory;
				cap.objects -= cap.objects ? 1 : 0;
				any = true;
			}
		if (!any)
			continue;
		char *key = key_slot(t);
		struct sbuf *val = val_slot(t);
		if (ckey_cap(key, CKEY_MAX + 1, cluster, caps[h].host) < 0) {
			r = -EINVAL;
			break;
		}
		crec_cap_write(&cap, val);
		cmp_mod(t, key, caps[h].rev);
		put(t, key, val);
	}
	if (!r) {
		cmp_mod(t, ikey, irev);
		if (!left) {
			t->ok[t->nok++] = (struct etcd_op){.kind = ETCD_OP_DELETE, .key = ikey};
		} else {
			struct sbuf *val = val_slot(t);
			struct crec_intent ni = *in;
			ni.objects = (struct crec_intent_obj *)rest;
			ni.nobjects = left;
			ni.phase = all ? CREC_PHASE_CLAIMING : CREC_PHASE_ROLLBACK;
			crec_intent_write(&ni, val);
			put(t, ikey, val);
		}
	}
	return txn_done(t, r);
}
