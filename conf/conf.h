/* The configuration file (INI, parsed with inih). One list of keys expands into the struct,
 * the defaults, the parser and `vmfs --help`, so they cannot disagree (inih's
 * ini_xmacros.c pattern). Command-line options override the file. */
#ifndef VMFS_CONF_H
#define VMFS_CONF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* X(section, key, type, default, help); type is str or bool. */
#define VMFS_CONF_KEYS(X)                                                                          \
	X(vmfs, mountpoint, str, "", "where the tree is mounted (MOUNTPOINT on the command line wins)") \
	X(vmfs, state, str, "/var/lib/vmfs", "the state directory: namespaces, objects, logs")     \
	X(vmfs, images, str, "", "the image store shown as images/ (default: STATE/images)")       \
	X(vmfs, options, str, "", "FUSE mount options, comma-separated, as with -o")               \
	X(vmfs, allow_other, bool, "false", "let other users into the tree (modes still apply)")   \
	X(vmfs, foreground, bool, "false", "stay in the foreground, as -f")                        \
	X(vmfs, debug, bool, "false", "print every FUSE request, as -d")                           \
	X(vmfs, uplink, str, "", "an interface that carries every VLAN tagged off the host (a trunk)") \
	X(vmfs, web, str, "", "serve the tree over HTTP on ADDR:PORT, e.g. 127.0.0.1:9001")         \
	X(vmfs, web_passwd, str, "", "the web's password file (users, rules; vmfs-passwd makes it)") \
	X(vmfs, web_cert, str, "", "the web's TLS certificate (PEM); with web_key, HTTPS only")  \
	X(vmfs, web_key, str, "", "the web's TLS private key (PEM)")                               \
	X(vmfs, web_insecure, bool, "false", "serve a non-loopback address without a password file") \
	X(vmfs, web_ui, str, "", "the browser pages (default: web/ui beside the vmfs binary)")     \
	X(vmfs, members, str, "", "cluster members, NAME=URL separated by spaces (as hosts/ctl add)") \
	X(vmfs, sshfs_options, str, "", "extra sshfs -o options for ssh:// members (IdentityFile=...)")

#define CONF_TYPE_str char *
#define CONF_TYPE_bool bool
#define CONF_FIELD(sec, key, type, def, help) CONF_TYPE_##type key;

struct vmfs_conf {
	VMFS_CONF_KEYS(CONF_FIELD)
	char *path; /* the file it came from, or NULL */
};

/* Fills every key with its default. */
int conf_defaults(struct vmfs_conf *c);
/* Reads path over the current values. On error returns -EINVAL (-ENOENT if the file is
 * missing) with "FILE:LINE: reason" in err. */
int conf_load(struct vmfs_conf *c, const char *path, char *err, size_t errlen);
/* Sets one key from text (used by the file and by command-line overrides). */
int conf_set(struct vmfs_conf *c, const char *section, const char *key, const char *value,
	     char *err, size_t errlen);
void conf_free(struct vmfs_conf *c);
/* Prints the keys with their defaults and help, for --help. */
void conf_usage(FILE *out);
#endif
