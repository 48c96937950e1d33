/* Resolution at the head (docs/cluster-design.md, "Commands"): a verb's target, as a
 * namespace's ctl takes it on one host (`all`, a glob, names, ranges such as k[1-30], ids),
 * expanded against the objects of every host of the namespace, then split by owner. Members
 * receive ids, never patterns, with the flag that says what to do with an object whose state
 * does not take the verb: skip it (all, a glob) or refuse (it was named).
 *
 * One host's words and rules, reused rather than written again: range_expand (ctl/range.c)
 * for names and ranges, ctl_glob for globs, the lifecycle's table (lifecycle_allows) for
 * whether a state takes a verb, and vmfs/ns.c's order (a name, then an id; a target with '*'
 * or '?' is a glob). Pure: no I/O, no globals. */
#ifndef VMFS_CLUSTER_RESOLVE_H
#define VMFS_CLUSTER_RESOLVE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cluster/cmdans.h"
#include "runtime/lifecycle.h"

/* A host of the namespace, in `hosts` order. */
struct resolve_host {
	const char *name;
	bool up;
	time_t down_since;   /* when down: P/down/H's since, 0 if unknown */
	bool since_at_least; /* nobody saw it go */
};

/* An object of the namespace as the head's cache has it (a claim joined with its record). */
struct resolve_obj {
	const char *name;
	uint64_t id; /* cluster-wide within the namespace */
	enum ostate state;
	size_t host;	  /* index into the hosts */
	const char *busy; /* non-NULL: every verb is refused with these words ("moving to h5") */
};

enum resolve_unfit {
	UNFIT_SKIP,   /* from all or a glob: an object whose state refuses the verb is skipped */
	UNFIT_REFUSE, /* named: it is refused, EBUSY */
};

/* What one host is asked: ids in the order the target named them. A host that is down is
 * sent nothing: its part is answered "down, not sent" (resolve_down_answer) and fails. */
struct resolve_part {
	size_t host;
	bool down;
	const uint64_t *ids;
	size_t n;
};

struct resolution {
	enum resolve_unfit unfit;
	struct resolve_part *parts; /* in hosts order; a host without a match is not here */
	size_t nparts;
	size_t total; /* ids in every part */
	/* -ENOENT for a name or id: the first one found nowhere. The cache may lag another
	 * host's launch by milliseconds: the caller looks it up in etcd (one range) before
	 * answering ENOENT (docs/cluster-design.md, "Read your writes"). */
	char missing[NAME_MAX_LEN + 1];
	uint64_t *ids_;
};

/* Resolves spec for verb over objs[0..nobjs) on hosts[0..nhosts) of namespace ns (its name,
 * for messages). 0 and *r filled (resolve_free after; *r is overwritten, not freed), or with
 * err in words and *r empty (but for missing):
 * -ENOENT when a glob matches nothing, or a name or id is no object on any host (missing);
 * -EBUSY when a named object on a host that is up is in a state that refuses the verb, or
 *  busy (checked here, before anything is sent, as one host does);
 * -EINVAL for a malformed target (range_expand's words), a verb out of range, or an
 *  object's host or state out of range; -ENOMEM.
 * `all` in a namespace without objects resolves to no part, as one host answers "ok: VERB 0". */
int resolve(const struct resolve_host *hosts, size_t nhosts, const struct resolve_obj *objs,
	    size_t nobjs, const char *ns, enum verb verb, const char *spec, struct resolution *r,
	    char *err, size_t errlen);
void resolve_free(struct resolution *r);

/* The answer of a part whose host is down: "h4: down since T: not sent (10 objects)". */
void resolve_down_answer(const struct resolve_host *hosts, const struct resolve_part *p,
			 struct hostans *a);
#endif
