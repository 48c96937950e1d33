/* The live path of `move NAME HOST` (cluster/cmove.h): a running VM's migration, carried out
 * by cluster/cmig_head.c (intent kind=migrate, migrate-in and migrate-out commands, commit). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster/cmig.h"
#include "cluster/cmove.h"

int cmove_live(struct vmfs *v, const struct cmove_req *rq, struct vwait *wait, struct sbuf *reply,
	       char *err, size_t errlen)
{
	if (rq->type != OT_VM) {
		snprintf(err, errlen, "move %s %s: a running container cannot move: stop it first",
			 rq->name, rq->dst);
		return -EBUSY;
	}
	struct cmig_req m = {.ns = rq->ns, .nsid = rq->nsid, .id = rq->id,
			     .vcpus = rq->vcpus, .memory = rq->memory};
	snprintf(m.name, sizeof(m.name), "%s", rq->name);
	snprintf(m.src, sizeof(m.src), "%s", rq->src);
	snprintf(m.dst, sizeof(m.dst), "%s", rq->dst);
	return cmig_start(v, &m, wait, reply, err, errlen);
}
