/* libFuzzer target for what etcd answers (etcd/grpc.c): the bytes of an HTTP/2 stream as a
 * false etcd, or anyone between, may send them. Built and run by `make fuzz` and
 * tests/fuzz/run.
 *
 * The input's first byte says where the stream is cut as it arrives; the rest goes through
 * the frame cutter, and every whole message is unpacked as each answer the client reads
 * (RangeResponse, TxnResponse, WatchResponse) and checked as the client checks it. What a
 * check accepts must hold what it promises (keys without NUL, within bounds, in order). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/grpc.h"

static void must(int cond)
{
	if (!cond)
		abort();
}

static void kvs_hold(const struct etcd_kvs *k)
{
	for (size_t i = 0; i < k->n; i++) {
		must(k->kv[i].key && strlen(k->kv[i].key) >= 1 &&
		     strlen(k->kv[i].key) <= ETCD_KEY_MAX);
		must(k->kv[i].value_len <= ETCD_VALUE_MAX && k->kv[i].mod_revision >= 1);
		must(!i || strcmp(k->kv[i - 1].key, k->kv[i].key) < 0);
	}
}

static void one(const uint8_t *m, size_t len)
{
	struct err e;
	ProtobufCMessage *pm;
	struct etcd_kvs kvs;
	if (!grpc_unpack(&etcdserverpb__range_response__descriptor, m, len, &pm, "fuzz", &e)) {
		if (!grpc_range((PbRangeResponse *)pm, &kvs, "fuzz", &e)) {
			kvs_hold(&kvs);
			etcd_kvs_free(&kvs);
		}
		protobuf_c_message_free_unpacked(pm, NULL);
	}
	if (!grpc_unpack(&etcdserverpb__txn_response__descriptor, m, len, &pm, "fuzz", &e)) {
		const PbTxnResponse *t = (const void *)pm;
		int64_t rev;
		grpc_header_revision(t->header, &rev, "fuzz", &e);
		for (size_t i = 0; i < t->n_responses; i++)
			if (t->responses[i] && t->responses[i]->response_case ==
						   ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_RANGE &&
			    !grpc_range(t->responses[i]->response_range, &kvs, "fuzz", &e)) {
				kvs_hold(&kvs);
				etcd_kvs_free(&kvs);
			}
		protobuf_c_message_free_unpacked(pm, NULL);
	}
	if (!grpc_unpack(&etcdserverpb__watch_response__descriptor, m, len, &pm, "fuzz", &e)) {
		const PbWatchResponse *w = (const void *)pm;
		for (size_t i = 0; i < w->n_events; i++) {
			struct etcd_kv kv;
			bool del = w->events[i] && w->events[i]->type == 1;
			if (w->events[i] && !grpc_kv(w->events[i]->kv, del, &kv, "fuzz", &e)) {
				must(kv.mod_revision >= 1 && strlen(kv.key) >= 1);
				must(del || kv.create_revision <= kv.mod_revision);
				etcd_kv_free(&kv);
			}
		}
		protobuf_c_message_free_unpacked(pm, NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t cut = data[0] ? data[0] : 1;
	data++;
	size--;
	struct grpc_frames f = {0};
	for (size_t at = 0; at < size; at += cut) {
		size_t n = size - at < cut ? size - at : cut;
		if (grpc_frames_add(&f, data + at, n))
			break;
		for (;;) {
			const uint8_t *m;
			size_t len;
			char why[160];
			int r = grpc_frames_next(&f, &m, &len, why, sizeof(why));
			if (r <= 0)
				break;
			one(m, len);
		}
	}
	grpc_frames_free(&f);
	return 0;
}
