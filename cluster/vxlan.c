/* VLANs across hosts: a VLAN used by running objects on two or more hosts of a namespace
 * gets, on each of them, a VXLAN (VNI = VLAN id) on its bridge with the others as peers.
 * The head decides from the tables it copies each second (the vlan column of running
 * rows, aliases turned into ids by the head's own vlans/, which it pushed to the members)
 * and tells each member with `vxlan VID PEERS` on the member's hosts/ctl (itself: directly).
 * A VLAN no longer used on two hosts gets `vxlan VID none`: nothing stays. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "runtime/net.h"
#include "runtime/vlan.h"

#define HOSTS_MAX 64
#define VIDS_MAX 256

/* The IPv4 address of a member's URL (ssh://USER@ADDR[:PORT]/PATH, 9p://ADDR[:PORT], ...), ""
 * if it has none. */
static void member_addr(const struct member *mb, char *out, size_t len)
{
	struct in_addr in;
	rtarget_url_addr(mb->url, out, len);
	if (inet_pton(AF_INET, out, &in) != 1)
		*out = 0;
}

/* This host's address toward peer: the source the kernel would use. */
static void self_addr(const char *peer, char *out, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(4789)};
	socklen_t sl = sizeof(sa);
	*out = 0;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (inet_pton(AF_INET, peer, &sa.sin_addr) == 1 &&
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		inet_ntop(AF_INET, &sa.sin_addr, out, len);
	close(fd);
}

struct usage {
	unsigned vid[VIDS_MAX];
	bool on[VIDS_MAX][HOSTS_MAX];
	size_t nvid;
};

static void use(struct usage *u, unsigned vid, size_t host)
{
	size_t i = 0;
	while (i < u->nvid && u->vid[i] != vid)
		i++;
	if (i == u->nvid) {
		if (u->nvid == VIDS_MAX)
			return;
		u->vid[u->nvid] = vid;
		memset(u->on[u->nvid], 0, sizeof(u->on[0]));
		u->nvid++;
	}
	u->on[i][host] = true;
}

/* The vlan cells of a member's running rows, as ids of ns's aliases. */
static void rows_usage(const struct ns *ns, const struct sbuf *t, size_t host, struct usage *u)
{
	if (!t || !t->len)
		return;
	char *text = strndup(t->p, t->len), *save = NULL;
	if (!text)
		return;
	char *hdr = strtok_r(text, "\n", &save);
	int scol = -1, vcol = -1, i = 0;
	char *hs = NULL;
	for (char *c = hdr ? strtok_r(hdr, "\t", &hs) : NULL; c; c = strtok_r(NULL, "\t", &hs), i++) {
		if (!strcmp(c, "state"))
			scol = i;
		if (!strcmp(c, "vlan"))
			vcol = i;
	}
	for (char *row = strtok_r(NULL, "\n", &save); row && scol >= 0 && vcol >= 0;
	     row = strtok_r(NULL, "\n", &save)) {
		char *cells[32], *cs = NULL;
		int n = 0;
		for (char *c = strtok_r(row, "\t", &cs); c && n < 32; c = strtok_r(NULL, "\t", &cs))
			cells[n++] = c;
		if (n <= vcol || n <= scol || strcmp(cells[scol], "RUNNING"))
			continue;
		char *vs = NULL;
		for (char *a = strtok_r(cells[vcol], ",", &vs); a; a = strtok_r(NULL, ",", &vs)) {
			const struct vlan_alias *al = vlan_find(ns, a);
			char *end;
			unsigned long id = al ? al->id : strtoul(a, &end, 10);
			if (al || (*a && !*end && id >= 1 && id <= 4094))
				use(u, (unsigned)id, host);
		}
	}
	free(text);
}

static struct vxsent *sent(struct member *mb, unsigned vid)
{
	for (size_t i = 0; i < mb->nvx; i++)
		if (mb->vx[i].vid == vid)
			return &mb->vx[i];
	return NULL;
}

static void remember(struct member *mb, unsigned vid, const char *peers)
{
	struct vxsent *s = sent(mb, vid);
	if (s) {
		snprintf(s->peers, sizeof(s->peers), "%s", peers);
		s->wanted = true;
		return;
	}
	struct vxsent *v = realloc(mb->vx, (mb->nvx + 1) * sizeof(*v));
	if (!v)
		return;
	mb->vx = v;
	memset(&mb->vx[mb->nvx], 0, sizeof(mb->vx[0]));
	mb->vx[mb->nvx].vid = vid;
	mb->vx[mb->nvx].wanted = true;
	snprintf(mb->vx[mb->nvx].peers, sizeof(mb->vx[0].peers), "%s", peers);
	mb->nvx++;
}

static void vx_done(struct rjob *j)
{
	struct member *mb = j->arg;
	if (j->err && !mb->removed) {
		char text[300];
		snprintf(text, sizeof(text), "%.*s", (int)j->out.len, j->out.p ? j->out.p : "");
		text[strcspn(text, "\n")] = 0;
		evlog_add(mb->cl->log, "error: hosts/%s: %.*s: %s", mb->name,
			  (int)strcspn(j->in.p, "\n"), j->in.p, *text ? text : strerror(-j->err));
		mb->nvx = 0; /* forget what was sent: it is sent again */
	}
	rjob_free(j);
	member_put(mb);
}

static void send_vx(struct member *mb, unsigned vid, const char *peers)
{
	struct rjob *j = rjob_new(ROP_CTL, "", vx_done, mb);
	if (!j)
		return;
	sb_printf(&j->in, "vxlan %u %s\n", vid, *peers ? peers : "none");
	sb_add(&j->in, "", 1);
	j->in.len--;
	mb->refs++;
	remember(mb, vid, peers);
	member_job(mb, j, "hosts/ctl", 5000);
}

/* The members a namespace spans, and whether this host is one of its hosts too. */
struct hosts_of {
	struct cluster *cl;
	struct member *mbs[HOSTS_MAX];
	size_t n;
	bool self;
};

static int host_of(void *ctx, const char *h)
{
	struct hosts_of *hs = ctx;
	struct member *mb = cluster_find(hs->cl, h);
	if (!mb)
		hs->self = true; /* this host (the value was checked when written) */
	else if (hs->n < HOSTS_MAX - 1)
		hs->mbs[hs->n++] = mb;
	return 0;
}

/* One namespace that spans members: what each of its hosts should have. */
static void sync_ns(struct cluster *cl, struct ns *ns)
{
	struct hosts_of hs = {cl};
	ns_hosts_each(ns, host_of, &hs);
	struct member **mbs = hs.mbs;
	size_t n = hs.n;
	bool self = hs.self;
	if (!n)
		return;
	struct usage *u = calloc(1, sizeof(*u));
	if (!u)
		return;
	/* host index n: this host */
	for (int t = 0; t < 2; t++)
		for (size_t i = 0; self && i < ns->objs[t].n; i++) {
			const struct object *o = ns->objs[t].v[i];
			for (int k = 0; o->state == ST_RUNNING && k < o->rt.nnics; k++)
				use(u, o->rt.nics[k].vid, n);
		}
	for (size_t h = 0; h < n; h++) {
		const struct mtab *t = member_tab(mbs[h], ns->name);
		if (mbs[h]->state == MS_UP && t && t->fresh)
			rows_usage(ns, &t->info, h, u);
		else if (t) /* down: what it last said stays as it was */
			rows_usage(ns, &t->info, h, u);
	}
	char addr[HOSTS_MAX][64];
	for (size_t h = 0; h < n; h++)
		member_addr(mbs[h], addr[h], sizeof(addr[h]));
	for (size_t i = 0; i < u->nvid; i++) {
		size_t users = 0;
		for (size_t h = 0; h <= n; h++)
			users += u->on[i][h];
		for (size_t h = 0; h <= n; h++) {
			char peers[512] = "";
			if (users >= 2 && u->on[i][h])
				for (size_t p = 0; p <= n; p++) {
					if (p == h || !u->on[i][p])
						continue;
					char a[64];
					if (p == n) /* this host, as the member sees it */
						self_addr(*addr[h] ? addr[h] : "", a, sizeof(a));
					else
						snprintf(a, sizeof(a), "%s", addr[p]);
					if (*a)
						snprintf(peers + strlen(peers), sizeof(peers) - strlen(peers),
							 "%s%s", *peers ? "," : "", a);
				}
			if (!*peers)
				continue;
			if (h == n) {
				struct vxself *sv = &cl->self_vx[u->vid[i]];
				sv->wanted = true;
				if (strcmp(sv->peers, peers)) {
					char why[512];
					if (net_vxlan(cl->m, u->vid[i], peers, why, sizeof(why)))
						evlog_add(cl->log, "error: vxlan %u: %s", u->vid[i], why);
					snprintf(sv->peers, sizeof(sv->peers), "%s", peers);
				}
			} else if (mbs[h]->state == MS_UP) {
				struct vxsent *s = sent(mbs[h], u->vid[i]);
				if (!s || strcmp(s->peers, peers))
					send_vx(mbs[h], u->vid[i], peers);
				else
					s->wanted = true;
			}
		}
	}
	free(u);
}

void cluster_vxlan_sync(struct cluster *cl)
{
	if (!cl->self_vx && !(cl->self_vx = calloc(4095, sizeof(*cl->self_vx))))
		return;
	for (size_t i = 0; i < cl->n; i++)
		for (size_t k = 0; k < cl->v[i]->nvx; k++)
			cl->v[i]->vx[k].wanted = false;
	for (unsigned vid = 1; vid <= 4094; vid++)
		cl->self_vx[vid].wanted = false;
	for (size_t i = 0; i < cl->m->nns; i++)
		sync_ns(cl, cl->m->nss[i]);
	/* VLANs no longer used on two hosts: their VXLANs go */
	for (size_t i = 0; i < cl->n; i++)
		for (size_t k = 0; k < cl->v[i]->nvx; k++) {
			struct vxsent *s = &cl->v[i]->vx[k];
			if (!s->wanted && *s->peers && cl->v[i]->state == MS_UP)
				send_vx(cl->v[i], s->vid, "");
		}
	for (unsigned vid = 1; vid <= 4094; vid++) {
		struct vxself *sv = &cl->self_vx[vid];
		if (!sv->wanted && *sv->peers) {
			char why[512];
			net_vxlan(cl->m, vid, "", why, sizeof(why));
			*sv->peers = 0;
		}
	}
}
