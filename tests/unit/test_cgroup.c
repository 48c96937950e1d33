/* runtime/cgroup.c on real cgroups: this machine's layout (v1 here, v2 on most machines),
 * a private cgroup2 mount reached through VMFS_CGROUP_ROOT (pure v2, whatever the host),
 * and v1 layouts with only the pids and devices controllers, and with pids alone (the "not
 * available" errors). Needs root.
 *
 * cg_probe() caches its answer for the process, so each part runs in a forked child that
 * reports its TAP counters back. Groups live under vmfs/vmfs-test-PID/ and are scrubbed
 * (thawed, killed, removed) at exit, whatever happened. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cgroup.h"
#include "tests/unit/tap.h"

#define MB (1024ull * 1024)
static const char *const v1c[] = {"memory", "cpu", "cpuacct", "freezer", "pids", "devices"};
static char ns[64];
static const char *root = "/sys/fs/cgroup"; /* what the part under test uses */
static enum cg_mode mode;
static volatile pid_t part_pid; /* the part running, for on_signal */

/* cg_freeze's reason, copied into the buffer the other calls here use ("" on success). */
static int freeze_into(const char *group_ns, const char *name, int frozen, char *buf, size_t len)
{
	struct err e;
	buf[0] = 0;
	return err_result(&e, cg_freeze(group_ns, name, frozen, &e), buf, len);
}

static void msleep(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* root[/controller]/vmfs/NS/leaf[/file], in one of four rotating buffers. */
static const char *lpath(const char *ctrl, const char *leaf, const char *file)
{
	static char buf[4][PATH_MAX];
	static int i;
	char *p = buf[i++ % 4];
	snprintf(p, PATH_MAX, "%s%s%s/vmfs/%s%s%s%s%s", root, mode == CG_V1 ? "/" : "",
		 mode == CG_V1 ? ctrl : "", ns, leaf ? "/" : "", leaf ? leaf : "", file ? "/" : "",
		 file ? file : "");
	return p;
}


static void put(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return;
	if (write(fd, val, strlen(val)) < 0) /* best effort */
		errno = 0;
	close(fd);
}

/* How many device programs are attached to a cgroup2 directory (BPF_PROG_QUERY), or -1. */
static int dev_progs(const char *dir)
{
	union bpf_attr a;
	int fd = open(dir, O_RDONLY | O_DIRECTORY), r;
	memset(&a, 0, sizeof a);
	a.query.target_fd = fd;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	r = fd < 0 || syscall(SYS_bpf, BPF_PROG_QUERY, &a, sizeof a) ? -1 : (int)a.query.prog_cnt;
	if (fd >= 0)
		close(fd);
	return r;
}

/* waitpid with a deadline: the status, or -1. */
static int reap(pid_t pid, int ms)
{
	int st;
	for (int i = 0; i < ms / 10; i++, msleep(10))
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
	return -1;
}

/* A child that joins the group itself, uses 4 MB and ~50 ms of CPU, then counts up in
 * *ctr every millisecond. *rc: cg_attach's answer. */
static pid_t sleeper(const char *leaf, volatile unsigned long *ctr, int *rc)
{
	int fds[2];
	pid_t pid;

	pid_t parent = getpid();
	fflush(stdout);
	if (pipe(fds) || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		char err[256];
		struct timespec t0, t;
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(1);
		int r = cg_attach(ns, leaf, getpid(), err, sizeof err);
		char *m =
		    mmap(NULL, 4 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m != MAP_FAILED)
			memset(m, 1, 4 * MB);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do
			clock_gettime(CLOCK_MONOTONIC, &t);
		while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec < 50000000L);
		if (write(fds[1], &r, sizeof r) != sizeof r)
			_exit(1);
		for (;;) {
			(*ctr)++;
			msleep(1);
		}
	}
	close(fds[1]);
	if (read(fds[0], rc, sizeof *rc) != sizeof *rc)
		*rc = -EPIPE;
	close(fds[0]);
	return pid;
}

/* The counter stands still (frozen) or moves (running) over 100 ms. */
static int moving(volatile unsigned long *ctr)
{
	unsigned long a = *ctr;
	msleep(100);
	return *ctr != a;
}

static void check_limits(void)
{
	if (mode == CG_V1) {
		is_str(slurp(lpath("memory", "c1", "memory.limit_in_bytes")), "67108864",
		       "memory.limit_in_bytes is 64M");
		const char *sw = slurp(lpath("memory", "c1", "memory.memsw.limit_in_bytes"));
		ok(!sw || strcmp(sw, "67108864") == 0,
		   "memory.memsw.limit_in_bytes is 64M too (%s)", sw ? sw : "absent");
		is_str(slurp(lpath("cpu", "c1", "cpu.cfs_quota_us")), "50000", "cfs quota 50000");
		is_str(slurp(lpath("cpu", "c1", "cpu.cfs_period_us")), "100000",
		       "cfs period 100000");
		is_str(slurp(lpath("pids", "c1", "pids.max")), "64", "pids.max 64");
		const char *dev = slurp(lpath("devices", "c1", "devices.list"));
		ok(dev && strstr(dev, "c 1:3 rwm") && strstr(dev, "c 136:* rwm") &&
		       strstr(dev, "c 5:2 rwm") && !strstr(dev, "a *:*"),
		   "devices.list is the whitelist");
		char uni[PATH_MAX];
		snprintf(uni, sizeof uni, "%s/unified/vmfs/%s/c1", root, ns);
		if (access(uni, F_OK) == 0)
			ok(dev_progs(uni) == 1, "the hybrid layout's unified group has a device program");
	} else {
		ok(dev_progs(lpath(0, "c1", NULL)) == 1, "a device program is attached to the group");
		is_str(slurp(lpath(0, "c1", "memory.max")), "67108864", "memory.max is 64M");
		const char *sw = slurp(lpath(0, "c1", "memory.swap.max"));
		ok(!sw || strcmp(sw, "0") == 0, "memory.swap.max is 0 (%s)", sw ? sw : "absent");
		is_str(slurp(lpath(0, "c1", "cpu.max")), "50000 100000", "cpu.max");
		is_str(slurp(lpath(0, "c1", "pids.max")), "64", "pids.max 64");
	}
}

/* The emptied group is reused with a higher memory limit, then none: on v1 the kernel
 * wants memsw raised before the limit (EINVAL otherwise), and lowered after it. */
static void check_relimit(void)
{
	char err[512];
	struct cg_limits lim = {128 * MB, 0, 0};
	const char *file = mode == CG_V1 ? "memory.limit_in_bytes" : "memory.max";
	int rc = cg_create(ns, "c1", &lim, err, sizeof err);
	ok(rc == 0, "reused with 128M %s", err);
	is_str(slurp(lpath("memory", "c1", file)), "134217728", "%s is 128M", file);
	if (mode == CG_V1)
		is_str(slurp(lpath("memory", "c1", "memory.memsw.limit_in_bytes")), "134217728",
		       "and memsw too");
	lim.memory = 0;
	ok(cg_create(ns, "c1", &lim, err, sizeof err) == 0, "reused with no limit %s", err);
	const char *v = slurp(lpath("memory", "c1", file));
	ok(v && (strcmp(v, "max") == 0 || strtoull(v, NULL, 10) >= (1ull << 62)),
	   "%s is unlimited: %s", file, v ? v : "?");
}

/* Freeze, check the kernel's word and that the child stands still, thaw. */
static void check_freeze(const char *leaf, pid_t pid, volatile unsigned long *ctr)
{
	char err[512] = "", st[64];
	int rc = freeze_into(ns, leaf, 1, err, sizeof err);
	ok(rc == 0, "cg_freeze(1) %s", err);
	if (mode == CG_V1)
		is_str(slurp(lpath("freezer", leaf, "freezer.state")), "FROZEN", "freezer.state");
	else
		ok(strstr(slurp(lpath(0, leaf, "cgroup.events")) ?: "", "frozen 1"),
		   "cgroup.events says frozen 1");
	ok(!moving(ctr), "the frozen child does not run");
	snprintf(st, sizeof st, "/proc/%d/status", (int)pid);
	const char *s = slurp(st), *state = s ? strstr(s, "State:") : NULL;
	printf("# frozen child's %.*s\n", state ? (int)strcspn(state, "\n") : 4,
	       state ? state : "none");
	rc = freeze_into(ns, leaf, 0, err, sizeof err);
	ok(rc == 0, "cg_freeze(0) %s", err);
	if (mode == CG_V1)
		is_str(slurp(lpath("freezer", leaf, "freezer.state")), "THAWED", "thawed");
	ok(moving(ctr), "the thawed child runs again");
}

/* A child in a 32M group touching 200 MB is OOM-killed. */
static void check_oom(void)
{
	char err[512] = "";
	struct cg_limits lim = {32 * MB, 0, 0};
	struct cg_stats s;
	int rc = cg_create(ns, "oom", &lim, err, sizeof err);
	ok(rc == 0, "create oom with 32M %s", err);
	pid_t parent = getpid();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(1);
		if (cg_attach(ns, "oom", getpid(), err, sizeof err))
			_exit(2);
		char *m = mmap(NULL, 200 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		for (size_t i = 0; m != MAP_FAILED && i < 200 * MB; i += 4096)
			m[i] = 1;
		_exit(0);
	}
	int st = reap(pid, 30000);
	ok(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	   "the 200 MB child is OOM-killed (status %#x)", st);
	if (st == -1)
		kill(pid, SIGKILL), reap(pid, 2000);
	ok(cg_stats(ns, "oom", &s) == 0 && s.oom_kills >= 1, "cg_stats counts %llu oom kills",
	   (unsigned long long)s.oom_kills);
	ok(cg_destroy(ns, "oom") == 0, "destroy oom");
}

static int gone(const char *leaf)
{
	struct stat st;
	if (mode == CG_V2)
		return stat(lpath(0, leaf, NULL), &st) != 0;
	for (size_t i = 0; i < sizeof v1c / sizeof *v1c; i++)
		if (stat(lpath(v1c[i], leaf, NULL), &st) == 0)
			return 0;
	return 1;
}

/* Every line of /proc/PID/cgroup names the group of its own (none leaves it where the host
 * is), one level below the one with the limits: vmfs/NS/c1/container. */
static void check_own_groups(const char *cgf)
{
	char want[128], line[512];
	int bad = 0, lines = 0, v2 = 0;
	snprintf(want, sizeof want, ":/vmfs/%s/c1/container", ns);
	for (const char *p = cgf; p && *p; p += strcspn(p, "\n"), p += !!*p, lines++) {
		snprintf(line, sizeof line, "%.*s", (int)strcspn(p, "\n"), p);
		v2 |= strncmp(line, "0::", 3) == 0;
		if (strlen(line) < strlen(want) ||
		    strcmp(line + strlen(line) - strlen(want), want) != 0) {
			bad++;
			printf("# not in a group of its own: %s\n", line);
		}
	}
	ok(lines > 0 && bad == 0, "the child is in vmfs/%s/c1/container in all %d hierarchies", ns,
	   lines);
	struct statfs sf;
	if (statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		ok(v2, "the hybrid layout's cgroup2 too (0::/vmfs/%s/c1/container)", ns);
}

static void check_errors(pid_t pid)
{
	char err[512] = "";
	ok(cg_create(ns, "../x", NULL, err, sizeof err) == -EINVAL, "a name with / is refused: %s",
	   err);
	struct cg_limits bad = {0, -1, 0};
	ok(cg_create(ns, "bad", &bad, err, sizeof err) == -EINVAL && gone("bad"),
	   "a negative CPU limit is refused: %s", err);
	ok(cg_create(ns, "c1", NULL, err, sizeof err) == -EBUSY && strstr(err, "holds processes"),
	   "an occupied group is not reused: %s", err);
	ok(cg_attach(ns, "c1", 999999999, err, sizeof err) == -ESRCH &&
	       strstr(err, "cannot write 999999999 to ") && strstr(err, "No such process"),
	   "attaching no process: %s", err);
	char want[128];
	snprintf(want, sizeof want, "vmfs/%s/c1", ns);
	snprintf(err, sizeof err, "/proc/%d/cgroup", (int)pid);
	const char *cgf = slurp(err);
	ok(cgf && strstr(cgf, want), "/proc/PID/cgroup names %s", want);
	check_own_groups(cgf);
}

static void test_host(void)
{
	char err[512] = "";
	struct cg_limits lim = {64 * MB, 0.5, 64};
	struct cg_stats s;
	int rc, arc;
	volatile unsigned long *ctr =
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	mode = cg_probe();
	ok(mode != CG_NONE, "this machine's layout: %s", cg_mode_name(mode));
	if (mode == CG_NONE)
		return;
	rc = cg_create(ns, "c1", &lim, err, sizeof err);
	ok(rc == 0, "create c1 with 64M, 0.5 CPU, 64 pids %s", err);
	check_limits();
	ok(cg_create(ns, "c1", &lim, err, sizeof err) == 0, "create again reuses it %s", err);
	pid_t pid = sleeper("c1", ctr, &arc);
	ok(pid > 0 && arc == 0, "the child attached itself (%d)", arc);
	check_errors(pid);
	ok(cg_stats(ns, "c1", &s) == 0 && s.memory > 0 && s.pids == 1 && s.memory_max == 64 * MB &&
	       s.cpu_usec > 10000,
	   "cg_stats: memory %llu, max %llu, pids %llu, cpu %llu us", (unsigned long long)s.memory,
	   (unsigned long long)s.memory_max, (unsigned long long)s.pids,
	   (unsigned long long)s.cpu_usec);
	check_freeze("c1", pid, ctr);
	check_oom();
	ok(freeze_into(ns, "c1", 1, err, sizeof err) == 0, "freeze again before the kill %s", err);
	ok(cg_kill(ns, "c1") == 0, "cg_kill");
	int st = reap(pid, 3000);
	ok(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	   "the frozen child died of SIGKILL");
	ok(cg_stats(ns, "c1", &s) == 0 && s.pids == 0, "no process left (%llu)",
	   (unsigned long long)s.pids);
	check_relimit();
	ok(cg_destroy(ns, "c1") == 0, "cg_destroy");
	ok(gone("c1"), "the group is gone from every hierarchy");
	ok(access(lpath(v1c[0], NULL, NULL), F_OK) != 0, "and so is vmfs/%s", ns);
	ok(cg_destroy(ns, "c1") == 0 && cg_kill(ns, "c1") == 0, "destroy and kill of none: 0");
	ok(cg_stats(ns, "c1", &s) == -ENOENT, "no stats of none");
}

/* A private mount namespace with a cgroup mounted at a temporary directory. */
static int private_mount(char *tmp, const char *sub, const char *type, const char *opts)
{
	char p[PATH_MAX];
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mkdir(tmp, 0700))
		return -errno;
	snprintf(p, sizeof p, "%s%s", tmp, sub);
	if ((*sub && mkdir(p, 0755)) || mount("none", p, type, 0, opts)) {
		int e = -errno;
		rmdir(p), rmdir(tmp);
		return e;
	}
	setenv("VMFS_CGROUP_ROOT", tmp, 1);
	root = tmp;
	return 0;
}

static void private_umount(char *tmp, const char *sub)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s%s", tmp, sub);
	umount2(p, MNT_DETACH);
	rmdir(p), rmdir(tmp);
}

static void test_v2(void)
{
	char tmp[128], err[512] = "", want[128];
	struct cg_limits mem = {64 * MB, 0, 0}, cpu = {0, 0.5, 0};
	struct cg_stats s;
	int rc, arc;
	volatile unsigned long *ctr =
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	snprintf(tmp, sizeof tmp, "/tmp/%s-cg2", ns);
	if ((rc = private_mount(tmp, "", "cgroup2", NULL))) {
		ok(1, "# SKIP no private cgroup2 mount: %s", strerror(-rc));
		return;
	}
	mode = cg_probe();
	ok(mode == CG_V2, "VMFS_CGROUP_ROOT=%s (cgroup2) probes as v2", tmp);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/cgroup.controllers", tmp);
	const char *ctl = slurp(path);
	printf("# cgroup2 controllers: '%s'\n", ctl ? ctl : "?");
	if (ctl && !strstr(ctl, "memory")) {
		rc = cg_create(ns, "v2c1", &mem, err, sizeof err);
		ok(rc == -EOPNOTSUPP, "no memory controller: memory limit refused (%d)", rc);
		is_str(err, "the memory controller is not available: no limit can be enforced",
		       "the reason");
		ok(gone("v2c1"), "and nothing is left behind");
		rc = cg_create(ns, "v2c1", &cpu, err, sizeof err);
		ok(rc == -EOPNOTSUPP && strstr(err, "cpu controller"), "cpu limit refused: %s",
		   err);
		mem.memory = 0;
	}
	rc = cg_create(ns, "v2c1", &mem, err, sizeof err);
	ok(rc == 0, "create v2c1 %s", err);
	ok(dev_progs(lpath(0, "v2c1", NULL)) == 1, "a device program is attached to it");
	ok(dev_progs(lpath(0, "v2c1", "container")) == 0,
	   "none to its inner group, which the program above covers");
	pid_t pid = sleeper("v2c1", ctr, &arc);
	ok(pid > 0 && arc == 0, "the child attached itself (%d)", arc);
	snprintf(want, sizeof want, "0::/vmfs/%s/v2c1/container", ns);
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	ok(strstr(slurp(path) ?: "", want), "/proc/PID/cgroup says %s: the limits are one level up, "
	   "out of a cgroup namespace's sight", want);
	/* what a container with a cgroupfs of its own could do: a subgroup, a process in it */
	snprintf(path, sizeof path, "%s/sub", lpath(0, "v2c1", "container"));
	ok(mkdir(path, 0755) == 0, "a subgroup below the container's group");
	volatile unsigned long *ctr2 =
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid2 = sleeper("v2c1", ctr2, &arc);
	char v[16];
	snprintf(v, sizeof v, "%d", (int)pid2);
	snprintf(path, sizeof path, "%s/sub/cgroup.procs", lpath(0, "v2c1", "container"));
	put(path, v);
	ok(strstr(slurp(path) ?: "", v), "a second child moved into it");
	ok(cg_stats(ns, "v2c1", &s) == 0 && s.pids == 2 && s.cpu_usec > 10000,
	   "cg_stats counts the subgroup's too: pids %llu, cpu %llu us, memory %llu", (unsigned long long)s.pids,
	   (unsigned long long)s.cpu_usec, (unsigned long long)s.memory);
	check_freeze("v2c1", pid, ctr);
	ok(freeze_into(ns, "v2c1", 1, err, sizeof err) == 0, "freeze again before the kill %s", err);
	ok(cg_kill(ns, "v2c1") == 0, "cg_kill (cgroup.kill)");
	int st = reap(pid, 3000);
	ok(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	   "the frozen child died of SIGKILL");
	st = reap(pid2, 3000);
	ok(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	   "and so did the one in the subgroup");
	snprintf(path, sizeof path, "%s/sub", lpath(0, "v2c1", "container"));
	ok(cg_create(ns, "v2c1", NULL, err, sizeof err) == 0 && access(path, F_OK) != 0 &&
	       access(lpath(0, "v2c1", "container"), F_OK) == 0,
	   "reused, without the subgroup the last run made %s", err);
	ok(cg_destroy(ns, "v2c1") == 0, "cg_destroy");
	ok(gone("v2c1") && access(lpath(0, NULL, NULL), F_OK) != 0, "v2c1 and vmfs/%s are gone",
	   ns);
	private_umount(tmp, "");
}

static void test_v1_partial(void)
{
	char tmp[128], err[512] = "";
	struct cg_limits mem = {64 * MB, 0, 0}, cpu = {0, 0.5, 0}, pids = {0, 0, 16};
	struct cg_stats s;
	int rc;

	snprintf(tmp, sizeof tmp, "/tmp/%s-cg1", ns);
	if (!slurp("/sys/fs/cgroup/pids/cgroup.procs") ||
	    (rc = private_mount(tmp, "/pids", "cgroup", "pids"))) {
		ok(1, "# SKIP no v1 pids hierarchy to mount alone");
		return;
	}
	char dev[PATH_MAX];
	snprintf(dev, sizeof dev, "%s/devices", tmp);
	ok(mkdir(dev, 0755) == 0 && mount("none", dev, "cgroup", 0, "devices") == 0,
	   "the devices hierarchy beside it (without, no start: test_v1_pids_alone)");
	mode = cg_probe();
	ok(mode == CG_V1, "a root with only pids and devices probes as v1");
	rc = cg_create(ns, "p1", &mem, err, sizeof err);
	ok(rc == -EOPNOTSUPP, "memory limit without the memory controller: %d", rc);
	is_str(err, "the memory controller is not available: no limit can be enforced", "reason");
	ok(cg_create(ns, "p1", &cpu, err, sizeof err) == -EOPNOTSUPP &&
	       strstr(err, "cpu controller"),
	   "cpu limit refused: %s", err);
	ok(gone("p1"), "nothing is left behind");
	ok(cg_create(ns, "p1", &pids, err, sizeof err) == 0, "pids limit alone works %s", err);
	is_str(slurp(lpath("pids", "p1", "pids.max")), "16", "pids.max 16");
	rc = freeze_into(ns, "p1", 1, err, sizeof err);
	ok(rc == -EOPNOTSUPP, "freeze without a freezer: %s", err);
	ok(cg_stats(ns, "p1", &s) == 0 && s.memory == 0 && s.pids == 0,
	   "stats skip what is missing");
	ok(cg_destroy(ns, "p1") == 0 && gone("p1"), "destroy");
	umount2(dev, MNT_DETACH);
	rmdir(dev);
	private_umount(tmp, "/pids");
}

/* Runs one part in a child (cg_probe's cache is per process) and takes its counters. */
/* pids alone: no devices controller and no cgroup2 tree, so devices could not be confined
 * (the container keeps CAP_MKNOD): refused. */
static void test_v1_pids_alone(void)
{
	char tmp[128], err[512] = "";
	struct cg_limits pids = {0, 0, 16};
	snprintf(tmp, sizeof tmp, "/tmp/%s-cg1p", ns);
	if (!slurp("/sys/fs/cgroup/pids/cgroup.procs") || private_mount(tmp, "/pids", "cgroup", "pids")) {
		ok(1, "# SKIP no v1 pids hierarchy to mount alone");
		return;
	}
	mode = cg_probe();
	ok(cg_create(ns, "p2", &pids, err, sizeof err) == -EOPNOTSUPP,
	   "no devices controller and no cgroup2: refused");
	is_str(err, "the devices controller is not available, nor a cgroup2 tree for a device "
		    "program: devices cannot be confined", "reason");
	ok(gone("p2"), "nothing is left behind");
	private_umount(tmp, "/pids");
}

static void part(void (*fn)(void), const char *what)
{
	int *res = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int st;

	printf("# %s\n", what);
	fflush(stdout);
	res[0] = -1;
	pid_t parent = getpid(), pid = part_pid = fork();
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(1);
		fn();
		res[0] = tap_n, res[1] = tap_failed;
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	part_pid = 0;
	if (res[0] >= 0)
		tap_n = res[0], tap_failed = res[1];
	else
		ok(0, "%s ended early (status %#x)", what, st);
	munmap(res, 4096);
}

/* Thaws, kills and removes a group and those below it, depth first. */
static void scrub_group(const char *leaf, int depth)
{
	char sub[1024];
	struct dirent *e;
	DIR *dir = depth < 8 ? opendir(leaf) : NULL;
	while (dir && (e = readdir(dir)))
		if (e->d_type == DT_DIR && e->d_name[0] != '.' &&
		    (size_t)snprintf(sub, sizeof sub, "%s/%s", leaf, e->d_name) < sizeof sub)
			scrub_group(sub, depth + 1);
	if (dir)
		closedir(dir);
	if (depth)
		printf("# scrubbing %s\n", leaf);
	for (int i = 0; i < 100 && rmdir(leaf) != 0 && errno == EBUSY; i++, msleep(10)) {
		char f[1024 + 32];
		snprintf(f, sizeof f, "%s/cgroup.procs", leaf);
		for (const char *p = slurp(f); p && *p; p += strcspn(p, "\n"), p += !!*p)
			kill(atoi(p), SIGKILL);
		snprintf(f, sizeof f, "%s/freezer.state", leaf), put(f, "THAWED");
		snprintf(f, sizeof f, "%s/cgroup.freeze", leaf), put(f, "0");
	}
}

/* Whatever the parts left under one hierarchy. */
static void scrub_hier(const char *hier)
{
	char d[512];
	snprintf(d, sizeof d, "%s/vmfs/%s", hier, ns);
	scrub_group(d, 0);
	snprintf(d, sizeof d, "%s/vmfs", hier);
	rmdir(d);
}

static int scrub(void)
{
	/* freezer first: a task frozen on v1 ignores SIGKILL until thawed, and holds the
	 * other hierarchies' groups meanwhile; then every other one mounted there */
	char h[300], d[512];
	int left = 0;
	DIR *dir = opendir("/sys/fs/cgroup");
	struct dirent *e = NULL;
	for (int first = 1; first || (dir && (e = readdir(dir))); first = 0) {
		if (e && (e->d_name[0] == '.' || strcmp(e->d_name, "freezer") == 0))
			continue;
		snprintf(h, sizeof h, "/sys/fs/cgroup/%s", e ? e->d_name : "freezer");
		scrub_hier(h);
		snprintf(d, sizeof d, "%s/vmfs/%s", h, ns);
		left += access(d, F_OK) == 0;
	}
	if (dir)
		closedir(dir);
	scrub_hier("/sys/fs/cgroup");
	snprintf(d, sizeof d, "/sys/fs/cgroup/vmfs/%s", ns);
	left += access(d, F_OK) == 0;
	snprintf(d, sizeof d, "/tmp/%s-cg1/pids", ns), rmdir(d);
	snprintf(d, sizeof d, "/tmp/%s-cg1", ns), rmdir(d);
	snprintf(d, sizeof d, "/tmp/%s-cg2", ns), rmdir(d);
	return left;
}

static void scrub_at_exit(void) { scrub(); }

/* Stops the part first (its children die with it: PR_SET_PDEATHSIG), so that it makes
 * no group after the scrub. */
static void on_signal(int sig)
{
	if (part_pid > 0 && kill(part_pid, SIGKILL) == 0)
		waitpid(part_pid, NULL, 0);
	scrub();
	fflush(stdout);
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("1..0 # SKIP cgroups need root\n");
		return 77;
	}
	snprintf(ns, sizeof ns, "vmfs-test-%d", (int)getpid());
	atexit(scrub_at_exit);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	part(test_host, "this machine's layout");
	part(test_v2, "pure v2 on a private cgroup2 mount");
	part(test_v1_partial, "v1 with the pids and devices controllers alone");
	part(test_v1_pids_alone, "v1 with the pids controller alone");
	ok(scrub() == 0, "no group of vmfs/%s is left on any hierarchy", ns);
	return tap_done();
}
