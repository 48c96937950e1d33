/* A namespace's VLAN aliases (vlans/ALIAS): LAN1 means one VLAN id in one namespace, so
 * the same alias in two namespaces is two isolated VLANs. An alias gets its id on first
 * use (a config/net that names it) from the namespace's vlans/range, the lowest that no
 * namespace uses (one bridge carries them all); writing an id pins it. Kept in ns.conf as vlan.ALIAS. */
#ifndef VMFS_VLAN_H
#define VMFS_VLAN_H
#include "runtime/err.h"
#include "runtime/model.h"

#define VLAN_ID_MAX 4094

struct vlan_alias {
	char name[NAME_MAX_LEN + 1];
	unsigned id;
	bool pinned; /* written by hand, not allocated */
	unsigned serial; /* names its file while vmfs runs (inode numbers), whatever its id */
};

const struct vlan_alias *vlan_find(const struct ns *ns, const char *alias);
const struct vlan_alias *vlan_by_id(const struct ns *ns, unsigned id);
const struct vlan_alias *vlan_by_serial(const struct ns *ns, unsigned serial);
/* Whether a NIC of the template or of any object in ns names the alias. */
bool vlan_in_use(const struct ns *ns, const char *alias);
/* Gives every alias a config/net value names an id (allocating and saving new ones).
 * -ENOSPC with the reason when the range is full. vlan_claim_net is the same for callers
 * still on (err, errlen) (runtime/err.h). */
int vlan_claim(struct model *m, struct ns *ns, const char *net, struct err *e);
int vlan_claim_net(struct model *m, struct ns *ns, const char *net, char *err, size_t errlen);
/* An object on alias starts: if the cluster's id for it (m->vlan_cluster) is not this host's
 * and no running object of ns but `starting` has a NIC on it, the alias takes the cluster's id
 * (when no other alias holds it here), said in ns's log. Never fails the start. */
void vlan_adopt(struct model *m, struct ns *ns, const struct object *starting, const char *alias);
/* vlans/ALIAS written: creates or re-pins it. -EINVAL (not 1-4094), -EBUSY (taken). */
int vlan_pin(struct model *m, struct ns *ns, const char *alias, const char *value, char *err,
	     size_t errlen);
/* rm vlans/ALIAS: -EBUSY while a NIC names it. */
int vlan_remove(struct model *m, struct ns *ns, const char *alias, char *err, size_t errlen);
/* The model's events (model_subscribe; net_subscribe subscribes it): the records load from
 * and are saved in ns.conf as vlan.ALIAS, in the same write as the rest of the namespace, and
 * go with the namespace's last reference (a bad record is -EINVAL with the reason); a
 * config/net being set gets its aliases' ids first (vlan_claim); whether a config/net reaches
 * past the namespace (a named bridge, a VLAN number not of its aliases) is judged here. */
int vlan_on_model(void *ctx, struct model *m, const struct model_ev *ev);
#endif
