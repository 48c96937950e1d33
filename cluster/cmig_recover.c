/* Recovery of a live migration's intent whose head died or restarted (cluster/cmig.h): by
 * which side QEMU says runs. Called by the intents' recovery (cluster/cintent.c) on the
 * publisher's thread, for an intent this host runs now (its own from before, or adopted). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster/cmig.h"
#include "cluster/crec.h"
#include "etcd/client.h"

static int etcd_fail(const struct err *e, char *err, size_t errlen)
{
	snprintf(err, errlen, "etcd: %s", e->why);
	return e->no ? -e->no : -EIO;
}

/* The intent deleted, and the claim's moving cleared if ckey is set (compared on crev). */
static int end_intent(struct etcd *c, const char *ikey, const char *ckey, int64_t crev,
		      const struct crec_claim *cl, char *err, size_t errlen)
{
	struct sbuf v = {0};
	struct crec_claim now = ckey ? *cl : (struct crec_claim){0};
	now.moving[0] = 0;
	if (ckey)
		crec_claim_write(&now, &v);
	const struct etcd_cmp cmp = {.key = ckey, .target = ETCD_MOD, .num = crev};
	const struct etcd_op ops[] = {
	    {.kind = ETCD_OP_PUT, .key = ckey, .value = v.p, .len = v.len},
	    {.kind = ETCD_OP_DELETE, .key = ikey},
	};
	struct etcd_txn_result res = {0};
	struct err e;
	int r = v.oom ? -ENOMEM
		: etcd_txn(c, &cmp, ckey ? 1 : 0, ckey ? ops : ops + 1, ckey ? 2 : 1, NULL, 0, &res,
			   &e)
		    ? etcd_fail(&e, err, errlen)
		    : res.succeeded ? 0
				    : -EAGAIN;
	if (r == -EAGAIN)
		snprintf(err, errlen, "the claim changed meanwhile: looked at again later");
	etcd_txn_result_free(&res);
	sb_free(&v);
	return r;
}

/* The run of this vmfs once it has begun a migration (0: none): its intents of this run are
 * under way, never recovered (the first recovery pass may come after the first move). Set on
 * the loop, read on the publisher's thread. */
static uint64_t run_now;

void cmig_this_run(uint64_t run) { __atomic_store_n(&run_now, run, __ATOMIC_RELAXED); }

int cmig_recover(struct etcd *c, const char *cluster, const char *self, const struct ckey_tag *tag,
		 const struct crec_intent *in, const char *from, char *line, size_t linelen,
		 char *err, size_t errlen)
{
	char ikey[CKEY_MAX + 1], ckey[CKEY_MAX + 1], okey[CKEY_MAX + 1], why[300];
	const struct crec_intent_obj *io = &in->objects[0];
	if (!strcmp(tag->host, self) && tag->run == __atomic_load_n(&run_now, __ATOMIC_RELAXED))
		return 0; /* this run's, under way */
	if (in->nobjects != 1 || ckey_intent(ikey, sizeof(ikey), cluster, tag) < 0 ||
	    ckey_claim(ckey, sizeof(ckey), cluster, in->ns, io->name) < 0)
		return -EINVAL;
	struct etcd_kv kv = {0}, ok = {0};
	bool found = false, ofound = false;
	struct err e;
	if (etcd_get(c, ckey, &kv, &found, &e))
		return etcd_fail(&e, err, errlen);
	struct crec_claim cl;
	int r = 0;
	if (!found || crec_claim_read(kv.value, kv.value_len, &cl, why, sizeof(why)) ||
	    cl.id != io->id || !strcmp(cl.host, io->host)) {
		/* nothing to settle: the claim went, or names the destination already */
		if (!(r = end_intent(c, ikey, NULL, 0, NULL, err, errlen)))
			snprintf(line, linelen,
				 "migration of %s to %s from %s: its claim is %s: intent deleted by %s",
				 io->name, io->host, from, found ? "settled already" : "gone", self);
		goto out;
	}
	if (ckey_obj(okey, sizeof(okey), cluster, cl.host, in->ns, io->id) < 0) {
		r = -EINVAL;
		goto out;
	}
	if (etcd_get(c, okey, &ok, &ofound, &e)) {
		r = etcd_fail(&e, err, errlen);
		goto out;
	}
	struct crec_obj rec = {0};
	bool runs = ofound && !crec_obj_read(ok.value, ok.value_len, &rec, why, sizeof(why)) &&
		    (rec.state == ST_RUNNING || rec.state == ST_PAUSED);
	if (ofound)
		crec_obj_free(&rec);
	if (runs) { /* the source's QEMU runs: the destination's goes when it sees the intent go */
		if (!(r = end_intent(c, ikey, ckey, kv.mod_revision, &cl, err, errlen)))
			snprintf(line, linelen,
				 "migration of %s from %s to %s (run by %s, cut): aborted by %s: QEMU "
				 "runs on %s; %s's waiting copy is removed",
				 io->name, cl.host, io->host, from, self, cl.host, io->host);
		goto out;
	}
	/* the source's QEMU ended: the guest may run on the destination (held, unlisted) or
	 * nowhere; neither is decided from here */
	snprintf(line, linelen,
		 "migration of %s from %s to %s (run by %s, cut): the source's QEMU is not running "
		 "and the destination's state is not published: left for the admin (intent %s; "
		 "see both hosts' logs of %s)",
		 io->name, cl.host, io->host, from, ikey, io->name);
out:
	if (found)
		etcd_kv_free(&kv);
	if (ofound)
		etcd_kv_free(&ok);
	return r;
}
