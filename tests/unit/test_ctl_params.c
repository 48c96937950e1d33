/* ctl/: the params[] table, param_index, param_check, param_paths. */
#include <errno.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/params.h"
#include "tests/unit/tap.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define BOTH (PARAM_VM | PARAM_CT)

static void test_table(void)
{
	static const struct {
		const char *name;
		unsigned applies;
		enum param_type type;
		const char *def;
	} want[] = {
	    {"accel", PARAM_VM, PT_CHOICE, "auto"},
	    {"append", PARAM_VM, PT_STRING, ""},
	    {"cdrom", PARAM_VM, PT_PATH, ""},
	    {"colocate", BOTH, PT_WORD, ""},
	    {"coschedule", BOTH, PT_COUNT, ""},
	    {"cpu", PARAM_VM, PT_WORD, "max"},
	    {"disk", PARAM_VM, PT_PATHS, ""},
	    {"fifo", PARAM_CT, PT_COUNT, "0"},
	    {"filesystem", PARAM_CT, PT_PATH, "busybox"},
	    {"host", BOTH, PT_WORD, ""},
	    {"hostname", PARAM_CT, PT_HOSTNAME, ""},
	    {"init", PARAM_CT, PT_STRING, "/init"},
	    {"initrd", PARAM_VM, PT_PATH, ""},
	    {"kernel", PARAM_VM, PT_PATH, ""},
	    {"machine", PARAM_VM, PT_WORD, "pc"},
	    {"memory", BOTH, PT_SIZE, "256M"},
	    {"net", BOTH, PT_NET, ""},
	    {"preinit", PARAM_CT, PT_PATH, ""},
	    {"privileged", PARAM_CT, PT_CHOICE, "false"},
	    {"qemu", PARAM_VM, PT_WORD, "qemu-system-x86_64"},
	    {"qemu-append", PARAM_VM, PT_STRING, ""},
	    {"schedule", BOTH, PT_CHOICE, "fewest"},
	    {"serial", PARAM_VM, PT_COUNT, "1"},
	    {"snapshot", BOTH, PT_BOOL, "true"},
	    {"tags", BOTH, PT_TAGS, ""},
	    {"thumbnail", PARAM_VM, PT_COUNT, "320"},
	    {"uuid", PARAM_VM, PT_UUID, ""},
	    {"vcpus", BOTH, PT_COUNT, "1"},
	    {"vga", PARAM_VM, PT_CHOICE, "std"},
	    {"vnc-listen", PARAM_VM, PT_LISTEN, "none"},
	    {"volume", PARAM_CT, PT_VOLUMES, ""},
	};
	char err[256];
	size_t i;

	ok(nparams == N(want), "%zu parameters", nparams);
	for (i = 0; i < nparams && i < N(want); i++) {
		const struct param *p = &params[i];
		ok(!strcmp(p->name, want[i].name) && p->applies == want[i].applies &&
		       p->type == want[i].type && !strcmp(p->def, want[i].def),
		   "param %s: applies, type, default", want[i].name);
		ok(i == 0 || strcmp(params[i - 1].name, p->name) < 0, "param %s: sorted", p->name);
		ok(p->help && *p->help && !strchr(p->help, '\n'), "param %s: help", p->name);
		ok(param_index(p->name) == (int)i, "param %s: param_index", p->name);
		ok(param_check(p, p->def, err, sizeof err) == 0, "param %s: default passes",
		   p->name);
		ok(p->type != PT_CHOICE || p->choices, "param %s: choices", p->name);
		ok(p->type != PT_COUNT || p->min <= p->max, "param %s: bounds", p->name);
	}
	ok(param_index("nope") == -1 && param_index("") == -1 && param_index(NULL) == -1 &&
	       param_index("Memory") == -1 && param_index("mem") == -1,
	   "param_index: unknown names");
}

static const struct param *P(const char *name)
{
	int i = param_index(name);

	return i < 0 ? NULL : &params[i];
}

/* err: NULL = accepted; "~text" = refused with text in the message; else the message. */
static const struct {
	const char *param, *value, *err;
} check_cases[] = {
    {"memory", "", NULL},
    {"memory", "2G", NULL},
    {"memory", "12Q",
     "memory: \"12Q\" is not a size: use a number with an optional K, M, G or T suffix (512M, "
     "2G)"},
    {"memory", "17T", "~is too large"},
    {"append", "root=/dev/sda console=ttyS0 quiet", NULL},
    {"append", "a\nb", "append: the value holds a newline (at byte 2): a value is one line"},
    {"append", "a\tb",
     "append: the value holds the control character '\\t' (at byte 2): use printable text"},
    {"append", "x\x01", "~the control character '\\x01' (at byte 2)"},
    {"append", "x\x7f", "~the control character '\\x7f'"},
    {"append", "x\r", "~the control character '\\r'"},
    {"append", "caf\xc3\xa9 \"quoted\"", NULL},
    {"memory", "2G\n", "~holds a newline"},
    {"vcpus", "1", NULL},
    {"vcpus", "256", NULL},
    {"vcpus", "0", "vcpus: \"0\" is out of range: use a whole number from 1 to 256"},
    {"vcpus", "257", "~out of range"},
    {"vcpus", "two", "~is not a whole number"},
    {"serial", "0", "~from 1 to 8"},
    {"serial", "1", NULL},
    {"serial", "8", NULL},
    {"serial", "9", "~from 1 to 8"},
    {"vnc-listen", "127.0.0.1", NULL},
    {"vnc-listen", "none", NULL},
    {"vnc-listen", "0.0.0.0", NULL},
    {"vnc-listen", "localhost", "~not an IPv4 address"},
    {"vnc-listen", "10.0.0.256", "~not an IPv4 address"},
    {"thumbnail", "15", "~from 16 to 4096"},
    {"thumbnail", "16", NULL},
    {"thumbnail", "4096", NULL},
    {"thumbnail", "4097", "~out of range"},
    {"fifo", "64", NULL},
    {"fifo", "65", "~from 0 to 64"},
    {"snapshot", "no", NULL},
    {"snapshot", "OFF", NULL},
    {"snapshot", "nah", "~is not true or false"},
    {"privileged", "true", NULL},
    {"privileged", "false", NULL},
    {"privileged", "yes", "privileged: \"yes\" is not one of the choices: use true or false"},
    {"privileged", "1", "~is not one of the choices"},
    {"accel", "kvm", NULL},
    {"accel", "tcg", NULL},
    {"accel", "xen", "accel: \"xen\" is not one of the choices: use auto, kvm or tcg"},
    {"accel", "KVM", "~is not one of the choices"},
    {"accel", "kvm ", "~is not one of the choices"},
    {"vga", "virtio", NULL},
    {"vga", "none", NULL},
    {"vga", "VGA",
     "vga: \"VGA\" is not one of the choices: use std, cirrus, vmware, qxl, virtio or none"},
    {"machine", "pc-q35-8.2", NULL},
    {"machine", "q35,accel=kvm", NULL},
    {"machine", "pc q35",
     "machine: \"pc q35\" is not a single word: use letters, digits and . _ , = + / : -"},
    {"machine", "pc;reboot", "~is not a single word"},
    {"cpu", "host,+vmx,-svm", NULL},
    {"cpu", "Skylake-Client-v4", NULL},
    {"qemu", "/usr/local/bin/qemu-system-x86_64", NULL},
    {"qemu", "qemu-system-aarch64", NULL},
    {"qemu", "qemu $(id)", "~is not a single word"},
    {"host", "node1.lab:22", NULL},
    {"host", "node 1", "~is not a single word"},
    {"uuid", "123e4567-e89b-12d3-a456-426614174000", NULL},
    {"uuid", "123e4567", "~is not a UUID"},
    {"hostname", "web1", NULL},
    {"hostname", "-x", "~starts with '-'"},
    {"hostname", "a b", "~contains ' '"},
    {"init", "/sbin/init --log-level=debug", NULL},
    {"kernel", "/boot/vmlinuz", NULL},
    {"kernel", "vmlinuz-6.1", NULL},
    {"kernel", "/My Images/vmlinuz", NULL},
    {"filesystem", "rootfs/busybox", NULL},
    {"disk", "a.qcow2", NULL},
    {"disk", "/img/a.qcow2,virtio", NULL},
    {"disk", "a.img,writeback", NULL},
    {"disk", "a.img,none", NULL},
    {"disk", "a.img,sd,directsync", NULL},
    {"disk", "a.img,none,none", NULL},
    {"disk", "a.img  b.img,ide c.img,scsi,unsafe", NULL},
    {"disk", "a.img\tb.img", "~control character '\\t'"},
    {"disk", "a.img,floppy",
     "disk: \"a.img,floppy\": \"floppy\" is neither an interface (ide, scsi, virtio, sd or "
     "none) nor a cache mode (none, writeback, writethrough, unsafe or directsync)"},
    {"disk", "a.img,writeback,ide",
     "disk: \"a.img,writeback,ide\": \"writeback\" is not an interface: use ide, scsi, "
     "virtio, sd or none"},
    {"disk", "a.img,virtio,bogus",
     "disk: \"a.img,virtio,bogus\": \"bogus\" is not a cache mode: use none, writeback, "
     "writethrough, unsafe or directsync"},
    {"disk", "a.img,virtio,none,x", "disk: \"a.img,virtio,none,x\": use path[,interface][,cache]"},
    {"disk", ",virtio", "disk: \",virtio\": the path is missing"},
    {"disk", "a.img,", "~\"\" is neither an interface"},
    {"disk", "a.img,,none", "~\"\" is not an interface"},
    {"disk", "a.img,VIRTIO", "~is neither an interface"},
    {"disk", "ok.img bad.img,floppy", "~\"bad.img,floppy\""},
    {"net", "100 br0,200,52:54:00:12:34:56", NULL},
    {"net", "0",
     "net: NIC \"0\": VLAN 0 is out of range: use 1 to 4094, or an alias name such "
     "as LAN1"},
    {"volume", "/srv:/srv:ro /tmp/x:/x", NULL},
    {"volume", "a:b", "~the host path must start with '/'"},
    {"tags", "role=web tier=1", NULL},
    {"tags", "role", "~has no '='"},
};

static void test_check(void)
{
	char err[512], what[96];
	const struct param *p;
	size_t i, k;
	int rc;

	for (i = 0; i < N(check_cases); i++) {
		p = P(check_cases[i].param);
		snprintf(what, sizeof what, "%s=%s", check_cases[i].param, check_cases[i].value);
		for (k = 0; what[k]; k++)
			if ((unsigned char)what[k] < 0x20 || what[k] == 0x7f)
				what[k] = '?';
		err[0] = '\0';
		rc = param_check(p, check_cases[i].value, err, sizeof err);
		if (!check_cases[i].err) {
			ok(p && rc == 0, "%s: accepted", what);
			if (rc)
				printf("#   error: %s\n", err);
		} else if (check_cases[i].err[0] == '~') {
			ok(rc == -EINVAL && strstr(err, check_cases[i].err + 1), "%s: refused (%s)",
			   what, check_cases[i].err + 1);
			if (rc != -EINVAL || !strstr(err, check_cases[i].err + 1))
				printf("#   rc %d, error: %s\n", rc, err);
		} else {
			ok(rc == -EINVAL, "%s: refused", what);
			is_str(err, check_cases[i].err, "%s: message", what);
		}
	}
}

static void test_check_edges(void)
{
	static char longpath[5000];
	char err[256];
	size_t i;

	/* "" always passes, whatever the type: it means "back to the default". */
	for (i = 0; i < nparams; i++)
		ok(param_check(&params[i], "", err, sizeof err) == 0 &&
		       param_check(&params[i], NULL, err, sizeof err) == 0,
		   "param %s: empty value passes", params[i].name);
	ok(param_check(NULL, "x", err, sizeof err) == -EINVAL, "param_check(NULL) refused");
	memset(longpath, 'a', sizeof longpath - 1);
	longpath[0] = '/';
	ok(param_check(P("kernel"), longpath, err, sizeof err) == -EFBIG &&
	       !strcmp(err, "kernel: the value is 4999 bytes long: kernel takes at most 4096"),
	   "kernel: a 4999-byte path is refused (%s)", err);
	ok(param_check(P("disk"), longpath, err, sizeof err) == -EINVAL, "disk: long path refused");
	longpath[PARAM_VALUE_MAX] = '\0';
	ok(param_check(P("kernel"), longpath, err, sizeof err) == -EINVAL &&
	       !strcmp(err, "kernel: the path is longer than 4095 bytes"),
	   "kernel: a 4096-byte path is refused (%s)", err);
	ok(param_check(P("append"), longpath, err, sizeof err) == 0, "append: 4096 bytes are fine");
	ok(param_check(P("memory"), "12Q", err, 10) == -EINVAL && !strcmp(err, "memory: \""),
	   "message cut to errlen");
}

struct collect {
	char buf[256];
	int calls, stop_at;
};

static int collect(const char *path, void *arg)
{
	struct collect *c = arg;
	size_t o = strlen(c->buf);

	snprintf(c->buf + o, sizeof c->buf - o, "%s%s", o ? "|" : "", path);
	return ++c->calls == c->stop_at ? 7 : 0;
}

static void test_paths(void)
{
	static const struct {
		const char *param, *value, *paths;
	} cases[] = {
	    {"disk", "a.img", "a.img"},
	    {"disk", "a.img /x/b.img,virtio,none\tc.img,ide ", "a.img|/x/b.img|c.img"},
	    {"disk", "", ""},
	    {"kernel", "/boot/vmlinuz", "/boot/vmlinuz"},
	    {"kernel", "/My Images/k", "/My Images/k"},
	    {"initrd", "initrd.img", "initrd.img"},
	    {"filesystem", "rootfs", "rootfs"},
	    {"memory", "2G", ""},
	    {"append", "root=/dev/sda", ""},
	    {"volume", "/a:/b", ""},
	};
	struct collect c;
	size_t i;
	int rc;

	for (i = 0; i < N(cases); i++) {
		memset(&c, 0, sizeof c);
		rc = param_paths(P(cases[i].param), cases[i].value, collect, &c);
		ok(rc == 0, "paths %s=%s: 0", cases[i].param, cases[i].value);
		is_str(c.buf, cases[i].paths, "paths %s=%s: listed", cases[i].param,
		       cases[i].value);
	}
	memset(&c, 0, sizeof c);
	c.stop_at = 2;
	rc = param_paths(P("disk"), "a b c", collect, &c);
	ok(rc == 7 && c.calls == 2 && !strcmp(c.buf, "a|b"), "paths: stops at fn's first error");
	memset(&c, 0, sizeof c);
	ok(param_paths(NULL, "a", collect, &c) == 0 && c.calls == 0, "paths: NULL param");
	ok(param_paths(P("disk"), NULL, collect, &c) == 0 && c.calls == 0, "paths: NULL value");
}

/* Every value has a size limit: 4 KiB, 16 KiB for lists of paths and QEMU's arguments. */
static void test_limits(void)
{
	static char v[PARAM_LIST_MAX + 2];
	char err[256];
	size_t i, total = 0;

	for (i = 0; i < nparams; i++) {
		size_t want = !strcmp(params[i].name, "disk") || !strcmp(params[i].name, "volume") ||
				      !strcmp(params[i].name, "qemu-append")
				  ? PARAM_LIST_MAX
				  : PARAM_VALUE_MAX;
		ok(param_max_len(&params[i]) == want, "limit of %s: %zu", params[i].name, want);
		total += param_max_len(&params[i]) + 64;
	}
	ok(total < (1u << 20) / 2, "all values at their limits fit a state file twice over (%zu)",
	   total);
	memset(v, 'x', PARAM_VALUE_MAX);
	v[PARAM_VALUE_MAX] = '\0';
	v[0] = '/';
	ok(param_check(P("init"), v, err, sizeof err) == 0, "init of 4096 bytes: 0");
	v[PARAM_VALUE_MAX] = 'x';
	v[PARAM_VALUE_MAX + 1] = '\0';
	ok(param_check(P("init"), v, err, sizeof err) == -EFBIG, "init of 4097 bytes: -EFBIG");
	is_str(err, "init: the value is 4097 bytes long: init takes at most 4096",
	       "init of 4097 bytes: the reason");
	ok(param_check(P("memory"), v, err, sizeof err) == -EFBIG,
	   "the size is checked before the type: -EFBIG, not -EINVAL");
	memset(v, ' ', PARAM_LIST_MAX);
	v[PARAM_LIST_MAX] = '\0';
	v[0] = '-';
	ok(param_check(P("qemu-append"), v, err, sizeof err) == 0, "qemu-append of 16384 bytes: 0");
	v[PARAM_LIST_MAX] = 'x';
	v[PARAM_LIST_MAX + 1] = '\0';
	ok(param_check(P("qemu-append"), v, err, sizeof err) == -EFBIG,
	   "qemu-append of 16385 bytes: -EFBIG");
	ok(param_check(P("init"), "/init\x1b[2J", err, sizeof err) == -EINVAL,
	   "an escape code in a value: -EINVAL");
	ok(strstr(err, "control character '\\x1b'") != NULL, "and names it (%s)", err);
}

/* Which values reach the host (docs/security.md, "Who may do what"). */
static void test_reach(void)
{
	char why[512];

	ok(!param_reaches_host(P("memory"), "64G", why, sizeof why), "reach: memory is ordinary");
	ok(param_reaches_host(P("volume"), "/etc:/x", why, sizeof why), "reach: any volume");
	ok(strstr(why, "volume reaches the host") != NULL, "reach: saying which");
	ok(param_reaches_host(P("preinit"), "script", why, sizeof why),
	   "reach: preinit, even from images/");
	ok(!param_reaches_host(P("qemu"), "qemu-system-x86_64", why, sizeof why),
	   "reach: qemu's default is ordinary");
	ok(param_reaches_host(P("qemu"), "/bin/sh", why, sizeof why), "reach: another qemu");
	ok(!param_reaches_host(P("privileged"), "false", why, sizeof why) &&
	       param_reaches_host(P("privileged"), "true", why, sizeof why),
	   "reach: privileged true, not false");
	ok(!param_reaches_host(P("snapshot"), "YES", why, sizeof why) &&
	       param_reaches_host(P("snapshot"), "off", why, sizeof why),
	   "reach: snapshot off, not its default spelled YES");
	ok(!param_reaches_host(P("disk"), "a.qcow2,virtio b/c.img", why, sizeof why) &&
	       param_reaches_host(P("disk"), "a.qcow2 /dev/sda,virtio", why, sizeof why),
	   "reach: a disk by absolute path, not from images/");
	ok(param_reaches_host(P("kernel"), "/boot/vmlinuz", why, sizeof why) &&
	       !param_reaches_host(P("kernel"), "vmlinuz", why, sizeof why),
	   "reach: kernel by absolute path");
	ok(param_reaches_host(P("machine"), "pc,dumpdtb=/x", why, sizeof why) &&
	       !param_reaches_host(P("machine"), "q35", why, sizeof why),
	   "reach: machine options, not a bare type");
	ok(param_reaches_host(P("vnc-listen"), "127.0.0.1", why, sizeof why) &&
	       !param_reaches_host(P("vnc-listen"), "none", why, sizeof why),
	   "reach: vnc-listen but none");
	ok(!param_reaches_host(P("volume"), "", why, sizeof why), "reach: \"\" (the default) never");
}

int main(void)
{
	test_table();
	test_check();
	test_check_edges();
	test_paths();
	test_limits();
	test_reach();
	return tap_done();
}
