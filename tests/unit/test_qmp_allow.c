/* runtime/qmp_allow.c: the QMP commands a user who is not host root may send. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/qmp_allow.h"
#include "tests/unit/tap.h"

static int check(const char *cmd, char *why, size_t len)
{
	char *plain = NULL;
	int r = qmp_allow(cmd, &plain, why, len);
	if (!r)
		snprintf(why, len, "%s", plain);
	free(plain);
	return r;
}

int main(void)
{
	char why[512];
	ok(check("{\"execute\":\"query-status\"}", why, sizeof(why)) == 0, "query-status passes");
	is_str(why, "{\"execute\":\"query-status\"}", "re-written as parsed");
	ok(check("{\"execute\": \"cont\", \"id\": 7}", why, sizeof(why)) == 0, "cont passes");
	ok(check("{\"execute\":\"system_powerdown\"}", why, sizeof(why)) == 0, "system_powerdown");
	ok(check("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:id\"}}", why,
		 sizeof(why)) == -EPERM, "migrate is refused (exec: runs a host command)");
	ok(strstr(why, "migrate: only host root may send it") != NULL, "saying why");
	ok(check("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info\"}}",
		 why, sizeof(why)) == -EPERM, "human-monitor-command is refused");
	ok(check("{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"/etc/x\"}}", why,
		 sizeof(why)) == -EPERM, "screendump is refused (it writes a host file)");
	ok(check("{\"execute\":\"query-\"}", why, sizeof(why)) == -EPERM, "a bare query- is not a query");
	ok(check("{\"execute\":\"query-status\",\"execute\":\"migrate\"}", why, sizeof(why)) ==
	       -EPERM, "a second execute key is the one judged");
	ok(check("{\"execute\":\"migrate\",\"execute\":\"query-status\"}", why, sizeof(why)) == 0,
	   "and the one sent");
	is_str(why, "{\"execute\":\"query-status\"}", "with no second key left for QEMU to read");
	ok(check("{\"execute\":\"query-status\",\"exec-oob\":\"migrate\"}", why, sizeof(why)) ==
	       -EPERM, "exec-oob is refused");
	ok(check("{\"execute\":\"a\\u0001b\"}", why, sizeof(why)) == -EPERM, "a control byte...");
	ok(strstr(why, "a\\x01b:") != NULL, "... is escaped in the words");
	ok(check("[\"query-status\"]", why, sizeof(why)) == -EINVAL, "an array is no command");
	ok(check("{\"execute\":5}", why, sizeof(why)) == -EINVAL, "nor a number as execute");
	ok(check("nonsense", why, sizeof(why)) == -EINVAL, "nor text");
	return tap_done();
}
