/* ctl/ — the command language: pure functions that parse and validate what users write
 * into ctl and config files. No I/O, no global state: everything here is unit-tested and
 * fuzzed. Every checker returns 0, or -EINVAL with a reason in words in err[0..errlen). */
#ifndef VMFS_CTL_H
#define VMFS_CTL_H
#include <netinet/in.h> /* INET6_ADDRSTRLEN */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NAME_MAX_LEN 63 /* bytes in a namespace, VM or container name */
#define RANGE_MAX 100000 /* most names one range may expand to */

/* Names: [A-Za-z0-9][A-Za-z0-9._-]*, 1..63 bytes, and not the reserved word "all". */
int name_check(const char *name, char *err, size_t errlen);

/* minimega's range syntax: "web[1-20]", "web[01-10]" (keeps the zero padding),
 * "a,b,c", "x[1-3,7]", "db[1-3],extra", "n[a,b]" (a list inside brackets).
 * On success *names is a malloc'd NULL-terminated array of malloc'd strings in the
 * order written, *count its length. Every name is checked with name_check; duplicates,
 * empty parts, reversed ranges and more than RANGE_MAX names are refused. */
int range_expand(const char *spec, char ***names, size_t *count, char *err, size_t errlen);
void range_free(char **names);

/* Sizes: "512M", "2G", "1.5G", "64k", "1T", with optional "iB"/"B" ("512MiB", "2GB" mean
 * binary units too); a bare number means MiB (as minimega and QEMU's -m do). Result in
 * bytes; refuses 0, negatives, junk and values over 16 TiB. */
int value_size(const char *s, uint64_t *bytes, char *err, size_t errlen);

/* What a write to a value file holds, checked before it is parsed: at most max bytes (not
 * counting one trailing newline; -EFBIG), and no NUL or other control byte but that one
 * newline (-EINVAL), so that a NUL cannot cut a value short nor a newline add a line.
 * *textlen gets the length without the trailing newline. */
int value_line(const char *buf, size_t len, size_t max, size_t *textlen, char *err,
	       size_t errlen);

/* s[0..n) for a log line: "\n", "\r", "\t" for those, "\xHH" for other control bytes
 * (C0, DEL, C1) and for bytes that are not UTF-8, "\\" for a backslash; anything else
 * (printable ASCII, valid UTF-8) as it is. So nothing written to a log can start a line of
 * its own or move a terminal's cursor, and the original bytes can be read back. Cut short
 * with "..." to fit len (NUL included); returns the bytes written. */
size_t ctl_escape(const char *s, size_t n, char *out, size_t len);

/* A decimal integer within [min, max]. */
int value_count(const char *s, long min, long max, long *out, char *err, size_t errlen);

/* A ratio like 4 or 1.5 (at most 3 decimals), in thousandths within [lo, hi]. */
int value_ratio(const char *s, uint64_t lo, uint64_t hi, uint64_t *thousandths, char *err,
		size_t errlen);

/* true/false, yes/no, on/off, 1/0 (case-insensitive). */
int value_bool(const char *s, bool *out, char *err, size_t errlen);

/* One NIC, minimega's "[bridge,]VLAN[,mac][,driver]": VLAN is an alias name (LAN1) or a
 * number 1-4094; mac is xx:xx:xx:xx:xx:xx, unicast; driver is a QEMU NIC model name
 * (e1000, virtio-net-pci, rtl8139, ...: [a-z0-9_-]+). A field is told apart by its shape.
 * Ours, not minimega's: an optional ADDR/PREFIX field in any position (LAN1,10.0.0.2/24),
 * IPv4 with prefix 1-32 or IPv6 with 1-128, unicast; the only field that holds a '/'.
 * addr is kept canonical (inet_ntop, then "/prefix": fd00::2/64). Empty: none; containers
 * get it on eth N; a VM booted with config/kernel gets the first NIC's as vmfs.ip= on its
 * command line. */
struct nic_spec {
	char bridge[16]; /* empty: the default bridge */
	char vlan[NAME_MAX_LEN + 1];
	char mac[18];    /* empty: generated at start */
	char driver[32]; /* empty: the default model */
	char addr[INET6_ADDRSTRLEN + 4]; /* + "/128" */
};
int value_nic(const char *s, struct nic_spec *out, char *err, size_t errlen);
/* A space-separated list of NICs (config/net); an empty string is no NICs. */
int value_net(const char *s, char *err, size_t errlen);

/* "HOSTPATH:GUESTPATH[:ro|:rw]", both absolute; a space-separated list for config/volume. */
int value_volumes(const char *s, char *err, size_t errlen);

/* "key=value" pairs separated by spaces (config/tags); keys are names. */
int value_tags(const char *s, char *err, size_t errlen);

/* An IPv4 address to listen on ("127.0.0.1", "0.0.0.0"), or "none". */
int value_listen(const char *s, char *err, size_t errlen);

/* 8-4-4-4-12 hex digits. */
int value_uuid(const char *s, char *err, size_t errlen);

/* A VLAN id range "LO-HI" within 1-4094, LO <= HI. */
int value_vlan_range(const char *s, long *lo, long *hi, char *err, size_t errlen);

/* Splits one command line into words at blanks (spaces and tabs). Words may be quoted with
 * '...' or "..." to hold blanks. line is modified in place; argv gets pointers into it.
 * Returns the number of words, or -EINVAL (unterminated quote, more than maxargs words). */
int ctl_split(char *line, char **argv, int maxargs, char *err, size_t errlen);

/* A command table row: the first word, an id for the caller's switch, and how many
 * arguments follow it. */
struct ctl_cmd {
	const char *word;
	int id;
	int minargs, maxargs;
	const char *usage; /* e.g. "launch kvm|container NAMES [like NAME]" */
};
/* Finds argv[0] in tab and checks the argument count; -EINVAL with the usage otherwise. */
const struct ctl_cmd *ctl_lookup(const struct ctl_cmd *tab, size_t n, int argc, char **argv,
				 char *err, size_t errlen);

/* Glob match for target selection (start web*): '*', '?', and [..] classes, as fnmatch(3). */
bool ctl_glob(const char *pattern, const char *name);
#endif
