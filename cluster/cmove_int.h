/* The parts of cluster/cmove.h's cold move: cmove.c the entry, cmove_in.c the destination
 * (a `move-in` command, or the head itself), cmove_src.c the source (export.tar while its
 * claim says moving, its copy removed once the claim names the destination). */
#ifndef VMFS_CLUSTER_CMOVE_INT_H
#define VMFS_CLUSTER_CMOVE_INT_H
#include "cluster/cmove.h"

struct ccmd;
struct mjob;
struct vhandle;
struct crec_obj;

#define CMOVE_IN_VERB "move-in"
#define CMOVE_WAIT_MS 600000 /* a destination's answer: the copy of the disks */

/* What an object reserves (moved from P/cap/SRC to P/cap/DST): local's values, else its
 * record's (r), else the namespace's template. */
void cmove_figures(struct ns *ns, const struct object *local, const struct crec_obj *r,
		   uint64_t *vcpus, uint64_t *memory);
/* The destination's part of rq, here (rq->dst is this host): the write waits for it. */
int cmove_in_local(struct vmfs *v, const struct cmove_req *rq, struct vwait *wait, char *err,
		   size_t errlen);
/* A move-in command's args ("name=N src=H type=T") and back: 0 or -EINVAL with why. */
void cmove_in_args(const struct cmove_req *rq, struct sbuf *out);
int cmove_in_read(const char *args, char *name, char *src, enum otype *type, char *why,
		  size_t whylen);
/* A member's side: a move-in command read from a known host (checked against the claims, then
 * taken), and, taken in time, carried out and answered. */
void cmove_in_seen(struct ccmd *c, struct mjob *j);
void cmove_in_apply(struct ccmd *c, struct mjob *j);

/* The source's side: listens to the claims (from the commands' door, once). */
int cmove_src_listen(struct vmfs *v);
/* Whether o's export.tar is there: its claim says moving and the archive is made. */
bool cmove_exporting(struct vmfs *v, const struct object *o);
/* The archive of o (while exporting): its path, "" if none. */
void cmove_export_path(struct vmfs *v, const struct object *o, char *out, size_t outlen);
/* Whether o (of this host) is moving, and where to (busy words "moving to h5"), for verbs. */
bool cmove_busy(struct vmfs *v, const struct object *o, char *why, size_t whylen);
#endif
