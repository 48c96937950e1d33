/* seccomp_gen: compiles the containers' system-call filter with libseccomp, at build time,
 * and prints it as C arrays of BPF (runtime/shim/seccomp_bpf.h), which vmfs-shim loads as
 * they are (runtime/shim/seccomp.c). The filter is the same for every container: the calls
 * Docker's default profile allows, under the same capability conditions, and nothing else
 * (EPERM, as Docker: a program that probes for a call sees it refused rather than being
 * killed); on top of it, the console ioctls that type into a terminal are refused. Built
 * here rather than at each start: libseccomp takes over a millisecond of CPU per build,
 * and its code and tables would grow every shim. The shim is linked statically, so the
 * names it would resolve at run time are the same libseccomp's as here.
 *
 * Output: seccomp_allow[] and seccomp_tty[]. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/shim/caps_list.h"

#define ALWAYS (-1)
/* ptrace and friends: Docker allows them from kernel 4.8 on (before, a traced process could
 * skip the filter); the shim needs 5.6 anyway (openat2 in fs.c), so they are allowed. */
#define KERNEL_4_8 ALWAYS

/* The allowlist: names, resolved on this machine's architecture; a name that libseccomp
 * or the architecture does not know (a newer call, chown32 on x86_64, arm's cacheflush)
 * is skipped. A capability in cap: allowed only if the container keeps it (caps.c). */
static const struct allowed {
	const char *name;
	int cap;
} allowed[] = {
    {"accept", ALWAYS}, {"accept4", ALWAYS}, {"access", ALWAYS}, {"adjtimex", ALWAYS},
    {"alarm", ALWAYS}, {"bind", ALWAYS}, {"brk", ALWAYS}, {"cachestat", ALWAYS},
    {"capget", ALWAYS}, {"capset", ALWAYS}, {"chdir", ALWAYS}, {"chmod", ALWAYS},
    {"chown", ALWAYS}, {"chown32", ALWAYS}, {"clock_adjtime", ALWAYS},
    {"clock_adjtime64", ALWAYS}, {"clock_getres", ALWAYS}, {"clock_getres_time64", ALWAYS},
    {"clock_gettime", ALWAYS}, {"clock_gettime64", ALWAYS}, {"clock_nanosleep", ALWAYS},
    {"clock_nanosleep_time64", ALWAYS}, {"close", ALWAYS}, {"close_range", ALWAYS},
    {"connect", ALWAYS}, {"copy_file_range", ALWAYS}, {"creat", ALWAYS}, {"dup", ALWAYS},
    {"dup2", ALWAYS}, {"dup3", ALWAYS}, {"epoll_create", ALWAYS}, {"epoll_create1", ALWAYS},
    {"epoll_ctl", ALWAYS}, {"epoll_ctl_old", ALWAYS}, {"epoll_pwait", ALWAYS},
    {"epoll_pwait2", ALWAYS}, {"epoll_wait", ALWAYS}, {"epoll_wait_old", ALWAYS},
    {"eventfd", ALWAYS}, {"eventfd2", ALWAYS}, {"execve", ALWAYS}, {"execveat", ALWAYS},
    {"exit", ALWAYS}, {"exit_group", ALWAYS}, {"faccessat", ALWAYS}, {"faccessat2", ALWAYS},
    {"fadvise64", ALWAYS}, {"fadvise64_64", ALWAYS}, {"fallocate", ALWAYS},
    {"fanotify_mark", ALWAYS}, {"fchdir", ALWAYS}, {"fchmod", ALWAYS}, {"fchmodat", ALWAYS},
    {"fchmodat2", ALWAYS}, {"fchown", ALWAYS}, {"fchown32", ALWAYS}, {"fchownat", ALWAYS},
    {"fcntl", ALWAYS}, {"fcntl64", ALWAYS}, {"fdatasync", ALWAYS}, {"fgetxattr", ALWAYS},
    {"flistxattr", ALWAYS}, {"flock", ALWAYS}, {"fork", ALWAYS}, {"fremovexattr", ALWAYS},
    {"fsetxattr", ALWAYS}, {"fstat", ALWAYS}, {"fstat64", ALWAYS}, {"fstatat64", ALWAYS},
    {"fstatfs", ALWAYS}, {"fstatfs64", ALWAYS}, {"fsync", ALWAYS}, {"ftruncate", ALWAYS},
    {"ftruncate64", ALWAYS}, {"futex", ALWAYS}, {"futex_requeue", ALWAYS},
    {"futex_time64", ALWAYS}, {"futex_wait", ALWAYS}, {"futex_waitv", ALWAYS},
    {"futex_wake", ALWAYS}, {"futimesat", ALWAYS}, {"getcpu", ALWAYS}, {"getcwd", ALWAYS},
    {"getdents", ALWAYS}, {"getdents64", ALWAYS}, {"getegid", ALWAYS}, {"getegid32", ALWAYS},
    {"geteuid", ALWAYS}, {"geteuid32", ALWAYS}, {"getgid", ALWAYS}, {"getgid32", ALWAYS},
    {"getgroups", ALWAYS}, {"getgroups32", ALWAYS}, {"getitimer", ALWAYS},
    {"getpeername", ALWAYS}, {"getpgid", ALWAYS}, {"getpgrp", ALWAYS}, {"getpid", ALWAYS},
    {"getppid", ALWAYS}, {"getpriority", ALWAYS}, {"getrandom", ALWAYS},
    {"getresgid", ALWAYS}, {"getresgid32", ALWAYS}, {"getresuid", ALWAYS},
    {"getresuid32", ALWAYS}, {"getrlimit", ALWAYS}, {"get_robust_list", ALWAYS},
    {"getrusage", ALWAYS}, {"getsid", ALWAYS}, {"getsockname", ALWAYS},
    {"getsockopt", ALWAYS}, {"get_thread_area", ALWAYS}, {"gettid", ALWAYS},
    {"gettimeofday", ALWAYS}, {"getuid", ALWAYS}, {"getuid32", ALWAYS}, {"getxattr", ALWAYS},
    {"getxattrat", ALWAYS}, {"inotify_add_watch", ALWAYS}, {"inotify_init", ALWAYS},
    {"inotify_init1", ALWAYS}, {"inotify_rm_watch", ALWAYS}, {"io_cancel", ALWAYS},
    {"io_destroy", ALWAYS}, {"io_getevents", ALWAYS}, {"io_pgetevents", ALWAYS},
    {"io_pgetevents_time64", ALWAYS}, {"ioprio_get", ALWAYS}, {"ioprio_set", ALWAYS},
    {"io_setup", ALWAYS}, {"io_submit", ALWAYS}, {"ipc", ALWAYS}, {"kill", ALWAYS},
    {"landlock_add_rule", ALWAYS}, {"landlock_create_ruleset", ALWAYS},
    {"landlock_restrict_self", ALWAYS}, {"lchown", ALWAYS}, {"lchown32", ALWAYS},
    {"lgetxattr", ALWAYS}, {"link", ALWAYS}, {"linkat", ALWAYS}, {"listen", ALWAYS},
    {"listmount", ALWAYS}, {"listxattr", ALWAYS}, {"listxattrat", ALWAYS},
    {"llistxattr", ALWAYS}, {"_llseek", ALWAYS}, {"lremovexattr", ALWAYS}, {"lseek", ALWAYS},
    {"lsetxattr", ALWAYS}, {"lstat", ALWAYS}, {"lstat64", ALWAYS}, {"madvise", ALWAYS},
    {"map_shadow_stack", ALWAYS}, {"membarrier", ALWAYS}, {"memfd_create", ALWAYS},
    {"memfd_secret", ALWAYS}, {"mincore", ALWAYS}, {"mkdir", ALWAYS}, {"mkdirat", ALWAYS},
    /* mknod: as Docker, CAP_MKNOD and the devices cgroup (cgroup.c) decide which nodes */
    {"mknod", ALWAYS}, {"mknodat", ALWAYS}, {"mlock", ALWAYS}, {"mlock2", ALWAYS},
    {"mlockall", ALWAYS}, {"mmap", ALWAYS}, {"mmap2", ALWAYS}, {"mprotect", ALWAYS},
    {"mq_getsetattr", ALWAYS}, {"mq_notify", ALWAYS}, {"mq_open", ALWAYS},
    {"mq_timedreceive", ALWAYS}, {"mq_timedreceive_time64", ALWAYS},
    {"mq_timedsend", ALWAYS}, {"mq_timedsend_time64", ALWAYS}, {"mq_unlink", ALWAYS},
    {"mremap", ALWAYS}, {"mseal", ALWAYS}, {"msgctl", ALWAYS}, {"msgget", ALWAYS},
    {"msgrcv", ALWAYS}, {"msgsnd", ALWAYS}, {"msync", ALWAYS}, {"munlock", ALWAYS},
    {"munlockall", ALWAYS}, {"munmap", ALWAYS}, {"name_to_handle_at", ALWAYS},
    {"nanosleep", ALWAYS}, {"newfstatat", ALWAYS}, {"_newselect", ALWAYS}, {"open", ALWAYS},
    {"openat", ALWAYS}, {"openat2", ALWAYS}, {"pause", ALWAYS}, {"pidfd_open", ALWAYS},
    {"pidfd_send_signal", ALWAYS}, {"pipe", ALWAYS}, {"pipe2", ALWAYS},
    {"pkey_alloc", ALWAYS}, {"pkey_free", ALWAYS}, {"pkey_mprotect", ALWAYS},
    {"poll", ALWAYS}, {"ppoll", ALWAYS}, {"ppoll_time64", ALWAYS}, {"prctl", ALWAYS},
    {"pread64", ALWAYS}, {"preadv", ALWAYS}, {"preadv2", ALWAYS}, {"prlimit64", ALWAYS},
    {"process_mrelease", ALWAYS}, {"pselect6", ALWAYS}, {"pselect6_time64", ALWAYS},
    {"pwrite64", ALWAYS}, {"pwritev", ALWAYS}, {"pwritev2", ALWAYS}, {"read", ALWAYS},
    {"readahead", ALWAYS}, {"readlink", ALWAYS}, {"readlinkat", ALWAYS}, {"readv", ALWAYS},
    {"recv", ALWAYS}, {"recvfrom", ALWAYS}, {"recvmmsg", ALWAYS},
    {"recvmmsg_time64", ALWAYS}, {"recvmsg", ALWAYS}, {"remap_file_pages", ALWAYS},
    {"removexattr", ALWAYS}, {"removexattrat", ALWAYS}, {"rename", ALWAYS},
    {"renameat", ALWAYS}, {"renameat2", ALWAYS}, {"restart_syscall", ALWAYS},
    {"riscv_hwprobe", ALWAYS}, {"rmdir", ALWAYS}, {"rseq", ALWAYS}, {"rt_sigaction", ALWAYS},
    {"rt_sigpending", ALWAYS}, {"rt_sigprocmask", ALWAYS}, {"rt_sigqueueinfo", ALWAYS},
    {"rt_sigreturn", ALWAYS}, {"rt_sigsuspend", ALWAYS}, {"rt_sigtimedwait", ALWAYS},
    {"rt_sigtimedwait_time64", ALWAYS}, {"rt_tgsigqueueinfo", ALWAYS},
    {"sched_getaffinity", ALWAYS}, {"sched_getattr", ALWAYS}, {"sched_getparam", ALWAYS},
    {"sched_get_priority_max", ALWAYS}, {"sched_get_priority_min", ALWAYS},
    {"sched_getscheduler", ALWAYS}, {"sched_rr_get_interval", ALWAYS},
    {"sched_rr_get_interval_time64", ALWAYS}, {"sched_setaffinity", ALWAYS},
    {"sched_setattr", ALWAYS}, {"sched_setparam", ALWAYS}, {"sched_setscheduler", ALWAYS},
    {"sched_yield", ALWAYS}, {"seccomp", ALWAYS}, {"select", ALWAYS}, {"semctl", ALWAYS},
    {"semget", ALWAYS}, {"semop", ALWAYS}, {"semtimedop", ALWAYS},
    {"semtimedop_time64", ALWAYS}, {"send", ALWAYS}, {"sendfile", ALWAYS},
    {"sendfile64", ALWAYS}, {"sendmmsg", ALWAYS}, {"sendmsg", ALWAYS}, {"sendto", ALWAYS},
    {"setfsgid", ALWAYS}, {"setfsgid32", ALWAYS}, {"setfsuid", ALWAYS},
    {"setfsuid32", ALWAYS}, {"setgid", ALWAYS}, {"setgid32", ALWAYS}, {"setgroups", ALWAYS},
    {"setgroups32", ALWAYS}, {"setitimer", ALWAYS}, {"setpgid", ALWAYS},
    {"setpriority", ALWAYS}, {"setregid", ALWAYS}, {"setregid32", ALWAYS},
    {"setresgid", ALWAYS}, {"setresgid32", ALWAYS}, {"setresuid", ALWAYS},
    {"setresuid32", ALWAYS}, {"setreuid", ALWAYS}, {"setreuid32", ALWAYS},
    {"setrlimit", ALWAYS}, {"set_robust_list", ALWAYS}, {"setsid", ALWAYS},
    {"setsockopt", ALWAYS}, {"set_thread_area", ALWAYS}, {"set_tid_address", ALWAYS},
    {"setuid", ALWAYS}, {"setuid32", ALWAYS}, {"setxattr", ALWAYS}, {"setxattrat", ALWAYS},
    {"shmat", ALWAYS}, {"shmctl", ALWAYS}, {"shmdt", ALWAYS}, {"shmget", ALWAYS},
    {"shutdown", ALWAYS}, {"sigaltstack", ALWAYS}, {"signalfd", ALWAYS},
    {"signalfd4", ALWAYS}, {"sigprocmask", ALWAYS}, {"sigreturn", ALWAYS},
    {"socketcall", ALWAYS}, {"socketpair", ALWAYS}, {"splice", ALWAYS}, {"stat", ALWAYS},
    {"stat64", ALWAYS}, {"statfs", ALWAYS}, {"statfs64", ALWAYS}, {"statmount", ALWAYS},
    {"statx", ALWAYS}, {"symlink", ALWAYS}, {"symlinkat", ALWAYS}, {"sync", ALWAYS},
    {"sync_file_range", ALWAYS}, {"syncfs", ALWAYS}, {"sysinfo", ALWAYS}, {"tee", ALWAYS},
    {"tgkill", ALWAYS}, {"time", ALWAYS}, {"timer_create", ALWAYS}, {"timer_delete", ALWAYS},
    {"timer_getoverrun", ALWAYS}, {"timer_gettime", ALWAYS}, {"timer_gettime64", ALWAYS},
    {"timer_settime", ALWAYS}, {"timer_settime64", ALWAYS}, {"timerfd_create", ALWAYS},
    {"timerfd_gettime", ALWAYS}, {"timerfd_gettime64", ALWAYS}, {"timerfd_settime", ALWAYS},
    {"timerfd_settime64", ALWAYS}, {"times", ALWAYS}, {"tkill", ALWAYS},
    {"truncate", ALWAYS}, {"truncate64", ALWAYS}, {"ugetrlimit", ALWAYS}, {"umask", ALWAYS},
    {"uname", ALWAYS}, {"unlink", ALWAYS}, {"unlinkat", ALWAYS}, {"uretprobe", ALWAYS},
    {"utime", ALWAYS}, {"utimensat", ALWAYS}, {"utimensat_time64", ALWAYS},
    {"utimes", ALWAYS}, {"vfork", ALWAYS}, {"vmsplice", ALWAYS}, {"wait4", ALWAYS},
    {"waitid", ALWAYS}, {"waitpid", ALWAYS}, {"write", ALWAYS}, {"writev", ALWAYS},
    /* ioctl: all requests here; the terminal-typing ones are refused by tty_filter() */
    {"ioctl", ALWAYS},
    /* each architecture's own; they resolve on theirs only */
    {"arch_prctl", ALWAYS}, {"modify_ldt", ALWAYS}, {"arm_fadvise64_64", ALWAYS},
    {"arm_sync_file_range", ALWAYS}, {"sync_file_range2", ALWAYS}, {"breakpoint", ALWAYS},
    {"cacheflush", ALWAYS}, {"set_tls", ALWAYS}, {"swapcontext", ALWAYS},
    {"s390_pci_mmio_read", ALWAYS}, {"s390_pci_mmio_write", ALWAYS},
    {"s390_runtime_instr", ALWAYS}, {"riscv_flush_icache", ALWAYS},
    {"process_vm_readv", KERNEL_4_8}, {"process_vm_writev", KERNEL_4_8},
    {"ptrace", KERNEL_4_8},
    /* what a capability allows anyway: refused without it, as Docker */
    {"open_by_handle_at", CAP_DAC_READ_SEARCH},
    {"bpf", CAP_SYS_ADMIN}, {"clone", CAP_SYS_ADMIN}, {"clone3", CAP_SYS_ADMIN},
    {"fanotify_init", CAP_SYS_ADMIN}, {"fsconfig", CAP_SYS_ADMIN}, {"fsmount", CAP_SYS_ADMIN},
    {"fsopen", CAP_SYS_ADMIN}, {"fspick", CAP_SYS_ADMIN}, {"lookup_dcookie", CAP_SYS_ADMIN},
    {"lsm_get_self_attr", CAP_SYS_ADMIN}, {"lsm_list_modules", CAP_SYS_ADMIN},
    {"lsm_set_self_attr", CAP_SYS_ADMIN}, {"mount", CAP_SYS_ADMIN},
    {"mount_setattr", CAP_SYS_ADMIN}, {"move_mount", CAP_SYS_ADMIN},
    {"open_tree", CAP_SYS_ADMIN}, {"perf_event_open", CAP_SYS_ADMIN},
    {"quotactl", CAP_SYS_ADMIN}, {"quotactl_fd", CAP_SYS_ADMIN},
    {"setdomainname", CAP_SYS_ADMIN}, {"sethostname", CAP_SYS_ADMIN},
    {"setns", CAP_SYS_ADMIN}, {"syslog", CAP_SYS_ADMIN}, {"umount", CAP_SYS_ADMIN},
    {"umount2", CAP_SYS_ADMIN}, {"unshare", CAP_SYS_ADMIN},
    {"reboot", CAP_SYS_BOOT}, {"chroot", CAP_SYS_CHROOT},
    {"delete_module", CAP_SYS_MODULE}, {"init_module", CAP_SYS_MODULE},
    {"finit_module", CAP_SYS_MODULE}, {"acct", CAP_SYS_PACCT},
    {"kcmp", CAP_SYS_PTRACE}, {"pidfd_getfd", CAP_SYS_PTRACE},
    {"process_madvise", CAP_SYS_PTRACE}, {"process_vm_readv", CAP_SYS_PTRACE},
    {"process_vm_writev", CAP_SYS_PTRACE}, {"ptrace", CAP_SYS_PTRACE},
    {"iopl", CAP_SYS_RAWIO}, {"ioperm", CAP_SYS_RAWIO},
    {"settimeofday", CAP_SYS_TIME}, {"stime", CAP_SYS_TIME},
    {"clock_settime", CAP_SYS_TIME}, {"clock_settime64", CAP_SYS_TIME},
    {"vhangup", CAP_SYS_TTY_CONFIG},
    {"get_mempolicy", CAP_SYS_NICE}, {"mbind", CAP_SYS_NICE},
    {"set_mempolicy", CAP_SYS_NICE}, {"set_mempolicy_home_node", CAP_SYS_NICE},
    {"syslog", CAP_SYSLOG}, {"bpf", CAP_BPF}, {"perf_event_open", CAP_PERFMON},
    /* not in this list, so refused: keyctl, add_key, request_key (the kernel keyring is
     * not namespaced), io_uring_*, kexec_*, userfaultfd, pivot_root, swapon, ... */
};

/* personality(2): Linux's own and the 32-bit one, with or without ADDR_NO_RANDOMIZE
 * (which gdb and setarch ask for), and the query. */
static const unsigned long personalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

/* The container's capabilities (caps.c keeps these; devices are confined by the cgroup's
 * list or device program, runtime/cgdev.c). */
static const int kept_caps[] = {SHIM_CAPS};

static bool caps_kept(int cap)
{
	for (size_t i = 0; i < sizeof(kept_caps) / sizeof(*kept_caps); i++)
		if (kept_caps[i] == cap)
			return true;
	return false;
}

static bool granted(int cap) { return cap == ALWAYS || caps_kept(cap); }

/* A refusal here stops the build: a filter with a rule missing must never be shipped. */
static void add(scmp_filter_ctx ctx, const char *name, uint32_t action, unsigned n,
		const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr < 0) /* unknown to libseccomp, or not a call of this architecture */
		return;
	int r = seccomp_rule_add_array(ctx, action, nr, n, cmp);
	if (r < 0 && r != -EEXIST) {
		fprintf(stderr, "seccomp_gen: rule for %s: %s\n", name, strerror(-r));
		exit(1);
	}
}

/* The calls whose arguments decide: namespaces through clone, address families. */
static void conditional(scmp_filter_ctx ctx)
{
	if (!caps_kept(CAP_SYS_ADMIN)) {
		/* no new namespaces (a user namespace above all); clone3 passes its flags in
		 * memory, which a filter cannot read: ENOSYS sends the C library back to clone */
		const uint64_t ns = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
				    CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
		struct scmp_arg_cmp flags = SCMP_A0(SCMP_CMP_MASKED_EQ, ns, 0);
		add(ctx, "clone", SCMP_ACT_ALLOW, 1, &flags);
		add(ctx, "clone3", SCMP_ACT_ERRNO(ENOSYS), 0, NULL);
	}
	/* every socket family but AF_ALG (the kernel's crypto) and AF_VSOCK (the host) */
	struct scmp_arg_cmp fam[] = {SCMP_A0(SCMP_CMP_LT, AF_ALG), SCMP_A0(SCMP_CMP_GT, AF_VSOCK)};
	for (size_t i = 0; i < sizeof(fam) / sizeof(*fam); i++)
		add(ctx, "socket", SCMP_ACT_ALLOW, 1, &fam[i]);
	for (int f = AF_ALG + 1; f < AF_VSOCK; f++) {
		struct scmp_arg_cmp eq = SCMP_A0(SCMP_CMP_EQ, f);
		add(ctx, "socket", SCMP_ACT_ALLOW, 1, &eq);
	}
	for (size_t i = 0; i < sizeof(personalities) / sizeof(*personalities); i++) {
		struct scmp_arg_cmp eq = SCMP_A0(SCMP_CMP_EQ, personalities[i]);
		add(ctx, "personality", SCMP_ACT_ALLOW, 1, &eq);
	}
}

/* This architecture only: the 32-bit ABIs (x86, x32) hit the same EPERM as an unlisted
 * call, which Docker allows; they are a wider surface for little use in a container. */
static scmp_filter_ctx allowlist(void)
{
	/* a binary tree of the call numbers: some ten comparisons per call rather than up to
	 * some 350 in a list (the build costs more, once, here) */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx || seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM)) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0) {
		fprintf(stderr, "seccomp_gen: cannot make the filter\n");
		exit(1);
	}
	for (size_t i = 0; i < sizeof(allowed) / sizeof(*allowed); i++)
		if (granted(allowed[i].cap))
			add(ctx, allowed[i].name, SCMP_ACT_ALLOW, 0, NULL);
	conditional(ctx);
	return ctx;
}

/* A second filter, as libseccomp cannot refuse some values of a call that another rule
 * allows outright. TIOCSTI pushes bytes into a terminal's input, which then runs them as
 * if typed there; TIOCLINUX can paste a virtual console's selection the same way. The
 * kernel reads the request as 32 bits, hence the mask: higher bits must not hide it. */
static scmp_filter_ctx tty_filter(void)
{
	static const unsigned long refused[] = {TIOCSTI, TIOCLINUX};
	/* a foreign architecture's call gets the allowlist's answer here too, not libseccomp's
	 * default (kill), which would win over it */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx || seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM)) < 0) {
		fprintf(stderr, "seccomp_gen: cannot make the terminal filter\n");
		exit(1);
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++) {
		struct scmp_arg_cmp req = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, refused[i]);
		add(ctx, "ioctl", SCMP_ACT_ERRNO(EPERM), 1, &req);
	}
	return ctx;
}

/* The program as libseccomp would load it, printed as a C array of struct sock_filter. */
static void emit(const char *name, scmp_filter_ctx ctx)
{
	struct sock_filter ins;
	int fd = memfd_create("bpf", 0), r = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
	if (r < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		fprintf(stderr, "seccomp_gen: export %s: %s\n", name, strerror(r < 0 ? -r : errno));
		exit(1);
	}
	printf("static const struct sock_filter %s[] = {\n", name);
	while (read(fd, &ins, sizeof(ins)) == sizeof(ins))
		printf("\t{0x%04x, %u, %u, 0x%08x},\n", ins.code, ins.jt, ins.jf, ins.k);
	printf("};\n");
	close(fd);
	seccomp_release(ctx);
}

int main(void)
{
	printf("/* Generated by runtime/shim/gen/seccomp_gen (make): do not edit. */\n");
	emit("seccomp_allow", allowlist());
	emit("seccomp_tty", tty_filter());
	return fflush(stdout) == 0 ? 0 : 1;
}
