/* runtime/lifecycle.c: the table of states and events. Every (state, event) pair gives the
 * state written here or a refusal; docs/tree.md's table says the same; an event is logged,
 * saved and refused as the table says. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/lifecycle.h"
#include "runtime/model.h"
#include "tests/unit/tap.h"

#define NSTATES 5
/* the next state in each column: K keeps it, X refuses the event */
#define X (-2)
#define K LC_SAME
#define B ST_BUILDING
#define U ST_RUNNING
#define P ST_PAUSED
#define Q ST_QUIT
#define E ST_ERROR

/* The documented lifecycle, written out again by hand: a change to the table must be made
 * here too, on purpose. */
static const int want[EV_MAX][NSTATES] = {
	/*                     B  U  P  Q  E */
	[EV_START] =          {K, X, X, K, K},
	[EV_STOP] =           {X, K, K, X, X},
	[EV_PAUSE] =          {X, P, X, X, X},
	[EV_RESUME] =         {X, X, U, X, X},
	[EV_KILL] =           {Q, K, K, X, X},
	[EV_RESTART] =        {X, K, K, X, X},
	[EV_FLUSH] =          {X, X, X, K, K},
	[EV_READY] =          {U, X, X, U, U},
	[EV_START_FAILED] =   {E, X, X, E, E},
	[EV_EXITED] =         {Q, Q, Q, Q, Q},
	[EV_FAILED] =         {E, E, E, E, E},
	[EV_RESUMED] =        {X, K, U, X, X},
	[EV_GUEST_STOPPED] =  {X, P, X, X, X},
	[EV_ADOPTED] =        {U, K, K, U, U},
};

/* What each verb does when its state takes it (the kill of a BUILDING object: nothing). */
static const enum lcaction verb_action[V_MAX] = {
	[V_START] = A_START, [V_STOP] = A_STOP,       [V_PAUSE] = A_PAUSE, [V_RESUME] = A_RESUME,
	[V_KILL] = A_KILL,   [V_RESTART] = A_RESTART, [V_FLUSH] = A_REMOVE,
};

static int got(enum ostate s, enum lcevent e)
{
	const struct lcstep *st = lifecycle_step(s, e);
	return st ? st->next : X;
}

static void table_matches(void)
{
	int wrong = 0;
	for (int e = 0; e < EV_MAX; e++)
		for (int s = 0; s < NSTATES; s++)
			if (got(s, e) != want[e][s]) {
				printf("# %s in %s: %d, documented %d\n", lifecycle_event_name(e),
				       ostate_name(s), got(s, e), want[e][s]);
				wrong++;
			}
	ok(wrong == 0, "every (state, event) pair gives the documented state or a refusal");
	wrong = 0;
	for (int v = 0; v < V_MAX; v++)
		for (int s = 0; s < NSTATES; s++) {
			const struct lcstep *st = lifecycle_step(s, v);
			enum lcaction a = v == V_KILL && s == ST_BUILDING ? A_NONE : verb_action[v];
			wrong += st && st->action != a;
		}
	ok(wrong == 0, "a verb taken does its backend's action (a BUILDING kill none)");
	const struct lcstep *st = lifecycle_step(ST_BUILDING, EV_KILL);
	ok(st && st->why && !strcmp(st->why, "killed before it started"),
	   "a BUILDING kill is logged as killed before it started");
	ok(lifecycle_step(NSTATES, EV_START) == NULL && lifecycle_step(ST_QUIT, EV_MAX) == NULL,
	   "a state or event out of range is refused");
	ok(!strcmp(lifecycle_event_name(EV_START), "start") && !strcmp(verb_name(V_FLUSH), "flush") &&
		   verb_parse("restart") == V_RESTART && verb_parse("ready") == -1,
	   "verbs are the first events, and only they parse as verbs");
}

/* "| `start` | · | — | ... |": the event's name, then a cell per state. */
static int doc_cell(const char *c)
{
	while (*c == ' ')
		c++;
	if (!strncmp(c, "·", strlen("·")))
		return K;
	if (!strncmp(c, "—", strlen("—")))
		return X;
	for (int s = 0; s < NSTATES; s++) {
		char w[32];
		snprintf(w, sizeof(w), "`%s`", ostate_name(s));
		if (!strncmp(c, w, strlen(w)))
			return s;
	}
	return -9;
}

static void doc_matches(void)
{
	/* the docs of the checkout this test lies in: ../../docs from tests/unit/ */
	char path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", path, PATH_MAX);
	path[n > 0 ? n : 0] = 0;
	char *slash = strrchr(path, '/');
	snprintf(slash ? slash : path, sizeof(path) - (slash ? slash - path : 0), "%s",
		 slash ? "/../../docs/tree.md" : "docs/tree.md");
	FILE *f = fopen(path, "r");
	ok(f != NULL, "%s opens", path);
	if (!f)
		return;
	char line[1024];
	bool in = false, seen[EV_MAX] = {0};
	int rows = 0, wrong = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "| verb or event |", 17)) {
			in = true;
			continue;
		}
		if (!in || !strncmp(line, "|---", 4))
			continue;
		if (line[0] != '|')
			break;
		char *name = strchr(line, '`'), *end = name ? strchr(name + 1, '`') : NULL;
		int e = -1;
		for (int i = 0; end && i < EV_MAX; i++)
			if ((size_t)(end - name - 1) == strlen(lifecycle_event_name(i)) &&
			    !strncmp(name + 1, lifecycle_event_name(i), end - name - 1))
				e = i;
		if (e < 0) {
			printf("# a row of no event: %s", line);
			wrong++;
			continue;
		}
		seen[e] = true;
		rows++;
		char *c = strchr(line + 1, '|'); /* past the label: a cell per state */
		for (int s = 0; s < NSTATES; s++, c = c ? strchr(c + 1, '|') : NULL)
			if (!c || doc_cell(c + 1) != got(s, e)) {
				printf("# docs/tree.md: %s in %s says %d, the table %d\n",
				       lifecycle_event_name(e), ostate_name(s), c ? doc_cell(c + 1) : -9,
				       got(s, e));
				wrong++;
			}
	}
	fclose(f);
	int missing = 0;
	for (int e = 0; e < EV_MAX; e++)
		missing += !seen[e];
	ok(rows == EV_MAX && missing == 0, "docs/tree.md has a row per event (%d of %d)", rows,
	   EV_MAX);
	ok(wrong == 0, "docs/tree.md's lifecycle table is the table");
}

static void refusals(void)
{
	struct object o = {.state = ST_QUIT};
	char err[256];
	snprintf(o.name, sizeof(o.name), "w1");
	ok(lifecycle_legal(&o, V_KILL, err, sizeof(err)) == -EBUSY, "kill a QUIT object: EBUSY");
	is_str(err, "w1 is QUIT: kill needs it BUILDING, RUNNING or PAUSED", "... in today's words");
	o.state = ST_RUNNING;
	ok(lifecycle_legal(&o, V_START, err, sizeof(err)) == -EBUSY, "start a RUNNING one: EBUSY");
	is_str(err, "w1 is RUNNING: start needs it BUILDING, QUIT or ERROR", "... with the states");
	ok(lifecycle_legal(&o, V_RESUME, err, sizeof(err)) == -EBUSY, "resume a RUNNING one");
	is_str(err, "w1 is RUNNING: resume needs it PAUSED", "... one state named alone");
	o.state = ST_QUIT;
	ok(lifecycle_allows(&o, EV_RESUMED, err, sizeof(err)) == -EBUSY, "an event is refused too");
	is_str(err, "w1 is QUIT: resumed needs it RUNNING or PAUSED", "... in the same words");
	ok(lifecycle_allows(&o, EV_EXITED, NULL, 0) == 0, "an end is taken in any state");
	char tiny[12];
	ok(lifecycle_legal(&o, V_PAUSE, tiny, sizeof(tiny)) == -EBUSY && strlen(tiny) == 11,
	   "a short buffer gets the words cut, not overrun");

	o.state = ST_BUILDING;
	o.rt.starting = (struct lcpend *)&o; /* only looked at, never followed */
	ok(lifecycle_legal(&o, V_START, err, sizeof(err)) == -EBUSY, "a verb while it starts: EBUSY");
	is_str(err, "w1 is starting: start waits until it has started", "... saying why");
	ok(lifecycle_legal(&o, V_KILL, err, sizeof(err)) == 0 &&
		   lifecycle_legal(&o, V_FLUSH, err, sizeof(err)) == 0,
	   "kill and flush are judged once the start has finished");
	o.rt.starting = NULL;
	o.state = ST_PAUSED;
	o.rt.job = (struct vmjob *)&o;
	ok(lifecycle_legal(&o, V_RESUME, err, sizeof(err)) == -EBUSY &&
		   strstr(err, "is being committed to an image") != NULL,
	   "a verb during a commit: EBUSY (%s)", err);
	ok(lifecycle_legal(&o, V_KILL, err, sizeof(err)) == 0, "kill cuts into a commit");
}

static bool log_has(const char *state, const char *text)
{
	char path[256], buf[4096] = "";
	snprintf(path, sizeof(path), "%s/ns/default/vms/w1/log", state);
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	return strstr(buf, text) != NULL;
}

static void events(void)
{
	char dir[] = "/tmp/vmfs-lifecycle-XXXXXX", state[128], images[128], err[512];
	struct model m;
	ok(mkdtemp(dir) != NULL, "a temporary directory");
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(images, sizeof(images), "%s/images", dir);
	ok(model_open(&m, state, images, err, sizeof(err)) == 0, "a model opens");
	struct ns *ns = ns_find(&m, "default");
	char *names[] = {"w1"};
	ok(ns && obj_create_many(&m, ns, OT_VM, names, 1, NULL, err, sizeof(err)) == 0, "a VM");
	struct object *o = ns ? obj_find(ns, OT_VM, "w1") : NULL;
	if (!o) {
		model_close(&m);
		return;
	}
	ok(o->state == ST_BUILDING, "it is born BUILDING");
	ok(lifecycle_event(&m, o, EV_GUEST_STOPPED, "x") == -EBUSY && o->state == ST_BUILDING,
	   "an event its state refuses changes nothing");
	ok(lifecycle_event(&m, o, EV_START, NULL) == -EBUSY && o->state == ST_BUILDING,
	   "a verb is not an event to report: lifecycle_do carries it out");
	ok(lifecycle_event(&m, o, EV_FAILED, "out of memory") == 0 && o->state == ST_ERROR,
	   "an end in error: ERROR");
	ok(log_has(state, "BUILDING -> ERROR: out of memory"), "logged with the reason given");
	ok(lifecycle_event(&m, o, EV_EXITED, NULL) == 0 && o->state == ST_QUIT, "an end: QUIT");
	ok(log_has(state, "ERROR -> QUIT\n"), "logged without a reason when none is given");
	ok(lifecycle_do(&m, o, V_PAUSE, err, sizeof(err)) == -EBUSY && o->state == ST_QUIT,
	   "a verb its state refuses: EBUSY, nothing changed");
	model_close(&m);
	ok(model_open(&m, state, images, err, sizeof(err)) == 0, "it opens again");
	ns = ns_find(&m, "default");
	o = ns ? obj_find(ns, OT_VM, "w1") : NULL;
	ok(o && o->state == ST_QUIT, "the state was saved, and is loaded as it was");
	if (o)
		ok(lifecycle_do(&m, o, V_FLUSH, err, sizeof(err)) == 0 &&
			   !obj_find(ns, OT_VM, "w1"),
		   "flush in QUIT removes it");
	model_close(&m);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ok(system(cmd) == 0, "clean up");
}

int main(void)
{
	table_matches();
	doc_matches();
	refusals();
	events();
	return tap_done();
}
