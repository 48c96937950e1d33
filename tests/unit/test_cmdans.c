/* cluster/cmdans: the errno rule in several orders, every line form, the sum lines, a
 * member's hostile reason, errno names and command ids. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cmdans.h"
#include "cluster/crec.h"
#include "tests/unit/tap.h"

#define LEN(a) (sizeof a / sizeof a[0])
#define T0 1796589667 /* 2026-12-06T20:41:07Z */

static struct hostans done(const char *h, unsigned long n)
{
	struct hostans a = {.kind = HA_DONE, .count = n};
	snprintf(a.host, sizeof a.host, "%s", h);
	return a;
}

static struct hostans refused(const char *h, int e, const char *why)
{
	struct hostans a = {.kind = HA_REFUSED, .err = e};
	snprintf(a.host, sizeof a.host, "%s", h);
	snprintf(a.reason, sizeof a.reason, "%s", why);
	return a;
}

static struct hostans other(const char *h, enum hostans_kind k)
{
	struct hostans a = {.kind = k, .window_ms = 2000, .objects = 3, .down_since = 0};
	snprintf(a.host, sizeof a.host, "%s", h);
	if (k == HA_DOWN_NOT_SENT)
		a.down_since = T0;
	if (k == HA_FORGED)
		strcpy(a.taker, "h9");
	return a;
}

static const char *line(const struct hostans *a, const char *verb)
{
	static char buf[4096];
	struct sbuf b = {0};
	cmdans_line(a, verb, &b);
	snprintf(buf, sizeof buf, "%.*s", (int)b.len, b.p ? b.p : "");
	sb_free(&b);
	return buf;
}

static int rendered(const struct hostans *a, size_t n, const char *const *hosts, size_t nh,
		    const char *verb, char *out, size_t len)
{
	struct sbuf b = {0};
	int r = cmdans_render(a, n, hosts, nh, verb, &b);
	snprintf(out, len, "%.*s", (int)b.len, b.p ? b.p : "");
	sb_free(&b);
	return r;
}

static void test_rule(void)
{
	struct hostans a[5];

	a[0] = done("h1", 3);
	a[1] = done("h2", 4);
	ok(cmdans_errno(a, 2) == 0, "all done: 0");
	ok(cmdans_errno(a, 0) == 0, "no part: 0");

	/* rule 1: the same errno everywhere, whatever its kind */
	a[0] = refused("h1", EBUSY, "x");
	a[1] = done("h2", 1);
	a[2] = refused("h3", EBUSY, "y");
	ok(cmdans_errno(a, 3) == EBUSY, "rule 1: EBUSY on two, ok on one: EBUSY");
	a[0] = other("h1", HA_DOWN_NOT_SENT);
	a[1] = other("h2", HA_CANCELLED);
	a[2] = other("h3", HA_LATE);
	a[3] = other("h4", HA_FORGED);
	ok(cmdans_errno(a, 4) == EHOSTDOWN, "rule 1: down, cancelled, late, forged: EHOSTDOWN");
	a[0] = other("h1", HA_UNKNOWN);
	a[1] = other("h2", HA_UNKNOWN);
	ok(cmdans_errno(a, 2) == ETIMEDOUT, "rule 1: unknown twice: ETIMEDOUT");
	a[0] = refused("h1", ETIMEDOUT, "member's own timeout");
	a[1] = other("h2", HA_UNKNOWN);
	ok(cmdans_errno(a, 2) == ETIMEDOUT, "rule 1: a refusal equal to the unknown's errno");

	/* rule 2: the first refusing host in hosts order */
	a[0] = other("h1", HA_DOWN_NOT_SENT);
	a[1] = refused("h2", ENOENT, "x");
	a[2] = refused("h3", EBUSY, "y");
	a[3] = other("h4", HA_UNKNOWN);
	ok(cmdans_errno(a, 4) == ENOENT, "rule 2: ENOENT of h2 before EBUSY of h3");
	a[1] = refused("h2", EBUSY, "x");
	a[2] = refused("h3", ENOENT, "y");
	ok(cmdans_errno(a, 4) == EBUSY, "rule 2: the order decides, not the errno");
	a[0] = other("h1", HA_UNKNOWN);
	a[1] = other("h2", HA_CANCELLED);
	a[2] = refused("h3", EINVAL, "y");
	ok(cmdans_errno(a, 3) == EINVAL, "rule 2: a refusal wins over unknown and down before it");
	a[0] = refused("h1", EHOSTDOWN, "its own");
	a[1] = refused("h2", EBUSY, "x");
	ok(cmdans_errno(a, 2) == EHOSTDOWN, "rule 2: a member's own EHOSTDOWN is its refusal");

	/* rule 3: no refusal, some unknown */
	a[0] = other("h1", HA_DOWN_NOT_SENT);
	a[1] = other("h2", HA_UNKNOWN);
	a[2] = done("h3", 2);
	ok(cmdans_errno(a, 3) == ETIMEDOUT, "rule 3: down then unknown: ETIMEDOUT");
	a[0] = other("h1", HA_UNKNOWN);
	a[1] = other("h2", HA_LATE);
	ok(cmdans_errno(a, 2) == ETIMEDOUT, "rule 3: unknown then late: ETIMEDOUT");

	/* rule 4 is rule 1 for the kinds that are all EHOSTDOWN; refused 0 counts as EIO */
	a[0] = refused("h1", 0, "");
	a[1] = refused("h2", EIO, "");
	ok(cmdans_errno(a, 2) == EIO, "a refusal without an errno is EIO");
	a[0] = other("h1", HA_CANCELLED);
	a[1] = done("h2", 1);
	a[2] = other("h3", HA_FORGED);
	ok(cmdans_errno(a, 3) == EHOSTDOWN, "rule 4: cancelled and forged: EHOSTDOWN");
}

static void test_lines(void)
{
	struct hostans a;

	a = done("h1", 10);
	is_str(line(&a, "start"), "h1: ok start 10\n", "done");
	is_str(line(&a, "launch"), "h1: ok launched 10\n", "done, launch answers as on one host");
	a = refused("h3", ENOENT, "c25: images/debian.qcow2: No such file or directory");
	is_str(line(&a, "start"),
	       "h3: ENOENT: c25: images/debian.qcow2: No such file or directory\n", "refused");
	a = refused("h3", EBUSY, "");
	is_str(line(&a, "start"), "h3: EBUSY: Device or resource busy\n",
	       "refused without words: strerror");
	a = refused("h3", 200, "odd");
	is_str(line(&a, "start"), "h3: errno 200: odd\n", "an errno outside the table");
	a = other("h4", HA_DOWN_NOT_SENT);
	a.objects = 10;
	is_str(line(&a, "start"), "h4: down since 2026-12-06T20:41:07Z: not sent (10 objects)\n",
	       "down");
	a.objects = 1;
	a.since_at_least = true;
	is_str(line(&a, "start"),
	       "h4: down since at least 2026-12-06T20:41:07Z: not sent (1 object)\n",
	       "down since at least, one object");
	a.down_since = 0;
	is_str(line(&a, "start"), "h4: down: not sent (1 object)\n", "down, since unknown");
	a = other("h5", HA_CANCELLED);
	is_str(
	    line(&a, "start"),
	    "h5: not taken within 2.0 s: cancelled (h5 is up: its link to etcd is slow or cut)\n",
	    "cancelled, host up");
	a.down_since = T0;
	a.window_ms = 5000;
	is_str(line(&a, "start"),
	       "h5: not taken within 5.0 s: cancelled (h5 is down since 2026-12-06T20:41:07Z)\n",
	       "cancelled, host went down");
	a = other("h2", HA_LATE);
	a.took_ms = 1260;
	is_str(line(&a, "pause"), "h2: the take was answered after 1.3 s: not applied\n", "late");
	a = other("h2", HA_UNKNOWN);
	a.taken = true;
	a.window_ms = 60000;
	is_str(line(&a, "start"), "h2: taken, no answer within 60 s: outcome unknown\n",
	       "unknown after a take");
	a.taken = false;
	a.window_ms = 2000;
	is_str(line(&a, "start"),
	       "h2: no answer within 2.0 s, and the cancel could not be confirmed (this host lost "
	       "etcd): outcome unknown\n",
	       "unknown, cancel unconfirmed");
	a = other("h2", HA_FORGED);
	is_str(line(&a, "start"), "h2: taken by h9: refused as forged\n", "forged");
	a = other("h2", HA_CANCELLED);
	a.window_ms = 9960;
	is_str(line(&a, "x") + 21, "10 s: cancelled (h2 is up: its link to etcd is slow or cut)\n",
	       "9.96 s rounds to 10 s");
	a.window_ms = 40;
	is_str(line(&a, "x") + 21, "0.0 s: cancelled (h2 is up: its link to etcd is slow or cut)\n",
	       "40 ms rounds to 0.0 s");
}

static void test_render(void)
{
	static const char *const hosts[] = {"h1", "h2", "h3", "h4", "h5"};
	char out[4096];
	struct hostans a[5];
	int r;

	/* given out of order: rendered in hosts order */
	a[0] = other("h5", HA_CANCELLED);
	a[1] = refused("h3", ENOENT, "c25: images/debian.qcow2: No such file or directory");
	a[2] = done("h2", 9);
	a[3] = other("h4", HA_DOWN_NOT_SENT);
	a[3].objects = 10;
	a[4] = done("h1", 10);
	r = rendered(a, 5, hosts, 5, "start", out, sizeof out);
	ok(r == -ENOENT, "the design's example fails ENOENT by rule 2 (got %d)", r);
	is_str(out,
	       "h1: ok start 10\n"
	       "h2: ok start 9\n"
	       "h3: ENOENT: c25: images/debian.qcow2: No such file or directory\n"
	       "h4: down since 2026-12-06T20:41:07Z: not sent (10 objects)\n"
	       "h5: not taken within 2.0 s: cancelled (h5 is up: its link to etcd is slow or cut)\n"
	       "error: start: 19 started; h3, h4, h5 failed\n",
	       "the design's example, in hosts order");

	a[0] = done("h2", 9);
	a[1] = done("h1", 10);
	r = rendered(a, 2, hosts, 5, "start", out, sizeof out);
	ok(r == 0, "all ok: 0");
	is_str(out, "h1: ok start 10\nh2: ok start 9\nok: start 19\n", "all ok: the sum line");
	r = rendered(a, 2, hosts, 5, "launch", out, sizeof out);
	is_str(out, "h1: ok launched 10\nh2: ok launched 9\nok: launched 19\n", "launch: ok");
	r = rendered(a, 0, hosts, 5, "stop", out, sizeof out);
	is_str(out, "ok: stop 0\n", "nothing to ask: ok 0");

	/* a refusal's count (done before it failed) counts; without hosts: the given order */
	a[0] = refused("h2", EBUSY, "c3 is BUILDING: pause needs it RUNNING");
	a[0].count = 2;
	a[1] = other("h1", HA_UNKNOWN);
	a[1].taken = true;
	r = rendered(a, 2, NULL, 0, "pause", out, sizeof out);
	ok(r == -EBUSY, "refused and unknown: EBUSY");
	is_str(out,
	       "h2: EBUSY: c3 is BUILDING: pause needs it RUNNING\n"
	       "h1: taken, no answer within 2.0 s: outcome unknown\n"
	       "error: pause: 2 paused; h2, h1 failed\n",
	       "no hosts list: the given order; a refusal's count is summed");
	a[0] = other("h1", HA_LATE);
	r = rendered(a, 1, hosts, 5, "launch", out, sizeof out);
	ok(r == -EHOSTDOWN, "late only: EHOSTDOWN");
	is_str(out,
	       "h1: the take was answered after 0.0 s: not applied\n"
	       "error: launch: 0 launched; h1 failed\n",
	       "launch's error sum");
	a[0] = other("h9", HA_UNKNOWN);
	a[1] = done("h3", 1);
	r = rendered(a, 2, hosts, 5, "move", out, sizeof out);
	ok(r == -ETIMEDOUT, "unknown: ETIMEDOUT");
	is_str(out,
	       "h3: ok move 1\nh9: no answer within 2.0 s, and the cancel could not be "
	       "confirmed (this host lost etcd): outcome unknown\nerror: move: 1 done; h9 failed\n",
	       "a host outside hosts comes last; an unknown verb's sum");
}

static void test_order(void)
{
	static const char *const hosts[] = {"b", "a", "c"};
	struct hostans a[4] = {done("a", 1), done("x", 1), done("c", 1), done("b", 1)};
	size_t idx[4];

	cmdans_order(a, 4, hosts, 3, idx);
	ok(idx[0] == 3 && idx[1] == 0 && idx[2] == 2 && idx[3] == 1, "order: b a c, then x");
	static const char *const twice[] = {"a", NULL, "a", "b", "a"};
	size_t two[3] = {9, 9, 9};
	struct hostans ab[2] = {done("b", 1), done("a", 1)};
	cmdans_order(ab, 2, twice, 5, two);
	ok(two[0] == 1 && two[1] == 0 && two[2] == 9, "a host listed twice (and NULL): each once");
	/* rule 2 follows the order given to cmdans_errno: the caller orders first */
	struct hostans r[2] = {refused("a", EBUSY, ""), refused("b", EINVAL, "")};
	struct hostans s[2];
	cmdans_order(r, 2, hosts, 3, idx);
	s[0] = r[idx[0]];
	s[1] = r[idx[1]];
	ok(cmdans_errno(s, 2) == EINVAL, "rule 2 on hosts order b, a: EINVAL of b");
	char out[1024];
	ok(rendered(r, 2, hosts, 3, "stop", out, sizeof out) == -EINVAL,
	   "render applies rule 2 in hosts order, not the given order");
}

static void test_hostile(void)
{
	struct hostans a = refused("h3", EBUSY, "bad\nh1: ok start 99\r\x1b[2J\x07 end");
	const char *l = line(&a, "start");
	ok(strchr(l, '\n') == l + strlen(l) - 1, "one line: the reason's newline is escaped");
	ok(!strchr(l, '\r') && !strchr(l, '\x1b') && !strchr(l, '\x07'), "no control bytes");
	is_str(l, "h3: EBUSY: bad\\nh1: ok start 99\\r\\x1b[2J\\x07 end\n", "escaped, readable");

	memset(a.reason, 'x', sizeof a.reason); /* no NUL at all */
	l = line(&a, "start");
	ok(strlen(l) < HOSTANS_REASON_MAX + 32, "an unterminated reason is bounded (%zu)",
	   strlen(l));
	memset(a.reason, '\n', sizeof a.reason);
	a.reason[sizeof a.reason - 1] = 0;
	l = line(&a, "start");
	ok(strchr(l, '\n') == l + strlen(l) - 1 && strlen(l) < 4 * HOSTANS_REASON_MAX + 32,
	   "a reason of newlines: one line, bounded (%zu)", strlen(l));

	a = other("h2\nerror: x", HA_FORGED);
	snprintf(a.taker, sizeof a.taker, "h5\n\x1b");
	l = line(&a, "start");
	is_str(l, "h2\\nerror: x: taken by h5\\n\\x1b: refused as forged\n",
	       "host and taker escaped");
	struct hostans many[3] = {refused("h1", EBUSY, "a\nb"), done("h\n2", 1),
				  refused("h3", EBUSY, "c")};
	char out[2048];
	ok(rendered(many, 3, NULL, 0, "stop", out, sizeof out) == -EBUSY, "hostile: EBUSY");
	int lines = 0;
	for (const char *p = out; *p; p++)
		lines += *p == '\n';
	ok(lines == 4, "three hosts and the sum: four lines (%d)", lines);
}

static void test_errno_names(void)
{
	static const int vmfs_uses[] = {EPERM,	    ENOENT,   EIO,	 EAGAIN,       ENOMEM,
					EACCES,	    EBUSY,    EEXIST,	 EINVAL,       ENOSPC,
					EFBIG,	    ENOTCONN, ETIMEDOUT, EHOSTDOWN,    EPROTO,
					EOPNOTSUPP, ENOTSUP,  ESTALE,	 ENAMETOOLONG, ECANCELED};
	for (size_t i = 0; i < LEN(vmfs_uses); i++) {
		const char *n = crec_errno_name(vmfs_uses[i]);
		ok(n && crec_errno_num(n) == vmfs_uses[i], "%s <-> %d both ways",
		   n ? n : "(none)", vmfs_uses[i]);
	}
	is_str(crec_errno_name(EBUSY), "EBUSY", "EBUSY's name");
	ok(crec_errno_num("EBUSY") == 16, "EBUSY is 16");
	ok(crec_errno_num("ebusy") == 0, "names are exact: lower case is unknown");
	ok(crec_errno_num("EBUSY ") == 0 && crec_errno_num("") == 0 &&
	       crec_errno_num(NULL) == 0,
	   "junk, empty, NULL: 0");
	ok(crec_errno_num("ENOTSUP") == EOPNOTSUPP && !strcmp(crec_errno_name(ENOTSUP), "EOPNOTSUPP"),
	   "ENOTSUP is read, written as EOPNOTSUPP (the same number)");
	ok(crec_errno_name(0) == NULL && crec_errno_name(-16) == NULL &&
	       crec_errno_name(4000) == NULL,
	   "0, negative, unknown: no name");
}

static void test_ids(void)
{
	struct cmdid id = {.head = "h1", .run = 3, .seq = 17}, back;
	char s[CMDID_MAX], err[256];

	ok(cmdid_format(&id, s, sizeof s, err, sizeof err) == 0, "format");
	is_str(s, "h1.3.17", "HEAD.RUN.SEQ");
	ok(cmdid_parse(s, &back, err, sizeof err) == 0 && !strcmp(back.head, "h1") &&
	       back.run == 3 && back.seq == 17,
	   "parsed back");
	ok(cmdid_parse("h1.lab.0.1", &back, err, sizeof err) == 0 && !strcmp(back.head, "h1.lab") &&
	       back.run == 0 && back.seq == 1,
	   "a head with dots: the last two fields are the numbers");
	memset(id.head, 'a', NAME_MAX_LEN);
	id.head[NAME_MAX_LEN] = 0;
	id.run = id.seq = 1000000000000000000ULL;
	ok(cmdid_format(&id, s, sizeof s, err, sizeof err) == 0 &&
	       cmdid_parse(s, &back, err, sizeof err) == 0 && back.seq == id.seq,
	   "the longest id fits CMDID_MAX (%zu bytes)", strlen(s));
	ok(cmdid_format(&id, s, 10, err, sizeof err) == -EINVAL, "too small a buffer: refused");
	id.seq++;
	ok(cmdid_format(&id, s, sizeof s, err, sizeof err) == -EINVAL, "over 10^18: refused");
	strcpy(id.head, "no/slash");
	id.seq = 1;
	ok(cmdid_format(&id, s, sizeof s, err, sizeof err) == -EINVAL, "a head that is no name");

	static const char *const bad[] = {"",
					  "h1",
					  "h1.3",
					  "h1.3.",
					  ".3.4",
					  "h1..4",
					  "h1.03.4",
					  "h1.3.04",
					  "h1.3.+4",
					  "h1.3.-4",
					  "h1.3.4 ",
					  "h1.3.4\n",
					  "h/1.3.4",
					  "all.3.4",
					  "h1.x.4",
					  "h1.3.1e3",
					  "h1.3.1000000000000000001",
					  "h1.99999999999999999999.1",
					  "-h.1.2"};
	for (size_t i = 0; i < LEN(bad); i++) {
		err[0] = 0;
		ok(cmdid_parse(bad[i], &back, err, sizeof err) == -EINVAL && err[0],
		   "refused: bad id %zu (%s)", i, err);
	}
	char big[300];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	memcpy(big + sizeof big - 5, ".1.2", 4);
	ok(cmdid_parse(big, &back, err, sizeof err) == -EINVAL, "too long: refused");
	memset(big, 'a', 64);
	strcpy(big + 64, ".1.2");
	ok(cmdid_parse(big, &back, err, sizeof err) == -EINVAL, "a 64-byte head: refused");
	ok(cmdid_parse(NULL, &back, err, sizeof err) == -EINVAL, "NULL: refused");
}

int main(void)
{
	test_rule();
	test_lines();
	test_render();
	test_order();
	test_hostile();
	test_errno_names();
	test_ids();
	return tap_done();
}
