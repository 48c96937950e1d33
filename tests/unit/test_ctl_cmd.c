/* ctl/: ctl_split, ctl_lookup, ctl_glob. */
#include <errno.h>
#include <string.h>

#include "ctl/ctl.h"
#include "tests/unit/tap.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* words: the expected words joined by '|' ("" for none), or NULL if the line is refused,
 * in which case err is the exact message. */
static const struct {
	const char *line;
	int maxargs;
	const char *words, *err;
} split_cases[] = {
    {"start web1", 8, "start|web1", NULL},
    {"  start\t web1  ", 8, "start|web1", NULL},
    {"", 8, "", NULL},
    {"   \t ", 8, "", NULL},
    {"start", 8, "start", NULL},
    {"launch kvm 'my vm'", 8, "launch|kvm|my vm", NULL},
    {"say \"a b\" c", 8, "say|a b|c", NULL},
    {"say \"a\tb\"", 8, "say|a\tb", NULL},
    {"a'b c'd", 8, "ab cd", NULL},
    {"''", 8, "", NULL}, /* one empty word: checked below */
    {"a \"\" b", 8, "a||b", NULL},
    {"'it''s'", 8, "its", NULL},
    {"\"it's\"", 8, "it's", NULL},
    {"'say \"hi\"'", 8, "say \"hi\"", NULL},
    {"a\\ b", 8, "a\\|b", NULL}, /* no backslash escapes */
    {"a b", 2, "a|b", NULL},
    {"'unterminated", 8, NULL, "the ' quote at byte 1 is never closed"},
    {"a \"b", 8, NULL, "the \" quote at byte 3 is never closed"},
    {"a 'b' 'c", 8, NULL, "the ' quote at byte 7 is never closed"},
    {"a b c", 2, NULL, "too many words: a command has at most 2"},
    {"a", 0, NULL, "too many words: a command has at most 0"},
};

static void test_split(void)
{
	char line[128], err[256], got[256], *argv[8];
	size_t i, o;
	int n, k;

	for (i = 0; i < N(split_cases); i++) {
		snprintf(line, sizeof line, "%s", split_cases[i].line);
		err[0] = '\0';
		n = ctl_split(line, argv, split_cases[i].maxargs, err, sizeof err);
		if (!split_cases[i].words) {
			ok(n == -EINVAL, "split [%s]: refused", split_cases[i].line);
			is_str(err, split_cases[i].err, "split [%s]: message", split_cases[i].line);
			continue;
		}
		got[0] = '\0';
		for (k = 0, o = 0; k < n && k < 8; k++)
			o += (size_t)snprintf(got + o, sizeof got - o, "%s%s", k ? "|" : "",
					      argv[k]);
		ok(n >= 0, "split [%s]: %d words", split_cases[i].line, n);
		is_str(got, split_cases[i].words, "split [%s]: words", split_cases[i].line);
	}
	snprintf(line, sizeof line, "''");
	ok(ctl_split(line, argv, 8, err, sizeof err) == 1 && argv[0][0] == '\0',
	   "split '': one empty word");
	snprintf(line, sizeof line, "x \"\"");
	ok(ctl_split(line, argv, 8, err, sizeof err) == 2 && argv[1][0] == '\0',
	   "split x \"\": an empty second word");
	ok(ctl_split(NULL, argv, 8, err, sizeof err) == 0, "split NULL: no words");
}

enum { C_START, C_KILL, C_LAUNCH, C_COMMIT, C_TAG };
static const struct ctl_cmd cmds[] = {
    {"start", C_START, 0, 0, "start"},
    {"kill", C_KILL, 0, 1, "kill [SIGNAL]"},
    {"launch", C_LAUNCH, 2, 4, "launch kvm|container NAMES [like NAME]"},
    {"commit", C_COMMIT, 1, 1, "commit IMAGE"},
    {"tag", C_TAG, 1, -1, "tag KEY=VALUE..."},
};

/* id: the command expected, or -1 with err the exact message. */
static const struct {
	const char *line;
	int id;
	const char *err;
} lookup_cases[] = {
    {"start", C_START, NULL},
    {"kill", C_KILL, NULL},
    {"kill 9", C_KILL, NULL},
    {"launch kvm web[1-3]", C_LAUNCH, NULL},
    {"launch kvm web1 like web0", C_LAUNCH, NULL},
    {"commit img", C_COMMIT, NULL},
    {"tag a=1", C_TAG, NULL},
    {"tag a=1 b=2 c=3 d=4 e=5 f=6", C_TAG, NULL},
    {"start x", -1, "\"start\" takes no arguments, not 1; usage: start"},
    {"kill 9 x", -1, "\"kill\" takes at most 1 argument, not 2; usage: kill [SIGNAL]"},
    {"launch kvm", -1,
     "\"launch\" needs at least 2 arguments, not 1; usage: launch kvm|container NAMES [like "
     "NAME]"},
    {"launch kvm a like b c", -1,
     "\"launch\" takes at most 4 arguments, not 5; usage: launch kvm|container NAMES [like "
     "NAME]"},
    {"commit", -1, "\"commit\" needs 1 argument, not 0; usage: commit IMAGE"},
    {"commit a b", -1, "\"commit\" takes 1 argument, not 2; usage: commit IMAGE"},
    {"tag", -1, "\"tag\" needs at least 1 argument, not 0; usage: tag KEY=VALUE..."},
    {"frob", -1, "unknown command \"frob\": use one of start, kill, launch, commit, tag"},
    {"START", -1, "~unknown command \"START\""},
    {"''", -1, "empty command: use one of start, kill, launch, commit, tag"},
    {"", -1, "empty command: use one of start, kill, launch, commit, tag"},
};

static void test_lookup(void)
{
	char line[128], err[256], *argv[8];
	const struct ctl_cmd *c;
	size_t i;
	int argc;

	for (i = 0; i < N(lookup_cases); i++) {
		snprintf(line, sizeof line, "%s", lookup_cases[i].line);
		argc = ctl_split(line, argv, 8, err, sizeof err);
		err[0] = '\0';
		c = ctl_lookup(cmds, N(cmds), argc, argv, err, sizeof err);
		if (lookup_cases[i].id >= 0) {
			ok(c && c->id == lookup_cases[i].id, "lookup [%s]: found",
			   lookup_cases[i].line);
			if (!c)
				printf("#   error: %s\n", err);
		} else if (lookup_cases[i].err[0] == '~') {
			ok(!c && strstr(err, lookup_cases[i].err + 1), "lookup [%s]: refused (%s)",
			   lookup_cases[i].line, err);
		} else {
			ok(!c, "lookup [%s]: refused", lookup_cases[i].line);
			is_str(err, lookup_cases[i].err, "lookup [%s]: message",
			       lookup_cases[i].line);
		}
	}
	ok(!ctl_lookup(cmds, N(cmds), 0, NULL, err, sizeof err), "lookup: argc 0, argv NULL");
	ok(!ctl_lookup(NULL, 0, 1, argv, err, sizeof err) &&
	       !strcmp(err, "empty command: use one of "),
	   "lookup: empty table (%s)", err);
	argv[0] = "a\nb";
	ok(!ctl_lookup(cmds, N(cmds), 1, argv, err, sizeof err) && strstr(err, "\"a\\nb\""),
	   "lookup: the unknown word is escaped");
	ok(!ctl_lookup(cmds, N(cmds), 1, argv, err, 12) && strlen(err) == 11,
	   "lookup: message cut to errlen");
}

static void test_glob(void)
{
	static const struct {
		const char *pattern, *name;
		bool match;
	} cases[] = {
	    {"web*", "web1", true},
	    {"web*", "web", true},
	    {"web*", "db1", false},
	    {"web?", "web1", true},
	    {"web?", "web10", false},
	    {"web[12]", "web2", true},
	    {"web[12]", "web3", false},
	    {"web[1-3]", "web2", true},
	    {"web[!1]", "web1", false},
	    {"*", "anything", true},
	    {"*", ".hidden", true},
	    {"web1", "web1", true},
	    {"web1", "web10", false},
	    {"\\*", "*", true},
	    {"\\*", "a", false},
	    {"*.lab", "a.b.lab", true},
	    {"", "", true},
	    {"", "a", false},
	    /* glibc takes an unclosed [ literally. */
	    {"[", "[", true},
	    {"*[", "a[", true},
	    {"a*b*c", "aXbYc", true},
	};
	size_t i;

	for (i = 0; i < N(cases); i++)
		ok(ctl_glob(cases[i].pattern, cases[i].name) == cases[i].match, "glob %s %s %s",
		   cases[i].pattern, cases[i].match ? "matches" : "does not match", cases[i].name);
	ok(!ctl_glob(NULL, "a") && !ctl_glob("a", NULL), "glob NULL");
}

int main(void)
{
	test_split();
	test_lookup();
	test_glob();
	return tap_done();
}
