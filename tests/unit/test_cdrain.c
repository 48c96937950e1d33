/* hosts/ctl's drain, undrain and forget (cluster/cdrain.h): the verbs, what drain and undrain
 * make of P/cap/H (and that it reads back), the admin's line. */
#include <string.h>

#include "cluster/cdrain.h"
#include "runtime/util.h"
#include "tests/unit/tap.h"

int main(void)
{
	ok(cdrain_verb("drain") && cdrain_verb("undrain") && cdrain_verb("forget"),
	   "drain, undrain, forget are its verbs");
	ok(!cdrain_verb("add") && !cdrain_verb("move") && !cdrain_verb(""), "add, move, \"\" not");

	struct crec_cap c = {.vcpus = 4, .memory = 1 << 30, .objects = 2};
	ok(cdrain_apply(&c, true, 1700000000), "drain of a host not draining: a change");
	ok(c.drain == 1700000000 && c.vcpus == 4 && c.objects == 2,
	   "drain=now, the reservation kept");
	ok(!cdrain_apply(&c, true, 1700000900), "drain again: nothing to change");
	ok(c.drain == 1700000000, "its since kept");

	struct sbuf sb = {0};
	crec_cap_write(&c, &sb);
	struct crec_cap back;
	char err[256];
	ok(!crec_cap_read(sb.p, sb.len, &back, err, sizeof(err)) && back.drain == 1700000000 &&
	       back.memory == 1 << 30,
	   "the record written reads back with its drain");
	sb_free(&sb);

	ok(cdrain_apply(&c, false, 1700001000) && c.drain == 0, "undrain: drain cleared");
	ok(!cdrain_apply(&c, false, 1700001000), "undrain of a host not draining: nothing");
	crec_cap_write(&c, &sb);
	sb_add(&sb, "", 1);
	ok(!strstr(sb.p, "drain"), "the record then has no drain field");
	sb_free(&sb);
	ok(cdrain_apply(&c, true, 0) && c.drain, "a clock at 0 still marks it draining");

	cdrain_etcdctl_line("/vmfs/lab/h/h2/", &sb);
	sb_add(&sb, "", 1);
	is_str(sb.p, "etcdctl del --prefix /vmfs/lab/h/h2/\n", "the admin's line");
	sb_free(&sb);
	return tap_done();
}
