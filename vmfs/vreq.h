/* A request: one operation from any door (FUSE, HTTP, the 9P one to come), as the node
 * operations see it. It carries who asks, the open file it acts on (and so its node,
 * h->n), what a command that goes on leaves to be waited for, and how the door answers:
 * once, through respond, either at once or later from the event loop (as lib9p's Req and
 * respond()). A door embeds it in its own request and keeps it alive until respond.
 *
 * Every operation of a door goes through it: names and directories (vreq_lookup, vreq_mkdir,
 * ...), and a file opened (vreq_open or vreq_create), read and written, and released
 * (vreq_release).
 * A read through vreq_read: a stream with nothing yet (a console) waits on node_waitq
 * and is tried again when it wakes, unless its file is O_NONBLOCK.
 *
 * A write through vreq_write: node_write runs; a ctl command that goes on in the
 * background (a start, a commit, a verb in slices, members' answers) says what it waits
 * for in q->wait; the request then waits on node_waitq and node_write_resume is called
 * when it wakes, until the write has its outcome. */
#ifndef VMFS_VREQ_H
#define VMFS_VREQ_H
#include <stdbool.h>
#include <sys/types.h>

#include "runtime/waitq.h"
#include "vmfs/node.h"

/* What a ctl handler that returns -EINPROGRESS leaves for the write to wait on: the batch
 * of starts (count: answer "ok: VERB N" as the namespace ctl does), members' answers and
 * the verb of their "ok: VERB N", a verb on many objects done in slices (vmfs/slice.h). A
 * commit needs none: it waits on its object. */
struct vwait {
	struct lcbatch *batch;
	bool count;
	struct rbatch *rbatch;
	const char *rverb;
	struct nsjob *job;
	/* a verb spanning the hosts of an etcd cluster (cluster/ccmd.h): its per-host answer */
	struct hcmd *hcmd;
	/* the reply holds the answer already, per host: a failure keeps it */
	bool keep_reply;
	/* an rmdir of another host's object: its flush and its claim's going (vmfs/cobj_rmdir.c) */
	struct crmdir *rmdir;
};

struct vreq {
	struct vmfs *v;
	struct vcred cred;   /* who asks */
	struct vhandle *h;   /* the open file */
	size_t size;         /* a read's: at most size bytes at off */
	off_t off;
	const char *data;    /* a read's bytes, for respond (valid during it only) */
	bool write;          /* a write (vreq_write), not a read */
	struct vwait wait;   /* set by the ctl handler of the command being run */
	struct waiter w;     /* while it waits: on node_waitq(h) */
	bool later;          /* it waited: respond comes from the event loop */
	bool can_wait;       /* an rmdir or setattr through vreq_*_wait: it may answer later */
	/* The reason of the last refusal while it ran (node_reject), for a door that answers
	 * with words (HTTP); "" if none. */
	char why[1024];
	/* The door's answer, called once: bytes read (in data) or written, or -errno. */
	void (*respond)(struct vreq *q, ssize_t result);
	/* A door that can answer a mkdir or a look-up later sets it (vmfs/cmkdir.h): a mkdir in
	 * a namespace of a cluster on etcd is a launch, answered through made (0 with the node
	 * made, or -errno) once its object shows here; a look-up there that finds nothing asks
	 * etcd first (another host may have just made the name). Without it such a mkdir makes
	 * the object on this host at once, claimed after by the publisher, and a look-up answers
	 * from the cache alone. */
	void (*made)(struct vreq *q, int result, const struct vnode *n);
	struct cmkdir *mk; /* the mkdir it waits for */
};

/* Opens n for q (flags: open(2)'s) as q's asker: q->h. 0 or -errno. */
int vreq_open(struct vreq *q, const struct vnode *n, int flags);
/* Closes q->h (the last of its descriptors). */
void vreq_release(struct vreq *q);
/* Reads at most size bytes at off of q->h into buf (the caller's, for the try at once);
 * q->respond is called at once or, when a stream has nothing yet, later. Returns true when
 * it waits. */
bool vreq_read(struct vreq *q, char *buf, size_t size, off_t off);
/* Writes size bytes of buf at off to q->h; q->respond is called at once or, when the write
 * waits for its command, later. Returns true when it waits (q->later). */
bool vreq_write(struct vreq *q, const char *buf, size_t size, off_t off);
/* Names and directories, as q's asker; each makes q the current request while it runs (its
 * refusal's reason: q->why) and returns 0 or -errno, answered at once: none waits but a mkdir
 * and a look-up of a door that sets q->made (-EINPROGRESS: answered through it). A node
 * is named by node_from_ino (the root: NODE_ROOT_INO) or found by vreq_lookup. */
int vreq_lookup(struct vreq *q, const struct vnode *dir, const char *name, struct vnode *out);
int vreq_getattr(struct vreq *q, const struct vnode *n, struct stat *st);
int vreq_readdir(struct vreq *q, const struct vnode *dir, off_t off, node_fill_fn fill,
		 void *ctx);
int vreq_readlink(struct vreq *q, const struct vnode *n, char *buf, size_t size);
int vreq_statfs(struct vreq *q, struct statvfs *st);
/* A mkdir that waits returns -EINPROGRESS: the outcome comes through q->made, later. */
int vreq_mkdir(struct vreq *q, const struct vnode *dir, const char *name, mode_t mode,
	       struct vnode *out);
int vreq_rmdir(struct vreq *q, const struct vnode *dir, const char *name);
/* An rmdir that may wait (another host's object: a flush command to its owner, then its
 * claim's going from the cache; a namespace of the cluster: a transaction on its record):
 * q->respond(q, 0 or -errno) at once or later from the loop; true when it waits. Through
 * vreq_rmdir such an rmdir is refused, with words. */
bool vreq_rmdir_wait(struct vreq *q, const struct vnode *dir, const char *name);
int vreq_unlink(struct vreq *q, const struct vnode *dir, const char *name);
/* Makes name in dir and opens it (flags: open(2)'s): q->h, released by vreq_release. */
int vreq_create(struct vreq *q, const struct vnode *dir, const char *name, mode_t mode,
		int flags, struct vnode *out);
int vreq_rename(struct vreq *q, const struct vnode *dir, const char *name,
		const struct vnode *newdir, const char *newname, unsigned flags);
/* which: NA_* (vmfs/node.h); q->h, if set, is the open file it is made through. */
int vreq_setattr(struct vreq *q, const struct vnode *n, const struct stat *attr, int which,
		 struct stat *out);
/* A setattr that may wait (the owner or mode of a namespace of the cluster: a transaction on
 * its record): q->respond(q, 0 or -errno) at once or later from the loop (then the door
 * reads the node's attributes); true when it waits. Through vreq_setattr such a change is
 * refused, with words. */
bool vreq_setattr_wait(struct vreq *q, const struct vnode *n, const struct stat *attr, int which);
int vreq_symlink(struct vreq *q, const char *target, const struct vnode *dir, const char *name,
		 struct vnode *out);
/* The request being run, which node_reject's reasons go to: a door sets it around each
 * operation it runs (and back to what it was after: vreq_enter returns that); vreq_read
 * and vreq_write enter theirs, and so do their wakes. The loop runs one request at a time,
 * so there is one. NULL: none (the reason is only logged). */
struct vreq *vreq_enter(struct vreq *q);
/* node_reject's: "what: why" becomes the current request's reason. */
void vreq_reason(const char *what, const char *why);
/* A waiting request whose asker went away (an interrupt, a closed connection, a 9P Tflush):
 * it waits no more and is not answered; what it started goes on (a write's command, its end
 * logged; a mkdir's launch; an rmdir's flush; a setattr's transaction). */
void vreq_abandon(struct vreq *q);
#endif
