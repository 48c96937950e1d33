/* The 9P transport (cluster/rtrans.h): a worker's own connection to the member's 9P door,
 * over TCP or through `ssh USER@HOST vmfs 9p-stdio`, made at the first job and again after
 * it broke. Each operation walks from the root to its file and clunks what it opened, so a
 * fid never outlives its job. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster/rtrans.h"
#include "p9/client.h"

#define READ_MAX (16u << 20)
#define MSIZE (64 * 1024)

struct r9p {
	struct rtrans t;
	struct rtarget tg;
	struct p9c *c;
	uint32_t root;
	pid_t ssh;
	int errfd; /* ssh's standard error: its reason when it fails */
	char buf[MSIZE];
};

static int why(struct r9p *p, int err, const char *fmt, const char *arg)
{
	snprintf(p->t.why, sizeof(p->t.why), fmt, arg, strerror(-err));
	return err;
}

static void hang_up(struct r9p *p)
{
	p9c_free(p->c);
	p->c = NULL;
	if (p->ssh > 0) {
		/* its pipes are closed: it would end by itself, but not before its keep-alives
		 * give up on a dead link */
		kill(p->ssh, SIGKILL);
		while (waitpid(p->ssh, NULL, 0) < 0 && errno == EINTR)
			;
		p->ssh = 0;
	}
	if (p->errfd >= 0)
		close(p->errfd);
	p->errfd = -1;
}

static int wait_out(int fd, uint64_t deadline)
{
	for (;;) {
		uint64_t now = p9c_now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		int n = poll(&pf, 1, (int)(deadline - now));
		if (n > 0) {
			int e = 0;
			socklen_t l = sizeof(e);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
			return -e;
		}
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int dial_tcp(struct r9p *p, int *out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	char where[300];
	snprintf(where, sizeof(where), "%.200s:%s", p->tg.host, p->tg.port);
	int g = getaddrinfo(p->tg.host, p->tg.port, &hints, &ai);
	if (g) {
		snprintf(p->t.why, sizeof(p->t.why), "9p: %s: %s", where, gai_strerror(g));
		return -EHOSTUNREACH;
	}
	int e = -EHOSTUNREACH;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			e = -errno;
			continue;
		}
		e = connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0
		    : errno == EINPROGRESS			   ? wait_out(fd, p->t.deadline)
								   : -errno;
		if (!e) {
			int one = 1; /* small requests, one at a time: no Nagle delay */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			*out = fd;
			break;
		}
		close(fd);
	}
	freeaddrinfo(ai);
	return e ? why(p, e, "9p: connect to %s: %s", where) : 0;
}

/* ssh [OPTIONS] USER@HOST vmfs 9p-stdio [--9p-socket PATH]: its stdin and stdout are ours. */
static int spawn_ssh(struct r9p *p, int *rfd, int *wfd)
{
	char *argv[80], opts[sizeof(p->tg.ssh_opts)], cmd[PATH_MAX + 64];
	int n = 0;
	argv[n++] = "ssh";
	static char *const fixed[] = {"-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
				      "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=3",
				      "-o", "LogLevel=ERROR", "-T"};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
		argv[n++] = fixed[i];
	if (*p->tg.port) {
		argv[n++] = "-p";
		argv[n++] = p->tg.port;
	}
	snprintf(opts, sizeof(opts), "%s", p->tg.ssh_opts);
	char *save = NULL;
	for (char *o = strtok_r(opts, ",", &save); o && n < 74; o = strtok_r(NULL, ",", &save)) {
		argv[n++] = "-o";
		argv[n++] = o;
	}
	/* the socket path was checked to hold nothing the remote shell would read */
	snprintf(cmd, sizeof(cmd), "vmfs 9p-stdio%s%s", *p->tg.root ? " --9p-socket " : "",
		 p->tg.root);
	argv[n++] = "--";
	argv[n++] = p->tg.host;
	argv[n++] = cmd;
	argv[n] = NULL;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		int e = -errno;
		for (int i = 0; i < 2; i++) {
			if (in[i] >= 0)
				close(in[i]);
			if (out[i] >= 0)
				close(out[i]);
		}
		return why(p, e, "9p+ssh: %s%s", "pipe: ");
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	/* ssh gets the signals vmfs blocks (for its signalfd) or ignores (SIGPIPE) as usual */
	posix_spawnattr_t at;
	sigset_t none, deflt;
	sigemptyset(&none);
	sigemptyset(&deflt);
	sigaddset(&deflt, SIGPIPE);
	sigaddset(&deflt, SIGTERM);
	sigaddset(&deflt, SIGINT);
	sigaddset(&deflt, SIGHUP);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &deflt);
	extern char **environ;
	int r = posix_spawnp(&p->ssh, "ssh", &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (r) {
		p->ssh = 0;
		close(in[1]);
		close(out[0]);
		close(err[0]);
		return why(p, -r, "9p+ssh: cannot run ssh%s: %s", "");
	}
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	p->errfd = err[0];
	*rfd = out[0];
	*wfd = in[1];
	return 0;
}

/* What ssh said on its way out, for the member's state. */
static void ssh_reason(struct r9p *p)
{
	char msg[200];
	struct pollfd pf = {.fd = p->errfd, .events = POLLIN};
	poll(&pf, 1, 200); /* it writes its reason as it ends */
	ssize_t n = read(p->errfd, msg, sizeof(msg) - 1);
	if (n <= 0)
		return;
	msg[n] = 0;
	for (char *c = msg; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	while (n > 0 && msg[n - 1] == ' ')
		msg[--n] = 0;
	snprintf(p->t.why, sizeof(p->t.why), "9p+ssh: %s", msg);
}

static int ensure(struct r9p *p)
{
	if (p->c && !p9c_broken(p->c))
		return 0;
	hang_up(p);
	int rfd, wfd, e;
	if (p->tg.kind == RK_9P_TCP) {
		if ((e = dial_tcp(p, &rfd)))
			return e;
		wfd = rfd;
	} else if ((e = spawn_ssh(p, &rfd, &wfd))) {
		return e;
	}
	if (!(p->c = p9c_new(rfd, wfd)))
		return -ENOMEM;
	p9c_set_deadline(p->c, p->t.deadline);
	e = p9c_connect(p->c, MSIZE, "root", &p->root);
	if (e) {
		snprintf(p->t.why, sizeof(p->t.why), "9p: %s", *p9c_why(p->c) ? p9c_why(p->c) : strerror(-e));
		if (p->ssh > 0)
			ssh_reason(p);
		hang_up(p);
	}
	return e;
}

/* Every operation: connected first, and the connection let go if it broke meanwhile. */
static int done(struct r9p *p, int r)
{
	if (p->c && p9c_broken(p->c)) {
		snprintf(p->t.why, sizeof(p->t.why), "9p: %s", p9c_why(p->c));
		hang_up(p);
	}
	return r;
}

static int begin(struct r9p *p)
{
	p->t.why[0] = 0;
	int e = ensure(p);
	if (!e)
		p9c_set_deadline(p->c, p->t.deadline);
	return e;
}

static int open_at(struct r9p *p, const char *rel, uint32_t flags, uint32_t *fid)
{
	int e = p9c_walk(p->c, p->root, rel, fid);
	if (!e && (e = p9c_lopen(p->c, *fid, flags)))
		p9c_clunk(p->c, *fid);
	return e;
}

/* rel's directory, walked to a new fid, and its last name */
static int parent_of(struct r9p *p, const char *rel, uint32_t *fid, const char **name)
{
	const char *slash = strrchr(rel, '/');
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - rel) : 0, rel);
	*name = slash ? slash + 1 : rel;
	return p9c_walk(p->c, p->root, dir, fid);
}

static int read_rest(struct r9p *p, uint32_t fid, struct sbuf *out)
{
	uint64_t off = 0;
	for (;;) {
		ssize_t n = p9c_read(p->c, fid, off, p->buf, sizeof(p->buf));
		if (n <= 0)
			return n < 0 ? (int)n : sb_err(out);
		if (out->len + n > READ_MAX)
			return -EFBIG;
		sb_add(out, p->buf, n);
		off += n;
	}
}

static int n9_read(struct rtrans *t, const char *rel, struct sbuf *out)
{
	struct r9p *p = (struct r9p *)t;
	uint32_t f;
	int e = begin(p);
	if (!e && !(e = open_at(p, rel, P9_OREAD, &f))) {
		e = read_rest(p, f, out);
		p9c_clunk(p->c, f);
	}
	return done(p, e);
}

static int n9_write(struct rtrans *t, const char *rel, const char *data, size_t len, bool ctl,
		    struct sbuf *out)
{
	struct r9p *p = (struct r9p *)t;
	uint32_t f;
	const char *name;
	int e = begin(p);
	if (e)
		return done(p, e);
	e = open_at(p, rel, ctl ? P9_ORDWR : P9_OWRITE | P9_OTRUNC, &f);
	if (e == -ENOENT && !ctl && !(e = parent_of(p, rel, &f, &name)) &&
	    (e = p9c_lcreate(p->c, f, name, P9_OWRITE | P9_OTRUNC, 0666)))
		p9c_clunk(p->c, f);
	if (e)
		return done(p, e);
	uint64_t off = 0;
	while (off < len) {
		ssize_t n = p9c_write(p->c, f, off, data + off, len - off);
		if (n <= 0) {
			e = n < 0 ? (int)n : -EIO;
			break;
		}
		off += n;
	}
	if (ctl) /* the answer says why, also after a refused write */
		read_rest(p, f, out);
	p9c_clunk(p->c, f);
	return done(p, e);
}

static int n9_mkdir(struct rtrans *t, const char *rel)
{
	struct r9p *p = (struct r9p *)t;
	uint32_t f;
	const char *name;
	int e = begin(p);
	if (!e && !(e = parent_of(p, rel, &f, &name))) {
		e = p9c_mkdir(p->c, f, name, 0777);
		p9c_clunk(p->c, f);
	}
	return done(p, e);
}

static ssize_t n9_pread(struct rtrans *t, const char *rel, uint64_t *off, char *buf, size_t len)
{
	struct r9p *p = (struct r9p *)t;
	uint32_t f;
	struct p9_attr a;
	ssize_t n = begin(p);
	if (n)
		return done(p, n);
	if ((n = p9c_walk(p->c, p->root, rel, &f)))
		return done(p, n);
	if (!(n = p9c_getattr(p->c, f, &a)) && !(n = p9c_lopen(p->c, f, P9_OREAD))) {
		if (a.size < *off)
			*off = 0;
		n = p9c_read(p->c, f, *off, buf, len);
	}
	p9c_clunk(p->c, f);
	return done(p, n);
}

static void n9_free(struct rtrans *t)
{
	struct r9p *p = (struct r9p *)t;
	hang_up(p);
	free(p);
}

static const struct rtrans_ops ops_9p = {
	.read = n9_read,
	.write = n9_write,
	.mkdir = n9_mkdir,
	.pread = n9_pread,
	.free = n9_free,
};

struct rtrans *r9p_new(const struct rtarget *tg)
{
	struct r9p *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->t.ops = &ops_9p;
	p->tg = *tg;
	p->errfd = -1;
	return &p->t;
}
