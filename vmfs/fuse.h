/* The FUSE door (vmfs/fuse.c): the mount. */
#ifndef VMFS_FUSE_H
#define VMFS_FUSE_H
#include "vmfs/door.h"
#include "vmfs/node.h"

struct fuse_args;

/* libfuse's own options of the command line (-f, -d, -s, -h, -V, the mount point). */
struct fuse_cli {
	char *mountpoint; /* malloc()ed */
	int foreground, debug, show_help, show_version;
};
int fuse_door_cmdline(struct fuse_args *args, struct fuse_cli *out);
const char *fuse_door_libversion(void);
/* Adds the mount options that conf asks for (and those vmfs always uses) to args. */
int fuse_door_options(struct fuse_args *args, const struct vmfs_conf *conf);
/* Mounts v's tree at mountpoint with args' options, detaches unless foreground, and fills
 * out for the daemon (vmfs/daemon.h), which serves it until an unmount or a signal. Returns
 * 0, or the process exit code: 2 for options libfuse refused (it said why), 1. */
int fuse_door_open(struct vmfs *v, struct fuse_args *args, const char *mountpoint,
		   bool foreground, struct door *out);
#endif
