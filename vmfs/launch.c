/* A namespace's ctl when it spans members (ns/NS/hosts names them): launch places each new
 * object on a host by the namespace's schedule (cluster/sched.h) and makes it there, this
 * host's own directly and the members' by writing their ns/NS/ctl; verbs on all, globs and
 * names reach the members that hold them. The command's write waits for every member's
 * answer (an rbatch), the way a start waits for its QEMU. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "cluster/merge.h"
#include "cluster/sched.h"
#include "ctl/ctl.h"
#include "ctl/params.h"
#include "runtime/lifecycle.h"
#include "runtime/vlan.h"
#include "vmfs/kinds.h"
#include "vmfs/node.h"
#include "vmfs/vreq.h"

#define MAX_HOSTS 64

struct hosts {
	struct sched_host h[MAX_HOSTS];
	struct member *mb[MAX_HOSTS]; /* NULL: this host */
	size_t n;
};

static bool is_self(const struct vmfs *v, const char *h)
{
	return !strcmp(h, v->hostname) || !strcmp(h, "localhost");
}

/* "memory 23.5G" of a member's host/info, in bytes. */
static uint64_t info_bytes(const char *v)
{
	char *end;
	double x = strtod(v, &end);
	double mul = *end == 'T' ? 1e12 : *end == 'G' ? 1073741824.0 : *end == 'M' ? 1048576.0 : 1;
	return (uint64_t)(x * mul);
}

static const char *info_value(const struct sbuf *info, const char *key, char *buf, size_t len)
{
	size_t kl = strlen(key);
	for (const char *l = info->p, *end = info->p + info->len; l && l < end;) {
		const char *nl = memchr(l, '\n', end - l);
		const char *le = nl ? nl : end;
		if ((size_t)(le - l) > kl && !memcmp(l, key, kl) && l[kl] == ' ') {
			snprintf(buf, len, "%.*s", (int)(le - l - kl - 1), l + kl + 1);
			return buf;
		}
		l = nl ? nl + 1 : NULL;
	}
	return "";
}

static uint64_t param_bytes(const char *value)
{
	uint64_t b = 0;
	char err[128];
	return value_size(value, &b, err, sizeof(err)) ? 0 : b;
}

struct hosts_ctx {
	struct vmfs *v;
	struct ns *ns;
	struct hosts *hs;
};

/* One host of ns, with what runs there: this host from the model, a member from its last
 * answers. */
static int host_add(void *ctx, const char *h)
{
	struct hosts_ctx *c = ctx;
	struct hosts *hs = c->hs;
	struct vmfs *v = c->v;
	char val[64];
	int imem = param_index("memory"), icpu = param_index("vcpus");
	if (hs->n == MAX_HOSTS)
		return 1;
	struct sched_host *s = &hs->h[hs->n];
	memset(s, 0, sizeof(*s));
	if (is_self(v, h)) {
		struct sysinfo si;
		sysinfo(&si);
		s->name = v->hostname;
		s->up = true;
		s->cpus = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
		s->mem_total = (uint64_t)si.totalram * si.mem_unit;
		s->vms = (unsigned)v->m.nobjs[OT_VM];
		s->containers = (unsigned)v->m.nobjs[OT_CT];
		for (int t = 0; t < 2; t++)
			for (size_t i = 0; i < c->ns->objs[t].n; i++) {
				s->cpu_commit += strtoul(obj_param(c->ns->objs[t].v[i], icpu), NULL, 10);
				s->mem_commit += param_bytes(obj_param(c->ns->objs[t].v[i], imem));
			}
		hs->mb[hs->n++] = NULL;
		return 0;
	}
	struct member *mb = cluster_find(&v->cl, h);
	if (!mb)
		return 0;
	s->name = mb->name;
	s->up = mb->state == MS_UP;
	s->cpus = (unsigned)strtoul(info_value(&mb->info, "cpus", val, sizeof(val)), NULL, 10);
	s->mem_total = info_bytes(info_value(&mb->info, "memory", val, sizeof(val)));
	s->vms = (unsigned)strtoul(info_value(&mb->info, "vms", val, sizeof(val)), NULL, 10);
	s->containers = (unsigned)strtoul(info_value(&mb->info, "containers", val, sizeof(val)), NULL, 10);
	hs->mb[hs->n++] = mb;
	return 0;
}

static void hosts_of(struct vmfs *v, struct ns *ns, struct hosts *hs)
{
	struct hosts_ctx c = {v, ns, hs};
	ns_hosts_each(ns, host_add, &c);
}

static int any_member(void *ctx, struct member *mb)
{
	return 1;
}

bool ns_spans_members(const struct vmfs *v, const struct ns *ns)
{
	return cluster_spanned(&v->cl, ns, any_member, NULL);
}

/* Existing objects of ns and their hosts, for colocate and coschedule. */
struct existing {
	struct sched_existing *v;
	size_t n;
	char **names;
	size_t host;
};

static int add_existing(void *ctx, const char *name)
{
	struct existing *e = ctx;
	struct sched_existing *nv = realloc(e->v, (e->n + 1) * sizeof(*nv));
	char **nn = nv ? realloc(e->names, (e->n + 1) * sizeof(*nn)) : NULL;
	if (!nn) {
		if (nv)
			e->v = nv;
		return 1;
	}
	e->v = nv;
	e->names = nn;
	e->names[e->n] = strdup(name);
	e->v[e->n] = (struct sched_existing){e->names[e->n], e->host, false, 0};
	e->n++;
	return 0;
}

static void existing_of(struct vmfs *v, struct ns *ns, const struct hosts *hs, struct existing *e)
{
	int ico = param_index("coschedule");
	for (size_t h = 0; h < hs->n; h++) {
		e->host = h;
		if (!hs->mb[h]) {
			for (int t = 0; t < 2; t++)
				for (size_t i = 0; i < ns->objs[t].n; i++) {
					const struct object *o = ns->objs[t].v[i];
					if (add_existing(e, o->name))
						return;
					const char *cs = obj_param(o, ico);
					e->v[e->n - 1].has_coschedule = *cs != 0;
					e->v[e->n - 1].coschedule = (unsigned)strtoul(cs, NULL, 10);
				}
			continue;
		}
		const struct mtab *t = member_tab(hs->mb[h], ns->name);
		if (t)
			table_names(t->info.p, t->info.len, NULL, add_existing, e);
	}
}

static void existing_free(struct existing *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->names[i]);
	free(e->names);
	free(e->v);
}

/* The namespace's template, pushed before a launch on a member: its objects start as they
 * would here. */
static void push_template(struct rbatch *b, struct member *mb, const struct ns *ns)
{
	char rel[256], id[16];
	snprintf(rel, sizeof(rel), "ns/%s", ns->name);
	rbatch_add(b, mb, ROP_MKDIR, rel, NULL, 0, -EEXIST);
	/* VLAN aliases are the head's: LAN1 is one VLAN id on every host */
	for (size_t i = 0; i < ns->nvlans; i++) {
		snprintf(rel, sizeof(rel), "ns/%s/vlans/%s", ns->name, ns->vlans[i].name);
		snprintf(id, sizeof(id), "%u", ns->vlans[i].id);
		rbatch_add(b, mb, ROP_WRITE, rel, id, strlen(id), 0);
	}
	for (size_t i = 0; i < nparams; i++) {
		if (!ns->cfg[i] || !strcmp(params[i].name, "host"))
			continue;
		snprintf(rel, sizeof(rel), "ns/%s/config/%s", ns->name, params[i].name);
		rbatch_add(b, mb, ROP_WRITE, rel, ns->cfg[i], strlen(ns->cfg[i]), 0);
	}
}

static bool name_taken(struct vmfs *v, struct ns *ns, const char *name)
{
	return obj_find_any(ns, name) || cluster_robj_find(&v->cl, ns, OT_VM, name) ||
	       cluster_robj_find(&v->cl, ns, OT_CT, name);
}

int ns_launch_placed(struct vmfs *v, struct ns *ns, enum otype type, char **names, size_t count,
		     struct vwait *wait, struct sbuf *reply, char *err, size_t errlen)
{
	struct hosts hs = {0};
	hosts_of(v, ns, &hs);
	for (size_t i = 0; i < count; i++)
		if (name_taken(v, ns, names[i])) {
			snprintf(err, errlen, "launch: %s exists already in namespace %s (on one of "
				 "its hosts)", names[i], ns->name);
			return -EEXIST;
		}
	/* the template's VLANs get their ids here, before they are pushed */
	int r = vlan_claim_net(&v->m, ns, ns_param(ns, param_index("net")), err, errlen);
	if (r)
		return r;
	enum sched_policy pol;
	r = sched_policy_parse(ns_param(ns, param_index("schedule")), &pol, err, errlen);
	if (r)
		return r;
	struct existing ex = {0};
	existing_of(v, ns, &hs, &ex);
	struct sched_obj *objs = calloc(count, sizeof(*objs));
	size_t *where = calloc(count, sizeof(*where));
	if (!objs || !where) {
		free(objs);
		free(where);
		existing_free(&ex);
		return -ENOMEM;
	}
	const char *cs = ns_param(ns, param_index("coschedule"));
	for (size_t i = 0; i < count; i++)
		objs[i] = (struct sched_obj){
		    names[i], (unsigned)strtoul(ns_param(ns, param_index("vcpus")), NULL, 10),
		    param_bytes(ns_param(ns, param_index("memory"))), ns_param(ns, param_index("host")),
		    ns_param(ns, param_index("colocate")), *cs != 0, (unsigned)strtoul(cs, NULL, 10)};
	struct sched_ns sns = {hs.h, hs.n, ex.v, ex.n, pol};
	r = sched_place(&sns, objs, count, where, err, errlen);
	/* this host's objects first, together: one refusal changes nothing */
	char **local = r ? NULL : calloc(count, sizeof(*local));
	size_t nlocal = 0;
	for (size_t i = 0; local && i < count; i++)
		if (!hs.mb[where[i]])
			local[nlocal++] = names[i];
	if (!r && !local)
		r = -ENOMEM;
	if (!r && nlocal)
		r = obj_create_many(&v->m, ns, type, local, nlocal, NULL, err, errlen);
	free(local);
	struct rbatch *b = r ? NULL : rbatch_new();
	if (!r && !b)
		r = -ENOMEM;
	for (size_t h = 0; !r && h < hs.n; h++) {
		if (!hs.mb[h])
			continue;
		struct sbuf line = {0};
		for (size_t i = 0; i < count; i++)
			if (where[i] == h)
				sb_printf(&line, "%s%s", line.len ? "," : "", names[i]);
		if (line.len) {
			char rel[256], *cmd = NULL;
			push_template(b, hs.mb[h], ns);
			snprintf(rel, sizeof(rel), "ns/%s/ctl", ns->name);
			if (asprintf(&cmd, "launch %s %s\n", type == OT_VM ? "kvm" : "container",
				     line.p) > 0) {
				rbatch_add(b, hs.mb[h], ROP_CTL, rel, cmd, strlen(cmd), 0);
				rbatch_refresh(b, hs.mb[h], ns->name);
				free(cmd);
			}
		}
		sb_free(&line);
	}
	free(objs);
	free(where);
	existing_free(&ex);
	if (r)
		return r;
	b->count += nlocal;
	if (!b->pending) { /* all here */
		sb_printf(reply, "ok: launched %lu\n", b->count);
		rbatch_put(b);
		return 0;
	}
	wait->rbatch = b;
	wait->rverb = "launched";
	return -EINPROGRESS;
}

/* A verb on "all" or a glob: each member that ns spans and that is up does it to what it
 * holds. Returns the batch (NULL: no member asked). */
struct rbatch *ns_forward_all(struct vmfs *v, struct ns *ns, const char *verb, const char *spec)
{
	struct hosts hs = {0};
	hosts_of(v, ns, &hs);
	struct rbatch *b = rbatch_new();
	if (!b)
		return NULL;
	char rel[256], cmd[512];
	snprintf(rel, sizeof(rel), "ns/%s/ctl", ns->name);
	snprintf(cmd, sizeof(cmd), "%s %s\n", verb, spec);
	for (size_t h = 0; h < hs.n; h++)
		if (hs.mb[h] && hs.mb[h]->state == MS_UP) {
			rbatch_add(b, hs.mb[h], ROP_CTL, rel, cmd, strlen(cmd), 0);
			rbatch_refresh(b, hs.mb[h], ns->name);
		}
	return b;
}

/* A verb on one remote object, added to *b (made if NULL). */
int ns_forward_one(struct vmfs *v, struct ns *ns, const char *verb, const struct robj *ro,
		   struct rbatch **b)
{
	if (!*b && !(*b = rbatch_new()))
		return -ENOMEM;
	char rel[256], cmd[256];
	snprintf(rel, sizeof(rel), "ns/%s/ctl", ns->name);
	snprintf(cmd, sizeof(cmd), "%s %s\n", verb, ro->name);
	rbatch_add(*b, ro->mb, ROP_CTL, rel, cmd, strlen(cmd), 0);
	rbatch_refresh(*b, ro->mb, ns->name);
	return 0;
}
