/* Shared by the vmfs-shim sources only (shim.h is the contract with vmfs). */
#ifndef VMFS_SHIM_INT_H
#define VMFS_SHIM_INT_H
#include <stdbool.h>
#include <sys/types.h>

#include "runtime/cgroup.h"
#include "runtime/shim/shim.h"
#include "runtime/userns.h"
#include "runtime/util.h"

#define ERRLEN 512	/* a reason in words, as written to READYFD and exit */
#define SPEC_MAXARGS 64 /* words of init= */
#define SPEC_MAXVOL 64	/* volume= lines */
#define SPEC_MAXFIFO 64 /* fifos= */

struct volume {
	const char *host, *guest;
	bool ro;
};

/* The spec file, parsed; the strings point into buf. */
struct spec {
	char *buf;
	const char *ns, *name, *hostname, *rootfs, *preinit;
	/* a rootfs in the image store: the store and rootfs's path in it, so the shim finds it
	 * beneath the store by descriptor (a user who owns a folder there may swap it) */
	const char *imagedir, *image;
	const char *netns; /* a network namespace vmfs made and bound here, NULL: a new one */
	const char *usernsfile; /* userns: the user namespace vmfs made (owning netns), or NULL */
	bool snapshot;
	bool userns;		/* userns= given: a user namespace mapping ur, idmapped root */
	struct userns_range ur;
	char *init[SPEC_MAXARGS + 1];
	struct cg_limits lim;
	unsigned fifos;
	struct volume vol[SPEC_MAXVOL];
	int nvol;
};

/* Everything the shim holds. The child of clone() gets a copy and uses the same fields. */
struct shim {
	const char *rundir; /* absolute; the shim's cwd is this directory */
	char root[BUILT_PATH_MAX]; /* rundir + "/root" */
	struct spec spec;
	int readyfd;
	pid_t init;	 /* host pid of the container's init, 0 once reaped */
	int init_status; /* its wait status */
	bool root_mounted, cg_made;
	int master, slave; /* the console pty; the shim keeps the slave open too */
	char slave_path[64];
	int logfd; /* console.log */
	unsigned long long logsize;
	int listenfd;	  /* console.sock */
	int sigfd;	  /* SIGCHLD, SIGTERM, SIGINT */
	int errpipe[2];	  /* child -> shim: setup errors; a successful exec closes it */
	int syncpipe[2];  /* shim -> child: "you are in the cgroup, go on" */
	int netnsfd;      /* spec.netns opened, for the child's setns; -1 if none */
	/* userns, in the child: what it opens in RUNDIR (0700, host root's) before it becomes
	 * the namespace's root, which may not look in there; -1 if not */
	int rootfd, fifofd;
	char err[ERRLEN]; /* why the start failed, "" if it did not */
};

/* Formats "what: strerror(errno)" (plus a hint if non-NULL) into err; returns -1. */
int shim_fail(char *err, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Formats a plain message into err; returns -1. */
int shim_msg(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* spec.c */
int spec_load(struct spec *s, char *err);

/* console.c */
int console_open(struct shim *sh, char *err);
int console_pump(struct shim *sh); /* pty -> console.log; 1: more may be waiting */
int console_listen(struct shim *sh, char *err);
int console_attach(struct shim *sh, char *err); /* in the child: the pty becomes stdio */

/* main.c: the error pipe has said how the start went (sh->err empty: init runs). */
void shim_started(struct shim *sh);

/* loop.c: runs until init has been reaped. */
void shim_loop(struct shim *sh);

/* fs.c: the root (in the host's mount namespace) and the container's mounts. */
int fs_mount_root(struct shim *sh, char *err);
int fs_make_fifos(struct shim *sh, char *err);
int fs_setup(struct shim *sh, char *err); /* in the child, before pivot_root */
/* Paths inside the root, resolved as if it were / (RESOLVE_IN_ROOT): an O_PATH fd. */
int fs_open_in(int rootfd, const char *path);
/* The same, created when missing (and its parents): a directory, or an empty file. */
int fs_in_root(int rootfd, const char *path, bool dir, char *err);
/* mount(2) on what fd names, through /proc/self/fd/N. */
int fs_mount_fd(const char *src, int fd, const char *type, unsigned long flags, const char *data);
/* Mounts on path inside the root; returns an fd of the new mount's root, or -1. */
int fs_mount_in(int rootfd, const char *path, bool dir, const char *src, const char *type,
		unsigned long flags, const char *data, char *err);
/* Makes the bind mount fd names read-only, keeping its other flags. */
int fs_remount_ro(int fd, const char *what, char *err);

/* kfs.c: the kernel's file systems as the container sees them (/proc, /sys, /dev). */
int kfs_proc(int rootfd, char *err);
int kfs_sys(int rootfd, char *err);
int kfs_dev(struct shim *sh, int rootfd, char *err);

/* setup.c: the child of clone(), which becomes init. */
pid_t setup_spawn(struct shim *sh, char *err);
/* In the child: brings lo up (setup.c). */
int setup_lo_up(char *err);
/* config/preinit, run and waited for: by init (nsfd -1) or, in userns mode, by the shim in
 * init's namespaces (nsfd: a pidfd of init). */
int setup_preinit(struct shim *sh, int nsfd, char *err);

/* userns.c (the shim's part): init cloned inside vmfs's user and network namespaces
 * (spec usernsfile, netns) with flags, as the shim's child. Returns its pid, 0 in init,
 * -1 with err. */
pid_t shim_clone_joined(struct shim *sh, unsigned long flags, char *err);
int setup_become_root(char *err);
/* fs.c, in userns mode: the root is a detached tree (the idmapped image, or an overlay over
 * it) moved onto RUNDIR/root; usernsfd carries the mapping. */
int fs_mount_root_idmapped(struct shim *sh, int rootfd, int usernsfd, char *err);

/* caps.c */
int caps_drop(char *err);

/* seccomp.c: no_new_privs and the system-call filter, the last step before exec. */
int seccomp_confine(char *err);
#endif
