#!/usr/bin/env bash
# Reads that must wait do not hold a thread: 200 readers blocked on consoles, and the rest
# of the tree still answers at once; interrupted readers go away cleanly.
. "$(dirname "$0")/lib.sh"
use_boot_image
vmfs_start --images "$T/images" || exit 1
D=$M/ns/default
echo 'launch container c[1-20]' >"$D/ctl"

pids=()
for i in $(seq 1 200); do
	cat "$D/containers/c$(((i % 20) + 1))/console" >/dev/null 2>&1 &
	pids+=($!)
done
EXTRA_CLEANUP='kill ${pids[*]} 2>/dev/null'
sleep 1
alive=0
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
is "$alive" "200" "200 console readers are blocked, waiting for output"

# with a thread per waiting read (libfuse's high-level API, 10 threads by default) this
# would hang; here it must answer while all 200 wait
start=$(date +%s%N)
out=$(timeout 5 cat "$D/info")
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$rc" "0" "cat ns/default/info answers while 200 readers wait"
is "$(printf '%s\n' "$out" | wc -l)" "21" "... with all 20 rows"
echo "# cat info took $ms ms with 200 blocked readers"
ok "mkdir still works" mkdir "$D/vms/during"
ok "config writes still work" sh -c "echo 1G > '$D/vms/during/config/memory'"

# a non-blocking reader gets EAGAIN instead of waiting
is "$(python3 -c "
import os, errno
fd = os.open('$D/containers/c1/console', os.O_RDONLY | os.O_NONBLOCK)
try:
    os.read(fd, 100); print('data')
except BlockingIOError:
    print('EAGAIN')
" 2>&1)" "EAGAIN" "O_NONBLOCK console read: EAGAIN"

# interrupt them all: each must exit promptly (no process stuck in the kernel)
kill "${pids[@]}" 2>/dev/null
sleep 1
alive=0 dstate=0
for p in "${pids[@]}"; do
	if kill -0 "$p" 2>/dev/null; then
		alive=$((alive + 1))
		[ "$(awk '{print $3}' /proc/$p/stat 2>/dev/null)" = D ] && dstate=$((dstate + 1))
	fi
done
is "$alive" "0" "all 200 interrupted readers exited"
is "$dstate" "0" "none stuck in D state"
for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done

# removing the object ends its readers with end-of-file
cat "$D/containers/c5/console" >/dev/null 2>&1 &
r=$!
sleep 0.3
rmdir "$D/containers/c5"
sleep 0.3
ok "a reader of a removed object's console sees the end" sh -c "! kill -0 $r 2>/dev/null"
wait $r
is "$?" "0" "... and exits 0"

# log files grow: tail -f sees new lines
tail -n0 -f "$D/log" >"$T/follow" 2>&1 &
tp=$!
sleep 1.2
echo 'launch kvm followme' >"$D/ctl"
sleep 2.5
kill $tp 2>/dev/null; wait $tp 2>/dev/null
like "$(cat "$T/follow")" "vms/followme: created" "tail -f on a log sees new events"

# A write that waits (a VM's start: its QEMU starts 1 s late here) is not failed by a signal
# its shell merely catches: bash takes SIGCHLD for each background job that ends (echo used
# to say "write error: Interrupted system call"). A signal it catches for its own use (a
# trap) still lets the writer go, as Ctrl-C does.
cat >"$T/slowqemu" <<'SH'
#!/bin/sh
sleep 1
exec qemu-system-x86_64 "$@"
SH
chmod 755 "$T/slowqemu"
chmod 711 "$T" # the wrapper must be reachable by QEMU's user (state/ stays 0700)
mkdir "$D/vms/slow"
echo vmlinuz >"$D/vms/slow/config/kernel" && echo initrd >"$D/vms/slow/config/initrd"
echo "$T/slowqemu" >"$D/vms/slow/config/qemu"
bash -c 'for i in 1 2 3 4 5 6; do sleep 0.1 & done; echo start >"$1" && echo written' _ \
	"$D/vms/slow/ctl" >"$T/sigchld.out" 2>&1
is "$(cat "$T/sigchld.out")" "written" "a start written while background jobs end (SIGCHLD) is not interrupted"
is "$(cat "$D/vms/slow/state")" "RUNNING" "... and the VM runs"
ok "kill it" "$XWRITE" "$D/vms/slow/ctl" kill
bash -c 'trap "echo trapped" USR1; echo start >"$1"; echo "rc=$?"' _ "$D/vms/slow/ctl" \
	>"$T/sigusr.out" 2>&1 &
b=$!
sleep 0.4
kill -USR1 $b
wait $b
like "$(cat "$T/sigusr.out")" "Interrupted system call" "a signal the shell traps lets the waiting writer go (EINTR)"
ok "the start goes on: the VM runs" wait_for 10 sh -c "grep -qx RUNNING '$D/vms/slow/state'"
ok "kill it" "$XWRITE" "$D/vms/slow/ctl" kill

# SIGTERM with readers parked answers them and unmounts: nothing hangs
cat "$D/containers/c1/console" >/dev/null 2>&1 &
r=$!
sleep 0.3
vmfs_term
is "$?" "0" "SIGTERM with a parked reader: vmfs exits 0"
ok "... and the mount is gone" sh -c "! grep -q ' $M ' /proc/mounts"
sleep 0.3
ok "the parked reader was released" sh -c "! kill -0 $r 2>/dev/null"
done_testing
