#!/usr/bin/env bash
# Container security: each promise of runtime/shim/shim.h tried as an escape from inside a
# running container, through its console, which must fail. A command's outcome is read from
# markers the container computes (the terminal echoes what is typed, so a marker only counts
# when the container's shell has expanded it). Real namespaces, cgroups and overlayfs.
. "$(dirname "$0")/lib.sh"
need_root
use_busybox_image
D=$M/ns/default
C=$D/containers
G= # this vmfs's top cgroup, $(cg_top) once mounted
HOST_SLEEP=

skip() { # skip DESC REASON
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
}
groups_left() { # every group of this vmfs (its state directory has its own top group)
	[ -n "$G" ] && ls -d /sys/fs/cgroup/*/"$G" /sys/fs/cgroup/"$G" /sys/fs/cgroup/*/"$G"/default \
		/sys/fs/cgroup/"$G"/default /sys/fs/cgroup/*/"$G"/default/* /sys/fs/cgroup/"$G"/default/* \
		/sys/fs/cgroup/*/"$G"/default/*/container /sys/fs/cgroup/"$G"/default/*/container \
		2>/dev/null | grep -v '/[a-z_]*\.[a-z_.]*$\|/tasks$\|notify_on_release$'
}
# Whatever happens (a failed check, an escape), leave nothing: through vmfs while it answers,
# then by hand. A fork bomb's thousands of processes are killed through its cgroup.
scrub() {
	local j g pid m
	for j in $(jobs -p); do [ "$j" != "$VMFS_PID" ] && kill "$j" 2>/dev/null; done
	[ -n "$HOST_SLEEP" ] && kill "$HOST_SLEEP" 2>/dev/null
	if [ -n "$VMFS_PID" ] && [ -e "$D/ctl" ]; then
		echo "kill all" >"$D/ctl" 2>/dev/null
		echo "flush all" >"$D/ctl" 2>/dev/null
	fi
	kill_ours
	for g in $(groups_left); do
		[ -e "$g/freezer.state" ] && echo THAWED >"$g/freezer.state" 2>/dev/null
		[ -e "$g/cgroup.kill" ] && echo 1 >"$g/cgroup.kill" 2>/dev/null
		for pid in $(cat "$g/cgroup.procs" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
	done
	for j in $(seq 50); do
		for g in $(groups_left | sort -r); do rmdir "$g" 2>/dev/null; done
		[ -z "$(groups_left)" ] && break
		sleep 0.2
	done
	for m in $(awk -v s="$S" 'index($2, s) == 1 {print $2}' /proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null
	done
}
EXTRA_CLEANUP=scrub

follow() { # follow NAME: keeps a copy of NAME's console in $T/console.NAME
	cat "$C/$1/console" >"$T/console.$1" 2>&1 &
}
console() { tr -d '\r' <"$T/console.$1"; }

# run NAME CMD [SECONDS]: runs CMD in a subshell of NAME's console; sets OUT (what it printed,
# stdout and stderr) and RC (its exit status; "none" if it did not answer in time).
N=0
run() {
	local name=$1 cmd=$2 secs=${3:-10}
	N=$((N + 1))
	printf 'echo BEG$((%d))-; ( %s ) 2>&1; echo END$((%d))-$?\n' "$N" "$cmd" "$N" >"$C/$name/console"
	if ! wait_for "$secs" sh -c "tr -d '\r' <'$T/console.$name' | grep -q '^END$N-[0-9]'"; then
		OUT=$(console "$name" | tail -5)
		RC=none
		return
	fi
	OUT=$(console "$name" | awk -v b="BEG$N-" -v e="END$N-" '$0==b{on=1; next} on && index($0, e)==1{exit} on')
	RC=$(console "$name" | grep -o "^END$N-[0-9]*" | head -1 | cut -d- -f2)
}
# blocked DESC NAME CMD: an escape attempt, which must fail (exit status not 0)
blocked() {
	run "$2" "$3"
	TAP_N=$((TAP_N + 1))
	if [ "$RC" != none ] && [ "$RC" != 0 ]; then
		echo "ok $TAP_N - $1"
	else
		echo "not ok $TAP_N - $1"
		printf '#   inside: %s\n#   status: %s\n' "$3" "$RC"
		printf '%s\n' "$OUT" | head -8 | sed 's/^/#   output: /'
		TAP_FAIL=$((TAP_FAIL + 1))
	fi
}

vmfs_start --images "$T/images" || exit 1
G=$(cg_top)
[ -n "$G" ] || { echo "not ok 1 - host/info names cgroup_top"; exit 1; }
host_name=$(hostname)
sleep 300 &
HOST_SLEEP=$!

mkdir "$C/jail"
ok "start a container" "$XWRITE" "$C/jail/ctl" start
ipid=$(awk '$1=="pid"{print $2}' "$C/jail/info")
follow jail
ok "its console is up" wait_for 5 grep -q "vmfs container jail is up" "$T/console.jail"
run jail 'echo ready-$((2*3))'
is "$OUT" "ready-6" "commands typed into the console run, and their output is read back"

# --- host processes
run jail 'ps -o pid,comm'
procs=$(printf '%s\n' "$OUT" | grep -c '^ *[0-9]')
like "$procs" "^[1-9]$" "ps inside lists only the container's few processes ($procs)"
is "$(printf '%s\n' "$OUT" | awk '$1 ~ /^[0-9]+$/ && $1 > 1000' | wc -l)" "0" "... all with the container's own small pids"
run jail "ls /proc | grep -c '^[0-9]'"
like "$OUT" "^[1-9]$" "/proc holds only the container's processes ($OUT, the host has $(ls /proc | grep -c '^[0-9]'))"
blocked "the vmfs daemon (pid $VMFS_PID) is not in the container's /proc" jail "test -e /proc/$VMFS_PID"
run jail "grep -l 'vmf[s]' /proc/[0-9]*/cmdline"
is "$OUT" "" "no process inside is vmfs or its shim"
blocked "a host process cannot be signalled from inside (kill -9 $HOST_SLEEP)" jail "kill -9 $HOST_SLEEP"
ok "... and it lives on" kill -0 "$HOST_SLEEP"
run jail 'cat /proc/1/cmdline | tr "\0" " "'
like "$OUT" "^/bin/sh /init" "PID 1 inside is the container's init"

# --- mounts: no CAP_SYS_ADMIN
run jail 'wc -l < /proc/self/mountinfo'
mounts_before=$OUT
blocked "mount proc fails" jail 'mount -t proc none /mnt'
blocked "mount tmpfs fails" jail 'mount -t tmpfs none /mnt'
blocked "bind mount fails" jail 'mount --bind / /mnt'
blocked "mount a cgroup hierarchy fails" jail 'mount -t cgroup -o memory cgroup /mnt'
blocked "remounting /sys read-write fails" jail 'mount -o remount,rw /sys'
blocked "remounting /proc/sys read-write fails" jail 'mount -o remount,rw /proc/sys'
blocked "unmounting a mask (/proc/timer_list) fails" jail 'umount /proc/timer_list'
blocked "a fresh /proc from a new user namespace fails (the masks make it too revealing)" jail \
	'unshare -Urmpf mount -t proc proc /proc'
run jail 'wc -l < /proc/self/mountinfo'
is "$OUT" "$mounts_before" "the container's mount table is unchanged ($mounts_before mounts)"
run jail "awk '{print \$5}' /proc/self/mountinfo"
is "$(printf '%s\n' "$OUT" | grep -Ev '^/$|^/(proc|sys|dev)(/|$)')" "" \
	"only /, /proc, /sys and /dev are mounted inside: the host's root is detached"

# --- capabilities: the bounding set
run jail 'grep -E "^Cap(Bnd|Eff|Amb)" /proc/self/status'
bnd=$(printf '%s\n' "$OUT" | awk '$1=="CapBnd:"{print $2}')
eff=$(printf '%s\n' "$OUT" | awk '$1=="CapEff:"{print $2}')
amb=$(printf '%s\n' "$OUT" | awk '$1=="CapAmb:"{print $2}')
like "$bnd" "^[0-9a-f]{16}$" "CapBnd is readable ($bnd)"
for cap in 16:SYS_MODULE 21:SYS_ADMIN 17:SYS_RAWIO 19:SYS_PTRACE 12:NET_ADMIN 2:DAC_READ_SEARCH \
	22:SYS_BOOT 25:SYS_TIME 34:SYSLOG 39:BPF; do
	bit=${cap%%:*}
	is "$(( (0x${bnd:-ffffffffffffffff} >> bit) & 1 ))$(( (0x${eff:-ffffffffffffffff} >> bit) & 1 ))" "00" \
		"CAP_${cap#*:} ($bit) is neither in the bounding nor the effective set"
done
is "$amb" "0000000000000000" "no ambient capabilities"

# --- kernel modules
blocked "insmod fails" jail 'printf "not a module" >/tmp/x.ko && insmod /tmp/x.ko'
blocked "modprobe fails" jail 'modprobe dummy'
if [ -e /proc/sys/kernel/modules_disabled ]; then
	# opened for writing and nothing written: harmless should it succeed
	blocked "/proc/sys/kernel/modules_disabled cannot be opened for writing" jail \
		'cat /dev/null >> /proc/sys/kernel/modules_disabled'
	like "$OUT" "Read-only file system" "... because /proc/sys is read-only"
else
	skip "/proc/sys/kernel/modules_disabled is not writable" "this kernel has no module support"
fi

# --- /proc/sys and /sys read-only (values written back unchanged: harmless should it work)
run jail 'echo 1 >/tmp/w && cat /dev/null >> /tmp/w && cat /tmp/w'
is "$RC:$OUT" "0:1" "control: a file of the container's own can be opened for writing this way"
core_pattern=$(cat /proc/sys/kernel/core_pattern)
blocked "writing /proc/sys/kernel/panic fails" jail \
	'cat /proc/sys/kernel/panic >/tmp/v && cat /tmp/v > /proc/sys/kernel/panic'
like "$OUT" "Read-only file system" "... read-only file system"
blocked "/proc/sys/kernel/core_pattern cannot be opened for writing" jail \
	'cat /dev/null >> /proc/sys/kernel/core_pattern'
is "$(cat /proc/sys/kernel/core_pattern)" "$core_pattern" "the host's core_pattern is unchanged"
blocked "/proc/sysrq-trigger cannot be opened for writing (or does not exist)" jail \
	'test -e /proc/sysrq-trigger && cat /dev/null >> /proc/sysrq-trigger && test "$(stat -c %t:%T /proc/sysrq-trigger)" != 1:3'
blocked "touch /sys/x fails" jail 'touch /sys/x'
like "$OUT" "Read-only file system" "... read-only file system"
blocked "a file of /sys cannot be opened for writing" jail \
	'f=$(find /sys/kernel /sys/class -maxdepth 2 -type f -perm -200 | head -1); test -n "$f" && cat /dev/null >> "$f"'

# --- masked /proc paths: those that exist read as nothing; the container works without the rest
for p in kcore timer_list keys latency_stats sched_debug acpi scsi; do
	if [ ! -e "/proc/$p" ]; then
		run jail "test -e /proc/$p && echo present"
		is "$OUT" "" "/proc/$p does not exist on this kernel, nor inside"
	elif [ -d "/proc/$p" ]; then
		run jail "ls -A /proc/$p | wc -l"
		is "$OUT" "0" "/proc/$p is masked: empty inside (the host's has $(ls -A "/proc/$p" | wc -l) entries)"
	elif [ "$p" = kcore ]; then
		run jail "stat -c %t:%T /proc/$p"
		is "$OUT" "1:3" "/proc/$p is masked (/dev/null bound over it)"
	else
		run jail "cat /proc/$p 2>/dev/null | wc -c"
		is "$OUT" "0" "/proc/$p is masked: reading it gives nothing (the host's: $(wc -c <"/proc/$p") bytes)"
	fi
done
is "$(cat "$C/jail/state")" "RUNNING" "the container runs though some masked paths are absent on this kernel"
is "$(grep -ci 'error' "$C/jail/log")" "0" "its log has no error"

# --- vmfs's state directory and the shim's files
run jail 'find / -name ns.conf -o -name console.sock -o -name shim.pid -o -name spec 2>/dev/null' 30
is "$OUT" "" "find / finds none of vmfs's state files"
blocked "the state directory's path does not exist inside" jail "test -e $S"
blocked "nor the test's directory" jail "ls $T"
run jail 'for f in /proc/1/fd/* /proc/self/fd/*; do [ -d "$f" ] && echo "DIR $f"; readlink "$f"; done'
is "$(printf '%s\n' "$OUT" | grep -F -e DIR -e "$T" -e "$ROOT")" "" \
	"init holds no descriptor of a host directory or file"

# --- devices: a host disk cannot be used. In its user namespace the container can make no
# device node at all (the kernel's rule), even an allowed one; its /dev/null still works.
run jail 'mknod /tmp/node c 1 3; dd if=/dev/null of=/dev/null bs=512 count=1 && echo dev-ok'
like "$OUT" "Operation not permitted" "mknod c 1 3 (null) is refused too: no device node in a user namespace"
like "$OUT" "dev-ok" "control: /dev/null opens, so what follows is not vacuous"
disk=$(cat $(ls -d /sys/block/*/dev | grep -Ev '/(loop|ram|zram)[0-9]') 2>/dev/null | head -1)
disk=${disk:-8:0}
for dev in "b ${disk%:*} ${disk#*:}:the host's disk ($disk)" "b 7 0:a loop device" \
	"c 1 1:/dev/mem" "c 1 11:/dev/kmsg" "c 10 229:/dev/fuse"; do
	node=${dev%%:*}
	blocked "mknod $node (${dev#*:}) in /tmp, then open: fails" jail \
		"mknod /tmp/node $node; dd if=/tmp/node of=/dev/null bs=512 count=1"
	run jail 'rm -f /tmp/node'
	blocked "mknod $node (${dev#*:}) in /dev, then open: fails" jail \
		"mknod /dev/node $node; dd if=/dev/node of=/dev/null bs=512 count=1"
	run jail 'rm -f /dev/node'
done
if [ -e "/sys/fs/cgroup/devices/$G/default/jail/devices.list" ]; then
	list=$(cat "/sys/fs/cgroup/devices/$G/default/jail/devices.list")
	is "$(printf '%s\n' "$list" | grep -E '^a |^b ')" "" "the devices cgroup (v1) allows no block device and not all"
fi

# --- network
run jail 'ip -o link | cut -d: -f2'
is "$(printf '%s\n' "$OUT" | tr -d ' ')" "lo" "ip link shows lo only"
run jail 'ls /sys/class/net'
is "$OUT" "lo" "/sys/class/net has lo only"
blocked "a network interface cannot be added" jail 'ip link add v0 type veth peer name v1'

# --- /dev
run jail 'ls -A /dev'
allowed=' console fd full null ptmx pts random shm stderr stdin stdout tty urandom zero fifo '
extra=$(for f in $OUT; do [[ $allowed == *" $f "* ]] || printf '%s ' "$f"; done)
is "$extra" "" "/dev holds only the expected entries"
missing=$(for f in null zero full random urandom tty console ptmx pts; do
	[[ " $(echo $OUT) " == *" $f "* ]] || printf '%s ' "$f"; done)
is "$missing" "" "... and all of them (null zero full random urandom tty console ptmx pts)"
run jail 'find /dev -type b'
is "$OUT" "" "no block device in /dev"

# --- hostname
run jail 'hostname evil'
is "$(hostname)" "$host_name" "hostname inside ($( [ "$RC" = 0 ] && echo succeeded || echo refused)) leaves the host's unchanged"
is "$(cat /proc/sys/kernel/hostname)" "$host_name" "... /proc/sys/kernel/hostname too"

# --- a fork bomb stops at the pids limit; the host and the other containers carry on
mkdir "$C/bomb"
echo 1G >"$C/bomb/config/memory" # room for the processes: the limit to reach is the pids one
ok "start a second container" "$XWRITE" "$C/bomb/ctl" start
follow bomb
wait_for 5 grep -q "is up" "$T/console.bomb"
pg=$(ls -d /sys/fs/cgroup/pids/"$G"/default/bomb /sys/fs/cgroup/"$G"/default/bomb 2>/dev/null | head -1)
pmax=$(cat "$pg/pids.max" 2>/dev/null)
like "$pmax" "^[0-9]+$" "the container has a pids limit ($pmax)"
# three loops at once, 6000 sleeps in all; each loop's shell ends at its first failed fork,
# and then sh exec's a sleep, which needs no fork, so that init waits instead of forking
printf '%s\n' '(for i in $(seq 2000); do sleep 120 & done) & (for i in $(seq 2000); do sleep 120 & done) & (for i in $(seq 2000); do sleep 120 & done); wait; exec sleep 120' >"$C/bomb/console"
# (v1 counts the event in the group of the task that forked: container/)
ok "the fork bomb reaches the limit" wait_for 60 sh -c "cat '$pg/pids.events' '$pg/container/pids.events' 2>/dev/null | awk '\$1==\"max\" && \$2>0{f=1} END{exit !f}'"
sleep 1
cur=$(cat "$pg/pids.current")
peak=$(cat "$pg/pids.peak" 2>/dev/null || echo "$cur")
nprocs=$(cat "$pg"/container/cgroup.procs | wc -l) # the limits one level up
ok "the bomb ran: $nprocs processes" test "$nprocs" -gt 1000
ok "it is bounded: $nprocs processes now, at most $peak at once, limit $pmax" \
	test "$nprocs" -le "$pmax" -a "$cur" -le "$pmax" -a "$peak" -le "$pmax"
like "$(console bomb | grep -m1 "can't fork")" "Resource temporarily unavailable" "forks inside fail with EAGAIN"
ok "the host can still fork" /bin/true
ok "vmfs still answers" cat "$M/version"
run jail 'echo alive-$((6*7))'
is "$OUT" "alive-42" "the other container still runs commands"
t0=$SECONDS
is "$(errno_of "$C/bomb/ctl" kill)" "" "kill the bombed container: the write succeeds"
echo "# kill took $((SECONDS - t0)) s"
is "$(cat "$C/bomb/state")" "QUIT" "state QUIT at once"
ok "within 15 s, its cgroup and all its processes are gone" wait_for 15 test ! -e "$pg"
is "$(cat "$C/bomb/state")" "QUIT" "state QUIT"

# --- nothing left behind
ok "kill all" "$XWRITE" "$D/ctl" "kill all"
ok "flush all" "$XWRITE" "$D/ctl" "flush all"
is "$(ls "$C" | wc -l)" "0" "everything flushed"
ok "no process of this vmfs left" wait_for 3 none_of_ours
ok "no group of this vmfs left" wait_for 3 sh -c "! ls -d /sys/fs/cgroup/*/$G /sys/fs/cgroup/$G 2>/dev/null | grep -q ."
is "$(grep -F "$S" /proc/mounts)" "" "no mount left"
kill "$HOST_SLEEP" 2>/dev/null
HOST_SLEEP=
for j in $(jobs -p); do [ "$j" != "$VMFS_PID" ] && kill "$j" 2>/dev/null; done
vmfs_stop
done_testing
