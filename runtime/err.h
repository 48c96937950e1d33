/* One error carrier for runtime/: an errno and the reason in words, as one value that goes
 * up the call chain by pointer, each level putting what it was doing in front (err_wrap).
 * Before it, reasons went as (char *err, size_t errlen) into buffers of many sizes and were
 * copied from one to the next, each copy able to cut the reason without a trace.
 *
 * Why a fixed buffer and not a growing string (struct sbuf): an error is often made where
 * memory may have run out, and a carrier that needs no allocation and no free can be declared
 * on the stack (`struct err e;`) and forgotten on every path, as the old buffers were.
 * ERR_WHY_MAX holds two PATH_MAX paths and a sentence, more than any reason runtime/ writes,
 * so a cut is a bug to be seen, never hidden: a reason that does not fit ends in ERR_CUT,
 * cut at a character (never inside a UTF-8 sequence), and e->cut is set.
 *
 * The convention: a function that can fail takes `struct err *e` last and returns 0 or
 * -errno; on failure it has filled e, usually as `return err_set(e, EINVAL, "...")`. A
 * caller adds context with `return err_wrap(e, "bridge %s", name)`. e is not read on
 * success and need not be initialised.
 *
 * Moving the rest of runtime/ to it: netlink.c, vlan.c and net.c carry struct err inside; so
 * do the lifecycle (lifecycle.c, lifecycle_batch.c), the backends (backend.h's operations,
 * container.c, qemu.c), what a VM's start and commit check and make (backing.c, vmdisk.c,
 * disk.c), its screenshots (screen.c, vmscreen.c) and a container's cgroup (cgroup.c), down to
 * net_start, nl_tap_open, run_gone, vm_qmp and cg_freeze. Entry points that files not moved
 * yet call still take (why, whylen) and fill it once with err_result (vlan_pin, vlan_remove,
 * vlan_claim_net, net_vxlan, net_host_tap; lifecycle_do_many, lifecycle_batch_end, vm_commit,
 * vm_job_result, vm_screenshot, vm_qmp_user; cg_create and cg_attach, which vmfs-shim calls;
 * and lifecycle_do, lifecycle_legal and lifecycle_remove beside their _err variants), so no
 * caller had to change. Move one caller at a time: give it a struct err, call the err variant
 * (vlan_claim for vlan_claim_net) or change the entry point's signature once all its callers
 * carry one, and drop the copy at that boundary. A callee not moved yet can write into e->why
 * directly (err_took): qmp.c (qmp_run, which bench/vms calls too), vmuser.c, imgrights.c,
 * cgdev.c and userns.c (the last two called by vmfs-shim too, whose reasons cross a pipe in
 * fixed buffers) are next, then object.c, model.c and param.c, whose (err, errlen) the front
 * ends pass. At the doors (vmfs/, web/) the reason is written once into the reply or the log;
 * err_out is for that last copy only (and for a one-line summary of fixed size: info's exit
 * line, host/info's kvm line). The ctl/ parsers stay on (err, errlen): pure functions with
 * short reasons, called with a buffer. */
#ifndef VMFS_ERR_H
#define VMFS_ERR_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/limits.h>

#define ERR_WHY_MAX (2 * PATH_MAX + 512)
#define ERR_CUT "\xe2\x80\xa6(cut)" /* "…(cut)" */

struct err {
	int no;   /* a positive errno; 0 if nothing failed */
	bool cut; /* why did not fit whole and ends in ERR_CUT */
	char why[ERR_WHY_MAX];
};

/* Sets errno no (either sign: a -errno return passes as it is) and the reason; returns -no. */
int err_set(struct err *e, int no, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* err_set from a va_list, for a helper that puts a prefix of its own (err_wrap after). */
int err_vset(struct err *e, int no, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* The same, the reason followed by ": " and no's text (strerror). */
int err_sys(struct err *e, int no, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Puts "CONTEXT: " in front of the reason, keeping its errno; returns -e->no. */
int err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Nothing failed (yet): no 0, why "". */
void err_clear(struct err *e);
/* The boundary to code still on (buf, len): copies the reason, ending in ERR_CUT if it does
 * not fit; returns -e->no. */
int err_out(const struct err *e, char *buf, size_t len);
/* The same for an entry point's result r (0 or -errno): on failure the reason goes to buf,
 * the errno's text where no one set one (e was err_clear'd first). Returns r. */
int err_result(struct err *e, int r, char *buf, size_t len);
/* A callee that was given e err_clear'd returned r (0 or -errno): on failure without a
 * reason (a bare -ENOMEM), e gets the errno's text. Returns r. */
int err_ensure(struct err *e, int r);
/* A callee still on (buf, len) was given e->why and sizeof(e->why) and returned r (0 or
 * -errno): e takes its errno. Returns r. */
int err_took(struct err *e, int r);
#endif
