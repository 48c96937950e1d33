# Shared by the integration tests: mount a real vmfs on a temporary directory, drive it
# with the tools a user has, and always clean up (unmount, kill, remove), even on failure.
# Each test script prints TAP; exit 77 means skipped (with the reason on stdout).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VMFS=${VMFS:-$ROOT/vmfs/vmfs}
XWRITE=$ROOT/tests/tools/xwrite
. "$ROOT/tests/integration/ours_lib.sh"
T=$(mktemp -d /tmp/vmfs-test.XXXXXX)
M=$T/mnt
S=$T/state
mkdir -p "$M"
VMFS_PID=
TAP_N=0
TAP_FAIL=0

ok() { # ok DESC CMD...: passes when CMD succeeds
	local desc=$1
	shift
	TAP_N=$((TAP_N + 1))
	if "$@" >/dev/null 2>&1; then
		echo "ok $TAP_N - $desc"
	else
		echo "not ok $TAP_N - $desc"
		echo "#   command: $*"
		TAP_FAIL=$((TAP_FAIL + 1))
	fi
}

is() { # is GOT WANT DESC
	TAP_N=$((TAP_N + 1))
	if [ "$1" == "$2" ]; then
		echo "ok $TAP_N - $3"
	else
		echo "not ok $TAP_N - $3"
		printf '#   got:  %s\n#   want: %s\n' "$(printf '%s' "$1" | head -c 600)" "$2"
		TAP_FAIL=$((TAP_FAIL + 1))
	fi
}

like() { # like GOT REGEX DESC
	TAP_N=$((TAP_N + 1))
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		echo "ok $TAP_N - $3"
	else
		echo "not ok $TAP_N - $3"
		printf '#   got:  %s\n#   want: /%s/\n' "$(printf '%s' "$1" | head -c 600)" "$2"
		TAP_FAIL=$((TAP_FAIL + 1))
	fi
}

errno_of() { # errno_of FILE TEXT: the errno name a single write gets ("" if it succeeds)
	"$XWRITE" "$1" "$2"
}

VMFS_PREFIX=() # a command vmfs runs under (env --default-signal=INT: as from a terminal)
# With --web and no password file the door asks for its token (STATE/web-token): curl sends
# it from $T/.curlrc (CURL_HOME); `curl -q` (first) goes without. $WEB_TOKEN holds it.
web_token_curlrc() {
	WEB_TOKEN=
	[ -f "$S/web-token" ] || return 0
	export WEB_TOKEN=$(cat "$S/web-token")
	printf 'header = "Authorization: Bearer %s"\n' "$WEB_TOKEN" >"$T/.curlrc"
	export CURL_HOME=$T
}

vmfs_start() { # vmfs_start [ARGS...]: mount on $M with state $S, wait until it answers
	"${VMFS_PREFIX[@]}" "$VMFS" -f --state "$S" "$@" "$M" 2>>"$T/vmfs.err" &
	VMFS_PID=$!
	local i
	for i in $(seq 1 1200); do
		if ! kill -0 "$VMFS_PID" 2>/dev/null; then
			echo "# vmfs died at start:"; sed 's/^/#   /' "$T/vmfs.err"
			return 1
		fi
		if cat "$M/version" >/dev/null 2>&1; then
			web_token_curlrc
			names_of_ours
			return 0
		fi
		sleep 0.05
	done
	echo "# vmfs did not mount within 60 s"
	return 1
}

vmfs_stop() { # unmounts the way a user does and requires a clean exit (within 10 s)
	local rc=0 i
	if ! fusermount3 -u "$M"; then
		rc=1
		[ -n "$VMFS_PID" ] && kill "$VMFS_PID" 2>/dev/null
	fi
	if [ -n "$VMFS_PID" ]; then
		# the daemon ends when the kernel drops the connection; a copy of the mount in
		# another mount namespace (someone's unshare --mount) would keep it alive
		for i in $(seq 100); do kill -0 "$VMFS_PID" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$VMFS_PID" 2>/dev/null; then
			echo "# vmfs still runs 10 s after the unmount: another mount namespace holds the mount?"
			kill "$VMFS_PID"
			rc=1
		fi
		wait "$VMFS_PID" || rc=$?
	fi
	VMFS_PID=
	sanitizer_check || rc=1
	return $rc
}

vmfs_term() { # SIGTERM, as an init system stops it; requires a clean exit
	local rc=0
	kill -TERM "$VMFS_PID"
	wait "$VMFS_PID" || rc=$?
	VMFS_PID=
	sanitizer_check || rc=1
	return $rc
}

vmfs_kill9() {
	kill -9 "$VMFS_PID"
	wait "$VMFS_PID" 2>/dev/null
	VMFS_PID=
}

# Under ASan/UBSan (make SANITIZE=1), a report in the daemon's stderr fails the test that
# caused it, on a TAP line of its own. Leaks count: LeakSanitizer reports when vmfs exits.
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
sanitizer_check() { # sanitizer_check [FILE WHO]: FILE is $T/vmfs.err (WHO: vmfs) by default
	local err=${1:-$T/vmfs.err} who=${2:-vmfs} what
	what=$(grep -Eo 'ERROR: (AddressSanitizer|LeakSanitizer)[^:]*: [a-z -]*|LeakSanitizer has encountered a fatal error|runtime error: .*' \
		"$err" 2>/dev/null | head -1)
	[ -n "$what" ] || return 0
	TAP_N=$((TAP_N + 1))
	TAP_FAIL=$((TAP_FAIL + 1))
	echo "not ok $TAP_N - $who's stderr has no sanitizer report: $what"
	sed 's/^/#   /' "$err" | grep -v '^#   vmfs: ' | head -120
	: >"$err"
	return 1
}

cleanup() {
	[ -n "${EXTRA_CLEANUP:-}" ] && eval "$EXTRA_CLEANUP"
	# what vmfs said on stderr (a crash, a sanitizer's report) is shown before it goes
	if [ -s "$T/vmfs.err" ] && grep -qv '^vmfs: removed [0-9]* network device' "$T/vmfs.err"; then
		echo "# vmfs's stderr:"
		tail -n 40 "$T/vmfs.err" | sed 's/^/#   /'
	fi
	if [ -n "$VMFS_PID" ]; then
		fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M" 2>/dev/null
		kill "$VMFS_PID" 2>/dev/null
		wait "$VMFS_PID" 2>/dev/null
		sanitizer_check # (after the plan line: tests/run counts it all the same)
	fi
	grep -q " $M " /proc/mounts && { fusermount3 -uz "$M" 2>/dev/null || umount -l "$M"; }
	scrub_ours
	rm -rf "$T"
}
trap cleanup EXIT
# a test ended by a signal (timeout's TERM, ^C) cleans up too: bash runs no EXIT trap then
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

# A container whose init is a small agent: each line written to its fifo/0 runs with sh, its
# output and "=STATUS" come back on fifo/1 (no console echo to sort out). config/fifo must be
# 2 and config/init the agent's path.
fifo_agent() { # fifo_agent FILE BANNER: writes the agent script to FILE; it says BANNER first
	cat >"$1" <<EOF
#!/bin/sh
echo "$2"
while :; do
	line=\$(cat /dev/fifo/0)
	{ eval "\$line"; echo "=\$?"; } >/dev/fifo/1 2>&1
done
EOF
	chmod 755 "$1"
}
# fifo_run OBJDIR CMD [SECONDS]: CMD run by the agent of the container at OBJDIR; OUT: its
# output, RC: its exit status ("none" if the agent did not answer in time, 10 s by default)
fifo_run() {
	local all
	all=$(timeout "${3:-10}" sh -c 'printf "%s\n" "$1" >"$2/0" && cat "$2/1"' _ "$2" "$1/fifo")
	RC=none OUT=$all
	if [[ $(printf '%s\n' "$all" | tail -n 1) =~ ^=([0-9]+)$ ]]; then
		RC=${BASH_REMATCH[1]}
		OUT=$(printf '%s\n' "$all" | sed '$d')
	fi
}
# kill_flush_all NSDIR: for a test's cleanup, ends and removes every object of the namespace
kill_flush_all() {
	if [ -n "$VMFS_PID" ] && [ -e "$1/ctl" ]; then
		echo "kill all" >"$1/ctl" 2>/dev/null
		echo "flush all" >"$1/ctl" 2>/dev/null
	fi
}

web_vmfs_start() { # web_vmfs_start ARGS...: vmfs_start ARGS --web 127.0.0.1:PORT; PORT, U set
	local try
	for try in 1 2 3; do # another port if one is taken all the same
		PORT=$(free_port) U=http://127.0.0.1:$PORT
		vmfs_start "$@" --web "127.0.0.1:$PORT" && return 0
	done
	return 1
}

free_port() { # free_port: a TCP port on loopback that nothing listens on, below the
	# ephemeral range (32768-60999), where a client's source port could take it first.
	# Ports already handed out in this test are skipped: a test that takes several before
	# starting anything (three etcd nodes' peer ports) got the same one twice in CI.
	local p i
	for i in $(seq 50); do
		p=$((20000 + RANDOM % 12000))
		grep -qx "$p" "$T/ports.given" 2>/dev/null && continue
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		break
	done
	echo "$p" >>"$T/ports.given"
	echo "$p"
}

# (by the clock in ms: bash's SECONDS counts whole seconds from a point within one, so a wait
# of N seconds by it could end after N-1)
wait_for() { # wait_for SECONDS CMD...: polls until CMD succeeds, false after SECONDS
	local end=$(($(date +%s%3N) + $1 * 1000))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%3N)" -ge $end ] && return 1
		sleep 0.1
	done
}

use_busybox_image() { # builds the default container image and puts it in $T/images
	make -s -C "$ROOT" images >/dev/null || { echo "not ok 1 - make images"; exit 1; }
	mkdir -p "$T/images"
	cp -a "$ROOT/build/images/busybox" "$T/images/busybox"
}

use_boot_image() { # builds the default VM boot image and puts vmlinuz and initrd in $T/images
	command -v qemu-system-x86_64 >/dev/null ||
		{ echo "not ok 1 - qemu-system-x86_64 is installed (./setup --deps)"; exit 1; }
	make -s -C "$ROOT" images >/dev/null || { echo "not ok 1 - make images"; exit 1; }
	mkdir -p "$T/images"
	cp "$ROOT/build/boot/vmlinuz" "$ROOT/build/boot/initrd" "$T/images/"
}

console_has() { # console_has OBJDIR TEXT: TEXT is in the console's scrollback
	timeout 1 cat "$1/console" 2>/dev/null | grep -aq -- "$2"
}

console_run() { # console_run OBJDIR MARK CMD: types CMD (again, should the shell not have been reading yet) until MARK shows
	local i
	for i in 1 2 3 4 5 6; do
		printf '%s\n' "$3" >"$1/console"
		wait_for 5 console_has "$1" "$2" && return 0
	done
	return 1
}


host_disk() { # "MAJ MIN NAME" of the first block device of the host (disks in /proc/partitions
	local maj min name n=$T/host-disk f # first, then the rest of /sys/class/block) that root on
	for f in $(awk 'NR > 2 {print "/sys/class/block/" $4 "/dev"}' /proc/partitions) \
		/sys/class/block/*/dev; do # the host opens (a session's own cgroup may refuse some)
		IFS=: read -r maj min <"$f" 2>/dev/null || continue
		name=${f%/dev} name=${name##*/}
		mknod "$n" b "$maj" "$min" 2>/dev/null || continue
		if (: <"$n") 2>/dev/null; then
			rm -f "$n"
			echo "$maj $min $name"
			return 0
		fi
		rm -f "$n"
	done
	return 1
}

cg_top() { # the top cgroup of the mounted vmfs (each state directory has its own)
	awk '$1=="cgroup_top"{print $2}' "$M/host/info"
}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 77
}

need_root() { [ "$(id -u)" = 0 ] || skip_all "needs root (run the tests with sudo)"; }

done_testing() {
	sanitizer_check
	echo "1..$TAP_N"
	[ "$TAP_FAIL" = 0 ]
}
