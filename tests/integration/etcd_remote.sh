#!/usr/bin/env bash
# With etcd, changes to another host's object made from here (docs/cluster-design.md, "The
# tree on every host"): a write of its config/NAME is a `config` command to its owner,
# applied there as a local root write: h1 sets memory of h2's c1, read back on h1 at once and
# on h2, and h2's reservation (P/cap/h2) moves with it (its mark of the change gone once c1's
# record shows it); a bad value, vcpus beyond h2's
# capacity (ENOSPC) and a change while c1 runs fail on h1 with h2's errno, its words in h1's
# log, and change nothing; a write while h2 is cut fails (EHOSTDOWN) and is not applied when
# h2 is back. rmdir of h2's object from h1 is a flush command to h2: EBUSY while it runs, in
# h2's words; a stopped one is gone from every host's listing when the rmdir returns; with h2
# down, EHOSTDOWN at once, with words.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
use_busybox_image

EXTRA_CLEANUP="etcd_flush_all; $EXTRA_CLEANUP"

etcd_one
etcd_members 3 "$U" "p9 = 0.0.0.0:5640" "p9_user = root" "p9_peers = cluster" "allow_other = true" \
	"images = $T/images" || { echo "not ok 1 - three members start"; exit 1; }
D1=$(mnt 1)/ns/default D2=$(mnt 2)/ns/default
for i in 1 2 3; do echo "h$i" >"$(mnt "$i")/ns/default/config/host"; done # each launches on itself
"$XWRITE" "$D2/ctl" "launch container c[1-3]"
ok "h1 lists h2's c1, c2, c3" wait_for 10 test -d "$D1/containers/c3"
C=$D1/containers/c1

# config: a command to the owner; vcpus and memory move h2's reservation
cap() { # cap FIELD: that field of h2's reservation
	ETCDCTL_API=3 etcdctl --endpoints "$U" get --print-value-only "/vmfs/$ETCD_CLUSTER/cap/h2" |
		sed -n "s/^$1=//p"
}
mem0=$(cap memory) old=$(numfmt --from=iec "$(cat "$C/config/memory")")
is "$(errno_of "$C/config/memory" 96M)" "" "h1 sets memory of h2's c1"
is "$(cap memory)" "$((mem0 + 96 * 1048576 - old))" "h2's reservation moved by the change"
is "$(cap cfg-pending)" "" "and the change's mark in it is gone: c1's record shows the change"
is "$(cat "$C/config/memory")" 96M "read on h1 right after the write: the new value"
is "$(cat "$D2/containers/c1/config/memory")" 96M "read on h2: applied there"
ok "h2's log says from whom" grep -q "cluster: command h1\.[0-9]*\.[0-9]* from h1: config 1 object(s): done" "$D2/log"
# two writes on one descriptor (the value, then its newline): the value, not the default
{ printf 64M; echo; } >"$C/config/memory"
is "$(cat "$D2/containers/c1/config/memory")" 64M "printf 64M; echo into h2's c1's memory from h1: 64M on h2"
echo 96M >"$C/config/memory" # as it was

# a user's write names an image it may not read: refused on h1 (h2 would open it as root)
if command -v setpriv >/dev/null; then
	chmod 755 "$T" && install -m 0755 "$XWRITE" "$T/xwrite"
	mkdir -m 0700 "$T/images/rootonly"
	chmod 0777 "$D1" # h1's default open to the user
	is "$(setpriv --reuid=65534 --regid=65534 --clear-groups "$T/xwrite" "$C/config/filesystem" rootonly)" \
		EACCES "a user's filesystem=rootonly (0700 root) for h2's c1, through h1: EACCES"
	ok "in words in h1's log" grep -q "filesystem: .*rootonly" "$D1/log"
	isnt_rootonly() { [ "$(cat "$D2/containers/c1/config/filesystem")" != rootonly ]; }
	ok "h2's c1 unchanged" isnt_rootonly
	chmod 0755 "$D1"
else
	echo "not ok - setpriv (util-linux) is installed"
fi

vcpus0=$(cap vcpus)
is "$(errno_of "$C/config/vcpus" 200)" ENOSPC "200 vcpus for c1: beyond h2's capacity, ENOSPC"
ok "in h2's words in h1's log" grep -q "vcpus: h2: ENOSPC: c1/config/vcpus: h2 holds $vcpus0 vcpus .* it accepts [0-9]* vcpus (cpus x cpu_ratio)" "$D1/log"
is "$(cat "$D2/containers/c1/config/vcpus")" 1 "... c1's vcpus unchanged on h2"
is "$(cap vcpus)" "$vcpus0" "... and h2's reservation"
is "$(errno_of "$C/config/memory" lots)" EINVAL "a bad memory: EINVAL, h2's errno"
ok "h2's words in h1's log" grep -q "memory: h2: EINVAL: c1/config/memory: .*lots.* is not a size" "$D1/log"
is "$(cat "$D2/containers/c1/config/memory")" 96M "... nothing changed on h2"

is "$(errno_of "$C/ctl" start)" "" "start c1 from h1"
ok "c1 runs" wait_for 10 grep -q '^RUNNING' "$C/state"
is "$(errno_of "$C/config/memory" 128M)" EBUSY "memory of a running c1: EBUSY"
ok "in h2's words in h1's log" grep -q "memory: h2: EBUSY: c1/config/memory: c1 is RUNNING: its config changes only while it is stopped" "$D1/log"
is "$(cat "$D2/containers/c1/config/memory")" 96M "... nothing changed"
is "$(cap memory)" "$((mem0 + 96 * 1048576 - old))" "... nor h2's reservation"
is "$(errno_of "$C/ctl" kill)" "" "kill c1 from h1"
ok "c1 stops" wait_for 10 grep -q '^QUIT' "$C/state"

# rmdir: a flush command to the owner
rmdir_errno() { python3 -c 'import errno, os, sys
try: os.rmdir(sys.argv[1])
except OSError as e: print(errno.errorcode[e.errno])' "$1"; }
is "$(errno_of "$D1/containers/c3/ctl" start)" "" "start h2's c3 from h1"
ok "c3 runs" wait_for 10 grep -q '^RUNNING' "$D1/containers/c3/state"
is "$(rmdir_errno "$D1/containers/c3")" EBUSY "rmdir of the running c3 from h1: EBUSY"
ok "in words in h1's log" grep -q "rmdir c3: .*c3 .*RUNNING" "$D1/log"
ok "c3 is still on h2" test -d "$D2/containers/c3"
is "$(errno_of "$D1/containers/c3/ctl" kill)" "" "kill c3 from h1"
is "$(rmdir_errno "$C")" "" "rmdir of the stopped c1 from h1"
is "$(ls "$D1/containers" | tr '\n' ' ')" "c2 c3 " "ls on h1 right after: c1 is gone"
ok "gone from h2" wait_for 5 sh -c '! test -e "$1"' _ "$D2/containers/c1"
ok "... and from h3's listing" wait_for 5 sh -c '! ls "$1" | grep -qx c1' _ "$(mnt 3)/ns/default/containers"
ok "h2 flushed it on h1's command" grep -q "cluster: command h1\.[0-9]*\.[0-9]* from h1: flush 1 object(s): done" "$D2/log"

# a write while h2 is cut: not taken, cancelled; nothing applied when h2 is back
etcd_cut 2
is "$(errno_of "$D1/containers/c2/config/memory" 80M)" EHOSTDOWN "h2 cut: a write to c2's memory fails EHOSTDOWN"
ok "... in words in h1's log" grep -q "memory: h2: .*\(cancelled\|down\)" "$D1/log"
ok "h2 down on h1" wait_for 10 grep -q '^UNKNOWN since .*: h2 is down$' "$D1/containers/c2/state"
t0=$(date +%s%N)
is "$(errno_of "$D1/containers/c2/config/memory" 80M)" EHOSTDOWN "h2 down: EHOSTDOWN"
ms=$((($(date +%s%N) - t0) / 1000000))
ok "at once (${ms} ms)" test "$ms" -lt 1000
ok "in words in h1's log" grep -q "c2 is on h2, unknown since .*: h2 is down" "$D1/log"
t0=$(date +%s%N)
is "$(rmdir_errno "$D1/containers/c2")" EHOSTDOWN "h2 down: rmdir of its c2 from h1: EHOSTDOWN"
ms=$((($(date +%s%N) - t0) / 1000000))
ok "at once (${ms} ms)" test "$ms" -lt 1000
ok "in words in h1's log" grep -q "rmdir c2: rmdir: c2 is on h2, unknown since .*: h2 is down" "$D1/log"
etcd_restore 2
ok "h2 back: c2 known on h1 again" wait_for 15 sh -c '! grep -q "^UNKNOWN" "$1"' _ "$D1/containers/c2/state"
sleep 1
is "$(cat "$D2/containers/c2/config/memory")" "$(cat "$D2/containers/c3/config/memory")" \
	"c2's memory on h2 is as before (the default, as c3's)"
done_testing
