/* Checkers for single parameter values: sizes, counts, booleans, UUIDs, VLAN ranges,
 * volume lists and tag lists. NICs are in nic.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl/ctl.h"

#include "ctl/util.h"

#define SIZE_LIMIT (16ULL << 40)
#define SIZE_HINT "use a number with an optional K, M, G or T suffix (512M, 2G)"
#define DIGITS "0123456789"

/* The unit after the number: K/M/G/T, each optionally followed by "iB" or "B", or a lone
 * "B" for bytes; nothing means MiB. Returns the end of the unit, or NULL. */
static const char *size_unit(const char *p, uint64_t *mult)
{
	static const char units[] = "KMGT";
	const char *u = NULL;
	char c = *p;

	*mult = 1ULL << 20;
	if (!c)
		return p;
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	if (c != 'B') {
		u = strchr(units, c);
		if (!u)
			return NULL;
		*mult = 1ULL << (10 * (u - units + 1));
		p++;
		if (*p == 'i' || *p == 'I') {
			p++;
			if (*p != 'B' && *p != 'b')
				return NULL;
		}
	} else {
		*mult = 1;
	}
	return *p == 'B' || *p == 'b' ? p + 1 : p;
}

/* Fractions keep 6 digits, so frac * mult stays below 2^64; the result is rounded down
 * to whole bytes (QEMU rounds memory to pages anyway). */
int value_size(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
	const char *p = s ? s : "";
	uint64_t ip, frac = 0, fdiv = 1, mult, v;
	size_t n = strspn(p, DIGITS), i, m;
	char q[80];

	ctl_quote(p, strlen(p), q, sizeof q);
	if (*p == '-')
		return ctl_fail(err, errlen, "\"%s\" is not a size: sizes cannot be negative", q);
	if (n == 0)
		return ctl_fail(err, errlen, "\"%s\" is not a size: " SIZE_HINT, q);
	if (ctl_uint(p, n, &ip))
		goto big;
	p += n;
	if (*p == '.') {
		m = strspn(p + 1, DIGITS);
		if (m == 0)
			return ctl_fail(err, errlen, "\"%s\" is not a size: " SIZE_HINT, q);
		for (i = 0; i < m && i < 6; i++, fdiv *= 10)
			frac = frac * 10 + (uint64_t)(p[1 + i] - '0');
		p += 1 + m;
	}
	p = size_unit(p, &mult);
	if (!p || *p)
		return ctl_fail(err, errlen, "\"%s\" is not a size: " SIZE_HINT, q);
	if (ip > SIZE_LIMIT / mult)
		goto big;
	v = ip * mult + frac * mult / fdiv;
	if (v > SIZE_LIMIT)
		goto big;
	if (v == 0)
		return ctl_fail(err, errlen, "\"%s\" is too small: a size must be more than zero",
				q);
	*bytes = v;
	return 0;
big:
	return ctl_fail(err, errlen, "\"%s\" is too large: sizes go up to 16T", q);
}

int value_ratio(const char *s, uint64_t lo, uint64_t hi, uint64_t *thousandths, char *err,
		size_t errlen)
{
	char q[80];
	const char *p = s ? s : "", *dot = strchr(p, '.');
	size_t wn = strspn(p, DIGITS), fn = dot ? strlen(dot + 1) : 0;
	ctl_quote(p, strlen(p), q, sizeof(q));
	if (!wn || wn > 9 || (dot ? dot != p + wn : p[wn] != 0) ||
	    (dot && (fn < 1 || fn > 3 || strspn(dot + 1, DIGITS) != fn)))
		return ctl_fail(err, errlen, "\"%s\" is not a ratio (like 4 or 1.5)", q);
	uint64_t x = strtoull(p, NULL, 10) * 1000;
	for (size_t i = 0; i < 3; i++)
		x += (i < fn ? (uint64_t)(dot[1 + i] - '0') : 0) * (i == 0 ? 100 : i == 1 ? 10 : 1);
	if (x < lo || x > hi)
		return ctl_fail(err, errlen, "%s is out of range (%llu.%03llu to %llu.%03llu)", q,
				(unsigned long long)lo / 1000, (unsigned long long)lo % 1000,
				(unsigned long long)hi / 1000, (unsigned long long)hi % 1000);
	*thousandths = x;
	return 0;
}

int value_count(const char *s, long min, long max, long *out, char *err, size_t errlen)
{
	const char *p = s ? s : "";
	size_t neg = *p == '-', n = strspn(p + neg, DIGITS);
	char q[80];
	long v;

	ctl_quote(p, strlen(p), q, sizeof q);
	if (n == 0 || p[neg + n])
		return ctl_fail(err, errlen,
				"\"%s\" is not a whole number: use one from %ld to %ld", q, min,
				max);
	errno = 0;
	v = strtol(p, NULL, 10);
	if (errno == ERANGE || v < min || v > max)
		return ctl_fail(err, errlen,
				"\"%s\" is out of range: use a whole number from %ld to %ld", q,
				min, max);
	*out = v;
	return 0;
}

int value_bool(const char *s, bool *out, char *err, size_t errlen)
{
	static const struct {
		const char *word;
		bool val;
	} words[] = {{"true", true}, {"false", false}, {"yes", true}, {"no", false},
		     {"on", true},   {"off", false},   {"1", true},   {"0", false}};
	char q[80];
	size_t i;

	for (i = 0; s && i < sizeof words / sizeof words[0]; i++)
		if (strcasecmp(s, words[i].word) == 0) {
			*out = words[i].val;
			return 0;
		}
	return ctl_fail(err, errlen,
			"\"%s\" is not true or false: use true/false, yes/no, on/off or 1/0",
			ctl_quote(s, s ? strlen(s) : 0, q, sizeof q));
}

int value_uuid(const char *s, char *err, size_t errlen)
{
	const char *p = s ? s : "";
	char q[80];
	size_t i;

	for (i = 0; i < 36 && p[i]; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? p[i] != '-' : !strchr("0123456789abcdefABCDEF", p[i]))
			break;
	}
	if (i == 36 && !p[36])
		return 0;
	return ctl_fail(err, errlen,
			"\"%s\" is not a UUID: use 8-4-4-4-12 hex digits, as in "
			"123e4567-e89b-12d3-a456-426614174000",
			ctl_quote(p, strlen(p), q, sizeof q));
}

int value_vlan_range(const char *s, long *lo, long *hi, char *err, size_t errlen)
{
	const char *p = s ? s : "", *dash = strchr(p, '-');
	size_t nlo = dash ? (size_t)(dash - p) : 0;
	uint64_t a, b;
	char q[80];
	int ra, rb;

	ctl_quote(p, strlen(p), q, sizeof q);
	ra = dash ? ctl_uint(p, nlo, &a) : -1;
	rb = dash ? ctl_uint(dash + 1, strlen(dash + 1), &b) : -1;
	if (ra < 0 || rb < 0)
		return ctl_fail(err, errlen, "\"%s\" is not a VLAN range: use LO-HI, as in 100-200",
				q);
	if (ra || rb || a < 1 || a > 4094 || b < 1 || b > 4094)
		return ctl_fail(err, errlen, "\"%s\" is out of range: VLAN ids go from 1 to 4094",
				q);
	if (a > b)
		return ctl_fail(err, errlen, "\"%s\": the range runs backwards (%llu > %llu)", q,
				(unsigned long long)a, (unsigned long long)b);
	if (lo)
		*lo = (long)a;
	if (hi)
		*hi = (long)b;
	return 0;
}

/* True if a '/'-separated component of s[0..n) is "..". */
static bool path_has_dotdot(const char *s, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		for (j = i; j < n && s[j] != '/'; j++)
			;
		if (j - i == 2 && s[i] == '.' && s[i + 1] == '.')
			return true;
		i = j + 1;
	}
	return false;
}

#define VOLUME_HINT "use HOSTPATH:GUESTPATH[:ro|:rw], as in /srv/data:/data:ro"

static int volume_check(const char *v, size_t n, char *err, size_t errlen)
{
	const char *f[4] = {0}, *end = v + n, *c;
	size_t len[4] = {0}, nf = 0;
	char q[80];

	ctl_quote(v, n, q, sizeof q);
	for (c = v; nf < 4; c++) {
		const char *colon = memchr(c, ':', (size_t)(end - c));
		f[nf] = c;
		len[nf++] = (size_t)((colon ? colon : end) - c);
		if (!colon)
			break;
		c = colon;
	}
	if (nf < 2 || nf > 3)
		return ctl_fail(err, errlen, "\"%s\": " VOLUME_HINT "%s", q,
				nf > 3 ? " (paths cannot contain ':')" : "");
	if (len[0] == 0 || f[0][0] != '/')
		return ctl_fail(err, errlen, "\"%s\": the host path must start with '/'", q);
	if (len[1] == 0 || f[1][0] != '/')
		return ctl_fail(err, errlen, "\"%s\": the container path must start with '/'", q);
	/* A ".." could lead the mount out of the container's root filesystem. */
	if (path_has_dotdot(f[1], len[1]))
		return ctl_fail(err, errlen, "\"%s\": the container path cannot contain '..'", q);
	if (nf == 3 && !(len[2] == 2 && (!memcmp(f[2], "ro", 2) || !memcmp(f[2], "rw", 2))))
		return ctl_fail(err, errlen, "\"%s\": the mode must be ro or rw", q);
	return 0;
}

int value_volumes(const char *s, char *err, size_t errlen)
{
	const char *cur = s ? s : "", *v;
	size_t n;
	int rc;

	while ((v = ctl_token(&cur, &n)))
		if ((rc = volume_check(v, n, err, errlen)))
			return rc;
	return 0;
}

/* The key of a KEY=VALUE tag at t[0..n), checked; *klen gets its length. */
static int tag_key(const char *t, size_t n, size_t *klen, char *err, size_t errlen)
{
	const char *eq = memchr(t, '=', n);
	char key[NAME_MAX_LEN + 1], q[80], why[160];

	if (!eq)
		return ctl_fail(
		    err, errlen,
		    "tag \"%s\" has no '=': use KEY=VALUE pairs separated by spaces, as in "
		    "role=web",
		    ctl_quote(t, n, q, sizeof q));
	*klen = (size_t)(eq - t);
	if (*klen > NAME_MAX_LEN)
		return ctl_fail(err, errlen, "tag \"%s\": the key is longer than %d bytes",
				ctl_quote(t, n, q, sizeof q), NAME_MAX_LEN);
	memcpy(key, t, *klen);
	key[*klen] = '\0';
	if (name_check(key, why, sizeof why))
		return ctl_fail(err, errlen, "tag \"%s\": the key is not a valid name: %s",
				ctl_quote(t, n, q, sizeof q), why);
	return 0;
}

int value_tags(const char *s, char *err, size_t errlen)
{
	const char *cur = s ? s : "", *t, *prev, *pcur;
	size_t n, k = 0, pn, pk;
	char q[80];

	while ((t = ctl_token(&cur, &n))) {
		if (tag_key(t, n, &k, err, errlen))
			return -EINVAL;
		pcur = s;
		while ((prev = ctl_token(&pcur, &pn)) && prev != t) {
			pk = (size_t)((const char *)memchr(prev, '=', pn) - prev);
			if (pk == k && !memcmp(prev, t, k))
				return ctl_fail(err, errlen, "the tag \"%s\" is set more than once",
						ctl_quote(t, k, q, sizeof q));
		}
	}
	return 0;
}

int value_listen(const char *s, char *err, size_t errlen)
{
	struct in_addr a;
	if (!strcmp(s, "none") || inet_pton(AF_INET, s, &a) == 1)
		return 0;
	return ctl_fail(err, errlen, "\"%s\" is not an IPv4 address (such as 127.0.0.1) or none", s);
}

int value_line(const char *buf, size_t len, size_t max, size_t *textlen, char *err,
	       size_t errlen)
{
	size_t n = len && buf[len - 1] == '\n' ? len - 1 : len, i;
	char c[8];

	if (n > max) {
		ctl_fail(err, errlen, "the value is %zu bytes long: this file holds at most %zu",
			 n, max);
		return -EFBIG;
	}
	for (i = 0; i < n; i++) {
		unsigned char b = (unsigned char)buf[i];
		if (b == '\n')
			return ctl_fail(err, errlen,
					"the text written has more than one line (a newline at "
					"byte %zu): one value per file",
					i + 1);
		if (b < 0x20 || b == 0x7f)
			return ctl_fail(err, errlen,
					"the value holds the control byte '%s' at byte %zu: a "
					"value is printable text on one line",
					(ctl_escape(buf + i, 1, c, sizeof c), c), i + 1);
	}
	*textlen = n;
	return 0;
}
