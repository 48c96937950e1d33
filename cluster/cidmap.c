#include "cluster/cidmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/util.h"
#include "runtime/model.h"
#include "runtime/store.h"

void cidmap_free(struct cidmap *m)
{
	free(m->ns);
	free(m->obj);
	*m = (struct cidmap){0};
}

/* Both arrays are kept sorted by local id, so a lookup is a binary search. */
static size_t ns_pos(const struct cidmap *m, uint64_t local)
{
	size_t lo = 0, hi = m->nns;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->ns[mid].local < local)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int obj_cmp(uint64_t lns, uint64_t local, const struct cidmap_obj *o)
{
	if (lns != o->lns)
		return lns < o->lns ? -1 : 1;
	return local < o->local ? -1 : local > o->local;
}

static size_t obj_pos(const struct cidmap *m, uint64_t lns, uint64_t local)
{
	size_t lo = 0, hi = m->nobj;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (obj_cmp(lns, local, &m->obj[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 16;
	void *p = realloc(*v, c * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

int cidmap_set_ns(struct cidmap *m, uint64_t local, uint64_t cid)
{
	size_t i = ns_pos(m, local);
	if (i < m->nns && m->ns[i].local == local) {
		m->ns[i].cid = cid;
		return 0;
	}
	if (grow((void **)&m->ns, &m->capns, m->nns, sizeof(*m->ns)))
		return -ENOMEM;
	memmove(&m->ns[i + 1], &m->ns[i], (m->nns - i) * sizeof(*m->ns));
	m->ns[i] = (struct cidmap_ns){local, cid};
	m->nns++;
	return 0;
}

int cidmap_set_obj(struct cidmap *m, uint64_t lns, uint64_t local, uint64_t cid)
{
	size_t i = obj_pos(m, lns, local);
	if (i < m->nobj && !obj_cmp(lns, local, &m->obj[i])) {
		m->obj[i].cid = cid;
		return 0;
	}
	if (grow((void **)&m->obj, &m->capobj, m->nobj, sizeof(*m->obj)))
		return -ENOMEM;
	memmove(&m->obj[i + 1], &m->obj[i], (m->nobj - i) * sizeof(*m->obj));
	m->obj[i] = (struct cidmap_obj){.lns = lns, .local = local, .cid = cid};
	m->nobj++;
	return 0;
}

int cidmap_set_tag(struct cidmap *m, uint64_t lns, uint64_t local, const struct ckey_tag *tag)
{
	size_t i = obj_pos(m, lns, local);
	if (!(i < m->nobj && !obj_cmp(lns, local, &m->obj[i])))
		return -ENOENT;
	m->obj[i].tag = *tag;
	return 0;
}

const struct ckey_tag *cidmap_tag(const struct cidmap *m, uint64_t lns, uint64_t local)
{
	size_t i = obj_pos(m, lns, local);
	return i < m->nobj && !obj_cmp(lns, local, &m->obj[i]) && m->obj[i].tag.host[0]
		   ? &m->obj[i].tag
		   : NULL;
}

uint64_t cidmap_ns(const struct cidmap *m, uint64_t local)
{
	size_t i = ns_pos(m, local);
	return i < m->nns && m->ns[i].local == local ? m->ns[i].cid : 0;
}

uint64_t cidmap_obj(const struct cidmap *m, uint64_t lns, uint64_t local)
{
	size_t i = obj_pos(m, lns, local);
	return i < m->nobj && !obj_cmp(lns, local, &m->obj[i]) ? m->obj[i].cid : 0;
}

void cidmap_drop_obj(struct cidmap *m, uint64_t lns, uint64_t local)
{
	size_t i = obj_pos(m, lns, local);
	if (i < m->nobj && !obj_cmp(lns, local, &m->obj[i])) {
		memmove(&m->obj[i], &m->obj[i + 1], (m->nobj - i - 1) * sizeof(*m->obj));
		m->nobj--;
	}
}

void cidmap_drop_ns(struct cidmap *m, uint64_t local)
{
	size_t i = ns_pos(m, local);
	if (i < m->nns && m->ns[i].local == local) {
		memmove(&m->ns[i], &m->ns[i + 1], (m->nns - i - 1) * sizeof(*m->ns));
		m->nns--;
	}
	size_t a = obj_pos(m, local, 0), b = obj_pos(m, local, UINT64_MAX);
	if (b < m->nobj && m->obj[b].lns == local && m->obj[b].local == UINT64_MAX)
		b++;
	if (b > a) {
		memmove(&m->obj[a], &m->obj[b], (m->nobj - b) * sizeof(*m->obj));
		m->nobj -= b - a;
	}
}

void cidmap_render(const struct cidmap *m, struct sbuf *out)
{
	sb_printf(out, "v=1\ncluster=%s\n", m->cluster);
	for (size_t i = 0; i < m->nns; i++)
		sb_printf(out, "ns.%llu=%llu\n", (unsigned long long)m->ns[i].local,
			  (unsigned long long)m->ns[i].cid);
	for (size_t i = 0; i < m->nobj; i++) {
		sb_printf(out, "o.%llu.%llu=%llu\n", (unsigned long long)m->obj[i].lns,
			  (unsigned long long)m->obj[i].local, (unsigned long long)m->obj[i].cid);
		if (m->obj[i].tag.host[0]) {
			char tag[CKEY_TAG_LEN];
			ckey_tag_fmt(&m->obj[i].tag, tag);
			sb_printf(out, "t.%llu.%llu=%s\n", (unsigned long long)m->obj[i].lns,
				  (unsigned long long)m->obj[i].local, tag);
		}
	}
}

struct parse {
	struct cidmap *m;
	const char *cluster;
	bool v, named;
};

/* "A.B" of decimal ids after the key's kind; only the digits store_num takes */
static int key_ids(const char *s, int n, uint64_t *a, uint64_t *b, char *err, size_t errlen)
{
	char part[2][24];
	const char *dot = n == 2 ? strchr(s, '.') : NULL;
	if (n == 2 && !dot)
		return ctl_fail(err, errlen, "the key has no second id");
	size_t l0 = dot ? (size_t)(dot - s) : strlen(s);
	if (l0 >= sizeof(part[0]) || (dot && strlen(dot + 1) >= sizeof(part[1])))
		return ctl_fail(err, errlen, "an id of the key is too long");
	memcpy(part[0], s, l0);
	part[0][l0] = 0;
	if (dot)
		strcpy(part[1], dot + 1);
	unsigned long long x;
	const uint64_t hi[2] = {NS_ID_MAX, OBJ_ID_MAX}; /* ns.L; o.L.O */
	for (int i = 0; i < n; i++) {
		if (store_num(part[i], 10, 1, hi[i], &x, err, errlen))
			return -EINVAL;
		*(i ? b : a) = x;
	}
	return 0;
}

static int map_kv(const char *k, const char *v, void *arg, char *err, size_t errlen)
{
	struct parse *p = arg;
	unsigned long long x;
	uint64_t a, b;
	if (!p->v && strcmp(k, "v"))
		return ctl_fail(err, errlen, "the first line is not v=1");
	if (!strcmp(k, "v")) {
		if (strcmp(v, "1"))
			return ctl_fail(err, errlen, "v=%s: written by a newer vmfs", v);
		p->v = true;
		return 0;
	}
	if (!strcmp(k, "cluster")) {
		if (strcmp(v, p->cluster))
			return ctl_fail(err, errlen,
					"the ids of cluster \"%.64s\", not of \"%s\" (vmfs.conf's cluster)",
					v, p->cluster);
		p->named = true;
		return 0;
	}
	if (!strncmp(k, "ns.", 3)) {
		if (key_ids(k + 3, 1, &a, NULL, err, errlen) ||
		    store_num(v, 10, 1, NS_ID_MAX, &x, err, errlen))
			return -EINVAL;
		return cidmap_set_ns(p->m, a, x) ? ctl_fail(err, errlen, "out of memory") : 0;
	}
	if (!strncmp(k, "o.", 2)) {
		if (key_ids(k + 2, 2, &a, &b, err, errlen) ||
		    store_num(v, 10, 1, OBJ_ID_MAX, &x, err, errlen))
			return -EINVAL;
		return cidmap_set_obj(p->m, a, b, x) ? ctl_fail(err, errlen, "out of memory") : 0;
	}
	if (!strncmp(k, "t.", 2)) {
		struct ckey_tag t;
		char why[200];
		if (key_ids(k + 2, 2, &a, &b, err, errlen))
			return -EINVAL;
		if (ckey_tag_parse(v, &t, why, sizeof(why)))
			return ctl_fail(err, errlen, "%s: %s", k, why);
		if (cidmap_tag(p->m, a, b))
			return ctl_fail(err, errlen, "%s: a second tag", k);
		return cidmap_set_tag(p->m, a, b, &t)
			   ? ctl_fail(err, errlen, "%s: the tag of an object not mapped (before it)", k)
			   : 0;
	}
	return ctl_fail(err, errlen, "not a key of the cluster's ids");
}

static int cid_cmp(const void *a, const void *b)
{
	const struct cidmap_obj *x = a, *y = b;
	if (x->lns != y->lns) /* here: the cluster namespace's id */
		return x->lns < y->lns ? -1 : 1;
	return x->cid < y->cid ? -1 : x->cid > y->cid;
}

/* What store_parse cannot see: one cluster id for two local ones, an object of no namespace. */
static int consistent(const struct cidmap *m, char *err, size_t errlen)
{
	for (size_t i = 0; i < m->nns; i++)
		for (size_t j = i + 1; j < m->nns; j++)
			if (m->ns[i].cid == m->ns[j].cid)
				return ctl_fail(err, errlen,
						"namespaces %llu and %llu both map to cluster namespace %llu",
						(unsigned long long)m->ns[i].local,
						(unsigned long long)m->ns[j].local,
						(unsigned long long)m->ns[i].cid);
	struct cidmap_obj *c = m->nobj ? malloc(m->nobj * sizeof(*c)) : NULL;
	if (m->nobj && !c)
		return ctl_fail(err, errlen, "out of memory");
	int r = 0;
	for (size_t i = 0; i < m->nobj && !r; i++) {
		c[i] = m->obj[i];
		if (!(c[i].lns = cidmap_ns(m, m->obj[i].lns)))
			r = ctl_fail(err, errlen, "object %llu.%llu: its namespace %llu is not mapped",
				     (unsigned long long)m->obj[i].lns,
				     (unsigned long long)m->obj[i].local,
				     (unsigned long long)m->obj[i].lns);
	}
	if (!r && m->nobj)
		qsort(c, m->nobj, sizeof(*c), cid_cmp);
	for (size_t i = 1; i < m->nobj && !r; i++)
		if (!cid_cmp(&c[i - 1], &c[i]))
			r = ctl_fail(err, errlen,
				     "two objects map to id %llu of cluster namespace %llu",
				     (unsigned long long)c[i].cid, (unsigned long long)c[i].lns);
	free(c);
	return r;
}

int cidmap_parse(char *text, size_t len, const char *cluster, struct cidmap *out, char *err,
		 size_t errlen)
{
	*out = (struct cidmap){0};
	snprintf(out->cluster, sizeof(out->cluster), "%s", cluster);
	struct parse p = {out, cluster, false, false};
	int r = store_parse(text, len, map_kv, &p, err, errlen) ? -EINVAL : 0;
	if (!r && !p.named)
		r = ctl_fail(err, errlen, "no cluster= line");
	if (!r && consistent(out, err, errlen))
		r = -EINVAL;
	if (r) {
		free(out->ns);
		free(out->obj);
		*out = (struct cidmap){0};
		snprintf(out->cluster, sizeof(out->cluster), "%s", cluster);
	}
	return r;
}

int cidmap_load(int statefd, const char *cluster, struct cidmap *out, char *err, size_t errlen)
{
	*out = (struct cidmap){0};
	snprintf(out->cluster, sizeof(out->cluster), "%s", cluster);
	int dfd = openat(statefd, "cluster", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT)
		return 0;
	if (dfd < 0) {
		int e = errno;
		snprintf(err, errlen, "cluster/: %s", strerror(e));
		return -e;
	}
	char *text = NULL, why[600];
	size_t len;
	int r = read_state(dfd, CIDMAP_FILE, CIDMAP_MAX, &text, &len, why, sizeof(why));
	close(dfd);
	if (r == -ENOENT)
		return 0;
	if (r) {
		snprintf(err, errlen, "cluster/%s", why);
		return r;
	}
	r = cidmap_parse(text, len, cluster, out, why, sizeof(why));
	free(text);
	if (r)
		snprintf(err, errlen, "cluster/" CIDMAP_FILE ": %s", why);
	return r;
}

int cidmap_save(int statefd, const struct cidmap *m, bool sync)
{
	if (mkdirat(statefd, "cluster", 0700) && errno != EEXIST)
		return -errno;
	int dfd = openat(statefd, "cluster", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	struct sbuf b = {0};
	cidmap_render(m, &b);
	int r = sb_err(&b) ? -ENOMEM : write_atomic(dfd, CIDMAP_FILE, b.p, b.len, sync);
	sb_free(&b);
	close(dfd);
	return r;
}

int cidmap_sync(int statefd)
{
	int dfd = openat(statefd, "cluster", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	int fd = openat(dfd, CIDMAP_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int r = fd < 0 || fsync(fd) < 0 || fsync(dfd) < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	close(dfd);
	return r;
}
