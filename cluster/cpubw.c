/* The publisher's thread: one pass over a snapshot (cluster/cpub_int.h). What this host's keys
 * should hold is rendered from the snapshot and compared with what it last put; only what
 * differs is put, in transactions of up to ETCD_TXN_MAX operations (one request each, not one
 * per object). A failed transaction changes nothing of what the thread believes etcd holds, so
 * the next pass puts it again. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/cpub.h"
#include "cluster/cpub_int.h"
#include "cluster/cqemu.h"
#include "cluster/creconcile.h"
#include "etcd/client.h"

/* A transaction's worth of puts; bytes bounded far below etcd's 1.5 MiB request limit (a
 * value grows by a third in base64). */
#define BATCH_BYTES (768u << 10)

enum pput { PUT_REC, PUT_TOP, PUT_INFO, PUT_LOAD, DEL_STALE };
struct batch {
	struct etcd_op op[ETCD_TXN_MAX];
	char *key[ETCD_TXN_MAX], *val[ETCD_TXN_MAX];
	enum pput kind[ETCD_TXN_MAX];
	uint64_t a[ETCD_TXN_MAX], b[ETCD_TXN_MAX]; /* whose: (lns, local), lns */
	size_t n, bytes;
};

struct ptop *top_of(struct cpub *p, uint64_t lns, bool make)
{
	for (size_t i = 0; i < p->ntops; i++)
		if (p->tops[i].lns == lns)
			return &p->tops[i];
	if (!make)
		return NULL;
	struct ptop *t = realloc(p->tops, (p->ntops + 1) * sizeof(*t));
	if (!t)
		return NULL;
	p->tops = t;
	t[p->ntops] = (struct ptop){.lns = lns};
	return &t[p->ntops++];
}

/* What etcd now holds, once the transaction went through. */
static void taken(struct cpub *p, struct batch *b, size_t i)
{
	char **slot = NULL;
	struct pobj *o;
	struct ptop *t;
	if (b->kind[i] == DEL_STALE && (o = cpub_obj(p, b->a[i], b->b[i])))
		o->stale = 0;
	else if (b->kind[i] == PUT_REC && (o = cpub_obj(p, b->a[i], b->b[i])))
		slot = &o->published;
	else if (b->kind[i] == PUT_TOP && (t = top_of(p, b->a[i], false))) {
		slot = &t->published;
		clock_gettime(CLOCK_MONOTONIC, &t->at);
	} else if (b->kind[i] == PUT_INFO)
		slot = &p->info;
	else if (b->kind[i] == PUT_LOAD)
		slot = &p->load;
	if (slot) {
		free(*slot);
		*slot = b->val[i];
		b->val[i] = NULL;
	}
}

static int flush(struct cpub *p, struct batch *b, struct err *e)
{
	int r = 0;
	if (b->n) {
		struct etcd_txn_result res = {0};
		r = etcd_txn(p->c, NULL, 0, b->op, b->n, NULL, 0, &res, e);
		etcd_txn_result_free(&res);
		for (size_t i = 0; i < b->n; i++) {
			if (!r)
				taken(p, b, i);
			free(b->key[i]);
			free(b->val[i]);
		}
	}
	b->n = b->bytes = 0;
	return r;
}

/* Queues a put of key (built here) to text (taken), or its delete (DEL_STALE: text empty); a
 * full batch is sent first. */
static int put(struct cpub *p, struct batch *b, const char *key, struct sbuf *text,
	       enum pput kind, uint64_t x, uint64_t y, struct err *e)
{
	int r;
	if (sb_err(text)) {
		sb_free(text);
		return err_set(e, ENOMEM, "out of memory");
	}
	if ((b->n == ETCD_TXN_MAX || b->bytes + text->len > BATCH_BYTES) && (r = flush(p, b, e))) {
		sb_free(text);
		return r;
	}
	size_t i = b->n;
	if (!(b->key[i] = strdup(key))) {
		sb_free(text);
		return err_set(e, ENOMEM, "out of memory");
	}
	b->val[i] = text->p;
	b->op[i] = (struct etcd_op){.kind = kind == DEL_STALE ? ETCD_OP_DELETE : ETCD_OP_PUT,
				    .key = b->key[i], .value = text->p, .len = text->len};
	b->kind[i] = kind;
	b->a[i] = x;
	b->b[i] = y;
	b->bytes += text->len + strlen(key);
	b->n++;
	*text = (struct sbuf){0};
	return 0;
}

static bool differs(const char *published, const struct sbuf *text)
{
	return !published || strlen(published) != text->len || memcmp(published, text->p, text->len);
}

static int put_records(struct cpub *p, const struct psnap *s, struct batch *b, struct err *e)
{
	uint64_t now = (uint64_t)time(NULL);
	for (size_t i = 0; i < s->nobj; i++) {
		const struct psnap_obj *so = &s->obj[i];
		uint64_t cns = cidmap_ns(&p->map, so->lns), cid = cidmap_obj(&p->map, so->lns, so->local);
		struct pobj *o = cpub_obj(p, so->lns, so->local);
		if (!o && cpub_obj_add(p, so->lns, so->local, so->rec.name, &o))
			return err_set(e, ENOMEM, "out of memory");
		char key[CKEY_MAX + 1];
		int r;
		if (o->stale) {
			struct sbuf none = {0};
			if ((r = ckey_obj(key, sizeof(key), p->cluster, p->host, o->stale_ns, o->stale)) < 0)
				return err_set(e, -r, "no key for object %s", so->rec.name);
			if ((r = put(p, b, key, &none, DEL_STALE, so->lns, so->local, e)))
				return r;
		}
		crsize_of(&so->rec, &o->vcpus, &o->memory);
		o->seen = true;
		if (o->refused || o->stray || !cns || !cid)
			continue;
		if (!o->since || o->state != so->rec.state) {
			o->state = so->rec.state;
			o->since = so->rec.state == ST_RUNNING && so->rec.started ? so->rec.started : now;
		}
		struct crec_obj rec = so->rec; /* borrowed: not freed here */
		rec.since = o->since;
		rec.intent = (struct ckey_tag){0}; /* kept in STATE/cluster/ids (cidmap.h) */
		struct sbuf text = {0};
		crec_obj_write(&rec, &text);
		if (!differs(o->published, &text)) {
			sb_free(&text);
			continue;
		}
		if ((r = ckey_obj(key, sizeof(key), p->cluster, p->host, cns, cid)) < 0) {
			sb_free(&text);
			return err_set(e, -r, "no key for object %s", so->rec.name);
		}
		if ((r = put(p, b, key, &text, PUT_REC, so->lns, so->local, e)))
			return r;
	}
	return 0;
}

/* Each namespace's top, at most every CPUB_TOP_S: the ms until one held back may go, or 0. */
static int put_tops(struct cpub *p, const struct psnap *s, struct batch *b, struct err *e)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long held = 0;
	size_t j = 0;
	for (size_t i = 0; i < s->nns; i++) {
		uint64_t lns = s->ns[i].local, cns = cidmap_ns(&p->map, lns);
		struct sbuf text = {0};
		crec_top_begin(&text);
		for (; j < s->nobj && s->obj[j].lns < lns; j++)
			;
		for (; j < s->nobj && s->obj[j].lns == lns; j++) {
			const struct pobj *o = cpub_obj(p, lns, s->obj[j].local);
			uint64_t cid = cidmap_obj(&p->map, lns, s->obj[j].local);
			if (cid && o && !o->refused && !o->stray)
				crec_top_row(&text, cid, s->obj[j].figures);
		}
		struct ptop *t = cns ? top_of(p, lns, true) : NULL;
		if (!t || !differs(t->published, &text)) {
			sb_free(&text);
			if (cns && !t)
				return err_set(e, ENOMEM, "out of memory");
			continue;
		}
		long since_ms = (now.tv_sec - t->at.tv_sec) * 1000 +
				(now.tv_nsec - t->at.tv_nsec) / 1000000;
		if (t->published && since_ms < CPUB_TOP_S * 1000) {
			long wait = CPUB_TOP_S * 1000 - since_ms;
			if (!held || wait < held)
				held = wait;
			sb_free(&text);
			continue;
		}
		char key[CKEY_MAX + 1];
		int r = ckey_top(key, sizeof(key), p->cluster, p->host, cns);
		if (r < 0) {
			sb_free(&text);
			return err_set(e, -r, "no key for the top of namespace %s", s->ns[i].name);
		}
		if ((r = put(p, b, key, &text, PUT_TOP, lns, 0, e)))
			return r;
	}
	return held > INT32_MAX ? INT32_MAX : (int)held;
}

/* A record of the host's own (info, load): put when text differs from what etcd holds. */
static int put_host(struct cpub *p, struct batch *b, struct sbuf *text, enum pput kind,
		    struct err *e)
{
	if (!differs(kind == PUT_INFO ? p->info : p->load, text)) {
		sb_free(text);
		return 0;
	}
	char key[CKEY_MAX + 1];
	int r = kind == PUT_INFO ? ckey_hinfo(key, sizeof(key), p->cluster, p->host)
				 : ckey_hload(key, sizeof(key), p->cluster, p->host);
	if (r < 0) {
		sb_free(text);
		return err_set(e, -r, "no key for this host's %s", kind == PUT_INFO ? "info" : "load");
	}
	return put(p, b, key, text, kind, 0, 0, e);
}

static int put_info(struct cpub *p, const struct psnap *s, struct batch *b, struct err *e)
{
	struct crec_hinfo h = s->info;
	snprintf(h.qemu, sizeof(h.qemu), "%s", p->qemu);
	snprintf(h.machine, sizeof(h.machine), "%s", p->machine);
	struct sbuf text = {0};
	crec_hinfo_write(&h, &text);
	int r = put_host(p, b, &text, PUT_INFO, e);
	if (r || !s->load.at) /* (the loop measures them at its first tick) */
		return r;
	crec_hload_write(&s->load, &text);
	return put_host(p, b, &text, PUT_LOAD, e);
}

int cpub_pass(struct cpub *p, const struct psnap *s, struct err *e)
{
	int r;
	if (!p->probed) {
		char why[300];
		if (cqemu_probe(p->qemu, sizeof(p->qemu), p->machine, sizeof(p->machine), why,
				sizeof(why)))
			cpub_say(p, 0, "this host's info has no QEMU version nor machines: %s", why);
		p->probed = true;
	}
	if (!p->read && (r = cns_read_back(p, e)))
		return r;
	p->read = true;
	if ((r = cns_forget_gone(p, s, e)) || (r = cns_claim_all(p, s, e)) ||
	    (r = cpub_intents(p, s, e)) || (r = creconcile_confirm(p, e)) ||
	    (r = cvlan_sync(p, s, e)))
		return r;
	struct batch *b = calloc(1, sizeof(*b));
	if (!b)
		return err_set(e, ENOMEM, "out of memory");
	int held = 0;
	r = put_info(p, s, b, e);
	if (!r)
		r = put_records(p, s, b, e);
	if (!r && (held = put_tops(p, s, b, e)) < 0)
		r = held;
	if (!r)
		r = flush(p, b, e);
	if (!r)
		r = cns_map_sync(p, e);
	/* once every local object's claim was looked at and its record is in; what etcd's
	 * answer cannot hold is not tried at every pass (publishing goes on without it) */
	if (!r && p->checked && !p->reconciled) {
		r = creconcile_run(p, s, e);
		if (r == -EFBIG || r == -ENOMEM || r == -EPROTO) {
			cpub_say(p, 0, "the reconcile is not made (%s): tried again at the next join",
				 e->why);
			r = 0;
		}
		p->reconciled = !r;
	}
	for (size_t i = 0; i < b->n; i++) { /* what a failure left queued */
		free(b->key[i]);
		free(b->val[i]);
	}
	free(b);
	return r ? r : held && held < CPUB_INTENT_MS ? held : CPUB_INTENT_MS;
}
