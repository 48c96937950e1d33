/* cluster/crec*.c: every record kind reads what it writes, byte for byte; every field's
 * bad value is refused with its line and key in words; a key of a newer vmfs is ignored and
 * counted; v=2, a missing v, an oversize value, a key twice and a NUL are refused; and a
 * value that fails leaves nothing behind (the struct zeroed). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/crec.h"
#include "ctl/params.h"
#include "tests/unit/tap.h"

static int zeroed(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)p)[i])
			return 0;
	return 1;
}

/* Reads text as one kind; on success writes it back to b and gives the unknown count; on
 * failure tells whether the struct was left zeroed. */
typedef int (*rt_fn)(const char *text, size_t len, struct sbuf *b, unsigned *unknown, int *zero,
		     char *err, size_t errlen);

#define RT(kind)                                                                                   \
	static int rt_##kind(const char *text, size_t len, struct sbuf *b, unsigned *unknown,      \
			     int *zero, char *err, size_t errlen)                                  \
	{                                                                                          \
		struct crec_##kind o;                                                              \
		memset(&o, 0x5a, sizeof(o));                                                       \
		int r = crec_##kind##_read(text, len, &o, err, errlen);                            \
		*zero = zeroed(&o, sizeof(o));                                                     \
		if (r)                                                                             \
			return r;                                                                  \
		*unknown = o.unknown;                                                              \
		crec_##kind##_write(&o, b);                                                        \
		CREC_FREE(&o);                                                                     \
		return 0;                                                                          \
	}
RT(layout)
RT(hid)
RT(alive)
RT(hinfo)
RT(top)
RT(obj)
RT(ans)
RT(down)
RT(nextns)
RT(ns)
RT(nsid)
RT(vlan)
RT(claim)
RT(cap)
RT(cmd)
RT(intent)
RT(forgotten)
RT(hload)

static int rt_nscfg(const char *text, size_t len, struct sbuf *b, unsigned *unknown, int *zero,
		    char *err, size_t errlen)
{
	struct crec_nscfg o;
	memset(&o, 0x5a, sizeof(o));
	int r = crec_nscfg_read(param_index("vcpus"), text, len, &o, err, errlen);
	*zero = zeroed(&o, sizeof(o));
	if (r)
		return r;
	*unknown = o.unknown;
	crec_nscfg_write(&o, b);
	return 0;
}

static const struct kind {
	const char *name;
	rt_fn rt;
	size_t max;
	const char *good; /* every field set, in the order the writer writes them */
} kinds[] = {
    {"layout", rt_layout, CREC_SMALL_MAX, "v=1\nlayout=1\n"},
    {"hid", rt_hid, CREC_SMALL_MAX,
     "v=1\nuuid=0123456789abcdef0123456789abcdef\njoined=1765000000\n"},
    {"alive", rt_alive, CREC_SMALL_MAX,
     "v=1\nrun=7\nstarted=1765000000\nversion=0.18.0-3+b1\naddr=10.0.0.1\np9=10.0.0.1:5640\n"
     "web=https://h1.lab:9001/\nmigrate=49152-49215\n"},
    {"hinfo", rt_hinfo, CREC_HINFO_MAX,
     "v=1\ncpus=16\nmemory=68719476736\ncpu_ratio=4\nmem_ratio=1.25\nkvm=yes\nqemu=8.2.2\n"
     "machine=pc-q35-8.2 q35 pc-i440fx-8.2 pc\n"},
    {"top", rt_top, CREC_BIG_MAX, "v=1\n3=1.5% 256M 0:01:02\n17=0.0% 1.0G 3d4h\n"},
    {"obj", rt_obj, CREC_OBJ_MAX,
     "v=1\nname=web1\ntype=kvm\nstate=RUNNING\nsince=1765000100\nstarted=1765000000\npid=4242\n"
     "error=disk 2: no such file\nintent=h1.3.9\n"
     "nic.0=LAN1 tap12 52:54:00:12:34:56 10.0.0.5/24\nvid.0=101\nnic.1=100 tap13 52:54:00:12:34:57 -\n"
     "nic.2=LAN2 tap14 52:54:00:12:34:58 fd00::2/64\n"
     "cfg.machine=q35\ncfg.memory=2G\ncfg.vcpus=4\n"},
    {"ans", rt_ans, CREC_RECORD_MAX,
     "v=1\nstate=done\nerrno=EBUSY\nreason=c3: is BUILDING\ncount=9\n"},
    {"down", rt_down, CREC_SMALL_MAX, "v=1\nsince=1765000000\nwhy=lapsed\nby=h2\n"},
    {"nextns", rt_nextns, CREC_SMALL_MAX, "v=1\nnext=12\n"},
    {"ns", rt_ns, CREC_RECORD_MAX,
     "v=1\nid=3\nhosts=h1 h2 h10\nnext-id=31\nuid=0\ngid=1000\nmode=0750\nctime=1765000000\n"},
    {"nsid", rt_nsid, CREC_SMALL_MAX, "v=1\nname=lab\n"},
    {"nscfg", rt_nscfg, CREC_NSCFG_MAX, "v=1\nvalue=4\n"},
    {"vlan", rt_vlan, CREC_SMALL_MAX, "v=1\nid=4094\n"},
    {"claim", rt_claim, CREC_RECORD_MAX,
     "v=1\nid=17\ntype=container\nhost=h2\nintent=h1.3.9\nctime=1765000000\nmoving=h5\n"},
    {"cap", rt_cap, CREC_SMALL_MAX,
     "v=1\nvcpus=40\nmemory=85899345920\nobjects=30\ndrain=1765000000\ncfg-run=7\n"
     "cfg-pending=3.17:4:2147483648 3.18:-:0\n"},
    {"cmd", rt_cmd, CREC_BIG_MAX,
     "v=1\nfrom=h1\nns=3\nverb=start\nids=4 5 17\nunfit=refuse\nargs=a b 'c d'\ntake-ms=2000\n"
     "issued=1765000000\ntaken=h2\nnonce=0badc0de\n"},
    {"intent", rt_intent, CREC_BIG_MAX,
     "v=1\nhost=h1\nkind=launch\nns=3\nobjects=k1:17:h2 k2:18:h3\nphase=creating\n"},
    {"forgotten", rt_forgotten, CREC_SMALL_MAX, "v=1\nsince=1765000000\nby=h1\n"},
    {"hload", rt_hload, CREC_SMALL_MAX,
     "v=1\ncpu=85.3\nload1=16.32\nmem-used=840957952\nat=1765000000\n"},
};

static const struct kind *kind_of(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (!strcmp(kinds[i].name, name))
			return &kinds[i];
	abort();
}

/* k's good text with the line of key replaced by "key=value" (value NULL: the line
 * dropped); the line's number in *line. */
static char *edit(const struct kind *k, const char *key, const char *value, int *line)
{
	static char out[4096];
	size_t kl = strlen(key), at = 0;
	*line = 0;
	int n = 0;
	for (const char *s = k->good, *nl; *s; s = nl + 1) {
		nl = strchr(s, '\n');
		n++;
		if (!strncmp(s, key, kl) && s[kl] == '=') {
			*line = n;
			if (value)
				at += snprintf(out + at, sizeof(out) - at, "%s=%s\n", key, value);
			continue;
		}
		at += snprintf(out + at, sizeof(out) - at, "%.*s", (int)(nl - s + 1), s);
	}
	if (!*line)
		abort(); /* the test names a key the good text lacks */
	return out;
}

static int run(const struct kind *k, const char *text, size_t len, char *err, unsigned *unknown,
	       int *zero, struct sbuf *b)
{
	err[0] = 0;
	*unknown = 0;
	return k->rt(text, len, b, unknown, zero, err, 256);
}

static void round_trips(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		const struct kind *k = &kinds[i];
		struct sbuf b = {0};
		char err[256];
		unsigned unknown;
		int zero, r = run(k, k->good, strlen(k->good), err, &unknown, &zero, &b);
		ok(!r && !unknown, "%s: read (%s)", k->name, r ? err : "ok");
		sb_puts(&b, "");
		is_str(b.p, k->good, "%s: written back the same", k->name);
		sb_free(&b);
	}
}

/* Every field's refusal: the kind, the key, a bad value, words the error holds. */
static const struct refusal {
	const char *kind, *key, *value, *words;
} refusals[] = {
    {"layout", "layout", "0", "out of range"},
    {"layout", "layout", "x", "not a number"},
    {"hid", "uuid", "0123456789ABCDEF0123456789abcdef", "holds a byte"},
    {"hid", "uuid", "0123", "bytes"},
    {"hid", "joined", "-1", "not a number"},
    {"alive", "run", "4294967296", "out of range"},
    {"alive", "started", "253402300800", "out of range"},
    {"alive", "version", "1 2", "holds a byte"},
    {"alive", "addr", "10.0.0.300", "not an IP address"},
    {"alive", "addr", "fd00:0::1", "not written as fd00::1"},
    {"alive", "p9", "10.0.0.1", "not IPV4:PORT"},
    {"alive", "p9", "10.0.0.1:0", "out of range"},
    {"alive", "p9", "[10.0.0.1]:5640", "not IPV4:PORT"},
    {"alive", "web", "ftp://h1/", "not an http"},
    {"alive", "web", "http://a b", "printable"},
    {"alive", "migrate", "5000-4000", "out of range"},
    {"alive", "migrate", "5000", "not LO-HI"},
    {"hinfo", "cpus", "0", "out of range"},
    {"hinfo", "memory", "1125899906842625", "out of range"},
    {"hinfo", "cpu_ratio", "1.0001", "not a ratio"},
    {"hinfo", "mem_ratio", "0", "out of range"},
    {"hinfo", "kvm", "true", "not yes or no"},
    {"hinfo", "qemu", "8.2.2-x", "holds a byte"},
    {"hinfo", "machine", "q35  pc", "one space apart"},
    {"top", "3", "", "figures"},
    {"top", "3", "1  2", "figures"},
    {"top", "3", "1\x01", "figures"},
    {"obj", "name", "all", "reserved"},
    {"obj", "type", "vm", "not one of kvm, container"},
    {"obj", "state", "FOO", "is not a state"},
    {"obj", "since", "x", "not a number"},
    {"obj", "started", "253402300800", "out of range"},
    {"obj", "pid", "0", "out of range"},
    {"obj", "error", "a\tb", "control byte"},
    {"obj", "intent", "h1.3", "HOST.RUN.SEQ"},
    {"obj", "nic.0", "LAN1 tap12 52:54:00:12:34:56", "VLAN TAP MAC IP"},
    {"obj", "nic.0", "LAN1 tap12 52:54:00:12:34:5G 10.0.0.5/24", "MAC"},
    {"obj", "nic.0", "LAN1 tap1234567890123 52:54:00:12:34:56 -", "interface name"},
    {"obj", "nic.0", "4095 tap12 52:54:00:12:34:56 -", "out of range"},
    {"obj", "nic.0", "LAN1 tap12 52:54:00:12:34:56 10.0.0.5/33", "out of range"},
    {"obj", "nic.0", "LAN1 tap12 52:54:00:12:34:56 10.0.0.5", "ADDR/PREFIX"},
    {"obj", "nic.1", "-x tap13 52:54:00:12:34:57 -", "starts with"},
    {"obj", "vid.0", "4095", "out of range"},
    {"obj", "vid.0", "x", "not a number"},
    {"obj", "cfg.vcpus", "0", "vcpus"},
    {"obj", "cfg.memory", "", "empty"},
    {"ans", "state", "gone", "not one of taken, done, late"},
    {"ans", "errno", "EWHAT", "not an errno name"},
    {"ans", "errno", "16", "not an errno name"},
    {"ans", "reason", "a\x7f", "control byte"},
    {"ans", "count", "268435456", "out of range"},
    {"down", "since", "", "not a number"},
    {"down", "why", "crashed", "not one of stopped, lapsed"},
    {"down", "by", "h/1", "contains"},
    {"nextns", "next", "1048577", "out of range"},
    {"ns", "id", "0", "out of range"},
    {"ns", "hosts", "h1 h1", "named twice"},
    {"ns", "hosts", "", "empty"},
    {"ns", "hosts", "h1 ..", "starts with"},
    {"ns", "next-id", "268435457", "out of range"},
    {"ns", "uid", "4294967295", "out of range"},
    {"ns", "gid", "1e3", "not a number"},
    {"ns", "mode", "0800", "not an octal number"},
    {"ns", "mode", "17777", "out of range"},
    {"ns", "ctime", "1.5", "not a number"},
    {"nsid", "name", "", "cannot be empty"},
    {"nscfg", "value", "0", "vcpus"},
    {"nscfg", "value", "300", "vcpus"},
    {"vlan", "id", "4095", "out of range"},
    {"claim", "id", "0", "out of range"},
    {"claim", "type", "KVM", "not one of"},
    {"claim", "host", "a b", "contains"},
    {"claim", "intent", "h1.03.9", "HOST.RUN.SEQ"},
    {"claim", "ctime", "x", "not a number"},
    {"claim", "moving", "", "cannot be empty"},
    {"cap", "vcpus", "1125899906842625", "out of range"},
    {"cap", "memory", "-", "not a number"},
    {"cap", "objects", "", "not a number"},
    {"cap", "drain", "x", "not a number"},
    {"cap", "cfg-run", "4294967296", "out of range"},
    {"cap", "cfg-pending", "3.17:4", "not NSID.ID:VCPUS:MEMORY"},
    {"cap", "cfg-pending", "3.17:4:1 3.17:1:1", "listed twice"},
    {"cap", "cfg-pending", "0.17:4:1", "out of range"},
    {"cap", "cfg-pending", "3.17:1048576:1", "out of range"},
    {"cap", "cfg-pending", "3.17:1:01", "leading zero"},
    {"cap", "cfg-pending", "3.17:1:1  3.18:1:1", "one space apart"},
    {"cap", "cfg-pending", "3.17:1:1;", "one space apart"},
    {"cap", "cfg-pending", "3.17:-:-", "sets neither figure"},
    {"cmd", "from", "", "cannot be empty"},
    {"cmd", "ns", "0", "out of range"},
    {"cmd", "verb", "Start", "holds a byte"},
    {"cmd", "ids", "4 4", "given twice"},
    {"cmd", "ids", "4 05", "leading zero"},
    {"cmd", "ids", "4 0", "out of range"},
    {"cmd", "unfit", "maybe", "not one of skip, refuse"},
    {"cmd", "args", "a\x1b[2J", "control byte"},
    {"cmd", "take-ms", "600001", "out of range"},
    {"cmd", "issued", "x", "not a number"},
    {"cmd", "taken", "-", "starts with"},
    {"cmd", "nonce", "xyz", "holds a byte"},
    {"intent", "host", "", "cannot be empty"},
    {"intent", "kind", "copy", "not one of launch, move, migrate"},
    {"intent", "ns", "x", "not a number"},
    {"intent", "objects", "k1:17", "NAME:ID:HOST"},
    {"intent", "objects", "k1:17:h2 k1:18:h3", "named twice"},
    {"intent", "objects", "k1:0:h2", "out of range"},
    {"intent", "phase", "done", "not one of claiming, creating, rollback"},
    {"forgotten", "since", "x", "not a number"},
    {"forgotten", "by", "", "cannot be empty"},
    {"hload", "cpu", "100.1", "out of range"},
    {"hload", "cpu", "-1", "not a ratio"},
    {"hload", "load1", "nan", "not a ratio"},
    {"hload", "load1", "1e3", "not a ratio"},
    {"hload", "mem-used", "1125899906842625", "out of range"},
    {"hload", "at", "x", "not a number"},
};

/* key's family: "nic.", "cfg." or a top row's id stand for all of their kind */
static int same_family(const char *kind, const char *a, const char *b)
{
	if (!strcmp(kind, "top"))
		return 1;
	if (!strncmp(a, "nic.", 4) || !strncmp(a, "cfg.", 4))
		return !strncmp(a, b, 4);
	return !strcmp(a, b);
}

static void field_refusals(void)
{
	int every = 1;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		for (const char *s = strchr(kinds[i].good, '\n') + 1; *s; s = strchr(s, '\n') + 1) {
			char key[64];
			int found = 0;
			snprintf(key, sizeof(key), "%.*s", (int)(strchr(s, '=') - s), s);
			for (size_t j = 0; j < ARRAY_SIZE(refusals); j++)
				found |= !strcmp(refusals[j].kind, kinds[i].name) &&
					 same_family(kinds[i].name, key, refusals[j].key);
			if (!found)
				printf("# no refusal for %s's %s\n", kinds[i].name, key);
			every &= found;
		}
	ok(every, "every field of every kind has a refusal below");
	for (size_t i = 0; i < ARRAY_SIZE(refusals); i++) {
		const struct refusal *f = &refusals[i];
		const struct kind *k = kind_of(f->kind);
		int line, zero;
		char *text = edit(k, f->key, f->value, &line), err[256], want[64];
		unsigned unknown;
		struct sbuf b = {0};
		int r = run(k, text, strlen(text), err, &unknown, &zero, &b);
		snprintf(want, sizeof(want), "line %d: %s: ", line, f->key);
		ok(r == -EINVAL && !strncmp(err, want, strlen(want)) && strstr(err, f->words) &&
		       zero,
		   "%s: %s=\"%s\" refused, zeroed: %s", f->kind, f->key, f->value, err);
		sb_free(&b);
	}
}

/* Each required field, left out, is refused; each optional one is not. */
static void required(void)
{
	static const char *const optional[] = {
	    "alive.web", "alive.migrate", "hinfo.qemu", "hinfo.machine", "obj.started",
	    "obj.pid",	 "obj.error",	  "obj.intent", "obj.nic.2",	 "obj.vid.0",	 "obj.cfg.vcpus",
	    "ans.errno", "ans.reason",	  "ans.count",	"claim.intent",	 "claim.moving",
	    "cap.drain", "cap.cfg-run", "cap.cfg-pending", "cmd.ids",	  "cmd.args",	"cmd.taken",	 "cmd.nonce",
	    "top.17",
	};
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		const struct kind *k = &kinds[i];
		for (const char *s = strchr(k->good, '\n') + 1; *s; s = strchr(s, '\n') + 1) {
			char key[64], full[80], err[256];
			snprintf(key, sizeof(key), "%.*s", (int)(strchr(s, '=') - s), s);
			snprintf(full, sizeof(full), "%s.%s", k->name, key);
			int opt = 0, line, zero;
			for (size_t j = 0; j < ARRAY_SIZE(optional); j++)
				opt |= !strcmp(optional[j], full);
			if (!opt && (!strncmp(key, "nic.", 4) || !strncmp(key, "cfg.", 4) ||
				     !strcmp(full, "top.3")))
				continue; /* a gap in the NICs is tested below */
			char *text = edit(k, key, NULL, &line);
			unsigned unknown;
			struct sbuf b = {0};
			int r = run(k, text, strlen(text), err, &unknown, &zero, &b);
			if (opt)
				ok(!r, "%s: without %s: read (%s)", k->name, key, r ? err : "ok");
			else
				ok(r == -EINVAL && strstr(err, "no ") && strstr(err, key) && zero,
				   "%s: without %s: refused (%s)", k->name, key, err);
			sb_free(&b);
		}
	}
}

/* Values that are not records at all, as a layout: the text, the
 * error, words it holds. */
static const struct shape_refusal {
	const char *text;
	int r;
	const char *words;
} shapes[] = {
    {"layout=1\n", -EINVAL, "line 1: layout: the first line is not v=1"},
    {"layout=1\nv=1\n", -EINVAL, "line 1: layout: the first line is not v=1"},
    {"v=01\nlayout=1\n", -EINVAL, "line 1: v: \"01\" is not a version"},
    {"v=\nlayout=1\n", -EINVAL, "is not a version"},
    {"v=1\nlayout=1\nlayout=2\n", -EINVAL, "given twice"},
    {"v=1\nv=1\nlayout=1\n", -EINVAL, "given twice"},
    {"v=1\nlayout=1", -EINVAL, "cut short"},
    {"v=1\n\nlayout=1\n", -EINVAL, "empty"},
    {"", -EINVAL, "empty"},
    {"v=1\n", -EINVAL, "no layout= line"},
    {"v=1\nlayout 1\n", -EINVAL, "not KEY=VALUE"},
    {"v=9\nlayout=1\n", -EPROTONOSUPPORT, "written by a newer vmfs (v=9)"},
    {"v=10\nlayout=1\n", -EPROTONOSUPPORT, "written by a newer vmfs (v=10)"},
    {"V=1\nlayout=1\n", -EINVAL, "line 1: V: the first line is not v=1"},
    {"v=1\r\nlayout=1\n", -EINVAL, "is not a version"},
    {"v=1 \nlayout=1\n", -EINVAL, "is not a version"},
    {"v=1\nlayout=1\n=3\n", -EINVAL, "line 3: no key before '='"},
    {"v=1\nla yout=1\n", -EINVAL, "holds a character keys never have"},
};

static void shape(void)
{
	const struct kind *alive = kind_of("alive"), *obj = kind_of("obj");
	char err[256], text[1024];
	unsigned unknown;
	int zero, r;
	struct sbuf b = {0};

	/* a key of a newer vmfs: ignored, counted, not written back */
	snprintf(text, sizeof(text), "%szzz=1\nweb.new=x\n", alive->good);
	r = run(alive, text, strlen(text), err, &unknown, &zero, &b);
	sb_puts(&b, "");
	ok(!r && unknown == 2, "alive: two unknown keys ignored and counted (%u)", unknown);
	is_str(b.p, alive->good, "  and not written back");
	sb_free(&b);
	b = (struct sbuf){0};
	snprintf(text, sizeof(text), "%scfg.newknob=1\n", obj->good);
	r = run(obj, text, strlen(text), err, &unknown, &zero, &b);
	ok(!r && unknown == 1, "obj: a parameter this vmfs does not know is counted, not refused");
	sb_free(&b);
	b = (struct sbuf){0};

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		const struct kind *k = &kinds[i];
		snprintf(text, sizeof(text), "v=2\n%s", k->good + 4);
		r = run(k, text, strlen(text), err, &unknown, &zero, &b);
		ok(r == -EPROTONOSUPPORT && strstr(err, "written by a newer vmfs (v=2)") && zero,
		   "%s: v=2 refused: %s", k->name, err);
	}
	const struct kind *layout = kind_of("layout");
	for (size_t i = 0; i < ARRAY_SIZE(shapes); i++) {
		r = run(layout, shapes[i].text, strlen(shapes[i].text), err, &unknown, &zero, &b);
		ok(r == shapes[i].r && strstr(err, shapes[i].words) && zero, "layout: refused: %s",
		   err);
	}
	r = run(layout, "v=1\nlay\0ut=1\n", 13, err, &unknown, &zero, &b);
	ok(r == -EINVAL && strstr(err, "NUL") && zero, "a NUL inside: refused: %s", err);

	/* sizes: each kind's limit, counted in bytes */
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		const struct kind *k = &kinds[i];
		size_t glen = strlen(k->good), n = k->max + 1;
		char *big = malloc(n + 1);
		memcpy(big, k->good, glen);
		memset(big + glen, '#', n - glen);
		big[n] = 0;
		r = run(k, big, n, err, &unknown, &zero, &b);
		ok(r == -EFBIG && strstr(err, "holds at most") && zero, "%s: %zu bytes: EFBIG: %s",
		   k->name, n, err);
		/* exactly the limit: the padding is one long unknown value, so it reads */
		size_t pad = k->max - glen - 3;
		memcpy(big + glen, "zz=", 3);
		memset(big + glen + 3, 'x', pad - 1);
		big[k->max - 1] = '\n';
		r = run(k, big, k->max, err, &unknown, &zero, &b);
		ok(!r && unknown == 1, "%s: exactly %zu bytes: read (%s)", k->name, k->max,
		   r ? err : "ok");
		sb_free(&b);
		b = (struct sbuf){0};
		free(big);
	}
}

static void obj_cases(void)
{
	const struct kind *obj = kind_of("obj");
	char err[256], text[2048];
	unsigned unknown;
	int zero, r, line;
	struct sbuf b = {0};
	/* nic.1 dropped: a gap */
	char *t = edit(obj, "nic.1", NULL, &line);
	r = run(obj, t, strlen(t), err, &unknown, &zero, &b);
	ok(r == -EINVAL && strstr(err, "nic.1 is missing") && zero, "obj: a gap in the NICs: %s",
	   err);
	t = edit(obj, "nic.2", NULL, &line);
	snprintf(text, sizeof(text), "%snic.64=LAN1 tap9 52:54:00:12:34:59 -\n", t);
	r = run(obj, text, strlen(text), err, &unknown, &zero, &b);
	ok(r == -EINVAL && strstr(err, "nic.64: ") && zero, "obj: nic.64 is past the limit: %s",
	   err);
	snprintf(text, sizeof(text), "%snic.01=LAN1 tap9 52:54:00:12:34:59 -\n", t);
	r = run(obj, text, strlen(text), err, &unknown, &zero, &b);
	ok(r == -EINVAL && strstr(err, "leading zero") && zero, "obj: nic.01: %s", err);
	/* a VLAN id for a NIC that is not there */
	snprintf(text, sizeof(text), "%svid.5=10\n", t);
	r = run(obj, text, strlen(text), err, &unknown, &zero, &b);
	ok(r == -EINVAL && strstr(err, "is missing") && zero, "obj: vid.5 without nic.5: %s", err);
	/* a VM's parameter on a container */
	t = edit(obj, "type", "container", &line);
	r = run(obj, t, strlen(t), err, &unknown, &zero, &b);
	ok(r == -EINVAL && strstr(err, "cfg.machine: not a parameter of a container") && zero,
	   "obj: a VM's parameter on a container: %s", err);
	/* top: a key that is not an id is unknown, an id with a leading zero refused */
	const struct kind *top = kind_of("top");
	snprintf(text, sizeof(text), "%sx=1\n", top->good);
	r = run(top, text, strlen(text), err, &unknown, &zero, &b);
	ok(!r && unknown == 1, "top: a key that is not an id is counted");
	sb_free(&b);
	b = (struct sbuf){0};
	snprintf(text, sizeof(text), "%s017=1\n", top->good);
	r = run(top, text, strlen(text), err, &unknown, &zero, &b);
	ok(r == -EINVAL && strstr(err, "leading zero") && zero, "top: 017 refused: %s", err);
	snprintf(text, sizeof(text), "%s268435456=1\n", top->good);
	r = run(top, text, strlen(text), err, &unknown, &zero, &b);
	ok(r == -EINVAL && strstr(err, "out of range") && zero, "top: an id past OBJ_ID_MAX: %s",
	   err);
	r = run(top, "v=1\n", 4, err, &unknown, &zero, &b);
	ok(!r, "top: no rows is a table");

	/* top's rows as a reader yields them, and the row writer */
	struct crec_top tt;
	r = crec_top_read(top->good, strlen(top->good), &tt, err, sizeof(err));
	ok(!r && tt.n == 2 && tt.rows[0].id == 3 && !strcmp(tt.rows[1].figures, "0.0% 1.0G 3d4h"),
	   "top: rows in order, with their figures");
	crec_top_free(&tt);
	ok(zeroed(&tt, sizeof(tt)), "top: freed and zeroed");
	sb_free(&b);
	b = (struct sbuf){0};
	crec_top_begin(&b);
	crec_top_row(&b, 3, "1.5% 256M 0:01:02");
	crec_top_row(&b, 17, "0.0% 1.0G 3d4h");
	is_str(b.p, top->good, "top: the row writer writes the same table");
	sb_free(&b);

	/* what obj's fields hold */
	struct crec_obj o;
	r = crec_obj_read(obj->good, strlen(obj->good), &o, err, sizeof(err));
	ok(!r && o.type == OT_VM && o.state == ST_RUNNING && o.nnic == 3 && !o.nic[1].ip[0] &&
	       !strcmp(o.nic[2].ip, "fd00::2/64") && !strcmp(o.cfg[param_index("memory")], "2G") &&
	       o.intent.run == 3 && o.pid == 4242,
	   "obj: the fields as read");
	crec_obj_free(&o);

	/* the template's value needs a parameter */
	struct crec_nscfg c;
	r = crec_nscfg_read(-1, "v=1\nvalue=4\n", 12, &c, err, sizeof(err));
	ok(r == -EINVAL && zeroed(&c, sizeof(c)), "nscfg: no parameter: refused");
	r = crec_nscfg_read(param_index("memory"), "v=1\nvalue=2G\n", 13, &c, err, sizeof(err));
	ok(!r && !strcmp(c.value, "2G"), "nscfg: memory=2G");
}

static void errnos(void)
{
	ok(!strcmp(crec_errno_name(EBUSY), "EBUSY") && crec_errno_num("EBUSY") == EBUSY,
	   "errno: EBUSY both ways");
	int all = 1;
	const int used[] = {EBUSY,    ENOENT, EINVAL, ETIMEDOUT,  EHOSTDOWN,
			    ENOTCONN, ENOSPC, EAGAIN, EEXIST,	  EPERM,
			    EACCES,   ENOMEM, EIO,    EOPNOTSUPP, ESTALE};
	for (size_t i = 0; i < ARRAY_SIZE(used); i++)
		all &= crec_errno_num(crec_errno_name(used[i]) ?: "") == used[i];
	ok(all, "errno: every errno the errno rule names maps both ways");
	ok(crec_errno_num("ENOTSUP") == ENOTSUP, "errno: ENOTSUP read");
	int named = 0, back = 1;
	for (int e = 1; e < 200; e++)
		if (crec_errno_name(e)) {
			named++;
			back &= crec_errno_num(crec_errno_name(e)) == e;
		}
	ok(named >= 50 && back, "errno: each of the %d in the table maps back to itself", named);
	struct crec_ans a = {.state = CREC_ANS_DONE, .err = 9999};
	struct sbuf b = {0};
	crec_ans_write(&a, &b);
	sb_puts(&b, "");
	is_str(b.p, "v=1\nstate=done\nerrno=EIO\n", "errno: one not in the table is written EIO");
	sb_free(&b);
	ok(!crec_errno_name(0) && !crec_errno_name(-1) && !crec_errno_num("") &&
	       !crec_errno_num("ebusy"),
	   "errno: 0, negatives and lowercase are not in the table");
}

/* A namespace's mode: an earlier build published set-id and sticky bits (mkdir -m 2775); read,
 * they are dropped; written, only permission bits go out. */
static void ns_mode(void)
{
	const char *old = "v=1\nid=3\nhosts=h1\nnext-id=2\nuid=0\ngid=0\nmode=2775\nctime=1\n";
	struct crec_ns n = {0};
	char err[256] = "";
	int r = crec_ns_read(old, strlen(old), &n, err, sizeof(err));
	ok(!r && n.mode == 0775, "ns: mode=2775 of an earlier build read as 0775 (%s)", r ? err : "ok");
	struct sbuf b = {0};
	n.mode = 01755;
	crec_ns_write(&n, &b);
	sb_puts(&b, "");
	ok(b.p && strstr(b.p, "\nmode=0755\n"), "ns: a mode with the sticky bit is written 0755");
	sb_free(&b);
	crec_ns_free(&n);
}

int main(void)
{
	ns_mode();
	round_trips();
	field_refusals();
	required();
	shape();
	obj_cases();
	errnos();
	return tap_done();
}
