/* runtime/migrate.c's parsers: a migrate-out's ADDR:PORT (from a user, later from a peer)
 * and the disks in QEMU's query-block answer (from QEMU: hostile too). */
#include <errno.h>

#include "runtime/migrate.h"
#include "tests/unit/tap.h"

int main(void)
{
	struct err e;
	char addr[20], out[256];
	int port = 0;
	ok(migrate_parse_hostport("127.0.0.1:4444", addr, sizeof(addr), &port, &e) == 0 &&
	       port == 4444,
	   "ADDR:PORT");
	is_str(addr, "127.0.0.1", "its address");
	ok(migrate_parse_hostport("10.1.2.3:65535", addr, sizeof(addr), &port, &e) == 0,
	   "the top port");
	const char *bad[] = {"127.0.0.1",    "127.0.0.1:",	":80",
			     "127.0.0.1:0",  "127.0.0.1:65536", "127.0.0.1:80x",
			     "host:80",	     "1.2.3.4.5:80",	"[::1]:80",
			     "127.0.0.1:-1", "999.0.0.1:80",	"127.0.0.1:80 nbd"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ok(migrate_parse_hostport(bad[i], addr, sizeof(addr), &port, &e) == -EINVAL,
		   "refused: %s", bad[i]);
	migrate_parse_hostport("host:80", addr, sizeof(addr), &port, &e);
	is_str(e.why, "host:80: host is not an IPv4 address", "with words");

	const char *qb =
	    "[{\"device\":\"virtio0\",\"inserted\":{\"node-name\":\"#block123\",\"ro\":false}},"
	    "{\"device\":\"ide2-cd0\",\"inserted\":{\"node-name\":\"#block9\",\"ro\":true}},"
	    "{\"device\":\"floppy0\"},"
	    "{\"device\":\"virtio1\",\"inserted\":{\"node-name\":\"#block7\"}}]";
	ok(migrate_disk_names(qb, out, sizeof(out), &e) == 2, "two writable disks");
	is_str(out, "virtio0=#block123 virtio1=#block7",
	       "device=node, the CD-ROM and the empty drive left out");
	ok(migrate_disk_names("[]", out, sizeof(out), &e) == 0 && !*out, "no disk");
	ok(migrate_disk_names("{}", out, sizeof(out), &e) == -EPROTO, "not a list: refused");
	ok(migrate_disk_names("[{\"device\":\"a\\\"b\",\"inserted\":{\"node-name\":\"n\"}}]", out,
			      sizeof(out), &e) == -EPROTO,
	   "a name with a quote: refused");
	ok(migrate_disk_names("[{\"device\":\"virtio0\",\"inserted\":{\"node-name\":5}}]", out,
			      sizeof(out), &e) == -EPROTO,
	   "a node name of another type: refused");
	ok(migrate_disk_names(qb, out, 10, &e) == -E2BIG, "more than fits: refused");
	return tap_done();
}
