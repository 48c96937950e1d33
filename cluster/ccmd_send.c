/* A head's command on the wire (cluster/ccmd_int.h): the other hosts' parts put in one txn on
 * this host's lease, the take window, the cancels, the answers, then the keys deleted. Its
 * deadlines are kept by a thread of the command's own (its own etcd handle); the loop tells it
 * what the cache saw of takes and answers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/ccmd_int.h"
#include "cluster/chosts.h"
#include "etcd/member.h"
#include "vmfs/node.h"

static struct hpart *part_of(struct ccmd *c, const struct ckey *k, struct hcmd **out)
{
	for (struct hcmd *h = c->heads; h; h = h->next)
		if (h->tag.run == k->tag.run && h->tag.seq == k->tag.seq)
			for (size_t i = 0; i < h->np; i++)
				if (!strcmp(h->p[i].host, k->host)) {
					*out = h;
					return &h->p[i];
				}
	return NULL;
}

void hcmd_seen_cmd(struct ccmd *c, const struct ckey *k, const struct ccache_kv *now)
{
	struct crec_cmd cmd;
	char why[256];
	if (now->version < 2 || crec_cmd_read(now->value, now->len, &cmd, why, sizeof(why)))
		return;
	pthread_mutex_lock(&c->lock);
	struct hcmd *h;
	struct hpart *p = part_of(c, k, &h);
	if (p && !p->answered && *cmd.taken && strcmp(cmd.taken, p->host)) {
		/* taken by another host: refused as forged, not applied */
		memset(&p->a, 0, sizeof(p->a));
		snprintf(p->a.host, sizeof(p->a.host), "%s", p->host);
		p->a.kind = HA_FORGED;
		snprintf(p->a.taker, sizeof(p->a.taker), "%s", cmd.taken);
		p->answered = true;
		pthread_cond_signal(&h->cv);
	} else if (p && *cmd.taken) {
		p->taken = true;
		pthread_cond_signal(&h->cv);
	}
	pthread_mutex_unlock(&c->lock);
	crec_cmd_free(&cmd);
}

void hcmd_seen_ans(struct ccmd *c, const struct ckey *k, const struct ccache_kv *now)
{
	struct crec_ans ans;
	char why[256];
	if (crec_ans_read(now->value, now->len, &ans, why, sizeof(why))) {
		evlog_add(&c->v->log, "cluster: %s: %s: not taken as an answer", now->key, why);
		return;
	}
	pthread_mutex_lock(&c->lock);
	struct hcmd *h;
	struct hpart *p = part_of(c, k, &h);
	if (p && !p->answered) {
		p->taken = true;
		p->answered = ccmd_judge(p->host, &ans, &p->a);
		pthread_cond_signal(&h->cv);
	}
	pthread_mutex_unlock(&c->lock);
}

/* Waits (the lock held) until every part is past want (1: taken, 2: answered), or until the
 * monotonic ms deadline, or the door stops. */
static void wait_parts(struct hcmd *h, int want, int64_t due)
{
	struct ccmd *c = h->c;
	for (;;) {
		bool all = true;
		for (size_t i = 0; i < h->np && all; i++)
			all = h->p[i].answered || (want == 1 && h->p[i].taken);
		if (all || c->stopping || ccmd_now_ms() >= due)
			return;
		struct timespec t = {.tv_sec = due / 1000, .tv_nsec = (due % 1000) * 1000000};
		pthread_cond_timedwait(&h->cv, &c->lock, &t);
	}
}

/* Waits (the lock held) until the monotonic ms deadline, or the door stops. */
static void pause_until(struct hcmd *h, int64_t due)
{
	while (!h->c->stopping && ccmd_now_ms() < due) {
		struct timespec t = {.tv_sec = due / 1000, .tv_nsec = (due % 1000) * 1000000};
		pthread_cond_timedwait(&h->cv, &h->c->lock, &t);
	}
}

/* At T: a cancel per part not seen taken; etcd orders it with the take. False when etcd did
 * not answer it (the head may be cut: its lease, and the command, go by themselves). */
static bool cancel(struct hcmd *h, struct etcd *e, struct hpart *p, unsigned window_ms)
{
	struct etcd_cmp first = {.key = p->key, .target = ETCD_VERSION, .num = 1};
	struct etcd_op del = {.kind = ETCD_OP_DELETE, .key = p->key};
	struct etcd_op get = {.kind = ETCD_OP_RANGE, .key = p->key};
	struct etcd_txn_result res = {0};
	struct err er;
	struct hostans a = {.window_ms = window_ms};
	snprintf(a.host, sizeof(a.host), "%s", p->host);
	int taken = 0; /* 1: taken by its host */
	bool confirmed = false;
	if (!e || etcd_txn(e, &first, 1, &del, 1, &get, 1, &res, &er)) {
		a.kind = HA_UNKNOWN; /* the cancel was not confirmed */
	} else if ((confirmed = res.succeeded)) {
		a.kind = HA_CANCELLED;
	} else {
		confirmed = true;
		struct crec_cmd cmd = {0};
		char why[256];
		if (res.nranges && res.ranges[0].n &&
		    !crec_cmd_read(res.ranges[0].kv[0].value, res.ranges[0].kv[0].value_len, &cmd,
				   why, sizeof(why)) &&
		    !strcmp(cmd.taken, p->host))
			taken = 1;
		else if (res.nranges && res.ranges[0].n && *cmd.taken) {
			a.kind = HA_FORGED;
			snprintf(a.taker, sizeof(a.taker), "%s", cmd.taken);
		} else
			a.kind = HA_UNKNOWN;
		crec_cmd_free(&cmd);
	}
	etcd_txn_result_free(&res);
	pthread_mutex_lock(&h->c->lock);
	if (taken)
		p->taken = true;
	else if (!p->answered) {
		p->a = a;
		p->answered = true;
	}
	pthread_mutex_unlock(&h->c->lock);
	return confirmed;
}

void *hcmd_thread(void *arg)
{
	struct hcmd *h = arg;
	struct ccmd *c = h->c;
	struct etcd *e = NULL;
	struct err er;
	int64_t t0 = ccmd_now_ms(), lease = member_lease(c->ch);
	unsigned take_ms = h->take_ms ? h->take_ms : CCMD_TAKE_MS,
		 answer_ms = h->answer_ms ? h->answer_ms : ccmd_verb_ms(h->verb);
	struct etcd_cmp *cmp = calloc(h->np, sizeof(*cmp));
	struct etcd_op *ops = calloc(h->np, sizeof(*ops));
	struct etcd_txn_result res = {0};
	int r = !cmp || !ops ? -ENOMEM : etcd_open(&c->o, &e, &er);
	bool nolease = !r && !lease; /* lapsed since the check: nothing is put off a lease */
	for (size_t i = 0; !r && i < h->np; i++) {
		cmp[i] = (struct etcd_cmp){.key = h->p[i].key, .target = ETCD_VERSION, .num = 0};
		ops[i] = (struct etcd_op){.kind = ETCD_OP_PUT,
					  .key = h->p[i].key,
					  .value = h->p[i].value.p,
					  .len = h->p[i].value.len,
					  .lease = lease};
	}
	/* one txn for every host, each key compared absent: a put sent again makes no second
	 * command. A put of unknown outcome is cancelled at T like the others. */
	if (!r && !nolease && (r = etcd_txn(e, cmp, h->np, ops, h->np, NULL, 0, &res, &er)))
		threadlog_say(&c->tl, "command %s: the put failed (%s): cancelled at %u ms",
			      h->tagtext, er.why, take_ms);
	bool sent = !r && res.succeeded;
	etcd_txn_result_free(&res);
	free(cmp);
	free(ops);
	pthread_mutex_lock(&c->lock);
	if (sent || r)
		wait_parts(h, 1, t0 + take_ms);
	else { /* a key of this id was there: not this command's to cancel nor delete */
		threadlog_say(&c->tl, "command %s: %s: not sent", h->tagtext,
			      nolease ? "this host's lease has lapsed" : "its keys exist already");
		for (size_t i = 0; i < h->np; i++) {
			struct hpart *p = &h->p[i];
			p->a = (struct hostans){.kind = HA_UNKNOWN};
			snprintf(p->a.host, sizeof(p->a.host), "%s", p->host);
			p->answered = true;
		}
	}
	int64_t unconfirmed = 0; /* when a cancel went unanswered */
	for (size_t i = 0; i < h->np && (sent || r); i++) {
		struct hpart *p = &h->p[i];
		if (p->taken || p->answered)
			continue;
		pthread_mutex_unlock(&c->lock);
		/* once etcd has not answered one, the others would wait as long each */
		if (!cancel(h, unconfirmed ? NULL : e, p, take_ms) && !unconfirmed)
			unconfirmed = ccmd_now_ms();
		pthread_mutex_lock(&c->lock);
	}
	/* taken: its answer comes within the verb's time (at least B after the take) */
	int64_t due = ccmd_now_ms() + CCMD_B_MS;
	if (t0 + (int64_t)answer_ms > due)
		due = t0 + answer_ms;
	wait_parts(h, 2, due);
	/* a cancel etcd did not answer: the writer is answered once this host's lease is surely
	 * gone (its TTL, etcd's expiry check, an election), so that no take of it can still be
	 * applied after the write has ended; unless the lease was renewed meanwhile */
	if (unconfirmed)
		pause_until(h, unconfirmed + MEMBER_TTL_S * 1000 + 500 + 1000);
	unsigned waited = (unsigned)(ccmd_now_ms() - t0);
	for (size_t i = 0; i < h->np; i++) {
		struct hpart *p = &h->p[i];
		if (p->answered)
			continue;
		memset(&p->a, 0, sizeof(p->a));
		snprintf(p->a.host, sizeof(p->a.host), "%s", p->host);
		p->a.kind = HA_UNKNOWN;
		p->a.taken = true;
		p->a.window_ms = waited;
		p->answered = true;
	}
	pthread_mutex_unlock(&c->lock);
	/* the command keys go (with this host's lease otherwise); the members' answers with them */
	struct etcd_op *dels = sent || r ? calloc(h->np, sizeof(*dels)) : NULL;
	for (size_t i = 0; dels && e && i < h->np; i++)
		dels[i] = (struct etcd_op){.kind = ETCD_OP_DELETE, .key = h->p[i].key};
	if (dels && e && etcd_txn(e, NULL, 0, dels, h->np, NULL, 0, &res, &er))
		threadlog_say(&c->tl,
			      "command %s: cannot delete its keys (%s): they go with the "
			      "lease",
			      h->tagtext, er.why);
	etcd_txn_result_free(&res);
	free(dels);
	etcd_close(e);
	pthread_mutex_lock(&c->lock);
	h->finished = true;
	pthread_mutex_unlock(&c->lock);
	ccmd_poke(c);
	return NULL;
}

void hcmd_finished(struct hcmd *h)
{
	pthread_join(h->th, NULL);
	h->running = false;
	for (size_t i = 0; i < h->np; i++)
		h->a[h->ia[i]] = h->p[i].a;
	waitq_wake_all(&h->wq);
	hcmd_put(h);
}

void hcmd_stop_all(struct ccmd *c)
{
	pthread_mutex_lock(&c->lock);
	for (struct hcmd *h = c->heads; h; h = h->next)
		pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&c->lock);
	for (;;) {
		pthread_mutex_lock(&c->lock);
		struct hcmd *h = c->heads;
		if (h)
			c->heads = h->next;
		pthread_mutex_unlock(&c->lock);
		if (!h)
			break;
		hcmd_finished(h);
	}
}
