/* Helpers shared by the ctl/ files (ctl/util.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctl/util.h"

/* Sets err (if there is room) and returns -EINVAL, so that a check fails in one line. */
int ctl_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static size_t quote_char(unsigned char c, char e[5])
{
	if (c == '"' || c == '\\')
		return (size_t)snprintf(e, 5, "\\%c", c);
	if (c == '\n')
		return (size_t)snprintf(e, 5, "\\n");
	if (c == '\t')
		return (size_t)snprintf(e, 5, "\\t");
	if (c == '\r')
		return (size_t)snprintf(e, 5, "\\r");
	if (c < 0x20 || c >= 0x7f)
		return (size_t)snprintf(e, 5, "\\x%02x", c);
	e[0] = (char)c;
	e[1] = '\0';
	return 1;
}

/* Renders at most n bytes of s (stopping at its NUL) for an error message, without the
 * surrounding quotes. Users' input ends up in logs: escaping control characters keeps a
 * hostile value from forging log lines, and long input is cut short with "...". */
const char *ctl_quote(const char *s, size_t n, char *buf, size_t len)
{
	size_t o = 0, i, el;
	char e[5];

	if (len < 8) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	for (i = 0; s && i < n && s[i]; i++) {
		el = quote_char((unsigned char)s[i], e);
		if (o + el + 4 > len) { /* keep room for "..." and the NUL */
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, e, el);
		o += el;
	}
	buf[o] = '\0';
	return buf;
}

/* s[0..n) as a decimal number: 0, or -1 if it is empty or holds a non-digit, or 1 if it
 * exceeds 10^18 (no caller has a use for bigger numbers, and this rules out overflow). */
int ctl_uint(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	int big = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > 100000000000000000ULL)
			big = 1;
		else
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return big || v > 1000000000000000000ULL ? 1 : 0;
}

/* The next blank-separated word of a list at *cur, or NULL at the end. */
const char *ctl_token(const char **cur, size_t *len)
{
	const char *p = *cur, *start;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p) {
		*cur = p;
		return NULL;
	}
	start = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	*len = (size_t)(p - start);
	*cur = p;
	return start;
}

/* The length of the valid UTF-8 sequence at s[0..n) (2 to 4), or 0 if there is none; C1
 * controls (U+0080 to U+009F) count as none: terminals act on them as on ESC [. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0; /* overlong */
	else if (s[0] == 0xed)
		hi = 0x9f; /* surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90; /* overlong */
	else if (s[0] == 0xf4)
		hi = 0x8f; /* past U+10FFFF */
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	if (s[0] == 0xc2 && s[1] <= 0x9f)
		return 0;
	return len;
}

size_t ctl_escape(const char *s, size_t n, char *out, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0, i = 0, el, step, cut = SIZE_MAX;
	char e[5];

	if (!len)
		return 0;
	while (i < n) {
		const char *src = e;
		step = u[i] >= 0x80 ? utf8_len(u + i, n - i) : 0;
		if (step) {
			src = s + i;
			el = step;
		} else if (u[i] == '"') {
			el = 1; /* quote_char's \" is for quoted values: here it would be noise */
			e[0] = '"';
		} else {
			el = quote_char(u[i], e);
		}
		/* where "..." goes if the rest turns out not to fit */
		if (cut == SIZE_MAX && o + el + 3 > len - 1)
			cut = o;
		if (o + el > len - 1) {
			o = cut;
			memcpy(out + o, "...", len - 1 - o < 3 ? len - 1 - o : 3);
			o += len - 1 - o < 3 ? len - 1 - o : 3;
			break;
		}
		memcpy(out + o, src, el);
		o += el;
		i += step ? step : 1;
	}
	out[o] = '\0';
	return o;
}
