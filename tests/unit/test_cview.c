/* The cluster's view (cluster/cview.h) from the cache's changes: namespaces by name and id,
 * claims joined with their owner's record (a record without a claim, or on another host than
 * the claim's, not listed), refusals logged and treated as absent, name order, top rows,
 * UNKNOWN with since when a host is down or this host is cut, resolve's arrays, and many
 * objects. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/chosts.h"
#include "cluster/cview.h"
#include "runtime/model.h"
#include "runtime/util.h"
#include "tests/unit/tap.h"

static struct chosts *ch;
static struct cview *view;
static int64_t rev = 10;

static void both(void *ctx, const char *key, const struct ccache_kv *old,
		 const struct ccache_kv *now)
{
	(void)ctx;
	chosts_changed(ch, key, old, now);
	cview_changed(view, key, old, now);
}

static void put(const char *key, const char *value)
{
	struct ccache_event e = {.kv = {key, value, strlen(value), rev, rev, 1, 0}};
	rev++;
	ccache_apply(ch->cache, &e, 1, both, NULL);
}

static void del(const char *key)
{
	struct ccache_event e = {.del = true, .kv = {.key = key, .mod_rev = rev++}};
	ccache_apply(ch->cache, &e, 1, both, NULL);
}

static void claim(unsigned nsid, const char *name, unsigned id, const char *type, const char *host)
{
	char k[128], val[256];
	snprintf(k, sizeof(k), "/vmfs/lab/name/%u/%s", nsid, name);
	snprintf(val, sizeof(val), "v=1\nid=%u\ntype=%s\nhost=%s\nctime=1700000000\n", id, type,
		 host);
	put(k, val);
}

static void record(const char *host, unsigned nsid, unsigned id, const char *name, const char *type,
		   const char *state, unsigned long since)
{
	char k[128], val[256];
	snprintf(k, sizeof(k), "/vmfs/lab/h/%s/o/%u/%u", host, nsid, id);
	snprintf(val, sizeof(val), "v=1\nname=%s\ntype=%s\nstate=%s\nsince=%lu\n", name, type,
		 state, since);
	put(k, val);
}

static char names[1024];

static int name_of(void *ctx, const struct cview_obj *o, size_t idx)
{
	(void)ctx;
	(void)idx;
	size_t l = strlen(names);
	snprintf(names + l, sizeof(names) - l, "%s%s@%s", l ? " " : "", o->name, o->claim.host);
	return 0;
}

static const char *listed(unsigned nsid, int type)
{
	names[0] = 0;
	cview_objs(view, nsid, type, NULL, 0, name_of, NULL);
	return names;
}

static const char *state(unsigned nsid, const char *name)
{
	static char buf[256];
	const struct cview_obj *o = cview_obj_find(view, nsid, name);
	if (!o)
		return "(none)";
	struct sbuf sb = {0};
	cview_state_text(view, o, &sb);
	snprintf(buf, sizeof(buf), "%.*s", (int)sb.len, sb.p ? sb.p : "");
	sb_free(&sb);
	return buf;
}

static const char *alive(const char *addr)
{
	static char buf[256];
	snprintf(buf, sizeof(buf),
		 "v=1\nrun=1\nstarted=1700000050\nversion=0.1.0\naddr=%s\np9=%s:5640\n", addr,
		 addr);
	return buf;
}

int main(void)
{
	char dir[] = "/tmp/test_cview.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct evlog log;
	evlog_init(&log, dfd, "log");
	ch = chosts_new("lab", "h1", &log);
	view = cview_new("lab", "h1", ch, &log);
	ok(ch && view, "a view of cluster lab for h1");
	chosts_set_link(ch, CL_JOINED, NULL);

	put("/vmfs/lab/ns/default", "v=1\nid=1\nhosts=h1 h2\nnext-id=10\nuid=0\ngid=0\nmode=0755\n"
				    "ctime=1700000000\n");
	put("/vmfs/lab/ns/lab", "v=1\nid=2\nhosts=h2\nnext-id=1\nuid=1000\ngid=1000\nmode=0750\n"
				"ctime=1700000000\n");
	/* hostile: another namespace with id 2 */
	put("/vmfs/lab/ns/dup", "v=1\nid=2\nhosts=h2\nnext-id=1\nuid=0\ngid=0\nmode=0755\n"
				"ctime=1700000000\n");
	ok(cview_ns_count(view) == 2, "two namespaces: a second with a taken id is refused");
	ok(cview_ns_find(view, "lab") && cview_ns_find(view, "lab")->rec.uid == 1000,
	   "a namespace by name, with its owner");
	ok(cview_ns_id(view, 2) && !strcmp(cview_ns_id(view, 2)->name, "lab"), "a namespace by id");
	ok(!cview_ns_find(view, "dup"), "the refused one is absent");
	/* hostile: lab's record rewritten with a mode beyond 07777: the last readable one stays */
	put("/vmfs/lab/ns/lab", "v=1\nid=2\nhosts=h2\nnext-id=1\nuid=0\ngid=0\nmode=17777\n"
				"ctime=1700000000\n");
	ok(cview_ns_find(view, "lab") && cview_ns_find(view, "lab")->rec.uid == 1000 &&
	       cview_ns_find(view, "lab")->rec.mode == 0750,
	   "a namespace's record that fails its reader keeps the last readable one");

	put("/vmfs/lab/h/h1/alive", alive("10.0.0.11"));
	put("/vmfs/lab/h/h2/alive", alive("10.0.0.12"));
	/* a record first, its claim after (a snapshot comes in key order: h/ before name/) */
	record("h2", 1, 3, "c2", "container", "RUNNING", 1700000100);
	claim(1, "c2", 3, "container", "h2");
	claim(1, "c1", 1, "container", "h1");
	record("h1", 1, 1, "c1", "container", "QUIT", 1700000090);
	claim(1, "v1", 2, "kvm", "h2");
	record("h2", 1, 2, "v1", "kvm", "PAUSED", 1700000110);
	is_str(listed(1, -1), "c1@h1 c2@h2 v1@h2", "claims joined with records, in name order");
	is_str(listed(1, OT_CT), "c1@h1 c2@h2", "containers only");
	is_str(listed(1, OT_VM), "v1@h2", "VMs only");
	const struct cview_obj *o = cview_obj_id(view, 1, 3);
	ok(o && !strcmp(o->name, "c2") && o->rec && o->rec->state == ST_RUNNING,
	   "an object by id, with its record");
	is_str(state(1, "c2"), "RUNNING since 2023-11-14T22:15:00Z\n", "a remote object's state");

	/* a claim without a record: claimed, not listed */
	claim(1, "c3", 4, "container", "h2");
	o = cview_obj_find(view, 1, "c3");
	ok(o && !o->rec, "a claim without a record is found, not listed");
	is_str(listed(1, -1), "c1@h1 c2@h2 v1@h2", "and not listed");
	/* a record of c3 on the wrong host is ignored */
	record("h1", 1, 4, "c3", "container", "RUNNING", 1700000120);
	ok(!cview_obj_find(view, 1, "c3")->rec,
	   "a record on another host than the claim's is ignored");
	/* a record without a claim */
	record("h2", 1, 9, "orphan", "container", "RUNNING", 1700000120);
	ok(!cview_obj_id(view, 1, 9) && !cview_obj_find(view, 1, "orphan"),
	   "a record without a claim is not an object");
	/* the claim moves to h1: the record there becomes the one */
	claim(1, "c3", 4, "container", "h1");
	ok(cview_obj_find(view, 1, "c3")->rec != NULL,
	   "a claim that names the record's host joins it");
	is_str(listed(1, -1), "c1@h1 c2@h2 c3@h1 v1@h2", "now listed");
	size_t count[2];
	cview_host_counts(view, "h2", count);
	ok(count[OT_VM] == 1 && count[OT_CT] == 1, "h2's claims: 1 VM, 1 container");
	claim(1, "c4", 5, "container", "h2"); /* claimed, no record yet: counted */
	cview_host_counts(view, "h2", count);
	ok(count[OT_VM] == 1 && count[OT_CT] == 2, "a claim without a record counts");
	cview_host_counts(view, "h1", count);
	ok(count[OT_VM] == 0 && count[OT_CT] == 2, "h1's: 2 containers");
	cview_host_counts(view, "h9", count);
	ok(!count[OT_VM] && !count[OT_CT], "a host without claims: none");
	del("/vmfs/lab/name/1/c4");

	/* hostile: a claim with an id already claimed; a record its reader refuses */
	claim(1, "evil", 3, "container", "h2");
	ok(!cview_obj_find(view, 1, "evil"), "a claim of a taken id is refused");
	ok(!strcmp(cview_obj_id(view, 1, 3)->name, "c2"), "the first claim keeps its id");
	put("/vmfs/lab/h/h2/o/1/2", "v=1\nname=v1\ntype=kvm\nstate=FOO\nsince=1\n");
	ok(!cview_obj_find(view, 1, "v1")->rec, "a record its reader refuses is absent");
	is_str(listed(1, -1), "c1@h1 c2@h2 c3@h1", "and its object not listed");
	char path[256], logtext[4096] = "";
	snprintf(path, sizeof(path), "%s/log", dir);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(logtext, 1, sizeof(logtext) - 1, f) : 0;
	logtext[n] = 0;
	if (f)
		fclose(f);
	ok(strstr(logtext, "/vmfs/lab/h/h2/o/1/2 (revision ") && strstr(logtext, "FOO"),
	   "the log names the refused key and why");
	ok(strstr(logtext, "/vmfs/lab/name/1/evil") && strstr(logtext, "claimed by c2"),
	   "the log names the refused claim and whose id it is");
	record("h2", 1, 2, "v1", "kvm", "PAUSED", 1700000110);

	/* a record whose name is not the claim's: not listed */
	record("h2", 1, 3, "other", "container", "RUNNING", 1700000100);
	ok(!cview_obj_find(view, 1, "c2")->rec, "a record of another name is not the claim's");
	record("h2", 1, 3, "c2", "container", "RUNNING", 1700000100);

	/* top */
	put("/vmfs/lab/h/h2/top/1", "v=1\n3=1.0% 100K 2 0 0 0 0\n2=0.0% 50K 1 0 0 0 0\n");
	is_str(cview_top(view, "h2", 1, 2), "0.0% 50K 1 0 0 0 0", "a top row by id");
	ok(!cview_top(view, "h2", 1, 7) && !cview_top(view, "h1", 1, 2), "no row: NULL");
	put("/vmfs/lab/h/h1/top/1", "v=1\n");
	ok(!cview_top(view, "h1", 1, 1), "a table without rows: none");

	/* h2 goes down: its objects UNKNOWN since its down record, still listed */
	del("/vmfs/lab/h/h2/alive");
	put("/vmfs/lab/down/h2", "v=1\nsince=1700000200\nwhy=lapsed\nby=h1\n");
	is_str(state(1, "c2"), "UNKNOWN since 2023-11-14T22:16:40Z: h2 is down\n",
	       "a down host's object: UNKNOWN since its down");
	is_str(state(1, "c1"), "QUIT since 2023-11-14T22:14:50Z\n", "this host's: its record's");
	is_str(listed(1, -1), "c1@h1 c2@h2 c3@h1 v1@h2", "a down host's objects stay listed");

	struct cview_resolve r;
	ok(!cview_resolve_set(view, 1, &r), "resolve's arrays");
	ok(r.nhosts == 2 && !strcmp(r.hosts[0].name, "h1") && r.hosts[0].up &&
	       !strcmp(r.hosts[1].name, "h2") && !r.hosts[1].up &&
	       r.hosts[1].down_since == 1700000200,
	   "hosts in the namespace's order, h2 down since its record");
	ok(r.nobjs == 4 && !strcmp(r.objs[1].name, "c2") && r.objs[1].id == 3 &&
	       r.objs[1].host == 1 && r.objs[1].state == ST_RUNNING,
	   "objects with id, host and last state");
	cview_resolve_free(&r);
	put("/vmfs/lab/name/1/v1", "v=1\nid=2\ntype=kvm\nhost=h2\nctime=1700000000\nmoving=h3\n");
	ok(!cview_resolve_set(view, 1, &r) && r.nobjs == 4 && r.objs[3].busy &&
	       !strcmp(r.objs[3].busy, "moving to h3") && !r.objs[1].busy,
	   "an object whose claim says moving is busy, in words");
	cview_resolve_free(&r);

	/* back up; then this host cut: every other host's object UNKNOWN since the cut */
	put("/vmfs/lab/h/h2/alive", alive("10.0.0.12"));
	del("/vmfs/lab/down/h2");
	is_str(state(1, "c2"), "RUNNING since 2023-11-14T22:15:00Z\n", "back: its true state");
	chosts_set_link(ch, CL_CUT, "timed out");
	ok(!strncmp(state(1, "c2"), "UNKNOWN since ", 14) &&
	       strstr(state(1, "c2"), ": this host is cut from etcd\n"),
	   "cut: another host's object is UNKNOWN since the cut");
	is_str(state(1, "c1"), "QUIT since 2023-11-14T22:14:50Z\n", "cut: this host's is not");
	chosts_set_link(ch, CL_JOINED, NULL);

	/* deletes */
	del("/vmfs/lab/name/1/c1");
	ok(!cview_obj_find(view, 1, "c1") && !cview_obj_id(view, 1, 1), "a claim deleted: gone");
	del("/vmfs/lab/h/h2/o/1/3");
	ok(!cview_obj_find(view, 1, "c2")->rec, "a record deleted: its claim not listed");
	is_str(listed(1, -1), "c3@h1 v1@h2", "what is left");
	del("/vmfs/lab/ns/lab");
	ok(!cview_ns_find(view, "lab") && cview_ns_count(view) == 1, "a namespace deleted");

	/* many objects: hashed lookups, one sort */
	char k[64], nm[32];
	for (unsigned i = 1; i <= 20000; i++) {
		snprintf(nm, sizeof(nm), "k%05u", 20001 - i);
		claim(5, nm, i, "container", "h2");
		snprintf(k, sizeof(k), "/vmfs/lab/h/h2/o/5/%u", i);
		char val[128];
		snprintf(val, sizeof(val), "v=1\nname=%s\ntype=container\nstate=RUNNING\nsince=1\n",
			 nm);
		put(k, val);
	}
	ok(cview_obj_count(view, 5) == 20000, "20000 objects");
	o = cview_obj_find(view, 5, "k00001");
	ok(o && o->id == 20000 && o->rec, "found by name");
	o = cview_obj_id(view, 5, 1);
	ok(o && !strcmp(o->name, "k20000"), "found by id");
	names[0] = 0;
	cview_objs(view, 5, -1, NULL, 19998, name_of, NULL);
	is_str(names, "k19999@h2 k20000@h2", "walked in name order from an index");

	cview_free(view);
	chosts_free(ch);
	unlinkat(dfd, "log", 0);
	close(dfd);
	rmdir(dir);
	return tap_done();
}
