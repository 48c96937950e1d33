/* The head's side of a live migration (cluster/cmig.h): the intent, the two commands in
 * turn, the commit or the abort, and the writer's answer. The loop sends the commands; etcd's
 * transactions run on a thread of the job's own (runtime/bgjob.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/ccmd_int.h"
#include "cluster/chosts.h"
#include "cluster/cmig.h"
#include "ctl/params.h"
#include "etcd/member.h"
#include "runtime/bgjob.h"
#include "vmfs/node.h"
#include "vmfs/vreq.h"

#define COMMIT_TRIES 5

enum stage { S_BEGIN, S_IN, S_OUT, S_COMMIT, S_ABORT };

struct cmjob {
	struct bgjob bg; /* first */
	struct vmfs *v;
	struct cmig_req rq;
	enum stage stage;
	char cluster[NAME_MAX_LEN + 1], self[NAME_MAX_LEN + 1];
	struct ckey_tag tag;
	char tagtext[CKEY_TAG_LEN];
	struct sbuf inargs; /* the migrate-in's */
	struct hcmd *out;   /* the writer's answer */
	struct hcmd *send;  /* the command under way */
	struct waiter w;
	int r;
	char err[1024];
	char figures[HOSTANS_REASON_MAX]; /* the source's answer */
	char mig[64], nbd[64];		  /* the destination's */
	bool unknown; /* the source's outcome is unknown: the intent stays for recovery */
};

static void job_free(struct cmjob *j)
{
	sb_free(&j->inargs);
	hcmd_put(j->out);
	hcmd_put(j->send);
	if (j->rq.ns)
		ns_put(j->rq.ns);
	free(j);
}

static void say(struct cmjob *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct cmjob *j, const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	evlog_add(&j->rq.ns->log, "cluster: move %s %s (%s): %s", j->rq.name, j->rq.dst,
		  j->tagtext, line);
}

/* etcd's failure in words, as -errno. */
static int etcd_fail(struct cmjob *j, const struct err *e, const char *what)
{
	snprintf(j->err, sizeof(j->err), "%s: etcd: %.900s", what, e->why);
	return e->no ? -e->no : -EIO;
}

/* The claim as etcd has it now: 0, or -errno with j->err. */
static int claim_now(struct cmjob *j, struct etcd *c, char *key, struct crec_claim *cl,
		     int64_t *rev)
{
	struct etcd_kv kv = {0};
	bool found = false;
	struct err e;
	char why[300];
	if (ckey_claim(key, CKEY_MAX + 1, j->cluster, j->rq.nsid, j->rq.name) < 0)
		return -EINVAL;
	if (etcd_get(c, key, &kv, &found, &e))
		return etcd_fail(j, &e, "the claim");
	int r = 0;
	if (!found) {
		snprintf(j->err, sizeof(j->err), "%s is no longer claimed in the cluster",
			 j->rq.name);
		r = -ENOENT;
	} else if (crec_claim_read(kv.value, kv.value_len, cl, why, sizeof(why))) {
		snprintf(j->err, sizeof(j->err), "%s's claim cannot be read: %s", j->rq.name, why);
		r = -EINVAL;
	} else
		*rev = kv.mod_revision;
	if (found)
		etcd_kv_free(&kv);
	return r;
}

/* The intent, and the claim marked moving, in one txn: the claim as the entry saw it. */
static int begin(struct cmjob *j, struct etcd *c)
{
	char ckey[CKEY_MAX + 1], ikey[CKEY_MAX + 1];
	struct crec_claim cl;
	int64_t rev = 0;
	int r = claim_now(j, c, ckey, &cl, &rev);
	if (r)
		return r;
	if (cl.id != j->rq.id || strcmp(cl.host, j->rq.src) || cl.moving[0]) {
		snprintf(j->err, sizeof(j->err), "%s changed meanwhile (on %s%s%s)", j->rq.name,
			 cl.host, cl.moving[0] ? ", moving to " : "", cl.moving);
		return cl.moving[0] ? -EBUSY : -EAGAIN;
	}
	snprintf(cl.moving, sizeof(cl.moving), "%s", j->rq.dst);
	struct crec_intent_obj io = {.id = j->rq.id};
	snprintf(io.name, sizeof(io.name), "%s", j->rq.name);
	snprintf(io.host, sizeof(io.host), "%s", j->rq.dst);
	struct crec_intent in = {.kind = CREC_INTENT_MIGRATE, .ns = j->rq.nsid, .objects = &io,
				 .nobjects = 1, .phase = CREC_PHASE_CREATING,
				 .vcpus = j->rq.vcpus, .memory = j->rq.memory};
	snprintf(in.host, sizeof(in.host), "%s", j->self);
	struct sbuf cv = {0}, iv = {0};
	crec_claim_write(&cl, &cv);
	crec_intent_write(&in, &iv);
	if (ckey_intent(ikey, sizeof(ikey), j->cluster, &j->tag) < 0 || cv.oom || iv.oom)
		r = -ENOMEM;
	const struct etcd_cmp cmp[] = {
	    {.key = ckey, .target = ETCD_MOD, .num = rev},
	    {.key = ikey, .target = ETCD_VERSION, .num = 0},
	};
	const struct etcd_op ops[] = {
	    {.kind = ETCD_OP_PUT, .key = ikey, .value = iv.p, .len = iv.len},
	    {.kind = ETCD_OP_PUT, .key = ckey, .value = cv.p, .len = cv.len},
	};
	struct etcd_txn_result res = {0};
	struct err e;
	if (!r && etcd_txn(c, cmp, 2, ops, 2, NULL, 0, &res, &e))
		r = etcd_fail(j, &e, "the intent");
	else if (!r && !res.succeeded) {
		snprintf(j->err, sizeof(j->err), "%s's claim changed meanwhile: try again",
			 j->rq.name);
		r = -EAGAIN;
	}
	etcd_txn_result_free(&res);
	sb_free(&cv);
	sb_free(&iv);
	return r;
}

/* The commit (cluster/cmig_commit.c). */
static int commit_once(struct cmjob *j, struct etcd *c)
{
	const struct cmig_commit m = {.cluster = j->cluster, .tag = j->tag, .nsid = j->rq.nsid,
				      .id = j->rq.id, .nsname = j->rq.ns->name, .name = j->rq.name,
				      .src = j->rq.src, .dst = j->rq.dst, .vcpus = j->rq.vcpus,
				      .memory = j->rq.memory};
	return cmig_commit(c, &m, j->err, sizeof(j->err));
}

/* The abort: the claim no longer moving (if it is still the source's), the intent deleted. */
static int abort_once(struct cmjob *j, struct etcd *c)
{
	char ckey[CKEY_MAX + 1], ikey[CKEY_MAX + 1];
	struct crec_claim cl;
	int64_t rev = 0;
	char keep[sizeof(j->err)];
	snprintf(keep, sizeof(keep), "%s", j->err);
	int r = claim_now(j, c, ckey, &cl, &rev);
	bool ours = !r && !strcmp(cl.host, j->rq.src) && cl.id == j->rq.id;
	snprintf(j->err, sizeof(j->err), "%s", keep);
	if (ckey_intent(ikey, sizeof(ikey), j->cluster, &j->tag) < 0)
		return -EINVAL;
	cl.moving[0] = 0;
	struct sbuf cv = {0};
	crec_claim_write(&cl, &cv);
	const struct etcd_cmp cmp = {.key = ckey, .target = ETCD_MOD, .num = rev};
	const struct etcd_op ops[] = {
	    {.kind = ETCD_OP_PUT, .key = ckey, .value = cv.p, .len = cv.len},
	    {.kind = ETCD_OP_DELETE, .key = ikey},
	};
	struct etcd_txn_result res = {0};
	struct err e;
	r = cv.oom ? -ENOMEM
		   : etcd_txn(c, &cmp, ours, ours ? ops : ops + 1, ours ? 2 : 1, NULL, 0, &res, &e)
			 ? -EIO
			 : res.succeeded;
	etcd_txn_result_free(&res);
	sb_free(&cv);
	return r;
}

static void work(struct bgjob *bg)
{
	struct cmjob *j = (struct cmjob *)bg;
	struct etcd_opts o = member_etcd_opts(j->v->conf, 0);
	struct etcd *c;
	struct err e;
	if (etcd_open(&o, &c, &e)) {
		if (j->stage == S_ABORT) /* j->err says why it aborts: this is added to it */
			snprintf(j->err + strlen(j->err), sizeof(j->err) - strlen(j->err),
				 "; its intent %s stays (not aborted: etcd: %.300s)", j->tagtext,
				 e.why);
		else /* neither begun nor committed: said, never answered as moved */
			j->r = etcd_fail(j, &e, "move");
		return;
	}
	int r = 0;
	if (j->stage == S_BEGIN)
		j->r = begin(j, c);
	for (int i = 0; j->stage == S_COMMIT && i < COMMIT_TRIES && (r = commit_once(j, c)) == 0;
	     i++)
		;
	if (j->stage == S_COMMIT && r != 1)
		j->r = r ? r : -EAGAIN;
	for (int i = 0; j->stage == S_ABORT && i < COMMIT_TRIES && (r = abort_once(j, c)) == 0;
	     i++)
		;
	if (j->stage == S_ABORT && r != 1)
		snprintf(j->err + strlen(j->err), sizeof(j->err) - strlen(j->err),
			 "; its intent %s stays (not aborted: etcd failed)", j->tagtext);
	etcd_close(c);
}

static void on_thread(struct bgjob *bg);

static void run(struct cmjob *j, enum stage s)
{
	j->stage = s;
	int r = bgjob_start(&j->bg, &j->v->m, work, on_thread);
	if (r) {
		snprintf(j->err, sizeof(j->err), "no thread for it: %s (intent %s stays)",
			 strerror(-r), j->tagtext);
		hcmd_fail(j->out, r, j->err);
		job_free(j);
	}
}

static void on_sent(struct waiter *w);
static void got_answer(struct cmjob *j, const struct hostans *got);

/* This host's own part (it is the source or the destination): applied here. */
static void local_done(void *arg, int err, const char *reason)
{
	struct cmjob *j = arg;
	struct hostans a = {.kind = err ? HA_REFUSED : HA_DONE, .err = err, .count = !err};
	snprintf(a.host, sizeof(a.host), "%s", j->self);
	snprintf(a.reason, sizeof(a.reason), "%s", reason);
	got_answer(j, &a);
}

static int send_cmd(struct cmjob *j, const char *verb, const char *host, struct sbuf *args,
		    unsigned answer_ms)
{
	if (!strcmp(host, j->self)) {
		cmig_local(j->v->ccmd, j->rq.ns, verb, j->rq.nsid, j->rq.id, j->rq.name, args->p,
			   local_done, j);
		return 0;
	}
	struct hsend part = {.host = host, .ids = &j->rq.id, .n = 1, .args = *args};
	int r;
	j->send = hcmd_send(j->v->ccmd, j->rq.ns, j->rq.nsid, verb, true, &part, 1,
			    CCMD_CREATE_TAKE_MS, answer_ms, &r);
	if (!j->send)
		return r;
	j->w.wake = on_sent;
	waitq_add(hcmd_wq(j->send), &j->w);
	return 0;
}

/* A failure before the migration completed: the source runs on; the intent goes (the
 * destination, seeing it go, kills its waiting QEMU and removes its object). */
static void fail(struct cmjob *j, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct cmjob *j, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->err, sizeof(j->err), fmt, ap);
	va_end(ap);
	j->r = r ? r : -EIO;
	say(j, "failed: %s; aborted, %s runs on %s", j->err, j->rq.name, j->rq.src);
	run(j, S_ABORT);
}

static void send_out(struct cmjob *j)
{
	struct sbuf args = {0};
	sb_printf(&args, "intent=%s to=%s nbd=%s", j->tagtext, j->mig, j->nbd);
	int r = args.oom ? -ENOMEM : send_cmd(j, CMIG_OUT_VERB, j->rq.src, &args, CMIG_OUT_MS);
	sb_free(&args);
	if (r)
		fail(j, r, "the migrate-out command to %s: %s", j->rq.src, strerror(-r));
	else
		say(j, "%s ready (%s, disks %s, plain TCP); %s migrates out", j->rq.dst, j->mig,
		    j->nbd, j->rq.src);
}

/* A host's answer in words, for the writer. */
static void answer_words(const struct hostans *a, char *out, size_t len)
{
	struct sbuf line = {0};
	cmdans_line(a, "move", &line);
	snprintf(out, len, "%.*s", line.len ? (int)line.len - 1 : 0, line.p ? line.p : "");
	sb_free(&line);
}

static void on_sent(struct waiter *w)
{
	struct cmjob *j = (struct cmjob *)((char *)w - offsetof(struct cmjob, w));
	if (!hcmd_sent_done(j->send)) {
		waitq_add(hcmd_wq(j->send), &j->w);
		return;
	}
	size_t n;
	const struct hostans *a = hcmd_answers(j->send, &n);
	struct hostans got = n ? a[0] : (struct hostans){.kind = HA_UNKNOWN};
	hcmd_put(j->send);
	j->send = NULL;
	got_answer(j, &got);
}

static void got_answer(struct cmjob *j, const struct hostans *got)
{
	char words[HOSTANS_REASON_MAX + 128];
	answer_words(got, words, sizeof(words));
	if (j->stage == S_IN) {
		if (got->kind != HA_DONE)
			return fail(j, -hostans_errno(got), "%s", words);
		if (cmig_ready_read(got->reason, j->mig, sizeof(j->mig), j->nbd, sizeof(j->nbd)))
			return fail(j, -EPROTO, "%s answered its migrate-in with no ports: %.300s",
				    j->rq.dst, got->reason);
		j->stage = S_OUT;
		return send_out(j);
	}
	if (got->kind == HA_DONE) {
		snprintf(j->figures, sizeof(j->figures), "%s", got->reason);
		say(j, "migrated: %s; committing", j->figures);
		return run(j, S_COMMIT);
	}
	if (got->kind == HA_UNKNOWN) { /* it may have completed: recovery looks at both sides */
		j->unknown = true;
		j->r = -ETIMEDOUT;
		snprintf(j->err, sizeof(j->err),
			 "%s: the migration's outcome is unknown; intent %s stays for recovery",
			 words, j->tagtext);
		say(j, "%s", j->err);
		hcmd_fail(j->out, j->r, j->err);
		return job_free(j);
	}
	fail(j, -hostans_errno(got), "%s", words);
}

static void on_thread(struct bgjob *bg)
{
	struct cmjob *j = (struct cmjob *)bg;
	char text[2 * 1024 + HOSTANS_REASON_MAX + 256];
	switch (j->stage) {
	case S_BEGIN: {
		if (j->r) {
			hcmd_fail(j->out, j->r, j->err);
			return job_free(j);
		}
		say(j, "from %s: intent written; %s prepares", j->rq.src, j->rq.dst);
		j->stage = S_IN;
		int r = send_cmd(j, CMIG_IN_VERB, j->rq.dst, &j->inargs, CMIG_IN_MS);
		if (r)
			fail(j, r, "the migrate-in command to %s: %s", j->rq.dst, strerror(-r));
		return;
	}
	case S_COMMIT:
		if (j->r) { /* the VM runs on the destination, held: recovery commits */
			snprintf(text, sizeof(text),
				 "the migration completed (%s) but its commit failed: %s; intent %s "
				 "stays for recovery",
				 j->figures, j->err, j->tagtext);
			say(j, "%s", text);
			hcmd_fail(j->out, j->r, text);
			return job_free(j);
		}
		say(j, "committed: %s owns %s", j->rq.dst, j->rq.name);
		snprintf(text, sizeof(text), "%s: ok moved %s to %s live: %s\nok: moved 1\n",
			 j->rq.src, j->rq.name, j->rq.dst, j->figures);
		hcmd_ok_text(j->out, text);
		return job_free(j);
	case S_ABORT:
		snprintf(text, sizeof(text), "move %s %s: %s", j->rq.name, j->rq.dst, j->err);
		hcmd_fail(j->out, j->r, text);
		return job_free(j);
	default:
		return;
	}
}

/* The VM's record on its host, and both hosts' QEMU, from the cache: checked equal here
 * before anything is written (the destination checks again). */
static int prepare(struct cmjob *j, char *err, size_t errlen)
{
	struct cview *cv = j->v->cview;
	struct chosts *ch = j->v->chosts;
	const struct cview_obj *o = cv ? cview_obj_id(cv, j->rq.nsid, j->rq.id) : NULL;
	if (!o || !o->rec) {
		snprintf(err, errlen, "move %s %s: its record is not in this host's view",
			 j->rq.name, j->rq.dst);
		return -ENOENT;
	}
	if (o->rec->state != ST_RUNNING) {
		snprintf(err, errlen,
			 "move %s %s: %s is %s: a live migration moves a running guest (resume it "
			 "first)",
			 j->rq.name, j->rq.dst, j->rq.name, ostate_name(o->rec->state));
		return -EBUSY;
	}
	struct crec_hinfo hi[2];
	const char *host[2] = {j->rq.src, j->rq.dst};
	for (int i = 0; i < 2; i++) {
		char key[CKEY_MAX + 1], why[300];
		const struct ccache_kv *kv = ckey_hinfo(key, sizeof(key), j->cluster, host[i]) < 0
						 ? NULL
						 : ccache_get(ch->cache, key);
		if (!kv || crec_hinfo_read(kv->value, kv->len, &hi[i], why, sizeof(why))) {
			snprintf(err, errlen, "move %s %s: %s has published no info to compare QEMU by",
				 j->rq.name, j->rq.dst, host[i]);
			return -EAGAIN;
		}
	}
	int mi = param_index("machine");
	const char *machine = mi >= 0 && o->rec->cfg[mi] ? o->rec->cfg[mi]
			      : mi >= 0			     ? params[mi].def
							     : "pc";
	if (strcmp(hi[0].qemu, hi[1].qemu)) {
		snprintf(err, errlen,
			 "move %s %s: %s runs QEMU %s, %s QEMU %s: a live migration needs the same "
			 "version",
			 j->rq.name, j->rq.dst, j->rq.src, hi[0].qemu[0] ? hi[0].qemu : "(unknown)",
			 j->rq.dst, hi[1].qemu[0] ? hi[1].qemu : "(unknown)");
		return -EPROTONOSUPPORT;
	}
	struct ccreate cr = {.intent = j->tag, .type = OT_VM, .n = 1};
	char *names[1] = {j->rq.name};
	cr.names = names;
	memcpy(cr.cfg, o->rec->cfg, sizeof(cr.cfg));
	sb_printf(&j->inargs, "intent=%s qemu=%s machine=%s ", j->tagtext, hi[0].qemu, machine);
	ccreate_args(&cr, &j->inargs);
	return j->inargs.oom ? -ENOMEM : 0;
}

int cmig_start(struct vmfs *v, const struct cmig_req *rq, struct vwait *wait, struct sbuf *reply,
	       char *err, size_t errlen)
{
	static uint64_t seq;
	(void)reply;
	if (!v->ccmd || !v->chosts) {
		snprintf(err, errlen, "move: this host takes no part in the cluster's commands");
		return -EAGAIN;
	}
	struct cmjob *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->v = v;
	j->rq = *rq;
	ns_get(rq->ns);
	snprintf(j->cluster, sizeof(j->cluster), "%s", v->chosts->cluster);
	snprintf(j->self, sizeof(j->self), "%s", v->chosts->self);
	/* its id as a command's: this host, its run, a counter of its own ("m" apart) */
	snprintf(j->tag.host, sizeof(j->tag.host), "%s", j->self);
	j->tag.run = v->m.run;
	j->tag.seq = 1000000000ull + ++seq;
	cmig_this_run(v->m.run);
	ckey_tag_fmt(&j->tag, j->tagtext);
	int r = prepare(j, err, errlen);
	if (!r && !(j->out = hcmd_open(v->ccmd, rq->ns, "moved")))
		r = -ENOMEM;
	if (r) {
		job_free(j);
		return r;
	}
	hcmd_hold(j->out); /* the write's */
	wait->hcmd = j->out;
	run(j, S_BEGIN);
	return -EINPROGRESS;
}
