/* The verdicts of the HTTP door (web/auth.h): who the user is (bcrypt, behind a cache of
 * verified passwords) and which of their rules decides for a path. */
#include "web/auth.h"

#include <crypt.h>
#include <gnutls/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/util.h"
#include "web/auth_int.h"

/* Equal or not, in a time that depends on the length only, so that how long a check takes
 * does not tell how much of a guess was right. */
static bool same_bytes(const void *x, const void *y, size_t n)
{
	const unsigned char *p = x, *q = y;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= p[i] ^ q[i];
	return d == 0;
}

bool auth_crypt(const char *pass, const char *hash)
{
	struct crypt_data *d = calloc(1, sizeof(*d)); /* 32 KiB: not on a worker's stack */
	const char *out;
	bool yes;

	if (!d)
		return false;
	out = crypt_rn(pass, hash, d, sizeof(*d));
	yes = out && strlen(out) == strlen(hash) && same_bytes(out, hash, strlen(hash));
	explicit_bzero(d, sizeof(*d)); /* it held the password */
	free(d);
	return yes;
}

/* 1: pass matches hash, 0: it does not, -1: the proof must be worked out first. Without a
 * proof, crypt runs here. */
static int crypt_matches(struct auth *a, const char *pass, const char *hash,
			 struct auth_proof *pf)
{
	if (!pf) {
		a->crypt_calls++;
		return auth_crypt(pass, hash);
	}
	if (pf->answered && !strcmp(pf->hash, hash)) {
		a->crypt_calls++;
		return pf->yes;
	}
	if (strlen(hash) >= sizeof(pf->hash))
		return 0;
	snprintf(pf->hash, sizeof(pf->hash), "%s", hash);
	pf->answered = false;
	return -1;
}

/* Every entry is looked at, so that the time does not tell which one matched. */
static bool cache_has(const struct auth *a, const char *user, const unsigned char *sum)
{
	bool found = false;
	size_t i;

	for (i = 0; i < AUTH_CACHE_SIZE; i++) {
		const struct auth_cached *c = &a->cache[i];
		found |= c->used && !strcmp(c->user, user) && same_bytes(c->sum, sum, AUTH_SUM_LEN);
	}
	return found;
}

static void cache_add(struct auth *a, const char *user, const unsigned char *sum)
{
	struct auth_cached *c = &a->cache[a->cache_next];

	c->used = true;
	snprintf(c->user, sizeof(c->user), "%s", user);
	memcpy(c->sum, sum, AUTH_SUM_LEN);
	a->cache_next = (a->cache_next + 1) % AUTH_CACHE_SIZE;
}

/* The cache holds a SHA-256 of the password, not the password. Reloading the file makes a
 * new struct auth, so a changed password empties it. Failures are never cached: a wrong
 * guess costs the guesser a whole bcrypt each time. */
static int password_ok(struct auth *a, const char *user, const char *hash, const char *pass,
		       struct auth_proof *pf)
{
	unsigned char sum[AUTH_SUM_LEN];
	bool hashed = gnutls_hash_fast(GNUTLS_DIG_SHA256, pass, strlen(pass), sum) == 0;
	int r;

	if (hashed && cache_has(a, user, sum))
		return 1;
	if ((r = crypt_matches(a, pass, hash, pf)) != 1)
		return r;
	if (hashed)
		cache_add(a, user, sum);
	return 1;
}

static const struct auth_rule *user_rule(const struct auth *a, const char *user)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (!strcmp(a->rules[i].user, user))
			return &a->rules[i];
	return NULL;
}

/* The request path with runs of '/' made one: the tree's resolver reads "/ns//lab" as
 * "/ns/lab", so matching must too, or "rw /ns/" with "ro /ns/lab/" could be got round. */
static bool path_clean(const char *path, char out[AUTH_PATH_MAX])
{
	size_t o = 0;

	if (path[0] != '/')
		out[o++] = '/';
	for (; *path; path++) {
		if (*path == '/' && o > 0 && out[o - 1] == '/')
			continue;
		if (o + 1 >= AUTH_PATH_MAX)
			return false;
		out[o++] = *path;
	}
	out[o] = '\0';
	return true;
}

/* Rule path r (with its trailing slash) covers p: p is r, with or without the slash, or
 * below it. Whole components only: /ns/lab/ does not cover /ns/lab2. */
static bool covers(const char *r, const char *p)
{
	size_t n = strlen(r);
	return !strncmp(p, r, n) || (strlen(p) == n - 1 && !strncmp(p, r, n - 1));
}

/* Directory p lies on the way from / to rule path r. */
static bool on_the_way(const char *p, const char *r)
{
	size_t n = strlen(p);

	if (n > 0 && p[n - 1] == '/')
		n--;
	return !strncmp(p, r, n) && r[n] == '/';
}

static const struct auth_rule *longest_cover(const struct auth *a, const char *user, const char *p)
{
	const struct auth_rule *best = NULL;
	size_t i;

	for (i = 0; i < a->n; i++) {
		const struct auth_rule *r = &a->rules[i];
		if (!strcmp(r->user, user) && covers(r->path, p) &&
		    (!best || strlen(r->path) > strlen(best->path)))
			best = r;
	}
	return best;
}

static const struct auth_rule *way_to(const struct auth *a, const char *user, const char *p)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (!strcmp(a->rules[i].user, user) && on_the_way(p, a->rules[i].path))
			return &a->rules[i];
	return NULL;
}

/* With the user known: which rule decides, and what it says. */
static enum auth_verdict path_verdict(const struct auth *a, const char *user, const char *p,
				      enum auth_op op, char *why, size_t whylen)
{
	const struct auth_rule *r = longest_cover(a, user, p);
	char q[160];

	if (r && (op != AUTH_WRITE || r->rw)) {
		snprintf(why, whylen, "%s may %s %s", user, r->rw ? "write" : "read", r->path);
		return AUTH_ALLOW;
	}
	if (r) {
		snprintf(why, whylen, "%s may only read %s", user, r->path);
		return AUTH_DENY;
	}
	if (op == AUTH_LIST && (r = way_to(a, user, p))) {
		snprintf(why, whylen, "%s may list %s on the way to %s", user,
			 ctl_quote(p, strlen(p), q, sizeof q), r->path);
		return AUTH_ALLOW;
	}
	snprintf(why, whylen, "no rule for %s covers %s", user,
		 ctl_quote(p, strlen(p), q, sizeof q));
	return AUTH_DENY;
}

enum auth_verdict auth_check(struct auth *a, const char *user, const char *pass, const char *path,
			     enum auth_op op, char *why, size_t whylen)
{
	return auth_check_async(a, user, pass, path, op, NULL, why, whylen);
}

enum auth_verdict auth_check_async(struct auth *a, const char *user, const char *pass,
				   const char *path, enum auth_op op, struct auth_proof *pf,
				   char *why, size_t whylen)
{
	const struct auth_rule *r;
	char p[AUTH_PATH_MAX], q[80];
	int ok;

	if (!a) { /* no file could be read: nobody is let in */
		snprintf(why, whylen, "no password file");
		return AUTH_NEED_LOGIN;
	}
	if (!user || !pass || !*user) {
		snprintf(why, whylen, "no user name and password given");
		return AUTH_NEED_LOGIN;
	}
	if (!(r = user_rule(a, user))) {
		/* as long as a known user's check, so that the time does not tell who exists */
		if (a->n && crypt_matches(a, pass, a->rules[0].hash, pf) < 0)
			return AUTH_PENDING;
		snprintf(why, whylen, "no user \"%s\"", ctl_quote(user, strlen(user), q, sizeof q));
		return AUTH_NEED_LOGIN;
	}
	if ((ok = password_ok(a, r->user, r->hash, pass, pf)) < 0)
		return AUTH_PENDING;
	if (!ok) {
		snprintf(why, whylen, "wrong password for %s", r->user);
		return AUTH_NEED_LOGIN;
	}
	if (!path_clean(path ? path : "/", p)) {
		snprintf(why, whylen, "the path is longer than %d bytes", AUTH_PATH_MAX - 1);
		return AUTH_DENY;
	}
	return path_verdict(a, r->user, p, op, why, whylen);
}

bool auth_admin(const struct auth *a, const char *user, const char *path)
{
	char p[AUTH_PATH_MAX];
	const struct auth_rule *r;
	if (!a || !user || !path_clean(path ? path : "/", p))
		return false;
	r = longest_cover(a, user, p);
	return r && r->admin;
}

bool auth_may_read(const struct auth *a, const char *user, const char *path)
{
	char p[AUTH_PATH_MAX];
	return a && user && path_clean(path, p) && longest_cover(a, user, p);
}

unsigned long auth_crypt_calls(const struct auth *a) { return a->crypt_calls; }
