#!/usr/bin/env bash
# Discovery with Avahi (mdns/): two network namespaces joined by a veth pair, each with its own
# D-Bus system bus and avahi-daemon (each daemon in a mount namespace of its own, with a tmpfs
# on /run/avahi-daemon for its pid file). A vmfs in A announces its web and 9P doors (announce
# on): avahi-browse in B sees them with their ports and TXT items. A vmfs in B, started before
# B's avahi-daemon, says in host/log that it is not reachable, then lists A's doors in
# hosts/discovered once the daemon is up, and not its own; of the two announcements under one
# host name, one is renamed. The 9P row's line added to B's hosts/ctl makes A a member, up over
# 9P. What else the LAN says (another program's web server, a vmfs= service with a bad host=)
# is not listed, the latter with a line in host/log. A's avahi-daemon ends and comes back: A's
# vmfs announces again. A's vmfs stopping takes its rows away. A vmfs with no D-Bus at all
# starts, says so and serves the tree. Everything the test made is found through its own
# variables (pids, names with its pid in them), never by a name pattern.
. "$(dirname "$0")/lib.sh"
need_root
for c in dbus-daemon avahi-daemon avahi-browse avahi-publish nsenter unshare ip curl; do
	command -v $c >/dev/null || { echo "not ok 1 - $c is installed (./setup --deps)"; exit 1; }
done

HOLD=() DAEMONS=() PID_B= VETH=vd$$a
EXTRA_CLEANUP='end_b; for p in ${DAEMONS[@]}; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for p in ${HOLD[@]}; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	ip link del "$VETH" 2>/dev/null'
end_b() {
	[ -n "$PID_B" ] || return 0
	fusermount3 -uz "$T/mnt2" 2>/dev/null
	kill "$PID_B" 2>/dev/null
	wait "$PID_B" 2>/dev/null
	PID_B=
}

# the namespaces: each held by a sleep of ours; the veth's ends go into them
declare -A NS ADDR IF AVAHI
for n in a b; do
	unshare --net sleep 600 &
	HOLD+=($!) NS[$n]=$!
done
sleep 0.2
IF[a]=vd$$a IF[b]=vd$$b ADDR[a]=10.254.0.1 ADDR[b]=10.254.0.2
ok "a veth pair joins the two namespaces" ip link add "${IF[a]}" type veth peer name "${IF[b]}"
for n in a b; do
	ip link set "${IF[$n]}" netns "${NS[$n]}"
	nsenter -t "${NS[$n]}" -n sh -c "ip link set lo up && ip addr add ${ADDR[$n]}/24 dev ${IF[$n]} &&
		ip link set ${IF[$n]} multicast on up"
done
# in_ns a|b CMD...: CMD in that network namespace, on its D-Bus (env and nsenter exec it: a
# daemon started so in the background has $! for its pid)
in_ns() { env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/$1/bus" nsenter -t "${NS[$1]}" -n "${@:2}"; }
in_ns_exec() { exec env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/$1/bus" nsenter -t "${NS[$1]}" -n "${@:2}"; }

start_bus() { # start_bus a|b: its own system bus, open to root (the test's daemons and vmfs)
	local n=$1
	mkdir -p "$T/$n"
	cat >"$T/$n/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/$n/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
	(in_ns_exec "$n" dbus-daemon --config-file="$T/$n/bus.conf" --nofork --nopidfile) 2>"$T/$n/dbus.err" &
	DAEMONS+=($!)
	wait_for 5 test -S "$T/$n/bus"
}

start_avahi() { # start_avahi a|b: on its veth only, IPv4, publishing nothing of its own
	local n=$1
	cat >"$T/$n/avahi.conf" <<EOF
[server]
host-name=vmfs-test-$n-$$
use-ipv4=yes
use-ipv6=no
allow-interfaces=${IF[$n]}
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-workstation=no
publish-hinfo=no
publish-addresses=yes
EOF
	# its pid file is /run/avahi-daemon/pid whatever it is told: a tmpfs of its own there
	# (and none of the test's mounts: a copy of a vmfs mount would outlive its unmount)
	(in_ns_exec "$n" unshare -m --propagation private sh -c "mkdir -p /run/avahi-daemon &&
		mount -t tmpfs tmpfs /run/avahi-daemon &&
		for m in \$(awk -v t='$T/' 'index(\$2, t) == 1 {print \$2}' /proc/mounts); do
			umount -l \$m; done && exec avahi-daemon --no-drop-root \
		--no-chroot --no-rlimits -f $T/$n/avahi.conf") >"$T/$n/avahi.log" 2>&1 &
	DAEMONS+=($!) AVAHI[$n]=$!
	wait_for 10 grep -q 'Server startup complete' "$T/$n/avahi.log"
}

browse_b() { # browse_b TYPE ADDR: what avahi-browse in B resolves of TYPE at ADDR, once it
	local i row # does (a daemon just started may say "all for now" before the LAN answers)
	for i in $(seq 10); do
		row=$(in_ns b timeout 8 avahi-browse -rpt "$1" 2>/dev/null | grep "^=.*;$2;")
		[ -n "$row" ] && break
		sleep 0.5
	done
	printf '%s\n' "$row"
}
as_b() { # as_b CMD...: a lib.sh function on B's vmfs (its mount, state and pid)
	local M=$T/mnt2 S=$T/state2 VMFS_PID=$PID_B
	"$@"
	local rc=$?
	PID_B=$VMFS_PID
	return $rc
}

ok "A's D-Bus starts" start_bus a
ok "A's avahi-daemon starts" start_avahi a
ok "B's D-Bus starts" start_bus b

HOST=$(hostname)
PORT=9001 P9PORT=5640
VMFS_PREFIX=(env DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/a/bus nsenter -t "${NS[a]}" -n)
# A's 9P door takes B's vmfs as a cluster's head (docs/tree.md, hosts/ctl)
printf '[vmfs]\np9_peers = %s\np9_user = root\n' "${ADDR[b]}" >"$T/a.conf"
vmfs_start --conf "$T/a.conf" --web "${ADDR[a]}:$PORT" --web-insecure --9p "${ADDR[a]}:$P9PORT" \
	--announce --discover || exit 1
ok "A's vmfs says it announced its web and 9P doors" wait_for 15 grep -q \
	"discovery: announced \"$HOST\": web door as _http._tcp port $PORT, 9p door as _vmfs-9p._tcp port $P9PORT" \
	"$M/host/log"

# B's vmfs first, B's avahi-daemon after: it waits for the daemon, then browses
mkdir -p "$T/mnt2"
VMFS_PREFIX=(env DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/b/bus nsenter -t "${NS[b]}" -n)
as_b vmfs_start --web "${ADDR[b]}:$PORT" --web-insecure --announce --discover || exit 1
ok "B's vmfs, before B's avahi-daemon: says so in host/log" \
	wait_for 5 grep -q "discovery: avahi-daemon not reachable: it is not running (waiting for it)" \
	"$T/mnt2/host/log"
ok "B's avahi-daemon starts" start_avahi b

row=$(browse_b _http._tcp "${ADDR[a]}")
like "$row" "^=;${IF[b]};IPv4;$HOST;Web Site;local;vmfs-test-a-$$\\.local;${ADDR[a]};$PORT;" \
	"avahi-browse in B resolves A's web door: its name is the host's, its address and port A's"
like "$row" "\"host=$HOST\"" "its TXT says the host's name"
like "$row" "\"vmfs=$(awk '{print $2}' "$M/version")\"" "its TXT says vmfs's version"
like "$row" '"path=/"' "its TXT says the path of the tree"
row=$(browse_b _vmfs-9p._tcp "${ADDR[a]}")
like "$row" "^=;${IF[b]};IPv4;$HOST;_vmfs-9p._tcp;local;vmfs-test-a-$$\\.local;${ADDR[a]};$P9PORT;" \
	"avahi-browse in B resolves A's 9P door"
like "$row" "\"host=$HOST\"" "its TXT says the host's name"
like "$row" "\"vmfs=$(awk '{print $2}' "$M/version")\"" "its TXT says vmfs's version"

want="$HOST	http	${ADDR[a]}	$PORT	$(awk '{print $2}' "$M/version")	http://${ADDR[a]}:$PORT/"
ok "B's vmfs lists A's web door in hosts/discovered once its avahi-daemon is up" \
	wait_for 20 grep -qxF "$want" "$T/mnt2/hosts/discovered"
want="$HOST	9p	${ADDR[a]}	$P9PORT	$(awk '{print $2}' "$M/version")	9p://${ADDR[a]}:$P9PORT"
ok "and A's 9P door, with the URL hosts/ctl add takes" \
	wait_for 10 grep -qxF "$want" "$T/mnt2/hosts/discovered"
d=$(cat "$T/mnt2/hosts/discovered")
is "$(head -1 <<<"$d")" "host	service	address	port	version	url" "hosts/discovered: a table's header"
is "$(grep -c "${ADDR[b]}" <<<"$d")" 0 "and not B's own door"
ok "B's vmfs connected when its daemon came" grep -q "discovery: connected to avahi-daemon" "$T/mnt2/host/log"
# both announce under the host's name: one of them (mDNS decides which) takes another
ok "of two announcements under one host name, one is renamed" \
	wait_for 15 grep -q "discovery: the name \"$HOST\" is taken on the LAN: announcing as \"$HOST #2\"" \
	"$M/host/log" "$T/mnt2/host/log"
ok "A's vmfs lists B's web door" \
	wait_for 15 grep -qP "^$HOST\thttp\t${ADDR[b]}\t$PORT\t" "$M/hosts/discovered"
ok "the web door A announced answers from B" \
	in_ns b curl -q -sf -H "Authorization: Bearer $(cat "$S/web-token")" "http://${ADDR[a]}:$PORT/version"

# the 9P row, as the line hosts/ctl takes (the two vmfs share a host name here: h1 for A)
line=$(awk -F'\t' '$2 == "9p" {print "add h1", $6}' "$T/mnt2/hosts/discovered")
is "$line" "add h1 9p://${ADDR[a]}:$P9PORT" "hosts/discovered's 9P row gives the line for hosts/ctl"
is "$(errno_of "$T/mnt2/hosts/ctl" "add discovered 9p://${ADDR[a]}:$P9PORT")" EEXIST \
	"a member may not be named discovered (hosts/discovered would hide it)"
ok "B's hosts/ctl takes it" "$XWRITE" "$T/mnt2/hosts/ctl" "$line"
ok "and A is B's member, up" wait_for 10 grep -q "^up since" "$T/mnt2/hosts/h1/state"
ok "its host/info is A's, through 9P" \
	grep -qF "state $S" "$T/mnt2/hosts/h1/info"
ok "B lets it go" "$XWRITE" "$T/mnt2/hosts/ctl" "remove h1"

# what else the LAN announces: another program's web server (no vmfs= item) is not listed and
# not a word is said of it; a vmfs= item with a host= that is no member name is left out, and
# B's host/log says why, escaped (ESC quoted as \x1b, whose backslash the log escapes)
(in_ns_exec a avahi-publish -s printer _http._tcp 631 path=/) >/dev/null 2>&1 &
DAEMONS+=($!)
(in_ns_exec a avahi-publish -s bogus _vmfs-9p._tcp 564 vmfs=0.1 $'host=-x\e[2J') >/dev/null 2>&1 &
DAEMONS+=($!)
ok "a vmfs= service whose host= is no member name: left out, and B's host/log says why" \
	wait_for 15 grep -qF "discovery: ignored a _vmfs-9p._tcp service on ${IF[b]} from ${ADDR[a]}: its host= \"-x\\\\x1b[2J\" is not well formed" \
	"$T/mnt2/host/log"
ok "another program's web server: nothing said of it" sh -c "! grep -q ':631\|printer' '$T/mnt2/host/log'"
is "$(cut -f4 "$T/mnt2/hosts/discovered" | sort | tr '\n' ' ')" "$P9PORT $PORT port " \
	"hosts/discovered lists neither (A's two doors alone)"

# A's avahi-daemon ends and comes back: A's vmfs says so, and announces again
kill "${AVAHI[a]}"
wait "${AVAHI[a]}" 2>/dev/null
ok "A's avahi-daemon gone: A's vmfs says it is not reachable" wait_for 10 grep -q \
	"discovery: avahi-daemon not reachable: it is not running (waiting for it)" "$M/host/log"
n=$(grep -c "discovery: announced" "$M/host/log")
ok "A's avahi-daemon starts again" start_avahi a
ok "A's vmfs connects and announces again" wait_for 15 sh -c \
	"[ \$(grep -c 'discovery: announced' '$M/host/log') -gt $n ]"
ok "B's hosts/discovered lists A's 9P door again" \
	wait_for 15 grep -qxF "$want" "$T/mnt2/hosts/discovered"

# what each side said, when something above failed
if [ "$TAP_FAIL" != 0 ]; then
	grep discovery: "$M/host/log" | sed 's/^/# A: /'
	grep discovery: "$T/mnt2/host/log" | sed 's/^/# B: /'
	sed 's/^/# B discovered: /' "$T/mnt2/hosts/discovered"
	tail -n 15 "$T/b/avahi.log" | sed 's/^/# B avahi: /'
fi

# A's vmfs ends: its announcement goes with it
ok "A's vmfs stops" vmfs_stop
ok "its row leaves B's hosts/discovered" \
	wait_for 15 sh -c "! grep -qF '${ADDR[a]}' '$T/mnt2/hosts/discovered'"
is "$(cat "$T/mnt2/hosts/discovered")" "host	service	address	port	version	url" \
	"B's hosts/discovered: the header alone"
if [ "$TAP_FAIL" != 0 ]; then # what B's avahi-daemon still holds, and what each daemon said
	in_ns b timeout 5 avahi-browse -apct 2>&1 | sed 's/^/# B avahi cache: /'
	grep discovery: "$T/mnt2/host/log" | tail -n 8 | sed 's/^/# B: /'
	for n in a b; do tail -n 15 "$T/$n/avahi.log" | sed "s/^/# $n avahi: /"; done
fi
ok "B's vmfs stops" as_b vmfs_stop

# no D-Bus at all: a line in host/log, and the tree is served
VMFS_PREFIX=(env DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/no-bus)
vmfs_start --web 127.0.0.1:$(free_port) --announce --discover || exit 1
ok "without D-Bus: host/log says avahi-daemon is not reachable" \
	wait_for 5 grep -q "discovery: avahi-daemon not reachable: Daemon not running (trying again every 5 s)" "$M/host/log"
ok "a web door on loopback is not announced, and host/log says why" \
	grep -q "discovery: the web door listens on 127.0.0.1:[0-9]*, a loopback address: not announced" "$M/host/log"
ok "the tree is served" cat "$M/ns/default/info"
is "$(cat "$M/hosts/discovered")" "host	service	address	port	version	url" "hosts/discovered: the header alone"
ok "vmfs stops cleanly" vmfs_stop
done_testing
