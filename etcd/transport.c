#include "etcd/transport.h"

#include "etcd/grpc.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ENDPOINTS_MAX 16
#define URL_MAX 512
#define TOKEN_MAX 1024
#define USER_MAX 256

struct etcd {
	char *url[ENDPOINTS_MAX];
	size_t n;
	size_t first; /* the endpoint that answered last: tried first */
	char *ca, *cert, *key;
	long timeout_ms;
	CURL *curl;
	char *user, *password; /* RBAC: both or neither */
	char *token;	       /* from authenticate (NULL: none yet; "": etcd has no auth) */
	size_t token_ep;       /* the endpoint that gave it */
	/* The last call went over HTTP/2 and its connection stays: the next asks for plain
	 * HTTP/2 (libcurl reuses that connection), not for prior knowledge, which libcurl 7.88
	 * mishandles on a connection it reuses ("Error in the HTTP2 framing layer", curl issue
	 * 10634, fixed in 8.0). */
	bool h2_live;
	size_t h2_ep; /* the endpoint it is with */
};

/* curl_global_init is not safe to run twice at once; every handle goes through here */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

static int check_url(const char *u, size_t len, struct err *e)
{
	if (len == 0)
		return err_set(e, EINVAL, "etcd: an empty endpoint in the list");
	if (len >= URL_MAX)
		return err_set(e, EINVAL, "etcd: endpoint %.40s... is too long", u);
	size_t scheme = !strncmp(u, "http://", 7) ? 7 : !strncmp(u, "https://", 8) ? 8 : 0;
	if (!scheme || len == scheme)
		return err_set(e, EINVAL,
			       "etcd: endpoint %.*s is not http://HOST:PORT or https://HOST:PORT",
			       (int)len, u);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)u[i] <= ' ' || u[i] == 0x7f || u[i] == '?' || u[i] == '#')
			return err_set(
			    e, EINVAL,
			    "etcd: endpoint %.*s holds a space, control character, '?' or '#'",
			    (int)len, u);
	return 0;
}

static int check_file(const char *what, const char *path, struct err *e)
{
	if (path && access(path, R_OK))
		return err_sys(e, errno, "etcd: %s %s cannot be read", what, path);
	return 0;
}

static int check_user(const char *u, struct err *e)
{
	size_t n = strlen(u);
	bool printable = n > 0 && n <= USER_MAX;
	for (size_t i = 0; i < n && printable; i++)
		printable = (unsigned char)u[i] > ' ' && u[i] != 0x7f;
	if (!printable)
		return err_set(e, EINVAL,
			       "etcd: a user name of 1 to %d characters without spaces or control "
			       "characters",
			       USER_MAX);
	return 0;
}

int etcd_open(const struct etcd_opts *o, struct etcd **out, struct err *e)
{
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc)
		return err_set(e, EIO, "etcd: libcurl: %s", curl_easy_strerror(curl_init_rc));
	if (!o->endpoints || !*o->endpoints)
		return err_set(e, EINVAL, "etcd: no endpoint given");
	if (!o->cert != !o->key)
		return err_set(
		    e, EINVAL,
		    "etcd: a client certificate needs its key and a key its certificate");
	int r;
	if ((r = check_file("CA file", o->ca, e)) || (r = check_file("certificate", o->cert, e)) ||
	    (r = check_file("key", o->key, e)))
		return r;
	if (o->timeout_ms < 0)
		return err_set(e, EINVAL, "etcd: a negative timeout");
	if (o->user && !o->password_file)
		return err_set(e, EINVAL, "etcd: user %s needs a password file", o->user);
	char host[HOST_NAME_MAX + 1] = "";
	const char *user = o->user;
	if (o->password_file && !user) { /* a host's own user, as the design names them */
		if (gethostname(host, sizeof(host)))
			return err_sys(e, errno, "etcd: the host name, for etcd's user");
		host[HOST_NAME_MAX] = 0;
		user = host;
	}
	if (user && (r = check_user(user, e)))
		return r;
	struct etcd *c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(e, ENOMEM, "etcd: out of memory");
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : ETCD_TIMEOUT_MS;
	for (const char *p = o->endpoints;;) {
		size_t len = strcspn(p, ",");
		if ((r = check_url(p, len, e)))
			goto fail;
		if (c->n == ENDPOINTS_MAX) {
			r = err_set(e, EINVAL, "etcd: more than %d endpoints", ENDPOINTS_MAX);
			goto fail;
		}
		/* a trailing '/' would make "//v3/..." */
		size_t keep = len;
		while (keep > 0 && p[keep - 1] == '/')
			keep--;
		if (!(c->url[c->n++] = strndup(p, keep)))
			goto nomem;
		if (!p[len])
			break;
		p += len + 1;
	}
	if ((o->ca && !(c->ca = strdup(o->ca))) || (o->cert && !(c->cert = strdup(o->cert))) ||
	    (o->key && !(c->key = strdup(o->key))) || (user && !(c->user = strdup(user))) ||
	    !(c->curl = curl_easy_init()))
		goto nomem;
	if (o->password_file && (r = etcd_read_password(o->password_file, &c->password, e)))
		goto fail;
	*out = c;
	return 0;
nomem:
	r = err_set(e, ENOMEM, "etcd: out of memory");
fail:
	etcd_close(c);
	return r;
}

void etcd_close(struct etcd *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->url[i]);
	free(c->ca);
	free(c->cert);
	free(c->key);
	free(c->user);
	if (c->password) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	free(c->token);
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c);
}

size_t etcd_endpoints(const struct etcd *c) { return c->n; }

const char *etcd_endpoint(const struct etcd *c, size_t i) { return c->url[i % c->n]; }

long etcd_timeout_ms(const struct etcd *c) { return c->timeout_ms; }

int etcd_curl_tls(const struct etcd *c, CURL *h)
{
	/* gRPC is HTTP/2 only: at once on http:// (etcd tells it from HTTP/1 by its first
	 * bytes), by ALPN on https:// */
	int bad = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") ||
		  curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
				   (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE) ||
		  curl_easy_setopt(h, CURLOPT_NOPROXY, "*") ||
		  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) ||
		  (c->ca && curl_easy_setopt(h, CURLOPT_CAINFO, c->ca)) ||
		  (c->cert && curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert)) ||
		  (c->key && curl_easy_setopt(h, CURLOPT_SSLKEY, c->key));
	return bad ? -ENOMEM : 0;
}

/* An answer as it comes: its messages cut out of the stream, its gRPC status from the
 * headers and trailers. */
struct answer {
	struct grpc_frames f;
	struct grpc_status st;
	bool too_big;
	/* The request's body, handed to libcurl by a read function without a seek one: libcurl
	 * cannot send it again by itself (it does so for a POST on a reused connection that
	 * died before an answer, which could apply a txn twice). handed: some of it went out,
	 * so the request may have reached etcd. */
	const uint8_t *body;
	size_t len, off;
	bool handed;
};

static size_t give(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	size_t n = size * nmemb < a->len - a->off ? size * nmemb : a->len - a->off;
	memcpy(buf, a->body + a->off, n);
	a->off += n;
	a->handed |= n > 0;
	return n;
}

static size_t take(char *data, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	size_t n = size * nmemb;
	int r = grpc_frames_add(&a->f, data, n);
	if (r == -EFBIG)
		a->too_big = true;
	return r ? 0 : n; /* 0: curl stops with CURLE_WRITE_ERROR */
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	grpc_status_line(&a->st, data, size * nmemb);
	return size * nmemb;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* s (from a peer) for a reason in words: printable ASCII only, at most max characters */
void etcd_clean(char *dst, size_t dstlen, const char *s, size_t len, size_t max)
{
	size_t o = 0;
	for (size_t i = 0; i < len && i < max && o + 5 < dstlen; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= ' ' && ch < 0x7f)
			dst[o++] = (char)ch;
		else
			o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", ch);
	}
	if (len > max && o + 4 < dstlen)
		o += (size_t)snprintf(dst + o, dstlen - o, "...");
	dst[o] = 0;
}

int etcd_refused(const char *where, long status, const struct grpc_status *st,
		 const void *body, size_t len, int64_t *code, struct err *e)
{
	*code = -1;
	if (status == 200 && st->seen) {
		*code = st->code;
		return err_set(e, grpc_code_errno(st->code), "%s: gRPC code %d (%s): %s", where,
			       st->code, grpc_code_name(st->code),
			       st->message[0] ? st->message : "(no message)");
	}
	if (status == 200)
		return err_set(e, EPROTO, "%s: the answer has no gRPC status", where);
	char text[256];
	etcd_clean(text, sizeof(text), body ? body : "", body ? len : 0, 200);
	return err_set(e, status == 404 || status == 415 ? ENOSYS : EIO,
		       "%s: HTTP %ld, not a gRPC answer: \"%s\"%s", where, status, text,
		       !st->is_grpc ? " (not etcd's gRPC API: is this etcd 3.4 or later?)" : "");
}

/* An answer with status OK: exactly one message, unpacked as desc's. */
static int parse(const char *where, struct answer *a, const ProtobufCMessageDescriptor *desc,
		 ProtobufCMessage **reply, struct err *e)
{
	const uint8_t *m;
	size_t len;
	char why[160];
	int r = grpc_frames_next(&a->f, &m, &len, why, sizeof(why));
	if (r < 0)
		return err_set(e, EPROTO, "%s: %s", where, why);
	if (r == 0)
		return err_set(e, EPROTO, "%s: the answer holds no whole message", where);
	if ((r = grpc_unpack(desc, m, len, reply, where, e)))
		return r;
	if (grpc_frames_pending(&a->f)) {
		protobuf_c_message_free_unpacked(*reply, NULL);
		*reply = NULL;
		return err_set(e, EPROTO, "%s: the answer holds more than one message", where);
	}
	return 0;
}

/* Whether a failed transfer surely did not reach the endpoint (so another may be asked):
 * nothing of its body went out (etcd applies nothing without it). */
static bool not_sent(const struct answer *a, CURLcode rc)
{
	return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT || !a->handed;
}

static int curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return EHOSTUNREACH;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return EPROTO;
	default:
		return EIO;
	}
}

static int setup(struct etcd *c, const char *url, long left, struct answer *a, char *curlerr,
		 struct curl_slist *hdr)
{
	CURL *h = c->curl;
	curl_easy_reset(h);
	long connect = c->timeout_ms / (long)c->n;
	if (connect < 200)
		connect = 200;
	/* (each setopt below can only fail for want of memory or an old libcurl) */
	int bad = curl_easy_setopt(h, CURLOPT_URL, url) || etcd_curl_tls(c, h) ||
		  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left) ||
		  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect < left ? connect : left) ||
		  curl_easy_setopt(h, CURLOPT_POST, 1L) ||
		  curl_easy_setopt(h, CURLOPT_READFUNCTION, give) ||
		  curl_easy_setopt(h, CURLOPT_READDATA, a) ||
		  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)a->len) ||
		  /* one connection kept: a new one closes the last (an HTTP/1.1 one that asked
		   * to upgrade, below, would else be picked again and again) */
		  curl_easy_setopt(h, CURLOPT_MAXCONNECTS, 1L) ||
		  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr) ||
		  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, take) ||
		  curl_easy_setopt(h, CURLOPT_WRITEDATA, a) ||
		  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) ||
		  curl_easy_setopt(h, CURLOPT_HEADERDATA, a) ||
		  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr);
	return bad ? -ENOMEM : 0;
}

/* A note of why endpoint i was not reached, added to tried (for the error if none is). */
static void note(char *tried, size_t *tlen, size_t cap, const char *why)
{
	*tlen += (size_t)snprintf(tried + *tlen, cap - *tlen, "%s%s", *tlen ? "; " : "", why);
	if (*tlen >= cap)
		*tlen = cap - 1;
}

/* etcd's Unavailable (code 14) is said both by a node that did not take the request (no
 * leader, not capable) and by one that proposed it and did not see it through in time (request
 * timed out, leader changed): only the first, or a request that changes nothing, may go to
 * another node. */
static bool not_applied(const char *path, const struct err *e)
{
	return !strcmp(path, GRPC_RANGE) || !strcmp(path, GRPC_AUTHENTICATE) ||
	       strstr(e->why, "etcdserver: no leader") || strstr(e->why, "etcdserver: not capable");
}

static int may_be_applied(struct err *e)
{
	char why[sizeof(e->why)];
	snprintf(why, sizeof(why), "%s", e->why);
	return err_set(e, ETIMEDOUT, "%s (the request may have been applied)", why);
}

/* One call of path with req (framed) at endpoint i, with the handle's token if it has one:
 * 0 and *reply, or -errno and *next if it surely did not reach the endpoint or the endpoint
 * cannot serve (so another may be asked). *code: etcd's gRPC code of a refusal, else -1. */
static int post(struct etcd *c, size_t i, const char *path, const uint8_t *req, size_t len,
		long deadline, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **reply,
		bool *next, int64_t *code, struct err *e)
{
	char url[URL_MAX + 64], where[URL_MAX + 80], curlerr[CURL_ERROR_SIZE] = "";
	snprintf(url, sizeof(url), "%s%s", c->url[i], path);
	snprintf(where, sizeof(where), "etcd %s", url);
	*next = false;
	*code = -1;
	long left = deadline - now_ms();
	if (left <= 0)
		return err_set(e, ETIMEDOUT, "%s: no time left of the %ld ms", where,
			       c->timeout_ms);
	struct curl_slist *hdr = NULL;
	int r = etcd_headers(c, &hdr);
	struct answer a = {.body = req, .len = len};
	if (r || setup(c, url, left, &a, curlerr, hdr)) {
		curl_slist_free_all(hdr);
		return err_set(e, ENOMEM, "%s: cannot set up libcurl", where);
	}
	bool reuse = c->h2_live && c->h2_ep == i;
	if (reuse)
		curl_easy_setopt(c->curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_0);
	else /* (prior knowledge never on a connection libcurl kept) */
		curl_easy_setopt(c->curl, CURLOPT_FRESH_CONNECT, 1L);
	c->h2_ep = i;
	CURLcode rc = curl_easy_perform(c->curl);
	long status = 0, version = 0;
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(c->curl, CURLINFO_HTTP_VERSION, &version);
	}
	c->h2_live = rc == CURLE_OK && version == CURL_HTTP_VERSION_2_0;
	if (reuse && rc == CURLE_OK && !c->h2_live) {
		/* the connection had gone: a new one spoke HTTP/1.1 (asking to upgrade), which
		 * etcd's HTTP/1 side answers without applying anything (it has no such path):
		 * again, at once in HTTP/2 on a new connection */
		grpc_frames_free(&a.f);
		a = (struct answer){.body = req, .len = len};
		left = deadline - now_ms();
		curl_easy_setopt(c->curl, CURLOPT_HTTP_VERSION,
				 (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
		curl_easy_setopt(c->curl, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, left > 1 ? left : 1L);
		rc = curl_easy_perform(c->curl);
		status = version = 0;
		if (rc == CURLE_OK) {
			curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
			curl_easy_getinfo(c->curl, CURLINFO_HTTP_VERSION, &version);
		}
		c->h2_live = rc == CURLE_OK && version == CURL_HTTP_VERSION_2_0;
	}
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK) {
		const char *why = a.too_big  ? "the answer is larger than the most taken"
				  : *curlerr ? curlerr
					     : curl_easy_strerror(rc);
		*next = !a.too_big && not_sent(&a, rc);
		if (*next)
			r = err_set(e, curl_errno(rc), "%s: %s", c->url[i], why);
		else
			r = err_set(e, a.too_big ? EFBIG : curl_errno(rc), "%s: %s%s", where, why,
				    a.handed && !a.too_big
					? " (the request was sent: it may have been applied)"
					: "");
	} else if (status != 200 || !a.st.seen || a.st.code != 0) {
		r = etcd_refused(where, status, &a.st, a.f.buf, a.f.len, code, e);
		*next = *code == 14 && not_applied(path, e);
		if (*code == 14 && !*next)
			r = may_be_applied(e);
	} else {
		r = parse(where, &a, desc, reply, e);
	}
	grpc_frames_free(&a.f);
	return r;
}

/* etcd refused the token (it expired, or this node does not know it) or wanted one: such a
 * request was not applied, and is sent again once with a new token. */
static bool auth_refused(int64_t code, const struct err *e)
{
	return code == 16 || (code == 3 && strstr(e->why, "etcdserver: user name is empty"));
}

/* A token for endpoint i, by user and password (an auth refusal is EACCES with etcd's words). */
static int authenticate(struct etcd *c, size_t i, long deadline, bool *next, struct err *e)
{
	const char *where = "etcd " GRPC_AUTHENTICATE;
	etcd_auth_forget(c);
	Etcdserverpb__AuthenticateRequest req = ETCDSERVERPB__AUTHENTICATE_REQUEST__INIT;
	req.name = c->user;
	req.password = c->password;
	uint8_t *body;
	size_t len;
	if (grpc_pack(&req.base, &body, &len))
		return err_set(e, ENOMEM, "%s: out of memory", where);
	int64_t code;
	ProtobufCMessage *m = NULL;
	int r = post(c, i, GRPC_AUTHENTICATE, body, len, deadline,
		     &etcdserverpb__authenticate_response__descriptor, &m, next, &code, e);
	explicit_bzero(body, len);
	free(body);
	if (r) {
		if (*next)
			return r;
		if (code == 9 && strstr(e->why, "authentication is not enabled")) {
			/* etcd without auth: the requests go without a token */
			c->token = strdup("");
			c->token_ep = i;
			return c->token ? 0 : err_set(e, ENOMEM, "%s: out of memory", where);
		}
		if (code >= 0)
			r = -EACCES;
		e->no = -r;
		return err_wrap(e, "etcd: authenticating as %s", c->user);
	}
	const Etcdserverpb__AuthenticateResponse *rep = (void *)m;
	const char *t = rep->token ? rep->token : "";
	size_t tlen = strlen(t);
	bool printable = tlen > 0 && tlen <= TOKEN_MAX;
	for (size_t k = 0; k < tlen && printable; k++)
		printable = t[k] > ' ' && t[k] < 0x7f;
	if (!printable)
		r = err_set(e, EPROTO,
			    "%s: the answer has no token of 1 to %d printable characters", where,
			    TOKEN_MAX);
	else if (!(c->token = strdup(t)))
		r = err_set(e, ENOMEM, "%s: out of memory", where);
	c->token_ep = i;
	protobuf_c_message_free_unpacked(m, NULL);
	return r;
}

int etcd_headers(struct etcd *c, struct curl_slist **hdr)
{
	char auth[TOKEN_MAX + 32];
	/* (no Expect: 100-continue, which would hold a large txn back a second) */
	const char *fixed[] = {"Content-Type: application/grpc", "TE: trailers", "Expect:"};
	struct curl_slist *h = NULL;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		struct curl_slist *n = curl_slist_append(h, fixed[i]);
		if (!n)
			goto nomem;
		h = n;
	}
	if (c->token && *c->token) { /* gRPC metadata "token", as etcd's own clients send it */
		snprintf(auth, sizeof(auth), "token: %s", c->token);
		struct curl_slist *n = curl_slist_append(h, auth);
		if (!n)
			goto nomem;
		h = n;
	}
	*hdr = h;
	return 0;
nomem:
	curl_slist_free_all(h);
	return -ENOMEM;
}

void etcd_auth_forget(struct etcd *c)
{
	free(c->token);
	c->token = NULL;
}

int etcd_auth(struct etcd *c, size_t i, long deadline, bool *next, struct err *e)
{
	*next = false;
	if (!c->user || (c->token && c->token_ep == i % c->n))
		return 0;
	return authenticate(c, i % c->n, deadline, next, e);
}

int etcd_authenticate(struct etcd *c, struct err *e)
{
	if (!c->user)
		return err_set(e, EINVAL, "etcd: no user to authenticate as");
	long deadline = now_ms() + c->timeout_ms;
	char tried[1024] = "";
	size_t tlen = 0;
	int last_no = EHOSTUNREACH;
	for (size_t k = 0; k < c->n; k++) {
		size_t i = (c->first + k) % c->n;
		bool next;
		etcd_auth_forget(c);
		int r = etcd_auth(c, i, deadline, &next, e);
		if (!r)
			c->first = i;
		if (!r || !next)
			return r;
		last_no = e->no;
		note(tried, &tlen, sizeof(tried), e->why);
	}
	return err_set(e, last_no, "etcd %s: no endpoint answered: %s", GRPC_AUTHENTICATE, tried);
}

int etcd_rpc(struct etcd *c, const char *path, const ProtobufCMessage *req,
	     const ProtobufCMessageDescriptor *desc, ProtobufCMessage **reply, struct err *e)
{
	uint8_t *body;
	size_t len;
	*reply = NULL;
	int r = grpc_pack(req, &body, &len);
	if (r)
		return err_set(e, -r, "etcd %s: %s", path,
			       r == -EFBIG ? "the request is too large" : "out of memory");
	long deadline = now_ms() + c->timeout_ms;
	/* the reasons of the endpoints that were not reached, for the error if none is */
	char tried[1024] = "";
	size_t tlen = 0;
	int last_no = EHOSTUNREACH;
	bool again = true; /* one new token for a request refused for its token */
	for (size_t k = 0; k < c->n; k++) {
		size_t i = (c->first + k) % c->n;
		bool next;
		int64_t code = -1;
		if (deadline - now_ms() <= 0) {
			r = err_set(e, ETIMEDOUT, "etcd %s: no endpoint answered within %ld ms%s%s",
				    path, c->timeout_ms, tlen ? ": " : "", tried);
			goto out;
		}
		if (!(r = etcd_auth(c, i, deadline, &next, e)))
			r = post(c, i, path, body, len, deadline, desc, reply, &next, &code, e);
		if (r && !next && c->user && again && auth_refused(code, e)) {
			again = false;
			etcd_auth_forget(c);
			k--; /* the same endpoint */
			continue;
		}
		if (!r)
			c->first = i;
		if (!r || !next)
			goto out;
		last_no = e->no;
		note(tried, &tlen, sizeof(tried), e->why);
	}
	r = err_set(e, last_no, "etcd %s: no endpoint answered: %s", path, tried);
out:
	free(body);
	return r;
}
