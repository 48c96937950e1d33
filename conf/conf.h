/* The configuration file (INI, parsed with inih). One list of keys expands into the struct,
 * the defaults, the parser and `vmfs --help`, so they cannot disagree (inih's
 * ini_xmacros.c pattern). Command-line options override the file. */
#ifndef VMFS_CONF_H
#define VMFS_CONF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* X(section, key, type, default, help). The type says how a value is checked:
 *   path    a file or directory; a relative one is taken from the config file's directory
 *           (from the working directory on the command line); never empty
 *   bool    true/false, yes/no, on/off, 1/0
 *   ifname  a network interface name (at most 15 bytes, no '/', ':' or blank)
 *   addr    IPV4:PORT
 *   opts    comma-separated options, no empty one
 *   members NAME=URL separated by blanks
 *   name    a vmfs name (name_check: letters, digits, ._-)
 *   ip      an IPv4 or IPv6 address, no port
 *   ratio   a decimal like 4 or 1.5 (at most 3 decimals), 0.001 to 1000
 *   ports   LO-HI, two ports 1-65535 with LO <= HI (conf_ports reads it) */
#define VMFS_CONF_KEYS(X)                                                                          \
	X(vmfs, mountpoint, path, "", "where the tree is mounted (MOUNTPOINT on the command line wins)") \
	X(vmfs, state, path, "/var/lib/vmfs", "the state directory: namespaces, objects, logs")    \
	X(vmfs, images, path, "", "the image store shown as images/ (default: STATE/images)")      \
	X(vmfs, options, opts, "", "FUSE mount options, comma-separated, as with -o")              \
	X(vmfs, allow_other, bool, "false", "let other users into the tree (modes still apply)")   \
	X(vmfs, foreground, bool, "false", "stay in the foreground, as -f")                        \
	X(vmfs, debug, bool, "false", "print every FUSE request, as -d")                           \
	X(vmfs, nfs_export, bool, "false", "the mount is exported over NFS: EBUSY is answered EPERM, ETIMEDOUT EIO (docs/export.md)") \
	X(vmfs, uplink, ifname, "", "an interface that carries every VLAN tagged off the host (a trunk)") \
	X(vmfs, web, addr, "", "serve the tree over HTTP on ADDR:PORT, e.g. 127.0.0.1:9001")        \
	X(vmfs, web_passwd, path, "", "the web's password file (users, rules; vmfs-passwd makes it)") \
	X(vmfs, web_cert, path, "", "the web's TLS certificate (PEM); with web_key, HTTPS only") \
	X(vmfs, web_key, path, "", "the web's TLS private key (PEM)")                              \
	X(vmfs, web_insecure, bool, "false", "serve a non-loopback address without a password file") \
	X(vmfs, web_hosts, opts, "", "names the web's Host header may give besides its address and localhost, a,b") \
	X(vmfs, web_ui, path, "", "the browser pages (default: web/ui beside the vmfs binary)")    \
	X(vmfs, p9, addr, "", "serve the tree over 9P2000.L on TCP ADDR:PORT, e.g. 127.0.0.1:5640") \
	X(vmfs, p9_socket, path, "", "serve it over 9P on this Unix socket: each peer acts as its own user") \
	X(vmfs, p9_peers, opts, "127.0.0.1", "the addresses and networks (A.B.C.D/N) 9P over TCP accepts; cluster: the etcd cluster's hosts") \
	X(vmfs, p9_user, opts, "nobody", "the user every 9P TCP peer acts as (host root only if named so)") \
	X(vmfs, announce, bool, "false", "announce the network doors on the LAN with Avahi (mDNS)") \
	X(vmfs, discover, bool, "false", "list what other vmfs announce on the LAN in hosts/discovered") \
	X(vmfs, members, members, "", "cluster members, NAME=URL separated by spaces (as hosts/ctl add)") \
	X(vmfs, sshfs_options, opts, "", "extra sshfs -o options for ssh:// members (IdentityFile=...)") \
	X(vmfs, etcd, opts, "", "etcd's client URLs, URL[,URL...]: membership by lease (etcd/member.h)") \
	X(vmfs, etcd_ca, path, "", "the CA file that signed etcd's certificates (https)")         \
	X(vmfs, etcd_cert, path, "", "this host's client certificate for etcd (PEM)")            \
	X(vmfs, etcd_key, path, "", "its private key (PEM)")                                    \
	X(vmfs, etcd_user, opts, "", "etcd's user (RBAC; default with a password file: the host name)") \
	X(vmfs, etcd_password_file, path, "", "a file (mode 0600) whose first line is its password") \
	X(vmfs, migrate_tls, path, "", "TLS for live migrations: a root-owned directory of ca-cert.pem, server-cert.pem, server-key.pem, client-cert.pem, client-key.pem (QEMU's x509 layout)") \
	X(vmfs, migrate_ports, ports, "", "the TCP ports a destination listens on for a migration and its disks' NBD, LO-HI, two for each migration (none: the kernel's ephemeral ports)") \
	X(vmfs, cluster, name, "default", "with etcd: the cluster's name, its keys' prefix /vmfs/NAME/") \
	X(vmfs, cluster_addr, ip, "", "with etcd: the address other hosts reach this one at (9P door, VXLAN)") \
	X(vmfs, cpu_ratio, ratio, "4", "with etcd: vcpus this host accepts per CPU (placement's limit)") \
	X(vmfs, mem_ratio, ratio, "1", "with etcd: memory it accepts per byte of RAM (placement's limit)")

/* What each type is stored as: a string (strdup()ed) or a bool. */
#define CONF_KIND_path text
#define CONF_KIND_ifname text
#define CONF_KIND_addr text
#define CONF_KIND_opts text
#define CONF_KIND_members text
#define CONF_KIND_name text
#define CONF_KIND_ip text
#define CONF_KIND_ratio text
#define CONF_KIND_ports text
#define CONF_KIND_bool flag
#define CONF_CAT_(a, b) a##b
#define CONF_CAT(a, b) CONF_CAT_(a, b)
#define CONF_TYPE_text char *
#define CONF_TYPE_flag bool
#define CONF_FIELD(sec, key, type, def, help) CONF_CAT(CONF_TYPE_, CONF_KIND_##type) key;

struct vmfs_conf {
	VMFS_CONF_KEYS(CONF_FIELD)
	char *path; /* the file it came from, or NULL */
};

/* The longest path a key takes, after a relative one is made absolute. */
#define CONF_PATH_MAX 4000
/* The largest configuration file read. */
#define CONF_FILE_MAX (64 * 1024)

/* Fills every key with its default. */
int conf_defaults(struct vmfs_conf *c);
/* Reads path over the current values. On error returns -EINVAL (-ENOENT if the file is
 * missing) with "FILE:LINE: reason" in err. */
int conf_load(struct vmfs_conf *c, const char *path, char *err, size_t errlen);
/* Parses the text of a configuration file (len bytes; NUL bytes in it are refused) named
 * name, whose relative paths are taken from the directory dir (absolute). Each key is
 * given at most once, in one [vmfs] section. Errors as conf_load. */
int conf_parse(struct vmfs_conf *c, const char *text, size_t len, const char *name,
	       const char *dir, char *err, size_t errlen);
/* Sets one key from text, checked as the file's keys are (used by the file and by
 * command-line overrides); a relative path is taken from dir. */
int conf_set(struct vmfs_conf *c, const char *section, const char *key, const char *value,
	     const char *dir, char *err, size_t errlen);
void conf_free(struct vmfs_conf *c);
/* A ports value, LO-HI, into lo and hi ("" is 0-0: none set). -EINVAL with why in err. */
int conf_ports(const char *value, unsigned *lo, unsigned *hi, char *err, size_t errlen);
/* Prints the keys with their defaults and help, for --help. */
void conf_usage(FILE *out);
#endif
