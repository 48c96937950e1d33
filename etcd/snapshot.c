/* etcd_range_snapshot (watch.h): a prefix read page by page, every page at the revision of the
 * first, each page checked to go on where the one before stopped. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/grpc.h"
#include "etcd/transport.h"
#include "etcd/watch.h"

static const char *const WHERE = "etcd " GRPC_RANGE;

/* One page: from start (slen bytes) to the end of prefix, at rev, at most ETCD_PAGE keys. */
static int page(struct etcd *c, const char *prefix, const char *start, size_t slen, int64_t rev,
		struct etcd_kvs *pg, bool *more, struct err *e)
{
	uint8_t end[ETCD_KEY_MAX + 1];
	PbRangeRequest rq = ETCDSERVERPB__RANGE_REQUEST__INIT;
	rq.key = grpc_bytes(start, slen);
	rq.range_end = grpc_bytes(end, grpc_prefix_end(prefix, end));
	rq.revision = rev;
	rq.limit = ETCD_PAGE;
	ProtobufCMessage *m;
	int r = etcd_rpc(c, GRPC_RANGE, &rq.base, &etcdserverpb__range_response__descriptor, &m, e);
	if (r == -ERANGE)
		return err_wrap(e,
				"a snapshot of %s at revision %" PRId64
				" (compacted, or not there yet: range at revision 0)",
				prefix, rev);
	if (r)
		return r;
	const PbRangeResponse *rep = (const void *)m;
	*more = rep->more;
	r = grpc_range(rep, pg, WHERE, e);
	if (!r && pg->revision < 1) {
		etcd_kvs_free(pg);
		r = err_set(e, EPROTO, "%s: the answer has no header, or its revision is %" PRId64,
			    WHERE, pg->revision);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return r;
}

/* pg's keys, checked to belong in the snapshot after the ones in out, moved to its end */
static int append(struct etcd_kvs *out, struct etcd_kvs *pg, const char *prefix, size_t *bytes,
		  struct err *e)
{
	size_t plen = strlen(prefix);
	if (pg->n > ETCD_PAGE)
		return err_set(e, EPROTO, "%s: %zu keys in a page of at most %d", WHERE, pg->n,
			       ETCD_PAGE);
	for (size_t i = 0; i < pg->n; i++) {
		const struct etcd_kv *kv = &pg->kv[i];
		if (strncmp(kv->key, prefix, plen))
			return err_set(e, EPROTO, "%s: asked for %s..., got %.80s", WHERE, prefix,
				       kv->key);
		if (kv->mod_revision > out->revision)
			return err_set(e, EPROTO,
				       "%s: %.80s changed at %" PRId64
				       ", after the snapshot's %" PRId64,
				       WHERE, kv->key, kv->mod_revision, out->revision);
		if (i == 0 && out->n && strcmp(out->kv[out->n - 1].key, kv->key) >= 0)
			return err_set(e, EPROTO, "%s: a page does not start after the one before",
				       WHERE);
		*bytes += strlen(kv->key) + kv->value_len;
	}
	if (out->n + pg->n > ETCD_SNAPSHOT_KEYS || *bytes > ETCD_SNAPSHOT_BYTES)
		return err_set(e, EFBIG, "%s: %s holds more than %d keys or %ld bytes", WHERE,
			       prefix, ETCD_SNAPSHOT_KEYS, ETCD_SNAPSHOT_BYTES);
	struct etcd_kv *kv = realloc(out->kv, (out->n + pg->n) * sizeof(*kv));
	if (!kv)
		return err_set(e, ENOMEM, "%s: out of memory", WHERE);
	memcpy(kv + out->n, pg->kv, pg->n * sizeof(*kv));
	out->kv = kv;
	out->n += pg->n;
	free(pg->kv);
	memset(pg, 0, sizeof(*pg));
	return 0;
}

int etcd_range_snapshot(struct etcd *c, const char *prefix, int64_t rev, struct etcd_kvs *out,
			struct err *e)
{
	memset(out, 0, sizeof(*out));
	int r = grpc_check_prefix(prefix, e);
	if (r)
		return r;
	if (rev < 0)
		return err_set(e, EINVAL, "etcd: a snapshot at revision %" PRId64, rev);
	/* the next page starts just after the last key: that key and a NUL byte */
	char start[ETCD_KEY_MAX + 2];
	size_t slen = strlen(prefix), bytes = 0;
	memcpy(start, slen ? prefix : "", slen ? slen : 1);
	slen += !slen;
	for (bool more = true; more;) {
		struct etcd_kvs pg;
		if ((r = page(c, prefix, start, slen, rev, &pg, &more, e)))
			break;
		if (!rev) /* the first page fixes the revision of every other */
			rev = pg.revision;
		out->revision = rev;
		if (pg.revision < rev) {
			r = err_set(e, EPROTO, "%s: an answer at %" PRId64 ", before %" PRId64,
				    WHERE, pg.revision, rev);
		} else if (more && !pg.n) {
			r = err_set(e, EPROTO, "%s: an empty page that says there is more", WHERE);
		} else if (pg.n) {
			const char *last = pg.kv[pg.n - 1].key;
			slen = strlen(last) + 1;
			memcpy(start, last, slen); /* with its NUL */
			r = append(out, &pg, prefix, &bytes, e);
		}
		etcd_kvs_free(&pg);
		if (r)
			break;
	}
	if (r)
		etcd_kvs_free(out);
	return r;
}
