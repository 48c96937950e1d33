/* Inside etcd/: the gateway's JSON, requests built and answers checked (every field of an
 * answer is peer input: types, numbers, base64, sizes). Errors name `where` (the call). */
#ifndef VMFS_ETCD_GWJSON_H
#define VMFS_ETCD_GWJSON_H
#include <json-c/json.h>
#include <stdbool.h>

#include "etcd/client.h"

/* o.name = base64 of n bytes at p / the decimal string of v / s; 0 or -1 (out of memory) */
int gj_add_bytes(json_object *o, const char *name, const void *p, size_t n);
int gj_add_i64(json_object *o, const char *name, int64_t v);
int gj_add_str(json_object *o, const char *name, const char *s);
/* key (and with prefix, the range_end of every key that starts with it; "": every key) */
int gj_add_range(json_object *o, const char *key, bool prefix);
/* Adds child to o as name, or frees it: either way o owns or child is gone. */
bool gj_adopt(json_object *o, const char *name, json_object *child);
/* [child] (child freed if that cannot be made) */
json_object *gj_in_array(json_object *child);
json_object *gj_put_req(const char *key, const void *value, size_t len, int64_t lease);
json_object *gj_range_req(const char *key);

/* A key of 1 to ETCD_KEY_MAX bytes, a prefix of at most that, a value of at most
 * ETCD_VALUE_MAX: else EINVAL with words. */
int gj_check_key(const char *key, struct err *e);
int gj_check_prefix(const char *prefix, struct err *e);
int gj_check_value(size_t len, struct err *e);
/* the end of the range of keys that start with prefix, in end (ETCD_KEY_MAX + 1 bytes): its
 * length */
size_t gj_prefix_end(const char *prefix, char *end);

/* An int64 field (a string or a number; absent: 0), refused unless within [min, INT64_MAX]. */
int gj_get_i64(json_object *o, const char *name, int64_t min, int64_t *v, const char *where,
	       struct err *e);
/* A base64 field (absent: empty) of at most max bytes, in a new NUL-terminated buffer. */
int gj_get_bytes(json_object *o, const char *name, size_t max, char **out, size_t *len,
		 const char *where, struct err *e);
/* One mvccpb.KeyValue. */
int gj_parse_kv(json_object *j, struct etcd_kv *kv, const char *where, struct err *e);
/* A RangeResponse: its kvs in strictly rising key order, header.revision in out->revision. */
int gj_parse_range(json_object *o, struct etcd_kvs *out, const char *where, struct err *e);
/* header.revision, which must be there */
int gj_header_revision(json_object *o, int64_t *rev, const char *where, struct err *e);
#endif
