/* etcd/grpc.c: a stream's bytes cut into whole gRPC messages however they arrive, frames
 * etcd would never send refused in words, and the status read from headers and trailers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/grpc.h"
#include "tests/unit/tap.h"

/* a framed WatchRequest creating a watch of key from rev */
static uint8_t *frame(const char *key, int64_t rev, size_t *len)
{
	PbWatchCreateRequest cr = ETCDSERVERPB__WATCH_CREATE_REQUEST__INIT;
	PbWatchRequest req = ETCDSERVERPB__WATCH_REQUEST__INIT;
	cr.key.data = (uint8_t *)key;
	cr.key.len = strlen(key);
	cr.start_revision = rev;
	req.request_union_case = ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_CREATE_REQUEST;
	req.create_request = &cr;
	uint8_t *b = NULL;
	if (grpc_pack(&req.base, &b, len))
		return NULL;
	return b;
}

/* the start revision of a WatchRequest's bytes, -1 if they are not one */
static int64_t revision_of(const uint8_t *p, size_t len)
{
	struct err e;
	ProtobufCMessage *m;
	if (grpc_unpack(&etcdserverpb__watch_request__descriptor, p, len, &m, "test", &e))
		return -1;
	const PbWatchRequest *r = (const PbWatchRequest *)m;
	int64_t rev = r->request_union_case ? r->create_request->start_revision : -1;
	protobuf_c_message_free_unpacked(m, NULL);
	return rev;
}

/* adds the bytes in pieces of step, taking every whole message after each: their revisions
 * summed in *sum, and how many there were */
static int cut(const uint8_t *p, size_t n, size_t step, int64_t *sum, size_t *pending)
{
	struct grpc_frames f = {0};
	int got = 0;
	*sum = 0;
	for (size_t at = 0; at < n; at += step) {
		size_t k = n - at < step ? n - at : step;
		if (grpc_frames_add(&f, p + at, k))
			return -1;
		const uint8_t *m;
		size_t len;
		char why[200];
		int r;
		while ((r = grpc_frames_next(&f, &m, &len, why, sizeof(why))) == 1) {
			*sum += revision_of(m, len);
			got++;
		}
		if (r < 0)
			return -1;
	}
	*pending = grpc_frames_pending(&f);
	grpc_frames_free(&f);
	return got;
}

static void framing(void)
{
	size_t l1, l2, l3;
	uint8_t *a = frame("/a/", 7, &l1), *b = frame("/b/", 100, &l2),
		*c = frame("/c/", 1000, &l3);
	ok(a && b && c && a[0] == 0 && a[4] == l1 - 5 && !a[1] && !a[2] && !a[3],
	   "a message goes out with flag 0 and its length in 4 bytes");
	uint8_t all[300];
	memcpy(all, a, l1);
	memcpy(all + l1, b, l2);
	memcpy(all + l1 + l2, c, l3);
	size_t n = l1 + l2 + l3, pending;
	int64_t sum;
	ok(cut(all, n, n, &sum, &pending) == 3 && sum == 1107 && !pending,
	   "three messages in one add: three, in order");
	ok(cut(all, n, 1, &sum, &pending) == 3 && sum == 1107 && !pending,
	   "one byte at a time: the same three");
	ok(cut(all, n, 3, &sum, &pending) == 3 && sum == 1107 && !pending,
	   "three bytes at a time (headers and messages split across adds): the same");
	ok(cut(all, n - 1, 4, &sum, &pending) == 2 && sum == 107 && pending == l3 - 1,
	   "a stream cut short: the whole ones, and the rest left pending");
	ok(cut(all, 4, 4, &sum, &pending) == 0 && pending == 4, "4 bytes: no message yet");

	uint8_t empty[5] = {0};
	struct grpc_frames f = {0};
	const uint8_t *m;
	size_t len = 99;
	char why[200] = "";
	ok(!grpc_frames_add(&f, empty, 5) &&
	       grpc_frames_next(&f, &m, &len, why, sizeof(why)) == 1 && len == 0,
	   "an empty message (every field at its default) is a message");
	ok(grpc_frames_next(&f, &m, &len, why, sizeof(why)) == 0, "and then there is none");
	grpc_frames_free(&f);

	uint8_t zipped[8] = {1, 0, 0, 0, 3, 'a', 'b', 'c'};
	ok(!grpc_frames_add(&f, zipped, sizeof(zipped)) &&
	       grpc_frames_next(&f, &m, &len, why, sizeof(why)) == -EPROTO &&
	       strstr(why, "compressed"),
	   "a compressed message is refused in words: %s", why);
	grpc_frames_free(&f);
	uint8_t flags[5] = {0x80, 0, 0, 0, 0};
	*why = 0;
	ok(!grpc_frames_add(&f, flags, sizeof(flags)) &&
	       grpc_frames_next(&f, &m, &len, why, sizeof(why)) == -EPROTO && strstr(why, "0x80"),
	   "unknown flags are refused: %s", why);
	grpc_frames_free(&f);

	/* a length over the most taken is refused at its header, before any of it is held */
	uint32_t big = ETCD_REPLY_MAX + 1;
	uint8_t huge[5] = {0, (uint8_t)(big >> 24), (uint8_t)(big >> 16), (uint8_t)(big >> 8),
			   (uint8_t)big};
	*why = 0;
	ok(!grpc_frames_add(&f, huge, sizeof(huge)) &&
	       grpc_frames_next(&f, &m, &len, why, sizeof(why)) == -EPROTO && strstr(why, "bytes"),
	   "a message of ETCD_REPLY_MAX + 1 bytes is refused: %s", why);
	grpc_frames_free(&f);
	uint8_t most[5] = {0, (uint8_t)(ETCD_REPLY_MAX >> 24), (uint8_t)(ETCD_REPLY_MAX >> 16), 0,
			   0};
	ok(!grpc_frames_add(&f, most, sizeof(most)) &&
	       grpc_frames_next(&f, &m, &len, why, sizeof(why)) == 0,
	   "one of ETCD_REPLY_MAX bytes is waited for");
	ok(grpc_frames_add(&f, most, 2 * ((size_t)ETCD_REPLY_MAX + 5)) == -EFBIG,
	   "bytes beyond two whole messages' worth are refused before they are copied");
	grpc_frames_free(&f);
	free(a);
	free(b);
	free(c);
}

static struct grpc_status lines(const char *const *l)
{
	struct grpc_status s = {0};
	for (; *l; l++)
		grpc_status_line(&s, *l, strlen(*l));
	return s;
}

static void status(void)
{
	struct grpc_status s =
	    lines((const char *[]){"HTTP/2 200\r\n", "content-type: application/grpc\r\n", NULL});
	ok(s.is_grpc && !s.seen, "headers without a status: gRPC, no status yet");
	s = lines((const char *[]){"Content-Type: application/grpc+proto\r\n",
				   "grpc-status: 14\r\n",
				   "grpc-message: etcdserver%3A%20no%20leader\r\n", NULL});
	ok(s.is_grpc && s.seen && s.code == 14, "a trailer's status: 14");
	is_str(s.message, "etcdserver: no leader", "its message percent-decoded");
	s = lines((const char *[]){"content-type: application/json\r\n", NULL});
	ok(!s.is_grpc, "application/json is not gRPC");
	s = lines((const char *[]){"Grpc-Status:0\n", NULL});
	ok(s.seen && s.code == 0, "a status of 0, the name in any case, no space");
	s = lines((const char *[]){"grpc-status: 1x\r\n", NULL});
	ok(s.seen && s.code == 2, "a status that is not a number is Unknown (2)");
	s = lines((const char *[]){"grpc-status: 1234\r\n", NULL});
	ok(s.seen && s.code == 2, "a status of 4 digits is Unknown");
	s = lines((const char *[]){"grpc-status:\r\n", NULL});
	ok(s.seen && s.code == 2, "an empty status is Unknown");
	s = lines((const char *[]){"grpc-statusx: 5\r\n", "x-grpc-status: 5\r\n",
				   "grpc-status 5\r\n", NULL});
	ok(!s.seen, "other names, and a line without a colon, are not the status");
	s = lines((const char *[]){"grpc-message: a%0Ab%00c%zz%4\r\n", NULL});
	is_str(s.message, "a\\x0ab\\x00c%zz%4",
	       "control bytes decoded are shown escaped; bad escapes kept as they are");
	char longer[2048] = "grpc-message: ";
	memset(longer + strlen(longer), 'm', 1500);
	s = lines((const char *[]){longer, NULL});
	ok(strlen(s.message) < sizeof(s.message) && strstr(s.message, "..."),
	   "a long message is cut, and says so");

	is_str(grpc_code_name(14), "Unavailable", "code 14's name");
	is_str(grpc_code_name(99), "?", "an unknown code's name");
	ok(grpc_code_errno(11) == ERANGE && grpc_code_errno(14) == EHOSTDOWN &&
	       grpc_code_errno(16) == EACCES && grpc_code_errno(99) == EIO,
	   "codes as errno: OutOfRange ERANGE, Unavailable EHOSTDOWN, Unauthenticated EACCES");
}

static void range_end(void)
{
	uint8_t end[ETCD_KEY_MAX + 1];
	size_t n = grpc_prefix_end("/p/", end);
	ok(n == 3 && !memcmp(end, "/p0", 3), "the end of /p/ is /p0");
	n = grpc_prefix_end("a\xff\xff", end);
	ok(n == 1 && end[0] == 'b', "trailing 0xff bytes are dropped before the raise");
	n = grpc_prefix_end("", end);
	ok(n == 1 && end[0] == 0, "the end of every key is \"\\0\"");
	n = grpc_prefix_end("\xff", end);
	ok(n == 1 && end[0] == 0, "so is the end of a prefix of 0xff bytes only");
}

static void kv(void)
{
	struct err e;
	struct etcd_kv out;
	PbKeyValue in = ETCDSERVERPB__KEY_VALUE__INIT;
	in.key.data = (uint8_t *)"/k";
	in.key.len = 2;
	in.mod_revision = 5;
	ok(!grpc_kv(&in, true, &out, "test", &e) && !strcmp(out.key, "/k") && out.mod_revision == 5,
	   "a deleted key: its key and revision are enough");
	etcd_kv_free(&out);
	ok(grpc_kv(&in, false, &out, "test", &e) == -EPROTO,
	   "a key that is there needs a create revision and version: %s", e.why);
	in.create_revision = 6;
	in.version = 1;
	ok(grpc_kv(&in, false, &out, "test", &e) == -EPROTO && strstr(e.why, "before it was made"),
	   "changed before it was made: %s", e.why);
	in.create_revision = 4;
	in.key.data = (uint8_t *)"/k\0x";
	in.key.len = 4;
	ok(grpc_kv(&in, false, &out, "test", &e) == -EPROTO && strstr(e.why, "NUL"),
	   "a key with a NUL byte: %s", e.why);
	in.key.len = 0;
	ok(grpc_kv(&in, false, &out, "test", &e) == -EPROTO, "an empty key: %s", e.why);
	ok(grpc_kv(NULL, true, &out, "test", &e) == -EPROTO, "an event without its kv: %s", e.why);
}

int main(void)
{
	framing();
	status();
	range_end();
	kv();
	return tap_done();
}
