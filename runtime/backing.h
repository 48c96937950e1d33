/* What a VM may open: every disk, CD-ROM, kernel and initrd, and every file in a disk's
 * backing chain, must lie in images/ or in the VM's own state directory, checked before
 * QEMU (which runs as root) or qemu-img opens any of it. */
#ifndef VMFS_BACKING_H
#define VMFS_BACKING_H
#include "runtime/model.h"

#include <limits.h>

/* What one file of a chain names, from its qemu-img info. */
struct backing_layer {
	char backing[PATH_MAX];    /* the next file, as QEMU resolves it; "" for none */
	char backing_format[32];   /* as recorded; "" if not (QEMU probes it) */
	char data_file[PATH_MAX];  /* a qcow2's external data file; "" for none */
};
/* Parses `qemu-img info --output=json` of path: a relative backing file resolved beside
 * path. 0, or -EPERM (a format other than qcow2 and raw, a json: or protocol name, a relative
 * data file) or -EIO, with the reason in err. */
int backing_parse(const char *json, const char *path, struct backing_layer *l, char *err,
		  size_t errlen);

/* 0, or -EACCES (a file outside those roots, a symbolic link out of them included) or
 * -EPERM (a backing file that is not a plain file name: json:, nbd:, ...) or qemu-img's
 * error, with the reason in err. */
int vm_paths_check(struct model *m, struct object *o, char *err, size_t errlen);
#endif
