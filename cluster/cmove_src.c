/* The source's part of a cold move (cluster/cmove_int.h). It follows the claims of its own
 * objects in the cache:
 *
 * - marked moving: GNU tar, a child of this vmfs, archives the object's directory (config,
 *   log, overlay disks; of run/ only a container's upper/, its own tree) into
 *   STATE/cluster/export/NSID.ID.tar (`--sparse --numeric-owner --xattrs --format=posix
 *   --one-file-system`, never following a link: tar does not without -h). Once made, the
 *   object's directory shows a read-only export.tar, for host root only (the door's root
 *   peers: p9_user = root; never the HTTP door, never the namespace's owner);
 * - the claim names the destination now: the archive goes and the object is removed here
 *   (the destination's copy is the object);
 * - the mark taken back: the archive goes, the object stays (said);
 * - seen at a start or a resync, a mark whose intent went while this host was away: taken
 *   back. (A claim that moved to another host meanwhile is the publisher's to see: cns.c.)
 *   Archives of an earlier run are removed at the start.
 *
 * On the loop; the archive is made on a thread of its own (runtime/bgjob.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster/chosts.h"
#include "cluster/ckey.h"
#include "cluster/cmove_int.h"
#include "cluster/cmove_tar.h"
#include "cluster/cview.h"
#include "etcd/client.h"
#include "etcd/member.h"
#include "runtime/bgjob.h"
#include "runtime/lifecycle.h"
#include "vmfs/fkind.h"
#include "vmfs/node.h"

#define EXPORT_DIR "cluster/export"

/* An archive made or being made, by the cluster ids of its object. */
struct cexp {
	struct bgjob bg; /* first */
	struct cexp *next;
	struct vmfs *v;
	uint64_t nsid, id;
	char name[NAME_MAX_LEN + 1];
	char path[PATH_MAX], tmp[PATH_MAX]; /* the archive, and while tar writes it */
	char objdir[PATH_MAX];
	bool running, ready, dropped;
	struct ckey_tag tag; /* the intent that marked it */
	int r;
	char why[512];
};

/* A mark whose intent went without the move (its destination died and the intent was rolled
 * back by a vmfs that left the mark, or this host was away when it went): taken back by the
 * owner, on a thread (etcd), only if the intent is still absent and the claim still this
 * host's with that mark. */
struct unmark {
	struct bgjob bg; /* first */
	struct etcd_opts o;
	char cluster[NAME_MAX_LEN + 1], self[NAME_MAX_LEN + 1], name[NAME_MAX_LEN + 1];
	uint64_t nsid;
	struct ckey_tag tag;
	struct evlog *log;
	int r;
	char why[512];
};

static struct cexp *exports; /* the loop's */

static struct cexp *find(uint64_t nsid, uint64_t id)
{
	for (struct cexp *e = exports; e; e = e->next)
		if (e->nsid == nsid && e->id == id && !e->dropped)
			return e;
	return NULL;
}

static void unlink_exp(struct cexp *e)
{
	for (struct cexp **pp = &exports; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			return;
		}
}

/* The names tar is given: the directory's, but run/ only as run/upper (sockets, pids and
 * mounts of a run are the source's own); files a write left half-made (.NAME.tmp) neither. */
static int tar_args(const char *dir, const char *archive, char ***argv_out, size_t *fixed)
{
	/* "--": the names came from a peer's archive once (a file named --checkpoint-action=...
	 * is a name, not an option) */
	const char *const head[] = {"tar",	    "-c",	   "--format=posix",
				    "--sparse",	    "--numeric-owner", "--xattrs",
				    "--one-file-system", "-f",	   archive,
				    "--"};
	size_t nh = sizeof(head) / sizeof(head[0]);
	*fixed = nh;
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	size_t cap = nh + 16, n = 0;
	char **argv = calloc(cap, sizeof(*argv));
	struct dirent *de;
	int r = argv ? 0 : -ENOMEM;
	for (size_t i = 0; argv && i < nh; i++)
		argv[n++] = (char *)head[i];
	while (!r && (de = readdir(d))) {
		const char *nm = de->d_name;
		if (nm[0] == '.')
			continue;
		if (n + 4 >= cap) {
			char **g = realloc(argv, (cap *= 2) * sizeof(*g));
			if (!g) {
				r = -ENOMEM;
				break;
			}
			argv = g;
		}
		if (!strcmp(nm, "run")) {
			char up[PATH_MAX];
			struct stat st;
			snprintf(up, sizeof(up), "%s/" CTAR_UPPER, dir);
			if (lstat(up, &st) == 0 && S_ISDIR(st.st_mode) &&
			    !(argv[n++] = strdup(CTAR_UPPER)))
				r = -ENOMEM;
			continue;
		}
		if (!(argv[n++] = strdup(nm)))
			r = -ENOMEM;
	}
	closedir(d);
	if (argv)
		argv[n] = NULL;
	if (r && argv) {
		for (size_t i = nh; i < n; i++)
			free(argv[i]);
		free(argv);
		return r;
	}
	*argv_out = argv;
	return (int)n;
}

static void exp_work(struct bgjob *bg)
{
	struct cexp *e = (struct cexp *)bg;
	char **argv = NULL;
	size_t fixed = 0;
	int n = tar_args(e->objdir, e->tmp, &argv, &fixed);
	if (n < 0) {
		e->r = n;
		snprintf(e->why, sizeof(e->why), "%.300s: %s", e->objdir, strerror(-n));
		return;
	}
	unlink(e->tmp);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a vmfs killed -9 leaves no tar writing on */
		if (chdir(e->objdir) < 0)
			_exit(126);
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0)
			dup2(nul, 0);
		execvp("tar", argv);
		_exit(127);
	}
	int st = 0, err = errno;
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	for (size_t i = fixed; i < (size_t)n; i++)
		free(argv[i]);
	free(argv);
	if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		e->r = -EIO;
		snprintf(e->why, sizeof(e->why), "tar -c of %.300s failed (%s)", e->objdir,
			 pid < 0 ? strerror(err) : "see vmfs's standard error");
		unlink(e->tmp);
		return;
	}
	if (rename(e->tmp, e->path) < 0) {
		e->r = -errno;
		snprintf(e->why, sizeof(e->why), "%.300s: %s", e->path, strerror(errno));
	}
}

static void exp_done(struct bgjob *bg)
{
	struct cexp *e = (struct cexp *)bg;
	e->running = false;
	if (e->dropped) { /* the move ended while tar ran */
		unlink(e->path);
		unlink_exp(e);
		free(e);
		return;
	}
	e->ready = !e->r;
	if (e->r)
		evlog_add(&e->v->log, "cluster: move of %s: its export.tar cannot be made: %s",
			  e->name, e->why);
}

static void drop(struct cexp *e)
{
	if (e->running) { /* exp_done frees it */
		e->dropped = true;
		return;
	}
	unlink(e->path);
	unlink_exp(e);
	free(e);
}

static struct ns *local_ns(struct vmfs *v, uint64_t nsid)
{
	const struct cview_ns *cns = v->cview ? cview_ns_id(v->cview, nsid) : NULL;
	return cns ? ns_find(&v->m, cns->name) : NULL;
}

static bool same_tag(const struct ckey_tag *a, const struct ckey_tag *b)
{
	return !strcmp(a->host, b->host) && a->run == b->run && a->seq == b->seq;
}

static void unmark_work(struct bgjob *bg)
{
	struct unmark *u = (struct unmark *)bg;
	struct etcd *c;
	struct err e;
	char key[CKEY_MAX + 1], ikey[CKEY_MAX + 1], why[256];
	struct etcd_kv kv = {0};
	bool found = false;
	struct crec_claim cl;
	ckey_claim(key, sizeof(key), u->cluster, u->nsid, u->name);
	ckey_intent(ikey, sizeof(ikey), u->cluster, &u->tag);
	if (etcd_open(&u->o, &c, &e)) {
		u->r = -e.no;
		snprintf(u->why, sizeof(u->why), "etcd: %.400s", e.why);
		return;
	}
	if (etcd_get(c, key, &kv, &found, &e) || !found ||
	    crec_claim_read(kv.value, kv.value_len, &cl, why, sizeof(why)) ||
	    strcmp(cl.host, u->self) || !*cl.moving || !same_tag(&cl.intent, &u->tag)) {
		u->r = -EALREADY; /* settled otherwise meanwhile */
	} else {
		int64_t rev = kv.mod_revision;
		cl.moving[0] = 0;
		memset(&cl.intent, 0, sizeof(cl.intent));
		struct sbuf v = {0};
		crec_claim_write(&cl, &v);
		/* (a move under way when this host came back has its intent: left to it) */
		struct etcd_cmp cmp[] = {{.key = key, .target = ETCD_MOD, .num = rev},
					 {.key = ikey, .target = ETCD_VERSION, .num = 0}};
		struct etcd_op op = {.kind = ETCD_OP_PUT, .key = key, .value = v.p, .len = v.len};
		struct etcd_txn_result res = {0};
		if (etcd_txn(c, cmp, 2, &op, 1, NULL, 0, &res, &e)) {
			u->r = -e.no;
			snprintf(u->why, sizeof(u->why), "etcd: %.400s", e.why);
		} else if (!res.succeeded) {
			u->r = -EALREADY;
		}
		etcd_txn_result_free(&res);
		sb_free(&v);
	}
	if (found)
		etcd_kv_free(&kv);
	etcd_close(c);
}

static void unmark_done(struct bgjob *bg)
{
	struct unmark *u = (struct unmark *)bg;
	if (!u->r)
		evlog_add(u->log,
			  "cluster: %s: its move's intent went without the move (rolled back): "
			  "it is no longer marked moving",
			  u->name);
	else if (u->r != -EALREADY)
		evlog_add(u->log, "cluster: %s: its stale moving mark cannot be taken back: %s",
			  u->name, u->why);
	free(u);
}

static void start_unmark(struct vmfs *v, uint64_t nsid, const char *name,
			 const struct ckey_tag *tag)
{
	struct unmark *u = calloc(1, sizeof(*u));
	if (!u)
		return;
	u->o = member_etcd_opts(v->conf, 0);
	snprintf(u->cluster, sizeof(u->cluster), "%s", v->chosts->cluster);
	snprintf(u->self, sizeof(u->self), "%s", v->chosts->self);
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->nsid = nsid;
	u->tag = *tag;
	u->log = &v->log;
	if (bgjob_start(&u->bg, &v->m, unmark_work, unmark_done))
		free(u);
}

static void start_export(struct vmfs *v, uint64_t nsid, uint64_t id, const char *name,
			 const struct ckey_tag *tag)
{
	struct ns *ns = local_ns(v, nsid);
	struct object *o = ns ? obj_find_any(ns, name) : NULL;
	if (!o || find(nsid, id))
		return;
	if (o->state == ST_RUNNING || o->state == ST_PAUSED) {
		evlog_add(&ns->log,
			  "cluster: %s is marked moving but it runs here: no export.tar "
			  "(the move fails)",
			  name);
		return;
	}
	struct cexp *e = calloc(1, sizeof(*e));
	if (!e)
		return;
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/cluster", v->m.statedir);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/" EXPORT_DIR, v->m.statedir);
	mkdir(dir, 0700);
	e->v = v;
	e->nsid = nsid;
	e->id = id;
	e->tag = *tag;
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->path, sizeof(e->path), "%.3000s/%" PRIu64 ".%" PRIu64 ".tar", dir, nsid, id);
	snprintf(e->tmp, sizeof(e->tmp), "%.3100s.tmp", e->path);
	snprintf(e->objdir, sizeof(e->objdir), "%s/ns/%s/%s/%s", v->m.statedir, ns->name,
		 otype_dir(o->type), name);
	e->running = true;
	e->next = exports;
	exports = e;
	if (bgjob_start(&e->bg, &v->m, exp_work, exp_done)) {
		evlog_add(&ns->log, "cluster: move of %s: no thread to make its export.tar", name);
		exports = e->next;
		free(e);
		return;
	}
	evlog_add(&ns->log, "cluster: %s is moving: its export.tar is being made", name);
}

/* The claim names another host now: the object is that host's, its copy here goes. */
static void moved_away(struct vmfs *v, uint64_t nsid, const char *name, const char *to)
{
	struct ns *ns = local_ns(v, nsid);
	struct object *o = ns ? obj_find_any(ns, name) : NULL;
	if (!o)
		return;
	char err[512];
	/* as a flush: what it left outside the state directory (a container's cgroup, its
	 * mounts) goes too */
	if (lifecycle_remove(&v->m, o, err, sizeof(err)))
		evlog_add(&ns->log,
			  "cluster: %s moved to %s, but its copy here cannot be removed: "
			  "%s",
			  name, to, err);
	else
		evlog_add(&ns->log, "cluster: %s moved to %s: its copy here is removed", name, to);
}

/* The mark went, the claim still this host's: the move ended without moving it. */
static void unmarked(struct vmfs *v, uint64_t nsid, const char *name, const char *to)
{
	struct ns *ns = local_ns(v, nsid);
	if (!ns || !obj_find_any(ns, name))
		return;
	evlog_add(&ns->log,
		  "cluster: %s is no longer marked moving to %s: that move ended without moving it "
		  "(failed or rolled back); it is this host's",
		  name, to);
	evlog_add(&v->log, "cluster: ns %s: %s is no longer marked moving to %s: it stays here",
		  ns->name, name, to);
}

static bool claim_of(const struct ccache_kv *kv, struct crec_claim *c)
{
	char why[256];
	return kv && !crec_claim_read(kv->value, kv->len, c, why, sizeof(why));
}

/* Whether a claim's value may name host (its line host=HOST): false only when it cannot, so
 * that the claims of other hosts, a launch's thousand, are not parsed here for nothing. */
static bool may_name(const struct ccache_kv *kv, const char *host)
{
	char line[NAME_MAX_LEN + 8];
	int n = snprintf(line, sizeof(line), "\nhost=%s", host);
	if (!kv || n < 0 || (size_t)n >= sizeof(line))
		return kv != NULL;
	for (const char *p = kv->value, *end = kv->value + kv->len;
	     (p = memmem(p, (size_t)(end - p), line, (size_t)n)); p += n)
		if (p + n == end || p[n] == '\n')
			return true;
	return false;
}

/* A mark of the live path (an intent of kind migrate): no archive is made for it. */
static bool live_move(struct vmfs *v, const struct ckey_tag *tag)
{
	char key[CKEY_MAX + 1], why[256];
	struct crec_intent in;
	if (ckey_intent(key, sizeof(key), v->chosts->cluster, tag) < 0)
		return false;
	const struct ccache_kv *kv = ccache_get(v->chosts->cache, key);
	if (!kv || crec_intent_read(kv->value, kv->len, &in, why, sizeof(why)))
		return false;
	bool live = in.kind == CREC_INTENT_MIGRATE;
	crec_intent_free(&in);
	return live;
}

static void changed(void *ctx, const char *key, const struct ccache_kv *old,
		    const struct ccache_kv *now)
{
	struct vmfs *v = ctx;
	struct ckey k;
	enum ckey_kind kind = ckey_parse(v->chosts->cluster, key, &k);
	/* (also at a resync: an intent that went while the watch was away) */
	if (kind == CK_INTENT && !now) {
		for (struct cexp *e = exports; e; e = e->next)
			if (!e->dropped && same_tag(&e->tag, &k.tag))
				start_unmark(v, e->nsid, e->name, &e->tag);
		return;
	}
	if (kind != CK_CLAIM)
		return;
	const char *self = v->chosts->self;
	/* what follows acts on a claim that names this host, before or now, or on an export */
	if (!exports && !may_name(old, self) && !may_name(now, self))
		return;
	struct crec_claim oc, nc;
	bool had = claim_of(old, &oc), has = claim_of(now, &nc);
	bool was_mine = had && !strcmp(oc.host, self), mine = has && !strcmp(nc.host, self);
	struct cexp *e = find(k.nsid, mine ? nc.id : had ? oc.id : 0);
	if (mine && *nc.moving) {
		/* seen at a start or a resync: its intent may have gone while this host was away
		 * (the unmark looks in etcd: the cache is not loaded yet) */
		if (v->chosts->loading)
			start_unmark(v, k.nsid, k.name, &nc.intent);
		if (!live_move(v, &nc.intent))
			start_export(v, k.nsid, nc.id, k.name, &nc.intent);
		return;
	}
	if (e)
		drop(e);
	if (was_mine && *oc.moving && mine)
		unmarked(v, k.nsid, k.name, oc.moving);
	if (was_mine && *oc.moving && has && !strcmp(nc.host, oc.moving) && nc.id == oc.id)
		moved_away(v, k.nsid, k.name, nc.host);
}

static bool ends_with(const char *s, const char *end)
{
	size_t n = strlen(s), k = strlen(end);
	return n > k && !strcmp(s + n - k, end);
}

/* What a move cut before its copy was placed left at its destination (.NAME.moving,
 * .NAME.move.tar): never an object's, removed at the start. */
static void remove_partial(struct vmfs *v)
{
	for (size_t i = 0; i < v->m.nns; i++)
		for (int t = 0; t < 2; t++) {
			struct ns *ns = v->m.nss[i];
			int fd = openat(ns->dirfd, otype_dir((enum otype)t),
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
			if (!d) {
				if (fd >= 0)
					close(fd);
				continue;
			}
			struct dirent *de;
			while ((de = readdir(d)))
				if (de->d_name[0] == '.' && (ends_with(de->d_name, ".moving") ||
							     ends_with(de->d_name, ".move.tar"))) {
					int r = remove_tree(dirfd(d), de->d_name);
					evlog_add(&ns->log,
						  "cluster: %s/%s, a cold move's partial copy: %s",
						  otype_dir((enum otype)t), de->d_name,
						  r ? strerror(-r) : "removed");
				}
			closedir(d);
		}
}

/* Archives of an earlier run: its moves were over or are made again when their marks are
 * seen (an export is this run's, in `exports`). */
static void remove_archives(struct vmfs *v)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/" EXPORT_DIR, v->m.statedir);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') { /* (NSID.ID.tar and its .tmp: vmfs makes no other) */
			int r = unlinkat(dirfd(d), de->d_name, 0) ? -errno : 0;
			evlog_add(&v->log, "cluster: %s/%s, an archive of an earlier run's move: %s",
				  EXPORT_DIR, de->d_name, r ? strerror(-r) : "removed");
		}
	closedir(d);
}

int cmove_src_listen(struct vmfs *v)
{
	remove_partial(v);
	remove_archives(v);
	return chosts_listen(v->chosts, changed, v);
}

static const struct cview_obj *claim_here(struct vmfs *v, const struct object *o)
{
	if (!v->cview || !v->chosts)
		return NULL;
	const struct cview_ns *cns = cview_ns_find(v->cview, o->ns->name);
	const struct cview_obj *co = cns ? cview_obj_find(v->cview, cns->rec.id, o->name) : NULL;
	return co && !strcmp(co->claim.host, v->chosts->self) ? co : NULL;
}

bool cmove_busy(struct vmfs *v, const struct object *o, char *why, size_t whylen)
{
	const struct cview_obj *co = claim_here(v, o);
	if (!co || !*co->claim.moving)
		return false;
	snprintf(why, whylen, "moving to %s", co->claim.moving);
	return true;
}

void cmove_export_path(struct vmfs *v, const struct object *o, char *out, size_t outlen)
{
	const struct cview_obj *co = o ? claim_here(v, o) : NULL;
	struct cexp *e = co && *co->claim.moving ? find(co->nsid, co->id) : NULL;
	snprintf(out, outlen, "%s", e && e->ready ? e->path : "");
}

bool cmove_exporting(struct vmfs *v, const struct object *o)
{
	char p[PATH_MAX];
	cmove_export_path(v, o, p, sizeof(p));
	return *p;
}

/* export.tar (vmfs/fkind.h): the archive as it is on disk, for host root only. */
static int ex_open(struct vmfs *v, struct vhandle *h, int flags)
{
	char p[PATH_MAX];
	if ((flags & O_ACCMODE) != O_RDONLY || !h->host)
		return -EACCES;
	cmove_export_path(v, h->n.obj, p, sizeof(p));
	if (!*p)
		return -ENOENT;
	h->fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return h->fd < 0 ? -errno : 0;
}

static ssize_t ex_read(struct vmfs *v, struct vhandle *h, char *buf, size_t size, off_t off)
{
	(void)v;
	ssize_t n = pread(h->fd, buf, size, off);
	return n < 0 ? -errno : n;
}

static void ex_release(struct vmfs *v, struct vhandle *h)
{
	(void)v;
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

static off_t ex_size(struct vmfs *v, const struct vnode *n)
{
	char p[PATH_MAX];
	struct stat st;
	cmove_export_path(v, n->obj, p, sizeof(p));
	return *p && stat(p, &st) == 0 ? st.st_size : 0;
}

const struct fkind fk_export = {
    .open = ex_open,
    .read = ex_read,
    .release = ex_release,
    .size = ex_size,
};
