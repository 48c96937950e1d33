/* This host following the namespaces' records (cluster/cnsjoin.h). */
#include "cluster/cnsjoin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/chosts.h"
#include "cluster/cidmap.h"
#include "cluster/ckey.h"
#include "cluster/cmove.h"
#include "cluster/cview.h"
#include "vmfs/node.h"

#define OWN_WAIT_S 5

/* what the last pass saw of one namespace of the cluster */
struct seen {
	char name[NAME_MAX_LEN + 1];
	bool listed; /* its record named this host */
	bool failed; /* it could not be made here (said once) */
	bool unmade; /* a record this host's publisher made for a namespace removed here since */
};

static struct {
	int64_t rev;	 /* the cache's revision at the last pass */
	int64_t own_rev; /* this host's last owner write: applied from the record only after */
	struct timespec own_at; /* ... for at most OWN_WAIT_S (an etcd whose revisions went back) */
	struct seen *v;
	size_t n;
	bool passed; /* a pass was made in this run */
	bool listening; /* told the cache's changes (changed) */
	char (*gone)[NAME_MAX_LEN + 1]; /* namespaces whose records went, not yet followed */
	size_t ngone;
} S;

static const struct seen *seen_find(const char *name)
{
	for (size_t i = 0; i < S.n; i++)
		if (!strcmp(S.v[i].name, name))
			return &S.v[i];
	return NULL;
}

static bool names_only(const struct crec_ns *rec, const char *self)
{
	return rec->nhosts == 1 && !strcmp(rec->hosts[0], self);
}

/* ns's record as the cache holds it (readable or not), or NULL. */
static const struct ccache_kv *record(struct vmfs *v, const char *ns)
{
	char key[CKEY_MAX + 1];
	return ckey_ns(key, sizeof(key), v->chosts->cluster, ns) < 0
		       ? NULL
		       : ccache_get(v->chosts->cache, key);
}

/* Whether ns's record in the cache was never written since it was made. */
static bool fresh(struct vmfs *v, const char *ns)
{
	const struct ccache_kv *kv = record(v, ns);
	return kv && kv->version == 1;
}

static bool names_self(const struct crec_ns *rec, const char *self)
{
	for (size_t h = 0; h < rec->nhosts; h++)
		if (!strcmp(rec->hosts[h], self))
			return true;
	return false;
}

bool cnsjoin_listed(struct vmfs *v, const char *ns)
{
	const struct cview_ns *c = v->cview ? cview_ns_find(v->cview, ns) : NULL;
	return c && names_self(&c->rec, cview_self(v->cview));
}

/* The record's owner and mode on local namespace ns, if they differ. */
static void take_owner(struct vmfs *v, struct ns *ns, uint64_t uid, uint64_t gid, uint64_t mode)
{
	if (ns->uid == (uid_t)uid && ns->gid == (gid_t)gid && (ns->mode & 07777) == mode)
		return;
	int r = ns_set_owner(&v->m, ns, (uid_t)uid, (gid_t)gid, (mode_t)mode);
	model_changes++;
	if (r)
		evlog_add(&ns->log, "cluster: owner %llu:%llu, mode %04llo from the cluster's record: cannot be kept here: %s",
			  (unsigned long long)uid, (unsigned long long)gid, (unsigned long long)mode,
			  strerror(-r));
	else
		evlog_add(&ns->log, "cluster: owner %llu:%llu, mode %04llo (the cluster's record)",
			  (unsigned long long)uid, (unsigned long long)gid, (unsigned long long)mode);
}

void cnsjoin_owner_written(struct vmfs *v, const char *name, uint64_t uid, uint64_t gid,
			   uint64_t mode, int64_t rev)
{
	struct ns *ns = ns_find(&v->m, name);
	if (rev > S.own_rev) {
		S.own_rev = rev;
		clock_gettime(CLOCK_MONOTONIC, &S.own_at);
	}
	if (ns && !ns->gone)
		take_owner(v, ns, uid, gid, mode);
}

/* One namespace of the cluster: what this host does by its record. */
static void follow(struct vmfs *v, const struct cview_ns *c, struct seen *now)
{
	const struct seen *was = seen_find(c->name);
	const char *self = cview_self(v->cview);
	struct ns *ns = ns_find(&v->m, c->name);
	if (ns && ns->gone)
		ns = NULL;
	snprintf(now->name, sizeof(now->name), "%s", c->name);
	now->listed = names_self(&c->rec, self);
	char err[512];
	/* a record never written since it was made (version 1) that names this host alone is
	 * one this host's publisher made (a claim names its maker only); for a namespace this
	 * host does not have, after the first pass, it claimed it just before an rmdir removed
	 * it here (it deletes that record: cluster/cns.c): not made again */
	now->unmade = !ns && S.passed && names_only(&c->rec, self) && fresh(v, c->name);
	if (now->unmade && !(was && was->unmade))
		evlog_add(&v->log, "cluster: ns/%s: its record names this host alone, but it was removed here: not made again (its record goes)",
			  c->name);
	if (!ns && now->listed && !now->unmade) {
		int r = ns_create(&v->m, c->name, (uid_t)c->rec.uid, (gid_t)c->rec.gid,
				  (mode_t)c->rec.mode, &ns, err, sizeof(err));
		model_changes++;
		if (r && !(was && was->failed))
			evlog_add(&v->log, "cluster: ns/%s names this host in its hosts, but it cannot be made here: %s (tried again when the records change)",
				  c->name, err);
		if ((now->failed = r != 0))
			return;
		evlog_add(&v->log, "cluster: ns/%s made here: its record names this host in its hosts",
			  c->name);
		evlog_add(&ns->log, "cluster: made here: the cluster's record names %s in its hosts",
			  self);
		return;
	}
	if (!ns)
		return;
	if (!now->listed && was && was->listed && strcmp(c->name, "default")) {
		size_t held = ns->objs[OT_VM].n + ns->objs[OT_CT].n;
		if (cmove_in_toward(ns)) { /* (looked at again once it ends) */
			now->listed = true;
			evlog_add(&v->log, "cluster: ns/%s no longer names this host in its hosts, but a move into it runs here: it stays",
				  c->name);
		} else if (held) {
			evlog_add(&v->log, "cluster: ns/%s no longer names this host in its hosts, but %zu of its objects are here: it stays",
				  c->name, held);
		} else if (ns_remove(&v->m, ns, err, sizeof(err))) {
			evlog_add(&v->log, "cluster: ns/%s no longer names this host in its hosts: %s",
				  c->name, err);
		} else {
			model_changes++;
			evlog_add(&v->log, "cluster: ns/%s removed here (empty): its record no longer names this host in its hosts",
				  c->name);
			return;
		}
	}
	take_owner(v, ns, c->rec.uid, c->rec.gid, c->rec.mode);
}

struct walk {
	struct vmfs *v;
	struct seen *next;
	size_t n, max;
};

static int each(void *ctx, const char *name, size_t idx)
{
	struct walk *w = ctx;
	(void)idx;
	const struct cview_ns *c = cview_ns_find(w->v->cview, name);
	if (c && w->n < w->max)
		follow(w->v, c, &w->next[w->n++]);
	return 0;
}

/* The cache's changes, on the loop: a namespace's record deleted (an rmdir ns/NS on some host;
 * or gone while the watch was away) is noted here, whenever it came and went (a record that
 * lived between two passes counts too), and followed at the next tick. */
static void changed(void *ctx, const char *key, const struct ccache_kv *old,
		    const struct ccache_kv *now)
{
	struct vmfs *v = ctx;
	struct ckey k;
	if (!old || now || ckey_parse(v->chosts->cluster, key, &k) != CK_NS)
		return;
	for (size_t i = 0; i < S.ngone; i++)
		if (!strcmp(S.gone[i], k.ns))
			return;
	void *g = realloc(S.gone, (S.ngone + 1) * sizeof(*S.gone));
	if (!g)
		return; /* out of memory: this copy stays (said nowhere: as a failed removal) */
	S.gone = g;
	snprintf(S.gone[S.ngone++], sizeof(*S.gone), "%s", k.ns);
}

/* Local namespace ns, whose record went (why: words for the log): its copy goes if it is
 * empty (and not `default`); with objects it stays, said. A record there again keeps it. */
static void drop_copy(struct vmfs *v, struct ns *ns, const char *why)
{
	char err[512], name[NAME_MAX_LEN + 1]; /* (ns goes with ns_remove) */
	if (!ns || ns->gone || record(v, ns->name) || !strcmp(ns->name, "default"))
		return;
	snprintf(name, sizeof(name), "%s", ns->name);
	size_t held = ns->objs[OT_VM].n + ns->objs[OT_CT].n;
	if (held) {
		evlog_add(&v->log, "cluster: ns/%s was removed from the cluster%s, but %zu of its objects are here: it stays",
			  name, why, held);
	} else if (ns_remove(&v->m, ns, err, sizeof(err))) {
		evlog_add(&v->log, "cluster: ns/%s was removed from the cluster%s: %s", name, why, err);
	} else {
		model_changes++;
		evlog_add(&v->log, "cluster: ns/%s removed here (empty): it was removed from the cluster%s",
			  name, why);
	}
}

static void follow_gone(struct vmfs *v)
{
	for (size_t i = 0; i < S.ngone; i++)
		drop_copy(v, ns_find(&v->m, S.gone[i]), "");
	S.ngone = 0;
}

/* At the first pass: a local namespace that STATE/cluster/ids maps to a cluster id (it was
 * the cluster's) but that has no record now was removed from the cluster while this host was
 * away (no deletion was seen). One never mapped is this host's own, claimed by its publisher
 * (a host that ran alone and joins keeps every namespace); so is every one when this host's
 * name is new in etcd (an etcd made anew: its publisher claims them again). */
static void gone_while_away(struct vmfs *v)
{
	struct cidmap map = {0};
	char err[512], key[CKEY_MAX + 1];
	/* only if this host's name was claimed in this etcd before this run: an etcd made anew
	 * (every record absent) removes nothing */
	const struct ccache_kv *kv = ckey_hid(key, sizeof(key), v->chosts->cluster,
					      v->chosts->self) < 0
					     ? NULL
					     : ccache_get(v->chosts->cache, key);
	struct crec_hid hid;
	if (!kv || crec_hid_read(kv->value, kv->len, &hid, err, sizeof(err)) ||
	    hid.joined >= (uint64_t)v->m.started)
		return;
	if (cidmap_load(v->m.statefd, v->chosts->cluster, &map, err, sizeof(err)))
		return; /* (the publisher says why, and refuses the start) */
	struct ns **away = v->m.nns ? calloc(v->m.nns, sizeof(*away)) : NULL;
	size_t n = 0;
	for (size_t i = 0; away && i < v->m.nns; i++)
		if (v->m.nss[i]->id && cidmap_ns(&map, v->m.nss[i]->id))
			away[n++] = v->m.nss[i]; /* (ns_remove changes nss: collected first) */
	for (size_t i = 0; i < n; i++)
		drop_copy(v, away[i], " while this host was away");
	free(away);
	cidmap_free(&map);
}

void cnsjoin_now(struct vmfs *v)
{
	S.rev = 0;
	cnsjoin_tick(v);
}

void cnsjoin_tick(struct vmfs *v)
{
	struct chosts *ch = v->chosts;
	if (!ch || !v->cview || !ch->synced || chosts_get_link(ch, NULL, 0) != CL_JOINED)
		return;
	if (!S.listening)
		S.listening = !chosts_listen(ch, changed, v);
	if (!S.passed)
		gone_while_away(v);
	follow_gone(v);
	int64_t rev = ccache_revision(ch->cache);
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	if (rev >= S.own_rev || t.tv_sec - S.own_at.tv_sec > OWN_WAIT_S)
		S.own_rev = 0;
	if (rev == S.rev || S.own_rev)
		return;
	size_t max = cview_ns_count(v->cview);
	struct walk w = {v, max ? calloc(max, sizeof(struct seen)) : NULL, 0, max};
	if (max && !w.next)
		return; /* out of memory: again at the next tick */
	S.rev = rev;
	cview_ns_names(v->cview, 0, each, &w);
	S.passed = true;
	free(S.v);
	S.v = w.next;
	S.n = w.n;
}
