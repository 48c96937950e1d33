/* The rows of hosts/discovered (mdns/found.h). */
#include "mdns/found.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/util.h"

const char *const found_types[] = {"_vmfs-9p._tcp", "_http._tcp", "_https._tcp", NULL};
static const char *const services[] = {"9p", "http", "https"};

const char *found_service(const char *type)
{
	for (size_t i = 0; found_types[i]; i++)
		if (!strcmp(type, found_types[i]))
			return services[i];
	return NULL;
}

struct found *found_get(const struct found_tab *t, int ifindex, const char *name,
			const char *type, const char *domain)
{
	for (size_t i = 0; i < t->n; i++) {
		struct found *f = t->v[i];
		if (f->ifindex == ifindex && !strcmp(f->name, name) && !strcmp(f->type, type) &&
		    !strcmp(f->domain, domain))
			return f;
	}
	return NULL;
}

struct found *found_add(struct found_tab *t, int ifindex, const char *name, const char *type,
			const char *domain)
{
	if (t->n >= FOUND_MAX || strlen(name) >= sizeof(t->v[0]->name) ||
	    strlen(type) >= sizeof(t->v[0]->type) || strlen(domain) >= sizeof(t->v[0]->domain))
		return NULL;
	struct found *f = calloc(1, sizeof(*f));
	struct found **v = f ? realloc(t->v, (t->n + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(f);
		return NULL;
	}
	t->v = v;
	f->ifindex = ifindex;
	strcpy(f->name, name);
	strcpy(f->type, type);
	strcpy(f->domain, domain);
	t->v[t->n++] = f;
	return f;
}

void found_drop(struct found_tab *t, struct found *f)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i] == f) {
			t->v[i] = t->v[--t->n];
			free(f);
			return;
		}
}

void found_clear(struct found_tab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* A TXT item's value for key, NULL if absent; the first item wins, as DNS-SD says. */
static const char *txt_value(const char *const *txt, const size_t *len, size_t n,
			     const char *key, size_t *vlen)
{
	size_t k = strlen(key);
	for (size_t i = 0; i < n; i++)
		if (len[i] > k && !memcmp(txt[i], key, k) && txt[i][k] == '=') {
			*vlen = len[i] - k - 1;
			return txt[i] + k + 1;
		}
	return NULL;
}

/* Copies the value if every byte is one of the letters, digits or allowed punctuation. */
static int txt_word(const char *key, const char *val, size_t vlen, const char *punct,
		    char *out, size_t outlen, char *err, size_t errlen)
{
	char q[80];
	bool bad = !vlen || vlen >= outlen;
	for (size_t i = 0; !bad && i < vlen; i++) {
		unsigned char c = val[i];
		bad = !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			(c && strchr(punct, c)));
	}
	if (bad)
		return ctl_fail(err, errlen, "its %s= \"%s\" is not well formed", key,
				ctl_quote(val, vlen, q, sizeof(q)));
	memcpy(out, val, vlen);
	out[vlen] = 0;
	return 0;
}

static int set(struct found *g, const char *addr, uint16_t port, const char *const *txt,
	       const size_t *len, size_t ntxt, char *err, size_t errlen)
{
	const char *val;
	size_t vlen;
	struct in_addr a;
	char why[200];
	if (!(val = txt_value(txt, len, ntxt, "vmfs", &vlen)))
		return 1;
	if (txt_word("vmfs", val, vlen, ".+~_-", g->version, sizeof(g->version), err, errlen))
		return -EINVAL;
	if (!(val = txt_value(txt, len, ntxt, "host", &vlen)))
		return ctl_fail(err, errlen, "it has no host= record");
	if (txt_word("host", val, vlen, "._-", g->host, sizeof(g->host), err, errlen))
		return -EINVAL;
	if (name_check(g->host, why, sizeof(why)))
		return ctl_fail(err, errlen, "its host= is no member name: %s", why);
	strcpy(g->path, "/");
	if ((val = txt_value(txt, len, ntxt, "path", &vlen))) {
		if (txt_word("path", val, vlen, "/._~%-", g->path, sizeof(g->path), err, errlen))
			return -EINVAL;
		if (g->path[0] != '/')
			return ctl_fail(err, errlen, "its path= does not start with '/'");
	}
	if (strlen(addr) >= sizeof(g->addr) || inet_pton(AF_INET, addr, &a) != 1)
		return ctl_fail(err, errlen, "its address is not IPv4");
	strcpy(g->addr, addr);
	if (!port)
		return ctl_fail(err, errlen, "its port is 0");
	g->port = port;
	return 0;
}

int found_set(struct found *f, const char *addr, uint16_t port, const char *const *txt,
	      const size_t *len, size_t ntxt, char *err, size_t errlen)
{
	struct found g = *f;
	int r = set(&g, addr, port, txt, len, ntxt, err, errlen);
	if (r) { /* what it said before no longer holds */
		f->resolved = false;
		return r;
	}
	g.resolved = true;
	*f = g;
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct found *x = *(struct found *const *)a, *y = *(struct found *const *)b;
	int r = strcmp(x->host, y->host);
	if (!r)
		r = strcmp(found_service(x->type), found_service(y->type));
	if (!r)
		r = strcmp(x->addr, y->addr);
	if (!r)
		r = (int)x->port - (int)y->port;
	return r;
}

void found_table(const struct found_tab *t, struct sbuf *out)
{
	sb_puts(out, "host\tservice\taddress\tport\tversion\turl\n");
	struct found **rows = t->n ? malloc(t->n * sizeof(*rows)) : NULL;
	size_t n = 0;
	if (t->n && !rows) {
		out->oom = 1;
		return;
	}
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i]->resolved && found_service(t->v[i]->type))
			rows[n++] = t->v[i];
	if (n)
		qsort(rows, n, sizeof(*rows), row_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct found *f = rows[i];
		const char *svc = found_service(f->type);
		if (i && !row_cmp(&rows[i - 1], &rows[i]))
			continue; /* the same service seen twice (two interfaces, two domains) */
		sb_printf(out, "%s\t%s\t%s\t%u\t%s\t", f->host, svc, f->addr, f->port, f->version);
		if (!strcmp(svc, "9p"))
			sb_printf(out, "9p://%s:%u\n", f->addr, f->port);
		else
			sb_printf(out, "%s://%s:%u%s\n", svc, f->addr, f->port, f->path);
	}
	free(rows);
}
