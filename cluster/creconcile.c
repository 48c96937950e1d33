/* Reservations summed from the claims, and this host's claims matched with its objects
 * (cluster/creconcile.h). */
#include "cluster/creconcile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster/cpub.h"
#include "cluster/cpub_int.h"
#include "ctl/params.h"
#include "vmfs/node.h"

void crsize_of(const struct crec_obj *rec, uint64_t *vcpus, uint64_t *memory)
{
	int iv = param_index("vcpus"), im = param_index("memory");
	const char *v = iv < 0 ? "0" : rec && rec->cfg[iv] ? rec->cfg[iv] : params[iv].def;
	const char *m = im < 0 ? "0" : rec && rec->cfg[im] ? rec->cfg[im] : params[im].def;
	*vcpus = strtoull(v, NULL, 10);
	char err[128];
	if (value_size(m, memory, err, sizeof(err)))
		*memory = 0;
}

void crsum_free(struct crsum *s)
{
	free(s->h);
	*s = (struct crsum){0};
}

static struct crsum_host *host_of(struct crsum *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->h[i].name, name))
			return &s->h[i];
	struct crsum_host *v = realloc(s->h, (s->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	s->h = v;
	v[s->n] = (struct crsum_host){0};
	snprintf(v[s->n].name, sizeof(v[s->n].name), "%s", name);
	return &v[s->n++];
}

/* An object's record, sized, to find a claim's size by (host, nsid, id). */
struct rsz {
	char host[NAME_MAX_LEN + 1];
	uint64_t nsid, id, vcpus, memory;
};

static int rsz_cmp(const void *a, const void *b)
{
	const struct rsz *x = a, *y = b;
	int c = strcmp(x->host, y->host);
	if (c)
		return c;
	if (x->nsid != y->nsid)
		return x->nsid < y->nsid ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int tag_cmp(const void *a, const void *b)
{
	const struct ckey_tag *x = a, *y = b;
	int c = strcmp(x->host, y->host);
	if (c)
		return c;
	if (x->run != y->run)
		return x->run < y->run ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct crsum_host *)a)->name, ((const struct crsum_host *)b)->name);
}

/* The keys of one kind among the ranges, by a callback each. */
typedef int (*each_fn)(void *ctx, const struct ckey *k, const struct etcd_kv *kv);
static int each(const char *cluster, const struct etcd_kvs *r, size_t nr, enum ckey_kind kind,
		each_fn fn, void *ctx)
{
	for (size_t i = 0; i < nr; i++)
		for (size_t j = 0; j < r[i].n; j++) {
			struct ckey k;
			if (ckey_parse(cluster, r[i].kv[j].key, &k) != (int)kind)
				continue;
			int rc = fn(ctx, &k, &r[i].kv[j]);
			if (rc)
				return rc;
		}
	return 0;
}

struct build {
	struct crsum *s;
	struct rsz *rs;
	size_t nrs;
	struct ckey_tag *tags; /* the intents there */
	size_t ntags;
	bool all_busy; /* an intent that cannot be read: which hosts it touches is not known */
};

static int add_rec(void *ctx, const struct ckey *k, const struct etcd_kv *kv)
{
	struct build *b = ctx;
	struct crec_obj rec;
	char why[256];
	if (crec_obj_read(kv->value, kv->value_len, &rec, why, sizeof(why)))
		return 0; /* its claim is unsized */
	struct rsz *z = &b->rs[b->nrs++];
	snprintf(z->host, sizeof(z->host), "%s", k->host);
	z->nsid = k->nsid;
	z->id = k->id;
	crsize_of(&rec, &z->vcpus, &z->memory);
	crec_obj_free(&rec);
	return 0;
}

static int add_intent(void *ctx, const struct ckey *k, const struct etcd_kv *kv)
{
	struct build *b = ctx;
	struct crec_intent in;
	char why[256];
	b->tags[b->ntags++] = k->tag;
	if (crec_intent_read(kv->value, kv->value_len, &in, why, sizeof(why))) {
		b->all_busy = true;
		return 0;
	}
	int r = 0;
	for (size_t i = 0; i < in.nobjects && !r; i++) {
		struct crsum_host *h = host_of(b->s, in.objects[i].host);
		if (h)
			h->busy = true;
		else
			r = -ENOMEM;
	}
	crec_intent_free(&in);
	return r;
}

static int add_alive(void *ctx, const struct ckey *k, const struct etcd_kv *kv)
{
	struct build *b = ctx;
	struct crec_alive a;
	char why[256];
	if (crec_alive_read(kv->value, kv->value_len, &a, why, sizeof(why)))
		return 0; /* as absent: a pending list of it is not known to be stale */
	struct crsum_host *h = host_of(b->s, k->host);
	if (!h)
		return -ENOMEM;
	h->alive = true;
	h->run = a.run;
	return 0;
}

static int add_cap(void *ctx, const struct ckey *k, const struct etcd_kv *kv)
{
	struct build *b = ctx;
	struct crsum_host *h = host_of(b->s, k->host);
	if (!h)
		return -ENOMEM;
	char why[256];
	h->has_cap = true;
	h->cap_rev = kv->mod_revision;
	h->cap_bad = crec_cap_read(kv->value, kv->value_len, &h->cap, why, sizeof(why)) != 0;
	struct crec_pend p[CRSUM_PEND_MAX];
	int n = h->cap_bad ? 0 : crec_cap_pending(&h->cap, p, CRSUM_PEND_MAX, why, sizeof(why));
	for (int i = 0; i < n; i++)
		h->pend[h->npend++] = (struct crsum_pend){.p = p[i]};
	return 0;
}

/* The entry of h's cfg-pending that sizes object id of nsid, if h is up in the run that wrote
 * the list. */
static struct crsum_pend *pending_of(struct crsum_host *h, uint64_t nsid, uint64_t id)
{
	if (!h->alive || h->run != h->cap.cfg_run)
		return NULL;
	for (size_t i = 0; i < h->npend; i++)
		if (h->pend[i].p.nsid == nsid && h->pend[i].p.id == id)
			return &h->pend[i];
	return NULL;
}

static int add_claim(void *ctx, const struct ckey *k, const struct etcd_kv *kv)
{
	struct build *b = ctx;
	struct crec_claim c;
	char why[256];
	if (crec_claim_read(kv->value, kv->value_len, &c, why, sizeof(why)))
		return 0;
	struct crsum_host *h = host_of(b->s, c.host);
	if (!h)
		return -ENOMEM;
	h->sum.objects++;
	if (c.intent.host[0] && b->ntags &&
	    bsearch(&c.intent, b->tags, b->ntags, sizeof(*b->tags), tag_cmp))
		h->busy = true;
	if (c.moving[0]) {
		struct crsum_host *to = host_of(b->s, c.moving);
		if (!to)
			return -ENOMEM;
		to->busy = true;
		h = host_of(b->s, c.host); /* (host_of may have moved the array) */
		h->busy = true;
	}
	struct rsz want = {.nsid = k->nsid, .id = c.id};
	snprintf(want.host, sizeof(want.host), "%s", c.host);
	const struct rsz *z =
	    b->nrs ? bsearch(&want, b->rs, b->nrs, sizeof(*b->rs), rsz_cmp) : NULL;
	struct crsum_pend *pe = pending_of(h, k->nsid, c.id);
	if (pe && (z || (pe->p.has_vcpus && pe->p.has_memory))) {
		/* its reservation moved before its record (maybe) shows it: the figures the
		 * changes set, the record's for the other */
		const struct crec_pend *q = &pe->p;
		pe->used = true;
		pe->shown = z && (!q->has_vcpus || z->vcpus == q->vcpus) &&
			    (!q->has_memory || z->memory == q->memory);
		h->sum.vcpus += q->has_vcpus ? q->vcpus : z->vcpus;
		h->sum.memory += q->has_memory ? q->memory : z->memory;
		return 0;
	}
	if (!z) {
		h->unsized++;
		return 0;
	}
	h->sum.vcpus += z->vcpus;
	h->sum.memory += z->memory;
	return 0;
}

int crsum_build(const char *cluster, const struct etcd_kvs *r, size_t nr, struct crsum *out)
{
	*out = (struct crsum){0};
	size_t total = 0;
	for (size_t i = 0; i < nr; i++)
		total += r[i].n;
	struct build b = {.s = out};
	if (total && (!(b.rs = calloc(total, sizeof(*b.rs))) ||
		      !(b.tags = calloc(total, sizeof(*b.tags))))) {
		free(b.rs);
		return -ENOMEM;
	}
	int rc = each(cluster, r, nr, CK_OBJ, add_rec, &b);
	if (!rc && b.nrs)
		qsort(b.rs, b.nrs, sizeof(*b.rs), rsz_cmp);
	if (!rc)
		rc = each(cluster, r, nr, CK_INTENT, add_intent, &b);
	if (!rc && b.ntags)
		qsort(b.tags, b.ntags, sizeof(*b.tags), tag_cmp);
	if (!rc)
		rc = each(cluster, r, nr, CK_ALIVE, add_alive, &b);
	if (!rc)
		rc = each(cluster, r, nr, CK_CAP, add_cap, &b);
	if (!rc)
		rc = each(cluster, r, nr, CK_CLAIM, add_claim, &b);
	free(b.rs);
	free(b.tags);
	if (rc) {
		crsum_free(out);
		return rc;
	}
	for (size_t i = 0; i < out->n; i++) /* a config change of a host that is down: done? */
		out->h[i].busy |= b.all_busy || (out->h[i].npend && !out->h[i].alive);
	if (out->n)
		qsort(out->h, out->n, sizeof(*out->h), name_cmp);
	return 0;
}

enum crsum_verdict crsum_judge(const struct crsum_host *h, struct crec_cap *want)
{
	bool readable = h->has_cap && !h->cap_bad;
	if (h->busy || h->unsized || (readable && h->cap.unknown))
		return CRSUM_UNKNOWN;
	struct crec_cap w = readable ? h->cap : (struct crec_cap){0};
	if (w.vcpus == h->sum.vcpus && w.memory == h->sum.memory && w.objects == h->sum.objects &&
	    (readable || !h->has_cap))
		return CRSUM_AGREES;
	w.vcpus = h->sum.vcpus;
	w.memory = h->sum.memory;
	w.objects = h->sum.objects;
	w.unknown = 0;
	/* what stays pending: entries of this run that sized a claim its record does not show
	 * yet (a subset of a list that fit: it fits) */
	struct crec_pend keep[CRSUM_PEND_MAX];
	size_t nk = 0;
	for (size_t i = 0; readable && i < h->npend; i++)
		if (h->pend[i].used && !h->pend[i].shown)
			keep[nk++] = h->pend[i].p;
	if (crec_cap_set_pending(&w, keep, nk))
		crec_cap_set_pending(&w, NULL, 0);
	*want = w;
	return CRSUM_DISAGREES;
}

/* P/name/, P/h/, P/cap/, P/intent/ in one transaction: at one revision. */
#define NRANGES 4
static int read_all(struct cpub *p, struct etcd_txn_result *res, struct err *e)
{
	static const char *const part[NRANGES] = {"name/", "h/", "cap/", "intent/"};
	char keys[NRANGES][CKEY_MAX + 16];
	struct etcd_op ops[NRANGES];
	for (size_t i = 0; i < NRANGES; i++) {
		if (ckey_prefix(keys[i], CKEY_MAX, p->cluster) < 0)
			return err_set(e, EINVAL, "cluster %s: no key prefix", p->cluster);
		strcat(keys[i], part[i]);
		ops[i] = (struct etcd_op){.kind = ETCD_OP_RANGE, .key = keys[i], .prefix = true};
	}
	*res = (struct etcd_txn_result){0};
	int r = etcd_txn(p->c, NULL, 0, ops, NRANGES, NULL, 0, res, e);
	if (!r && res->nranges != NRANGES) {
		etcd_txn_result_free(res);
		return err_set(e, EPROTO, "etcd answered %zu ranges for %d", res->nranges, NRANGES);
	}
	return r;
}

static const struct etcd_kv *find_kv(const struct etcd_kvs *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->kv[i].key, key))
			return &r->kv[i];
	return NULL;
}

bool creconcile_damaged(const struct model *m, int statefd)
{
	if (m->load_incomplete)
		return true;
	int fd = openat(statefd, "damaged", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return true;
	}
	bool any = false;
	struct dirent *de;
	while (!any && (de = readdir(d)))
		any = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return any;
}

static bool here(const struct cpub *p, const struct psnap *s, uint64_t nsid, const char *name)
{
	uint64_t lns = cpub_local_ns(p, nsid);
	for (size_t i = 0; lns && i < s->nobj; i++)
		if (s->obj[i].lns == lns && !strcmp(s->obj[i].rec.name, name))
			return true;
	return false;
}

/* The map gives cluster object id of namespace nsid to a local object: its claim is the
 * publisher's to settle (cns_forget_gone), not the reconcile's. */
static bool mapped(const struct cpub *p, uint64_t nsid, uint64_t id)
{
	for (size_t i = 0; i < p->map.nobj; i++)
		if (p->map.obj[i].cid == id && cidmap_ns(&p->map, p->map.obj[i].lns) == nsid)
			return true;
	return false;
}

static bool intent_there(const struct etcd_kvs *intents, const char *cluster,
			 const struct ckey_tag *t)
{
	char key[CKEY_MAX + 1];
	return t->host[0] && ckey_intent(key, sizeof(key), cluster, t) >= 0 && find_kv(intents, key);
}

/* This host's reservation as the claims' deletions go: read once, then as each txn left it. */
struct mycap {
	char key[CKEY_MAX + 1];
	struct crec_cap cap;
	int64_t rev;
	bool ok; /* read (or absent): it can be given back */
};

/* One claim of this host whose object is not here: deleted with its record and reservation,
 * compared on both. 1 deleted, 0 changed meanwhile (left for the next reconcile). */
static int drop_claim(struct cpub *p, const struct ckey *k, const struct etcd_kv *kv,
		      const struct crec_claim *c, const struct etcd_kvs *recs, struct mycap *mc,
		      struct err *e)
{
	char rkey[CKEY_MAX + 1];
	if (ckey_obj(rkey, sizeof(rkey), p->cluster, p->host, k->nsid, c->id) < 0)
		return err_set(e, EINVAL, "no key for object %llu", (unsigned long long)c->id);
	uint64_t vcpus = 0, memory = 0;
	const struct etcd_kv *rk = find_kv(recs, rkey);
	struct crec_obj rec;
	char why[256];
	if (rk && !crec_obj_read(rk->value, rk->value_len, &rec, why, sizeof(why))) {
		crsize_of(&rec, &vcpus, &memory);
		crec_obj_free(&rec);
	} else {
		crsize_of(NULL, &vcpus, &memory);
	}
	struct crec_cap cap = mc->cap;
	cap.vcpus -= cap.vcpus < vcpus ? cap.vcpus : vcpus;
	cap.memory -= cap.memory < memory ? cap.memory : memory;
	cap.objects -= cap.objects ? 1 : 0;
	struct sbuf val = {0};
	crec_cap_write(&cap, &val);
	if (sb_err(&val))
		return err_set(e, ENOMEM, "out of memory");
	struct etcd_cmp cmp[2] = {{.key = kv->key, .target = ETCD_MOD, .num = kv->mod_revision},
				  {.key = mc->key, .target = ETCD_MOD, .num = mc->rev}};
	struct etcd_op ops[3] = {{.kind = ETCD_OP_DELETE, .key = kv->key},
				 {.kind = ETCD_OP_DELETE, .key = rkey},
				 {.kind = ETCD_OP_PUT, .key = mc->key, .value = val.p, .len = val.len}};
	bool give = mc->ok && mc->rev; /* nothing to give back from an absent or unread one */
	struct etcd_txn_result res = {0};
	int r = etcd_txn(p->c, cmp, give ? 2 : 1, ops, give ? 3 : 2, NULL, 0, &res, e);
	bool won = !r && res.succeeded;
	if (won && give) {
		mc->cap = cap;
		mc->rev = res.revision;
	}
	etcd_txn_result_free(&res);
	sb_free(&val);
	if (r)
		return r;
	uint64_t lns = cpub_local_ns(p, k->nsid);
	if (won)
		cpub_say(p, lns,
			 "%s (id %llu of cluster namespace %llu) is claimed by this host but is not here (its state is gone): its claim is deleted%s",
			 k->name, (unsigned long long)c->id, (unsigned long long)k->nsid,
			 give ? " and its reservation given back" : "");
	return won;
}

/* Claims naming this host, made before this join, with no object here. */
static int lost_claims(struct cpub *p, const struct psnap *s, struct etcd_txn_result *res,
		       bool *changed, struct err *e)
{
	const struct etcd_kvs *claims = &res->ranges[0], *hk = &res->ranges[1],
			      *caps = &res->ranges[2], *intents = &res->ranges[3];
	char akey[CKEY_MAX + 1];
	if (ckey_alive(akey, sizeof(akey), p->cluster, p->host) < 0)
		return err_set(e, EINVAL, "host %s: no key", p->host);
	const struct etcd_kv *alive = find_kv(hk, akey);
	if (!alive)
		return 0; /* not joined (any more): at the next join */
	struct mycap mc = {.ok = true};
	if (ckey_cap(mc.key, sizeof(mc.key), p->cluster, p->host) < 0)
		return err_set(e, EINVAL, "host %s: no key", p->host);
	const struct etcd_kv *ck = find_kv(caps, mc.key);
	char why[256];
	if (ck) {
		mc.rev = ck->mod_revision;
		mc.ok = !crec_cap_read(ck->value, ck->value_len, &mc.cap, why, sizeof(why)) &&
			!mc.cap.unknown;
	}
	size_t *cand = claims->n ? calloc(claims->n, sizeof(*cand)) : NULL, ncand = 0;
	if (claims->n && !cand)
		return err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < claims->n; i++) {
		const struct etcd_kv *kv = &claims->kv[i];
		struct ckey k;
		struct crec_claim c;
		if (ckey_parse(p->cluster, kv->key, &k) != CK_CLAIM ||
		    crec_claim_read(kv->value, kv->value_len, &c, why, sizeof(why)) ||
		    strcmp(c.host, p->host) || kv->create_revision >= alive->create_revision ||
		    c.moving[0] || intent_there(intents, p->cluster, &c.intent) ||
		    here(p, s, k.nsid, k.name) || mapped(p, k.nsid, c.id))
			continue;
		cand[ncand++] = i;
	}
	if (ncand) { /* s may predate an object made just before the claims were read: the model
		      * as the loop's next ticks see it is looked at too */
		struct timespec t = {0, (2 * CPUB_TICK_MS + 50) * 1000000L};
		nanosleep(&t, NULL);
		pthread_mutex_lock(&p->lock);
		size_t left = 0;
		for (size_t j = 0; j < ncand; j++) {
			struct ckey k;
			ckey_parse(p->cluster, claims->kv[cand[j]].key, &k);
			if (!p->next || !here(p, p->next, k.nsid, k.name))
				cand[left++] = cand[j];
		}
		ncand = left;
		pthread_mutex_unlock(&p->lock);
	}
	int keep = ncand ? creconcile_damaged(&p->v->m, p->statefd) : 0;
	int r = 0;
	for (size_t j = 0; j < ncand && r >= 0; j++) {
		const struct etcd_kv *kv = &claims->kv[cand[j]];
		struct ckey k;
		struct crec_claim c;
		ckey_parse(p->cluster, kv->key, &k);
		crec_claim_read(kv->value, kv->value_len, &c, why, sizeof(why));
		if (keep) {
			cpub_say(p, cpub_local_ns(p, k.nsid),
				 "%s (id %llu of cluster namespace %llu) is claimed by this host but is not here; STATE/damaged/ holds state this vmfs could not read, so its claim is kept (look there, then restart)",
				 k.name, (unsigned long long)c.id, (unsigned long long)k.nsid);
			continue;
		}
		r = drop_claim(p, &k, kv, &c, hk, &mc, e);
		*changed |= r > 0;
	}
	free(cand);
	return r < 0 ? r : 0;
}

static void cap_text(const struct crec_cap *c, char *out, size_t len)
{
	snprintf(out, len, "vcpus=%llu memory=%llu objects=%llu", (unsigned long long)c->vcpus,
		 (unsigned long long)c->memory, (unsigned long long)c->objects);
}

/* Every host's P/cap/H against its claims' sum; one that disagrees said and corrected. */
static int sum_caps(struct cpub *p, const struct etcd_txn_result *res, struct err *e)
{
	struct crsum sum;
	if (crsum_build(p->cluster, res->ranges, res->nranges, &sum))
		return err_set(e, ENOMEM, "out of memory");
	int r = 0;
	for (size_t i = 0; i < sum.n && !r; i++) {
		const struct crsum_host *h = &sum.h[i];
		struct crec_cap want;
		if (crsum_judge(h, &want) != CRSUM_DISAGREES)
			continue;
		char key[CKEY_MAX + 1], was[128], now[128];
		if (ckey_cap(key, sizeof(key), p->cluster, h->name) < 0)
			continue;
		if (!h->has_cap)
			snprintf(was, sizeof(was), "nothing");
		else if (h->cap_bad)
			snprintf(was, sizeof(was), "a value this vmfs cannot read");
		else
			cap_text(&h->cap, was, sizeof(was));
		cap_text(&want, now, sizeof(now));
		struct sbuf val = {0};
		crec_cap_write(&want, &val);
		struct etcd_kv cur = {0};
		r = sb_err(&val) ? err_set(e, ENOMEM, "out of memory")
				 : etcd_cas(p->c, key, h->cap_rev, val.p, val.len, 0, &cur, e);
		sb_free(&val);
		etcd_kv_free(&cur);
		if (r < 0)
			break;
		cpub_say(p, 0, "%s held %s but the claims naming %s sum to %s: %s", key, was,
			 h->name, now,
			 r ? "corrected" : "it changed meanwhile, left as it is now");
		r = 0;
	}
	crsum_free(&sum);
	return r;
}

int creconcile_run(struct cpub *p, const struct psnap *s, struct err *e)
{
	struct etcd_txn_result res;
	int r = read_all(p, &res, e);
	if (r)
		return r;
	bool changed = false;
	r = lost_claims(p, s, &res, &changed, e);
	if (!r && changed) { /* the sums from what is there now */
		etcd_txn_result_free(&res);
		r = read_all(p, &res, e);
		if (r)
			return r;
	}
	if (!r)
		r = sum_caps(p, &res, e);
	etcd_txn_result_free(&res);
	return r;
}

/* Whether launch tag's intent is still there: 1, 0, or -errno. */
static int intent_in(struct cpub *p, const struct ckey_tag *tag, struct err *e)
{
	char ikey[CKEY_MAX + 1];
	if (ckey_intent(ikey, sizeof(ikey), p->cluster, tag) < 0)
		return 1; /* no key: never seen done */
	struct etcd_kv kv;
	bool found;
	int r = etcd_get(p->c, ikey, &kv, &found, e);
	if (r)
		return r;
	if (found)
		etcd_kv_free(&kv);
	return found;
}

/* Whether the claims of objs[0..n) are still this host's with their ids, read in one
 * transaction of ranges (a get each made a pass of a launch's 100 objects 100 round trips):
 * ours[i] set; 0 or -errno. */
static int still_ours(struct cpub *p, struct pobj *const *objs, size_t n, bool *ours,
		      struct err *e)
{
	CKEY_SCRATCH(keys, ETCD_TXN_MAX);
	if (!keys)
		return err_set(e, ENOMEM, "%s", strerror(ENOMEM));
	struct etcd_op ops[ETCD_TXN_MAX];
	uint64_t cid[ETCD_TXN_MAX];
	size_t k = 0, at[ETCD_TXN_MAX];
	for (size_t i = 0; i < n && i < ETCD_TXN_MAX; i++) {
		const struct pobj *o = objs[i];
		uint64_t cns = cidmap_ns(&p->map, o->lns);
		ours[i] = false;
		cid[i] = cidmap_obj(&p->map, o->lns, o->local);
		if (!cns || !cid[i] || ckey_claim(keys[k], sizeof(keys[k]), p->cluster, cns, o->name) < 0)
			continue;
		ops[k] = (struct etcd_op){.kind = ETCD_OP_RANGE, .key = keys[k]};
		at[k++] = i;
	}
	if (!k)
		return 0;
	struct etcd_txn_result res = {0};
	int r = etcd_txn(p->c, NULL, 0, ops, k, NULL, 0, &res, e);
	if (!r && res.nranges != k)
		r = err_set(e, EPROTO, "etcd answered %zu ranges for %zu", res.nranges, k);
	for (size_t j = 0; !r && j < k; j++) {
		if (!res.ranges[j].n)
			continue;
		const struct etcd_kv *kv = &res.ranges[j].kv[0];
		struct crec_claim c;
		char why[256];
		ours[at[j]] = !crec_claim_read(kv->value, kv->value_len, &c, why, sizeof(why)) &&
			      !strcmp(c.host, p->host) && c.id == cid[at[j]];
	}
	etcd_txn_result_free(&res);
	return r;
}

int creconcile_confirm(struct cpub *p, struct err *e)
{
	struct ckey_tag last = {0}; /* a launch's objects are mostly side by side: asked once */
	int there = 0;
	struct pobj *done[ETCD_TXN_MAX]; /* tagged objects whose intent is gone: claims to read */
	bool ours[ETCD_TXN_MAX], dirty = false;
	size_t n = 0;
	for (size_t i = 0; i <= p->nobjs; i++) {
		struct pobj *o = i < p->nobjs ? &p->objs[i] : NULL;
		if (o && (!o->intent.host[0] || o->stray || o->refused))
			continue;
		if (o && tag_cmp(&last, &o->intent)) {
			last = o->intent;
			if ((there = intent_in(p, &last, e)) < 0)
				return there;
		}
		if (o && there)
			continue;
		if (o)
			done[n++] = o;
		if (n && (!o || n == ETCD_TXN_MAX)) {
			int r = still_ours(p, done, n, ours, e);
			if (r < 0)
				return r;
			for (size_t j = 0; j < n; j++)
				if (ours[j]) {
					done[j]->intent = (struct ckey_tag){0};
					cidmap_set_tag(&p->map, done[j]->lns, done[j]->local,
						       &done[j]->intent);
					dirty = true;
				}
			n = 0;
		}
	}
	int r = dirty ? cidmap_save(p->statefd, &p->map, true) : 0;
	if (dirty && !r)
		p->map_unsynced = false; /* (what the pass wrote is synced with it) */
	return r ? err_set(e, -r, "cannot write STATE/cluster/" CIDMAP_FILE ": %s", strerror(-r))
		 : 0;
}
