/* The top of the tree: version, host/ (this machine) and hosts/ (cluster members). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "cluster/cdrain.h"
#include "cluster/chosts.h"
#include "cluster/cview.h"
#include "runtime/cgroup.h"
#include "runtime/net.h"
#include "runtime/vm.h"
#include "vmfs/kinds.h"
#include "vmfs/vreq.h"

int gen_version(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	sb_puts(out, "vmfs " VMFS_VERSION "\n");
	return 0;
}

/* Which cgroup layout containers use (probed once), and the cgroup2 tree that a hybrid
 * layout mounts beside the v1 controllers, where containers get a group too. */
static void cgroup_line(struct vmfs *v, struct sbuf *out)
{
	struct stat st;
	enum cg_mode m = cg_probe();
	sb_printf(out, "cgroup %s%s, groups under %s/NAMESPACE/NAME\n", cg_mode_name(m),
		  m == CG_V1 && stat("/sys/fs/cgroup/unified/cgroup.controllers", &st) == 0
			  ? " (hybrid layout: containers have a group in the cgroup2 tree at /sys/fs/cgroup/unified too)"
			  : m == CG_NONE ? " (no cgroups: containers cannot start)" : "",
		  v->m.cgroup_top);
	sb_printf(out, "cgroup_top %s\n", v->m.cgroup_top);
	sb_printf(out, "devices %s\n", cg_devices_name());
}

static void mem_line(struct sbuf *out, const char *key, unsigned long long bytes)
{
	sb_printf(out, "%s %.1fG\n", key, bytes / (1024.0 * 1024 * 1024));
}

/* Containers run in user namespaces unless config/privileged; where they cannot, a start
 * is refused, and this says why. */
static void userns_line(struct vmfs *v, struct sbuf *out)
{
	const struct userns_host *u = &v->m.userns;
	if (u->ok)
		sb_printf(out, "userns yes (%s %u+%u, %s)\n", USERNS_USER, u->r.uid, u->r.count,
			  u->why);
	else
		sb_printf(out, "userns no (%s)\n", u->why);
}

int gen_host_info(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	struct sysinfo si;
	char up[32];
	if (n->ch) { /* another host's, from its records in etcd */
		chosts_info_text(v->chosts, n->ch, out);
		return 0;
	}
	if (n->mb) { /* a member's, as it last answered, and how the head reaches it */
		sb_add(out, n->mb->info.p ? n->mb->info.p : "", n->mb->info.len);
		member_transport_text(n->mb, out);
		return 0;
	}
	sysinfo(&si);
	fmt_duration(time(NULL) - v->m.started, up);
	sb_printf(out, "name %s\n", v->hostname);
	sb_printf(out, "version vmfs %s\n", VMFS_VERSION);
	sb_printf(out, "cpus %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
	mem_line(out, "memory", (unsigned long long)si.totalram * si.mem_unit);
	mem_line(out, "memory_free", (unsigned long long)(si.freeram + si.bufferram) * si.mem_unit);
	sb_printf(out, "load %.2f %.2f %.2f\n", si.loads[0] / 65536.0, si.loads[1] / 65536.0,
		  si.loads[2] / 65536.0);
	/* the startup probe's verdict: only a KVM that ran a guest is used */
	if (v->m.kvm.verdict == KVM_WORKS)
		sb_printf(out, "kvm works (%s)\n", v->m.kvm.why);
	else
		sb_printf(out, "kvm %s: %s (VMs run under TCG emulation)\n",
			  kvm_verdict_name(v->m.kvm.verdict), v->m.kvm.why);
	char qu[300];
	vm_user_line(qu, sizeof(qu));
	sb_printf(out, "%s\n", qu);
	cgroup_line(v, out);
	userns_line(v, out);
	sb_printf(out, "network %s\n", net_mode(&v->m));
	sb_printf(out, "namespaces %zu\n", v->m.nns);
	sb_printf(out, "vms %llu\n", (unsigned long long)v->m.nobjs[OT_VM]);
	sb_printf(out, "containers %llu\n", (unsigned long long)v->m.nobjs[OT_CT]);
	sb_printf(out, "uptime %s\n", up);
	sb_printf(out, "pid %d\n", (int)getpid());
	sb_printf(out, "state %s\n", v->m.statedir);
	sb_printf(out, "images %s\n", v->m.imagedir);
	return 0;
}

int gen_host_top(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	if (n->ch) { /* another host's, from the claims and its records */
		size_t count[2] = {0, 0};
		if (v->cview)
			cview_host_counts(v->cview, n->ch->name, count);
		chosts_top_text(v->chosts, n->ch, count[OT_VM], count[OT_CT], out);
		return 0;
	}
	if (n->mb) { /* a member's, as it last answered */
		sb_add(out, n->mb->top.p ? n->mb->top.p : "", n->mb->top.len);
		return 0;
	}
	struct sysinfo si;
	sysinfo(&si);
	unsigned long long total = (unsigned long long)si.totalram * si.mem_unit;
	unsigned long long used = total - (unsigned long long)(si.freeram + si.bufferram) * si.mem_unit;
	/* hosts/H/top in a cluster: every host's row says how old its figures are */
	bool aged = v->chosts && n->e->kind == VK_MEMBER_TOP;
	sb_puts(out, aged ? CHOSTS_TOP_HEAD
			  : "host\tcpu%\tload1\tmem_used\tmem_total\tvms\tcontainers\n");
	sb_printf(out, "%s\t%.1f\t%.2f\t%lluM\t%lluM\t%llu\t%llu%s\n", v->hostname,
		  hoststats_cpu(v->stats), si.loads[0] / 65536.0, used >> 20, total >> 20,
		  (unsigned long long)v->m.nobjs[OT_VM], (unsigned long long)v->m.nobjs[OT_CT],
		  aged ? "\t0s" : "");
	return 0;
}

int gen_member_state(struct vmfs *v, const struct vnode *n, struct sbuf *out)
{
	if (v->chosts)
		chosts_state_text(v->chosts, n->ch, out);
	else if (n->mb)
		member_state_text(n->mb, out);
	else
		sb_puts(out, "up\n"); /* this host answers: it is the one serving this read */
	return 0;
}

int ctl_hosts(struct vmfs *v, struct vreq *q, char *line, struct sbuf *reply, char *err,
	      size_t errlen)
{
	static const struct ctl_cmd cmds[] = {
		{"add", 0, 2, 2, "add NAME PATH|ssh://USER@HOST/PATH|9p://HOST:PORT|9p+ssh://USER@HOST"},
		{"remove", 1, 1, 1, "remove NAME"},
		{"vxlan", 2, 2, 2, "vxlan VLAN_ID ADDR[,ADDR...]|none"},
		{"drain", 3, 1, 1, "drain HOST"},
		{"undrain", 3, 1, 1, "undrain HOST"},
		{"forget", 3, 1, 1, "forget HOST"},
	};
	char *argv[8];
	int argc = ctl_split(line, argv, 8, err, errlen);
	if (argc < 0)
		return argc;
	if (!ctl_lookup(cmds, ARRAY_SIZE(cmds), argc, argv, err, errlen))
		return -EINVAL;
	if (!strcmp(argv[0], "vxlan") && v->chosts) {
		snprintf(err, errlen,
			 "vxlan: this vmfs is a host of cluster %s on etcd: each host joins its VLANs "
			 "to the other hosts' by itself, from their records, not by hosts/ctl",
			 v->chosts->cluster);
		return -EPERM;
	}
	if (!strcmp(argv[0], "vxlan")) { /* from the head: this VLAN's bridge spans hosts */
		char *end;
		unsigned long vid = strtoul(argv[1], &end, 10);
		if (*end || vid < 1 || vid > 4094) {
			snprintf(err, errlen, "vxlan: \"%s\" is not a VLAN id (1 to 4094)", argv[1]);
			return -EINVAL;
		}
		return net_vxlan(&v->m, (unsigned)vid, strcmp(argv[2], "none") ? argv[2] : "", err,
				 errlen);
	}
	if (cdrain_verb(argv[0])) {
		if (v->chosts)
			return cdrain_start(v, argv, &q->wait, err, errlen);
		snprintf(err, errlen, "%s: only in a cluster on etcd (vmfs.conf's etcd and cluster)",
			 argv[0]);
		return -EOPNOTSUPP;
	}
	if (v->chosts) { /* hosts join by their own vmfs.conf; one way to make a cluster */
		snprintf(err, errlen,
			 "%s: this vmfs is a host of cluster %s on etcd: hosts join it by their own "
			 "vmfs.conf (etcd, cluster), not by hosts/ctl",
			 argv[0], v->chosts->cluster);
		return -EPERM;
	}
	if (!strcmp(argv[0], "add") && (!strcmp(argv[1], v->hostname) || !strcmp(argv[1], "localhost"))) {
		snprintf(err, errlen, "%s is this host", argv[1]);
		return -EEXIST;
	}
	for (size_t i = 0; !strcmp(argv[0], "add") && i < vtab_len; i++)
		if (vtab[i].parent == VK_HOSTS && vtab[i].name && !strcmp(argv[1], vtab[i].name)) {
			snprintf(err, errlen, "%s is a file of hosts/, not a name for a member", argv[1]);
			return -EEXIST; /* its directory would hide behind the file */
		}
	return !strcmp(argv[0], "add") ? cluster_add(&v->cl, argv[1], argv[2], err, errlen)
				       : cluster_remove(&v->cl, argv[1], err, errlen);
}
