# shellcheck shell=bash
# Sourced by lib.sh and tests/canary: what a vmfs started and made (processes, cgroups,
# network devices, mounts), found through its own state directory and host/info, never by a
# name pattern (another vmfs on the host, a user's, has QEMUs and shims of the same names).

gone() { # gone PID: the process has ended (a zombie waiting for init to reap it counts)
	[ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

proc_start() { # proc_start PID: its start time (field 22 of /proc/PID/stat); fails once it
	local st # has ended (a zombie included)
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	set -- ${st##*) } # the fields after "PID (COMM) ", which may hold spaces
	[ "$1" != Z ] && [ "$1" != X ] && [ -n "${20:-}" ] && echo "${20}"
}

ours() { # ours [DIR]: "PID START" of each process vmfs started under DIR (default $S)
	local dir=${1:-$S} f p s c
	[ -d "$dir" ] || return 0
	{
		# the run/ files: "PID STARTTIME" (shim.pid, pid), or a bare pid (QEMU's qemu.pid)
		find "$dir" -xdev -path '*/run/*' \( -name shim.pid -o -name pid -o -name qemu.pid \) \
			-type f 2>/dev/null | while read -r f; do
			read -r p s <"$f" 2>/dev/null || continue
			case $p in '' | *[!0-9]*) continue ;; esac
			if [ -n "${s:-}" ]; then
				[ "$(proc_start "$p")" = "$s" ] && echo "$p $s"
			else # no start time: it must still be working in our directory
				c=$(readlink "/proc/$p/cwd" 2>/dev/null) &&
					[[ $c == "$dir"/* ]] && echo "$p $(proc_start "$p")"
			fi
		done
		# shims and QEMUs work in their run directories, even once they are deleted
		find /proc -mindepth 2 -maxdepth 2 -path '/proc/[0-9]*/cwd' -lname "$dir/*" 2>/dev/null |
			while read -r c; do
				p=${c#/proc/} p=${p%/cwd}
				s=$(proc_start "$p") && echo "$p $s"
			done
	} | sort -u
}

none_of_ours() { [ -z "$(ours "$@")" ]; } # none_of_ours [DIR]

kill_ours() { # kill_ours [DIR]: SIGKILL to every process of ours (see ours), no other; waits
	local p s killed=()
	while read -r p s; do
		[ "$(proc_start "$p")" = "$s" ] && kill -9 "$p" 2>/dev/null && killed+=("$p")
	done < <(ours "$@")
	for p in "${killed[@]}"; do
		for _ in $(seq 30); do gone "$p" && break; sleep 0.1; done
	done
	return 0
}

# What names this vmfs gives its cgroups and network devices: both derive from the state
# directory (host/info), so the cleanup removes ours and never another vmfs's.
OUR_CGTOP='' OUR_NETPREFIX=''
names_of_ours() {
	local info
	info=$(cat "$M/host/info" 2>/dev/null) || return 0
	OUR_CGTOP=$(printf '%s\n' "$info" | awk '$1=="cgroup_top"{print $2}')
	OUR_NETPREFIX=$(printf '%s\n' "$info" | sed -n 's/^network vlan-filtering bridge \(.*\)0$/\1/p
		s/^network a bridge per VLAN (\([^.]*\)\.VID).*/\1/p')
}

our_cgroups() { # deepest first
	[ -n "$OUR_CGTOP" ] && [ "$OUR_CGTOP" != vmfs ] || return 0
	find /sys/fs/cgroup/*/"$OUR_CGTOP" /sys/fs/cgroup/"$OUR_CGTOP" -depth -type d 2>/dev/null
}
our_devices() {
	[ -n "$OUR_NETPREFIX" ] && [ "$OUR_NETPREFIX" != vmfs ] || return 0
	ip -o link show 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print $2}' |
		grep -E "^$OUR_NETPREFIX([0.tv]|$)"
}

# After the test and its vmfs: whatever they left (processes, mounts under $T, cgroups,
# network devices of this state directory) is named on a comment line, then removed.
scrub_ours() {
	local left p g m d
	# under $T, not only $S: a second vmfs the test ran has its own state directory there
	left=$(ours "$T" | awk '{printf " process %s", $1}')
	kill_ours "$T"
	for g in $(our_cgroups); do
		left+=" cgroup $g"
		[ -e "$g/freezer.state" ] && echo THAWED >"$g/freezer.state" 2>/dev/null
		for p in $(cat "$g/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	for m in $(awk -v t="$T/" 'index($2, t) == 1 && $2 != t "mnt" {print $2}' /proc/mounts | sort -r); do
		left+=" mount $m"
		umount -l "$m" 2>/dev/null
	done
	for d in $(our_devices); do
		left+=" device $d"
		ip link del "$d" 2>/dev/null
	done
	for g in $(our_cgroups); do
		for p in $(seq 20); do rmdir "$g" 2>/dev/null && break; sleep 0.1; done
	done
	[ -z "$left" ] || printf '# left behind by the test, removed now:%s\n' "${left:0:2000}"
}
