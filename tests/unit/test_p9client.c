/* The 9P2000.L client (p9/client.c) against vmfs's own server (p9/srv.c), in one process
 * over a socketpair: the server runs in a thread of its own, the client's calls block as
 * they do in the cluster's workers. The member's errno reaches the client as it is (EBUSY of
 * a refused pause, ENOENT), the ctl's answer reads back on the fid that wrote it, and a call
 * that overstays its deadline is flushed and its connection given up, whether the server
 * parked it (a console with nothing to say) or never reads at all. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p9/client.h"
#include "p9/msg.h"
#include "p9/srv.h"
#include "runtime/model.h"
#include "tests/unit/p9_harness.h"
#include "tests/unit/tap.h"

static struct p9c *start(struct server *s)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return NULL;
	harness_serve(s, sv[1], -1);
	return p9c_new(sv[0], sv[0]);
}

static void stop(struct server *s, struct p9c *c)
{
	p9c_free(c);
	harness_stop(s);
}

/* The whole file at path, as the cluster's ROP_READ reads it. */
static ssize_t slurp9(struct p9c *c, uint32_t root, const char *path, char *out, size_t cap)
{
	uint32_t f;
	int e = p9c_walk(c, root, path, &f);
	if (e)
		return e;
	if ((e = p9c_lopen(c, f, P9_OREAD))) {
		p9c_clunk(c, f);
		return e;
	}
	size_t len = 0;
	ssize_t n;
	while (len < cap - 1 && (n = p9c_read(c, f, len, out + len, cap - 1 - len)) > 0)
		len += n;
	out[len] = 0;
	p9c_clunk(c, f);
	return len;
}

static bool listed(const uint8_t *d, size_t len, const char *name)
{
	size_t o = 0;
	while (o + 24 <= len) {
		size_t nl = d[o + 22] | d[o + 23] << 8;
		if (o + 24 + nl > len)
			return false;
		if (nl == strlen(name) && !memcmp(d + o + 24, name, nl))
			return true;
		o += 24 + nl;
	}
	return false;
}

static void session(void)
{
	struct server s;
	struct p9c *c = start(&s);
	uint32_t root = 0, f = 0;
	char buf[8192];
	p9c_set_deadline(c, p9c_now_ms() + 5000);
	ok(c && p9c_connect(c, 1 << 20, "root", &root) == 0, "version and attach");

	ssize_t n = slurp9(c, root, "version", buf, sizeof(buf));
	ok(n > 0 && !strncmp(buf, "vmfs ", 5), "version reads whole: %.*s", (int)(n > 0 ? n - 1 : 0), buf);
	struct p9_attr a = {0};
	ok(p9c_walk(c, root, "version", &f) == 0 && p9c_getattr(c, f, &a) == 0 &&
	       a.size == (uint64_t)n && p9c_clunk(c, f) == 0,
	   "getattr: its true size (%llu)", (unsigned long long)a.size);

	ok(p9c_walk(c, root, "nothing", &f) == -ENOENT, "a walk to nothing: ENOENT");
	ok(p9c_walk(c, root, "ns/lab/containers/none/ctl", &f) == -ENOENT,
	   "a walk cut short: ENOENT, and no fid left made");
	ok(p9c_walk(c, root, "/ns//lab/", &f) == 0 && p9c_clunk(c, f) == 0,
	   "a path's empty names are skipped");

	/* a pause of a BUILDING container is refused: EBUSY, and the answer says why */
	ok(p9c_walk(c, root, "ns/lab/containers/c1/ctl", &f) == 0 && p9c_lopen(c, f, P9_ORDWR) == 0,
	   "c1's ctl opened for reading and writing");
	ok(p9c_write(c, f, 0, "pause\n", 6) == -EBUSY, "a refused pause: EBUSY from the server, as it is");
	n = p9c_read(c, f, 0, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	ok(n > 0 && strstr(buf, "pause needs it RUNNING"), "its answer read back on the same fid: %s",
	   strtok(buf, "\n"));
	ok(p9c_clunk(c, f) == 0, "clunk");
	ok(p9c_clunk(c, f) == -EBADF, "a second clunk: the server's EBADF");

	ok(p9c_walk(c, root, "ns", &f) == 0 && p9c_mkdir(c, f, "lab2", 0755) == 0 &&
	       p9c_clunk(c, f) == 0,
	   "mkdir ns/lab2");
	ok(slurp9(c, root, "ns/lab2/hosts", buf, sizeof(buf)) >= 0, "ns/lab2 is there");
	ok(p9c_mkdir(c, root, "x", 0755) == -EPERM, "mkdir outside ns/: vmfs's EPERM");

	ok(p9c_walk(c, root, "ns/lab/vlans", &f) == 0 &&
	       p9c_lcreate(c, f, "LAN1", P9_OWRITE | P9_OTRUNC, 0666) == 0,
	   "lcreate of vlans/LAN1");
	ok(p9c_write(c, f, 0, "101\n", 4) == 4 && p9c_clunk(c, f) == 0, "written through its fid");
	n = slurp9(c, root, "ns/lab/vlans/LAN1", buf, sizeof(buf));
	ok(n > 0 && atoi(buf) == 101, "and reads back: %.*s", (int)(n > 0 ? n - 1 : 0), buf);

	uint8_t d[4096];
	ok(p9c_walk(c, root, "", &f) == 0 && p9c_lopen(c, f, P9_OREAD) == 0, "the root, opened");
	n = p9c_readdir(c, f, 0, d, sizeof(d));
	ok(n > 0 && listed(d, n, "version") && listed(d, n, "ns"), "readdir lists version and ns");
	p9c_clunk(c, f);

	p9c_set_deadline(c, p9c_now_ms() - 1);
	ok(p9c_walk(c, root, "version", &f) == -ETIMEDOUT && !p9c_broken(c),
	   "past the deadline before sending: ETIMEDOUT, the connection still good");
	p9c_set_deadline(c, p9c_now_ms() + 5000);
	ok(slurp9(c, root, "version", buf, sizeof(buf)) > 0, "and it still answers");
	stop(&s, c);
	ok(s.waiting == 0, "nothing was left waiting at the server");
}

/* A console read waits for output: at the deadline the client flushes it and gives up. */
static void parked(void)
{
	struct server s;
	struct p9c *c = start(&s);
	uint32_t root, f;
	char buf[100];
	p9c_set_deadline(c, p9c_now_ms() + 5000);
	ok(p9c_connect(c, 8192, "root", &root) == 0 &&
	       p9c_walk(c, root, "ns/lab/containers/c1/console", &f) == 0 &&
	       p9c_lopen(c, f, P9_OREAD) == 0,
	   "c1's console opened");
	uint64_t t0 = p9c_now_ms();
	p9c_set_deadline(c, t0 + 300);
	ssize_t n = p9c_read(c, f, 0, buf, sizeof(buf));
	uint64_t dt = p9c_now_ms() - t0;
	ok(n == -ETIMEDOUT && dt >= 290 && dt < 1000, "a read with nothing to say: ETIMEDOUT at the deadline (%llu ms)",
	   (unsigned long long)dt);
	ok(p9c_broken(c) && strstr(p9c_why(c), "flushed"), "the connection is given up: %s", p9c_why(c));
	p9c_set_deadline(c, p9c_now_ms() + 5000);
	ok(p9c_clunk(c, f) == -ECONNABORTED, "later calls fail at once (ECONNABORTED)");
	stop(&s, c);
	ok(s.flushes == 1 && s.waiting == 0, "the server took the Tflush and let the read go");
}

/* A server that takes the connection and never reads: the deadline holds. */
static void silent(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	struct p9c *c = p9c_new(sv[0], sv[0]);
	uint32_t root;
	uint64_t t0 = p9c_now_ms();
	p9c_set_deadline(c, t0 + 200);
	int e = p9c_connect(c, 8192, "root", &root);
	uint64_t dt = p9c_now_ms() - t0;
	ok(e == -ETIMEDOUT && dt < 1000, "a server that never answers: ETIMEDOUT (%llu ms)",
	   (unsigned long long)dt);
	uint8_t buf[256];
	ssize_t n = read(sv[1], buf, sizeof(buf));
	struct p9_msg m;
	const char *why;
	size_t first = n >= 4 ? (size_t)(buf[0] | buf[1] << 8) : 0;
	ok(n > (ssize_t)first && p9_decode(buf, first, 8192, &m, &why) == 0 && m.type == P9_TVERSION,
	   "it sent Tversion");
	uint16_t tag = m.tag;
	ok(p9_decode(buf + first, n - first, 8192, &m, &why) == 0 && m.type == P9_TFLUSH &&
	       m.oldtag == tag,
	   "then Tflush of it");
	p9c_free(c);

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	c = p9c_new(sv[0], sv[0]);
	close(sv[1]);
	p9c_set_deadline(c, p9c_now_ms() + 1000);
	e = p9c_connect(c, 8192, "root", &root);
	ok((e == -ECONNRESET || e == -EPIPE) && p9c_broken(c), "a peer gone: %s (%s)", strerror(-e),
	   p9c_why(c));
	p9c_free(c);

	/* a reply that is not one gives the connection up */
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	c = p9c_new(sv[0], sv[0]);
	uint8_t junk[] = {3, 0, 0, 0, 101, 0xff, 0xff};
	if (write(sv[1], junk, sizeof(junk)) != sizeof(junk))
		return;
	p9c_set_deadline(c, p9c_now_ms() + 1000);
	e = p9c_connect(c, 8192, "root", &root);
	ok(e == -EPROTO && p9c_broken(c), "a frame shorter than its header: EPROTO (%s)", p9c_why(c));
	p9c_free(c);
	close(sv[1]);
}

int main(void)
{
	char dir[] = "/tmp/test_p9client.XXXXXX";
	if (harness_open(dir)) {
		session();
		parked();
		silent();
	}
	harness_close(dir);
	return tap_done();
}
