/* A small blocking 9P2000.L client of one connection (a socket, or the two pipes of an ssh
 * running `vmfs 9p-stdio`), for the cluster's worker threads (cluster/rjob.c): one request
 * at a time, each bounded by the deadline the caller set. A request that is not answered
 * by then is flushed (Tflush sent, not waited for) and the connection is given up: every
 * later call fails at once, and the owner makes a new connection. An Rlerror's errno is
 * returned as it came (-errno): the other vmfs's EBUSY is EBUSY here. */
#ifndef VMFS_P9_CLIENT_H
#define VMFS_P9_CLIENT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "p9/msg.h"

/* Tlopen's and Tlcreate's flags, the protocol's values (Linux's) */
#define P9_OREAD 0
#define P9_OWRITE 1
#define P9_ORDWR 2
#define P9_OTRUNC 01000

struct p9c;

/* A client over rfd and wfd (the same for a socket), which it owns and closes. */
struct p9c *p9c_new(int rfd, int wfd);
void p9c_free(struct p9c *c);
/* Calls made after this point in time (CLOCK_MONOTONIC, ms) fail with -ETIMEDOUT; a call
 * waiting for its answer gives up then. */
void p9c_set_deadline(struct p9c *c, uint64_t deadline_ms);
uint64_t p9c_now_ms(void);
/* Given up (a timeout, the peer gone, a reply that is not one): every call fails. */
bool p9c_broken(const struct p9c *c);
/* Why it was given up, in words ("" if it was not). */
const char *p9c_why(const struct p9c *c);

/* Tversion (9P2000.L, msize at most the one asked), then Tattach as uname: *root is the fid
 * of the tree's root. */
int p9c_connect(struct p9c *c, uint32_t msize, const char *uname, uint32_t *root);
/* The same, attaching to the tree aname names (diod's export: its path). */
int p9c_connect_aname(struct p9c *c, uint32_t msize, const char *uname, const char *aname,
		      uint32_t *root);
/* A new fid for path ("ns/lab/ctl"; "" clones fid), walked from fid: 0 or -errno (the first
 * name that is not there gives its errno, ENOENT; no fid is left made). */
int p9c_walk(struct p9c *c, uint32_t fid, const char *path, uint32_t *newfid);
int p9c_lopen(struct p9c *c, uint32_t fid, uint32_t flags);
/* name made in the directory fid, which becomes the new file, open with flags. */
int p9c_lcreate(struct p9c *c, uint32_t fid, const char *name, uint32_t flags, uint32_t mode);
int p9c_mkdir(struct p9c *c, uint32_t dfid, const char *name, uint32_t mode);
int p9c_getattr(struct p9c *c, uint32_t fid, struct p9_attr *a);
/* At most the connection's msize less the header per call: the count done, or -errno. */
ssize_t p9c_read(struct p9c *c, uint32_t fid, uint64_t off, void *buf, size_t count);
ssize_t p9c_write(struct p9c *c, uint32_t fid, uint64_t off, const void *buf, size_t count);
/* Rreaddir's raw entries (qid[13] offset[8] type[1] name[s]) into buf. */
ssize_t p9c_readdir(struct p9c *c, uint32_t fid, uint64_t off, void *buf, size_t count);
int p9c_clunk(struct p9c *c, uint32_t fid);
#endif
