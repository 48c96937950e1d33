# shellcheck shell=bash
# A real etcd for a test, on loopback (a library: tests/run runs no *_lib.sh itself): sourced
# after lib.sh, which gives $T and the cleanup that runs $EXTRA_CLEANUP.
#   etcd_start NAME [ARGS...]        one node, its data in $T/etcd-NAME; sets ETCD_URL_NAME
#   etcd_cluster3 [ARGS...]          three nodes e1 e2 e3 of one cluster; sets ETCD_URLS
#   etcd_kill NAME                   kills one node (through its pid, as it was started)
#   etcd_fake                        a false etcd speaking gRPC (tests/tools/fakeetcd.mjs,
#                                    Node) in $T/fake, killed at the end; sets ETCD_FAKE_URL;
#                                    `reply JSON` sets what it answers to every request (the
#                                    JSON spec at the head of fakeetcd.mjs: HTTP status, gRPC
#                                    status and message, the messages as protobuf fields...)
#   etcd_leader                      the name (e1...) of the node that leads
# Member hosts, each a vmfs in a network namespace of its own on one bridge the test makes
# (etcd then listens on the bridge's address, ETCD_HOST, instead of loopback):
#   etcd_net                         the bridge $ETCD_ID-br with 10.R.0.1/24 (before etcd_start)
#   etcd_members N URLS [CONF...]    h1..hN: netns $ETCD_ID-hI (eth0 10.R.0.(10+I), veth
#                                    $ETCD_ID-hI on the bridge), a UTS namespace (host name
#                                    hI), vmfs -f --state $T/hI/state on $T/hI/mnt with
#                                    $T/hI/vmfs.conf: etcd = URLS, cluster = $ETCD_CLUSTER,
#                                    cluster_addr = its address, and CONF lines
#   etcd_member_start I [NAME]       starts member I again (as host NAME, default hI, with
#                                    state $ETCD_STATE_I: set it to start a second machine)
#   etcd_member_stop I               unmounts it as a user does, waits for its exit
#   etcd_cut I / etcd_restore I      member I's link down (packets lost) / up again
# ETCD_MNT_I, ETCD_ADDR_I, ETCD_PID_I (its vmfs) per member. All of it goes at the end, on any
# exit: the members unmounted and their vmfs ended (SIGKILL after 10 s), then the links,
# namespaces and bridge (found by the names this test made), then etcd.
# ARGS go to each etcd (TLS: --cert-file ... --client-cert-auth); with ETCD_SCHEME=https the
# client URLs are https://, and ETCD_CTL_TLS holds etcdctl's flags for the health check.
# Each node is waited for with `etcdctl endpoint health` and killed through its pid at the
# end, even if the test fails.
ETCD_SCHEME=${ETCD_SCHEME:-http}
ETCD_CTL_TLS=()
ETCD_PIDS=()
ETCD_HOST=127.0.0.1
ETCD_ID=ve$$
ETCD_CLUSTER=${ETCD_CLUSTER:-lab}
ETCD_N=0
ETCD_NET=
EXTRA_CLEANUP="${EXTRA_CLEANUP:+$EXTRA_CLEANUP; }etcd_members_down; etcd_stop_all; etcd_net_down"

if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
	echo "not ok 1 - etcd and etcdctl are installed (./setup --deps: etcd-server, etcd-client)"
	exit 1
fi

etcd_stop_all() {
	local p
	for p in "${ETCD_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${ETCD_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	ETCD_PIDS=()
}

# etcd_node NAME CLUSTER STATE ARGS...: starts one node whose ports are in $T/etcd-NAME/ports
etcd_node() {
	local name=$1 cluster=$2 state=$3 d=$T/etcd-$1
	shift 3
	local client peer
	read -r client peer <"$d/ports"
	ETCDCTL_API=3 etcd --name "$name" --data-dir "$d/data" \
		--listen-client-urls "$ETCD_SCHEME://$ETCD_HOST:$client" \
		--advertise-client-urls "$ETCD_SCHEME://$ETCD_HOST:$client" \
		--listen-peer-urls "http://$ETCD_HOST:$peer" \
		--initial-advertise-peer-urls "http://$ETCD_HOST:$peer" \
		--initial-cluster "$cluster" --initial-cluster-state "$state" \
		--initial-cluster-token "vmfs-test-$$" "$@" >"$d/log" 2>&1 &
	echo $! >"$d/pid"
	ETCD_PIDS+=($!)
	printf -v "ETCD_URL_$name" '%s://%s:%s' "$ETCD_SCHEME" "$ETCD_HOST" "$client"
}

etcd_ports() { # etcd_ports NAME: two free ports for NAME, in $T/etcd-NAME/ports
	mkdir -p "$T/etcd-$1"
	local a b
	a=$(free_port)
	b=$(free_port)
	echo "$a $b" >"$T/etcd-$1/ports"
}

etcd_healthy() { # etcd_healthy URLS: every one of URLS answers etcdctl's health check
	ETCDCTL_API=3 etcdctl --endpoints "$1" "${ETCD_CTL_TLS[@]}" --command-timeout 2s \
		endpoint health >/dev/null 2>&1
}

etcd_wait() { # etcd_wait URLS: until healthy (20 s), else a failed test with etcd's log
	wait_for 20 etcd_healthy "$1" && return 0
	echo "not ok - etcd at $1 became healthy"
	local f
	for f in "$T"/etcd-*/log; do
		echo "# $f:"; tail -n 15 "$f" | sed 's/^/#   /'
	done
	exit 1
}

etcd_start() {
	local name=$1
	shift
	etcd_ports "$name"
	local peer
	read -r _ peer <"$T/etcd-$name/ports"
	etcd_node "$name" "$name=http://$ETCD_HOST:$peer" new "$@"
	local v=ETCD_URL_$name
	etcd_wait "${!v}"
}

etcd_cluster3() {
	local n cluster="" peer
	for n in e1 e2 e3; do
		etcd_ports "$n"
		read -r _ peer <"$T/etcd-$n/ports"
		cluster="${cluster:+$cluster,}$n=http://$ETCD_HOST:$peer"
	done
	for n in e1 e2 e3; do
		etcd_node "$n" "$cluster" new "$@"
	done
	# shellcheck disable=SC2154 # set by etcd_node
	ETCD_URLS="$ETCD_URL_e1,$ETCD_URL_e2,$ETCD_URL_e3"
	etcd_wait "$ETCD_URLS"
}

etcd_kill() { # etcd_kill NAME: SIGKILL to that node, as a crash
	local p
	p=$(cat "$T/etcd-$1/pid")
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	local keep=() q
	for q in "${ETCD_PIDS[@]}"; do
		[ "$q" = "$p" ] || keep+=("$q")
	done
	ETCD_PIDS=("${keep[@]}")
}

etcd_fake() {
	mkdir -p "$T/fake"
	node "$ROOT/tests/tools/fakeetcd.mjs" "$T/fake" 2>"$T/fake/err" &
	EXTRA_CLEANUP="kill $! 2>/dev/null; $EXTRA_CLEANUP"
	wait_for 5 test -s "$T/fake/port"
	# shellcheck disable=SC2034 # for the test that sourced this
	ETCD_FAKE_URL=http://127.0.0.1:$(cat "$T/fake/port")
}

reply() { printf '%s\n' "$1" >"$T/fake/reply"; }

etcd_leader() { # etcd_leader: the name of the node that leads (its status says so)
	local n u st
	for n in e1 e2 e3; do
		u=ETCD_URL_$n
		[ -n "${!u:-}" ] || continue
		st=$(ETCDCTL_API=3 etcdctl --endpoints "${!u}" "${ETCD_CTL_TLS[@]}" --command-timeout 2s \
			endpoint status -w fields 2>/dev/null) || continue
		[ -n "$st" ] && [ "$(printf '%s\n' "$st" | sed -n 's/^"MemberID" : //p')" = \
			"$(printf '%s\n' "$st" | sed -n 's/^"Leader" : //p')" ] && { echo "$n"; return 0; }
	done
	return 1
}

etcd_elected() { # etcd_elected: until a live node leads (20 s), as after a kill of the leader
	wait_for 20 etcd_leader >/dev/null
}

_etcd_free24() { # _etcd_free24 R: no route but the default overlaps 10.R.0.0/24
	[ -z "$(ip -4 route show table all root "10.$1.0.0/24")" ] &&
		! ip -4 route show table all match "10.$1.0.0/24" | grep -qv '^default '
}

etcd_net() {
	local i r=
	for i in $(seq 0 149); do
		r=$((100 + ($$ + 77 + i) % 150))
		_etcd_free24 "$r" && break
		r=
	done
	[ -n "$r" ] || { echo "not ok - a free 10.R.0.0/24 for the test's bridge"; exit 1; }
	ip link add "$ETCD_ID-br" type bridge || exit 1
	ETCD_NET=10.$r.0
	ip addr add "$ETCD_NET.1/24" dev "$ETCD_ID-br" && ip link set "$ETCD_ID-br" up || exit 1
	ETCD_HOST=$ETCD_NET.1
}

etcd_net_down() {
	[ -n "$ETCD_NET" ] || return 0
	ip link del "$ETCD_ID-br" 2>/dev/null
	ETCD_NET=
}

# etcd_member_start I [NAME]: member I's vmfs (its holder: a UTS namespace, in its netns)
etcd_member_start() {
	local i=$1 name=${2:-h$1} d=$T/h$1 st
	st=ETCD_STATE_$i
	mkdir -p "$d/mnt" "${!st}"
	: >"$d/vmfs.pid"
	# shellcheck disable=SC2016 # for the inner shell
	unshare --uts -- nsenter --net="/run/netns/$ETCD_ID-h$i" -- sh -c \
		'hostname "$1" && echo $$ >"$2/vmfs.pid" && exec "$3" -f --state "$4" --conf "$2/vmfs.conf" "$2/mnt"' \
		_ "$name" "$d" "$VMFS" "${!st}" </dev/null 2>>"$d/vmfs.err" &
	disown # found through $d/vmfs.pid; a test may kill it (no "Killed" line from bash)
	local end=$(($(date +%s%3N) + 20000)) p
	while [ "$(date +%s%3N)" -lt $end ]; do
		p=$(cat "$d/vmfs.pid" 2>/dev/null)
		if [ -n "$p" ] && ! kill -0 "$p" 2>/dev/null; then
			echo "# member h$i's vmfs died at start:"; sed 's/^/#   /' "$d/vmfs.err"
			return 1
		fi
		if [ -n "$p" ] && grep -q " $d/mnt fuse" /proc/mounts && cat "$d/mnt/version" >/dev/null 2>&1; then
			printf -v "ETCD_PID_$i" %s "$p"
			return 0
		fi
		sleep 0.05
	done
	echo "# member h$i's vmfs did not mount within 20 s"
	return 1
}

etcd_member_stop() { # etcd_member_stop I: as a user unmounts it; its vmfs ends (10 s)
	local i=$1 p v=ETCD_PID_$1
	p=${!v:-}
	fusermount3 -u "$T/h$i/mnt" 2>/dev/null || fusermount3 -uz "$T/h$i/mnt" 2>/dev/null
	[ -n "$p" ] || return 0
	local end=$(($(date +%s%3N) + 10000))
	while kill -0 "$p" 2>/dev/null && ! gone "$p"; do
		[ "$(date +%s%3N)" -ge $end ] && { kill -KILL "$p" 2>/dev/null; break; }
		sleep 0.05
	done
	printf -v "ETCD_PID_$i" %s ""
	sanitizer_check "$T/h$i/vmfs.err" "member h$i's vmfs"
}

etcd_members() { # etcd_members N URLS [CONF...]
	local n=$1 urls=$2 i d addr
	shift 2
	ETCD_N=$n
	for i in $(seq 1 "$n"); do
		d=$T/h$i
		addr=$ETCD_NET.$((10 + i))
		printf -v "ETCD_ADDR_$i" %s "$addr"
		printf -v "ETCD_MNT_$i" %s "$d/mnt"
		printf -v "ETCD_STATE_$i" %s "$d/state"
		mkdir -p "$d"
		{
			printf '[vmfs]\netcd = %s\ncluster = %s\ncluster_addr = %s\n' "$urls" "$ETCD_CLUSTER" "$addr"
			local l
			for l in "$@"; do printf '%s\n' "$l"; done
		} >"$d/vmfs.conf"
		ip netns add "$ETCD_ID-h$i" || return 1
		ip link add "$ETCD_ID-h$i" type veth peer name eth0 netns "$ETCD_ID-h$i" || return 1
		ip link set "$ETCD_ID-h$i" master "$ETCD_ID-br" up || return 1
		ip -n "$ETCD_ID-h$i" addr add "$addr/24" dev eth0 &&
			ip -n "$ETCD_ID-h$i" link set eth0 up &&
			ip -n "$ETCD_ID-h$i" link set lo up || return 1
	done
	for i in $(seq 1 "$n"); do
		etcd_member_start "$i" || return 1
	done
}

# etcd_wr FILE TEXT: one write, the answer read back on the same descriptor, then errno=NAME
# (ok): its lines joined by ';' (grep takes a pattern's lines as patterns of their own)
etcd_wr() {
	python3 -c '
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
e = "ok"
try:
    os.write(fd, sys.argv[2].encode())
except OSError as x:
    e = errno.errorcode[x.errno]
print(";".join(os.read(fd, 65536).decode().splitlines() + ["errno=" + e]))' "$1" "$2"
}
etcd_cut() { ip link set "$ETCD_ID-h$1" down; }
etcd_restore() { ip link set "$ETCD_ID-h$1" up; }

etcd_members_down() {
	local i g tops=()
	for i in $(seq 1 "$ETCD_N"); do
		etcd_restore "$i" 2>/dev/null # a clean stop, not a lapse
		local v=ETCD_PID_$i
		[ -n "${!v:-}" ] && kill -CONT "${!v}" 2>/dev/null
		tops+=("$(etcd_cgroup_top "$i")")
		etcd_member_stop "$i"
	done
	# what a member's vmfs left in the cgroup trees (found by its own cgroup_top): said, removed
	for g in "${tops[@]}"; do
		[ -n "$g" ] && [ "$g" != vmfs ] || continue
		for g in $(find /sys/fs/cgroup/*/"$g" /sys/fs/cgroup/"$g" -depth -mindepth 1 -type d 2>/dev/null); do
			echo "# a member's vmfs left the cgroup $g"
			rmdir "$g" 2>/dev/null
		done
	done
	for i in $(seq 1 "$ETCD_N"); do
		ip link del "$ETCD_ID-h$i" 2>/dev/null
		ip netns del "$ETCD_ID-h$i" 2>/dev/null
	done
	ETCD_N=0
}

# etcd_one: the bridge and one etcd node on it; U is its URL, P the cluster's key prefix
etcd_one() {
	etcd_net && etcd_start one || { echo "not ok 1 - one etcd node starts"; exit 1; }
	# shellcheck disable=SC2154 # set by etcd_start
	U=$ETCD_URL_one P=/vmfs/$ETCD_CLUSTER
}

mnt() { local v=ETCD_MNT_$1; printf '%s' "${!v:-}"; } # mnt I: member I's mount point

# etcd_ns_make I NS: member I holds a copy of NS. Made by mkdir there; but once another host has
# published NS, member I sees the cluster's (its mkdir is EEXIST): then it joins by adding hI to
# NS's hosts, which makes its copy from the record (the race of two hosts making one namespace)
etcd_ns_make() {
	local m=$T/h$1/mnt hs
	mkdir "$m/ns/$2" 2>/dev/null && return 0
	[ -d "$T/h$1/state/ns/$2" ] && return 0
	hs=$(cat "$m/ns/$2/hosts") || return 1
	printf '%s h%s\n' "$hs" "$1" >"$m/ns/$2/hosts" || return 1
	wait_for 5 test -d "$T/h$1/state/ns/$2"
}

# The cluster's keys as a test reads them, through etcdctl at $U (the test's etcd URL):
ectl() { ETCDCTL_API=3 etcdctl --endpoints "$U" --command-timeout 2s "$@"; }
val() { ectl get --print-value-only "$1"; }                      # val KEY: its value
field() { val "$1" | sed -n "s/^$2=//p"; }                       # field KEY NAME: one line of a record
has() { [ -n "$(ectl get --keys-only "$1")" ]; }                 # has KEY
hasnt() { [ -z "$(ectl get --keys-only "$1")" ]; }               # hasnt KEY
count() { ectl get --prefix --keys-only "$1" | grep -c .; }      # count PREFIX: keys under it
count_is() { [ "$(count "$2")" = "$1" ]; }                       # count_is N PREFIX

# etcd_cgroup_top I: the top of member I's cgroups (its host/info), "" when it does not answer
etcd_cgroup_top() {
	local m
	m=$(mnt "$1")
	[ -n "$m" ] && grep -q " $m fuse" /proc/mounts || return 0
	timeout 5 awk '$1=="cgroup_top"{print $2}' "$m/host/info" 2>/dev/null
}

# etcd_flush_all: every member's containers and VMs of ns/default killed and flushed, each
# through its own tree (for a test's EXTRA_CLEANUP, before etcd_members_down)
etcd_flush_all() {
	local i d
	for i in $(seq 1 "$ETCD_N"); do
		d=$T/h$i/mnt/ns/default
		grep -q " $T/h$i/mnt fuse" /proc/mounts && [ -e "$d/ctl" ] || continue
		timeout 20 sh -c 'echo "kill all" >"$1/ctl"; echo "flush all" >"$1/ctl"' _ "$d" 2>/dev/null
	done
}
