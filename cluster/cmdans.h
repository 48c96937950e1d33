/* The answer to a command that spans hosts (docs/cluster-design.md, "Commands"): what each
 * host did, the lines the writer reads back, the one errno of the write, and the command's
 * id. Pure: no I/O, no clock, no globals; the head fills one struct hostans per host it had
 * to ask (from its answer record, or from what it saw: down, cancelled, late...) and renders.
 *
 * Every text in a hostans may come from a peer (an answer record, a host's name from a key):
 * rendering escapes it (ctl_escape: no newline, no control byte, one line per host) and bounds
 * it, so a member cannot add lines to the answer nor move the reader's cursor. */
#ifndef VMFS_CLUSTER_CMDANS_H
#define VMFS_CLUSTER_CMDANS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ctl/ctl.h"
#include "runtime/util.h"

#define HOSTANS_REASON_MAX 512 /* bytes of a member's reason kept, and shown (escaped) */

enum hostans_kind {
	HA_DONE,	  /* taken, applied, answered ok: count objects acted on */
	HA_REFUSED,	  /* taken and answered with an errno: err, reason (count done before) */
	HA_DOWN_NOT_SENT, /* its host was down: nothing sent (objects, down_since) */
	HA_CANCELLED,	  /* not taken within the window (window_ms): the cancel won */
	HA_LATE,	  /* taken, but the take was answered after B (took_ms): not applied */
	HA_UNKNOWN,	  /* taken and no answer (or a cancel never confirmed): may be applied */
	HA_FORGED,	  /* taken by another host (taker): refused as forged, not applied */
};

struct hostans {
	char host[NAME_MAX_LEN + 1];
	enum hostans_kind kind;
	int err; /* HA_REFUSED: the member's errno, positive (0 is taken as EIO) */
	char reason[HOSTANS_REASON_MAX]; /* HA_REFUSED: the member's words, as it sent them */
	unsigned long count;		 /* HA_DONE, HA_REFUSED: objects the verb acted on there */
	time_t down_since;   /* HA_DOWN_NOT_SENT; HA_CANCELLED: nonzero if the host is down */
	bool since_at_least; /* nobody saw it go: "down since at least T" */
	unsigned objects;    /* HA_DOWN_NOT_SENT: objects the command would have sent */
	unsigned window_ms;  /* HA_CANCELLED: the take window; HA_UNKNOWN: how long waited */
	unsigned took_ms;    /* HA_LATE: when the take's answer came */
	bool taken;	     /* HA_UNKNOWN: the take was seen (else the cancel never confirmed) */
	char taker[NAME_MAX_LEN + 1]; /* HA_FORGED: the host that took it */
};

/* The errno of a host's part: 0 for HA_DONE. A refusal carries its member's; "outcome
 * unknown" is ETIMEDOUT; every part certainly not applied (down, cancelled, late, forged) is
 * EHOSTDOWN. */
int hostans_errno(const struct hostans *a);

/* The errno of the write, by the design's rule, over a[0..n) in hosts order (see cmdans_order):
 * 0 if every part is HA_DONE; else 1. the errno every failed part shares; 2. else the errno of
 * the first host whose member refused; 3. else ETIMEDOUT if any outcome is unknown;
 * 4. else EHOSTDOWN. */
int cmdans_errno(const struct hostans *a, size_t n);

/* Indexes of a[0..n) into idx[0..n) in the order of hosts[0..nhosts) (the namespace's
 * `hosts`); answers from hosts not in it follow, in their own order. */
void cmdans_order(const struct hostans *a, size_t n, const char *const *hosts, size_t nhosts,
		  size_t *idx);

/* One host's line with its newline, as the design shows them:
 *   h1: ok start 10
 *   h3: ENOENT: c25: images/debian.qcow2: No such file or directory
 *   h4: down since 2026-12-06T20:41:07Z: not sent (10 objects)
 *   h5: not taken within 2.0 s: cancelled (h5 is up: its link to etcd is slow or cut)
 * verb is the command's word (start, launch ...). */
void cmdans_line(const struct hostans *a, const char *verb, struct sbuf *out);

/* The whole answer: every host's line in hosts order, then the sum, "ok: start 19" or
 * "error: start: 19 started; h3, h4, h5 failed". Returns 0 or -errno (cmdans_errno). hosts
 * may be NULL: a[] is then already in hosts order. On out of memory out->oom is set. */
int cmdans_render(const struct hostans *a, size_t n, const char *const *hosts, size_t nhosts,
		  const char *verb, struct sbuf *out);


/* A command's id, HEAD.RUN.SEQ: the head's name, its run (state/ids' start number) and a
 * counter. Unique without coordination; the key P/cmd/H/ID. The head is a vmfs name (it may
 * hold dots: RUN and SEQ are the last two fields), RUN and SEQ decimal without leading zeros
 * (one spelling per id: the id is a key) and at most 10^18. */
struct cmdid {
	char head[NAME_MAX_LEN + 1];
	uint64_t run, seq;
};
#define CMDID_MAX (NAME_MAX_LEN + 2 * 20 + 3) /* with its NUL */
/* 0, or -EINVAL with err if head is not a name or a number is out of range. */
int cmdid_format(const struct cmdid *id, char *out, size_t len, char *err, size_t errlen);
int cmdid_parse(const char *s, struct cmdid *id, char *err, size_t errlen);
#endif
