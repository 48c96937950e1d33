/* The node kinds' operations, one file per directory kind (STYLE.md §1). */
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

/* vmfs/images.c: images/, a real directory */
struct image;
struct imgtab *imgtab_new(void);
void imgtab_free(struct imgtab *t);
int img_lookup(struct vmfs *v, const struct vnode *dir, const char *name, struct vnode *out);
int img_from_slot(struct vmfs *v, uint32_t slot, struct vnode *out);
int img_getattr(struct vmfs *v, const struct vnode *n, struct stat *st);
int img_readdir(struct vmfs *v, const struct vnode *dir, off_t off, node_fill_fn fill, void *ctx);
int img_open(struct vmfs *v, struct vhandle *h, int flags);
int img_mkdir(struct vmfs *v, const struct vnode *dir, const char *name, mode_t mode,
	      const struct vcred *c, struct vnode *out);
int img_remove(struct vmfs *v, const struct vnode *dir, const char *name, bool isdir);
int img_create(struct vmfs *v, const struct vnode *dir, const char *name, mode_t mode, int flags,
	       const struct vcred *c, struct vnode *out, int *fd);
int img_rename(struct vmfs *v, const struct vnode *dir, const char *name,
	       const struct vnode *newdir, const char *newname, unsigned flags);
int img_setattr(struct vmfs *v, const struct vnode *n, const struct stat *attr, int which,
		struct vhandle *h);
int img_readlink(struct vmfs *v, const struct vnode *n, char *buf, size_t size);
int img_symlink(struct vmfs *v, const char *target, const struct vnode *dir, const char *name,
		const struct vcred *c, struct vnode *out);
void img_forget(struct vmfs *v, uint32_t slot, uint64_t n);
uint32_t img_slot(const struct image *img);

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
