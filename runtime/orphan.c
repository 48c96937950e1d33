#include "runtime/orphan.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void child_stdio(int in, int out, int err)
{
	int null = open("/dev/null", O_RDWR);
	int fds[3] = {in, out, err};
	for (int i = 0; i < 3; i++)
		dup2(fds[i] >= 0 ? fds[i] : null, i);
	close_range(3, ~0U, 0); /* nothing of vmfs's, above all not /dev/fuse */
}

int orphan_spawn(char *const argv[], int in, int out, int err, struct orphan *o)
{
	int p[2];
	o->pid = -1;
	o->pidfd = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t mid = fork();
	if (mid == 0) {
		pid_t pid = fork();
		if (pid == 0) {
			child_stdio(in, out, err);
			execvp(argv[0], argv);
			_exit(127);
		}
		_exit(write(p[1], &pid, sizeof(pid)) == sizeof(pid) ? 0 : 1);
	}
	close(p[1]);
	int e = mid < 0 ? -errno : 0;
	if (mid > 0)
		while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
			;
	if (!e && (read(p[0], &o->pid, sizeof(o->pid)) != sizeof(o->pid) || o->pid <= 0))
		e = -ECHILD;
	close(p[0]);
	if (e)
		return e;
	/* at once: until it ends and is reaped by init, its pid is its own */
	o->pidfd = (int)syscall(SYS_pidfd_open, o->pid, 0);
	return 0;
}

void orphan_kill(struct orphan *o)
{
	if (o->pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, o->pidfd, SIGKILL, NULL, 0);
		close(o->pidfd);
	}
	o->pidfd = -1;
	o->pid = -1;
}
