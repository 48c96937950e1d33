/* The HTTP door: URLs map onto the same tree as the mount, through the same node
 * operations (vmfs/node.h), served by libmicrohttpd from vmfs's own event loop (no thread:
 * the model is single-threaded).
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
 * Not yet here: authentication and TLS, so it binds loopback addresses only; streaming of
 * consoles; the VNC websocket; the browser pages. */
#ifndef VMFS_WEB_HTTP_H
#define VMFS_WEB_HTTP_H
#include <stddef.h>

struct vmfs;
struct loop;
struct web;

/* Listens on ADDR:PORT (an IPv4 loopback address: -EACCES otherwise, as nothing checks who
 * asks yet). err says why on failure. */
int web_open(struct vmfs *v, const char *addrport, struct web **out, char *err, size_t errlen);
/* Joins the event loop (the listening socket and connections, and a per-second tick). */
int web_attach(struct web *w, struct loop *l);
/* After the loop ended: connections are closed, suspended requests dropped. */
void web_close(struct web *w);
#endif
