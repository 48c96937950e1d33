/* An object's console: a new reader gets the scrollback, then blocks for live output; what
 * is written is typed into it. console.log is the scrollback alone, a file that grows. */
#include "vmfs/node.h"

#include <string.h>

#include "runtime/run.h"
#include "vmfs/fkind.h"
#include "vmfs/vreq.h"

static ssize_t stream_read(struct vmfs *v, struct vhandle *h, char *buf, size_t size, off_t off)
{
	/* h->pos starts at 0: a new reader starts with the scrollback */
	return console_read(&v->m, h->n.obj, buf, size, &h->pos);
}

static ssize_t stream_write(struct vmfs *v, struct vreq *q, const char *buf, size_t size,
			    off_t off)
{
	struct vhandle *h = q->h;
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

static struct waitq *stream_waitq(struct vmfs *v, struct vhandle *h)
{
	return &h->n.obj->console_wq;
}

const struct fkind fk_stream = {
	.read = stream_read,
	.write = stream_write,
	.waitq = stream_waitq,
};

static ssize_t scrollback_read(struct vmfs *v, struct vhandle *h, char *buf, size_t size,
			       off_t off)
{
	return console_read_at(&v->m, h->n.obj, buf, size, off);
}

static off_t scrollback_size(struct vmfs *v, const struct vnode *n)
{
	return console_size(&v->m, n->obj);
}

const struct fkind fk_scrollback = {
	.read = scrollback_read,
	.size = scrollback_size,
};
