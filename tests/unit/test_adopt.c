/* runtime/adopt.c: which processes a restarted vmfs takes for its own, from their command
 * lines: its shims and QEMUs (prefix and run directory under its state directory), never
 * another vmfs's, an older shim without the prefix, or a command that merely names the path. */
#include <stdbool.h>

#include "runtime/run.h"
#include "tests/unit/tap.h"

static char got[BUILT_PATH_MAX];
static bool qemu;

static bool owner(const char *statedir, const char *prefix, int argc, char **argv)
{
	got[0] = 0;
	return run_cmdline_owner(statedir, prefix, argv, argc, &qemu, got, sizeof(got));
}

int main(void)
{
	char *shim[] = {"vmfs-shim", "/s/ns/default/containers/c1/run", "3", "vmfs-1a2b3c4d"};
	ok(owner("/s", "vmfs-1a2b3c4d", 4, shim) && !qemu, "a shim of ours is ours");
	is_str(got, "/s/ns/default/containers/c1/run", "its run directory is its first word");
	ok(!owner("/s", "vmfs", 4, shim), "a shim with another prefix is not");
	ok(!owner("/s2", "vmfs-1a2b3c4d", 4, shim), "nor one under another state directory");
	ok(!owner("/s/ns/default", "vmfs-1a2b3c4d", 4, shim), "nor one the state directory only contains");
	ok(!owner("/s", "vmfs-1a2b3c4d", 3, shim), "a shim without the prefix word is not found by its command line");
	char *full[] = {"/usr/lib/vmfs/vmfs-shim", "/s/ns/a/containers/x/run", "3", "vmfs"};
	ok(owner("/s", "vmfs", 4, full), "a shim run by its full path is ours too");

	char *q[] = {"qemu-system-x86_64", "-name", "w1,process=vmfs-1a2b3c4d-w1", "-daemonize",
		     "-chardev", "socket,id=ser0,path=console.sock,server=on,wait=off,logappend=on,"
				 "logfile=/s/ns/lab/vms/w1/run/console.log",
		     "-serial", "chardev:ser0"};
	ok(owner("/s", "vmfs-1a2b3c4d", 8, q) && qemu, "a QEMU of ours is ours");
	is_str(got, "/s/ns/lab/vms/w1/run", "its run directory comes from its console's logfile");
	ok(!owner("/s", "vmfs", 8, q), "with the prefix vmfs, another vmfs's QEMU (vmfs-HASH-...) is not ours");
	ok(!owner("/t", "vmfs-1a2b3c4d", 8, q), "nor one whose console is under another state directory");
	q[2] = "w2,process=vmfs-1a2b3c4d-w2";
	ok(!owner("/s", "vmfs-1a2b3c4d", 8, q), "nor one whose process name is not its run directory's VM");
	q[2] = "w1,process=vmfs-1a2b3c4d-w1,debug-threads=on";
	ok(owner("/s", "vmfs-1a2b3c4d", 8, q), "more -name options after process= are fine");
	char *old[] = {"qemu-system-x86_64", "-name", "w1,process=vmfs-w1", "-chardev",
		       "socket,id=ser0,path=console.sock,server=on,wait=off,logfile=console.log,logappend=on"};
	ok(!owner("/s", "vmfs", 5, old), "a QEMU of an older vmfs (relative logfile) is not found by its command line");
	char *comma[] = {"qemu-system-x86_64", "-name", "w,process=vmfs-w", "-chardev",
			 "socket,id=ser0,path=console.sock,logappend=on,logfile=/a,,b/ns/d/vms/w/run/console.log"};
	ok(owner("/a,b", "vmfs", 5, comma), "a comma in the state directory is QEMU's doubled comma");
	is_str(got, "/a,b/ns/d/vms/w/run", "... and read back single");
	char *fds[] = {"qemu-system-x86_64", "-name", "w1,process=vmfs-w1", "-add-fd",
		       "fd=12,set=3,opaque=/s/ns/lab/vms/w1/run/console.log", "-chardev",
		       "socket,id=ser0,fd=11,server=on,wait=off,logfile=/dev/fdset/3,logappend=on"};
	ok(owner("/s", "vmfs", 7, fds) && qemu, "a QEMU given its console log as a descriptor is found by the fd set's note");
	is_str(got, "/s/ns/lab/vms/w1/run", "its run directory comes from the note");
	char *fds2[] = {"qemu-system-x86_64", "-name", "w1,process=vmfs-w1", "-chardev",
			"socket,id=ser0,fd=11,server=on,wait=off,logfile=/dev/fdset/3,logappend=on",
			"-add-fd", "fd=12,set=3,opaque=/s/ns/lab/vms/w1/run/console.log"};
	ok(owner("/s", "vmfs", 7, fds2), "... whichever comes first");
	fds[4] = "fd=12,set=3,opaque=/etc/console.log";
	ok(!owner("/s", "vmfs", 7, fds), "a note outside the state directory is not ours");
	char *grep[] = {"grep", "/s/ns/default/containers/c1/run", "3", "vmfs-1a2b3c4d"};
	ok(!owner("/s", "vmfs-1a2b3c4d", 4, grep), "a command that names the path is not ours");
	char *none[] = {"vmfs-shim"};
	ok(!owner("/s", "vmfs", 1, none) && !owner("/s", "vmfs", 0, none), "short command lines are not ours");
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
