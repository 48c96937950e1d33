/* Launch intents (docs/cluster-design.md, "Launch and placement", "The intent"): P/intent/L
 * lists what a launch claimed, with its phase (claiming, creating, rollback), so that a launch
 * cut in the middle (its vmfs killed, its host gone) is finished or undone by someone: the
 * launcher at its next start for its own intents, any other host for an intent whose host has
 * been down CINTENT_DOWN_S, which it adopts first (a txn on the intent's mod_revision putting
 * itself as host: two hosts never both recover one).
 *
 * Recovery (a move's intents: by cluster/cmig_recover.c, live, and cluster/cmove_recover.c,
 * cold, which rolls back): claiming or rollback -> rolled back (each claim that still names this intent is
 * deleted and its host's reservation given back, in chunks; the intent goes last); creating ->
 * finished (the intent deleted) if every object has its record on its host (P/h/H/o/NSID/ID),
 * or, for this host's own, is made here; else rolled back. Ids are never reused: the namespace's counter is not touched.
 *
 * Every call BLOCKS (etcd): from a thread with its own handle. */
#ifndef VMFS_CLUSTER_CINTENT_H
#define VMFS_CLUSTER_CINTENT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/crec.h"
#include "etcd/client.h"

#define CINTENT_DOWN_S 2

/* Lines the recovery has to say: nsid 0 for host/log only, else also that namespace's log. */
typedef void (*cintent_say_fn)(void *ctx, uint64_t nsid, const char *line);

/* Rolls back intent tag (read again from etcd): every claim still its own deleted, the
 * reservations given back, the intent deleted. *given (if not NULL): claims deleted.
 * 0 (also when the intent is gone already), or -errno with err. */
int cintent_rollback(struct etcd *c, const char *cluster, const struct ckey_tag *tag,
		     unsigned *given, char *err, size_t errlen);

/* The intent's phase set (compared on its mod_revision as read now). */
int cintent_phase(struct etcd *c, const char *cluster, const struct ckey_tag *tag,
		  enum crec_phase phase, char *err, size_t errlen);

/* The launch is done: the intent deleted. */
int cintent_finish(struct etcd *c, const char *cluster, const struct ckey_tag *tag, char *err,
		   size_t errlen);

/* Recovers the intents host self holds from its earlier runs if own (at its start), and, if
 * others, those of hosts whose P/h/H/alive is absent and whose P/down/H is at least
 * CINTENT_DOWN_S old (adopted first). now: the clock (Unix seconds). Each outcome is said
 * through say. Returns the number recovered, or -errno with err (the others are left for the
 * next call). */
typedef bool (*cintent_here_fn)(void *ctx, uint64_t nsid, const char *name);
/* here (may be NULL): whether an object of this host is made here, for a launch of its own cut
 * after its objects were made and before their records were published. */
/* bad (may be NULL): an intent whose value cannot be read (treated as absent: left alone), at
 * each call; the caller says it once per key and revision. */
typedef void (*cintent_bad_fn)(void *ctx, const char *key, int64_t rev, const char *why);
/* run: this vmfs's run; an intent tagged self.run.* is a launch, move or migration of this
 * run under way, never recovered here (the first pass may come after the first launch). */
int cintent_recover(struct etcd *c, const char *cluster, const char *self, uint64_t run, bool own,
		    bool others, uint64_t now, cintent_here_fn here, cintent_say_fn say,
		    cintent_bad_fn bad, void *ctx, char *err, size_t errlen);

/* Whether host self, in its run, recovers as its own an intent tagged tag whose host is
 * holder: held by self (its own or adopted) and not of its current run. */
bool cintent_own_stale(const char *self, uint64_t run, const struct ckey_tag *tag,
		       const char *holder);

/* "k[1-30]"-like summary of an intent's names for log lines: the first few, then "and N more". */
void cintent_names(const struct crec_intent *in, char *out, size_t len);
#endif
