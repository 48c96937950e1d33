/* The 9P2000.L server core (p9/srv.c), fed messages without a socket: version and attach,
 * walks by vreq_lookup, true sizes by vreq_getattr, a file read on the fid that opened it,
 * directories by Treaddir, and refusals as Rlerror with vmfs's own errno; qid.path the
 * same across a restart, qid.version moving with the content. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p9/msg.h"
#include "p9/srv.h"
#include "runtime/model.h"
#include "tests/unit/tap.h"
#include "vmfs/kinds.h"
#include "vmfs/vreq.h"

static uint8_t got[P9_MAXMSIZE];
static size_t got_len;
static int replies;
static struct p9_msg r; /* the last reply, decoded */

static void capture(void *ctx, const uint8_t *buf, size_t len)
{
	const char *why;
	replies++;
	memcpy(got, buf, len);
	got_len = len;
	if (p9_decode(got, len, P9_MAXMSIZE, &r, &why))
		memset(&r, 0, sizeof(r));
}

static struct p9_str S(const char *s) {
	return (struct p9_str){s, strlen(s)};
}

/* sends m and says whether exactly one reply of type want came back, with m's tag */
static int
ask(struct p9_conn *c, struct p9_msg m, uint8_t want)
{
	static uint16_t tag;
	uint8_t buf[8192];
	m.tag = m.type == P9_TVERSION ? P9_NOTAG : ++tag;
	long n = p9_encode(&m, buf, sizeof(buf));
	replies = 0;
	memset(&r, 0, sizeof(r));
	if (n < 0 || p9_conn_input(c, buf, n))
		return 0;
	return replies == 1 && r.type == want && r.tag == m.tag;
}

static int lerror(struct p9_conn *c, struct p9_msg m, int err)
{
	return ask(c, m, P9_RLERROR) && r.ecode == (uint32_t)err;
}

static struct p9_msg walk(uint32_t fid, uint32_t newfid, int n, const char *a, const char *b)
{
	struct p9_msg m = {.type = P9_TWALK, .fid = fid, .fid2 = newfid, .nwname = n};
	m.wname[0] = S(a ? a : "");
	m.wname[1] = S(b ? b : "");
	return m;
}

static int listed(const char *name)
{
	size_t o = 0;
	while (o + 24 <= r.count) {
		const uint8_t *e = r.data + o;
		size_t nl = e[22] | e[23] << 8;
		if (o + 24 + nl > r.count)
			return 0;
		if (nl == strlen(name) && !memcmp(e + 24, name, nl))
			return 1;
		o += 24 + nl;
	}
	return 0;
}

static void session(struct p9_conn *c)
{
	ok(lerror(c, (struct p9_msg){.type = P9_TATTACH, .fid = 0, .fid2 = P9_NOFID}, EPROTO),
	   "an attach before Tversion: EPROTO");
	ok(ask(c, (struct p9_msg){.type = P9_TVERSION, .msize = 1 << 30, .s1 = S("9P2000")},
	       P9_RVERSION) &&
	       r.s1.len == 7 && !memcmp(r.s1.s, "unknown", 7),
	   "a version not 9P2000.L: \"unknown\"");
	ok(ask(c, (struct p9_msg){.type = P9_TVERSION, .msize = 1 << 30, .s1 = S(P9_VERSION)},
	       P9_RVERSION) &&
	       r.msize == P9_MAXMSIZE && r.s1.len == 8,
	   "9P2000.L, its msize cut to vmfs's (%u)", r.msize);
	ok(lerror(c, (struct p9_msg){.type = P9_TVERSION, .msize = 512, .s1 = S(P9_VERSION)},
		  EINVAL),
	   "an msize under 4096 is refused");
	ok(ask(c, (struct p9_msg){.type = P9_TVERSION, .msize = 8192, .s1 = S(P9_VERSION)},
	       P9_RVERSION) &&
	       r.msize == 8192 && p9_conn_msize(c) == 8192,
	   "msize 8192 is taken");

	ok(lerror(c, (struct p9_msg){.type = P9_TATTACH, .fid = 0, .fid2 = 5}, EINVAL),
	   "an attach with an afid: EINVAL (no auth)");
	ok(ask(c, (struct p9_msg){.type = P9_TATTACH, .fid = 0, .fid2 = P9_NOFID, .s1 = S("x")},
	       P9_RATTACH) &&
	       r.qid.type == P9_QTDIR && r.qid.path == NODE_ROOT_INO,
	   "attach: the root, a directory");
	ok(lerror(c, (struct p9_msg){.type = P9_TAUTH, .fid2 = 9}, EOPNOTSUPP),
	   "Tauth: EOPNOTSUPP");

	ok(ask(c, walk(0, 1, 1, "version", NULL), P9_RWALK) && r.nwqid == 1 &&
	       r.wqid[0].type == P9_QTFILE,
	   "a walk to version: one qid, a file");
	ok(ask(c, (struct p9_msg){.type = P9_TGETATTR, .fid = 1, .mask = P9_GETATTR_BASIC},
	       P9_RGETATTR),
	   "getattr of version");
	uint64_t size = r.attr.size;
	ok(size > 0 && S_ISREG(r.attr.mode), "its size is there (%llu)", (unsigned long long)size);
	ok(ask(c, (struct p9_msg){.type = P9_TLOPEN, .fid = 1, .flags = 0}, P9_RLOPEN),
	   "lopen read-only");
	ok(ask(c, (struct p9_msg){.type = P9_TREAD, .fid = 1, .count = 4096}, P9_RREAD) &&
	       r.count == size,
	   "read: as many bytes as getattr said");
	ok(lerror(c,
		  (struct p9_msg){
		      .type = P9_TWRITE, .fid = 1, .count = 1, .data = (const uint8_t *)"x"},
		  EBADF),
	   "a write on a fid open read-only: EBADF");
	ok(lerror(c, (struct p9_msg){.type = P9_TLOPEN, .fid = 1}, EBADF), "a second lopen: EBADF");

	ok(lerror(c, walk(0, 2, 1, "nothing", NULL), ENOENT), "a walk to nothing: ENOENT");
	ok(lerror(c, walk(0, 2, 1, ".", NULL), EINVAL), "a walk to \".\": EINVAL");
	ok(strstr(p9_conn_why(c), "\".\""), "with its reason (%s)", p9_conn_why(c));
	ok(ask(c, walk(0, 3, 2, "version", "x"), P9_RWALK) && r.nwqid == 1,
	   "a walk cut short: the qids so far");
	ok(lerror(c, (struct p9_msg){.type = P9_TCLUNK, .fid = 3}, EBADF), "and no newfid made");
	ok(lerror(c, walk(0, 1, 0, NULL, NULL), EBADF), "a walk to a fid in use: EBADF");
	ok(lerror(c, walk(0, P9_NOFID, 0, NULL, NULL), EBADF), "a walk to NOFID: EBADF");
	ok(strstr(p9_conn_why(c), "NOFID"), "with its reason (%s)", p9_conn_why(c));

	ok(ask(c, walk(0, 4, 0, NULL, NULL), P9_RWALK) && r.nwqid == 0, "a clone of the root");
	ok(ask(c, (struct p9_msg){.type = P9_TLOPEN, .fid = 4}, P9_RLOPEN) &&
	       r.qid.type == P9_QTDIR,
	   "lopen of a directory");
	ok(lerror(c, (struct p9_msg){.type = P9_TREAD, .fid = 4, .count = 10}, EISDIR),
	   "Tread of a directory: EISDIR");
	ok(ask(c, (struct p9_msg){.type = P9_TREADDIR, .fid = 4, .count = 4000}, P9_RREADDIR) &&
	       listed("version") && listed("ns"),
	   "readdir lists version and ns");
	ok(lerror(c, (struct p9_msg){.type = P9_TREADDIR, .fid = 0, .count = 4000}, EBADF),
	   "readdir of a fid not open: EBADF");

	ok(lerror(c, (struct p9_msg){.type = P9_TMKDIR, .fid = 0, .s1 = S("x"), .mode = 0755},
		  EPERM),
	   "mkdir outside ns/: vmfs's own EPERM");
	ok(lerror(c, (struct p9_msg){.type = P9_TUNLINKAT, .fid = 0, .s1 = S("version")}, EPERM),
	   "unlink of version: vmfs's EPERM");
	ok(lerror(c, (struct p9_msg){.type = P9_TXATTRWALK, .fid = 0, .fid2 = 7, .s1 = S("")},
		  EOPNOTSUPP),
	   "Txattrwalk: EOPNOTSUPP");
	ok(ask(c, (struct p9_msg){.type = P9_TSTATFS, .fid = 0}, P9_RSTATFS) &&
	       r.statfs.namelen > 0,
	   "statfs");
	ok(ask(c, (struct p9_msg){.type = P9_TFLUSH, .oldtag = 999}, P9_RFLUSH),
	   "a flush of nothing waiting: Rflush");
	ok(ask(c, (struct p9_msg){.type = P9_TCLUNK, .fid = 1}, P9_RCLUNK), "clunk");
	ok(lerror(c, (struct p9_msg){.type = P9_TCLUNK, .fid = 1}, EBADF), "a second: EBADF");
	ok(lerror(c, (struct p9_msg){.type = P9_RCLUNK}, EOPNOTSUPP), "a reply sent as a request");
	ok(p9_conn_waiting(c) == 0, "nothing waits");
}

static void hostile(struct p9_conn *c)
{
	uint8_t buf[64];
	struct p9_msg m = walk(0, 2, 1, "version", NULL);
	long n = p9_encode(&m, buf, sizeof(buf));
	buf[17] = 60; /* the name's length, past the end */
	replies = 0;
	ok(p9_conn_input(c, buf, n) == 0 && replies == 1 && r.type == P9_RLERROR &&
	       r.ecode == EINVAL,
	   "a string past the end: Rlerror EINVAL");
	ok(strstr(p9_conn_why(c), "Twalk: the message ends inside a field"), "why: %s",
	   p9_conn_why(c));
	buf[0] = 3;
	replies = 0;
	ok(p9_conn_input(c, buf, n) == -EPROTO && replies == 0,
	   "a frame shorter than its header: the connection is to close");
	buf[0] = n;
	buf[4] = 126;
	ok(p9_conn_input(c, buf, n) == 0 && r.type == P9_RLERROR && r.ecode == EOPNOTSUPP,
	   "an unknown type: EOPNOTSUPP");

	int made = 0;
	while (made <= P9_MAXFIDS && ask(c, walk(0, 10000 + made, 0, NULL, NULL), P9_RWALK))
		made++;
	ok(made < P9_MAXFIDS && r.type == P9_RLERROR && r.ecode == EMFILE,
	   "fids end at %d a connection: EMFILE", P9_MAXFIDS);
}

/* sends m, whatever comes back (none, one or two replies): its tag */
static uint16_t put(struct p9_conn *c, struct p9_msg m)
{
	static uint16_t tag = 1000;
	uint8_t buf[512];
	m.tag = ++tag;
	replies = 0;
	memset(&r, 0, sizeof(r));
	p9_conn_input(c, buf, p9_encode(&m, buf, sizeof(buf)));
	return m.tag;
}

static int walk_console(struct p9_conn *c, uint32_t fid)
{
	struct p9_msg m = {.type = P9_TWALK, .fid = 0, .fid2 = fid, .nwname = 5};
	const char *path[] = {"ns", "lab", "containers", "c1", "console"};
	for (int i = 0; i < 5; i++)
		m.wname[i] = S(path[i]);
	return ask(c, m, P9_RWALK) && r.nwqid == 5 &&
	       ask(c, (struct p9_msg){.type = P9_TLOPEN, .fid = fid}, P9_RLOPEN);
}

static struct p9_msg walk3(const char *a, const char *b, const char *c3)
{
	struct p9_msg m = walk(0, 5, 2, a, b);
	m.wname[2] = S(c3);
	m.nwname = 3;
	return m;
}

/* A peer not root meets the mode bits as a user of the mount does (p9/perm.h): lab is
 * root's 0755 (its console 0640: never others'), priv root's 0700, grp 0750 of group 50. */
static void peer(struct vmfs *v)
{
	char err[256];
	struct ns *ns;
	ok(ns_create(&v->m, "priv", 0, 0, 0700, &ns, err, sizeof(err)) == 0 &&
	       ns_create(&v->m, "grp", 0, 50, 0750, &ns, err, sizeof(err)) == 0,
	   "namespaces priv (0700) and grp (0750, group 50)");
	struct vcred user = {.uid = 1000, .gid = 1000};
	struct p9_conn *c = p9_conn_new(v, &user, capture, NULL);
	ask(c, (struct p9_msg){.type = P9_TVERSION, .msize = 8192, .s1 = S(P9_VERSION)},
	    P9_RVERSION);
	ask(c, (struct p9_msg){.type = P9_TATTACH, .fid = 0, .fid2 = P9_NOFID}, P9_RATTACH);
	ok(ask(c, walk3("ns", "priv", "containers"), P9_RWALK) && r.nwqid == 2,
	   "a walk into a 0700 namespace of root's stops at it");
	ok(ask(c, walk3("ns", "grp", "containers"), P9_RWALK) && r.nwqid == 2,
	   "and into a 0750 one of a group it is not in");
	gid_t g = 50;
	p9_conn_set_groups(c, &g, 1);
	ok(ask(c, walk3("ns", "grp", "containers"), P9_RWALK) && r.nwqid == 3,
	   "in group 50 (a supplementary group), it walks in");
	ask(c, (struct p9_msg){.type = P9_TCLUNK, .fid = 5}, P9_RCLUNK);
	ok(!walk_console(c, 6) && r.type == P9_RLERROR && r.ecode == EACCES,
	   "lab's console is walked to, but not opened: EACCES (0640, never others')");
	ok(ask(c, walk(0, 7, 2, "ns", "lab"), P9_RWALK), "a walk to lab");
	ok(lerror(
	       c,
	       (struct p9_msg){.type = P9_TMKDIR, .fid = 7, .s1 = S("containers2"), .mode = 0755},
	       EACCES),
	   "a make in root's 0755 lab: EACCES, as through the mount");
	struct p9_msg chmod = {.type = P9_TSETATTR, .fid = 7, .valid = 1, .mode = 0777};
	ok(lerror(c, chmod, EPERM), "chmod of root's namespace: EPERM");
	ok(strstr(p9_conn_why(c), "uid 1000"), "why: %s", p9_conn_why(c));
	p9_conn_free(c);
}

/* A console read with nothing yet waits; Tflush answers at once and abandons it; a clunk
 * under a waiting read answers it EINTR; a wake answers it later. */
static void parked(const char *dir)
{
	struct vmfs v = {0};
	char state[256], images[256], err[256];
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(images, sizeof(images), "%s/images", dir);
	mkdir(state, 0700);
	mkdir(images, 0700);
	evlog_init(&v.log, open(dir, O_RDONLY | O_DIRECTORY), "log");
	struct ns *ns;
	char *names[] = {"c1"};
	int ready = model_open(&v.m, state, images, err, sizeof(err)) == 0 &&
		    ns_create(&v.m, "lab", 0, 0, 0755, &ns, err, sizeof(err)) == 0 &&
		    obj_create_many(&v.m, ns, OT_CT, names, 1, NULL, err, sizeof(err)) == 0;
	ok(ready, "a model with lab/c1%s%s", ready ? "" : ": ", ready ? "" : err);
	if (!ready)
		return;
	struct object *o = obj_find(ns, OT_CT, "c1");
	struct vcred root = {0};
	struct p9_conn *c = p9_conn_new(&v, &root, capture, NULL);
	ask(c, (struct p9_msg){.type = P9_TVERSION, .msize = 8192, .s1 = S(P9_VERSION)},
	    P9_RVERSION);
	ask(c, (struct p9_msg){.type = P9_TATTACH, .fid = 0, .fid2 = P9_NOFID}, P9_RATTACH);
	ok(walk_console(c, 1), "a walk to ns/lab/containers/c1/console, opened");

	uint16_t t = put(c, (struct p9_msg){.type = P9_TREAD, .fid = 1, .count = 100});
	ok(replies == 0 && p9_conn_waiting(c) == 1, "a console read with nothing yet waits");
	put(c, (struct p9_msg){.type = P9_TFLUSH, .oldtag = t});
	ok(replies == 1 && r.type == P9_RFLUSH && p9_conn_waiting(c) == 0,
	   "Tflush answers at once, the read abandoned");
	replies = 0;
	waitq_wake_all(&o->console_wq);
	ok(replies == 0, "a wake after finds no one to answer");

	put(c, (struct p9_msg){.type = P9_TREAD, .fid = 1, .count = 100});
	put(c, (struct p9_msg){.type = P9_TCLUNK, .fid = 1});
	ok(replies == 2 && r.type == P9_RCLUNK && p9_conn_waiting(c) == 0,
	   "a clunk under a waiting read: it is answered, then the clunk");

	ok(walk_console(c, 2), "the console again");
	t = put(c, (struct p9_msg){.type = P9_TREAD, .fid = 2, .count = 100});
	ok(replies == 0, "waits");
	o->state = ST_QUIT;
	waitq_wake_all(&o->console_wq);
	ok(replies == 1 && r.type == P9_RREAD && r.tag == t && r.count == 0,
	   "answered later, when its object has ended: the end of the console");
	p9_conn_free(c);
	peer(&v);
	model_close(&v.m);
	close(v.log.dirfd);
}

/* walks fid 0 to ns/lab/vms/w1/config/memory as fid 13; its qid in *qid */
static int walk_memory(struct p9_conn *c, struct p9_qid *qid)
{
	int good = ask(c, walk(0, 11, 2, "ns", "lab"), P9_RWALK) && r.nwqid == 2 &&
		ask(c, walk(11, 12, 2, "vms", "w1"), P9_RWALK) && r.nwqid == 2 &&
		ask(c, walk(12, 13, 2, "config", "memory"), P9_RWALK) && r.nwqid == 2;
	*qid = r.wqid[1];
	ask(c, (struct p9_msg){.type = P9_TCLUNK, .fid = 11}, P9_RCLUNK);
	ask(c, (struct p9_msg){.type = P9_TCLUNK, .fid = 12}, P9_RCLUNK);
	return good;
}

static void session_on(struct p9_conn *c)
{
	ask(c, (struct p9_msg){.type = P9_TVERSION, .msize = 8192, .s1 = S(P9_VERSION)}, P9_RVERSION);
	ask(c, (struct p9_msg){.type = P9_TATTACH, .fid = 0, .fid2 = P9_NOFID, .s1 = S("x")},
	    P9_RATTACH);
}

/* qid.path is the inode number, built from persistent ids: the same after a restart;
 * qid.version moves when the content does. */
static void restart(const char *dir)
{
	char state[256], images[256], err[256];
	snprintf(state, sizeof(state), "%s/restart", dir);
	snprintf(images, sizeof(images), "%s/restart-images", dir);
	static struct vmfs v;
	struct vcred root = {0};
	struct ns *ns;
	char *w[] = {"w1"};
	ok(model_open(&v.m, state, images, err, sizeof(err)) == 0 &&
		   ns_create(&v.m, "lab", 0, 0, 0755, &ns, err, sizeof(err)) == 0 &&
		   obj_create_many(&v.m, ns, OT_VM, w, 1, NULL, err, sizeof(err)) == 0,
	   "a state directory with lab/w1");
	evlog_init(&v.log, v.m.statefd, "log");
	struct p9_conn *c = p9_conn_new(&v, &root, capture, NULL);
	session_on(c);
	struct p9_qid before, after;
	ok(walk_memory(c, &before), "a walk to w1's config/memory");
	ok(ask(c, (struct p9_msg){.type = P9_TLOPEN, .fid = 13, .flags = O_WRONLY}, P9_RLOPEN) &&
		   ask(c, (struct p9_msg){.type = P9_TWRITE, .fid = 13, .count = 5,
					  .data = (const uint8_t *)"300M\n"},
		       P9_RWRITE),
	   "a write of 300M to it");
	ask(c, (struct p9_msg){.type = P9_TCLUNK, .fid = 13}, P9_RCLUNK);
	ok(walk_memory(c, &after) && after.path == before.path && after.version != before.version,
	   "its qid.path is the same, its qid.version moved (%u -> %u)", before.version,
	   after.version);
	ok(ask(c, (struct p9_msg){.type = P9_TGETATTR, .fid = 13, .mask = P9_GETATTR_BASIC},
	       P9_RGETATTR) &&
		   r.attr.qid.path == before.path && r.attr.size == 5,
	   "getattr: the same qid.path, the true size (5)");
	p9_conn_free(c);
	model_close(&v.m);

	ok(model_open(&v.m, state, images, err, sizeof(err)) == 0, "the state directory opens again");
	evlog_init(&v.log, v.m.statefd, "log");
	c = p9_conn_new(&v, &root, capture, NULL);
	session_on(c);
	ok(walk_memory(c, &after) && after.path == before.path && after.type == before.type,
	   "after a restart w1's config/memory has the same qid.path");
	ok(ask(c, (struct p9_msg){.type = P9_TLOPEN, .fid = 13, .flags = O_RDONLY}, P9_RLOPEN) &&
		   ask(c, (struct p9_msg){.type = P9_TREAD, .fid = 13, .count = 100}, P9_RREAD) &&
		   r.count == 5 && !memcmp(r.data, "300M\n", 5),
	   "... and reads 300M");
	p9_conn_free(c);
	model_close(&v.m);
}

static int gone(struct p9_conn *c, uint32_t fid)
{
	return lerror(c, (struct p9_msg){.type = P9_TCLUNK, .fid = fid}, EBADF);
}

static struct p9_msg remove_of(uint32_t fid)
{
	return (struct p9_msg){.type = P9_TREMOVE, .fid = fid};
}

/* ".." walks up (the root's is the root) with a walk's search check; Tremove takes away
 * what its fid names through the directory it was walked from, with unlinkat's checks, and
 * clunks the fid whatever the answer. */
static void remove_and_up(const char *dir)
{
	static struct vmfs v;
	char state[256], images[256], err[256], path[600];
	snprintf(state, sizeof(state), "%s/rm", dir);
	snprintf(images, sizeof(images), "%s/rm-images", dir);
	mkdir(images, 0700);
	snprintf(path, sizeof(path), "%s/x.img", images);
	int fd = open(path, O_CREAT | O_WRONLY, 0644);
	if (fd >= 0)
		close(fd);
	struct ns *ns;
	ok(fd >= 0 && model_open(&v.m, state, images, err, sizeof(err)) == 0 &&
		   ns_create(&v.m, "lab", 0, 0, 0755, &ns, err, sizeof(err)) == 0 &&
		   ns_create(&v.m, "priv", 0, 0, 0700, &ns, err, sizeof(err)) == 0 &&
		   ns_create(&v.m, "tmp", 0, 0, 0755, &ns, err, sizeof(err)) == 0,
	   "a model with lab (0755), priv (0700), tmp and images/x.img");
	evlog_init(&v.log, v.m.statefd, "log");
	v.images = imgtab_new();
	struct vcred root = {0}, user = {.uid = 1000, .gid = 1000};
	struct p9_conn *c = p9_conn_new(&v, &root, capture, NULL);
	session_on(c);

	ok(ask(c, walk(0, 1, 1, "..", NULL), P9_RWALK) && r.nwqid == 1 &&
		   r.wqid[0].path == NODE_ROOT_INO,
	   "\"..\" of the root is the root");
	ok(ask(c, walk(0, 2, 1, "ns", NULL), P9_RWALK), "a walk to ns");
	uint64_t ns_path = r.wqid[0].path;
	struct p9_msg m = walk(0, 3, 2, "ns", "lab");
	m.wname[2] = S("..");
	m.wname[3] = S("lab");
	m.wname[4] = S("..");
	m.nwname = 5;
	ok(ask(c, m, P9_RWALK) && r.nwqid == 5 && r.wqid[2].path == ns_path &&
		   r.wqid[4].path == ns_path && r.wqid[4].type == P9_QTDIR,
	   "ns/lab/../lab/.. is ns");
	ok(lerror(c, remove_of(3), EINVAL) && strstr(p9_conn_why(c), "\"..\""),
	   "a fid reached by \"..\" is not removed: EINVAL (%s)", p9_conn_why(c));
	ok(gone(c, 3), "... and it is clunked");
	ok(lerror(c, remove_of(1), EBUSY) && gone(c, 1), "a remove of the root: EBUSY, clunked");
	ok(ask(c, walk(0, 4, 2, "ns", "tmp"), P9_RWALK) && ask(c, remove_of(4), P9_RREMOVE) &&
		   gone(c, 4),
	   "Tremove of the namespace tmp: Rremove, clunked");
	ok(ask(c, walk(0, 5, 2, "ns", "tmp"), P9_RWALK) && r.nwqid == 1, "tmp is gone");
	m = walk(0, 6, 2, "ns", "lab");
	m.wname[2] = S("vms");
	m.nwname = 3;
	ok(ask(c, m, P9_RWALK) &&
		   ask(c, (struct p9_msg){.type = P9_TMKDIR, .fid = 6, .s1 = S("v9"), .mode = 0755},
		       P9_RMKDIR),
	   "mkdir ns/lab/vms/v9");
	ok(ask(c, walk(6, 7, 1, "v9", NULL), P9_RWALK) && ask(c, remove_of(7), P9_RREMOVE),
	   "Tremove of v9: Rremove");
	ok(gone(c, 7), "its fid is clunked");
	ok(lerror(c, walk(6, 7, 1, "v9", NULL), ENOENT), "v9 is gone");
	ok(ask(c, walk(0, 8, 2, "images", "x.img"), P9_RWALK) &&
		   ask(c, (struct p9_msg){.type = P9_TLOPEN, .fid = 8, .flags = O_RDONLY},
		       P9_RLOPEN) &&
		   ask(c, remove_of(8), P9_RREMOVE) && gone(c, 8),
	   "Tremove of an open images/x.img: Rremove, clunked");
	ok(access(path, F_OK) < 0 && errno == ENOENT, "x.img is gone from the store");
	ok(ask(c, walk(0, 9, 2, "ns", "lab"), P9_RWALK) && ask(c, walk(9, 9, 1, "info", NULL),
								P9_RWALK) &&
		   lerror(c, remove_of(9), EPERM) && gone(c, 9),
	   "Tremove of a fixed file (lab/info): EPERM, as rm, and clunked");
	ok(ask(c, (struct p9_msg){.type = P9_TMKDIR, .fid = 6, .s1 = S("v8"), .mode = 0755},
	       P9_RMKDIR),
	   "mkdir ns/lab/vms/v8");
	p9_conn_free(c);

	c = p9_conn_new(&v, &user, capture, NULL);
	session_on(c);
	m = walk(0, 1, 2, "ns", "lab");
	m.wname[2] = S("vms");
	m.wname[3] = S("v8");
	m.nwname = 4;
	ok(ask(c, m, P9_RWALK) && r.nwqid == 4, "uid 1000 walks to root's ns/lab/vms/v8");
	ok(lerror(c, remove_of(1), EACCES) && strstr(p9_conn_why(c), "uid 1000") && gone(c, 1),
	   "its Tremove: EACCES (vms/ is root's 0755), clunked (%s)", p9_conn_why(c));
	ok(ask(c, m, P9_RWALK) && r.nwqid == 4, "v8 is still there");
	m = walk(0, 2, 2, "ns", "priv");
	m.wname[2] = S("..");
	m.nwname = 3;
	ok(ask(c, m, P9_RWALK) && r.nwqid == 2, "uid 1000's walk of ns/priv/.. stops at priv "
						 "(0700: no search)");
	ok(ask(c, walk(0, 2, 2, "ns", ".."), P9_RWALK) && r.nwqid == 2 &&
		   r.wqid[1].path == NODE_ROOT_INO,
	   "and ns/.. is the root");
	p9_conn_free(c);
	imgtab_free(v.images);
	model_close(&v.m);
}

int main(void)
{
	char dir[] = "/tmp/test_p9srv.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	struct vmfs v = {0};
	evlog_init(&v.log, open(dir, O_RDONLY | O_DIRECTORY), "log");
	v.m.imagefd = v.log.dirfd; /* statfs's */
	struct vcred root = {0};
	struct p9_conn *c = p9_conn_new(&v, &root, capture, NULL);
	ok(c != NULL, "a connection");
	session(c);
	hostile(c);
	p9_conn_free(c);
	close(v.log.dirfd);
	parked(dir);
	restart(dir);
	remove_and_up(dir);

	char rm[128];
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	ok(system(rm) == 0, "cleaned up");
	return tap_done();
}
