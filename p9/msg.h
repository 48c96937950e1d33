/* The 9P2000.L messages, as bytes and back: the framing (size[4] type[1] tag[2], integers
 * little-endian), strings (length[2] bytes), qids (type[1] version[4] path[8]) and the fields
 * of the messages a Linux v9fs client sends and the replies vmfs gives. Kept apart from the
 * server so that a hostile client's bytes meet one small, fuzzed decoder: every field is
 * checked against the message's end before it is read. */
#ifndef VMFS_P9_MSG_H
#define VMFS_P9_MSG_H
#include <stddef.h>
#include <stdint.h>

#define P9_VERSION "9P2000.L"
#define P9_HDR 7 /* size[4] type[1] tag[2] */
#define P9_MAXWELEM 16
#define P9_NOTAG 0xffff
#define P9_NOFID 0xffffffffu
/* what an Rread or Rreaddir adds to its data: so count + P9_IOHDR must fit in msize */
#define P9_IOHDR 11
/* the smallest msize vmfs agrees to: a header, a name and a few qids must fit */
#define P9_MINMSIZE 4096

enum {
	P9_RLERROR = 7,
	P9_TSTATFS = 8,
	P9_RSTATFS,
	P9_TLOPEN = 12,
	P9_RLOPEN,
	P9_TLCREATE = 14,
	P9_RLCREATE,
	P9_TSYMLINK = 16,
	P9_RSYMLINK,
	P9_TREADLINK = 22,
	P9_RREADLINK,
	P9_TGETATTR = 24,
	P9_RGETATTR,
	P9_TSETATTR = 26,
	P9_RSETATTR,
	P9_TXATTRWALK = 30,
	P9_RXATTRWALK,
	P9_TREADDIR = 40,
	P9_RREADDIR,
	P9_TFSYNC = 50,
	P9_RFSYNC,
	P9_TMKDIR = 72,
	P9_RMKDIR,
	P9_TRENAMEAT = 74,
	P9_RRENAMEAT,
	P9_TUNLINKAT = 76,
	P9_RUNLINKAT,
	P9_TVERSION = 100,
	P9_RVERSION,
	P9_TAUTH = 102,
	P9_RAUTH,
	P9_TATTACH = 104,
	P9_RATTACH,
	P9_TFLUSH = 108,
	P9_RFLUSH,
	P9_TWALK = 110,
	P9_RWALK,
	P9_TREAD = 116,
	P9_RREAD,
	P9_TWRITE = 118,
	P9_RWRITE,
	P9_TCLUNK = 120,
	P9_RCLUNK,
	P9_TREMOVE = 122,
	P9_RREMOVE,
};

/* qid.type bits */
#define P9_QTDIR 0x80
#define P9_QTSYMLINK 0x02
#define P9_QTFILE 0x00

/* Tgetattr's request_mask and Rgetattr's valid */
#define P9_GETATTR_BASIC 0x7ffull

/* A string as it lies in the message: not NUL-terminated (a decoded one holds no NUL byte). */
struct p9_str {
	const char *s;
	uint16_t len;
};

struct p9_qid {
	uint8_t type;
	uint32_t version;
	uint64_t path;
};

struct p9_time {
	uint64_t sec, nsec;
};

/* Rgetattr's body after its qid */
struct p9_attr {
	uint64_t valid;
	struct p9_qid qid;
	uint32_t mode, uid, gid;
	uint64_t nlink, rdev, size, blksize, blocks;
	struct p9_time atime, mtime, ctime, btime;
	uint64_t gen, data_version;
};

struct p9_statfs {
	uint32_t type, bsize;
	uint64_t blocks, bfree, bavail, files, ffree, fsid;
	uint32_t namelen;
};

/* One message, either way. Which fields a type uses is its layout in msg.c; the names say
 * where each goes (fid2: Twalk's newfid, Tattach's afid, Trenameat's newdirfid, Txattrwalk's
 * newfid; s1, s2: version, uname/aname, name/symtgt, oldname/newname). data and the strings
 * point into the buffer a message was decoded from. */
struct p9_msg {
	uint8_t type;
	uint16_t tag;
	uint32_t fid, fid2, msize, flags, mode, uid, gid, n_uname, valid, count, ecode, iounit;
	uint16_t oldtag;
	uint64_t offset, mask, size;
	struct p9_time atime, mtime;
	struct p9_str s1, s2;
	uint16_t nwname;
	struct p9_str wname[P9_MAXWELEM];
	uint16_t nwqid;
	struct p9_qid qid, wqid[P9_MAXWELEM];
	const uint8_t *data;
	struct p9_attr attr;
	struct p9_statfs statfs;
};

/* The size a message at buf says it has, once its first 4 bytes are in: from P9_HDR to msize,
 * or -EPROTO with *why set (the connection's framing cannot be trusted past it). */
long p9_frame_size(const uint8_t *buf, uint32_t msize, const char **why);

/* Decodes the whole message buf[0..len), len being its size field. 0, or: -EPROTO for a frame
 * that is not one (then *m is not even tagged); -EOPNOTSUPP for a type vmfs does not know
 * (m->type and m->tag are set, to answer it); -EINVAL for a field that does not fit or is
 * refused (a string past the end or holding a NUL, nwname over P9_MAXWELEM, a count over what
 * msize allows, bytes past the last field). *why says which, in words. */
int p9_decode(const uint8_t *buf, size_t len, uint32_t msize, struct p9_msg *m, const char **why);

/* Encodes m (its type's fields) into buf[0..cap): the message's size, or -EMSGSIZE when it
 * does not fit, -EINVAL for a type without a layout or a count over P9_MAXWELEM. */
long p9_encode(const struct p9_msg *m, uint8_t *buf, size_t cap);

/* Appends one Rreaddir entry, qid[13] offset[8] type[1] name[s], at buf[*len..cap): 0, or
 * -EMSGSIZE leaving *len as it was (the entry goes in the next Treaddir). */
int p9_put_dirent(uint8_t *buf, size_t cap, size_t *len, const struct p9_qid *qid, uint64_t offset,
		  uint8_t type, const char *name);

/* Copies s into dst[0..cap) NUL-terminated: 0, or -ENAMETOOLONG. */
int p9_str_copy(char *dst, size_t cap, struct p9_str s);

/* A message type's name ("Twalk"), or NULL. */
const char *p9_type_name(uint8_t type);
#endif
