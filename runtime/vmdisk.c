/* A VM's disks. With config/snapshot true, QEMU opens a qcow2 overlay per disk in the
 * VM's state directory instead of the image, so many VMs share one image and each keeps
 * its own writes until it is flushed (QEMU's own snapshot=on would lose them at every
 * stop, and would leave nothing to commit). */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "runtime/disk.h"
#include "runtime/lifecycle.h"
#include "runtime/qmp.h"
#include "runtime/run.h"
#include "runtime/vm.h"

int vm_disks(struct model *m, struct object *o, struct vm_disk *d, int max)
{
	char list[8192];
	snprintf(list, sizeof(list), "%s", obj_cfg(o, "disk"));
	bool snap = !strcmp(obj_cfg(o, "snapshot"), "true");
	int n = 0;
	char *save = NULL;
	for (char *w = strtok_r(list, " ", &save); w && n < max; w = strtok_r(NULL, " ", &save), n++) {
		char *opts = strchr(w, ',');
		if (opts)
			*opts++ = 0;
		struct vm_disk *k = &d[n];
		model_image_path(m, w, k->image, sizeof(k->image));
		k->iface = "virtio";
		k->cache = NULL;
		/* the table (ctl/params.c) has checked each option is an interface or a cache */
		static const char *const ifaces[] = {"ide", "scsi", "virtio", "sd", "none"};
		static const char *const caches[] = {"none", "writeback", "writethrough", "unsafe",
						     "directsync"};
		char *osave = NULL;
		for (char *opt = opts ? strtok_r(opts, ",", &osave) : NULL; opt;
		     opt = strtok_r(NULL, ",", &osave)) {
			for (size_t i = 0; i < ARRAY_SIZE(ifaces); i++)
				if (!strcmp(opt, ifaces[i]))
					k->iface = ifaces[i];
			for (size_t i = 0; i < ARRAY_SIZE(caches); i++)
				if (!strcmp(opt, caches[i]))
					k->cache = caches[i];
		}
		if (snap) {
			snprintf(k->path, sizeof(k->path), "%s/ns/%s/vms/%s/disk%d.qcow2", m->statedir,
				 o->ns->name, o->name, n);
			k->format = "qcow2";
		} else {
			snprintf(k->path, sizeof(k->path), "%s", k->image);
			k->format = disk_format(k->image);
		}
	}
	return n;
}

static int obj_dirfd(struct object *o)
{
	char dir[NAME_MAX_LEN + 8];
	snprintf(dir, sizeof(dir), "vms/%s", o->name);
	int fd = openat(o->ns->dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int vm_disks_prepare(struct model *m, struct object *o, char *err, size_t errlen)
{
	static struct vm_disk d[VM_DISKS_MAX]; /* 130 KiB: one start at a time */
	int n = vm_disks(m, o, d, VM_DISKS_MAX);
	if (!n || strcmp(obj_cfg(o, "snapshot"), "true"))
		return 0;
	auto_close int dfd = obj_dirfd(o);
	if (dfd < 0)
		return dfd;
	for (int i = 0; i < n; i++) {
		char name[32], why[512];
		bool fresh;
		snprintf(name, sizeof(name), "disk%d.qcow2", i);
		int r = disk_overlay(dfd, name, d[i].image, &fresh, why, sizeof(why));
		if (r) {
			snprintf(err, errlen, "cannot make the overlay over %s: %s", d[i].image, why);
			return r;
		}
		if (fresh)
			model_event(o->ns, o, "disk %d: a new overlay over %s (writes kept until flush)",
				    i, d[i].image);
	}
	return 0;
}

int vm_commit(struct model *m, struct object *o, const char *image, char *err, size_t errlen)
{
	static struct vm_disk d[VM_DISKS_MAX];
	char dst[4200], why[512];
	struct stat st;
	if (o->type != OT_VM) {
		snprintf(err, errlen, "commit: %s is a container; only VM disks can be committed",
			 o->name);
		return -EOPNOTSUPP;
	}
	if (vm_disks(m, o, d, VM_DISKS_MAX) == 0) {
		snprintf(err, errlen, "commit: %s has no disk (config/disk is empty)", o->name);
		return -EINVAL;
	}
	model_image_path(m, image, dst, sizeof(dst));
	if (lstat(dst, &st) == 0) {
		snprintf(err, errlen, "commit: images/%s already exists", image);
		return -EEXIST;
	}
	const char *src = d[0].path;
	if (stat(src, &st) < 0) /* a snapshot VM that never ran has no overlay yet */
		src = d[0].image;
	bool live = o->state == ST_RUNNING || o->state == ST_PAUSED;
	bool resume = o->state == ST_RUNNING;
	if (resume) {
		int r = vm_qmp(m, o, "{\"execute\":\"stop\"}", why, sizeof(why));
		if (r) {
			snprintf(err, errlen, "commit: cannot pause %s for the copy: %s", o->name, why);
			return r;
		}
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r = disk_commit(src, dst, live, why, sizeof(why));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (resume && vm_qmp(m, o, "{\"execute\":\"cont\"}", err, errlen))
		model_error(o->ns, o, "commit", "could not resume the VM after the copy");
	if (r) {
		snprintf(err, errlen, "commit: %s", why);
		return r;
	}
	stat(dst, &st);
	model_event(o->ns, o, "committed disk 0 to images/%s (%.1f MiB in %.2f s)", image,
		    st.st_size / 1048576.0,
		    (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
