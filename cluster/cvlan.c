/* A namespace's VLAN aliases in the cluster (cluster/cpub_int.h, cvlan_sync): the first host
 * to have an alias claims P/ns/NAME/vlan/ALIAS with its id, so every host can tell whether its
 * own id for the alias is the cluster's. The claim's txn compares the key absent and the
 * namespace's aliases unchanged since they were read (none holding the id), so two aliases
 * never claim one id. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/ckey.h"
#include "cluster/cpub_int.h"
#include "etcd/client.h"

#define TRIES 3

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
	return h;
}

static uint64_t sum_of(const struct psnap *s)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < s->nns; i++) {
		h = fnv(h, s->ns[i].name, strlen(s->ns[i].name) + 1);
		for (size_t j = 0; j < s->ns[i].nvl; j++) {
			h = fnv(h, s->ns[i].vl[j].name, strlen(s->ns[i].vl[j].name) + 1);
			h = fnv(h, &s->ns[i].vl[j].id, sizeof(s->ns[i].vl[j].id));
		}
	}
	return h ? h : 1;
}

#define BAD_RECORD UINT64_MAX

/* The cluster's id for alias among kvs, 0 if none, BAD_RECORD if its record is bad (said in
 * the namespace's log; another alias's bad record is not one); *holder the other alias holding
 * id `want`, if any. */
static uint64_t cluster_id(struct cpub *p, uint64_t lns, const struct etcd_kvs *kvs,
			   const char *alias, unsigned want, char *holder, size_t hlen)
{
	uint64_t found = 0;
	*holder = '\0';
	for (size_t i = 0; i < kvs->n; i++) {
		struct ckey k;
		struct crec_vlan v;
		char why[200];
		if (ckey_parse(p->cluster, kvs->kv[i].key, &k) != CK_VLAN)
			continue;
		bool mine = !strcmp(k.alias, alias);
		if (crec_vlan_read(kvs->kv[i].value, kvs->kv[i].value_len, &v, why, sizeof(why))) {
			if (mine) {
				cpub_say(p, lns,
					 "vlan alias %s: the cluster's record %s is bad (%s): this "
					 "host keeps its id",
					 alias, kvs->kv[i].key, why);
				return BAD_RECORD;
			}
			continue;
		}
		if (mine)
			found = v.id;
		else if (v.id == want)
			snprintf(holder, hlen, "%s", k.alias);
	}
	return found;
}

/* Puts key's id=N if key is absent and no alias of the namespace changed since rev (when the
 * caller saw none holding N). (A VALUE compare on a prefix fails when no key is there: etcd.) */
static int claim(struct cpub *p, const char *key, const char *prefix, int64_t rev, unsigned id,
		 bool *won, struct err *e)
{
	struct crec_vlan v = {.id = id};
	struct sbuf text = {0};
	crec_vlan_write(&v, &text);
	if (sb_err(&text)) {
		sb_free(&text);
		return err_set(e, ENOMEM, "out of memory");
	}
	const struct etcd_cmp cmp[] = {
	    {.key = key, .target = ETCD_CREATE, .num = 0},
	    {.key = prefix,
	     .target = ETCD_MOD,
	     .result = ETCD_LESS,
	     .num = rev + 1,
	     .prefix = true},
	};
	const struct etcd_op op = {
	    .kind = ETCD_OP_PUT, .key = key, .value = text.p, .len = text.len};
	struct etcd_txn_result res = {0};
	int r = etcd_txn(p->c, cmp, 2, &op, 1, NULL, 0, &res, e);
	*won = !r && res.succeeded;
	if (!r)
		etcd_txn_result_free(&res);
	sb_free(&text);
	return r;
}

static int sync_ns(struct cpub *p, const struct psnap_ns *sn, struct err *e)
{
	char pre[CKEY_MAX + 1], key[CKEY_MAX + 1], holder[NAME_MAX_LEN + 1];
	if (!sn->nvl)
		return 0;
	if (ckey_vlan_prefix(pre, sizeof(pre), p->cluster, sn->name) < 0)
		return 0; /* (a name the cluster's keys cannot hold: the namespace is not published)
			   */
	for (size_t j = 0; j < sn->nvl; j++) {
		const struct psnap_vlan *a = &sn->vl[j];
		if (ckey_vlan(key, sizeof(key), p->cluster, sn->name, a->name) < 0)
			continue;
		for (int t = 0;; t++) {
			struct etcd_kvs kvs = {0};
			int r = etcd_range_prefix(p->c, pre, &kvs, e);
			if (r)
				return r;
			uint64_t cid =
			    cluster_id(p, sn->local, &kvs, a->name, a->id, holder, sizeof(holder));
			int64_t rev = kvs.revision;
			etcd_kvs_free(&kvs);
			if (cid == a->id || cid == BAD_RECORD)
				break;
			if (cid) {
				cpub_say(p, sn->local,
					 "vlan alias %s: this host has id %u, the cluster's is "
					 "%llu: guests on other hosts do not meet this host's on "
					 "it; it takes the cluster's at the next start of an "
					 "object on it while none runs on it",
					 a->name, a->id, (unsigned long long)cid);
				break;
			}
			if (*holder) {
				cpub_say(p, sn->local,
					 "vlan alias %s: not claimed in the cluster, whose alias "
					 "%s has its id %u",
					 a->name, holder, a->id);
				break;
			}
			bool won = false;
			if ((r = claim(p, key, pre, rev, a->id, &won, e)))
				return r;
			if (won) {
				cpub_say(p, sn->local,
					 "vlan alias %s claimed in the cluster: id %u", a->name,
					 a->id);
				break;
			}
			if (t + 1 >= TRIES)
				return err_set(e, EAGAIN, "vlan alias %s: its claim lost %d races",
					       a->name, TRIES);
		}
	}
	return 0;
}

int cvlan_sync(struct cpub *p, const struct psnap *s, struct err *e)
{
	uint64_t sum = sum_of(s);
	if (sum == p->vlans_sum)
		return 0;
	for (size_t i = 0; i < s->nns; i++) {
		int r = sync_ns(p, &s->ns[i], e);
		if (r)
			return r;
	}
	p->vlans_sum = sum;
	return 0;
}
