#include "cluster/chosts.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/chload.h"
#include "cluster/ckey.h"
#include "cluster/crec.h"
#include "runtime/model.h"
#include "runtime/util.h"

struct chosts *chosts_new(const char *cluster, const char *self, struct evlog *log)
{
	struct chosts *ch = calloc(1, sizeof(*ch));
	if (!ch || !(ch->cache = ccache_new())) {
		free(ch);
		return NULL;
	}
	snprintf(ch->cluster, sizeof(ch->cluster), "%s", cluster);
	snprintf(ch->self, sizeof(ch->self), "%s", self);
	ckey_prefix(ch->prefix, sizeof(ch->prefix), cluster);
	ch->log = log;
	ch->link_since = time(NULL);
	pthread_mutex_init(&ch->lock, NULL);
	return ch;
}

void chosts_free(struct chosts *ch)
{
	if (!ch)
		return;
	for (size_t i = 0; i < ch->n; i++)
		free(ch->v[i]);
	free(ch->v);
	ccache_free(ch->cache);
	pthread_mutex_destroy(&ch->lock);
	free(ch);
}


static struct chost *entry(struct chosts *ch, const char *name, bool make)
{
	bool found;
	size_t at = name_pos((void *const *)ch->v, ch->n, offsetof(struct chost, name), name, &found);
	if (found)
		return ch->v[at];
	if (!make)
		return NULL;
	struct chost *h = calloc(1, sizeof(*h));
	struct chost **v = h ? realloc(ch->v, (ch->n + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(h);
		return NULL;
	}
	ch->v = v;
	memmove(v + at + 1, v + at, (ch->n - at) * sizeof(*v));
	v[at] = h;
	ch->n++;
	h->slot = ++ch->next_slot;
	snprintf(h->name, sizeof(h->name), "%s", name);
	return h;
}

struct chost *chosts_find(struct chosts *ch, const char *name)
{
	struct chost *h = entry(ch, name, false);
	return h && h->present && !h->forgotten ? h : NULL;
}

struct chost *chosts_slot(struct chosts *ch, uint32_t slot)
{
	for (size_t i = 0; i < ch->n; i++)
		if (ch->v[i]->slot == slot)
			return ch->v[i]->present && !ch->v[i]->forgotten ? ch->v[i] : NULL;
	return NULL;
}

int chosts_names(struct chosts *ch, size_t from, int (*fn)(void *ctx, const char *name, size_t idx),
		 void *ctx)
{
	if (from == 0 && fn(ctx, ch->self, 0))
		return 1;
	size_t idx = 1;
	for (size_t i = 0; i < ch->n; i++) {
		const struct chost *h = ch->v[i];
		if (!h->present || h->forgotten || !strcmp(h->name, ch->self))
			continue;
		if (idx >= from && fn(ctx, h->name, idx))
			return 1;
		idx++;
	}
	return 0;
}

int chosts_listen(struct chosts *ch, ccache_change_fn fn, void *ctx)
{
	if (ch->nlisten == CHOSTS_LISTEN_MAX)
		return -ENOSPC;
	ch->listen[ch->nlisten++] = (struct chosts_listener){fn, ctx};
	return 0;
}

void chosts_set_link(struct chosts *ch, enum chosts_link l, const char *why)
{
	pthread_mutex_lock(&ch->lock);
	if (ch->link != l)
		ch->link_since = time(NULL);
	ch->link = l;
	snprintf(ch->link_why, sizeof(ch->link_why), "%s", why ? why : "");
	pthread_mutex_unlock(&ch->lock);
}

enum chosts_link chosts_get_link(struct chosts *ch, char *why, size_t whylen)
{
	pthread_mutex_lock(&ch->lock);
	enum chosts_link l = ch->link;
	if (why)
		snprintf(why, whylen, "%s", ch->link_why);
	pthread_mutex_unlock(&ch->lock);
	return l;
}

/* A record of host's, read by its kind's reader: the cache's value, or NULL (absent or
 * refused: a refusal was logged when its event came). */
static const struct ccache_kv *record(struct chosts *ch, enum ckey_kind kind, const char *host)
{
	char key[CKEY_MAX + 1];
	int (*fn)(char *, size_t, const char *, const char *) =
	    kind == CK_ALIVE	     ? ckey_alive
	    : kind == CK_DOWN	     ? ckey_down
	    : kind == CK_HINFO	     ? ckey_hinfo
	    : kind == CK_CAP	     ? ckey_cap
	    : kind == CK_FORGOTTEN ? ckey_forgotten
	    : kind == CK_HLOAD     ? ckey_hload
				     : ckey_hid;
	int r = fn(key, sizeof(key), ch->cluster, host);
	return r < 0 ? NULL : ccache_get(ch->cache, key);
}

static bool read_alive(struct chosts *ch, const char *host, struct crec_alive *a)
{
	const struct ccache_kv *kv = record(ch, CK_ALIVE, host);
	char err[256];
	return kv && crec_alive_read(kv->value, kv->len, a, err, sizeof(err)) == 0;
}

bool chosts_alive(struct chosts *ch, const char *host, struct crec_alive *a)
{
	return read_alive(ch, host, a);
}

bool chosts_addr_known(struct chosts *ch, const char *addr)
{
	struct crec_alive a;
	for (size_t i = 0; i < ch->n; i++)
		if (ch->v[i]->present && strcmp(ch->v[i]->name, ch->self) &&
		    read_alive(ch, ch->v[i]->name, &a) && !strcmp(a.addr, addr))
			return true;
	return false;
}

static bool read_down(struct chosts *ch, const char *host, struct crec_down *d, bool *unseen)
{
	const struct ccache_kv *kv = record(ch, CK_DOWN, host);
	char err[256];
	if (!kv || crec_down_read(kv->value, kv->len, d, err, sizeof(err)))
		return false;
	/* written by a vmfs that found neither alive nor down: it did not see the host go */
	*unseen = strstr(kv->value, "\nunseen=yes\n") != NULL;
	return true;
}

bool chosts_up(struct chosts *ch, const char *host)
{
	struct crec_alive a;
	return read_alive(ch, host, &a);
}

bool chosts_forgotten(struct chosts *ch, const char *host, char *why, size_t whylen)
{
	const struct ccache_kv *kv = record(ch, CK_FORGOTTEN, host);
	struct crec_forgotten f;
	char err[256], ts[32], area[CKEY_MAX + 1];
	if (!kv)
		return false;
	if (crec_forgotten_read(kv->value, kv->len, &f, err, sizeof(err))) {
		f.since = 0;
		snprintf(f.by, sizeof(f.by), "?");
	}
	fmt_time((time_t)f.since, ts);
	ckey_host_prefix(area, sizeof(area), ch->cluster, host);
	snprintf(why, whylen,
		 "%s was forgotten by %s at %s: it stays out of the cluster until the admin "
		 "deletes %sforgotten/%s and %s",
		 host, f.by, ts, ch->prefix, host, area);
	return true;
}

/* "; draining since T" when P/cap/H says so */
static void drain_state(struct chosts *ch, const char *host, struct sbuf *out)
{
	const struct ccache_kv *kv = record(ch, CK_CAP, host);
	struct crec_cap c;
	char err[256], ts[32];
	if (kv && !crec_cap_read(kv->value, kv->len, &c, err, sizeof(err)) && c.drain) {
		fmt_time((time_t)c.drain, ts);
		sb_printf(out, "; draining since %s", ts);
	}
}

/* "up since T, run N", "down since T (why)", from the records alone */
static void record_state(struct chosts *ch, const char *host, struct sbuf *out)
{
	struct crec_alive a;
	struct crec_down d;
	bool unseen;
	char ts[32];
	if (read_alive(ch, host, &a)) {
		fmt_time((time_t)a.started, ts);
		sb_printf(out, "up since %s, run %llu", ts, (unsigned long long)a.run);
	} else if (read_down(ch, host, &d, &unseen)) {
		fmt_time((time_t)d.since, ts);
		sb_printf(out, "down since %s%s (%s)", unseen ? "at least " : "", ts,
			  d.why == CREC_DOWN_STOPPED ? "stopped" : "lapsed");
	} else {
		sb_puts(out, "down (no alive or down record)");
	}
	drain_state(ch, host, out);
}

void chosts_state_text(struct chosts *ch, const struct chost *h, struct sbuf *out)
{
	pthread_mutex_lock(&ch->lock);
	enum chosts_link l = ch->link;
	time_t since = ch->link_since;
	char why[sizeof(ch->link_why)];
	snprintf(why, sizeof(why), "%s", ch->link_why);
	pthread_mutex_unlock(&ch->lock);
	char ts[32];
	fmt_time(since, ts);
	if (l == CL_CUT) {
		if (h) /* the cache stopped being true at the cut */
			sb_printf(out,
				  "UNKNOWN since %s: this host is cut from etcd (last known: ", ts);
		else
			sb_printf(out, "cut from etcd since %s: %s\n", ts, why);
		if (h) {
			record_state(ch, h->name, out);
			sb_puts(out, ")\n");
		}
		return;
	}
	if (!h && l == CL_REFUSED) {
		sb_printf(out, "not a member since %s: %s\n", ts, why);
		return;
	}
	if (!h && (l == CL_JOINING || !ch->synced)) {
		sb_printf(out, "joining cluster %s since %s%s%s\n", ch->cluster, ts,
			  *why ? ": " : "", why);
		return;
	}
	record_state(ch, h ? h->name : ch->self, out);
	sb_puts(out, "\n");
}

void chosts_info_text(struct chosts *ch, const struct chost *h, struct sbuf *out)
{
	struct crec_alive a;
	struct crec_hinfo hi;
	char err[256], ts[32];
	sb_printf(out, "name %s\n", h->name);
	if (read_alive(ch, h->name, &a)) {
		fmt_time((time_t)a.started, ts);
		sb_printf(out, "version vmfs %s\n", a.version);
		sb_printf(out, "addr %s\n", a.addr);
		sb_printf(out, "p9 %s\n", a.p9);
		if (*a.web)
			sb_printf(out, "web %s\n", a.web);
		if (a.migrate_lo)
			sb_printf(out, "migrate %u-%u\n", a.migrate_lo, a.migrate_hi);
		sb_printf(out, "run %llu\n", (unsigned long long)a.run);
		sb_printf(out, "started %s\n", ts);
	}
	const struct ccache_kv *kv = record(ch, CK_HINFO, h->name);
	if (kv && !crec_hinfo_read(kv->value, kv->len, &hi, err, sizeof(err))) {
		sb_printf(out, "cpus %llu\n", (unsigned long long)hi.cpus);
		sb_printf(out, "memory %.1fG\n", hi.memory / (1024.0 * 1024 * 1024));
		sb_printf(out, "kvm %s\n", hi.kvm ? "yes" : "no");
		if (*hi.qemu)
			sb_printf(out, "qemu %s\n", hi.qemu);
	}
	sb_puts(out, "state ");
	chosts_state_text(ch, h, out);
}

/* Host's load record, read and sane against its memory (0: not known); false: `-`. */
static bool read_load(struct chosts *ch, const char *host, uint64_t mem_total,
		      struct crec_hload *l, char *why, size_t whylen)
{
	const struct ccache_kv *kv = record(ch, CK_HLOAD, host);
	if (!kv) {
		snprintf(why, whylen, "absent");
		return false;
	}
	return !crec_hload_read(kv->value, kv->len, l, why, whylen) &&
	       chload_sane(l, mem_total, why, whylen);
}

void chosts_top_text(struct chosts *ch, const struct chost *h, size_t vms, size_t cts,
		     struct sbuf *out)
{
	struct crec_hinfo hi;
	struct crec_hload l;
	char err[256], cells[96] = "-\t-\t-", age[32] = "-", mem[32] = "-";
	sb_puts(out, CHOSTS_TOP_HEAD);
	if (!record(ch, CK_ALIVE, h->name)) {
		sb_printf(out, "%s\t-\t-\t-\t-\t-\t-\t-\n", h->name);
		return;
	}
	const struct ccache_kv *kv = record(ch, CK_HINFO, h->name);
	bool info = kv && !crec_hinfo_read(kv->value, kv->len, &hi, err, sizeof(err));
	if (info)
		snprintf(mem, sizeof(mem), "%lluM", (unsigned long long)(hi.memory >> 20));
	if (read_load(ch, h->name, info ? hi.memory : 0, &l, err, sizeof(err))) {
		chload_cells(&l, cells, sizeof(cells));
		fmt_duration((long)(time(NULL) - (time_t)l.at), age); /* (by this host's clock) */
	}
	sb_printf(out, "%s\t%s\t%s\t%zu\t%zu\t%s\n", h->name, cells, mem, vms, cts, age);
}

/* A record refused by its reader is treated as absent; the log says which and why. */
static bool check(struct chosts *ch, enum ckey_kind kind, const char *key,
		  const struct ccache_kv *kv)
{
	char err[256] = "";
	int r = 0;
	union {
		struct crec_hid id;
		struct crec_alive alive;
		struct crec_down down;
		struct crec_hinfo hinfo;
		struct crec_cap cap;
		struct crec_hload load;
	} u;
	switch (kind) {
	case CK_HID:
		r = crec_hid_read(kv->value, kv->len, &u.id, err, sizeof(err));
		break;
	case CK_ALIVE:
		r = crec_alive_read(kv->value, kv->len, &u.alive, err, sizeof(err));
		break;
	case CK_DOWN:
		r = crec_down_read(kv->value, kv->len, &u.down, err, sizeof(err));
		break;
	case CK_HINFO:
		r = crec_hinfo_read(kv->value, kv->len, &u.hinfo, err, sizeof(err));
		break;
	case CK_CAP:
		r = crec_cap_read(kv->value, kv->len, &u.cap, err, sizeof(err));
		break;
	case CK_HLOAD: { /* its figures, and against the memory its info says the host has */
		struct ckey k;
		struct crec_hinfo hi;
		const struct ccache_kv *in = ckey_parse(ch->cluster, key, &k) == CK_HLOAD
						 ? record(ch, CK_HINFO, k.host)
						 : NULL;
		uint64_t mem = in && !crec_hinfo_read(in->value, in->len, &hi, err, sizeof(err))
				   ? hi.memory
				   : 0;
		r = crec_hload_read(kv->value, kv->len, &u.load, err, sizeof(err));
		if (!r && !chload_sane(&u.load, mem, err, sizeof(err)))
			r = -EINVAL;
		break;
	}
	default:
		break;
	}
	if (r)
		evlog_add(ch->log, "etcd: %s (revision %lld): %s: treated as absent", key,
			  (long long)kv->mod_rev, err);
	return r == 0;
}

void chosts_changed(void *ctx, const char *key, const struct ccache_kv *old,
		    const struct ccache_kv *now)
{
	struct chosts *ch = ctx;
	struct ckey k;
	if (ckey_parse(ch->cluster, key, &k) == CK_NONE)
		return;
	char ts[32];
	switch (k.kind) {
	case CK_HID: {
		struct chost *h = entry(ch, k.host, now != NULL);
		if (h)
			h->present = now != NULL;
		if (now)
			check(ch, k.kind, key, now);
		else if (old)
			evlog_add(ch->log, "etcd: %s's name claim is gone: not listed in hosts/",
				  k.host);
		break;
	}
	case CK_ALIVE:
		if (now && check(ch, k.kind, key, now) && !old) {
			struct crec_alive a;
			char err[256];
			crec_alive_read(now->value, now->len, &a, err, sizeof(err));
			fmt_time((time_t)a.started, ts);
			evlog_add(ch->log, "etcd: %s is up (run %llu, started %s, at %s)", k.host,
				  (unsigned long long)a.run, ts, a.addr);
		} else if (!now) {
			evlog_add(ch->log, "etcd: %s's lease is gone%s", k.host,
				  ch->loading ? " (seen at a resync)" : "");
			if (!ch->loading && ch->lapsed)
				ch->lapsed(ch->ctx, k.host);
		}
		break;
	case CK_DOWN:
		if (now && check(ch, k.kind, key, now)) {
			struct crec_down d;
			char err[256];
			crec_down_read(now->value, now->len, &d, err, sizeof(err));
			fmt_time((time_t)d.since, ts);
			evlog_add(ch->log, "etcd: %s is down since %s (%s, by %s)", k.host, ts,
				  d.why == CREC_DOWN_STOPPED ? "stopped" : "lapsed", d.by);
		}
		break;
	case CK_HINFO:
	case CK_HLOAD: /* (refused: `-` in hosts/H/top, said once per revision) */
		if (now)
			check(ch, k.kind, key, now);
		break;
	case CK_FORGOTTEN: {
		struct chost *h = entry(ch, k.host, now != NULL);
		if (h)
			h->forgotten = now != NULL;
		if (now)
			evlog_add(ch->log, "etcd: %s is forgotten: its records are ignored", k.host);
		else if (old)
			evlog_add(ch->log, "etcd: %s is no longer forgotten", k.host);
		break;
	}
	case CK_CAP:
		if (now && !check(ch, k.kind, key, now))
			break;
		{
			struct crec_cap was = {0}, is = {0};
			char err[256];
			if (old)
				crec_cap_read(old->value, old->len, &was, err, sizeof(err));
			if (now)
				crec_cap_read(now->value, now->len, &is, err, sizeof(err));
			if (!was.drain != !is.drain)
				evlog_add(ch->log, "etcd: %s %s", k.host,
					  is.drain ? "is draining: it takes nothing new"
						   : "is no longer draining");
		}
		break;
	default:
		break;
	}
}
