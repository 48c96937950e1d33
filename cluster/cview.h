/* The cluster as this vmfs sees it (docs/cluster-design.md, "Names and ids", "The tree on
 * every host"): every namespace, and every object's claim joined with its owner's record,
 * built from the cache (cluster/ccache.h) as its changes come. No I/O: vmfs's loop owns it;
 * cview_changed is one of the cache's change callbacks (chosts_listen).
 *
 * Each record is read once, when its event comes, by crec's readers; one that fails is absent
 * and its key and reason are logged (once per revision: each event is one).
 *
 * - Namespaces: P/ns/NAME, by name and by id (P/ns/NAME's `id`; a second record with an id
 *   already taken is refused and logged). A record that fails its reader where a readable one
 *   was keeps that one (logged): another host's bad write changes nothing here.
 * - Objects: a claim P/name/NSID/NAME (id, type, host, intent) is an object; it is listed
 *   (o->rec not NULL) when its owner's record P/h/HOST/o/NSID/ID exists, HOST being the
 *   claim's host. A record without a claim, or under another host, is kept but not listed (a
 *   move may make it the one). A second claim with an id already claimed in the namespace is
 *   refused and logged. Lookups by (nsid, name) and (nsid, id) are hashed; a namespace's
 *   objects are walked in name order (sorted when asked after a change): sized for 100,000.
 * - Hosts: up while P/h/H/alive exists; down since P/down/H's `since`.
 * - Top: P/h/H/top/NSID, rows sorted by id once when the event comes.
 *
 * Pointers returned are valid until the next change (the loop's next cache event). */
#ifndef VMFS_CLUSTER_CVIEW_H
#define VMFS_CLUSTER_CVIEW_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cluster/ccache.h"
#include "cluster/crec.h"
#include "cluster/resolve.h"

struct chosts;
struct evlog;
struct cview;

/* A namespace of the cluster: P/ns/NAME as read. */
struct cview_ns {
	char name[NAME_MAX_LEN + 1];
	struct crec_ns rec; /* id, hosts, next_id, uid, gid, mode, ctime */
};

/* An object: its claim, and its owner's record when there is one (listed only then). */
struct cview_obj {
	uint64_t nsid, id;
	char name[NAME_MAX_LEN + 1];
	struct crec_claim claim;    /* type, host (the owner), intent, ctime, moving */
	const struct crec_obj *rec; /* P/h/claim.host/o/NSID/ID, or NULL: not listed */
	/* the view's own */
	struct cview_obj *next_name_, *next_id_;
	size_t pos_;
};

/* An object's state as the tree shows it. */
struct cview_state {
	bool unknown;	     /* UNKNOWN: its host is down, or this host is cut from etcd */
	enum ostate state;   /* the record's (when unknown: the last known) */
	time_t since;	     /* when it began: the record's since, or the host's down since, or
			      * this host's cut; 0 if unknown */
	bool since_at_least; /* the host went down with nobody to see it */
	char why[NAME_MAX_LEN + 64]; /* for UNKNOWN: "h4 is down", "this host is cut from etcd" */
};

/* self: this host's name; ch (may be NULL in tests: then every host's link counts as joined)
 * gives this host's link to etcd. NULL without memory. */
struct cview *cview_new(const char *cluster, const char *self, struct chosts *ch,
			struct evlog *log);
void cview_free(struct cview *v);

/* The cache's change callback (ctx: the cview). */
void cview_changed(void *ctx, const char *key, const struct ccache_kv *old,
		   const struct ccache_kv *now);

/* The host it was made for (this host). */
const char *cview_self(const struct cview *v);

/* Namespaces: by name, by id (NULL if none); names in name order from index from, until fn
 * returns non-zero (returned), as vtab's names. */
const struct cview_ns *cview_ns_find(const struct cview *v, const char *name);
const struct cview_ns *cview_ns_id(const struct cview *v, uint64_t nsid);
size_t cview_ns_count(const struct cview *v);
int cview_ns_names(struct cview *v, size_t from, int (*fn)(void *ctx, const char *name, size_t idx),
		   void *ctx);

/* An object by name or by id in namespace nsid, claimed (o->rec may be NULL: claimed, not
 * listed), or NULL. */
const struct cview_obj *cview_obj_find(const struct cview *v, uint64_t nsid, const char *name);
const struct cview_obj *cview_obj_id(const struct cview *v, uint64_t nsid, uint64_t id);

/* Walks namespace nsid's listed objects (with a record) in name order, from index from (an
 * index is a position among its claims: not contiguous), until fn returns non-zero
 * (returned). type: OT_KVM or OT_CONTAINER only those; -1 all. skip_host: objects of that
 * host are left out (NULL: none). fn must not change the view. */
int cview_objs(struct cview *v, uint64_t nsid, int type, const char *skip_host, size_t from,
	       int (*fn)(void *ctx, const struct cview_obj *o, size_t idx), void *ctx);
/* How many objects namespace nsid holds (claims, listed or not): what rmdir refuses on. */
size_t cview_obj_count(const struct cview *v, uint64_t nsid);

/* How many claims (listed or not) of every namespace name host as owner: count[OT_VM],
 * count[OT_CT]. A walk of every claim: for a read of hosts/H/top, not for a hot path. */
void cview_host_counts(const struct cview *v, const char *host, size_t count[2]);

/* o's state as shown (now: the time it is asked at). */
void cview_state_of(struct cview *v, const struct cview_obj *o, struct cview_state *out);
/* `UNKNOWN since T: h4 is down`, `RUNNING since T` (one line, with the newline). */
void cview_state_text(struct cview *v, const struct cview_obj *o, struct sbuf *out);

/* Whether host is up (its alive exists), and since when it is down (0: no down record). */
bool cview_host_up(const struct cview *v, const char *host, time_t *down_since,
		   bool *since_at_least);

/* Host's top row of object id in namespace nsid: the figures as printed, or NULL. */
const char *cview_top(const struct cview *v, const char *host, uint64_t nsid, uint64_t id);

/* For resolve() (cluster/resolve.h): namespace nsid's hosts (its record's `hosts`, then any
 * other owner of its objects) and every claimed object with a record, states as
 * cview_state_of shows them, busy "moving to H" while a claim says moving. Pointers into the
 * view: valid until the next change. 0, or -ENOMEM. Free with cview_resolve_free. */
struct cview_resolve {
	struct resolve_host *hosts;
	size_t nhosts;
	struct resolve_obj *objs;
	size_t nobjs;
	char *busy_; /* the busy texts */
};
int cview_resolve_set(struct cview *v, uint64_t nsid, struct cview_resolve *out);
void cview_resolve_free(struct cview_resolve *r);
#endif
