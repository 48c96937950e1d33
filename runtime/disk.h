/* VM disks: per-VM qcow2 overlays over shared images (config/snapshot true), and commit,
 * which flattens a VM's disk into a new image. Both through qemu-img, whose messages
 * become ours. qemu-img reads what a guest or QEMU could have written (a header names any
 * backing or data file it likes) only as QEMU's user, the same drop as QEMU's, and only
 * through descriptors vmfs opened and checked: every layer is named to it explicitly, so
 * no name written in a header is opened by root. */
#ifndef VMFS_DISK_H
#define VMFS_DISK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/err.h"
#include "runtime/util.h"

struct vm_chain;

/* "qcow2" or "raw", from the image's first bytes: QEMU is never left to guess (a raw disk
 * whose guest wrote a qcow2 header there would be opened as qcow2 the next time). */
const char *disk_format_fd(int fd);
/* The size a raw file or block device has as a disk, in bytes; -errno. */
int64_t disk_raw_size(int fd);
/* qemu-img info --output=json of the open file fd (name: for messages) alone (its backing
 * files are not opened), read as format (NULL: as qemu-img guesses it), as QEMU's user,
 * killed after timeout_ms: the JSON text, NUL-terminated, appended to out. 0, or -errno
 * with the reason in e (-EACCES: a file QEMU's user may not read). */
int disk_info(int fd, const char *name, const char *format, int timeout_ms, struct sbuf *out,
	      struct err *e);
/* Makes dirfd/name a qcow2 overlay of size bytes backed by base (absolute path, of format,
 * recorded only: it is not opened), unless one already is there for that same base (a VM
 * keeps its writes across stop and start until flush). *fresh tells whether a new one was
 * made. 0 or -errno with qemu-img's words in e. */
int disk_overlay(int dirfd, const char *name, const char *base, const char *format,
		 uint64_t size, bool *fresh, struct err *e);
/* Starts copying chain c (every layer flattened, as QEMU reads it) to the new qcow2 image
 * name in the image store storefd, in the background, as QEMU's user: through name.part,
 * made here (never over an existing file), so that a half-written image never appears;
 * share: c is open in a (paused) QEMU. Returns qemu-img's pid, the part in *partfd, its
 * output in *outfd; -errno with the reason in e. */
pid_t disk_commit_start(const struct vm_chain *c, int storefd, const char *name, bool share,
			int *partfd, int *outfd, struct err *e);
/* Once that qemu-img exited with wait status st: the part, root's again, renamed to name
 * (never over an existing file), or removed. Closes outfd and partfd. 0, or -errno with
 * the reason in e. */
int disk_commit_end(int st, int outfd, int storefd, int partfd, const char *name,
		    struct err *e);
#endif
