/* Who may do what through the HTTP door: the password file, one rule a line,
 *
 *     USER  ACCESS  PATH       HASH
 *     alice ro      /          $2b$12$...
 *     alice rw      /ns/lab/   $2b$12$...      (the same hash: one password per user)
 *
 * ACCESS is rw (every method), ro (GET and HEAD) or admin (rw, and the host-reaching knobs
 * of docs/security.md too); PATH a directory of the tree, covering
 * itself and all below it; HASH a crypt(3) hash, bcrypt as vmfs-passwd makes it. For a
 * request, the longest of the user's paths that covers it decides. docs/web-auth.md says it
 * for users.
 *
 * No HTTP and no FUSE here, so the unit tests drive it directly. Not thread-safe (the cache
 * of verified passwords): one caller at a time, as the HTTP door on vmfs's single loop is;
 * only auth_crypt may run on another thread (web/authq.h). */
#ifndef VMFS_WEB_AUTH_H
#define VMFS_WEB_AUTH_H
#include <stdbool.h>
#include <stddef.h>

#define AUTH_USER_MAX 64
#define AUTH_PATH_MAX 1024 /* with the NUL */

struct auth;

/* Reads the file at path (refused if group or others may write it). 0, or -errno with err
 * naming the file, the line and why: "/etc/vmfs/web.passwd:3: "rx" is not an access kind: use
 * rw, ro or admin". */
int auth_load(const char *path, struct auth **out, char *err, size_t errlen);
/* Reads the file again if it changed (inode, size, mtime or ctime): 1 when *a was replaced
 * (the old one freed), 0 when unchanged, -errno with err set when the new version cannot be
 * used; *a then keeps the old rules, and the same version is not reported again. */
int auth_reload_if_changed(struct auth **a, char *err, size_t errlen);
void auth_free(struct auth *a);

enum auth_op {
	AUTH_READ,  /* GET, HEAD of a file */
	AUTH_WRITE, /* every other method */
	AUTH_LIST,  /* GET of a directory: allowed too on the way to a rule's path */
};
enum auth_verdict {
	AUTH_ALLOW,
	AUTH_NEED_LOGIN, /* 401: no such user, no or wrong password */
	AUTH_DENY,	 /* 403: the user is known, the path or method is not theirs */
	AUTH_PENDING,	 /* crypt must run first: auth_check_async filled proof->hash */
};
/* May user (with pass) do op on path, a URL path without "." or ".." components? why gets a
 * sentence for the log: "alice may only read /ns/lab/", "wrong password for alice". */
enum auth_verdict auth_check(struct auth *a, const char *user, const char *pass, const char *path,
			     enum auth_op op, char *why, size_t whylen);
/* After AUTH_ALLOW: whether the rule that decides for user on path is admin (the
 * host-reaching knobs of docs/security.md too). */
bool auth_admin(const struct auth *a, const char *user, const char *path);
/* Whether a rule of user lets them read path (a file an image-naming value names). */
bool auth_may_read(const struct auth *a, const char *user, const char *path);
#define AUTH_HASH_MAX 256

/* crypt's verdict on a password, worked out by the caller elsewhere (a worker thread), so
 * that the check does not block: auth_check_async says AUTH_PENDING and names the hash in
 * hash; the caller sets yes = auth_crypt(pass, hash) and answered, then asks again with the
 * same credentials. */
struct auth_proof {
	char hash[AUTH_HASH_MAX];
	bool answered, yes;
};
enum auth_verdict auth_check_async(struct auth *a, const char *user, const char *pass,
				   const char *path, enum auth_op op, struct auth_proof *proof,
				   char *why, size_t whylen);
/* pass matches the crypt(3) hash; thread-safe, and as slow as the hash says. */
bool auth_crypt(const char *pass, const char *hash);

/* How often crypt(3) ran: a cached password costs nothing (for the tests and the log). */
unsigned long auth_crypt_calls(const struct auth *a);

/* Checks a rule's USER, ACCESS and PATH as the file's parser does and writes PATH with its
 * trailing slash to norm (AUTH_PATH_MAX bytes); vmfs-passwd checks its arguments with it.
 * 0, or -EINVAL with err saying why (no file or line). */
int auth_rule_check(const char *user, const char *access, const char *path,
		    char norm[AUTH_PATH_MAX], char *err, size_t errlen);
#endif
