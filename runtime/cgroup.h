/* Control groups for containers, on both layouts: pure cgroup v2 (most users) and cgroup
 * v1 with one directory per controller (this machine: v1 controllers under
 * /sys/fs/cgroup/<controller>, cgroup2 beside them at /sys/fs/cgroup/unified, which holds
 * none of ours (only hugetlb); co-mounted cpu,cpuacct behind symlinks is handled as one
 * hierarchy). The layout is probed once at run time.
 *
 * A container's group is named vmfs/<ns>/<name> below each hierarchy's root (v2: below
 * /sys/fs/cgroup; v1: below /sys/fs/cgroup/{memory,cpu,cpuacct,freezer,pids,devices}, which
 * hold the limits, and below every other hierarchy mounted there, unified, cpuset, blkio,
 * name=systemd..., which only give it a group of its own). In every hierarchy the processes
 * go one level down, into vmfs/<ns>/<name>/container, so that the limits are out of sight
 * of a cgroup namespace rooted where the processes are. Groups that the container makes
 * below its own are thawed, killed and removed with it.
 * Every function returns 0 or -errno and, where it has err (vmfs-shim's calls) or e
 * (runtime/err.h), writes a reason in words into it naming the file and the errno (err: ""
 * on success). -EOPNOTSUPP: a limit or freezing was
 * asked for and its controller is missing ("the memory controller is not available: no
 * limit can be enforced"); stats just read 0 for what is missing.
 *
 * VMFS_CGROUP_ROOT, read once at the first call, replaces /sys/fs/cgroup (the tests mount
 * a cgroup2 or a lone v1 hierarchy there in a private mount namespace). The functions are
 * thread-safe; the probe's answer is the only state kept. */
#ifndef VMFS_CGROUP_H
#define VMFS_CGROUP_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/err.h"

enum cg_mode { CG_NONE, CG_V1, CG_V2 };

/* Names the top group (default "vmfs"): every group is then TOP/<ns>/<name>. */
void cg_set_top(const char *name);
/* The layout of this machine; "v2", "v1" or "none" for host/info. */
enum cg_mode cg_probe(void);
const char *cg_mode_name(enum cg_mode m);
/* How device access is controlled, in words, for host/info. */
const char *cg_devices_name(void);

struct cg_limits {
	uint64_t memory; /* bytes; 0: no limit. Swap is limited to the same (no swap beyond). */
	double cpus;     /* CPU quota in CPUs (1.5 = 150% of one CPU); 0: no limit */
	uint64_t pids;   /* most processes; 0: no limit */
};

/* Creates the group (and its parents), applies limits, and allows the devices of cgdev.c's
 * table (null zero full random urandom tty ptmx and the pts devices: rwm; all else denied):
 * v1 through the devices list, v2 (pure or the hybrid layout's unified tree) through a
 * device program on the group; failing either refuses the start, as does a v1 layout with
 * neither the devices controller nor a cgroup2 tree (-EOPNOTSUPP). */
int cg_create(const char *ns, const char *name, const struct cg_limits *lim, char *err,
	      size_t errlen);
/* Moves pid (its whole thread group) into the group (all hierarchies, one at a time, so a
 * failure part way leaves it in the earlier ones), into .../container. */
int cg_attach(const char *ns, const char *name, pid_t pid, char *err, size_t errlen);
/* Freezes or thaws every process of the group, waiting (bounded, 2 s) until it is done. */
int cg_freeze(const char *ns, const char *name, int frozen, struct err *e);
/* SIGKILLs every process of the group (v2: cgroup.kill when present), frozen or not (v1:
 * the group is thawed after the signal, as a frozen task ignores SIGKILL until then), and
 * waits (2 s at most, else -EBUSY) until none is listed; the dead may still await their
 * parent's wait(). The caller must not be in the group. 0 if there is no such group. */
int cg_kill(const char *ns, const char *name);
/* SIGKILL to every process in the group at once, without waiting for them to end: a
 * container whose processes are stuck at its memory limit (a fork bomb) would take its
 * init's exit far too long to empty it. */
int cg_kill_now(const char *ns, const char *name);
/* Removes the group (it must be empty: call after the processes are reaped; retries
 * briefly, 1 s in all, while the kernel finishes tearing them down, else -EBUSY), then the
 * vmfs/<ns> and vmfs parents if nothing else is in them. 0 if there is no such group. */
int cg_destroy(const char *ns, const char *name);

struct cg_stats {
	uint64_t memory;      /* bytes in use now */
	uint64_t memory_max;  /* the limit, 0 if none */
	uint64_t cpu_usec;    /* CPU time used, microseconds */
	uint64_t pids;        /* processes now */
	uint64_t oom_kills;   /* times the OOM killer acted in the group */
};
/* -ENOENT if there is no such group. v1's memory figure is memory.usage_in_bytes, which the
 * kernel approximates; pids counts tasks (threads) where the pids controller is. */
int cg_stats(const char *ns, const char *name, struct cg_stats *out);
#endif
