/* After a vmfs restart, whatever moment the last one died at: every vmfs-shim and QEMU of
 * this vmfs is found in /proc by what its command line carries (our prefix, and its run
 * directory under our state directory), never by a name alone. Each is adopted by its
 * object with a true state, or ended, and what it held (mounts, cgroup) is cleaned; what
 * belongs to no object is ended too. Every decision is said in the object's log. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "runtime/lifecycle.h"
#include "runtime/net.h"
#include "runtime/run.h"
#include "runtime/vm.h"

#define SETTLE_MS 3000 /* how long a start cut short by the crash may take to finish */

struct proc {
	pid_t pid;
	unsigned long long start;
	bool qemu;
	bool claimed;
	char rundir[BUILT_PATH_MAX];
};

struct procs {
	struct proc *v;
	size_t n, cap;
};

/* QEMU doubles a comma inside an option's value. */
static void unescape_commas(const char *in, char *out, size_t outlen)
{
	size_t k = 0;
	for (; *in && k + 1 < outlen; in++) {
		out[k++] = *in;
		if (in[0] == ',' && in[1] == ',')
			in++;
	}
	out[k] = 0;
}

/* QEMU's "-name N,process=PREFIX-N", PREFIX-N exactly. */
static bool qemu_named(char **argv, int argc, const char *prefix, const char *name)
{
	char tag[NAME_MAX_LEN + 64];
	int n = snprintf(tag, sizeof(tag), ",process=%s-%s", prefix, name);
	for (int i = 0; i + 1 < argc; i++) {
		const char *t = strcmp(argv[i], "-name") ? NULL : strstr(argv[i + 1], tag);
		if (t && (t[n] == 0 || t[n] == ','))
			return true;
	}
	return false;
}

bool run_cmdline_owner(const char *statedir, const char *prefix, char **argv, int argc,
		       bool *qemu, char *rundir, size_t len)
{
	char base[BUILT_PATH_MAX];
	snprintf(base, sizeof(base), "%s/ns/", statedir);
	const char *slash = argc ? strrchr(argv[0], '/') : NULL;
	if (argc >= 4 && !strcmp(slash ? slash + 1 : argv[0], "vmfs-shim") &&
	    !strcmp(argv[3], prefix) && !strncmp(argv[1], base, strlen(base))) {
		*qemu = false;
		snprintf(rundir, len, "%s", argv[1]);
		return true;
	}
	for (int i = 0; i < argc; i++) {
		/* the console log's path: its fd set's note (-add-fd ...,opaque=PATH), or, from a
		 * vmfs whose QEMU opened it itself, the console's logfile= */
		const char *lf = strstr(argv[i], ",logfile="), *note = strstr(argv[i], ",opaque=");
		char path[BUILT_PATH_MAX];
		if (i && note && !strcmp(argv[i - 1], "-add-fd"))
			lf = note - 1; /* ",opaque=" is one longer than ",logfile=" */
		else if (!lf || strncmp(argv[i], "socket,id=ser0,", 15) ||
			 !strncmp(lf + 9, "/dev/fdset/", 11))
			continue;
		unescape_commas(lf + 9, path, sizeof(path));
		size_t n = strlen(path), tail = strlen("/run/console.log");
		if (strncmp(path, base, strlen(base)) || n <= tail ||
		    strcmp(path + n - tail, "/run/console.log"))
			return false;
		path[n - tail] = 0; /* STATEDIR/ns/NS/vms/NAME */
		const char *name = strrchr(path, '/') + 1;
		if (!qemu_named(argv, argc, prefix, name))
			return false;
		*qemu = true;
		snprintf(rundir, len, "%s/run", path);
		return true;
	}
	return false;
}

static void procs_scan(const struct model *m, struct procs *ps)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char *end, path[64];
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		auto_free char *text = NULL;
		size_t len = 0;
		if (read_small(AT_FDCWD, path, 1 << 16, &text, &len) < 0 || !len)
			continue;
		char *argv[256];
		int argc = 0;
		for (size_t i = 0; i < len && argc < 256; i += strlen(text + i) + 1)
			argv[argc++] = text + i;
		struct proc p = {.pid = (pid_t)pid};
		if (!run_cmdline_owner(m->statedir, m->cgroup_top, argv, argc, &p.qemu, p.rundir,
				       sizeof(p.rundir)) ||
		    !(p.start = proc_starttime(p.pid)))
			continue;
		if (ps->n == ps->cap) {
			size_t cap = ps->cap ? 2 * ps->cap : 16;
			struct proc *v = realloc(ps->v, cap * sizeof(*v));
			if (!v)
				break;
			ps->v = v;
			ps->cap = cap;
		}
		ps->v[ps->n++] = p;
	}
	if (d)
		closedir(d);
}

static bool alive(const struct proc *p)
{
	return proc_starttime(p->pid) == p->start;
}

/* SIGKILL, then up to 2 s for it to be gone, so that it writes nothing more (a QEMU
 * orphan would go on writing the console.log of the next QEMU of that name). */
static void end_proc(const struct proc *p)
{
	kill(p->pid, SIGKILL);
	for (int i = 0; i < 200 && alive(p); i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* "STATEDIR/ns/NS/TYPE/NAME/run" into NS, TYPE and NAME; false if it is not that shape. */
static bool rundir_parts(const struct model *m, const char *rundir, char *ns, char *type,
			 char *name)
{
	char fmt[64];
	size_t n = strlen(m->statedir);
	if (strncmp(rundir, m->statedir, n) || strncmp(rundir + n, "/ns/", 4))
		return false;
	snprintf(fmt, sizeof(fmt), "%%%d[^/]/%%15[^/]/%%%d[^/]/run%%n", NAME_MAX_LEN, NAME_MAX_LEN);
	int used = 0;
	return sscanf(rundir + n + 4, fmt, ns, type, name, &used) == 3 && !rundir[n + 4 + used];
}

/* A process whose run directory names no object: ended, its container's leftovers too. */
static void end_stray(struct model *m, struct proc *p)
{
	char ns[NAME_MAX_LEN + 1], type[16], name[NAME_MAX_LEN + 1], cwd[BUILT_PATH_MAX], link[64];
	/* the shim works in its run directory, wherever it has been moved since (damaged/) */
	snprintf(link, sizeof(link), "/proc/%d/cwd", (int)p->pid);
	ssize_t n = readlink(link, cwd, sizeof(cwd) - 1);
	cwd[n > 0 ? n : 0] = 0;
	if (n <= 0 || strstr(cwd, " (deleted)"))
		snprintf(cwd, sizeof(cwd), "%s", p->rundir);
	end_proc(p);
	bool parsed = rundir_parts(m, p->rundir, ns, type, name);
	if (parsed && !p->qemu)
		run_ct_cleanup(ns, name, cwd);
	struct ns *owner = parsed ? ns_find(m, ns) : NULL;
	if (owner)
		evlog_add(&owner->log, "%s/%s: ended %s (pid %d) left by a vmfs that was killed: no "
			  "object of that name", type, name, p->qemu ? "QEMU" : "vmfs-shim", (int)p->pid);
	else
		fprintf(stderr, "vmfs: ended %s (pid %d) of %s left by a vmfs that was killed: no "
			"object owns it\n", p->qemu ? "QEMU" : "vmfs-shim", (int)p->pid, p->rundir);
}

struct look {
	struct object *o;
	struct proc *mine[4];
	int nmine;
	bool done;
};

static void adopt_as_running(struct model *m, struct object *o, int dfd, struct proc *watch)
{
	struct stat st;
	o->rt.started = fstatat(dfd, "pid", &st, 0) == 0 ? st.st_mtime : time(NULL);
	net_adopt(m, o, dfd);
	run_watch(m, o);
	if (o->type == OT_VM)
		vm_adopt(m, o);
	lifecycle_event(m, o, EV_ADOPTED, NULL);
	model_event(o->ns, o, "adopted after a vmfs restart (pid %d)", (int)o->rt.pid);
	run_watch_pid(m, o, watch->pid, watch->start);
	if (o->type == OT_CT)
		run_reap(m, o); /* it may have ended between the two looks */
	else
		vm_check(m, o);
}

/* Nothing of o runs any more: its end is read from run/exit, or it ended unseen. */
static void settle_ended(struct model *m, struct object *o, int dfd, bool intent)
{
	bool running = o->state == ST_RUNNING || o->state == ST_PAUSED;
	bool has_exit = dfd >= 0 && faccessat(dfd, "exit", F_OK, 0) == 0;
	if (!running && !intent) {
		if (o->state == ST_QUIT || o->state == ST_ERROR)
			run_exit_text(m, o);
		return;
	}
	/* nothing runs: what its start made goes, whether or not its process ever ran (a start
	 * cut after its network namespace was mounted left that); run_lost does so itself */
	if (has_exit) {
		if (o->type == OT_CT)
			run_ct_cleanup_obj(m, o);
		run_reap(m, o);
	} else
		run_lost(m, o, running ? "it ended while vmfs was not running, leaving no exit status"
				       : "vmfs was killed while it started this, before its process ran");
	run_intent_clear(m, o);
}

/* One look at o: true when decided (adopted or ended), false while its start may still
 * finish. final: decide now, ending what has not finished. */
static bool look_once(struct model *m, struct look *l, bool final)
{
	struct object *o = l->o;
	int dfd = run_open(m, o);
	bool intent = dfd >= 0 && faccessat(dfd, "intent", F_OK, 0) == 0;
	struct proc *live[4];
	int nlive = 0;
	for (int i = 0; i < l->nmine; i++)
		if (alive(l->mine[i]))
			live[nlive++] = l->mine[i];
	bool decided = true;
	struct proc legacy = {0};
	if (!nlive && dfd >= 0 && (o->state == ST_RUNNING || o->state == ST_PAUSED) &&
	    run_pid_alive(dfd, o->type == OT_CT ? "shim.pid" : "pid", &legacy.pid, &legacy.start)) {
		/* started by a vmfs that put no prefix in command lines: its pid files say it */
		legacy.qemu = o->type == OT_VM;
		live[nlive++] = &legacy;
	}
	if (!nlive) {
		settle_ended(m, o, dfd, intent);
	} else if (o->type == OT_CT && nlive == 1 &&
		   run_pid_alive(dfd, "pid", &o->rt.pid, &o->rt.pid_start)) {
		adopt_as_running(m, o, dfd, live[0]); /* the shim has reported */
	} else if (o->type == OT_VM && nlive == 1 && dfd >= 0) {
		auto_free char *text = NULL;
		int qpid = 0;
		/* the daemon alone: the parent QEMU has exited, the machine is set up (vmfs may
		 * have died before it wrote run/pid) */
		bool known = run_pid_alive(dfd, "pid", &o->rt.pid, &o->rt.pid_start) &&
			     o->rt.pid == live[0]->pid;
		if (!known && read_small(dfd, "qemu.pid", 64, &text, NULL) == 0 &&
		    sscanf(text, "%d", &qpid) == 1 && qpid == live[0]->pid &&
		    run_write_pid(dfd, "pid", qpid) == 0)
			known = run_pid_alive(dfd, "pid", &o->rt.pid, &o->rt.pid_start);
		if (known)
			adopt_as_running(m, o, dfd, live[0]);
		else
			decided = false;
	} else {
		decided = false;
	}
	if (!decided && final) {
		for (int i = 0; i < nlive; i++) {
			end_proc(live[i]);
			model_event(o->ns, o, "ended %s (pid %d): its start, cut short when vmfs was "
				    "killed, did not finish within %d s of the restart",
				    live[i]->qemu ? "QEMU" : "vmfs-shim", (int)live[i]->pid,
				    SETTLE_MS / 1000);
		}
		o->rt.pid = 0;
		run_lost(m, o, "vmfs was killed while it started this; the start did not finish");
		run_intent_clear(m, o);
		decided = true;
	}
	if (dfd >= 0)
		close(dfd);
	return decided;
}

static int proc_cmp(const void *a, const void *b)
{
	return strcmp(((const struct proc *)a)->rundir, ((const struct proc *)b)->rundir);
}

/* The next unclaimed process of rundir (ps sorted by run directory: a binary search, as
 * there may be thousands of objects and processes). */
static struct proc *claim(struct procs *ps, const char *rundir, size_t *from)
{
	if (*from == 0) {
		size_t lo = 0, hi = ps->n;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (strcmp(ps->v[mid].rundir, rundir) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		*from = lo;
	}
	for (; *from < ps->n && !strcmp(ps->v[*from].rundir, rundir); (*from)++)
		if (!ps->v[*from].claimed) {
			ps->v[*from].claimed = true;
			return &ps->v[(*from)++];
		}
	return NULL;
}

/* A run directory without an object (its config gone, or moved aside as damaged): what a
 * container of it may hold (cgroup, mounts) goes, and the namespace's log says so. */
static void clean_orphan_dirs(struct model *m, struct ns *ns)
{
	for (int t = 0; t < 2; t++) {
		int fd = openat(ns->dirfd, otype_dir(t), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = fd < 0 ? NULL : fdopendir(fd);
		struct dirent *de;
		if (!d && fd >= 0)
			close(fd);
		while (d && (de = readdir(d))) {
			char run[300], rundir[4400];
			snprintf(run, sizeof(run), "%s/run", de->d_name);
			if (de->d_name[0] == '.' || faccessat(fd, run, F_OK, AT_SYMLINK_NOFOLLOW) < 0 ||
			    obj_find(ns, t, de->d_name))
				continue;
			snprintf(rundir, sizeof(rundir), "%s/ns/%s/%s/%s/run", m->statedir, ns->name,
				 otype_dir(t), de->d_name);
			if (t == OT_CT)
				run_ct_cleanup(ns->name, de->d_name, rundir);
			evlog_add(&ns->log, "%s/%s: a run directory without an object: what a "
				  "container of it held (cgroup, mounts) is removed", otype_dir(t), de->d_name);
		}
		if (d)
			closedir(d);
	}
}

void run_end_procs(struct model *m, const char *rundir)
{
	struct procs ps = {0};
	procs_scan(m, &ps);
	for (size_t i = 0; i < ps.n; i++)
		if (!strcmp(ps.v[i].rundir, rundir))
			end_proc(&ps.v[i]);
	free(ps.v);
}

void run_adopt_all(struct model *m)
{
	struct procs ps = {0};
	procs_scan(m, &ps);
	if (ps.n)
		qsort(ps.v, ps.n, sizeof(*ps.v), proc_cmp);
	size_t nobj = 0;
	for (size_t i = 0; i < m->nns; i++)
		nobj += m->nss[i]->objs[OT_VM].n + m->nss[i]->objs[OT_CT].n;
	struct look *ls = calloc(nobj ? nobj : 1, sizeof(*ls));
	size_t k = 0;
	for (size_t i = 0; ls && i < m->nns; i++)
		for (int t = 0; t < 2; t++)
			for (size_t j = 0; j < m->nss[i]->objs[t].n; j++) {
				struct look *l = &ls[k++];
				char dir[BUILT_PATH_MAX];
				size_t from = 0;
				l->o = m->nss[i]->objs[t].v[j];
				run_dir(m, l->o, dir, sizeof(dir));
				struct proc *p;
				while (l->nmine < 4 && (p = claim(&ps, dir, &from)))
					l->mine[l->nmine++] = p;
			}
	/* a process of the wrong kind for its object is no start of it */
	for (size_t i = 0; i < k; i++)
		for (int j = 0; j < ls[i].nmine; j++)
			if (ls[i].mine[j]->qemu != (ls[i].o->type == OT_VM))
				ls[i].mine[j]->claimed = false;
	for (size_t i = 0; i < ps.n; i++)
		if (!ps.v[i].claimed)
			end_stray(m, &ps.v[i]);
	for (size_t i = 0; i < m->nns; i++)
		clean_orphan_dirs(m, m->nss[i]);
	for (size_t i = 0; i < k; i++) { /* only the claimed ones stay in mine */
		int n = 0;
		for (int j = 0; j < ls[i].nmine; j++)
			if (ls[i].mine[j]->claimed)
				ls[i].mine[n++] = ls[i].mine[j];
		ls[i].nmine = n;
	}
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t left = k;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		bool final = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >=
			     SETTLE_MS;
		for (size_t i = 0; i < k; i++)
			if (!ls[i].done && (ls[i].done = look_once(m, &ls[i], final)))
				left--;
		if (!left)
			break;
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < k; i++)
		if (ls[i].o->type == OT_VM)
			vm_job_recover(m, ls[i].o); /* after adoption: a live VM can be resumed */
	free(ls);
	free(ps.v);
}
