/* `move NAME HOST` of ns/NS/ctl in a cluster on etcd (docs/cluster-design.md, "Drain, move,
 * live migration"), written on any host.
 *
 * The entry (cluster/cmove.c) parses the line and checks, from the cache, what any move
 * needs: NAME claimed in the namespace and not moving already, HOST a host of the namespace,
 * up, not draining, not NAME's own host, with room for it (its P/cap/H and info). Then by
 * NAME's state:
 *
 * - stopped (BUILDING, QUIT, ERROR): a cold move (intent kind=move), built here;
 * - a running container: refused, EBUSY "stop it first" (no CRIU);
 * - a running VM: the live path, cmove_live (cluster/cmove_live.c, intent kind=migrate).
 *
 * Return convention of every entry here, as ns/NS/ctl's verbs: 0 with the answer in reply;
 * -EINPROGRESS with wait set (the write waits); or -errno with err in words. */
#ifndef VMFS_CLUSTER_CMOVE_H
#define VMFS_CLUSTER_CMOVE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/model.h"

struct vmfs;
struct ns;
struct vwait;
struct sbuf;
struct etcd;
struct ckey_tag;
struct crec_intent;

/* What the entry found, for the path that carries the move out. */
struct cmove_req {
	struct ns *ns;	   /* the namespace, on this host (the head) */
	uint64_t nsid, id; /* the namespace's and the object's ids in the cluster */
	enum otype type;
	char name[NAME_MAX_LEN + 1];
	char src[NAME_MAX_LEN + 1]; /* its owner now (may be this host, or not) */
	char dst[NAME_MAX_LEN + 1]; /* HOST: up, not draining, a host of the namespace, with room */
	bool src_is_self;	    /* the head is its owner: local is its object */
	struct object *local;	    /* NULL when another host owns it */
	uint64_t vcpus, memory;	    /* what it reserves (moved from P/cap/src to P/cap/dst) */
};

/* Whether word is the verb here ("move"). */
bool cmove_verb(const char *word);

/* Whether a cold move into ns runs here (its copy is in ns's dir, no model object yet): a
 * namespace that no longer names this host is kept meanwhile (cluster/cnsjoin.c). Loop. */
bool cmove_in_toward(const struct ns *ns);

/* `move NAME HOST` (argv[0] "move", argc 3) on namespace ns, from the loop. */
int cmove_start(struct vmfs *v, struct ns *ns, int argc, char **argv, struct vwait *wait,
		struct sbuf *reply, char *err, size_t errlen);

/* The live path, for a RUNNING (or PAUSED) VM: rq as checked by the entry. Implemented in
 * cluster/cmove_live.c (branch lmove); until then it refuses, EOPNOTSUPP. */
int cmove_live(struct vmfs *v, const struct cmove_req *rq, struct vwait *wait, struct sbuf *reply,
	       char *err, size_t errlen);

/* A cold move's intent left by its destination (cut, killed or restarted before its commit),
 * run by self now (its own of an earlier run, or adopted): rolled back (cluster/cmove_recover.c:
 * each claim it marks unmarked by CAS, the intent deleted). from: who ran it. 0 with the words
 * for the logs in line, or -errno with err. BLOCKS (etcd). */
int cmove_recover(struct etcd *c, const char *cluster, const char *self,
		  const struct ckey_tag *tag, const struct crec_intent *in, const char *from,
		  char *line, size_t linelen, char *err, size_t errlen);

/* The destination's copy carries its move's tag in this file (a dot name: tar of a later move
 * skips it, the loader ignores it) from before it takes the object's name until the loop loads
 * it after the commit: a copy found with it whose claim names another host and whose intent is
 * gone is a rolled-back move's (cluster/cns.c). */
#define CMOVE_COPY_TAG ".moved-in"
/* The tag of object ns/type/name beneath the state directory statefd: 1 (in *tag), 0 none,
 * -errno unreadable. Any thread. */
int cmove_copy_tag(int statefd, const char *ns, enum otype type, const char *name,
		   struct ckey_tag *tag);
/* ... and removed: the object is this host's. */
void cmove_copy_untag(int statefd, const char *ns, enum otype type, const char *name);
#endif
