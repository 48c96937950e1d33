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
