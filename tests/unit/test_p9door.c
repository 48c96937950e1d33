/* The 9P door (p9/door.c, p9/link.c) driven over its real sockets, its loop run by hand:
 * messages cut from a stream that arrives a byte at a time, TCP peers not in p9_peers refused
 * and logged, a connection with bad framing closed with the reason logged, the limit of
 * connections per peer, and a closed peer's connection gone. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf/conf.h"
#include "p9/door.h"
#include "p9/door_int.h"
#include "p9/msg.h"
#include "tests/unit/tap.h"
#include "vmfs/door.h"
#include "vmfs/loop.h"
#include "vmfs/node.h"

static struct p9door *D;
static char sockpath[100], logpath[100];
static int port;

static struct p9_str S(const char *s) {
	return (struct p9_str){s, strlen(s)};
}

/* The door's rounds until fd has something to read (or 2 s): whether it has. */
static int
settle(int fd)
{
	for (int i = 0; i < 200; i++) {
		p9door_run(D);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 10) > 0)
			return 1;
	}
	return 0;
}

static int connect_unix(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sockpath);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int connect_tcp(const char *from)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct sockaddr_in me = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	inet_pton(AF_INET, from, &me.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends m (a byte at a time with slow) and reads one reply into *r: its type, or -1. */
static int ask(int fd, struct p9_msg m, struct p9_msg *r, int slow)
{
	static uint8_t buf[8192], in[8192];
	static uint16_t tag;
	m.tag = m.type == P9_TVERSION ? P9_NOTAG : ++tag;
	long n = p9_encode(&m, buf, sizeof(buf));
	for (long o = 0; o < n; o += slow ? 1 : n) {
		if (write(fd, buf + o, slow ? 1 : n) < 0)
			return -1;
		if (slow)
			p9door_run(D);
	}
	if (!settle(fd) || read(fd, in, 4) != 4)
		return -1;
	size_t size = in[0] | in[1] << 8 | in[2] << 16 | (size_t)in[3] << 24;
	for (size_t got = 4; got < size;) {
		if (!settle(fd))
			return -1;
		ssize_t k = read(fd, in + got, size - got);
		if (k <= 0)
			return -1;
		got += k;
	}
	const char *why;
	return p9_decode(in, size, sizeof(in), r, &why) ? -1 : r->type;
}

static int hello(int fd, int slow)
{
	struct p9_msg r;
	return ask(fd, (struct p9_msg){.type = P9_TVERSION, .msize = 8192, .s1 = S(P9_VERSION)}, &r,
		   slow) == P9_RVERSION &&
	       ask(fd, (struct p9_msg){.type = P9_TATTACH, .fid = 0, .fid2 = P9_NOFID}, &r, slow) ==
		   P9_RATTACH;
}

/* Whether the peer sees its connection closed (EOF) within 2 s. */
static int closed(int fd)
{
	char c;
	return settle(fd) && read(fd, &c, 1) == 0;
}

static int logged(const char *what)
{
	char buf[65536];
	int fd = open(logpath, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	return strstr(buf, what) != NULL;
}

int main(void)
{
	char dir[] = "/tmp/test_p9door.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	snprintf(sockpath, sizeof(sockpath), "%s/run/9p.sock", dir);
	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	struct vmfs v = {0};
	evlog_init(&v.log, open(dir, O_RDONLY | O_DIRECTORY), "log");
	v.m.imagefd = v.log.dirfd;
	struct vmfs_conf c;
	conf_defaults(&c);
	char err[512], addr[64];
	port = 20000 + getpid() % 20000;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	conf_set(&c, "vmfs", "p9", addr, "/", err, sizeof(err));
	conf_set(&c, "vmfs", "p9_socket", sockpath, "/", err, sizeof(err));
	conf_set(&c, "vmfs", "p9_peers", "127.0.0.1, 10.0.0.0/8", "/", err, sizeof(err));
	struct door door;

	conf_set(&c, "vmfs", "p9_peers", "127.0.0.1 10.0.0.300", "/", err, sizeof(err));
	ok(p9_door_open(&v, &c, &door, err, sizeof(err)) == -EINVAL && strstr(err, "10.0.0.300"),
	   "a bad p9_peers entry is refused: %s", err);
	conf_set(&c, "vmfs", "p9_peers", "cluster", "/", err, sizeof(err));
	ok(p9_door_open(&v, &c, &door, err, sizeof(err)) == -EINVAL && strstr(err, "no etcd"),
	   "p9_peers = cluster without etcd is refused: %s", err);
	conf_set(&c, "vmfs", "p9_peers", "127.0.0.1", "/", err, sizeof(err));
	conf_set(&c, "vmfs", "p9_user", "no-such-user-here", "/", err, sizeof(err));
	ok(p9_door_open(&v, &c, &door, err, sizeof(err)) == -EINVAL && strstr(err, "p9_user"),
	   "an unknown p9_user is refused: %s", err);
	conf_set(&c, "vmfs", "p9_user", "nobody", "/", err, sizeof(err));
	int r = p9_door_open(&v, &c, &door, err, sizeof(err));
	ok(r == 0, "the door listens on %s and %s%s%s", addr, sockpath, r ? ": " : "",
	   r ? err : "");
	if (r)
		return tap_done();
	D = door.self;
	struct loop *L = loop_new();
	ok(L && p9door_watch(D, L) == 0, "its listeners are in a loop");
	struct stat st;
	ok(stat(sockpath, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0666,
	   "the socket is 0666 (SO_PEERCRED decides, not the mode)");
	struct door again;
	conf_set(&c, "vmfs", "p9", "", "/", err, sizeof(err));
	ok(p9_door_open(&v, &c, &again, err, sizeof(err)) < 0 && strstr(err, "in use"),
	   "a second door on a live socket is refused: %s", err);

	int u = connect_unix();
	ok(u >= 0 && hello(u, 1), "over the socket, a byte at a time: version and attach");
	struct p9_msg m = {.type = P9_TWALK, .fid = 0, .fid2 = 1, .nwname = 1}, rep;
	m.wname[0] = S("version");
	ok(ask(u, m, &rep, 0) == P9_RWALK && rep.nwqid == 1, "a walk to version");
	ok(ask(u, (struct p9_msg){.type = P9_TLOPEN, .fid = 1}, &rep, 0) == P9_RLOPEN &&
	       ask(u, (struct p9_msg){.type = P9_TREAD, .fid = 1, .count = 4000}, &rep, 0) ==
		   P9_RREAD &&
	       rep.count > 0,
	   "its content read: %.*s", rep.count > 0 ? (int)rep.count - 1 : 0,
	   (const char *)rep.data);

	/* a client that sends without reading: its requests wait unread once the replies
	 * queued pass P9_OUT_SOFT; none is lost, and the door never blocks */
	fcntl(u, F_SETFL, O_NONBLOCK);
	struct p9_msg rd = {.type = P9_TREAD, .fid = 1, .count = 4000, .tag = 1};
	uint8_t req[64];
	long reqlen = p9_encode(&rd, req, sizeof(req));
	long sent = 0, most = 0;
	for (int stuck = 0; stuck < 50 && sent < 500000;) {
		if (write(u, req, reqlen) == reqlen) {
			sent++;
			stuck = 0;
		} else {
			stuck++;
		}
		if (sent % 64 == 0 || stuck)
			p9door_run(D);
		most = D->links->outlen > (size_t)most ? (long)D->links->outlen : most;
	}
	ok(sent > 1000 && most <= P9_OUT_SOFT + 8192,
	   "%ld requests sent unread: at most %ld bytes of replies queued (the bound %d)", sent,
	   most, P9_OUT_SOFT);
	long answered = 0;
	static uint8_t drain[65536];
	size_t have = 0;
	for (int idle = 0; idle < 200 && answered < sent;) {
		p9door_run(D);
		ssize_t k = read(u, drain + have, sizeof(drain) - have);
		if (k <= 0) {
			idle++;
			usleep(1000);
			continue;
		}
		idle = 0;
		have += k;
		size_t off = 0;
		while (have - off >= 4) {
			size_t size = drain[off] | drain[off + 1] << 8 | drain[off + 2] << 16;
			if (have - off < size)
				break;
			answered++;
			off += size;
		}
		memmove(drain, drain + off, have - off);
		have -= off;
	}
	ok(answered == sent, "read at last, every one is answered (%ld)", answered);
	fcntl(u, F_SETFL, 0);

	int t = connect_tcp("127.0.0.1");
	ok(t >= 0 && hello(t, 0), "over TCP from 127.0.0.1 (listed): version and attach");
	int t2 = connect_tcp("127.0.0.2");
	ok(t2 >= 0 && closed(t2), "from 127.0.0.2 (not listed): closed at once");
	ok(logged("a connection from 127.0.0.2:") && logged("not in p9_peers"),
	   "and logged with the reason");

	static const uint8_t bad[] = {3, 0, 0, 0, 100, 0, 0};
	ok(write(t, bad, sizeof(bad)) == sizeof(bad) && closed(t),
	   "a frame shorter than its header: the connection closed");
	ok(logged("closed the connection of 127.0.0.1:") && logged("framing is bad"),
	   "and logged with the reason");

	int fds[P9_CONNS_PER_PEER], n = 0;
	for (int i = 0; i < P9_CONNS_PER_PEER; i++) {
		fds[i] = connect_unix();
		p9door_run(D);
	}
	for (int i = 0; i < 20; i++)
		p9door_run(D);
	for (int i = 0; i < P9_CONNS_PER_PEER; i++) {
		struct pollfd p = {.fd = fds[i], .events = POLLIN};
		char ch;
		n += fds[i] >= 0 && poll(&p, 1, 0) == 1 && read(fds[i], &ch, 1) == 0;
	}
	ok(n == 1, "the 33rd connection of one uid is closed (%d were)", n);
	ok(logged("32 connections open already"), "and logged");
	int before = D->nlinks;
	for (int i = 0; i < P9_CONNS_PER_PEER; i++)
		close(fds[i]);
	for (int i = 0; i < 20; i++)
		p9door_run(D);
	ok(D->nlinks == before - (P9_CONNS_PER_PEER - 1), "the peers gone, their connections go");
	/* out of descriptors: the listener rests until the tick, then the peer is served */
	struct rlimit was, low;
	getrlimit(RLIMIT_NOFILE, &was);
	int lowest = dup(0);
	close(lowest);
	low = (struct rlimit){lowest + 1, was.rlim_max};
	setrlimit(RLIMIT_NOFILE, &low);
	int e = connect_unix(); /* takes the last descriptor: the door's accept has none */
	p9door_run(D);
	ok(e >= 0 && D->resting == 2 && p9door_run(D) == 0,
	   "out of descriptors (EMFILE): the socket's listener rests, the loop is not woken");
	setrlimit(RLIMIT_NOFILE, &was);
	p9door_tick(D);
	ok(D->resting == 0 && hello(e, 0), "at the tick it is watched again: the peer is served");
	close(e);
	close(u);
	close(t);
	close(t2);
	door.ops->stop(door.self);
	loop_free(L);
	ok(stat(sockpath, &st) < 0 && errno == ENOENT, "the door closed, the socket is gone");
	conf_free(&c);
	close(v.log.dirfd);

	char rm[128];
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	ok(system(rm) == 0, "cleaned up");
	return tap_done();
}
