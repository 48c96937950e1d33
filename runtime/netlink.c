/* rtnetlink through libmnl (see netlink.h). Each request is sent with NLM_F_ACK and read
 * until its ack or NLMSG_DONE, so every call is synchronous and its errno is the kernel's.
 * The socket asks for extended acks (NETLINK_EXT_ACK) because the kernel's message is the
 * only place the real reason shows for many EINVALs, and for capped acks
 * (NETLINK_CAP_ACK) so an error does not echo our whole request back. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "runtime/netlink.h"
#include "runtime/err.h"
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

/* The kernel's own checks (dev_valid_name), made here so the reason is ours, not EINVAL.
 * e NULL: the errno alone. */
static int name_ok(const char *what, const char *name, struct err *e)
{
	size_t n = name ? strlen(name) : 0;
	if ((n == 0 || n >= IFNAMSIZ) && e)
		return err_set(e, EINVAL, "%s name '%s' must be 1 to %d bytes long", what,
			       name ? name : "", IFNAMSIZ - 1);
	if (n == 0 || n >= IFNAMSIZ)
		return -EINVAL;
	if (!strcmp(name, ".") || !strcmp(name, "..") || strpbrk(name, "/: \t\n\r\v\f"))
		return e ? err_set(e, EINVAL, "%s name '%s' may not be '.' or '..' or contain '/', "
				   "':' or white space", what, name)
			 : -EINVAL;
	return 0;
}

static int vid_ok(unsigned vid, struct err *e)
{
	if (vid >= 1 && vid <= 4094)
		return 0;
	return err_set(e, EINVAL, "VLAN id %u is out of range 1-4094 (0 and 4095 are reserved)",
		       vid);
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
 * sets e (unless NULL) to "what: reason". */
static int talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *arg, const char *what,
		struct err *e)
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
	if (rc && e)
		err_set(e, rc, "%s: %s", what, t.kmsg[0] ? t.kmsg : strerror(-rc));
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

/* What an RTM_NEWLINK says about one link, as far as vmfs asks. */
struct link {
	int index, master, maclen;
	char name[IFNAMSIZ], kind[16];
	unsigned char mac[6];
};

static void link_parse(const struct nlmsghdr *nlh, struct link *l)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a, *i;

	memset(l, 0, sizeof *l);
	l->index = ifm->ifi_index;
	mnl_attr_for_each(a, nlh, sizeof *ifm)
	{
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			if (!mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
				snprintf(l->name, sizeof l->name, "%s", mnl_attr_get_str(a));
			break;
		case IFLA_MASTER:
			if (!mnl_attr_validate(a, MNL_TYPE_U32))
				l->master = (int)mnl_attr_get_u32(a);
			break;
		case IFLA_ADDRESS:
			/* 6 bytes for Ethernet; other lengths (IP tunnels' 4) are no MAC. */
			if (mnl_attr_get_payload_len(a) == sizeof l->mac) {
				memcpy(l->mac, mnl_attr_get_payload(a), sizeof l->mac);
				l->maclen = sizeof l->mac;
			}
			break;
		case IFLA_LINKINFO:
			mnl_attr_for_each_nested(i, a)
			{
				if (mnl_attr_get_type(i) != IFLA_INFO_KIND ||
				    mnl_attr_validate(i, MNL_TYPE_NUL_STRING))
					continue;
				snprintf(l->kind, sizeof l->kind, "%s", mnl_attr_get_str(i));
			}
			break;
		}
	}
}

static int link_cb(const struct nlmsghdr *nlh, void *arg)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		link_parse(nlh, arg);
	return MNL_CB_OK;
}

/* The link called name, or with index index if name is NULL: 0, or -ENODEV. */
static int link_get(struct nl *nl, const char *name, int index, struct link *l)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = msg_start(buf, RTM_GETLINK, 0, AF_UNSPEC, name ? 0 : index);
	int rc;
	memset(l, 0, sizeof *l);
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	/* Only the header is wanted: skip the per-VF stats a big NIC would add. */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	if ((rc = talk(nl, nlh, link_cb, l, "", NULL)))
		return rc;
	return l->index > 0 ? 0 : -ENODEV;
}

/* The link's index, or -ENODEV. */
static int link_index(struct nl *nl, const char *name)
{
	struct link l;
	int rc = link_get(nl, name, 0, &l);
	return rc ? rc : l.index;
}

/* A link request naming the link, optionally bringing it up. */
static struct nlmsghdr *link_msg(char *buf, int type, int flags, const char *name, bool up)
{
	struct nlmsghdr *nlh = msg_start(buf, type, flags, AF_UNSPEC, 0);
	if (up) {
		((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_flags = IFF_UP;
		((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_change = IFF_UP;
	}
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

/* A bridge, up, filtering VLANs or not; on failure err says "what: reason". */
static int bridge_add(struct nl *nl, const char *name, int filtering, const char *what,
		      struct err *e)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh;
	struct nlattr *info, *data;

	nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, name, true);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	/* Nothing at all for a plain bridge: without CONFIG_BRIDGE_VLAN_FILTERING the kernel
	 * refuses even vlan_filtering 0. */
	if (filtering) {
		data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		/* The kernel applies filtering before the default PVID whatever the order. */
		mnl_attr_put_u8(nlh, IFLA_BR_VLAN_FILTERING, 1);
		mnl_attr_put_u16(nlh, IFLA_BR_VLAN_DEFAULT_PVID, 0);
		mnl_attr_nest_end(nlh, data);
	}
	mnl_attr_nest_end(nlh, info);
	return talk(nl, nlh, NULL, NULL, what, e);
}

int nl_bridge_add(struct nl *nl, const char *name, struct err *e)
{
	char what[64];
	int rc;

	if ((rc = name_ok("bridge", name, e)))
		return rc;
	snprintf(what, sizeof what, "creating bridge %s", name);
	rc = bridge_add(nl, name, 1, what, e);
	/* Refused rather than made without: a bridge that ignores VLANs would join them all. */
	if (rc == -EOPNOTSUPP)
		err_set(e, rc, "%s: this kernel has no bridge VLAN filtering "
			       "(CONFIG_BRIDGE_VLAN_FILTERING)", what);
	return rc;
}

int nl_bridge_plain_add(struct nl *nl, const char *name, struct err *e)
{
	char what[64];
	int rc;

	if ((rc = name_ok("bridge", name, e)))
		return rc;
	snprintf(what, sizeof what, "creating bridge %s", name);
	return bridge_add(nl, name, 0, what, e);
}

int nl_vlan_filtering(struct nl *nl, struct err *e)
{
	char name[IFNAMSIZ];
	int rc;

	err_clear(e);
	/* Named by thread id, unique among live threads (pid_max is at most 2^22, 7 digits),
	 * so probes running at once never meet. */
	snprintf(name, sizeof name, "vfprobe%u", (unsigned)gettid() % 10000000u);
	rc = bridge_add(nl, name, 1, "bridge vlan_filtering", e);
	if (rc == -EEXIST) {
		/* Then a dead thread's probe left it there. */
		nl_link_del(nl, name);
		rc = bridge_add(nl, name, 1, "bridge vlan_filtering", e);
	}
	if (rc == -EOPNOTSUPP) {
		err_wrap(e, "the kernel has no VLAN-filtering bridges "
			    "(CONFIG_BRIDGE_VLAN_FILTERING)");
		return 0;
	}
	if (rc)
		return err_wrap(e, "probing with bridge %s", name);
	if ((rc = nl_link_del(nl, name)))
		return err_sys(e, rc, "removing probe bridge %s", name);
	return 1;
}

/* nl_veth_add and nl_veth_add_ns: the peer's namespace is attribute nsattr
 * (IFLA_NET_NS_PID or IFLA_NET_NS_FD) with value ns, called where in messages. */
static int veth_add(struct nl *nl, const char *host, const char *peer, int nsattr, int ns,
		    const char *where, const unsigned char mac[6], struct err *e)
{
	char buf[NL_SEND_SIZE], what[128];
	struct nlmsghdr *nlh;
	struct nlattr *info, *data, *pe;
	int rc;

	if ((rc = name_ok("veth", host, e)) || (rc = name_ok("peer", peer, e)))
		return rc;
	/* Pid 0 would be read by the kernel as ours, but fd 0 is a file like any other. */
	if (nsattr == IFLA_NET_NS_PID ? ns <= 0 : ns < 0)
		return err_set(e, EINVAL, "veth %s: no %s to put the peer in", host, where);
	nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, host, true);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	/* VETH_INFO_PEER holds a whole ifinfomsg and its attributes, as a new link would. */
	pe = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* Left down: the kernel opens the peer before the pair is linked, and veth_open then
	 * fails with ENOTCONN; its namespace's owner brings it up. */
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, nsattr, (uint32_t)ns);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	mnl_attr_nest_end(nlh, pe);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	snprintf(what, sizeof what, "creating veth %s (peer %s in %s)", host, peer, where);
	return talk(nl, nlh, NULL, NULL, what, e);
}

int nl_veth_add(struct nl *nl, const char *host, const char *peer, pid_t pid,
		const unsigned char mac[6], struct err *e)
{
	char where[32];
	snprintf(where, sizeof where, "process %d", (int)pid);
	return veth_add(nl, host, peer, IFLA_NET_NS_PID, (int)pid, where, mac, e);
}

int nl_veth_add_ns(struct nl *nl, const char *host, const char *peer, int netnsfd,
		   const unsigned char mac[6], struct err *e)
{
	char where[48];
	snprintf(where, sizeof where, "network namespace fd %d", netnsfd);
	return veth_add(nl, host, peer, IFLA_NET_NS_FD, netnsfd, where, mac, e);
}

int nl_tap_add(struct nl *nl, const char *name, struct err *e)
{
	struct ifreq ifr = {0};
	int rc;

	if ((rc = name_ok("tap", name, e)))
		return rc;
	/* TUNSETIFF on an existing persistent tap would attach to it rather than fail. */
	if ((rc = link_index(nl, name)) != -ENODEV) {
		return err_sys(e, rc > 0 ? EEXIST : rc, "creating tap %s", name);
	}
	auto_close int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "creating tap %s: /dev/net/tun", name);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0)
		return err_sys(e, errno, "creating tap %s", name);
	if ((rc = nl_link_up(nl, name))) {
		err_sys(e, rc, "bringing tap %s up", name);
		nl_link_del(nl, name);
	}
	return rc;
}

int nl_tap_open(const char *name, struct err *e)
{
	struct ifreq ifr = {0};
	int rc = name_ok("tap", name, e);
	if (rc)
		return rc;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	/* as QEMU attaches with ifname=: with a virtio-net header when the kernel has it */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = err_sys(e, errno, "opening tap %s", name);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

/* A request on a named link that says nothing but its errno. */
static int link_plain(struct nl *nl, const char *name, int type, bool up)
{
	char buf[NL_SEND_SIZE];
	int rc = name_ok("link", name, NULL);
	return rc ? rc : talk(nl, link_msg(buf, type, 0, name, up), NULL, NULL, "", NULL);
}

int nl_link_del(struct nl *nl, const char *name)
{
	return link_plain(nl, name, RTM_DELLINK, false);
}

int nl_vlan_add(struct nl *nl, const char *name, const char *parent, unsigned vid, struct err *e)
{
	char buf[NL_SEND_SIZE], what[64];
	struct nlmsghdr *nlh;
	struct nlattr *info, *data;
	int rc, index;
	if ((rc = name_ok("VLAN interface", name, e)) || (rc = vid_ok(vid, e)))
		return rc;
	if ((index = link_index(nl, parent)) < 0)
		return err_sys(e, index, "uplink %s", parent);
	nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, name, true);
	mnl_attr_put_u32(nlh, IFLA_LINK, index);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vlan");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u16(nlh, IFLA_VLAN_ID, vid);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	snprintf(what, sizeof what, "VLAN interface %s on %s", name, parent);
	rc = talk(nl, nlh, NULL, NULL, what, e);
	/* without 8021q the kernel knows no link kind "vlan" */
	if (rc == -EOPNOTSUPP)
		err_set(e, rc, "VLAN interface %s on %s: this kernel has no 802.1Q VLAN interfaces "
			       "(CONFIG_VLAN_8021Q, module 8021q)", name, parent);
	return rc;
}

int nl_vxlan_add(struct nl *nl, const char *name, unsigned vni, struct err *e)
{
	char buf[NL_SEND_SIZE], what[64];
	int rc;
	if ((rc = name_ok("VXLAN interface", name, e)))
		return rc;
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, name, false);
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vxlan");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_VXLAN_ID, vni);
	mnl_attr_put_u16(nlh, IFLA_VXLAN_PORT, htons(4789)); /* IANA's, network order */
	mnl_attr_put_u8(nlh, IFLA_VXLAN_LEARNING, 1);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	snprintf(what, sizeof what, "VXLAN interface %s (VNI %u)", name, vni);
	return talk(nl, nlh, NULL, NULL, what, e);
}

static int fdb_flood(struct nl *nl, const char *dev, const char *ipv4, bool add, struct err *e)
{
	char buf[NL_SEND_SIZE], what[96];
	unsigned char zero[6] = {0};
	struct in_addr a;
	int index = link_index(nl, dev);
	if (index < 0)
		return err_sys(e, index, "%s", dev);
	if (inet_pton(AF_INET, ipv4, &a) != 1)
		return err_set(e, EINVAL, "%s: not an IPv4 peer", dev);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = add ? RTM_NEWNEIGH : RTM_DELNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_APPEND : 0);
	struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof *nd);
	nd->ndm_family = AF_BRIDGE;
	nd->ndm_ifindex = index;
	nd->ndm_state = NUD_PERMANENT | NUD_NOARP;
	nd->ndm_flags = NTF_SELF;
	mnl_attr_put(nlh, NDA_LLADDR, sizeof zero, zero);
	mnl_attr_put(nlh, NDA_DST, sizeof a, &a);
	snprintf(what, sizeof what, "flood entry of %s to %s", dev, ipv4);
	return talk(nl, nlh, NULL, NULL, what, e);
}

int nl_fdb_flood(struct nl *nl, const char *dev, const char *ipv4, struct err *e)
{
	return fdb_flood(nl, dev, ipv4, true, e);
}

int nl_fdb_unflood(struct nl *nl, const char *dev, const char *ipv4, struct err *e)
{
	return fdb_flood(nl, dev, ipv4, false, e);
}

int nl_link_up(struct nl *nl, const char *name)
{
	return link_plain(nl, name, RTM_SETLINK, true);
}

int nl_link_set_master(struct nl *nl, const char *name, const char *bridge)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh;
	int br;
	if (name_ok("link", name, NULL) || name_ok("bridge", bridge, NULL))
		return -EINVAL;
	if ((br = link_index(nl, bridge)) < 0)
		return br;
	nlh = link_msg(buf, RTM_SETLINK, 0, name, false);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)br);
	return talk(nl, nlh, NULL, NULL, "", NULL);
}

int nl_link_master(struct nl *nl, const char *name, char *master, size_t len)
{
	struct link l;
	int rc, m;
	if ((rc = name_ok("link", name, NULL)))
		return rc;
	if ((rc = link_get(nl, name, 0, &l)))
		return rc;
	m = l.master;
	l.name[0] = 0;
	/* A master removed between the two asks took its ports' master with it: none. */
	if (m > 0 && (rc = link_get(nl, NULL, m, &l)) && rc != -ENODEV)
		return rc;
	return snprintf(master, len, "%s", l.name) < (int)len ? 0 : -ERANGE;
}

int nl_link_mac(struct nl *nl, const char *name, unsigned char mac[6])
{
	struct link l;
	int rc;
	if ((rc = name_ok("link", name, NULL)))
		return rc;
	if ((rc = link_get(nl, name, 0, &l)))
		return rc;
	if (l.maclen != 6)
		return -ENODATA;
	memcpy(mac, l.mac, 6);
	return 0;
}

/* cidr "ADDR/PREFIX" into family, address (4 or 16 bytes) and prefix length. */
static int cidr_parse(const char *cidr, int *family, unsigned char addr[16], unsigned *plen,
		      struct err *e)
{
	const char *slash = cidr ? strchr(cidr, '/') : NULL;
	char a[INET6_ADDRSTRLEN];
	unsigned long n, max;
	char *end = "";
	int alen;

	if (!slash)
		return err_set(e, EINVAL, "address '%s' is not ADDR/PREFIX", cidr ? cidr : "");
	alen = (int)(slash - cidr);
	/* Too long is checked, not cut: a cut string could still parse. */
	snprintf(a, sizeof a, "%.*s", alen, cidr);
	if (alen < (int)sizeof a && inet_pton(AF_INET, a, addr) == 1)
		*family = AF_INET;
	else if (alen < (int)sizeof a && inet_pton(AF_INET6, a, addr) == 1)
		*family = AF_INET6;
	else
		return err_set(e, EINVAL, "address '%s': '%.*s' is not an IPv4 or IPv6 address",
			       cidr, alen, cidr);
	max = *family == AF_INET ? 32 : 128;
	/* strtoul alone would take "", " 24", "+24" and "24x". */
	n = isdigit((unsigned char)slash[1]) ? strtoul(slash + 1, &end, 10) : max + 1;
	if (n > max || *end)
		return err_set(e, EINVAL, "address '%s': the prefix length must be 0 to %lu", cidr,
			       max);
	*plen = (unsigned)n;
	return 0;
}

/* RTM_NEWADDR or RTM_DELADDR of cidr on link name. */
static int addr_change(struct nl *nl, int type, const char *name, const char *cidr, struct err *e)
{
	char buf[NL_SEND_SIZE], what[128];
	unsigned char addr[16];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int family = 0, index, rc;
	unsigned plen = 0;

	if ((rc = name_ok("link", name, e)) ||
	    (rc = cidr_parse(cidr, &family, addr, &plen, e)))
		return rc;
	if (type == RTM_NEWADDR)
		snprintf(what, sizeof what, "adding address %s to %s", cidr, name);
	else
		snprintf(what, sizeof what, "removing address %s from %s", cidr, name);
	if ((index = link_index(nl, name)) < 0)
		return err_sys(e, index, "%s", what);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
	ifa->ifa_family = family;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_index = index;
	/* IFA_LOCAL is the address; IFA_ADDRESS the far end's, which off point-to-point links
	 * is the same (`ip addr add` sends both). */
	mnl_attr_put(nlh, IFA_LOCAL, family == AF_INET ? 4 : 16, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, family == AF_INET ? 4 : 16, addr);
	return talk(nl, nlh, NULL, NULL, what, e);
}

int nl_addr_add(struct nl *nl, const char *name, const char *cidr, struct err *e)
{
	return addr_change(nl, RTM_NEWADDR, name, cidr, e);
}

int nl_addr_del(struct nl *nl, const char *name, const char *cidr, struct err *e)
{
	return addr_change(nl, RTM_DELADDR, name, cidr, e);
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
	return talk(nl, nlh, vlan_cb, d, "", NULL);
}

int nl_port_vlans(struct nl *nl, const char *port, unsigned *vids, int n)
{
	struct vlan_dump d;
	int rc, k = 0;
	if (name_ok("port", port, NULL))
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
			 uint16_t flags, const char *what, struct err *e)
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
	return talk(nl, nlh, NULL, NULL, what, e);
}

static int port_vlan_set(struct nl *nl, const char *port, unsigned vid, int untagged,
			 struct err *e)
{
	char what[64];
	struct vlan_dump d;
	int index, rc, n = 0;

	if ((rc = name_ok("port", port, e)) || (rc = vid_ok(vid, e)))
		return rc;
	snprintf(what, sizeof what, "VLAN %u on %s", vid, port);
	if ((index = link_index(nl, port)) < 0)
		return err_sys(e, index, "%s", what);
	rc = port_vlan_msg(nl, RTM_SETLINK, index, &vid, 1,
			   untagged ? BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED : 0, what,
			   e);
	if (rc == -EOPNOTSUPP)
		err_set(e, rc, "%s: %s is not a bridge port, or the kernel has no bridge VLAN "
			       "filtering", what, port);
	if (rc || !untagged)
		return rc;
	/* Added first, then the rest removed: the port is never in no VLAN at all. */
	if ((rc = port_vlan_bits(nl, port, &d)))
		return err_sys(e, rc, "%s: listing its VLANs", what);
	auto_free unsigned *old = malloc(VID_BITS * sizeof *old);
	if (!old)
		return -ENOMEM;
	for (unsigned id = 1; id < VID_BITS; id++)
		if (id != vid && (d.bits[id / 8] & (1u << (id % 8))))
			old[n++] = id;
	snprintf(what, sizeof what, "removing %s from its other VLANs", port);
	return n ? port_vlan_msg(nl, RTM_DELLINK, index, old, n, 0, what, e) : 0;
}

int nl_port_vlan(struct nl *nl, const char *port, unsigned vid, struct err *e)
{
	return port_vlan_set(nl, port, vid, 1, e);
}

int nl_port_vlan_tagged(struct nl *nl, const char *port, unsigned vid, struct err *e)
{
	return port_vlan_set(nl, port, vid, 0, e);
}

/* A dump of every link, each handed to fn during it (so fn must not use nl). master > 0
 * asks the kernel to send only that bridge's ports. */
struct link_dump {
	void (*fn)(const struct link *l, void *arg);
	void *arg;
};

static int dump_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct link_dump *d = arg;
	struct link l;
	if (nlh->nlmsg_type == RTM_NEWLINK) {
		link_parse(nlh, &l);
		d->fn(&l, d->arg);
	}
	return MNL_CB_OK;
}

static int links_dump(struct nl *nl, int master, void (*fn)(const struct link *, void *),
		      void *arg)
{
	char buf[NL_SEND_SIZE];
	struct link_dump d = {fn, arg};
	struct nlmsghdr *nlh = msg_start(buf, RTM_GETLINK, NLM_F_DUMP, AF_UNSPEC, 0);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	if (master > 0)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	return talk(nl, nlh, dump_cb, &d, "", NULL);
}

/* Matching names and kinds, gathered during the dump and handed to the caller after it. */
struct prefix_match {
	const char *prefix;
	struct sbuf names; /* name NUL kind NUL, for each */
	int n;
};

static void prefix_cb(const struct link *l, void *arg)
{
	struct prefix_match *m = arg;
	if (l->name[0] && !strncmp(l->name, m->prefix, strlen(m->prefix))) {
		sb_add(&m->names, l->name, strlen(l->name) + 1);
		sb_add(&m->names, l->kind, strlen(l->kind) + 1);
		m->n++;
	}
}

int nl_links(struct nl *nl, const char *prefix,
	     void (*fn)(void *arg, const char *name, const char *kind), void *arg)
{
	struct prefix_match m = {prefix ? prefix : ""};
	int rc = links_dump(nl, 0, prefix_cb, &m);
	if (!rc && (rc = sb_err(&m.names)) == 0) {
		const char *p = m.names.p;
		for (int i = 0; i < m.n; i++) {
			const char *kind = p + strlen(p) + 1;
			fn(arg, p, kind);
			p = kind + strlen(kind) + 1;
		}
		rc = m.n;
	}
	sb_free(&m.names);
	return rc;
}

struct port_count {
	int master, n;
};

static void port_cb(const struct link *l, void *arg)
{
	struct port_count *c = arg;
	/* Checked here too: an older kernel ignores the dump's master filter. */
	if (l->master == c->master)
		c->n++;
}

int nl_bridge_ports(struct nl *nl, const char *bridge)
{
	struct port_count c = {0, 0};
	int rc;
	if ((rc = name_ok("bridge", bridge, NULL)))
		return rc;
	if ((c.master = link_index(nl, bridge)) < 0)
		return c.master;
	rc = links_dump(nl, c.master, port_cb, &c);
	return rc ? rc : c.n;
}
