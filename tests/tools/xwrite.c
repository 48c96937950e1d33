/* Test helper: one write(2) of TEXT to FILE, as `echo` would do, but reporting the errno
 * by name so tests can assert it, and optionally reading the answer back on the same
 * descriptor (the ctl transaction).
 *   xwrite FILE TEXT        prints nothing on success, else the errno name; exit 0/1
 *   xwrite -r FILE TEXT     opens read-write, writes, then prints what a read returns */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *errname(int e)
{
	static const struct {
		int e;
		const char *n;
	} t[] = {{EINVAL, "EINVAL"},   {ENOENT, "ENOENT"},   {EBUSY, "EBUSY"},
		 {EEXIST, "EEXIST"},   {EACCES, "EACCES"},   {EPERM, "EPERM"},
		 {ENOSPC, "ENOSPC"},   {ENOMEM, "ENOMEM"},   {ENOTEMPTY, "ENOTEMPTY"},
		 {EOPNOTSUPP, "EOPNOTSUPP"}, {EISDIR, "EISDIR"}, {ENOTDIR, "ENOTDIR"},
		 {EXDEV, "EXDEV"},     {EAGAIN, "EAGAIN"},   {EIO, "EIO"},
		 {ENODEV, "ENODEV"},   {EHOSTDOWN, "EHOSTDOWN"}, {ETIMEDOUT, "ETIMEDOUT"},
		 {ENOTCONN, "ENOTCONN"}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].e == e)
			return t[i].n;
	return strerror(e);
}

int main(int argc, char **argv)
{
	int rd = argc == 4 && !strcmp(argv[1], "-r");
	if (argc != 3 + rd) {
		fprintf(stderr, "usage: xwrite [-r] FILE TEXT\n");
		return 2;
	}
	const char *file = argv[1 + rd], *text = argv[2 + rd];
	int fd = open(file, rd ? O_RDWR : O_WRONLY | O_TRUNC);
	if (fd < 0) {
		printf("%s\n", errname(errno));
		return 1;
	}
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	if (rd) {
		char buf[4096];
		ssize_t got = read(fd, buf, sizeof(buf) - 1);
		if (got > 0)
			fwrite(buf, 1, got, stdout);
	} else if (n < 0)
		printf("%s\n", errname(e));
	close(fd);
	return n < 0;
}
