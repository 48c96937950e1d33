/* etcd's KV and lease calls over transport.c: the requests as the gateway's JSON, and every
 * field of an answer checked before it is used (client.h). */
#include "etcd/client.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/b64.h"
#include "etcd/transport.h"

/* --- requests --- */

static int add_bytes(json_object *o, const char *name, const void *p, size_t n)
{
	char *s = b64_encode(p, n);
	json_object *js = s ? json_object_new_string(s) : NULL;
	free(s);
	return js ? json_object_object_add(o, name, js) : -1;
}

static int add_i64(json_object *o, const char *name, int64_t v)
{
	char s[24];
	snprintf(s, sizeof(s), "%" PRId64, v);
	json_object *js = json_object_new_string(s);
	return js ? json_object_object_add(o, name, js) : -1;
}

static int add_str(json_object *o, const char *name, const char *s)
{
	json_object *js = json_object_new_string(s);
	return js ? json_object_object_add(o, name, js) : -1;
}

static int check_key(const char *key, struct err *e)
{
	size_t n = strlen(key);
	if (n == 0 || n > ETCD_KEY_MAX)
		return err_set(e, EINVAL, "etcd: a key of %zu bytes (1 to %d)", n, ETCD_KEY_MAX);
	return 0;
}

static int check_value(size_t len, struct err *e)
{
	if (len > ETCD_VALUE_MAX)
		return err_set(e, EINVAL, "etcd: a value of %zu bytes (at most %d)", len,
			       ETCD_VALUE_MAX);
	return 0;
}

/* the end of the range of keys that start with prefix: prefix with its last byte below 0xff
 * raised by one (etcd's own rule); "\0" (every key after) if there is none */
static size_t prefix_end(const char *prefix, char *end)
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

static json_object *put_req(const char *key, const void *value, size_t len, int64_t lease)
{
	json_object *o = json_object_new_object();
	if (o && !add_bytes(o, "key", key, strlen(key)) && !add_bytes(o, "value", value, len) &&
	    (!lease || !add_i64(o, "lease", lease)))
		return o;
	json_object_put(o);
	return NULL;
}

static json_object *range_req(const char *key)
{
	json_object *o = json_object_new_object();
	if (o && !add_bytes(o, "key", key, strlen(key)))
		return o;
	json_object_put(o);
	return NULL;
}

/* Adds child to o as name, or frees it: either way o owns or child is gone. */
static bool adopt(json_object *o, const char *name, json_object *child)
{
	if (child && !json_object_object_add(o, name, child))
		return true;
	json_object_put(child);
	return false;
}

/* [child] (child freed if that cannot be made) */
static json_object *in_array(json_object *child)
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
static int get_i64(json_object *o, const char *name, int64_t min, int64_t *v, const char *where,
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
static int get_bytes(json_object *o, const char *name, size_t max, char **out, size_t *len,
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

void etcd_kv_free(struct etcd_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void etcd_kvs_free(struct etcd_kvs *kvs)
{
	for (size_t i = 0; kvs && i < kvs->n; i++)
		etcd_kv_free(&kvs->kv[i]);
	if (kvs) {
		free(kvs->kv);
		memset(kvs, 0, sizeof(*kvs));
	}
}

static int parse_kv(json_object *j, struct etcd_kv *kv, const char *where, struct err *e)
{
	memset(kv, 0, sizeof(*kv));
	if (!json_object_is_type(j, json_type_object))
		return err_set(e, EPROTO, "%s: a key is not an object", where);
	size_t klen;
	int r = get_bytes(j, "key", ETCD_KEY_MAX, &kv->key, &klen, where, e);
	if (r)
		return r;
	if (!klen || strlen(kv->key) != klen) {
		r = err_set(e, EPROTO, "%s: a key is empty or holds a NUL byte", where);
		goto fail;
	}
	if ((r = get_bytes(j, "value", ETCD_VALUE_MAX, &kv->value, &kv->value_len, where, e)) ||
	    (r = get_i64(j, "create_revision", 1, &kv->create_revision, where, e)) ||
	    (r = get_i64(j, "mod_revision", 1, &kv->mod_revision, where, e)) ||
	    (r = get_i64(j, "version", 1, &kv->version, where, e)) ||
	    (r = get_i64(j, "lease", 0, &kv->lease, where, e)))
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
static int parse_range(json_object *o, struct etcd_kvs *out, const char *where, struct err *e)
{
	json_object *h, *kvs;
	memset(out, 0, sizeof(*out));
	if (json_object_object_get_ex(o, "header", &h)) {
		int r;
		if (!json_object_is_type(h, json_type_object))
			return err_set(e, EPROTO, "%s: header is not an object", where);
		if ((r = get_i64(h, "revision", 0, &out->revision, where, e)))
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
		int r = parse_kv(json_object_array_get_idx(kvs, i), &out->kv[i], where, e);
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

static int header_revision(json_object *o, int64_t *rev, const char *where, struct err *e)
{
	json_object *h;
	*rev = 0;
	if (!json_object_object_get_ex(o, "header", &h) ||
	    !json_object_is_type(h, json_type_object))
		return err_set(e, EPROTO, "%s: the answer has no header", where);
	return get_i64(h, "revision", 1, rev, where, e);
}

/* --- calls --- */

#define NOMEM(path) err_set(e, ENOMEM, "etcd %s: out of memory", path)

int etcd_get(struct etcd *c, const char *key, struct etcd_kv *kv, bool *found, struct err *e)
{
	const char *p = "/v3/kv/range";
	int r = check_key(key, e);
	if (r)
		return r;
	json_object *req = range_req(key), *rep;
	if (!req)
		return NOMEM(p);
	if ((r = etcd_call(c, p, req, &rep, e)))
		return r;
	struct etcd_kvs kvs;
	r = parse_range(rep, &kvs, "etcd /v3/kv/range", e);
	json_object_put(rep);
	if (r)
		return r;
	if (kvs.n > 1 || (kvs.n == 1 && strcmp(kvs.kv[0].key, key))) {
		etcd_kvs_free(&kvs);
		return err_set(e, EPROTO, "etcd /v3/kv/range: asked for %s, got another key", key);
	}
	*found = kvs.n == 1;
	if (*found) {
		*kv = kvs.kv[0];
		kvs.n = 0;
	}
	etcd_kvs_free(&kvs);
	return 0;
}

int etcd_range_prefix(struct etcd *c, const char *prefix, struct etcd_kvs *out, struct err *e)
{
	const char *p = "/v3/kv/range";
	size_t n = strlen(prefix);
	if (n > ETCD_KEY_MAX)
		return err_set(e, EINVAL, "etcd: a prefix of %zu bytes (at most %d)", n,
			       ETCD_KEY_MAX);
	char key[ETCD_KEY_MAX + 1], end[ETCD_KEY_MAX + 1];
	size_t kn = n ? n : 1, en = prefix_end(prefix, end);
	memcpy(key, n ? prefix : "", kn); /* "" starts at "\0": every key */
	json_object *req = json_object_new_object(), *rep;
	if (!req || add_bytes(req, "key", key, kn) || add_bytes(req, "range_end", end, en)) {
		json_object_put(req);
		return NOMEM(p);
	}
	int r = etcd_call(c, p, req, &rep, e);
	if (r)
		return r;
	r = parse_range(rep, out, "etcd /v3/kv/range", e);
	json_object_put(rep);
	for (size_t i = 0; !r && i < out->n; i++)
		if (strncmp(out->kv[i].key, prefix, n)) {
			r = err_set(e, EPROTO, "etcd /v3/kv/range: asked for %s..., got %.80s",
				    prefix, out->kv[i].key);
			etcd_kvs_free(out);
		}
	return r;
}

int etcd_put(struct etcd *c, const char *key, const void *value, size_t len, int64_t lease,
	     int64_t *revision, struct err *e)
{
	const char *p = "/v3/kv/put";
	int r;
	if ((r = check_key(key, e)) || (r = check_value(len, e)))
		return r;
	json_object *req = put_req(key, value, len, lease), *rep;
	if (!req)
		return NOMEM(p);
	if ((r = etcd_call(c, p, req, &rep, e)))
		return r;
	int64_t rev;
	r = header_revision(rep, &rev, "etcd /v3/kv/put", e);
	json_object_put(rep);
	if (!r && revision)
		*revision = rev;
	return r;
}

int etcd_delete(struct etcd *c, const char *key, bool prefix, int64_t *deleted, struct err *e)
{
	const char *p = "/v3/kv/deleterange";
	int r = check_key(key, e);
	if (r)
		return r;
	char end[ETCD_KEY_MAX + 1];
	size_t en = prefix_end(key, end);
	json_object *req = range_req(key), *rep;
	if (!req || (prefix && add_bytes(req, "range_end", end, en))) {
		json_object_put(req);
		return NOMEM(p);
	}
	if ((r = etcd_call(c, p, req, &rep, e)))
		return r;
	int64_t n, rev;
	if (!(r = header_revision(rep, &rev, "etcd /v3/kv/deleterange", e)))
		r = get_i64(rep, "deleted", 0, &n, "etcd /v3/kv/deleterange", e);
	json_object_put(rep);
	if (!r && deleted)
		*deleted = n;
	return r;
}

/* A txn: if key's target ("VERSION", "MOD") equals v, put key = value, else range key.
 * Returns 1 if the put was done, 0 if not (*cur: key's value then, cur->key NULL if none). */
static int txn_put_or_get(struct etcd *c, const char *key, const char *target, const char *field,
			  int64_t v, const void *value, size_t len, int64_t lease,
			  struct etcd_kv *cur, struct err *e)
{
	const char *p = "/v3/kv/txn", *where = "etcd /v3/kv/txn";
	int r;
	if ((r = check_key(key, e)) || (r = check_value(len, e)))
		return r;
	json_object *req = json_object_new_object(), *cmp = json_object_new_object(),
		    *okop = json_object_new_object(), *koop = json_object_new_object();
	bool built = req && cmp && okop && koop && !add_bytes(cmp, "key", key, strlen(key)) &&
		     !add_str(cmp, "result", "EQUAL") && !add_str(cmp, "target", target) &&
		     !add_i64(cmp, field, v);
	if (!built) {
		json_object_put(req);
		json_object_put(cmp);
		json_object_put(okop);
		json_object_put(koop);
		return NOMEM(p);
	}
	/* (each adopt takes its child, added or freed, so nothing is left over whatever fails) */
	built &= adopt(okop, "request_put", put_req(key, value, len, lease));
	built &= adopt(koop, "request_range", range_req(key));
	built &= adopt(req, "compare", in_array(cmp));
	built &= adopt(req, "success", in_array(okop));
	built &= adopt(req, "failure", in_array(koop));
	if (!built) {
		json_object_put(req);
		return NOMEM(p);
	}
	json_object *rep;
	if ((r = etcd_call(c, p, req, &rep, e)))
		return r;
	int64_t rev;
	json_object *succ, *resps, *one, *rr;
	if ((r = header_revision(rep, &rev, where, e)))
		goto out;
	bool done = json_object_object_get_ex(rep, "succeeded", &succ) &&
		    json_object_is_type(succ, json_type_boolean) && json_object_get_boolean(succ);
	if (json_object_object_get_ex(rep, "succeeded", &succ) &&
	    !json_object_is_type(succ, json_type_boolean)) {
		r = err_set(e, EPROTO, "%s: succeeded is not a boolean", where);
		goto out;
	}
	if (!json_object_object_get_ex(rep, "responses", &resps) ||
	    !json_object_is_type(resps, json_type_array) || json_object_array_length(resps) != 1 ||
	    !json_object_is_type(one = json_object_array_get_idx(resps, 0), json_type_object)) {
		r = err_set(e, EPROTO, "%s: the answer does not hold the one response asked for",
			    where);
		goto out;
	}
	if (done) {
		if (!json_object_object_get_ex(one, "response_put", &rr))
			r = err_set(e, EPROTO, "%s: succeeded without a put", where);
		else
			r = 1;
		goto out;
	}
	struct etcd_kvs kvs;
	if (!json_object_object_get_ex(one, "response_range", &rr) ||
	    !json_object_is_type(rr, json_type_object)) {
		r = err_set(e, EPROTO, "%s: failed without a range", where);
		goto out;
	}
	if ((r = parse_range(rr, &kvs, where, e)))
		goto out;
	if (kvs.n > 1 || (kvs.n == 1 && strcmp(kvs.kv[0].key, key))) {
		etcd_kvs_free(&kvs);
		r = err_set(e, EPROTO, "%s: asked for %s, got another key", where, key);
		goto out;
	}
	memset(cur, 0, sizeof(*cur));
	if (kvs.n) {
		*cur = kvs.kv[0];
		kvs.n = 0;
	}
	etcd_kvs_free(&kvs);
	r = 0;
out:
	json_object_put(rep);
	return r;
}

int etcd_claim(struct etcd *c, const char *key, const void *value, size_t len, int64_t lease,
	       struct etcd_kv *cur, struct err *e)
{
	int r = txn_put_or_get(c, key, "VERSION", "version", 0, value, len, lease, cur, e);
	if (r == 0 && !cur->key) /* version was not 0, yet there is no key */
		return err_set(e, EPROTO, "etcd /v3/kv/txn: %s exists and has no value", key);
	return r;
}

int etcd_cas(struct etcd *c, const char *key, int64_t mod_revision, const void *value, size_t len,
	     int64_t lease, struct etcd_kv *cur, struct err *e)
{
	if (mod_revision < 0)
		return err_set(e, EINVAL, "etcd: a negative revision");
	return txn_put_or_get(c, key, "MOD", "mod_revision", mod_revision, value, len, lease, cur,
			      e);
}

/* Calls path with {name: "v"}, the lease calls' one argument. */
static int call_number(struct etcd *c, const char *path, const char *name, int64_t v,
		       json_object **rep, struct err *e)
{
	json_object *req = json_object_new_object();
	if (!req || add_i64(req, name, v)) {
		json_object_put(req);
		return NOMEM(path);
	}
	return etcd_call(c, path, req, rep, e);
}

/* A lease answer may carry an "error" of its own (LeaseGrantResponse) */
static int lease_error(json_object *o, const char *where, struct err *e)
{
	json_object *j;
	if (!json_object_object_get_ex(o, "error", &j) || json_object_is_type(j, json_type_null))
		return 0;
	if (!json_object_is_type(j, json_type_string))
		return err_set(e, EPROTO, "%s: error is not a string", where);
	if (!json_object_get_string_len(j))
		return 0;
	return err_set(e, EIO, "%s: etcd says: %.200s", where, json_object_get_string(j));
}

int etcd_lease_grant(struct etcd *c, int64_t ttl, int64_t *id, int64_t *granted, struct err *e)
{
	const char *p = "/v3/lease/grant", *where = "etcd /v3/lease/grant";
	if (ttl <= 0)
		return err_set(e, EINVAL, "etcd: a lease of %" PRId64 " s", ttl);
	json_object *rep;
	int r = call_number(c, p, "TTL", ttl, &rep, e);
	if (r)
		return r;
	int64_t gid, gttl;
	if (!(r = lease_error(rep, where, e)) && !(r = get_i64(rep, "ID", 1, &gid, where, e)) &&
	    !(r = get_i64(rep, "TTL", 1, &gttl, where, e))) {
		if (gid == 0 || gttl == 0)
			r = err_set(e, EPROTO, "%s: the answer has no lease id or TTL", where);
	}
	json_object_put(rep);
	if (r)
		return r;
	*id = gid;
	if (granted)
		*granted = gttl;
	return 0;
}

int etcd_lease_keepalive(struct etcd *c, int64_t id, int64_t *ttl, struct err *e)
{
	const char *p = "/v3/lease/keepalive", *where = "etcd /v3/lease/keepalive";
	json_object *rep, *res;
	int r = call_number(c, p, "ID", id, &rep, e);
	if (r)
		return r;
	/* a stream's one message: {"result": ...} or {"error": {code, message}} */
	int64_t gid, gttl;
	if (json_object_object_get_ex(rep, "error", &res)) {
		json_object *m;
		const char *msg = json_object_object_get_ex(res, "message", &m) &&
					  json_object_is_type(m, json_type_string)
				      ? json_object_get_string(m)
				      : "(no message)";
		r = err_set(e, EIO, "%s: etcd says: %.200s", where, msg);
	} else if (!json_object_object_get_ex(rep, "result", &res) ||
		   !json_object_is_type(res, json_type_object)) {
		r = err_set(e, EPROTO, "%s: the answer has no result", where);
	} else if (!(r = get_i64(res, "ID", 0, &gid, where, e)) &&
		   !(r = get_i64(res, "TTL", 0, &gttl, where, e))) {
		if (gid != id)
			r = err_set(e, EPROTO, "%s: renewed lease %" PRId64 ", not %" PRId64, where,
				    gid, id);
		else if (gttl == 0)
			r = err_set(e, ENOENT, "%s: lease %" PRId64 " has lapsed", where, id);
	}
	json_object_put(rep);
	if (!r && ttl)
		*ttl = gttl;
	return r;
}

int etcd_lease_revoke(struct etcd *c, int64_t id, struct err *e)
{
	const char *p = "/v3/lease/revoke";
	json_object *rep;
	int r = call_number(c, p, "ID", id, &rep, e);
	if (r)
		return r;
	int64_t rev;
	r = header_revision(rep, &rev, "etcd /v3/lease/revoke", e);
	json_object_put(rep);
	return r;
}
