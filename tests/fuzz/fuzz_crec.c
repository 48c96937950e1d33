/* libFuzzer target for the cluster's records and keys (cluster/crec*.c, cluster/ckey.c):
 * an etcd value or key as another host, or anyone who can write etcd, may have put it.
 * Built and run by `make fuzz` and tests/fuzz/run.
 *
 * Every reader gets the input. What one accepts must survive its own writer: written, read
 * again, written again, the same bytes (a reader that took something its writer cannot
 * express, or a writer that writes what its reader refuses, aborts). The input as a key:
 * what ckey_parse accepts, ckey_build writes back exactly. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/ckey.h"
#include "cluster/crec.h"
#include "ctl/params.h"

/* Reads text as kind into a fresh struct, writes it to b: the reader's result. */
#define ONE(kind)                                                                                  \
	static int one_##kind(const char *text, size_t len, struct sbuf *b)                        \
	{                                                                                          \
		struct crec_##kind o;                                                              \
		char err[256];                                                                     \
		int r = crec_##kind##_read(text, len, &o, err, sizeof(err));                       \
		if (!r)                                                                            \
			crec_##kind##_write(&o, b);                                                \
		CREC_FREE(&o);                                                                     \
		return r;                                                                          \
	}
ONE(layout)
ONE(hid)
ONE(alive)
ONE(hinfo)
ONE(top)
ONE(obj)
ONE(ans)
ONE(down)
ONE(nextns)
ONE(ns)
ONE(nsid)
ONE(vlan)
ONE(claim)
ONE(cap)
ONE(cmd)
ONE(intent)
ONE(forgotten)
ONE(hload)

static int one_nscfg(const char *text, size_t len, struct sbuf *b)
{
	static int param = -2;
	struct crec_nscfg o;
	char err[256];
	if (param == -2)
		param = param_index("net");
	int r = crec_nscfg_read(param, text, len, &o, err, sizeof(err));
	if (!r)
		crec_nscfg_write(&o, b);
	return r;
}

static const struct {
	int (*one)(const char *text, size_t len, struct sbuf *b);
	size_t max;
} readers[] = {
    {one_layout, CREC_SMALL_MAX}, {one_hid, CREC_SMALL_MAX},	   {one_alive, CREC_SMALL_MAX},
    {one_hinfo, CREC_HINFO_MAX},  {one_top, CREC_BIG_MAX},	   {one_obj, CREC_OBJ_MAX},
    {one_ans, CREC_RECORD_MAX},	  {one_down, CREC_SMALL_MAX},	   {one_nextns, CREC_SMALL_MAX},
    {one_ns, CREC_RECORD_MAX},	  {one_nsid, CREC_SMALL_MAX},	   {one_vlan, CREC_SMALL_MAX},
    {one_claim, CREC_RECORD_MAX}, {one_cap, CREC_SMALL_MAX},	   {one_cmd, CREC_BIG_MAX},
    {one_intent, CREC_BIG_MAX},	  {one_forgotten, CREC_SMALL_MAX}, {one_nscfg, CREC_NSCFG_MAX},
    {one_hload, CREC_SMALL_MAX},
};

static void as_key(const uint8_t *data, size_t size)
{
	char key[CKEY_MAX + 2], back[CKEY_MAX + 1];
	struct ckey k;
	size_t n = size < sizeof(key) - 1 ? size : sizeof(key) - 1;
	memcpy(key, data, n);
	key[n] = 0;
	int kind = ckey_parse("lab", key, &k);
	if (kind != (int)k.kind)
		abort();
	if (kind == CK_NONE)
		return;
	int r = ckey_build(back, sizeof(back), "lab", &k);
	if (r < 0 || strcmp(back, key))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exactly size bytes: ASan sees any read past */
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
		struct sbuf once = {0}, twice = {0};
		if (readers[i].one(text, size, &once))
			continue;
		if (sb_err(&once))
			abort();
		int r = readers[i].one(once.p, once.len, &twice);
		/* a writer may write a number longer than it was read ("0" as mode "0000"): only
		 * a value that grew past the limit may then be refused, and only for its size */
		bool grew = r == -EFBIG && once.len > readers[i].max;
		if (!grew && (r || once.len != twice.len || memcmp(once.p, twice.p, once.len)))
			abort();
		sb_free(&once);
		sb_free(&twice);
	}
	as_key(data, size);
	free(text);
	return 0;
}
