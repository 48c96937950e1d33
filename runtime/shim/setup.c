/* The child of clone(): PID 1 of new PID, mount, UTS, IPC and network namespaces. It
 * waits until the shim has put it in the cgroup, enters a cgroup namespace rooted there,
 * builds the container's view (fs.c, kfs.c), runs preinit, pivots into the root, drops
 * capabilities, loads the system-call filter (seccomp.c) and execs init. Any failure goes
 * to the shim as text on the error pipe, which a successful exec closes. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/shim/shim_int.h"

#define CLONE_FLAGS (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET)

/* The network namespace starts with lo down; many programs expect localhost to work. */
int setup_lo_up(char *err)
{
	struct ifreq ifr = {.ifr_name = "lo"};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return shim_fail(err, NULL, "socket for lo");
	int r = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (r == 0)
		r = ioctl(fd, SIOCSIFFLAGS, &ifr);
	close(fd);
	return r < 0 ? shim_fail(err, NULL, "bring lo up") : 0;
}

/* The forked preinit, in the shim (nsfd: a pidfd of init, whose UTS, IPC and network
 * namespaces it joins, its host name set, the console its stdio) or in init (nsfd -1). */
static void preinit_exec(struct shim *sh, int nsfd)
{
	const char *pre = sh->spec.preinit;
	const char *h = sh->spec.hostname;
	char err[ERRLEN] = "";
	/* as init would have them: its host name, lo up (before init sets them itself) */
	if (nsfd >= 0 && (dup2(sh->slave, 0) < 0 || dup2(sh->slave, 1) < 0 ||
			  dup2(sh->slave, 2) < 0 ||
			  setns(nsfd, CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET) < 0 ||
			  sethostname(h, strlen(h)) < 0 || setup_lo_up(err))) {
		if (!*err)
			shim_fail(err, NULL, "enter the container");
		fprintf(stderr, "vmfs-shim: preinit %s: %s\n", pre, err);
		_exit(126);
	}
	/* in the container's groups, so that its limits hold it and a kill ends it with the
	 * rest (the shim's own group is none of the container's) */
	if (nsfd >= 0 && cg_attach(sh->spec.ns, sh->spec.name, getpid(), err, sizeof(err)) < 0) {
		fprintf(stderr, "vmfs-shim: preinit %s: %s\n", pre, err);
		_exit(126);
	}
	if (nsfd >= 0) { /* the shim's blocked and ignored signals are not preinit's */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
	}
	setenv("CONTAINER_ROOT", sh->root, 1);
	execl(pre, pre, (char *)NULL);
	fprintf(stderr, "vmfs-shim: exec preinit %s: %s\n", pre, strerror(errno));
	_exit(127);
}

/* preinit runs from the host's file system with every privilege, in the container's
 * namespaces, on the console; its exit status decides whether the start goes on. With a
 * user namespace the shim runs it (nsfd, see preinit_exec) before init goes on: as host
 * root, so that it keeps its privileges over vmfs's network namespace (a route), which
 * the container's root has not; in the host's mount namespace, where the root is mounted
 * but not yet /proc, /sys, /dev or the volumes. */
int setup_preinit(struct shim *sh, int nsfd, char *err)
{
	const char *pre = sh->spec.preinit;
	if (!pre)
		return 0;
	if (access(pre, X_OK) < 0)
		return shim_fail(err, "(is config/preinit right?)", "preinit %s", pre);
	pid_t pid = fork();
	if (pid < 0)
		return shim_fail(err, NULL, "fork for preinit");
	if (pid == 0)
		preinit_exec(sh, nsfd);
	/* the console is drained meanwhile: a preinit that writes more than the terminal holds
	 * would otherwise wait on the shim that waits on it */
	int pfd = nsfd >= 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	for (struct pollfd p[2] = {{pfd, POLLIN, 0}, {sh->master, POLLIN, 0}}; pfd >= 0;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN)
			console_pump(sh);
		else if (p[1].revents)
			p[1].fd = -1; /* no console to drain */
		if (p[0].revents & POLLIN)
			break;
	}
	if (pfd >= 0)
		close(pfd);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return shim_fail(err, NULL, "wait for preinit");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		return shim_msg(err, "preinit %s exited %d (its output is in console.log)", pre,
				WEXITSTATUS(st));
	return shim_msg(err, "preinit %s was killed by SIG%s", pre, sigabbrev_np(WTERMSIG(st)));
}

/* pivot_root(".", ".") stacks the old root under the new one; detaching it leaves no
 * path back to the host's tree (the state directory included). */
static int pivot(struct shim *sh, char *err)
{
	if (sh->rootfd >= 0 ? fchdir(sh->rootfd) < 0 : chdir(sh->root) < 0)
		return shim_fail(err, NULL, "chdir %s", sh->root);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return shim_fail(err, NULL, "pivot_root to %s", sh->root);
	if (umount2(".", MNT_DETACH) < 0)
		return shim_fail(err, NULL, "detach the old root");
	if (chdir("/") < 0)
		return shim_fail(err, NULL, "chdir /");
	return 0;
}

/* userns: what lies in RUNDIR is opened while the child is still host root (kuid 0, its
 * uid and gid unmapped), then it becomes the namespace's root: what it creates from here
 * on (mount points, /dev) is owned by the mapped range. */
static int userns_early(struct shim *sh, char *err)
{
	/* the root came from the host's mount namespace, locked, which pivot_root refuses:
	 * a bind of it made in this namespace is not */
	if (mount("root", "root", NULL, MS_BIND | MS_REC, NULL) < 0)
		return shim_fail(err, NULL, "bind %s on itself", sh->root);
	sh->rootfd = open("root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sh->rootfd < 0)
		return shim_fail(err, NULL, "%s", sh->root);
	if (sh->spec.fifos && (sh->fifofd = open("fifo", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return shim_fail(err, NULL, "%s/fifo", sh->rundir);
	return setup_become_root(err);
}

static int setup(struct shim *sh, char *err)
{
	umask(0); /* device nodes and mount points get exactly the modes asked for */
	/* nothing mounted from here on may propagate back to the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return shim_fail(err, NULL, "make the mounts private");
	if (sh->spec.userns && userns_early(sh, err))
		return -1;
	/* now that the shim has put us in our groups: the namespace is rooted there, so the
	 * container sees "/" for its own group and cannot name any other */
	if (unshare(CLONE_NEWCGROUP) < 0)
		return shim_fail(err, NULL, "enter a cgroup namespace");
	if (console_attach(sh, err))
		return -1;
	if (fs_setup(sh, err))
		return -1;
	const char *h = sh->spec.hostname;
	if (sethostname(h, strlen(h)) < 0)
		return shim_fail(err, NULL, "sethostname %s", h);
	if (setup_lo_up(err) || (!sh->spec.userns && setup_preinit(sh, -1, err)) || pivot(sh, err))
		return -1;
	umask(022);
	return caps_drop(err) || seccomp_confine(err) ? -1 : 0;
}

static char *init_env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			   "HOME=/", "TERM=linux", "container=vmfs", NULL};

/* Returns only on failure, with the reason and a hint at the likely mistake in err. */
static void exec_init(struct shim *sh, char *err)
{
	extern char **environ;
	char **argv = sh->spec.init;
	environ = init_env; /* execvp looks init up in this PATH, not the shim's */
	execvp(argv[0], argv);
	int e = errno;
	const char *hint = NULL;
	if (e == ENOENT && strchr(argv[0], '/') && access(argv[0], F_OK) == 0)
		hint =
		    "(it exists: is its #! interpreter or dynamic loader missing in the rootfs?)";
	else if (e == ENOENT)
		hint = "(is config/init right?)";
	else if (e == EACCES)
		hint = "(not executable, or a directory?)";
	else if (e == ENOEXEC)
		hint = "(not a program for this machine, and no #! line?)";
	errno = e;
	shim_fail(err, hint, "exec %s", argv[0]);
}

static void child_main(struct shim *sh)
{
	char err[ERRLEN] = "", c;
	sigset_t none;
	close(sh->errpipe[0]);
	close(sh->syncpipe[1]);
	/* the shim's (and through it vmfs's) ignored and blocked signals would otherwise pass
	 * on to init: a vmfs started from a script ignores SIGINT, and so would every command
	 * typed into the console, which Ctrl-C could then never interrupt */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL); /* EINVAL for the C library's own: nothing to do */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* go on once the shim has put us in the cgroup; EOF means it gave up */
	ssize_t n;
	while ((n = read(sh->syncpipe[0], &c, 1)) < 0 && errno == EINTR)
		;
	if (n != 1)
		_exit(1);
	close(sh->syncpipe[0]);
	if (sh->netnsfd >= 0 && setns(sh->netnsfd, CLONE_NEWNET) < 0)
		shim_fail(err, NULL, "join the network namespace");
	else if (setup(sh, err) == 0)
		exec_init(sh, err);
	if (write(sh->errpipe[1], err, strlen(err)) < 0)
		_exit(2);
	_exit(1);
}

/* Returns init's host pid. The raw clone without a new stack forks into the namespaces:
 * the child runs on a copy of this stack, like fork(). */
pid_t setup_spawn(struct shim *sh, char *err)
{
	if (pipe2(sh->errpipe, O_CLOEXEC) < 0 || pipe2(sh->syncpipe, O_CLOEXEC) < 0)
		return shim_fail(err, NULL, "pipe");
	unsigned long flags = CLONE_FLAGS;
	pid_t pid;
	if (sh->spec.userns && sh->spec.usernsfile) {
		/* vmfs made the user namespace and the network namespace inside it, with the
		 * NICs: init is made in both (userns.c) */
		pid = shim_clone_joined(sh, (CLONE_FLAGS & ~CLONE_NEWNET) | SIGCHLD, err);
		if (pid == 0)
			child_main(sh);
		if (pid < 0)
			return -1;
	} else {
		if (sh->spec.userns) {
			/* and a new network namespace inside it: no NICs (spec_load saw to it) */
			flags |= CLONE_NEWUSER;
		}
		if (sh->spec.netns) {
			/* vmfs made the namespace and its NICs: the child joins it before anything
			 * else */
			sh->netnsfd = open(sh->spec.netns, O_RDONLY | O_CLOEXEC);
			if (sh->netnsfd < 0)
				return shim_fail(err, NULL, "open the network namespace %s",
						 sh->spec.netns);
			flags &= ~CLONE_NEWNET;
		}
		pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
		if (pid == 0)
			child_main(sh);
		if (pid < 0)
			return shim_fail(err, NULL, "clone the container's namespaces");
	}
	close(sh->errpipe[1]);
	close(sh->syncpipe[0]);
	sh->errpipe[1] = sh->syncpipe[0] = -1;
	if (sh->netnsfd >= 0)
		close(sh->netnsfd);
	sh->netnsfd = -1;
	return pid;
}
