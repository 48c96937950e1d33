/* no_new_privs and the container's system-call filter, the last step before exec, once the
 * shim needs no privilege any more. The filter (Docker's default profile, plus TIOCSTI and
 * TIOCLINUX refused) is compiled by libseccomp at build time from the table in
 * gen/seccomp_gen.c, into seccomp_bpf.h; here it is only loaded (docs/security.md). */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/shim/seccomp_bpf.h"
#include "runtime/shim/shim_int.h"

static int load(const struct sock_filter *prog, size_t len, const char *what, char *err)
{
	struct sock_fprog fp = {.len = (unsigned short)len, .filter = (struct sock_filter *)prog};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) < 0)
		return shim_fail(err, NULL, "load the %s filter", what);
	return 0;
}

#define LOAD(prog, what, err) load(prog, sizeof(prog) / sizeof(*prog), what, err)

int seccomp_confine(char *err)
{
	/* nothing init execs can gain privileges (setuid, file capabilities), and the filter
	 * may be loaded without CAP_SYS_ADMIN, which the container does not have */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return shim_fail(err, NULL, "set no_new_privs");
	const char *off = getenv("VMFS_SHIM_SECCOMP");
	if (off && !strcmp(off, "off")) {
		/* the benchmark's comparison only; said on the console so it is never silent */
		fprintf(stderr, "vmfs-shim: VMFS_SHIM_SECCOMP=off: no system-call filter\n");
		return 0;
	}
	if (LOAD(seccomp_allow, "system-call", err))
		return -1;
	return LOAD(seccomp_tty, "terminal ioctl", err);
}
