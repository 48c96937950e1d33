/* The transport of a mounted tree (sshfs's, or the admin's): POSIX calls on ROOT/REL. What
 * the network filesystem does with the member's errno is its own business (SFTP: EIO). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/rtrans.h"

#define READ_MAX (16u << 20)

struct rposix {
	struct rtrans t;
	char root[PATH_MAX];
};

static void full_path(struct rtrans *t, const char *rel, char *out, size_t len)
{
	const char *root = ((struct rposix *)t)->root;
	snprintf(out, len, "%s%s%s", root, *root ? "/" : "", rel);
}

static int read_all(int fd, struct sbuf *out)
{
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (out->len + n > READ_MAX)
			return -EFBIG;
		sb_add(out, buf, n);
	}
	return n < 0 ? -errno : sb_err(out);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

static int px_read(struct rtrans *t, const char *rel, struct sbuf *out)
{
	char path[PATH_MAX + 1100];
	full_path(t, rel, path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = read_all(fd, out);
	close(fd);
	return r;
}

static int px_write(struct rtrans *t, const char *rel, const char *data, size_t len, bool ctl,
		    struct sbuf *out)
{
	char path[PATH_MAX + 1100];
	full_path(t, rel, path, sizeof(path));
	int fd = open(path, (ctl ? O_RDWR : O_WRONLY | O_TRUNC | O_CREAT) | O_CLOEXEC, 0666);
	if (fd < 0)
		return -errno;
	int r = write_all(fd, data, len);
	if (ctl) /* the answer says why, also after a failed write */
		read_all(fd, out);
	close(fd);
	return r;
}

static int px_mkdir(struct rtrans *t, const char *rel)
{
	char path[PATH_MAX + 1100];
	full_path(t, rel, path, sizeof(path));
	return mkdir(path, 0777) < 0 ? -errno : 0;
}

static ssize_t px_pread(struct rtrans *t, const char *rel, uint64_t *off, char *buf, size_t len)
{
	char path[PATH_MAX + 1100];
	full_path(t, rel, path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size < *off)
		*off = 0;
	ssize_t n = pread(fd, buf, len, (off_t)*off);
	int e = errno;
	close(fd);
	return n < 0 ? -e : n;
}

static void px_free(struct rtrans *t)
{
	free(t);
}

static const struct rtrans_ops posix_ops = {
	.read = px_read,
	.write = px_write,
	.mkdir = px_mkdir,
	.pread = px_pread,
	.free = px_free,
};

struct rtrans *rposix_new(const char *root)
{
	struct rposix *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->t.ops = &posix_ops;
	snprintf(p->root, sizeof(p->root), "%s", root);
	return &p->t;
}

struct rtrans *rtrans_new(const struct rtarget *t)
{
	if (!t)
		return rposix_new("");
	return t->kind == RK_PATH ? rposix_new(t->root) : r9p_new(t);
}
