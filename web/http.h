/* The HTTP door: URLs map onto the same tree as the mount, through the same node
 * operations (vmfs/node.h), served by libmicrohttpd from vmfs's own event loop (no thread
 * touches the model, which is single-threaded).
 *
 *   GET  /PATH          a file's content (image/png for .png, text/plain otherwise; a
 *                       console or log: what there is now); a directory's listing as JSON
 *                       [{"name","kind":"dir"|"file","size","mtime"}], or HTML for a browser
 *   GET  .../screenshot.png?size=N   the screen, its larger side scaled to N pixels
 *   GET  /PATH?format=json   tables (info, top of a namespace) as an array of objects, and
 *                       "key value" files (an object's info, top; host/info) as one object
 *   PUT, POST /PATH     writes the body to the file (a ctl command, a value); a ctl write
 *                       answers with what reading the ctl back gives ("ok ..."); a start
 *                       waits, as the write through the mount does, without holding anything
 *   PUT  /DIR/NAME/     (trailing slash) mkdir: a namespace, VM or container
 *   DELETE /PATH        rmdir of a directory, rm of a file (vlans/ALIAS, images/)
 * Errors: 400 (EINVAL), 403 (EACCES, EPERM, a path outside the tree, another origin), 404
 * (ENOENT), 409 (EBUSY, EEXIST, ENOTEMPTY), 500 otherwise; the body is "error: REASON",
 * the reason that log records.
 *
 *   GET  .../console?follow=1   the console's scrollback, then its output as it comes
 *                       (chunked, endless; a POST to console types)
 *   GET  .../vnc with a websocket upgrade: QEMU's VNC websocket, passed through (noVNC)
 *   GET  /ui/...        the browser pages (web/ui); a browser's GET / is sent there
 * With a password file (web_passwd, web/auth.h), HTTP Basic credentials and a rule that
 * covers the path: 401 without them, 403 when no rule allows it; bcrypt runs on worker
 * threads (web/authq.h), the request suspended meanwhile, 4 checks per client address at
 * most (429 beyond). Without one, root's token (web/token.h), whose holder is an admin: a
 * bearer header or the cookie its one-time URL sets; only loopback addresses are served
 * then, unless web_insecure is set. Always: a Host header that is an address, localhost or a
 * web_hosts name (421 otherwise: DNS rebinding), 32 connections per client address and 512
 * in all (web/conns.c), 30 s idle. TLS with web_cert and web_key (PEM). Every refusal is logged in
 * host/log, at most 200 per 10 s. */
#ifndef VMFS_WEB_HTTP_H
#define VMFS_WEB_HTTP_H
#include <stddef.h>

struct vmfs;
struct vmfs_conf;
struct door;

/* Listens on c->web (ADDR:PORT, IPv4) with the web_* keys of c, and fills out for the
 * daemon (vmfs/daemon.h): attached, it serves the listening socket and connections, with a
 * tick every two seconds; stopped, it answers its suspended requests and closes. err says
 * why on failure. */
int web_door_open(struct vmfs *v, const struct vmfs_conf *c, struct door *out, char *err,
		  size_t errlen);
#endif
