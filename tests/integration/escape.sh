#!/usr/bin/env bash
# Escapes from a container started with the defaults (docs/security.md lists the attacks).
# Every attack must fail, and each check says which defence stopped it. Calls that only a
# raw system call can make come from tests/tools/escape.c, built static here and put into
# the test's copy of the busybox image with a small agent as init: the agent runs each
# line written to the container's fifo/0 with sh and answers on fifo/1, ending with "=RC"
# (no console echo to sort out). The same binary runs on the host as a control: there,
# unconfined, the call gets through, so the refusal inside is the container's doing.
#
# Adding an attack: a section below ("# --- WHAT"), with `inside CMD` (sets OUT and RC),
# `refused DESC DEFENCE CMD` (CMD must fail inside) or `attack NAME ERRNO DEFENCE [host]`
# (tests/tools/escape.c NAME must print ERRNO inside; with "host", and succeed on the host).
. "$(dirname "$0")/lib.sh"
need_root
use_busybox_image
command -v gcc >/dev/null || skip_all "needs gcc to build tests/tools/escape.c"
D=$M/ns/default
C=$D/containers
IMG=$T/images/busybox

gcc -static -O2 -o "$IMG/bin/escape" "$ROOT/tests/tools/escape.c" ||
	{ echo "not ok 1 - gcc -static tests/tools/escape.c"; exit 1; }
cat >"$IMG/bin/escape-agent" <<'EOF'
#!/bin/sh
# escape.sh's agent (init): each line read from /dev/fifo/0 runs; output and "=RC" go to /dev/fifo/1
echo "escape agent up"
while :; do
	line=$(cat /dev/fifo/0)
	{ eval "$line"; echo "=$?"; } >/dev/fifo/1 2>&1
done
EOF
chmod 755 "$IMG/bin/escape-agent"

skip() { # skip DESC REASON
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
}
stop_all() {
	if [ -n "$VMFS_PID" ] && [ -e "$D/ctl" ]; then
		echo "kill all" >"$D/ctl" 2>/dev/null
		echo "flush all" >"$D/ctl" 2>/dev/null
	fi
}
EXTRA_CLEANUP=stop_all

# inside CMD [SECONDS]: CMD run by the agent in the container "jail"; OUT: its output, RC:
# its exit status ("none" if the agent did not answer in time).
inside() {
	local all
	all=$(timeout "${2:-10}" sh -c 'printf "%s\n" "$1" >"$2/0" && cat "$2/1"' _ "$1" "$C/jail/fifo")
	case $(printf '%s\n' "$all" | tail -n 1) in
	=[0-9]*) RC=$(printf '%s\n' "$all" | tail -n 1 | cut -c2-) OUT=$(printf '%s\n' "$all" | sed '$d') ;;
	*) RC=none OUT=$all ;;
	esac
}
verdict() { # verdict OK DESC [DETAIL...]: one TAP line, with details on failure
	local good=$1 desc=$2
	shift 2
	TAP_N=$((TAP_N + 1))
	if [ "$good" = 1 ]; then
		echo "ok $TAP_N - $desc"
		return
	fi
	echo "not ok $TAP_N - $desc"
	printf '#   %s\n' "$@"
	TAP_FAIL=$((TAP_FAIL + 1))
}
# refused DESC DEFENCE CMD: CMD must fail inside
refused() {
	inside "$3"
	local good=0
	[ "$RC" != none ] && [ "$RC" != 0 ] && good=1
	verdict $good "$1: refused ($(printf '%s' "$OUT" | head -n 1 | cut -c1-60)), stopped by $2" \
		"inside: $3" "status: $RC" "output: $(printf '%s' "$OUT" | head -n 3)"
}
# attack NAME ERRNO DEFENCE [host]: escape NAME inside must print "NAME ERRNO"
attack() {
	local name=$1 want=$2 defence=$3 host='' good=0
	inside "/bin/escape $name"
	if [ "${4:-}" = host ]; then
		host=$("$IMG/bin/escape" "$name" 2>&1)
		[ "$RC" = 1 ] && [ "$OUT" = "$name $want" ] && [ "$host" = "$name OK" ] && good=1
		verdict $good "$name inside: $want, stopped by $defence (on the host, unconfined: ${host#"$name "})" \
			"inside: $OUT (status $RC)" "host: $host"
	else
		[ "$RC" = 1 ] && [ "$OUT" = "$name $want" ] && good=1
		verdict $good "$name inside: $want, stopped by $defence" "inside: $OUT (status $RC)"
	fi
}

vmfs_start --images "$T/images" || exit 1
G=$(cg_top)
mkdir "$C/jail"
echo 2 >"$C/jail/config/fifo"
echo /bin/escape-agent >"$C/jail/config/init"
ok "start a container with the defaults (the agent as init)" "$XWRITE" "$C/jail/ctl" start
ok "the agent is up" wait_for 10 console_has "$C/jail" "escape agent up"
inside 'echo ready-$((6*7))'
is "$RC:$OUT" "0:ready-42" "commands reach the container and their output comes back"

# --- seccomp and no_new_privs
inside 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status'
is "$(printf '%s\n' "$OUT" | awk '{print $1 $2}' | sort | paste -sd' ')" "NoNewPrivs:1 Seccomp:2" \
	"/proc/self/status inside: Seccomp 2 (a filter) and NoNewPrivs 1"
inside 'sh -c "echo forked" && ls / >/dev/null && ping -c1 -W1 127.0.0.1 >/dev/null; echo $?'
is "$RC:$(printf '%s\n' "$OUT" | paste -sd' ')" "0:forked 0" \
	"control: fork, exec, ls and ping (a raw socket) still work under the filter"
inside '/bin/escape thread'
is "$RC:$OUT" "0:thread OK" "control: threads work (glibc's clone3 gets ENOSYS and falls back to clone)"

# --- the kernel keyring (not namespaced: host root's keys would be reachable)
attack keyctl EPERM "seccomp (keyctl is not in the allowlist)" host
attack add_key EPERM "seccomp (add_key is not in the allowlist)" host

# --- kernel interfaces with a history of escapes
attack io_uring_setup EPERM "seccomp (io_uring_* are not in the allowlist)" host
attack perf_event_open EPERM "seccomp (perf_event_open needs CAP_SYS_ADMIN or CAP_PERFMON)" host
attack bpf EPERM "seccomp (bpf needs CAP_SYS_ADMIN or CAP_BPF; behind it, the missing CAP_BPF)" host

# --- user namespaces (where root regains every capability)
attack unshare-user EPERM "seccomp (unshare needs CAP_SYS_ADMIN)" host
attack clone-user EPERM "seccomp (clone with a CLONE_NEW* flag)" host
attack clone3-user ENOSYS "seccomp (clone3 refused as absent, so the C library uses clone)" host
refused "unshare -U (busybox)" "seccomp" 'unshare -U true'

# --- the 32-bit x86 entry (int 0x80): refused as a whole
if [ "$("$IMG/bin/escape" ia32-getpid 2>&1)" = "ia32-getpid OK" ]; then
	attack ia32-getpid EPERM "seccomp (a foreign architecture: only the native ABI is allowed)" host
else
	skip "ia32-getpid: refused inside" "this kernel has no 32-bit x86 entry"
fi

# --- the host's console
inside 'stat -c %t:%T /dev/console; stat -Lc %t /proc/self/fd/0'
is "$(printf '%s\n' "$OUT" | paste -sd' ')" "88:$(printf '%s' "$OUT" | head -n 1 | cut -d: -f2) 88" \
	"/dev/console inside is the container's own pty (major 136), as is init's stdin"
attack tiocsti EPERM "seccomp (ioctl TIOCSTI refused on any terminal)"
attack tiocsti-high EPERM "seccomp (the request is compared on its low 32 bits, as the kernel reads it)"
if [ -e "/sys/fs/cgroup/devices/$G/default/jail/devices.list" ]; then
	list=$(cat "/sys/fs/cgroup/devices/$G/default/jail/devices.list")
	is "$(printf '%s\n' "$list" | grep -E '^(a|c 5:1) ')" "" "the devices cgroup (v1) does not allow 5:1 (the host's console)"
	defence="the devices cgroup (v1: 5:1 not allowed)"
else
	defence="no CAP_MKNOD (cgroup v2)"
fi
attack console EPERM "$defence"
inside 'ls /tmp/escape-console'
is "$RC" "1" "... and no node was left behind"

# --- the container still works, and nothing is left
inside 'echo alive'
is "$OUT" "alive" "the agent still answers after the attacks"
ok "kill all" "$XWRITE" "$D/ctl" "kill all"
ok "flush all" "$XWRITE" "$D/ctl" "flush all"
ok "no process of this vmfs left" wait_for 5 none_of_ours
vmfs_stop
done_testing
