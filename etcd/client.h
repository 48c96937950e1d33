/* A client of etcd's own v3 gRPC API (KV, Lease, Watch, Auth), HTTP/2 over libcurl with the
 * messages of etcd/pb/etcd.proto packed and unpacked by libprotobuf-c: the store where hosts
 * of a cluster keep their shared state (issue 18).
 *
 * Every call BLOCKS for up to the handle's timeout (the whole call, all endpoints together):
 * call it from a worker thread (as cluster/rjob.c runs a member's jobs), never from vmfs's main
 * loop or a FUSE request that must answer at once. A handle holds one connection; it is not to
 * be used by two threads at once (give each thread its own, etcd_open is cheap).
 *
 * Endpoints are tried in turn, starting with the last that answered, so one etcd node of three
 * down is not an outage. A request goes to the next endpoint only when it surely did not reach
 * the one before (no connection, TLS refused, nothing sent) or that one said it cannot serve
 * (gRPC Unavailable to a read, or "no leader" to anything); a request that was sent and not
 * answered in time fails (ETIMEDOUT) and is not sent again, as it may have been applied, nor
 * is a write that etcd says timed out or lost its leader (ETIMEDOUT too): the caller decides.
 *
 * Everything etcd answers is checked before use (the message's shape, sizes, NUL bytes,
 * revisions: a value was written by another host); a refusal says why, with the gRPC code and
 * the message etcd gave (or the HTTP status, from something that is not etcd's gRPC). Errors
 * go in struct err (runtime/err.h): 0 or -errno; etcd's gRPC codes become EACCES
 * (PermissionDenied, Unauthenticated: an RBAC refusal), ENOENT (NotFound: a lapsed lease),
 * ERANGE (OutOfRange: a compacted revision), EINVAL (InvalidArgument), EHOSTDOWN
 * (Unavailable), ETIMEDOUT, EEXIST, ENOSPC, EAGAIN, else EIO.
 *
 * The snapshot and watch are in etcd/watch.h. */
#ifndef VMFS_ETCD_CLIENT_H
#define VMFS_ETCD_CLIENT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/err.h"

#define ETCD_TIMEOUT_MS 2000
/* The largest key and value taken from etcd (its own default request limit is 1.5 MiB) and
 * the largest answer read (a range of many keys). */
#define ETCD_KEY_MAX 4096
#define ETCD_VALUE_MAX (3 << 19)
#define ETCD_REPLY_MAX (64 << 20)

struct etcd;

struct etcd_opts {
	const char *endpoints; /* "URL[,URL...]", each http://HOST:PORT or https://HOST:PORT */
	const char *ca;	       /* https: the CA file that signed etcd's certificates (or NULL) */
	const char *cert;      /* https: this client's certificate and key (client-cert-auth) */
	const char *key;
	int timeout_ms; /* the bound of each call; 0: ETCD_TIMEOUT_MS */
	/* RBAC: etcd's user (NULL with a password file: the host name), and a file (0600, of
	 * this process's user) whose first line is its password. Each request carries a token from
	 * Auth/Authenticate, got again from each endpoint it goes to, and when etcd refuses it
	 * (such a request was not applied: it is sent once more). */
	const char *user;
	const char *password_file;
};

/* One key as etcd holds it. key and value are NUL-terminated (the NUL not counted); a key
 * holding a NUL byte is refused when read, a value may hold any bytes. */
struct etcd_kv {
	char *key;
	char *value;
	size_t value_len;
	int64_t create_revision, mod_revision, version, lease;
};

struct etcd_kvs {
	struct etcd_kv *kv;
	size_t n;
	int64_t revision; /* the store's revision the answer was read at */
};

/* Checks the options (URLs, readable files) and makes a handle; nothing is sent yet. */
int etcd_open(const struct etcd_opts *o, struct etcd **out, struct err *e);
/* With a user: authenticates now (requests do so by themselves when they need to), so that a
 * wrong password is said at the start: 0, or EACCES with etcd's words. */
int etcd_authenticate(struct etcd *c, struct err *e);
void etcd_close(struct etcd *c);

void etcd_kv_free(struct etcd_kv *kv);
void etcd_kvs_free(struct etcd_kvs *kvs);

/* key's value: *found false (and kv untouched) if there is none. */
int etcd_get(struct etcd *c, const char *key, struct etcd_kv *kv, bool *found, struct err *e);
/* Every key that starts with prefix, in key order ("" is every key). */
int etcd_range_prefix(struct etcd *c, const char *prefix, struct etcd_kvs *out, struct err *e);
/* Sets key to value (len bytes), attached to lease (0: none); *revision (if not NULL) is the
 * store's revision after it. */
int etcd_put(struct etcd *c, const char *key, const void *value, size_t len, int64_t lease,
	     int64_t *revision, struct err *e);
/* Removes key, or every key that starts with it if prefix; *deleted (if not NULL): how many. */
int etcd_delete(struct etcd *c, const char *key, bool prefix, int64_t *deleted, struct err *e);

/* The general transaction: if every compare holds, the operations of ok run, else those of
 * fail, all at one revision. */
#define ETCD_TXN_MAX 128 /* etcd's default --max-txn-ops */
enum etcd_target { ETCD_VERSION, ETCD_CREATE, ETCD_MOD, ETCD_VALUE, ETCD_LEASE };
enum etcd_result { ETCD_EQUAL, ETCD_NOT_EQUAL, ETCD_LESS, ETCD_GREATER };
struct etcd_cmp {
	const char *key;
	enum etcd_target target;
	enum etcd_result result;
	int64_t num;	   /* VERSION, CREATE, MOD, LEASE (an absent key: version and create 0) */
	const void *value; /* VALUE: len bytes */
	size_t len;
	bool prefix; /* every key starting with key: each must pass (none: compared as absent) */
};
enum etcd_opkind { ETCD_OP_PUT, ETCD_OP_DELETE, ETCD_OP_RANGE };
struct etcd_op {
	enum etcd_opkind kind;
	const char *key;
	const void *value; /* PUT */
	size_t len;
	int64_t lease;	   /* PUT: 0 none */
	bool ignore_lease; /* PUT: keep the key's lease */
	bool prefix;	   /* DELETE, RANGE: every key starting with key ("": every key) */
};
struct etcd_txn_result {
	bool succeeded;
	int64_t revision;	 /* the store's revision after the txn */
	struct etcd_kvs *ranges; /* one per RANGE op of the branch that ran, in its order */
	size_t nranges;
};
/* 0 (res->succeeded says which branch ran) or -errno with the reason in e. At most
 * ETCD_TXN_MAX (128) entries in each of cmp, ok, fail (refused EINVAL before sending). */
int etcd_txn(struct etcd *c, const struct etcd_cmp *cmp, size_t ncmp, const struct etcd_op *ok,
	     size_t nok, const struct etcd_op *fail, size_t nfail, struct etcd_txn_result *res,
	     struct err *e);
void etcd_txn_result_free(struct etcd_txn_result *r);

/* The claim, in one transaction: if key does not exist (version 0), creates it with value
 * (attached to lease, 0: none) and returns 1; else returns 0 and its current value in *cur
 * (to free with etcd_kv_free). Two hosts claiming the same name: one gets 1, the other sees
 * the winner's value. */
int etcd_claim(struct etcd *c, const char *key, const void *value, size_t len, int64_t lease,
	       struct etcd_kv *cur, struct err *e);
/* Compare-and-swap, in one transaction: if key's mod_revision is mod_revision (0: the key does
 * not exist), sets it to value and returns 1; else returns 0 and, if the key exists, its
 * current value in *cur (cur->key NULL if it does not). */
int etcd_cas(struct etcd *c, const char *key, int64_t mod_revision, const void *value, size_t len,
	     int64_t lease, struct etcd_kv *cur, struct err *e);

/* A lease of ttl seconds: its id in *id, the TTL etcd granted in *granted (if not NULL). */
int etcd_lease_grant(struct etcd *c, int64_t ttl, int64_t *id, int64_t *granted, struct err *e);
/* Renews lease id once; *ttl (if not NULL): its seconds from now. -ENOENT if it has lapsed
 * (its keys are gone then). */
int etcd_lease_keepalive(struct etcd *c, int64_t id, int64_t *ttl, struct err *e);
/* Ends lease id at once, removing its keys; -ENOENT if it had lapsed already. */
int etcd_lease_revoke(struct etcd *c, int64_t id, struct err *e);
#endif
