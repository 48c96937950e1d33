/* The key layout (ckey.h). One table of shapes serves both ways, so a builder cannot write a
 * key that the classifier reads otherwise. In a shape, a lowercase word is itself and one
 * capital letter is a part: H host, S namespace name, N namespace id, I object id, M object
 * name, P parameter, A VLAN alias, T tag. */
#include "cluster/ckey.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctl/params.h"
#include "runtime/model.h" /* NS_ID_MAX, OBJ_ID_MAX */

static const char *const shapes[CK_KINDS] = {
    [CK_LAYOUT] = "layout",    [CK_HID] = "h/H/id",	 [CK_ALIVE] = "h/H/alive",
    [CK_HINFO] = "h/H/info",   [CK_TOP] = "h/H/top/N",	 [CK_OBJ] = "h/H/o/N/I",
    [CK_ANS] = "h/H/ans/T",    [CK_DOWN] = "down/H",	 [CK_NEXTNS] = "next-ns-id",
    [CK_NS] = "ns/S",	       [CK_NSID] = "nsid/N",	 [CK_NSCFG] = "ns/S/cfg/P",
    [CK_VLAN] = "ns/S/vlan/A", [CK_CLAIM] = "name/N/M",	 [CK_CAP] = "cap/H",
    [CK_CMD] = "cmd/H/T",      [CK_INTENT] = "intent/T", [CK_FORGOTTEN] = "forgotten/H",
    [CK_HLOAD] = "h/H/load",
};

#define SEG_MAX 6 /* the most segments a shape has, and one for a key that has too many */

/* A decimal without sign, blank or leading zero, within [lo, hi]. */
static int dec(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	size_t n = strlen(s);
	if (!n || n > 20 || strspn(s, "0123456789") != n || (s[0] == '0' && n > 1))
		return -EINVAL;
	uint64_t x = 0;
	for (; *s; s++) {
		unsigned d = *s - '0';
		if (d > hi || x > (hi - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	if (x < lo)
		return -EINVAL;
	*out = x;
	return 0;
}

static int fail(char *err, size_t errlen, const char *what, const char *s)
{
	if (errlen)
		snprintf(err, errlen, "%s: \"%.80s\"", what, s);
	return -EINVAL;
}

int ckey_tag_parse(const char *s, struct ckey_tag *out, char *err, size_t errlen)
{
	char buf[CKEY_TAG_LEN];
	size_t n = strlen(s);
	if (n >= sizeof(buf))
		return fail(err, errlen, "too long for HOST.RUN.SEQ", s);
	memcpy(buf, s, n + 1);
	char *seq = strrchr(buf, '.');
	if (!seq)
		return fail(err, errlen, "not HOST.RUN.SEQ", s);
	*seq++ = 0;
	char *run = strrchr(buf, '.');
	if (!run)
		return fail(err, errlen, "not HOST.RUN.SEQ", s);
	*run++ = 0;
	struct ckey_tag t = {{0}};
	if (name_check(buf, NULL, 0) || dec(run, 0, CKEY_RUN_MAX, &t.run) ||
	    dec(seq, 0, CKEY_SEQ_MAX, &t.seq))
		return fail(err, errlen, "not HOST.RUN.SEQ (a host name, two numbers)", s);
	strcpy(t.host, buf);
	*out = t;
	return 0;
}

void ckey_tag_fmt(const struct ckey_tag *t, char out[CKEY_TAG_LEN])
{
	snprintf(out, CKEY_TAG_LEN, "%s.%llu.%llu", t->host, (unsigned long long)t->run,
		 (unsigned long long)t->seq);
}

static int name_ok(const char *s, size_t size)
{
	return strnlen(s, size) < size && !name_check(s, NULL, 0);
}

static int tag_ok(const struct ckey_tag *t)
{
	return name_ok(t->host, sizeof(t->host)) && t->run <= CKEY_RUN_MAX &&
	       t->seq <= CKEY_SEQ_MAX;
}

static int param_ok(const char *s)
{
	return strnlen(s, CKEY_PARAM_MAX + 1) <= CKEY_PARAM_MAX && param_index(s) >= 0;
}

/* Takes segment s as part c of k: 0, or -EINVAL. */
static int part_take(char c, const char *s, struct ckey *k)
{
	switch (c) {
	case 'H':
	case 'S':
	case 'M':
	case 'A': {
		char *to = c == 'H' ? k->host : c == 'S' ? k->ns : c == 'M' ? k->name : k->alias;
		if (name_check(s, NULL, 0))
			return -EINVAL;
		strcpy(to, s); /* name_check bounds it to NAME_MAX_LEN */
		return 0;
	}
	case 'N':
		return dec(s, 1, NS_ID_MAX, &k->nsid);
	case 'I':
		return dec(s, 1, OBJ_ID_MAX, &k->id);
	case 'P':
		if (!param_ok(s))
			return -EINVAL;
		strcpy(k->param, s);
		k->param_index = param_index(s);
		return 0;
	case 'T':
		return ckey_tag_parse(s, &k->tag, NULL, 0);
	}
	return -EINVAL;
}

/* Whether segments seg[0..n) have the shape (walked in place: a key of a watch is parsed by
 * every host for every change, several times). */
static int shape_take(const char *shape, char **seg, size_t n, struct ckey *k)
{
	size_t i = 0;
	for (const char *w = shape; *w; i++) {
		size_t len = strcspn(w, "/");
		if (i >= n)
			return -EINVAL;
		int part = len == 1 && w[0] >= 'A' && w[0] <= 'Z';
		if (part ? part_take(w[0], seg[i], k)
			 : strncmp(w, seg[i], len) || seg[i][len])
			return -EINVAL;
		w += len + (w[len] == '/');
	}
	return i == n ? 0 : -EINVAL;
}

/* Whether a shape can fit: as many segments, the same first word (every shape starts with
 * one), before its parts are taken. */
static bool shape_may(const char *shape, char **seg, size_t n)
{
	size_t first = strcspn(shape, "/"), segs = 1;
	for (const char *c = shape; *c; c++)
		segs += *c == '/';
	return segs == n && !strncmp(shape, seg[0], first) && !seg[0][first];
}

int ckey_parse(const char *cluster, const char *key, struct ckey *out)
{
	memset(out, 0, sizeof(*out));
	char buf[CKEY_MAX + 1], *seg[SEG_MAX];
	size_t n = strnlen(key, CKEY_MAX + 1), cl = strlen(cluster);
	if (n > CKEY_MAX || name_check(cluster, NULL, 0) || strncmp(key, "/vmfs/", 6) ||
	    strncmp(key + 6, cluster, cl) || key[6 + cl] != '/')
		return CK_NONE;
	/* split by hand: strtok would fold "a//b" and a trailing '/' away */
	memcpy(buf, key + 7 + cl, n - 7 - cl + 1);
	size_t nseg = 0;
	for (char *s = buf;; s++) {
		if (nseg == SEG_MAX)
			return CK_NONE;
		seg[nseg++] = s;
		s = strchr(s, '/');
		if (!s)
			break;
		*s = 0;
	}
	for (size_t i = 0; i < nseg; i++)
		if (!*seg[i])
			return CK_NONE;
	for (int kind = CK_NONE + 1; kind < CK_KINDS; kind++) {
		if (!shape_may(shapes[kind], seg, nseg))
			continue;
		out->kind = kind;
		if (!shape_take(shapes[kind], seg, nseg, out))
			return kind;
		memset(out, 0, sizeof(*out)); /* (a part taken before the one that failed) */
	}
	return CK_NONE;
}

/* Appends part c of k to buf at *at: 0, -EINVAL (not a part ckey_parse takes) or
 * -ENAMETOOLONG. */
static int part_put(char c, const struct ckey *k, char *buf, size_t len, size_t *at)
{
	char num[CKEY_TAG_LEN];
	const char *s = num;
	int ok = 1;
	switch (c) {
	case 'H':
	case 'S':
	case 'M':
	case 'A':
		s = c == 'H' ? k->host : c == 'S' ? k->ns : c == 'M' ? k->name : k->alias;
		ok = name_ok(s, NAME_MAX_LEN + 1);
		break;
	case 'N':
	case 'I': {
		uint64_t v = c == 'N' ? k->nsid : k->id;
		ok = v >= 1 && v <= (c == 'N' ? NS_ID_MAX : OBJ_ID_MAX);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
		break;
	}
	case 'P':
		s = k->param;
		ok = param_ok(s);
		break;
	case 'T':
		ok = tag_ok(&k->tag);
		if (ok)
			ckey_tag_fmt(&k->tag, num);
		break;
	default:
		ok = 0;
	}
	if (!ok)
		return -EINVAL;
	int w = snprintf(buf + *at, len - *at, "%s", s);
	if ((size_t)w >= len - *at)
		return -ENAMETOOLONG;
	*at += w;
	return 0;
}

/* Writes P/ then shape's parts from k, and a trailing '/' if dir. */
static int build(char *buf, size_t len, const char *cluster, const char *shape,
		 const struct ckey *k, int dir)
{
	if (!len)
		return -ENAMETOOLONG;
	buf[0] = 0;
	if (!name_ok(cluster, NAME_MAX_LEN + 1))
		return -EINVAL;
	size_t cap = len < CKEY_MAX + 1 ? len : CKEY_MAX + 1;
	int w = snprintf(buf, cap, "/vmfs/%s/", cluster);
	int r = (size_t)w < cap ? 0 : -ENAMETOOLONG;
	size_t at = w;
	for (const char *p = shape; !r && *p; p++) {
		if (*p >= 'A' && *p <= 'Z' && (!p[1] || p[1] == '/'))
			r = part_put(*p, k, buf, cap, &at);
		else if (at + 1 < cap)
			buf[at++] = *p, buf[at] = 0;
		else
			r = -ENAMETOOLONG;
	}
	if (!r && dir && *shape) {
		if (at + 1 < cap)
			buf[at++] = '/', buf[at] = 0;
		else
			r = -ENAMETOOLONG;
	}
	if (r) {
		buf[0] = 0;
		return r;
	}
	return at;
}

int ckey_build(char *buf, size_t len, const char *cluster, const struct ckey *k)
{
	if (k->kind <= CK_NONE || k->kind >= CK_KINDS) {
		if (len)
			buf[0] = 0;
		return -EINVAL;
	}
	return build(buf, len, cluster, shapes[k->kind], k, 0);
}

/* Copies a caller's name into a part; one too long becomes "" (refused, never cut). */
static void put_name(char *to, size_t size, const char *s)
{
	size_t n = strnlen(s, size);
	if (n < size)
		memcpy(to, s, n + 1);
}

#define HOST_KEY(fn, kind_)                                                                        \
	int fn(char *buf, size_t len, const char *cluster, const char *host)                       \
	{                                                                                          \
		struct ckey k = {.kind = kind_};                                                   \
		put_name(k.host, sizeof(k.host), host);                                            \
		return ckey_build(buf, len, cluster, &k);                                          \
	}
HOST_KEY(ckey_hid, CK_HID)
HOST_KEY(ckey_alive, CK_ALIVE)
HOST_KEY(ckey_hinfo, CK_HINFO)
HOST_KEY(ckey_down, CK_DOWN)
HOST_KEY(ckey_cap, CK_CAP)
HOST_KEY(ckey_forgotten, CK_FORGOTTEN)
HOST_KEY(ckey_hload, CK_HLOAD)

int ckey_layout(char *buf, size_t len, const char *cluster)
{
	return ckey_build(buf, len, cluster, &(struct ckey){.kind = CK_LAYOUT});
}

int ckey_nextns(char *buf, size_t len, const char *cluster)
{
	return ckey_build(buf, len, cluster, &(struct ckey){.kind = CK_NEXTNS});
}

int ckey_top(char *buf, size_t len, const char *cluster, const char *host, uint64_t nsid)
{
	struct ckey k = {.kind = CK_TOP, .nsid = nsid};
	put_name(k.host, sizeof(k.host), host);
	return ckey_build(buf, len, cluster, &k);
}

int ckey_obj(char *buf, size_t len, const char *cluster, const char *host, uint64_t nsid,
	     uint64_t id)
{
	struct ckey k = {.kind = CK_OBJ, .nsid = nsid, .id = id};
	put_name(k.host, sizeof(k.host), host);
	return ckey_build(buf, len, cluster, &k);
}

int ckey_ans(char *buf, size_t len, const char *cluster, const char *host,
	     const struct ckey_tag *cmd)
{
	struct ckey k = {.kind = CK_ANS, .tag = *cmd};
	put_name(k.host, sizeof(k.host), host);
	return ckey_build(buf, len, cluster, &k);
}

int ckey_cmd(char *buf, size_t len, const char *cluster, const char *host,
	     const struct ckey_tag *cmd)
{
	struct ckey k = {.kind = CK_CMD, .tag = *cmd};
	put_name(k.host, sizeof(k.host), host);
	return ckey_build(buf, len, cluster, &k);
}

int ckey_ns(char *buf, size_t len, const char *cluster, const char *ns)
{
	struct ckey k = {.kind = CK_NS};
	put_name(k.ns, sizeof(k.ns), ns);
	return ckey_build(buf, len, cluster, &k);
}

int ckey_nsid(char *buf, size_t len, const char *cluster, uint64_t nsid)
{
	return ckey_build(buf, len, cluster, &(struct ckey){.kind = CK_NSID, .nsid = nsid});
}

int ckey_nscfg(char *buf, size_t len, const char *cluster, const char *ns, const char *param)
{
	struct ckey k = {.kind = CK_NSCFG};
	put_name(k.ns, sizeof(k.ns), ns);
	put_name(k.param, sizeof(k.param), param);
	return ckey_build(buf, len, cluster, &k);
}

int ckey_vlan(char *buf, size_t len, const char *cluster, const char *ns, const char *alias)
{
	struct ckey k = {.kind = CK_VLAN};
	put_name(k.ns, sizeof(k.ns), ns);
	put_name(k.alias, sizeof(k.alias), alias);
	return ckey_build(buf, len, cluster, &k);
}

int ckey_claim(char *buf, size_t len, const char *cluster, uint64_t nsid, const char *name)
{
	struct ckey k = {.kind = CK_CLAIM, .nsid = nsid};
	put_name(k.name, sizeof(k.name), name);
	return ckey_build(buf, len, cluster, &k);
}

int ckey_intent(char *buf, size_t len, const char *cluster, const struct ckey_tag *id)
{
	return ckey_build(buf, len, cluster, &(struct ckey){.kind = CK_INTENT, .tag = *id});
}

int ckey_prefix(char *buf, size_t len, const char *cluster)
{
	return build(buf, len, cluster, "", NULL, 0);
}

/* A prefix whose one part is a host (H) or a namespace's name (S). */
static int named_prefix(char *buf, size_t len, const char *cluster, const char *shape,
			const char *name)
{
	struct ckey k = {0};
	put_name(k.host, sizeof(k.host), name);
	put_name(k.ns, sizeof(k.ns), name);
	return build(buf, len, cluster, shape, &k, 1);
}

int ckey_host_prefix(char *buf, size_t len, const char *cluster, const char *host)
{
	return named_prefix(buf, len, cluster, "h/H", host);
}

int ckey_cmd_prefix(char *buf, size_t len, const char *cluster, const char *host)
{
	return named_prefix(buf, len, cluster, "cmd/H", host);
}

int ckey_claims_prefix(char *buf, size_t len, const char *cluster, uint64_t nsid)
{
	return build(buf, len, cluster, "name/N", &(struct ckey){.nsid = nsid}, 1);
}

int ckey_nscfg_prefix(char *buf, size_t len, const char *cluster, const char *ns)
{
	return named_prefix(buf, len, cluster, "ns/S/cfg", ns);
}

int ckey_vlan_prefix(char *buf, size_t len, const char *cluster, const char *ns)
{
	return named_prefix(buf, len, cluster, "ns/S/vlan", ns);
}
