/* Placement of new objects on a namespace's hosts: the policies and constraints are explained
 * in sched.h. One pass in launch order over a private copy of the hosts' counters, so that a
 * failure halfway leaves the caller's where[] as it was. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/sched.h"
#include "ctl/util.h"
#include "runtime/util.h"

#define NONE ((size_t)-1) /* no such host, or no such object */
#define GIB_F ((double)(1ULL << 30))

static const char *const policy_words[] = {
    [SCHED_FEWEST] = "fewest",
    [SCHED_CPU] = "cpu",
    [SCHED_MEM] = "memory",
};
#define NPOLICIES (sizeof policy_words / sizeof policy_words[0])

/* A host as this launch has left it so far. */
struct load {
	unsigned objects;
	double cpu;
	uint64_t mem;
	bool limited;
	unsigned limit;	     /* the tightest coschedule among the objects on it */
	const char *limiter; /* the object that has it, for messages */
};

/* A message built in pieces, cut with "..." where it would overflow (a namespace may have
 * many hosts, and each may add a clause). */
struct msg {
	char b[1024];
	size_t o;
};

static void msg_add(struct msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msg_add(struct msg *m, const char *fmt, ...)
{
	size_t room = sizeof m->b - m->o;
	va_list ap;
	int k;

	if (room <= 1)
		return;
	va_start(ap, fmt);
	k = vsnprintf(m->b + m->o, room, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	if ((size_t)k < room) {
		m->o += (size_t)k;
		return;
	}
	m->o = sizeof m->b - 1;
	memcpy(m->b + m->o - 3, "...", 3);
}

static bool unset(const char *s) { return !s || !*s; }

static const char *plural(unsigned n) { return n == 1 ? "" : "s"; }

/* A user's value (config/host, config/colocate) for a message: escaped and cut short. */
static const char *shown(const char *s, char *buf, size_t len)
{
	return ctl_quote(s, strlen(s), buf, len);
}

int sched_policy_parse(const char *word, enum sched_policy *policy, char *err, size_t errlen)
{
	char q[80];
	size_t p;

	for (p = 0; word && p < NPOLICIES; p++)
		if (strcmp(word, policy_words[p]) == 0) {
			*policy = (enum sched_policy)p;
			return 0;
		}
	if (unset(word))
		return ctl_fail(err, errlen, "no policy given: use fewest, cpu or memory");
	return ctl_fail(err, errlen, "\"%s\" is not a policy: use fewest, cpu or memory",
			shown(word, q, sizeof q));
}

const char *sched_policy_name(enum sched_policy policy)
{
	return (unsigned)policy < NPOLICIES ? policy_words[policy] : NULL;
}

static size_t host_find(const struct sched_ns *ns, const char *name)
{
	size_t h;

	for (h = 0; h < ns->nhosts; h++)
		if (strcmp(ns->hosts[h].name, name) == 0)
			return h;
	return NONE;
}

/* Every host's name, each followed by suffix, separated by sep. */
static void msg_hosts(struct msg *m, const struct sched_ns *ns, const char *sep, const char *suffix)
{
	size_t h;

	for (h = 0; h < ns->nhosts; h++)
		msg_add(m, "%s%s%s", h ? sep : "", ns->hosts[h].name, suffix);
}

/* The namespace as a whole can take objects: a known policy, and some host up. */
static int ns_check(const struct sched_ns *ns, char *err, size_t errlen)
{
	struct msg m = {.o = 0};
	size_t h;

	if ((unsigned)ns->policy >= NPOLICIES)
		return ctl_fail(err, errlen, "policy %d is not one of fewest, cpu or memory",
				(int)ns->policy);
	if (ns->nhosts == 0) {
		ctl_fail(err, errlen, "the namespace has no hosts");
		return -EHOSTDOWN;
	}
	for (h = 0; h < ns->nhosts; h++)
		if (ns->hosts[h].up)
			return 0;
	msg_hosts(&m, ns, ", ", " down");
	ctl_fail(err, errlen, "no host of the namespace is up (%s)", m.b);
	return -EHOSTDOWN;
}

static void load_limit(struct load *l, bool has, unsigned limit, const char *name)
{
	if (has && (!l->limited || limit < l->limit)) {
		l->limited = true;
		l->limit = limit;
		l->limiter = name;
	}
}

static void load_add(struct load *l, const struct sched_obj *o)
{
	l->objects++;
	l->cpu += o->vcpus;
	l->mem += o->memory;
	load_limit(l, o->has_coschedule, o->coschedule, o->name);
}

/* The hosts' counters, and the limits of the objects already on them. */
static int loads_init(const struct sched_ns *ns, struct load *loads, char *err, size_t errlen)
{
	const struct sched_existing *e;
	size_t h, k;

	for (h = 0; h < ns->nhosts; h++) {
		loads[h].objects = ns->hosts[h].vms + ns->hosts[h].containers;
		loads[h].cpu = ns->hosts[h].cpu_commit;
		loads[h].mem = ns->hosts[h].mem_commit;
	}
	for (k = 0; k < ns->nexisting; k++) {
		e = &ns->existing[k];
		if (e->host >= ns->nhosts)
			return ctl_fail(err, errlen,
					"%s: host index %zu is out of range (the namespace has "
					"%zu hosts)",
					e->name, e->host, ns->nhosts);
		load_limit(&loads[e->host], e->has_coschedule, e->coschedule, e->name);
	}
	return 0;
}

/* Why host h cannot take o under the coschedule limits, into why; false if it can. Placing
 * o gives it l->objects neighbours, and gives each object already there one more. */
static bool cosched_refuses(const struct sched_ns *ns, const struct load *l, size_t h,
			    const struct sched_obj *o, char *why, size_t len)
{
	const char *hn = ns->hosts[h].name;

	if (o->has_coschedule && l->objects > o->coschedule) {
		snprintf(why, len,
			 "%s holds %u object%s, and %s's coschedule allows %u other%s beside it",
			 hn, l->objects, plural(l->objects), o->name, o->coschedule,
			 plural(o->coschedule));
		return true;
	}
	if (l->limited && l->objects > l->limit) {
		snprintf(why, len, "%s holds %s, whose coschedule allows %u other%s beside it", hn,
			 l->limiter, l->limit, plural(l->limit));
		return true;
	}
	return false;
}

/* na/da < nb/db; a host with no cores (or no memory) counts as infinitely loaded. Cross
 * multiplication keeps equal hosts exactly equal, so that ties fall to host order. */
static bool cpu_less(double na, unsigned da, double nb, unsigned db)
{
	if (!da || !db)
		return da && !db;
	return na * db < nb * da;
}

static bool mem_less(unsigned __int128 na, uint64_t da, unsigned __int128 nb, uint64_t db)
{
	if (!da || !db)
		return da && !db;
	return na * db < nb * da;
}

/* Would host a be a better home for o than host b? Strictly: a tie keeps b, the earlier. */
static bool host_better(const struct sched_ns *ns, const struct load *loads, size_t a, size_t b,
			const struct sched_obj *o)
{
	const struct sched_host *ha = &ns->hosts[a], *hb = &ns->hosts[b];

	switch (ns->policy) {
	case SCHED_CPU:
		return cpu_less(loads[a].cpu + o->vcpus, ha->cpus, loads[b].cpu + o->vcpus,
				hb->cpus);
	case SCHED_MEM:
		return mem_less((unsigned __int128)loads[a].mem + o->memory, ha->mem_total,
				(unsigned __int128)loads[b].mem + o->memory, hb->mem_total);
	case SCHED_FEWEST:
	default:
		return loads[a].objects < loads[b].objects;
	}
}

/* A host's ratio as published, or the default when it gave none that makes sense. */
static double ratio(double r, double dflt) { return r > 0 && isfinite(r) ? r : dflt; }

static double cpu_cap(const struct sched_host *h) { return h->cpus * ratio(h->cpu_ratio, 4); }

static long double mem_cap(const struct sched_host *h)
{
	return (long double)h->mem_total * ratio(h->mem_ratio, 1.0);
}

/* Would o leave h within its capacity, l being what h holds so far? */
static bool has_room(const struct sched_host *h, const struct load *l, const struct sched_obj *o)
{
	return !h->limited ||
	       (l->cpu + o->vcpus <= cpu_cap(h) && (long double)l->mem + o->memory <= mem_cap(h));
}

static bool no_room(const struct sched_host *h, const struct load *l, const struct sched_obj *o)
{
	return h->draining || !has_room(h, l, o);
}

/* A count of vcpus as people write it: "14", "1.5". */
static const char *vcpus(double v, char *buf, size_t len)
{
	snprintf(buf, len, v == floor(v) && v < 1e15 ? "%.0f" : "%.1f", v);
	return buf;
}

/* What h holds: "14 of 16 vcpus, 30.1 of 31.2 GiB committed" ("14 vcpus, 30.1 GiB
 * committed" without limits). */
static void msg_figures(struct msg *m, const struct sched_host *h, const struct load *l)
{
	char a[40], b[40];

	if (h->limited)
		msg_add(m, "%s of %s vcpus, %.1f of %.1f GiB committed", vcpus(l->cpu, a, sizeof a),
			vcpus(cpu_cap(h), b, sizeof b), (double)l->mem / GIB_F,
			(double)(mem_cap(h) / GIB_F));
	else
		msg_add(m, "%s vcpus, %.1f GiB committed", vcpus(l->cpu, a, sizeof a),
			(double)l->mem / GIB_F);
}

/* A host's clause in an ENOSPC message: "h1: draining", "h3: down", or its figures. */
static void msg_room(struct msg *m, const char *sep, const struct sched_host *h,
		     const struct load *l)
{
	msg_add(m, "%s%s: ", sep, h->name);
	if (!h->up)
		msg_add(m, "down");
	else if (h->draining)
		msg_add(m, "draining");
	else
		msg_figures(m, h, l);
}

/* The object's needs, for the messages: "k7 (4 vcpus, 2.0 GiB)". */
static const char *needs(const struct sched_obj *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s (%u vcpu%s, %.1f GiB)", o->name, o->vcpus, plural(o->vcpus),
		 (double)o->memory / GIB_F);
	return buf;
}

/* config/host: the host must exist and be up. */
static int obj_pin(const struct sched_ns *ns, const struct sched_obj *o, size_t *host, char *err,
		   size_t errlen)
{
	struct msg m = {.o = 0};
	char q[80];

	*host = host_find(ns, o->pin);
	if (*host == NONE) {
		msg_hosts(&m, ns, " ", "");
		return ctl_fail(
		    err, errlen,
		    "%s: config/host names %s, which is not a host of the namespace (%s)", o->name,
		    shown(o->pin, q, sizeof q), m.b);
	}
	if (!ns->hosts[*host].up)
		return ctl_fail(err, errlen, "%s: pinned to %s, which is down", o->name, o->pin);
	return 0;
}

/* The index of the object of this launch called name, or NONE. Searching back from i
 * makes a chain (each object colocated with the one before) linear rather than quadratic. */
static size_t launch_find(const struct sched_obj *objs, size_t n, size_t i, const char *name)
{
	size_t j;

	for (j = i + 1; j-- > 0;)
		if (strcmp(objs[j].name, name) == 0)
			return j;
	for (j = i + 1; j < n; j++)
		if (strcmp(objs[j].name, name) == 0)
			return j;
	return NONE;
}

/* config/colocate: the host of an earlier object of this launch or of an existing one. */
static int obj_colocate(const struct sched_ns *ns, const struct sched_obj *objs, size_t n, size_t i,
			const size_t *placed, size_t *host, char *err, size_t errlen)
{
	const struct sched_obj *o = &objs[i];
	size_t j = launch_find(objs, n, i, o->colocate), k;
	char q[80];

	if (j == i)
		return ctl_fail(err, errlen, "%s: colocate names the object itself", o->name);
	if (j != NONE && j > i)
		return ctl_fail(
		    err, errlen,
		    "%s: colocate names %s, which is launched after it: launch %s first", o->name,
		    o->colocate, o->colocate);
	if (j != NONE) {
		*host = placed[j]; /* an earlier object: on a host that is up */
		return 0;
	}
	for (k = 0; k < ns->nexisting && strcmp(ns->existing[k].name, o->colocate); k++)
		;
	if (k == ns->nexisting)
		return ctl_fail(err, errlen, "%s: colocate names %s, which is not in the namespace",
				o->name, shown(o->colocate, q, sizeof q));
	*host = ns->existing[k].host;
	if (!ns->hosts[*host].up)
		return ctl_fail(err, errlen, "%s: colocated with %s, whose host %s is down",
				o->name, o->colocate, ns->hosts[*host].name);
	return 0;
}

/* The host that pin and colocate leave for objs[i], or NONE when any host will do. */
static int obj_target(const struct sched_ns *ns, const struct sched_obj *objs, size_t n, size_t i,
		      const size_t *placed, size_t *target, char *err, size_t errlen)
{
	const struct sched_obj *o = &objs[i];
	size_t pin = NONE, with = NONE;
	int rc;

	if (!unset(o->pin) && (rc = obj_pin(ns, o, &pin, err, errlen)))
		return rc;
	if (!unset(o->colocate) && (rc = obj_colocate(ns, objs, n, i, placed, &with, err, errlen)))
		return rc;
	if (pin != NONE && with != NONE && pin != with)
		return ctl_fail(err, errlen,
				"%s: pinned to %s but colocated with %s, which is on %s", o->name,
				o->pin, o->colocate, ns->hosts[with].name);
	*target = pin != NONE ? pin : with;
	return 0;
}

/* o must go to target: only its room and the coschedule limits can still refuse. */
static int obj_fixed(const struct sched_ns *ns, const struct load *loads, const struct sched_obj *o,
		     size_t target, size_t *host, char *err, size_t errlen)
{
	const struct sched_host *t = &ns->hosts[target];
	struct msg m = {.o = 0};
	char why[512], need[160];

	if (no_room(t, &loads[target], o)) {
		msg_room(&m, "", t, &loads[target]);
		needs(o, need, sizeof need);
		if (!unset(o->pin))
			ctl_fail(err, errlen, "%s: pinned to %s, which has no room for it: %s",
				 need, o->pin, m.b);
		else
			ctl_fail(err, errlen,
				 "%s: colocated with %s on %s, which has no room for it: %s", need,
				 o->colocate, t->name, m.b);
		return -ENOSPC;
	}
	if (!cosched_refuses(ns, &loads[target], target, o, why, sizeof why)) {
		*host = target;
		return 0;
	}
	if (!unset(o->pin))
		return ctl_fail(err, errlen, "%s: pinned to %s, but %s", o->name, o->pin, why);
	return ctl_fail(err, errlen, "%s: colocated with %s on %s, but %s", o->name, o->colocate,
			ns->hosts[target].name, why);
}

/* o may go anywhere: the best host that is up and that the limits allow. */
static int obj_free(const struct sched_ns *ns, const struct load *loads, const struct sched_obj *o,
		    size_t *host, char *err, size_t errlen)
{
	struct msg all = {.o = 0}, room = {.o = 0};
	size_t h, best = NONE;
	bool roomless = false;
	char why[512], need[160];

	for (h = 0; h < ns->nhosts; h++) {
		const char *sep = room.o ? "; " : "";
		if (!ns->hosts[h].up) {
			msg_room(&room, sep, &ns->hosts[h], &loads[h]);
		} else if (no_room(&ns->hosts[h], &loads[h], o)) {
			roomless = true;
			msg_room(&room, sep, &ns->hosts[h], &loads[h]);
		} else if (cosched_refuses(ns, &loads[h], h, o, why, sizeof why)) {
			msg_add(&all, "%s%s", all.o ? "; " : "", why);
			msg_add(&room, "%s%s", sep, why);
		} else if (best == NONE || host_better(ns, loads, h, best, o)) {
			best = h;
		}
	}
	if (best == NONE && roomless) {
		ctl_fail(err, errlen, "%s: no host has room for it: %s",
			 needs(o, need, sizeof need), room.b);
		return -ENOSPC;
	}
	if (best == NONE)
		return ctl_fail(
		    err, errlen,
		    "%s: no host that is up can take it under the coschedule limits (%s)", o->name,
		    all.b);
	*host = best;
	return 0;
}

/* Places objs[0..n) into placed[], updating loads as it goes. */
static int place_all(const struct sched_ns *ns, struct load *loads, const struct sched_obj *objs,
		     size_t n, size_t *placed, char *err, size_t errlen)
{
	size_t i, target = NONE, h = NONE;
	int rc;

	for (i = 0; i < n; i++) {
		rc = obj_target(ns, objs, n, i, placed, &target, err, errlen);
		if (rc)
			return rc;
		if (target != NONE)
			rc = obj_fixed(ns, loads, &objs[i], target, &h, err, errlen);
		else
			rc = obj_free(ns, loads, &objs[i], &h, err, errlen);
		if (rc)
			return rc;
		load_add(&loads[h], &objs[i]);
		placed[i] = h;
	}
	return 0;
}

int sched_place(const struct sched_ns *ns, const struct sched_obj *objs, size_t n, size_t *where,
		char *err, size_t errlen)
{
	struct load *loads = NULL;
	size_t *placed = NULL;
	int rc;

	if (n == 0)
		return 0;
	rc = ns_check(ns, err, errlen);
	if (rc)
		return rc;
	loads = calloc(ns->nhosts, sizeof *loads);
	placed = malloc(n * sizeof *placed);
	if (!loads || !placed) {
		ctl_fail(err, errlen, "out of memory");
		rc = -ENOMEM;
	}
	if (!rc)
		rc = loads_init(ns, loads, err, errlen);
	if (!rc)
		rc = place_all(ns, loads, objs, n, placed, err, errlen);
	if (!rc)
		memcpy(where, placed, n * sizeof *where);
	free(loads);
	free(placed);
	return rc;
}

void sched_plan(const struct sched_ns *ns, const struct sched_obj *objs, size_t n,
		const size_t *where, struct sbuf *out)
{
	struct load *loads = calloc(ns->nhosts ? ns->nhosts : 1, sizeof *loads);
	char ignored[8];
	size_t i, h;

	if (!loads) {
		out->oom = 1;
		return;
	}
	loads_init(ns, loads, ignored, sizeof ignored); /* its counters, even if an index is off */
	for (i = 0; i < n; i++) {
		if (where[i] >= ns->nhosts)
			continue;
		load_add(&loads[where[i]], &objs[i]);
		sb_printf(out, "%s %s\n", objs[i].name, ns->hosts[where[i]].name);
	}
	for (h = 0; h < ns->nhosts; h++) {
		const struct sched_host *sh = &ns->hosts[h];
		struct msg m = {.o = 0};
		msg_add(&m, "%s: %s%u object%s, ", sh->name,
			!sh->up	       ? "down, "
			: sh->draining ? "draining, "
				       : "",
			loads[h].objects, plural(loads[h].objects));
		msg_figures(&m, sh, &loads[h]);
		sb_printf(out, "%s\n", m.b);
	}
	free(loads);
}
