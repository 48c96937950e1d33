/* Paths that users name (images/ and what config points into it), resolved beneath a root
 * directory by descriptor. Every component is looked up from the root's descriptor with
 * no symlink followed and no ".." climbing out, so a user who swaps a directory for a
 * symlink between vmfs's check and its use gets ELOOP, never a file outside the root. */
#ifndef VMFS_BENEATH_H
#define VMFS_BENEATH_H
#include <stdbool.h>
#include <sys/types.h>

/* openat(rootfd, rel, flags, mode) with every component of rel resolved beneath rootfd,
 * no symlink followed (the last one included: with O_PATH|O_NOFOLLOW a symlink itself is
 * opened). rel is relative; "" or "." is the root. Returns a descriptor or -1 (errno). */
int beneath_open(int rootfd, const char *rel, int flags, mode_t mode);

/* The directory holding rel's last name, opened that way (O_PATH), and *last pointed at
 * that name inside rel, for the *at calls that act on a name (unlinkat, mkdirat, renameat,
 * fchownat, utimensat, readlinkat, fstatat with AT_SYMLINK_NOFOLLOW). A last name of "",
 * "." or ".." is refused (EINVAL). */
int beneath_parent(int rootfd, const char *rel, const char **last);

/* Test hook: pretend the kernel has no openat2 (ENOSYS), to exercise the walk. */
void beneath_force_walk(bool on);

#endif
