/* The 9P2000.L server of one connection, over the request object (vmfs/vreq.h): whole
 * messages in, replies out through the connection's send. It knows no socket, so it can be
 * fed bytes and tested alone; the door (p9/door.c, to come) frames the stream and says who
 * the peer is.
 *
 * A fid names a node by its inode number (node_from_ino each time: a vnode is valid for one
 * request only); after Tlopen or Tlcreate it holds an open file too, so a ctl's answer is
 * read back on the fid that wrote it. A Tread or Twrite that waits (a console with nothing
 * yet, a start) is answered later; Tflush of it answers at once and abandons it. */
#ifndef VMFS_P9_SRV_H
#define VMFS_P9_SRV_H
#include <stddef.h>
#include <stdint.h>

#include "vmfs/node.h"

/* the largest msize vmfs agrees to */
#define P9_MAXMSIZE (128 * 1024)
/* fids a connection may hold at once: a client cannot make vmfs allocate without end */
#define P9_MAXFIDS 4096
/* mkdir, rmdir and setattr requests of a connection that wait at once (each may hold a
 * thread and an etcd connection until it ends, flushed or not): beyond it EAGAIN, in words */
#define P9_HELD_MAX 16
/* the same for all connections of one peer together: a local uid (who may open many; root's
 * are not capped so), or a TCP peer's address (whatever p9_user it acts as) */
#define P9_HELD_PEER_MAX 16
/* the same for all connections together, counted until the work ends (a Tversion, a Tflush
 * or a closed connection frees no room): a peer cannot reconnect its way past the cap */
#define P9_HELD_ALL_MAX 64
/* of those, kept for root's (the cluster's members, the admin): other users together may
 * not fill the cap */
#define P9_HELD_ROOT_KEEP 16

struct p9_conn;

/* A reply to send, whole (len bytes); the buffer is the server's, valid during the call. */
typedef void (*p9_send_fn)(void *ctx, const uint8_t *buf, size_t len);

/* A connection acting as cred (the peer's: the door's, never what Tattach says). */
struct p9_conn *p9_conn_new(struct vmfs *v, const struct vcred *cred, p9_send_fn send, void *ctx);
/* Whose the held cap counts c's requests as (P9_HELD_PEER_MAX): a TCP peer's IPv4 address
 * (a connection's peer is its cred's uid until this is called). */
void p9_conn_set_tcp_peer(struct p9_conn *c, uint32_t addr);
/* The peer's supplementary groups (cred gives its uid and gid), for the checks of the mode
 * bits the kernel makes for a user of the mount (p9/perm.h); at most WHO_GROUPS_MAX kept. */
void p9_conn_set_groups(struct p9_conn *c, const gid_t *groups, int n);
/* One whole message, buf[0..len) with len its size field (p9_frame_size), answered now or,
 * for a read or write that waits, later. 0, or -EPROTO when the connection must be closed
 * (its framing cannot be trusted): c->why says why. A message refused for its fields is
 * answered with Rlerror and the reason is kept in c->why too. */
int p9_conn_input(struct p9_conn *c, const uint8_t *buf, size_t len);
/* The connection's msize (P9_MINMSIZE before Tversion). */
uint32_t p9_conn_msize(const struct p9_conn *c);
/* The reason of the last message refused, "" if none. It may quote a client's bytes: log it
 * through evlog, which escapes them. */
const char *p9_conn_why(const struct p9_conn *c);
/* Requests still waiting. */
int p9_conn_waiting(const struct p9_conn *c);
/* Closes every fid's open file; what waits is answered no more. A held request (mkdir,
 * rmdir, setattr) waits on, counted against the caps, and c goes with the last of them. */
void p9_conn_free(struct p9_conn *c);
/* At vmfs's end: the closed connections still waiting for their held work go (the work goes on
 * alone, unanswered). */
void p9_conns_closed_free(void);
#endif
