/* User namespaces for containers (userns.h): the subordinate id files, the namespace that
 * carries an idmapped mount's mapping, and the startup probe. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/userns.h"
#include "runtime/util.h"

/* A decimal field of a subid line: digits only, no sign, no blanks, at most 2^32-1. */
static int subid_number(const char *s, size_t len, uint64_t *out)
{
	uint64_t n = 0;
	if (!len || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	if (n > UINT32_MAX)
		return -1;
	*out = n;
	return 0;
}

/* One line, "NAME:START:COUNT". 1 if it is user's with a range of at least want ids. */
static int subid_line(const char *path, unsigned no, const char *line, size_t len, const char *user,
		      const char *uidstr, uint32_t want, uint32_t *start, uint32_t *found,
		      char *err, size_t errlen)
{
	const char *c1 = memchr(line, ':', len);
	const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
	uint64_t st, n;
	if (!c1 || !c2 || c1 == line || subid_number(c1 + 1, (size_t)(c2 - c1 - 1), &st) ||
	    subid_number(c2 + 1, len - (size_t)(c2 + 1 - line), &n)) {
		snprintf(err, errlen, "%s:%u: \"%.*s\" is not NAME:START:COUNT (decimal numbers)",
			 path, no, (int)(len > 80 ? 80 : len), line);
		return -EINVAL;
	}
	if (n == 0 || st + n - 1 >= UINT32_MAX) { /* (uid_t)-1 is no id */
		snprintf(err, errlen, "%s:%u: the range %llu+%llu does not fit in the ids", path,
			 no, (unsigned long long)st, (unsigned long long)n);
		return -EINVAL;
	}
	size_t nl = (size_t)(c1 - line);
	bool mine = (nl == strlen(user) && !memcmp(line, user, nl)) ||
		    (*uidstr && nl == strlen(uidstr) && !memcmp(line, uidstr, nl));
	if (!mine)
		return 0;
	if (n < want) {
		*found = (uint32_t)n > *found ? (uint32_t)n : *found;
		return 0;
	}
	*start = (uint32_t)st;
	return 1;
}

int userns_subid_find(const char *path, const char *text, const char *user, uid_t uid,
		      uint32_t want, uint32_t *start, char *err, size_t errlen)
{
	char uidstr[16] = "";
	uint32_t found = 0;
	unsigned no = 0;
	if (uid != (uid_t)-1)
		snprintf(uidstr, sizeof(uidstr), "%u", (unsigned)uid);
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		no++;
		/* blank lines and comments are not in subuid(5), but shadow's tools skip them */
		if (len && line[0] != '#') {
			int r = subid_line(path, no, line, len, user, uidstr, want, start, &found,
					   err, errlen);
			if (r)
				return r < 0 ? r : 0;
		}
		line += len + (nl ? 1 : 0);
	}
	if (found)
		snprintf(err, errlen,
			 "%s gives %s only %u ids, fewer than the %u a container "
			 "needs",
			 path, user, found, want);
	else
		snprintf(err, errlen,
			 "%s has no range for the user %s (./setup makes one: "
			 "scripts/mkuser)",
			 path, user);
	return -ENOENT;
}

int userns_subid_read(const char *path, const char *user, uid_t uid, uint32_t want, uint32_t *start,
		      char *err, size_t errlen)
{
	char *text = NULL;
	size_t len;
	int r = read_small(AT_FDCWD, path, USERNS_FILE_MAX, &text, &len);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
		return r;
	}
	if (strlen(text) != len) {
		snprintf(err, errlen, "%s holds a NUL byte", path);
		r = -EINVAL;
	} else {
		r = userns_subid_find(path, text, user, uid, want, start, err, errlen);
	}
	free(text);
	return r;
}

static int write_line(const char *path, const char *line, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : write(fd, line, strlen(line));
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (n == (ssize_t)strlen(line))
		return 0;
	snprintf(err, errlen, "write \"%.*s\" to %s: %s", (int)strcspn(line, "\n"), line, path,
		 strerror(e));
	return -e;
}

int userns_map(pid_t pid, const struct userns_range *r, char *err, size_t errlen)
{
	char path[64], line[64];
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	snprintf(line, sizeof(line), "0 %u %u\n", r->uid, r->count);
	int e = write_line(path, line, err, errlen);
	if (e)
		return e;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
	snprintf(line, sizeof(line), "0 %u %u\n", r->gid, r->count);
	return write_line(path, line, err, errlen);
}

/* /proc/PID/ns/NAME opened; -errno with err. */
static int ns_open(pid_t pid, const char *name, char *err, size_t errlen)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return fd < 0 ? -errno : fd;
}

int userns_make(const struct userns_range *r, int *netfd, char *err, size_t errlen)
{
	int p[2];
	pid_t parent = getpid();
	if (netfd)
		*netfd = -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -errno;
	}
	/* a process only holds the namespaces until they are opened: it waits for EOF, and
	 * dies with its parent (vmfs may be killed meanwhile; a fork of it may hold p[1]).
	 * With both flags the network namespace is made inside the user namespace: its own. */
	unsigned long flags = CLONE_NEWUSER | (netfd ? CLONE_NEWNET : 0);
	pid_t pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid == 0) {
		char c;
		close(p[1]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(1);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	int e = pid < 0 ? -errno : 0, fd = -1;
	close(p[0]);
	if (e)
		snprintf(err, errlen, "make a user namespace: %s", strerror(-e));
	else if (!(e = userns_map(pid, r, err, errlen)) &&
		 (fd = ns_open(pid, "user", err, errlen)) >= 0 && netfd &&
		 (*netfd = ns_open(pid, "net", err, errlen)) < 0) {
		e = *netfd;
		close(fd);
	}
	if (!e && fd < 0)
		e = fd;
	close(p[1]);
	while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return e ? e : fd;
}

int userns_idmapped_tree(int dirfd, const char *path, int usernsfd, char *err, size_t errlen)
{
	unsigned flags =
	    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | (*path ? 0 : AT_EMPTY_PATH);
	int fd = syscall(SYS_open_tree, dirfd, path, flags);
	if (fd < 0) {
		snprintf(err, errlen, "open_tree %s: %s", *path ? path : "(fd)", strerror(errno));
		return -errno;
	}
	struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)usernsfd};
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0) {
		int e = errno;
		snprintf(err, errlen, "an idmapped mount of %s: %s%s", *path ? path : "the image",
			 strerror(e),
			 e == EINVAL ? " (its filesystem does not support idmapped mounts?)" : "");
		close(fd);
		return -e;
	}
	return fd;
}
