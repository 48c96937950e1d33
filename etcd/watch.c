/* etcd_watch (watch.h): one stream of the gateway's POST /v3/watch at a time on a thread of
 * the watch's own, its messages (one JSON object a line) checked and their events queued for
 * the taker, who is woken through an eventfd. When a stream ends the thread opens the next
 * endpoint's from the revision after the last event queued, so the taker sees every event once. */
#include "etcd/watch.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "etcd/gwjson.h"
#include "etcd/transport.h"

#define WHY_MAX 512
#define ERRBODY_MAX 4096
/* A round of endpoints that all failed is tried again this much later. */
#define RETRY_MS 500
/* and a stream that ended is followed by the next one this much later, so an endpoint that
 * takes streams and ends them at once does not make the thread spin */
#define NEXT_MS 100

struct item {
	struct item *next;
	enum etcd_wstatus status;
	struct etcd_event *ev;
	size_t n, bytes;
	int64_t compact;
	char why[WHY_MAX];
};

struct etcd_watch {
	struct etcd *c; /* the endpoints, TLS files and bound of the options, checked */
	char *prefix;
	int efd;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	bool stop;
	int sock; /* the stream's socket, shut down to end it at once on close; -1 */
	struct item *head, *tail;
	size_t qevents, qbytes;
	/* the thread's alone */
	CURL *h;
	int64_t next_rev; /* where a stream starts: after the last event queued (0: now) */
	bool down, ended;
	/* the stream under way */
	long status, created_by;
	bool created, failed;
	char *line;
	size_t len, cap;
	char errbody[ERRBODY_MAX];
	size_t errlen;
	struct err serr; /* why it ended, when failed */
};

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static bool stopping(struct etcd_watch *w) { return __atomic_load_n(&w->stop, __ATOMIC_ACQUIRE); }

static void free_events(struct etcd_event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++)
		etcd_kv_free(&ev[i].kv);
	free(ev);
}

static void free_queue(struct etcd_watch *w)
{
	while (w->head) {
		struct item *it = w->head;
		w->head = it->next;
		free_events(it->ev, it->n);
		free(it);
	}
	w->tail = NULL;
	w->qevents = w->qbytes = 0;
}

static void wake(struct etcd_watch *w)
{
	uint64_t one = 1;
	if (write(w->efd, &one, sizeof(one)) < 0) {
		/* (only EAGAIN, at a counter near 2^64: it is readable then anyway) */
	}
}

/* Queues it (taken over). Events beyond the queue's bounds empty it and end the watch with
 * COMPACTED: the taker was too slow and must range again. */
static void push(struct etcd_watch *w, struct item *it)
{
	pthread_mutex_lock(&w->mu);
	if (it->status == ETCD_W_EVENTS && (w->qevents + it->n > ETCD_WATCH_QUEUE_EVENTS ||
					    w->qbytes + it->bytes > ETCD_WATCH_QUEUE_BYTES)) {
		free_queue(w);
		free_events(it->ev, it->n);
		*it = (struct item){.status = ETCD_W_COMPACTED};
		snprintf(
		    it->why, sizeof(it->why),
		    "etcd watch of %.80s: more than %d events or %ld bytes waited to be taken; "
		    "they were dropped: range again",
		    w->prefix, ETCD_WATCH_QUEUE_EVENTS, ETCD_WATCH_QUEUE_BYTES);
		w->ended = true;
	}
	w->qevents += it->n;
	w->qbytes += it->bytes;
	if (w->tail)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	wake(w);
	pthread_mutex_unlock(&w->mu);
}

static void push_status(struct etcd_watch *w, enum etcd_wstatus st, int64_t compact,
			const char *why)
{
	struct item *it = calloc(1, sizeof(*it));
	if (!it) {
		/* a status lost for want of memory would leave the taker waiting: end instead */
		w->ended = true;
		return;
	}
	it->status = st;
	it->compact = compact;
	snprintf(it->why, sizeof(it->why), "%s", why);
	push(w, it);
	if (st == ETCD_W_COMPACTED)
		w->ended = true;
}

/* --- one message of the stream --- */

static int get_bool(json_object *o, const char *name, bool *v, struct err *e)
{
	json_object *j;
	*v = false;
	if (!json_object_object_get_ex(o, name, &j) || json_object_is_type(j, json_type_null))
		return 0;
	if (!json_object_is_type(j, json_type_boolean))
		return err_set(e, EPROTO, "etcd watch: %s is not a boolean", name);
	*v = json_object_get_boolean(j);
	return 0;
}

static const char *get_text(json_object *o, const char *name)
{
	json_object *j;
	if (json_object_object_get_ex(o, name, &j) && json_object_is_type(j, json_type_string))
		return json_object_get_string(j);
	return NULL;
}

/* {"error": ...} in the stream: etcd's reason, in words */
static int stream_error(json_object *j, struct err *e)
{
	char text[WHY_MAX / 2];
	const char *m = json_object_is_type(j, json_type_string)   ? json_object_get_string(j)
			: json_object_is_type(j, json_type_object) ? get_text(j, "message")
								   : NULL;
	if (!m)
		m = "(no message)";
	etcd_clean(text, sizeof(text), m, strlen(m), 200);
	return err_set(e, EIO, "etcd watch: etcd says: %s", text);
}

static int one_event(struct etcd_watch *w, json_object *j, struct etcd_event *ev, int64_t *last,
		     struct err *e)
{
	json_object *kv;
	const char *where = "etcd watch";
	if (!json_object_is_type(j, json_type_object))
		return err_set(e, EPROTO, "%s: an event is not an object", where);
	const char *type = "PUT";
	if (json_object_object_get_ex(j, "type", &kv) && !json_object_is_type(kv, json_type_null) &&
	    !(type = get_text(j, "type")))
		return err_set(e, EPROTO, "%s: an event's type is not a string", where);
	if (strcmp(type, "PUT") && strcmp(type, "DELETE"))
		return err_set(e, EPROTO, "%s: an event of type %.20s", where, type);
	ev->type = *type == 'P' ? ETCD_EV_PUT : ETCD_EV_DELETE;
	if (!json_object_object_get_ex(j, "kv", &kv))
		return err_set(e, EPROTO, "%s: an event without its key", where);
	int r = gj_parse_kv(kv, &ev->kv, where, e);
	if (r)
		return r;
	struct etcd_kv *k = &ev->kv;
	if (strncmp(k->key, w->prefix, strlen(w->prefix)))
		r = err_set(e, EPROTO, "%s of %s: an event of %.80s", where, w->prefix, k->key);
	else if (k->mod_revision < *last || k->mod_revision < w->next_rev)
		r = err_set(e, EPROTO,
			    "%s: an event of %.80s at revision %" PRId64 ", after %" PRId64
			    " was handed over",
			    where, k->key, k->mod_revision,
			    *last > w->next_rev - 1 ? *last : w->next_rev - 1);
	else if (ev->type == ETCD_EV_PUT && (!k->version || !k->create_revision))
		r = err_set(e, EPROTO, "%s: a put of %.80s without version or create_revision",
			    where, k->key);
	if (r) {
		etcd_kv_free(k);
		return r;
	}
	if (ev->type == ETCD_EV_DELETE)
		k->create_revision = k->version = k->lease = 0;
	*last = k->mod_revision;
	return 0;
}

static int events(struct etcd_watch *w, json_object *a, struct err *e)
{
	if (!json_object_is_type(a, json_type_array))
		return err_set(e, EPROTO, "etcd watch: events is not a list");
	size_t n = json_object_array_length(a);
	if (!n)
		return 0;
	if (!w->created)
		return err_set(e, EPROTO, "etcd watch: events before the watch was made");
	struct item *it = calloc(1, sizeof(*it));
	if (!it || !(it->ev = calloc(n, sizeof(*it->ev)))) {
		free(it);
		return err_set(e, ENOMEM, "etcd watch: out of memory");
	}
	int64_t last = 0;
	for (size_t i = 0; i < n; i++) {
		int r = one_event(w, json_object_array_get_idx(a, i), &it->ev[i], &last, e);
		if (r) {
			free_events(it->ev, it->n);
			free(it);
			return r;
		}
		it->n++;
		it->bytes += sizeof(*it->ev) + strlen(it->ev[i].kv.key) + it->ev[i].kv.value_len;
	}
	it->status = ETCD_W_EVENTS;
	push(w, it);
	w->next_rev = last + 1;
	return 0;
}

/* One line of the stream: 0, or -errno to end it (w->ended: for good). */
static int message(struct etcd_watch *w, const char *s, size_t n, struct err *e)
{
	if (n > INT32_MAX || memchr(s, 0, n))
		return err_set(e, EPROTO, "etcd watch: a message holds a NUL byte");
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return err_set(e, ENOMEM, "etcd watch: out of memory");
	json_object *j = json_tokener_parse_ex(tok, s, (int)n), *res, *x;
	size_t used = (size_t)json_tokener_get_parse_end(tok);
	bool whole = json_tokener_get_error(tok) == json_tokener_success;
	json_tokener_free(tok);
	while (whole && used < n && strchr(" \t\r", s[used]))
		used++;
	int r = 0;
	if (!j || !whole || used != n || !json_object_is_type(j, json_type_object)) {
		char text[128];
		etcd_clean(text, sizeof(text), s, n, 60);
		r = err_set(e, EPROTO, "etcd watch: a message that is not one JSON object: \"%s\"",
			    text);
		goto out;
	}
	if (json_object_object_get_ex(j, "error", &x)) {
		r = stream_error(x, e);
		goto out;
	}
	if (!json_object_object_get_ex(j, "result", &res) ||
	    !json_object_is_type(res, json_type_object)) {
		r = err_set(e, EPROTO, "etcd watch: a message without a result");
		goto out;
	}
	bool created, canceled;
	int64_t compact, rev = 0;
	if ((r = get_bool(res, "created", &created, e)) ||
	    (r = get_bool(res, "canceled", &canceled, e)) ||
	    (r = gj_get_i64(res, "compact_revision", 0, &compact, "etcd watch", e)))
		goto out;
	if (json_object_object_get_ex(res, "header", &x) &&
	    (!json_object_is_type(x, json_type_object) ||
	     (r = gj_get_i64(x, "revision", 0, &rev, "etcd watch", e)))) {
		r = r ? r : err_set(e, EPROTO, "etcd watch: header is not an object");
		goto out;
	}
	if (created) {
		if (w->created) {
			r = err_set(e, EPROTO, "etcd watch: made twice on one stream");
			goto out;
		}
		w->created = true;
		if (!w->next_rev) /* from now: a later stream goes on from here */
			w->next_rev = rev + 1;
		if (w->down) {
			w->down = false;
			push_status(w, ETCD_W_UP, 0, "");
		}
	}
	if (compact) {
		char why[WHY_MAX];
		snprintf(
		    why, sizeof(why),
		    "etcd watch of %.80s: etcd has compacted its history up to revision %" PRId64
		    ", and revision %" PRId64 " was needed: range again",
		    w->prefix, compact, w->next_rev);
		push_status(w, ETCD_W_COMPACTED, compact, why);
		r = -ECANCELED;
		goto out;
	}
	if (canceled) {
		char text[WHY_MAX / 2];
		const char *m = get_text(res, "cancel_reason");
		etcd_clean(text, sizeof(text), m ? m : "(no reason)", m ? strlen(m) : 11, 200);
		r = err_set(e, EIO, "etcd watch: etcd canceled it: %s", text);
		goto out;
	}
	if (json_object_object_get_ex(res, "events", &x) && !json_object_is_type(x, json_type_null))
		r = events(w, x, e);
out:
	json_object_put(j);
	return r;
}

/* --- the stream --- */

static bool take_line(struct etcd_watch *w, const char *p, size_t n)
{
	if (n > ETCD_REPLY_MAX - w->len) {
		err_set(&w->serr, EFBIG, "etcd watch: a message longer than %d bytes",
			ETCD_REPLY_MAX);
		return false;
	}
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		while (cap < w->len + n + 1)
			cap *= 2;
		char *nb = realloc(w->line, cap);
		if (!nb) {
			err_set(&w->serr, ENOMEM, "etcd watch: out of memory");
			return false;
		}
		w->line = nb;
		w->cap = cap;
	}
	memcpy(w->line + w->len, p, n);
	w->len += n;
	return true;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct etcd_watch *w = arg;
	size_t n = size * nmemb;
	if (stopping(w))
		return 0;
	if (!w->status)
		curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->status != 200) { /* etcd's refusal, for the reason */
		size_t k = n < ERRBODY_MAX - w->errlen ? n : ERRBODY_MAX - w->errlen;
		memcpy(w->errbody + w->errlen, data, k);
		w->errlen += k;
		return n;
	}
	for (size_t at = 0; at < n;) {
		char *nl = memchr(data + at, '\n', n - at);
		size_t k = nl ? (size_t)(nl - (data + at)) : n - at;
		if (!take_line(w, data + at, k))
			goto fail;
		at += k + (nl != NULL);
		if (!nl)
			break;
		bool blank = true;
		for (size_t i = 0; i < w->len && blank; i++)
			blank = strchr(" \t\r", w->line[i]) != NULL;
		int r = blank ? 0 : message(w, w->line, w->len, &w->serr);
		w->len = 0;
		if (w->ended)
			return 0;
		if (r)
			goto fail;
	}
	return n;
fail:
	w->failed = true;
	return 0;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	struct etcd_watch *w = arg;
	if (stopping(w))
		return 1;
	if (!w->created && now_ms() > w->created_by) {
		err_set(&w->serr, ETIMEDOUT, "etcd watch: not made within %ld ms",
			etcd_timeout_ms(w->c));
		w->failed = true;
		return 1;
	}
	return 0;
}

/* Keep-alives, so that a node that dies without closing the connection ends the stream too
 * (idle 2 s, then 2 probes 1 s apart: about 4 s) */
static int on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	(void)arg, (void)purpose;
	int on = 1, idle = 2, intvl = 1, cnt = 2;
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)))
		return CURL_SOCKOPT_ERROR;
	return CURL_SOCKOPT_OK;
}

static curl_socket_t on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	(void)purpose;
	struct etcd_watch *w = arg;
	pthread_mutex_lock(&w->mu);
	int fd = w->stop ? -1 : socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd >= 0)
		w->sock = fd;
	pthread_mutex_unlock(&w->mu);
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static int on_close(void *arg, curl_socket_t fd)
{
	struct etcd_watch *w = arg;
	pthread_mutex_lock(&w->mu);
	if (w->sock == fd)
		w->sock = -1;
	int r = close(fd);
	pthread_mutex_unlock(&w->mu);
	return r;
}

static char *request(struct etcd_watch *w)
{
	json_object *req = json_object_new_object(), *cr = json_object_new_object();
	char *s = NULL;
	if (req && cr && !gj_add_range(cr, w->prefix, true) &&
	    (!w->next_rev || !gj_add_i64(cr, "start_revision", w->next_rev)) &&
	    gj_adopt(req, "create_request", cr)) {
		cr = NULL;
		const char *t = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
		s = t ? strdup(t) : NULL;
	}
	json_object_put(cr);
	json_object_put(req);
	return s;
}

/* One stream from endpoint i: 1 if it was made (and has ended since), else -errno; either
 * way why it ended in e. */
static int stream(struct etcd_watch *w, size_t i, struct err *e)
{
	char url[600], curlerr[CURL_ERROR_SIZE] = "";
	snprintf(url, sizeof(url), "%s/v3/watch", etcd_endpoint(w->c, i));
	bool next;
	int r = etcd_auth(w->c, i, now_ms() + etcd_timeout_ms(w->c), &next, e);
	if (r)
		return r;
	char *body = request(w);
	/* hasleader: a node cut off from the others ends the stream rather than go silent */
	struct curl_slist *h1 = NULL, *hdr = NULL;
	if (!etcd_headers(w->c, &h1))
		hdr = curl_slist_append(h1, "Grpc-Metadata-hasleader: true");
	if (!body || !hdr) {
		free(body);
		curl_slist_free_all(h1);
		return err_set(e, ENOMEM, "etcd watch: out of memory");
	}
	w->status = 0;
	w->len = w->errlen = 0;
	w->created = w->failed = false;
	w->created_by = now_ms() + etcd_timeout_ms(w->c);
	CURL *h = w->h;
	curl_easy_reset(h);
	if (curl_easy_setopt(h, CURLOPT_URL, url) || etcd_curl_tls(w->c, h) ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr) ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, etcd_timeout_ms(w->c)) ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, w) ||
	    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) ||
	    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress) ||
	    curl_easy_setopt(h, CURLOPT_XFERINFODATA, w) ||
	    curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, on_sockopt) ||
	    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open) ||
	    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, w) ||
	    curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, on_close) ||
	    curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, w) ||
	    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L) ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr)) {
		r = err_set(e, ENOMEM, "etcd watch: cannot set up libcurl");
		goto out;
	}
	CURLcode rc = curl_easy_perform(h);
	if (!w->status)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &w->status);
	char where[700];
	snprintf(where, sizeof(where), "etcd watch %s", url);
	if (w->failed) {
		*e = w->serr;
		err_wrap(e, "%s", url);
	} else if (w->status && w->status != 200) {
		int64_t code;
		etcd_refused(where, w->status, w->errbody, w->errlen, &code, e);
	} else if (rc != CURLE_OK) {
		err_set(e, EIO, "%s: %s", where, *curlerr ? curlerr : curl_easy_strerror(rc));
	} else {
		err_set(e, EIO, "%s: etcd ended the stream", where);
	}
	/* (one that was made and then said something hostile counts as a failure: an endpoint
	 * that keeps doing so ends in DOWN, with its reason) */
	r = w->created && !w->failed ? 1 : -(e->no ? e->no : EIO);
	if (!w->created) /* perhaps for its token: the next stream gets a new one */
		etcd_auth_forget(w->c);
out:
	free(body);
	curl_slist_free_all(hdr);
	return r;
}

static void pause_ms(struct etcd_watch *w, long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->mu);
	while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&w->mu);
}

static void *run(void *arg)
{
	struct etcd_watch *w = arg;
	size_t n = etcd_endpoints(w->c), i = 0, fails = 0;
	while (!stopping(w) && !w->ended) {
		struct err e;
		err_clear(&e);
		int r = stream(w, i, &e);
		if (stopping(w) || w->ended)
			break;
		i = (i + 1) % n;
		if (r == 1) {
			fails = 0;
			pause_ms(w, NEXT_MS);
			continue;
		}
		if (++fails >= n && !w->down) {
			char why[WHY_MAX];
			snprintf(why, sizeof(why),
				 "no etcd endpoint answers the watch of %.80s: %.380s", w->prefix,
				 e.why);
			w->down = true;
			push_status(w, ETCD_W_DOWN, 0, why);
		}
		if (fails % n == 0)
			pause_ms(w, RETRY_MS);
	}
	return NULL;
}

int etcd_watch_open(const struct etcd_opts *o, const char *prefix, int64_t start_revision,
		    struct etcd_watch **out, struct err *e)
{
	int r = gj_check_prefix(prefix, e);
	if (r)
		return r;
	if (start_revision < 0)
		return err_set(e, EINVAL, "etcd watch: from revision %" PRId64, start_revision);
	struct etcd_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return err_set(e, ENOMEM, "etcd watch: out of memory");
	w->efd = -1;
	w->sock = -1;
	w->next_rev = start_revision;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((r = etcd_open(o, &w->c, e)))
		goto fail;
	if (!(w->prefix = strdup(prefix)) || !(w->h = curl_easy_init())) {
		r = err_set(e, ENOMEM, "etcd watch: out of memory");
		goto fail;
	}
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		r = err_sys(e, errno, "etcd watch: eventfd");
		goto fail;
	}
	if ((r = pthread_create(&w->thread, NULL, run, w))) {
		r = err_sys(e, r, "etcd watch: a thread");
		goto fail;
	}
	w->started = true;
	*out = w;
	return 0;
fail:
	etcd_watch_close(w);
	return r;
}

int etcd_watch_fd(const struct etcd_watch *w) { return w->efd; }

int etcd_watch_take(struct etcd_watch *w, struct etcd_wbatch *out)
{
	memset(out, 0, sizeof(*out));
	out->status = ETCD_W_NONE;
	pthread_mutex_lock(&w->mu);
	uint64_t v;
	if (read(w->efd, &v, sizeof(v)) < 0) {
		/* (EAGAIN: nothing was signalled; the queue says the same) */
	}
	struct item *it = w->head;
	if (it && it->status == ETCD_W_EVENTS) {
		/* every batch of events up to the next status, as one */
		size_t n = 0, k = 0;
		struct item *p;
		for (p = it; p && p->status == ETCD_W_EVENTS; p = p->next)
			n += p->n;
		struct etcd_event *all = p != it->next ? malloc(n * sizeof(*all)) : NULL;
		if (!all) { /* one batch alone then: its own array */
			all = it->ev;
			n = it->n;
			it->ev = NULL;
			p = it->next;
		} else {
			for (struct item *q = it; q != p; q = q->next) {
				memcpy(all + k, q->ev, q->n * sizeof(*all));
				k += q->n;
				free(q->ev);
				q->ev = NULL;
			}
		}
		while (w->head != p) {
			struct item *q = w->head;
			w->head = q->next;
			w->qevents -= q->n;
			w->qbytes -= q->bytes;
			free(q);
		}
		out->status = ETCD_W_EVENTS;
		out->events = all;
		out->n = n;
	} else if (it) {
		w->head = it->next;
		out->status = it->status;
		out->compact_revision = it->compact;
		memcpy(out->why, it->why, sizeof(out->why));
		free(it);
	}
	if (!w->head)
		w->tail = NULL;
	else
		wake(w);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void etcd_wbatch_free(struct etcd_wbatch *b)
{
	if (!b)
		return;
	free_events(b->events, b->n);
	b->events = NULL;
	b->n = 0;
}

void etcd_watch_close(struct etcd_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	__atomic_store_n(&w->stop, true, __ATOMIC_RELEASE);
	if (w->sock >= 0) /* the stream ends now, not at libcurl's next look at progress */
		shutdown(w->sock, SHUT_RDWR);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (w->started)
		pthread_join(w->thread, NULL);
	free_queue(w);
	if (w->h)
		curl_easy_cleanup(w->h);
	etcd_close(w->c);
	if (w->efd >= 0)
		close(w->efd);
	free(w->line);
	free(w->prefix);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}
