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
# Through the 9P and HTTP doors of h1, what the mount parks is answered when it ends: a mkdir
# of a container (a launch, placed on h1 or h2), EEXIST for a name held; an rmdir of h2's
# objects (a flush); a chmod of the namespace (9P: a txn on its record, seen on h2); a Tmkdir
# leaves the connection's other requests answered, a Tflush of it is answered, and a client
# gone while it waits leaves the door serving (the launch is made all the same).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
use_busybox_image

EXTRA_CLEANUP="etcd_flush_all; $EXTRA_CLEANUP"

etcd_one
etcd_members 2 "$U" "p9 = 0.0.0.0:5640" "p9_user = root" "p9_peers = cluster 127.0.0.1" \
	"web = 127.0.0.1:8480" "images = $T/images" || { echo "not ok 1 - two members start"; exit 1; }
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

# h1's doors, from inside h1 (loopback)
in_h1() { ip netns exec "$ETCD_ID-h1" "$@"; }
p9() { timeout 20 ip netns exec "$ETCD_ID-h1" python3 "$ROOT/tests/tools/p9client.py" --tcp 127.0.0.1:5640 "$@"; }
WEB=http://127.0.0.1:8480
web() { # web METHOD PATH: the status, the body in $T/web.out
	in_h1 curl -s -o "$T/web.out" -w '%{http_code}' --max-time 20 -X "$1" \
		-H "Authorization: Bearer $(cat "$T/h1/state/web-token")" "$WEB$2"; }
NSID=$(field "$P/ns/default" id)
both_list() { for d in "$D1" "$D2"; do ls "$d/containers" | grep -qx "$1" || return 1; done; }
none_list() { for d in "$D1" "$D2"; do ! ls "$d/containers" | grep -qx "$1" || return 1; done; }
echo "" >"$D1/config/host" # placed by the schedule, over default's hosts h1 and h2
is "$("$XWRITE" "$D1/hosts" "h1 h2")" "" "default's hosts are h1 and h2"
placed() { # placed NAME: made on the host its claim names, h1 or h2
	local h
	h=$(field "$P/name/$NSID/$1" host)
	{ [ "$h" = h1 ] || [ "$h" = h2 ]; } && test -d "$T/$h/state/ns/default/containers/$1"
}
is "$(p9 mkpark ns/default/containers/p1 statfs)" "statfs answered first yes" \
	"9P: a Tmkdir of p1 is held, a Tstatfs meanwhile answered first; then Rmkdir"
ok "p1 is made on the host its claim names" placed p1
ok "9P: listed on h1 and h2" wait_for 2 both_list p1
is "$(p9 mkdir ns/default/containers/p1)" "errno 17: File exists" "9P: mkdir of p1 again: EEXIST"
like "$(tail -n 1 "$D1/log")" "mkdir containers/p1: .*p1 exists already" "in words in the namespace's log"
is "$(web PUT /ns/default/containers/w1/)" 201 "HTTP: PUT containers/w1/ answers 201 once made"
ok "w1 is made on the host its claim names" placed w1
ok "HTTP: listed on h1 and h2" wait_for 2 both_list w1
is "$(web PUT /ns/default/containers/w1/)" 409 "HTTP: PUT w1/ again: 409 (EEXIST)"
like "$(cat "$T/web.out")" "w1 exists already in ns/default" "saying why"

# rmdir of h2's objects from h1's doors: a flush on h2, answered once gone
echo h2 >"$D1/config/host"
"$XWRITE" "$D1/ctl" "launch container r[1-3]"
ok "r1 r2 r3 are h2's" sh -c 'test -d "$0/r1" && test -d "$0/r2" && test -d "$0/r3"' "$T/h2/state/ns/default/containers"
for r in r1 r2 r3; do # (a flush takes an object QUIT or ERROR)
	"$XWRITE" "$D2/containers/$r/ctl" start && "$XWRITE" "$D2/containers/$r/ctl" kill
done
quit() { for r in r1 r2 r3; do grep -q '^QUIT' "$D1/containers/$r/state" || return 1; done; }
ok "h1 sees them QUIT" wait_for 10 quit
is "$(p9 rmdir ns/default/containers/c1)" "errno 16: Device or resource busy" "9P: rmdir of h2's running c1: EBUSY, as through the mount"
is "$(p9 rmdir ns/default/containers/r1)" "" "9P: rmdir (Tunlinkat) of h2's r1"
ok "gone from h1's listing when it returns" sh -c '! ls "$0" | grep -qx r1' "$D1/containers"
ok "gone from h2 too" wait_for 2 none_list r1
ok "and from h2's state directory" test ! -e "$T/h2/state/ns/default/containers/r1"
is "$(p9 remove ns/default/containers/r2)" "" "9P: Tremove of h2's r2"
ok "r2 gone from both" wait_for 2 none_list r2
is "$(web DELETE /ns/default/containers/r3)" 200 "HTTP: DELETE containers/r3 (h2's)"
ok "r3 gone from both" wait_for 2 none_list r3
is "$(web DELETE /ns/default/containers/r3)" 404 "HTTP: DELETE of it again: 404"

# rmdir of a namespace of the cluster (made on h2) through h1's doors: held until its record is gone
mkdir "$(mnt 2)/ns/d9" "$(mnt 2)/ns/dweb"
both_ns() { has "$P/ns/d9" && has "$P/ns/dweb" && test -d "$D1/../d9" && test -d "$D1/../dweb"; }
ok "ns d9 and dweb are the cluster's" wait_for 5 both_ns
is "$(p9 rmdir ns/d9)" "" "9P: rmdir ns/d9"
ok "... its record is gone when it returns" hasnt "$P/ns/d9"
ok "... and h2's copy goes" wait_for 3 test ! -e "$T/h2/state/ns/d9"
is "$(web DELETE /ns/dweb)" 200 "HTTP: DELETE ns/dweb"
ok "... its record is gone when it answers" hasnt "$P/ns/dweb"
ok "... and h2's copy goes" wait_for 3 test ! -e "$T/h2/state/ns/dweb"

# chmod of ns/default through 9P: a txn on its record, applied on h2
mode0=$(stat -c %a "$D1")
is "$(p9 chmod ns/default 0750)" "" "9P: chmod 0750 ns/default on h1"
ok "h2's ns/default is 0750" wait_for 3 sh -c '[ "$(stat -c %a "$0")" = 750 ]' "$D2"
is "$(p9 chmod ns/default "$mode0")" "" "9P: chmod back to $mode0"
ok "on h2 too" wait_for 3 sh -c '[ "$(stat -c %a "$0")" = "$1" ]' "$D2" "$mode0"
# a peer that pipelines chmods: at most 16 wait on one connection (each holds a thread and an
# etcd connection), the rest are EAGAIN at once, said once in the log
many=$(p9 chmodmany ns/default "$mode0" 40)
like "$many" "^ok ([0-9]+) eagain ([0-9]+) other 0 first_eagain ([0-9]+)$" "9P: 40 chmods in one write: each answered ($many)"
is "$(awk '{print ($8 >= 16 && $2 >= 1)}' <<<"$many")" 1 "... those beyond 16 refused EAGAIN at once (the 16 taken may race each other: EAGAIN too)"
ok "... said in h1's host/log" grep -q "9p: 16 mkdir, rmdir or setattr requests of this connection wait: further ones of uid [0-9]* are refused EAGAIN" "$(mnt 1)/host/log"
# a new session (Tversion) does not free the cap: the first 16, never answered now, count
# till their transactions end, so the next 40 in the same write are all refused at once
is "$(p9 chmodversion ns/default "$mode0" 40)" "second ok 0 eagain 40 other 0" \
	"9P: 40 chmods, a Tversion, 40 more in one write: the second 40 all EAGAIN"
is "$(stat -c %a "$D1")" "$mode0" "the mode is still $mode0"
# the cap is the peer's too: a second connection from the same address gets no more room
two=$(p9 chmodtwo ns/default "$mode0" 40)
like "$two" "^first ok [0-9]+ eagain [0-9]+ other 0 first_eagain [0-9]+; second ok [0-9]+ eagain [0-9]+ other 0 first_eagain [0-9]+$" \
	"9P: 40 chmods on each of two connections from one address: each answered ($two)"
is "$(awk '{print ($NF >= 30)}' <<<"$two")" 1 \
	"... the second connection's refused at once: the first's fill the address's 16"

# a Tflush of a held Tmkdir; clients gone while theirs wait: the doors serve on
echo "" >"$D1/config/host"
is "$(p9 mkpark ns/default/containers/p2 flush)" "rflush ok" "9P: a Tflush of a held Tmkdir is answered"
ok "the launch of p2 goes on: listed on both" wait_for 5 both_list p2
p9 mkpark ns/default/containers/p3 drop
ok "9P: a client gone while its Tmkdir waits: p3 is made all the same" wait_for 5 both_list p3
is "$(p9 ls ns/default/containers | grep -cx p3)" 1 "9P: the door serves the next connection"
in_h1 python3 -c 'import socket, sys, time
s = socket.create_connection((sys.argv[1], 8480), 5)
s.sendall(("PUT /ns/default/containers/w2/ HTTP/1.1\r\nHost: %s:8480\r\nAuthorization: Bearer %s\r\n"
           "Content-Length: 0\r\n\r\n" % (sys.argv[1], sys.argv[2])).encode())
time.sleep(0.05)
s.close()' 127.0.0.1 "$(cat "$T/h1/state/web-token")"
ok "HTTP: a client gone while its PUT waits: w2 is made all the same" wait_for 5 both_list w2
is "$(web GET /ns/default/containers/w2/state)" 200 "HTTP: the door serves the next request"
ok "h1's vmfs is alive" kill -0 "$ETCD_PID_1"

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
