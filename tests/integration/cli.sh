#!/usr/bin/env bash
# The vmfs command: --help and --version, the arguments it refuses, the configuration file
# (--conf: every key, line numbers in errors, the command line winning), how it ends
# (SIGTERM, fusermount3 -u), one daemon per state directory, running in the background, and
# starting again over the stale mount a vmfs killed with -9 leaves behind.
. "$(dirname "$0")/lib.sh"
export LC_ALL=C

EMPTY=$T/empty.conf # so that no /etc/vmfs.conf on this machine changes what is tested
: >"$EMPTY"

# run_vmfs ARGS...: runs vmfs to completion (for what it refuses): its output in OUT, its
# exit code in RC. The timeout only matters if vmfs wrongly mounts and stays.
run_vmfs() {
	OUT=$(timeout 10 "$VMFS" "$@" 2>&1)
	RC=$?
}

mounts_at() { # how many mounts sit on mount point $1 (a stale one counts)
	awk -v m="$1" '$2 == m' /proc/mounts | wc -l
}

# The vmfs processes of this test, found by their command line (which names a path in $T):
# a daemonized vmfs is not our child, so its pid is not in VMFS_PID.
our_daemons() {
	local d args
	for d in /proc/[0-9]*; do
		mapfile -d '' args 2>/dev/null <"$d/cmdline" || continue
		[ "${args[0]:-}" = "$VMFS" ] && [[ "${args[*]}" == *"$T/"* ]] && echo "${d#/proc/}"
	done
	return 0
}

# Whatever a failed assertion left behind: daemons (by pid) and mounts stacked on $M.
EXTRA_CLEANUP='
	for p in $(our_daemons); do kill "$p" 2>/dev/null; done
	for mp in "$M" "$T/mnt2"; do
		while [ "$(mounts_at "$mp")" != 0 ]; do umount -l "$mp" 2>/dev/null || fusermount3 -uz "$mp" || break; done
	done
	for p in $(our_daemons); do kill -9 "$p" 2>/dev/null; done'

# start_raw ARGS...: like vmfs_start, but ARGS are the whole command line (no -f, --state or
# mount point added) and a parent that exits (daemonized) is not fatal: waits for the tree.
start_raw() {
	"$VMFS" "$@" 2>>"$T/vmfs.err" &
	VMFS_PID=$!
	local i
	for i in $(seq 1 100); do
		cat "$M/version" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "# vmfs did not mount within 5 s:"
	sed 's/^/#   /' "$T/vmfs.err"
	return 1
}

# stop_any: unmounts and waits until no vmfs of this test is left, whatever kind it was.
stop_any() {
	fusermount3 -u "$M"
	[ -n "$VMFS_PID" ] && wait "$VMFS_PID" 2>/dev/null
	VMFS_PID=
	local i
	for i in $(seq 1 100); do
		[ -z "$(our_daemons)" ] && return 0
		sleep 0.05
	done
	return 1
}

host_info() { sed -n "s/^$1 //p" "$M/host/info"; }

# fresh_err: empties vmfs.err for the next check of what vmfs printed, after making sure
# nothing in it was a sanitizer report.
fresh_err() {
	sanitizer_check # (its own not ok line)
	: >"$T/vmfs.err"
}

# --- what vmfs says without mounting anything
run_vmfs --help
is "$RC" "0" "--help exits 0"
like "$OUT" "^usage: vmfs .*MOUNTPOINT" "--help starts with the usage line"
like "$OUT" "--conf FILE" "--help explains --conf"
like "$OUT" "--state DIR" "--help explains --state"
for key in mountpoint state images options allow_other foreground debug; do
	like "$OUT" "\[vmfs\] $key " "--help lists the config key $key"
done

run_vmfs --version
is "$RC" "0" "--version exits 0"
like "$OUT" '^vmfs 0\.1\.0 \(libfuse [0-9]+\.[0-9]+(\.[0-9]+)?\)$' "--version: vmfs 0.1.0 (libfuse X)"

run_vmfs --conf "$EMPTY" --state "$S"
is "$RC" "2" "no mount point: exit 2"
is "$OUT" "vmfs: no mount point given (vmfs --help)" "no mount point: says so"

run_vmfs -f --conf "$EMPTY" --state "$S" -o no_such_option "$M"
ok "an unknown -o option is refused (non-zero exit)" test "$RC" != 0
like "$OUT" "unknown option.*no_such_option" "an unknown -o option: libfuse names it"
is "$(mounts_at "$M")" "0" "an unknown -o option: nothing mounted"

# --- the configuration file: errors name FILE:LINE
run_vmfs -f --conf "$T/nosuch.conf" --state "$S" "$M"
ok "a missing --conf file is refused (non-zero exit)" test "$RC" != 0
is "$OUT" "vmfs: $T/nosuch.conf: No such file or directory" "a missing --conf file: its path and why"

printf '[vmfs]\n; a comment\nbogus = 1\n' >"$T/key.conf"
run_vmfs -f --conf "$T/key.conf" --state "$S" "$M"
ok "an unknown key is refused (non-zero exit)" test "$RC" != 0
is "$OUT" "vmfs: $T/key.conf:3: unknown key \"bogus\" in [vmfs]" "an unknown key: FILE:LINE and the key"

printf '[vmfs]\n# state is fine\nstate = %s\n\nforeground = maybe\n' "$S" >"$T/bool.conf"
run_vmfs -f --conf "$T/bool.conf" "$M"
ok "a bad bool is refused (non-zero exit)" test "$RC" != 0
like "$OUT" "^vmfs: $T/bool.conf:5: .*\"maybe\".*true.*false" "a bad bool: FILE:LINE and why"

printf '[vmfs]\nstate %s\n' "$S" >"$T/junk.conf"
run_vmfs -f --conf "$T/junk.conf" "$M"
ok "a line that is not key = value is refused" test "$RC" != 0
like "$OUT" "^vmfs: $T/junk.conf:2: " "a line that is not key = value: FILE:LINE"

printf '[vmfs]\noptions = no_such_option\n' >"$T/opt.conf"
run_vmfs -f --conf "$T/opt.conf" --state "$S" "$M"
ok "options = an unknown FUSE option is refused like -o" test "$RC" != 0
like "$OUT" "no_such_option" "options = an unknown FUSE option: libfuse names it"
is "$(mounts_at "$M")" "0" "nothing mounted after the refused configurations"

# a strict file: a key twice, a second [vmfs], a bad value, an empty path: FILE:LINE, the
# reason, exit 2, nothing mounted, no state made
printf '[vmfs]\nstate = %s\ndebug = no\nstate = %s\n' "$T/st1" "$T/st2" >"$T/twice.conf"
run_vmfs -f --conf "$T/twice.conf" "$M"
is "$RC" "2" "a key given twice: exit 2"
is "$OUT" "vmfs: $T/twice.conf:4: state is given twice (first on line 2)" "a key given twice: FILE:LINE and the first line"
printf '[vmfs]\nforeground = yes\n[vmfs]\n' >"$T/sections.conf"
run_vmfs -f --conf "$T/sections.conf" --state "$S" "$M"
is "$OUT" "vmfs: $T/sections.conf:3: a second [vmfs] section (the first is on line 1)" "a second [vmfs] section: FILE:LINE"
printf '[vmfs]\nuplink = enp0s31f6-trunk-to-the-switch-upstairs-01234\n' >"$T/uplink.conf"
run_vmfs -f --conf "$T/uplink.conf" --state "$S" "$M"
like "$OUT" "^vmfs: $T/uplink.conf:2: uplink: .* is 44 bytes long; an interface name is at most 15$" "a 44-byte uplink: FILE:LINE, not cut to 15"
printf '[vmfs]\nmembers = h1=/mnt/h1 h2\n' >"$T/members.conf"
run_vmfs -f --conf "$T/members.conf" --state "$S" "$M"
is "$OUT" "vmfs: $T/members.conf:2: members: \"h2\" is not NAME=URL" "a bad members entry: FILE:LINE"
printf '[vmfs]\nstate =\n' >"$T/empty_state.conf"
run_vmfs -f --conf "$T/empty_state.conf" "$M"
is "$RC" "2" "state = (empty): exit 2, no crash"
is "$OUT" "vmfs: $T/empty_state.conf:2: state: the path is empty (leave it out for the default)" "state = (empty): says so"
mkfifo "$T/fifo.conf"
run_vmfs -f --conf "$T/fifo.conf" --state "$S" "$M"
is "$OUT" "vmfs: $T/fifo.conf: not a regular file" "a FIFO as the file: refused at once, not waited on"
is "$(mounts_at "$M")" "0" "nothing mounted after the refused files"
ok "no state directory made by the refused files" test ! -e "$T/st1" -a ! -e "$T/st2"

# the command line: empty or bad values are refused in words, before anything is touched
run_vmfs -f --conf "$EMPTY" --state "" "$M"
is "$RC" "2" "--state \"\": exit 2, no crash"
is "$OUT" "vmfs: --state: the value is empty (leave the option out for the default)" "--state \"\": says so"
run_vmfs -f --conf "$EMPTY" --state "$S" --web= "$M"
is "$OUT" "vmfs: --web: the value is empty (leave the option out for the default)" "--web= (empty): says so"
run_vmfs -f --conf "" --state "$S" "$M"
is "$OUT" "vmfs: --conf: the path is empty" "--conf \"\": says so"
run_vmfs -f --conf "$EMPTY" --state "$S" --web 127.0.0.1 "$M"
is "$OUT" "vmfs: --web: \"127.0.0.1\" is not ADDR:PORT, an IPv4 address and a port from 1 to 65535, as in 127.0.0.1:9001" "--web without a port: says so"
run_vmfs -f --conf "$EMPTY" "$M" --state
is "$OUT" "vmfs: --state needs a value (vmfs --help)" "--state without a value: says so"
run_vmfs -f --conf "$EMPTY" --state "$S" --no-such-option "$M"
is "$RC" "2" "an unknown --option: exit 2"
is "$OUT" "vmfs: unknown option --no-such-option (vmfs --help)" "an unknown --option: names it"
is "$(mounts_at "$M")" "0" "nothing mounted after the refused command lines"

# a relative path in the file: from the file's directory, not the working one
mkdir -p "$T/etc"
printf '[vmfs]\nstate = rel-state\n' >"$T/etc/rel.conf"
cd /
start_raw -f --conf "$T/etc/rel.conf" "$M"
cd "$OLDPWD"
is "$(host_info state)" "$T/etc/rel-state" "state = rel-state: under the file's own directory"
stop_any

# conf/vmfs.conf, the shipped default, parses; --state on the command line wins over its state
vmfs_start --conf "$ROOT/conf/vmfs.conf"
ok "vmfs --conf conf/vmfs.conf mounts" test -r "$M/version"
is "$(host_info state)" "$S" "--state wins over conf/vmfs.conf's state"
vmfs_stop

# the conf's state is used when --state is not given
printf '[vmfs]\nstate = %s\n' "$T/confstate" >"$T/state.conf"
start_raw -f --conf "$T/state.conf" "$M"
is "$(host_info state)" "$T/confstate" "state = DIR is used without --state"
ok "state = DIR: that directory holds the state" test -f "$T/confstate/lock"
stop_any
vmfs_start --conf "$T/state.conf" --images "$T/store2"
is "$(host_info state)" "$S" "--state on the command line wins over state = DIR"
is "$(host_info images)" "$T/store2" "--images DIR: host/info names it"
vmfs_stop

# mountpoint, images and foreground from the file; no mount point and no -f on the command line
mkdir -p "$T/store"
{
	echo "[vmfs]"
	echo "mountpoint = $M"
	echo "state = $T/confstate"
	echo "images = $T/store"
	echo "foreground = true"
	[ "$(id -u)" = 0 ] && echo "allow_other = true"
} >"$T/all.conf"
start_raw --conf "$T/all.conf"
ok "mountpoint = DIR mounts there" test -r "$M/version"
is "$(host_info pid)" "$VMFS_PID" "foreground = true: vmfs stays in the foreground (the pid started serves)"
is "$(host_info images)" "$T/store" "images = DIR: host/info names it"
echo data >"$T/f"
cp "$T/f" "$M/images/f"
ok "images = DIR: images/ is that directory" cmp "$T/f" "$T/store/f"
if [ "$(id -u)" = 0 ]; then
	like "$(awk -v m="$M" '$2 == m {print $4}' /proc/mounts)" "(^|,)allow_other(,|$)" "allow_other = true mounts with allow_other"
else
	TAP_N=$((TAP_N + 1)) && echo "ok $TAP_N # SKIP allow_other = true needs root"
fi
stop_any

# debug = true behaves as -d: every FUSE request on stderr, in the foreground (-d implies -f)
printf '[vmfs]\ndebug = true\n' >"$T/debug.conf"
fresh_err
start_raw --conf "$T/debug.conf" --state "$S" "$M"
cat "$M/version" >/dev/null
is "$(host_info pid)" "$VMFS_PID" "debug = true stays in the foreground, as -d does"
like "$(cat "$T/vmfs.err")" "opcode: (LOOKUP|GETATTR|OPEN|READ)" "debug = true prints the FUSE requests"
stop_any
fresh_err

# --- a mounted vmfs: how it shows, one per state directory, how it ends
vmfs_start
is "$(awk -v m="$M" '$2 == m {print $1, $3}' /proc/mounts)" "vmfs fuse.vmfs" "/proc/mounts: vmfs, type fuse.vmfs"
is "$(cat "$M/version")" "$("$VMFS" --version | cut -d' ' -f1,2)" "version file matches --version"

mkdir -p "$T/mnt2"
run_vmfs -f --state "$S" "$T/mnt2"
ok "a second vmfs on the same state dir is refused" test "$RC" != 0
like "$OUT" "in use by another vmfs \(pid $VMFS_PID\)" "a second vmfs: names the first one's pid"
is "$(mounts_at "$T/mnt2")" "0" "a second vmfs: mounts nothing"
is "$(cat "$M/version")" "vmfs 0.1.0" "the first vmfs keeps working"
run_vmfs -f --state "$S" "$T/mnt2"
ok "the first keeps its lock (a third is refused too)" test "$RC" != 0
run_vmfs -f --state "$T/state2" "$M"
ok "a vmfs over a mount point a live vmfs serves is refused" test "$RC" != 0
like "$OUT" "mounted there already" "a vmfs over a live mount: says so"
is "$(mounts_at "$M")" "1" "a vmfs over a live mount: nothing stacked on it"
is "$(cat "$M/version")" "vmfs 0.1.0" "a vmfs over a live mount: the first keeps working"

# files held open when vmfs ends: the kernel never releases them to it (under a sanitizer,
# vmfs_term fails on what vmfs did not free)
exec 8<"$M/ns/default/ctl" 9<"$M/ns/default/info"
vmfs_term
is "$?" "0" "SIGTERM: vmfs exits 0, with files still open (and frees them)"
exec 8<&- 9<&-
is "$(mounts_at "$M")" "0" "SIGTERM: the mount is gone"

vmfs_start
vmfs_stop
is "$?" "0" "fusermount3 -u: vmfs exits 0"
is "$(mounts_at "$M")" "0" "fusermount3 -u: the mount is gone"

# --- without -f: vmfs returns once mounted and serves from the background
"$VMFS" --conf "$EMPTY" --state "$S" "$M" 2>>"$T/vmfs.err"
is "$?" "0" "without -f: vmfs returns 0"
is "$(cat "$M/version" 2>&1)" "vmfs 0.1.0" "without -f: the tree answers as soon as vmfs returns"
daemon=$(host_info pid)
is "$(our_daemons)" "$daemon" "without -f: one daemon, the pid host/info shows"
run_vmfs -f --state "$S" "$T/mnt2"
like "$OUT" "in use by another vmfs \(pid $daemon\)" "without -f: a second vmfs names the daemon's pid"
like "$(grep 'mounted at' "$M/host/log" | tail -1)" "mounted at $M \(pid $daemon\)$" "without -f: host/log names the daemon's pid"
stop_any
is "$?" "0" "without -f: fusermount3 -u ends the daemon"
is "$(mounts_at "$M")" "0" "without -f: the mount is gone"

# --- kill -9 leaves a stale mount; a new vmfs clears it and mounts
crash_and_restart() { # crash_and_restart PAUSE WHEN: kill -9, wait PAUSE s, start again
	local when=$2
	vmfs_start
	touch "$M" # the tree was just used: the kernel holds fresh attributes of its root
	vmfs_kill9
	like "$(ls "$M" 2>&1)" "Transport endpoint is not connected" "kill -9 ($when): the mount point is stale (ENOTCONN)"
	sleep "$1"
	fresh_err
	vmfs_start
	ok "kill -9 ($when): vmfs starts again on it" test -r "$M/version"
	like "$(cat "$T/vmfs.err")" "clearing a stale mount" "kill -9 ($when): says it clears the stale mount"
	is "$(mounts_at "$M")" "1" "kill -9 ($when): one mount, not one stacked on the dead one"
	vmfs_stop
	is "$(mounts_at "$M")" "0" "kill -9 ($when): after unmounting, no (stale) mount is left"
}
crash_and_restart 1.5 "restarted after a pause"
crash_and_restart 0 "restarted at once, as a supervisor does"

ok "no mount left on the mount point" test "$(mounts_at "$M")" = 0
is "$(our_daemons)" "" "no vmfs process left"
done_testing
