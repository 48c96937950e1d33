/* runtime/kvm.c: a missing device is ABSENT without a child; a device that is not KVM is
 * BROKEN with the failing step; a device whose open hangs (tests/tools/hangfs, needs root
 * for the FUSE mount) is BROKEN within the timeout and leaves no process behind, also when
 * the prober cannot die until hangfs exits (--deaf). The real /dev/kvm, if any, is only
 * reported.
 *
 * The test makes itself a child subreaper, so the orphaned prober comes back to it: it can
 * then see the prober end, and how (exited, or SIGKILLed), which init would hide. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/kvm.h"
#include "runtime/orphan.h"
#include "tests/unit/tap.h"

#define TIMEOUT 500
#define SLACK 200 /* what kvm_probe may take beyond its timeout */

static char hangfs[PATH_MAX], mnt[PATH_MAX], dev[PATH_MAX + 8];
static pid_t hangfs_pid;

static void msleep(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Our children but except (hangfs), from /proc: the subreaper's view of what is left. */
static int children(pid_t except)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;
	while (d && (de = readdir(d))) {
		char path[300], buf[512];
		pid_t pid = atoi(de->d_name), ppid = 0;
		if (pid <= 0 || pid == except)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		int fd = open(path, O_RDONLY);
		ssize_t k = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		if (k <= 0)
			continue;
		buf[k] = 0;
		char *rp = strrchr(buf, ')'); /* the name may hold spaces */
		if (rp && sscanf(rp + 2, "%*c %d", &ppid) == 1 && ppid == getpid())
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* The probe's QEMUs are orphans: here, with the test as their subreaper, its zombies are
 * reaped; true once none is left (a live one is never reaped). */
static bool orphans_gone(int ms)
{
	for (int i = 0; i <= ms / 10; i++, msleep(10)) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (children(0) == 0)
			return true;
	}
	return false;
}

/* Reaps one child other than except within ms: its pid (status in *st), or 0. */
static pid_t reap_other(pid_t except, int ms, int *st)
{
	for (int i = 0; i <= ms / 10; i++, msleep(10)) {
		pid_t pid = waitpid(-1, st, WNOHANG);
		if (pid > 0 && pid != except)
			return pid;
		if (pid == except)
			hangfs_pid = 0; /* hangfs died on its own: the next checks will say */
	}
	return 0;
}

static struct kvm_probe probe(const char *path, int timeout_ms)
{
	struct kvm_probe p;
	fflush(stdout);
	kvm_probe(path, timeout_ms, &p);
	printf("# %s: %s: %s (%u ms)\n", path, kvm_verdict_name(p.verdict), p.why, p.ms);
	return p;
}

static void test_absent(void)
{
	struct kvm_probe p = probe("/nonexistent/kvm", TIMEOUT);
	ok(p.verdict == KVM_ABSENT, "a missing device is absent");
	is_str(p.why, "/nonexistent/kvm: No such file or directory", "and says why");
	ok(p.ms < 50, "at once (%u ms)", p.ms);
	int st;
	ok(waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD, "without any child");
}

/* A device that opens but is not KVM: the prober ends by itself, with the reason. */
static void test_not_kvm(const char *path, const char *why)
{
	struct kvm_probe p = probe(path, TIMEOUT);
	ok(p.verdict == KVM_BROKEN, "%s is broken", path);
	ok(strstr(p.why, why) != NULL, "because %s (%s)", why, p.why);
	ok(p.ms < TIMEOUT, "before the timeout (%u ms)", p.ms);
	int st = 0;
	ok(reap_other(0, 1000, &st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "the prober exited by itself");
	ok(children(0) == 0, "nothing is left");
}

/* Mounts hangfs (with --deaf or not) on mnt; 0, or -1 with a SKIP for why. */
static int hangfs_start(int deaf)
{
	hangfs_pid = fork();
	if (hangfs_pid == 0) {
		if (deaf)
			execl(hangfs, hangfs, "--deaf", mnt, "-f", (char *)NULL);
		else
			execl(hangfs, hangfs, mnt, "-f", (char *)NULL);
		_exit(127);
	}
	struct stat st;
	for (int i = 0; i < 500 && hangfs_pid > 0; i++, msleep(10))
		if (stat(dev, &st) == 0)
			return 0;
		else if (waitpid(hangfs_pid, NULL, WNOHANG) == hangfs_pid)
			break;
	ok(1, "# SKIP hangfs did not mount on %s", mnt);
	return -1;
}

static void hangfs_stop(void)
{
	if (hangfs_pid > 0) {
		kill(hangfs_pid, SIGTERM); /* it unmounts, which ends every request still open */
		waitpid(hangfs_pid, NULL, 0);
		hangfs_pid = 0;
	}
	umount2(mnt, MNT_DETACH); /* if it could not */
}

static void test_hang(int deaf)
{
	const char *what = deaf ? "a prober stuck for good" : "a hanging open";
	if (hangfs_start(deaf))
		return;
	struct kvm_probe p = probe(dev, TIMEOUT);
	char want[64];
	snprintf(want, sizeof(want), "a probe guest did not finish within %d ms", TIMEOUT);
	ok(p.verdict == KVM_BROKEN, "%s: broken", what);
	is_str(p.why, want, "%s: says so", what);
	ok(p.ms >= TIMEOUT && p.ms <= TIMEOUT + SLACK, "%s: within the timeout (%u ms)", what,
	   p.ms);
	int st = 0;
	pid_t pid = 0;
	if (deaf) {
		msleep(200);
		printf("# after 200 ms, %d prober(s) still stuck in the kernel\n",
		       children(hangfs_pid));
		hangfs_stop(); /* the kernel ends hangfs's requests, and the SIGKILL takes effect */
		pid = reap_other(0, 2000, &st);
	} else
		pid = reap_other(hangfs_pid, 1000, &st);
	ok(pid > 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "%s: the prober was SIGKILLed",
	   what);
	ok(children(hangfs_pid) == 0, "%s: nothing is left", what);
	hangfs_stop();
}

/* kvm_probe_qemu with stand-ins for QEMU (shell scripts): one that answers QMP, one that
 * aborts as QEMU does on a nested host, one that never answers. */
static void test_qemu_stage(void)
{
	static const struct {
		const char *script, *what, *why;
		enum kvm_verdict verdict;
	} cases[] = {
	    {"read a; read b; echo '{\"QMP\": {}}'; echo '{\"return\": {}}';"
	     " echo '{\"return\": {\"status\": \"prelaunch\", \"running\": false}}'; read c",
	     "a QEMU that answers", "", KVM_WORKS},
	    {"echo '{\"QMP\": {}}'; echo 'qemu: error: failed to set MSR 0x10a to 0x69' >&2;"
	     " echo 'qemu: kvm.c:3183: Assertion failed.' >&2; kill -ABRT $$",
	     "a QEMU that aborts", "QEMU cannot run a VM on KVM here: qemu: error: failed to set MSR "
	     "0x10a to 0x69", KVM_BROKEN},
	    {"exec sleep 30", "a QEMU that never answers",
	     "QEMU cannot run a VM on KVM here: it did not answer within the time", KVM_BROKEN},
	};
	char dir[] = "/tmp/vmfs-test-qemu.XXXXXX", path[PATH_MAX];
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/qemu", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		FILE *f = fopen(path, "w");
		fprintf(f, "#!/bin/sh\n%s\n", cases[i].script);
		fclose(f);
		chmod(path, 0755);
		struct kvm_probe p = {.verdict = KVM_WORKS};
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		kvm_probe_qemu(path, TIMEOUT, &p);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		ok(p.verdict == cases[i].verdict, "%s: %s", cases[i].what,
		   kvm_verdict_name(cases[i].verdict));
		if (cases[i].verdict == KVM_BROKEN)
			is_str(p.why, cases[i].why, "%s: and why", cases[i].what);
		ok(ms < TIMEOUT + SLACK, "%s: within the time (%ld ms)", cases[i].what, ms);
		ok(orphans_gone(2000), "%s: nothing is left", cases[i].what);
	}
	unlink(path);
	rmdir(dir);
}

/* A directory (0755: QEMU's user enters it) for a stand-in QEMU, its kernel and the kept
 * verdict; false if it cannot be made. */
struct bootdir {
	char dir[32], qemu[PATH_MAX], kernel[PATH_MAX], cache[PATH_MAX];
};

static bool bootdir_make(struct bootdir *b)
{
	snprintf(b->dir, sizeof(b->dir), "/tmp/vmfs-test-boot.XXXXXX");
	if (!mkdtemp(b->dir) || chmod(b->dir, 0755)) {
		ok(0, "mkdtemp");
		return false;
	}
	snprintf(b->qemu, sizeof(b->qemu), "%s/qemu", b->dir);
	snprintf(b->kernel, sizeof(b->kernel), "%s/vmlinuz", b->dir);
	snprintf(b->cache, sizeof(b->cache), "%s/cache", b->dir);
	return true;
}

/* kvm_probe_boot with stand-ins: a QEMU whose kernel prints its banner, one whose kernel
 * stays silent (this host's nested KVM), and the verdict kept for the boot. */
static void test_boot_stage(void)
{
	struct bootdir b;
	if (!bootdir_make(&b))
		return;
	char *dir = b.dir, *qemu = b.qemu, *kernel = b.kernel, *cache = b.cache;
	FILE *f = fopen(kernel, "w");
	fclose(f);
	static const struct {
		const char *script, *what;
		enum kvm_verdict verdict;
	} cases[] = {
	    {"echo 'Probing EDD'; echo '[0.0] Linux version 6.1'; exec sleep 30", "a kernel that boots",
	     KVM_WORKS},
	    {"echo 'Probing EDD (edd=off to disable)... ok'; exec sleep 30", "a kernel that hangs",
	     KVM_BROKEN},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		f = fopen(qemu, "w");
		fprintf(f, "#!/bin/sh\n%s\n", cases[i].script);
		fclose(f);
		chmod(qemu, 0755);
		unlink(cache);
		struct kvm_probe p = {.verdict = KVM_WORKS};
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		kvm_probe_boot(qemu, kernel, cache, TIMEOUT, &p);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		ok(p.verdict == cases[i].verdict, "boot stage, %s: %s", cases[i].what,
		   kvm_verdict_name(cases[i].verdict));
		ok(ms < TIMEOUT + SLACK, "boot stage, %s: within the time (%ld ms)", cases[i].what, ms);
		ok(orphans_gone(2000), "boot stage, %s: nothing is left", cases[i].what);
		/* the same boot, no kernel this time: the kept verdict decides, at once */
		struct kvm_probe again = {.verdict = KVM_WORKS};
		kvm_probe_boot(qemu, "/nonexistent/vmlinuz", cache, TIMEOUT, &again);
		ok(again.verdict == cases[i].verdict, "boot stage, %s: kept for the boot",
		   cases[i].what);
	}
	struct kvm_probe none = {.verdict = KVM_WORKS};
	unlink(cache);
	kvm_probe_boot(qemu, "/nonexistent/vmlinuz", cache, TIMEOUT, &none);
	ok(none.verdict == KVM_WORKS, "boot stage without a kernel or a kept verdict: no change");
	unlink(qemu);
	unlink(kernel);
	rmdir(dir);
}

/* The boot stage as QEMU's user (kvm_probe_as_qemu_user) with a kernel only root may read:
 * the stand-in QEMU reopens /proc/self/fd/0 as QEMU does, so it gets a copy. A kernel too
 * large to copy is no verdict on KVM, and no verdict is kept for the boot. */
static void test_boot_unreadable(void)
{
	struct bootdir b;
	if (getuid() != 0) {
		ok(1, "# SKIP the boot stage as QEMU's user needs root");
		return;
	}
	if (!bootdir_make(&b))
		return;
	char *dir = b.dir, *qemu = b.qemu, *kernel = b.kernel, *cache = b.cache;
	FILE *f = fopen(qemu, "w");
	fprintf(f, "#!/bin/sh\nhead -c 2 /proc/self/fd/0 | grep -q MZ && echo 'Linux version 6.1'\n"
		   "exec sleep 30\n");
	fclose(f);
	chmod(qemu, 0755);
	f = fopen(kernel, "w");
	fprintf(f, "MZ a kernel");
	fclose(f);
	chmod(kernel, 0600);
	kvm_probe_as_qemu_user();
	struct kvm_probe p = {.verdict = KVM_WORKS, .why = "a probe guest ran in 1 ms"};
	kvm_probe_boot(qemu, kernel, cache, TIMEOUT, &p);
	ok(p.verdict == KVM_WORKS, "boot stage, a 0600 kernel as QEMU's user: works (%s)", p.why);
	ok(orphans_gone(2000), "boot stage, a 0600 kernel: nothing is left");
	unlink(cache);
	ok(truncate(kernel, 600 << 20) == 0, "a sparse 600 MiB kernel");
	struct kvm_probe big = {.verdict = KVM_WORKS, .why = "a probe guest ran in 1 ms"};
	kvm_probe_boot(qemu, kernel, cache, TIMEOUT, &big);
	ok(big.verdict == KVM_WORKS, "boot stage, a 0600 kernel too large to copy: still works");
	is_str(big.why, "a probe guest ran in 1 ms; cannot read the probe's kernel, not booted: "
			"File too large", "... and why the kernel was not booted");
	ok(access(cache, F_OK) < 0, "... no verdict kept for the boot");
	unlink(cache);
	unlink(qemu);
	unlink(kernel);
	rmdir(dir);
}

static void cleanup(void)
{
	hangfs_stop();
	if (*mnt)
		rmdir(mnt);
}

int main(int argc, char **argv)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	test_absent();
	test_not_kvm("/dev/null", "KVM_GET_API_VERSION failed");
	test_not_kvm("/", "/: Is a directory");
	test_qemu_stage();
	test_boot_stage();

	struct stat st;
	if (stat("/dev/kvm", &st) == 0) {
		struct kvm_probe p = probe("/dev/kvm", 1500);
		printf("# this machine's /dev/kvm: %s (not checked)\n",
		       kvm_verdict_name(p.verdict));
		reap_other(0, 2000, &(int){0});
	}

	char self[PATH_MAX];
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(hangfs, sizeof(hangfs), "%s/../tools/hangfs", dirname(self));
	snprintf(mnt, sizeof(mnt), "/tmp/vmfs-test-kvm.XXXXXX");
	if (getuid() != 0 || access(hangfs, X_OK) || access("/dev/fuse", R_OK | W_OK) ||
	    !mkdtemp(mnt)) {
		*mnt = 0;
		ok(1, "# SKIP hanging opens need root, /dev/fuse and %s", hangfs);
	} else {
		snprintf(dev, sizeof(dev), "%s/kvm", mnt);
		atexit(cleanup);
		test_hang(0);
		test_hang(1);
	}
	test_boot_unreadable(); /* last: from then on the probes run as QEMU's user */
	return tap_done();
}
