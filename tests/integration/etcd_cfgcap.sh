#!/usr/bin/env bash
# With etcd, a write of config/vcpus or config/memory through the owner's own tree moves its
# reservation (docs/cluster-design.md, "Launch and placement"): h2's c1 set to 2 vcpus and
# 48M on h2 moves P/cap/h2 by exactly the difference, its cfg-pending mark gone once c1's
# record shows it; vcpus beyond h2's capacity is ENOSPC with the figures in the log and
# changes neither the value nor P/cap/h2; a reset by an empty line gives it back, a truncate
# is refused with words; cut from etcd, such a write is ENOTCONN with words; and h1's
# reconcile at its restart finds P/cap/h2 as its claims sum (nothing to correct).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
use_busybox_image

EXTRA_CLEANUP="etcd_flush_all; $EXTRA_CLEANUP"

etcd_one
etcd_members 2 "$U" "p9 = 0.0.0.0:5640" "p9_user = root" "cpu_ratio = 2" "images = $T/images" || { echo "not ok 1 - two members start"; exit 1; }
D1=$(mnt 1)/ns/default D2=$(mnt 2)/ns/default
echo h1 >"$D1/config/host"
mkdir "$D1/containers/c0" # h1's own, so that its reconcile has P/cap/h1 to judge
: >"$D1/config/host"
echo h2 >"$D2/config/host"
mkdir "$D2/containers/c1"
: >"$D2/config/host"
C=$D2/containers/c1
ok "h2's c1 is claimed" wait_for 5 has "$P/name/$(field "$P/ns/default" id)/c1"
cap() { field "$P/cap/h2" "$1"; }
ok "and reserved in P/cap/h2" wait_for 5 test "$(cap objects)" = 1

v0=$(cap vcpus) m0=$(cap memory) old=$(numfmt --from=iec "$(cat "$C/config/memory")")
is "$v0" 1 "P/cap/h2 holds c1's 1 vcpu"
is "$(errno_of "$C/config/vcpus" 2)" "" "h2 sets its own c1's vcpus to 2"
is "$(cap vcpus)" 2 "P/cap/h2's vcpus moved by exactly 1, before the write returned"
is "$(cap cfg-pending)" "" "its mark is gone: c1's record shows the change"
id=$(field "$P/name/$(field "$P/ns/default" id)/c1" id)
is "$(field "$P/h/h2/o/$(field "$P/ns/default" id)/$id" cfg.vcpus)" 2 "c1's record says 2"
is "$(errno_of "$C/config/memory" 48M)" "" "h2 sets c1's memory to 48M"
is "$(cap memory)" "$((m0 + 48 * 1048576 - old))" "P/cap/h2's memory moved by exactly the difference"

limit=$(awk -v c="$(field "$P/h/h2/info" cpus)" -v r="$(field "$P/h/h2/info" cpu_ratio)" 'BEGIN { print int(c * r) }')
big=$((limit + 1))
if [ "$big" -le 256 ]; then
	is "$(errno_of "$C/config/vcpus" "$big")" ENOSPC "$big vcpus: beyond h2's capacity ($limit), ENOSPC"
	ok "the figures in c1's namespace's log" grep -q "containers/c1: config/vcpus: h2 holds 2 vcpus .* it accepts $limit vcpus (cpus x cpu_ratio)" "$D2/log"
	is "$(cat "$C/config/vcpus")" 2 "... c1's vcpus unchanged"
	is "$(cap vcpus)" 2 "... and P/cap/h2's"
else
	echo "not ok - h2's capacity ($limit vcpus) is below vcpus' maximum (256)"
fi
is "$(errno_of "$C/config/vcpus" lots)" EINVAL "a bad vcpus: EINVAL, as on one host"
is "$(cap vcpus)" 2 "... P/cap/h2 unchanged"

: >"$C/config/vcpus"
ok "a truncate of config/vcpus is refused, in words" grep -q "reset by writing an empty line" "$D2/log"
is "$(cat "$C/config/vcpus")" 2 "... c1's vcpus unchanged"
echo >"$C/config/vcpus"
is "$(cat "$C/config/vcpus")" 1 "an empty line resets it to the default, 1"
is "$(cap vcpus)" 1 "... and gives the vcpu back"
is "$(errno_of "$C/config/vcpus" 2)" "" "2 again"

# through h2's 9P door: the same write, parked the same way
p9() { timeout 20 ip netns exec "$ETCD_ID-h2" python3 "$ROOT/tests/tools/p9client.py" --tcp 127.0.0.1:5640 "$@"; }
m1=$(cap memory)
is "$(p9 write ns/default/containers/c1/config/memory 32M)" "" "over 9P: c1's memory set to 32M"
is "$(cap memory)" "$((m1 - 16 * 1048576))" "... P/cap/h2's memory moved by exactly -16M"
like "$(p9 write ns/default/containers/c1/config/vcpus "$big")" "^errno $(python3 -c 'import errno; print(errno.ENOSPC)'):" \
	"over 9P: $big vcpus is ENOSPC"
is "$(cap vcpus),$(cat "$C/config/vcpus")" 2,2 "... nothing changed"
is "$(errno_of "$C/config/memory" 48M)" "" "48M again"

# cut: a write that moves the reservation waits for etcd
etcd_cut 2
ok "h2 knows it is cut" wait_for 10 grep -q "^cut from etcd" "$(mnt 2)/hosts/h2/state"
is "$(errno_of "$C/config/vcpus" 3)" ENOTCONN "cut from etcd: vcpus 3 is ENOTCONN"
ok "in words" grep -q "containers/c1: config/vcpus: this host is cut from the cluster's etcd .*waits for etcd" "$D2/log"
is "$(cat "$C/config/vcpus")" 2 "... c1's vcpus unchanged"
is "$(errno_of "$C/config/tags" "state=cut")" "" "a config write that moves no reservation is applied"
etcd_restore 2
ok "h2 back" wait_for 15 grep -q "^up since" "$(mnt 2)/hosts/h2/state"

# h1's reconcile at its start sums every P/cap/H from the claims: P/cap/h1 put wrong by hand
# tells that it ran; P/cap/h2 it finds right
etcd_member_stop 1
printf 'v=1\nvcpus=5\nmemory=0\nobjects=1\n' | ectl put "$P/cap/h1" >/dev/null
etcd_member_start 1 || { echo "not ok - h1 starts again"; exit 1; }
# (h2's reconcile at its return after the cut sums every host's too: on a slow machine it may
# run after the put, and correct P/cap/h1 before h1's own)
ok "a reconcile corrected P/cap/h1 (h1's at its start, or h2's late one)" \
	wait_for 30 sh -c 'grep -q "cap/h1 held" "$0" "$1"' "$(mnt 1)/host/log" "$(mnt 2)/host/log"
ok "P/cap/h1 is right again" test "$(field "$P/cap/h1" vcpus),$(field "$P/cap/h1" memory)" != "5,0"
is "$(grep -c "cap/h2 held" "$(mnt 1)/host/log")" 0 "it found nothing to correct in P/cap/h2"
is "$(grep -c "cap/h2 held" "$(mnt 2)/host/log")" 0 "nor did h2's own at its return after the cut"
is "$(cap vcpus),$(cap memory)" "2,$((m0 + 48 * 1048576 - old))" "P/cap/h2 as the writes left it"
done_testing
