/* etcd's transaction (client.h: etcd_txn) and the two built on it, the claim and the
 * compare-and-swap: the request as etcd's TxnRequest, the answer checked to hold one
 * response of the kind asked for each operation of the branch that ran. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/client.h"
#include "etcd/grpc.h"
#include "etcd/transport.h"

static const char *const WHERE = "etcd " GRPC_TXN;

static int check_cmp(const struct etcd_cmp *c, struct err *e)
{
	int r = c->prefix ? grpc_check_prefix(c->key, e) : grpc_check_key(c->key, e);
	if (r)
		return r;
	if ((unsigned)c->target > ETCD_LEASE || (unsigned)c->result > ETCD_GREATER)
		return err_set(e, EINVAL,
			       "etcd txn: a compare of %s with an unknown target or result",
			       c->key);
	if (c->target == ETCD_VALUE)
		return grpc_check_value(c->len, e);
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
		if ((r = grpc_check_key(o->key, e)) || (r = grpc_check_value(o->len, e)))
			return r;
		if (o->lease < 0 || (o->ignore_lease && o->lease))
			return err_set(e, EINVAL, "etcd txn: a put of %s with lease %" PRId64 "%s",
				       o->key, o->lease,
				       o->ignore_lease ? " and ignore_lease" : "");
		return 0;
	case ETCD_OP_DELETE:
	case ETCD_OP_RANGE:
		return o->prefix ? grpc_check_prefix(o->key, e) : grpc_check_key(o->key, e);
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

/* The request's parts, in one allocation's arrays (the message points into them). */
struct built {
	PbTxnRequest req;
	PbCompare *cmp, **pcmp;
	PbRequestOp *ops, **pops;
	PbRangeRequest *rr; /* each op's range, put or delete request (one of them used) */
	PbPutRequest *put;
	PbDeleteRangeRequest *del;
	uint8_t (*end)[ETCD_KEY_MAX + 1]; /* the range ends of prefixes */
};

static void built_free(struct built *b)
{
	free(b->cmp);
	free(b->pcmp);
	free(b->ops);
	free(b->pops);
	free(b->rr);
	free(b->put);
	free(b->del);
	free(b->end);
}

static int build(struct built *b, const struct etcd_cmp *cmp, size_t ncmp,
		 const struct etcd_op *ok, size_t nok, const struct etcd_op *fail, size_t nfail)
{
	static const Etcdserverpb__Compare__CompareResult results[] = {
	    ETCDSERVERPB__COMPARE__COMPARE_RESULT__EQUAL,
	    ETCDSERVERPB__COMPARE__COMPARE_RESULT__NOT_EQUAL,
	    ETCDSERVERPB__COMPARE__COMPARE_RESULT__LESS,
	    ETCDSERVERPB__COMPARE__COMPARE_RESULT__GREATER};
	size_t nops = nok + nfail, nprefix = 0;
	for (size_t i = 0; i < ncmp; i++)
		nprefix += cmp[i].prefix;
	for (size_t i = 0; i < nops; i++)
		nprefix += (i < nok ? &ok[i] : &fail[i - nok])->prefix;
	*b = (struct built){.req = ETCDSERVERPB__TXN_REQUEST__INIT};
	b->cmp = calloc(ncmp + 1, sizeof(*b->cmp));
	b->pcmp = calloc(ncmp + 1, sizeof(*b->pcmp));
	b->ops = calloc(nops + 1, sizeof(*b->ops));
	b->pops = calloc(nops + 1, sizeof(*b->pops));
	b->rr = calloc(nops + 1, sizeof(*b->rr));
	b->put = calloc(nops + 1, sizeof(*b->put));
	b->del = calloc(nops + 1, sizeof(*b->del));
	b->end = calloc(nprefix + 1, sizeof(*b->end));
	if (!b->cmp || !b->pcmp || !b->ops || !b->pops || !b->rr || !b->put || !b->del || !b->end)
		return -ENOMEM;
	size_t pe = 0;
	for (size_t i = 0; i < ncmp; i++) {
		const struct etcd_cmp *c = &cmp[i];
		PbCompare *m = &b->cmp[i];
		etcdserverpb__compare__init(m);
		PbRangeRequest range = ETCDSERVERPB__RANGE_REQUEST__INIT;
		grpc_range_req(&range, c->key, c->prefix, c->prefix ? b->end[pe++] : NULL);
		m->key = range.key;
		m->range_end = range.range_end;
		m->target = (Etcdserverpb__Compare__CompareTarget)c->target; /* the same numbers */
		m->result = results[c->result];
		switch (c->target) {
		case ETCD_VERSION:
			m->target_union_case = ETCDSERVERPB__COMPARE__TARGET_UNION_VERSION;
			m->version = c->num;
			break;
		case ETCD_CREATE:
			m->target_union_case = ETCDSERVERPB__COMPARE__TARGET_UNION_CREATE_REVISION;
			m->create_revision = c->num;
			break;
		case ETCD_MOD:
			m->target_union_case = ETCDSERVERPB__COMPARE__TARGET_UNION_MOD_REVISION;
			m->mod_revision = c->num;
			break;
		case ETCD_VALUE:
			m->target_union_case = ETCDSERVERPB__COMPARE__TARGET_UNION_VALUE;
			m->value = grpc_bytes(c->value, c->len);
			break;
		case ETCD_LEASE:
			m->target_union_case = ETCDSERVERPB__COMPARE__TARGET_UNION_LEASE;
			m->lease = c->num;
			break;
		}
		b->pcmp[i] = m;
	}
	for (size_t i = 0; i < nops; i++) {
		const struct etcd_op *op = i < nok ? &ok[i] : &fail[i - nok];
		PbRequestOp *m = &b->ops[i];
		etcdserverpb__request_op__init(m);
		if (op->kind == ETCD_OP_PUT) {
			PbPutRequest *p = &b->put[i];
			etcdserverpb__put_request__init(p);
			p->key = grpc_bytes(op->key, strlen(op->key));
			p->value = grpc_bytes(op->value, op->len);
			p->lease = op->lease;
			p->ignore_lease = op->ignore_lease;
			m->request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT;
			m->request_put = p;
		} else {
			PbRangeRequest *rr = &b->rr[i];
			etcdserverpb__range_request__init(rr);
			grpc_range_req(rr, op->key, op->prefix, op->prefix ? b->end[pe++] : NULL);
			if (op->kind == ETCD_OP_RANGE) {
				m->request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_RANGE;
				m->request_range = rr;
			} else {
				PbDeleteRangeRequest *d = &b->del[i];
				etcdserverpb__delete_range_request__init(d);
				d->key = rr->key;
				d->range_end = rr->range_end;
				m->request_case =
				    ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_DELETE_RANGE;
				m->request_delete_range = d;
			}
		}
		b->pops[i] = m;
	}
	b->req.n_compare = ncmp;
	b->req.compare = b->pcmp;
	b->req.n_success = nok;
	b->req.success = b->pops;
	b->req.n_failure = nfail;
	b->req.failure = b->pops + nok;
	return 0;
}

/* The answer to op (one of responses[]): its kind, and for a range its keys, which must be
 * the ones asked for. */
static int parse_one(const PbResponseOp *j, const struct etcd_op *op, struct etcd_kvs *kvs,
		     struct err *e)
{
	static const char *const names[] = {"response_put", "response_delete_range",
					    "response_range"};
	static const Etcdserverpb__ResponseOp__ResponseCase cases[] = {
	    ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_PUT,
	    ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_DELETE_RANGE,
	    ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_RANGE};
	if (!j || j->response_case != cases[op->kind] ||
	    (op->kind == ETCD_OP_RANGE && !j->response_range))
		return err_set(e, EPROTO, "%s: the answer to the operation on %.80s is not a %s",
			       WHERE, op->key, names[op->kind]);
	if (op->kind != ETCD_OP_RANGE)
		return 0;
	int r = grpc_range(j->response_range, kvs, WHERE, e);
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

static int parse(const PbTxnResponse *rep, const struct etcd_op *ok, size_t nok,
		 const struct etcd_op *fail, size_t nfail, struct etcd_txn_result *res,
		 struct err *e)
{
	int r = grpc_header_revision(rep->header, &res->revision, WHERE, e);
	if (r)
		return r;
	res->succeeded = rep->succeeded;
	const struct etcd_op *ops = res->succeeded ? ok : fail;
	size_t nops = res->succeeded ? nok : nfail, nranges = 0;
	if (rep->n_responses != nops)
		return err_set(e, EPROTO, "%s: %zu responses to %zu operations", WHERE,
			       rep->n_responses, nops);
	for (size_t i = 0; i < nops; i++)
		nranges += ops[i].kind == ETCD_OP_RANGE;
	if (nranges && !(res->ranges = calloc(nranges, sizeof(*res->ranges))))
		return err_set(e, ENOMEM, "%s: out of memory", WHERE);
	for (size_t i = 0; i < nops; i++) {
		struct etcd_kvs *kvs =
		    ops[i].kind == ETCD_OP_RANGE ? &res->ranges[res->nranges] : NULL;
		struct etcd_kvs none;
		if ((r = parse_one(rep->responses[i], &ops[i], kvs ? kvs : &none, e)))
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
	struct built b;
	ProtobufCMessage *rep;
	if (build(&b, cmp, ncmp, ok, nok, fail, nfail))
		r = err_set(e, ENOMEM, "%s: out of memory", WHERE);
	else
		r = etcd_rpc(c, GRPC_TXN, &b.req.base, &etcdserverpb__txn_response__descriptor,
			     &rep, e);
	built_free(&b);
	if (r)
		return r;
	r = parse((const PbTxnResponse *)rep, ok, nok, fail, nfail, res, e);
	protobuf_c_message_free_unpacked(rep, NULL);
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
