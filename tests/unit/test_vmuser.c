/* runtime/vmuser.c: QEMU's host user, what host/info says of it, and the drop in a child. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include "runtime/vm.h"
#include "tests/unit/tap.h"

/* In a child: what it sees of itself after the drop, as "UID GID NNP BND" (BND: capabilities
 * left in its bounding set). */
static void child_drop(int out)
{
	char line[128];
	int e = vm_user_drop(), bnd = 0;
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		bnd += prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1;
	int n = snprintf(line, sizeof(line), "%d %d %d %d %d", e, (int)getuid(), (int)getgid(),
			 prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), bnd);
	_exit(write(out, line, n) == n ? 0 : 1);
}

int main(void)
{
	char line[300], why[300];
	uid_t uid;
	gid_t gid;

	setenv("VMFS_QEMU_USER", "vmfs-no-such-user", 1);
	vm_user_line(line, sizeof(line));
	is_str(line, "qemu user: none (no host user vmfs-no-such-user: run ./setup (scripts/mkuser) "
		     "to make it; VMs do not start)", "no such user: host/info says none, and why");
	ok(vm_user(&uid, &gid, why, sizeof(why)) == -EPERM, "a start is refused (EPERM)");
	ok(strstr(why, "VMFS_QEMU_USER=root") != NULL, "saying how to run as root anyway");
	ok(vm_user_drop() == -EPERM, "and a child would not exec");

	pid_t p = fork();
	if (p == 0) { /* a child: the lookup is done once found */
		setenv("VMFS_QEMU_USER", "root", 1);
		vm_user_line(line, sizeof(line));
		_exit(strncmp(line, "qemu user: root (VMFS_QEMU_USER=root: unsafe", 44) ||
		      vm_user(&uid, &gid, why, sizeof(why)) || uid || gid || vm_user_drop());
	}
	int st;
	ok(p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && !WEXITSTATUS(st),
	   "VMFS_QEMU_USER=root: QEMU stays root, and host/info says it is unsafe");

	struct passwd *pw = getpwnam("vmfs");
	ok(pw != NULL, "the host user vmfs exists (./setup makes it)");
	ok(getuid() == 0, "running as root (the drop needs it)");
	if (!pw || getuid() != 0)
		return tap_done();
	unsetenv("VMFS_QEMU_USER");
	uid_t vu = pw->pw_uid;
	gid_t vg = pw->pw_gid;
	vm_user_line(line, sizeof(line));
	char want[64];
	snprintf(want, sizeof(want), "qemu user: vmfs (uid %d)", (int)vu);
	is_str(line, want, "the user vmfs: its name and uid");
	ok(vm_user(&uid, &gid, why, sizeof(why)) == 0 && uid == vu && gid == vg, "its uid and gid");
	struct group *kvm = getgrnam("kvm");
	ok(kvm != NULL, "the group kvm exists (QEMU's user is in it)");
	struct stat fs = {.st_uid = 0, .st_gid = kvm ? kvm->gr_gid : 0, .st_mode = S_IFREG | 0664};
	ok(vm_user_may(&fs, S_IWOTH), "a file group-writable by kvm: QEMU's user may write it");
	fs.st_mode = S_IFREG | 0646;
	ok(!vm_user_may(&fs, S_IWOTH), "its group's bits count, not the others' (as the kernel has it)");
	fs.st_gid = 0;
	ok(vm_user_may(&fs, S_IWOTH), "writable by others: it may");
	fs.st_mode = S_IFREG | 0640;
	ok(!vm_user_may(&fs, S_IROTH), "root's, group root, 0640: it may not read");
	fs.st_uid = vu;
	fs.st_mode = S_IFREG | 0400;
	ok(vm_user_may(&fs, S_IROTH) && !vm_user_may(&fs, S_IWOTH), "its own file: the owner's bits");
	int pp[2];
	if (pipe(pp))
		return 1;
	p = fork();
	if (p == 0) {
		close(pp[0]);
		child_drop(pp[1]);
	}
	close(pp[1]);
	char got[128] = "";
	ssize_t n = read(pp[0], got, sizeof(got) - 1);
	got[n > 0 ? n : 0] = 0;
	waitpid(p, &st, 0);
	snprintf(want, sizeof(want), "0 %d %d 1 0", (int)vu, (int)vg);
	is_str(got, want, "a child drops to it: its uid and gid, no_new_privs, an empty bounding set");
	return tap_done();
}
