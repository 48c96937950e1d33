#!/usr/bin/env bash
# Live migration in a cluster on etcd (docs/cluster-design.md, "Drain, move, live migration"):
# `move vm h2` written on h3 of a VM running on h1 (TCG, a disk overlay, markers in its
# memory and on its disk). A move to a host that lacks the VM's image is refused with its
# words, the VM running on h1 as before; with the image there, the move answers with the
# pause; the VM runs on h2, listed with host h2 on every host, its markers still in memory
# and on disk, the source's QEMU gone and its copy removed. Then moves written on the source
# and on the destination; a paused VM refused; a mirror that cannot reach h2 (h2's waiting
# copy removed). Recovery: a dead head's intent aborted by another host (the source runs);
# the head killed mid-migration (the destination, where the guest runs, commits); the head
# stopped before any migrate-out (aborted by another host, the waiting copy removed); an abort
# while the source migrates out (the source cancels: the guest runs on there).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
command -v qemu-img >/dev/null || { echo "not ok 1 - qemu-img is installed (./setup --deps: qemu-utils)"; exit 1; }
use_boot_image
qemu-img create -q -f qcow2 "$T/images/base.qcow2" 16M

EXTRA_CLEANUP="etcd_flush_all; kill_ours \"\$T\"; $EXTRA_CLEANUP"

# each host's image store (STATE/images): h2 lacks the disk's base image at first
for i in 1 2 3; do
	mkdir -p "$T/h$i/state/images"
	cp "$T/images/vmlinuz" "$T/images/initrd" "$T/h$i/state/images/"
done
cp "$T/images/base.qcow2" "$T/h1/state/images/"

etcd_net
etcd_start one
# shellcheck disable=SC2154 # set by etcd_start
etcd_members 3 "$ETCD_URL_one" "p9 = 0.0.0.0:5640" "p9_user = root" "p9_peers = cluster" \
	"migrate_ports = 41000-41001" ||
	{ echo "not ok 1 - three members start"; exit 1; }
D1=$(mnt 1)/ns/default D2=$(mnt 2)/ns/default D3=$(mnt 3)/ns/default
for d in "$D1" "$D2" "$D3"; do echo tcg >"$d/config/accel"; done
# the namespace spans the three (a move goes only to a host of it), written on h1 once its
# record is in the cluster (EAGAIN until then)
ok "echo 'h1 h2 h3' > ns/default/hosts" wait_for 10 sh -c "echo 'h1 h2 h3' >'$D1/hosts'" 2>/dev/null
spans() {
	local h
	h=$(ETCDCTL_API=3 etcdctl --endpoints "$ETCD_URL_one" get --print-value-only "/vmfs/$ETCD_CLUSTER/ns/default" | sed -n 's/^hosts=//p')
	for w in h1 h2 h3; do grep -qw "$w" <<<"$h" || return 1; done
}
ok "ns/default's hosts are the three" wait_for 10 spans
ok "h3 shows h2's migrate_ports, from its alive" grep -qx "migrate 41000-41001" "$(mnt 3)/hosts/h2/info"

qemu_of() { # qemu_of DIR: pids of processes whose command line names DIR (this test's own)
	local p
	for p in /proc/[0-9]*; do
		tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$1" && echo "${p#/proc/}"
	done
}
qemu_left() { # qemu_left DIR: qemu_of DIR once none is left, or after 10 s, what is left
	local left
	for _ in $(seq 50); do
		left=$(qemu_of "$1")
		[ -z "$left" ] && break
		sleep 0.2
	done
	printf '%s' "$left"
}
ask() { # ask CTL LINE: the answer read back on the same descriptor, then errno=NAME
	etcd_wr "$1" "$2" | tr ';' '\n'
}

echo h1 >"$D1/config/host" # a mkdir is a launch of one: this one on h1
mkdir "$D1/vms/vm"
: >"$D1/config/host"
echo vmlinuz >"$D1/vms/vm/config/kernel" && echo initrd >"$D1/vms/vm/config/initrd" &&
	echo base.qcow2 >"$D1/vms/vm/config/disk"
ok "the VM starts on h1" "$XWRITE" "$D1/vms/vm/ctl" start
ok "it boots to a shell" wait_for 60 console_has "$D1/vms/vm" "vm:/#"
ok "a marker in its memory and on its disk" console_run "$D1/vms/vm" "wrote-0" \
	'echo hello-$((40+2)) >/tmp/x; echo disk-$((6*7)) | dd of=/dev/vda bs=512 count=1 conv=sync,fsync 2>/dev/null; echo wrote-$?'
ok "h3 lists it RUNNING on h1" wait_for 10 sh -c "grep -q '^state RUNNING' '$D3/vms/vm/info' && grep -qx 'host h1' '$D3/vms/vm/info'"
spid=$(awk '$1=="pid"{print $2}' "$D1/vms/vm/info")
like " $(qemu_of "$T/h1/state/ns/default/vms/vm" | tr '\n' ' ')" " $spid " "(its QEMU is found by its state directory)"

# h2 has no images/base.qcow2: refused with its words; the VM runs on, on h1
out=$(ask "$D3/ctl" "move vm h2")
echo "$out" | sed 's/^/# /'
like "$out" "^error: move vm h2: h2: ENOENT: .*images/base\.qcow2" "a move to a host without the image is refused, naming it"
like "$out" "errno=ENOENT" "(ENOENT)"
is "$(cat "$D1/vms/vm/state" | cut -d' ' -f1)" "RUNNING" "the VM runs on, on h1"
ok "its QEMU is the same" test -d "/proc/$spid"
ok "h2 keeps no copy of it" wait_for 10 sh -c "! test -e '$T/h2/state/ns/default/vms/vm'"
ok "no intent is left" sh -c "! ETCDCTL_API=3 etcdctl --endpoints '$ETCD_URL_one' get --prefix /vmfs/$ETCD_CLUSTER/intent/ --keys-only | grep -q ."
ok "h3 still lists it on h1" grep -qx 'host h1' "$D3/vms/vm/info"

# a paused VM is refused before anything is asked of h2
"$XWRITE" "$D1/vms/vm/ctl" pause
ok "h3 sees it PAUSED" wait_for 10 grep -q '^PAUSED' "$D3/vms/vm/state"
out=$(ask "$D3/ctl" "move vm h2")
like "$out" "^error: .*move vm h2: vm is PAUSED: a live migration moves a running guest" "a paused VM is refused, saying why"
like "$out" "errno=EBUSY" "(EBUSY)"
"$XWRITE" "$D1/vms/vm/ctl" resume
ok "h3 sees it RUNNING again" wait_for 10 grep -q '^RUNNING' "$D3/vms/vm/state"

# with the image there, but h2 unreachable from h1 (a route that refuses): h2 gets ready, the
# source cannot mirror to it; the VM runs on, on h1, h2's waiting QEMU ends and its copy goes
cp "$T/images/base.qcow2" "$T/h2/state/images/"
ip -n "$ETCD_ID-h1" route add prohibit "$ETCD_ADDR_2/32"
out=$(ask "$D3/ctl" "move vm h2")
ip -n "$ETCD_ID-h1" route del prohibit "$ETCD_ADDR_2/32"
echo "$out" | sed 's/^/# /'
like "$out" "^error: move vm h2: h1: [A-Z]+: .*migrate-out to $ETCD_ADDR_2:4100[01]: " "a migration that cannot reach h2 fails, with the source's words (h2 listened on its migrate_ports)"
is "$(cat "$D1/vms/vm/state" | cut -d' ' -f1)" "RUNNING" "the VM runs on, on h1"
ok "its QEMU is the same" test -d "/proc/$spid"
ok "h2's waiting copy is removed" wait_for 10 sh -c "! test -e '$T/h2/state/ns/default/vms/vm'"
is "$(qemu_left "$T/h2/state/ns/default/vms/vm")" "" "and no QEMU of it runs on h2"
ok "h2's log says its waiting QEMU ended" grep -aq "vms/vm: removed" "$T/h2/state/ns/default/log"
ok "h3 still lists it on h1, RUNNING" sh -c "grep -qx 'host h1' '$D3/vms/vm/info' && grep -q '^state RUNNING' '$D3/vms/vm/info'"
ok "its console answers" console_run "$D1/vms/vm" "still-9" 'echo still-$((3*3))'

# reachable: the move is live
t0=$(date +%s%N)
out=$(ask "$D3/ctl" "move vm h2")
echo "$out" | sed 's/^/# /'
echo "# the whole move: $((($(date +%s%N) - t0) / 1000000)) ms"
like "$out" "^h1: ok moved vm to h2 live: paused [0-9]+ ms \(QEMU: [0-9]+ ms\), [0-9.]+ MiB mirrored" "the answer has the pause"
like "$out" "errno=ok" "the write succeeds"
pause=$(printf '%s' "$out" | sed -n 's/.*paused \([0-9]*\) ms.*/\1/p' | head -1)
ok "the pause is under 1000 ms under TCG" test "${pause:-99999}" -lt 1000
ok "the VM runs on h2" wait_for 10 sh -c "grep -q '^RUNNING' '$D2/vms/vm/state'"
for i in 1 2 3; do
	ok "h$i lists it with host h2" wait_for 10 sh -c "grep -qx 'host h2' '$(mnt "$i")/ns/default/vms/vm/info' && grep -q '^state RUNNING' '$(mnt "$i")/ns/default/vms/vm/info'"
done
ok "the source's QEMU is gone" wait_for 10 gone "$spid"
ok "the source's copy is removed" wait_for 10 sh -c "! test -e '$T/h1/state/ns/default/vms/vm'"
ok "the guest's memory came along" console_run "$D2/vms/vm" "got-hello-42" 'echo got-$(cat /tmp/x)'
ok "and its disk" console_run "$D2/vms/vm" "got-disk-42" 'echo 3 >/proc/sys/vm/drop_caches; echo got-$(head -c 7 /dev/vda)'
ok "its console answers through h3 too" console_run "$D3/vms/vm" "via3-12" 'echo via3-$((3*4))'
ok "h2's log of it says the stream was plain TCP" grep -aq "plain TCP" "$T/h2/state/ns/default/vms/vm/log"
ok "no intent is left" sh -c "! ETCDCTL_API=3 etcdctl --endpoints '$ETCD_URL_one' get --prefix /vmfs/$ETCD_CLUSTER/intent/ --keys-only | grep -q ."
like "$(grep -a 'cluster: move vm h2' "$D3/log" | tail -1)" "committed: h2 owns vm" "the head's log says it committed"

# back to h1, written on h2 (the head is the source), then to h3 written on h3 (the destination)
spid=$(awk '$1=="pid"{print $2}' "$D2/vms/vm/info")
out=$(ask "$D2/ctl" "move vm h1")
like "$out" "^h2: ok moved vm to h1 live: paused [0-9]+ ms" "a move written on the source"
ok "the VM runs on h1, listed so on h3" wait_for 10 sh -c "grep -qx 'host h1' '$D3/vms/vm/info' && grep -q '^state RUNNING' '$D3/vms/vm/info'"
ok "h2's QEMU is gone" wait_for 10 gone "$spid"
ok "h2's copy is removed" wait_for 10 sh -c "! test -e '$T/h2/state/ns/default/vms/vm'"
cp "$T/images/base.qcow2" "$T/h3/state/images/"
out=$(ask "$D3/ctl" "move vm h3")
like "$out" "^h1: ok moved vm to h3 live: paused [0-9]+ ms" "a move written on the destination"
ok "the VM runs on h3, listed so on h2" wait_for 10 sh -c "grep -qx 'host h3' '$D2/vms/vm/info' && grep -q '^state RUNNING' '$D2/vms/vm/info'"
ok "h1's copy is removed" wait_for 10 sh -c "! test -e '$T/h1/state/ns/default/vms/vm'"
ok "the guest's memory came along twice more" console_run "$D3/vms/vm" "again-hello-42" 'echo again-$(cat /tmp/x)'

# recovery: an intent of a head that is gone (h9, down for long), left with the claim moving:
# adopted by a host, aborted since the source's record says RUNNING
ectl() { ETCDCTL_API=3 etcdctl --endpoints "$ETCD_URL_one" --command-timeout 2s "$@"; }
P=/vmfs/$ETCD_CLUSTER
NSID=$(ectl get --print-value-only "$P/ns/default" | sed -n 's/^id=//p')
VID=$(awk '$1=="id"{print $2}' "$D1/vms/vm/info")
printf 'v=1\nsince=1\nwhy=stopped\nby=h9\n' | ectl put "$P/down/h9" >/dev/null
ectl get --print-value-only "$P/name/$NSID/vm" | sed '/^$/d; /^moving=/d; $a moving=h2' | ectl put "$P/name/$NSID/vm" >/dev/null
printf 'v=1\nhost=h9\nkind=migrate\nns=%s\nobjects=vm:%s:h2\nphase=creating\n' "$NSID" "$VID" | ectl put "$P/intent/h9.1.5" >/dev/null
ok "a dead head's migrate intent is settled by another host" wait_for 10 sh -c "! ETCDCTL_API=3 etcdctl --endpoints '$ETCD_URL_one' get --keys-only '$P/intent/h9.1.5' | grep -q ."
ok "the claim moves no longer" sh -c "! ETCDCTL_API=3 etcdctl --endpoints '$ETCD_URL_one' get --print-value-only '$P/name/$NSID/vm' | grep -q '^moving='"
ok "and still names h3" sh -c "ETCDCTL_API=3 etcdctl --endpoints '$ETCD_URL_one' get --print-value-only '$P/name/$NSID/vm' | grep -qx 'host=h3'"
aborted() { cat "$D1/log" "$D2/log" "$D3/log" | grep -aq 'migration of vm from h3 to h2 (run by h9, cut): aborted by h[123]: QEMU runs on h3'; }
ok "a log says it was aborted, and why" wait_for 5 aborted
ectl del "$P/down/h9" >/dev/null

# the head killed while the migration runs: the guest runs on h2 once it completed, and h2
# commits it itself once the head's lease has gone
spid=$(awk '$1=="pid"{print $2}' "$D3/vms/vm/info")
etcd_wr "$D1/ctl" "move vm h2" >/dev/null 2>&1 &
x=$!
wait_for 10 grep -aq "migrate-out to" "$T/h3/state/ns/default/vms/vm/log"
kill -9 "$ETCD_PID_1"
wait $x 2>/dev/null
ok "with h1 killed, the VM runs on h2 and is listed so" wait_for 15 sh -c "grep -qx 'host h2' '$D3/vms/vm/info' && grep -q '^state RUNNING' '$D3/vms/vm/info'"
ok "h2's log says it committed it itself" grep -aq "its head h1 went after the guest ran here: committed by this host" "$D2/log"
ok "the source's QEMU is gone" wait_for 10 gone "$spid"
ok "the source's copy is removed" wait_for 10 sh -c "! test -e '$T/h3/state/ns/default/vms/vm'"
ok "the guest answers on h2" console_run "$D2/vms/vm" "end-hello-42" 'echo end-$(cat /tmp/x)'
etcd_member_stop 1
ok "h1 restarts" etcd_member_start 1
ok "h1 lists it on h2" wait_for 10 sh -c "grep -qx 'host h2' '$D1/vms/vm/info'"
ok "no intent is left" sh -c "! ETCDCTL_API=3 etcdctl --endpoints '$ETCD_URL_one' get --prefix $P/intent/ --keys-only | grep -q ."

# the head stopped while h3 prepares (its lease lapses; it sends nothing more): the source runs
# on, so the intent is aborted by a host that adopts it, and h3's waiting copy goes
spid=$(awk '$1=="pid"{print $2}' "$D2/vms/vm/info")
etcd_wr "$D1/ctl" "move vm h3" >/dev/null 2>&1 &
x=$!
for _ in $(seq 300); do # stopped as soon as its intent is written: before any migrate-out
	ETCDCTL_API=3 etcdctl --endpoints "$ETCD_URL_one" get --prefix "$P/intent/" --keys-only | grep -q . && break
done
kill -STOP "$ETCD_PID_1"
ok "with h1 stopped early, its intent is aborted by another host" wait_for 15 sh -c "! ETCDCTL_API=3 etcdctl --endpoints '$ETCD_URL_one' get --prefix $P/intent/ --keys-only | grep -q ."
ok "h3's waiting copy is removed" wait_for 10 sh -c "! test -e '$T/h3/state/ns/default/vms/vm'"
is "$(qemu_left "$T/h3/state/ns/default/vms/vm")" "" "and no QEMU of it runs on h3"
# (whether h3 saw the intent go mid-stream and awaited QEMU's outcome, or before the stream)
grep -a "intent went while the stream" "$T/h3/state/ns/default/log" | sed 's/^/# h3: /'
ok "the VM runs on, on h2, listed so" sh -c "grep -qx 'host h2' '$D3/vms/vm/info' && grep -q '^state RUNNING' '$D3/vms/vm/info' && test -d /proc/$spid"
ok "a log says why" wait_for 5 sh -c "cat '$D2/log' '$D3/log' | grep -aq 'migration of vm from h2 to h3 (run by h1, cut): aborted by h[23]: QEMU runs on h2'"
kill -9 "$ETCD_PID_1"
kill -CONT "$ETCD_PID_1" 2>/dev/null
wait $x 2>/dev/null
etcd_member_stop 1
ok "h1 restarts" etcd_member_start 1
ok "and lists vm on h2" wait_for 10 sh -c "grep -qx 'host h2' '$D1/vms/vm/info'"

# an abort while the source migrates out (a recovery's, as cmig_recover writes it: the claim's
# mark cleared, the intent deleted): the source cancels, and the guest runs on, on h2. 80 MiB
# of the guest's memory that is not zeros keeps the stream busy a while (under a second when
# the machine is quiet: the abort comes 0.2 s after the start; one 1 s later found it done).
printf '%s\n' 'dd if=/dev/urandom of=/tmp/r bs=1M count=1 2>/dev/null; i=0; while [ $i -lt 80 ]; do cat /tmp/r; i=$((i+1)); done >/tmp/fill; echo filled-$((2+3))' >"$D2/vms/vm/console"
ok "the guest fills 80 MiB of its memory" wait_for 60 console_has "$D2/vms/vm" "filled-5"
spid=$(awk '$1=="pid"{print $2}' "$D2/vms/vm/info")
outs() { grep -ac "migrate-out to" "$T/h2/state/ns/default/vms/vm/log"; }
n0=$(outs)
begun() { [ "$(outs)" -gt "$n0" ]; }
etcd_wr "$D1/ctl" "move vm h3" >"$T/abort.out" 2>&1 &
x=$!
ok "the migration to h3 has begun" wait_for 20 begun
sleep 0.2
ik=$(ectl get --prefix "$P/intent/" --keys-only | grep . | head -1)
ectl get --print-value-only "$P/name/$NSID/vm" | sed '/^$/d; /^moving=/d' | ectl put "$P/name/$NSID/vm" >/dev/null
ectl del "$ik" >/dev/null
wait $x
grep -a "migrate_cancel" "$T/h2/state/ns/default/vms/vm/log" | sed 's/^/# h2: /'
out=$(tr ';' '\n' <"$T/abort.out")
# (the source's migrate_cancel, or h3 ending its waiting QEMU as it saw the intent go: whichever
# came first)
like "$out" "^error: move vm h3: h2: [A-Z]+: .*migrate-out to .*: the migration (cancelled|failed)" "the move fails, with the source's words"
ok "the VM runs on, on h2, its QEMU the same" sh -c "grep -q '^RUNNING' '$D2/vms/vm/state' && test -d /proc/$spid"
ok "h3's waiting copy is removed" wait_for 10 sh -c "! test -e '$T/h3/state/ns/default/vms/vm'"
is "$(qemu_left "$T/h3/state/ns/default/vms/vm")" "" "and no QEMU of it runs on h3"
# (whether h3 saw the intent go mid-stream and awaited QEMU's outcome, or before the stream)
grep -a "intent went while the stream" "$T/h3/state/ns/default/log" | sed 's/^/# h3: /'
claim_h2() { local v; v=$(ectl get --print-value-only "$P/name/$NSID/vm"); grep -qx host=h2 <<<"$v" && ! grep -q '^moving=' <<<"$v"; }
ok "the claim names h2, not moving" claim_h2
ok "the guest answers on h2" console_run "$D2/vms/vm" "last-hello-42" 'rm -f /tmp/fill /tmp/r; echo last-$(cat /tmp/x)'
# on a failure: each side's words about the migrations (a destination's QMP trail, its events)
if [ "$TAP_FAIL" != 0 ]; then
	for i in 1 2 3; do
		grep -a 'migrat' "$T/h$i/state/ns/default/vms/vm/log" 2>/dev/null | tail -15 | sed "s/^/# h$i vm: /"
		grep -a 'migrat\|cluster: move' "$T/h$i/state/ns/default/log" 2>/dev/null | tail -15 | sed "s/^/# h$i: /"
	done
fi
done_testing
