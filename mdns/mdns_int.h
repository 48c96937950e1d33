/* Between the two halves of mdns/: door.c runs in the event loop's thread, avahi.c in
 * Avahi's. What both touch is under lock; the rest belongs to one side, as marked. */
#ifndef VMFS_MDNS_INT_H
#define VMFS_MDNS_INT_H
#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-client/publish.h>
#include <avahi-common/thread-watch.h>
#include <netinet/in.h>
#include <pthread.h>
#include <time.h>

#include "mdns/found.h"
#include "mdns/mdns.h"
#include "runtime/util.h"
#include "vmfs/threadlog.h"

#define MDNS_ADS 4
#define MDNS_TYPES 3 /* found_types */

struct mdns_pub {
	char door[16], type[32], txt[128];
	struct in_addr ip;
	uint16_t port;
};

struct mdns {
	struct vmfs *v;
	/* set at open, then only read */
	char hostname[256];
	char version[32];
	struct mdns_pub pubs[MDNS_ADS];
	size_t npubs;
	bool discover;
	/* Avahi's thread's (the loop's before the thread starts and after it stops) */
	AvahiThreadedPoll *tp;
	bool running; /* its thread was started */
	AvahiClient *client;
	AvahiEntryGroup *group;
	char *name; /* the service name in use: the host's, or Avahi's alternative after a clash */
	AvahiServiceBrowser *browsers[MDNS_TYPES];
	AvahiTimeout *retry, *again; /* connecting again; resolving again */
	char said[300];	   /* the last word about the daemon, not repeated at each retry */
	time_t quiet_from; /* at most a few lines a minute about what the LAN says */
	unsigned quiet_n;
	bool full_said;
	/* shared: under lock */
	pthread_mutex_t lock;
	struct found_tab tab;
	struct threadlog tl;	 /* lines for host/log, which the loop writes (its own lock) */
	pthread_cond_t ended_cv; /* the thread let its client go (on_end): ended */
	bool ended;
};

/* Any thread: a line for host/log, "discovery: " first. */
#define mdns_say(m, ...) threadlog_say(&(m)->tl, __VA_ARGS__)

/* avahi.c: the thread, started (connecting in it) and stopped (publications withdrawn). */
int mdns_avahi_start(struct mdns *m);
void mdns_avahi_stop(struct mdns *m);
#endif
