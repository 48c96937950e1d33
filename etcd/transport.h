/* Inside etcd/: one call of etcd's gRPC API over the handle's endpoints (client.h says when the
 * next endpoint is tried), its answer unpacked. */
#ifndef VMFS_ETCD_TRANSPORT_H
#define VMFS_ETCD_TRANSPORT_H
#include <curl/curl.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "etcd/client.h"

struct grpc_status;
/* Calls path (GRPC_RANGE...) with req and returns its answer, unpacked as desc's message, in
 * *reply (to protobuf_c_message_free_unpacked). An answer whose gRPC status is not OK is an
 * error that says etcd's code and message. */
int etcd_rpc(struct etcd *c, const char *path, const ProtobufCMessage *req,
	     const ProtobufCMessageDescriptor *desc, ProtobufCMessage **reply, struct err *e);

/* The handle's endpoints (URLs without a trailing '/'), the i-th of them (modulo their
 * number), and its bound of one call. */
size_t etcd_endpoints(const struct etcd *c);
const char *etcd_endpoint(const struct etcd *c, size_t i);
long etcd_timeout_ms(const struct etcd *c);
/* Sets h's protocols (HTTP/2, by prior knowledge on http://), no proxy, no signals, and the
 * handle's TLS files: 0 or -ENOMEM. */
int etcd_curl_tls(const struct etcd *c, CURL *h);
/* An answer whose HTTP status is not 200 or whose gRPC status is not OK as an error in e: the
 * gRPC code (in *code, -1 if there is none) and etcd's message; what is not gRPC's, its HTTP
 * status and the start of its body (len bytes at body, from the peer). Returns -errno. The
 * unary calls' and the watch's words alike. */
int etcd_refused(const char *where, long status, const struct grpc_status *st,
		 const void *body, size_t len, int64_t *code, struct err *e);
/* len bytes of s from a peer, for a reason in words: printable ASCII (others as \xNN), at
 * most max of them, "..." if cut; NUL-terminated in dst. */
void etcd_clean(char *dst, size_t dstlen, const char *s, size_t len, size_t max);

/* The headers of a gRPC request: its type, TE: trailers, and the token if the handle has one
 * (0, -ENOMEM). */
int etcd_headers(struct etcd *c, struct curl_slist **hdr);
/* With a user: makes sure the handle holds a token got from endpoint i (authenticating there
 * if not); *next if endpoint i was not reached. 0 without a user. */
int etcd_auth(struct etcd *c, size_t i, long deadline, bool *next, struct err *e);
/* Drops the token: the next request authenticates again. */
void etcd_auth_forget(struct etcd *c);
/* etcd/auth.c: the first line of a password file, which must be a regular file of this
 * process's user that no one else may read (0600): a new string in *out. */
int etcd_read_password(const char *path, char **out, struct err *e);
#endif
