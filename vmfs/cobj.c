/* With etcd, another host's VM or container (docs/cluster-design.md, "The tree on every
 * host"): its directory, state, info, top and config/ from its owner's record in the cluster's
 * view (cluster/cview.h), readable while its host is down. Its verbs are commands to its owner
 * (cluster/ccmd.h), and so are writes to its config (vmfs/cobj_config.c). Its console,
 * logs and screens are served by its owner's 9P door (vmfs/remote.c). Its node carries the
 * cluster's ids (vnode.cid), which are its inode numbers on every host. */
#include <string.h>

#include "cluster/ccmd.h"
#include "cluster/chosts.h"
#include "cluster/cview.h"
#include "vmfs/kinds.h"
#include "vmfs/vreq.h"

static uint64_t cid_of(uint64_t nsid, uint64_t id) { return nsid << OBJ_ID_BITS | id; }

const struct cview_obj *cobj_of(struct vmfs *v, const struct vnode *n)
{
	if (!v->cview || !n->cid)
		return NULL;
	const struct cview_obj *o =
	    cview_obj_id(v->cview, n->cid >> OBJ_ID_BITS, n->cid & OBJ_ID_MAX);
	return o && o->rec ? o : NULL;
}

uint64_t cobj_nsid(struct vmfs *v, const struct vnode *n)
{
	if (!n->ns) /* a namespace this host does not have */
		return n->cid >> OBJ_ID_BITS;
	const struct cview_ns *c = v->cview ? cview_ns_find(v->cview, n->ns->name) : NULL;
	return c ? c->rec.id : 0;
}

int cobj_lookup(struct vmfs *v, const struct vnode *dir, int type, const char *name,
		struct vnode *out)
{
	uint64_t nsid = cobj_nsid(v, dir);
	const struct cview_obj *o = nsid ? cview_obj_find(v->cview, nsid, name) : NULL;
	if (!o || !o->rec || (int)o->claim.type != type || !strcmp(o->claim.host, v->hostname))
		return -ENOENT;
	out->e = vtab_find(VK_COBJ);
	out->cid = cid_of(nsid, o->id);
	return 0;
}

struct names_ctx {
	int (*fn)(void *ctx, const char *name, size_t idx);
	void *ctx;
	size_t base;
};

static int name_of(void *ctx, const struct cview_obj *o, size_t idx)
{
	struct names_ctx *c = ctx;
	return c->fn(c->ctx, o->name, c->base + idx);
}

int cobj_names(struct vmfs *v, const struct vnode *dir, int type, size_t base, size_t from,
	       int (*fn)(void *ctx, const char *name, size_t idx), void *ctx)
{
	uint64_t nsid = cobj_nsid(v, dir);
	if (!nsid)
		return 0;
	struct names_ctx c = {fn, ctx, base};
	return cview_objs(v->cview, nsid, type, v->hostname, from > base ? from - base : 0, name_of,
			  &c);
}

enum otype cobj_type(struct vmfs *v, const struct vnode *n)
{
	const struct cview_obj *o = cobj_of(v, n);
	return o ? o->claim.type : OT_VM;
}

static const char *cfg_or_dash(const struct crec_obj *r, const char *name)
{
	int i = param_index(name);
	const char *s = i < 0 ? "" : r->cfg[i] ? r->cfg[i] : params[i].def;
	return *s ? s : "-";
}

/* One NIC field of the record, comma-separated; "-" for none. */
static void nic_field(const struct crec_obj *r, int field, struct sbuf *out)
{
	if (!r->nnic)
		sb_puts(out, "-");
	for (size_t i = 0; i < r->nnic; i++) {
		const struct crec_nic *c = &r->nic[i];
		const char *s = field == 0   ? c->vlan
				: field == 1 ? c->tap
				: field == 2 ? c->mac
					     : c->ip;
		sb_printf(out, "%s%s", i ? "," : "", *s ? s : "-");
	}
}

static bool runs(const struct cview_state *s)
{
	return !s->unknown && (s->state == ST_RUNNING || s->state == ST_PAUSED);
}

static void since_field(const struct cview_state *s, struct sbuf *out)
{
	char ts[32];
	if (!s->since) {
		sb_puts(out, "-");
		return;
	}
	fmt_time(s->since, ts);
	sb_puts(out, ts);
}

void cobj_info_row(struct vmfs *v, const struct cview_obj *o, struct sbuf *out)
{
	const struct crec_obj *r = o->rec;
	struct cview_state s;
	char up[32] = "-", pid[24] = "-";
	cview_state_of(v->cview, o, &s);
	if (runs(&s) && r->started) {
		fmt_duration(time(NULL) - (time_t)r->started, up);
		if (r->pid)
			snprintf(pid, sizeof(pid), "%llu", (unsigned long long)r->pid);
	}
	sb_printf(out, "%llu\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t", (unsigned long long)o->id, o->name,
		  otype_name(o->claim.type), s.unknown ? "UNKNOWN" : ostate_name(s.state),
		  o->claim.host, up, cfg_or_dash(r, "vcpus"), cfg_or_dash(r, "memory"));
	for (int f = 0; f < 4; f++) {
		nic_field(r, f, out);
		sb_puts(out, "\t");
	}
	sb_printf(out, "%s\t%s\t%s\t%s\t", pid,
		  cfg_or_dash(r, o->claim.type == OT_VM ? "disk" : "filesystem"),
		  cfg_or_dash(r, "snapshot"), cfg_or_dash(r, "tags"));
	since_field(&s, out);
	sb_puts(out, "\n");
}

void cobj_top_row(struct vmfs *v, const struct cview_obj *o, struct sbuf *out)
{
	struct cview_state s;
	cview_state_of(v->cview, o, &s);
	sb_printf(out, "%s\t%s\t%s\t%s", o->name, otype_name(o->claim.type),
		  s.unknown ? "UNKNOWN" : ostate_name(s.state), o->claim.host);
	const char *f = runs(&s) ? cview_top(v->cview, o->claim.host, o->nsid, o->id) : NULL;
	int nf = 0;
	for (const char *p = f; p && *p; nf++) { /* the figures, printed words: one per column */
		size_t w = strcspn(p, " ");
		sb_printf(out, "\t%.*s", (int)w, p);
		p += w + (p[w] == ' ');
	}
	for (; nf < 7; nf++)
		sb_puts(out, "\t-");
	sb_puts(out, "\n");
}

int gen_cobj_state(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	const struct cview_obj *o = cobj_of(v, n);
	if (!o)
		return -ENOENT;
	cview_state_text(v->cview, o, out);
	return 0;
}

int gen_cobj_info(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	const struct cview_obj *o = cobj_of(v, n);
	if (!o)
		return -ENOENT;
	const struct crec_obj *r = o->rec;
	const struct cview_ns *ns = cview_ns_id(v->cview, o->nsid);
	char created[32];
	fmt_time((time_t)o->claim.ctime, created);
	sb_printf(out, "id %llu\nname %s\nnamespace %s\ntype %s\nstate ", (unsigned long long)o->id,
		  o->name, ns ? ns->name : "-", otype_name(o->claim.type));
	cview_state_text(v->cview, o, out);
	sb_printf(out, "host %s\n", o->claim.host);
	struct cview_state s;
	cview_state_of(v->cview, o, &s);
	char up[32] = "-";
	if (runs(&s) && r->started)
		fmt_duration(time(NULL) - (time_t)r->started, up);
	sb_printf(out, "uptime %s\n", up);
	if (r->pid && runs(&s))
		sb_printf(out, "pid %llu\n", (unsigned long long)r->pid);
	else
		sb_puts(out, "pid -\n");
	sb_printf(out, "vcpus %s\nmemory %s\n", cfg_or_dash(r, "vcpus"), cfg_or_dash(r, "memory"));
	static const char *const keys[] = {"vlan", "tap", "mac", "ip"};
	for (int f = 0; f < 4; f++) {
		sb_printf(out, "%s ", keys[f]);
		nic_field(r, f, out);
		sb_puts(out, "\n");
	}
	sb_printf(out, "created %s\n", created);
	if (r->error)
		sb_printf(out, "error %s\n", r->error);
	return 0;
}

int gen_cobj_top(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	static const char *const keys[] = {"cpu%", "rss",	"procs",    "rx/s",
					   "tx/s", "disk_rd/s", "disk_wr/s"};
	const struct cview_obj *o = cobj_of(v, n);
	if (!o)
		return -ENOENT;
	struct cview_state s;
	cview_state_of(v->cview, o, &s);
	const char *p = runs(&s) ? cview_top(v->cview, o->claim.host, o->nsid, o->id) : NULL;
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		size_t w = p ? strcspn(p, " ") : 0;
		sb_printf(out, "%s %.*s\n", keys[k], w ? (int)w : 1, w ? p : "-");
		if (p)
			p = p[w] ? p + w + 1 : NULL;
	}
	return 0;
}

int gen_cobj_param(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	const struct cview_obj *o = cobj_of(v, n);
	if (!o || n->sub < 0 || (size_t)n->sub >= nparams)
		return -ENOENT;
	const char *s = o->rec->cfg[n->sub];
	sb_printf(out, "%s\n", s ? s : params[n->sub].def);
	return 0;
}

/* Why another host's object takes no change from here yet. */
int cobj_refuse(struct vmfs *v, const struct vnode *n, const char *what, char *err, size_t errlen)
{
	const struct cview_obj *o = cobj_of(v, n);
	if (!o) {
		snprintf(err, errlen, "%s: the object is gone", what);
		return -ENOENT;
	}
	struct cview_state s;
	cview_state_of(v->cview, o, &s);
	if (s.unknown) {
		char ts[32];
		fmt_time(s.since, ts);
		snprintf(err, errlen, "%s: %s is on %s, unknown since %s: %s", what, o->name,
			 o->claim.host, ts, s.why);
		return -EHOSTDOWN;
	}
	snprintf(err, errlen,
		 "%s: %s is on %s: changes to another host's objects are not made from here yet "
		 "(make them on %s)",
		 what, o->name, o->claim.host, o->claim.host);
	return -EOPNOTSUPP;
}

/* A verb to another host's object is a command to that one host (cluster/ccmd.h), answered
 * with its member's errno; the rest is refused with words. */
int ctl_cobj(struct vmfs *v, struct vreq *q, char *line, struct sbuf *reply, char *err,
	     size_t errlen)
{
	char what[64];
	snprintf(what, sizeof(what), "%.40s", line);
	what[strcspn(what, " \t")] = 0;
	const struct cview_obj *o = cobj_of(v, &q->h->n);
	struct cview_state s;
	if (o)
		cview_state_of(v->cview, o, &s);
	char *argv[2];
	int argc = o && !s.unknown ? ctl_split(line, argv, 2, err, errlen) : 0;
	if (argc < 0)
		return argc;
	int verb = argc == 1 ? verb_parse(argv[0]) : -1;
	if (verb >= 0 && q->h->n.ns && ccmd_ready(v->ccmd))
		return ccmd_obj_act(v->ccmd, q->h->n.ns, o->id, verb, &q->wait, reply, err,
				    errlen);
	return cobj_refuse(v, &q->h->n, what, err, errlen);
}

int cobj_config_lookup(struct vmfs *v, const struct vnode *dir, const char *name, struct vnode *out)
{
	out->sub = param_index(name);
	out->e = vtab_find(VK_COBJ_PARAM);
	return out->sub >= 0 && (params[out->sub].applies & otype_mask(cobj_type(v, dir)))
		   ? 0
		   : -ENOENT;
}

int cobj_config_names(struct vmfs *v, const struct vnode *dir, size_t from,
		      int (*fn)(void *ctx, const char *name, size_t idx), void *ctx)
{
	unsigned mask = otype_mask(cobj_type(v, dir));
	for (size_t i = from; i < nparams; i++)
		if ((params[i].applies & mask) && fn(ctx, params[i].name, i))
			return 1;
	return 0;
}
