/* A launch's claims (cluster/claim.h): the view read from keys, the placement with its refusals,
 * the chunk's compares and operations, and the rollback's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/claim.h"
#include "tap.h"

#define C "t"

struct kvset {
	struct etcd_kv kv[16];
	struct sbuf val[16];
	char key[16][CKEY_MAX + 1];
	size_t n;
};

static void add(struct kvset *s, int64_t rev)
{
	s->kv[s->n] = (struct etcd_kv){.key = s->key[s->n], .value = s->val[s->n].p,
				       .value_len = s->val[s->n].len, .mod_revision = rev};
	s->n++;
}

static void put_ns(struct kvset *s, uint64_t next)
{
	char hosts[2][NAME_MAX_LEN + 1] = {"h1", "h2"};
	struct crec_ns ns = {.id = 2, .hosts = hosts, .nhosts = 2, .next_id = next, .mode = 0755,
			     .ctime = 1};
	ckey_ns(s->key[s->n], CKEY_MAX + 1, C, "lab");
	crec_ns_write(&ns, &s->val[s->n]);
	add(s, 40);
}

static void put_claim(struct kvset *s, const char *name, const char *host, uint64_t id)
{
	struct crec_claim c = {.id = id, .type = OT_CT, .ctime = 1};
	snprintf(c.host, sizeof(c.host), "%s", host);
	ckey_claim(s->key[s->n], CKEY_MAX + 1, C, 2, name);
	crec_claim_write(&c, &s->val[s->n]);
	add(s, 41);
}

static void put_host(struct kvset *s, const char *h, uint64_t cpus, uint64_t vcpus_held)
{
	struct crec_hinfo i = {.cpus = cpus, .memory = 8ull << 30, .cpu_ratio = 1000,
			       .mem_ratio = 1000, .kvm = true};
	ckey_hinfo(s->key[s->n], CKEY_MAX + 1, C, h);
	crec_hinfo_write(&i, &s->val[s->n]);
	add(s, 30);
	struct crec_alive a = {.run = 1, .started = 1, .migrate_lo = 0};
	snprintf(a.version, sizeof(a.version), "1");
	snprintf(a.addr, sizeof(a.addr), "10.0.0.1");
	snprintf(a.p9, sizeof(a.p9), "10.0.0.1:564");
	ckey_alive(s->key[s->n], CKEY_MAX + 1, C, h);
	crec_alive_write(&a, &s->val[s->n]);
	add(s, 31);
	if (vcpus_held) {
		struct crec_cap cap = {.vcpus = vcpus_held, .memory = 1 << 20, .objects = 1};
		ckey_cap(s->key[s->n], CKEY_MAX + 1, C, h);
		crec_cap_write(&cap, &s->val[s->n]);
		add(s, 42);
	}
}

static void kvset_free(struct kvset *s)
{
	for (size_t i = 0; i < s->n; i++)
		sb_free(&s->val[i]);
}

static char *names_k[] = {"k2", "k3", "k4", "k1"};

static struct claim_req req(char **names, size_t n)
{
	return (struct claim_req){.cluster = C, .self = "h1", .ns = "lab", .type = OT_CT,
				  .names = names, .n = n, .vcpus = 1, .memory = 1 << 20,
				  .policy = SCHED_FEWEST,
				  .intent = {.host = "h1", .run = 3, .seq = 7}, .ctime = 5};
}

static void test_view(void)
{
	struct kvset s = {0};
	put_ns(&s, 5);
	put_claim(&s, "k1", "h2", 4);
	put_host(&s, "h1", 4, 0);
	put_host(&s, "h2", 4, 1);
	struct claim_view v;
	ok(claim_view_read(C, "h1", "lab", s.kv, s.n, 50, &v) == 0, "view read");
	ok(v.ns_found && v.ns.id == 2 && v.ns.next_id == 5 && v.ns_rev == 40, "namespace, counter, revision");
	ok(v.nhosts == 2 && !strcmp(v.hosts[0].name, "h1") && !strcmp(v.hosts[1].name, "h2"),
	   "its hosts in order");
	ok(v.hosts[0].up && v.hosts[0].has_info && v.hosts[0].cap_rev == 0, "h1 up, no reservation");
	ok(v.hosts[1].cap.vcpus == 1 && v.hosts[1].cap_rev == 42, "h2's reservation and revision");
	ok(v.ntaken == 1 && !strcmp(v.taken[0].host, "h2"), "k1 taken on h2");

	char err[256];
	size_t where[4];
	struct claim_req rq = req(names_k, 4);
	ok(claim_place(&v, &rq, where, err, sizeof(err)) == -EEXIST, "a taken name: EEXIST");
	is_str(err, "launch: k1 exists already in ns/lab (on h2)", "the error names its host");

	rq.n = 3;
	ok(claim_place(&v, &rq, where, err, sizeof(err)) == 0, "three placed");
	ok(where[0] == 0 && where[1] == 0 && where[2] == 1,
	   "fewest: h1 (h2 holds one), h1 (a tie goes first), h2 (%zu %zu %zu)",
	   where[0], where[1], where[2]);
	rq.only_self = true;
	ok(claim_place(&v, &rq, where, err, sizeof(err)) == 0 && where[0] == 0 && where[1] == 0 &&
	       where[2] == 0,
	   "only this host: every one on h1");
	struct sbuf plan = {0};
	claim_plan(&v, &rq, where, &plan);
	ok(plan.p && !strncmp(plan.p, "k2 h1\nk3 h1\nk4 h1\n", 18), "the plan's lines: %s", plan.p);
	ok(plan.p && strstr(plan.p, "\nh1: 3 objects, 3 of 4 vcpus") &&
	       strstr(plan.p, "\nh2: takes nothing launched here: this host sends no commands to others (see host/log)\n"),
	   "the load after, and why h2 takes nothing");
	sb_free(&plan);
	rq.vcpus = 3; /* h1: 4 cpus x 1.0 */
	ok(claim_place(&v, &rq, where, err, sizeof(err)) == -ENOSPC, "beyond capacity: ENOSPC (%s)", err);
	ok(strstr(err, "no host has room for it: h1: 3 of 4 vcpus") != NULL, "with h1's figures");
	rq.vcpus = 1;
	rq.pin = "h2";
	ok(claim_place(&v, &rq, where, err, sizeof(err)) == -EOPNOTSUPP, "pinned elsewhere, no commands sent from here: %s", err);
	claim_view_free(&v);

	struct claim_view none;
	ok(claim_view_read(C, "h1", "nope", s.kv, s.n, 50, &none) == 0 && !none.ns_found, "another namespace: not found");
	rq = req(names_k, 1);
	ok(claim_place(&none, &rq, where, err, sizeof(err)) == -ENOENT, "not in the cluster: ENOENT");
	claim_view_free(&none);
	kvset_free(&s);
}

/* A launcher that is not one of the namespace's hosts (h1 h2) takes nothing, unless pinned. */
static void test_not_listed(void)
{
	struct kvset s = {0};
	put_ns(&s, 5);
	put_host(&s, "h1", 4, 1);
	put_host(&s, "h2", 4, 1);
	put_host(&s, "h3", 64, 0);
	struct claim_view v;
	ok(claim_view_read(C, "h3", "lab", s.kv, s.n, 50, &v) == 0 && v.nhosts == 3 &&
	       !strcmp(v.hosts[2].name, "h3"),
	   "h3 reads the view: listed after the namespace's hosts");
	char err[256];
	size_t where[4];
	struct claim_req rq = req(names_k, 4);
	rq.self = "h3";
	ok(claim_place(&v, &rq, where, err, sizeof(err)) == 0 && where[0] < 2 && where[1] < 2 &&
	       where[2] < 2 && where[3] < 2,
	   "the emptiest host h3 takes nothing: not one of lab's hosts (%zu %zu %zu %zu)",
	   where[0], where[1], where[2], where[3]);
	rq.pin = "h3";
	ok(claim_place(&v, &rq, where, err, sizeof(err)) == 0 && where[0] == 2 && where[3] == 2,
	   "pinned to h3 by the template: it takes them");
	claim_view_free(&v);
	kvset_free(&s);
}

static void test_chunk(void)
{
	ok(claim_chunk_max(0) == 126 && claim_chunk_max(10) == 116 && claim_chunk_max(126) == 0,
	   "a chunk's objects: 128 less the namespace, the intent and a host each");
	struct kvset s = {0};
	put_ns(&s, 5);
	put_host(&s, "h1", 64, 0);
	put_host(&s, "h2", 64, 2);
	struct claim_view v;
	claim_view_read(C, "h1", "lab", s.kv, s.n, 50, &v);
	struct claim_req rq = req(names_k, 3);
	size_t where[3] = {0, 1, 0};
	struct claim_txn *t = calloc(1, sizeof(*t));
	ok(claim_txn_build(t, &v, &rq, names_k, where, 3, NULL, 0, 0) == 0, "first chunk built");
	ok(t->ncmp == 3 + 1 + 2 + 1 && t->nok == 3 + 1 + 2 + 1 && t->nfail == 3,
	   "compares and puts: 3 claims, the namespace, 2 caps, the intent; 3 ranges if it fails");
	ok(t->cmp[0].target == ETCD_VERSION && t->cmp[0].num == 0 && strstr(t->cmp[0].key, "/name/2/k2"),
	   "a claim compared absent");
	ok(t->cmp[3].target == ETCD_MOD && t->cmp[3].num == 40 && strstr(t->cmp[3].key, "/ns/lab"),
	   "the namespace compared on its revision");
	ok(t->cmp[4].num == 0 && strstr(t->cmp[4].key, "/cap/h1") && t->cmp[5].num == 42 &&
	       strstr(t->cmp[5].key, "/cap/h2"),
	   "the reservations compared (absent: 0)");
	ok(t->cmp[6].target == ETCD_CREATE && t->cmp[6].num == 0 && strstr(t->cmp[6].key, "/intent/h1.3.7"),
	   "the intent absent in the first chunk");
	struct crec_claim c;
	char why[256];
	ok(crec_claim_read(t->ok[1].value, t->ok[1].len, &c, why, sizeof(why)) == 0 && c.id == 6 &&
	       !strcmp(c.host, "h2") && !strcmp(c.intent.host, "h1") && c.intent.seq == 7,
	   "k3's claim: id 6 on h2 with the intent");
	struct crec_ns ns;
	ok(crec_ns_read(t->ok[3].value, t->ok[3].len, &ns, why, sizeof(why)) == 0 && ns.next_id == 8,
	   "the counter past the chunk");
	crec_ns_free(&ns);
	struct crec_cap cap;
	ok(crec_cap_read(t->ok[5].value, t->ok[5].len, &cap, why, sizeof(why)) == 0 &&
	       cap.vcpus == 3 && cap.objects == 2,
	   "h2's reservation grows by one object");
	struct crec_intent in;
	ok(crec_intent_read(t->ok[6].value, t->ok[6].len, &in, why, sizeof(why)) == 0 &&
	       in.nobjects == 3 && in.phase == CREC_PHASE_CLAIMING && in.vcpus == 1 &&
	       !strcmp(in.objects[1].host, "h2") && in.objects[2].id == 7,
	   "the intent lists what is claimed");
	crec_intent_free(&in);
	claim_txn_free(t);

	claim_txn_applied(&v, &rq, where, 3, 60);
	ok(v.ns.next_id == 8 && v.ns_rev == 60 && v.hosts[1].cap.objects == 2 && v.hosts[0].cap_rev == 60,
	   "the view moved on after the chunk");
	struct claim_obj done[3] = {{"k2", 5, "h1"}, {"k3", 6, "h2"}, {"k4", 7, "h1"}};
	char *more[] = {"k9"};
	ok(claim_txn_build(t, &v, &rq, more, where, 1, done, 3, 60) == 0, "a second chunk");
	ok(t->cmp[t->ncmp - 1].target == ETCD_MOD && t->cmp[t->ncmp - 1].num == 60,
	   "the intent compared on its revision after the first");
	ok(crec_intent_read(t->ok[t->nok - 1].value, t->ok[t->nok - 1].len, &in, why, sizeof(why)) == 0 &&
	       in.nobjects == 4 && in.objects[3].id == 8,
	   "the intent lists the chunks before too");
	crec_intent_free(&in);
	claim_txn_free(t);

	size_t many = 127;
	char **nm = calloc(many, sizeof(*nm));
	size_t *w = calloc(many, sizeof(*w));
	for (size_t i = 0; i < many; i++)
		nm[i] = "x";
	ok(claim_txn_build(t, &v, &rq, nm, w, many, NULL, 0, 0) == -E2BIG, "a chunk too big: E2BIG");
	free(nm);
	free(w);

	/* rollback: k2 and k4 ours on h1, k3 someone else's now */
	struct crec_intent ri = {.kind = CREC_INTENT_LAUNCH, .ns = 2, .phase = CREC_PHASE_CLAIMING,
				 .vcpus = 1, .memory = 1 << 20};
	snprintf(ri.host, sizeof(ri.host), "h1");
	struct crec_intent_obj objs[3] = {{"k2", 5, "h1"}, {"k3", 6, "h2"}, {"k4", 7, "h1"}};
	ri.objects = objs;
	ri.nobjects = 3;
	struct claim_undo u[2] = {{&objs[0], true, 70}, {&objs[1], false, 0}};
	struct claim_undo_cap caps[2] = {{"h1", {.vcpus = 2, .memory = 2 << 20, .objects = 2}, 71},
					 {"h2", {.vcpus = 3, .objects = 2}, 72}};
	ok(claim_undo_build(t, C, &ri, "P/intent", 73, u, 2, caps, 2, &objs[2], 1) == 0,
	   "a rollback chunk built");
	ok(t->nok == 3 && t->ok[0].kind == ETCD_OP_DELETE && strstr(t->ok[0].key, "/name/2/k2"),
	   "only the claim that is ours is deleted, with h1's cap and the intent");
	ok(t->ncmp == 3 && t->cmp[0].num == 70 && t->cmp[1].num == 71 && t->cmp[2].num == 73,
	   "each compared on its revision");
	ok(crec_cap_read(t->ok[1].value, t->ok[1].len, &cap, why, sizeof(why)) == 0 &&
	       cap.vcpus == 1 && cap.objects == 1 && cap.memory == 1 << 20,
	   "h1's reservation given back");
	ok(crec_intent_read(t->ok[2].value, t->ok[2].len, &in, why, sizeof(why)) == 0 &&
	       in.nobjects == 1 && !strcmp(in.objects[0].name, "k4") && in.phase == CREC_PHASE_ROLLBACK,
	   "the intent keeps the rest, phase rollback");
	crec_intent_free(&in);
	claim_txn_free(t);
	struct claim_undo last[1] = {{&objs[2], true, 80}};
	ok(claim_undo_build(t, C, &ri, "P/intent", 81, last, 1, caps, 1, NULL, 0) == 0 &&
	       t->ok[t->nok - 1].kind == ETCD_OP_DELETE && !strcmp(t->ok[t->nok - 1].key, "P/intent"),
	   "the last chunk deletes the intent");
	claim_txn_free(t);
	free(t);
	claim_view_free(&v);
	kvset_free(&s);
}

int main(void)
{
	test_view();
	test_not_listed();
	test_chunk();
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
