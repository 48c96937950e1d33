/* The second half of the KVM probe: a guest that runs on /dev/kvm is not enough, as QEMU
 * asks more of KVM than the tiny probe guest does. On some nested hosts QEMU aborts at once
 * ("failed to set MSR 0x10a", an assertion in kvm_buf_set_msrs) with the CPU model VMs use
 * (-cpu host). So QEMU itself is started as a VM would be, stopped (-S), and asked for its
 * status over QMP: the answer comes only after its vCPUs were set up on KVM. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/err.h"
#include "runtime/kvm.h"
#include "runtime/orphan.h"

static long ms_left(const struct timespec *t0, int timeout_ms)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return timeout_ms - ((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* Reads out and err until the status answer, both ends, or the deadline. */
static bool wait_status(int out, int err, char *errbuf, size_t errlen, const struct timespec *t0,
			int timeout_ms)
{
	char buf[4096];
	size_t got = 0, egot = 0;
	struct pollfd p[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
	long left;
	while ((p[0].fd >= 0 || p[1].fd >= 0) && (left = ms_left(t0, timeout_ms)) > 0) {
		if (poll(p, 2, (int)left) <= 0)
			break;
		for (int i = 0; i < 2; i++) {
			if (!p[i].revents)
				continue;
			char *dst = i ? errbuf + egot : buf + got;
			size_t room = i ? errlen - 1 - egot : sizeof(buf) - 1 - got;
			ssize_t n = room ? read(p[i].fd, dst, room) : 0;
			if (n <= 0) {
				p[i].fd = -1;
				continue;
			}
			*(i ? &egot : &got) += n;
			(i ? errbuf : buf)[i ? egot : got] = 0;
		}
		if (strstr(buf, "\"status\""))
			return true;
	}
	return false;
}

/* A QEMU that aborted at once has closed its input: EPIPE, never SIGPIPE for the caller
 * (vmfs ignores it; a test program need not). */
static bool write_nosigpipe(int fd, const char *buf, size_t len)
{
	sigset_t pipe, old;
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	bool ok = write(fd, buf, len) == (ssize_t)len;
	if (!ok && errno == EPIPE)
		sigtimedwait(&pipe, NULL, &(struct timespec){0, 0}); /* ours, not another's */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ok;
}

void kvm_probe_qemu(const char *qemu, int timeout_ms, struct kvm_probe *p)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int in[2], out[2], err[2];
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		return; /* the first probe's verdict stands */
	char *argv[] = {(char *)qemu, "-accel", "kvm", "-M", "microvm", "-cpu", "host", "-m", "16",
			"-nodefaults", "-no-user-config", "-display", "none", "-S", "-qmp", "stdio",
			NULL};
	struct orphan q;
	int r = orphan_spawn(argv, in[0], out[1], err[1], &q);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	static const char cmds[] = "{\"execute\":\"qmp_capabilities\"}\n"
				   "{\"execute\":\"query-status\"}\n";
	char why[1024] = "";
	/* read even when the write failed: a QEMU that aborted at once said why on stderr */
	bool wrote = !r && write_nosigpipe(in[1], cmds, sizeof(cmds) - 1);
	bool ok = !r && wait_status(out[0], err[0], why, sizeof(why), &t0, timeout_ms) && wrote;
	close(in[1]);
	orphan_kill(&q); /* its work is done either way, and a probe must never hold vmfs */
	close(out[0]);
	close(err[0]);
	if (ok || r)
		return;
	p->verdict = KVM_BROKEN;
	why[strcspn(why, "\n")] = 0; /* QEMU's first complaint names the cause */
	struct err e;
	err_set(&e, EIO, "QEMU cannot run a VM on KVM here: %s",
		*why ? why : "it did not answer within the time");
	err_out(&e, p->why, sizeof(p->why)); /* a line of host/info: cut, marked */
}
