/* The pure parts of the commands between hosts (cluster/ccmd.h): records and answers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster/ccmd.h"

unsigned ccmd_verb_ms(enum verb v)
{
	/* a start waits for QEMU (60 s); a stop for the guest's shutdown */
	return v == V_START || v == V_RESTART || v == V_STOP ? 60000 : 10000;
}

bool ccmd_judge(const char *host, const struct crec_ans *ans, struct hostans *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->host, sizeof(out->host), "%s", host);
	switch (ans->state) {
	case CREC_ANS_TAKEN:
		return false;
	case CREC_ANS_LATE: { /* its reason says when the take was answered (ccmd_late_reason) */
		double secs = 0;
		out->kind = HA_LATE;
		if (sscanf(ans->reason, "the take was answered after %lf s", &secs) == 1 &&
		    secs >= 0 && secs < 600)
			out->took_ms = (unsigned)(secs * 1000);
		return true;
	}
	case CREC_ANS_DONE:
		break;
	}
	out->count = (unsigned long)ans->count;
	if (!ans->err) { /* its words kept: a migrate-in's ports, a migration's pause */
		out->kind = HA_DONE;
		snprintf(out->reason, sizeof(out->reason), "%.*s", (int)sizeof(out->reason) - 1,
			 ans->reason);
		return true;
	}
	out->kind = HA_REFUSED;
	out->err = ans->err;
	snprintf(out->reason, sizeof(out->reason), "%.*s", (int)sizeof(out->reason) - 1,
		 ans->reason);
	return true;
}

void ccmd_record(const char *from, uint64_t nsid, enum verb verb, const uint64_t *ids, size_t n,
		 bool refuse, uint64_t take_ms, uint64_t issued, struct sbuf *out)
{
	struct crec_cmd c = {.ns = nsid,
			     .ids = (uint64_t *)ids,
			     .nids = n,
			     .unfit = refuse ? CREC_UNFIT_REFUSE : CREC_UNFIT_SKIP,
			     .take_ms = take_ms,
			     .issued = issued};
	snprintf(c.from, sizeof(c.from), "%s", from);
	snprintf(c.verb, sizeof(c.verb), "%s", verb_name(verb));
	crec_cmd_write(&c, out);
}

int ccmd_check(const struct crec_cmd *c, enum verb *verb, char *why, size_t whylen)
{
	int v = verb_parse(c->verb);
	if (v < 0 || v >= V_MAX) {
		snprintf(why, whylen, "verb %s is not one this host takes from another", c->verb);
		return -EINVAL;
	}
	if (!c->nids) {
		snprintf(why, whylen, "no ids: a command names the objects it acts on");
		return -EINVAL;
	}
	if (c->take_ms > CCMD_TAKE_MS * 30ull) {
		snprintf(why, whylen, "take-ms %llu is beyond %u", (unsigned long long)c->take_ms,
			 CCMD_TAKE_MS * 30);
		return -EINVAL;
	}
	if (c->args && *c->args) {
		snprintf(why, whylen, "args are not taken with %s", c->verb);
		return -EINVAL;
	}
	*verb = (enum verb)v;
	return 0;
}

void ccmd_late_reason(unsigned took_ms, char *out, size_t len)
{
	snprintf(out, len, "the take was answered after %.1f s: not applied",
		 (double)took_ms / 1000);
}
