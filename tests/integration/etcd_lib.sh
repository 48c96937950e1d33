# shellcheck shell=bash
# A real etcd for a test, on loopback (a library: tests/run runs no *_lib.sh itself): sourced
# after lib.sh, which gives $T and the cleanup that runs $EXTRA_CLEANUP.
#   etcd_start NAME [ARGS...]        one node, its data in $T/etcd-NAME; sets ETCD_URL_NAME
#   etcd_cluster3 [ARGS...]          three nodes e1 e2 e3 of one cluster; sets ETCD_URLS
#   etcd_kill NAME                   kills one node (through its pid, as it was started)
#   etcd_fake                        a false etcd (tests/tools/fakeetcd.py) in $T/fake, killed
#                                    at the end; sets ETCD_FAKE_URL; `reply STATUS BODY` sets
#                                    what it answers
# ARGS go to each etcd (TLS: --cert-file ... --client-cert-auth); with ETCD_SCHEME=https the
# client URLs are https://, and ETCD_CTL_TLS holds etcdctl's flags for the health check.
# Each node is waited for with `etcdctl endpoint health` and killed through its pid at the
# end, even if the test fails.
ETCD_SCHEME=${ETCD_SCHEME:-http}
ETCD_CTL_TLS=()
ETCD_PIDS=()
EXTRA_CLEANUP="${EXTRA_CLEANUP:+$EXTRA_CLEANUP; }etcd_stop_all"

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
		--listen-client-urls "$ETCD_SCHEME://127.0.0.1:$client" \
		--advertise-client-urls "$ETCD_SCHEME://127.0.0.1:$client" \
		--listen-peer-urls "http://127.0.0.1:$peer" \
		--initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "$cluster" --initial-cluster-state "$state" \
		--initial-cluster-token "vmfs-test-$$" "$@" >"$d/log" 2>&1 &
	echo $! >"$d/pid"
	ETCD_PIDS+=($!)
	printf -v "ETCD_URL_$name" '%s://127.0.0.1:%s' "$ETCD_SCHEME" "$client"
}

etcd_ports() { # etcd_ports NAME: two free ports for NAME, in $T/etcd-NAME/ports
	mkdir -p "$T/etcd-$1"
	local a b
	a=$(free_port)
	b=$(free_port)
	while [ "$b" = "$a" ]; do b=$(free_port); done
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
	etcd_node "$name" "$name=http://127.0.0.1:$peer" new "$@"
	local v=ETCD_URL_$name
	etcd_wait "${!v}"
}

etcd_cluster3() {
	local n cluster="" peer
	for n in e1 e2 e3; do
		etcd_ports "$n"
		read -r _ peer <"$T/etcd-$n/ports"
		cluster="${cluster:+$cluster,}$n=http://127.0.0.1:$peer"
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
	python3 "$ROOT/tests/tools/fakeetcd.py" "$T/fake" 2>"$T/fake/err" &
	EXTRA_CLEANUP="kill $! 2>/dev/null; $EXTRA_CLEANUP"
	wait_for 5 test -s "$T/fake/port"
	# shellcheck disable=SC2034 # for the test that sourced this
	ETCD_FAKE_URL=http://127.0.0.1:$(cat "$T/fake/port")
}

reply() { printf '%s\n%s' "$1" "$2" >"$T/fake/reply"; }
