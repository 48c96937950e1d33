/* The 9P2000.L door: the tree served to 9P clients (the kernel's v9fs, tests/tools/p9client.py)
 * from vmfs's own event loop, each connection a p9/srv.c server.
 *
 * Who the peer is decides what it may do (docs/security.md, "Who may do what"):
 *   p9_socket PATH  a Unix socket (mode 0666): the peer's uid, gid and groups (SO_PEERCRED,
 *                   SO_PEERGROUPS) at connect time; it acts as that user, exactly as a local
 *                   user of the mount (root: host root). Tattach's uname is ignored.
 *   p9 ADDR:PORT    TCP: only peers whose address p9_peers lists (default 127.0.0.1); every
 *                   one acts as p9_user (default nobody; root only when named).
 * Connections: 32 per peer (an address; a uid on the socket) and 512 in all; a connection
 * whose replies wait unread past 8 MiB, or whose framing is bad, is closed. Refusals and
 * closings are logged in host/log, at most 200 per 10 s. */
#ifndef VMFS_P9_DOOR_H
#define VMFS_P9_DOOR_H
#include <stddef.h>

struct vmfs;
struct vmfs_conf;
struct door;

#define P9_CONNS 512
#define P9_CONNS_PER_PEER 32

/* Listens on c->p9 and/or c->p9_socket, and fills out for the daemon (vmfs/daemon.h). err
 * says why on failure. */
int p9_door_open(struct vmfs *v, const struct vmfs_conf *c, struct door *out, char *err,
		 size_t errlen);
/* `vmfs 9p-stdio [--9p-socket PATH] [--conf FILE]`: stdin and stdout relayed to the running
 * vmfs's socket (p9_socket), so a client over ssh acts as the user ssh logged in as. */
int p9_stdio_main(int argc, char **argv);
#endif
