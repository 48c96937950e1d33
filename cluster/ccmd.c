/* The commands' door and the loop's side (cluster/ccmd_int.h): the cache's changes that
 * concern commands, a member's check of what it is sent, and the verbs applied here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cluster/ccmd_int.h"
#include "cluster/chosts.h"
#include "cluster/cmig.h"
#include "cluster/cmove_int.h"
#include "conf/conf.h"
#include "etcd/member.h"
#include "runtime/lifecycle.h"
#include "vmfs/door.h"
#include "vmfs/loop.h"
#include "vmfs/node.h"
#include "vmfs/slice.h"

void ccmd_poke(struct ccmd *c)
{
	uint64_t one = 1;
	if (write(c->efd, &one, sizeof(one)) < 0) {
		/* (an eventfd at its limit is readable all the same) */
	}
}

bool ccmd_ready(struct ccmd *c) { return c && c->ch->synced; }

static void capply_unlink(struct capply *a)
{
	if (!a->prev)
		return;
	if (a->next)
		a->next->prev = a->prev;
	*a->prev = a->next;
	a->prev = NULL;
	a->next = NULL;
}

/* The next slice of a job: -EINPROGRESS (parked on the slice queue), or its outcome in a. */
static int job_slice(struct capply *a)
{
	struct sbuf reply = {0};
	char err[HOSTANS_REASON_MAX] = "";
	slice_begin();
	int r = nsjob_run(a->c->v, a->job, &reply, err, sizeof(err));
	if (r == -EINPROGRESS) {
		sb_free(&reply);
		waitq_add(slice_wq(), &a->w);
		return r;
	}
	/* "ok: VERB N" */
	const char *n = reply.p && !r ? strrchr(reply.p, ' ') : NULL;
	a->count = n ? strtoul(n + 1, NULL, 10) : 0;
	sb_free(&reply);
	nsjob_free(a->job);
	a->job = NULL;
	a->err = -r;
	snprintf(a->reason, sizeof(a->reason), "%s", err);
	return 0;
}

static void capply_wake(struct waiter *w)
{
	struct capply *a = (struct capply *)((char *)w - offsetof(struct capply, w));
	if (a->job) {
		if (job_slice(a) == -EINPROGRESS)
			return;
		capply_unlink(a);
		a->done(a);
		return;
	}
	enum verb verb;
	size_t done = 0;
	char err[HOSTANS_REASON_MAX] = "";
	int r = lifecycle_batch_end(a->batch, &verb, &done, err, sizeof(err));
	if (r == -EINPROGRESS) {
		waitq_add(lifecycle_batch_wq(a->batch), &a->w);
		return;
	}
	a->batch = NULL;
	a->count += done;
	a->err = -r;
	snprintf(a->reason, sizeof(a->reason), "%s", err);
	capply_unlink(a);
	a->done(a);
}

int capply_run(struct ccmd *c, struct capply *a, struct ns *ns, struct object **objs, size_t n,
	       enum verb verb, bool refuse)
{
	a->c = c;
	a->verb = verb;
	a->err = 0;
	a->count = 0;
	a->reason[0] = 0;
	/* checked before anything is done: a refused command changes nothing (as ns/NS/ctl) */
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char why[256];
		if (lifecycle_legal(objs[i], verb, why, sizeof(why))) {
			if (!refuse)
				continue;
			a->err = EBUSY;
			snprintf(a->reason, sizeof(a->reason), "%s", why);
			return 0;
		}
		objs[k++] = objs[i];
	}
	size_t done = 0;
	char err[HOSTANS_REASON_MAX] = "";
	int r;
	a->w.wake = capply_wake;
	a->batch = NULL;
	a->job = NULL;
	if (verb != V_START) { /* flush all of 20,000: in slices, as ns/NS/ctl */
		if (!(a->job = nsjob_new(ns, verb, objs, k, refuse))) {
			a->err = ENOMEM;
			snprintf(a->reason, sizeof(a->reason), "out of memory");
			return 0;
		}
		r = job_slice(a);
	} else {
		r = lifecycle_do_many(&c->v->m, objs, k, verb, &a->batch, &done, err, sizeof(err));
		a->count = done;
		if (r == -EINPROGRESS)
			waitq_add(lifecycle_batch_wq(a->batch), &a->w);
		else {
			a->err = -r;
			snprintf(a->reason, sizeof(a->reason), "%s", err);
		}
	}
	if (r == -EINPROGRESS) {
		a->next = c->applies;
		if (a->next)
			a->next->prev = &a->next;
		a->prev = &c->applies;
		c->applies = a;
		return r;
	}
	return 0;
}

/* A member's answer to a command it took, put by the worker; said in the namespace's log. */
void ccmd_answer(struct ccmd *c, struct mjob *j, int err, const char *reason, size_t count)
{
	struct crec_ans a = {.state = CREC_ANS_DONE, .err = err, .count = count};
	snprintf(a.reason, sizeof(a.reason), "%s", reason ? reason : "");
	sb_free(&j->value);
	crec_ans_write(&a, &j->value);
	struct ns *ns = ns_find(&c->v->m, j->ns);
	if (ns)
		evlog_add(&ns->log, "cluster: command %s from %s: %s %zu object(s): %s%s%s", j->tag,
			  j->cmd.from, j->cmd.verb, j->n,
			  err ? crec_errno_name(err) ?: "EIO" : "done", err ? ": " : "",
			  err ? reason : "");
	j->kind = MJ_ANSWER;
	ccmd_queue(c, j);
}

static void member_applied(struct capply *a)
{
	struct mjob *j = a->arg;
	ccmd_answer(a->c, j, a->err, a->reason, a->count);
}

/* A command taken in time: applied as a local ctl line of root. */
static void member_apply(struct ccmd *c, struct mjob *j)
{
	if (j->pre_err)
		return ccmd_answer(c, j, j->pre_err, j->pre_reason, 0);
	if (j->create)
		return ccreate_apply(c, j);
	if (j->config)
		return cconfig_apply(c, j);
	if (j->mig)
		return cmig_apply(c, j);
	if (!strcmp(j->cmd.verb, CMOVE_IN_VERB))
		return cmove_in_apply(c, j);
	struct ns *ns = ns_find(&c->v->m, j->ns);
	struct object **objs = calloc(j->n ? j->n : 1, sizeof(*objs));
	char why[HOSTANS_REASON_MAX] = "";
	int err = !ns ? ENOENT : !objs ? ENOMEM : 0;
	if (!ns)
		snprintf(why, sizeof(why), "namespace %s is gone from %s", j->ns, c->ch->self);
	for (size_t i = 0; !err && i < j->n; i++)
		if (!(objs[i] = obj_find_any(ns, j->names[i]))) {
			err = ENOENT;
			snprintf(why, sizeof(why),
				 "no VM or container named %s in namespace %s on %s", j->names[i],
				 j->ns, c->ch->self);
		}
	if (err) {
		free(objs);
		return ccmd_answer(c, j, err, why, 0);
	}
	j->apply.done = member_applied;
	j->apply.arg = j;
	int r =
	    capply_run(c, &j->apply, ns, objs, j->n, j->verb, j->cmd.unfit == CREC_UNFIT_REFUSE);
	free(objs);
	if (r != -EINPROGRESS)
		ccmd_answer(c, j, j->apply.err, j->apply.reason, j->apply.count);
}

/* Every value is peer input: a command that does not read is not taken (its head cancels
 * it); one that reads but names what this host does not have is taken and refused, so its
 * head says why. */
void ccmd_member_seen(struct ccmd *c, const struct ckey *k, const struct ccache_kv *now)
{
	struct mjob *j = calloc(1, sizeof(*j));
	char why[HOSTANS_REASON_MAX];
	if (!j)
		return;
	j->kind = MJ_TAKE;
	j->rev = now->mod_rev;
	snprintf(j->key, sizeof(j->key), "%s", now->key);
	ckey_tag_fmt(&k->tag, j->tag);
	if (ckey_ans(j->ans, sizeof(j->ans), c->ch->cluster, c->ch->self, &k->tag) < 0 ||
	    crec_cmd_read(now->value, now->len, &j->cmd, why, sizeof(why))) {
		evlog_add(&c->v->log, "cluster: %s: %s: not taken", now->key, why);
		return mjob_free(j);
	}
	const struct chost *from = chosts_find(c->ch, j->cmd.from);
	if (!from || !from->present || !strcmp(j->cmd.from, c->ch->self) ||
	    strcmp(j->cmd.from, k->tag.host)) {
		evlog_add(&c->v->log,
			  "cluster: %s: from %s, which is no other host of the cluster (or not the "
			  "command's own): not taken",
			  now->key, j->cmd.from);
		return mjob_free(j);
	}
	if (!strcmp(j->cmd.verb, CCREATE_VERB))
		return ccreate_seen(c, j);
	if (!strcmp(j->cmd.verb, CCONFIG_VERB))
		return cconfig_seen(c, j);
	if (cmig_verb(j->cmd.verb))
		return cmig_seen(c, j);
	if (!strcmp(j->cmd.verb, CMOVE_IN_VERB))
		return cmove_in_seen(c, j);
	/* the ids -> this host's objects: the claims that name this host as their owner */
	struct cview *cv = c->v->cview;
	j->pre_err = ccmd_check(&j->cmd, &j->verb, j->pre_reason, sizeof(j->pre_reason));
	if (!j->pre_err)
		j->pre_err = -ccmd_job_ns(c, j, j->pre_reason, sizeof(j->pre_reason));
	if (!j->pre_err) {
		if (!(j->names = calloc(j->cmd.nids, sizeof(*j->names))))
			return mjob_free(j);
		for (size_t i = 0; i < j->cmd.nids && !j->pre_err; i++) {
			const struct cview_obj *o = cview_obj_id(cv, j->cmd.ns, j->cmd.ids[i]);
			if (!o || strcmp(o->claim.host, c->ch->self)) {
				j->pre_err = -ENOENT;
				snprintf(j->pre_reason, sizeof(j->pre_reason),
					 "id %llu is no object of %s in namespace %s",
					 (unsigned long long)j->cmd.ids[i], c->ch->self, j->ns);
			} else
				snprintf(j->names[j->n++], sizeof(*j->names), "%s", o->name);
		}
	}
	j->pre_err = -j->pre_err;
	ccmd_queue(c, j);
}

static void changed(void *ctx, const char *key, const struct ccache_kv *old,
		    const struct ccache_kv *now)
{
	struct ccmd *c = ctx;
	struct ckey k;
	if (c->stopping)
		return;
	switch (ckey_parse(c->ch->cluster, key, &k)) {
	case CK_CMD:
		if (!strcmp(k.tag.host, c->ch->self) && now)
			hcmd_seen_cmd(c, &k, now);
		if (strcmp(k.host, c->ch->self) || c->ch->loading)
			break; /* a resync's commands are from before: none is applied */
		if (now && !old && now->version == 1 &&
		    ccmd_seen_once(c, now->key, now->create_rev))
			ccmd_member_seen(c, &k, now);
		else if (!now) { /* its head is done with it: the answer goes */
			struct mjob *j = calloc(1, sizeof(*j));
			if (j && ckey_ans(j->ans, sizeof(j->ans), c->ch->cluster, c->ch->self,
					  &k.tag) >= 0) {
				j->kind = MJ_UNANSWER;
				ccmd_queue(c, j);
			} else
				free(j);
		}
		break;
	case CK_ANS:
		if (!strcmp(k.tag.host, c->ch->self) && now)
			hcmd_seen_ans(c, &k, now);
		break;
	default:
		break;
	}
}

static int on_poke(void *arg)
{
	struct ccmd *c = arg;
	uint64_t n;
	if (read(c->efd, &n, sizeof(n)) < 0) {
		/* (spurious) */
	}
	pthread_mutex_lock(&c->lock);
	struct mjob *back = c->back;
	c->back = NULL;
	struct hcmd *ended = NULL, **pp = &c->heads;
	while (*pp) {
		struct hcmd *h = *pp;
		if (h->finished) {
			*pp = h->next;
			h->next = ended;
			ended = h;
		} else
			pp = &h->next;
	}
	pthread_mutex_unlock(&c->lock);
	while (back) {
		struct mjob *j = back;
		back = j->next;
		member_apply(c, j);
	}
	while (ended) {
		struct hcmd *h = ended;
		ended = h->next;
		hcmd_finished(h);
	}
	return 0;
}

static int ccmd_attach(void *self, struct loop *l)
{
	struct ccmd *c = self;
	c->loop = l;
	if (threadlog_attach(&c->tl, l) || loop_add_fd(l, c->efd, on_poke, c))
		return -1;
	if (pthread_create(&c->th, NULL, ccmd_work, c))
		evlog_add(&c->v->log, "cluster: cannot start the commands' thread: this host takes "
				      "no command from another");
	else
		c->started = true;
	if (chosts_listen(c->ch, changed, c) || cmove_src_listen(c->v))
		evlog_add(&c->v->log, "cluster: no room to listen to the cache: this host takes no "
				      "command from another");
	cmig_attach(c);
	ccmd_early_open(c);
	return 0;
}

static void ccmd_stop(void *self)
{
	struct ccmd *c = self;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->lock);
	ccmd_early_close(c);
	if (c->started)
		pthread_join(c->th, NULL);
	c->started = false;
	hcmd_stop_all(c);
	while (c->applies) { /* starts still waited for: they end by themselves */
		struct capply *a = c->applies;
		capply_unlink(a);
		waiter_del(&a->w);
		if (a->batch)
			lifecycle_batch_abandon(a->batch);
		nsjob_free(a->job);
		a->batch = NULL;
		a->job = NULL;
		a->err = EINTR;
		snprintf(a->reason, sizeof(a->reason), "vmfs stops");
		a->done(a);
	}
	while (c->back) { /* taken, not applied now: vmfs stops (the head says unknown) */
		struct mjob *j = c->back;
		c->back = j->next;
		mjob_free(j);
	}
	while (c->todo) {
		struct mjob *j = c->todo;
		c->todo = j->next;
		mjob_free(j);
	}
	c->todo_tail = &c->todo;
	threadlog_flush(&c->tl);
}

static void ccmd_close(void *self)
{
	struct ccmd *c = self;
	if (c->v->ccmd == c)
		c->v->ccmd = NULL;
	if (c->early) /* (never stopped: the loop is gone) */
		etcd_watch_close(c->early);
	etcd_close(c->w);
	if (c->efd >= 0)
		close(c->efd);
	threadlog_fini(&c->tl);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static const struct door_ops ccmd_ops = {
    .attach = ccmd_attach,
    .stop = ccmd_stop,
    .close = ccmd_close,
};

int ccmd_door_open(struct vmfs *v, const struct vmfs_conf *conf, struct door *out, char *err,
		   size_t errlen)
{
	struct ccmd *c = calloc(1, sizeof(*c));
	if (!c || !v->chosts || threadlog_init(&c->tl, &v->log, "cluster: ")) {
		free(c);
		snprintf(err, errlen, "cluster: out of memory or descriptors");
		return -1;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->v = v;
	c->ch = v->chosts;
	c->todo_tail = &c->todo;
	c->o = member_etcd_opts(conf, ETCD_TIMEOUT_MS);
	struct err e;
	if ((c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 || etcd_open(&c->o, &c->w, &e)) {
		snprintf(err, errlen, "cluster: %s", c->efd < 0 ? strerror(errno) : e.why);
		ccmd_close(c);
		return -1;
	}
	v->ccmd = c;
	*out = (struct door){&ccmd_ops, c, -1};
	return 0;
}
