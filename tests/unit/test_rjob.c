/* The cluster's workers (cluster/rjob.c) reaching a member over 9P (cluster/r9p.c): jobs
 * answered through the model's epoll with the member's errno and ctl answer, a console
 * follow that is let go ends at its next poll and takes its connection with it (the server
 * here serves one connection at a time: the next worker is answered only then), and a door
 * that never answers fails the job at its deadline. */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/rjob.h"
#include "cluster/rtrans.h"
#include "p9/client.h"
#include "tests/unit/p9_harness.h"
#include "tests/unit/tap.h"

struct result {
	bool done;
	int err;
	char out[4096];
};

static void on_done(struct rjob *j)
{
	struct result *r = j->arg;
	r->done = true;
	r->err = j->err;
	snprintf(r->out, sizeof(r->out), "%.*s", (int)j->out.len, j->out.p ? j->out.p : "");
	rjob_free(j);
}

/* The event loop's part: deliveries, and the deadlines on each pass. */
static void pump(struct result *r, struct rworker **w, unsigned ms)
{
	uint64_t end = p9c_now_ms() + ms;
	while (!r->done && p9c_now_ms() < end) {
		struct epoll_event ev[8];
		int n = epoll_wait(v.m.rtep, ev, 8, 50);
		for (int i = 0; i < n; i++) {
			struct rtsrc *s = ev[i].data.ptr;
			s->ready(&v.m, s);
		}
		if (*w && rworker_expire(*w))
			*w = NULL;
	}
}

static struct result *job(struct rworker *w, enum rop op, const char *path, const char *in,
			  unsigned ms)
{
	struct result *r = calloc(1, sizeof(*r));
	struct rjob *j = rjob_new(op, path, on_done, r);
	if (in)
		sb_puts(&j->in, in);
	rworker_submit(w, j, ms);
	return r;
}

static void workers(void)
{
	struct server s;
	int port, lfd = harness_listen(&port);
	harness_serve(&s, -1, lfd);
	struct rtarget tg = {.kind = RK_9P_TCP};
	snprintf(tg.host, sizeof(tg.host), "127.0.0.1");
	snprintf(tg.port, sizeof(tg.port), "%d", port);
	struct rworker *w = rworker_new_to(&v.m, &tg);
	ok(w != NULL, "a worker for 9p://127.0.0.1:%d", port);

	struct result *r = job(w, ROP_READ, "version", NULL, 5000);
	pump(r, &w, 5000);
	ok(r->done && !r->err && !strncmp(r->out, "vmfs ", 5), "ROP_READ of version: %.10s", r->out);
	free(r);
	r = job(w, ROP_CTL, "ns/lab/containers/c1/ctl", "pause\n", 5000);
	pump(r, &w, 5000);
	ok(r->done && r->err == -EBUSY, "ROP_CTL pause: the member's EBUSY (%d)", r->err);
	ok(strstr(r->out, "pause needs it RUNNING") != NULL, "and its answer: %s", strtok(r->out, "\n"));
	free(r);
	r = job(w, ROP_MKDIR, "ns/lab9", NULL, 5000);
	pump(r, &w, 5000);
	ok(r->done && !r->err, "ROP_MKDIR ns/lab9");
	free(r);
	r = job(w, ROP_WRITE, "ns/lab9/vlans/LAN3", "103", 5000);
	pump(r, &w, 5000);
	ok(r->done && !r->err, "ROP_WRITE makes ns/lab9/vlans/LAN3");
	free(r);

	/* a follow of a console with nothing to say, let go */
	r = job(w, ROP_TAIL, "ns/lab/containers/c1/console.log", NULL, 24 * 3600 * 1000);
	pump(r, &w, 400);
	ok(!r->done, "a follow waits for output");
	rworker_drop(w);
	ok(r->done && r->err == -EHOSTDOWN, "let go, it is answered at once");
	free(r);
	w = rworker_new_to(&v.m, &tg);
	uint64_t t0 = p9c_now_ms();
	r = job(w, ROP_READ, "version", NULL, 5000);
	pump(r, &w, 5000);
	uint64_t dt = p9c_now_ms() - t0;
	ok(r->done && !r->err && dt < 1500,
	   "the next worker is answered in %llu ms: the old one's connection went at its next poll",
	   (unsigned long long)dt);
	free(r);
	rworker_drop(w);
	harness_stop(&s);
	ok(s.conns == 2, "one connection a worker (%d)", s.conns);

	/* a door that takes the connection and never answers */
	lfd = harness_listen(&port);
	snprintf(tg.port, sizeof(tg.port), "%d", port);
	w = rworker_new_to(&v.m, &tg);
	t0 = p9c_now_ms();
	r = job(w, ROP_READ, "version", NULL, 300);
	pump(r, &w, 5000);
	dt = p9c_now_ms() - t0;
	/* the worker gives up by the same deadline as the loop: either may tell it */
	ok(r->done && r->err == -ETIMEDOUT && dt < 1000, "a silent door: ETIMEDOUT in %llu ms",
	   (unsigned long long)dt);
	free(r);
	if (w)
		rworker_drop(w);
	close(lfd);
}

int main(void)
{
	char dir[] = "/tmp/test_rjob.XXXXXX";
	if (harness_open(dir)) {
		v.m.rtep = epoll_create1(EPOLL_CLOEXEC); /* as run_init makes it: workers answer there */
		workers();
		usleep(300000); /* the abandoned workers' threads end (their connection's deadline) */
		close(v.m.rtep);
	}
	harness_close(dir);
	return tap_done();
}
