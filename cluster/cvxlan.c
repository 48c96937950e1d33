/* Each host's own VXLANs in a cluster on etcd (cluster/cvxlan.h). */
#include "cluster/cvxlan.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/chosts.h"
#include "cluster/crec.h"
#include "cluster/cview.h"
#include "runtime/net.h"
#include "vmfs/node.h"

#define VID_MAX 4094
#define PEERS_LEN 1024 /* net_vxlan's list */

/* What this host last made, by VLAN id: "" none. */
static struct {
	char (*made)[PEERS_LEN];
	bool said_full[VID_MAX + 1]; /* the log said its peers overflow the list */
	bool said_owner[VID_MAX + 1]; /* the log said its local namespace is not known */
	/* a VXLAN found at this run's first tick: an earlier run (killed -9, its objects running
	 * on) made it with the peers it knew then, which S.made does not say: made again whole,
	 * or removed if nothing here wants it */
	bool found[VID_MAX + 1];
	int64_t rev;
	uint64_t changes;
	time_t at;
} S;

/* peers only for the VLANs used here: a tick allocates no more than they need */
#define OWNER_NONE UINT64_MAX /* used here, but by no one namespace of the cluster known */
struct want {
	bool here[VID_MAX + 1], full[VID_MAX + 1];
	/* the cluster namespace (its NSID) whose NICs use the VLAN here: only NICs of that
	 * namespace on other hosts are peered, or two tenants with one numeric id share L2 */
	uint64_t owner[VID_MAX + 1];
	char *peers[VID_MAX + 1];
	struct vmfs *v;
	const char *self;
};

static bool listed(const char *list, const char *addr)
{
	size_t l = strlen(addr);
	for (const char *p = list; (p = strstr(p, addr)); p += l)
		if ((p == list || p[-1] == ',') && (p[l] == ',' || !p[l]))
			return true;
	return false;
}

/* false when the list is full: addr is left out */
static bool add_peer(char *list, const char *addr)
{
	size_t l = strlen(addr), n = strlen(list);
	if (listed(list, addr))
		return true; /* two objects of one host */
	if (n + l + 2 >= PEERS_LEN)
		return false;
	snprintf(list + n, PEERS_LEN - n, "%s%s", n ? "," : "", addr);
	return true;
}

/* A NIC's VLAN id as its host resolved it, 0 if not said (an alias of an older vmfs). */
static unsigned nic_vid(const struct crec_nic *n)
{
	char *end;
	unsigned long id = n->vid;
	if (!id && n->vlan[0] >= '0' && n->vlan[0] <= '9')
		id = strtoul(n->vlan, &end, 10); /* a number: its own id (checked by the reader) */
	return id >= 1 && id <= VID_MAX ? (unsigned)id : 0;
}

/* Whether a NIC of another host's object in namespace nsid is on VLAN id of this host:
 * the same id in the same namespace, never the same number of another tenant. */
static bool same_lan(const struct want *w, unsigned id, uint64_t nsid)
{
	return id && w->here[id] && w->owner[id] != OWNER_NONE && w->owner[id] == nsid;
}

/* One object of another host: its NICs' VLANs used here too take its host's address. */
static int other_obj(void *ctx, const struct cview_obj *o, size_t idx)
{
	struct want *w = ctx;
	(void)idx;
	bool shared = false; /* NICs are in a record only while the object runs */
	for (size_t i = 0; o->rec && i < o->rec->nnic && !shared; i++)
		shared = same_lan(w, nic_vid(&o->rec->nic[i]), o->nsid);
	struct crec_alive a;
	struct in_addr in;
	if (!shared || !chosts_alive(w->v->chosts, o->claim.host, &a) ||
	    inet_pton(AF_INET, a.addr, &in) != 1)
		return 0; /* down, or no IPv4 address to reach it at */
	for (size_t i = 0; i < o->rec->nnic; i++) {
		unsigned id = nic_vid(&o->rec->nic[i]);
		if (!same_lan(w, id, o->nsid) || !w->peers[id] || add_peer(w->peers[id], a.addr))
			continue;
		w->full[id] = true;
		if (!S.said_full[id]) /* (said once: the records change often) */
			evlog_add(&w->v->log,
				  "error: cluster: VLAN %u: more hosts use it than its VXLAN's list holds (%d bytes): %s (and maybe others) left out, so this host does not reach their objects on it",
				  id, PEERS_LEN, a.addr);
		S.said_full[id] = true;
	}
	return 0;
}

static int each_ns(void *ctx, const char *name, size_t idx)
{
	struct want *w = ctx;
	(void)idx;
	const struct cview_ns *c = cview_ns_find(w->v->cview, name);
	if (c)
		cview_objs(w->v->cview, c->rec.id, -1, w->self, 0, other_obj, w);
	return 0;
}

/* The VLAN ids this host's running objects have NICs on, each with its cluster namespace:
 * OWNER_NONE when that is not known or two namespaces here use one id (a bridge shared). */
static void local_vlans(struct want *w, const struct model *m)
{
	for (size_t i = 0; i < m->nns; i++) {
		const struct cview_ns *c = cview_ns_find(w->v->cview, m->nss[i]->name);
		uint64_t nsid = c ? c->rec.id : OWNER_NONE;
		for (int t = 0; t < 2; t++)
			for (size_t j = 0; j < m->nss[i]->objs[t].n; j++) {
				const struct object *o = m->nss[i]->objs[t].v[j];
				for (int k = 0; o->rt.nics && k < o->rt.nnics; k++) {
					unsigned vid = o->rt.nics[k].vid;
					if (vid < 1 || vid > VID_MAX)
						continue;
					bool other = w->here[vid] && w->owner[vid] != nsid;
					w->here[vid] = true;
					w->owner[vid] = other ? OWNER_NONE : nsid;
				}
			}
	}
}

/* A VLAN whose namespace is not known is peered with nobody: said once while it lasts. */
static void say_unowned(struct want *w)
{
	for (unsigned vid = 1; vid <= VID_MAX; vid++) {
		bool unowned = w->here[vid] && w->owner[vid] == OWNER_NONE;
		if (unowned && !S.said_owner[vid])
			evlog_add(&w->v->log,
				  "error: cluster: VLAN %u: used here by no one namespace of the cluster (two namespaces, or one etcd does not list): its VXLAN is peered with no other host, so tenants stay apart",
				  vid);
		S.said_owner[vid] = unowned;
	}
}

static int addr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The list in one order, whatever order the records were walked in: an unchanged set is
 * not made again. */
static void sort_peers(char *list)
{
	char copy[PEERS_LEN], *tok[PEERS_LEN / 2], *save = NULL;
	size_t n = 0;
	snprintf(copy, sizeof(copy), "%s", list);
	for (char *t = strtok_r(copy, ",", &save); t && n < PEERS_LEN / 2; t = strtok_r(NULL, ",", &save))
		tok[n++] = t;
	qsort(tok, n, sizeof(*tok), addr_cmp);
	*list = 0;
	for (size_t i = 0; i < n; i++)
		add_peer(list, tok[i]);
}

/* Each address of list a that b lacks, added (add) or taken off VLAN vid's VXLAN. */
static int peers_diff(struct vmfs *v, unsigned vid, const char *a, const char *b, bool add,
		      char *why, size_t whylen)
{
	char copy[PEERS_LEN], *save = NULL;
	snprintf(copy, sizeof(copy), "%s", a);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (!listed(b, t) && net_vxlan_peer(&v->m, vid, t, add, why, whylen))
			return -1;
	return 0;
}

/* VLAN vid's VXLAN to peers: the flood entries that changed when it is there (the others'
 * traffic goes on), else made whole (or removed, peers ""). 0, or -1 when it failed (said):
 * a VXLAN found at the start is then tried again. */
static int make(struct vmfs *v, unsigned vid, const char *peers)
{
	char why[512];
	const char *was = S.made[vid];
	if (*peers && *was && net_vxlan_present(&v->m, vid) &&
	    !peers_diff(v, vid, was, peers, false, why, sizeof(why)) &&
	    !peers_diff(v, vid, peers, was, true, why, sizeof(why))) {
		evlog_add(&v->log, "cluster: VLAN %u's VXLAN now floods to %s", vid, peers);
		snprintf(S.made[vid], PEERS_LEN, "%s", peers);
		return 0;
	}
	if (net_vxlan(&v->m, vid, peers, why, sizeof(why))) {
		evlog_add(&v->log, "error: cluster: VLAN %u's VXLAN to %s: %s (tried again when the records change)",
			  vid, *peers ? peers : "none", why);
		S.made[vid][0] = 0;
		return -1;
	}
	if (*peers)
		evlog_add(&v->log, "cluster: VLAN %u joined by VXLAN to %s", vid, peers);
	else if (S.found[vid])
		evlog_add(&v->log, "cluster: VLAN %u's VXLAN, left by an earlier run, removed: no "
			  "host up uses the VLAN with this one", vid);
	else if (S.made[vid][0])
		evlog_add(&v->log, "cluster: VLAN %u's VXLAN removed: no other host up uses it", vid);
	snprintf(S.made[vid], PEERS_LEN, "%s", peers);
	return 0;
}

void cvxlan_tick(struct vmfs *v)
{
	/* (joined comes before the first snapshot is loaded: an empty cache would say no peer
	 * uses anything, and a VXLAN found at the start would be removed under running guests) */
	if (!v->chosts || !v->cview || chosts_get_link(v->chosts, NULL, 0) != CL_JOINED ||
	    !v->chosts->synced)
		return;
	time_t now = time(NULL);
	int64_t rev = ccache_revision(v->chosts->cache);
	if (S.made && rev == S.rev && model_changes == S.changes && now - S.at < 5)
		return;
	if (!S.made) {
		if (!(S.made = calloc(VID_MAX + 1, sizeof(*S.made))))
			return;
		net_vxlans_present(&v->m, S.found, VID_MAX);
	}
	/* one kept for every tick: a fresh calloc of its 74 KB faulted its pages in again at each
	 * tick of a launch (the heap's top given back in between) */
	static struct want *w;
	if (!w && !(w = malloc(sizeof(*w))))
		return;
	memset(w, 0, sizeof(*w));
	w->v = v;
	w->self = cview_self(v->cview);
	local_vlans(w, &v->m);
	say_unowned(w);
	bool oom = false;
	for (unsigned vid = 1; vid <= VID_MAX; vid++)
		oom |= w->here[vid] && !(w->peers[vid] = calloc(1, PEERS_LEN));
	if (oom) /* (again at the next tick) */
		goto out;
	S.rev = rev;
	S.changes = model_changes;
	S.at = now;
	cview_ns_names(v->cview, 0, each_ns, w);
	for (unsigned vid = 1; vid <= VID_MAX; vid++) {
		S.said_full[vid] &= w->full[vid]; /* (said again if it overflows again) */
		if (!w->here[vid] && !S.made[vid][0] && !S.found[vid])
			continue;
		char none[1] = "", *want = w->peers[vid] ? w->peers[vid] : none;
		if (strchr(want, ','))
			sort_peers(want);
		if ((S.found[vid] || strcmp(want, S.made[vid]) ||
		     (*want && !net_vxlan_present(&v->m, vid))) &&
		    !make(v, vid, want))
			S.found[vid] = false;
	}
out:
	for (unsigned vid = 1; vid <= VID_MAX; vid++)
		free(w->peers[vid]);
}
