/* Launch intents (cluster/cintent.h): rollback, finish, and recovery of intents left behind. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cintent.h"
#include "cluster/claim.h"
#include "cluster/cmig.h"
#include "cluster/cmove.h"

#define UNDO_CHUNK 60 /* objects a rollback txn takes: their claims and at most as many caps */

static int fail_etcd(const struct err *e, char *err, size_t errlen)
{
	snprintf(err, errlen, "etcd: %s", e->why);
	return -e->no;
}

/* P/intent/L read: 0 and *found; -EBADMSG if it cannot be read. */
static int intent_get(struct etcd *c, const char *ikey, struct crec_intent *in, int64_t *rev,
		      bool *found, char *err, size_t errlen)
{
	struct etcd_kv kv;
	struct err e;
	char why[300];
	int r = etcd_get(c, ikey, &kv, found, &e);
	if (r)
		return fail_etcd(&e, err, errlen);
	if (!*found)
		return 0;
	r = crec_intent_read(kv.value, kv.value_len, in, why, sizeof(why));
	*rev = kv.mod_revision;
	etcd_kv_free(&kv);
	if (r) {
		snprintf(err, errlen, "%s: %s", ikey, why);
		return -EBADMSG;
	}
	return 0;
}

static bool tag_eq(const struct ckey_tag *a, const struct ckey_tag *b)
{
	return !strcmp(a->host, b->host) && a->run == b->run && a->seq == b->seq;
}

/* One rollback txn over in's first k objects: 1 done (*irev moved on, or the intent gone when
 * they were the last), 0 a compare failed (read again), <0 failed. */
static int undo_chunk(struct etcd *c, const char *cluster, const struct ckey_tag *tag,
		      const struct crec_intent *in, const char *ikey, int64_t *irev, size_t k,
		      unsigned *given, char *err, size_t errlen)
{
	CKEY_SCRATCH(keys, 2 * UNDO_CHUNK);
	if (!keys) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	struct etcd_op ops[2 * UNDO_CHUNK];
	struct claim_undo u[UNDO_CHUNK];
	struct claim_undo_cap caps[UNDO_CHUNK];
	size_t claim_at[UNDO_CHUNK], cap_at[UNDO_CHUNK];
	size_t ncaps = 0, n = 0;
	for (size_t i = 0; i < k; i++) {
		claim_at[i] = n;
		ckey_claim(keys[n], CKEY_MAX + 1, cluster, in->ns, in->objects[i].name);
		ops[n] = (struct etcd_op){.kind = ETCD_OP_RANGE, .key = keys[n]};
		n++;
		bool seen = false;
		for (size_t h = 0; h < ncaps; h++)
			seen |= !strcmp(caps[h].host, in->objects[i].host);
		if (!seen) {
			cap_at[ncaps] = n;
			caps[ncaps++] = (struct claim_undo_cap){.host = in->objects[i].host};
			ckey_cap(keys[n], CKEY_MAX + 1, cluster, in->objects[i].host);
			ops[n] = (struct etcd_op){.kind = ETCD_OP_RANGE, .key = keys[n]};
			n++;
		}
	}
	struct etcd_txn_result res = {0};
	struct err e;
	int r = etcd_txn(c, NULL, 0, ops, n, NULL, 0, &res, &e);
	if (r)
		return fail_etcd(&e, err, errlen);
	if (res.nranges != n) {
		etcd_txn_result_free(&res);
		snprintf(err, errlen, "etcd answered %zu ranges for %zu", res.nranges, n);
		return -EPROTO;
	}
	char why[300];
	for (size_t i = 0; i < k; i++) {
		const struct etcd_kvs *cr = &res.ranges[claim_at[i]];
		struct crec_claim cl;
		u[i] = (struct claim_undo){.o = &in->objects[i], .absent = !cr->n};
		if (cr->n &&
		    !crec_claim_read(cr->kv[0].value, cr->kv[0].value_len, &cl, why, sizeof(why)) &&
		    tag_eq(&cl.intent, tag) && cl.id == in->objects[i].id &&
		    !strcmp(cl.host, in->objects[i].host)) {
			u[i].ours = true;
			u[i].claim_rev = cr->kv[0].mod_revision;
		}
	}
	for (size_t h = 0; h < ncaps; h++) {
		const struct etcd_kvs *kr = &res.ranges[cap_at[h]];
		if (kr->n) {
			caps[h].rev = kr->kv[0].mod_revision;
			if (crec_cap_read(kr->kv[0].value, kr->kv[0].value_len, &caps[h].cap, why,
					  sizeof(why)))
				caps[h].cap = (struct crec_cap){0}; /* written whole again */
		}
	}
	etcd_txn_result_free(&res);
	struct claim_txn *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	r = claim_undo_build(t, cluster, in, ikey, *irev, u, k, caps, ncaps, in->objects + k,
			     in->nobjects - k);
	if (!r) {
		r = etcd_txn(c, t->cmp, t->ncmp, t->ok, t->nok, NULL, 0, &res, &e);
		if (r)
			r = fail_etcd(&e, err, errlen);
		else if (res.succeeded) {
			*irev = res.revision;
			for (size_t i = 0; given && i < k; i++)
				*given += u[i].ours;
			r = 1;
		}
		etcd_txn_result_free(&res);
		claim_txn_free(t);
	} else {
		snprintf(err, errlen, "rollback: cannot build its transaction: %s", strerror(-r));
	}
	free(t);
	return r;
}

int cintent_rollback(struct etcd *c, const char *cluster, const struct ckey_tag *tag,
		     unsigned *given, char *err, size_t errlen)
{
	char ikey[CKEY_MAX + 1];
	if (ckey_intent(ikey, sizeof(ikey), cluster, tag) < 0) {
		snprintf(err, errlen, "rollback: no key for the intent");
		return -EINVAL;
	}
	if (given)
		*given = 0;
	int lost = 0;
	for (;;) {
		struct crec_intent in;
		int64_t irev = 0;
		bool found;
		int r = intent_get(c, ikey, &in, &irev, &found, err, errlen);
		if (r || !found)
			return r;
		/* the intent is rewritten at each chunk: read again only after a lost race */
		while (!r) {
			size_t k = in.nobjects < UNDO_CHUNK ? in.nobjects : UNDO_CHUNK;
			r = undo_chunk(c, cluster, tag, &in, ikey, &irev, k, given, err, errlen);
			if (r == 1) {
				if (k == in.nobjects)
					break;
				memmove(in.objects, in.objects + k,
					(in.nobjects - k) * sizeof(*in.objects));
				in.nobjects -= k;
				r = 0;
			} else if (!r) {
				break;
			}
		}
		crec_intent_free(&in);
		if (r == 1)
			return 0;
		if (r < 0)
			return r;
		if (++lost == 10) {
			snprintf(err, errlen, "rollback: the cluster is busy (10 races lost)");
			return -EAGAIN;
		}
	}
}

int cintent_phase(struct etcd *c, const char *cluster, const struct ckey_tag *tag,
		  enum crec_phase phase, char *err, size_t errlen)
{
	char ikey[CKEY_MAX + 1];
	if (ckey_intent(ikey, sizeof(ikey), cluster, tag) < 0)
		return -EINVAL;
	struct crec_intent in;
	int64_t rev = 0;
	bool found;
	int r = intent_get(c, ikey, &in, &rev, &found, err, errlen);
	if (r)
		return r;
	if (!found) {
		snprintf(err, errlen, "%s is gone (recovered by another host?)", ikey);
		return -ENOENT;
	}
	in.phase = phase;
	struct sbuf v = {0};
	crec_intent_write(&in, &v);
	crec_intent_free(&in);
	struct etcd_kv cur = {0};
	struct err e;
	r = sb_err(&v) ? -ENOMEM : etcd_cas(c, ikey, rev, v.p, v.len, 0, &cur, &e);
	sb_free(&v);
	if (r < 0)
		return r == -ENOMEM ? r : fail_etcd(&e, err, errlen);
	if (cur.key)
		etcd_kv_free(&cur);
	if (!r) {
		snprintf(err, errlen, "%s changed meanwhile (adopted by another host?)", ikey);
		return -EAGAIN;
	}
	return 0;
}

int cintent_finish(struct etcd *c, const char *cluster, const struct ckey_tag *tag, char *err,
		   size_t errlen)
{
	char ikey[CKEY_MAX + 1];
	struct err e;
	if (ckey_intent(ikey, sizeof(ikey), cluster, tag) < 0)
		return -EINVAL;
	return etcd_delete(c, ikey, false, NULL, &e) ? fail_etcd(&e, err, errlen) : 0;
}

void cintent_names(const struct crec_intent *in, char *out, size_t len)
{
	size_t at = 0;
	out[0] = 0;
	for (size_t i = 0; i < in->nobjects && i < 3 && at < len; i++)
		at += snprintf(out + at, len - at, "%s%s", i ? " " : "", in->objects[i].name);
	if (in->nobjects > 3 && at < len)
		snprintf(out + at, len - at, " and %zu more", in->nobjects - 3);
}

/* Does every object of in have its record on its host? */
static int all_there(struct etcd *c, const char *cluster, const char *self,
		     const struct crec_intent *in, cintent_here_fn here, void *ctx, bool *yes,
		     char *err, size_t errlen)
{
	CKEY_SCRATCH(keys, ETCD_TXN_MAX);
	if (!keys) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	struct etcd_op ops[ETCD_TXN_MAX];
	*yes = true;
	for (size_t i = 0; i < in->nobjects && *yes; i += ETCD_TXN_MAX) {
		size_t k = in->nobjects - i < ETCD_TXN_MAX ? in->nobjects - i : ETCD_TXN_MAX;
		for (size_t j = 0; j < k; j++) {
			const struct crec_intent_obj *o = &in->objects[i + j];
			ckey_obj(keys[j], CKEY_MAX + 1, cluster, o->host, in->ns, o->id);
			ops[j] = (struct etcd_op){.kind = ETCD_OP_RANGE, .key = keys[j]};
		}
		struct etcd_txn_result res = {0};
		struct err e;
		if (etcd_txn(c, NULL, 0, ops, k, NULL, 0, &res, &e))
			return fail_etcd(&e, err, errlen);
		for (size_t j = 0; j < res.nranges; j++) {
			const struct crec_intent_obj *o = &in->objects[i + j];
			*yes &= res.ranges[j].n > 0 ||
				(here && !strcmp(o->host, self) && here(ctx, in->ns, o->name));
		}
		*yes &= res.nranges == k;
		etcd_txn_result_free(&res);
	}
	return 0;
}

static const char *phase_name(enum crec_phase p)
{
	return p == CREC_PHASE_CLAIMING ? "claiming" : p == CREC_PHASE_CREATING ? "creating"
										: "rollback";
}

/* Recovers one intent this host runs now. */
static int recover_one(struct etcd *c, const char *cluster, const char *self,
		       const struct ckey_tag *tag, const struct crec_intent *in, const char *from,
		       cintent_here_fn here, cintent_say_fn say, void *ctx, char *err,
		       size_t errlen)
{
	char names[256], line[1024];
	cintent_names(in, names, sizeof(names));
	bool there = false;
	int r = 0;
	if (in->kind != CREC_INTENT_LAUNCH) { /* a move's: cluster/cmig_recover.c (live),
					       * cluster/cmove_recover.c (cold) */
		line[0] = 0;
		if ((r = (in->kind == CREC_INTENT_MIGRATE ? cmig_recover : cmove_recover)(
			 c, cluster, self, tag, in, from, line, sizeof(line), err, errlen)))
			return r;
		if (say && line[0])
			say(ctx, in->ns, line);
		return 0;
	}
	if (in->phase == CREC_PHASE_CREATING && (r = all_there(c, cluster, self, in, here, ctx, &there, err, errlen)))
		return r;
	if (there) {
		if ((r = cintent_finish(c, cluster, tag, err, errlen)))
			return r;
		snprintf(line, sizeof(line),
			 "launch of %s from %s (cut at %s): finished by %s: every object is on its host",
			 names, from, phase_name(in->phase), self);
	} else {
		unsigned given = 0;
		if ((r = cintent_rollback(c, cluster, tag, &given, err, errlen)))
			return r;
		snprintf(line, sizeof(line),
			 "launch of %s from %s (cut at %s%s): rolled back by %s; %u claims given back",
			 names, from, phase_name(in->phase),
			 in->phase == CREC_PHASE_CREATING ? ", not every object made" : "", self,
			 given);
	}
	if (say)
		say(ctx, in->ns, line);
	return 0;
}

/* Whether host has been down CINTENT_DOWN_S: no alive, and a down record that old. */
static int down_long(struct etcd *c, const char *cluster, const char *host, uint64_t now,
		     bool *yes, char *err, size_t errlen)
{
	char akey[CKEY_MAX + 1], dkey[CKEY_MAX + 1], why[300];
	*yes = false;
	if (ckey_alive(akey, sizeof(akey), cluster, host) < 0 ||
	    ckey_down(dkey, sizeof(dkey), cluster, host) < 0)
		return 0;
	const struct etcd_op ops[] = {{.kind = ETCD_OP_RANGE, .key = akey},
				      {.kind = ETCD_OP_RANGE, .key = dkey}};
	struct etcd_txn_result res = {0};
	struct err e;
	if (etcd_txn(c, NULL, 0, ops, 2, NULL, 0, &res, &e))
		return fail_etcd(&e, err, errlen);
	struct crec_down d;
	if (res.nranges == 2 && !res.ranges[0].n && res.ranges[1].n &&
	    !crec_down_read(res.ranges[1].kv[0].value, res.ranges[1].kv[0].value_len, &d, why,
			    sizeof(why)))
		*yes = d.since + CINTENT_DOWN_S <= now;
	etcd_txn_result_free(&res);
	return 0;
}

/* Takes over an intent of a host that is down: 1 adopted, 0 another host was first. */
static int adopt(struct etcd *c, const struct etcd_kv *kv, struct crec_intent *in,
		 const char *self, char *err, size_t errlen)
{
	snprintf(in->host, sizeof(in->host), "%s", self);
	struct sbuf v = {0};
	struct etcd_kv cur = {0};
	struct err e;
	crec_intent_write(in, &v);
	int a = sb_err(&v) ? -ENOMEM : etcd_cas(c, kv->key, kv->mod_revision, v.p, v.len, 0, &cur, &e);
	sb_free(&v);
	if (cur.key)
		etcd_kv_free(&cur);
	if (a < 0 && a != -ENOMEM)
		return fail_etcd(&e, err, errlen);
	return a;
}

bool cintent_own_stale(const char *self, uint64_t run, const struct ckey_tag *tag,
		       const char *holder)
{
	return !strcmp(holder, self) && !(!strcmp(tag->host, self) && tag->run == run);
}

int cintent_recover(struct etcd *c, const char *cluster, const char *self, uint64_t run,
		    bool own, bool others, uint64_t now, cintent_here_fn here, cintent_say_fn say,
		    cintent_bad_fn bad, void *ctx, char *err, size_t errlen)
{
	char pre[CKEY_MAX + 16];
	if (ckey_prefix(pre, CKEY_MAX, cluster) < 0)
		return -EINVAL;
	strcat(pre, "intent/");
	struct etcd_kvs all = {0};
	struct err e;
	if (etcd_range_prefix(c, pre, &all, &e))
		return fail_etcd(&e, err, errlen);
	int done = 0, r = 0;
	for (size_t i = 0; i < all.n && r >= 0; i++) {
		const struct etcd_kv *kv = &all.kv[i];
		struct ckey k;
		struct crec_intent in;
		char why[300];
		if (ckey_parse(cluster, kv->key, &k) != CK_INTENT)
			continue;
		if (crec_intent_read(kv->value, kv->value_len, &in, why, sizeof(why))) {
			if (bad)
				bad(ctx, kv->key, kv->mod_revision, why);
			continue;
		}
		char from[NAME_MAX_LEN + 1];
		snprintf(from, sizeof(from), "%s", in.host);
		bool mine = !strcmp(in.host, self), gone = false;
		/* this host's intents of its current run are launches under way (one may begin as
		 * soon as the join is in, before this first pass): only earlier runs' are cut */
		if (mine && (!own || !cintent_own_stale(self, run, &k.tag, in.host))) {
			crec_intent_free(&in);
			continue;
		}
		if (!mine && others && !(r = down_long(c, cluster, in.host, now, &gone, err, errlen)) &&
		    gone && (r = adopt(c, kv, &in, self, err, errlen)) == 1)
			mine = true;
		if (mine && r >= 0) {
			r = recover_one(c, cluster, self, &k.tag, &in, from, here, say, ctx, err,
					errlen);
			done += !r;
		}
		crec_intent_free(&in);
	}
	etcd_kvs_free(&all);
	return r < 0 ? r : done;
}
