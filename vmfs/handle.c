/* Open files: open, read, write, wait and release, each done by the entry of the file's
 * kind in the table of file kinds (vmfs/fkind.h), and what every kind shares. */
#include "vmfs/node.h"

#include <fcntl.h>
#include <string.h>

#include "runtime/vlan.h"
#include "vmfs/fkind.h"
#include "vmfs/vreq.h"

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

/* Who may reach the host through what they write (docs/security.md, "Who may do what"):
 * host root through the mount. The HTTP door acts as root but its users are no host's,
 * unless a rule makes one admin (docs/web-auth.md). */
static bool cred_host(const struct vcred *c)
{
	/* no credentials (a vlans/ file made): not root */
	return c && c->uid == 0 && (!c->door || c->admin);
}

int node_open(struct vmfs *v, const struct vnode *n, int flags, const struct vcred *c,
	      struct vhandle **out)
{
	const struct fkind *fk = fkind_of(n->e);
	if (S_ISDIR(n->e->mode) && !fk->tree)
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
	int r = fk->open ? fk->open(v, h, flags) : 0;
	if (r) {
		node_release(v, h);
		return r;
	}
	*out = h;
	return 0;
}

ssize_t file_copy_out(const char *src, size_t len, char *buf, size_t size, off_t off)
{
	if (off < 0 || (size_t)off >= len)
		return 0;
	size_t n = len - off < size ? len - off : size;
	memcpy(buf, src + off, n);
	return n;
}

ssize_t node_read(struct vmfs *v, struct vhandle *h, char *buf, size_t size, off_t off)
{
	const struct fkind *fk = fkind_of(h->n.e);
	return fk->read ? fk->read(v, h, buf, size, off) : -EISDIR;
}

struct waitq *node_waitq(struct vmfs *v, struct vhandle *h)
{
	const struct fkind *fk = fkind_of(h->n.e);
	return fk->waitq ? fk->waitq(v, h) : NULL;
}

const char *node_relpath(const struct vnode *n, char *out, size_t outlen)
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

ssize_t node_write_resume(struct vmfs *v, struct vreq *q)
{
	const struct fkind *fk = fkind_of(q->h->n.e);
	return fk->resume ? fk->resume(v, q) : 0;
}

void node_write_abandon(struct vhandle *h)
{
	const struct fkind *fk = fkind_of(h->n.e);
	if (fk->abandon)
		fk->abandon(h);
}

ssize_t node_write(struct vmfs *v, struct vreq *q, const char *buf, size_t size, off_t off)
{
	struct vhandle *h = q->h;
	model_changes++;
	if ((h->n.obj && h->n.obj->gone) || (h->n.ns && h->n.ns->gone))
		return -ENOENT; /* removed while this descriptor stayed open */
	const struct fkind *fk = fkind_of(h->n.e);
	return fk->write ? fk->write(v, q, buf, size, off) : -EACCES;
}

void node_release(struct vmfs *v, struct vhandle *h)
{
	const struct fkind *fk = fkind_of(h->n.e);
	if (fk->release)
		fk->release(v, h);
	sb_free(&h->buf);
	sb_free(&h->reply);
	free(h->refused_why);
	handle_refs(h, -1);
	free(h);
}
