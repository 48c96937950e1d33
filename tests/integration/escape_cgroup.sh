#!/usr/bin/env bash
# Escapes through cgroups, /proc and /sys, and through the state directory, tried from inside
# a container started with the defaults and as an unprivileged host user (nobody). Every one
# must fail; each line says which defence stopped it. The attacks inside run as one script
# (probe.sh, below) that the test puts into the container's root and starts from its console;
# its answers come back in a file of the container's root. The userns+cgroupns attack needs
# unshare(CLONE_NEWCGROUP), which busybox lacks: a small static helper does it. The devices
# part proves the cgroup v2 device program alone refuses what the v1 list would.
. "$(dirname "$0")/lib.sh"
need_root
use_busybox_image
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) is missing"
D=$M/ns/default
C=$D/containers
G=
groups_of() { # every group of this vmfs, leaves last
	[ -n "$G" ] && find /sys/fs/cgroup/ -maxdepth 6 -type d -path "*/$G*" 2>/dev/null | sort -r
}
scrub() {
	local g i
	if [ -n "$VMFS_PID" ] && [ -e "$D/ctl" ]; then
		echo "kill all" >"$D/ctl" 2>/dev/null
		echo "flush all" >"$D/ctl" 2>/dev/null
	fi
	kill_ours
	for i in $(seq 20); do
		for g in $(groups_of); do
			[ -e "$g/freezer.state" ] && echo THAWED >"$g/freezer.state" 2>/dev/null
			[ -e "$g/cgroup.kill" ] && echo 1 >"$g/cgroup.kill" 2>/dev/null
			rmdir "$g" 2>/dev/null
		done
		[ -z "$(groups_of)" ] && break
		sleep 0.2
	done
}
EXTRA_CLEANUP=scrub

# --- the helper: unshare(USER|NS|CGROUP), map root to root, then mount cgroupfs and see
cat >"$T/cgview.c" <<'EOF'
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
static void put(const char *f, const char *v)
{
	int fd = open(f, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, v, strlen(v)) < 0)
			perror(f);
		close(fd);
	}
}
/* prints what the mount at /mnt holds: groups (dirs), cgroup.kill files, and each limit
 * file it finds, which it tries to raise to no limit at all */
static void look(const char *dir, int depth)
{
	static const char *const lim[][2] = {
	    {"memory.max", "max"},	      {"memory.swap.max", "max"},
	    {"pids.max", "max"},	      {"cpu.max", "max"},
	    {"memory.limit_in_bytes", "-1"}, {"memory.memsw.limit_in_bytes", "-1"},
	    {"cpu.cfs_quota_us", "-1"}};
	char p[512];
	struct dirent *e;
	DIR *d = opendir(dir);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR && depth < 4) {
			printf("group %s\n", p);
			look(p, depth + 1);
		} else if (strcmp(e->d_name, "cgroup.kill") == 0) {
			printf("kill %s\n", p);
		}
		for (size_t i = 0; i < sizeof lim / sizeof *lim; i++) {
			if (strcmp(e->d_name, lim[i][0]))
				continue;
			int fd = open(p, O_WRONLY);
			int r = fd < 0 ? -1 : (int)write(fd, lim[i][1], strlen(lim[i][1]));
			printf("limit %s %s\n", p, r > 0 ? "raised" : strerror(errno));
			if (fd >= 0)
				close(fd);
		}
	}
	if (d)
		closedir(d);
}
int main(void)
{
	static const char *const v1[] = {"memory", "pids", "cpu", "freezer", "devices",
					 "none,name=systemd"};
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP) < 0) {
		printf("unshare refused: %s\n", strerror(errno));
		return 0;
	}
	put("/proc/self/uid_map", "0 0 1");
	put("/proc/self/setgroups", "deny");
	put("/proc/self/gid_map", "0 0 1");
	if (mount("none", "/mnt", "cgroup2", 0, NULL) < 0) {
		printf("cgroup2 mount refused: %s\n", strerror(errno));
	} else {
		printf("cgroup2 mounted\n");
		look("/mnt", 0);
		umount("/mnt");
	}
	for (size_t i = 0; i < sizeof v1 / sizeof *v1; i++) {
		if (mount("none", "/mnt", "cgroup", 0, v1[i]) < 0) {
			printf("v1 %s mount refused: %s\n", v1[i], strerror(errno));
			continue;
		}
		printf("v1 %s mounted\n", v1[i]);
		look("/mnt", 0);
		umount("/mnt");
	}
	/* with whatever it raised: 400 MB, over config/memory's 256M */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		size_t n = 400u << 20;
		char *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		for (size_t i = 0; m != MAP_FAILED && i < n; i += 4096)
			m[i] = 1;
		_exit(m == MAP_FAILED ? 2 : 0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st))
		printf("hog killed by signal %d\n", WTERMSIG(st));
	else
		printf("hog exited %d\n", WEXITSTATUS(st));
	return 0;
}
EOF
cc -static -O -o "$T/cgview" "$T/cgview.c" 2>"$T/cc.err" || { cat "$T/cc.err"; echo "not ok 1 - build the helper"; exit 1; }

# --- the probe, run inside: one line per attempt, "NAME: RESULT"
cat >"$T/probe.sh" <<'EOF'
exec >/tmp/probe.out 2>&1
echo "cgroup: $(cat /proc/self/cgroup | tr '\n' ' ')"
echo "sysfscg: $(ls -A /sys/fs/cgroup | tr '\n' ' ')"
for f in memory.max pids.max cpu.max cgroup.kill cgroup.procs memory.limit_in_bytes; do
	for p in /sys/fs/cgroup/$f /sys/fs/cgroup/*/$f; do
		[ -e "$p" ] || continue
		echo "cgwrite $p: $( (cat /dev/null >>"$p") 2>&1 && echo WRITABLE)"
	done
done
echo "cgmkdir: $(mkdir /sys/fs/cgroup/x 2>&1 && echo MADE)"
echo "cgmount: $(mount -t cgroup2 none /mnt 2>&1 && echo MOUNTED)"
echo "firmware: $(ls -A /sys/firmware | wc -l) $(cat /sys/firmware/acpi/tables/DSDT 2>/dev/null | wc -c)"
for p in acpi asound kcore keys latency_stats timer_list timer_stats sched_debug scsi; do
	[ -e /proc/$p ] || { echo "mask /proc/$p: absent"; continue; }
	if [ -d /proc/$p ]; then echo "mask /proc/$p: dir $(ls -A /proc/$p | wc -l)"
	else echo "mask /proc/$p: $(stat -c %t:%T /proc/$p) $(cat /proc/$p 2>/dev/null | wc -c)"; fi
done
[ -e /sys/devices/virtual/powercap ] && echo "mask /sys/devices/virtual/powercap: dir $(ls -A /sys/devices/virtual/powercap | wc -l)"
for p in bus fs irq sys sysrq-trigger; do
	[ -e /proc/$p ] || { echo "ro /proc/$p: absent"; continue; }
	echo "ro /proc/$p: $(awk -v p=/proc/$p '$5==p {split($6, o, ","); print o[1]}' /proc/self/mountinfo)"
done
f=$(find /proc/fs -type f -perm -200 2>/dev/null | head -1)
echo "procfs write: ${f:-none} $( [ -n "$f" ] && { (cat /dev/null >>"$f") 2>&1 && echo WRITABLE; })"
echo "procfs touch: $(touch /proc/fs/x 2>&1 && echo MADE)"
echo "procsys write: $( (cat /proc/sys/kernel/domainname >/tmp/d && cat /tmp/d >/proc/sys/kernel/domainname) 2>&1 && echo WRITTEN)"
/tmp/cgview | sed 's/^/userns: /'
echo "setuid: $(cp /bin/busybox /busybox-suid && chmod 4755 /busybox-suid && echo made)"
touch /tmp/probe.done
EOF

mkdir -p "$S"
chmod 0755 "$S" # as an earlier vmfs left it: to be tightened at start
chmod 0711 "$T" # others may pass through the test's directory, so what follows is not vacuous
echo visible >"$T/control"
chmod 0644 "$T/control"
vmfs_start --images "$T/images" || exit 1
G=$(cg_top)
mkdir "$C/jail"
echo false >"$C/jail/config/snapshot" # writes go into the image itself: the setuid attack
ok "start a container with its image writable (snapshot false)" "$XWRITE" "$C/jail/ctl" start
ipid=$(awk '$1=="pid"{print $2}' "$C/jail/info")
ok "its console is up" wait_for 5 console_has "$C/jail" "is up"
root=$T/images/busybox
cp "$T/probe.sh" "$T/cgview" "$root/tmp/"
pids_before=$(cat /sys/fs/cgroup/pids/"$G"/default/jail/pids.max /sys/fs/cgroup/"$G"/default/jail/pids.max 2>/dev/null | head -1)
cpu_before=$(cat /sys/fs/cgroup/cpu/"$G"/default/jail/cpu.cfs_quota_us /sys/fs/cgroup/"$G"/default/jail/cpu.max 2>/dev/null | head -1)
echo "sh /tmp/probe.sh" >"$C/jail/console"
ok "the probe ran inside" wait_for 30 test -e "$root/tmp/probe.done"
P=$(cat "$root/tmp/probe.out" 2>/dev/null)
printf '%s\n' "$P" | sed 's/^/# inside: /'
got() { printf '%s\n' "$P" | awk -v k="$1:" 'index($0, k)==1 {sub(k " ?", ""); print}'; }

# --- cgroups, from inside
cg=$(got cgroup)
like "$cg" "0::/ " "/proc/self/cgroup shows 0::/ : a cgroup namespace rooted at the container's group"
is "$(printf '%s\n' $cg | grep -v ':/$')" "" "... every hierarchy shows / ($(printf '%s\n' $cg | wc -l) lines): no other group can be named"
bad=0
while read -r g; do
	[ "${g#*:*:}" = "/$G/default/jail/container" ] || { bad=$((bad + 1)); echo "# not its own: $g"; }
done </proc/"$ipid"/cgroup
is "$bad" "0" "seen from the host, init is in a group of its own (jail/container) in all $(wc -l </proc/"$ipid"/cgroup) hierarchies (the unified one included)"
is "$(printf '%s\n' "$P" | grep '^cgwrite' | grep -c WRITABLE)" "0" \
	"no cgroup file under /sys/fs/cgroup can be opened for writing ($(printf '%s\n' "$P" | grep -c '^cgwrite') tried; read-only)"
like "$(got cgmkdir)" "Read-only file system|No such file" "mkdir in /sys/fs/cgroup fails: read-only (or absent: $(got sysfscg | wc -w) entries there)"
like "$(got cgmount)" "[Nn]ot permitted|[Pp]ermission denied" "mount of cgroup2 fails: no CAP_SYS_ADMIN"
U=$(printf '%s\n' "$P" | sed -n 's/^userns: //p')
if printf '%s\n' "$U" | grep -q '^unshare refused'; then
	ok "unshare(USER|NS|CGROUP) is refused (seccomp): $(printf '%s\n' "$U" | head -1)" true
else
	ok "control: in a user namespace of its own, the container mounted cgroup2" \
		grep -q '^cgroup2 mounted' <<<"$U"
	is "$(printf '%s\n' "$U" | grep '^group ')" "" \
		"... and in every hierarchy it mounted ($(printf '%s\n' "$U" | grep -c 'mounted$')), no group but its own: no host group, no sibling, no parent"
	is "$(printf '%s\n' "$U" | grep -c '^kill ')" "$(printf '%s\n' "$U" | grep -c '^cgroup2 mounted')" \
		"... one cgroup.kill per cgroup2 view, its own: no other group's processes can be killed"
	echo "# limits it could raise, its own group's, one level below those that bound it: $(printf '%s\n' "$U" | grep -c '^limit .* raised$')"
	is "$(printf '%s\n' "$U" | grep '^hog ')" "hog killed by signal 9" \
		"... which changes nothing: 400 MB touched after raising them is OOM-killed at config/memory's 256M"
fi
leaf() { cat /sys/fs/cgroup/"$1"/"$G"/default/jail/"$2" /sys/fs/cgroup/"$G"/default/jail/"$2" 2>/dev/null | head -1; }
is "$(leaf memory memory.limit_in_bytes)$(leaf . memory.max)" "268435456" "the memory limit is still config/memory's 256M"
is "$(leaf pids pids.max)" "$pids_before" "pids.max is still $pids_before"
is "$(leaf cpu cpu.cfs_quota_us)$(leaf . cpu.max)" "$cpu_before" "the CPU quota is still $cpu_before"

# --- /proc and /sys, from inside
fw=$(got firmware)
is "${fw%% *}" "0" "/sys/firmware is masked: empty inside (the host's has $(ls -A /sys/firmware | wc -l) entries)"
is "${fw#* }" "0" "... the ACPI tables cannot be read"
masks=$(printf '%s\n' "$P" | grep '^mask ')
is "$(printf '%s\n' "$masks" | grep -Ev ': (absent|dir 0|1:3 0)$')" "" \
	"masked where present ($(printf '%s\n' "$masks" | grep -vc absent) of $(printf '%s\n' "$masks" | wc -l)): empty directories, /dev/null over files"
if [ -e /proc/kcore ]; then
	is "$(got 'mask /proc/kcore')" "1:3 0" "/proc/kcore is /dev/null inside"
else
	is "$(got 'mask /proc/kcore')" "absent" "/proc/kcore is absent on this kernel, and inside"
fi
ros=$(printf '%s\n' "$P" | grep '^ro ')
is "$(printf '%s\n' "$ros" | grep -Ev ': (absent|ro)$')" "" \
	"read-only mounts: $(printf '%s\n' "$ros" | grep -c ': ro$') of /proc/{bus,fs,irq,sys,sysrq-trigger} (the rest absent here)"
like "$(got 'procfs touch')" "Read-only file system|Permission denied|No such file" "nothing can be created in /proc/fs"
like "$(got 'procfs write')" "^none|Read-only file system" "no file of /proc/fs can be opened for writing ($(got 'procfs write' | cut -d' ' -f1))"
like "$(got 'procsys write')" "Read-only file system" "/proc/sys cannot be written"

# --- devices: the cgroup v2 program alone stops them. The v1 list of the container's group
# (where there is one) is opened to every device by the test, then the program is detached
# as a control: the same attempts then succeed, so it was the program that refused them.
bpfq() { # bpfq query|detach DIR: BPF_PROG_QUERY (prints the count) or BPF_PROG_DETACH of BPF_CGROUP_DEVICE
	python3 - "$@" <<'PY'
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
SYS_bpf, PROG_DETACH, PROG_QUERY, CGROUP_DEVICE = 321, 9, 16, 6
fd = os.open(sys.argv[2], os.O_RDONLY | os.O_DIRECTORY)
if sys.argv[1] == "query":  # target_fd, attach_type, query_flags, attach_flags, prog_ids, prog_cnt
    attr = ctypes.create_string_buffer(struct.pack("=IIIIQI", fd, CGROUP_DEVICE, 0, 0, 0, 0), 120)
    r = libc.syscall(SYS_bpf, PROG_QUERY, attr, 120)
    print(struct.unpack_from("=I", attr.raw, 24)[0] if r == 0 else "error %d" % ctypes.get_errno())
else:  # target_fd, attach_bpf_fd, attach_type
    attr = ctypes.create_string_buffer(struct.pack("=III", fd, 0, CGROUP_DEVICE), 120)
    sys.exit(libc.syscall(SYS_bpf, PROG_DETACH, attr, 120) != 0)
PY
}
v2leaf=/sys/fs/cgroup/$G/default/jail
[ -e /sys/fs/cgroup/unified/cgroup.controllers ] && v2leaf=/sys/fs/cgroup/unified/$G/default/jail
v1leaf=/sys/fs/cgroup/devices/$G/default/jail
DISK=$(host_disk | cut -d' ' -f1,2)
ok "a block device of the host that root on the host opens: ${DISK:-none}" test -n "$DISK"
like "$(awk '$1 == "devices"' "$M/host/info")" "program" "host/info names the device program: $(awk '$1 == "devices"' "$M/host/info")"
is "$(bpfq query "$v2leaf")" "1" "one device program is attached to the container's cgroup v2 group"
if [ -e "$v1leaf/devices.list" ]; then
	for g in "$v1leaf" "$v1leaf/container"; do
		echo 'c *:* rwm' >"$g/devices.allow" && echo 'b *:* rwm' >"$g/devices.allow"
	done
	like "$(cat "$v1leaf/container/devices.list")" "b \*:\* rwm" "the test opens the v1 list of the container's group to every device: the program stands alone"
fi
mknod "$root/tmp/esc-disk" b $DISK
mknod "$root/tmp/esc-null" c 1 3
mknod "$root/tmp/esc-console" c 5 1
cat >"$root/tmp/devprobe.sh" <<EOS
exec >/tmp/dev.out 2>&1
for n in null disk console; do echo "open \$n: \$( (: </tmp/esc-\$n) 2>&1 && echo OPENED)"; done
echo "mknod: \$(mknod /tmp/esc-made b $DISK 2>&1 && echo MADE)"
rm -f /tmp/esc-made
touch /tmp/dev.done
EOS
devprobe() { # runs devprobe.sh from the console; D: its answers
	rm -f "$root/tmp/dev.done"
	echo "sh /tmp/devprobe.sh" >"$C/jail/console"
	wait_for 10 test -e "$root/tmp/dev.done"
	DEVOUT=$(cat "$root/tmp/dev.out" 2>/dev/null)
	printf '%s\n' "$DEVOUT" | sed 's/^/# inside: /'
}
devprobe
like "$DEVOUT" "open null: OPENED" "control: a /dev/null node in its root opens (the root is not nodev)"
like "$DEVOUT" "open disk: .*Operation not permitted" "a block device of the host ($DISK, which root on the host opens) does not open: the v2 device program"
like "$DEVOUT" "open console: .*Operation not permitted" "nor the host's console (5 1)"
like "$DEVOUT" "mknod: .*Operation not permitted" "no block node can be made (mknod b $DISK)"
ok "control: the test detaches the program (BPF_PROG_DETACH)" bpfq detach "$v2leaf"
is "$(bpfq query "$v2leaf")" "0" "... none is attached now"
devprobe
like "$DEVOUT" "open disk: OPENED" "... and the same open of that block device succeeds: the program was what refused it"
# mknod stays refused: in a user namespace (the default) the kernel makes no device node,
# whatever the group allows (tests/unit/test_cgdev shows the program refusing it to host root)
like "$DEVOUT" "mknod: .*Operation not permitted" "... but not the mknod: the user namespace refuses every device node"
rm -f "$root/tmp/esc-"* "$root/tmp/devprobe.sh" "$root/tmp/dev."*

# --- the host, as an unprivileged user
not() { ! "$@"; }
# setpriv keeps its capabilities until execve has resolved the path: a shell first
nob() { setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c '"$@"' sh "$@"; }
ok "control: nobody reaches a 0644 file of the test's directory" nob cat "$T/control"
is "$(stat -c %a "$S")" "700" "the state directory, made 0755 before, is 0700 now"
like "$(cat "$M/host/log")" "state directory $S was mode 0755.*now 0700" "... and host/log says so"
is "$(stat -c %a "$T/images")" "700" "the image store is 0700"
ok "nobody cannot list the state directory" not nob ls "$S"
ok "nobody cannot enter it" not nob cd "$S"
ok "nobody cannot reach the container's run directory" not nob ls "$S/ns/default/containers/jail/run"
is "$(got setuid)" "made" "control: the container wrote a setuid-root busybox into its image"
ok "... it is there, setuid root, on the host" test -u "$root/busybox-suid" -a "$(stat -c %u "$root/busybox-suid")" = 0
is "$("$root/busybox-suid" id -u)" "0" "control: run by root on the host, it says uid 0"
ok "nobody cannot run it" not nob "$root/busybox-suid" id -u
ok "nobody cannot run anything in images/" not nob "$root/bin/busybox" true
ok "nobody cannot list images/" not nob ls "$T/images"
rm -f "$root/busybox-suid" "$root/tmp/probe."* "$root/tmp/cgview"

# --- the end: every group goes, the unified one included
ok "kill the container" "$XWRITE" "$C/jail/ctl" kill
ok "its groups are gone from every hierarchy" wait_for 10 sh -c "! find /sys/fs/cgroup/ -maxdepth 5 -path '*/$G/default/jail' | grep -q ."
ok "flush all" "$XWRITE" "$D/ctl" "flush all"
vmfs_stop
ok "no group of this vmfs is left" sh -c "! find /sys/fs/cgroup/ -maxdepth 3 -name '$G' | grep -q ."
done_testing
