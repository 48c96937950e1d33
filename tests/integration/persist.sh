#!/usr/bin/env bash
# Nothing is lost when vmfs is killed: kill -9 at any moment, mount again, everything is back.
# A stale mount left by the killed daemon is cleared at start with a clear message.
. "$(dirname "$0")/lib.sh"
vmfs_start || exit 1
mkdir "$M/ns/lab"
chmod 0750 "$M/ns/lab"
echo 1536M >"$M/ns/lab/config/memory"
echo 'launch kvm web[1-5]' >"$M/ns/lab/ctl"
echo 'launch container c[01-03]' >"$M/ns/lab/ctl"
echo 3 >"$M/ns/lab/vms/web2/config/vcpus"
echo 'LAN1 LAN2' >"$M/ns/lab/containers/c02/config/net"
echo 200-300 >"$M/ns/lab/vlans/range"
echo 'kill web5' >"$M/ns/lab/ctl"
before_info=$(cat "$M/ns/lab/info")
before_log=$(cat "$M/ns/lab/log")

# a burst of writes with kill -9 in the middle: each value is old or new, never torn
( for i in $(seq 1 200); do echo "${i}M" >"$M/ns/lab/vms/web1/config/memory" 2>/dev/null || break; done ) &
writer=$!
sleep 0.2
vmfs_kill9
wait $writer 2>/dev/null
like "$(stat "$M" 2>&1)" "not connected" "after kill -9 the mount point is stale (ENOTCONN)"

vmfs_start || exit 1
like "$(cat "$T/vmfs.err")" "clearing a stale mount left by a vmfs that died" "restart says it cleared the stale mount"
is "$(ls "$M/ns" | tr '\n' ' ')" "default lab " "namespaces are back"
is "$(stat -c %a "$M/ns/lab")" "750" "the namespace mode is back"
after_info=$(cat "$M/ns/lab/info")
is "$(printf '%s\n' "$after_info" | grep -v web1)" "$(printf '%s\n' "$before_info" | grep -v web1)" "ns info is the same (but web1's memory, being written)"
like "$(cat "$M/ns/lab/vms/web1/config/memory")" "^[0-9]+M$" "web1's memory is a whole value written before the kill"
is "$(cat "$M/ns/lab/config/memory")" "1536M" "the namespace template is back"
is "$(cat "$M/ns/lab/vms/web2/config/vcpus")" "3" "an object's value is back"
is "$(cat "$M/ns/lab/containers/c02/config/net")" "LAN1 LAN2" "a list value is back"
is "$(cat "$M/ns/lab/vlans/range")" "200-300" "vlans/range is back"
is "$(cat "$M/ns/lab/vms/web5/state")" "QUIT" "a state is back"
like "$(cat "$M/ns/lab/log")" "$(printf '%s' "$before_log" | tail -1 | cut -c22- | sed 's/[][\.*^$]/\\&/g')" "the log is back"
echo 'launch kvm web6' >"$M/ns/lab/ctl"
is "$(awk -F'\t' '$2=="web6"{print $1}' "$M/ns/lab/info")" "9" "ids go on where they were"

# leftovers of a crash in the state directory are not objects
mkdir "$S/ns/lab/vms/half"
vmfs_stop
vmfs_start || exit 1
ok "a half-made object directory (no config) is ignored" test ! -e "$M/ns/lab/vms/half"
ok "... and removed from the state directory" test ! -e "$S/ns/lab/vms/half"

# a second daemon on the same state directory is refused
mkdir -p "$T/mnt2"
EXTRA_CLEANUP="fusermount3 -uz '$T/mnt2' 2>/dev/null"
"$VMFS" -f --state "$S" "$T/mnt2" 2>"$T/second.err"
is "$?" "1" "a second vmfs on the same state directory exits 1"
like "$(cat "$T/second.err")" "in use by another vmfs \(pid [0-9]+\)" "and says why"
ok "the first one still answers" cat "$M/version"

vmfs_stop
done_testing
