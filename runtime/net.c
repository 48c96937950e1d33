#include "runtime/net.h"

#include <ctype.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "runtime/addrlearn.h"
#include "runtime/err.h"
#include "runtime/netlink.h"
#include "runtime/run.h"
#include "runtime/userns.h"
#include "runtime/vlan.h"

struct net {
	struct nl *nl;      /* NULL: no networking, why says so */
	int hostns;         /* vmfs's own network namespace, to come back to */
	bool filtering;     /* one VLAN-filtering bridge, else a bridge per VLAN */
	char prefix[8];
	char uplink[16];    /* the trunk carrying our VLANs tagged off the host, "" if none */
	char mode[300];
	unsigned next;      /* where the search for a free device number starts */
	struct addrlearn *al;
	struct rtsrc src;
};

const char *net_mode(const struct model *m)
{
	return m->net ? m->net->mode : "unavailable: out of memory";
}

/* Calls fn for each NIC of every object vmfs knows; stops at the first non-zero. */
static int nics_each(struct model *m, int (*fn)(void *arg, struct object *o, int k), void *arg)
{
	for (size_t i = 0; i < m->nns; i++)
		for (int t = 0; t < 2; t++)
			for (size_t j = 0; j < m->nss[i]->objs[t].n; j++) {
				struct object *o = m->nss[i]->objs[t].v[j];
				for (int k = 0, r; k < o->rt.nnics; k++)
					if ((r = fn(arg, o, k)))
						return r;
			}
	return 0;
}

struct sighting {
	int ifindex;
	char mac[18];
	const char *addr;
};

static int learn_one(void *arg, struct object *o, int k)
{
	struct sighting *s = arg;
	struct netnic *n = &o->rt.nics[k];
	/* the MAC alone could be forged by another guest */
	if (n->ifindex != s->ifindex || strcmp(n->mac, s->mac))
		return 0;
	bool v6 = strchr(s->addr, ':');
	char *slot = v6 ? n->ip6 : n->ip;
	if (strcmp(slot, s->addr)) {
		snprintf(slot, v6 ? sizeof(n->ip6) : sizeof(n->ip), "%s", s->addr);
		model_event(o->ns, o, "NIC %d (%s) uses %s", k, n->mac, s->addr);
	}
	return 1;
}

static void learned(void *arg, int ifindex, const unsigned char mac[6], const char *addr)
{
	struct sighting s = {ifindex, "", addr};
	snprintf(s.mac, sizeof(s.mac), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
	nics_each(arg, learn_one, &s);
}

static void learn_ready(struct model *m, struct rtsrc *s)
{
	addrlearn_drain(m->net->al, learned, m);
}

/* The same prefix for the same state directory, so a restart finds its devices again:
 * from the top cgroup's name ("vmfs", or vmfs-HASH for another state directory). */
static void net_prefix(const struct model *m, char out[8])
{
	if (!strncmp(m->cgroup_top, "vmfs-", 5))
		snprintf(out, 8, "v%.4s", m->cgroup_top + 5);
	else
		snprintf(out, 8, "vmfs");
}

void net_open(struct model *m, const char *uplink)
{
	struct net *n = calloc(1, sizeof(*n));
	if (!(m->net = n))
		return;
	n->hostns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	net_prefix(m, n->prefix);
	snprintf(n->uplink, sizeof(n->uplink), "%s", uplink ? uplink : "");
	n->next = 1;
	struct err e;
	int r = n->hostns < 0 ? -errno : nl_open(&n->nl);
	if (r) {
		snprintf(n->mode, sizeof(n->mode), "unavailable: rtnetlink: %s", strerror(-r));
		n->nl = NULL;
		return;
	}
	r = nl_vlan_filtering(n->nl, &e);
	n->filtering = r == 1;
	if (r == 1)
		snprintf(n->mode, sizeof(n->mode), "vlan-filtering bridge %s0", n->prefix);
	else {
		if (r < 0)
			err_set(&e, r, "%s", strerror(-r));
		err_wrap(&e, "a bridge per VLAN (%s.VID)", n->prefix);
		err_out(&e, n->mode, sizeof(n->mode));
	}
	if (*n->uplink)
		snprintf(n->mode + strlen(n->mode), sizeof(n->mode) - strlen(n->mode),
			 "; uplink %s%s", n->uplink, if_nametoindex(n->uplink) ? "" : " (missing)");
	if (addrlearn_open(&n->al, &e) == 0) {
		n->src.ready = learn_ready;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &n->src};
		epoll_ctl(m->rtep, EPOLL_CTL_ADD, addrlearn_fd(n->al), &ev);
	} else {
		snprintf(n->mode + strlen(n->mode), sizeof(n->mode) - strlen(n->mode),
			 "; addresses not learned: %s", e.why);
	}
}

void net_close(struct model *m)
{
	struct net *n = m->net;
	if (!n)
		return;
	if (n->al)
		addrlearn_close(n->al);
	if (n->nl)
		nl_close(n->nl);
	if (n->hostns >= 0)
		close(n->hostns);
	free(n);
	m->net = NULL;
}

void net_default_mac(const struct object *o, int i, char out[18])
{
	uint32_t h = 2166136261u;
	char key[2 * NAME_MAX_LEN + 16];
	snprintf(key, sizeof(key), "%s/%s/%d", o->ns->name, o->name, i);
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	/* 52:54 is QEMU's range: locally administered, unicast */
	snprintf(out, 18, "52:54:%02x:%02x:%02x:%02x", h >> 24, h >> 16 & 0xff, h >> 8 & 0xff,
		 h & 0xff);
}

static int same_dev(void *arg, struct object *o, int k)
{
	return !strcmp(o->rt.nics[k].dev, arg);
}

static bool dev_claimed(struct model *m, const char *dev)
{
	return nics_each(m, same_dev, (void *)dev);
}

/* A free name PREFIX + kind + N: neither a link nor claimed by a NIC vmfs knows. */
static int dev_pick(struct model *m, char kind, const struct netnic *mine, int nmine,
		    char out[16])
{
	struct net *n = m->net;
	for (unsigned tries = 0; tries < 100000; tries++, n->next = n->next % 99999 + 1) {
		snprintf(out, 16, "%s%c%u", n->prefix, kind, n->next);
		bool taken = if_nametoindex(out) || dev_claimed(m, out);
		for (int i = 0; i < nmine && !taken; i++)
			taken = !strcmp(mine[i].dev, out);
		if (!taken) {
			n->next = n->next % 99999 + 1; /* the next search starts past it */
			return 0;
		}
	}
	return -ENOSPC;
}

/* config/net into NICs: VLAN ids, bridges, MACs. */
static int nics_resolve(struct model *m, struct object *o, struct netnic *nics, struct err *e)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", obj_cfg(o, "net"));
	int n = 0;
	char *save = NULL;
	for (char *s = strtok_r(buf, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
		struct nic_spec spec;
		char why[300];
		if (n == NET_NICS_MAX)
			return err_set(e, EINVAL, "config/net: more than %d NICs", NET_NICS_MAX);
		if (value_nic(s, &spec, why, sizeof(why)))
			return err_set(e, EINVAL, "config/net: %s", why);
		struct netnic *nic = &nics[n];
		memset(nic, 0, sizeof(*nic));
		snprintf(nic->vlan, sizeof(nic->vlan), "%s", spec.vlan);
		vlan_adopt(m, o->ns, o, spec.vlan);
		const struct vlan_alias *a = vlan_find(o->ns, spec.vlan);
		nic->vid = a ? a->id : (unsigned)strtoul(spec.vlan, NULL, 10);
		if (!nic->vid)
			return err_set(e, EINVAL, "config/net: the VLAN alias %s has no id (write "
				       "one to vlans/%s)", spec.vlan, spec.vlan);
		const char *br = *spec.bridge ? spec.bridge : NULL;
		char def[16];
		snprintf(def, sizeof(def), "%s%s", m->net->prefix, m->net->filtering ? "0" : "");
		if (m->net->filtering) {
			snprintf(nic->bridge, sizeof(nic->bridge), "%s", br ? br : def);
		} else if ((size_t)snprintf(nic->bridge, sizeof(nic->bridge), "%s.%u", br ? br : def,
					    nic->vid) >= sizeof(nic->bridge)) {
			return err_set(e, EINVAL, "config/net: bridge %s cannot carry VLAN %u as "
				       "a bridge of its own named %s.%u (over 15 bytes; this kernel "
				       "has no VLAN-filtering bridges): use a shorter bridge name",
				       br ? br : def, nic->vid, br ? br : def, nic->vid);
		}
		if (*spec.mac)
			snprintf(nic->mac, sizeof(nic->mac), "%s", spec.mac);
		else
			net_default_mac(o, n, nic->mac);
		snprintf(nic->driver, sizeof(nic->driver), "%s", spec.driver);
		snprintf(nic->addr, sizeof(nic->addr), "%s", spec.addr);
		n++;
	}
	return n;
}

static bool ours(const struct net *n, const char *dev)
{
	return !strncmp(dev, n->prefix, strlen(n->prefix));
}

/* Our bridges reach the uplink: the filtering one has it as a port (tagged per VLAN, in
 * port_join), each per-VLAN one has an 802.1Q interface of it. */
static int uplink_attach(struct net *n, const char *bridge, unsigned vid, struct err *e)
{
	char dev[16];
	int r;
	if (!*n->uplink || !ours(n, bridge))
		return 0;
	if (n->filtering) {
		if ((r = nl_link_set_master(n->nl, n->uplink, bridge)) ||
		    (r = nl_link_up(n->nl, n->uplink)))
			err_sys(e, r, "uplink %s: attach to bridge %s", n->uplink, bridge);
		return r;
	}
	snprintf(dev, sizeof(dev), "%su%u", n->prefix, vid);
	r = nl_vlan_add(n->nl, dev, n->uplink, vid, e);
	if (!r && (r = nl_link_set_master(n->nl, dev, bridge))) {
		err_sys(e, r, "attach %s to bridge %s", dev, bridge);
		nl_link_del(n->nl, dev);
	}
	return r;
}

static int bridge_ensure(struct net *n, const char *name, unsigned vid, struct err *e)
{
	if (if_nametoindex(name))
		return 0;
	int r = n->filtering ? nl_bridge_add(n->nl, name, e)
			     : nl_bridge_plain_add(n->nl, name, e);
	if (r == -EEXIST)
		return 0;
	if (!r && (r = uplink_attach(n, name, vid, e)))
		nl_link_del(n->nl, name);
	return r;
}

/* Attaches a host end that exists to its bridge, in its VLAN. */
static int port_join(struct net *n, const struct netnic *nic, struct err *e)
{
	int r = bridge_ensure(n, nic->bridge, nic->vid, e);
	if (!r && n->filtering && *n->uplink && ours(n, nic->bridge))
		r = nl_port_vlan_tagged(n->nl, n->uplink, nic->vid, e);
	if (!r && (r = nl_link_set_master(n->nl, nic->dev, nic->bridge)))
		err_sys(e, r, "attach %s to bridge %s", nic->dev, nic->bridge);
	if (!r && n->filtering)
		r = nl_port_vlan(n->nl, nic->dev, nic->vid, e);
	if (!r && (r = nl_link_up(n->nl, nic->dev)))
		err_sys(e, r, "bring %s up", nic->dev);
	return r;
}

static void nics_write(int rundfd, const struct netnic *nics, int n)
{
	struct sbuf b = {0};
	for (int i = 0; i < n; i++)
		sb_printf(&b, "%s %s %u %s %s %s\n", nics[i].dev, nics[i].bridge, nics[i].vid,
			  nics[i].vlan, nics[i].mac, *nics[i].addr ? nics[i].addr : "-");
	if (!sb_err(&b))
		write_atomic(rundfd, "nics", b.p ? b.p : "", b.len, 0);
	sb_free(&b);
}

/* An empty file rundfd/name to bind a namespace on. */
static int ns_file(int rundfd, const char *name, struct err *e)
{
	int fd = openat(rundfd, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_sys(e, errno, "create run/%s", name);
	close(fd);
	return 0;
}

static int ns_bind(int nsfd, int rundfd, const char *name, const char *what, struct err *e)
{
	char src[64], dst[64];
	snprintf(src, sizeof(src), "/proc/self/fd/%d", nsfd);
	snprintf(dst, sizeof(dst), "/proc/self/fd/%d/%s", rundfd, name);
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		return err_sys(e, errno, "bind the %s namespace on run/%s", what, name);
	return 0;
}

/* The namespaces, each held by an fd: a network namespace of vmfs's own user namespace
 * (ur NULL: a privileged container), or a user namespace mapping ur and a network
 * namespace made inside it, which its root then has every capability over (raw sockets,
 * sysfs). Host root, as vmfs is, keeps all of them over both: it configures the NICs. */
static int netns_make(struct net *n, const struct userns_range *ur, int *userfd, int *nsfd,
		      struct err *e)
{
	if (ur) { /* userns.c is still on (why, whylen): its reason lands in e->why */
		*userfd = userns_make(ur, nsfd, e->why, sizeof(e->why));
		return *userfd < 0 ? err_took(e, *userfd) : 0;
	}
	if (unshare(CLONE_NEWNET) < 0)
		return err_sys(e, errno, "a new network namespace");
	*nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int no = *nsfd < 0 ? errno : 0;
	if (setns(n->hostns, CLONE_NEWNET) < 0)
		abort(); /* in the wrong namespace, every device would be made in the wrong place */
	return no ? err_sys(e, no, "the new network namespace") : 0;
}

/* A rtnetlink socket inside nsfd's namespace: the calling thread goes in and comes back. */
static int netns_nl(struct net *n, int nsfd, struct nl **in, struct err *e)
{
	int r = setns(nsfd, CLONE_NEWNET) < 0 ? -errno : nl_open(in);
	if (setns(n->hostns, CLONE_NEWNET) < 0)
		abort();
	return r ? err_sys(e, r, "the container's network namespace") : 0;
}

/* A container's new network namespace (see netns_make), bind-mounted on rundfd/netns and
 * its user namespace on rundfd/userns (kept while the mounts are, for the shim to join),
 * and a rtnetlink socket inside it. run/intent is written before: a vmfs killed in
 * between leaves mounts its restart removes. */
static int netns_new(struct net *n, int rundfd, const struct userns_range *ur, int *nsfd,
		     struct nl **in, struct err *e)
{
	int userfd = -1;
	int r = ns_file(rundfd, "netns", e);
	if (!r && ur)
		r = ns_file(rundfd, "userns", e);
	if (!r)
		r = netns_make(n, ur, &userfd, nsfd, e);
	if (!r && ur)
		r = ns_bind(userfd, rundfd, "userns", "user", e);
	if (!r)
		r = ns_bind(*nsfd, rundfd, "netns", "network", e);
	if (userfd >= 0)
		close(userfd);
	return r ? r : netns_nl(n, *nsfd, in, e);
}

static void netns_drop(int rundfd)
{
	static const char *const names[] = {"netns", "userns"};
	char dst[64];
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(dst, sizeof(dst), "/proc/self/fd/%d/%s", rundfd, names[i]);
		umount2(dst, MNT_DETACH);
		unlinkat(rundfd, names[i], 0);
	}
}

/* A container's NICs: veth pairs into its new namespace, eth0... inside, up, addressed. */
static int ct_nics(struct net *n, struct netnic *nics, int count, int rundfd,
		   const struct userns_range *ur, struct err *e)
{
	int nsfd = -1;
	struct nl *in = NULL;
	int r = netns_new(n, rundfd, ur, &nsfd, &in, e);
	for (int i = 0; !r && i < count; i++) {
		struct netnic *nic = &nics[i];
		char eth[16];
		unsigned char mac[6];
		snprintf(eth, sizeof(eth), "eth%d", i);
		sscanf(nic->mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2],
		       &mac[3], &mac[4], &mac[5]);
		r = nl_veth_add_ns(n->nl, nic->dev, eth, nsfd, mac, e);
		if (!r)
			r = port_join(n, nic, e);
		if (!r && (r = nl_link_up(in, eth)))
			err_sys(e, r, "bring %s up in the container", eth);
		if (!r && *nic->addr)
			r = nl_addr_add(in, eth, nic->addr, e);
	}
	if (in)
		nl_close(in);
	if (nsfd >= 0)
		close(nsfd);
	return r;
}

static int vm_nics(struct net *n, struct netnic *nics, int count, struct err *e)
{
	int r = 0;
	for (int i = 0; !r && i < count; i++) {
		r = nl_tap_add(n->nl, nics[i].dev, e);
		if (!r)
			r = port_join(n, &nics[i], e);
	}
	return r;
}

static void nics_remove(struct model *m, struct netnic *nics, int count);

/* The mapping a container's namespaces get: none for a privileged one (as in the spec). */
static const struct userns_range *ct_userns(const struct model *m, const struct object *o)
{
	return obj_cfg_bool(o, "privileged") ? NULL : &m->userns.r;
}

static int start(struct model *m, struct object *o, int rundfd, struct err *e)
{
	struct net *n = m->net;
	if (!*obj_cfg(o, "net"))
		return 0;
	if (!n || !n->nl)
		return err_set(e, ENOTSUP, "config/net names NICs, but networking is %s",
			       net_mode(m));
	struct netnic *nics = calloc(NET_NICS_MAX, sizeof(*nics));
	if (!nics)
		return -ENOMEM;
	int count = nics_resolve(m, o, nics, e), r = count < 0 ? count : 0;
	char kind = o->type == OT_VM ? 't' : 'v';
	for (int i = 0; !r && i < count; i++)
		if ((r = dev_pick(m, kind, nics, i, nics[i].dev)))
			err_set(e, r, "no free device name %s%c1 to %s%c99999", n->prefix, kind,
				n->prefix, kind);
	if (!r)
		r = o->type == OT_VM ? vm_nics(n, nics, count, e)
				     : ct_nics(n, nics, count, rundfd, ct_userns(m, o), e);
	if (r) {
		nics_remove(m, nics, count);
		if (o->type == OT_CT)
			netns_drop(rundfd);
		free(nics);
		return r;
	}
	nics_write(rundfd, nics, count);
	for (int i = 0; i < count; i++)
		nics[i].ifindex = if_nametoindex(nics[i].dev);
	o->rt.nics = nics;
	o->rt.nnics = count;
	return 0;
}

int net_start(struct model *m, struct object *o, int rundfd, struct err *e)
{
	err_clear(e);
	return err_ensure(e, start(m, o, rundfd, e));
}

/* Bridges of our prefix with no port left go too: nothing stays that no one uses. */
static void bridge_gc(struct net *n, const char *bridge)
{
	char master[16] = "";
	if (!ours(n, bridge))
		return;
	int ports = nl_bridge_ports(n->nl, bridge);
	/* the uplink's port alone keeps no bridge */
	if (ports == 1 && *n->uplink && n->filtering &&
	    !nl_link_master(n->nl, n->uplink, master, sizeof(master)) && !strcmp(master, bridge))
		ports = 0; /* deleting the bridge releases it */
	if (ports >= 1 && !n->filtering) { /* a VXLAN to other hosts alone keeps no bridge */
		char dev[16];
		snprintf(dev, sizeof(dev), "%sx%s", n->prefix, bridge + strlen(n->prefix) + 1);
		if (!nl_link_master(n->nl, dev, master, sizeof(master)) && !strcmp(master, bridge) &&
		    ports == 1 + (*n->uplink ? 1 : 0) && !nl_link_del(n->nl, dev))
			ports--;
	}
	if (ports == 1 && *n->uplink && !n->filtering) {
		char dev[16];
		snprintf(dev, sizeof(dev), "%su%s", n->prefix, bridge + strlen(n->prefix) + 1);
		if (!nl_link_master(n->nl, dev, master, sizeof(master)) && !strcmp(master, bridge) &&
		    !nl_link_del(n->nl, dev))
			ports = 0;
	}
	if (ports == 0)
		nl_link_del(n->nl, bridge);
}

static void nics_remove(struct model *m, struct netnic *nics, int count)
{
	struct net *n = m->net;
	for (int i = 0; i < count && n && n->nl; i++)
		if (*nics[i].dev)
			nl_link_del(n->nl, nics[i].dev); /* a veth's peer goes with it */
	for (int i = 0; i < count && n && n->nl; i++)
		if (*nics[i].bridge)
			bridge_gc(n, nics[i].bridge);
}

void net_stop(struct model *m, struct object *o)
{
	if (!o->rt.nics)
		return; /* no NICs, no namespace of ours: a container without made its own */
	int dfd = o->type == OT_CT ? run_open(m, o) : -1;
	if (dfd >= 0) { /* the shim unmounts it as it ends; not if it was killed */
		netns_drop(dfd);
		close(dfd);
	}
	nics_remove(m, o->rt.nics, o->rt.nnics);
	free(o->rt.nics);
	o->rt.nics = NULL;
	o->rt.nnics = 0;
	o->rt.net_rx = o->rt.net_tx = 0;
	o->rt.net_rx_rate = o->rt.net_tx_rate = 0;
}

static uint64_t dev_counter(const char *dev, const char *name)
{
	char path[96], buf[32];
	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", dev, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	return n > 0 ? (buf[n] = 0, strtoull(buf, NULL, 10)) : 0;
}

void net_sample(struct object *o)
{
	uint64_t rx = 0, tx = 0;
	for (int i = 0; i < o->rt.nnics; i++) {
		rx += dev_counter(o->rt.nics[i].dev, "tx_bytes");
		tx += dev_counter(o->rt.nics[i].dev, "rx_bytes");
	}
	/* sampled once a second; a first sample or a counter reset gives no rate */
	o->rt.net_rx_rate = o->rt.net_rx && rx >= o->rt.net_rx ? (double)(rx - o->rt.net_rx) : 0;
	o->rt.net_tx_rate = o->rt.net_tx && tx >= o->rt.net_tx ? (double)(tx - o->rt.net_tx) : 0;
	o->rt.net_rx = rx;
	o->rt.net_tx = tx;
}

void net_adopt(struct model *m, struct object *o, int rundfd)
{
	auto_free char *text = NULL;
	if (read_small(rundfd, "nics", 1 << 16, &text, NULL) < 0)
		return;
	struct netnic *nics = calloc(NET_NICS_MAX, sizeof(*nics));
	if (!nics)
		return;
	int count = 0;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l && count < NET_NICS_MAX;
	     l = strtok_r(NULL, "\n", &save)) {
		struct netnic *nic = &nics[count];
		if (sscanf(l, "%15s %15s %u %63s %17s %51s", nic->dev, nic->bridge, &nic->vid,
			   nic->vlan, nic->mac, nic->addr) != 6)
			continue;
		if (!strcmp(nic->addr, "-"))
			nic->addr[0] = 0;
		nic->ifindex = if_nametoindex(nic->dev);
		count++;
	}
	free(o->rt.nics);
	o->rt.nics = nics;
	o->rt.nnics = count;
}

/* The id of a VLAN as a tap names it (alias or number); 0 if it has none. */
static unsigned tap_vid(const struct ns *ns, const char *vlan)
{
	const struct vlan_alias *a = vlan_find(ns, vlan);
	return a ? a->id : (unsigned)strtoul(vlan, NULL, 10);
}

/* Calls fn for each tap of ns->taps ("VLAN=ADDR ..."), with the VLAN's id; stops at the
 * first non-zero return and returns it. */
static int taps_each(const struct ns *ns,
		     int (*fn)(void *arg, const char *vlan, unsigned vid, const char *addr),
		     void *arg)
{
	char buf[4096], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", ns->taps ? ns->taps : "");
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(t, '=');
		int r = eq ? (*eq = 0, fn(arg, t, tap_vid(ns, t), eq + 1)) : 0;
		if (r)
			return r;
	}
	return 0;
}

struct tapq {
	const char *vlan; /* in: the VLAN asked about, or NULL */
	unsigned vid;     /* in: the id asked about, or 0 */
	const char *addr; /* out: its address */
	struct sbuf *b;   /* taps_with: the others */
	struct net *n;
	const struct ns *ns;
};

static int tap_match(void *arg, const char *vlan, unsigned vid, const char *addr)
{
	struct tapq *q = arg;
	if (q->vlan ? strcmp(q->vlan, vlan) : q->vid != vid)
		return 0;
	q->addr = addr;
	return 1;
}

/* What a crashed vmfs may have left: PREFIX0, PREFIX.VID, PREFIXtN, PREFIXvN, PREFIXhVID,
 * PREFIXhVIDp and PREFIXuVID. Returns the kind letter ('0' and '.' are bridges), 0 if not ours. */
static char dev_kind(const struct net *n, const char *name, unsigned *num)
{
	const char *rest = name + strlen(n->prefix);
	char *end;
	if (strncmp(name, n->prefix, strlen(n->prefix)))
		return 0;
	if (!strcmp(rest, "0"))
		return '0';
	if (!strchr(".tvhux", *rest) || !rest[0] || !isdigit((unsigned char)rest[1]))
		return 0;
	*num = strtoul(rest + 1, &end, 10);
	return !*end || (*rest == 'h' && !strcmp(end, "p")) ? *rest : 0;
}

struct sweep {
	struct model *m;
	char names[512][16];
	int n;
};

static void sweep_one(void *arg, const char *name, const char *kind)
{
	struct sweep *s = arg;
	unsigned num;
	if (dev_kind(s->m->net, name, &num) && s->n < (int)ARRAY_SIZE(s->names))
		snprintf(s->names[s->n++], 16, "%s", name);
}

static bool tap_claimed(struct model *m, unsigned vid)
{
	for (size_t i = 0; i < m->nns; i++) {
		struct tapq q = {.vid = vid};
		if (taps_each(m->nss[i], tap_match, &q))
			return true;
	}
	return false;
}

void net_sweep(struct model *m)
{
	struct net *n = m->net;
	if (!n || !n->nl)
		return;
	net_host_taps_restore(m);
	struct sweep *s = calloc(1, sizeof(*s));
	if (!s)
		return;
	s->m = m;
	nl_links(n->nl, n->prefix, sweep_one, s);
	int removed = 0;
	for (int i = 0; i < s->n; i++) { /* ports first: then the bridges may be empty */
		unsigned num = 0;
		char k = dev_kind(n, s->names[i], &num), master[16] = "";
		bool keep = k == '0' || k == '.' ||
			    (k == 'h' ? tap_claimed(m, num)
			     : k == 'u' || k == 'x'
				 ? !nl_link_master(n->nl, s->names[i], master, sizeof(master)) && *master
				 : dev_claimed(m, s->names[i]));
		if (!keep && nl_link_del(n->nl, s->names[i]) == 0)
			removed++;
	}
	for (int i = 0; i < s->n; i++) {
		unsigned num = 0;
		char k = dev_kind(n, s->names[i], &num);
		if ((k == '0' || k == '.') && (bridge_gc(n, s->names[i]), !if_nametoindex(s->names[i])))
			removed++;
	}
	if (removed)
		fprintf(stderr, "vmfs: removed %d network device(s) a previous vmfs left\n", removed);
	free(s);
}

/* The VLAN's bridge here joined to other hosts' by VXLAN: PREFIXxVID, VNI = VLAN id, with a
 * flood entry per peer (unicast head-end replication: no multicast on the path). Made again
 * whenever the peers change; with none, it goes (and its bridge, if nothing else uses it). */
static int vxlan(struct model *m, unsigned vid, const char *peers, struct err *e)
{
	struct net *n = m->net;
	char dev[16], bridge[16], list[1024];
	int r = 0;
	if (!n || !n->nl)
		return err_set(e, EOPNOTSUPP, "no networking here: %s", net_mode(m));
	if (vid < 1 || vid > 4094)
		return err_set(e, EINVAL, "%u is not a VLAN id (1 to 4094)", vid);
	snprintf(dev, sizeof(dev), "%sx%u", n->prefix, vid);
	snprintf(bridge, sizeof(bridge), n->filtering ? "%s0" : "%s.%u", n->prefix, vid);
	if (if_nametoindex(dev))
		nl_link_del(n->nl, dev);
	if (!*peers) {
		bridge_gc(n, bridge);
		return 0;
	}
	snprintf(list, sizeof(list), "%s", peers);
	if ((r = bridge_ensure(n, bridge, vid, e)) ||
	    (r = nl_vxlan_add(n->nl, dev, vid, e)))
		return r;
	char *save = NULL;
	for (char *p = strtok_r(list, ", ", &save); p && !r; p = strtok_r(NULL, ", ", &save))
		r = nl_fdb_flood(n->nl, dev, p, e);
	if (!r && (r = nl_link_set_master(n->nl, dev, bridge)))
		err_sys(e, r, "attach %s to bridge %s", dev, bridge);
	if (!r && n->filtering)
		r = nl_port_vlan(n->nl, dev, vid, e);
	if (!r && (r = nl_link_up(n->nl, dev)))
		err_sys(e, r, "bring %s up", dev);
	if (r) {
		nl_link_del(n->nl, dev);
		bridge_gc(n, bridge);
	}
	return r;
}

bool net_vxlan_present(const struct model *m, unsigned vid)
{
	char dev[16];
	if (!m->net)
		return false;
	snprintf(dev, sizeof(dev), "%sx%u", m->net->prefix, vid);
	return if_nametoindex(dev) != 0;
}

struct vxlans {
	const struct net *n;
	bool *present;
	unsigned max;
};

static void vxlan_one(void *arg, const char *name, const char *kind)
{
	struct vxlans *x = arg;
	unsigned vid = 0;
	(void)kind;
	if (dev_kind(x->n, name, &vid) == 'x' && vid >= 1 && vid <= x->max)
		x->present[vid] = true;
}

void net_vxlans_present(const struct model *m, bool *present, unsigned max)
{
	struct vxlans x = {m->net, present, max};
	if (m->net && m->net->nl)
		nl_links(m->net->nl, m->net->prefix, vxlan_one, &x);
}

int net_vxlan_peer(struct model *m, unsigned vid, const char *peer, bool add, char *why,
		   size_t whylen)
{
	struct err e;
	char dev[16];
	err_clear(&e);
	if (!m->net || !m->net->nl)
		return err_result(&e, err_set(&e, EOPNOTSUPP, "no networking here: %s", net_mode(m)),
				  why, whylen);
	snprintf(dev, sizeof(dev), "%sx%u", m->net->prefix, vid);
	return err_result(&e, add ? nl_fdb_flood(m->net->nl, dev, peer, &e)
				  : nl_fdb_unflood(m->net->nl, dev, peer, &e),
			  why, whylen);
}

int net_vxlan(struct model *m, unsigned vid, const char *peers, char *why, size_t whylen)
{
	struct err e;
	err_clear(&e);
	return err_result(&e, vxlan(m, vid, peers, &e), why, whylen);
}

/* A namespace's host interfaces: PREFIXhVID (the address, in vmfs's network namespace) and
 * its peer PREFIXhVIDp on the VLAN's bridge. VLAN ids are unique across namespaces, so the
 * names are too, and a restart finds them from ns->taps alone. */
static int host_tap_make(struct net *n, unsigned vid, const char *addr, struct err *e)
{
	struct netnic port = {.vid = vid};
	char host[16];
	snprintf(host, sizeof(host), "%sh%u", n->prefix, vid);
	snprintf(port.dev, sizeof(port.dev), "%sh%up", n->prefix, vid);
	snprintf(port.bridge, sizeof(port.bridge), n->filtering ? "%s0" : "%s.%u", n->prefix, vid);
	int r = nl_veth_add(n->nl, port.dev, host, getpid(), NULL, e);
	if (!r)
		r = port_join(n, &port, e);
	if (!r && (r = nl_link_up(n->nl, host)))
		err_sys(e, r, "bring %s up", host);
	if (!r)
		r = nl_addr_add(n->nl, host, addr, e);
	if (r) {
		nl_link_del(n->nl, port.dev);
		bridge_gc(n, port.bridge);
	}
	return r;
}

static void host_tap_remove(struct net *n, unsigned vid)
{
	char dev[16], bridge[16];
	snprintf(dev, sizeof(dev), "%sh%u", n->prefix, vid);
	snprintf(bridge, sizeof(bridge), n->filtering ? "%s0" : "%s.%u", n->prefix, vid);
	nl_link_del(n->nl, dev);
	bridge_gc(n, bridge);
}

/* The address a namespace's tap on VLAN has, "" if none. */
static void tap_addr(const struct ns *ns, const char *vlan, char *out, size_t outlen)
{
	struct tapq q = {.vlan = vlan};
	snprintf(out, outlen, "%s", taps_each(ns, tap_match, &q) ? q.addr : "");
}

static int tap_keep(void *arg, const char *vlan, unsigned vid, const char *addr)
{
	struct tapq *q = arg;
	if (strcmp(vlan, q->vlan))
		sb_printf(q->b, "%s%s=%s", q->b->len ? " " : "", vlan, addr);
	return 0;
}

/* ns->taps without VLAN's entry, plus "VLAN=ADDR" if addr. */
static char *taps_with(const struct ns *ns, const char *vlan, const char *addr)
{
	struct sbuf b = {0};
	struct tapq q = {.vlan = vlan, .b = &b};
	taps_each(ns, tap_keep, &q);
	if (addr)
		sb_printf(&b, "%s%s=%s", b.len ? " " : "", vlan, addr);
	if (sb_err(&b)) {
		sb_free(&b);
		return NULL;
	}
	return b.p ? b.p : strdup("");
}

static int host_tap(struct model *m, struct ns *ns, const char *vlan, const char *addr,
		    struct err *e)
{
	struct net *n = m->net;
	struct nic_spec spec;
	char spec_text[160], have[64], why[300] = "";
	if (!n || !n->nl)
		return err_set(e, ENOTSUP, "tap: networking is %s", net_mode(m));
	if (addr && !strchr(addr, '/'))
		return err_set(e, EINVAL, "tap %s %s: the address needs its prefix length, as in "
			       "10.0.0.1/24", vlan, addr);
	/* the same checks as a NIC: "VLAN,ADDR" */
	snprintf(spec_text, sizeof(spec_text), "%s%s%s", vlan, addr ? "," : "", addr ? addr : "");
	if (value_nic(spec_text, &spec, why, sizeof(why)) || (addr && !*spec.addr) ||
	    *spec.bridge || *spec.mac || *spec.driver)
		return err_set(e, EINVAL, "%s", *why ? why : "tap: use tap VLAN ADDR/PREFIX, as in "
								     "tap LAN1 10.0.0.1/24");
	tap_addr(ns, vlan, have, sizeof(have));
	if (!addr && !*have)
		return err_set(e, ENOENT, "tap delete %s: namespace %s has no tap on %s", vlan,
			       ns->name, vlan);
	if (addr && *have)
		return err_set(e, EEXIST, "tap %s: namespace %s has one on %s already (%s): tap "
			       "delete %s first", vlan, ns->name, vlan, have, vlan);
	int r = addr ? vlan_claim(m, ns, vlan, e) : 0;
	unsigned vid = tap_vid(ns, vlan);
	char dev[16];
	snprintf(dev, sizeof(dev), "%sh%u", n->prefix, vid);
	if (!r && addr && if_nametoindex(dev)) /* a VLAN given by number may be another's too */
		return err_set(e, EEXIST, "tap %s: VLAN %u has a host tap already (%s), made by "
			       "another namespace", vlan, vid, dev);
	if (!r && addr)
		r = host_tap_make(n, vid, spec.addr, e);
	char *taps = r ? NULL : taps_with(ns, vlan, addr ? spec.addr : NULL);
	if (!r && !taps)
		r = -ENOMEM;
	if (r)
		return r;
	char *old = ns->taps;
	ns->taps = taps;
	if ((r = ns_save(m, ns)) < 0) {
		ns->taps = old;
		free(taps);
		if (addr)
			host_tap_remove(n, vid);
		return err_sys(e, r, "cannot save to the state directory");
	}
	free(old);
	if (!addr)
		host_tap_remove(n, vid);
	evlog_add(&ns->log, addr ? "tap %s %s: %sh%u on VLAN %u" : "tap delete %s%s: %sh%u gone (VLAN %u)",
		  vlan, addr ? spec.addr : "", n->prefix, vid, vid);
	return 0;
}

int net_host_tap(struct model *m, struct ns *ns, const char *vlan, const char *addr, char *why,
		 size_t whylen)
{
	struct err e;
	err_clear(&e);
	return err_result(&e, host_tap(m, ns, vlan, addr, &e), why, whylen);
}

static int tap_line(void *arg, const char *vlan, unsigned vid, const char *addr)
{
	struct tapq *q = arg;
	sb_printf(q->b, "%s %u %s %sh%u\n", vlan, vid, addr, q->n ? q->n->prefix : "?", vid);
	return 0;
}

void net_host_taps_list(const struct model *m, const struct ns *ns, struct sbuf *out)
{
	struct tapq q = {.b = out, .n = m->net};
	taps_each(ns, tap_line, &q);
}

static int tap_drop(void *arg, const char *vlan, unsigned vid, const char *addr)
{
	struct tapq *q = arg;
	if (vid)
		host_tap_remove(q->n, vid);
	return 0;
}

/* rmdir ns/NS: its taps' devices go (ns->taps is left as it was). */
static int net_on_model(void *ctx, struct model *m, const struct model_ev *ev)
{
	struct tapq q = {.n = m->net};
	if (ev->kind == MEV_NS_REMOVED && m->net && m->net->nl)
		taps_each(ev->ns, tap_drop, &q);
	return ev->kind == MEV_NS_KEY ? 1 : 0;
}

int net_subscribe(struct model *m)
{
	int r = model_subscribe(m, vlan_on_model, NULL);
	return r ? r : model_subscribe(m, net_on_model, NULL);
}

bool net_tap_names(const struct ns *ns, const char *vlan)
{
	struct tapq q = {.vlan = vlan};
	return taps_each(ns, tap_match, &q);
}

/* A tap a crash or a reboot lost is made again; failing, the namespace's log says why. */
static int tap_restore(void *arg, const char *vlan, unsigned vid, const char *addr)
{
	struct tapq *q = arg;
	struct err e;
	char dev[16];
	snprintf(dev, sizeof(dev), "%sh%u", q->n->prefix, vid);
	if (vid && !if_nametoindex(dev) && host_tap_make(q->n, vid, addr, &e))
		evlog_add(&((struct ns *)q->ns)->log, "tap %s %s: cannot restore it: %s", vlan,
			  addr, e.why);
	return 0;
}

void net_host_taps_restore(struct model *m)
{
	for (size_t i = 0; m->net && m->net->nl && i < m->nns; i++) {
		struct tapq q = {.n = m->net, .ns = m->nss[i]};
		taps_each(m->nss[i], tap_restore, &q);
	}
}
