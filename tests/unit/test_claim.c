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
	struct kvset s = {0};
	put_ns(&s, 5);
	put_host(&s, "h1", 64, 0);
	put_host(&s, "h2", 64, 2);
	struct claim_view v;
	claim_view_read(C, "h1", "lab", s.kv, s.n, 50, &v);
	struct claim_req rq = req(names_k, 3);
	size_t where[3] = {0, 1, 0};
	struct claim_txn *t = calloc(1, sizeof(*t));
	struct claim_obj *placed;
	ok(claim_reserve_build(t, &v, &rq, where, &placed) == 0, "the reservation built");
	ok(t->ncmp == 1 + 2 + 1 && t->nok == 1 + 2 + 1 && t->nfail == 0,
	   "compares and puts: the namespace, 2 caps, the intent; no claim");
	ok(t->cmp[0].target == ETCD_MOD && t->cmp[0].num == 40 && strstr(t->cmp[0].key, "/ns/lab"),
	   "the namespace compared on its revision");
	ok(t->cmp[1].num == 0 && strstr(t->cmp[1].key, "/cap/h1") && t->cmp[2].num == 42 &&
	       strstr(t->cmp[2].key, "/cap/h2"),
	   "the reservations compared (absent: 0)");
	ok(t->cmp[3].target == ETCD_CREATE && t->cmp[3].num == 0 && strstr(t->cmp[3].key, "/intent/h1.3.7"),
	   "the intent absent");
	char why[256];
	struct crec_ns ns;
	ok(crec_ns_read(t->ok[0].value, t->ok[0].len, &ns, why, sizeof(why)) == 0 && ns.next_id == 8,
	   "the counter past the launch's ids");
	crec_ns_free(&ns);
	struct crec_cap cap;
	ok(crec_cap_read(t->ok[2].value, t->ok[2].len, &cap, why, sizeof(why)) == 0 &&
	       cap.vcpus == 3 && cap.objects == 2,
	   "h2's reservation grows by one object");
	ok(crec_cap_read(t->ok[1].value, t->ok[1].len, &cap, why, sizeof(why)) == 0 &&
	       cap.vcpus == 2 && cap.objects == 2,
	   "h1's by two");
	struct crec_intent in;
	ok(crec_intent_read(t->ok[3].value, t->ok[3].len, &in, why, sizeof(why)) == 0 &&
	       in.nobjects == 3 && in.phase == CREC_PHASE_CLAIMING && in.vcpus == 1 &&
	       !strcmp(in.objects[1].host, "h2") && in.objects[2].id == 7,
	   "the intent lists every object placed, at phase claiming");
	crec_intent_free(&in);
	ok(placed[1].id == 6 && !strcmp(placed[1].host, "h2") && !strcmp(placed[1].name, "k3"),
	   "each object's id and host said");
	claim_txn_free(t);

	ok(claim_chunk_build(t, &rq, 2, placed + 1, 2, 60) == 0, "a chunk built");
	ok(t->ncmp == 3 && t->nok == 2 && t->nfail == 2,
	   "2 claims compared absent and put, the intent compared; their ranges if it fails");
	ok(t->cmp[0].target == ETCD_VERSION && t->cmp[0].num == 0 && strstr(t->cmp[0].key, "/name/2/k3"),
	   "a claim compared absent");
	ok(t->cmp[2].target == ETCD_MOD && t->cmp[2].num == 60 && strstr(t->cmp[2].key, "/intent/h1.3.7"),
	   "the intent compared on the reservation's revision");
	struct crec_claim c;
	ok(crec_claim_read(t->ok[0].value, t->ok[0].len, &c, why, sizeof(why)) == 0 && c.id == 6 &&
	       !strcmp(c.host, "h2") && !strcmp(c.intent.host, "h1") && c.intent.seq == 7,
	   "k3's claim: id 6 on h2 with the intent");
	claim_txn_free(t);
	free(placed);

	struct claim_obj *many = calloc(CLAIM_CHUNK + 1, sizeof(*many));
	for (size_t i = 0; i <= CLAIM_CHUNK; i++)
		snprintf(many[i].name, sizeof(many[i].name), "x%zu", i);
	ok(claim_chunk_build(t, &rq, 2, many, CLAIM_CHUNK, 60) == 0 && t->ncmp == ETCD_TXN_MAX,
	   "a chunk of CLAIM_CHUNK fits 128 compares");
	claim_txn_free(t);
	ok(claim_chunk_build(t, &rq, 2, many, CLAIM_CHUNK + 1, 60) == -E2BIG, "a chunk too big: E2BIG");
	free(many);

	/* rollback: k2 and k4 ours on h1, k3 someone else's now */
	struct crec_intent ri = {.kind = CREC_INTENT_LAUNCH, .ns = 2, .phase = CREC_PHASE_CREATING,
				 .vcpus = 1, .memory = 1 << 20};
	snprintf(ri.host, sizeof(ri.host), "h1");
	struct crec_intent_obj objs[3] = {{"k2", 5, "h1"}, {"k3", 6, "h2"}, {"k4", 7, "h1"}};
	ri.objects = objs;
	ri.nobjects = 3;
	struct claim_undo u[2] = {{&objs[0], true, 70, false}, {&objs[1], false, 0, false}};
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
	struct claim_undo last[1] = {{&objs[2], true, 80, false}};
	ok(claim_undo_build(t, C, &ri, "P/intent", 81, last, 1, caps, 1, NULL, 0) == 0 &&
	       t->ok[t->nok - 1].kind == ETCD_OP_DELETE && !strcmp(t->ok[t->nok - 1].key, "P/intent"),
	   "the last chunk deletes the intent");
	claim_txn_free(t);

	/* at claiming the launch reserved every object: k2 ours, k3 never claimed, k4 another's */
	ri.phase = CREC_PHASE_CLAIMING;
	struct claim_undo cu[3] = {{&objs[0], true, 70, false}, {&objs[1], false, 0, true},
				   {&objs[2], false, 0, false}};
	struct claim_undo_cap c2[2] = {{"h1", {.vcpus = 2, .memory = 2 << 20, .objects = 2}, 71},
				       {"h2", {.vcpus = 3, .objects = 2}, 72}};
	ok(claim_undo_build(t, C, &ri, "P/intent", 90, cu, 2, c2, 2, &objs[2], 1) == 0,
	   "a rollback chunk at claiming built");
	ok(t->nok == 4 && t->ok[0].kind == ETCD_OP_DELETE && strstr(t->ok[0].key, "/name/2/k2"),
	   "k2's claim deleted, both caps and the intent put");
	ok(t->ncmp == 5 && t->cmp[1].target == ETCD_VERSION && t->cmp[1].num == 0 &&
	       strstr(t->cmp[1].key, "/name/2/k3"),
	   "k3, not claimed, compared absent (a chunk late cannot land after)");
	ok(crec_cap_read(t->ok[2].value, t->ok[2].len, &cap, why, sizeof(why)) == 0 &&
	       cap.vcpus == 2 && cap.objects == 1,
	   "h2's reservation for k3 given back though it was never claimed");
	ok(crec_intent_read(t->ok[3].value, t->ok[3].len, &in, why, sizeof(why)) == 0 &&
	       in.nobjects == 1 && in.phase == CREC_PHASE_CLAIMING,
	   "the intent keeps the rest at claiming (they hold their reservation)");
	crec_intent_free(&in);
	claim_txn_free(t);
	ok(claim_undo_build(t, C, &ri, "P/intent", 91, &cu[2], 1, c2, 1, NULL, 0) == 0 &&
	       t->nok == 2 && t->ncmp == 2 && strstr(t->ok[0].key, "/cap/h1"),
	   "k4, another's: its claim left alone, h1's reservation given back");
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
