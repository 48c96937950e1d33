/* Opening the state directory at start: every namespace and object comes back as it was.
 * Nothing on disk is trusted: a bad name, value or file is skipped with a reason, and a
 * directory a crash left half-made (no config yet) is removed. */
#include "runtime/vlan.h"
#include "runtime/model.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/model_int.h"
#include "runtime/slotmap.h"
#include "runtime/store.h"

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

static int set_cfg(char **cfg, const char *key, const char *value, const char *where)
{
	int i = param_index(key);
	char err[256];
	if (i < 0) {
		fprintf(stderr, "vmfs: %s: unknown parameter %s ignored\n", where, key);
		return 0;
	}
	if (param_check(&params[i], value, err, sizeof(err))) {
		fprintf(stderr, "vmfs: %s: %s ignored: %s\n", where, key, err);
		return 0;
	}
	free(cfg[i]);
	cfg[i] = strdup(value);
	return cfg[i] ? 0 : -ENOMEM;
}

static int ns_kv(const char *k, const char *v, void *arg)
{
	struct ns *ns = arg;
	char *end;
	if (!strcmp(k, "uid"))
		ns->uid = strtoul(v, &end, 10);
	else if (!strcmp(k, "gid"))
		ns->gid = strtoul(v, &end, 10);
	else if (!strcmp(k, "mode"))
		ns->mode = strtoul(v, &end, 8) & 07777;
	else if (!strcmp(k, "next-id"))
		ns->next_id = strtoull(v, &end, 10);
	else if (!strcmp(k, "ctime"))
		ns->ctime = ns->mtime = strtoll(v, &end, 10);
	else if (!strcmp(k, "hosts")) {
		free(ns->hosts);
		ns->hosts = strdup(v);
	} else if (!strcmp(k, "taps")) {
		free(ns->taps);
		if (!(ns->taps = strdup(v)))
			return -ENOMEM;
	} else if (!strcmp(k, "vlan-range")) {
		free(ns->vlan_range);
		ns->vlan_range = strdup(v);
	} else if (!strncmp(k, "config.", 7))
		return set_cfg(ns->cfg, k + 7, v, ns->name);
	else if (!strncmp(k, "vlan.", 5))
		return vlan_load(ns, k + 5, v);
	return ns->hosts && ns->vlan_range ? 0 : -ENOMEM;
}

static int obj_kv(const char *k, const char *v, void *arg)
{
	struct object *o = arg;
	if (!strcmp(k, "id"))
		o->id = strtoull(v, NULL, 10);
	else if (!strcmp(k, "ctime"))
		o->ctime = o->mtime = strtoll(v, NULL, 10);
	else if (!strcmp(k, "state")) {
		for (int s = ST_BUILDING; s <= ST_ERROR; s++)
			if (!strcmp(v, ostate_name(s)))
				o->state = s;
	} else
		return set_cfg(o->cfg, k, v, o->name);
	return 0;
}

static void obj_load(struct model *m, struct ns *ns, enum otype t, const char *name)
{
	char path[NAME_MAX_LEN * 2 + 32], err[256];
	snprintf(path, sizeof(path), "%s/%s", otype_dir(t), name);
	if (name_check(name, err, sizeof(err))) {
		fprintf(stderr, "vmfs: state %s/%s skipped: %s\n", ns->name, path, err);
		return;
	}
	auto_free char *text = NULL;
	snprintf(path, sizeof(path), "%s/%s/config", otype_dir(t), name);
	if (read_small(ns->dirfd, path, 1 << 20, &text, NULL) < 0) {
		/* mkdir happened, the config rename did not: the create never completed */
		snprintf(path, sizeof(path), "%s/%s", otype_dir(t), name);
		remove_tree(ns->dirfd, path);
		return;
	}
	struct object *o = obj_alloc(m, ns, t, name);
	if (!o || store_parse(text, obj_kv, o) || obj_find_any(ns, name) || obj_insert(m, o)) {
		fprintf(stderr, "vmfs: state %s/%s: cannot load\n", ns->name, path);
		if (o)
			obj_put(o);
		return;
	}
	for (size_t i = 0; i < NPARAMS_MAX; i++)
		o->cfg_mtime[i] = o->mtime;
	if (o->id >= ns->next_id)
		ns->next_id = o->id + 1;
}

static void ns_load_objs(struct model *m, struct ns *ns, enum otype t)
{
	int fd = openat(ns->dirfd, otype_dir(t), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			obj_load(m, ns, t, de->d_name);
	closedir(d);
}

static void ns_load(struct model *m, const char *name)
{
	char err[256];
	if (name_check(name, err, sizeof(err))) {
		fprintf(stderr, "vmfs: state ns/%s skipped: %s\n", name, err);
		return;
	}
	struct ns *ns = ns_alloc(m, name);
	if (!ns)
		return;
	auto_free char *text = NULL;
	if (ns_open_dir(m, ns, false) < 0 || read_small(ns->dirfd, "ns.conf", 1 << 20, &text, NULL) < 0 ||
	    store_parse(text, ns_kv, ns) || nslist_insert(m, ns)) {
		fprintf(stderr, "vmfs: state ns/%s: cannot load, skipped\n", name);
		slotmap_del(m->slots, ns->slot);
		ns_put(ns);
		return;
	}
	for (size_t i = 0; i < NPARAMS_MAX; i++)
		ns->cfg_mtime[i] = ns->mtime;
	ns_load_objs(m, ns, OT_VM);
	ns_load_objs(m, ns, OT_CT);
}

static int open_dir(const char *path, char *err, size_t errlen, const char *what)
{
	int r = mkdir_p(path, 0755);
	int fd = r ? r : open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the %s %s: %s", what, path,
			 strerror(fd == -1 ? errno : -fd));
		return -1;
	}
	return fd;
}

int model_open(struct model *m, const char *statedir, const char *imagedir, char *err,
	       size_t errlen)
{
	*m = (struct model){.statefd = -1, .nsdirfd = -1, .imagefd = -1, .inotify = -1, .rtep = -1};
	m->started = time(NULL);
	m->statedir = strdup(statedir);
	m->imagedir = strdup(imagedir);
	m->slots = slotmap_new();
	if (!m->statedir || !m->imagedir || !m->slots)
		return -ENOMEM;
	if ((m->statefd = open_dir(statedir, err, errlen, "state directory")) < 0 ||
	    (m->imagefd = open_dir(imagedir, err, errlen, "image directory")) < 0)
		return -EIO;
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
	if (!ns_find(m, "default"))
		return ns_create(m, "default", getuid(), getgid(), 0755, NULL, err, errlen);
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
}
