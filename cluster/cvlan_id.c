/* The cluster's id of a VLAN alias, from the cache of P/ (cluster/cvlan.h). */
#include "cluster/ccache.h"
#include "cluster/chosts.h"
#include "cluster/ckey.h"
#include "cluster/crec.h"
#include "cluster/cvlan.h"
#include "runtime/model.h"
#include "vmfs/node.h"

unsigned cvlan_cluster_id(void *arg, const struct ns *ns, const char *alias)
{
	const struct vmfs *v = arg;
	char key[CKEY_MAX + 1], why[200];
	if (!v->chosts || !v->chosts->cache ||
	    ckey_vlan(key, sizeof(key), v->chosts->cluster, ns->name, alias) < 0)
		return 0;
	const struct ccache_kv *kv = ccache_get(v->chosts->cache, key);
	struct crec_vlan rec;
	if (!kv || crec_vlan_read(kv->value, kv->len, &rec, why, sizeof(why)))
		return 0;
	return (unsigned)rec.id; /* (1..4094: crec_vlan_read's range) */
}
