/* The 9P2000.L codec (p9/msg.c): every message vmfs serves or answers goes out and back the
 * same, the bytes are the protocol's (little-endian, size first), and a hostile client's
 * message is refused with a reason, never read past. */
#include <errno.h>
#include <stdlib.h>

#include "p9/msg.h"
#include "tests/unit/tap.h"

#define MSIZE 8192

static struct p9_str S(const char *s) {
	return (struct p9_str){s, strlen(s)};
}

static int
str_is(struct p9_str s, const char *want)
{
	return s.len == strlen(want) && !memcmp(s.s, want, s.len);
}

/* a message of the type with every field set to something of its own */
static struct p9_msg sample(uint8_t type)
{
	static const uint8_t data[] = "launch container c1\n";
	struct p9_msg m = {.type = type, .tag = 0x1234};
	m.fid = 0x01020304;
	m.fid2 = 0x0a0b0c0d;
	m.msize = MSIZE;
	m.flags = 0x8241;
	m.mode = 0100644;
	m.uid = 1000;
	m.gid = 1001;
	m.n_uname = 1002;
	m.valid = 0x41;
	m.count = 20;
	m.ecode = EACCES;
	m.iounit = 4096;
	m.oldtag = 7;
	m.offset = 0x1122334455667788ull;
	m.mask = P9_GETATTR_BASIC;
	m.size = 1ull << 40;
	m.atime = (struct p9_time){1, 2};
	m.mtime = (struct p9_time){3, 4};
	m.s1 = S("ns");
	m.s2 = S("default");
	m.nwname = 3;
	m.wname[0] = S("ns");
	m.wname[1] = S("default");
	m.wname[2] = S("ctl");
	m.nwqid = 2;
	m.qid = (struct p9_qid){P9_QTDIR, 5, 0xdeadbeefcafe};
	m.wqid[0] = (struct p9_qid){P9_QTDIR, 1, 2};
	m.wqid[1] = (struct p9_qid){P9_QTFILE, 3, 4};
	m.data = data;
	m.attr = (struct p9_attr){.valid = P9_GETATTR_BASIC,
				  .qid = m.qid,
				  .mode = 040755,
				  .nlink = 2,
				  .size = 123,
				  .blksize = 4096,
				  .mtime = {9, 10}};
	m.statfs =
	    (struct p9_statfs){.type = 0x01021997, .bsize = 4096, .blocks = 99, .namelen = 255};
	return m;
}

static const uint8_t types[] = {
    P9_RLERROR,	  P9_TSTATFS,	P9_RSTATFS,   P9_TLOPEN,     P9_RLOPEN,	    P9_TLCREATE,
    P9_RLCREATE,  P9_TSYMLINK,	P9_RSYMLINK,  P9_TREADLINK,  P9_RREADLINK,  P9_TGETATTR,
    P9_RGETATTR,  P9_TSETATTR,	P9_RSETATTR,  P9_TXATTRWALK, P9_RXATTRWALK, P9_TREADDIR,
    P9_RREADDIR,  P9_TFSYNC,	P9_RFSYNC,    P9_TMKDIR,     P9_RMKDIR,	    P9_TRENAMEAT,
    P9_RRENAMEAT, P9_TUNLINKAT, P9_RUNLINKAT, P9_TVERSION,   P9_RVERSION,   P9_TAUTH,
    P9_RAUTH,	  P9_TATTACH,	P9_RATTACH,   P9_TFLUSH,     P9_RFLUSH,	    P9_TWALK,
    P9_RWALK,	  P9_TREAD,	P9_RREAD,     P9_TWRITE,     P9_RWRITE,	    P9_TCLUNK,
    P9_RCLUNK,	  P9_TREMOVE,	P9_RREMOVE,
};

/* every truncation of a good message (its size field saying so) is refused */
static int truncations_refused(const uint8_t *good, long n)
{
	uint8_t b[MSIZE];
	struct p9_msg m;
	const char *why;
	for (long k = P9_HDR; k < n; k++) {
		memcpy(b, good, k);
		b[0] = k, b[1] = k >> 8, b[2] = b[3] = 0;
		if (p9_decode(b, k, MSIZE, &m, &why) != -EINVAL)
			return 0;
	}
	return 1;
}

static void round_trips(void)
{
	for (size_t i = 0; i < sizeof types; i++) {
		uint8_t a[MSIZE], b[MSIZE];
		struct p9_msg in = sample(types[i]), out;
		const char *name = p9_type_name(types[i]), *why = "";
		long n = p9_encode(&in, a, sizeof a);
		int rc = n > 0 ? p9_decode(a, n, MSIZE, &out, &why) : -1;
		long n2 = rc == 0 ? p9_encode(&out, b, sizeof b) : -1;
		ok(n >= P9_HDR && rc == 0 && n2 == n && !memcmp(a, b, n) && out.type == in.type &&
		       out.tag == in.tag,
		   "%s goes out and comes back the same (%ld bytes) %s", name ? name : "?", n, why);
		ok(n > 0 && truncations_refused(a, n), "%s cut short anywhere is refused", name);
		ok(n > 0 && p9_encode(&in, a, n - 1) == -EMSGSIZE,
		   "%s does not encode into a buffer a byte too small", name);
	}
}

/* the bytes are the protocol's, not just symmetric: checked against the spec by hand */
static void wire_bytes(void)
{
	uint8_t b[64];
	struct p9_msg m = {
	    .type = P9_TVERSION, .tag = P9_NOTAG, .msize = 8192, .s1 = S(P9_VERSION)};
	static const uint8_t want[] = {21, 0, 0,   0,	100, 0xff, 0xff, 0x00, 0x20, 0,	 0,
				       8,  0, '9', 'P', '2', '0',  '0',	 '0',  '.',  'L'};
	long n = p9_encode(&m, b, sizeof b);
	ok(n == sizeof want && !memcmp(b, want, n), "Tversion's bytes are the spec's");

	struct p9_msg e = {.type = P9_RLERROR, .tag = 3, .ecode = ENOENT};
	static const uint8_t want_e[] = {11, 0, 0, 0, 7, 3, 0, 2, 0, 0, 0};
	n = p9_encode(&e, b, sizeof b);
	ok(n == sizeof want_e && !memcmp(b, want_e, n), "Rlerror's bytes are the spec's");

	struct p9_msg d;
	const char *why;
	static const uint8_t walk[] = {24, 0, 0, 0, 110, 1, 0, 1,   0,	 0, 0, 2,
				       0,  0, 0, 2, 0,	 2, 0, 'n', 's', 1, 0, 'x'};
	ok(p9_decode(walk, sizeof walk, MSIZE, &d, &why) == 0 && d.fid == 1 && d.fid2 == 2 &&
	       d.nwname == 2 && str_is(d.wname[0], "ns") && str_is(d.wname[1], "x"),
	   "a Twalk's fields are read where the spec puts them");
}

/* decodes buf (its size field set to len) and says whether it was refused with rc */
static int refused(uint8_t *buf, size_t len, uint32_t msize, int rc, const char **why)
{
	struct p9_msg m;
	*why = NULL;
	return p9_decode(buf, len, msize, &m, why) == rc && *why && **why;
}

static void set_size(uint8_t *b, uint32_t n)
{
	b[0] = n, b[1] = n >> 8, b[2] = n >> 16, b[3] = n >> 24;
}

static void malformed(void)
{
	uint8_t b[MSIZE + 64];
	const char *why;
	struct p9_msg m = sample(P9_TWALK);
	long n = p9_encode(&m, b, sizeof b);

	set_size(b, 6);
	ok(refused(b, n, MSIZE, -EPROTO, &why), "a size under the header's is refused (%s)", why);
	ok(refused(b, 3, MSIZE, -EPROTO, &why), "three bytes are not a message (%s)", why);
	set_size(b, n + 1);
	ok(refused(b, n, MSIZE, -EPROTO, &why), "a size that is not the length is refused (%s)",
	   why);
	set_size(b, MSIZE + 1);
	ok(p9_frame_size(b, MSIZE, &why) == -EPROTO, "a size over msize is refused (%s)", why);
	set_size(b, n);
	ok(refused(b, n, n - 1, -EPROTO, &why), "a whole message over msize is refused");

	/* Twalk: header, fid, newfid, nwname: the first name's length at 17 */
	b[17] = 200;
	ok(refused(b, n, MSIZE, -EINVAL, &why), "a string past the end is refused (%s)", why);
	b[17] = 2;
	b[19] = 0;
	ok(refused(b, n, MSIZE, -EINVAL, &why), "a string with a NUL is refused (%s)", why);

	m.nwname = P9_MAXWELEM;
	for (int i = 0; i < P9_MAXWELEM; i++)
		m.wname[i] = S("a");
	n = p9_encode(&m, b, sizeof b);
	struct p9_msg d;
	ok(p9_decode(b, n, MSIZE, &d, &why) == 0 && d.nwname == 16, "a walk of 16 names is read");
	b[15] = 17;
	ok(refused(b, n, MSIZE, -EINVAL, &why), "a walk of 17 names is refused (%s)", why);
	m.nwname = 17;
	ok(p9_encode(&m, b, sizeof b) == -EINVAL, "a walk of 17 names is not encoded");

	struct p9_msg r = sample(P9_TREAD);
	r.count = MSIZE - P9_IOHDR;
	n = p9_encode(&r, b, sizeof b);
	ok(p9_decode(b, n, MSIZE, &d, &why) == 0, "a Tread whose reply fits msize is read");
	r.count = MSIZE - P9_IOHDR + 1;
	n = p9_encode(&r, b, sizeof b);
	ok(refused(b, n, MSIZE, -EINVAL, &why), "a Tread count over msize is refused (%s)", why);
	r.type = P9_TREADDIR;
	r.count = 0xffffffff;
	n = p9_encode(&r, b, sizeof b);
	ok(refused(b, n, MSIZE, -EINVAL, &why), "a Treaddir count of 4G is refused");

	struct p9_msg w = sample(P9_TWRITE);
	n = p9_encode(&w, b, sizeof b);
	/* Twrite: header, fid, offset, then count at 19 */
	b[19] = 21;
	ok(refused(b, n, MSIZE, -EINVAL, &why), "a Twrite count past its data is refused (%s)",
	   why);
	b[19] = 19;
	ok(refused(b, n, MSIZE, -EINVAL, &why), "bytes past the last field are refused (%s)", why);

	struct p9_msg c = sample(P9_TCLUNK);
	n = p9_encode(&c, b, sizeof b);
	b[4] = 0;
	ok(refused(b, n, MSIZE, -EOPNOTSUPP, &why), "an unknown type is refused (%s)", why);
	ok(p9_decode(b, n, MSIZE, &d, &why) == -EOPNOTSUPP && d.tag == 0x1234,
	   "an unknown type's tag is kept to answer it");
	b[4] = 200;
	ok(refused(b, n, MSIZE, -EOPNOTSUPP, &why), "a type over 127 is refused");
	b[4] = 126; /* 9P2000's Twstat: not 9P2000.L */
	ok(refused(b, n, MSIZE, -EOPNOTSUPP, &why), "9P2000's Twstat is refused");
}

static void dirents(void)
{
	uint8_t b[64];
	size_t len = 0;
	struct p9_qid q = {P9_QTDIR, 0, 42};
	ok(p9_put_dirent(b, sizeof b, &len, &q, 1, 4, "ns") == 0 && len == 13 + 8 + 1 + 2 + 2,
	   "a dirent takes qid, offset, type and name");
	ok(b[0] == P9_QTDIR && b[5] == 42 && b[13] == 1 && b[21] == 4 && b[22] == 2 &&
	       !memcmp(b + 24, "ns", 2),
	   "a dirent's fields lie where the spec puts them");
	ok(p9_put_dirent(b, sizeof b, &len, &q, 2, 4, "default") == 0 && len == 26 + 31,
	   "a second follows it");
	ok(p9_put_dirent(b, sizeof b, &len, &q, 3, 4, "x") == -EMSGSIZE && len == 57,
	   "one that does not fit is left out whole");

	char name[4];
	ok(p9_str_copy(name, sizeof name, S("abc")) == 0 && !strcmp(name, "abc"),
	   "a string copies out NUL-terminated");
	ok(p9_str_copy(name, sizeof name, S("abcd")) == -ENAMETOOLONG,
	   "one too long for its buffer is refused");
}

int main(void)
{
	round_trips();
	wire_bytes();
	malformed();
	dirents();
	return tap_done();
}
