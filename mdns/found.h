/* What other vmfs announce on the LAN: the rows of hosts/discovered. Pure bookkeeping (no
 * Avahi), so that the unit test drives it: the browser adds a row per service it sees, the
 * resolver fills it from what the service says (TXT records: hostile bytes from anyone on
 * the LAN, checked here), and the table is formatted for the tree. The caller locks. */
#ifndef VMFS_MDNS_FOUND_H
#define VMFS_MDNS_FOUND_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/util.h"

/* A LAN could announce without end: past this many services, the rest are not listed. */
#define FOUND_MAX 256

struct found {
	/* what the browser names it by */
	int ifindex;
	char name[64], type[32], domain[64];
	void *resolver; /* the Avahi thread's, never touched by the table */
	bool resolved;  /* a vmfs, with the fields below checked */
	bool told;      /* why it is not listed went to host/log (once: it is resolved again) */
	char host[64], version[32], path[128], addr[48];
	uint16_t port;
};

struct found_tab {
	struct found **v;
	size_t n;
};

/* The service types a vmfs announces, and the name of each in the table ("9p", "http",
 * "https"); NULL for another type. */
extern const char *const found_types[];
const char *found_service(const char *type);

struct found *found_get(const struct found_tab *t, int ifindex, const char *name,
			const char *type, const char *domain);
/* A new row, not resolved yet; NULL when the table is full, out of memory, or the names do
 * not fit (longer than DNS-SD allows). */
struct found *found_add(struct found_tab *t, int ifindex, const char *name, const char *type,
			const char *domain);
void found_drop(struct found_tab *t, struct found *f);
void found_clear(struct found_tab *t);

/* Fills f from a resolved service: its IPv4 address, port and TXT items ("key=value", each
 * len[i] bytes, NUL bytes included). Returns 0 (f is listed), 1 when it is not a vmfs (no
 * vmfs= item: another program's web server; not listed, nothing to say), or -EINVAL with the
 * reason in err (a vmfs= item but a host=, vmfs= or path= that is not well formed). */
int found_set(struct found *f, const char *addr, uint16_t port, const char *const *txt,
	      const size_t *len, size_t ntxt, char *err, size_t errlen);

/* hosts/discovered: a header, then one row per resolved service, sorted, each once:
 * host service address port version url, tab-separated. */
void found_table(const struct found_tab *t, struct sbuf *out);
#endif
