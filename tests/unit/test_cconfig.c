/* cluster/ccmd_cfgargs.c: a `config` command's args, written by a head and read by a member
 * as peer input: one word cfg.NAME=VALUE, a parameter this vmfs has, a value no longer than
 * it takes, escapes that cannot hide a NUL nor split the word. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/ccmd.h"
#include "ctl/params.h"
#include "tests/unit/tap.h"

static void round_trip(const char *param, const char *value)
{
	struct sbuf b = {0};
	struct cconfig cf;
	char why[256] = "";
	int i = param_index(param);
	cconfig_args(i, value, &b);
	ok(!b.oom && !strchr(b.p, ' ') && !strchr(b.p, '\n'), "%s: one word (%s)", param, b.p);
	ok(!cconfig_read(b.p, &cf, why, sizeof(why)) && cf.param == i, "%s reads back (%s)",
	   param, why);
	is_str(cf.value ? cf.value : "(null)", value, "%s: the value as written", param);
	cconfig_free(&cf);
	sb_free(&b);
}

int main(void)
{
	round_trip("memory", "512M");
	round_trip("disk", "a b.img,virtio %x");
	round_trip("tags", "");
	round_trip("append", "console=ttyS0\tquiet\x7f\xc3\xa9");

	char *big = malloc(PARAM_LIST_MAX * 2);
	memset(big, 'a', PARAM_LIST_MAX * 2 - 1);
	big[PARAM_LIST_MAX * 2 - 1] = 0;
	memcpy(big, "cfg.memory=", 11);
	const struct {
		const char *args, *why;
	} bad[] = {
	    {"", "one word"},
	    {"memory=1", "one word"},
	    {"cfg.=1", "one word"},
	    {"cfg.memory", "one word"},
	    {"cfg.memory=1 cfg.vcpus=2", "one word"},
	    {"cfg.memory=1 ", "one word"},
	    {"cfg.nosuch=1", "no parameter"},
	    {"cfg.memory=%00", "escape"},
	    {"cfg.memory=%4", "escape"},
	    {"cfg.memory=%zz", "escape"},
	    {big, "longer than it takes"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cconfig cf;
		char why[256] = "";
		ok(cconfig_read(bad[i].args, &cf, why, sizeof(why)) == -EINVAL &&
		       strstr(why, bad[i].why) && !cf.value && cf.param == -1,
		   "refused: %.40s (%s)", bad[i].args, why);
	}
	struct cconfig cf;
	char why[256];
	ok(cconfig_read(NULL, &cf, why, sizeof(why)) == -EINVAL, "no args: refused");
	free(big);
	return tap_done();
}
