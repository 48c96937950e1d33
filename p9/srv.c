/* The 9P2000.L server core (p9/srv.h): each message decoded (p9/msg.c), run through the
 * vreq_* operations as the connection's peer, and answered; errors are vmfs's own errno in
 * Rlerror (9P2000.L's codes are Linux's). */
#include "p9/srv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "p9/msg.h"
#include "p9/perm.h"
#include "vmfs/vreq.h"

/* Tlopen's and Tlcreate's flags are the protocol's (Linux x86's values), not this host's */
#define DOTL_ACCMODE 03
#define DOTL_NONBLOCK 04000
#define DOTL_APPEND 02000
#define DOTL_TRUNC 01000
#define DOTL_EXCL 0200
#define P9_AT_REMOVEDIR 0x200
/* Tsetattr's valid bits */
#define SA_MODE 0x01
#define SA_UID 0x02
#define SA_GID 0x04
#define SA_SIZE 0x08
#define SA_ATIME 0x10
#define SA_MTIME 0x20
#define SA_ATIME_SET 0x80
#define SA_MTIME_SET 0x100
#define V9FS_MAGIC 0x01021997

struct fid {
	struct fid *next;
	uint32_t id;
	uint64_t ino;
	uint8_t qtype;
	bool open;
	struct vhandle *h; /* an open file's (a directory's open has none) */
	/* where Tremove finds it: the directory and name it was last walked to by, NULL at
	 * the root or when reached by ".." (no name known) */
	uint64_t parent;
	char *name;
};

/* A request that may wait: a Tread or Twrite; a Tmkdir (a launch, in a namespace of a
 * cluster on etcd), an rmdir (of another host's object) or a Tsetattr (of a namespace of the
 * cluster), answered when what the mount parks its request for ends (vmfs/vreq.h). Its vreq
 * first, so respond finds the rest. */
struct pend {
	struct vreq q;
	struct p9_conn *c;
	struct pend *next;
	struct fid *fid; /* a read's or write's (a clunk of it ends the wait), else NULL */
	uint16_t tag;
	uint8_t type;
	bool flushed; /* a held one (no fid) whose Tflush was answered: its end is not */
};

struct p9_conn {
	struct vmfs *v;
	struct vcred cred;
	uint64_t peer;	/* whose the held cap counts (p9_conn_set_tcp_peer): a uid, or TCP_PEER | addr */
	struct who who; /* cred's uid and gid, with the peer's groups */
	p9_send_fn send;
	void *ctx;
	uint32_t msize;
	bool versioned;
	struct fid *fids;
	int nfids;
	struct pend *pend;
	int npend;
	int nheld; /* of them, those with no fid: each may hold a thread until its work ends */
	bool said_held; /* the log said that P9_HELD_MAX were reached */
	bool closed;	/* the peer is gone: c lives on, answering nothing, till its held work ends */
	struct p9_conn *next_closed, **prev_closed; /* on closed_conns while closed */
	uint8_t *out; /* msize bytes: one reply at a time */
	char why[256];
};

struct p9_conn *p9_conn_new(struct vmfs *v, const struct vcred *cred, p9_send_fn send, void *ctx)
{
	struct p9_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	*c =
	    (struct p9_conn){.v = v, .cred = *cred, .send = send, .ctx = ctx, .msize = P9_MINMSIZE};
	c->who = (struct who){.uid = cred->uid, .gid = cred->gid};
	c->peer = cred->uid;
	c->out = malloc(c->msize);
	if (!c->out) {
		free(c);
		return NULL;
	}
	return c;
}

void p9_conn_set_groups(struct p9_conn *c, const gid_t *groups, int n)
{
	c->who.ngroups = n < WHO_GROUPS_MAX ? n : WHO_GROUPS_MAX;
	for (int i = 0; i < c->who.ngroups; i++)
		c->who.groups[i] = groups[i];
}

uint32_t p9_conn_msize(const struct p9_conn *c) { return c->msize; }

const char *p9_conn_why(const struct p9_conn *c) { return c->why; }

int p9_conn_waiting(const struct p9_conn *c) { return c->npend; }

static void reply(struct p9_conn *c, struct p9_msg *r)
{
	long n = p9_encode(r, c->out, c->msize);
	if (n < 0) { /* only a reply vmfs made too big: say so rather than nothing */
		struct p9_msg e = {.type = P9_RLERROR, .tag = r->tag, .ecode = EMSGSIZE};
		n = p9_encode(&e, c->out, c->msize);
	}
	c->send(c->ctx, c->out, n);
}

static void lerror(struct p9_conn *c, uint16_t tag, int err)
{
	struct p9_msg r = {.type = P9_RLERROR, .tag = tag, .ecode = err};
	reply(c, &r);
}

__attribute__((format(printf, 3, 4))) static int refuse(struct p9_conn *c, int err, const char *fmt,
							...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return err;
}

static struct vreq req(struct p9_conn *c) { return (struct vreq){.v = c->v, .cred = c->cred}; }

/* ---- fids ---- */

static struct fid *fid_get(struct p9_conn *c, uint32_t id)
{
	for (struct fid *f = c->fids; f; f = f->next)
		if (f->id == id)
			return f;
	return NULL;
}

static int fid_new(struct p9_conn *c, uint32_t id, uint64_t ino, uint8_t qtype)
{
	if (id == P9_NOFID)
		return refuse(c, -EBADF, "NOFID (~0) named as a new fid");
	if (c->nfids >= P9_MAXFIDS)
		return refuse(c, -EMFILE, "more than %d fids on one connection", P9_MAXFIDS);
	struct fid *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	*f = (struct fid){.next = c->fids, .id = id, .ino = ino, .qtype = qtype};
	c->fids = f;
	c->nfids++;
	return 0;
}

#define TCP_PEER (1ull << 32)

void p9_conn_set_tcp_peer(struct p9_conn *c, uint32_t addr) { c->peer = TCP_PEER | addr; }

/* held requests of every connection, the closed ones' too, whose work has not ended */
static int held_all;
/* the same by peer: each with one held (so at most P9_HELD_ALL_MAX of them) */
static struct {
	uint64_t peer;
	int n;
} held_by[P9_HELD_ALL_MAX];

static int *held_of(uint64_t peer)
{
	int *free_slot = NULL;
	for (size_t i = 0; i < P9_HELD_ALL_MAX; i++) {
		if (held_by[i].n && held_by[i].peer == peer)
			return &held_by[i].n;
		if (!held_by[i].n && !free_slot) {
			free_slot = &held_by[i].n;
			held_by[i].peer = peer;
		}
	}
	return free_slot;
}

/* Which cap a new held request of c meets: 0 none, else the cap's number. */
static int held_cap(const struct p9_conn *c)
{
	if (c->nheld >= P9_HELD_MAX)
		return P9_HELD_MAX;
	/* (no slot: every one is some peer's, which the cap of all stops before) */
	const int *n = held_of(c->peer);
	if (c->peer && n && *n >= P9_HELD_PEER_MAX) /* (local root's: the caps of all only) */
		return -P9_HELD_PEER_MAX; /* (negative: the peer's, not the connection's) */
	if (!n || held_all >= (c->cred.uid ? P9_HELD_ALL_MAX - P9_HELD_ROOT_KEEP : P9_HELD_ALL_MAX))
		return P9_HELD_ALL_MAX;
	return 0;
}

static void held_add(struct p9_conn *c, int d)
{
	int *n = held_of(c->peer); /* (found: held_cap found it, or one is held) */
	c->nheld += d;
	held_all += d;
	if (n)
		*n += d;
}
/* the closed connections whose held work has not ended */
static struct p9_conn *closed_conns;

static void pend_unlink(struct p9_conn *c, struct pend *p)
{
	for (struct pend **pp = &c->pend; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			c->npend--;
			if (!p->fid)
				held_add(c, -1);
			return;
		}
}

/* p waits no more and is not answered; what it started goes on (vreq_abandon). */
static void pend_drop(struct p9_conn *c, struct pend *p)
{
	vreq_abandon(&p->q);
	pend_unlink(c, p);
	free(p);
}

static void pends_drop_all(struct p9_conn *c)
{
	while (c->pend)
		pend_drop(c, c->pend);
}

/* What waits on f waits no more (answered EINTR if answer: a clunk under its feet), then
 * its open file closes and it goes. */
static void fid_drop(struct p9_conn *c, struct fid *f, bool answer)
{
	for (struct pend *p = c->pend, *next; p; p = next) {
		next = p->next;
		if (p->fid != f)
			continue;
		if (answer)
			lerror(c, p->tag, EINTR);
		pend_drop(c, p);
	}
	if (f->h) {
		struct vreq q = req(c);
		q.h = f->h;
		vreq_release(&q);
	}
	for (struct fid **pp = &c->fids; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			c->nfids--;
			break;
		}
	free(f->name);
	free(f);
}

static void fids_drop_all(struct p9_conn *c)
{
	while (c->fids)
		fid_drop(c, c->fids, false);
}

/* The held requests (no fid) are answered no more but wait on, counted in nheld until their
 * work ends; the others go with their fids. */
static void pends_orphan(struct p9_conn *c)
{
	fids_drop_all(c);
	for (struct pend *p = c->pend; p; p = p->next)
		p->flushed = true;
}

static void conn_destroy(struct p9_conn *c)
{
	if (c->prev_closed) {
		*c->prev_closed = c->next_closed;
		if (c->next_closed)
			c->next_closed->prev_closed = c->prev_closed;
	}
	pends_drop_all(c);
	fids_drop_all(c);
	free(c->out);
	free(c);
}

/* After a held request's end: a closed connection with nothing left goes. */
static void conn_reap(struct p9_conn *c)
{
	if (c->closed && !c->pend)
		conn_destroy(c);
}

void p9_conn_free(struct p9_conn *c)
{
	if (!c)
		return;
	if (c->v->exiting) { /* nothing will end the waits: what they started goes on alone */
		conn_destroy(c);
		return;
	}
	pends_orphan(c);
	c->closed = true;
	if (!c->pend) {
		conn_destroy(c);
		return;
	}
	c->next_closed = closed_conns;
	c->prev_closed = &closed_conns;
	if (closed_conns)
		closed_conns->prev_closed = &c->next_closed;
	closed_conns = c;
}

void p9_conns_closed_free(void)
{
	while (closed_conns)
		conn_destroy(closed_conns);
}

/* ---- what a node is, in 9P's words ---- */

static uint8_t qtype_of(mode_t mode)
{
	return S_ISDIR(mode) ? P9_QTDIR : S_ISLNK(mode) ? P9_QTSYMLINK : P9_QTFILE;
}

/* path: the inode number, the same across restarts (vmfs/node.h); version: node_version
 * where the node is at hand, 0 in a listing */
static struct p9_qid qid_of(const struct stat *st)
{
	return (struct p9_qid){qtype_of(st->st_mode), 0, st->st_ino};
}

/* n's qid, by its attributes (images/ holds real files of any type) */
static int node_qid(struct vreq *q, const struct vnode *n, struct p9_qid *qid)
{
	struct stat st;
	int r = vreq_getattr(q, n, &st);
	if (!r) {
		st.st_ino = n->ino;
		*qid = qid_of(&st);
		qid->version = node_version(n, &st);
	}
	return r;
}

/* A name a client sends: one name, never "." or ".." (a walk takes ".." itself). */
static int name_of(struct p9_conn *c, struct p9_str s, char *buf, size_t size)
{
	if (p9_str_copy(buf, size, s))
		return refuse(c, -ENAMETOOLONG, "a name longer than %d bytes", NAME_MAX);
	if (!*buf || !strcmp(buf, ".") || !strcmp(buf, "..") || strchr(buf, '/'))
		return refuse(c, -EINVAL, "\"%s\" is not a name in a directory", buf);
	return 0;
}

static int fid_node(struct p9_conn *c, uint32_t id, struct fid **f, struct vnode *n)
{
	*f = fid_get(c, id);
	if (!*f)
		return refuse(c, -EBADF, "no such fid");
	return node_from_ino(c->v, (*f)->ino, n);
}

/* The kernel's check before it asks a FUSE daemon (p9/perm.h): vmfs's operations trust it
 * was made. Root passes (a search of a file, the one thing it may not do, is no 9P request). */
static int may(struct p9_conn *c, struct vreq *q, const struct vnode *n, int mask)
{
	struct stat st;
	if (c->who.uid == 0)
		return 0;
	int r = vreq_getattr(q, n, &st);
	if (!r && (r = p9_may(&c->who, &st, mask)))
		refuse(c, r, "uid %u may not %s%s%s it (mode %04o, owner %u:%u)",
		       (unsigned)c->who.uid, mask & R_OK ? "read " : "",
		       mask & W_OK ? "write " : "", mask & X_OK ? "search" : "",
		       (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid);
	return r;
}

/* ---- the messages ---- */

static int do_version(struct p9_conn *c, const struct p9_msg *m)
{
	if (m->msize < P9_MINMSIZE)
		return refuse(c, -EINVAL, "an msize under %d", P9_MINMSIZE);
	uint32_t msize = m->msize < P9_MAXMSIZE ? m->msize : P9_MAXMSIZE;
	uint8_t *out = realloc(c->out, msize);
	if (!out)
		return -ENOMEM;
	/* a new session: what the last one waited for and had open goes (its held work, never
	 * answered now, still counts till it ends) */
	pends_orphan(c);
	c->out = out;
	c->msize = msize;
	bool ours = m->s1.len == strlen(P9_VERSION) && !memcmp(m->s1.s, P9_VERSION, m->s1.len);
	c->versioned = ours;
	struct p9_msg r = {.type = P9_RVERSION, .tag = m->tag, .msize = msize};
	r.s1 =
	    ours ? (struct p9_str){P9_VERSION, strlen(P9_VERSION)} : (struct p9_str){"unknown", 7};
	reply(c, &r);
	return 0;
}

static int do_attach(struct p9_conn *c, const struct p9_msg *m)
{
	struct vreq q = req(c);
	struct vnode root;
	struct p9_msg r = {.type = P9_RATTACH, .tag = m->tag};
	/* who asks is the peer the door saw, whatever uname and n_uname say */
	if (m->fid2 != P9_NOFID)
		return refuse(c, -EINVAL, "an attach with an afid: vmfs has no auth");
	if (fid_get(c, m->fid))
		return refuse(c, -EBADF, "an attach to a fid in use");
	int r2 = node_from_ino(c->v, NODE_ROOT_INO, &root);
	if (!r2)
		r2 = node_qid(&q, &root, &r.qid);
	if (r2)
		return r2;
	if ((r2 = fid_new(c, m->fid, NODE_ROOT_INO, r.qid.type)))
		return r2;
	reply(c, &r);
	return 0;
}

/* Where Tremove will find f: in parent, by name ("": no name known). Out of memory, no name. */
static void fid_place(struct fid *f, uint64_t parent, const char *name)
{
	free(f->name);
	f->name = *name ? strdup(name) : NULL;
	f->parent = parent;
}

/* One step of a walk from dir: a name, or ".." (the root's is the root, as 9P says); name
 * gets the step's name, "" for "..". */
static int walk_step(struct p9_conn *c, struct vreq *q, const struct vnode *dir, struct p9_str s,
		     char *name, size_t size, struct vnode *out)
{
	bool up = s.len == 2 && !memcmp(s.s, "..", 2);
	int err = up ? 0 : name_of(c, s, name, size);
	if (!err)
		err = may(c, q, dir, X_OK);
	if (err)
		return err;
	if (!up)
		return vreq_lookup(q, dir, name, out);
	*name = 0;
	if (dir->ino != NODE_ROOT_INO)
		return vreq_lookup(q, dir, "..", out);
	*out = *dir;
	return 0;
}

static int do_walk(struct p9_conn *c, const struct p9_msg *m)
{
	struct fid *f;
	struct vnode n;
	struct vreq q = req(c);
	int err = fid_node(c, m->fid, &f, &n);
	if (err)
		return err;
	if (f->open)
		return refuse(c, -EBADF, "a walk from an open fid");
	if (m->fid2 != m->fid && fid_get(c, m->fid2))
		return refuse(c, -EBADF, "a walk to a fid in use");
	struct p9_msg r = {.type = P9_RWALK, .tag = m->tag};
	uint8_t qtype = f->qtype;
	uint64_t parent = f->parent;
	char name[NAME_MAX + 1];
	snprintf(name, sizeof(name), "%s", f->name ? f->name : "");
	for (int i = 0; i < m->nwname; i++) {
		char step[NAME_MAX + 1];
		struct vnode out;
		err = walk_step(c, &q, &n, m->wname[i], step, sizeof(step), &out);
		if (!err)
			err = node_qid(&q, &out, &r.wqid[i]);
		if (err) {
			if (i == 0)
				return err;
			break; /* a walk cut short: the qids so far, and no newfid */
		}
		parent = n.ino;
		memcpy(name, step, sizeof(name));
		n = out;
		qtype = r.wqid[i].type;
		r.nwqid = i + 1;
	}
	if (r.nwqid == m->nwname) {
		if (m->fid2 != m->fid && (err = fid_new(c, m->fid2, n.ino, qtype)))
			return err;
		struct fid *to = fid_get(c, m->fid2);
		to->ino = n.ino;
		to->qtype = qtype;
		fid_place(to, parent, name);
	}
	reply(c, &r);
	return 0;
}

static int open_flags(uint32_t fl)
{
	int acc = fl & DOTL_ACCMODE;
	return (acc == 1   ? O_WRONLY
		: acc == 2 ? O_RDWR
			   : O_RDONLY) |
	       (fl & DOTL_NONBLOCK ? O_NONBLOCK : 0) | (fl & DOTL_APPEND ? O_APPEND : 0) |
	       (fl & DOTL_TRUNC ? O_TRUNC : 0) | (fl & DOTL_EXCL ? O_EXCL : 0);
}

static int do_lopen(struct p9_conn *c, const struct p9_msg *m)
{
	struct fid *f;
	struct vnode n;
	struct vreq q = req(c);
	int err = fid_node(c, m->fid, &f, &n);
	if (err)
		return err;
	if (f->open)
		return refuse(c, -EBADF, "a fid opened twice");
	struct p9_msg r = {.type = P9_RLOPEN, .tag = m->tag};
	if ((err = node_qid(&q, &n, &r.qid)))
		return err;
	int acc = m->flags & DOTL_ACCMODE;
	int mask = (acc == 0 || acc == 2 ? R_OK : 0) | (acc ? W_OK : 0) |
		   (m->flags & DOTL_TRUNC ? W_OK : 0);
	if ((err = may(c, &q, &n, mask)))
		return err;
	/* a directory is read by Treaddir, through its node: nothing to open */
	if (r.qid.type != P9_QTDIR && (err = vreq_open(&q, &n, open_flags(m->flags))))
		return err;
	f->h = q.h;
	f->open = true;
	reply(c, &r);
	return 0;
}

static int do_lcreate(struct p9_conn *c, const struct p9_msg *m)
{
	struct fid *f;
	struct vnode dir, out;
	struct vreq q = req(c);
	char name[NAME_MAX + 1];
	int err = fid_node(c, m->fid, &f, &dir);
	if (!err && f->open)
		err = refuse(c, -EBADF, "a create through an open fid");
	if (!err)
		err = name_of(c, m->s1, name, sizeof(name));
	if (!err)
		err = may(c, &q, &dir, W_OK | X_OK);
	if (!err)
		err = vreq_create(&q, &dir, name, m->mode & 07777, open_flags(m->flags) | O_CREAT,
				  &out);
	if (err)
		return err;
	struct p9_msg r = {.type = P9_RLCREATE, .tag = m->tag};
	if ((err = node_qid(&q, &out, &r.qid))) {
		vreq_release(&q);
		return err;
	}
	fid_place(f, f->ino, name);
	f->ino = out.ino;
	f->qtype = r.qid.type;
	f->h = q.h;
	f->open = true;
	reply(c, &r);
	return 0;
}

/* A pending request's answer: Rlerror, or its R-message (a read's data; the others but
 * Rmkdir have no fields). */
static void pend_respond(struct vreq *q, ssize_t n)
{
	struct pend *p = (struct pend *)q;
	struct p9_conn *c = p->c;
	pend_unlink(c, p);
	if (n < 0 && !p->flushed) {
		lerror(c, p->tag, -n);
	} else if (!p->flushed) {
		struct p9_msg r = {.type = p->type + 1, .tag = p->tag, .count = n};
		r.data = (const uint8_t *)q->data;
		reply(c, &r);
	}
	free(p);
	conn_reap(c);
}

/* m's request as one that may wait (for fid f, or NULL), answered through pend_respond; NULL
 * when out of memory or (no fid) P9_HELD_MAX wait already: pend_fail says which. */
static struct pend *pend_new(struct p9_conn *c, struct fid *f, const struct p9_msg *m)
{
	struct pend *p = f || !held_cap(c) ? calloc(1, sizeof(*p)) : NULL;
	if (!p)
		return NULL;
	if (!f)
		held_add(c, 1);
	*p = (struct pend){.c = c, .next = c->pend, .fid = f, .tag = m->tag, .type = m->type};
	p->q = req(c);
	p->q.respond = pend_respond;
	c->pend = p;
	c->npend++;
	return p;
}

/* Why pend_new gave NULL (no fid): a cap (EAGAIN, in words, said once a connection in the
 * log: a flood would fill it) or memory. */
static int pend_fail(struct p9_conn *c)
{
	int cap = held_cap(c);
	const char *whose = "this connection";
	if (cap == P9_HELD_ALL_MAX)
		whose = c->cred.uid ? "all users but root" : "all connections";
	else if (cap == -P9_HELD_PEER_MAX)
		whose = c->peer & TCP_PEER ? "this peer's address (all its connections)"
					   : "this user (all its connections)";
	int n = abs(cap) - (cap == P9_HELD_ALL_MAX && c->cred.uid ? P9_HELD_ROOT_KEEP : 0);
	if (!cap)
		return -ENOMEM;
	if (!c->said_held)
		evlog_add(&c->v->log,
			  "9p: %d mkdir, rmdir or setattr requests of %s wait: further ones of uid "
			  "%u are refused EAGAIN until one ends",
			  n, whose, (unsigned)c->cred.uid);
	c->said_held = true;
	return refuse(c, -EAGAIN,
		      "%d mkdir, rmdir or setattr requests of %s wait already: try again once one "
		      "is answered",
		      n, whose);
}

/* Tread and Twrite: through the fid's open file, as a request that may wait. */
static int do_io(struct p9_conn *c, const struct p9_msg *m)
{
	struct fid *f = fid_get(c, m->fid);
	if (!f)
		return refuse(c, -EBADF, "no such fid");
	if (f->open && !f->h)
		return -EISDIR;
	int acc = f->h ? f->h->flags & O_ACCMODE : -1;
	bool write = m->type == P9_TWRITE;
	if (!f->h || (write ? acc == O_RDONLY : acc == O_WRONLY))
		return refuse(c, -EBADF, "a fid not open for %s", write ? "writing" : "reading");
	if (m->offset > LLONG_MAX)
		return -EINVAL;
	struct pend *p = pend_new(c, f, m);
	if (!p)
		return -ENOMEM;
	p->q.h = f->h;
	/* answered through pend_respond, now or later: p is not touched after the call */
	if (write) {
		vreq_write(&p->q, (const char *)m->data, m->count, m->offset);
		return 0;
	}
	char stack[8192];
	char *buf = m->count <= sizeof(stack) ? stack : malloc(m->count);
	if (!buf) {
		pend_unlink(c, p);
		free(p);
		return -ENOMEM;
	}
	vreq_read(&p->q, buf, m->count, m->offset);
	if (buf != stack)
		free(buf);
	return 0;
}

static int do_flush(struct p9_conn *c, const struct p9_msg *m)
{
	for (struct pend *p = c->pend; p; p = p->next)
		if (p->tag == m->oldtag && !p->flushed) {
			/* the flushed request is never answered: its Rflush says so (a launch, a
			 * flush or a transaction it started goes on, and a held one counts in
			 * nheld until it ends: flushing frees no room for another thread) */
			if (p->fid)
				pend_drop(c, p);
			else
				p->flushed = true;
			break;
		}
	struct p9_msg r = {.type = P9_RFLUSH, .tag = m->tag};
	reply(c, &r);
	return 0;
}

static int do_clunk(struct p9_conn *c, const struct p9_msg *m)
{
	struct fid *f = fid_get(c, m->fid);
	if (!f)
		return refuse(c, -EBADF, "no such fid");
	fid_drop(c, f, true);
	struct p9_msg r = {.type = P9_RCLUNK, .tag = m->tag};
	reply(c, &r);
	return 0;
}

/* An rmdir of name in dir: answered now, or when another host's object's flush and its
 * claim's going end (vmfs/cobj_rmdir.c), as through the mount. */
static int rmdir_pend(struct p9_conn *c, const struct p9_msg *m, const struct vnode *dir,
		      const char *name)
{
	struct pend *p = pend_new(c, NULL, m);
	if (!p)
		return pend_fail(c);
	vreq_rmdir_wait(&p->q, dir, name); /* (p is not touched after it) */
	return 0;
}

/* What the fid names goes, as unlinkat would take it from the directory it was walked
 * from (a directory as rmdir); the fid is clunked first, whatever happens (9P says so), so
 * its own open file holds nothing busy. */
static int do_remove(struct p9_conn *c, const struct p9_msg *m)
{
	struct fid *f = fid_get(c, m->fid);
	if (!f)
		return refuse(c, -EBADF, "no such fid");
	char name[NAME_MAX + 1];
	snprintf(name, sizeof(name), "%s", f->name ? f->name : "");
	uint64_t ino = f->ino, parent = f->parent;
	bool dir = f->qtype == P9_QTDIR;
	fid_drop(c, f, true);
	if (!*name)
		return ino == NODE_ROOT_INO
			   ? refuse(c, -EBUSY, "a remove of the root")
			   : refuse(c, -EINVAL, "a remove of a fid reached by \"..\": its name "
						"is not known (walk to it by name)");
	struct vreq q = req(c);
	struct vnode d, n;
	int err = node_from_ino(c->v, parent, &d);
	if (!err)
		err = may(c, &q, &d, W_OK | X_OK);
	if (!err)
		err = vreq_lookup(&q, &d, name, &n);
	if (!err && n.ino != ino)
		err = refuse(c, -ENOENT, "\"%s\" is no longer what the fid named", name);
	if (!err && dir)
		return rmdir_pend(c, m, &d, name);
	if (!err)
		err = vreq_unlink(&q, &d, name);
	if (err)
		return err;
	struct p9_msg r = {.type = P9_RREMOVE, .tag = m->tag};
	reply(c, &r);
	return 0;
}

static void put_time(struct p9_time *t, struct timespec ts)
{
	t->sec = ts.tv_sec;
	t->nsec = ts.tv_nsec;
}

static int do_getattr(struct p9_conn *c, const struct p9_msg *m)
{
	struct fid *f;
	struct vnode n;
	struct vreq q = req(c);
	struct stat st;
	int err = fid_node(c, m->fid, &f, &n);
	if (!err)
		err = vreq_getattr(&q, &n, &st);
	if (err)
		return err;
	st.st_ino = n.ino;
	struct p9_msg r = {.type = P9_RGETATTR, .tag = m->tag};
	struct p9_attr *a = &r.attr;
	a->valid = P9_GETATTR_BASIC;
	a->qid = qid_of(&st);
	a->qid.version = node_version(&n, &st);
	a->mode = st.st_mode;
	a->uid = st.st_uid;
	a->gid = st.st_gid;
	a->nlink = st.st_nlink;
	a->rdev = st.st_rdev;
	a->size = st.st_size;
	a->blksize = st.st_blksize;
	a->blocks = st.st_blocks;
	put_time(&a->atime, st.st_atim);
	put_time(&a->mtime, st.st_mtim);
	put_time(&a->ctime, st.st_ctim);
	reply(c, &r);
	return 0;
}

static int do_setattr(struct p9_conn *c, const struct p9_msg *m)
{
	struct fid *f;
	struct vnode n;
	struct vreq q = req(c);
	int err = fid_node(c, m->fid, &f, &n);
	if (err)
		return err;
	struct stat attr = {
	    .st_mode = m->mode, .st_uid = m->uid, .st_gid = m->gid, .st_size = m->size};
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	attr.st_atim =
	    m->valid & SA_ATIME_SET ? (struct timespec){m->atime.sec, m->atime.nsec} : now;
	attr.st_mtim =
	    m->valid & SA_MTIME_SET ? (struct timespec){m->mtime.sec, m->mtime.nsec} : now;
	int which = (m->valid & SA_MODE ? NA_MODE : 0) | (m->valid & SA_UID ? NA_UID : 0) |
		    (m->valid & SA_GID ? NA_GID : 0) | (m->valid & SA_SIZE ? NA_SIZE : 0) |
		    (m->valid & SA_ATIME ? NA_ATIME : 0) | (m->valid & SA_MTIME ? NA_MTIME : 0);
	struct stat st;
	q.h = f->h;
	bool writer = f->h && (f->h->flags & O_ACCMODE) != O_RDONLY;
	if (which && c->who.uid && !(err = vreq_getattr(&q, &n, &st)) &&
	    (err = p9_may_setattr(&c->who, &st, &attr, which,
				  m->valid & (SA_ATIME_SET | SA_MTIME_SET), writer)))
		refuse(c, err, "uid %u may not change it that way (owner %u:%u)",
		       (unsigned)c->who.uid, (unsigned)st.st_uid, (unsigned)st.st_gid);
	if (err)
		return err;
	if (which) { /* (a namespace of the cluster's owner or mode: its record's transaction) */
		struct pend *p = pend_new(c, NULL, m);
		if (!p)
			return pend_fail(c);
		p->q.h = f->h;
		vreq_setattr_wait(&p->q, &n, &attr, which); /* (p is not touched after it) */
		return 0;
	}
	struct p9_msg r = {.type = P9_RSETATTR, .tag = m->tag};
	reply(c, &r);
	return 0;
}

struct dirbuf {
	uint8_t *buf;
	size_t cap, len;
};

static int fill_dirent(void *ctx, const char *name, const struct stat *st, off_t next)
{
	struct dirbuf *d = ctx;
	struct p9_qid qid = qid_of(st);
	return p9_put_dirent(d->buf, d->cap, &d->len, &qid, next, (st->st_mode & S_IFMT) >> 12,
			     name) != 0;
}

static int do_readdir(struct p9_conn *c, const struct p9_msg *m)
{
	struct fid *f;
	struct vnode n;
	struct vreq q = req(c);
	int err = fid_node(c, m->fid, &f, &n);
	if (err)
		return err;
	if (!f->open || f->qtype != P9_QTDIR)
		return refuse(c, f->open ? -ENOTDIR : -EBADF,
			      "a readdir of a fid not an open "
			      "directory");
	if (m->offset > LLONG_MAX)
		return -EINVAL;
	struct dirbuf d = {malloc(m->count ? m->count : 1), m->count, 0};
	if (!d.buf)
		return -ENOMEM;
	err = vreq_readdir(&q, &n, m->offset, fill_dirent, &d);
	if (!err) {
		struct p9_msg r = {
		    .type = P9_RREADDIR, .tag = m->tag, .count = d.len, .data = d.buf};
		reply(c, &r);
	}
	free(d.buf);
	return err;
}

static int do_statfs(struct p9_conn *c, const struct p9_msg *m)
{
	struct vreq q = req(c);
	struct statvfs sv;
	if (!fid_get(c, m->fid))
		return refuse(c, -EBADF, "no such fid");
	int err = vreq_statfs(&q, &sv);
	if (err)
		return err;
	struct p9_msg r = {.type = P9_RSTATFS, .tag = m->tag};
	r.statfs = (struct p9_statfs){V9FS_MAGIC, sv.f_bsize, sv.f_blocks, sv.f_bfree,	sv.f_bavail,
				      sv.f_files, sv.f_ffree, sv.f_fsid,   sv.f_namemax};
	reply(c, &r);
	return 0;
}

static int do_readlink(struct p9_conn *c, const struct p9_msg *m)
{
	struct fid *f;
	struct vnode n;
	struct vreq q = req(c);
	char buf[PATH_MAX];
	int err = fid_node(c, m->fid, &f, &n);
	if (!err)
		err = vreq_readlink(&q, &n, buf, sizeof(buf));
	if (err)
		return err;
	buf[sizeof(buf) - 1] = 0;
	struct p9_msg r = {.type = P9_RREADLINK, .tag = m->tag};
	r.s1 = (struct p9_str){buf, strlen(buf)};
	reply(c, &r);
	return 0;
}

/* A Tmkdir's answer: the qid of n, made. */
static void mkdir_made(struct vreq *q, int r, const struct vnode *n)
{
	struct pend *p = (struct pend *)q;
	struct p9_conn *c = p->c;
	struct p9_msg rep = {.type = P9_RMKDIR, .tag = p->tag};
	pend_unlink(c, p);
	if (!r)
		r = node_qid(q, n, &rep.qid);
	if (r && !p->flushed)
		lerror(c, p->tag, -r);
	else if (!p->flushed)
		reply(c, &rep);
	free(p);
	conn_reap(c);
}

/* Tmkdir and Tsymlink: a new name in a directory, answered with its qid (a Tmkdir that is a
 * launch, in a namespace of a cluster on etcd, once its object is made and shows here) */
static int do_make(struct p9_conn *c, const struct p9_msg *m)
{
	struct fid *f;
	struct vnode dir, out;
	struct vreq q = req(c);
	char name[NAME_MAX + 1], target[PATH_MAX];
	int err = fid_node(c, m->fid, &f, &dir);
	if (!err)
		err = name_of(c, m->s1, name, sizeof(name));
	if (!err)
		err = may(c, &q, &dir, W_OK | X_OK);
	if (err)
		return err;
	if (m->type == P9_TMKDIR) {
		struct pend *p = pend_new(c, NULL, m);
		if (!p)
			return pend_fail(c);
		p->q.made = mkdir_made;
		err = vreq_mkdir(&p->q, &dir, name, m->mode & 07777, &out);
		if (err != -EINPROGRESS) /* (else answered through mkdir_made, maybe already) */
			mkdir_made(&p->q, err, &out);
		return 0;
	}
	if (p9_str_copy(target, sizeof(target), m->s2))
		return refuse(c, -ENAMETOOLONG, "a link target too long");
	err = vreq_symlink(&q, target, &dir, name, &out);
	struct p9_msg r = {.type = m->type + 1, .tag = m->tag};
	if (!err)
		err = node_qid(&q, &out, &r.qid);
	if (err)
		return err;
	reply(c, &r);
	return 0;
}

static int do_unlinkat(struct p9_conn *c, const struct p9_msg *m)
{
	struct fid *f;
	struct vnode dir;
	struct vreq q = req(c);
	char name[NAME_MAX + 1];
	int err = fid_node(c, m->fid, &f, &dir);
	if (!err)
		err = name_of(c, m->s1, name, sizeof(name));
	if (!err)
		err = may(c, &q, &dir, W_OK | X_OK);
	if (!err && (m->flags & P9_AT_REMOVEDIR))
		return rmdir_pend(c, m, &dir, name);
	if (!err)
		err = vreq_unlink(&q, &dir, name);
	if (err)
		return err;
	struct p9_msg r = {.type = P9_RUNLINKAT, .tag = m->tag};
	reply(c, &r);
	return 0;
}

static int do_renameat(struct p9_conn *c, const struct p9_msg *m)
{
	struct fid *f, *g;
	struct vnode dir, newdir;
	struct vreq q = req(c);
	char name[NAME_MAX + 1], newname[NAME_MAX + 1];
	int err = fid_node(c, m->fid, &f, &dir);
	if (!err)
		err = fid_node(c, m->fid2, &g, &newdir);
	if (!err)
		err = name_of(c, m->s1, name, sizeof(name));
	if (!err)
		err = name_of(c, m->s2, newname, sizeof(newname));
	if (!err)
		err = may(c, &q, &dir, W_OK | X_OK);
	if (!err)
		err = may(c, &q, &newdir, W_OK | X_OK);
	if (!err)
		err = vreq_rename(&q, &dir, name, &newdir, newname, 0);
	if (err)
		return err;
	struct p9_msg r = {.type = P9_RRENAMEAT, .tag = m->tag};
	reply(c, &r);
	return 0;
}

static int do_fsync(struct p9_conn *c, const struct p9_msg *m)
{
	if (!fid_get(c, m->fid))
		return refuse(c, -EBADF, "no such fid");
	struct p9_msg r = {.type = P9_RFSYNC, .tag = m->tag};
	reply(c, &r);
	return 0;
}

/* Tauth (none needed: the door knows its peer), Txattrwalk (no extended attributes) and
 * any reply a client sends have none: EOPNOTSUPP */
static int (*const handlers[128])(struct p9_conn *c, const struct p9_msg *m) = {
    [P9_TATTACH] = do_attach,	[P9_TWALK] = do_walk,	      [P9_TLOPEN] = do_lopen,
    [P9_TLCREATE] = do_lcreate, [P9_TREAD] = do_io,	      [P9_TWRITE] = do_io,
    [P9_TFLUSH] = do_flush,	[P9_TCLUNK] = do_clunk,	      [P9_TREMOVE] = do_remove,
    [P9_TGETATTR] = do_getattr, [P9_TSETATTR] = do_setattr,   [P9_TREADDIR] = do_readdir,
    [P9_TSTATFS] = do_statfs,	[P9_TREADLINK] = do_readlink, [P9_TMKDIR] = do_make,
    [P9_TSYMLINK] = do_make,	[P9_TUNLINKAT] = do_unlinkat, [P9_TRENAMEAT] = do_renameat,
    [P9_TFSYNC] = do_fsync,
};

static int dispatch(struct p9_conn *c, const struct p9_msg *m)
{
	if (m->type == P9_TVERSION)
		return do_version(c, m);
	if (!c->versioned)
		return refuse(c, -EPROTO, "%s before Tversion", p9_type_name(m->type));
	if (m->type < 128 && handlers[m->type])
		return handlers[m->type](c, m);
	return refuse(c, -EOPNOTSUPP, "%s is not served", p9_type_name(m->type));
}

int p9_conn_input(struct p9_conn *c, const uint8_t *buf, size_t len)
{
	struct p9_msg m;
	const char *why = "";
	c->why[0] = 0;
	int r = p9_decode(buf, len, c->msize, &m, &why);
	if (r == -EPROTO) {
		snprintf(c->why, sizeof(c->why), "%s", why);
		return r;
	}
	if (!r && (m.type & 1))
		r = refuse(c, -EOPNOTSUPP, "%s is a reply, not a request", p9_type_name(m.type));
	else if (r)
		snprintf(c->why, sizeof(c->why), "%s%s%s", p9_type_name(m.type) ?: "",
			 p9_type_name(m.type) ? ": " : "", why);
	else
		r = dispatch(c, &m);
	if (r)
		lerror(c, m.tag, -r);
	return 0;
}
