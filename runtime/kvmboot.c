/* The third stage of the KVM probe: a real kernel must get going. On some nested hosts a
 * stopped QEMU answers and even its firmware runs on KVM, yet a Linux kernel never gets past
 * its real-mode setup (nothing after "Probing EDD"), so every VM would sit RUNNING with a
 * silent console. The default image's kernel is booted as VMs boot it, and KVM is kept only
 * if the kernel prints its banner in time (a few hundred ms where KVM works).
 *
 * The verdict is kept for the rest of the host's boot (keyed by boot_id and QEMU's
 * identity), also for a vmfs whose image store has no kernel, so that only the first vmfs of a boot pays for a broken KVM's
 * timeout: the state of a host's KVM does not change while it runs. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/err.h"
#include "runtime/kvm.h"
#include "runtime/orphan.h"
#include "runtime/util.h"
#include "runtime/vm.h"
#include "runtime/vmpass.h"

#define BANNER "Linux version"

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Reads the serial line until the banner or the deadline; true if it came. */
static bool banner_seen(int fd, const struct timespec *t0, int timeout_ms)
{
	char buf[8192];
	size_t got = 0;
	long left;
	struct pollfd p = {fd, POLLIN, 0};
	while ((left = timeout_ms - ms_since(t0)) > 0 && poll(&p, 1, (int)left) > 0) {
		if (got == sizeof(buf) - 1) { /* keep the tail: the banner may straddle */
			memmove(buf, buf + got - 64, 64);
			got = 64;
		}
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			return false;
		got += n;
		buf[got] = 0;
		if (memmem(buf, got, BANNER, strlen(BANNER)))
			return true;
	}
	return false;
}

/* The kernel as VMs get it (runtime/vmpass.c): opened by root without reading it first
 * (a FIFO must not block the probe), then given to QEMU's user as /proc/self/fd/0, as a copy
 * in memory if that user may not read it. A descriptor, or -errno with why. */
static int kernel_for_qemu(const char *kernel, struct err *e)
{
	char link[64];
	struct stat st;
	uid_t uid;
	gid_t gid = 0; /* no QEMU user: the probe runs as root, which a copy does not hurt */
	int pfd = open(kernel, O_PATH | O_CLOEXEC), fd = -1, r;
	if (pfd >= 0 && fstat(pfd, &st) == 0 && S_ISREG(st.st_mode)) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", pfd);
		fd = open(link, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	} else if (pfd >= 0)
		errno = EINVAL;
	r = fd < 0 ? -errno : 0;
	if (pfd >= 0)
		close(pfd);
	off_t left = BOOT_COPY_MAX;
	vm_user(&uid, &gid, e->why, sizeof(e->why));
	int k = r ? r : boot_readable(fd, gid, &left);
	if (k != fd && fd >= 0)
		close(fd);
	if (k == -EINVAL)
		return err_set(e, k, "not a regular file");
	return k < 0 ? err_set(e, k, "%s", strerror(-k)) : k;
}

/* 1: the banner came; 0: it did not; -1: the kernel could not be given (why says why). */
static int boot_ok(const char *qemu, const char *kernel, int timeout_ms, struct err *e)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int out[2];
	/* given as its stdin: QEMU's user may not reach images/ by name */
	int kfd = kernel_for_qemu(kernel, e);
	if (kfd < 0)
		return -1;
	if (pipe2(out, O_CLOEXEC)) {
		err_sys(e, errno, "pipe");
		close(kfd);
		return -1;
	}
	char *argv[] = {(char *)qemu, "-accel", "kvm", "-M", "pc", "-cpu", "host", "-m", "128",
			"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-kernel",
			"/proc/self/fd/0", "-append", "console=ttyS0 panic=-1", "-serial", "stdio",
			NULL};
	struct orphan q;
	int r = orphan_spawn(argv, kfd, out[1], -1, &q);
	close(kfd);
	close(out[1]);
	int ok = r || banner_seen(out[0], &t0, timeout_ms);
	close(out[0]);
	orphan_kill(&q);
	return ok;
}

/* "BOOTID QEMU-MTIME": KVM's health is the host's, whatever kernel showed it */
static void cache_key(const char *qemu_path, char *out, size_t len)
{
	char *boot = NULL;
	struct stat q = {0};
	if (read_small(AT_FDCWD, "/proc/sys/kernel/random/boot_id", 64, &boot, NULL) == 0)
		boot[strcspn(boot, "\n")] = 0;
	stat(qemu_path, &q);
	snprintf(out, len, "%s %lld", boot ? boot : "-", (long long)q.st_mtime);
	free(boot);
}

static void cache_write(const char *cache, const char *key, bool ok)
{
	char dir[256], line[320];
	const char *slash = strrchr(cache, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - cache) : 1, slash ? cache : ".");
	int dfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int n = snprintf(line, sizeof(line), "%s %s\n", key, ok ? "works" : "broken");
	if (dfd >= 0)
		write_atomic(dfd, slash ? slash + 1 : cache, line, n, 0);
	if (dfd >= 0)
		close(dfd);
}

void kvm_probe_boot(const char *qemu, const char *kernel, const char *cache, int timeout_ms,
		    struct kvm_probe *p)
{
	char key[256], qpath[256];
	snprintf(qpath, sizeof(qpath), "/usr/bin/%s", qemu);
	cache_key(strchr(qemu, '/') ? qemu : qpath, key, sizeof(key));
	char *text = NULL;
	bool cached = cache && read_small(AT_FDCWD, cache, 256, &text, NULL) == 0 &&
		      !strncmp(text, key, strlen(key)) && text[strlen(key)] == ' ';
	struct stat k;
	bool bootable = stat(kernel, &k) == 0 && S_ISREG(k.st_mode);
	if (!cached && !bootable) {
		free(text);
		return; /* no default image yet and no earlier verdict: the earlier stages decide */
	}
	struct err why;
	int ok = cached ? !strncmp(text + strlen(key) + 1, "works", 5)
			: boot_ok(qemu, kernel, timeout_ms, &why);
	free(text);
	if (ok < 0) { /* no kernel to boot is no verdict on KVM: the earlier stages stand */
		err_wrap(&why, "cannot read the probe's kernel, not booted");
		size_t n = strnlen(p->why, sizeof(p->why) - 1);
		if (n)
			n += snprintf(p->why + n, sizeof(p->why) - n, "; ");
		if (n < sizeof(p->why))
			err_out(&why, p->why + n, sizeof(p->why) - n); /* a line of host/info */
		return;
	}
	if (!cached && cache)
		cache_write(cache, key, ok);
	if (ok)
		return;
	p->verdict = KVM_BROKEN;
	snprintf(p->why, sizeof(p->why), "QEMU runs on KVM here but a Linux kernel does not: the "
		 "default image's kernel printed nothing within %d ms%s", timeout_ms,
		 cached ? " (this boot's first probe)" : "");
}
