/* The shim's one loop: the pty's output into console.log (always, whether or not anyone
 * is connected, so init never blocks on a full pty), console.sock's clients into the pty,
 * the error pipe while init starts, and signals (SIGCHLD: init ended; SIGTERM: pass on
 * to init). Input waits in one small buffer while the pty is full; meanwhile no client is
 * read, which holds the writers back instead of growing memory. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/shim/shim_int.h"

#define MAX_CLIENTS 1000

static struct {
	int *fd;
	int n, cap;
} cl;

static struct {
	char buf[1024];
	size_t len, off;
} in;

static void accept_clients(struct shim *sh)
{
	int fd;
	while (cl.n < MAX_CLIENTS &&
	       (fd = accept4(sh->listenfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (cl.n == cl.cap) {
			int cap = cl.cap ? 2 * cl.cap : 8;
			int *p = realloc(cl.fd, cap * sizeof(*p));
			if (!p) {
				close(fd);
				return;
			}
			cl.fd = p;
			cl.cap = cap;
		}
		cl.fd[cl.n++] = fd;
	}
}

static void drop_client(int i)
{
	close(cl.fd[i]);
	cl.fd[i] = cl.fd[--cl.n];
}

/* Reads one client into the input buffer (empty when called); EOF or an error drops it. */
static void read_client(int i)
{
	ssize_t n = read(cl.fd[i], in.buf, sizeof(in.buf));
	if (n > 0) {
		in.len = n;
		in.off = 0;
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		drop_client(i);
	}
}

static void flush_input(struct shim *sh)
{
	while (in.off < in.len) {
		ssize_t n = write(sh->master, in.buf + in.off, in.len - in.off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return; /* the pty is full: POLLOUT tells us when to go on */
		if (n <= 0)
			break; /* the input is lost, the console goes on */
		in.off += n;
	}
	in.len = in.off = 0;
}

/* One read of the error pipe (poll said it is readable, or the child is dead and it
 * cannot block): text is a setup failure; EOF means init was exec'd, or the child died. */
static void read_errpipe(struct shim *sh)
{
	char buf[256];
	ssize_t n = read(sh->errpipe[0], buf, sizeof(buf));
	if (n < 0 && errno == EINTR)
		return;
	if (n > 0) {
		size_t have = strlen(sh->err);
		snprintf(sh->err + have, ERRLEN - have, "%.*s", (int)n, buf);
		return;
	}
	close(sh->errpipe[0]);
	sh->errpipe[0] = -1;
	shim_started(sh);
}

static void reap(struct shim *sh)
{
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid != sh->init)
			continue;
		while (sh->errpipe[0] >= 0) /* how the start went, before how it ended */
			read_errpipe(sh);
		sh->init_status = st;
		sh->init = 0;
	}
}

static void read_signals(struct shim *sh)
{
	struct signalfd_siginfo si;
	while (read(sh->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap(sh);
		else if (sh->init > 0) /* SIGTERM, SIGINT: init decides what they mean */
			kill(sh->init, si.ssi_signo);
	}
}

enum { P_SIG, P_PTY, P_ERR, P_LISTEN, P_CLIENTS };

/* The poll set for this round: clients are left out while input waits for the pty. */
static struct pollfd *poll_set(struct shim *sh, int *n)
{
	static struct pollfd *p;
	static int cap;
	if (cap < P_CLIENTS + cl.n) {
		struct pollfd *np = realloc(p, (P_CLIENTS + cl.cap) * sizeof(*np));
		if (!np)
			return NULL;
		p = np;
		cap = P_CLIENTS + cl.cap;
	}
	bool waiting = in.len > 0;
	p[P_SIG] = (struct pollfd){sh->sigfd, POLLIN, 0};
	p[P_PTY] = (struct pollfd){sh->master, POLLIN | (waiting ? POLLOUT : 0), 0};
	p[P_ERR] = (struct pollfd){sh->errpipe[0], POLLIN, 0};
	p[P_LISTEN] = (struct pollfd){cl.n < MAX_CLIENTS ? sh->listenfd : -1, POLLIN, 0};
	*n = P_CLIENTS;
	for (int i = 0; !waiting && i < cl.n; i++)
		p[(*n)++] = (struct pollfd){cl.fd[i], POLLIN, 0};
	return p;
}

void shim_loop(struct shim *sh)
{
	while (sh->init > 0) {
		int n;
		struct pollfd *p = poll_set(sh, &n);
		if (!p || poll(p, n, -1) < 0) {
			if (!p || errno != EINTR)
				sleep(1); /* out of memory: let the pty fill rather than spin */
			continue;
		}
		if (p[P_ERR].revents)
			read_errpipe(sh);
		if (p[P_PTY].revents & POLLIN)
			console_pump(sh);
		if (p[P_PTY].revents & POLLOUT)
			flush_input(sh);
		/* clients from the back, so dropping one (the last moves into its place) keeps
		 * the indexes of those still to visit */
		for (int i = n - 1; i >= P_CLIENTS; i--)
			if (p[i].revents && !in.len)
				read_client(i - P_CLIENTS);
		if (in.len)
			flush_input(sh);
		if (p[P_LISTEN].revents)
			accept_clients(sh);
		if (p[P_SIG].revents)
			read_signals(sh);
	}
	for (int i = cl.n - 1; i >= 0; i--)
		drop_client(i);
}
