/* libFuzzer target for ctl/: every parser gets the same input. Built and run by `make fuzz`
 * and tests/fuzz/run (build/fuzz/fuzz_ctl).
 * The first byte picks the error buffer size, so that truncation is exercised too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/params.h"

static const struct ctl_cmd cmds[] = {
    {"start", 0, 0, 0, "start"},
    {"kill", 1, 0, 1, "kill [SIGNAL]"},
    {"launch", 2, 2, 4, "launch kvm|container NAMES [like NAME]"},
    {"tag", 3, 1, -1, "tag KEY=VALUE..."},
};

static int count_path(const char *path, void *arg)
{
	(*(size_t *)arg) += strlen(path);
	return 0;
}

static void fuzz_split(const char *s, size_t n, char *err, size_t errlen)
{
	char *line = malloc(n + 1), *argv[16];
	int argc, i;

	if (!line)
		return;
	memcpy(line, s, n + 1);
	argc = ctl_split(line, argv, 16, err, errlen);
	if (argc >= 0) {
		ctl_lookup(cmds, sizeof cmds / sizeof cmds[0], argc, argv, err, errlen);
		for (i = 0; i < argc; i++)
			ctl_glob(argv[i], "web10");
	}
	free(line);
}

static void fuzz_values(const char *s, char *err, size_t errlen)
{
	struct nic_spec nic;
	uint64_t bytes;
	long v, lo, hi;
	bool b;

	name_check(s, err, errlen);
	value_size(s, &bytes, err, errlen);
	value_count(s, -100, 100, &v, err, errlen);
	value_bool(s, &b, err, errlen);
	value_nic(s, &nic, err, errlen);
	value_net(s, err, errlen);
	value_volumes(s, err, errlen);
	value_tags(s, err, errlen);
	value_uuid(s, err, errlen);
	value_vlan_range(s, &lo, &hi, err, errlen);
	ctl_glob(s, "web10");
	ctl_glob("web*", s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t errlens[] = {0, 1, 2, 7, 16, 80, 256, 1024};
	char *s, **names, *err;
	size_t n, count, i, sum = 0, errlen;

	if (size == 0)
		return 0;
	errlen = errlens[data[0] % 8];
	s = malloc(size);
	err = malloc(errlen ? errlen : 1);
	if (!s || !err)
		goto out;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	n = strlen(s);
	if (range_expand(s, &names, &count, err, errlen) == 0)
		range_free(names);
	fuzz_values(s, err, errlen);
	fuzz_split(s, n, err, errlen);
	for (i = 0; i < nparams; i++)
		if (param_check(&params[i], s, err, errlen) == 0)
			param_paths(&params[i], s, count_path, &sum);
out:
	free(s);
	free(err);
	return 0;
}
