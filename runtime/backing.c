/* The backing-chain check. Each layer is read with `qemu-img info` of that one file, which
 * opens no backing file: the next layer is looked at only once its path has been resolved
 * (through an O_PATH descriptor, so that every symbolic link on the way is followed) and
 * found inside a root. qemu-img info --backing-chain would open the whole chain first. */
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <string.h>

#include "runtime/backing.h"
#include "runtime/disk.h"
#include "runtime/vm.h"

#define CHAIN_MAX 16
#define INFO_TIMEOUT 5000 /* ms, per layer */

struct roots {
	char dir[2][PATH_MAX];
	int n;
};

/* The real path of path (what an open would reach), or -errno. */
static int resolve(const char *path, char *out, size_t outlen)
{
	char link[64];
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, out, outlen - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	out[n] = 0;
	return 0;
}

/* Whether path resolves inside a root; the resolved path in real. */
static int confined(const struct roots *rt, const char *path, char *real, size_t reallen,
		    char *err, size_t errlen)
{
	int r = resolve(path, real, reallen);
	if (r) {
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	for (int i = 0; i < rt->n; i++) {
		size_t l = strlen(rt->dir[i]);
		if (!strncmp(real, rt->dir[i], l) && real[l] == '/')
			return 0;
	}
	if (strcmp(path, real))
		snprintf(err, errlen, "%s is %s, outside images/ and the VM's state directory: "
			 "refused", path, real);
	else
		snprintf(err, errlen, "%s is outside images/ and the VM's state directory: refused",
			 path);
	return -EACCES;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

/* A file name QEMU would take for a file (json:{...}, nbd://, http: ... are not). */
static bool plain_name(const char *name)
{
	const char *colon = strchr(name, ':'), *slash = strchr(name, '/');
	return !colon || (slash && slash < colon);
}

/* name as QEMU resolves it: a relative one from the directory of the layer naming it */
static void beside(const char *layer, const char *name, char *out, size_t outlen)
{
	const char *slash = strrchr(layer, '/');
	if (name[0] == '/' || !slash)
		snprintf(out, outlen, "%s", name);
	else
		snprintf(out, outlen, "%.*s/%s", (int)(slash - layer), layer, name);
}

int backing_parse(const char *json, const char *path, struct backing_layer *l, char *err,
		  size_t errlen)
{
	json_object *j = json_tokener_parse(json), *fs, *fsd;
	*l->backing = *l->backing_format = *l->data_file = 0;
	if (!j || !json_object_is_type(j, json_type_object)) {
		snprintf(err, errlen, "cannot read %s: qemu-img info gave no JSON object", path);
		json_object_put(j);
		return -EIO;
	}
	int r = 0;
	const char *df = NULL, *bf = jstr(j, "full-backing-filename"), *f = jstr(j, "format");
	const char *bfmt = jstr(j, "backing-filename-format");
	if (!bf)
		bf = jstr(j, "backing-filename");
	if (json_object_object_get_ex(j, "format-specific", &fs) &&
	    json_object_object_get_ex(fs, "data", &fsd))
		df = jstr(fsd, "data-file");
	if (!f || (strcmp(f, "qcow2") && strcmp(f, "raw"))) {
		/* vmdk extents, quorum children ...: more files this check knows nothing of */
		snprintf(err, errlen, "%s is of format %s: only qcow2 and raw are taken", path,
			 f ? f : "unknown");
		r = -EPERM;
	} else if (df && !plain_name(df)) {
		snprintf(err, errlen, "%s has the data file %s, which is not a file: refused", path, df);
		r = -EPERM;
	} else if (df && *df != '/') {
		/* QEMU opens it from its own working directory, not beside the image */
		snprintf(err, errlen, "%s has the relative data file %s: refused (give it a full path)",
			 path, df);
		r = -EPERM;
	} else if (bf && !plain_name(bf)) {
		snprintf(err, errlen, "%s is backed by %s, which is not a file: refused", path, bf);
		r = -EPERM;
	} else {
		if (df)
			snprintf(l->data_file, sizeof(l->data_file), "%s", df);
		if (bf)
			beside(path, bf, l->backing, sizeof(l->backing));
		snprintf(l->backing_format, sizeof(l->backing_format), "%s", bfmt ? bfmt : "");
	}
	json_object_put(j);
	return r;
}

/* One layer (real, as QEMU will open it as format; NULL: probed): its data file checked,
 * the next layer's name and format (empty: none, or not recorded) in l. */
static int layer(const struct roots *rt, const char *what, const char *real, const char *format,
		 struct backing_layer *l, char *err, size_t errlen)
{
	struct sbuf out = {0};
	char why[600], dreal[PATH_MAX];
	int r = disk_info(real, format, INFO_TIMEOUT, &out, why, sizeof(why));
	if (!r)
		r = backing_parse(out.p, real, l, why, sizeof(why));
	sb_free(&out);
	if (r) {
		snprintf(err, errlen, "%s: %s", what, why);
		return r;
	}
	if (*l->data_file &&
	    (r = confined(rt, l->data_file, dreal, sizeof(dreal), why, sizeof(why))))
		snprintf(err, errlen, "%s: the data file of %s: %s", what, real, why);
	return r;
}

/* path and every layer under it */
/* pinned: QEMU is told the first layer's format (runtime/vmdisk.c), else it probes it */
static int chain_check(const struct roots *rt, const char *what, const char *path, bool pinned,
		       char *err, size_t errlen)
{
	static struct backing_layer l; /* 8 KiB: one start at a time */
	char cur[PATH_MAX], real[PATH_MAX], fmt[32] = "", why[900];
	snprintf(cur, sizeof(cur), "%s", path);
	for (int depth = 0; depth < CHAIN_MAX; depth++) {
		int r = confined(rt, cur, real, sizeof(real), why, sizeof(why));
		if (r && depth)
			snprintf(err, errlen, "%s: the backing chain of %s: %s", what, path, why);
		else if (r)
			snprintf(err, errlen, "%s: %s", what, why);
		if (r)
			return r;
		if (!depth && pinned)
			snprintf(fmt, sizeof(fmt), "%s", disk_format(real));
		/* the format named by the layer above, else qemu-img probes it as QEMU will */
		r = layer(rt, what, real, *fmt ? fmt : NULL, &l, err, errlen);
		if (r || !*l.backing)
			return r;
		snprintf(cur, sizeof(cur), "%s", l.backing);
		snprintf(fmt, sizeof(fmt), "%s", l.backing_format);
	}
	snprintf(err, errlen, "%s: the backing chain of %s is deeper than %d files: refused", what,
		 path, CHAIN_MAX);
	return -ELOOP;
}

int vm_paths_check(struct model *m, struct object *o, char *err, size_t errlen)
{
	static struct vm_disk d[VM_DISKS_MAX];
	struct roots rt = {.n = 0};
	char dir[PATH_MAX], path[PATH_MAX], real[PATH_MAX], what[32];
	snprintf(dir, sizeof(dir), "%s/ns/%s/vms/%s", m->statedir, o->ns->name, o->name);
	if (realpath(m->imagedir, rt.dir[rt.n]))
		rt.n++;
	if (realpath(dir, rt.dir[rt.n]))
		rt.n++;
	const char *kernel = obj_cfg(o, "kernel"), *initrd = obj_cfg(o, "initrd");
	if (!*kernel && !*obj_cfg(o, "disk") && !*obj_cfg(o, "cdrom")) {
		kernel = "vmlinuz"; /* as runtime/qemu.c boots it */
		initrd = *initrd ? initrd : "initrd";
	}
	const char *files[][2] = {{"config/kernel", kernel}, {"config/initrd", *kernel ? initrd : ""}};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		if (!*files[i][1])
			continue;
		model_image_path(m, files[i][1], path, sizeof(path));
		char why[900];
		int r = confined(&rt, path, real, sizeof(real), why, sizeof(why));
		if (r) {
			snprintf(err, errlen, "%s: %s", files[i][0], why);
			return r;
		}
	}
	if (*obj_cfg(o, "cdrom")) {
		model_image_path(m, obj_cfg(o, "cdrom"), path, sizeof(path));
		int r = chain_check(&rt, "config/cdrom", path, false, err, errlen);
		if (r)
			return r;
	}
	int n = vm_disks(m, o, d, VM_DISKS_MAX);
	for (int i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "disk %d", i);
		int r = chain_check(&rt, what, d[i].image, true, err, errlen);
		if (r)
			return r;
	}
	return 0;
}
