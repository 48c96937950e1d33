/* The lifecycle's table, the one place a state changes, and the verbs carried out on one
 * object (runtime/lifecycle_batch.c carries them out on many). */
#include "runtime/lifecycle.h"

#include <string.h>
#include <time.h>

#include "runtime/backend.h"
#include "runtime/migrate.h"
#include "runtime/net.h"
#include "runtime/run.h"
#include "runtime/vm.h"

#define NSTATES (ST_ERROR + 1)

static const char *const event_names[EV_MAX] = {
	"start", "stop",         "pause",  "resume", "kill",    "restart",       "flush",
	"ready", "start-failed", "exited", "failed", "resumed", "guest-stopped", "adopted",
};

const char *verb_name(enum verb v) { return event_names[v]; }

const char *lifecycle_event_name(enum lcevent e) { return event_names[e]; }

int verb_parse(const char *word)
{
	for (int v = 0; v < V_MAX; v++)
		if (!strcmp(word, event_names[v]))
			return v;
	return -1;
}

#define B (1u << ST_BUILDING)
#define R (1u << ST_RUNNING)
#define P (1u << ST_PAUSED)
#define Q (1u << ST_QUIT)
#define E (1u << ST_ERROR)

/* The lifecycle: in the states of a row, the event does the action and leads to the next
 * state; an event in a state no row names is refused (s6-supervise's action table, with the
 * events the backends report beside the verbs). docs/tree.md's "States and verbs" shows it as
 * a grid; tests/unit/test_lifecycle.c holds the two together. */
static const struct row {
	enum lcevent event;
	unsigned states;
	struct lcstep step; /* next state, action, words for the log */
} table[] = {
	// clang-format off
	{EV_START,		B | Q | E,		{LC_SAME, A_START}},
	{EV_STOP,		R | P,			{LC_SAME, A_STOP}},
	{EV_PAUSE,		R,			{ST_PAUSED, A_PAUSE}},
	{EV_RESUME,		P,			{ST_RUNNING, A_RESUME}},
	/* as in minimega: nothing runs yet */
	{EV_KILL,		B,			{ST_QUIT, A_NONE, "killed before it started"}},
	{EV_KILL,		R | P,			{LC_SAME, A_KILL}},
	{EV_RESTART,		R | P,			{LC_SAME, A_RESTART}},
	{EV_FLUSH,		Q | E,			{LC_SAME, A_REMOVE}},
	{EV_READY,		B | Q | E,		{ST_RUNNING, A_CLEAR_INTENT}},
	{EV_START_FAILED,	B | Q | E,		{ST_ERROR, A_UNDO_START}},
	/* an end is news in any state: init may end before its start has finished */
	{EV_EXITED,		B | R | P | Q | E,	{ST_QUIT, A_NONE}},
	{EV_FAILED,		B | R | P | Q | E,	{ST_ERROR, A_NONE}},
	/* QEMU's run state comes after each of its events: what the state says already is no news */
	{EV_RESUMED,		R,			{LC_SAME, A_NONE}},
	{EV_RESUMED,		P,			{ST_RUNNING, A_NONE}},
	{EV_GUEST_STOPPED,	R,			{ST_PAUSED, A_NONE}},
	{EV_ADOPTED,		B | Q | E,		{ST_RUNNING, A_CLEAR_INTENT,
						 "its start had finished when vmfs was killed"}},
	{EV_ADOPTED,		R | P,			{LC_SAME, A_CLEAR_INTENT}},
	// clang-format on
};

const struct lcstep *lifecycle_step(enum ostate s, enum lcevent e)
{
	for (size_t i = 0; (unsigned)s < NSTATES && i < ARRAY_SIZE(table); i++)
		if (table[i].event == e && table[i].states & (1u << s))
			return &table[i].step;
	return NULL;
}

static int allows(const struct object *o, enum lcevent e, struct err *er)
{
	if (lifecycle_step(o->state, e))
		return 0;
	/* the states that take it, in the table's order: "BUILDING, QUIT or ERROR" */
	char take[NSTATES * 16] = "";
	enum ostate in[NSTATES];
	size_t len = 0;
	int n = 0;
	for (int s = 0; s < NSTATES; s++)
		if (lifecycle_step(s, e))
			in[n++] = s;
	for (int i = 0; i < n; i++)
		len += snprintf(take + len, sizeof(take) - len, "%s%s",
				i == 0 ? " " : i == n - 1 ? " or " : ", ", ostate_name(in[i]));
	return err_set(er, EBUSY, "%s is %s: %s needs it%s", o->name, ostate_name(o->state),
		       event_names[e], take);
}

int lifecycle_allows(const struct object *o, enum lcevent e, char *err, size_t errlen)
{
	struct err er;
	if (!err)
		return lifecycle_step(o->state, e) ? 0 : -EBUSY;
	return err_result(&er, allows(o, e, &er), err, errlen);
}

void lifecycle_init(struct object *o, enum ostate s) { o->state = s; }

/* The one place a state changes. */
static void enter(struct model *m, struct object *o, enum ostate s, const char *why)
{
	if (o->state == s)
		return;
	model_event(o->ns, o, "%s -> %s%s%s", ostate_name(o->state), ostate_name(s),
		    why ? ": " : "", why ? why : "");
	o->state = s;
	o->mtime = time(NULL);
	obj_save(m, o);
	if (s == ST_QUIT || s == ST_ERROR)
		net_stop(m, o); /* however it ended: its devices go */
}

static int act(struct model *m, struct object *o, enum lcaction a, struct err *e)
{
	const struct backend *b = backend_of(o);
	int r;
	switch (a) {
	case A_START:
		r = b->start_spawn(m, o, e);
		return r < 0 ? r : b->start_finish(m, o, r, b->start_timeout_ms, e);
	case A_KILL:
		r = b->kill_signal(m, o, e);
		return r ? r : b->kill_wait(m, o, e);
	case A_STOP:
		return b->stop(m, o, e);
	case A_PAUSE:
		return b->pause(m, o, e);
	case A_RESUME:
		return b->resume(m, o, e);
	case A_RESTART:
		return b->restart(m, o, e);
	case A_REMOVE:
		return lifecycle_remove_err(m, o, e);
	case A_UNDO_START:
		net_stop(m, o); /* also when it was ERROR before: enter did nothing then */
		/* fall through */
	case A_CLEAR_INTENT:
		run_intent_clear(m, o);
		return 0;
	case A_NONE:
		break;
	}
	return 0;
}

int lifecycle_event(struct model *m, struct object *o, enum lcevent e, const char *why)
{
	const struct lcstep *s = e >= EV_READY ? lifecycle_step(o->state, e) : NULL;
	if (!s)
		return -EBUSY;
	if (s->next != LC_SAME)
		enter(m, o, s->next, why ? why : s->why);
	struct err ignored; /* a reported event's action has no one to answer */
	return act(m, o, s->action, &ignored);
}

int lifecycle_legal_err(const struct object *o, enum verb v, struct err *e)
{
	if (o->rt.starting && (v == V_KILL || v == V_FLUSH))
		return 0; /* judged again once the start has finished (lifecycle_start_settle) */
	if (o->rt.starting)
		return err_set(e, EBUSY, "%s is starting: %s waits until it has started", o->name,
			       event_names[v]);
	/* a commit copies the disk of a paused VM: only kill and removal may cut in */
	if (o->rt.job && v != V_KILL && v != V_FLUSH)
		return err_set(e, EBUSY, "%s is being committed to an image: %s waits until the "
			       "copy ends (kill or rmdir cancel it)", o->name, event_names[v]);
	if (migrate_refuses(o, v, e))
		return -e->no;
	return allows(o, (enum lcevent)v, e);
}

int lifecycle_do_err(struct model *m, struct object *o, enum verb v, struct err *e)
{
	if (v == V_KILL || v == V_FLUSH)
		lifecycle_start_settle(m, o, false); /* what a kill hits must have finished starting */
	int r = lifecycle_legal_err(o, v, e);
	if (r)
		return r;
	if (v == V_KILL && migrate_incoming(o)) {
		migrate_in_abort(m, o, "killed");
		return 0;
	}
	enum ostate before = o->state;
	const struct lcstep *s = lifecycle_step(before, (enum lcevent)v);
	r = act(m, o, s->action, e);
	/* the action's own events (an end seen meanwhile) have the last word */
	if (!r && s->next != LC_SAME && o->state == before)
		enter(m, o, s->next, s->why);
	return r;
}

int lifecycle_remove_err(struct model *m, struct object *o, struct err *e)
{
	lifecycle_start_settle(m, o, false); /* a QEMU half-started would run on, orphaned */
	vm_job_cancel(m, o, "the VM is being removed");
	migrate_in_abort(m, o, "removed");
	migrate_out_stop(m, o);
	if (o->state == ST_RUNNING || o->state == ST_PAUSED) {
		int r = lifecycle_do_err(m, o, V_KILL, e);
		if (r)
			return r;
	}
	/* all or nothing: what it holds outside the state directory goes first */
	int r = run_gone(m, o, e);
	if (r)
		return r;
	run_unwatch_pid(m, o);
	/* its directory holds the run directory */
	return err_took(e, obj_remove(m, o, e->why, sizeof(e->why)));
}

int lifecycle_legal(const struct object *o, enum verb v, char *err, size_t errlen)
{
	struct err e;
	err_clear(&e);
	return err_result(&e, lifecycle_legal_err(o, v, &e), err, errlen);
}

int lifecycle_do(struct model *m, struct object *o, enum verb v, char *err, size_t errlen)
{
	struct err e;
	err_clear(&e);
	return err_result(&e, lifecycle_do_err(m, o, v, &e), err, errlen);
}

int lifecycle_remove(struct model *m, struct object *o, char *err, size_t errlen)
{
	struct err e;
	err_clear(&e);
	return err_result(&e, lifecycle_remove_err(m, o, &e), err, errlen);
}

int lifecycle_fail(struct model *m, struct object *o, struct err *e)
{
	if (!e->no)
		e->no = EIO;
	err_ensure(e, -e->no);
	run_exit_error(o, e->why);
	migrate_in_failed(o);
	lifecycle_event(m, o, EV_START_FAILED, e->why);
	return -e->no;
}
