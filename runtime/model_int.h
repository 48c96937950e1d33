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
/* runtime/ids.c: state/ids, read before the namespaces are loaded, saved after */
int ids_open(struct model *m);
void ids_new_run(struct model *m);
int ids_save(struct model *m);
/* A namespace id never handed out before (state/ids is saved first); -ENOSPC past
 * NS_ID_MAX. Then ns_register puts it in m->slots by it. */
int ns_new_id(struct model *m, struct ns *ns, char *err, size_t errlen);
int ns_register(struct model *m, struct ns *ns);
void ns_unregister(struct model *m, struct ns *ns);
/* A namespace loaded without an id (an old state directory's) or with another's gets one,
 * saved; failing, that is said in m->damage. */
void ids_give(struct model *m, struct ns *ns);
/* Tells the subscribers in turn. MEV_NS_KEY and MEV_CFG_REACH: the first answer other than
 * 1 (not mine), or 1 if no one's; MEV_CFG_SETTING: the first refusal (< 0), else 0; the
 * rest cannot be refused: 0. */
int model_notify(struct model *m, const struct model_ev *ev);
#endif
