/* Watching what runs. Each running object's run directory is watched with inotify: a
 * growing console.log wakes its console readers; an exit file moves it to QUIT or ERROR.
 * Once a second, stop deadlines are enforced and stats sampled for top (so that reading
 * top never waits). */
#include "runtime/run.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <poll.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "runtime/cgroup.h"
#include "runtime/lifecycle.h"
#include "runtime/migrate.h"
#include "runtime/net.h"
#include "runtime/orphan.h"
#include "runtime/qmon.h"
#include "runtime/vm.h"
#include "runtime/slotmap.h"

#define SLOT_WD 3
/* watches share the model's map: their keys lie above every id key (48 bits) */
#define WD_KEY(wd) (1ull << 63 | (uint32_t)(wd))

void run_dir(const struct model *m, const struct object *o, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/ns/%s/%s/%s/run", m->statedir, o->ns->name, otype_dir(o->type),
		 o->name);
}

unsigned long long proc_starttime(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	unsigned long long start = 0;
	char state = 0;
	if (!p || sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
				"%*d %*d %*d %llu", &state, &start) != 2)
		return 0;
	/* A zombie has ended: whoever reaps it (init, for QEMU and the shims) may take seconds.
	 * But a zombie leader may still have threads tearing down (QEMU's, freeing guest
	 * memory): ended only once its memory is gone, which empties its cmdline. */
	if (state != 'Z' && state != 'X')
		return start;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? 0 : read(fd, buf, 1);
	if (fd >= 0)
		close(fd);
	return n > 0 ? start : 0;
}

bool run_pid_alive(int dirfd, const char *file, pid_t *pid, unsigned long long *start)
{
	auto_free char *text = NULL;
	int p = 0;
	unsigned long long s = 0;
	if (read_small(dirfd, file, 256, &text, NULL) < 0 || sscanf(text, "%d %llu", &p, &s) != 2 ||
	    p <= 0)
		return false;
	if (pid)
		*pid = p;
	if (start)
		*start = s;
	return proc_starttime(p) == s; /* same pid, same start: not a recycled pid */
}

int run_watch(struct model *m, struct object *o)
{
	char dir[BUILT_PATH_MAX];
	run_dir(m, o, dir, sizeof(dir));
	int wd = inotify_add_watch(m->inotify, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO);
	if (wd < 0)
		return -errno;
	o->rt.wd = wd;
	return slotmap_put(m->slots, WD_KEY(wd), SLOT_WD, o);
}

static void run_unwatch(struct model *m, struct object *o)
{
	if (o->rt.wd < 0)
		return;
	inotify_rm_watch(m->inotify, o->rt.wd);
	slotmap_del(m->slots, WD_KEY(o->rt.wd));
	o->rt.wd = -1;
}

/* An exit file holds a reason whole (up to ERR_WHY_MAX and its words); read back past that
 * too, so that an end is never missed for its length. */
#define EXIT_FILE_MAX (1 << 16)

/* info's exit line, prefix and text: cut with err.h's mark past its size. */
static void exit_set(struct object *o, const char *prefix, const char *text)
{
	struct err e;
	err_set(&e, 0, "%s%s", prefix, text);
	err_out(&e, o->rt.exit, sizeof(o->rt.exit));
}

bool run_reap(struct model *m, struct object *o)
{
	char dir[BUILT_PATH_MAX];
	auto_free char *text = NULL;
	run_dir(m, o, dir, sizeof(dir));
	strncat(dir, "/exit", sizeof(dir) - strlen(dir) - 1);
	if (read_small(AT_FDCWD, dir, EXIT_FILE_MAX, &text, NULL) < 0)
		return false;
	text[strcspn(text, "\n")] = 0;
	run_unwatch(m, o);
	run_unwatch_pid(m, o);
	console_close(m, o);
	qmon_detach(m, o);
	o->rt.vnc_display = -1;
	exit_set(o, "", text);
	o->rt.pid = 0;
	o->rt.stop_deadline = 0;
	bool killing = o->rt.killing;
	o->rt.killing = false;
	if (!strncmp(text, "error: ", 7)) {
		model_error(o->ns, o, "start", text + 7);
		lifecycle_event(m, o, EV_FAILED, text + 7);
	} else if (!strcmp(text, "oom") && killing) {
		lifecycle_event(m, o, EV_EXITED, "killed KILL");
		snprintf(o->rt.exit, sizeof(o->rt.exit), "killed KILL");
	} else if (!strcmp(text, "oom")) {
		model_error(o->ns, o, "memory", "killed by the OOM killer: config/memory is too small");
		lifecycle_event(m, o, EV_FAILED, "out of memory");
	} else
		lifecycle_event(m, o, EV_EXITED, text);
	waitq_wake_all(&o->console_wq); /* readers at the end now see the end */
	return true;
}

bool run_wait_exit(struct model *m, struct object *o, int ms)
{
	for (int i = 0; i <= ms / 10; i++) {
		if (run_reap(m, o))
			return true;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return false;
}

void run_events(struct model *m)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	while ((n = read(m->inotify, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			struct object *o = slotmap_get(m->slots, WD_KEY(ev->wd), SLOT_WD);
			if (!o || !ev->len)
				continue;
			if (!strcmp(ev->name, "console.log"))
				waitq_wake_all(&o->console_wq);
			else if (!strcmp(ev->name, "exit"))
				run_reap(m, o);
		}
	}
}

/* A VM's figures come from its QEMU process: cpu and guest time and RSS from /proc. */
static void vm_sample(struct model *m, struct object *o)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)o->rt.pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	char *p = n > 0 ? (buf[n] = 0, strrchr(buf, ')')) : NULL;
	unsigned long long ut, st, guest;
	long rss;
	/* fields 14, 15 (utime, stime), 24 (rss pages) and 43 (guest_time) */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
				"%*d %*d %*d %*u %*u %ld %*u %*u %*u %*u %*u %*u %*u %*u %*u %*u %*u "
				"%*u %*u %*d %*d %*u %*u %*u %llu", &ut, &st, &rss, &guest) != 4)
		return;
	static long hz, page;
	if (!hz) {
		hz = sysconf(_SC_CLK_TCK);
		page = sysconf(_SC_PAGESIZE);
	}
	uint64_t usec = (ut + st) * 1000000ULL / hz, gticks = guest;
	if (o->rt.cpu_usec && usec >= o->rt.cpu_usec)
		o->rt.cpu = (usec - o->rt.cpu_usec) / 10000.0;
	if (o->rt.cpu_usec && gticks >= o->rt.guest_ticks)
		o->rt.guest_cpu = (gticks - o->rt.guest_ticks) * 100.0 / hz;
	o->rt.cpu_usec = usec;
	o->rt.guest_ticks = gticks;
	o->rt.mem = (uint64_t)rss * page;
	o->rt.pids = 1;
	qmon_sample(m, o);
}

/* One event a call: a source's handler may free another ready source (a QEMU's monitor hanging
 * up ends its object, and with it the object's pidfd and console sources), which a batch of
 * events taken before would still point at. */
void run_sources(struct model *m)
{
	for (int i = 0; i < 16; i++) {
		struct epoll_event ev;
		if (epoll_wait(m->rtep, &ev, 1, 0) != 1)
			return;
		struct rtsrc *s = ev.data.ptr;
		s->ready(m, s);
	}
}

static void run_sample(struct model *m, struct object *o)
{
	struct cg_stats st;
	net_sample(o);
	if (o->type == OT_VM) {
		vm_sample(m, o);
		return;
	}
	if (cg_stats(o->ns->name, o->name, &st) < 0)
		return;
	if (o->rt.cpu_usec && st.cpu_usec >= o->rt.cpu_usec)
		o->rt.cpu = (st.cpu_usec - o->rt.cpu_usec) / 10000.0; /* per second: usec/1e6*100 */
	o->rt.cpu_usec = st.cpu_usec;
	o->rt.mem = st.memory;
	o->rt.pids = st.pids;
}

void run_tick(struct model *m)
{
	time_t now = time(NULL);
	for (size_t i = 0; i < m->nns; i++)
		for (int t = 0; t < 2; t++)
			for (size_t j = 0; j < m->nss[i]->objs[t].n; j++) {
				struct object *o = m->nss[i]->objs[t].v[j];
				lifecycle_start_settle(m, o, true); /* one that is past its deadline */
				bool incoming = o->type == OT_VM && migrate_in_receiving(o);
				if (o->state != ST_RUNNING && o->state != ST_PAUSED && !incoming)
					continue;
				if (o->type == OT_VM)
					vm_check(m, o);
				if (o->state != ST_RUNNING && o->state != ST_PAUSED)
					continue;
				if (o->rt.stop_deadline && now >= o->rt.stop_deadline && o->rt.pid > 0) {
					model_event(o->ns, o, "stop: still running after the grace period, killing it");
					o->rt.killing = true;
					kill(o->rt.pid, SIGKILL);
					o->rt.stop_deadline = 0;
				}
				run_sample(m, o);
			}
	orphan_reap(); /* the KVM probe's QEMUs, once they have died */
	model_changes++; /* the figures moved */
}

void run_exit_text(struct model *m, struct object *o)
{
	char path[BUILT_PATH_MAX];
	auto_free char *text = NULL;
	run_dir(m, o, path, sizeof(path));
	strncat(path, "/exit", sizeof(path) - strlen(path) - 1);
	if (read_small(AT_FDCWD, path, EXIT_FILE_MAX, &text, NULL) == 0) {
		text[strcspn(text, "\n")] = 0;
		exit_set(o, "", text);
	}
}

int run_init(struct model *m)
{
	m->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	m->rtep = epoll_create1(EPOLL_CLOEXEC);
	if (m->inotify < 0 || m->rtep < 0)
		return -errno;
	run_adopt_all(m);
	return 0;
}

void run_fini(struct model *m)
{
	/* first what still waits: a start finishes (it may watch its run directory), a commit
	 * stops and resumes its VM */
	for (size_t i = 0; i < m->nns; i++)
		for (int t = 0; t < 2; t++)
			for (size_t j = 0; j < m->nss[i]->objs[t].n; j++) {
				struct object *o = m->nss[i]->objs[t].v[j];
				lifecycle_start_settle(m, o, false);
				vm_job_cancel(m, o, "vmfs is exiting");
				migrate_out_stop(m, o);
				qmon_detach(m, o);
				run_unwatch_pid(m, o);
			}
	if (m->inotify >= 0)
		close(m->inotify);
	m->inotify = -1;
	if (m->rtep >= 0)
		close(m->rtep);
	m->rtep = -1;
}

/* What a container's start mounts in its run directory, and what each holds: its root, its
 * network and user namespaces, and an older kernel's overlay layer (runtime/shim/fs.c). */
static const struct {
	const char *name, *what;
} run_mounts[] = {
	{"root", "its root filesystem"},
	{"netns", "its network namespace"},
	{"userns", "its user namespace"},
	{"lower", "its image's overlay layer"},
};

int run_prepare(struct model *m, struct object *o)
{
	char objdir[NAME_MAX_LEN + 16];
	snprintf(objdir, sizeof(objdir), "%s/%s/run", otype_dir(o->type), o->name);
	char mnt[NAME_MAX_LEN + 64];
	/* what a crash left mounted (root is the shim's to clear) */
	for (size_t i = 1; i < ARRAY_SIZE(run_mounts); i++) {
		snprintf(mnt, sizeof(mnt), "/proc/self/fd/%d/%s/%s", o->ns->dirfd, objdir,
			 run_mounts[i].name);
		umount2(mnt, MNT_DETACH);
	}
	int r = remove_tree(o->ns->dirfd, objdir); /* the last run's, but never through a mount */
	if (!r && mkdirat(o->ns->dirfd, objdir, 0700) < 0)
		r = -errno;
	int dfd = r ? -1 : openat(o->ns->dirfd, objdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return r ? r : dfd < 0 ? -errno : dfd;
}

int run_open(struct model *m, struct object *o)
{
	char objdir[NAME_MAX_LEN + 16];
	snprintf(objdir, sizeof(objdir), "%s/%s/run", otype_dir(o->type), o->name);
	int dfd = openat(o->ns->dirfd, objdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return dfd < 0 ? -errno : dfd;
}

int run_write_pid(int dirfd, const char *file, pid_t pid)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%d %llu\n", (int)pid, proc_starttime(pid));
	return write_atomic(dirfd, file, line, n, 0);
}

int run_intent(struct model *m, struct object *o, int dfd)
{
	char line[128], objdir[NAME_MAX_LEN + 16];
	int n = snprintf(line, sizeof(line), "start %s %lld\n", m->cgroup_top, (long long)time(NULL));
	int r = write_atomic(dfd, "intent", line, n, 1);
	if (!r && fsync(dfd) < 0)
		r = -errno;
	/* and the directory that holds run/, which run_prepare has just made again */
	snprintf(objdir, sizeof(objdir), "%s/%s", otype_dir(o->type), o->name);
	int ofd = r ? -1 : openat(o->ns->dirfd, objdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!r && (ofd < 0 || fsync(ofd) < 0))
		r = -errno;
	if (ofd >= 0)
		close(ofd);
	return r;
}

void run_intent_clear(struct model *m, struct object *o)
{
	char path[BUILT_PATH_MAX];
	run_dir(m, o, path, sizeof(path));
	strncat(path, "/intent", sizeof(path) - strlen(path) - 1);
	unlink(path);
}

static void pid_ended(struct model *m, struct rtsrc *s)
{
	struct object *o = (struct object *)((char *)s - offsetof(struct object, rt.pid_src));
	run_unwatch_pid(m, o);
	/* a QEMU that receives a migration is BUILDING: its end (a failed stream) is noticed
	 * here too, not only by its monitor's hang-up, which may come before QEMU is gone */
	bool incoming = o->type == OT_VM && migrate_in_receiving(o);
	if (o->state != ST_RUNNING && o->state != ST_PAUSED && !incoming)
		return;
	if (o->type == OT_VM)
		vm_check(m, o); /* with a monitor, its hang-up decides (at the same time) */
	else if (!run_reap(m, o)) /* a shim that ends writes run/exit first */
		run_lost(m, o, "vmfs-shim ended unexpectedly (killed from outside?) before init; "
			 "vmfs ended the container");
}

int run_watch_pid(struct model *m, struct object *o, pid_t pid, unsigned long long start)
{
	run_unwatch_pid(m, o);
	int fd = syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -errno;
	if (proc_starttime(pid) != start) { /* the pid was free again, or reused */
		close(fd);
		return -ESRCH;
	}
	o->rt.pid_src.ready = pid_ended;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &o->rt.pid_src};
	if (epoll_ctl(m->rtep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	o->rt.pidfd = fd;
	return 0;
}

void run_unwatch_pid(struct model *m, struct object *o)
{
	if (o->rt.pidfd < 0)
		return;
	if (m->rtep >= 0)
		epoll_ctl(m->rtep, EPOLL_CTL_DEL, o->rt.pidfd, NULL);
	close(o->rt.pidfd);
	o->rt.pidfd = -1;
}

bool run_pid_ended(const struct object *o)
{
	struct pollfd p = {o->rt.pidfd, POLLIN, 0};
	return o->rt.pidfd < 0 || poll(&p, 1, 0) > 0;
}

int run_ct_cleanup(const char *ns, const char *name, const char *rundir)
{
	char path[BUILT_PATH_MAX + 100];
	int r = cg_kill(ns, name); /* init and all its processes, which hold the mounts */
	for (size_t i = 0; i < ARRAY_SIZE(run_mounts); i++) {
		snprintf(path, sizeof(path), "%s/%s", rundir, run_mounts[i].name);
		umount2(path, MNT_DETACH);
	}
	int r2 = cg_destroy(ns, name);
	return r ? r : r2;
}

int run_ct_cleanup_obj(struct model *m, struct object *o)
{
	char dir[BUILT_PATH_MAX];
	run_dir(m, o, dir, sizeof(dir));
	return run_ct_cleanup(o->ns->name, o->name, dir);
}

void run_exit_error(struct object *o, const char *why)
{
	exit_set(o, "error: ", why);
}

void run_lost(struct model *m, struct object *o, const char *why)
{
	struct sbuf line = {0};
	if (o->type == OT_CT)
		run_ct_cleanup_obj(m, o);
	sb_printf(&line, "error: %s\n", why);
	int dfd = sb_err(&line) ? -1 : run_open(m, o);
	if (dfd >= 0) {
		write_atomic(dfd, "exit", line.p, line.len, 1);
		close(dfd);
	}
	sb_free(&line);
	if (!run_reap(m, o)) { /* no run directory to record it in */
		run_unwatch_pid(m, o);
		o->rt.pid = 0;
		run_exit_error(o, why);
		model_error(o->ns, o, "start", why);
		lifecycle_event(m, o, EV_FAILED, why);
	}
}

/* A mount on name in dfd: another file system than the directory's. */
static bool mounted_on(int dfd, const char *name)
{
	struct stat d, st;
	return fstat(dfd, &d) == 0 && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       st.st_dev != d.st_dev;
}

int run_gone(struct model *m, struct object *o, struct err *e)
{
	if (o->rt.pidfd >= 0 && !run_pid_ended(o))
		return err_set(e, EBUSY, "cannot remove %s: its %s still runs", o->name,
			       o->type == OT_VM ? "QEMU" : "vmfs-shim");
	int dfd = o->type == OT_CT ? run_open(m, o) : -1;
	if (dfd < 0)
		return 0; /* never started here: nothing of it outside the state directory */
	struct cg_stats st;
	int cg = run_ct_cleanup_obj(m, o);
	int cgs = cg_stats(o->ns->name, o->name, &st);
	char what[128] = "";
	if (cgs == 0)
		snprintf(what, sizeof(what), "its cgroup cannot be removed (a process in it does not "
			 "die)");
	for (size_t i = 0; !*what && i < ARRAY_SIZE(run_mounts); i++)
		if (mounted_on(dfd, run_mounts[i].name))
			snprintf(what, sizeof(what), "%s stays mounted on run/%s", run_mounts[i].what,
				 run_mounts[i].name);
	close(dfd);
	if (!*what)
		return 0;
	return err_set(e, EBUSY, "cannot remove %s: %s%s%s; nothing was removed", o->name, what,
		       cg ? ": " : "", cg ? strerror(-cg) : "");
}
