/* A `config` command's args (cluster/ccmd.h): one word, `cfg.NAME=VALUE`, the value escaped
 * as a create's. Pure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/ccmd.h"
#include "ctl/params.h"

void cconfig_args(int param, const char *value, struct sbuf *out)
{
	sb_printf(out, "cfg.%s=", params[param].name);
	cargs_escape(out, value);
}

void cconfig_free(struct cconfig *cf)
{
	free(cf->value);
	cf->value = NULL;
	cf->param = -1;
}

int cconfig_read(const char *args, struct cconfig *cf, char *why, size_t whylen)
{
	cf->param = -1;
	cf->value = NULL;
	const char *p = args ? args : "";
	size_t l = strcspn(p, " ");
	const char *eq = memchr(p, '=', l);
	if (p[l] || !eq || eq - p <= 4 || memcmp(p, "cfg.", 4)) {
		snprintf(why, whylen, "a config command's args are one word cfg.NAME=VALUE");
		return -EINVAL;
	}
	char name[64];
	size_t nl = (size_t)(eq - p) - 4;
	snprintf(name, sizeof(name), "%.*s", (int)(nl < 63 ? nl : 63), p + 4);
	int i = nl < 63 ? param_index(name) : -1;
	if (i < 0) {
		snprintf(why, whylen, "cfg.%s is no parameter of this vmfs", name);
		return -EINVAL;
	}
	char *v = cargs_unescape(eq + 1, l - (size_t)(eq + 1 - p), why, whylen);
	if (!v)
		return -EINVAL;
	if (strlen(v) > param_max_len(&params[i])) {
		snprintf(why, whylen, "cfg.%s: a value of %zu bytes, longer than it takes (%zu)",
			 name, strlen(v), param_max_len(&params[i]));
		free(v);
		return -EINVAL;
	}
	cf->param = i;
	cf->value = v;
	return 0;
}
