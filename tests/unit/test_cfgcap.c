/* cluster/ccmd_cfgcap.c's cfgcap_of: what a config change of vcpus or memory moves in its
 * host's reservation, and what its record will size the object at (its cfg-pending entry). */
#include <stdio.h>
#include <string.h>

#include "cluster/cfgcap.h"
#include "ctl/params.h"
#include "runtime/model.h"
#include "tests/unit/tap.h"

#define MIB (1024ull * 1024)

static struct object obj(const char *vcpus, const char *memory, enum ostate st)
{
	struct object o;
	memset(&o, 0, sizeof(o));
	o.state = st;
	o.cfg[param_index("vcpus")] = (char *)vcpus;
	o.cfg[param_index("memory")] = (char *)memory;
	return o;
}

static void moves(const struct object *o, const char *param, const char *value, long long dv,
		  long long dm, unsigned long long vcpus, unsigned long long memory)
{
	struct cfgcap k = {0};
	bool m = cfgcap_of(o, param_index(param), value, &k);
	ok(m, "%s = \"%s\" moves the reservation", param, value);
	ok(k.dvcpus == dv && k.dmemory == dm, "... by %+lld vcpus, %+lld bytes (%+lld, %+lld)", dv,
	   dm, (long long)k.dvcpus, (long long)k.dmemory);
	ok(k.vcpus == vcpus && k.memory == memory, "... the record sizes it at %llu, %llu (%llu, %llu)",
	   vcpus, memory, (unsigned long long)k.vcpus, (unsigned long long)k.memory);
}

static void still(const struct object *o, const char *param, const char *value, const char *why)
{
	struct cfgcap k = {0};
	ok(!cfgcap_of(o, param_index(param), value, &k), "%s = \"%s\" moves nothing: %s", param,
	   value, why);
}

int main(void)
{
	struct object dflt = obj(NULL, NULL, ST_QUIT);
	moves(&dflt, "vcpus", "3", 2, 0, 3, 256 * MIB);
	moves(&dflt, "memory", "64M", 0, -192 * (long long)MIB, 1, 64 * MIB);
	struct object set = obj("4", "1G", ST_BUILDING);
	moves(&set, "vcpus", "", -3, 0, 1, 1024 * MIB);
	moves(&set, "memory", "2G", 0, 1024 * (long long)MIB, 4, 2048 * MIB);
	still(&set, "memory", "1024M", "the same figure");
	still(&set, "vcpus", "4", "the same figure");
	still(&dflt, "vcpus", "1", "the default's figure");
	still(&set, "vcpus", "lots", "no figure (the apply refuses it)");
	still(&set, "memory", "much", "no figure");
	still(&set, "tags", "a=b", "not vcpus nor memory");
	struct object on = obj("4", NULL, ST_RUNNING);
	still(&on, "vcpus", "2", "it runs (the apply refuses it)");
	on.state = ST_PAUSED;
	still(&on, "vcpus", "2", "it is paused");
	return tap_done();
}
