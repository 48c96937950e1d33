/* Remote objects: what the members' tables list, given ids the tree can put in inodes. */
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"
#include "cluster/merge.h"

/* the type column of a member's info, as otype_name writes it */
static const char *type_word(int type)
{
	return otype_name(type);
}

struct find_ctx {
	const struct ns *ns;
	int type;
	const char *name;
	struct member *found;
};

static int has_it(void *ctx, struct member *mb)
{
	struct find_ctx *c = ctx;
	const struct mtab *t = member_tab(mb, c->ns->name);
	if (t && table_has(t->info.p, t->info.len, c->name, type_word(c->type))) {
		c->found = mb;
		return 1;
	}
	return 0;
}

struct robj *cluster_robj_find(struct cluster *cl, const struct ns *ns, int type, const char *name)
{
	struct find_ctx c = {ns, type, name, NULL};
	if (!cluster_spanned(cl, ns, has_it, &c))
		return NULL;
	for (size_t i = 0; i < cl->nrobjs; i++) {
		struct robj *r = cl->robjs[i];
		if (r->mb == c.found && r->type == type && !strcmp(r->name, name) &&
		    !strcmp(r->ns, ns->name))
			return r;
	}
	struct robj *r = calloc(1, sizeof(*r));
	struct robj **v = r ? realloc(cl->robjs, (cl->nrobjs + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(r);
		return NULL;
	}
	cl->robjs = v;
	r->id = (uint32_t)cl->nrobjs + 1;
	r->mb = c.found;
	r->mb->refs++;
	r->type = type;
	snprintf(r->ns, sizeof(r->ns), "%s", ns->name);
	snprintf(r->name, sizeof(r->name), "%s", name);
	cl->robjs[cl->nrobjs++] = r;
	return r;
}

struct robj *cluster_robj(const struct cluster *cl, uint32_t id)
{
	return id >= 1 && id <= cl->nrobjs ? cl->robjs[id - 1] : NULL;
}

struct names_ctx {
	const struct ns *ns;
	int type;
	int (*fn)(void *ctx, const char *name);
	void *ctx;
};

static int names_of(void *ctx, struct member *mb)
{
	struct names_ctx *c = ctx;
	const struct mtab *t = member_tab(mb, c->ns->name);
	return t ? table_names(t->info.p, t->info.len, type_word(c->type), c->fn, c->ctx) : 0;
}

int cluster_robj_names(const struct cluster *cl, const struct ns *ns, int type,
		       int (*fn)(void *ctx, const char *name), void *ctx)
{
	struct names_ctx c = {ns, type, fn, ctx};
	return cluster_spanned(cl, ns, names_of, &c);
}
