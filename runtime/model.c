/* Namespaces and objects in memory, and their lifecycle in the state directory. */
#include "runtime/model.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/model_int.h"
#include "runtime/slotmap.h"
#include "runtime/store.h"

static const char *const otype_names[] = {"kvm", "container"};
static const char *const otype_dirs[] = {"vms", "containers"};
static const char *const ostate_names[] = {"BUILDING", "RUNNING", "PAUSED", "QUIT", "ERROR"};

const char *otype_name(enum otype t) { return otype_names[t]; }
const char *otype_dir(enum otype t) { return otype_dirs[t]; }
const char *ostate_name(enum ostate s) { return ostate_names[s]; }
unsigned otype_mask(enum otype t) { return t == OT_VM ? PARAM_VM : PARAM_CT; }

int model_subscribe(struct model *m, model_fn fn, void *ctx)
{
	if (m->nsubs == MODEL_SUBS_MAX)
		return -ENOSPC;
	m->subs[m->nsubs++] = (struct model_sub){fn, ctx};
	return 0;
}

int model_notify(struct model *m, const struct model_ev *ev)
{
	bool owned = ev->kind == MEV_NS_KEY || ev->kind == MEV_CFG_REACH;
	for (size_t i = 0; i < m->nsubs; i++) {
		int r = m->subs[i].fn(m->subs[i].ctx, m, ev);
		if (owned ? r != 1 : ev->kind == MEV_CFG_SETTING && r < 0)
			return r;
	}
	return owned ? 1 : 0;
}

void *model_slot(struct model *m, uint64_t key, enum slot_kind kind)
{
	return slotmap_get(m->slots, key, kind);
}

static int plist_insert(void ***v, size_t *n, size_t *cap, size_t name_off, void *p)
{
	bool found;
	size_t at = name_pos(*v, *n, name_off, (char *)p + name_off, &found);
	if (found)
		return -EEXIST;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		void **nv = realloc(*v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	memmove(*v + at + 1, *v + at, (*n - at) * sizeof(**v));
	(*v)[at] = p;
	(*n)++;
	return 0;
}

static void plist_remove(void **v, size_t *n, size_t name_off, const char *name)
{
	bool found;
	size_t at = name_pos(v, *n, name_off, name, &found);
	if (!found)
		return;
	memmove(v + at, v + at + 1, (*n - at - 1) * sizeof(*v));
	(*n)--;
}

#define NS_OFF offsetof(struct ns, name)
#define OBJ_OFF offsetof(struct object, name)

int objlist_insert(struct objlist *l, struct object *o)
{
	return plist_insert((void ***)&l->v, &l->n, &l->cap, OBJ_OFF, o);
}

void objlist_remove(struct objlist *l, const char *name)
{
	plist_remove((void **)l->v, &l->n, OBJ_OFF, name);
}

int nslist_insert(struct model *m, struct ns *ns)
{
	return plist_insert((void ***)&m->nss, &m->nns, &m->capns, NS_OFF, ns);
}

struct ns *ns_find(struct model *m, const char *name)
{
	bool found;
	size_t at = name_pos((void **)m->nss, m->nns, NS_OFF, name, &found);
	return found ? m->nss[at] : NULL;
}

struct object *obj_find(struct ns *ns, enum otype t, const char *name)
{
	bool found;
	struct objlist *l = &ns->objs[t];
	size_t at = name_pos((void **)l->v, l->n, OBJ_OFF, name, &found);
	return found ? l->v[at] : NULL;
}

struct object *obj_find_any(struct ns *ns, const char *name)
{
	struct object *o = obj_find(ns, OT_VM, name);
	return o ? o : obj_find(ns, OT_CT, name);
}

void ns_get(struct ns *ns) { ns->refs++; }
void obj_get(struct object *o) { o->refs++; }

static void cfg_free(char **cfg)
{
	for (size_t i = 0; i < NPARAMS_MAX; i++)
		free(cfg[i]);
}

void ns_put(struct ns *ns)
{
	if (--ns->refs > 0)
		return;
	model_notify(ns->model, &(struct model_ev){.kind = MEV_NS_FREED, .ns = ns}); /* whole */
	cfg_free(ns->cfg);
	free(ns->hosts);
	free(ns->taps);
	free(ns->vlan_range);
	free(ns->objs[0].v);
	free(ns->objs[1].v);
	if (ns->dirfd >= 0)
		close(ns->dirfd);
	free(ns);
}

void obj_put(struct object *o)
{
	if (--o->refs > 0)
		return;
	cfg_free(o->cfg);
	free(o->error);
	free(o->rt.job_err);
	free(o->rt.nics);
	ns_put(o->ns);
	free(o);
}

const char *obj_param(const struct object *o, int i)
{
	return o->cfg[i] ? o->cfg[i] : params[i].def;
}

const char *obj_cfg(const struct object *o, const char *name)
{
	return obj_param(o, param_index(name));
}

bool obj_cfg_bool(const struct object *o, const char *name)
{
	bool b = false;
	char err[8];
	value_bool(obj_cfg(o, name), &b, err, sizeof(err));
	return b;
}

void model_image_path(const struct model *m, const char *v, char *out, size_t outlen)
{
	if (v[0] == '/')
		snprintf(out, outlen, "%s", v);
	else
		snprintf(out, outlen, "%s/%s", m->imagedir, v);
}

const char *ns_param(const struct ns *ns, int i)
{
	return ns->cfg[i] ? ns->cfg[i] : params[i].def;
}

struct ns *ns_alloc(struct model *m, const char *name)
{
	struct ns *ns = calloc(1, sizeof(*ns));
	if (!ns)
		return NULL;
	ns->refs = 1;
	ns->model = m;
	snprintf(ns->name, sizeof(ns->name), "%s", name);
	ns->mode = 0755;
	ns->next_id = 1;
	ns->dirfd = -1;
	ns->ctime = ns->mtime = time(NULL);
	for (size_t i = 0; i < NPARAMS_MAX; i++)
		ns->cfg_mtime[i] = ns->ctime;
	ns->hosts = strdup("");
	ns->vlan_range = strdup("101-4094");
	if (!ns->hosts || !ns->vlan_range) {
		ns_put(ns);
		return NULL;
	}
	return ns;
}

static void ns_unlink(struct model *m, struct ns *ns)
{
	plist_remove((void **)m->nss, &m->nns, NS_OFF, ns->name);
	ns_unregister(m, ns);
	ns->gone = true;
	ns_put(ns);
}

int ns_save(struct model *m, struct ns *ns)
{
	struct sbuf b = {0};
	char num[32];
	snprintf(num, sizeof(num), "%u", (unsigned)ns->uid);
	store_kv(&b, "uid", num);
	snprintf(num, sizeof(num), "%u", (unsigned)ns->gid);
	store_kv(&b, "gid", num);
	snprintf(num, sizeof(num), "%04o", (unsigned)ns->mode & 07777);
	store_kv(&b, "mode", num);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)ns->id);
	if (ns->id) /* none yet: ids_give saves it once it has one */
		store_kv(&b, "id", num);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)ns->next_id);
	store_kv(&b, "next-id", num);
	snprintf(num, sizeof(num), "%lld", (long long)ns->ctime);
	store_kv(&b, "ctime", num);
	store_kv(&b, "hosts", ns->hosts);
	store_kv(&b, "vlan-range", ns->vlan_range);
	if (ns->taps && *ns->taps)
		store_kv(&b, "taps", ns->taps);
	model_notify(m, &(struct model_ev){.kind = MEV_NS_SAVING, .ns = ns, .conf = &b});
	store_params(&b, "config.", ns->cfg);
	int r = sb_err(&b);
	if (!r)
		r = write_atomic(ns->dirfd, "ns.conf", b.p, b.len, 1);
	sb_free(&b);
	return r;
}

static int ns_dirs(struct ns *ns)
{
	for (int t = 0; t < 2; t++)
		if (mkdirat(ns->dirfd, otype_dirs[t], 0700) < 0 && errno != EEXIST)
			return -errno;
	return 0;
}

int ns_open_dir(struct model *m, struct ns *ns, bool create)
{
	if (create && mkdirat(m->nsdirfd, ns->name, 0700) < 0)
		return -errno;
	ns->dirfd = openat(m->nsdirfd, ns->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ns->dirfd < 0)
		return -errno;
	evlog_init(&ns->log, ns->dirfd, "log");
	return ns_dirs(ns);
}

int ns_create(struct model *m, const char *name, uid_t uid, gid_t gid, mode_t mode,
	      struct ns **out, char *err, size_t errlen)
{
	int r = name_check(name, err, errlen);
	if (r)
		return r;
	if (ns_find(m, name)) {
		snprintf(err, errlen, "namespace %s exists already", name);
		return -EEXIST;
	}
	struct ns *ns = ns_alloc(m, name);
	if (!ns)
		return -ENOMEM;
	ns->uid = uid;
	ns->gid = gid;
	ns->mode = mode & 07777;
	if ((r = ns_new_id(m, ns, err, errlen))) {
		ns_put(ns);
		return r;
	}
	r = ns_register(m, ns);
	if (!r)
		r = ns_open_dir(m, ns, true);
	if (!r)
		r = ns_save(m, ns);
	if (!r)
		r = nslist_insert(m, ns);
	if (r) {
		snprintf(err, errlen, "cannot create namespace %s in the state directory: %s", name,
			 strerror(-r));
		if (ns->dirfd >= 0)
			remove_tree(m->nsdirfd, name);
		ns_unregister(m, ns);
		ns_put(ns);
		return r;
	}
	evlog_add(&ns->log, "namespace %s created (owner %u:%u, mode %04o)", name, (unsigned)uid,
		  (unsigned)gid, (unsigned)ns->mode);
	if (out)
		*out = ns;
	return 0;
}

int ns_remove(struct model *m, struct ns *ns, char *err, size_t errlen)
{
	if (!strcmp(ns->name, "default")) {
		snprintf(err, errlen, "the default namespace cannot be removed");
		return -EBUSY;
	}
	size_t n = ns->objs[OT_VM].n + ns->objs[OT_CT].n;
	if (n) {
		snprintf(err, errlen, "namespace %s still holds %zu VMs and containers", ns->name,
			 n);
		return -ENOTEMPTY;
	}
	int r = remove_tree(m->nsdirfd, ns->name);
	if (!r) /* networking drops its devices; the record went with the directory */
		model_notify(m, &(struct model_ev){.kind = MEV_NS_REMOVED, .ns = ns});
	if (r) {
		snprintf(err, errlen, "cannot remove namespace %s from the state directory: %s",
			 ns->name, strerror(-r));
		return r;
	}
	ns_unlink(m, ns);
	return 0;
}

int ns_set_owner(struct model *m, struct ns *ns, uid_t uid, gid_t gid, mode_t mode)
{
	uid_t ou = ns->uid;
	gid_t og = ns->gid;
	mode_t om = ns->mode;
	ns->uid = uid;
	ns->gid = gid;
	ns->mode = mode & 07777;
	int r = ns_save(m, ns);
	if (r) {
		ns->uid = ou;
		ns->gid = og;
		ns->mode = om;
		return r;
	}
	ns->mtime = time(NULL);
	return 0;
}
