/* The node table: every file and directory of the tree, described once (vtab in node.c),
 * and the node operations under the request object (vmfs/vreq.h), through which the doors
 * (the FUSE adapter, vmfs/fuse.c; the HTTP server, web/) call them. Nothing here includes
 * FUSE headers.
 *
 * A node is named by an inode number that encodes what it is: kind << 56 | key << 8 | sub,
 * where key is built from the persistent ids of its namespace and object (runtime/model.h:
 * ns->id << 28 | object id; a VLAN's file puts its serial in the object's place) and sub is
 * a parameter index or fifo/N's N. So an inode number means the same node across restarts
 * (an NFS server's file handles stay good), nothing needs to be remembered per inode
 * (forget is free), and an inode of a removed object can never reach another one: ids are
 * never reused. node_generation (FUSE's generation) guards what is numbered per run: a
 * member's host and objects (their slots), VLAN files (serials) and images/, a real
 * directory whose nodes are a table of paths kept while the kernel holds them. */
#ifndef VMFS_NODE_H
#define VMFS_NODE_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "cluster/cluster.h"
#include "conf/conf.h"
#include "runtime/model.h"

enum vkind {
	VK_NONE,
	VK_ROOT,
	VK_VERSION,
	VK_HOST,
	VK_HOST_INFO,
	VK_HOST_TOP,
	VK_HOST_LOG,
	VK_HOSTS,
	VK_HOSTS_CTL,
	VK_MEMBER,
	VK_MEMBER_INFO,
	VK_MEMBER_TOP,
	VK_MEMBER_STATE,
	VK_IMAGES,
	VK_IMAGE,
	VK_NSDIR,
	VK_NS,
	VK_NS_CTL,
	VK_NS_INFO,
	VK_NS_TOP,
	VK_NS_HOSTS,
	VK_NS_LOG,
	VK_NS_TAPS, /* within VK_NS..VK_VLAN: node.c decodes those by their namespace's slot */
	VK_NS_CONFIG,
	VK_NS_PARAM,
	VK_NS_VMS,
	VK_NS_CTS,
	VK_VLANS,
	VK_VLANS_RANGE,
	VK_VLAN,
	VK_OBJ,
	VK_OBJ_CTL,
	VK_OBJ_STATE,
	VK_OBJ_INFO,
	VK_OBJ_TOP,
	VK_OBJ_CONFIG,
	VK_OBJ_PARAM,
	VK_OBJ_CONSOLE,
	VK_OBJ_CONSOLE_LOG,
	VK_OBJ_LOG,
	VK_OBJ_SCREENSHOT,
	VK_OBJ_THUMBNAIL,
	VK_OBJ_VNC,
	VK_OBJ_QMP,
	VK_OBJ_FIFO,
	VK_OBJ_FIFO_N,
	VK_ROBJ,       /* a member's VM or container, seen from the head */
	VK_ROBJ_FILE,  /* one of its files: sub is the index in remote.c's vm_files or ct_files */
	VK_ROBJ_CONFIG,
	VK_ROBJ_PARAM, /* sub is the parameter's index */
	VK_HOSTS_DISCOVERED, /* a kind's number is in its nodes' inode numbers: new ones after */
	VK_COBJ, /* with etcd: another host's VM or container, from the cluster's view */
	VK_COBJ_CTL,
	VK_COBJ_STATE,
	VK_COBJ_INFO,
	VK_COBJ_TOP,
	VK_COBJ_CONFIG,
	VK_COBJ_PARAM, /* sub is the parameter's index */
	VK_CNS, /* with etcd: a namespace of the cluster that this host does not have (ns NULL) */
	VK_CNS_INFO,
	VK_CNS_TOP,
	VK_CNS_HOSTS,
	VK_CNS_VMS,
	VK_CNS_CTS,
	VK_COBJ_FILE, /* with etcd: another host's object's file served by its owner's 9P door
		       * (console, console.log, log, screens): sub is its index in remote.c's */
	VK_OBJ_EXPORT, /* with etcd: export.tar of an object moving away (cluster/cmove_int.h) */
	VK_MAX
};

/* How a file behaves when opened, read and written: its entry in the table of file kinds
 * (vmfs/fkind.h) says. */
enum vfile {
	VF_DIR,
	VF_GEN,    /* generated text, snapshotted at open */
	VF_VALUE,  /* one value: reads it, a write sets it (validated), truncate resets it */
	VF_CTL,    /* commands: one per line written; read back "ok" or "error: why" */
	VF_LOG,    /* an append-only log: a growing file, `tail -f` works */
	VF_STREAM, /* a console: scrollback, then blocks for live output */
	VF_SCROLLBACK, /* a console's scrollback alone: a growing file, as a log */
	VF_PASS,   /* images/: a real file of the image store */
	VF_REMOTE, /* a file of a member's object: read and written through its worker */
	VF_CVALUE, /* another host's object's config value: a write is a command to its owner */
	VF_EXPORT, /* a moving object's archive (cluster/cmove_src.c) */
};

struct vmfs;
struct vnode;
struct vreq;

struct ventry {
	enum vkind kind, parent;
	const char *name;  /* NULL: children named at run time (namespaces, objects, params) */
	mode_t mode;       /* type and the most permissive bits; masked by a namespace's mode */
	enum vfile file;
	unsigned types;    /* under an object: PARAM_VM, PARAM_CT or both */
	int (*gen)(struct vmfs *v, const struct vnode *n, struct sbuf *out);
	int (*set)(struct vmfs *v, const struct vnode *n, const char *value, char *err,
		   size_t errlen);
	/* runs one command of q's write (the node: q->h->n); one that goes on returns
	 * -EINPROGRESS and says in q->wait what the write waits for (vmfs/vreq.h) */
	int (*ctl)(struct vmfs *v, struct vreq *q, char *line, struct sbuf *reply, char *err,
		   size_t errlen);
	/* a directory whose children the file that owns it names (a member's object): lookup
	 * of one, and names from index from on, until fn returns non-zero */
	int (*lookup)(struct vmfs *v, const struct vnode *dir, const char *name, struct vnode *out);
	int (*names)(struct vmfs *v, const struct vnode *dir, size_t from,
		     int (*fn)(void *ctx, const char *name, size_t idx), void *ctx);
};

struct vnode {
	const struct ventry *e;
	struct ns *ns;        /* borrowed: valid for the current request only */
	struct object *obj;
	int sub;              /* parameter index */
	struct member *mb;    /* hosts/NAME of a member (NULL: this host) */
	struct chost *ch;     /* with etcd: hosts/NAME of another host (NULL: this host) */
	struct robj *ro;      /* a member's object and its files */
	uint64_t cid;         /* with etcd, another host's object (VK_COBJ*): its namespace's
			       * cluster id << OBJ_ID_BITS | its cluster id (cluster/cview.h);
			       * a namespace this host does not have (VK_CNS*): its id << OBJ_ID_BITS */
	void *aux;            /* its kind's own: images/'s entry in its table of paths */
	uint64_t ino;
};

struct vcred {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	mode_t umask;
	bool door; /* the HTTP door: its users are not host users, whatever uid it acts as */
	bool admin; /* a web user with an admin rule: may reach the host as host root */
	/* the door's: whether its user's rules let them read a path of the tree */
	bool (*may_read)(const void *ctx, const char *path);
	const void *ctx;
};

struct vmfs {
	struct model m;
	struct vmfs_conf *conf;
	char hostname[256];
	struct evlog log;     /* host/log: the daemon's own events */
	struct imgtab *images;
	struct hoststats *stats;
	uid_t owner;
	gid_t group;
	/* The loop has ended: a request woken now is answered, not made to wait again. */
	bool exiting;
	struct cluster cl; /* the other hosts (cluster/cluster.h) */
	struct chosts *chosts; /* with etcd: hosts/ from its records (cluster/chosts.h), or NULL */
	struct ccmd *ccmd; /* with etcd: verbs across hosts (cluster/ccmd.h), or NULL */
	struct cview *cview;   /* with etcd: the cluster's namespaces and objects (cluster/cview.h) */
	struct chostw *chostw; /* with etcd: workers to the other hosts' 9P doors, made at first use */
	struct mdns *mdns; /* announcement and discovery (mdns/mdns.h), or NULL */
};

/* An open file. The front end keeps the pointer (FUSE: fi->fh) and hands it back. */
struct vhandle {
	struct vnode n;       /* with references held on n.ns and n.obj */
	int flags;            /* open(2) flags */
	struct sbuf buf;      /* VF_GEN: the snapshot; VF_VALUE: what was written */
	bool gen_later;       /* VF_GEN: not readable when opened: the read makes it or fails */
	struct sbuf reply;    /* VF_CTL: the last command's answer, read back once */
	size_t reply_pos;
	bool wrote, truncated;
	bool host;            /* its opener may reach the host (host root through the mount) */
	bool door;            /* opened through the HTTP door */
	int refused;          /* VF_VALUE: a write was refused; every later one is too */
	char *refused_why;
	int fd;               /* VF_PASS */
	uint64_t pos;         /* VF_STREAM: how far this reader has read */
	/* VF_CTL: the text of a write whose commands are still running (see ctl_run) */
	char *ctl_text, *ctl_next, *ctl_cmd;
	size_t ctl_size;
	bool ctl_any;
	struct lcbatch *batch; /* the starts this write waits for, if any */
	struct nsjob *job;     /* the verb on many objects it waits for, done in slices */
	bool sliced;           /* its commands go on in the event loop's next turn */
	bool batch_count;
	void *aux;             /* its kind's own: VF_REMOTE's answer to its last request */
	struct rbatch *rbatch; /* members' answers this write waits for, after batch */
	struct hcmd *hcmd;     /* a verb across an etcd cluster's hosts (cluster/ccmd.h) */
	const char *rverb;
	/* the FUSE door's list of what the kernel holds open: a release the kernel drops at
	 * unmount (it sends them in the background) is done at the door's close */
	struct vhandle *open_prev, *open_next;
};

#define NODE_ROOT_INO 1

int vmfs_init(struct vmfs *v, struct vmfs_conf *conf, char *err, size_t errlen);
void vmfs_fini(struct vmfs *v);

/* The inode number of a node of kind k for a key (above). */
uint64_t node_ino(enum vkind k, uint64_t key, int sub);
uint64_t node_ino_key(uint64_t ino);
/* Told apart with the inode number, what a file handle names: the pair is never given to
 * another node in the life of the state directory (-ESTALE from node_from_ino for it). */
uint32_t node_generation(const struct vmfs *v, const struct vnode *n);
/* 9P's qid.version of n (st: its attributes): changes whenever its content may have (also
 * when it did not: generated text follows the count of every change in the tree); 0 for
 * directories, ctl and console. */
uint32_t node_version(const struct vnode *n, const struct stat *st);
int node_from_ino(struct vmfs *v, uint64_t ino, struct vnode *out);
int node_lookup(struct vmfs *v, const struct vnode *dir, const char *name, struct vnode *out);
int node_getattr(struct vmfs *v, const struct vnode *n, struct stat *st);
/* Lists dir from position off (0 at the start); fill returns non-zero when it is full. */
typedef int (*node_fill_fn)(void *ctx, const char *name, const struct stat *st, off_t next);
int node_readdir(struct vmfs *v, const struct vnode *dir, off_t off, node_fill_fn fill, void *ctx);

int node_open(struct vmfs *v, const struct vnode *n, int flags, const struct vcred *c,
	      struct vhandle **out);
/* Bytes read, 0 at the end, -EAGAIN when a stream has nothing yet (park and retry), -errno. */
ssize_t node_read(struct vmfs *v, struct vhandle *h, char *buf, size_t size, off_t off);
/* Where a reader that got -EAGAIN waits; NULL if the file never blocks. */
struct waitq *node_waitq(struct vmfs *v, struct vhandle *h);
/* A write, of q's file as q's asker; a door calls vreq_write (vmfs/vreq.h), which waits
 * when this returns -EINPROGRESS: node_write_resume is called when node_waitq wakes; it
 * returns the write's outcome, or -EINPROGRESS to wait again. abandon: its writer went
 * away. */
ssize_t node_write(struct vmfs *v, struct vreq *q, const char *buf, size_t size, off_t off);
ssize_t node_write_resume(struct vmfs *v, struct vreq *q);
void node_write_abandon(struct vhandle *h);
void node_release(struct vmfs *v, struct vhandle *h);

/* Making, removing and renaming names, as q's asker (q->cred): a door calls vreq_mkdir and
 * the others (vmfs/vreq.h), which make q the current request. create opens what it made:
 * q->h. */
int node_mkdir(struct vmfs *v, const struct vnode *dir, const char *name, mode_t mode,
	       struct vreq *q, struct vnode *out);
/* A mkdir that returned -EINPROGRESS (q->mk: a launch in a cluster), or a look-up that
 * node_lookup_ask made wait: its outcome, or -EINPROGRESS with *wq to wait on before asking
 * again. */
int node_mkdir_resume(struct vmfs *v, struct vreq *q, struct waitq **wq);
/* A look-up that found nothing in a directory of objects of a namespace of the cluster: asks
 * etcd whether another host has just made name (-EINPROGRESS, q->mk set), or -ENOENT. */
int node_lookup_ask(struct vmfs *v, const struct vnode *dir, const char *name, struct vreq *q);
int node_rmdir(struct vmfs *v, const struct vnode *dir, const char *name, struct vreq *q);
int node_unlink(struct vmfs *v, const struct vnode *dir, const char *name, struct vreq *q);
int node_create(struct vmfs *v, const struct vnode *dir, const char *name, mode_t mode, int flags,
		struct vreq *q, struct vnode *out);
int node_rename(struct vmfs *v, const struct vnode *dir, const char *name,
		const struct vnode *newdir, const char *newname, unsigned flags, struct vreq *q);

/* Which attributes a setattr changes. */
enum {
	NA_MODE = 1,
	NA_UID = 2,
	NA_GID = 4,
	NA_SIZE = 8,
	NA_ATIME = 16,
	NA_MTIME = 32,
};
/* q->h: the open file it is made through, if any (a truncate of an open file). */
int node_setattr(struct vmfs *v, const struct vnode *n, const struct stat *attr, int which,
		 struct vreq *q, struct stat *out);
int node_statfs(struct vmfs *v, struct statvfs *st);
int node_readlink(struct vmfs *v, const struct vnode *n, char *buf, size_t size);
int node_symlink(struct vmfs *v, const char *target, const struct vnode *dir, const char *name,
		 struct vreq *q, struct vnode *out);
/* The kernel dropped n references to ino (only images/ keeps count). */
void node_forget(struct vmfs *v, uint64_t ino, uint64_t n);

/* Where a rejected request's reason goes: the object's log, else the namespace's, else
 * host/log; and the request being run (vmfs/vreq.h), for its door's answer. */
void node_reject(struct vmfs *v, const struct vnode *n, const char *what, const char *why);

/* For the files that own node kinds (vmfs/root.c, ns.c, obj.c) and file kinds (vmfs/fkind.h). */
const struct ventry *vtab_find(enum vkind k);
extern const struct ventry vtab[];
extern const size_t vtab_len;
#endif
