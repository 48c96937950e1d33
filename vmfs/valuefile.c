/* Value files: one value each (config/ parameters, vlans/, a namespace's hosts). A read
 * shows it, a write sets it once checked, and a truncate to nothing resets it. */
#include "vmfs/node.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>

#include "cluster/cluster.h"
#include "runtime/imgrights.h"
#include "vmfs/cfgcap_local.h"
#include "vmfs/fkind.h"
#include "vmfs/kinds.h"
#include "vmfs/vreq.h"


int value_host_reaching(struct vmfs *v, struct vhandle *h, const char *text, char *err,
			size_t errlen)
{
	const struct vnode *n = &h->n;
	char why[600];
	if (h->host || (n->e->kind != VK_OBJ_PARAM && n->e->kind != VK_NS_PARAM &&
			n->e->kind != VK_ROBJ_PARAM && n->e->kind != VK_COBJ_PARAM) || n->sub < 0 ||
	    (size_t)n->sub >= nparams || param_check(&params[n->sub], text, why, sizeof(why)) ||
	    !param_host_reaching(n->ns, n->sub, text, why, sizeof(why)))
		return 0; /* a bad value is refused for what is wrong with it, by set */
	snprintf(err, errlen, "only host root may set it, through the mount%s: %s",
		 h->door ? " (or a web user whose rule is admin)" : "", why);
	return -EPERM;
}

/* Strips one trailing newline and surrounding blanks: `echo 512M > memory` sets "512M". */
char *value_text(const char *buf, size_t len)
{
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	while (len && (*buf == ' ' || *buf == '\t')) {
		buf++;
		len--;
	}
	return strndup(buf, len);
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
int value_image_rights(struct vmfs *v, struct vhandle *h, const char *text, const struct vcred *c,
		       char *err, size_t errlen)
{
	const struct vnode *n = &h->n;
	/* another host's object too (VK_ROBJ_PARAM, VK_COBJ_PARAM): its owner applies the value
	 * as root, so the writer's rights are checked here, on this host's store of the same
	 * names (a name this host lacks is refused, saying so) */
	if (h->host || !c ||
	    (n->e->kind != VK_OBJ_PARAM && n->e->kind != VK_NS_PARAM &&
	     n->e->kind != VK_ROBJ_PARAM && n->e->kind != VK_COBJ_PARAM) ||
	    n->sub < 0 || (size_t)n->sub >= nparams)
		return 0;
	const struct param *p = &params[n->sub];
	struct img_ask a = {v, c, R_OK | (!strcmp(p->name, "filesystem") ? X_OK : 0), err, errlen};
	int r = param_paths(p, text, image_right, &a);
	return r < 0 ? r : 0;
}

static ssize_t value_write(struct vmfs *v, struct vreq *q, const char *buf, size_t size,
			   off_t off)
{
	struct vhandle *h = q->h;
	const struct vcred *c = &q->cred;
	char err[700];
	h->wrote = true; /* even a refused write means the O_TRUNC was not a reset */
	if (h->rbatch)
		return value_refuse(v, h, "a write on this descriptor is still going on", -EBUSY);
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
		r = !text ? -ENOMEM : value_host_reaching(v, h, text, err, sizeof(err));
		if (!r)
			r = value_image_rights(v, h, text, c, err, sizeof(err));
		if (!r && (h->n.e->kind == VK_NS_HOSTS || h->n.e->kind == VK_CNS_HOSTS) && v->chosts) {
			/* a transaction on the cluster's record: answered once etcd has */
			r = set_ns_hosts_cluster(v, &h->n, text, &h->rbatch, err, sizeof(err));
			if (r == -EINPROGRESS) {
				h->ctl_size = size;
				return r;
			}
		} else if (!r) {
			/* vcpus or memory in a cluster: its reservation moves first */
			if (h->n.e->kind != VK_OBJ_PARAM ||
			    (r = cfgcap_local_start(v, &h->n, text, &h->rbatch, err,
						    sizeof(err))) == 1)
				r = h->n.e->set(v, &h->n, text, err, sizeof(err));
			if (r == -EINPROGRESS && h->rbatch) {
				h->ctl_size = size;
				return r;
			}
		}
	}
	if (r) {
		h->buf.len = off;
		return value_refuse(v, h, r == -ENOMEM ? strerror(ENOMEM) : err, r);
	}
	return size;
}

/* The end of a write that waited (ns/NS/hosts with etcd). */
static ssize_t value_resume(struct vmfs *v, struct vreq *q)
{
	struct vhandle *h = q->h;
	struct rbatch *b = h->rbatch;
	if (!b)
		return -EIO;
	if (b->pending)
		return -EINPROGRESS;
	int r = b->err;
	char why[sizeof(b->why)];
	snprintf(why, sizeof(why), "%s", b->why);
	rbatch_put(b);
	h->rbatch = NULL;
	if (r) {
		h->buf.len = 0;
		return value_refuse(v, h, why, r);
	}
	return (ssize_t)h->ctl_size;
}

static void value_abandon(struct vhandle *h)
{
	rbatch_put(h->rbatch); /* the transaction goes on to its end, unwaited */
	h->rbatch = NULL;
}

static struct waitq *value_waitq(struct vmfs *v, struct vhandle *h)
{
	(void)v;
	return h->rbatch ? &h->rbatch->wq : NULL;
}

static int value_open(struct vmfs *v, struct vhandle *h, int flags)
{
	h->truncated = (flags & O_TRUNC) != 0;
	return 0;
}

static ssize_t value_read(struct vmfs *v, struct vhandle *h, char *buf, size_t size, off_t off)
{
	/* a value is read fresh: a writer on another descriptor may have changed it */
	const struct vnode *n = &h->n;
	struct sbuf b = {0};
	int r = n->e->gen(v, n, &b);
	ssize_t got = r ? r : file_copy_out(b.p, b.len, buf, size, off);
	sb_free(&b);
	return got;
}

/* A reset that would move a reservation in the cluster waits for etcd, which a truncate and a
 * close cannot: refused, saying how (a write waits). */
static int truncate_waits(struct vmfs *v, const struct vnode *n, char *err, size_t errlen)
{
	if (n->e->kind != VK_OBJ_PARAM || !cfgcap_local_moves(v, n, ""))
		return 0;
	snprintf(err, errlen,
		 "in a cluster, config/%s is reset by writing an empty line to it (echo > FILE): "
		 "the reset moves the object's reservation, which a truncate cannot wait for",
		 params[n->sub].name);
	return -EOPNOTSUPP;
}

static void value_release(struct vmfs *v, struct vhandle *h)
{
	if (h->rbatch)
		value_abandon(h);
	if (h->truncated && !h->wrote) {
		/* `: > config/kernel` opened with O_TRUNC and wrote nothing: back to default */
		char err[256], what[96];
		if (truncate_waits(v, &h->n, err, sizeof(err)) ||
		    h->n.e->set(v, &h->n, "", err, sizeof(err)))
			node_reject(v, &h->n, node_relpath(&h->n, what, sizeof(what)), err);
	}
}

/* truncate(1) or O_TRUNC without atomic_o_trunc: back to the default (on h, at its close
 * if nothing is written) */
static int value_truncate(struct vmfs *v, const struct vnode *n, struct vhandle *h)
{
	char err[256];
	int r = 0;
	if (h)
		h->truncated = true;
	else if ((r = truncate_waits(v, n, err, sizeof(err))) ||
		 (r = n->e->set(v, n, "", err, sizeof(err))))
		node_reject(v, n, "truncate", err);
	return r;
}

static off_t value_length(struct vmfs *v, const struct vnode *n)
{
	return fk_gen.size(v, n);
}

const struct fkind fk_value = {
	.open = value_open,
	.read = value_read,
	.write = value_write,
	.resume = value_resume,
	.abandon = value_abandon,
	.waitq = value_waitq,
	.release = value_release,
	.size = value_length,
	.truncate = value_truncate,
};
