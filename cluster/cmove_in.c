/* The destination's part of a cold move (cluster/cmove_int.h), on a thread of its own with
 * its own etcd handle, in this order:
 *
 * 1. mark: one txn puts the intent P/intent/M (kind=move, this host) and the claim with
 *    moving=this host, compared on the claim's revision (still the source's, not moving) and
 *    the intent absent. From then on the source refuses verbs on it and serves export.tar.
 * 2. pull export.tar through the source's 9P door (its alive's p9) into .NAME.move.tar beside
 *    the namespace's objects (a dot name: the loader never takes it);
 * 3. check every member (cluster/cmove_tar.h), then GNU tar extracts it into .NAME.moving, a
 *    directory made new and empty for it;
 * 4. the config read strictly: only known keys, a stopped state, every value as a local root
 *    write of it is checked (the images it names must be here). Refused: the directory is
 *    kept aside as .NAME.refused-M, and the answer says so;
 * 5. commit: one txn moves the claim (host=this host), both reservations, puts the namespace's
 *    record again (a launch or a hosts write read before it fails its compare) and deletes the
 *    intent. Then, on the loop, .NAME.moving becomes NAME and the loader loads it.
 *
 * Any failure before the commit takes the mark back (claim as it was, intent deleted) and
 * removes what was copied: the source stays the object's. A crash (or a cut) before the commit
 * leaves the intent to its recovery, which rolls it back (cluster/cmove_recover.c), and the
 * placed copy, tagged, to this host's publisher at its next start (cluster/cns.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster/ccmd_int.h"
#include "cluster/chosts.h"
#include "cluster/ckey.h"
#include "cluster/cluster.h"
#include "cluster/cmove_int.h"
#include "cluster/cmove_tar.h"
#include "cluster/cview.h"
#include "cluster/rtrans.h"
#include "ctl/ctl.h"
#include "ctl/params.h"
#include "etcd/client.h"
#include "etcd/member.h"
#include "runtime/bgjob.h"
#include "runtime/store.h"
#include "runtime/vm.h"
#include "vmfs/node.h"
#include "vmfs/vreq.h"

#define CMIN_TRIES 5	     /* lost races on the reservations before giving up */
#define CMIN_APPEAR_MS 20000 /* the source's archive to appear */
#define CMIN_CHUNK (256 * 1024)
#define CMIN_RETRY_MS 30000 /* a commit of unknown outcome, a mark to take back: this long */

struct cmin {
	struct bgjob bg; /* first */
	struct vmfs *v;
	struct etcd_opts o;
	char cluster[NAME_MAX_LEN + 1], self[NAME_MAX_LEN + 1];
	char name[NAME_MAX_LEN + 1], src[NAME_MAX_LEN + 1];
	char nsname[NAME_MAX_LEN + 1];
	enum otype type;
	uint64_t nsid, cid, lid, vcpus, memory;
	char *cfg[NPARAMS_MAX]; /* its values as the source published them */
	struct ns *ns;		/* held */
	int typefd;		/* ns/NS/vms or containers/ */
	char tmpdir[NAME_MAX_LEN + 16], tarname[NAME_MAX_LEN + 16];
	struct ckey_tag tag;
	char tagtext[CKEY_TAG_LEN];
	bool marked, placed, committed, unknown;
	uint64_t bytes;
	int r;
	char why[1024];
	/* who waits: the head's own write, or a command's answer */
	struct rbatch *b;
	struct ccmd *c;
	struct mjob *j;
	struct cmin *next; /* in running, while its thread runs */
};

/* The moves running here, on the loop: their copies are no model objects before settle(). */
static struct cmin *running;

bool cmove_in_toward(const struct ns *ns)
{
	for (const struct cmin *m = running; m; m = m->next)
		if (m->ns == ns)
			return true;
	return false;
}

static void cmin_free(struct cmin *m)
{
	for (size_t i = 0; i < NPARAMS_MAX; i++)
		free(m->cfg[i]);
	free(m);
}

static int say(struct cmin *m, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(struct cmin *m, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
	m->r = r;
	return r;
}

void cmove_in_args(const struct cmove_req *rq, struct sbuf *out)
{
	sb_printf(out, "name=%s src=%s type=%s", rq->name, rq->src, otype_name(rq->type));
}

/* word "KEY=VALUE" of args at *p: VALUE into out (at most NAME_MAX_LEN bytes) */
static bool arg_word(const char **p, const char *key, char *out, size_t outlen)
{
	size_t k = strlen(key), n;
	if (strncmp(*p, key, k) || (*p)[k] != '=')
		return false;
	const char *v = *p + k + 1, *e = strchr(v, ' ');
	n = e ? (size_t)(e - v) : strlen(v);
	if (!n || n >= outlen || n > NAME_MAX_LEN)
		return false;
	memcpy(out, v, n);
	out[n] = 0;
	*p = e ? e + 1 : v + n;
	return true;
}

int cmove_in_read(const char *args, char *name, char *src, enum otype *type, char *why,
		  size_t whylen)
{
	char t[16] = "";
	const char *p = args ? args : "";
	name[0] = src[0] = 0;
	if (!arg_word(&p, "name", name, NAME_MAX_LEN + 1) ||
	    !arg_word(&p, "src", src, NAME_MAX_LEN + 1) || !arg_word(&p, "type", t, sizeof(t)) ||
	    *p) {
		snprintf(why, whylen, "a move-in's args are not \"name=N src=H type=T\"");
		return -EINVAL;
	}
	char e[256];
	if (name_check(name, e, sizeof(e)) || name_check(src, e, sizeof(e))) {
		snprintf(why, whylen, "a move-in's name or source: %s", e);
		return -EINVAL;
	}
	if (!strcmp(t, "kvm"))
		*type = OT_VM;
	else if (!strcmp(t, "container"))
		*type = OT_CT;
	else {
		snprintf(why, whylen, "a move-in's type %s is no type", t);
		return -EINVAL;
	}
	return 0;
}

static int get_claim(struct cmin *m, struct etcd *c, char *key, struct crec_claim *cl, int64_t *rev)
{
	struct etcd_kv kv = {0};
	bool found = false;
	struct err e;
	char why[300];
	ckey_claim(key, CKEY_MAX + 1, m->cluster, m->nsid, m->name);
	if (etcd_get(c, key, &kv, &found, &e))
		return say(m, -e.no, "etcd: %.900s", e.why);
	if (!found)
		return say(m, -ENOENT, "%s's claim is gone from the cluster", m->name);
	int r = crec_claim_read(kv.value, kv.value_len, cl, why, sizeof(why));
	*rev = kv.mod_revision;
	etcd_kv_free(&kv);
	if (r)
		return say(m, -EIO, "%s's claim cannot be read: %s", m->name, why);
	return 0;
}

static bool same_tag(const struct ckey_tag *a, const struct ckey_tag *b)
{
	return !strcmp(a->host, b->host) && a->run == b->run && a->seq == b->seq;
}

static int mark(struct cmin *m, struct etcd *c)
{
	char ck[CKEY_MAX + 1], ik[CKEY_MAX + 1];
	struct crec_claim cl;
	int64_t rev;
	int r = get_claim(m, c, ck, &cl, &rev);
	if (r)
		return r;
	if (strcmp(cl.host, m->src) || cl.id != m->cid || cl.type != m->type || *cl.moving)
		return say(m, -EBUSY, "%s changed meanwhile: it is %s's%s%s", m->name, cl.host,
			   *cl.moving ? ", moving to " : "", cl.moving);
	ckey_intent(ik, sizeof(ik), m->cluster, &m->tag);
	struct crec_intent_obj io = {.id = m->cid};
	snprintf(io.name, sizeof(io.name), "%s", m->name);
	snprintf(io.host, sizeof(io.host), "%s", m->self);
	struct crec_intent in = {.kind = CREC_INTENT_MOVE,
				 .ns = m->nsid,
				 .objects = &io,
				 .nobjects = 1,
				 .phase = CREC_PHASE_CREATING,
				 .vcpus = m->vcpus,
				 .memory = m->memory};
	snprintf(in.host, sizeof(in.host), "%s", m->self);
	snprintf(cl.moving, sizeof(cl.moving), "%s", m->self);
	cl.intent = m->tag;
	struct sbuf cv = {0}, iv = {0};
	crec_claim_write(&cl, &cv);
	crec_intent_write(&in, &iv);
	struct etcd_cmp cmp[] = {{.key = ck, .target = ETCD_MOD, .num = rev},
				 {.key = ik, .target = ETCD_VERSION, .num = 0}};
	struct etcd_op ops[] = {{.kind = ETCD_OP_PUT, .key = ck, .value = cv.p, .len = cv.len},
				{.kind = ETCD_OP_PUT, .key = ik, .value = iv.p, .len = iv.len}};
	struct etcd_txn_result res = {0};
	struct err e;
	r = cv.oom || iv.oom ? err_set(&e, ENOMEM, "out of memory")
			     : etcd_txn(c, cmp, 2, ops, 2, NULL, 0, &res, &e);
	sb_free(&cv);
	sb_free(&iv);
	bool ok = !r && res.succeeded;
	etcd_txn_result_free(&res);
	if (r)
		return say(m, r, "etcd: %.900s", e.why);
	if (!ok)
		return say(m, -EAGAIN, "%s's claim changed while it was marked: try again",
			   m->name);
	m->marked = true;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The mark taken back once: the claim as it was (its owner the source), the intent gone, in one
 * txn compared on the claim. 0, or -errno with why (etcd did not answer, or the claim changed
 * meanwhile). */
static int unmark_once(struct cmin *m, struct etcd *c, char *why, size_t whylen)
{
	char ck[CKEY_MAX + 1], ik[CKEY_MAX + 1];
	struct crec_claim cl;
	int64_t rev;
	ckey_intent(ik, sizeof(ik), m->cluster, &m->tag);
	struct etcd_op ops[2] = {{.kind = ETCD_OP_DELETE, .key = ik}};
	struct etcd_cmp cmp = {0};
	struct sbuf cv = {0};
	size_t n = 1, nc = 0;
	int r = get_claim(m, c, ck, &cl, &rev);
	if (r && r != -ENOENT && r != -EIO) { /* (gone or unreadable: only the intent goes) */
		snprintf(why, whylen, "%.250s", m->why);
		return r;
	}
	if (!r && !strcmp(cl.moving, m->self) && same_tag(&cl.intent, &m->tag)) {
		cl.moving[0] = 0;
		memset(&cl.intent, 0, sizeof(cl.intent));
		crec_claim_write(&cl, &cv);
		cmp = (struct etcd_cmp){.key = ck, .target = ETCD_MOD, .num = rev};
		nc = 1;
		ops[n++] =
		    (struct etcd_op){.kind = ETCD_OP_PUT, .key = ck, .value = cv.p, .len = cv.len};
	}
	struct etcd_txn_result res = {0};
	struct err e;
	r = sb_err(&cv) ? -ENOMEM : etcd_txn(c, &cmp, nc, ops, n, NULL, 0, &res, &e);
	if (r)
		snprintf(why, whylen, "%.250s", r == -ENOMEM ? "out of memory" : e.why);
	else if (!res.succeeded)
		snprintf(why, whylen, "the claim changed meanwhile");
	r = r ? r : res.succeeded ? 0 : -EAGAIN;
	etcd_txn_result_free(&res);
	sb_free(&cv);
	return r;
}

/* The mark taken back, tried again for CMIN_RETRY_MS while etcd does not answer (a mover cut
 * briefly is seen down by no other host: nobody else would recover its intent). Beyond that,
 * the intent stays for its recovery (by another host once this one is down 2 s, or by this
 * one at its next start). The answer's words get a line about it. */
static void unmark(struct cmin *m, struct etcd *c)
{
	char keep[sizeof(m->why)], why[300] = "";
	int kr = m->r, r, tries = 0;
	memcpy(keep, m->why, sizeof(keep));
	for (int64_t end = now_ms() + CMIN_RETRY_MS;;) {
		r = unmark_once(m, c, why, sizeof(why));
		tries++;
		if (!r || now_ms() >= end)
			break;
		usleep(500000);
	}
	size_t at = strlen(keep);
	if (r)
		snprintf(keep + at, sizeof(keep) - at,
			 "; the move's mark could not be taken back (%.200s): intent %s stays for "
			 "recovery",
			 why, m->tagtext);
	else if (tries > 1)
		snprintf(keep + at, sizeof(keep) - at,
			 "; the move's mark was taken back at try %d (before: %.200s)", tries, why);
	m->r = kr;
	memcpy(m->why, keep, sizeof(keep));
}

/* The source's door: its alive's p9, as a 9P target. */
static int door_of(struct cmin *m, struct etcd *c, struct rtarget *tg)
{
	char k[CKEY_MAX + 1], why[300];
	struct etcd_kv kv = {0};
	bool found = false;
	struct err e;
	struct crec_alive a;
	ckey_alive(k, sizeof(k), m->cluster, m->src);
	if (etcd_get(c, k, &kv, &found, &e))
		return say(m, -e.no, "etcd: %.900s", e.why);
	int r = found ? crec_alive_read(kv.value, kv.value_len, &a, why, sizeof(why)) : -ENOENT;
	if (found)
		etcd_kv_free(&kv);
	if (r)
		return say(m, -EHOSTDOWN, "%s is down (no alive record that reads)", m->src);
	*tg = (struct rtarget){.kind = RK_9P_TCP};
	const char *colon = strrchr(a.p9, ':');
	if (!colon || !*a.p9)
		return say(m, -EHOSTDOWN, "%s has no 9P door (p9 in its vmfs.conf)", m->src);
	size_t hl = (size_t)(colon - a.p9);
	const char *h = a.p9;
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	snprintf(tg->host, sizeof(tg->host), "%.*s", (int)hl, h);
	snprintf(tg->port, sizeof(tg->port), "%s", colon + 1);
	return 0;
}

/* The source makes no archive of an object that runs (its state changed since the head
 * looked): said at once rather than at the end of the wait. */
static int src_stopped(struct cmin *m, struct etcd *c)
{
	char k[CKEY_MAX + 1], why[300];
	struct etcd_kv kv = {0};
	bool found = false;
	struct err e;
	struct crec_obj o;
	ckey_obj(k, sizeof(k), m->cluster, m->src, m->nsid, m->cid);
	if (etcd_get(c, k, &kv, &found, &e) || !found)
		return 0; /* the wait decides */
	int r = crec_obj_read(kv.value, kv.value_len, &o, why, sizeof(why));
	etcd_kv_free(&kv);
	if (r)
		return 0;
	enum ostate st = o.state;
	crec_obj_free(&o);
	if (st == ST_RUNNING || st == ST_PAUSED)
		return say(m, -EBUSY, "%s is %s on %s: stop it first", m->name, ostate_name(st),
			   m->src);
	return 0;
}

static int pull(struct cmin *m, struct etcd *c)
{
	struct rtarget tg;
	int r = door_of(m, c, &tg);
	if (r)
		return r;
	char rel[4 * NAME_MAX_LEN];
	snprintf(rel, sizeof(rel), "ns/%s/%s/%s/export.tar", m->nsname, otype_dir(m->type),
		 m->name);
	unlinkat(m->typefd, m->tarname, 0);
	int fd =
	    openat(m->typefd, m->tarname, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	char *buf = malloc(CMIN_CHUNK);
	struct rtrans *t = buf && fd >= 0 ? r9p_new(&tg) : NULL;
	if (!t) {
		r = say(m, fd < 0 ? -errno : -ENOMEM, "%s cannot be made here: %s", m->tarname,
			fd < 0 ? strerror(errno) : "out of memory");
		goto out;
	}
	uint64_t off = 0;
	int64_t appear = now_ms() + CMIN_APPEAR_MS;
	for (;;) {
		t->deadline = (uint64_t)now_ms() + 30000;
		uint64_t at = off;
		ssize_t n = t->ops->pread(t, rel, &at, buf, CMIN_CHUNK);
		if (n == -ENOENT && !off && now_ms() < appear) {
			if ((r = src_stopped(m, c)))
				break;
			usleep(200000); /* the source makes it once it sees the mark */
			continue;
		}
		if (n < 0) {
			r = say(m, (int)n, "%s's export.tar through its door (%s:%s): %s%s%s",
				m->src, tg.host, tg.port, strerror((int)-n), *t->why ? ": " : "",
				t->why);
			break;
		}
		if (at != off) {
			r = say(m, -EIO, "%s's export.tar shrank while it was read", m->src);
			break;
		}
		if (!n)
			break;
		for (ssize_t w = 0; w < n;) {
			ssize_t k =
			    pwrite(fd, buf + w, (size_t)(n - w), (off_t)(off + (uint64_t)w));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				r = say(m, -errno, "%s: cannot write here: %s", m->tarname,
					strerror(errno));
				goto out;
			}
			w += k;
		}
		off += (uint64_t)n;
	}
	m->bytes = off;
out:
	if (t)
		t->ops->free(t);
	free(buf);
	if (fd >= 0)
		close(fd);
	return r;
}

/* GNU tar, as a child, into tmpdir (made new and empty), from the archive checked. */
static int extract(struct cmin *m)
{
	int fd = openat(m->typefd, m->tarname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return say(m, -errno, "%s: %s", m->tarname, strerror(errno));
	struct ctar_state s = {0};
	char why[600];
	int r = ctar_check_fd(fd, &s, why, sizeof(why));
	ctar_state_free(&s);
	if (r) {
		close(fd);
		return say(m, r == -EIO ? -EIO : -EPERM, "%s's archive refused: %s", m->src, why);
	}
	remove_tree(m->typefd, m->tmpdir); /* a crash's leftover: only a move makes that name */
	if (mkdirat(m->typefd, m->tmpdir, 0700) < 0) {
		close(fd);
		return say(m, -errno, "%s: %s", m->tmpdir, strerror(errno));
	}
	int dfd = openat(m->typefd, m->tmpdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	pid_t pid = dfd < 0 ? -1 : fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a vmfs killed -9 leaves no tar writing on */
		if (fchdir(dfd) < 0 || dup2(fd, 0) < 0)
			_exit(126);
		int nul = open("/dev/null", O_WRONLY);
		if (nul >= 0)
			dup2(nul, 1);
		execlp("tar", "tar", "-x", "--numeric-owner", "--xattrs", "--xattrs-include=*",
		       "--same-permissions", "--no-overwrite-dir", "-f", "-", (char *)NULL);
		_exit(127);
	}
	int st = 0, e = errno;
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	close(fd);
	if (dfd >= 0)
		close(dfd);
	if (pid < 0)
		return say(m, -e, "tar cannot be run: %s", strerror(e));
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return say(m, -EIO, "tar -x of %s's archive failed (%s %d)", m->src,
			   WIFEXITED(st) ? "exit" : "signal",
			   WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return 0;
}

struct cfgcheck {
	struct cmin *m;
	bool has_id, has_state;
	bool seen[NPARAMS_MAX];
};

static int cfg_kv(const char *k, const char *v, void *arg, char *err, size_t errlen)
{
	struct cfgcheck *cc = arg;
	unsigned long long x;
	if (!strcmp(k, "id")) {
		cc->has_id = true;
		return store_num(v, 10, 1, OBJ_ID_MAX, &x, err, errlen);
	}
	if (!strcmp(k, "ctime"))
		return store_num(v, 10, 0, (1ull << 63) - 1, &x, err, errlen);
	if (!strcmp(k, "state")) {
		enum ostate s;
		int r = store_state(v, &s, err, errlen);
		cc->has_state = true;
		if (!r && (s == ST_RUNNING || s == ST_PAUSED)) {
			snprintf(err, errlen, "state %s: a moved object is stopped", v);
			return -EINVAL;
		}
		return r;
	}
	int i = param_index(k);
	if (i < 0 || !(params[i].applies & otype_mask(cc->m->type))) {
		snprintf(err, errlen, "%s: no parameter of a %s", k, otype_name(cc->m->type));
		return -EINVAL;
	}
	char e[600];
	if (!cc->m->cfg[i] || strcmp(cc->m->cfg[i], v)) {
		snprintf(err, errlen,
			 "%s=%.200s is not what %s published of %s (%.200s): try again", k, v,
			 cc->m->src, cc->m->name, cc->m->cfg[i] ? cc->m->cfg[i] : "unset");
		return -EINVAL;
	}
	cc->seen[i] = true;
	int r = param_check(&params[i], v, e, sizeof(e));
	if (!r && (r = model_check_paths(&cc->m->v->m, &params[i], v, e, sizeof(e))))
		snprintf(err, errlen, "%s has no %s (%s): %.400s", cc->m->self, v, k, e);
	else if (r)
		snprintf(err, errlen, "%s: %.500s", k, e);
	return r;
}

/* The config read strictly, then its id made the local one this host gave it. */
static int load_check(struct cmin *m)
{
	int dfd = openat(m->typefd, m->tmpdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char *text = NULL, why[900];
	size_t len = 0;
	int r = dfd < 0 ? -errno
			: read_state(dfd, "config", STORE_FILE_MAX, &text, &len, why, sizeof(why));
	if (dfd < 0)
		snprintf(why, sizeof(why), "%s", strerror(-r));
	char *orig = !r ? malloc(len + 1) : NULL;
	struct cfgcheck cc = {m, false, false, {0}};
	if (!r && !orig) {
		r = -ENOMEM;
		snprintf(why, sizeof(why), "out of memory");
	}
	if (!r) {
		memcpy(orig, text, len);
		orig[len] = 0;
		r = store_parse(text, len, cfg_kv, &cc, why, sizeof(why));
		if (!r && (!cc.has_id || !cc.has_state)) {
			r = -EINVAL;
			snprintf(why, sizeof(why), "no %s", cc.has_id ? "state" : "id");
		}
		for (size_t i = 0; !r && i < NPARAMS_MAX; i++)
			if (m->cfg[i] && !cc.seen[i]) {
				r = -EINVAL;
				snprintf(why, sizeof(why), "no %s, which %s published: try again",
					 params[i].name, m->src);
			}
	}
	struct sbuf out = {0};
	for (char *line = orig, *nl; !r && line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		if (!strncmp(line, "id=", 3))
			sb_printf(&out, "id=%" PRIu64 "\n", m->lid);
		else
			sb_printf(&out, "%.*s\n", (int)n, line);
	}
	if (!r && (r = out.oom ? -ENOMEM : write_atomic(dfd, "config", out.p, out.len, 1)))
		snprintf(why, sizeof(why), "cannot write its config: %s", strerror(-r));
	sb_free(&out);
	free(orig);
	free(text);
	if (dfd >= 0)
		close(dfd);
	if (!r)
		return 0;
	char aside[NAME_MAX_LEN + CKEY_TAG_LEN + 16];
	snprintf(aside, sizeof(aside), ".%s.refused-%s", m->name, m->tagtext);
	bool kept = !renameat(m->typefd, m->tmpdir, m->typefd, aside);
	return say(m, r == -ENOMEM ? r : -EINVAL, "%s's state from %s is refused: config: %s%s%s%s",
		   m->name, m->src, why, kept ? " (kept aside in " : "", kept ? aside : "",
		   kept ? ")" : "");
}

struct capkv {
	char key[CKEY_MAX + 1];
	struct crec_cap cap;
	int64_t rev;
	struct sbuf val;
};

static int read_cap(struct cmin *m, struct etcd *c, const char *host, struct capkv *ck)
{
	struct etcd_kv kv = {0};
	bool found = false;
	struct err e;
	char why[300];
	ckey_cap(ck->key, sizeof(ck->key), m->cluster, host);
	ck->cap = (struct crec_cap){0};
	ck->rev = 0;
	if (etcd_get(c, ck->key, &kv, &found, &e))
		return say(m, -e.no, "etcd: %.900s", e.why);
	int r = found ? crec_cap_read(kv.value, kv.value_len, &ck->cap, why, sizeof(why)) : 0;
	ck->rev = found ? kv.mod_revision : 0;
	if (found)
		etcd_kv_free(&kv);
	return r ? say(m, -EIO, "%s cannot be read: %s", ck->key, why) : 0;
}

static uint64_t less(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

/* A commit whose answer never came: the claim says whether it landed, asked again for up to
 * CMIN_RETRY_MS (a cut from etcd: meanwhile another host may roll the move back, once this
 * one is down 2 s; the claim then names the source, unmarked, and the copy goes at once).
 * Unknown: the copy and the mark stay as they are (the intent names both; its recovery settles
 * them), and the answer says so. */
static int landed(struct cmin *m, struct etcd *c, int r, const char *why)
{
	char ck[CKEY_MAX + 1], e[300];
	snprintf(e, sizeof(e), "%.280s", why);
	for (int64_t end = now_ms() + CMIN_RETRY_MS; now_ms() < end;) {
		struct crec_claim cl;
		int64_t rev;
		int g = get_claim(m, c, ck, &cl, &rev);
		if (g == -ENOENT) /* (a commit makes it this host's: it did not land) */
			return say(m, r, "etcd, at the commit: %.280s (it did not land: %s)", e,
				   "the claim is gone");
		if (g) {
			usleep(500000);
			continue;
		}
		if (!strcmp(cl.host, m->self) && !*cl.moving) {
			m->committed = true;
			return 0;
		}
		if (!strcmp(cl.host, m->src))
			return say(m, r, "etcd, at the commit: %.280s (it did not land%s)", e,
				   *cl.moving ? ""
					      : ": the move was rolled back meanwhile; the copy "
						"here is removed");
		break;
	}
	m->unknown = true;
	return say(
	    m, -ETIMEDOUT,
	    "etcd, at the commit: %.280s: outcome unknown; the copy is kept in %s and intent "
	    "%s stays",
	    e, m->name, m->tagtext);
}

/* 0 when ns's record (compared by the commit) still lists this host: a hosts write that dropped
 * it meanwhile may have removed the namespace's dir here, and the copy with it. */
static int still_host(struct cmin *m, const struct etcd_kv *nkv)
{
	struct crec_ns ns = {0};
	char why[256];
	if (crec_ns_read(nkv->value, nkv->value_len, &ns, why, sizeof(why)))
		return say(m, -EIO, "ns/%s: its record in etcd is damaged: %s", m->nsname, why);
	bool listed = false;
	for (size_t i = 0; i < ns.nhosts; i++)
		listed |= !strcmp(ns.hosts[i], m->self);
	crec_ns_free(&ns);
	return listed ? 0
		      : say(m, -EBUSY, "%s was dropped from ns/%s's hosts during the copy: "
				       "the move is rolled back",
			    m->self, m->nsname);
}

static int commit(struct cmin *m, struct etcd *c)
{
	char ck[CKEY_MAX + 1], ik[CKEY_MAX + 1], nk[CKEY_MAX + 1];
	ckey_intent(ik, sizeof(ik), m->cluster, &m->tag);
	ckey_ns(nk, sizeof(nk), m->cluster, m->nsname);
	for (int t = 0; t < CMIN_TRIES; t++) {
		struct crec_claim cl;
		int64_t crev;
		int r = get_claim(m, c, ck, &cl, &crev);
		if (r)
			return r;
		if (strcmp(cl.moving, m->self) || strcmp(cl.host, m->src) ||
		    !same_tag(&cl.intent, &m->tag))
			return say(m, -EBUSY,
				   "%s's claim changed during the copy (%s's, moving to %s)",
				   m->name, cl.host, *cl.moving ? cl.moving : "nowhere");
		struct etcd_kv nkv = {0}, ikv = {0};
		bool nfound = false, ifound = false;
		struct err e;
		struct capkv a = {0}, b = {0};
		if (etcd_get(c, nk, &nkv, &nfound, &e) || etcd_get(c, ik, &ikv, &ifound, &e))
			return say(m, -e.no, "etcd: %.900s", e.why);
		if (!nfound || !ifound) {
			etcd_kv_free(&nkv);
			etcd_kv_free(&ikv);
			return say(m, -ENOENT, "%s is gone meanwhile", nfound ? ik : nk);
		}
		if ((r = still_host(m, &nkv))) {
			etcd_kv_free(&nkv);
			etcd_kv_free(&ikv);
			return r;
		}
		if ((r = read_cap(m, c, m->src, &a)) || (r = read_cap(m, c, m->self, &b))) {
			etcd_kv_free(&nkv);
			etcd_kv_free(&ikv);
			return r;
		}
		a.cap.vcpus = less(a.cap.vcpus, m->vcpus);
		a.cap.memory = less(a.cap.memory, m->memory);
		a.cap.objects = less(a.cap.objects, 1);
		b.cap.vcpus += m->vcpus;
		b.cap.memory += m->memory;
		b.cap.objects++;
		crec_cap_write(&a.cap, &a.val);
		crec_cap_write(&b.cap, &b.val);
		snprintf(cl.host, sizeof(cl.host), "%s", m->self);
		cl.moving[0] = 0;
		struct sbuf cv = {0};
		crec_claim_write(&cl, &cv);
		struct etcd_cmp cmp[] = {
		    {.key = ck, .target = ETCD_MOD, .num = crev},
		    {.key = nk, .target = ETCD_MOD, .num = nkv.mod_revision},
		    {.key = ik, .target = ETCD_MOD, .num = ikv.mod_revision},
		    {.key = a.key, .target = ETCD_MOD, .num = a.rev},
		    {.key = b.key, .target = ETCD_MOD, .num = b.rev},
		};
		struct etcd_op ops[] = {
		    {.kind = ETCD_OP_PUT, .key = ck, .value = cv.p, .len = cv.len},
		    {.kind = ETCD_OP_PUT, .key = nk, .value = nkv.value, .len = nkv.value_len},
		    {.kind = ETCD_OP_PUT, .key = a.key, .value = a.val.p, .len = a.val.len},
		    {.kind = ETCD_OP_PUT, .key = b.key, .value = b.val.p, .len = b.val.len},
		    {.kind = ETCD_OP_DELETE, .key = ik},
		};
		struct etcd_txn_result res = {0};
		r = cv.oom || a.val.oom || b.val.oom
			? err_set(&e, ENOMEM, "out of memory")
			: etcd_txn(c, cmp, 5, ops, 5, NULL, 0, &res, &e);
		bool ok = !r && res.succeeded;
		etcd_txn_result_free(&res);
		sb_free(&cv);
		sb_free(&a.val);
		sb_free(&b.val);
		etcd_kv_free(&nkv);
		etcd_kv_free(&ikv);
		if (r) /* it may have landed: the claim says */
			return landed(m, c, r, e.why);
		if (ok) {
			m->committed = true;
			return 0;
		}
	}
	return say(m, -EAGAIN, "the reservations changed %d times during the commit: try again",
		   CMIN_TRIES);
}

/* The copy under its own name before the commit: a crash after the commit finds it where the
 * loader looks. A crash before it leaves a copy whose claim names the source: it carries the
 * move's tag (CMOVE_COPY_TAG), by which this host's publisher knows it for the copy of a move
 * rolled back once the intent is gone, and removes it. Never over anything. */
static int place(struct cmin *m)
{
	int dfd = openat(m->typefd, m->tmpdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	size_t n = strlen(m->tagtext);
	int r = dfd < 0 ? -errno : write_atomic(dfd, CMOVE_COPY_TAG, m->tagtext, n, 1);
	if (dfd >= 0)
		close(dfd);
	if (r)
		return say(m, r, "%s: its move's tag cannot be written: %s", m->tmpdir,
			   strerror(-r));
	if (renameat2(m->typefd, m->tmpdir, m->typefd, m->name, RENAME_NOREPLACE) < 0)
		return say(m, errno == EEXIST ? -EEXIST : -errno, "%s cannot become %s here: %s",
			   m->tmpdir, m->name, strerror(errno));
	m->placed = true;
	return 0;
}

static void work(struct bgjob *bg)
{
	struct cmin *m = (struct cmin *)bg;
	struct etcd *c;
	struct err e;
	if (etcd_open(&m->o, &c, &e)) {
		say(m, -e.no, "etcd: %.900s", e.why);
		return;
	}
	if (!mark(m, c) && !pull(m, c) && !extract(m) && !load_check(m) && !place(m))
		commit(m, c);
	/* the copy goes first: the mark may take a while to take back (etcd cut) */
	unlinkat(m->typefd, m->tarname, 0);
	if (!m->committed && !m->unknown)
		remove_tree(m->typefd, m->placed ? m->name : m->tmpdir);
	if (m->marked && !m->committed && !m->unknown)
		unmark(m, c);
	etcd_close(c);
}

/* A VM's overlays name their base by its path in the source's image store (runtime/disk.c's
 * diskN.qcow2.base): made this host's path of the same image, else the next start would take
 * the overlay for one of another base and drop it. */
static void rebase(struct vmfs *v, struct object *o)
{
	static struct vm_disk d[VM_DISKS_MAX];
	if (o->type != OT_VM)
		return;
	char dir[NAME_MAX_LEN + 8];
	snprintf(dir, sizeof(dir), "vms/%s", o->name);
	int dfd = openat(o->ns->dirfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int n = dfd < 0 ? 0 : vm_disks(&v->m, o, d, VM_DISKS_MAX);
	for (int i = 0; i < n; i++) {
		char side[40];
		struct stat st;
		snprintf(side, sizeof(side), "disk%d.qcow2.base", i);
		if (fstatat(dfd, side, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    write_atomic(dfd, side, d[i].image, strlen(d[i].image), 1))
			model_event(o->ns, o, "disk %d: its base could not be set to %s", i,
				    d[i].image);
	}
	if (dfd >= 0)
		close(dfd);
}

/* On the loop: the copy becomes the object, loaded by the state loader. */
static void settle(struct cmin *m)
{
	struct vmfs *v = m->v;
	struct ns *ns = m->ns;
	struct object *o =
	    model_load_obj(&v->m, ns, m->type, m->name) ? NULL : obj_find(ns, m->type, m->name);
	if (!o) {
		say(m, -EIO,
		    "moved in the cluster, but the state loader refused %s here (host/log "
		    "says why; it is kept in damaged/)",
		    m->name);
		return;
	}
	rebase(v, o);
	cmove_copy_untag(v->m.statefd, ns->name, m->type, m->name);
	model_event(ns, o, "moved in from %s (cold move %s, %" PRIu64 " bytes of state)", m->src,
		    m->tagtext, m->bytes);
	say(m, 0, "moved %s from %s to %s (%" PRIu64 " bytes of state)", m->name, m->src, m->self,
	    m->bytes);
}

static void done(struct bgjob *bg)
{
	struct cmin *m = (struct cmin *)bg;
	if (m->committed)
		settle(m);
	if (m->r && m->r != -ENOMEM)
		evlog_add(&m->ns->log, "cluster: move %s from %s to %s: %s", m->name, m->src,
			  m->self, m->why);
	if (m->b) {
		m->b->err = m->r;
		if (!m->r)
			snprintf(m->b->why, sizeof(m->b->why), "ok: %.1000s\n", m->why);
		else
			snprintf(m->b->why, sizeof(m->b->why), "%s", m->why);
		m->b->pending = 0;
		waitq_wake_all(&m->b->wq);
		rbatch_put(m->b);
	} else if (m->j)
		ccmd_answer(m->c, m->j, -m->r, m->r ? m->why : "", m->r ? 0 : 1);
	for (struct cmin **p = &running; *p; p = &(*p)->next)
		if (*p == m) {
			*p = m->next;
			break;
		}
	close(m->typefd);
	ns_put(m->ns);
	cmin_free(m);
}

/* What both ways share, on the loop: this host's checks, the local id, the thread. */
static int begin(struct vmfs *v, struct cmin *m, struct ns *ns, const struct cview_obj *co,
		 char *err, size_t errlen)
{
	static uint64_t seq;
	snprintf(m->cluster, sizeof(m->cluster), "%s", v->chosts->cluster);
	snprintf(m->self, sizeof(m->self), "%s", v->chosts->self);
	snprintf(m->nsname, sizeof(m->nsname), "%s", ns->name);
	m->v = v;
	m->typefd = -1;
	if (obj_find_any(ns, m->name)) {
		snprintf(err, errlen, "%s has a VM or container named %s in ns/%s already", m->self,
			 m->name, ns->name);
		return -EEXIST;
	}
	if (!co->rec) {
		snprintf(err, errlen, "%s has published no record of %s yet: try again", m->src,
			 m->name);
		return -EAGAIN;
	}
	/* its values, from the source's record, before anything is copied: the images it names
	 * must be here, and a value that reaches the host only if this host's own template has
	 * it (as a launch's create); the config that arrives must say the same (load_check) */
	for (size_t i = 0; i < nparams && i < NPARAMS_MAX; i++) {
		const char *val = co->rec->cfg[i];
		char e[600];
		if (!val)
			continue;
		if (model_check_paths(&v->m, &params[i], val, e, sizeof(e))) {
			snprintf(err, errlen, "%s has no %s (%s of %s): %.400s", m->self, val,
				 params[i].name, m->name, e);
			return -ENOENT;
		}
		if ((!ns->cfg[i] || strcmp(ns->cfg[i], val)) &&
		    param_host_reaching(ns, (int)i, val, e, sizeof(e))) {
			snprintf(err, errlen,
				 "%s's %s reaches the host (%.300s): %s takes it only if its own "
				 "template of ns/%s has it",
				 m->name, params[i].name, e, m->self, ns->name);
			return -EPERM;
		}
		if (!(m->cfg[i] = strdup(val))) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	cmove_figures(ns, NULL, co->rec, &m->vcpus, &m->memory);
	if (ns->next_id > OBJ_ID_MAX) {
		snprintf(err, errlen, "ns/%s has used all its object ids here", ns->name);
		return -ENOSPC;
	}
	m->lid = m->cid >= ns->next_id ? m->cid : ns->next_id;
	ns->next_id = m->lid + 1;
	int r = ns_save(&v->m, ns);
	if (r) {
		snprintf(err, errlen, "cannot save ns/%s: %s", ns->name, strerror(-r));
		return r;
	}
	if ((m->typefd = openat(ns->dirfd, otype_dir(m->type),
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "ns/%s/%s: %s", ns->name, otype_dir(m->type),
			 strerror(errno));
		return -EIO;
	}
	m->tag = (struct ckey_tag){.run = v->m.run, .seq = ++seq};
	snprintf(m->tag.host, sizeof(m->tag.host), "%s", m->self);
	ckey_tag_fmt(&m->tag, m->tagtext);
	snprintf(m->tmpdir, sizeof(m->tmpdir), ".%s.moving", m->name);
	snprintf(m->tarname, sizeof(m->tarname), ".%s.move.tar", m->name);
	m->o = member_etcd_opts(v->conf, 0);
	m->ns = ns;
	ns_get(ns);
	if ((r = bgjob_start(&m->bg, &v->m, work, done))) {
		ns_put(ns);
		close(m->typefd);
		snprintf(err, errlen, "no thread for the move: %s", strerror(-r));
		return r;
	}
	m->next = running;
	running = m;
	return 0;
}

int cmove_in_local(struct vmfs *v, const struct cmove_req *rq, struct vwait *wait, char *err,
		   size_t errlen)
{
	struct cmin *m = calloc(1, sizeof(*m));
	const struct cview_obj *co = cview_obj_id(v->cview, rq->nsid, rq->id);
	if (!m || !(m->b = rbatch_new())) {
		free(m);
		return -ENOMEM;
	}
	if (!co) {
		rbatch_put(m->b);
		free(m);
		snprintf(err, errlen, "move %s: its claim went meanwhile", rq->name);
		return -ENOENT;
	}
	snprintf(m->name, sizeof(m->name), "%s", rq->name);
	snprintf(m->src, sizeof(m->src), "%s", rq->src);
	m->type = rq->type;
	m->nsid = rq->nsid;
	m->cid = rq->id;
	char e[900];
	int r = begin(v, m, rq->ns, co, e, sizeof(e));
	if (r) {
		rbatch_put(m->b);
		cmin_free(m);
		snprintf(err, errlen, "move %s %s: %s", rq->name, rq->dst, e);
		return r;
	}
	m->b->pending = 1;
	m->b->refs++; /* the write's */
	wait->rbatch = m->b;
	wait->rverb = NULL;
	return -EINPROGRESS;
}

/* Peer input: the object must be the source's in this host's view, not moving, with this
 * id, name and type; the source is the command's sender or another host that is up. */
static int check_in(struct ccmd *c, struct mjob *j, char *name, char *src, enum otype *type,
		    char *why, size_t whylen)
{
	struct cview *cv = c->v->cview;
	int r = cmove_in_read(j->cmd.args, name, src, type, why, whylen);
	if (r)
		return -r;
	if ((r = ccmd_job_ns(c, j, why, whylen)))
		return r;
	const struct cview_obj *o =
	    j->cmd.nids == 1 ? cview_obj_id(cv, j->cmd.ns, j->cmd.ids[0]) : NULL;
	if (!o || strcmp(o->name, name) || strcmp(o->claim.host, src) || o->claim.type != *type ||
	    !strcmp(src, c->ch->self)) {
		snprintf(why, whylen, "%s is not %s's %s in ns/%s (as this host sees the claims)",
			 name, src, otype_name(*type), j->ns);
		return EINVAL;
	}
	if (*o->claim.moving) {
		snprintf(why, whylen, "%s is moving to %s already", name, o->claim.moving);
		return EBUSY;
	}
	if (o->rec && (o->rec->state == ST_RUNNING || o->rec->state == ST_PAUSED)) {
		snprintf(why, whylen, "%s is %s on %s: stop it first", name,
			 ostate_name(o->rec->state), src);
		return EBUSY;
	}
	if (!chosts_up(c->ch, src)) {
		snprintf(why, whylen, "%s is down: nothing can be copied from it", src);
		return EHOSTDOWN;
	}
	return 0;
}

void cmove_in_seen(struct ccmd *c, struct mjob *j)
{
	char name[NAME_MAX_LEN + 1], src[NAME_MAX_LEN + 1];
	enum otype type;
	j->pre_err = check_in(c, j, name, src, &type, j->pre_reason, sizeof(j->pre_reason));
	j->n = 1;
	ccmd_queue(c, j);
}

void cmove_in_apply(struct ccmd *c, struct mjob *j)
{
	char why[HOSTANS_REASON_MAX] = "", name[NAME_MAX_LEN + 1], src[NAME_MAX_LEN + 1];
	enum otype type;
	int err = check_in(c, j, name, src, &type, why, sizeof(why));
	struct ns *ns = err ? NULL : ns_find(&c->v->m, j->ns);
	const struct cview_obj *co =
	    ns ? cview_obj_id(c->v->cview, j->cmd.ns, j->cmd.ids[0]) : NULL;
	struct cmin *m = co ? calloc(1, sizeof(*m)) : NULL;
	if (!err && !m) {
		err = ENOMEM;
		snprintf(why, sizeof(why), "out of memory");
	}
	if (err) {
		free(m);
		return ccmd_answer(c, j, err, why, 0);
	}
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->src, sizeof(m->src), "%s", src);
	m->type = type;
	m->nsid = j->cmd.ns;
	m->cid = j->cmd.ids[0];
	m->c = c;
	m->j = j;
	int r = begin(c->v, m, ns, co, why, sizeof(why));
	if (r) {
		cmin_free(m);
		ccmd_answer(c, j, -r, why, 0);
	}
}
