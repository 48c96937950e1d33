/* Verbs across the hosts of an etcd cluster (docs/cluster-design.md, "Commands"; issue 18,
 * step 5). A verb of ns/NS/ctl (start stop pause resume kill restart flush) is resolved at the
 * head over every host's objects (cluster/resolve.h); this host's part is applied here, each
 * other host's is a command record P/cmd/H/CMD, all put in one txn (each compared absent) on
 * this host's lease. Each host takes its command within the take window or the head cancels
 * it; the answer is a line per host (cluster/cmdans.h), read back on the same descriptor, with
 * one errno for the write.
 *
 * As a member this host takes the commands put for it: each is checked as peer input (a
 * namespace it knows, ids that are its own objects, `from` a known host), taken in one txn
 * (version 1: nobody took or cancelled it), applied only if that txn was answered within
 * CCMD_B_MS, as a local ctl line of root, and answered in P/h/SELF/ans/CMD.
 *
 * etcd's calls block: a worker thread takes and answers (its own etcd handle), each head
 * command runs its deadlines on a thread of its own; the loop applies verbs and reads the
 * cache. */
#ifndef VMFS_CLUSTER_CCMD_H
#define VMFS_CLUSTER_CCMD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/ckey.h"
#include "cluster/cmdans.h"
#include "cluster/crec.h"
#include "runtime/lifecycle.h"
#include "runtime/model.h"

#define CCMD_TAKE_MS 2000 /* T: a command not taken by then is cancelled */
#define CCMD_CREATE_TAKE_MS 5000 /* a launch's creations */
#define CCMD_B_MS 500	  /* B: a take answered later than this is not applied */

struct vmfs;
struct vmfs_conf;
struct door;
struct ns;
struct vwait;
struct sbuf;
struct waitq;
struct ccmd;
struct hcmd;

/* The door that takes this host's commands and sends its heads' (vmfs/door.h); sets v->ccmd.
 * -1 with err. */
int ccmd_door_open(struct vmfs *v, const struct vmfs_conf *conf, struct door *out, char *err,
		   size_t errlen);

/* Whether verbs are resolved over every host: the cache has been loaded once. Before, ns/NS/ctl
 * acts on this host's objects only, as without etcd. While this host is cut from etcd, a verb
 * that reaches another host is refused (ENOTCONN, with words); one on its own objects only is
 * applied, and said so in the namespace's log. */
bool ccmd_ready(struct ccmd *c);

/* The verb on spec over every host of ns. 0 with the answer in reply; -EINPROGRESS with
 * wait->hcmd (hcmd_wq, then hcmd_end); or -errno with err (wait->keep_reply: reply holds the
 * answer per host). */
int ccmd_ns_act(struct ccmd *c, struct ns *ns, enum verb verb, const char *spec, struct vwait *wait,
		struct sbuf *reply, char *err, size_t errlen);

/* An object's own ctl on a head that is not its host: the verb on that one object (its id
 * in the cluster), a command to its host; as ccmd_ns_act. */
int ccmd_obj_act(struct ccmd *c, struct ns *ns, uint64_t id, enum verb verb, struct vwait *wait,
		 struct sbuf *reply, char *err, size_t errlen);

/* A head command's outcome: -EINPROGRESS while it goes on; else its answer in reply, 0 or
 * the errno of the write with the sum in err. */
int hcmd_end(struct hcmd *h, struct sbuf *reply, char *err, size_t errlen);
struct waitq *hcmd_wq(struct hcmd *h);
/* The writer lets go (NULL: nothing): the command goes on to its end, unwaited. */
void hcmd_put(struct hcmd *h);

/* Pure parts (cluster/ccmd_rec.c). */

/* How long a head waits for a taken command's answer: as long as the verb takes locally. */
unsigned ccmd_verb_ms(enum verb v);
/* The answer record of host, as the head reports it: done with no errno is HA_DONE, done
 * with one HA_REFUSED (its reason), late HA_LATE (took_ms from its reason, if it says);
 * taken: false (no outcome yet). */
bool ccmd_judge(const char *host, const struct crec_ans *ans, struct hostans *out);
/* A late answer's reason, which says when the take was answered (ccmd_judge reads it). */
void ccmd_late_reason(unsigned took_ms, char *out, size_t len);
/* The command record a head puts for one host. */
void ccmd_record(const char *from, uint64_t nsid, enum verb verb, const uint64_t *ids, size_t n,
		 bool refuse, uint64_t take_ms, uint64_t issued, struct sbuf *out);
/* A member's check of a command record against what it knows: 0, or -errno with why. The
 * verb must be one of ns/NS/ctl's; take-ms at most CCMD_TAKE_MS * 30; at least one id. */
int ccmd_check(const struct crec_cmd *c, enum verb *verb, char *why, size_t whylen);

/* A launch's `create` command (cluster/ccmd_cargs.c, ccmd_create.c): the objects' names (their
 * ids are the record's), type, the intent that claimed them, and the template's values (set
 * ones; the others default). On the wire in the record's args, one line. */
struct ccreate {
	struct ckey_tag intent;
	enum otype type;
	char **names;
	size_t n;
	char *cfg[NPARAMS_MAX];
};
void ccreate_args(const struct ccreate *cr, struct sbuf *out);
/* A claim read (from the cache or etcd) names this create's object: that id, owned by self,
 * of cr's type, claimed by cr's intent. (The name is the claim's key.) */
struct crec_claim;
bool ccreate_claim_ok(const struct crec_claim *cl, uint64_t id, const char *self,
		      const struct ccreate *cr);
/* A value in args: no space, control byte, '%' nor ',' in it (%XX for each). */
void cargs_escape(struct sbuf *out, const char *s);
/* s[0..len) unescaped into a new string; NULL with why on a bad escape or a NUL. */
char *cargs_unescape(const char *s, size_t len, char *why, size_t whylen);
/* 0, or -EINVAL/-ENOMEM with why; names are split, not checked. Free with ccreate_free. */
int ccreate_read(const char *args, struct ccreate *cr, char *why, size_t whylen);
void ccreate_free(struct ccreate *cr);

/* A `config` command (cluster/ccmd_cfgargs.c, ccmd_config.c): one parameter of one object of
 * its owner, set as a local root write of config/NAME there. Its args: `cfg.NAME=VALUE`, the
 * value escaped as a create's (empty: back to the default). */
#define CCONFIG_VERB "config"
struct cconfig {
	int param; /* index into params */
	char *value;
	/* the member's: what the change moves in its reservation (P/cap/H), what the object
	 * reserves after it (its cfg-pending entry), and its state */
	int64_t dvcpus, dmemory;
	uint64_t vcpus, memory;
	bool reserved, give_back;
	bool shown; /* applied, and this host's record showed it before the answer */
};
void cconfig_args(int param, const char *value, struct sbuf *out);
/* 0, or -EINVAL/-ENOMEM with why: exactly one word, a parameter of this vmfs, its value no
 * longer than the parameter takes. Free with cconfig_free. */
int cconfig_read(const char *args, struct cconfig *cf, char *why, size_t whylen);
void cconfig_free(struct cconfig *cf);
/* A head's write of config/NAME (params[param]) of object id of ns (nsid), host's: the
 * command sent (hcmd_wq until hcmd_sent_done, then hcmd_one_end), or NULL with -errno in *r
 * and why (ENOTCONN while this host is cut from etcd). */
struct hcmd *cconfig_send(struct ccmd *c, struct ns *ns, uint64_t nsid, const char *host,
			  uint64_t id, int param, const char *value, int *r, char *why,
			  size_t whylen);
/* A command sent to one host, settled: 0, or its errno (negative) by the design's rule, with
 * its line in why ("h2: EBUSY: c1 is RUNNING: ..."). */
int hcmd_one_end(struct hcmd *h, char *why, size_t whylen);
/* A queue woken every CCMD_TICK_MS, for what waits on the cache (a claim to go); NULL if
 * the loop has no timer for it. */
#define CCMD_TICK_MS 100
struct waitq *ccmd_tick(struct ccmd *c);

/* A launcher's side (cluster/ccmd_launch.c). An hcmd the writer waits on, answered in words
 * verb ("launched"), whose lines the launch settles at its end. */
struct hcmd *hcmd_open(struct ccmd *c, struct ns *ns, const char *verb);
/* One host's part of a send. */
struct hsend {
	const char *host;
	const uint64_t *ids;
	size_t n;
	struct sbuf args; /* the caller's */
};
/* Sends parts[0..np) as commands verb ("create", "flush") with the take window take_ms, the
 * answers waited for answer_ms, on a thread of its own: the hcmd (its waitq woken when
 * hcmd_sent_done), or NULL with -errno in *r. */
struct hcmd *hcmd_send(struct ccmd *c, struct ns *ns, uint64_t nsid, const char *verb,
		       bool refuse, const struct hsend *parts, size_t np, unsigned take_ms,
		       unsigned answer_ms, int *r);
/* Whether h's sent parts are all settled, and their answers (in the order sent). */
bool hcmd_sent_done(struct hcmd *h);
const struct hostans *hcmd_answers(struct hcmd *h, size_t *n);
void hcmd_hold(struct hcmd *h);
/* The writer's answer when nothing was asked of any host: the write fails with err, why. */
void hcmd_fail(struct hcmd *h, int err, const char *why);
/* The writer's answer when it is ok and not a line per host (a live move's): text, as is. */
void hcmd_ok_text(struct hcmd *h, const char *text);
/* The writer's answer: a[0..n) in hosts' order; h ends (its waiters woken). */
void hcmd_settle(struct hcmd *h, const struct hostans *a, size_t n);
#endif
