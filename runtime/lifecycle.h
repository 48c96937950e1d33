/* The lifecycle of VMs and containers: one table (runtime/lifecycle.c) says, for each state
 * and each event, what is done and which state follows. Events are the ctl verbs (asked) and
 * what the backends (runtime/backend.h) and vmfs's restart report; lifecycle_do and
 * lifecycle_event are the only ways a state changes, so every change is logged and saved in
 * one place. */
#ifndef VMFS_LIFECYCLE_H
#define VMFS_LIFECYCLE_H
#include "runtime/err.h"
#include "runtime/model.h"

enum verb { V_START, V_STOP, V_PAUSE, V_RESUME, V_KILL, V_RESTART, V_FLUSH, V_MAX };

const char *verb_name(enum verb v);
int verb_parse(const char *word); /* -1 if unknown */
/* 0 if o's state allows verb and no start or commit of o is in its way, else -EBUSY with
 * the reason. */
int lifecycle_legal_err(const struct object *o, enum verb v, struct err *e);
/* Carries out verb on o: -EBUSY (with the reason) if o's state does not allow it. */
int lifecycle_do_err(struct model *m, struct object *o, enum verb v, struct err *e);
/* The same for vmfs, which still passes (err, errlen): the reason is copied once, here. */
int lifecycle_legal(const struct object *o, enum verb v, char *err, size_t errlen);
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
int lifecycle_remove_err(struct model *m, struct object *o, struct err *e);
int lifecycle_remove(struct model *m, struct object *o, char *err, size_t errlen);
/* A start that failed, e saying why: o is ERROR, the reason whole in its log (info's exit
 * line has its start); returns -e->no. */
int lifecycle_fail(struct model *m, struct object *o, struct err *e);

/* What happens to an object. The first are the verbs, asked through ctl (enum verb's order);
 * the rest are reported by the backends and by vmfs's restart. */
enum lcevent {
	EV_START = V_START,
	EV_STOP = V_STOP,
	EV_PAUSE = V_PAUSE,
	EV_RESUME = V_RESUME,
	EV_KILL = V_KILL,
	EV_RESTART = V_RESTART,
	EV_FLUSH = V_FLUSH,
	EV_READY = V_MAX, /* a start has finished: its process runs */
	EV_START_FAILED,  /* a start failed (lifecycle_fail) */
	EV_EXITED,        /* its process ended: stopped, killed, init's exit, the guest off */
	EV_FAILED,        /* it ended in error (the OOM killer, a panic, found gone unrecorded) */
	EV_RESUMED,       /* its guest runs again: QEMU says so, a commit's or restart's cont */
	EV_GUEST_STOPPED, /* QEMU stopped the guest (through the qmp file, a disk error) */
	EV_ADOPTED,       /* a restarted vmfs found its process running */
	EV_MAX
};

/* What an allowed event does besides the change of state. */
enum lcaction {
	A_NONE,
	A_START,        /* the backend's start_spawn, then start_finish */
	A_STOP,         /* the backend's verbs */
	A_PAUSE,
	A_RESUME,
	A_KILL,         /* kill_signal, then kill_wait */
	A_RESTART,
	A_REMOVE,       /* lifecycle_remove */
	A_CLEAR_INTENT, /* the start is over: run/intent goes */
	A_UNDO_START,   /* a failed start: its devices and run/intent go */
};

#define LC_SAME (-1) /* the state does not change here (the action's own events may change it) */

/* One cell of the table. A verb's next state is entered once its action has succeeded; a
 * reported event's at once, its action after. */
struct lcstep {
	signed char next; /* an enum ostate, or LC_SAME */
	unsigned char action; /* enum lcaction */
	const char *why; /* the reason logged with the change, unless the event gives one */
};

const char *lifecycle_event_name(enum lcevent e); /* "start" ... "adopted" */
/* The cell for e in state s; NULL if s refuses e. */
const struct lcstep *lifecycle_step(enum ostate s, enum lcevent e);
/* 0 if o's state allows e, else -EBUSY with the reason in err (if err): "NAME is STATE: EVENT
 * needs it STATES". */
int lifecycle_allows(const struct object *o, enum lcevent e, char *err, size_t errlen);
/* e has happened to o (a reported event, not a verb): enters its next state (logged with why,
 * or the table's words) and does its action. -EBUSY, changing nothing, if o's state refuses
 * it: the callers that report what may be stale (QEMU's run state) rely on that. */
int lifecycle_event(struct model *m, struct object *o, enum lcevent e, const char *why);
/* The state an object is created in (BUILDING) or loaded in from its state file: set as it
 * is, not logged or saved, since nothing happened to it. */
void lifecycle_init(struct object *o, enum ostate s);
#endif
