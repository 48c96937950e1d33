/* minimega's range syntax: a comma-separated list of parts, each a name or a
 * PREFIX[ITEMS]SUFFIX group whose ITEMS are numeric ranges (LO-HI) or plain words.
 * One [...] group per part: minimega has no cross products and neither do we. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

#include "ctl/util.h"

/* The names built so far; v[n] is always NULL so that range_free() works at any point. */
struct rvec {
	char **v;
	size_t n, cap;
	const char *spec; /* for messages */
};

/* A piece of the spec: the part (for messages), and the text around the brackets. */
struct rpart {
	const char *s, *pre, *suf;
	size_t n, npre, nsuf;
};

static int rvec_add(struct rvec *r, const char *name, char *err, size_t errlen)
{
	char **v, q[80];
	size_t cap;

	if (r->n == RANGE_MAX)
		return ctl_fail(err, errlen, "%s: this expands to more than %d names",
				ctl_quote(r->spec, strlen(r->spec), q, sizeof q), RANGE_MAX);
	if (r->n + 1 >= r->cap) {
		cap = r->cap ? r->cap * 2 : 16;
		v = realloc(r->v, cap * sizeof *v);
		if (!v)
			goto oom;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n] = strdup(name);
	if (!r->v[r->n])
		goto oom;
	r->v[++r->n] = NULL;
	return 0;
oom:
	ctl_fail(err, errlen, "out of memory");
	return -ENOMEM;
}

/* Appends pre + mid + suf. The length is checked before anything is copied, so a huge
 * prefix cannot make RANGE_MAX huge allocations. */
static int rvec_push(struct rvec *r, const struct rpart *p, const char *mid, size_t nmid, char *err,
		     size_t errlen)
{
	char name[128], q[80];
	size_t len = p->npre + nmid + p->nsuf, o = 0, k;

	k = p->npre < sizeof name - 1 ? p->npre : sizeof name - 1;
	memcpy(name, p->pre, k);
	o += k;
	k = nmid < sizeof name - 1 - o ? nmid : sizeof name - 1 - o;
	memcpy(name + o, mid, k);
	o += k;
	k = p->nsuf < sizeof name - 1 - o ? p->nsuf : sizeof name - 1 - o;
	memcpy(name + o, p->suf, k);
	name[o + k] = '\0';
	if (len > NAME_MAX_LEN)
		return ctl_fail(err, errlen,
				"\"%s\" is too long (%zu bytes): names are at most %d bytes",
				ctl_quote(name, sizeof name, q, sizeof q), len, NAME_MAX_LEN);
	if (name_check(name, err, errlen))
		return -EINVAL;
	return rvec_add(r, name, err, errlen);
}

/* LO-HI: the numbers keep the width of LO when LO is written with leading zeros. */
static int range_numbers(struct rvec *r, const struct rpart *p, const char *it, size_t n, char *err,
			 size_t errlen)
{
	char q[80], num[NAME_MAX_LEN + 24];
	const char *dash = memchr(it, '-', n);
	size_t nlo = dash ? (size_t)(dash - it) : 0;
	int width = nlo > 1 && it[0] == '0' ? (int)nlo : 0, rc;
	uint64_t lo, hi, v;

	ctl_quote(p->s, p->n, q, sizeof q);
	if (!dash || ctl_uint(it, nlo, &lo) < 0 || ctl_uint(dash + 1, n - nlo - 1, &hi) < 0) {
		char qi[80];
		return ctl_fail(err, errlen,
				"%s: \"%s\" is not a range: write LO-HI with whole numbers, as in "
				"web[1-10]",
				q, ctl_quote(it, n, qi, sizeof qi));
	}
	if (ctl_uint(it, nlo, &lo) || ctl_uint(dash + 1, n - nlo - 1, &hi))
		return ctl_fail(err, errlen, "%s: a number in the range is too large", q);
	if (lo > hi)
		return ctl_fail(err, errlen, "%s: the range runs backwards (%llu > %llu)", q,
				(unsigned long long)lo, (unsigned long long)hi);
	if (hi - lo >= RANGE_MAX)
		return ctl_fail(err, errlen, "%s: the range holds %llu names, more than %d", q,
				(unsigned long long)(hi - lo + 1), RANGE_MAX);
	if (width > NAME_MAX_LEN)
		return ctl_fail(err, errlen, "%s: the padded numbers are longer than a name may be",
				q);
	for (v = lo;; v++) {
		int k = snprintf(num, sizeof num, "%0*llu", width, (unsigned long long)v);
		rc = rvec_push(r, p, num, (size_t)k, err, errlen);
		if (rc || v == hi)
			return rc;
	}
}

/* One comma-separated item inside the brackets. An item that starts with a digit and has
 * a '-' is meant as a range; anything else is a word ("n[a,b]"). */
static int range_item(struct rvec *r, const struct rpart *p, const char *it, size_t n, char *err,
		      size_t errlen)
{
	char q[80];

	if (n == 0)
		return ctl_fail(err, errlen, "%s: an item in the brackets is empty",
				ctl_quote(p->s, p->n, q, sizeof q));
	if (it[0] >= '0' && it[0] <= '9' && memchr(it, '-', n))
		return range_numbers(r, p, it, n, err, errlen);
	return rvec_push(r, p, it, n, err, errlen);
}

/* Splits the bracket group of a part, already known to hold no '[' or ']'. */
static int range_items(struct rvec *r, const struct rpart *p, const char *in, size_t n, char *err,
		       size_t errlen)
{
	const char *end = in + n, *comma;
	char q[80];
	int rc;

	if (n == 0)
		return ctl_fail(err, errlen, "%s: there is nothing between the brackets",
				ctl_quote(p->s, p->n, q, sizeof q));
	for (;;) {
		comma = memchr(in, ',', (size_t)(end - in));
		rc = range_item(r, p, in, (size_t)((comma ? comma : end) - in), err, errlen);
		if (rc || !comma)
			return rc;
		in = comma + 1;
	}
}

/* One top-level part s[0..n): a plain name, or PREFIX[ITEMS]SUFFIX. */
static int range_part(struct rvec *r, const char *s, size_t n, char *err, size_t errlen)
{
	struct rpart p = {.s = s, .n = n, .pre = s, .npre = n, .suf = ""};
	const char *open = memchr(s, '[', n), *close = memchr(s, ']', n), *next;
	char q[80];

	ctl_quote(s, n, q, sizeof q);
	if (close && (!open || close < open))
		return ctl_fail(err, errlen, "%s: ']' without a '[' before it", q);
	if (!open)
		return rvec_push(r, &p, "", 0, err, errlen);
	if (!close)
		return ctl_fail(err, errlen, "%s: the '[' is never closed", q);
	next = memchr(open + 1, '[', (size_t)(close - open - 1));
	if (next)
		return ctl_fail(err, errlen, "%s: brackets cannot be nested", q);
	p.npre = (size_t)(open - s);
	p.suf = close + 1;
	p.nsuf = n - (size_t)(p.suf - s);
	if (memchr(p.suf, '[', p.nsuf) || memchr(p.suf, ']', p.nsuf))
		return ctl_fail(err, errlen, "%s: only one [...] group per name is supported", q);
	return range_items(r, &p, open + 1, (size_t)(close - open - 1), err, errlen);
}

/* Length of the part at s: up to a comma outside brackets, or the end. */
static size_t range_part_len(const char *s)
{
	size_t i;
	int in = 0;

	for (i = 0; s[i] && (in || s[i] != ','); i++) {
		if (s[i] == '[')
			in = 1;
		else if (s[i] == ']')
			in = 0;
	}
	return i;
}

static int range_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorting a copy finds duplicates in O(n log n): RANGE_MAX names make O(n^2) too slow. */
static int range_dups(const struct rvec *r, const char *spec, char *err, size_t errlen)
{
	char q[80], qn[80], **sorted;
	size_t i;

	if (r->n < 2)
		return 0;
	sorted = malloc(r->n * sizeof *sorted);
	if (!sorted) {
		ctl_fail(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(sorted, r->v, r->n * sizeof *sorted);
	qsort(sorted, r->n, sizeof *sorted, range_cmp);
	for (i = 1; i < r->n && strcmp(sorted[i - 1], sorted[i]); i++)
		;
	if (i < r->n)
		ctl_fail(err, errlen, "%s: \"%s\" is named more than once",
			 ctl_quote(spec, strlen(spec), q, sizeof q),
			 ctl_quote(sorted[i], NAME_MAX_LEN, qn, sizeof qn));
	free(sorted);
	return i < r->n ? -EINVAL : 0;
}

int range_expand(const char *spec, char ***names, size_t *count, char *err, size_t errlen)
{
	struct rvec r = {.spec = spec};
	const char *p = spec;
	char q[80];
	size_t n;
	int rc;

	*names = NULL;
	*count = 0;
	if (!spec || !*spec)
		return ctl_fail(err, errlen,
				"no names given: write a name or a range such as web[1-10]");
	for (;;) {
		n = range_part_len(p);
		if (n == 0)
			rc = ctl_fail(err, errlen, "%s: there is an empty name between commas",
				      ctl_quote(spec, strlen(spec), q, sizeof q));
		else
			rc = range_part(&r, p, n, err, errlen);
		if (rc)
			goto fail;
		if (!p[n])
			break;
		p += n + 1;
	}
	rc = range_dups(&r, spec, err, errlen);
	if (rc)
		goto fail;
	*names = r.v;
	*count = r.n;
	return 0;
fail:
	range_free(r.v);
	return rc;
}

void range_free(char **names)
{
	char **p;

	if (!names)
		return;
	for (p = names; *p; p++)
		free(*p);
	free(names);
}
