/* ns/NS/hosts, and the owner and mode of ns/NS, with etcd: a transaction on the namespace's
 * record. The record and the namespace's claims are read at one revision; the write compares
 * the record's revision, and every claim's transaction changes the record (its next-id), so no
 * object can land on a dropped host between the check and the write (docs/cluster-design.md).
 * An owner's change compares the same revision, so it never undoes a hosts write, nor one
 * another host made at the same instant. An rmdir ns/NS deletes the record comparing the same
 * revision and that no claim of the namespace is left (a compare over their prefix). */
#include "cluster/cnshosts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/chosts.h"
#include "cluster/ckey.h"
#include "cluster/cluster.h"
#include "cluster/cnsjoin.h"
#include "cluster/crec.h"
#include "cluster/cview.h"
#include "etcd/client.h"
#include "etcd/member.h"
#include "runtime/bgjob.h"
#include "vmfs/node.h"

#define TRIES 5	 /* lost races (a claim meanwhile) before the write gives up (EAGAIN) */
#define SHOWN 3	 /* objects named in a refusal */
#define HOSTS_MAX 256
#define CACHE_POLL_MS 10  /* the cache looked at this often ... */
#define CACHE_WAIT_MS 2000 /* ... at most this long, after the write (then answered anyway) */
#define CLAIM_WAIT_MS 3000 /* a namespace made here a moment ago: its claim awaited this long */

struct nhjob {
	struct bgjob bg; /* first */
	struct etcd_opts o;
	char cluster[NAME_MAX_LEN + 1], ns[NAME_MAX_LEN + 1];
	uint64_t nsid;
	char (*hosts)[NAME_MAX_LEN + 1];
	size_t nhosts;
	bool owner; /* a chown or chmod: uid, gid and mode are written, hosts kept */
	bool remove; /* an rmdir: the record goes, compared on no claim of the namespace */
	uint64_t uid, gid, mode;
	bool unclaimed; /* made here, not yet in the records: the publisher's claim awaited */
	int64_t rev; /* the revision of the write, once made */
	unsigned naps; /* waits for the cache to reach rev */
	struct vmfs *v;
	struct rbatch *b;
};

static int say(struct nhjob *j, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(struct nhjob *j, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->b->why, sizeof(j->b->why), fmt, ap);
	va_end(ap);
	j->b->err = r;
	return r;
}

int cnshosts_parse(const char *value, char (*out)[NAME_MAX_LEN + 1], size_t max, size_t *n,
		   int (*known)(void *ctx, const char *host, char *why, size_t whylen), void *ctx,
		   char *err, size_t errlen)
{
	*n = 0;
	for (const char *p = value; *p;) {
		p += strspn(p, " \t\n,");
		size_t l = strcspn(p, " \t\n,");
		if (!l)
			break;
		if (l > NAME_MAX_LEN) {
			snprintf(err, errlen, "%.*s... is not a host name (at most %d bytes)", 32, p,
				 NAME_MAX_LEN);
			return -EINVAL;
		}
		char name[NAME_MAX_LEN + 1], why[256];
		memcpy(name, p, l);
		name[l] = 0;
		p += l;
		bool twice = false;
		for (size_t i = 0; i < *n && !twice; i++)
			twice = !strcmp(out[i], name);
		if (twice)
			continue;
		int r = known(ctx, name, why, sizeof(why));
		if (r) {
			snprintf(err, errlen, "%s: %s", name, why);
			return r;
		}
		if (*n == max) {
			snprintf(err, errlen, "more than %zu hosts", max);
			return -E2BIG;
		}
		snprintf(out[(*n)++], NAME_MAX_LEN + 1, "%s", name);
	}
	if (!*n) {
		snprintf(err, errlen, "a namespace needs one host at least");
		return -EINVAL;
	}
	return 0;
}

static bool kept(const struct nhjob *j, const char *host)
{
	for (size_t i = 0; i < j->nhosts; i++)
		if (!strcmp(j->hosts[i], host))
			return true;
	return false;
}

/* The host a claim ties to the namespace that the new list drops, or NULL: its owner, else the
 * host a cold move copies it to (that copy is no model object until the move settles). */
static const char *tied(const struct nhjob *j, const struct crec_claim *c)
{
	if (!kept(j, c->host))
		return c->host;
	return c->moving[0] && !kept(j, c->moving) ? c->moving : NULL;
}

/* The claims on (or moving to) hosts that the new list drops: -EBUSY naming the first such. */
static int dropped(struct nhjob *j, const struct etcd_kvs *claims)
{
	const char *host = NULL;
	size_t held = 0, at = 0;
	bool getting = false;
	char names[3 * (NAME_MAX_LEN + 1) + 8] = "";
	for (size_t i = 0; i < claims->n; i++) {
		struct crec_claim c;
		char why[128];
		const struct etcd_kv *kv = &claims->kv[i];
		const char *who = NULL;
		if (crec_claim_read(kv->value, kv->value_len, &c, why, sizeof(why)) ||
		    !(who = tied(j, &c)) || (host && strcmp(host, who)))
			continue;
		host = host ? host : strdup(who);
		getting |= who != c.host;
		if (!host)
			return say(j, -ENOMEM, "%s", strerror(ENOMEM));
		const char *name = strrchr(kv->key, '/');
		if (held++ < SHOWN && name)
			at += snprintf(names + at, at < sizeof(names) ? sizeof(names) - at : 0,
				       "%s%s", at ? " " : "", name + 1);
	}
	if (!host)
		return 0;
	say(j, -EBUSY, "%s %s %zu object%s of ns/%s (%s%s): move or flush them first", host,
	    getting ? "holds or is receiving" : "holds",
	    held, held == 1 ? "" : "s", j->ns, names, held > SHOWN ? " ..." : "");
	free((char *)host);
	return -EBUSY;
}

/* The record, its id's name and its keys below it deleted in one txn that compares the
 * record's revision and that no claim is under P/name/NSID/ (a launch's claims come first);
 * its failure branch reads the claims, to say where objects remain. */
static int remove_attempt(struct nhjob *j, struct etcd *c, const char *nskey,
			  const char *prefix, int64_t rev)
{
	char idkey[ETCD_KEY_MAX], below[ETCD_KEY_MAX + 1];
	if (ckey_nsid(idkey, sizeof(idkey), j->cluster, j->nsid) < 0 ||
	    snprintf(below, sizeof(below), "%s/", nskey) >= ETCD_KEY_MAX)
		return say(j, -EINVAL, "ns/%s: no key for it", j->ns);
	struct etcd_cmp cmp[2] = {
	    {.key = nskey, .target = ETCD_MOD, .result = ETCD_EQUAL, .num = rev},
	    {.key = prefix, .target = ETCD_VERSION, .result = ETCD_EQUAL, .num = 0, .prefix = true}};
	struct etcd_op del[3] = {{.kind = ETCD_OP_DELETE, .key = nskey},
				 {.kind = ETCD_OP_DELETE, .key = idkey},
				 {.kind = ETCD_OP_DELETE, .key = below, .prefix = true}};
	struct etcd_op rd[2] = {{.kind = ETCD_OP_RANGE, .key = nskey},
				{.kind = ETCD_OP_RANGE, .key = prefix, .prefix = true}};
	struct etcd_txn_result res;
	struct err e;
	err_clear(&e);
	if (etcd_txn(c, cmp, 2, del, 3, rd, 2, &res, &e))
		return say(j, -e.no, "etcd: %.900s", e.why);
	int r = 0;
	j->rev = res.revision;
	if (!res.succeeded && res.nranges == 2 && res.ranges[0].n == 1 &&
	    res.ranges[0].kv[0].mod_revision == rev)
		r = dropped(j, &res.ranges[1]); /* (no host is kept: the first that holds any) */
	else if (!res.succeeded)
		r = 1; /* the record changed meanwhile: read again */
	if (!res.succeeded && !r) /* claims this vmfs cannot read */
		r = say(j, -EBUSY, "ns/%s: the cluster holds claims of it this host cannot read",
			j->ns);
	etcd_txn_result_free(&res);
	return r;
}

/* One read and one compared write: 1 if the write lost a race (read again), 0, or -errno. */
static int attempt(struct nhjob *j, struct etcd *c)
{
	char nskey[ETCD_KEY_MAX], prefix[ETCD_KEY_MAX];
	struct err e;
	err_clear(&e);
	if (ckey_ns(nskey, sizeof(nskey), j->cluster, j->ns) < 0 ||
	    ckey_claims_prefix(prefix, sizeof(prefix), j->cluster, j->nsid) < 0)
		return say(j, -EINVAL, "ns/%s: no key for it", j->ns);
	struct etcd_op rd[2] = {{.kind = ETCD_OP_RANGE, .key = nskey},
				{.kind = ETCD_OP_RANGE, .key = prefix, .prefix = true}};
	struct etcd_txn_result res = {0};
	size_t nrd = j->owner || j->remove ? 1 : 2; /* the claims: a hosts write's, read here */
	if (etcd_txn(c, NULL, 0, rd, nrd, NULL, 0, &res, &e))
		return say(j, -e.no, "etcd: %.900s", e.why);
	int r = 0;
	struct crec_ns rec = {0};
	char why[256];
	if (res.nranges != nrd || res.ranges[0].n != 1)
		r = say(j, -ENOENT, "ns/%s has no record in the cluster (yet): try again", j->ns);
	else if (crec_ns_read(res.ranges[0].kv[0].value, res.ranges[0].kv[0].value_len, &rec, why,
			      sizeof(why)))
		r = say(j, -EIO, "ns/%s: its record in etcd is damaged: %s", j->ns, why);
	else if (rec.id != j->nsid)
		r = say(j, -ESTALE, "ns/%s was removed and made again meanwhile: try again", j->ns);
	else if (!j->owner && !j->remove)
		r = dropped(j, &res.ranges[1]);
	int64_t rev = r ? 0 : res.ranges[0].kv[0].mod_revision;
	etcd_txn_result_free(&res);
	if (r || j->remove) {
		crec_ns_free(&rec);
		return r ? r : remove_attempt(j, c, nskey, prefix, rev);
	}
	if (j->owner) {
		rec.uid = j->uid;
		rec.gid = j->gid;
		rec.mode = j->mode;
	} else {
		free(rec.hosts);
		rec.hosts = j->hosts;
		rec.nhosts = j->nhosts;
	}
	struct sbuf val = {0};
	crec_ns_write(&rec, &val);
	if (!j->owner)
		rec.hosts = NULL; /* (j's) */
	crec_ns_free(&rec);
	if (val.oom) {
		sb_free(&val);
		return say(j, -ENOMEM, "%s", strerror(ENOMEM));
	}
	struct etcd_cmp cmp = {.key = nskey, .target = ETCD_MOD, .result = ETCD_EQUAL, .num = rev};
	struct etcd_op put = {.kind = ETCD_OP_PUT, .key = nskey, .value = val.p, .len = val.len};
	r = etcd_txn(c, &cmp, 1, &put, 1, NULL, 0, &res, &e);
	sb_free(&val);
	if (r)
		return say(j, -e.no, "etcd: %.900s", e.why);
	r = res.succeeded ? 0 : 1;
	j->rev = res.revision;
	etcd_txn_result_free(&res);
	return r;
}

static void work(struct bgjob *bg)
{
	struct nhjob *j = (struct nhjob *)bg;
	struct etcd *c;
	struct err e;
	err_clear(&e);
	if (etcd_open(&j->o, &c, &e)) {
		say(j, -e.no, "etcd: %.900s", e.why);
		return;
	}
	int r = 1;
	for (int i = 0; i < TRIES && r == 1; i++)
		r = attempt(j, c);
	if (r == 1)
		say(j, -EAGAIN, "ns/%s: its record changed %d times meanwhile: try again", j->ns,
		    TRIES);
	etcd_close(c);
}

/* An rmdir's end on the loop: this host's copy goes with the record (the others' when their
 * caches have it: cluster/cnsjoin.h); a refusal is said in the namespace's log. */
static void removed(struct nhjob *j, struct ns *ns)
{
	char err[512];
	if (!j->b->err && ns && ns_remove(&j->v->m, ns, err, sizeof(err)))
		say(j, -EBUSY, "ns/%s is removed from the cluster, but its copy here stays: %s",
		    j->ns, err);
	else if (!j->b->err)
		model_changes++;
	if (j->b->err && ns)
		model_error(ns, NULL, "rmdir ns", j->b->why);
	else if (j->b->err)
		evlog_add(&j->v->log, "error: rmdir ns/%s: %s", j->ns, j->b->why);
	else
		evlog_add(&j->v->log, "namespace %s removed (from cluster %s)", j->ns, j->cluster);
}

static void done(struct bgjob *bg)
{
	struct nhjob *j = (struct nhjob *)bg;
	/* read your writes: answered once this host's cache has the record written (the next
	 * read of hosts, the kernel's attributes of the directory, show it) */
	if (!j->b->err && j->rev > ccache_revision(j->v->chosts->cache) &&
	    j->naps++ < CACHE_WAIT_MS / CACHE_POLL_MS && !j->v->exiting &&
	    !bgjob_after(&j->bg, &j->v->m, CACHE_POLL_MS, done))
		return;
	struct ns *ns = j->owner || j->remove ? ns_find(&j->v->m, j->ns) : NULL;
	if (ns && ns->gone)
		ns = NULL;
	if (j->remove)
		removed(j, ns);
	else if (j->owner && !j->b->err) /* here at once: the write's answer shows it */
		cnsjoin_owner_written(j->v, j->ns, j->uid, j->gid, j->mode, j->rev);
	else if (j->owner && ns)
		model_error(ns, NULL, "chown/chmod", j->b->why);
	else if (j->owner)
		evlog_add(&j->v->log, "error: chown/chmod ns/%s: %s", j->ns, j->b->why);
	j->b->pending = 0;
	waitq_wake_all(&j->b->wq);
	rbatch_put(j->b);
	free(j->hosts);
	free(j);
}

static int known(void *ctx, const char *host, char *why, size_t whylen)
{
	struct chosts *ch = ctx;
	if (chosts_forgotten(ch, host, why, whylen))
		return -ENOENT;
	if (strcmp(host, ch->self) && !chosts_find(ch, host)) {
		snprintf(why, whylen, "no such host in cluster %s (hosts/ lists them)", ch->cluster);
		return -ENOENT;
	}
	return 0;
}

/* A job for ns once this host may write the cluster's records: NULL (err said) if not. */
static struct nhjob *job_new(struct vmfs *v, const char *ns, int *r, char *err, size_t errlen)
{
	struct chosts *ch = v->chosts;
	const struct cview_ns *cn = v->cview ? cview_ns_find(v->cview, ns) : NULL;
	char lw[256];
	enum chosts_link link = chosts_get_link(ch, lw, sizeof(lw));
	if (link != CL_JOINED) {
		snprintf(err, errlen, "this host is %s the cluster's etcd (%s): ns/%s cannot "
			 "change now", link == CL_CUT ? "cut from" : "not joined to",
			 *lw ? lw : "not yet", ns);
		*r = -ENOTCONN;
		return NULL;
	}
	/* `mkdir ns/lab; echo 'h1 h2' > ns/lab/hosts`: the mkdir returns before the publisher's
	 * thread has claimed lab in etcd; such a write waits for the claim (job_go) */
	const struct ns *here = ns_find(&v->m, ns);
	bool unclaimed = ch->synced && !cn && here && !here->gone;
	if (!ch->synced || (!cn && !unclaimed)) {
		snprintf(err, errlen,
			 "ns/%s is not in the cluster's records yet (this host is joining, or "
			 "cut from etcd): try again",
			 ns);
		*r = -EAGAIN;
		return NULL;
	}
	struct nhjob *j = calloc(1, sizeof(*j));
	if (j)
		j->hosts = calloc(HOSTS_MAX, sizeof(*j->hosts));
	if (!j || !j->hosts || !(j->b = rbatch_new())) {
		if (j)
			free(j->hosts);
		free(j);
		*r = -ENOMEM;
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	j->v = v;
	j->o = member_etcd_opts(v->conf, 0);
	j->unclaimed = unclaimed;
	j->nsid = cn ? cn->rec.id : 0;
	snprintf(j->cluster, sizeof(j->cluster), "%s", ch->cluster);
	snprintf(j->ns, sizeof(j->ns), "%s", ns);
	return j;
}

static void job_free(struct nhjob *j)
{
	rbatch_put(j->b);
	free(j->hosts);
	free(j);
}

/* On the loop, while a namespace made here waits for its claim: the write goes once this
 * host's view has it, or fails EAGAIN after CLAIM_WAIT_MS (a claim refused is in the log). */
static void claimed(struct bgjob *bg)
{
	struct nhjob *j = (struct nhjob *)bg;
	const struct cview_ns *cn = j->v->cview ? cview_ns_find(j->v->cview, j->ns) : NULL;
	const struct ns *here = ns_find(&j->v->m, j->ns);
	int r;
	if (!here || here->gone) /* removed here meanwhile: a claim landing late is not revived */
		say(j, -ENOENT, "ns/%s was removed here while its hosts write waited for its claim",
		    j->ns);
	else if (cn) {
		j->nsid = cn->rec.id;
		j->unclaimed = false;
		j->naps = 0;
		if (!(r = bgjob_start(&j->bg, &j->v->m, work, done)))
			return;
		say(j, r, "no thread for it: %s", strerror(-r));
	} else if (j->naps++ < CLAIM_WAIT_MS / CACHE_POLL_MS && !j->v->exiting &&
		   !(r = bgjob_after(&j->bg, &j->v->m, CACHE_POLL_MS, claimed)))
		return;
	else
		say(j, -EAGAIN,
		    "ns/%s, made here, is not in the cluster's records after %d ms (host/log says "
		    "why if its claim was refused): try again",
		    j->ns, CLAIM_WAIT_MS);
	done(bg);
}

/* -EINPROGRESS with *wait, or -errno (j freed) */
static int job_go(struct vmfs *v, struct nhjob *j, struct rbatch **wait, char *err,
		  size_t errlen)
{
	j->b->pending = 1;
	j->b->refs++; /* the writer's */
	int r = j->unclaimed ? bgjob_after(&j->bg, &v->m, 0, claimed)
			     : bgjob_start(&j->bg, &v->m, work, done);
	if (r) {
		j->b->refs--;
		job_free(j);
		snprintf(err, errlen, "no thread for it: %s", strerror(-r));
		return r;
	}
	*wait = j->b;
	return -EINPROGRESS;
}

int cnshosts_start(struct vmfs *v, const char *ns, const char *value, struct rbatch **wait,
		   char *err, size_t errlen)
{
	int r;
	struct nhjob *j = job_new(v, ns, &r, err, errlen);
	if (!j)
		return r;
	if ((r = cnshosts_parse(value, j->hosts, HOSTS_MAX, &j->nhosts, known, v->chosts, err,
				errlen))) {
		job_free(j);
		return r;
	}
	return job_go(v, j, wait, err, errlen);
}

int cnsrm_start(struct vmfs *v, const char *ns, struct rbatch **wait, char *err, size_t errlen)
{
	int r;
	struct nhjob *j = job_new(v, ns, &r, err, errlen);
	if (!j)
		return r;
	j->remove = true;
	return job_go(v, j, wait, err, errlen);
}

int cnsowner_start(struct vmfs *v, const char *ns, uid_t uid, gid_t gid, mode_t mode,
		   struct rbatch **wait, char *err, size_t errlen)
{
	int r;
	struct nhjob *j = job_new(v, ns, &r, err, errlen);
	if (!j)
		return r;
	j->owner = true;
	j->uid = uid;
	j->gid = gid;
	j->mode = mode & 0777;
	return job_go(v, j, wait, err, errlen);
}
