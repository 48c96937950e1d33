/* The checks of what etcd answers (etcd/grpc.c: grpc_kv, grpc_range, grpc_header_revision):
 * every field is peer input, packed here as a false etcd would and unpacked as the client
 * does. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/grpc.h"
#include "tests/unit/tap.h"

static PbKeyValue kv_of(const char *key, size_t klen, const char *value, int64_t create,
			int64_t mod, int64_t version)
{
	PbKeyValue k = ETCDSERVERPB__KEY_VALUE__INIT;
	k.key = grpc_bytes(key, klen);
	k.value = grpc_bytes(value, strlen(value));
	k.create_revision = create;
	k.mod_revision = mod;
	k.version = version;
	return k;
}

/* resp's kvs through the wire and back, then grpc_range: its result, and the kvs in *out */
static int through(PbKeyValue *kvs, size_t n, int64_t rev, struct etcd_kvs *out, struct err *e)
{
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
	h.revision = rev;
	PbRangeResponse rr = ETCDSERVERPB__RANGE_RESPONSE__INIT;
	PbKeyValue *p[8];
	for (size_t i = 0; i < n; i++)
		p[i] = &kvs[i];
	rr.header = rev ? &h : NULL;
	rr.kvs = p;
	rr.n_kvs = n;
	uint8_t *b;
	size_t len;
	if (grpc_pack(&rr.base, &b, &len))
		return -ENOMEM;
	ProtobufCMessage *m;
	int r = grpc_unpack(&etcdserverpb__range_response__descriptor, b + 5, len - 5, &m, "test",
			    e);
	free(b);
	if (r)
		return r;
	r = grpc_range((PbRangeResponse *)m, out, "test", e);
	protobuf_c_message_free_unpacked(m, NULL);
	return r;
}

int main(void)
{
	struct err e;
	struct etcd_kvs out;
	PbKeyValue k[3];

	k[0] = kv_of("/a", 2, "one", 2, 3, 2);
	k[1] = kv_of("/b", 2, "", 4, 4, 1);
	ok(!through(k, 2, 9, &out, &e), "a well-formed range answer is read");
	ok(out.n == 2 && out.revision == 9, "its two keys and its revision");
	is_str(out.kv[0].key, "/a", "the first key");
	ok(out.kv[0].value_len == 3 && !strcmp(out.kv[0].value, "one") &&
	       out.kv[0].create_revision == 2 && out.kv[0].mod_revision == 3 &&
	       out.kv[0].version == 2,
	   "its value, revisions and version");
	ok(out.kv[1].value_len == 0 && out.kv[1].value && !out.kv[1].value[0],
	   "an empty value is an empty string");
	etcd_kvs_free(&out);

	k[1] = kv_of("/a", 2, "x", 4, 4, 1);
	ok(through(k, 2, 9, &out, &e) == -EPROTO && strstr(e.why, "not in order"),
	   "keys not in rising order: refused (%s)", e.why);
	k[1] = kv_of("/a\0b", 4, "x", 4, 4, 1);
	ok(through(k + 1, 1, 9, &out, &e) == -EPROTO && strstr(e.why, "NUL byte"),
	   "a key holding a NUL byte: refused (%s)", e.why);
	k[1] = kv_of("", 0, "x", 4, 4, 1);
	ok(through(k + 1, 1, 9, &out, &e) == -EPROTO, "an empty key: refused");
	k[1] = kv_of("/c", 2, "x", 5, 4, 1);
	ok(through(k + 1, 1, 9, &out, &e) == -EPROTO && strstr(e.why, "before it was made"),
	   "changed before it was made: refused (%s)", e.why);
	k[1] = kv_of("/c", 2, "x", 0, 4, 1);
	ok(through(k + 1, 1, 9, &out, &e) == -EPROTO, "a key that is there with no create_revision: refused");
	k[1] = kv_of("/c", 2, "x", 1, -4, 1);
	ok(through(k + 1, 1, 9, &out, &e) == -EPROTO, "a negative mod_revision: refused");
	k[1] = kv_of("/c", 2, "x", 1, 1, 1);
	k[1].lease = -1;
	ok(through(k + 1, 1, 9, &out, &e) == -EPROTO, "a negative lease: refused");
	k[1] = kv_of("/c", 2, "x", 1, 1, 1);
	ok(!through(k + 1, 1, 0, &out, &e) && out.revision == 0,
	   "no header (a txn's inner answer): revision 0");
	etcd_kvs_free(&out);
	ok(through(k + 1, 1, -3, &out, &e) == -EPROTO, "a negative header revision: refused");

	char big[ETCD_KEY_MAX + 2];
	memset(big, 'k', sizeof(big));
	k[1] = kv_of(big, ETCD_KEY_MAX + 1, "x", 1, 1, 1);
	ok(through(k + 1, 1, 9, &out, &e) == -EPROTO && strstr(e.why, "longer than"),
	   "a key longer than %d bytes: refused (%s)", ETCD_KEY_MAX, e.why);

	/* a DELETE event's kv: its key and mod_revision only */
	PbKeyValue d = kv_of("/gone", 5, "", 0, 12, 0);
	struct etcd_kv kv;
	ok(!grpc_kv(&d, true, &kv, "test", &e) && kv.mod_revision == 12,
	   "a deleted key with its mod_revision alone is read");
	etcd_kv_free(&kv);
	ok(grpc_kv(&d, false, &kv, "test", &e) == -EPROTO, "the same as a key that is there: refused");
	ok(grpc_kv(NULL, false, &kv, "test", &e) == -EPROTO, "an event without its kv: refused");

	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
	int64_t rev;
	ok(grpc_header_revision(NULL, &rev, "test", &e) == -EPROTO, "no header where one must be: refused");
	ok(grpc_header_revision(&h, &rev, "test", &e) == -EPROTO, "a header without a revision: refused");
	h.revision = 7;
	ok(!grpc_header_revision(&h, &rev, "test", &e) && rev == 7, "a header's revision");

	uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01};
	ProtobufCMessage *m;
	ok(grpc_unpack(&etcdserverpb__range_response__descriptor, junk, sizeof(junk), &m, "test",
		       &e) == -EPROTO &&
	       strstr(e.why, "is not a"),
	   "bytes that are not the message: refused (%s)", e.why);

	/* a hostile answer: a million empty kvs, 2 bytes each on the wire */
	size_t nk = 1000000;
	uint8_t *many = malloc(2 * nk);
	for (size_t i = 0; many && i < nk; i++) {
		many[2 * i] = 0x12; /* field 2 (kvs), length-delimited */
		many[2 * i + 1] = 0;
	}
	ok(many && grpc_unpack(&etcdserverpb__range_response__descriptor, many, 2 * nk, &m, "test",
			       &e) == -EPROTO,
	   "an answer that would take many times its size in memory: refused");
	free(many);
	h.revision = INT64_MAX;
	ok(grpc_header_revision(&h, &rev, "test", &e) == -EPROTO,
	   "a header's revision of INT64_MAX (none can follow it): refused");
	k[1] = kv_of("/c", 2, "x", 1, INT64_MAX, 1);
	ok(through(k + 1, 1, 9, &out, &e) == -EPROTO, "a mod_revision of INT64_MAX: refused");

	uint8_t end[ETCD_KEY_MAX + 1];
	ok(grpc_prefix_end("/a/", end) == 3 && !memcmp(end, "/a0", 3), "a prefix's end: its last byte raised");
	ok(grpc_prefix_end("/a\xff", end) == 2 && !memcmp(end, "/b", 2), "a last byte of 0xff: dropped, the one before raised");
	ok(grpc_prefix_end("", end) == 1 && end[0] == 0, "every key: \"\\0\"");
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
