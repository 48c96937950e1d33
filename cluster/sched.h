/* Placement of new VMs and containers on the hosts of a namespace (minimega's `vm launch`
 * scheduler is the model). Pure: no I/O, no globals, no locks; the caller gathers the hosts'
 * counters and the namespace's objects, calls sched_place() once per launch command, and
 * then creates each object on the host it was given.
 *
 * Policies. Every policy only ranks the hosts that may take an object; none refuses a host
 * for being full. Overcommit is the operator's call (minimega does not refuse it either), and
 * a refusal from a guess at free memory would fail launches that would have run.
 * Capacity (a host's `limited`, the cluster on etcd: docs/cluster-design.md, "Launch and
 * placement") is a filter before the ranking, not a policy: such a host takes nothing beyond
 * cpus x cpu_ratio vcpus and mem_total x mem_ratio bytes committed. That is no guess: the
 * figures are then the reservations every head shares (P/cap/H), and the ratios, each host's
 * own, keep overcommit the operator's call. A host without `limited` (the probing cluster,
 * whose figures are guesses from probes) is placed on as before. A draining host takes
 * nothing, like one that is down. When no host has room the answer is -ENOSPC with each
 * host's figures ("h1: 14 of 16 vcpus, 30.1 of 31.2 GiB committed; h2: draining").
 * - fewest: the host with the fewest objects (VMs + containers). minimega's default: it
 *   knows nothing about sizes and needs no numbers that may be wrong, and with many small,
 *   equal objects it is as good as the others (30 on 3 equal hosts: 10/10/10).
 * - cpu: the lowest (cpu_commit + vcpus) / cpus once the object is placed. "After placing"
 *   matters when hosts differ: a 4-vcpu object takes an empty 4-core host to 1.0 but an
 *   8-core host holding 2 vcpus only to 0.75; comparing before placing (0 against 0.25)
 *   would pick the small host and saturate it.
 * - memory: the lowest (mem_commit + memory) / mem_total once placed, for the same reason.
 *   Memory is what actually runs out on a KVM host; CPU is only slower when overcommitted.
 * Ratios are compared by cross-multiplying, so equal hosts tie exactly (no float noise),
 * and a tie goes to the host that comes first: the same input gives the same placement.
 * A host reporting 0 cpus (0 mem_total) ranks after every other under cpu (memory).
 *
 * Constraints, checked for each object in launch order:
 * - only a host that is up may receive anything: a host that is down may come back with its
 *   objects, but a new one placed there would not start;
 * - pin (the object's config/host): that host and no other. Naming a host that is not in the
 *   namespace or is down fails rather than falls back: the user pinned for a reason
 *   (a device, a disk, a NIC on that host) that another host would not satisfy;
 * - colocate: the host of another object, existing or placed earlier in this launch (so
 *   that chains c2->c1, c3->c2 work). A forward reference is refused rather than reordered:
 *   the result stays readable from the order written. Pin and colocate must agree;
 * - coschedule N: the object accepts at most N OTHER objects on its host (0 = alone).
 *   It binds both ways: placing it needs the host's count <= N, and nothing may be placed
 *   later beside it beyond N. Unlike minimega, launch order is kept (minimega places
 *   pinned and coschedule-limited VMs first): a greedy pass in the order written can fail
 *   where another order would fit, and the message then says which host refused and why,
 *   so the user can launch the constrained objects first.
 *   "No limit" is has_coschedule == false rather than a magic N, so that a zeroed struct
 *   means no limit and 0 (alone) stays representable.
 *
 * All or nothing: one launch command either places every object or none; on failure
 * where[] is left as it was and the message names the object and the constraint. */
#ifndef VMFS_CLUSTER_SCHED_H
#define VMFS_CLUSTER_SCHED_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sched_policy {
	SCHED_FEWEST, /* fewest objects; the default */
	SCHED_CPU,    /* lowest vcpus per core after placing */
	SCHED_MEM,    /* lowest share of memory committed after placing */
};

/* A host of the namespace, as it is before the launch. */
struct sched_host {
	const char *name;
	bool up;
	unsigned cpus;		  /* cores */
	uint64_t mem_total;	  /* bytes */
	unsigned vms, containers; /* objects running or defined there */
	double cpu_commit;	  /* sum of the vcpus of those objects */
	uint64_t mem_commit;	  /* sum of their memory, bytes */
	bool draining;		  /* takes nothing new (drain H) */
	bool limited;		  /* the capacity below binds; false: no limit (probing) */
	double cpu_ratio;	  /* vcpus it accepts per core; 0 (or not a positive number): 4 */
	double mem_ratio;	  /* memory it accepts committed per byte; 0 (...): 1.0 */
};

/* An object already in the namespace: a colocate target, and its limit still binds. It is
 * not counted again: the host's vms/containers already include it. Objects without a limit
 * that nothing names need not be listed. */
struct sched_existing {
	const char *name;
	size_t host; /* index into the namespace's hosts */
	bool has_coschedule;
	unsigned coschedule;
};

/* The namespace as the scheduler sees it. */
struct sched_ns {
	const struct sched_host *hosts;
	size_t nhosts;
	const struct sched_existing *existing;
	size_t nexisting;
	enum sched_policy policy;
};

/* An object to place. pin and colocate: NULL or "" for none. */
struct sched_obj {
	const char *name;
	unsigned vcpus;
	uint64_t memory;      /* bytes */
	const char *pin;      /* a host name: must go there */
	const char *colocate; /* an object name: must share its host */
	bool has_coschedule;  /* false: no limit */
	unsigned coschedule;  /* at most this many other objects on its host */
};

/* "fewest", "cpu" or "memory" (exact, lower case). 0, or -EINVAL with err set. */
int sched_policy_parse(const char *word, enum sched_policy *policy, char *err, size_t errlen);
/* The word sched_policy_parse() takes for it; NULL for a value outside the enum. */
const char *sched_policy_name(enum sched_policy policy);

/* Places objs[0..n) in order; on success where[i] is the index in ns->hosts of objs[i]'s
 * host and 0 is returned. On failure where[] is untouched, err holds one sentence, and the
 * result is -EHOSTDOWN when the namespace has no host that is up (or no host at all),
 * -ENOSPC when an object fits no host for its capacity or drain (pinned: its host),
 * -EINVAL when a constraint cannot be met or the input is inconsistent (an existing
 * object's host index out of range), -ENOMEM when out of memory. Names appear in messages
 * as given (they have passed name_check()), except a pin or colocate value that matches
 * nothing: that is escaped, as ctl_quote() does.
 * Cost: O(n * nhosts), plus a linear name search for each colocate. */
int sched_place(const struct sched_ns *ns, const struct sched_obj *objs, size_t n, size_t *where,
		char *err, size_t errlen);

/* `plan launch ...`: where sched_place put each object, "k1 h2" a line, then each host's
 * load once they are placed, a line each ("h1: 11 objects, 14 of 64 vcpus, 30.1 of 31.2
 * GiB committed"; "h2: draining, ..."; "h3: down, ..."). where[] is sched_place's. */
struct sbuf;
void sched_plan(const struct sched_ns *ns, const struct sched_obj *objs, size_t n,
		const size_t *where, struct sbuf *out);
#endif
