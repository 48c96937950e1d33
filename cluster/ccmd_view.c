/* What a head's resolution is given (cluster/ccmd_int.h): the namespace's hosts from P/ns/NAME,
 * up or down from alive and down; other hosts' objects from their claims joined with their
 * owners' records; this host's from its model (fresher than what it published). A small
 * function over the cache until the cluster's view of namespaces (cluster/cview.h) replaces
 * it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/ccmd_int.h"
#include "cluster/chosts.h"
#include "runtime/model.h"

void ccmd_view_free(struct cview_in *in)
{
	free(in->hosts);
	free(in->hnames);
	free(in->objs);
	free(in->onames);
	free(in->local);
	memset(in, 0, sizeof(*in));
}

static size_t host_index(struct ccmd *c, struct cview_in *in, const char *name, size_t cap)
{
	for (size_t i = 0; i < in->nhosts; i++)
		if (!strcmp(in->hnames[i], name))
			return i;
	if (in->nhosts == cap)
		return SIZE_MAX;
	size_t i = in->nhosts++;
	snprintf(in->hnames[i], sizeof(*in->hnames), "%s", name);
	in->hosts[i] = (struct resolve_host){.name = in->hnames[i], .up = true};
	if (!strcmp(name, c->ch->self))
		return i;
	char key[CKEY_MAX + 1], why[256];
	if (ckey_alive(key, sizeof(key), c->ch->cluster, name) >= 0 &&
	    ccache_get(c->ch->cache, key))
		return i;
	in->hosts[i].up = false;
	const struct ccache_kv *d = ckey_down(key, sizeof(key), c->ch->cluster, name) >= 0
					? ccache_get(c->ch->cache, key)
					: NULL;
	struct crec_down down;
	if (d && !crec_down_read(d->value, d->len, &down, why, sizeof(why)))
		in->hosts[i].down_since = (time_t)down.since;
	in->hosts[i].since_at_least = d && strstr(d->value, "\nunseen=yes\n");
	return i;
}

struct walk {
	struct ccmd *c;
	struct cview_in *in;
	size_t cap, hcap;
	int err;
};

static int add_obj(struct walk *w, const char *name, uint64_t id, enum ostate st, size_t host,
		   struct object *local)
{
	struct cview_in *in = w->in;
	if (in->nobjs == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 64;
		struct resolve_obj *o = realloc(in->objs, nc * sizeof(*o));
		if (o)
			in->objs = o;
		char(*n)[NAME_MAX_LEN + 1] = o ? realloc(in->onames, nc * sizeof(*n)) : NULL;
		if (n)
			in->onames = n;
		struct object **l = n ? realloc(in->local, nc * sizeof(*l)) : NULL;
		if (!l)
			return w->err = -ENOMEM;
		in->local = l;
		w->cap = nc;
	}
	size_t i = in->nobjs++;
	snprintf(in->onames[i], sizeof(*in->onames), "%s", name);
	in->objs[i] = (struct resolve_obj){.id = id, .state = st, .host = host};
	in->local[i] = local;
	return 0;
}

static int other_claim(void *ctx, const struct ccache_kv *kv)
{
	struct walk *w = ctx;
	struct ccmd *c = w->c;
	struct ckey k;
	struct crec_claim cl;
	struct crec_obj o;
	char key[CKEY_MAX + 1], why[256];
	if (ckey_parse(c->ch->cluster, kv->key, &k) != CK_CLAIM ||
	    crec_claim_read(kv->value, kv->len, &cl, why, sizeof(why)) ||
	    !strcmp(cl.host, c->ch->self))
		return 0;
	const struct ccache_kv *r = ckey_obj(key, sizeof(key), c->ch->cluster, cl.host, k.nsid,
					     cl.id) >= 0
					? ccache_get(c->ch->cache, key)
					: NULL;
	if (!r || crec_obj_read(r->value, r->len, &o, why, sizeof(why)))
		return 0; /* a claim without its owner's record is not listed */
	enum ostate st = o.state;
	bool same = !strcmp(o.name, k.name);
	crec_obj_free(&o);
	if (!same)
		return 0;
	size_t h = host_index(c, w->in, cl.host, w->hcap);
	if (h == SIZE_MAX)
		return 0;
	return add_obj(w, k.name, cl.id, st, h, NULL) ? 1 : 0;
}

/* This host's object's cluster id: its claim's, else one no typed id reaches (not yet
 * published: it is still found by name). */
static uint64_t local_id(struct ccmd *c, uint64_t nsid, const char *name, size_t i)
{
	char key[CKEY_MAX + 1], why[256];
	struct crec_claim cl;
	const struct ccache_kv *kv =
	    nsid && ckey_claim(key, sizeof(key), c->ch->cluster, nsid, name) >= 0
		? ccache_get(c->ch->cache, key)
		: NULL;
	if (kv && !crec_claim_read(kv->value, kv->len, &cl, why, sizeof(why)) &&
	    !strcmp(cl.host, c->ch->self))
		return cl.id;
	return (uint64_t)OBJ_ID_MAX + 1 + i;
}

int ccmd_view(struct ccmd *c, struct ns *ns, struct cview_in *in, char *err, size_t errlen)
{
	memset(in, 0, sizeof(*in));
	char key[CKEY_MAX + 1], why[256];
	struct crec_ns rec = {0};
	const struct ccache_kv *kv = ckey_ns(key, sizeof(key), c->ch->cluster, ns->name) >= 0
					 ? ccache_get(c->ch->cache, key)
					 : NULL;
	bool have = kv && !crec_ns_read(kv->value, kv->len, &rec, why, sizeof(why));
	struct walk w = {.c = c, .in = in, .hcap = (have ? rec.nhosts : 0) + 64};
	in->hosts = calloc(w.hcap, sizeof(*in->hosts));
	in->hnames = calloc(w.hcap, sizeof(*in->hnames));
	if (!in->hosts || !in->hnames) {
		crec_ns_free(&rec);
		ccmd_view_free(in);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	in->nsid = have ? rec.id : 0;
	for (size_t i = 0; have && i < rec.nhosts; i++)
		host_index(c, in, rec.hosts[i], w.hcap);
	crec_ns_free(&rec);
	in->self = host_index(c, in, c->ch->self, w.hcap);
	size_t k = 0;
	for (int t = 0; t < 2 && !w.err; t++)
		for (size_t i = 0; i < ns->objs[t].n && !w.err; i++, k++) {
			struct object *o = ns->objs[t].v[i];
			add_obj(&w, o->name, local_id(c, in->nsid, o->name, k), o->state, in->self, o);
		}
	if (in->nsid && !w.err &&
	    ckey_claims_prefix(key, sizeof(key), c->ch->cluster, in->nsid) >= 0)
		ccache_each(c->ch->cache, key, other_claim, &w);
	if (w.err) {
		ccmd_view_free(in);
		snprintf(err, errlen, "out of memory");
		return w.err;
	}
	for (size_t i = 0; i < in->nobjs; i++)
		in->objs[i].name = in->onames[i];
	return 0;
}
