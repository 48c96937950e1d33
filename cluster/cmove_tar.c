/* A cold move's archive checked member by member (cluster/cmove_tar.h). */
#include "cluster/cmove_tar.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ctar_state_free(struct ctar_state *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->links[i]);
	free(s->links);
	*s = (struct ctar_state){0};
}

/* path without its "./" prefixes and trailing '/', into out; "" is the top directory. */
static int clean(const char *path, char *out, size_t outlen, char *why, size_t whylen)
{
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	if (!strcmp(path, "."))
		path = "";
	size_t n = strlen(path);
	while (n && path[n - 1] == '/')
		n--;
	if (n > CTAR_PATH_MAX || n >= outlen) {
		snprintf(why, whylen, "a path of %zu bytes (at most %d)", n, CTAR_PATH_MAX);
		return -EPERM;
	}
	memcpy(out, path, n);
	out[n] = 0;
	if (out[0] == '/') {
		snprintf(why, whylen, "%.200s: an absolute path", out);
		return -EPERM;
	}
	for (const char *c = out; *c;) {
		const char *e = strchr(c, '/');
		size_t len = e ? (size_t)(e - c) : strlen(c);
		if (!len || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.')) {
			snprintf(why, whylen, "%.200s: a path with an empty, . or .. part", out);
			return -EPERM;
		}
		c += len + (e != NULL);
	}
	return 0;
}

static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && path[n] == '/';
}

static bool in_upper(const char *path) { return below(path, CTAR_UPPER); }

int ctar_member_check(struct ctar_state *s, char type, const char *path, const char *link,
		      unsigned major, unsigned minor, char *why, size_t whylen)
{
	char p[CTAR_PATH_MAX + 1], l[CTAR_PATH_MAX + 1];
	int r = clean(path, p, sizeof(p), why, whylen);
	if (r)
		return r;
	for (size_t i = 0; i < s->n; i++)
		if (below(p, s->links[i]) || !strcmp(p, s->links[i])) {
			snprintf(why, whylen,
				 "%.200s: below (or again at) the symbolic link %.200s", p,
				 s->links[i]);
			return -EPERM;
		}
	s->members++;
	size_t pl = strlen(path);
	if (type != '5' && pl && path[pl - 1] == '/') {
		/* tar makes a directory of it, and takes its data for headers */
		snprintf(why, whylen, "%.200s: a name ending in / that is not a directory", p);
		return -EPERM;
	}
	switch (type) {
	case '0':
		if (!*p)
			break;
		return 0;
	case '5':
		return 0;
	case '1':
		if ((r = clean(link, l, sizeof(l), why, whylen)))
			return r;
		if (!*l) {
			snprintf(why, whylen, "%.200s: a hard link to the top directory", p);
			return -EPERM;
		}
		for (size_t i = 0; i < s->n; i++)
			if (!strcmp(l, s->links[i]) || below(l, s->links[i])) {
				snprintf(why, whylen,
					 "%.200s: a hard link through the symbolic link %.200s", p,
					 s->links[i]);
				return -EPERM;
			}
		return 0;
	case '2':
		if (!in_upper(p)) {
			snprintf(why, whylen,
				 "%.200s: a symbolic link outside a container's " CTAR_UPPER "/",
				 p);
			return -EPERM;
		}
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 16;
			char **v = realloc(s->links, cap * sizeof(*v));
			if (!v) {
				snprintf(why, whylen, "out of memory");
				return -ENOMEM;
			}
			s->links = v;
			s->cap = cap;
		}
		if (!(s->links[s->n] = strdup(p))) {
			snprintf(why, whylen, "out of memory");
			return -ENOMEM;
		}
		s->n++;
		return 0;
	case '3':
		if (in_upper(p) && major == 0 && minor == 0)
			return 0; /* an overlayfs whiteout: a file the container removed */
		snprintf(why, whylen, "%.200s: a character device (%u,%u)", p, major, minor);
		return -EPERM;
	case '6':
		if (in_upper(p))
			return 0;
		snprintf(why, whylen, "%.200s: a FIFO outside a container's " CTAR_UPPER "/", p);
		return -EPERM;
	case '4':
		snprintf(why, whylen, "%.200s: a block device (%u,%u)", p, major, minor);
		return -EPERM;
	default:
		break;
	}
	snprintf(why, whylen, "%.200s: a member of type '%c' (not one a move makes)", *p ? p : ".",
		 type > 32 && type < 127 ? type : '?');
	return -EPERM;
}

/* A numeric field: octal (NUL or space ended), or base-256 (first byte 0x80). */
static int num(const unsigned char *f, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	if (f[0] & 0x80) {
		if (f[0] != 0x80)
			return -1; /* negative, or more than 64 bits */
		for (size_t i = 1; i < len; i++) {
			if (v >> 56)
				return -1;
			v = v << 8 | f[i];
		}
		*out = v;
		return 0;
	}
	size_t i = 0;
	while (i < len && f[i] == ' ')
		i++;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	if (i < len && f[i] != 0 && f[i] != ' ')
		return -1;
	*out = v;
	return 0;
}

static bool sum_ok(const unsigned char *h)
{
	uint64_t want;
	if (num(h + 148, 8, &want))
		return false;
	uint64_t s = 0;
	for (size_t i = 0; i < 512; i++)
		s += i >= 148 && i < 156 ? ' ' : h[i];
	return s == want;
}

static int read_at(int fd, uint64_t off, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ENODATA;
		got += (size_t)n;
	}
	return 0;
}

/* What pax records (or GNU long names) say of the next member. */
struct pending {
	char *path, *link, *sparse_name;
	bool has_size;
	uint64_t size;
};

static void pending_free(struct pending *p)
{
	free(p->path);
	free(p->link);
	free(p->sparse_name);
	*p = (struct pending){0};
}

static int set_str(char **dst, const char *v, size_t len)
{
	free(*dst);
	if (!(*dst = malloc(len + 1)))
		return -ENOMEM;
	memcpy(*dst, v, len);
	(*dst)[len] = 0;
	if (strlen(*dst) != len)
		return -EINVAL; /* a NUL inside */
	return 0;
}

/* "LEN key=value\n" records; keys that change what a member is are taken, the rest
 * (times, xattrs, sparse maps' sizes) ignored. */
static int pax_parse(char *rec, size_t len, struct pending *p, char *why, size_t whylen)
{
	size_t i = 0;
	while (i < len) {
		size_t n = 0, j = i;
		while (j < len && rec[j] >= '0' && rec[j] <= '9' && n < CTAR_PAX_MAX)
			n = n * 10 + (size_t)(rec[j++] - '0');
		if (j == i || j >= len || rec[j] != ' ' || n < 5 || n > len - i ||
		    rec[i + n - 1] != '\n') {
			snprintf(why, whylen, "a pax header's record at byte %zu does not read", i);
			return -EINVAL;
		}
		char *k = rec + j + 1, *end = rec + i + n - 1,
		     *eq = memchr(k, '=', (size_t)(end - k));
		if (!eq) {
			snprintf(why, whylen, "a pax record without '='");
			return -EINVAL;
		}
		size_t klen = (size_t)(eq - k), vlen = (size_t)(end - eq - 1);
		const char *v = eq + 1;
		int r = 0;
#define KEY(s) (klen == sizeof(s) - 1 && !memcmp(k, s, klen))
		if (KEY("path"))
			r = set_str(&p->path, v, vlen);
		else if (KEY("linkpath"))
			r = set_str(&p->link, v, vlen);
		else if (KEY("GNU.sparse.name"))
			r = set_str(&p->sparse_name, v, vlen);
		else if (KEY("size")) {
			char t[32];
			char *e;
			if (vlen == 0 || vlen >= sizeof(t))
				r = -EINVAL;
			else {
				memcpy(t, v, vlen);
				t[vlen] = 0;
				errno = 0;
				p->size = strtoull(t, &e, 10);
				p->has_size = true;
				r = *e || errno || t[0] == '-' ? -EINVAL : 0;
			}
		}
#undef KEY
		if (r) {
			snprintf(why, whylen, "a pax record %.*s does not read",
				 (int)(klen > 60 ? 60 : klen), k);
			return r == -ENOMEM ? r : -EINVAL;
		}
		i += n;
	}
	return 0;
}

static void field(char *out, const unsigned char *f, size_t len)
{
	size_t n = strnlen((const char *)f, len);
	memcpy(out, f, n);
	out[n] = 0;
}

int ctar_check_fd(int fd, struct ctar_state *s, char *why, size_t whylen)
{
	unsigned char h[512];
	uint64_t off = 0;
	struct pending p = {0};
	bool pax = false; /* a pax header is pending: the next header is its member's */
	int r = 0;
	for (;;) {
		if ((r = read_at(fd, off, h, sizeof(h)))) {
			snprintf(why, whylen,
				 "the archive ends at byte %" PRIu64 " without its end "
				 "blocks: %s",
				 off, r == -ENODATA ? "cut short" : strerror(-r));
			r = r == -ENODATA ? -EINVAL : -EIO;
			break;
		}
		static const unsigned char zero[512];
		if (!memcmp(h, zero, sizeof(h)))
			break; /* the end */
		/* only what vmfs's own tar (--format=posix) writes: POSIX ustar, no GNU headers
		 * whose meaning tar and this reading could disagree on */
		if (!sum_ok(h) || memcmp(h + 257, "ustar\0" "00", 8)) {
			snprintf(why, whylen,
				 "byte %" PRIu64 ": not a POSIX tar header (checksum or magic)", off);
			r = -EINVAL;
			break;
		}
		uint64_t size, major = 0, minor = 0;
		if (num(h + 124, 12, &size) || num(h + 329, 8, &major) || num(h + 337, 8, &minor)) {
			snprintf(why, whylen,
				 "byte %" PRIu64 ": a size or device number that does "
				 "not read",
				 off);
			r = -EINVAL;
			break;
		}
		char type = (char)h[156];
		off += 512;
		if (type == 'g' || type == 'L' || type == 'K' || (type == 'x' && pax)) {
			snprintf(why, whylen,
				 "byte %" PRIu64 ": a %s header (vmfs's archives have none)", off - 512,
				 type == 'x' ? "second pax" : type == 'g' ? "global pax" : "GNU long-name");
			r = -EPERM;
			break;
		}
		if (type == 'x') {
			pax = true;
			if (size > CTAR_PAX_MAX) {
				snprintf(why, whylen, "a header of %" PRIu64 " bytes (at most %u)",
					 size, CTAR_PAX_MAX);
				r = -EINVAL;
				break;
			}
			char *rec = malloc(size + 1);
			if (!rec || (r = read_at(fd, off, rec, size))) {
				free(rec);
				snprintf(why, whylen, "a header's records cannot be read");
				r = rec ? -EINVAL : -ENOMEM;
				break;
			}
			rec[size] = 0;
			r = pax_parse(rec, size, &p, why, whylen);
			free(rec);
			if (r)
				break;
			off += (size + 511) / 512 * 512;
			continue;
		}
		char name[256], prefix[156], link[101];
		field(name, h, 100);
		field(link, h + 157, 100);
		field(prefix, h + 345, 155);
		char joined[CTAR_PATH_MAX + 2];
		if (*prefix)
			snprintf(joined, sizeof(joined), "%s/%s", prefix, name);
		else
			snprintf(joined, sizeof(joined), "%s", name);
		const char *path = p.sparse_name ? p.sparse_name : p.path ? p.path : joined;
		if ((r = ctar_member_check(s, type, path, p.link ? p.link : link, (unsigned)major,
					   (unsigned)minor, why, whylen)))
			break;
		if (p.has_size)
			size = p.size;
		if (type != '0' && size) {
			snprintf(why, whylen, "%.200s: %" PRIu64 " bytes of data on a member that has none",
				 path, size);
			r = -EPERM;
			break;
		}
		s->bytes += size;
		off += (size + 511) / 512 * 512;
		pending_free(&p);
		pax = false;
	}
	pending_free(&p);
	return r;
}
