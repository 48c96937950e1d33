/* PUT DIR/NAME/ and DELETE PATH of the HTTP door: a mkdir, an rmdir or an unlink, answered at
 * once or, for what the mount parks too (a mkdir that is a launch, in a namespace of a cluster
 * on etcd; an rmdir of another host's object: vmfs/vreq.h), when it ends. Its connection is
 * suspended meanwhile (the others are served); a client gone by then gets nothing, and what
 * was started goes on. */
#include <errno.h>

#include "web/web_int.h"

static struct req *req_of(struct vreq *vq)
{
	return (struct req *)((char *)vq - offsetof(struct req, vq));
}

/* The outcome, 201 for a mkdir, 200, or the errno's status with the reason in words; a
 * request suspended for it is resumed to send it. */
static void settle(struct req *q, int r)
{
	if (r) {
		web_fail(q, -r, NULL);
	} else {
		q->status = q->vq.made ? MHD_HTTP_CREATED : MHD_HTTP_OK;
		sb_puts(&q->out, "ok\n");
	}
	q->done = true;
	if (q->name_wait) {
		q->name_wait = false;
		web_unpark(q);
	}
}

static void mkdir_made(struct vreq *vq, int r, const struct vnode *n)
{
	(void)n;
	settle(req_of(vq), r);
}

static void rmdir_done(struct vreq *vq, ssize_t r) { settle(req_of(vq), (int)r); }

void mkrm_serve(struct req *q, const struct vnode *dir, const char *name, bool mk)
{
	struct vnode made, target;
	int r;
	if (mk) {
		q->vq.made = mkdir_made;
		r = vreq_mkdir(&q->vq, dir, name, 0777, &made);
	} else if (!(r = vreq_lookup(&q->vq, dir, name, &target))) {
		if (target.e->file == VF_DIR ||
		    (target.e->file == VF_PASS && target.e->kind == VK_IMAGES)) {
			q->vq.respond = rmdir_done;
			r = vreq_rmdir_wait(&q->vq, dir, name) ? -EINPROGRESS : 0;
			if (!r)
				return; /* answered through rmdir_done */
		} else {
			r = vreq_unlink(&q->vq, dir, name);
		}
	}
	if (r != -EINPROGRESS)
		settle(q, r);
	else if (!q->done) { /* (a mkdir may have been answered already) */
		q->name_wait = true;
		web_park(q);
	}
}
