/* With etcd, another host's object's config/ files (docs/cluster-design.md, "The tree on
 * every host"): read from its owner's record; a write is a `config` command to its owner
 * (cluster/ccmd.h), which applies it as a local root write there. The write returns once
 * the owner answered (its errno and words, also in this namespace's log), or by the
 * command's deadline (ETIMEDOUT: outcome unknown); after a success the owner's record with
 * the new value is in this host's cache already (the owner answers once it published). */
#include <fcntl.h>
#include <string.h>

#include "cluster/ccmd.h"
#include "cluster/cview.h"
#include "vmfs/fkind.h"
#include "vmfs/kinds.h"
#include "vmfs/vreq.h"

/* As a local value file's (value_refuse): a refused write poisons its descriptor, or a lone
 * newline after it (`printf bad; echo`) would be a write of "" (the default) of its own. */
static ssize_t cvalue_refuse(struct vmfs *v, struct vhandle *h, const char *why, int r)
{
	char what[96];
	h->buf.len = 0;
	node_reject(v, &h->n, node_relpath(&h->n, what, sizeof(what)), why);
	if (!h->refused_why)
		h->refused_why = strdup(why);
	h->refused = r;
	return r;
}

static ssize_t cvalue_write(struct vmfs *v, struct vreq *q, const char *buf, size_t size,
			    off_t off)
{
	struct vhandle *h = q->h;
	const struct param *p = h->n.sub >= 0 ? &params[h->n.sub] : NULL;
	char err[700];
	if (!p)
		return -ENOENT;
	if (h->refused) {
		snprintf(err, sizeof(err), "an earlier write on this descriptor was refused (%.500s): "
			 "the writes after it are refused too", h->refused_why ? h->refused_why : "");
		return cvalue_refuse(v, h, err, h->refused);
	}
	if (h->hcmd)
		return cvalue_refuse(v, h, "a write on this descriptor is still going on", -EBUSY);
	if (off < 0 || (size_t)off > h->buf.len)
		off = h->buf.len;
	h->buf.len = off;
	sb_add(&h->buf, buf, size);
	if (h->buf.oom)
		return -ENOMEM;
	size_t len;
	int r = value_line(h->buf.p, h->buf.len, param_max_len(p), &len, err, sizeof(err));
	auto_free char *text = r ? NULL : value_text(h->buf.p, len);
	if (r)
		return cvalue_refuse(v, h, err, r);
	if (!text)
		return -ENOMEM;
	const struct cview_obj *o = cobj_of(v, &h->n);
	struct cview_state s;
	if (o)
		cview_state_of(v->cview, o, &s);
	if (!o || s.unknown || !h->n.ns || !ccmd_ready(v->ccmd)) {
		r = cobj_refuse(v, &h->n, "write", err, sizeof(err));
		return cvalue_refuse(v, h, err, r);
	}
	/* the writer's rights, as for a local write (the owner checks the value again, as
	 * peer input, against its own template) */
	if ((r = value_host_reaching(v, h, text, err, sizeof(err))) ||
	    (r = value_image_rights(v, h, text, &q->cred, err, sizeof(err))))
		return cvalue_refuse(v, h, err, r);
	h->hcmd = cconfig_send(v->ccmd, h->n.ns, cobj_nsid(v, &h->n), o->claim.host, o->id,
			       h->n.sub, text, &r, err, sizeof(err));
	if (!h->hcmd)
		return cvalue_refuse(v, h, err, r);
	h->ctl_size = size;
	return -EINPROGRESS;
}

static ssize_t cvalue_resume(struct vmfs *v, struct vreq *q)
{
	struct vhandle *h = q->h;
	char why[1024];
	if (!h->hcmd)
		return -EIO;
	if (!hcmd_sent_done(h->hcmd))
		return -EINPROGRESS;
	int r = hcmd_one_end(h->hcmd, why, sizeof(why));
	hcmd_put(h->hcmd);
	h->hcmd = NULL;
	if (r)
		return cvalue_refuse(v, h, why, r);
	/* the value stays in h->buf: a write that follows on this descriptor (the newline of
	 * `printf 512M; echo`) adds to it, as on a local value file */
	return (ssize_t)h->ctl_size;
}

static void cvalue_abandon(struct vhandle *h)
{
	hcmd_put(h->hcmd); /* the command goes on to its end, unwaited */
	h->hcmd = NULL;
}

static struct waitq *cvalue_waitq(struct vmfs *v, struct vhandle *h)
{
	(void)v;
	return h->hcmd ? hcmd_wq(h->hcmd) : NULL;
}

static ssize_t cvalue_read(struct vmfs *v, struct vhandle *h, char *buf, size_t size, off_t off)
{
	struct sbuf b = {0};
	int r = gen_cobj_param(v, &h->n, &b);
	ssize_t got = r ? r : file_copy_out(b.p, b.len, buf, size, off);
	sb_free(&b);
	return got;
}

static void cvalue_release(struct vmfs *v, struct vhandle *h)
{
	(void)v;
	cvalue_abandon(h);
}

/* A reset is a write of nothing (`echo > config/NAME`): the command's answer is needed, and
 * a truncate cannot wait for one. With a handle (O_TRUNC before a write) it is no change. */
static int cvalue_truncate(struct vmfs *v, const struct vnode *n, struct vhandle *h)
{
	if (h)
		return 0;
	node_reject(v, n, "truncate",
		    "another host's config is reset by writing an empty line to it (echo > FILE)");
	return -EOPNOTSUPP;
}

static off_t cvalue_length(struct vmfs *v, const struct vnode *n)
{
	return fk_gen.size(v, n);
}

const struct fkind fk_cvalue = {
	.read = cvalue_read,
	.write = cvalue_write,
	.resume = cvalue_resume,
	.abandon = cvalue_abandon,
	.waitq = cvalue_waitq,
	.release = cvalue_release,
	.size = cvalue_length,
	.truncate = cvalue_truncate,
};
