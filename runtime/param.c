/* Setting configuration values: validate everything first, then change memory and disk
 * together, so a refused write leaves no trace but its reason. */
#include "runtime/model.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/err.h"
#include "runtime/model_int.h"

struct pathcheck {
	struct model *m;
	char *err;
	size_t errlen;
};

/* Relative paths name something in the image store, spelled one way only: no ".", "..",
 * or empty parts, so that "in use" checks and the store's boundary hold. */
static bool rel_path_clean(const char *p)
{
	for (const char *s = p;;) {
		size_t n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		if (!s[n])
			return true;
		s += n + 1;
	}
}

/* path with "//", "/./" and "/../" folded, without asking the file system (which, for a
 * path into our own mount, would be asking ourselves). */
static void path_fold(const char *path, char *out, size_t outlen)
{
	size_t n = 0;
	out[0] = 0;
	for (const char *s = path; *s;) {
		while (*s == '/')
			s++;
		size_t len = strcspn(s, "/");
		if (len == 0)
			break;
		if (len == 2 && s[0] == '.' && s[1] == '.') {
			while (n > 0 && out[--n] != '/')
				;
			out[n] = 0;
		} else if (!(len == 1 && s[0] == '.') && n + len + 2 < outlen) {
			out[n++] = '/';
			memcpy(out + n, s, len);
			n += len;
			out[n] = 0;
		}
		s += len;
	}
	if (!n)
		snprintf(out, outlen, "/");
}

static int path_exists(const char *path, void *arg)
{
	struct pathcheck *pc = arg;
	struct stat st;
	const char *mp = pc->m->mountpoint;
	size_t mpl = mp ? strlen(mp) : 0;
	char folded[BUILT_PATH_MAX];
	path_fold(path, folded, sizeof(folded));
	if (path[0] == '/' && mpl && !strncmp(folded, mp, mpl) &&
	    (!folded[mpl] || folded[mpl] == '/')) {
		/* vmfs must never look at its own mount: the kernel would ask vmfs itself */
		const char *in = folded + mpl;
		if (!strncmp(in, "/images/", 8))
			in += 8;
		snprintf(pc->err, pc->errlen, "%s is inside the vmfs mount: name images by their "
			 "path in the image store (%s)", path, *in && *in != '/' ? in : "e.g. vmlinuz");
		return -EINVAL;
	}
	if (path[0] != '/' && !rel_path_clean(path)) {
		snprintf(pc->err, pc->errlen, "%s: a relative path names a file in the image store "
			 "and may not have \".\", \"..\" or empty parts", path);
		return -EINVAL;
	}
	int r = path[0] == '/' ? stat(path, &st) : fstatat(pc->m->imagefd, path, &st, 0);
	if (r == 0)
		return 0;
	if (path[0] == '/')
		snprintf(pc->err, pc->errlen, "%s: %s", path, strerror(errno));
	else
		snprintf(pc->err, pc->errlen, "%s/%s: %s (relative paths are looked up in the image store)",
			 pc->m->imagedir, path, strerror(errno));
	return -ENOENT;
}

int model_check_paths(struct model *m, const struct param *p, const char *value, char *err,
		      size_t errlen)
{
	if (p->type != PT_PATH && p->type != PT_PATHS)
		return 0;
	struct pathcheck pc = {m, err, errlen};
	int r = param_paths(p, value, path_exists, &pc);
	return r < 0 ? r : r ? -ENOENT : 0;
}

bool param_host_reaching(const struct ns *ns, int i, const char *value, char *why, size_t whylen)
{
	const struct param *p = &params[i];
	if (p->reach != PR_NET)
		return param_reaches_host(p, value, why, whylen);
	struct err e;
	err_clear(&e);
	int r = model_notify(ns->model, &(struct model_ev){.kind = MEV_CFG_REACH,
							   .ns = (struct ns *)ns, .param = i,
							   .value = value, .err = &e});
	if (r == 1)
		r = err_set(&e, EPERM, "%s: no one here can tell where it reaches", p->name);
	return err_result(&e, r, why, whylen) != 0;
}

/* The subscribers may refuse a value or make ready what it needs (networking: VLAN ids). */
static int cfg_setting(struct model *m, struct ns *ns, struct object *o, int i, const char *v,
		       char *err, size_t errlen)
{
	struct err e;
	err_clear(&e);
	int r = model_notify(m, &(struct model_ev){.kind = MEV_CFG_SETTING, .ns = ns, .o = o,
						   .param = i, .value = v ? v : "", .err = &e});
	return err_result(&e, r, err, errlen);
}

/* Validates value for parameter i and returns a copy to store (NULL for "" = default). */
static int param_prepare(struct model *m, int i, const char *value, char **out, char *err,
			 size_t errlen)
{
	const struct param *p = &params[i];
	int r = param_check(p, value, err, errlen);
	if (!r && *value)
		r = model_check_paths(m, p, value, err, errlen);
	if (r)
		return r;
	*out = NULL;
	if (*value && !(*out = strdup(value)))
		return -ENOMEM;
	return 0;
}

static int cfg_set(char **cfg, time_t *mtimes, int i, char *v, int (*save)(void *), void *arg,
		   char *err, size_t errlen)
{
	char *old = cfg[i];
	cfg[i] = v;
	int r = save(arg);
	if (r) {
		cfg[i] = old;
		free(v);
		snprintf(err, errlen, "cannot save to the state directory: %s", strerror(-r));
		return r;
	}
	free(old);
	mtimes[i] = time(NULL);
	return 0;
}

struct saver {
	struct model *m;
	struct ns *ns;
	struct object *o;
};

static int save_ns(void *arg)
{
	struct saver *s = arg;
	return ns_save(s->m, s->ns);
}

static int save_obj(void *arg)
{
	struct saver *s = arg;
	return obj_save(s->m, s->o);
}

int obj_param_set(struct model *m, struct object *o, int i, const char *value, char *err,
		  size_t errlen)
{
	if (o->state == ST_RUNNING || o->state == ST_PAUSED) {
		snprintf(err, errlen, "%s is %s: its config changes only while it is stopped",
			 o->name, ostate_name(o->state));
		return -EBUSY;
	}
	char *v;
	int r = param_prepare(m, i, value, &v, err, errlen);
	if (!r && (r = cfg_setting(m, o->ns, o, i, v, err, errlen)))
		free(v);
	if (r)
		return r;
	struct saver s = {m, o->ns, o};
	r = cfg_set(o->cfg, o->cfg_mtime, i, v, save_obj, &s, err, errlen);
	if (!r) {
		o->mtime = time(NULL);
		evlog_add(&o->log, "config/%s = %s", params[i].name, obj_param(o, i));
	}
	return r;
}

int ns_param_set(struct model *m, struct ns *ns, int i, const char *value, char *err,
		 size_t errlen)
{
	char *v;
	int r = param_prepare(m, i, value, &v, err, errlen);
	if (!r && (r = cfg_setting(m, ns, NULL, i, v, err, errlen)))
		free(v);
	if (r)
		return r;
	struct saver s = {m, ns, NULL};
	r = cfg_set(ns->cfg, ns->cfg_mtime, i, v, save_ns, &s, err, errlen);
	if (!r)
		evlog_add(&ns->log, "config/%s = %s", params[i].name, ns_param(ns, i));
	return r;
}

/* Replaces *field with a copy of value and saves the namespace, or changes nothing. */
static int ns_field_set(struct model *m, struct ns *ns, char **field, const char *value, char *err,
			size_t errlen)
{
	char *v = strdup(value), *old = *field;
	if (!v)
		return -ENOMEM;
	*field = v;
	int r = ns_save(m, ns);
	if (r) {
		*field = old;
		free(v);
		snprintf(err, errlen, "cannot save to the state directory: %s", strerror(-r));
		return r;
	}
	free(old);
	ns->mtime = time(NULL);
	return 0;
}

int ns_hosts_set(struct model *m, struct ns *ns, const char *value, char *err, size_t errlen)
{
	char host[256], buf[PARAM_VALUE_MAX + 1];
	if (strlen(value) >= sizeof(buf)) {
		snprintf(err, errlen, "the list is %zu bytes long: hosts takes at most %d",
			 strlen(value), PARAM_VALUE_MAX);
		return -EFBIG;
	}
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	snprintf(buf, sizeof(buf), "%s", value);
	char *save = NULL;
	for (char *h = strtok_r(buf, " \t,", &save); h; h = strtok_r(NULL, " \t,", &save)) {
		bool known = m->host_check ? m->host_check(m->host_check_arg, h) == 0
					   : !strcmp(h, host) || !strcmp(h, "localhost");
		if (!known) {
			snprintf(err, errlen, "%s is not a known host (hosts/ lists them)", h);
			return -ENOENT;
		}
	}
	return ns_field_set(m, ns, &ns->hosts, value, err, errlen);
}

int ns_vlan_range_set(struct model *m, struct ns *ns, const char *value, char *err,
		      size_t errlen)
{
	long lo, hi;
	if (!*value)
		value = "101-4094"; /* empty: back to the default */
	int r = value_vlan_range(value, &lo, &hi, err, errlen);
	if (r)
		return r;
	char canon[32];
	snprintf(canon, sizeof(canon), "%ld-%ld", lo, hi);
	return ns_field_set(m, ns, &ns->vlan_range, canon, err, errlen);
}
