/* runtime/store.c, util.c read_state, load.c: state files are read strictly, and what is
 * damaged is moved aside, never lost. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/model.h"
#include "runtime/net.h"
#include "runtime/store.h"
#include "tests/unit/tap.h"

struct seen {
	char keys[8][64], values[8][64];
	int n;
	const char *refuse; /* a key the callback refuses */
};

static int collect(const char *k, const char *v, void *arg, char *err, size_t errlen)
{
	struct seen *s = arg;
	if (s->refuse && !strcmp(k, s->refuse)) {
		snprintf(err, errlen, "refused");
		return -EINVAL;
	}
	if (s->n < 8) {
		snprintf(s->keys[s->n], 64, "%s", k);
		snprintf(s->values[s->n], 64, "%s", v);
	}
	s->n++;
	return 0;
}

/* Parses a copy of text (len bytes); returns the result, err and what the callback saw. */
static int parse(const char *text, size_t len, struct seen *s, char *err, size_t errlen)
{
	char *copy = malloc(len + 1);
	memcpy(copy, text, len);
	copy[len] = 0;
	*s = (struct seen){.refuse = s->refuse};
	err[0] = 0;
	int r = store_parse(copy, len, collect, s, err, errlen);
	free(copy);
	return r;
}
#define PARSE(t, s, err) parse(t, sizeof(t) - 1, s, err, sizeof(err))

static void parser(void)
{
	struct seen s = {0};
	char err[512];
	ok(PARSE("id=4\nstate=QUIT\nmemory=a=b\n", &s, err) == 0 && s.n == 3, "three lines");
	is_str(s.values[2], "a=b", "the value is all after the first '='");
	ok(PARSE("", &s, err) == -EINVAL && s.n == 0, "an empty file is refused");
	is_str(err, "the file is empty", "... saying so");
	ok(PARSE("id=4\nstate=QUIT", &s, err) == -EINVAL && s.n == 0, "a last line without newline");
	is_str(err, "line 2 is cut short (no newline at its end)", "... is cut short");
	ok(PARSE("id=4\n\nstate=QUIT\n", &s, err) == -EINVAL, "an empty line is refused");
	is_str(err, "line 2 is empty", "... saying which");
	ok(PARSE("id=4\njunk\n", &s, err) == -EINVAL && s.n == 0, "a line without '=' is refused");
	is_str(err, "line 2 (\"junk\") is not KEY=VALUE", "... quoting it");
	ok(PARSE("=4\n", &s, err) == -EINVAL, "no key");
	is_str(err, "line 1: no key before '='", "... saying so");
	ok(PARSE("i d=4\n", &s, err) == -EINVAL, "a blank in a key");
	ok(PARSE("id=4\nid=5\n", &s, err) == -EINVAL && s.n == 0, "a key twice is refused");
	is_str(err, "the key id is given twice (lines 1 and 2)", "... with both lines");
	ok(PARSE("a=1\nb=2\nb=3\na=4\n", &s, err) == -EINVAL, "two keys twice");
	is_str(err, "the key b is given twice (lines 2 and 3)", "... the first repeat is named");
	ok(PARSE("id=4\0\n", &s, err) == -EINVAL, "a NUL byte is refused");
	is_str(err, "line 1 holds a NUL byte", "... with its line");
	ok(PARSE("#x=1\n", &s, err) == -EINVAL, "no comments: vmfs never writes one");

	char garbage[4096];
	unsigned x = 12345;
	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)((x = x * 1103515245 + 12345) >> 16);
	ok(parse(garbage, sizeof(garbage), &s, err, sizeof(err)) == -EINVAL && s.n == 0,
	   "garbage is refused before anything is taken (%s)", err);
	garbage[sizeof(garbage) - 1] = '\n';
	for (size_t i = 0; i < sizeof(garbage) - 1; i++)
		if (garbage[i] == 0 || garbage[i] == '\n')
			garbage[i] = 'x';
	ok(parse(garbage, sizeof(garbage), &s, err, sizeof(err)) == -EINVAL,
	   "garbage without NUL or newline too");
	ok(strlen(err) < 200 && !strchr(err, '\n') && !strchr(err, '\033'), "... said in one short printable line (%s)", err);

	size_t big = 4 << 20;
	char *huge = malloc(big + 1);
	memset(huge, 'v', big);
	memcpy(huge, "init=", 5);
	huge[big - 1] = '\n';
	ok(parse(huge, big, &s, err, sizeof(err)) == 0 && s.n == 1, "a 4 MiB line is parsed (its value is the caller's to judge)");
	memset(huge, 'k', big - 1);
	ok(parse(huge, big, &s, err, sizeof(err)) == -EINVAL && strlen(err) < 200,
	   "a 4 MiB line without '=' is refused in a short message");
	huge[200] = '=';
	ok(parse(huge, big, &s, err, sizeof(err)) == -EINVAL, "a 200-byte key is refused");
	ok(strstr(err, "line 1: the key \"kkkk") && strstr(err, "...\" is too long (200 bytes)") &&
		   strlen(err) < 200,
	   "... saying so, briefly (%s)", err);
	free(huge);

	s.refuse = "state";
	ok(PARSE("id=4\nstate=QUIT\n", &s, err) == -EINVAL, "a value the callback refuses");
	is_str(err, "line 2: state: refused", "... is reported with its line and key");
}

static void fields(void)
{
	char err[256];
	unsigned long long v = 99;
	ok(store_num("4", 10, 1, 100, &v, err, sizeof(err)) == 0 && v == 4, "4 is a number");
	ok(store_num("abc", 10, 1, 100, &v, err, sizeof(err)) == -EINVAL && v == 4, "abc is not");
	is_str(err, "\"abc\" is not a number", "... saying so");
	ok(store_num("", 10, 0, 100, &v, err, sizeof(err)) == -EINVAL, "empty is not");
	ok(store_num("-1", 10, 0, 100, &v, err, sizeof(err)) == -EINVAL, "no sign");
	ok(store_num(" 4", 10, 0, 100, &v, err, sizeof(err)) == -EINVAL, "no blank");
	ok(store_num("4x", 10, 0, 100, &v, err, sizeof(err)) == -EINVAL, "no trailing junk");
	ok(store_num("0x10", 10, 0, 100, &v, err, sizeof(err)) == -EINVAL, "no prefix");
	ok(store_num("0", 10, 1, 100, &v, err, sizeof(err)) == -EINVAL, "below the range");
	is_str(err, "0 is out of range (1 to 100)", "... saying the range");
	ok(store_num("101", 10, 1, 100, &v, err, sizeof(err)) == -EINVAL, "above the range");
	ok(store_num("99999999999999999999999999", 10, 0, ~0ull >> 1, &v, err, sizeof(err)) ==
		   -EINVAL, "an overflow is out of range, not wrapped");
	ok(store_num("9223372036854775807", 10, 0, ~0ull >> 1, &v, err, sizeof(err)) == 0 &&
		   v == 9223372036854775807ull, "the top of the range is in it");
	ok(store_num("0750", 8, 0, 07777, &v, err, sizeof(err)) == 0 && v == 0750, "octal mode");
	ok(store_num("0758", 8, 0, 07777, &v, err, sizeof(err)) == -EINVAL, "8 is not octal");
	is_str(err, "\"0758\" is not an octal number", "... saying so");
	ok(store_num("17777", 8, 0, 07777, &v, err, sizeof(err)) == -EINVAL, "mode above 07777");
	enum ostate st = ST_ERROR;
	ok(store_state("QUIT", &st, err, sizeof(err)) == 0 && st == ST_QUIT, "QUIT is a state");
	ok(store_state("FLYING", &st, err, sizeof(err)) == -EINVAL && st == ST_QUIT, "FLYING is not");
	ok(strstr(err, "\"FLYING\" is not a state") != NULL, "... saying so (%s)", err);
	ok(store_state("quit", &st, err, sizeof(err)) == -EINVAL, "names are exact");
	ok(store_state("QUIT ", &st, err, sizeof(err)) == -EINVAL, "no blank after");
}

static void reader(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	char why[256], *text = NULL;
	size_t len = 1;
	close(openat(dfd, "empty", O_CREAT | O_WRONLY, 0600));
	ok(read_state(dfd, "empty", 100, &text, &len, why, sizeof(why)) == 0 && len == 0 && text &&
		   text[0] == 0, "an empty file reads as \"\" (never stale memory)");
	free(text);
	int fd = openat(dfd, "big", O_CREAT | O_WRONLY, 0600);
	ok(ftruncate(fd, 101) == 0, "a 101-byte file");
	close(fd);
	ok(read_state(dfd, "big", 100, &text, &len, why, sizeof(why)) == -EFBIG, "... over 100: EFBIG");
	is_str(why, "big is too large: 101 bytes, a state file is at most 100", "... saying so");
	ok(mkfifoat(dfd, "fifo", 0600) == 0, "a FIFO");
	ok(read_state(dfd, "fifo", 100, &text, &len, why, sizeof(why)) == -EINVAL,
	   "... is refused without blocking");
	is_str(why, "fifo is a FIFO, not a regular file", "... saying so");
	ok(read_small(dfd, "fifo", 100, &text, NULL) == -EINVAL,
	   "read_small (run files, certificates) does not block on a FIFO either");
	ok(symlinkat("loop", dfd, "loop") == 0 && symlinkat("empty", dfd, "link") == 0, "links");
	ok(read_state(dfd, "loop", 100, &text, &len, why, sizeof(why)) == -EINVAL, "a symlink loop is refused");
	ok(read_state(dfd, "link", 100, &text, &len, why, sizeof(why)) == -EINVAL,
	   "a link to a good file too");
	is_str(why, "link is a symbolic link, not a regular file", "... saying so");
	ok(mkdirat(dfd, "sub", 0700) == 0 &&
		   read_state(dfd, "sub", 100, &text, &len, why, sizeof(why)) == -EINVAL,
	   "a directory is refused");
	is_str(why, "sub is a directory, not a regular file", "... saying so");
	ok(read_state(AT_FDCWD, "/dev/null", 100, &text, &len, why, sizeof(why)) == -EINVAL,
	   "a device is refused");
	is_str(why, "/dev/null is a character device, not a regular file", "... saying so");
	ok(read_state(dfd, "none", 100, &text, &len, why, sizeof(why)) == -ENOENT, "a missing file");
	is_str(why, "none is missing", "... saying so");
	close(dfd);
}

static void append(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	ok(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), "append to %s", path);
	close(fd);
}

static void rewrite(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ok(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), "rewrite %s", path);
	close(fd);
}

/* Through model_open: a duplicate id and a bad ns.conf, as vmfs meets them at start. */
static void loading(const char *dir)
{
	char state[128], images[128], path[256], err[256];
	struct model m = {0};
	struct ns *ns;
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(images, sizeof(images), "%s/images", dir);
	net_subscribe(&m); /* as vmfs does: its VLAN records are in ns.conf */
	ok(model_open(&m, state, images, err, sizeof(err)) == 0, "a new state directory");
	char *names[] = {"w1", "w2", "w3"};
	ok(ns_create(&m, "lab", 1000, 1000, 0750, &ns, err, sizeof(err)) == 0 &&
		   obj_create_many(&m, ns, OT_VM, names, 3, NULL, err, sizeof(err)) == 0,
	   "lab with w1, w2, w3");
	model_close(&m);
	snprintf(path, sizeof(path), "%s/ns/lab/vms/w2/config", state);
	rewrite(path, "id=1\nctime=0\nstate=QUIT\n");
	snprintf(path, sizeof(path), "%s/ns/lab/vms/w3/config", state);
	rewrite(path, "id=7\nctime=0\nstate=FLYING\n");
	snprintf(path, sizeof(path), "%s/ns/lab/ns.conf", state);
	append(path, "colour=blue\n");
	ok(model_open(&m, state, images, err, sizeof(err)) == 0, "it opens again");
	ns = ns_find(&m, "lab");
	ok(ns && !obj_find(ns, OT_VM, "w1") != !obj_find(ns, OT_VM, "w2") && !obj_find(ns, OT_VM, "w3"),
	   "one of w1 and w2 (one id) is loaded, w3 (a bad state) is not");
	const char *d = m.damage.p ? m.damage.p : "";
	ok(strstr(d, "error: damaged state ns/lab/vms/w") && strstr(d, ": id 1 is already ns/lab/vms/w"),
	   "the damage is listed for host/log");
	ok(strstr(d, "-ns-lab-vms-w3: config: line 3: state: \"FLYING\" is not a state"),
	   "... each with its reason");
	ok(strstr(d, "error: damaged state ns/lab/ns.conf moved aside to damaged/") &&
		   strstr(d, "ns.conf: line 9: colour: not a key of ns.conf; namespace lab kept"),
	   "... the bad ns.conf too");
	ok(ns && ns->uid == 0 && ns->gid == 0 && ns->mode == 0700 && ns->next_id == 8,
	   "lab is kept, owned by root, mode 0700, ids going on after its objects' (damaged too)");
	snprintf(path, sizeof(path), "%s/ns/lab/log", state);
	ok(strstr(slurp(path), "error: vms/w3: damaged, moved aside to damaged/"),
	   "the namespace's log says so");
	snprintf(path, sizeof(path), "%s/ns/lab/vms/w3", state);
	struct stat st;
	ok(stat(path, &st) < 0, "w3's directory left ns/lab/vms");
	ok(ns && obj_create_many(&m, ns, OT_VM, names + 2, 1, NULL, err, sizeof(err)) == 0,
	   "its name can be used again");
	model_close(&m);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "ls -d %s/damaged/*-ns-lab-vms-w3/w3/config "
		 "%s/damaged/*-ns-lab-ns.conf/ns.conf >/dev/null 2>&1", state, state);
	ok(system(cmd) == 0, "both are in damaged/");
	ok(model_open(&m, state, images, err, sizeof(err)) == 0 && !m.damage.len,
	   "the next start finds nothing damaged");
	model_close(&m);

	/* when damaged/ cannot be made, the damaged thing stays where it is, untouched */
	snprintf(cmd, sizeof(cmd), "mv %s/damaged %s/damaged.old && touch %s/damaged", state,
		 state, state);
	ok(system(cmd) == 0, "damaged is a file");
	snprintf(path, sizeof(path), "%s/ns/lab/vms/w3/config", state);
	rewrite(path, "id=abc\n");
	ok(model_open(&m, state, images, err, sizeof(err)) == 0, "it opens");
	d = m.damage.p ? m.damage.p : "";
	ok(strstr(d, "error: damaged state ns/lab/vms/w3, not loaded and left where it is (moving "
		     "it to damaged/ failed: Not a directory): config: line 1: id: \"abc\" is not "
		     "a number"),
	   "the damage says it could not be moved");
	ok(slurp(path) && !strcmp(slurp(path), "id=abc"), "... and the file is as it was");
	model_close(&m);

	/* a refused value that cannot be set aside: not used, and the file stays as it was */
	rewrite(path, "id=99\nctime=1\nstate=QUIT\nvcpus=abc\n");
	ok(model_open(&m, state, images, err, sizeof(err)) == 0, "it opens");
	d = m.damage.p ? m.damage.p : "";
	ok(strstr(d, "error: state ns/lab/vms/w3/config: vcpus=\"abc\": \"abc\" is not a whole "
		     "number: use one from 1 to 256; not used, the default is (it could not be set "
		     "aside: Not a directory)") != NULL,
	   "a refused value that cannot be set aside: the damage says so");
	struct ns *lab = ns_find(&m, "lab");
	struct object *w3 = lab ? obj_find_any(lab, "w3") : NULL;
	ok(w3 && !strcmp(obj_cfg(w3, "vcpus"), "1"), "... the object loads, with the default");
	const char *now = slurp(path);
	ok(now && strstr(now, "vcpus=abc"), "... and the file is as it was");
	model_close(&m);
}

/* Writes text to STATE/rel (making its directories), opens the model and returns what it
 * found damaged ("" if nothing). */
static const char *damage_of(const char *state, const char *images, const char *rel,
			     const char *text)
{
	static char out[4096];
	char path[512], cmd[700], err[256];
	snprintf(path, sizeof(path), "%s/%s", state, rel);
	/* private, as vmfs keeps it: an open one is tightened, and that is said too */
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\" && chmod 0700 '%s'", path, state);
	if (system(cmd) != 0)
		return "(mkdir failed)";
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return "(write failed)";
	close(fd);
	struct model m = {0};
	net_subscribe(&m);
	if (model_open(&m, state, images, err, sizeof(err)))
		snprintf(out, sizeof(out), "(model_open: %s)", err);
	else
		snprintf(out, sizeof(out), "%s", m.damage.p ? m.damage.p : "");
	model_close(&m);
	return out;
}

/* Each field of a config and of ns.conf is checked: what is refused, and the words. */
struct fieldcase {
	const char *text, *want; /* the file (for ns.conf: lines put first), the words refusing it */
	bool aside; /* a knob's value: only it is set aside, the rest loads */
};

static void field_checks(const char *dir)
{
	static const struct fieldcase objs[] = {
	    {"id=5\nctime=1\nstate=QUIT\n", ""},
	    {"id=0\nctime=1\nstate=QUIT\n", "line 1: id: 0 is out of range (1 to 268435455)"},
	    {"id=abc\nctime=1\nstate=QUIT\n", "line 1: id: \"abc\" is not a number"},
	    {"id=5\nctime=-1\nstate=QUIT\n", "line 2: ctime: \"-1\" is not a number"},
	    {"id=5\nctime=1\nstate=FLYING\n", "line 3: state: \"FLYING\" is not a state"},
	    {"id=5\nctime=1\n", "config: it has no state"},
	    {"state=QUIT\n", "config: it has no id, ctime"},
	    {"id=5\nctime=1\nstate=QUIT\nmemory=lots\n", "memory=\"lots\": \"lots\" is not a size", true},
	    {"id=5\nctime=1\nstate=QUIT\nmemory=\n", "memory=\"\": empty", true},
	    {"id=5\nctime=1\nstate=QUIT\ncolour=red\n", "colour=\"red\": not a parameter vmfs knows", true},
	    {"id=5\nctime=1\nstate=QUIT\ninit=/x\n", "init=\"/x\": not a parameter of a VM", true},
	    {"id=5\nctime=1\nstate=QUIT\nappend=a\x7f\n", "append=\"a\\x7f\": the value holds the control character", true},
	    {"id=5\nctime=1\nstate=QUIT\nstate=QUIT\n", "the key state is given twice (lines 3 and 4)"},
	};
	static const struct fieldcase nss[] = {
	    {"", ""},
	    {"uid=abc\n", "uid: \"abc\" is not a number"},
	    {"uid=4294967295\n", "uid: 4294967295 is out of range (0 to 4294967294)"},
	    {"mode=0999\n", "mode: \"0999\" is not an octal number"},
	    {"mode=17777\n", "mode: 17777 is out of range (0 to 7777)"},
	    {"next-id=0\n", "next-id: 0 is out of range"},
	    {"hosts=a,-b\n", "hosts: \"-b\" starts with '-'"},
	    {"vlan-range=300-200\n", "vlan-range: \"300-200\": the range runs backwards"},
	    {"vlan.web=abc\n", "vlan.web: \"abc\" is not a VLAN id (1 to 4094), pinned or not"},
	    {"vlan.web=5 stuck\n", "vlan.web: \"5 stuck\" is not a VLAN id"},
	    {"vlan.web=5\nvlan.db=5 pinned\n", "vlan.db: VLAN 5 or the alias db is given twice"},
	    {"taps=junk\n", "taps: \"junk\" is not VLAN=ADDRESS"},
	    {"config.colour=1\n", "config.colour=\"1\": not a parameter vmfs knows", true},
	    {"config.vcpus=many\n", "config.vcpus=\"many\": \"many\" is not a whole number", true},
	    {"colour=1\n", "colour: not a key of ns.conf"},
	};
	char state[128], images[128], text[512];
	snprintf(state, sizeof(state), "%s/fields", dir);
	snprintf(images, sizeof(images), "%s/images", dir);
	ok(!*damage_of(state, images, "first", ""), "a new state directory");
	for (size_t i = 0; i < ARRAY_SIZE(objs); i++) {
		const char *d = damage_of(state, images, "ns/default/vms/x/config", objs[i].text);
		ok(*objs[i].want ? strstr(d, objs[i].want) &&
				       strstr(d, objs[i].aside ? "values refused and set aside"
							       : "moved aside")
				 : !*d,
		   "config case %zu: %s", i, *objs[i].want ? objs[i].want : "a good one loads");
		if (*objs[i].want ? !strstr(d, objs[i].want) : *d != 0)
			printf("#   got: %s\n", d);
	}
	for (size_t i = 0; i < ARRAY_SIZE(nss); i++) {
		snprintf(text, sizeof(text), "%s%s", nss[i].text,
			 strncmp(nss[i].text, "uid=", 4) ? "uid=1000\n" : "");
		size_t n = strlen(text);
		snprintf(text + n, sizeof(text) - n, "gid=1000\n%snext-id=7\nctime=1\n",
			 strncmp(nss[i].text, "mode=", 5) ? "mode=0750\n" : "");
		if (!strncmp(nss[i].text, "next-id=", 8))
			*strstr(text, "next-id=7\n") = 0;
		const char *d = damage_of(state, images, "ns/t/ns.conf", text);
		ok(*nss[i].want ? strstr(d, nss[i].want) &&
				      strstr(d, nss[i].aside ? "values refused and set aside"
							     : "namespace t kept")
				: !*d,
		   "ns.conf case %zu: %s", i, *nss[i].want ? nss[i].want : "a good one loads");
		if (*nss[i].want ? !strstr(d, nss[i].want) : *d != 0)
			printf("#   got: %s\n", d);
	}
}

int main(void)
{
	char dir[] = "/tmp/vmfs-store-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	parser();
	fields();
	reader(dir);
	loading(dir);
	field_checks(dir);
	char cmd[100];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
