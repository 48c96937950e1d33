/* A member's side of a live migration (cluster/cmig.h): the migrate-in and migrate-out
 * commands, the objects held while a migration runs, and what each side does when the intent
 * goes. Every part of a command is peer input: the intent in this host's cache must be a
 * migrate of the sender's naming this object, this id and this host's role in it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/ccmd_int.h"
#include "cluster/chosts.h"
#include "cluster/cmig.h"
#include "ctl/params.h"
#include "etcd/member.h"
#include "runtime/bgjob.h"
#include "runtime/migrate.h"
#include "vmfs/node.h"

#define HOLDS_MAX 64

/* A migration this host takes part in, from its command until its intent goes. */
static struct hold {
	struct object *o; /* held (obj_get) while here; NULL: a free slot */
	struct ckey_tag intent;
	uint64_t nsid, id;
	bool dest;	      /* the destination's waiting object (else the source's) */
	bool busy;	      /* its command is being applied */
	bool ended;	      /* the intent went while busy: settled at the command's end */
	bool committing;      /* the destination commits it itself (its head is gone) */
	bool deferred;	      /* its intent went mid-stream: QEMU's outcome awaited */
	struct mjob *j;	      /* busy: the command */
	struct lcbatch *batch; /* the destination's start */
	struct waiter w;
	struct ccmd *c;
} holds[HOLDS_MAX];

static void answer(struct ccmd *c, struct mjob *j, int err, const char *reason, size_t count);

static bool same_tag(const struct ckey_tag *a, const struct ckey_tag *b)
{
	return !strcmp(a->host, b->host) && a->run == b->run && a->seq == b->seq;
}

bool cmig_verb(const char *verb)
{
	return !strcmp(verb, CMIG_IN_VERB) || !strcmp(verb, CMIG_OUT_VERB);
}

bool cmig_held(const struct object *o)
{
	for (size_t i = 0; i < HOLDS_MAX; i++)
		if (holds[i].o == o && holds[i].dest)
			return true;
	return false;
}

static struct hold *hold_add(struct ccmd *c, struct object *o, const struct ckey_tag *t,
			     uint64_t nsid, uint64_t id, bool dest)
{
	for (size_t i = 0; i < HOLDS_MAX; i++)
		if (!holds[i].o) {
			obj_get(o);
			holds[i] = (struct hold){.o = o, .intent = *t, .nsid = nsid, .id = id,
						 .dest = dest, .busy = true, .c = c};
			return &holds[i];
		}
	return NULL;
}

static void hold_drop(struct hold *h)
{
	struct object *o = h->o;
	waiter_del(&h->w);
	*h = (struct hold){0};
	model_changes++; /* the publisher looks again (a released destination is published) */
	obj_put(o);
}

/* The intent as this host's cache has it: 0, or -errno with why. */
static int intent_of(struct ccmd *c, const struct ckey_tag *t, struct crec_intent *in, char *why,
		     size_t whylen)
{
	char key[CKEY_MAX + 1], e[300], tag[CKEY_TAG_LEN];
	ckey_tag_fmt(t, tag);
	const struct ccache_kv *kv = ckey_intent(key, sizeof(key), c->ch->cluster, t) < 0
					 ? NULL
					 : ccache_get(c->ch->cache, key);
	if (!kv) {
		snprintf(why, whylen, "intent %s is not in the cluster (gone: the move is over)", tag);
		return -ENOENT;
	}
	if (crec_intent_read(kv->value, kv->len, in, e, sizeof(e))) {
		snprintf(why, whylen, "intent %s cannot be read: %s", tag, e);
		return -EINVAL;
	}
	return 0;
}

/* The checks of both commands: the intent is the sender's migrate of this one object, and
 * its claim says where it is (the source) and where it goes (the destination). */
static int check_common(struct ccmd *c, struct mjob *j, const struct ckey_tag *t, bool in_,
			char *why, size_t whylen)
{
	struct cview *cv = c->v->cview;
	int r = ccmd_job_ns(c, j, why, whylen);
	if (r)
		return r;
	if (j->cmd.nids != 1 || j->cmd.take_ms > CCMD_TAKE_MS * 30ull) {
		snprintf(why, whylen, "a %s needs one id and a take-ms of at most %u", j->cmd.verb,
			 CCMD_TAKE_MS * 30);
		return EINVAL;
	}
	struct crec_intent in;
	r = intent_of(c, t, &in, why, whylen);
	if (r)
		return -r;
	const struct cview_obj *o = cview_obj_id(cv, j->cmd.ns, j->cmd.ids[0]);
	bool ok = in.kind == CREC_INTENT_MIGRATE && !strcmp(in.host, j->cmd.from) &&
		  in.nobjects == 1 && in.ns == j->cmd.ns && in.objects[0].id == j->cmd.ids[0] && o &&
		  !strcmp(o->name, in.objects[0].name) && o->claim.type == OT_VM &&
		  !strcmp(o->claim.moving, in.objects[0].host) &&
		  strcmp(o->claim.host, in.objects[0].host) &&
		  !strcmp(in_ ? in.objects[0].host : o->claim.host, c->ch->self);
	if (!ok) {
		char tag[CKEY_TAG_LEN];
		ckey_tag_fmt(t, tag);
		snprintf(why, whylen,
			 "intent %s is no migration by %s of id %llu %s %s (its claim does not say so)",
			 tag, j->cmd.from, (unsigned long long)j->cmd.ids[0], in_ ? "to" : "from",
			 c->ch->self);
	} else if (!(j->names = calloc(1, sizeof(*j->names)))) {
		snprintf(why, whylen, "out of memory");
		r = ENOMEM;
	} else {
		snprintf(j->names[0], sizeof(*j->names), "%s", o->name);
		j->n = 1;
	}
	crec_intent_free(&in);
	return ok ? r : EINVAL;
}

/* hostport (ADDR:PORT) is at host's published address: a migrate-out sends a VM's memory and
 * disks only to the destination its claim names, never where a command says. */
static bool at_host(struct ccmd *c, const char *host, const char *hostport)
{
	char k[CKEY_MAX + 1], e[300];
	struct crec_alive al;
	const struct ccache_kv *a =
	    ckey_alive(k, sizeof(k), c->ch->cluster, host) < 0 ? NULL : ccache_get(c->ch->cache, k);
	const char *colon = strrchr(hostport, ':');
	size_t n = colon ? (size_t)(colon - hostport) : 0;
	return a && !crec_alive_read(a->value, a->len, &al, e, sizeof(e)) && n &&
	       strlen(al.addr) == n && !strncmp(al.addr, hostport, n);
}

void cmig_seen(struct ccmd *c, struct mjob *j)
{
	j->mig = true;
	char *why = j->pre_reason;
	size_t wl = sizeof(j->pre_reason);
	int r;
	if (!strcmp(j->cmd.verb, CMIG_IN_VERB)) {
		struct cmig_in_args a;
		r = -cmig_in_read(j->cmd.args, &a, why, wl);
		if (!r)
			r = -ccreate_read(a.create, &j->cr, why, wl);
		if (!r && (j->cr.n != 1 || j->cr.type != OT_VM ||
			   !same_tag(&j->cr.intent, &a.intent))) {
			snprintf(why, wl, "a migrate-in makes one VM, of its own intent");
			r = EINVAL;
		}
		if (!r)
			r = check_common(c, j, &a.intent, true, why, wl);
		if (!r && strcmp(j->cr.names[0], j->names[0])) {
			snprintf(why, wl, "the command's name %s is not the claim's %s",
				 j->cr.names[0], j->names[0]);
			r = EINVAL;
		}
	} else {
		struct cmig_out_args a;
		r = -cmig_out_read(j->cmd.args, &a, why, wl);
		if (!r)
			r = check_common(c, j, &a.intent, false, why, wl);
		const struct cview_obj *o =
		    r ? NULL : cview_obj_id(c->v->cview, j->cmd.ns, j->cmd.ids[0]);
		if (o && (!at_host(c, o->claim.moving, a.to) || !at_host(c, o->claim.moving, a.nbd))) {
			snprintf(why, wl, "to=%s nbd=%s: not the address %s publishes (the claim's "
				 "destination)", a.to, a.nbd, o->claim.moving);
			r = EPERM;
		}
	}
	j->pre_err = r;
	ccmd_queue(c, j);
}

/* This host's own published figures (its info, its address), from its cache. */
static bool own_info(struct ccmd *c, struct crec_hinfo *hi, struct crec_alive *al)
{
	char k1[CKEY_MAX + 1], k2[CKEY_MAX + 1], e[300];
	const struct ccache_kv *i =
	    ckey_hinfo(k1, sizeof(k1), c->ch->cluster, c->ch->self) < 0 ? NULL
									: ccache_get(c->ch->cache, k1);
	const struct ccache_kv *a =
	    ckey_alive(k2, sizeof(k2), c->ch->cluster, c->ch->self) < 0 ? NULL
									: ccache_get(c->ch->cache, k2);
	return i && a && !crec_hinfo_read(i->value, i->len, hi, e, sizeof(e)) &&
	       !crec_alive_read(a->value, a->len, al, e, sizeof(e));
}

static bool has_word(const char *list, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = list; (p = strstr(p, w)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
	return false;
}

/* A destination's object that is not to be: its QEMU ended, the object removed. */
static void dest_remove(struct ccmd *c, struct object *o, const char *why)
{
	char e[512];
	migrate_in_abort(&c->v->m, o, why);
	if (o->rt.pid > 0 || o->state == ST_RUNNING || o->state == ST_PAUSED)
		migrate_end_qemu(&c->v->m, o, why);
	if (!o->gone && obj_remove(&c->v->m, o, e, sizeof(e)))
		evlog_add(&o->ns->log, "cluster: %s: the destination's copy stays: %s", o->name, e);
}

static void in_started(struct waiter *w);
static void dest_ran(struct waiter *w);

/* The part's outcome: a command's answer, or its head's callback here. */
static void answer(struct ccmd *c, struct mjob *j, int err, const char *reason, size_t count)
{
	if (!j->mig_done)
		return ccmd_answer(c, j, err, reason, count);
	j->mig_done(j->mig_arg, err, reason ? reason : "");
	mjob_free(j);
}

static void in_apply(struct ccmd *c, struct mjob *j)
{
	struct model *m = &c->v->m;
	struct ns *ns = ns_find(m, j->ns);
	struct cmig_in_args a;
	struct crec_hinfo hi;
	struct crec_alive al;
	char why[HOSTANS_REASON_MAX] = "";
	int err = 0;
	cmig_in_read(j->cmd.args, &a, why, sizeof(why));
	if (!ns) {
		snprintf(why, sizeof(why), "namespace %s is gone from %s", j->ns, c->ch->self);
		return answer(c, j, ENOENT, why, 0);
	}
	if (!own_info(c, &hi, &al)) {
		snprintf(why, sizeof(why), "%s has not published its info and address yet",
			 c->ch->self);
		return answer(c, j, EAGAIN, why, 0);
	}
	if (strcmp(hi.qemu, a.qemu) || (hi.machine[0] && !has_word(hi.machine, a.machine))) {
		snprintf(why, sizeof(why),
			 "%s runs QEMU %s (machines: %.200s), the source %s with machine %s: a live "
			 "migration needs the same version and machine type",
			 c->ch->self, hi.qemu[0] ? hi.qemu : "(unknown)", hi.machine,
			 a.qemu[0] ? a.qemu : "(unknown)", a.machine);
		return answer(c, j, EPROTONOSUPPORT, why, 0);
	}
	for (size_t i = 0; !err && i < nparams && i < NPARAMS_MAX; i++)
		if (j->cr.cfg[i])
			err = ccmd_check_value(c, ns, (int)i, j->cr.cfg[i], "the config's ", why,
					       sizeof(why));
	if (err)
		return answer(c, j, err, why, 0);
	struct object *like = calloc(1, sizeof(*like));
	if (!like)
		return answer(c, j, ENOMEM, "out of memory", 0);
	snprintf(like->name, sizeof(like->name), "%.28s (the source)", j->cmd.from);
	memcpy(like->cfg, j->cr.cfg, sizeof(like->cfg));
	char e[HOSTANS_REASON_MAX];
	int r = obj_create_many_ids(m, ns, OT_VM, j->cr.names, 1, j->cmd.ids, like, e, sizeof(e));
	free(like);
	if (r)
		return answer(c, j, -r, e, 0);
	struct object *o = obj_find(ns, OT_VM, j->names[0]);
	struct hold *h = o ? hold_add(c, o, &a.intent, j->cmd.ns, j->cmd.ids[0], true) : NULL;
	struct err er;
	err_clear(&er);
	size_t done;
	if (!h)
		r = err_set(&er, EBUSY, "%d migrations are under way here already", HOLDS_MAX);
	else if (!(r = migrate_in(m, o, al.addr, &er)))
		r = lifecycle_do_many(m, &o, 1, V_START, &h->batch, &done, er.why, sizeof(er.why));
	if (r == -EINPROGRESS) {
		h->j = j;
		h->w.wake = in_started;
		waitq_add(lifecycle_batch_wq(h->batch), &h->w);
		return;
	}
	if (h) {
		struct sbuf reply = {0};
		migrate_in_answer(o, r, &reply);
		sb_free(&reply);
		hold_drop(h);
	}
	if (o)
		dest_remove(c, o, "its migrate-in failed");
	answer(c, j, r ? -r : EIO, er.why, 0);
}

/* The intent went while h's command ran, or before it began: what this side does now. */
static void settle(struct hold *h);

static void in_started(struct waiter *w)
{
	struct hold *h = (struct hold *)((char *)w - offsetof(struct hold, w));
	enum verb verb;
	size_t done = 0;
	char err[HOSTANS_REASON_MAX] = "";
	int r = lifecycle_batch_end(h->batch, &verb, &done, err, sizeof(err));
	if (r == -EINPROGRESS) {
		waitq_add(lifecycle_batch_wq(h->batch), &h->w);
		return;
	}
	h->batch = NULL;
	struct sbuf reply = {0};
	migrate_in_answer(h->o, r, &reply);
	struct mjob *j = h->j;
	struct ccmd *c = h->c;
	h->j = NULL;
	h->busy = false;
	if (!r && reply.len && !reply.oom) {
		reply.p[strcspn(reply.p, "\n")] = 0;
		answer(c, j, 0, reply.p, 1);
		if (h->ended)
			settle(h);
		else { /* told when the guest runs here (runtime/migrate.c) */
			h->w.wake = dest_ran;
			waitq_add(&h->o->job_wq, &h->w);
		}
	} else {
		struct object *o = h->o;
		obj_get(o);
		hold_drop(h);
		dest_remove(c, o, "its migrate-in failed");
		obj_put(o);
		answer(c, j, r ? -r : EIO, *err ? err : "QEMU did not get ready to receive",
			    0);
	}
	sb_free(&reply);
}

static void out_ended(struct waiter *w)
{
	struct hold *h = (struct hold *)((char *)w - offsetof(struct hold, w));
	struct sbuf reply = {0};
	char err[HOSTANS_REASON_MAX] = "";
	int r = migrate_out_result(h->o, &reply, err, sizeof(err));
	if (r == -EINPROGRESS) {
		sb_free(&reply);
		waitq_add(&h->o->job_wq, &h->w);
		return;
	}
	struct mjob *j = h->j;
	struct ccmd *c = h->c;
	h->j = NULL;
	h->busy = false;
	if (!r && reply.len && !reply.oom) {
		reply.p[strcspn(reply.p, "\n")] = 0;
		const char *fig = strncmp(reply.p, "ok: migrated: ", 14) ? reply.p : reply.p + 14;
		answer(c, j, 0, fig, 1);
		if (h->ended)
			settle(h);
	} else {
		hold_drop(h); /* it runs on here: the source's object is the VM still */
		answer(c, j, r > 0 ? EIO : -r, *err ? err : "the migration failed", 0);
	}
	sb_free(&reply);
}

static void out_apply(struct ccmd *c, struct mjob *j)
{
	struct model *m = &c->v->m;
	struct ns *ns = ns_find(m, j->ns);
	struct object *o = ns ? obj_find(ns, OT_VM, j->names[0]) : NULL;
	struct cmig_out_args a;
	char why[HOSTANS_REASON_MAX] = "";
	cmig_out_read(j->cmd.args, &a, why, sizeof(why));
	if (!o) {
		snprintf(why, sizeof(why), "no VM %s in ns/%s on %s", j->names[0], j->ns,
			 c->ch->self);
		return answer(c, j, ENOENT, why, 0);
	}
	struct hold *h = hold_add(c, o, &a.intent, j->cmd.ns, j->cmd.ids[0], false);
	if (!h)
		return answer(c, j, EBUSY, "too many migrations under way here", 0);
	struct sbuf reply = {0};
	struct err e;
	err_clear(&e);
	char nbd[sizeof(a.nbd) + 4];
	snprintf(nbd, sizeof(nbd), "nbd=%s", a.nbd);
	int r = migrate_out(m, o, a.to, nbd, &reply, &e);
	sb_free(&reply);
	if (r == -EINPROGRESS) {
		h->j = j;
		h->w.wake = out_ended;
		waitq_add(&o->job_wq, &h->w);
		return;
	}
	hold_drop(h);
	answer(c, j, r ? -r : EIO, e.why, 0);
}

void cmig_apply(struct ccmd *c, struct mjob *j)
{
	if (j->pre_err)
		return answer(c, j, j->pre_err, j->pre_reason, 0);
	if (!strcmp(j->cmd.verb, CMIG_IN_VERB))
		return in_apply(c, j);
	return out_apply(c, j);
}

/* A destination's QEMU said more (its migration's event, its end): settled again. */
static void dest_outcome(struct waiter *w)
{
	struct hold *h = (struct hold *)((char *)w - offsetof(struct hold, w));
	if (h->o && !h->busy)
		settle(h);
}

/* The intent is gone: the claim says how the migration ended. */
static void settle(struct hold *h)
{
	struct ccmd *c = h->c;
	struct object *o = h->o;
	/* the intent went (a recovery's abort) while the stream still runs here: the source may
	 * complete before its cancel lands, and then this copy is the guest's only one (the
	 * source never resumes after a completion); killing it on the intent's word alone lost
	 * the guest (CI). QEMU's own end decides: failed, removed; completed, kept. A QEMU that
	 * does not answer (loading the stream's end) is waited for too: its events, its end or
	 * an abort here wake this again. */
	if (h->dest && migrate_incoming(o) && !migrate_in_completed(o) &&
	    migrate_in_streaming(&c->v->m, o)) {
		if (!h->deferred)
			evlog_add(&o->ns->log,
				  "cluster: %s: its migration's intent went while the stream still "
				  "runs here (or QEMU did not say): removed if the stream fails, kept "
				  "if it completes",
				  o->name);
		h->deferred = true;
		waiter_del(&h->w);
		h->w.wake = dest_outcome;
		waitq_add(&o->job_wq, &h->w);
		return;
	}
	const struct cview_obj *co = c->v->cview ? cview_obj_id(c->v->cview, h->nsid, h->id) : NULL;
	bool here = co && !strcmp(co->claim.host, c->ch->self);
	char tag[CKEY_TAG_LEN], e[512];
	ckey_tag_fmt(&h->intent, tag);
	obj_get(o);
	bool dest = h->dest;
	hold_drop(h);
	if (dest && here)
		model_event(o->ns, o, "cluster: migration %s committed: this host owns %s now", tag,
			    o->name);
	else if (dest && ((o->state == ST_RUNNING && !migrate_incoming(o)) ||
			  migrate_in_completed(o)))
		/* the migration completed (the source's QEMU never resumes then), yet the intent
		 * went without the claim: the only copy of the guest is not killed, even while it
		 * is being taken over here */
		evlog_add(&o->ns->log,
			  "cluster: %s: migration %s ended without its commit, but the guest runs "
			  "here since it completed: kept, not listed (its name is %s's): see both "
			  "hosts' logs",
			  o->name, tag, co ? co->claim.host : "nobody");
	else if (dest)
		dest_remove(c, o, "the migration did not complete: its intent went");
	else if (!here && o->state != ST_RUNNING && o->state != ST_PAUSED) {
		model_event(o->ns, o, "cluster: migration %s committed: %s is on %s now; this copy goes",
			    tag, o->name, co ? co->claim.host : "another host");
		if (!o->gone && obj_remove(&c->v->m, o, e, sizeof(e)))
			evlog_add(&o->ns->log, "cluster: %s: the source's copy stays: %s", o->name, e);
	} else if (!here)
		evlog_add(&o->ns->log, "cluster: %s: claimed by another host after migration %s, "
				       "but it runs here still: left as it is (see its log)",
			  o->name, tag);
	obj_put(o);
}

/* The destination's own commit, when the head went after the migration completed. */
struct dcommit {
	struct bgjob bg; /* first */
	struct vmfs *v;
	struct cmig_commit m;
	char cluster[NAME_MAX_LEN + 1], ns[NAME_MAX_LEN + 1], name[NAME_MAX_LEN + 1];
	char src[NAME_MAX_LEN + 1], dst[NAME_MAX_LEN + 1];
	int r;
	char err[1024];
};

static void dc_work(struct bgjob *bg)
{
	struct dcommit *d = (struct dcommit *)bg;
	struct etcd_opts o = member_etcd_opts(d->v->conf, 0);
	struct etcd *c;
	struct err e;
	if (etcd_open(&o, &c, &e)) {
		d->r = -EIO;
		snprintf(d->err, sizeof(d->err), "etcd: %.900s", e.why);
		return;
	}
	for (int i = 0; i < 5 && !(d->r = cmig_commit(c, &d->m, d->err, sizeof(d->err))); i++)
		;
	etcd_close(c);
}

static void dc_done(struct bgjob *bg)
{
	struct dcommit *d = (struct dcommit *)bg;
	struct ns *ns = ns_find(&d->v->m, d->ns);
	char tag[CKEY_TAG_LEN];
	ckey_tag_fmt(&d->m.tag, tag);
	if (ns)
		evlog_add(&ns->log, "cluster: migration %s of %s from %s: its head %s went after the "
				    "guest ran here: %s%s",
			  tag, d->name, d->src, d->m.tag.host,
			  d->r == 1 ? "committed by this host" : "not committed: ",
			  d->r == 1 ? "" : d->r ? d->err : "the claim kept changing");
	free(d);
}

/* h's migration completed (its guest runs here) and its head is gone: this host commits. */
static void dest_commit(struct hold *h)
{
	struct ccmd *c = h->c;
	const struct cview_obj *co = c->v->cview ? cview_obj_id(c->v->cview, h->nsid, h->id) : NULL;
	struct crec_intent in;
	char why[300];
	if (!co || intent_of(c, &h->intent, &in, why, sizeof(why)))
		return;
	struct dcommit *d = calloc(1, sizeof(*d));
	if (d) {
		d->v = c->v;
		snprintf(d->cluster, sizeof(d->cluster), "%s", c->ch->cluster);
		snprintf(d->ns, sizeof(d->ns), "%s", h->o->ns->name);
		snprintf(d->name, sizeof(d->name), "%s", h->o->name);
		snprintf(d->src, sizeof(d->src), "%s", co->claim.host);
		snprintf(d->dst, sizeof(d->dst), "%s", c->ch->self);
		d->m = (struct cmig_commit){.cluster = d->cluster, .tag = h->intent, .nsid = h->nsid,
					    .id = h->id, .nsname = d->ns, .name = d->name,
					    .src = d->src, .dst = d->dst, .vcpus = in.vcpus,
					    .memory = in.memory};
		if (bgjob_start(&d->bg, &c->v->m, dc_work, dc_done))
			free(d);
	}
	crec_intent_free(&in);
}

/* Whether h's head has no alive in this host's cache. */
static bool head_gone(struct ccmd *c, const struct hold *h)
{
	char akey[CKEY_MAX + 1];
	return ckey_alive(akey, sizeof(akey), c->ch->cluster, h->intent.host) >= 0 &&
	       !ccache_get(c->ch->cache, akey);
}

/* The guest runs here now (or o's jobs moved): if its head went meanwhile, this host
 * commits (the head's alive may have gone while the guest was being taken over). */
static void dest_ran(struct waiter *w)
{
	struct hold *h = (struct hold *)((char *)w - offsetof(struct hold, w));
	if (!h->o || h->busy || h->committing)
		return;
	if (h->o->state != ST_RUNNING || migrate_incoming(h->o)) {
		if (!h->o->gone)
			waitq_add(&h->o->job_wq, &h->w);
		return;
	}
	if (!h->c->stopping && head_gone(h->c, h)) {
		h->committing = true;
		dest_commit(h);
	}
}

static void changed(void *ctx, const char *key, const struct ccache_kv *old,
		    const struct ccache_kv *now)
{
	struct ccmd *c = ctx;
	struct ckey k;
	(void)old;
	if (c->stopping)
		return;
	enum ckey_kind kind = ckey_parse(c->ch->cluster, key, &k);
	/* a head gone (or, later, the source's record after the guest left it) while a guest runs
	 * here: this host commits */
	if ((kind == CK_ALIVE && !now) || (kind == CK_OBJ && now))
		for (size_t i = 0; i < HOLDS_MAX; i++) {
			struct hold *h = &holds[i];
			if (!h->o || h->c != c || !h->dest || h->busy || h->committing ||
			    h->o->state != ST_RUNNING || migrate_incoming(h->o))
				continue;
			if (kind == CK_ALIVE ? strcmp(h->intent.host, k.host)
					     : k.nsid != h->nsid || k.id != h->id || !head_gone(c, h))
				continue;
			h->committing = true;
			dest_commit(h);
		}
	if (kind != CK_INTENT || now)
		return;
	for (size_t i = 0; i < HOLDS_MAX; i++) {
		struct hold *h = &holds[i];
		if (!h->o || h->c != c || !same_tag(&h->intent, &k.tag))
			continue;
		if (h->busy) {
			h->ended = true;
			/* aborted (a recovery found the source running) while the source migrates
			 * out: it must not complete now (its claim stays the source's) */
			if (!h->dest)
				migrate_out_cancel(h->o, "its intent went before it completed");
		} else
			settle(h);
	}
}

void cmig_attach(struct ccmd *c)
{
	if (chosts_listen(c->ch, changed, c))
		evlog_add(&c->v->log, "cluster: no room to listen to the cache: a live migration "
				      "to or from this host is not settled when its intent goes");
}

void cmig_local(struct ccmd *c, struct ns *ns, const char *verb, uint64_t nsid, uint64_t id,
		const char *name, const char *args, cmig_done_fn done, void *arg)
{
	struct mjob *j = calloc(1, sizeof(*j));
	char why[HOSTANS_REASON_MAX] = "";
	int r = j ? 0 : ENOMEM;
	if (j) {
		j->mig = true;
		j->mig_done = done;
		j->mig_arg = arg;
		j->kind = MJ_TAKE;
		snprintf(j->cmd.from, sizeof(j->cmd.from), "%s", c->ch->self);
		snprintf(j->cmd.verb, sizeof(j->cmd.verb), "%s", verb);
		snprintf(j->ns, sizeof(j->ns), "%s", ns->name);
		j->cmd.ns = nsid;
		j->cmd.ids = malloc(sizeof(*j->cmd.ids));
		j->cmd.args = strdup(args);
		j->names = calloc(1, sizeof(*j->names));
		if (!j->cmd.ids || !j->cmd.args || !j->names)
			r = ENOMEM;
	}
	if (!r) {
		j->cmd.ids[0] = id;
		j->cmd.nids = j->n = 1;
		snprintf(j->names[0], sizeof(*j->names), "%s", name);
	}
	/* the head checked the claim and wrote the intent itself: its cache may not have them yet */
	struct cmig_in_args a;
	if (!r && !strcmp(verb, CMIG_IN_VERB) &&
	    !(r = -cmig_in_read(j->cmd.args, &a, why, sizeof(why))))
		r = -ccreate_read(a.create, &j->cr, why, sizeof(why));
	if (r) {
		mjob_free(j);
		return done(arg, r, *why ? why : "out of memory");
	}
	cmig_apply(c, j);
}
