/* Processes vmfs starts and kills but does not wait for (the KVM probe's QEMUs): a QEMU
 * killed on a nested KVM can take many seconds to die while the kernel tears its guest down,
 * and vmfs must not wait for that. They are vmfs's children all the same, with SIGKILL as
 * their parent-death signal: a vmfs killed while one runs takes it along (a probe QEMU
 * ignores the end of its input and would run for ever), and their ends are reaped later. */
#ifndef VMFS_ORPHAN_H
#define VMFS_ORPHAN_H
#include <sys/types.h>

struct orphan {
	pid_t pid;
	int pidfd; /* names it even after it ended, so a kill never hits a recycled pid */
};

/* When set, what the child runs before exec (dropping to QEMU's user); nonzero: no exec. */
extern int (*orphan_before_exec)(void);
/* Runs argv (PATH searched) with stdin, stdout and stderr from in, out and err (-1:
 * /dev/null). 0 or -errno. */
int orphan_spawn(char *const argv[], int in, int out, int err, struct orphan *o);
/* SIGKILL to it and its pidfd closed; its end is reaped by orphan_reap. */
void orphan_kill(struct orphan *o);
/* Reaps, without waiting, those killed that have ended (once a second, from run_tick). */
void orphan_reap(void);
#endif
