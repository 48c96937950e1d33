/* The container's console: a pty whose output goes to console.log (rotated at
 * SHIM_LOG_ROTATE) and whose input comes from clients of console.sock (loop.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/shim/shim_int.h"

static int log_open(struct shim *sh, char *err)
{
	struct stat st;
	sh->logfd = open("console.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (sh->logfd < 0)
		return shim_fail(err, NULL, "%s/console.log", sh->rundir);
	sh->logsize = fstat(sh->logfd, &st) == 0 ? (unsigned long long)st.st_size : 0;
	return 0;
}

/* The master is non-blocking (the loop must never stall on it); the shim also keeps the
 * slave open, so the master never reads EIO while no process holds the console (before
 * init opens it, after it exits) and nothing written is lost. */
int console_open(struct shim *sh, char *err)
{
	sh->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (sh->master < 0)
		return shim_fail(err, NULL, "open /dev/ptmx");
	if (grantpt(sh->master) < 0 || unlockpt(sh->master) < 0 ||
	    ptsname_r(sh->master, sh->slave_path, sizeof(sh->slave_path)))
		return shim_fail(err, NULL, "set up the console pty");
	sh->slave = open(sh->slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (sh->slave < 0)
		return shim_fail(err, NULL, "open %s", sh->slave_path);
	/* a size of 0x0 confuses full-screen programs; 80x24 until someone sets it */
	struct winsize ws = {.ws_row = 24, .ws_col = 80};
	ioctl(sh->slave, TIOCSWINSZ, &ws);
	return log_open(sh, err);
}

/* console.log -> console.log.1 once it passes the limit; readers (vmfs) notice the new
 * file is shorter than where they were and start over from its beginning. */
static void log_rotate(struct shim *sh)
{
	char err[ERRLEN];
	if (renameat(AT_FDCWD, "console.log", AT_FDCWD, "console.log.1") < 0)
		return;
	close(sh->logfd);
	if (log_open(sh, err) < 0)
		sh->logfd = -1; /* keep draining the pty, so init never blocks */
}

/* At most 64 KiB per call, so a chatty container cannot starve the socket clients.
 * Returns 1 if more may be waiting, 0 once the pty is empty. */
int console_pump(struct shim *sh)
{
	char buf[4096];
	ssize_t n;
	for (int i = 0; i < 16; i++) {
		n = read(sh->master, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		if (sh->logfd < 0)
			continue;
		/* a full disk loses output rather than blocking the container */
		for (ssize_t off = 0, w; off < n; off += w) {
			w = write(sh->logfd, buf + off, n - off);
			if (w <= 0)
				break;
			sh->logsize += w;
		}
		if (sh->logsize >= SHIM_LOG_ROTATE)
			log_rotate(sh);
	}
	return 1;
}

/* The socket is bound by a name relative to the run directory (the shim's cwd): the full
 * path may be longer than sun_path. Clients connect through /proc/self/fd/DIRFD/. */
int console_listen(struct shim *sh, char *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = "console.sock"};
	sh->listenfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sh->listenfd < 0)
		return shim_fail(err, NULL, "socket");
	unlink("console.sock");	 /* left by a shim that was killed */
	mode_t old = umask(077); /* only the owner (vmfs) types into the console */
	int r = bind(sh->listenfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(sh->listenfd, 64) < 0)
		return shim_fail(err, NULL, "%s/console.sock", sh->rundir);
	return 0;
}

/* In the child: a new session whose controlling terminal is the console, on fds 0-2. */
int console_attach(struct shim *sh, char *err)
{
	if (setsid() < 0)
		return shim_fail(err, NULL, "setsid");
	if (ioctl(sh->slave, TIOCSCTTY, 0) < 0)
		return shim_fail(err, NULL, "make %s the controlling terminal", sh->slave_path);
	for (int fd = 0; fd < 3; fd++)
		if (dup2(sh->slave, fd) < 0)
			return shim_fail(err, NULL, "dup2 the console");
	return 0;
}
