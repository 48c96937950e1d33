/* The password file of the HTTP door: parsing, checking, reloading (web/auth.h). Errors name
 * the file and line and say why in words, because the person reading them edited the file by
 * hand or with a script. */
#include "web/auth.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl/util.h"
#include "runtime/util.h"
#include "web/auth_int.h"

static bool user_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static int user_check(const char *user, char *err, size_t errlen)
{
	char q[80];
	size_t n = strlen(user), i;

	for (i = 0; i < n && user_char(user[i]); i++)
		;
	if (n == 0 || n > AUTH_USER_MAX || i < n)
		return ctl_fail(err, errlen,
				"\"%s\" is not a user name: use 1 to %d letters, digits, '.', '_' "
				"or '-'",
				ctl_quote(user, n, q, sizeof q), AUTH_USER_MAX);
	return 0;
}

static int access_check(const char *access, char *err, size_t errlen)
{
	char q[40];

	if (strcmp(access, "rw") && strcmp(access, "ro") && strcmp(access, "admin"))
		return ctl_fail(err, errlen, "\"%s\" is not an access kind: use rw, ro or admin",
				ctl_quote(access, strlen(access), q, sizeof q));
	return 0;
}

/* Refuses what a rule's path must not hold rather than cleaning it up: a rule someone wrote
 * as "/ns/./lab" or "/ns//lab" was meant as something, and guessing what is not our job. */
static const char *path_flaw(const char *path)
{
	const char *c, *end;

	if (path[0] != '/')
		return "it must start with /";
	if (strlen(path) > AUTH_PATH_MAX - 2) /* room for the trailing slash */
		return "it is too long";
	for (c = path; *c; c++)
		if (*c <= ' ' || *c > '~')
			return "it has a character that is not printable";
	for (c = path + 1; *c; c = *end ? end + 1 : end) {
		end = strchrnul(c, '/');
		if (end == c && *end)
			return "it has an empty component (//)";
		if ((end - c == 1 && c[0] == '.') || (end - c == 2 && c[0] == '.' && c[1] == '.'))
			return "\".\" and \"..\" are not allowed";
	}
	return NULL;
}

int auth_rule_check(const char *user, const char *access, const char *path,
		    char norm[AUTH_PATH_MAX], char *err, size_t errlen)
{
	char q[120];
	const char *flaw;
	int r;

	if ((r = user_check(user, err, errlen)) || (r = access_check(access, err, errlen)))
		return r;
	if ((flaw = path_flaw(path)))
		return ctl_fail(err, errlen, "\"%s\" is not a path of the tree: %s",
				ctl_quote(path, strlen(path), q, sizeof q), flaw);
	snprintf(norm, AUTH_PATH_MAX, "%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/");
	return 0;
}

static bool bcrypt_whole(const char *h)
{
	size_t i;

	if (strlen(h) != 60 || h[3] != '$' || h[6] != '$' || h[4] < '0' || h[4] > '3' ||
	    h[5] < '0' || h[5] > '9')
		return false;
	for (i = 7; i < 60; i++)
		if (!strchr("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
			    h[i]))
			return false;
	return true;
}

/* crypt_checksalt judges only the method and salt, so a bcrypt hash cut short by a careless
 * copy would pass, and then no password would ever match it: bcrypt's shape is checked too. */
static int hash_check(const char *hash, char *err, size_t errlen)
{
	char q[90];

	ctl_quote(hash, strlen(hash), q, sizeof q);
	switch (crypt_checksalt(hash)) {
	case CRYPT_SALT_OK:
		break;
	case CRYPT_SALT_METHOD_LEGACY:
		return ctl_fail(
		    err, errlen,
		    "\"%s\" is a hash of an old, weak kind (DES, MD5, NT): make a bcrypt "
		    "one with vmfs-passwd",
		    q);
	default:
		return ctl_fail(
		    err, errlen,
		    "\"%s\" is not a hash crypt(3) can check: make one with vmfs-passwd", q);
	}
	if (!strncmp(hash, "$2", 2) && !bcrypt_whole(hash))
		return ctl_fail(
		    err, errlen,
		    "\"%s\" is not a whole bcrypt hash: one has 60 characters ($2b$, two "
		    "digits of cost, $, 53 more)",
		    q);
	return 0;
}

/* What no line may break against the lines before it: one hash per user, one rule per path. */
static int rule_conflict(const struct auth *a, const struct auth_rule *r, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		const struct auth_rule *o = &a->rules[i];
		if (strcmp(o->user, r->user))
			continue;
		if (strcmp(o->hash, r->hash))
			return ctl_fail(err, errlen,
					"%s has another hash on line %d: a user has one password, "
					"the same hash on all their lines",
					r->user, o->line);
		if (!strcmp(o->path, r->path))
			return ctl_fail(err, errlen, "%s has a rule for %s already, on line %d",
					r->user, r->path, o->line);
	}
	return 0;
}

static int rule_add(struct auth *a, const char *f[4], int line, char *err, size_t errlen)
{
	char norm[AUTH_PATH_MAX];
	struct auth_rule r = {.line = line}, *grown;
	int e;

	if ((e = auth_rule_check(f[0], f[1], f[2], norm, err, errlen)) ||
	    (e = hash_check(f[3], err, errlen)))
		return e;
	r.admin = !strcmp(f[1], "admin");
	r.rw = r.admin || !strcmp(f[1], "rw");
	r.user = (char *)f[0];
	r.path = norm;
	r.hash = (char *)f[3];
	if ((e = rule_conflict(a, &r, err, errlen)))
		return e;
	if (!(grown = reallocarray(a->rules, a->n + 1, sizeof(*grown))))
		return -ENOMEM;
	a->rules = grown;
	r.user = strdup(f[0]);
	r.path = strdup(norm);
	r.hash = strdup(f[3]);
	a->rules[a->n++] = r; /* auth_free frees what strdup did get */
	return r.user && r.path && r.hash ? 0 : -ENOMEM;
}

/* One line: a rule, or nothing (blank, a # comment). err without the file and line. */
static int line_parse(struct auth *a, char *s, int line, char *err, size_t errlen)
{
	const char *f[5];
	char *save = NULL, *tok;
	int n = 0;

	for (tok = strtok_r(s, " \t\r\n\v\f", &save); tok && n < 5;
	     tok = strtok_r(NULL, " \t\r\n\v\f", &save))
		f[n++] = tok;
	if (n == 0 || f[0][0] == '#')
		return 0;
	if (n != 4)
		return ctl_fail(err, errlen,
				"%s fields where a rule has 4: USER ACCESS PATH HASH (a comment "
				"is a line of its own, starting with #)",
				n < 4 ? "too few" : "too many");
	return rule_add(a, f, line, err, errlen);
}

static void stamp_of(const struct stat *st, struct auth_stamp *s)
{
	*s = (struct auth_stamp){.dev = st->st_dev,
				 .ino = st->st_ino,
				 .size = st->st_size,
				 .mtime = st->st_mtim,
				 .ctime = st->st_ctim};
}

/* Anyone who can write the file can let themselves in. */
static int file_check(const char *path, const struct stat *st, char *err, size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -EINVAL;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen,
			 "%s: writable by %s (mode %04o), so anyone there could let themselves in: "
			 "chmod go-w it",
			 path, st->st_mode & S_IWOTH ? "others" : "its group",
			 (unsigned)(st->st_mode & 07777));
		return -EACCES;
	}
	return 0;
}

static int file_parse(struct auth *a, FILE *f, char *err, size_t errlen)
{
	auto_free char *s = NULL;
	size_t cap = 0;
	char why[512];
	int line = 0, e;

	while (getline(&s, &cap, f) >= 0)
		if ((e = line_parse(a, s, ++line, why, sizeof why))) {
			snprintf(err, errlen, "%s:%d: %s", a->file, line,
				 e == -ENOMEM ? strerror(ENOMEM) : why);
			return e;
		}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", a->file, strerror(EIO));
		return -EIO;
	}
	return 0;
}

int auth_load(const char *path, struct auth **out, char *err, size_t errlen)
{
	struct auth *a = calloc(1, sizeof(*a));
	auto_fclose FILE *f = NULL;
	struct stat st;
	int e;

	*out = NULL;
	if (!a || !(a->file = strdup(path))) {
		free(a);
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	if (!(f = fopen(path, "re")) || fstat(fileno(f), &st) < 0) {
		e = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-e));
	} else if (!(e = file_check(path, &st, err, errlen)) &&
		   !(e = file_parse(a, f, err, errlen))) {
		stamp_of(&st, &a->seen);
		*out = a;
		return 0;
	}
	auth_free(a);
	return e;
}

static bool stamp_same(const struct auth_stamp *x, const struct auth_stamp *y)
{
	return x->dev == y->dev && x->ino == y->ino && x->size == y->size &&
	       x->mtime.tv_sec == y->mtime.tv_sec && x->mtime.tv_nsec == y->mtime.tv_nsec &&
	       x->ctime.tv_sec == y->ctime.tv_sec && x->ctime.tv_nsec == y->ctime.tv_nsec;
}

int auth_reload_if_changed(struct auth **ap, char *err, size_t errlen)
{
	struct auth *a = *ap, *fresh;
	struct auth_stamp now = {0}; /* a missing file: all zero, reported once too */
	struct stat st;
	int e;

	if (stat(a->file, &st) == 0)
		stamp_of(&st, &now);
	if (stamp_same(&now, &a->seen))
		return 0;
	/* Remembered before reading, so that a broken version is reported once, not at every
	 * tick; the next change is read again. */
	a->seen = now;
	if ((e = auth_load(a->file, &fresh, err, errlen)))
		return e;
	auth_free(a);
	*ap = fresh;
	return 1;
}

void auth_free(struct auth *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->n; i++) {
		free(a->rules[i].user);
		free(a->rules[i].path);
		free(a->rules[i].hash);
	}
	free(a->rules);
	free(a->file);
	explicit_bzero(a->cache, sizeof(a->cache));
	free(a);
}
