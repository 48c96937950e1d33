/* What a host needs to keep a copy of part of etcd current (issue 18's merged tables): one
 * consistent snapshot of a prefix, then a watch of every change after it.
 *
 * The pattern: etcd_range_snapshot(prefix, 0) gives the keys and the revision R they were
 * read at; etcd_watch_open(prefix, R + 1) streams every change after, in order, none lost,
 * none twice, on a thread of its own, across etcd nodes going down. If etcd has compacted
 * what the watch needs (it was away too long), or the caller took too little too slowly, the
 * watch says COMPACTED and stops: range again, watch again. */
#ifndef VMFS_ETCD_WATCH_H
#define VMFS_ETCD_WATCH_H
#include "etcd/client.h"

/* A snapshot is read in pages of this many keys, each at the same revision. */
#define ETCD_PAGE 256
/* What one snapshot may hold at most (EFBIG beyond): keys, and bytes of keys and values. */
#define ETCD_SNAPSHOT_KEYS (1 << 20)
#define ETCD_SNAPSHOT_BYTES (1L << 30)

/* Every key starting with prefix at one revision (rev 0: now), paged (limit per request) so a
 * large prefix never makes one huge answer; out->revision is that revision. -ERANGE with words
 * if rev was compacted (gRPC code 11). BLOCKS for up to the handle's timeout per page. */
int etcd_range_snapshot(struct etcd *c, const char *prefix, int64_t rev, struct etcd_kvs *out,
			struct err *e);

/* The bounds of what a watch queues for its taker: beyond either, it reports COMPACTED (with
 * compact_revision 0) and stops, so the taker resyncs rather than the queue growing. */
#define ETCD_WATCH_QUEUE_EVENTS 65536
#define ETCD_WATCH_QUEUE_BYTES (64L << 20)

enum etcd_evtype { ETCD_EV_PUT, ETCD_EV_DELETE };
struct etcd_event {
	enum etcd_evtype type;
	struct etcd_kv kv; /* DELETE: key and mod_revision (the delete's revision) only */
};
struct etcd_watch;
/* Starts a thread of its own (its own connection; TCP keep-alives idle 2 s, intvl 1 s, 2
 * probes, so a dead etcd node ends it within ~4 s; then the next endpoint, resuming from the
 * revision after the last event handed over) streaming the events of every key starting with
 * prefix, from start_revision on (0: from now). Nothing blocks the caller. */
int etcd_watch_open(const struct etcd_opts *o, const char *prefix, int64_t start_revision,
		    struct etcd_watch **out, struct err *e);
/* readable (an eventfd) when something can be taken */
int etcd_watch_fd(const struct etcd_watch *w);
enum etcd_wstatus {
	ETCD_W_EVENTS,	  /* events[0..n) in revision order, none lost, none twice */
	ETCD_W_NONE,	  /* nothing now */
	ETCD_W_COMPACTED, /* start was compacted: the caller ranges again (snapshot) and opens a new
			   * watch from its revision + 1; compact_revision says etcd's (0: the
			   * queue overflowed, why says so). The thread has stopped. */
	ETCD_W_DOWN,	  /* no endpoint answers for now (why says what); the thread keeps trying */
	ETCD_W_UP,	  /* answering again after DOWN, resumed where it was (nothing lost) */
};
struct etcd_wbatch {
	enum etcd_wstatus status;
	struct etcd_event *events;
	size_t n;
	int64_t compact_revision;
	char why[512];
};
/* Takes what is queued (non-blocking): all the events queued before the next DOWN, UP or
 * COMPACTED, else that; free with etcd_wbatch_free. 0 (always: a batch can always be told). */
int etcd_watch_take(struct etcd_watch *w, struct etcd_wbatch *out);
void etcd_wbatch_free(struct etcd_wbatch *b);
void etcd_watch_close(struct etcd_watch *w); /* stops and joins the thread */
#endif
