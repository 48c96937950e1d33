#!/usr/bin/env bash
# Escapes from a container started with the defaults (docs/security.md lists the attacks).
# Every attack must fail, and each check says which defence stopped it. Calls that only a
# raw system call can make come from tests/tools/escape.c, built static here and put into
# the test's copy of the busybox image with a small agent as init: the agent runs each
# line written to the container's fifo/0 with sh and answers on fifo/1, ending with "=RC"
# (no console echo to sort out). The same binary runs on the host as a control: there,
# unconfined, the call gets through, so the refusal inside is the container's doing.
#
# Adding an attack: a section below ("# --- WHAT"), with `inside CMD` (sets OUT and RC),
# `refused DESC DEFENCE CMD` (CMD must fail inside) or `attack "NAME [ARG]" ERRNO DEFENCE
# [host]` (tests/tools/escape.c NAME must print ERRNO inside; with "host", and succeed on the
# host). Each attack names the defence that stops it today in its own line, or in one of the
# DEF_* variables below when several share it: after containers move into user namespaces
# some of these become "the user namespace"; the checks themselves only require the attack to
# fail. As an unprivileged host user (nobody), the attacks on the container's processes, its
# run directory and its files in the tree are here; those on the state directory and image
# store are in escape_cgroup.sh, those on a VM's VNC socket in escape_vm.sh.
. "$(dirname "$0")/lib.sh"
need_root
use_busybox_image
command -v gcc >/dev/null || skip_all "needs gcc to build tests/tools/escape.c"
D=$M/ns/default
C=$D/containers
IMG=$T/images/busybox

gcc -static -O2 -o "$IMG/bin/escape" "$ROOT/tests/tools/escape.c" ||
	{ echo "not ok 1 - gcc -static tests/tools/escape.c"; exit 1; }
fifo_agent "$IMG/bin/escape-agent" "escape agent up" # init: see lib.sh

skip() { # skip DESC REASON
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
}
EXTRA_CLEANUP='kill_flush_all "$D"'

# A failed redirection on a special builtin (":") ends a non-interactive sh, the agent
# included: such commands go in a subshell.
# inside CMD [SECONDS]: CMD run by the agent in the container $IN ("jail" unless set); OUT:
# its output, RC: its exit status ("none" if the agent did not answer in time).
inside() { fifo_run "$C/${IN:-jail}" "$1" "${2:-10}"; }
verdict() { # verdict OK DESC [DETAIL...]: one TAP line, with details on failure
	local good=$1 desc=$2
	shift 2
	TAP_N=$((TAP_N + 1))
	if [ "$good" = 1 ]; then
		echo "ok $TAP_N - $desc"
		return
	fi
	echo "not ok $TAP_N - $desc"
	printf '#   %s\n' "$@"
	TAP_FAIL=$((TAP_FAIL + 1))
}
# refused DESC DEFENCE CMD: CMD must fail inside
refused() {
	inside "$3"
	local good=0
	[ "$RC" != none ] && [ "$RC" != 0 ] && good=1
	verdict $good "$1: refused ($(printf '%s' "$OUT" | head -n 1 | cut -c1-60)), stopped by $2" \
		"inside: $3" "status: $RC" "output: $(printf '%s' "$OUT" | head -n 3)"
}
# attack "NAME [ARG]" ERRNO DEFENCE [host]: escape NAME [ARG] inside must print "NAME ERRNO"
attack() {
	local name=${1%% *} want=$2 defence=$3 host='' good=0
	inside "/bin/escape $1"
	if [ "${4:-}" = host ]; then
		host=$("$IMG/bin/escape" $1 2>&1)
		[ "$RC" = 1 ] && [ "$OUT" = "$name $want" ] && [ "$host" = "$name OK" ] && good=1
		verdict $good "$1 inside: $want, stopped by $defence (on the host, unconfined: ${host#"$name "})" \
			"inside: $OUT (status $RC)" "host: $host"
	else
		[ "$RC" = 1 ] && [ "$OUT" = "$name $want" ] && good=1
		verdict $good "$1 inside: $want, stopped by $defence" "inside: $OUT (status $RC)"
	fi
}

# Device nodes the attacker would like to find in its root: a disk of the host that root on
# the host opens, and /dev/null as a control (the root is not nodev, so a refusal is the
# devices cgroup's).
hd=$(host_disk) || { echo "not ok 1 - a block device of the host that root opens"; exit 1; }
set -- $hd
DISK=$1:$2 DISKNAME=$3
mknod "$IMG/tmp/escape-disk" b "$1" "$2"
mknod "$IMG/tmp/escape-null" c 1 3
HOSTIF=$(ip route show default 2>/dev/null | awk '{print $5; exit}')
HOSTIF=${HOSTIF:-$(ip -o link | awk -F': ' '$2 != "lo" {print $2; exit}')}
chmod 0711 "$T" # nobody may pass through to the mount: the refusals below are not vacuous
# xwrite as nobody runs: a checkout may lie in a directory only root enters (CI's mktemp -d)
install -m 0755 "$XWRITE" "$T/xwrite"
NXWRITE=$T/xwrite

vmfs_start --images "$T/images" -o allow_other || exit 1
G=$(cg_top)
for n in jail sib; do
	mkdir "$C/$n"
	echo 2 >"$C/$n/config/fifo"
	echo /bin/escape-agent >"$C/$n/config/init"
	ok "start container $n with the defaults (the agent as init)" "$XWRITE" "$C/$n/ctl" start
	ok "its agent is up" wait_for 10 console_has "$C/$n" "escape agent up"
done
ipid=$(awk '$1=="pid"{print $2}' "$C/jail/info")
shim=$(awk '{print $4}' "/proc/$ipid/stat")
leaf() { # leaf FILE: the value in the container's own group (v1 controller dirs, or v2)
	cat /sys/fs/cgroup/*/"$G"/default/jail/"$1" /sys/fs/cgroup/"$G"/default/jail/"$1" 2>/dev/null | head -1
}
# The defences several attacks share (see the comment at the top).
DEF_MOUNT="seccomp (mount calls need CAP_SYS_ADMIN, which is not kept)"
DEF_DEV="the devices cgroup: $(awk '$1 == "devices" {sub(/^devices /, ""); print}' "$M/host/info")"
DEF_PROCSYS="the read-only bind mount of /proc/sys"
DEF_PIDNS="the PID namespace (no host process has a number inside)"
inside 'echo ready-$((6*7))'
is "$RC:$OUT" "0:ready-42" "commands reach the container and their output comes back"

# --- seccomp and no_new_privs
inside 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status'
is "$(printf '%s\n' "$OUT" | awk '{print $1 $2}' | sort | paste -sd' ')" "NoNewPrivs:1 Seccomp:2" \
	"/proc/self/status inside: Seccomp 2 (a filter) and NoNewPrivs 1"
inside 'sh -c "echo forked" && ls / >/dev/null && ping -c1 -W1 127.0.0.1 >/dev/null; echo $?'
is "$RC:$(printf '%s\n' "$OUT" | paste -sd' ')" "0:forked 0" \
	"control: fork, exec, ls and ping (a raw socket) still work under the filter"
inside '/bin/escape thread'
is "$RC:$OUT" "0:thread OK" "control: threads work (glibc's clone3 gets ENOSYS and falls back to clone)"

# --- the kernel keyring (not namespaced: host root's keys would be reachable)
attack keyctl EPERM "seccomp (keyctl is not in the allowlist)" host
attack add_key EPERM "seccomp (add_key is not in the allowlist)" host

# --- kernel interfaces with a history of escapes
attack io_uring_setup EPERM "seccomp (io_uring_* are not in the allowlist)" host
attack perf_event_open EPERM "seccomp (perf_event_open needs CAP_SYS_ADMIN or CAP_PERFMON)" host
attack bpf EPERM "seccomp (bpf needs CAP_SYS_ADMIN or CAP_BPF; behind it, the missing CAP_BPF)" host

# --- user namespaces (where root regains every capability)
attack unshare-user EPERM "seccomp (unshare needs CAP_SYS_ADMIN)" host
attack clone-user EPERM "seccomp (clone with a CLONE_NEW* flag)" host
attack clone3-user ENOSYS "seccomp (clone3 refused as absent, so the C library uses clone)" host
refused "unshare -U (busybox)" "seccomp" 'unshare -U true'

# --- the 32-bit x86 entry (int 0x80): refused as a whole
if [ "$("$IMG/bin/escape" ia32-getpid 2>&1)" = "ia32-getpid OK" ]; then
	attack ia32-getpid EPERM "seccomp (a foreign architecture: only the native ABI is allowed)" host
else
	skip "ia32-getpid: refused inside" "this kernel has no 32-bit x86 entry"
fi

# --- the host's console
inside 'stat -c %t:%T /dev/console; stat -Lc %t /proc/self/fd/0'
is "$(printf '%s\n' "$OUT" | paste -sd' ')" "88:$(printf '%s' "$OUT" | head -n 1 | cut -d: -f2) 88" \
	"/dev/console inside is the container's own pty (major 136), as is init's stdin"
attack tiocsti EPERM "seccomp (ioctl TIOCSTI refused on any terminal)"
attack tiocsti-high EPERM "seccomp (the request is compared on its low 32 bits, as the kernel reads it)"
if [ -e "/sys/fs/cgroup/devices/$G/default/jail/devices.list" ]; then
	list=$(cat "/sys/fs/cgroup/devices/$G/default/jail/devices.list")
	is "$(printf '%s\n' "$list" | grep -E '^(a|c 5:1) ')" "" "the devices cgroup (v1) does not allow 5:1 (the host's console)"
fi
attack console EPERM "$DEF_DEV"
inside 'ls /tmp/escape-console'
is "$RC" "1" "... and no node was left behind"

# --- release_agent: a cgroup v1 hierarchy mounted, release_agent set, notify_on_release on
attack "mount-cgroup memory" EPERM "$DEF_MOUNT"
attack "mount-cgroup none,name=escape" EPERM "$DEF_MOUNT"
refused "find a release_agent to write" "no v1 hierarchy is mounted inside (/sys is a read-only sysfs)" \
	'ls /sys/fs/cgroup/release_agent /sys/fs/cgroup/*/release_agent'
refused "write release_agent" "the read-only /sys" 'echo /tmp/x >/sys/fs/cgroup/release_agent'
refused "set notify_on_release" "the read-only /sys" 'echo 1 >/sys/fs/cgroup/notify_on_release'

# --- mounts: new ones, and read-only ones made writable again
for a in mount-proc mount-sysfs mount-tmpfs mount-bind remount-root remount-procsys umount-procsys; do
	attack $a EPERM "$DEF_MOUNT"
done
attack fsopen EPERM "seccomp (the new mount API needs CAP_SYS_ADMIN)"
attack open_tree EPERM "seccomp (the new mount API needs CAP_SYS_ADMIN)"
refused "mount -o remount,rw /proc/sys (busybox)" "$DEF_MOUNT" 'mount -o remount,rw /proc/sys'
refused "mount -t proc on /mnt (busybox)" "$DEF_MOUNT" 'mount -t proc proc /mnt'

# --- devices: block nodes, the host's disks, /dev/kmsg
attack "mknod-block $DISK" EPERM "$DEF_DEV"
attack "mknod-block 8:0" EPERM "$DEF_DEV"
attack "mknod-char 1:11" EPERM "$DEF_DEV (1:11 is /dev/kmsg)"
attack "mknod-char 1:1" EPERM "$DEF_DEV (1:1 is /dev/mem)"
inside '(: </tmp/escape-null) && echo opened'
is "$RC:$OUT" "0:opened" "control: a /dev/null node put in the image opens inside (the root is not nodev)"
refused "open the host's $DISKNAME ($DISK, which root on the host opens; a node put in the image)" "$DEF_DEV" '(: </tmp/escape-disk)'
refused "mount the host's disk" "$DEF_MOUNT" 'mount -t ext4 /tmp/escape-disk /mnt'
refused "read /dev/kmsg" "no such node in the container's /dev (and it cannot be made)" 'head -c1 /dev/kmsg'
attack syslog EPERM "seccomp (syslog, dmesg's call, needs CAP_SYSLOG)" host

# --- /proc/sys and /proc/sysrq-trigger
core=$(cat /proc/sys/kernel/core_pattern)
refused "write kernel/core_pattern" "$DEF_PROCSYS" 'echo "|/tmp/x" >/proc/sys/kernel/core_pattern'
refused "write kernel/modprobe" "$DEF_PROCSYS" 'echo /tmp/x >/proc/sys/kernel/modprobe'
refused "sysctl -w vm.overcommit_memory=1" "$DEF_PROCSYS" 'sysctl -w vm.overcommit_memory=1'
refused "write vm/drop_caches" "$DEF_PROCSYS" 'echo 3 >/proc/sys/vm/drop_caches'
refused "write /proc/sysrq-trigger" "its read-only bind mount" 'echo h >/proc/sysrq-trigger'
is "$(cat /proc/sys/kernel/core_pattern)" "$core" "... the host's core_pattern is unchanged"

# --- kernel modules, kexec, swap, reboot, I/O ports, file handles
attack init_module EPERM "seccomp (init_module needs CAP_SYS_MODULE)"
attack finit_module EPERM "seccomp (finit_module needs CAP_SYS_MODULE)"
attack delete_module EPERM "seccomp (delete_module needs CAP_SYS_MODULE)"
attack kexec_load EPERM "seccomp (not in the allowlist)"
attack kexec_file_load EPERM "seccomp (not in the allowlist)"
attack swapon EPERM "seccomp (not in the allowlist)"
attack reboot EPERM "seccomp (reboot needs CAP_SYS_BOOT)"
attack iopl EPERM "seccomp (iopl needs CAP_SYS_RAWIO)"
attack shocker EPERM "seccomp (open_by_handle_at needs CAP_DAC_READ_SEARCH)" host

# --- ptrace: what Docker allows (its own processes), and the host's, which it cannot name
inside '/bin/escape ptrace-child'
is "$RC:$OUT" "0:ptrace-child OK" "control: ptrace of its own child works, as in Docker (ptrace allowed, CAP_SYS_PTRACE not kept)"
attack "ptrace $shim" ESRCH "$DEF_PIDNS: the shim, pid $shim on the host"
attack "ptrace $VMFS_PID" ESRCH "$DEF_PIDNS: vmfs, pid $VMFS_PID on the host"
attack "process_vm_readv $VMFS_PID" ESRCH "$DEF_PIDNS"
attack "kill $VMFS_PID" ESRCH "$DEF_PIDNS"

# --- raw sockets: CAP_NET_RAW is kept, as Docker keeps it; they reach its own interfaces only
inside '/bin/escape raw-icmp'
is "$RC:$OUT" "0:raw-icmp OK" "control: a raw ICMP socket works (CAP_NET_RAW kept, as in Docker)"
attack "packet-host $HOSTIF" ENODEV "the network namespace (the host's $HOSTIF is not in it)" host

# --- chroot: the classic climb out of a chroot
inside '/bin/escape chroot'
is "$RC:$OUT" "1:chroot CONTAINED" "chroot, fchdir to the old root, chdir .. 64 times, chroot .: still the container's root (pivot_root: the host's root is not in its mount namespace)"

# --- /proc/self/exe (CVE-2019-5736): the shim's binary must not be reachable from inside
sdev=$(stat -Lc %d:%i "/proc/$shim/exe")
inside 'for p in /proc/[0-9]*; do stat -Lc %d:%i $p/exe 2>/dev/null; done'
ok "control: the scan of /proc/*/exe inside finds init's binary" grep -qx "$(stat -Lc %d:%i "/proc/$ipid/exe")" <<<"$OUT"
is "$(printf '%s\n' "$OUT" | grep -cx "$sdev")" "0" \
	"no process inside runs the shim's binary ($(printf '%s\n' "$OUT" | grep -c .) seen): it never enters the container after init's exec"
shimexe=$(readlink "/proc/$shim/exe")
refused "reach the shim's binary by its host path" "the mount namespace (the host's tree is not in it)" "ls $shimexe"
refused "open /proc/1/exe (its own init's binary) for writing" "the kernel (ETXTBSY: it runs)" '(: >>/proc/1/exe)'

# --- a fork bomb, held 3 s at the limit, while the host and a sibling must still answer
pmax=$(leaf pids.max)
inside '/bin/escape forkbomb /tmp/bomb.out >/dev/null 2>&1 &'
ok "a fork bomb starts inside" wait_for 10 grep -q full "/proc/$ipid/root/tmp/bomb.out" ||
	echo "# $(ls -l "/proc/$ipid/root/tmp/" 2>&1 | paste -sd' ') $(cat "/proc/$ipid/root/tmp/bomb.out" 2>&1)"
bomb=$(head -n 1 "/proc/$ipid/root/tmp/bomb.out" 2>/dev/null)
IN=sib inside 'echo sib-alive' 3
is "$OUT" "sib-alive" "... meanwhile the sibling container answers within 3 s"
ok "... and the host forks 50 processes within 3 s" timeout 3 sh -c 'for i in $(seq 50); do /bin/true; done'
set -- $bomb
ok "... it stopped at ${2:-?} processes with ${3:-?}, below pids.max ($pmax): stopped by the pids cgroup" \
	test "${3:-}" = EAGAIN -a "${2:-0}" -lt "$pmax" -a "${2:-0}" -gt $((pmax - 20))
ok "... it ends (killed by itself after 3 s)" wait_for 10 grep -q done "/proc/$ipid/root/tmp/bomb.out"
inside 'echo alive-after-bomb'
is "$OUT" "alive-after-bomb" "... and the container's agent answers again"

# --- memory over the limit, and the limit from inside
mem=$(leaf memory.limit_in_bytes)$(leaf memory.max)
refused "raise its memory limit" "the read-only /sys (the limit is out of its sight)" \
	'echo max >/sys/fs/cgroup/memory.max || echo -1 >/sys/fs/cgroup/memory/memory.limit_in_bytes'
inside '/bin/escape hog 512' 30
is "$RC" "137" "touching 512 MB past config/memory ($((mem >> 20)) MB): the hog is killed (SIGKILL, status 137) by the OOM killer of its own group"
IN=sib inside 'echo sib-alive'
is "$OUT" "sib-alive" "... the sibling container lives"
inside 'echo alive-after-hog'
is "$OUT" "alive-after-hog" "... and so does the container's agent (the hog, the largest, was chosen)"
is "$(leaf memory.limit_in_bytes)$(leaf memory.max)" "$mem" "... and the limit is still $mem"

# --- the same attacker as an unprivileged host user (nobody), on the container and its files
nob() { setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c '"$@"' sh "$@"; }
not() { ! "$@"; }
ok "control: nobody reads host/info through the mount (allow_other)" nob cat "$M/host/info"
ok "nobody cannot list the container's root through /proc/PID/root of its init (ptrace access: its processes are not nobody's)" not nob ls "/proc/$ipid/root/"
ok "... nor read a file there" not nob cat "/proc/$ipid/root/etc/passwd"
ok "... nor its environment, nor its open files" not nob sh -c "cat /proc/$ipid/environ || ls /proc/$ipid/fd"
ok "... nor the shim's root or files" not nob sh -c "ls /proc/$shim/root/ || ls /proc/$shim/fd"
run=$S/ns/default/containers/jail/run
ok "nobody cannot list the run directory ($(ls "$run" | paste -sd' '))" not nob ls "$run"
for f in "$run"/*; do
	ok "nobody cannot even see run/${f##*/}" not nob test -e "$f"
done
if [ -S "$run/console.sock" ]; then
	like "$(nob python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$run/console.sock" 2>&1)" \
		"Permission denied" "nobody cannot connect to run/console.sock (the state directory is 0700)"
fi
# In the tree, the namespace's mode decides, but never for others on what the guest shows
# and takes: ns/default is 0755, so nobody may list it, but not read its console (0640).
ok "control: with ns/default 0755, nobody reads the container's state" nob cat "$C/jail/state"
like "$(nob timeout 1 cat "$C/jail/console" 2>&1)" "Permission denied" \
	"nobody cannot read the console's scrollback (the guest's screen is not others')"
like "$(nob cat "$C/jail/console.log" 2>&1)" "Permission denied" "... nor console.log"
is "$(nob "$NXWRITE" "$C/jail/console" 'echo pwned' 2>&1)" "EACCES" "... nor type on it"
is "$(nob "$NXWRITE" "$C/jail/fifo/0" 'echo pwned' 2>&1)" "EACCES" "... nor write fifo/0 (its agent's input; a link into the 0700 run directory)"
is "$(nob "$NXWRITE" "$C/jail/ctl" 'kill' 2>&1)" "EACCES" "... nor kill it"

# --- the shell's fork bomb, whole processes, in a container of its own: whatever stops it
# first (pids.max or config/memory), the host and the sibling answer, and `kill` ends it
mkdir "$C/bomb"
echo 2 >"$C/bomb/config/fifo"
echo /bin/escape-agent >"$C/bomb/config/init"
ok "start container bomb with the defaults" "$XWRITE" "$C/bomb/ctl" start
ok "its agent is up" wait_for 10 console_has "$C/bomb" "escape agent up"
IN=bomb inside 'f() { f | f & }; f >/dev/null 2>&1 </dev/null; echo lit' 5
is "$OUT" "lit" "a shell fork bomb, f() { f | f & }; f, is lit inside"
sleep 1
bpids=$(cat /sys/fs/cgroup/pids/"$G"/default/bomb/pids.current /sys/fs/cgroup/"$G"/default/bomb/pids.current 2>/dev/null | head -1)
echo "# after 1 s: ${bpids:-?} tasks in its group, $(awk '$1 == "oom_kill" {print $2}' /sys/fs/cgroup/memory/"$G"/default/bomb/memory.oom_control /sys/fs/cgroup/"$G"/default/bomb/memory.events 2>/dev/null | head -1) OOM kills"
bstate=$(awk '$1 == "state" {print $2}' "$C/bomb/info")
if [ "$bstate" = RUNNING ]; then
	ok "... it holds at most pids.max ($(leaf pids.max), the default) tasks: ${bpids:-?}, stopped by the pids cgroup" \
		test -n "$bpids" -a "${bpids:-0}" -le "$(leaf pids.max)" -a "${bpids:-0}" -gt 100
else # the shell's processes are bigger than escape.c's: memory may come first
	like "$(awk '$1 == "error"' "$C/bomb/info")" "OOM" \
		"... it was stopped by config/memory: the OOM killer ended its init (state $bstate)"
fi
IN=sib inside 'echo sib-alive' 3
is "$OUT" "sib-alive" "... meanwhile the sibling container answers within 3 s"
ok "... and the host forks 50 processes within 3 s" timeout 3 sh -c 'for i in $(seq 50); do /bin/true; done'
# a kill races the OOM killer, which may end init first: then the container is ERROR (OOM)
if [ "$bstate" = RUNNING ]; then
	if "$XWRITE" "$C/bomb/ctl" kill 2>/dev/null; then
		ok "kill ends the bombed container" true
	else
		like "$(awk '$1 == "state" || $1 == "error"' "$C/bomb/info" | paste -sd' ')" \
			"ERROR.*OOM" "kill ends the bombed container, or the OOM killer did first" ||
			tail -n 5 "$D/log" | sed 's/^/#   /'
	fi
fi
# pids.current counts the group's tasks and its descendants' (init is one level below); the
# group itself goes once it is empty
bomb_empty() {
	local f
	for f in /sys/fs/cgroup/pids/"$G"/default/bomb/pids.current \
		/sys/fs/cgroup/"$G"/default/bomb/pids.current; do
		[ -e "$f" ] && { [ "$(cat "$f")" = 0 ]; return; }
	done
	return 0 # no group left
}
ok "... its group is empty within 10 s" wait_for 10 bomb_empty

# --- the container still works, and nothing is left
inside 'echo alive'
is "$OUT" "alive" "the agent still answers after the attacks"
ok "kill all" "$XWRITE" "$D/ctl" "kill all" || tail -n 5 "$D/log" | sed 's/^/#   /'
ok "flush all" "$XWRITE" "$D/ctl" "flush all"
ok "no process of this vmfs left" wait_for 5 none_of_ours
vmfs_stop
done_testing
