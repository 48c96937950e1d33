/* `vmfs 9p-stdio` (p9/door.h): a 9P client's stream on stdin and stdout, relayed to the
 * running vmfs's Unix socket. The door then sees this process's user (SO_PEERCRED): over
 * `ssh HOST vmfs 9p-stdio`, the user ssh logged in as. It carries bytes only. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf/conf.h"
#include "p9/door.h"

#define DEFAULT_CONF "/etc/vmfs.conf"

/* Copies what from has to to; false at its end (or an error: the relay ends). */
static bool pass(int from, int to)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	for (ssize_t o = 0; n > 0 && o < n;) {
		ssize_t w = write(to, buf + o, n - o);
		if (w < 0 && errno != EINTR)
			return false;
		o += w > 0 ? w : 0;
	}
	return n > 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: vmfs 9p-stdio [--9p-socket PATH] [--conf FILE]\n"
		"relays stdin and stdout to the 9P socket of the running vmfs (p9_socket)\n");
	return 2;
}

int p9_stdio_main(int argc, char **argv)
{
	const char *sock = NULL, *conf_path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--9p-socket=", 12))
			sock = argv[i] + 12;
		else if (!strncmp(argv[i], "--conf=", 7))
			conf_path = argv[i] + 7;
		else if (i + 1 < argc && !strcmp(argv[i], "--9p-socket"))
			sock = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--conf"))
			conf_path = argv[++i];
		else
			return usage();
	}
	struct vmfs_conf c;
	char err[512];
	if (conf_defaults(&c) < 0)
		return 1;
	if (!sock) {
		int r = conf_load(&c, conf_path ? conf_path : DEFAULT_CONF, err, sizeof(err));
		if (r && (conf_path || r != -ENOENT)) {
			fprintf(stderr, "vmfs 9p-stdio: %s\n", err);
			conf_free(&c);
			return 2;
		}
		sock = c.p9_socket;
	}
	if (!*sock) {
		fprintf(stderr,
			"vmfs 9p-stdio: no 9P socket: give --9p-socket PATH, or set p9_socket "
			"in %s (the running vmfs's)\n",
			conf_path ? conf_path : DEFAULT_CONF);
		conf_free(&c);
		return 2;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (strlen(sock) >= sizeof(sa.sun_path))
		errno = ENAMETOOLONG;
	else
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (fd < 0 || !*sa.sun_path || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "vmfs 9p-stdio: cannot connect to %s: %s%s\n", sock,
			strerror(errno),
			errno == ENOENT || errno == ECONNREFUSED
			    ? " (is vmfs running, with --9p-socket or p9_socket naming it?)"
			    : "");
		conf_free(&c);
		return 1;
	}
	conf_free(&c);
	struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
	while (p[1].fd >= 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents && !pass(STDIN_FILENO, fd)) {
			shutdown(fd, SHUT_WR); /* the client is done: vmfs answers what it sent */
			p[0].fd = -1;
		}
		if (p[1].revents && !pass(fd, STDOUT_FILENO))
			p[1].fd = -1;
	}
	close(fd);
	return 0;
}
