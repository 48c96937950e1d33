/* etcd's transaction (client.h: etcd_txn) and the two built on it, the claim and the
 * compare-and-swap: the request as the gateway's TxnRequest, the answer checked to hold one
 * response of the kind asked for each operation of the branch that ran. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/client.h"
#include "etcd/gwjson.h"
#include "etcd/transport.h"

static const char *const TXN_PATH = "/v3/kv/txn", *const WHERE = "etcd /v3/kv/txn";

static int check_cmp(const struct etcd_cmp *c, struct err *e)
{
	int r = c->prefix ? gj_check_prefix(c->key, e) : gj_check_key(c->key, e);
	if (r)
		return r;
	if ((unsigned)c->target > ETCD_LEASE || (unsigned)c->result > ETCD_GREATER)
		return err_set(e, EINVAL,
			       "etcd txn: a compare of %s with an unknown target or result",
			       c->key);
	if (c->target == ETCD_VALUE)
		return gj_check_value(c->len, e);
	if (c->num < 0)
		return err_set(e, EINVAL, "etcd txn: a compare of %s with %" PRId64, c->key,
			       c->num);
	return 0;
}

static int check_op(const struct etcd_op *o, struct err *e)
{
	int r;
	switch (o->kind) {
	case ETCD_OP_PUT:
		if ((r = gj_check_key(o->key, e)) || (r = gj_check_value(o->len, e)))
			return r;
		if (o->lease < 0 || (o->ignore_lease && o->lease))
			return err_set(e, EINVAL, "etcd txn: a put of %s with lease %" PRId64 "%s",
				       o->key, o->lease,
				       o->ignore_lease ? " and ignore_lease" : "");
		return 0;
	case ETCD_OP_DELETE:
	case ETCD_OP_RANGE:
		return o->prefix ? gj_check_prefix(o->key, e) : gj_check_key(o->key, e);
	}
	return err_set(e, EINVAL, "etcd txn: an operation of unknown kind %d", (int)o->kind);
}

static int check_list(const char *what, size_t n, struct err *e)
{
	if (n > ETCD_TXN_MAX)
		return err_set(e, EINVAL, "etcd txn: %zu %s (at most %d, etcd's --max-txn-ops)", n,
			       what, ETCD_TXN_MAX);
	return 0;
}

static json_object *cmp_json(const struct etcd_cmp *c)
{
	static const char *const targets[] = {"VERSION", "CREATE", "MOD", "VALUE", "LEASE"};
	static const char *const fields[] = {"version", "create_revision", "mod_revision", "value",
					     "lease"};
	static const char *const results[] = {"EQUAL", "NOT_EQUAL", "LESS", "GREATER"};
	json_object *o = json_object_new_object();
	if (!o || gj_add_range(o, c->key, c->prefix) ||
	    gj_add_str(o, "target", targets[c->target]) ||
	    gj_add_str(o, "result", results[c->result]) ||
	    (c->target == ETCD_VALUE ? gj_add_bytes(o, "value", c->value, c->len)
				     : gj_add_i64(o, fields[c->target], c->num))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *op_json(const struct etcd_op *op)
{
	json_object *o = json_object_new_object(), *in = NULL;
	const char *name = "request_range";
	if (!o)
		return NULL;
	if (op->kind == ETCD_OP_PUT) {
		name = "request_put";
		in = gj_put_req(op->key, op->value, op->len, op->lease);
		if (in && op->ignore_lease &&
		    json_object_object_add(in, "ignore_lease", json_object_new_boolean(1))) {
			json_object_put(in);
			in = NULL;
		}
	} else {
		if (op->kind == ETCD_OP_DELETE)
			name = "request_delete_range";
		in = json_object_new_object();
		if (in && gj_add_range(in, op->key, op->prefix)) {
			json_object_put(in);
			in = NULL;
		}
	}
	if (!gj_adopt(o, name, in)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *build(const struct etcd_cmp *cmp, size_t ncmp, const struct etcd_op *ok,
			  size_t nok, const struct etcd_op *fail, size_t nfail)
{
	json_object *req = json_object_new_object(), *a[3];
	bool built = req != NULL;
	for (int k = 0; k < 3; k++)
		built &= (a[k] = json_object_new_array()) != NULL;
	for (size_t i = 0; built && i < ncmp; i++) {
		json_object *j = cmp_json(&cmp[i]);
		built = j && !json_object_array_add(a[0], j);
		if (!built)
			json_object_put(j);
	}
	for (size_t i = 0; built && i < nok + nfail; i++) {
		json_object *j = op_json(i < nok ? &ok[i] : &fail[i - nok]);
		built = j && !json_object_array_add(a[i < nok ? 1 : 2], j);
		if (!built)
			json_object_put(j);
	}
	static const char *const names[] = {"compare", "success", "failure"};
	for (int k = 0; k < 3; k++)
		built &= req && gj_adopt(req, names[k], a[k]);
	if (!built) {
		json_object_put(req);
		return NULL;
	}
	return req;
}

/* The answer to op (one of responses[]): its kind, and for a range its keys, which must be
 * the ones asked for. */
static int parse_one(json_object *j, const struct etcd_op *op, struct etcd_kvs *kvs, struct err *e)
{
	static const char *const names[] = {"response_put", "response_delete_range",
					    "response_range"};
	json_object *in;
	if (!json_object_is_type(j, json_type_object) ||
	    !json_object_object_get_ex(j, names[op->kind], &in) ||
	    !json_object_is_type(in, json_type_object) || json_object_object_length(j) != 1)
		return err_set(e, EPROTO, "%s: the answer to the operation on %.80s is not a %s",
			       WHERE, op->key, names[op->kind]);
	if (op->kind != ETCD_OP_RANGE)
		return 0;
	int r = gj_parse_range(in, kvs, WHERE, e);
	if (r)
		return r;
	size_t n = strlen(op->key);
	for (size_t i = 0; i < kvs->n; i++)
		if (op->prefix ? strncmp(kvs->kv[i].key, op->key, n)
			       : kvs->n > 1 || strcmp(kvs->kv[i].key, op->key)) {
			r = err_set(e, EPROTO, "%s: asked for %s%s, got %.80s", WHERE, op->key,
				    op->prefix ? "..." : "", kvs->kv[i].key);
			etcd_kvs_free(kvs);
			return r;
		}
	return 0;
}

static int parse(json_object *rep, const struct etcd_op *ok, size_t nok, const struct etcd_op *fail,
		 size_t nfail, struct etcd_txn_result *res, struct err *e)
{
	json_object *j, *resps = NULL;
	int r = gj_header_revision(rep, &res->revision, WHERE, e);
	if (r)
		return r;
	if (json_object_object_get_ex(rep, "succeeded", &j)) {
		if (!json_object_is_type(j, json_type_boolean))
			return err_set(e, EPROTO, "%s: succeeded is not a boolean", WHERE);
		res->succeeded = json_object_get_boolean(j);
	}
	const struct etcd_op *ops = res->succeeded ? ok : fail;
	size_t nops = res->succeeded ? nok : nfail, n = 0, nranges = 0;
	/* (proto3's JSON leaves out an empty list) */
	if (json_object_object_get_ex(rep, "responses", &resps) &&
	    !json_object_is_type(resps, json_type_null)) {
		if (!json_object_is_type(resps, json_type_array))
			return err_set(e, EPROTO, "%s: responses is not a list", WHERE);
		n = json_object_array_length(resps);
	}
	if (n != nops)
		return err_set(e, EPROTO, "%s: %zu responses to %zu operations", WHERE, n, nops);
	for (size_t i = 0; i < nops; i++)
		nranges += ops[i].kind == ETCD_OP_RANGE;
	if (nranges && !(res->ranges = calloc(nranges, sizeof(*res->ranges))))
		return err_set(e, ENOMEM, "%s: out of memory", WHERE);
	for (size_t i = 0; i < nops; i++) {
		struct etcd_kvs *kvs =
		    ops[i].kind == ETCD_OP_RANGE ? &res->ranges[res->nranges] : NULL;
		struct etcd_kvs none;
		if ((r = parse_one(json_object_array_get_idx(resps, i), &ops[i], kvs ? kvs : &none,
				   e)))
			return r;
		res->nranges += kvs != NULL;
	}
	return 0;
}

int etcd_txn(struct etcd *c, const struct etcd_cmp *cmp, size_t ncmp, const struct etcd_op *ok,
	     size_t nok, const struct etcd_op *fail, size_t nfail, struct etcd_txn_result *res,
	     struct err *e)
{
	memset(res, 0, sizeof(*res));
	int r;
	if ((r = check_list("compares", ncmp, e)) ||
	    (r = check_list("operations on success", nok, e)) ||
	    (r = check_list("operations on failure", nfail, e)))
		return r;
	for (size_t i = 0; i < ncmp; i++)
		if ((r = check_cmp(&cmp[i], e)))
			return r;
	for (size_t i = 0; i < nok + nfail; i++)
		if ((r = check_op(i < nok ? &ok[i] : &fail[i - nok], e)))
			return r;
	json_object *req = build(cmp, ncmp, ok, nok, fail, nfail), *rep;
	if (!req)
		return err_set(e, ENOMEM, "%s: out of memory", WHERE);
	if ((r = etcd_call(c, TXN_PATH, req, &rep, e)))
		return r;
	r = parse(rep, ok, nok, fail, nfail, res, e);
	json_object_put(rep);
	if (r)
		etcd_txn_result_free(res);
	return r;
}

void etcd_txn_result_free(struct etcd_txn_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nranges; i++)
		etcd_kvs_free(&r->ranges[i]);
	free(r->ranges);
	memset(r, 0, sizeof(*r));
}

/* If key's target is num: put key = value, else read it. 1 if the put was done, else 0 and
 * the key in *cur (cur->key NULL if there is none). */
static int put_if(struct etcd *c, const char *key, enum etcd_target target, int64_t num,
		  const void *value, size_t len, int64_t lease, struct etcd_kv *cur, struct err *e)
{
	const struct etcd_cmp cmp = {
	    .key = key, .target = target, .result = ETCD_EQUAL, .num = num};
	const struct etcd_op put = {
	    .kind = ETCD_OP_PUT, .key = key, .value = value, .len = len, .lease = lease};
	const struct etcd_op get = {.kind = ETCD_OP_RANGE, .key = key};
	struct etcd_txn_result res;
	int r = etcd_txn(c, &cmp, 1, &put, 1, &get, 1, &res, e);
	if (r)
		return r;
	r = res.succeeded;
	if (!r) {
		memset(cur, 0, sizeof(*cur));
		if (res.ranges[0].n) {
			*cur = res.ranges[0].kv[0];
			res.ranges[0].n = 0;
		}
	}
	etcd_txn_result_free(&res);
	return r;
}

int etcd_claim(struct etcd *c, const char *key, const void *value, size_t len, int64_t lease,
	       struct etcd_kv *cur, struct err *e)
{
	int r = put_if(c, key, ETCD_VERSION, 0, value, len, lease, cur, e);
	if (r == 0 && !cur->key) /* version was not 0, yet there is no key */
		return err_set(e, EPROTO, "%s: %s exists and has no value", WHERE, key);
	return r;
}

int etcd_cas(struct etcd *c, const char *key, int64_t mod_revision, const void *value, size_t len,
	     int64_t lease, struct etcd_kv *cur, struct err *e)
{
	if (mod_revision < 0)
		return err_set(e, EINVAL, "etcd: a negative revision");
	return put_if(c, key, ETCD_MOD, mod_revision, value, len, lease, cur, e);
}
