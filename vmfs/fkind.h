/* The table of file kinds: what opening, reading, writing, waiting on and releasing a file
 * do, and what size it shows, for each kind of file (enum vfile, node.h). It is to files what
 * vtab (node.c) is to nodes: one entry per kind, each in the file that owns the kind, and
 * vmfs/handle.c, node.c and ops.c only look the entry up. An operation left NULL does what its
 * comment says. A kind whose nodes are a real directory (images/) adds a tree of its own.
 *
 * A new kind: a value of enum vfile (node.h), its entry (const struct fkind) in the file that
 * owns it, declared below, and its row in fkinds (node.c); then vtab's rows name the value. */
#ifndef VMFS_FKIND_H
#define VMFS_FKIND_H
#include "vmfs/node.h"

/* A subtree that is not the node table's: images/, the image store shown as it is. Every
 * node under it is of the kind that holds the tree. */
struct ftree {
	/* ino's key (node_ino_key) back to the node; out->e is set. -ESTALE: gone */
	int (*from_ino)(struct vmfs *v, uint64_t key, struct vnode *out);
	int (*lookup)(struct vmfs *v, const struct vnode *dir, const char *name, struct vnode *out);
	int (*getattr)(struct vmfs *v, const struct vnode *n, struct stat *st);
	int (*readdir)(struct vmfs *v, const struct vnode *dir, off_t off, node_fill_fn fill,
		       void *ctx);
	int (*mkdir)(struct vmfs *v, const struct vnode *dir, const char *name, mode_t mode,
		     const struct vcred *c, struct vnode *out);
	int (*remove)(struct vmfs *v, const struct vnode *dir, const char *name, bool isdir);
	/* *fd: the new file, open with flags */
	int (*create)(struct vmfs *v, const struct vnode *dir, const char *name, mode_t mode,
		      int flags, const struct vcred *c, struct vnode *out, int *fd);
	int (*rename)(struct vmfs *v, const struct vnode *dir, const char *name,
		      const struct vnode *newdir, const char *newname, unsigned flags);
	int (*setattr)(struct vmfs *v, const struct vnode *n, const struct stat *attr, int which,
		       struct vhandle *h);
	int (*readlink)(struct vmfs *v, const struct vnode *n, char *buf, size_t size);
	int (*symlink)(struct vmfs *v, const char *target, const struct vnode *dir,
		       const char *name, const struct vcred *c, struct vnode *out);
	/* the kernel dropped n references to the node of this key */
	void (*forget)(struct vmfs *v, uint64_t key, uint64_t n);
};

struct fkind {
	/* h->n, flags, fd (-1) and references are set. NULL: nothing to do */
	int (*open)(struct vmfs *v, struct vhandle *h, int flags);
	/* as node_read (node.h). NULL: -EISDIR */
	ssize_t (*read)(struct vmfs *v, struct vhandle *h, char *buf, size_t size, off_t off);
	/* as node_write; -EINPROGRESS: resume gives the outcome once waitq wakes. NULL: -EACCES */
	ssize_t (*write)(struct vmfs *v, struct vreq *q, const char *buf, size_t size, off_t off);
	ssize_t (*resume)(struct vmfs *v, struct vreq *q);
	/* the writer of a write in progress went away. NULL: nothing to do */
	void (*abandon)(struct vhandle *h);
	/* where a read that got -EAGAIN or a write in progress waits. NULL: it never blocks */
	struct waitq *(*waitq)(struct vmfs *v, struct vhandle *h);
	/* before the handle's buffers and references go. NULL: nothing to do */
	void (*release)(struct vmfs *v, struct vhandle *h);
	/* what getattr shows. NULL: 0 */
	off_t (*size)(struct vmfs *v, const struct vnode *n);
	/* permission bits it takes away from its entry's (node_getattr). NULL: none */
	mode_t (*perm)(const struct vnode *n);
	/* truncate(2) to 0 without a handle, or on h. NULL: accepted and ignored */
	int (*truncate)(struct vmfs *v, const struct vnode *n, struct vhandle *h);
	const struct ftree *tree; /* NULL: its nodes are the node table's */
};

/* The kinds, each in the file that owns it. */
extern const struct fkind fk_gen;    /* vmfs/genfile.c */
extern const struct fkind fk_log;    /* vmfs/genfile.c */
extern const struct fkind fk_value;  /* vmfs/valuefile.c */
extern const struct fkind fk_ctl;    /* vmfs/ctlfile.c */
extern const struct fkind fk_stream; /* vmfs/streamfile.c */
extern const struct fkind fk_scrollback; /* vmfs/streamfile.c */
extern const struct fkind fk_pass;   /* vmfs/images.c */
extern const struct fkind fk_remote; /* vmfs/remote.c */
extern const struct fkind fk_cvalue; /* vmfs/cobj_config.c */
extern const struct fkind fk_export; /* cluster/cmove_src.c */

/* The entry of e's kind (vmfs/node.c): never NULL (a directory's has every operation NULL). */
const struct fkind *fkind_of(const struct ventry *e);

/* For the kinds' files (vmfs/handle.c): the bytes of src from off, as a read returns them. */
ssize_t file_copy_out(const char *src, size_t len, char *buf, size_t size, off_t off);
/* n's path as its log names it: config/memory, vlans/LAN1, ctl */
const char *node_relpath(const struct vnode *n, char *out, size_t outlen);

/* vmfs/valuefile.c: a written value without one trailing newline and surrounding blanks;
 * NULL if out of memory. */
char *value_text(const char *buf, size_t len);
/* A value that reaches the host (ctl/params.h's reach): -EPERM for anyone but host root. */
int value_host_reaching(struct vmfs *v, struct vhandle *h, const char *text, char *err,
			size_t errlen);
/* A value that names images: -EACCES unless its writer could open each through the mount (or,
 * through the door, read it by their rules); vmfs opens them as root. */
struct vcred;
int value_image_rights(struct vmfs *v, struct vhandle *h, const char *text, const struct vcred *c,
		       char *err, size_t errlen);
#endif
