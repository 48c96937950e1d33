#include "runtime/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/backing.h"
#include "runtime/beneath.h"
#include "runtime/util.h"
#include "runtime/vm.h"

#define FDS_MAX (2 * (CHAIN_MAX + 1) + 1) /* a chain's layers and data files, and an output */

const char *disk_format_fd(int fd)
{
	unsigned char magic[4] = {0};
	if (pread(fd, magic, 4, 0) != 4)
		memset(magic, 0, 4);
	return !memcmp(magic, "QFI\xfb", 4) ? "qcow2" : "raw";
}

int64_t disk_raw_size(int fd)
{
	struct stat st;
	uint64_t n;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return st.st_size;
	return ioctl(fd, BLKGETSIZE64, &n) < 0 ? -errno : (int64_t)n;
}

/* Starts qemu-img in dirfd (-1: /), its output into a pipe (*outfd): the last line is the
 * reason when it fails. fds[i] becomes its descriptor 3 + i, named /proc/self/fd/(3 + i),
 * and it has no other. drop: as QEMU's user, with QEMU's own drop. */
static pid_t qemu_img_start(int dirfd, char *const argv[], const int *fds, int nfds, bool drop,
			    int *outfd)
{
	int p[2];
	if (nfds > FDS_MAX)
		return -EMFILE;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		int hi[FDS_MAX];
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL); /* vmfs blocks signals for its signalfd */
		if ((dirfd >= 0 ? fchdir(dirfd) : chdir("/")) < 0 || dup2(p[1], 1) < 0 ||
		    dup2(p[1], 2) < 0)
			_exit(127);
		/* above every number they go to first, so none is overwritten on the way */
		for (int i = 0; i < nfds; i++)
			if ((hi[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + nfds)) < 0)
				_exit(127);
		for (int i = 0; i < nfds; i++)
			if (dup2(hi[i], 3 + i) < 0)
				_exit(127);
		close_range(3 + nfds, ~0U, 0);
		int e = drop ? vm_user_drop() : 0;
		if (e) {
			printf("cannot become QEMU's user to run qemu-img: %s\n", strerror(-e));
			_exit(127);
		}
		execvp("qemu-img", argv);
		printf("cannot run qemu-img: %s (Debian's qemu-utils installs it)\n", strerror(errno));
		_exit(127);
	}
	int e = errno;
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -e;
	}
	*outfd = p[0];
	return pid;
}

/* After qemu-img exited with status st: 0, or -EIO with its last line. Closes outfd (its
 * output is a line or two: it fits the pipe, so it never blocked qemu-img's exit). */
static int qemu_img_status(int st, int outfd, struct err *e)
{
	char out[4096];
	size_t len = 0;
	ssize_t n;
	fcntl(outfd, F_SETFL, O_NONBLOCK);
	while (len < sizeof(out) - 1 && (n = read(outfd, out + len, sizeof(out) - 1 - len)) > 0)
		len += n;
	close(outfd);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	out[len] = 0;
	while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
		out[--len] = 0;
	char *line = strrchr(out, '\n');
	if (len)
		return err_set(e, EIO, "qemu-img: %s", line ? line + 1 : out);
	if (WIFSIGNALED(st))
		return err_set(e, EIO, "qemu-img was killed by signal %d", WTERMSIG(st));
	return err_set(e, EIO, "qemu-img failed (exit %d)", WEXITSTATUS(st));
}

/* Whether QEMU's user may read fd's file: qemu-img, as that user, reopens it by
 * /proc/self/fd/N, where its mode decides (QEMU itself gets it open). */
static int user_reads(int fd, struct err *e)
{
	struct stat st;
	uid_t uid;
	gid_t gid;
	char link[64], name[PATH_MAX];
	/* vmuser.c is still on (why, whylen) */
	int r = err_took(e, vm_user(&uid, &gid, e->why, sizeof(e->why)));
	if (r)
		return r;
	if (fstat(fd, &st) < 0)
		return err_set(e, errno, "%s", strerror(errno));
	if (vm_user_may(&st, S_IROTH))
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, name, sizeof(name) - 1);
	name[n > 0 ? n : 0] = 0;
	return err_set(e, EACCES, "%s (mode %04o, owner %d:%d) is not readable by QEMU's user, as "
		       "which qemu-img reads it: refused (chmod a+r, or give it the group kvm)",
		       name, (unsigned)(st.st_mode & 07777), (int)st.st_uid, (int)st.st_gid);
}

int disk_info(int fd, const char *name, const char *format, int timeout_ms, struct sbuf *out,
	      struct err *e)
{
	/* one layer only: with --backing-chain qemu-img would open each backing file before
	 * anyone has looked at where it lies */
	char *argv[] = {"qemu-img", "info", "--output=json", "-U", "-f", (char *)format,
			"/proc/self/fd/3", NULL};
	if (!format) { /* let it probe, as QEMU will */
		argv[4] = argv[6];
		argv[5] = NULL;
	}
	int r = user_reads(fd, e);
	if (r)
		return r;
	int outfd, st;
	pid_t pid = qemu_img_start(-1, argv, &fd, 1, true, &outfd);
	if (pid < 0)
		return err_sys(e, pid, "cannot run qemu-img");
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char buf[4096];
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = timeout_ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd p = {outfd, POLLIN, 0};
		if (left <= 0 || poll(&p, 1, left) == 0) {
			kill(pid, SIGKILL); /* an image on a hung mount, say */
			r = -ETIMEDOUT;
			break;
		}
		ssize_t n = read(outfd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out->len + n > (1 << 20)) { /* a header cannot say this much */
			kill(pid, SIGKILL);
			r = -E2BIG;
			break;
		}
		sb_add(out, buf, n);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	close(outfd);
	if (r == -ETIMEDOUT)
		return err_set(e, r, "qemu-img info %s took over %d ms", name, timeout_ms);
	if (r)
		return err_set(e, r, "qemu-img info %s said too much", name);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		while (out->len && (out->p[out->len - 1] == '\n' || out->p[out->len - 1] == ' '))
			out->len--;
		sb_add(out, "", 1); /* NUL */
		char *line = out->len ? strrchr(out->p, '\n') : NULL;
		return err_set(e, EIO, "qemu-img: %s",
			       line ? line + 1 : out->len ? out->p : "failed");
	}
	sb_add(out, "", 1);
	return sb_err(out) ? err_set(e, ENOMEM, "qemu-img info %s: out of memory", name) : 0;
}

int disk_overlay(int dirfd, const char *name, const char *base, const char *format,
		 uint64_t size, bool *fresh, struct err *e)
{
	char side[300], bytes[32];
	auto_free char *was = NULL;
	struct stat st;
	snprintf(side, sizeof(side), "%s.base", name);
	*fresh = false;
	if (read_small(dirfd, side, 8192, &was, NULL) == 0 && !strcmp(was, base) &&
	    fstatat(dirfd, name, &st, 0) == 0)
		return 0;
	unlinkat(dirfd, name, 0); /* made for another base: its writes no longer apply */
	/* -u: base is named, never opened (by root); the size is the checked base's own */
	snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)size);
	char *argv[] = {"qemu-img", "create", "-q", "-u", "-f", "qcow2", "-F", (char *)format,
			"-b", (char *)base, (char *)name, bytes, NULL};
	int outfd, status;
	pid_t pid = qemu_img_start(dirfd, argv, NULL, 0, false, &outfd);
	if (pid < 0)
		return err_sys(e, pid, "cannot run qemu-img");
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	int r = qemu_img_status(status, outfd, e);
	uid_t uid;
	gid_t gid;
	/* QEMU gets it open; qemu-img (a commit), as QEMU's user, reads it by its mode (without
	 * that user, the start fails later and says so) */
	if (!r && !vm_user(&uid, &gid, e->why, sizeof(e->why)) &&
	    (fchownat(dirfd, name, 0, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	     fchmodat(dirfd, name, 0640, 0) < 0))
		r = err_sys(e, errno, "%s", name);
	if (!r && (r = write_atomic(dirfd, side, base, strlen(base), 0)))
		err_sys(e, r, "%s", side);
	*fresh = !r;
	return r;
}

/* The source of a commit: c as one json: file name, each layer's file, data file and
 * backing given as the descriptors 3... (in the order of fds), the last with no backing. */
static int chain_spec(const struct vm_chain *c, struct sbuf *spec, int *fds, int *nfds)
{
	sb_puts(spec, "json:");
	for (int j = 0; j < c->n; j++) {
		const struct vm_layer *l = &c->l[j];
		fds[(*nfds)++] = l->fd;
		sb_printf(spec, "{\"driver\":\"%s\",\"file\":{\"driver\":\"%s\",\"filename\":"
			  "\"/proc/self/fd/%d\"}", l->format, l->blockdev ? "host_device" : "file",
			  2 + *nfds);
		if (l->datafd >= 0) {
			fds[(*nfds)++] = l->datafd;
			sb_printf(spec, ",\"data-file\":{\"driver\":\"file\",\"filename\":"
				  "\"/proc/self/fd/%d\"}", 2 + *nfds);
		}
		if (j + 1 < c->n)
			sb_puts(spec, ",\"backing\":");
		else if (!strcmp(l->format, "qcow2"))
			sb_puts(spec, ",\"backing\":null");
	}
	for (int j = 0; j < c->n; j++)
		sb_puts(spec, "}");
	return sb_err(spec);
}

pid_t disk_commit_start(const struct vm_chain *c, int storefd, const char *name, bool share,
			int *partfd, int *outfd, struct err *e)
{
	char part[300], out[32];
	uid_t uid;
	gid_t gid;
	int fds[FDS_MAX], nfds = 0;
	struct sbuf spec = {0};
	int r = err_took(e, vm_user(&uid, &gid, e->why, sizeof(e->why)));
	if (r)
		return r;
	if (c->n > CHAIN_MAX + 1 || (r = chain_spec(c, &spec, fds, &nfds))) {
		sb_free(&spec);
		return err_sys(e, r ? r : -E2BIG, "cannot name the chain to qemu-img");
	}
	for (int i = 0; i < nfds && !r; i++)
		r = user_reads(fds[i], e);
	if (r) {
		sb_free(&spec);
		return r;
	}
	snprintf(part, sizeof(part), "%s.part", name);
	/* made here, beneath the store's descriptor; QEMU's user's while qemu-img writes it
	 * (it reopens it by /proc/self/fd/N), root's again before its rename */
	*partfd = beneath_open(storefd, part, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			       0600);
	if (*partfd < 0 || (uid && fchown(*partfd, uid, gid) < 0)) {
		r = err_sys(e, errno, "cannot make images/%s", part);
		if (*partfd >= 0) {
			close(*partfd);
			unlinkat(storefd, part, 0);
		}
		sb_free(&spec);
		return r;
	}
	fds[nfds++] = *partfd;
	snprintf(out, sizeof(out), "/proc/self/fd/%d", 2 + nfds);
	char *argv[10] = {"qemu-img", "convert", "-q"};
	int n = 3;
	if (share)
		argv[n++] = "-U";
	argv[n++] = spec.p;
	argv[n++] = "-O";
	argv[n++] = "qcow2";
	argv[n++] = out;
	pid_t pid = qemu_img_start(-1, argv, fds, nfds, true, outfd);
	sb_free(&spec);
	if (pid < 0) {
		err_sys(e, pid, "cannot run qemu-img");
		close(*partfd);
		unlinkat(storefd, part, 0);
	}
	return pid;
}

int disk_commit_end(int st, int outfd, int storefd, int partfd, const char *name,
		    struct err *e)
{
	char part[300];
	struct stat a, b;
	snprintf(part, sizeof(part), "%s.part", name);
	int r = qemu_img_status(st, outfd, e);
	/* root's, as every image (QEMU's user reads it, as qemu-img did write it) */
	if (!r && (fchown(partfd, 0, 0) < 0 || fchmod(partfd, 0644) < 0 || fsync(partfd) < 0))
		r = err_sys(e, errno, "cannot hand images/%s to root", part);
	/* the name still the file made for it (only root writes the store) */
	if (!r && (fstat(partfd, &a) < 0 || fstatat(storefd, part, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
		   a.st_dev != b.st_dev || a.st_ino != b.st_ino))
		r = err_set(e, ESTALE, "images/%s is no longer the file the copy wrote", part);
	if (!r && renameat2(storefd, part, storefd, name, RENAME_NOREPLACE) < 0)
		r = err_sys(e, errno, "cannot rename images/%s", part);
	if (r && fstatat(storefd, part, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstat(partfd, &a) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
		unlinkat(storefd, part, 0);
	close(partfd);
	return r;
}
