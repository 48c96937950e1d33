/* What QEMU is handed: its command line, and the descriptors it names. QEMU (as the user
 * vmfs) can open none of its files by name, so vmfs opens each and passes it: fd sets
 * (-add-fd, /dev/fdset/N), /proc/self/fd/N, listening sockets (-chardev socket,fd=N). */
#ifndef VMFS_VMPASS_H
#define VMFS_VMPASS_H
#include <stdbool.h>
#include <sys/types.h>

#include "runtime/backing.h"

#define ARGV_MAX 512
#define PASS_MAX 256 /* descriptors QEMU gets */
/* the descriptor QEMU gets for the QMP monitor that says when it is set up */
#define QEMU_READY_FD 3
#define QEMU_READY_FD_STR "3"

struct qargv {
	char *v[ARGV_MAX + 1];
	char store[65536];
	size_t n, used;
	bool full; /* an argument did not fit */
};

/* The descriptors QEMU gets (kept at their numbers across exec); own: those opened here,
 * closed once QEMU has them. */
struct qfds {
	int pass[PASS_MAX], own[PASS_MAX];
	int npass, nown, sets;
};

/* Appends one argument (printf format); a->full once one did not fit. */
void qarg(struct qargv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Closes the descriptors opened for QEMU (own), and empties q. */
void qfds_close(struct qfds *q);
/* fd (opened for QEMU if own) passed to QEMU at a number above its standard and ready ones:
 * that number, or -1 (closed if own). */
int qfd_pass(struct qfds *q, int fd, bool own);
/* An fd set (-add-fd) of fd and fd2 (-1: none) for a /dev/fdset/N file name: its N, -1 if
 * out of room. opaque: a note QEMU keeps with it (and /proc shows). */
int qfd_set(struct qargv *a, struct qfds *q, int fd, int fd2, bool own, const char *opaque);
/* A listening socket at dfd/name, for QEMU's -chardev socket,fd=N,server=on; -1 (errno). */
int qfd_listen(int dfd, const char *name);
/* The most vmfs copies into memory for one start's kernel and initrd (boot_readable). */
#define BOOT_COPY_MAX ((off_t)512 << 20)
/* A file QEMU reads by name (-kernel, -initrd, a secret's file=) as /proc/self/fd/N: that
 * reopens it, which asks its mode for QEMU's user (group gid). fd itself if that user may
 * read it, else a copy in memory (a memfd, the caller's to close), charged to *left:
 * -EFBIG past *left (a huge file would cost the host its memory at every start), -EINVAL
 * for what is not a regular file (a device need never end), or -errno. fd must have been
 * opened without following a name someone could swap (runtime/backing.c's reopen). */
int boot_readable(int fd, gid_t gid, off_t *left);
/* boot_readable's file passed to QEMU: its N for /proc/self/fd/N, or -errno. */
int qfd_readable(struct qfds *q, int fd, gid_t gid, off_t *left);

/* -drive HEAD,... over chain c, every layer given by descriptor. 0 or -errno. */
int qarg_drive(struct qargv *a, struct qfds *q, const struct vm_chain *c, const char *head);
/* -chardev socket,id=ID on dfd/sock, logged into dfd/log (appended to if append) through an
 * fd set noted with note (NULL: none). 0 or -errno. */
int qarg_chardev(struct qargv *a, struct qfds *q, int dfd, const char *id, const char *sock,
		 const char *log, bool append, const char *note);
/* A QMP monitor on dfd/sock. 0 or -errno. */
int qarg_qmp(struct qargv *a, struct qfds *q, int dfd, const char *id, const char *sock);

/* Before fork: the passed descriptors in order. */
void qfds_sort(struct qfds *q);
/* In QEMU's process before exec: only stdio, the ready monitor and q's descriptors open,
 * those at their numbers. */
void qfds_keep_only(struct qfds *q);
#endif
