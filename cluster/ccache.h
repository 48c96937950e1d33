/* The cluster's records as this vmfs knows them (docs/cluster-design.md, "Membership"): every
 * key under the cluster's prefix at one etcd revision, loaded from a snapshot (a range at R)
 * and moved on by the watch's events from R + 1. No I/O here: the membership thread ranges
 * and watches, the loop hands what it got to this cache, the tree reads from it.
 *
 * Keys are kept in a treap (a balanced search tree: lookups and inserts in O(log n), prefixes
 * walked in key order), sized for a cluster's 100,000 objects; each key with its value and
 * etcd's create/mod revisions, version and lease.
 *
 * What changed is told to a callback, per key, after the change: old NULL for a new key, now
 * NULL for a key gone; both valid for the call only. A loaded snapshot tells what differs from
 * the cache it replaces, so a resync after compaction reports the keys that vanished between.
 * Not thread-safe: one thread (vmfs's loop) owns it. */
#ifndef VMFS_CLUSTER_CCACHE_H
#define VMFS_CLUSTER_CCACHE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One key as the cache holds it; value is NUL-terminated (the NUL not counted). */
struct ccache_kv {
	const char *key;
	const char *value;
	size_t len;
	int64_t create_rev, mod_rev, version, lease;
};

/* One change from the watch: a PUT (with the key's new value and fields) or a DELETE (only
 * key and mod_rev, the revision of the delete, are read). */
struct ccache_event {
	bool del;
	struct ccache_kv kv;
};

typedef void (*ccache_change_fn)(void *ctx, const char *key, const struct ccache_kv *old,
				 const struct ccache_kv *now);

struct ccache;

struct ccache *ccache_new(void);
void ccache_free(struct ccache *c);

/* The revision the cache is at (0: nothing loaded), and how many keys it holds. */
int64_t ccache_revision(const struct ccache *c);
size_t ccache_count(const struct ccache *c);

/* Replaces the whole cache by the n keys of a snapshot read at revision rev (in any order; a
 * key twice: the later wins), telling fn (if not NULL) every key new, changed or gone. 0, or
 * -ENOMEM with the cache as it was. */
int ccache_load(struct ccache *c, const struct ccache_kv *kv, size_t n, int64_t rev,
		ccache_change_fn fn, void *ctx);

/* Applies a batch of watch events in order. An event at or below the revision the cache had
 * before the batch is one the cache has already (a snapshot newer than the watch's start):
 * skipped. Events of one revision (a txn's) may come in one batch. After it the cache is at
 * the highest revision seen. 0, or -ENOMEM (the events before the failing one applied). */
int ccache_apply(struct ccache *c, const struct ccache_event *ev, size_t n, ccache_change_fn fn,
		 void *ctx);

/* The revision a watch answer without events says the store is at (a progress note). */
void ccache_advance(struct ccache *c, int64_t rev);

/* key's record, or NULL; valid until the next load or apply. */
const struct ccache_kv *ccache_get(const struct ccache *c, const char *key);

/* Calls fn for every key that starts with prefix, in key order, until it returns non-zero
 * (returned). fn must not change the cache. */
int ccache_each(const struct ccache *c, const char *prefix,
		int (*fn)(void *ctx, const struct ccache_kv *kv), void *ctx);
#endif
