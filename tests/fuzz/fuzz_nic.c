/* libFuzzer target for NIC specs (ctl/nic.c: value_nic, value_net), which come from
 * config/net and ctl commands. Built and run by `make fuzz` and tests/fuzz/run. A spec taken
 * must be sound: a VLAN, a unicast MAC or none, a driver of [a-z0-9_-], and an address that
 * reads back as itself. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

static void check_nic(const struct nic_spec *n)
{
	char err[256], again[sizeof(n->addr) + 8];
	struct nic_spec m;
	if (!n->vlan[0] || strchr(n->vlan, ',') || strchr(n->bridge, ','))
		abort();
	if (n->mac[0]) {
		unsigned b[6];
		char end;
		if (strlen(n->mac) != 17 ||
		    sscanf(n->mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
			   &b[5], &end) != 6 ||
		    (b[0] & 1))
			abort();
	}
	if (strspn(n->driver, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(n->driver))
		abort();
	if (n->addr[0]) {
		snprintf(again, sizeof(again), "LAN1,%s", n->addr);
		if (value_nic(again, &m, err, sizeof(err)) || strcmp(m.addr, n->addr))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t errlens[] = {0, 1, 9, 300};
	struct nic_spec n;
	char *s, *err;
	size_t errlen;
	if (!size)
		return 0;
	errlen = errlens[data[0] % 4];
	s = malloc(size);
	err = malloc(errlen ? errlen : 1);
	if (s && err) {
		memcpy(s, data + 1, size - 1);
		s[size - 1] = 0;
		memset(&n, 0, sizeof(n));
		if (value_nic(s, &n, err, errlen) == 0)
			check_nic(&n);
		value_net(s, err, errlen);
	}
	free(s);
	free(err);
	return 0;
}
