/* The door's limits on connections (web_int.h): libmicrohttpd's own would close a connection
 * over them without a word; these log whom they turned away. libmicrohttpd asks
 * conns_admit first, then tells of each connection it opened and closed. */
#include <stdio.h>
#include <string.h>

#include "web/web_int.h"

/* The address alone (no port), the key of a count. */
static size_t addr_key(const struct sockaddr *sa, const unsigned char **key)
{
	if (sa && sa->sa_family == AF_INET) {
		*key = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
		return 4;
	}
	if (sa && sa->sa_family == AF_INET6) {
		*key = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		return 16;
	}
	return 0;
}

/* The count of sa's address; with make, a free one taken for it if it has none. */
static struct conn_count *count_of(struct web *w, const struct sockaddr *sa, bool make)
{
	const unsigned char *key;
	size_t len = addr_key(sa, &key);
	struct conn_count *free_one = NULL;
	if (!len)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(w->conns); i++) {
		struct conn_count *c = &w->conns[i];
		if (c->n && c->len == len && !memcmp(c->addr, key, len))
			return c;
		if (!c->n && !free_one)
			free_one = c;
	}
	if (!make || !free_one)
		return NULL;
	free_one->len = (unsigned char)len;
	memcpy(free_one->addr, key, len);
	return free_one;
}

enum MHD_Result conns_admit(void *cls, const struct sockaddr *sa, socklen_t salen)
{
	struct web *w = cls;
	const struct conn_count *c = count_of(w, sa, false);
	char why[128];
	if (c && c->n >= WEB_CONNS_PER_ADDR)
		snprintf(why, sizeof(why), "this address has %d connections open already, the most "
			 "one address may", WEB_CONNS_PER_ADDR);
	else if (w->nconns >= WEB_CONNS)
		snprintf(why, sizeof(why), "the door has %d connections open already, the most it "
			 "takes", WEB_CONNS);
	else
		return MHD_YES;
	web_refuse(w, sa, "connection", NULL, why);
	return MHD_NO;
}

void conns_notify(void *cls, struct MHD_Connection *mc, void **ctx,
		  enum MHD_ConnectionNotificationCode what)
{
	struct web *w = cls;
	struct conn_count *c = *ctx;
	if (what == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if ((c = count_of(w, ci ? ci->client_addr : NULL, true)))
			c->n++;
		*ctx = c;
		w->nconns++;
	} else if (what == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (c)
			c->n--;
		*ctx = NULL;
		w->nconns--;
	}
}
