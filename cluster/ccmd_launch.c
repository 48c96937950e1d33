/* A launcher's commands (cluster/ccmd.h): the creations sent to the other hosts, the flushes
 * of a rollback, and the writer's answer, settled by the launch at its end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/ccmd_int.h"
#include "cluster/chosts.h"

struct hcmd *hcmd_open(struct ccmd *c, struct ns *ns, const char *verb)
{
	struct hcmd *h = hcmd_alloc(c, ns, V_START, 0, 0);
	if (h) {
		h->vname = verb;
		h->self_done = false; /* until hcmd_settle */
	}
	return h;
}

struct hcmd *hcmd_send(struct ccmd *c, struct ns *ns, uint64_t nsid, const char *verb,
		       bool refuse, const struct hsend *parts, size_t np, unsigned take_ms,
		       unsigned answer_ms, int *r)
{
	struct hcmd *h = hcmd_alloc(c, ns, V_FLUSH, 0, np);
	*r = h ? 0 : -ENOMEM;
	if (!h)
		return NULL;
	h->vname = verb;
	h->take_ms = take_ms;
	h->answer_ms = answer_ms;
	for (size_t i = 0; !*r && i < np; i++) {
		struct hpart *hp = &h->p[h->np];
		h->ia[h->np++] = h->na++;
		snprintf(hp->host, sizeof(hp->host), "%s", parts[i].host);
		snprintf(h->a[i].host, sizeof(h->a[i].host), "%s", parts[i].host);
		if (ckey_cmd(hp->key, sizeof(hp->key), c->ch->cluster, hp->host, &h->tag) < 0)
			*r = -ENAMETOOLONG;
		struct crec_cmd rec = {.ns = nsid,
				       .ids = (uint64_t *)parts[i].ids,
				       .nids = parts[i].n,
				       .unfit = refuse ? CREC_UNFIT_REFUSE : CREC_UNFIT_SKIP,
				       .args = parts[i].args.len ? parts[i].args.p : NULL,
				       .take_ms = take_ms,
				       .issued = (uint64_t)time(NULL)};
		snprintf(rec.from, sizeof(rec.from), "%s", c->ch->self);
		snprintf(rec.verb, sizeof(rec.verb), "%s", verb);
		crec_cmd_write(&rec, &hp->value);
		if (hp->value.oom || parts[i].args.oom)
			*r = -ENOMEM;
	}
	if (!*r && np)
		*r = hcmd_start(h);
	if (*r) {
		hcmd_put(h);
		return NULL;
	}
	return h;
}

bool hcmd_sent_done(struct hcmd *h) { return !h->running; }

const struct hostans *hcmd_answers(struct hcmd *h, size_t *n)
{
	*n = h->na;
	return h->a;
}

void hcmd_settle(struct hcmd *h, const struct hostans *a, size_t n)
{
	struct hostans *na = calloc(n ? n : 1, sizeof(*na));
	char(*hosts)[NAME_MAX_LEN + 1] = calloc(n ? n : 1, sizeof(*hosts));
	if (na && hosts) {
		memcpy(na, a, n * sizeof(*na));
		for (size_t i = 0; i < n; i++)
			snprintf(hosts[i], sizeof(hosts[i]), "%s", a[i].host);
		free(h->a);
		free(h->hosts);
		h->a = na;
		h->hosts = hosts;
		h->na = h->nhosts = n;
	} else { /* no lines to show: the write fails, whatever was done (the log has it) */
		free(na);
		free(hosts);
		h->fail = ENOMEM;
		snprintf(h->failwhy, sizeof(h->failwhy), "out of memory for the answer");
	}
	h->self_done = true;
	waitq_wake_all(&h->wq);
}

void hcmd_fail(struct hcmd *h, int err, const char *why)
{
	h->fail = err > 0 ? err : -err ? -err : EIO;
	snprintf(h->failwhy, sizeof(h->failwhy), "%s", why && *why ? why : strerror(h->fail));
	h->self_done = true;
	waitq_wake_all(&h->wq);
}

void hcmd_ok_text(struct hcmd *h, const char *text)
{
	free(h->text);
	if (!(h->text = strdup(text)))
		return hcmd_fail(h, ENOMEM, "out of memory for the answer");
	h->self_done = true;
	waitq_wake_all(&h->wq);
}
