/* web/path.c: the names a URL's path walks in the tree; "." and ".." never climb. */
#include <errno.h>

#include "tests/unit/tap.h"
#include "web/path.h"

static void names(const char *path, int want_n, const char *want_joined)
{
	char buf[64], *comp[4], joined[128] = "";
	int n = web_path_split(path, buf, sizeof(buf), comp, 4);
	for (int i = 0; i < n; i++)
		snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "[%s]", comp[i]);
	ok(n == want_n, "%s: %d names (got %d)", path, want_n, n);
	if (n >= 0)
		is_str(joined, want_joined, "%s: the names", path);
}

int main(void)
{
	names("/", 0, "");
	names("/ns/default/vms", 3, "[ns][default][vms]");
	names("//ns///default/", 2, "[ns][default]");
	names("/ns/../etc", -EACCES, NULL);
	names("/ns/./x", -EACCES, NULL);
	names("/..", -EACCES, NULL);
	names("/ns/..x/...", 3, "[ns][..x][...]");
	names("ns/default", -EINVAL, NULL);
	names("", -EINVAL, NULL);
	names("/a/b/c/d/e", -EACCES, NULL);
	char longp[100];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[99] = 0;
	names(longp, -EINVAL, NULL);
	return tap_done();
}
