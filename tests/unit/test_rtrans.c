/* How the cluster's workers reach a member (cluster/rtrans.h): members' URLs read and refused
 * in words, and the 9P transport against vmfs's own server (p9/srv.c) over TCP and through
 * an "ssh" (a stand-in that relays its pipes to the same server): the member's errno and its
 * ctl answer come back as they are, a file is made by a write, a broken connection is made
 * again at the next call, and a refused or silent door fails in bounded time with a reason. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/rtrans.h"
#include "p9/client.h"
#include "tests/unit/p9_harness.h"
#include "tests/unit/tap.h"

static void urls(void)
{
	struct rtarget t;
	char err[512];
	ok(rtarget_parse("/mnt/h1", NULL, NULL, &t, err, sizeof(err)) == 0 && t.kind == RK_PATH &&
	       !strcmp(t.root, "/mnt/h1"),
	   "an absolute path: a mounted tree");
	ok(rtarget_parse("ssh://root@10.0.0.1/vmfs", "/st/members/h1", NULL, &t, err, sizeof(err)) == 0 &&
	       t.kind == RK_PATH && !strcmp(t.root, "/st/members/h1"),
	   "ssh://: the tree where sshfs mounts it");
	ok(rtarget_parse("ssh://root@10.0.0.1", NULL, NULL, &t, err, sizeof(err)) == -EINVAL &&
	       strstr(err, "path of the member's mount point is missing"),
	   "ssh:// without a path: %s", err);
	ok(rtarget_parse("9p://10.0.0.12:5640", NULL, NULL, &t, err, sizeof(err)) == 0 &&
	       t.kind == RK_9P_TCP && !strcmp(t.host, "10.0.0.12") && !strcmp(t.port, "5640"),
	   "9p://HOST:PORT");
	ok(rtarget_parse("9p://h2", NULL, NULL, &t, err, sizeof(err)) == 0 && !strcmp(t.port, "564"),
	   "9p://HOST: port 564");
	ok(rtarget_parse("9p://[fd00::2]:9000", NULL, NULL, &t, err, sizeof(err)) == 0 &&
	       !strcmp(t.host, "fd00::2") && !strcmp(t.port, "9000"),
	   "9p://[V6]:PORT");
	const char *bad[] = {"9p://",	    "9p://h:0",	  "9p://h:70000", "9p://h:x",
			     "9p://h/x",    "9p://u@h",	  "9p://[::1",	  "9p+ssh://h1",
			     "9p+ssh://@h", "9p+ssh://root@h1/a;b", "9p+ssh://root@-oProxyCommand=x",
			     "9p+ssh://ro ot@h", "9p+ssh://root@h/", "http://h", "h1:/vmfs"};
	int refused = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err[0] = 0;
		if (rtarget_parse(bad[i], NULL, NULL, &t, err, sizeof(err)) == -EINVAL && *err)
			refused++;
		else
			printf("# taken: %s\n", bad[i]);
	}
	ok(refused == (int)(sizeof(bad) / sizeof(*bad)), "%d URLs of no shape refused, in words (%s)",
	   refused, err);
	ok(rtarget_parse("9p+ssh://root@h1:2222/run/vmfs/9p.sock", NULL,
			 "IdentityFile=/k,reconnect,UserKnownHostsFile=/kh,direct_io", &t, err,
			 sizeof(err)) == 0 &&
	       t.kind == RK_9P_SSH && !strcmp(t.host, "root@h1") && !strcmp(t.port, "2222") &&
	       !strcmp(t.root, "/run/vmfs/9p.sock"),
	   "9p+ssh://USER@HOST:PORT/SOCKET");
	is_str(t.ssh_opts, "IdentityFile=/k,UserKnownHostsFile=/kh",
	       "ssh is given sshfs_options' ssh options, not sshfs's own");
	char a[64];
	rtarget_url_addr("9p://10.1.0.12:564", a, sizeof(a));
	is_str(a, "10.1.0.12", "the address of a 9p:// member (for VXLAN peers)");
	rtarget_url_addr("ssh://root@10.0.0.11:22/vmfs", a, sizeof(a));
	is_str(a, "10.0.0.11", "of an ssh:// one");
	rtarget_url_addr("9p+ssh://root@[fd00::3]", a, sizeof(a));
	is_str(a, "fd00::3", "of a 9p+ssh:// one");
	rtarget_url_addr("9p://h2.lan", a, sizeof(a));
	is_str(a, "", "a host name: none");
	char text[512];
	rtarget_parse("/mnt/h1", NULL, NULL, &t, err, sizeof(err));
	rtarget_text(&t, false, text, sizeof(text));
	is_str(text, "a tree mounted at /mnt/h1", "how it is reached: a path");
	rtarget_parse("9p://[fd00::2]:9000", NULL, NULL, &t, err, sizeof(err));
	rtarget_text(&t, false, text, sizeof(text));
	is_str(text, "9p over TCP to [fd00::2]:9000", "9p://");
	rtarget_parse("9p+ssh://root@h1:2222", NULL, NULL, &t, err, sizeof(err));
	rtarget_text(&t, false, text, sizeof(text));
	is_str(text, "9p over ssh to root@h1 port 2222 (vmfs 9p-stdio)", "9p+ssh://");
}

static struct rtrans *transport(enum rkind kind, int port)
{
	struct rtarget tg = {.kind = kind};
	if (kind == RK_9P_TCP)
		snprintf(tg.host, sizeof(tg.host), "127.0.0.1");
	else
		snprintf(tg.host, sizeof(tg.host), "root@member");
	snprintf(tg.port, sizeof(tg.port), "%d", port);
	return rtrans_new(&tg);
}

static void soon(struct rtrans *t, unsigned ms)
{
	t->deadline = p9c_now_ms() + ms;
}

/* The operations a worker makes, through t (to the harness's server). */
static void operations(struct rtrans *t, const char *how)
{
	struct sbuf out = {0};
	soon(t, 5000);
	int r = t->ops->read(t, "version", &out);
	ok(r == 0 && out.len > 5 && !memcmp(out.p, "vmfs ", 5), "%s: version reads whole", how);
	out.len = 0;
	r = t->ops->write(t, "ns/lab/containers/c1/ctl", "pause\n", 6, true, &out);
	sb_add(&out, "", 1);
	out.p[strcspn(out.p, "\n")] = 0;
	ok(r == -EBUSY, "%s: a refused pause is the member's EBUSY (%d)", how, r);
	ok(strstr(out.p, "pause needs it RUNNING") != NULL, "%s: with its answer: %s", how, out.p);
	out.len = 0;
	r = t->ops->read(t, "ns/lab/nothing", &out);
	ok(r == -ENOENT && !*t->why, "%s: a file not there: the member's ENOENT, no fault of the link",
	   how);
	ok(t->ops->write(t, "ns/lab/vlans/LAN7", "102\n", 4, false, &out) == 0,
	   "%s: a write makes vlans/LAN7", how);
	out.len = 0;
	ok(t->ops->read(t, "ns/lab/vlans/LAN7", &out) == 0 && out.len && atoi(out.p) == 102,
	   "%s: and it reads back", how);
	ok(t->ops->write(t, "ns/lab/vlans/LAN7", "102\n", 4, false, &out) == 0,
	   "%s: a second write goes to the file that is there", how);
	static int round;
	char ns[32];
	snprintf(ns, sizeof(ns), "ns/round%d", ++round);
	ok(t->ops->mkdir(t, ns) == 0, "%s: mkdir %s", how, ns);
	ok(t->ops->mkdir(t, ns) == -EEXIST, "%s: again: EEXIST", how);
	char buf[64];
	uint64_t off = 1000;
	ssize_t n = t->ops->pread(t, "version", &off, buf, sizeof(buf));
	ok(n > 5 && off == 0 && !memcmp(buf, "vmfs ", 5),
	   "%s: pread past the end of a shorter file starts it again", how);
	off = 5;
	n = t->ops->pread(t, "version", &off, buf, sizeof(buf));
	ok(n > 0 && off == 5 && buf[0] != 'v', "%s: pread from an offset", how);
	out.len = 0;
	r = t->ops->read(t, "hangup", &out);
	ok(r == -ECONNRESET && strstr(t->why, "closed"), "%s: the server hangs up: %s", how, t->why);
	out.len = 0;
	r = t->ops->read(t, "version", &out);
	ok(r == 0 && out.len > 5, "%s: the next call connects again", how);
	sb_free(&out);
}

/* The stand-in for ssh: its arguments into DIR/args, then its pipes relayed to PORT. */
static int relay(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)))
		return 255;
	struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = s, .events = POLLIN}};
	char buf[65536];
	for (;;) {
		if (poll(p, 2, -1) < 0)
			return 1;
		for (int i = 0; i < 2; i++) {
			if (!p[i].revents)
				continue;
			ssize_t n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0)
				return 0;
			if (write(i ? 1 : s, buf, n) != n)
				return 1;
		}
	}
}

static void fake_ssh(const char *dir, const char *self, int port, bool works)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/bin", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/bin/ssh", dir);
	FILE *f = fopen(path, "w");
	if (works)
		fprintf(f, "#!/bin/sh\nprintf '%%s\\n' \"$@\" >%s/args\nexec %s --relay %d\n", dir, self,
			port);
	else
		fprintf(f, "#!/bin/sh\necho 'root@member: Permission denied (publickey).' >&2\nexit 255\n");
	fclose(f);
	chmod(path, 0700);
}

static void over_ssh(const char *dir, const char *self)
{
	struct server s;
	int port, lfd = harness_listen(&port);
	harness_serve(&s, -1, lfd);
	fake_ssh(dir, self, port, true);
	struct rtarget tg = {.kind = RK_9P_SSH};
	snprintf(tg.host, sizeof(tg.host), "root@member");
	snprintf(tg.port, sizeof(tg.port), "2222");
	snprintf(tg.root, sizeof(tg.root), "/run/vmfs.sock");
	snprintf(tg.ssh_opts, sizeof(tg.ssh_opts), "IdentityFile=/k");
	struct rtrans *t = rtrans_new(&tg);
	operations(t, "9p+ssh");
	char args[1024];
	snprintf(args, sizeof(args), "%s/args", dir);
	const char *got = slurp(args);
	ok(got && strstr(got, "BatchMode=yes") &&
	       strstr(got, "-p\n2222\n-o\nIdentityFile=/k\n--\nroot@member\nvmfs 9p-stdio --9p-socket /run/vmfs.sock"),
	   "ssh ran: ssh ... -p 2222 -o IdentityFile=/k -- root@member 'vmfs 9p-stdio --9p-socket /run/vmfs.sock'");
	t->ops->free(t);
	harness_stop(&s);
	ok(s.conns == 2, "two connections, one ssh each (%d)", s.conns);

	fake_ssh(dir, self, port, false);
	t = rtrans_new(&tg);
	struct sbuf out = {0};
	soon(t, 5000);
	int r = t->ops->read(t, "version", &out);
	ok(r < 0 && strstr(t->why, "Permission denied (publickey)"), "ssh refused: %s (%s)",
	   strerror(-r), t->why);
	t->ops->free(t);
	sb_free(&out);
}

static void over_tcp(void)
{
	struct server s;
	int port, lfd = harness_listen(&port);
	harness_serve(&s, -1, lfd);
	struct rtrans *t = transport(RK_9P_TCP, port);
	operations(t, "9p");
	t->ops->free(t);
	harness_stop(&s);
	ok(s.conns == 2, "two connections: the first, and one after the hangup (%d)", s.conns);

	/* the port is closed now: refused, with the reason */
	t = transport(RK_9P_TCP, port);
	struct sbuf out = {0};
	soon(t, 2000);
	int r = t->ops->read(t, "version", &out);
	ok(r == -ECONNREFUSED && strstr(t->why, "connect to 127.0.0.1:"), "a door not there: %s",
	   t->why);
	t->ops->free(t);

	/* a listener that never accepts: the connection is made (backlog), no answer comes */
	lfd = harness_listen(&port);
	t = transport(RK_9P_TCP, port);
	uint64_t t0 = p9c_now_ms();
	soon(t, 300);
	r = t->ops->read(t, "version", &out);
	uint64_t dt = p9c_now_ms() - t0;
	ok(r == -ETIMEDOUT && dt < 1000, "a door that does not answer: ETIMEDOUT in %llu ms (%s)",
	   (unsigned long long)dt, t->why);
	t->ops->free(t);
	close(lfd);
	sb_free(&out);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--relay"))
		return relay(atoi(argv[2]));
	urls();
	char dir[] = "/tmp/test_rtrans.XXXXXX", self[4096], path[8192];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = 0;
	if (harness_open(dir)) {
		snprintf(path, sizeof(path), "%s/bin:%s", dir, getenv("PATH") ? getenv("PATH") : "/bin");
		setenv("PATH", path, 1);
		over_tcp();
		over_ssh(dir, self);
	}
	harness_close(dir);
	return tap_done();
}
