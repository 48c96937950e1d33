/* The parameter table, and the checks that go with each parameter type. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/params.h"

#include "ctl/util.h"

#define BOTH (PARAM_VM | PARAM_CT)

/* a root-only switch of confinement: the two plain words, nothing that could be misread */
static const char *const truefalse[] = {"true", "false", NULL};
static const char *const accels[] = {"auto", "kvm", "tcg", NULL};
static const char *const vgas[] = {"std", "cirrus", "vmware", "qxl", "virtio", "none", NULL};
static const char *const disk_ifs[] = {"ide", "scsi", "virtio", "sd", "none", NULL};
static const char *const schedules[] = {"fewest", "cpu", "memory", NULL};
static const char *const disk_caches[] = {"none",   "writeback",  "writethrough",
					  "unsafe", "directsync", NULL};

/* Sorted by name: readdir of config/ lists them in this order. */
const struct param params[] = {
    {"accel", PARAM_VM, PT_CHOICE, "auto", 0, 0, accels, "accelerator: auto, kvm or tcg"},
    {"append", PARAM_VM, PT_STRING, "", 0, 0, NULL, "kernel command line"},
    {"cdrom", PARAM_VM, PT_PATH, "", 0, 0, NULL, "ISO image for the CD-ROM drive", 0, PR_PATHS},
    {"colocate", BOTH, PT_WORD, "", 0, 0, NULL,
     "cluster: launch it on the host of this VM or container (empty: anywhere)"},
    {"coschedule", BOTH, PT_COUNT, "", 0, 100000, NULL,
     "cluster: at most this many others on its host (empty: no limit)"},
    {"cpu", PARAM_VM, PT_WORD, "max", 0, 0, NULL, "QEMU CPU model (-cpu)"},
    {"disk", PARAM_VM, PT_PATHS, "", 0, 0, NULL,
     "disk images, space-separated, each path[,interface][,cache]", PARAM_LIST_MAX, PR_PATHS},
    {"fifo", PARAM_CT, PT_COUNT, "0", 0, 64, NULL, "number of named pipes in fifo/"},
    {"filesystem", PARAM_CT, PT_PATH, "busybox", 0, 0, NULL,
     "root filesystem directory (default: the busybox image ./setup builds)", 0, PR_PATHS},
    {"host", BOTH, PT_WORD, "", 0, 0, NULL, "cluster host to run on (empty: any)"},
    {"hostname", PARAM_CT, PT_HOSTNAME, "", 0, 0, NULL, "hostname (empty: the name)"},
    {"init", PARAM_CT, PT_STRING, "/init", 0, 0, NULL, "command run as pid 1"},
    {"initrd", PARAM_VM, PT_PATH, "", 0, 0, NULL, "initial ramdisk for kernel", 0, PR_PATHS},
    {"kernel", PARAM_VM, PT_PATH, "", 0, 0, NULL, "kernel image to boot directly", 0, PR_PATHS},
    {"machine", PARAM_VM, PT_WORD, "pc", 0, 0, NULL, "QEMU machine type (-machine)", 0, PR_OPTIONS},
    {"memory", BOTH, PT_SIZE, "256M", 0, 0, NULL, "memory size (512M, 2G; bare number: MiB)"},
    {"net", BOTH, PT_NET, "", 0, 0, NULL,
     "NICs, space-separated, each [bridge,]VLAN[,mac][,driver]", 0, PR_NET},
    {"preinit", PARAM_CT, PT_PATH, "", 0, 0, NULL, "script run before init, as root", 0, PR_ALWAYS},
    {"privileged", PARAM_CT, PT_CHOICE, "false", 0, 0, truefalse,
     "true: no user namespace, container root is host root (only host root may set it)", 0, PR_ALWAYS},
    {"qemu", PARAM_VM, PT_WORD, "qemu-system-x86_64", 0, 0, NULL,
     "QEMU binary: a name in PATH or an absolute path", 0, PR_ALWAYS},
    {"qemu-append", PARAM_VM, PT_STRING, "", 0, 0, NULL, "extra QEMU arguments", PARAM_LIST_MAX, PR_ALWAYS},
    {"schedule", BOTH, PT_CHOICE, "fewest", 0, 0, schedules,
     "cluster: how launch picks a host: fewest objects, cpu or memory commit"},
    {"serial", PARAM_VM, PT_COUNT, "1", 1, 8, NULL,
     "serial ports: the first is the console, the others run/serialN.sock"},
    {"snapshot", BOTH, PT_BOOL, "true", 0, 0, NULL,
     "write to a private layer over the image, not to the image itself", 0, PR_ALWAYS,
     "false writes into the image itself, which vmfs opens as root whoever owns it (and other "
     "namespaces may boot)"},
    {"tags", BOTH, PT_TAGS, "", 0, 0, NULL, "key=value pairs, space-separated"},
    {"thumbnail", PARAM_VM, PT_COUNT, "320", 16, 4096, NULL,
     "largest dimension of screenshot thumbnails, in pixels"},
    {"uuid", PARAM_VM, PT_UUID, "", 0, 0, NULL, "SMBIOS UUID (empty: generated)"},
    {"vcpus", BOTH, PT_COUNT, "1", 1, 256, NULL, "number of virtual CPUs"},
    {"vga", PARAM_VM, PT_CHOICE, "std", 0, 0, vgas, "display adapter"},
    {"vnc-listen", PARAM_VM, PT_LISTEN, "none", 0, 0, NULL,
     "IPv4 address for a VNC port with a password (see vnc), or none: the run directory's socket only", 0, PR_ALWAYS},
    {"volume", PARAM_CT, PT_VOLUMES, "", 0, 0, NULL,
     "bind mounts, space-separated, each HOSTPATH:GUESTPATH[:ro|:rw]", PARAM_LIST_MAX, PR_ALWAYS},
};
const size_t nparams = sizeof params / sizeof params[0];

size_t param_max_len(const struct param *p)
{
	return p && p->maxlen ? p->maxlen : PARAM_VALUE_MAX;
}

int param_index(const char *name)
{
	size_t i;

	for (i = 0; name && i < nparams; i++)
		if (strcmp(params[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int choice_find(const char *const *set, const char *s, size_t n)
{
	int i;

	for (i = 0; set[i]; i++)
		if (strlen(set[i]) == n && memcmp(set[i], s, n) == 0)
			return i;
	return -1;
}

/* "a, b or c", for messages. */
static const char *choice_list(const char *const *set, char *buf, size_t len)
{
	size_t o = 0;
	int i, k;

	buf[0] = '\0';
	for (i = 0; set[i] && o < len; i++) {
		const char *sep = ", ";
		if (i == 0)
			sep = "";
		else if (!set[i + 1])
			sep = " or ";
		k = snprintf(buf + o, len - o, "%s%s", sep, set[i]);
		o += k > 0 ? (size_t)k : 0;
	}
	return buf;
}

static int check_path(const char *s, size_t n, char *err, size_t errlen)
{
	if (n >= PATH_MAX)
		return ctl_fail(err, errlen, "the path is longer than %d bytes", PATH_MAX - 1);
	return 0;
}

/* One disk: "path[,interface][,cache]". With two fields the second is an interface if it
 * names one, else a cache mode ("none" is both; it means the interface there). */
static int check_disk(const char *d, size_t n, char *err, size_t errlen)
{
	const char *c1 = memchr(d, ',', n), *c2, *end = d + n;
	char q[80], qf[80], ifs[80], caches[80];
	size_t np = c1 ? (size_t)(c1 - d) : n, n1, n2;

	ctl_quote(d, n, q, sizeof q);
	if (np == 0)
		return ctl_fail(err, errlen, "\"%s\": the path is missing", q);
	if (check_path(d, np, err, errlen))
		return -EINVAL;
	if (!c1)
		return 0;
	c2 = memchr(c1 + 1, ',', (size_t)(end - c1 - 1));
	n1 = (size_t)((c2 ? c2 : end) - c1 - 1);
	n2 = c2 ? (size_t)(end - c2 - 1) : 0;
	choice_list(disk_ifs, ifs, sizeof ifs);
	choice_list(disk_caches, caches, sizeof caches);
	if (c2 && memchr(c2 + 1, ',', n2))
		return ctl_fail(err, errlen, "\"%s\": use path[,interface][,cache]", q);
	if (!c2 && choice_find(disk_ifs, c1 + 1, n1) < 0 &&
	    choice_find(disk_caches, c1 + 1, n1) < 0)
		return ctl_fail(err, errlen,
				"\"%s\": \"%s\" is neither an interface (%s) nor a cache mode "
				"(%s)",
				q, ctl_quote(c1 + 1, n1, qf, sizeof qf), ifs, caches);
	if (c2 && choice_find(disk_ifs, c1 + 1, n1) < 0)
		return ctl_fail(err, errlen, "\"%s\": \"%s\" is not an interface: use %s", q,
				ctl_quote(c1 + 1, n1, qf, sizeof qf), ifs);
	if (c2 && choice_find(disk_caches, c2 + 1, n2) < 0)
		return ctl_fail(err, errlen, "\"%s\": \"%s\" is not a cache mode: use %s", q,
				ctl_quote(c2 + 1, n2, qf, sizeof qf), caches);
	return 0;
}

static int check_disks(const char *s, char *err, size_t errlen)
{
	const char *cur = s, *d;
	size_t n;

	while ((d = ctl_token(&cur, &n)))
		if (check_disk(d, n, err, errlen))
			return -EINVAL;
	return 0;
}

static int check_word(const char *s, char *err, size_t errlen)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "0123456789._,=+/:-";
	char q[80];

	if (strspn(s, ok) == strlen(s))
		return 0;
	return ctl_fail(err, errlen,
			"\"%s\" is not a single word: use letters, digits and . _ , = + / : -",
			ctl_quote(s, strlen(s), q, sizeof q));
}

static int check_choice(const struct param *p, const char *s, char *err, size_t errlen)
{
	char q[80], list[160];

	if (choice_find(p->choices, s, strlen(s)) >= 0)
		return 0;
	return ctl_fail(err, errlen, "\"%s\" is not one of the choices: use %s",
			ctl_quote(s, strlen(s), q, sizeof q),
			choice_list(p->choices, list, sizeof list));
}

/* A value is one line of a file: a newline or other control character in it is a mistake
 * (or an attempt to smuggle a second line into a config file or a QEMU argument). */
static int check_line(const char *s, char *err, size_t errlen)
{
	char c[8];
	size_t i;

	for (i = 0; s[i]; i++) {
		unsigned char b = (unsigned char)s[i];
		if (b == '\n')
			return ctl_fail(
			    err, errlen,
			    "the value holds a newline (at byte %zu): a value is one line", i + 1);
		if (b < 0x20 || b == 0x7f)
			return ctl_fail(err, errlen,
					"the value holds the control character '%s' (at byte %zu): "
					"use printable text",
					ctl_quote(s + i, 1, c, sizeof c), i + 1);
	}
	return 0;
}

static int check_type(const struct param *p, const char *s, char *err, size_t errlen)
{
	uint64_t bytes;
	long n;
	bool b;

	switch (p->type) {
	case PT_STRING:
		return 0;
	case PT_SIZE:
		return value_size(s, &bytes, err, errlen);
	case PT_COUNT:
		return value_count(s, p->min, p->max, &n, err, errlen);
	case PT_BOOL:
		return value_bool(s, &b, err, errlen);
	case PT_PATH:
		return check_path(s, strlen(s), err, errlen);
	case PT_PATHS:
		return check_disks(s, err, errlen);
	case PT_NET:
		return value_net(s, err, errlen);
	case PT_CHOICE:
		return check_choice(p, s, err, errlen);
	case PT_UUID:
		return value_uuid(s, err, errlen);
	case PT_HOSTNAME:
		return name_check(s, err, errlen);
	case PT_VOLUMES:
		return value_volumes(s, err, errlen);
	case PT_TAGS:
		return value_tags(s, err, errlen);
	case PT_WORD:
		return check_word(s, err, errlen);
	case PT_LISTEN:
		return value_listen(s, err, errlen);
	}
	return ctl_fail(err, errlen, "parameter type %d is unknown", (int)p->type);
}

/* Errors name the parameter: "memory: "12Q" is not a size: ...". */
int param_check(const struct param *p, const char *value, char *err, size_t errlen)
{
	char why[512];
	int rc;

	if (!p)
		return ctl_fail(err, errlen, "no such parameter");
	if (!value || !*value)
		return 0;
	if (strlen(value) > param_max_len(p)) {
		ctl_fail(err, errlen, "%s: the value is %zu bytes long: %s takes at most %zu",
			 p->name, strlen(value), p->name, param_max_len(p));
		return -EFBIG;
	}
	rc = check_line(value, why, sizeof why);
	if (!rc)
		rc = check_type(p, value, why, sizeof why);
	if (rc)
		ctl_fail(err, errlen, "%s: %s", p->name, why);
	return rc;
}

int param_paths(const struct param *p, const char *value, int (*fn)(const char *path, void *arg),
		void *arg)
{
	const char *cur = value, *d, *comma;
	char path[PATH_MAX];
	size_t n;
	int rc;

	if (!p || !value || !*value || (p->type != PT_PATH && p->type != PT_PATHS))
		return 0;
	if (p->type == PT_PATH)
		return fn(value, arg);
	while ((d = ctl_token(&cur, &n))) {
		comma = memchr(d, ',', n);
		n = comma ? (size_t)(comma - d) : n;
		if (n >= sizeof path)
			return -ENAMETOOLONG;
		memcpy(path, d, n);
		path[n] = '\0';
		if ((rc = fn(path, arg)))
			return rc;
	}
	return 0;
}

static bool same_bool(const char *a, const char *b)
{
	bool x, y;
	char err[160];
	return !value_bool(a, &x, err, sizeof(err)) && !value_bool(b, &y, err, sizeof(err)) && x == y;
}

static int absolute_path(const char *path, void *arg)
{
	(void)arg;
	return path[0] == '/';
}

bool param_reaches_host(const struct param *p, const char *value, char *why, size_t whylen)
{
	if (!p || !value || !*value)
		return false;
	switch (p->reach) {
	case PR_ALWAYS:
		if (!strcmp(value, p->def) || (p->type == PT_BOOL && same_bool(value, p->def)))
			return false;
		snprintf(why, whylen, "%s reaches the host: %s", p->name,
			 p->reach_why ? p->reach_why : p->help);
		return true;
	case PR_PATHS:
		if (param_paths(p, value, absolute_path, NULL) <= 0)
			return false;
		snprintf(why, whylen, "%s names an absolute path, a file outside the image store: "
			 "name images by their path in images/", p->name);
		return true;
	case PR_OPTIONS:
		if (!strchr(value, ','))
			return false;
		snprintf(why, whylen, "%s has options after a comma, which may name host files: "
			 "write the bare name", p->name);
		return true;
	case PR_NET:
	case PR_NONE:
		break;
	}
	return false;
}
