/* Text the tree makes: generated files (info, top, state, version, screenshots), made at
 * open so that one reader sees one snapshot, and logs, append-only files that grow
 * (`tail -f` works on them). */
#include "vmfs/node.h"

#include "vmfs/fkind.h"

static int gen_open(struct vmfs *v, struct vhandle *h, int flags)
{
	int r = h->n.e->gen(v, &h->n, &h->buf);
	return r ? r : sb_err(&h->buf);
}

static ssize_t gen_read(struct vmfs *v, struct vhandle *h, char *buf, size_t size, off_t off)
{
	return file_copy_out(h->buf.p, h->buf.len, buf, size, off);
}

static off_t gen_size(struct vmfs *v, const struct vnode *n)
{
	/* Cheap for everything but the namespace tables; those are snapshotted at open
	 * with direct_io, so a size of 0 costs readers nothing. */
	if (n->e->kind == VK_NS_INFO || n->e->kind == VK_NS_TOP ||
	    n->e->kind == VK_OBJ_SCREENSHOT || n->e->kind == VK_OBJ_THUMBNAIL ||
	    n->e->kind == VK_OBJ_VNC)
		return 0; /* the screen and VNC are made (or fail, with a log line) at open */
	struct sbuf b = {0};
	int r = n->e->gen(v, n, &b);
	off_t len = r ? 0 : (off_t)b.len;
	sb_free(&b);
	return len;
}

const struct fkind fk_gen = {
	.open = gen_open,
	.read = gen_read,
	.size = gen_size,
};

/* host/log, a namespace's log or an object's */
static ssize_t log_read(struct vmfs *v, struct vhandle *h, char *buf, size_t size, off_t off)
{
	const struct vnode *n = &h->n;
	return evlog_read(n->obj ? &n->obj->log : n->ns ? &n->ns->log : &v->log, buf, size, off);
}

static off_t log_size(struct vmfs *v, const struct vnode *n)
{
	if (n->obj)
		return n->obj->log.size;
	return n->ns ? n->ns->log.size : v->log.size;
}

const struct fkind fk_log = {
	.read = log_read,
	.size = log_size,
};
