/* The live path of `move NAME HOST` (cluster/cmove.h): a running VM's migration. Not built
 * yet: refused with words. */
#include <errno.h>
#include <stdio.h>

#include "cluster/cmove.h"

int cmove_live(struct vmfs *v, const struct cmove_req *rq, struct vwait *wait, struct sbuf *reply,
	       char *err, size_t errlen)
{
	(void)v;
	(void)wait;
	(void)reply;
	snprintf(err, errlen, "move %s %s: live move is not built (stop it first for a cold move)",
		 rq->name, rq->dst);
	return -EOPNOTSUPP;
}
