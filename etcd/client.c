/* etcd's KV and lease calls over transport.c: the requests as etcd's gRPC messages, and every
 * field of an answer checked before it is used (client.h). */
#include "etcd/client.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/grpc.h"
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

/* A range's answer as kvs (where: the call). */
static int range_call(struct etcd *c, const PbRangeRequest *rq, struct etcd_kvs *out,
		      struct err *e)
{
	ProtobufCMessage *m;
	int r = etcd_rpc(c, GRPC_RANGE, &rq->base, &etcdserverpb__range_response__descriptor, &m,
			 e);
	if (r)
		return r;
	const PbRangeResponse *rep = (const PbRangeResponse *)m;
	int64_t rev;
	memset(out, 0, sizeof(*out));
	if (!(r = grpc_header_revision(rep->header, &rev, "etcd " GRPC_RANGE, e)))
		r = grpc_range(rep, out, "etcd " GRPC_RANGE, e);
	protobuf_c_message_free_unpacked(m, NULL);
	return r;
}

int etcd_get(struct etcd *c, const char *key, struct etcd_kv *kv, bool *found, struct err *e)
{
	int r = grpc_check_key(key, e);
	if (r)
		return r;
	PbRangeRequest rq = ETCDSERVERPB__RANGE_REQUEST__INIT;
	grpc_range_req(&rq, key, false, NULL);
	struct etcd_kvs kvs;
	if ((r = range_call(c, &rq, &kvs, e)))
		return r;
	if (kvs.n > 1 || (kvs.n == 1 && strcmp(kvs.kv[0].key, key))) {
		etcd_kvs_free(&kvs);
		return err_set(e, EPROTO, "etcd %s: asked for %s, got another key", GRPC_RANGE,
			       key);
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
	int r = grpc_check_prefix(prefix, e);
	if (r)
		return r;
	uint8_t end[ETCD_KEY_MAX + 1];
	PbRangeRequest rq = ETCDSERVERPB__RANGE_REQUEST__INIT;
	grpc_range_req(&rq, prefix, true, end);
	if ((r = range_call(c, &rq, out, e)))
		return r;
	size_t n = strlen(prefix);
	for (size_t i = 0; !r && i < out->n; i++)
		if (strncmp(out->kv[i].key, prefix, n)) {
			r = err_set(e, EPROTO, "etcd %s: asked for %s..., got %.80s", GRPC_RANGE,
				    prefix, out->kv[i].key);
			etcd_kvs_free(out);
		}
	return r;
}

int etcd_put(struct etcd *c, const char *key, const void *value, size_t len, int64_t lease,
	     int64_t *revision, struct err *e)
{
	int r;
	if ((r = grpc_check_key(key, e)) || (r = grpc_check_value(len, e)))
		return r;
	PbPutRequest rq = ETCDSERVERPB__PUT_REQUEST__INIT;
	rq.key = grpc_bytes(key, strlen(key));
	rq.value = grpc_bytes(value, len);
	rq.lease = lease;
	ProtobufCMessage *m;
	if ((r = etcd_rpc(c, GRPC_PUT, &rq.base, &etcdserverpb__put_response__descriptor, &m, e)))
		return r;
	int64_t rev;
	r = grpc_header_revision(((PbPutResponse *)m)->header, &rev, "etcd " GRPC_PUT, e);
	protobuf_c_message_free_unpacked(m, NULL);
	if (!r && revision)
		*revision = rev;
	return r;
}

int etcd_delete(struct etcd *c, const char *key, bool prefix, int64_t *deleted, struct err *e)
{
	int r = grpc_check_key(key, e);
	if (r)
		return r;
	uint8_t end[ETCD_KEY_MAX + 1];
	PbRangeRequest range = ETCDSERVERPB__RANGE_REQUEST__INIT;
	grpc_range_req(&range, key, prefix, end);
	PbDeleteRangeRequest rq = ETCDSERVERPB__DELETE_RANGE_REQUEST__INIT;
	rq.key = range.key;
	rq.range_end = range.range_end;
	ProtobufCMessage *m;
	if ((r = etcd_rpc(c, GRPC_DELETE, &rq.base, &etcdserverpb__delete_range_response__descriptor,
			  &m, e)))
		return r;
	const PbDeleteRangeResponse *rep = (const void *)m;
	int64_t rev;
	if (!(r = grpc_header_revision(rep->header, &rev, "etcd " GRPC_DELETE, e)) &&
	    rep->deleted < 0)
		r = err_set(e, EPROTO, "etcd %s: deleted %" PRId64 " keys", GRPC_DELETE,
			    (int64_t)rep->deleted);
	if (!r && deleted)
		*deleted = rep->deleted;
	protobuf_c_message_free_unpacked(m, NULL);
	return r;
}

int etcd_lease_grant(struct etcd *c, int64_t ttl, int64_t *id, int64_t *granted, struct err *e)
{
	const char *where = "etcd " GRPC_LEASE_GRANT;
	if (ttl <= 0)
		return err_set(e, EINVAL, "etcd: a lease of %" PRId64 " s", ttl);
	Etcdserverpb__LeaseGrantRequest rq = ETCDSERVERPB__LEASE_GRANT_REQUEST__INIT;
	rq.ttl = ttl;
	ProtobufCMessage *m;
	int r = etcd_rpc(c, GRPC_LEASE_GRANT, &rq.base,
			 &etcdserverpb__lease_grant_response__descriptor, &m, e);
	if (r)
		return r;
	const Etcdserverpb__LeaseGrantResponse *rep = (const void *)m;
	char text[256];
	if (rep->error && *rep->error) { /* LeaseGrantResponse's error of its own */
		etcd_clean(text, sizeof(text), rep->error, strlen(rep->error), 200);
		r = err_set(e, EIO, "%s: etcd says: %s", where, text);
	} else if (rep->id <= 0 || rep->ttl <= 0) {
		r = err_set(e, EPROTO, "%s: the answer has no lease id or TTL", where);
	} else {
		*id = rep->id;
		if (granted)
			*granted = rep->ttl;
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return r;
}

int etcd_lease_keepalive(struct etcd *c, int64_t id, int64_t *ttl, struct err *e)
{
	const char *where = "etcd " GRPC_LEASE_KEEPALIVE;
	/* a stream each way: one request, then the end of ours; etcd answers it, then ends */
	Etcdserverpb__LeaseKeepAliveRequest rq = ETCDSERVERPB__LEASE_KEEP_ALIVE_REQUEST__INIT;
	rq.id = id;
	ProtobufCMessage *m;
	int r = etcd_rpc(c, GRPC_LEASE_KEEPALIVE, &rq.base,
			 &etcdserverpb__lease_keep_alive_response__descriptor, &m, e);
	if (r)
		return r;
	const Etcdserverpb__LeaseKeepAliveResponse *rep = (const void *)m;
	if (rep->id != id)
		r = err_set(e, EPROTO, "%s: renewed lease %" PRId64 ", not %" PRId64, where,
			    (int64_t)rep->id, id);
	else if (rep->ttl <= 0)
		r = err_set(e, ENOENT, "%s: lease %" PRId64 " has lapsed", where, id);
	else if (ttl)
		*ttl = rep->ttl;
	protobuf_c_message_free_unpacked(m, NULL);
	return r;
}

int etcd_lease_revoke(struct etcd *c, int64_t id, struct err *e)
{
	Etcdserverpb__LeaseRevokeRequest rq = ETCDSERVERPB__LEASE_REVOKE_REQUEST__INIT;
	rq.id = id;
	ProtobufCMessage *m;
	int r = etcd_rpc(c, GRPC_LEASE_REVOKE, &rq.base,
			 &etcdserverpb__lease_revoke_response__descriptor, &m, e);
	if (r)
		return r;
	int64_t rev;
	r = grpc_header_revision(((Etcdserverpb__LeaseRevokeResponse *)m)->header, &rev,
				 "etcd " GRPC_LEASE_REVOKE, e);
	protobuf_c_message_free_unpacked(m, NULL);
	return r;
}
