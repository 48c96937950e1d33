/* libFuzzer target for vmfs.conf (conf/conf.c through inih): the whole file from memory.
 * Built and run by `make fuzz` and tests/fuzz/run. Whatever the parser takes must hold what
 * vmfs relies on after it; whatever it refuses must say FILE:LINE (or FILE: for the file). */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

static void check_path(const char *p, bool may_be_empty)
{
	if (!*p) {
		if (!may_be_empty)
			abort();
		return;
	}
	if (p[0] != '/' || strlen(p) > CONF_PATH_MAX)
		abort();
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmfs_conf c;
	char err[512];
	if (conf_defaults(&c))
		return 0;
	err[0] = 0;
	int r = conf_parse(&c, (const char *)data, size, "fuzz.conf", "/etc/vmfs", err, sizeof(err));
	if (r) {
		/* "fuzz.conf:LINE: reason" */
		const char *p = err + strlen("fuzz.conf:");
		if (strncmp(err, "fuzz.conf:", 10) || !isdigit((unsigned char)*p))
			abort();
	} else {
		check_path(c.state, false);
		check_path(c.mountpoint, true);
		check_path(c.images, true);
		check_path(c.web_passwd, true);
		check_path(c.web_cert, true);
		check_path(c.web_key, true);
		check_path(c.web_ui, true);
		if (strlen(c.uplink) > 15 || strchr(c.uplink, '/'))
			abort();
		if (*c.web && !strchr(c.web, ':'))
			abort();
	}
	conf_free(&c);
	return 0;
}
