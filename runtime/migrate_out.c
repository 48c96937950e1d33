/* The source of a live migration: its overlays mirrored onto the destination's NBD exports
 * (blockdev-mirror sync=top, write-blocking: once READY every guest write is on both sides
 * before it completes, so the destination's disks are whole when the guest stops here), then
 * QEMU's migration. One QMP connection held throughout (runtime/qmpsess.h) carries the
 * events the steps wait for. That work runs in a thread of its own, so that vmfs answers
 * everything else meanwhile; the thread touches nothing of the model: what the migration
 * changes (the log, the state) is done back in the event loop (out_finish). A source whose
 * migration reached `completed` is never resumed: its QEMU is ended, whatever follows. */
#include "runtime/migrate.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "runtime/migtls.h"
#include "runtime/qmon.h"
#include "runtime/qmpsess.h"
#include "runtime/run.h"
#include "runtime/waitq.h"

#define QMP_MS 10000 /* as the destination's (runtime/migrate.c): a loaded host answers late */
#define READY_MS 60000	  /* the mirrors' first copy */
#define MIGRATE_MS 120000 /* the RAM copy, under TCG too */
#define DEST_RESUME_MS 5000

struct out {
	int njobs, nready, nended;
	bool stopped, job_failed;
	long long stop_usec;
	char status[32]; /* the last MIGRATION status */
	char job_err[256];
};

static void out_event(void *ctx, const char *name, json_object *data, long long usec)
{
	struct out *x = ctx;
	const char *dev = qjstr(data, "device");
	bool ours = dev && !strncmp(dev, "mig-", 4);
	if (!strcmp(name, "STOP")) {
		x->stopped = true;
		x->stop_usec = usec;
	} else if (!strcmp(name, "RESUME"))
		x->stopped = false;
	else if (!strcmp(name, "MIGRATION") && qjstr(data, "status"))
		snprintf(x->status, sizeof(x->status), "%s", qjstr(data, "status"));
	else if (ours && !strcmp(name, "BLOCK_JOB_READY"))
		x->nready++;
	else if (ours &&
		 (!strcmp(name, "BLOCK_JOB_COMPLETED") || !strcmp(name, "BLOCK_JOB_CANCELLED"))) {
		x->nended++;
		const char *why = qjstr(data, "error");
		if (why && !x->job_failed) {
			x->job_failed = true;
			snprintf(x->job_err, sizeof(x->job_err), "%s: %s", dev + 4, why);
		}
	}
}

static bool all_ready(void *ctx)
{
	struct out *x = ctx;
	return x->job_failed || x->nended || x->nready >= x->njobs;
}
static bool migration_ended(void *ctx)
{
	struct out *x = ctx;
	return !strcmp(x->status, "completed") || !strcmp(x->status, "failed") ||
	       !strcmp(x->status, "cancelled");
}
static bool jobs_ended(void *ctx)
{
	struct out *x = ctx;
	return x->nended >= x->njobs;
}

/* The mirrors (and their nbd nodes) go; force: a failed migration does not wait for them. */
static void mirrors_end(struct qsess *s, struct out *x, const char *disks, int nodes, bool force)
{
	char list[1024], cmd[256], *save = NULL;
	struct err e;
	snprintf(list, sizeof(list), "%s", disks);
	int i = 0;
	for (char *d = strtok_r(list, " ", &save); d && i < x->njobs;
	     d = strtok_r(NULL, " ", &save), i++) {
		d[strcspn(d, "=")] = 0;
		snprintf(cmd, sizeof(cmd),
			 "{\"execute\":\"block-job-cancel\",\"arguments\":"
			 "{\"device\":\"mig-%s\",\"force\":%s}}",
			 d, force ? "true" : "false");
		if (qsess_cmd(s, cmd, QMP_MS, NULL, 0, &e))
			x->nended++; /* gone already (the destination closed its export) */
	}
	qsess_wait(s, QMP_MS, jobs_ended);
	snprintf(list, sizeof(list), "%s", disks);
	i = 0;
	for (char *d = strtok_r(list, " ", &save); d && i < nodes;
	     d = strtok_r(NULL, " ", &save), i++) {
		d[strcspn(d, "=")] = 0;
		snprintf(cmd, sizeof(cmd),
			 "{\"execute\":\"blockdev-del\",\"arguments\":"
			 "{\"node-name\":\"mig-nbd-%s\"}}",
			 d);
		qsess_cmd(s, cmd, QMP_MS, NULL, 0, &e);
	}
}

/* Each disk mirrored onto the destination's export of the same name; *nodes: how many nbd
 * nodes were added. */
static int mirrors_start(struct qsess *s, struct out *x, const char *disks, const char *naddr,
			 int nport, int *nodes, struct err *e)
{
	char list[1024], cmd[1024], *save = NULL;
	snprintf(list, sizeof(list), "%s", disks);
	for (char *d = strtok_r(list, " ", &save); d; d = strtok_r(NULL, " ", &save)) {
		char *node = strchr(d, '=');
		if (!node)
			return err_set(e, EPROTO, "no node name for %s", d);
		*node++ = 0;
		snprintf(
		    cmd, sizeof(cmd),
		    "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
		    "\"nbd\",\"node-name\":\"mig-nbd-%s\",\"server\":{\"type\":\"inet\",\"host\":"
		    "\"%s\",\"port\":\"%d\"},\"export\":\"%s\"%s}}",
		    d, naddr, nport, d, migtls_on() ? ",\"tls-creds\":\"" MIGTLS_ID "\"" : "");
		if (qsess_cmd(s, cmd, QMP_MS, NULL, 0, e))
			return err_wrap(e,
					"cannot reach the destination's NBD export of %s at %s:%d",
					d, naddr, nport);
		++*nodes;
		snprintf(cmd, sizeof(cmd),
			 "{\"execute\":\"blockdev-mirror\",\"arguments\":{\"job-id\":"
			 "\"mig-%s\",\"device\":\"%s\",\"target\":\"mig-nbd-%s\",\"sync\":\"top\","
			 "\"copy-mode\":\"write-blocking\"}}",
			 d, node, d);
		if (qsess_cmd(s, cmd, QMP_MS, NULL, 0, e))
			return err_wrap(e, "cannot mirror %s", d);
		x->njobs++;
	}
	int r = qsess_wait(s, READY_MS, all_ready);
	if (r == -ETIMEDOUT)
		return err_set(e, r, "the disks' mirrors were not in step within %d s",
			       READY_MS / 1000);
	if (r)
		return err_set(e, r, "QEMU closed QMP during the mirror");
	if (x->job_failed || x->nended)
		return err_set(e, EIO, "the mirror of %s",
			       *x->job_err ? x->job_err : "a disk ended");
	return 0;
}

static long long now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* The destination closes its NBD port as its guest resumes (runtime/migrate.c: until then
 * the port takes connections into a backlog nobody accepts): the source sees the resume as
 * that port refusing. 0 if it did not within the time. A probe not answered at once (a
 * backlog full) counts as not yet: it never holds the loop of probes. */
static long long dest_resumed(const char *addr, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, addr, &sa.sin_addr);
	/* every 5 ms (the pause's precision): the destination is busy resuming meanwhile */
	for (int i = 0; i < DEST_RESUME_MS / 5; i++) {
		long long next = now_usec() + 5000;
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		int r = fd < 0 ? 0 : connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		bool refused = fd >= 0 && r < 0 && errno == ECONNREFUSED;
		if (fd >= 0 && r < 0 && errno == EINPROGRESS) {
			struct pollfd p = {fd, POLLOUT, 0};
			int err = 0;
			socklen_t len = sizeof(err);
			refused = poll(&p, 1, 5) == 1 &&
				  !getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) &&
				  err == ECONNREFUSED;
		}
		if (fd >= 0)
			close(fd);
		if (refused)
			return now_usec();
		long long left = next - now_usec();
		if (left > 0)
			nanosleep(&(struct timespec){0, left * 1000}, NULL);
	}
	return 0;
}

/* One migrate-out. */
struct outjob {
	struct rtsrc src; /* first: the epoll data points here */
	struct object *o; /* held */
	int efd;	  /* the thread's end, for the event loop */
	pthread_t th;
	bool joined;
	int dfd; /* o's run directory */
	char dest[64], maddr[INET_ADDRSTRLEN + 1], naddr[INET_ADDRSTRLEN + 1];
	int mport, nport;
	/* the thread's outcome */
	bool completed, resumed_here;
	bool gone_here; /* QEMU said completed: the guest is the destination's (atomic) */
	bool finished;	/* the thread has ended (atomic) */
	bool cancelled; /* the loop's migrate_out_cancel came (atomic): QEMU ignores a
			 * migrate_cancel sent before its migrate, so the thread checks this */
	int r;
	struct err e;
	char figures[160];
	bool tls_dropped;   /* the credentials were deleted from QEMU, or tried */
	char tls_left[160]; /* why their deletion failed */
	struct out x;
	struct qsess s;
};

#define OUTS_MAX 64
static struct outjob *outs[OUTS_MAX];

static struct outjob **out_slot(const struct object *o)
{
	for (size_t i = 0; i < OUTS_MAX; i++)
		if (outs[i] && outs[i]->o == o)
			return &outs[i];
	return NULL;
}

bool migrate_out_completed(const struct object *o)
{
	struct outjob **j = out_slot(o);
	/* once joined, o's own state says it (QUIT); an outcome nobody read stays behind */
	return j && !(*j)->joined && __atomic_load_n(&(*j)->gone_here, __ATOMIC_ACQUIRE);
}

void migrate_out_cancel(struct object *o, const char *why)
{
	if (!migrate_out_busy(o) || migrate_out_completed(o))
		return;
	__atomic_store_n(&(*out_slot(o))->cancelled, true, __ATOMIC_RELEASE);
	int r = qmon_command(o, "{\"execute\":\"migrate_cancel\"}");
	model_event(o->ns, o, "migrate-out: %s: migrate_cancel %s", why,
		    r ? "could not be sent" : "sent");
}

static void tell_loop(struct outjob *j)
{
	uint64_t one = 1;
	if (write(j->efd, &one, sizeof(one)) != sizeof(one))
		abort(); /* an eventfd takes it: never */
}

bool migrate_out_busy(const struct object *o)
{
	struct outjob **j = out_slot(o);
	return j && !(*j)->joined;
}

/* After completed: the figures, the mirrors' end. */
static void out_completed(struct outjob *j, const char *disks, int nodes)
{
	char ans[16384];
	struct err e;
	struct qsess *s = &j->s;
	long long downtime = -1, mirrored = 0;
	if (!qsess_cmd(s, "{\"execute\":\"query-migrate\"}", QMP_MS, ans, sizeof(ans), &e)) {
		json_object *q = json_tokener_parse(ans);
		downtime = qjint(q, "downtime");
		json_object_put(q);
	}
	if (!qsess_cmd(s, "{\"execute\":\"query-block-jobs\"}", QMP_MS, ans, sizeof(ans), &e)) {
		json_object *q = json_tokener_parse(ans);
		for (size_t i = 0;
		     json_object_is_type(q, json_type_array) && i < json_object_array_length(q);
		     i++) {
			long long off = qjint(json_object_array_get_idx(q, i), "offset");
			mirrored += off > 0 ? off : 0;
		}
		json_object_put(q);
	}
	long long resumed = dest_resumed(j->naddr, j->nport);
	mirrors_end(s, &j->x, disks, nodes, false);
	char pause[64], qemu[32];
	if (resumed && j->x.stop_usec && resumed >= j->x.stop_usec)
		snprintf(pause, sizeof(pause), "%lld ms", (resumed - j->x.stop_usec) / 1000);
	else
		snprintf(pause, sizeof(pause), "? ms (the destination's resume was not seen)");
	snprintf(qemu, sizeof(qemu), downtime >= 0 ? "%lld ms" : "?", downtime);
	snprintf(j->figures, sizeof(j->figures), "paused %s (QEMU: %s), %.1f MiB mirrored", pause,
		 qemu, mirrored / 1048576.0);
}

/* The source's credentials (endpoint client): the destination's certificate is verified
 * against the CA and its address. One left by an earlier attempt on this QEMU goes first. */
static int tls_client(struct outjob *j, struct err *e)
{
	char cmd[512];
	struct err ignored;
	int r = migtls_stage(j->dfd, false, cmd, sizeof(cmd), e);
	if (!r) {
		qsess_cmd(&j->s,
			  "{\"execute\":\"object-del\",\"arguments\":{\"id\":\"" MIGTLS_ID "\"}}",
			  QMP_MS, NULL, 0, &ignored);
		r = qsess_cmd(&j->s, cmd, QMP_MS, NULL, 0, e);
	}
	migtls_unstage(j->dfd);
	return r ? err_wrap(e, "TLS (migrate_tls)") : 0;
}

static void *out_main(void *arg)
{
	struct outjob *j = arg;
	struct qsess *s = &j->s;
	struct out *x = &j->x;
	struct err *e = &j->e;
	char cmd[512], ans[16384], disks[1024];
	int nodes = 0;
	s->event = out_event;
	s->ctx = x;
	int r = qsess_open(s, j->dfd, QMP_MS, e);
	if (r)
		goto end;
	r = qsess_cmd(s,
		      "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":"
		      "[{\"capability\":\"events\",\"state\":true}]}}",
		      QMP_MS, NULL, 0, e);
	if (!r)
		r = qsess_cmd(s, "{\"execute\":\"query-block\"}", QMP_MS, ans, sizeof(ans), e);
	if (!r)
		r = migrate_disk_names(ans, disks, sizeof(disks), e);
	if (r >= 0 && migtls_on())
		r = tls_client(j, e);
	if (r >= 0)
		r = mirrors_start(s, x, disks, j->naddr, j->nport, &nodes, e);
	if (!r) {
		/* the destination's certificate names the address it was reached at */
		snprintf(cmd, sizeof(cmd),
			 "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
			 "{\"downtime-limit\":300%s%s%s}}",
			 migtls_on() ? ",\"tls-creds\":\"" MIGTLS_ID "\",\"tls-hostname\":\"" : "",
			 migtls_on() ? j->maddr : "", migtls_on() ? "\"" : "");
		r = qsess_cmd(s, cmd, QMP_MS, NULL, 0, e);
	}
	if (!r && __atomic_load_n(&j->cancelled, __ATOMIC_ACQUIRE))
		r = err_set(e, ECANCELED, "the migration cancelled before its stream began");
	if (!r) {
		snprintf(cmd, sizeof(cmd),
			 "{\"execute\":\"migrate\",\"arguments\":{\"uri\":"
			 "\"tcp:%s:%d\"}}",
			 j->maddr, j->mport);
		r = qsess_cmd(s, cmd, QMP_MS, NULL, 0, e);
	}
	/* a cancel that came while migrate was on its way met no migration yet: sent again */
	if (!r && __atomic_load_n(&j->cancelled, __ATOMIC_ACQUIRE)) {
		struct err ce;
		qsess_cmd(s, "{\"execute\":\"migrate_cancel\"}", QMP_MS, NULL, 0, &ce);
	}
	if (!r && (r = qsess_wait(s, MIGRATE_MS, migration_ended)) == -ETIMEDOUT) {
		qsess_cmd(s, "{\"execute\":\"migrate_cancel\"}", QMP_MS, NULL, 0, e);
		qsess_wait(s, QMP_MS, migration_ended);
		err_set(e, ETIMEDOUT, "the migration did not end within %d s: cancelled",
			MIGRATE_MS / 1000);
	} else if (r == -ECONNRESET && !*x->status)
		err_set(e, r, "QEMU closed QMP during the migration");
	if (!strcmp(x->status, "completed")) {
		j->completed = true;
		/* the loop learns it now, not after the figures and the destination's resume
		 * (up to 5 s): this host stops saying the guest runs here */
		__atomic_store_n(&j->gone_here, true, __ATOMIC_RELEASE);
		tell_loop(j);
		out_completed(j, disks, nodes);
		r = 0;
		goto end;
	}
	if (!r && *x->status) {
		char why[1024] = "";
		if (!qsess_cmd(s, "{\"execute\":\"query-migrate\"}", QMP_MS, ans, sizeof(ans), e)) {
			json_object *q = json_tokener_parse(ans);
			snprintf(why, sizeof(why), "%s",
				 qjstr(q, "error-desc") ? qjstr(q, "error-desc") : "");
			json_object_put(q);
		}
		r = err_set(e, EIO, "the migration %s%s%s", x->status, *why ? ": " : "", why);
	}
	/* it did not complete: the guest runs on here */
	mirrors_end(s, x, disks, nodes, true);
	struct err ignored;
	/* QEMU's own word, not the events seen: postmigrate means it completed after all */
	if (x->stopped &&
	    !qsess_cmd(s, "{\"execute\":\"query-status\"}", QMP_MS, ans, sizeof(ans), &ignored) &&
	    strstr(ans, "\"paused\"") &&
	    !qsess_cmd(s, "{\"execute\":\"cont\"}", QMP_MS, NULL, 0, &ignored))
		j->resumed_here = true;
	if (!r)
		r = -EIO;
end:
	if (migtls_on() && s->fd >= 0) {
		/* the stream and the mirrors have ended: QEMU need not keep the key */
		struct err de;
		if (migtls_drop(s, &de))
			snprintf(j->tls_left, sizeof(j->tls_left), "%.150s", de.why);
		j->tls_dropped = true;
	}
	qsess_close(s);
	j->r = r;
	__atomic_store_n(&j->finished, true, __ATOMIC_RELEASE);
	tell_loop(j);
	return NULL;
}

/* In the event loop, once the thread has ended: the log, and the source's end. */
static void out_finish(struct model *m, struct outjob *j)
{
	struct object *o = j->o;
	pthread_join(j->th, NULL);
	j->joined = true;
	epoll_ctl(m->rtep, EPOLL_CTL_DEL, j->efd, NULL);
	close(j->efd);
	close(j->dfd);
	if (j->tls_dropped)
		model_event(o->ns, o, "migrate-out: object-del " MIGTLS_ID ": %s%s",
			    j->tls_left[0] ? "failed: " : "ok", j->tls_left);
	if (j->completed) {
		model_event(o->ns, o,
			    "migrate-out: the guest stopped at %lld.%06lld (QEMU's STOP "
			    "event)",
			    j->x.stop_usec / 1000000, j->x.stop_usec % 1000000);
		model_event(o->ns, o, "migrated to %s: %s", j->dest, j->figures);
		char line[128];
		snprintf(line, sizeof(line), "moved to %s", j->dest);
		if (o->state == ST_RUNNING || o->state == ST_PAUSED)
			migrate_end_qemu(m, o, line);
	} else {
		err_wrap(&j->e, "migrate-out to %s", j->dest);
		model_error(o->ns, o, "migrate-out", j->e.why);
		if (j->resumed_here)
			model_event(o->ns, o, "migrate-out: resumed here");
	}
	waitq_wake_all(&o->job_wq);
}

static void out_ready(struct model *m, struct rtsrc *src)
{
	struct outjob *j = (struct outjob *)src;
	uint64_t n;
	if (read(j->efd, &n, sizeof(n)) != sizeof(n))
		return;
	if (__atomic_load_n(&j->finished, __ATOMIC_ACQUIRE))
		return out_finish(m, j);
	/* completed: published as no longer running here (cluster/cpub.c) */
	model_event(j->o->ns, j->o, "migrate-out: completed: the guest is %s's now", j->dest);
}

static void out_free(struct outjob **slot)
{
	struct outjob *j = *slot;
	*slot = NULL;
	obj_put(j->o);
	free(j);
}

int migrate_out_result(struct object *o, struct sbuf *reply, char *err, size_t errlen)
{
	struct outjob **slot = out_slot(o);
	if (!slot)
		return 1;
	if (!(*slot)->joined)
		return -EINPROGRESS;
	struct outjob *j = *slot;
	int r = j->completed ? 0 : j->r;
	if (!r)
		sb_printf(reply, "ok: migrated: %s\n", j->figures);
	else
		err_out(&j->e, err, errlen);
	out_free(slot);
	return r;
}

void migrate_out_stop(struct model *m, struct object *o)
{
	struct outjob **slot = out_slot(o);
	if (!slot)
		return;
	if (!(*slot)->joined) {
		int fd = (*slot)->s.fd;
		if (fd >= 0)
			shutdown(fd, SHUT_RDWR); /* the thread's next read fails: it ends */
		out_finish(m, *slot);
	}
	out_free(slot);
}

int migrate_out(struct model *m, struct object *o, const char *dest, const char *nbd,
		struct sbuf *reply, struct err *e)
{
	char maddr[INET_ADDRSTRLEN + 1], naddr[INET_ADDRSTRLEN + 1];
	int mport, nport;
	if (o->type != OT_VM)
		return err_set(e, EOPNOTSUPP,
			       "%s is a container: stop it first (no live migration "
			       "of containers)",
			       o->name);
	if (strncmp(nbd, "nbd=", 4))
		return err_set(e, EINVAL, "%s: the second argument is nbd=ADDR:PORT", nbd);
	int r = migrate_parse_hostport(dest, maddr, sizeof(maddr), &mport, e);
	if (!r)
		r = migrate_parse_hostport(nbd + 4, naddr, sizeof(naddr), &nport, e);
	if (r)
		return err_wrap(e, "migrate-out");
	if (migrate_out_busy(o))
		return err_set(e, EBUSY, "%s is migrating out already", o->name);
	if (o->state != ST_RUNNING || o->rt.starting || o->rt.job)
		return err_set(e, EBUSY,
			       "%s is %s: migrate-out needs it RUNNING (and no start or "
			       "commit under way)",
			       o->name, ostate_name(o->state));
	struct outjob **slot = out_slot(o);
	if (slot)
		out_free(slot); /* an outcome nobody read (its writer was interrupted) */
	for (size_t i = 0; i < OUTS_MAX && !slot; i++)
		if (!outs[i])
			slot = &outs[i];
	if (!slot)
		return err_set(e, EBUSY, "%d migrations are under way already", OUTS_MAX);
	struct outjob *j = calloc(1, sizeof(*j));
	if (!j)
		return err_set(e, ENOMEM, "no memory for a migration");
	j->src.ready = out_ready;
	j->s.fd = -1;
	snprintf(j->dest, sizeof(j->dest), "%s", dest);
	snprintf(j->maddr, sizeof(j->maddr), "%s", maddr);
	snprintf(j->naddr, sizeof(j->naddr), "%s", naddr);
	j->mport = mport;
	j->nport = nport;
	err_clear(&j->e);
	j->dfd = run_open(m, o);
	j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = j};
	if (j->dfd < 0 || j->efd < 0 || epoll_ctl(m->rtep, EPOLL_CTL_ADD, j->efd, &ev) < 0 ||
	    pthread_create(&j->th, NULL, out_main, j)) {
		r = err_sys(e, j->dfd < 0 ? j->dfd : errno, "cannot begin the migration");
		if (j->efd >= 0) {
			epoll_ctl(m->rtep, EPOLL_CTL_DEL, j->efd, NULL);
			close(j->efd);
		}
		if (j->dfd >= 0)
			close(j->dfd);
		free(j);
		return r;
	}
	obj_get(o);
	j->o = o;
	*slot = j;
	model_event(o->ns, o,
		    "migrate-out to %s, disks to NBD at %s:%d; %s", dest, naddr, nport,
		    migtls_words());
	(void)reply;
	return -EINPROGRESS;
}
