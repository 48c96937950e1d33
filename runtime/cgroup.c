/* Control groups on cgroup v1 and pure cgroup v2: see cgroup.h for the contract.
 *
 * The layout is probed once (cg_probe) and cached; that cached result is the only mutable
 * state here. Every value is written with one write(2), as cgroup files parse each write
 * on its own. Reasons name the file and the errno. */
#include "runtime/cgroup.h"

#include "runtime/cgdev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define CG_PERIOD 100000  /* us: the kernel's default CFS period */
#define CG_MIN_QUOTA 1000 /* us: the kernel refuses a quota under 1 ms (EINVAL) */
#define CG_WAIT_NAPS 200  /* of 10 ms: freezing and killing wait 2 s at most */
#define CG_RMDIR_NAPS 100 /* rmdir retries EBUSY for 1 s */

/* v1: the controllers vmfs uses, then (up to C_MAX) every other hierarchy mounted below the
 * root (cpuset, blkio, name=systemd, ...), where the container only gets a group of its own,
 * so that no hierarchy leaves it in a group shared with the host. */
enum { C_MEMORY, C_CPU, C_CPUACCT, C_FREEZER, C_PIDS, C_DEVICES, C_N, C_MAX = 24 };
static const char *const ctrl_name[C_N] = {"memory",  "cpu",  "cpuacct",
					   "freezer", "pids", "devices"};
#define V2 (-1) /* the "controller" index of the v2 hierarchy */
/* The container's processes live one level below the group that holds its limits, in every
 * hierarchy: its cgroup namespace is rooted there, so that a cgroupfs it mounts from a user
 * namespace of its own (which the kernel allows for a hierarchy already mounted, v1
 * controllers included, and which shows the namespace root's files writable to a root
 * mapped to root; cgroup2 without nsdelegate too) holds no file that bounds it. */
#define INNER "container"

/* The probe result. v1: have = a bit per hierarchy mounted at root/<name>; dup = a bit per
 * one co-mounted with an earlier one (cpu,cpuacct behind two symlinks), whose directories
 * are the same ones, to be made, joined and removed once. uni: the hybrid layout's cgroup2
 * at root/unified, walked as V2 beside the v1 ones. */
static struct {
	pthread_once_t once;
	enum cg_mode mode;
	unsigned have, dup;
	int n, uni; /* n: C_N plus the other hierarchies found */
	char name[C_MAX][32];
	char root[PATH_MAX / 2];
} cg = {.once = PTHREAD_ONCE_INIT};

#define HAVE(c) ((cg.have >> (c)) & 1u)

/* The hierarchies to walk, from hnext(V2 - 1) until C_MAX: the v2 one, then each distinct v1
 * one. */
static int hnext(int c)
{
	if (c == V2 - 1 && (cg.mode == CG_V2 || cg.uni))
		return V2;
	if (cg.mode == CG_V2)
		return C_MAX;
	for (c = c < 0 ? 0 : c + 1; c < cg.n && (!HAVE(c) || (cg.dup >> c & 1u)); c++)
		;
	return c < cg.n ? c : C_MAX;
}

/* One call's group, and where its reason goes (NULL: nowhere). */
struct grp {
	const char *ns, *name;
	struct err *e;
};

__attribute__((format(printf, 3, 4))) static int fail(const struct grp *g, int rc, const char *fmt,
						      ...)
{
	va_list ap;
	if (g->e) {
		va_start(ap, fmt);
		err_vset(g->e, rc, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static void nap(void) { nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL); }

/* The top group of this vmfs: "vmfs", or another name so that several vmfs on one kernel
 * (tests, cluster members on one machine) never share groups. */
static char cg_top[64] = "vmfs";

void cg_set_top(const char *name)
{
	if (name && *name && !strchr(name, '/') && strlen(name) < sizeof(cg_top))
		snprintf(cg_top, sizeof(cg_top), "%s", name);
}

/* root[/controller][/TOP[/ns[/name[/INNER]]]][/file]; depth 0 is the hierarchy's root, 3 the
 * leaf. */
static int cpath(char *buf, int c, int depth, const struct grp *g, const char *file)
{
	const char *part[] = {c != V2 ? cg.name[c] : cg.uni ? "unified" : NULL,
			      depth > 0 ? cg_top : NULL, depth > 1 ? g->ns : NULL,
			      depth > 2 ? g->name : NULL, depth > 3 ? INNER : NULL, file};
	size_t n = snprintf(buf, PATH_MAX, "%s", cg.root);
	for (size_t i = 0; i < sizeof part / sizeof *part; i++) {
		int k = part[i] ? snprintf(buf + n, PATH_MAX - n, "/%s", part[i]) : 0;
		if (k < 0 || (size_t)k >= PATH_MAX - n)
			return -ENAMETOOLONG;
		n += k;
	}
	return 0;
}

static int wpath(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, val, strlen(val));
	int rc = n < 0 ? -errno : (size_t)n == strlen(val) ? 0 : -EIO;
	close(fd);
	return rc;
}

/* Reads a whole (small) file; returns its length or -errno. */
static ssize_t rpath(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n = 0;
	if (fd < 0)
		return -errno;
	while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	int rc = n < 0 ? -errno : 0;
	close(fd);
	buf[len] = 0;
	return rc ? rc : (ssize_t)len;
}

/* Writes val to the file of the group at depth; optional: a missing file is not an error. */
static int wat(const struct grp *g, int c, int depth, const char *file, const char *val,
	       int optional)
{
	char p[PATH_MAX];
	int rc = cpath(p, c, depth, g, file);
	if (rc == 0)
		rc = wpath(p, val);
	if (rc == 0 || (rc == -ENOENT && optional))
		return 0;
	errno = -rc;
	return fail(g, rc, "cannot write %s to %s: %m", val, p);
}

static int wleaf(const struct grp *g, int c, const char *file, const char *val, int optional)
{
	return wat(g, c, 3, file, val, optional);
}

/* The number in the leaf's file, or the one after "key " at the start of one of its lines.
 * "max" and v1's "unlimited" (2^63 rounded down to a page) read as 0. */
static int rat_u64(const struct grp *g, int c, int depth, const char *file, const char *key,
		   uint64_t *v)
{
	char p[PATH_MAX], buf[4096], *s = buf;
	size_t klen = key ? strlen(key) : 0;
	ssize_t rc = cpath(p, c, depth, g, file);
	if (rc || (rc = rpath(p, buf, sizeof buf)) < 0)
		return (int)rc;
	while (key && s && !(strncmp(s, key, klen) == 0 && s[klen] == ' '))
		if ((s = strchr(s, '\n')))
			s++;
	if (!s)
		return -ENOENT;
	*v = strtoull(s + klen, NULL, 10);
	if (strncmp(s + klen + strspn(s + klen, " "), "max", 3) == 0 || *v >= (1ull << 62))
		*v = 0;
	return 0;
}

static int rleaf_u64(const struct grp *g, int c, const char *file, const char *key, uint64_t *v)
{
	return rat_u64(g, c, 3, file, key, v);
}

static int has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (const char *s = text; (s = strstr(s, word)); s += n)
		if ((s == text || s[-1] == ' ' || s[-1] == '\n') && s[n] <= ' ')
			return 1;
	return 0;
}

static int is_fs(const char *path, unsigned long magic)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == magic;
}

/* Mounted v1 hierarchy c: its bit, and its dup bit if it shares a superblock (hence an
 * st_dev) with an earlier one. */
static void probe_one(int c, dev_t *dev)
{
	char p[PATH_MAX];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", cg.root, cg.name[c]);
	if (!is_fs(p, CGROUP_SUPER_MAGIC) || stat(p, &st) != 0)
		return;
	dev[c] = st.st_dev;
	cg.have |= 1u << c;
	for (int d = 0; d < c; d++)
		if (HAVE(d) && dev[d] == st.st_dev)
			cg.dup |= 1u << c;
}

/* Each controller's own mount at root/<name>, then every other v1 mount there. */
static void probe_v1(void)
{
	dev_t dev[C_MAX];
	struct dirent *e;
	DIR *d;
	for (cg.n = 0; cg.n < C_N; cg.n++) {
		snprintf(cg.name[cg.n], sizeof cg.name[cg.n], "%s", ctrl_name[cg.n]);
		probe_one(cg.n, dev);
	}
	if (!cg.have || !(d = opendir(cg.root)))
		return;
	while ((e = readdir(d)) && cg.n < C_MAX) {
		int ours = e->d_name[0] == '.' || strlen(e->d_name) >= sizeof cg.name[0];
		for (int c = 0; c < C_N && !ours; c++)
			ours = strcmp(e->d_name, ctrl_name[c]) == 0;
		if (ours)
			continue;
		snprintf(cg.name[cg.n], sizeof cg.name[cg.n], "%s", e->d_name);
		probe_one(cg.n, dev);
		cg.n += HAVE(cg.n);
	}
	closedir(d);
}

static void probe(void)
{
	const char *env = getenv("VMFS_CGROUP_ROOT");
	char p[PATH_MAX];
	snprintf(cg.root, sizeof cg.root, "%s", env && *env ? env : "/sys/fs/cgroup");
	for (size_t n = strlen(cg.root); n > 1 && cg.root[n - 1] == '/';)
		cg.root[--n] = 0;
	if (is_fs(cg.root, CGROUP2_SUPER_MAGIC)) {
		cg.mode = CG_V2;
		return;
	}
	probe_v1();
	cg.mode = cg.have ? CG_V1 : CG_NONE;
	/* The hybrid layout's cgroup2 at root/unified holds no controller while v1 ones are
	 * mounted, but its groups still name who is where (and cgroup.kill reaches them): the
	 * container gets one there too. With no v1 controller (cgroup_no_v1=all) it is the
	 * layout. */
	snprintf(p, sizeof p, "%s/unified", cg.root);
	if (!is_fs(p, CGROUP2_SUPER_MAGIC))
		return;
	cg.uni = cg.have != 0;
	if (!cg.have && strlen(p) < sizeof cg.root) {
		memcpy(cg.root, p, strlen(p) + 1);
		cg.mode = CG_V2;
	}
}

enum cg_mode cg_probe(void)
{
	pthread_once(&cg.once, probe);
	return cg.mode;
}

const char *cg_mode_name(enum cg_mode m) { return m == CG_V2 ? "v2" : m == CG_V1 ? "v1" : "none"; }

static int valid(const char *s)
{
	return s && *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..") &&
	       strlen(s) < NAME_MAX;
}

/* Every call starts here: an empty reason, valid names, a layout. */
static int begin(const struct grp *g)
{
	if (g->e)
		err_clear(g->e);
	if (!valid(g->ns) || !valid(g->name))
		return fail(g, -EINVAL, "invalid cgroup name %s/%s", g->ns ? g->ns : "(null)",
			    g->name ? g->name : "(null)");
	if (cg_probe() == CG_NONE)
		return fail(g, -ENOSYS, "no cgroup hierarchy under %s", cg.root);
	return 0;
}

/* The leaf exists on at least one hierarchy. */
static int exists(const struct grp *g)
{
	char p[PATH_MAX];
	for (int c = hnext(V2 - 1); c < C_MAX; c = hnext(c))
		if (cpath(p, c, 3, g, NULL) == 0 && access(p, F_OK) == 0)
			return 1;
	return 0;
}

/* The subgroups of dir (a container with a cgroupfs of its own may have made some, and
 * moved processes there), depth first, each passed to fn; then dir itself. Bounded depth. */
static int walk(const char *dir, int depth, int (*fn)(const char *dir, void *arg), void *arg)
{
	char p[PATH_MAX];
	struct dirent *e;
	int n = 0;
	DIR *d = depth < 16 ? opendir(dir) : NULL;
	while (d && (e = readdir(d)))
		if (e->d_type == DT_DIR && e->d_name[0] != '.' &&
		    (size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < sizeof p)
			n += walk(p, depth + 1, fn, arg);
	if (d)
		closedir(d);
	return n + fn(dir, arg);
}

/* The processes in dir's cgroup.procs, each sent *sig if not 0. Zombies are not listed: the
 * kernel drops a task from it as it exits. */
static int procs_in(const char *dir, void *sig)
{
	char p[PATH_MAX];
	int pid, n = 0;
	FILE *f;
	if ((size_t)snprintf(p, sizeof p, "%s/cgroup.procs", dir) >= sizeof p ||
	    !(f = fopen(p, "re")))
		return 0;
	while (fscanf(f, "%d", &pid) == 1)
		n += !*(int *)sig || kill(pid, *(int *)sig) == 0 || errno != ESRCH;
	fclose(f);
	return n;
}

/* Counts the processes in the leaf and the groups below it, sending each sig if not 0. */
static int procs(const struct grp *g, int c, int sig)
{
	char p[PATH_MAX];
	return cpath(p, c, 3, g, NULL) ? 0 : walk(p, 0, procs_in, &sig);
}

/* A new v1 cpuset group starts with no CPU and no memory node, and takes no process until
 * given some: it gets its parent's. */
static void cpuset_inherit(const char *dir)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	char p[PATH_MAX + 32], up[PATH_MAX + 32], v[1024], cur[1024];
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		snprintf(up, sizeof up, "%s/../%s", dir, files[i]);
		/* absent, or already set: only an empty one ("\n") is filled */
		if (rpath(p, cur, sizeof cur) == 1 && rpath(up, v, sizeof v) > 1)
			wpath(p, v);
	}
}

static int rm_one(const char *dir, void *arg);

/* mkdir vmfs, vmfs/ns, vmfs/ns/name under one hierarchy (v1 memory: hierarchical, for kernels
 * where that is not yet the only way); an existing leaf is reused if it holds no process,
 * without what a container made below it (INNER comes after the limits: v1's devices.deny
 * wants a group without children). ENOENT: a concurrent cg_destroy removed a parent. */
static int make_dirs(const struct grp *g, int c)
{
	char p[PATH_MAX];
	int rc = 0, naps[2] = {CG_RMDIR_NAPS, 0};
	for (int tries = 0; tries < 5 && (tries == 0 || rc == -ENOENT); tries++)
		for (int d = 1; d <= 3 && !(rc = cpath(p, c, d, g, NULL)); d++) {
			if (mkdir(p, 0755) == 0) {
				if (c == C_MEMORY)
					wat(&(struct grp){g->ns, g->name, NULL}, c, d,
					    "memory.use_hierarchy", "1", 1);
			} else if (errno != EEXIST) {
				rc = -errno;
				break;
			}
			if (c != V2)
				cpuset_inherit(p);
		}
	errno = -rc;
	if (rc)
		return fail(g, rc, "cannot create %s: %m", p);
	if (procs(g, c, 0))
		return fail(g, -EBUSY, "%s already holds processes: the group is in use", p);
	if (cpath(p, c, 4, g, NULL) == 0 && walk(p, 0, rm_one, naps))
		return fail(g, -EBUSY, "cannot remove %s, left by the last run: %s", p,
			    strerror(naps[1] ? naps[1] : EBUSY));
	return 0;
}

/* INNER, in every hierarchy, once the limits are set; v2: thawed (a stale frozen group
 * freezes newcomers). */
static int make_inner(const struct grp *g)
{
	char p[PATH_MAX];
	for (int c = hnext(V2 - 1); c < C_MAX; c = hnext(c)) {
		int rc = cpath(p, c, 4, g, NULL);
		if (rc || (mkdir(p, 0755) != 0 && errno != EEXIST)) {
			errno = rc ? -rc : errno;
			return fail(g, rc ? rc : -errno, "cannot create %s: %m", p);
		}
		if (c != V2)
			cpuset_inherit(p);
		else if ((rc = wat(g, V2, 3, "cgroup.freeze", "0", 1)) ||
			 (rc = wat(g, V2, 4, "cgroup.freeze", "0", 1)))
			return rc;
	}
	return 0;
}

static int unavailable(const struct grp *g, const char *what)
{
	return fail(g, -EOPNOTSUPP, "the %s controller is not available: no limit can be enforced",
		    what);
}

static long long quota(double cpus)
{
	long long q = (long long)(cpus * CG_PERIOD + 0.5);
	return q < CG_MIN_QUOTA ? CG_MIN_QUOTA : q;
}

/* v1 keeps memory.memsw.limit_in_bytes >= memory.limit_in_bytes at every step (EINVAL
 * otherwise): raise memsw first, lower it last. memsw exists only with swap accounting. */
static int v1_memory(const struct grp *g, uint64_t bytes)
{
	char v[24] = "-1";
	uint64_t cur = 0;
	int rc;
	if (!HAVE(C_MEMORY))
		return 0;
	if (bytes)
		snprintf(v, sizeof v, "%" PRIu64, bytes);
	rleaf_u64(g, C_MEMORY, "memory.limit_in_bytes", NULL, &cur);
	int raise = !bytes || (cur && bytes > cur);
	if (raise && (rc = wleaf(g, C_MEMORY, "memory.memsw.limit_in_bytes", v, 1)))
		return rc;
	if ((rc = wleaf(g, C_MEMORY, "memory.limit_in_bytes", v, 0)))
		return rc;
	return raise ? 0 : wleaf(g, C_MEMORY, "memory.memsw.limit_in_bytes", v, 1);
}

/* cpu, pids, and a thawed freezer: a group left FROZEN freezes whatever joins it. */
static int v1_limits(const struct grp *g, const struct cg_limits *lim)
{
	char v[32];
	int rc;
	snprintf(v, sizeof v, "%d", CG_PERIOD);
	if (HAVE(C_CPU) && lim->cpus > 0 && (rc = wleaf(g, C_CPU, "cpu.cfs_period_us", v, 0)))
		return rc;
	snprintf(v, sizeof v, "%lld", lim->cpus > 0 ? quota(lim->cpus) : -1);
	if (HAVE(C_CPU) && (rc = wleaf(g, C_CPU, "cpu.cfs_quota_us", v, 0)))
		return rc;
	snprintf(v, sizeof v, lim->pids ? "%" PRIu64 : "max", lim->pids);
	if (HAVE(C_PIDS) && (rc = wleaf(g, C_PIDS, "pids.max", v, 0)))
		return rc;
	return HAVE(C_FREEZER) ? wleaf(g, C_FREEZER, "freezer.state", "THAWED", 0) : 0;
}

/* The allowlist of cgdev.c. "a" in devices.deny empties the list, which the kernel only
 * accepts in a group without children (a leaf is one). */
static int v1_devices(const struct grp *g)
{
	char p[PATH_MAX], list[4096] = "a", line[64];
	if (!HAVE(C_DEVICES))
		return 0;
	/* A reused leaf has the list already, and "a" would fail for a while after its INNER
	 * was removed (the kernel offlines a group asynchronously): only a new one, which
	 * starts with everything allowed ("a *:* rwm"), needs emptying. */
	if (cpath(p, C_DEVICES, 3, g, "devices.list") == 0)
		rpath(p, list, sizeof list);
	int rc = has_word(list, "a") ? wleaf(g, C_DEVICES, "devices.deny", "a", 0) : 0;
	for (size_t i = 0; !rc && i < cgdev_nrules; i++)
		if (!(rc = cgdev_v1_line(&cgdev_rules[i], line, sizeof line)))
			rc = wleaf(g, C_DEVICES, "devices.allow", line, 0);
	return rc;
}

/* The same list as a program on the leaf of the v2 hierarchy (pure or hybrid), before any
 * process joins; the container cannot replace it (no CAP_BPF, bpf refused by seccomp, and
 * no program may be attached below one attached without flags). */
static int v2_devices(const struct grp *g)
{
	char p[PATH_MAX];
	int rc = cpath(p, V2, 3, g, NULL), fd = rc ? -1 : open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		errno = rc ? -rc : errno;
		return fail(g, rc ? rc : -errno, "cannot open %s: %m", p);
	}
	/* cgdev.c is still on (err, errlen) */
	rc = g->e ? err_took(g->e, cgdev_attach(fd, g->e->why, sizeof(g->e->why)))
		  : cgdev_attach(fd, NULL, 0);
	close(fd);
	return rc;
}

const char *cg_devices_name(void)
{
	enum cg_mode m = cg_probe();
	int v1 = m == CG_V1 && HAVE(C_DEVICES), v2 = m == CG_V2 || cg.uni;
	return v1 && v2 ? "the v1 devices list and a cgroup v2 device program (both must allow)"
	       : v1	? "the v1 devices list"
	       : v2	? "a cgroup v2 device program"
			: "none";
}

static int v1_create(const struct grp *g, const struct cg_limits *lim)
{
	int rc = 0;
	if (lim->memory && !HAVE(C_MEMORY))
		return unavailable(g, "memory");
	if (lim->cpus > 0 && !HAVE(C_CPU))
		return unavailable(g, "cpu");
	if (lim->pids && !HAVE(C_PIDS))
		return unavailable(g, "pids");
	/* CAP_MKNOD is kept: with neither, a container could make and open the host's disks */
	if (!HAVE(C_DEVICES) && !cg.uni)
		return fail(g, -EOPNOTSUPP, "the devices controller is not available, nor a cgroup2 "
					    "tree for a device program: devices cannot be confined");
	for (int c = hnext(V2 - 1); c < C_MAX && !rc; c = hnext(c))
		rc = make_dirs(g, c);
	if (rc || (rc = v1_memory(g, lim->memory)) || (rc = v1_limits(g, lim)) ||
	    (rc = v1_devices(g)))
		return rc;
	/* on the hybrid layout the v1 list already confines devices: the program is a second
	 * guard there, which a kernel without cgroup BPF cannot give */
	if (cg.uni && (rc = v2_devices(g)) && !HAVE(C_DEVICES))
		return rc;
	return make_inner(g);
}

/* Turns memory, cpu and pids on in the subtree_control of root, vmfs and vmfs/ns, as far
 * as each offers them. Best effort: a cgroup namespace's root holding processes refuses
 * (EBUSY, "no internal processes"); the leaf's cgroup.controllers tells what came. */
static void v2_enable(const struct grp *g)
{
	static const char *const want[] = {"+memory", "+cpu", "+pids"};
	char p[PATH_MAX], have[512], on[512];
	for (int d = 0; d <= 2; d++) {
		if (cpath(p, V2, d, g, "cgroup.controllers") || rpath(p, have, sizeof have) < 0)
			continue;
		cpath(p, V2, d, g, "cgroup.subtree_control");
		for (size_t i = 0; rpath(p, on, sizeof on) >= 0 && i < sizeof want / sizeof *want;
		     i++)
			if (has_word(have, want[i] + 1) && !has_word(on, want[i] + 1))
				wpath(p, want[i]);
	}
}

static int v2_create(const struct grp *g, const struct cg_limits *lim)
{
	char p[PATH_MAX], have[512] = "", v[48];
	int rc = make_dirs(g, V2);
	if (rc)
		return rc;
	v2_enable(g);
	if (cpath(p, V2, 3, g, "cgroup.controllers") == 0)
		rpath(p, have, sizeof have);
	int mem = has_word(have, "memory"), cpu = has_word(have, "cpu"),
	    pids = has_word(have, "pids");
	if ((lim->memory && !mem) || (lim->cpus > 0 && !cpu) || (lim->pids && !pids))
		return unavailable(g, lim->memory && !mem     ? "memory"
				      : lim->cpus > 0 && !cpu ? "cpu"
							      : "pids");
	snprintf(v, sizeof v, lim->memory ? "%" PRIu64 : "max", lim->memory);
	if (mem && ((rc = wleaf(g, V2, "memory.max", v, 0)) ||
		    (rc = wleaf(g, V2, "memory.swap.max", lim->memory ? "0" : "max", 1))))
		return rc;
	if (lim->cpus > 0)
		snprintf(v, sizeof v, "%lld %d", quota(lim->cpus), CG_PERIOD);
	else
		snprintf(v, sizeof v, "max %d", CG_PERIOD);
	if (cpu && (rc = wleaf(g, V2, "cpu.max", v, 0)))
		return rc;
	snprintf(v, sizeof v, lim->pids ? "%" PRIu64 : "max", lim->pids);
	if ((pids && (rc = wleaf(g, V2, "pids.max", v, 0))) || (rc = v2_devices(g)))
		return rc;
	return make_inner(g);
}

static int create(struct grp *g, const struct cg_limits *lim)
{
	struct cg_limits none = {0};
	int rc = begin(g);
	if (rc)
		return rc;
	if (!lim)
		lim = &none;
	if (!(lim->cpus >= 0 && lim->cpus <= 1e6)) /* also NaN; and no overflow in quota() */
		return fail(g, -EINVAL, "invalid CPU limit %g", lim->cpus);
	int existed = exists(g);
	rc = cg.mode == CG_V2 ? v2_create(g, lim) : v1_create(g, lim);
	if (rc && !existed)
		cg_destroy(g->ns, g->name); /* leave no half-made group; e keeps the first reason */
	return rc;
}

/* vmfs-shim's calls: its reasons go through a pipe from buffers of its own; err is "" on
 * success, as the shim reads it. */
static int shim_result(struct err *e, int rc, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	return err && errlen ? err_result(e, rc, err, errlen) : rc;
}

int cg_create(const char *ns, const char *name, const struct cg_limits *lim, char *err,
	      size_t errlen)
{
	struct err e;
	struct grp g = {ns, name, &e};
	return shim_result(&e, create(&g, lim), err, errlen);
}

int cg_attach(const char *ns, const char *name, pid_t pid, char *err, size_t errlen)
{
	struct err e;
	struct grp g = {ns, name, &e};
	char v[16];
	int rc = begin(&g);
	snprintf(v, sizeof v, "%d", (int)pid);
	/* v1: one write per hierarchy; a failure part way leaves pid in the earlier ones. */
	for (int c = hnext(V2 - 1); c < C_MAX && !rc; c = hnext(c))
		rc = wat(&g, c, 4, "cgroup.procs", v, 0);
	return shim_result(&e, rc, err, errlen);
}

/* Waits until the leaf's file says want: v1 freezer.state reads FREEZING until every task
 * is in the refrigerator (and reading it is what moves it on, on older kernels); v2
 * cgroup.events says "frozen 1" once every task stopped. */
static int settle(const struct grp *g, int c, const char *file, const char *want)
{
	char p[PATH_MAX], buf[256] = "";
	for (int i = 0; cpath(p, c, 3, g, file) == 0 && i <= CG_WAIT_NAPS; i++, nap()) {
		ssize_t rc = rpath(p, buf, sizeof buf);
		errno = (int)-rc;
		if (rc < 0)
			return fail(g, (int)rc, "cannot read %s: %m", p);
		if (c == V2 ? has_word(buf, want) : strncmp(buf, want, strlen(want)) == 0)
			return 0;
	}
	buf[strcspn(buf, "\n")] = 0;
	return fail(g, -EBUSY, "%s still says %s, not %s, after 2 s", p, buf, want);
}

int cg_freeze(const char *ns, const char *name, int frozen, struct err *e)
{
	struct grp g = {ns, name, e};
	int rc = begin(&g), c = cg.mode == CG_V2 ? V2 : C_FREEZER;
	if (rc)
		return rc;
	if (c != V2 && !HAVE(C_FREEZER))
		return fail(&g, -EOPNOTSUPP, "the freezer controller is not available");
	const char *file = c == V2 ? "cgroup.freeze" : "freezer.state";
	const char *on = c == V2 ? "1" : "FROZEN", *off = c == V2 ? "0" : "THAWED";
	if ((rc = wleaf(&g, c, file, frozen ? on : off, 0)))
		return rc;
	rc = settle(&g, c, c == V2 ? "cgroup.events" : file,
		    c == V2  ? (frozen ? "frozen 1" : "frozen 0")
		    : frozen ? on
			     : off);
	if (rc && frozen) /* not left half frozen */
		wleaf(&(struct grp){ns, name, NULL}, c, file, off, 0);
	return rc;
}

/* Kills until cgroup.procs is empty (2 s at most): processes may fork meanwhile. v1
 * freezer: a frozen task ignores even SIGKILL until thawed, so thaw after signalling; it
 * then dies without running user code. The caller must not be in the group. */
static int thaw_one(const char *dir, void *arg)
{
	char p[PATH_MAX];
	if ((size_t)snprintf(p, sizeof p, "%s/freezer.state", dir) < sizeof p)
		wpath(p, "THAWED");
	return 0;
}

/* The container may have frozen its own groups, below the leaf: all are thawed. */
static int kill_loop(const struct grp *g)
{
	char p[PATH_MAX];
	for (int i = 0; i <= CG_WAIT_NAPS; i++, nap()) {
		int n = 0;
		for (int c = hnext(V2 - 1); c < C_MAX; c = hnext(c))
			n += procs(g, c, SIGKILL);
		if (cg.mode == CG_V1 && HAVE(C_FREEZER) && cpath(p, C_FREEZER, 3, g, NULL) == 0)
			walk(p, 0, thaw_one, NULL);
		if (!n)
			return 0;
	}
	return -EBUSY;
}

/* v2 (5.14+): cgroup.kill signals the whole group at once, frozen or not, subgroups
 * included; on the hybrid layout too. v1: each process listed. */
static int kill_all(const struct grp *g)
{
	/* before 5.14 there is no cgroup.kill: each process then */
	if ((cg.mode == CG_V2 || cg.uni) && wleaf(g, V2, "cgroup.kill", "1", 0) == 0)
		return 0;
	for (int c = hnext(V2 - 1); c < C_MAX; c = hnext(c))
		procs(g, c, SIGKILL);
	return 0;
}

int cg_kill(const char *ns, const char *name)
{
	struct grp g = {ns, name, NULL};
	int rc = begin(&g);
	if (rc)
		return rc;
	kill_all(&g);
	return kill_loop(&g);
}

int cg_kill_now(const char *ns, const char *name)
{
	struct grp g = {ns, name, NULL};
	int rc = begin(&g);
	return rc ? rc : kill_all(&g);
}

/* rmdir fails with EBUSY for a while after the last process died: the kernel frees the
 * group asynchronously (dying tasks, css offlining). *naps is shared by the hierarchies, so
 * that a group still in use costs 1 s in all, not 1 s for each. Returns 1 on failure, with
 * the first errno in naps[1]. */
static int rm_one(const char *dir, void *arg)
{
	int *naps = arg;
	while (rmdir(dir) != 0 && errno != ENOENT) {
		if (errno != EBUSY || --naps[0] < 0) {
			if (!naps[1])
				naps[1] = errno;
			return 1;
		}
		nap();
	}
	return 0;
}

/* The leaf and every group below it (INNER, and any the container made). */
static int rm_leaf(const struct grp *g, int c, int *naps)
{
	char p[PATH_MAX];
	int rc = cpath(p, c, 3, g, NULL);
	if (rc)
		return rc;
	naps[1] = 0;
	return walk(p, 0, rm_one, naps) ? -(naps[1] ? naps[1] : EBUSY) : 0;
}

int cg_destroy(const char *ns, const char *name)
{
	struct grp g = {ns, name, NULL};
	char p[PATH_MAX];
	int rc = begin(&g), r, naps[2] = {CG_RMDIR_NAPS, 0};
	for (int c = rc ? C_MAX : hnext(V2 - 1); c < C_MAX; c = hnext(c)) {
		if ((r = rm_leaf(&g, c, naps)) && !rc)
			rc = r;
		/* The parents go once empty; another group or a concurrent cg_create keeps them
		 * (ENOTEMPTY, EBUSY), which is fine. */
		for (int d = 2; d >= 1; d--)
			if (cpath(p, c, d, &g, NULL) == 0)
				rmdir(p);
	}
	return rc;
}

int cg_stats(const char *ns, const char *name, struct cg_stats *out)
{
	struct grp g = {ns, name, NULL};
	int rc = begin(&g), v2 = cg.mode == CG_V2;
	memset(out, 0, sizeof *out);
	if (rc || !exists(&g))
		return rc ? rc : -ENOENT;
	/* Best effort: a missing controller leaves its figures at 0. */
	rleaf_u64(&g, v2 ? V2 : C_MEMORY, v2 ? "memory.current" : "memory.usage_in_bytes", NULL,
		  &out->memory);
	rleaf_u64(&g, v2 ? V2 : C_MEMORY, v2 ? "memory.max" : "memory.limit_in_bytes", NULL,
		  &out->memory_max);
	if (v2)
		rleaf_u64(&g, V2, "cpu.stat", "usage_usec", &out->cpu_usec);
	else if (rleaf_u64(&g, C_CPUACCT, "cpuacct.usage", NULL, &out->cpu_usec) == 0)
		out->cpu_usec /= 1000; /* ns */
	/* v1: "oom_kill N" in memory.oom_control since 4.13. memory.failcnt is no substitute:
	 * it counts every charge that hit the limit, and most end in reclaim, not a kill. */
	rleaf_u64(&g, v2 ? V2 : C_MEMORY, v2 ? "memory.events" : "memory.oom_control", "oom_kill",
		  &out->oom_kills);
	uint64_t inner = 0; /* v1 counts a kill in the task's own group only */
	if (!v2 && rat_u64(&g, C_MEMORY, 4, "memory.oom_control", "oom_kill", &inner) == 0)
		out->oom_kills += inner;
	if (rleaf_u64(&g, v2 ? V2 : C_PIDS, "pids.current", NULL, &out->pids) != 0)
		out->pids = procs(&g, hnext(V2 - 1), 0);
	return 0;
}
