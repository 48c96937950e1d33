#!/usr/bin/env bash
# vmfs-shim on its own, without a vmfs mount: a busybox rootfs, a spec, the shim started
# the way vmfs starts it (RUNDIR and a pipe on fd 3), and checks of what the container
# sees, what the host sees, and what is left when it ends. Runs as root.
. "$(dirname "$0")/lib.sh"
need_root
SHIM=${VMFS_SHIM:-$ROOT/vmfs/vmfs-shim}
[ -x "$SHIM" ] || skip_all "no vmfs-shim at $SHIM (make builds it; VMFS_SHIM overrides)"
BUSYBOX=$(command -v busybox) || skip_all "needs busybox (apt-get install busybox-static)"
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic' ||
	skip_all "$BUSYBOX is not static (apt-get install busybox-static)"
command -v perl >/dev/null || skip_all "needs perl to talk to console.sock"

NS=shimtest$$ # cgroups are vmfs/NS/NAME: unique per run, so nothing real is touched
SHIMS=()

# Kills whatever a failed test left running, then mounts and cgroups, before lib.sh's
# cleanup removes $T.
shim_cleanup() {
	local p
	kill_ours "$T/ct"
	for p in "${SHIMS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${SHIMS[@]}"; do kill -9 "$p" 2>/dev/null; done
	grep -o " $T/[^ ]*" /proc/mounts | sort -r | while read -r p; do umount -l "$p"; done
	find /sys/fs/cgroup -depth -type d -path "*/vmfs/$NS*" -exec rmdir {} + 2>/dev/null
}
EXTRA_CLEANUP=shim_cleanup

# The rootfs: busybox with relative applet links (busybox --install -s would link to the
# host's path), and an init that echoes each line and runs those starting with "run ".
R=$T/rootfs
mkdir -p "$R/bin" "$R/tmp" "$R/mnt" "$R/etc"
cp "$BUSYBOX" "$R/bin/busybox"
for a in $("$R/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$R/bin/$a"; done
cat >"$R/init" <<'EOF'
#!/bin/sh
echo "hello from init"
trap 'echo "init: SIGTERM"; exit 3' TERM
while read -r line; do
	echo "got: $line"
	case "$line" in run\ *) eval "${line#run }" ;; esac
done
EOF
chmod +x "$R/init"

# start_ct NAME [SPEC-LINE...]: writes the spec and starts the shim as vmfs does; sets
# RUN (the run directory), READY (the line from fd 3) and SHIM_PID.
start_ct() {
	local name=$1
	shift
	RUN=$T/ct/$name/run
	mkdir -p "$RUN"
	{
		printf 'namespace=%s\nname=%s\nhostname=%s\nrootfs=%s\nsnapshot=true\n' \
			"$NS" "$name" "h-$name" "$R"
		printf 'init=/init\nmemory=67108864\ncpus=1\npids=64\nfifos=2\n'
		printf '%s\n' "$@"
	} >"$RUN/spec"
	mkfifo "$T/ct/$name/ready"
	"$SHIM" "$RUN" 3 3>"$T/ct/$name/ready" &
	SHIM_PID=$!
	SHIMS+=("$SHIM_PID")
	# EOF comes only when every copy of fd 3 is closed: init must not hold one
	READY=$(timeout 10 cat "$T/ct/$name/ready")
}

send() { # send TEXT: one client connects, types TEXT into the console, disconnects
	perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!";
		print $s $ARGV[1]; close $s' "$RUN/console.sock" "$1"
}

wait_for() { # wait_for FILE REGEX: up to 10 s for FILE to match
	local i
	for i in $(seq 1 100); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# in_ct 'CMD': runs CMD in the container through the console and prints its output,
# read from the container's /tmp through the root the host sees (RUNDIR/root).
IN_N=0
in_ct() {
	IN_N=$((IN_N + 1))
	local f=out$IN_N
	# is "$(in_ct ...)" runs this in a subshell, so IN_N does not move and names repeat: the
	# last command's file must go, or a slow command's caller reads the one before's output
	rm -f "$RUN/root/tmp/$f"
	send "run { $1 ; } >/tmp/$f.tmp 2>&1; mv /tmp/$f.tmp /tmp/$f
"
	local i
	for i in $(seq 1 100); do
		[ -f "$RUN/root/tmp/$f" ] && break
		sleep 0.1
	done
	cat "$RUN/root/tmp/$f" 2>/dev/null
}

gone() { # gone PID: the process has exited (a zombie counts: it is our child)
	local i
	for i in $(seq 1 100); do
		[ -e "/proc/$1" ] || return 0
		grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

cg_file() { # cg_file NAME memory|pids FILE-V1 FILE-V2
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		echo "/sys/fs/cgroup/vmfs/$NS/$1/$4"
	else
		echo "/sys/fs/cgroup/$2/vmfs/$NS/$1/$3"
	fi
}
cg_dir_gone() { ! find /sys/fs/cgroup -type d -path "*/vmfs/$NS/$1" 2>/dev/null | grep -q .; }
mounted() { grep -q " $1 " /proc/mounts; }

# --- a container with a snapshot: start, console, what it sees
start_ct a
like "$READY" '^ok [0-9]+$' "READYFD says ok PID"
INIT=$(cut -d' ' -f1 "$RUN/pid" 2>/dev/null)
is "${READY#ok }" "$INIT" "the pid file holds init's pid"
like "$(cat "$RUN/shim.pid" 2>/dev/null)" "^$SHIM_PID [0-9]+$" "shim.pid holds the shim's pid and start time"
ok "console.log gets init's output" wait_for "$RUN/console.log" 'hello from init'
send $'ping\n'
ok "console.sock input reaches init" wait_for "$RUN/console.log" 'got: ping'
perl -MIO::Socket::UNIX -e '
	my @s = map { IO::Socket::UNIX->new(Peer => $ARGV[0]) or die } 1 .. 2;
	print { $s[0] } "from-one\n"; select(undef, undef, undef, 0.2);
	print { $s[1] } "from-two\n"; select(undef, undef, undef, 0.2);' "$RUN/console.sock"
ok "two clients at once: the first is heard" wait_for "$RUN/console.log" 'got: from-one'
ok "two clients at once: the second is heard" wait_for "$RUN/console.log" 'got: from-two'

is "$(in_ct hostname)" "h-a" "the hostname is the spec's"
PS=$(in_ct 'ps -o pid,args')
like "$PS" $'\n *1 +/bin/sh /init' "ps: init is PID 1"
like "$(printf '%s\n' "$PS" | grep -c '^ *[0-9]')" '^[23]$' "ps: only the container's processes (init, maybe a subshell, ps)"
ok "ps: no pid from the host's numbering" eval "! printf '%s\n' \"\$PS\" | grep -q '^ *[0-9][0-9]'"
is "$(in_ct 'ls /' | tr -s ' \n' ' ')" "bin dev etc init mnt proc sys tmp " "ls / shows the rootfs, no host directories"
is "$(in_ct "test -e $RUN && echo seen || echo unseen")" "unseen" "the run directory (state dir) is not visible inside"
is "$(in_ct 'test -e /proc/kcore && echo present || echo absent')" \
	"$([ -e /proc/kcore ] && echo present || echo absent)" "/proc/kcore: masked where the kernel has it, no error where not"
[ -e /proc/keys ] && is "$(in_ct 'wc -c </proc/keys')" "0" "/proc/keys is masked (empty)"
like "$(in_ct 'grep " /proc/sys " /proc/mounts')" ' ro,' "/proc/sys is read-only"
like "$(in_ct 'grep " /sys " /proc/mounts')" ' ro,' "/sys is read-only"
like "$(in_ct 'mount -t tmpfs none /mnt; echo rc=$?')" 'rc=[1-9]' "mount -t tmpfs fails (no CAP_SYS_ADMIN)"
is "$(in_ct 'grep CapBnd /proc/self/status')" $'CapBnd:\t00000000a80425fb' "the bounding set is Docker's default"
is "$(in_ct 'cat /sys/class/net/lo/flags; ls /sys/class/net')" $'0x9\nlo' "lo is up and alone in the network namespace"
like "$(in_ct 'ls -l /dev/null /dev/console; echo x >/dev/null && echo null-ok')" 'null-ok' "/dev/null works"
is "$(cat "$(cg_file a memory memory.limit_in_bytes memory.max)" 2>/dev/null)" "67108864" "the memory limit is in the cgroup"
ok "init is in the cgroup (container/, below the limits)" grep -qx "$INIT" "$(cg_file a pids container/cgroup.procs container/cgroup.procs)"

send $'run cat /dev/fifo/0 >/tmp/fifo.out &\n'
sleep 0.2
timeout 5 sh -c "echo from-host >'$RUN/fifo/0'"
ok "a fifo written from the host is read inside" wait_for "$RUN/root/tmp/fifo.out" '^from-host$'

# no one connected: 1.2 MB of output must neither block init nor grow console.log past
# the limit (BIG""DONE: the echoed command line must not match)
send $'run head -c 1200000 /dev/zero | tr "\\0" x; echo; echo BIG""DONE\n'
ok "a flood of output does not block init" wait_for "$RUN/console.log" '^BIGDONE'
ok "console.log was rotated to console.log.1" test -s "$RUN/console.log.1"
RSS=$(awk '/^VmRSS/ {print $2}' "/proc/$SHIM_PID/status")
echo "# vmfs-shim RSS: $RSS kB"
if [ -n "${SANITIZE:-}" ]; then # ASan cannot link statically and maps far more
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - the shim is linked statically, its RSS under 1.25 MiB # SKIP sanitizer build"
else
	# one shim per container: linked -static it holds about 1 MiB after a flood of output, a
	# dynamically linked one 1.7 MiB (a page or two either way is the flood's, not a change)
	ok "the shim is linked statically, its RSS under 1.25 MiB ($RSS kB)" \
		sh -c "! readelf -l '$ROOT/vmfs/vmfs-shim' | grep -q INTERP && [ $RSS -lt 1280 ]"
fi

# SIGTERM to the shim goes to init, whose trap exits 3
kill -TERM "$SHIM_PID"
ok "SIGTERM: the shim exits after init" gone "$SHIM_PID"
wait "$SHIM_PID"
is "$?" "0" "the shim's exit status is 0"
is "$(cat "$RUN/exit" 2>/dev/null)" "exited 3" "exit says exited 3"
ok "the overlay is unmounted" eval "! mounted $RUN/root"
ok "the cgroup is removed" cg_dir_gone a
ok "console.sock, pid and shim.pid are removed" eval "! ls '$RUN/console.sock' '$RUN/pid' '$RUN/shim.pid' 2>/dev/null"

# --- kill -9 of init
start_ct b
like "$READY" '^ok [0-9]+$' "second container starts"
ok "its overlay is mounted on RUNDIR/root" mounted "$RUN/root"
kill -9 "${READY#ok }"
ok "kill -9 of init: the shim exits" gone "$SHIM_PID"
is "$(cat "$RUN/exit" 2>/dev/null)" "killed KILL" "exit says killed KILL"
ok "the overlay is unmounted" eval "! mounted $RUN/root"
ok "the cgroup is removed" cg_dir_gone b

# --- start failures name the real cause, on READYFD and in exit, and leave nothing
start_ct c 'init=/nonexistent'
like "$READY" '^error: exec /nonexistent: No such file or directory \(is config/init right\?\)$' \
	"init=/nonexistent: READYFD names the exec error"
like "$(cat "$RUN/exit" 2>/dev/null)" '^error: exec /nonexistent: No such file or directory' "exit says the same"
ok "the shim exits" gone "$SHIM_PID"
ok "no mount is left" eval "! mounted $RUN/root"
ok "no cgroup is left" cg_dir_gone c

start_ct d "rootfs=$T/no-such-rootfs"
like "$READY" "^error: rootfs $T/no-such-rootfs: No such file or directory" "a missing rootfs is named"
ok "no cgroup is left" cg_dir_gone d

# --- an init that ends at once: still "ok", then its status
start_ct q 'init=/bin/sh -c "echo bye; exit 3"'
like "$READY" '^ok [0-9]+$' "an init that exits at once was still started"
ok "the shim exits" gone "$SHIM_PID"
is "$(cat "$RUN/exit" 2>/dev/null)" "exited 3" "exit says exited 3"
ok "its output is in console.log" grep -q bye "$RUN/console.log"

# --- an init the OOM killer ends
printf '#!/bin/sh\nx=$(head -c 200000000 /dev/zero | tr "\\0" x)\necho survived\n' >"$R/oom.sh"
chmod +x "$R/oom.sh"
start_ct g 'init=/oom.sh' 'memory=33554432'
like "$READY" '^ok [0-9]+$' "a container with a 32 MiB limit starts"
ok "init outgrowing it: the shim exits" gone "$SHIM_PID"
is "$(cat "$RUN/exit" 2>/dev/null)" "oom" "exit says oom"
rm -f "$R/oom.sh"

printf '#!/bin/sh\necho preinit-ran; hostname >"$CONTAINER_ROOT/tmp/pre.host"\nexit 0\n' >"$T/pre-ok"
printf '#!/bin/sh\necho preinit says no\nexit 3\n' >"$T/pre-fail"
chmod +x "$T/pre-ok" "$T/pre-fail"
start_ct e "preinit=$T/pre-fail"
like "$READY" "^error: preinit $T/pre-fail exited 3" "a failing preinit fails the start"
ok "its output is in console.log" wait_for "$RUN/console.log" 'preinit says no'
ok "no mount is left" eval "! mounted $RUN/root"

# --- no snapshot, with volumes, and a preinit that runs in the container's namespaces
mkdir -p "$T/vol-ro" "$T/vol-rw"
echo host-data >"$T/vol-ro/file"
start_ct f 'snapshot=false' "preinit=$T/pre-ok" "volume=$T/vol-ro:/data:ro" "volume=$T/vol-rw:/srv/rw"
like "$READY" '^ok [0-9]+$' "snapshot=false with volumes and preinit starts"
is "$(cat "$R/tmp/pre.host" 2>/dev/null)" "h-f" "preinit ran with CONTAINER_ROOT, in the container's UTS namespace"
ok "without a snapshot the rootfs is bound on RUNDIR/root" test -x "$RUN/root/init"
is "$(in_ct 'cat /data/file')" "host-data" "a volume is visible inside"
like "$(in_ct 'touch /data/new; echo rc=$?')" 'Read-only file system' "a :ro volume is read-only"
in_ct 'echo from-ct >/srv/rw/new' >/dev/null
is "$(cat "$T/vol-rw/new" 2>/dev/null)" "from-ct" "a read-write volume is writable and shared"
kill -9 "${READY#ok }"
ok "the shim exits" gone "$SHIM_PID"
ok "the rootfs bind mount is gone" eval "! mounted $RUN/root"
ok "the rootfs is intact after the container ends" test -x "$R/init"
rm -f "$R/tmp/"*

done_testing
