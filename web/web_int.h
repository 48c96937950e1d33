/* What the files of the HTTP door share: the server, one request, and the helpers each
 * kind of answer uses. Only web/ includes this. */
#ifndef VMFS_WEB_INT_H
#define VMFS_WEB_INT_H
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "runtime/waitq.h"
#include "vmfs/node.h"
#include "vmfs/vreq.h"
#include "web/auth.h"
#include "web/token.h"

struct auth;
struct proxy;

/* A generated file's answer, kept while nothing changed (model_changes) within the same
 * second: a browser refreshing a table every second, or many, costs one generation. */
struct cached {
	uint64_t ino, changes;
	time_t sec;
	bool json;
	struct sbuf body;
	const char *type;
	unsigned long used;
};
#define WEB_CACHE 16

/* Connections: in all, from one client address (so that one cannot lock the others out). */
#define WEB_CONNS 512
#define WEB_CONNS_PER_ADDR 32

/* The connections open from one client address (n 0: a free entry). */
struct conn_count {
	unsigned char addr[16], len;
	unsigned n;
};

struct web {
	struct vmfs *v;
	struct MHD_Daemon *d;
	bool tls;
	struct vcred cred;  /* who a request acts as in the tree: the mounting user */
	struct auth *auth;  /* the password file's rules; NULL: the token decides */
	struct authq *aq;   /* password checks off the loop */
	char *cert, *key;   /* PEM, kept while the daemon runs */
	int ui_dfd;         /* web/ui, the browser pages; -1 if not found */
	struct req *parked; /* suspended requests, for web_close */
	int pep;            /* epoll of the VNC proxies, itself in vmfs's loop */
	int tfd;            /* when libmicrohttpd wants to run next */
	struct proxy *proxies;
	struct cached cache[WEB_CACHE];
	unsigned long uses;
	bool token_on;               /* no password file: the token is asked for */
	char token[TOKEN_HEX + 1];
	char cookie[32];             /* the token cookie's name, with the port */
	char *hosts;                 /* web_hosts: names the Host header may give, a,b,c */
	/* refusals logged in the current 10 s, and those left out of the log in it */
	time_t refuse_win;
	unsigned refused, unlogged;
	struct conn_count conns[WEB_CONNS + 1]; /* one more: libmicrohttpd's own limit's */
	unsigned nconns;
};

/* One request: its body as it arrives, and for an answer that waits (a start, a followed
 * console) the waiter that resumes the connection (wt, or vq's while a read or write
 * waits). */
struct req {
	struct web *w;
	struct MHD_Connection *c;
	struct sbuf body;
	bool too_big, done, stream, closing, reading, json;
	char *url; /* a remote file's read: the URL, for the answer */
	struct waiter wt;
	/* as the node operations see it (vmfs/vreq.h): its reason, a read or write, and its
	 * open file (vq.h; kept open past the handler while an answer waits or follows) */
	struct vreq vq;
	ssize_t got;    /* a read's result (web_read_now, a follower's) */
	struct req *next, **prevp; /* in w->parked while suspended */
	int status;
	struct sbuf out;
	const char *type;
	struct MHD_Response *resp; /* made by the handler instead of out (a stream, a file) */
	char location[1024];       /* a redirect */
	bool set_cookie;           /* the token came in the URL: a cookie holds it from now */
	bool authwait;             /* parked while a worker checks its password */
	bool retry_after;          /* 429: too many checks of its address wait already */
	struct auth_proof proof;
	struct proxy *proxy;       /* a VNC websocket until it is upgraded */
	bool admin;                /* its user's rule is admin (web/auth.h) */
	bool name_wait;            /* suspended until its mkdir or rmdir ends (web/mkrm.c) */
};

/* web/req.c, the helpers every kind of answer uses (http.c is the server, which calls the
 * answers; nothing calls back into it). */
/* The answer to an operation that failed with errno err, with its reason (else the one
 * log recorded for the request, else strerror). */
void web_fail(struct req *q, int err, const char *why);
/* Reads q's open file (q->vq.h) through the request object, answered at once: the bytes
 * read, or -errno (-EAGAIN: nothing yet). For a file that does not wait (O_NONBLOCK, a
 * ctl's reply); respond is q's own again after it. */
ssize_t web_read_now(struct req *q, char *buf, size_t size, off_t off);
/* Suspends q's connection until unpark; web_close answers it if vmfs exits first. */
void web_park(struct req *q);
void web_unpark(struct req *q);
/* libmicrohttpd runs again as soon as the loop is back (a connection was resumed). */
void web_soon(struct web *w);
const char *web_header(struct req *q, const char *name);
const char *web_arg(struct req *q, const char *name);

/* web/refuse.c: a refusal in host/log, "error: http WHAT from ADDR[ as USER]: refused: WHY",
 * at most 200 per 10 s (a flood must not fill it); web_refuse_flush, on the tick, then says
 * how many were left out. */
#define WEB_ADDR_MAX 46 /* INET6_ADDRSTRLEN */
void web_refuse(struct web *w, const struct sockaddr *from, const char *what, const char *user,
		const char *why);
void web_refuse_flush(struct web *w, time_t now);
/* sa's address as text ("?" for none). */
void web_addr(const struct sockaddr *sa, char out[WEB_ADDR_MAX]);

/* web/conns.c: the limits on connections, as libmicrohttpd's accept policy and connection
 * notifier; a connection over them is closed at once and logged. */
enum MHD_Result conns_admit(void *cls, const struct sockaddr *sa, socklen_t salen);
void conns_notify(void *cls, struct MHD_Connection *c, void **ctx,
		  enum MHD_ConnectionNotificationCode what);

/* web/get.c: GET of a directory (JSON or HTML), a file (?format=json), a screenshot. */
void get_dir(struct req *q, const struct vnode *n, const char *url, bool html);
void get_file(struct req *q, const struct vnode *n, const char *url, bool json);
void get_screenshot(struct req *q, const struct vnode *n, const char *size);
void get_cache_free(struct web *w);

/* web/stream.c: GET console?follow=1, an endless answer of the console's output. */
void stream_console(struct req *q, const struct vnode *n);
/* Ends followers whose client has gone (checked on the tick). */
void stream_reap(struct web *w);

/* web/mkrm.c: PUT DIR/NAME/ (mk) and DELETE DIR/NAME, answered now or, for a launch or
 * another host's object's rmdir, by resuming q's connection when it ends. */
void mkrm_serve(struct req *q, const struct vnode *dir, const char *name, bool mk);

/* web/vnc.c: a websocket on a VM's vnc, passed through to QEMU's websocket listener. */
void vnc_upgrade(struct req *q, const struct vnode *n);
int vnc_init(struct web *w);
/* The proxies' epoll is ready: moves what can be moved. */
int vnc_run(void *w);
void vnc_close_all(struct web *w);
void vnc_abandon(struct req *q);

/* web/ui.c: the browser pages under /ui/. */
int ui_open(struct web *w, const char *dir);
void ui_get(struct req *q, const char *path);
#endif
