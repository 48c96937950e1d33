#!/usr/bin/env bash
# scripts/mkrootfs: the default container image (busybox rootfs from Debian's busybox-static).
# Builds into a temp dir, checks the layout, that rebuilding is reproducible and replaces the
# tree, then runs its /init as PID 1 of new pid/mount/uts namespaces with a FIFO as console:
# it must say it is up, run what is written to it, survive EOF and stop on SIGTERM.
. "$(dirname "$0")/lib.sh"

MKROOTFS=$ROOT/scripts/mkrootfs
D=$T/rootfs/busybox
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' &&
	! command -v apt-get >/dev/null; then
	skip_all "busybox-static is not installed and there is no apt-get to fetch it"
fi

skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - # SKIP $*"; }

# --- build
start=$(date +%s%N)
out=$("$MKROOTFS" "$D" 2>&1)
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
is "$rc" 0 "mkrootfs exits 0"
[ $rc = 0 ] || { printf '#   %s\n' "$out"; done_testing; exit 1; }
like "$out" "^mkrootfs: built $D: BusyBox v[0-9.]+ .*[0-9]+ applets, [0-9.]+[KM]" "it says what it built"
echo "# built in $ms ms"
ok "it takes under 15 s, apt-get download included ($ms ms)" test "$ms" -lt 15000

# --- layout
ok "bin/busybox is executable" test -x "$D/bin/busybox" -a -f "$D/bin/busybox"
is "$("$D/bin/busybox" sh -c 'echo hi' 2>&1)" "hi" "busybox sh runs"
is "$("$D/bin/sh" -c 'echo hi' 2>&1)" "hi" "bin/sh runs (through its symlink)"
for a in sh ls ps ip mount hostname cat sleep; do
	is "$(readlink "$D/bin/$a")" "busybox" "applet $a is bin/$a -> busybox"
done
n=$("$D/bin/busybox" --list | grep -vcx busybox)
is "$(find "$D/bin" -type l -lname busybox | wc -l)" "$n" "every applet of busybox --list has a link"
is "$(find "$D" -type l -lname '/*' | head -3)" "" "no symlink is absolute"
is "$(readlink "$D/sbin")" "bin" "sbin -> bin"
is "$(readlink "$D/usr/bin") $(readlink "$D/usr/sbin")" "../bin ../bin" "usr/bin, usr/sbin -> ../bin"
ok "sbin/mount resolves" test -x "$D/sbin/mount"
for d in dev proc sys tmp root etc run mnt var/log; do
	ok "$d/ is a directory" test -d "$D/$d" -a ! -L "$D/$d"
done
is "$(stat -c %a "$D/tmp")" "1777" "tmp is mode 1777"
is "$(find "$D/dev" "$D/proc" "$D/sys" -mindepth 1)" "" "dev, proc and sys are empty (the runtime mounts them)"
ok "etc/passwd has root" grep -qx 'root:x:0:0:root:/root:/bin/sh' "$D/etc/passwd"
ok "etc/passwd has nobody" grep -q '^nobody:x:65534:65534:' "$D/etc/passwd"
ok "etc/group has root" grep -q '^root:x:0:' "$D/etc/group"
ok "etc/hostname is one word" grep -qx '[a-z0-9-]\+' "$D/etc/hostname"
ok "etc/os-release names it" grep -qx 'NAME="vmfs busybox rootfs"' "$D/etc/os-release"
ok "etc/profile sets PS1" grep -q '^export PS1=' "$D/etc/profile"
ok "etc/profile parses" "$D/bin/busybox" sh -n "$D/etc/profile"
ok "init is executable" test -x "$D/init" -a -f "$D/init"
is "$(head -1 "$D/init")" "#!/bin/sh" "init starts with #!/bin/sh"
ok "init passes sh -n" sh -n "$D/init"
ok "init passes busybox sh -n" "$D/bin/busybox" sh -n "$D/init"
ok "init mounts nothing" sh -c "! grep -Eq '^[^#]*\\bmount\\b' '$D/init'"
is "$(ls -d "$T"/rootfs/busybox.* 2>/dev/null)" "" "no busybox.tmp.* or busybox.old.* left behind"

# --- reproducible and idempotent
manifest() { # every path with type, mode, size, mtime, link target and content hash
	(cd "$1" && find . -printf '%p %y %m %s %T@ %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}
before=$(manifest "$D")
ok "a second build elsewhere" "$MKROOTFS" "$T/other/busybox"
is "$(manifest "$T/other/busybox")" "$before" "the two builds are identical (paths, modes, mtimes, contents)"
ino=$(stat -c %i "$D")
touch "$D/stale-file"
rm "$D/bin/ls"
ok "rebuilding over an existing tree" "$MKROOTFS" "$D"
ok "the rebuild replaced the tree (new directory)" test "$(stat -c %i "$D")" != "$ino"
ok "the rebuild dropped a stray file" test ! -e "$D/stale-file"
is "$(manifest "$D")" "$before" "the rebuild is identical to the first build"
is "$(ls -d "$T"/rootfs/busybox.* 2>/dev/null)" "" "no temp or old tree left after the rebuild"
ok "a path that is a file is refused" sh -c "touch '$T/afile' && ! '$MKROOTFS' '$T/afile' 2>/dev/null"
ok "no arguments is a usage error" sh -c "! '$MKROOTFS' 2>/dev/null"

# --- init, as the runtime runs it: PID 1 of new namespaces, /proc /sys /dev mounted, chroot
# into the tree. Its console is a FIFO here: what we write is what a user types.
UP=
INIT=
# shellcheck disable=SC2016,SC2034 # run by lib.sh's cleanup
EXTRA_CLEANUP='[ -n "$INIT" ] && kill -KILL "$INIT" 2>/dev/null; [ -n "$UP" ] && kill -KILL "$UP" 2>/dev/null; exec 7>&- 2>/dev/null'
child_of() { local c=; read -r c _ <"/proc/$1/task/$1/children" 2>/dev/null; [ -n "$c" ] && echo "$c"; }
wait_for() { # wait_for SECONDS REGEX: until the console output matches
	local _
	for _ in $(seq 1 $(($1 * 20))); do
		grep -Eq -- "$2" "$T/console" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
alive() { [ -n "$1" ] && [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

if [ "$(id -u)" != 0 ]; then
	skip "running init needs root"
elif ! unshare --fork --pid --mount --uts --mount-proc true 2>/dev/null; then
	skip "unshare --pid --mount --uts does not work here"
else
	mkfifo "$T/in"
	# shellcheck disable=SC2016
	unshare --fork --kill-child --pid --mount --uts --mount-proc="$D/proc" /bin/sh -c '
		mount -t sysfs sysfs "$1/sys" 2>/dev/null
		mount -t tmpfs -o mode=755,size=64k dev "$1/dev" &&
			mknod -m 666 "$1/dev/null" c 1 3 && mknod -m 666 "$1/dev/zero" c 1 5 &&
			hostname rftest && exec chroot "$1" /init' sh "$D" <"$T/in" >"$T/console" 2>&1 &
	UP=$!
	exec 7<>"$T/in" # read-write: never blocks, even if unshare never opened it
	for _ in $(seq 1 100); do
		INIT=$(child_of "$UP") && break
		sleep 0.05
	done
	ok "init started" alive "$INIT"
	[ -n "$INIT" ] || INIT=$UP # so that the checks below fail rather than hang
	ok "it prints 'vmfs container rftest is up'" wait_for 5 '^vmfs container rftest is up$'
	ok "then a prompt" wait_for 2 'rftest# '
	echo 'echo pong' >&7
	ok "'echo pong' written to its console yields pong" wait_for 5 '(^|# )pong$'
	echo 'ls /no-such-file' >&7
	ok "a command's errors show on the console" wait_for 5 'ls: /no-such-file: No such file'
	# shellcheck disable=SC2016,SC2028 # these are the commands typed into the console
	echo 'echo ppid=$PPID host=$(hostname) up=$(cat /proc/1/cmdline | tr "\0" " ")' >&7
	ok "init is PID 1, in its own namespaces" wait_for 5 'ppid=1 host=rftest up=/bin/sh /init ?$'
	# an orphan (its parent exits at once) is reparented to init, which must reap it
	echo "sh -c 'sleep 0.2 &'" >&7
	echo 'sleep 0.6' >&7
	# shellcheck disable=SC2016
	echo 'echo zombies=$(ps -o stat | grep -c "^Z")' >&7
	ok "init reaps orphans" wait_for 5 'zombies=0$'
	echo 'cd /tmp && echo x > f && cat f && rm f && echo tmp-ok' >&7
	ok "tmp is writable" wait_for 5 'tmp-ok$'
	is "$(grep -c 'is up' "$T/console")" "1" "the 'is up' line comes once"

	exec 7>&- # EOF on the console
	sleep 0.3
	size=$(stat -c %s "$T/console")
	sleep 2
	ok "closing its console does not end it (2 s later)" alive "$INIT"
	is "$(stat -c %s "$T/console")" "$size" "nor make it spin (no output after EOF)"

	kill -TERM "$INIT" 2>/dev/null
	for _ in $(seq 1 40); do alive "$UP" || break; sleep 0.05; done
	ok "SIGTERM stops it within 2 s" sh -c "! [ -d /proc/$UP ] || grep -q '^State:.*Z' /proc/$UP/status"
	alive "$UP" && kill -KILL "$INIT" "$UP" 2>/dev/null # never hang on wait below
	wait "$UP"
	is "$?" "0" "and it exits 0"
	UP='' INIT=''
	ok "its mounts stayed in its namespace" sh -c "! grep -q ' $D/' /proc/mounts"
	[ "$TAP_FAIL" = 0 ] || { echo "# console:"; { cat "$T/console"; echo; } | sed 's/^/#   /'; }
fi

# --- the simplest way to run it: plain chroot, console at EOF from the start, no /dev at all
if [ "$(id -u)" != 0 ]; then
	skip "chroot needs root"
else
	timeout -k 2 3 chroot "$D" /init </dev/null >"$T/console2" 2>&1
	is "$?" "124" "under plain chroot with stdin at EOF, init is still running after 3 s"
	like "$(head -1 "$T/console2")" '^vmfs container .+ is up$' "and it said it is up"
	ok "and printed no more than two prompts (no spinning)" test "$(grep -o '# ' "$T/console2" | wc -l)" -le 2
fi

done_testing
