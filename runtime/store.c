/* The state directory's formats. Each namespace is state/ns/NAME/ with ns.conf; each object
 * is state/ns/NAME/{vms,containers}/OBJ/ with config and log. Files are "key=value" lines,
 * written atomically (temp file, fsync, rename), so a kill -9 at any moment leaves either
 * the old or the new file, never a mix. */
#include "runtime/store.h"

#include <stdio.h>
#include <string.h>

void store_kv(struct sbuf *b, const char *key, const char *value)
{
	sb_printf(b, "%s=%s\n", key, value);
}

int store_parse(char *text, int (*fn)(const char *key, const char *value, void *arg), void *arg)
{
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq || line[0] == '#')
			continue;
		*eq = 0;
		int r = fn(line, eq + 1, arg);
		if (r)
			return r;
	}
	return 0;
}

void store_params(struct sbuf *b, const char *prefix, char *const *cfg)
{
	for (size_t i = 0; i < nparams; i++)
		if (cfg[i]) {
			char key[96];
			snprintf(key, sizeof(key), "%s%s", prefix, params[i].name);
			store_kv(b, key, cfg[i]);
		}
}
