/* NIC specs, minimega's "[bridge,]VLAN[,mac][,driver]". Which field is which follows
 * minimega's rules so that its specs mean the same here: a field with a ':' is a MAC, and
 * with two fields and no MAC, a numeric first field is a VLAN ("100,e1000") and anything
 * else a bridge ("mega_bridge,LAN1").
 *
 * Our one addition is an address, ADDR/PREFIX, in any position ("LAN1,10.0.0.2/24"). No
 * other kind of field can hold a '/', so it is found by that alone and taken out before
 * minimega's rules see the rest. The '/' test comes first because an IPv6 address holds
 * ':' and would otherwise be read as a MAC. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"

#include "ctl/util.h"

#define NIC_HINT                                                                                   \
	"use [BRIDGE,]VLAN[,MAC][,DRIVER][,ADDR/PREFIX], as in LAN1, mega_bridge,101,e1000 or "    \
	"LAN1,10.0.0.2/24"
#define NIC_FIELDS 5 /* 4 of minimega's and an address */

struct field {
	const char *s;
	size_t n;
};

static int hexval(char c);

/* Names cannot hold ':', so such a field can only be meant as a MAC. So is one written
 * with '-' (52-54-00-12-34-56), which would otherwise pass for a NIC model. */
static bool field_is_mac(const struct field *f)
{
	size_t i;

	if (memchr(f->s, ':', f->n))
		return true;
	for (i = 0; f->n == 17 && i < 17; i++)
		if (i % 3 == 2 ? f->s[i] != '-' : hexval(f->s[i]) < 0)
			return false;
	return f->n == 17;
}

static bool field_is_number(const struct field *f)
{
	uint64_t v;

	return ctl_uint(f->s, f->n, &v) >= 0;
}

static bool char_in(char c, const char *set) { return c && strchr(set, c); }

static bool nic_bridge(const struct field *f, struct nic_spec *out)
{
	size_t i;

	/* Linux interface names hold at most 15 bytes (IFNAMSIZ - 1). */
	if (f->n >= sizeof out->bridge || f->s[0] == '-' || f->s[0] == '.')
		return false;
	for (i = 0; i < f->n; i++)
		if (!char_in(f->s[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789._-"))
			return false;
	memcpy(out->bridge, f->s, f->n);
	return true;
}

static int nic_vlan(const struct field *f, struct nic_spec *out, const char *q, char *err,
		    size_t errlen)
{
	char name[NAME_MAX_LEN + 1], qf[80], why[160];
	uint64_t v;
	int rc = ctl_uint(f->s, f->n, &v);

	if (rc >= 0) {
		if (rc || v < 1 || v > 4094)
			return ctl_fail(err, errlen,
					"NIC \"%s\": VLAN %s is out of range: use 1 to 4094, or an "
					"alias name such as LAN1",
					q, ctl_quote(f->s, f->n, qf, sizeof qf));
		snprintf(out->vlan, sizeof out->vlan, "%u", (unsigned)v);
		return 0;
	}
	if (f->n > NAME_MAX_LEN)
		return ctl_fail(err, errlen, "NIC \"%s\": the VLAN alias is longer than %d bytes",
				q, NAME_MAX_LEN);
	memcpy(name, f->s, f->n);
	name[f->n] = '\0';
	if (name_check(name, why, sizeof why))
		return ctl_fail(err, errlen,
				"NIC \"%s\": the VLAN is neither a number nor a name: %s", q, why);
	memcpy(out->vlan, name, f->n + 1);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Stored in lower case, so that equal MACs compare equal. */
static int nic_mac(const struct field *f, struct nic_spec *out, const char *q, char *err,
		   size_t errlen)
{
	char qf[80], mac[18];
	int i, zero = 1;

	ctl_quote(f->s, f->n, qf, sizeof qf);
	for (i = 0; f->n == 17 && i < 17; i++) {
		if (i % 3 == 2 ? f->s[i] != ':' : hexval(f->s[i]) < 0)
			break;
		mac[i] = i % 3 == 2 ? ':' : "0123456789abcdef"[hexval(f->s[i])];
		zero &= i % 3 == 2 || f->s[i] == '0';
	}
	if (f->n != 17 || i < 17)
		return ctl_fail(err, errlen,
				"NIC \"%s\": \"%s\" is not a MAC address: use six hex pairs, as in "
				"52:54:00:12:34:56",
				q, qf);
	mac[17] = '\0';
	/* Bit 0 of the first byte marks a group address, which no NIC may own. */
	if (hexval(mac[1]) & 1)
		return ctl_fail(
		    err, errlen,
		    "NIC \"%s\": \"%s\" is a multicast MAC address: a NIC needs a unicast "
		    "one (the first byte must be even)",
		    q, qf);
	if (zero)
		return ctl_fail(err, errlen, "NIC \"%s\": the all-zero MAC address is not usable",
				q);
	memcpy(out->mac, mac, sizeof mac);
	return 0;
}

static int nic_driver(const struct field *f, struct nic_spec *out, const char *q, char *err,
		      size_t errlen)
{
	char qf[80];
	size_t i;

	/* '_' too: QEMU has ne2k_pci and ne2k_isa. */
	for (i = 0; i < f->n && char_in(f->s[i], "abcdefghijklmnopqrstuvwxyz0123456789-_"); i++)
		;
	if (i < f->n || f->n >= sizeof out->driver || f->s[0] == '-')
		return ctl_fail(
		    err, errlen,
		    "NIC \"%s\": \"%s\" is not a NIC model: use a QEMU model name such as "
		    "e1000, virtio-net-pci or rtl8139",
		    q, ctl_quote(f->s, f->n, qf, sizeof qf));
	memcpy(out->driver, f->s, f->n);
	return 0;
}

/* Kept as inet_ntop writes it (FD00:0::2/064 becomes fd00::2/64), so that equal addresses
 * compare equal. */
static int nic_addr(const struct field *f, struct nic_spec *out, const char *q, char *err,
		    size_t errlen)
{
	static const unsigned char none[16], all[4] = {255, 255, 255, 255};
	const char *slash = memchr(f->s, '/', f->n), *eg;
	char qf[80], text[INET6_ADDRSTRLEN];
	size_t alen = (size_t)(slash - f->s);
	unsigned char a[16];
	uint64_t prefix;
	int v6, len;

	ctl_quote(f->s, f->n, qf, sizeof qf);
	if (alen >= sizeof text)
		alen = 0; /* too long to be an address, and so is "" */
	memcpy(text, f->s, alen);
	text[alen] = '\0';
	v6 = strchr(text, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, text, a) != 1)
		return ctl_fail(err, errlen,
				"NIC \"%s\": \"%s\" is not an address: use ADDR/PREFIX with an "
				"IPv4 or IPv6 address, as in 10.0.0.2/24 or fd00::2/64",
				q, qf);
	eg = v6 ? "fd00::2/64" : "10.0.0.2/24";
	len = v6 ? 16 : 4;
	if (ctl_uint(slash + 1, f->n - alen - 1, &prefix) || prefix < 1 ||
	    prefix > (uint64_t)len * 8)
		return ctl_fail(err, errlen,
				"NIC \"%s\": \"%s\" has a bad prefix length: use 1 to %d for an "
				"IPv%c address, as in %s",
				q, qf, len * 8, v6 ? '6' : '4', eg);
	/* 224.0.0.0/4 and ff00::/8 are group addresses, which no NIC may own. */
	if (v6 ? a[0] == 0xff : a[0] >= 224 && a[0] <= 239)
		return ctl_fail(err, errlen,
				"NIC \"%s\": \"%s\" is a multicast address: a NIC needs a unicast "
				"one, as in %s",
				q, qf, eg);
	if (!memcmp(a, none, len) || (!v6 && !memcmp(a, all, 4)))
		return ctl_fail(err, errlen,
				"NIC \"%s\": \"%s\" is the %s address, which no NIC can own: use "
				"one of its own, as in %s",
				q, qf, a[0] ? "broadcast" : "unspecified", eg);
	inet_ntop(v6 ? AF_INET6 : AF_INET, a, text, sizeof text);
	snprintf(out->addr, sizeof out->addr, "%s/%u", text, (unsigned)prefix);
	return 0;
}

/* Takes the address (the one field with a '/') out of f[0..*n), wherever it is. */
static int nic_take_addr(struct field *f, int *n, struct nic_spec *out, const char *q, char *err,
			 size_t errlen)
{
	int i, at = -1;

	for (i = 0; i < *n; i++) {
		if (!memchr(f[i].s, '/', f[i].n))
			continue;
		if (at >= 0)
			return ctl_fail(err, errlen,
					"NIC \"%s\" has more than one address: a NIC takes at most "
					"one ADDR/PREFIX",
					q);
		at = i;
	}
	if (at < 0)
		return 0;
	if (nic_addr(&f[at], out, q, err, errlen))
		return -EINVAL;
	memmove(&f[at], &f[at + 1], (size_t)(*n - at - 1) * sizeof *f);
	(*n)--;
	return 0;
}

/* Splits s into at most NIC_FIELDS fields; returns their number, or -1 if there are more. */
static int nic_split(const char *s, struct field f[NIC_FIELDS])
{
	const char *comma;
	int n = 0;

	for (;;) {
		if (n == NIC_FIELDS)
			return -1;
		comma = strchr(s, ',');
		f[n].s = s;
		f[n++].n = comma ? (size_t)(comma - s) : strlen(s);
		if (!comma)
			return n;
		s = comma + 1;
	}
}

/* Sets b, v, m, d to the bridge, VLAN, MAC and driver fields (or NULL), as minimega does. */
static void nic_roles(struct field *f, int n, struct field **b, struct field **v, struct field **m,
		      struct field **d)
{
	*b = *v = *m = *d = NULL;
	if (n == 1) {
		*v = &f[0];
	} else if (n == 2) {
		if (field_is_mac(&f[1]))
			*v = &f[0], *m = &f[1];
		else if (field_is_number(&f[0]))
			*v = &f[0], *d = &f[1];
		else
			*b = &f[0], *v = &f[1];
	} else if (n == 3) {
		if (field_is_mac(&f[2]))
			*b = &f[0], *v = &f[1], *m = &f[2];
		else if (field_is_mac(&f[1]))
			*v = &f[0], *m = &f[1], *d = &f[2];
		else
			*b = &f[0], *v = &f[1], *d = &f[2];
	} else {
		*b = &f[0], *v = &f[1], *m = &f[2], *d = &f[3];
	}
}

int value_nic(const char *s, struct nic_spec *out, char *err, size_t errlen)
{
	struct nic_spec nic;
	struct field f[NIC_FIELDS], *b, *v, *m, *d;
	char q[80], qb[80];
	int n, i;

	memset(&nic, 0, sizeof nic);
	if (!s || !*s)
		return ctl_fail(err, errlen, "an empty NIC spec: " NIC_HINT);
	ctl_quote(s, strlen(s), q, sizeof q);
	n = nic_split(s, f);
	for (i = 0; i < n; i++)
		if (f[i].n == 0)
			return ctl_fail(err, errlen, "NIC \"%s\" has an empty field: " NIC_HINT, q);
	if (nic_take_addr(f, &n, &nic, q, err, errlen))
		return -EINVAL;
	if (n < 0 || n > 4)
		return ctl_fail(
		    err, errlen,
		    "NIC \"%s\" has too many fields: up to 4, or 5 with an address: " NIC_HINT, q);
	if (n == 0) /* the spec was an address alone */
		return ctl_fail(err, errlen, "NIC \"%s\" has an address but no VLAN: " NIC_HINT, q);
	nic_roles(f, n, &b, &v, &m, &d);
	if (b && !nic_bridge(b, &nic))
		return ctl_fail(err, errlen,
				"NIC \"%s\": \"%s\" is not a bridge name: use 1 to 15 letters, "
				"digits, '.', '_' or '-'",
				q, ctl_quote(b->s, b->n, qb, sizeof qb));
	if (nic_vlan(v, &nic, q, err, errlen) || (m && nic_mac(m, &nic, q, err, errlen)) ||
	    (d && nic_driver(d, &nic, q, err, errlen)))
		return -EINVAL;
	if (out)
		*out = nic;
	return 0;
}

int value_net(const char *s, char *err, size_t errlen)
{
	const char *cur = s ? s : "", *t;
	char buf[256], q[80];
	struct nic_spec nic;
	size_t n;

	while ((t = ctl_token(&cur, &n))) {
		if (n >= sizeof buf)
			return ctl_fail(err, errlen, "NIC \"%s\" is too long to be a NIC spec",
					ctl_quote(t, n, q, sizeof q));
		memcpy(buf, t, n);
		buf[n] = '\0';
		if (value_nic(buf, &nic, err, errlen))
			return -EINVAL;
	}
	return 0;
}
