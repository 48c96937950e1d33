/* A launch's claims against etcd (cluster/claim.h's claim_read and claim_run): the view read in
 * one transaction, the reservation placed from it, then the chunks of claims, several at once. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/claim.h"
#include "cluster/cintent.h"

static int txn(struct etcd *c, const struct etcd_cmp *cmp, size_t ncmp, const struct etcd_op *ok,
	       size_t nok, const struct etcd_op *fail, size_t nfail, struct etcd_txn_result *res,
	       char *err, size_t errlen)
{
	struct err e;
	*res = (struct etcd_txn_result){0};
	int r = etcd_txn(c, cmp, ncmp, ok, nok, fail, nfail, res, &e);
	if (r)
		snprintf(err, errlen, "etcd: %s", e.why);
	return r;
}

/* The ranges of a txn's answer as one list (pointers into res). */
static int flatten(const struct etcd_txn_result *res, struct etcd_kv **out, size_t *n)
{
	size_t total = 0;
	for (size_t i = 0; i < res->nranges; i++)
		total += res->ranges[i].n;
	*out = calloc(total ? total : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	*n = 0;
	for (size_t i = 0; i < res->nranges; i++)
		for (size_t j = 0; j < res->ranges[i].n; j++)
			(*out)[(*n)++] = res->ranges[i].kv[j];
	return 0;
}

int claim_read(struct etcd *c, const struct claim_req *rq, struct claim_view *v, char *err,
	       size_t errlen)
{
	char nkey[CKEY_MAX + 1], why[300];
	if (ckey_ns(nkey, sizeof(nkey), rq->cluster, rq->ns) < 0) {
		snprintf(err, errlen, "launch: ns %s: no key", rq->ns);
		return -EINVAL;
	}
	/* the namespace alone first: its id and hosts say what else to read */
	struct etcd_kv kv;
	bool found;
	struct err e;
	int r = etcd_get(c, nkey, &kv, &found, &e);
	if (r) {
		snprintf(err, errlen, "etcd: %s", e.why);
		return r;
	}
	if (!found) {
		*v = (struct claim_view){0};
		snprintf(err, errlen, "launch: ns/%s is not in the cluster", rq->ns);
		return -ENOENT;
	}
	struct crec_ns ns;
	r = crec_ns_read(kv.value, kv.value_len, &ns, why, sizeof(why));
	etcd_kv_free(&kv);
	if (r) {
		snprintf(err, errlen, "launch: %s: %s", nkey, why);
		return -EBADMSG;
	}
	size_t nh = ns.nhosts + 1, nops = 3 + 2 * nh;
	if (nops > ETCD_TXN_MAX) {
		crec_ns_free(&ns);
		snprintf(err, errlen, "launch: ns/%s has too many hosts", rq->ns);
		return -E2BIG;
	}
	char(*keys)[CKEY_MAX + 1] = calloc(nops, sizeof(*keys));
	struct etcd_op *ops = calloc(nops, sizeof(*ops));
	if (!keys || !ops) {
		free(keys);
		free(ops);
		crec_ns_free(&ns);
		return -ENOMEM;
	}
	size_t k = 0;
	snprintf(keys[k++], CKEY_MAX + 1, "%s", nkey);
	/* (a prefix that cannot be built is refused: an empty one would range every key) */
	bool bad = ckey_claims_prefix(keys[k], CKEY_MAX + 1, rq->cluster, ns.id) < 0;
	ops[k++].prefix = true;
	/* P/cap/: ckey_cap of "" is not a key; the prefix is P/ + "cap/" */
	bad |= ckey_prefix(keys[k], CKEY_MAX + 1 - 4, rq->cluster) < 0;
	strcat(keys[k], "cap/");
	ops[k++].prefix = true;
	for (size_t h = 0; h < nh; h++) {
		const char *name = h < ns.nhosts ? ns.hosts[h] : rq->self;
		bad |= ckey_alive(keys[k++], CKEY_MAX + 1, rq->cluster, name) < 0;
		bad |= ckey_hinfo(keys[k++], CKEY_MAX + 1, rq->cluster, name) < 0;
	}
	crec_ns_free(&ns);
	if (bad) {
		free(keys);
		free(ops);
		snprintf(err, errlen, "launch: ns/%s: a key of its view cannot be built", rq->ns);
		return -EINVAL;
	}
	for (size_t i = 0; i < k; i++) {
		ops[i].kind = ETCD_OP_RANGE;
		ops[i].key = keys[i];
	}
	struct etcd_txn_result res;
	r = txn(c, NULL, 0, ops, k, NULL, 0, &res, err, errlen);
	struct etcd_kv *all = NULL;
	size_t n = 0;
	if (!r && !(r = flatten(&res, &all, &n)))
		r = claim_view_read(rq->cluster, rq->self, rq->ns, all, n, res.revision, v);
	free(all);
	etcd_txn_result_free(&res);
	free(keys);
	free(ops);
	return r;
}

/* Which claim of a failed chunk was there: its name and host, from the fail branch's ranges. */
static bool who_won(const struct etcd_txn_result *res, const char *cluster, char *name,
		    char *host)
{
	for (size_t i = 0; i < res->nranges; i++) {
		if (!res->ranges[i].n)
			continue;
		const struct etcd_kv *kv = &res->ranges[i].kv[0];
		struct ckey k;
		struct crec_claim c;
		char why[300];
		if (ckey_parse(cluster, kv->key, &k) != CK_CLAIM)
			continue;
		snprintf(name, NAME_MAX_LEN + 1, "%s", k.name);
		if (crec_claim_read(kv->value, kv->value_len, &c, why, sizeof(why)))
			snprintf(host, NAME_MAX_LEN + 1, "a host whose claim cannot be read");
		else
			snprintf(host, NAME_MAX_LEN + 1, "%s", c.host);
		return true;
	}
	return false;
}

/* The reservation from a new read: 1 a race was lost (read again), 0 reserved (*objs, *irev
 * the intent's revision), <0 failed (err). */
static int reserve(struct etcd *c, const struct claim_req *rq, struct claim_view *given,
		   struct claim_obj **objs, uint64_t *nsid, int64_t *irev, char *err,
		   size_t errlen)
{
	struct claim_view v;
	int r = 0;
	if (given) { /* taken over (freed here) */
		v = *given;
		*given = (struct claim_view){0};
	} else if ((r = claim_read(c, rq, &v, err, errlen))) {
		return r;
	}
	size_t *where = calloc(rq->n ? rq->n : 1, sizeof(*where));
	struct claim_txn *t = calloc(1, sizeof(*t));
	r = where && t ? claim_place(&v, rq, where, err, errlen) : -ENOMEM;
	if (!r && (r = claim_reserve_build(t, &v, rq, where, objs)))
		snprintf(err, errlen, "launch: its reservation cannot be built: %s", strerror(-r));
	if (!r) {
		struct etcd_txn_result res;
		r = txn(c, t->cmp, t->ncmp, t->ok, t->nok, NULL, 0, &res, err, errlen);
		if (!r && res.succeeded) {
			*irev = res.revision;
			*nsid = v.ns.id;
		} else if (!r) {
			r = 1; /* the counter or a reservation moved */
		}
		if (r) {
			free(*objs);
			*objs = NULL;
		}
		etcd_txn_result_free(&res);
		claim_txn_free(t);
	}
	free(t);
	free(where);
	claim_view_free(&v);
	return r;
}

/* The chunks, shared by the threads that send them. */
struct chunks {
	const struct claim_req *rq;
	const struct etcd_opts *o;
	const struct claim_obj *objs;
	uint64_t nsid;
	int64_t irev;
	pthread_mutex_t mu;
	size_t next, n; /* the next chunk to send, and how many */
	int r;		/* the first failure */
	char err[512];
};

static void chunks_fail(struct chunks *ch, int r, const char *why)
{
	pthread_mutex_lock(&ch->mu);
	if (!ch->r) {
		ch->r = r;
		snprintf(ch->err, sizeof(ch->err), "%s", why);
	}
	pthread_mutex_unlock(&ch->mu);
}

/* Sends chunks until none is left or one failed. */
static void chunks_send(struct chunks *ch, struct etcd *c)
{
	const struct claim_req *rq = ch->rq;
	struct claim_txn *t = calloc(1, sizeof(*t));
	if (!t)
		return chunks_fail(ch, -ENOMEM, "launch: out of memory");
	for (;;) {
		pthread_mutex_lock(&ch->mu);
		size_t i = ch->r ? ch->n : ch->next++;
		pthread_mutex_unlock(&ch->mu);
		if (i >= ch->n)
			break;
		size_t at = i * CLAIM_CHUNK, k = rq->n - at < CLAIM_CHUNK ? rq->n - at : CLAIM_CHUNK;
		char err[512];
		int r = claim_chunk_build(t, rq, ch->nsid, ch->objs + at, k, ch->irev);
		if (r) {
			snprintf(err, sizeof(err), "launch: a chunk cannot be built: %s", strerror(-r));
			chunks_fail(ch, r, err);
			break;
		}
		struct etcd_txn_result res;
		r = txn(c, t->cmp, t->ncmp, t->ok, t->nok, t->fail, t->nfail, &res, err, sizeof(err));
		if (!r && !res.succeeded) {
			char name[NAME_MAX_LEN + 1], host[NAME_MAX_LEN + 1];
			if (who_won(&res, rq->cluster, name, host)) {
				snprintf(err, sizeof(err), "launch: %s exists already in ns/%s (on %s)",
					 name, rq->ns, host);
				r = -EEXIST;
			} else {
				snprintf(err, sizeof(err), "launch: its intent changed while it "
					 "claimed (adopted by another host?)");
				r = -EAGAIN;
			}
		}
		etcd_txn_result_free(&res);
		claim_txn_free(t);
		if (r) {
			chunks_fail(ch, r, err);
			break;
		}
	}
	free(t);
}

static void *chunks_thread(void *arg)
{
	struct chunks *ch = arg;
	struct etcd *c;
	struct err e;
	if (etcd_open(ch->o, &c, &e)) {
		char err[512];
		snprintf(err, sizeof(err), "etcd: %.500s", e.why);
		chunks_fail(ch, -e.no, err);
		return NULL;
	}
	chunks_send(ch, c);
	etcd_close(c);
	return NULL;
}

/* Every chunk claimed, CLAIM_PAR at once when o is given: 0, or the first failure (err). */
static int claim_chunks(struct etcd *c, const struct etcd_opts *o, const struct claim_req *rq,
			const struct claim_obj *objs, uint64_t nsid, int64_t irev, char *err,
			size_t errlen)
{
	struct chunks ch = {.rq = rq, .o = o, .objs = objs, .nsid = nsid, .irev = irev,
			    .n = (rq->n + CLAIM_CHUNK - 1) / CLAIM_CHUNK};
	pthread_mutex_init(&ch.mu, NULL);
	pthread_t th[CLAIM_PAR];
	size_t nth = 0;
	while (o && nth + 1 < CLAIM_PAR && nth + 1 < ch.n &&
	       !pthread_create(&th[nth], NULL, chunks_thread, &ch))
		nth++;
	chunks_send(&ch, c);
	for (size_t i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&ch.mu);
	if (ch.r)
		snprintf(err, errlen, "%s", ch.err);
	return ch.r;
}

/* All claimed: the intent at phase creating before anything is made. 0, or -errno (err). */
static int creating(struct etcd *c, const struct claim_req *rq, const struct claim_obj *objs,
		    uint64_t nsid, int64_t irev, char *err, size_t errlen)
{
	char ikey[CKEY_MAX + 1];
	struct sbuf v = {0};
	if (ckey_intent(ikey, sizeof(ikey), rq->cluster, &rq->intent) < 0)
		return -EINVAL;
	int r = claim_creating_value(&v, rq, nsid, objs);
	struct etcd_kv cur = {0};
	struct err e;
	if (!r && (r = etcd_cas(c, ikey, irev, v.p, v.len, 0, &cur, &e)) < 0)
		snprintf(err, errlen, "launch: its intent at creating: etcd: %s", e.why);
	sb_free(&v);
	if (cur.key)
		etcd_kv_free(&cur);
	if (r < 0)
		return r;
	if (!r) {
		snprintf(err, errlen, "launch: its intent changed while it claimed (adopted by "
			 "another host?)");
		return -EAGAIN;
	}
	return 0;
}

int claim_run(struct etcd *c, const struct etcd_opts *o, const struct claim_req *rq, bool plan,
	      struct claim_view *first, struct claim_obj **out, uint64_t *nsid_out,
	      struct sbuf *plan_text, char *err, size_t errlen)
{
	*out = NULL;
	if (plan) {
		struct claim_view v;
		int r = claim_read(c, rq, &v, err, errlen);
		if (r)
			return r;
		size_t *where = calloc(rq->n ? rq->n : 1, sizeof(*where));
		r = where ? claim_place(&v, rq, where, err, errlen) : -ENOMEM;
		if (!r)
			claim_plan(&v, rq, where, plan_text);
		free(where);
		claim_view_free(&v);
		return r;
	}
	struct claim_obj *objs = NULL;
	uint64_t nsid = 0;
	int64_t irev = 0;
	int r = 1;
	for (int t = 0; t < CLAIM_TRIES && r == 1; t++)
		r = reserve(c, rq, !t && first && first->ns_found ? first : NULL, &objs, &nsid,
			    &irev, err, errlen);
	if (first)
		claim_view_free(first);
	if (r == 1) {
		snprintf(err, errlen, "launch: the cluster is busy placing in ns/%s (%d tries)",
			 rq->ns, CLAIM_TRIES);
		return -EAGAIN;
	}
	if (r)
		return r;
	/* every chunk has ended (none can land after the rollback reads the claims) */
	if (!(r = claim_chunks(c, o, rq, objs, nsid, irev, err, errlen)))
		r = creating(c, rq, objs, nsid, irev, err, errlen);
	if (r) {
		char rerr[512];
		if (cintent_rollback(c, rq->cluster, &rq->intent, NULL, rerr, sizeof(rerr)))
			snprintf(err + strlen(err), errlen - strlen(err),
				 "; its rollback failed (the intent stays, recovered later): %s",
				 rerr);
		free(objs);
		return r;
	}
	*out = objs;
	if (nsid_out)
		*nsid_out = nsid;
	return 0;
}
