#!/usr/bin/env bash
# Reads that must wait do not hold a thread: 200 readers blocked on consoles, and the rest
# of the tree still answers at once; interrupted readers go away cleanly.
. "$(dirname "$0")/lib.sh"
vmfs_start || exit 1
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
