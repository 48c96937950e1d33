#include "cluster/ccache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cnode {
	struct cnode *l, *r;
	uint32_t prio; /* a heap on these keeps the tree balanced whatever the keys' order */
	struct ccache_kv kv;
	char *key, *value;
};

struct ccache {
	struct cnode *root;
	size_t n;
	int64_t rev;
	uint32_t seed;
};

static uint32_t next_prio(struct ccache *c)
{
	uint32_t x = c->seed; /* xorshift: balance needs spread, not secrecy */
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return c->seed = x;
}

struct ccache *ccache_new(void)
{
	struct ccache *c = calloc(1, sizeof(*c));
	if (c)
		c->seed = 2463534242u;
	return c;
}

static void node_free(struct cnode *t)
{
	if (!t)
		return;
	free(t->key);
	free(t->value);
	free(t);
}

static void tree_free(struct cnode *t)
{
	while (t) { /* the left spine by recursion is bounded by the tree's depth */
		tree_free(t->l);
		struct cnode *r = t->r;
		node_free(t);
		t = r;
	}
}

void ccache_free(struct ccache *c)
{
	if (!c)
		return;
	tree_free(c->root);
	free(c);
}

int64_t ccache_revision(const struct ccache *c) { return c->rev; }
size_t ccache_count(const struct ccache *c) { return c->n; }

static struct cnode *find(struct cnode *t, const char *key)
{
	while (t) {
		int d = strcmp(key, t->key);
		if (!d)
			return t;
		t = d < 0 ? t->l : t->r;
	}
	return NULL;
}

const struct ccache_kv *ccache_get(const struct ccache *c, const char *key)
{
	struct cnode *t = find(c->root, key);
	return t ? &t->kv : NULL;
}

/* Splits t into keys < key (*lo) and keys >= key (*hi). */
static void split(struct cnode *t, const char *key, struct cnode **lo, struct cnode **hi)
{
	if (!t) {
		*lo = *hi = NULL;
	} else if (strcmp(t->key, key) < 0) {
		split(t->r, key, &t->r, hi);
		*lo = t;
	} else {
		split(t->l, key, lo, &t->l);
		*hi = t;
	}
}

/* every key of a below every key of b */
static struct cnode *join(struct cnode *a, struct cnode *b)
{
	if (!a || !b)
		return a ? a : b;
	if (a->prio > b->prio) {
		a->r = join(a->r, b);
		return a;
	}
	b->l = join(a, b->l);
	return b;
}

static struct cnode *insert(struct cnode *t, struct cnode *n)
{
	if (!t)
		return n;
	if (n->prio > t->prio) {
		split(t, n->key, &n->l, &n->r);
		return n;
	}
	if (strcmp(n->key, t->key) < 0)
		t->l = insert(t->l, n);
	else
		t->r = insert(t->r, n);
	return t;
}

/* removes key's node from t (it is there) and gives it in *out */
static struct cnode *unlink_key(struct cnode *t, const char *key, struct cnode **out)
{
	int d = strcmp(key, t->key);
	if (!d) {
		*out = t;
		return join(t->l, t->r);
	}
	if (d < 0)
		t->l = unlink_key(t->l, key, out);
	else
		t->r = unlink_key(t->r, key, out);
	return t;
}

/* A node holding its own copy of kv (its strings), or NULL. */
static struct cnode *node_new(struct ccache *c, const struct ccache_kv *kv)
{
	struct cnode *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->key = strdup(kv->key);
	n->value = malloc(kv->len + 1);
	if (!n->key || !n->value) {
		node_free(n);
		return NULL;
	}
	if (kv->len)
		memcpy(n->value, kv->value, kv->len);
	n->value[kv->len] = 0;
	n->kv = *kv;
	n->kv.key = n->key;
	n->kv.value = n->value;
	n->prio = next_prio(c);
	return n;
}

static bool same(const struct ccache_kv *a, const struct ccache_kv *b)
{
	return a->len == b->len && !memcmp(a->value, b->value, a->len) &&
	       a->create_rev == b->create_rev && a->mod_rev == b->mod_rev &&
	       a->version == b->version && a->lease == b->lease;
}

/* Sets key (a PUT): the node is replaced, so the old one can be shown to fn, then freed. */
static int put(struct ccache *c, const struct ccache_kv *kv, ccache_change_fn fn, void *ctx)
{
	struct cnode *n = node_new(c, kv), *old = NULL;
	if (!n)
		return -ENOMEM;
	if (find(c->root, kv->key))
		c->root = unlink_key(c->root, kv->key, &old);
	else
		c->n++;
	c->root = insert(c->root, n);
	if (fn)
		fn(ctx, n->key, old ? &old->kv : NULL, &n->kv);
	node_free(old);
	return 0;
}

static void del(struct ccache *c, const char *key, ccache_change_fn fn, void *ctx)
{
	struct cnode *old = NULL;
	if (!find(c->root, key))
		return;
	c->root = unlink_key(c->root, key, &old);
	c->n--;
	if (fn)
		fn(ctx, old->key, &old->kv, NULL);
	node_free(old);
}

int ccache_apply(struct ccache *c, const struct ccache_event *ev, size_t n, ccache_change_fn fn,
		 void *ctx)
{
	int64_t from = c->rev;
	for (size_t i = 0; i < n; i++) {
		const struct ccache_event *e = &ev[i];
		if (e->kv.mod_rev <= from)
			continue;
		if (e->del)
			del(c, e->kv.key, fn, ctx);
		else if (put(c, &e->kv, fn, ctx))
			return -ENOMEM;
		if (e->kv.mod_rev > c->rev)
			c->rev = e->kv.mod_rev;
	}
	return 0;
}

void ccache_advance(struct ccache *c, int64_t rev)
{
	if (rev > c->rev)
		c->rev = rev;
}

struct each {
	const char *prefix;
	size_t plen;
	int (*fn)(void *ctx, const struct ccache_kv *kv);
	void *ctx;
};

/* In order, only the subtrees that can hold the prefix: its keys are one run of the order. */
static int walk(const struct cnode *t, const struct each *w)
{
	while (t) {
		int d = strncmp(t->key, w->prefix, w->plen);
		if (d < 0) {
			t = t->r;
			continue;
		}
		if (d > 0) {
			t = t->l;
			continue;
		}
		int r = walk(t->l, w);
		if (r || (r = w->fn(w->ctx, &t->kv)))
			return r;
		t = t->r;
	}
	return 0;
}

int ccache_each(const struct ccache *c, const char *prefix,
		int (*fn)(void *ctx, const struct ccache_kv *kv), void *ctx)
{
	const struct each w = {prefix, strlen(prefix), fn, ctx};
	return walk(c->root, &w);
}

/* What differs between two caches, told as the changes from one to the other. */
struct diff {
	const struct ccache *other;
	ccache_change_fn fn;
	void *ctx;
};

static int tell_gone(void *ctx, const struct ccache_kv *kv)
{
	struct diff *g = ctx;
	if (!ccache_get(g->other, kv->key))
		g->fn(g->ctx, kv->key, kv, NULL);
	return 0;
}

static int tell_new(void *ctx, const struct ccache_kv *kv)
{
	struct diff *g = ctx;
	const struct ccache_kv *was = ccache_get(g->other, kv->key);
	if (!was || !same(was, kv))
		g->fn(g->ctx, kv->key, was, kv);
	return 0;
}

int ccache_load(struct ccache *c, const struct ccache_kv *kv, size_t n, int64_t rev,
		ccache_change_fn fn, void *ctx)
{
	struct ccache fresh = {.seed = c->seed};
	for (size_t i = 0; i < n; i++)
		if (put(&fresh, &kv[i], NULL, NULL)) {
			tree_free(fresh.root);
			return -ENOMEM;
		}
	if (fn) {
		struct diff gone = {&fresh, fn, ctx}, new = {c, fn, ctx};
		ccache_each(c, "", tell_gone, &gone);
		ccache_each(&fresh, "", tell_new, &new);
	}
	tree_free(c->root);
	c->root = fresh.root;
	c->n = fresh.n;
	c->seed = fresh.seed;
	c->rev = rev;
	return 0;
}
