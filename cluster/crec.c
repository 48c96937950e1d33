/* The reader and writer that every record kind's table goes through (crec_impl.h). A value
 * comes from another host, maybe another version: it is checked whole before any of it is
 * kept, and on any fault the caller gets a zeroed struct and the reason. */
#include "cluster/crec_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/util.h"
#include "runtime/store.h"

#define AT(p, off, type) ((type *)((char *)(p) + (off)))
#define CAT(p, off, type) ((const type *)((const char *)(p) + (off)))

int crec_text_check(const char *v, char *err, size_t errlen)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return ctl_fail(err, errlen, "holds a control byte (0x%02x)", *p);
	return 0;
}

int crec_id(const char *v, uint64_t lo, uint64_t hi, uint64_t *out, char *err, size_t errlen)
{
	char q[80];
	unsigned long long x;
	if (v[0] == '0' && v[1])
		return ctl_fail(err, errlen, "\"%s\" has a leading zero",
				ctl_quote(v, strlen(v), q, sizeof(q)));
	int r = store_num(v, 10, lo, hi, &x, err, errlen);
	if (!r)
		*out = x;
	return r;
}

/* Calls fn for each word of v, words being one space apart: none empty. */
static int words(const char *v, int (*fn)(const char *w, void *arg, char *err, size_t errlen),
		 void *arg, char *err, size_t errlen)
{
	size_t n = strlen(v);
	if (!n || v[0] == ' ' || v[n - 1] == ' ' || strstr(v, "  "))
		return ctl_fail(err, errlen, "%s", n ? "words are one space apart" : "empty");
	char *copy = strdup(v), *save = NULL;
	if (!copy)
		return -ENOMEM;
	int r = 0;
	for (char *w = strtok_r(copy, " ", &save); w && !r; w = strtok_r(NULL, " ", &save))
		r = fn(w, arg, err, errlen);
	free(copy);
	return r;
}

static int word_of(const char *w, void *set, char *err, size_t errlen)
{
	char q[80];
	size_t n = strlen(w);
	if (strspn(w, set) != n)
		return ctl_fail(err, errlen, "\"%s\" holds a byte other than %s",
				ctl_quote(w, n, q, sizeof(q)), (const char *)set);
	return 0;
}

/* A list being read: the array grows by one element at a time. */
struct list {
	const struct crec_field *f;
	void *a;
	size_t n, esize;
};

static void *list_add(struct list *l)
{
	void *a = realloc(l->a, (l->n + 1) * l->esize);
	if (!a)
		return NULL;
	l->a = a;
	void *e = (char *)a + l->n++ * l->esize;
	memset(e, 0, l->esize);
	return e;
}

static int name_twice(struct list *l, const char *name, size_t stride, char *err, size_t errlen)
{
	for (size_t i = 0; i + 1 < l->n; i++)
		if (!strcmp((char *)l->a + i * stride, name))
			return ctl_fail(err, errlen, "%s is named twice", name);
	return 0;
}

static int list_word(const char *w, void *arg, char *err, size_t errlen)
{
	struct list *l = arg;
	void *e = list_add(l);
	if (!e)
		return -ENOMEM;
	if (l->f->kind == FK_IDS) {
		int r = crec_id(w, 1, OBJ_ID_MAX, e, err, errlen);
		for (size_t i = 0; !r && i + 1 < l->n; i++)
			if (((uint64_t *)l->a)[i] == *(uint64_t *)e)
				r = ctl_fail(err, errlen, "id %s is given twice", w);
		return r;
	}
	if (l->f->kind == FK_NAMES) {
		if (name_check(w, err, errlen))
			return -EINVAL;
		strcpy(e, w);
		return name_twice(l, w, l->esize, err, errlen);
	}
	/* FK_IOBJS: NAME:ID:HOST */
	struct crec_intent_obj *o = e;
	char buf[3 * (NAME_MAX_LEN + 1)], q[80], *id, *host;
	if (strlen(w) >= sizeof(buf) || !(id = strchr(strcpy(buf, w), ':')) ||
	    !(host = strchr(id + 1, ':')))
		return ctl_fail(err, errlen, "\"%s\" is not NAME:ID:HOST",
				ctl_quote(w, strlen(w), q, sizeof(q)));
	*id++ = 0;
	*host++ = 0;
	if (name_check(buf, err, errlen) || crec_id(id, 1, OBJ_ID_MAX, &o->id, err, errlen) ||
	    name_check(host, err, errlen))
		return -EINVAL;
	strcpy(o->name, buf);
	strcpy(o->host, host);
	return name_twice(l, buf, l->esize, err, errlen);
}

static int list_read(const struct crec_field *f, const char *v, void *out, char *err, size_t errlen)
{
	struct list l = {f, NULL, 0,
			 f->kind == FK_IDS     ? sizeof(uint64_t)
			 : f->kind == FK_NAMES ? NAME_MAX_LEN + 1
					       : sizeof(struct crec_intent_obj)};
	int r = words(v, list_word, &l, err, errlen);
	if (r) {
		free(l.a);
		return r;
	}
	*AT(out, f->off, void *) = l.a;
	*AT(out, f->off2, size_t) = l.n;
	return 0;
}

static int ip_canon(const char *v, char *err, size_t errlen)
{
	unsigned char a[16];
	char back[INET6_ADDRSTRLEN], q[80];
	int af = strchr(v, ':') ? AF_INET6 : AF_INET;
	if (strlen(v) >= sizeof(back) || inet_pton(af, v, a) != 1)
		return ctl_fail(err, errlen, "\"%s\" is not an IP address",
				ctl_quote(v, strlen(v), q, sizeof(q)));
	if (!inet_ntop(af, a, back, sizeof(back)) || strcmp(back, v))
		return ctl_fail(err, errlen, "\"%s\" is not written as %s", v, back);
	return 0;
}

static int hostport(const char *v, char *err, size_t errlen)
{
	char buf[CREC_HOSTPORT_MAX], q[80], *port;
	uint64_t p;
	if (strlen(v) >= sizeof(buf))
		return ctl_fail(err, errlen, "too long for ADDR:PORT");
	strcpy(buf, v);
	char *host = buf;
	if (buf[0] == '[') {
		port = strstr(buf, "]:");
		if (port)
			*port = 0, port += 2, host++;
		if (port && !strchr(host, ':'))
			port = NULL; /* [v4]: not how an IPv4 address is written */
	} else {
		port = strrchr(buf, ':');
		if (port && strchr(buf, ':') == port)
			*port++ = 0;
		else
			port = NULL;
	}
	if (!port)
		return ctl_fail(err, errlen, "\"%s\" is not IPV4:PORT or [IPV6]:PORT",
				ctl_quote(v, strlen(v), q, sizeof(q)));
	return ip_canon(host, err, errlen) ?: crec_id(port, 1, 65535, &p, err, errlen);
}

static int url_check(const char *v, size_t size, char *err, size_t errlen)
{
	char q[80];
	size_t n = strlen(v), skip = !strncmp(v, "http://", 7)	  ? 7
				     : !strncmp(v, "https://", 8) ? 8
								  : 0;
	if (!skip || n == skip || n >= size)
		return ctl_fail(err, errlen, "\"%s\" is not an http:// or https:// URL",
				ctl_quote(v, n, q, sizeof(q)));
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return ctl_fail(err, errlen, "a URL holds printable ASCII only");
	return 0;
}

static int choice(const char *v, const char *const *names, int *out, char *err, size_t errlen)
{
	char q[80], all[200] = "";
	for (int i = 0; names[i]; i++) {
		if (!strcmp(v, names[i])) {
			*out = i;
			return 0;
		}
		snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s", i ? ", " : "",
			 names[i]);
	}
	return ctl_fail(err, errlen, "\"%s\" is not one of %s",
			ctl_quote(v, strlen(v), q, sizeof(q)), all);
}

/* A string field: bytes checked by kind, copied into a char[f->hi]. */
static int string_read(const struct crec_field *f, const char *v, void *out, char *err,
		       size_t errlen)
{
	size_t n = strlen(v), lo = f->lo ? f->lo : 1;
	int r = 0;
	if (f->kind != FK_NAME && (n < lo || n >= f->hi))
		return lo == f->hi - 1 ? ctl_fail(err, errlen, "%zu bytes, not %zu", n, lo)
				       : ctl_fail(err, errlen, "%zu bytes, not %zu to %llu", n, lo,
						  (unsigned long long)f->hi - 1);
	switch (f->kind) {
	case FK_NAME:
		r = name_check(v, err, errlen) ? -EINVAL : 0;
		break;
	case FK_WORD:
		r = word_of(v, (void *)f->arg, err, errlen);
		break;
	case FK_WORDS:
		r = words(v, word_of, (void *)f->arg, err, errlen);
		break;
	case FK_TEXT:
		r = crec_text_check(v, err, errlen);
		break;
	case FK_ADDR:
		r = ip_canon(v, err, errlen);
		break;
	case FK_HOSTPORT:
		r = hostport(v, err, errlen);
		break;
	default: /* FK_URL */
		r = url_check(v, f->hi, err, errlen);
	}
	if (!r)
		memcpy(AT(out, f->off, char), v, n + 1);
	return r;
}

static int field_read(const struct crec_field *f, const char *v, void *out, char *err,
		      size_t errlen)
{
	unsigned long long x;
	uint64_t lo, hi;
	int r, e;
	switch (f->kind) {
	case FK_NUM:
	case FK_OCT:
		r = store_num(v, f->kind == FK_OCT ? 8 : 10, f->lo, f->hi, &x, err, errlen);
		if (!r)
			*AT(out, f->off, uint64_t) = x;
		return r;
	case FK_DTEXT: {
		size_t n = strlen(v);
		if (!n || n > f->hi)
			return ctl_fail(err, errlen, "%zu bytes, not 1 to %llu", n,
					(unsigned long long)f->hi);
		if ((r = crec_text_check(v, err, errlen)))
			return r;
		char *s = strdup(v);
		if (!s)
			return -ENOMEM;
		*AT(out, f->off, char *) = s;
		return 0;
	}
	case FK_CHOICE:
		return choice(v, f->arg, AT(out, f->off, int), err, errlen);
	case FK_STATE:
		return store_state(v, AT(out, f->off, enum ostate), err, errlen);
	case FK_BOOL:
		if (!strcmp(v, "yes") || !strcmp(v, "no")) {
			*AT(out, f->off, bool) = v[0] == 'y';
			return 0;
		}
		return ctl_fail(err, errlen, "not yes or no");
	case FK_TAG:
		return ckey_tag_parse(v, AT(out, f->off, struct ckey_tag), err, errlen);
	case FK_PORTS: {
		char buf[16], *dash;
		if (strlen(v) >= sizeof(buf) || !(dash = strchr(strcpy(buf, v), '-')))
			return ctl_fail(err, errlen, "not LO-HI");
		*dash++ = 0;
		if (crec_id(buf, 1, 65535, &lo, err, errlen) ||
		    crec_id(dash, lo, 65535, &hi, err, errlen))
			return -EINVAL;
		*AT(out, f->off, uint16_t) = lo;
		*AT(out, f->off2, uint16_t) = hi;
		return 0;
	}
	case FK_RATIO:
		return value_ratio(v, f->lo, f->hi, AT(out, f->off, uint64_t), err, errlen);
	case FK_ERRNO:
		if (!(e = crec_errno_num(v)))
			return ctl_fail(err, errlen,
					"\"%.40s\" is not an errno name this vmfs knows", v);
		*AT(out, f->off, int) = e;
		return 0;
	case FK_NAMES:
	case FK_IDS:
	case FK_IOBJS:
		return list_read(f, v, out, err, errlen);
	default:
		return string_read(f, v, out, err, errlen);
	}
}

/* k's rows in its table */
static const struct crec_field *rows(const struct crec_kind *k, size_t *n)
{
	size_t i = 0, j;
	*n = 0;
	if (!k->f) /* top: its keys are all its own */
		return NULL;
	while (i < k->nf && k->f[i].tag != k->tag)
		i++;
	for (j = i; j < k->nf && k->f[j].tag == k->tag;)
		j++;
	*n = j - i;
	return k->f + i;
}

struct rd {
	const struct crec_kind *k;
	const struct crec_field *f;
	size_t nf;
	void *out;
	size_t lines;
	uint64_t seen; /* a bit per field */
};

static int version(const char *v, char *err, size_t errlen)
{
	char q[80];
	if (!strcmp(v, "1"))
		return 0;
	size_t n = strlen(v);
	if (n && n < 20 && v[0] != '0' && strspn(v, "0123456789") == n) {
		ctl_fail(err, errlen, "written by a newer vmfs (v=%s); this one reads v=1", v);
		return -EPROTONOSUPPORT;
	}
	return ctl_fail(err, errlen, "\"%s\" is not a version", ctl_quote(v, n, q, sizeof(q)));
}

static int take(const char *key, const char *value, void *arg, char *err, size_t errlen)
{
	struct rd *r = arg;
	if (r->lines++ == 0) {
		if (strcmp(key, "v"))
			return ctl_fail(err, errlen,
					"the first line is not v=1 (%s record starts "
					"with its version)",
					r->k->what);
		return version(value, err, errlen);
	}
	for (size_t i = 0; i < r->nf; i++)
		if (!strcmp(key, r->f[i].key)) {
			r->seen |= 1ull << i;
			return field_read(&r->f[i], value, r->out, err, errlen);
		}
	int x = r->k->other ? r->k->other(r->out, key, value, err, errlen) : 1;
	if (x == 1)
		(*AT(r->out, r->k->unknown_off, unsigned))++;
	return x == 1 ? 0 : x;
}

int crec_read(const struct crec_kind *k, const char *text, size_t len, void *out, char *err,
	      size_t errlen)
{
	memset(out, 0, k->size);
	if (len > k->max) {
		ctl_fail(err, errlen, "%zu bytes: %s record holds at most %zu", len, k->what,
			 k->max);
		return -EFBIG;
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = 0;
	struct rd rd = {.k = k, .out = out};
	rd.f = rows(k, &rd.nf);
	int r = store_parse(copy, len, take, &rd, err, errlen);
	for (size_t i = 0; !r && i < rd.nf; i++)
		if (rd.f[i].req && !(rd.seen & (1ull << i)))
			r = ctl_fail(err, errlen, "no %s= line: %s record has one", rd.f[i].key,
				     k->what);
	if (!r && k->finish)
		r = k->finish(out, err, errlen);
	if (!r && k->text_off >= 0)
		*AT(out, k->text_off, char *) = take_ptr(copy);
	free(copy);
	if (r)
		crec_release(k, out);
	return r;
}

void crec_release(const struct crec_kind *k, void *p)
{
	size_t n;
	const struct crec_field *f = rows(k, &n);
	for (size_t i = 0; i < n; i++)
		if (f[i].kind == FK_DTEXT || f[i].kind == FK_NAMES || f[i].kind == FK_IDS ||
		    f[i].kind == FK_IOBJS)
			free(*AT(p, f[i].off, void *));
	if (k->free)
		k->free(p);
	if (k->text_off >= 0)
		free(*AT(p, k->text_off, char *));
	memset(p, 0, k->size);
}

/* Whether an optional field holds a value (a writer leaves it out otherwise). */
static bool is_set(const struct crec_field *f, const void *in)
{
	switch (f->kind) {
	case FK_NUM:
	case FK_OCT:
	case FK_RATIO:
		return *CAT(in, f->off, uint64_t);
	case FK_DTEXT:
		return *CAT(in, f->off, char *);
	case FK_TAG:
		return CAT(in, f->off, struct ckey_tag)->host[0];
	case FK_PORTS:
		return *CAT(in, f->off, uint16_t);
	case FK_ERRNO:
		return *CAT(in, f->off, int);
	case FK_NAMES:
	case FK_IDS:
	case FK_IOBJS:
		return *CAT(in, f->off2, size_t);
	case FK_CHOICE:
	case FK_STATE:
	case FK_BOOL:
		return true;
	default:
		return *CAT(in, f->off, char);
	}
}

static void list_write(const struct crec_field *f, const void *in, struct sbuf *b)
{
	size_t n = *CAT(in, f->off2, size_t);
	const void *a = *CAT(in, f->off, void *);
	for (size_t i = 0; i < n; i++) {
		const char *sep = i ? " " : "";
		if (f->kind == FK_IDS)
			sb_printf(b, "%s%llu", sep, (unsigned long long)((const uint64_t *)a)[i]);
		else if (f->kind == FK_NAMES)
			sb_printf(b, "%s%s", sep, (const char *)a + i * (NAME_MAX_LEN + 1));
		else {
			const struct crec_intent_obj *o = (const struct crec_intent_obj *)a + i;
			sb_printf(b, "%s%s:%llu:%s", sep, o->name, (unsigned long long)o->id,
				  o->host);
		}
	}
}

static void field_write(const struct crec_field *f, const void *in, struct sbuf *b)
{
	uint64_t x = f->kind == FK_NUM || f->kind == FK_OCT || f->kind == FK_RATIO
			 ? *CAT(in, f->off, uint64_t)
			 : 0;
	char tag[CKEY_TAG_LEN];
	sb_printf(b, "%s=", f->key);
	switch (f->kind) {
	case FK_NUM:
		sb_printf(b, "%llu", (unsigned long long)x);
		break;
	case FK_OCT:
		sb_printf(b, "%04llo", (unsigned long long)x);
		break;
	case FK_RATIO:
		sb_printf(b, "%llu", (unsigned long long)x / 1000);
		if (x % 1000) {
			char frac[8];
			snprintf(frac, sizeof(frac), "%03llu", (unsigned long long)x % 1000);
			for (size_t n = 3; frac[n - 1] == '0'; n--)
				frac[n - 1] = 0;
			sb_printf(b, ".%s", frac);
		}
		break;
	case FK_DTEXT:
		sb_puts(b, *CAT(in, f->off, char *));
		break;
	case FK_CHOICE:
		sb_puts(b, ((const char *const *)f->arg)[*CAT(in, f->off, int)]);
		break;
	case FK_STATE:
		sb_puts(b, ostate_name(*CAT(in, f->off, enum ostate)));
		break;
	case FK_BOOL:
		sb_puts(b, *CAT(in, f->off, bool) ? "yes" : "no");
		break;
	case FK_TAG:
		ckey_tag_fmt(CAT(in, f->off, struct ckey_tag), tag);
		sb_puts(b, tag);
		break;
	case FK_PORTS:
		sb_printf(b, "%u-%u", *CAT(in, f->off, uint16_t), *CAT(in, f->off2, uint16_t));
		break;
	case FK_ERRNO:
		sb_puts(b, crec_errno_name(*CAT(in, f->off, int)) ?: "EIO");
		break;
	case FK_NAMES:
	case FK_IDS:
	case FK_IOBJS:
		list_write(f, in, b);
		break;
	default:
		sb_puts(b, CAT(in, f->off, char));
	}
	sb_puts(b, "\n");
}

void crec_write(const struct crec_kind *k, const void *in, struct sbuf *b)
{
	size_t n;
	const struct crec_field *f = rows(k, &n);
	sb_puts(b, "v=1\n");
	for (size_t i = 0; i < n; i++)
		if (f[i].req || is_set(&f[i], in))
			field_write(&f[i], in, b);
	if (k->write_other)
		k->write_other(in, b);
}
