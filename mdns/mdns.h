/* Discovery with Avahi (libavahi-client), as the libvirt web handler did with mDNS: asked to
 * (announce = yes, --announce), vmfs announces its network doors on the LAN, the web door as
 * _http._tcp (_https._tcp with TLS) and the 9P door as _vmfs-9p._tcp, under the host's name
 * with TXT items host=NAME, vmfs=VERSION (and path=/ for the web); asked to (discover = yes,
 * --discover), it lists what other vmfs announce in hosts/discovered (mdns/found.h).
 *
 * Avahi is never needed: with no avahi-daemon or no D-Bus, host/log says so in one line
 * ("discovery: avahi-daemon not reachable: ...") and vmfs goes on, connecting when the daemon
 * appears. */
#ifndef VMFS_MDNS_H
#define VMFS_MDNS_H
#include <stdbool.h>
#include <stddef.h>

struct vmfs;
struct vnode;
struct sbuf;
struct door;

/* One door to announce, as main.c knows it. */
struct mdns_ad {
	const char *door; /* its name in host/log: "web", "9p" */
	const char *type; /* the DNS-SD service type: "_http._tcp", "_vmfs-9p._tcp" */
	const char *addr; /* where it listens, IPV4:PORT as vmfs.conf takes it; "": no such door */
	const char *txt;  /* one more TXT item ("path=/"), or NULL */
};

/* Fills out for the daemon (vmfs/door.h): attached, it runs Avahi's client in a thread of its
 * own (mdns/avahi.c says why) that publishes ads (announce; doors on a loopback address are
 * not announced: host/log says so) and browses (discover); stopped, it withdraws them.
 * Sets v->mdns. -1 only when out of memory. */
int mdns_door_open(struct vmfs *v, const struct mdns_ad *ads, size_t n, bool announce,
		   bool discover, struct door *out);

/* hosts/discovered */
int gen_hosts_discovered(struct vmfs *v, const struct vnode *n, struct sbuf *out);
#endif
