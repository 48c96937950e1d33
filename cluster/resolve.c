/* A verb's target resolved against every host's objects, split by owner (cluster/resolve.h).
 * Names and ids are looked up in sorted indexes: a range may name 100,000 objects and a
 * namespace hold as many, and a linear search for each would be quadratic. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/resolve.h"
#include "ctl/util.h"

/* The objects, sorted by name and by id, for the lookups of named targets. */
struct index {
	const struct resolve_obj *objs;
	size_t n;
	size_t *by_name, *by_id;
};

/* qsort has no context argument in C11: the comparisons see the objects through this. */
struct keyed {
	const char *name;
	uint64_t id;
	size_t i;
};

static int by_name(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->i > y->i) - (x->i < y->i); /* the first of equal names is found */
}

static int by_id(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

static int index_build(struct index *ix, const struct resolve_obj *objs, size_t n)
{
	struct keyed *k = calloc(n ? n : 1, sizeof *k);
	ix->objs = objs;
	ix->n = n;
	ix->by_name = calloc(n ? n : 1, sizeof *ix->by_name);
	ix->by_id = calloc(n ? n : 1, sizeof *ix->by_id);
	if (!k || !ix->by_name || !ix->by_id) {
		free(k);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		k[i] = (struct keyed){.name = objs[i].name, .id = objs[i].id, .i = i};
	qsort(k, n, sizeof *k, by_name);
	for (size_t i = 0; i < n; i++)
		ix->by_name[i] = k[i].i;
	qsort(k, n, sizeof *k, by_id);
	for (size_t i = 0; i < n; i++)
		ix->by_id[i] = k[i].i;
	free(k);
	return 0;
}

static void index_free(struct index *ix)
{
	free(ix->by_name);
	free(ix->by_id);
}

#define NONE ((size_t)-1)

/* The first object called name, or NONE. */
static size_t find_name(const struct index *ix, const char *name)
{
	size_t lo = 0, hi = ix->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(ix->objs[ix->by_name[mid]].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ix->n && !strcmp(ix->objs[ix->by_name[lo]].name, name) ? ix->by_name[lo] : NONE;
}

/* The object whose id the word is, read as vmfs/ns.c reads one: decimal, whole. */
static size_t find_id(const struct index *ix, const char *word)
{
	char *end;
	unsigned long long id = strtoull(word, &end, 10);
	size_t lo = 0, hi = ix->n;

	if (*end || !*word)
		return NONE;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->objs[ix->by_id[mid]].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ix->n && ix->objs[ix->by_id[lo]].id == id ? ix->by_id[lo] : NONE;
}

/* The objects matched so far, in the order matched, each once. */
struct picked {
	size_t *v, n;
	bool *seen;
};

static void pick(struct picked *p, size_t i)
{
	if (!p->seen[i]) {
		p->seen[i] = true;
		p->v[p->n++] = i;
	}
}

/* A name or id the target gave, on a host that is up, must take the verb now. */
static int named_fits(const struct resolve_obj *o, const struct resolve_host *hosts, enum verb v,
		      char *err, size_t errlen)
{
	struct object probe;

	if (!hosts[o->host].up)
		return 0; /* its part is "down, not sent": its last state is no answer */
	if (o->busy) {
		snprintf(err, errlen, "%s is %s: %s waits until that has ended", o->name, o->busy,
			 verb_name(v));
		return -EBUSY;
	}
	/* the lifecycle's own table and words: "k3 is BUILDING: pause needs it RUNNING" */
	memset(&probe, 0, sizeof probe);
	snprintf(probe.name, sizeof probe.name, "%s", o->name);
	probe.state = o->state;
	return lifecycle_allows(&probe, (enum lcevent)v, err, errlen);
}

/* As on one host: every name is found first (ENOENT), then every state checked (EBUSY). */
static int pick_named(const struct index *ix, const struct resolve_host *hosts, const char *ns,
		      enum verb v, const char *spec, struct picked *p, char *missing, char *err,
		      size_t errlen)
{
	char **names, q[80];
	size_t count;
	int r = range_expand(spec, &names, &count, err, errlen);

	for (size_t k = 0; !r && k < count; k++) {
		size_t i = find_name(ix, names[k]);
		if (i == NONE)
			i = find_id(ix, names[k]);
		if (i != NONE) {
			pick(p, i);
			continue;
		}
		snprintf(err, errlen,
			 "no VM or container named %s in namespace %s (on any of its hosts)",
			 names[k], ctl_quote(ns, strlen(ns), q, sizeof q));
		snprintf(missing, NAME_MAX_LEN + 1, "%s", names[k]);
		r = -ENOENT;
	}
	for (size_t k = 0; !r && k < p->n; k++)
		r = named_fits(&ix->objs[p->v[k]], hosts, v, err, errlen);
	range_free(names);
	return r;
}

static int pick_pattern(const struct index *ix, const char *ns, const char *spec, struct picked *p,
			char *err, size_t errlen)
{
	bool all = !strcmp(spec, "all");
	char q[80], qs[80];

	for (size_t i = 0; i < ix->n; i++)
		if (all || ctl_glob(spec, ix->objs[i].name))
			pick(p, i);
	if (all || p->n)
		return 0;
	snprintf(err, errlen, "no VM or container in namespace %s matches %s (on any of its hosts)",
		 ctl_quote(ns, strlen(ns), q, sizeof q),
		 ctl_quote(spec, strlen(spec), qs, sizeof qs));
	return -ENOENT;
}

/* The picked objects split by host, in hosts order, each host's in the order picked. */
static int split(const struct resolve_obj *objs, const struct resolve_host *hosts, size_t nhosts,
		 const struct picked *p, struct resolution *r)
{
	size_t *per = calloc(nhosts ? nhosts : 1, sizeof *per), *at = NULL;
	size_t h, k, o = 0;

	r->ids_ = malloc((p->n ? p->n : 1) * sizeof *r->ids_);
	if (!per || !r->ids_)
		goto oom;
	for (k = 0; k < p->n; k++)
		per[objs[p->v[k]].host]++;
	for (h = 0; h < nhosts; h++)
		r->nparts += per[h] > 0;
	r->parts = calloc(r->nparts ? r->nparts : 1, sizeof *r->parts);
	at = calloc(nhosts ? nhosts : 1, sizeof *at);
	if (!r->parts || !at)
		goto oom;
	for (h = 0, k = 0; h < nhosts; h++) {
		if (!per[h])
			continue;
		r->parts[k] = (struct resolve_part){
		    .host = h, .down = !hosts[h].up, .ids = r->ids_ + o, .n = per[h]};
		at[h] = o;
		o += per[h];
		k++;
	}
	for (k = 0; k < p->n; k++) {
		const struct resolve_obj *ob = &objs[p->v[k]];
		r->ids_[at[ob->host]++] = ob->id;
	}
	r->total = p->n;
	free(per);
	free(at);
	return 0;
oom:
	free(per);
	free(at);
	return -ENOMEM;
}

int resolve(const struct resolve_host *hosts, size_t nhosts, const struct resolve_obj *objs,
	    size_t nobjs, const char *ns, enum verb verb, const char *spec, struct resolution *r,
	    char *err, size_t errlen)
{
	struct index ix = {0};
	struct picked p = {0};
	char missing[NAME_MAX_LEN + 1] = "";
	int rc = 0;

	memset(r, 0, sizeof *r);
	if ((unsigned)verb >= V_MAX)
		return ctl_fail(err, errlen, "verb %d is not one of the lifecycle's", (int)verb);
	for (size_t i = 0; i < nobjs; i++) {
		if (!objs[i].name)
			return ctl_fail(err, errlen, "object %zu of the input has no name", i);
		if (objs[i].host >= nhosts)
			return ctl_fail(err, errlen,
					"%s: host index %zu is out of range (the namespace has %zu "
					"hosts)",
					objs[i].name, objs[i].host, nhosts);
		/* the lifecycle's words index its names by state, unchecked */
		if ((unsigned)objs[i].state > ST_ERROR)
			return ctl_fail(err, errlen, "%s: state %d is not a state", objs[i].name,
					(int)objs[i].state);
	}
	if (!spec)
		spec = "";
	p.v = malloc((nobjs ? nobjs : 1) * sizeof *p.v);
	p.seen = calloc(nobjs ? nobjs : 1, sizeof *p.seen);
	if (!p.v || !p.seen || index_build(&ix, objs, nobjs))
		rc = -ENOMEM;
	if (!rc && (!strcmp(spec, "all") || strpbrk(spec, "*?"))) {
		r->unfit = UNFIT_SKIP;
		rc = pick_pattern(&ix, ns, spec, &p, err, errlen);
	} else if (!rc) {
		r->unfit = UNFIT_REFUSE;
		rc = pick_named(&ix, hosts, ns, verb, spec, &p, missing, err, errlen);
	}
	if (!rc)
		rc = split(objs, hosts, nhosts, &p, r);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (rc)
		resolve_free(r);
	memcpy(r->missing, missing, sizeof missing);
	index_free(&ix);
	free(p.v);
	free(p.seen);
	return rc;
}

void resolve_free(struct resolution *r)
{
	free(r->parts);
	free(r->ids_);
	memset(r, 0, sizeof *r);
}

void resolve_down_answer(const struct resolve_host *hosts, const struct resolve_part *p,
			 struct hostans *a)
{
	const struct resolve_host *h = &hosts[p->host];

	memset(a, 0, sizeof *a);
	snprintf(a->host, sizeof a->host, "%s", h->name);
	a->kind = HA_DOWN_NOT_SENT;
	a->down_since = h->down_since;
	a->since_at_least = h->since_at_least;
	a->objects = p->n > 0xffffffffu ? 0xffffffffu : (unsigned)p->n;
}
