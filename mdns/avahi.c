/* Avahi's side of mdns/ (mdns/mdns.h): the client, what it publishes and what it browses.
 *
 * Why a thread of its own (AvahiThreadedPoll) rather than an AvahiPoll over an epoll fd in
 * vmfs's loop, as web/http.c does for libmicrohttpd: every call of libavahi-client is a D-Bus
 * round trip that blocks until avahi-daemon answers (connecting, creating a resolver,
 * committing a group; 25 s when the daemon hangs). In the loop, a stuck avahi-daemon would
 * stall every door. Here it stalls only this thread; what the loop needs of it, the table of
 * what was found and the lines for host/log, crosses under m->lock (an eventfd wakes the
 * loop for the lines). Everything below runs in Avahi's thread, with its lock held. */
#include <arpa/inet.h>
#include <avahi-common/alternative.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/timeval.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "mdns/mdns_int.h"

/* Without D-Bus, avahi_client_new fails (AVAHI_CLIENT_NO_FAIL waits only for avahi-daemon
 * itself, on a bus that is there): then it is tried again this often. */
#define RETRY_S 5
/* What the LAN says wrong goes to host/log, at most this many lines a minute. */
#define NOISY_MAX 10

/* How often what was found is resolved again (see resolve_all). */
#define RESOLVE_S 30

static void connect_client(struct mdns *m);
static void resolve_all(struct mdns *m);

static const AvahiPoll *api(struct mdns *m)
{
	return avahi_threaded_poll_get(m->tp);
}

/* Says what became of the daemon once, not at every retry. */
static void say_state(struct mdns *m, const char *what)
{
	if (!strcmp(m->said, what))
		return;
	snprintf(m->said, sizeof(m->said), "%s", what);
	mdns_say(m, "%s", what);
}

static void noisy(struct mdns *m, const char *what)
{
	time_t now = time(NULL);
	if (now - m->quiet_from >= 60) {
		m->quiet_from = now;
		m->quiet_n = 0;
	}
	if (m->quiet_n++ < NOISY_MAX)
		mdns_say(m, "%s%s", what, m->quiet_n == NOISY_MAX ? " (no more of these this minute)" : "");
}

/* The client is gone, or going: what it owned (group, browsers, resolvers) goes with it. */
static void forget(struct mdns *m)
{
	pthread_mutex_lock(&m->lock);
	found_clear(&m->tab);
	pthread_mutex_unlock(&m->lock);
	m->group = NULL;
	memset(m->browsers, 0, sizeof(m->browsers));
}

static void drop_client(struct mdns *m)
{
	forget(m);
	if (m->client)
		avahi_client_free(m->client);
	m->client = NULL;
}

static void on_retry(AvahiTimeout *t, void *arg)
{
	struct mdns *m = arg;
	api(m)->timeout_update(t, NULL);
	connect_client(m);
}

static void retry_in(struct mdns *m, unsigned s)
{
	struct timeval tv;
	avahi_elapse_time(&tv, s * 1000, 0);
	if (m->retry)
		api(m)->timeout_update(m->retry, &tv);
	else
		m->retry = api(m)->timeout_new(api(m), &tv, on_retry, m);
}

/* The interface that holds the door's address: announced there only, so that the address a
 * peer resolves is the one the door listens on. 0.0.0.0, or an address on no interface: all. */
static AvahiIfIndex iface_of(struct in_addr ip)
{
	struct ifaddrs *all, *i;
	AvahiIfIndex idx = AVAHI_IF_UNSPEC;
	if (ip.s_addr == htonl(INADDR_ANY) || getifaddrs(&all) < 0)
		return idx;
	for (i = all; i && idx == AVAHI_IF_UNSPEC; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == ip.s_addr) {
			char name[IF_NAMESIZE + 1];
			snprintf(name, sizeof(name), "%s", i->ifa_name);
			name[strcspn(name, ":")] = 0; /* an address label, eth0:1 */
			unsigned n = if_nametoindex(name);
			idx = n ? (AvahiIfIndex)n : AVAHI_IF_UNSPEC;
		}
	freeifaddrs(all);
	return idx;
}

static int add_all(struct mdns *m)
{
	char ver[48], host[272];
	snprintf(ver, sizeof(ver), "vmfs=%s", m->version);
	snprintf(host, sizeof(host), "host=%s", m->hostname);
	for (size_t i = 0; i < m->npubs; i++) {
		const struct mdns_pub *p = &m->pubs[i];
		AvahiStringList *txt = avahi_string_list_new(host, ver, p->txt[0] ? p->txt : NULL, NULL);
		if (!txt)
			return AVAHI_ERR_NO_MEMORY;
		int r = avahi_entry_group_add_service_strlst(m->group, iface_of(p->ip), AVAHI_PROTO_INET,
							     0, m->name, p->type, NULL, NULL, p->port, txt);
		avahi_string_list_free(txt);
		if (r < 0)
			return r;
	}
	return avahi_entry_group_commit(m->group);
}

static void rename_after_clash(struct mdns *m)
{
	char *next = avahi_alternative_service_name(m->name);
	if (!next)
		return;
	mdns_say(m, "the name \"%s\" is taken on the LAN: announcing as \"%s\"", m->name, next);
	avahi_free(m->name);
	m->name = next;
}

static void publish(struct mdns *m, AvahiClient *c);

static void on_group(AvahiEntryGroup *g, AvahiEntryGroupState state, void *arg)
{
	struct mdns *m = arg;
	switch (state) {
	case AVAHI_ENTRY_GROUP_ESTABLISHED: {
		char what[512] = "";
		size_t n = 0;
		for (size_t i = 0; i < m->npubs && n < sizeof(what); i++)
			n += snprintf(what + n, sizeof(what) - n, "%s%s door as %s port %u",
				      i ? ", " : "", m->pubs[i].door, m->pubs[i].type, m->pubs[i].port);
		mdns_say(m, "announced \"%s\": %s", m->name, what);
		resolve_all(m);
		break;
	}
	case AVAHI_ENTRY_GROUP_COLLISION:
		rename_after_clash(m);
		avahi_entry_group_reset(g);
		publish(m, avahi_entry_group_get_client(g));
		break;
	case AVAHI_ENTRY_GROUP_FAILURE:
		mdns_say(m, "cannot announce: %s",
			 avahi_strerror(avahi_client_errno(avahi_entry_group_get_client(g))));
		break;
	default:
		break;
	}
}

static void publish(struct mdns *m, AvahiClient *c)
{
	if (!m->npubs)
		return;
	if (!m->group && !(m->group = avahi_entry_group_new(c, on_group, m))) {
		mdns_say(m, "cannot announce: %s", avahi_strerror(avahi_client_errno(c)));
		return;
	}
	if (!avahi_entry_group_is_empty(m->group))
		return;
	for (int tries = 0; tries < 20; tries++) {
		int r = add_all(m);
		if (r == AVAHI_ERR_COLLISION) { /* a name this host's avahi-daemon holds already */
			rename_after_clash(m);
			avahi_entry_group_reset(m->group);
			continue;
		}
		if (r < 0) {
			mdns_say(m, "cannot announce: %s", avahi_strerror(r));
			avahi_entry_group_reset(m->group);
		}
		return;
	}
}

/* This vmfs's own door, seen from here. Not by AVAHI_LOOKUP_RESULT_OUR_OWN: avahi-daemon
 * tells that by the service's name, so another host's service under the name this vmfs is
 * about to lose in a clash passes for ours. A door is ours when it is our address and port. */
static bool is_ours(struct mdns *m, const char *type, const char *addr, uint16_t port)
{
	struct in_addr ip;
	if (inet_pton(AF_INET, addr, &ip) != 1)
		return false;
	for (size_t i = 0; i < m->npubs; i++) {
		const struct mdns_pub *p = &m->pubs[i];
		if (p->port != port || strcmp(p->type, type))
			continue;
		if (p->ip.s_addr == ip.s_addr)
			return true;
		if (p->ip.s_addr == htonl(INADDR_ANY) && iface_of(ip) != AVAHI_IF_UNSPEC)
			return true; /* every address of this host */
	}
	return false;
}

static void on_resolve(AvahiServiceResolver *r, AvahiIfIndex ifi, AvahiProtocol proto,
		       AvahiResolverEvent event, const char *name, const char *type,
		       const char *domain, const char *host_name, const AvahiAddress *a,
		       uint16_t port, AvahiStringList *txt, AvahiLookupResultFlags flags, void *arg)
{
	struct mdns *m = arg;
	char addr[AVAHI_ADDRESS_STR_MAX] = "", ifname[IF_NAMESIZE] = "?", err[300];
	const char *items[32];
	size_t lens[32], n = 0;
	if (event != AVAHI_RESOLVER_FOUND) { /* no answer in time: it is not listed */
		pthread_mutex_lock(&m->lock);
		struct found *f = found_get(&m->tab, ifi, name, type, domain);
		if (f) {
			f->resolver = NULL;
			f->resolved = false;
		}
		pthread_mutex_unlock(&m->lock);
		avahi_service_resolver_free(r);
		return;
	}
	for (AvahiStringList *l = txt; l && n < 32; l = avahi_string_list_get_next(l)) {
		items[n] = (const char *)avahi_string_list_get_text(l);
		lens[n++] = avahi_string_list_get_size(l);
	}
	if (a)
		avahi_address_snprint(addr, sizeof(addr), a);
	bool ours = is_ours(m, type, addr, port); /* getifaddrs: not under the loop's lock */
	pthread_mutex_lock(&m->lock);
	struct found *f = found_get(&m->tab, ifi, name, type, domain);
	int rc = f ? found_set(f, addr, port, items, lens, n, err, sizeof(err)) : 1;
	if (!rc && ours)
		f->resolved = false;
	bool tell = rc < 0 && f && !f->told;
	if (f) {
		f->resolver = NULL;
		f->told |= tell;
	}
	pthread_mutex_unlock(&m->lock);
	avahi_service_resolver_free(r);
	if (tell) {
		char line[600];
		if_indextoname(ifi, ifname);
		snprintf(line, sizeof(line), "ignored a %s service on %s from %s: %s", type, ifname,
			 addr, err);
		noisy(m, line);
	}
}

/* Asks for f's address, port and TXT (once: a resolver is freed when it answers). */
static void resolve(struct mdns *m, AvahiClient *c, struct found *f)
{
	if (f->resolver)
		return;
	void *res = avahi_service_resolver_new(c, f->ifindex, AVAHI_PROTO_INET, f->name, f->type,
					       f->domain, AVAHI_PROTO_INET, 0, on_resolve, m);
	pthread_mutex_lock(&m->lock);
	f->resolver = res; /* only this thread removes rows: f is still there */
	pthread_mutex_unlock(&m->lock);
}

/* Every row asked again. A service's name can change hands without the browser saying so:
 * in a clash, the loser renames itself and the winner goes on under the name the row was
 * resolved for. So each clash of ours, and every RESOLVE_S for the others', resolves
 * everything again. */
static void resolve_all(struct mdns *m)
{
	for (size_t i = 0; m->client && i < m->tab.n; i++)
		resolve(m, m->client, m->tab.v[i]);
}

static void on_browse(AvahiServiceBrowser *b, AvahiIfIndex ifi, AvahiProtocol proto,
		      AvahiBrowserEvent event, const char *name, const char *type,
		      const char *domain, AvahiLookupResultFlags flags, void *arg)
{
	struct mdns *m = arg;
	AvahiServiceResolver *res = NULL;
	struct found *f;
	switch (event) {
	case AVAHI_BROWSER_NEW:
		pthread_mutex_lock(&m->lock);
		f = found_get(&m->tab, ifi, name, type, domain);
		if (!f)
			f = found_add(&m->tab, ifi, name, type, domain);
		bool full = !f && m->tab.n >= FOUND_MAX;
		pthread_mutex_unlock(&m->lock);
		if (full && !m->full_said) {
			m->full_said = true;
			mdns_say(m, "more than %d services on the LAN: the rest are not listed",
				 FOUND_MAX);
		}
		if (f)
			resolve(m, avahi_service_browser_get_client(b), f);
		return;
	case AVAHI_BROWSER_REMOVE:
		pthread_mutex_lock(&m->lock);
		f = found_get(&m->tab, ifi, name, type, domain);
		if (f) {
			res = f->resolver;
			found_drop(&m->tab, f);
		}
		pthread_mutex_unlock(&m->lock);
		if (res)
			avahi_service_resolver_free(res);
		return;
	case AVAHI_BROWSER_FAILURE:
		mdns_say(m, "cannot browse %s: %s", type,
			 avahi_strerror(avahi_client_errno(avahi_service_browser_get_client(b))));
		return;
	default:
		return;
	}
}

static void on_again(AvahiTimeout *t, void *arg)
{
	struct mdns *m = arg;
	struct timeval tv;
	resolve_all(m);
	api(m)->timeout_update(t, avahi_elapse_time(&tv, RESOLVE_S * 1000, 0));
}

static void browse(struct mdns *m, AvahiClient *c)
{
	struct timeval tv;
	if (m->discover && !m->again)
		m->again = api(m)->timeout_new(api(m), avahi_elapse_time(&tv, RESOLVE_S * 1000, 0),
					       on_again, m);
	for (size_t i = 0; m->discover && i < MDNS_TYPES; i++)
		if (!m->browsers[i] &&
		    !(m->browsers[i] = avahi_service_browser_new(c, AVAHI_IF_UNSPEC, AVAHI_PROTO_INET,
								 found_types[i], NULL, 0, on_browse, m)))
			mdns_say(m, "cannot browse %s: %s", found_types[i],
				 avahi_strerror(avahi_client_errno(c)));
}

/* May run inside avahi_client_new, before m->client is set: c is the client. */
static void on_client(AvahiClient *c, AvahiClientState state, void *arg)
{
	struct mdns *m = arg;
	char what[300];
	switch (state) {
	case AVAHI_CLIENT_S_RUNNING:
		say_state(m, "connected to avahi-daemon");
		publish(m, c);
		browse(m, c);
		break;
	case AVAHI_CLIENT_S_COLLISION:
	case AVAHI_CLIENT_S_REGISTERING: /* the daemon's host name changes: published again after */
		if (m->group)
			avahi_entry_group_reset(m->group);
		break;
	case AVAHI_CLIENT_CONNECTING:
		say_state(m, "avahi-daemon not reachable: it is not running (waiting for it)");
		break;
	case AVAHI_CLIENT_FAILURE:
		snprintf(what, sizeof(what), "avahi-daemon not reachable: %s (connecting again)",
			 avahi_strerror(avahi_client_errno(c)));
		say_state(m, what);
		retry_in(m, 1); /* the client is freed there, not inside its own callback */
		break;
	}
}

static void connect_client(struct mdns *m)
{
	int err = 0;
	drop_client(m);
	m->client = avahi_client_new(api(m), AVAHI_CLIENT_NO_FAIL, on_client, m, &err);
	if (!m->client) {
		char what[300];
		forget(m); /* a failure inside it freed what its callbacks made */
		snprintf(what, sizeof(what), "avahi-daemon not reachable: %s (trying again every %d s)",
			 avahi_strerror(err), RETRY_S);
		say_state(m, what);
		retry_in(m, RETRY_S);
	}
}

int mdns_avahi_start(struct mdns *m)
{
	struct timeval now;
	sigset_t all, old;
	if (!(m->tp = avahi_threaded_poll_new()) || !(m->name = avahi_strndup(m->hostname, 63)))
		return -1;
	/* the first connection is made in the thread too: it is a D-Bus round trip */
	m->retry = api(m)->timeout_new(api(m), avahi_elapse_time(&now, 0, 0), on_retry, m);
	sigfillset(&all); /* signals belong to the event loop's signalfd */
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = m->retry ? avahi_threaded_poll_start(m->tp) : -1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	m->running = r == 0;
	return r;
}

/* The client is freed in the thread that used it, so libdbus's connection is never touched by
 * two threads. */
static void on_end(AvahiTimeout *t, void *arg)
{
	struct mdns *m = arg;
	drop_client(m); /* its services leave the LAN with its connection */
	pthread_mutex_lock(&m->lock);
	m->ended = true;
	pthread_cond_signal(&m->ended_cv);
	pthread_mutex_unlock(&m->lock);
}

void mdns_avahi_stop(struct mdns *m)
{
	struct timeval now;
	if (!m->tp)
		return;
	if (m->running) {
		/* a hung avahi-daemon holds this up to D-Bus's reply timeout (25 s), at exit only */
		avahi_threaded_poll_lock(m->tp);
		AvahiTimeout *end = api(m)->timeout_new(api(m), avahi_elapse_time(&now, 0, 0), on_end, m);
		avahi_threaded_poll_unlock(m->tp);
		pthread_mutex_lock(&m->lock);
		while (end && !m->ended)
			pthread_cond_wait(&m->ended_cv, &m->lock);
		pthread_mutex_unlock(&m->lock);
		avahi_threaded_poll_stop(m->tp); /* joins the thread: from then on all is ours */
	}
	drop_client(m); /* the thread never ran, or on_end could not be set */
	if (m->retry)
		api(m)->timeout_free(m->retry);
	if (m->again)
		api(m)->timeout_free(m->again);
	m->retry = m->again = NULL;
	avahi_threaded_poll_free(m->tp);
	m->tp = NULL;
	avahi_free(m->name);
	m->name = NULL;
}
