/* etcd_watch (watch.h): one gRPC stream of etcd's Watch/Watch at a time on a thread of the
 * watch's own: one framed WatchRequest creates the watch, then each framed WatchResponse is
 * checked and its events queued for the taker, who is woken through an eventfd. When a stream
 * ends the thread opens the next endpoint's from the revision after the last event queued, so
 * the taker sees every event once. */
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

#include "etcd/grpc.h"
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
	int64_t watch_id; /* etcd's, once created */
	struct grpc_status gst;
	struct grpc_frames frames;
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

/* --- one response of the stream --- */

static int one_event(struct etcd_watch *w, const PbEvent *pe, struct etcd_event *ev, int64_t *last,
		     struct err *e)
{
	const char *where = "etcd watch";
	if (!pe)
		return err_set(e, EPROTO, "%s: an empty event", where);
	if (pe->type != ETCDSERVERPB__EVENT__EVENT_TYPE__PUT &&
	    pe->type != ETCDSERVERPB__EVENT__EVENT_TYPE__DELETE)
		return err_set(e, EPROTO, "%s: an event of type %d", where, (int)pe->type);
	ev->type = pe->type == ETCDSERVERPB__EVENT__EVENT_TYPE__PUT ? ETCD_EV_PUT : ETCD_EV_DELETE;
	int r = grpc_kv(pe->kv, ev->type == ETCD_EV_DELETE, &ev->kv, where, e);
	if (r)
		return r;
	struct etcd_kv *k = &ev->kv;
	if (strncmp(k->key, w->prefix, strlen(w->prefix)))
		r = err_set(e, EPROTO, "%s of %.80s: an event of %.80s", where, w->prefix, k->key);
	else if (k->mod_revision < *last || k->mod_revision < w->next_rev)
		r = err_set(e, EPROTO,
			    "%s: an event of %.80s at revision %" PRId64 ", after %" PRId64
			    " was handed over",
			    where, k->key, k->mod_revision,
			    *last > w->next_rev - 1 ? *last : w->next_rev - 1);
	if (r) {
		etcd_kv_free(k);
		return r;
	}
	if (ev->type == ETCD_EV_DELETE)
		k->create_revision = k->version = k->lease = 0;
	*last = k->mod_revision;
	return 0;
}

static int events(struct etcd_watch *w, const PbWatchResponse *m, struct err *e)
{
	size_t n = m->n_events;
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
	int r = 0;
	for (size_t i = 0; i < n && !r; i++) {
		if ((r = one_event(w, m->events[i], &it->ev[i], &last, e)))
			break;
		it->n++;
		it->bytes += sizeof(*it->ev) + strlen(it->ev[i].kv.key) + it->ev[i].kv.value_len;
	}
	/* etcd sends a batch at the revision of its last event, or later */
	if (!r && m->header && m->header->revision > 0 && last > m->header->revision)
		r = err_set(e, EPROTO,
			    "etcd watch: an event at revision %" PRId64 " in an answer at %" PRId64,
			    last, (int64_t)m->header->revision);
	if (r) {
		free_events(it->ev, it->n);
		free(it);
		return r;
	}
	it->status = ETCD_W_EVENTS;
	push(w, it);
	w->next_rev = last + 1;
	return 0;
}

static void compacted(struct etcd_watch *w, int64_t compact, const char *said)
{
	char why[WHY_MAX];
	if (compact)
		snprintf(why, sizeof(why),
			 "etcd watch of %.80s: etcd has compacted its history up to revision "
			 "%" PRId64 ", and revision %" PRId64 " was needed: range again",
			 w->prefix, compact, w->next_rev);
	else if (w->next_rev)
		snprintf(why, sizeof(why),
			 "etcd watch of %.80s: etcd says revision %" PRId64
			 " is out of range (%.200s): range again",
			 w->prefix, w->next_rev, said);
	else
		snprintf(why, sizeof(why),
			 "etcd watch of %.80s: etcd says its start is out of range (%.200s): range "
			 "again",
			 w->prefix, said);
	push_status(w, ETCD_W_COMPACTED, compact, why);
}

/* One WatchResponse: 0, or -errno to end the stream (w->ended: for good). */
static int message(struct etcd_watch *w, const uint8_t *p, size_t len, struct err *e)
{
	ProtobufCMessage *pm;
	int r =
	    grpc_unpack(&etcdserverpb__watch_response__descriptor, p, len, &pm, "etcd watch", e);
	if (r)
		return r;
	const PbWatchResponse *m = (const PbWatchResponse *)pm;
	if (m->fragment) {
		/* (its parts would each look like a whole batch and split a revision) */
		r = err_set(e, EPROTO,
			    "etcd watch: a response in fragments, which were not asked for");
	} else if (m->compact_revision < 0) {
		r = err_set(e, EPROTO, "etcd watch: compact revision %" PRId64,
			    (int64_t)m->compact_revision);
	} else if (m->compact_revision > 0) {
		compacted(w, m->compact_revision, "");
		r = -ECANCELED;
	} else if (m->canceled) {
		char text[WHY_MAX / 2];
		const char *why =
		    m->cancel_reason && *m->cancel_reason ? m->cancel_reason : "(no reason)";
		etcd_clean(text, sizeof(text), why, strlen(why), 200);
		r = err_set(e, EIO, "etcd watch: etcd canceled it: %s", text);
	} else if (m->created) {
		int64_t rev = 0;
		if (w->created)
			r = err_set(e, EPROTO, "etcd watch: made twice on one stream");
		else if (!w->next_rev) /* from now: a later stream goes on from here */
			r = grpc_header_revision(m->header, &rev, "etcd watch", e);
		if (!r) {
			w->created = true;
			w->watch_id = m->watch_id;
			if (rev)
				w->next_rev = rev + 1;
			if (w->down) {
				w->down = false;
				push_status(w, ETCD_W_UP, 0, "");
			}
		}
	} else if (w->created && m->watch_id != w->watch_id) {
		r = err_set(e, EPROTO,
			    "etcd watch: an answer of watch %" PRId64 " on the stream of %" PRId64,
			    (int64_t)m->watch_id, w->watch_id);
	}
	if (!r)
		r = events(w, m, e);
	protobuf_c_message_free_unpacked(pm, NULL);
	return r;
}

/* --- the stream --- */

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct etcd_watch *w = arg;
	size_t n = size * nmemb;
	if (stopping(w))
		return 0;
	/* (trailers come this way too: grpc-status when the stream ends) */
	grpc_status_line(&w->gst, data, n);
	return n;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct etcd_watch *w = arg;
	size_t n = size * nmemb;
	if (stopping(w))
		return 0;
	if (!w->status)
		curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->status != 200) { /* not gRPC's answer (a proxy's?): its body, for the reason */
		size_t k = n < ERRBODY_MAX - w->errlen ? n : ERRBODY_MAX - w->errlen;
		memcpy(w->errbody + w->errlen, data, k);
		w->errlen += k;
		return n;
	}
	if (!w->gst.is_grpc) {
		err_set(&w->serr, EPROTO,
			"etcd watch: the answer is not gRPC's (application/grpc)");
		goto fail;
	}
	int r = grpc_frames_add(&w->frames, data, n);
	if (r) {
		err_set(&w->serr, -r,
			r == -EFBIG ? "etcd watch: a message longer than the most taken"
				    : "etcd watch: out of memory");
		goto fail;
	}
	for (;;) {
		const uint8_t *msg;
		size_t len;
		char why[200];
		r = grpc_frames_next(&w->frames, &msg, &len, why, sizeof(why));
		if (!r)
			break;
		if (r < 0) {
			err_set(&w->serr, EPROTO, "etcd watch: %s", why);
			goto fail;
		}
		r = message(w, msg, len, &w->serr);
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

/* The stream's one request, framed: create a watch of the prefix from next_rev (0: now).
 * (etcd goes on streaming after the request body ends.) */
static int request(const struct etcd_watch *w, uint8_t **body, size_t *len)
{
	uint8_t end[ETCD_KEY_MAX + 1], every = 0;
	size_t n = strlen(w->prefix);
	PbWatchCreateRequest cr = ETCDSERVERPB__WATCH_CREATE_REQUEST__INIT;
	PbWatchRequest req = ETCDSERVERPB__WATCH_REQUEST__INIT;
	/* every key: from "\0" (etcd takes no empty key) to the end, "\0" */
	cr.key.data = n ? (uint8_t *)w->prefix : &every;
	cr.key.len = n ? n : 1;
	cr.range_end.len = grpc_prefix_end(w->prefix, end);
	cr.range_end.data = end;
	cr.start_revision = w->next_rev;
	req.request_union_case = ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_CREATE_REQUEST;
	req.create_request = &cr;
	return grpc_pack(&req.base, body, len);
}

/* Why a stream that said nothing hostile ended, in e (-errno); a compacted start ends the
 * watch (w->ended). */
static int ended(struct etcd_watch *w, const char *where, CURLcode rc, const char *curlerr,
		 struct err *e)
{
	const struct grpc_status *g = &w->gst;
	int64_t code;
	if (w->status && w->status != 200)
		return etcd_refused(where, w->status, g, w->errbody, w->errlen, &code, e);
	if (g->seen && g->code == 11) { /* OutOfRange: the start revision is compacted */
		compacted(w, 0, *g->message ? g->message : "no reason given");
		return -ECANCELED;
	}
	if (g->seen && g->code)
		return etcd_refused(where, 200, g, NULL, 0, &code, e); /* (status 200 or not seen) */
	if (rc != CURLE_OK)
		return err_set(e, EIO, "%s: %s", where,
			       *curlerr ? curlerr : curl_easy_strerror(rc));
	if (grpc_frames_pending(&w->frames))
		return err_set(e, EPROTO, "%s: the stream ended within a message (%zu bytes)",
			       where, grpc_frames_pending(&w->frames));
	return err_set(e, EIO, "%s: etcd ended the stream%s", where,
		       g->seen ? "" : " without a gRPC status");
}

/* One stream from endpoint i: 1 if it was made (and has ended since), else -errno; either
 * way why it ended in e. */
static int stream(struct etcd_watch *w, size_t i, struct err *e)
{
	char url[600], curlerr[CURL_ERROR_SIZE] = "";
	snprintf(url, sizeof(url), "%s%s", etcd_endpoint(w->c, i), GRPC_WATCH);
	bool next;
	int r = etcd_auth(w->c, i, now_ms() + etcd_timeout_ms(w->c), &next, e);
	if (r)
		return r;
	uint8_t *body = NULL;
	size_t blen = 0;
	if ((r = request(w, &body, &blen)))
		return err_set(e, -r, "etcd watch: cannot make its request");
	/* hasleader: a node cut off from the others ends the stream rather than go silent */
	struct curl_slist *h1 = NULL, *hdr = NULL;
	if (!etcd_headers(w->c, &h1))
		hdr = curl_slist_append(h1, "hasleader: true");
	if (!hdr) {
		free(body);
		curl_slist_free_all(h1);
		return err_set(e, ENOMEM, "etcd watch: out of memory");
	}
	w->status = 0;
	w->errlen = 0;
	w->created = w->failed = false;
	w->gst = (struct grpc_status){0};
	w->frames.len = w->frames.used = 0;
	w->created_by = now_ms() + etcd_timeout_ms(w->c);
	CURL *h = w->h;
	curl_easy_reset(h);
	if (curl_easy_setopt(h, CURLOPT_URL, url) || etcd_curl_tls(w->c, h) ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)blen) ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr) ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, etcd_timeout_ms(w->c)) ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) ||
	    curl_easy_setopt(h, CURLOPT_HEADERDATA, w) ||
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
	} else {
		ended(w, where, rc, curlerr, e);
	}
	/* (one that was made and then said something hostile, or ended with etcd's refusal
	 * or within a message, counts as a failure: an endpoint that keeps doing so ends in
	 * DOWN, with its reason) */
	bool bad_end = (w->gst.seen && w->gst.code) || grpc_frames_pending(&w->frames);
	r = w->created && !w->failed && !bad_end ? 1 : -(e->no ? e->no : EIO);
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
	int r = grpc_check_prefix(prefix, e);
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
	grpc_frames_free(&w->frames);
	free(w->prefix);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}
