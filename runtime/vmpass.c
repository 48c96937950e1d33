/* What QEMU is handed: runtime/vmpass.h. */
#include "runtime/vmpass.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

void qarg(struct qargv *a, const char *fmt, ...)
{
	va_list ap;
	a->full |= a->n >= ARGV_MAX || a->used >= sizeof(a->store);
	if (a->full)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(a->store + a->used, sizeof(a->store) - a->used, fmt, ap);
	va_end(ap);
	if (n < 0 || a->used + n + 1 > sizeof(a->store)) {
		a->full = true;
		return;
	}
	a->v[a->n++] = a->store + a->used;
	a->used += n + 1;
}

void qfds_close(struct qfds *q)
{
	for (int i = 0; i < q->nown; i++)
		close(q->own[i]);
	q->nown = q->npass = q->sets = 0;
}

int qfd_pass(struct qfds *q, int fd, bool own)
{
	/* 0-2 are QEMU's stdio, 3 its ready monitor: a descriptor there would be overwritten */
	if (fd >= 0 && fd <= QEMU_READY_FD) {
		int hi = fcntl(fd, F_DUPFD_CLOEXEC, 10);
		if (own)
			close(fd);
		fd = hi;
		own = true;
	}
	if (fd < 0 || q->npass == PASS_MAX || q->nown == PASS_MAX) {
		if (fd >= 0 && own)
			close(fd);
		return -1;
	}
	if (own)
		q->own[q->nown++] = fd;
	q->pass[q->npass++] = fd;
	return fd;
}

int qfd_set(struct qargv *a, struct qfds *q, int fd, int fd2, bool own, const char *opaque)
{
	int set = ++q->sets, fds[2] = {qfd_pass(q, fd, own), fd2 >= 0 ? qfd_pass(q, fd2, own) : -2};
	if (fds[0] < 0 || fds[1] == -1)
		return -1;
	for (int i = 0; i < 2 && fds[i] >= 0; i++) {
		qarg(a, "-add-fd");
		qarg(a, "fd=%d,set=%d%s%s", fds[i], set, opaque && !i ? ",opaque=" : "",
		    opaque && !i ? opaque : "");
	}
	return set;
}

/* bound by root, in root's run/: QEMU could not make it there */
int qfd_listen(int dfd, const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dfd, name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int boot_readable(int fd, gid_t gid, off_t *left)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((st.st_mode & S_IROTH) || ((st.st_mode & S_IRGRP) && st.st_gid == gid))
		return fd;
	/* a device's size says nothing of what reading it costs, or whether it ends */
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size > *left)
		return -EFBIG;
	*left -= st.st_size;
	int mem = memfd_create("vmfs-boot", MFD_CLOEXEC);
	off_t off = 0;
	while (mem >= 0 && off < st.st_size) {
		ssize_t n = sendfile(mem, fd, &off, st.st_size - off);
		if (n <= 0) { /* shrunk meanwhile: a kernel cut short must not boot */
			int e = n ? errno : EIO;
			close(mem);
			errno = e;
			mem = -1;
		}
	}
	return mem < 0 ? -errno : mem;
}

int qfd_readable(struct qfds *q, int fd, gid_t gid, off_t *left)
{
	int r = boot_readable(fd, gid, left);
	if (r < 0)
		return r;
	r = qfd_pass(q, r, r != fd);
	return r < 0 ? -EMFILE : r;
}

/* each backing file named by the layer above it: QEMU opens none by a header's name */
int qarg_drive(struct qargv *a, struct qfds *q, const struct vm_chain *c, const char *head)
{
	char opt[8192], pre[(CHAIN_MAX + 1) * 8 + 1] = ""; /* an overlay atop a full chain */
	size_t k = snprintf(opt, sizeof(opt), "%s", head);
	for (int j = 0; j < c->n && k < sizeof(opt); j++) {
		const struct vm_layer *l = &c->l[j];
		int set = qfd_set(a, q, l->fd, l->rwfd, false, NULL);
		if (set < 0)
			return -EMFILE;
		k += snprintf(opt + k, sizeof(opt) - k, ",%sdriver=%s,%sfile.driver=%s,%sfile.filename="
			      "/dev/fdset/%d", pre, l->format, pre, l->blockdev ? "host_device" : "file",
			      pre, set);
		if (l->datafd >= 0 && k < sizeof(opt)) {
			if ((set = qfd_set(a, q, l->datafd, l->datarw, false, NULL)) < 0)
				return -EMFILE;
			k += snprintf(opt + k, sizeof(opt) - k, ",%sdata-file.driver=file,"
				      "%sdata-file.filename=/dev/fdset/%d", pre, pre, set);
		}
		if (j + 1 < c->n)
			strcat(pre, "backing.");
	}
	if (k >= sizeof(opt))
		return -E2BIG;
	qarg(a, "-drive");
	qarg(a, "%s", opt);
	return 0;
}

/* the socket and the log made here: QEMU cannot write run/ */
int qarg_chardev(struct qargv *a, struct qfds *q, int dfd, const char *id, const char *sock,
		       const char *log, bool append, const char *note)
{
	int s = qfd_pass(q, qfd_listen(dfd, sock), true);
	int lf = openat(dfd, log, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
			(append ? O_APPEND : O_TRUNC), 0600);
	int set = lf < 0 ? -1 : qfd_set(a, q, lf, -1, true, note);
	if (s < 0 || set < 0)
		return -EIO;
	qarg(a, "-chardev");
	qarg(a, "socket,id=%s,fd=%d,server=on,wait=off,logfile=/dev/fdset/%d%s", id, s, set,
	    append ? ",logappend=on" : "");
	return 0;
}

int qarg_qmp(struct qargv *a, struct qfds *q, int dfd, const char *id, const char *sock)
{
	int s = qfd_pass(q, qfd_listen(dfd, sock), true);
	if (s < 0)
		return -EMFILE;
	qarg(a, "-chardev");
	qarg(a, "socket,id=%s,fd=%d,server=on,wait=off", id, s);
	qarg(a, "-mon");
	qarg(a, "chardev=%s,mode=control", id);
	return 0;
}

static int fd_cmp(const void *x, const void *y)
{
	return *(const int *)x - *(const int *)y;
}

void qfds_sort(struct qfds *q)
{
	qsort(q->pass, q->npass, sizeof(q->pass[0]), fd_cmp);
}

void qfds_keep_only(struct qfds *q)
{
	unsigned from = QEMU_READY_FD + 1;
	for (int i = 0; i < q->npass; i++) {
		fcntl(q->pass[i], F_SETFD, 0);
		if (q->pass[i] > (int)from)
			close_range(from, q->pass[i] - 1, 0);
		from = q->pass[i] + 1;
	}
	close_range(from, ~0U, 0); /* above all not /dev/fuse */
}

