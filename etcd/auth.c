/* etcd's password, read from its file (transport.h: etcd_read_password). The file is refused
 * unless it is this process's own and no one else may read it: the password lets its holder
 * write what vmfs may in etcd, which is every host's state. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "etcd/transport.h"

#define PASSWORD_MAX 1024

int etcd_read_password(const char *path, char **out, struct err *e)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return err_sys(e, errno, "etcd: password file %s cannot be opened", path);
	struct stat st;
	char buf[PASSWORD_MAX + 2];
	ssize_t n = -1;
	int r = 0;
	if (fstat(fd, &st))
		r = err_sys(e, errno, "etcd: password file %s", path);
	else if (!S_ISREG(st.st_mode))
		r = err_set(e, EINVAL, "etcd: password file %s is not a regular file", path);
	else if (st.st_uid != geteuid())
		r = err_set(e, EACCES,
			    "etcd: password file %s belongs to uid %u, not to this process's %u",
			    path, (unsigned)st.st_uid, (unsigned)geteuid());
	else if (st.st_mode & 077)
		r = err_set(e, EACCES,
			    "etcd: password file %s may be read or written by group or others "
			    "(mode %03o): chmod 600 it",
			    path, (unsigned)(st.st_mode & 0777));
	else if ((n = read(fd, buf, sizeof(buf) - 1)) < 0)
		r = err_sys(e, errno, "etcd: password file %s cannot be read", path);
	close(fd);
	if (r || n < 0)
		return r;
	const char *nl = memchr(buf, '\n', (size_t)n);
	size_t len = nl ? (size_t)(nl - buf) : (size_t)n;
	bool nul = memchr(buf, 0, len) != NULL;
	if (len && buf[len - 1] == '\r')
		len--;
	if (nul)
		r = err_set(e, EINVAL, "etcd: password file %s holds a NUL byte", path);
	else if (len == 0)
		r = err_set(e, EINVAL, "etcd: password file %s has an empty first line", path);
	else if (len > PASSWORD_MAX)
		r = err_set(e, EINVAL, "etcd: password file %s: a first line longer than %d bytes",
			    path, PASSWORD_MAX);
	else if (!(*out = strndup(buf, len)))
		r = err_set(e, ENOMEM, "etcd: out of memory");
	explicit_bzero(buf, sizeof(buf));
	return r;
}
