/* What the tree asks of a VM beyond the lifecycle verbs: its disks, commit, the screen,
 * VNC and raw QMP. The lifecycle itself is runtime/qemu.c. */
#ifndef VMFS_VM_H
#define VMFS_VM_H
#include "runtime/err.h"
#include "runtime/model.h"

#include <sys/stat.h>

#define VM_DISKS_MAX 16
/* run/qemu: QEMU's working directory, its user's, the one place it can make files in (its
 * VNC socket, screen dumps). Everything else in run/ is root's: QEMU gets descriptors. */
#define QEMU_DIR "qemu"
/* QEMU's VNC server listens on VNC_SOCKET in QEMU_DIR; with config/vnc-listen an address,
 * display N also on its port 5900 + N, behind the password in VNC_SECRET (in run/). */
#define VNC_SOCKET "vnc.sock"
#define VNC_SECRET "vnc.secret"
#define VNC_PORT(d) (5900 + (d))
#define VNC_DISPLAYS 1000

/* One entry of config/disk: "path[,interface][,cache]". */
struct vm_disk {
	char path[BUILT_PATH_MAX];  /* what QEMU opens: the image, or the VM's overlay over it */
	char image[BUILT_PATH_MAX]; /* the image itself */
	const char *iface, *cache;
};
/* Parses config/disk (paths made absolute). Returns the number of disks. */
int vm_disks(struct model *m, struct object *o, struct vm_disk *d, int max);
/* Before a start: with config/snapshot true, makes the per-VM overlays that are missing
 * (kept across stop and start, removed with the VM) over the images checked and open in f.
 * 0 or -errno with the reason in e. */
struct vm_files;
int vm_disks_prepare(struct model *m, struct object *o, const struct vm_files *f, struct err *e);
/* ctl "commit IMAGE": the VM's first disk, as it is now, becomes images/IMAGE. A running
 * VM is paused for the copy (QMP stop flushes its writes) and resumed after. The copy runs
 * in the background: -EINPROGRESS once it started, and o->job_wq wakes when it ended. */
int vm_commit(struct model *m, struct object *o, const char *image, char *err, size_t errlen);
/* The last commit's outcome: -EINPROGRESS while it runs, else 0 or -errno with the reason. */
int vm_job_result(struct object *o, char *err, size_t errlen);
/* Stops a running commit (the VM is removed, or vmfs exits): the partial image goes. */
void vm_job_cancel(struct model *m, struct object *o, const char *why);
/* After a vmfs restart: undoes a commit the killed vmfs left half-done (run/commit): its
 * qemu-img ended, its partial image removed, the VM resumed if the commit paused it. */
void vm_job_recover(struct model *m, struct object *o);

/* screenshot.png (maxdim 0) and thumbnail.png: the screen now, as PNG, appended to png.
 * -ENODEV for a VM without a display, -EBUSY for one that is not running. */
int vm_screenshot(struct model *m, struct object *o, unsigned maxdim, struct sbuf *png,
		  char *err, size_t errlen);
/* Whether o has a display (a VGA adapter on a machine that takes one); why not if not. */
bool vm_has_display(const struct object *o, char *why, size_t whylen);

/* The host user QEMU runs as (runtime/vmuser.c): its uid and gid, or -EPERM with the reason
 * (no such user: VMs do not start). */
int vm_user(uid_t *uid, gid_t *gid, char *why, size_t whylen);
/* host/info's "qemu user: vmfs (uid N)" or "qemu user: none (why)". */
void vm_user_line(char *out, size_t len);
/* Whether QEMU's user may read (bit S_IROTH) or write (S_IWOTH) a file of st by its mode,
 * as the kernel decides it for a name or /proc/self/fd/N: owner, else its groups (kvm
 * among them), else others. Root (VMFS_QEMU_USER=root) may all. */
bool vm_user_may(const struct stat *st, mode_t bit);
/* In the child about to exec QEMU: no capabilities (none can come back), that user's groups
 * (kvm among them) and uid. 0, or -errno: the child must not exec. */
int vm_user_drop(void);

/* The password of a running VM's VNC port (config/vnc-listen not none); 0 or -errno. */
int vm_vnc_password(struct model *m, struct object *o, char *pw, size_t pwlen);

/* Runs one QMP command on run/qmp.sock (5 s at most); 0 or -errno with the reason. */
int vm_qmp(struct model *m, struct object *o, const char *cmd, struct err *e);
/* The qmp file: runs one QMP command (a JSON object with "execute") for the user. */
int vm_qmp_user(struct model *m, struct object *o, const char *cmd, struct sbuf *reply,
		char *err, size_t errlen);
#endif
