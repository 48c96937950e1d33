#!/usr/bin/env bash
# The helpers every test ends its processes with (ours_lib.sh) name only what the test's own
# state directory holds: a process working in one of its run directories, or one its run/
# files record with the right start time; never a process whose pid a stale file names.
# Mounts no vmfs: the state directory is laid out by hand, with sleeps for shims and QEMUs.
. "$(dirname "$0")/lib.sh"
run=$S/ns/default/vms/v1/run
mkdir -p "$run" "$S/ns/default/containers/c1/run" "$T/elsewhere"
PIDS=()
EXTRA_CLEANUP='for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done'
spawn() { # spawn DIR: a sleep working in DIR; its pid in SPAWNED
	(cd "$1" && exec sleep 60) &
	SPAWNED=$!
	disown # (no "Killed" notices)
	PIDS+=("$SPAWNED")
}

spawn "$run"
qemu=$SPAWNED # works in its run directory, like QEMU
spawn "$T/elsewhere"
init=$SPAWNED # recorded in run/pid with its start time, like a container's init
spawn "$T/elsewhere"
foreign=$SPAWNED # someone else's: named by stale files only
sleep 0.2
echo "$qemu" >"$run/qemu.pid"
echo "$init $(proc_start "$init")" >"$S/ns/default/containers/c1/run/pid"
echo "$foreign $(($(proc_start "$foreign") + 1))" >"$S/ns/default/containers/c1/run/shim.pid"
mkdir -p "$S/ns/default/vms/v2/run"
echo "$foreign" >"$S/ns/default/vms/v2/run/qemu.pid" # a bare pid, not working here

like "$(proc_start "$init")" '^[0-9]+$' "proc_start reads field 22 of /proc/PID/stat"
is "$(ours | cut -d' ' -f1 | sort -n | tr '\n' ' ')" "$(printf '%s\n' "$qemu" "$init" | sort -n | tr '\n' ' ')" \
	"ours: the process in a run directory and the one recorded with its start time"
is "$(ours "$S/ns/default/vms/v1" | cut -d' ' -f1)" "$qemu" "ours DIR: only those under DIR"
ok "none_of_ours is false while they run" eval '! none_of_ours'
kill_ours
ok "kill_ours ends them" sh -c "! kill -0 $qemu 2>/dev/null && ! kill -0 $init 2>/dev/null"
ok "and not the process a stale file names (another start time, or working elsewhere)" kill -0 "$foreign"
ok "none_of_ours once they are gone" none_of_ours
done_testing
