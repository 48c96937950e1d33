/* `mkdir ns/NS/vms/NAME` (and containers/) in a namespace of a cluster on etcd is `launch kvm
 * NAME` (docs/cluster-design.md, "The tree on every host"): placed, claimed first, created on
 * its host (vmfs/claunch.c). The FUSE reply waits for the launch's answer, then for the object
 * to show on this host with its record (the record is in etcd then, so every other host can
 * find it), at most CMKDIR_SHOW_MS: a record comes through the watch, so the wait polls on a
 * short sleep off the loop. */
#include "vmfs/cmkdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/ccmd.h"
#include "cluster/cview.h"
#include "runtime/bgjob.h"
#include "runtime/waitq.h"
#include "vmfs/claunch.h"
#include "vmfs/vreq.h"

#define CMKDIR_SHOW_MS 3000 /* how long a made object may take to show here */
#define CMKDIR_POLL_NS 20000000L

struct cmkdir {
	struct bgjob bg; /* first */
	struct vmfs *v;
	struct hcmd *h; /* the launch's answer, until it ends */
	struct waitq wq; /* woken when a poll's sleep ends */
	uint64_t dir;
	char ns[NAME_MAX_LEN + 1], name[NAME_MAX_LEN + 1];
	struct timespec until;
	bool polling, freed;
};

int cmkdir_start(struct vmfs *v, const struct vnode *dir, enum otype type, const char *name,
		 struct cmkdir **out, char *err, size_t errlen)
{
	struct cmkdir *mk = calloc(1, sizeof(*mk));
	if (!mk)
		return -ENOMEM;
	mk->v = v;
	mk->dir = dir->ino;
	waitq_init(&mk->wq);
	snprintf(mk->ns, sizeof(mk->ns), "%s", dir->ns->name);
	snprintf(mk->name, sizeof(mk->name), "%s", name);
	char *names[] = {mk->name};
	struct vwait w = {0};
	int r = claunch_start(v, dir->ns, type, names, 1, &w, err, errlen);
	if (r != -EINPROGRESS) {
		free(mk);
		return r ? r : -EIO;
	}
	mk->h = w.hcmd;
	*out = mk;
	return -EINPROGRESS;
}

/* Whether the object is in this host's tree with its record in the cache. */
static bool shown(struct cmkdir *mk)
{
	struct vmfs *v = mk->v;
	struct vnode dir, n;
	const struct cview_ns *cns = v->cview ? cview_ns_find(v->cview, mk->ns) : NULL;
	const struct cview_obj *o = cns ? cview_obj_find(v->cview, cns->rec.id, mk->name) : NULL;
	return o && o->rec && !node_from_ino(v, mk->dir, &dir) &&
	       !node_lookup(v, &dir, mk->name, &n);
}

static void nap(struct bgjob *bg)
{
	(void)bg;
	struct timespec t = {0, CMKDIR_POLL_NS};
	nanosleep(&t, NULL);
}

static void napped(struct bgjob *bg)
{
	struct cmkdir *mk = (struct cmkdir *)bg;
	mk->polling = false;
	if (mk->freed)
		free(mk);
	else
		waitq_wake_all(&mk->wq);
}

static bool past(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

int cmkdir_resume(struct cmkdir *mk, struct waitq **wq, char *err, size_t errlen)
{
	if (mk->h) {
		struct sbuf reply = {0};
		int r = hcmd_end(mk->h, &reply, err, errlen);
		sb_free(&reply);
		if (r == -EINPROGRESS) {
			*wq = hcmd_wq(mk->h);
			return r;
		}
		hcmd_put(mk->h);
		mk->h = NULL;
		if (r)
			return r;
		clock_gettime(CLOCK_MONOTONIC, &mk->until);
		mk->until.tv_sec += CMKDIR_SHOW_MS / 1000;
		mk->until.tv_nsec += (CMKDIR_SHOW_MS % 1000) * 1000000L;
		if (mk->until.tv_nsec >= 1000000000L)
			mk->until.tv_sec++, mk->until.tv_nsec -= 1000000000L;
	}
	if (shown(mk))
		return 0;
	if (past(&mk->until)) {
		snprintf(err, errlen, "%s was launched but has not shown on this host within %d ms "
			 "(its record is late: see ns/%s/log)", mk->name, CMKDIR_SHOW_MS, mk->ns);
		return -EIO;
	}
	int r = bgjob_start(&mk->bg, &mk->v->m, nap, napped);
	if (r) {
		snprintf(err, errlen, "%s was launched; no thread to wait for it here: %s",
			 mk->name, strerror(-r));
		return r;
	}
	mk->polling = true;
	*wq = &mk->wq;
	return -EINPROGRESS;
}

uint64_t cmkdir_dir(const struct cmkdir *mk) { return mk->dir; }

const char *cmkdir_name(const struct cmkdir *mk) { return mk->name; }

void cmkdir_free(struct cmkdir *mk)
{
	if (!mk)
		return;
	hcmd_put(mk->h);
	mk->h = NULL;
	if (mk->polling)
		mk->freed = true; /* napped frees it */
	else
		free(mk);
}
