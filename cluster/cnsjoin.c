/* This host following the namespaces' records (cluster/cnsjoin.h). */
#include "cluster/cnsjoin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/chosts.h"
#include "cluster/cmove.h"
#include "cluster/cview.h"
#include "vmfs/node.h"

#define OWN_WAIT_S 5

/* what the last pass saw of one namespace of the cluster */
struct seen {
	char name[NAME_MAX_LEN + 1];
	bool listed; /* its record named this host */
	bool failed; /* it could not be made here (said once) */
};

static struct {
	int64_t rev;	 /* the cache's revision at the last pass */
	int64_t own_rev; /* this host's last owner write: applied from the record only after */
	struct timespec own_at; /* ... for at most OWN_WAIT_S (an etcd whose revisions went back) */
	struct seen *v;
	size_t n;
} S;

static const struct seen *seen_find(const char *name)
{
	for (size_t i = 0; i < S.n; i++)
		if (!strcmp(S.v[i].name, name))
			return &S.v[i];
	return NULL;
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
	if (!ns && now->listed) {
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
	free(S.v);
	S.v = w.next;
	S.n = w.n;
}
