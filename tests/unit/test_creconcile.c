/* Reservations summed from the claims (cluster/creconcile.h): sizes from records, hosts not
 * judged while something is under way, and the verdict on P/cap/H. */
#include <stdlib.h>
#include <string.h>

#include "cluster/creconcile.h"
#include "ctl/params.h"
#include "tap.h"

#define C "t"
#define MAXK 32

struct kvset {
	struct etcd_kv kv[MAXK];
	struct sbuf val[MAXK];
	char key[MAXK][CKEY_MAX + 1];
	size_t n;
};

static void add(struct kvset *s, int64_t rev)
{
	s->kv[s->n] = (struct etcd_kv){.key = s->key[s->n], .value = s->val[s->n].p,
				       .value_len = s->val[s->n].len, .mod_revision = rev};
	s->n++;
}

static void claim(struct kvset *s, const char *name, const char *host, uint64_t id,
		  const char *intent_host, const char *moving)
{
	struct crec_claim c = {.id = id, .type = OT_CT, .ctime = 1};
	snprintf(c.host, sizeof(c.host), "%s", host);
	if (intent_host) {
		snprintf(c.intent.host, sizeof(c.intent.host), "%s", intent_host);
		c.intent.run = 1;
		c.intent.seq = 2;
	}
	if (moving)
		snprintf(c.moving, sizeof(c.moving), "%s", moving);
	ckey_claim(s->key[s->n], CKEY_MAX + 1, C, 2, name);
	crec_claim_write(&c, &s->val[s->n]);
	add(s, 10);
}

/* the record of id on host, with vcpus and memory set (NULL: unset) */
static void record(struct kvset *s, const char *host, uint64_t id, const char *vcpus,
		   const char *memory)
{
	struct crec_obj r = {.type = OT_CT, .state = ST_QUIT, .since = 1};
	snprintf(r.name, sizeof(r.name), "o%llu", (unsigned long long)id);
	r.cfg[param_index("vcpus")] = (char *)vcpus;
	r.cfg[param_index("memory")] = (char *)memory;
	ckey_obj(s->key[s->n], CKEY_MAX + 1, C, host, 2, id);
	crec_obj_write(&r, &s->val[s->n]);
	add(s, 11);
}

static void cap(struct kvset *s, const char *host, uint64_t vcpus, uint64_t memory,
		uint64_t objects, uint64_t drain)
{
	struct crec_cap c = {.vcpus = vcpus, .memory = memory, .objects = objects, .drain = drain};
	ckey_cap(s->key[s->n], CKEY_MAX + 1, C, host);
	crec_cap_write(&c, &s->val[s->n]);
	add(s, 12);
}

static void raw(struct kvset *s, const char *key, const char *value)
{
	snprintf(s->key[s->n], CKEY_MAX + 1, "%s", key);
	sb_printf(&s->val[s->n], "%s", value);
	add(s, 13);
}

static void kvset_free(struct kvset *s)
{
	for (size_t i = 0; i < s->n; i++)
		sb_free(&s->val[i]);
	s->n = 0;
}

static const struct crsum_host *host(const struct crsum *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->h[i].name, name))
			return &s->h[i];
	return NULL;
}

static void test_size(void)
{
	uint64_t v, m, dv, dm;
	crsize_of(NULL, &dv, &dm);
	ok(dv == strtoull(params[param_index("vcpus")].def, NULL, 10),
	   "an object without a record reserves the default vcpus");
	struct crec_obj r = {0};
	r.cfg[param_index("vcpus")] = "3";
	r.cfg[param_index("memory")] = "1G";
	crsize_of(&r, &v, &m);
	ok(v == 3 && m == 1ull << 30, "vcpus and memory from the record's config (1G: %llu)",
	   (unsigned long long)m);
	r.cfg[param_index("vcpus")] = NULL;
	crsize_of(&r, &v, &m);
	ok(v == dv && m == 1ull << 30, "an unset one is its default");
}

static void test_sum(void)
{
	struct kvset s = {0};
	claim(&s, "a", "h1", 1, NULL, NULL);
	claim(&s, "b", "h1", 2, "h9", NULL); /* its launch's intent is gone: done */
	claim(&s, "c", "h2", 3, NULL, NULL);
	record(&s, "h1", 1, "2", "512M");
	record(&s, "h1", 2, "1", "256M");
	record(&s, "h2", 3, "4", "1G");
	record(&s, "h2", 9, "8", "8G"); /* a record without a claim counts for nothing */
	cap(&s, "h1", 3, 768ull << 20, 2, 0);
	cap(&s, "h2", 1, 1ull << 30, 1, 77);
	cap(&s, "h3", 2, 0, 1, 0);
	raw(&s, "/vmfs/other/name/2/z", "v=1\nid=5\n"); /* another cluster's: ignored */
	struct etcd_kvs r = {.kv = s.kv, .n = s.n};
	struct crsum sum;
	ok(!crsum_build(C, &r, 1, &sum) && sum.n == 3, "three hosts: two with claims, one cap");
	const struct crsum_host *h1 = host(&sum, "h1"), *h2 = host(&sum, "h2"),
				*h3 = host(&sum, "h3");
	ok(h1 && h1->sum.vcpus == 3 && h1->sum.memory == 768ull << 20 && h1->sum.objects == 2 &&
	       !h1->busy && !h1->unsized,
	   "h1's claims sum to 3 vcpus, 768M, 2 objects");
	struct crec_cap want;
	ok(h1 && crsum_judge(h1, &want) == CRSUM_AGREES, "h1's P/cap agrees");
	ok(h2 && crsum_judge(h2, &want) == CRSUM_DISAGREES && want.vcpus == 4 &&
	       want.memory == 1ull << 30 && want.objects == 1 && want.drain == 77,
	   "h2's P/cap holds 1 vcpu for a 4-vcpu object: corrected to 4, its drain kept");
	ok(h3 && crsum_judge(h3, &want) == CRSUM_DISAGREES && !want.vcpus && !want.objects,
	   "a P/cap/H with no claim naming H is corrected to nothing");
	crsum_free(&sum);
	kvset_free(&s);
}

static void test_unknown(void)
{
	struct kvset s = {0};
	claim(&s, "a", "h1", 1, "h9", NULL);   /* its launch still under way */
	claim(&s, "b", "h2", 2, NULL, NULL);   /* no record (yet) */
	claim(&s, "c", "h3", 3, NULL, "h4");   /* being moved to h4 */
	record(&s, "h1", 1, "1", "1G");
	record(&s, "h3", 3, "1", "1G");
	cap(&s, "h1", 9, 0, 9, 0);
	cap(&s, "h2", 9, 0, 9, 0);
	cap(&s, "h3", 9, 0, 9, 0);
	cap(&s, "h4", 9, 0, 9, 0);
	raw(&s, "/vmfs/t/cap/h5", "v=1\nvcpus=x\n");
	raw(&s, "/vmfs/t/cap/h6", "v=1\nvcpus=0\nmemory=0\nobjects=0\nlater=1\n");
	char ikey[CKEY_MAX + 1];
	struct ckey_tag t = {.host = "h9", .run = 1, .seq = 2};
	ckey_intent(ikey, sizeof(ikey), C, &t);
	raw(&s, ikey, "v=1\nhost=h9\nkind=launch\nns=2\nobjects=a:1:h1\nphase=creating\n");
	struct etcd_kvs r = {.kv = s.kv, .n = s.n};
	struct crsum sum;
	struct crec_cap want;
	ok(!crsum_build(C, &r, 1, &sum), "built");
	const struct crsum_host *h;
	ok((h = host(&sum, "h1")) && h->busy && crsum_judge(h, &want) == CRSUM_UNKNOWN,
	   "a host with a launch under way is not judged");
	ok((h = host(&sum, "h2")) && h->unsized == 1 && crsum_judge(h, &want) == CRSUM_UNKNOWN,
	   "a host with a claim whose record is not there is not judged");
	ok((h = host(&sum, "h3")) && crsum_judge(h, &want) == CRSUM_UNKNOWN &&
	       (h = host(&sum, "h4")) && crsum_judge(h, &want) == CRSUM_UNKNOWN,
	   "neither end of a move is judged");
	ok((h = host(&sum, "h5")) && h->cap_bad && crsum_judge(h, &want) == CRSUM_DISAGREES &&
	       !want.vcpus,
	   "a P/cap/H that cannot be read is written again from the sum");
	ok((h = host(&sum, "h6")) && crsum_judge(h, &want) == CRSUM_UNKNOWN,
	   "a P/cap/H with keys this vmfs does not know is left to the newer vmfs");
	crsum_free(&sum);
	raw(&s, "/vmfs/t/intent/h8.1.1", "v=1\nnonsense\n");
	r = (struct etcd_kvs){.kv = s.kv, .n = s.n};
	ok(!crsum_build(C, &r, 1, &sum) && (h = host(&sum, "h5")) && h->busy,
	   "an intent that cannot be read: no host is judged");
	crsum_free(&sum);
	kvset_free(&s);
}

/* The config path's window: P/cap/h1 moved by a config change (o1 from 1 vcpu and 256M to 3
 * and 1G) before h1's record shows it. A reconcile reading then sums by the mark in P/cap/h1,
 * not by the record: it agrees, where without the mark it would undo the move. */
#define MOVED_MEM ((1ull << 30) + (512ull << 20)) /* o1's 1G and o2's 512M */

struct window {
	const char *o1_vcpus, *o1_memory; /* o1's record */
	uint64_t alive_run;		  /* 0: h1 is down */
	uint64_t cap_vcpus, cap_run;
	const char *pending;
};

static enum crsum_verdict judge_window(const struct window *w, struct crec_cap *want,
				       struct crsum_host *out)
{
	struct kvset s = {0};
	claim(&s, "o1", "h1", 1, NULL, NULL);
	claim(&s, "o2", "h1", 2, NULL, NULL);
	record(&s, "h1", 1, w->o1_vcpus, w->o1_memory);
	record(&s, "h1", 2, "2", "512M");
	if (w->alive_run) {
		struct crec_alive a = {.run = w->alive_run, .started = 1};
		snprintf(a.version, sizeof(a.version), "1");
		snprintf(a.addr, sizeof(a.addr), "10.0.0.1");
		snprintf(a.p9, sizeof(a.p9), "10.0.0.1:564");
		ckey_alive(s.key[s.n], CKEY_MAX + 1, C, "h1");
		crec_alive_write(&a, &s.val[s.n]);
		add(&s, 9);
	}
	struct crec_cap c = {.vcpus = w->cap_vcpus, .memory = MOVED_MEM, .objects = 2,
			     .cfg_run = w->cap_run};
	snprintf(c.cfg_pending, sizeof(c.cfg_pending), "%s", w->pending ? w->pending : "");
	ckey_cap(s.key[s.n], CKEY_MAX + 1, C, "h1");
	crec_cap_write(&c, &s.val[s.n]);
	add(&s, 12);
	struct etcd_kvs r = {.kv = s.kv, .n = s.n};
	struct crsum sum;
	enum crsum_verdict v = CRSUM_UNKNOWN + 1;
	if (!crsum_build(C, &r, 1, &sum) && host(&sum, "h1")) {
		*out = *host(&sum, "h1");
		v = crsum_judge(out, want);
	}
	crsum_free(&sum);
	kvset_free(&s);
	return v;
}

static void test_config_window(void)
{
	struct crec_cap want;
	struct crsum_host h;
	const char *o1 = "2.1:3:1073741824";
	struct window w = {"1", "256M", 7, 5, 0, NULL};
	ok(judge_window(&w, &want, &h) == CRSUM_DISAGREES && want.vcpus == 3 &&
	       want.memory == 768ull << 20,
	   "without the mark, a reconcile in the window undoes the move (the race)");
	w = (struct window){"1", "256M", 7, 5, 7, o1};
	ok(judge_window(&w, &want, &h) == CRSUM_AGREES && h.pend[0].used && !h.pend[0].shown,
	   "with o1 marked by the run h1 is up in, the moved P/cap agrees");
	w = (struct window){"1", "256M", 7, 9, 7, "2.1:3:1073741824 2.40:1:1"};
	ok(judge_window(&w, &want, &h) == CRSUM_DISAGREES && want.vcpus == 5 &&
	       want.memory == MOVED_MEM && !strcmp(want.cfg_pending, o1) && want.cfg_run == 7,
	   "wrong for another reason: corrected by the mark, which stays while the record lags; "
	   "an entry no claim uses goes (%s)",
	   want.cfg_pending);
	w = (struct window){"3", "1G", 7, 9, 7, o1};
	ok(judge_window(&w, &want, &h) == CRSUM_DISAGREES && want.vcpus == 5 &&
	       !want.cfg_pending[0] && !want.cfg_run,
	   "once the record shows it, the entry is done: dropped at a rewrite");
	w = (struct window){"3", "1G", 7, 5, 7, o1};
	ok(judge_window(&w, &want, &h) == CRSUM_AGREES,
	   "and a P/cap that agrees is left as it is, mark and all");
	w = (struct window){"1", "256M", 7, 5, 6, o1};
	ok(judge_window(&w, &want, &h) == CRSUM_DISAGREES && want.vcpus == 3 &&
	       !want.cfg_pending[0],
	   "a mark of an earlier run of h1 (it restarted) is stale: summed by the records, dropped");
	w = (struct window){"1", "1G", 7, 5, 7, "2.1:3:-"};
	ok(judge_window(&w, &want, &h) == CRSUM_AGREES && !h.pend[0].shown,
	   "a mark of vcpus alone: its vcpus, the record's memory");
	w = (struct window){"3", "1G", 7, 9, 7, "2.1:3:-"};
	ok(judge_window(&w, &want, &h) == CRSUM_DISAGREES && h.pend[0].shown &&
	       !want.cfg_pending[0],
	   "... done once the record shows that figure");
	w = (struct window){"1", "256M", 0, 5, 7, o1};
	ok(judge_window(&w, &want, &h) == CRSUM_UNKNOWN && h.busy,
	   "h1 down with a mark: whether the change was applied is not known, not judged");
}

int main(void)
{
	test_size();
	test_sum();
	test_unknown();
	test_config_window();
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
