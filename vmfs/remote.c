/* The files of a member's VM or container, seen in the head's tree: every open, read and
 * write goes to the same file of the member's tree through its worker (cluster/rjob.h), and
 * waits for the answer the way a console read or a start waits: parked, never blocking the
 * loop. What a local file answers, the remote one answers, because the member's vmfs is
 * the one answering; the head adds only the time of the trip. Their kind is fk_remote
 * (vmfs/fkind.h); their directories' rows of vtab name remote_lookup and remote_names.
 *
 * With etcd, another host's object (VK_COBJ, vmfs/cobj.c) has the files its record cannot
 * give (console, console.log, log, and a VM's screens) served the same way, by its owner's
 * 9P door at the `p9` of its alive record, through the workers of cluster/chostw.h (a VM's
 * vnc and qmp too: its door acts as root for us, so qmp is host root's only here); while
 * the view says its owner is down they fail at once with EHOSTDOWN and words. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/chosts.h"
#include "cluster/chostw.h"
#include "cluster/crec.h"
#include "cluster/cview.h"
#include "runtime/vlan.h"
#include "vmfs/fkind.h"
#include "vmfs/vreq.h"
#include "vmfs/kinds.h"
#include "vmfs/node.h"
#include "vmfs/remote.h"

#define REMOTE_MS 10000 /* a start through a member waits for its QEMU */
#define STREAM_MS (24u * 3600 * 1000)

/* The answer to one request, shared by the handle and the job (either may go first). */
struct rreq {
	int refs;
	bool done;
	int err;
	struct sbuf out;
	struct waitq wq;
	uint64_t off;       /* a console: how far into the member's console.log */
	struct rworker *w;  /* a console's own worker: its reads wait for output */
	size_t size;        /* a write's size */
	bool answer;        /* out is a ctl's answer: it reads back even after a refusal */
	size_t apos;        /* how much of the answer was read: the descriptor's offset is
			     * past what was written to it (a transaction file's offset) */
	/* where the file is, taken at open (a view's pointers last until its next change) */
	char rel[1024];           /* its path in the owner's tree */
	char host[NAME_MAX_LEN + 1];
	char what[2 * NAME_MAX_LEN + 16]; /* NAME/FILE, NAME/config/PARAM: for the log */
	char p9[CREC_HOSTPORT_MAX]; /* with etcd: the owner's door */
};

static const char *const vm_files[] = {"ctl",		 "state", "info", "top",	  "config",
				       "console",	 "console.log", "log",  "screenshot.png",
				       "thumbnail.png", "vnc",   "qmp"};
static const char *const ct_files[] = {"ctl",     "state",	 "info", "top",
				       "config", "console", "console.log", "log"};

/* another host's object with etcd: what its record does not hold */
static const char *const cobj_files[] = {"console", "console.log", "log", "screenshot.png",
					 "thumbnail.png", "vnc", "qmp"};
#define COBJ_CT_FILES 3 /* a container has no screens */

static const char *const *files_of(int type, size_t *n)
{
	*n = type == OT_VM ? ARRAY_SIZE(vm_files) : ARRAY_SIZE(ct_files);
	return type == OT_VM ? vm_files : ct_files;
}

int remote_lookup(struct vmfs *v, const struct vnode *dir, const char *name, struct vnode *out)
{
	size_t n;
	const char *const *f = files_of(dir->ro->type, &n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(f[i], name)) {
			out->sub = (int)i;
			out->e = vtab_find(strcmp(name, "config") ? VK_ROBJ_FILE : VK_ROBJ_CONFIG);
			return 0;
		}
	return -ENOENT;
}

int remote_names(struct vmfs *v, const struct vnode *dir, size_t from,
		 int (*fn)(void *ctx, const char *name, size_t idx), void *ctx)
{
	size_t n;
	const char *const *f = files_of(dir->ro->type, &n);
	for (size_t i = from; i < n; i++)
		if (fn(ctx, f[i], i))
			return 1;
	return 0;
}

static size_t cobj_nfiles(struct vmfs *v, const struct vnode *dir)
{
	return cobj_type(v, dir) == OT_VM ? ARRAY_SIZE(cobj_files) : COBJ_CT_FILES;
}

int remote_cobj_lookup(struct vmfs *v, const struct vnode *dir, const char *name,
		       struct vnode *out)
{
	for (size_t i = 0; i < cobj_nfiles(v, dir); i++)
		if (!strcmp(cobj_files[i], name)) {
			out->sub = (int)i;
			out->e = vtab_find(VK_COBJ_FILE);
			return 0;
		}
	return -ENOENT;
}

int remote_cobj_names(struct vmfs *v, const struct vnode *dir, size_t from,
		      int (*fn)(void *ctx, const char *name, size_t idx), void *ctx)
{
	for (size_t i = from; i < cobj_nfiles(v, dir); i++)
		if (fn(ctx, cobj_files[i], i))
			return 1;
	return 0;
}

/* config/ of a member's object: the parameters that apply to its type. */
int remote_config_lookup(struct vmfs *v, const struct vnode *dir, const char *name,
			 struct vnode *out)
{
	out->sub = param_index(name);
	out->e = vtab_find(VK_ROBJ_PARAM);
	return out->sub >= 0 && (params[out->sub].applies & otype_mask(dir->ro->type)) ? 0
										 : -ENOENT;
}

int remote_config_names(struct vmfs *v, const struct vnode *dir, size_t from,
			int (*fn)(void *ctx, const char *name, size_t idx), void *ctx)
{
	for (size_t i = from; i < nparams; i++)
		if ((params[i].applies & otype_mask(dir->ro->type)) && fn(ctx, params[i].name, i))
			return 1;
	return 0;
}

static const char *file_name(const struct vnode *n)
{
	if (n->e->kind == VK_COBJ_FILE)
		return n->sub >= 0 && (size_t)n->sub < ARRAY_SIZE(cobj_files) ? cobj_files[n->sub]
									 : "?";
	size_t len;
	const char *const *f = files_of(n->ro->type, &len);
	return n->e->kind == VK_ROBJ_PARAM ? params[n->sub].name : f[n->sub];
}

/* The path of n in its owner's tree, and the owner. */
static int where(struct vmfs *v, const struct vnode *n, struct rreq *rr)
{
	if (n->ro) {
		snprintf(rr->rel, sizeof(rr->rel), "ns/%s/%s/%s/%s%s", n->ro->ns,
			 n->ro->type == OT_VM ? "vms" : "containers", n->ro->name,
			 n->e->kind == VK_ROBJ_PARAM ? "config/" : "", file_name(n));
		snprintf(rr->host, sizeof(rr->host), "%s", n->ro->mb->name);
		snprintf(rr->what, sizeof(rr->what), "%s/%s%s", n->ro->name,
			 n->e->kind == VK_ROBJ_PARAM ? "config/" : "", file_name(n));
		return 0;
	}
	const struct cview_obj *o = cobj_of(v, n);
	const struct cview_ns *ns = o ? cview_ns_id(v->cview, o->nsid) : NULL;
	if (!ns)
		return -ENOENT;
	snprintf(rr->rel, sizeof(rr->rel), "ns/%s/%s/%s/%s", ns->name,
		 o->claim.type == OT_VM ? "vms" : "containers", o->name, file_name(n));
	snprintf(rr->host, sizeof(rr->host), "%s", o->claim.host);
	snprintf(rr->what, sizeof(rr->what), "%s/%s", o->name, file_name(n));
	return 0;
}

/* The door of host, from its alive record ("" if none or unreadable: no way to it). */
static void door_of(struct vmfs *v, const char *host, char *p9, size_t len)
{
	struct crec_alive a;
	*p9 = 0;
	if (v->chosts && chosts_alive(v->chosts, host, &a))
		snprintf(p9, len, "%s", a.p9);
}

static bool is_console(const struct vnode *n)
{
	return (n->e->kind == VK_ROBJ_FILE || n->e->kind == VK_COBJ_FILE) &&
	       !strcmp(file_name(n), "console");
}

static bool is_ctl(const struct vnode *n)
{
	const char *f = file_name(n);
	return (n->e->kind == VK_ROBJ_FILE && !strcmp(f, "ctl")) ||
	       ((n->e->kind == VK_ROBJ_FILE || n->e->kind == VK_COBJ_FILE) && !strcmp(f, "qmp"));
}

static void rreq_put(struct rreq *rr)
{
	if (--rr->refs)
		return;
	if (rr->w)
		rworker_drop(rr->w);
	sb_free(&rr->out);
	free(rr);
}

static void req_done(struct rjob *j)
{
	struct rreq *rr = j->arg;
	rr->done = true;
	rr->err = j->err;
	if (j->op == ROP_TAIL && !j->err)
		rr->off = j->off;
	sb_free(&rr->out);
	rr->out = j->out;
	j->out = (struct sbuf){0};
	rjob_free(j);
	waitq_wake_all(&rr->wq);
	rreq_put(rr);
}

/* Starts op on n's file for h (a new answer replaces the last); a console's reads go to
 * its console.log, which never waits. */
static int request(struct vmfs *v, struct vhandle *h, enum rop op, const char *data, size_t len)
{
	struct rreq *rr = h->aux;
	char rel[1024];
	snprintf(rel, sizeof(rel), "%s", rr->rel);
	if (!h->n.ro && !rr->w && !v->chostw && !(v->chostw = chostw_new(&v->m)))
		return -ENOMEM;
	if (op == ROP_TAIL)
		strncat(rel, ".log", sizeof(rel) - strlen(rel) - 1);
	struct rjob *j = rjob_new(op, "", req_done, rr);
	if (!j)
		return -ENOMEM;
	sb_add(&j->in, data, len);
	j->off = rr->off;
	rr->done = false;
	rr->err = 0;
	rr->answer = op == ROP_CTL;
	rr->apos = 0;
	rr->refs++;
	if (rr->w) { /* a console's worker */
		snprintf(j->path, sizeof(j->path), "%s", rel);
		rworker_submit(rr->w, j, STREAM_MS);
	} else if (h->n.ro) {
		member_job(h->n.ro->mb, j, rel, REMOTE_MS);
	} else {
		chostw_job(v->chostw, rr->host, rr->p9, j, rel, REMOTE_MS);
	}
	return 0;
}

/* A file of a host that is down: EHOSTDOWN at once, and the log says since when and why
 * (false: the host is up as far as this host knows). */
static bool owner_down(struct vmfs *v, const struct vnode *n, const char *host)
{
	char what[256];
	struct sbuf why = {0};
	const struct cview_obj *o = n->ro ? NULL : cobj_of(v, n);
	struct cview_state s = {0};
	if (o)
		cview_state_of(v->cview, o, &s);
	if (n->ro ? n->ro->mb->state != MS_DOWN : o && !s.unknown)
		return false;
	snprintf(what, sizeof(what), "%s/%s (on %s)", n->ro ? n->ro->name : o ? o->name : "?",
		 file_name(n), host);
	if (n->ro) {
		sb_printf(&why, "%s is ", host);
		member_state_text(n->ro->mb, &why);
	} else if (o) {
		char ts[32];
		fmt_time(s.since, ts);
		sb_printf(&why, "unknown since %s: %s\n", ts, s.why);
	}
	if (why.len)
		why.p[--why.len] = 0; /* its newline */
	node_reject(v, n, what, why.p ? why.p : "gone");
	sb_free(&why);
	return true;
}

bool remote_is_console(const struct vnode *n)
{
	return n->e->file == VF_REMOTE && is_console(n);
}

static int remote_open(struct vmfs *v, struct vhandle *h, int flags)
{
	struct rreq *rr = calloc(1, sizeof(*rr));
	if (!rr)
		return -ENOMEM;
	rr->refs = 1;
	rr->done = true;
	waitq_init(&rr->wq);
	h->aux = rr;
	int r = where(v, &h->n, rr);
	if (r)
		return r;
	if (owner_down(v, &h->n, rr->host))
		return -EHOSTDOWN;
	if (!h->n.ro)
		door_of(v, rr->host, rr->p9, sizeof(rr->p9));
	int acc = h->flags & O_ACCMODE;
	if (is_console(&h->n) && acc == O_RDONLY) {
		/* its reads wait for output: a worker of its own, the descriptor kept open */
		char err[256] = "out of memory";
		if (!(rr->w = h->n.ro ? member_worker_new(h->n.ro->mb)
				      : v->chostw || (v->chostw = chostw_new(&v->m))
					    ? chostw_worker_new(v->chostw, rr->p9, err, sizeof(err))
					    : NULL)) {
			char what[300];
			snprintf(what, sizeof(what), "%s (on %s)", rr->what, rr->host);
			node_reject(v, &h->n, what, err);
			return h->n.ro ? -ENOMEM : -EHOSTDOWN;
		}
		return request(v, h, ROP_TAIL, NULL, 0);
	}
	if (acc == O_RDONLY)
		return request(v, h, ROP_READ, NULL, 0);
	return 0;
}

static ssize_t remote_read(struct vmfs *v, struct vhandle *h, char *buf, size_t size, off_t off)
{
	struct rreq *rr = h->aux;
	if (!rr->done)
		return -EAGAIN;
	if (is_console(&h->n) && rr->w) {
		if (rr->err)
			return rr->err == -EHOSTDOWN ? 0 : rr->err;
		if (rr->out.len && size) { /* what the last read brought; the next asks again */
			size_t n = rr->out.len < size ? rr->out.len : size;
			memcpy(buf, rr->out.p, n);
			memmove(rr->out.p, rr->out.p + n, rr->out.len - n);
			rr->out.len -= n;
			if (!rr->out.len)
				request(v, h, ROP_TAIL, NULL, 0);
			return n;
		}
		if (rr->out.len)
			return 0;
		return request(v, h, ROP_TAIL, NULL, 0) ? 0 : -EAGAIN;
	}
	if (rr->err && !rr->answer) /* a ctl's answer says why its command was refused */
		return rr->err;
	if (rr->answer) {
		size_t n = rr->out.len - rr->apos < size ? rr->out.len - rr->apos : size;
		if (n)
			memcpy(buf, rr->out.p + rr->apos, n);
		rr->apos += n;
		return n;
	}
	if (off < 0 || (size_t)off >= rr->out.len)
		return 0;
	size_t n = rr->out.len - off < size ? rr->out.len - off : size;
	memcpy(buf, rr->out.p + off, n);
	return n;
}

static void alias_done(struct rjob *j)
{
	rjob_free(j); /* a failure shows in the write that follows (an unknown alias) */
}

/* config/net of a member's object names VLAN aliases: they get their ids at the head, and
 * the member is told them first (its jobs run in order), so LAN1 is one VLAN everywhere. */
static int push_aliases(struct vmfs *v, struct vhandle *h, const char *buf, size_t size)
{
	char value[4096], err[512];
	snprintf(value, sizeof(value), "%.*s", (int)size, buf);
	value[strcspn(value, "\n")] = 0;
	struct ns *ns = h->n.ns;
	int r = vlan_claim_net(&v->m, ns, value, err, sizeof(err));
	if (r) {
		node_reject(v, &h->n, "config/net", err);
		return r;
	}
	for (size_t i = 0; i < ns->nvlans; i++) {
		char rel[256], id[16];
		struct rjob *j = rjob_new(ROP_WRITE, "", alias_done, NULL);
		if (!j)
			return -ENOMEM;
		snprintf(rel, sizeof(rel), "ns/%s/vlans/%s", ns->name, ns->vlans[i].name);
		snprintf(id, sizeof(id), "%u", ns->vlans[i].id);
		sb_puts(&j->in, id);
		member_job(h->n.ro->mb, j, rel, REMOTE_MS);
	}
	return 0;
}

static ssize_t write_result(struct vmfs *v, struct vhandle *h);

static ssize_t remote_send(struct vmfs *v, struct vhandle *h, const char *buf, size_t size)
{
	struct rreq *rr = h->aux;
	if (owner_down(v, &h->n, rr->host))
		return -EHOSTDOWN;
	if (h->n.e->kind == VK_ROBJ_PARAM && !strcmp(params[h->n.sub].name, "net")) {
		int r = push_aliases(v, h, buf, size);
		if (r)
			return r;
	}
	rr->size = size;
	int r = request(v, h, is_ctl(&h->n) ? ROP_CTL : ROP_WRITE, buf, size);
	/* answered already (no way to the host): nothing would wake a wait for it */
	return r ? r : rr->done ? write_result(v, h) : -EINPROGRESS;
}

static ssize_t write_result(struct vmfs *v, struct vhandle *h)
{
	struct rreq *rr = h->aux;
	if (rr->err && rr->out.len) { /* the member's reason, for the head's log too */
		char why[1024], what[256];
		snprintf(why, sizeof(why), "%.*s", (int)rr->out.len, rr->out.p);
		why[strcspn(why, "\n")] = 0;
		snprintf(what, sizeof(what), "%s (on %s)", rr->what, rr->host);
		node_reject(v, &h->n, what, strncmp(why, "error: ", 7) ? why : why + 7);
	}
	return rr->err ? rr->err : (ssize_t)rr->size;
}

static ssize_t remote_write_resume(struct vmfs *v, struct vreq *q)
{
	struct rreq *rr = q->h->aux;
	return rr->done ? write_result(v, q->h) : -EINPROGRESS;
}

static struct waitq *remote_waitq(struct vmfs *v, struct vhandle *h)
{
	struct rreq *rr = h->aux;
	return &rr->wq;
}

static void remote_release(struct vmfs *v, struct vhandle *h)
{
	struct rreq *rr = h->aux;
	if (!rr)
		return;
	h->aux = NULL;
	if (rr->w) { /* a read waiting for output is let go: its answer comes now */
		struct rworker *w = rr->w;
		rr->w = NULL;
		rworker_drop(w);
	}
	rreq_put(rr);
}

/* The member takes the head's requests as host root's: the head checks for it. */
static ssize_t remote_write(struct vmfs *v, struct vreq *q, const char *buf, size_t size,
			    off_t off)
{
	struct vhandle *h = q->h;
	char err[700], what[300];
	auto_free char *text = value_text(buf, size);
	int r = !text ? -ENOMEM : value_host_reaching(v, h, text, err, sizeof(err));
	if (!r)
		r = value_image_rights(v, h, text, &q->cred, err, sizeof(err));
	if (!r && !h->host && !strcmp(file_name(&h->n), "qmp")) {
		snprintf(err, sizeof(err), "only host root may send QMP to an object on another "
			 "host");
		r = -EPERM;
	}
	if (r == -EPERM || r == -EACCES) {
		snprintf(what, sizeof(what), "%s", ((struct rreq *)h->aux)->what);
		node_reject(v, &h->n, what, err);
	}
	return r ? r : remote_send(v, h, buf, size);
}

/* A remote object's file shows the mode bits of the local one of its name (a remote vnc
 * holds a password as a local one does); config/ values have no local namesake. */
static mode_t remote_perm(const struct vnode *n)
{
	const char *f = file_name(n);
	for (size_t i = 0; n->e->kind != VK_ROBJ_PARAM && i < vtab_len; i++)
		if (vtab[i].parent == VK_OBJ && !strcmp(vtab[i].name, f))
			return vtab[i].mode & 0777;
	return 0777;
}

const struct fkind fk_remote = {
	.open = remote_open,
	.read = remote_read,
	.write = remote_write,
	.resume = remote_write_resume,
	.waitq = remote_waitq,
	.release = remote_release,
	.perm = remote_perm,
};
