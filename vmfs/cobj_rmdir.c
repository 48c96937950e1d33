/* With etcd, rmdir of another host's object (docs/cluster-design.md, "The tree on every
 * host"): `flush` of that one object, a command to its owner (cluster/ccmd.h: its errno and
 * words, EBUSY while it runs); once done, the rmdir waits for the owner's claim to go from
 * this host's cache, so that a listing right after it no longer shows the object. Its host
 * down: EHOSTDOWN at once, with words. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/ccmd.h"
#include "cluster/cview.h"
#include "vmfs/kinds.h"
#include "vmfs/vreq.h"

#define CRMDIR_GONE_MS 5000 /* the claim waited for after the flush */

struct crmdir {
	struct hcmd *h; /* the flush; NULL once answered */
	struct ns *ns;
	uint64_t nsid, id;
	int64_t due; /* the claim's going waited for until then */
	char name[NAME_MAX_LEN + 1];
};

static void crmdir_free(struct vreq *q)
{
	struct crmdir *d = q->wait.rmdir;
	if (!d)
		return;
	hcmd_put(d->h);
	ns_put(d->ns);
	free(d);
	q->wait.rmdir = NULL;
}

int cobj_rmdir(struct vmfs *v, const struct vnode *n, struct vreq *q, char *err, size_t errlen)
{
	const struct cview_obj *o = cobj_of(v, n);
	struct cview_state s;
	if (o)
		cview_state_of(v->cview, o, &s);
	if (!o || s.unknown || !n->ns || !ccmd_ready(v->ccmd))
		return cobj_refuse(v, n, "rmdir", err, errlen);
	if (!q || !q->can_wait) {
		snprintf(err, errlen,
			 "%s is on %s: this door does not wait for another host's rmdir (write "
			 "`flush %s` to ns/%s/ctl)",
			 o->name, o->claim.host, o->name, n->ns->name);
		return -EOPNOTSUPP;
	}
	struct crmdir *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	d->nsid = o->nsid;
	d->id = o->id;
	snprintf(d->name, sizeof(d->name), "%s", o->name);
	ns_get(n->ns);
	d->ns = n->ns;
	q->wait.rmdir = d;
	struct vwait w = {0};
	struct sbuf reply = {0};
	int r = ccmd_obj_act(v->ccmd, n->ns, o->id, V_FLUSH, &w, &reply, err, errlen);
	sb_free(&reply);
	if (r == -EINPROGRESS)
		d->h = w.hcmd;
	else if (r) {
		crmdir_free(q);
		return r;
	}
	d->due = 0;
	return -EINPROGRESS;
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int cobj_rmdir_resume(struct vmfs *v, struct vreq *q)
{
	struct crmdir *d = q->wait.rmdir;
	char why[1024], what[NAME_MAX_LEN + 16];
	int r = 0;
	if (!d)
		return -EIO;
	snprintf(what, sizeof(what), "rmdir %s", d->name);
	if (d->h) {
		if (!hcmd_sent_done(d->h))
			return -EINPROGRESS;
		r = hcmd_one_end(d->h, why, sizeof(why));
		hcmd_put(d->h);
		d->h = NULL;
		if (r) {
			model_error(d->ns, NULL, what, why);
			vreq_reason(what, why);
			crmdir_free(q);
			return r;
		}
	}
	if (!d->due)
		d->due = now_ms() + CRMDIR_GONE_MS;
	if (v->cview && cview_obj_id(v->cview, d->nsid, d->id) && now_ms() < d->due)
		return -EINPROGRESS;
	if (v->cview && cview_obj_id(v->cview, d->nsid, d->id))
		evlog_add(&d->ns->log,
			  "rmdir %s: flushed on its host, whose claim was still listed after %u ms "
			  "(its host deletes it)",
			  d->name, CRMDIR_GONE_MS);
	crmdir_free(q);
	return 0;
}

struct waitq *cobj_rmdir_wq(struct vreq *q)
{
	struct crmdir *d = q->wait.rmdir;
	if (!d)
		return NULL;
	return d->h ? hcmd_wq(d->h) : ccmd_tick(q->v->ccmd);
}

void cobj_rmdir_abandon(struct vreq *q)
{
	crmdir_free(q); /* the flush goes on to its end, unwaited */
}
