/* etcd's gRPC API as bytes (grpc.h): framing, status, and the checks of its answers. */
#include "etcd/grpc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "etcd/transport.h"

int grpc_pack(const ProtobufCMessage *m, uint8_t **out, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	if (n > ETCD_REPLY_MAX)
		return -EFBIG;
	uint8_t *b = malloc(n + 5);
	if (!b)
		return -ENOMEM;
	b[0] = 0; /* not compressed */
	b[1] = (uint8_t)(n >> 24);
	b[2] = (uint8_t)(n >> 16);
	b[3] = (uint8_t)(n >> 8);
	b[4] = (uint8_t)n;
	protobuf_c_message_pack(m, b + 5);
	*out = b;
	*len = n + 5;
	return 0;
}

int grpc_frames_add(struct grpc_frames *f, const void *p, size_t n)
{
	if (f->used) { /* what was taken goes first: the buffer holds one message's worth */
		memmove(f->buf, f->buf + f->used, f->len - f->used);
		f->len -= f->used;
		f->used = 0;
	}
	/* (what is held: the rest of one message, and the start of the next in the same chunk) */
	if (n > 2 * ((size_t)ETCD_REPLY_MAX + 5) - f->len)
		return -EFBIG;
	if (f->len + n > f->cap) {
		size_t cap = f->cap ? f->cap : 16384;
		while (cap < f->len + n)
			cap *= 2;
		uint8_t *nb = realloc(f->buf, cap);
		if (!nb)
			return -ENOMEM;
		f->buf = nb;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, p, n);
	f->len += n;
	return 0;
}

int grpc_frames_next(struct grpc_frames *f, const uint8_t **msg, size_t *len, char *why,
		     size_t whylen)
{
	size_t have = f->len - f->used;
	if (have < 5)
		return 0;
	const uint8_t *h = f->buf + f->used;
	size_t n = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
	if (h[0] != 0) {
		snprintf(why, whylen, "a message with flags 0x%02x (compressed: none was asked for)",
			 h[0]);
		return -EPROTO;
	}
	if (n > ETCD_REPLY_MAX) {
		snprintf(why, whylen, "a message of %zu bytes (at most %d taken)", n,
			 ETCD_REPLY_MAX);
		return -EPROTO;
	}
	if (have - 5 < n)
		return 0;
	*msg = h + 5;
	*len = n;
	f->used += 5 + n;
	return 1;
}

size_t grpc_frames_pending(const struct grpc_frames *f) { return f->len - f->used; }

void grpc_frames_free(struct grpc_frames *f)
{
	free(f->buf);
	*f = (struct grpc_frames){0};
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

void grpc_status_line(struct grpc_status *s, const char *line, size_t len)
{
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	const char *colon = memchr(line, ':', len);
	if (!colon)
		return;
	size_t nlen = (size_t)(colon - line), vlen = len - nlen - 1;
	const char *v = colon + 1;
	while (vlen && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	if (nlen == 11 && !strncasecmp(line, "grpc-status", 11)) {
		int code = 0;
		bool ok = vlen > 0 && vlen <= 3;
		for (size_t i = 0; i < vlen && ok; i++) {
			ok = v[i] >= '0' && v[i] <= '9';
			code = code * 10 + (v[i] - '0');
		}
		s->seen = true;
		s->code = ok ? code : 2; /* Unknown: not a number */
	} else if (nlen == 12 && !strncasecmp(line, "grpc-message", 12)) {
		/* percent-encoded (gRPC's rule); kept printable for a reason in words */
		char raw[sizeof(s->message)];
		size_t o = 0;
		for (size_t i = 0; i < vlen && o + 1 < sizeof(raw); i++) {
			int hi, lo;
			if (v[i] == '%' && i + 2 < vlen && (hi = hexval(v[i + 1])) >= 0 &&
			    (lo = hexval(v[i + 2])) >= 0) {
				raw[o++] = (char)(hi << 4 | lo);
				i += 2;
			} else {
				raw[o++] = v[i];
			}
		}
		etcd_clean(s->message, sizeof(s->message), raw, o, 300);
	} else if (nlen == 12 && !strncasecmp(line, "content-type", 12)) {
		s->is_grpc = vlen >= 16 && !strncasecmp(v, "application/grpc", 16);
	}
}

const char *grpc_code_name(int code)
{
	static const char *names[] = {
	    "OK",	       "Canceled",	   "Unknown",	   "InvalidArgument",
	    "DeadlineExceeded", "NotFound",	   "AlreadyExists", "PermissionDenied",
	    "ResourceExhausted", "FailedPrecondition", "Aborted",	   "OutOfRange",
	    "Unimplemented",	"Internal",	   "Unavailable",   "DataLoss",
	    "Unauthenticated",
	};
	return code >= 0 && code < (int)(sizeof(names) / sizeof(names[0])) ? names[code] : "?";
}

int grpc_code_errno(int code)
{
	switch (code) {
	case 3:
		return EINVAL;
	case 11: /* OutOfRange: a revision compacted or not there yet */
		return ERANGE;
	case 4:
		return ETIMEDOUT;
	case 5:
		return ENOENT;
	case 6:
		return EEXIST;
	case 7:
	case 16:
		return EACCES;
	case 8:
		return ENOSPC;
	case 9:
	case 10:
		return EAGAIN;
	case 14:
		return EHOSTDOWN;
	default:
		return EIO;
	}
}

/* What unpacking may allocate: a hostile answer of many empty entries (2 bytes each on the
 * wire, about a hundred in memory) would else cost several gigabytes; etcd's own answers need
 * 2 to 10 times their size (a watch's events of short keys and no values: about 9). */
struct budget {
	size_t left;
};

static void *budget_alloc(void *data, size_t size)
{
	struct budget *b = data;
	if (size > b->left)
		return NULL; /* unpacking fails: the answer is refused */
	b->left -= size;
	return malloc(size);
}

static void budget_free(void *data, void *p)
{
	(void)data;
	free(p);
}

int grpc_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
		ProtobufCMessage **out, const char *where, struct err *e)
{
	struct budget b = {.left = 16 * len + (1 << 20)};
	ProtobufCAllocator a = {.alloc = budget_alloc, .free = budget_free, .allocator_data = &b};
	/* (freed with protobuf_c_message_free_unpacked(m, NULL): the same free) */
	*out = protobuf_c_message_unpack(desc, &a, len, p);
	if (!*out)
		return err_set(e, EPROTO, "%s: the answer (%zu bytes) is not a %s", where, len,
			       desc->short_name);
	return 0;
}

/* n bytes of a field as a new NUL-terminated string */
static int copy(const ProtobufCBinaryData *b, size_t max, char **out, const char *what,
		const char *where, struct err *e)
{
	if (b->len > max)
		return err_set(e, EPROTO, "%s: %s is longer than %zu bytes", where, what, max);
	if (!(*out = malloc(b->len + 1)))
		return err_set(e, ENOMEM, "%s: out of memory", where);
	if (b->len)
		memcpy(*out, b->data, b->len);
	(*out)[b->len] = 0;
	return 0;
}

int grpc_kv(const PbKeyValue *in, bool deleted, struct etcd_kv *kv, const char *where,
	    struct err *e)
{
	memset(kv, 0, sizeof(*kv));
	if (!in)
		return err_set(e, EPROTO, "%s: an event without its key", where);
	int r = copy(&in->key, ETCD_KEY_MAX, &kv->key, "a key", where, e);
	if (r)
		return r;
	if (!in->key.len || strlen(kv->key) != in->key.len) {
		r = err_set(e, EPROTO, "%s: a key is empty or holds a NUL byte", where);
		goto fail;
	}
	if ((r = copy(&in->value, ETCD_VALUE_MAX, &kv->value, "a value", where, e)))
		goto fail;
	kv->value_len = in->value.len;
	kv->create_revision = in->create_revision;
	kv->mod_revision = in->mod_revision;
	kv->version = in->version;
	kv->lease = in->lease;
	/* (INT64_MAX is refused: the revision after it is asked for next) */
	if (kv->mod_revision < 1 || kv->mod_revision == INT64_MAX || kv->lease < 0 ||
	    (!deleted && (kv->create_revision < 1 || kv->version < 1))) {
		r = err_set(e, EPROTO,
			    "%s: key %.80s has a revision, version or lease out of range (%" PRId64
			    ", %" PRId64 ", %" PRId64 ", %" PRId64 ")",
			    where, kv->key, kv->create_revision, kv->mod_revision, kv->version,
			    kv->lease);
		goto fail;
	}
	if (!deleted && kv->mod_revision < kv->create_revision) {
		r = err_set(e, EPROTO,
			    "%s: key %.80s was changed (%" PRId64 ") before it was made (%" PRId64
			    ")",
			    where, kv->key, kv->mod_revision, kv->create_revision);
		goto fail;
	}
	return 0;
fail:
	etcd_kv_free(kv);
	return r;
}

int grpc_header_revision(const Etcdserverpb__ResponseHeader *h, int64_t *rev, const char *where,
			 struct err *e)
{
	*rev = 0;
	if (!h)
		return err_set(e, EPROTO, "%s: the answer has no header", where);
	if (h->revision < 1 || h->revision == INT64_MAX)
		return err_set(e, EPROTO, "%s: the header's revision is %" PRId64, where,
			       (int64_t)h->revision);
	*rev = h->revision;
	return 0;
}

int grpc_range(const PbRangeResponse *in, struct etcd_kvs *out, const char *where,
	       struct err *e)
{
	memset(out, 0, sizeof(*out));
	int r;
	if (in->header && in->header->revision < 0) /* (a txn's inner answers may have none) */
		return err_set(e, EPROTO, "%s: the header's revision is %" PRId64, where,
			       (int64_t)in->header->revision);
	out->revision = in->header ? in->header->revision : 0;
	if (!in->n_kvs)
		return 0;
	if (!(out->kv = calloc(in->n_kvs, sizeof(*out->kv))))
		return err_set(e, ENOMEM, "%s: out of memory", where);
	for (size_t i = 0; i < in->n_kvs; i++) {
		if ((r = grpc_kv(in->kvs[i], false, &out->kv[i], where, e))) {
			etcd_kvs_free(out);
			return r;
		}
		out->n++;
		if (i && strcmp(out->kv[i - 1].key, out->kv[i].key) >= 0) {
			etcd_kvs_free(out);
			return err_set(e, EPROTO, "%s: the keys are not in order", where);
		}
	}
	return 0;
}

int grpc_check_key(const char *key, struct err *e)
{
	size_t n = strlen(key);
	if (n == 0 || n > ETCD_KEY_MAX)
		return err_set(e, EINVAL, "etcd: a key of %zu bytes (1 to %d)", n, ETCD_KEY_MAX);
	return 0;
}

int grpc_check_prefix(const char *prefix, struct err *e)
{
	size_t n = strlen(prefix);
	if (n > ETCD_KEY_MAX)
		return err_set(e, EINVAL, "etcd: a prefix of %zu bytes (at most %d)", n,
			       ETCD_KEY_MAX);
	return 0;
}

int grpc_check_value(size_t len, struct err *e)
{
	if (len > ETCD_VALUE_MAX)
		return err_set(e, EINVAL, "etcd: a value of %zu bytes (at most %d)", len,
			       ETCD_VALUE_MAX);
	return 0;
}

/* prefix with its last byte below 0xff raised by one (etcd's own rule); "\0" (every key
 * after) if there is none */
size_t grpc_prefix_end(const char *prefix, uint8_t *end)
{
	size_t n = strlen(prefix);
	memcpy(end, prefix, n);
	while (n > 0 && end[n - 1] == 0xff)
		n--;
	if (n == 0) {
		end[0] = 0;
		return 1;
	}
	end[n - 1]++;
	return n;
}

void grpc_range_req(PbRangeRequest *rq, const char *key, bool prefix, uint8_t *end)
{
	size_t n = strlen(key);
	/* "" starts at "\0": every key */
	rq->key = n ? grpc_bytes(key, n) : grpc_bytes("", 1);
	if (prefix)
		rq->range_end = grpc_bytes(end, grpc_prefix_end(key, end));
}
