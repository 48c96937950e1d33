/* hangfs [--deaf] MOUNTPOINT [-f]: a FUSE file system with one file, `kvm`, whose open
 * is never answered, so open(2) of it blocks. It stands in for a /dev/kvm whose guests hang,
 * for the KVM probe's tests. The low-level API, because it lets a request go unanswered
 * without holding a thread.
 *
 * A killed opener sends FUSE_INTERRUPT; hangfs answers it with EINTR, as a well-behaved
 * file system does, and the opener dies. Once the kernel has handed a request to the file
 * system, SIGKILL alone does not end the wait (fs/fuse/dev.c request_wait_answer): with
 * --deaf hangfs ignores the interrupt, and the opener stays stuck in the kernel (state D)
 * until hangfs exits. That is the prober "stuck in the kernel" for good. */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KVM_INO 2

static int stat_of(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else if (ino == KVM_INO) {
		st->st_mode = S_IFREG | 0666;
		st->st_nlink = 1;
	} else
		return -1;
	return 0;
}

static void hang_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e = {.ino = KVM_INO, .attr_timeout = 1, .entry_timeout = 1};
	if (parent != FUSE_ROOT_ID || strcmp(name, "kvm"))
		fuse_reply_err(req, ENOENT);
	else {
		stat_of(KVM_INO, &e.attr);
		fuse_reply_entry(req, &e);
	}
}

static void hang_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	if (stat_of(ino, &st) < 0)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &st, 1);
}

static int deaf;

static void on_interrupt(fuse_req_t req, void *data) { fuse_reply_err(req, EINTR); }

static void hang_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* no reply but to an interrupt: the opener waits in the kernel until it is killed */
	if (!deaf)
		fuse_req_interrupt_func(req, on_interrupt, NULL);
}

static const struct fuse_lowlevel_ops hang_ops = {
    .lookup = hang_lookup,
    .getattr = hang_getattr,
    .open = hang_open,
};

int main(int argc, char *argv[])
{
	if (argc > 1 && !strcmp(argv[1], "--deaf")) {
		deaf = 1;
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct fuse_session *se = NULL;
	int rc = 1;
	if (fuse_parse_cmdline(&args, &opts) != 0)
		return 1;
	if (!opts.mountpoint) {
		fprintf(stderr, "usage: hangfs [--deaf] MOUNTPOINT [-f]\n");
		goto out;
	}
	se = fuse_session_new(&args, &hang_ops, sizeof(hang_ops), NULL);
	if (!se || fuse_set_signal_handlers(se) != 0)
		goto out;
	if (fuse_session_mount(se, opts.mountpoint) == 0) {
		fuse_daemonize(opts.foreground);
		rc = fuse_session_loop(se) < 0 ? 1 : 0; /* > 0: the signal that ended it */
		fuse_session_unmount(se);
	}
	fuse_remove_signal_handlers(se);
out:
	if (se)
		fuse_session_destroy(se);
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return rc;
}
