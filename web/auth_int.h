/* What web/auth.c (the file) and web/auth_check.c (the verdicts) share; not part of auth.h. */
#ifndef VMFS_WEB_AUTH_INT_H
#define VMFS_WEB_AUTH_INT_H
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "web/auth.h"

/* A browser sends its credentials with every request and bcrypt costs 50-100 ms, so verified
 * ones are remembered; a few dozen covers the people using one vmfs at a time. */
#define AUTH_CACHE_SIZE 64
#define AUTH_SUM_LEN 32 /* SHA-256 */

struct auth_rule {
	char *user;
	char *path; /* with its trailing slash */
	char *hash;
	bool rw;
	bool admin; /* rw, and the host-reaching knobs too */
	int line;
};

struct auth_cached {
	bool used;
	char user[AUTH_USER_MAX + 1];
	unsigned char sum[AUTH_SUM_LEN]; /* of the password: the password itself is not kept */
};

/* Which version of the file the rules come from (or which broken one was last reported). */
struct auth_stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime; /* ctime: a chmod g+w must be noticed too */
};

struct auth {
	char *file;
	struct auth_stamp seen;
	struct auth_rule *rules;
	size_t n;
	struct auth_cached cache[AUTH_CACHE_SIZE];
	size_t cache_next; /* the oldest entry, replaced next */
	unsigned long crypt_calls;
};
#endif
