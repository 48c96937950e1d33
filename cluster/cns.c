/* Cluster namespaces and claims (cluster/cpub_int.h): what the publisher's thread does so that
 * each local namespace and object has its cluster id, and stops having one when it goes. The
 * transactions are the design's ("Names and ids"): a namespace by P/ns/NAME absent and the
 * counter P/next-ns-id unchanged; objects by their P/name/NSID/NAME absent and P/ns/NAME
 * unchanged (its next-id hands out their ids), in chunks within etcd's 128 operations. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cmove.h"
#include "cluster/cpub.h"
#include "cluster/cpub_int.h"
#include "cluster/creconcile.h"
#include "etcd/client.h"
#include "vmfs/node.h"

#define TRIES 5           /* a transaction that lost a race is made again this often */
#define CLAIM_CHUNK 120   /* objects a claim transaction takes (one compare and one put each) */

static int obj_pos_cmp(const struct pobj *o, uint64_t lns, uint64_t local)
{
	if (o->lns != lns)
		return o->lns < lns ? -1 : 1;
	return o->local < local ? -1 : o->local > local;
}

static size_t obj_pos(const struct cpub *p, uint64_t lns, uint64_t local)
{
	size_t lo = 0, hi = p->nobjs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (obj_pos_cmp(&p->objs[mid], lns, local) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct pobj *cpub_obj(struct cpub *p, uint64_t lns, uint64_t local)
{
	size_t i = obj_pos(p, lns, local);
	return i < p->nobjs && !obj_pos_cmp(&p->objs[i], lns, local) ? &p->objs[i] : NULL;
}

int cpub_obj_add(struct cpub *p, uint64_t lns, uint64_t local, const char *name,
		 struct pobj **out)
{
	size_t i = obj_pos(p, lns, local);
	if (!(i < p->nobjs && !obj_pos_cmp(&p->objs[i], lns, local))) {
		struct pobj *v = realloc(p->objs, (p->nobjs + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->objs = v;
		memmove(&v[i + 1], &v[i], (p->nobjs - i) * sizeof(*v));
		v[i] = (struct pobj){.lns = lns, .local = local};
		const struct ckey_tag *t = cidmap_tag(&p->map, lns, local);
		if (t) /* made for a launch not yet seen done (STATE/cluster/ids says) */
			v[i].intent = *t;
		p->nobjs++;
	}
	snprintf(p->objs[i].name, sizeof(p->objs[i].name), "%s", name);
	*out = &p->objs[i];
	return 0;
}

void cpub_obj_drop(struct cpub *p, uint64_t lns, uint64_t local)
{
	size_t i = obj_pos(p, lns, local);
	if (i < p->nobjs && !obj_pos_cmp(&p->objs[i], lns, local)) {
		free(p->objs[i].published);
		memmove(&p->objs[i], &p->objs[i + 1], (p->nobjs - i - 1) * sizeof(*p->objs));
		p->nobjs--;
	}
}

static const struct psnap_obj *snap_find(const struct psnap *s, uint64_t lns, uint64_t local)
{
	size_t lo = 0, hi = s->nobj;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct psnap_obj *o = &s->obj[mid];
		int c = o->lns != lns ? (o->lns < lns ? -1 : 1)
				      : (o->local < local ? -1 : o->local > local);
		if (!c)
			return o;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool snap_has_ns(const struct psnap *s, uint64_t lns)
{
	for (size_t i = 0; i < s->nns; i++)
		if (s->ns[i].local == lns)
			return true;
	return false;
}

static int save(struct cpub *p, bool sync, struct err *e)
{
	int r = cidmap_save(p->statefd, &p->map, sync);
	if (!r)
		p->map_unsynced = !sync;
	return r ? err_set(e, -r, "cannot write STATE/cluster/" CIDMAP_FILE ": %s", strerror(-r)) : 0;
}

/* r, or the map's save's failure when r is 0 and the map changed (written at once, synced
 * if sync) */
static int saved(struct cpub *p, bool dirty, bool sync, int r, struct err *e)
{
	struct err se;
	int sr = dirty ? save(p, sync, &se) : 0;
	if (sr && !r) {
		*e = se;
		r = sr;
	}
	return r;
}

static int txn(struct cpub *p, const struct etcd_cmp *cmp, size_t ncmp, const struct etcd_op *ok,
	       size_t nok, const struct etcd_op *fail, size_t nfail, struct etcd_txn_result *res,
	       struct err *e)
{
	*res = (struct etcd_txn_result){0};
	return etcd_txn(p->c, cmp, ncmp, ok, nok, fail, nfail, res, e);
}

/* This host's P/cap/H as it is now: *rev 0 when absent (nothing to give back, nothing to add
 * to: the start-time sum makes it). -EBADMSG (said) when it cannot be read or holds keys this
 * vmfs does not know: left alone. */
static int my_cap(struct cpub *p, char *key, struct crec_cap *cap, int64_t *rev, struct err *e)
{
	if (ckey_cap(key, CKEY_MAX + 1, p->cluster, p->host) < 0)
		return err_set(e, EINVAL, "host %s: no key", p->host);
	struct etcd_kv kv;
	bool found;
	int r = etcd_get(p->c, key, &kv, &found, e);
	*cap = (struct crec_cap){0};
	*rev = 0;
	if (r || !found)
		return r;
	char why[300];
	*rev = kv.mod_revision;
	r = crec_cap_read(kv.value, kv.value_len, cap, why, sizeof(why));
	etcd_kv_free(&kv);
	if (!r && cap->unknown)
		snprintf(why, sizeof(why), "keys this vmfs does not know (a newer vmfs wrote it)");
	return r || cap->unknown ? err_set(e, EBADMSG, "%s: %s", key, why) : 0;
}

/* The claims of one object that went: its record always; its claim if it is still this
 * host's with this id (its name known: it was seen in this run or read back), with its
 * reservation given back in the same txn (a flush, local or by a command, ends here). */
static int unclaim(struct cpub *p, const struct cidmap_obj *mo, struct err *e)
{
	uint64_t cns = cidmap_ns(&p->map, mo->lns);
	char rkey[CKEY_MAX + 1], ckey[CKEY_MAX + 1], capkey[CKEY_MAX + 1];
	if (ckey_obj(rkey, sizeof(rkey), p->cluster, p->host, cns, mo->cid) < 0)
		return err_set(e, EINVAL, "no key for object %llu", (unsigned long long)mo->cid);
	const struct pobj *po = cpub_obj(p, mo->lns, mo->local);
	if (!po || ckey_claim(ckey, sizeof(ckey), p->cluster, cns, po->name) < 0) {
		cpub_say(p, mo->lns,
			 "object %llu of cluster namespace %llu is gone here; its name is not known, so its claim is left",
			 (unsigned long long)mo->cid, (unsigned long long)cns);
		return etcd_delete(p->c, rkey, false, NULL, e);
	}
	for (int t = 0; t < TRIES; t++) {
		struct etcd_kv kv = {0};
		bool found = false;
		int r = etcd_get(p->c, ckey, &kv, &found, e);
		if (r)
			return r;
		struct crec_claim c;
		char why[300];
		bool ours = found && !crec_claim_read(kv.value, kv.value_len, &c, why, sizeof(why)) &&
			    !strcmp(c.host, p->host) && c.id == mo->cid;
		int64_t crev = kv.mod_revision;
		if (found)
			etcd_kv_free(&kv);
		struct etcd_op ops[3] = {{.kind = ETCD_OP_DELETE, .key = rkey},
					 {.kind = ETCD_OP_DELETE, .key = ckey}};
		struct etcd_cmp cmp[2] = {{.key = ckey, .target = ETCD_MOD, .num = crev}};
		if (!ours)
			return etcd_delete(p->c, rkey, false, NULL, e);
		struct crec_cap cap;
		int64_t caprev;
		struct err ce;
		int cr = my_cap(p, capkey, &cap, &caprev, &ce);
		if (cr && cr != -EBADMSG) {
			*e = ce;
			return cr;
		}
		if (cr)
			cpub_say(p, mo->lns, "%s: its reservation is not given back: %s", po->name, ce.why);
		struct sbuf val = {0};
		bool give = !cr && caprev;
		if (give) {
			cap.vcpus -= cap.vcpus < po->vcpus ? cap.vcpus : po->vcpus;
			cap.memory -= cap.memory < po->memory ? cap.memory : po->memory;
			cap.objects -= cap.objects ? 1 : 0;
			crec_cap_write(&cap, &val);
			if (sb_err(&val))
				return err_set(e, ENOMEM, "out of memory");
			cmp[1] = (struct etcd_cmp){.key = capkey, .target = ETCD_MOD, .num = caprev};
			ops[2] = (struct etcd_op){.kind = ETCD_OP_PUT, .key = capkey, .value = val.p,
						  .len = val.len};
		}
		struct etcd_txn_result res;
		r = txn(p, cmp, give ? 2 : 1, ops, give ? 3 : 2, NULL, 0, &res, e);
		bool won = !r && res.succeeded;
		if (!r)
			etcd_txn_result_free(&res);
		sb_free(&val);
		if (won && !po->seen) /* not a flush: it went while vmfs was down */
			cpub_say(p, mo->lns,
				 "%s (id %llu) is claimed by this host but is not here (its state is gone): its claim is deleted%s",
				 po->name, (unsigned long long)mo->cid,
				 give ? " and its reservation given back" : "");
		if (r || won)
			return r;
		/* the claim or the reservation changed meanwhile (a launch on this host): again */
	}
	return err_set(e, EAGAIN, "%s: the cluster is busy: its claim is deleted at a later pass",
		       po->name);
}

/* Local namespace cns went. If its record names this host alone and no claim of it is
 * anywhere, the record goes too: it is one this publisher made just before an rmdir removed
 * the namespace here (the rmdir found no record yet and removed it locally), which would
 * otherwise stay in the cluster with nothing behind it (cnsjoin does not make it again).
 * Anything else (another host named, a claim, a record this vmfs cannot read) is left. */
static void drop_own_record(struct cpub *p, uint64_t cns)
{
	char ikey[CKEY_MAX + 1], nkey[CKEY_MAX + 1], pre[CKEY_MAX + 1], below[CKEY_MAX + 2], why[300];
	struct etcd_kv kv;
	bool found;
	struct err e;
	if (ckey_nsid(ikey, sizeof(ikey), p->cluster, cns) < 0 ||
	    ckey_claims_prefix(pre, sizeof(pre), p->cluster, cns) < 0 ||
	    etcd_get(p->c, ikey, &kv, &found, &e) || !found)
		return;
	struct crec_nsid ni;
	int r = crec_nsid_read(kv.value, kv.value_len, &ni, why, sizeof(why));
	etcd_kv_free(&kv);
	if (r || ckey_ns(nkey, sizeof(nkey), p->cluster, ni.name) < 0 ||
	    etcd_get(p->c, nkey, &kv, &found, &e) || !found)
		return;
	struct crec_ns n;
	r = crec_ns_read(kv.value, kv.value_len, &n, why, sizeof(why));
	int64_t rev = kv.mod_revision;
	etcd_kv_free(&kv);
	if (r)
		return;
	bool alone = n.id == cns && n.nhosts == 1 && !strcmp(n.hosts[0], p->host);
	crec_ns_free(&n);
	snprintf(below, sizeof(below), "%s/", nkey);
	if (!alone)
		return;
	struct etcd_cmp cmp[2] = {
	    {.key = nkey, .target = ETCD_MOD, .num = rev},
	    {.key = pre, .target = ETCD_VERSION, .num = 0, .prefix = true}};
	struct etcd_op del[3] = {{.kind = ETCD_OP_DELETE, .key = nkey},
				 {.kind = ETCD_OP_DELETE, .key = ikey},
				 {.kind = ETCD_OP_DELETE, .key = below, .prefix = true}};
	struct etcd_txn_result res;
	if (txn(p, cmp, 2, del, 3, NULL, 0, &res, &e))
		return;
	if (res.succeeded)
		cpub_say(p, 0,
			 "ns %s was removed here as this host made its record, which named only this host and no object: the record is deleted",
			 ni.name);
	etcd_txn_result_free(&res);
}

int cns_forget_gone(struct cpub *p, const struct psnap *s, struct err *e)
{
	int r = 0;
	bool dirty = false;
	int damaged = -1; /* STATE/damaged/ holds anything: looked at when needed */
	for (size_t i = 0; i < p->map.nobj && !r;) {
		struct cidmap_obj mo = p->map.obj[i];
		if (snap_find(s, mo.lns, mo.local)) {
			i++;
			continue;
		}
		/* gone while vmfs was down (never seen in this run): it may be what the load
		 * could not read and moved aside; nothing is deleted on unreadable state */
		struct pobj *po = cpub_obj(p, mo.lns, mo.local);
		if (po && !po->seen && damaged < 0)
			damaged = creconcile_damaged(&p->v->m, p->statefd);
		if (po && !po->seen && damaged) {
			if (!po->kept)
				cpub_say(p, mo.lns,
					 "%s is not here, but STATE/damaged/ holds state this vmfs could not read: its claim and record are kept (look there, then restart)",
					 po->name);
			po->kept = true;
			i++;
			continue;
		}
		if (!(r = unclaim(p, &mo, e))) {
			cidmap_drop_obj(&p->map, mo.lns, mo.local);
			cpub_obj_drop(p, mo.lns, mo.local);
			dirty = true;
		}
	}
	/* objects never claimed (refused) that went; not one kept above (still mapped) */
	for (size_t i = 0; i < p->nobjs;)
		if (!snap_find(s, p->objs[i].lns, p->objs[i].local) &&
		    !cidmap_obj(&p->map, p->objs[i].lns, p->objs[i].local))
			cpub_obj_drop(p, p->objs[i].lns, p->objs[i].local);
		else
			i++;
	/* a namespace removed here: its top goes; the cluster's namespace stays (other hosts
	 * may hold objects in it: an rmdir removed it from the cluster first, cnsrm_start),
	 * but for a record this host made and nothing else has (drop_own_record) */
	for (size_t i = 0; i < p->map.nns && !r;) {
		uint64_t lns = p->map.ns[i].local, cns = p->map.ns[i].cid;
		char key[CKEY_MAX + 1];
		if (snap_has_ns(s, lns) || ckey_top(key, sizeof(key), p->cluster, p->host, cns) < 0) {
			i++;
			continue;
		}
		if ((r = etcd_delete(p->c, key, false, NULL, e)))
			break;
		for (size_t t = 0; t < p->ntops; t++)
			if (p->tops[t].lns == lns) {
				free(p->tops[t].published);
				p->tops[t] = p->tops[--p->ntops];
				break;
			}
		drop_own_record(p, cns);
		cidmap_drop_ns(&p->map, lns);
		dirty = true;
	}
	return saved(p, dirty, true, r, e);
}

/* The map's objects by cluster ids, to find whose a record read back is. */
struct rev {
	uint64_t cns, cid, lns, local;
};

static int rev_cmp(const void *a, const void *b)
{
	const struct rev *x = a, *y = b;
	if (x->cns != y->cns)
		return x->cns < y->cns ? -1 : 1;
	return x->cid < y->cid ? -1 : x->cid > y->cid;
}

int cns_read_back(struct cpub *p, struct err *e)
{
	char pre[CKEY_MAX + 8];
	int n = ckey_host_prefix(pre, sizeof(pre) - 2, p->cluster, p->host);
	if (n < 0)
		return err_set(e, -n, "host %s: no key prefix", p->host);
	strcat(pre, "o/");
	struct rev *rv = p->map.nobj ? calloc(p->map.nobj, sizeof(*rv)) : NULL;
	if (p->map.nobj && !rv)
		return err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < p->map.nobj; i++)
		rv[i] = (struct rev){cidmap_ns(&p->map, p->map.obj[i].lns), p->map.obj[i].cid,
				     p->map.obj[i].lns, p->map.obj[i].local};
	if (p->map.nobj)
		qsort(rv, p->map.nobj, sizeof(*rv), rev_cmp);
	struct etcd_kvs kvs = {0};
	int r = etcd_range_prefix(p->c, pre, &kvs, e);
	for (size_t i = 0; !r && i < kvs.n; i++) {
		struct ckey k;
		if (ckey_parse(p->cluster, kvs.kv[i].key, &k) != CK_OBJ || strcmp(k.host, p->host))
			continue;
		struct rev want = {k.nsid, k.id, 0, 0};
		const struct rev *m =
			rv ? bsearch(&want, rv, p->map.nobj, sizeof(*rv), rev_cmp) : NULL;
		if (!m) {
			if (!(r = etcd_delete(p->c, kvs.kv[i].key, false, NULL, e)))
				cpub_say(p, 0, "%s: the record of no object of this host: deleted",
					 kvs.kv[i].key);
			continue;
		}
		struct crec_obj rec;
		char why[300];
		struct pobj *o;
		if (crec_obj_read(kvs.kv[i].value, kvs.kv[i].value_len, &rec, why, sizeof(why)))
			continue; /* put again whole at this pass */
		if (!cpub_obj_add(p, m->lns, m->local, rec.name, &o)) {
			if (rec.intent.host[0] && !o->intent.host[0]) /* an older vmfs's record */
				o->intent = rec.intent;
			crsize_of(&rec, &o->vcpus, &o->memory);
			o->state = rec.state;
			o->since = rec.since;
			free(o->published);
			o->published = strndup(kvs.kv[i].value, kvs.kv[i].value_len);
		}
		crec_obj_free(&rec);
	}
	etcd_kvs_free(&kvs);
	free(rv);
	return r;
}

/* P/ns/NAME's id, claiming it if the cluster has no such namespace. */
static int claim_ns(struct cpub *p, const struct psnap_ns *sn, uint64_t *cns, struct err *e)
{
	char nkey[CKEY_MAX + 1], ckey[CKEY_MAX + 1], ikey[CKEY_MAX + 1], why[300];
	if (ckey_ns(nkey, sizeof(nkey), p->cluster, sn->name) < 0 ||
	    ckey_nextns(ckey, sizeof(ckey), p->cluster) < 0)
		return err_set(e, EINVAL, "namespace %s: no key", sn->name);
	for (int t = 0; t < TRIES; t++) {
		struct etcd_kv kv;
		bool found;
		int r = etcd_get(p->c, nkey, &kv, &found, e);
		if (r)
			return r;
		if (found) {
			struct crec_ns n;
			r = crec_ns_read(kv.value, kv.value_len, &n, why, sizeof(why));
			etcd_kv_free(&kv);
			if (r)
				return err_set(e, EBADMSG, "%s: %s", nkey, why);
			*cns = n.id;
			crec_ns_free(&n);
			return 0;
		}
		uint64_t next = 1;
		int64_t rev = 0;
		if ((r = etcd_get(p->c, ckey, &kv, &found, e)))
			return r;
		if (found) {
			struct crec_nextns nx;
			r = crec_nextns_read(kv.value, kv.value_len, &nx, why, sizeof(why));
			rev = kv.mod_revision;
			etcd_kv_free(&kv);
			if (r)
				return err_set(e, EBADMSG, "%s: %s", ckey, why);
			next = nx.next;
		}
		if (next > NS_ID_MAX)
			return err_set(e, ENOSPC, "the cluster has used all its %llu namespace ids",
				       (unsigned long long)NS_ID_MAX);
		if (ckey_nsid(ikey, sizeof(ikey), p->cluster, next) < 0)
			return err_set(e, EINVAL, "namespace id %llu: no key", (unsigned long long)next);
		char host[NAME_MAX_LEN + 1];
		snprintf(host, sizeof(host), "%s", p->host);
		struct crec_ns n = {.id = next, .hosts = &host, .nhosts = 1, .next_id = 1,
				    .uid = sn->uid, .gid = sn->gid, .mode = sn->mode & 0777,
				    .ctime = sn->ctime};
		struct crec_nsid ni = {0};
		snprintf(ni.name, sizeof(ni.name), "%s", sn->name);
		struct crec_nextns nx = {.next = next + 1};
		struct sbuf v[3] = {{0}};
		crec_ns_write(&n, &v[0]);
		crec_nsid_write(&ni, &v[1]);
		crec_nextns_write(&nx, &v[2]);
		const struct etcd_cmp cmp[] = {
		    {.key = nkey, .target = ETCD_CREATE, .num = 0},
		    {.key = ckey, .target = ETCD_MOD, .num = rev},
		    {.key = ikey, .target = ETCD_CREATE, .num = 0},
		};
		const struct etcd_op ops[] = {
		    {.kind = ETCD_OP_PUT, .key = nkey, .value = v[0].p, .len = v[0].len},
		    {.kind = ETCD_OP_PUT, .key = ikey, .value = v[1].p, .len = v[1].len},
		    {.kind = ETCD_OP_PUT, .key = ckey, .value = v[2].p, .len = v[2].len},
		};
		struct etcd_txn_result res;
		r = sb_err(&v[0]) || sb_err(&v[1]) || sb_err(&v[2])
			? err_set(e, ENOMEM, "out of memory")
			: txn(p, cmp, 3, ops, 3, NULL, 0, &res, e);
		bool won = !r && res.succeeded;
		if (!r)
			etcd_txn_result_free(&res);
		for (int i = 0; i < 3; i++)
			sb_free(&v[i]);
		if (r)
			return r;
		if (won) {
			*cns = next;
			cpub_say(p, sn->local, "namespace %s claimed in cluster %s: id %llu", sn->name,
				 p->cluster, (unsigned long long)next);
			return 0;
		}
	}
	return err_set(e, EAGAIN, "namespace %s: the cluster is busy making namespaces (%d tries)",
		       sn->name, TRIES);
}

/* o's record is under cid, which is no longer its id: deleted at this pass (put_records). */
static void orphan(struct pobj *o, uint64_t cns, uint64_t cid)
{
	o->stale_ns = cns;
	o->stale = cid;
	free(o->published);
	o->published = NULL;
}

/* Whether intent tag is in etcd: 1 (also when etcd did not answer: decided at a later pass),
 * or 0. */
static int intent_there(struct cpub *p, const struct ckey_tag *tag)
{
	char ikey[CKEY_MAX + 1];
	struct etcd_kv kv;
	bool found = true;
	struct err e;
	if (ckey_intent(ikey, sizeof(ikey), p->cluster, tag) >= 0 &&
	    !etcd_get(p->c, ikey, &kv, &found, &e) && found)
		etcd_kv_free(&kv);
	return found;
}

/* o was made here for a launch and its claim went, or names another host or id: if that
 * launch's intent is gone, it was rolled back (a launch is all or nothing), and o is handed to
 * the loop to remove; while the intent is there (a rollback under way), it waits. 1. */
static int stray(struct cpub *p, const struct psnap_ns *sn, const struct psnap_obj *so,
		 struct pobj *o, const struct crec_claim *now)
{
	char tag[CKEY_TAG_LEN];
	ckey_tag_fmt(&o->intent, tag);
	if (intent_there(p, &o->intent)) { /* (or etcd did not answer): again at the next pass */
		p->recheck = true;
		return 1;
	}
	char whose[NAME_MAX_LEN + 64];
	if (now)
		snprintf(whose, sizeof(whose), "is now %s's (id %llu)", now->host,
			 (unsigned long long)now->id);
	else
		snprintf(whose, sizeof(whose), "is gone");
	o->stray = true;
	cpub_say(p, so->lns,
		 "%s: made here for launch %s, which was rolled back (its claim in ns %s %s): a stray of that launch, removed here unless it runs",
		 so->rec.name, tag, sn->name, whose);
	if (cpub_stray(p, so->lns, so->local, so->rec.name, STRAY_LAUNCH, tag, NULL))
		o->stray = false; /* out of memory: looked at again at the next start */
	return 1;
}

/* 1 when host publishes object cns.id (P/h/H/o/NSID/ID), 0 when not, -1 when etcd did not
 * answer. */
static int published(struct cpub *p, const char *host, uint64_t cns, uint64_t id)
{
	char key[CKEY_MAX + 1];
	struct etcd_kv kv;
	bool found = false;
	struct err e;
	if (ckey_obj(key, sizeof(key), p->cluster, host, cns, id) < 0)
		return 0;
	if (etcd_get(p->c, key, &kv, &found, &e))
		return -1;
	if (found)
		etcd_kv_free(&kv);
	return found;
}

/* o, mapped to the id its claim still has, is now another host's (`now`): the object moved
 * (its move committed while this host was down or cut, so the loop never saw its claim
 * change). This copy is no longer the object: its record goes, and the loop removes it as a
 * flush would unless it runs, once the new owner publishes it (else the only copy may be this
 * one: unmapped and said only). The claim is not touched. 1. */
static int moved_away(struct cpub *p, const struct psnap_ns *sn, uint64_t cns,
		      const struct psnap_obj *so, struct pobj *o, const struct crec_claim *now,
		      bool *dirty)
{
	uint64_t id = cidmap_obj(&p->map, so->lns, so->local);
	int there = published(p, now->host, cns, id);
	if (there < 0) { /* (etcd did not answer): again at the next pass */
		p->recheck = true;
		return 1;
	}
	cidmap_drop_obj(&p->map, so->lns, so->local);
	orphan(o, cns, id);
	*dirty = true;
	if (!there) {
		cpub_say(p, so->lns,
			 "%s (id %llu): its claim in ns %s names %s, which publishes no record of it: this copy is kept (no longer the cluster's object; flush it once %s has it)",
			 so->rec.name, (unsigned long long)id, sn->name, now->host, now->host);
		return 1;
	}
	o->stray = true;
	cpub_say(p, so->lns,
		 "%s (id %llu) moved to %s while this host was away (its claim in ns %s names %s): this copy is no longer the object: removed here unless it runs; its claim is left as it is",
		 so->rec.name, (unsigned long long)id, now->host, sn->name, now->host);
	if (cpub_stray(p, so->lns, so->local, so->rec.name, STRAY_MOVED, NULL, now->host))
		o->stray = false;
	return 1;
}

/* o is not this host's (its name is `now`'s): if it is the copy a cold move placed here
 * (cluster/cmove.h's CMOVE_COPY_TAG) and that move's intent is gone, the move was rolled back
 * before its commit (by this host's own recovery, or another's while it was down): a stray,
 * removed by the loop. While the intent is there its recovery is under way: looked at again at
 * the next pass. 0: not a move's copy. */
static int move_copy(struct cpub *p, const struct psnap_ns *sn, const struct psnap_obj *so,
		     struct pobj *o, const struct crec_claim *now)
{
	struct ckey_tag tag;
	if (cmove_copy_tag(p->statefd, sn->name, so->rec.type, so->rec.name, &tag) != 1)
		return 0;
	if (intent_there(p, &tag)) {
		p->recheck = true;
		return 1;
	}
	char text[CKEY_TAG_LEN];
	ckey_tag_fmt(&tag, text);
	o->stray = true;
	cpub_say(p, so->lns,
		 "%s: the copy made here for move %s, which was rolled back (its claim in ns %s is %s's): removed here unless it runs",
		 so->rec.name, text, sn->name, now->host);
	if (cpub_stray(p, so->lns, so->local, so->rec.name, STRAY_MOVE, text, NULL))
		o->stray = false;
	return 1;
}

/* What a claim read back says of local object so: 0 absent (to claim), 1 settled (this
 * host's: its id mapped; another's: refused, said). *dirty when the map changed. */
static int settle_one(struct cpub *p, const struct psnap_ns *sn, uint64_t cns,
		      const struct psnap_obj *so, const struct etcd_kvs *got, bool *dirty)
{
	struct pobj *o;
	if (cpub_obj_add(p, so->lns, so->local, so->rec.name, &o))
		return 1; /* out of memory: left for the next pass */
	uint64_t mapped = cidmap_obj(&p->map, so->lns, so->local);
	/* made here for a launch (its claim had the launch's intent): without that claim now,
	 * it is what the launch's rollback could not remove here */
	bool launched = mapped && o->intent.host[0];
	const struct crec_claim *now = NULL;
	struct crec_claim c;
	char why[300];
	bool has = got && got->n;
	int r = has ? crec_claim_read(got->kv[0].value, got->kv[0].value_len, &c, why, sizeof(why))
		    : 0;
	if (has && !r)
		now = &c;
	if (mapped && now && now->id == mapped && strcmp(now->host, p->host))
		return moved_away(p, sn, cns, so, o, now, dirty);
	if (!mapped && now && strcmp(now->host, p->host) && move_copy(p, sn, so, o, now))
		return 1;
	/* a claim that cannot be read, or one being moved: nothing is decided on it */
	if (launched && has && (r || c.moving[0]))
		return 1;
	if (launched && (!now || strcmp(now->host, p->host) || now->id != mapped))
		return stray(p, sn, so, o, now);
	if (!got || !got->n) {
		if (mapped) {
			cpub_say(p, so->lns, "%s: its claim (id %llu) is gone from the cluster: claimed again",
				 so->rec.name, (unsigned long long)mapped);
			cidmap_drop_obj(&p->map, so->lns, so->local);
			orphan(o, cns, mapped);
			*dirty = true;
		}
		return 0;
	}
	const struct etcd_kv *kv = &got->kv[0];
	if (!r && !strcmp(c.host, p->host)) {
		if (mapped != c.id) { /* first seen: made for this launch until it is seen done;
				       * a move's copy committed before its tag went, this host's */
			o->intent = c.intent;
			cmove_copy_untag(p->statefd, sn->name, so->rec.type, so->rec.name);
		}
		if (mapped != c.id) {
			if (cidmap_set_obj(&p->map, so->lns, so->local, c.id) ||
			    cidmap_set_tag(&p->map, so->lns, so->local, &c.intent))
				return 1;
			if (mapped)
				orphan(o, cns, mapped);
			*dirty = true;
		}
		return 1;
	}
	if (mapped) {
		cidmap_drop_obj(&p->map, so->lns, so->local);
		orphan(o, cns, mapped);
		*dirty = true;
	}
	o->refused = true;
	if (r)
		cpub_say(p, so->lns,
			 "%s: its name is claimed in ns %s by a claim this vmfs cannot read (%s: %s): it stays local and is not listed in the cluster",
			 so->rec.name, sn->name, kv->key, why);
	else
		cpub_say(p, so->lns,
			 "%s: the name is held in ns %s by host %s (id %llu): this %s stays local and is not listed in the cluster; nothing is renamed or removed",
			 so->rec.name, sn->name, c.host, (unsigned long long)c.id,
			 otype_name(so->rec.type));
	return 1;
}

/* The claims of todo[0..n) read in one transaction (a range each), and settled. Those still
 * to claim are moved to the front: their count in *left. */
static int look(struct cpub *p, const struct psnap_ns *sn, uint64_t cns,
		const struct psnap_obj **todo, size_t n, size_t *left, bool *dirty, struct err *e)
{
	CKEY_SCRATCH(keys, ETCD_TXN_MAX);
	if (!keys)
		return err_set(e, ENOMEM, "%s", strerror(ENOMEM));
	struct etcd_op ops[ETCD_TXN_MAX];
	*left = 0;
	for (size_t i = 0; i < n; i++) {
		ckey_claim(keys[i], sizeof(keys[i]), p->cluster, cns, todo[i]->rec.name);
		ops[i] = (struct etcd_op){.kind = ETCD_OP_RANGE, .key = keys[i]};
	}
	struct etcd_txn_result res;
	int r = txn(p, NULL, 0, ops, n, NULL, 0, &res, e);
	if (r)
		return r;
	if (res.nranges != n) {
		etcd_txn_result_free(&res);
		return err_set(e, EPROTO, "etcd answered %zu ranges for %zu", res.nranges, n);
	}
	for (size_t i = 0; i < n; i++)
		if (!settle_one(p, sn, cns, todo[i], &res.ranges[i], dirty))
			todo[(*left)++] = todo[i];
	etcd_txn_result_free(&res);
	return 0;
}

/* Claims todo[0..n) (all absent when looked at): one transaction, its ids from P/ns/NAME's
 * next-id. 1: claimed; 0: a compare failed (looked at again by the caller). */
static int claim_chunk(struct cpub *p, const struct psnap_ns *sn, uint64_t cns,
		       const struct psnap_obj **todo, size_t n, bool *dirty, struct err *e)
{
	CKEY_SCRATCH(keys, ETCD_TXN_MAX);
	if (!keys)
		return err_set(e, ENOMEM, "%s", strerror(ENOMEM));
	struct sbuf vals[ETCD_TXN_MAX];
	char nkey[CKEY_MAX + 1], why[300];
	if (ckey_ns(nkey, sizeof(nkey), p->cluster, sn->name) < 0)
		return err_set(e, EINVAL, "namespace %s: no key", sn->name);
	struct etcd_kv kv;
	bool found;
	int r = etcd_get(p->c, nkey, &kv, &found, e);
	if (r)
		return r;
	if (!found) { /* removed from the cluster meanwhile: claimed again at the next pass */
		cidmap_drop_ns(&p->map, sn->local);
		*dirty = true;
		return err_set(e, ENOENT, "%s is gone from the cluster", nkey);
	}
	struct crec_ns ns;
	r = crec_ns_read(kv.value, kv.value_len, &ns, why, sizeof(why));
	int64_t rev = kv.mod_revision;
	etcd_kv_free(&kv);
	if (r)
		return err_set(e, EBADMSG, "%s: %s", nkey, why);
	if (ns.id != cns) {
		crec_ns_free(&ns);
		cidmap_drop_ns(&p->map, sn->local);
		*dirty = true;
		return err_set(e, ESTALE, "%s has id %llu now, not %llu", nkey,
			       (unsigned long long)ns.id, (unsigned long long)cns);
	}
	if (ns.next_id + n - 1 > OBJ_ID_MAX) {
		crec_ns_free(&ns);
		return err_set(e, ENOSPC, "ns %s has used all its object ids", sn->name);
	}
	/* the objects' reservation, added in the same txn: they exist already (made here before
	 * their claims), so it is taken whatever the host's capacity */
	char capkey[CKEY_MAX + 1];
	struct crec_cap cap;
	int64_t caprev;
	struct err ce;
	int cr = my_cap(p, capkey, &cap, &caprev, &ce);
	if (cr && cr != -EBADMSG) {
		crec_ns_free(&ns);
		*e = ce;
		return cr;
	}
	if (cr)
		cpub_say(p, sn->local, "ns %s: what its new claims reserve is not added: %s",
			 sn->name, ce.why);
	struct etcd_cmp cmp[ETCD_TXN_MAX];
	struct etcd_op ops[ETCD_TXN_MAX];
	cmp[0] = (struct etcd_cmp){.key = nkey, .target = ETCD_MOD, .num = rev};
	for (size_t i = 0; i < n; i++) {
		ckey_claim(keys[i], sizeof(keys[i]), p->cluster, cns, todo[i]->rec.name);
		struct crec_claim c = {.id = ns.next_id + i, .type = todo[i]->rec.type,
				       .ctime = todo[i]->ctime};
		snprintf(c.host, sizeof(c.host), "%s", p->host);
		vals[i] = (struct sbuf){0};
		crec_claim_write(&c, &vals[i]);
		cmp[i + 1] = (struct etcd_cmp){.key = keys[i], .target = ETCD_VERSION, .num = 0};
		ops[i] = (struct etcd_op){.kind = ETCD_OP_PUT, .key = keys[i], .value = vals[i].p,
					  .len = vals[i].len};
	}
	uint64_t first = ns.next_id;
	ns.next_id += n;
	bool listed = false;
	for (size_t h = 0; h < ns.nhosts; h++)
		listed |= !strcmp(ns.hosts[h], p->host);
	char(*hosts)[NAME_MAX_LEN + 1] = NULL;
	if (!listed) { /* a host that holds objects of a namespace is in its hosts */
		hosts = calloc(ns.nhosts + 1, sizeof(*hosts));
		if (hosts) {
			memcpy(hosts, ns.hosts, ns.nhosts * sizeof(*hosts));
			snprintf(hosts[ns.nhosts], sizeof(*hosts), "%s", p->host);
			free(ns.hosts);
			ns.hosts = hosts;
			ns.nhosts++;
		}
	}
	struct sbuf nv = {0};
	crec_ns_write(&ns, &nv);
	crec_ns_free(&ns);
	ops[n] = (struct etcd_op){.kind = ETCD_OP_PUT, .key = nkey, .value = nv.p, .len = nv.len};
	bool oom = sb_err(&nv);
	size_t nc = n + 1, no = n + 1;
	struct sbuf cv = {0};
	if (!cr) {
		for (size_t i = 0; i < n; i++) {
			uint64_t vcpus, memory;
			crsize_of(&todo[i]->rec, &vcpus, &memory);
			cap.vcpus += vcpus;
			cap.memory += memory;
		}
		cap.objects += n;
		crec_cap_write(&cap, &cv);
		oom |= sb_err(&cv) != 0;
		cmp[nc++] = (struct etcd_cmp){.key = capkey, .target = ETCD_MOD, .num = caprev};
		ops[no++] = (struct etcd_op){.kind = ETCD_OP_PUT, .key = capkey, .value = cv.p,
					     .len = cv.len};
	}
	for (size_t i = 0; i < n; i++)
		oom |= sb_err(&vals[i]) != 0;
	struct etcd_txn_result res;
	r = oom ? err_set(e, ENOMEM, "out of memory") : txn(p, cmp, nc, ops, no, NULL, 0, &res, e);
	sb_free(&cv);
	bool won = !r && res.succeeded;
	if (!r)
		etcd_txn_result_free(&res);
	sb_free(&nv);
	for (size_t i = 0; i < n; i++)
		sb_free(&vals[i]);
	if (r)
		return r;
	if (!won)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (cidmap_set_obj(&p->map, todo[i]->lns, todo[i]->local, first + i))
			return err_set(e, ENOMEM, "out of memory");
	*dirty = true;
	return 1;
}

/* The objects of one namespace to settle: looked at, then the absent ones claimed. */
static int settle(struct cpub *p, const struct psnap_ns *sn, uint64_t cns,
		  const struct psnap_obj **todo, size_t n, bool *dirty, struct err *e)
{
	int r = 0;
	while (n && !r) {
		size_t k = n < CLAIM_CHUNK ? n : CLAIM_CHUNK, left;
		if ((r = look(p, sn, cns, todo, k, &left, dirty, e)))
			break;
		int t = 0;
		while (left && (r = claim_chunk(p, sn, cns, todo, left, dirty, e)) == 0) {
			if (++t == TRIES) {
				r = err_set(e, EAGAIN, "ns %s: the cluster is busy claiming (%d tries)",
					    sn->name, TRIES);
				break;
			}
			/* lost a race: a name taken meanwhile, or the counter moved */
			if ((r = look(p, sn, cns, todo, left, &left, dirty, e)))
				break;
		}
		if (r > 0 || (!r && !left))
			r = 0;
		todo += k;
		n -= k;
	}
	return r;
}

/* A fault of one namespace's keys (a peer's value this vmfs cannot read, its ids used up, a
 * race lost too often) leaves that namespace unpublished, said once until it is published,
 * and the others go on (1); etcd's own failures fail the pass (r as it is). */
static int ns_fault(struct cpub *p, const struct psnap_ns *sn, int r, struct err *e)
{
	struct ptop *t = top_of(p, sn->local, true);
	if (r != -EBADMSG && r != -ENOSPC && r != -EAGAIN) {
		if (!r && t)
			t->said = false;
		return r;
	}
	if (t && !t->said)
		cpub_say(p, sn->local,
			 "ns %s is not published in the cluster: %s (looked at again when something changes)",
			 sn->name, e->why);
	if (t)
		t->said = true;
	return 1;
}

int cns_claim_all(struct cpub *p, const struct psnap *s, struct err *e)
{
	const struct psnap_obj **todo = s->nobj ? calloc(s->nobj, sizeof(*todo)) : NULL;
	if (s->nobj && !todo)
		return err_set(e, ENOMEM, "out of memory");
	bool dirty = false, all = true;
	int r = 0;
	size_t j = 0;
	p->recheck = false;
	for (size_t i = 0; i < s->nns && !r; i++) {
		const struct psnap_ns *sn = &s->ns[i];
		uint64_t cns = cidmap_ns(&p->map, sn->local);
		if (!cns) {
			if (!(r = claim_ns(p, sn, &cns, e)) && cidmap_set_ns(&p->map, sn->local, cns))
				r = err_set(e, ENOMEM, "out of memory");
			dirty |= !r;
		}
		size_t n = 0;
		for (; j < s->nobj && s->obj[j].lns < sn->local; j++)
			;
		for (; !r && j < s->nobj && s->obj[j].lns == sn->local; j++) {
			const struct pobj *o = cpub_obj(p, sn->local, s->obj[j].local);
			if (o && (o->refused || o->stray))
				continue;
			if (!p->checked || !cidmap_obj(&p->map, sn->local, s->obj[j].local))
				todo[n++] = &s->obj[j];
		}
		if (!r)
			r = settle(p, sn, cns, todo, n, &dirty, e);
		if ((r = ns_fault(p, sn, r, e)) > 0) {
			all = false;
			r = 0;
		}
	}
	free(todo);
	if (!r && all && !p->recheck)
		p->checked = true;
	/* written now (a kill of vmfs keeps it: a launch's tag is not etcd's to give back once
	 * its claim went in a rollback), synced once the pass's records went (cns_map_sync): the
	 * fsync, one a pass on every member at once, held a launch's records back */
	return saved(p, dirty, false, r, e);
}

int cns_map_sync(struct cpub *p, struct err *e)
{
	int r = p->map_unsynced ? cidmap_sync(p->statefd) : 0;
	if (!r)
		p->map_unsynced = false;
	return r ? err_set(e, -r, "cannot sync STATE/cluster/" CIDMAP_FILE ": %s", strerror(-r)) : 0;
}
