/* runtime/cgdev.c: the v1 lines and the cgroup v2 device program made from one table.
 * The program is run here by a small interpreter of the instructions it uses, against the
 * table read directly, for every rule's device and its neighbours; then, as root, loaded
 * and attached to a cgroup2 group of the test's own, where a child finds that the program
 * alone (the child is in the v1 devices root, which allows all) refuses a block device and
 * the host's console and allows /dev/null. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/cgdev.h"
#include "tests/unit/tap.h"

#define MAXI 512

/* Runs prog on (type, major, minor, access) with the instructions cgdev_program emits; -1
 * if it meets another, jumps out or runs too long. */
static int run(const struct bpf_insn *prog, size_t n, int type, uint32_t major, uint32_t minor,
	       int access)
{
	uint32_t ctx[3] = {(uint32_t)access << 16 | (uint32_t)type, major, minor};
	uint64_t r[11] = {0};
	for (size_t pc = 0, steps = 0; pc < n && steps < 10000; pc++, steps++) {
		const struct bpf_insn *i = &prog[pc];
		uint64_t k = (uint64_t)(int64_t)i->imm;
		switch (i->code) {
		case BPF_LDX | BPF_MEM | BPF_W:
			if (i->src_reg != 1 || i->off < 0 || i->off > 8 || i->off % 4)
				return -1;
			r[i->dst_reg] = ctx[i->off / 4];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_X: r[i->dst_reg] = r[i->src_reg]; break;
		case BPF_ALU64 | BPF_MOV | BPF_K: r[i->dst_reg] = k; break;
		case BPF_ALU64 | BPF_AND | BPF_K: r[i->dst_reg] &= k; break;
		case BPF_ALU64 | BPF_RSH | BPF_K: r[i->dst_reg] >>= i->imm; break;
		case BPF_JMP | BPF_JNE | BPF_K:
			if (r[i->dst_reg] != k)
				pc += i->off;
			break;
		case BPF_JMP | BPF_EXIT: return (int)r[0];
		default: return -1;
		}
	}
	return -1;
}

/* A table read directly: what the program must answer. */
static int want(const struct cgdev_rule *rules, size_t nrules, int type, int major, int minor,
		int access)
{
	for (size_t i = 0; i < nrules; i++) {
		const struct cgdev_rule *r = &rules[i];
		int acc = (strchr(r->access, 'r') ? BPF_DEVCG_ACC_READ : 0) |
			  (strchr(r->access, 'w') ? BPF_DEVCG_ACC_WRITE : 0) |
			  (strchr(r->access, 'm') ? BPF_DEVCG_ACC_MKNOD : 0);
		if ((r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR) == type &&
		    (r->major < 0 || r->major == major) && (r->minor < 0 || r->minor == minor) &&
		    (access & ~acc) == 0)
			return 1;
	}
	return 0;
}

static void lines(void)
{
	char all[1024] = "", line[64];
	for (size_t i = 0; i < cgdev_nrules; i++) {
		ok(cgdev_v1_line(&cgdev_rules[i], line, sizeof line) == 0, "v1 line for %s",
		   cgdev_rules[i].what);
		strcat(all, line);
		strcat(all, i + 1 < cgdev_nrules ? "," : "");
	}
	is_str(all, "c 1:3 rwm,c 1:5 rwm,c 1:7 rwm,c 1:8 rwm,c 1:9 rwm,c 5:0 rwm,c 5:2 rwm,c 136:* rwm",
	       "the v1 list: runc's devices, no wildcard mknod, no 5:1");
	ok(cgdev_v1_line(&cgdev_rules[7], line, 8) == -ENAMETOOLONG, "a short buffer: ENAMETOOLONG");
}

/* Runs the program of rules on every rule's device and its neighbours, every type and
 * access; returns how many answers differ from the table's (printing the first few). */
static int compare(const struct cgdev_rule *rules, size_t nrules, int *tried, int *allowed)
{
	struct bpf_insn p[MAXI];
	size_t n = cgdev_program_of(rules, nrules, p, MAXI);
	int bad = 0;
	*tried = *allowed = 0;
	for (size_t i = 0; i < nrules; i++)
		for (int type = 1; type <= 2; type++)
			for (int dmaj = -1; dmaj <= 1; dmaj++)
				for (int dmin = -1; dmin <= 1; dmin++)
					for (int acc = 1; acc <= 7; acc++) {
						int maj = (rules[i].major < 0 ? 4 : rules[i].major) + dmaj;
						int min = (rules[i].minor < 0 ? 7 : rules[i].minor) + dmin;
						int got = run(p, n, type, maj, min, acc);
						++*tried;
						*allowed += got == 1;
						if (got != want(rules, nrules, type, maj, min, acc) && bad++ < 5)
							printf("#   %d %d:%d access %d: got %d\n", type, maj,
							       min, acc, got);
					}
	return bad;
}

static void program(void)
{
	struct bpf_insn p[MAXI];
	size_t n = cgdev_program(p, MAXI);
	int tried, allowed;
	ok(n > 0 && n < MAXI, "a program of %zu instructions", n);
	ok(cgdev_program(p, n - 1) == 0, "no room for it: 0 instructions");
	n = cgdev_program(p, MAXI);
	ok(compare(cgdev_rules, cgdev_nrules, &tried, &allowed) == 0,
	   "the program answers as the table for %d devices and accesses (%d allowed)", tried,
	   allowed);
	ok(run(p, n, BPF_DEVCG_DEV_CHAR, 1, 3, BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE) == 1,
	   "c 1:3 (null) rw: allowed");
	ok(run(p, n, BPF_DEVCG_DEV_CHAR, 136, 99, BPF_DEVCG_ACC_READ) == 1, "c 136:99 (a pty): allowed");
	ok(run(p, n, BPF_DEVCG_DEV_CHAR, 5, 1, BPF_DEVCG_ACC_READ) == 0, "c 5:1 (the host's console): refused");
	ok(run(p, n, BPF_DEVCG_DEV_BLOCK, 8, 0, BPF_DEVCG_ACC_MKNOD) == 0, "b 8:0 mknod: refused");
	ok(run(p, n, BPF_DEVCG_DEV_BLOCK, 1, 3, BPF_DEVCG_ACC_READ) == 0, "b 1:3 (a ramdisk, not null): refused");
	ok(run(p, n, BPF_DEVCG_DEV_CHAR, 10, 200, BPF_DEVCG_ACC_READ) == 0, "c 10:200 (tun): refused");
	/* rules the default table does not have: partial access, wildcards, block devices */
	static const struct cgdev_rule other[] = {
	    {'c', -1, -1, "m", "mknod of any character device"},
	    {'b', 7, -1, "r", "loops, read-only"},
	    {'c', 4, 64, "w", "ttyS0, write-only"},
	};
	ok(compare(other, 3, &tried, &allowed) == 0,
	   "another list (c *:* m, b 7:* r, c 4:64 w): the program answers as it for %d (%d allowed)",
	   tried, allowed);
	n = cgdev_program_of(other, 3, p, MAXI);
	ok(run(p, n, BPF_DEVCG_DEV_CHAR, 9, 9, BPF_DEVCG_ACC_MKNOD) == 1 &&
	       run(p, n, BPF_DEVCG_DEV_CHAR, 9, 9, BPF_DEVCG_ACC_READ) == 0,
	   "... c *:* m: mknod of any character device, no open");
	ok(run(p, n, BPF_DEVCG_DEV_BLOCK, 7, 3, BPF_DEVCG_ACC_READ) == 1 &&
	       run(p, n, BPF_DEVCG_DEV_BLOCK, 7, 3, BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE) == 0,
	   "... b 7:* r: read, not read-write");
}

/* The child, in the group: what open and mknod of each node give, as "null:0 ..." */
static void probe(const char *dir, int out)
{
	static const char *const nodes[] = {"null", "console", "block"};
	char buf[256] = "", p[PATH_MAX];
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, nodes[i]);
		int fd = open(p, O_RDONLY | O_NONBLOCK);
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s:%s ", nodes[i],
			 fd >= 0 ? "0" : strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	snprintf(p, sizeof p, "%s/made", dir);
	snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "mknod:%s",
		 mknod(p, S_IFBLK | 0600, makedev(7, 0)) == 0 ? "0" : strerror(errno));
	if (write(out, buf, strlen(buf)) < 0)
		_exit(1);
	_exit(0);
}

static void attached(void)
{
	char tmp[] = "/tmp/vmfs-cgdev-XXXXXX", mnt[PATH_MAX], grp[PATH_MAX + 32], p[PATH_MAX + 64];
	char err[256] = "", got[256] = "";
	int fds[2], st;
	if (geteuid() != 0) {
		ok(1, "# SKIP the kernel part needs root");
		return;
	}
	if (!mkdtemp(tmp) || pipe(fds)) {
		ok(0, "temp dir");
		return;
	}
	snprintf(mnt, sizeof mnt, "%s/cg", tmp);
	snprintf(grp, sizeof grp, "%s/vmfs-test-cgdev-%d", mnt, (int)getpid());
	mkdir(mnt, 0700);
	/* a cgroup2 mount of our own, in a mount namespace of our own: the same hierarchy as
	 * the host's unified one */
	ok(unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0,
	   "a private mount namespace");
	ok(mount("none", mnt, "cgroup2", 0, NULL) == 0, "mount cgroup2 on %s", mnt);
	ok(mkdir(grp, 0755) == 0, "a group of the test's own: %s", grp);
	int gfd = open(grp, O_RDONLY | O_DIRECTORY);
	int rc = cgdev_attach(gfd, err, sizeof err);
	ok(rc == 0, "the program loads and attaches %s", err);
	ok(cgdev_attach(gfd, err, sizeof err) == 0, "again (a reused group): it replaces the first %s",
	   err);
	char sub[PATH_MAX + 64];
	snprintf(sub, sizeof sub, "%s/inner", grp);
	mkdir(sub, 0755);
	int sfd = open(sub, O_RDONLY | O_DIRECTORY);
	ok(cgdev_attach(sfd, err, sizeof err) == -EPERM, "a group below cannot attach one of its own: %s",
	   err);
	close(sfd);
	rmdir(sub);
	snprintf(p, sizeof p, "%s/null", tmp);
	mknod(p, S_IFCHR | 0600, makedev(1, 3));
	snprintf(p, sizeof p, "%s/console", tmp);
	mknod(p, S_IFCHR | 0600, makedev(5, 1));
	snprintf(p, sizeof p, "%s/block", tmp);
	mknod(p, S_IFBLK | 0600, makedev(7, 0));
	int go[2];
	if (pipe(go)) {
		ok(0, "pipe");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		probe(tmp, fds[1]);
	}
	close(go[0]);
	char v[32];
	snprintf(v, sizeof v, "%d", (int)pid);
	snprintf(p, sizeof p, "%s/cgroup.procs", grp);
	int pfd = open(p, O_WRONLY);
	ok(pfd >= 0 && write(pfd, v, strlen(v)) > 0, "the child joins the group");
	if (pfd >= 0)
		close(pfd);
	if (write(go[1], "g", 1) != 1)
		ok(0, "start the child");
	close(go[1]);
	close(fds[1]);
	ssize_t n = read(fds[0], got, sizeof got - 1);
	got[n > 0 ? n : 0] = 0;
	waitpid(pid, &st, 0);
	is_str(got, "null:0 console:Operation not permitted block:Operation not permitted mknod:Operation not permitted",
	       "in the group: /dev/null opens; the host's console and a block device do not; no block node can be made");
	close(fds[0]);
	close(gfd);
	for (int i = 0; i < 100 && rmdir(grp) && errno == EBUSY; i++)
		usleep(10000);
	umount2(mnt, MNT_DETACH);
	snprintf(p, sizeof p, "rm -rf %s", tmp);
	if (system(p))
		ok(0, "clean %s", tmp);
}

int main(void)
{
	lines();
	program();
	attached();
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
