/* cluster/ckey.c: every key the layout has is built, read back to its parts, and every key
 * that is not exactly one of them (another cluster, h1 against h10, a bad id, an empty part)
 * is CK_NONE: keys from a watch are peer input. */
#include <errno.h>
#include <stdlib.h>

#include "cluster/ckey.h"
#include "runtime/model.h"
#include "tests/unit/tap.h"

#define C "lab"

static const struct ckey_tag T1 = {"h1.x", 3, 17};

/* builds with the given result and checks the text, then that ckey_parse gives kind back */
static void built(int r, const char *buf, const char *want, enum ckey_kind kind)
{
	is_str(buf, want, "built %s", want);
	ok(r == (int)strlen(want), "  its length (%d)", r);
	struct ckey k;
	ok(ckey_parse(C, buf, &k) == (int)kind && k.kind == kind, "  read back as kind %d", kind);
}

static void builders(void)
{
	char b[CKEY_MAX + 1];
	built(ckey_layout(b, sizeof(b), C), b, "/vmfs/lab/layout", CK_LAYOUT);
	built(ckey_hid(b, sizeof(b), C, "h1"), b, "/vmfs/lab/h/h1/id", CK_HID);
	built(ckey_alive(b, sizeof(b), C, "h1"), b, "/vmfs/lab/h/h1/alive", CK_ALIVE);
	built(ckey_hinfo(b, sizeof(b), C, "h1"), b, "/vmfs/lab/h/h1/info", CK_HINFO);
	built(ckey_top(b, sizeof(b), C, "h1", 3), b, "/vmfs/lab/h/h1/top/3", CK_TOP);
	built(ckey_obj(b, sizeof(b), C, "h1", 3, 17), b, "/vmfs/lab/h/h1/o/3/17", CK_OBJ);
	built(ckey_ans(b, sizeof(b), C, "h2", &T1), b, "/vmfs/lab/h/h2/ans/h1.x.3.17", CK_ANS);
	built(ckey_down(b, sizeof(b), C, "h1"), b, "/vmfs/lab/down/h1", CK_DOWN);
	built(ckey_nextns(b, sizeof(b), C), b, "/vmfs/lab/next-ns-id", CK_NEXTNS);
	built(ckey_ns(b, sizeof(b), C, "web"), b, "/vmfs/lab/ns/web", CK_NS);
	built(ckey_nsid(b, sizeof(b), C, 4), b, "/vmfs/lab/nsid/4", CK_NSID);
	built(ckey_nscfg(b, sizeof(b), C, "web", "vcpus"), b, "/vmfs/lab/ns/web/cfg/vcpus",
	      CK_NSCFG);
	built(ckey_vlan(b, sizeof(b), C, "web", "LAN1"), b, "/vmfs/lab/ns/web/vlan/LAN1", CK_VLAN);
	built(ckey_claim(b, sizeof(b), C, 4, "k1"), b, "/vmfs/lab/name/4/k1", CK_CLAIM);
	built(ckey_cap(b, sizeof(b), C, "h1"), b, "/vmfs/lab/cap/h1", CK_CAP);
	built(ckey_cmd(b, sizeof(b), C, "h2", &T1), b, "/vmfs/lab/cmd/h2/h1.x.3.17", CK_CMD);
	built(ckey_intent(b, sizeof(b), C, &T1), b, "/vmfs/lab/intent/h1.x.3.17", CK_INTENT);
	built(ckey_forgotten(b, sizeof(b), C, "h1"), b, "/vmfs/lab/forgotten/h1", CK_FORGOTTEN);
	built(ckey_hload(b, sizeof(b), C, "h1"), b, "/vmfs/lab/h/h1/load", CK_HLOAD);

	int r = ckey_prefix(b, sizeof(b), C);
	is_str(b, "/vmfs/lab/", "prefix P/");
	ok(r == 10, "  its length");
	ckey_host_prefix(b, sizeof(b), C, "h1");
	is_str(b, "/vmfs/lab/h/h1/", "prefix P/h/H/ ends in '/'");
	ckey_cmd_prefix(b, sizeof(b), C, "h1");
	is_str(b, "/vmfs/lab/cmd/h1/", "prefix P/cmd/H/");
	ckey_claims_prefix(b, sizeof(b), C, 4);
	is_str(b, "/vmfs/lab/name/4/", "prefix P/name/NSID/");
	ckey_nscfg_prefix(b, sizeof(b), C, "web");
	is_str(b, "/vmfs/lab/ns/web/cfg/", "prefix P/ns/NAME/cfg/");
	ckey_vlan_prefix(b, sizeof(b), C, "web");
	is_str(b, "/vmfs/lab/ns/web/vlan/", "prefix P/ns/NAME/vlan/");
	struct ckey k;
	ok(ckey_parse(C, "/vmfs/lab/h/h1/", &k) == CK_NONE, "a prefix is not a key");
}

static void builder_refusals(void)
{
	char b[CKEY_MAX + 1], small[12];
	ok(ckey_alive(small, sizeof(small), C, "h1") == -ENAMETOOLONG && !small[0],
	   "a buffer too small: ENAMETOOLONG, and empty");
	ok(ckey_alive(b, 0, C, "h1") == -ENAMETOOLONG, "a buffer of 0 bytes: ENAMETOOLONG");
	ok(ckey_alive(b, 20, C, "h1") == -ENAMETOOLONG, "no room for the NUL: ENAMETOOLONG");
	ok(ckey_alive(b, 21, C, "h1") == 20, "exactly room: built");
	ok(ckey_alive(b, sizeof(b), C, "..") == -EINVAL && !b[0], "host \"..\": EINVAL");
	ok(ckey_alive(b, sizeof(b), C, "a/b") == -EINVAL, "host with '/': EINVAL");
	ok(ckey_alive(b, sizeof(b), C, "") == -EINVAL, "empty host: EINVAL");
	ok(ckey_alive(b, sizeof(b), "", "h1") == -EINVAL, "empty cluster: EINVAL");
	ok(ckey_alive(b, sizeof(b), "all", "h1") == -EINVAL,
	   "cluster \"all\" (not a name): EINVAL");
	char big[100];
	memset(big, 'a', 99);
	big[99] = 0;
	ok(ckey_alive(b, sizeof(b), C, big) == -EINVAL, "a host of 99 bytes: EINVAL, not cut");
	ok(ckey_obj(b, sizeof(b), C, "h1", 0, 1) == -EINVAL, "nsid 0: EINVAL");
	ok(ckey_obj(b, sizeof(b), C, "h1", NS_ID_MAX + 1, 1) == -EINVAL,
	   "nsid past NS_ID_MAX: EINVAL");
	ok(ckey_obj(b, sizeof(b), C, "h1", 1, OBJ_ID_MAX + 1) == -EINVAL,
	   "id past OBJ_ID_MAX: EINVAL");
	ok(ckey_nscfg(b, sizeof(b), C, "web", "nosuch") == -EINVAL, "an unknown parameter: EINVAL");
	struct ckey_tag t = T1;
	t.run = CKEY_RUN_MAX + 1;
	ok(ckey_cmd(b, sizeof(b), C, "h1", &t) == -EINVAL, "a tag's run out of bounds: EINVAL");
	ok(ckey_build(b, sizeof(b), C, &(struct ckey){.kind = CK_NONE}) == -EINVAL,
	   "CK_NONE: EINVAL");
	ok(ckey_build(b, sizeof(b), C, &(struct ckey){.kind = CK_KINDS}) == -EINVAL,
	   "a kind past the table: EINVAL");
	/* the longest key of all fits CKEY_MAX, so every valid key can be built */
	char h[NAME_MAX_LEN + 1];
	memset(h, 'h', NAME_MAX_LEN);
	h[NAME_MAX_LEN] = 0;
	struct ckey_tag lt = {"", CKEY_RUN_MAX, CKEY_SEQ_MAX};
	memcpy(lt.host, h, sizeof(h));
	int r = ckey_ans(b, sizeof(b), h, h, &lt);
	ok(r > 0 && r <= CKEY_MAX, "the longest answer key fits CKEY_MAX (%d bytes)", r);
	struct ckey k;
	ok(ckey_parse(h, b, &k) == CK_ANS && k.tag.seq == CKEY_SEQ_MAX && !strcmp(k.tag.host, h),
	   "  and reads back");
}

/* every part comes back as given */
static void parts(void)
{
	struct ckey k;
	ok(ckey_parse(C, "/vmfs/lab/h/h1/o/3/17", &k) == CK_OBJ && !strcmp(k.host, "h1") &&
	       k.nsid == 3 && k.id == 17,
	   "o: host, nsid, id");
	ok(ckey_parse(C, "/vmfs/lab/h/h-2.x/top/1048575", &k) == CK_TOP && k.nsid == NS_ID_MAX &&
	       !strcmp(k.host, "h-2.x"),
	   "top: the largest nsid");
	ok(ckey_parse(C, "/vmfs/lab/h/h2/ans/h1.x.0.0", &k) == CK_ANS &&
	       !strcmp(k.tag.host, "h1.x") && k.tag.run == 0 && k.tag.seq == 0,
	   "ans: a tag of a dotted host, zeros");
	ok(ckey_parse(C, "/vmfs/lab/ns/web/cfg/memory", &k) == CK_NSCFG && !strcmp(k.ns, "web") &&
	       !strcmp(k.param, "memory") && k.param_index >= 0,
	   "nscfg: ns, param and its index");
	ok(ckey_parse(C, "/vmfs/lab/ns/web/vlan/LAN1", &k) == CK_VLAN && !strcmp(k.alias, "LAN1"),
	   "vlan: the alias");
	ok(ckey_parse(C, "/vmfs/lab/name/2/k_1", &k) == CK_CLAIM && k.nsid == 2 &&
	       !strcmp(k.name, "k_1"),
	   "claim: nsid, name");
	ok(ckey_parse(C, "/vmfs/lab/ns/cfg", &k) == CK_NS && !strcmp(k.ns, "cfg"),
	   "a namespace called cfg is P/ns/NAME");
	ok(ckey_parse(C, "/vmfs/lab/ns/web", &k) == CK_NS && !strcmp(k.ns, "web"), "P/ns/NAME");

	/* ckey_build inverts ckey_parse for every kind */
	const char *keys[] = {
	    "/vmfs/lab/layout",	       "/vmfs/lab/h/a/id",	 "/vmfs/lab/h/a/alive",
	    "/vmfs/lab/h/a/info",      "/vmfs/lab/h/a/top/9",	 "/vmfs/lab/h/a/o/9/268435455",
	    "/vmfs/lab/h/a/ans/b.1.2", "/vmfs/lab/down/a",	 "/vmfs/lab/next-ns-id",
	    "/vmfs/lab/ns/n",	       "/vmfs/lab/nsid/1",	 "/vmfs/lab/ns/n/cfg/vcpus",
	    "/vmfs/lab/ns/n/vlan/v",   "/vmfs/lab/name/1/x",	 "/vmfs/lab/cap/a",
	    "/vmfs/lab/cmd/a/b.1.2",   "/vmfs/lab/intent/b.1.2", "/vmfs/lab/forgotten/a",
	};
	int all = 1;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char b[CKEY_MAX + 1];
		int kind = ckey_parse(C, keys[i], &k);
		int r = ckey_build(b, sizeof(b), C, &k);
		if (kind != (int)i + 1 || r < 0 || strcmp(b, keys[i])) {
			all = 0;
			printf("# %s: kind %d, built %s\n", keys[i], kind, b);
		}
	}
	ok(all, "each of the %zu kinds: parse, then build, gives the key back",
	   sizeof(keys) / sizeof(keys[0]));
}

static void refusals(void)
{
	const char *bad[] = {
	    "/vmfs/lab2/h/h1/alive",			/* another cluster */
	    "/vmfs/la/h/h1/alive",			/* a prefix of the cluster's name */
	    "/vmfs/lab",				/* the cluster alone */
	    "/vmfs/lab/",				/* P/ */
	    "vmfs/lab/layout",				/* no leading slash */
	    "/vmfs//lab/layout",			/* doubled slash */
	    "/vmfs/lab/layout/",			/* trailing slash */
	    "/vmfs/lab//layout",			/* empty part */
	    "/vmfs/lab/h//alive",			/* empty host */
	    "/vmfs/lab/h/../alive",			/* .. */
	    "/vmfs/lab/h/./alive",			/* . */
	    "/vmfs/lab/h/h1/alive/",			/* trailing slash */
	    "/vmfs/lab/h/h1/alive/x",			/* one part too many */
	    "/vmfs/lab/h/h1",				/* the host's directory */
	    "/vmfs/lab/h/h1/nosuch",			/* no such record */
	    "/vmfs/lab/h/all/alive",			/* not a name */
	    "/vmfs/lab/h/-h/alive",			/* not a name */
	    "/vmfs/lab/h/h1/top/0",			/* nsid 0 */
	    "/vmfs/lab/h/h1/top/03",			/* leading zero */
	    "/vmfs/lab/h/h1/top/+3",			/* sign */
	    "/vmfs/lab/h/h1/top/1048576",		/* past NS_ID_MAX */
	    "/vmfs/lab/h/h1/top/18446744073709551616",	/* past 2^64 */
	    "/vmfs/lab/h/h1/top/x",			/* not a number */
	    "/vmfs/lab/h/h1/o/3/268435456",		/* past OBJ_ID_MAX */
	    "/vmfs/lab/h/h1/o/3/0",			/* id 0 */
	    "/vmfs/lab/h/h1/o/3",			/* no id */
	    "/vmfs/lab/h/h1/ans/h1.1",			/* a tag of two parts */
	    "/vmfs/lab/h/h1/ans/h1.01.2",		/* leading zero in a tag */
	    "/vmfs/lab/h/h1/ans/.1.2",			/* empty host in a tag */
	    "/vmfs/lab/h/h1/ans/h1.4294967296.2",	/* run out of bounds */
	    "/vmfs/lab/h/h1/ans/h1.1.9007199254740992", /* seq out of bounds */
	    "/vmfs/lab/ns/web/cfg/nosuch",		/* unknown parameter */
	    "/vmfs/lab/ns/web/cfg",			/* no parameter */
	    "/vmfs/lab/ns/web/vlan/",			/* empty alias */
	    "/vmfs/lab/ns/web/other/x",			/* no such area */
	    "/vmfs/lab/name/x/k1",			/* nsid not a number */
	    "/vmfs/lab/name/1/k1/x",			/* too deep */
	    "/vmfs/lab/next-ns-id/1",
	    "/vmfs/lab/layout2",
	    "/vmfs/lab/LAYOUT",
	    "/vmfs/lab/intent/12",	 /* an intent id is a tag */
	    "/vmfs/lab/cmd/h1",		 /* no CMD */
	    "/vmfs/lab/a/b/c/d/e/f/g/h", /* many parts */
	    "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ckey k;
		memset(&k, 0x5a, sizeof(k));
		int r = ckey_parse(C, bad[i], &k);
		ok(r == CK_NONE && k.kind == CK_NONE && !k.host[0] && !k.nsid, "refused: \"%s\"",
		   bad[i]);
	}
	struct ckey k;
	/* the trailing-slash rule: h1's keys and prefix never cover h10's */
	char pre[CKEY_MAX + 1];
	ckey_host_prefix(pre, sizeof(pre), C, "h1");
	ok(strncmp("/vmfs/lab/h/h10/alive", pre, strlen(pre)),
	   "P/h/h1/ is not a prefix of h10's keys");
	ok(ckey_parse(C, "/vmfs/lab/h/h10/alive", &k) == CK_ALIVE && !strcmp(k.host, "h10"),
	   "h10's alive is h10's, not h1's");
	ok(ckey_parse("la", "/vmfs/lab/h/h1/alive", &k) == CK_NONE,
	   "cluster la does not read lab's keys");
	ok(ckey_parse("", "/vmfs//h/h1/alive", &k) == CK_NONE, "an empty cluster reads nothing");
	ok(ckey_parse("a/b", "/vmfs/a/b/layout", &k) == CK_NONE,
	   "a cluster with '/' reads nothing");
	/* too long */
	char longkey[CKEY_MAX + 40];
	snprintf(longkey, sizeof(longkey), "/vmfs/lab/ns/");
	memset(longkey + 13, 'n', sizeof(longkey) - 14);
	longkey[sizeof(longkey) - 1] = 0;
	ok(ckey_parse(C, longkey, &k) == CK_NONE, "a key longer than CKEY_MAX");
	char n64[] =
	    "/vmfs/lab/ns/nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn";
	ok(ckey_parse(C, n64, &k) == CK_NONE, "a name of 64 bytes");
	n64[strlen(n64) - 1] = 0;
	ok(ckey_parse(C, n64, &k) == CK_NS, "a name of 63 bytes");
}

static void tags(void)
{
	struct ckey_tag t;
	char err[200], s[CKEY_TAG_LEN];
	ok(!ckey_tag_parse("a.b.c.12.0", &t, err, sizeof(err)) && !strcmp(t.host, "a.b.c") &&
	       t.run == 12 && t.seq == 0,
	   "tag: split at its last two dots");
	ckey_tag_fmt(&t, s);
	is_str(s, "a.b.c.12.0", "tag: written back");
	ok(ckey_tag_parse("a.b", &t, err, sizeof(err)) == -EINVAL && strstr(err, "HOST.RUN.SEQ"),
	   "tag of two parts refused in words: %s", err);
	ok(ckey_tag_parse("a.1.2x", &t, err, sizeof(err)) == -EINVAL, "tag with junk refused");
	ok(ckey_tag_parse("all.1.2", &t, err, sizeof(err)) == -EINVAL,
	   "tag of host \"all\" refused");
}

int main(void)
{
	builders();
	builder_refusals();
	parts();
	refusals();
	tags();
	return tap_done();
}
