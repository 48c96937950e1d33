/* VMs and containers: creation from the namespace template, removal, and their config file. */
#include "runtime/model.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/lifecycle.h"
#include "runtime/model_int.h"
#include "runtime/slotmap.h"
#include "runtime/store.h"

struct object *obj_alloc(struct model *m, struct ns *ns, enum otype t, const char *name)
{
	struct object *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->refs = 1;
	o->ns = ns;
	ns_get(ns);
	o->type = t;
	snprintf(o->name, sizeof(o->name), "%s", name);
	lifecycle_init(o, ST_BUILDING);
	o->ctime = o->mtime = time(NULL);
	for (size_t i = 0; i < NPARAMS_MAX; i++)
		o->cfg_mtime[i] = o->ctime;
	char path[sizeof(o->log.path)];
	snprintf(path, sizeof(path), "%s/%s/log", otype_dir(t), name);
	evlog_init(&o->log, ns->dirfd, path);
	waitq_init(&o->console_wq);
	waitq_init(&o->job_wq);
	o->rt.wd = -1;
	o->rt.console_fd = -1;
	o->rt.pidfd = -1;
	o->rt.vnc_display = -1;
	return o;
}

static void obj_render(const struct object *o, struct sbuf *b)
{
	char num[32];
	snprintf(num, sizeof(num), "%llu", (unsigned long long)o->id);
	store_kv(b, "id", num);
	snprintf(num, sizeof(num), "%lld", (long long)o->ctime);
	store_kv(b, "ctime", num);
	store_kv(b, "state", ostate_name(o->state));
	store_params(b, "", o->cfg);
}

/* Writes o's config, making its directory when new. A new object is written without a
 * sync: the caller syncs once for a whole batch (1,000 fsyncs would make `launch` take
 * seconds); a change to an existing one is synced at once. */
static int obj_write(struct object *o, bool is_new)
{
	char dir[NAME_MAX_LEN + 16];
	snprintf(dir, sizeof(dir), "%s/%s", otype_dir(o->type), o->name);
	if (is_new && mkdirat(o->ns->dirfd, dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	auto_close int fd = openat(o->ns->dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct sbuf b = {0};
	obj_render(o, &b);
	int r = sb_err(&b);
	if (!r)
		r = write_atomic(fd, "config", b.p, b.len, !is_new);
	sb_free(&b);
	return r;
}

int obj_save(struct model *m, struct object *o)
{
	return obj_write(o, false);
}

static int obj_copy_cfg(struct object *o, char *const *src)
{
	unsigned mask = otype_mask(o->type);
	for (size_t i = 0; i < nparams; i++) {
		if (!src[i] || !(params[i].applies & mask))
			continue;
		o->cfg[i] = strdup(src[i]);
		if (!o->cfg[i])
			return -ENOMEM;
	}
	return 0;
}

static int names_free(struct ns *ns, char **names, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		struct object *o = obj_find_any(ns, names[i]);
		if (o) {
			snprintf(err, errlen, "%s exists already (a %s in namespace %s)", names[i],
				 o->type == OT_VM ? "VM" : "container", ns->name);
			return -EEXIST;
		}
	}
	return 0;
}

static void obj_discard(struct model *m, struct object *o)
{
	char dir[NAME_MAX_LEN + 16];
	snprintf(dir, sizeof(dir), "%s/%s", otype_dir(o->type), o->name);
	remove_tree(o->ns->dirfd, dir);
	obj_put(o);
}

int obj_insert(struct model *m, struct object *o)
{
	struct objlist *l = &o->ns->objs[o->type];
	int r = objlist_insert(l, o);
	if (r)
		return r;
	o->slot = o->ns->slot ? o->ns->slot | o->id : 0; /* else ns_register puts it */
	if (o->slot && slotmap_put(m->slots, o->slot, SLOT_OBJ, o) < 0) {
		objlist_remove(l, o->name);
		o->slot = 0;
		return -ENOMEM;
	}
	m->nobjs[o->type]++;
	return 0;
}

/* Given ids are taken when each is past the namespace's counter and past the one before (ids
 * are never reused here either); else the counter's. */
static bool ids_usable(const struct ns *ns, const uint64_t *ids, size_t n)
{
	for (size_t i = 0; ids && i < n; i++)
		if (ids[i] < (i ? ids[i - 1] + 1 : ns->next_id) || ids[i] > OBJ_ID_MAX)
			return false;
	return ids && n;
}

int obj_create_many(struct model *m, struct ns *ns, enum otype t, char **names, size_t n,
		    const struct object *like, char *err, size_t errlen)
{
	return obj_create_many_ids(m, ns, t, names, n, NULL, like, err, errlen);
}

int obj_create_many_ids(struct model *m, struct ns *ns, enum otype t, char **names, size_t n,
			const uint64_t *ids, const struct object *like, char *err, size_t errlen)
{
	int r = names_free(ns, names, n, err, errlen);
	if (r)
		return r;
	if (!ids_usable(ns, ids, n))
		ids = NULL;
	if (!ids && (n > OBJ_ID_MAX || ns->next_id > OBJ_ID_MAX + 1 - n)) {
		snprintf(err, errlen, "namespace %s has used all its %llu object ids: make another "
			 "namespace", ns->name, (unsigned long long)OBJ_ID_MAX);
		return -ENOSPC;
	}
	struct object **made = calloc(n ? n : 1, sizeof(*made));
	if (!made)
		return -ENOMEM;
	size_t k;
	for (k = 0; k < n; k++) {
		struct object *o = made[k] = obj_alloc(m, ns, t, names[k]);
		if (!o) {
			r = -ENOMEM;
			break;
		}
		o->id = ids ? ids[k] : ns->next_id + k;
		r = obj_copy_cfg(o, like ? like->cfg : ns->cfg);
		if (!r)
			r = obj_write(o, true);
		if (r)
			break;
	}
	if (!r && syncfs(ns->dirfd) < 0)
		r = -errno;
	if (!r) {
		ns->next_id = ids ? ids[n - 1] + 1 : ns->next_id + n;
		r = ns_save(m, ns);
	}
	if (r) {
		snprintf(err, errlen, "cannot write %s to the state directory: %s",
			 k < n ? names[k] : "the namespace", strerror(-r));
		for (size_t i = 0; i < n && made[i]; i++)
			obj_discard(m, made[i]);
		free(made);
		return r;
	}
	for (k = 0; k < n; k++) {
		obj_insert(m, made[k]);
		if (like)
			model_event(ns, made[k], "created (%s) from the config of %s",
				    otype_name(t), like->name);
		else
			model_event(ns, made[k], "created (%s) from the namespace template",
				    otype_name(t));
	}
	ns->mtime = time(NULL);
	free(made);
	return 0;
}

int obj_remove(struct model *m, struct object *o, char *err, size_t errlen)
{
	if (o->state == ST_RUNNING || o->state == ST_PAUSED) {
		snprintf(err, errlen, "%s is %s: kill it first", o->name, ostate_name(o->state));
		return -EBUSY;
	}
	char dir[NAME_MAX_LEN + 16], run[NAME_MAX_LEN + 24];
	snprintf(dir, sizeof(dir), "%s/%s", otype_dir(o->type), o->name);
	snprintf(run, sizeof(run), "%s/run", dir);
	/* run/ first: what can refuse (a mount left in it) refuses while the config is intact */
	int r = remove_tree(o->ns->dirfd, run);
	if (!r)
		r = remove_tree(o->ns->dirfd, dir);
	if (r) {
		snprintf(err, errlen, "cannot remove %s from the state directory: %s", o->name,
			 strerror(-r));
		return r;
	}
	struct ns *ns = o->ns;
	evlog_add(&ns->log, "%s/%s: removed", otype_dir(o->type), o->name);
	objlist_remove(&ns->objs[o->type], o->name);
	slotmap_del(m->slots, o->slot);
	m->nobjs[o->type]--;
	ns->mtime = time(NULL);
	o->gone = true;
	waitq_wake_all(&o->console_wq); /* parked readers see the end */
	waitq_wake_all(&o->log.wq);
	if (m->on_remove)
		m->on_remove(m->on_remove_arg, o);
	obj_put(o);
	return 0;
}
