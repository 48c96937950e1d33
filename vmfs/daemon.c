/* The daemon's wiring (vmfs/daemon.h). One thread runs every request to completion, so the
 * model needs no locks: the doors' descriptors, signals (signalfd), the once-a-second tick
 * and the runtime's own sources all wake one epoll (vmfs/loop.c). */
#include "vmfs/daemon.h"

#include "runtime/lifecycle.h"
#include "runtime/run.h"
#include "vmfs/kinds.h"
#include "vmfs/loop.h"
#include "vmfs/slice.h"

static int on_tick(void *arg)
{
	struct vmfs *v = arg;
	hoststats_sample(v->stats);
	run_tick(&v->m);
	return 0;
}

static int on_run_event(void *arg)
{
	struct vmfs *v = arg;
	run_events(&v->m);
	return 0;
}

static int on_rt_event(void *arg)
{
	struct vmfs *v = arg;
	run_sources(&v->m);
	return 0;
}

static int attach_all(struct vmfs *v, struct loop *l, struct door *doors, size_t n)
{
	int urgent = -1;
	for (size_t i = 0; i < n; i++)
		if (doors[i].urgent_fd >= 0)
			urgent = doors[i].urgent_fd;
	if (loop_add_signals(l) || loop_add_timer(l, 1000, on_tick, v) ||
	    loop_add_fd(l, v->m.inotify, on_run_event, v) ||
	    loop_add_fd(l, v->m.rtep, on_rt_event, v) || slice_attach(l, urgent))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (doors[i].ops->attach(doors[i].self, l))
			return -1;
	return 0;
}

/* At exit, every waiting request is woken, so that no process is left waiting: starts end
 * now, so that their writers get the real answer; long commands stop where they are. */
static void wake_all(struct vmfs *v)
{
	for (size_t i = 0; i < v->m.nns; i++)
		for (int t = 0; t < 2; t++)
			for (size_t j = 0; j < v->m.nss[i]->objs[t].n; j++) {
				struct object *o = v->m.nss[i]->objs[t].v[j];
				lifecycle_start_settle(&v->m, o, false);
				waitq_wake_all(&o->console_wq);
				waitq_wake_all(&o->job_wq);
			}
	waitq_wake_all(slice_wq());
}

int daemon_run(struct vmfs *v, struct door *doors, size_t n)
{
	struct loop *l = loop_new();
	int rc = 1;
	if (l && !attach_all(v, l, doors, n))
		rc = loop_run(l);
	/* from now on a waiting request that is woken is answered, not made to wait again */
	v->exiting = true;
	for (size_t i = 0; i < n; i++)
		if (doors[i].ops->stop)
			doors[i].ops->stop(doors[i].self);
	wake_all(v);
	loop_free(l);
	for (size_t i = 0; i < n; i++)
		if (doors[i].ops->close)
			doors[i].ops->close(doors[i].self);
	return rc;
}
