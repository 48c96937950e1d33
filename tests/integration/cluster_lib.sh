# Cluster tests: N member "hosts" on this one machine, for a head (the test itself, in the
# root namespaces) that reaches them over ssh and sshfs. Sourced after lib.sh:
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/cluster_lib.sh"
#   need_root
#   use_busybox_image              # optional: $T/images is shared by the members
#   CLUSTER_9P=1                   # optional: each member's vmfs serves 9P too (below)
#   cluster_setup 3 || exit 1
# Member I (h1..hN) is a network namespace $CLUSTER_ID-hI, with eth0 at 10.R.0.(10+I)/24
# (veth $CLUSTER_ID-hI on the root side, a port of the bridge $CLUSTER_ID-br, which has
# 10.R.0.1/24), a mount and a UTS namespace of its own (host name hI), an sshd on port 22 of
# its address and a vmfs: vmfs -f --state $T/hI/state --images $T/images $T/hI/mnt.
# sshd and vmfs are started by one shell (the member's "holder"), so an ssh session lands
# where the member's vmfs mount is: ssh root@ADDR cat $T/hI/mnt/version works.
# With CLUSTER_9P=1, each member's vmfs also serves its 9P door on ADDR:$CLUSTER_P9_PORT (to
# the head's address, acting as root) and on the socket $CLUSTER_SOCK_I, and `vmfs` is in
# the PATH of its ssh sessions: a head reaches it as 9p://ADDR:PORT or
# 9p+ssh://root@ADDR/SOCKET.
#
#   cluster_setup N          makes h1..hN and waits until each answers over ssh (false if not)
#   cluster_ssh I CMD...     runs CMD on member I over ssh (as ssh does: the words are joined
#                            and run by the remote shell; stdin is passed on, so give it
#                            </dev/null inside a while-read loop)
#   cluster_on I CMD...      runs CMD in member I's namespaces without ssh (nsenter)
#   cluster_var NAME I       prints CLUSTER_NAME_I (cluster_var ADDR 2)
#   cluster_ns_pids NSID...  the processes in these namespaces (CLUSTER_NSIDS_I lists member
#                            I's: net:[...] mnt:[...] uts:[...])
#   cluster_sshfs_opts       prints the sshfs options a head needs, as one -o argument:
#                            sshfs -o "$(cluster_sshfs_opts)" root@$CLUSTER_ADDR_2:$CLUSTER_MNT_2 DIR
#   cluster_cut I            the root side of member I's link goes down (packets are lost,
#                            nothing is refused); cluster_restore I brings it back
#   cluster_teardown         stops everything and checks that nothing is left (false if
#                            something was); also run by lib.sh's cleanup, on any exit. The
#                            head's FUSE mounts under $T (but $M) go first: keep the head's
#                            sshfs mounts under $T
# Exported: CLUSTER_N, CLUSTER_ID (vcPID: every name made starts with "$CLUSTER_ID-"),
# CLUSTER_KEY (the head's private key), CLUSTER_KNOWN (known_hosts with every member),
# CLUSTER_HEAD_ADDR (10.R.0.1), CLUSTER_BRIDGE, CLUSTER_SSHFS_OPTS (what cluster_sshfs_opts
# prints), CLUSTER_SETUP_MS, and for each member I: CLUSTER_ADDR_I, CLUSTER_MNT_I (the path to
# give in ssh://root@ADDR/PATH), CLUSTER_NS_I (its netns), CLUSTER_VETH_I (root side),
# CLUSTER_DIR_I ($T/hI), CLUSTER_STATE_I, CLUSTER_PID_I (the holder shell: nsenter -t PID
# -m -u -n enters the member), CLUSTER_SOCK_I (its 9P socket, with CLUSTER_9P).

if [ "${BASH_SOURCE[0]}" = "$0" ]; then # tests/run runs every *.sh: this one is no test
	echo "1..0 # cluster_lib.sh is sourced by the cluster tests, it tests nothing itself"
	exit 0
fi

SSHD=${SSHD:-/usr/sbin/sshd}
SFTP_SERVER=${SFTP_SERVER:-/usr/lib/openssh/sftp-server}
CLUSTER_N=
CLUSTER_ID=vc$$
CLUSTER_BRIDGE=$CLUSTER_ID-br
CLUSTER_CDIR=$T/cluster
CLUSTER_KEY=$CLUSTER_CDIR/id_ed25519
CLUSTER_KNOWN=$CLUSTER_CDIR/known_hosts
CLUSTER_HEAD_ADDR=
CLUSTER_SSHFS_OPTS=
CLUSTER_9P=${CLUSTER_9P:-}
CLUSTER_P9_PORT=5640
export CLUSTER_N CLUSTER_P9_PORT CLUSTER_ID CLUSTER_BRIDGE CLUSTER_KEY CLUSTER_KNOWN CLUSTER_HEAD_ADDR CLUSTER_SSHFS_OPTS

# the packages (./setup --deps installs them): missing ones fail the test, nothing skips
_cluster_missing=
for _c in "$SSHD:openssh-server" "$SFTP_SERVER:openssh-server" ssh:openssh-client \
	ssh-keygen:openssh-client sshfs:sshfs nsenter:util-linux unshare:util-linux ip:iproute2 \
	fusermount3:fuse3; do
	command -v "${_c%%:*}" >/dev/null 2>&1 || _cluster_missing+=" ${_c#*:} (${_c%%:*})"
done
if [ -n "$_cluster_missing" ]; then
	echo "not ok 1 - the cluster tests need openssh-server, openssh-client and sshfs (./setup --deps); missing:$_cluster_missing"
	echo "1..1"
	exit 1
fi
unset _c _cluster_missing

cluster_var() { # cluster_var NAME I: the value of CLUSTER_NAME_I (cluster_var ADDR 2)
	local v="CLUSTER_${1}_$2"
	printf '%s' "${!v:-}"
}

_cluster_ms() { echo $(($(date +%s%N) / 1000000)); }

_cluster_ssh_opts=()
_cluster_set_opts() {
	_cluster_ssh_opts=(-F /dev/null -i "$CLUSTER_KEY" -o IdentitiesOnly=yes
		-o UserKnownHostsFile="$CLUSTER_KNOWN" -o GlobalKnownHostsFile=/dev/null
		-o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=2
		-o ServerAliveInterval=1 -o ServerAliveCountMax=2 -o LogLevel=ERROR)
	# sshfs: vmfs files have size 0 and change under the reader: without direct_io a read
	# through sshfs returns nothing (the kernel stops at the size), and cached names and
	# attributes (dir_cache, the kernel's 1 s) would show objects that are gone or hide new
	# ones; sshfs_sync makes a ctl write wait for its answer, so that a refused command fails
	# the write (with EIO: SFTP carries no errno) instead of vanishing.
	CLUSTER_SSHFS_OPTS="IdentityFile=$CLUSTER_KEY,IdentitiesOnly=yes,UserKnownHostsFile=$CLUSTER_KNOWN"
	CLUSTER_SSHFS_OPTS+=",GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=yes,BatchMode=yes"
	CLUSTER_SSHFS_OPTS+=",reconnect,ServerAliveInterval=1,ServerAliveCountMax=2,ConnectTimeout=2"
	CLUSTER_SSHFS_OPTS+=",direct_io,dir_cache=no,attr_timeout=0,entry_timeout=0,negative_timeout=0"
	CLUSTER_SSHFS_OPTS+=",sshfs_sync"
	export CLUSTER_SSHFS_OPTS
}

cluster_sshfs_opts() { printf '%s\n' "$CLUSTER_SSHFS_OPTS"; }

cluster_ssh() { # cluster_ssh I CMD...
	local i=$1
	shift
	# shellcheck disable=SC2029 # the remote shell runs the words, as with ssh itself
	ssh "${_cluster_ssh_opts[@]}" "root@$(cluster_var ADDR "$i")" "$@"
}

cluster_on() { # cluster_on I CMD...: in member I's network, mount and UTS namespaces
	local i=$1
	shift
	nsenter -t "$(cluster_var PID "$i")" -n -m -u -- "$@"
}

_cluster_free() { # _cluster_free R: no route but the default overlaps 10.R.0.0/24
	[ -z "$(ip -4 route show table all root "10.$1.0.0/24")" ] &&
		! ip -4 route show table all match "10.$1.0.0/24" | grep -qv '^default '
}

# What the holder runs, in the member's new mount and UTS namespaces, in its netns:
#   member.sh NAME DIR VMFS IMAGES [VMFS OPTIONS...]
_cluster_member_script() {
	cat >"$CLUSTER_CDIR/member.sh" <<'EOF'
set -u
name=$1 d=$2 vmfs=$3 images=$4
fail() { echo "member $name: $*" >&2; exit 1; }
# This mount namespace began as a private copy of the host's. Copies of FUSE mounts and of
# netns handles would keep other tests' daemons and namespaces alive after they unmount them
# on the host (nothing propagates into a private copy): they go.
awk '$3 ~ /^(fuse|fuse\..*|fuseblk|nsfs)$/ {print $2}' /proc/self/mounts | tac |
	while read -r m; do umount -l "$(printf '%b' "$m")" 2>/dev/null; done
# /sys of this network namespace (as ip netns exec makes it), with the host's cgroups
if mountpoint -q /sys/fs/cgroup; then
	mkdir -p "$d/cgroup.move" && mount --rbind /sys/fs/cgroup "$d/cgroup.move" || fail "cgroup bind"
fi
umount -l /sys && mount -t sysfs sysfs /sys || fail "sysfs"
if [ -d "$d/cgroup.move" ]; then
	mount --move "$d/cgroup.move" /sys/fs/cgroup || fail "cgroup move"
	rmdir "$d/cgroup.move"
fi
# a /run of its own: sshd wants /run/sshd, which the host may not have
mount -t tmpfs -o mode=755,size=4m tmpfs /run && mkdir -m 755 /run/sshd || fail "/run"
echo "$name" >/proc/sys/kernel/hostname || fail "hostname"
"${SSHD:-/usr/sbin/sshd}" -D -e -f "$d/sshd_config" </dev/null 2>>"$d/sshd.log" &
echo $! >"$d/sshd.pid"
"$vmfs" -f --state "$d/state" --images "$images" "${@:5}" "$d/mnt" </dev/null 2>>"$d/vmfs.err" &
echo $! >"$d/vmfs.pid"
wait
EOF
}

cluster_setup() { # cluster_setup N
	local n=$1 i r='' d addr t0 pid
	t0=$(_cluster_ms)
	mkdir -p "$CLUSTER_CDIR" "$T/images"
	# a /24 no route of this machine overlaps, from a start of this test's own
	for i in $(seq 0 149); do
		r=$((100 + ($$ + i) % 150))
		_cluster_free "$r" && break
		r=
	done
	[ -n "$r" ] || { echo "# cluster: no free 10.R.0.0/24 for R in 100..249"; return 1; }
	CLUSTER_N=$n
	CLUSTER_HEAD_ADDR=10.$r.0.1
	ip link add "$CLUSTER_BRIDGE" type bridge || return 1
	ip addr add "$CLUSTER_HEAD_ADDR/24" dev "$CLUSTER_BRIDGE" &&
		ip link set "$CLUSTER_BRIDGE" up || return 1
	# another test may have taken the same /24 at the same moment
	if ip -4 route show table all root "10.$r.0.0/24" | grep -qv "dev $CLUSTER_BRIDGE "; then
		echo "# cluster: 10.$r.0.0/24 was taken meanwhile"
		return 1
	fi
	ssh-keygen -q -t ed25519 -N '' -C "head@$CLUSTER_ID" -f "$CLUSTER_KEY" || return 1
	cp "$CLUSTER_KEY.pub" "$CLUSTER_CDIR/authorized_keys"
	: >"$CLUSTER_KNOWN"
	_cluster_set_opts
	_cluster_member_script
	local p9env=
	if [ -n "$CLUSTER_9P" ]; then # `vmfs 9p-stdio` over ssh finds this build's vmfs
		mkdir -p "$CLUSTER_CDIR/bin"
		ln -sf "$(readlink -f "$VMFS")" "$CLUSTER_CDIR/bin/vmfs"
		p9env="SetEnv PATH=$CLUSTER_CDIR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	fi
	for i in $(seq 1 "$n"); do
		d=$T/h$i
		addr=10.$r.0.$((10 + i))
		printf -v "CLUSTER_ADDR_$i" %s "$addr"
		printf -v "CLUSTER_MNT_$i" %s "$d/mnt"
		printf -v "CLUSTER_NS_$i" %s "$CLUSTER_ID-h$i"
		printf -v "CLUSTER_VETH_$i" %s "$CLUSTER_ID-h$i"
		printf -v "CLUSTER_DIR_$i" %s "$d"
		printf -v "CLUSTER_STATE_$i" %s "$d/state"
		printf -v "CLUSTER_SOCK_$i" %s "$d/9p.sock"
		export "CLUSTER_ADDR_$i" "CLUSTER_MNT_$i" "CLUSTER_NS_$i" "CLUSTER_VETH_$i" \
			"CLUSTER_DIR_$i" "CLUSTER_STATE_$i" "CLUSTER_SOCK_$i"
		mkdir -p "$d/mnt" "$d/state"
		local p9args=()
		if [ -n "$CLUSTER_9P" ]; then
			printf '[vmfs]\np9_peers = %s\np9_user = root\n' "$CLUSTER_HEAD_ADDR" >"$d/vmfs.conf"
			p9args=(--conf "$d/vmfs.conf" --9p "$addr:$CLUSTER_P9_PORT" --9p-socket "$d/9p.sock")
		fi
		ip netns add "$CLUSTER_ID-h$i" || return 1
		ip link add "$CLUSTER_ID-h$i" type veth peer name eth0 netns "$CLUSTER_ID-h$i" || return 1
		ip link set "$CLUSTER_ID-h$i" master "$CLUSTER_BRIDGE" up || return 1
		ip -n "$CLUSTER_ID-h$i" addr add "$addr/24" dev eth0 &&
			ip -n "$CLUSTER_ID-h$i" link set eth0 up &&
			ip -n "$CLUSTER_ID-h$i" link set lo up || return 1
		ssh-keygen -q -t ed25519 -N '' -C "h$i@$CLUSTER_ID" -f "$d/ssh_host_ed25519_key" || return 1
		echo "$addr $(cut -d' ' -f1,2 "$d/ssh_host_ed25519_key.pub")" >>"$CLUSTER_KNOWN"
		cat >"$d/sshd_config" <<-EOF
			ListenAddress $addr:22
			HostKey $d/ssh_host_ed25519_key
			PidFile none
			PermitRootLogin prohibit-password
			AuthorizedKeysFile $CLUSTER_CDIR/authorized_keys
			PubkeyAuthentication yes
			PasswordAuthentication no
			KbdInteractiveAuthentication no
			UsePAM no
			UseDNS no
			StrictModes no
			PrintMotd no
			PrintLastLog no
			X11Forwarding no
			AllowTcpForwarding no
			MaxStartups 100
			ClientAliveInterval 2
			ClientAliveCountMax 3
			LogLevel INFO
			Subsystem sftp $SFTP_SERVER
			$p9env
		EOF
		# the holder: a new mount and UTS namespace, in the member's netns; it starts sshd
		# and vmfs, and lives as long as either does
		unshare --mount --uts --propagation private -- \
			nsenter --net="/run/netns/$CLUSTER_ID-h$i" -- \
			bash "$CLUSTER_CDIR/member.sh" "h$i" "$d" "$VMFS" "$T/images" "${p9args[@]}" >>"$d/holder.log" 2>&1 &
		printf -v "CLUSTER_PID_$i" %s $!
		export "CLUSTER_PID_$i"
	done
	# all start at once; then each must answer: its mount, its sshd, over ssh
	for i in $(seq 1 "$n"); do
		d=$T/h$i
		pid=$(cluster_var PID "$i")
		local end=$((SECONDS + 15)) up=
		while [ $SECONDS -lt $end ]; do
			if ! kill -0 "$pid" 2>/dev/null; then
				echo "# cluster: member h$i's holder died:"
				cat "$d/holder.log" "$d/vmfs.err" "$d/sshd.log" 2>/dev/null | sed 's/^/#   /'
				return 1
			fi
			if [ -s "$d/vmfs.pid" ] && ! kill -0 "$(cat "$d/vmfs.pid")" 2>/dev/null; then
				echo "# cluster: member h$i's vmfs died at start:"
				sed 's/^/#   /' "$d/vmfs.err"
				return 1
			fi
			if [ -s "$d/sshd.pid" ] && ! kill -0 "$(cat "$d/sshd.pid")" 2>/dev/null; then
				echo "# cluster: member h$i's sshd died at start:"
				sed 's/^/#   /' "$d/sshd.log"
				return 1
			fi
			[ -z "$(cluster_var NSIDS "$i")" ] && _cluster_record_ns "$i"
			if cluster_on "$i" cat "$d/mnt/version" </dev/null >/dev/null 2>&1 &&
				cluster_ssh "$i" cat "$d/mnt/version" </dev/null >/dev/null 2>&1; then
				up=1
				break
			fi
			sleep 0.05
		done
		if [ -z "$up" ]; then
			echo "# cluster: member h$i does not answer over ssh within 15 s"
			cat "$d/holder.log" "$d/sshd.log" 2>/dev/null | sed 's/^/#   /'
			return 1
		fi
	done
	CLUSTER_SETUP_MS=$(($(_cluster_ms) - t0))
	export CLUSTER_SETUP_MS
}

cluster_cut() { ip link set "$(cluster_var VETH "$1")" down; }

cluster_restore() { # the link is up again, and the bridge forwards on it
	local v
	v=$(cluster_var VETH "$1")
	ip link set "$v" up || return 1
	wait_for 5 sh -c "ip -o link show '$v' | grep -q 'LOWER_UP.* state UP'"
}

_cluster_record_ns() { # _cluster_record_ns I: notes member I's namespaces, once the holder
	# is in all of them; never ours, as a sweep of those would end everything on the machine
	local pid ns id ids=
	pid=$(cluster_var PID "$1")
	for ns in net mnt uts; do
		id=$(readlink "/proc/$pid/ns/$ns" 2>/dev/null) || return 1
		[ "$id" = "$(readlink "/proc/$$/ns/$ns")" ] && return 1
		ids+="$id "
	done
	printf -v "CLUSTER_NSIDS_$1" %s "$ids"
}

cluster_ns_pids() { # cluster_ns_pids NSID...: the processes in any of these namespaces
	# (NSID as readlink /proc/PID/ns/X prints it: net:[4026532382])
	local id args=()
	for id in "$@"; do
		[ ${#args[@]} = 0 ] || args+=(-o)
		args+=(-lname "$(printf '%s' "$id" | sed 's/[][*?\\]/\\&/g')")
	done
	[ ${#args[@]} = 0 ] && return 0
	find /proc/[0-9]*/ns/ -maxdepth 1 \( "${args[@]}" \) 2>/dev/null | cut -d/ -f3 | sort -un
}

_cluster_pids_of() { # _cluster_pids_of I: what runs in member I's namespaces (not the holder)
	local ids
	ids=$(cluster_var NSIDS "$1")
	{
		ip netns pids "$(cluster_var NS "$1")" 2>/dev/null
		# shellcheck disable=SC2086
		cluster_ns_pids $ids
	} | grep -vx "$(cluster_var PID "$1")" | sort -un
}

cluster_teardown() {
	[ -n "$CLUSTER_N" ] || return 0
	local rc=0 i m d pid vp sp end left
	# the head's sshfs mounts (any FUSE mount under $T but lib.sh's $M) go lazily, so that
	# none hangs, and their connections are aborted: an sshfs that something still uses (a
	# process with its cwd there) would live on, reconnecting to a member that is gone
	local devs=() mp dev
	while read -r dev mp; do
		devs+=("${dev#0:}")
		fusermount3 -uz "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null
	done < <(awk -v t="$T/" -v M="$M" '{ for (i = 7; $i != "-"; i++); }
		$(i + 1) ~ /^fuse/ && index($5, t) == 1 && $5 != M { print $3, $5 }' /proc/self/mountinfo | tac)
	# shellcheck disable=SC2016 # for the inner shell
	[ ${#devs[@]} -gt 0 ] && unshare --mount sh -c 'mount -t fusectl fusectl /sys/fs/fuse/connections &&
		for d; do [ -e "/sys/fs/fuse/connections/$d/abort" ] && echo 1 >"/sys/fs/fuse/connections/$d/abort"; done' \
		sh "${devs[@]}" 2>/dev/null
	for i in $(seq 1 "$CLUSTER_N"); do
		d=$T/h$i
		pid=$(cluster_var PID "$i")
		[ -n "$pid" ] || continue
		[ -z "$(cluster_var NSIDS "$i")" ] && kill -0 "$pid" 2>/dev/null && _cluster_record_ns "$i"
		vp=$(cat "$d/vmfs.pid" 2>/dev/null)
		sp=$(cat "$d/sshd.pid" 2>/dev/null)
		if kill -0 "$pid" 2>/dev/null; then
			# containers and VMs of every namespace, then the unmount a user makes
			timeout 20 nsenter -t "$pid" -m -- sh -c \
				"for c in '$d'/mnt/ns/*/ctl; do echo 'kill all' > \"\$c\"; done" 2>/dev/null
			timeout 10 nsenter -t "$pid" -m -- fusermount3 -u "$d/mnt" 2>/dev/null ||
				timeout 5 nsenter -t "$pid" -m -- fusermount3 -uz "$d/mnt" 2>/dev/null
		fi
		if [ -n "$vp" ]; then
			end=$((SECONDS + 10))
			while kill -0 "$vp" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.05; done
			if kill -0 "$vp" 2>/dev/null && ! gone "$vp"; then
				echo "# cluster: member h$i's vmfs still runs 10 s after its unmount: SIGTERM"
				kill -TERM "$vp" 2>/dev/null
				rc=1
			fi
		fi
		[ -n "$sp" ] && kill -TERM "$sp" 2>/dev/null
		# whatever else runs in its namespaces: ssh sessions, a stray shim
		for m in TERM KILL; do
			left=$(_cluster_pids_of "$i")
			[ -z "$left" ] && break
			# shellcheck disable=SC2086
			kill -"$m" $left 2>/dev/null
			end=$((SECONDS + 3))
			while [ -n "$(_cluster_pids_of "$i")" ] && [ $SECONDS -lt $end ]; do sleep 0.05; done
		done
		end=$((SECONDS + 5))
		while kill -0 "$pid" 2>/dev/null && ! gone "$pid" && [ $SECONDS -lt $end ]; do sleep 0.05; done
		kill -0 "$pid" 2>/dev/null && ! gone "$pid" && { kill -KILL "$pid" 2>/dev/null; rc=1; }
		wait "$pid" 2>/dev/null
		sanitizer_check "$d/vmfs.err" "member h$i's vmfs" || rc=1
	done
	for i in $(seq 1 "$CLUSTER_N"); do
		ip link del "$(cluster_var VETH "$i")" 2>/dev/null
		ip netns del "$(cluster_var NS "$i")" 2>/dev/null
	done
	ip link del "$CLUSTER_BRIDGE" 2>/dev/null
	left=$(ip netns list | grep "^$CLUSTER_ID-" | tr '\n' ' ')
	[ -n "$left" ] && { echo "# cluster: netns left: $left"; rc=1; }
	left=$(ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | grep "^$CLUSTER_ID-" | tr '\n' ' ')
	[ -n "$left" ] && { echo "# cluster: links left: $left"; rc=1; }
	CLUSTER_N=
	return $rc
}

# lib.sh's cleanup runs on any exit: the test's EXTRA_CLEANUP, then the head's vmfs stops,
# then the members go (before lib.sh removes $T: the head's sshfs mounts are in there).
declare -F _cluster_lib_cleanup >/dev/null || eval "_cluster_lib_cleanup() $(declare -f cleanup | tail -n +2)"
cleanup() {
	local x=${EXTRA_CLEANUP:-}
	EXTRA_CLEANUP=
	[ -n "$x" ] && eval "$x"
	if [ -n "$VMFS_PID" ]; then
		fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M" 2>/dev/null
		kill "$VMFS_PID" 2>/dev/null
		wait "$VMFS_PID" 2>/dev/null
		VMFS_PID=
		sanitizer_check
	fi
	cluster_teardown
	_cluster_lib_cleanup
}
