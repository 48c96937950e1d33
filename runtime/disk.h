/* VM disks: per-VM qcow2 overlays over shared images (config/snapshot true), and commit,
 * which flattens a VM's disk into a new image. Both through qemu-img, whose messages
 * become ours. */
#ifndef VMFS_DISK_H
#define VMFS_DISK_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runtime/util.h"

/* "qcow2" or "raw", from the image's first bytes: QEMU is never left to guess (a raw disk
 * whose guest wrote a qcow2 header there would be opened as qcow2 the next time). */
const char *disk_format(const char *path);
/* The same, of an open file (read at offset 0). */
const char *disk_format_fd(int fd);
/* qemu-img info --output=json of path alone (its backing files are not opened), read as
 * format (NULL: as qemu-img guesses it), killed after timeout_ms: the JSON text, NUL-terminated, appended to out. 0, or
 * -errno with the reason in err. */
int disk_info(const char *path, const char *format, int timeout_ms, struct sbuf *out, char *err,
	      size_t errlen);
/* Makes dirfd/name a qcow2 overlay backed by base (absolute path), unless one already is
 * there for that same base (a VM keeps its writes across stop and start until flush).
 * *fresh tells whether a new one was made. 0 or -errno with qemu-img's words in err. */
int disk_overlay(int dirfd, const char *name, const char *base, bool *fresh, char *err,
		 size_t errlen);
/* Starts copying src (every layer flattened) to the new qcow2 image dst in the background,
 * through dst.part so that a half-written image never appears; share: src is open in a
 * (paused) QEMU. Returns qemu-img's pid, its output in *outfd; -errno. */
pid_t disk_commit_start(const char *src, const char *dst, bool share, int *outfd);
/* Once that qemu-img exited with wait status st: renames dst.part to dst (never over an
 * existing file) or removes it. Closes outfd. 0, or -errno with the reason in err. */
int disk_commit_end(int st, int outfd, const char *dst, char *err, size_t errlen);
#endif
