/* web/auth: the password file's errors (file, line, words), the rule matrix, bcrypt behind the
 * cache, reloading, and the refusal of a file others may write. Hashes have bcrypt cost 4 so
 * that the test is fast; the code does not care about the cost. */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/tap.h"
#include "web/auth.h"

static char dir[] = "/tmp/vmfs-auth-XXXXXX";
static char file[64], tmp[64];
static char HA[CRYPT_OUTPUT_SIZE], HB[CRYPT_OUTPUT_SIZE], HC[CRYPT_OUTPUT_SIZE];

static void hash_of(const char *pass, char *out)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data d = {0};
	const char *h = NULL;

	if (crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof salt))
		h = crypt_rn(pass, salt, &d, sizeof d);
	snprintf(out, CRYPT_OUTPUT_SIZE, "%s", h ? h : "(crypt failed)");
}

/* The text with {A}, {B}, {C} replaced by the hashes of apple, banana, cherry. */
static const char *expand(const char *text)
{
	static char out[16384];
	size_t o = 0;

	for (; *text && o < sizeof out - 100; text++) {
		const char *h = NULL;
		if (!strncmp(text, "{A}", 3))
			h = HA;
		else if (!strncmp(text, "{B}", 3))
			h = HB;
		else if (!strncmp(text, "{C}", 3))
			h = HC;
		if (h) {
			o += snprintf(out + o, sizeof out - o, "%s", h);
			text += 2;
		} else {
			out[o++] = *text;
		}
	}
	out[o] = '\0';
	return out;
}

/* Replaces the file as an editor does (a new inode), so that a reload sees the change. */
static void put(const char *text, mode_t mode)
{
	FILE *f = fopen(tmp, "w");
	fputs(expand(text), f);
	fclose(f);
	chmod(tmp, mode);
	rename(tmp, file);
}

static int load(const char *text, struct auth **a, char *err, size_t errlen)
{
	put(text, 0600);
	err[0] = '\0';
	return auth_load(file, a, err, errlen);
}

struct bad {
	const char *text, *want; /* want: the message after the file name */
};

static void parse_errors(void)
{
	static char longuser[200];
	static const struct bad bad[] = {
	    {"# a comment\n\nalice rx / {A}\n", ":3: \"rx\" is not an access kind: use rw, ro or admin"},
	    {"alice rw / {A} # why\n",
	     ":1: too many fields where a rule has 4: USER ACCESS PATH HASH (a comment is a line "
	     "of its own, starting with #)"},
	    {"alice rw /\n",
	     ":1: too few fields where a rule has 4: USER ACCESS PATH HASH (a comment is a line "
	     "of its own, starting with #)"},
	    {"\n\nal!ce rw / {A}\n",
	     ":3: \"al!ce\" is not a user name: use 1 to 64 letters, digits, '.', '_' or '-'"},
	    {"alice rw ns/lab/ {A}\n",
	     ":1: \"ns/lab/\" is not a path of the tree: it must start with /"},
	    {"alice rw /ns/../x {A}\n",
	     ":1: \"/ns/../x\" is not a path of the tree: \".\" and \"..\" are not allowed"},
	    {"alice rw /ns/lab/. {A}\n",
	     ":1: \"/ns/lab/.\" is not a path of the tree: \".\" and \"..\" are not allowed"},
	    {"alice rw /ns//lab/ {A}\n",
	     ":1: \"/ns//lab/\" is not a path of the tree: it has an empty component (//)"},
	    {"alice rw /ns/\001/ {A}\n",
	     ":1: \"/ns/\\x01/\" is not a path of the tree: it has a character that is not "
	     "printable"},
	    {"alice rw / *\n",
	     ":1: \"*\" is not a hash crypt(3) can check: make one with vmfs-passwd"},
	    {"alice rw / ab01234567890\n",
	     ":1: \"ab01234567890\" is a hash of an old, weak kind (DES, MD5, NT): make a bcrypt "
	     "one with vmfs-passwd"},
	    {"alice rw / $2b$04$abc\n",
	     ":1: \"$2b$04$abc\" is not a whole bcrypt hash: one has 60 characters ($2b$, "
	     "two digits of cost, $, 53 more)"},
	    {"alice ro / {A}\n# bob next\nbob ro / {B}\nalice rw /ns/lab/ {B}\n",
	     ":4: alice has another hash on line 1: a user has one password, the same hash on all "
	     "their lines"},
	    {"alice ro /ns/lab {A}\nalice rw /ns/lab/ {A}\n",
	     ":2: alice has a rule for /ns/lab/ already, on line 1"},
	    {longuser,
	     ":1: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is "
	     "not a user name: use 1 to 64 letters, digits, '.', '_' or '-'"},
	};
	char err[600], want[700];
	struct auth *a = NULL;
	size_t i;

	snprintf(longuser, sizeof longuser, "%.65s rw / {A}\n",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int r = load(bad[i].text, &a, err, sizeof err);
		snprintf(want, sizeof want, "%s%s", file, bad[i].want);
		ok(r == -EINVAL, "bad file %zu refused (%d)", i, r);
		if (r == 0)
			auth_free(a);
		is_str(err, want, "bad file %zu: the message", i);
	}
	ok(load("a-b.c_9 rw / {A}\n", &a, err, sizeof err) == 0, "a user of all the allowed kinds");
	auth_free(a);
}

static void file_errors(void)
{
	char err[600], want[700];
	struct auth *a = NULL;

	put("alice rw / {A}\n", 0620);
	ok(auth_load(file, &a, err, sizeof err) == -EACCES, "a group-writable file is refused");
	snprintf(want, sizeof want,
		 "%s: writable by its group (mode 0620), so anyone there could let themselves in: "
		 "chmod go-w it",
		 file);
	is_str(err, want, "and says why");
	put("alice rw / {A}\n", 0602);
	ok(auth_load(file, &a, err, sizeof err) == -EACCES, "an others-writable file is refused");
	ok(strstr(err, "writable by others (mode 0602)") != NULL, "and says so: %s", err);
	put("alice rw / {A}\n", 0644);
	ok(auth_load(file, &a, err, sizeof err) == 0, "0644 is fine (readable is not writable)");
	auth_free(a);
	a = NULL;
	unlink(file);
	ok(auth_load(file, &a, err, sizeof err) == -ENOENT, "a missing file: ENOENT");
	snprintf(want, sizeof want, "%s: No such file or directory", file);
	is_str(err, want, "and the message names it");
	ok(auth_load(dir, &a, err, sizeof err) == -EINVAL, "a directory is refused");
}

static void good_file(void)
{
	char err[600], norm[AUTH_PATH_MAX];
	struct auth *a = NULL;

	int r = load("# web users\r\n\r\n   \t\n  # indented comment\nalice\tro\t/\t{A}\r\n"
		     "alice rw /ns/lab {A}\n",
		     &a, err, sizeof err);
	ok(r == 0, "comments, blank lines, tabs and CRLF: loads (%s)", err);
	if (r)
		return;
	ok(auth_check(a, "alice", "apple", "/ns/lab/ctl", AUTH_WRITE, err, sizeof err) ==
	       AUTH_ALLOW,
	   "a path without its trailing slash covers the directory: %s", err);
	is_str(err, "alice may write /ns/lab/", "the rule's path, normalised");
	auth_free(a);
	ok(load("", &a, err, sizeof err) == 0, "an empty file loads");
	ok(a && auth_check(a, "alice", "apple", "/", AUTH_READ, err, sizeof err) == AUTH_NEED_LOGIN,
	   "and lets nobody in");
	auth_free(a);

	ok(auth_rule_check("bob", "ro", "/ns/lab", norm, err, sizeof err) == 0 &&
	       !strcmp(norm, "/ns/lab/"),
	   "auth_rule_check adds the slash: %s", norm);
	ok(auth_rule_check("bob", "ro", "/", norm, err, sizeof err) == 0 && !strcmp(norm, "/"),
	   "and leaves / alone");
	ok(auth_rule_check("bob", "rx", "/", norm, err, sizeof err) == -EINVAL,
	   "and refuses what the parser refuses");
}

/* A user name for a TAP line, which a newline in it would break. */
static const char *shown(const char *s)
{
	static char out[80];
	size_t i;

	if (!s)
		return "(null)";
	for (i = 0; s[i] && i < sizeof out - 1; i++)
		out[i] = s[i] < ' ' ? '?' : s[i];
	out[i] = '\0';
	return out;
}

struct want {
	const char *user, *pass, *path;
	enum auth_op op;
	enum auth_verdict v;
	const char *why;
};

static void matrix(void)
{
	static const struct want w[] = {
	    {"alice", "apple", "/ns/other/ctl", AUTH_READ, AUTH_ALLOW, "alice may read /"},
	    {"alice", "apple", "/ns/other/ctl", AUTH_WRITE, AUTH_DENY, "alice may only read /"},
	    {"alice", "apple", "/ns/lab/ctl", AUTH_WRITE, AUTH_ALLOW, "alice may write /ns/lab/"},
	    {"alice", "apple", "/ns/lab", AUTH_WRITE, AUTH_ALLOW, "alice may write /ns/lab/"},
	    {"alice", "apple", "/ns/lab/", AUTH_WRITE, AUTH_ALLOW, "alice may write /ns/lab/"},
	    {"alice", "apple", "/ns/lab2/ctl", AUTH_WRITE, AUTH_DENY, "alice may only read /"},
	    {"alice", "apple", "/ns/lab2", AUTH_WRITE, AUTH_DENY, "alice may only read /"},
	    {"alice", "apple", "/", AUTH_LIST, AUTH_ALLOW, "alice may read /"},
	    {"bob", "banana", "/ns/lab/vms/web1/info", AUTH_READ, AUTH_ALLOW,
	     "bob may write /ns/lab/vms/web1/"},
	    {"bob", "banana", "/ns/lab/vms/web1", AUTH_WRITE, AUTH_ALLOW,
	     "bob may write /ns/lab/vms/web1/"},
	    {"bob", "banana", "/ns/lab/vms/web10/info", AUTH_READ, AUTH_DENY,
	     "no rule for bob covers /ns/lab/vms/web10/info"},
	    {"bob", "banana", "/ns/lab/ctl", AUTH_WRITE, AUTH_DENY,
	     "no rule for bob covers /ns/lab/ctl"},
	    {"bob", "banana", "/", AUTH_LIST, AUTH_ALLOW,
	     "bob may list / on the way to /ns/lab/vms/web1/"},
	    {"bob", "banana", "/ns", AUTH_LIST, AUTH_ALLOW,
	     "bob may list /ns on the way to /ns/lab/vms/web1/"},
	    {"bob", "banana", "/ns/lab/", AUTH_LIST, AUTH_ALLOW,
	     "bob may list /ns/lab/ on the way to /ns/lab/vms/web1/"},
	    {"bob", "banana", "/ns/lab/vms", AUTH_LIST, AUTH_ALLOW,
	     "bob may list /ns/lab/vms on the way to /ns/lab/vms/web1/"},
	    {"bob", "banana", "/ns/lab/vms/web1/", AUTH_LIST, AUTH_ALLOW,
	     "bob may write /ns/lab/vms/web1/"},
	    {"bob", "banana", "/ns/la", AUTH_LIST, AUTH_DENY, "no rule for bob covers /ns/la"},
	    {"bob", "banana", "/ns/other/", AUTH_LIST, AUTH_DENY,
	     "no rule for bob covers /ns/other/"},
	    {"bob", "banana", "/ns/lab/", AUTH_READ, AUTH_DENY, "no rule for bob covers /ns/lab/"},
	    {"bob", "banana", "/ns/lab/vms", AUTH_WRITE, AUTH_DENY,
	     "no rule for bob covers /ns/lab/vms"},
	    {"carol", "cherry", "/ns/lab/vms/db/ctl", AUTH_WRITE, AUTH_DENY,
	     "carol may only read /ns/lab/vms/db/"},
	    {"carol", "cherry", "/ns/lab/vms/db", AUTH_WRITE, AUTH_DENY,
	     "carol may only read /ns/lab/vms/db/"},
	    {"carol", "cherry", "/ns//lab/vms/db/ctl", AUTH_WRITE, AUTH_DENY,
	     "carol may only read /ns/lab/vms/db/"},
	    {"carol", "cherry", "/ns/lab/vms/db/ctl", AUTH_READ, AUTH_ALLOW,
	     "carol may read /ns/lab/vms/db/"},
	    {"carol", "cherry", "/ns/lab/vms/dbx/ctl", AUTH_WRITE, AUTH_ALLOW, "carol may write /"},
	    {"eve", "apple", "/", AUTH_READ, AUTH_NEED_LOGIN, "no user \"eve\""},
	    {"Alice", "apple", "/", AUTH_READ, AUTH_NEED_LOGIN, "no user \"Alice\""},
	    {"e\"ve\n", "x", "/", AUTH_READ, AUTH_NEED_LOGIN, "no user \"e\\\"ve\\n\""},
	    {"alice", "apples", "/", AUTH_READ, AUTH_NEED_LOGIN, "wrong password for alice"},
	    {"alice", "banana", "/", AUTH_READ, AUTH_NEED_LOGIN, "wrong password for alice"},
	    {"alice", "", "/", AUTH_READ, AUTH_NEED_LOGIN, "wrong password for alice"},
	    {"", "apple", "/", AUTH_READ, AUTH_NEED_LOGIN, "no user name and password given"},
	    {NULL, NULL, "/", AUTH_READ, AUTH_NEED_LOGIN, "no user name and password given"},
	    {"alice", NULL, "/", AUTH_READ, AUTH_NEED_LOGIN, "no user name and password given"},
	};
	char err[600], why[300];
	struct auth *a = NULL;
	size_t i;

	int r = load("alice ro / {A}\n"
		     "alice rw /ns/lab/ {A}\n"
		     "bob rw /ns/lab/vms/web1 {B}\n"
		     "carol ro /ns/lab/vms/db/ {C}\n"
		     "carol rw / {C}\n",
		     &a, err, sizeof err);
	ok(r == 0, "the matrix's file loads (%s)", err);
	if (r)
		return;
	for (i = 0; i < sizeof w / sizeof w[0]; i++) {
		why[0] = '\0';
		enum auth_verdict v =
		    auth_check(a, w[i].user, w[i].pass, w[i].path, w[i].op, why, sizeof why);
		ok(v == w[i].v, "%s %s %s (op %d): verdict %d", shown(w[i].user),
		   w[i].pass ? w[i].pass : "(null)", w[i].path, w[i].op, v);
		is_str(why, w[i].why, "  and why");
	}
	auth_free(a);
}

static void cache(void)
{
	static char users[65][12], hashes[65][CRYPT_OUTPUT_SIZE];
	static char text[65 * 100];
	char err[600], why[300];
	struct auth *a = NULL;
	size_t i, o = 0;

	int r = load("alice ro / {A}\nbob ro / {B}\n", &a, err, sizeof err);
	ok(r == 0, "cache: loads");
	if (r)
		return;
	ok(auth_crypt_calls(a) == 0, "loading runs no crypt");
	auth_check(a, "alice", "apple", "/x", AUTH_READ, why, sizeof why);
	ok(auth_crypt_calls(a) == 1, "a first check runs crypt once");
	ok(auth_check(a, "alice", "apple", "/y", AUTH_READ, why, sizeof why) == AUTH_ALLOW &&
	       auth_crypt_calls(a) == 1,
	   "the second check of the same password does not (%lu)", auth_crypt_calls(a));
	ok(auth_check(a, "alice", "apple!", "/", AUTH_READ, why, sizeof why) == AUTH_NEED_LOGIN &&
	       auth_check(a, "alice", "apple!", "/", AUTH_READ, why, sizeof why) ==
		   AUTH_NEED_LOGIN &&
	       auth_crypt_calls(a) == 3,
	   "a wrong password runs crypt every time: failures are not cached");
	ok(auth_check(a, "bob", "apple", "/", AUTH_READ, why, sizeof why) == AUTH_NEED_LOGIN,
	   "alice's cached password does not let bob in");
	ok(auth_check(a, "bob", "banana", "/", AUTH_READ, why, sizeof why) == AUTH_ALLOW &&
	       auth_check(a, "bob", "banana", "/", AUTH_READ, why, sizeof why) == AUTH_ALLOW &&
	       auth_crypt_calls(a) == 5,
	   "bob's own is cached on its own (%lu)", auth_crypt_calls(a));
	ok(auth_check(a, "eve", "apple", "/", AUTH_READ, why, sizeof why) == AUTH_NEED_LOGIN &&
	       auth_crypt_calls(a) == 6,
	   "an unknown user costs a crypt too, so that the time does not tell who exists");
	auth_free(a);

	/* 65 users for a cache of 64: the first is pushed out by the last */
	for (i = 0; i < 65; i++) {
		snprintf(users[i], sizeof users[i], "u%zu", i);
		hash_of(users[i], hashes[i]);
		o += snprintf(text + o, sizeof text - o, "%s ro / %s\n", users[i], hashes[i]);
	}
	r = load(text, &a, err, sizeof err);
	ok(r == 0, "65 users load (%s)", err);
	if (r)
		return;
	for (i = 0; i < 64; i++)
		auth_check(a, users[i], users[i], "/", AUTH_READ, why, sizeof why);
	for (i = 0; i < 64; i++)
		auth_check(a, users[i], users[i], "/", AUTH_READ, why, sizeof why);
	ok(auth_crypt_calls(a) == 64, "64 users are all remembered (%lu)", auth_crypt_calls(a));
	auth_check(a, users[64], users[64], "/", AUTH_READ, why, sizeof why);
	auth_check(a, users[1], users[1], "/", AUTH_READ, why, sizeof why);
	ok(auth_crypt_calls(a) == 65, "a 65th replaces the oldest only (%lu)", auth_crypt_calls(a));
	ok(auth_check(a, users[0], users[0], "/", AUTH_READ, why, sizeof why) == AUTH_ALLOW &&
	       auth_crypt_calls(a) == 66,
	   "the oldest was forgotten: crypt again (%lu)", auth_crypt_calls(a));
	auth_free(a);
}

static void reload(void)
{
	char err[600], why[300];
	struct auth *a = NULL, *first;

	int r = load("alice rw / {A}\n", &a, err, sizeof err);
	ok(r == 0, "reload: loads");
	if (r)
		return;
	first = a;
	ok(auth_reload_if_changed(&a, err, sizeof err) == 0 && a == first, "unchanged: 0");
	ok(auth_check(a, "alice", "apple", "/", AUTH_WRITE, why, sizeof why) == AUTH_ALLOW,
	   "alice's password is cached");

	put("alice rw / {B}\nbob ro / {B}\n", 0600);
	ok(auth_reload_if_changed(&a, err, sizeof err) == 1, "a changed file: 1 (%s)", err);
	ok(auth_check(a, "bob", "banana", "/", AUTH_READ, why, sizeof why) == AUTH_ALLOW,
	   "the new rules hold");
	ok(auth_check(a, "alice", "apple", "/", AUTH_READ, why, sizeof why) == AUTH_NEED_LOGIN,
	   "alice's old password no longer works, cached or not: %s", why);
	ok(auth_check(a, "alice", "banana", "/", AUTH_READ, why, sizeof why) == AUTH_ALLOW,
	   "her new one does");

	put("alice rw / {B}\nbob ro /ns/../ {B}\n", 0600);
	err[0] = '\0';
	ok(auth_reload_if_changed(&a, err, sizeof err) == -EINVAL, "a broken file: -EINVAL");
	ok(strstr(err, ":2: \"/ns/../\" is not a path") != NULL, "with its line: %s", err);
	ok(auth_check(a, "bob", "banana", "/", AUTH_READ, why, sizeof why) == AUTH_ALLOW,
	   "the old rules stay");
	ok(auth_reload_if_changed(&a, err, sizeof err) == 0, "the same broken file: reported once");

	put("carol rw / {C}\n", 0600);
	ok(auth_reload_if_changed(&a, err, sizeof err) == 1, "mended: read again");
	ok(auth_check(a, "bob", "banana", "/", AUTH_READ, why, sizeof why) == AUTH_NEED_LOGIN &&
	       auth_check(a, "carol", "cherry", "/", AUTH_WRITE, why, sizeof why) == AUTH_ALLOW,
	   "bob is gone, carol is in");

	chmod(file, 0660);
	ok(auth_reload_if_changed(&a, err, sizeof err) == -EACCES,
	   "a chmod g+w is noticed (ctime) and refused");
	ok(auth_check(a, "carol", "cherry", "/", AUTH_WRITE, why, sizeof why) == AUTH_ALLOW,
	   "carol stays in");
	unlink(file);
	ok(auth_reload_if_changed(&a, err, sizeof err) == -ENOENT, "a removed file: -ENOENT");
	ok(auth_reload_if_changed(&a, err, sizeof err) == 0, "reported once");
	ok(auth_check(a, "carol", "cherry", "/", AUTH_WRITE, why, sizeof why) == AUTH_ALLOW,
	   "the last good rules stay");
	auth_free(a);
}

/* admin: rw, and the host-reaching knobs (docs/security.md) where its rule decides. */
static void admin(void)
{
	struct auth *a = NULL;
	char err[512], why[256];
	ok(load("carol admin /ns/lab/ {C}\ncarol rw /ns/lab/vms/web1/ {C}\ncarol ro / {C}\n", &a, err,
		sizeof err) == 0, "admin is an access kind (%s)", err);
	ok(auth_check(a, "carol", "cherry", "/ns/lab/ctl", AUTH_WRITE, why, sizeof why) == AUTH_ALLOW,
	   "admin may write");
	ok(auth_admin(a, "carol", "/ns/lab/containers/c/config/volume"), "admin under its path");
	ok(!auth_admin(a, "carol", "/ns/lab/vms/web1/qmp"), "not where a longer rw rule decides");
	ok(!auth_admin(a, "carol", "/ns/other/ctl"), "nor where ro decides");
	ok(!auth_admin(a, "nobody", "/ns/lab/ctl"), "nor for an unknown user");
	auth_free(a);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0); /* what passed stays visible if a check crashes */
	if (!mkdtemp(dir))
		return 1;
	snprintf(file, sizeof file, "%s/web.passwd", dir);
	snprintf(tmp, sizeof tmp, "%s/new", dir);
	hash_of("apple", HA);
	hash_of("banana", HB);
	hash_of("cherry", HC);
	ok(!strncmp(HA, "$2b$04$", 7) && strlen(HA) == 60, "a bcrypt hash to test with: %s", HA);

	parse_errors();
	file_errors();
	good_file();
	admin();
	matrix();
	cache();
	reload();

	unlink(file);
	unlink(tmp);
	rmdir(dir);
	return tap_done();
}
