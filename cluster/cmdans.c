/* A command's answer across hosts: its lines, its errno, its id (cluster/cmdans.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cmdans.h"
#include "cluster/crec.h"
#include "ctl/util.h"

/* The command's word in "ok: start 19" and "19 started"; launch answers as it does on one
 * host ("ok: launched 30"). */
static const struct {
	const char *verb, *ok, *past;
} verbs[] = {
    {"start", "start", "started"}, {"stop", "stop", "stopped"},
    {"pause", "pause", "paused"},  {"resume", "resume", "resumed"},
    {"kill", "kill", "killed"},	   {"restart", "restart", "restarted"},
    {"flush", "flush", "flushed"}, {"launch", "launched", "launched"},
    {"move-in", "moved", "moved"},
};

static const char *verb_word(const char *verb, bool past)
{
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(verbs[i].verb, verb) == 0)
			return past ? verbs[i].past : verbs[i].ok;
	return past ? "done" : verb;
}

int hostans_errno(const struct hostans *a)
{
	switch (a->kind) {
	case HA_DONE:
		return 0;
	case HA_REFUSED:
		return a->err > 0 ? a->err : EIO;
	case HA_UNKNOWN:
		return ETIMEDOUT;
	case HA_DOWN_NOT_SENT:
	case HA_CANCELLED:
	case HA_LATE:
	case HA_FORGED:
	default:
		return EHOSTDOWN;
	}
}

/* The rule over a[idx[0..n)] (idx NULL: a in its own order). */
static int rule(const struct hostans *a, const size_t *idx, size_t n)
{
	int same = 0, refused = 0;
	bool mixed = false, unknown = false;

	for (size_t k = 0; k < n; k++) {
		size_t i = idx ? idx[k] : k;
		int e = hostans_errno(&a[i]);
		if (!e)
			continue;
		if (same && e != same)
			mixed = true;
		same = same ? same : e;
		if (a[i].kind == HA_REFUSED && !refused)
			refused = e;
		unknown |= a[i].kind == HA_UNKNOWN;
	}
	if (!same || !mixed)
		return same;
	if (refused)
		return refused;
	return unknown ? ETIMEDOUT : EHOSTDOWN;
}

int cmdans_errno(const struct hostans *a, size_t n) { return rule(a, NULL, n); }

void cmdans_order(const struct hostans *a, size_t n, const char *const *hosts, size_t nhosts,
		  size_t *idx)
{
	size_t k = 0;

	for (size_t h = 0; hosts && h < nhosts; h++) {
		bool again = !hosts[h];
		/* a name listed twice would place its answers twice, past idx[n) */
		for (size_t j = 0; j < h && !again; j++)
			again = hosts[j] && strcmp(hosts[j], hosts[h]) == 0;
		for (size_t i = 0; i < n && !again; i++)
			if (strnlen(a[i].host, sizeof a[i].host) < sizeof a[i].host &&
			    strcmp(a[i].host, hosts[h]) == 0)
				idx[k++] = i;
	}
	/* answers from hosts not in the list keep their own order */
	for (size_t i = 0; i < n && k < n; i++) {
		bool listed = false;
		for (size_t j = 0; j < k && !listed; j++)
			listed = idx[j] == i;
		if (!listed)
			idx[k++] = i;
	}
}

/* A peer's text for one line: escaped, bounded. */
static const char *clean(const char *s, size_t max, char *buf, size_t len)
{
	size_t n = strnlen(s, max);
	ctl_escape(s, n, buf, len);
	return buf;
}

/* "2.0 s" under ten seconds, "60 s" above: what a person reads at a glance. */
static const char *secs(unsigned ms, char *buf, size_t len)
{
	unsigned tenths = (unsigned)(((unsigned long)ms + 50) / 100);

	if (tenths < 100)
		snprintf(buf, len, "%u.%u s", tenths / 10, tenths % 10);
	else
		snprintf(buf, len, "%lu s", ((unsigned long)ms + 500) / 1000);
	return buf;
}

static const char *utc(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

void cmdans_line(const struct hostans *a, const char *verb, struct sbuf *out)
{
	char host[4 * NAME_MAX_LEN + 8], why[4 * HOSTANS_REASON_MAX], who[4 * NAME_MAX_LEN + 8];
	char t[64], s[32];
	const char *name;
	int e;

	clean(a->host, sizeof a->host, host, sizeof host);
	switch (a->kind) {
	case HA_DONE:
		sb_printf(out, "%s: ok %s %lu\n", host, verb_word(verb, false), a->count);
		return;
	case HA_REFUSED:
		e = hostans_errno(a);
		name = crec_errno_name(e);
		clean(a->reason, sizeof a->reason, why, sizeof why);
		if (name)
			sb_printf(out, "%s: %s: %s\n", host, name, *why ? why : strerror(e));
		else
			sb_printf(out, "%s: errno %d: %s\n", host, e, *why ? why : strerror(e));
		return;
	case HA_DOWN_NOT_SENT:
		sb_printf(out, "%s: down", host);
		if (a->down_since)
			sb_printf(out, " since %s%s", a->since_at_least ? "at least " : "",
				  utc(a->down_since, t, sizeof t));
		sb_printf(out, ": not sent (%u object%s)\n", a->objects,
			  a->objects == 1 ? "" : "s");
		return;
	case HA_CANCELLED:
		sb_printf(out, "%s: not taken within %s: cancelled ", host,
			  secs(a->window_ms, s, sizeof s));
		if (a->down_since)
			sb_printf(out, "(%s is down since %s)\n", host,
				  utc(a->down_since, t, sizeof t));
		else
			sb_printf(out, "(%s is up: its link to etcd is slow or cut)\n", host);
		return;
	case HA_LATE:
		sb_printf(out, "%s: the take was answered after %s: not applied\n", host,
			  secs(a->took_ms, s, sizeof s));
		return;
	case HA_UNKNOWN:
		if (a->taken)
			sb_printf(out, "%s: taken, no answer within %s: outcome unknown\n", host,
				  secs(a->window_ms, s, sizeof s));
		else
			sb_printf(out,
				  "%s: no answer within %s, and the cancel could not be confirmed "
				  "(this host lost etcd): outcome unknown\n",
				  host, secs(a->window_ms, s, sizeof s));
		return;
	case HA_FORGED:
	default:
		clean(a->taker, sizeof a->taker, who, sizeof who);
		sb_printf(out, "%s: taken by %s: refused as forged\n", host, who);
		return;
	}
}

int cmdans_render(const struct hostans *a, size_t n, const char *const *hosts, size_t nhosts,
		  const char *verb, struct sbuf *out)
{
	size_t *idx = calloc(n ? n : 1, sizeof *idx), i, failed = 0;
	unsigned long count = 0;
	char host[4 * NAME_MAX_LEN + 8];
	int e;

	if (!idx) {
		out->oom = 1;
		return -ENOMEM;
	}
	if (hosts)
		cmdans_order(a, n, hosts, nhosts, idx);
	else
		for (i = 0; i < n; i++)
			idx[i] = i;
	e = rule(a, idx, n);
	for (i = 0; i < n; i++) {
		cmdans_line(&a[idx[i]], verb, out);
		if (a[idx[i]].kind == HA_DONE || a[idx[i]].kind == HA_REFUSED)
			count += a[idx[i]].count;
	}
	if (!e) {
		sb_printf(out, "ok: %s %lu\n", verb_word(verb, false), count);
		free(idx);
		return 0;
	}
	sb_printf(out, "error: %s: %lu %s; ", verb, count, verb_word(verb, true));
	for (i = 0; i < n; i++)
		if (hostans_errno(&a[idx[i]]))
			sb_printf(out, "%s%s", failed++ ? ", " : "",
				  clean(a[idx[i]].host, sizeof a->host, host, sizeof host));
	sb_puts(out, " failed\n");
	free(idx);
	return -e;
}

int cmdid_format(const struct cmdid *id, char *out, size_t len, char *err, size_t errlen)
{
	char q[80];

	if (name_check(id->head, err, errlen))
		return -EINVAL;
	if (id->run > 1000000000000000000ULL || id->seq > 1000000000000000000ULL)
		return ctl_fail(err, errlen, "command id: a number is over 10^18");
	if ((size_t)snprintf(out, len, "%s.%" PRIu64 ".%" PRIu64, id->head, id->run, id->seq) >=
	    len)
		return ctl_fail(err, errlen, "command id of %s does not fit in %zu bytes",
				ctl_quote(id->head, strlen(id->head), q, sizeof q), len);
	return 0;
}

/* A decimal field of an id: digits, no leading zero, at most 10^18. */
static int id_number(const char *s, size_t n, uint64_t *v)
{
	if (n == 0 || (n > 1 && s[0] == '0'))
		return -1;
	return ctl_uint(s, n, v) ? -1 : 0;
}

int cmdid_parse(const char *s, struct cmdid *id, char *err, size_t errlen)
{
	const char *dot2, *dot1;
	char q[80], why[160];
	size_t n = s ? strnlen(s, CMDID_MAX) : 0, nhead;

	if (!s || n >= CMDID_MAX)
		return ctl_fail(err, errlen, "command id %s is too long (at most %d bytes)",
				s ? ctl_quote(s, n, q, sizeof q) : "(none)", CMDID_MAX - 1);
	ctl_quote(s, n, q, sizeof q);
	dot2 = memrchr(s, '.', n);
	dot1 = dot2 ? memrchr(s, '.', (size_t)(dot2 - s)) : NULL;
	if (!dot1)
		return ctl_fail(err, errlen, "command id %s is not HEAD.RUN.SEQ", q);
	if (id_number(dot1 + 1, (size_t)(dot2 - dot1 - 1), &id->run) ||
	    id_number(dot2 + 1, n - (size_t)(dot2 - s) - 1, &id->seq))
		return ctl_fail(err, errlen,
				"command id %s: RUN and SEQ must be decimal numbers without "
				"leading zeros, at most 10^18",
				q);
	nhead = (size_t)(dot1 - s);
	if (nhead > NAME_MAX_LEN)
		return ctl_fail(err, errlen, "command id %s: the head's name is too long", q);
	memcpy(id->head, s, nhead);
	id->head[nhead] = '\0';
	if (name_check(id->head, why, sizeof why))
		return ctl_fail(err, errlen, "command id %s: %s", q, why);
	return 0;
}
