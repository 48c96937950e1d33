/* `mkdir ns/NS/vms/NAME` (and containers/) in a namespace of a cluster on etcd is `launch kvm
 * NAME` (docs/cluster-design.md, "The tree on every host"): placed, claimed first, created on
 * its host (vmfs/claunch.c). The FUSE reply waits for the launch's answer, then for the object
 * to show on this host with its record (the record is in etcd then, so every other host can
 * find it), at most CMKDIR_SHOW_MS: a record comes through the watch, so the wait looks again
 * every CMKDIR_POLL_MS, on a timer of the loop (no thread per look).
 *
 * The look-up in etcd before ENOENT (read-your-writes): a name the cache does not have may
 * have been made on another host a moment ago. One get of its claim, bounded by CMKDIR_ASK_MS,
 * on a thread; claimed: the look-up waits for it to show, at most CMKDIR_ASK_SHOW_MS. Nothing
 * is remembered: the next look-up asks again. */
#include "vmfs/cmkdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/ccmd.h"
#include "cluster/chosts.h"
#include "cluster/ckey.h"
#include "cluster/cview.h"
#include "ctl/ctl.h"
#include "etcd/client.h"
#include "etcd/member.h"
#include "runtime/bgjob.h"
#include "runtime/waitq.h"
#include "vmfs/claunch.h"
#include "vmfs/vreq.h"

#define CMKDIR_SHOW_MS 3000 /* how long a made object may take to show here */
#define CMKDIR_POLL_MS 20
#define CMKDIR_ASK_MS 500	/* a look-up's get of a claim */
#define CMKDIR_ASK_SHOW_MS 1000 /* how long a claimed name may take to show after it */

struct cmkdir {
	struct bgjob bg; /* first */
	struct vmfs *v;
	struct hcmd *h;	 /* the launch's answer, until it ends */
	struct waitq wq; /* woken when a look's wait, or the get of a claim, ends */
	uint64_t dir;
	char ns[NAME_MAX_LEN + 1], name[NAME_MAX_LEN + 1];
	struct timespec until;
	bool polling, freed;
	bool lookup;  /* a look-up's, not a mkdir's */
	bool asking;  /* the get of the claim runs on a thread (else a timer waits) */
	bool claimed; /* its answer */
	char key[CKEY_MAX + 1];
};

static void deadline(struct cmkdir *mk, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, &mk->until);
	mk->until.tv_sec += ms / 1000;
	mk->until.tv_nsec += (ms % 1000) * 1000000L;
	if (mk->until.tv_nsec >= 1000000000L)
		mk->until.tv_sec++, mk->until.tv_nsec -= 1000000000L;
}

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

/* The look-up's get of the claim (on its thread). */
static void ask(struct bgjob *bg)
{
	struct cmkdir *mk = (struct cmkdir *)bg;
	struct etcd_opts o = member_etcd_opts(mk->v->conf, CMKDIR_ASK_MS);
	struct etcd *c;
	struct etcd_kv kv;
	struct err e;
	bool found = false;
	if (!etcd_open(&o, &c, &e)) {
		if (!etcd_get(c, mk->key, &kv, &found, &e) && found)
			etcd_kv_free(&kv);
		etcd_close(c);
	}
	mk->claimed = found; /* (etcd not reached: as if absent) */
}

/* Look-ups asking etcd at once: any user who may search a directory can ask for names, so
 * their threads and connections are bounded; beyond, the cache's answer (ENOENT) stands. */
#define CMKDIR_ASKS_MAX 8
static int asks; /* (the loop's) */

static void napped(struct bgjob *bg)
{
	struct cmkdir *mk = (struct cmkdir *)bg;
	mk->polling = false;
	if (mk->asking) {
		asks--;
		mk->asking = false;
		deadline(mk, CMKDIR_ASK_SHOW_MS);
	}
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
	if (mk->polling) { /* (woken by another queue meanwhile) */
		*wq = &mk->wq;
		return -EINPROGRESS;
	}
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
		deadline(mk, CMKDIR_SHOW_MS);
	}
	if (shown(mk))
		return 0;
	if (mk->lookup && (!mk->claimed || past(&mk->until)))
		return -ENOENT;
	if (past(&mk->until)) {
		snprintf(err, errlen,
			 "%s was launched but has not shown on this host within %d ms "
			 "(its record is late: see ns/%s/log)",
			 mk->name, CMKDIR_SHOW_MS, mk->ns);
		return -EIO;
	}
	int r = bgjob_after(&mk->bg, &mk->v->m, CMKDIR_POLL_MS, napped);
	if (r) {
		snprintf(err, errlen, "%s was launched; no timer to wait for it here: %s",
			 mk->name, strerror(-r));
		return r;
	}
	mk->polling = true;
	*wq = &mk->wq;
	return -EINPROGRESS;
}

int cmkdir_ask(struct vmfs *v, const struct vnode *dir, uint64_t nsid, const char *name,
	       struct cmkdir **out)
{
	const struct cview_ns *cns = v->cview && v->chosts ? cview_ns_id(v->cview, nsid) : NULL;
	char why[512];
	/* (cut from etcd: the get would only time out) */
	if (!cns || asks >= CMKDIR_ASKS_MAX || name_check(name, why, sizeof(why)) ||
	    chosts_get_link(v->chosts, why, sizeof(why)) != CL_JOINED)
		return -ENOENT;
	struct cmkdir *mk = calloc(1, sizeof(*mk));
	if (!mk)
		return -ENOENT;
	*mk = (struct cmkdir){.v = v, .dir = dir->ino, .lookup = true, .asking = true};
	waitq_init(&mk->wq);
	snprintf(mk->ns, sizeof(mk->ns), "%s", cns->name);
	snprintf(mk->name, sizeof(mk->name), "%s", name);
	if (ckey_claim(mk->key, sizeof(mk->key), v->chosts->cluster, nsid, name) < 0 ||
	    bgjob_start(&mk->bg, &v->m, ask, napped)) {
		free(mk);
		return -ENOENT;
	}
	asks++;
	mk->polling = true;
	*out = mk;
	return -EINPROGRESS;
}

struct waitq *cmkdir_wq(struct cmkdir *mk) { return &mk->wq; }

bool cmkdir_is_lookup(const struct cmkdir *mk) { return mk->lookup; }

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
