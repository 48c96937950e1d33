/* VM disks: per-VM qcow2 overlays over shared images (config/snapshot true), and commit,
 * which flattens a VM's disk into a new image. Both through qemu-img, whose messages
 * become ours. */
#ifndef VMFS_DISK_H
#define VMFS_DISK_H
#include <stdbool.h>
#include <stddef.h>

/* "qcow2" or "raw", from the image's first bytes: QEMU is never left to guess (a raw disk
 * whose guest wrote a qcow2 header there would be opened as qcow2 the next time). */
const char *disk_format(const char *path);
/* Makes dirfd/name a qcow2 overlay backed by base (absolute path), unless one already is
 * there for that same base (a VM keeps its writes across stop and start until flush).
 * *fresh tells whether a new one was made. 0 or -errno with qemu-img's words in err. */
int disk_overlay(int dirfd, const char *name, const char *base, bool *fresh, char *err,
		 size_t errlen);
/* Copies src (every layer flattened) to the new qcow2 image dst, through dst.part so that a
 * half-written image never appears. share: src is open in a running QEMU (paused). */
int disk_commit(const char *src, const char *dst, bool share, char *err, size_t errlen);
#endif
