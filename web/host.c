/* The Host header's check (web/host.h). */
#include "web/host.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

/* A name in a comma-separated list, ignoring case. */
static bool in_list(const char *list, const char *name, size_t n)
{
	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && !strncasecmp(p, name, n))
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

bool web_host_ok(const char *hosts, const char *host)
{
	char name[256];
	if (!host || !*host || strlen(host) >= sizeof(name))
		return false;
	const char *port = NULL;
	size_t n;
	if (host[0] == '[') {
		const char *close = strchr(host, ']');
		if (!close)
			return false;
		n = (size_t)(close - host - 1);
		memcpy(name, host + 1, n);
		port = close[1] == ':' ? close + 2 : close[1] ? "x" : NULL;
	} else {
		const char *colon = strchr(host, ':');
		n = colon ? (size_t)(colon - host) : strlen(host);
		memcpy(name, host, n);
		port = colon ? colon + 1 : NULL;
	}
	name[n] = 0;
	if (port && (!*port || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5))
		return false;
	struct in6_addr a6;
	if (host[0] == '[')
		return inet_pton(AF_INET6, name, &a6) == 1;
	struct in_addr a4;
	return inet_pton(AF_INET, name, &a4) == 1 || !strcasecmp(name, "localhost") ||
	       in_list(hosts, name, n);
}
