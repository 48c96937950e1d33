#!/usr/bin/env bash
# With etcd, another host's object's own files (docs/cluster-design.md, "The tree on every
# host"): console, console.log and log of h2's container, read and written through h1, are
# served by h2's 9P door (the p9 of its alive record) through h1's bounded workers
# (cluster/chostw.h). h1 reads c1's log; a start sent from h1 shows in the console read
# through h1; a follow of it ends when its reader stops; what is typed through h1 runs on
# h2. With h2 cut, its object's files fail at once with EHOSTDOWN, and h1's log says why;
# with h2's vmfs stopped (its lease not yet lapsed), a read fails ETIMEDOUT by its deadline.
# The doors admit the cluster's hosts by `p9_peers = cluster`: the addr of each host's alive
# record (docs/tree.md, "Many hosts").
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
use_busybox_image

EXTRA_CLEANUP="etcd_flush_all; $EXTRA_CLEANUP"

etcd_one
etcd_members 2 "$U" "p9 = 0.0.0.0:5640" "p9_user = root" "p9_peers = cluster" \
	"images = $T/images" || { echo "not ok 1 - two members start"; exit 1; }
D1=$(mnt 1)/ns/default D2=$(mnt 2)/ns/default
C=$D1/containers/c1

# a launch places by config/schedule across the hosts: pinned here, so c1 is h2's
for i in 1 2; do echo "h$i" >"$(mnt "$i")/ns/default/config/host"; done
"$XWRITE" "$D2/ctl" "launch container c1"
ok "c1 is made on h2 (in its state directory)" test -d "$T/h2/state/ns/default/containers/c1"
ok "h1 lists h2's c1" wait_for 10 test -d "$C"
is "$(ls "$C" | tr '\n' ' ')" "config console console.log ctl info log state top " \
	"its files: console, console.log and log beside the record's"
log1=$(cat "$C/log")
like "$log1" "." "h1 reads c1's log (from h2)"
is "$log1" "$(cat "$D2/containers/c1/log")" "... the same text as on h2"

is "$(errno_of "$C/ctl" start)" "" "start c1 from h1 (a command to h2)"
ok "c1 runs" wait_for 10 grep -q '^RUNNING' "$C/state"
ok "its console read through h1 shows init's banner" \
	wait_for 5 console_has "$C" "vmfs container c1 is up"
t0=$(date +%s%N)
timeout 2 cat "$C/console" >"$T/follow"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
is "$rc" 124 "a follow of the console goes on until its reader stops"
ok "and ends when it does (${ms} ms)" test "$ms" -lt 4000
ok "it streamed the scrollback" grep -aq "vmfs container c1 is up" "$T/follow"
is "$(errno_of "$C/console" $'echo hi$((6*7))\n')" "" "type into c1's console through h1"
ok "it ran on h2: its answer in the console through h1" wait_for 5 console_has "$C" hi42
ok "... and in h2's own" console_has "$D2/containers/c1" hi42
ok "console.log read through h1 has it" grep -aq hi42 "$C/console.log"

# p9_peers = cluster admits the hosts, nobody else: this test's own address is refused
python3 -c 'import socket, sys
s = socket.create_connection((sys.argv[1], 5640), 2); s.settimeout(2); s.recv(1)' "$ETCD_ADDR_2" 2>/dev/null
ok "h2's door refuses an address that is no host's" wait_for 3 grep -q \
	"a connection from $ETCD_HOST:[0-9]*: refused: its address is not in p9_peers" "$(mnt 2)/host/log"

open_errno() { python3 -c 'import errno, sys
try: open(sys.argv[1]).read()
except OSError as e: print(errno.errorcode[e.errno])' "$1"; }
etcd_cut 2
ok "h2 cut: c1 UNKNOWN on h1" wait_for 10 grep -q '^UNKNOWN since .*: h2 is down$' "$C/state"
t0=$(date +%s%N)
is "$(open_errno "$C/log")" EHOSTDOWN "its log: EHOSTDOWN"
is "$(open_errno "$C/console")" EHOSTDOWN "its console too"
is "$(errno_of "$C/console" $'echo x\n')" EHOSTDOWN "typing into it too"
ms=$((($(date +%s%N) - t0) / 1000000))
ok "at once (${ms} ms)" test "$ms" -lt 1500
ok "in words in h1's log" grep -q "c1/log (on h2): unknown since .*: h2 is down" "$D1/log"
etcd_restore 2
ok "h2 back: c1 RUNNING on h1" wait_for 15 grep -q '^RUNNING' "$C/state"
ok "its log reads again through h1" wait_for 5 sh -c 'cat "$1" | grep -q .' _ "$C/log"

# h2 up as far as etcd knows, its vmfs stopped: a read waits no longer than its deadline
v=ETCD_PID_2
kill -STOP "${!v}"
t0=$(date +%s%N)
is "$(open_errno "$C/console.log")" ETIMEDOUT "h2's vmfs stopped: a read of c1's console.log fails"
ms=$((($(date +%s%N) - t0) / 1000000))
kill -CONT "${!v}"
ok "within its deadline (${ms} ms)" test "$ms" -lt 13000
done_testing
