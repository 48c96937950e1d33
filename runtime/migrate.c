/* The destination of a live migration: QEMU started as for a start but with -incoming defer -S,
 * its overlays new over the same base images and served over NBD for the source's mirror.
 * It learns the end from its own QEMU's events. The source is runtime/migrate_out.c. */
#include "runtime/migrate.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/backend.h"
#include "runtime/bgjob.h"
#include "runtime/migtls.h"
#include "runtime/qmon.h"
#include "runtime/qmp.h"
#include "runtime/qmpsess.h"
#include "runtime/run.h"
#include "runtime/vm.h"

/* QEMU answers these at once when idle; a loaded host (2 CPUs, a TCG guest running beside
 * it) was seen to take over 5 s: bounded, but not tight */
#define QMP_MS 10000
#define INCOMING_MAX 64

static struct incoming {
	struct object *o; /* held (obj_get) while here */
	char addr[INET_ADDRSTRLEN];
	bool preparing;	  /* its QEMU is being started: verbs are the start's to refuse */
	bool completed;	  /* QEMU said MIGRATION completed */
	int nfd;	  /* this vmfs's copy of the NBD server's listening socket, or -1 */
	int mport, nport; /* where it listens, once started */
} ins[INCOMING_MAX];

static struct incoming *in_of(const struct object *o)
{
	for (size_t i = 0; i < INCOMING_MAX; i++)
		if (ins[i].o && ins[i].o == o)
			return &ins[i];
	return NULL;
}

static void in_drop(struct incoming *in)
{
	struct object *o = in->o;
	if (in->nfd >= 0)
		close(in->nfd);
	*in = (struct incoming){0};
	obj_put(o);
}

bool migrate_incoming(const struct object *o) { return in_of(o) != NULL; }

bool migrate_in_receiving(const struct object *o)
{
	const struct incoming *in = in_of(o);
	return in && !in->preparing;
}

bool migrate_in_completed(const struct object *o)
{
	const struct incoming *in = in_of(o);
	return in && in->completed;
}

int migrate_refuses(const struct object *o, enum verb v, struct err *e)
{
	struct incoming *in = in_of(o);
	if (v == V_KILL || v == V_FLUSH)
		return 0;
	if (migrate_out_busy(o))
		return err_set(e, EBUSY,
			       "%s is migrating out: %s waits until the migration has "
			       "ended (kill ends the VM here)",
			       o->name, verb_name(v));
	if (!in || in->preparing)
		return 0;
	return err_set(e, EBUSY,
		       "%s is receiving a migration (migrate-in on %s): %s waits until "
		       "it runs (kill or rmdir end it)",
		       o->name, in->addr, verb_name(v));
}

int migrate_parse_hostport(const char *s, char *addr, size_t addrlen, int *port, struct err *e)
{
	const char *colon = strrchr(s, ':');
	struct in_addr ia;
	char host[INET_ADDRSTRLEN + 1], *end;
	size_t hl = colon ? (size_t)(colon - s) : 0;
	long p = colon ? strtol(colon + 1, &end, 10) : 0;
	if (!colon || hl == 0 || hl >= sizeof(host) || !colon[1] || *end || p < 1 || p > 65535)
		return err_set(e, EINVAL,
			       "%s is not ADDR:PORT (an IPv4 address and a port 1-65535)", s);
	memcpy(host, s, hl);
	host[hl] = 0;
	if (inet_pton(AF_INET, host, &ia) != 1)
		return err_set(e, EINVAL, "%s: %s is not an IPv4 address", s, host);
	snprintf(addr, addrlen, "%s", host);
	*port = (int)p;
	return 0;
}

static unsigned ports_lo, ports_hi; /* vmfs.conf migrate_ports; 0-0: the kernel's choice */

void migrate_ports_set(unsigned lo, unsigned hi)
{
	ports_lo = lo;
	ports_hi = hi;
}

void migrate_ports(unsigned *lo, unsigned *hi)
{
	*lo = ports_lo;
	*hi = ports_hi;
}

/* A listening socket on addr, on the first port of migrate_ports that nothing holds (so that
 * a firewall may be opened for the range alone), else on one the kernel picks. */
static int listener(const char *addr, const char *what, int *port, struct err *e)
{
	unsigned p = ports_lo;
	int r;
	do {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
		socklen_t len = sizeof(sa);
		inet_pton(AF_INET, addr, &sa.sin_addr);
		int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && !setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) &&
		    !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) && !listen(fd, SOMAXCONN) &&
		    !getsockname(fd, (struct sockaddr *)&sa, &len)) {
			*port = ntohs(sa.sin_port);
			return fd;
		}
		r = -errno;
		if (fd >= 0)
			close(fd);
	} while (r == -EADDRINUSE && ports_lo && p++ < ports_hi);
	if (r == -EADDRINUSE && ports_lo)
		return err_set(e, EADDRINUSE,
			       "no port for %s at %s: every port of migrate_ports (%u-%u) is taken",
			       what, addr, ports_lo, ports_hi);
	return err_sys(e, r, "no port for %s at %s", what, addr);
}

/* The migration stream's port: QEMU binds it next, once this socket is closed (a race with
 * another binder costs a failed migrate-in, with QEMU's words). */
static int free_port(const char *addr, struct err *e)
{
	int port, fd = listener(addr, "the migration stream", &port, e);
	if (fd < 0)
		return fd;
	close(fd);
	return port;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The NBD server's listening socket, made here and handed to QEMU (getfd): this vmfs keeps
 * a copy, so that the port stays open, accepting nothing, from QEMU's nbd-server-stop (at
 * MIGRATION completed) until the guest resumes here, when the copy is closed: the source
 * sees the resume as the port refusing. QEMU never accepts a connection after its stop. */
static int nbd_listener(const char *addr, int *port, struct err *e)
{
	return listener(addr, "the NBD server", port, e);
}

static int qmp_reply(struct model *m, struct object *o, const char *cmd, char *reply,
		     size_t replylen, struct err *e)
{
	int dfd = run_open(m, o);
	if (dfd < 0)
		return err_sys(e, dfd, "%s has no run directory", o->name);
	long long t0 = mono_ms();
	int r = err_took(e, qmp_run(dfd, cmd, QMP_MS, reply, replylen, e->why, sizeof(e->why)));
	close(dfd);
	/* the object's own log: what a migration that stalls here asked, and what QEMU said */
	evlog_add(&o->log, "migrate-in: QMP %.120s: %s%s (%lld ms)", cmd, r ? "failed: " : "ok",
		  r ? e->why : "", mono_ms() - t0);
	return r;
}

int migrate_in_streaming(struct model *m, struct object *o)
{
	struct incoming *in = in_of(o);
	if (!in || in->preparing)
		return 0;
	if (in->completed)
		return 1;
	/* QEMU's word now: its MIGRATION event may still be on its way to the loop */
	char reply[4096];
	struct err e;
	err_clear(&e);
	if (qmp_reply(m, o, "{\"execute\":\"query-migrate\"}", reply, sizeof(reply), &e))
		return -1; /* (slow while it loads the stream's end: not a "no") */
	json_object *r = json_tokener_parse(reply);
	if (!json_object_is_type(r, json_type_object)) {
		json_object_put(r);
		return -1;
	}
	/* no status: QEMU 7.2's incoming state is none (nothing came yet) */
	const char *st = qjstr(r, "status");
	int going = !st || !strcmp(st, "none") || !strcmp(st, "setup") || !strcmp(st, "failed") ||
			    !strcmp(st, "cancelled") || !strcmp(st, "cancelling")
			? 0
			: 1;
	json_object_put(r);
	return going;
}

void migrate_end_qemu(struct model *m, struct object *o, const char *line)
{
	if (o->rt.pid > 0 && proc_starttime(o->rt.pid) == o->rt.pid_start)
		kill(o->rt.pid, SIGKILL);
	for (int i = 0; i < 300 && o->rt.pid > 0 && proc_starttime(o->rt.pid) == o->rt.pid_start;
	     i++)
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	int dfd = run_open(m, o);
	if (dfd >= 0) {
		char text[512];
		int n = snprintf(text, sizeof(text), "%s\n", line);
		write_atomic(dfd, "exit", text,
			     n < (int)sizeof(text) ? (size_t)n : sizeof(text) - 1, 0);
		close(dfd);
	}
	obj_get(o);
	qmon_detach(m, o);
	run_reap(m, o);
	obj_put(o);
}

/* QEMU's device and node names (virtio0, #block123): nothing that needs quoting in JSON. */
static bool name_ok(const char *s)
{
	bool good = *s && strlen(s) < 32;
	for (const char *p = s; good && *p; p++)
		good = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		       (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '#' || *p == '.';
	return good;
}

int migrate_disk_names(const char *query_block, char *out, size_t outlen, struct err *e)
{
	json_object *arr = json_tokener_parse(query_block);
	int n = 0;
	size_t k = 0;
	out[0] = 0;
	if (!json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		return err_set(e, EPROTO, "QEMU's query-block is not a list");
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *b = json_object_array_get_idx(arr, i), *ins_, *ro;
		const char *dev = qjstr(b, "device");
		if (!dev || !json_object_object_get_ex(b, "inserted", &ins_) ||
		    !json_object_is_type(ins_, json_type_object))
			continue;
		if (json_object_object_get_ex(ins_, "ro", &ro) && json_object_get_boolean(ro))
			continue; /* a CD-ROM: the same image on both sides, never written */
		const char *node = qjstr(ins_, "node-name");
		if (!name_ok(dev) || !node || !name_ok(node)) {
			json_object_put(arr);
			return err_set(e, EPROTO, "QEMU named a disk in a way vmfs does not use");
		}
		k += snprintf(out + k, outlen > k ? outlen - k : 0, "%s%s=%s", n ? " " : "", dev,
			      node);
		n++;
	}
	json_object_put(arr);
	return k < outlen ? n : err_set(e, E2BIG, "too many disks");
}

/* The images named by config/disk must be here, by the same names; snapshot true. */
static int check_images(struct model *m, struct object *o, struct err *e)
{
	static struct vm_disk d[VM_DISKS_MAX];
	if (!obj_cfg_bool(o, "snapshot"))
		return err_set(e, EINVAL,
			       "%s has snapshot false (it writes its image): only a VM "
			       "with overlays is migrated",
			       o->name);
	int n = vm_disks(m, o, d, VM_DISKS_MAX);
	char list[8192], *save = NULL;
	snprintf(list, sizeof(list), "%s", obj_cfg(o, "disk"));
	char *w = strtok_r(list, " ", &save);
	for (int i = 0; i < n && w; i++, w = strtok_r(NULL, " ", &save)) {
		struct stat st;
		w[strcspn(w, ",")] = 0;
		if (stat(d[i].image, &st) < 0)
			return err_sys(e, errno, "this host has no %s%s (the source's disk %d)",
				       strchr(w, '/') ? "" : "images/", w, i);
	}
	return 0;
}

/* Stale overlays from an earlier life of o would be under the mirror's copy: new ones. */
static void drop_overlays(struct object *o)
{
	for (int i = 0; i < VM_DISKS_MAX; i++) {
		char name[NAME_MAX_LEN + 40];
		snprintf(name, sizeof(name), "vms/%s/disk%d.qcow2", o->name, i);
		unlinkat(o->ns->dirfd, name, 0);
		strcat(name, ".base");
		unlinkat(o->ns->dirfd, name, 0);
	}
}

/* QEMU 7.2 (with the fix of CVE-2024-7409) waits in nbd-server-stop, its main loop held, for
 * every connection to its NBD server to end, and never sees one still negotiating end: it
 * hangs for good, and the guest with it. Hence max-connections, one per disk: once the
 * source's mirrors are connected QEMU accepts no other, and the stop finds only theirs. */
static int nbd_start(struct model *m, struct object *o, int nfd, int ndisks, struct err *e)
{
	static struct qsess s; /* the loop's: 128 KiB, not on the stack */
	char cmd[256];
	int dfd = run_open(m, o);
	if (dfd < 0)
		return err_sys(e, dfd, "%s has no run directory", o->name);
	s.fd = -1;
	s.event = NULL;
	int r = qsess_open(&s, dfd, QMP_MS, e);
	close(dfd);
	if (!r)
		r = qsess_cmd_fd(&s, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"vmfs-nbd\"}}",
				 nfd, QMP_MS, NULL, 0, e);
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"nbd-server-start\",\"arguments\":{\"addr\":"
		 "{\"type\":\"fd\",\"data\":{\"str\":\"vmfs-nbd\"}},\"max-connections\":%d%s}}",
		 ndisks > 0 ? ndisks : 1, migtls_on() ? ",\"tls-creds\":\"" MIGTLS_ID "\"" : "");
	if (!r)
		r = qsess_cmd(&s, cmd, QMP_MS, NULL, 0, e);
	qsess_close(&s);
	evlog_add(&o->log, "migrate-in: NBD server%s on a socket of vmfs's, at most %d connection(s): %s%s",
		  migtls_on() ? " (TLS)" : "", ndisks > 0 ? ndisks : 1, r ? "failed: " : "ok",
		  r ? e->why : "");
	return r;
}

/* The destination's credentials (endpoint server, the source's certificate verified), for
 * the stream and the NBD server alike. */
static int tls_server(struct model *m, struct object *o, struct err *e)
{
	char cmd[512];
	int dfd = run_open(m, o);
	if (dfd < 0)
		return err_sys(e, dfd, "%s has no run directory", o->name);
	int r = migtls_stage(dfd, true, cmd, sizeof(cmd), e);
	if (!r)
		r = qmp_reply(m, o, cmd, NULL, 0, e);
	migtls_unstage(dfd);
	close(dfd);
	if (!r)
		r = qmp_reply(m, o,
			      "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
			      "{\"tls-creds\":\"" MIGTLS_ID "\"}}",
			      NULL, 0, e);
	return r ? err_wrap(e, "TLS (migrate_tls)") : 0;
}

/* After the start: the listeners and the exports. */
static int listen_all(struct model *m, struct object *o, struct incoming *in, int *mport,
		      int *nport, struct err *e)
{
	const char *addr = in->addr;
	char cmd[1024], reply[16384], disks[1024];
	/* late-block-activate: the disks are taken at cont, once the exports are gone (both
	 * writing one overlay is a permission conflict) */
	int r = qmp_reply(m, o,
			  "{\"execute\":\"migrate-set-capabilities\",\"arguments\":"
			  "{\"capabilities\":[{\"capability\":\"events\",\"state\":true},"
			  "{\"capability\":\"late-block-activate\",\"state\":true}]}}",
			  NULL, 0, e);
	if (!r && migtls_on())
		r = tls_server(m, o, e);
	if (!r && (*mport = free_port(addr, e)) < 0)
		r = *mport;
	if (!r) {
		snprintf(cmd, sizeof(cmd),
			 "{\"execute\":\"migrate-incoming\",\"arguments\":"
			 "{\"uri\":\"tcp:%s:%d\"}}",
			 addr, *mport);
		r = qmp_reply(m, o, cmd, NULL, 0, e);
	}
	if (!r)
		r = qmp_reply(m, o, "{\"execute\":\"query-block\"}", reply, sizeof(reply), e);
	int n = r ? r : migrate_disk_names(reply, disks, sizeof(disks), e);
	if (n >= 0 && (in->nfd = nbd_listener(addr, nport, e)) < 0)
		n = in->nfd;
	if (n >= 0 && (r = nbd_start(m, o, in->nfd, n, e)))
		n = r;
	char *save = NULL;
	for (char *d = n > 0 ? strtok_r(disks, " ", &save) : NULL; d;
	     d = strtok_r(NULL, " ", &save)) {
		char *node = strchr(d, '=');
		if (!node)
			return err_set(e, EPROTO, "no node name for %s", d);
		*node++ = 0;
		snprintf(cmd, sizeof(cmd),
			 "{\"execute\":\"block-export-add\",\"arguments\":{"
			 "\"type\":\"nbd\",\"id\":\"mig-%s\",\"node-name\":\"%s\",\"name\":\"%s\","
			 "\"writable\":true}}",
			 d, node, d);
		if ((r = qmp_reply(m, o, cmd, NULL, 0, e)))
			return err_wrap(e, "the NBD export of %s", d);
	}
	return n < 0 ? n : 0;
}

int migrate_in(struct model *m, struct object *o, const char *addr, struct err *e)
{
	struct in_addr ia;
	struct incoming *in = NULL;
	if (o->type != OT_VM)
		return err_set(e, EOPNOTSUPP, "%s is a container: only a VM migrates", o->name);
	if (o->state != ST_BUILDING || o->rt.starting || o->rt.job || in_of(o))
		return err_set(e, EBUSY,
			       "%s is %s: migrate-in needs a new VM (BUILDING, never "
			       "started)",
			       o->name, in_of(o) ? "receiving already" : ostate_name(o->state));
	if (inet_pton(AF_INET, addr, &ia) != 1)
		return err_set(e, EINVAL, "%s is not an IPv4 address of this host", addr);
	int r = check_images(m, o, e);
	if (r)
		return r;
	for (size_t i = 0; i < INCOMING_MAX && !in; i++)
		if (!ins[i].o)
			in = &ins[i];
	if (!in)
		return err_set(e, EBUSY, "%d migrations are being received already", INCOMING_MAX);
	drop_overlays(o);
	obj_get(o);
	*in = (struct incoming){.o = o, .preparing = true, .nfd = -1};
	snprintf(in->addr, sizeof(in->addr), "%s", addr);
	model_event(o->ns, o,
		    "migrate-in: starting QEMU to receive on %s; %s", addr, migtls_words());
	return 0;
}

int migrate_in_started(struct model *m, struct object *o, struct err *e)
{
	struct incoming *in = in_of(o);
	if (!in)
		return 0;
	in->preparing = false;
	int r = listen_all(m, o, in, &in->mport, &in->nport, e);
	if (r) {
		char line[ERR_WHY_MAX + 64];
		err_wrap(e, "migrate-in");
		snprintf(line, sizeof(line), "error: %s", e->why);
		in_drop(in);
		migrate_end_qemu(m, o, line);
		return r;
	}
	model_event(o->ns, o, "migrate-in ready: migrate=%s:%d nbd=%s:%d", in->addr, in->mport,
		    in->addr, in->nport);
	return 0;
}

void migrate_in_answer(struct object *o, int r, struct sbuf *reply)
{
	struct incoming *in = in_of(o);
	if (in && in->preparing)
		in_drop(in); /* its start failed */
	else if (in && !r)
		sb_printf(reply, "ok: migrate-in ready: migrate=%s:%d nbd=%s:%d\n", in->addr,
			  in->mport, in->addr, in->nport);
}

void migrate_in_failed(struct object *o)
{
	struct incoming *in = in_of(o);
	if (in)
		in_drop(in);
}

void migrate_in_abort(struct model *m, struct object *o, const char *why)
{
	struct incoming *in = in_of(o);
	if (!in || in->preparing)
		return;
	char line[256];
	snprintf(line, sizeof(line), "migrate-in from %s ended: %s", in->addr, why);
	in_drop(in);
	migrate_end_qemu(m, o, line);
	waitq_wake_all(&o->job_wq); /* (a destination that waits for its outcome) */
}

void migrate_in_ended(struct model *m, struct object *o)
{
	struct incoming *in = in_of(o);
	if (in && !in->preparing) {
		model_event(o->ns, o, "migrate-in: QEMU ended before the guest ran here");
		in_drop(in);
		waitq_wake_all(&o->job_wq); /* (a destination that waits for its outcome) */
	}
}

/* The guest runs here: this vmfs's copy of the NBD listener goes, the port refuses from now
 * on (what the source waits for). No QMP here: nothing of the loop waits on QEMU. */
static void in_running(struct model *m, struct object *o, struct incoming *in, long long usec)
{
	char why[128];
	snprintf(why, sizeof(why),
		 "migrated in on %s: resumed at %lld.%06lld (QEMU's RESUME event)", in->addr,
		 usec / 1000000, usec % 1000000);
	in_drop(in);
	snprintf(o->rt.status, sizeof(o->rt.status), "running");
	lifecycle_event(m, o, EV_READY, why);
	waitq_wake_all(&o->job_wq);
}

/* The migration has come (QEMU -S waits): nbd-server-stop (its exports go with it, hard: the
 * source's mirror has nothing left to write, and the disks are free for cont), then cont,
 * checked by query-status and sent again while QEMU says paused. On a thread of its own: a
 * QEMU slow to answer holds no other object's work; RESUME, on the loop, ends it all. */
#define CONT_TRIES 3
struct takeover {
	struct bgjob bg; /* first */
	struct object *o; /* held */
	int dfd;
	int r;
	struct err e;
	char trail[1024]; /* what was asked and answered, for o's log */
	struct qsess s;
};

static void trail_add(struct takeover *t, const char *what, int r, long long ms)
{
	size_t k = strlen(t->trail);
	snprintf(t->trail + k, sizeof(t->trail) - k, "%s%s %s (%lld ms)", k ? "; " : "", what,
		 r ? "failed" : "ok", ms);
}

static void takeover_work(struct bgjob *b)
{
	struct takeover *t = (struct takeover *)b;
	struct err ignored;
	char ans[512];
	long long t0 = mono_ms();
	t->s.fd = -1;
	int r = qsess_open(&t->s, t->dfd, QMP_MS, &t->e);
	if (!r) {
		r = qsess_cmd(&t->s, "{\"execute\":\"nbd-server-stop\"}", QMP_MS, NULL, 0, &t->e);
		trail_add(t, "nbd-server-stop", r, mono_ms() - t0);
	}
	for (int i = 0; !r && i < CONT_TRIES; i++) {
		t0 = mono_ms();
		int c = qsess_cmd(&t->s, "{\"execute\":\"cont\"}", QMP_MS, NULL, 0, &t->e);
		trail_add(t, "cont", c, mono_ms() - t0);
		if (c && c != -EIO) { /* no answer: QEMU is not there to ask again */
			r = c;
			break;
		}
		int q = qsess_cmd(&t->s, "{\"execute\":\"query-status\"}", QMP_MS, ans, sizeof(ans),
				  &ignored);
		json_object *st = q ? NULL : json_tokener_parse(ans);
		const char *status = qjstr(st, "status");
		size_t k = strlen(t->trail);
		snprintf(t->trail + k, sizeof(t->trail) - k, ", QEMU says %s",
			 status ? status : "nothing");
		bool again = status && !strcmp(status, "paused");
		bool runs = status && !strcmp(status, "running");
		json_object_put(st);
		if (!again) {
			r = !c || runs ? 0 : c;
			break;
		}
		r = c ? c : err_set(&t->e, EAGAIN, "QEMU says paused after cont");
		nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);
	}
	if (migtls_on() && t->s.fd >= 0) {
		/* the NBD server is stopped and the stream over: the key need not stay */
		struct err de;
		t0 = mono_ms();
		int d = migtls_drop(&t->s, &de);
		trail_add(t, "object-del " MIGTLS_ID, d, mono_ms() - t0);
		if (d) {
			size_t k = strlen(t->trail);
			snprintf(t->trail + k, sizeof(t->trail) - k, " (%.200s)", de.why);
		}
	}
	qsess_close(&t->s);
	t->r = r;
}

static void takeover_done(struct bgjob *b)
{
	struct takeover *t = (struct takeover *)b;
	struct object *o = t->o;
	evlog_add(&o->log, "migrate-in: %s", t->trail[0] ? t->trail : "nothing asked");
	if (t->r && in_of(o))
		model_error(o->ns, o, "migrate-in", t->e.why);
	close(t->dfd);
	obj_put(o);
	free(t);
}

static void in_takeover(struct model *m, struct object *o, struct incoming *in)
{
	/* QEMU set its backlog to 1: the source's probes wait in this one till the resume */
	if (in->nfd >= 0)
		listen(in->nfd, SOMAXCONN);
	struct takeover *t = calloc(1, sizeof(*t));
	int dfd = t ? run_open(m, o) : -ENOMEM;
	int r = dfd < 0 ? dfd : 0;
	if (!r) {
		t->o = o;
		t->dfd = dfd;
		err_clear(&t->e);
		obj_get(o);
		if ((r = bgjob_start(&t->bg, m, takeover_work, takeover_done))) {
			obj_put(o);
			close(dfd);
		}
	}
	if (r) {
		free(t);
		char why[128];
		snprintf(why, sizeof(why), "cannot take the guest over: %s: it stays paused",
			 strerror(-r));
		model_error(o->ns, o, "migrate-in", why);
	}
}

void migrate_event(struct model *m, struct object *o, const char *name, json_object *msg)
{
	struct incoming *in = in_of(o);
	if (!in || in->preparing)
		return;
	json_object *data = NULL, *ts = NULL;
	json_object_object_get_ex(msg, "data", &data);
	json_object_object_get_ex(msg, "timestamp", &ts);
	long long sec = qjint(ts, "seconds"), usec = qjint(ts, "microseconds");
	long long at = sec >= 0 && usec >= 0 && usec < 1000000 ? sec * 1000000 + usec : 0;
	const char *status = !strcmp(name, "MIGRATION") ? qjstr(data, "status") : NULL;
	if (status || !strcmp(name, "RESUME") || !strcmp(name, "STOP"))
		evlog_add(&o->log, "migrate-in: QEMU's event %s%s%s at %lld.%06lld", name,
			  status ? " " : "", status ? status : "", at / 1000000, at % 1000000);
	if (!strcmp(name, "RESUME") && in->completed) {
		in_running(m, o, in, at);
		return;
	}
	if (!status)
		return;
	if (!strcmp(status, "completed") && !in->completed) {
		in->completed = true;
		in_takeover(m, o, in);
		waitq_wake_all(&o->job_wq); /* (a destination that waits for its outcome) */
	} else if (!strcmp(status, "failed") || !strcmp(status, "cancelled")) {
		char why[64];
		snprintf(why, sizeof(why), "the migration %s (QEMU's MIGRATION event)", status);
		model_error(o->ns, o, "migrate-in", why);
		/* its end is the monitor's to see (this runs inside it): the hang-up records it */
		if (o->rt.pid > 0 && proc_starttime(o->rt.pid) == o->rt.pid_start)
			kill(o->rt.pid, SIGKILL);
	}
}

void migrate_status(struct object *o, const char *status)
{
	bool moved = !strcmp(status, "postmigrate"), waiting = !strcmp(status, "inmigrate");
	if ((!moved && !waiting) || migrate_out_busy(o) || in_of(o))
		return;
	if (o->rt.pid <= 0 || proc_starttime(o->rt.pid) != o->rt.pid_start)
		return;
	model_event(o->ns, o,
		    "QEMU (pid %d) says %s, and no migration of this vmfs is under way "
		    "(vmfs was restarted meanwhile): ending it, %s",
		    (int)o->rt.pid, status,
		    moved ? "as the VM runs on the destination" : "as nothing will complete it");
	o->rt.killing = true; /* recorded as killed KILL by the monitor's hang-up */
	kill(o->rt.pid, SIGKILL);
}
