#!/usr/bin/env bash
# The KVM probe at startup: host/info and host/log give its verdict; a /dev/kvm whose guests
# hang (here a hangfs file whose open never returns, through VMFS_KVM_DEVICE) delays the
# mount by the probe's 1.5 s at most, `accel auto` VMs then run under TCG, and `accel kvm`
# is refused at once with the reason. Real QEMU guests.
. "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || { echo "not ok 1 - qemu-system-x86_64 is installed (./setup --deps)"; exit 1; }
make -s -C "$ROOT" images tests/tools/hangfs >/dev/null || { echo "not ok 1 - make images hangfs"; exit 1; }
mkdir -p "$T/images" "$T/hang"
cp "$ROOT/build/boot/vmlinuz" "$ROOT/build/boot/initrd" "$T/images/"
D=$M/ns/default
V=$D/vms
HANG_PID=
QPIDS=
EXTRA_CLEANUP='[ -e "$D/ctl" ] && echo "kill all" > "$D/ctl" 2>/dev/null
for p in $QPIDS; do kill -9 "$p" 2>/dev/null; done
[ -n "$HANG_PID" ] && kill "$HANG_PID" 2>/dev/null && wait "$HANG_PID" 2>/dev/null
grep -q " $T/hang " /proc/mounts && { fusermount3 -uz "$T/hang" 2>/dev/null || umount -l "$T/hang"; }'

kvm_line() { awk '$1=="kvm"{$1=""; print substr($0,2)}' "$M/host/info"; }
ms() { echo $(($(date +%s%N) / 1000000)); }
# this test's probers that are alive (a zombie is dead: init reaps it in its own time); ours
# are told apart from another vmfs's by the device this test gave them (their environment)
probers() {
	local p
	for p in $(ps -eo pid=,stat=,comm= | awk '$3=="vmfs-kvm-probe" && $2 !~ /^Z/ {print $1}'); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "VMFS_KVM_DEVICE=$T/hang/kvm" && echo "$p"
	done | wc -l
}

# (a) this machine's own /dev/kvm
vmfs_start --images "$T/images" || exit 1
like "$(kvm_line)" "^(works \(a probe guest ran in [0-9]+ ms\)|(absent|broken): .* \(VMs run under TCG emulation\))$" \
	"host/info: kvm works, absent or broken ($(kvm_line))"
like "$(grep ' kvm ' "$M/host/log" | tail -1)" "kvm (works|absent|broken): " "host/log has the verdict"
if [ ! -e /dev/kvm ]; then
	is "$(kvm_line)" "absent: /dev/kvm: No such file or directory (VMs run under TCG emulation)" \
		"no /dev/kvm here: absent"
fi
ok "stop" vmfs_stop

# (b) a device whose open hangs
"$ROOT/tests/tools/hangfs" "$T/hang" -f &
HANG_PID=$!
ok "hangfs mounts" wait_for 5 test -e "$T/hang/kvm"
t0=$(ms)
VMFS_KVM_DEVICE=$T/hang/kvm vmfs_start --images "$T/images" || exit 1
t=$(($(ms) - t0))
ok "the mount comes up within 3 s of a hanging KVM ($t ms)" test "$t" -lt 3000
is "$(kvm_line)" "broken: a probe guest did not finish within 1500 ms (VMs run under TCG emulation)" \
	"host/info: kvm broken, and why"
like "$(grep ' kvm ' "$M/host/log" | tail -1)" "kvm broken: a probe guest did not finish within 1500 ms" \
	"host/log says so"
ok "the stuck prober was killed" wait_for 3 test "$(probers)" = 0

mkdir "$V/auto"
ok "accel auto starts" "$XWRITE" "$V/auto/ctl" start
is "$(cat "$V/auto/state")" "RUNNING" "state RUNNING"
pid=$(awk '$1=="pid"{print $2}' "$V/auto/info")
QPIDS="$QPIDS $pid"
like "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" "qemu-system-x86_64 .*-accel tcg " "under TCG"
like "$(cat "$V/auto/log")" "started \(QEMU pid $pid, tcg\)" "the log says tcg"

mkdir "$V/forced"
echo kvm >"$V/forced/config/accel"
t0=$(ms)
is "$(errno_of "$V/forced/ctl" start)" "ENODEV" "accel kvm on a broken KVM: ENODEV"
t=$(($(ms) - t0))
ok "refused at once ($t ms)" test "$t" -lt 1000
is "$(cat "$V/forced/state")" "ERROR" "state ERROR"
like "$(cat "$V/forced/log")" "accel kvm: a probe guest did not finish within 1500 ms; set config/accel to auto or tcg" \
	"the log says why"
like "$(awk '$1=="exit"' "$V/forced/info")" "^exit error: accel kvm: " "info's exit line too"
ok "no QEMU was run" none_of_ours "$S/ns/default/vms/forced"

ok "kill the auto VM" "$XWRITE" "$V/auto/ctl" kill
ok "QEMU is gone" wait_for 5 sh -c "! kill -0 $pid 2>/dev/null"
ok "stop" vmfs_stop

# (c) hangfs ends cleanly: nothing holds its file
kill "$HANG_PID"
wait "$HANG_PID"
is "$?" "0" "hangfs exits cleanly"
HANG_PID=
ok "hangfs is unmounted" sh -c "! grep -q ' $T/hang ' /proc/mounts"
done_testing
