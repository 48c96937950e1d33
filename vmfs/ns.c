/* A namespace directory: ctl (launch and act on many), info and top tables, hosts, the
 * template config/, and vlans/ (range and the aliases). */
#include <fnmatch.h>
#include <string.h>

#include "cluster/ccmd.h"
#include "cluster/cnshosts.h"
#include "cluster/cmove.h"
#include "cluster/cview.h"
#include "runtime/lifecycle.h"
#include "runtime/net.h"
#include "runtime/vlan.h"
#include "vmfs/claunch.h"
#include "vmfs/kinds.h"
#include "vmfs/slice.h"
#include "vmfs/vreq.h"

static const char info_header[] = "id\tname\ttype\tstate\thost\tuptime\tvcpus\tmemory\tvlan\ttap\t"
				  "mac\tip\tpid\tdisk\tsnapshot\ttags\n";
static const char top_header[] = "name\ttype\tstate\thost\tcpu%\trss\tprocs\trx/s\ttx/s\t"
				 "disk_rd/s\tdisk_wr/s\n";

/* With etcd: this host's row as its model has it, under the object's cluster id ("-" until
 * it is claimed), with since from the record it published (while that says the same state). */
static void own_row(struct vmfs *v, uint64_t nsid, const struct object *o, struct sbuf *out)
{
	struct sbuf row = {0};
	obj_info_row(v, o, &row);
	const char *tab = row.p ? memchr(row.p, '\t', row.len) : NULL;
	const struct cview_obj *c = nsid ? cview_obj_find(v->cview, nsid, o->name) : NULL;
	if (c && strcmp(c->claim.host, v->hostname))
		c = NULL; /* its name is another host's: not listed in the cluster */
	if (tab) {
		if (c)
			sb_printf(out, "%llu", (unsigned long long)c->id);
		else
			sb_puts(out, "-");
		sb_add(out, tab, row.len - (size_t)(tab - row.p) - 1);
		char ts[32] = "-";
		if (c && c->rec && c->rec->state == o->state && c->rec->since)
			fmt_time((time_t)c->rec->since, ts);
		sb_printf(out, "\t%s\n", ts);
	}
	sb_free(&row);
}

struct rows_ctx {
	struct vmfs *v;
	struct sbuf *out;
	bool top;
};

static int other_row(void *ctx, const struct cview_obj *o, size_t idx)
{
	struct rows_ctx *c = ctx;
	(void)idx;
	if (c->top)
		cobj_top_row(c->v, o, c->out);
	else
		cobj_info_row(c->v, o, c->out);
	return 0;
}

/* info and top with etcd: this host's rows from its model, every other host's from the view
 * (n: the namespace's node; one this host does not have has only others' rows) */
static void cluster_table(struct vmfs *v, const struct vnode *n, bool top, struct sbuf *out)
{
	uint64_t nsid = cobj_nsid(v, n);
	if (top)
		sb_puts(out, top_header);
	else
		sb_printf(out, "%.*s\tsince\n", (int)sizeof(info_header) - 2, info_header);
	for (int t = 0; n->ns && t < 2; t++)
		for (size_t i = 0; i < n->ns->objs[t].n; i++) {
			if (top)
				obj_top_row(v, n->ns->objs[t].v[i], out);
			else
				own_row(v, nsid, n->ns->objs[t].v[i], out);
		}
	struct rows_ctx c = {v, out, top};
	if (nsid)
		cview_objs(v->cview, nsid, -1, v->hostname, 0, other_row, &c);
}

int gen_ns_info(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	if (v->cview) {
		cluster_table(v, n, false, out);
		return 0;
	}
	sb_puts(out, info_header);
	for (int t = 0; t < 2; t++)
		for (size_t i = 0; i < n->ns->objs[t].n; i++)
			obj_info_row(v, n->ns->objs[t].v[i], out);
	cluster_rows(&v->cl, n->ns, false, out);
	return 0;
}

int gen_ns_top(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	if (v->cview) {
		cluster_table(v, n, true, out);
		return 0;
	}
	sb_puts(out, top_header);
	for (int t = 0; t < 2; t++)
		for (size_t i = 0; i < n->ns->objs[t].n; i++)
			obj_top_row(v, n->ns->objs[t].v[i], out);
	cluster_rows(&v->cl, n->ns, true, out);
	return 0;
}

/* The namespace's host taps (ctl tap), a line each: VLAN ID ADDR DEVICE. */
int gen_ns_taps(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	net_host_taps_list(&v->m, n->ns, out);
	return 0;
}

/* With etcd, the namespace's record: what every host places by. */
static const struct cview_ns *ns_record(struct vmfs *v, const struct vnode *n)
{
	if (!v->cview)
		return NULL;
	return n->ns ? cview_ns_find(v->cview, n->ns->name) : cview_ns_id(v->cview, cobj_nsid(v, n));
}

int gen_ns_hosts(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	const struct cview_ns *c = ns_record(v, n);
	if (c || !n->ns) { /* !n->ns: a namespace this host does not have */
		for (size_t i = 0; c && i < c->rec.nhosts; i++)
			sb_printf(out, "%s%s", i ? " " : "", c->rec.hosts[i]);
		sb_puts(out, "\n");
		return 0;
	}
	sb_printf(out, "%s\n", *n->ns->hosts ? n->ns->hosts : v->hostname);
	return 0;
}

int set_ns_hosts_cluster(struct vmfs *v, const struct vnode *n, const char *value,
			 struct rbatch **wait, char *err, size_t errlen)
{
	const struct cview_ns *c = ns_record(v, n);
	const char *name = n->ns ? n->ns->name : c ? c->name : NULL;
	if (!name)
		return -ENOENT;
	/* the cache's word first, for the refusal's words; the transaction checks again */
	int r = claunch_hosts_check(v, name, value, err, errlen);
	return r ? r : cnshosts_start(v, name, value, wait, err, errlen);
}

int set_ns_hosts(struct vmfs *v, const struct vnode *n, const char *value, char *err, size_t errlen)
{
	/* in a cluster: no host that holds objects of the namespace is dropped */
	int r = claunch_hosts_check(v, n->ns->name, value, err, errlen);
	return r ? r : ns_hosts_set(&v->m, n->ns, value, err, errlen);
}

int set_cns_hosts(struct vmfs *v, const struct vnode *n, const char *value, char *err, size_t errlen)
{
	(void)v, (void)n, (void)value;
	snprintf(err, errlen, "a namespace of the cluster keeps one host at least: write the names");
	return -EINVAL;
}

int gen_ns_param(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	sb_printf(out, "%s\n", ns_param(n->ns, n->sub));
	return 0;
}

int set_ns_param(struct vmfs *v, const struct vnode *n, const char *value, char *err, size_t errlen)
{
	return ns_param_set(&v->m, n->ns, n->sub, value, err, errlen);
}

int gen_vlan(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	const struct vlan_alias *a = vlan_by_serial(n->ns, n->sub);
	if (!a)
		return -ENOENT;
	sb_printf(out, "%u\n", a->id);
	return 0;
}

int set_vlan(struct vmfs *v, const struct vnode *n, const char *value, char *err, size_t errlen)
{
	const struct vlan_alias *a = vlan_by_serial(n->ns, n->sub);
	if (!a)
		return -ENOENT;
	if (!*value)
		return 0; /* `touch vlans/LAN5` or an empty write: the id it was given stays */
	char alias[NAME_MAX_LEN + 1];
	snprintf(alias, sizeof(alias), "%s", a->name);
	return vlan_pin(&v->m, n->ns, alias, value, err, errlen);
}

int gen_vlan_range(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	sb_printf(out, "%s\n", n->ns->vlan_range);
	return 0;
}

int set_vlan_range(struct vmfs *v, const struct vnode *n, const char *value, char *err,
		   size_t errlen)
{
	return ns_vlan_range_set(&v->m, n->ns, value, err, errlen);
}

/* The objects a target names. "all" and globs pick only objects the verb can act on now;
 * names, ids and ranges must all exist. */
struct targets {
	struct object **v;
	size_t n, cap;
	bool explicit;
};

static int targets_add(struct targets *t, struct object *o)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i] == o)
			return 0;
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 16;
		struct object **nv = realloc(t->v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		t->v = nv;
		t->cap = nc;
	}
	t->v[t->n++] = o;
	return 0;
}

static struct object *find_by_id(struct ns *ns, const char *s)
{
	char *end;
	unsigned long long id = strtoull(s, &end, 10);
	if (*end || !*s)
		return NULL;
	for (int t = 0; t < 2; t++)
		for (size_t i = 0; i < ns->objs[t].n; i++)
			if (ns->objs[t].v[i]->id == id)
				return ns->objs[t].v[i];
	return NULL;
}

static int targets_pattern(struct ns *ns, const char *pat, struct targets *t)
{
	bool all = !strcmp(pat, "all");
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < ns->objs[k].n; i++) {
			struct object *o = ns->objs[k].v[i];
			if ((all || fnmatch(pat, o->name, 0) == 0) && targets_add(t, o))
				return -ENOMEM;
		}
	return 0;
}

/* An object of this host by name or id. */
static struct object *find_named(struct ns *ns, const char *name)
{
	struct object *o = obj_find_any(ns, name);
	return o ? o : find_by_id(ns, name);
}

static int targets_find(struct ns *ns, const char *spec, struct targets *t, char *err,
			size_t errlen)
{
	if (!strcmp(spec, "all"))
		return targets_pattern(ns, spec, t);
	if (strpbrk(spec, "*?")) {
		int r = targets_pattern(ns, spec, t);
		if (!r && !t->n) {
			snprintf(err, errlen, "no VM or container in namespace %s matches %s", ns->name,
				 spec);
			return -ENOENT;
		}
		return r;
	}
	t->explicit = true;
	char **names;
	size_t count;
	int r = range_expand(spec, &names, &count, err, errlen);
	if (r)
		return r;
	for (size_t i = 0; i < count && !r; i++) {
		struct object *o = find_named(ns, names[i]);
		if (!o) {
			snprintf(err, errlen, "no VM or container named %s in namespace %s", names[i],
				 ns->name);
			r = -ENOENT;
		} else
			r = targets_add(t, o);
	}
	range_free(names);
	return r;
}

/* After this host's part of a verb: what the members do is waited for too, if any were
 * asked; the answer counts both. */
static int with_members(struct vwait *wait, struct rbatch *b, enum verb verb, int r,
			size_t done, struct sbuf *reply)
{
	if (!b)
		return r;
	if (r && r != -EINPROGRESS) {
		rbatch_put(b); /* refused here: the members' part goes on, unwaited */
		return r;
	}
	if (!b->pending && !r) {
		if (b->err) {
			int e = b->err;
			rbatch_put(b);
			return e;
		}
		reply->len = 0;
		sb_printf(reply, "ok: %s %lu\n", verb_name(verb), done + b->count);
		rbatch_put(b);
		return 0;
	}
	b->count += r ? 0 : done; /* a start here adds its count when it ends */
	wait->rbatch = b;
	wait->rverb = verb_name(verb);
	return -EINPROGRESS;
}

/* The objects spec names in a namespace that spans members: this host's in t, the
 * members' forwarded into *b. A name found nowhere refuses the whole command. */
static int targets_cluster(struct vmfs *v, struct ns *ns, enum verb verb, const char *spec,
			   struct targets *t, struct rbatch **b, char *err, size_t errlen)
{
	if (!strcmp(spec, "all") || strpbrk(spec, "*?")) {
		int r = targets_pattern(ns, spec, t);
		if (!r)
			*b = ns_forward_all(v, ns, verb_name(verb), spec);
		return r ? r : *b ? 0 : -ENOMEM;
	}
	t->explicit = true;
	char **names;
	size_t count;
	int r = range_expand(spec, &names, &count, err, errlen);
	if (r)
		return r;
	struct robj **remote = calloc(count + 1, sizeof(*remote));
	for (size_t i = 0; remote && i < count && !r; i++) {
		struct object *o = find_named(ns, names[i]);
		if (o) {
			r = targets_add(t, o);
			continue;
		}
		if (!(remote[i] = cluster_robj_find(&v->cl, ns, OT_VM, names[i])))
			remote[i] = cluster_robj_find(&v->cl, ns, OT_CT, names[i]);
		if (!remote[i]) {
			snprintf(err, errlen, "no VM or container named %s in namespace %s (on any of "
				 "its hosts)", names[i], ns->name);
			r = -ENOENT;
		}
	}
	for (size_t i = 0; remote && i < count && !r; i++)
		if (remote[i])
			r = ns_forward_one(v, ns, verb_name(verb), remote[i], b);
	if (!remote)
		r = -ENOMEM;
	free(remote);
	range_free(names);
	return r;
}

static int ns_act(struct vmfs *v, struct ns *ns, enum verb verb, const char *spec,
		  struct vwait *wait, struct sbuf *reply, char *err, size_t errlen)
{
	if (ccmd_ready(v->ccmd)) /* an etcd cluster: every host's objects */
		return ccmd_ns_act(v->ccmd, ns, verb, spec, wait, reply, err, errlen);
	struct targets t = {0};
	struct rbatch *b = NULL;
	int r = ns_spans_members(v, ns) ? targets_cluster(v, ns, verb, spec, &t, &b, err, errlen)
					: targets_find(ns, spec, &t, err, errlen);
	/* check everything before acting: a refused command changes nothing. "all" and globs
	 * act on the objects the verb fits and skip the rest */
	size_t n = 0, done = 0;
	for (size_t i = 0; i < t.n && !r; i++) {
		char why[256];
		if (t.explicit)
			r = lifecycle_legal(t.v[i], verb, err, errlen);
		else if (lifecycle_legal(t.v[i], verb, why, sizeof(why)))
			continue;
		t.v[n++] = t.v[i];
	}
	if (!r && !b && verb != V_START) {
		/* starts are spawned at once and finish in the background; the rest may take
		 * long (flush all of 20,000): in slices, between which the tree is answered */
		struct nsjob *j = nsjob_new(ns, verb, t.v, n, t.explicit);
		free(t.v);
		return j ? nsjob_start(v, j, &wait->job, reply, err, errlen) : -ENOMEM;
	}
	if (!r)
		r = lifecycle_do_many(&v->m, t.v, n, verb, &wait->batch, &done, err, errlen);
	free(t.v);
	if (r == -EINPROGRESS)
		wait->count = true; /* the write waits; "ok: start N" when all have started */
	if (b)
		return with_members(wait, b, verb, r, done, reply);
	if (!r)
		sb_printf(reply, "ok: %s %zu\n", verb_name(verb), done);
	return r;
}

static int ns_launch(struct vmfs *v, struct ns *ns, int argc, char **argv, struct vwait *wait,
		     struct sbuf *reply, char *err, size_t errlen)
{
	bool plan = !strcmp(argv[0], "plan");
	if (plan && (argc < 2 || strcmp(argv[1], "launch"))) {
		snprintf(err, errlen, "usage: plan launch kvm|container NAMES");
		return -EINVAL;
	}
	if (plan && !claunch_on(v)) {
		snprintf(err, errlen, "plan: needs a cluster on etcd (vmfs.conf's etcd)");
		return -EOPNOTSUPP;
	}
	if (plan) { /* the same words after "plan" */
		argv++;
		argc--;
	}
	enum otype type;
	if (!strcmp(argv[1], "kvm") || !strcmp(argv[1], "vm"))
		type = OT_VM;
	else if (!strcmp(argv[1], "container"))
		type = OT_CT;
	else {
		snprintf(err, errlen, "launch: \"%s\" is not a type (kvm or container)", argv[1]);
		return -EINVAL;
	}
	const struct object *like = NULL;
	char *const *like_cfg = NULL; /* with etcd, NAME may be another host's */
	if (argc == 5 && !strcmp(argv[3], "like")) {
		like = obj_find(ns, type, argv[4]);
		like_cfg = like ? like->cfg : claunch_on(v) ? claunch_like_cfg(v, ns, type, argv[4])
							   : NULL;
		if (!like_cfg) {
			snprintf(err, errlen, "launch: like %s: no %s named %s in namespace %s",
				 argv[4], type == OT_VM ? "VM" : "container", argv[4], ns->name);
			return obj_find_any(ns, argv[4]) ? -EINVAL : -ENOENT;
		}
		int r = like ? 0 : claunch_like_check(ns, argv[4], like_cfg, err, errlen);
		if (r)
			return r;
	} else if (argc != 3) {
		snprintf(err, errlen, "usage: launch kvm|container NAMES [like NAME]");
		return -EINVAL;
	}
	char **names;
	size_t count;
	int r = range_expand(argv[2], &names, &count, err, errlen);
	if (r)
		return r;
	if (plan || claunch_on(v)) {
		r = plan ? claunch_plan(v, ns, type, names, count, reply, err, errlen)
			 : claunch_start_like(v, ns, type, names, count, like_cfg ? argv[4] : NULL,
					      like_cfg, wait, err, errlen);
		range_free(names);
		return r;
	}
	if (ns_spans_members(v, ns) && !like) {
		r = ns_launch_placed(v, ns, type, names, count, wait, reply, err, errlen);
		range_free(names);
		return r;
	}
	/* 20,000 names take seconds to write and sync: in slices */
	struct nsjob *j;
	r = nsjob_launch(ns, type, names, count, like, &j, err, errlen);
	return r ? r : nsjob_start(v, j, &wait->job, reply, err, errlen);
}

int ctl_ns(struct vmfs *v, struct vreq *q, char *line, struct sbuf *reply, char *err,
	   size_t errlen)
{
	const struct vnode *n = &q->h->n;
	static const struct ctl_cmd cmds[] = {
		{"launch", -1, 2, 4, "launch kvm|container NAMES [like NAME]"},
		{"plan", -1, 3, 3, "plan launch kvm|container NAMES"},
		{"start", V_START, 1, 1, "start all|NAME|GLOB|RANGE"},
		{"stop", V_STOP, 1, 1, "stop all|NAME|GLOB|RANGE"},
		{"pause", V_PAUSE, 1, 1, "pause all|NAME|GLOB|RANGE"},
		{"resume", V_RESUME, 1, 1, "resume all|NAME|GLOB|RANGE"},
		{"kill", V_KILL, 1, 1, "kill all|NAME|GLOB|RANGE"},
		{"restart", V_RESTART, 1, 1, "restart all|NAME|GLOB|RANGE"},
		{"flush", V_FLUSH, 1, 1, "flush all|NAME|GLOB|RANGE"},
		{"tap", -2, 2, 2, "tap VLAN ADDR/PREFIX | tap delete VLAN"},
		{"move", -3, 2, 2, "move NAME HOST"},
	};
	char *argv[8];
	int argc = ctl_split(line, argv, 8, err, errlen);
	if (argc < 0)
		return argc;
	const struct ctl_cmd *c = ctl_lookup(cmds, ARRAY_SIZE(cmds), argc, argv, err, errlen);
	if (!c)
		return -EINVAL;
	if (c->id == -2) {
		bool del = !strcmp(argv[1], "delete");
		int r = net_host_tap(&v->m, n->ns, del ? argv[2] : argv[1], del ? NULL : argv[2], err,
				     errlen);
		if (!r)
			sb_puts(reply, "ok\n");
		return r;
	}
	if (c->id == -3)
		return cmove_start(v, n->ns, argc, argv, &q->wait, reply, err, errlen);
	if (c->id < 0)
		return ns_launch(v, n->ns, argc, argv, &q->wait, reply, err, errlen);
	return ns_act(v, n->ns, c->id, argv[1], &q->wait, reply, err, errlen);
}
