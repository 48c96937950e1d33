/* What a head's resolution is given (cluster/ccmd_int.h): the cluster's view of the namespace
 * (cluster/cview.h: its hosts, up or down, and every other host's objects, claims joined with
 * their owners' records, UNKNOWN where their host is down), with this host's own objects taken
 * from its model instead (fresher than what it published). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/ccmd_int.h"
#include "cluster/chosts.h"
#include "cluster/cmove_int.h"
#include "cluster/cview.h"
#include "runtime/model.h"
#include "vmfs/node.h"

void ccmd_view_free(struct cview_in *in)
{
	free(in->hosts);
	free(in->hnames);
	free(in->objs);
	free(in->onames);
	free(in->local);
	free(in->busy);
	cview_resolve_free(&in->rs);
	memset(in, 0, sizeof(*in));
}

/* This host's object's cluster id: its claim's, else one no typed id reaches (not yet
 * published: it is still found by name). */
static uint64_t local_id(struct cview *cv, uint64_t nsid, const char *self, const char *name,
			 size_t i)
{
	const struct cview_obj *o = nsid ? cview_obj_find(cv, nsid, name) : NULL;
	return o && !strcmp(o->claim.host, self) ? o->id : (uint64_t)OBJ_ID_MAX + 1 + i;
}

int ccmd_view(struct ccmd *c, struct ns *ns, struct cview_in *in, char *err, size_t errlen)
{
	memset(in, 0, sizeof(*in));
	struct cview *cv = c->v->cview;
	const struct cview_ns *cns = cv ? cview_ns_find(cv, ns->name) : NULL;
	struct cview_resolve *r = &in->rs;
	in->nsid = cns ? cns->rec.id : 0;
	if (in->nsid && cview_resolve_set(cv, in->nsid, r))
		goto oom;
	size_t nlocal = ns->objs[0].n + ns->objs[1].n, hcap = r->nhosts + 1,
	       ocap = r->nobjs + nlocal;
	in->hosts = calloc(hcap, sizeof(*in->hosts));
	in->hnames = calloc(hcap, sizeof(*in->hnames));
	in->objs = calloc(ocap ? ocap : 1, sizeof(*in->objs));
	in->onames = calloc(ocap ? ocap : 1, sizeof(*in->onames));
	in->local = calloc(ocap ? ocap : 1, sizeof(*in->local));
	in->busy = calloc(ocap ? ocap : 1, sizeof(*in->busy));
	if (!in->hosts || !in->hnames || !in->objs || !in->onames || !in->local || !in->busy)
		goto oom;
	in->self = SIZE_MAX;
	for (size_t i = 0; i < r->nhosts; i++) {
		snprintf(in->hnames[i], sizeof(*in->hnames), "%s", r->hosts[i].name);
		in->hosts[i] = r->hosts[i];
		in->hosts[i].name = in->hnames[i];
		if (!strcmp(in->hnames[i], c->ch->self)) {
			in->self = i;
			in->hosts[i].up = true; /* this host's part is applied here */
		}
	}
	in->nhosts = r->nhosts;
	if (in->self == SIZE_MAX) {
		in->self = in->nhosts++;
		snprintf(in->hnames[in->self], sizeof(*in->hnames), "%s", c->ch->self);
		in->hosts[in->self] =
		    (struct resolve_host){.name = in->hnames[in->self], .up = true};
	}
	for (size_t i = 0; i < r->nobjs; i++) {
		if (r->objs[i].host >= r->nhosts || r->objs[i].host == in->self)
			continue; /* this host's: from its model, below */
		size_t k = in->nobjs++;
		in->objs[k] = r->objs[i];
		snprintf(in->onames[k], sizeof(*in->onames), "%s", r->objs[i].name);
	}
	size_t n = 0;
	for (int t = 0; t < 2; t++)
		for (size_t i = 0; i < ns->objs[t].n; i++, n++) {
			struct object *o = ns->objs[t].v[i];
			size_t k = in->nobjs++;
			snprintf(in->onames[k], sizeof(*in->onames), "%s", o->name);
			in->objs[k] = (struct resolve_obj){
			    .id = local_id(cv, in->nsid, c->ch->self, o->name, n),
			    .state = o->state,
			    .host = in->self};
			in->local[k] = o;
			if (cmove_busy(c->v, o, in->busy[k], sizeof(*in->busy)))
				in->objs[k].busy = in->busy[k];
		}
	for (size_t i = 0; i < in->nobjs; i++)
		in->objs[i].name = in->onames[i];
	return 0;
oom:
	ccmd_view_free(in);
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}
