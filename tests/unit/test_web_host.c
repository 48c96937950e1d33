/* web/host.c: the Host headers the door answers to (DNS rebinding sends another name). */
#include "tests/unit/tap.h"
#include "web/host.h"

int main(void)
{
	const char *yes[] = {"127.0.0.1", "127.0.0.1:9001", "10.1.2.3:80", "[::1]", "[::1]:9001",
			     "localhost", "LOCALHOST:9001", "vmfs.example", "Door.Example:443"};
	const char *no[] = {"rebind.evil.example", "rebind.evil.example:9001", "", "[::1",
			    "[::1]x", "[nothost]:1", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:123456",
			    "localhost.evil.example", "vmfs.example.evil", "vmfs", "127.0.0.1 x",
			    "door.example,vmfs.example"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
		ok(web_host_ok("vmfs.example,door.example", yes[i]), "Host: %s is answered", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
		ok(!web_host_ok("vmfs.example,door.example", no[i]), "Host: \"%s\" is refused", no[i]);
	ok(!web_host_ok("vmfs.example", NULL), "no Host: refused");
	ok(!web_host_ok(NULL, "vmfs.example"), "a name without web_hosts: refused");
	ok(web_host_ok(NULL, "127.0.0.1:1"), "an address without web_hosts: answered");
	return tap_done();
}
