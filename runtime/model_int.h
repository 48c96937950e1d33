/* Internal to runtime/: shared between the model's files, not an API for vmfs/ or web/. */
#ifndef VMFS_MODEL_INT_H
#define VMFS_MODEL_INT_H
#include "runtime/model.h"

int objlist_insert(struct objlist *l, struct object *o);
void objlist_remove(struct objlist *l, const char *name);
int nslist_insert(struct model *m, struct ns *ns);
struct ns *ns_alloc(struct model *m, const char *name);
int ns_open_dir(struct model *m, struct ns *ns, bool create);
struct object *obj_alloc(struct model *m, struct ns *ns, enum otype t, const char *name);
int obj_insert(struct model *m, struct object *o);
/* Tells the subscribers in turn. MEV_NS_KEY and MEV_CFG_REACH: the first answer other than
 * 1 (not mine), or 1 if no one's; MEV_CFG_SETTING: the first refusal (< 0), else 0; the
 * rest cannot be refused: 0. */
int model_notify(struct model *m, const struct model_ev *ev);
#endif
