#include "runtime/vlan.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/util.h"
#include "runtime/err.h"
#include "runtime/net.h"
#include "runtime/store.h"

const struct vlan_alias *vlan_find(const struct ns *ns, const char *alias)
{
	for (size_t i = 0; i < ns->nvlans; i++)
		if (!strcmp(ns->vlans[i].name, alias))
			return &ns->vlans[i];
	return NULL;
}

const struct vlan_alias *vlan_by_id(const struct ns *ns, unsigned id)
{
	for (size_t i = 0; i < ns->nvlans; i++)
		if (ns->vlans[i].id == id)
			return &ns->vlans[i];
	return NULL;
}

const struct vlan_alias *vlan_by_serial(const struct ns *ns, unsigned serial)
{
	for (size_t i = 0; i < ns->nvlans; i++)
		if (ns->vlans[i].serial == serial)
			return &ns->vlans[i];
	return NULL;
}

/* A NIC's VLAN is an alias unless it is a number. */
static bool is_alias(const char *vlan)
{
	for (const char *p = vlan; *p; p++)
		if (!isdigit((unsigned char)*p))
			return true;
	return false;
}

/* Calls fn for each NIC of a config/net value (spec NULL where it does not parse), on a
 * copy of the whole value (a value may be as long as its limit); stops at the first non-zero. */
static int net_nics(const char *net, int (*fn)(void *arg, const char *nic,
					       const struct nic_spec *spec),
		    void *arg)
{
	char *buf = strdup(net), err[256], *save = NULL;
	if (!buf)
		return -ENOMEM;
	int r = 0;
	for (char *nic = strtok_r(buf, " ", &save); nic && !r; nic = strtok_r(NULL, " ", &save)) {
		struct nic_spec spec;
		r = fn(arg, nic, value_nic(nic, &spec, err, sizeof(err)) ? NULL : &spec);
	}
	free(buf);
	return r;
}

struct alias_walk {
	int (*fn)(void *arg, const char *alias);
	void *arg;
};

static int alias_of(void *arg, const char *nic, const struct nic_spec *spec)
{
	(void)nic;
	struct alias_walk *w = arg;
	return spec && is_alias(spec->vlan) ? w->fn(w->arg, spec->vlan) : 0;
}

/* Calls fn for each alias a config/net value names; stops at the first non-zero. */
static int net_aliases(const char *net, int (*fn)(void *arg, const char *alias), void *arg)
{
	struct alias_walk w = {fn, arg};
	return net_nics(net, alias_of, &w);
}

static int same_alias(void *arg, const char *alias) { return !strcmp(arg, alias); }

bool vlan_in_use(const struct ns *ns, const char *alias)
{
	int net = param_index("net");
	if (net_aliases(ns_param(ns, net), same_alias, (void *)alias) || net_tap_names(ns, alias))
		return true;
	for (int t = 0; t < 2; t++)
		for (size_t j = 0; j < ns->objs[t].n; j++)
			if (net_aliases(obj_param(ns->objs[t].v[j], net), same_alias, (void *)alias))
				return true;
	return false;
}

static struct vlan_alias *vlan_add(struct ns *ns, const char *alias, unsigned id, bool pinned)
{
	struct vlan_alias *v = realloc(ns->vlans, (ns->nvlans + 1) * sizeof(*v));
	if (!v)
		return NULL;
	ns->vlans = v;
	v = &ns->vlans[ns->nvlans++];
	snprintf(v->name, sizeof(v->name), "%s", alias);
	v->id = id;
	v->pinned = pinned;
	v->serial = ++ns->vlan_serial & OBJ_ID_MAX; /* within an inode number's object id */
	return v;
}

/* VLAN ids are the host's: one bridge carries every namespace, so an id belongs to one
 * alias of one namespace, and LAN1 of two namespaces are two VLANs. */
static const struct vlan_alias *id_owner(const struct model *m, unsigned id, const struct ns **ns)
{
	for (size_t i = 0; i < m->nns; i++) {
		const struct vlan_alias *a = vlan_by_id(m->nss[i], id);
		if (a) {
			*ns = m->nss[i];
			return a;
		}
	}
	return NULL;
}

static int nic_on_id(void *arg, const char *nic, const struct nic_spec *spec)
{
	(void)nic;
	return spec && !is_alias(spec->vlan) && strtoul(spec->vlan, NULL, 10) == *(unsigned *)arg;
}

/* Whether a config/net value names VLAN id by number. */
static bool net_names_id(const char *net, unsigned id)
{
	return net_nics(net, nic_on_id, &id) > 0;
}

/* The namespace (other than skip) whose template or object puts a NIC on id by number (host
 * root's doing: docs/security.md), or NULL. An alias must not join it unawares. */
static const struct ns *id_bare_user(const struct model *m, const struct ns *skip, unsigned id)
{
	int net = param_index("net");
	for (size_t i = 0; i < m->nns; i++) {
		const struct ns *o = m->nss[i];
		if (o == skip)
			continue;
		if (net_names_id(ns_param(o, net), id))
			return o;
		for (int t = 0; t < 2; t++)
			for (size_t j = 0; j < o->objs[t].n; j++)
				if (net_names_id(obj_param(o->objs[t].v[j], net), id))
					return o;
	}
	return NULL;
}

struct claim {
	struct model *m;
	struct ns *ns;
	long lo, hi;
	bool added;
	struct err *e;
};

/* Whether id is no alias's on this host and no NIC's by number. */
static bool id_free(const struct model *m, unsigned id)
{
	const struct ns *owner;
	return !id_owner(m, id, &owner) && !id_bare_user(m, NULL, id);
}

/* The namespace's vlans/range, or 101 up when it has none (or a bad one). */
static void ns_range(const struct ns *ns, long *lo, long *hi)
{
	char why[128];
	*lo = 101;
	*hi = VLAN_ID_MAX;
	value_vlan_range(ns->vlan_range, lo, hi, why, sizeof(why));
}

/* The cluster's id of alias (another host's word): 0 if none, or outside the namespace's
 * range, which an id this host allocates would never be (said in the namespace's log). */
static unsigned cluster_id(struct model *m, struct ns *ns, const char *alias)
{
	unsigned id = m->vlan_cluster ? m->vlan_cluster(m->vlan_cluster_arg, ns, alias) : 0;
	long lo, hi;
	ns_range(ns, &lo, &hi);
	if (id && (id > VLAN_ID_MAX || id < lo || id > hi)) {
		evlog_add(&ns->log, "vlan alias %s: the cluster's id %u is outside vlans/range %ld-%ld: not taken",
			  alias, id, lo, hi);
		return 0;
	}
	return id <= VLAN_ID_MAX ? id : 0;
}

static int claim_one(void *arg, const char *alias)
{
	struct claim *c = arg;
	if (vlan_find(c->ns, alias))
		return 0;
	unsigned cid = cluster_id(c->m, c->ns, alias); /* the cluster's word first */
	if (cid && id_free(c->m, cid)) {
		c->added = true;
		return vlan_add(c->ns, alias, cid, false) ? 0 : -ENOMEM;
	}
	for (long id = c->lo; id <= c->hi; id++)
		if (!vlan_by_id(c->ns, id) && id_free(c->m, id)) {
			c->added = true;
			return vlan_add(c->ns, alias, id, false) ? 0 : -ENOMEM;
		}
	return err_set(c->e, ENOSPC, "no free VLAN id left for %s in vlans/range %ld-%ld", alias,
		       c->lo, c->hi);
}

int vlan_claim(struct model *m, struct ns *ns, const char *net, struct err *e)
{
	struct claim c = {m, ns, 101, VLAN_ID_MAX, false, e};
	ns_range(ns, &c.lo, &c.hi); /* loaded: it reads */
	size_t before = ns->nvlans;
	int r = net_aliases(net, claim_one, &c);
	if (!r && c.added && (r = ns_save(m, ns)) < 0)
		err_sys(e, r, "cannot save to the state directory");
	if (r) {
		ns->nvlans = before; /* nothing allocated unless all of it is */
		return r;
	}
	for (size_t i = before; i < ns->nvlans; i++)
		evlog_add(&ns->log, "vlans/%s = %u (allocated)", ns->vlans[i].name, ns->vlans[i].id);
	return 0;
}

static bool live_on(const struct ns *ns, const struct object *skip, const char *alias)
{
	int net = param_index("net");
	for (int t = 0; t < 2; t++)
		for (size_t j = 0; j < ns->objs[t].n; j++) {
			const struct object *o = ns->objs[t].v[j];
			if (o != skip &&
			    (o->state == ST_RUNNING || o->state == ST_PAUSED || o->rt.starting) &&
			    net_aliases(obj_param(o, net), same_alias, (void *)alias))
				return true;
		}
	return false;
}

void vlan_adopt(struct model *m, struct ns *ns, const struct object *starting, const char *alias)
{
	struct vlan_alias *a = (struct vlan_alias *)vlan_find(ns, alias);
	unsigned cid = a ? cluster_id(m, ns, alias) : 0;
	if (!cid || cid == a->id)
		return;
	if (net_tap_names(ns, alias)) { /* its device bears the id, as pin refuses */
		evlog_add(&ns->log, "vlans/%s stays %u (the cluster's is %u): a tap of the namespace is on it",
			  alias, a->id, cid);
		return;
	}
	if (live_on(ns, starting, alias) || !id_free(m, cid)) {
		evlog_add(&ns->log, "vlans/%s stays %u (the cluster's is %u): %s", alias, a->id, cid,
			  live_on(ns, starting, alias) ? "a running NIC is on it"
						       : "another VLAN of this host has that id");
		return;
	}
	unsigned was = a->id;
	bool pinned = a->pinned;
	a->id = cid;
	a->pinned = false;
	int r = ns_save(m, ns);
	if (r < 0) {
		a->id = was;
		a->pinned = pinned;
		evlog_add(&ns->log, "vlans/%s stays %u (the cluster's is %u): cannot save: %s",
			  alias, was, cid, strerror(-r));
		return;
	}
	evlog_add(&ns->log, "vlans/%s = %u, the cluster's (was %u)", alias, cid, was);
}

int vlan_claim_net(struct model *m, struct ns *ns, const char *net, char *err, size_t errlen)
{
	struct err e;
	err_clear(&e);
	return err_result(&e, vlan_claim(m, ns, net, &e), err, errlen);
}

static int pin(struct model *m, struct ns *ns, const char *alias, const char *value,
	       struct err *e)
{
	char *end;
	long id = strtol(value, &end, 10);
	if (!*value || *end || id < 1 || id > VLAN_ID_MAX)
		return err_set(e, EINVAL, "\"%s\" is not a VLAN id: use a number from 1 to %d",
			       value, VLAN_ID_MAX);
	const struct ns *owner;
	const struct vlan_alias *other = id_owner(m, id, &owner);
	if (other && (owner != ns || strcmp(other->name, alias)))
		return err_set(e, EBUSY, "VLAN %ld is vlans/%s of namespace %s already", id,
			       other->name, owner->name);
	if ((owner = id_bare_user(m, ns, id)))
		return err_set(e, EBUSY, "VLAN %ld is used by number in namespace %s (config/net): "
			       "an alias of %s may not join it", id, owner->name, ns->name);
	struct vlan_alias *v = (struct vlan_alias *)vlan_find(ns, alias), saved = {0};
	if (v && v->id != (unsigned)id && net_tap_names(ns, alias)) /* its device bears the id */
		return err_set(e, EBUSY, "vlans/%s has a tap of the namespace on it: tap delete %s "
			       "first", alias, alias);
	bool added = !v;
	if (v)
		saved = *v;
	else if (!(v = vlan_add(ns, alias, id, true)))
		return -ENOMEM;
	v->id = id;
	v->pinned = true;
	int r = ns_save(m, ns);
	if (r) {
		if (added)
			ns->nvlans--;
		else
			*v = saved;
		return err_sys(e, r, "cannot save to the state directory");
	}
	evlog_add(&ns->log, "vlans/%s = %ld (pinned)", alias, id);
	return 0;
}

int vlan_pin(struct model *m, struct ns *ns, const char *alias, const char *value, char *err,
	     size_t errlen)
{
	struct err e;
	err_clear(&e);
	return err_result(&e, pin(m, ns, alias, value, &e), err, errlen);
}

static int alias_remove(struct model *m, struct ns *ns, const char *alias, struct err *e)
{
	struct vlan_alias *v = (struct vlan_alias *)vlan_find(ns, alias);
	if (!v)
		return err_set(e, ENOENT, "no vlans/%s", alias);
	if (vlan_in_use(ns, alias))
		return err_set(e, EBUSY, "vlans/%s is in use: %s", alias,
			       net_tap_names(ns, alias) ? "the namespace has a tap on it (tap "
							  "delete it first)"
							: "a NIC in config/net names it");
	struct vlan_alias saved = *v;
	size_t i = v - ns->vlans;
	memmove(v, v + 1, (ns->nvlans - i - 1) * sizeof(*v));
	ns->nvlans--;
	int r = ns_save(m, ns);
	if (r) {
		memmove(&ns->vlans[i + 1], &ns->vlans[i], (ns->nvlans - i) * sizeof(*v));
		ns->vlans[i] = saved;
		ns->nvlans++;
		return err_sys(e, r, "cannot save to the state directory");
	}
	evlog_add(&ns->log, "vlans/%s removed (VLAN %u is free)", alias, saved.id);
	return 0;
}

int vlan_remove(struct model *m, struct ns *ns, const char *alias, char *err, size_t errlen)
{
	struct err e;
	err_clear(&e);
	return err_result(&e, alias_remove(m, ns, alias, &e), err, errlen);
}

struct host_walk {
	const struct ns *ns;
	struct err *e;
};

static int nic_reaches_host(void *arg, const char *nic, const struct nic_spec *spec)
{
	struct host_walk *w = arg;
	if (!spec) /* the syntax check refuses it first; never let one through unread */
		return err_set(w->e, EPERM, "net: NIC \"%s\" cannot be read", nic);
	if (*spec->bridge)
		return err_set(w->e, EPERM, "net: NIC \"%s\" names the bridge %s, a device of the "
			       "host: leave the bridge out (vmfs's own)", nic, spec->bridge);
	/* A number is one VLAN on the host's bridges, whoever's it is: only the namespace's own
	 * ids stay inside it (issue 15: net=101 joined another namespace's LAN1). */
	if (!is_alias(spec->vlan) && !vlan_by_id(w->ns, (unsigned)strtoul(spec->vlan, NULL, 10)))
		return err_set(w->e, EPERM, "net: NIC \"%s\": VLAN %s is not one of namespace %s's "
			       "(vlans/): name it by an alias such as LAN1, or pin the number to "
			       "one with vlans/ALIAS", nic, spec->vlan, w->ns->name);
	return 0;
}

/* 0 if config/net stays inside ns: no named (host) bridge, no VLAN number that is not an id
 * of one of ns's aliases (another namespace's VLAN, or one no namespace holds); else -EPERM
 * with the reason (or the errno that kept it from being read: refused all the same). */
static int net_reach(const struct ns *ns, const char *net, struct err *e)
{
	struct host_walk w = {ns, e};
	err_clear(e);
	int r = net_nics(net, nic_reaches_host, &w);
	if (r && !e->no)
		err_sys(e, r, "net");
	return r;
}

/* ns.conf's "vlan.ALIAS" = "ID" or "ID pinned". */
static int vlan_load(struct ns *ns, const char *alias, const char *value, struct err *e)
{
	char *end, why[256];
	errno = 0;
	long id = strtol(value, &end, 10);
	if (name_check(alias, why, sizeof(why)))
		return err_set(e, EINVAL, "%s", why);
	if (value[0] < '0' || value[0] > '9' || errno || id < 1 || id > VLAN_ID_MAX ||
	    (*end && strcmp(end, " pinned"))) {
		char q[64];
		return err_set(e, EINVAL, "\"%s\" is not a VLAN id (1 to %d), pinned or not",
			       ctl_quote(value, strlen(value), q, sizeof(q)), VLAN_ID_MAX);
	}
	if (vlan_find(ns, alias) || vlan_by_id(ns, id))
		return err_set(e, EINVAL, "VLAN %ld or the alias %s is given twice", id, alias);
	return vlan_add(ns, alias, id, *end != 0) ? 0 : err_set(e, ENOMEM, "out of memory");
}

static void vlan_store(const struct ns *ns, struct sbuf *b)
{
	for (size_t i = 0; i < ns->nvlans; i++) {
		char key[NAME_MAX_LEN + 8], val[32];
		snprintf(key, sizeof(key), "vlan.%s", ns->vlans[i].name);
		snprintf(val, sizeof(val), "%u%s", ns->vlans[i].id, ns->vlans[i].pinned ? " pinned" : "");
		store_kv(b, key, val);
	}
}

static void vlan_free(struct ns *ns)
{
	free(ns->vlans);
	ns->vlans = NULL;
	ns->nvlans = 0;
}

int vlan_on_model(void *ctx, struct model *m, const struct model_ev *ev)
{
	if (ev->kind == MEV_NS_KEY)
		return strncmp(ev->key, "vlan.", 5) ? 1
						    : vlan_load(ev->ns, ev->key + 5, ev->value, ev->err);
	if (ev->kind == MEV_NS_SAVING)
		vlan_store(ev->ns, ev->conf);
	else if (ev->kind == MEV_NS_FREED)
		vlan_free(ev->ns);
	else if (ev->kind == MEV_CFG_SETTING)
		return strcmp(params[ev->param].name, "net") ? 1
							      : vlan_claim(m, ev->ns, ev->value, ev->err);
	else if (ev->kind == MEV_CFG_REACH)
		return params[ev->param].reach == PR_NET ? net_reach(ev->ns, ev->value, ev->err) : 1;
	return 0;
}
