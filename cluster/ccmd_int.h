/* The parts of cluster/ccmd.h: ccmd.c the door and the loop's side (the cache's changes,
 * applying verbs), ccmd_member.c the worker that takes and answers, ccmd_head.c a head's
 * command, ccmd_send.c its thread, ccmd_view.c what resolution is given. */
#ifndef VMFS_CLUSTER_CCMD_INT_H
#define VMFS_CLUSTER_CCMD_INT_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cluster/ccache.h"
#include "cluster/ccmd.h"
#include "cluster/ckey.h"
#include "cluster/cview.h"
#include "cluster/resolve.h"
#include "etcd/client.h"
#include "etcd/watch.h"
#include "runtime/waitq.h"
#include "vmfs/threadlog.h"

struct chosts;
struct loop;
struct object;
struct lcbatch;

/* A verb on this host's objects, as a local ctl line of root: checked, then done as
 * ns/NS/ctl does it (a start waited for on the loop, other verbs in slices). */
struct capply {
	struct capply *next, **prev; /* ccmd's pending ones */
	struct ccmd *c;
	struct lcbatch *batch; /* a start's */
	struct nsjob *job;     /* any other verb's, in slices (vmfs/slice.h) */
	struct waiter w;
	enum verb verb;
	int err;
	char reason[HOSTANS_REASON_MAX];
	size_t count;
	void (*done)(struct capply *a); /* an applied start, when it ends */
	void *arg;
};
/* Applies verb to objs[0..n): 0 when done now (a->err, reason, count say how), -EINPROGRESS
 * when a->done is called later. objs is the caller's. */
int capply_run(struct ccmd *c, struct capply *a, struct ns *ns, struct object **objs, size_t n,
	       enum verb verb, bool refuse);

/* A command this host took, between the worker and the loop. */
enum mjob_kind { MJ_TAKE, MJ_ANSWER, MJ_UNANSWER };
struct mjob {
	struct mjob *next;
	enum mjob_kind kind;
	char key[CKEY_MAX + 1], ans[CKEY_MAX + 1], tag[CKEY_TAG_LEN];
	struct crec_cmd cmd; /* MJ_TAKE: as read */
	struct sbuf value;   /* MJ_ANSWER */
	char ns[NAME_MAX_LEN + 1];
	char (*names)[NAME_MAX_LEN + 1]; /* its objects here */
	size_t n;
	enum verb verb;
	int pre_err; /* refused at the check: taken and answered so, not applied */
	char pre_reason[HOSTANS_REASON_MAX];
	struct capply apply;
	bool create; /* a launch's creations (cluster/ccmd_create.c) */
	bool mig;    /* a live migration's part (cluster/ccmd_migrate.c) */
	void (*mig_done)(void *arg, int err, const char *reason); /* its head is this host */
	void *mig_arg;
	struct ccreate cr;
	int64_t rev;	     /* the command's mod revision */
	bool claims_unread;  /* a create whose claims the cache lacks: read from etcd first */
	bool config; /* a config write (cluster/ccmd_config.c) */
	struct cconfig cf;
};
void mjob_free(struct mjob *j);
/* The member's answer to a command it took, put by the worker; said in the namespace's log. */
void ccmd_answer(struct ccmd *c, struct mjob *j, int err, const char *reason, size_t count);
/* A create command read and from a known host: checked against the claims, queued to take. */
#define CCREATE_VERB "create"
void ccreate_seen(struct ccmd *c, struct mjob *j);
/* The worker's, for a create whose claims_unread: the claims read from etcd in transactions
 * of ranges and checked as the cache's are. 0, or a positive errno with why. */
int ccreate_claims_read(struct ccmd *c, struct mjob *j, char *why, size_t whylen);
/* Taken in time: the template's values checked, the objects made. Answers. */
void ccreate_apply(struct ccmd *c, struct mjob *j);
/* A value param of the command for ns, checked as a local root write of it is: its syntax,
 * its files in the image store; one that reaches the host only if ns's own template has
 * the same (EPERM). 0, or a positive errno with why ("WHOSEPARAM: ..."). */
/* The command's namespace, by its cluster id, if this host has it: its name in j->ns and 0,
 * or ENOENT (positive, as an answer's) with why. */
int ccmd_job_ns(struct ccmd *c, struct mjob *j, char *why, size_t whylen);
int ccmd_check_value(struct ccmd *c, struct ns *ns, int param, const char *value,
		     const char *whose, char *why, size_t whylen);
/* A config command read and from a known host (cluster/ccmd_config.c): checked against the
 * claims, queued to take; taken in time, applied as a local root write and answered once
 * this host's record shows it (so the head's cache has it when it sees the answer). */
void cconfig_seen(struct ccmd *c, struct mjob *j);
void cconfig_apply(struct ccmd *c, struct mjob *j);
/* The worker's (cluster/ccmd_cfgcap.c): a config change of vcpus or memory, taken, moves this
 * host's reservation by CAS before it is applied, marking the object in its cfg-pending (a
 * refusal, ENOSPC beyond its capacity, is left in j->pre_err); before the answer is put, a
 * refused apply gives it back and an apply its record shows drops the mark. */
void cconfig_reserve(struct ccmd *c, struct mjob *j);
void cconfig_settle(struct ccmd *c, struct mjob *j);

/* One host's part of a head's command. */
struct hpart {
	char host[NAME_MAX_LEN + 1];
	char key[CKEY_MAX + 1];
	struct sbuf value;
	bool taken, answered; /* under the ccmd's lock */
	struct hostans a;     /* answered: the outcome */
};

struct hcmd {
	struct hcmd *next; /* the ccmd's running ones, under its lock */
	int refs;	   /* the loop's: the writer, the thread, the apply */
	struct ccmd *c;
	struct ckey_tag tag;
	char tagtext[CKEY_TAG_LEN];
	enum verb verb;
	const char *vname;		    /* the answer's word; NULL: verb's */
	unsigned take_ms, answer_ms;	    /* 0: CCMD_TAKE_MS, the verb's */
	int fail;			    /* hcmd_fail's */
	char *text;			    /* hcmd_ok_text's: the whole answer, when it is ok */
	char failwhy[1024];
	struct ns *ns;
	char (*hosts)[NAME_MAX_LEN + 1];
	size_t nhosts;
	struct hostans *a; /* a line per host asked, filled as parts end */
	size_t na;
	size_t self; /* index into a of this host's part; SIZE_MAX: none */
	struct capply apply;
	bool self_done;
	struct hpart *p; /* the parts sent, a[ia[i]] each */
	size_t *ia;
	size_t np;
	pthread_t th;
	bool running;  /* the thread was started and not joined */
	bool finished; /* the thread is done (under the lock) */
	bool logged;
	pthread_cond_t cv;
	struct waitq wq;
};
void hcmd_hold(struct hcmd *h);
/* A head command for nhosts hosts and nparts parts, nothing in them yet. */
struct hcmd *hcmd_alloc(struct ccmd *c, struct ns *ns, enum verb verb, size_t nhosts,
			size_t nparts);
/* Its thread, for its parts p[0..np): 0 or -EAGAIN. */
int hcmd_start(struct hcmd *h);
/* The loop: a part's key changed (P/cmd/H/CMD of ours taken, P/h/H/ans/CMD). */
void hcmd_seen_cmd(struct ccmd *c, const struct ckey *k, const struct ccache_kv *now);
void hcmd_seen_ans(struct ccmd *c, const struct ckey *k, const struct ccache_kv *now);
/* A head command's thread (ccmd_send.c): sends, cancels, collects, deletes. */
void *hcmd_thread(void *arg);
/* The loop: a thread has ended. */
void hcmd_finished(struct hcmd *h);
/* The door stops: every thread ends now (no more waiting), joined. */
void hcmd_stop_all(struct ccmd *c);

/* What resolution is given: the namespace's hosts and the other hosts' objects from the
 * cluster's view (cluster/cview.h), this host's from its model. */
struct cview_in {
	uint64_t nsid; /* 0: not in the cluster yet */
	struct resolve_host *hosts;
	char (*hnames)[NAME_MAX_LEN + 1];
	size_t nhosts, self;
	struct resolve_obj *objs;
	char (*onames)[NAME_MAX_LEN + 1];
	struct object **local; /* objs[i]'s object here, NULL: another host's */
	char (*busy)[NAME_MAX_LEN + 16]; /* a local object's busy words (moving away) */
	size_t nobjs;
	struct cview_resolve rs; /* the view's part (its busy texts) */
};
int ccmd_view(struct ccmd *c, struct ns *ns, struct cview_in *out, char *err, size_t errlen);
void ccmd_view_free(struct cview_in *in);

/* A command seen by either watch (cluster/ccmd_early.c). */
#define CCMD_SEEN 64
struct ccmd_seen {
	char key[CKEY_MAX + 1];
	int64_t crev;
};

struct ccmd {
	struct vmfs *v;
	struct chosts *ch;
	struct etcd_opts o;
	struct threadlog tl;
	struct loop *loop;
	int efd;
	uint64_t seq;
	struct etcd *w; /* the worker's */
	pthread_t th;
	bool started;
	struct capply *applies; /* the loop's: applies waited for */
	pthread_mutex_t lock;	/* what follows */
	pthread_cond_t cv;
	bool stopping;
	struct mjob *todo, **todo_tail; /* for the worker */
	struct mjob *back;		/* takes in time, for the loop to apply */
	struct hcmd *heads;		/* running */
	struct etcd_watch *early;	/* the loop's: this host's commands (ccmd_early.c) */
	struct ccmd_seen seen[CCMD_SEEN];
	size_t seen_next;
};

/* The loop's: a command to this host read and judged (checked, queued to take). */
void ccmd_member_seen(struct ccmd *c, const struct ckey *k, const struct ccache_kv *now);
/* The loop's: true the first time a command (its key and create revision) is seen by either
 * watch, false after. */
bool ccmd_seen_once(struct ccmd *c, const char *key, int64_t crev);
/* The watch of this host's own commands, which takes a create before the cache's watch has
 * carried the claims ahead of it; none (said in the log) if it cannot be opened. */
void ccmd_early_open(struct ccmd *c);
void ccmd_early_close(struct ccmd *c);

/* From any thread: the loop has something (efd). */
void ccmd_poke(struct ccmd *c);
/* The worker (ccmd_member.c). */
void *ccmd_work(void *arg);
void ccmd_queue(struct ccmd *c, struct mjob *j);
/* Monotonic milliseconds. */
int64_t ccmd_now_ms(void);
#endif
