#include "web/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "vmfs/door.h"
#include "vmfs/loop.h"
#include "vmfs/remote.h"
#include "web/auth.h"
#include "web/authq.h"
#include "web/host.h"
#include "web/path.h"
#include "web/web_int.h"

#define BODY_MAX (1u << 20) /* a command or a value; images are copied in through the mount */
/* The seconds a connection may stay idle (an upgraded websocket is the proxy's, not
 * counted). */
#define WEB_IDLE_S 30

/* Walks path from the root: components "." and ".." (also as %2e%2e: libmicrohttpd has
 * decoded the path) never name anything, and a symlink is not followed. With last, the
 * last component is not looked up but copied there (mkdir and rmdir act on it). */
static int walk(struct vreq *q, const char *path, struct vnode *out, char *last, size_t lastlen)
{
	char buf[4096], *comp[128];
	int n = web_path_split(path, buf, sizeof(buf), comp, (int)ARRAY_SIZE(comp));
	if (n < 0)
		return n;
	if (last && !n)
		return -EINVAL;
	int r = node_from_ino(q->v, NODE_ROOT_INO, out);
	for (int i = 0; !r && i < n - (last ? 1 : 0); i++) {
		struct vnode next;
		struct stat st;
		if ((r = vreq_lookup(q, out, comp[i], &next)))
			return r;
		if (vreq_getattr(q, &next, &st) == 0 && S_ISLNK(st.st_mode))
			return -EACCES;
		*out = next;
	}
	if (!r && last)
		snprintf(last, lastlen, "%s", comp[n - 1]);
	return r;
}

/* A write's outcome: a ctl's answer (what reading it back gives), or "ok". */
static void write_done(struct req *q, ssize_t n)
{
	char buf[8192];
	ssize_t got = q->vq.h->n.e->file == VF_CTL ? web_read_now(q, buf, sizeof(buf) - 1, 0) : 0;
	buf[got > 0 ? got : 0] = 0;
	vreq_release(&q->vq);
	if (n < 0) {
		/* a ctl's reply is "error: REASON\n" already */
		buf[strcspn(buf, "\n")] = 0;
		web_fail(q, (int)-n, !strncmp(buf, "error: ", 7) ? buf + 7 : NULL);
		if (n == -EFBIG) /* a value or command too long: the request's fault */
			q->status = MHD_HTTP_BAD_REQUEST;
		return;
	}
	q->status = MHD_HTTP_OK;
	q->type = "text/plain; charset=utf-8";
	sb_puts(&q->out, got > 0 ? buf : "ok\n");
}

static void write_respond(struct vreq *vq, ssize_t n)
{
	struct req *q = (struct req *)((char *)vq - offsetof(struct req, vq));
	write_done(q, n);
	if (vq->later) { /* the connection was suspended meanwhile */
		q->done = true;
		web_unpark(q);
	}
}

/* The request's user may read path by their rules (the token: everything). */
static bool req_may_read(const void *ctx, const char *path)
{
	const struct req *q = ctx;
	if (!q->w->auth)
		return true;
	char *pass = NULL;
	char *user = MHD_basic_auth_get_username_password(q->c, &pass);
	bool ok = auth_may_read(q->w->auth, user, path);
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		MHD_free(pass);
	}
	if (user)
		MHD_free(user);
	return ok;
}

static void put_file(struct req *q, const struct vnode *n)
{
	int flags = n->e->file == VF_CTL ? O_RDWR : O_WRONLY | O_TRUNC;
	q->vq.cred.admin = q->admin;
	q->vq.cred.may_read = req_may_read;
	q->vq.cred.ctx = q;
	int r = vreq_open(&q->vq, n, flags);
	if (r) {
		web_fail(q, -r, NULL);
		return;
	}
	q->vq.respond = write_respond;
	if (vreq_write(&q->vq, q->body.p ? q->body.p : "", q->body.len, 0))
		web_park(q);
}

/* A request that changes something, or opens a VNC session, from a page of another site is
 * refused (CSRF, cross-site websocket hijacking): its Origin, when the browser sends one,
 * must be this server. */
static bool foreign(struct req *q)
{
	const char *origin = web_header(q, "Origin");
	const char *host = web_header(q, "Host");
	if (!origin)
		return false;
	const char *o = strstr(origin, "://");
	return !host || !o || strcmp(o + 3, host);
}

static const struct sockaddr *client_of(struct req *q)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(q->c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	return ci ? ci->client_addr : NULL;
}

static void refuse(struct req *q, const char *method, const char *url, const char *user,
		   const char *why)
{
	char what[1100];
	snprintf(what, sizeof(what), "%.16s %.1000s", method, url);
	web_refuse(q->w, client_of(q), what, user, why);
}

/* A Location header being written: percent-encoded, "/" if it does not fit. */
struct loc {
	char *p;
	size_t o, cap;
	unsigned args;
	bool over;
};

static void loc_put(struct loc *l, const char *s, size_t n, bool raw)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *c = (const unsigned char *)s; c < (const unsigned char *)s + n; c++) {
		bool plain = raw || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			     (*c >= '0' && *c <= '9') || (*c && strchr("/-._~", *c));
		if (l->o + 4 > l->cap) {
			l->over = true;
			return;
		}
		if (plain) {
			l->p[l->o++] = (char)*c;
		} else {
			l->p[l->o++] = '%';
			l->p[l->o++] = hex[*c >> 4];
			l->p[l->o++] = hex[*c & 15];
		}
	}
}

/* One argument of the URL, put back but for the token. */
static enum MHD_Result loc_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t keylen,
			       const char *value, size_t valuelen)
{
	struct loc *l = cls;
	if ((keylen == 5 && !memcmp(key, "token", 5)) || (!keylen && !value))
		return MHD_YES;
	loc_put(l, l->args++ ? "&" : "?", 1, true);
	loc_put(l, key, keylen, false);
	if (value) {
		loc_put(l, "=", 1, true);
		loc_put(l, value, valuelen, false);
	}
	return MHD_YES;
}

/* The URL the one-time URL meant: its path and arguments, without token=. */
static void location_of(struct req *q, const char *url)
{
	struct loc l = {q->location, 0, sizeof(q->location), 0, false};
	loc_put(&l, url, strlen(url), false);
	MHD_get_connection_values_n(q->c, MHD_GET_ARGUMENT_KIND, loc_arg, &l);
	if (l.over)
		snprintf(q->location, sizeof(q->location), "/");
	else
		q->location[l.o] = 0;
}

static void unauthorized(struct req *q, const char *why)
{
	q->status = MHD_HTTP_UNAUTHORIZED;
	q->out.len = 0;
	q->type = "text/plain; charset=utf-8";
	sb_printf(&q->out, "error: %s\n", why);
}

/* Without a password file: the token, as a bearer header, a cookie, or once in the URL
 * (answered with the cookie and a redirect to the URL without it, so that it leaves the
 * address bar and the history). Its holder read a file only root may read: host root, so
 * an admin (the host-reaching knobs too). */
static bool token_ok(struct req *q, const char *method, const char *url)
{
	struct web *w = q->w;
	const char *arg = web_arg(q, "token");
	if (arg) {
		if (!token_is(w->token, arg)) {
			refuse(q, method, url, NULL, "a wrong token in the URL");
			unauthorized(q, "the token in the URL is not this door's");
			return false;
		}
		q->set_cookie = true;
		q->status = MHD_HTTP_SEE_OTHER;
		location_of(q, url);
		sb_puts(&q->out, "logged in\n");
		return false;
	}
	const char *bearer = web_header(q, "Authorization");
	const char *cookie = MHD_lookup_connection_value(q->c, MHD_COOKIE_KIND, w->cookie);
	if ((bearer && !strncasecmp(bearer, "Bearer ", 7) && token_is(w->token, bearer + 7)) ||
	    (cookie && token_is(w->token, cookie))) {
		q->admin = true;
		return true;
	}
	refuse(q, method, url, NULL, bearer || cookie ? "a wrong token" : "no token");
	unauthorized(q, bearer || cookie
			    ? "the token is not this door's"
			    : "this door needs its token: send \"Authorization: Bearer TOKEN\" "
			      "(TOKEN is in the state directory's web-token file, readable by root) or "
			      "open this address with ?token=TOKEN once, in a browser");
	return false;
}

/* With a password file: HTTP Basic credentials, and a rule of that user covering the
 * path for this method. 401 asks for credentials, 403 says no. */
static bool authorized(struct req *q, const char *method, const char *url, enum auth_op op)
{
	struct web *w = q->w;
	if (!w->auth)
		return true;
	char *pass = NULL;
	char *user = MHD_basic_auth_get_username_password(q->c, &pass);
	char why[512];
	enum auth_verdict v =
	    auth_check_async(w->auth, user, pass, url, op, &q->proof, why, sizeof(why));
	if (v == AUTH_PENDING) {
		char who[WEB_ADDR_MAX];
		web_addr(client_of(q), who);
		int r = authq_ask(w->aq, q, who, pass, q->proof.hash);
		if (r == -EBUSY) {
			char busy[80];
			snprintf(busy, sizeof(busy), "%d password checks of this address are pending "
				 "already (429)", AUTHQ_PER_WHO);
			refuse(q, method, url, user, busy);
			q->status = MHD_HTTP_TOO_MANY_REQUESTS;
			q->retry_after = true;
			sb_printf(&q->out, "error: %d password checks from your address are waiting "
				  "already: try again in a second\n", AUTHQ_PER_WHO);
		} else if (r) {
			web_fail(q, -r, "cannot check the password now");
		} else {
			q->authwait = true;
			web_park(q);
		}
	} else if (v == AUTH_ALLOW) {
		q->admin = auth_admin(w->auth, user, url);
	} else {
		refuse(q, method, url, user, why);
		if (v == AUTH_NEED_LOGIN) {
			unauthorized(q, why);
		} else {
			web_fail(q, EACCES, why);
		}
	}
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		MHD_free(pass);
	}
	MHD_free(user);
	return v == AUTH_ALLOW;
}

static bool is_dir(const struct vnode *n)
{
	return n->e->file == VF_DIR || n->e->kind == VK_IMAGES;
}

static void serve(struct req *q, const char *url, const char *method)
{
	struct vnode n;
	char name[256] = "";
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	bool mk = !strcmp(method, "PUT") && url[strlen(url) - 1] == '/' && strlen(url) > 1;
	bool del = !strcmp(method, "DELETE");
	const char *upgrade = web_header(q, "Upgrade");
	bool ws = get && upgrade && !strcasecmp(upgrade, "websocket");
	if (!get && !del && strcmp(method, "PUT") && strcmp(method, "POST")) {
		q->status = MHD_HTTP_METHOD_NOT_ALLOWED;
		sb_puts(&q->out, "error: use GET, PUT, POST or DELETE\n");
		return;
	}
	if (!web_host_ok(q->w->hosts, web_header(q, "Host"))) {
		refuse(q, method, url, NULL, "DNS rebinding refused: the Host header names neither "
		       "this server's address, localhost nor a name of web_hosts");
		q->status = MHD_HTTP_MISDIRECTED_REQUEST;
		sb_puts(&q->out, "error: the Host header must be this server's address, localhost "
			"or a name of web_hosts (a page of another site through DNS rebinding?)\n");
		return;
	}
	if (q->w->token_on && !token_ok(q, method, url))
		return;
	if ((!get || ws) && foreign(q)) {
		refuse(q, method, url, NULL, "a request from another origin");
		web_fail(q, EACCES, "a request from another origin (Origin does not match Host)");
		return;
	}
	if (q->too_big) {
		web_fail(q, E2BIG, "the body is larger than 1 MiB");
		return;
	}
	if (!strncmp(url, "/ui/", 4) || !strcmp(url, "/ui")) {
		if (!get)
			web_fail(q, EACCES, "the browser pages are read only");
		else if (authorized(q, method, "/", AUTH_LIST))
			ui_get(q, url + 3);
		return;
	}
	/* who asks is settled before the path is looked at, so that a stranger cannot even
	 * tell which paths exist; a GET of a file is checked again below (a directory can be
	 * listed on the way to a rule's path, a file not); a VNC session types into the guest:
	 * it needs a writer */
	if (!authorized(q, method, url, get && !ws ? AUTH_LIST : AUTH_WRITE))
		return;
	int r = walk(&q->vq, url, &n, mk || del ? name : NULL, sizeof(name));
	if (r) {
		char why[4200];
		snprintf(why, sizeof(why), "%s: %s", url,
			 r == -EACCES ? "not a path of the tree" : strerror(-r));
		if (r == -EACCES)
			refuse(q, method, url, NULL, "not a path of the tree");
		web_fail(q, -r, why);
		return;
	}
	/* the vnc file shows the password of a VM's VNC port, which types into the guest as the
	 * websocket does: a writer's, as its mode 0400 keeps it root's on the mount */
	if (get && !is_dir(&n) &&
	    !authorized(q, method, url, n.e->kind == VK_OBJ_VNC ? AUTH_WRITE : AUTH_READ))
		return;
	if (mk || del) {
		mkrm_serve(q, &n, name, mk);
		return;
	}
	if (is_dir(&n)) {
		if (!get) {
			web_fail(q, EISDIR, "a directory: PUT DIR/NAME/ makes one in it");
			return;
		}
		const char *accept = web_header(q, "Accept");
		bool html = accept && strstr(accept, "text/html");
		if (html && n.e->kind == VK_ROOT && q->w->ui_dfd >= 0) {
			/* a browser at the server's address wants the pages */
			q->status = MHD_HTTP_FOUND;
			snprintf(q->location, sizeof(q->location), "/ui/");
			sb_puts(&q->out, "see /ui/\n");
			return;
		}
		get_dir(q, &n, url, html);
		return;
	}
	if (ws) {
		if (n.e->kind != VK_OBJ_VNC) {
			web_fail(q, EINVAL, "a websocket is served on a VM's vnc only");
			return;
		}
		vnc_upgrade(q, &n);
		return;
	}
	const char *size = web_arg(q, "size");
	if (get && size && n.e->kind == VK_OBJ_SCREENSHOT) {
		get_screenshot(q, &n, size);
		return;
	}
	if (get && web_arg(q, "follow") && (n.e->file == VF_STREAM || remote_is_console(&n))) {
		stream_console(q, &n);
		return;
	}
	if (get) {
		const char *fmt = web_arg(q, "format");
		get_file(q, &n, url, fmt && !strcmp(fmt, "json"));
	} else {
		put_file(q, &n);
	}
}

/* The request as the node operations see it (vmfs/vreq.h) is q->vq, current while it is
 * served: the reasons of its refusals are its own. */
static void handle(struct req *q, const char *url, const char *method)
{
	q->vq = (struct vreq){.v = q->w->v, .cred = q->w->cred};
	struct vreq *was = vreq_enter(&q->vq);
	serve(q, url, method);
	vreq_enter(was);
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
	if (!q->done && !q->vq.h) {
		handle(q, url, method);
		if (q->authwait)
			return MHD_YES; /* parked until a worker has checked the password */
		if ((q->vq.h && !q->stream) || q->name_wait)
			return MHD_YES; /* suspended: a start goes on, a member answers, a launch
					 * or a flush goes on; resumed */
		q->done = true;
	}
	if (sb_err(&q->out))
		return MHD_NO;
	struct MHD_Response *r = q->resp;
	q->resp = NULL;
	if (!r) {
		r = MHD_create_response_from_buffer(q->out.len, q->out.p ? q->out.p : "",
						    MHD_RESPMEM_MUST_COPY);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, "Content-Type",
					q->type ? q->type : "text/plain; charset=utf-8");
	}
	if (q->status != MHD_HTTP_SWITCHING_PROTOCOLS && !MHD_get_response_header(r, "Cache-Control"))
		MHD_add_response_header(r, "Cache-Control", "no-store");
	if (*q->location)
		MHD_add_response_header(r, "Location", q->location);
	if (q->retry_after)
		MHD_add_response_header(r, "Retry-After", "1");
	if (q->status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, "WWW-Authenticate",
					q->w->token_on ? "Bearer realm=\"vmfs\""
						       : "Basic realm=\"vmfs\", charset=\"UTF-8\"");
	if (q->set_cookie) {
		char c[TOKEN_HEX + 128];
		snprintf(c, sizeof(c), "%s=%s; Path=/; HttpOnly; SameSite=Strict%s", q->w->cookie,
			 q->w->token, q->w->tls ? "; Secure" : "");
		MHD_add_response_header(r, "Set-Cookie", c);
	}
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
	waiter_del(&q->wt);
	if (q->authwait)
		authq_forget(q->w->aq, q);
	if (q->vq.h) {
		/* gone while its start went on: it goes on; a read waits no more */
		vreq_abandon(&q->vq);
		vreq_release(&q->vq);
	} else if (q->name_wait) {
		vreq_abandon(&q->vq); /* (a launch or a flush goes on) */
	}
	free(q->url);
	if (q->prevp && (*q->prevp = q->next))
		q->next->prevp = q->prevp;
	if (q->resp)
		MHD_destroy_response(q->resp);
	vnc_abandon(q);
	sb_free(&q->body);
	sb_free(&q->out);
	free(q);
	*state = NULL;
}

/* A certificate or key that gnutls cannot use, with its reason: libmicrohttpd would only
 * fail to start, leaving errno to say something unrelated. */
static int tls_check(const struct web *w, const struct vmfs_conf *c, char *err, size_t errlen)
{
	gnutls_certificate_credentials_t cr;
	gnutls_x509_crt_t crt;
	gnutls_datum_t cd = {(unsigned char *)w->cert, (unsigned)strlen(w->cert)};
	gnutls_datum_t kd = {(unsigned char *)w->key, (unsigned)strlen(w->key)};
	int r = gnutls_x509_crt_init(&crt);
	if (r >= 0) {
		r = gnutls_x509_crt_import(crt, &cd, GNUTLS_X509_FMT_PEM); /* the first of a chain */
		gnutls_x509_crt_deinit(crt);
	}
	if (r < 0) {
		snprintf(err, errlen, "web: web_cert %s is not a PEM certificate: %s", c->web_cert,
			 gnutls_strerror(r));
		return -EINVAL;
	}
	if ((r = gnutls_certificate_allocate_credentials(&cr)) < 0) {
		snprintf(err, errlen, "web: TLS: %s", gnutls_strerror(r));
		return -ENOMEM;
	}
	r = gnutls_certificate_set_x509_key_mem(cr, &cd, &kd, GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(cr);
	if (r < 0) {
		snprintf(err, errlen, "web: web_key %s cannot be used with web_cert %s: %s", c->web_key,
			 c->web_cert, gnutls_strerror(r));
		return -EINVAL;
	}
	return 0;
}

static char *read_pem(const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	int r = read_small(AT_FDCWD, path, 1 << 20, &text, NULL);
	if (r) {
		snprintf(err, errlen, "web: cannot read %s: %s", path, strerror(-r));
		return NULL;
	}
	return text;
}

/* web/ui beside the binary's directory (the source tree's layout: vmfs/vmfs, web/ui). */
static void ui_default(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	if (snprintf(out, len, "%.4000s/../web/ui", exe) >= (int)len)
		*out = 0;
}

static void web_free(struct web *w)
{
	if (w->d)
		MHD_stop_daemon(w->d);
	authq_free(w->aq);
	auth_free(w->auth);
	get_cache_free(w);
	free(w->cert);
	free(w->key);
	free(w->hosts);
	explicit_bzero(w->token, sizeof(w->token));
	if (w->ui_dfd >= 0)
		close(w->ui_dfd);
	if (w->pep >= 0)
		close(w->pep);
	if (w->tfd >= 0)
		close(w->tfd);
	free(w);
}

static int web_open(struct vmfs *v, const struct vmfs_conf *c, struct web **out, char *err,
		    size_t errlen)
{
	const char *addrport = c->web;
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
	bool loopback = (ntohl(sa.sin_addr.s_addr) >> 24) == 127;
	if (!loopback && !*c->web_passwd && !c->web_insecure) {
		snprintf(err, errlen, "web: %s is not a loopback address: without a password file "
			 "(web_passwd) anyone who reaches it could do anything; give one, or set "
			 "web_insecure = true to serve it anyway", host);
		return -EACCES;
	}
	if (!*c->web_cert != !*c->web_key) {
		snprintf(err, errlen, "web: TLS needs both web_cert and web_key (PEM files)");
		return -EINVAL;
	}
	sa.sin_port = htons((uint16_t)port);
	struct web *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->v = v;
	w->ui_dfd = w->pep = -1;
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (w->tfd < 0) {
		snprintf(err, errlen, "web: %s", strerror(errno));
		web_free(w);
		return -errno;
	}
	w->cred = (struct vcred){v->owner, v->group, 0, 022, true};
	int r = 0;
	if (*c->web_passwd && (r = auth_load(c->web_passwd, &w->auth, err, errlen))) {
		web_free(w);
		return r;
	}
	if (w->auth && (r = authq_new(&w->aq))) {
		snprintf(err, errlen, "web: %s", strerror(-r));
		web_free(w);
		return r;
	}
	if (*c->web_cert && (!(w->cert = read_pem(c->web_cert, err, errlen)) ||
			     !(w->key = read_pem(c->web_key, err, errlen)))) {
		web_free(w);
		return -EINVAL;
	}
	w->tls = w->cert != NULL;
	if (w->tls && (r = tls_check(w, c, err, errlen))) {
		web_free(w);
		return r;
	}
	if (*c->web_hosts && !(w->hosts = strdup(c->web_hosts))) {
		web_free(w);
		return -ENOMEM;
	}
	snprintf(w->cookie, sizeof(w->cookie), "vmfs_token_%ld", port);
	bool made = false;
	if (!w->auth && (r = token_load(v->m.statefd, w->token, &made, err, errlen))) {
		web_free(w);
		return r;
	}
	w->token_on = !w->auth;
	char ui[PATH_MAX];
	if (*c->web_ui)
		snprintf(ui, sizeof(ui), "%s", c->web_ui);
	else
		ui_default(ui, sizeof(ui));
	if (ui_open(w, ui) && *c->web_ui) {
		snprintf(err, errlen, "web: web_ui %s: %s", ui, strerror(errno));
		web_free(w);
		return -ENOENT;
	}
	if ((r = vnc_init(w))) {
		snprintf(err, errlen, "web: %s", strerror(-r));
		web_free(w);
		return r;
	}
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE |
			 (w->tls ? MHD_USE_TLS : 0);
	/* the limits are conns_admit's, which logs whom it refuses; libmicrohttpd's, one
	 * above, would refuse first and silently */
	w->d = MHD_start_daemon(flags, (uint16_t)port, conns_admit, w, answer, w,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_NOTIFY_COMPLETED, completed, w,
				MHD_OPTION_NOTIFY_CONNECTION, conns_notify, w,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WEB_IDLE_S,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEB_CONNS + 1,
				w->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, w->cert,
				MHD_OPTION_HTTPS_MEM_KEY, w->key, MHD_OPTION_END);
	if (!w->d) {
		snprintf(err, errlen, "web: cannot listen on %s: %s", addrport, strerror(errno));
		web_free(w);
		return -EADDRINUSE;
	}
	if (!loopback && !w->auth)
		evlog_add(&v->log, "warning: web: serving %s with no password file (web_insecure)",
			  addrport);
	else if (!loopback && !w->tls)
		evlog_add(&v->log, "warning: web: passwords to %s travel in clear text: give "
			  "web_cert and web_key for TLS", addrport);
	const char *scheme = w->tls ? "https" : "http";
	if (w->token_on) {
		/* the token itself goes to a terminal only: a service's stderr ends in the journal,
		 * which others read (group adm), and never to host/log */
		fprintf(stderr, "vmfs: web: the token is in %s/%s (root's only): open "
			"%s://%s/?token=$(cat %s/%s)\n", c->state, TOKEN_FILE, scheme, addrport,
			c->state, TOKEN_FILE);
		if (isatty(STDERR_FILENO))
			fprintf(stderr, "vmfs: web: open %s://%s/?token=%s\n", scheme, addrport,
				w->token);
		evlog_add(&v->log, "web: serving %s://%s/ with a token%s (in %s/%s, root's only): "
			  "open %s://%s/?token=TOKEN, or send \"Authorization: Bearer TOKEN\"", scheme,
			  addrport, made ? " made now" : "", c->state, TOKEN_FILE, scheme, addrport);
	} else {
		evlog_add(&v->log, "web: serving %s://%s/ with the password file %s", scheme, addrport,
			  c->web_passwd);
	}
	*out = w;
	return 0;
}

/* Runs libmicrohttpd until it has nothing to do now, then arms the timer for when it will:
 * its epoll is edge-triggered, so a connection with more to send (a file, a stream) or one
 * just resumed would otherwise wait for the next event. */
static void web_kick(struct web *w)
{
	MHD_UNSIGNED_LONG_LONG t = 0;
	for (int i = 0; i < 64; i++) {
		MHD_run(w->d);
		if (MHD_get_timeout(w->d, &t) != MHD_YES || t)
			break;
	}
	struct itimerspec it = {{0, 0}, {0, 0}};
	if (MHD_get_timeout(w->d, &t) == MHD_YES) {
		if (!t)
			t = 1;
		it.it_value.tv_sec = t / 1000;
		it.it_value.tv_nsec = (long)(t % 1000) * 1000000L;
	}
	timerfd_settime(w->tfd, 0, &it, NULL);
}

static int web_run(void *arg)
{
	web_kick(arg);
	return 0;
}

static int web_timer(void *arg)
{
	struct web *w = arg;
	uint64_t n;
	if (read(w->tfd, &n, sizeof(n)) < 0) {
		/* a spurious wake: run anyway */
	}
	web_kick(w);
	return 0;
}

/* Every two seconds: followers whose client left, a changed password file. */
static int web_tick(void *arg)
{
	struct web *w = arg;
	stream_reap(w);
	web_refuse_flush(w, time(NULL));
	char err[1024];
	if (w->auth && auth_reload_if_changed(&w->auth, err, sizeof(err)) < 0)
		evlog_add(&w->v->log, "error: web: %s (the previous rules stay)", err);
	web_kick(w);
	return 0;
}

/* Passwords checked: their requests go on where they stopped (handle, from the top). */
static int web_authq_done(void *arg)
{
	struct web *w = arg;
	bool yes;
	struct req *q;
	while ((q = authq_take(w->aq, &yes))) {
		q->proof.answered = true;
		q->proof.yes = yes;
		q->authwait = false;
		web_unpark(q);
	}
	return 0;
}

static int web_attach(void *self, struct loop *l)
{
	struct web *w = self;
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!i)
		return -EINVAL;
	int r = loop_add_fd(l, i->epoll_fd, web_run, w);
	if (!r)
		r = loop_add_fd(l, w->pep, vnc_run, w);
	if (!r)
		r = loop_add_fd(l, w->tfd, web_timer, w);
	if (!r && w->aq)
		r = loop_add_fd(l, authq_fd(w->aq), web_authq_done, w);
	return r ? r : loop_add_timer(l, 2000, web_tick, w);
}

/* After the loop ended: connections are closed, suspended requests answered. */
static void web_close(void *self)
{
	struct web *w = self;
	vnc_close_all(w);
	/* libmicrohttpd must not be stopped with requests suspended: they are answered first */
	while (w->parked) {
		struct req *q = w->parked;
		waiter_del(&q->wt);
		if (q->stream)
			vreq_abandon(&q->vq); /* a follower's read waits no more */
		q->closing = true;
		if (q->authwait) {
			authq_forget(w->aq, q);
			q->authwait = false;
			web_fail(q, EINTR, "vmfs is exiting");
			q->status = MHD_HTTP_SERVICE_UNAVAILABLE;
			q->done = true;
		} else if (!q->stream) {
			vreq_abandon(&q->vq);
			if (q->vq.h)
				vreq_release(&q->vq);
			q->name_wait = false;
			web_fail(q, EINTR, "vmfs is exiting: the command goes on without an answer");
			q->status = MHD_HTTP_SERVICE_UNAVAILABLE;
			q->done = true;
		}
		web_unpark(q);
	}
	MHD_run(w->d);
	web_free(w);
}

static const struct door_ops web_door_ops = {web_attach, web_close, NULL};

int web_door_open(struct vmfs *v, const struct vmfs_conf *c, struct door *out, char *err,
		  size_t errlen)
{
	struct web *w;
	int r = web_open(v, c, &w, err, errlen);
	if (!r)
		*out = (struct door){&web_door_ops, w, -1};
	return r;
}
