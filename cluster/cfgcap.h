/* A config change of vcpus or memory moves its owner's reservation P/cap/SELF
 * (docs/cluster-design.md, "Launch and placement": reservations follow the objects), by CAS,
 * before the change is applied, and marks the object in P/cap/SELF's cfg-pending until its
 * record shows the change (cluster/creconcile.h). Two writers: the `config` command of another
 * host (cluster/ccmd_cfgcap.c's cconfig_reserve, cconfig_settle) and a write of config/vcpus or
 * config/memory through this host's own tree (vmfs/cfgcap_local.c). */
#ifndef VMFS_CFGCAP_H
#define VMFS_CFGCAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct etcd;
struct object;

/* One change of one object. */
struct cfgcap {
	uint64_t nsid, id;	 /* the object, by its cluster ids */
	int64_t dvcpus, dmemory; /* what it moves in the reservation */
	uint64_t vcpus, memory;	 /* what its record will size it at: its cfg-pending entry */
};

/* What setting params[param] of o to value ("": the default) moves, in *k (its ids left as
 * they are): false when it moves nothing (neither vcpus nor memory, the object running or
 * paused, a value that is no figure: the apply refuses those, or the same figure). */
bool cfgcap_of(const struct object *o, int param, const char *value, struct cfgcap *k);

/* The host whose reservation moves: this host, through w (BLOCKS, each call: a thread's). */
struct cfgcap_host {
	struct etcd *w;
	const char *cluster, *self;
	uint64_t run; /* this vmfs's run: a cfg-pending entry of another run is stale */
};

/* Moves the reservation by k's figures and marks k in cfg-pending: 0, or a positive errno with
 * why (ENOSPC with the figures beyond the host's capacity, cpus x cpu_ratio and memory x
 * mem_ratio from its own P/h/SELF/info; EAGAIN when etcd cannot be read or written, or the
 * list is full): nothing moved then. */
int cfgcap_reserve(const struct cfgcap_host *h, const struct cfgcap *k, char *why, size_t wl);
/* After the apply: gives k's figures back (back: the apply refused the change) and drops its
 * mark unless a later change of the same figure replaced it. 0, or a positive errno with why. */
int cfgcap_settle(const struct cfgcap_host *h, const struct cfgcap *k, bool back, char *why,
		  size_t wl);
#endif
