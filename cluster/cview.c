#include "cluster/cview.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/chosts.h"
#include "cluster/ckey.h"
#include "runtime/model.h"
#include "runtime/util.h"

/* An owner's record, kept whether or not a claim names it (a move may make it the one). */
struct vrec {
	char host[NAME_MAX_LEN + 1];
	uint64_t nsid, id;
	struct crec_obj rec;
	struct vrec *next;
};

/* A namespace's claims, in name order when sorted. */
struct vlist {
	uint64_t nsid;
	struct cview_obj **v;
	size_t n, cap;
	bool dirty;
};

struct vhost {
	char name[NAME_MAX_LEN + 1];
	bool up;
	time_t down_since;
	bool at_least;
};

struct vtop {
	char host[NAME_MAX_LEN + 1];
	uint64_t nsid;
	struct crec_top top; /* rows sorted by id */
};

/* A chained hash table of n (a power of two) buckets; next links live in the entries. */
struct vhash {
	void **b;
	size_t n, count;
};

struct cview {
	char cluster[NAME_MAX_LEN + 1];
	char self[NAME_MAX_LEN + 1];
	struct chosts *ch;
	struct evlog *log;
	struct cview_ns **ns; /* by name */
	size_t nns;
	struct vhash by_name, by_id, recs; /* cview_obj by (nsid, name), by (nsid, id); vrec */
	struct vlist *lists;
	size_t nlists;
	struct vhost *hosts;
	size_t nhosts;
	struct vtop *tops;
	size_t ntops;
};

static uint64_t mix(uint64_t h, const void *p, size_t len)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h;
}

static uint64_t hash_name(uint64_t nsid, const char *name)
{
	return mix(mix(14695981039346656037ull, &nsid, sizeof(nsid)), name, strlen(name));
}

static uint64_t hash_id(uint64_t nsid, uint64_t id)
{
	uint64_t k[2] = {nsid, id};
	return mix(14695981039346656037ull, k, sizeof(k));
}

static uint64_t hash_rec(const char *host, uint64_t nsid, uint64_t id)
{
	return mix(hash_id(nsid, id), host, strlen(host));
}

/* the link field of an entry, for each table */
static void **link_name(void *e) { return (void **)&((struct cview_obj *)e)->next_name_; }
static void **link_id(void *e) { return (void **)&((struct cview_obj *)e)->next_id_; }
static void **link_rec(void *e) { return (void **)&((struct vrec *)e)->next; }

static uint64_t key_name(void *e)
{
	struct cview_obj *o = e;
	return hash_name(o->nsid, o->name);
}
static uint64_t key_id(void *e)
{
	struct cview_obj *o = e;
	return hash_id(o->nsid, o->id);
}
static uint64_t key_rec(void *e)
{
	struct vrec *r = e;
	return hash_rec(r->host, r->nsid, r->id);
}

/* Grows h to keep chains short; a failed growth leaves it as it was (longer chains). */
static void vhash_grow(struct vhash *h, void **(*link)(void *), uint64_t (*key)(void *))
{
	if (h->count < h->n)
		return;
	size_t n = h->n ? h->n * 2 : 64;
	void **b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i < h->n; i++)
		for (void *e = h->b[i], *next; e; e = next) {
			next = *link(e);
			size_t at = key(e) & (n - 1);
			*link(e) = b[at];
			b[at] = e;
		}
	free(h->b);
	h->b = b;
	h->n = n;
}

static int vhash_add(struct vhash *h, void *e, void **(*link)(void *), uint64_t (*key)(void *))
{
	vhash_grow(h, link, key);
	if (!h->n)
		return -ENOMEM;
	size_t at = key(e) & (h->n - 1);
	*link(e) = h->b[at];
	h->b[at] = e;
	h->count++;
	return 0;
}

static void vhash_del(struct vhash *h, void *e, void **(*link)(void *), uint64_t (*key)(void *))
{
	if (!h->n)
		return;
	for (void **p = &h->b[key(e) & (h->n - 1)]; *p; p = link(*p))
		if (*p == e) {
			*p = *link(e);
			h->count--;
			return;
		}
}

static void *bucket(const struct vhash *h, uint64_t k)
{
	return h->n ? h->b[k & (h->n - 1)] : NULL;
}

/* *p's array doubled (*cap updated): 0, or -ENOMEM with it as it was */
static int grow(void *p, size_t *cap, size_t size)
{
	size_t n = *cap ? *cap * 2 : 16;
	void *a = realloc(*(void **)p, n * size);
	if (!a)
		return -ENOMEM;
	*(void **)p = a;
	*cap = n;
	return 0;
}

struct cview *cview_new(const char *cluster, const char *self, struct chosts *ch, struct evlog *log)
{
	struct cview *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	snprintf(v->cluster, sizeof(v->cluster), "%s", cluster);
	snprintf(v->self, sizeof(v->self), "%s", self);
	v->ch = ch;
	v->log = log;
	return v;
}

void cview_free(struct cview *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->nns; i++) {
		crec_ns_free(&v->ns[i]->rec);
		free(v->ns[i]);
	}
	free(v->ns);
	for (size_t i = 0; i < v->by_name.n; i++)
		for (struct cview_obj *o = v->by_name.b[i], *next; o; o = next) {
			next = o->next_name_;
			free(o);
		}
	for (size_t i = 0; i < v->recs.n; i++)
		for (struct vrec *r = v->recs.b[i], *next; r; r = next) {
			next = r->next;
			crec_obj_free(&r->rec);
			free(r);
		}
	free(v->by_name.b);
	free(v->by_id.b);
	free(v->recs.b);
	for (size_t i = 0; i < v->nlists; i++)
		free(v->lists[i].v);
	free(v->lists);
	free(v->hosts);
	for (size_t i = 0; i < v->ntops; i++)
		crec_top_free(&v->tops[i].top);
	free(v->tops);
	free(v);
}

/* ---- lookups ---- */

const struct cview_obj *cview_obj_find(const struct cview *v, uint64_t nsid, const char *name)
{
	for (struct cview_obj *o = bucket(&v->by_name, hash_name(nsid, name)); o; o = o->next_name_)
		if (o->nsid == nsid && !strcmp(o->name, name))
			return o;
	return NULL;
}

const struct cview_obj *cview_obj_id(const struct cview *v, uint64_t nsid, uint64_t id)
{
	for (struct cview_obj *o = bucket(&v->by_id, hash_id(nsid, id)); o; o = o->next_id_)
		if (o->nsid == nsid && o->id == id)
			return o;
	return NULL;
}

static struct vrec *rec_find(const struct cview *v, const char *host, uint64_t nsid, uint64_t id)
{
	for (struct vrec *r = bucket(&v->recs, hash_rec(host, nsid, id)); r; r = r->next)
		if (r->nsid == nsid && r->id == id && !strcmp(r->host, host))
			return r;
	return NULL;
}


const struct cview_ns *cview_ns_find(const struct cview *v, const char *name)
{
	bool found;
	size_t at = name_pos((void *const *)v->ns, v->nns, offsetof(struct cview_ns, name), name, &found);
	return found ? v->ns[at] : NULL;
}

const struct cview_ns *cview_ns_id(const struct cview *v, uint64_t nsid)
{
	for (size_t i = 0; i < v->nns; i++)
		if (v->ns[i]->rec.id == nsid)
			return v->ns[i];
	return NULL;
}

size_t cview_ns_count(const struct cview *v) { return v->nns; }

const char *cview_self(const struct cview *v) { return v->self; }

int cview_ns_names(struct cview *v, size_t from, int (*fn)(void *ctx, const char *name, size_t idx),
		   void *ctx)
{
	for (size_t i = from; i < v->nns; i++)
		if (fn(ctx, v->ns[i]->name, i))
			return 1;
	return 0;
}

static struct vhost *host_find(const struct cview *v, const char *name)
{
	for (size_t i = 0; i < v->nhosts; i++)
		if (!strcmp(v->hosts[i].name, name))
			return &v->hosts[i];
	return NULL;
}

bool cview_host_up(const struct cview *v, const char *host, time_t *down_since,
		   bool *since_at_least)
{
	const struct vhost *h = host_find(v, host);
	if (down_since)
		*down_since = h && !h->up ? h->down_since : 0;
	if (since_at_least)
		*since_at_least = h && !h->up && h->at_least;
	return h && h->up;
}

static struct vtop *top_find(const struct cview *v, const char *host, uint64_t nsid)
{
	for (size_t i = 0; i < v->ntops; i++)
		if (v->tops[i].nsid == nsid && !strcmp(v->tops[i].host, host))
			return &v->tops[i];
	return NULL;
}

const char *cview_top(const struct cview *v, const char *host, uint64_t nsid, uint64_t id)
{
	const struct vtop *t = top_find(v, host, nsid);
	if (!t)
		return NULL;
	size_t lo = 0, hi = t->top.n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (t->top.rows[mid].id == id)
			return t->top.rows[mid].figures;
		if (t->top.rows[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- a namespace's list of claims ---- */

static struct vlist *list_of(struct cview *v, uint64_t nsid, bool make)
{
	for (size_t i = 0; i < v->nlists; i++)
		if (v->lists[i].nsid == nsid)
			return &v->lists[i];
	if (!make)
		return NULL;
	struct vlist *l = realloc(v->lists, (v->nlists + 1) * sizeof(*l));
	if (!l)
		return NULL;
	v->lists = l;
	l = &v->lists[v->nlists++];
	*l = (struct vlist){.nsid = nsid};
	return l;
}

static int by_name_cmp(const void *a, const void *b)
{
	return strcmp((*(struct cview_obj *const *)a)->name, (*(struct cview_obj *const *)b)->name);
}

static void list_sort(struct vlist *l)
{
	if (!l->dirty || !l->n)
		return;
	qsort(l->v, l->n, sizeof(*l->v), by_name_cmp);
	for (size_t i = 0; i < l->n; i++)
		l->v[i]->pos_ = i;
	l->dirty = false;
}

size_t cview_obj_count(const struct cview *v, uint64_t nsid)
{
	const struct vlist *l = list_of((struct cview *)v, nsid, false);
	return l ? l->n : 0;
}

int cview_objs(struct cview *v, uint64_t nsid, int type, const char *skip_host, size_t from,
	       int (*fn)(void *ctx, const struct cview_obj *o, size_t idx), void *ctx)
{
	struct vlist *l = list_of(v, nsid, false);
	if (!l)
		return 0;
	list_sort(l);
	for (size_t i = from; i < l->n; i++) {
		const struct cview_obj *o = l->v[i];
		if (!o->rec || (type >= 0 && o->claim.type != (enum otype)type) ||
		    (skip_host && !strcmp(o->claim.host, skip_host)))
			continue;
		int r = fn(ctx, o, i);
		if (r)
			return r;
	}
	return 0;
}

void cview_host_counts(const struct cview *v, const char *host, size_t count[2])
{
	count[0] = count[1] = 0;
	for (size_t i = 0; i < v->nlists; i++)
		for (size_t j = 0; j < v->lists[i].n; j++) {
			const struct cview_obj *o = v->lists[i].v[j];
			if (!strcmp(o->claim.host, host) && (unsigned)o->claim.type < 2)
				count[o->claim.type]++;
		}
}

/* ---- changes ---- */

/* A record its reader refuses is absent; the log says which, at which revision, and why. */
static const struct ccache_kv *refused(struct cview *v, const char *key, const struct ccache_kv *kv,
				       const char *err)
{
	evlog_add(v->log, "etcd: %s (revision %lld): %s: treated as absent", key,
		  (long long)kv->mod_rev, err);
	return NULL;
}

/* a record is o's when its host owns the claim and it names the same object */
static void join(struct cview *v, struct cview_obj *o, bool say)
{
	struct vrec *r = rec_find(v, o->claim.host, o->nsid, o->id);
	o->rec = NULL;
	if (!r)
		return;
	if (strcmp(r->rec.name, o->name) || r->rec.type != o->claim.type) {
		if (say)
			evlog_add(v->log,
				  "etcd: %s's record of object %llu of namespace %llu is %s (%s), "
				  "its claim %s (%s): not listed",
				  o->claim.host, (unsigned long long)o->id,
				  (unsigned long long)o->nsid, r->rec.name, otype_name(r->rec.type),
				  o->name, otype_name(o->claim.type));
		return;
	}
	o->rec = &r->rec;
}

static void obj_drop(struct cview *v, struct cview_obj *o)
{
	vhash_del(&v->by_name, o, link_name, key_name);
	vhash_del(&v->by_id, o, link_id, key_id);
	struct vlist *l = list_of(v, o->nsid, false);
	if (l && o->pos_ < l->n && l->v[o->pos_] == o) {
		l->v[o->pos_] = l->v[--l->n];
		l->v[o->pos_]->pos_ = o->pos_;
		l->dirty = true;
	}
	free(o);
}

static void claim_changed(struct cview *v, const struct ckey *k, const char *key,
			  const struct ccache_kv *now)
{
	struct cview_obj *o = (struct cview_obj *)cview_obj_find(v, k->nsid, k->name);
	struct crec_claim c;
	char err[256];
	if (now && crec_claim_read(now->value, now->len, &c, err, sizeof(err)))
		now = refused(v, key, now, err);
	if (!now) {
		if (o)
			obj_drop(v, o);
		return;
	}
	const struct cview_obj *other = cview_obj_id(v, k->nsid, c.id);
	if (other && other != o) {
		evlog_add(v->log,
			  "etcd: %s (revision %lld): id %llu is claimed by %s already: treated as "
			  "absent",
			  key, (long long)now->mod_rev, (unsigned long long)c.id, other->name);
		if (o)
			obj_drop(v, o);
		return;
	}
	if (o && o->id != c.id) {
		vhash_del(&v->by_id, o, link_id, key_id);
		o->id = c.id;
		if (vhash_add(&v->by_id, o, link_id, key_id)) {
			obj_drop(v, o);
			return;
		}
	}
	if (!o) {
		struct vlist *l = list_of(v, k->nsid, true);
		if (!l || (l->n == l->cap && grow(&l->v, &l->cap, sizeof(*l->v))))
			goto oom;
		if (!(o = calloc(1, sizeof(*o))))
			goto oom;
		o->nsid = k->nsid;
		o->id = c.id;
		snprintf(o->name, sizeof(o->name), "%s", k->name);
		if (vhash_add(&v->by_name, o, link_name, key_name)) {
			free(o);
			goto oom;
		}
		if (vhash_add(&v->by_id, o, link_id, key_id)) {
			vhash_del(&v->by_name, o, link_name, key_name);
			free(o);
			goto oom;
		}
		o->pos_ = l->n;
		l->v[l->n++] = o;
		l->dirty = true;
	}
	o->claim = c;
	join(v, o, true);
	return;
oom:
	evlog_add(v->log, "etcd: %s: out of memory: not listed", key);
}

static void rec_changed(struct cview *v, const struct ckey *k, const char *key,
			const struct ccache_kv *now)
{
	struct vrec *r = rec_find(v, k->host, k->nsid, k->id);
	struct crec_obj o;
	char err[256];
	if (now && crec_obj_read(now->value, now->len, &o, err, sizeof(err)))
		now = refused(v, key, now, err);
	struct cview_obj *c = (struct cview_obj *)cview_obj_id(v, k->nsid, k->id);
	if (!now) {
		if (!r)
			return;
		if (c && c->rec == &r->rec)
			c->rec = NULL;
		vhash_del(&v->recs, r, link_rec, key_rec);
		crec_obj_free(&r->rec);
		free(r);
		return;
	}
	if (!r) {
		if (!(r = calloc(1, sizeof(*r)))) {
			crec_obj_free(&o);
			evlog_add(v->log, "etcd: %s: out of memory: not listed", key);
			return;
		}
		snprintf(r->host, sizeof(r->host), "%s", k->host);
		r->nsid = k->nsid;
		r->id = k->id;
		if (vhash_add(&v->recs, r, link_rec, key_rec)) {
			free(r);
			crec_obj_free(&o);
			evlog_add(v->log, "etcd: %s: out of memory: not listed", key);
			return;
		}
	} else {
		crec_obj_free(&r->rec);
	}
	r->rec = o;
	if (c && !strcmp(c->claim.host, k->host))
		join(v, c, true);
}

static void ns_drop(struct cview *v, size_t at)
{
	crec_ns_free(&v->ns[at]->rec);
	free(v->ns[at]);
	memmove(v->ns + at, v->ns + at + 1, (--v->nns - at) * sizeof(*v->ns));
}

static void ns_changed(struct cview *v, const struct ckey *k, const char *key,
		       const struct ccache_kv *now)
{
	bool found;
	size_t at = name_pos((void *const *)v->ns, v->nns, offsetof(struct cview_ns, name), k->ns, &found);
	struct crec_ns n;
	char err[256];
	if (now && crec_ns_read(now->value, now->len, &n, err, sizeof(err))) {
		if (found) { /* another host's bad write changes nothing: the last good one stays */
			evlog_add(v->log, "etcd: %s (revision %lld): %s: refused, the namespace's last readable record is kept",
				  key, (long long)now->mod_rev, err);
			return;
		}
		now = refused(v, key, now, err);
	}
	if (!now) {
		if (found)
			ns_drop(v, at);
		return;
	}
	const struct cview_ns *other = cview_ns_id(v, n.id);
	if (other && strcmp(other->name, k->ns)) {
		evlog_add(v->log,
			  "etcd: %s (revision %lld): id %llu is namespace %s's already: treated "
			  "as absent",
			  key, (long long)now->mod_rev, (unsigned long long)n.id, other->name);
		crec_ns_free(&n);
		if (found)
			ns_drop(v, at);
		return;
	}
	if (found) {
		crec_ns_free(&v->ns[at]->rec);
		v->ns[at]->rec = n;
		return;
	}
	struct cview_ns *e = calloc(1, sizeof(*e));
	struct cview_ns **a = e ? realloc(v->ns, (v->nns + 1) * sizeof(*a)) : NULL;
	if (!a) {
		free(e);
		crec_ns_free(&n);
		evlog_add(v->log, "etcd: %s: out of memory: not listed", key);
		return;
	}
	v->ns = a;
	memmove(a + at + 1, a + at, (v->nns - at) * sizeof(*a));
	snprintf(e->name, sizeof(e->name), "%s", k->ns);
	e->rec = n;
	a[at] = e;
	v->nns++;
}

static struct vhost *host_entry(struct cview *v, const char *name)
{
	struct vhost *h = host_find(v, name);
	if (h)
		return h;
	h = realloc(v->hosts, (v->nhosts + 1) * sizeof(*h));
	if (!h)
		return NULL;
	v->hosts = h;
	h = &v->hosts[v->nhosts++];
	*h = (struct vhost){0};
	snprintf(h->name, sizeof(h->name), "%s", name);
	return h;
}

/* alive and down: chosts logs a refused one; here it only counts as absent */
static void host_changed(struct cview *v, const struct ckey *k, const struct ccache_kv *now)
{
	struct vhost *h = host_entry(v, k->host);
	char err[256];
	if (!h)
		return;
	if (k->kind == CK_ALIVE) {
		struct crec_alive a;
		h->up = now && !crec_alive_read(now->value, now->len, &a, err, sizeof(err));
		return;
	}
	struct crec_down d;
	if (now && !crec_down_read(now->value, now->len, &d, err, sizeof(err))) {
		h->down_since = (time_t)d.since;
		/* written by a vmfs that found neither alive nor down: nobody saw it go */
		h->at_least = strstr(now->value, "\nunseen=yes\n") != NULL;
	} else {
		h->down_since = 0;
		h->at_least = false;
	}
}

static int row_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct crec_top_row *)a)->id, y = ((const struct crec_top_row *)b)->id;
	return x < y ? -1 : x > y;
}

static void top_changed(struct cview *v, const struct ckey *k, const char *key,
			const struct ccache_kv *now)
{
	struct vtop *t = top_find(v, k->host, k->nsid);
	struct crec_top top;
	char err[256];
	if (now && crec_top_read(now->value, now->len, &top, err, sizeof(err)))
		now = refused(v, key, now, err);
	if (!now) {
		if (t) {
			crec_top_free(&t->top);
			*t = v->tops[--v->ntops];
		}
		return;
	}
	if (top.n) /* (a table without rows has no array) */
		qsort(top.rows, top.n, sizeof(*top.rows), row_cmp);
	if (!t) {
		t = realloc(v->tops, (v->ntops + 1) * sizeof(*t));
		if (!t) {
			crec_top_free(&top);
			return;
		}
		v->tops = t;
		t = &v->tops[v->ntops++];
		snprintf(t->host, sizeof(t->host), "%s", k->host);
		t->nsid = k->nsid;
	} else {
		crec_top_free(&t->top);
	}
	t->top = top;
}

void cview_changed(void *ctx, const char *key, const struct ccache_kv *old,
		   const struct ccache_kv *now)
{
	struct cview *v = ctx;
	struct ckey k;
	(void)old;
	switch (ckey_parse(v->cluster, key, &k)) {
	case CK_NS:
		ns_changed(v, &k, key, now);
		break;
	case CK_CLAIM:
		claim_changed(v, &k, key, now);
		break;
	case CK_OBJ:
		rec_changed(v, &k, key, now);
		break;
	case CK_ALIVE:
	case CK_DOWN:
		host_changed(v, &k, now);
		break;
	case CK_TOP:
		top_changed(v, &k, key, now);
		break;
	default:
		break;
	}
}

/* ---- what the tree shows ---- */

void cview_state_of(struct cview *v, const struct cview_obj *o, struct cview_state *out)
{
	*out = (struct cview_state){0};
	if (o->rec) {
		out->state = o->rec->state;
		out->since = (time_t)o->rec->since;
	}
	if (!strcmp(o->claim.host, v->self))
		return;
	if (v->ch) {
		pthread_mutex_lock(&v->ch->lock);
		bool cut = v->ch->link == CL_CUT;
		time_t since = v->ch->link_since;
		pthread_mutex_unlock(&v->ch->lock);
		if (cut) { /* the cache stopped being true at the cut */
			out->unknown = true;
			out->since = since;
			snprintf(out->why, sizeof(out->why), "this host is cut from etcd");
			return;
		}
	}
	time_t down;
	bool at_least;
	if (!cview_host_up(v, o->claim.host, &down, &at_least)) {
		out->unknown = true;
		out->since = down;
		out->since_at_least = at_least;
		snprintf(out->why, sizeof(out->why), "%s is down", o->claim.host);
	}
}

void cview_state_text(struct cview *v, const struct cview_obj *o, struct sbuf *out)
{
	struct cview_state s;
	char ts[32];
	cview_state_of(v, o, &s);
	sb_puts(out, s.unknown ? "UNKNOWN" : ostate_name(s.state));
	if (s.since) {
		fmt_time(s.since, ts);
		sb_printf(out, " since %s%s", s.since_at_least ? "at least " : "", ts);
	}
	if (s.unknown)
		sb_printf(out, ": %s", s.why);
	sb_puts(out, "\n");
}
