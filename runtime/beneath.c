/* openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS) where the kernel has
 * it (5.6+); elsewhere a walk of single names, each opened O_NOFOLLOW from the previous
 * directory's descriptor, which is what openat2 does for us in one call. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/beneath.h"

static bool force_walk;

void beneath_force_walk(bool on) { force_walk = on; }

/* One name at a time: "." and empty names skipped, ".." refused as RESOLVE_BENEATH does. */
static int walk_open(int rootfd, const char *rel, int flags, mode_t mode)
{
	char buf[PATH_MAX];
	if (strlen(rel) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, rel);
	int cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *save = NULL, *name = strtok_r(buf, "/", &save);
	while (cur >= 0) {
		while (name && !strcmp(name, "."))
			name = strtok_r(NULL, "/", &save);
		if (name && !strcmp(name, "..")) {
			close(cur);
			errno = EXDEV;
			return -1;
		}
		char *next = name ? strtok_r(NULL, "/", &save) : NULL;
		while (next && !strcmp(next, "."))
			next = strtok_r(NULL, "/", &save);
		if (!name) { /* rel named the root itself */
			int fd = openat(cur, ".", flags | O_CLOEXEC, mode);
			close(cur);
			return fd;
		}
		int fd = next ? openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
			      : openat(cur, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
		int e = errno;
		close(cur);
		errno = e;
		if (!next || fd < 0)
			return fd;
		cur = fd;
		name = next;
	}
	return -1;
}

int beneath_open(int rootfd, const char *rel, int flags, mode_t mode)
{
	if (!*rel)
		rel = ".";
	if (rel[0] == '/') {
		errno = EXDEV;
		return -1;
	}
	if (!force_walk) {
		struct open_how how = {
		    .flags = (unsigned)(flags | O_CLOEXEC),
		    /* openat2 refuses type bits (S_IFREG) that open ignores */
		    .mode = flags & (O_CREAT | __O_TMPFILE) ? mode & 07777 : 0,
		    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};
		long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
		if (fd >= 0 || errno != ENOSYS)
			return (int)fd;
	}
	return walk_open(rootfd, rel, flags, mode);
}

int beneath_parent(int rootfd, const char *rel, const char **last)
{
	const char *slash = strrchr(rel, '/');
	*last = slash ? slash + 1 : rel;
	if (rel[0] == '/' || !**last || !strcmp(*last, ".") || !strcmp(*last, "..")) {
		errno = EINVAL;
		return -1;
	}
	char dir[PATH_MAX];
	size_t n = slash ? (size_t)(slash - rel) : 0;
	if (n >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, rel, n);
	dir[n] = 0;
	return beneath_open(rootfd, dir, O_PATH | O_DIRECTORY, 0);
}
