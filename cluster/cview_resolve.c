/* resolve()'s arrays from the view (cluster/cview.h): a namespace's hosts and objects. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cview.h"

#define BUSY_LEN (NAME_MAX_LEN + 16)

struct rs_ctx {
	struct cview *v;
	struct cview_resolve *r;
};

/* name's index among the hosts, added if new (the arrays are sized for every object's) */
static size_t rs_host(struct rs_ctx *c, const char *name)
{
	struct cview_resolve *r = c->r;
	for (size_t i = 0; i < r->nhosts; i++)
		if (!strcmp(r->hosts[i].name, name))
			return i;
	time_t since = 0;
	bool at_least = false;
	bool up = !strcmp(name, cview_self(c->v)) || cview_host_up(c->v, name, &since, &at_least);
	r->hosts[r->nhosts] = (struct resolve_host){name, up, since, at_least};
	return r->nhosts++;
}

static int rs_obj(void *ctx, const struct cview_obj *o, size_t idx)
{
	struct rs_ctx *c = ctx;
	struct cview_resolve *r = c->r;
	(void)idx;
	size_t h = rs_host(c, o->claim.host);
	const char *busy = NULL;
	if (*o->claim.moving) {
		char *b = r->busy_ + r->nobjs * BUSY_LEN;
		snprintf(b, BUSY_LEN, "moving to %s", o->claim.moving);
		busy = b;
	}
	r->objs[r->nobjs++] = (struct resolve_obj){o->name, o->id, o->rec->state, h, busy};
	return 0;
}

int cview_resolve_set(struct cview *v, uint64_t nsid, struct cview_resolve *out)
{
	*out = (struct cview_resolve){0};
	const struct cview_ns *ns = cview_ns_id(v, nsid);
	size_t n = cview_obj_count(v, nsid), nh = ns ? ns->rec.nhosts : 0;
	out->busy_ = calloc(n + 1, BUSY_LEN);
	out->objs = calloc(n + 1, sizeof(*out->objs));
	out->hosts = calloc(nh + n + 1, sizeof(*out->hosts));
	if (!out->busy_ || !out->objs || !out->hosts) {
		cview_resolve_free(out);
		return -ENOMEM;
	}
	struct rs_ctx c = {v, out};
	for (size_t i = 0; i < nh; i++)
		rs_host(&c, ns->rec.hosts[i]);
	cview_objs(v, nsid, -1, NULL, 0, rs_obj, &c);
	return 0;
}

void cview_resolve_free(struct cview_resolve *r)
{
	free(r->hosts);
	free(r->objs);
	free(r->busy_);
	*r = (struct cview_resolve){0};
}
