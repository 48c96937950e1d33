/* The state directory's formats. Each namespace is state/ns/NAME/ with ns.conf; each object
 * is state/ns/NAME/{vms,containers}/OBJ/ with config and log. Files are "key=value" lines,
 * written atomically (temp file, fsync, rename), so a kill -9 at any moment leaves either
 * the old or the new file, never a mix.
 *
 * Reading is strict: vmfs writes these files whole and only in this shape, so anything else
 * (an empty file, a line cut short, a key twice, a number that is not one) is damage, and
 * loading it as if it were fine would put made-up values in place of the user's. */
#include "runtime/store.h"

#include <stdio.h>
#include <string.h>

#include "ctl/util.h"

#define KEY_MAX 128 /* "config." or "vlan." and a name: far below this */

void store_kv(struct sbuf *b, const char *key, const char *value)
{
	sb_printf(b, "%s=%s\n", key, value);
}

struct kv {
	const char *key, *value;
	size_t line;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : x->line < y->line ? -1 : x->line > y->line;
}

static int key_check(const char *key, char *err, size_t errlen)
{
	char q[80];
	size_t n = strlen(key);
	if (!n)
		return ctl_fail(err, errlen, "no key before '='");
	if (n > KEY_MAX)
		return ctl_fail(err, errlen, "the key \"%s\" is too long (%zu bytes)",
				ctl_quote(key, n, q, sizeof(q)), n);
	if (strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
		return ctl_fail(err, errlen, "the key \"%s\" holds a character keys never have",
				ctl_quote(key, n, q, sizeof(q)));
	return 0;
}

/* Splits text into lines (in place) and checks each is KEY=VALUE; fills kv[0..*n). */
static int split(char *text, size_t len, struct kv *kv, size_t *n, char *err, size_t errlen)
{
	char q[80];
	if (!len)
		return ctl_fail(err, errlen, "the file is empty");
	const char *nul = memchr(text, 0, len);
	size_t line = 1;
	for (const char *p = text; p < (nul ? nul : text + len); p++)
		line += *p == '\n';
	if (nul)
		return ctl_fail(err, errlen, "line %zu holds a NUL byte", line);
	if (text[len - 1] != '\n')
		return ctl_fail(err, errlen, "line %zu is cut short (no newline at its end)", line);
	*n = 0;
	line = 0;
	for (char *s = text, *nl; s < text + len; s = nl + 1) {
		nl = strchr(s, '\n');
		*nl = 0;
		line++;
		char *eq = strchr(s, '=');
		if (!*s)
			return ctl_fail(err, errlen, "line %zu is empty", line);
		if (!eq)
			return ctl_fail(err, errlen, "line %zu (\"%s\") is not KEY=VALUE", line,
					ctl_quote(s, strlen(s), q, sizeof(q)));
		*eq = 0;
		char why[200];
		if (key_check(s, why, sizeof(why)))
			return ctl_fail(err, errlen, "line %zu: %s", line, why);
		kv[(*n)++] = (struct kv){s, eq + 1, line};
	}
	return 0;
}

/* Two values for one key: which one vmfs wrote last cannot be told, so neither is taken. */
static int dup_check(const struct kv *kv, size_t n, char *err, size_t errlen)
{
	struct kv *sorted = malloc((n ? n : 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, kv, n * sizeof(*kv));
	qsort(sorted, n, sizeof(*sorted), kv_cmp);
	const struct kv *first = NULL, *again = NULL;
	for (size_t i = 1; i < n; i++)
		if (!strcmp(sorted[i].key, sorted[i - 1].key) && (!again || sorted[i].line < again->line)) {
			first = &sorted[i - 1];
			again = &sorted[i];
		}
	int r = again ? ctl_fail(err, errlen, "the key %s is given twice (lines %zu and %zu)",
				 again->key, first->line, again->line)
		      : 0;
	free(sorted);
	return r;
}

int store_parse(char *text, size_t len, store_fn fn, void *arg, char *err, size_t errlen)
{
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	struct kv *kv = malloc(lines * sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	size_t n = 0;
	int r = split(text, len, kv, &n, err, errlen);
	if (!r)
		r = dup_check(kv, n, err, errlen);
	for (size_t i = 0; !r && i < n; i++) {
		char why[512];
		why[0] = 0;
		r = fn(kv[i].key, kv[i].value, arg, why, sizeof(why));
		if (r)
			snprintf(err, errlen, "line %zu: %s: %s", kv[i].line, kv[i].key,
				 why[0] ? why : strerror(r < 0 ? -r : r));
	}
	free(kv);
	return r;
}

int store_num(const char *v, int base, unsigned long long lo, unsigned long long hi,
	      unsigned long long *out, char *err, size_t errlen)
{
	char q[80];
	const char *digits = base == 8 ? "01234567" : "0123456789";
	size_t n = strlen(v);
	if (!n || strspn(v, digits) != n)
		return ctl_fail(err, errlen, "\"%s\" is not a%s number", ctl_quote(v, n, q, sizeof(q)),
				base == 8 ? "n octal" : "");
	unsigned long long x = 0;
	bool over = false;
	for (const char *p = v; *p && !over; p++) {
		unsigned d = *p - '0';
		over = d > hi || x > (hi - d) / base; /* past hi, found before it can overflow */
		x = x * base + d;
	}
	if (over || x < lo)
		return ctl_fail(err, errlen, base == 8 ? "%s is out of range (%llo to %llo)"
						      : "%s is out of range (%llu to %llu)",
				ctl_quote(v, n, q, sizeof(q)), lo, hi);
	*out = x;
	return 0;
}

int store_state(const char *v, enum ostate *out, char *err, size_t errlen)
{
	char q[80];
	for (int s = ST_BUILDING; s <= ST_ERROR; s++)
		if (!strcmp(v, ostate_name(s))) {
			*out = s;
			return 0;
		}
	return ctl_fail(err, errlen, "\"%s\" is not a state (BUILDING, RUNNING, PAUSED, QUIT or ERROR)",
			ctl_quote(v, strlen(v), q, sizeof(q)));
}

void store_params(struct sbuf *b, const char *prefix, char *const *cfg)
{
	for (size_t i = 0; i < nparams; i++)
		if (cfg[i]) {
			char key[96];
			snprintf(key, sizeof(key), "%s%s", prefix, params[i].name);
			store_kv(b, key, cfg[i]);
		}
}
