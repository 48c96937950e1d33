/* The KVM probe (kvm.h). The guest runs in a grandchild, the prober: a KVM that hangs
 * hangs inside KVM_RUN (or even in open, for a device on a stuck file system), where no
 * waitpid of ours may follow it. So the caller forks an intermediate child that forks the
 * prober and exits at once; the caller reaps only that one, hears the prober through a pipe
 * with a deadline, and SIGKILLs it on timeout. Orphaned, the prober is reaped by init. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/kvm.h"
#include "runtime/orphan.h"
#include "runtime/vm.h"

#define PROBE_PORT 0x10
#define PROBE_VALUE 0x2a
#define GUEST_ADDR 0x1000
#define GUEST_SIZE 0x1000
#define TSS_ADDR 0xfffbd000 /* where QEMU and kvmtool put it */

/* Real mode at GUEST_ADDR: mov al,0x2a; out 0x10,al; hlt */
static const unsigned char guest_code[] = {0xb0, PROBE_VALUE, 0xe6, PROBE_PORT, 0xf4};

const char *kvm_verdict_name(enum kvm_verdict v)
{
	static const char *const names[] = {"absent", "works", "broken"};
	return (unsigned)v <= KVM_BROKEN ? names[v] : "?";
}

static int failed(struct kvm_probe *p, const char *what)
{
	p->verdict = KVM_BROKEN;
	snprintf(p->why, sizeof(p->why), "%s failed: %s", what, strerror(errno));
	return -1;
}

#if defined(__x86_64__) || defined(__i386__)
/* A VM with one page of memory holding guest_code and one vCPU about to run it. The prober
 * exits right after the run, so nothing here is ever closed or unmapped. */
static int guest_setup(int kvm, struct kvm_probe *p, struct kvm_run **run)
{
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return failed(p, "KVM_CREATE_VM");
	/* only CPUs that cannot run real mode natively need it; elsewhere it is a no-op */
	ioctl(vm, KVM_SET_TSS_ADDR, TSS_ADDR);
	void *mem =
	    mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return failed(p, "mmap of the guest memory");
	memcpy(mem, guest_code, sizeof(guest_code));
	struct kvm_userspace_memory_region region = {
	    .guest_phys_addr = GUEST_ADDR,
	    .memory_size = GUEST_SIZE,
	    .userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return failed(p, "KVM_SET_USER_MEMORY_REGION");
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return failed(p, "KVM_CREATE_VCPU");
	int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(**run))
		return failed(p, "KVM_GET_VCPU_MMAP_SIZE");
	*run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (*run == MAP_FAILED)
		return failed(p, "mmap of the vCPU's kvm_run area");
	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return failed(p, "KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return failed(p, "KVM_SET_SREGS");
	struct kvm_regs regs = {.rip = GUEST_ADDR, .rflags = 2}; /* bit 1 is always set */
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return failed(p, "KVM_SET_REGS");
	return vcpu;
}

static bool probe_write(const struct kvm_run *run)
{
	return run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
	       run->io.port == PROBE_PORT && run->io.size == 1 &&
	       *((const uint8_t *)run + run->io.data_offset) == PROBE_VALUE;
}

/* Expects the write to the port, then the halt; anything else is a KVM we cannot trust. */
static void guest_run(int kvm, struct kvm_probe *p)
{
	struct kvm_run *run = NULL;
	int vcpu = guest_setup(kvm, p, &run);
	bool wrote = false;
	for (int i = 0; vcpu >= 0 && i < 16; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			failed(p, "KVM_RUN");
			return;
		}
		if (!wrote && probe_write(run)) {
			wrote = true;
			continue;
		}
		p->verdict = wrote && run->exit_reason == KVM_EXIT_HLT ? KVM_WORKS : KVM_BROKEN;
		if (p->verdict == KVM_BROKEN)
			snprintf(p->why, sizeof(p->why),
				 "the probe guest stopped with exit reason %u", run->exit_reason);
		return;
	}
	if (vcpu >= 0)
		snprintf(p->why, sizeof(p->why), "KVM_RUN was interrupted 16 times");
}
#else
static void guest_run(int kvm, struct kvm_probe *p)
{
	/* the probe guest is x86 code: elsewhere an open /dev/kvm is all we can check */
	p->verdict = KVM_WORKS;
}
#endif

static bool as_user;

void kvm_probe_as_qemu_user(void)
{
	uid_t uid;
	gid_t gid;
	struct err ignored;
	/* no such user: VMs do not start at all (vm_start_spawn says why); the probe still
	 * says what KVM does */
	as_user = vm_user(&uid, &gid, ignored.why, sizeof(ignored.why)) == 0;
	orphan_before_exec = as_user ? vm_user_drop : NULL;
}

static void probe_dev(const char *dev, struct kvm_probe *p)
{
	int e = as_user ? vm_user_drop() : 0;
	if (e) {
		snprintf(p->why, sizeof(p->why), "cannot probe as QEMU's user: %s", strerror(-e));
		return;
	}
	int kvm = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		p->verdict = errno == ENOENT ? KVM_ABSENT : KVM_BROKEN;
		snprintf(p->why, sizeof(p->why), "%s: %s%s", dev, strerror(errno),
			 errno == EACCES && as_user ? " (for QEMU's user: is it in group kvm?)" : "");
		return;
	}
	int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (api < 0)
		failed(p, "KVM_GET_API_VERSION");
	else if (api != KVM_API_VERSION)
		snprintf(p->why, sizeof(p->why), "KVM API version %d, not %d", api,
			 KVM_API_VERSION);
	else
		guest_run(kvm, p);
}

/* The prober may stay stuck in the kernel after its SIGKILL (a KVM bug, a device on a
 * stuck file system), so it keeps none of the caller's descriptors but its two pipes: a
 * state directory's lock would keep the next vmfs out, and a stdout that is a pipe would
 * keep whoever reads it (a test harness) waiting for its end. */
static void drop_fds(int res, int go)
{
	int keep[2] = {res < go ? res : go, res < go ? go : res};
	unsigned from = 3;
	for (int i = 0; i < 2; i++) {
		if (keep[i] < (int)from)
			continue;
		if (keep[i] > (int)from)
			close_range(from, keep[i] - 1, 0);
		from = keep[i] + 1;
	}
	close_range(from, ~0U, 0);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3; fd++) {
		if (fd == res || fd == go || fd == null)
			continue; /* a caller without stdio got its pipes there */
		if (null >= 0)
			dup2(null, fd);
		else
			close(fd);
	}
	if (null > 2)
		close(null);
}

/* The grandchild. It waits for "go" so that the caller can name it race-free first. */
static void prober(const char *dev, int res, int go)
{
	prctl(PR_SET_NAME, "vmfs-kvm-probe");
	drop_fds(res, go);
	pid_t me = getpid();
	char c;
	if (write(res, &me, sizeof(me)) != sizeof(me) || read(go, &c, 1) != 1)
		_exit(0); /* the caller gave up */
	struct kvm_probe p = {.verdict = KVM_BROKEN};
	probe_dev(dev, &p);
	if (write(res, &p, sizeof(p)) < 0) /* atomic: smaller than PIPE_BUF */
		_exit(1);
	_exit(0);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Reads exactly n bytes before t0 + timeout_ms: 0, -ETIMEDOUT, -EPIPE (the writer died). */
static int read_by(int fd, void *buf, size_t n, const struct timespec *t0, int timeout_ms)
{
	size_t got = 0;
	while (got < n) {
		long left = timeout_ms - ms_since(t0);
		struct pollfd pfd = {fd, POLLIN, 0};
		int r = left > 0 ? poll(&pfd, 1, left) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ETIMEDOUT;
		ssize_t k = read(fd, (char *)buf + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EPIPE;
		got += k;
	}
	return 0;
}

static void kill_prober(pid_t pid, int pidfd)
{
	if (pidfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0)
		kill(pid, SIGKILL); /* no pidfd: it has not replied, so it has not exited */
}

static void probe_in_child(const char *dev, const struct timespec *t0, int timeout_ms,
			   struct kvm_probe *out)
{
	int res[2], go[2];
	if (pipe2(res, O_CLOEXEC) < 0)
		return (void)failed(out, "pipe");
	/* a socket, to send "go" with MSG_NOSIGNAL: a dead prober must not SIGPIPE the caller */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go) < 0) {
		failed(out, "socketpair");
		close(res[0]);
		close(res[1]);
		return;
	}
	pid_t mid = fork();
	if (mid == 0) {
		if (fork() == 0)
			prober(dev, res[1], go[0]);
		_exit(0);
	}
	int e = errno;
	close(res[1]);
	close(go[0]);
	while (mid > 0 && waitpid(mid, NULL, 0) < 0 && errno == EINTR)
		;
	pid_t pid = 0;
	int pidfd = -1, r = mid < 0 ? -e : read_by(res[0], &pid, sizeof(pid), t0, timeout_ms);
	struct kvm_probe p;
	if (!r) {
		pidfd = syscall(SYS_pidfd_open, pid, 0);
		r = send(go[1], "g", 1, MSG_NOSIGNAL) == 1
			? read_by(res[0], &p, sizeof(p), t0, timeout_ms)
			: -EPIPE;
	}
	if (r == -ETIMEDOUT && pid > 0)
		kill_prober(pid, pidfd);
	close(go[1]); /* a prober still waiting for "go" exits */
	close(res[0]);
	if (pidfd >= 0)
		close(pidfd);
	if (!r) {
		*out = p;
		out->why[sizeof(out->why) - 1] = 0;
	} else if (r == -ETIMEDOUT)
		snprintf(out->why, sizeof(out->why), "a probe guest did not finish within %d ms",
			 timeout_ms);
	else
		snprintf(out->why, sizeof(out->why), "the prober failed: %s", strerror(-r));
}

void kvm_probe(const char *dev, int timeout_ms, struct kvm_probe *out)
{
	struct timespec t0;
	struct stat st;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	*out = (struct kvm_probe){.verdict = KVM_BROKEN};
	if (stat(dev, &st) < 0 && (errno == ENOENT || errno == ENOTDIR)) {
		out->verdict = KVM_ABSENT; /* the usual case without KVM: no child needed */
		snprintf(out->why, sizeof(out->why), "%s: %s", dev, strerror(errno));
	} else
		probe_in_child(dev, &t0, timeout_ms, out);
	long ms = ms_since(&t0);
	out->ms = ms > 0 ? ms : 0;
	if (out->verdict == KVM_WORKS)
		snprintf(out->why, sizeof(out->why), "a probe guest ran in %u ms", out->ms);
}
