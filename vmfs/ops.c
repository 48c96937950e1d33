/* Creating, removing and changing nodes: mkdir makes namespaces and objects, rmdir removes
 * them, chown/chmod on a namespace set who may use it; a subtree of its own (images/) is
 * its kind's tree's (vmfs/fkind.h). */
#include "vmfs/node.h"

#include <fcntl.h>
#include <string.h>
#include <sys/statvfs.h>

#include "cluster/cmove_int.h"
#include "cluster/cnshosts.h"
#include "cluster/cview.h"
#include "runtime/lifecycle.h"
#include "runtime/run.h"
#include "runtime/vlan.h"
#include "vmfs/claunch.h"
#include "vmfs/cmkdir.h"
#include "vmfs/fkind.h"
#include "vmfs/kinds.h"
#include "vmfs/vreq.h"

static const struct ftree *tree_of(const struct vnode *n)
{
	return fkind_of(n->e)->tree;
}

static enum otype dir_type(const struct vnode *dir)
{
	return dir->e->kind == VK_NS_VMS ? OT_VM : OT_CT;
}

int node_mkdir(struct vmfs *v, const struct vnode *dir, const char *name, mode_t mode,
	       struct vreq *q, struct vnode *out)
{
	const struct vcred *c = &q->cred;
	model_changes++;
	char err[512], what[128];
	int r;
	if (tree_of(dir))
		return tree_of(dir)->mkdir(v, dir, name, mode, c, out);
	switch (dir->e->kind) {
	case VK_NSDIR:
		r = ns_create(&v->m, name, c->uid, c->gid, (mode & ~c->umask) & 0777, NULL, err,
			      sizeof(err));
		snprintf(what, sizeof(what), "mkdir ns/%s", name);
		break;
	case VK_NS_VMS:
	case VK_NS_CTS: {
		char *names[] = {(char *)name, NULL};
		r = name_check(name, err, sizeof(err));
		if (!r && q->made && claunch_on(v)) { /* a launch of one: answered when made */
			r = cmkdir_start(v, dir, dir_type(dir), name, &q->mk, err, sizeof(err));
		} else if (!r && claunch_on(v)) { /* a request that cannot wait (every door sets made) */
			snprintf(err, sizeof(err),
				 "in a namespace of the cluster a mkdir is a launch, placed and claimed "
				 "first: make %s through the mount, or write `launch %s %s` to ns/%s/ctl",
				 name, dir_type(dir) == OT_VM ? "kvm" : "container", name,
				 dir->ns->name);
			r = -EOPNOTSUPP;
		} else if (!r)
			r = obj_create_many(&v->m, dir->ns, dir_type(dir), names, 1, NULL, err,
					    sizeof(err));
		snprintf(what, sizeof(what), "mkdir %s/%s", dir->e->name, name);
		break;
	}
	case VK_CNS_VMS: /* a namespace this host does not have (a later step: launch there) */
	case VK_CNS_CTS:
		snprintf(what, sizeof(what), "mkdir %s/%s", dir->e->name, name);
		snprintf(err, sizeof(err),
			 "this namespace of the cluster is not on this host: launch on one of its "
			 "hosts (its file hosts)");
		r = -EOPNOTSUPP;
		break;
	default:
		snprintf(what, sizeof(what), "mkdir %s", name);
		snprintf(err, sizeof(err), "directories are made only in ns/, vms/, containers/ and images/");
		r = -EPERM;
	}
	if (r == -EINPROGRESS)
		return r;
	if (r) {
		node_reject(v, dir, what, err);
		return r;
	}
	return node_lookup(v, dir, name, out);
}

int node_mkdir_resume(struct vmfs *v, struct vreq *q, struct waitq **wq)
{
	char err[1024] = "", what[NAME_MAX_LEN + 32];
	int r = cmkdir_resume(q->mk, wq, err, sizeof(err));
	struct vnode dir;
	if (r && r != -EINPROGRESS && !cmkdir_is_lookup(q->mk)) {
		bool found = !node_from_ino(v, cmkdir_dir(q->mk), &dir);
		snprintf(what, sizeof(what), "mkdir %s%s%s", found ? dir.e->name : "",
			 found ? "/" : "", cmkdir_name(q->mk));
		node_reject(v, found ? &dir : NULL, what, err);
	}
	return r;
}

int node_lookup_ask(struct vmfs *v, const struct vnode *dir, const char *name, struct vreq *q)
{
	switch (dir->e->kind) {
	case VK_NS_VMS:
	case VK_NS_CTS:
	case VK_CNS_VMS:
	case VK_CNS_CTS:
		return claunch_on(v) ? cmkdir_ask(v, dir, cobj_nsid(v, dir), name, &q->mk) : -ENOENT;
	default:
		return -ENOENT;
	}
}

/* rmdir ns/NAME. With etcd, a namespace the cluster has is removed from the cluster: its
 * record goes in a txn that compares no claim of it on any host (cnsrm_start), answered when
 * it ends, this host's copy with it; each other host drops its empty copy when its cache has
 * the record gone (cluster/cnsjoin.h). A door that answers at once is refused, with words. */
static int ns_rmdir(struct vmfs *v, const struct vnode *n, const char *name, struct vreq *q,
		    char *err, size_t errlen)
{
	bool ours = v->chosts && v->cview && cview_ns_find(v->cview, name);
	if (!ours && n->ns)
		return ns_remove(&v->m, n->ns, err, errlen);
	if (!ours) {
		snprintf(err, errlen, "ns/%s is not in the cluster's records now: try again", name);
		return -EAGAIN;
	}
	if (!strcmp(name, "default")) {
		snprintf(err, errlen, "the default namespace cannot be removed");
		return -EBUSY;
	}
	size_t held = n->ns ? n->ns->objs[OT_VM].n + n->ns->objs[OT_CT].n : 0;
	if (held) {
		snprintf(err, errlen, "namespace %s still holds %zu VMs and containers on this host",
			 name, held);
		return -ENOTEMPTY;
	}
	if (!q->can_wait) {
		snprintf(err, errlen,
			 "ns/%s is a namespace of the cluster: its removal is a transaction on its "
			 "record, made through the mount",
			 name);
		return -EOPNOTSUPP;
	}
	return cnsrm_start(v, name, &q->wait.rbatch, err, errlen);
}

int node_rmdir(struct vmfs *v, const struct vnode *dir, const char *name, struct vreq *q)
{
	model_changes++;
	char err[512], what[128];
	struct vnode n;
	if (tree_of(dir))
		return tree_of(dir)->remove(v, dir, name, true);
	int r = node_lookup(v, dir, name, &n);
	if (r)
		return r;
	snprintf(what, sizeof(what), "rmdir %s", name);
	switch (n.e->kind) {
	case VK_NS:
	case VK_CNS:
		if ((r = ns_rmdir(v, &n, name, q, err, sizeof(err))) == -EINPROGRESS)
			return r;
		break;
	case VK_OBJ: {
		char busy[NAME_MAX_LEN + 16];
		if (cmove_busy(v, n.obj, busy, sizeof(busy))) { /* a cold move copies it */
			snprintf(err, sizeof(err), "%s is %s: rmdir waits until that has ended",
				 n.obj->name, busy);
			r = -EBUSY;
		} else
			r = lifecycle_remove(&v->m, n.obj, err, sizeof(err));
		break;
	}
	case VK_COBJ: /* another host's: a flush command to its owner */
		if ((r = cobj_rmdir(v, &n, q, err, sizeof(err))) == -EINPROGRESS)
			return r;
		break;
	default:
		snprintf(err, sizeof(err), "%s is part of the tree and cannot be removed", name);
		r = S_ISDIR(n.e->mode) ? -EPERM : -ENOTDIR;
	}
	if (r)
		node_reject(v, &n, what, err);
	else if (n.e->kind == VK_NS)
		evlog_add(&v->log, "namespace %s removed", name);
	return r;
}

int node_unlink(struct vmfs *v, const struct vnode *dir, const char *name, struct vreq *q)
{
	model_changes++;
	if (tree_of(dir))
		return tree_of(dir)->remove(v, dir, name, false);
	struct vnode n;
	int r = node_lookup(v, dir, name, &n);
	if (r)
		return r;
	if (S_ISDIR(n.e->mode))
		return -EISDIR;
	char what[128], why[256];
	snprintf(what, sizeof(what), "rm %s", name);
	if (n.e->kind == VK_VLAN) {
		snprintf(what, sizeof(what), "rm vlans/%s", name);
		if ((r = vlan_remove(&v->m, dir->ns, name, why, sizeof(why))))
			node_reject(v, dir, what, why);
		return r;
	}
	node_reject(v, dir, what, "files of the tree cannot be removed (rmdir removes objects)");
	return -EPERM;
}

/* echo 200 > vlans/LAN5: the alias gets a free id at once, which the write then pins. */
static int vlan_create(struct vmfs *v, const struct vnode *dir, const char *name, int flags,
		       struct vnode *out, struct vhandle **h)
{
	char what[128], why[256], net[NAME_MAX_LEN + 1];
	snprintf(what, sizeof(what), "create vlans/%s", name);
	int r = name_check(name, why, sizeof(why));
	if (!r && strspn(name, "0123456789") == strlen(name)) {
		snprintf(why, sizeof(why), "a VLAN alias is a name such as LAN1, not a number");
		r = -EINVAL;
	}
	snprintf(net, sizeof(net), "%s", name);
	if (!r)
		r = vlan_claim_net(&v->m, dir->ns, net, why, sizeof(why));
	if (!r)
		r = node_lookup(v, dir, name, out);
	if (!r)
		r = node_open(v, out, flags & ~(O_CREAT | O_EXCL), NULL, h);
	if (r)
		node_reject(v, dir, what, why);
	return r;
}

int node_create(struct vmfs *v, const struct vnode *dir, const char *name, mode_t mode, int flags,
		struct vreq *q, struct vnode *out)
{
	if (dir->e->kind == VK_VLANS)
		return vlan_create(v, dir, name, flags, out, &q->h);
	const struct ftree *tree = tree_of(dir);
	if (!tree) {
		char what[128], why[256];
		snprintf(what, sizeof(what), "create %s", name);
		if (dir->e->kind == VK_NS_CONFIG || dir->e->kind == VK_OBJ_CONFIG)
			snprintf(why, sizeof(why), "%s is not a parameter (ls config/ lists them)", name);
		else
			snprintf(why, sizeof(why), "new files can be made only in images/");
		node_reject(v, dir, what, why);
		return dir->e->kind == VK_NS_CONFIG || dir->e->kind == VK_OBJ_CONFIG ? -ENOENT
										      : -EACCES;
	}
	int fd = -1;
	int r = tree->create(v, dir, name, mode & ~q->cred.umask, flags, &q->cred, out, &fd);
	if (r)
		return r;
	struct vhandle *nh = calloc(1, sizeof(*nh));
	if (!nh) {
		close(fd);
		return -ENOMEM;
	}
	nh->n = *out;
	nh->flags = flags;
	nh->fd = fd;
	q->h = nh;
	return 0;
}

int node_rename(struct vmfs *v, const struct vnode *dir, const char *name,
		const struct vnode *newdir, const char *newname, unsigned flags, struct vreq *q)
{
	model_changes++;
	const struct ftree *tree = tree_of(dir), *newtree = tree_of(newdir);
	if (tree && tree == newtree)
		return tree->rename(v, dir, name, newdir, newname, flags);
	char what[300];
	snprintf(what, sizeof(what), "mv %s %s", name, newname);
	node_reject(v, dir, what, "only files in images/ can be renamed");
	return tree || newtree ? -EXDEV : -EPERM;
}

/* chown and chmod of a namespace directory: who may use it. The kernel has already checked
 * (default_permissions) that the caller may make the change. With etcd, a namespace of the
 * cluster's is changed in its record (every host follows it: cluster/cnsjoin.h), a door that
 * answers at once refused with words. */
static int ns_setattr(struct vmfs *v, const struct vnode *n, const struct stat *a, int which,
		      struct vreq *q)
{
	const struct cview_ns *cn = NULL;
	if (v->cview)
		cn = n->ns ? cview_ns_find(v->cview, n->ns->name)
			   : cview_ns_id(v->cview, n->cid >> OBJ_ID_BITS);
	if (!n->ns && !cn)
		return -ENOENT;
	uid_t uid = which & NA_UID ? a->st_uid : n->ns ? n->ns->uid : (uid_t)cn->rec.uid;
	gid_t gid = which & NA_GID ? a->st_gid : n->ns ? n->ns->gid : (gid_t)cn->rec.gid;
	mode_t mode = which & NA_MODE ? a->st_mode & 0777 : n->ns ? n->ns->mode : cn->rec.mode;
	char err[1024];
	int r;
	if (cn && v->chosts && !q->can_wait) {
		snprintf(err, sizeof(err),
			 "ns/%s is a namespace of the cluster: its owner and mode are a transaction "
			 "on its record, made through the mount",
			 cn->name);
		r = -EOPNOTSUPP;
	} else if (cn && v->chosts) {
		r = cnsowner_start(v, cn->name, uid, gid, mode, &q->wait.rbatch, err, sizeof(err));
		if (r == -EINPROGRESS)
			return r;
	} else if ((r = ns_set_owner(&v->m, n->ns, uid, gid, mode)))
		snprintf(err, sizeof(err), "%s", strerror(-r));
	if (r)
		node_reject(v, n, "chown/chmod", err);
	else
		evlog_add(&n->ns->log, "owner %u:%u, mode %04o", (unsigned)uid, (unsigned)gid,
			  (unsigned)mode);
	return r;
}

int node_setattr(struct vmfs *v, const struct vnode *n, const struct stat *attr, int which,
		 struct vreq *q, struct stat *out)
{
	struct vhandle *h = q->h;
	model_changes++;
	int r = 0;
	const struct fkind *fk = fkind_of(n->e);
	if (fk->tree)
		r = fk->tree->setattr(v, n, attr, which, h);
	else if (which & (NA_MODE | NA_UID | NA_GID)) {
		if (n->e->kind != VK_NS && n->e->kind != VK_CNS) {
			node_reject(v, n, "chown/chmod",
				    "owners and modes are set on the namespace directory, and "
				    "everything inside follows it");
			return -EPERM;
		}
		r = ns_setattr(v, n, attr, which, q);
	} else if ((which & NA_SIZE) && fk->truncate && attr->st_size == 0) {
		r = fk->truncate(v, n, h);
	}
	/* other sizes on ctl and value files, and times, are accepted and ignored: shells
	 * truncate before writing and touch(1) should not fail */
	if (r)
		return r;
	return node_getattr(v, n, out);
}

int node_statfs(struct vmfs *v, struct statvfs *st)
{
	return fstatvfs(v->m.imagefd, st) < 0 ? -errno : 0;
}

int node_readlink(struct vmfs *v, const struct vnode *n, char *buf, size_t size)
{
	if (n->e->kind == VK_OBJ_FIFO_N) {
		char dir[BUILT_PATH_MAX];
		run_dir(&v->m, n->obj, dir, sizeof(dir));
		snprintf(buf, size, "%s/fifo/%d", dir, n->sub);
		return 0;
	}
	return tree_of(n) ? tree_of(n)->readlink(v, n, buf, size) : -EINVAL;
}

int node_symlink(struct vmfs *v, const char *target, const struct vnode *dir, const char *name,
		 struct vreq *q, struct vnode *out)
{
	return tree_of(dir) ? tree_of(dir)->symlink(v, target, dir, name, &q->cred, out) : -EPERM;
}

void node_forget(struct vmfs *v, uint64_t ino, uint64_t n)
{
	const struct ventry *e = ino == NODE_ROOT_INO ? NULL : vtab_find((enum vkind)(ino >> 56));
	const struct ftree *tree = e ? fkind_of(e)->tree : NULL;
	if (tree)
		tree->forget(v, node_ino_key(ino), n);
}
