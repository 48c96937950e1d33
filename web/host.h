/* Which names the HTTP door answers to. A web page of another site can make its own name
 * resolve to 127.0.0.1 (DNS rebinding) and then talk to the door as "same origin"; its
 * requests carry that name in Host. So Host must be an IP address (the attacker's page
 * would then be at that address: another origin), localhost, or a name the admin gave. */
#ifndef VMFS_WEB_HOST_H
#define VMFS_WEB_HOST_H
#include <stdbool.h>

/* host (a Host header: NAME, NAME:PORT, IPV4[:PORT], [IPV6][:PORT]) is an IP literal,
 * localhost, or one of hosts (comma-separated, case ignored; NULL: none). */
bool web_host_ok(const char *hosts, const char *host);
#endif
