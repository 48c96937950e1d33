/* runtime/err.h: the errno kept, context in front, and a reason too long ending in a mark. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/err.h"
#include "tests/unit/tap.h"

static int fails_deep(struct err *e)
{
	return err_set(e, -ENOENT, "no such device %s", "vt0");
}

static int fails_middle(struct err *e)
{
	int r = fails_deep(e);
	return r ? err_wrap(e, "bridge %s", "vtbr0") : 0;
}

/* A helper with a prefix of its own, as screen.c and cgroup.c have. */
__attribute__((format(printf, 3, 4))) static int fails_in(struct err *e, const char *name,
							  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(e, EINVAL, fmt, ap);
	va_end(ap);
	return err_wrap(e, "%s", name);
}

static bool ends_with(const char *s, const char *end)
{
	size_t n = strlen(s), k = strlen(end);
	return n >= k && !strcmp(s + n - k, end);
}

int main(void)
{
	struct err e;
	ok(err_set(&e, EINVAL, "bad %d", 7) == -EINVAL && e.no == EINVAL && !e.cut,
	   "err_set returns -errno and keeps it");
	is_str(e.why, "bad 7", "... with the reason");
	ok(err_set(&e, -EPERM, "x") == -EPERM && e.no == EPERM, "a -errno passes as it is");

	ok(fails_middle(&e) == -ENOENT && e.no == ENOENT, "err_wrap keeps the errno");
	is_str(e.why, "bridge vtbr0: no such device vt0", "... and puts the context in front");
	ok(err_wrap(&e, "start %s", "w1") == -ENOENT, "wrapped twice");
	is_str(e.why, "start w1: bridge vtbr0: no such device vt0", "... outermost first");

	ok(err_sys(&e, EACCES, "cannot open %s", "/x") == -EACCES, "err_sys");
	is_str(e.why, "cannot open /x: Permission denied", "... adds the errno's text");

	err_clear(&e);
	ok(e.no == 0 && !e.cut && !*e.why, "err_clear: nothing failed");

	/* a reason longer than the carrier: cut, visibly, never silently */
	size_t big = ERR_WHY_MAX + 100;
	char *longer = malloc(big + 1);
	memset(longer, 'a', big);
	longer[big] = 0;
	err_set(&e, E2BIG, "%s", longer);
	ok(e.cut && e.no == E2BIG, "a reason that does not fit is marked cut, errno kept");
	ok(strlen(e.why) < sizeof(e.why) && ends_with(e.why, ERR_CUT), "... and ends in %s",
	   ERR_CUT);

	/* never half a UTF-8 character before the mark */
	size_t at = ERR_WHY_MAX - sizeof(ERR_CUT) - 1; /* "é" (2 bytes) straddles the cut */
	memset(longer, 'a', big);
	memcpy(longer + at, "\xc3\xa9", 2);
	err_set(&e, EIO, "%s", longer);
	size_t n = strlen(e.why) - strlen(ERR_CUT);
	ok(e.cut && (e.why[n - 1] & 0x80) == 0, "the cut falls between characters");

	/* a wrap that overflows: cut, and a cut reason stays marked when wrapped again */
	err_set(&e, ENOSPC, "%.*s", (int)(ERR_WHY_MAX - 5), longer);
	ok(!e.cut, "a reason that just fits is whole");
	err_wrap(&e, "context");
	ok(e.cut && e.no == ENOSPC && !strncmp(e.why, "context: aaa", 12) &&
		   ends_with(e.why, ERR_CUT),
	   "wrapping it cuts the end, not the context");
	err_wrap(&e, "more");
	ok(e.cut && ends_with(e.why, ERR_CUT), "wrapped again, still marked");
	free(longer);

	/* the boundary to (buf, len) code */
	char small[24], tiny[4];
	err_set(&e, EBUSY, "short");
	ok(err_out(&e, small, sizeof(small)) == -EBUSY, "err_out returns -errno");
	is_str(small, "short", "... and copies a reason that fits");
	err_set(&e, EBUSY, "a reason longer than twenty-four bytes");
	err_out(&e, small, sizeof(small));
	ok(ends_with(small, ERR_CUT) && !strncmp(small, "a reason", 8),
	   "one that does not fit ends in the mark (%s)", small);
	err_out(&e, tiny, sizeof(tiny));
	is_str(tiny, "a r", "a buffer too small for the mark holds what fits");

	/* an entry point's result at the boundary */
	char buf[64] = "untouched";
	err_clear(&e);
	ok(err_result(&e, 0, buf, sizeof(buf)) == 0 && !strcmp(buf, "untouched"),
	   "err_result of a success leaves the buffer");
	ok(err_result(&e, -ENOMEM, buf, sizeof(buf)) == -ENOMEM, "a failure no one explained");
	is_str(buf, "Cannot allocate memory", "... gets the errno's text");
	err_set(&e, EBUSY, "in use");
	ok(err_result(&e, -EBUSY, buf, sizeof(buf)) == -EBUSY, "an explained failure");
	is_str(buf, "in use", "... gets its reason");

	/* a callee still on (buf, len), given e's own buffer */
	snprintf(e.why, sizeof(e.why), "old code's reason");
	ok(err_took(&e, -EPERM) == -EPERM && e.no == EPERM && !e.cut, "err_took keeps the errno");
	is_str(e.why, "old code's reason", "... and the reason the callee wrote");

	ok(fails_in(&e, "screen.ppm", "bad header at byte %d", 3) == -EINVAL && e.no == EINVAL,
	   "err_vset sets the errno from a va_list");
	is_str(e.why, "screen.ppm: bad header at byte 3", "... and the reason, context in front");

	err_clear(&e);
	ok(err_ensure(&e, 0) == 0 && !e.no && !*e.why, "err_ensure leaves a success alone");
	ok(err_ensure(&e, -ENOMEM) == -ENOMEM && e.no == ENOMEM, "a bare -errno gets its errno");
	is_str(e.why, "Cannot allocate memory", "... and its text");
	err_set(&e, EBUSY, "in use");
	ok(err_ensure(&e, -EBUSY) == -EBUSY, "an explained failure");
	is_str(e.why, "in use", "... keeps its reason");
	return tap_done();
}
