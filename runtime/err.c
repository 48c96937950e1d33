#include "runtime/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* buf (len bytes) was filled to the brim: its end becomes ERR_CUT, moved back to the start
 * of a character so no UTF-8 sequence is left half. */
static void mark_cut(char *buf, size_t len)
{
	if (len < sizeof(ERR_CUT)) /* no room for the mark: cut as snprintf cut it */
		return;
	size_t at = len - sizeof(ERR_CUT);
	while (at > 0 && ((unsigned char)buf[at] & 0xc0) == 0x80)
		at--;
	memcpy(buf + at, ERR_CUT, sizeof(ERR_CUT));
}

/* Formats at off in e->why, marking a cut. */
static void put(struct err *e, size_t off, const char *fmt, va_list ap)
{
	size_t room = sizeof(e->why) - off;
	int n = vsnprintf(e->why + off, room, fmt, ap);
	if (n >= 0 && (size_t)n >= room) {
		mark_cut(e->why, sizeof(e->why));
		e->cut = true;
	}
}

static void append(struct err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (!e->cut)
		put(e, strlen(e->why), fmt, ap);
	va_end(ap);
}

static void set(struct err *e, int no, const char *fmt, va_list ap)
{
	e->no = no < 0 ? -no : no;
	e->cut = false;
	put(e, 0, fmt, ap);
}

int err_set(struct err *e, int no, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set(e, no, fmt, ap);
	va_end(ap);
	return -e->no;
}

int err_vset(struct err *e, int no, const char *fmt, va_list ap)
{
	set(e, no, fmt, ap);
	return -e->no;
}

int err_sys(struct err *e, int no, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set(e, no, fmt, ap);
	va_end(ap);
	append(e, ": %s", strerror(e->no));
	return -e->no;
}

int err_wrap(struct err *e, const char *fmt, ...)
{
	char old[sizeof(e->why)];
	bool was_cut = e->cut;
	va_list ap;
	memcpy(old, e->why, strlen(e->why) + 1);
	e->cut = false;
	va_start(ap, fmt);
	put(e, 0, fmt, ap);
	va_end(ap);
	append(e, ": %s", old);
	e->cut |= was_cut;
	return -e->no;
}

void err_clear(struct err *e)
{
	e->no = 0;
	e->cut = false;
	e->why[0] = 0;
}

int err_out(const struct err *e, char *buf, size_t len)
{
	if (len && (size_t)snprintf(buf, len, "%s", e->why) >= len)
		mark_cut(buf, len);
	return -e->no;
}

int err_ensure(struct err *e, int r)
{
	if (r && (!e->no || !*e->why))
		err_set(e, r, "%s", strerror(-r));
	return r;
}

int err_result(struct err *e, int r, char *buf, size_t len)
{
	if (!r)
		return 0;
	err_ensure(e, r);
	err_out(e, buf, len);
	return r;
}

int err_took(struct err *e, int r)
{
	if (r < 0) {
		e->no = -r;
		e->cut = false;
	}
	return r;
}
