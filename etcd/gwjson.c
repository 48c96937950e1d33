/* The etcd gateway's JSON, both ways: requests built (keys and values in base64, 64-bit numbers
 * as strings) and every field of an answer checked before use (client.h). */
#include "etcd/gwjson.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/b64.h"

/* --- requests --- */

int gj_add_bytes(json_object *o, const char *name, const void *p, size_t n)
{
	char *s = b64_encode(p, n);
	json_object *js = s ? json_object_new_string(s) : NULL;
	free(s);
	return js ? json_object_object_add(o, name, js) : -1;
}

int gj_add_i64(json_object *o, const char *name, int64_t v)
{
	char s[24];
	snprintf(s, sizeof(s), "%" PRId64, v);
	json_object *js = json_object_new_string(s);
	return js ? json_object_object_add(o, name, js) : -1;
}

int gj_add_str(json_object *o, const char *name, const char *s)
{
	json_object *js = json_object_new_string(s);
	return js ? json_object_object_add(o, name, js) : -1;
}

int gj_check_key(const char *key, struct err *e)
{
	size_t n = strlen(key);
	if (n == 0 || n > ETCD_KEY_MAX)
		return err_set(e, EINVAL, "etcd: a key of %zu bytes (1 to %d)", n, ETCD_KEY_MAX);
	return 0;
}

int gj_check_value(size_t len, struct err *e)
{
	if (len > ETCD_VALUE_MAX)
		return err_set(e, EINVAL, "etcd: a value of %zu bytes (at most %d)", len,
			       ETCD_VALUE_MAX);
	return 0;
}

/* the end of the range of keys that start with prefix: prefix with its last byte below 0xff
 * raised by one (etcd's own rule); "\0" (every key after) if there is none */
size_t gj_prefix_end(const char *prefix, char *end)
{
	size_t n = strlen(prefix);
	memcpy(end, prefix, n);
	while (n > 0 && (unsigned char)end[n - 1] == 0xff)
		n--;
	if (n == 0) {
		end[0] = 0;
		return 1;
	}
	end[n - 1]++;
	return n;
}

json_object *gj_put_req(const char *key, const void *value, size_t len, int64_t lease)
{
	json_object *o = json_object_new_object();
	if (o && !gj_add_bytes(o, "key", key, strlen(key)) &&
	    !gj_add_bytes(o, "value", value, len) && (!lease || !gj_add_i64(o, "lease", lease)))
		return o;
	json_object_put(o);
	return NULL;
}

json_object *gj_range_req(const char *key)
{
	json_object *o = json_object_new_object();
	if (o && !gj_add_bytes(o, "key", key, strlen(key)))
		return o;
	json_object_put(o);
	return NULL;
}

/* Adds child to o as name, or frees it: either way o owns or child is gone. */
bool gj_adopt(json_object *o, const char *name, json_object *child)
{
	if (child && !json_object_object_add(o, name, child))
		return true;
	json_object_put(child);
	return false;
}

/* [child] (child freed if that cannot be made) */
json_object *gj_in_array(json_object *child)
{
	json_object *a = json_object_new_array();
	if (a && child && !json_object_array_add(a, child))
		return a;
	json_object_put(a);
	json_object_put(child);
	return NULL;
}

/* --- answers --- */

/* An int64 field, which the gateway writes as a string ("12"); an absent field is 0 (the
 * gateway leaves out zeros). Refused unless it is a whole decimal number within [min, max]. */
int gj_get_i64(json_object *o, const char *name, int64_t min, int64_t *v, const char *where,
	       struct err *e)
{
	json_object *j;
	*v = 0;
	if (!json_object_object_get_ex(o, name, &j) || json_object_is_type(j, json_type_null))
		return 0;
	if (json_object_is_type(j, json_type_int)) {
		errno = 0;
		*v = json_object_get_int64(j);
		if (errno)
			goto bad;
	} else if (json_object_is_type(j, json_type_string)) {
		const char *s = json_object_get_string(j);
		char *end;
		if (!*s || strlen(s) > 20 || !(*s == '-' || (*s >= '0' && *s <= '9')))
			goto bad;
		errno = 0;
		long long x = strtoll(s, &end, 10);
		if (errno || *end)
			goto bad;
		*v = x;
	} else {
		goto bad;
	}
	if (*v < min)
		return err_set(e, EPROTO, "%s: %s is %" PRId64 ", below %" PRId64, where, name, *v,
			       min);
	return 0;
bad:
	return err_set(e, EPROTO, "%s: %s is not a 64-bit number: %.40s", where, name,
		       json_object_to_json_string(j));
}

/* A bytes field in base64 (absent: empty), at most max bytes, in a new NUL-terminated buffer. */
int gj_get_bytes(json_object *o, const char *name, size_t max, char **out, size_t *len,
		 const char *where, struct err *e)
{
	json_object *j;
	const char *s = "";
	size_t n = 0;
	if (json_object_object_get_ex(o, name, &j) && !json_object_is_type(j, json_type_null)) {
		if (!json_object_is_type(j, json_type_string))
			return err_set(e, EPROTO, "%s: %s is not a string", where, name);
		s = json_object_get_string(j);
		n = (size_t)json_object_get_string_len(j);
	}
	if (n / 4 * 3 > max + 2)
		return err_set(e, EPROTO, "%s: %s is longer than %zu bytes", where, name, max);
	int r = b64_decode(s, n, out, len);
	if (r == -ENOMEM)
		return err_set(e, ENOMEM, "%s: out of memory", where);
	if (r)
		return err_set(e, EPROTO, "%s: %s is not base64: %.40s", where, name, s);
	if (*len > max) {
		free(*out);
		return err_set(e, EPROTO, "%s: %s is longer than %zu bytes", where, name, max);
	}
	return 0;
}

int gj_parse_kv(json_object *j, struct etcd_kv *kv, const char *where, struct err *e)
{
	memset(kv, 0, sizeof(*kv));
	if (!json_object_is_type(j, json_type_object))
		return err_set(e, EPROTO, "%s: a key is not an object", where);
	size_t klen;
	int r = gj_get_bytes(j, "key", ETCD_KEY_MAX, &kv->key, &klen, where, e);
	if (r)
		return r;
	if (!klen || strlen(kv->key) != klen) {
		r = err_set(e, EPROTO, "%s: a key is empty or holds a NUL byte", where);
		goto fail;
	}
	if ((r = gj_get_bytes(j, "value", ETCD_VALUE_MAX, &kv->value, &kv->value_len, where, e)) ||
	    (r = gj_get_i64(j, "create_revision", 1, &kv->create_revision, where, e)) ||
	    (r = gj_get_i64(j, "mod_revision", 1, &kv->mod_revision, where, e)) ||
	    (r = gj_get_i64(j, "version", 1, &kv->version, where, e)) ||
	    (r = gj_get_i64(j, "lease", 0, &kv->lease, where, e)))
		goto fail;
	if (kv->mod_revision < kv->create_revision) {
		r = err_set(e, EPROTO,
			    "%s: key %.80s was changed (%" PRId64 ") before it was made (%" PRId64
			    ")",
			    where, kv->key, kv->mod_revision, kv->create_revision);
		goto fail;
	}
	return 0;
fail:
	etcd_kv_free(kv);
	return r;
}

/* A range answer's kvs (the gateway's RangeResponse, alone or inside a txn's response). */
int gj_parse_range(json_object *o, struct etcd_kvs *out, const char *where, struct err *e)
{
	json_object *h, *kvs;
	memset(out, 0, sizeof(*out));
	if (json_object_object_get_ex(o, "header", &h)) {
		int r;
		if (!json_object_is_type(h, json_type_object))
			return err_set(e, EPROTO, "%s: header is not an object", where);
		if ((r = gj_get_i64(h, "revision", 0, &out->revision, where, e)))
			return r;
	}
	if (!json_object_object_get_ex(o, "kvs", &kvs) || json_object_is_type(kvs, json_type_null))
		return 0;
	if (!json_object_is_type(kvs, json_type_array))
		return err_set(e, EPROTO, "%s: kvs is not an array", where);
	size_t n = json_object_array_length(kvs);
	if (!n)
		return 0;
	if (!(out->kv = calloc(n, sizeof(*out->kv))))
		return err_set(e, ENOMEM, "%s: out of memory", where);
	for (size_t i = 0; i < n; i++) {
		int r = gj_parse_kv(json_object_array_get_idx(kvs, i), &out->kv[i], where, e);
		if (r) {
			etcd_kvs_free(out);
			return r;
		}
		out->n++;
		if (i && strcmp(out->kv[i - 1].key, out->kv[i].key) >= 0) {
			etcd_kvs_free(out);
			return err_set(e, EPROTO, "%s: the keys are not in order", where);
		}
	}
	return 0;
}

int gj_header_revision(json_object *o, int64_t *rev, const char *where, struct err *e)
{
	json_object *h;
	*rev = 0;
	if (!json_object_object_get_ex(o, "header", &h) ||
	    !json_object_is_type(h, json_type_object))
		return err_set(e, EPROTO, "%s: the answer has no header", where);
	return gj_get_i64(h, "revision", 1, rev, where, e);
}

int gj_check_prefix(const char *prefix, struct err *e)
{
	size_t n = strlen(prefix);
	if (n > ETCD_KEY_MAX)
		return err_set(e, EINVAL, "etcd: a prefix of %zu bytes (at most %d)", n,
			       ETCD_KEY_MAX);
	return 0;
}

int gj_add_range(json_object *o, const char *key, bool prefix)
{
	size_t n = strlen(key);
	if (!prefix)
		return gj_add_bytes(o, "key", key, n);
	char end[ETCD_KEY_MAX + 1];
	size_t en = gj_prefix_end(key, end);
	/* "" starts at "\0": every key */
	return gj_add_bytes(o, "key", n ? key : "", n ? n : 1) ||
	       gj_add_bytes(o, "range_end", end, en);
}
