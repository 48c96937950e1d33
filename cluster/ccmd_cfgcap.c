/* A config change of vcpus or memory moves its host's reservation (docs/cluster-design.md,
 * "Launch and placement": reservations follow the objects): by CAS on P/cap/SELF, on the
 * commands' worker (etcd's calls block), before the change is applied; refused ENOSPC, with
 * the figures, when it would take more than the host accepts (cpus x cpu_ratio, memory x
 * mem_ratio, from its own P/h/SELF/info). A change refused afterwards gives it back.
 *
 * The same CAS marks the object in P/cap/SELF's cfg-pending with what it reserves now, so
 * that a reconcile reading before the record shows the change sums by the mark and does not
 * undo the move (cluster/creconcile.h). The mark goes in the CAS that gives the reservation
 * back, or, once the record showed the change, in one of its own; a record not seen within the
 * answer's wait keeps it (it then says what the record will say: harmless, dropped when the
 * list is next written). The same CAS serves a write through this host's own tree
 * (cluster/cfgcap.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/ccmd_int.h"
#include "cluster/cfgcap.h"
#include "cluster/chosts.h"
#include "cluster/creconcile.h"
#include "vmfs/node.h"

#define CAS_TRIES 5

/* This host's capacity from its own info: false with why if it cannot be read. */
static bool capacity(const struct cfgcap_host *c, uint64_t *vcpus, uint64_t *memory, char *why,
		     size_t wl)
{
	char key[CKEY_MAX + 1];
	struct etcd_kv kv = {0};
	struct crec_hinfo in;
	bool found = false;
	struct err e;
	char rw[256];
	if (ckey_hinfo(key, sizeof(key), c->cluster, c->self) < 0) {
		snprintf(why, wl, "%s's info key is too long", c->self);
		return false;
	}
	if (etcd_get(c->w, key, &kv, &found, &e)) {
		snprintf(why, wl, "cannot read %s's capacity: %.200s", c->self, e.why);
		return false;
	}
	bool ok = found && !crec_hinfo_read(kv.value, kv.value_len, &in, rw, sizeof(rw));
	etcd_kv_free(&kv);
	if (!ok) {
		snprintf(why, wl, "%s has no readable info record: its capacity is unknown",
			 c->self);
		return false;
	}
	*vcpus = in.cpus * in.cpu_ratio / 1000;
	*memory = (uint64_t)((long double)in.memory * in.mem_ratio / 1000);
	return true;
}

static uint64_t moved(uint64_t have, int64_t by)
{
	if (by < 0)
		return have < (uint64_t)-by ? 0 : have - (uint64_t)-by;
	return have + (uint64_t)by;
}

enum mark { MARK_SET, MARK_DROP };

/* k's figure (vcpus or memory) of its object set in cap's cfg-pending, or dropped from it (the
 * entry with its last figure); entries of another run of this host (before a restart: stale)
 * go. 0 (*changed if the list moved), or -ENOSPC: full. */
static int mark(const struct cfgcap_host *c, const struct cfgcap *k, struct crec_cap *cap,
		enum mark mk, bool *changed)
{
	struct crec_pend p[CRSUM_PEND_MAX];
	char rw[128];
	uint64_t run = c->run;
	int n = cap->cfg_run == run ? crec_cap_pending(cap, p, CRSUM_PEND_MAX, rw, sizeof(rw)) : 0;
	if (n < 0)
		n = 0;
	char was[CREC_PENDING_LEN];
	snprintf(was, sizeof(was), "%s", cap->cfg_pending);
	int at = -1;
	for (int i = 0; i < n && at < 0; i++)
		if (p[i].nsid == k->nsid && p[i].id == k->id)
			at = i;
	if (mk == MARK_SET) { /* the figure this change sets; another change's stays */
		if (at < 0 && n == CRSUM_PEND_MAX)
			return -ENOSPC;
		if (at < 0)
			p[at = n++] = (struct crec_pend){.nsid = k->nsid, .id = k->id};
		if (k->dvcpus) {
			p[at].vcpus = k->vcpus;
			p[at].has_vcpus = true;
		} else {
			p[at].memory = k->memory;
			p[at].has_memory = true;
		}
	} else if (at >= 0) { /* its figure, unless a later change set another since */
		if (k->dvcpus && p[at].vcpus == k->vcpus)
			p[at].has_vcpus = false;
		if (k->dmemory && p[at].memory == k->memory)
			p[at].has_memory = false;
		if (!p[at].has_vcpus && !p[at].has_memory) {
			memmove(&p[at], &p[at + 1], (n - at - 1) * sizeof(*p));
			n--;
		}
	}
	if (crec_cap_set_pending(cap, p, n))
		return -ENOSPC;
	if (n)
		cap->cfg_run = run;
	*changed = strcmp(was, cap->cfg_pending) != 0;
	return 0;
}

/* Moves the reservation by dv vcpus and dm bytes, and sets or drops k's mark: 0, or a positive
 * errno with why. */
static int move(const struct cfgcap_host *c, const struct cfgcap *k, int64_t dv, int64_t dm,
		enum mark mk, char *why, size_t wl)
{
	char key[CKEY_MAX + 1];
	if (ckey_cap(key, sizeof(key), c->cluster, c->self) < 0) {
		snprintf(why, wl, "the reservation's key is too long");
		return ENAMETOOLONG;
	}
	uint64_t lv = 0, lm = 0;
	if ((dv > 0 || dm > 0) && !capacity(c, &lv, &lm, why, wl))
		return EAGAIN;
	for (int t = 0; t < CAS_TRIES; t++) {
		struct etcd_kv kv = {0};
		bool found = false;
		struct err e;
		struct crec_cap cap = {0};
		char rw[256];
		if (etcd_get(c->w, key, &kv, &found, &e)) {
			snprintf(why, wl, "cannot read %.120s: %.200s", key, e.why);
			return EAGAIN;
		}
		if (found && crec_cap_read(kv.value, kv.value_len, &cap, rw, sizeof(rw))) {
			snprintf(why, wl, "%.120s: %.200s", key, rw);
			etcd_kv_free(&kv);
			return EIO;
		}
		int64_t rev = found ? kv.mod_revision : 0;
		etcd_kv_free(&kv);
		struct crec_cap now = cap;
		now.vcpus = moved(cap.vcpus, dv);
		now.memory = moved(cap.memory, dm);
		bool marked = false;
		if (mark(c, k, &now, mk, &marked)) {
			snprintf(why, wl,
				 "%s lists as many config changes under way as it holds: try again "
				 "once they are published",
				 key);
			return EAGAIN;
		}
		if (!dv && !dm && !marked)
			return 0; /* (the mark was gone already) */
		if ((dv > 0 && now.vcpus > lv) || (dm > 0 && now.memory > lm)) {
			snprintf(why, wl,
				 "%s holds %" PRIu64 " vcpus and %" PRIu64 " bytes of memory for its "
				 "objects; it accepts %" PRIu64 " vcpus (cpus x cpu_ratio) and %" PRIu64
				 " bytes (memory x mem_ratio): %+" PRId64 " vcpus and %+" PRId64
				 " bytes do not fit",
				 c->self, cap.vcpus, cap.memory, lv, lm, dv, dm);
			return ENOSPC;
		}
		struct sbuf v = {0};
		crec_cap_write(&now, &v);
		int r = v.oom ? -ENOMEM : etcd_cas(c->w, key, rev, v.p, v.len, 0, NULL, &e);
		sb_free(&v);
		if (r == 1)
			return 0;
		if (r < 0) {
			snprintf(why, wl, "cannot write %.120s: %.200s", key,
				 r == -ENOMEM ? "out of memory" : e.why);
			return EAGAIN;
		}
	}
	snprintf(why, wl, "%s changed under each of %d tries: the cluster is busy placing", key,
		 CAS_TRIES);
	return EAGAIN;
}

int cfgcap_reserve(const struct cfgcap_host *h, const struct cfgcap *k, char *why, size_t wl)
{
	return move(h, k, k->dvcpus, k->dmemory, MARK_SET, why, wl);
}

int cfgcap_settle(const struct cfgcap_host *h, const struct cfgcap *k, bool back, char *why,
		  size_t wl)
{
	return move(h, k, back ? -k->dvcpus : 0, back ? -k->dmemory : 0, MARK_DROP, why, wl);
}

/* vcpus, or memory in bytes, of a value; -1 if it is not one (the apply refuses it). */
static int64_t figure(int param, const char *value)
{
	uint64_t n = 0;
	char e[128], *end;
	if (!strcmp(params[param].name, "vcpus")) {
		n = strtoull(value, &end, 10);
		return *value && !*end && n < 1u << 20 ? (int64_t)n : -1;
	}
	return value_size(value, &n, e, sizeof(e)) || n >> 50 ? -1 : (int64_t)n;
}

bool cfgcap_of(const struct object *o, int param, const char *value, struct cfgcap *k)
{
	const char *name = params[param].name;
	k->dvcpus = k->dmemory = 0;
	if ((strcmp(name, "vcpus") && strcmp(name, "memory")) || o->state == ST_RUNNING ||
	    o->state == ST_PAUSED)
		return false;
	int64_t was = figure(param, obj_param(o, param)),
		now = figure(param, *value ? value : params[param].def);
	if (was < 0 || now < 0 || was == now)
		return false;
	*(strcmp(name, "vcpus") ? &k->dmemory : &k->dvcpus) = now - was;
	/* what its record will size it at (cluster/creconcile.h), for the reservation's mark */
	struct crec_obj rec = {0};
	int iv = param_index("vcpus"), im = param_index("memory");
	rec.cfg[iv] = o->cfg[iv];
	rec.cfg[im] = o->cfg[im];
	rec.cfg[param] = *value ? (char *)value : NULL;
	crsize_of(&rec, &k->vcpus, &k->memory);
	return true;
}

static struct cfgcap of_job(const struct mjob *j)
{
	return (struct cfgcap){j->cmd.ns, j->cmd.ids[0], j->cf.dvcpus, j->cf.dmemory,
			       j->cf.vcpus, j->cf.memory};
}

static struct cfgcap_host host_of(const struct ccmd *c)
{
	return (struct cfgcap_host){c->w, c->ch->cluster, c->ch->self, c->v->m.run};
}

void cconfig_reserve(struct ccmd *c, struct mjob *j)
{
	if (j->pre_err || (!j->cf.dvcpus && !j->cf.dmemory))
		return;
	char why[HOSTANS_REASON_MAX - 64];
	struct cfgcap_host h = host_of(c);
	struct cfgcap k = of_job(j);
	int r = cfgcap_reserve(&h, &k, why, sizeof(why));
	if (!r) {
		j->cf.reserved = true;
		return;
	}
	j->pre_err = r;
	snprintf(j->pre_reason, sizeof(j->pre_reason), "%.64s/config/%.16s: %.400s", j->names[0],
		 params[j->cf.param].name, why);
}

void cconfig_settle(struct ccmd *c, struct mjob *j)
{
	if (!j->cf.reserved || (!j->cf.give_back && !j->cf.shown))
		return;
	j->cf.reserved = false;
	bool back = j->cf.give_back;
	char why[HOSTANS_REASON_MAX];
	struct cfgcap_host h = host_of(c);
	struct cfgcap k = of_job(j);
	if (cfgcap_settle(&h, &k, back, why, sizeof(why)))
		threadlog_say(&c->tl,
			      back ? "%s: config/%s was refused, and its reservation not given back "
				     "(%s): a vmfs corrects it from the claims at its start"
				   : "%s: config/%s is published, but its mark in this host's "
				     "reservation stays (%s): harmless, it says what the record says",
			      j->key, params[j->cf.param].name, why);
}
