#include "web/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/screen.h"
#include "runtime/vm.h"
#include "vmfs/loop.h"
#include "vmfs/node.h"

#define BODY_MAX (1u << 20)   /* a command or a value; images are copied in through the mount */
#define READ_MAX (64u << 20)  /* a file's content in one answer */

struct web {
	struct vmfs *v;
	struct MHD_Daemon *d;
	char addr[64];
	struct vcred cred;  /* who a request acts as: without authentication, the mounting user */
	struct req *parked; /* suspended requests, for web_close */
};

/* One request: its body as it arrives, and for a ctl write that goes on in the background
 * (a start), the open file and the waiter that resumes the connection. */
struct req {
	struct web *w;
	struct MHD_Connection *c;
	struct sbuf body;
	bool too_big, done;
	struct vhandle *h;
	struct waiter wt;
	struct req *next, **prevp; /* in w->parked while suspended */
	int status;
	struct sbuf out;
	const char *type;
};

static int http_status(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return MHD_HTTP_NOT_FOUND;
	case EACCES:
	case EPERM:
		return MHD_HTTP_FORBIDDEN;
	case EINVAL:
	case ENAMETOOLONG:
	case ERANGE:
	case E2BIG:
		return MHD_HTTP_BAD_REQUEST;
	case EBUSY:
	case EEXIST:
	case ENOTEMPTY:
	case EISDIR:
	case EAGAIN:
		return MHD_HTTP_CONFLICT;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

/* The answer to an operation that failed with -err: the reason log recorded, if any. */
static void fail(struct req *q, int err, const char *why)
{
	struct vmfs *v = q->w->v;
	q->status = http_status(err);
	q->out.len = 0;
	q->type = "text/plain; charset=utf-8";
	sb_printf(&q->out, "error: %s\n", why && *why ? why : *v->last_err ? v->last_err
							: strerror(err));
}

/* Walks path from the root: components "." and ".." (also as %2e%2e: libmicrohttpd has
 * decoded the path) never name anything, and a symlink is not followed. With last, the
 * last component is not looked up but copied there (mkdir and rmdir act on it). */
static int walk(struct vmfs *v, const char *path, struct vnode *out, char *last, size_t lastlen)
{
	char buf[4096], *save = NULL, *comp[128];
	int n = 0;
	if (strlen(path) >= sizeof(buf) || path[0] != '/')
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, ".") || !strcmp(c, "..") || n == (int)ARRAY_SIZE(comp))
			return -EACCES;
		comp[n++] = c;
	}
	if (last && !n)
		return -EINVAL;
	int r = node_from_ino(v, NODE_ROOT_INO, out);
	for (int i = 0; !r && i < n - (last ? 1 : 0); i++) {
		struct vnode next;
		struct stat st;
		if ((r = node_lookup(v, out, comp[i], &next)))
			return r;
		if (node_getattr(v, &next, &st) == 0 && S_ISLNK(st.st_mode))
			return -EACCES;
		*out = next;
	}
	if (!r && last)
		snprintf(last, lastlen, "%s", comp[n - 1]);
	return r;
}

/* Names in images/ are any file name, and the URL is the client's: both are escaped. */
static void html_text(struct sbuf *out, const char *s)
{
	for (; *s; s++)
		if (*s == '<' || *s == '>' || *s == '&' || *s == '"')
			sb_printf(out, "&#%d;", *s);
		else
			sb_add(out, s, 1);
}

struct listing {
	struct vmfs *v;
	const struct vnode *dir;
	json_object *arr;
	struct sbuf *html;
	const char *base;
};

static int list_one(void *ctx, const char *name, const struct stat *st, off_t next)
{
	struct listing *l = ctx;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	struct vnode n;
	struct stat full = *st;
	/* readdir gives the type only: size and mtime are the node's */
	if (!node_lookup(l->v, l->dir, name, &n))
		node_getattr(l->v, &n, &full);
	st = &full;
	bool dir = S_ISDIR(st->st_mode);
	if (l->html) {
		sb_puts(l->html, "<li><a href=\"");
		html_text(l->html, l->base);
		html_text(l->html, name);
		sb_printf(l->html, "%s\">", dir ? "/" : "");
		html_text(l->html, name);
		sb_printf(l->html, "%s</a></li>\n", dir ? "/" : "");
		return 0;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "kind", json_object_new_string(dir ? "dir" : "file"));
	json_object_object_add(o, "size", json_object_new_int64(st->st_size));
	json_object_object_add(o, "mtime", json_object_new_int64(st->st_mtime));
	json_object_array_add(l->arr, o);
	return 0;
}

static void get_dir(struct req *q, const struct vnode *n, const char *url, bool html)
{
	struct listing l = {q->w->v, n, NULL, NULL, url};
	if (html) {
		l.html = &q->out;
		sb_puts(&q->out, "<!doctype html><meta charset=utf-8><title>vmfs ");
		html_text(&q->out, url);
		sb_puts(&q->out, "</title><h1>");
		html_text(&q->out, url);
		sb_puts(&q->out, "</h1><ul>\n");
		/* links from the root: the directory's URL may or may not end in '/' */
		static char base[4200];
		snprintf(base, sizeof(base), "%s%s", url, url[strlen(url) - 1] == '/' ? "" : "/");
		l.base = base;
	} else {
		l.arr = json_object_new_array();
	}
	int r = node_readdir(q->w->v, n, 0, list_one, &l);
	if (r) {
		json_object_put(l.arr);
		fail(q, -r, NULL);
		return;
	}
	if (html) {
		sb_puts(&q->out, "</ul>\n");
		q->type = "text/html; charset=utf-8";
	} else {
		sb_puts(&q->out, json_object_to_json_string_ext(l.arr, JSON_C_TO_STRING_PLAIN));
		sb_puts(&q->out, "\n");
		json_object_put(l.arr);
		q->type = "application/json";
	}
	q->status = MHD_HTTP_OK;
}

/* A table (a header line, then rows, tab-separated) as an array of objects; "key value"
 * lines as one object. */
static json_object *to_json(char *text)
{
	char *save = NULL, *first = strtok_r(text, "\n", &save);
	if (first && strchr(first, '\t')) {
		json_object *arr = json_object_new_array();
		char *keys[64];
		int nk = 0;
		char *ks = NULL;
		for (char *k = strtok_r(first, "\t", &ks); k && nk < 64; k = strtok_r(NULL, "\t", &ks))
			keys[nk++] = k;
		for (char *row = strtok_r(NULL, "\n", &save); row; row = strtok_r(NULL, "\n", &save)) {
			json_object *o = json_object_new_object();
			char *cell = row;
			for (int i = 0; i < nk && cell; i++) {
				char *tab = strchr(cell, '\t');
				if (tab)
					*tab = 0;
				json_object_object_add(o, keys[i], json_object_new_string(cell));
				cell = tab ? tab + 1 : NULL;
			}
			json_object_array_add(arr, o);
		}
		return arr;
	}
	json_object *o = json_object_new_object();
	for (char *l = first; l; l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' ');
		if (sp)
			*sp = 0;
		json_object_object_add(o, l, json_object_new_string(sp ? sp + 1 : ""));
	}
	return o;
}

static void get_file(struct req *q, const struct vnode *n, const char *url, bool json)
{
	struct vmfs *v = q->w->v;
	struct vhandle *h;
	int r = node_open(v, n, O_RDONLY | O_NONBLOCK, &q->w->cred, &h);
	if (r) {
		fail(q, -r, NULL);
		return;
	}
	char buf[65536];
	off_t off = 0;
	ssize_t got;
	/* a console or a followed log answers what there is now (-EAGAIN: nothing more yet) */
	while ((got = node_read(v, h, buf, sizeof(buf), off)) > 0 && off + got <= (off_t)READ_MAX) {
		sb_add(&q->out, buf, got);
		off += got;
	}
	node_release(v, h);
	if (got > 0) { /* never a cut file that looks whole */
		snprintf(buf, sizeof(buf), "%s is larger than %u MiB: copy it through the mount",
			 url, READ_MAX >> 20);
		node_reject(v, n, url, buf);
		fail(q, EFBIG, buf);
		return;
	}
	if (got < 0 && got != -EAGAIN) {
		fail(q, (int)-got, NULL);
		return;
	}
	q->status = MHD_HTTP_OK;
	size_t len = strlen(url);
	q->type = len > 4 && !strcmp(url + len - 4, ".png") ? "image/png" : "text/plain; charset=utf-8";
	if (json && !sb_err(&q->out)) {
		sb_add(&q->out, "", 1); /* a terminating NUL for the parser */
		json_object *o = to_json(q->out.p);
		q->out.len = 0;
		sb_puts(&q->out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		sb_puts(&q->out, "\n");
		json_object_put(o);
		q->type = "application/json";
	}
}

/* screenshot.png?size=N: the screen scaled so that its larger side is at most N pixels,
 * as minimega's screenshots take a size. */
static void screenshot_sized(struct req *q, const struct vnode *n, const char *size)
{
	char *end, err[1024];
	unsigned long px = strtoul(size, &end, 10);
	if (!*size || *end || px < 1 || px > SCREEN_MAX_DIM) {
		snprintf(err, sizeof(err), "screenshot.png?size=%.32s: use a number of pixels from 1 "
			 "to %d", size, SCREEN_MAX_DIM);
		node_reject(q->w->v, n, "screenshot.png", err);
		fail(q, EINVAL, err);
		return;
	}
	int r = vm_screenshot(&q->w->v->m, n->obj, (unsigned)px, &q->out, err, sizeof(err));
	if (r) {
		node_reject(q->w->v, n, "screenshot.png", err);
		fail(q, -r, err);
		return;
	}
	q->status = MHD_HTTP_OK;
	q->type = "image/png";
}

/* A write's outcome: a ctl's answer (what reading it back gives), or "ok". */
static void write_done(struct req *q, ssize_t n)
{
	struct vmfs *v = q->w->v;
	char buf[8192];
	ssize_t got = q->h->n.e->file == VF_CTL ? node_read(v, q->h, buf, sizeof(buf) - 1, 0) : 0;
	buf[got > 0 ? got : 0] = 0;
	node_release(v, q->h);
	q->h = NULL;
	if (n < 0) {
		/* a ctl's reply is "error: REASON\n" already */
		buf[strcspn(buf, "\n")] = 0;
		fail(q, (int)-n, !strncmp(buf, "error: ", 7) ? buf + 7 : NULL);
		return;
	}
	q->status = MHD_HTTP_OK;
	q->type = "text/plain; charset=utf-8";
	sb_puts(&q->out, got > 0 ? buf : "ok\n");
}

static void unpark(struct req *q)
{
	if (q->prevp && (*q->prevp = q->next))
		q->next->prevp = q->prevp;
	q->prevp = NULL;
	q->done = true;
	MHD_resume_connection(q->c);
}

static void write_wake(struct waiter *wt)
{
	struct req *q = (struct req *)((char *)wt - offsetof(struct req, wt));
	ssize_t n = node_write_resume(q->w->v, q->h);
	if (n == -EINPROGRESS) {
		waitq_add(node_waitq(q->w->v, q->h), &q->wt);
		return;
	}
	write_done(q, n);
	unpark(q);
}

static void put_file(struct req *q, const struct vnode *n)
{
	struct vmfs *v = q->w->v;
	int flags = n->e->file == VF_CTL ? O_RDWR : O_WRONLY | O_TRUNC;
	int r = node_open(v, n, flags, &q->w->cred, &q->h);
	if (r) {
		fail(q, -r, NULL);
		return;
	}
	ssize_t w = node_write(v, q->h, q->body.p ? q->body.p : "", q->body.len, 0, &q->w->cred);
	if (w == -EINPROGRESS) {
		q->wt.wake = write_wake;
		waitq_add(node_waitq(v, q->h), &q->wt);
		if ((q->next = q->w->parked))
			q->next->prevp = &q->next;
		q->w->parked = q;
		q->prevp = &q->w->parked;
		MHD_suspend_connection(q->c);
		return;
	}
	write_done(q, w);
}

/* A request that changes something from a page of another site is refused (CSRF): its
 * Origin, when the browser sends one, must be this server. */
static bool foreign(struct req *q)
{
	const char *origin = MHD_lookup_connection_value(q->c, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(q->c, MHD_HEADER_KIND, "Host");
	if (!origin)
		return false;
	const char *o = strstr(origin, "://");
	return !host || !o || strcmp(o + 3, host);
}

static void handle(struct req *q, const char *url, const char *method)
{
	struct vmfs *v = q->w->v;
	struct vnode n;
	char name[256] = "";
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	bool mk = !strcmp(method, "PUT") && url[strlen(url) - 1] == '/' && strlen(url) > 1;
	bool del = !strcmp(method, "DELETE");
	v->last_err[0] = 0;
	if (!get && !del && strcmp(method, "PUT") && strcmp(method, "POST")) {
		q->status = MHD_HTTP_METHOD_NOT_ALLOWED;
		sb_puts(&q->out, "error: use GET, PUT, POST or DELETE\n");
		return;
	}
	if (!get && foreign(q)) {
		evlog_add(&v->log, "error: http %s %s: refused: a request from another origin", method, url);
		fail(q, EACCES, "a request from another origin (Origin does not match Host)");
		return;
	}
	if (q->too_big) {
		fail(q, E2BIG, "the body is larger than 1 MiB");
		return;
	}
	int r = walk(v, url, &n, mk || del ? name : NULL, sizeof(name));
	if (r) {
		if (r == -EACCES)
			evlog_add(&v->log, "error: http %s %s: refused: not a path of the tree", method, url);
		char why[4200];
		snprintf(why, sizeof(why), "%s: %s", url,
			 r == -EACCES ? "not a path of the tree" : strerror(-r));
		fail(q, -r, why);
		return;
	}
	if (mk || del) {
		struct vnode made, target;
		if (mk)
			r = node_mkdir(v, &n, name, 0777, &q->w->cred, &made);
		else if (!(r = node_lookup(v, &n, name, &target)))
			r = target.e->file == VF_DIR || (target.e->file == VF_PASS &&
							 target.e->kind == VK_IMAGES)
				? node_rmdir(v, &n, name, &q->w->cred)
				: node_unlink(v, &n, name, &q->w->cred);
		if (r) {
			fail(q, -r, NULL);
			return;
		}
		q->status = mk ? MHD_HTTP_CREATED : MHD_HTTP_OK;
		sb_puts(&q->out, "ok\n");
		return;
	}
	if (n.e->file == VF_DIR || (get && n.e->kind == VK_IMAGES)) {
		if (!get) {
			fail(q, EISDIR, "a directory: PUT DIR/NAME/ makes one in it");
			return;
		}
		const char *accept = MHD_lookup_connection_value(q->c, MHD_HEADER_KIND, "Accept");
		get_dir(q, &n, url, accept && strstr(accept, "text/html"));
		return;
	}
	const char *size = MHD_lookup_connection_value(q->c, MHD_GET_ARGUMENT_KIND, "size");
	if (get && size && n.e->kind == VK_OBJ_SCREENSHOT) {
		screenshot_sized(q, &n, size);
		return;
	}
	if (get) {
		const char *fmt = MHD_lookup_connection_value(q->c, MHD_GET_ARGUMENT_KIND, "format");
		get_file(q, &n, url, fmt && !strcmp(fmt, "json"));
	} else {
		put_file(q, &n);
	}
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *size, void **state)
{
	struct req *q = *state;
	if (!q) {
		if (!(q = calloc(1, sizeof(*q))))
			return MHD_NO;
		q->w = cls;
		q->c = c;
		*state = q;
		return MHD_YES;
	}
	if (*size) {
		if (q->body.len + *size > BODY_MAX)
			q->too_big = true;
		else
			sb_add(&q->body, data, *size);
		*size = 0;
		return MHD_YES;
	}
	if (!q->done && !q->h) {
		handle(q, url, method);
		if (q->h)
			return MHD_YES; /* suspended: a start goes on; write_wake resumes */
		q->done = true;
	}
	if (sb_err(&q->out))
		return MHD_NO;
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(q->out.len, q->out.p ? q->out.p : "", MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", q->type ? q->type : "text/plain; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	enum MHD_Result ret = MHD_queue_response(c, q->status ? q->status : 500, r);
	MHD_destroy_response(r);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **state,
		      enum MHD_RequestTerminationCode why)
{
	struct req *q = *state;
	if (!q)
		return;
	if (q->h) { /* gone while its start went on: the start goes on without it */
		waiter_del(&q->wt);
		node_write_abandon(q->h);
		node_release(q->w->v, q->h);
	}
	if (q->prevp && (*q->prevp = q->next))
		q->next->prevp = q->prevp;
	sb_free(&q->body);
	sb_free(&q->out);
	free(q);
	*state = NULL;
}

int web_open(struct vmfs *v, const char *addrport, struct web **out, char *err, size_t errlen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char host[64];
	const char *colon = strrchr(addrport, ':');
	char *end;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!colon || colon == addrport || (size_t)(colon - addrport) >= sizeof(host) || *end ||
	    port < 1 || port > 65535) {
		snprintf(err, errlen, "web: \"%s\" is not ADDR:PORT, as in 127.0.0.1:9001", addrport);
		return -EINVAL;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addrport), addrport);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		snprintf(err, errlen, "web: \"%s\" is not an IPv4 address", host);
		return -EINVAL;
	}
	if ((ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
		snprintf(err, errlen, "web: %s is not a loopback address: without a password file "
			 "(not built yet) the server answers this host only", host);
		return -EACCES;
	}
	sa.sin_port = htons((uint16_t)port);
	struct web *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->v = v;
	w->cred = (struct vcred){v->owner, v->group, 0, 022};
	snprintf(w->addr, sizeof(w->addr), "%s", addrport);
	w->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, (uint16_t)port, NULL, NULL,
				answer, w, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_NOTIFY_COMPLETED, completed, w,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)256, MHD_OPTION_END);
	if (!w->d) {
		snprintf(err, errlen, "web: cannot listen on %s: %s", addrport, strerror(errno));
		free(w);
		return -EADDRINUSE;
	}
	*out = w;
	return 0;
}

static int web_run(void *arg)
{
	struct web *w = arg;
	MHD_run(w->d);
	return 0;
}

int web_attach(struct web *w, struct loop *l)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!i)
		return -EINVAL;
	int r = loop_add_fd(l, i->epoll_fd, web_run, w);
	/* timeouts and resumed connections are handled on the tick too */
	return r ? r : loop_add_timer(l, 500, web_run, w);
}

void web_close(struct web *w)
{
	if (!w)
		return;
	/* libmicrohttpd must not be stopped with requests suspended: they are answered first */
	while (w->parked) {
		struct req *q = w->parked;
		waiter_del(&q->wt);
		node_write_abandon(q->h);
		node_release(w->v, q->h);
		q->h = NULL;
		fail(q, EINTR, "vmfs is exiting: the command goes on without an answer");
		q->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		unpark(q);
	}
	MHD_run(w->d);
	MHD_stop_daemon(w->d);
	free(w);
}
