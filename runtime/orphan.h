/* Processes vmfs starts and may kill but never waits for (the KVM probe's QEMUs): a QEMU
 * killed on a nested KVM can take many seconds to die while the kernel tears its guest down,
 * and vmfs must not wait for that. */
#ifndef VMFS_ORPHAN_H
#define VMFS_ORPHAN_H
#include <sys/types.h>

struct orphan {
	pid_t pid;
	int pidfd; /* names it even after it ended, so a kill never hits a recycled pid */
};

/* Runs argv (PATH searched) as a grandchild with stdin, stdout and stderr from in, out and
 * err (-1: /dev/null); it belongs to init (or the nearest subreaper). 0 or -errno. */
int orphan_spawn(char *const argv[], int in, int out, int err, struct orphan *o);
/* SIGKILL to it, if it has not been killed yet, and its pidfd closed. */
void orphan_kill(struct orphan *o);
#endif
