# Shared by the fault tests, on top of the integration tests' lib.sh (a real mount on $M with
# its state in $S): finds every process, mount, cgroup and network device of this vmfs through
# its state directory (never by a name pattern), tells which of them no running object holds,
# and removes them all at the end, whatever happened.
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

CG_ROOT=${VMFS_CGROUP_ROOT:-/sys/fs/cgroup}
CG_TOP=   # cgroup_top of host/info: vmfs-HASH, from the state directory's path
NET_PREFIX= # the start of every network device this vmfs makes, from host/info

fault_learn() { # reads this vmfs's cgroup and device names from host/info (once, while mounted)
	CG_TOP=$(awk '$1=="cgroup_top"{print $2}' "$M/host/info")
	NET_PREFIX=$(sed -n 's/^network a bridge per VLAN (\([^.]*\)\.VID).*/\1/p
		s/^network vlan-filtering bridge \([^ ]*\)0\b.*/\1/p' "$M/host/info")
	[ -n "$CG_TOP" ] && [ -n "$NET_PREFIX" ]
}

# start time of a process (field 22 of stat), "" if it is gone or a zombie
starttime() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	set -- $s
	[ "$1" = Z ] && return 1
	echo "${20}"
}

rec_alive() { # rec_alive FILE: the process a pid file records ("PID [STARTTIME]") still runs
	local pid st now
	[ -f "$1" ] && read -r pid st <"$1" || return 1
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	now=$(starttime "$pid") || return 1
	[ -z "$st" ] || [ "$st" = "$now" ]
}

cg_dirs() { # the cgroup directories of this vmfs, one per hierarchy (v1) or one (v2)
	local h
	[ -n "$CG_TOP" ] || return 0
	for h in "$CG_ROOT" "$CG_ROOT"/*; do
		[ -d "$h/$CG_TOP" ] && echo "$h/$CG_TOP"
	done
}

obj_of() { # obj_of PATH: NS/KIND/NAME of the object a path under $S belongs to, or "-"
	local rest=${1#"$S"/ns/}
	[ "$rest" = "$1" ] && { echo -; return; }
	local IFS=/
	set -- $rest
	if [ $# -ge 3 ] && { [ "$2" = vms ] || [ "$2" = containers ]; }; then echo "$1/$2/$3"; else echo -; fi
}

# every process found through $S, as "PID OBJECT" (OBJECT is NS/KIND/NAME or -): its working
# directory, an open file or its command line under $S, a pid file under $S that names it, or
# a cgroup of this vmfs; vmfs itself is left out
fault_procs() {
	local l pid path cg f
	{
		find /proc/[0-9]*/cwd /proc/[0-9]*/fd -maxdepth 1 -lname "$S/*" -printf '%p %l\n' 2>/dev/null |
			while read -r l path; do
				pid=${l#/proc/}; pid=${pid%%/*}
				echo "$pid $(obj_of "$path")"
			done
		printf '%s/\n' "$S" >"$T/fault.pat"
		for f in $(grep -lasF -f "$T/fault.pat" /proc/[0-9]*/cmdline 2>/dev/null); do
			pid=${f#/proc/}; pid=${pid%/cmdline}
			path=$(tr '\0' '\n' <"$f" 2>/dev/null | grep -o "$S/ns/[^,[:space:]]*" | head -1)
			echo "$pid $(obj_of "${path:-x}")"
		done
		# only files with a start time: a bare pid (qemu.pid) may name a reused pid, and
		# whatever this finds, the sweep kills (a QEMU is found by its open files anyway)
		find "$S" -path '*/run/*' \( -name pid -o -name shim.pid \) 2>/dev/null |
			while read -r f; do
				[ "$(wc -w <"$f" 2>/dev/null)" = 2 ] && rec_alive "$f" && echo "$(awk '{print $1}' "$f") $(obj_of "$f")"
			done
		for cg in $(cg_dirs); do
			find "$cg" -name cgroup.procs 2>/dev/null | while read -r f; do
				local rel=${f#"$cg"/}
				local IFS=/
				set -- $rel
				local o=-
				[ $# -ge 3 ] && o="$1/containers/$2"
				while read -r pid; do echo "$pid $o"; done <"$f"
			done
		done
	} | awk -v self="${VMFS_PID:-0}" '$1!=self && !seen[$1]++' | while read -r pid o; do
		starttime "$pid" >/dev/null && echo "$pid $o"
	done
}

fault_mounts() { # mount points under $S, deepest first
	awk -v s="$S/" 'index($5, s)==1 {print $5}' /proc/self/mountinfo | sort -r | uniq
}

fault_cgroups() { # every cgroup of an object: DIR/NS/NAME in each hierarchy
	local cg
	for cg in $(cg_dirs); do
		find "$cg" -mindepth 2 -maxdepth 2 -type d 2>/dev/null
	done
}

fault_devices() { # network devices whose name starts with this vmfs's prefix
	[ -n "$NET_PREFIX" ] || return 0
	ip -o link show 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print $2}' |
		while read -r d; do [ "${d#"$NET_PREFIX"}" != "$d" ] && echo "$d"; done
}

stop_clean() { # one TAP line: vmfs unmounts and exits cleanly, without a sanitizer's report
	[ -n "$VMFS_PID" ] || return 0 # it did not mount again: that was said
	TAP_N=$((TAP_N + 1))
	if vmfs_stop; then
		echo "ok $TAP_N - vmfs unmounts and exits cleanly, without a sanitizer's report"
	else
		echo "not ok $TAP_N - vmfs unmounts and exits cleanly, without a sanitizer's report"
		TAP_FAIL=$((TAP_FAIL + 1))
	fi
}

# Ends and removes everything found through $S: the last step of every fault test, run from
# the EXIT trap even when the test failed. vmfs is stopped first so it starts nothing anew.
fault_sweep() {
	local i pid o n=0 m c d
	if [ -n "$VMFS_PID" ]; then
		[ -e "$M/ns/default/ctl" ] && timeout 20 "$XWRITE" "$M/ns/default/ctl" "kill all" >/dev/null 2>&1
		fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M" 2>/dev/null
		kill "$VMFS_PID" 2>/dev/null
		wait "$VMFS_PID" 2>/dev/null
		VMFS_PID=
	fi
	for i in 1 2 3 4 5; do
		local found=$(fault_procs)
		[ -z "$found" ] && break
		while read -r pid o; do kill -9 "$pid" 2>/dev/null && n=$((n + 1)); done <<<"$found"
		sleep 0.3
	done
	m=$(fault_mounts)
	for d in $m; do umount -l "$d" 2>/dev/null; done
	c=0
	for i in 1 2 3; do
		for d in $(cg_dirs); do
			find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
		done
		[ -z "$(cg_dirs)" ] && break
		sleep 0.5
	done
	c=$(cg_dirs | wc -l)
	local devs=$(fault_devices)
	for d in $devs; do ip link del "$d" 2>/dev/null; done
	echo "# cleanup through \$S: $n processes killed, $(echo $m | wc -w) mounts detached, $(echo $devs | wc -w) devices removed, $c cgroup trees left"
}
