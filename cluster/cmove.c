/* `move NAME HOST` (cluster/cmove.h): the checks any move needs, from the cache, then the
 * cold path or the live one. */
#include "cluster/cmove.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/ccmd.h"
#include "cluster/chosts.h"
#include "cluster/ckey.h"
#include "cluster/cmove_int.h"
#include "cluster/cview.h"
#include "ctl/ctl.h"
#include "ctl/params.h"
#include "runtime/model.h"
#include "vmfs/node.h"
#include "vmfs/vreq.h"

bool cmove_verb(const char *word) { return !strcmp(word, "move"); }

static int no(char *err, size_t errlen, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int no(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

static const struct ccache_kv *
rec(struct vmfs *v, int (*key)(char *, size_t, const char *, const char *), const char *host)
{
	char k[CKEY_MAX + 1];
	if (key(k, sizeof(k), v->chosts->cluster, host) < 0)
		return NULL;
	return ccache_get(v->chosts->cache, k);
}

void cmove_figures(struct ns *ns, const struct object *local, const struct crec_obj *r,
		   uint64_t *vcpus, uint64_t *memory)
{
	int iv = param_index("vcpus"), im = param_index("memory");
	const char *vv = local		   ? obj_param(local, iv)
			 : r && r->cfg[iv] ? r->cfg[iv]
					   : ns_param(ns, iv);
	const char *mv = local		   ? obj_param(local, im)
			 : r && r->cfg[im] ? r->cfg[im]
					   : ns_param(ns, im);
	uint64_t b = 0;
	char e[128];
	*vcpus = strtoull(vv, NULL, 10);
	*memory = value_size(mv, &b, e, sizeof(e)) ? 0 : b;
}

/* HOST takes it: not draining, with room by its own figures (P/h/H/info) beside what its
 * placements hold (P/cap/H). */
static int room(struct vmfs *v, const struct cmove_req *rq, char *err, size_t errlen)
{
	const struct ccache_kv *ck = rec(v, ckey_cap, rq->dst), *ik = rec(v, ckey_hinfo, rq->dst);
	struct crec_cap cap = {0};
	struct crec_hinfo info;
	char why[300], ts[32];
	if (ck && crec_cap_read(ck->value, ck->len, &cap, why, sizeof(why)))
		return no(err, errlen, -EIO, "move %s %s: %s's reservations cannot be read: %s",
			  rq->name, rq->dst, rq->dst, why);
	if (cap.drain) {
		fmt_time((time_t)cap.drain, ts);
		return no(
		    err, errlen, -EBUSY,
		    "move %s %s: %s is draining since %s: it takes nothing (undrain it first)",
		    rq->name, rq->dst, rq->dst, ts);
	}
	if (!ik || crec_hinfo_read(ik->value, ik->len, &info, why, sizeof(why)))
		return no(err, errlen, -EAGAIN,
			  "move %s %s: %s has published no capacity yet (P/h/%s/info): try again",
			  rq->name, rq->dst, rq->dst, rq->dst);
	long double cpus = (long double)info.cpus * info.cpu_ratio / 1000,
		    mem = (long double)info.memory * info.mem_ratio / 1000;
	if ((long double)cap.vcpus + rq->vcpus > cpus || (long double)cap.memory + rq->memory > mem)
		return no(
		    err, errlen, -ENOSPC,
		    "move %s %s: no room on %s: %llu vcpus and %llu MiB held of %.0Lf and %.0Lf; "
		    "%s needs %llu and %llu MiB",
		    rq->name, rq->dst, rq->dst, (unsigned long long)cap.vcpus,
		    (unsigned long long)(cap.memory >> 20), cpus, mem / (1 << 20), rq->name,
		    (unsigned long long)rq->vcpus, (unsigned long long)(rq->memory >> 20));
	return 0;
}

/* The head's half of a cold move to another host: a move-in command to it. */
static int send_in(struct vmfs *v, const struct cmove_req *rq, struct vwait *wait, char *err,
		   size_t errlen)
{
	struct hsend part = {.host = rq->dst, .ids = &rq->id, .n = 1};
	cmove_in_args(rq, &part.args);
	int r;
	struct hcmd *h = hcmd_send(v->ccmd, rq->ns, rq->nsid, CMOVE_IN_VERB, true, &part, 1,
				   CCMD_CREATE_TAKE_MS, CMOVE_WAIT_MS, &r);
	sb_free(&part.args);
	if (!h)
		return no(err, errlen, r, "move %s %s: the command cannot be sent: %s", rq->name,
			  rq->dst, strerror(-r));
	wait->hcmd = h;
	return -EINPROGRESS;
}

int cmove_start(struct vmfs *v, struct ns *ns, int argc, char **argv, struct vwait *wait,
		struct sbuf *reply, char *err, size_t errlen)
{
	struct chosts *ch = v->chosts;
	struct cview *cv = v->cview;
	char why[512], ts[32];
	if (argc != 3)
		return no(err, errlen, -EINVAL, "usage: move NAME HOST");
	const char *name = argv[1], *dst = argv[2];
	if (!ch || !cv || !v->ccmd)
		return no(err, errlen, -EOPNOTSUPP,
			  "move: needs a cluster on etcd (vmfs.conf's etcd): one host has nowhere "
			  "to move to");
	if (name_check(name, why, sizeof(why)) || name_check(dst, why, sizeof(why)))
		return no(err, errlen, -EINVAL, "move: %s", why);
	if (chosts_get_link(ch, why, sizeof(why)) != CL_JOINED)
		return no(err, errlen, -ENOTCONN,
			  "move %s %s: this host is not joined to the cluster's etcd now (%s): a "
			  "move cannot be made",
			  name, dst, *why ? why : "joining");
	const struct cview_ns *cns = ch->synced ? cview_ns_find(cv, ns->name) : NULL;
	if (!cns)
		return no(err, errlen, -EAGAIN,
			  "move %s %s: ns/%s is not in the cluster yet: try again", name, dst,
			  ns->name);
	const struct cview_obj *o = cview_obj_find(cv, cns->rec.id, name);
	if (!o)
		return no(err, errlen, -ENOENT, "move %s %s: no VM or container named %s in ns/%s",
			  name, dst, name, ns->name);
	if (*o->claim.moving)
		return no(err, errlen, -EBUSY, "move %s %s: %s is moving to %s already", name, dst,
			  name, o->claim.moving);
	if (!strcmp(o->claim.host, dst))
		return no(err, errlen, -EINVAL, "move %s %s: %s is on %s already", name, dst, name,
			  dst);
	if (chosts_forgotten(ch, dst, why, sizeof(why)) || !chosts_find(ch, dst))
		return no(err, errlen, -ENOENT, "move %s %s: no such host in cluster %s%s%s", name,
			  dst, ch->cluster, *why ? ": " : "", why);
	bool listed = false;
	for (size_t i = 0; i < cns->rec.nhosts; i++)
		listed |= !strcmp(cns->rec.hosts[i], dst);
	if (!listed)
		return no(err, errlen, -EINVAL,
			  "move %s %s: %s is not a host of ns/%s (ns/%s/hosts): add it there first",
			  name, dst, dst, ns->name, ns->name);
	time_t since = 0;
	bool at_least = false;
	if (!cview_host_up(cv, dst, &since, &at_least)) {
		fmt_time(since, ts);
		return no(err, errlen, -EHOSTDOWN, "move %s %s: %s is down%s%s%s", name, dst, dst,
			  since ? " since " : "", since && at_least ? "at least " : "",
			  since ? ts : "");
	}
	bool self_src = !strcmp(o->claim.host, ch->self);
	if (!self_src && !cview_host_up(cv, o->claim.host, &since, &at_least))
		return no(err, errlen, -EHOSTDOWN,
			  "move %s %s: its host %s is down: nothing can be copied from it", name,
			  dst, o->claim.host);
	struct cmove_req rq = {.ns = ns,
			       .nsid = cns->rec.id,
			       .id = o->id,
			       .type = o->claim.type,
			       .src_is_self = self_src};
	snprintf(rq.name, sizeof(rq.name), "%s", name);
	snprintf(rq.src, sizeof(rq.src), "%s", o->claim.host);
	snprintf(rq.dst, sizeof(rq.dst), "%s", dst);
	enum ostate st;
	if (self_src) {
		if (!(rq.local = obj_find_any(ns, name)))
			return no(err, errlen, -EAGAIN,
				  "move %s %s: %s is claimed for this host but not made here yet",
				  name, dst, name);
		st = rq.local->state;
	} else {
		struct cview_state s;
		cview_state_of(cv, o, &s);
		if (s.unknown || !o->rec)
			return no(err, errlen, -EHOSTDOWN, "move %s %s: %s is UNKNOWN%s%s", name,
				  dst, name, *s.why ? ": " : "", s.why);
		st = s.state;
	}
	cmove_figures(ns, rq.local, o->rec, &rq.vcpus, &rq.memory);
	int r = room(v, &rq, err, errlen);
	if (r)
		return r;
	if (st == ST_RUNNING || st == ST_PAUSED) {
		if (rq.type != OT_VM)
			return no(err, errlen, -EBUSY,
				  "move %s %s: %s is %s: stop it first (a container moves only "
				  "stopped)",
				  name, dst, name, ostate_name(st));
		return cmove_live(v, &rq, wait, reply, err, errlen);
	}
	if (!strcmp(dst, ch->self))
		return cmove_in_local(v, &rq, wait, err, errlen);
	return send_in(v, &rq, wait, err, errlen);
}
