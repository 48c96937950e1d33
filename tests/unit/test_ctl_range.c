/* ctl/: name_check and range_expand. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "tests/unit/tap.h"

/* want: NULL = must succeed; "~text" = must fail with text somewhere in the message;
 * anything else = must fail with exactly that message. */
static void expect(int rc, const char *err, const char *want, const char *what)
{
	if (!want) {
		ok(rc == 0, "%s: accepted", what);
		if (rc)
			printf("#   error: %s\n", err);
	} else if (want[0] == '~') {
		ok(rc == -EINVAL && strstr(err, want + 1), "%s: refused (%s)", what, want + 1);
		if (rc != -EINVAL || !strstr(err, want + 1))
			printf("#   rc %d, error: %s\n", rc, err);
	} else {
		ok(rc == -EINVAL, "%s: refused", what);
		is_str(err, want, "%s: message", what);
	}
}

/* Test labels go into TAP lines: no raw control characters there. */
static const char *label(const char *s)
{
	static char buf[4][96];
	static int k;
	char *b = buf[k++ % 4];
	size_t i;

	for (i = 0; s && s[i] && i < sizeof buf[0] - 1; i++)
		b[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	b[i] = '\0';
	return b;
}

static char *repeat(char c, size_t n)
{
	static char buf[4][300];
	static int k;
	char *b = buf[k++ % 4];

	memset(b, c, n);
	b[n] = '\0';
	return b;
}

static void test_names(void)
{
	char name63[64], name64[65], err[256];
	static const struct {
		const char *name, *want;
	} cases[] = {
	    {"a", NULL},
	    {"web1", NULL},
	    {"0", NULL},
	    {"9lives", NULL},
	    {"A.b_c-d", NULL},
	    {"x-", NULL},
	    {"a..b", NULL},
	    {"All", NULL},
	    {"all1", NULL},
	    {"allx", NULL},
	    {"", "a name cannot be empty: use 1 to 63 letters, digits, '.', '_' or '-'"},
	    {"all", "\"all\" is reserved (it means every VM and container): choose another name"},
	    {"-web", "\"-web\" starts with '-': a name starts with a letter or a digit"},
	    {".web", "~starts with '.'"},
	    {"_web", "~starts with '_'"},
	    {"we b", "\"we b\" contains ' ': names use only letters, digits, '.', '_' and '-'"},
	    {"a/b", "~contains '/'"},
	    {"a:b", "~contains ':'"},
	    {"a[1]", "~contains '['"},
	    {"a\nb", "\"a\\nb\" contains '\\n': names use only letters, digits, '.', '_' and '-'"},
	    {"a\x01", "~contains '\\x01'"},
	    {"caf\xc3\xa9", "~contains '\\xc3'"},
	    {"a\"b",
	     "\"a\\\"b\" contains '\\\"': names use only letters, digits, '.', '_' and '-'"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		err[0] = '\0';
		expect(name_check(cases[i].name, err, sizeof err), err, cases[i].want,
		       label(cases[i].name));
	}
	memset(name63, 'a', 63);
	name63[63] = '\0';
	memset(name64, 'b', 64);
	name64[64] = '\0';
	ok(name_check(name63, err, sizeof err) == 0, "63-byte name accepted");
	ok(name_check(name64, err, sizeof err) == -EINVAL, "64-byte name refused");
	ok(strstr(err, "is too long (64 bytes): names are at most 63 bytes") != NULL,
	   "64-byte name: message (%s)", err);
	ok(strstr(err, name64) != NULL, "64-byte name: quoted whole");
	ok(name_check(NULL, err, sizeof err) == -EINVAL, "NULL name refused");
	/* The message is cut to errlen, and a NULL err is fine. */
	ok(name_check("-web", err, 5) == -EINVAL && strcmp(err, "\"-we") == 0,
	   "message truncated to errlen");
	ok(name_check("-web", NULL, 0) == -EINVAL, "NULL err buffer");
	ok(name_check("-web", err, 1) == -EINVAL && err[0] == '\0', "errlen 1");
}

/* want: the names joined by spaces, or NULL when the spec must be refused. */
static const struct {
	const char *spec, *names, *err;
} range_cases[] = {
    {"a", "a", NULL},
    {"a,b,c", "a b c", NULL},
    {"web[1-3]", "web1 web2 web3", NULL},
    {"web[01-10]", "web01 web02 web03 web04 web05 web06 web07 web08 web09 web10", NULL},
    {"web[8-12]", "web8 web9 web10 web11 web12", NULL},
    {"web[0-2]", "web0 web1 web2", NULL},
    {"web[001-3]", "web001 web002 web003", NULL},
    {"web[08-11]", "web08 web09 web10 web11", NULL},
    {"web[98-101]", "web98 web99 web100 web101", NULL},
    {"x[1-3,7]", "x1 x2 x3 x7", NULL},
    {"x[7,1-2]", "x7 x1 x2", NULL},
    {"db[1-3],extra", "db1 db2 db3 extra", NULL},
    {"extra,db[1-2]", "extra db1 db2", NULL},
    {"n[a,b]", "na nb", NULL},
    {"n[a-b]", "na-b", NULL},
    {"web[1-2]-x", "web1-x web2-x", NULL},
    {"[1-3]", "1 2 3", NULL},
    {"x[7]", "x7", NULL},
    {"x[007]", "x007", NULL},
    {"x[5-5]", "x5", NULL},
    {"a[1-2],b[1-2]", "a1 a2 b1 b2", NULL},
    {"", NULL, "no names given: write a name or a range such as web[1-10]"},
    {"a,b,a", NULL, "a,b,a: \"a\" is named more than once"},
    {"web[1-3],web2", NULL, "web[1-3],web2: \"web2\" is named more than once"},
    {"x[1,1]", NULL, "~\"x1\" is named more than once"},
    {"x[1-3,2-4]", NULL, "~\"x2\" is named more than once"},
    {"x[01-2],x1", NULL, NULL}, /* x01 and x1 differ */
    {"a,,b", NULL, "a,,b: there is an empty name between commas"},
    {",a", NULL, "~empty name between commas"},
    {"a,", NULL, "~empty name between commas"},
    {",", NULL, "~empty name between commas"},
    {"web[5-1]", NULL, "web[5-1]: the range runs backwards (5 > 1)"},
    {"x[1-3,9-7]", NULL, "x[1-3,9-7]: the range runs backwards (9 > 7)"},
    {"x[1-100001]", NULL, "x[1-100001]: the range holds 100001 names, more than 100000"},
    {"x[0-99999999999999999]", NULL, "~more than 100000"},
    {"x[1-99999999999999999999]", NULL,
     "x[1-99999999999999999999]: a number in the range is too large"},
    {"x[1-60000],y[1-60000]", NULL,
     "x[1-60000],y[1-60000]: this expands to more than 100000 names"},
    {"x[[1-2]]", NULL, "x[[1-2]]: brackets cannot be nested"},
    {"x[1,[2]]", NULL, "~brackets cannot be nested"},
    {"x[1-3", NULL, "x[1-3: the '[' is never closed"},
    {"x[1-3,y", NULL, "~never closed"},
    {"x]", NULL, "x]: ']' without a '[' before it"},
    {"x]1[", NULL, "~']' without a '['"},
    {"a[1-2]b[3-4]", NULL, "a[1-2]b[3-4]: only one [...] group per name is supported"},
    {"a[1]]", NULL, "~only one [...] group"},
    {"x[]", NULL, "x[]: there is nothing between the brackets"},
    {"x[1,,2]", NULL, "x[1,,2]: an item in the brackets is empty"},
    {"x[1,]", NULL, "~an item in the brackets is empty"},
    {"x[1-b]", NULL,
     "x[1-b]: \"1-b\" is not a range: write LO-HI with whole numbers, as in web[1-10]"},
    {"x[1-]", NULL, "~\"1-\" is not a range"},
    {"x[1-2-3]", NULL, "~\"1-2-3\" is not a range"},
    {"all", NULL, "\"all\" is reserved (it means every VM and container): choose another name"},
    {"a[ll]", NULL, "~\"all\" is reserved"},
    {"web[1-3]!", NULL, "\"web1!\" contains '!': names use only letters, digits, '.', '_' and '-'"},
    {"-x[1-2]", NULL, "\"-x1\" starts with '-': a name starts with a letter or a digit"},
    {"x y", NULL, "~contains ' '"},
    {"x[1-2]\n", NULL, "~contains '\\n'"},
};

static void join(char **names, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (; names && *names && o < len; names++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? " " : "", *names);
}

static void test_ranges(void)
{
	char err[256], got[512], **names;
	size_t i, count;
	int rc;

	for (i = 0; i < sizeof range_cases / sizeof range_cases[0]; i++) {
		const char *spec = label(range_cases[i].spec);
		names = (char **)1;
		count = 99;
		err[0] = '\0';
		rc = range_expand(range_cases[i].spec, &names, &count, err, sizeof err);
		if (range_cases[i].names) {
			join(names, got, sizeof got);
			ok(rc == 0, "range %s: accepted", spec);
			is_str(got, range_cases[i].names, "range %s: names", spec);
			ok(names && names[count] == NULL, "range %s: NULL-terminated, count %zu",
			   spec, count);
		} else if (range_cases[i].err) {
			expect(rc, err, range_cases[i].err, spec);
			ok(names == NULL && count == 0, "range %s: no names on failure", spec);
		} else {
			ok(rc == 0, "range %s: accepted (%s)", spec, err);
		}
		range_free(rc ? NULL : names);
	}
}

static void test_range_limits(void)
{
	char err[256], spec[200], **names = NULL;
	size_t count = 0;
	int rc;

	rc = range_expand("x[1-100000]", &names, &count, err, sizeof err);
	ok(rc == 0 && count == RANGE_MAX, "x[1-100000]: exactly RANGE_MAX names");
	ok(names && strcmp(names[0], "x1") == 0 && strcmp(names[count - 1], "x100000") == 0,
	   "x[1-100000]: first and last");
	range_free(names);

	rc = range_expand("web[01-100]", &names, &count, err, sizeof err);
	ok(rc == 0 && count == 100 && !strcmp(names[0], "web01") && !strcmp(names[99], "web100"),
	   "web[01-100]: keeps width 2, grows past it");
	range_free(names);

	snprintf(spec, sizeof spec, "%s[1-9]", repeat('a', 62));
	rc = range_expand(spec, &names, &count, err, sizeof err);
	ok(rc == 0 && count == 9, "62-byte prefix + one digit fits");
	range_free(names);

	snprintf(spec, sizeof spec, "%s[1-10]", repeat('a', 62));
	rc = range_expand(spec, &names, &count, err, sizeof err);
	ok(rc == -EINVAL && strstr(err, "is too long (64 bytes)"),
	   "62-byte prefix + 10 too long (%s)", err);

	snprintf(spec, sizeof spec, "x[%s1-2]", repeat('0', 70));
	rc = range_expand(spec, &names, &count, err, sizeof err);
	ok(rc == -EINVAL && strstr(err, "padded numbers are longer"), "absurd padding refused (%s)",
	   err);

	snprintf(spec, sizeof spec, "%s,%s", repeat('b', 150), "c");
	rc = range_expand(spec, &names, &count, err, sizeof err);
	ok(rc == -EINVAL && strstr(err, "is too long (150 bytes)") && strstr(err, "...\""),
	   "long name quoted short (%s)", err);

	rc = range_expand(NULL, &names, &count, err, sizeof err);
	ok(rc == -EINVAL && names == NULL, "NULL spec refused");
	range_free(NULL);
	ok(1, "range_free(NULL)");
}

int main(void)
{
	test_names();
	test_ranges();
	test_range_limits();
	return tap_done();
}
