/* Long work in slices. vmfs answers every request from one event loop, so a ctl write that
 * acts on 20,000 objects, or holds a thousand commands, must not run to its end in one go:
 * it works for SLICE_MS, then parks (its writer waits, as for a start) and goes on in the
 * loop's next turn, after the requests that came meanwhile (`cat version`, `cat info`)
 * have been answered. */
#ifndef VMFS_SLICE_H
#define VMFS_SLICE_H
#include <stdbool.h>
#include <stddef.h>

#include "runtime/lifecycle.h"

#define SLICE_MS 2

struct loop;
struct vmfs;

/* The event loop wakes the slice queue in its next turn once slice_yield was called. A
 * request readable on urgent_fd (the FUSE device) ends the slice at once. */
int slice_attach(struct loop *l, int urgent_fd);
/* The front end answered a request just now. */
void slice_note_request(void);
/* Where a write that yielded waits for its next slice. */
struct waitq *slice_wq(void);
/* A piece of work starts now; slice_over: its SLICE_MS are spent, or a request waits. */
void slice_begin(void);
bool slice_over(void);
/* The work stops here and goes on when slice_wq wakes. */
void slice_yield(void);

/* A verb on many objects of one namespace, done a few objects at a time. */
struct nsjob;
/* Takes objs (references are taken here); explicit: each was named, so one that can no
 * longer take the verb when its turn comes fails the job (else it is skipped). */
struct nsjob *nsjob_new(struct ns *ns, enum verb verb, struct object **objs, size_t n,
			bool explicit);
/* launch of many: names (range_expand's, now the job's) are checked free at once, then
 * made a chunk at a time (each chunk all or nothing); like may be NULL. */
int nsjob_launch(struct ns *ns, enum otype type, char **names, size_t n,
		 const struct object *like, struct nsjob **out, char *err, size_t errlen);
/* Works until the slice is over: -EINPROGRESS (it yielded), or the outcome: 0 and
 * "ok: VERB N" in reply, or the first failure with its reason in err. */
int nsjob_run(struct vmfs *v, struct nsjob *j, struct sbuf *reply, char *err, size_t errlen);
/* Runs j's first slice: if it is not done, j goes on in the background (in *wait, for the
 * write to wait on: vmfs/vreq.h) and this returns -EINPROGRESS; else it is freed. */
int nsjob_start(struct vmfs *v, struct nsjob *j, struct nsjob **wait, struct sbuf *reply,
		char *err, size_t errlen);
/* Frees it; a job not finished stops where it is (its writer went away), and says so in
 * the namespace's log. */
void nsjob_free(struct nsjob *j);
#endif
