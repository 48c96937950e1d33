/* A command's requests to members, waited for together. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"

#define BATCH_MS 10000 /* a launch or a start on a member answers when its own work is done */

struct bjob {
	struct rbatch *b;
	struct member *mb;
	int ok_err;
	int table; /* 1: this reads ns/NS/info, 2: ns/NS/top, 3: host/info, for the head's copy */
	char ns[64];
};

struct rbatch *rbatch_new(void)
{
	struct rbatch *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->refs = 1;
	waitq_init(&b->wq);
	return b;
}

void rbatch_put(struct rbatch *b)
{
	if (b && !--b->refs)
		free(b);
}

static void bjob_done(struct rjob *j)
{
	struct bjob *c = j->arg;
	struct rbatch *b = c->b;
	if (c->table == 3) { /* its counts, which the next launch places by */
		if (!j->err && !c->mb->removed) {
			sb_free(&c->mb->info);
			c->mb->info = j->out;
			j->out = (struct sbuf){0};
		}
	} else if (c->table) {
		if (!j->err && !c->mb->removed)
			member_table_set(c->mb, c->ns, c->table == 2, &j->out);
	} else if (j->err && j->err != c->ok_err && !b->err) {
		char text[900] = "";
		snprintf(text, sizeof(text), "%.*s", (int)j->out.len, j->out.p ? j->out.p : "");
		text[strcspn(text, "\n")] = 0;
		b->err = j->err == -EHOSTDOWN || j->err == -ETIMEDOUT ? -EHOSTDOWN : j->err;
		snprintf(b->why, sizeof(b->why), "%s: %s", c->mb->name,
			 *text ? (strncmp(text, "error: ", 7) ? text : text + 7)
			       : j->err == -EHOSTDOWN ? "down" : strerror(-j->err));
	} else if (!j->err && j->op == ROP_CTL && j->out.len) {
		/* "ok: start 3", "ok: launched 3": what the member did, summed */
		char text[128];
		snprintf(text, sizeof(text), "%.*s", (int)j->out.len, j->out.p);
		char *last = strrchr(text, ' ');
		if (!strncmp(text, "ok:", 3) && last)
			b->count += strtoul(last + 1, NULL, 10);
	}
	if (!--b->pending)
		waitq_wake_all(&b->wq);
	member_put(c->mb);
	free(c);
	rjob_free(j);
	rbatch_put(b);
}

static void add(struct rbatch *b, struct member *mb, enum rop op, const char *rel,
		const char *data, size_t len, int ok_err, int table, const char *ns);

void rbatch_add(struct rbatch *b, struct member *mb, enum rop op, const char *rel,
		const char *data, size_t len, int ok_err)
{
	add(b, mb, op, rel, data, len, ok_err, 0, "");
}

void rbatch_refresh(struct rbatch *b, struct member *mb, const char *ns)
{
	char rel[256];
	for (int t = 1; t <= 2; t++) {
		snprintf(rel, sizeof(rel), "ns/%s/%s", ns, t == 1 ? "info" : "top");
		add(b, mb, ROP_READ, rel, NULL, 0, 0, t, ns);
	}
	add(b, mb, ROP_READ, "host/info", NULL, 0, 0, 3, ns);
}

static void add(struct rbatch *b, struct member *mb, enum rop op, const char *rel,
		const char *data, size_t len, int ok_err, int table, const char *ns)
{
	struct bjob *c = calloc(1, sizeof(*c));
	struct rjob *j = c ? rjob_new(op, "", bjob_done, c) : NULL;
	if (!j) {
		free(c);
		if (!b->err) {
			b->err = -ENOMEM;
			snprintf(b->why, sizeof(b->why), "%s", strerror(ENOMEM));
		}
		return;
	}
	c->b = b;
	c->mb = mb;
	c->ok_err = ok_err;
	c->table = table;
	snprintf(c->ns, sizeof(c->ns), "%s", ns);
	mb->refs++;
	b->refs++;
	b->pending++;
	sb_add(&j->in, data ? data : "", len);
	member_job(mb, j, rel, BATCH_MS);
}
