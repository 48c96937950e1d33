#!/usr/bin/env bash
# Live migration of a running VM between two vmfs on this machine (two mounts, two state
# directories, two images directories with the same names), under TCG: migrate-in on the
# destination, migrate-out on the source; the guest's memory and disk writes arrive, the
# source's QEMU is gone, the pause is reported, a stranger connecting to the NBD port
# throughout changes none of it; a migrate-out nobody receives fails and the VM runs on; a
# migrate-in without the images is refused. The destination's vmfs.conf sets migrate_ports to
# two ports: its listeners are on them, and a range the test holds fails with words.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/migrate_lib.sh"
command -v qemu-img >/dev/null || { echo "not ok 1 - qemu-img is installed (./setup --deps: qemu-utils)"; exit 1; }
use_boot_image
qemu-img create -q -f qcow2 "$T/images/base.qcow2" 16M
mkdir -p "$T/images2" "$T/m2"
cp "$T/images/vmlinuz" "$T/images/initrd" "$T/images/base.qcow2" "$T/images2/"
vmfs_start --images "$T/images" || exit 1
M2=$T/m2
# two ports in a row nothing listens on, for the destination's migrate_ports
for i in $(seq 20); do
	P=$(free_port)
	(exec 3<>"/dev/tcp/127.0.0.1/$((P + 1))") 2>/dev/null || break
done
printf '[vmfs]\nmigrate_ports = %d-%d\n' "$P" $((P + 1)) >"$T/vmfs2.conf"
HOLDERS=
"$VMFS" -f --conf "$T/vmfs2.conf" --state "$T/s2" --images "$T/images2" "$M2" 2>>"$T/vmfs2.err" &
M2_PID=$!
# each vmfs ends its own VMs first; then the second one goes; kill_ours catches any QEMU left
EXTRA_CLEANUP='for d in "$M" "$M2"; do [ -e "$d/ns/default/ctl" ] && echo "kill all" >"$d/ns/default/ctl"; done 2>/dev/null
	fusermount3 -uz "$M2" 2>/dev/null; kill $M2_PID 2>/dev/null; wait $M2_PID 2>/dev/null; kill_ours "$T"
	for h in $HOLDERS; do kill $h; wait $h; done 2>/dev/null'
ok "a second vmfs answers" wait_for 30 test -f "$M2/version"
A=$M/ns/default/vms
B=$M2/ns/default/vms
echo tcg >"$M/ns/default/config/accel"
echo tcg >"$M2/ns/default/config/accel"

field() { awk -v k="$2" '$1==k{$1=""; print substr($0,2)}' "$1/info"; }

mkdir "$A/w"
config "$A/w"
ok "the source VM starts" "$XWRITE" "$A/w/ctl" start
ok "it boots to a shell" wait_for 60 console_has "$A/w" "w:/#"
ok "a marker in its memory and on its disk" console_run "$A/w" "wrote-0" \
	'echo hello-$((40+2)) >/tmp/x; echo disk-$((6*7)) | dd of=/dev/vda bs=512 count=1 conv=sync,fsync 2>/dev/null; echo wrote-$?'

# the destination: a missing image is refused first, with words, and nothing changes
mkdir "$B/x"
config "$B/x"
qemu-img create -q -f qcow2 "$T/images2/only-here.qcow2" 16M
echo only-here.qcow2 >"$B/x/config/disk"
rm "$T/images2/only-here.qcow2"
out=$(ask "$B/x/ctl" "migrate-in 127.0.0.1")
like "$out" "^error: .*this host has no images/only-here.qcow2" "migrate-in without the image is refused, with the name"
is "$(cat "$B/x/state")" "BUILDING" "and the VM is as it was"
is "$(errno_of "$B/x/ctl" "migrate-in 127.0.0.1")" "ENOENT" "(ENOENT)"

mkdir "$B/w"
config "$B/w"
out=$(ask "$B/w/ctl" "migrate-in 127.0.0.1")
like "$out" "^ok: migrate-in ready: migrate=127\.0\.0\.1:[0-9]+ nbd=127\.0\.0\.1:[0-9]+$" "migrate-in answers with its ports"
mig=$(printf '%s' "$out" | sed -n 's/.*migrate=\([^ ]*\).*/\1/p')
nbd=$(printf '%s' "$out" | sed -n 's/.*nbd=\([^ ]*\).*/\1/p')
is "$(cat "$B/w/state")" "BUILDING" "the destination waits, BUILDING"
ok "its stream and NBD ports are the two of its migrate_ports ($P-$((P + 1)))" \
	test "$(printf '%s\n' "${mig#*:}" "${nbd#*:}" | sort -n | tr '\n' ' ')" = "$P $((P + 1)) "
dpid=$(cat "$(find "$T/s2" -path "*/w/*" -name qemu.pid | head -1)" 2>/dev/null)
like "$(tr '\0' ' ' <"/proc/$dpid/cmdline" 2>/dev/null)" " -incoming defer" "its QEMU was started with -incoming defer"
is "$(errno_of "$B/w/ctl" start)" "EBUSY" "a start meanwhile is refused"

spid=$(field "$A/w" pid)
t0=$(date +%s%N)
(ask "$A/w/ctl" "migrate-out $mig nbd=$nbd" >"$T/answer"; : >"$T/answer.done") &
asker=$!
# once the source's mirror is connected, a stranger holds connections to the NBD port, one
# after another, until the end (QEMU 7.2's nbd-server-stop hangs for good, and its guest
# with it, if it finds one of them still negotiating)
nbd_held() { ss -tnH state established "( sport = :${nbd#*:} )" | grep -q .; }
wait_for 20 nbd_held
(while [ ! -e "$T/answer.done" ]; do
	{ exec 3<>"/dev/tcp/${nbd%:*}/${nbd#*:}"; } 2>/dev/null && { sleep 0.03; exec 3>&-; }
done) &
stranger=$!
ok "the migration has begun" wait_for 5 grep -aq "migrate-out to $mig" "$A/w/log"
# it runs in the background: the source's vmfs answers meanwhile (the kernel holds other
# writes to the same ctl file), and refuses verbs for the VM
is "$(cat "$A/w/state")" "RUNNING" "the source's vmfs answers during the migration"
like "$(errno_of "$M/ns/default/ctl" "pause w")" "EBUSY" "a pause while it migrates out is refused"
like "$(grep -a "error: " "$M/ns/default/log" | tail -1)" "w is migrating out" "saying why (the namespace's log)"
wait $asker
t1=$(date +%s%N)
wait $stranger
out=$(cat "$T/answer")
like "$out" "^ok: migrated: paused [0-9]+ ms \(QEMU: [0-9]+ ms\), [0-9.]+ MiB mirrored$" "migrate-out answers with the pause"
pause=$(printf '%s' "$out" | sed -n 's/.*paused \([0-9]*\) ms.*/\1/p')
echo "# $out (the whole migrate-out: $(((t1 - t0) / 1000000)) ms)"
ok "the pause is under 1000 ms under TCG" test "${pause:-99999}" -lt 1000
ok "the destination runs" wait_for 10 sh -c "grep -qx RUNNING '$B/w/state'"
is "$(cat "$A/w/state")" "QUIT" "the source is QUIT"
like "$(grep -a 'RUNNING -> QUIT' "$A/w/log")" "moved to 127\.0\.0\.1:" "its log says where it moved"
ok "the source's QEMU is gone" gone "$spid"
grep -aq "migration stream in plain TCP" "$A/w/log" && grep -aq "migration stream in plain TCP" "$B/w/log"
ok "both logs say the stream was plain TCP" test $? = 0
# the exact pause from QEMU's own timestamps, in the two logs
stop=$(sed -n 's/.*stopped at \([0-9.]*\) (QEMU.s STOP event).*/\1/p' "$A/w/log" | tail -1)
resume=$(sed -n 's/.*resumed at \([0-9.]*\) (QEMU.s RESUME event).*/\1/p' "$B/w/log" | tail -1)
ok "the logs have QEMU's STOP and RESUME times" test -n "$stop" -a -n "$resume"
echo "# QEMU's STOP (source) to RESUME (destination): $(awk -v a="$stop" -v b="$resume" 'BEGIN{printf "%.1f", (b-a)*1000}') ms"
ok "the guest's memory came along" console_run "$B/w" "got-hello-42" 'echo got-$(cat /tmp/x)'
ok "and its disk" console_run "$B/w" "got-disk-42" 'echo 3 >/proc/sys/vm/drop_caches; echo got-$(head -c 7 /dev/vda)'

# the destination's ports taken by the test's own listeners: migrate-in fails with words, the
# VM it was for does not run, the guest stays where it is
hold() { # hold PORT: a listener of the test's own on loopback
	python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); print("up",flush=True); time.sleep(60)' "$1" >"$T/hold.$1" &
	HOLDERS="$HOLDERS $!"
	wait_for 5 grep -q up "$T/hold.$1"
}
mkdir "$B/z"
config "$B/z"
ok "the test holds the second port of the range" hold $((P + 1))
out=$(ask "$B/z/ctl" "migrate-in 127.0.0.1")
like "$out" "^error: .*no port for the NBD server at 127\.0\.0\.1: every port of migrate_ports \($P-$((P + 1))\) is taken" \
	"with one port of two free, migrate-in fails: no port for NBD, in words"
is "$(cat "$B/z/state")" "ERROR" "the VM it was for does not run: ERROR"
echo flush >"$B/z/ctl"
mkdir "$B/z"
config "$B/z"
ok "the test holds the first one too" hold "$P"
out=$(ask "$B/z/ctl" "migrate-in 127.0.0.1")
like "$out" "^error: .*no port for the migration stream at 127\.0\.0\.1: every port of migrate_ports \($P-$((P + 1))\) is taken" \
	"with both taken, it fails before the stream"
is "$(cat "$B/z/state")" "ERROR" "the VM it was for does not run"
ok "and its log says why" grep -aq "every port of migrate_ports ($P-$((P + 1))) is taken" "$B/z/log"
echo flush >"$B/z/ctl"
mkdir "$B/z"
config "$B/z"
like "$(errno_of "$B/z/ctl" "migrate-in 127.0.0.1")" "^(EADDRINUSE|Address already in use)$" "(EADDRINUSE)"
is "$(cat "$B/w/state")" "RUNNING" "the guest runs on where it was"
for h in $HOLDERS; do kill $h; wait $h; done 2>/dev/null
HOLDERS=

# a migrate-out nobody receives: refused with words, the VM runs on
port=$(free_port)
out=$(ask "$B/w/ctl" "migrate-out 127.0.0.1:$port nbd=127.0.0.1:$port")
like "$out" "^error: .*migrate-out to 127\.0\.0\.1:$port: cannot reach the destination's NBD export" "a migrate-out to nobody fails, saying why"
echo "# $out"
is "$(cat "$B/w/state")" "RUNNING" "the VM stays RUNNING"
ok "and answers on its console" console_run "$B/w" "still-9" 'echo still-$((3*3))'
like "$(errno_of "$B/w/ctl" "migrate-out 127.0.0.1 nbd=127.0.0.1:1")" "EINVAL" "an address without a port is refused"

# back to the first vmfs, but to a migration port nobody listens on: the disks are mirrored,
# the migration fails, the VM runs on; the waiting destination is killed
echo flush >"$A/w/ctl"
mkdir "$A/w"
config "$A/w"
out=$(ask "$A/w/ctl" "migrate-in 127.0.0.1")
nbd=$(printf '%s' "$out" | sed -n 's/.*nbd=\([^ ]*\).*/\1/p')
mig=$(printf '%s' "$out" | sed -n 's/.*migrate=\([^ ]*\).*/\1/p')
out=$(ask "$B/w/ctl" "migrate-out 127.0.0.1:$port nbd=$nbd")
like "$out" "^error: .*: the migration failed: .*" "a migration nobody receives fails, with QEMU's words"
echo "# $out"
is "$(cat "$B/w/state")" "RUNNING" "the VM stays RUNNING"
ok "and answers on its console" console_run "$B/w" "again-8" 'echo again-$((4*2))'
is "$(cat "$A/w/state")" "BUILDING" "the destination still waits"
apid=$(cat "$(find "$S" -path "*/w/*" -name qemu.pid | head -1)" 2>/dev/null)
is "$(errno_of "$A/w/ctl" kill)" "" "kill of a VM receiving a migration"
is "$(cat "$A/w/state")" "QUIT" "ends it: QUIT"
ok "its QEMU is gone" gone "$apid"
ok "its log says why" grep -aq "migrate-in from 127.0.0.1 ended: killed" "$A/w/log"
# a destination whose stream is not a migration: its QEMU ends, the VM is not running, the log
# says why
ok "flush the killed one" sh -c "echo flush >'$A/w/ctl'"
ok "make it again" mkdir "$A/w"
config "$A/w"
out=$(ask "$A/w/ctl" "migrate-in 127.0.0.1")
like "$out" "^ok: migrate-in ready" "migrate-in for a stream that is not a migration"
[ "$TAP_FAIL" = 0 ] || { echo "# $out"; tail -5 "$A/w/log" 2>&1 | sed 's/^/# log: /'; }
mig=$(printf '%s' "$out" | sed -n 's/.*migrate=\([^ ]*\).*/\1/p')
apid=$(cat "$(find "$S" -path "*/w/*" -name qemu.pid | head -1)" 2>/dev/null)
printf 'not a migration stream\n' >"/dev/tcp/${mig%:*}/${mig#*:}"
ok "a stream that is not a migration ends the destination" wait_for 10 sh -c "grep -qxE 'ERROR|QUIT' '$A/w/state'" ||
	{ echo "# state $(cat "$A/w/state"), QEMU pid ${apid:-none} $(gone "$apid" && echo gone || echo alive)"; tail -5 "$A/w/log" | sed 's/^/# log: /'; }
ok "its QEMU is gone" gone "$apid"
like "$(grep -a -- '-> \(ERROR\|QUIT\)' "$A/w/log" | tail -1)" "QEMU ended: .*migration" "its log says why (QEMU's words)"
grep -a -- '-> \(ERROR\|QUIT\)' "$A/w/log" | tail -1 | sed 's/^/# /'
# a vmfs killed while its VM waits for a migration: restarted, it ends the QEMU nothing will
# complete (and would end one whose migration completed)
echo flush >"$A/w/ctl"
mkdir "$A/w"
config "$A/w"
like "$(ask "$A/w/ctl" "migrate-in 127.0.0.1")" "^ok: migrate-in ready" "migrate-in again"
apid=$(cat "$(find "$S" -path "*/w/*" -name qemu.pid | head -1)" 2>/dev/null)
vmfs_kill9
vmfs_start --images "$T/images" || exit 1
ok "the restarted vmfs ends the QEMU that waited" wait_for 10 gone "$apid"
ok "the VM is QUIT" wait_for 10 sh -c "grep -qx QUIT '$A/w/state'"
like "$(grep -a 'says inmigrate' "$A/w/log")" "no migration of this vmfs is under way" "its log says why"
# and once more, for real: what the failed one added to the source's QEMU is gone
echo flush >"$A/w/ctl"
mkdir "$A/w"
config "$A/w"
out=$(ask "$A/w/ctl" "migrate-in 127.0.0.1")
nbd=$(printf '%s' "$out" | sed -n 's/.*nbd=\([^ ]*\).*/\1/p')
mig=$(printf '%s' "$out" | sed -n 's/.*migrate=\([^ ]*\).*/\1/p')
like "$(ask "$B/w/ctl" "migrate-out $mig nbd=$nbd")" "^ok: migrated: " "a migration after a failed one works"
ok "the first vmfs runs it again" wait_for 10 sh -c "grep -qx RUNNING '$A/w/state'"
ok "with the marker still in its memory" console_run "$A/w" "back-hello-42" 'echo back-$(cat /tmp/x)'

# the second vmfs ends cleanly, and (under SANITIZE=1) without a report
echo "kill all" >"$M2/ns/default/ctl"
ok "the second vmfs unmounts" fusermount3 -u "$M2"
wait $M2_PID
is "$?" "0" "and exits 0"
sanitizer_check "$T/vmfs2.err" "the second vmfs"
done_testing
