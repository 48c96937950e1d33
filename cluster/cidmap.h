/* STATE/cluster/ids: which cluster ids this host's namespaces and objects were given when they
 * were claimed in etcd (issue 18, docs/cluster-design.md "Names and ids"). Local ids stay what
 * they are in the state directory; this map says what each is in the cluster, so that a restart
 * without etcd still knows under which keys its objects are published, and so that inode numbers
 * can become the cluster's (a later step).
 *
 *   v=1
 *   cluster=NAME          the cluster (key prefix) the ids belong to
 *   ns.LOCAL=CLUSTER      a namespace
 *   o.LOCALNS.LOCAL=ID    an object: its id in the cluster namespace ns.LOCALNS maps to
 *   t.LOCALNS.LOCAL=TAG   the launch (HOST.RUN.SEQ) that object was made for, until this host
 *                         has seen that launch done (its intent gone, the claim still its own):
 *                         a stray of a launch rolled back while this host was away is told by
 *                         it (kept here, not in the object's record: dropping it then cost a
 *                         second put of every record of a launch, to every member's watch)
 *
 * Written whole and atomically by cidmap_save; read strictly: a file that is not exactly this
 * (a key twice, an id out of range, an object of an unmapped namespace, two local ids mapped to
 * one cluster id, another cluster's map) is refused whole with the reason, never half used and
 * never removed: the admin decides (it is set aside by hand, and the next start claims again). */
#ifndef VMFS_CLUSTER_CIDMAP_H
#define VMFS_CLUSTER_CIDMAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/ckey.h"
#include "runtime/util.h"

#define CIDMAP_FILE "ids"         /* in STATE/cluster/ */
#define CIDMAP_MAX (64u << 20)    /* bytes read at most: a million objects' lines */

struct cidmap_ns {
	uint64_t local, cid;
};
struct cidmap_obj {
	uint64_t lns, local, cid;
	struct ckey_tag tag; /* host "" when none */
};

struct cidmap {
	char cluster[64];
	struct cidmap_ns *ns;
	size_t nns, capns;
	struct cidmap_obj *obj;
	size_t nobj, capobj;
};

void cidmap_free(struct cidmap *m);
/* 0, or -ENOMEM; an existing entry of the same local id is replaced. */
int cidmap_set_ns(struct cidmap *m, uint64_t local, uint64_t cid);
int cidmap_set_obj(struct cidmap *m, uint64_t lns, uint64_t local, uint64_t cid);
/* An object's launch tag set (host "" clears it): 0, or -ENOENT if the object is not mapped.
 * cidmap_set_obj keeps an entry's tag when it only changes its id. */
int cidmap_set_tag(struct cidmap *m, uint64_t lns, uint64_t local, const struct ckey_tag *tag);
/* Its tag, NULL if none. */
const struct ckey_tag *cidmap_tag(const struct cidmap *m, uint64_t lns, uint64_t local);
/* The cluster id of a local one, 0 if none. */
uint64_t cidmap_ns(const struct cidmap *m, uint64_t local);
uint64_t cidmap_obj(const struct cidmap *m, uint64_t lns, uint64_t local);
/* Drops a namespace (and its objects' entries) or an object. */
void cidmap_drop_ns(struct cidmap *m, uint64_t local);
void cidmap_drop_obj(struct cidmap *m, uint64_t lns, uint64_t local);

/* The file's text. */
void cidmap_render(const struct cidmap *m, struct sbuf *out);
/* Parses text[0..len) (modified in place) for cluster into out (zeroed, then filled); on a
 * fault -EINVAL with "line N: ..." or the inconsistency in err, and out empty. */
int cidmap_parse(char *text, size_t len, const char *cluster, struct cidmap *out, char *err,
		 size_t errlen);
/* STATE/cluster/ids from statefd (the state directory): an absent file is an empty map; any
 * other fault -errno with the reason (beginning with the file's path) in err. */
int cidmap_load(int statefd, const char *cluster, struct cidmap *out, char *err, size_t errlen);
/* Makes STATE/cluster (0700) if need be and writes the file atomically: synced if sync, else
 * as a rename the kernel holds (a kill of vmfs keeps it, a power cut may not). */
int cidmap_save(int statefd, const struct cidmap *m, bool sync);
/* The file as it is, synced (its directory too: the rename that put it there). */
int cidmap_sync(int statefd);
#endif
