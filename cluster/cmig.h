/* Live migration across the hosts of an etcd cluster (docs/cluster-design.md, "Drain, move,
 * live migration", steps 1-6): `move NAME HOST` of a running VM.
 *
 * The head (any host) writes an intent P/intent/L kind=migrate (objects=NAME:ID:DEST), with
 * the claim marked moving=DEST; sends DEST a `migrate-in` command (the VM's config, the
 * source's QEMU version and machine type), which makes the object with the claimed id, holds
 * it from its publisher and answers with its ports; then the source a `migrate-out` command
 * to those ports, whose answer waits for the migration. Then one txn commits: the claim's
 * host=DEST, both P/cap, the namespace's hosts, the intent deleted. Members learn the end from
 * the intent's deletion (their own cache): the destination releases its object to its
 * publisher if the claim names it, else kills and removes it; the source removes its copy if
 * the claim has gone to another host. So a head that dies halfway leaves nothing behind once
 * its intent is settled (cmig_recover).
 *
 * The streams are plain TCP (said in both logs): TLS for them is not built. */
#ifndef VMFS_CLUSTER_CMIG_H
#define VMFS_CLUSTER_CMIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/ckey.h"
#include "runtime/model.h"

struct vmfs;
struct ns;
struct vwait;
struct sbuf;
struct ccmd;
struct mjob;
struct etcd;

#define CMIG_IN_VERB "migrate-in"
#define CMIG_OUT_VERB "migrate-out"
#define CMIG_IN_MS 90000   /* the destination's QEMU started and listening */
#define CMIG_OUT_MS 900000 /* the disks mirrored and the memory sent: generous */

/* What the head needs of a live move, as checked by move's entry. */
struct cmig_req {
	struct ns *ns; /* on this host (the head) */
	uint64_t nsid, id;
	char name[NAME_MAX_LEN + 1];
	char src[NAME_MAX_LEN + 1], dst[NAME_MAX_LEN + 1];
	uint64_t vcpus, memory; /* its reservation, moved from P/cap/src to P/cap/dst */
};
/* The head's side (cluster/cmig_head.c): 0 with the answer in reply, -EINPROGRESS with
 * wait->hcmd, or -errno with err. */
int cmig_start(struct vmfs *v, const struct cmig_req *rq, struct vwait *wait, struct sbuf *reply,
	       char *err, size_t errlen);

/* The member's side (cluster/ccmd_migrate.c). */
bool cmig_verb(const char *verb);
/* A migrate command read, from a known host: checked, queued to take. */
void cmig_seen(struct ccmd *c, struct mjob *j);
/* Taken in time: applied; answers (now or later). */
void cmig_apply(struct ccmd *c, struct mjob *j);
/* The same part when the head is this host (no command to itself): applied now, done called
 * with its outcome (0 and the answer's words, or an errno and why), maybe before it returns. */
typedef void (*cmig_done_fn)(void *arg, int err, const char *reason);
void cmig_local(struct ccmd *c, struct ns *ns, const char *verb, uint64_t nsid, uint64_t id,
		const char *name, const char *args, cmig_done_fn done, void *arg);
/* Listens to the cache for the intents' ends (from the commands' door's attach). */
void cmig_attach(struct ccmd *c);
/* Whether o is a migration's destination not yet committed: its publisher leaves it alone
 * (neither claimed nor published: the claim is the source's until the commit). */
bool cmig_held(const struct object *o);

/* The commit (cluster/cmig_commit.c): compared on the claim (still the source's), the
 * intent, both reservations and the namespace; 1 done, 0 a compare failed, -errno with err.
 * BLOCKS. */
struct cmig_commit {
	const char *cluster;
	struct ckey_tag tag;
	uint64_t nsid, id;
	const char *nsname, *name, *src, *dst;
	uint64_t vcpus, memory;
};
int cmig_commit(struct etcd *c, const struct cmig_commit *m, char *err, size_t errlen);

/* A migrate intent left by a head that died or restarted, run by self now (cluster/cintent.c):
 * the claim settled already -> the intent deleted; the source's record says RUNNING or
 * PAUSED -> aborted (the claim no longer moving, the intent deleted: the destination, seeing
 * it go, removes its waiting copy); else left as it is. What was done in line (empty: nothing
 * done; an intent of this host's current run, under way, is never touched). BLOCKS. */
struct crec_intent;
void cmig_this_run(uint64_t run);
int cmig_recover(struct etcd *c, const char *cluster, const char *self, const struct ckey_tag *tag,
		 const struct crec_intent *in, const char *from, char *line, size_t linelen,
		 char *err, size_t errlen);

/* The intent's args between head and members, one line each: pure (cluster/cmig_args.c).
 * migrate-in: "intent=L qemu=V machine=M " then a create's args (ccreate_args) for the one
 * VM; migrate-out: "intent=L to=A:P nbd=A:P". */
struct cmig_in_args {
	struct ckey_tag intent;
	char qemu[64], machine[256];
	const char *create; /* into the caller's text: the rest, for ccreate_read */
};
int cmig_in_read(const char *args, struct cmig_in_args *a, char *why, size_t whylen);
struct cmig_out_args {
	struct ckey_tag intent;
	char to[64], nbd[64];
};
int cmig_out_read(const char *args, struct cmig_out_args *a, char *why, size_t whylen);
/* "ok: migrate-in ready: migrate=A:P nbd=A:P" -> its two ADDR:PORTs; -EINVAL if not so. */
int cmig_ready_read(const char *text, char *mig, size_t miglen, char *nbd, size_t nbdlen);
#endif
