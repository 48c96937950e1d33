/* The record kinds with keys of their own making: an object (nic.N, cfg.PARAM), a top table
 * (a line per object id), a template's value (checked by its parameter); and the errnos an
 * answer names. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/crec_impl.h"
#include "ctl/params.h"
#include "ctl/util.h"
#include "runtime/store.h"

/* "ADDR/PREFIX" as value_nic keeps it: canonical, IPv4 /1-32 or IPv6 /1-128. */
static int nic_ip(const char *v, char *err, size_t errlen)
{
	char addr[INET6_ADDRSTRLEN], back[INET6_ADDRSTRLEN];
	unsigned char a[16];
	uint64_t prefix;
	const char *slash = strchr(v, '/');
	size_t n = slash ? (size_t)(slash - v) : 0;
	int af = memchr(v, ':', n) ? AF_INET6 : AF_INET;
	if (!slash || n >= sizeof(addr))
		return ctl_fail(err, errlen, "the address is not ADDR/PREFIX");
	memcpy(addr, v, n);
	addr[n] = 0;
	if (inet_pton(af, addr, a) != 1 || !inet_ntop(af, a, back, sizeof(back)) ||
	    strcmp(back, addr))
		return ctl_fail(err, errlen, "\"%.60s\" is not an IP address as vmfs writes it",
				addr);
	return crec_id(slash + 1, 1, af == AF_INET ? 32 : 128, &prefix, err, errlen);
}

static int mac_check(const char *m, char *err, size_t errlen)
{
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? m[i] != ':' : !strchr("0123456789abcdef", m[i]) || !m[i])
			return ctl_fail(err, errlen,
					"the MAC is not xx:xx:xx:xx:xx:xx (lowercase)");
	return m[17] ? ctl_fail(err, errlen, "the MAC is not xx:xx:xx:xx:xx:xx (lowercase)") : 0;
}

/* "VLAN TAP MAC IP" into n. */
static int nic_read(const char *v, struct crec_nic *n, char *err, size_t errlen)
{
	char buf[256], *w[5], *save = NULL;
	uint64_t vid;
	int nw = 0;
	if (strlen(v) >= sizeof(buf) || strstr(v, "  ") || v[0] == ' ')
		return ctl_fail(err, errlen, "not VLAN TAP MAC IP, one space apart");
	strcpy(buf, v);
	for (char *t = strtok_r(buf, " ", &save); t && nw < 5; t = strtok_r(NULL, " ", &save))
		w[nw++] = t;
	if (nw != 4 || v[strlen(v) - 1] == ' ')
		return ctl_fail(err, errlen, "not VLAN TAP MAC IP, one space apart");
	size_t tl = strlen(w[1]);
	if (strspn(w[0], "0123456789") == strlen(w[0]) ? crec_id(w[0], 1, 4094, &vid, err, errlen)
						       : name_check(w[0], err, errlen))
		return -EINVAL;
	if (!tl || tl >= sizeof(n->tap) ||
	    strspn(w[1], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != tl)
		return ctl_fail(err, errlen, "the tap is not an interface name (1 to 15 bytes)");
	if (mac_check(w[2], err, errlen) || (strcmp(w[3], "-") && nic_ip(w[3], err, errlen)))
		return -EINVAL;
	strcpy(n->vlan, w[0]);
	strcpy(n->tap, w[1]);
	strcpy(n->mac, w[2]);
	strcpy(n->ip, strcmp(w[3], "-") ? w[3] : "");
	return 0;
}

static int obj_other(void *out, const char *key, const char *value, char *err, size_t errlen)
{
	struct crec_obj *o = out;
	uint64_t n;
	if (!strncmp(key, "cfg.", 4)) {
		int i = param_index(key + 4);
		if (i < 0)
			return 1; /* a parameter of a newer vmfs */
		if (!*value)
			return ctl_fail(err, errlen, "empty (an unset parameter is not written)");
		int r = param_check(&params[i], value, err, errlen);
		if (r)
			return r;
		if (!(o->cfg[i] = strdup(value)))
			return -ENOMEM;
		return 0;
	}
	bool vid = !strncmp(key, "vid.", 4);
	if (strncmp(key, "nic.", 4) && !vid)
		return 1;
	struct crec_nic nic = {{0}};
	uint64_t id = 0;
	if (crec_id(key + 4, 0, CREC_NICS_MAX - 1, &n, err, errlen) ||
	    (vid ? crec_id(value, 1, 4094, &id, err, errlen) : nic_read(value, &nic, err, errlen)))
		return -EINVAL;
	if (n >= o->nnic) {
		struct crec_nic *a = realloc(o->nic, (n + 1) * sizeof(*a));
		if (!a)
			return -ENOMEM;
		memset(a + o->nnic, 0, (n + 1 - o->nnic) * sizeof(*a));
		o->nic = a;
		o->nnic = n + 1;
	}
	if (vid) { /* a vid.N without its nic.N is a gap: obj_finish refuses it */
		o->nic[n].vid = (unsigned)id;
		return 0;
	}
	nic.vid = o->nic[n].vid; /* (vid.N may come first) */
	o->nic[n] = nic;
	return 0;
}

static int obj_finish(void *out, char *err, size_t errlen)
{
	struct crec_obj *o = out;
	for (size_t i = 0; i < o->nnic; i++)
		if (!o->nic[i].tap[0])
			return ctl_fail(err, errlen, "nic.%zu is missing (nic.%zu is given)", i,
					o->nnic - 1);
	for (size_t i = 0; i < nparams; i++)
		if (o->cfg[i] && !(params[i].applies & otype_mask(o->type)))
			return ctl_fail(err, errlen, "cfg.%s: not a parameter of a %s",
					params[i].name, o->type == OT_VM ? "VM" : "container");
	return 0;
}

static void obj_free(void *p)
{
	struct crec_obj *o = p;
	free(o->nic);
	for (size_t i = 0; i < NPARAMS_MAX; i++)
		free(o->cfg[i]);
}

static void obj_write_other(const void *in, struct sbuf *b)
{
	const struct crec_obj *o = in;
	for (size_t i = 0; i < o->nnic; i++) {
		const struct crec_nic *n = &o->nic[i];
		sb_printf(b, "nic.%zu=%s %s %s %s\n", i, n->vlan, n->tap, n->mac,
			  n->ip[0] ? n->ip : "-");
		if (n->vid)
			sb_printf(b, "vid.%zu=%u\n", i, n->vid);
	}
	store_params(b, "cfg.", o->cfg);
}

#define S struct crec_obj
static const struct crec_field f_obj[] = {
    {"name", FK_NAME, 1, 0, offsetof(S, name), 0, 0, NAME_MAX_LEN + 1, NULL},
    {"type", FK_CHOICE, 1, 0, offsetof(S, type), 0, 0, 0, crec_otypes},
    {"state", FK_STATE, 1, 0, offsetof(S, state), 0, 0, 0, NULL},
    {"since", FK_NUM, 1, 0, offsetof(S, since), 0, 0, CREC_TIME_MAX, NULL},
    {"started", FK_NUM, 0, 0, offsetof(S, started), 0, 0, CREC_TIME_MAX, NULL},
    {"pid", FK_NUM, 0, 0, offsetof(S, pid), 0, 1, 4194304, NULL},
    {"error", FK_DTEXT, 0, 0, offsetof(S, error), 0, 0, CREC_TEXT_MAX, NULL},
    {"intent", FK_TAG, 0, 0, offsetof(S, intent), 0, 0, 0, NULL},
};
static const struct crec_kind kind_obj = {
    "an object",	  .max = CREC_OBJ_MAX, CREC_TABLE(S, f_obj),	      .other = obj_other,
    .finish = obj_finish, .free = obj_free,    .write_other = obj_write_other};
#undef S
CREC_WRAP(obj)
void crec_obj_free(struct crec_obj *o) { crec_release(&kind_obj, o); }

static int top_other(void *out, const char *key, const char *value, char *err, size_t errlen)
{
	struct crec_top *t = out;
	uint64_t id;
	size_t n = strlen(value);
	if (strspn(key, "0123456789") != strlen(key))
		return 1;
	if (crec_id(key, 1, OBJ_ID_MAX, &id, err, errlen))
		return -EINVAL;
	if (!n || n >= CREC_FIGURES_MAX || value[0] == ' ' || value[n - 1] == ' ' ||
	    strstr(value, "  "))
		return ctl_fail(err, errlen, "figures are 1 to %d bytes, one space apart",
				CREC_FIGURES_MAX - 1);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return ctl_fail(err, errlen, "figures are printable ASCII");
	struct crec_top_row *a = realloc(t->rows, (t->n + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	t->rows = a;
	a[t->n++] = (struct crec_top_row){id, value}; /* into the copy that read keeps */
	return 0;
}

static void top_free(void *p) { free(((struct crec_top *)p)->rows); }

static void top_write_other(const void *in, struct sbuf *b)
{
	const struct crec_top *t = in;
	for (size_t i = 0; i < t->n; i++)
		crec_top_row(b, t->rows[i].id, t->rows[i].figures);
}

static const struct crec_kind kind_top = {"a top",
					  .size = sizeof(struct crec_top),
					  .max = CREC_BIG_MAX,
					  .unknown_off = offsetof(struct crec_top, unknown),
					  .other = top_other,
					  .free = top_free,
					  .write_other = top_write_other,
					  .text_off = offsetof(struct crec_top, text_)};
CREC_WRAP(top)
void crec_top_free(struct crec_top *t) { crec_release(&kind_top, t); }
void crec_top_begin(struct sbuf *out) { sb_puts(out, "v=1\n"); }
void crec_top_row(struct sbuf *out, uint64_t id, const char *figures)
{
	sb_printf(out, "%llu=%s\n", (unsigned long long)id, figures);
}

static const struct crec_field f_nscfg[] = {
    {"value", FK_TEXT, 1, 0, offsetof(struct crec_nscfg, value), 0, 0, PARAM_LIST_MAX + 1, NULL}};
static const struct crec_kind kind_nscfg = {"a template value", .max = CREC_NSCFG_MAX,
					    CREC_TABLE(struct crec_nscfg, f_nscfg)};

int crec_nscfg_read(int param, const char *text, size_t len, struct crec_nscfg *out, char *err,
		    size_t errlen)
{
	char why[512];
	if (param < 0 || (size_t)param >= nparams) {
		memset(out, 0, sizeof(*out));
		return ctl_fail(err, errlen, "no such parameter (%d)", param);
	}
	int r = crec_read(&kind_nscfg, text, len, out, err, errlen);
	if (!r && (r = param_check(&params[param], out->value, why, sizeof(why)))) {
		size_t line = 1; /* the read passed: text is whole lines, one of them value= */
		for (const char *s = text; strncmp(s, "value=", 6); s = strchr(s, '\n') + 1)
			line++;
		snprintf(err, errlen, "line %zu: value: %s", line, why);
		crec_release(&kind_nscfg, out);
	}
	return r;
}

void crec_nscfg_write(const struct crec_nscfg *in, struct sbuf *out)
{
	crec_write(&kind_nscfg, in, out);
}

/* The errnos vmfs answers with (as the design's errno rule carries them between hosts). */
static const struct {
	int e;
	const char *name;
} errnos[] = {
#define E(x)                                                                                       \
	{                                                                                          \
		x, #x                                                                              \
	}
    E(EPERM),	     E(ENOENT),		 E(ESRCH),	 E(EINTR),	  E(EIO),
    E(ENXIO),	     E(E2BIG),		 E(EBADF),	 E(EAGAIN),	  E(ENOMEM),
    E(EACCES),	     E(EBUSY),		 E(EEXIST),	 E(EXDEV),	  E(ENODEV),
    E(ENOTDIR),	     E(EISDIR),		 E(EINVAL),	 E(EMFILE),	  E(EFBIG),
    E(ENOSPC),	     E(EROFS),		 E(EPIPE),	 E(ERANGE),	  E(ENAMETOOLONG),
    E(ENOSYS),	     E(ENOTEMPTY),	 E(ELOOP),	 E(ENODATA),	  E(EPROTO),
    E(EMSGSIZE),     E(EPROTONOSUPPORT), E(EOPNOTSUPP),	 E(EADDRINUSE),	  E(ECONNABORTED),
    E(ECONNRESET),   E(ENOTCONN),	 E(ETIMEDOUT),	 E(ECONNREFUSED), E(EHOSTDOWN),
    E(EHOSTUNREACH), E(EALREADY),	 E(EINPROGRESS), E(ESTALE),	  E(ECANCELED),
    E(EDQUOT),	     E(ENOTTY),		 E(EOVERFLOW),	 E(ENOEXEC),	  E(ETXTBSY),
    E(ENETUNREACH),  E(EADDRNOTAVAIL),	 E(EDEADLK),	 E(ENOLCK),	  E(EILSEQ),
    E(ENOTSUP), /* the same number as EOPNOTSUPP on Linux: read, never written */
#undef E
};

const char *crec_errno_name(int err)
{
	for (size_t i = 0; i < ARRAY_SIZE(errnos); i++)
		if (errnos[i].e == err)
			return errnos[i].name;
	return NULL;
}

int crec_errno_num(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(errnos); i++)
		if (!strcmp(errnos[i].name, name))
			return errnos[i].e;
	return 0;
}
