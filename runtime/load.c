/* Opening the state directory at start: every namespace and object comes back as it was.
 * Nothing on disk is trusted, and nothing on disk is thrown away for being unreadable: a
 * file or directory that is not what vmfs writes is moved aside to damaged/ with the reason
 * (runtime/damaged.c), said in host/log and in the namespace's log, and everything else
 * loads; a knob's bad value costs only that value (struct aside). Only a directory a crash
 * left half-made (mkdir done, config not renamed in yet: nothing inside but temporary files)
 * is removed, since nothing was ever in it. */
#include "runtime/model.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl/util.h"
#include "runtime/damaged.h"
#include "runtime/err.h"
#include "runtime/lifecycle.h"
#include "runtime/model_int.h"
#include "runtime/slotmap.h"
#include "runtime/store.h"

#define ID_MAX ((1ull << 63) - 1) /* ids and times are kept in 64 signed bits elsewhere */

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* A parameter as the model keeps it: known, valid, and not empty (an unset one is not
 * written). Whether a path exists is not checked: an image may come back later. */
static int set_cfg(char **cfg, const char *key, const char *value, char *err, size_t errlen)
{
	int i = param_index(key);
	if (i < 0)
		return ctl_fail(err, errlen, "not a parameter vmfs knows");
	if (!*value)
		return ctl_fail(err, errlen, "empty (vmfs never writes an unset parameter)");
	int r = param_check(&params[i], value, err, errlen);
	if (r)
		return r;
	free(cfg[i]);
	cfg[i] = strdup(value);
	return cfg[i] ? 0 : -ENOMEM;
}

/* Knob values a state file holds that the table of knobs (ctl/params.c) refuses, as it
 * would through the mount: wrong syntax, too long, a control byte, out of range, no such
 * knob. None is used; its default stands. The object or namespace still loads with the rest
 * (its running process is adopted): a bad value is no reason to hide the whole. The file as
 * it was is kept in damaged/ before it is written again without them (runtime/damaged.c). */
struct aside {
	struct sbuf why; /* a line each: "vcpus=\"abc\": \"abc\" is not a whole number..." */
	unsigned n;
};

/* key's value into cfg (mask: the object type's, 0 for a namespace's template), or aside. */
static int cfg_or_aside(struct aside *a, char **cfg, unsigned mask, const char *key,
			const char *name, const char *value)
{
	char why[600], q[80];
	int i = param_index(name), r = 0;
	if (i >= 0 && mask && !(params[i].applies & mask))
		r = ctl_fail(why, sizeof(why), "not a parameter of a %s",
			     mask == otype_mask(OT_VM) ? "VM" : "container");
	else
		r = set_cfg(cfg, name, value, why, sizeof(why));
	if (!r || r == -ENOMEM)
		return r;
	size_t n = strlen(name);
	const char *w = !strncmp(why, name, n) && !strncmp(why + n, ": ", 2) ? why + n + 2 : why;
	a->n++;
	sb_printf(&a->why, "%s=\"%s\": %s\n", key, ctl_quote(value, strlen(value), q, sizeof(q)), w);
	return sb_err(&a->why);
}

/* The file as it was (orig) kept in damaged/, then written again by save without what was
 * set aside; each value said in the namespace's log and o's (NULL: a namespace's). Nothing
 * kept, nothing written: the values stay on disk, unused, until a change writes the file. */
static void aside_keep(struct model *m, struct ns *ns, struct object *o, const char *rel,
		       const char *orig, size_t len, struct aside *a)
{
	char what[600], where[300], done[600];
	snprintf(what, sizeof(what), "ns/%s/%s", ns->name, rel);
	int r = sb_err(&a->why), w = 0;
	if (!r) {
		a->why.p[a->why.len - 1] = 0; /* the last newline */
		r = damaged_keep(m, what, orig, len, a->why.p, where, sizeof(where));
	}
	if (!r && (w = o ? obj_save(m, o) : ns_save(m, ns)))
		snprintf(done, sizeof(done), "set aside (the file as it was is in %s in the state "
			 "directory), the default is used; the file could not be written again "
			 "without it: %s", where, strerror(-w));
	else if (!r)
		snprintf(done, sizeof(done), "set aside (the file as it was is in %s in the state "
			 "directory), the default is used", where);
	else
		snprintf(done, sizeof(done), "not used, the default is (it could not be set aside: "
			 "%s)", strerror(-r));
	char *save = NULL;
	for (char *l = a->why.p ? strtok_r(a->why.p, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save)) {
		char text[1400];
		snprintf(text, sizeof(text), "%s; %s", l, done);
		if (r || w)
			damage_note(m, "error: state %s: %s", what, text);
		model_error(ns, o, o ? "config" : "ns.conf", text);
	}
}

/* Keys a file must have, with no default that could stand in for them. */
struct required {
	const char *const *keys;
	unsigned seen; /* bit i: keys[i] was given */
};

static void required_seen(struct required *q, const char *key)
{
	for (unsigned i = 0; q->keys[i]; i++)
		if (!strcmp(key, q->keys[i]))
			q->seen |= 1u << i;
}

/* "" if all were given, else "; it has no uid, gid". */
static void required_missing(const struct required *q, char *out, size_t outlen)
{
	size_t n = 0;
	out[0] = 0;
	for (unsigned i = 0; q->keys[i]; i++)
		if (!(q->seen & 1u << i) && n < outlen)
			n += snprintf(out + n, outlen - n, "%s%s", n ? ", " : "it has no ", q->keys[i]);
}

static const char *const ns_required[] = {"uid", "gid", "mode", "next-id", "ctime", NULL};
static const char *const obj_required[] = {"id", "ctime", "state", NULL};

struct nsload {
	struct ns *ns;
	struct required req;
	struct aside aside;
};

static int hosts_check(const char *v, char *err, size_t errlen)
{
	auto_free char *buf = strdup(v);
	char *save = NULL;
	if (!buf)
		return -ENOMEM;
	for (char *h = strtok_r(buf, " \t,", &save); h; h = strtok_r(NULL, " \t,", &save))
		if (name_check(h, err, errlen))
			return -EINVAL;
	return 0;
}

/* "VLAN=ADDR ..." (runtime/net.c reads it): the shape only; the addresses were checked when
 * they were set and are checked again when the taps are made. */
static int taps_check(const char *v, char *err, size_t errlen)
{
	auto_free char *buf = strdup(v);
	char *save = NULL, q[80];
	if (!buf)
		return -ENOMEM;
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(t, '=');
		if (!eq || !eq[1] || strcspn(eq + 1, "\t\r\n\\\"") != strlen(eq + 1) ||
		    (*eq = 0, name_check(t, err, errlen)))
			return ctl_fail(err, errlen, "\"%s\" is not VLAN=ADDRESS",
					ctl_quote(t, strlen(t), q, sizeof(q)));
	}
	return 0;
}

/* A key the subscribers own (networking's vlan.ALIAS), or one no one knows. */
static int ns_other_key(struct ns *ns, const char *k, const char *v, char *err, size_t errlen)
{
	struct err e;
	err_clear(&e);
	int r = model_notify(ns->model, &(struct model_ev){.kind = MEV_NS_KEY, .ns = ns, .key = k,
							   .value = v, .err = &e});
	if (r == 1)
		return ctl_fail(err, errlen, "not a key of ns.conf");
	return err_result(&e, r, err, errlen);
}

static int ns_kv(const char *k, const char *v, void *arg, char *err, size_t errlen)
{
	struct nsload *l = arg;
	struct ns *ns = l->ns;
	unsigned long long x;
	long lo, hi;
	int r;
	required_seen(&l->req, k);
	if (!strncmp(k, "config.", 7))
		return cfg_or_aside(&l->aside, ns->cfg, 0, k, k + 7, v);
	char **text = !strcmp(k, "hosts") ? &ns->hosts
		     : !strcmp(k, "taps")       ? &ns->taps
		     : !strcmp(k, "vlan-range") ? &ns->vlan_range
						: NULL;
	if (text) {
		r = text == &ns->hosts  ? hosts_check(v, err, errlen)
		    : text == &ns->taps ? taps_check(v, err, errlen)
					: value_vlan_range(v, &lo, &hi, err, errlen);
		char *copy = r ? NULL : strdup(v);
		if (!r && !copy)
			r = -ENOMEM;
		if (!r) {
			free(*text);
			*text = copy;
		}
		return r;
	}
	if (!strcmp(k, "uid") || !strcmp(k, "gid")) {
		if (!(r = store_num(v, 10, 0, UINT32_MAX - 1, &x, err, errlen)))
			*(k[0] == 'u' ? &ns->uid : &ns->gid) = x;
	} else if (!strcmp(k, "mode")) {
		if (!(r = store_num(v, 8, 0, 07777, &x, err, errlen)))
			ns->mode = x;
	} else if (!strcmp(k, "id")) {
		if (!(r = store_num(v, 10, 1, NS_ID_MAX, &x, err, errlen)))
			ns->id = x;
	} else if (!strcmp(k, "next-id")) {
		if (!(r = store_num(v, 10, 1, ID_MAX, &x, err, errlen)))
			ns->next_id = x;
	} else if (!strcmp(k, "ctime")) {
		if (!(r = store_num(v, 10, 0, ID_MAX, &x, err, errlen)))
			ns->ctime = ns->mtime = x;
	} else
		r = ns_other_key(ns, k, v, err, errlen);
	return r;
}

struct objload {
	struct object *o;
	struct required req;
	struct aside aside;
};

static int obj_kv(const char *k, const char *v, void *arg, char *err, size_t errlen)
{
	struct objload *l = arg;
	struct object *o = l->o;
	unsigned long long x;
	int r;
	required_seen(&l->req, k);
	if (!strcmp(k, "id")) {
		if (!(r = store_num(v, 10, 1, OBJ_ID_MAX, &x, err, errlen)))
			o->id = x;
	} else if (!strcmp(k, "ctime")) {
		if (!(r = store_num(v, 10, 0, ID_MAX, &x, err, errlen)))
			o->ctime = o->mtime = x;
	} else if (!strcmp(k, "state")) {
		enum ostate s;
		if (!(r = store_state(v, &s, err, errlen)))
			lifecycle_init(o, s);
	} else
		r = cfg_or_aside(&l->aside, o->cfg, otype_mask(o->type), k, k, v);
	return r;
}

/* Ids of one namespace's objects loaded so far: two objects with one id cannot both be
 * right, and 20,000 objects must not cost 20,000 list walks each. */
struct idset {
	struct object **v; /* open addressing, a power of two long */
	size_t cap, n;
};

static size_t id_slot(const struct idset *s, uint64_t id)
{
	size_t i = (id * 0x9e3779b97f4a7c15ull >> 20) & (s->cap - 1);
	while (s->v[i] && s->v[i]->id != id)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static struct object *idset_find(const struct idset *s, uint64_t id)
{
	return s->cap ? s->v[id_slot(s, id)] : NULL;
}

static int idset_add(struct idset *s, struct object *o)
{
	if ((s->n + 1) * 2 > s->cap) {
		struct idset g = {calloc(s->cap ? s->cap * 2 : 64, sizeof(*g.v)), s->cap ? s->cap * 2 : 64};
		if (!g.v)
			return -ENOMEM;
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i])
				g.v[id_slot(&g, s->v[i]->id)] = s->v[i];
		g.n = s->n;
		free(s->v);
		*s = g;
	}
	s->v[id_slot(s, o->id)] = o;
	s->n++;
	return 0;
}

/* Nothing in it but what write_atomic leaves before its rename (".NAME.tmp"), or, for a
 * namespace, its empty vms/ and containers/: a mkdir whose first write never landed. */
static bool half_made(int dirfd, const char *name, bool ns)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	bool only_tmp = true;
	struct dirent *de;
	while (only_tmp && (de = readdir(d))) {
		const char *n = de->d_name;
		size_t len = strlen(n);
		struct stat st;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		if (fstatat(fd, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
			only_tmp = false;
		else if (ns && S_ISDIR(st.st_mode) && (!strcmp(n, "vms") || !strcmp(n, "containers")))
			only_tmp = half_made(fd, n, false);
		else
			only_tmp = S_ISREG(st.st_mode) && n[0] == '.' && len > 5 &&
				   !strcmp(n + len - 4, ".tmp");
	}
	closedir(d);
	return only_tmp;
}

/* Moves ns's REL ("containers/c1", "ns.conf") aside and says so in the namespace's log too. */
static void ns_damaged(struct model *m, struct ns *ns, const char *rel, const char *why)
{
	char what[600], where[300], text[1200];
	snprintf(what, sizeof(what), "ns/%s/%s", ns->name, rel);
	if (damaged_move(m, ns->dirfd, rel, what, why, where, sizeof(where)) == 0)
		snprintf(text, sizeof(text), "damaged, moved aside to %s in the state directory: %s",
			 where, why);
	else {
		snprintf(text, sizeof(text), "damaged, not loaded: %s", why);
		m->load_incomplete = true; /* left where it was */
	}
	model_error(ns, NULL, rel, text); /* the log escapes a newline in a bad name */
}

/* A log that is not a regular file would hang the first event written to it (a FIFO) or
 * send it elsewhere (a link): it alone goes aside, and a new log starts. dir is "" for the
 * namespace's own logs, else "containers/c1/"; without ns, host/log's in the state directory. */
static void logs_check(struct model *m, struct ns *ns, const char *dir)
{
	static const char *const logs[] = {"log", "log.1"};
	for (size_t i = 0; i < ARRAY_SIZE(logs); i++) {
		char rel[300], why[200], where[300];
		struct stat st;
		snprintf(rel, sizeof(rel), "%s%s", dir, logs[i]);
		if (fstatat(ns ? ns->dirfd : m->statefd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    S_ISREG(st.st_mode))
			continue;
		snprintf(why, sizeof(why), "%s is %s, not a regular file; a new log starts", logs[i],
			 file_kind(st.st_mode));
		if (ns)
			ns_damaged(m, ns, rel, why);
		else
			damaged_move(m, m->statefd, rel, rel, why, where, sizeof(where));
	}
}

/* An object's run directory goes aside with it, and with it what vmfs would need to adopt a
 * container or VM still running: that is said, since nothing else will say it. */
static void obj_damaged(struct model *m, struct ns *ns, const char *rel, int dfd, char *why,
			size_t whylen)
{
	struct stat st;
	size_t n = strlen(why);
	if (fstatat(dfd, "run", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
		snprintf(why + n, whylen - n, "; its run directory went with it, so a container or "
			 "VM it was running is not adopted");
	ns_damaged(m, ns, rel, why);
}

/* Loads ns/NS/TYPE/name, or says why not and moves it aside. */
static void obj_load(struct model *m, struct ns *ns, struct idset *ids, enum otype t,
		     const char *name)
{
	char rel[300], why[1024], err[900], miss[64];
	snprintf(rel, sizeof(rel), "%s/%s", otype_dir(t), name);
	struct stat st;
	if (name_check(name, err, sizeof(err))) {
		snprintf(why, sizeof(why), "not a name vmfs gives: %s", err);
		return ns_damaged(m, ns, rel, why);
	}
	if (fstatat(ns->dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return; /* gone since readdir saw it */
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, sizeof(why), "%s, not the object's directory", file_kind(st.st_mode));
		return ns_damaged(m, ns, rel, why);
	}
	auto_close int dfd = openat(ns->dirfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	auto_free char *text = NULL;
	size_t len = 0;
	int r = dfd < 0 ? -errno : read_state(dfd, "config", STORE_FILE_MAX, &text, &len, err, sizeof(err));
	if (dfd < 0)
		snprintf(err, sizeof(err), "the directory cannot be opened: %s", strerror(-r));
	if (r == -ENOENT && half_made(ns->dirfd, rel, false)) {
		r = remove_tree(ns->dirfd, rel);
		damage_note(m, "state ns/%s/%s: %s a directory a crash left half-made (no config yet, "
			       "only temporary files)", ns->name, rel, r ? "cannot remove" : "removed");
		return;
	}
	if (r) {
		snprintf(why, sizeof(why), "%s", err);
		return obj_damaged(m, ns, rel, dfd, why, sizeof(why));
	}
	struct object *o = obj_alloc(m, ns, t, name), *other;
	if (!o) {
		damage_left(m, "error: state ns/%s/%s not loaded: out of memory", ns->name, rel);
		return;
	}
	struct objload l = {o, {obj_required, 0}, {{0}, 0}};
	auto_free char *orig = malloc(len); /* store_parse cuts text up */
	why[0] = 0;
	if (orig)
		memcpy(orig, text, len);
	if (!orig || (r = store_parse(text, len, obj_kv, &l, err, sizeof(err))) == -ENOMEM) {
		sb_free(&l.aside.why);
		obj_put(o);
		damage_left(m, "error: state ns/%s/%s not loaded: out of memory", ns->name, rel);
		return;
	}
	if (r)
		snprintf(why, sizeof(why), "config: %s", err);
	else if (required_missing(&l.req, miss, sizeof(miss)), miss[0])
		snprintf(why, sizeof(why), "config: %s", miss);
	else if ((other = obj_find_any(ns, name)))
		snprintf(why, sizeof(why), "the name %s is already ns/%s/%s/%s's (names are unique "
			 "across a namespace's VMs and containers)", name, ns->name,
			 otype_dir(other->type), other->name);
	else if ((other = idset_find(ids, o->id)))
		snprintf(why, sizeof(why), "id %llu is already ns/%s/%s/%s's",
			 (unsigned long long)o->id, ns->name, otype_dir(other->type), other->name);
	if (o->id >= ns->next_id) /* a damaged object's id too: it may be put back */
		ns->next_id = o->id + 1;
	if (why[0] || obj_insert(m, o)) {
		sb_free(&l.aside.why);
		obj_put(o);
		if (why[0])
			return obj_damaged(m, ns, rel, dfd, why, sizeof(why));
		damage_left(m, "error: state ns/%s/%s not loaded: out of memory", ns->name, rel);
		return;
	}
	idset_add(ids, o); /* out of memory: only this id goes unchecked for duplicates */
	snprintf(rel, sizeof(rel), "%s/%s/", otype_dir(t), name);
	logs_check(m, ns, rel);
	for (size_t i = 0; i < NPARAMS_MAX; i++)
		o->cfg_mtime[i] = o->mtime;
	if (l.aside.n) {
		snprintf(rel, sizeof(rel), "%s/%s/config", otype_dir(t), name);
		aside_keep(m, ns, o, rel, orig, len, &l.aside);
	}
	sb_free(&l.aside.why);
}

int model_load_obj(struct model *m, struct ns *ns, enum otype t, const char *name)
{
	struct idset ids = {0};
	for (int k = 0; k < 2; k++) /* its id must be no other's */
		for (size_t i = 0; i < ns->objs[k].n; i++)
			if (idset_add(&ids, ns->objs[k].v[i])) {
				free(ids.v);
				return -ENOMEM;
			}
	obj_load(m, ns, &ids, t, name);
	free(ids.v);
	return obj_find(ns, t, name) ? 0 : -EIO;
}

static void ns_load_objs(struct model *m, struct ns *ns, struct idset *ids, enum otype t)
{
	struct stat st;
	const char *dir = otype_dir(t);
	if (fstatat(ns->dirfd, dir, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
		char why[100];
		snprintf(why, sizeof(why), "%s is %s, not a directory", dir, file_kind(st.st_mode));
		ns_damaged(m, ns, dir, why);
		mkdirat(ns->dirfd, dir, 0700);
	}
	int fd = openat(ns->dirfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') /* never a name; whoever made it may be using it */
			obj_load(m, ns, ids, t, de->d_name);
	closedir(d);
}

/* Reads ns.conf into ns; "" in why if it is good. Its template's refused values go to
 * *aside, with the file as it was in *orig (len bytes; the caller frees both). */
static void ns_conf_read(struct ns *ns, char *why, size_t whylen, struct aside *aside,
			 char **orig, size_t *len)
{
	auto_free char *text = NULL;
	char err[900], miss[64];
	struct nsload l = {ns, {ns_required, 0}, {{0}, 0}};
	why[0] = 0;
	*orig = NULL;
	*len = 0;
	if (read_state(ns->dirfd, "ns.conf", STORE_FILE_MAX, &text, len, err, sizeof(err)))
		snprintf(why, whylen, "%s", err);
	else if (!(*orig = malloc(*len))) /* store_parse cuts text up */
		snprintf(why, whylen, "ns.conf: %s", strerror(ENOMEM));
	else if (memcpy(*orig, text, *len), store_parse(text, *len, ns_kv, &l, err, sizeof(err)))
		snprintf(why, whylen, "ns.conf: %s", err);
	else if (required_missing(&l.req, miss, sizeof(miss)), miss[0])
		snprintf(why, whylen, "ns.conf: %s", miss);
	*aside = l.aside;
}

/* A namespace whose ns.conf cannot be read keeps its objects: they are what matters and
 * they are each whole. Moving the namespace aside instead would hide every VM and
 * container in it, running ones included, for want of a few settings. What it loses is
 * its settings, and those come back safe rather than guessed: owned by root, mode 0700
 * (nobody gains access they may not have had), an empty template, no hosts, VLAN aliases or
 * taps, the default VLAN range; ids go on after the highest its objects hold. The bad
 * ns.conf is kept in damaged/ to copy settings back from. */
static struct ns *ns_safe(struct model *m, struct ns *bad)
{
	struct ns *ns = ns_alloc(m, bad->name);
	slotmap_del(m->slots, bad->slot);
	ns_put(bad);
	if (!ns)
		return NULL;
	if (ns_open_dir(m, ns, false) < 0) {
		slotmap_del(m->slots, ns->slot);
		ns_put(ns);
		return NULL;
	}
	ns->uid = 0;
	ns->gid = 0;
	ns->mode = 0700;
	return ns;
}

static void ns_load(struct model *m, const char *name)
{
	char what[300], why[1024], where[300], err[256];
	struct stat st;
	snprintf(what, sizeof(what), "ns/%s", name);
	if (name_check(name, err, sizeof(err))) {
		snprintf(why, sizeof(why), "not a name vmfs gives: %s", err);
		damaged_move(m, m->nsdirfd, name, what, why, where, sizeof(where));
		return;
	}
	if (fstatat(m->nsdirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, sizeof(why), "%s, not a namespace's directory", file_kind(st.st_mode));
		damaged_move(m, m->nsdirfd, name, what, why, where, sizeof(where));
		return;
	}
	struct ns *ns = ns_alloc(m, name);
	int r = ns ? ns_open_dir(m, ns, false) : -ENOMEM;
	if (r) {
		damage_left(m, "error: state %s not loaded: %s", what, strerror(-r));
		if (ns) {
			slotmap_del(m->slots, ns->slot);
			ns_put(ns);
		}
		return;
	}
	logs_check(m, ns, "");
	struct aside aside;
	auto_free char *orig = NULL;
	size_t len;
	ns_conf_read(ns, why, sizeof(why), &aside, &orig, &len);
	if (why[0]) /* the whole file goes aside */
		sb_free(&aside.why);
	bool missing = fstatat(ns->dirfd, "ns.conf", &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
	if (why[0] && missing && half_made(m->nsdirfd, name, true)) {
		slotmap_del(m->slots, ns->slot);
		ns_put(ns);
		r = remove_tree(m->nsdirfd, name);
		damage_note(m, "state %s: %s a directory a crash left half-made (no ns.conf yet, "
			       "only temporary files)", what, r ? "cannot remove" : "removed");
		return;
	}
	if (why[0]) {
		if (!(ns = ns_safe(m, ns))) {
			damage_left(m, "error: state %s not loaded: %s", what, why);
			return;
		}
		size_t n = strlen(why);
		snprintf(why + n, sizeof(why) - n, "; namespace %s kept with its objects and safe "
			 "settings (owner root, mode 0700, an empty template)", name);
		if (missing) {
			damage_note(m, "error: damaged state %s/ns.conf: %s", what, why);
			model_error(ns, NULL, "ns.conf", why);
		} else
			ns_damaged(m, ns, "ns.conf", why);
	}
	/* an old state directory's (no id yet), or one copied from another's: it gets one once
	 * every namespace's is known (ids_give) */
	struct ns *twin = ns->id ? model_slot(m, ns->id << OBJ_ID_BITS, SLOT_NS) : NULL;
	if (twin)
		damage_note(m, "state %s: its id %llu is already namespace %s's: it gets a new one "
			       "(handles of its files that NFS clients hold go stale)", what,
			    (unsigned long long)ns->id, twin->name);
	if (twin || !ns->id)
		ns->id = 0;
	else if (ns->id >= m->next_ns_id)
		m->next_ns_id = ns->id + 1;
	if (ns->id && (r = ns_register(m, ns))) {
		sb_free(&aside.why);
		damage_left(m, "error: state %s not loaded: %s", what, strerror(-r));
		ns_put(ns);
		return;
	}
	if (nslist_insert(m, ns)) {
		sb_free(&aside.why);
		damage_left(m, "error: state %s not loaded: out of memory", what);
		slotmap_del(m->slots, ns->slot);
		ns_put(ns);
		return;
	}
	for (size_t i = 0; i < NPARAMS_MAX; i++)
		ns->cfg_mtime[i] = ns->mtime;
	struct idset ids = {0};
	ns_load_objs(m, ns, &ids, OT_VM);
	ns_load_objs(m, ns, &ids, OT_CT);
	free(ids.v);
	if (why[0] && (r = ns_save(m, ns)))
		damage_note(m, "error: state %s: cannot write a new ns.conf: %s", what, strerror(-r));
	if (!why[0] && aside.n)
		aside_keep(m, ns, NULL, "ns.conf", orig, len, &aside);
	sb_free(&aside.why);
}

/* The state directory and the image store hold what containers wrote as root (a setuid
 * binary, with snapshot false): no other host user may enter them (0700; the parents made
 * here stay 0755). One that an earlier vmfs made open is tightened, and host/log says so. */
static int open_dir(struct model *m, const char *path, char *err, size_t errlen,
		    const char *what)
{
	struct stat st;
	int existed = stat(path, &st) == 0;
	int r = mkdir_p(path, 0755);
	int fd = r ? r : open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the %s %s: %s", what, path,
			 strerror(fd == -1 ? errno : -fd));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !(st.st_mode & 077))
		return fd;
	if (fchmod(fd, st.st_mode & 07700) < 0)
		damage_note(m, "error: cannot make the %s %s private (mode %04o): %s", what, path,
			    st.st_mode & 07777, strerror(errno));
	else if (existed)
		damage_note(m, "the %s %s was mode %04o, open to other host users: now %04o", what,
			    path, st.st_mode & 07777, st.st_mode & 07700);
	return fd;
}

int model_open(struct model *m, const char *statedir, const char *imagedir, char *err,
	       size_t errlen)
{
	struct model_sub subs[MODEL_SUBS_MAX];
	size_t nsubs = m->nsubs;
	memcpy(subs, m->subs, sizeof(subs));
	*m = (struct model){.statefd = -1, .nsdirfd = -1, .imagefd = -1, .inotify = -1, .rtep = -1};
	memcpy(m->subs, subs, sizeof(subs));
	m->nsubs = nsubs;
	m->started = time(NULL);
	m->statedir = strdup(statedir);
	m->imagedir = strdup(imagedir);
	m->slots = slotmap_new();
	if (!m->statedir || !m->imagedir || !m->slots)
		return -ENOMEM;
	if ((m->statefd = open_dir(m, statedir, err, errlen, "state directory")) < 0 ||
	    (m->imagefd = open_dir(m, imagedir, err, errlen, "image directory")) < 0)
		return -EIO;
	logs_check(m, NULL, "");
	ids_open(m);
	if (mkdirat(m->statefd, "ns", 0700) < 0 && errno != EEXIST)
		return -errno;
	m->nsdirfd = openat(m->statefd, "ns", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = m->nsdirfd >= 0 ? fdopendir(dup(m->nsdirfd)) : NULL;
	if (!d) {
		snprintf(err, errlen, "cannot read %s/ns: %s", statedir, strerror(errno));
		return -EIO;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			ns_load(m, de->d_name);
	closedir(d);
	int r = 0;
	for (size_t i = 0; i < m->nns; i++)
		if (!m->nss[i]->id)
			ids_give(m, m->nss[i]);
	if (!ns_find(m, "default") &&
	    (r = ns_create(m, "default", getuid(), getgid(), 0755, NULL, err, errlen)))
		return r;
	/* A start that cannot record its number still starts (a full disk must not keep the
	 * guests' manager away): the number is after the clock's seconds, so only a second start
	 * within the same second could meet this one's per-run handles again. */
	ids_new_run(m);
	if ((r = ids_save(m)))
		damage_note(m, "warning: cannot write %s/ids: %s: this start's number is not kept",
			    statedir, strerror(-r));
	return 0;
}

void model_close(struct model *m)
{
	for (size_t i = 0; i < m->nns; i++) {
		struct ns *ns = m->nss[i];
		for (int t = 0; t < 2; t++)
			for (size_t j = 0; j < ns->objs[t].n; j++)
				obj_put(ns->objs[t].v[j]);
		ns_put(ns);
	}
	free(m->nss);
	slotmap_free(m->slots);
	int fds[] = {m->statefd, m->nsdirfd, m->imagefd};
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(m->statedir);
	free(m->imagedir);
	sb_free(&m->damage);
}
