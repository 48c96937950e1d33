#!/usr/bin/env bash
# A full disk: the state directory on a 4 MiB tmpfs of the test's own (the images elsewhere),
# filled to the last byte. launch, mkdir and config writes fail with ENOSPC and a reason in
# words, a start fails leaving nothing running, nothing half-made stays and no config is
# touched; a vmfs killed and started again on the full disk still lists everything; once
# the space is free again everything works, and a restart loads every object.
. "$(dirname "$0")/lib.sh"
need_root
use_busybox_image
use_boot_image
SMALL=$T/small
mkdir -p "$SMALL"
mount -t tmpfs -o size=4m,mode=0755 fault-fulldisk "$SMALL" || { echo "not ok 1 - mount a 4 MiB tmpfs"; exit 1; }
S=$SMALL/state
EXTRA_CLEANUP='fault_sweep; umount -l "$SMALL" 2>/dev/null'
vmfs_start --images "$T/images" || exit 1
fault_learn || { echo "not ok 1 - host/info names this vmfs's cgroup and device prefix"; exit 1; }
D=$M/ns/default
C=$D/containers

w() { timeout 30 "$XWRITE" "$@"; } # one write: prints the errno name, nothing if it succeeded
answer() { timeout 30 "$XWRITE" -r "$@"; } # one write on a ctl, then what it answers

listing() { timeout 10 cat "$D/info" | awk -F'\t' 'NR>1{print $2, $3, $4}'; }
configs() { # every object's config file, as it is on disk
	local f
	for f in "$S"/ns/*/*/*/config "$S"/ns/*/ns.conf; do
		[ -f "$f" ] && printf '%s %s\n' "${f#"$S"/}" "$(md5sum <"$f" | cut -c1-32)"
	done
}
half_made() { # object directories without a config, and configs that do not end in a newline
	local d
	for d in "$S"/ns/*/vms/* "$S"/ns/*/containers/*; do
		[ -d "$d" ] || continue
		[ -s "$d/config" ] || { echo "${d#"$S"/}: no config"; continue; }
		[ -z "$(tail -c1 "$d/config")" ] || echo "${d#"$S"/}/config: truncated (no final newline)"
	done
}

ok "launch three containers" "$XWRITE" "$D/ctl" "launch container c[1-3]"
ok "a config value" "$XWRITE" "$C/c1/config/memory" 96M
ok "start c1" "$XWRITE" "$C/c1/ctl" start
mkdir "$M/ns/lab" && ok "a second namespace" "$XWRITE" "$M/ns/lab/ctl" "launch container l1"
ok "a VM with a NIC" "$XWRITE" "$D/ctl" "launch kvm v1"
ok "its NIC" "$XWRITE" "$D/vms/v1/config/net" 101
ok "under TCG" "$XWRITE" "$D/vms/v1/config/accel" tcg
before=$(listing)
conf_before=$(configs)
files_before=$(cd "$S" && find . -type f ! -name 'log*' | sort)

# fill it: big blocks, then small ones, until not one more byte fits
dd if=/dev/zero of="$SMALL/fill" bs=64k status=none 2>/dev/null
dd if=/dev/zero of="$SMALL/fill2" bs=4k status=none 2>/dev/null
is "$(df --output=avail "$SMALL" | tail -1 | tr -d ' ')" "0" "the state directory's filesystem is full"

out=$(answer "$D/ctl" "launch container x1")
like "$out" "No space left|ENOSPC" "launch: the write fails with ENOSPC"
like "$out" "error: .*(cannot save|state directory|[Nn]o space)" "launch: the ctl answers a reason in words"
is "$(errno_of "$D/ctl" "launch container x1")" "ENOSPC" "launch: the errno is ENOSPC"
out=$(mkdir "$C/x2" 2>&1)
like "$out" "No space left" "mkdir of a container: ENOSPC"
out=$(mkdir "$M/ns/full" 2>&1)
like "$out" "No space left" "mkdir of a namespace: ENOSPC"
is "$(errno_of "$C/c2/config/memory" 1G)" "ENOSPC" "a config write: ENOSPC"
is "$(cat "$C/c2/config/memory")" "256M" "the value is unchanged"
is "$(errno_of "$D/config/memory" 1G)" "ENOSPC" "a template write: ENOSPC"
# a log's last page has room for a line or two, so the reasons can still be written there
like "$(grep 'x1' "$D/log")" "error: .*x1.*No space left" "the namespace's log has the launch's reason"
like "$(grep 'x2' "$D/log")" "error: .*x2.*No space left" "and the mkdir's"
like "$(grep 'ns/full' "$M/host/log")" "error: mkdir ns/full: .*No space left" "host/log has the reason for ns/full"
like "$(tail -n 1 "$C/c2/log")" "error: config/memory: .*No space left" "c2's log has the config write's reason"

is "$(errno_of "$D/ctl" "launch container y[1-5]")" "ENOSPC" "a launch of five: ENOSPC"
is "$(listing | grep -c '^y')" "0" "and none of them is made"

r=$(errno_of "$D/vms/v1/ctl" start)
like "$r" "^E" "a VM start on the full disk fails (got ${r:-success})"
is "$(fault_procs | awk '$2=="default/vms/v1"' | wc -l)" "0" "no process of it"
is "$(fault_devices | tr '\n' ' ')" "" "no network device of this vmfs is left (c1 has no NIC)"

r=$(errno_of "$C/c2/ctl" start)
like "$r" "^E" "a start on the full disk fails (got ${r:-success})"
like "$(cat "$C/c2/state")" "^(BUILDING|ERROR)$" "and the container is not RUNNING"
ok "nothing of it runs" sh -c "! grep -q . '$S/ns/default/containers/c2/run/pid' 2>/dev/null"
is "$(fault_procs | awk '$2=="default/containers/c2"' | wc -l)" "0" "no process of it"
is "$(fault_mounts | grep -c /containers/c2/)" "0" "no mount of it"
is "$(fault_cgroups | grep -c /default/c2$)" "0" "no cgroup of it"

is "$(listing | grep -Ev '^(c2|v1) ')" "$(grep -Ev '^(c2|v1) ' <<<"$before")" "the listing is what it was (but the states of c2 and v1)"
is "$(listing | grep -cE '^(x1|x2) ')" "0" "nothing half-made: no x1 or x2 listed"
ok "no ns/full" test ! -e "$M/ns/full"
is "$(half_made)" "" "nothing half-made in the state directory"
ok "no x1, x2 or ns/full in the state directory" sh -c "[ ! -e '$S/ns/default/containers/x1' ] && [ ! -e '$S/ns/default/containers/x2' ] && [ ! -e '$S/ns/full' ]"
is "$(configs)" "$conf_before" "every config on disk is as it was"
is "$(cd "$S" && find . -type f ! -name 'log*' ! -path '*/run/*' | sort)" "$(grep -v /run/ <<<"$files_before")" "no file was added to the state directory (no temporary file left)"
ok "c1 still runs" grep -qx RUNNING "$C/c1/state"

# a vmfs killed and started again while the disk is full loses nothing
vmfs_kill9
if vmfs_start --images "$T/images"; then
	is "$(listing | awk '{print $1, $2}')" "$(awk '{print $1, $2}' <<<"$before")" "a vmfs started on the full disk lists every object"
	is "$(ls "$M/ns" | tr '\n' ' ')" "default lab " "and every namespace"
	is "$(configs)" "$conf_before" "and no config changed"
	is "$(cat "$C/c1/state")" "RUNNING" "c1 was adopted"
else
	TAP_N=$((TAP_N + 1))
	echo "not ok $TAP_N - a vmfs starts on the full disk"
	sed 's/^/#   /' "$T/vmfs.err" | tail -5
	: >"$T/vmfs.err"
fi

# space again: everything works
rm -f "$SMALL/fill" "$SMALL/fill2"
[ -n "$VMFS_PID" ] || vmfs_start --images "$T/images" || exit 1
ok "launch works again" "$XWRITE" "$D/ctl" "launch container x1"
ok "mkdir works again" mkdir "$C/x2"
ok "mkdir of a namespace works again" mkdir "$M/ns/full"
ok "a config write works again" "$XWRITE" "$C/c2/config/memory" 1G
is "$(cat "$C/c2/config/memory")" "1G" "and sets the value"
ok "a start works again" "$XWRITE" "$C/c2/ctl" start
ok "a kill too" "$XWRITE" "$C/c2/ctl" kill
like "$(tail -n 1 "$D/log")" "c2" "the log is written again"
is "$(half_made)" "" "nothing half-made in the state directory"

after=$(listing)
stop_clean
vmfs_start --images "$T/images" || exit 1
is "$(listing)" "$after" "a restart loads every object, in its state"
is "$(ls "$M/ns" | tr '\n' ' ')" "default full lab " "and every namespace"
ok "kill all" "$XWRITE" "$D/ctl" "kill all"
stop_clean
done_testing
