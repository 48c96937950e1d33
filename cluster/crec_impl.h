/* Inside cluster/crec*.c: each record kind is a table of fields that one reader and one
 * writer walk (crec.c), so eighteen kinds do not make eighteen parsers. */
#ifndef VMFS_CREC_IMPL_H
#define VMFS_CREC_IMPL_H
#include <stddef.h>
#include <sys/types.h>

#include "cluster/crec.h"

enum crec_fk {
	FK_NUM,	     /* uint64_t, decimal, lo..hi (store_num) */
	FK_OCT,	     /* uint64_t, octal, lo..hi */
	FK_NAME,     /* char[NAME_MAX_LEN + 1], name_check */
	FK_WORD,     /* char[hi], lo..hi-1 bytes of arg's set */
	FK_WORDS,    /* char[hi], words of arg's set one space apart */
	FK_TEXT,     /* char[hi], one line without control bytes, 1..hi-1 bytes */
	FK_DTEXT,    /* char *, the same, 1..hi bytes */
	FK_CHOICE,   /* an enum, one of arg's NULL-terminated names */
	FK_STATE,    /* enum ostate (store_state) */
	FK_BOOL,     /* bool, yes or no */
	FK_TAG,	     /* struct ckey_tag; set when its host is */
	FK_ADDR,     /* char[INET6_ADDRSTRLEN], an IP address as inet_ntop writes it */
	FK_HOSTPORT, /* char[CREC_HOSTPORT_MAX], IPV4:PORT or [IPV6]:PORT */
	FK_URL,	     /* char[hi], http:// or https:// and printable bytes */
	FK_PORTS,    /* uint16_t at off and off2: LO-HI */
	FK_RATIO,    /* uint64_t thousandths, lo..hi: "1.5" */
	FK_ERRNO,    /* int, by name (crec_errno_name) */
	FK_NAMES,    /* char (*)[NAME_MAX_LEN + 1] at off, size_t count at off2 */
	FK_IDS,	     /* uint64_t * at off, size_t count at off2: ids 1..OBJ_ID_MAX */
	FK_IOBJS,    /* struct crec_intent_obj * at off, size_t count at off2 */
};

struct crec_field {
	const char *key;
	enum crec_fk kind;
	bool req;
	int tag; /* whose row it is, in a table of several kinds (crec_kinds.c) */
	size_t off, off2;
	uint64_t lo, hi;
	const void *arg;
};

struct crec_kind {
	const char *what; /* "alive", in errors */
	size_t size, max; /* the struct's size; the most bytes a value may have */
	size_t unknown_off;
	const struct crec_field *f; /* its rows: those of f[0..nf) tagged tag */
	size_t nf;
	int tag;
	/* a key that is not in f (nic.N, cfg.PARAM, top's ids): 0 taken, 1 not its, or an
	 * error; what it allocates, free frees (out then stays consistent at every step) */
	int (*other)(void *out, const char *key, const char *value, char *err, size_t errlen);
	int (*finish)(void *out, char *err, size_t errlen); /* checks across fields */
	void (*free)(void *p);
	void (*write_other)(const void *in, struct sbuf *b);
	ssize_t text_off; /* >= 0: the kind keeps the parsed copy there (rows point into it) */
};

int crec_read(const struct crec_kind *k, const char *text, size_t len, void *out, char *err,
	      size_t errlen);
void crec_write(const struct crec_kind *k, const void *in, struct sbuf *b);
/* Frees what a read allocated (lists, texts, then k->free) and zeroes p. */
void crec_release(const struct crec_kind *k, void *p);

/* "kvm", "container": enum otype's names, for FK_CHOICE */
extern const char *const crec_otypes[];

/* One line of text without control bytes: 0 or -EINVAL with why. */
int crec_text_check(const char *v, char *err, size_t errlen);
/* v is a decimal id without a leading zero within lo..hi. */
int crec_id(const char *v, uint64_t lo, uint64_t hi, uint64_t *out, char *err, size_t errlen);

#define CREC_WRAP(kind)                                                                            \
	int crec_##kind##_read(const char *text, size_t len, struct crec_##kind *out, char *err,   \
			       size_t errlen)                                                      \
	{                                                                                          \
		return crec_read(&kind_##kind, text, len, out, err, errlen);                       \
	}                                                                                          \
	void crec_##kind##_write(const struct crec_##kind *in, struct sbuf *out)                   \
	{                                                                                          \
		crec_write(&kind_##kind, in, out);                                                 \
	}

#define CREC_TABLE(S, f_)                                                                          \
	.size = sizeof(S), .unknown_off = offsetof(S, unknown), .f = f_, .nf = ARRAY_SIZE(f_),     \
	.text_off = -1
#endif
