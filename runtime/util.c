#include "runtime/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <stdint.h>
#include <time.h>

void sb_grow(struct sbuf *b, size_t need)
{
	if (b->oom || b->len + need + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + need + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return;
	}
	b->p = p;
	b->cap = cap;
}

void sb_add(struct sbuf *b, const char *s, size_t n)
{
	sb_grow(b, n);
	if (b->oom)
		return;
	if (n) /* s may be NULL then: memcpy must not see it */
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void sb_puts(struct sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		sb_add(b, small, n);
		return;
	}
	sb_grow(b, n);
	if (b->oom)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
}

void sb_free(struct sbuf *b)
{
	free(b->p);
	*b = (struct sbuf){0};
}

int write_atomic(int dirfd, const char *name, const char *data, size_t len, int sync)
{
	char tmp[300];
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			close(fd);
			unlinkat(dirfd, tmp, 0);
			return e;
		}
		done += n;
	}
	if ((sync && fsync(fd) < 0) || close(fd) < 0) {
		int e = -errno;
		unlinkat(dirfd, tmp, 0);
		return e;
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		int e = -errno;
		unlinkat(dirfd, tmp, 0);
		return e;
	}
	return 0;
}

int read_small(int dirfd, const char *name, size_t max, char **out, size_t *len)
{
	/* never blocking on a FIFO someone put there: only a regular file is read */
	auto_close int fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	struct sbuf b = {0};
	char chunk[4096];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			sb_free(&b);
			return -errno;
		}
		if (b.len + n > max) {
			sb_free(&b);
			return -EFBIG;
		}
		sb_add(&b, chunk, n);
	}
	sb_grow(&b, 0);
	if (b.oom) {
		sb_free(&b);
		return -ENOMEM;
	}
	b.p[b.len] = 0; /* an empty file is "", not what malloc left */
	*out = b.p;
	if (len)
		*len = b.len;
	return 0;
}

const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "a directory";
	case S_IFLNK: return "a symbolic link";
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFREG: return "a regular file";
	default: return "of an unknown kind";
	}
}

/* Looked at before it is opened, and again after: opening a FIFO would block, a device
 * could act, a link would lead out of the state directory. */
int read_state(int dirfd, const char *name, size_t max, char **out, size_t *len, char *why,
	       size_t whylen)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		int e = errno;
		if (e == ENOENT)
			snprintf(why, whylen, "%s is missing", name);
		else
			snprintf(why, whylen, "%s: %s", name, strerror(e));
		return -e;
	}
	auto_close int fd = -1;
	if (S_ISREG(st.st_mode))
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) < 0)
		fd = -1;
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s is %s, not a regular file", name, file_kind(st.st_mode));
		return -EINVAL;
	}
	if (fd < 0) {
		int e = errno;
		snprintf(why, whylen, "%s cannot be opened: %s", name, strerror(e));
		return -e;
	}
	if ((uint64_t)st.st_size > max) {
		snprintf(why, whylen, "%s is too large: %lld bytes, a state file is at most %zu",
			 name, (long long)st.st_size, max);
		return -EFBIG;
	}
	struct sbuf b = {0};
	char chunk[4096];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		int e = n < 0 ? errno : b.len + n > max ? EFBIG : 0;
		if (e) {
			snprintf(why, whylen, "%s %s%s", name, e == EFBIG ? "grew past " : "cannot be read: ",
				 e == EFBIG ? "the size limit while read" : strerror(e));
			sb_free(&b);
			return -e;
		}
		sb_add(&b, chunk, n);
	}
	sb_grow(&b, 0);
	if (b.oom) {
		snprintf(why, whylen, "%s cannot be read: %s", name, strerror(ENOMEM));
		sb_free(&b);
		return -ENOMEM;
	}
	b.p[b.len] = 0; /* an empty file too: the parser gets a string, never stale memory */
	*out = b.p;
	*len = b.len;
	return 0;
}

/* rm -rf that never leaves the file system it started on: a run directory may still have
 * a container's root (or, without a snapshot, an image) mounted inside it. */
static int remove_tree_dev(int dirfd, const char *name, dev_t dev)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (dev && st.st_dev != dev)
		return -EBUSY; /* a mount point: not ours to empty */
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int r = remove_tree_dev(fd, de->d_name, st.st_dev);
		if (r && !rc)
			rc = r;
	}
	closedir(d);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && !rc)
		rc = -errno;
	return rc;
}

int remove_tree(int dirfd, const char *name)
{
	struct stat parent;
	if (fstat(dirfd, &parent) < 0)
		return -errno;
	return remove_tree_dev(dirfd, name, parent.st_dev);
}

void fmt_time(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void fmt_duration(long s, char out[32])
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(out, 32, "%ldd%ldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, 32, "%ldh%ldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, 32, "%ldm%lds", s / 60, s % 60);
	else
		snprintf(out, 32, "%lds", s);
}

size_t name_pos(void *const *v, size_t n, size_t name_off, const char *name, bool *found)
{
	size_t lo = 0, hi = n;
	*found = false;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp((const char *)v[mid] + name_off, name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
