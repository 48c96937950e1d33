/* The values of a cluster's etcd keys (docs/cluster-design.md, "Values"): one struct, one
 * reader and one writer per record kind. Pure code, no I/O.
 *
 * A value is KEY=VALUE lines, the first `v=1`, parsed by store_parse (runtime/store.h).
 * Readers take peer input: each field is checked (numbers by store_num with bounds, names by
 * name_check, states by store_state, parameters by param_check) and a value that fails is
 * never half used: on any error *out is left zeroed (nothing to free) and err says why in
 * the words of store_parse ("line 4: state: \"FOO\" is not a state ..."). Within v=1 a key
 * the reader does not know is ignored and counted in out->unknown (a newer vmfs added it: the
 * caller logs once per kind). Fields marked "optional" may be absent (zero, "" or NULL);
 * the others are required. Writers write v=1, then the fields in the order listed (an
 * object's nic.N and cfg.PARAM last), an optional one only when set; they do not check
 * (give them what a reader takes back); the sbuf's oom says if an append failed.
 *
 * Reader results: 0; -EINVAL (not a record of this kind); -EFBIG (longer than the kind's
 * limit); -EPROTONOSUPPORT (v is not 1: "written by a newer vmfs (v=2)", treated as
 * absent); -ENOMEM. Numbers are uint64_t; times are Unix seconds, 0..CREC_TIME_MAX. */
#ifndef VMFS_CREC_H
#define VMFS_CREC_H
#include <netinet/in.h> /* INET6_ADDRSTRLEN */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/ckey.h"
#include "runtime/model.h" /* enum otype, enum ostate, NPARAMS_MAX, struct sbuf */

#define CREC_V 1		      /* the v= this vmfs reads and writes */
#define CREC_LAYOUT 1		      /* the layout= this vmfs knows: P/layout */
#define CREC_TIME_MAX 253402300799ull /* 9999-12-31T23:59:59Z */

/* Size limits of a value, in bytes (the design's, plus those it leaves open). */
#define CREC_SMALL_MAX 512u   /* alive, cap, layout, hid, down, nextns, nsid, vlan, forgotten, load */
#define CREC_RECORD_MAX 4096u /* ns, claim, ans */
#define CREC_HINFO_MAX 8192u  /* info: its machine list is the long part */
#define CREC_NSCFG_MAX (PARAM_LIST_MAX + 64u) /* one parameter's value */
#define CREC_OBJ_MAX 65536u		      /* an object (its parameters hold up to 16 KiB) */
#define CREC_BIG_MAX 262144u /* a command, a top table, an intent of many objects */

#define CREC_VERSION_MAX 64			 /* alive's version: [A-Za-z0-9.+~_-] */
#define CREC_HOSTPORT_MAX (INET6_ADDRSTRLEN + 8) /* "[v6]:65535" */
#define CREC_URL_MAX 256
#define CREC_QEMU_MAX 32      /* "8.2.2" */
#define CREC_MACHINE_MAX 4096 /* machine types, space-separated words */
#define CREC_TEXT_MAX 4096    /* an error, a reason: one line of text */
#define CREC_VERB_MAX 32
#define CREC_NONCE_MAX 64    /* hex digits */
#define CREC_FIGURES_MAX 512 /* one top row's figures */
#define CREC_NICS_MAX 64     /* nic.0 .. nic.63 */

/* P/layout */
struct crec_layout {
	uint64_t layout; /* 1..UINT32_MAX: refuse to join above CREC_LAYOUT */
	unsigned unknown;
};

/* P/h/H/id: the claim of the name H */
struct crec_hid {
	char uuid[33];	 /* 32 lowercase hex digits */
	uint64_t joined; /* time */
	unsigned unknown;
};

/* P/h/H/alive */
struct crec_alive {
	uint64_t run;	  /* the host's start number: 0..CKEY_RUN_MAX */
	uint64_t started; /* time */
	char version[CREC_VERSION_MAX + 1];
	char addr[INET6_ADDRSTRLEN]; /* an IPv4 or IPv6 address, as inet_ntop writes it */
	char p9[CREC_HOSTPORT_MAX];  /* its 9P door: IPV4:PORT or [IPV6]:PORT */
	char web[CREC_URL_MAX + 1];  /* optional: http:// or https://, no blank or control byte */
	uint16_t migrate_lo, migrate_hi; /* `migrate=LO-HI`, 1..65535, LO <= HI; optional: 0-0 */
	unsigned unknown;
};

/* P/h/H/info. Ratios are in thousandths: 4000 is "4", 1500 "1.5" (at most 3 decimals). */
struct crec_hinfo {
	uint64_t cpus;			    /* 1..65536 */
	uint64_t memory;		    /* bytes, 1..2^50 */
	uint64_t cpu_ratio;		    /* 1..1000000 (0.001 to 1000) */
	uint64_t mem_ratio;		    /* 1..1000000 */
	bool kvm;			    /* yes / no */
	char qemu[CREC_QEMU_MAX + 1];	    /* optional: [0-9.] */
	char machine[CREC_MACHINE_MAX + 1]; /* optional: words of [A-Za-z0-9._-], one space apart */
	unsigned unknown;
};

/* P/h/H/top/NSID: after v=1, one line ID=FIGURES per object (ID 1..OBJ_ID_MAX; FIGURES
 * printable ASCII words one space apart, as top prints them). Rows are in the text's order. */
struct crec_top_row {
	uint64_t id;
	const char *figures; /* into the record's own copy */
};
struct crec_top {
	struct crec_top_row *rows;
	size_t n;
	char *text_;	  /* owned copy the rows point into */
	unsigned unknown; /* lines whose key is not an id, nor v */
};

/* One NIC of an object record: `nic.N=VLAN TAP MAC IP`, IP "-" when it has none, and the
 * optional `vid.N=ID` after it: the VLAN id its host resolved VLAN to (an alias means
 * nothing on another host; the VXLANs between hosts go by id, cluster/cvxlan.h). */
struct crec_nic {
	char vlan[NAME_MAX_LEN + 1];   /* a name (alias) or a number 1..4094 */
	char tap[16];		       /* an interface name: [A-Za-z0-9._-], 1..15 bytes */
	char mac[18];		       /* xx:xx:xx:xx:xx:xx, lowercase */
	char ip[INET6_ADDRSTRLEN + 4]; /* ADDR/PREFIX, or "" (written "-") */
	unsigned vid;		       /* optional: 1..4094, 0 when not said */
};

/* P/h/H/o/NSID/ID: the object as its host has it. Free with crec_obj_free. */
struct crec_obj {
	char name[NAME_MAX_LEN + 1];
	enum otype type; /* `type=kvm` or `container` */
	enum ostate state;
	uint64_t since;	      /* time: when state began */
	uint64_t started;     /* optional: time */
	uint64_t pid;	      /* optional: 1..4194304 */
	char *error;	      /* optional: one line of text, at most CREC_TEXT_MAX bytes */
	struct crec_nic *nic; /* nic.0 .. nic.(nnic-1), no gap */
	size_t nnic;
	char *cfg[NPARAMS_MAX]; /* `cfg.PARAM`, indexed as params[]: each passed param_check and
				 * applies to type; NULL: unset. A PARAM not in params[] counts
				 * as unknown. */
	struct ckey_tag intent; /* optional: intent.host "" when none */
	unsigned unknown;
};
void crec_obj_free(struct crec_obj *o);

/* P/h/H/ans/CMD */
enum crec_ans_state { CREC_ANS_TAKEN, CREC_ANS_DONE, CREC_ANS_LATE };
struct crec_ans {
	enum crec_ans_state state; /* taken, done, late */
	int err; /* optional: `errno=EBUSY`, a positive errno of crec_errno_name's table; 0 */
	char reason[CREC_TEXT_MAX + 1]; /* optional: one line */
	uint64_t count;			/* optional: objects acted on */
	unsigned unknown;
};

/* P/down/H */
enum crec_down_why { CREC_DOWN_STOPPED, CREC_DOWN_LAPSED };
struct crec_down {
	uint64_t since; /* time */
	enum crec_down_why why;
	char by[NAME_MAX_LEN + 1]; /* the host that wrote it */
	unsigned unknown;
};

/* P/next-ns-id */
struct crec_nextns {
	uint64_t next; /* 1..NS_ID_MAX + 1 (the last one taken) */
	unsigned unknown;
};

/* P/ns/NAME. Free with crec_ns_free. */
struct crec_ns {
	uint64_t id; /* 1..NS_ID_MAX */
	char (*hosts)[NAME_MAX_LEN +
		      1]; /* `hosts=h1 h2`: names one space apart, none twice, 1 or more */
	size_t nhosts;
	uint64_t next_id;  /* `next-id`: 1..OBJ_ID_MAX + 1 */
	uint64_t uid, gid; /* 0..UINT32_MAX - 1 */
	uint64_t mode;	   /* octal, 0..0777 */
	uint64_t ctime;	   /* time */
	unsigned unknown;
};
void crec_ns_free(struct crec_ns *n);

/* P/nsid/ID */
struct crec_nsid {
	char name[NAME_MAX_LEN + 1];
	unsigned unknown;
};

/* P/ns/NAME/cfg/PARAM: the template's value of params[param] (param from the key: ckey's
 * param_index), checked by param_check. */
struct crec_nscfg {
	char value[PARAM_LIST_MAX + 1];
	unsigned unknown;
};

/* P/ns/NAME/vlan/ALIAS */
struct crec_vlan {
	uint64_t id; /* 1..4094 */
	unsigned unknown;
};

/* P/name/NSID/NAME: the claim */
struct crec_claim {
	uint64_t id; /* 1..OBJ_ID_MAX */
	enum otype type;
	char host[NAME_MAX_LEN + 1];   /* the owner */
	struct ckey_tag intent;	       /* optional: intent.host "" when none */
	uint64_t ctime;		       /* time */
	char moving[NAME_MAX_LEN + 1]; /* optional: the host it is moving to */
	unsigned unknown;
};

/* P/cap/H. cfg_pending lists H's objects whose config change (of vcpus or memory) moved this
 * reservation before their records show it: `cfg-pending=NSID.ID:VCPUS:MEMORY ...` (what each
 * reserves now; `-` for a figure no pending change set: the record's), written by H with its run in `cfg-run`, cleared by H once the record shows it
 * (cluster/ccmd_cfgcap.c). A reconcile sizes those claims by them (cluster/creconcile.h). */
#define CREC_PENDING_LEN 320 /* the list's bytes, NUL included: the value stays within 512 */
struct crec_cap {
	uint64_t vcpus, memory, objects; /* memory in bytes; each 0..2^50 */
	uint64_t drain;			 /* optional: time it began draining */
	uint64_t cfg_run;		 /* optional: H's run that wrote cfg_pending */
	char cfg_pending[CREC_PENDING_LEN]; /* optional: words, none for one object twice */
	unsigned unknown;
};
struct crec_pend {
	uint64_t nsid, id;	   /* 1..NS_ID_MAX, 1..OBJ_ID_MAX */
	uint64_t vcpus, memory;	   /* 0..2^20 - 1, 0..2^50 */
	bool has_vcpus, has_memory; /* at least one: the other is written `-` (the record's) */
};
/* cap's cfg_pending into out[0..max): how many, or -EINVAL with why (a word that is not
 * NSID.ID:VCPUS:MEMORY within bounds, one object twice, more than max). */
int crec_cap_pending(const struct crec_cap *cap, struct crec_pend *out, size_t max, char *err,
		     size_t errlen);
/* Writes p[0..n) as cap's cfg_pending (cfg_run 0 when n is 0; the caller sets it otherwise):
 * 0, or -ENOSPC when they do not fit in CREC_PENDING_LEN. */
int crec_cap_set_pending(struct crec_cap *cap, const struct crec_pend *p, size_t n);

/* P/h/H/load: H's own figures of its hosts/H/top, put at most every CPUB_TOP_S and only when
 * one moved beyond its threshold (cluster/chload.h). */
struct crec_hload {
	uint64_t cpu;	   /* cpu% in thousandths: 0..100000 (`cpu=85.3`) */
	uint64_t load1;	   /* thousandths: 0..999999999999 */
	uint64_t mem_used; /* `mem-used`, bytes: 0..2^50 */
	uint64_t at;	   /* time: when H measured them */
	unsigned unknown;
};

/* P/cmd/H/CMD. Free with crec_cmd_free. */
enum crec_unfit { CREC_UNFIT_SKIP, CREC_UNFIT_REFUSE };
struct crec_cmd {
	char from[NAME_MAX_LEN + 1];  /* the head */
	uint64_t ns;		      /* the namespace's id */
	char verb[CREC_VERB_MAX + 1]; /* [a-z-], 1..CREC_VERB_MAX */
	uint64_t *ids;		      /* `ids=3 4 17`: 1..OBJ_ID_MAX one space apart, optional */
	size_t nids;
	enum crec_unfit unfit; /* skip, refuse */
	char *args;	       /* optional: one line, no control byte, up to the record's limit */
	uint64_t take_ms;      /* `take-ms`: 1..600000 */
	uint64_t issued;       /* time */
	char taken[NAME_MAX_LEN + 1];	/* optional: the taker */
	char nonce[CREC_NONCE_MAX + 1]; /* optional: lowercase hex */
	unsigned unknown;
};
void crec_cmd_free(struct crec_cmd *c);

/* P/intent/ID. Free with crec_intent_free. */
enum crec_intent_kind { CREC_INTENT_LAUNCH, CREC_INTENT_MOVE, CREC_INTENT_MIGRATE };
enum crec_phase { CREC_PHASE_CLAIMING, CREC_PHASE_CREATING, CREC_PHASE_ROLLBACK };
struct crec_intent_obj {
	char name[NAME_MAX_LEN + 1];
	uint64_t id; /* 1..OBJ_ID_MAX */
	char host[NAME_MAX_LEN + 1];
};
struct crec_intent {
	char host[NAME_MAX_LEN + 1];	 /* who runs it (the launcher, or who adopted it) */
	enum crec_intent_kind kind;	 /* launch, move, migrate */
	uint64_t ns;			 /* the namespace's id */
	struct crec_intent_obj *objects; /* `objects=k1:17:h2 k2:18:h3`, 1 or more, no name twice */
	size_t nobjects;
	enum crec_phase phase; /* claiming, creating, rollback */
	uint64_t vcpus, memory; /* optional: what each object reserves (a launch's, given back
				 * to P/cap/H at a rollback) */
	unsigned unknown;
};
void crec_intent_free(struct crec_intent *i);

/* P/forgotten/H */
struct crec_forgotten {
	uint64_t since;
	char by[NAME_MAX_LEN + 1];
	unsigned unknown;
};

#define CREC_KIND(kind)                                                                            \
	int crec_##kind##_read(const char *text, size_t len, struct crec_##kind *out, char *err,   \
			       size_t errlen);                                                     \
	void crec_##kind##_write(const struct crec_##kind *in, struct sbuf *out)
CREC_KIND(layout);
CREC_KIND(hid);
CREC_KIND(alive);
CREC_KIND(hinfo);
CREC_KIND(top);
CREC_KIND(obj);
CREC_KIND(ans);
CREC_KIND(down);
CREC_KIND(nextns);
CREC_KIND(ns);
CREC_KIND(nsid);
CREC_KIND(vlan);
CREC_KIND(claim);
CREC_KIND(cap);
CREC_KIND(cmd);
CREC_KIND(intent);
CREC_KIND(forgotten);
CREC_KIND(hload);
#undef CREC_KIND
/* The template value needs its parameter (params[] index, from the key). */
int crec_nscfg_read(int param, const char *text, size_t len, struct crec_nscfg *out, char *err,
		    size_t errlen);
void crec_nscfg_write(const struct crec_nscfg *in, struct sbuf *out);
void crec_top_free(struct crec_top *t);

/* The writer of a top table row by row: crec_top_begin writes v=1, crec_top_row one line
 * (figures as given: printable words one space apart). */
void crec_top_begin(struct sbuf *out);
void crec_top_row(struct sbuf *out, uint64_t id, const char *figures);

/* Frees what a read of any kind allocated, by the pointer's type: crec_obj_free and the
 * others, or nothing for a kind that allocates nothing (for code over every kind). */
static inline void crec_nothing_to_free(const void *p) { (void)p; }
#define CREC_FREE(o)                                                                               \
	_Generic((o), struct crec_top *                                                            \
		 : crec_top_free, struct crec_obj *                                                \
		 : crec_obj_free, struct crec_ns *                                                 \
		 : crec_ns_free, struct crec_cmd *                                                 \
		 : crec_cmd_free, struct crec_intent *                                             \
		 : crec_intent_free, default                                                       \
		 : crec_nothing_to_free)(o)

/* The errnos an answer carries, by name ("EBUSY") and back: NULL / 0 for one not in the
 * table. A reader refuses an errno= it does not know (a newer vmfs's answer reads as absent,
 * never as a wrong errno); the writer writes one not in the table as EIO. */
const char *crec_errno_name(int err);
int crec_errno_num(const char *name);
#endif
