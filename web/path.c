#include "web/path.h"

#include <errno.h>
#include <string.h>

int web_path_split(const char *path, char *buf, size_t buflen, char **comp, int max)
{
	char *save = NULL;
	int n = 0;
	size_t len = strlen(path);
	if (len >= buflen || path[0] != '/')
		return -EINVAL;
	memcpy(buf, path, len + 1);
	for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, ".") || !strcmp(c, "..") || n == max)
			return -EACCES;
		comp[n++] = c;
	}
	return n;
}
