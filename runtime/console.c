/* Consoles, through the run directory: the scrollback and live output are console.log,
 * written by the process that holds the pty (vmfs-shim) or by QEMU's chardev log; input
 * goes to console.sock. Both outlive vmfs, so a restarted vmfs loses nothing. */
#include <fcntl.h>
#include <string.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "runtime/run.h"

static bool obj_live(const struct object *o)
{
	return o->state == ST_RUNNING || o->state == ST_PAUSED;
}

ssize_t console_read(struct model *m, struct object *o, char *buf, size_t size, uint64_t *pos)
{
	char path[BUILT_PATH_MAX];
	run_dir(m, o, path, sizeof(path));
	strncat(path, "/console.log", sizeof(path) - strlen(path) - 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) == 0 && (uint64_t)st.st_size < *pos)
			*pos = 0; /* the log was rotated: go on from the new file's start */
		ssize_t n = pread(fd, buf, size, *pos);
		close(fd);
		if (n > 0) {
			*pos += n;
			return n;
		}
	}
	/* nothing new: a live or not yet started object may still write; one that ended
	 * has said all it will */
	if (o->gone || o->state == ST_QUIT || o->state == ST_ERROR)
		return 0;
	return -EAGAIN;
}

static int console_open(struct model *m, struct object *o)
{
	char path[BUILT_PATH_MAX];
	run_dir(m, o, path, sizeof(path));
	strncat(path, "/console.log", sizeof(path) - strlen(path) - 1);
	return open(path, O_RDONLY | O_CLOEXEC);
}

ssize_t console_read_at(struct model *m, struct object *o, char *buf, size_t size, uint64_t off)
{
	int fd = console_open(m, o);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	ssize_t n = pread(fd, buf, size, (off_t)off);
	int e = errno;
	close(fd);
	return n < 0 ? -e : n;
}

off_t console_size(struct model *m, struct object *o)
{
	struct stat st;
	int fd = console_open(m, o);
	off_t size = fd >= 0 && fstat(fd, &st) == 0 ? st.st_size : 0;
	if (fd >= 0)
		close(fd);
	return size;
}

/* The serial output is in console.log already: what comes back on the socket is a copy. */
static void console_drain(struct model *m, struct rtsrc *s)
{
	struct object *o = (struct object *)((char *)s - offsetof(struct object, rt.console_src));
	char buf[4096];
	ssize_t n;
	while ((n = recv(o->rt.console_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		console_close(m, o); /* QEMU went away; the next write connects again */
}

static int console_connect(struct model *m, struct object *o)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[BUILT_PATH_MAX];
	run_dir(m, o, dir, sizeof(dir));
	/* the socket path can be longer than sun_path: connect through the directory */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/console.sock", dfd);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int r = fd < 0 ? -errno : 0;
	if (!r && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		r = -errno;
	close(dfd);
	if (r) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	o->rt.console_fd = fd;
	if (o->type == OT_VM) {
		/* QEMU copies the serial output to every client: unread, it fills the socket
		 * (a byte per message) and QEMU stops the guest's serial line until it drains */
		o->rt.console_src.ready = console_drain;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &o->rt.console_src};
		epoll_ctl(m->rtep, EPOLL_CTL_ADD, fd, &ev);
	}
	return 0;
}

ssize_t console_write(struct model *m, struct object *o, const char *buf, size_t size)
{
	if (!obj_live(o))
		return -EBUSY;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (o->rt.console_fd < 0) {
			int r = console_connect(m, o);
			if (r)
				return r == -ENOENT ? -EBUSY : r;
		}
		ssize_t n = send(o->rt.console_fd, buf, size, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0)
			return n;
		if (errno == EAGAIN)
			return -EAGAIN;
		console_close(m, o); /* the shim restarted or went away: connect again once */
	}
	return -EIO;
}

void console_close(struct model *m, struct object *o)
{
	/* out of the epoll set first: a child forked meanwhile (before its exec) holds the
	 * socket open, and the set would go on reporting a source that may be freed */
	if (o->rt.console_fd >= 0 && o->type == OT_VM && m->rtep >= 0)
		epoll_ctl(m->rtep, EPOLL_CTL_DEL, o->rt.console_fd, NULL);
	if (o->rt.console_fd >= 0)
		close(o->rt.console_fd);
	o->rt.console_fd = -1;
}

/* Terminal control sequences (ESC [ ... final byte, ESC ] ... BEL) and other control
 * bytes are dropped: info shows the text a person would have seen. */
static size_t plain_text(const char *in, size_t len, char *out)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = in[i];
		if (c == 0x1b && i + 1 < len && in[i + 1] == '[') {
			for (i += 2; i < len && !(in[i] >= 0x40 && in[i] <= 0x7e); i++)
				;
		} else if (c == 0x1b && i + 1 < len && in[i + 1] == ']') {
			for (i += 2; i < len && in[i] != 0x07; i++)
				;
		} else if (c == 0x1b)
			i++;
		else if (c == '\n' || c == '\t' || c >= 0x20)
			out[n++] = c == '\t' ? ' ' : c;
	}
	return n;
}

void console_last_line(struct model *m, const struct object *o, char *out, size_t outlen)
{
	char path[BUILT_PATH_MAX], raw[4096], text[4096];
	snprintf(out, outlen, "-");
	run_dir(m, o, path, sizeof(path));
	strncat(path, "/console.log", sizeof(path) - strlen(path) - 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return;
	ssize_t n = fstat(fd, &st) < 0 ? -1
		  : pread(fd, raw, sizeof(raw), st.st_size > (off_t)sizeof(raw) ? st.st_size - (off_t)sizeof(raw) : 0);
	close(fd);
	if (n <= 0)
		return;
	size_t len = plain_text(raw, n, text);
	/* the last line with something on it: a prompt counts, a bare newline does not */
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	if (!len)
		return;
	text[len] = 0;
	char *line = strrchr(text, '\n');
	line = line ? line + 1 : text;
	while (*line == ' ')
		line++;
	snprintf(out, outlen, "%s", line);
}
