/* The etcd key layout of a cluster (docs/cluster-design.md, "Keys"): builders that write a
 * key into a caller's buffer, and one classifier for keys that come back from a range or a
 * watch. Pure code, no I/O.
 *
 * Every key is /vmfs/CLUSTER/... (below: P/), CLUSTER being vmfs.conf's `cluster`. Names in
 * keys pass name_check (ctl/ctl.h); ids are decimal without leading zeros, within bounds;
 * a command's or an intent's id is a tag HOST.RUN.SEQ (struct ckey_tag). */
#ifndef VMFS_CKEY_H
#define VMFS_CKEY_H
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ctl/ctl.h" /* NAME_MAX_LEN */

/* The longest key built or parsed, NUL not counted: the longest row (an answer's, with a
 * tag of a 63-byte host and two 20-digit numbers) fits with room; a longer key from a watch
 * is CK_NONE. */
#define CKEY_MAX 320

/* An array of n keys for one transaction, on the heap and freed when it goes out of scope
 * (NULL when out of memory). Not a static per-thread array: glibc carves static TLS out of
 * every thread's stack, and a few of these (41 KiB each) overflowed a member's 256 KiB
 * workers. */
static inline void ckey_scratch_free(void *p)
{
	free(*(void **)p);
}
#define CKEY_SCRATCH(name, n)                                                                  \
	char(*name)[CKEY_MAX + 1] __attribute__((cleanup(ckey_scratch_free))) =                 \
		malloc((size_t)(n) * sizeof(*name))

/* The longest parameter name in a P/ns/NAME/cfg/PARAM key. */
#define CKEY_PARAM_MAX 32
/* Bounds of a tag's numbers: RUN (a host's start number) and SEQ (a counter). */
#define CKEY_RUN_MAX 4294967295ull
#define CKEY_SEQ_MAX 9007199254740991ull /* 2^53 - 1 */
/* "HOST.RUN.SEQ" as text, NUL included. */
#define CKEY_TAG_LEN (NAME_MAX_LEN + 1 + 10 + 1 + 16 + 1)

enum ckey_kind {
	CK_NONE = 0,  /* not a key of this cluster's layout */
	CK_LAYOUT,    /* P/layout */
	CK_HID,	      /* P/h/H/id                  host */
	CK_ALIVE,     /* P/h/H/alive               host */
	CK_HINFO,     /* P/h/H/info                host */
	CK_TOP,	      /* P/h/H/top/NSID            host nsid */
	CK_OBJ,	      /* P/h/H/o/NSID/ID           host nsid id */
	CK_ANS,	      /* P/h/H/ans/CMD             host tag */
	CK_DOWN,      /* P/down/H                  host */
	CK_NEXTNS,    /* P/next-ns-id */
	CK_NS,	      /* P/ns/NAME                 ns */
	CK_NSID,      /* P/nsid/ID                 nsid */
	CK_NSCFG,     /* P/ns/NAME/cfg/PARAM       ns param */
	CK_VLAN,      /* P/ns/NAME/vlan/ALIAS      ns alias */
	CK_CLAIM,     /* P/name/NSID/NAME          nsid name */
	CK_CAP,	      /* P/cap/H                   host */
	CK_CMD,	      /* P/cmd/H/CMD               host tag */
	CK_INTENT,    /* P/intent/ID               tag */
	CK_FORGOTTEN, /* P/forgotten/H             host */
	CK_HLOAD,     /* P/h/H/load                host */
	CK_KINDS
};

/* A command's id (CMD) or an intent's (ID): made by HOST without coordination, unique
 * because RUN (its start number) grows at every start and SEQ within a run. HOST may hold
 * dots itself: the text is split at its last two dots. */
struct ckey_tag {
	char host[NAME_MAX_LEN + 1];
	uint64_t run; /* 0..CKEY_RUN_MAX */
	uint64_t seq; /* 0..CKEY_SEQ_MAX */
};

/* A key's parts: which are set is the kind's (the comments of enum ckey_kind); the others
 * are zero. */
struct ckey {
	enum ckey_kind kind;
	char host[NAME_MAX_LEN + 1];	/* H */
	char ns[NAME_MAX_LEN + 1];	/* NAME of P/ns/NAME */
	uint64_t nsid;			/* NSID, or ID of P/nsid/ID: 1..NS_ID_MAX */
	uint64_t id;			/* an object's ID: 1..OBJ_ID_MAX */
	char name[NAME_MAX_LEN + 1];	/* an object's NAME in a claim */
	char param[CKEY_PARAM_MAX + 1]; /* PARAM: a name params[] knows (param_index) */
	int param_index;		/* its index in params[] */
	char alias[NAME_MAX_LEN + 1];	/* a VLAN's ALIAS */
	struct ckey_tag tag;		/* CMD of CK_ANS, CK_CMD; ID of CK_INTENT */
};

/* Classifies key (NUL-terminated: the caller refuses a key with a NUL inside) for cluster:
 * returns its kind and fills out, or CK_NONE (out zeroed) for anything else: a key of
 * another cluster, a part that is not a name or not an id, a leading zero, an empty part, a
 * trailing or doubled '/', a key longer than CKEY_MAX. A key from a watch is peer input. */
int ckey_parse(const char *cluster, const char *key, struct ckey *out);

/* Writes k's key into buf[0..len): its length, or -ENAMETOOLONG (buf then holds ""), or
 * -EINVAL if cluster or a part is not what ckey_parse takes back (k->kind CK_NONE too).
 * For CK_NSCFG, k->param is used (param_index is not). ckey_parse of the result gives k. */
int ckey_build(char *buf, size_t len, const char *cluster, const struct ckey *k);

/* One builder per row of the table, for callers that hold the parts: each as ckey_build. */
int ckey_layout(char *buf, size_t len, const char *cluster);
int ckey_hid(char *buf, size_t len, const char *cluster, const char *host);
int ckey_alive(char *buf, size_t len, const char *cluster, const char *host);
int ckey_hinfo(char *buf, size_t len, const char *cluster, const char *host);
int ckey_top(char *buf, size_t len, const char *cluster, const char *host, uint64_t nsid);
int ckey_obj(char *buf, size_t len, const char *cluster, const char *host, uint64_t nsid,
	     uint64_t id);
int ckey_ans(char *buf, size_t len, const char *cluster, const char *host,
	     const struct ckey_tag *cmd);
int ckey_down(char *buf, size_t len, const char *cluster, const char *host);
int ckey_nextns(char *buf, size_t len, const char *cluster);
int ckey_ns(char *buf, size_t len, const char *cluster, const char *ns);
int ckey_nsid(char *buf, size_t len, const char *cluster, uint64_t nsid);
int ckey_nscfg(char *buf, size_t len, const char *cluster, const char *ns, const char *param);
int ckey_vlan(char *buf, size_t len, const char *cluster, const char *ns, const char *alias);
int ckey_claim(char *buf, size_t len, const char *cluster, uint64_t nsid, const char *name);
int ckey_cap(char *buf, size_t len, const char *cluster, const char *host);
int ckey_cmd(char *buf, size_t len, const char *cluster, const char *host,
	     const struct ckey_tag *cmd);
int ckey_intent(char *buf, size_t len, const char *cluster, const struct ckey_tag *id);
int ckey_forgotten(char *buf, size_t len, const char *cluster, const char *host);
int ckey_hload(char *buf, size_t len, const char *cluster, const char *host);

/* Prefixes for a watch, a range or a delete of a range, each ending in '/' (so that h1's
 * does not cover h10's): the length, -ENAMETOOLONG or -EINVAL as above. */
int ckey_prefix(char *buf, size_t len, const char *cluster);			    /* P/ */
int ckey_host_prefix(char *buf, size_t len, const char *cluster, const char *host); /* P/h/H/ */
int ckey_cmd_prefix(char *buf, size_t len, const char *cluster, const char *host);  /* P/cmd/H/ */
int ckey_claims_prefix(char *buf, size_t len, const char *cluster,
		       uint64_t nsid); /* P/name/NSID/ */
int ckey_nscfg_prefix(char *buf, size_t len, const char *cluster,
		      const char *ns); /* P/ns/NAME/cfg/ */
int ckey_vlan_prefix(char *buf, size_t len, const char *cluster,
		     const char *ns); /* P/ns/NAME/vlan/ */

/* A tag as text "HOST.RUN.SEQ" (out of CKEY_TAG_LEN bytes), and back: 0, or -EINVAL with
 * why in err (a host that is not a name, a number with a leading zero or out of bounds). */
void ckey_tag_fmt(const struct ckey_tag *t, char out[CKEY_TAG_LEN]);
int ckey_tag_parse(const char *s, struct ckey_tag *out, char *err, size_t errlen);
#endif
