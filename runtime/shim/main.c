/* vmfs-shim RUNDIR READYFD [OWNER] (shim.h): detaches from whatever started it, prepares the
 * container, starts init, runs the console loop (loop.c) until init ends, then records
 * how it ended and removes what the container held. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/shim/shim_int.h"
#include "runtime/util.h"

int shim_msg(char *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, ERRLEN, fmt, ap);
	va_end(ap);
	return -1;
}

int shim_fail(char *err, const char *hint, const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err, ERRLEN, fmt, ap);
	va_end(ap);
	if (n >= 0 && n < ERRLEN)
		snprintf(err + n, ERRLEN - n, ": %s%s%s", strerror(e), hint ? " " : "",
			 hint ? hint : "");
	errno = e;
	return -1;
}

/* Field 22 of /proc/PID/stat: with the pid, it names one process even after pid reuse. */
static unsigned long long starttime(pid_t pid)
{
	char path[32], *buf = NULL, *p;
	unsigned long long t = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(AT_FDCWD, path, 4096, &buf, NULL) < 0)
		return 0;
	p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	if (p && sscanf(p + 2,
			"%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
			"%*s %*s %*s %llu",
			&t) != 1)
		t = 0;
	free(buf);
	return t;
}

static int write_pid(const char *name, pid_t pid)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%d %llu\n", (int)pid, starttime(pid));
	return write_atomic(AT_FDCWD, name, line, n, 0);
}

/* The one line vmfs waits for; then the pipe is closed, so vmfs sees EOF too. */
static void report(struct shim *sh, const char *fmt, ...)
{
	char line[ERRLEN + 16];
	va_list ap;
	if (sh->readyfd < 0)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* a failed write needs no handling: vmfs may be gone, and exit says the same */
	if (n > 0 && write(sh->readyfd, line, strnlen(line, sizeof(line))) < 0)
		n = 0;
	close(sh->readyfd);
	sh->readyfd = -1;
}

/* init exec'd (errpipe closed empty) or its setup failed (sh->err): only the success is
 * reported now; a failure is reported by finish(), once the mounts are gone, so vmfs
 * never removes a run directory with the root still mounted in it. */
void shim_started(struct shim *sh)
{
	if (sh->err[0])
		return;
	int r = write_pid("pid", sh->init);
	if (r < 0) {
		errno = -r;
		shim_fail(sh->err, NULL, "write %s/pid", sh->rundir);
		kill(sh->init, SIGKILL);
		return;
	}
	report(sh, "ok %d\n", (int)sh->init);
}

/* vmfs has double-forked us already; here the shim cuts what is left: a terminal hangup,
 * the descriptors it may have inherited (READYFD excepted), stdio. */
static int detach(int readyfd)
{
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN); /* a client or vmfs that goes away is an error, not death */
	setsid();
	if (readyfd < 3) /* stdio is about to become /dev/null */
		readyfd = fcntl(readyfd, F_DUPFD_CLOEXEC, 3);
	if (readyfd < 0)
		return -1;
	if (readyfd > 3)
		close_range(3, readyfd - 1, 0);
	close_range(readyfd + 1, ~0U, 0);
	fcntl(readyfd, F_SETFD, FD_CLOEXEC); /* init must not hold it: vmfs waits for EOF */
	int null = open("/dev/null", O_RDWR);
	for (int fd = 0; null >= 0 && fd < 3; fd++)
		if (fd != null)
			dup2(null, fd);
	if (null > 2)
		close(null);
	return readyfd;
}

/* Everything that exists before init: cgroup, root, named pipes, console. */
static int prepare(struct shim *sh)
{
	struct spec *s = &sh->spec;
	char *err = sh->err;
	if (spec_load(s, err))
		return -1;
	if (cg_create(s->ns, s->name, &s->lim, err, ERRLEN) < 0)
		return -1;
	sh->cg_made = true;
	if (fs_mount_root(sh, err) || fs_make_fifos(sh, err) || console_open(sh, err) ||
	    console_listen(sh, err))
		return -1;
	/* the container's root owns its console, or it could not reopen /dev/console */
	if (s->userns && fchown(sh->slave, s->ur.uid, s->ur.gid) < 0)
		return shim_fail(err, NULL, "chown %s to the container's root", sh->slave_path);
	return 0;
}

/* userns: config/preinit run by the shim, in init's namespaces (setup_preinit) */
static int userns_preinit(struct shim *sh, pid_t pid)
{
	if (!sh->spec.preinit)
		return 0;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return shim_fail(sh->err, NULL, "pidfd_open of init");
	int r = setup_preinit(sh, fd, sh->err);
	close(fd);
	return r;
}

static int start(struct shim *sh)
{
	if (prepare(sh))
		return -1;
	pid_t pid = setup_spawn(sh, sh->err);
	if (pid < 0)
		return -1;
	sh->init = pid;
	const struct spec *s = &sh->spec;
	/* a user namespace vmfs made has its maps already */
	if ((s->userns && !s->usernsfile && userns_map(pid, &s->ur, sh->err, ERRLEN) < 0) ||
	    cg_attach(s->ns, s->name, pid, sh->err, ERRLEN) < 0 ||
	    (s->userns && userns_preinit(sh, pid) < 0)) {
		close(sh->syncpipe[1]); /* the child reads EOF and exits */
		sh->syncpipe[1] = -1;
		return 0; /* the loop reaps it; sh->err says why */
	}
	if (write(sh->syncpipe[1], "g", 1) != 1)
		shim_fail(sh->err, NULL, "start the container's init");
	close(sh->syncpipe[1]);
	sh->syncpipe[1] = -1;
	return 0;
}

static void exit_line(struct shim *sh, char *out, size_t len)
{
	int st = sh->init_status, sig;
	struct cg_stats cs;
	if (sh->err[0]) {
		snprintf(out, len, "error: %s\n", sh->err);
	} else if (WIFEXITED(st)) {
		snprintf(out, len, "exited %d\n", WEXITSTATUS(st));
	} else if ((sig = WTERMSIG(st)) == SIGKILL && sh->cg_made &&
		   cg_stats(sh->spec.ns, sh->spec.name, &cs) == 0 && cs.oom_kills) {
		snprintf(out, len, "oom\n");
	} else {
		const char *name = sigabbrev_np(sig);
		if (name)
			snprintf(out, len, "killed %s\n", name);
		else
			snprintf(out, len, "killed %d\n", sig);
	}
}

/* Init has ended (or never started): the rest of the container goes, then the record. The
 * exit file comes last, so whoever sees it finds the root unmounted and the cgroup gone. */
static void finish(struct shim *sh)
{
	char line[ERRLEN + 16];
	const struct spec *s = &sh->spec;
	if (sh->master >= 0)
		while (console_pump(sh))
			; /* the last words of init and its children */
	exit_line(sh, line, sizeof(line));
	if (sh->cg_made)
		cg_kill(s->ns, s->name);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (sh->root_mounted)
		umount2("root", MNT_DETACH);
	if (s->netns)
		umount2(s->netns, MNT_DETACH); /* the namespace ends with its last process */
	if (s->usernsfile)
		umount2(s->usernsfile, MNT_DETACH);
	if (sh->cg_made)
		cg_destroy(s->ns, s->name);
	unlink("console.sock");
	unlink("pid");
	write_atomic(AT_FDCWD, "exit", line, strlen(line), 1);
	if (sh->err[0])
		report(sh, "error: %s\n", sh->err);
	unlink("shim.pid");
}

static void usage(void)
{
	fprintf(stderr,
		"usage: vmfs-shim RUNDIR READYFD [OWNER] (started by vmfs; see runtime/shim/shim.h)\n");
}

int main(int argc, char **argv)
{
	static struct shim sh = {.readyfd = -1,
				 .master = -1,
				 .slave = -1,
				 .logfd = -1,
				 .listenfd = -1,
				 .sigfd = -1,
				 .errpipe = {-1, -1},
				 .syncpipe = {-1, -1},
				 .netnsfd = -1,
				 .rootfd = -1,
				 .fifofd = -1};
	static char cwd[PATH_MAX];
	char *end;
	/* OWNER, the optional last word, is read by no one but a restarted vmfs, in /proc */
	long fd = argc == 3 || argc == 4 ? strtol(argv[2], &end, 10) : -1;
	if (fd < 0 || end == argv[2] || *end || fd > 1 << 20 ||
	    fcntl((int)fd, F_GETFD) < 0) {
		usage();
		return 2;
	}
	sh.readyfd = detach((int)fd);
	if (chdir(argv[1]) < 0 || !getcwd(cwd, sizeof(cwd))) {
		shim_fail(sh.err, NULL, "run directory %s", argv[1]);
		report(&sh, "error: %s\n", sh.err);
		return 1;
	}
	sh.rundir = cwd;
	snprintf(sh.root, sizeof(sh.root), "%s/root", cwd);
	unlink("exit"); /* the last run's */
	write_pid("shim.pid", getpid());
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sh.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sh.sigfd < 0)
		shim_fail(sh.err, NULL, "signalfd");
	else if (start(&sh) == 0)
		shim_loop(&sh);
	finish(&sh);
	return sh.err[0] ? 1 : 0;
}
