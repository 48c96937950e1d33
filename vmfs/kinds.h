/* The node kinds' operations, one file per directory kind. */
#ifndef VMFS_KINDS_H
#define VMFS_KINDS_H
#include "vmfs/node.h"

struct vwait;

#define VMFS_VERSION "0.1.0"

/* vmfs/root.c: version, host/, hosts/ */
int gen_version(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int gen_host_info(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int gen_host_top(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int gen_member_state(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int ctl_hosts(struct vmfs *v, struct vreq *q, char *line, struct sbuf *reply, char *err,
	      size_t errlen);

/* vmfs/ns.c: a namespace directory */
int gen_ns_info(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int gen_ns_top(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int gen_ns_hosts(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int gen_ns_taps(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int set_ns_hosts(struct vmfs *v, const struct vnode *n, const char *value, char *err, size_t errlen);
/* ns/NS/hosts of a namespace this host does not have: only a reset comes here (a write is
 * the cluster's transaction, set_ns_hosts_cluster), refused. */
int set_cns_hosts(struct vmfs *v, const struct vnode *n, const char *value, char *err, size_t errlen);
/* With etcd: a write of ns/NS/hosts is a transaction on its record (cluster/cnshosts.h):
 * -EINPROGRESS and *wait, or -errno with words. */
struct rbatch;
int set_ns_hosts_cluster(struct vmfs *v, const struct vnode *n, const char *value,
			 struct rbatch **wait, char *err, size_t errlen);
int gen_ns_param(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int set_ns_param(struct vmfs *v, const struct vnode *n, const char *value, char *err, size_t errlen);
int gen_vlan_range(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int set_vlan_range(struct vmfs *v, const struct vnode *n, const char *value, char *err,
		   size_t errlen);
int ctl_ns(struct vmfs *v, struct vreq *q, char *line, struct sbuf *reply, char *err,
	   size_t errlen);

/* vmfs/obj.c: one VM or container */
int gen_obj_state(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int gen_obj_info(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int gen_obj_top(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int gen_obj_param(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int set_obj_param(struct vmfs *v, const struct vnode *n, const char *value, char *err,
		  size_t errlen);
int gen_obj_vnc(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int gen_vlan(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int set_vlan(struct vmfs *v, const struct vnode *n, const char *value, char *err, size_t errlen);
int gen_obj_screenshot(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int gen_obj_thumbnail(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int ctl_obj(struct vmfs *v, struct vreq *q, char *line, struct sbuf *reply, char *err,
	    size_t errlen);
int ctl_qmp(struct vmfs *v, struct vreq *q, char *line, struct sbuf *reply, char *err,
	    size_t errlen);
/* One row of ns info / ns top, shared with the object's own files. */
void obj_info_row(struct vmfs *v, const struct object *o, struct sbuf *out);
void obj_top_row(struct vmfs *v, const struct object *o, struct sbuf *out);

/* vmfs/images.c: images/, a real directory (its kind and tree: fk_pass, vmfs/fkind.h) */
struct imgtab *imgtab_new(void);
void imgtab_free(struct imgtab *t);

/* vmfs/remote.c: a member's VM or container, its files named at run time */
int remote_lookup(struct vmfs *v, const struct vnode *dir, const char *name, struct vnode *out);
int remote_names(struct vmfs *v, const struct vnode *dir, size_t from,
		 int (*fn)(void *ctx, const char *name, size_t idx), void *ctx);
/* Another host's object's (VK_COBJ) files that its owner's 9P door serves */
int remote_cobj_lookup(struct vmfs *v, const struct vnode *dir, const char *name,
		       struct vnode *out);
int remote_cobj_names(struct vmfs *v, const struct vnode *dir, size_t from,
		      int (*fn)(void *ctx, const char *name, size_t idx), void *ctx);
int remote_config_lookup(struct vmfs *v, const struct vnode *dir, const char *name,
			 struct vnode *out);
int remote_config_names(struct vmfs *v, const struct vnode *dir, size_t from,
			int (*fn)(void *ctx, const char *name, size_t idx), void *ctx);

/* vmfs/cobj.c: with etcd, another host's VM or container from the cluster's view */
struct cview_obj;
const struct cview_obj *cobj_of(struct vmfs *v, const struct vnode *n);
/* The cluster id of n's namespace (0: not in the view) */
uint64_t cobj_nsid(struct vmfs *v, const struct vnode *n);
/* In vms/ or containers/ (dir): another host's object */
int cobj_lookup(struct vmfs *v, const struct vnode *dir, int type, const char *name,
		struct vnode *out);
/* ... and their names, of type, numbered from base on */
int cobj_names(struct vmfs *v, const struct vnode *dir, int type, size_t base, size_t from,
	       int (*fn)(void *ctx, const char *name, size_t idx), void *ctx);
enum otype cobj_type(struct vmfs *v, const struct vnode *n);
void cobj_info_row(struct vmfs *v, const struct cview_obj *o, struct sbuf *out);
void cobj_top_row(struct vmfs *v, const struct cview_obj *o, struct sbuf *out);
int gen_cobj_state(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int gen_cobj_info(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int gen_cobj_top(struct vmfs *v, const struct vnode *n, struct sbuf *out);
int gen_cobj_param(struct vmfs *v, const struct vnode *n, struct sbuf *out);
/* Why a change to n is not made from here: -EOPNOTSUPP, -EHOSTDOWN, -ENOENT, with words. */
int cobj_refuse(struct vmfs *v, const struct vnode *n, const char *what, char *err,
		size_t errlen);
int ctl_cobj(struct vmfs *v, struct vreq *q, char *line, struct sbuf *reply, char *err,
	     size_t errlen);
/* vmfs/cobj_rmdir.c: rmdir of another host's object n, a flush command to its owner: -errno
 * with err, or -EINPROGRESS (q->wait.rmdir: wait on cobj_rmdir_wq, then cobj_rmdir_resume
 * until it is not -EINPROGRESS; cobj_rmdir_abandon if the asker goes). Only for q of
 * vreq_rmdir_wait: through another, refused with words. */
int cobj_rmdir(struct vmfs *v, const struct vnode *n, struct vreq *q, char *err, size_t errlen);
int cobj_rmdir_resume(struct vmfs *v, struct vreq *q);
struct waitq *cobj_rmdir_wq(struct vreq *q);
void cobj_rmdir_abandon(struct vreq *q);
int cobj_config_lookup(struct vmfs *v, const struct vnode *dir, const char *name,
		       struct vnode *out);
int cobj_config_names(struct vmfs *v, const struct vnode *dir, size_t from,
		      int (*fn)(void *ctx, const char *name, size_t idx), void *ctx);

/* vmfs/stats.c: host load, sampled in the background so that top never waits */
struct hoststats *hoststats_new(void);
void hoststats_free(struct hoststats *s);
void hoststats_sample(struct hoststats *s);
double hoststats_cpu(const struct hoststats *s);
/* vmfs/launch.c: a namespace that spans members */
bool ns_spans_members(const struct vmfs *v, const struct ns *ns);
int ns_launch_placed(struct vmfs *v, struct ns *ns, enum otype type, char **names, size_t count,
		     struct vwait *wait, struct sbuf *reply, char *err, size_t errlen);
struct rbatch *ns_forward_all(struct vmfs *v, struct ns *ns, const char *verb, const char *spec);
int ns_forward_one(struct vmfs *v, struct ns *ns, const char *verb, const struct robj *ro,
		   struct rbatch **b);
#endif
