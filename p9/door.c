/* The 9P door (p9/door.h): its listeners, who each peer is, and whom it turns away. Its
 * sockets are in vmfs's loop itself: one epoll_wait a message, not one for the loop and one
 * more for an epoll of the door's. */
#include "p9/door.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cluster/chosts.h"
#include "conf/conf.h"
#include "p9/door_int.h"
#include "vmfs/door.h"
#include "vmfs/loop.h"
#include "vmfs/node.h"

#define LOG_WINDOW 10 /* s */
#define LOG_BURST 200
#define ACCEPTS 16 /* a round: the loop's other work is not starved by a flood */

void p9door_log_flush(struct p9door *d, time_t now)
{
	if (now / LOG_WINDOW == d->refuse_win)
		return;
	if (d->unlogged)
		evlog_add(&d->v->log,
			  "error: 9p: %u more refusals in %d s were not logged (a flood)",
			  d->unlogged, LOG_WINDOW);
	d->refuse_win = now / LOG_WINDOW;
	d->refused = d->unlogged = 0;
}

void p9door_log(struct p9door *d, const char *fmt, ...)
{
	p9door_log_flush(d, time(NULL));
	if (++d->refused > LOG_BURST) {
		d->unlogged++;
		return;
	}
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	evlog_add(&d->v->log, "%s", line); /* evlog escapes control bytes */
}

/* ---- who may connect ---- */

static bool peer_listed(const struct p9door *d, uint32_t addr)
{
	for (int i = 0; i < d->npeers; i++)
		if ((addr & d->peers[i].mask) == d->peers[i].net)
			return true;
	return false;
}

/* p9_peers: addresses and networks (A.B.C.D, A.B.C.D/N), by commas or blanks. */
static int peers_parse(struct p9door *d, const char *list, char *err, size_t errlen)
{
	char *copy = strdup(list), *save = NULL;
	if (!copy)
		return -ENOMEM;
	int r = 0;
	for (char *t = strtok_r(copy, ", \t", &save); t && !r; t = strtok_r(NULL, ", \t", &save)) {
		if (!strcmp(t, "cluster")) {
			d->cluster_peers = true;
			continue;
		}
		char *slash = strchr(t, '/'), *end = NULL;
		long bits = 32;
		struct in_addr a;
		if (slash) {
			*slash = 0;
			bits = strtol(slash + 1, &end, 10);
		}
		if ((slash && (end == slash + 1 || *end || bits < 0 || bits > 32)) ||
		    inet_pton(AF_INET, t, &a) != 1) {
			snprintf(err, errlen,
				 "9p: p9_peers: \"%.64s%s%.8s\" is not an IPv4 address, a "
				 "network (A.B.C.D or A.B.C.D/N) or cluster",
				 t, slash ? "/" : "", slash ? slash + 1 : "");
			r = -EINVAL;
		} else if (d->npeers == P9_PEERS_MAX) {
			snprintf(err, errlen, "9p: p9_peers: more than %d entries", P9_PEERS_MAX);
			r = -EINVAL;
		} else {
			uint32_t mask = bits ? ~0u << (32 - bits) : 0;
			d->peers[d->npeers].mask = mask;
			d->peers[d->npeers++].net = ntohl(a.s_addr) & mask;
		}
	}
	free(copy);
	if (!r && !d->npeers && !d->cluster_peers) {
		snprintf(err, errlen, "9p: p9_peers is empty: no peer could connect over TCP");
		r = -EINVAL;
	}
	return r;
}

/* p9_user: a name, or a number; what every TCP peer acts as. */
static int user_parse(struct p9door *d, const char *name, char *err, size_t errlen)
{
	struct passwd pw, *p = NULL;
	char buf[4096], *end;
	unsigned long uid = strtoul(name, &end, 10);
	if (*name && !*end)
		getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &p);
	else
		getpwnam_r(name, &pw, buf, sizeof(buf), &p);
	if (!p) {
		snprintf(err, errlen, "9p: p9_user: no user \"%.64s\" on this host", name);
		return -EINVAL;
	}
	who_of(&d->tcp_who, p->pw_uid, p->pw_gid);
	snprintf(d->tcp_user, sizeof(d->tcp_user), "%.40s (uid %u)", p->pw_name,
		 (unsigned)p->pw_uid);
	return 0;
}

/* ---- admission ---- */

static int peer_count(const struct p9door *d, bool tcp, uint32_t addr, uid_t uid)
{
	int n = 0;
	for (const struct link *l = d->links; l; l = l->next)
		n += !l->dead && l->tcp == tcp && (tcp ? l->addr == addr : l->uid == uid);
	return n;
}

static const char *too_many(const struct p9door *d, bool tcp, uint32_t addr, uid_t uid)
{
	if (d->nlinks >= P9_CONNS)
		return "the door has 512 connections open already, the most it takes";
	if (peer_count(d, tcp, addr, uid) >= P9_CONNS_PER_PEER)
		return tcp ? "this address has 32 connections open already, the most one may"
			   : "this user has 32 connections open already, the most one may";
	return NULL;
}

/* p9_peers = cluster: the address of another host of the cluster, from its alive record. */
static bool cluster_peer(const struct p9door *d, const char *ip)
{
	return d->cluster_peers && d->v->chosts && chosts_addr_known(d->v->chosts, ip);
}

static void admit_tcp(struct p9door *d, int fd, const struct sockaddr_in *sa)
{
	char who[64], ip[INET_ADDRSTRLEN] = "?";
	inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip));
	snprintf(who, sizeof(who), "%s:%u", ip, ntohs(sa->sin_port));
	uint32_t addr = ntohl(sa->sin_addr.s_addr);
	bool listed = peer_listed(d, addr) || cluster_peer(d, ip);
	const char *why = sa->sin_family != AF_INET ? "not an IPv4 peer"
			  : !listed		    ? "its address is not in p9_peers"
						    : too_many(d, true, addr, 0);
	struct vcred cred = {.uid = d->tcp_who.uid, .gid = d->tcp_who.gid, .umask = 022};
	int one = 1; /* a peer gone without a word does not hold its place for ever */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (why) {
		p9door_log(d, "error: 9p: a connection from %s: refused: %s", who, why);
		close(fd);
	} else if (link_open(d, fd, &cred, &d->tcp_who, who, true, addr)) {
		p9door_log(d, "error: 9p: a connection from %s: refused: out of memory", who);
	}
}

/* The peer's supplementary groups when it connected (SO_PEERGROUPS): how many, the first
 * WHO_GROUPS_MAX of them in groups; -1 if the kernel cannot say. */
static int peer_groups(int fd, gid_t *groups)
{
	socklen_t len = WHO_GROUPS_MAX * sizeof(gid_t);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
		return (int)(len / sizeof(gid_t));
	if (errno != ERANGE)
		return -1;
	gid_t *all = malloc(len); /* len says how much it needs: ask again, keep the first */
	int n = all && getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, all, &len) == 0
		    ? (int)(len / sizeof(gid_t))
		    : -1;
	if (n > WHO_GROUPS_MAX)
		n = WHO_GROUPS_MAX;
	for (int i = 0; i < n; i++)
		groups[i] = all[i];
	free(all);
	return n;
}

/* The peer on the socket: its uid, gid and groups when it connected, from the kernel. */
static void admit_unix(struct p9door *d, int fd)
{
	struct ucred uc = {0};
	socklen_t len = sizeof(uc);
	struct who w = {0};
	char who[64] = "an unknown peer";
	const char *why = NULL;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) {
		why = "the kernel does not say who it is (SO_PEERCRED)";
	} else {
		snprintf(who, sizeof(who), "uid %u (pid %d)", (unsigned)uc.uid, (int)uc.pid);
		w.uid = uc.uid;
		w.gid = uc.gid;
		int n = peer_groups(fd, w.groups);
		if (n >= 0)
			w.ngroups = n;
		else
			who_of(&w, uc.uid, uc.gid); /* a kernel before 4.13: the user's groups */
		why = too_many(d, false, 0, uc.uid);
	}
	struct vcred cred = {.uid = w.uid, .gid = w.gid, .pid = uc.pid, .umask = 022};
	if (why) {
		p9door_log(d, "error: 9p: a connection on %s from %s: refused: %s", d->sock, who,
			   why);
		close(fd);
	} else if (link_open(d, fd, &cred, &w, who, false, 0)) {
		p9door_log(d, "error: 9p: a connection from %s: refused: out of memory", who);
	}
}

static void accept_some(struct p9door *d, bool tcp)
{
	for (int i = 0; i < ACCEPTS; i++) {
		struct sockaddr_in sa = {0};
		socklen_t len = sizeof(sa);
		int fd = accept4(tcp ? d->tcpfd : d->unixfd, tcp ? (struct sockaddr *)&sa : NULL,
				 tcp ? &len : NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			/* out of descriptors or memory, the connection stays queued and the
			 * listener readable: it rests until the next tick rather than wake the loop
			 * without end */
			bool full = e == EMFILE || e == ENFILE || e == ENOMEM || e == ENOBUFS;
			if (full) {
				loop_del_fd(d->loop, tcp ? d->tcpfd : d->unixfd);
				d->resting |= tcp ? 1 : 2;
			}
			if (full || (e != EAGAIN && e != EINTR && e != ECONNABORTED))
				p9door_log(d, "error: 9p: cannot accept a connection: %s%s",
					   strerror(e), full ? " (the next try in 2 s)" : "");
			return;
		}
		if (tcp)
			admit_tcp(d, fd, &sa);
		else
			admit_unix(d, fd);
	}
}

static int on_tcp(void *arg)
{
	accept_some(arg, true);
	return 0;
}

static int on_unix(void *arg)
{
	accept_some(arg, false);
	return 0;
}

int p9door_run(struct p9door *d) { return loop_poll(d->loop, 0); }

static int watch(struct p9door *d, bool tcp)
{
	int fd = tcp ? d->tcpfd : d->unixfd;
	return fd < 0 ? 0 : loop_add_fd(d->loop, fd, tcp ? on_tcp : on_unix, d);
}

int p9door_tick(void *arg)
{
	struct p9door *d = arg;
	p9door_log_flush(d, time(NULL));
	if ((d->resting & 1) && !watch(d, true))
		d->resting &= ~1;
	if ((d->resting & 2) && !watch(d, false))
		d->resting &= ~2;
	return 0;
}

/* ---- listeners ---- */

static int listen_tcp(struct p9door *d, const char *addrport, char *err, size_t errlen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	const char *colon = strrchr(addrport, ':');
	char host[INET_ADDRSTRLEN];
	snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - addrport) : 0, addrport);
	long port = colon ? strtol(colon + 1, NULL, 10) : 0;
	if (!colon || inet_pton(AF_INET, host, &sa.sin_addr) != 1 || port < 1 || port > 65535) {
		snprintf(err, errlen, "9p: \"%.64s\" is not ADDR:PORT, as in 127.0.0.1:5640",
			 addrport);
		return -EINVAL;
	}
	sa.sin_port = htons((uint16_t)port);
	int one = 1;
	d->tcpfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->tcpfd < 0 || setsockopt(d->tcpfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(d->tcpfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(d->tcpfd, 64)) {
		int e = errno;
		snprintf(err, errlen, "9p: cannot listen on %s: %s", addrport, strerror(e));
		return -e;
	}
	snprintf(d->addr, sizeof(d->addr), "%s", addrport);
	return 0;
}

/* A socket left at path by a vmfs that died is replaced; one a live server answers on, or
 * anything not a socket, is not touched. */
static int clear_old_socket(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "9p: %s exists and is not a socket: not replaced", path);
		return -EEXIST;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int live = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	if (live) {
		snprintf(err, errlen,
			 "9p: %s is in use: another server (a running vmfs?) answers "
			 "on it",
			 path);
		return -EADDRINUSE;
	}
	return unlink(path) < 0 ? -errno : 0;
}

static int listen_unix(struct p9door *d, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen,
			 "9p: p9_socket %.200s: longer than %zu bytes, the most a socket's "
			 "path may be",
			 path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	char dir[sizeof(sa.sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0755); /* /run/vmfs: each peer acts as itself, so anyone may connect */
	}
	int r = clear_old_socket(path, err, errlen);
	if (r) {
		if (!*err)
			snprintf(err, errlen, "9p: %s: %s", path, strerror(-r));
		return r;
	}
	d->unixfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t old = umask(0111); /* 0666: the mode is no guard here, SO_PEERCRED is */
	r = d->unixfd < 0 || bind(d->unixfd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old);
	struct stat st;
	if (!r && (listen(d->unixfd, 64) || stat(path, &st)))
		r = -errno;
	if (r) {
		snprintf(err, errlen, "9p: cannot listen on %s: %s", path, strerror(-r));
		return r;
	}
	snprintf(d->sock, sizeof(d->sock), "%s", path);
	d->sock_dev = st.st_dev;
	d->sock_ino = st.st_ino;
	return 0;
}

/* ---- the door ---- */

static void door_free(struct p9door *d)
{
	while (d->links) {
		struct link *l = d->links;
		d->links = l->next;
		*l->why = 0; /* vmfs ends: no error */
		link_close(l);
	}
	p9_conns_closed_free();
	struct stat st;
	/* the socket only if it is still the one made: another may have replaced it */
	if (*d->sock && !lstat(d->sock, &st) && st.st_dev == d->sock_dev &&
	    st.st_ino == d->sock_ino)
		unlink(d->sock);
	for (int i = 0; i < 2; i++) {
		int fd = i ? d->unixfd : d->tcpfd;
		if (fd >= 0 && d->loop && !(d->resting & (1u << i)))
			loop_del_fd(d->loop, fd);
		if (fd >= 0)
			close(fd);
	}
	free(d);
}

int p9door_watch(struct p9door *d, struct loop *l)
{
	d->loop = l;
	int r = watch(d, true);
	if (!r && (r = watch(d, false)))
		loop_del_fd(l, d->tcpfd); /* half watched: door_free must know what is */
	if (r)
		d->loop = NULL;
	return r;
}

static int door_attach(void *self, struct loop *l)
{
	struct p9door *d = self;
	int r = p9door_watch(d, l);
	return r ? r : loop_add_timer(l, 2000, p9door_tick, d);
}

/* The loop has ended: what connections wait for is abandoned, they close. */
static void door_stop(void *self) { door_free(self); }

static const struct door_ops p9_door_ops = {door_attach, door_stop, NULL};

int p9_door_open(struct vmfs *v, const struct vmfs_conf *c, struct door *out, char *err,
		 size_t errlen)
{
	struct p9door *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	*d = (struct p9door){.v = v, .tcpfd = -1, .unixfd = -1};
	*err = 0;
	int r = 0;
	if (*c->p9 && !(r = peers_parse(d, c->p9_peers, err, errlen)) && d->cluster_peers &&
	    !*c->etcd) {
		snprintf(err, errlen, "9p: p9_peers: cluster names the hosts of an etcd cluster, and "
			 "vmfs.conf names no etcd");
		r = -EINVAL;
	}
	if (*c->p9 && !r &&
	    !(r = user_parse(d, c->p9_user, err, errlen)))
		r = listen_tcp(d, c->p9, err, errlen);
	if (!r && *c->p9_socket)
		r = listen_unix(d, c->p9_socket, err, errlen);
	if (r) {
		if (!*err)
			snprintf(err, errlen, "9p: %s", strerror(-r));
		door_free(d);
		return r;
	}
	if (*d->addr)
		evlog_add(&v->log, "9p: serving %s over TCP to the peers %s, each acting as %s",
			  d->addr, c->p9_peers, d->tcp_user);
	if (*d->addr && d->tcp_who.uid == 0)
		evlog_add(&v->log,
			  "warning: 9p: TCP peers act as root (p9_user): host root to "
			  "anyone who reaches %s from %s",
			  d->addr, c->p9_peers);
	if (*d->sock)
		evlog_add(&v->log, "9p: serving %s, each peer acting as its own user", d->sock);
	*out = (struct door){&p9_door_ops, d, -1};
	return 0;
}
