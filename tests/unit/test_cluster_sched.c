/* cluster/sched: the placement policies, the constraints, capacity and drain, their messages,
 * and the plan. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cluster/sched.h"
#include "runtime/util.h"
#include "tests/unit/tap.h"

#define GIB (1ULL << 30)
#define LEN(a) (sizeof a / sizeof a[0])
#define MAXN 20000
#define UNTOUCHED ((size_t)777) /* what where[] holds before a call */

/* An up host with 8 cores and 32 GiB, nothing on it. */
#define HOST(n)                                                                                    \
	{                                                                                          \
		.name = n, .up = true, .cpus = 8, .mem_total = 32 * GIB                            \
	}
/* An up host with objects on it: cores, memory, containers, vcpus and memory committed. */
#define LOADED(n, c, m, k, cc, mc)                                                                 \
	{                                                                                          \
		.name = n, .up = true, .cpus = c, .mem_total = m, .containers = k,                 \
		.cpu_commit = cc, .mem_commit = mc                                                 \
	}

static size_t where[MAXN];
static char err[2048];

static struct sched_ns ns_of(const struct sched_host *h, size_t nh, enum sched_policy p)
{
	return (struct sched_ns){.hosts = h, .nhosts = nh, .policy = p};
}

/* n objects shaped like t, named c1..cn. */
static const struct sched_obj *batch(struct sched_obj t, size_t n)
{
	static struct sched_obj o[MAXN];
	static char names[MAXN][24];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof names[i], "c%zu", i + 1);
		o[i] = t;
		o[i].name = names[i];
	}
	return o;
}

static int run(const struct sched_ns *ns, const struct sched_obj *o, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		where[i] = UNTOUCHED;
	strcpy(err, "(none)");
	return sched_place(ns, o, n, where, err, sizeof err);
}

/* How many of where[0..n) went to each host: "10/10/10". */
static const char *spread(size_t n, size_t nhosts)
{
	static char buf[256];
	size_t h, i, k, o = 0;

	buf[0] = '\0';
	for (h = 0; h < nhosts; h++) {
		for (k = i = 0; i < n; i++)
			k += where[i] == h;
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%zu", h ? "/" : "", k);
	}
	return buf;
}

/* where[0..n) as host names: "h1 h2 h1". */
static const char *hosts_of(const struct sched_ns *ns, size_t n)
{
	static char buf[512];
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < n && o < sizeof buf; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", i ? " " : "",
				      where[i] < ns->nhosts ? ns->hosts[where[i]].name : "?");
	return buf;
}

static bool untouched(size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (where[i] != UNTOUCHED)
			return false;
	return true;
}

/* Placing must fail with rc and exactly want, and place nothing. */
static void refused(int rc, int want_rc, size_t n, const char *want, const char *what)
{
	ok(rc == want_rc, "%s: refused with %d (got %d)", what, want_rc, rc);
	is_str(err, want, "%s: message", what);
	ok(untouched(n), "%s: nothing placed", what);
}

static void placed(int rc, const char *got, const char *want, const char *what)
{
	ok(rc == 0, "%s: placed", what);
	if (rc)
		printf("#   error: %s\n", err);
	is_str(got, want, "%s: hosts", what);
}

/* The call runs before got is read (function arguments have no order). */
#define PLACED(call, got, want, what)                                                              \
	do {                                                                                       \
		int rc_ = (call);                                                                  \
		placed(rc_, (got), (want), (what));                                                \
	} while (0)

static void test_policy_parse(void)
{
	static const struct {
		const char *word, *err;
		enum sched_policy want;
	} cases[] = {
	    {"fewest", NULL, SCHED_FEWEST},
	    {"cpu", NULL, SCHED_CPU},
	    {"memory", NULL, SCHED_MEM},
	    {"x", "\"x\" is not a policy: use fewest, cpu or memory", 0},
	    {"mem", "\"mem\" is not a policy: use fewest, cpu or memory", 0},
	    {"Fewest", "\"Fewest\" is not a policy: use fewest, cpu or memory", 0},
	    {"cpu ", "\"cpu \" is not a policy: use fewest, cpu or memory", 0},
	    {"fewest\n", "\"fewest\\n\" is not a policy: use fewest, cpu or memory", 0},
	    {"", "no policy given: use fewest, cpu or memory", 0},
	    {NULL, "no policy given: use fewest, cpu or memory", 0},
	};
	enum sched_policy p;
	size_t i;
	int rc;

	for (i = 0; i < LEN(cases); i++) {
		const char *w = cases[i].word ? cases[i].word : "(null)";
		p = (enum sched_policy)42;
		strcpy(err, "(none)");
		rc = sched_policy_parse(cases[i].word, &p, err, sizeof err);
		if (!cases[i].err) {
			ok(rc == 0 && p == cases[i].want, "policy %s parsed", w);
			is_str(sched_policy_name(p), cases[i].word, "policy %s: name round trip",
			       w);
		} else {
			ok(rc == -EINVAL && p == (enum sched_policy)42,
			   "policy %d: refused, untouched", (int)i);
			is_str(err, cases[i].err, "policy %d: message", (int)i);
		}
	}
	ok(sched_policy_name((enum sched_policy)3) == NULL, "no name outside the enum");
	ok(sched_policy_parse("bogus", &p, NULL, 0) == -EINVAL, "NULL err buffer");
	ok(sched_policy_parse("bogus", &p, err, 4) == -EINVAL && !strcmp(err, "\"bo"),
	   "message cut to errlen");
}

static void test_fewest(void)
{
	struct sched_host h[] = {HOST("h1"), HOST("h2"), HOST("h3")};
	struct sched_ns ns = ns_of(h, 3, SCHED_FEWEST);
	const struct sched_obj *o = batch((struct sched_obj){.vcpus = 1, .memory = GIB}, 30);

	PLACED(run(&ns, o, 30), spread(30, 3), "10/10/10", "fewest: 30 over 3 equal hosts");
	placed(0, hosts_of(&ns, 6), "h1 h2 h3 h1 h2 h3", "fewest: round robin, ties to host order");

	/* Existing load, VMs and containers alike: 36 in all, 12 a host. */
	h[0].vms = 2;
	h[0].containers = 4;
	PLACED(run(&ns, o, 30), spread(30, 3), "6/12/12", "fewest: h1 with 6 objects gets fewer");
	h[0].vms = h[0].containers = 0;
	h[2].vms = 40;
	PLACED(run(&ns, o, 30), spread(30, 3), "15/15/0", "fewest: a host far ahead gets none");

	/* Fewest ignores sizes: a host with much less memory still gets its share. */
	h[2].vms = 0;
	h[1].mem_total = GIB;
	h[1].cpus = 1;
	PLACED(run(&ns, o, 30), spread(30, 3), "10/10/10", "fewest: sizes play no part");

	/* Deterministic: the same input twice gives the same answer. */
	run(&ns, o, 30);
	{
		char first[512];
		strcpy(first, hosts_of(&ns, 30));
		run(&ns, o, 30);
		is_str(hosts_of(&ns, 30), first, "fewest: same input, same placement");
	}
}

static void test_cpu(void)
{
	struct sched_host h[] = {HOST("h1"), HOST("h2")};
	struct sched_ns ns = ns_of(h, 2, SCHED_CPU);
	const struct sched_obj *o = batch((struct sched_obj){.vcpus = 1}, 12);

	PLACED(run(&ns, o, 12), spread(12, 2), "6/6", "cpu: equal hosts share equally");
	placed(0, hosts_of(&ns, 4), "h1 h2 h1 h2", "cpu: ties to host order");

	h[1].cpus = 4; /* h1 8 cores, h2 4: 2:1 */
	PLACED(run(&ns, o, 12), spread(12, 2), "8/4", "cpu: in proportion to the cores");

	/* After placing, not before: a 4-core empty host would reach 1.0, an 8-core host with
	 * 2 vcpus only 0.75. Before placing, h1 (0) would have looked better than h2 (0.25). */
	h[0].cpus = 4;
	h[1].cpus = 8;
	h[1].cpu_commit = 2;
	h[1].containers = 5;
	o = batch((struct sched_obj){.vcpus = 4}, 1);
	PLACED(run(&ns, o, 1), hosts_of(&ns, 1), "h2", "cpu: the ratio after placing decides");

	/* Existing commit, and fractional commits from containers with CPU shares. */
	h[0].cpus = h[1].cpus = 8;
	h[0].cpu_commit = 6.5;
	h[1].cpu_commit = 0.5;
	o = batch((struct sched_obj){.vcpus = 2}, 4);
	PLACED(run(&ns, o, 4), hosts_of(&ns, 4), "h2 h2 h2 h1", "cpu: existing commit counts");

	/* A host reporting no cores ranks last, but still takes objects when alone. */
	h[0].cpu_commit = h[1].cpu_commit = 0;
	h[0].cpus = 0;
	PLACED(run(&ns, o, 3), hosts_of(&ns, 3), "h2 h2 h2", "cpu: 0 cores ranks last");
	h[1].up = false;
	PLACED(run(&ns, o, 2), hosts_of(&ns, 2), "h1 h1", "cpu: 0 cores, the only host up");
}

static void test_memory(void)
{
	struct sched_host h[] = {HOST("h1"), HOST("h2"), HOST("h3")};
	struct sched_ns ns = ns_of(h, 3, SCHED_MEM);
	const struct sched_obj *o = batch((struct sched_obj){.vcpus = 1, .memory = 2 * GIB}, 12);

	PLACED(run(&ns, o, 12), spread(12, 3), "4/4/4", "memory: equal hosts share equally");
	placed(0, hosts_of(&ns, 3), "h1 h2 h3", "memory: ties to host order");

	h[0].mem_total = 16 * GIB;
	h[2].mem_total = 16 * GIB; /* 16/32/16 GiB: 1:2:1 */
	PLACED(run(&ns, o, 16), spread(16, 3), "4/8/4", "memory: in proportion to the memory");

	/* Existing commit: h2 already half full gets nothing until the others catch up. */
	h[0].mem_total = h[2].mem_total = 32 * GIB;
	h[1].mem_commit = 16 * GIB;
	PLACED(run(&ns, o, 10), spread(10, 3), "5/0/5", "memory: existing commit counts");

	/* Sizes of several TiB compare exactly (no overflow, no float noise). */
	h[0].mem_total = 2ULL << 40;
	h[0].mem_commit = 1ULL << 40;
	h[1].mem_total = 6ULL << 40;
	h[1].mem_commit = 3ULL << 40;
	h[2].mem_total = 4ULL << 40;
	h[2].mem_commit = (2ULL << 40) + 1;
	o = batch((struct sched_obj){.memory = 0}, 1);
	PLACED(run(&ns, o, 1), hosts_of(&ns, 1), "h1", "memory: TiB ratios tie exactly");
	o = batch((struct sched_obj){.memory = 1}, 1);
	PLACED(run(&ns, o, 1), hosts_of(&ns, 1), "h2", "memory: one byte decides");

	/* A host reporting no memory ranks last. */
	h[0].mem_total = 0;
	h[0].mem_commit = h[1].mem_commit = h[2].mem_commit = 0;
	h[1].mem_total = h[2].mem_total = 32 * GIB;
	o = batch((struct sched_obj){.memory = GIB}, 4);
	PLACED(run(&ns, o, 4), hosts_of(&ns, 4), "h2 h3 h2 h3", "memory: 0 bytes ranks last");
}

/* The same namespace, one object: each policy picks another host. */
static void test_policies_differ(void)
{
	struct sched_host h[] = {
	    LOADED("h1", 4, 8 * GIB, 1, 0, 0),
	    LOADED("h2", 64, 16 * GIB, 20, 20, 12 * GIB),
	    LOADED("h3", 8, 512 * GIB, 9, 16, 64 * GIB),
	};
	struct sched_ns ns = ns_of(h, 3, SCHED_FEWEST);
	const struct sched_obj *o = batch((struct sched_obj){.vcpus = 2, .memory = 4 * GIB}, 1);
	static const char *const want[] = {"h1", "h2", "h3"};
	static const enum sched_policy pol[] = {SCHED_FEWEST, SCHED_CPU, SCHED_MEM};
	size_t i;

	for (i = 0; i < LEN(pol); i++) {
		ns.policy = pol[i];
		PLACED(run(&ns, o, 1), hosts_of(&ns, 1), want[i], sched_policy_name(pol[i]));
	}
}

static void test_down(void)
{
	struct sched_host h[] = {HOST("h1"), HOST("h2"), HOST("h3")};
	struct sched_ns ns = ns_of(h, 3, SCHED_FEWEST);
	const struct sched_obj *o = batch((struct sched_obj){.vcpus = 1, .memory = GIB}, 30);

	h[0].up = false;
	PLACED(run(&ns, o, 30), spread(30, 3), "0/15/15", "down: h1 skipped");
	ns.policy = SCHED_CPU;
	PLACED(run(&ns, o, 30), spread(30, 3), "0/15/15", "down: h1 skipped by cpu");
	ns.policy = SCHED_MEM;
	PLACED(run(&ns, o, 30), spread(30, 3), "0/15/15", "down: h1 skipped by memory");

	h[1].up = h[2].up = false;
	refused(run(&ns, o, 30), -EHOSTDOWN, 30,
		"no host of the namespace is up (h1 down, h2 down, h3 down)", "down: all three");
	ns.nhosts = 2;
	refused(run(&ns, o, 1), -EHOSTDOWN, 1, "no host of the namespace is up (h1 down, h2 down)",
		"down: both");
	ns.nhosts = 0;
	refused(run(&ns, o, 3), -EHOSTDOWN, 3, "the namespace has no hosts", "down: no hosts");
	ok(run(&ns, o, 0) == 0, "nothing to place: fine even without hosts");
}

static void test_pin(void)
{
	struct sched_host h[] = {HOST("h1"), HOST("h2"), HOST("h3")};
	struct sched_ns ns = ns_of(h, 3, SCHED_FEWEST);
	struct sched_obj o[] = {
	    {.name = "c1", .pin = "h3"}, {.name = "c2"},
	    {.name = "c3", .pin = ""}, /* empty: no pin */
	    {.name = "c4", .pin = "h3"}, {.name = "c5"},
	};

	PLACED(run(&ns, o, 5), hosts_of(&ns, 5), "h3 h1 h2 h3 h1", "pin: pinned and free mixed");
	PLACED(run(&ns, batch((struct sched_obj){.pin = "h2"}, 30), 30), spread(30, 3), "0/30/0",
	       "pin: all 30 on h2");

	o[2].pin = "h9";
	refused(run(&ns, o, 5), -EINVAL, 5,
		"c3: config/host names h9, which is not a host of the namespace (h1 h2 h3)",
		"pin: unknown host");
	o[2].pin = "h\n9";
	refused(run(&ns, o, 5), -EINVAL, 5,
		"c3: config/host names h\\n9, which is not a host of the namespace (h1 h2 h3)",
		"pin: unknown host, escaped");
	o[2].pin = "h2";
	h[1].up = false;
	refused(run(&ns, o, 5), -EINVAL, 5, "c3: pinned to h2, which is down", "pin: host down");
	o[2].pin = NULL;
	PLACED(run(&ns, o, 5), hosts_of(&ns, 5), "h3 h1 h1 h3 h1", "pin: others avoid the down h2");
}

static void test_colocate(void)
{
	struct sched_host h[] = {HOST("h1"), HOST("h2"), HOST("h3")};
	struct sched_existing e[] = {{.name = "e1", .host = 1}, {.name = "e2", .host = 2}};
	struct sched_ns ns = ns_of(h, 3, SCHED_FEWEST);
	struct sched_obj o[] = {
	    {.name = "c1", .colocate = "e1"}, {.name = "c2"},
	    {.name = "c3", .colocate = "c2"}, {.name = "c4", .colocate = "c3"},
	    {.name = "c5", .colocate = ""}, /* empty: none */
	};

	h[1].containers = h[2].containers = 1;
	ns.existing = e;
	ns.nexisting = 2;
	PLACED(run(&ns, o, 5), hosts_of(&ns, 5), "h2 h1 h1 h1 h3",
	       "colocate: with existing, with earlier, chained");

	o[3].colocate = "c99";
	refused(run(&ns, o, 5), -EINVAL, 5, "c4: colocate names c99, which is not in the namespace",
		"colocate: unknown");
	o[3].colocate = "c5";
	refused(run(&ns, o, 5), -EINVAL, 5,
		"c4: colocate names c5, which is launched after it: launch c5 first",
		"colocate: a later object");
	o[3].colocate = "c4";
	refused(run(&ns, o, 5), -EINVAL, 5, "c4: colocate names the object itself",
		"colocate: itself");
	o[3].colocate = "c3";
	h[1].up = false;
	refused(run(&ns, o, 5), -EINVAL, 5, "c1: colocated with e1, whose host h2 is down",
		"colocate: existing on a down host");
	h[1].up = true;

	/* With a pin: agreeing is fine, disagreeing names both. */
	o[0].pin = "h2";
	o[3].pin = "h1";
	PLACED(run(&ns, o, 5), hosts_of(&ns, 5), "h2 h1 h1 h1 h3", "colocate: pin agrees");
	o[3].pin = "h3";
	refused(run(&ns, o, 5), -EINVAL, 5,
		"c4: pinned to h3 but colocated with c3, which is on h1",
		"colocate: pin disagrees (earlier object)");
	o[3].pin = NULL;
	o[0].pin = "h1";
	refused(run(&ns, o, 5), -EINVAL, 5,
		"c1: pinned to h1 but colocated with e1, which is on h2",
		"colocate: pin disagrees (existing object)");
}

static void test_coschedule_own(void)
{
	struct sched_host h[] = {HOST("h1"), HOST("h2"), HOST("h3")};
	struct sched_ns ns = ns_of(h, 3, SCHED_MEM);
	struct sched_obj alone = {.name = "c1", .has_coschedule = true, .coschedule = 0};

	/* Memory prefers the big h1, but it holds an object already: alone means h2. */
	h[0].mem_total = 512 * GIB;
	h[0].containers = 1;
	PLACED(run(&ns, &alone, 1), hosts_of(&ns, 1), "h2", "coschedule 0: an empty host");

	/* A limit of 2: a host with 2 is fine, one with 3 is not. */
	alone.coschedule = 2;
	h[0].containers = 3;
	PLACED(run(&ns, &alone, 1), hosts_of(&ns, 1), "h2", "coschedule 2: not beside 3");
	h[0].containers = 2;
	PLACED(run(&ns, &alone, 1), hosts_of(&ns, 1), "h1", "coschedule 2: beside 2 is fine");

	/* Unset is no limit, whatever the number says: a zeroed struct must not mean alone. */
	alone.has_coschedule = false;
	alone.coschedule = 0;
	h[0].containers = 50;
	PLACED(run(&ns, &alone, 1), hosts_of(&ns, 1), "h1", "coschedule unset: no limit");
	PLACED(run(&ns, batch((struct sched_obj){.pin = "h1"}, 100), 100), spread(100, 3),
	       "100/0/0", "coschedule unset: 100 on one host");
}

static void test_coschedule_others(void)
{
	struct sched_host h[] = {HOST("h1"), HOST("h2")};
	struct sched_existing e[] = {
	    {.name = "e1", .host = 0, .has_coschedule = true, .coschedule = 1}};
	struct sched_existing three[] = {
	    {.name = "e1", .host = 0, .has_coschedule = true, .coschedule = 5},
	    {.name = "e2", .host = 0, .has_coschedule = true, .coschedule = 1},
	    {.name = "e3", .host = 0, .has_coschedule = true, .coschedule = 3},
	};
	struct sched_ns ns = ns_of(h, 2, SCHED_FEWEST);
	struct sched_obj o[6] = {
	    {.name = "c1", .pin = "h1", .has_coschedule = true, .coschedule = 0}};
	size_t i;

	/* Launched first, c1 alone on h1 keeps everything after it off h1. */
	for (i = 1; i < 6; i++)
		o[i] = batch((struct sched_obj){0}, 6)[i];
	PLACED(run(&ns, o, 6), hosts_of(&ns, 6), "h1 h2 h2 h2 h2 h2",
	       "coschedule 0: later objects kept off its host");

	/* A limit of 2: two more beside it, then no more. */
	o[0].coschedule = 2;
	h[1].containers = 10;
	PLACED(run(&ns, o, 6), hosts_of(&ns, 6), "h1 h1 h1 h2 h2 h2",
	       "coschedule 2: two others, then no more");

	/* An existing object's limit binds too: e1 on h1 accepts one other. */
	h[0].containers = 1;
	h[1].containers = 0;
	ns.existing = e;
	ns.nexisting = 1;
	o[0] = batch((struct sched_obj){0}, 1)[0];
	PLACED(run(&ns, o, 5), hosts_of(&ns, 5), "h2 h1 h2 h2 h2", "coschedule: an existing limit");

	/* The tightest limit on a host is the one that binds, and the one named. */
	h[0].containers = 3;
	h[1].up = false;
	ns.existing = three;
	ns.nexisting = 3;
	refused(
	    run(&ns, o, 1), -EINVAL, 1,
	    "c1: no host that is up can take it under the coschedule limits (h1 holds e2, whose "
	    "coschedule allows 1 other beside it)",
	    "coschedule: the tightest existing limit");
}

static void test_coschedule_errors(void)
{
	struct sched_host h[] = {HOST("h1"), HOST("h2"), HOST("h3")};
	struct sched_existing e[] = {
	    {.name = "e1", .host = 0, .has_coschedule = true, .coschedule = 0}};
	struct sched_ns ns = ns_of(h, 3, SCHED_FEWEST);
	struct sched_obj o[] = {
	    {.name = "c1"},
	    {.name = "c2"},
	    {.name = "c3"},
	    {.name = "c4", .has_coschedule = true, .coschedule = 0},
	};

	/* Greedy in launch order: c4 last finds every host taken; c4 first would fit. */
	refused(
	    run(&ns, o, 4), -EINVAL, 4,
	    "c4: no host that is up can take it under the coschedule limits (h1 holds 1 object, "
	    "and c4's coschedule allows 0 others beside it; h2 holds 1 object, and c4's "
	    "coschedule allows 0 others beside it; h3 holds 1 object, and c4's coschedule "
	    "allows 0 others beside it)",
	    "coschedule: launch order matters");
	{
		struct sched_obj first[] = {o[3], o[0], o[1], o[2]};
		PLACED(run(&ns, first, 4), hosts_of(&ns, 4), "h1 h2 h3 h2",
		       "coschedule: constrained object launched first");
	}

	/* Each host refuses for its own reason; a down host is not listed. */
	h[0].containers = 1;
	h[1].containers = 2;
	h[2].up = false;
	ns.existing = e;
	ns.nexisting = 1;
	o[0].has_coschedule = true;
	o[0].coschedule = 1;
	refused(
	    run(&ns, o, 4), -EINVAL, 4,
	    "c1: no host that is up can take it under the coschedule limits (h1 holds e1, whose "
	    "coschedule allows 0 others beside it; h2 holds 2 objects, and c1's coschedule "
	    "allows 1 other beside it)",
	    "coschedule: both directions refuse");

	/* Pinned or colocated where a limit forbids it. */
	o[0].has_coschedule = false;
	o[0].pin = "h1";
	refused(run(&ns, o, 4), -EINVAL, 4,
		"c1: pinned to h1, but h1 holds e1, whose coschedule allows 0 others beside it",
		"coschedule: pinned beside an object that wants to be alone");
	o[0].pin = "h2";
	o[1] = (struct sched_obj){
	    .name = "c2", .colocate = "c1", .has_coschedule = true, .coschedule = 2};
	refused(run(&ns, o, 4), -EINVAL, 4,
		"c2: colocated with c1 on h2, but h2 holds 3 objects, and c2's coschedule allows 2 "
		"others beside it",
		"coschedule: colocated on a host with too many");
	o[1].coschedule = 3;
	o[2] = (struct sched_obj){.name = "c3", .colocate = "c2"};
	refused(run(&ns, o, 3), -EINVAL, 3,
		"c3: colocated with c2 on h2, but h2 holds c2, whose coschedule allows 3 others "
		"beside it",
		"coschedule: colocated beyond the target's own limit");
	o[1].coschedule = 4;
	PLACED(run(&ns, o, 3), hosts_of(&ns, 3), "h2 h2 h2", "coschedule: a limit just met");
}

/* One failure anywhere places nothing, and leaves nothing behind for the next call. */
static void test_all_or_nothing(void)
{
	struct sched_host h[] = {HOST("h1"), HOST("h2")};
	struct sched_ns ns = ns_of(h, 2, SCHED_FEWEST);
	struct sched_obj *o = (struct sched_obj *)batch((struct sched_obj){0}, 100);

	o[99].pin = "h7";
	refused(run(&ns, o, 100), -EINVAL, 100,
		"c100: config/host names h7, which is not a host of the namespace (h1 h2)",
		"all or nothing: the last of 100 fails");
	o[99].pin = NULL;
	PLACED(run(&ns, o, 100), spread(100, 2), "50/50", "all or nothing: no trace afterwards");
	ok(h[0].containers == 0 && h[0].cpu_commit == 0, "the caller's hosts are not changed");
}

static void test_bad_input(void)
{
	struct sched_host h[] = {HOST("h1"), HOST("h2"), HOST("h3")};
	struct sched_existing e[] = {{.name = "e1", .host = 7}};
	struct sched_ns ns = ns_of(h, 3, SCHED_FEWEST);
	const struct sched_obj *o = batch((struct sched_obj){0}, 2);

	ns.existing = e;
	ns.nexisting = 1;
	refused(run(&ns, o, 2), -EINVAL, 2,
		"e1: host index 7 is out of range (the namespace has 3 hosts)",
		"existing object on no host");
	ns.nexisting = 0;
	ns.policy = (enum sched_policy)9;
	refused(run(&ns, o, 2), -EINVAL, 2, "policy 9 is not one of fewest, cpu or memory",
		"unknown policy value");
	ns.policy = SCHED_FEWEST;
	ok(sched_place(&ns, o, 2, where, NULL, 0) == 0, "NULL err buffer on success");
	h[0].up = h[1].up = h[2].up = false;
	ok(sched_place(&ns, o, 2, where, NULL, 0) == -EHOSTDOWN, "NULL err buffer on failure");
	ok(sched_place(&ns, o, 2, where, err, 9) == -EHOSTDOWN && !strcmp(err, "no host "),
	   "message cut to errlen");
}

/* Many hosts refusing: the list is cut with "...", never overflows. */
static void test_long_message(void)
{
	static struct sched_host h[200];
	static char names[200][64];
	struct sched_ns ns = ns_of(h, 200, SCHED_FEWEST);
	struct sched_obj o = {.name = "c1", .has_coschedule = true, .coschedule = 0};
	size_t i, len;

	for (i = 0; i < 200; i++) {
		snprintf(names[i], sizeof names[i], "host-with-a-rather-long-name-%03zu", i);
		h[i] = (struct sched_host){.name = names[i], .up = true, .cpus = 1, .vms = 1};
	}
	ok(run(&ns, &o, 1) == -EINVAL, "200 full hosts: refused");
	len = strlen(err);
	ok(len < sizeof err && len > 1000 && !strcmp(err + len - 4, "...)"),
	   "200 full hosts: message cut with ... (%zu bytes)", len);
	h[199].vms = 0;
	PLACED(run(&ns, &o, 1), hosts_of(&ns, 1), "host-with-a-rather-long-name-199",
	       "200 hosts: the one empty host");
}

/* Large launches: even spreads, and a long colocate chain stays fast (searched backwards). */
static void test_large(void)
{
	struct sched_host h[] = {HOST("h1"), HOST("h2"), HOST("h3"), HOST("h4"),
				 HOST("h5"), HOST("h6"), HOST("h7")};
	struct sched_ns ns = ns_of(h, 7, SCHED_FEWEST);
	struct sched_obj *o = (struct sched_obj *)batch((struct sched_obj){.vcpus = 1}, MAXN);
	char prev[16];
	size_t i;

	PLACED(run(&ns, o, MAXN), spread(MAXN, 7), "2858/2857/2857/2857/2857/2857/2857",
	       "20000 over 7 hosts");
	ns.policy = SCHED_CPU;
	PLACED(run(&ns, o, MAXN), spread(MAXN, 7), "2858/2857/2857/2857/2857/2857/2857",
	       "20000 over 7 hosts by cpu");
	for (i = 1; i < MAXN; i++)
		o[i].colocate = o[i - 1].name;
	ns.policy = SCHED_FEWEST;
	PLACED(run(&ns, o, MAXN), spread(MAXN, 7), "20000/0/0/0/0/0/0",
	       "a chain of 20000 colocated objects");
	snprintf(prev, sizeof prev, "c%d", MAXN);
	o[0].colocate = prev;
	refused(run(&ns, o, MAXN), -EINVAL, MAXN,
		"c1: colocate names c20000, which is launched after it: launch c20000 first",
		"a chain closed into a ring");
}

/* A host with limits: cores and GiB as given, default ratios, nothing on it. */
#define CAPPED(n, c, g)                                                                            \
	{                                                                                          \
		.name = n, .up = true, .cpus = c, .mem_total = (g)*GIB, .limited = true            \
	}

/* Capacity: cpus x 4 vcpus and memory x 1.0 by default, at most; exactly full still fits. */
static void test_capacity(void)
{
	struct sched_host h[] = {CAPPED("h1", 4, 8), CAPPED("h2", 4, 8)};
	struct sched_ns ns = ns_of(h, 2, SCHED_FEWEST);
	const struct sched_obj *o = batch((struct sched_obj){.vcpus = 2, .memory = GIB}, 17);

	PLACED(run(&ns, o, 16), spread(16, 2), "8/8", "capacity: 16 fit exactly");
	refused(run(&ns, o, 17), -ENOSPC, 17,
		"c17 (2 vcpus, 1.0 GiB): no host has room for it: h1: 16 of 16 vcpus, 8.0 of "
		"8.0 GiB committed; h2: 16 of 16 vcpus, 8.0 of 8.0 GiB committed",
		"capacity: the 17th, all or nothing");
	h[0].limited = h[1].limited = false;
	PLACED(run(&ns, o, 17), spread(17, 2), "9/8",
	       "without limits (the probing cluster): placed as before");
	h[0].limited = h[1].limited = true;

	/* memory binds before cpus */
	o = batch((struct sched_obj){.vcpus = 1, .memory = 3 * GIB}, 6);
	refused(run(&ns, o, 6), -ENOSPC, 6,
		"c5 (1 vcpu, 3.0 GiB): no host has room for it: h1: 2 of 16 vcpus, 6.0 of 8.0 "
		"GiB committed; h2: 2 of 16 vcpus, 6.0 of 8.0 GiB committed",
		"capacity: memory");
	/* a host already committed: the design's words, with a draining and a down host */
	struct sched_host d[] = {
	    {.name = "h1",
	     .up = true,
	     .cpus = 4,
	     .mem_total = (uint64_t)(31.2 * GIB),
	     .cpu_commit = 14,
	     .mem_commit = (uint64_t)(30.1 * GIB),
	     .vms = 7,
	     .limited = true},
	    {.name = "h2",
	     .up = true,
	     .cpus = 64,
	     .mem_total = 256 * GIB,
	     .draining = true,
	     .limited = true},
	    {.name = "h3", .up = false, .cpus = 64, .mem_total = 256 * GIB, .limited = true},
	};
	struct sched_ns dn = ns_of(d, 3, SCHED_MEM);
	struct sched_obj k7 = {.name = "k7", .vcpus = 4, .memory = 2 * GIB};
	refused(run(&dn, &k7, 1), -ENOSPC, 1,
		"k7 (4 vcpus, 2.0 GiB): no host has room for it: h1: 14 of 16 vcpus, 30.1 of 31.2 "
		"GiB committed; h2: draining; h3: down",
		"ENOSPC: each host's figures");
	k7.vcpus = 2;
	k7.memory = GIB;
	PLACED(run(&dn, &k7, 1), hosts_of(&dn, 1), "h1", "2 vcpus and 1 GiB still fit on h1");
	/* the cpu and memory policies rank only the hosts with room */
	struct sched_host p[] = {CAPPED("small", 2, 4), CAPPED("big", 2, 64)};
	struct sched_ns pn = ns_of(p, 2, SCHED_CPU);
	o = batch((struct sched_obj){.vcpus = 4, .memory = 3 * GIB}, 3);
	PLACED(run(&pn, o, 3), hosts_of(&pn, 3), "small big big",
	       "cpu policy: the small host is full after one");
}

static void test_ratios(void)
{
	struct sched_host h[] = {CAPPED("h1", 4, 8), CAPPED("h2", 4, 8)};
	struct sched_ns ns = ns_of(h, 2, SCHED_FEWEST);
	const struct sched_obj *o = batch((struct sched_obj){.vcpus = 2, .memory = GIB}, 24);

	h[0].cpu_ratio = h[1].cpu_ratio = 1;
	refused(run(&ns, o, 5), -ENOSPC, 5,
		"c5 (2 vcpus, 1.0 GiB): no host has room for it: h1: 4 of 4 vcpus, 2.0 of 8.0 GiB "
		"committed; h2: 4 of 4 vcpus, 2.0 of 8.0 GiB committed",
		"cpu_ratio 1: a vcpu per core");
	h[0].cpu_ratio = 1.5;
	PLACED(run(&ns, o, 5), spread(5, 2), "3/2", "cpu_ratio 1.5: 6 vcpus on h1");
	h[0].cpu_ratio = h[1].cpu_ratio = 8;
	h[0].mem_ratio = h[1].mem_ratio = 1.5;
	PLACED(run(&ns, o, 24), spread(24, 2), "12/12", "mem_ratio 1.5: 12 GiB each");
	o = batch((struct sched_obj){.vcpus = 2, .memory = GIB}, 25);
	ok(run(&ns, o, 25) == -ENOSPC && strstr(err, "h1: 24 of 32 vcpus, 12.0 of 12.0 GiB"),
	   "mem_ratio 1.5: the 25th refused (%s)", err);
	/* a ratio that makes no sense is the default's */
	h[0].cpu_ratio = 0;
	h[1].cpu_ratio = -3;
	h[0].mem_ratio = NAN;
	h[1].mem_ratio = INFINITY;
	o = batch((struct sched_obj){.vcpus = 2, .memory = GIB}, 17);
	ok(run(&ns, o, 17) == -ENOSPC &&
	       strstr(err, "h1: 16 of 16 vcpus, 8.0 of 8.0 GiB committed; h2: 16 of 16 vcpus, "
			   "8.0 of 8.0 GiB committed"),
	   "0, negative, NaN, infinite ratios: 4 and 1.0 (%s)", err);
	/* huge figures do not overflow */
	struct sched_host big[] = {{.name = "b",
				    .up = true,
				    .cpus = 4096,
				    .mem_total = 1ULL << 62,
				    .limited = true,
				    .mem_ratio = 1000}};
	struct sched_ns bn = ns_of(big, 1, SCHED_MEM);
	struct sched_obj huge = {.name = "x", .vcpus = 1, .memory = 1ULL << 63};
	PLACED(run(&bn, &huge, 1), hosts_of(&bn, 1), "b", "2^63 bytes under 2^62 x 1000");
}

static void test_drain(void)
{
	struct sched_host h[] = {HOST("h1"), HOST("h2"), HOST("h3")};
	struct sched_existing e[] = {{.name = "e1", .host = 1}};
	struct sched_ns ns = {.hosts = h, .nhosts = 3, .existing = e, .nexisting = 1};
	const struct sched_obj *o = batch((struct sched_obj){.vcpus = 1, .memory = GIB}, 30);
	struct sched_obj pin = {.name = "c1", .vcpus = 1, .memory = GIB, .pin = "h2"};
	struct sched_obj col = {.name = "c1", .vcpus = 1, .memory = GIB, .colocate = "e1"};

	h[1].draining = true;
	PLACED(run(&ns, o, 30), spread(30, 3), "15/0/15", "drain: h2 takes nothing (no limits)");
	ns.policy = SCHED_CPU;
	PLACED(run(&ns, o, 30), spread(30, 3), "15/0/15", "drain: by cpu too");
	refused(run(&ns, &pin, 1), -ENOSPC, 1,
		"c1 (1 vcpu, 1.0 GiB): pinned to h2, which has no room for it: h2: draining",
		"drain: pinned there");
	refused(run(&ns, &col, 1), -ENOSPC, 1,
		"c1 (1 vcpu, 1.0 GiB): colocated with e1 on h2, which has no room for it: h2: "
		"draining",
		"drain: colocated there");
	h[0].draining = h[2].draining = true;
	refused(run(&ns, o, 1), -ENOSPC, 1,
		"c1 (1 vcpu, 1.0 GiB): no host has room for it: h1: draining; h2: draining; h3: "
		"draining",
		"drain: every host");
	h[0].up = false;
	refused(run(&ns, o, 1), -ENOSPC, 1,
		"c1 (1 vcpu, 1.0 GiB): no host has room for it: h1: down; h2: draining; h3: "
		"draining",
		"drain and down");
	/* a pinned object over a full host, and room and coschedule refusing together */
	struct sched_host c[] = {CAPPED("h1", 1, 1), CAPPED("h2", 8, 8)};
	struct sched_existing alone[] = {{.name = "solo", .host = 1, .has_coschedule = true}};
	struct sched_ns cn = {.hosts = c, .nhosts = 2, .existing = alone, .nexisting = 1};
	struct sched_obj fat = {.name = "f", .vcpus = 8, .memory = 2 * GIB, .pin = "h1"};
	c[1].vms = 1;
	refused(run(&cn, &fat, 1), -ENOSPC, 1,
		"f (8 vcpus, 2.0 GiB): pinned to h1, which has no room for it: h1: 0 of 4 vcpus, "
		"0.0 of 1.0 GiB committed",
		"pinned to a host too small");
	fat.pin = NULL;
	refused(run(&cn, &fat, 1), -ENOSPC, 1,
		"f (8 vcpus, 2.0 GiB): no host has room for it: h1: 0 of 4 vcpus, 0.0 of 1.0 GiB "
		"committed; h2 holds solo, whose coschedule allows 0 others beside it",
		"room and coschedule: ENOSPC with both reasons");
}

static const char *plan(const struct sched_ns *ns, const struct sched_obj *o, size_t n)
{
	static char buf[4096];
	struct sbuf b = {0};

	sched_plan(ns, o, n, where, &b);
	snprintf(buf, sizeof buf, "%.*s", (int)b.len, b.p ? b.p : "");
	sb_free(&b);
	return buf;
}

static void test_plan(void)
{
	struct sched_host h[] = {CAPPED("h1", 8, 32), CAPPED("h2", 8, 32), CAPPED("h3", 8, 32),
				 HOST("h4")};
	struct sched_ns ns = ns_of(h, 4, SCHED_FEWEST);
	const struct sched_obj *o = batch((struct sched_obj){.vcpus = 2, .memory = GIB / 2}, 5);

	h[1].containers = 1;
	h[1].cpu_commit = 4;
	h[1].mem_commit = 4 * GIB;
	h[2].draining = true;
	h[3].up = false;
	PLACED(run(&ns, o, 5), hosts_of(&ns, 5), "h1 h1 h2 h1 h2", "plan: placed");
	is_str(plan(&ns, o, 5),
	       "c1 h1\nc2 h1\nc3 h2\nc4 h1\nc5 h2\n"
	       "h1: 3 objects, 6 of 32 vcpus, 1.5 of 32.0 GiB committed\n"
	       "h2: 3 objects, 8 of 32 vcpus, 5.0 of 32.0 GiB committed\n"
	       "h3: draining, 0 objects, 0 of 32 vcpus, 0.0 of 32.0 GiB committed\n"
	       "h4: down, 0 objects, 0 vcpus, 0.0 GiB committed\n",
	       "plan: an object a line, then each host's load after");
	h[0].limited = false;
	h[0].cpu_commit = 0.5;
	ok(strstr(plan(&ns, o, 1), "c1 h1\nh1: 1 object, 2.5 vcpus, 0.5 GiB committed\n") != NULL,
	   "plan: a host without limits, one object, half a vcpu");
	is_str(plan(&ns, o, 0),
	       "h1: 0 objects, 0.5 vcpus, 0.0 GiB committed\n"
	       "h2: 1 object, 4 of 32 vcpus, 4.0 of 32.0 GiB committed\n"
	       "h3: draining, 0 objects, 0 of 32 vcpus, 0.0 of 32.0 GiB committed\n"
	       "h4: down, 0 objects, 0 vcpus, 0.0 GiB committed\n",
	       "plan of nothing: the loads as they are");
}

int main(void)
{
	test_policy_parse();
	test_fewest();
	test_cpu();
	test_memory();
	test_policies_differ();
	test_down();
	test_pin();
	test_colocate();
	test_coschedule_own();
	test_coschedule_others();
	test_coschedule_errors();
	test_all_or_nothing();
	test_bad_input();
	test_long_message();
	test_large();
	test_capacity();
	test_ratios();
	test_drain();
	test_plan();
	return tap_done();
}
