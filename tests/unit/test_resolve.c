/* cluster/resolve: all, globs, ranges, names and ids across three hosts; nothing matched;
 * a host without a match left out; a named object in the wrong state refused before sending;
 * down hosts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/resolve.h"
#include "tests/unit/tap.h"

#define LEN(a) (sizeof a / sizeof a[0])
#define T0 1796589667 /* 2026-12-06T20:41:07Z */

static struct resolve_host hosts[3] = {
    {.name = "h1", .up = true}, {.name = "h2", .up = true}, {.name = "h3", .up = true}};

/* In no particular order: the cache's order is not the hosts'. */
static const struct resolve_obj objs[] = {
    {"db", 8, ST_RUNNING, 2, NULL},  {"k1", 1, ST_RUNNING, 0, NULL},
    {"k2", 2, ST_RUNNING, 0, NULL},  {"web1", 3, ST_QUIT, 0, NULL},
    {"k3", 4, ST_BUILDING, 1, NULL}, {"k4", 5, ST_RUNNING, 1, NULL},
    {"web2", 6, ST_PAUSED, 1, NULL}, {"k5", 7, ST_RUNNING, 2, NULL},
    {"12", 9, ST_RUNNING, 2, NULL},  {"mv", 10, ST_QUIT, 1, "moving to h3"},
};

static char err[1024];
static struct resolution r;

static int run(enum verb v, const char *spec)
{
	resolve_free(&r);
	err[0] = 0;
	return resolve(hosts, 3, objs, LEN(objs), "lab", v, spec, &r, err, sizeof err);
}

/* The resolution as "h1:1,2 h3(down):7": what each host is sent. */
static const char *shape(void)
{
	static char buf[1024];
	size_t o = 0;

	buf[0] = 0;
	for (size_t k = 0; k < r.nparts; k++) {
		const struct resolve_part *p = &r.parts[k];
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s%s:", k ? " " : "",
				      hosts[p->host].name, p->down ? "(down)" : "");
		for (size_t i = 0; i < p->n; i++)
			o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%llu", i ? "," : "",
					      (unsigned long long)p->ids[i]);
	}
	return buf;
}

static void test_all_and_globs(void)
{
	ok(run(V_STOP, "all") == 0, "all");
	is_str(shape(), "h1:1,2,3 h2:4,5,6,10 h3:8,7,9", "all: every host, in hosts order");
	ok(r.unfit == UNFIT_SKIP && r.total == 10, "all: unfit skipped, 10 ids");

	ok(run(V_PAUSE, "web*") == 0, "a glob");
	is_str(shape(), "h1:3 h2:6", "web*: h3 has no match and is not asked");
	ok(r.unfit == UNFIT_SKIP, "a glob: unfit objects are skipped by their member");

	ok(run(V_PAUSE, "k?") == 0, "k?: a BUILDING object is sent, to be skipped");
	is_str(shape(), "h1:1,2 h2:4,5 h3:7", "k?: across three hosts");

	ok(run(V_START, "k5*") == 0, "a glob on one host only succeeds");
	is_str(shape(), "h3:7", "k5*: only h3");

	ok(run(V_START, "zz*") == -ENOENT, "a glob matching nothing anywhere: ENOENT");
	is_str(err, "no VM or container in namespace lab matches zz* (on any of its hosts)",
	       "its words");
	ok(r.nparts == 0 && r.parts == NULL, "nothing to send");
}

static void test_names_ranges_ids(void)
{
	ok(run(V_KILL, "k[1-5]") == 0, "a range across hosts (kill takes BUILDING)");
	is_str(shape(), "h1:1,2 h2:4,5 h3:7", "k[1-5]");
	ok(r.unfit == UNFIT_REFUSE, "named: unfit refused");

	ok(run(V_START, "k[1-30]") == -ENOENT, "a range with names on no host: ENOENT");
	is_str(err, "no VM or container named k6 in namespace lab (on any of its hosts)",
	       "the first missing name");
	is_str(r.missing, "k6", "the name to look up in etcd before answering ENOENT");
	ok(r.nparts == 0, "nothing to send");
	ok(run(V_PAUSE, "k3,k9") == -ENOENT, "every name is found before any state is checked");

	ok(run(V_STOP, "db,k1") == 0, "names");
	is_str(shape(), "h1:1 h3:8", "hosts order, not the order named");

	ok(run(V_STOP, "8,1,k1,db") == 0, "ids and names of the same objects");
	is_str(shape(), "h1:1 h3:8", "each object once");

	ok(run(V_STOP, "12") == 0 && !strcmp(shape(), "h3:9"),
	   "a name that is digits is the name first (as on one host)");
	ok(run(V_STOP, "9") == 0 && !strcmp(shape(), "h3:9"), "an id is cluster-wide: 9 is 12");
	ok(run(V_STOP, "5") == 0 && !strcmp(shape(), "h2:5"), "id 5 is k4 on h2");
	ok(run(V_STOP, "11") == -ENOENT && !strcmp(r.missing, "11"),
	   "an id that is nowhere: ENOENT, missing 11");
	ok(run(V_STOP, "zz*") == -ENOENT && !r.missing[0], "a glob names nothing missing");
	ok(run(V_STOP, "k1") == 0 && !r.missing[0], "found: nothing missing");
	ok(run(V_STOP, "k[1-") == -EINVAL && strstr(err, "never closed"),
	   "a malformed range: range_expand's words (%s)", err);
	ok(run(V_STOP, "") == -EINVAL, "no target: EINVAL");
	ok(run(V_STOP, "all,k1") == -EINVAL, "all inside a list is a name, and reserved");
}

static void test_states(void)
{
	ok(run(V_PAUSE, "k3") == -EBUSY, "pause of a named BUILDING object: EBUSY");
	is_str(err, "k3 is BUILDING: pause needs it RUNNING", "the lifecycle's words");
	ok(r.nparts == 0, "refused before anything is sent");

	ok(run(V_PAUSE, "k1,k4,k3,web1") == -EBUSY && strstr(err, "k3 is BUILDING"),
	   "the first unfit in the order named is the one told (%s)", err);
	ok(r.nparts == 0, "nothing sent to the hosts whose objects fit");

	ok(run(V_RESUME, "web[1-2]") == -EBUSY, "resume web1 (QUIT), web2 (PAUSED): EBUSY");
	is_str(err, "web1 is QUIT: resume needs it PAUSED", "web1 told");
	ok(run(V_RESUME, "web2") == 0 && !strcmp(shape(), "h2:6"), "resume of the paused one");
	ok(run(V_FLUSH, "web1") == 0, "flush of a QUIT object");
	ok(run(V_START, "4") == 0, "start of k3 (BUILDING) by its id");
	ok(run(V_PAUSE, "4") == -EBUSY && strstr(err, "k3 is BUILDING"), "by id, refused too");

	ok(run(V_START, "mv") == -EBUSY, "an object being moved: EBUSY");
	is_str(err, "mv is moving to h3: start waits until that has ended", "its words");
	ok(run(V_START, "m*") == 0 && !strcmp(shape(), "h2:10"),
	   "from a glob the member decides (skip)");
	ok(run(V_MAX, "all") == -EINVAL, "a verb out of range: EINVAL");
}

static void test_down(void)
{
	struct hostans a;
	struct sbuf b = {0};

	hosts[2].up = false;
	hosts[2].down_since = T0;
	ok(run(V_PAUSE, "all") == 0, "all with h3 down");
	is_str(shape(), "h1:1,2,3 h2:4,5,6,10 h3(down):8,7,9", "h3's part is marked down");
	resolve_down_answer(hosts, &r.parts[2], &a);
	cmdans_line(&a, "pause", &b);
	is_str(b.p, "h3: down since 2026-12-06T20:41:07Z: not sent (3 objects)\n",
	       "its answer line");
	ok(cmdans_errno(&a, 1) == EHOSTDOWN, "it counts as failed: EHOSTDOWN");
	sb_free(&b);

	ok(run(V_RESUME, "db") == 0, "a named object on a down host: no state check (RUNNING)");
	is_str(shape(), "h3(down):8", "its host's part: down, not sent");
	ok(run(V_PAUSE, "k3,db") == -EBUSY, "an unfit object on an up host still refuses");
	ok(run(V_PAUSE, "k5*") == 0 && !strcmp(shape(), "h3(down):7"), "a glob on the down host");
	hosts[2].since_at_least = true;
	run(V_PAUSE, "db");
	resolve_down_answer(hosts, &r.parts[0], &a);
	ok(a.kind == HA_DOWN_NOT_SENT && a.objects == 1 && a.since_at_least &&
	       !strcmp(a.host, "h3"),
	   "down answer: host, count, at least");
	hosts[2] = (struct resolve_host){.name = "h3", .up = true};
}

/* resolve() over other objects; it overwrites r, so what the last call made is freed first. */
static int over(const struct resolve_obj *o, size_t n, const char *ns, enum verb v,
		const char *spec)
{
	resolve_free(&r);
	err[0] = 0;
	return resolve(hosts, 3, o, n, ns, v, spec, &r, err, sizeof err);
}

static void test_edges(void)
{
	static const struct resolve_obj bad[] = {{"x", 1, ST_QUIT, 3, NULL}};
	static const struct resolve_obj odd[] = {{"x", 1, (enum ostate)7, 0, NULL}};
	static const struct resolve_obj anon[] = {{NULL, 1, ST_QUIT, 0, NULL}};
	static const struct resolve_obj dup[] = {{"a", 1, ST_QUIT, 1, NULL},
						 {"a", 2, ST_QUIT, 0, NULL}};

	ok(over(NULL, 0, "lab", V_STOP, "all") == 0 && r.nparts == 0 && r.total == 0,
	   "all in an empty namespace: nothing to ask (one host answers ok 0)");
	ok(over(NULL, 0, "lab", V_STOP, "*") == -ENOENT, "a glob in an empty namespace: ENOENT");
	ok(over(bad, 1, "lab", V_STOP, "all") == -EINVAL && strstr(err, "out of range"),
	   "an object's host out of range: EINVAL (%s)", err);
	ok(over(odd, 1, "lab", V_STOP, "x") == -EINVAL && strstr(err, "state 7 is not a state"),
	   "a state out of range: EINVAL before any lookup (%s)", err);
	ok(over(anon, 1, "lab", V_STOP, "all") == -EINVAL, "an object without a name: EINVAL");
	ok(over(dup, 2, "lab", V_FLUSH, "a") == 0 && r.nparts == 1 && r.parts[0].host == 1,
	   "a name twice in the input (never, with claims): the first listed");
	resolve_free(&r);
	ok(over(objs, LEN(objs), "l\nab", V_STOP, "zz*") == -ENOENT && !strchr(err, '\n'),
	   "a namespace name with a newline is quoted in the words");
}

static void test_large(void)
{
	enum { N = 30000 };
	struct resolve_obj *o = calloc(N, sizeof *o);
	char(*names)[16] = calloc(N, sizeof *names);
	int rc;

	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof names[i], "k%zu", N - i);
		o[i] = (struct resolve_obj){names[i], N - i, ST_RUNNING, i % 3, NULL};
	}
	resolve_free(&r);
	rc = resolve(hosts, 3, o, N, "lab", V_STOP, "k[1-30000]", &r, err, sizeof err);
	ok(rc == 0 && r.nparts == 3 && r.total == N, "30000 names over 30000 objects (%s)", err);
	ok(rc == 0 && r.parts[2].ids[0] == 1 && r.parts[1].ids[0] == 2 && r.parts[0].ids[0] == 3,
	   "each host's ids in the order named");
	resolve_free(&r);
	free(o);
	free(names);
}

int main(void)
{
	test_all_and_globs();
	test_names_ranges_ids();
	test_states();
	test_down();
	test_edges();
	test_large();
	resolve_free(&r);
	return tap_done();
}
