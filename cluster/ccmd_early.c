/* The watch of this host's own commands (P/cmd/SELF/), beside the cache's watch of the whole
 * prefix: a launch's `create` comes after its ~1,000 claims and records in revision order, so
 * the cache's watch carries it only once it has carried them all (up to 0.5 s behind with 31
 * members). This one carries only commands to this host: a create seen here first is taken at
 * once, its claims checked from the cache or, where the cache is behind, read from etcd
 * (cluster/ccmd_create.c). Other verbs wait for the cache, which they resolve ids by. Each
 * command is seen once: the key and create revision of the last ones seen by either watch. */
#include <stdio.h>
#include <string.h>

#include "cluster/ccmd_int.h"
#include "cluster/chosts.h"
#include "vmfs/loop.h"
#include "vmfs/node.h"

static bool seen_before(struct ccmd *c, const char *key, int64_t crev)
{
	for (size_t i = 0; i < CCMD_SEEN; i++)
		if (c->seen[i].crev == crev && !strcmp(c->seen[i].key, key))
			return true;
	return false;
}

bool ccmd_seen_once(struct ccmd *c, const char *key, int64_t crev)
{
	if (seen_before(c, key, crev))
		return false;
	struct ccmd_seen *s = &c->seen[c->seen_next++ % CCMD_SEEN];
	snprintf(s->key, sizeof(s->key), "%s", key);
	s->crev = crev;
	return true;
}

/* A create to this host that it can judge now: anything else is left to the cache's watch. */
static bool early_create(struct ccmd *c, const struct ckey *k, const struct etcd_kv *kv)
{
	struct crec_cmd cmd;
	char why[256];
	if (crec_cmd_read(kv->value, kv->value_len, &cmd, why, sizeof(why)))
		return false;
	struct cview *cv = c->v->cview;
	const struct cview_ns *cns = cv ? cview_ns_id(cv, cmd.ns) : NULL;
	const struct chost *from = chosts_find(c->ch, cmd.from);
	bool ok = !strcmp(cmd.verb, CCREATE_VERB) && cns && ns_find(&c->v->m, cns->name) && from &&
		  from->present && !strcmp(cmd.from, k->tag.host);
	crec_cmd_free(&cmd);
	return ok;
}

static void early_event(struct ccmd *c, const struct etcd_event *ev)
{
	const struct etcd_kv *kv = &ev->kv;
	struct ckey k;
	if (ev->type != ETCD_EV_PUT || kv->version != 1 || !c->ch->synced || c->ch->loading ||
	    ckey_parse(c->ch->cluster, kv->key, &k) != CK_CMD || strcmp(k.host, c->ch->self) ||
	    seen_before(c, kv->key, kv->create_revision) || !early_create(c, &k, kv))
		return;
	const struct ccache_kv now = {kv->key,		   kv->value,	    kv->value_len,
				      kv->create_revision, kv->mod_revision, kv->version,
				      kv->lease};
	ccmd_seen_once(c, kv->key, kv->create_revision);
	ccmd_member_seen(c, &k, &now);
}

static void early_close(struct ccmd *c)
{
	if (!c->early)
		return;
	if (c->loop)
		loop_del_fd(c->loop, etcd_watch_fd(c->early));
	etcd_watch_close(c->early);
	c->early = NULL;
}

static int on_early(void *arg)
{
	struct ccmd *c = arg;
	for (int rounds = 0; c->early && rounds < 16; rounds++) {
		struct etcd_wbatch b;
		etcd_watch_take(c->early, &b);
		enum etcd_wstatus st = b.status;
		for (size_t i = 0; st == ETCD_W_EVENTS && i < b.n && !c->stopping; i++)
			early_event(c, &b.events[i]);
		etcd_wbatch_free(&b);
		if (st == ETCD_W_COMPACTED) {
			evlog_add(&c->v->log, "cluster: the watch of this host's commands lost its "
					      "place: they come by the cache's watch alone now");
			early_close(c);
		}
		if (st == ETCD_W_NONE || st == ETCD_W_COMPACTED)
			break;
	}
	return 0;
}

void ccmd_early_open(struct ccmd *c)
{
	char prefix[CKEY_MAX + 1];
	struct err e = {0};
	if (ckey_cmd_prefix(prefix, sizeof(prefix), c->ch->cluster, c->ch->self) < 0 ||
	    etcd_watch_open(&c->o, prefix, 0, &c->early, &e) ||
	    loop_add_fd(c->loop, etcd_watch_fd(c->early), on_early, c)) {
		evlog_add(&c->v->log,
			  "cluster: no watch of this host's commands (%s): they come by the "
			  "cache's watch alone",
			  c->early ? "no room in the loop" : e.why);
		if (c->early)
			etcd_watch_close(c->early);
		c->early = NULL;
	}
}

void ccmd_early_close(struct ccmd *c) { early_close(c); }
