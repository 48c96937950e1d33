/* runtime/vmpass.c: the -drive option over a chain of descriptors, each layer named by the
 * one above it; an overlay atop the deepest chain vmfs accepts (CHAIN_MAX + 1 layers). */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "runtime/vmpass.h"
#include "tests/unit/tap.h"

static struct qargv a;
static struct qfds q;
static struct vm_chain c;

static int count(const char *s, const char *what)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

int main(void)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	c.n = CHAIN_MAX + 1;
	for (int j = 0; j < c.n; j++) {
		c.l[j] = (struct vm_layer){null, -1, -1, -1, false, ""};
		strcpy(c.l[j].format, "qcow2");
	}
	ok(qarg_drive(&a, &q, &c, "if=virtio") == 0, "an overlay atop a full chain: -drive is made");
	const char *opt = a.n ? a.v[a.n - 1] : "";
	ok(count(opt, "file.filename=/dev/fdset/") == CHAIN_MAX + 1, "every layer by an fd set");
	ok(strstr(opt, ",driver=qcow2,file.driver=file") != NULL, "the top layer without a prefix");
	char deepest[(CHAIN_MAX + 1) * 8 + 16] = ",";
	for (int j = 0; j < CHAIN_MAX; j++)
		strcat(deepest, "backing.");
	strcat(deepest, "driver=");
	ok(strstr(opt, deepest) != NULL, "the last layer is named CHAIN_MAX backings deep");
	strcpy(deepest + strlen(deepest) - strlen("driver="), "backing.driver=");
	ok(strstr(opt, deepest) == NULL, "and none deeper");
	close(null);
	return tap_done();
}
