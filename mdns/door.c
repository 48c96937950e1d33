/* The event loop's side of mdns/ (mdns/mdns.h): the door the daemon starts and stops, the
 * lines the Avahi thread has for host/log, and hosts/discovered. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdns/mdns_int.h"
#include "vmfs/door.h"
#include "vmfs/kinds.h"
#include "vmfs/loop.h"
#include "vmfs/node.h"

static int mdns_attach(void *self, struct loop *l)
{
	struct mdns *m = self;
	if (threadlog_attach(&m->tl, l))
		return -1;
	if (!m->npubs && !m->discover)
		return 0; /* nothing to announce (host/log said why), nothing to look for */
	/* Avahi is never needed: a thread that cannot start is a line in the log */
	if (mdns_avahi_start(m))
		mdns_say(m, "cannot start Avahi's thread: not announcing nor browsing");
	return 0;
}

static void mdns_stop(void *self)
{
	struct mdns *m = self;
	mdns_avahi_stop(m);
	threadlog_flush(&m->tl);
}

static void mdns_close(void *self)
{
	struct mdns *m = self;
	m->v->mdns = NULL;
	found_clear(&m->tab);
	threadlog_fini(&m->tl);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->ended_cv);
	free(m);
}

static const struct door_ops mdns_ops = {
    .attach = mdns_attach,
    .stop = mdns_stop,
    .close = mdns_close,
};

/* ADDR:PORT as vmfs.conf checked it (an IPv4 address) */
static int parse_addr(const char *s, struct in_addr *ip, uint16_t *port)
{
	char a[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	char *end;
	if (!colon || (size_t)(colon - s) >= sizeof(a))
		return -1;
	memcpy(a, s, colon - s);
	a[colon - s] = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (inet_pton(AF_INET, a, ip) != 1 || *end || !p || p > 65535)
		return -1;
	*port = p;
	return 0;
}

static void add_ad(struct mdns *m, const struct mdns_ad *ad)
{
	struct mdns_pub *p = &m->pubs[m->npubs];
	if (!ad->addr || !*ad->addr || m->npubs == MDNS_ADS)
		return;
	if (parse_addr(ad->addr, &p->ip, &p->port)) {
		evlog_add(&m->v->log,
			  "discovery: the %s door's address %s is not IPV4:PORT: not "
			  "announced",
			  ad->door, ad->addr);
		return;
	}
	if ((ntohl(p->ip.s_addr) >> 24) == 127) {
		evlog_add(&m->v->log,
			  "discovery: the %s door listens on %s, a loopback address: not "
			  "announced (no other host could reach it)",
			  ad->door, ad->addr);
		return;
	}
	snprintf(p->door, sizeof(p->door), "%s", ad->door);
	snprintf(p->type, sizeof(p->type), "%s", ad->type);
	snprintf(p->txt, sizeof(p->txt), "%s", ad->txt ? ad->txt : "");
	m->npubs++;
}

int mdns_door_open(struct vmfs *v, const struct mdns_ad *ads, size_t n, bool announce,
		   bool discover, struct door *out)
{
	struct mdns *m = calloc(1, sizeof(*m));
	if (!m)
		return -1;
	if (threadlog_init(&m->tl, &v->log, "discovery: ")) {
		free(m);
		return -1;
	}
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->ended_cv, NULL);
	m->v = v;
	m->discover = discover;
	snprintf(m->hostname, sizeof(m->hostname), "%s", v->hostname);
	snprintf(m->version, sizeof(m->version), "%s", VMFS_VERSION);
	size_t given = 0;
	for (size_t i = 0; announce && i < n; i++) {
		given += ads[i].addr && *ads[i].addr;
		add_ad(m, &ads[i]);
	}
	if (announce && !given)
		evlog_add(&v->log, "discovery: announce is on, but no network door is configured "
				   "(web, 9p): nothing to announce");
	v->mdns = m;
	*out = (struct door){&mdns_ops, m, -1};
	return 0;
}

int gen_hosts_discovered(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	struct found_tab none = {0};
	struct mdns *m = v->mdns;
	if (!m || !m->discover) {
		found_table(&none, out);
		return 0;
	}
	pthread_mutex_lock(&m->lock);
	found_table(&m->tab, out);
	pthread_mutex_unlock(&m->lock);
	return 0;
}
