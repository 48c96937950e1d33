/* rtnetlink through libmnl (see netlink.h). Each request is sent with NLM_F_ACK and read
 * until its ack or NLMSG_DONE, so every call is synchronous and its errno is the kernel's.
 * The socket asks for extended acks (NETLINK_EXT_ACK) because the kernel's message is the
 * only place the real reason shows for many EINVALs, and for capped acks
 * (NETLINK_CAP_ACK) so an error does not echo our whole request back. */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "runtime/netlink.h"
#include "runtime/util.h"

#define NL_SEND_SIZE 4096
/* A dump's messages come in skbs of up to 32 KiB when the reader's buffer allows it; a
 * smaller buffer would make recvmsg truncate them (ENOSPC from libmnl). */
#define NL_RECV_SIZE 32768
#define VID_BITS 4096

struct nl {
	struct mnl_socket *sock;
	unsigned portid, seq;
	pthread_mutex_t lock;
	char rbuf[NL_RECV_SIZE];
};

/* One request in flight: the reply callback and where the kernel's reason goes. */
struct talk {
	mnl_cb_t cb;
	void *arg;
	char kmsg[256];
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The kernel's own checks (dev_valid_name), made here so the reason is ours, not EINVAL. */
static int name_ok(const char *what, const char *name, char *err, size_t errlen)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n >= IFNAMSIZ) {
		seterr(err, errlen, "%s name '%s' must be 1 to %d bytes long", what,
		       name ? name : "", IFNAMSIZ - 1);
		return -EINVAL;
	}
	if (!strcmp(name, ".") || !strcmp(name, "..") || strpbrk(name, "/: \t\n\r\v\f")) {
		seterr(err, errlen, "%s name '%s' may not be '.' or '..' or contain '/', ':' or "
				    "white space", what, name);
		return -EINVAL;
	}
	return 0;
}

static int vid_ok(unsigned vid, char *err, size_t errlen)
{
	if (vid >= 1 && vid <= 4094)
		return 0;
	seterr(err, errlen, "VLAN id %u is out of range 1-4094 (0 and 4095 are reserved)", vid);
	return -EINVAL;
}

int nl_open(struct nl **out)
{
	int one = 1;
	struct nl *nl = calloc(1, sizeof *nl);
	if (!nl)
		return -ENOMEM;
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		if (nl->sock)
			mnl_socket_close(nl->sock);
		free(nl);
		return -e;
	}
	/* Both are optional: without them errors just lose their words. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof one);
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof one);
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned)time(NULL);
	pthread_mutex_init(&nl->lock, NULL);
	*out = nl;
	return 0;
}

void nl_close(struct nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	pthread_mutex_destroy(&nl->lock);
	free(nl);
}

static int kmsg_attr(const struct nlattr *a, void *data)
{
	struct talk *t = data;
	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		snprintf(t->kmsg, sizeof t->kmsg, "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

/* Replaces libmnl's NLMSG_ERROR handler to pick the extended ack's message up. */
static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof *e;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof *e)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof e->msg;
		if (mnl_nlmsg_get_payload_len(nlh) > off)
			mnl_attr_parse_payload((const char *)e + off,
					       mnl_nlmsg_get_payload_len(nlh) - off, kmsg_attr, data);
	}
	errno = -e->error;
	return MNL_CB_ERROR;
}

/* A dump's end; a dump that failed midway carries the errno there. */
static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	int e = 0;
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof e)
		memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof e);
	if (e >= 0)
		return MNL_CB_STOP;
	errno = -e;
	return MNL_CB_ERROR;
}

static int overrun_cb(const struct nlmsghdr *nlh, void *data)
{
	errno = ENOSPC;
	return MNL_CB_ERROR;
}

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;
	return t->cb ? t->cb(nlh, t->arg) : MNL_CB_OK;
}

/* Sends nlh and reads replies until its ack or NLMSG_DONE, passing each to cb. On error
 * writes "what: reason" into err. */
static int talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *arg, const char *what,
		char *err, size_t errlen)
{
	/* Given an array, libmnl uses no default for the control types: all are set here. */
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = error_cb, [NLMSG_DONE] = done_cb, [NLMSG_OVERRUN] = overrun_cb};
	struct talk t = {cb, arg, ""};
	int rc = 0;
	ssize_t n;

	pthread_mutex_lock(&nl->lock);
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		rc = -errno;
	while (!rc) {
		n = mnl_socket_recvfrom(nl->sock, nl->rbuf, sizeof nl->rbuf);
		if (n < 0) {
			rc = -errno;
			break;
		}
		int r = mnl_cb_run2(nl->rbuf, n, nlh->nlmsg_seq, nl->portid, data_cb, &t, ctl,
				    ARRAY_SIZE(ctl));
		if (r == MNL_CB_ERROR)
			rc = errno ? -errno : -EIO;
		else if (r == MNL_CB_STOP)
			break;
	}
	pthread_mutex_unlock(&nl->lock);
	if (rc)
		seterr(err, errlen, "%s: %s", what, t.kmsg[0] ? t.kmsg : strerror(-rc));
	return rc;
}

static struct nlmsghdr *msg_start(char *buf, int type, int flags, int family, int index)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	ifm->ifi_family = family;
	ifm->ifi_index = index;
	return nlh;
}

static int index_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_type == RTM_NEWLINK)
		*(int *)arg = ifm->ifi_index;
	return MNL_CB_OK;
}

/* The link's index, or -ENODEV. */
static int link_index(struct nl *nl, const char *name)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = msg_start(buf, RTM_GETLINK, 0, AF_UNSPEC, 0);
	int index = 0, rc;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	/* Only the header is wanted: skip the per-VF stats a big NIC would add. */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	rc = talk(nl, nlh, index_cb, &index, "", NULL, 0);
	if (rc)
		return rc;
	return index > 0 ? index : -ENODEV;
}

int nl_bridge_add(struct nl *nl, const char *name, char *err, size_t errlen)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh;
	struct nlattr *info, *data;
	int rc;

	seterr(err, errlen, "%s", "");
	if ((rc = name_ok("bridge", name, err, errlen)))
		return rc;
	nlh = msg_start(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0);
	((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_flags = IFF_UP;
	((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	/* The kernel applies filtering before the default PVID whatever the order here. */
	mnl_attr_put_u8(nlh, IFLA_BR_VLAN_FILTERING, 1);
	mnl_attr_put_u16(nlh, IFLA_BR_VLAN_DEFAULT_PVID, 0);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	char what[64];
	snprintf(what, sizeof what, "creating bridge %s", name);
	rc = talk(nl, nlh, NULL, NULL, what, err, errlen);
	/* Refused rather than made without: a bridge that ignores VLANs would join them all. */
	if (rc == -EOPNOTSUPP)
		seterr(err, errlen, "%s: this kernel has no bridge VLAN filtering "
				    "(CONFIG_BRIDGE_VLAN_FILTERING)", what);
	return rc;
}

int nl_veth_add(struct nl *nl, const char *host, const char *peer, pid_t pid,
		const unsigned char mac[6], char *err, size_t errlen)
{
	char buf[NL_SEND_SIZE], what[96];
	struct nlmsghdr *nlh;
	struct nlattr *info, *data, *pe;
	int rc;

	seterr(err, errlen, "%s", "");
	if ((rc = name_ok("veth", host, err, errlen)) || (rc = name_ok("peer", peer, err, errlen)))
		return rc;
	if (pid <= 0) {
		seterr(err, errlen, "veth %s: no process %d to put the peer in", host, (int)pid);
		return -EINVAL;
	}
	nlh = msg_start(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0);
	((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_flags = IFF_UP;
	((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	/* VETH_INFO_PEER holds a whole ifinfomsg and its attributes, as a new link would. */
	pe = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* Left down: the kernel opens the peer before the pair is linked, and veth_open then
	 * fails with ENOTCONN; its namespace's owner brings it up. */
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t)pid);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	mnl_attr_nest_end(nlh, pe);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	snprintf(what, sizeof what, "creating veth %s (peer %s in process %d)", host, peer,
		 (int)pid);
	return talk(nl, nlh, NULL, NULL, what, err, errlen);
}

int nl_tap_add(struct nl *nl, const char *name, char *err, size_t errlen)
{
	struct ifreq ifr = {0};
	int rc;

	seterr(err, errlen, "%s", "");
	if ((rc = name_ok("tap", name, err, errlen)))
		return rc;
	/* TUNSETIFF on an existing persistent tap would attach to it rather than fail. */
	if ((rc = link_index(nl, name)) != -ENODEV) {
		if (rc > 0)
			rc = -EEXIST;
		seterr(err, errlen, "creating tap %s: %s", name, strerror(-rc));
		return rc;
	}
	auto_close int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		seterr(err, errlen, "creating tap %s: /dev/net/tun: %s", name, strerror(-rc));
		return rc;
	}
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) {
		rc = -errno;
		seterr(err, errlen, "creating tap %s: %s", name, strerror(-rc));
		return rc;
	}
	if ((rc = nl_link_up(nl, name))) {
		seterr(err, errlen, "bringing tap %s up: %s", name, strerror(-rc));
		nl_link_del(nl, name);
	}
	return rc;
}

int nl_link_del(struct nl *nl, const char *name)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh;
	int rc;
	if ((rc = name_ok("link", name, NULL, 0)))
		return rc;
	nlh = msg_start(buf, RTM_DELLINK, 0, AF_UNSPEC, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return talk(nl, nlh, NULL, NULL, "", NULL, 0);
}

int nl_link_up(struct nl *nl, const char *name)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh;
	int rc;
	if ((rc = name_ok("link", name, NULL, 0)))
		return rc;
	nlh = msg_start(buf, RTM_SETLINK, 0, AF_UNSPEC, 0);
	((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_flags = IFF_UP;
	((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return talk(nl, nlh, NULL, NULL, "", NULL, 0);
}

int nl_link_set_master(struct nl *nl, const char *name, const char *bridge)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh;
	int br;
	if (name_ok("link", name, NULL, 0) || name_ok("bridge", bridge, NULL, 0))
		return -EINVAL;
	if ((br = link_index(nl, bridge)) < 0)
		return br;
	nlh = msg_start(buf, RTM_SETLINK, 0, AF_UNSPEC, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)br);
	return talk(nl, nlh, NULL, NULL, "", NULL, 0);
}

/* What one bridge-port dump collects: the VLANs of the port with index `index`. */
struct vlan_dump {
	int index;
	uint8_t bits[VID_BITS / 8];
};

static int vlan_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct vlan_dump *d = arg;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a, *v;
	unsigned begin = 0;

	if (nlh->nlmsg_type != RTM_NEWLINK || ifm->ifi_index != d->index)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof *ifm)
	{
		if (mnl_attr_get_type(a) != IFLA_AF_SPEC)
			continue;
		mnl_attr_for_each_nested(v, a)
		{
			const struct bridge_vlan_info *vi;
			if (mnl_attr_get_type(v) != IFLA_BRIDGE_VLAN_INFO ||
			    mnl_attr_get_payload_len(v) < sizeof *vi)
				continue;
			vi = mnl_attr_get_payload(v);
			/* Ranges come only when asked for compressed output; handled anyway. */
			if (vi->flags & BRIDGE_VLAN_INFO_RANGE_BEGIN) {
				begin = vi->vid;
				continue;
			}
			for (unsigned id = begin ? begin : vi->vid; id <= vi->vid && id < VID_BITS; id++)
				d->bits[id / 8] |= 1u << (id % 8);
			begin = 0;
		}
	}
	return MNL_CB_OK;
}

static int port_vlan_bits(struct nl *nl, const char *port, struct vlan_dump *d)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh;
	int rc;
	memset(d, 0, sizeof *d);
	if ((rc = link_index(nl, port)) < 0)
		return rc;
	d->index = rc;
	/* AF_BRIDGE GETLINK has no single-link form (no doit): dump all ports, keep ours. */
	nlh = msg_start(buf, RTM_GETLINK, NLM_F_DUMP, AF_BRIDGE, 0);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN);
	return talk(nl, nlh, vlan_cb, d, "", NULL, 0);
}

int nl_port_vlans(struct nl *nl, const char *port, unsigned *vids, int n)
{
	struct vlan_dump d;
	int rc, k = 0;
	if (name_ok("port", port, NULL, 0))
		return -EINVAL;
	if ((rc = port_vlan_bits(nl, port, &d)))
		return rc;
	for (unsigned id = 1; id < VID_BITS && k < n; id++)
		if (d.bits[id / 8] & (1u << (id % 8)))
			vids[k++] = id;
	return k;
}

/* One RTM_SETLINK (add) or RTM_DELLINK (remove) of VLANs on a bridge port. */
static int port_vlan_msg(struct nl *nl, int type, int index, const unsigned *vids, int n,
			 uint16_t flags, const char *what, char *err, size_t errlen)
{
	auto_free char *buf = malloc(NL_SEND_SIZE + n * 8);
	struct nlmsghdr *nlh;
	struct nlattr *spec;
	if (!buf)
		return -ENOMEM;
	nlh = msg_start(buf, type, 0, AF_BRIDGE, index);
	spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	for (int i = 0; i < n; i++) {
		struct bridge_vlan_info vi = {.flags = flags, .vid = vids[i]};
		mnl_attr_put(nlh, IFLA_BRIDGE_VLAN_INFO, sizeof vi, &vi);
	}
	mnl_attr_nest_end(nlh, spec);
	return talk(nl, nlh, NULL, NULL, what, err, errlen);
}

static int port_vlan_set(struct nl *nl, const char *port, unsigned vid, int untagged,
			 char *err, size_t errlen)
{
	char what[64];
	struct vlan_dump d;
	int index, rc, n = 0;

	seterr(err, errlen, "%s", "");
	if ((rc = name_ok("port", port, err, errlen)) || (rc = vid_ok(vid, err, errlen)))
		return rc;
	snprintf(what, sizeof what, "VLAN %u on %s", vid, port);
	if ((index = link_index(nl, port)) < 0) {
		seterr(err, errlen, "%s: %s", what, strerror(-index));
		return index;
	}
	rc = port_vlan_msg(nl, RTM_SETLINK, index, &vid, 1,
			   untagged ? BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED : 0, what,
			   err, errlen);
	if (rc == -EOPNOTSUPP)
		seterr(err, errlen, "%s: %s is not a bridge port, or the kernel has no bridge "
				    "VLAN filtering", what, port);
	if (rc || !untagged)
		return rc;
	/* Added first, then the rest removed: the port is never in no VLAN at all. */
	if ((rc = port_vlan_bits(nl, port, &d))) {
		seterr(err, errlen, "%s: listing its VLANs: %s", what, strerror(-rc));
		return rc;
	}
	auto_free unsigned *old = malloc(VID_BITS * sizeof *old);
	if (!old)
		return -ENOMEM;
	for (unsigned id = 1; id < VID_BITS; id++)
		if (id != vid && (d.bits[id / 8] & (1u << (id % 8))))
			old[n++] = id;
	snprintf(what, sizeof what, "removing %s from its other VLANs", port);
	return n ? port_vlan_msg(nl, RTM_DELLINK, index, old, n, 0, what, err, errlen) : 0;
}

int nl_port_vlan(struct nl *nl, const char *port, unsigned vid, char *err, size_t errlen)
{
	return port_vlan_set(nl, port, vid, 1, err, errlen);
}

int nl_port_vlan_tagged(struct nl *nl, const char *port, unsigned vid, char *err,
			size_t errlen)
{
	return port_vlan_set(nl, port, vid, 0, err, errlen);
}

/* Matching names, gathered during the dump and handed to the caller after it. */
struct link_dump {
	const char *prefix;
	struct sbuf names; /* NUL-separated */
	int n;
};

static int links_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct link_dump *d = arg;
	const struct nlattr *a;
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg))
	{
		if (mnl_attr_get_type(a) != IFLA_IFNAME || mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
			continue;
		const char *name = mnl_attr_get_str(a);
		if (!strncmp(name, d->prefix, strlen(d->prefix))) {
			sb_add(&d->names, name, strlen(name) + 1);
			d->n++;
		}
	}
	return MNL_CB_OK;
}

int nl_links(struct nl *nl, const char *prefix, void (*fn)(void *arg, const char *name),
	     void *arg)
{
	char buf[NL_SEND_SIZE];
	struct link_dump d = {prefix ? prefix : ""};
	struct nlmsghdr *nlh = msg_start(buf, RTM_GETLINK, NLM_F_DUMP, AF_UNSPEC, 0);
	int rc;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	rc = talk(nl, nlh, links_cb, &d, "", NULL, 0);
	if (!rc && (rc = sb_err(&d.names)) == 0) {
		const char *p = d.names.p;
		for (int i = 0; i < d.n; i++, p += strlen(p) + 1)
			fn(arg, p);
		rc = d.n;
	}
	sb_free(&d.names);
	return rc;
}
