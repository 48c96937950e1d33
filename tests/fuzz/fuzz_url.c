/* libFuzzer target for the HTTP door's URL paths (web/path.c), the names a request walks in
 * the tree. Built and run by `make fuzz` and tests/fuzz/run. What it takes must never climb:
 * no "." or "..", no empty name, no '/', and the names joined give the path back (with its
 * runs of '/' made one). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t buflens[] = {1, 2, 8, 4096};
	static const int maxes[] = {0, 1, 3, 128};
	char *path, *buf, *comp[128], *joined;
	if (!size)
		return 0;
	size_t buflen = buflens[data[0] & 3];
	int max = maxes[(data[0] >> 2) & 3];
	path = malloc(size);
	buf = malloc(buflen);
	joined = malloc(size + 1);
	if (!path || !buf || !joined)
		goto out;
	memcpy(path, data + 1, size - 1);
	path[size - 1] = 0;
	int n = web_path_split(path, buf, buflen, comp, max);
	if (n < 0) {
		if (n != -EINVAL && n != -EACCES)
			abort();
		goto out;
	}
	if (n > max || path[0] != '/')
		abort();
	size_t o = 0;
	for (int i = 0; i < n; i++) {
		if (!*comp[i] || strchr(comp[i], '/') || !strcmp(comp[i], ".") || !strcmp(comp[i], ".."))
			abort();
		size_t l = strlen(comp[i]);
		joined[o++] = '/';
		memcpy(joined + o, comp[i], l);
		o += l;
	}
	joined[o] = 0;
	/* the path with its runs of '/' made one and a last '/' dropped */
	size_t k = 0;
	for (size_t i = 0; path[i]; i++)
		if (path[i] != '/' || (path[i + 1] && path[i + 1] != '/'))
			path[k++] = path[i];
	path[k] = 0;
	if (strcmp(path, joined))
		abort();
out:
	free(path);
	free(buf);
	free(joined);
	return 0;
}
