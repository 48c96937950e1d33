/* hosts/ on etcd (cluster/chosts.h) from the cache's changes: the list (this host first, then
 * by name, a host without an id not listed), each state's words, info from alive, a record
 * its reader refuses treated as absent and logged, a DELETE of alive told as a lapse once
 * (not at a resync), and the cut host's view. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster/chosts.h"
#include "cluster/crec.h"
#include "runtime/model.h"
#include "runtime/util.h"
#include "tests/unit/tap.h"

static struct chosts *ch;
static int64_t rev = 10;
static char lapsed[256];

static void on_lapse(void *ctx, const char *host)
{
	(void)ctx;
	size_t l = strlen(lapsed);
	snprintf(lapsed + l, sizeof(lapsed) - l, "%s%s", l ? " " : "", host);
}

static void put(const char *key, const char *value)
{
	struct ccache_event e = {.kv = {key, value, strlen(value), rev, rev, 1, 0}};
	rev++;
	ccache_apply(ch->cache, &e, 1, chosts_changed, ch);
}

static void del(const char *key)
{
	struct ccache_event e = {.del = true, .kv = {.key = key, .mod_rev = rev++}};
	ccache_apply(ch->cache, &e, 1, chosts_changed, ch);
}

static char names[512];

static int name(void *ctx, const char *n, size_t idx)
{
	(void)ctx;
	size_t l = strlen(names);
	snprintf(names + l, sizeof(names) - l, "%s%s:%zu", l ? " " : "", n, idx);
	return 0;
}

static const char *listed(size_t from)
{
	names[0] = 0;
	chosts_names(ch, from, name, NULL);
	return names;
}

static const char *state(const char *host)
{
	static char buf[512];
	struct sbuf sb = {0};
	chosts_state_text(ch, host ? chosts_find(ch, host) : NULL, &sb);
	snprintf(buf, sizeof(buf), "%.*s", (int)sb.len, sb.p ? sb.p : "");
	sb_free(&sb);
	return buf;
}

static const char *alive(const char *addr, unsigned run, unsigned long started)
{
	static char buf[256];
	snprintf(buf, sizeof(buf), "v=1\nrun=%u\nstarted=%lu\nversion=0.1.0\naddr=%s\np9=%s:5640\n",
		 run, started, addr, addr);
	return buf;
}

int main(void)
{
	char dir[] = "/tmp/test_chosts.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct evlog log;
	evlog_init(&log, dfd, "log");
	ch = chosts_new("lab", "h1", &log);
	ok(ch != NULL, "a view of cluster lab for h1");
	ch->lapsed = on_lapse;
	is_str(listed(0), "h1:0", "before any record: this host alone");
	ok(!strncmp(state(NULL), "joining cluster lab since ", 26),
	   "this host's state before a snapshot: joining");

	struct ccache_kv snap[] = {
	    {"/vmfs/lab/h/h1/id", "v=1\nuuid=0123456789abcdef0123456789abcdef\njoined=1700000000\n",
	     0, 2, 2, 1, 0},
	    {"/vmfs/lab/h/h3/id", "v=1\nuuid=1123456789abcdef0123456789abcdef\njoined=1700000000\n",
	     0, 3, 3, 1, 0},
	    {"/vmfs/lab/h/h1/alive", NULL, 0, 4, 4, 1, 7},
	    {"/vmfs/lab/h/h2/alive", NULL, 0, 5, 5, 1, 8}, /* no id: not a host of the list */
	    {"/vmfs/lab/down/h3", "v=1\nsince=1700000100\nwhy=stopped\nby=h3\n", 0, 6, 6, 1, 0},
	};
	char a1[256];
	snprintf(a1, sizeof(a1), "%s", alive("10.0.0.11", 4, 1700000050));
	snap[2].value = a1;
	snap[3].value = alive("10.0.0.12", 2, 1700000060);
	for (size_t i = 0; i < 5; i++)
		snap[i].len = strlen(snap[i].value);
	ch->loading = true;
	ccache_load(ch->cache, snap, 5, 9, chosts_changed, ch);
	ch->loading = false;
	ch->synced = true;
	chosts_set_link(ch, CL_JOINED, NULL);
	is_str(listed(0), "h1:0 h3:1",
	       "after the snapshot: this host, then every other with an id");
	is_str(listed(1), "h3:1", "from an index on");
	ok(!chosts_find(ch, "h2"), "a host without an id is not found");
	is_str(state(NULL), "up since 2023-11-14T22:14:10Z, run 4\n",
	       "this host: up, from its alive");
	is_str(state("h3"), "down since 2023-11-14T22:15:00Z (stopped)\n",
	       "a host stopped cleanly");

	put("/vmfs/lab/h/h2/id", "v=1\nuuid=2123456789abcdef0123456789abcdef\njoined=1700000000\n");
	is_str(listed(0), "h1:0 h2:1 h3:2", "a new id: listed in name order");
	is_str(state("h2"), "up since 2023-11-14T22:14:20Z, run 2\n", "with its alive record");
	struct chost *h2 = chosts_find(ch, "h2");
	ok(h2 && chosts_slot(ch, h2->slot) == h2, "found again by its slot (its inode numbers)");

	struct sbuf sb = {0};
	chosts_info_text(ch, h2, &sb);
	sb_add(&sb, "", 1);
	ok(strstr(sb.p, "name h2\n") && strstr(sb.p, "addr 10.0.0.12\n") &&
	       strstr(sb.p, "p9 10.0.0.12:5640\n") && strstr(sb.p, "run 2\n") &&
	       strstr(sb.p, "state up since"),
	   "its info: address, 9P door, run, state");
	sb_free(&sb);

	del("/vmfs/lab/h/h2/alive");
	is_str(lapsed, "h2", "a DELETE of alive is told as a lapse");
	is_str(state("h2"), "down (no alive or down record)\n", "until its down record comes");
	put("/vmfs/lab/down/h2", "v=1\nsince=1700000200\nwhy=lapsed\nby=h1\n");
	is_str(state("h2"), "down since 2023-11-14T22:16:40Z (lapsed)\n",
	       "then: down since, lapsed");
	put("/vmfs/lab/down/h3", "v=1\nsince=1700000300\nwhy=lapsed\nby=h1\nunseen=yes\n");
	is_str(state("h3"), "down since at least 2023-11-14T22:18:20Z (lapsed)\n",
	       "found without alive or down: since at least");

	/* hostile: an alive that its reader refuses is absent, and the log says which and why */
	put("/vmfs/lab/h/h2/alive", "v=1\nrun=x\n");
	is_str(state("h2"), "down since 2023-11-14T22:16:40Z (lapsed)\n",
	       "an alive record that fails its reader counts as absent");
	char path[64];
	snprintf(path, sizeof(path), "%s/log", dir);
	const char *text = slurp(path);
	ok(text && strstr(text, "etcd: /vmfs/lab/h/h2/alive (revision ") &&
	       strstr(text, "treated as absent"),
	   "host/log names the key, its revision and why");
	put("/vmfs/lab/h/h2/alive", "v=2\nwhatever=1\n");
	is_str(state("h2"), "down since 2023-11-14T22:16:40Z (lapsed)\n",
	       "a record of a newer vmfs (v=2): absent too");

	/* a resync that lacks h1's alive is no lapse of its own */
	lapsed[0] = 0;
	ch->loading = true;
	ccache_load(ch->cache, snap, 2, 40, chosts_changed, ch);
	ch->loading = false;
	is_str(lapsed, "", "a key gone at a resync is not told as a lapse");
	is_str(listed(0), "h1:0 h3:1", "h2's id gone with it: no longer listed");

	/* drain: said after the up or down words */
	rev = 50; /* past the resync's revision */
	put("/vmfs/lab/cap/h3", "v=1\nvcpus=0\nmemory=0\nobjects=0\ndrain=1700000300\n");
	is_str(state("h3"), "down (no alive or down record); draining since 2023-11-14T22:18:20Z\n",
	       "a draining host says so after its down words");
	is_str(state(NULL), "down (no alive or down record)\n", "the others do not");
	put("/vmfs/lab/cap/h3", "v=1\nvcpus=0\nmemory=0\nobjects=0\n");
	is_str(state("h3"), "down (no alive or down record)\n", "undrained: no longer");

	/* forgotten: not listed, not found, and why */
	char why[512];
	ok(!chosts_forgotten(ch, "h3", why, sizeof(why)), "h3 is not forgotten yet");
	put("/vmfs/lab/forgotten/h3", "v=1\nsince=1700000400\nby=h1\n");
	is_str(listed(0), "h1:0", "a forgotten host is not listed");
	ok(!chosts_find(ch, "h3"), "nor found");
	ok(chosts_forgotten(ch, "h3", why, sizeof(why)) &&
	       strstr(why, "h3 was forgotten by h1 at 2023-11-14T22:20:00Z") &&
	       strstr(why, "/vmfs/lab/forgotten/h3 and /vmfs/lab/h/h3/"),
	   "chosts_forgotten says by whom, when, and what the admin deletes");
	del("/vmfs/lab/forgotten/h3");
	is_str(listed(0), "h1:0 h3:1", "once the admin deleted it: listed again");

	/* hosts/h3/top: its published figures with their age; `-` for a refused record */
	struct chost *h3 = chosts_find(ch, "h3");
	char tbuf[512], lbuf[256];
	sb = (struct sbuf){0};
	chosts_top_text(ch, h3, 1, 2, &sb);
	snprintf(tbuf, sizeof(tbuf), "%.*s", (int)sb.len, sb.p);
	sb_free(&sb);
	is_str(tbuf, CHOSTS_TOP_HEAD "h3\t-\t-\t-\t-\t-\t-\t-\n", "h3 down: every figure -");
	put("/vmfs/lab/h/h3/alive", alive("10.0.0.13", 5, 1700000500));
	put("/vmfs/lab/h/h3/info", "v=1\ncpus=4\nmemory=8589934592\ncpu_ratio=4\nmem_ratio=1\nkvm=no\n");
	snprintf(lbuf, sizeof(lbuf), "v=1\ncpu=12.5\nload1=0.52\nmem-used=840957952\nat=%lld\n",
		 (long long)time(NULL) - 3);
	put("/vmfs/lab/h/h3/load", lbuf);
	sb = (struct sbuf){0};
	chosts_top_text(ch, h3, 1, 2, &sb);
	snprintf(tbuf, sizeof(tbuf), "%.*s", (int)sb.len, sb.p);
	sb_free(&sb);
	ok(!strcmp(tbuf, CHOSTS_TOP_HEAD "h3\t12.5\t0.52\t802M\t8192M\t1\t2\t3s\n") ||
	       !strcmp(tbuf, CHOSTS_TOP_HEAD "h3\t12.5\t0.52\t802M\t8192M\t1\t2\t4s\n"),
	   "h3 up: its cpu%%, load1 and mem_used, 3 s old");
	put("/vmfs/lab/h/h3/load", "v=1\ncpu=12.5\nload1=0.52\nmem-used=9999999999\nat=1\n");
	sb = (struct sbuf){0};
	chosts_top_text(ch, h3, 1, 2, &sb);
	snprintf(tbuf, sizeof(tbuf), "%.*s", (int)sb.len, sb.p);
	sb_free(&sb);
	is_str(tbuf, CHOSTS_TOP_HEAD "h3\t-\t-\t-\t8192M\t1\t2\t-\n",
	       "more memory in use than h3 has: its figures -");
	text = slurp(path);
	ok(text && strstr(text, "etcd: /vmfs/lab/h/h3/load (revision ") &&
	       strstr(text, "mem-used 9999999999 is more than the host's memory (8589934592): treated as absent"),
	   "and host/log says why, once");
	put("/vmfs/lab/h/h3/load", "v=1\ncpu=101\nload1=0.52\nmem-used=1\nat=1\n");
	text = slurp(path);
	ok(text && strstr(text, "/vmfs/lab/h/h3/load (revision ") && strstr(text, "cpu: "),
	   "a cpu%% beyond 100: refused too, said");
	del("/vmfs/lab/h/h3/alive");

	chosts_set_link(ch, CL_CUT, "etcd http://10.0.0.1:2379: no answer");
	ok(!strncmp(state(NULL), "cut from etcd since ", 20) &&
	       strstr(state(NULL), ": etcd http://10.0.0.1:2379: no answer\n"),
	   "cut: this host says so, and why");
	ok(!strncmp(state("h3"), "UNKNOWN since ", 14) &&
	       strstr(state("h3"), "this host is cut from etcd (last known: down"),
	   "and every other host is UNKNOWN, with what was last known");
	chosts_set_link(ch, CL_REFUSED, "h1 is taken in cluster lab by another machine (uuid x)");
	ok(!strncmp(state(NULL), "not a member since ", 19), "refused: not a member, and why");

	chosts_free(ch);
	close(dfd);
	unlinkat(AT_FDCWD, path, 0);
	rmdir(dir);
	return tap_done();
}
