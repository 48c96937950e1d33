/* The shim's side of a user namespace (docs/security.md). A container with NICs gets its
 * user namespace and, owned by it, its network namespace from vmfs (run/userns, run/netns:
 * vmfs configures the NICs in there before the shim starts); its init must be made inside
 * that user namespace, so that its PID, mount, UTS and IPC namespaces are owned by it too.
 * But the shim must stay host root, to put init in its cgroups, run preinit and unmount the
 * root at the end: a short-lived process joins both namespaces and clones init as the
 * shim's own child (CLONE_PARENT), tells the shim its pid, and exits. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/shim/shim_int.h"

struct joined {
	pid_t pid; /* init's, in the shim's PID namespace; 0: err says why */
	char err[ERRLEN];
};

/* In the short-lived process: never returns, except as init (0). */
static pid_t join_and_clone(struct shim *sh, int user, int net, int report, unsigned long flags)
{
	struct joined j = {0};
	if (setns(user, CLONE_NEWUSER) < 0)
		shim_fail(j.err, NULL, "join the user namespace %s", sh->spec.usernsfile);
	else if (setns(net, CLONE_NEWNET) < 0)
		shim_fail(j.err, NULL, "join the network namespace %s", sh->spec.netns);
	else if ((j.pid = (pid_t)syscall(SYS_clone, flags | CLONE_PARENT, NULL, NULL, NULL, 0)) ==
		 0) {
		close(report);
		return 0;
	} else if (j.pid < 0) {
		j.pid = 0;
		shim_fail(j.err, NULL, "clone the container's namespaces");
	}
	/* one write under PIPE_BUF: the shim reads it whole */
	_exit(write(report, &j, sizeof(j)) == (ssize_t)sizeof(j) ? 0 : 1);
}

pid_t shim_clone_joined(struct shim *sh, unsigned long flags, char *err)
{
	int user = open(sh->spec.usernsfile, O_RDONLY | O_CLOEXEC);
	int net = user < 0 ? -1 : open(sh->spec.netns, O_RDONLY | O_CLOEXEC);
	int p[2] = {-1, -1};
	pid_t pid = -1, mid = -1;
	if (user < 0 || net < 0)
		shim_fail(err, NULL, "open %s", user < 0 ? sh->spec.usernsfile : sh->spec.netns);
	else if (pipe2(p, O_CLOEXEC) < 0)
		shim_fail(err, NULL, "pipe");
	else if ((mid = fork()) < 0)
		shim_fail(err, NULL, "fork to join the container's namespaces");
	else if (mid == 0 && join_and_clone(sh, user, net, p[1], flags) == 0) {
		close(p[0]); /* init: nothing of the shim's stays open */
		close(user);
		close(net);
		return 0;
	}
	if (mid > 0) {
		struct joined j = {0};
		close(p[1]);
		p[1] = -1;
		ssize_t n;
		while ((n = read(p[0], &j, sizeof(j))) < 0 && errno == EINTR)
			;
		while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
			;
		if (n == (ssize_t)sizeof(j) && j.pid > 0)
			pid = j.pid;
		else if (n == (ssize_t)sizeof(j))
			shim_msg(err, "%s", j.err);
		else
			shim_msg(err, "the process joining the container's namespaces ended early");
	}
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
	if (user >= 0)
		close(user);
	if (net >= 0)
		close(net);
	return pid;
}

/* The child was cloned as host root (kuid 0, unmapped in its namespace: it shows as
 * nobody); once it has opened what it needs from RUNDIR it takes uid and gid 0 of its
 * namespace, the mapped range's first ids, and no other group. Its capabilities in the
 * namespace stay. */
int setup_become_root(char *err)
{
	if (setresgid(0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresuid(0, 0, 0) < 0)
		return shim_fail(err, NULL, "become root of the user namespace");
	return 0;
}
