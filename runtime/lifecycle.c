#include "runtime/lifecycle.h"

#include <string.h>

extern const struct backend container_backend;

/* QEMU VMs arrive with their issue; until then a VM stays BUILDING. */
const struct backend *backends[2] = {NULL, &container_backend};

static const char *const verb_names[V_MAX] = {"start", "stop",    "pause", "resume",
					      "kill",  "restart", "flush"};

const char *verb_name(enum verb v) { return verb_names[v]; }

int verb_parse(const char *word)
{
	for (int v = 0; v < V_MAX; v++)
		if (!strcmp(word, verb_names[v]))
			return v;
	return -1;
}

#define B (1u << ST_BUILDING)
#define R (1u << ST_RUNNING)
#define P (1u << ST_PAUSED)
#define Q (1u << ST_QUIT)
#define E (1u << ST_ERROR)

/* The states each verb is legal in (s6-supervise's action table, in one row per verb). */
static const unsigned legal[V_MAX] = {
	[V_START] = B | Q | E,
	[V_STOP] = R | P,
	[V_PAUSE] = R,
	[V_RESUME] = P,
	[V_KILL] = B | R | P,
	[V_RESTART] = R | P,
	[V_FLUSH] = Q | E,
};

static const char *const legal_words[V_MAX] = {
	[V_START] = "BUILDING, QUIT or ERROR",
	[V_STOP] = "RUNNING or PAUSED",
	[V_PAUSE] = "RUNNING",
	[V_RESUME] = "PAUSED",
	[V_KILL] = "BUILDING, RUNNING or PAUSED",
	[V_RESTART] = "RUNNING or PAUSED",
	[V_FLUSH] = "QUIT or ERROR",
};

void lifecycle_set(struct model *m, struct object *o, enum ostate s, const char *why)
{
	if (o->state == s)
		return;
	model_event(o->ns, o, "%s -> %s%s%s", ostate_name(o->state), ostate_name(s),
		    why ? ": " : "", why ? why : "");
	o->state = s;
	o->mtime = time(NULL);
	obj_save(m, o);
}

typedef int (*backend_fn)(struct model *, struct object *, char *, size_t);

static backend_fn backend_verb(const struct backend *b, enum verb v)
{
	if (!b)
		return NULL;
	switch (v) {
	case V_START:
		return b->start;
	case V_STOP:
		return b->stop;
	case V_PAUSE:
		return b->pause;
	case V_RESUME:
		return b->resume;
	case V_KILL:
		return b->kill;
	case V_RESTART:
		return b->restart;
	default:
		return NULL;
	}
}

int lifecycle_legal(const struct object *o, enum verb v, char *err, size_t errlen)
{
	if (legal[v] & (1u << o->state))
		return 0;
	snprintf(err, errlen, "%s is %s: %s needs it %s", o->name, ostate_name(o->state),
		 verb_names[v], legal_words[v]);
	return -EBUSY;
}

int lifecycle_do(struct model *m, struct object *o, enum verb v, char *err, size_t errlen)
{
	int r = lifecycle_legal(o, v, err, errlen);
	if (r)
		return r;
	if (v == V_FLUSH)
		return lifecycle_remove(m, o, err, errlen);
	if (v == V_KILL && o->state == ST_BUILDING) {
		/* nothing runs yet: as in minimega, killing a BUILDING object quits it */
		lifecycle_set(m, o, ST_QUIT, "killed before it started");
		return 0;
	}
	backend_fn fn = backend_verb(backends[o->type], v);
	if (!fn) {
		snprintf(err, errlen, "cannot %s %s: vmfs has no runtime for %s yet", verb_names[v],
			 o->name, o->type == OT_VM ? "QEMU VMs" : "containers");
		return -EOPNOTSUPP;
	}
	return fn(m, o, err, errlen);
}

int lifecycle_remove(struct model *m, struct object *o, char *err, size_t errlen)
{
	if (o->state == ST_RUNNING || o->state == ST_PAUSED) {
		int r = lifecycle_do(m, o, V_KILL, err, errlen);
		if (r)
			return r;
	}
	char run[NAME_MAX_LEN + 16];
	snprintf(run, sizeof(run), "%s/%s/run", otype_dir(o->type), o->name);
	int r = remove_tree(o->ns->dirfd, run);
	if (r) {
		snprintf(err, errlen, "cannot remove the run directory of %s: %s", o->name,
			 strerror(-r));
		return r;
	}
	return obj_remove(m, o, err, errlen);
}
