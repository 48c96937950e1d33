/* The door's token (web/token.h): made with getrandom, kept beside the state it guards. */
#include "web/token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The file as it is, if it can be trusted: ours, a regular file, no one else may read it. */
static int token_read(int dirfd, char out[TOKEN_HEX + 1])
{
	char buf[TOKEN_HEX + 2];
	struct stat st;
	int fd = openat(dirfd, TOKEN_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    !(st.st_mode & 077))
		n = read(fd, buf, sizeof(buf));
	close(fd);
	/* one line of 64 hex digits, the newline optional */
	if (n < TOKEN_HEX || (n == TOKEN_HEX + 1 && buf[TOKEN_HEX] != '\n') || n > TOKEN_HEX + 1 ||
	    !all_hex(buf, TOKEN_HEX))
		return -EINVAL;
	memcpy(out, buf, TOKEN_HEX);
	out[TOKEN_HEX] = 0;
	return 0;
}

static int token_make(int dirfd, char out[TOKEN_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[TOKEN_HEX / 2];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[TOKEN_HEX] = '\n';
	explicit_bzero(raw, sizeof(raw));
	/* a new file put in place by rename: whatever was there (a symlink, a file others
	 * could read) is replaced, never written through */
	const char *tmp = TOKEN_FILE ".new";
	unlinkat(dirfd, tmp, 0);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int r = 0;
	if (fchmod(fd, 0600) < 0 || write(fd, out, TOKEN_HEX + 1) != TOKEN_HEX + 1 || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	close(fd);
	if (!r && renameat(dirfd, tmp, dirfd, TOKEN_FILE) < 0)
		r = -errno;
	if (r)
		unlinkat(dirfd, tmp, 0);
	out[TOKEN_HEX] = 0;
	return r;
}

int token_load(int dirfd, char out[TOKEN_HEX + 1], bool *made, char *err, size_t errlen)
{
	*made = false;
	if (token_read(dirfd, out) == 0)
		return 0;
	int r = token_make(dirfd, out);
	if (r) {
		explicit_bzero(out, TOKEN_HEX + 1);
		snprintf(err, errlen, "web: cannot write the token file %s in the state directory: %s",
			 TOKEN_FILE, strerror(-r));
		return r;
	}
	*made = true;
	return 0;
}

bool token_is(const char *tok, const char *s)
{
	size_t n = strnlen(s, TOKEN_HEX + 1);
	unsigned char d = n != TOKEN_HEX;
	for (size_t i = 0; i < TOKEN_HEX; i++)
		d |= (unsigned char)tok[i] ^ (unsigned char)(i < n ? s[i] : 0);
	return d == 0;
}
