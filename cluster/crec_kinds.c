/* The record kinds whose fields are all in one table: the design's "Keys" table, a row per
 * field, each row tagged with its kind. Objects, top and the template's values, which have
 * keys of their own making, are in crec_obj.c. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cluster/crec_impl.h"
#include "ctl/util.h"

enum {
	T_layout = 1,
	T_hid,
	T_alive,
	T_hinfo,
	T_ans,
	T_down,
	T_nextns,
	T_ns,
	T_nsid,
	T_vlan,
	T_claim,
	T_cap,
	T_cmd,
	T_intent,
	T_forgotten,
	T_hload,
};

/* Rows: the kind K, its key, then what the field kind needs. */
#define AT(K, m) T_##K, offsetof(struct crec_##K, m)
#define SIZE(K, m) sizeof(((struct crec_##K *)0)->m)
#define NUM(K, key, req, m, lo, hi)                                                                \
	{                                                                                          \
		key, FK_NUM, req, AT(K, m), 0, lo, hi, NULL                                        \
	}
#define TIME(K, key, req, m) NUM(K, key, req, m, 0, CREC_TIME_MAX)
#define STR(K, key, kind, req, m, lo, set)                                                         \
	{                                                                                          \
		key, kind, req, AT(K, m), 0, lo, SIZE(K, m), set                                   \
	}
#define NAME(K, key, req, m) STR(K, key, FK_NAME, req, m, 0, NULL)
#define ONE(K, key, kind, req, m, arg)                                                             \
	{                                                                                          \
		key, kind, req, AT(K, m), 0, 0, 0, arg                                             \
	}
#define LIST(K, key, kind, req, m, n)                                                              \
	{                                                                                          \
		key, kind, req, AT(K, m), offsetof(struct crec_##K, n), 0, 0, NULL                 \
	}

#define HEX "0123456789abcdef"
#define MEM_MAX (1ull << 50)
#define WORD "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

static const char *const ans_states[] = {"taken", "done", "late", NULL};
static const char *const down_whys[] = {"stopped", "lapsed", NULL};
const char *const crec_otypes[] = {"kvm", "container", NULL};
static const char *const unfits[] = {"skip", "refuse", NULL};
static const char *const intent_kinds[] = {"launch", "move", "migrate", NULL};
static const char *const phases[] = {"claiming", "creating", "rollback", NULL};

static const struct crec_field fields[] = {
    NUM(layout, "layout", 1, layout, 1, UINT32_MAX),

    STR(hid, "uuid", FK_WORD, 1, uuid, 32, HEX),
    TIME(hid, "joined", 1, joined),

    NUM(alive, "run", 1, run, 0, CKEY_RUN_MAX),
    TIME(alive, "started", 1, started),
    STR(alive, "version", FK_WORD, 1, version, 0, WORD "+~"),
    STR(alive, "addr", FK_ADDR, 1, addr, 0, NULL),
    STR(alive, "p9", FK_HOSTPORT, 1, p9, 0, NULL),
    STR(alive, "web", FK_URL, 0, web, 0, NULL),
    {"migrate", FK_PORTS, 0, AT(alive, migrate_lo), offsetof(struct crec_alive, migrate_hi)},

    NUM(hinfo, "cpus", 1, cpus, 1, 65536),
    NUM(hinfo, "memory", 1, memory, 1, MEM_MAX),
    {"cpu_ratio", FK_RATIO, 1, AT(hinfo, cpu_ratio), 0, 1, 1000000, NULL},
    {"mem_ratio", FK_RATIO, 1, AT(hinfo, mem_ratio), 0, 1, 1000000, NULL},
    ONE(hinfo, "kvm", FK_BOOL, 1, kvm, NULL),
    STR(hinfo, "qemu", FK_WORD, 0, qemu, 0, "0123456789."),
    STR(hinfo, "machine", FK_WORDS, 0, machine, 0, WORD),

    ONE(ans, "state", FK_CHOICE, 1, state, ans_states),
    ONE(ans, "errno", FK_ERRNO, 0, err, NULL),
    STR(ans, "reason", FK_TEXT, 0, reason, 0, NULL),
    NUM(ans, "count", 0, count, 0, OBJ_ID_MAX),

    TIME(down, "since", 1, since),
    ONE(down, "why", FK_CHOICE, 1, why, down_whys),
    NAME(down, "by", 1, by),

    NUM(nextns, "next", 1, next, 1, NS_ID_MAX + 1),

    NUM(ns, "id", 1, id, 1, NS_ID_MAX),
    LIST(ns, "hosts", FK_NAMES, 1, hosts, nhosts),
    NUM(ns, "next-id", 1, next_id, 1, OBJ_ID_MAX + 1),
    NUM(ns, "uid", 1, uid, 0, UINT32_MAX - 1),
    NUM(ns, "gid", 1, gid, 0, UINT32_MAX - 1),
    /* permission bits only: a namespace's directory has no set-id or sticky bit. Read up to
     * 07777 and masked (crec_ns_read): an earlier build published mkdir -m 2775's bits */
    {"mode", FK_OCT, 1, AT(ns, mode), 0, 0, 07777, NULL},
    TIME(ns, "ctime", 1, ctime),

    NAME(nsid, "name", 1, name),

    NUM(vlan, "id", 1, id, 1, 4094),

    NUM(claim, "id", 1, id, 1, OBJ_ID_MAX),
    ONE(claim, "type", FK_CHOICE, 1, type, crec_otypes),
    NAME(claim, "host", 1, host),
    ONE(claim, "intent", FK_TAG, 0, intent, NULL),
    TIME(claim, "ctime", 1, ctime),
    NAME(claim, "moving", 0, moving),

    NUM(cap, "vcpus", 1, vcpus, 0, MEM_MAX),
    NUM(cap, "memory", 1, memory, 0, MEM_MAX),
    NUM(cap, "objects", 1, objects, 0, MEM_MAX),
    TIME(cap, "drain", 0, drain),
    NUM(cap, "cfg-run", 0, cfg_run, 0, CKEY_RUN_MAX),

    NAME(cmd, "from", 1, from),
    NUM(cmd, "ns", 1, ns, 1, NS_ID_MAX),
    STR(cmd, "verb", FK_WORD, 1, verb, 0, "abcdefghijklmnopqrstuvwxyz-"),
    LIST(cmd, "ids", FK_IDS, 0, ids, nids),
    ONE(cmd, "unfit", FK_CHOICE, 1, unfit, unfits),
    {"args", FK_DTEXT, 0, AT(cmd, args), 0, 0, CREC_BIG_MAX, NULL},
    NUM(cmd, "take-ms", 1, take_ms, 1, 600000),
    TIME(cmd, "issued", 1, issued),
    NAME(cmd, "taken", 0, taken),
    STR(cmd, "nonce", FK_WORD, 0, nonce, 0, HEX),

    NAME(intent, "host", 1, host),
    ONE(intent, "kind", FK_CHOICE, 1, kind, intent_kinds),
    NUM(intent, "ns", 1, ns, 1, NS_ID_MAX),
    LIST(intent, "objects", FK_IOBJS, 1, objects, nobjects),
    ONE(intent, "phase", FK_CHOICE, 1, phase, phases),
    NUM(intent, "vcpus", 0, vcpus, 0, MEM_MAX),
    NUM(intent, "memory", 0, memory, 0, MEM_MAX),

    TIME(forgotten, "since", 1, since),
    NAME(forgotten, "by", 1, by),

    {"cpu", FK_RATIO, 1, AT(hload, cpu), 0, 0, 100000, NULL},
    {"load1", FK_RATIO, 1, AT(hload, load1), 0, 0, 999999999999ull, NULL},
    NUM(hload, "mem-used", 1, mem_used, 0, MEM_MAX),
    TIME(hload, "at", 1, at),
};

#define KIND(K, what, max_) KINDX(K, what, max_, NULL, NULL)
#define KINDX(K, what, max_, other_, write_other_)                                                 \
	KIND_TABLE(K, what, max_, other_, write_other_)                                            \
	CREC_WRAP(K)
#define KIND_TABLE(K, what, max_, other_, write_other_)                                            \
	static const struct crec_kind kind_##K = {what,                                            \
						  .max = max_,                                     \
						  .other = other_,                                 \
						  .write_other = write_other_,                     \
						  .size = sizeof(struct crec_##K),                 \
						  .unknown_off =                                   \
						      offsetof(struct crec_##K, unknown),          \
						  .f = fields,                                     \
						  .nf = ARRAY_SIZE(fields),                        \
						  .tag = T_##K,                                    \
						  .text_off = -1};

KIND(layout, "a layout", CREC_SMALL_MAX)
KIND(hid, "an id", CREC_SMALL_MAX)
KIND(alive, "an alive", CREC_SMALL_MAX)
KIND(hinfo, "an info", CREC_HINFO_MAX)
KIND(ans, "an answer", CREC_RECORD_MAX)
KIND(down, "a down", CREC_SMALL_MAX)
KIND(nextns, "a next-ns-id", CREC_SMALL_MAX)
KIND_TABLE(ns, "a namespace", CREC_RECORD_MAX, NULL, NULL)

int crec_ns_read(const char *text, size_t len, struct crec_ns *out, char *err, size_t errlen)
{
	int r = crec_read(&kind_ns, text, len, out, err, errlen);
	if (!r)
		out->mode &= 0777;
	return r;
}

void crec_ns_write(const struct crec_ns *in, struct sbuf *out)
{
	struct crec_ns n = *in; /* (strict: only permission bits ever go out) */
	n.mode &= 0777;
	crec_write(&kind_ns, &n, out);
}
KIND(nsid, "an nsid", CREC_SMALL_MAX)
KIND(vlan, "a vlan", CREC_SMALL_MAX)
KIND(claim, "a claim", CREC_RECORD_MAX)
/* cfg-pending, a list whose words are checked together (no object twice). */
static int cap_other(void *out, const char *key, const char *value, char *err, size_t errlen)
{
	struct crec_cap *c = out;
	struct crec_pend p[CREC_PENDING_LEN / 8];
	if (strcmp(key, "cfg-pending"))
		return 1;
	size_t n = strlen(value);
	if (!n || n >= sizeof(c->cfg_pending) || strspn(value, "0123456789.:- ") != n ||
	    value[0] == ' ' || value[n - 1] == ' ' || strstr(value, "  "))
		return ctl_fail(err, errlen,
				"not NSID.ID:VCPUS:MEMORY words (a figure may be -) one space apart, within %zu bytes",
				sizeof(c->cfg_pending) - 1);
	memcpy(c->cfg_pending, value, n + 1);
	int r = crec_cap_pending(c, p, ARRAY_SIZE(p), err, errlen);
	return r < 0 ? r : 0;
}

static void cap_write_other(const void *in, struct sbuf *b)
{
	const struct crec_cap *c = in;
	if (c->cfg_pending[0])
		sb_printf(b, "cfg-pending=%s\n", c->cfg_pending);
}

KINDX(cap, "a cap", CREC_SMALL_MAX, cap_other, cap_write_other)
KIND(cmd, "a command", CREC_BIG_MAX)
KIND(intent, "an intent", CREC_BIG_MAX)
KIND(forgotten, "a forgotten", CREC_SMALL_MAX)
KIND(hload, "a load", CREC_SMALL_MAX)

int crec_cap_pending(const struct crec_cap *cap, struct crec_pend *out, size_t max, char *err,
		     size_t errlen)
{
	char buf[CREC_PENDING_LEN], *save = NULL;
	size_t n = 0;
	snprintf(buf, sizeof(buf), "%s", cap->cfg_pending);
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		struct crec_pend p;
		char *dot = strchr(w, '.'), *c1 = dot ? strchr(dot, ':') : NULL,
		     *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || strchr(c2 + 1, ':') || strchr(dot + 1, '.') || strchr(w, ':') < dot)
			return ctl_fail(err, errlen, "\"%.60s\" is not NSID.ID:VCPUS:MEMORY", w);
		*dot = *c1 = *c2 = 0;
		p = (struct crec_pend){.has_vcpus = strcmp(c1 + 1, "-") != 0,
				       .has_memory = strcmp(c2 + 1, "-") != 0};
		if (crec_id(w, 1, NS_ID_MAX, &p.nsid, err, errlen) ||
		    crec_id(dot + 1, 1, OBJ_ID_MAX, &p.id, err, errlen) ||
		    (p.has_vcpus && crec_id(c1 + 1, 0, (1u << 20) - 1, &p.vcpus, err, errlen)) ||
		    (p.has_memory && crec_id(c2 + 1, 0, MEM_MAX, &p.memory, err, errlen)))
			return -EINVAL;
		if (!p.has_vcpus && !p.has_memory)
			return ctl_fail(err, errlen, "\"%.60s\" sets neither figure", cap->cfg_pending);
		for (size_t j = 0; j < n; j++)
			if (out[j].nsid == p.nsid && out[j].id == p.id)
				return ctl_fail(err, errlen, "object %llu.%llu is listed twice",
						(unsigned long long)p.nsid, (unsigned long long)p.id);
		if (n == max)
			return ctl_fail(err, errlen, "more than %zu objects", max);
		out[n++] = p;
	}
	return (int)n;
}

int crec_cap_set_pending(struct crec_cap *cap, const struct crec_pend *p, size_t n)
{
	char buf[CREC_PENDING_LEN];
	size_t at = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n; i++) {
		char v[24] = "-", m[24] = "-";
		if (p[i].has_vcpus)
			snprintf(v, sizeof(v), "%llu", (unsigned long long)p[i].vcpus);
		if (p[i].has_memory)
			snprintf(m, sizeof(m), "%llu", (unsigned long long)p[i].memory);
		int w = snprintf(buf + at, sizeof(buf) - at, "%s%llu.%llu:%s:%s", i ? " " : "",
				 (unsigned long long)p[i].nsid, (unsigned long long)p[i].id, v, m);
		if (w < 0 || (size_t)w >= sizeof(buf) - at)
			return -ENOSPC;
		at += (size_t)w;
	}
	memcpy(cap->cfg_pending, buf, at + 1);
	if (!n)
		cap->cfg_run = 0;
	return 0;
}

void crec_ns_free(struct crec_ns *n) { crec_release(&kind_ns, n); }
void crec_cmd_free(struct crec_cmd *c) { crec_release(&kind_cmd, c); }
void crec_intent_free(struct crec_intent *i) { crec_release(&kind_intent, i); }
