/* The source of a live migration: its overlays mirrored onto the destination's NBD exports
 * (blockdev-mirror sync=top, write-blocking: once READY every guest write is on both sides
 * before it completes, so the destination's disks are whole when the guest stops here), then
 * QEMU's migration. One QMP connection held throughout (runtime/qmpsess.h) carries the
 * events the steps wait for. A source whose migration reached `completed` is never resumed:
 * its QEMU is ended, whatever follows. */
#include "runtime/migrate.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "runtime/qmpsess.h"
#include "runtime/run.h"

#define QMP_MS 5000
#define READY_MS 60000     /* the mirrors' first copy */
#define MIGRATE_MS 120000  /* the RAM copy, under TCG too */
#define DEST_RESUME_MS 5000

struct out {
	int njobs, nready, nended;
	bool stopped, job_failed;
	long long stop_usec;
	char status[32];  /* the last MIGRATION status */
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
	else if (ours && (!strcmp(name, "BLOCK_JOB_COMPLETED") || !strcmp(name, "BLOCK_JOB_CANCELLED"))) {
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
	for (char *d = strtok_r(list, " ", &save); d && i < x->njobs; d = strtok_r(NULL, " ", &save), i++) {
		d[strcspn(d, "=")] = 0;
		snprintf(cmd, sizeof(cmd), "{\"execute\":\"block-job-cancel\",\"arguments\":"
			 "{\"device\":\"mig-%s\",\"force\":%s}}", d, force ? "true" : "false");
		if (qsess_cmd(s, cmd, QMP_MS, NULL, 0, &e))
			x->nended++; /* gone already (the destination closed its export) */
	}
	qsess_wait(s, QMP_MS, jobs_ended);
	snprintf(list, sizeof(list), "%s", disks);
	i = 0;
	for (char *d = strtok_r(list, " ", &save); d && i < nodes; d = strtok_r(NULL, " ", &save), i++) {
		d[strcspn(d, "=")] = 0;
		snprintf(cmd, sizeof(cmd), "{\"execute\":\"blockdev-del\",\"arguments\":"
			 "{\"node-name\":\"mig-nbd-%s\"}}", d);
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
		snprintf(cmd, sizeof(cmd), "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
			 "\"nbd\",\"node-name\":\"mig-nbd-%s\",\"server\":{\"type\":\"inet\",\"host\":"
			 "\"%s\",\"port\":\"%d\"},\"export\":\"%s\"}}", d, naddr, nport, d);
		if (qsess_cmd(s, cmd, QMP_MS, NULL, 0, e))
			return err_wrap(e, "cannot reach the destination's NBD export of %s at %s:%d",
					d, naddr, nport);
		++*nodes;
		snprintf(cmd, sizeof(cmd), "{\"execute\":\"blockdev-mirror\",\"arguments\":{\"job-id\":"
			 "\"mig-%s\",\"device\":\"%s\",\"target\":\"mig-nbd-%s\",\"sync\":\"top\","
			 "\"copy-mode\":\"write-blocking\"}}", d, node, d);
		if (qsess_cmd(s, cmd, QMP_MS, NULL, 0, e))
			return err_wrap(e, "cannot mirror %s", d);
		x->njobs++;
	}
	int r = qsess_wait(s, READY_MS, all_ready);
	if (r == -ETIMEDOUT)
		return err_set(e, r, "the disks' mirrors were not in step within %d s", READY_MS / 1000);
	if (r)
		return err_set(e, r, "QEMU closed QMP during the mirror");
	if (x->job_failed || x->nended)
		return err_set(e, EIO, "the mirror of %s", *x->job_err ? x->job_err : "a disk ended");
	return 0;
}

static long long now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* The destination stops its NBD server as its guest resumes (runtime/migrate.c): the
 * source sees the resume as that port closing. 0 if it did not within the time. */
static long long dest_resumed(const char *addr, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, addr, &sa.sin_addr);
	for (int i = 0; i < DEST_RESUME_MS; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int r = fd < 0 ? 0 : connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		if (fd >= 0)
			close(fd);
		if (fd >= 0 && r < 0 && errno == ECONNREFUSED)
			return now_usec();
		nanosleep(&(struct timespec){0, 1000 * 1000}, NULL);
	}
	return 0;
}

/* After completed: the figures, the mirrors' end, QEMU's end. */
static int out_completed(struct model *m, struct object *o, struct qsess *s, struct out *x,
			 const char *disks, int nodes, const char *dest, const char *naddr,
			 int nport, struct sbuf *reply)
{
	char ans[16384];
	struct err e;
	long long downtime = -1, mirrored = 0;
	if (!qsess_cmd(s, "{\"execute\":\"query-migrate\"}", QMP_MS, ans, sizeof(ans), &e)) {
		json_object *j = json_tokener_parse(ans);
		downtime = qjint(j, "downtime");
		json_object_put(j);
	}
	if (!qsess_cmd(s, "{\"execute\":\"query-block-jobs\"}", QMP_MS, ans, sizeof(ans), &e)) {
		json_object *j = json_tokener_parse(ans);
		for (size_t i = 0; json_object_is_type(j, json_type_array) && i < json_object_array_length(j); i++) {
			long long off = qjint(json_object_array_get_idx(j, i), "offset");
			mirrored += off > 0 ? off : 0;
		}
		json_object_put(j);
	}
	long long resumed = dest_resumed(naddr, nport);
	mirrors_end(s, x, disks, nodes, false);
	qsess_close(s);
	char pause[64], qemu[32];
	if (resumed && x->stop_usec && resumed >= x->stop_usec)
		snprintf(pause, sizeof(pause), "%lld ms", (resumed - x->stop_usec) / 1000);
	else
		snprintf(pause, sizeof(pause), "? ms (the destination's resume was not seen)");
	snprintf(qemu, sizeof(qemu), downtime >= 0 ? "%lld ms" : "?", downtime);
	model_event(o->ns, o, "migrate-out: the guest stopped at %lld.%06lld (QEMU's STOP event)",
		    x->stop_usec / 1000000, x->stop_usec % 1000000);
	model_event(o->ns, o, "migrated to %s: paused %s (QEMU: %s), %.1f MiB mirrored", dest,
		    pause, qemu, mirrored / 1048576.0);
	char line[128];
	snprintf(line, sizeof(line), "moved to %s", dest);
	migrate_end_qemu(m, o, line);
	sb_printf(reply, "ok: migrated: paused %s (QEMU: %s), %.1f MiB mirrored\n", pause, qemu,
		  mirrored / 1048576.0);
	return 0;
}

int migrate_out(struct model *m, struct object *o, const char *dest, const char *nbd,
		struct sbuf *reply, struct err *e)
{
	char maddr[INET_ADDRSTRLEN + 1], naddr[INET_ADDRSTRLEN + 1], cmd[512], ans[16384];
	char disks[1024];
	int mport, nport, nodes = 0;
	if (o->type != OT_VM)
		return err_set(e, EOPNOTSUPP, "%s is a container: stop it first (no live migration "
			       "of containers)", o->name);
	if (strncmp(nbd, "nbd=", 4))
		return err_set(e, EINVAL, "%s: the second argument is nbd=ADDR:PORT", nbd);
	int r = migrate_parse_hostport(dest, maddr, sizeof(maddr), &mport, e);
	if (!r)
		r = migrate_parse_hostport(nbd + 4, naddr, sizeof(naddr), &nport, e);
	if (r)
		return err_wrap(e, "migrate-out");
	if (o->state != ST_RUNNING || o->rt.starting || o->rt.job)
		return err_set(e, EBUSY, "%s is %s: migrate-out needs it RUNNING (and no start or "
			       "commit under way)", o->name, ostate_name(o->state));
	int dfd = run_open(m, o);
	if (dfd < 0)
		return err_sys(e, dfd, "%s has no run directory", o->name);
	static struct qsess s;
	struct out x = {0};
	s.event = out_event;
	s.ctx = &x;
	r = qsess_open(&s, dfd, QMP_MS, e);
	close(dfd);
	if (r)
		return r;
	model_event(o->ns, o, "migrate-out to %s, disks to NBD at %s:%d; migration stream in "
		    "plain TCP, disks over NBD in plain TCP", dest, naddr, nport);
	r = qsess_cmd(&s, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":"
		      "[{\"capability\":\"events\",\"state\":true}]}}", QMP_MS, NULL, 0, e);
	if (!r)
		r = qsess_cmd(&s, "{\"execute\":\"query-block\"}", QMP_MS, ans, sizeof(ans), e);
	if (!r)
		r = migrate_disk_names(ans, disks, sizeof(disks), e);
	if (r >= 0)
		r = mirrors_start(&s, &x, disks, naddr, nport, &nodes, e);
	if (!r)
		r = qsess_cmd(&s, "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
			      "{\"downtime-limit\":300}}", QMP_MS, NULL, 0, e);
	if (!r) {
		snprintf(cmd, sizeof(cmd), "{\"execute\":\"migrate\",\"arguments\":{\"uri\":"
			 "\"tcp:%s:%d\"}}", maddr, mport);
		r = qsess_cmd(&s, cmd, QMP_MS, NULL, 0, e);
	}
	if (!r && (r = qsess_wait(&s, MIGRATE_MS, migration_ended)) == -ETIMEDOUT) {
		qsess_cmd(&s, "{\"execute\":\"migrate_cancel\"}", QMP_MS, NULL, 0, e);
		qsess_wait(&s, QMP_MS, migration_ended);
		err_set(e, ETIMEDOUT, "the migration did not end within %d s: cancelled",
			MIGRATE_MS / 1000);
	} else if (r == -ECONNRESET && !*x.status)
		err_set(e, r, "QEMU closed QMP during the migration");
	if (!strcmp(x.status, "completed"))
		return out_completed(m, o, &s, &x, disks, nodes, dest, naddr, nport, reply);
	if (!r && *x.status) {
		char why[1024] = "";
		if (!qsess_cmd(&s, "{\"execute\":\"query-migrate\"}", QMP_MS, ans, sizeof(ans), e)) {
			json_object *j = json_tokener_parse(ans);
			snprintf(why, sizeof(why), "%s", qjstr(j, "error-desc") ? qjstr(j, "error-desc") : "");
			json_object_put(j);
		}
		r = err_set(e, EIO, "the migration %s%s%s", x.status, *why ? ": " : "", why);
	}
	/* it did not complete: the guest runs on here */
	mirrors_end(&s, &x, disks, nodes, true);
	struct err ignored;
	/* QEMU's own word, not the events seen: postmigrate means it completed after all */
	if (x.stopped && !qsess_cmd(&s, "{\"execute\":\"query-status\"}", QMP_MS, ans, sizeof(ans),
				    &ignored) && strstr(ans, "\"paused\"") &&
	    !qsess_cmd(&s, "{\"execute\":\"cont\"}", QMP_MS, NULL, 0, &ignored))
		model_event(o->ns, o, "migrate-out: resumed here");
	qsess_close(&s);
	err_wrap(e, "migrate-out to %s", dest);
	model_error(o->ns, o, "migrate-out", e->why);
	return r ? r : -EIO;
}
