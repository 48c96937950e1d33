#!/usr/bin/env bash
# Containers through the tree: start, console, pause/resume, stop, kill, limits, snapshot,
# errors, and survival of a vmfs restart. Real namespaces, cgroups and overlayfs.
. "$(dirname "$0")/lib.sh"
need_root
use_busybox_image
vmfs_start --images "$T/images" || exit 1
D=$M/ns/default
C=$D/containers
EXTRA_CLEANUP='[ -e "$D/ctl" ] && echo "kill all" > "$D/ctl" 2>/dev/null; kill_ours'

console_has() { grep -q -- "$2" "$T/console.$1"; }
follow() { # follow NAME: keeps a copy of NAME's console in $T/console.NAME
	cat "$C/$1/console" >"$T/console.$1" 2>&1 &
}

mkdir "$C/c1"
ok "start" "$XWRITE" "$C/c1/ctl" start
is "$(cat "$C/c1/state")" "RUNNING" "state RUNNING"
pid=$(awk '$1=="pid"{print $2}' "$C/c1/info")
like "$pid" "^[0-9]+$" "info has the init's pid"
ok "that pid is alive" kill -0 "$pid"
follow c1
ok "the console shows init's banner" wait_for 5 console_has c1 "vmfs container c1 is up"
printf 'echo marker-$((6*7))\n' >"$C/c1/console"
ok "input typed into the console runs" wait_for 5 console_has c1 "marker-42"
printf 'echo host=$(hostname) procs=$(ps -o pid | wc -l)\n' >"$C/c1/console"
ok "the hostname is the container's name" wait_for 5 console_has c1 "host=c1 "
wait_for 5 console_has c1 "procs="
procs=$(grep -o 'procs=[0-9]*' "$T/console.c1" | tail -1 | cut -d= -f2)
ok "its own PID namespace: a handful of processes ($procs), not the host's" test "$procs" -lt 10
printf 'ls / ; mount -t tmpfs none /mnt && echo MOUNT$((1)) || echo NOMOUNT$((2))\n' >"$C/c1/console"
ok "no CAP_SYS_ADMIN: mounting fails inside" wait_for 5 console_has c1 NOMOUNT2
ok "the state directory is not visible inside" sh -c "! grep -q '$(basename "$T")' '$T/console.c1'"
cat "$C/c1/console" >"$T/second" 2>&1 &
sleep 1
kill $! 2>/dev/null
ok "a second reader gets the scrollback" grep -q "vmfs container c1 is up" "$T/second"

# pause / resume
ok "pause" "$XWRITE" "$C/c1/ctl" pause
is "$(cat "$C/c1/state")" "PAUSED" "state PAUSED"
# the terminal echoes what is typed by itself: markers are computed, to see they ran
printf 'echo after-$((1+1))-resume\n' >"$C/c1/console"
sleep 1
ok "a paused container does not run" sh -c "! grep -q after-2-resume '$T/console.c1'"
ok "resume" "$XWRITE" "$C/c1/ctl" resume
is "$(cat "$C/c1/state")" "RUNNING" "state RUNNING again"
ok "after resume it runs again" wait_for 5 console_has c1 "after-2-resume"

# top is sampled in the background
sleep 2
like "$(awk -F'\t' '$1=="c1"{print $3, $6}' "$D/top")" "^RUNNING [1-9][0-9]*K$" "top shows its memory"

# kill
ok "kill" "$XWRITE" "$C/c1/ctl" kill
is "$(cat "$C/c1/state")" "QUIT" "state QUIT at once"
is "$(awk '$1=="exit"{$1=""; print substr($0,2)}' "$C/c1/info")" "killed KILL" "info says how it ended"
ok "its processes are gone" sh -c "! kill -0 $pid 2>/dev/null"
ok "a console reader of a quit container sees the end" wait_for 3 sh -c "! jobs %1 >/dev/null 2>&1"
like "$(timeout 2 cat "$C/c1/console")" "marker-42" "the scrollback stays readable after it quit"

# restart from QUIT, then stop (SIGTERM, then SIGKILL after the grace period)
ok "start again" "$XWRITE" "$C/c1/ctl" start
ok "stop" "$XWRITE" "$C/c1/ctl" stop
ok "stop ends it within the grace period" wait_for 8 grep -qx QUIT "$C/c1/state"

# init's own exit status
mkdir "$C/c2"
echo '/bin/sh -c "echo bye; exit 3"' >"$C/c2/config/init"
"$XWRITE" "$C/c2/ctl" start
ok "an init that exits makes the container QUIT" wait_for 5 grep -qx QUIT "$C/c2/state"
is "$(awk '$1=="exit"{$1=""; print substr($0,2)}' "$C/c2/info")" "exited 3" "with its exit status"

# errors: bad init, missing root filesystem, both ERROR with the real reason
mkdir "$C/bad"
echo /nonexistent >"$C/bad/config/init"
is "$(errno_of "$C/bad/ctl" start)" "EIO" "a start whose init does not exist fails"
is "$(cat "$C/bad/state")" "ERROR" "state ERROR"
like "$(cat "$C/bad/log")" "/nonexistent.*No such file or directory" "the log names the real cause"
mkdir "$C/nofs"
echo "$T" >"$C/nofs/config/filesystem"
rm -rf "$T/gone" && mkdir "$T/gone" && echo "$T/gone" >"$C/nofs/config/filesystem" && rmdir "$T/gone"
is "$(errno_of "$C/nofs/ctl" start)" "ENOENT" "a missing root filesystem fails the start"
like "$(tail -3 "$C/nofs/log")" "config/filesystem: .* is not a directory" "and says which"

# limits
mkdir "$C/lim"
echo 48M >"$C/lim/config/memory"
"$XWRITE" "$C/lim/ctl" start
G=$(cg_top)
lim=$(cat /sys/fs/cgroup/memory/$G/default/lim/memory.limit_in_bytes 2>/dev/null ||
	cat /sys/fs/cgroup/$G/default/lim/memory.max)
is "$lim" "50331648" "config/memory is the cgroup's hard limit"
follow lim
wait_for 5 console_has lim "is up"
printf 'dd if=/dev/zero of=/dev/null bs=200M count=1 && echo SURV$((1))VED\n' >"$C/lim/console"
ok "allocating past the limit is stopped by the OOM killer" wait_for 10 sh -c "grep -q Killed '$T/console.lim' || grep -qx ERROR '$C/lim/state'"
ok "... and the container did not get 200M" sh -c "! grep -q SURV1VED '$T/console.lim'"

# snapshot: writes go to an overlay, the image is untouched
mkdir "$C/s1"
"$XWRITE" "$C/s1/ctl" start
follow s1
wait_for 5 console_has s1 "is up"
printf 'echo scribble > /etc/scribble && echo WROTE$((3))\n' >"$C/s1/console"
ok "a container can write its /" wait_for 5 console_has s1 WROTE3
ok "the image is untouched (snapshot true)" test ! -e "$T/images/busybox/etc/scribble"
echo false >"$C/c2/config/snapshot"
echo false >"$C/s1/config/snapshot" 2>/dev/null
is "$(errno_of "$C/s1/config/snapshot" false)" "EBUSY" "config cannot change while it runs"
"$XWRITE" "$C/c2/ctl" kill >/dev/null 2>&1
echo 'sleep 600' >"$C/c2/config/init"
cp -a "$T/images/busybox" "$T/images/own"
echo own >"$C/c2/config/filesystem"
ok "snapshot false: starts on the image itself" "$XWRITE" "$C/c2/ctl" start
mkdir "$C/c3" && echo false >"$C/c3/config/snapshot" && echo own >"$C/c3/config/filesystem"
is "$(errno_of "$C/c3/ctl" start)" "EBUSY" "a second container on the same image without a snapshot is refused"
like "$(tail -1 "$D/log")" "in use by ns/default/containers/c2" "naming the one that has it"

# many at once
echo 'launch container m[1-5]' >"$D/ctl"
ok "start a range" "$XWRITE" "$D/ctl" "start m[1-5]"
is "$(awk -F'\t' '$2 ~ /^m[0-9]$/ && $4=="RUNNING"' "$D/info" | wc -l)" "5" "five RUNNING"

# kill -9 vmfs: containers keep running; a new vmfs adopts them with their consoles
m1pid=$(awk '$1=="pid"{print $2}' "$C/m1/info")
kill %1 %2 %3 %4 2>/dev/null
vmfs_kill9
ok "a container outlives vmfs" kill -0 "$m1pid"
vmfs_start --images "$T/images" || exit 1
is "$(cat "$C/m1/state")" "RUNNING" "adopted: RUNNING"
is "$(awk '$1=="pid"{print $2}' "$C/m1/info")" "$m1pid" "the same init"
like "$(timeout 1 cat "$C/m1/console")" "vmfs container m1 is up" "console scrollback intact"
follow m1
printf 'echo still-$((4))-here\n' >"$C/m1/console"
ok "console input works after the restart" wait_for 5 console_has m1 still-4-here
like "$(cat "$C/m1/log")" "adopted after a vmfs restart" "the log says it was adopted"

# Ctrl-C in the console interrupts the command that runs and never ends the container, with
# vmfs started from a script (SIGINT ignored, as a background job of this script is) and as
# from a terminal (SIGINT at its default)
ctrl_c() { # ctrl_c NAME HOW
	mkdir "$C/$1" && "$XWRITE" "$C/$1/ctl" start >/dev/null
	follow "$1"
	wait_for 5 console_has "$1" "is up"
	printf 'sleep 100; echo slept-$((1+1))\n' >"$C/$1/console"
	sleep 1
	printf '\003' >"$C/$1/console"
	printf 'echo back-$((2+3))\n' >"$C/$1/console"
	ok "$2: Ctrl-C interrupts the foreground command, the prompt comes back" wait_for 5 console_has "$1" back-5
	ok "$2: ... and only that command" sh -c "! grep -q slept-2 '$T/console.$1'"
	is "$(cat "$C/$1/state")" "RUNNING" "$2: the container still runs"
	printf 'echo still-$((3+4))\n' >"$C/$1/console"
	ok "$2: and its console answers" wait_for 5 console_has "$1" still-7
	printf '\003' >"$C/$1/console"
	printf 'echo idle-$((4+4))\n' >"$C/$1/console"
	ok "$2: Ctrl-C at the prompt changes nothing" wait_for 5 console_has "$1" idle-8
	is "$(cat "$C/$1/state")" "RUNNING" "$2: still running"
}
ctrl_c int1 "vmfs started from a script"
vmfs_kill9
VMFS_PREFIX=(env --default-signal=INT)
vmfs_start --images "$T/images" || exit 1
VMFS_PREFIX=()
ctrl_c int2 "vmfs started with SIGINT at its default"

# rmdir kills and removes every trace
shim_count() { ours "$S/ns/default/containers/$1" | wc -l; }
ok "rmdir a running container" rmdir "$C/m2"
ok "its directory is gone" test ! -e "$C/m2"
no_shim() { [ "$(shim_count "$1")" = 0 ]; }
ok "no shim left (it exits right after recording the end)" wait_for 5 no_shim m2
ok "no cgroup left" sh -c "! ls -d /sys/fs/cgroup/*/$G/default/m2 /sys/fs/cgroup/$G/default/m2 2>/dev/null | grep -q ."
ok "no mount left" sh -c "! grep -q 'containers/m2/' /proc/mounts"
ok "kill all" "$XWRITE" "$D/ctl" "kill all"
ok "flush all" "$XWRITE" "$D/ctl" "flush all"
is "$(ls "$C" | wc -l)" "0" "everything flushed"
no_shims() { none_of_ours; }
ok "no shim left at all" wait_for 5 no_shims
is "$(ls -d /sys/fs/cgroup/*/$G/default/* /sys/fs/cgroup/$G/default/* 2>/dev/null | grep -vc '/[a-z_]*\.[a-z_.]*$\|/tasks$\|notify_on_release$')" "0" "no container cgroup left at all"
ok "no overlay left" sh -c "! grep -q '$S' /proc/mounts"
vmfs_stop
done_testing
