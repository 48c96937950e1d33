/* A live migration's commit (cluster/cmig.h): one transaction moves the claim to the
 * destination, both reservations and the namespace's hosts, and deletes the intent. Run by the
 * head, or by the destination itself when the head died after the migration completed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cmig.h"
#include "cluster/crec.h"
#include "etcd/client.h"

static int fail(const struct err *e, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: etcd: %.900s", what, e->why);
	return e->no ? -e->no : -EIO;
}

static int claim_of(struct etcd *c, const struct cmig_commit *m, char *key, struct crec_claim *cl,
		    int64_t *rev, char *err, size_t errlen)
{
	struct etcd_kv kv = {0};
	bool found = false;
	struct err e;
	char why[300];
	if (ckey_claim(key, CKEY_MAX + 1, m->cluster, m->nsid, m->name) < 0)
		return -EINVAL;
	if (etcd_get(c, key, &kv, &found, &e))
		return fail(&e, "the claim", err, errlen);
	int r = 0;
	if (!found) {
		snprintf(err, errlen, "%s is no longer claimed in the cluster", m->name);
		r = -ENOENT;
	} else if (crec_claim_read(kv.value, kv.value_len, cl, why, sizeof(why))) {
		snprintf(err, errlen, "%s's claim cannot be read: %s", m->name, why);
		r = -EINVAL;
	} else
		*rev = kv.mod_revision;
	if (found)
		etcd_kv_free(&kv);
	return r;
}

static int read_kv(struct etcd *c, const char *key, struct etcd_kv *kv, bool *found, struct err *e)
{
	memset(kv, 0, sizeof(*kv));
	return etcd_get(c, key, kv, found, e);
}

/* 1 done, 0 a compare failed (read again and tried again by the caller), -errno with err. */
int cmig_commit(struct etcd *c, const struct cmig_commit *m, char *err, size_t errlen)
{
	char ckey[CKEY_MAX + 1], ikey[CKEY_MAX + 1], skey[CKEY_MAX + 1], dkey[CKEY_MAX + 1],
	    nkey[CKEY_MAX + 1], why[300];
	struct crec_claim cl;
	int64_t rev = 0;
	int r = claim_of(c, m, ckey, &cl, &rev, err, errlen);
	if (r)
		return r;
	if (cl.id != m->id || strcmp(cl.host, m->src)) {
		snprintf(err, errlen, "the commit: %s's claim names %s now, not %s", m->name, cl.host,
			 m->src);
		return -ESTALE;
	}
	if (ckey_intent(ikey, sizeof(ikey), m->cluster, &m->tag) < 0 ||
	    ckey_cap(skey, sizeof(skey), m->cluster, m->src) < 0 ||
	    ckey_cap(dkey, sizeof(dkey), m->cluster, m->dst) < 0 ||
	    ckey_ns(nkey, sizeof(nkey), m->cluster, m->nsname) < 0)
		return -EINVAL;
	struct etcd_kv sk, dk, nk;
	bool sf = false, df = false, nf = false;
	struct err e;
	if (read_kv(c, skey, &sk, &sf, &e) || read_kv(c, dkey, &dk, &df, &e) ||
	    read_kv(c, nkey, &nk, &nf, &e)) {
		r = fail(&e, "the commit's reads", err, errlen);
		goto out;
	}
	struct crec_cap scap = {0}, dcap = {0};
	struct crec_ns ns = {0};
	if ((sf && crec_cap_read(sk.value, sk.value_len, &scap, why, sizeof(why))) ||
	    (df && crec_cap_read(dk.value, dk.value_len, &dcap, why, sizeof(why))) || !nf ||
	    crec_ns_read(nk.value, nk.value_len, &ns, why, sizeof(why))) {
		snprintf(err, errlen, "the commit: a reservation or ns/%s cannot be read%s%s",
			 m->nsname, nf ? ": " : "", nf ? why : "");
		r = -EINVAL;
		goto out;
	}
	/* what the source held goes with the VM (never below zero: a sum corrected at starts) */
	scap.vcpus -= scap.vcpus < m->vcpus ? scap.vcpus : m->vcpus;
	scap.memory -= scap.memory < m->memory ? scap.memory : m->memory;
	scap.objects -= scap.objects ? 1 : 0;
	dcap.vcpus += m->vcpus;
	dcap.memory += m->memory;
	dcap.objects++;
	bool listed = false;
	for (size_t i = 0; i < ns.nhosts; i++)
		listed |= !strcmp(ns.hosts[i], m->dst);
	char(*hosts)[NAME_MAX_LEN + 1] = listed ? NULL : calloc(ns.nhosts + 1, sizeof(*hosts));
	if (!listed && hosts) {
		memcpy(hosts, ns.hosts, ns.nhosts * sizeof(*hosts));
		snprintf(hosts[ns.nhosts], sizeof(*hosts), "%s", m->dst);
		free(ns.hosts);
		ns.hosts = hosts;
		ns.nhosts++;
	}
	snprintf(cl.host, sizeof(cl.host), "%s", m->dst);
	cl.moving[0] = 0;
	struct sbuf cv = {0}, sv = {0}, dv = {0}, nv = {0};
	crec_claim_write(&cl, &cv);
	crec_cap_write(&scap, &sv);
	crec_cap_write(&dcap, &dv);
	crec_ns_write(&ns, &nv);
	const struct etcd_cmp cmp[] = {
	    {.key = ckey, .target = ETCD_MOD, .num = rev},
	    {.key = ikey, .target = ETCD_VERSION, .result = ETCD_GREATER, .num = 0},
	    {.key = skey, .target = ETCD_MOD, .num = sf ? sk.mod_revision : 0},
	    {.key = dkey, .target = ETCD_MOD, .num = df ? dk.mod_revision : 0},
	    {.key = nkey, .target = ETCD_MOD, .num = nk.mod_revision},
	};
	/* the claim first: a member that sees the intent go reads the claim as it is now */
	const struct etcd_op ops[] = {
	    {.kind = ETCD_OP_PUT, .key = ckey, .value = cv.p, .len = cv.len},
	    {.kind = ETCD_OP_PUT, .key = skey, .value = sv.p, .len = sv.len},
	    {.kind = ETCD_OP_PUT, .key = dkey, .value = dv.p, .len = dv.len},
	    {.kind = ETCD_OP_PUT, .key = nkey, .value = nv.p, .len = nv.len},
	    {.kind = ETCD_OP_DELETE, .key = ikey},
	};
	struct etcd_txn_result res = {0};
	if (cv.oom || sv.oom || dv.oom || nv.oom || (!listed && !hosts))
		r = -ENOMEM;
	else if (etcd_txn(c, cmp, 5, ops, 5, NULL, 0, &res, &e))
		r = fail(&e, "the commit", err, errlen);
	else
		r = res.succeeded;
	etcd_txn_result_free(&res);
	sb_free(&cv);
	sb_free(&sv);
	sb_free(&dv);
	sb_free(&nv);
	crec_ns_free(&ns);
out:
	if (sf)
		etcd_kv_free(&sk);
	if (df)
		etcd_kv_free(&dk);
	if (nf)
		etcd_kv_free(&nk);
	return r;
}

