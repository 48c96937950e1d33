/* escape ATTACK [ARG]: one escape attempt by a raw system call, for
 * tests/integration/escape.sh, which builds it static and runs it inside a container (and,
 * for some, as a control, on the host). Prints "ATTACK OK" (exit 0) or "ATTACK ERRNAME"
 * (exit 1); "console" prints one line per stage, "chroot" CONTAINED or ESCAPED, "forkbomb"
 * and "hog" what they reached. No libc wrappers, so the call reaches the kernel (or the
 * filter) as written. Calls that would change the host (kexec, swapon, modules, reboot)
 * are only ever run inside. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/keyctl.h>
#include <linux/reboot.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/uio.h>
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


/* open_by_handle_at ("shocker"): a handle for "/" made by name_to_handle_at (allowed), or,
 * where the filesystem makes none (overlayfs), forged as shocker did (inode 2, ext4's
 * root), then opened, which needs CAP_DAC_READ_SEARCH: with a forged handle, any inode of
 * the filesystem, outside the container's root included. */
static long shocker(void)
{
	struct {
		struct file_handle h;
		unsigned char f[MAX_HANDLE_SZ];
	} h = {.h.handle_bytes = MAX_HANDLE_SZ};
	int mnt;
	if (name_to_handle_at(AT_FDCWD, "/", &h.h, &mnt, 0) < 0) {
		unsigned ino[2] = {2, 0};
		h.h.handle_bytes = sizeof ino;
		h.h.handle_type = 1; /* FILEID_INO32_GEN */
		memcpy(h.h.f_handle, ino, sizeof ino);
	}
	int root = open("/", O_RDONLY | O_DIRECTORY);
	long fd = syscall(SYS_open_by_handle_at, root, &h.h, O_RDONLY);
	int e = errno;
	if (fd >= 0)
		close((int)fd);
	close(root);
	errno = e;
	return fd;
}

/* mknod of a device, "b MAJ:MIN" or "c MAJ:MIN", then removed. */
static long node(char type, const char *arg)
{
	unsigned maj = 0, min = 0;
	const char *p = "/tmp/escape-node";
	if (!arg || sscanf(arg, "%u:%u", &maj, &min) != 2) {
		errno = EINVAL;
		return -1;
	}
	unlink(p);
	long r = mknod(p, (type == 'b' ? S_IFBLK : S_IFCHR) | 0600, makedev(maj, min));
	int e = errno;
	unlink(p);
	errno = e;
	return r;
}

static long pid_arg(const char *arg)
{
	if (!arg || atoi(arg) <= 0) {
		errno = EINVAL;
		return -1;
	}
	return atoi(arg);
}

/* PTRACE_ATTACH to pid (a host process's number, seen from inside), then detached. */
static long trace(const char *arg)
{
	long pid = pid_arg(arg);
	if (pid < 0 || ptrace(PTRACE_ATTACH, (pid_t)pid, 0, 0) < 0)
		return -1;
	waitpid((pid_t)pid, NULL, __WALL);
	return ptrace(PTRACE_DETACH, (pid_t)pid, 0, 0);
}

/* Not an attack: a child of its own, traced (Docker allows it; the container sees only
 * its own processes). */
static long trace_child(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	long r = ptrace(PTRACE_ATTACH, pid, 0, 0);
	int e = errno;
	if (r == 0) {
		waitpid(pid, NULL, 0);
		ptrace(PTRACE_DETACH, pid, 0, 0);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	errno = e;
	return r;
}

static long vm_read(const char *arg)
{
	char buf[8];
	struct iovec l = {buf, sizeof buf}, r = {(void *)0x400000, sizeof buf};
	long pid = pid_arg(arg);
	return pid < 0 ? -1 : syscall(SYS_process_vm_readv, (pid_t)pid, &l, 1, &r, 1, 0);
}

/* A packet socket (CAP_NET_RAW) on a host interface, by name: the container's network
 * namespace has its own interfaces only. */
static long packet(const char *ifname)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname ? ifname : "");
	long r = ioctl(fd, SIOCGIFINDEX, &ifr);
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

/* Not an attack: a raw ICMP socket, kept as in Docker (ping). */
static long raw_icmp(void)
{
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd >= 0)
		close(fd);
	return fd;
}

/* The classic chroot escape: chroot into a subdirectory while holding a descriptor of the
 * old root, climb ".." from it, chroot there. Root is where it was: CONTAINED. */
static int chroot_escape(void)
{
	struct stat before, after;
	int fd = open("/", O_RDONLY | O_DIRECTORY);
	mkdir("/tmp/escape-chroot", 0700);
	if (fd < 0 || stat("/", &before) || chroot("/tmp/escape-chroot") || fchdir(fd))
		return result("chroot", -1);
	for (int i = 0; i < 64; i++)
		if (chdir(".."))
			return result("chroot", -1);
	if (chroot(".") || stat("/", &after))
		return result("chroot", -1);
	int out = after.st_dev != before.st_dev || after.st_ino != before.st_ino;
	printf("chroot %s\n", out ? "ESCAPED" : "CONTAINED");
	return out ? 0 : 1;
}

static void msleep(int ms) { nanosleep(&(struct timespec){ms / 1000, ms % 1000 * 1000000L}, NULL); }

/* A fork bomb, bounded: after a pause (so that the caller's shell has forked what it needs
 * next), makes children that wait, until that fails; writes "full N ERRNAME" to the file
 * arg, holds them for 3 s (the test checks the host and a sibling meanwhile), kills and
 * reaps them, then appends "done". The children share its memory (CLONE_VM), as threads
 * do, but each is a process of its own to the pids controller: forked, this program's
 * children met config/memory's default (256M) here before pids.max, and the OOM killer
 * took the container's init. (escape.sh also lights a shell's fork bomb.) */
#define BOMB_MAX 65536
#define BOMB_STACK 4096
static int bomb_child(void *arg)
{
	(void)arg;
	for (;;)
		syscall(SYS_pause);
	return 0;
}

static int forkbomb(const char *file)
{
	static pid_t kids[BOMB_MAX];
	int n = 0, e = 0;
	FILE *f = fopen(file ? file : "/tmp/forkbomb", "w");
	char *stacks = mmap(NULL, (size_t)BOMB_MAX * BOMB_STACK, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!f || stacks == MAP_FAILED)
		return result("forkbomb", -1);
	msleep(500);
	while (n < BOMB_MAX) {
		pid_t pid = clone(bomb_child, stacks + (size_t)(n + 1) * BOMB_STACK, CLONE_VM | SIGCHLD,
				  NULL);
		if (pid < 0) {
			e = errno;
			break;
		}
		kids[n++] = pid;
	}
	fprintf(f, "full %d %s\n", n, e ? strerrorname_np(e) : "none");
	fflush(f);
	msleep(3000);
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	fprintf(f, "done\n");
	fclose(f);
	return 0;
}

/* Touches MB megabytes of anonymous memory: past the container's limit, the OOM killer
 * ends it (SIGKILL); "hog OK" if it lived. */
static int hog(const char *arg)
{
	size_t n = (size_t)(arg ? atol(arg) : 512) << 20;
	char *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return result("hog", -1);
	for (size_t i = 0; i < n; i += 4096)
		m[i] = 1;
	return result("hog", 0);
}

static long finit_module(void)
{
	int fd = open("/bin/escape", O_RDONLY);
	long r = syscall(SYS_finit_module, fd, "", 0);
	if (fd >= 0)
		close(fd);
	return r;
}

static long swap(void)
{
	int fd = open("/tmp/escape-swap", O_CREAT | O_RDWR, 0600);
	if (fd >= 0)
		close(fd);
	long r = syscall(SYS_swapon, "/tmp/escape-swap", 0);
	int e = errno;
	unlink("/tmp/escape-swap");
	errno = e;
	return r;
}

static long sys_log(void)
{
	char buf[256];
	return syscall(SYS_syslog, 3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof buf);
}

/* One attack by name: its call's return value, as result() reads it. */
#define CALL(name, expr)                                                                          \
	if (!strcmp(a, name))                                                                      \
		return result(a, (expr));

int main(int argc, char **argv)
{
	const char *a = argc >= 2 ? argv[1] : "", *arg = argc >= 3 ? argv[2] : NULL;
	char c = '\n';
	CALL("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0))
	CALL("add_key",
	     syscall(SYS_add_key, "user", "vmfs-escape", "x", 1, KEY_SPEC_PROCESS_KEYRING))
	CALL("io_uring_setup", io_uring())
	CALL("perf_event_open", perf())
	CALL("bpf", bpf_map())
	CALL("unshare-user", unshare(CLONE_NEWUSER))
	CALL("clone-user", clone_child(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)))
	CALL("clone3-user", clone3_userns())
	CALL("tiocsti", ioctl(0, TIOCSTI, &c))
	/* the request with bits above 32, which the kernel drops */
	CALL("tiocsti-high", syscall(SYS_ioctl, 0, (unsigned long)TIOCSTI | (1UL << 32), &c))
	CALL("thread", thread())
	CALL("ia32-getpid", ia32_getpid())
	CALL("mount-proc", mount("proc", "/mnt", "proc", 0, NULL))
	CALL("mount-sysfs", mount("sysfs", "/mnt", "sysfs", 0, NULL))
	CALL("mount-tmpfs", mount("tmpfs", "/mnt", "tmpfs", 0, NULL))
	CALL("mount-cgroup", mount("cgroup", "/mnt", "cgroup", 0, arg ? arg : "memory"))
	CALL("mount-bind", mount("/", "/mnt", NULL, MS_BIND | MS_REC, NULL))
	CALL("remount-root", mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL))
	CALL("remount-procsys", mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND, NULL))
	CALL("umount-procsys", umount2("/proc/sys", MNT_DETACH))
	CALL("fsopen", syscall(SYS_fsopen, "proc", 0))
	CALL("open_tree", syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */))
	CALL("mknod-block", node('b', arg))
	CALL("mknod-char", node('c', arg))
	CALL("shocker", shocker())
	CALL("init_module", syscall(SYS_init_module, "", 0, ""))
	CALL("finit_module", finit_module())
	CALL("delete_module", syscall(SYS_delete_module, "vmfs_escape", O_NONBLOCK))
	CALL("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0))
	CALL("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 1, "", 0))
	CALL("swapon", swap())
	CALL("syslog", sys_log())
	CALL("reboot", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
				   LINUX_REBOOT_CMD_CAD_OFF, NULL))
	CALL("iopl", syscall(SYS_iopl, 3))
	CALL("ptrace", trace(arg))
	CALL("ptrace-child", trace_child())
	CALL("process_vm_readv", vm_read(arg))
	CALL("kill", pid_arg(arg) < 0 ? -1 : kill((pid_t)pid_arg(arg), 0))
	CALL("packet-host", packet(arg))
	CALL("raw-icmp", raw_icmp())
	if (!strcmp(a, "console"))
		return console();
	if (!strcmp(a, "chroot"))
		return chroot_escape();
	if (!strcmp(a, "forkbomb"))
		return forkbomb(arg);
	if (!strcmp(a, "hog"))
		return hog(arg);
	fprintf(stderr, "usage: escape console|chroot|forkbomb FILE|hog MB|NAME [ARG]: NAME as in "
			"tests/tools/escape.c's CALL lines\n");
	return 2;
}
