/* Inside etcd/: etcd's gRPC API as bytes: its messages (etcd/pb/etcd.proto, packed and
 * unpacked by libprotobuf-c), gRPC's framing of them on an HTTP/2 stream, the status in its
 * trailers, and the checks of what etcd answers (every field is peer input: sizes, NUL bytes,
 * revisions). Errors name `where` (the call). */
#ifndef VMFS_ETCD_GRPC_H
#define VMFS_ETCD_GRPC_H
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd/client.h"
#include "etcd/pb/etcd.pb-c.h"

/* The messages by shorter names (the generated ones carry the package's) */
typedef Etcdserverpb__KeyValue PbKeyValue;
typedef Etcdserverpb__RangeRequest PbRangeRequest;
typedef Etcdserverpb__RangeResponse PbRangeResponse;
typedef Etcdserverpb__PutRequest PbPutRequest;
typedef Etcdserverpb__PutResponse PbPutResponse;
typedef Etcdserverpb__DeleteRangeRequest PbDeleteRangeRequest;
typedef Etcdserverpb__DeleteRangeResponse PbDeleteRangeResponse;
typedef Etcdserverpb__RequestOp PbRequestOp;
typedef Etcdserverpb__ResponseOp PbResponseOp;
typedef Etcdserverpb__Compare PbCompare;
typedef Etcdserverpb__TxnRequest PbTxnRequest;
typedef Etcdserverpb__TxnResponse PbTxnResponse;
typedef Etcdserverpb__WatchRequest PbWatchRequest;
typedef Etcdserverpb__WatchCreateRequest PbWatchCreateRequest;
typedef Etcdserverpb__WatchResponse PbWatchResponse;
typedef Etcdserverpb__Event PbEvent;

/* The HTTP/2 paths of the calls */
#define GRPC_RANGE "/etcdserverpb.KV/Range"
#define GRPC_PUT "/etcdserverpb.KV/Put"
#define GRPC_DELETE "/etcdserverpb.KV/DeleteRange"
#define GRPC_TXN "/etcdserverpb.KV/Txn"
#define GRPC_WATCH "/etcdserverpb.Watch/Watch"
#define GRPC_LEASE_GRANT "/etcdserverpb.Lease/LeaseGrant"
#define GRPC_LEASE_REVOKE "/etcdserverpb.Lease/LeaseRevoke"
#define GRPC_LEASE_KEEPALIVE "/etcdserverpb.Lease/LeaseKeepAlive"
#define GRPC_AUTHENTICATE "/etcdserverpb.Auth/Authenticate"

/* The largest message taken from etcd (a range's page, a watch response): ETCD_REPLY_MAX. */

/* m in gRPC's frame (flag 0, its length in 4 bytes big-endian, the message): a new buffer
 * in *out (to free), or -ENOMEM / -EFBIG (beyond ETCD_REPLY_MAX). */
int grpc_pack(const ProtobufCMessage *m, uint8_t **out, size_t *len);

/* A stream's bytes as they come, cut into whole messages. */
struct grpc_frames {
	uint8_t *buf;
	size_t len, cap, used; /* bytes held, room, and how many of them are taken already */
};
/* Adds n bytes: 0, -ENOMEM, or -EFBIG when a message would be over ETCD_REPLY_MAX. */
int grpc_frames_add(struct grpc_frames *f, const void *p, size_t n);
/* The next whole message: 1 with *msg and *len (valid until the next add), 0 when none is
 * whole yet, or -EPROTO (why: a compressed or oversized frame: the stream cannot go on). */
int grpc_frames_next(struct grpc_frames *f, const uint8_t **msg, size_t *len, char *why,
		     size_t whylen);
/* Bytes held that are not a whole message (what a stream that ended left over). */
size_t grpc_frames_pending(const struct grpc_frames *f);
void grpc_frames_free(struct grpc_frames *f);

/* gRPC's status, from the headers and trailers of an answer (one header line at a time, as
 * libcurl's header callback gives them; "grpc-message" percent-decoded, made printable). */
struct grpc_status {
	bool seen;   /* grpc-status came */
	int code;    /* its value (0: OK) */
	bool is_grpc; /* content-type application/grpc came */
	char message[400];
};
void grpc_status_line(struct grpc_status *s, const char *line, size_t len);
/* gRPC's code as a name ("Unavailable") and as the errno client.h documents. */
const char *grpc_code_name(int code);
int grpc_code_errno(int code);

/* Unpacks len bytes as desc's message: 0 and *out (protobuf_c_message_free_unpacked), or
 * -EPROTO (where: the bytes are not that message). */
int grpc_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
		ProtobufCMessage **out, const char *where, struct err *e);

/* Checks and copies one KeyValue from etcd: a key of 1 to ETCD_KEY_MAX bytes without NUL, a
 * value of at most ETCD_VALUE_MAX, a mod_revision of 1 or more; a key that is there (not
 * deleted: a DELETE event's kv has its key and mod_revision only) also a create_revision
 * and version of 1 or more, not changed before it was made. */
int grpc_kv(const PbKeyValue *in, bool deleted, struct etcd_kv *kv, const char *where,
	    struct err *e);
/* A RangeResponse's kvs, which must be in strictly rising key order; header.revision in
 * out->revision (0 without a header: a txn's inner answer). */
int grpc_range(const PbRangeResponse *in, struct etcd_kvs *out, const char *where,
	       struct err *e);
/* The header's revision, which must be there and not negative. */
int grpc_header_revision(const Etcdserverpb__ResponseHeader *h, int64_t *rev, const char *where,
			 struct err *e);

/* Checks of what is sent (EINVAL with words): a key of 1 to ETCD_KEY_MAX bytes, a prefix of
 * at most that, a value of at most ETCD_VALUE_MAX. */
int grpc_check_key(const char *key, struct err *e);
int grpc_check_prefix(const char *prefix, struct err *e);
int grpc_check_value(size_t len, struct err *e);
/* n bytes at p as a bytes field (not copied: p must outlive the message) */
static inline ProtobufCBinaryData grpc_bytes(const void *p, size_t n)
{
	return (ProtobufCBinaryData){.len = n, .data = (uint8_t *)p};
}
/* rq's key (and with prefix, its range_end, in end: ETCD_KEY_MAX + 1 bytes) for one key or
 * every key that starts with it ("": every key) */
void grpc_range_req(PbRangeRequest *rq, const char *key, bool prefix, uint8_t *end);
/* The end of the range of every key that starts with prefix (""; every key: "\0"), in end
 * (ETCD_KEY_MAX + 1 bytes): its length. */
size_t grpc_prefix_end(const char *prefix, uint8_t *end);
#endif
