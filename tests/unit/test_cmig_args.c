/* cluster/cmig_args.c: the args of a live migration's commands and the destination's answer,
 * peer input every one: what reads, and what is refused. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster/ccmd.h"
#include "cluster/cmig.h"
#include "tests/unit/tap.h"

int main(void)
{
	char why[256];
	struct cmig_in_args in;
	const char *line = "intent=h3.7.1000000001 qemu=8.2.2 machine=pc-q35-8.2 intent=h3.7.1000000001 "
			   "type=kvm names=web1 cfg.memory=512M";
	ok(!cmig_in_read(line, &in, why, sizeof(why)), "a migrate-in's args read");
	ok(!strcmp(in.intent.host, "h3") && in.intent.run == 7 && in.intent.seq == 1000000001,
	   "its intent");
	ok(!strcmp(in.qemu, "8.2.2") && !strcmp(in.machine, "pc-q35-8.2"), "its QEMU and machine");
	struct ccreate cr = {0};
	ok(!ccreate_read(in.create, &cr, why, sizeof(why)) && cr.n == 1 && !strcmp(cr.names[0], "web1"),
	   "the rest is a create's args (%s)", why);
	ccreate_free(&cr);
	ok(!cmig_in_read("intent=h3.7.1 qemu= machine=pc ", &in, why, sizeof(why)) && !in.qemu[0],
	   "an unknown QEMU version is empty");
	ok(cmig_in_read("intent=h3.7.1 machine=pc ", &in, why, sizeof(why)) == -EINVAL,
	   "no qemu=: refused (%s)", why);
	ok(cmig_in_read("intent=h3.7.1 qemu=8.2;rm machine=pc ", &in, why, sizeof(why)) == -EINVAL,
	   "a version with other bytes: refused");
	ok(cmig_in_read("intent=h3.7.1 qemu=8 machine=pc$x ", &in, why, sizeof(why)) == -EINVAL,
	   "a machine with other bytes: refused");
	ok(cmig_in_read("qemu=8 machine=pc", &in, why, sizeof(why)) == -EINVAL,
	   "no intent= first: refused (%s)", why);
	ok(cmig_in_read("intent=not-a-tag qemu=8 machine=pc", &in, why, sizeof(why)) == -EINVAL,
	   "an intent that is no tag: refused (%s)", why);
	ok(cmig_in_read(NULL, &in, why, sizeof(why)) == -EINVAL, "no args: refused");

	struct cmig_out_args out;
	ok(!cmig_out_read("intent=h1.2.3 to=10.0.0.2:4444 nbd=10.0.0.2:5555", &out, why, sizeof(why)),
	   "a migrate-out's args read");
	ok(!strcmp(out.to, "10.0.0.2:4444") && !strcmp(out.nbd, "10.0.0.2:5555") &&
	       !strcmp(out.intent.host, "h1"),
	   "its ports and intent");
	ok(cmig_out_read("intent=h1.2.3 to=10.0.0.2:4444", &out, why, sizeof(why)) == -EINVAL,
	   "no nbd=: refused");
	ok(cmig_out_read("intent=h1.2.3 to=10.0.0.2:4444 nbd=10.0.0.2:5555 more", &out, why,
			 sizeof(why)) == -EINVAL,
	   "a word after: refused");
	ok(cmig_out_read("intent=h1.2.3 to=host:4444 nbd=10.0.0.2:5555", &out, why, sizeof(why)) ==
	       -EINVAL,
	   "a name for an address: refused (the member parses it again, strictly)");
	ok(cmig_out_read("intent=h1.2.3 to=1.2.3.4:1111111111111111111111111111111111111111111111111111111111111111 nbd=1:2",
			 &out, why, sizeof(why)) == -EINVAL,
	   "a value too long: refused");

	char mig[64], nbd[64];
	ok(!cmig_ready_read("ok: migrate-in ready: migrate=10.1.0.12:4000 nbd=10.1.0.12:4001\n", mig,
			    sizeof(mig), nbd, sizeof(nbd)) &&
	       !strcmp(mig, "10.1.0.12:4000") && !strcmp(nbd, "10.1.0.12:4001"),
	   "the destination's answer gives its two ports");
	ok(cmig_ready_read("ok: migrate-in ready: migrate=10.1.0.12:4000", mig, sizeof(mig), nbd,
			   sizeof(nbd)) == -EINVAL,
	   "without nbd=: refused");
	ok(cmig_ready_read("ok: migrate-in ready: migrate=10.1.0.12:4000 nbd=1:2 x", mig, sizeof(mig),
			   nbd, sizeof(nbd)) == -EINVAL,
	   "more after: refused");
	ok(cmig_ready_read("ok: started", mig, sizeof(mig), nbd, sizeof(nbd)) == -EINVAL,
	   "another answer: refused");
	return tap_done();
}
