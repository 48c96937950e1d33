/* The publisher's thread recovers launch intents (cluster/cintent.h): its own of earlier runs
 * at its first pass (a launch of this run may be under way already: it waits only for the
 * join), and those of hosts down long enough at most every CPUB_INTENT_MS (a host must be
 * down 2 s first; ranging every intent at every pass made each member fetch a launch's whole
 * intent at each of its records' passes). A pass comes at least every CPUB_INTENT_MS for it. */
#include <string.h>
#include <time.h>

#include "cluster/cintent.h"
#include "cluster/cpub_int.h"
#include "vmfs/node.h"

struct rctx {
	struct cpub *p;
	const struct psnap *s;
};

uint64_t cpub_local_ns(const struct cpub *p, uint64_t nsid)
{
	for (size_t i = 0; i < p->map.nns; i++)
		if (p->map.ns[i].cid == nsid)
			return p->map.ns[i].local;
	return 0;
}

static bool here(void *ctx, uint64_t nsid, const char *name)
{
	const struct rctx *c = ctx;
	uint64_t lns = cpub_local_ns(c->p, nsid);
	for (size_t i = 0; lns && i < c->s->nobj; i++)
		if (c->s->obj[i].lns == lns && !strcmp(c->s->obj[i].rec.name, name))
			return true;
	return false;
}

static void say(void *ctx, uint64_t nsid, const char *line)
{
	const struct rctx *c = ctx;
	cpub_say(c->p, cpub_local_ns(c->p, nsid), "%s", line);
}

/* An intent another host wrote that this vmfs cannot read: said once per key and revision
 * (the last few remembered: the pass comes every second). */
static void bad(void *ctx, const char *key, int64_t rev, const char *why)
{
	static __thread struct said {
		char key[CKEY_MAX + 1];
		int64_t rev;
	} said[8];
	static __thread unsigned next;
	for (size_t i = 0; i < 8; i++)
		if (said[i].rev == rev && !strcmp(said[i].key, key))
			return;
	snprintf(said[next].key, sizeof(said[next].key), "%s", key);
	said[next].rev = rev;
	next = (next + 1) % 8;
	const struct rctx *c = ctx;
	cpub_say(c->p, 0, "%s: %s: this intent is left alone (treated as absent)", key, why);
}

int cpub_intents(struct cpub *p, const struct psnap *s, struct err *e)
{
	struct rctx c = {p, s};
	char why[1024];
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (p->recovered && (now.tv_sec - p->intents_at.tv_sec) * 1000 +
				    (now.tv_nsec - p->intents_at.tv_nsec) / 1000000 <
				CPUB_INTENT_MS)
		return 0;
	int r = cintent_recover(p->c, p->cluster, p->host, p->v->m.run, !p->recovered, true,
				(uint64_t)time(NULL), here, say, bad, &c, why, sizeof(why));
	if (r < 0)
		return err_set(e, -r, "launch intents: %s", why);
	p->recovered = true;
	p->intents_at = now;
	return 0;
}
