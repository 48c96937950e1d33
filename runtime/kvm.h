/* Does KVM work here? A /dev/kvm can exist where guests hang (nested virtualisation on some
 * clouds, an old host kernel): QEMU would then hang at start, or run a guest that never
 * moves. So vmfs runs a tiny guest once at startup, bounded by a timeout, and only a guest
 * that ran makes `accel auto` choose KVM. */
#ifndef VMFS_KVM_H
#define VMFS_KVM_H

enum kvm_verdict { KVM_ABSENT, KVM_WORKS, KVM_BROKEN };

struct kvm_probe {
	enum kvm_verdict verdict;
	/* "a probe guest ran in 3 ms", "/dev/kvm: No such file or directory": one line of
	 * host/info, sent whole through the prober's pipe, so of a fixed size; a longer
	 * reason is cut with runtime/err.h's mark */
	char why[200];
	unsigned ms;   /* how long the probe took */
};

/* Runs a tiny real guest on dev (normally "/dev/kvm") in a detached process, bounded by
 * timeout_ms. Never blocks longer than timeout_ms, never leaves a zombie, even if the prober
 * is stuck in the kernel: the caller waits only on an intermediate child that exits at
 * once; the prober (its child, reparented to init) is SIGKILLed on timeout. A dev that does
 * not exist is ABSENT without any child. */
void kvm_probe(const char *dev, int timeout_ms, struct kvm_probe *out);
/* Then, if KVM works: starts QEMU (stopped) as VMs run it (-cpu host) and waits for it to
 * answer over QMP, within timeout_ms; a QEMU that aborts on this KVM makes it BROKEN. */
void kvm_probe_qemu(const char *qemu, int timeout_ms, struct kvm_probe *p);
/* Then: boots kernel (the default image's) on KVM as VMs do; no banner on its serial line
 * within timeout_ms makes it BROKEN. The verdict is kept in the file cache for the rest of
 * the host's boot. Nothing happens if kernel does not exist. */
void kvm_probe_boot(const char *qemu, const char *kernel, const char *cache, int timeout_ms,
		    struct kvm_probe *p);
/* From now on the probes run as QEMU's user (runtime/vmuser.c), as VMs will: a /dev/kvm that
 * user cannot open (not in group kvm) is then no KVM for VMs either. Not for a test's device. */
void kvm_probe_as_qemu_user(void);
const char *kvm_verdict_name(enum kvm_verdict v); /* "absent", "works", "broken" */
#endif
