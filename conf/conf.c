#include "conf/conf.h"

#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

static int set_str(char **field, const char *value)
{
	char *v = strdup(value);
	if (!v)
		return -ENOMEM;
	free(*field);
	*field = v;
	return 0;
}

static int set_bool(bool *field, const char *value, char *err, size_t errlen)
{
	return value_bool(value, field, err, errlen);
}

#define CONF_SET_str(field, value, err, errlen) set_str(&(field), value)
#define CONF_SET_bool(field, value, err, errlen) set_bool(&(field), value, err, errlen)

int conf_set(struct vmfs_conf *c, const char *section, const char *key, const char *value,
	     char *err, size_t errlen)
{
#define CONF_MATCH(sec, k, type, def, help)                                                        \
	if (!strcmp(section, #sec) && !strcmp(key, #k))                                            \
		return CONF_SET_##type(c->k, value, err, errlen);
	VMFS_CONF_KEYS(CONF_MATCH)
#undef CONF_MATCH
	if (!*section)
		snprintf(err, errlen, "%s is outside any section (keys belong under [vmfs])", key);
	else
		snprintf(err, errlen, "unknown key \"%s\" in [%s]", key, section);
	return -EINVAL;
}

int conf_defaults(struct vmfs_conf *c)
{
	char err[128];
	memset(c, 0, sizeof(*c));
#define CONF_DEF(sec, k, type, def, help)                                                          \
	if (CONF_SET_##type(c->k, def, err, sizeof(err)))                                          \
		return -ENOMEM;
	VMFS_CONF_KEYS(CONF_DEF)
#undef CONF_DEF
	return 0;
}

struct conf_parse {
	struct vmfs_conf *c;
	char err[256];
	bool failed;
};

static int conf_handler(void *user, const char *section, const char *key, const char *value)
{
	struct conf_parse *p = user;
	if (p->failed)
		return 0;
	if (conf_set(p->c, section, key, value, p->err, sizeof(p->err))) {
		p->failed = true;
		return 0; /* inih then reports this line's number */
	}
	return 1;
}

int conf_load(struct vmfs_conf *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	/* inih cuts a longer line and reads the rest as a line of its own ("unknown key"):
	 * say so instead */
	char buf[4096];
	for (int n = 1; fgets(buf, sizeof(buf), f); n++)
		if (strcspn(buf, "\n") > INI_MAX_LINE - 2) {
			fclose(f);
			snprintf(err, errlen, "%s:%d: the line is longer than %d bytes, the most the INI "
				 "reader takes", path, n, INI_MAX_LINE - 2);
			return -EINVAL;
		}
	rewind(f);
	struct conf_parse p = {.c = c};
	int line = ini_parse_file(f, conf_handler, &p);
	fclose(f);
	if (line == 0)
		return set_str(&c->path, path);
	if (line < 0) {
		snprintf(err, errlen, "%s: cannot read the file", path);
		return -EIO;
	}
	if (p.failed)
		snprintf(err, errlen, "%s:%d: %s", path, line, p.err);
	else
		snprintf(err, errlen, "%s:%d: not an INI line (expected [section] or key = value)",
			 path, line);
	return -EINVAL;
}

void conf_free(struct vmfs_conf *c)
{
#define CONF_FREE_str(field) free(field)
#define CONF_FREE_bool(field)
#define CONF_FREE(sec, k, type, def, help) CONF_FREE_##type(c->k);
	VMFS_CONF_KEYS(CONF_FREE)
#undef CONF_FREE
	free(c->path);
}

void conf_usage(FILE *out)
{
#define CONF_USAGE(sec, k, type, def, help)                                                        \
	fprintf(out, "  [%s] %-12s %s (default: %s)\n", #sec, #k, help, *def ? def : "none");
	VMFS_CONF_KEYS(CONF_USAGE)
#undef CONF_USAGE
}
