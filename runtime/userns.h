/* User namespaces for containers: the host range their ids map to, read from /etc/subuid and
 * /etc/subgid for the user vmfs, and whether this kernel and the image store can give a
 * container its root through an idmapped mount. Every container that is not
 * config/privileged maps its ids 0..USERNS_IDS-1 to the same host range (as Docker's
 * userns-remap does); docs/security.md says why. No FUSE here: vmfs probes once at startup,
 * the shim makes the namespaces. */
#ifndef VMFS_USERNS_H
#define VMFS_USERNS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define USERNS_USER "vmfs"
#define USERNS_IDS 65536u	   /* ids a container has: 0..65535, as Docker */
#define USERNS_FILE_MAX (1u << 20) /* /etc/subuid is read up to this size, no further */

struct userns_range {
	uint32_t uid, gid, count; /* container id 0 is host uid/gid; count ids from there */
};

/* The probe's verdict, shown in host/info: ok, or why not. */
struct userns_host {
	bool ok;
	struct userns_range r;
	char why[300]; /* ok: "idmapped mounts"; else the reason, in words */
};

/* Finds the first range of at least want ids for user (by name, or by uid when uid is not
 * (uid_t)-1) in text, the contents of a subuid/subgid file called path. Each line must be
 * NAME:START:COUNT with decimal numbers whose range fits below 2^32-1; a line that is not
 * is an error naming path and the line. 0 with *start; -ENOENT when no range is big
 * enough (err says which user, and what was found); -EINVAL for a bad line. */
int userns_subid_find(const char *path, const char *text, const char *user, uid_t uid,
		      uint32_t want, uint32_t *start, char *err, size_t errlen);

/* The same, read from the file (at most USERNS_FILE_MAX bytes, a regular file). */
int userns_subid_read(const char *path, const char *user, uid_t uid, uint32_t want, uint32_t *start,
		      char *err, size_t errlen);

/* A user namespace that maps 0..count-1 to r's host ids, held by the returned fd (for
 * MOUNT_ATTR_IDMAP, or for a container to join); with netfd, also a network namespace
 * owned by it, held by *netfd. The short-lived process that made them is gone (reaped;
 * it dies with the caller). Its uid_map and gid_map are written from outside, by host
 * root, so setgroups stays allowed inside. -errno with err, and nothing held. */
int userns_make(const struct userns_range *r, int *netfd, char *err, size_t errlen);

/* Writes "0 UID COUNT" into /proc/PID/uid_map and the gid line into gid_map. */
int userns_map(pid_t pid, const struct userns_range *r, char *err, size_t errlen);

/* A detached copy of the tree at dirfd/path (AT_EMPTY_PATH when path is ""), idmapped
 * through usernsfd: an fd for move_mount or an overlay layer. -errno with err. */
int userns_idmapped_tree(int dirfd, const char *path, int usernsfd, char *err, size_t errlen);

/* At startup: the range (VMFS_SUBUID and VMFS_SUBGID name other files than /etc/subuid and
 * /etc/subgid, for tests), max_user_namespaces, and an idmapped mount of imagedir. */
void userns_probe(struct userns_host *u, const char *imagedir);
#endif
