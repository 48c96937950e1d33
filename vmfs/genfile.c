/* Text the tree makes: generated files (info, top, state, version, screenshots), made at
 * open so that one reader sees one snapshot, and logs, append-only files that grow
 * (`tail -f` works on them). */
#include "vmfs/node.h"

#include <time.h>

#include "runtime/vm.h"
#include "vmfs/fkind.h"

/* What getattr generated, kept for the open that follows: an NFS client (and a kernel one
 * with caching) reads up to the size it was told, so the size must be the length of what
 * the open will read. The model's contract (model_changes): generated text stays the same
 * while nothing changed in the same second. A few slots, by inode; stale ones are freed
 * whenever a new one is kept. */
#define GEN_KEPT 16

static struct kept {
	uint64_t ino, changes;
	time_t at;
	struct sbuf b;
} kept[GEN_KEPT];

static struct kept *kept_of(uint64_t ino)
{
	struct kept *k = &kept[ino % GEN_KEPT];
	return k->ino == ino && k->changes == model_changes && k->at == time(NULL) ? k : NULL;
}

static void kept_sweep(void)
{
	time_t now = time(NULL);
	for (size_t i = 0; i < GEN_KEPT; i++)
		if (kept[i].ino && (kept[i].changes != model_changes || kept[i].at != now)) {
			sb_free(&kept[i].b);
			kept[i].ino = 0;
		}
}

/* The screen and VNC of an object that is not running cannot be read (the read fails, with
 * a log line): size 0, and no line written for a mere stat. */
static bool gen_unreadable(const struct vnode *n)
{
	enum vkind k = n->e->kind;
	if (k != VK_OBJ_SCREENSHOT && k != VK_OBJ_THUMBNAIL && k != VK_OBJ_VNC)
		return false;
	char why[256];
	return (n->obj->state != ST_RUNNING && n->obj->state != ST_PAUSED) ||
	       !vm_has_display(n->obj, why, sizeof(why));
}

static int gen_open(struct vmfs *v, struct vhandle *h, int flags)
{
	/* An NFS server opens a file to stat it (nfs-ganesha's FSAL_VFS, for each entry it
	 * lists): a failed open made a stopped VM's directory unlistable over NFS. */
	if (gen_unreadable(&h->n)) {
		h->gen_later = true;
		return 0;
	}
	const struct kept *k = kept_of(h->n.ino);
	if (k) {
		sb_add(&h->buf, k->b.p, k->b.len);
		return sb_err(&h->buf);
	}
	int r = h->n.e->gen(v, &h->n, &h->buf);
	return r ? r : sb_err(&h->buf);
}

static off_t gen_size(struct vmfs *v, const struct vnode *n)
{
	const struct kept *found = kept_of(n->ino);
	if (found)
		return found->b.len;
	if (gen_unreadable(n))
		return 0;
	kept_sweep();
	struct kept *k = &kept[n->ino % GEN_KEPT];
	sb_free(&k->b);
	*k = (struct kept){0};
	uint64_t changes = model_changes; /* as the text is made: it may log */
	if (n->e->gen(v, n, &k->b) || sb_err(&k->b)) {
		sb_free(&k->b);
		return 0;
	}
	*k = (struct kept){n->ino, changes, time(NULL), k->b};
	return k->b.len;
}

static ssize_t gen_read(struct vmfs *v, struct vhandle *h, char *buf, size_t size, off_t off)
{
	if (h->gen_later) {
		int r = h->n.e->gen(v, &h->n, &h->buf);
		if (r || (r = sb_err(&h->buf))) {
			h->buf.len = 0;
			return r;
		}
		h->gen_later = false;
	}
	return file_copy_out(h->buf.p, h->buf.len, buf, size, off);
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
