/* The daemon's state as a whole: the model, this host's name, host/log, images/. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	char exe[4096];
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
static void kvm_check(struct vmfs *v)
{
	const char *dev = getenv("VMFS_KVM_DEVICE");
	kvm_probe(dev && *dev ? dev : "/dev/kvm", KVM_PROBE_MS, &v->m.kvm);
	if (v->m.kvm.verdict == KVM_WORKS && !(dev && *dev))
		kvm_probe_qemu("qemu-system-x86_64", 3000, &v->m.kvm);
	evlog_add(&v->log, "kvm %s: %s%s", kvm_verdict_name(v->m.kvm.verdict), v->m.kvm.why,
		  v->m.kvm.verdict == KVM_WORKS ? "" : " (VMs run under TCG emulation)");
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
	char images[4200];
	if (*conf->images)
		snprintf(images, sizeof(images), "%s", conf->images);
	else
		snprintf(images, sizeof(images), "%s/images", conf->state);
	int r = model_open(&v->m, conf->state, images, err, errlen);
	v->m.mountpoint = conf->mountpoint;
	cgroup_top(&v->m);
	if (r)
		return r;
	evlog_init(&v->log, v->m.statefd, "log");
	kvm_check(v);
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
	return 0;
}

void vmfs_fini(struct vmfs *v)
{
	run_fini(&v->m);
	net_close(&v->m);
	free(v->m.shim);
	imgtab_free(v->images);
	hoststats_free(v->stats);
	model_close(&v->m);
}
