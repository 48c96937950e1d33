/* The cluster's cache (cluster/ccache.h): a snapshot replaces it and tells what vanished,
 * events move it on in order and those it has already are skipped, prefixes are walked in
 * key order, and 100,000 keys load and answer quickly. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/ccache.h"
#include "tests/unit/tap.h"

static char seen[4096];

static void note(void *ctx, const char *key, const struct ccache_kv *old,
		 const struct ccache_kv *now)
{
	(void)ctx;
	size_t l = strlen(seen);
	snprintf(seen + l, sizeof(seen) - l, "%s%s %s%s%s", l ? "; " : "",
		 !old	? "new"
		 : !now ? "gone"
			: "changed",
		 key, now ? "=" : "", now ? now->value : "");
}

static struct ccache_kv kv(const char *key, const char *value, int64_t rev)
{
	return (struct ccache_kv){key, value, strlen(value), rev, rev, 1, 0};
}

static char listed[4096];

static int list(void *ctx, const struct ccache_kv *k)
{
	(void)ctx;
	size_t l = strlen(listed);
	snprintf(listed + l, sizeof(listed) - l, "%s%s", l ? " " : "", k->key);
	return 0;
}

static int stop_at_second(void *ctx, const struct ccache_kv *k)
{
	int *n = ctx;
	(void)k;
	return ++*n == 2 ? 7 : 0;
}

struct counter {
	int n;
	bool sorted;
	char last[64];
};

static int count(void *ctx, const struct ccache_kv *k)
{
	struct counter *ct = ctx;
	ct->sorted = ct->n++ ? ct->sorted && strcmp(ct->last, k->key) < 0 : true;
	snprintf(ct->last, sizeof(ct->last), "%s", k->key);
	return 0;
}

static const char *each(struct ccache *c, const char *prefix)
{
	listed[0] = 0;
	ccache_each(c, prefix, list, NULL);
	return listed;
}

int main(void)
{
	struct ccache *c = ccache_new();
	ok(c && ccache_revision(c) == 0 && ccache_count(c) == 0, "a new cache is empty, at 0");

	const struct ccache_kv snap[] = {kv("/vmfs/lab/h/h2/id", "v=1\nuuid=b\n", 3),
					 kv("/vmfs/lab/h/h1/id", "v=1\nuuid=a\n", 2),
					 kv("/vmfs/lab/h/h1/alive", "v=1\nrun=4\n", 5),
					 kv("/vmfs/lab/down/h2", "v=1\n", 6),
					 kv("/vmfs/lab/h/h10/id", "v=1\nuuid=c\n", 4)};
	seen[0] = 0;
	ok(ccache_load(c, snap, 5, 9, note, NULL) == 0, "a snapshot loads");
	ok(ccache_revision(c) == 9 && ccache_count(c) == 5, "the cache is at its revision, 5 keys");
	ok(strstr(seen, "new /vmfs/lab/h/h1/alive=v=1\nrun=4\n") != NULL,
	   "the first load tells every key as new");
	is_str(each(c, "/vmfs/lab/h/"),
	       "/vmfs/lab/h/h1/alive /vmfs/lab/h/h1/id /vmfs/lab/h/h10/id /vmfs/lab/h/h2/id",
	       "a prefix's keys in key order, others left out");
	is_str(each(c, "/vmfs/lab/h/h1/"), "/vmfs/lab/h/h1/alive /vmfs/lab/h/h1/id",
	       "h1/ is not h10/");
	is_str(each(c, "/vmfs/lab/zz"), "", "a prefix with no key lists nothing");
	is_str(each(c, ""),
	       "/vmfs/lab/down/h2 /vmfs/lab/h/h1/alive /vmfs/lab/h/h1/id /vmfs/lab/h/h10/id "
	       "/vmfs/lab/h/h2/id",
	       "\"\" lists everything");
	int n = 0;
	ok(ccache_each(c, "", stop_at_second, &n) == 7 && n == 2,
	   "a walk stops when its function says so, and returns what it said");

	const struct ccache_kv *g = ccache_get(c, "/vmfs/lab/h/h1/alive");
	ok(g && !strcmp(g->value, "v=1\nrun=4\n") && g->len == 10 && g->mod_rev == 5,
	   "a key's value and revisions");
	ok(!ccache_get(c, "/vmfs/lab/h/h1"), "a prefix of a key is not a key");

	/* a txn of two events at 10, an old event at 8 (the snapshot had it) */
	struct ccache_event ev[] = {
	    {.del = false, .kv = kv("/vmfs/lab/h/h3/id", "v=1\nuuid=d\n", 8)},
	    {.del = true, .kv = {.key = "/vmfs/lab/h/h1/alive", .mod_rev = 10}},
	    {.del = false, .kv = {"/vmfs/lab/down/h1", "v=1\nwhy=stopped\n", 16, 10, 10, 1, 0}},
	    {.del = true, .kv = {.key = "/vmfs/lab/nothing", .mod_rev = 11}},
	};
	seen[0] = 0;
	ok(ccache_apply(c, ev, 4, note, NULL) == 0, "a batch applies");
	is_str(seen, "gone /vmfs/lab/h/h1/alive; new /vmfs/lab/down/h1=v=1\nwhy=stopped\n",
	       "what changed is told in order: both events of one revision; not an event the cache "
	       "had, nor the delete of a key it lacks");
	ok(!ccache_get(c, "/vmfs/lab/h/h3/id"),
	   "an event at or below the cache's revision is skipped");
	ok(ccache_revision(c) == 11 && ccache_count(c) == 5,
	   "the cache is at the batch's last revision");
	seen[0] = 0;
	ccache_apply(c, ev + 2, 1, note, NULL);
	is_str(seen, "", "the same batch again changes nothing");

	struct ccache_event up = {
	    .kv = {"/vmfs/lab/down/h1", "v=1\nwhy=lapsed\n", 15, 10, 12, 2, 0}};
	seen[0] = 0;
	ccache_apply(c, &up, 1, note, NULL);
	is_str(seen, "changed /vmfs/lab/down/h1=v=1\nwhy=lapsed\n",
	       "a PUT of a key it has is a change");
	g = ccache_get(c, "/vmfs/lab/down/h1");
	ok(g && g->version == 2 && g->create_rev == 10 && g->mod_rev == 12, "with its new fields");

	/* a resync: the snapshot lacks down/h1 and h10 (gone while the watch was lost) */
	const struct ccache_kv snap2[] = {kv("/vmfs/lab/h/h2/id", "v=1\nuuid=b\n", 3),
					  kv("/vmfs/lab/h/h1/id", "v=1\nuuid=a\n", 2),
					  kv("/vmfs/lab/down/h2", "v=1\n", 6),
					  kv("/vmfs/lab/h/h1/alive", "v=1\nrun=5\n", 20)};
	seen[0] = 0;
	ccache_load(c, snap2, 4, 30, note, NULL);
	is_str(seen,
	       "gone /vmfs/lab/down/h1; gone /vmfs/lab/h/h10/id; new "
	       "/vmfs/lab/h/h1/alive=v=1\nrun=5\n",
	       "a snapshot that replaces the cache tells what vanished and what is new, not what "
	       "stayed");
	ok(ccache_revision(c) == 30 && ccache_count(c) == 4, "and the cache is at its revision");
	ccache_advance(c, 29);
	ok(ccache_revision(c) == 30, "a progress note never moves the revision back");
	ccache_advance(c, 31);
	ok(ccache_revision(c) == 31, "and moves it on");

	/* 100,000 objects: inserted out of order by events, looked up, a prefix walked */
	enum { N = 100000 };
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int bad = 0;
	for (int i = 0; i < N; i++) {
		char key[64];
		int id = (int)(((long)i * 7919) % N);
		snprintf(key, sizeof(key), "/vmfs/lab/h/h%d/o/1/%d", id % 10, id);
		struct ccache_event e = {.kv = kv(key, "v=1\nstate=RUNNING\n", 100 + i)};
		bad |= ccache_apply(c, &e, 1, NULL, NULL);
	}
	for (int i = 0; i < N; i += 97) {
		char key[64];
		snprintf(key, sizeof(key), "/vmfs/lab/h/h%d/o/1/%d", i % 10, i);
		bad |= !ccache_get(c, key);
	}
	struct counter ct = {0};
	ccache_each(c, "/vmfs/lab/h/h3/o/", count, &ct);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	ok(!bad && ccache_count(c) == 4 + N, "100,000 keys by events, each found (%.0f ms)", ms);
	ok(ms < 2000, "in under 2 s (%.0f ms)", ms);
	ok(ct.n == N / 10 && ct.sorted, "a host's 10,000 of them walked, in key order");
	ccache_free(c);
	return tap_done();
}
