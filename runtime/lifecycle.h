/* The lifecycle of VMs and containers: which verb is legal in which state, and the backend
 * (QEMU, containers) that carries it out. ctl verbs, QMP events and child exits all end in
 * lifecycle_set, so state changes are logged and saved in one place. */
#ifndef VMFS_LIFECYCLE_H
#define VMFS_LIFECYCLE_H
#include "runtime/model.h"

enum verb { V_START, V_STOP, V_PAUSE, V_RESUME, V_KILL, V_RESTART, V_FLUSH, V_MAX };

/* What runs an object type; a NULL function means the type cannot do that yet. */
struct backend {
	const char *what; /* "QEMU VMs", "containers" */
	int (*start)(struct model *m, struct object *o, char *err, size_t errlen);
	int (*stop)(struct model *m, struct object *o, char *err, size_t errlen);
	int (*pause)(struct model *m, struct object *o, char *err, size_t errlen);
	int (*resume)(struct model *m, struct object *o, char *err, size_t errlen);
	int (*kill)(struct model *m, struct object *o, char *err, size_t errlen);
	int (*restart)(struct model *m, struct object *o, char *err, size_t errlen);
	/* Optional halves of start and kill, so that many objects proceed side by side:
	 * start_spawn returns a descriptor that start_finish waits on. */
	int (*start_spawn)(struct model *m, struct object *o, char *err, size_t errlen);
	int (*start_finish)(struct model *m, struct object *o, int fd, int timeout_ms, char *err,
			    size_t errlen);
	int start_timeout_ms; /* how long start_finish may wait in all */
	int (*kill_signal)(struct model *m, struct object *o, char *err, size_t errlen);
	int (*kill_wait)(struct model *m, struct object *o, char *err, size_t errlen);
};

extern const struct backend *backends[2]; /* [OT_VM], [OT_CT] */

const char *verb_name(enum verb v);
int verb_parse(const char *word); /* -1 if unknown */
/* 0 if o's state allows verb, else -EBUSY with the reason. */
int lifecycle_legal(const struct object *o, enum verb v, char *err, size_t errlen);
/* Carries out verb on o: -EBUSY (with the reason) if o's state does not allow it. */
int lifecycle_do(struct model *m, struct object *o, enum verb v, char *err, size_t errlen);
/* verb on every object of objs (all in a legal state): starts and kills overlap. Stops
 * at the first failure, with its reason; returns how many were done in *done. With wait,
 * starts finish in the background: -EINPROGRESS and *wait, a batch whose queue wakes when
 * the last has finished (then lifecycle_batch_end), while vmfs answers everything else. */
struct lcbatch;
int lifecycle_do_many(struct model *m, struct object **objs, size_t n, enum verb v,
		      struct lcbatch **wait, size_t *done, char *err, size_t errlen);
struct waitq *lifecycle_batch_wq(struct lcbatch *b);
/* A batch's outcome, like lifecycle_do_many's; frees it. -EINPROGRESS while some wait. */
int lifecycle_batch_end(struct lcbatch *b, enum verb *v, size_t *done, char *err, size_t errlen);
/* Nobody waits for the answer any more: the batch goes on and frees itself. */
void lifecycle_batch_abandon(struct lcbatch *b);
/* Finishes o's pending start now (waiting until its deadline at most): before a removal,
 * at exit, and from run_tick once the deadline has passed. */
void lifecycle_start_settle(struct model *m, struct object *o, bool deadline_only);
/* rmdir and flush: kills it if it runs, then removes every trace. */
int lifecycle_remove(struct model *m, struct object *o, char *err, size_t errlen);
/* A start that failed: o is ERROR with why (also in err and info's exit line); returns r. */
int lifecycle_fail(struct model *m, struct object *o, const char *why, int r, char *err,
		   size_t errlen);
/* Records a new state (logged and saved). */
void lifecycle_set(struct model *m, struct object *o, enum ostate s, const char *why);
#endif
