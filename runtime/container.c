/* The container backend: a start writes the spec into the run directory and starts
 * vmfs-shim detached (runtime/shim/shim.h), which builds the container and holds its
 * console; pause and resume are the freezer; stop is SIGTERM to init, then SIGKILL after
 * a grace period; kill is SIGKILL, which ends init's PID namespace and everything in it. */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "runtime/backend.h"
#include "runtime/cgroup.h"
#include "runtime/imgrights.h"
#include "runtime/lifecycle.h"
#include "runtime/net.h"
#include "runtime/run.h"

#define STOP_GRACE 5       /* seconds between SIGTERM and SIGKILL */
#define START_TIMEOUT 15000 /* ms for the shim to report */
#define PIDS_MAX 4096      /* a fork bomb stops here */

/* Without a snapshot the container writes into the image itself: one at a time. */
static int rootfs_free(struct model *m, struct object *self, const char *rootfs, struct err *e)
{
	for (size_t i = 0; i < m->nns; i++) {
		struct objlist *l = &m->nss[i]->objs[OT_CT];
		for (size_t j = 0; j < l->n; j++) {
			struct object *o = l->v[j];
			char other[BUILT_PATH_MAX], a[PATH_MAX], b[PATH_MAX];
			if (o == self || (o->state != ST_RUNNING && o->state != ST_PAUSED))
				continue;
			if (obj_cfg_bool(o, "snapshot") && obj_cfg_bool(self, "snapshot"))
				continue; /* overlays over one image: fine */
			model_image_path(m, obj_cfg(o, "filesystem"), other, sizeof(other));
			if (realpath(other, a) && realpath(rootfs, b) && !strcmp(a, b))
				return err_set(e, EBUSY, "%s is in use by ns/%s/containers/%s: with "
					       "snapshot false a root filesystem can serve one "
					       "container at a time", rootfs, o->ns->name, o->name);
		}
	}
	return 0;
}

static int spec_write(struct model *m, struct object *o, int dfd, const char *rootfs)
{
	uint64_t mem = 0;
	char e[128], pre[BUILT_PATH_MAX] = "";
	value_size(obj_cfg(o, "memory"), &mem, e, sizeof(e));
	if (*obj_cfg(o, "preinit"))
		model_image_path(m, obj_cfg(o, "preinit"), pre, sizeof(pre));
	struct sbuf b = {0};
	sb_printf(&b, "cgroup=%s\n", m->cgroup_top);
	sb_printf(&b, "namespace=%s\nname=%s\nhostname=%s\nrootfs=%s\n", o->ns->name, o->name,
		  *obj_cfg(o, "hostname") ? obj_cfg(o, "hostname") : o->name, rootfs);
	const char *fs = obj_cfg(o, "filesystem");
	if (fs[0] != '/') /* in the store: the shim opens it beneath the store, by descriptor */
		sb_printf(&b, "imagedir=%s\nimage=%s\n", m->imagedir, fs);
	sb_printf(&b, "snapshot=%s\ninit=%s\n", obj_cfg(o, "snapshot"), obj_cfg(o, "init"));
	if (*pre)
		sb_printf(&b, "preinit=%s\n", pre);
	sb_printf(&b, "memory=%llu\ncpus=%s\npids=%d\nfifos=%s\n", (unsigned long long)mem,
		  obj_cfg(o, "vcpus"), PIDS_MAX, obj_cfg(o, "fifo"));
	char vols[4096];
	snprintf(vols, sizeof(vols), "%s", obj_cfg(o, "volume"));
	char *save = NULL;
	for (char *v = strtok_r(vols, " ", &save); v; v = strtok_r(NULL, " ", &save))
		sb_printf(&b, "volume=%s\n", v);
	if (o->rt.nnics) /* made and configured by runtime/net.c; with a user namespace, in it */
		sb_puts(&b, obj_cfg_bool(o, "privileged") ? "netns=netns\n"
							   : "netns=netns\nusernsfile=userns\n");
	if (!obj_cfg_bool(o, "privileged")) /* ct_start_spawn saw that it can */
		sb_printf(&b, "userns=%u:%u:%u\n", m->userns.r.uid, m->userns.r.gid,
			  m->userns.r.count);
	int r = sb_err(&b);
	if (!r)
		r = write_atomic(dfd, "spec", b.p, b.len, 0);
	sb_free(&b);
	return r;
}

/* Starts the shim detached: a double fork, so it is never our child and a dying vmfs
 * takes nothing with it. Returns the read end of its ready pipe. */
static int shim_spawn(struct model *m, const char *rundir)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t child = fork();
	if (child < 0) {
		int e = -errno;
		close(p[0]);
		close(p[1]);
		return e;
	}
	if (child == 0) {
		setsid();
		if (fork() == 0) {
			char fd[16];
			sigset_t none;
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL); /* vmfs blocks signals for signalfd */
			/* nothing of vmfs may leak into the shim: above all not /dev/fuse, which
			 * would keep a dead vmfs's mount hanging instead of failing */
			if (p[1] == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(p[1], 3) < 0)
				_exit(127);
			close_range(4, ~0U, 0);
			snprintf(fd, sizeof(fd), "%d", 3);
			/* the last word says whose it is, so a restarted vmfs finds it in /proc */
			execl(m->shim, "vmfs-shim", rundir, fd, m->cgroup_top, (char *)NULL);
			dprintf(3, "error: cannot run %s: %s\n", m->shim, strerror(errno));
			_exit(127);
		}
		_exit(0);
	}
	close(p[1]);
	waitpid(child, NULL, 0);
	return p[0];
}

/* The shim's one line: "ok PID" or "error: REASON". */
static int shim_ready(int fd, int timeout_ms, char *line, size_t len)
{
	size_t got = 0;
	struct pollfd pfd = {fd, POLLIN, 0};
	while (got < len - 1 && poll(&pfd, 1, timeout_ms) > 0) {
		ssize_t n = read(fd, line + got, len - 1 - got);
		if (n <= 0)
			break;
		got += n;
		if (memchr(line, '\n', got))
			break;
	}
	line[got] = 0;
	line[strcspn(line, "\n")] = 0;
	return got ? 0 : -ETIMEDOUT;
}

/* First half of a start: prepares the run directory and starts the shim. Returns the
 * shim's ready pipe, or -errno (o is then ERROR, with the reason). Starting many
 * containers spawns all their shims first, so they set up side by side. */
static int ct_start_spawn(struct model *m, struct object *o, struct err *e)
{
	char rootfs[BUILT_PATH_MAX], rundir[BUILT_PATH_MAX];
	struct stat st;
	model_image_path(m, obj_cfg(o, "filesystem"), rootfs, sizeof(rootfs));
	int no = stat(rootfs, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	if (no) {
		err_set(e, ENOENT, "config/filesystem: %s is not a directory (%s); ./setup builds "
			"the default busybox image", rootfs, strerror(no));
		return lifecycle_fail(m, o, e);
	}
	struct who owner;
	who_of(&owner, o->ns->uid, o->ns->gid);
	const char *fs = obj_cfg(o, "filesystem");
	if (fs[0] != '/' &&
	    err_took(e, imgrights_name(m->imagefd, fs, &owner, R_OK | X_OK, e->why, sizeof(e->why)))) {
		err_wrap(e, "config/filesystem: the namespace's owner may not use it");
		e->no = EACCES;
		return lifecycle_fail(m, o, e);
	}
	if (rootfs_free(m, o, rootfs, e))
		return -EBUSY;
	if (!obj_cfg_bool(o, "privileged") && !m->userns.ok) {
		/* never silently unconfined: root in the container would be root on the host */
		err_set(e, EPERM, "userns no (%s): a container runs in a user namespace unless host "
			"root sets config/privileged to true", m->userns.why);
		return lifecycle_fail(m, o, e);
	}
	run_dir(m, o, rundir, sizeof(rundir));
	int dfd = run_prepare(m, o);
	/* the intent first: a kill -9 after the network namespace is mounted must leave a
	 * start for the restart to undo, not a QUIT object holding a mount */
	int r = dfd < 0 ? dfd : run_intent(m, o, dfd);
	if (r) {
		if (dfd >= 0)
			close(dfd);
		err_set(e, EIO, "cannot record the start in %s: %s", rundir, strerror(-r));
		return lifecycle_fail(m, o, e);
	}
	if (net_start(m, o, dfd, e)) {
		close(dfd);
		return lifecycle_fail(m, o, e);
	}
	r = spec_write(m, o, dfd, rootfs);
	if (dfd >= 0)
		close(dfd);
	if (r) {
		err_set(e, EIO, "cannot prepare %s: %s", rundir, strerror(-r));
		return lifecycle_fail(m, o, e);
	}
	int rfd = shim_spawn(m, rundir);
	if (rfd < 0) {
		err_set(e, rfd, "cannot start vmfs-shim: %s", strerror(-rfd));
		return lifecycle_fail(m, o, e);
	}
	return rfd;
}

/* The shim's end is seen at once, through a pidfd: it ends only after writing run/exit,
 * so an end without one means it was killed, leaving the container to clean up. */
static void watch_shim(struct model *m, struct object *o)
{
	pid_t pid;
	unsigned long long start;
	int dfd = run_open(m, o);
	if (dfd >= 0 && run_pid_alive(dfd, "shim.pid", &pid, &start))
		run_watch_pid(m, o, pid, start);
	if (dfd >= 0)
		close(dfd);
}

/* Second half: the shim's word on the ready pipe (closed here). */
static int ct_start_finish(struct model *m, struct object *o, int rfd, int timeout_ms,
			   struct err *e)
{
	char line[ERR_WHY_MAX] = "";
	int r = shim_ready(rfd, timeout_ms, line, sizeof(line));
	close(rfd);
	int dfd = run_open(m, o);
	bool alive = dfd >= 0 && run_pid_alive(dfd, "pid", &o->rt.pid, &o->rt.pid_start);
	if (dfd >= 0)
		close(dfd);
	if (r || strncmp(line, "ok ", 3) || !alive) {
		int no = r ? r : EIO;
		if (!strncmp(line, "error: ", 7))
			err_set(e, no, "%s", line + 7);
		else if (!strncmp(line, "ok ", 3))
			err_set(e, no, "init ended at once, before vmfs could see it run");
		else
			err_set(e, no, "vmfs-shim did not report within %d s; vmfs ended it",
				START_TIMEOUT / 1000);
		if (!strncmp(line, "ok ", 3) && run_wait_exit(m, o, 1000)) {
			run_intent_clear(m, o);
			return 0; /* it ran and ended: QUIT with its exit status, not an error */
		}
		if (strncmp(line, "error: ", 7)) { /* a shim that reported its error cleaned up */
			char rundir[BUILT_PATH_MAX];
			run_dir(m, o, rundir, sizeof(rundir));
			run_end_procs(m, rundir);
			run_ct_cleanup_obj(m, o);
		}
		return lifecycle_fail(m, o, e);
	}
	o->rt.started = time(NULL);
	o->rt.exit[0] = 0;
	o->rt.cpu_usec = 0;
	run_watch(m, o);
	watch_shim(m, o);
	lifecycle_event(m, o, EV_READY, NULL);
	model_event(o->ns, o, "started (pid %d)", (int)o->rt.pid);
	run_reap(m, o); /* init may already have ended */
	return 0;
}

static int ct_signal(struct object *o, int sig, struct err *e)
{
	if (o->rt.pid <= 0 || kill(o->rt.pid, sig) < 0)
		return err_set(e, ESRCH, "%s: its init (pid %d) is gone", o->name, (int)o->rt.pid);
	return 0;
}

static int ct_freeze(struct object *o, int frozen, struct err *e)
{
	return cg_freeze(o->ns->name, o->name, frozen, e);
}

static int ct_stop(struct model *m, struct object *o, struct err *e)
{
	if (o->state == ST_PAUSED)
		ct_freeze(o, 0, e); /* a frozen init cannot stop */
	int r = ct_signal(o, SIGTERM, e);
	if (!r) {
		o->rt.stop_deadline = time(NULL) + STOP_GRACE;
		model_event(o->ns, o, "stop: SIGTERM sent to init, SIGKILL in %d s", STOP_GRACE);
	}
	return r;
}

static int ct_kill_signal(struct model *m, struct object *o, struct err *e)
{
	if (o->state == ST_PAUSED)
		ct_freeze(o, 0, e);
	o->rt.killing = true;
	if (o->rt.pid > 0 && proc_starttime(o->rt.pid) == o->rt.pid_start) {
		kill(o->rt.pid, SIGKILL);
		/* init's end kills the rest, but only once its own exit is through: thousands of
		 * processes blocked at the memory limit (a fork bomb) held it for over 15 s */
		cg_kill_now(o->ns->name, o->name);
	}
	return 0; /* an init that is gone already: kill_wait finds how it ended */
}

/* A shim that is gone without recording the end: what it held is cleaned here. True if
 * o has ended (recorded now or before). */
static bool shim_gone(struct model *m, struct object *o)
{
	if (o->state != ST_RUNNING && o->state != ST_PAUSED)
		return true;
	if (run_reap(m, o))
		return true;
	if (!run_pid_ended(o))
		return false;
	run_lost(m, o, "vmfs-shim had ended unexpectedly (killed from outside?); vmfs ended the "
		 "container");
	return true;
}

static int ct_kill_wait(struct model *m, struct object *o, struct err *e)
{
	/* the shim records the end at once; wait for it so `cat state` right after says QUIT
	 * (thousands of processes take seconds to die) */
	for (int i = 0; i < 1500; i++) {
		if (shim_gone(m, o))
			return 0;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return err_set(e, ETIMEDOUT, "%s: killed, but vmfs-shim has not recorded the end yet",
		       o->name);
}

static int ct_pause(struct model *m, struct object *o, struct err *e)
{
	return ct_freeze(o, 1, e);
}

static int ct_resume(struct model *m, struct object *o, struct err *e)
{
	return ct_freeze(o, 0, e);
}

/* A new init: the kill's end (QUIT), then a start as any other, spawn then finish. */
static int ct_restart(struct model *m, struct object *o, struct err *e)
{
	int r = ct_kill_signal(m, o, e);
	if (!r)
		r = ct_kill_wait(m, o, e);
	if (!r && (r = ct_start_spawn(m, o, e)) >= 0)
		r = ct_start_finish(m, o, r, START_TIMEOUT, e);
	return r;
}

const struct backend container_backend = {
	.what = "containers",
	.start_spawn = ct_start_spawn,
	.start_finish = ct_start_finish,
	.start_timeout_ms = START_TIMEOUT,
	.kill_signal = ct_kill_signal,
	.kill_wait = ct_kill_wait,
	.stop = ct_stop,
	.pause = ct_pause,
	.resume = ct_resume,
	.restart = ct_restart,
};
