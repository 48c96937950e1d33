#include "runtime/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/util.h"

const char *disk_format_fd(int fd)
{
	unsigned char magic[4] = {0};
	if (pread(fd, magic, 4, 0) != 4)
		memset(magic, 0, 4);
	return !memcmp(magic, "QFI\xfb", 4) ? "qcow2" : "raw";
}

const char *disk_format(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	const char *f = disk_format_fd(fd);
	if (fd >= 0)
		close(fd);
	return f;
}

/* Starts qemu-img in dirfd (-1: here), its output into a pipe (*outfd): the last line is
 * the reason when it fails. */
static pid_t qemu_img_start(int dirfd, char *const argv[], int *outfd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL); /* vmfs blocks signals for its signalfd */
		if ((dirfd >= 0 && fchdir(dirfd) < 0) || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(127);
		close_range(3, ~0U, 0);
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
static int qemu_img_status(int st, int outfd, char *err, size_t errlen)
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
		snprintf(err, errlen, "qemu-img: %s", line ? line + 1 : out);
	else if (WIFSIGNALED(st))
		snprintf(err, errlen, "qemu-img was killed by signal %d", WTERMSIG(st));
	else
		snprintf(err, errlen, "qemu-img failed (exit %d)", WEXITSTATUS(st));
	return -EIO;
}

static int qemu_img(int dirfd, char *const argv[], char *err, size_t errlen)
{
	int outfd, st;
	pid_t pid = qemu_img_start(dirfd, argv, &outfd);
	if (pid < 0)
		return pid;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return qemu_img_status(st, outfd, err, errlen);
}

int disk_info(const char *path, const char *format, int timeout_ms, struct sbuf *out, char *err,
	      size_t errlen)
{
	/* one layer only: with --backing-chain qemu-img would open each backing file before
	 * anyone has looked at where it lies */
	char *argv[] = {"qemu-img", "info", "--output=json", "-U", "-f", (char *)format,
			(char *)path, NULL};
	if (!format) { /* let it probe, as QEMU will */
		argv[4] = (char *)path;
		argv[5] = NULL;
	}
	int outfd, st;
	pid_t pid = qemu_img_start(-1, argv, &outfd);
	if (pid < 0) {
		snprintf(err, errlen, "cannot run qemu-img: %s", strerror(-pid));
		return pid;
	}
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r = 0;
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
		snprintf(err, errlen, "qemu-img info %s took over %d ms", path, timeout_ms);
	else if (r)
		snprintf(err, errlen, "qemu-img info %s said too much", path);
	else if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		while (out->len && (out->p[out->len - 1] == '\n' || out->p[out->len - 1] == ' '))
			out->len--;
		sb_add(out, "", 1); /* NUL */
		char *line = out->len ? strrchr(out->p, '\n') : NULL;
		snprintf(err, errlen, "qemu-img: %s", line ? line + 1 : out->len ? out->p : "failed");
		r = -EIO;
	}
	if (!r)
		sb_add(out, "", 1);
	return r ? r : sb_err(out);
}

int disk_overlay(int dirfd, const char *name, const char *base, bool *fresh, char *err,
		 size_t errlen)
{
	char side[300];
	auto_free char *was = NULL;
	struct stat st;
	snprintf(side, sizeof(side), "%s.base", name);
	*fresh = false;
	if (read_small(dirfd, side, 8192, &was, NULL) == 0 && !strcmp(was, base) &&
	    fstatat(dirfd, name, &st, 0) == 0)
		return 0;
	unlinkat(dirfd, name, 0); /* made for another base: its writes no longer apply */
	char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-F", (char *)disk_format(base),
			"-b", (char *)base, (char *)name, NULL};
	int r = qemu_img(dirfd, argv, err, errlen);
	if (!r)
		r = write_atomic(dirfd, side, base, strlen(base), 0);
	*fresh = !r;
	return r;
}

pid_t disk_commit_start(const char *src, const char *dst, bool share, int *outfd)
{
	char part[4200];
	snprintf(part, sizeof(part), "%s.part", dst);
	char *argv[16] = {"qemu-img", "convert", "-q", "-f", (char *)disk_format(src), "-O", "qcow2"};
	int n = 7;
	if (share)
		argv[n++] = "-U";
	argv[n++] = (char *)src;
	argv[n++] = part;
	argv[n] = NULL;
	return qemu_img_start(-1, argv, outfd);
}

int disk_commit_end(int st, int outfd, const char *dst, char *err, size_t errlen)
{
	char part[4200];
	snprintf(part, sizeof(part), "%s.part", dst);
	int r = qemu_img_status(st, outfd, err, errlen);
	if (!r && renameat2(AT_FDCWD, part, AT_FDCWD, dst, RENAME_NOREPLACE) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot rename %s: %s", part, strerror(errno));
	}
	if (r)
		unlink(part);
	return r;
}
