#!/usr/bin/env bash
# Containers at scale: 100 launched and started at once, all RUNNING, then killed and flushed
# with nothing left behind (shims, inits, cgroups, mounts, state files). Then 20 running with
# console input, vmfs killed with -9 and started again: all adopted with the same inits, their
# scrollback and working consoles; killed one by one through their ctl, flushed, and again
# nothing left. Real namespaces, cgroups and overlayfs.
. "$(dirname "$0")/lib.sh"
need_root
use_busybox_image
D=$M/ns/default
C=$D/containers
SC=$S/ns/default/containers
N=100
K=20
G= # this vmfs's top cgroup (one per state directory): $(cg_top) once it is mounted
declare -A INIT_START=() # host pid of each container's init -> its start time (/proc/PID/stat)

starttime() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'; }
# the same process (not a later one that got the pid): pid alive with the recorded start time
same_proc() { [ -n "$2" ] && [ "$(starttime "$1")" = "$2" ]; }

# Whatever happens, leave no container behind: through vmfs while it answers, then by hand.
scrub() {
	local j pid g m
	for j in $(jobs -p); do kill "$j" 2>/dev/null; done
	if [ -n "$VMFS_PID" ] && [ -e "$D/ctl" ]; then
		echo "kill all" >"$D/ctl" 2>/dev/null
		echo "flush all" >"$D/ctl" 2>/dev/null
	fi
	kill_ours
	for pid in "${!INIT_START[@]}"; do
		same_proc "$pid" "${INIT_START[$pid]}" && kill -9 "$pid" 2>/dev/null
	done
	for g in $(cgroups_left); do
		[ -e "$g/freezer.state" ] && echo THAWED >"$g/freezer.state" 2>/dev/null
		[ -e "$g/cgroup.kill" ] && echo 1 >"$g/cgroup.kill" 2>/dev/null
		for pid in $(cat "$g/cgroup.procs" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
	done
	sleep 0.2
	for g in $({ cgroups_left; top_left; } | sort -r); do rmdir "$g" 2>/dev/null; done
	for m in $(awk -v s="$S" 'index($2, s) == 1 {print $2}' /proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null
	done
}
EXTRA_CLEANUP=scrub

col() { # col NAME: the column NAME of ns info, as "name value" lines
	awk -F'\t' -v c="$1" 'NR==1{for(i=1;i<=NF;i++) if($i==c) k=i; next} {print $2, $k}' "$D/info"
}
running_count() { col state | awk '$1 ~ /^s[0-9]+$/ && $2=="RUNNING"' | wc -l; }
shims() { ours | while read -r p _; do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = vmfs-shim ] && echo; done | wc -l; }
cgroups_left() { # the containers' groups
	[ -n "$G" ] && ls -d /sys/fs/cgroup/*/"$G"/default/s* /sys/fs/cgroup/"$G"/default/s* 2>/dev/null |
		grep -E '/s[0-9]+$'
}
top_left() { # this vmfs's own parents: gone once its last container is gone
	[ -n "$G" ] && ls -d /sys/fs/cgroup/*/"$G"/default /sys/fs/cgroup/"$G"/default \
		/sys/fs/cgroup/*/"$G" /sys/fs/cgroup/"$G" 2>/dev/null
}
mounts_left() { grep -F "$S" /proc/mounts; }
inits_left() {
	local pid
	for pid in "${!INIT_START[@]}"; do
		same_proc "$pid" "${INIT_START[$pid]}" && echo "$pid"
	done
}
files_left() { find "$SC" -mindepth 1 2>/dev/null; }
record_inits() { # record_inits: INIT_START for every container now in ns info
	local name pid
	INIT_START=()
	while read -r name pid; do
		[[ $pid =~ ^[0-9]+$ ]] && INIT_START[$pid]=$(starttime "$pid")
	done < <(col pid)
}
nothing_left() { # nothing_left WHEN: shims, inits, cgroups, mounts, state files
	local i
	for i in $(seq 50); do [ "$(shims)" = 0 ] && break; sleep 0.1; done # each exits just after its record
	is "$(shims)" "0" "$1: no vmfs-shim process left"
	is "$(inits_left | wc -l)" "0" "$1: no container init left (of ${#INIT_START[@]})"
	is "$(cgroups_left | head -5)" "" "$1: no cgroup left"
	is "$(top_left | head -5)" "" "$1: no $G/default or $G parent group left"
	is "$(mounts_left | head -5)" "" "$1: no mount left"
	is "$(files_left | head -5)" "" "$1: no file left in the state's containers/"
	is "$(ls "$C" | wc -l)" "0" "$1: containers/ is empty"
}

vmfs_start --images "$T/images" || exit 1
G=$(cg_top)
[ -n "$G" ] || { echo "not ok 1 - host/info names cgroup_top"; exit 1; }

# --- 100 at once
t0=$SECONDS
ok "launch container s[1-$N]" "$XWRITE" "$D/ctl" "launch container s[1-$N]"
ok "start all" "$XWRITE" "$D/ctl" "start all"
echo "# start all of $N took $((SECONDS - t0)) s"
is "$(running_count)" "$N" "all $N RUNNING in ns info"
record_inits
is "${#INIT_START[@]}" "$N" "ns info has $N distinct init pids"
alive=0
for pid in "${!INIT_START[@]}"; do same_proc "$pid" "${INIT_START[$pid]}" && alive=$((alive + 1)); done
is "$alive" "$N" "all $N inits are alive"
is "$(shims)" "$N" "one shim each"
is "$(ls -d /sys/fs/cgroup/pids/"$G"/default/s* /sys/fs/cgroup/"$G"/default/s* 2>/dev/null |
	grep -cE '/s[0-9]+$')" "$N" "one cgroup each"
is "$(grep -F "$S" /proc/mounts | grep -c overlay)" "$N" "one overlay each"
like "$(timeout 2 cat "$C/s$N/console")" "vmfs container s$N is up" "the last one's console has its banner"

t0=$SECONDS
ok "kill all" "$XWRITE" "$D/ctl" "kill all"
echo "# kill all of $N took $((SECONDS - t0)) s"
is "$(col state | awk '$1 ~ /^s[0-9]+$/ && $2=="QUIT"' | wc -l)" "$N" "all $N QUIT"
ok "flush all" "$XWRITE" "$D/ctl" "flush all"
nothing_left "after kill all + flush all of $N"

# --- 20 running with console input, then kill -9 vmfs and adoption
ok "launch container s[1-$K] (the names again)" "$XWRITE" "$D/ctl" "launch container s[1-$K]"
ok "start all" "$XWRITE" "$D/ctl" "start all"
is "$(running_count)" "$K" "all $K RUNNING"
record_inits
declare -A PID_OF=()
while read -r name pid; do PID_OF[$name]=$pid; done < <(col pid)
followers=()
for i in $(seq 1 $K); do
	cat "$C/s$i/console" >"$T/console.s$i" 2>&1 &
	followers+=($!)
done
for i in $(seq 1 $K); do
	printf 'echo before-s%d-$((%d*7))\n' "$i" "$i" >"$C/s$i/console"
done
typed=0
for i in $(seq 1 $K); do
	wait_for 10 grep -q "before-s$i-$((i * 7))" "$T/console.s$i" && typed=$((typed + 1))
done
is "$typed" "$K" "input typed into each of the $K consoles ran"
kill "${followers[@]}" 2>/dev/null
wait "${followers[@]}" 2>/dev/null

vmfs_kill9
alive=0
for pid in "${!INIT_START[@]}"; do same_proc "$pid" "${INIT_START[$pid]}" && alive=$((alive + 1)); done
is "$alive" "$K" "the $K inits outlive vmfs"
vmfs_start --images "$T/images" || exit 1
is "$(running_count)" "$K" "after the restart, all $K RUNNING"
same=0
while read -r name pid; do
	[[ $name =~ ^s[0-9]+$ ]] && [ -n "${PID_OF[$name]:-}" ] && [ "${PID_OF[$name]}" = "$pid" ] &&
		same_proc "$pid" "${INIT_START[$pid]:-}" && same=$((same + 1))
done < <(col pid)
is "$same" "$K" "each with the same init (pid and start time)"
readers=()
for i in $(seq 1 $K); do
	timeout 2 cat "$C/s$i/console" >"$T/replay.s$i" 2>&1 &
	readers+=($!)
done
wait "${readers[@]}"
banner=0 marker=0
for i in $(seq 1 $K); do
	grep -q "vmfs container s$i is up" "$T/replay.s$i" && banner=$((banner + 1))
	grep -q "before-s$i-$((i * 7))" "$T/replay.s$i" && marker=$((marker + 1))
done
is "$banner" "$K" "each console replays its scrollback: the banner"
is "$marker" "$K" "each console replays its scrollback: the marker typed before"
followers=()
for i in $(seq 1 $K); do
	cat "$C/s$i/console" >"$T/console.s$i" 2>&1 &
	followers+=($!)
done
for i in $(seq 1 $K); do
	printf 'echo after-s%d-$((%d*11))\n' "$i" "$i" >"$C/s$i/console"
done
typed=0
for i in $(seq 1 $K); do
	wait_for 10 grep -q "after-s$i-$((i * 11))" "$T/console.s$i" && typed=$((typed + 1))
done
is "$typed" "$K" "each console accepts input after the restart"

killed=0 quit=0 gone=0
for i in $(seq 1 $K); do
	"$XWRITE" "$C/s$i/ctl" kill >/dev/null && killed=$((killed + 1))
	[ "$(cat "$C/s$i/state")" = QUIT ] && quit=$((quit + 1))
	pid=${PID_OF[s$i]}
	same_proc "$pid" "${INIT_START[$pid]:-}" || gone=$((gone + 1))
done
is "$killed" "$K" "ctl kill of each adopted container succeeds"
is "$quit" "$K" "each is QUIT"
is "$gone" "$K" "each init is gone"
is "$(awk '$1=="exit"{$1=""; print substr($0,2)}' "$C/s1/info")" "killed KILL" "info says how it ended"
ok "console readers see the end" wait_for 5 sh -c "! ps -o pid= -p '${followers[*]}' >/dev/null"
kill "${followers[@]}" 2>/dev/null
wait "${followers[@]}" 2>/dev/null
ok "flush all" "$XWRITE" "$D/ctl" "flush all"
nothing_left "after the restart, kill and flush of $K"
vmfs_stop
done_testing
