/* The host user QEMU runs as (vmfs, made by setup). A QEMU that its guest takes over is
 * then that user, without capabilities, under its seccomp filter, instead of root. QEMU's
 * own -runas cannot be used: it changes user after its sandbox forbade setuid (SIGSYS), so
 * vmfs's child drops to the user itself, just before exec. VMFS_QEMU_USER names another
 * user (tests); VMFS_QEMU_USER=root keeps QEMU root, which is unsafe and said so. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/vm.h"

#define GROUPS_MAX 64

static struct {
	bool found, root;
	uid_t uid;
	gid_t gid;
	gid_t groups[GROUPS_MAX];
	int ngroups;
	char name[64], why[200];
} qu;

static const char *wanted(void)
{
	const char *u = getenv("VMFS_QEMU_USER");
	return u && *u ? u : "vmfs";
}

/* Looked up again while not found: setup may make the user after vmfs started. */
static void lookup(void)
{
	if (qu.found)
		return;
	snprintf(qu.name, sizeof(qu.name), "%s", wanted());
	if (!strcmp(qu.name, "root")) {
		qu.found = qu.root = true;
		return;
	}
	struct passwd *pw = getpwnam(qu.name);
	if (!pw) {
		snprintf(qu.why, sizeof(qu.why), "no host user %s: run ./setup (scripts/mkuser) to "
			 "make it", qu.name);
		return;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		snprintf(qu.why, sizeof(qu.why), "the host user %s is uid or gid 0: not an "
			 "unprivileged user", qu.name);
		return;
	}
	qu.uid = pw->pw_uid;
	qu.gid = pw->pw_gid;
	qu.ngroups = GROUPS_MAX;
	if (getgrouplist(qu.name, qu.gid, qu.groups, &qu.ngroups) < 0) {
		snprintf(qu.why, sizeof(qu.why), "the host user %s is in more than %d groups",
			 qu.name, GROUPS_MAX);
		return;
	}
	for (int i = 0; i < qu.ngroups; i++)
		if (qu.groups[i] == 0) {
			snprintf(qu.why, sizeof(qu.why), "the host user %s is in group root", qu.name);
			return;
		}
	qu.found = true;
}

int vm_user(uid_t *uid, gid_t *gid, char *why, size_t whylen)
{
	lookup();
	if (!qu.found) {
		snprintf(why, whylen, "QEMU's user: %s; VMs do not start (VMFS_QEMU_USER=root would "
			 "run QEMU as root: unsafe)", qu.why);
		return -EPERM;
	}
	*uid = qu.root ? 0 : qu.uid;
	*gid = qu.root ? 0 : qu.gid;
	return 0;
}

void vm_user_line(char *out, size_t len)
{
	lookup();
	if (!qu.found)
		snprintf(out, len, "qemu user: none (%s; VMs do not start)", qu.why);
	else if (qu.root)
		snprintf(out, len, "qemu user: root (VMFS_QEMU_USER=root: unsafe, a QEMU its guest "
			 "takes over is root)");
	else
		snprintf(out, len, "qemu user: %s (uid %d)", qu.name, (int)qu.uid);
}

bool vm_user_may(const struct stat *st, mode_t bit)
{
	lookup();
	if (!qu.found)
		return false;
	if (qu.root)
		return true;
	if (st->st_uid == qu.uid) /* the owner's bits alone count for the owner */
		return st->st_mode & (bit << 6);
	bool member = st->st_gid == qu.gid;
	for (int i = 0; i < qu.ngroups && !member; i++)
		member = qu.groups[i] == st->st_gid;
	return st->st_mode & (member ? bit << 3 : bit);
}

int vm_user_drop(void)
{
	if (!qu.found)
		return -EPERM;
	if (qu.root)
		return 0;
	/* no capability may come back through an exec of a file that has some (up to 63: the
	 * running kernel may know more than these headers; EINVAL past its last) */
	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	if (setgroups(qu.ngroups, qu.groups) < 0 || setresgid(qu.gid, qu.gid, qu.gid) < 0 ||
	    setresuid(qu.uid, qu.uid, qu.uid) < 0)
		return -errno;
	/* setresuid from root to others clears the permitted and effective sets; make sure */
	if (setuid(0) == 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -EPERM;
	return 0;
}
