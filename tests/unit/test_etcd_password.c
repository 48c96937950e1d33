/* etcd/auth.c: the password is the first line of a file only its owner may read; every other
 * file is refused with words. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "etcd/transport.h"
#include "tests/unit/tap.h"

static char dir[] = "/tmp/test_etcd_password.XXXXXX", path[64];

/* path holding n bytes of s, with mode */
static void file(const char *s, size_t n, mode_t mode)
{
	FILE *f = fopen(path, "w");
	if (!f || fwrite(s, 1, n, f) != n || fclose(f) || chmod(path, mode)) {
		perror(path);
		exit(1);
	}
}

/* the password read, or "!" and the reason */
static const char *pw(void)
{
	static char out[ERR_WHY_MAX + 2];
	char *p = NULL;
	struct err e;
	if (etcd_read_password(path, &p, &e)) {
		snprintf(out, sizeof(out), "!%s", e.why);
	} else {
		snprintf(out, sizeof(out), "%s", p);
		free(p);
	}
	return out;
}

static bool says(const char *got, const char *words) { return got[0] == '!' && strstr(got, words); }

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/pw", dir);
	file("s3cret\n", 7, 0600);
	is_str(pw(), "s3cret", "the first line, without its newline");
	file("s3cret\r\nsecond\n", 15, 0600);
	is_str(pw(), "s3cret", "a CRLF line ends before the CR; later lines are not read");
	file("s3cret", 6, 0400);
	is_str(pw(), "s3cret", "no newline at all, mode 0400: read");
	file("p a s s", 7, 0600);
	is_str(pw(), "p a s s", "spaces are part of the password");
	file("s3cret\n", 7, 0640);
	ok(says(pw(), "may be read or written by group or others (mode 640): chmod 600 it"),
	   "mode 0640 refused, saying how to mend it: %s", pw());
	file("s3cret\n", 7, 0602);
	ok(says(pw(), "(mode 602)"), "mode 0602 (others may write) refused");
	file("\nsecond\n", 8, 0600);
	ok(says(pw(), "has an empty first line"), "an empty first line refused");
	file("s3\0cret\n", 8, 0600);
	ok(says(pw(), "holds a NUL byte"), "a NUL byte refused");
	char big[1100];
	memset(big, 'x', sizeof(big));
	file(big, sizeof(big), 0600);
	ok(says(pw(), "a first line longer than 1024 bytes"), "a line of 1100 bytes refused");
	unlink(path);
	ok(says(pw(), "cannot be opened"), "a file that is not there: said");
	mkdir(path, 0700);
	ok(says(pw(), "is not a regular file"), "a directory refused");
	rmdir(path);
	char target[80];
	snprintf(target, sizeof(target), "%s/real", dir);
	file("x\n", 2, 0600);
	rename(path, target);
	if (symlink(target, path))
		return 1;
	ok(says(pw(), "cannot be opened"), "a symbolic link refused (O_NOFOLLOW)");
	unlink(path);
	unlink(target);
	rmdir(dir);
	return tap_done();
}
