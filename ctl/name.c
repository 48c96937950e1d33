/* Names of namespaces, VMs and containers. They become directory names, file names in the
 * state directory, tap/veth name parts and QEMU -name values, hence the narrow alphabet. */
#include <stdint.h>
#include <string.h>

#include "ctl/ctl.h"

#include "ctl/util.h"

static int name_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int name_check(const char *name, char *err, size_t errlen)
{
	char q[80], c[8];
	size_t n, i;

	if (!name || !*name)
		return ctl_fail(
		    err, errlen,
		    "a name cannot be empty: use 1 to %d letters, digits, '.', '_' or '-'",
		    NAME_MAX_LEN);
	n = strlen(name);
	ctl_quote(name, n, q, sizeof q);
	if (n > NAME_MAX_LEN)
		return ctl_fail(err, errlen,
				"\"%s\" is too long (%zu bytes): names are at most %d bytes", q, n,
				NAME_MAX_LEN);
	if (!name_alnum(name[0]))
		return ctl_fail(err, errlen,
				"\"%s\" starts with '%s': a name starts with a letter or a digit",
				q, ctl_quote(name, 1, c, sizeof c));
	for (i = 1; i < n; i++)
		if (!name_alnum(name[i]) && !strchr("._-", name[i]))
			return ctl_fail(
			    err, errlen,
			    "\"%s\" contains '%s': names use only letters, digits, '.', '_' "
			    "and '-'",
			    q, ctl_quote(name + i, 1, c, sizeof c));
	/* "start all" must never be ambiguous between every VM and a VM called all. */
	if (strcmp(name, "all") == 0)
		return ctl_fail(
		    err, errlen,
		    "\"all\" is reserved (it means every VM and container): choose another "
		    "name");
	return 0;
}
