#include "runtime/orphan.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define KILLED_MAX 8

static pid_t killed[KILLED_MAX]; /* killed, not yet reaped */
int (*orphan_before_exec)(void);

static void child_exec(char *const argv[], int in, int out, int err, pid_t parent)
{
	/* vmfs's death ends it; checked after, as vmfs may have died before the prctl */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	int null = open("/dev/null", O_RDWR);
	int fds[3] = {in, out, err};
	for (int i = 0; i < 3; i++)
		dup2(fds[i] >= 0 ? fds[i] : null, i);
	close_range(3, ~0U, 0); /* nothing of vmfs's, above all not /dev/fuse */
	if (orphan_before_exec && orphan_before_exec())
		_exit(127);
	execvp(argv[0], argv);
	_exit(127);
}

int orphan_spawn(char *const argv[], int in, int out, int err, struct orphan *o)
{
	pid_t parent = getpid();
	o->pidfd = -1;
	o->pid = fork();
	if (o->pid < 0)
		return -errno;
	if (o->pid == 0)
		child_exec(argv, in, out, err, parent);
	o->pidfd = (int)syscall(SYS_pidfd_open, o->pid, 0);
	return 0;
}

void orphan_kill(struct orphan *o)
{
	if (o->pid <= 0)
		return;
	if (o->pidfd < 0 || syscall(SYS_pidfd_send_signal, o->pidfd, SIGKILL, NULL, 0) < 0)
		kill(o->pid, SIGKILL); /* not reaped yet: the pid is still its own */
	if (o->pidfd >= 0)
		close(o->pidfd);
	orphan_reap();
	int i = 0;
	while (i < KILLED_MAX && killed[i])
		i++;
	if (i < KILLED_MAX)
		killed[i] = o->pid;
	else
		waitpid(o->pid, NULL, 0); /* a full list: wait rather than leave a zombie */
	o->pid = -1;
	o->pidfd = -1;
	orphan_reap();
}

void orphan_reap(void)
{
	for (int i = 0; i < KILLED_MAX; i++)
		if (killed[i] && waitpid(killed[i], NULL, WNOHANG) != 0)
			killed[i] = 0; /* reaped, or not ours any more (ECHILD) */
}
