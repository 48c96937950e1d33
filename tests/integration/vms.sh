#!/usr/bin/env bash
# QEMU VMs through the tree, under TCG: boot the default image and see the banner on the
# console, a command round trip, pause/resume, power-off, kill, a broken kernel path, and
# survival of a vmfs restart. Real QEMU guests.
. "$(dirname "$0")/lib.sh"
use_boot_image
vmfs_start --images "$T/images" || exit 1
D=$M/ns/default
V=$D/vms
EXTRA_CLEANUP='[ -e "$D/ctl" ] && echo "kill all" > "$D/ctl" 2>/dev/null; kill_ours'
# TCG everywhere: the same guest speed on every host (a KVM that works on one is broken on another)
echo tcg >"$D/config/accel"


mkdir "$V/v1"
ok "start" "$XWRITE" "$V/v1/ctl" start
is "$(cat "$V/v1/state")" "RUNNING" "state RUNNING"
pid=$(awk '$1=="pid"{print $2}' "$V/v1/info")
like "$(cat /proc/$pid/cmdline 2>/dev/null | tr '\0' ' ')" "qemu-system-x86_64 .*-accel (tcg|kvm)" "info's pid is the QEMU"
ok "the banner appears on the console" wait_for 60 console_has "$V/v1" "vmfs guest v1 is up"
ok "then a shell prompt" wait_for 30 console_has "$V/v1" "v1:/#"
printf 'echo answer=$((6*7))\n' >"$V/v1/console"
ok "a command typed into the console runs in the guest" wait_for 20 console_has "$V/v1" "answer=42"
# QEMU copies the output to the typing connection too: unread, it once held the serial line
printf 'i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done; echo many=$((300*2))\n' >"$V/v1/console"
ok "typing, then 3 KB of output: none of it held back" wait_for 30 console_has "$V/v1" "many=600"
ok "pause" "$XWRITE" "$V/v1/ctl" pause
is "$(cat "$V/v1/state")" "PAUSED" "state PAUSED"
printf 'echo paused=$((1+1))\n' >"$V/v1/console"
sleep 2
ok "a paused guest does not run" sh -c "! timeout 1 cat '$V/v1/console' | grep -aq paused=2"
ok "resume" "$XWRITE" "$V/v1/ctl" resume
ok "after resume it runs again" wait_for 20 console_has "$V/v1" "paused=2"

# kill -9 vmfs with three VMs running: they keep running, a new vmfs adopts them all
ok "launch two more" "$XWRITE" "$D/ctl" "launch kvm v[2-3]"
ok "start them" "$XWRITE" "$D/ctl" "start v[2-3]"
ok "both boot" wait_for 60 sh -c "timeout 1 cat '$V/v2/console' | grep -aq 'guest v2 is up' && timeout 1 cat '$V/v3/console' | grep -aq 'guest v3 is up'"
pids="$pid $(awk '$1=="pid"{print $2}' "$V/v2/info") $(awk '$1=="pid"{print $2}' "$V/v3/info")"
vmfs_kill9
ok "the VMs outlive vmfs" kill -0 $pids
vmfs_start --images "$T/images" || exit 1
is "$(cat "$V/v1/state" "$V/v2/state" "$V/v3/state" | tr '\n' ' ')" "RUNNING RUNNING RUNNING " "adopted: all RUNNING"
is "$(awk '$1=="pid"{print $2}' "$V/v1/info" "$V/v2/info" "$V/v3/info" | tr '\n' ' ')" "$pids " "the same QEMUs"
ok "console scrollback intact" console_has "$V/v1" "answer=42"
ok "every console's scrollback" sh -c "timeout 1 cat '$V/v2/console' | grep -aq 'guest v2 is up' && timeout 1 cat '$V/v3/console' | grep -aq 'guest v3 is up'"
like "$(awk '$1=="status"{print $2}' "$V/v2/info")" "running" "QMP reconnected: QEMU's status is known again"
ok "ctl works on an adopted VM" "$XWRITE" "$V/v2/ctl" pause
is "$(cat "$V/v2/state")" "PAUSED" "paused"
ok "kill v2 and v3" "$XWRITE" "$D/ctl" "kill v[2-3]"
printf 'echo again=$((2+3))\n' >"$V/v1/console"
ok "console input works after the restart" wait_for 20 console_has "$V/v1" "again=5"

# guest power-off: QUIT
printf 'poweroff -f\n' >"$V/v1/console"
ok "a guest power-off makes it QUIT" wait_for 30 grep -qx QUIT "$V/v1/state"
is "$(awk '$1=="exit"{$1=""; print substr($0,2)}' "$V/v1/info")" "powered off" "info says how it ended"
ok "QEMU is gone" gone "$pid"

# kill
ok "start again" "$XWRITE" "$V/v1/ctl" start
ok "kill" "$XWRITE" "$V/v1/ctl" kill
is "$(cat "$V/v1/state")" "QUIT" "killed: QUIT at once"

# stop is an ACPI power-down: the image's acpid syncs and powers the guest off, long before
# the grace period (under TCG, the slow case)
ok "start again" "$XWRITE" "$V/v1/ctl" start
pid=$(awk '$1=="pid"{print $2}' "$V/v1/info")
shell_answers() { # typed before the shell runs, a line is lost: typed again until it answers
	printf 'echo ready=$((5*5))\n' >"$V/v1/console"
	wait_for 2 console_has "$V/v1" "ready=25"
}
ok "it boots to a shell" wait_for 90 shell_answers
t0=$(date +%s%N)
ok "stop" "$XWRITE" "$V/v1/ctl" stop
for i in $(seq 100); do grep -qx QUIT "$V/v1/state" && break; sleep 0.05; done
t=$((($(date +%s%N) - t0) / 1000000))
echo "# stop to QUIT: $t ms"
ok "stop ends in QUIT within 3 s ($t ms)" sh -c "grep -qx QUIT '$V/v1/state' && [ $t -lt 3000 ]"
is "$(awk '$1=="exit"{$1=""; print substr($0,2)}' "$V/v1/info")" "powered off" "the guest powered itself off"
ok "having synced first" console_has "$V/v1" "power button: syncing"
ok "QEMU is gone" wait_for 5 gone "$pid"

# a kernel that is not a kernel: ERROR with QEMU's own words
mkdir "$V/bad"
echo junk >"$T/images/notakernel"
echo notakernel >"$V/bad/config/kernel"
is "$(errno_of "$V/bad/ctl" start)" "EIO" "a start with a broken kernel fails"
is "$(cat "$V/bad/state")" "ERROR" "state ERROR"
like "$(cat "$V/bad/log")" "qemu|kernel|linux" "the log has QEMU's own words"

# a start waits for QEMU, and nothing else does
printf '#!/bin/sh\nsleep 2\nexec qemu-system-x86_64 "$@"\n' >"$T/slowqemu"
chmod 755 "$T/slowqemu"
chmod 711 "$T" # QEMU runs as the user vmfs: it must reach the wrapper (state/ stays 0700)
mkdir "$V/slow"
echo "$T/slowqemu" >"$V/slow/config/qemu"
"$XWRITE" "$V/slow/ctl" start >/dev/null &
w=$!
sleep 0.5
ok "the start's write waits for QEMU" kill -0 $w
ok "the tree answers meanwhile" sh -c "cat '$M/version' '$D/info' >/dev/null && grep -qx BUILDING '$V/slow/state' && kill -0 $w"
is "$(errno_of "$D/ctl" "start slow")" "EBUSY" "a second start is refused"
like "$(tail -1 "$D/log")" "slow is starting" "saying why"
ok "the write returns once QEMU is up" wait $w
is "$(cat "$V/slow/state")" "RUNNING" "RUNNING"
ok "kill" "$XWRITE" "$V/slow/ctl" kill
"$XWRITE" "$V/slow/ctl" start >/dev/null &
w=$!
sleep 0.5
ok "a kill during a start waits for the start, then kills" "$XWRITE" "$D/ctl" "kill slow"
wait $w
is "$(cat "$V/slow/state")" "QUIT" "QUIT"
ok "no QEMU left behind" wait_for 3 none_of_ours "$S/ns/default/vms/slow"
ok "flush it" "$XWRITE" "$D/ctl" "flush slow"

# QEMU killed behind vmfs's back: not a power-off
ok "start v1 again" "$XWRITE" "$V/v1/ctl" start
kill -9 "$(awk '$1=="pid"{print $2}' "$V/v1/info")"
ok "a QEMU killed from outside makes it ERROR" wait_for 10 grep -qx ERROR "$V/v1/state"
like "$(awk '$1=="exit"' "$V/v1/info")" "QEMU ended without shutting down" "and says so, not 'powered off'"

# rmdir kills and removes; nothing left behind
ok "start v1" "$XWRITE" "$V/v1/ctl" start
pid=$(awk '$1=="pid"{print $2}' "$V/v1/info")
ok "rmdir a running VM" rmdir "$V/v1"
ok "QEMU is gone" gone "$pid"
ok "its run directory is gone" test ! -e "$S/ns/default/vms/v1"
ok "flush the rest" "$XWRITE" "$D/ctl" "flush all"
ok "no QEMU left" wait_for 3 none_of_ours
vmfs_stop
done_testing
