/* The daemon's state as a whole: the model, this host's name, host/log, images/. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/chostw.h"
#include "cluster/cvlan.h"
#include "runtime/cgroup.h"
#include "runtime/net.h"
#include "runtime/run.h"
#include "vmfs/kinds.h"

#define KVM_PROBE_MS 1500 /* a working KVM runs the probe guest in a few ms */

/* Two vmfs on one kernel (tests, cluster members on one machine) must not share cgroups:
 * the default state directory gets "vmfs", any other a name derived from its path. */
static void cgroup_top(struct model *m)
{
	uint32_t h = 2166136261u;
	for (const char *p = m->statedir; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	if (!strcmp(m->statedir, "/var/lib/vmfs"))
		snprintf(m->cgroup_top, sizeof(m->cgroup_top), "vmfs");
	else
		snprintf(m->cgroup_top, sizeof(m->cgroup_top), "vmfs-%08x", h);
	cg_set_top(m->cgroup_top);
}

/* vmfs-shim lives beside the vmfs binary (the build and `make install` put it there);
 * VMFS_SHIM overrides, for tests of other builds. */
static char *shim_path(void)
{
	const char *env = getenv("VMFS_SHIM");
	if (env && *env)
		return strdup(env);
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 16);
	if (n <= 0)
		return strdup("vmfs-shim");
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	strcpy(slash + 1, "vmfs-shim");
	return strdup(exe);
}

/* Once, before any VM starts: a /dev/kvm whose guests hang must not hang every start.
 * VMFS_KVM_DEVICE names another device, for tests. */
#define KVM_BOOT_CACHE "/run/vmfs-kvm-boot"

static void kvm_check(struct vmfs *v)
{
	const char *dev = getenv("VMFS_KVM_DEVICE");
	if (!(dev && *dev))
		kvm_probe_as_qemu_user();
	kvm_probe(dev && *dev ? dev : "/dev/kvm", KVM_PROBE_MS, &v->m.kvm);
	if (v->m.kvm.verdict == KVM_WORKS && !(dev && *dev))
		kvm_probe_qemu("qemu-system-x86_64", 3000, &v->m.kvm);
	if (v->m.kvm.verdict == KVM_WORKS && !(dev && *dev)) {
		char kernel[BUILT_PATH_MAX];
		model_image_path(&v->m, "vmlinuz", kernel, sizeof(kernel));
		kvm_probe_boot("qemu-system-x86_64", kernel, KVM_BOOT_CACHE, 3000, &v->m.kvm);
	}
	evlog_add(&v->log, "kvm %s: %s%s", kvm_verdict_name(v->m.kvm.verdict), v->m.kvm.why,
		  v->m.kvm.verdict == KVM_WORKS ? "" : " (VMs run under TCG emulation)");
}

/* What the model moved aside (or removed half-made) while loading, now that host/log is open. */
static void damage_log(struct vmfs *v)
{
	char *save = NULL;
	for (char *l = v->m.damage.p ? strtok_r(v->m.damage.p, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save))
		evlog_add(&v->log, "%s", l);
	sb_free(&v->m.damage);
}

/* ns/NS/hosts names this host or members. */
static int host_check(void *arg, const char *name)
{
	struct vmfs *v = arg;
	return !strcmp(name, v->hostname) || !strcmp(name, "localhost") || cluster_find(&v->cl, name)
		   ? 0
		   : -ENOENT;
}

/* members = NAME=URL ... in vmfs.conf: added unless members.conf has them already. */
static void members_from_conf(struct vmfs *v, const char *list)
{
	char buf[4096], err[512];
	snprintf(buf, sizeof(buf), "%s", list);
	char *save = NULL;
	for (char *m = strtok_r(buf, " \t", &save); m; m = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(m, '=');
		if (!eq) {
			evlog_add(&v->log, "error: vmfs.conf: members: \"%s\" is not NAME=URL", m);
			continue;
		}
		*eq = 0;
		if (!cluster_find(&v->cl, m) && cluster_add(&v->cl, m, eq + 1, err, sizeof(err)))
			evlog_add(&v->log, "error: vmfs.conf: members: %s: %s", m, err);
	}
}

int vmfs_init(struct vmfs *v, struct vmfs_conf *conf, char *err, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	v->conf = conf;
	v->owner = getuid();
	v->group = getgid();
	if (gethostname(v->hostname, sizeof(v->hostname)) < 0 || !v->hostname[0] ||
	    name_check(v->hostname, err, errlen))
		snprintf(v->hostname, sizeof(v->hostname), "localhost");
	char images[BUILT_PATH_MAX];
	if (*conf->images)
		snprintf(images, sizeof(images), "%s", conf->images);
	else
		snprintf(images, sizeof(images), "%s/images", conf->state);
	int r = net_subscribe(&v->m);
	if (!r)
		r = model_open(&v->m, conf->state, images, err, errlen);
	v->m.mountpoint = conf->mountpoint;
	cgroup_top(&v->m);
	if (r)
		return r;
	evlog_init(&v->log, v->m.statefd, "log");
	damage_log(v);
	kvm_check(v);
	userns_probe(&v->m.userns, v->m.imagedir);
	evlog_add(&v->log, "userns %s (%s)", v->m.userns.ok ? "yes" : "no", v->m.userns.why);
	v->m.shim = shim_path();
	if (!v->m.shim || (r = run_init(&v->m)) < 0) {
		snprintf(err, errlen, "cannot watch run directories: %s", strerror(r < 0 ? -r : ENOMEM));
		return r < 0 ? r : -ENOMEM;
	}
	net_open(&v->m, conf->uplink);
	net_sweep(&v->m);
	evlog_add(&v->log, "network: %s", net_mode(&v->m));
	v->images = imgtab_new();
	v->stats = hoststats_new();
	if (!v->images || !v->stats)
		return -ENOMEM;
	if ((r = cluster_open(&v->cl, &v->m, &v->log, conf->sshfs_options, err, errlen)))
		return r;
	v->m.host_check = host_check;
	v->m.host_check_arg = v;
	v->m.vlan_cluster = cvlan_cluster_id; /* (0 while this host is not on etcd) */
	v->m.vlan_cluster_arg = v;
	members_from_conf(v, conf->members);
	return 0;
}

void vmfs_fini(struct vmfs *v)
{
	chostw_free(v->chostw);
	v->chostw = NULL;
	cluster_close(&v->cl);
	run_fini(&v->m);
	net_close(&v->m);
	free(v->m.shim);
	imgtab_free(v->images);
	hoststats_free(v->stats);
	model_close(&v->m);
}
