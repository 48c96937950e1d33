/* ctl/: the value_* checkers. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ctl/ctl.h"
#include "tests/unit/tap.h"

/* want: NULL = must succeed; "~text" = must fail with text somewhere in the message;
 * anything else = must fail with exactly that message. */
static void expect(int rc, const char *err, const char *want, const char *what)
{
	if (!want) {
		ok(rc == 0, "%s: accepted", what);
		if (rc)
			printf("#   error: %s\n", err);
	} else if (want[0] == '~') {
		ok(rc == -EINVAL && strstr(err, want + 1), "%s: refused (%s)", what, want + 1);
		if (rc != -EINVAL || !strstr(err, want + 1))
			printf("#   rc %d, error: %s\n", rc, err);
	} else {
		ok(rc == -EINVAL, "%s: refused", what);
		is_str(err, want, "%s: message", what);
	}
}

/* Test labels go into TAP lines: no raw control characters there. */
static const char *label(const char *s)
{
	static char buf[4][96];
	static int k;
	char *b = buf[k++ % 4];
	size_t i;

	for (i = 0; s && s[i] && i < sizeof buf[0] - 1; i++)
		b[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	b[i] = '\0';
	return b;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define K 1024ULL
#define M (K * K)
#define G (M * K)
#define T (G * K)
#define SIZE_HINT "use a number with an optional K, M, G or T suffix (512M, 2G)"

static void test_sizes(void)
{
	static const struct {
		const char *s;
		uint64_t bytes;
		const char *err;
	} cases[] = {
	    {"512M", 512 * M, NULL},
	    {"2G", 2 * G, NULL},
	    {"1.5G", 3 * G / 2, NULL},
	    {"0.5G", G / 2, NULL},
	    {"64k", 64 * K, NULL},
	    {"64K", 64 * K, NULL},
	    {"1T", T, NULL},
	    {"16T", 16 * T, NULL},
	    {"16.0T", 16 * T, NULL},
	    {"16384G", 16 * T, NULL},
	    {"16777216", 16 * T, NULL},
	    {"17592186044416B", 16 * T, NULL},
	    {"512MiB", 512 * M, NULL},
	    {"2GB", 2 * G, NULL},
	    {"1kib", K, NULL},
	    {"1024", G, NULL},
	    {"1", M, NULL},
	    {"1.5", 3 * M / 2, NULL},
	    {"100B", 100, NULL},
	    {"007M", 7 * M, NULL},
	    {"1.0000009G", G, NULL}, /* digits past the sixth are dropped */
	    {"0.1K", 102, NULL},     /* rounded down to whole bytes */
	    {"12Q", 0, "\"12Q\" is not a size: " SIZE_HINT},
	    {"17T", 0, "\"17T\" is too large: sizes go up to 16T"},
	    {"16.5T", 0, "~is too large"},
	    {"16385G", 0, "~is too large"},
	    {"16777217", 0, "~is too large"},
	    {"17592186044417B", 0, "~is too large"},
	    {"99999999999999999999", 0, "~is too large"},
	    {"99999999999999999999K", 0, "~is too large"},
	    {"0", 0, "\"0\" is too small: a size must be more than zero"},
	    {"0G", 0, "~more than zero"},
	    {"0.0000001G", 0, "~more than zero"},
	    {"0B", 0, "~more than zero"},
	    {"-1", 0, "\"-1\" is not a size: sizes cannot be negative"},
	    {"-1G", 0, "~cannot be negative"},
	    {"", 0, "\"\" is not a size: " SIZE_HINT},
	    {"G", 0, "~is not a size"},
	    {"1.G", 0, "~is not a size"},
	    {".5G", 0, "~is not a size"},
	    {"1e3", 0, "~is not a size"},
	    {"5 G", 0, "~is not a size"},
	    {" 5G", 0, "~is not a size"},
	    {"5G ", 0, "~is not a size"},
	    {"+5G", 0, "~is not a size"},
	    {"5iB", 0, "~is not a size"},
	    {"5Gi", 0, "~is not a size"},
	    {"5GiBs", 0, "~is not a size"},
	    {"5MB5", 0, "~is not a size"},
	    {"1.2.3M", 0, "~is not a size"},
	    {"0x10M", 0, "~is not a size"},
	    {"5\nG", 0, "\"5\\nG\" is not a size: " SIZE_HINT},
	};
	char err[256], what[64];
	uint64_t b;
	size_t i;
	int rc;

	for (i = 0; i < N(cases); i++) {
		snprintf(what, sizeof what, "size \"%s\"", label(cases[i].s));
		b = 12345;
		err[0] = '\0';
		rc = value_size(cases[i].s, &b, err, sizeof err);
		expect(rc, err, cases[i].err, what);
		if (!cases[i].err)
			ok(b == cases[i].bytes, "%s: %llu bytes (got %llu)", what,
			   (unsigned long long)cases[i].bytes, (unsigned long long)b);
		else
			ok(b == 12345, "%s: result untouched", what);
	}
	ok(value_size(NULL, &b, err, sizeof err) == -EINVAL, "size NULL refused");
}

static void test_counts(void)
{
	static const struct {
		const char *s;
		long min, max, v;
		const char *err;
	} cases[] = {
	    {"1", 1, 256, 1, NULL},
	    {"256", 1, 256, 256, NULL},
	    {"007", 1, 256, 7, NULL},
	    {"0", 0, 8, 0, NULL},
	    {"-3", -5, 5, -3, NULL},
	    {"0", 1, 256, 0, "\"0\" is out of range: use a whole number from 1 to 256"},
	    {"300", 1, 256, 0, "\"300\" is out of range: use a whole number from 1 to 256"},
	    {"-1", 0, 8, 0, "~is out of range"},
	    {"99999999999999999999999", 0, 8, 0, "~is out of range"},
	    {"abc", 1, 256, 0, "\"abc\" is not a whole number: use one from 1 to 256"},
	    {"", 1, 256, 0, "~is not a whole number"},
	    {"-", 1, 256, 0, "~is not a whole number"},
	    {"1.5", 1, 256, 0, "~is not a whole number"},
	    {"+1", 1, 256, 0, "~is not a whole number"},
	    {" 1", 1, 256, 0, "~is not a whole number"},
	    {"1 ", 1, 256, 0, "~is not a whole number"},
	    {"0x10", 1, 256, 0, "~is not a whole number"},
	    {"1e2", 1, 256, 0, "~is not a whole number"},
	    {"--1", -5, 5, 0, "~is not a whole number"},
	};
	char err[256], what[64];
	size_t i;
	long v;
	int rc;

	for (i = 0; i < N(cases); i++) {
		snprintf(what, sizeof what, "count \"%s\" in %ld..%ld", cases[i].s, cases[i].min,
			 cases[i].max);
		v = 12345;
		rc = value_count(cases[i].s, cases[i].min, cases[i].max, &v, err, sizeof err);
		expect(rc, err, cases[i].err, what);
		if (!cases[i].err)
			ok(v == cases[i].v, "%s: value %ld", what, v);
	}
}

static void test_bools(void)
{
	static const char *yes[] = {"true", "TRUE", "True", "yes", "Yes", "on", "ON", "1"};
	static const char *no[] = {"false", "FALSE", "no", "NO", "off", "Off", "0"};
	static const char *bad[] = {"", "maybe", "2", "tru", "true ", " yes", "y", "n", "00"};
	char err[256];
	bool b;
	size_t i;

	for (i = 0; i < N(yes); i++)
		ok(value_bool(yes[i], &b, err, sizeof err) == 0 && b, "bool %s is true", yes[i]);
	for (i = 0; i < N(no); i++)
		ok(value_bool(no[i], &b, err, sizeof err) == 0 && !b, "bool %s is false", no[i]);
	for (i = 0; i < N(bad); i++)
		ok(value_bool(bad[i], &b, err, sizeof err) == -EINVAL, "bool \"%s\" refused",
		   bad[i]);
	value_bool("maybe", &b, err, sizeof err);
	is_str(err, "\"maybe\" is not true or false: use true/false, yes/no, on/off or 1/0",
	       "bool message");
	ok(value_bool(NULL, &b, err, sizeof err) == -EINVAL, "bool NULL refused");
}

static void test_uuids(void)
{
	static const struct {
		const char *s, *err;
	} cases[] = {
	    {"123e4567-e89b-12d3-a456-426614174000", NULL},
	    {"123E4567-E89B-12D3-A456-426614174000", NULL},
	    {"00000000-0000-0000-0000-000000000000", NULL},
	    {"123e4567-e89b-12d3-a456-42661417400",
	     "\"123e4567-e89b-12d3-a456-42661417400\" is not a UUID: use 8-4-4-4-12 hex digits, "
	     "as in 123e4567-e89b-12d3-a456-426614174000"},
	    {"123e4567-e89b-12d3-a456-4266141740000", "~is not a UUID"},
	    {"123e4567e89b-12d3-a456-4266141740000", "~is not a UUID"},
	    {"123e4567-e89b-12d3-a456_426614174000", "~is not a UUID"},
	    {"123g4567-e89b-12d3-a456-426614174000", "~is not a UUID"},
	    {"123e4567-e89b-12d3-a456-42661417400 ", "~is not a UUID"},
	    {"{123e4567-e89b-12d3-a456-426614174000}", "~is not a UUID"},
	    {"", "~is not a UUID"},
	    {"-", "~is not a UUID"},
	};
	char err[256];
	size_t i;

	for (i = 0; i < N(cases); i++)
		expect(value_uuid(cases[i].s, err, sizeof err), err, cases[i].err, cases[i].s);
}

static void test_vlan_ranges(void)
{
	static const struct {
		const char *s;
		long lo, hi;
		const char *err;
	} cases[] = {
	    {"1-4094", 1, 4094, NULL},
	    {"100-200", 100, 200, NULL},
	    {"5-5", 5, 5, NULL},
	    {"0100-0200", 100, 200, NULL},
	    {"10-5", 0, 0, "\"10-5\": the range runs backwards (10 > 5)"},
	    {"0-10", 0, 0, "\"0-10\" is out of range: VLAN ids go from 1 to 4094"},
	    {"1-4095", 0, 0, "~is out of range"},
	    {"4095-4095", 0, 0, "~is out of range"},
	    {"1-99999999999999999999", 0, 0, "~is out of range"},
	    {"100", 0, 0, "\"100\" is not a VLAN range: use LO-HI, as in 100-200"},
	    {"a-b", 0, 0, "~is not a VLAN range"},
	    {"-5", 0, 0, "~is not a VLAN range"},
	    {"5-", 0, 0, "~is not a VLAN range"},
	    {"1--5", 0, 0, "~is not a VLAN range"},
	    {"1-2-3", 0, 0, "~is not a VLAN range"},
	    {" 1-2", 0, 0, "~is not a VLAN range"},
	    {"", 0, 0, "~is not a VLAN range"},
	};
	char err[256];
	size_t i;
	long lo, hi;

	for (i = 0; i < N(cases); i++) {
		lo = hi = -1;
		expect(value_vlan_range(cases[i].s, &lo, &hi, err, sizeof err), err, cases[i].err,
		       cases[i].s);
		if (!cases[i].err)
			ok(lo == cases[i].lo && hi == cases[i].hi, "vlan range %s: %ld-%ld",
			   cases[i].s, lo, hi);
	}
	ok(value_vlan_range("1-2", NULL, NULL, err, sizeof err) == 0, "vlan range: NULL outputs");
}

#define NIC_HINT                                                                                   \
	"use [BRIDGE,]VLAN[,MAC][,DRIVER][,ADDR/PREFIX], as in LAN1, mega_bridge,101,e1000 or "    \
	"LAN1,10.0.0.2/24"

/* One NIC spec: refused with err, or parsed into these fields. */
static void check_nic(const char *s, const char *bridge, const char *vlan, const char *mac,
		      const char *driver, const char *addr, const char *want_err)
{
	char err[512];
	struct nic_spec nic;
	memset(&nic, 'x', sizeof nic);
	int rc = value_nic(s, &nic, err, sizeof err);
	expect(rc, err, want_err, s);
	if (want_err)
		return;
	is_str(nic.bridge, bridge, "nic %s: bridge", s);
	is_str(nic.vlan, vlan, "nic %s: vlan", s);
	is_str(nic.mac, mac, "nic %s: mac", s);
	is_str(nic.driver, driver, "nic %s: driver", s);
	is_str(nic.addr, addr, *addr ? "nic %s: addr" : "nic %s: no addr", s);
}

static void test_nics(void)
{
	static const struct {
		const char *s, *bridge, *vlan, *mac, *driver, *err;
	} cases[] = {
	    {"100", "", "100", "", "", NULL},
	    {"LAN1", "", "LAN1", "", "", NULL},
	    {"1", "", "1", "", "", NULL},
	    {"4094", "", "4094", "", "", NULL},
	    {"0101", "", "101", "", "", NULL},
	    {"100,52:54:00:12:34:56", "", "100", "52:54:00:12:34:56", "", NULL},
	    {"LAN1,52:54:00:AB:cd:EF", "", "LAN1", "52:54:00:ab:cd:ef", "", NULL},
	    {"100,e1000", "", "100", "", "e1000", NULL},
	    {"100,ne2k_pci", "", "100", "", "ne2k_pci", NULL},
	    {"br0,100", "br0", "100", "", "", NULL},
	    {"mega_bridge,LAN1", "mega_bridge", "LAN1", "", "", NULL},
	    /* minimega's rule: a non-numeric first field of two is a bridge. */
	    {"LAN1,e1000", "LAN1", "e1000", "", "", NULL},
	    {"br0,100,52:54:00:12:34:56", "br0", "100", "52:54:00:12:34:56", "", NULL},
	    {"100,52:54:00:12:34:56,virtio-net-pci", "", "100", "52:54:00:12:34:56",
	     "virtio-net-pci", NULL},
	    {"br0,100,e1000", "br0", "100", "", "e1000", NULL},
	    {"br0,LAN1,02:00:00:00:00:01,rtl8139", "br0", "LAN1", "02:00:00:00:00:01", "rtl8139",
	     NULL},
	    {"abcdefghijklmno,1", "abcdefghijklmno", "1", "", "", NULL},
	    {"", 0, 0, 0, 0, "an empty NIC spec: " NIC_HINT},
	    {"0", 0, 0, 0, 0,
	     "NIC \"0\": VLAN 0 is out of range: use 1 to 4094, or an alias name such as LAN1"},
	    {"4095", 0, 0, 0, 0, "~VLAN 4095 is out of range"},
	    {"br0,0", 0, 0, 0, 0, "~VLAN 0 is out of range"},
	    {"99999999999999999999999", 0, 0, 0, 0, "~is out of range"},
	    {"100,01:00:5e:00:00:01", 0, 0, 0, 0,
	     "NIC \"100,01:00:5e:00:00:01\": \"01:00:5e:00:00:01\" is a multicast MAC address: a "
	     "NIC needs a unicast one (the first byte must be even)"},
	    {"100,ff:ff:ff:ff:ff:ff", 0, 0, 0, 0, "~is a multicast MAC address"},
	    {"100,03:00:00:00:00:00", 0, 0, 0, 0, "~is a multicast MAC address"},
	    {"100,00:00:00:00:00:00", 0, 0, 0, 0, "~the all-zero MAC address is not usable"},
	    {"100,52:54:00:12:34", 0, 0, 0, 0,
	     "NIC \"100,52:54:00:12:34\": \"52:54:00:12:34\" is not a MAC address: use six hex "
	     "pairs, as in 52:54:00:12:34:56"},
	    {"100,52:54:00:12:34:5g", 0, 0, 0, 0, "~is not a MAC address"},
	    {"100,52:54:00:12:34:567", 0, 0, 0, 0, "~is not a MAC address"},
	    {"100,5:54:00:12:34:56:", 0, 0, 0, 0, "~is not a MAC address"},
	    {"100,52:54:00:12:34:56:", 0, 0, 0, 0, "~is not a MAC address"},
	    {"100,52-54-00-12-34-56", 0, 0, 0, 0, "~is not a MAC address"},
	    {"br0,100,52-54-00-12-34-56", 0, 0, 0, 0, "~is not a MAC address"},
	    {"br0,100,e1000,e1000", 0, 0, 0, 0, "~\"e1000\" is not a MAC address"},
	    {"100,E1000", 0, 0, 0, 0,
	     "NIC \"100,E1000\": \"E1000\" is not a NIC model: use a QEMU model name such as "
	     "e1000, virtio-net-pci or rtl8139"},
	    {"br0,100,52:54:00:12:34:56,-x", 0, 0, 0, 0, "~is not a NIC model"},
	    {"100,abcdefghijklmnopqrstuvwxyz012345", 0, 0, 0, 0, "~is not a NIC model"},
	    {"abcdefghijklmnop,1", 0, 0, 0, 0,
	     "NIC \"abcdefghijklmnop,1\": \"abcdefghijklmnop\" is not a bridge name: use 1 to 15 "
	     "letters, digits, '.', '_' or '-'"},
	    {"a:b,100", 0, 0, 0, 0, "~\"a:b\" is not a bridge name"},
	    {"br 0,100", 0, 0, 0, 0, "~is not a bridge name"},
	    {"-br,100", 0, 0, 0, 0, "~is not a bridge name"},
	    {"-lan", 0, 0, 0, 0,
	     "NIC \"-lan\": the VLAN is neither a number nor a name: \"-lan\" starts with '-': a "
	     "name starts with a letter or a digit"},
	    {"all", 0, 0, 0, 0, "~\"all\" is reserved"},
	    {"br0,100,52:54:00:12:34:56,e1000,x", 0, 0, 0, 0,
	     "NIC \"br0,100,52:54:00:12:34:56,e1000,x\" has too many fields: up to 4, or 5 with an "
	     "address: " NIC_HINT},
	    {"br0,,100", 0, 0, 0, 0, "NIC \"br0,,100\" has an empty field: " NIC_HINT},
	    {",100", 0, 0, 0, 0, "~has an empty field"},
	    {"100,", 0, 0, 0, 0, "~has an empty field"},
	    {",", 0, 0, 0, 0, "~has an empty field"},
	};
	for (size_t i = 0; i < N(cases); i++)
		check_nic(cases[i].s, cases[i].bridge, cases[i].vlan, cases[i].mac, cases[i].driver,
			  "", cases[i].err);
	char err[512];
	struct nic_spec nic;
	ok(value_nic("100", NULL, err, sizeof err) == 0, "nic: NULL out");
	ok(value_nic(NULL, &nic, err, sizeof err) == -EINVAL, "nic: NULL spec refused");
}

#define ADDR_HINT "use ADDR/PREFIX with an IPv4 or IPv6 address, as in 10.0.0.2/24 or fd00::2/64"

/* The address field: wherever it stands, the other fields keep minimega's roles. */
static void test_nic_addrs(void)
{
	static const struct {
		const char *s, *bridge, *vlan, *mac, *driver, *addr, *err;
	} cases[] = {
	    {"LAN1,10.0.0.2/24", "", "LAN1", "", "", "10.0.0.2/24", NULL},
	    {"10.0.0.2/24,LAN1", "", "LAN1", "", "", "10.0.0.2/24", NULL},
	    {"mega_bridge,LAN1,52:54:00:12:34:56,10.0.0.2/24", "mega_bridge", "LAN1",
	     "52:54:00:12:34:56", "", "10.0.0.2/24", NULL},
	    {"br0,LAN1,10.0.0.2/24,02:00:00:00:00:01,rtl8139", "br0", "LAN1", "02:00:00:00:00:01",
	     "rtl8139", "10.0.0.2/24", NULL},
	    {"br0,LAN1,02:00:00:00:00:01,rtl8139,10.0.0.2/24", "br0", "LAN1", "02:00:00:00:00:01",
	     "rtl8139", "10.0.0.2/24", NULL},
	    /* Two fields left: minimega's number rule (VLAN,DRIVER) and name rule (BRIDGE,VLAN). */
	    {"101,e1000,192.168.1.5/24", "", "101", "", "e1000", "192.168.1.5/24", NULL},
	    {"192.168.1.5/24,101,e1000", "", "101", "", "e1000", "192.168.1.5/24", NULL},
	    {"LAN1,e1000,192.168.1.5/24", "LAN1", "e1000", "", "", "192.168.1.5/24", NULL},
	    {"100,52:54:00:12:34:56,10.0.0.2/24", "", "100", "52:54:00:12:34:56", "", "10.0.0.2/24",
	     NULL},
	    {"100,10.0.0.2/24,52:54:00:12:34:56,e1000", "", "100", "52:54:00:12:34:56", "e1000",
	     "10.0.0.2/24", NULL},
	    /* An IPv6 address holds ':', yet is no MAC. */
	    {"LAN1,fd00::2/64", "", "LAN1", "", "", "fd00::2/64", NULL},
	    {"fd00::2/64,100,52:54:00:12:34:56", "", "100", "52:54:00:12:34:56", "", "fd00::2/64",
	     NULL},
	    {"LAN1,2001:db8::1/128", "", "LAN1", "", "", "2001:db8::1/128", NULL},
	    {"LAN1,fe80::1/10", "", "LAN1", "", "", "fe80::1/10", NULL},
	    /* Canonical form: inet_ntop's spelling and a plain prefix number. */
	    {"LAN1,FD00:0:0:0::2/064", "", "LAN1", "", "", "fd00::2/64", NULL},
	    {"LAN1,10.0.0.2/024", "", "LAN1", "", "", "10.0.0.2/24", NULL},
	    {"LAN1,10.0.0.1/32", "", "LAN1", "", "", "10.0.0.1/32", NULL},
	    {"LAN1,10.0.0.1/1", "", "LAN1", "", "", "10.0.0.1/1", NULL},
	    {"LAN1,223.255.255.254/8", "", "LAN1", "", "", "223.255.255.254/8", NULL},
	    {"LAN1,fd00::2/1", "", "LAN1", "", "", "fd00::2/1", NULL},
	    {"LAN1,fd00::2/128", "", "LAN1", "", "", "fd00::2/128", NULL},
	    {"LAN1,10.0.0.2/24,10.0.0.3/24", 0, 0, 0, 0, 0,
	     "NIC \"LAN1,10.0.0.2/24,10.0.0.3/24\" has more than one address: a NIC takes at most "
	     "one ADDR/PREFIX"},
	    {"10.0.0.2/24,LAN1,fd00::2/64", 0, 0, 0, 0, 0, "~has more than one address"},
	    {"10.0.0.2/24", 0, 0, 0, 0, 0,
	     "NIC \"10.0.0.2/24\" has an address but no VLAN: " NIC_HINT},
	    {"fd00::2/64", 0, 0, 0, 0, 0, "~has an address but no VLAN"},
	    {"br0,100,52:54:00:12:34:56,e1000,x,10.0.0.2/24", 0, 0, 0, 0, 0,
	     "NIC \"br0,100,52:54:00:12:34:56,e1000,x,10.0.0.2/24\" has too many fields: up to 4, "
	     "or 5 with an address: " NIC_HINT},
	    {"10.0.0.2/24,br0,100,52:54:00:12:34:56,e1000,x", 0, 0, 0, 0, 0,
	     "~has too many fields"},
	    {"LAN1,10.0.0.2/24,", 0, 0, 0, 0, 0, "~has an empty field"},
	    {",10.0.0.2/24", 0, 0, 0, 0, 0, "~has an empty field"},
	    {"LAN1,10.0.0.256/24", 0, 0, 0, 0, 0,
	     "NIC \"LAN1,10.0.0.256/24\": \"10.0.0.256/24\" is not an address: " ADDR_HINT},
	    {"LAN1,10.0.0/24", 0, 0, 0, 0, 0, "~\"10.0.0/24\" is not an address"},
	    {"LAN1,010.0.0.2/24", 0, 0, 0, 0, 0, "~is not an address"},
	    {"LAN1,/24", 0, 0, 0, 0, 0, "~\"/24\" is not an address"},
	    {"LAN1,/", 0, 0, 0, 0, 0, "~is not an address"},
	    {"LAN1,host.example/24", 0, 0, 0, 0, 0, "~is not an address"},
	    {"LAN1,fd00::2::3/64", 0, 0, 0, 0, 0, "~is not an address"},
	    {"LAN1,fe80::1%eth0/64", 0, 0, 0, 0, 0, "~is not an address"},
	    {"LAN1,52:54:00:12:34:56/24", 0, 0, 0, 0, 0, "~is not an address"},
	    {"LAN1,1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/64", 0, 0, 0, 0, 0,
	     "~is not an address"},
	    {"LAN1,10.0.0.2/", 0, 0, 0, 0, 0,
	     "NIC \"LAN1,10.0.0.2/\": \"10.0.0.2/\" has a bad prefix length: use 1 to 32 for an "
	     "IPv4 address, as in 10.0.0.2/24"},
	    {"LAN1,10.0.0.2/0", 0, 0, 0, 0, 0, "~has a bad prefix length: use 1 to 32"},
	    {"LAN1,10.0.0.2/33", 0, 0, 0, 0, 0, "~has a bad prefix length: use 1 to 32"},
	    {"LAN1,10.0.0.2/24x", 0, 0, 0, 0, 0, "~has a bad prefix length"},
	    {"LAN1,10.0.0.2/+24", 0, 0, 0, 0, 0, "~has a bad prefix length"},
	    {"LAN1,10.0.0.2/24/8", 0, 0, 0, 0, 0, "~has a bad prefix length"},
	    {"LAN1,10.0.0.2/99999999999999999999999", 0, 0, 0, 0, 0, "~has a bad prefix length"},
	    {"LAN1,fd00::2/129", 0, 0, 0, 0, 0,
	     "NIC \"LAN1,fd00::2/129\": \"fd00::2/129\" has a bad prefix length: use 1 to 128 for "
	     "an IPv6 address, as in fd00::2/64"},
	    {"LAN1,fd00::2/0", 0, 0, 0, 0, 0, "~use 1 to 128"},
	    {"LAN1,224.0.0.1/24", 0, 0, 0, 0, 0,
	     "NIC \"LAN1,224.0.0.1/24\": \"224.0.0.1/24\" is a multicast address: a NIC needs a "
	     "unicast one, as in 10.0.0.2/24"},
	    {"LAN1,239.255.255.255/8", 0, 0, 0, 0, 0, "~is a multicast address"},
	    {"LAN1,ff02::1/64", 0, 0, 0, 0, 0,
	     "NIC \"LAN1,ff02::1/64\": \"ff02::1/64\" is a multicast address: a NIC needs a "
	     "unicast one, as in fd00::2/64"},
	    {"LAN1,0.0.0.0/8", 0, 0, 0, 0, 0,
	     "NIC \"LAN1,0.0.0.0/8\": \"0.0.0.0/8\" is the unspecified address, which no NIC can "
	     "own: use one of its own, as in 10.0.0.2/24"},
	    {"LAN1,::/64", 0, 0, 0, 0, 0, "~\"::/64\" is the unspecified address"},
	    {"LAN1,255.255.255.255/32", 0, 0, 0, 0, 0,
	     "NIC \"LAN1,255.255.255.255/32\": \"255.255.255.255/32\" is the broadcast address, "
	     "which no NIC can own: use one of its own, as in 10.0.0.2/24"},
	    /* The other fields are still checked once the address is out. */
	    {"10.0.0.2/24,0", 0, 0, 0, 0, 0, "~VLAN 0 is out of range"},
	    {"LAN1,fd00::2/64,52-54-00-12-34-56", 0, 0, 0, 0, 0, "~is not a MAC address"},
	    {"100,E1000,10.0.0.2/24", 0, 0, 0, 0, 0, "~is not a NIC model"},
	};
	for (size_t i = 0; i < N(cases); i++)
		check_nic(cases[i].s, cases[i].bridge, cases[i].vlan, cases[i].mac, cases[i].driver,
			  cases[i].addr, cases[i].err);
}

static void test_nets(void)
{
	static const struct {
		const char *s, *err;
	} cases[] = {
	    {"", NULL},
	    {"   ", NULL},
	    {"100", NULL},
	    {"100  br0,200\t300,e1000 ", NULL},
	    {"100 0",
	     "NIC \"0\": VLAN 0 is out of range: use 1 to 4094, or an alias name such as LAN1"},
	    {"100 100,01:00:00:00:00:00", "~multicast"},
	    {"100,,e1000", "~has an empty field"},
	    {"LAN1,10.0.0.2/24 br0,100,fd00::2/64", NULL},
	    {"LAN1,10.0.0.2/24 100,224.0.0.1/24", "~is a multicast address"},
	};
	char err[512], big[400];
	size_t i;

	for (i = 0; i < N(cases); i++)
		expect(value_net(cases[i].s, err, sizeof err), err, cases[i].err, cases[i].s);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ok(value_net(big, err, sizeof err) == -EINVAL && strstr(err, "is too long"),
	   "net: a 399-byte word is refused (%.40s...)", err);
	ok(value_net(NULL, err, sizeof err) == 0, "net: NULL is no NICs");
}

static void test_volumes(void)
{
	static const struct {
		const char *s, *err;
	} cases[] = {
	    {"", NULL},
	    {"/a:/b", NULL},
	    {"/a:/b:ro", NULL},
	    {"/a:/b:rw /srv/data:/data", NULL},
	    {"/srv/my..data:/da..ta", NULL},
	    {"/:/", NULL},
	    {"/a/../b:/c", NULL}, /* the host side is the admin's to choose */
	    {"a:/b", "\"a:/b\": the host path must start with '/'"},
	    {":/b", "~the host path must start with '/'"},
	    {"/a:b", "\"/a:b\": the container path must start with '/'"},
	    {"/a:", "~the container path must start with '/'"},
	    {"/a", "\"/a\": use HOSTPATH:GUESTPATH[:ro|:rw], as in /srv/data:/data:ro"},
	    {"/a:/b:ro:x",
	     "\"/a:/b:ro:x\": use HOSTPATH:GUESTPATH[:ro|:rw], as in /srv/data:/data:ro "
	     "(paths cannot contain ':')"},
	    {"/a:/b:rx", "\"/a:/b:rx\": the mode must be ro or rw"},
	    {"/a:/b:", "~the mode must be ro or rw"},
	    {"/a:/b:RO", "~the mode must be ro or rw"},
	    {"/a:/../etc", "\"/a:/../etc\": the container path cannot contain '..'"},
	    {"/a:/x/..", "~cannot contain '..'"},
	    {"/a:/x/../y:ro", "~cannot contain '..'"},
	    {"/a:/b /c", "~\"/c\""},
	};
	char err[256];
	size_t i;

	for (i = 0; i < N(cases); i++)
		expect(value_volumes(cases[i].s, err, sizeof err), err, cases[i].err, cases[i].s);
}

static void test_tags(void)
{
	static const struct {
		const char *s, *err;
	} cases[] = {
	    {"", NULL},
	    {"role=web", NULL},
	    {"a=1 b=2", NULL},
	    {"  a=1\tb=2  ", NULL},
	    {"a=", NULL},
	    {"a=b=c", NULL},
	    {"ab=1 a=2 abc=3", NULL},
	    {"role", "tag \"role\" has no '=': use KEY=VALUE pairs separated by spaces, as in "
		     "role=web"},
	    {"a=1 b", "~tag \"b\" has no '='"},
	    {"=x", "tag \"=x\": the key is not a valid name: a name cannot be empty: use 1 to 63 "
		   "letters, digits, '.', '_' or '-'"},
	    {"-a=1", "~the key is not a valid name"},
	    {"a/b=1", "~contains '/'"},
	    {"a=1 a=2", "the tag \"a\" is set more than once"},
	    {"a=1 b=2 a=3", "~the tag \"a\" is set more than once"},
	    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1",
	     "~the key is longer than 63 bytes"},
	};
	char err[256];
	size_t i;

	for (i = 0; i < N(cases); i++)
		expect(value_tags(cases[i].s, err, sizeof err), err, cases[i].err, cases[i].s);
}

/* value_line: a write's bytes, before any parsing. */
static void test_lines(void)
{
	static const struct {
		const char *s;
		size_t len, max;
		int rc;
		size_t textlen;
		const char *err;
	} cases[] = {
	    {"2G\n", 3, 10, 0, 2, NULL},
	    {"2G", 2, 10, 0, 2, NULL},
	    {"\n", 1, 10, 0, 0, NULL},
	    {"", 0, 10, 0, 0, NULL},
	    {"0123456789\n", 11, 10, 0, 10, NULL},
	    {"0123456789a", 11, 10, -EFBIG, 0,
	     "the value is 11 bytes long: this file holds at most 10"},
	    {"1G\0garbage", 10, 100, -EINVAL, 0,
	     "the value holds the control byte '\\x00' at byte 3: a value is printable text on "
	     "one line"},
	    {"1G\n\n", 4, 100, -EINVAL, 0,
	     "the text written has more than one line (a newline at byte 3): one value per file"},
	    {"a\nb", 3, 100, -EINVAL, 0, "~a newline at byte 2"},
	    {"1G\r\n", 4, 100, -EINVAL, 0, "~'\\r' at byte 3"},
	    {"\x1b[2J", 4, 100, -EINVAL, 0, "~'\\x1b' at byte 1"},
	    {"a\tb", 3, 100, -EINVAL, 0, "~'\\t' at byte 2"},
	    {"a\x7f", 2, 100, -EINVAL, 0, "~'\\x7f' at byte 2"},
	    {"caf\xc3\xa9", 5, 100, 0, 5, NULL},
	};
	char err[256];
	size_t i, tl;
	int rc;

	for (i = 0; i < N(cases); i++) {
		tl = 99;
		err[0] = '\0';
		rc = value_line(cases[i].s, cases[i].len, cases[i].max, &tl, err, sizeof err);
		ok(rc == cases[i].rc, "line %zu: rc %d", i, cases[i].rc);
		if (!rc)
			ok(tl == cases[i].textlen, "line %zu: text is %zu bytes", i,
			   cases[i].textlen);
		else if (cases[i].err[0] == '~')
			ok(strstr(err, cases[i].err + 1) != NULL, "line %zu: says %s (%s)", i,
			   cases[i].err + 1, err);
		else
			is_str(err, cases[i].err, "line %zu: the reason", i);
	}
}

/* ctl_escape: what a log line may hold. */
static void test_escape(void)
{
	static const struct {
		const char *s;
		size_t n, len;
		const char *want;
	} cases[] = {
	    {"plain text", 10, 64, "plain text"},
	    {"a\nb", 3, 64, "a\\nb"},
	    {"x\n2026-01-01T00:00:00Z forged", 29, 64, "x\\n2026-01-01T00:00:00Z forged"},
	    {"\x1b[31mred", 8, 64, "\\x1b[31mred"},
	    {"back\\slash", 10, 64, "back\\\\slash"},
	    {"\"quoted\"", 8, 64, "\"quoted\""},
	    {"nul\0in", 6, 64, "nul\\x00in"},
	    {"t\tr\r", 4, 64, "t\\tr\\r"},
	    {"del\x7f", 4, 64, "del\\x7f"},
	    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, 64,
	     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
	    {"c1 \xc2\x9b", 5, 64, "c1 \\xc2\\x9b"},
	    {"bad \xff\xc3", 6, 64, "bad \\xff\\xc3"},
	    {"overlong \xc0\xaf \xe0\x80\xaf", 15, 64,
	     "overlong \\xc0\\xaf \\xe0\\x80\\xaf"},
	    {"surrogate \xed\xa0\x80", 13, 64, "surrogate \\xed\\xa0\\x80"},
	    {"0123456789", 10, 11, "0123456789"},
	    {"0123456789", 10, 10, "012345..."},
	    {"\n\n\n\n", 4, 8, "\\n\\n..."},
	    {"", 0, 1, ""},
	};
	char out[64];
	size_t i, n;

	for (i = 0; i < N(cases); i++) {
		memset(out, 'Z', sizeof out);
		n = ctl_escape(cases[i].s, cases[i].n, out, cases[i].len);
		is_str(out, cases[i].want, "escape %zu", i);
		ok(n == strlen(out) && n < cases[i].len, "escape %zu: length %zu fits", i, n);
	}
}

int main(void)
{
	test_sizes();
	test_counts();
	test_bools();
	test_uuids();
	test_vlan_ranges();
	test_nics();
	test_nic_addrs();
	test_nets();
	test_volumes();
	test_tags();
	test_lines();
	test_escape();
	return tap_done();
}
