/* escape ATTACK: one escape attempt by a raw system call, for tests/integration/escape.sh,
 * which builds it static and runs it inside a container (and, as a control, on the host).
 * Prints "ATTACK OK" (exit 0) or "ATTACK ERRNAME" (exit 1); "console" prints one line per
 * stage. No libc wrappers, so the call reaches the kernel (or the filter) as written. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static int result(const char *what, long r)
{
	if (r < 0) {
		printf("%s %s\n", what, strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
		return 1;
	}
	printf("%s OK\n", what);
	return 0;
}

/* A child in a new namespace: it ends at once; the parent reaps it. */
static long clone_child(long r)
{
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return r;
}

static long io_uring(void)
{
	char params[120] = {0}; /* struct io_uring_params, zeroed: the kernel's defaults */
	long fd = syscall(SYS_io_uring_setup, 2, params);
	if (fd >= 0)
		close((int)fd);
	return fd;
}

static long perf(void)
{
	struct perf_event_attr a = {.type = PERF_TYPE_SOFTWARE,
				    .size = sizeof(a),
				    .config = PERF_COUNT_SW_CPU_CLOCK,
				    .exclude_kernel = 1,
				    .exclude_hv = 1};
	long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	if (fd >= 0)
		close((int)fd);
	return fd;
}

static long bpf_map(void)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 1;
	long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a));
	if (fd >= 0)
		close((int)fd);
	return fd;
}

static long clone3_userns(void)
{
	struct clone_args a = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
	return clone_child(syscall(SYS_clone3, &a, sizeof(a)));
}

/* Not an attack: a thread, which glibc makes with clone3 first and, refused that, clone. */
static void *nothing(void *arg) { return arg; }
static long thread(void)
{
	pthread_t t;
	int e = pthread_create(&t, NULL, nothing, NULL);
	if (e) {
		errno = e;
		return -1;
	}
	return pthread_join(t, NULL) ? -1 : 0;
}

/* getpid through the 32-bit x86 entry (int 0x80), which a filter for x86_64 alone must not
 * let through unchecked. */
static long ia32_getpid(void)
{
#if defined(__x86_64__)
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "rcx", "r11", "memory");
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
#else
	errno = ENOSYS;
	return -1;
#endif
}

/* The host's console: made, opened, then a byte pushed into its input. */
static int console(void)
{
	const char *node = "/tmp/escape-console";
	char c = '\n';
	unlink(node);
	int rc = result("console", mknod(node, S_IFCHR | 0600, makedev(5, 1)));
	if (rc)
		return rc;
	int fd = open(node, O_RDWR | O_NOCTTY);
	rc = result("console-open", fd);
	if (!rc)
		rc = result("console-tiocsti", ioctl(fd, TIOCSTI, &c));
	if (fd >= 0)
		close(fd);
	unlink(node);
	return rc;
}

int main(int argc, char **argv)
{
	const char *a = argc == 2 ? argv[1] : "";
	char c = '\n';
	if (!strcmp(a, "keyctl"))
		return result(a, syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
	if (!strcmp(a, "add_key"))
		return result(a, syscall(SYS_add_key, "user", "vmfs-escape", "x", 1,
					 KEY_SPEC_PROCESS_KEYRING));
	if (!strcmp(a, "io_uring_setup"))
		return result(a, io_uring());
	if (!strcmp(a, "perf_event_open"))
		return result(a, perf());
	if (!strcmp(a, "bpf"))
		return result(a, bpf_map());
	if (!strcmp(a, "unshare-user"))
		return result(a, unshare(CLONE_NEWUSER));
	if (!strcmp(a, "clone-user"))
		return result(a, clone_child(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)));
	if (!strcmp(a, "clone3-user"))
		return result(a, clone3_userns());
	if (!strcmp(a, "tiocsti"))
		return result(a, ioctl(0, TIOCSTI, &c));
	if (!strcmp(a, "tiocsti-high")) /* the request with bits above 32, which the kernel drops */
		return result(a, syscall(SYS_ioctl, 0, (unsigned long)TIOCSTI | (1UL << 32), &c));
	if (!strcmp(a, "thread"))
		return result(a, thread());
	if (!strcmp(a, "ia32-getpid"))
		return result(a, ia32_getpid());
	if (!strcmp(a, "console"))
		return console();
	fprintf(stderr, "usage: escape keyctl|add_key|io_uring_setup|perf_event_open|bpf|"
			"unshare-user|clone-user|clone3-user|tiocsti|tiocsti-high|ia32-getpid|console|thread\n");
	return 2;
}
