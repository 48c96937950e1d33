/* How a worker (cluster/rjob.h) reaches a member's tree: the target, from the member's URL,
 * and the transport that a worker thread makes from it and keeps for its jobs.
 *
 *   ssh://USER@HOST[:PORT]/PATH  sshfs mounts it under STATE/members/NAME: POSIX calls there
 *   /PATH                        mounted by the admin: POSIX calls there
 *   9p://HOST[:PORT]             the member's 9P door over TCP (port 564 by default)
 *   9p+ssh://USER@HOST[:PORT]    `ssh USER@HOST vmfs 9p-stdio`, 9P over its pipes
 *
 * Over 9P the head speaks the protocol itself (p9/client.h) on the worker's own connection:
 * the member's errno comes back as it is (EBUSY, not sshfs's EIO). A worker whose connection
 * broke makes a new one at its next job; a worker that was abandoned takes its connection
 * with it, and the worker that replaces it connects afresh. */
#ifndef VMFS_CLUSTER_RTRANS_H
#define VMFS_CLUSTER_RTRANS_H
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/util.h"

enum rkind {
	RK_PATH,   /* a mounted tree (sshfs's or the admin's) */
	RK_9P_TCP, /* 9p:// */
	RK_9P_SSH, /* 9p+ssh:// */
};

struct rtarget {
	enum rkind kind;
	char root[PATH_MAX]; /* RK_PATH: where the tree is */
	char host[512];      /* 9P: the address (TCP), USER@HOST (ssh) */
	char port[8];        /* TCP: the door's; ssh: sshd's, "" for ssh's own choice */
	char ssh_opts[1024]; /* 9p+ssh: ssh's -o options, comma-separated (KEY=VALUE,...) */
};

/* Checks url's shape and, if t, fills t (root: where an ssh:// member is mounted; ssh_opts:
 * the ssh options of sshfs_options, for 9p+ssh). 0, or -EINVAL with err in words. */
int rtarget_parse(const char *url, const char *root, const char *sshfs_options, struct rtarget *t,
		  char *err, size_t errlen);
/* The IPv4 or IPv6 address of a URL's host, "" if it names none (a path, a host name). */
void rtarget_url_addr(const char *url, char *out, size_t len);
/* "9p over TCP to 10.0.0.12:564", "sshfs, mounted at /var/lib/vmfs/members/h1", ... */
void rtarget_text(const struct rtarget *t, bool sshfs, char *out, size_t len);

/* One worker thread's way to the tree. Paths are relative to the tree's root. Every call
 * gives up by deadline (CLOCK_MONOTONIC ms), which the caller sets before it. */
struct rtrans {
	const struct rtrans_ops *ops;
	uint64_t deadline;
	char why[512]; /* a failure of the transport itself, in words ("" if none) */
};

struct rtrans_ops {
	/* the whole file into out (at most 16 MiB) */
	int (*read)(struct rtrans *t, const char *rel, struct sbuf *out);
	/* data written at offset 0 (a file made if missing, emptied first); ctl: the file
	 * is opened for reading too, and its answer read back on it into out, also after a
	 * refused write */
	int (*write)(struct rtrans *t, const char *rel, const char *data, size_t len, bool ctl,
		     struct sbuf *out);
	int (*mkdir)(struct rtrans *t, const char *rel);
	/* up to len bytes at *off (*off goes to 0 first if the file is shorter: a console of a
	 * new run): the count, 0 at the end, or -errno */
	ssize_t (*pread)(struct rtrans *t, const char *rel, uint64_t *off, char *buf, size_t len);
	void (*free)(struct rtrans *t);
};

struct rtrans *rtrans_new(const struct rtarget *t);
struct rtrans *rposix_new(const char *root);
struct rtrans *r9p_new(const struct rtarget *t);
#endif
