/* etcd's KV and lease calls over transport.c: the requests as the gateway's JSON, and every
 * field of an answer checked before it is used (client.h). */
#include "etcd/client.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/gwjson.h"
#include "etcd/transport.h"

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

/* --- calls --- */

#define NOMEM(path) err_set(e, ENOMEM, "etcd %s: out of memory", path)

int etcd_get(struct etcd *c, const char *key, struct etcd_kv *kv, bool *found, struct err *e)
{
	const char *p = "/v3/kv/range";
	int r = gj_check_key(key, e);
	if (r)
		return r;
	json_object *req = gj_range_req(key), *rep;
	if (!req)
		return NOMEM(p);
	if ((r = etcd_call(c, p, req, &rep, e)))
		return r;
	struct etcd_kvs kvs;
	r = gj_parse_range(rep, &kvs, "etcd /v3/kv/range", e);
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
	int r = gj_check_prefix(prefix, e);
	if (r)
		return r;
	json_object *req = json_object_new_object(), *rep;
	if (!req || gj_add_range(req, prefix, true)) {
		json_object_put(req);
		return NOMEM(p);
	}
	if ((r = etcd_call(c, p, req, &rep, e)))
		return r;
	r = gj_parse_range(rep, out, "etcd /v3/kv/range", e);
	json_object_put(rep);
	size_t n = strlen(prefix);
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
	if ((r = gj_check_key(key, e)) || (r = gj_check_value(len, e)))
		return r;
	json_object *req = gj_put_req(key, value, len, lease), *rep;
	if (!req)
		return NOMEM(p);
	if ((r = etcd_call(c, p, req, &rep, e)))
		return r;
	int64_t rev;
	r = gj_header_revision(rep, &rev, "etcd /v3/kv/put", e);
	json_object_put(rep);
	if (!r && revision)
		*revision = rev;
	return r;
}

int etcd_delete(struct etcd *c, const char *key, bool prefix, int64_t *deleted, struct err *e)
{
	const char *p = "/v3/kv/deleterange";
	int r = gj_check_key(key, e);
	if (r)
		return r;
	json_object *req = json_object_new_object(), *rep;
	if (!req || gj_add_range(req, key, prefix)) {
		json_object_put(req);
		return NOMEM(p);
	}
	if ((r = etcd_call(c, p, req, &rep, e)))
		return r;
	int64_t n, rev;
	if (!(r = gj_header_revision(rep, &rev, "etcd /v3/kv/deleterange", e)))
		r = gj_get_i64(rep, "deleted", 0, &n, "etcd /v3/kv/deleterange", e);
	json_object_put(rep);
	if (!r && deleted)
		*deleted = n;
	return r;
}

/* Calls path with {name: "v"}, the lease calls' one argument. */
static int call_number(struct etcd *c, const char *path, const char *name, int64_t v,
		       json_object **rep, struct err *e)
{
	json_object *req = json_object_new_object();
	if (!req || gj_add_i64(req, name, v)) {
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
	if (!(r = lease_error(rep, where, e)) && !(r = gj_get_i64(rep, "ID", 1, &gid, where, e)) &&
	    !(r = gj_get_i64(rep, "TTL", 1, &gttl, where, e))) {
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
	} else if (!(r = gj_get_i64(res, "ID", 0, &gid, where, e)) &&
		   !(r = gj_get_i64(res, "TTL", 0, &gttl, where, e))) {
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
	r = gj_header_revision(rep, &rev, "etcd /v3/lease/revoke", e);
	json_object_put(rep);
	return r;
}
