#include "cluster/cdrain.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/chosts.h"
#include "cluster/ckey.h"
#include "cluster/cluster.h"
#include "etcd/client.h"
#include "etcd/member.h"
#include "runtime/bgjob.h"
#include "vmfs/node.h"
#include "vmfs/vreq.h"

#define CDRAIN_TRIES 5	 /* lost races before the verb gives up (EAGAIN) */
#define CDRAIN_CHUNK 120 /* claims deleted per txn: with the compares, under ETCD_TXN_MAX */

enum cdverb { CD_DRAIN, CD_UNDRAIN, CD_FORGET };

struct cdjob {
	struct bgjob bg; /* first */
	enum cdverb verb;
	struct etcd_opts o;
	char cluster[NAME_MAX_LEN + 1], self[NAME_MAX_LEN + 1], host[NAME_MAX_LEN + 1];
	int r;
	struct rbatch *b; /* why: the answer, or the refusal's reason */
};

bool cdrain_verb(const char *word)
{
	return !strcmp(word, "drain") || !strcmp(word, "undrain") || !strcmp(word, "forget");
}

bool cdrain_apply(struct crec_cap *cap, bool drain, uint64_t now)
{
	if (drain == (cap->drain != 0))
		return false;
	cap->drain = drain ? (now ? now : 1) : 0;
	return true;
}

void cdrain_etcdctl_line(const char *host_prefix, struct sbuf *out)
{
	sb_printf(out, "etcdctl del --prefix %s\n", host_prefix);
}

static int say(struct cdjob *j, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(struct cdjob *j, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->b->why, sizeof(j->b->why), fmt, ap);
	va_end(ap);
	j->r = r;
	return r;
}

static int drain(struct cdjob *j, struct etcd *c)
{
	bool on = j->verb == CD_DRAIN;
	char key[CKEY_MAX + 1], ts[32];
	ckey_cap(key, sizeof(key), j->cluster, j->host);
	for (int t = 0; t < CDRAIN_TRIES; t++) {
		struct etcd_kv kv = {0};
		struct err e;
		bool found = false;
		struct crec_cap cap = {0};
		char why[256];
		if (etcd_get(c, key, &kv, &found, &e))
			return say(j, -e.no, "%s %s: etcd: %.900s", on ? "drain" : "undrain",
				   j->host, e.why);
		int64_t rev = found ? kv.mod_revision : 0;
		int bad = found ? crec_cap_read(kv.value, kv.value_len, &cap, why, sizeof(why)) : 0;
		etcd_kv_free(&kv);
		if (bad)
			return say(j, -EIO, "%s %s: %s (revision %lld) is damaged: %s",
				   on ? "drain" : "undrain", j->host, key, (long long)rev, why);
		if (!cdrain_apply(&cap, on, (uint64_t)time(NULL))) {
			fmt_time((time_t)cap.drain, ts);
			if (on)
				return say(j, 0, "ok: %s is draining already, since %s\n", j->host,
					   ts);
			return say(j, 0, "ok: %s was not draining\n", j->host);
		}
		struct sbuf val = {0};
		crec_cap_write(&cap, &val);
		struct etcd_kv cur = {0};
		int won = val.oom ? -ENOMEM : etcd_cas(c, key, rev, val.p, val.len, 0, &cur, &e);
		sb_free(&val);
		etcd_kv_free(&cur);
		if (won < 0)
			return say(j, won, "%s %s: etcd: %.900s", on ? "drain" : "undrain", j->host,
				   won == -ENOMEM ? "out of memory" : e.why);
		if (won) {
			fmt_time((time_t)cap.drain, ts);
			if (on)
				return say(j, 0,
					   "ok: %s draining since %s: it takes nothing new, "
					   "its objects stay\n",
					   j->host, ts);
			return say(j, 0, "ok: %s undrained: it takes objects again\n", j->host);
		}
		/* a launch reserved on it meanwhile: read again */
	}
	return say(j, -EAGAIN,
		   "%s %s: %s changed %d times meanwhile (launches placing there): try again",
		   on ? "drain" : "undrain", j->host, key, CDRAIN_TRIES);
}

/* The claims naming host, from a range of P/name/: keys and mod_revisions in *keys. */
static int claims_of(struct cdjob *j, struct etcd *c, struct etcd_kvs *all, size_t **pick,
		     size_t *n, struct err *e)
{
	char prefix[CKEY_MAX + 1];
	ckey_prefix(prefix, sizeof(prefix), j->cluster);
	snprintf(prefix + strlen(prefix), sizeof(prefix) - strlen(prefix), "name/");
	int r = etcd_range_prefix(c, prefix, all, e);
	if (r)
		return r;
	*n = 0;
	*pick = calloc(all->n ? all->n : 1, sizeof(**pick));
	if (!*pick)
		return err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < all->n; i++) {
		struct ckey k;
		struct crec_claim cl;
		char why[256];
		if (ckey_parse(j->cluster, all->kv[i].key, &k) != CK_CLAIM ||
		    crec_claim_read(all->kv[i].value, all->kv[i].value_len, &cl, why, sizeof(why)))
			continue; /* not a claim anyone reads: not this host's either */
		if (!strcmp(cl.host, j->host))
			(*pick)[(*n)++] = i;
	}
	return 0;
}

/* One try: 1 done, 0 lost a race (read again), -errno said. */
static int forget_try(struct cdjob *j, struct etcd *c, size_t *deleted)
{
	char k_alive[CKEY_MAX + 1], k_cap[CKEY_MAX + 1], k_forg[CKEY_MAX + 1];
	ckey_alive(k_alive, sizeof(k_alive), j->cluster, j->host);
	ckey_cap(k_cap, sizeof(k_cap), j->cluster, j->host);
	ckey_forgotten(k_forg, sizeof(k_forg), j->cluster, j->host);
	struct etcd_kvs all = {0};
	size_t *pick = NULL, n = 0;
	struct err e;
	int r = claims_of(j, c, &all, &pick, &n, &e);
	if (r) {
		say(j, r, "forget %s: etcd: %.900s", j->host, e.why);
		goto out;
	}
	struct crec_forgotten f = {.since = (uint64_t)time(NULL)};
	snprintf(f.by, sizeof(f.by), "%s", j->self);
	struct sbuf fv = {0};
	crec_forgotten_write(&f, &fv);
	struct etcd_cmp cmp[CDRAIN_CHUNK + 1];
	struct etcd_op ops[CDRAIN_CHUNK + 2];
	size_t at = 0;
	bool first = true;
	r = 1;
	while (r == 1 && (first || at < n)) {
		size_t nc = 0, no = 0;
		cmp[nc++] = (struct etcd_cmp){.key = k_alive, .target = ETCD_VERSION};
		if (first) {
			ops[no++] = (struct etcd_op){
			    .kind = ETCD_OP_PUT, .key = k_forg, .value = fv.p, .len = fv.len};
			ops[no++] = (struct etcd_op){.kind = ETCD_OP_DELETE, .key = k_cap};
		}
		for (; at < n && nc <= CDRAIN_CHUNK; at++) {
			const struct etcd_kv *kv = &all.kv[pick[at]];
			cmp[nc++] = (struct etcd_cmp){
			    .key = kv->key, .target = ETCD_MOD, .num = kv->mod_revision};
			ops[no++] = (struct etcd_op){.kind = ETCD_OP_DELETE, .key = kv->key};
		}
		struct etcd_txn_result res = {0};
		if (fv.oom)
			r = err_set(&e, ENOMEM, "out of memory");
		else
			r = etcd_txn(c, cmp, nc, ops, no, NULL, 0, &res, &e);
		if (r)
			say(j, r, "forget %s: etcd: %.900s", j->host, e.why);
		else if (res.succeeded)
			r = 1, *deleted += nc - 1;
		etcd_txn_result_free(&res);
		first = false;
	}
	sb_free(&fv);
out:
	free(pick);
	etcd_kvs_free(&all);
	return r;
}

static int forget(struct cdjob *j, struct etcd *c)
{
	char k_alive[CKEY_MAX + 1], area[CKEY_MAX + 1];
	ckey_alive(k_alive, sizeof(k_alive), j->cluster, j->host);
	ckey_host_prefix(area, sizeof(area), j->cluster, j->host);
	size_t deleted = 0;
	for (int t = 0; t < CDRAIN_TRIES; t++) {
		struct etcd_kv kv = {0};
		struct err e;
		bool up = false;
		if (etcd_get(c, k_alive, &kv, &up, &e))
			return say(j, -e.no, "forget %s: etcd: %.900s", j->host, e.why);
		etcd_kv_free(&kv);
		if (up)
			return say(j, -EBUSY,
				   "forget %s: %s is up (%s exists): forget is for a "
				   "host that will never return; stop its vmfs first",
				   j->host, j->host, k_alive);
		int r = forget_try(j, c, &deleted);
		if (r < 0)
			return r;
		if (r) {
			struct sbuf s = {0};
			sb_printf(&s,
				  "ok: forgot %s: %zu claims and its reservation deleted; every "
				  "host ignores its records now\n"
				  "its area stays, the admin's to delete: ",
				  j->host, deleted);
			cdrain_etcdctl_line(area, &s);
			say(j, 0, "%s",
			    s.oom ? "ok: forgot it (out of memory for the words)\n" : s.p);
			sb_free(&s);
			return 0;
		}
	}
	return say(j, -EAGAIN, "forget %s: its claims changed %d times meanwhile: try again",
		   j->host, CDRAIN_TRIES);
}

static void work(struct bgjob *bg)
{
	struct cdjob *j = (struct cdjob *)bg;
	struct etcd *c;
	struct err e;
	if (etcd_open(&j->o, &c, &e)) {
		say(j, -e.no, "%s: etcd: %.900s", j->host, e.why);
	} else {
		if (j->verb == CD_FORGET)
			forget(j, c);
		else
			drain(j, c);
		etcd_close(c);
	}
}

static void done(struct bgjob *bg)
{
	struct cdjob *j = (struct cdjob *)bg;
	j->b->err = j->r;
	j->b->pending = 0;
	waitq_wake_all(&j->b->wq);
	rbatch_put(j->b);
	free(j);
}

/* The cache's word first: refusals that need no etcd. */
static int check(struct vmfs *v, enum cdverb verb, const char *host, char *err, size_t errlen)
{
	struct chosts *ch = v->chosts;
	const char *word = verb == CD_DRAIN ? "drain" : verb == CD_UNDRAIN ? "undrain" : "forget";
	char why[256];
	if (verb == CD_FORGET && !strcmp(host, ch->self)) {
		snprintf(err, errlen, "forget %s: that is this host: forget another, from another",
			 host);
		return -EINVAL;
	}
	if (chosts_forgotten(ch, host, why, sizeof(why))) {
		snprintf(err, errlen, "%s %s: %s", word, host, why);
		return verb == CD_FORGET ? -EALREADY : -ENOENT;
	}
	if (!ch->synced) {
		snprintf(err, errlen, "%s %s: this host has not read the cluster yet: try again",
			 word, host);
		return -EAGAIN;
	}
	if (strcmp(host, ch->self) && !chosts_find(ch, host)) {
		snprintf(err, errlen, "%s %s: no such host in cluster %s (hosts/ lists them)", word,
			 host, ch->cluster);
		return -ENOENT;
	}
	if (verb == CD_FORGET && chosts_up(ch, host)) {
		snprintf(err, errlen,
			 "forget %s: %s is up: forget is for a host that will never return; stop "
			 "its vmfs first",
			 host, host);
		return -EBUSY;
	}
	return 0;
}

int cdrain_start(struct vmfs *v, char **argv, struct vwait *wait, char *err, size_t errlen)
{
	enum cdverb verb = !strcmp(argv[0], "drain")	 ? CD_DRAIN
			   : !strcmp(argv[0], "undrain") ? CD_UNDRAIN
							 : CD_FORGET;
	int r = check(v, verb, argv[1], err, errlen);
	if (r)
		return r;
	struct cdjob *j = calloc(1, sizeof(*j));
	if (!j || !(j->b = rbatch_new())) {
		free(j);
		return -ENOMEM;
	}
	j->verb = verb;
	j->o = member_etcd_opts(v->conf, 0);
	snprintf(j->cluster, sizeof(j->cluster), "%s", v->chosts->cluster);
	snprintf(j->self, sizeof(j->self), "%s", v->chosts->self);
	snprintf(j->host, sizeof(j->host), "%s", argv[1]);
	if ((r = bgjob_start(&j->bg, &v->m, work, done))) {
		rbatch_put(j->b);
		free(j);
		snprintf(err, errlen, "%s: no thread for it: %s", argv[0], strerror(-r));
		return r;
	}
	j->b->pending = 1;
	j->b->refs++; /* the write's */
	wait->rbatch = j->b;
	wait->rverb = NULL;
	return -EINPROGRESS;
}
