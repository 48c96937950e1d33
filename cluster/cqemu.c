#include "cluster/cqemu.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl/params.h"

#define OUT_MAX (64u << 10)

extern char **environ;

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Runs qemu with arguments a and b (NULL: none); its standard output in out. */
static int ask(const char *qemu, const char *a, const char *b, char *out, size_t outlen,
	       char *why, size_t whylen)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&at);
	/* vmfs blocks signals for its signalfd: the child must not inherit that */
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	char *argv[] = {(char *)qemu, (char *)a, (char *)b, NULL};
	pid_t pid;
	int r = -posix_spawnp(&pid, qemu, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[1]);
	if (r) {
		close(p[0]);
		snprintf(why, whylen, "cannot run %s: %s", qemu, strerror(-r));
		return r;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	size_t len = 0;
	long left;
	while ((left = CQEMU_TIMEOUT_MS - ms_since(&t0)) > 0) {
		struct pollfd pf = {p[0], POLLIN, 0};
		if (poll(&pf, 1, (int)left) <= 0)
			continue; /* (the time is checked again) */
		ssize_t n = read(p[0], out + len, outlen - 1 - len);
		if (n <= 0 || (len += n) == outlen - 1)
			break;
	}
	out[len] = 0;
	close(p[0]);
	if (left <= 0) {
		kill(pid, SIGKILL);
		r = -ETIMEDOUT;
		snprintf(why, whylen, "%s %s did not answer within %d ms", qemu, a, CQEMU_TIMEOUT_MS);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!r && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
		r = -EIO;
		snprintf(why, whylen, "%s %s failed", qemu, a);
	}
	return r;
}

void cqemu_version(const char *text, char *out, size_t outlen)
{
	const char *v = strstr(text, "version ");
	size_t n = v ? strspn(v + 8, "0123456789.") : 0;
	if (n >= outlen)
		n = 0;
	memcpy(out, v ? v + 8 : "", n);
	out[n] = 0;
}

void cqemu_machines(const char *text, char *out, size_t outlen)
{
	size_t len = 0;
	out[0] = 0;
	const char *line = strstr(text, "Supported machines are:");
	if (!line)
		return;
	while ((line = strchr(line, '\n')) && *++line) {
		size_t n = strspn(line, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
		if (!n || (line[n] != ' ' && line[n] != '\n' && line[n]))
			continue;
		if (len + (len > 0) + n >= outlen)
			break; /* as far as they fit */
		if (len)
			out[len++] = ' ';
		memcpy(out + len, line, n);
		out[len += n] = 0;
	}
}

int cqemu_probe(char *version, size_t vlen, char *machines, size_t mlen, char *why,
		size_t whylen)
{
	version[0] = machines[0] = 0;
	const char *qemu = params[param_index("qemu")].def;
	char *out = malloc(OUT_MAX);
	if (!out)
		return -ENOMEM;
	int r = ask(qemu, "--version", NULL, out, OUT_MAX, why, whylen);
	if (!r)
		cqemu_version(out, version, vlen);
	if (!r && !(r = ask(qemu, "-machine", "help", out, OUT_MAX, why, whylen)))
		cqemu_machines(out, machines, mlen);
	free(out);
	return r;
}
