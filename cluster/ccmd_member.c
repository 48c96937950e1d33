/* A member's worker (cluster/ccmd_int.h): takes the commands put for this host, within B or
 * not at all, and puts their answers. Its own etcd handle; the loop applies what it took. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cluster/ccmd_int.h"
#include "cluster/chosts.h"
#include "etcd/member.h"

int64_t ccmd_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void mjob_free(struct mjob *j)
{
	if (!j)
		return;
	crec_cmd_free(&j->cmd);
	ccreate_free(&j->cr);
	cconfig_free(&j->cf);
	sb_free(&j->value);
	free(j->names);
	free(j);
}

void ccmd_queue(struct ccmd *c, struct mjob *j)
{
	pthread_mutex_lock(&c->lock);
	j->next = NULL;
	*c->todo_tail = j;
	c->todo_tail = &j->next;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->lock);
}

/* Puts an answer while the command is there (an answer to a command gone would stay until
 * this host's lease ends). */
static void put_answer(struct ccmd *c, const char *key, const char *ans, const struct sbuf *v,
		       int64_t lease)
{
	struct etcd_cmp there = {
	    .key = key, .target = ETCD_VERSION, .result = ETCD_GREATER, .num = 0};
	struct etcd_op put = {
	    .kind = ETCD_OP_PUT, .key = ans, .value = v->p, .len = v->len, .lease = lease};
	struct etcd_txn_result res = {0};
	struct err e;
	if (v->oom)
		threadlog_say(&c->tl, "cannot answer %s: out of memory", key);
	else if (etcd_txn(c->w, &there, 1, &put, 1, NULL, 0, &res, &e))
		threadlog_say(&c->tl, "cannot answer %s: %s", key, e.why);
	else if (!res.succeeded)
		threadlog_say(&c->tl, "%s went before its answer: its head has given up", key);
	etcd_txn_result_free(&res);
}

static void answer_state(struct ccmd *c, const struct mjob *j, enum crec_ans_state st,
			 const char *reason, int64_t lease)
{
	struct crec_ans a = {.state = st};
	snprintf(a.reason, sizeof(a.reason), "%s", reason ? reason : "");
	struct sbuf v = {0};
	crec_ans_write(&a, &v);
	put_answer(c, j->key, j->ans, &v, lease);
	sb_free(&v);
}

/* The take: version 1 (nobody took it, nobody cancelled it) -> taken by this host, answered
 * "taken". True when it is to be applied (the take's answer came within B). */
static bool take(struct ccmd *c, struct mjob *j)
{
	int64_t lease = member_lease(c->ch);
	if (!lease) {
		threadlog_say(&c->tl, "%s: not taken: this host has no lease (not joined)", j->key);
		return false;
	}
	unsigned char raw[8];
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		memset(raw, 0, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(j->cmd.nonce + 2 * i, 3, "%02x", raw[i]);
	snprintf(j->cmd.taken, sizeof(j->cmd.taken), "%s", c->ch->self);
	struct sbuf cmd = {0}, ans = {0};
	crec_cmd_write(&j->cmd, &cmd);
	struct crec_ans a = {.state = CREC_ANS_TAKEN};
	crec_ans_write(&a, &ans);
	struct etcd_cmp first = {.key = j->key, .target = ETCD_VERSION, .num = 1};
	const struct etcd_op ops[] = {
	    {.kind = ETCD_OP_PUT,
	     .key = j->key,
	     .value = cmd.p,
	     .len = cmd.len,
	     .ignore_lease = true},
	    {.kind = ETCD_OP_PUT, .key = j->ans, .value = ans.p, .len = ans.len, .lease = lease},
	};
	struct etcd_txn_result res = {0};
	struct err e;
	int64_t t0 = ccmd_now_ms();
	int r = cmd.oom || ans.oom ? err_set(&e, ENOMEM, "out of memory")
				   : etcd_txn(c->w, &first, 1, ops, 2, NULL, 0, &res, &e);
	int64_t took = ccmd_now_ms() - t0;
	sb_free(&cmd);
	sb_free(&ans);
	bool ok = !r && res.succeeded;
	etcd_txn_result_free(&res);
	if (r) { /* it may have landed: not applied, its head reads taken and says unknown */
		threadlog_say(&c->tl, "%s: the take failed (%s): not applied", j->key, e.why);
		return false;
	}
	if (!ok) {
		threadlog_say(&c->tl,
			      "%s: cancelled by its head (or taken) before this host took it",
			      j->key);
		return false;
	}
	if (took > CCMD_B_MS) {
		char why[128];
		ccmd_late_reason((unsigned)took, why, sizeof(why));
		threadlog_say(&c->tl, "%s: %s", j->key, why);
		answer_state(c, j, CREC_ANS_LATE, why, lease);
		return false;
	}
	return true;
}

static void run(struct ccmd *c, struct mjob *j)
{
	switch (j->kind) {
	case MJ_TAKE:
		if (j->claims_unread && !j->pre_err) {
			j->pre_err = ccreate_claims_read(c, j, j->pre_reason, sizeof(j->pre_reason));
			threadlog_say(&c->tl, "%s: its %zu claims read from etcd (this host's cache "
					      "was behind it): %s",
				      j->key, j->cr.n, j->pre_err ? j->pre_reason : "as sent");
		}
		if (take(c, j)) {
			if (j->config)
				cconfig_reserve(c, j);
			pthread_mutex_lock(&c->lock);
			j->next = c->back;
			c->back = j;
			pthread_mutex_unlock(&c->lock);
			ccmd_poke(c);
			return;
		}
		break;
	case MJ_ANSWER:
		if (j->config)
			cconfig_settle(c, j);
		put_answer(c, j->key, j->ans, &j->value, member_lease(c->ch));
		break;
	case MJ_UNANSWER: {
		struct err e;
		if (etcd_delete(c->w, j->ans, false, NULL, &e))
			threadlog_say(&c->tl, "cannot delete %s: %s (it goes with the lease)",
				      j->ans, e.why);
		break;
	}
	}
	mjob_free(j);
}

void *ccmd_work(void *arg)
{
	struct ccmd *c = arg;
	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		struct mjob *j = c->todo;
		if (!j) {
			pthread_cond_wait(&c->cv, &c->lock);
			continue;
		}
		if (!(c->todo = j->next))
			c->todo_tail = &c->todo;
		pthread_mutex_unlock(&c->lock);
		run(c, j);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}
