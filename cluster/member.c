/* Members: added and removed (hosts/ctl, members.conf), mounted with sshfs when given as
 * ssh:// (reached in 9P by the workers when given as 9p:// or 9p+ssh://), probed every
 * second, and the tables of the namespaces that span them copied. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "cluster/merge.h"
#include "ctl/ctl.h"
#include "runtime/model.h"

#define PROBE_MS 2500  /* a probe that takes longer marks the member down: within 3.5 s */
#define MOUNT_MS 15000 /* sshfs: an SSH connection and its login */
#define CONF "members.conf"

const char *mstate_name(enum mstate s)
{
	return s == MS_UP ? "up" : s == MS_DOWN ? "down" : "connecting";
}

struct member *cluster_find(const struct cluster *cl, const char *name)
{
	for (size_t i = 0; i < cl->n; i++)
		if (!strcmp(cl->v[i]->name, name))
			return cl->v[i];
	return NULL;
}

struct member *cluster_slot(const struct cluster *cl, uint32_t slot)
{
	for (size_t i = 0; i < cl->n; i++)
		if (cl->v[i]->slot == slot)
			return cl->v[i];
	return NULL;
}

static void set_state(struct member *mb, enum mstate s, const char *why)
{
	if (mb->state == s && (s != MS_DOWN || !strcmp(mb->why, why)))
		return;
	bool changed = mb->state != s;
	mb->state = s;
	snprintf(mb->why, sizeof(mb->why), "%s", why);
	if (changed)
		mb->since = time(NULL);
	if (s == MS_UP)
		evlog_add(mb->cl->log, "hosts/%s: up (%u ms)", mb->name, mb->latency_ms);
	else if (s == MS_DOWN)
		evlog_add(mb->cl->log, "error: hosts/%s: down: %s", mb->name, why);
}

void member_state_text(const struct member *mb, struct sbuf *out)
{
	char ts[32];
	fmt_time(mb->since, ts);
	if (mb->state == MS_UP)
		sb_printf(out, "up since %s, %u ms\n", ts, mb->latency_ms);
	else
		sb_printf(out, "%s since %s: %s\n", mstate_name(mb->state), ts, mb->why);
}

void member_put(struct member *mb)
{
	if (--mb->refs)
		return;
	for (size_t i = 0; i < mb->ntabs; i++) {
		sb_free(&mb->tabs[i].info);
		sb_free(&mb->tabs[i].top);
	}
	free(mb->tabs);
	free(mb->vx);
	sb_free(&mb->info);
	sb_free(&mb->top);
	free(mb);
}

/* A job of ours: the member stays allocated until its answer came, even if removed. */
static void job_done(struct rjob *j);

static void job_on(struct member *mb, struct rworker **w, struct rjob *j, const char *rel,
		   unsigned timeout_ms)
{
	snprintf(j->path, sizeof(j->path), "%s", rel);
	if (!*w && !mb->removed)
		*w = member_worker_new(mb);
	if (!*w) {
		j->err = -EHOSTDOWN;
		j->done(j);
		return;
	}
	rworker_submit(*w, j, timeout_ms);
}

struct rworker *member_worker_new(struct member *mb)
{
	return rworker_new_to(mb->cl->m, &mb->target);
}

void member_transport_text(const struct member *mb, struct sbuf *out)
{
	char text[PATH_MAX + 100];
	rtarget_text(&mb->target, mb->ssh, text, sizeof(text));
	sb_printf(out, "transport %s\n", text);
}

void member_job(struct member *mb, struct rjob *j, const char *rel, unsigned timeout_ms)
{
	if (mb->state == MS_DOWN) { /* answered at once: the probes say when it is back */
		j->err = -EHOSTDOWN;
		j->done(j);
		return;
	}
	job_on(mb, &mb->w, j, rel, timeout_ms);
}

static const char *err_text(int err, char *buf, size_t len)
{
	if (err == -ETIMEDOUT)
		snprintf(buf, len, "no answer within %.1f s", PROBE_MS / 1000.0);
	else
		snprintf(buf, len, "%s", strerror(-err));
	return buf;
}

/* A namespace spans mb when its hosts value names it. */
int ns_hosts_each(const struct ns *ns, int (*fn)(void *ctx, const char *host), void *ctx)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", ns->hosts ? ns->hosts : "");
	char *save = NULL;
	for (char *h = strtok_r(buf, " \t,", &save); h; h = strtok_r(NULL, " \t,", &save))
		if (fn(ctx, h))
			return 1;
	return 0;
}

static int same_name(void *ctx, const char *host)
{
	return !strcmp(host, ctx);
}

static bool spans(const struct ns *ns, const char *name)
{
	return ns_hosts_each(ns, same_name, (void *)name);
}

static struct mtab *tab_for(struct member *mb, const char *ns)
{
	for (size_t i = 0; i < mb->ntabs; i++)
		if (!strcmp(mb->tabs[i].ns, ns))
			return &mb->tabs[i];
	struct mtab *t = realloc(mb->tabs, (mb->ntabs + 1) * sizeof(*t));
	if (!t)
		return NULL;
	mb->tabs = t;
	t = &mb->tabs[mb->ntabs++];
	memset(t, 0, sizeof(*t));
	snprintf(t->ns, sizeof(t->ns), "%s", ns);
	return t;
}

void member_table_set(struct member *mb, const char *ns, bool top, struct sbuf *text)
{
	struct mtab *t = tab_for(mb, ns);
	if (!t)
		return;
	struct sbuf *dst = top ? &t->top : &t->info;
	sb_free(dst);
	*dst = *text;
	*text = (struct sbuf){0};
	t->fresh = true;
	model_changes++;
}

const struct mtab *member_tab(const struct member *mb, const char *ns)
{
	for (size_t i = 0; i < mb->ntabs; i++)
		if (!strcmp(mb->tabs[i].ns, ns))
			return &mb->tabs[i];
	return NULL;
}

struct spanned_ctx {
	const struct cluster *cl;
	int (*fn)(void *ctx, struct member *mb);
	void *ctx;
};

static int spanned_one(void *ctx, const char *host)
{
	struct spanned_ctx *c = ctx;
	struct member *mb = cluster_find(c->cl, host);
	return mb && c->fn(c->ctx, mb);
}

int cluster_spanned(const struct cluster *cl, const struct ns *ns,
		    int (*fn)(void *ctx, struct member *mb), void *ctx)
{
	struct spanned_ctx c = {cl, fn, ctx};
	return ns_hosts_each(ns, spanned_one, &c);
}

struct rows_ctx {
	const struct ns *ns;
	bool top;
	struct sbuf *out;
};

static int rows_of(void *ctx, struct member *mb)
{
	struct rows_ctx *c = ctx;
	const struct mtab *t = member_tab(mb, c->ns->name);
	const struct sbuf *b = t ? (c->top ? &t->top : &t->info) : NULL;
	if (b && b->len)
		merge_rows(c->out, b->p, b->len, mb->name, mb->state != MS_UP || !t->fresh);
	return 0;
}

void cluster_rows(const struct cluster *cl, const struct ns *ns, bool top, struct sbuf *out)
{
	struct rows_ctx c = {ns, top, out};
	cluster_spanned(cl, ns, rows_of, &c);
}

enum jkind { J_PROBE, J_TOP, J_INFO_TAB, J_TOP_TAB, J_MOUNT };

struct jctx {
	struct member *mb;
	enum jkind kind;
	char ns[64];
};

static void submit(struct member *mb, enum jkind kind, const char *ns, enum rop op,
		   const char *rel, unsigned ms)
{
	struct jctx *c = calloc(1, sizeof(*c));
	struct rjob *j = c ? rjob_new(op, "", job_done, c) : NULL;
	if (!j) {
		free(c);
		return;
	}
	c->mb = mb;
	c->kind = kind;
	snprintf(c->ns, sizeof(c->ns), "%s", ns ? ns : "");
	mb->refs++;
	if (kind == J_MOUNT) {
		sb_add(&j->in, rel, ms); /* rel: the NUL-separated argv, ms: its length */
		if (!mb->hw)
			mb->hw = member_worker_new(mb);
		if (mb->hw)
			rworker_submit(mb->hw, j, MOUNT_MS);
		else
			j->err = -ENOMEM, job_done(j);
		return;
	}
	job_on(mb, &mb->hw, j, rel, ms);
}

/* The tables of each namespace that spans mb, after a probe that answered. */
static void fetch_tables(struct member *mb)
{
	struct model *m = mb->cl->m;
	for (size_t i = 0; i < m->nns; i++) {
		if (!spans(m->nss[i], mb->name))
			continue;
		char rel[256];
		snprintf(rel, sizeof(rel), "ns/%s/info", m->nss[i]->name);
		submit(mb, J_INFO_TAB, m->nss[i]->name, ROP_READ, rel, PROBE_MS);
		snprintf(rel, sizeof(rel), "ns/%s/top", m->nss[i]->name);
		submit(mb, J_TOP_TAB, m->nss[i]->name, ROP_READ, rel, PROBE_MS);
	}
}

static void job_done(struct rjob *j)
{
	struct jctx *c = j->arg;
	struct member *mb = c->mb;
	char why[512];
	if (mb->removed)
		goto out;
	switch (c->kind) {
	case J_PROBE:
		mb->probing = false;
		if (j->err) {
			/* the transport's reason ("9p: connect to ...: Connection refused") */
			if (j->out.len && j->err != -ETIMEDOUT) {
				snprintf(why, sizeof(why), "%.*s", (int)j->out.len, j->out.p);
				why[strcspn(why, "\n")] = 0;
			} else {
				err_text(j->err, why, sizeof(why));
			}
			set_state(mb, MS_DOWN, why);
			for (size_t i = 0; i < mb->ntabs; i++)
				mb->tabs[i].fresh = false;
			break;
		}
		mb->latency_ms = j->ms;
		sb_free(&mb->info);
		mb->info = j->out;
		j->out = (struct sbuf){0};
		set_state(mb, MS_UP, "");
		submit(mb, J_TOP, NULL, ROP_READ, "host/top", PROBE_MS);
		fetch_tables(mb);
		break;
	case J_TOP:
		if (!j->err) {
			sb_free(&mb->top);
			mb->top = j->out;
			j->out = (struct sbuf){0};
		}
		break;
	case J_INFO_TAB:
	case J_TOP_TAB: {
		struct mtab *t = tab_for(mb, c->ns);
		if (!t)
			break;
		if (j->err) { /* a namespace the member does not have yet: no rows */
			t->fresh = j->err == -ENOENT;
			if (j->err == -ENOENT)
				(c->kind == J_INFO_TAB ? &t->info : &t->top)->len = 0;
			break;
		}
		struct sbuf *dst = c->kind == J_INFO_TAB ? &t->info : &t->top;
		sb_free(dst);
		*dst = j->out;
		j->out = (struct sbuf){0};
		t->fresh = true;
		model_changes++;
		break;
	}
	case J_MOUNT:
		mb->mounting = false;
		if (j->err) {
			j->out.len = j->out.len > 300 ? 300 : j->out.len;
			sb_add(&j->out, "", 1);
			char *nl;
			while ((nl = strchr(j->out.p, '\n')))
				*nl = ' ';
			snprintf(why, sizeof(why), "sshfs: %s", *j->out.p ? j->out.p : strerror(-j->err));
			set_state(mb, MS_DOWN, why);
		}
		break;
	}
out:
	free(c);
	rjob_free(j);
	member_put(mb);
}

/* ssh://USER@HOST[:PORT]/PATH -> sshfs's arguments, NUL-separated. */
static int sshfs_argv(const struct member *mb, const char *options, struct sbuf *out, char *err,
		      size_t errlen)
{
	/* add() checked the URL's shape */
	const char *rest = mb->url + strlen("ssh://");
	const char *slash = strchr(rest, '/');
	char host[512], port[16] = "";
	snprintf(host, sizeof(host), "%.*s", (int)(slash - rest), rest);
	char *colon = strrchr(host, ':');
	if (colon && !strchr(colon, ']')) {
		snprintf(port, sizeof(port), "%s", colon + 1);
		*colon = 0;
	}
	sb_printf(out, "sshfs%c%s:%s%c%s%c-o%creconnect,ServerAliveInterval=1,ServerAliveCountMax=3,"
		  "ConnectTimeout=5,BatchMode=yes,direct_io,dir_cache=no,sshfs_sync,max_conns=4,"
		  "attr_timeout=0,"
		  "entry_timeout=0,negative_timeout=0%s%s%c", 0, host, slash, 0, mb->root, 0, 0,
		  *options ? "," : "", options, 0);
	if (*port)
		sb_printf(out, "-p%c%s%c", 0, port, 0);
	out->len--; /* the last NUL is the string's own */
	if (sb_err(out))
		snprintf(err, errlen, "sshfs: %s", strerror(ENOMEM));
	return sb_err(out);
}

static void mount_member(struct member *mb)
{
	char err[512];
	struct sbuf argv = {0};
	mkdirat(mb->cl->dirfd, mb->name, 0700);
	if (sshfs_argv(mb, mb->cl->sshfs_options ? mb->cl->sshfs_options : "", &argv, err,
		       sizeof(err))) {
		set_state(mb, MS_DOWN, err);
		sb_free(&argv);
		return;
	}
	mb->mounting = true;
	submit(mb, J_MOUNT, NULL, ROP_RUN, argv.p, argv.len + 1);
	sb_free(&argv);
}

static bool is_mounted(const char *path)
{
	char line[8192];
	FILE *f = fopen("/proc/self/mounts", "re");
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' '), *end = sp ? strchr(sp + 1, ' ') : NULL;
		found = end && (size_t)(end - sp - 1) == strlen(path) && !strncmp(sp + 1, path, end - sp - 1);
	}
	if (f)
		fclose(f);
	return found;
}

static void probe(struct member *mb)
{
	if (mb->hw && rworker_expire(mb->hw))
		mb->hw = NULL; /* its probe was answered ETIMEDOUT: the member is down */
	if (mb->w && rworker_expire(mb->w))
		mb->w = NULL; /* a request overstayed: it failed, the next gets a new worker */
	if (mb->probing || mb->mounting)
		return;
	if (mb->ssh && !is_mounted(mb->root)) {
		if (mb->state == MS_UP) /* sshfs went away: nothing reaches it until it is back */
			set_state(mb, MS_DOWN, "its sshfs mount went away: mounting it again");
		mount_member(mb);
		return;
	}
	/* a member that is down is asked every 2 s: each ask may leave a thread waiting on
	 * the network filesystem until it gives up */
	if (mb->state == MS_DOWN && ++mb->down_ticks % 4)
		return;
	mb->probing = true;
	submit(mb, J_PROBE, NULL, ROP_READ, "host/info", PROBE_MS);
}

static int on_tick_fd(struct cluster *cl)
{
	uint64_t n;
	if (read(cl->tfd, &n, sizeof(n)) < 0)
		return 0;
	cl->running = true;
	for (size_t i = 0; i < cl->n; i++)
		probe(cl->v[i]);
	if (cl->synced != model_changes) { /* only when a table or a state moved */
		cl->synced = model_changes;
		cluster_vxlan_sync(cl);
	}
	return 0;
}

static void tick_ready(struct model *m, struct rtsrc *s)
{
	on_tick_fd((struct cluster *)((char *)s - offsetof(struct cluster, tick)));
}

static int save(struct cluster *cl, char *err, size_t errlen)
{
	struct sbuf b = {0};
	sb_puts(&b, "# the cluster's members (hosts/ctl): NAME URL\n");
	for (size_t i = 0; i < cl->n; i++)
		sb_printf(&b, "%s %s\n", cl->v[i]->name, cl->v[i]->url);
	int r = sb_err(&b) ? -ENOMEM : write_atomic(cl->dirfd, CONF, b.p, b.len, 1);
	sb_free(&b);
	if (r)
		snprintf(err, errlen, "cannot save %s: %s", CONF, strerror(-r));
	return r;
}

int member_url_check(const char *url, char *err, size_t errlen)
{
	return rtarget_parse(url, NULL, NULL, NULL, err, errlen);
}

static int add(struct cluster *cl, const char *name, const char *url, char *err, size_t errlen)
{
	char sdir[PATH_MAX], link[64];
	if (name_check(name, err, errlen))
		return -EINVAL;
	if (cluster_find(cl, name)) {
		snprintf(err, errlen, "%s is a member already (remove it first)", name);
		return -EEXIST;
	}
	int r = member_url_check(url, err, errlen);
	if (r)
		return r;
	bool ssh = !strncmp(url, "ssh://", 6);
	struct member *mb = calloc(1, sizeof(*mb));
	struct member **v = mb ? realloc(cl->v, (cl->n + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(mb);
		return -ENOMEM;
	}
	cl->v = v;
	mb->cl = cl;
	mb->refs = 1;
	mb->slot = ++cl->next_slot;
	mb->ssh = ssh;
	mb->since = time(NULL);
	snprintf(mb->name, sizeof(mb->name), "%s", name);
	snprintf(mb->url, sizeof(mb->url), "%s", url);
	snprintf(mb->why, sizeof(mb->why), "not asked yet");
	snprintf(link, sizeof(link), "/proc/self/fd/%d", cl->dirfd);
	ssize_t n = readlink(link, sdir, sizeof(sdir) - 1);
	sdir[n > 0 ? n : 0] = 0;
	if (ssh)
		snprintf(mb->root, sizeof(mb->root), "%.3000s/%s", sdir, name);
	else if (url[0] == '/')
		snprintf(mb->root, sizeof(mb->root), "%s", url);
	rtarget_parse(url, mb->root, cl->sshfs_options, &mb->target, err, errlen);
	cl->v[cl->n++] = mb;
	if (cl->running) /* at start-up the first tick asks: vmfs forks after, threads do not */
		probe(mb);
	return 0;
}

int cluster_add(struct cluster *cl, const char *name, const char *url, char *err, size_t errlen)
{
	int r = add(cl, name, url, err, errlen);
	if (r)
		return r;
	evlog_add(cl->log, "hosts/%s: added (%s)", name, url);
	return save(cl, err, errlen);
}

int cluster_remove(struct cluster *cl, const char *name, char *err, size_t errlen)
{
	struct member *mb = cluster_find(cl, name);
	if (!mb) {
		snprintf(err, errlen, "%s is not a member", name);
		return -ENOENT;
	}
	for (size_t i = 0; i < cl->m->nns; i++)
		if (spans(cl->m->nss[i], name)) {
			snprintf(err, errlen, "ns/%s spans %s: take it out of ns/%s/hosts first",
				 cl->m->nss[i]->name, name, cl->m->nss[i]->name);
			return -EBUSY;
		}
	size_t i = 0;
	while (cl->v[i] != mb)
		i++;
	memmove(&cl->v[i], &cl->v[i + 1], (cl->n - i - 1) * sizeof(*cl->v));
	cl->n--;
	mb->removed = true;
	if (mb->w)
		rworker_drop(mb->w);
	if (mb->hw)
		rworker_drop(mb->hw);
	mb->w = mb->hw = NULL;
	if (mb->ssh) {
		/* lazily: a dead connection must not hold the command */
		struct rworker *w = rworker_new(cl->m);
		struct jctx *c = calloc(1, sizeof(*c));
		struct rjob *j = w && c ? rjob_new(ROP_RUN, mb->root, job_done, c) : NULL;
		if (j) {
			c->mb = mb;
			c->kind = J_MOUNT;
			mb->refs++;
			sb_add(&j->in, "fusermount3\0-u\0-z\0", 18);
			sb_add(&j->in, mb->root, strlen(mb->root) + 1);
			rworker_submit(w, j, MOUNT_MS);
			rworker_retire(w);
		} else {
			free(c);
			if (w)
				rworker_drop(w);
		}
	}
	evlog_add(cl->log, "hosts/%s: removed", name);
	member_put(mb);
	return save(cl, err, errlen);
}

int cluster_open(struct cluster *cl, struct model *m, struct evlog *log, const char *sshfs_options,
		 char *err, size_t errlen)
{
	memset(cl, 0, sizeof(*cl));
	cl->m = m;
	cl->log = log;
	cl->sshfs_options = sshfs_options;
	mkdirat(m->statefd, "members", 0700);
	cl->dirfd = openat(m->statefd, "members", O_PATH | O_DIRECTORY | O_CLOEXEC);
	cl->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (cl->dirfd < 0 || cl->tfd < 0) {
		snprintf(err, errlen, "members: %s", strerror(errno));
		return -errno;
	}
	struct itimerspec it = {{0, 500000000}, {0, 100000000}}; /* ask every 500 ms */
	timerfd_settime(cl->tfd, 0, &it, NULL);
	cl->tick.ready = tick_ready;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cl->tick};
	if (epoll_ctl(m->rtep, EPOLL_CTL_ADD, cl->tfd, &ev) < 0) {
		snprintf(err, errlen, "members: %s", strerror(errno));
		return -errno;
	}
	char *text = NULL;
	if (read_small(cl->dirfd, CONF, 1 << 20, &text, NULL) == 0) {
		char *save_p = NULL;
		for (char *l = strtok_r(text, "\n", &save_p); l; l = strtok_r(NULL, "\n", &save_p)) {
			char name[128], url[1100], why[512];
			if (*l == '#' || sscanf(l, "%127s %1099s", name, url) != 2)
				continue;
			if (add(cl, name, url, why, sizeof(why)))
				evlog_add(log, "error: members.conf: %s: %s", name, why);
		}
		free(text);
	}
	return 0;
}

void cluster_close(struct cluster *cl)
{
	if (!cl->m) /* never opened: vmfs_init stopped before (its descriptors are not set) */
		return;
	for (size_t i = 0; i < cl->nrobjs; i++) {
		member_put(cl->robjs[i]->mb);
		free(cl->robjs[i]);
	}
	free(cl->robjs);
	cl->robjs = NULL;
	cl->nrobjs = 0;
	free(cl->self_vx);
	cl->self_vx = NULL;
	for (size_t i = 0; i < cl->n; i++) {
		struct member *mb = cl->v[i];
		mb->removed = true;
		if (mb->w)
			rworker_drop(mb->w);
		if (mb->hw)
			rworker_drop(mb->hw);
		member_put(mb);
	}
	free(cl->v);
	cl->v = NULL;
	cl->n = 0;
	if (cl->tfd >= 0) {
		epoll_ctl(cl->m->rtep, EPOLL_CTL_DEL, cl->tfd, NULL);
		close(cl->tfd);
	}
	if (cl->dirfd >= 0)
		close(cl->dirfd);
}
