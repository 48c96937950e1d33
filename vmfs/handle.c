/* Open files: what open, read, write and release do for each kind of file (enum vfile). */
#include "vmfs/node.h"
#include "vmfs/remote.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>

#include "runtime/imgrights.h"
#include "runtime/lifecycle.h"
#include "runtime/qmp_allow.h"
#include "runtime/run.h"
#include "runtime/vlan.h"
#include "runtime/vm.h"
#include "vmfs/kinds.h"
#include "vmfs/slice.h"
#include "vmfs/vreq.h"

#define CTL_MAX_COMMANDS 1000
#define CTL_MAX_BYTES 65536

static void handle_refs(struct vhandle *h, int delta)
{
	if (delta > 0) {
		if (h->n.ns)
			ns_get(h->n.ns);
		if (h->n.obj)
			obj_get(h->n.obj);
		return;
	}
	if (h->n.obj)
		obj_put(h->n.obj);
	if (h->n.ns)
		ns_put(h->n.ns);
}

/* What reading a ctl file shows before any command: the commands it takes. */
static void ctl_help(const struct vnode *n, struct sbuf *out)
{
	switch (n->e->kind) {
	case VK_NS_CTL:
		sb_puts(out, "launch kvm|container NAMES [like NAME]\n"
			     "start|stop|pause|resume|kill|restart|flush all|NAME|GLOB|RANGE\n"
			     "tap VLAN ADDR/PREFIX | tap delete VLAN\n");
		break;
	case VK_OBJ_CTL:
		sb_puts(out, "start|stop|pause|resume|kill|restart|flush|commit IMAGE\n");
		break;
	case VK_OBJ_QMP:
		sb_puts(out, "one QMP command per line, e.g. {\"execute\":\"query-status\"}\n");
		break;
	case VK_HOSTS_CTL:
		sb_puts(out, "add NAME PATH|ssh://USER@HOST/PATH\nremove NAME\n");
		break;
	default:
		break;
	}
}

/* Who may reach the host through what they write (docs/security.md, "Who may do what"):
 * host root through the mount. The HTTP door acts as root but its users are no host's,
 * unless a rule makes one admin (docs/web-auth.md). */
static bool cred_host(const struct vcred *c)
{
	/* no credentials (a vlans/ file made): not root */
	return c && c->uid == 0 && (!c->door || c->admin);
}

/* A value that reaches the host (ctl/params.h's reach): EPERM for anyone but host root. */
static int host_reaching(struct vmfs *v, struct vhandle *h, const char *text, char *err,
			 size_t errlen)
{
	const struct vnode *n = &h->n;
	char why[600];
	if (h->host || (n->e->kind != VK_OBJ_PARAM && n->e->kind != VK_NS_PARAM &&
			n->e->kind != VK_ROBJ_PARAM) || n->sub < 0 ||
	    (size_t)n->sub >= nparams || param_check(&params[n->sub], text, why, sizeof(why)) ||
	    !param_host_reaching(n->ns, n->sub, text, why, sizeof(why)))
		return 0; /* a bad value is refused for what is wrong with it, by set */
	snprintf(err, errlen, "only host root may set it, through the mount%s: %s",
		 h->door ? " (or a web user whose rule is admin)" : "", why);
	return -EPERM;
}

int node_open(struct vmfs *v, const struct vnode *n, int flags, const struct vcred *c,
	      struct vhandle **out)
{
	if (S_ISDIR(n->e->mode) && n->e->file != VF_PASS)
		return -EISDIR;
	int acc = flags & O_ACCMODE;
	bool writable = (n->e->mode & 0222) != 0;
	if (acc != O_RDONLY && !writable)
		return -EACCES;
	struct vhandle *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->n = *n;
	h->flags = flags;
	h->fd = -1;
	h->host = cred_host(c);
	h->door = c && c->door;
	handle_refs(h, +1);
	int r = 0;
	switch (n->e->file) {
	case VF_GEN:
		r = n->e->gen(v, n, &h->buf);
		if (!r)
			r = sb_err(&h->buf);
		break;
	case VF_VALUE:
		h->truncated = (flags & O_TRUNC) != 0;
		break;
	case VF_CTL:
		ctl_help(n, &h->reply);
		break;
	case VF_STREAM:
		h->pos = 0; /* a new reader starts with the scrollback */
		break;
	case VF_PASS:
		r = img_open(v, h, flags);
		break;
	case VF_REMOTE:
		r = remote_open(v, h);
		break;
	default:
		break;
	}
	if (r) {
		node_release(v, h);
		return r;
	}
	*out = h;
	return 0;
}

static ssize_t copy_out(const char *src, size_t len, char *buf, size_t size, off_t off)
{
	if (off < 0 || (size_t)off >= len)
		return 0;
	size_t n = len - off < size ? len - off : size;
	memcpy(buf, src + off, n);
	return n;
}

ssize_t node_read(struct vmfs *v, struct vhandle *h, char *buf, size_t size, off_t off)
{
	const struct vnode *n = &h->n;
	switch (n->e->file) {
	case VF_GEN:
		return copy_out(h->buf.p, h->buf.len, buf, size, off);
	case VF_VALUE: {
		/* a value is read fresh: a writer on another descriptor may have changed it */
		struct sbuf b = {0};
		int r = n->e->gen(v, n, &b);
		ssize_t got = r ? r : copy_out(b.p, b.len, buf, size, off);
		sb_free(&b);
		return got;
	}
	case VF_CTL: {
		/* Plan 9's transaction file: the answer is read once, whatever the offset */
		ssize_t got = copy_out(h->reply.p, h->reply.len, buf, size, h->reply_pos);
		h->reply_pos += got;
		return got;
	}
	case VF_LOG:
		if (n->e->kind == VK_OBJ_CONSOLE_LOG)
			return console_read_at(&v->m, n->obj, buf, size, off);
		return evlog_read(n->obj ? &n->obj->log : n->ns ? &n->ns->log : &v->log, buf, size,
				  off);
	case VF_STREAM:
		return console_read(&v->m, n->obj, buf, size, &h->pos);
	case VF_REMOTE:
		return remote_read(v, h, buf, size, off);
	case VF_PASS: {
		ssize_t got = pread(h->fd, buf, size, off);
		return got < 0 ? -errno : got;
	}
	default:
		return -EISDIR;
	}
}

struct waitq *node_waitq(struct vmfs *v, struct vhandle *h)
{
	if (h->n.e->file == VF_STREAM)
		return &h->n.obj->console_wq;
	if (h->n.e->file == VF_REMOTE)
		return remote_waitq(h);
	if (h->n.e->file == VF_CTL && (h->sliced || h->job))
		return slice_wq();
	if (h->n.e->file == VF_CTL && h->batch)
		return lifecycle_batch_wq(h->batch);
	if (h->n.e->file == VF_CTL && h->rbatch)
		return &h->rbatch->wq;
	return h->n.e->file == VF_CTL && h->n.obj ? &h->n.obj->job_wq : NULL;
}

/* Strips one trailing newline and surrounding blanks: `echo 512M > memory` sets "512M". */
static char *value_text(const char *buf, size_t len)
{
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	while (len && (*buf == ' ' || *buf == '\t')) {
		buf++;
		len--;
	}
	return strndup(buf, len);
}

static const char *node_relpath(const struct vnode *n, char *out, size_t outlen)
{
	const char *leaf = n->e->name ? n->e->name : params[n->sub].name;
	if (n->e->kind == VK_NS_PARAM || n->e->kind == VK_OBJ_PARAM)
		snprintf(out, outlen, "config/%s", leaf);
	else if (n->e->kind == VK_VLANS_RANGE)
		snprintf(out, outlen, "vlans/%s", leaf);
	else if (n->e->kind == VK_VLAN) {
		const struct vlan_alias *a = vlan_by_serial(n->ns, n->sub);
		snprintf(out, outlen, "vlans/%s", a ? a->name : "?");
	}
	else
		snprintf(out, outlen, "%s", leaf);
	return out;
}

/* The longest value a value file takes (docs/tree.md lists them). */
static size_t value_max(const struct vnode *n)
{
	if (n->e->kind == VK_NS_PARAM || n->e->kind == VK_OBJ_PARAM)
		return param_max_len(&params[n->sub]);
	return PARAM_VALUE_MAX;
}

/* A refused write poisons its descriptor: what follows on it (the rest of a value cut into
 * several writes, a lone newline) would otherwise be taken as a value of its own, and
 * `printf 'bad'; echo` would reset the value to its default. */
static ssize_t value_refuse(struct vmfs *v, struct vhandle *h, const char *why, int r)
{
	char what[96];
	node_reject(v, &h->n, node_relpath(&h->n, what, sizeof(what)), why);
	if (!h->refused_why)
		h->refused_why = strdup(why);
	h->refused = r;
	return r;
}

/* One name of an image-naming value (config/disk, kernel, filesystem, ...), for image_rights. */
struct img_ask {
	struct vmfs *v;
	const struct vcred *c;
	int want;
	char *err;
	size_t errlen;
};

static int image_right(const char *name, void *arg)
{
	struct img_ask *a = arg;
	char why[700], tree[PATH_MAX + 16];
	if (name[0] == '/')
		return 0; /* host root's alone: refused before as host-reaching */
	if (a->c->door) {
		snprintf(tree, sizeof(tree), "/images/%s", name);
		if (a->c->may_read && a->c->may_read(a->c->ctx, tree))
			return 0;
		snprintf(a->err, a->errlen, "%s: no rule of yours lets you read %s", name, tree);
		return -EACCES;
	}
	struct who w;
	who_of(&w, a->c->uid, a->c->gid);
	int r = imgrights_name(a->v->m.imagefd, name, &w, a->want, why, sizeof(why));
	if (r)
		snprintf(a->err, a->errlen, "you may not use %s: %s", name, why);
	return r;
}

/* A value that names images (ctl/params.h's PT_PATH, PT_PATHS): only those its writer could
 * open through the mount (or, through the door, read by their rules): vmfs opens them as
 * root, so naming an image must not get round its mode (runtime/imgrights.h). */
static int image_rights(struct vmfs *v, struct vhandle *h, const char *text, const struct vcred *c,
			char *err, size_t errlen)
{
	const struct vnode *n = &h->n;
	if (h->host || !c || (n->e->kind != VK_OBJ_PARAM && n->e->kind != VK_NS_PARAM) ||
	    n->sub < 0 || (size_t)n->sub >= nparams)
		return 0;
	const struct param *p = &params[n->sub];
	struct img_ask a = {v, c, R_OK | (!strcmp(p->name, "filesystem") ? X_OK : 0), err, errlen};
	int r = param_paths(p, text, image_right, &a);
	return r < 0 ? r : 0;
}

static ssize_t value_write(struct vmfs *v, struct vhandle *h, const char *buf, size_t size,
			   off_t off, const struct vcred *c)
{
	char err[700];
	h->wrote = true; /* even a refused write means the O_TRUNC was not a reset */
	if (h->refused) {
		snprintf(err, sizeof(err), "an earlier write on this descriptor was refused (%.500s): "
			 "the writes after it are refused too", h->refused_why ? h->refused_why : "");
		return value_refuse(v, h, err, h->refused);
	}
	if (off < 0 || (size_t)off > h->buf.len)
		off = h->buf.len; /* O_APPEND and seeks past the end just add to the value */
	h->buf.len = off;
	sb_add(&h->buf, buf, size);
	if (h->buf.oom)
		return -ENOMEM;
	size_t len;
	int r = value_line(h->buf.p, h->buf.len, value_max(&h->n), &len, err, sizeof(err));
	if (!r) {
		auto_free char *text = value_text(h->buf.p, len);
		r = !text ? -ENOMEM : host_reaching(v, h, text, err, sizeof(err));
		if (!r)
			r = image_rights(v, h, text, c, err, sizeof(err));
		if (!r)
			r = h->n.e->set(v, &h->n, text, err, sizeof(err));
	}
	if (r) {
		h->buf.len = off;
		return value_refuse(v, h, r == -ENOMEM ? strerror(ENOMEM) : err, r);
	}
	return size;
}

static void ctl_done(struct vhandle *h)
{
	if (h->batch)
		lifecycle_batch_abandon(h->batch);
	h->batch = NULL;
	nsjob_free(h->job);
	h->job = NULL;
	h->sliced = false;
	rbatch_put(h->rbatch); /* the members' part goes on, unwaited */
	h->rbatch = NULL;
	free(h->ctl_text);
	free(h->ctl_cmd);
	h->ctl_text = h->ctl_next = h->ctl_cmd = NULL;
}

static ssize_t ctl_fail(struct vmfs *v, struct vhandle *h, const char *err, int r)
{
	char what[64], full[1200];
	node_relpath(&h->n, what, sizeof(what));
	snprintf(full, sizeof(full), "\"%s\": %s", h->ctl_cmd ? h->ctl_cmd : "?",
		 err[0] ? err : strerror(-r));
	node_reject(v, &h->n, what, full);
	h->reply.len = 0;
	sb_printf(&h->reply, "error: %s\n", full);
	ctl_done(h);
	return r;
}

/* Commands that reach the host, for anyone but host root: hosts/ctl (sshfs and tunnels run
 * by root), a namespace's `tap` (an address on the host) and any QMP command off
 * qmp_allow's list. *line may become a copy to run
 * instead (*alt, freed by the caller). */
static int ctl_host_check(struct vhandle *h, char **line, char **alt, char *err, size_t errlen)
{
	*alt = NULL;
	if (h->host)
		return 0;
	if (h->n.e->kind == VK_HOSTS_CTL) { /* 0644 on the mount; the HTTP door writes as root */
		snprintf(err, errlen, "hosts/ctl: only host root may join hosts or open tunnels to "
			 "them");
		return -EPERM;
	}
	if (h->n.e->kind == VK_OBJ_QMP) {
		int r = qmp_allow(*line, alt, err, errlen);
		if (*alt)
			*line = *alt;
		return r;
	}
	char *argv[8], why[256];
	auto_free char *copy = h->n.e->kind == VK_NS_CTL ? strdup(*line) : NULL;
	/* its first word as the namespace's ctl reads it (quotes and all) */
	if (copy && ctl_split(copy, argv, 8, why, sizeof(why)) > 0 && !strcmp(argv[0], "tap")) {
		snprintf(err, errlen, "tap: only host root may give the host an interface and an "
			 "address on a VLAN");
		return -EPERM;
	}
	return 0;
}

/* Runs the lines written, from h->ctl_next on, each as one command; stops at the first
 * that fails, or at one that goes on in the background (-EINPROGRESS: the write waits on
 * node_waitq, then node_write_resume goes on from the next line). */
static ssize_t ctl_run(struct vmfs *v, struct vreq *q)
{
	struct vhandle *h = q->h;
	char err[1024], what[64];
	while (h->ctl_next) {
		if (h->ctl_any && slice_over()) {
			h->sliced = true; /* the next lines in the loop's next turn */
			slice_yield();
			return -EINPROGRESS;
		}
		char *line = h->ctl_next, *nl = strchr(line, '\n');
		h->ctl_next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = 0;
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#')
			continue;
		h->ctl_any = true;
		free(h->ctl_cmd);
		h->ctl_cmd = strdup(line); /* for messages: the handler cuts line into words */
		err[0] = 0;
		q->wait = (struct vwait){0};
		char *alt = NULL;
		int r = h->ctl_cmd ? ctl_host_check(h, &line, &alt, err, sizeof(err)) : -ENOMEM;
		if (!r)
			r = h->n.e->ctl(v, q, line, &h->reply, err, sizeof(err));
		free(alt);
		if (r == -EINPROGRESS) {
			h->batch = q->wait.batch;
			h->batch_count = q->wait.count;
			h->rbatch = q->wait.rbatch;
			h->rverb = q->wait.rverb;
			h->job = q->wait.job;
			return r;
		}
		if (r)
			return ctl_fail(v, h, err, r);
	}
	ctl_done(h);
	if (!h->ctl_any) {
		node_reject(v, &h->n, node_relpath(&h->n, what, sizeof(what)),
			    "empty command (read the file for the commands it takes)");
		h->reply.len = 0;
		sb_puts(&h->reply, "error: empty command\n");
		return -EINVAL;
	}
	if (!h->reply.len)
		sb_puts(&h->reply, "ok\n");
	return sb_err(&h->reply) ? -ENOMEM : (ssize_t)h->ctl_size;
}

/* A write to ctl is answered only when all its commands are done, so it is bounded: a
 * 10,000-line write would keep its writer waiting for long and its answer could not say
 * what happened to each line. Bytes that cannot be part of a command are refused with the
 * rest (a NUL would cut a command short without a word). */
static int ctl_check(const char *buf, size_t size, char *why, size_t whylen)
{
	size_t lines = 0;
	bool text = false;
	if (size > CTL_MAX_BYTES) {
		snprintf(why, whylen, "the write is %zu bytes long: a write to ctl takes at most %d",
			 size, CTL_MAX_BYTES);
		return -EFBIG;
	}
	for (size_t i = 0; i < size; i++) {
		unsigned char b = (unsigned char)buf[i];
		if (b == '\n') {
			lines += text;
			text = false;
		} else if ((b < 0x20 && b != '\t') || b == 0x7f) {
			char c[8];
			ctl_escape(buf + i, 1, c, sizeof(c));
			snprintf(why, whylen, "the write holds the control byte '%s' at byte %zu: "
				 "commands are printable text, one a line", c, i + 1);
			return -EINVAL;
		} else if (b != ' ' && b != '\t') {
			text = true;
		}
	}
	lines += text;
	if (lines > CTL_MAX_COMMANDS) {
		snprintf(why, whylen, "the write holds %zu commands: a write to ctl takes at most %d "
			 "(split it, or name many objects at once with a range such as web[1-5000])",
			 lines, CTL_MAX_COMMANDS);
		return -E2BIG;
	}
	return 0;
}

static ssize_t ctl_write(struct vmfs *v, struct vreq *q, const char *buf, size_t size)
{
	struct vhandle *h = q->h;
	char why[300], what[64];
	if (h->ctl_text)
		return -EBUSY; /* a write on this descriptor still waits for its command */
	int r = ctl_check(buf, size, why, sizeof(why));
	if (r) {
		node_reject(v, &h->n, node_relpath(&h->n, what, sizeof(what)), why);
		h->reply.len = 0;
		h->reply_pos = 0;
		sb_printf(&h->reply, "error: %s\n", why);
		return r;
	}
	h->ctl_text = h->ctl_next = strndup(buf, size);
	if (!h->ctl_text)
		return -ENOMEM;
	h->ctl_size = size;
	h->ctl_any = false;
	slice_begin();
	h->reply.len = 0;
	h->reply_pos = 0;
	return ctl_run(v, q);
}

ssize_t node_write_resume(struct vmfs *v, struct vreq *q)
{
	struct vhandle *h = q->h;
	char err[1024] = "";
	int r = 0;
	if (h->n.e->file == VF_REMOTE)
		return remote_write_resume(v, h);
	slice_begin();
	if (h->sliced) {
		h->sliced = false;
		return ctl_run(v, q);
	}
	if (h->job) {
		r = nsjob_run(v, h->job, &h->reply, err, sizeof(err));
		if (r == -EINPROGRESS)
			return r;
		nsjob_free(h->job);
		h->job = NULL;
		return r ? ctl_fail(v, h, err, r) : ctl_run(v, q);
	}
	if (h->batch) {
		enum verb verb;
		size_t done;
		r = lifecycle_batch_end(h->batch, &verb, &done, err, sizeof(err));
		if (r == -EINPROGRESS)
			return r;
		h->batch = NULL;
		if (!r && h->rbatch)
			h->rbatch->count += done; /* the answer counts the members' too */
		else if (!r && h->batch_count)
			sb_printf(&h->reply, "ok: %s %zu\n", verb_name(verb), done);
	} else if (h->rbatch) {
		/* members only */
	} else if ((r = h->n.obj ? vm_job_result(h->n.obj, err, sizeof(err)) : 0) == -EINPROGRESS) {
		return r;
	}
	if (h->rbatch) {
		struct rbatch *b = h->rbatch;
		if (b->pending)
			return -EINPROGRESS;
		h->rbatch = NULL;
		if (!r && b->err) {
			r = b->err;
			snprintf(err, sizeof(err), "%s", b->why);
		} else if (!r) {
			h->reply.len = 0;
			sb_printf(&h->reply, "ok: %s %lu\n", h->rverb, b->count);
		}
		rbatch_put(b);
	}
	return r ? ctl_fail(v, h, err, r) : ctl_run(v, q);
}

void node_write_abandon(struct vhandle *h)
{
	ctl_done(h);
}

ssize_t node_write(struct vmfs *v, struct vreq *q, const char *buf, size_t size, off_t off)
{
	struct vhandle *h = q->h;
	model_changes++;
	if ((h->n.obj && h->n.obj->gone) || (h->n.ns && h->n.ns->gone))
		return -ENOENT; /* removed while this descriptor stayed open */
	switch (h->n.e->file) {
	case VF_VALUE:
		return value_write(v, h, buf, size, off, &q->cred);
	case VF_CTL:
		return ctl_write(v, q, buf, size);
	case VF_STREAM: {
		ssize_t n = console_write(&v->m, h->n.obj, buf, size);
		if (n == -EBUSY)
			node_reject(v, &h->n, "console", "nothing is running to type into: start it first");
		else if (n == -EAGAIN)
			node_reject(v, &h->n, "console", "input is not being read (paused, or its buffer "
							 "is full): try again later");
		else if (n < 0)
			node_reject(v, &h->n, "console", strerror(-n));
		return n;
	}
	case VF_PASS: {
		ssize_t n = pwrite(h->fd, buf, size, off);
		return n < 0 ? -errno : n;
	}
	case VF_REMOTE: {
		/* the member takes the head's requests as host root's: the head checks for it */
		char err[700], what[300];
		auto_free char *text = value_text(buf, size);
		int r = !text ? -ENOMEM : host_reaching(v, h, text, err, sizeof(err));
		if (!r && !h->host && !strcmp(remote_file(&h->n), "qmp")) {
			snprintf(err, sizeof(err), "only host root may send QMP to an object on another "
				 "host");
			r = -EPERM;
		}
		if (r == -EPERM) {
			snprintf(what, sizeof(what), "%s/%s%s", h->n.ro->name,
				 h->n.e->kind == VK_ROBJ_PARAM ? "config/" : "", remote_file(&h->n));
			node_reject(v, &h->n, what, err);
		}
		return r ? r : remote_write(v, h, buf, size);
	}
	default:
		return -EACCES;
	}
}

void node_release(struct vmfs *v, struct vhandle *h)
{
	if (h->n.e->file == VF_VALUE && h->truncated && !h->wrote) {
		/* `: > config/kernel` opened with O_TRUNC and wrote nothing: back to default */
		char err[256], what[96];
		if (h->n.e->set(v, &h->n, "", err, sizeof(err)))
			node_reject(v, &h->n, node_relpath(&h->n, what, sizeof(what)), err);
	}
	if (h->fd >= 0)
		close(h->fd);
	remote_release(h);
	ctl_done(h);
	sb_free(&h->buf);
	sb_free(&h->reply);
	free(h->refused_why);
	handle_refs(h, -1);
	free(h);
}
