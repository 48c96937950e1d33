/* What a VM may open: every disk, CD-ROM, kernel and initrd, and every file in a disk's
 * backing chain, must lie in images/ or in the VM's own state directory, checked before
 * qemu-img or QEMU opens any of it. vmfs opens each file it checked and QEMU (which runs as
 * the user vmfs and could open none of them) gets those descriptors: what was checked is
 * what QEMU reads, whatever happens to the names after. */
#ifndef VMFS_BACKING_H
#define VMFS_BACKING_H
#include "runtime/err.h"
#include "runtime/model.h"

#include <limits.h>
#include <stdint.h>

#include "runtime/vm.h"

#define CHAIN_MAX 16

/* What one file of a chain names, from its qemu-img info. */
struct backing_layer {
	char backing[PATH_MAX];    /* the next file, as QEMU resolves it; "" for none */
	char backing_format[32];   /* as recorded; "" if not (QEMU probes it) */
	char data_file[PATH_MAX];  /* a qcow2's external data file; "" for none */
	char format[16];           /* its own: qcow2 or raw */
	long long size;            /* the disk it holds, in bytes */
};
/* Parses `qemu-img info --output=json` of path: a relative backing file resolved beside
 * path. 0, or -EPERM (a format other than qcow2 and raw, a json: or protocol name, a relative
 * data file) or -EIO, with the reason in e. */
int backing_parse(const char *json, const char *path, struct backing_layer *l, struct err *e);

/* One file of a chain, open: fd read-only, rwfd read-write (-1 unless QEMU writes it),
 * datafd (and datarw) its qcow2 data file's (-1: none). */
struct vm_layer {
	int fd, rwfd, datafd, datarw;
	bool blockdev; /* a block device, not a file */
	char format[16];
	uint64_t size; /* the disk it holds, in bytes */
};
/* A disk top first, each layer backed by the next. */
struct vm_chain {
	struct vm_layer l[CHAIN_MAX + 1];
	int n;
};
/* Every file a start gives QEMU (-1, n 0: none). */
struct vm_files {
	int kernel, initrd;
	struct vm_chain cdrom, disk[VM_DISKS_MAX];
	int ndisks;
};
void vm_files_init(struct vm_files *f);
void vm_files_close(struct vm_files *f);

/* Checks and opens o's kernel, initrd, CD-ROM and disks with their chains (with
 * config/snapshot false, a disk's top for writing too). 0, or -EACCES (a file outside those
 * roots, a symbolic link out of them included) or -EPERM (a backing file that is not a plain
 * file name: json:, nbd:, ...) or qemu-img's error, with the reason in e. */
int vm_files_open(struct model *m, struct object *o, struct vm_files *f, struct err *e);
/* For a commit of o's first disk: its chain as it is now, every layer checked and open as
 * for a start, topped by the VM's overlay if overlay. The overlay is QEMU's to write: the
 * backing file its header names is never used (the checked chain is), and one naming a data
 * file is refused. 0, or -errno with the reason in e. */
int vm_commit_chain(struct model *m, struct object *o, bool overlay, struct vm_chain *c,
		    struct err *e);
void vm_chain_close(struct vm_chain *c);
/* With config/snapshot true, after the overlays were made: each disk's overlay, open for
 * writing, becomes the top of its chain. */
int vm_files_overlays(struct model *m, struct object *o, struct vm_files *f, struct err *e);
#endif
