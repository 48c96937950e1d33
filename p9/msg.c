/* The 9P2000.L codec. Each message type has a layout, a string of field letters, read by one
 * decoder and one encoder: so a field is bounds-checked in one place whatever message holds
 * it, and encode(decode(x)) == x is a property the fuzzer can hold the code to. */
#include "p9/msg.h"

#include <errno.h>
#include <string.h>

/* Field letters:
 *   f fid[4]     F fid2[4]    M msize[4]   S s1[s]      T s2[s]      W nwname[2] wname[s]*
 *   L flags[4]   m mode[4]    u uid[4]     g gid[4]     n n_uname[4] v valid[4]
 *   o offset[8]  q mask[8]    z size[8]    A atime[16]  B mtime[16]  t oldtag[2]
 *   c count[4] (count + P9_IOHDR within msize)  D count[4] data[count]
 *   Q qid[13]    Y nwqid[2] qid*  I iounit[4]  E ecode[4]  G Rgetattr's body  K Rstatfs's */
static const char *const layouts[128] = {
    [P9_RLERROR] = "E",	     [P9_TSTATFS] = "f",	 [P9_RSTATFS] = "K",
    [P9_TLOPEN] = "fL",	     [P9_RLOPEN] = "QI",	 [P9_TLCREATE] = "fSLmg",
    [P9_RLCREATE] = "QI",    [P9_TSYMLINK] = "fSTg",	 [P9_RSYMLINK] = "Q",
    [P9_TREADLINK] = "f",    [P9_RREADLINK] = "S",	 [P9_TGETATTR] = "fq",
    [P9_RGETATTR] = "G",     [P9_TSETATTR] = "fvmugzAB", [P9_RSETATTR] = "",
    [P9_TXATTRWALK] = "fFS", [P9_RXATTRWALK] = "z",	 [P9_TREADDIR] = "foc",
    [P9_RREADDIR] = "D",     [P9_TFSYNC] = "fL",	 [P9_RFSYNC] = "",
    [P9_TMKDIR] = "fSmg",    [P9_RMKDIR] = "Q",		 [P9_TRENAMEAT] = "fSFT",
    [P9_RRENAMEAT] = "",     [P9_TUNLINKAT] = "fSL",	 [P9_RUNLINKAT] = "",
    [P9_TVERSION] = "MS",    [P9_RVERSION] = "MS",	 [P9_TAUTH] = "FSTn",
    [P9_RAUTH] = "Q",	     [P9_TATTACH] = "fFSTn",	 [P9_RATTACH] = "Q",
    [P9_TFLUSH] = "t",	     [P9_RFLUSH] = "",		 [P9_TWALK] = "fFW",
    [P9_RWALK] = "Y",	     [P9_TREAD] = "foc",	 [P9_RREAD] = "D",
    [P9_TWRITE] = "foD",     [P9_RWRITE] = "c",		 [P9_TCLUNK] = "f",
    [P9_RCLUNK] = "",	     [P9_TREMOVE] = "f",	 [P9_RREMOVE] = "",
};

static const char *const names[128] = {
    [P9_RLERROR] = "Rlerror",	    [P9_TSTATFS] = "Tstatfs",	    [P9_RSTATFS] = "Rstatfs",
    [P9_TLOPEN] = "Tlopen",	    [P9_RLOPEN] = "Rlopen",	    [P9_TLCREATE] = "Tlcreate",
    [P9_RLCREATE] = "Rlcreate",	    [P9_TSYMLINK] = "Tsymlink",	    [P9_RSYMLINK] = "Rsymlink",
    [P9_TREADLINK] = "Treadlink",   [P9_RREADLINK] = "Rreadlink",   [P9_TGETATTR] = "Tgetattr",
    [P9_RGETATTR] = "Rgetattr",	    [P9_TSETATTR] = "Tsetattr",	    [P9_RSETATTR] = "Rsetattr",
    [P9_TXATTRWALK] = "Txattrwalk", [P9_RXATTRWALK] = "Rxattrwalk", [P9_TREADDIR] = "Treaddir",
    [P9_RREADDIR] = "Rreaddir",	    [P9_TFSYNC] = "Tfsync",	    [P9_RFSYNC] = "Rfsync",
    [P9_TMKDIR] = "Tmkdir",	    [P9_RMKDIR] = "Rmkdir",	    [P9_TRENAMEAT] = "Trenameat",
    [P9_RRENAMEAT] = "Rrenameat",   [P9_TUNLINKAT] = "Tunlinkat",   [P9_RUNLINKAT] = "Runlinkat",
    [P9_TVERSION] = "Tversion",	    [P9_RVERSION] = "Rversion",	    [P9_TAUTH] = "Tauth",
    [P9_RAUTH] = "Rauth",	    [P9_TATTACH] = "Tattach",	    [P9_RATTACH] = "Rattach",
    [P9_TFLUSH] = "Tflush",	    [P9_RFLUSH] = "Rflush",	    [P9_TWALK] = "Twalk",
    [P9_RWALK] = "Rwalk",	    [P9_TREAD] = "Tread",	    [P9_RREAD] = "Rread",
    [P9_TWRITE] = "Twrite",	    [P9_RWRITE] = "Rwrite",	    [P9_TCLUNK] = "Tclunk",
    [P9_RCLUNK] = "Rclunk",	    [P9_TREMOVE] = "Tremove",	    [P9_RREMOVE] = "Rremove",
};

const char *p9_type_name(uint8_t type) { return type < 128 ? names[type] : NULL; }

/* ---- reading: every get checks the bytes are there first ---- */

struct rd {
	const uint8_t *p, *end;
	const char *why;
};

static const uint8_t *take(struct rd *r, size_t n)
{
	if ((size_t)(r->end - r->p) < n) {
		r->why = "the message ends inside a field";
		return NULL;
	}
	const uint8_t *q = r->p;
	r->p += n;
	return q;
}

static uint64_t le(const uint8_t *q, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | q[i];
	return v;
}

static int get(struct rd *r, int n, void *out)
{
	const uint8_t *q = take(r, n);
	if (!q)
		return -1;
	uint64_t v = le(q, n);
	switch (n) {
	case 1:
		*(uint8_t *)out = v;
		break;
	case 2:
		*(uint16_t *)out = v;
		break;
	case 4:
		*(uint32_t *)out = v;
		break;
	default:
		*(uint64_t *)out = v;
	}
	return 0;
}

static int get_str(struct rd *r, struct p9_str *s)
{
	const uint8_t *q;
	if (get(r, 2, &s->len) || !(q = take(r, s->len)))
		return -1;
	/* a name with a NUL in it would mean one thing here and another to a C string */
	if (memchr(q, 0, s->len)) {
		r->why = "a string holds a NUL byte";
		return -1;
	}
	s->s = (const char *)q;
	return 0;
}

static int get_qid(struct rd *r, struct p9_qid *q)
{
	return get(r, 1, &q->type) || get(r, 4, &q->version) || get(r, 8, &q->path) ? -1 : 0;
}

static int get_time(struct rd *r, struct p9_time *t)
{
	return get(r, 8, &t->sec) || get(r, 8, &t->nsec) ? -1 : 0;
}

static int get_attr(struct rd *r, struct p9_attr *a)
{
	return get(r, 8, &a->valid) || get_qid(r, &a->qid) || get(r, 4, &a->mode) ||
		       get(r, 4, &a->uid) || get(r, 4, &a->gid) || get(r, 8, &a->nlink) ||
		       get(r, 8, &a->rdev) || get(r, 8, &a->size) || get(r, 8, &a->blksize) ||
		       get(r, 8, &a->blocks) || get_time(r, &a->atime) || get_time(r, &a->mtime) ||
		       get_time(r, &a->ctime) || get_time(r, &a->btime) || get(r, 8, &a->gen) ||
		       get(r, 8, &a->data_version)
		   ? -1
		   : 0;
}

static int get_statfs(struct rd *r, struct p9_statfs *s)
{
	return get(r, 4, &s->type) || get(r, 4, &s->bsize) || get(r, 8, &s->blocks) ||
		       get(r, 8, &s->bfree) || get(r, 8, &s->bavail) || get(r, 8, &s->files) ||
		       get(r, 8, &s->ffree) || get(r, 8, &s->fsid) || get(r, 4, &s->namelen)
		   ? -1
		   : 0;
}

static int get_field(struct rd *r, char c, struct p9_msg *m, uint32_t msize)
{
	switch (c) {
	case 'f':
		return get(r, 4, &m->fid);
	case 'F':
		return get(r, 4, &m->fid2);
	case 'M':
		return get(r, 4, &m->msize);
	case 'S':
		return get_str(r, &m->s1);
	case 'T':
		return get_str(r, &m->s2);
	case 'L':
		return get(r, 4, &m->flags);
	case 'm':
		return get(r, 4, &m->mode);
	case 'u':
		return get(r, 4, &m->uid);
	case 'g':
		return get(r, 4, &m->gid);
	case 'n':
		return get(r, 4, &m->n_uname);
	case 'v':
		return get(r, 4, &m->valid);
	case 'o':
		return get(r, 8, &m->offset);
	case 'q':
		return get(r, 8, &m->mask);
	case 'z':
		return get(r, 8, &m->size);
	case 'A':
		return get_time(r, &m->atime);
	case 'B':
		return get_time(r, &m->mtime);
	case 't':
		return get(r, 2, &m->oldtag);
	case 'I':
		return get(r, 4, &m->iounit);
	case 'E':
		return get(r, 4, &m->ecode);
	case 'Q':
		return get_qid(r, &m->qid);
	case 'G':
		return get_attr(r, &m->attr);
	case 'K':
		return get_statfs(r, &m->statfs);
	case 'c':
		if (get(r, 4, &m->count))
			return -1;
		if ((uint64_t)m->count + P9_IOHDR > msize) {
			r->why = "count is more than the negotiated msize allows";
			return -1;
		}
		return 0;
	case 'D':
		if (get(r, 4, &m->count) || !(m->data = take(r, m->count)))
			return -1;
		return 0;
	case 'W':
		if (get(r, 2, &m->nwname))
			return -1;
		if (m->nwname > P9_MAXWELEM) {
			r->why = "a walk of more than 16 names";
			return -1;
		}
		for (int i = 0; i < m->nwname; i++)
			if (get_str(r, &m->wname[i]))
				return -1;
		return 0;
	case 'Y':
		if (get(r, 2, &m->nwqid))
			return -1;
		if (m->nwqid > P9_MAXWELEM) {
			r->why = "a walk reply of more than 16 qids";
			return -1;
		}
		for (int i = 0; i < m->nwqid; i++)
			if (get_qid(r, &m->wqid[i]))
				return -1;
		return 0;
	}
	r->why = "no such field"; /* a layout's typo: the unit test runs every layout */
	return -1;
}

long p9_frame_size(const uint8_t *buf, uint32_t msize, const char **why)
{
	uint32_t size = le(buf, 4);
	if (size < P9_HDR) {
		*why = "a message shorter than its header";
		return -EPROTO;
	}
	if (size > msize) {
		*why = "a message larger than the negotiated msize";
		return -EPROTO;
	}
	return size;
}

int p9_decode(const uint8_t *buf, size_t len, uint32_t msize, struct p9_msg *m, const char **why)
{
	memset(m, 0, sizeof *m);
	if (len < 4) {
		*why = "a message shorter than its header";
		return -EPROTO;
	}
	long size = p9_frame_size(buf, msize, why);
	if (size < 0)
		return size;
	if ((size_t)size != len) {
		*why = "a message whose size is not its length";
		return -EPROTO;
	}
	m->type = buf[4];
	m->tag = le(buf + 5, 2);
	const char *layout = m->type < 128 ? layouts[m->type] : NULL;
	if (!layout) {
		*why = "a message type vmfs does not serve";
		return -EOPNOTSUPP;
	}
	struct rd r = {buf + P9_HDR, buf + len, NULL};
	for (const char *c = layout; *c; c++)
		if (get_field(&r, *c, m, msize)) {
			*why = r.why;
			return -EINVAL;
		}
	if (r.p != r.end) {
		*why = "bytes past the message's last field";
		return -EINVAL;
	}
	return 0;
}

/* ---- writing: a writer that stops at its buffer's end and remembers it did ---- */

struct wr {
	uint8_t *p;
	size_t len, cap;
	int full;
};

static uint8_t *room(struct wr *w, size_t n)
{
	if (w->full || w->cap - w->len < n) {
		w->full = 1;
		return NULL;
	}
	uint8_t *q = w->p + w->len;
	w->len += n;
	return q;
}

static void put(struct wr *w, int n, uint64_t v)
{
	uint8_t *q = room(w, n);
	for (int i = 0; q && i < n; i++, v >>= 8)
		q[i] = v & 0xff;
}

static void put_bytes(struct wr *w, const void *b, size_t n)
{
	uint8_t *q = room(w, n);
	if (q && n)
		memcpy(q, b, n);
}

static void put_str(struct wr *w, struct p9_str s)
{
	put(w, 2, s.len);
	put_bytes(w, s.s, s.len);
}

static void put_qid(struct wr *w, const struct p9_qid *q)
{
	put(w, 1, q->type);
	put(w, 4, q->version);
	put(w, 8, q->path);
}

static void put_time(struct wr *w, const struct p9_time *t)
{
	put(w, 8, t->sec);
	put(w, 8, t->nsec);
}

static void put_attr(struct wr *w, const struct p9_attr *a)
{
	put(w, 8, a->valid);
	put_qid(w, &a->qid);
	put(w, 4, a->mode);
	put(w, 4, a->uid);
	put(w, 4, a->gid);
	put(w, 8, a->nlink);
	put(w, 8, a->rdev);
	put(w, 8, a->size);
	put(w, 8, a->blksize);
	put(w, 8, a->blocks);
	put_time(w, &a->atime);
	put_time(w, &a->mtime);
	put_time(w, &a->ctime);
	put_time(w, &a->btime);
	put(w, 8, a->gen);
	put(w, 8, a->data_version);
}

static void put_statfs(struct wr *w, const struct p9_statfs *s)
{
	put(w, 4, s->type);
	put(w, 4, s->bsize);
	put(w, 8, s->blocks);
	put(w, 8, s->bfree);
	put(w, 8, s->bavail);
	put(w, 8, s->files);
	put(w, 8, s->ffree);
	put(w, 8, s->fsid);
	put(w, 4, s->namelen);
}

static int put_field(struct wr *w, char c, const struct p9_msg *m)
{
	switch (c) {
	case 'f':
		put(w, 4, m->fid);
		break;
	case 'F':
		put(w, 4, m->fid2);
		break;
	case 'M':
		put(w, 4, m->msize);
		break;
	case 'S':
		put_str(w, m->s1);
		break;
	case 'T':
		put_str(w, m->s2);
		break;
	case 'L':
		put(w, 4, m->flags);
		break;
	case 'm':
		put(w, 4, m->mode);
		break;
	case 'u':
		put(w, 4, m->uid);
		break;
	case 'g':
		put(w, 4, m->gid);
		break;
	case 'n':
		put(w, 4, m->n_uname);
		break;
	case 'v':
		put(w, 4, m->valid);
		break;
	case 'o':
		put(w, 8, m->offset);
		break;
	case 'q':
		put(w, 8, m->mask);
		break;
	case 'z':
		put(w, 8, m->size);
		break;
	case 'A':
		put_time(w, &m->atime);
		break;
	case 'B':
		put_time(w, &m->mtime);
		break;
	case 't':
		put(w, 2, m->oldtag);
		break;
	case 'I':
		put(w, 4, m->iounit);
		break;
	case 'E':
		put(w, 4, m->ecode);
		break;
	case 'Q':
		put_qid(w, &m->qid);
		break;
	case 'G':
		put_attr(w, &m->attr);
		break;
	case 'K':
		put_statfs(w, &m->statfs);
		break;
	case 'c':
		put(w, 4, m->count);
		break;
	case 'D':
		put(w, 4, m->count);
		put_bytes(w, m->data, m->count);
		break;
	case 'W':
		if (m->nwname > P9_MAXWELEM)
			return -EINVAL;
		put(w, 2, m->nwname);
		for (int i = 0; i < m->nwname; i++)
			put_str(w, m->wname[i]);
		break;
	case 'Y':
		if (m->nwqid > P9_MAXWELEM)
			return -EINVAL;
		put(w, 2, m->nwqid);
		for (int i = 0; i < m->nwqid; i++)
			put_qid(w, &m->wqid[i]);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

long p9_encode(const struct p9_msg *m, uint8_t *buf, size_t cap)
{
	const char *layout = m->type < 128 ? layouts[m->type] : NULL;
	if (!layout)
		return -EINVAL;
	/* the size field is 4 bytes: a buffer beyond that could not be described */
	struct wr w = {buf, 0, cap > UINT32_MAX ? UINT32_MAX : cap, 0};
	put(&w, 4, 0);
	put(&w, 1, m->type);
	put(&w, 2, m->tag);
	for (const char *c = layout; *c; c++)
		if (put_field(&w, *c, m))
			return -EINVAL;
	if (w.full)
		return -EMSGSIZE;
	uint32_t n = w.len;
	for (int i = 0; i < 4; i++)
		buf[i] = n >> (8 * i);
	return n;
}

int p9_put_dirent(uint8_t *buf, size_t cap, size_t *len, const struct p9_qid *qid, uint64_t offset,
		  uint8_t type, const char *name)
{
	size_t nl = strlen(name);
	if (nl > UINT16_MAX)
		return -EMSGSIZE;
	struct wr w = {buf, *len, cap, 0};
	put_qid(&w, qid);
	put(&w, 8, offset);
	put(&w, 1, type);
	put_str(&w, (struct p9_str){name, nl});
	if (w.full)
		return -EMSGSIZE;
	*len = w.len;
	return 0;
}

int p9_str_copy(char *dst, size_t cap, struct p9_str s)
{
	if (!cap || s.len >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, s.s, s.len);
	dst[s.len] = 0;
	return 0;
}
