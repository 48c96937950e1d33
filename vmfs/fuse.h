#ifndef VMFS_FUSE_H
#define VMFS_FUSE_H
#include "vmfs/node.h"

struct fuse_args;

/* Mounts v's tree at mountpoint and serves it until SIGTERM/SIGINT/SIGHUP or an unmount.
 * args holds the FUSE options; foreground decides whether to detach after mounting.
 * Returns the process exit code. */
int vmfs_fuse_run(struct vmfs *v, struct fuse_args *args, const char *mountpoint,
		  bool foreground, int lockfd);
/* vmfs/main.c: writes this process's pid into the state directory's lock file. */
void lock_note_pid(int fd);
#endif
