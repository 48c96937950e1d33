/* A VM's disks. With config/snapshot true, QEMU opens a qcow2 overlay per disk in the
 * VM's state directory instead of the image, so many VMs share one image and each keeps
 * its own writes until it is flushed (QEMU's own snapshot=on would lose them at every
 * stop, and would leave nothing to commit). */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "runtime/backing.h"
#include "runtime/disk.h"
#include "runtime/lifecycle.h"
#include "runtime/qmp.h"
#include "runtime/run.h"
#include "runtime/vm.h"

int vm_disks(struct model *m, struct object *o, struct vm_disk *d, int max)
{
	char list[8192];
	snprintf(list, sizeof(list), "%s", obj_cfg(o, "disk"));
	bool snap = obj_cfg_bool(o, "snapshot");
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
		/* (nothing here opens the image: runtime/backing.c does, once it is checked) */
		if (snap)
			snprintf(k->path, sizeof(k->path), "%s/ns/%s/vms/%s/disk%d.qcow2", m->statedir,
				 o->ns->name, o->name, n);
		else
			snprintf(k->path, sizeof(k->path), "%s", k->image);
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

/* Whether o's first overlay is over image (and not over what config/disk said before). */
static bool overlay_of(struct object *o, const char *image)
{
	char side[NAME_MAX_LEN + 32];
	auto_free char *base = NULL;
	snprintf(side, sizeof(side), "vms/%s/disk0.qcow2.base", o->name);
	return read_small(o->ns->dirfd, side, 8192, &base, NULL) == 0 && !strcmp(base, image);
}

int vm_disks_prepare(struct model *m, struct object *o, const struct vm_files *f, struct err *e)
{
	static struct vm_disk d[VM_DISKS_MAX]; /* 130 KiB: one start at a time */
	int n = vm_disks(m, o, d, VM_DISKS_MAX);
	auto_close int dfd = obj_dirfd(o);
	if (dfd < 0)
		return err_sys(e, dfd, "the directory of %s", o->name);
	if (!obj_cfg_bool(o, "snapshot")) {
		/* the VM now writes its images: overlays over them would be stale if used again */
		for (int i = 0; i < VM_DISKS_MAX; i++) {
			char name[40];
			snprintf(name, sizeof(name), "disk%d.qcow2.base", i);
			unlinkat(dfd, name, 0);
			name[strlen(name) - 5] = 0;
			if (unlinkat(dfd, name, 0) == 0)
				model_event(o->ns, o, "disk %d: overlay dropped (snapshot is false now)", i);
		}
		return 0;
	}
	for (int i = 0; i < n && i < f->ndisks; i++) {
		char name[32];
		bool fresh;
		const struct vm_layer *base = &f->disk[i].l[0];
		snprintf(name, sizeof(name), "disk%d.qcow2", i);
		int r = disk_overlay(dfd, name, d[i].image, base->format, base->size, &fresh, e);
		if (r)
			return err_wrap(e, "cannot make the overlay over %s", d[i].image);
		if (fresh)
			model_event(o->ns, o, "disk %d: a new overlay over %s (writes kept until flush)",
				    i, d[i].image);
	}
	return 0;
}

/* A commit in progress: qemu-img runs as our child, watched through a pidfd in m->rtep, so
 * that a copy of a large disk stalls nothing but the ctl write that asked for it. */
struct vmjob {
	struct rtsrc src; /* first: the epoll data points here */
	struct object *o;
	pid_t pid;
	int pidfd, outfd, storefd, partfd;
	bool resume; /* the commit paused the VM: resume it after */
	struct timespec t0;
	char dst[BUILT_PATH_MAX], image[NAME_MAX_LEN + 1];
};

/* A commit pauses its VM and writes images/IMAGE.part: a vmfs killed meanwhile would leave
 * both for good. So run/commit ("IMAGE RESUME", synced) says what to undo, before the
 * pause, until the end; a restarted vmfs undoes it (vm_job_recover). */
static void intent_set(struct model *m, struct object *o, const char *image, bool resume)
{
	char line[NAME_MAX_LEN + 16];
	int n = snprintf(line, sizeof(line), "%s %d\n", image, resume);
	int dfd = run_open(m, o);
	if (dfd >= 0 && write_atomic(dfd, "commit", line, n, 1) == 0)
		fsync(dfd);
	if (dfd >= 0)
		close(dfd);
}

static void intent_clear(struct model *m, struct object *o)
{
	int dfd = run_open(m, o);
	if (dfd >= 0) {
		unlinkat(dfd, "commit", 0);
		close(dfd);
	}
}

/* The qemu-img a killed vmfs left writing part: ended (it holds the file open). Its links
 * are read, no file behind them is touched (a qemu-img of someone else's on a hung mount). */
static bool holds(int pid, const char *real)
{
	char dir[64], link[64], to[PATH_MAX];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	DIR *d = opendir(dir);
	struct dirent *de;
	bool found = false;
	while (d && !found && (de = readdir(d))) {
		snprintf(link, sizeof(link), "%.20s/%.20s", dir, de->d_name);
		ssize_t n = readlink(link, to, sizeof(to) - 1);
		to[n > 0 ? n : 0] = 0;
		found = n > 0 && !strcmp(to, real);
	}
	if (d)
		closedir(d);
	return found;
}

static void part_writer_end(const char *part)
{
	char real[PATH_MAX];
	if (!realpath(part, real)) /* as the kernel names it in /proc */
		return;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char path[300], *text = NULL;
		int pid = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		if (pid <= 0 || read_small(AT_FDCWD, path, 65536, &text, NULL) < 0) {
			free(text);
			continue;
		}
		const char *base = strrchr(text, '/') ? strrchr(text, '/') + 1 : text;
		if (!strcmp(base, "qemu-img") && holds(pid, real))
			kill(pid, SIGKILL);
		free(text);
	}
	if (d)
		closedir(d);
}

void vm_job_recover(struct model *m, struct object *o)
{
	auto_free char *text = NULL;
	int dfd = run_open(m, o);
	if (dfd < 0 || read_small(dfd, "commit", 256, &text, NULL) < 0) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	char image[NAME_MAX_LEN + 1] = "", dst[BUILT_PATH_MAX], err[256] = "";
	char part[BUILT_PATH_MAX + 100];
	struct err ignored;
	int resume = 0;
	/* a state file: the image name must be one a commit could have made */
	if (sscanf(text, "%63s %d", image, &resume) != 2 || name_check(image, err, sizeof(err))) {
		model_error(o->ns, o, "commit", "run/commit is not what vmfs writes: removed");
		unlinkat(dfd, "commit", 0);
		close(dfd);
		return;
	}
	model_image_path(m, image, dst, sizeof(dst));
	snprintf(part, sizeof(part), "%s.part", dst);
	part_writer_end(part);
	char pname[NAME_MAX_LEN + 8];
	snprintf(pname, sizeof(pname), "%s.part", image);
	bool removed = unlinkat(m->imagefd, pname, 0) == 0; /* in the store's own descriptor */
	bool alive = o->state == ST_RUNNING || o->state == ST_PAUSED;
	bool resumed = resume && alive && vm_qmp(m, o, "{\"execute\":\"cont\"}", &ignored) == 0;
	if (resumed)
		lifecycle_event(m, o, EV_RESUMED, "resumed after a commit that vmfs's end cut short");
	model_event(o->ns, o, "commit to images/%s was cut short when vmfs was killed:%s%s", image,
		    removed ? " its partial copy removed" : " no partial copy left",
		    resumed ? ", the VM resumed" : "");
	unlinkat(dfd, "commit", 0);
	close(dfd);
}

/* cancelled: why the copy was stopped, NULL if it ran to its end */
static void job_end(struct model *m, struct vmjob *j, int st, const char *cancelled)
{
	struct object *o = j->o;
	struct err e, ignored;
	struct timespec t1;
	struct stat sb;
	epoll_ctl(m->rtep, EPOLL_CTL_DEL, j->pidfd, NULL);
	close(j->pidfd);
	int r = disk_commit_end(st, j->outfd, j->storefd, j->partfd, j->image, &e);
	close(j->storefd);
	/* the commit paused it, so it resumes it, whatever the state says: QEMU's STOP event
	 * may not have been read yet */
	if (j->resume && (o->state == ST_RUNNING || o->state == ST_PAUSED)) {
		if (vm_qmp(m, o, "{\"execute\":\"cont\"}", &ignored))
			model_error(o->ns, o, "commit", "could not resume the VM after the copy");
		else /* QEMU's RESUME event may come after the answer */
			lifecycle_event(m, o, EV_RESUMED, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	o->rt.job = NULL;
	o->rt.job_result = cancelled ? -ECANCELED : r;
	free(o->rt.job_err);
	o->rt.job_err = NULL;
	if (cancelled) {
		if (asprintf(&o->rt.job_err, "commit cancelled: %s", cancelled) < 0)
			o->rt.job_err = NULL;
		model_event(o->ns, o, "commit to images/%s cancelled: %s", j->image, cancelled);
	} else if (r) {
		if (asprintf(&o->rt.job_err, "commit: %s", e.why) < 0)
			o->rt.job_err = NULL;
	} else {
		stat(j->dst, &sb);
		model_event(o->ns, o, "committed disk 0 to images/%s (%.1f MiB in %.2f s)", j->image,
			    sb.st_size / 1048576.0,
			    (t1.tv_sec - j->t0.tv_sec) + (t1.tv_nsec - j->t0.tv_nsec) / 1e9);
	}
	free(j);
	intent_clear(m, o);
	waitq_wake_all(&o->job_wq);
	obj_put(o);
}

static void job_ready(struct model *m, struct rtsrc *s)
{
	struct vmjob *j = (struct vmjob *)s;
	int st;
	if (waitpid(j->pid, &st, WNOHANG) == j->pid)
		job_end(m, j, st, NULL);
}

void vm_job_cancel(struct model *m, struct object *o, const char *why)
{
	struct vmjob *j = o->rt.job;
	int st;
	if (!j)
		return;
	kill(j->pid, SIGKILL);
	while (waitpid(j->pid, &st, 0) < 0 && errno == EINTR)
		;
	job_end(m, j, st, why); /* removes the part written, resumes the VM */
}

/* The image store, for the part a commit writes beneath it; -errno */
static int store_open(struct model *m)
{
	int fd = fcntl(m->imagefd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

static int commit(struct model *m, struct object *o, const char *image, struct err *e)
{
	static struct vm_disk d[VM_DISKS_MAX];
	static struct vm_chain c;
	struct stat st;
	if (o->type != OT_VM)
		return err_set(e, EOPNOTSUPP, "%s is a container; only VM disks can be committed",
			       o->name);
	if (o->rt.job)
		return err_set(e, EBUSY, "%s is being committed already", o->name);
	if (vm_disks(m, o, d, VM_DISKS_MAX) == 0)
		return err_set(e, EINVAL, "%s has no disk (config/disk is empty)", o->name);
	struct vmjob *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	model_image_path(m, image, j->dst, sizeof(j->dst));
	snprintf(j->image, sizeof(j->image), "%s", image);
	if (lstat(j->dst, &st) == 0) {
		free(j);
		return err_set(e, EEXIST, "images/%s already exists", image);
	}
	/* never started, or config/disk changed since: no overlay of it */
	bool overlay = obj_cfg_bool(o, "snapshot") && stat(d[0].path, &st) == 0 &&
		       overlay_of(o, d[0].image);
	/* checked as for a start: what qemu-img copies is what QEMU may read */
	int r = vm_commit_chain(m, o, overlay, &c, e);
	if (!r && (j->storefd = store_open(m)) < 0)
		r = err_sys(e, j->storefd, "%s", m->imagedir);
	if (r) {
		vm_chain_close(&c);
		free(j);
		return r;
	}
	j->resume = o->state == ST_RUNNING;
	intent_set(m, o, image, j->resume);
	if (j->resume && vm_qmp(m, o, "{\"execute\":\"stop\"}", e)) {
		err_took(e, -EIO);
		err_wrap(e, "cannot pause %s for the copy", o->name);
		intent_clear(m, o);
		vm_chain_close(&c);
		close(j->storefd);
		free(j);
		return -EIO;
	}
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	j->src.ready = job_ready;
	j->o = o;
	j->outfd = j->partfd = -1;
	j->pid = disk_commit_start(&c, j->storefd, image, o->state == ST_RUNNING ||
				   o->state == ST_PAUSED, &j->partfd, &j->outfd, e);
	vm_chain_close(&c); /* qemu-img has them */
	j->pidfd = j->pid > 0 ? syscall(SYS_pidfd_open, j->pid, 0) : -1;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = j};
	if (j->pid < 0 || j->pidfd < 0 || epoll_ctl(m->rtep, EPOLL_CTL_ADD, j->pidfd, &ev) < 0) {
		struct err ignored; /* the undoing's own reasons: the first failure is told */
		r = j->pid < 0 ? (int)j->pid : err_sys(e, errno, "cannot watch qemu-img");
		if (j->pid > 0) {
			int status;
			kill(j->pid, SIGKILL);
			waitpid(j->pid, &status, 0);
			disk_commit_end(status, j->outfd, j->storefd, j->partfd, image, &ignored);
		}
		if (j->pidfd >= 0)
			close(j->pidfd);
		close(j->storefd);
		if (j->resume)
			vm_qmp(m, o, "{\"execute\":\"cont\"}", &ignored);
		intent_clear(m, o);
		free(j);
		return r;
	}
	obj_get(o);
	o->rt.job = j;
	o->rt.job_result = 0;
	model_event(o->ns, o, "commit: copying disk 0 to images/%s%s", image,
		    j->resume ? " (paused for the copy)" : "");
	return -EINPROGRESS;
}

int vm_commit(struct model *m, struct object *o, const char *image, char *err, size_t errlen)
{
	struct err e;
	err_clear(&e);
	int r = commit(m, o, image, &e);
	if (!r || r == -EINPROGRESS)
		return r;
	err_ensure(&e, r);
	err_wrap(&e, "commit");
	return err_result(&e, r, err, errlen);
}

int vm_job_result(struct object *o, char *err, size_t errlen)
{
	if (o->rt.job)
		return -EINPROGRESS;
	struct err e;
	err_clear(&e);
	if (o->rt.job_result && o->rt.job_err)
		err_set(&e, o->rt.job_result, "%s", o->rt.job_err);
	return err_result(&e, o->rt.job_result, err, errlen);
}
