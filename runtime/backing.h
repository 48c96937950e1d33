/* What a VM may open: every disk, CD-ROM, kernel and initrd, and every file in a disk's
 * backing chain, must lie in images/ or in the VM's own state directory, checked before
 * QEMU (which runs as root) or qemu-img opens any of it. */
#ifndef VMFS_BACKING_H
#define VMFS_BACKING_H
#include "runtime/model.h"

/* 0, or -EACCES (a file outside those roots, a symbolic link out of them included) or
 * -EPERM (a backing file that is not a plain file name: json:, nbd:, ...) or qemu-img's
 * error, with the reason in err. */
int vm_paths_check(struct model *m, struct object *o, char *err, size_t errlen);
#endif
