#!/usr/bin/env bash
# The mount can be exported (nfs-ganesha's FSAL_VFS, the kernel's nfsd): file handles from
# name_to_handle_at reach the same file after the kernel dropped its caches and after vmfs
# restarted on the same state directory; a removed object's handle is ESTALE, also when an
# object of the same name is made again, never another object's file; and the sizes stat
# gives are what a read returns (NFS clients read up to them).
. "$(dirname "$0")/lib.sh"
FH=$ROOT/tests/tools/fhandle
PNGINFO=$ROOT/tests/tools/pnginfo
use_boot_image
vmfs_start --images "$T/images" || exit 1
L=$M/ns/lab
EXTRA_CLEANUP='[ -e "$L/ctl" ] && echo "kill all" > "$L/ctl" 2>/dev/null; kill_ours'

mkdir "$L"
echo 'launch container c[1-2]' >"$L/ctl"
echo 300M >"$L/containers/c1/config/memory"
"$FH" save "$L/info" "$T/h.info"
"$FH" save "$L" "$T/h.ns"
"$FH" save "$L/containers/c1/config/memory" "$T/h.mem"
"$FH" save "$L/containers/c1" "$T/h.c1"
"$FH" save "$M/host/info" "$T/h.host"
ok "handles of info, a namespace, a config file, an object, host/info" test -s "$T/h.info" -a -s "$T/h.ns" -a -s "$T/h.mem" -a -s "$T/h.c1"

by_handle() { "$FH" open "$M" "$1" 2>/dev/null; } # prints "error: ESTALE" if it fails
# same HANDLE PATH: what the handle opens is what PATH reads (a directory: its names)
same() { [ "$(by_handle "$1")" == "$(if [ -d "$2" ]; then LC_ALL=C ls "$2"; else cat "$2"; fi)" ]; }
check_all() { # check_all WHEN
	ok "$1: info by its handle is the namespace's info" same "$T/h.info" "$L/info"
	ok "$1: the namespace directory by its handle lists its names" same "$T/h.ns" "$L"
	ok "$1: config/memory by its handle" same "$T/h.mem" "$L/containers/c1/config/memory"
	is "$(by_handle "$T/h.mem")" "300M" "$1: ... is c1's 300M"
	ok "$1: the object directory by its handle" same "$T/h.c1" "$L/containers/c1"
	like "$(by_handle "$T/h.host")" "^name " "$1: host/info by its handle"
}
check_all "in the kernel's cache"
echo 2 >/proc/sys/vm/drop_caches
check_all "after drop_caches"

vmfs_stop || exit 1
vmfs_start --images "$T/images" || exit 1
check_all "after a restart"
echo 2 >/proc/sys/vm/drop_caches
check_all "after a restart and drop_caches"

# a removed object: its handles are stale, the new one of its name is another
rmdir "$L/containers/c1"
is "$(by_handle "$T/h.mem")" "error: ESTALE" "after rmdir, c1's config/memory handle is ESTALE"
is "$(by_handle "$T/h.c1")" "error: ESTALE" "... and its directory's"
echo 'launch container c1' >"$L/ctl"
echo 400M >"$L/containers/c1/config/memory"
is "$(by_handle "$T/h.mem")" "error: ESTALE" "c1 made again: the old handle is still ESTALE, not the new c1's file"
echo 2 >/proc/sys/vm/drop_caches
is "$(by_handle "$T/h.mem")" "error: ESTALE" "... also after drop_caches"
vmfs_stop || exit 1
vmfs_start --images "$T/images" || exit 1
is "$(by_handle "$T/h.mem")" "error: ESTALE" "... and after a restart"
"$FH" save "$L/containers/c1/config/memory" "$T/h.mem2"
is "$(by_handle "$T/h.mem2")" "400M" "the new c1's handle reaches it"

# a namespace removed and made again
rmdir "$L"/containers/*
ok "lab removed and made again" sh -c "rmdir '$L' && mkdir '$L'"
is "$(by_handle "$T/h.ns")" "error: ESTALE" "a namespace removed and made again: the old one's handle is ESTALE"
is "$(by_handle "$T/h.info")" "error: ESTALE" "... and its info's"
"$FH" save "$L/info" "$T/h.info2"
vmfs_stop || exit 1
vmfs_start --images "$T/images" || exit 1
is "$(by_handle "$T/h.ns")" "error: ESTALE" "... also after a restart"
ok "the new lab's info by its handle after the restart" same "$T/h.info2" "$L/info"

# images/ is numbered per run: a handle lasts while the kernel holds the file, never
# reaching another file after
echo aaa >"$M/images/a.txt"
echo bbb >"$M/images/b.txt"
"$FH" save "$M/images/a.txt" "$T/h.img"
is "$(by_handle "$T/h.img")" "aaa" "an image's handle while the kernel holds it"
vmfs_stop || exit 1
vmfs_start --images "$T/images" || exit 1
cat "$M/images/b.txt" >/dev/null
like "$(by_handle "$T/h.img")" "^(aaa|error: ESTALE)$" "after a restart: stale or the same image, never another"

# true sizes: what stat says is what cat reads (retried: top and host figures move each second)
size_is_read() { # size_is_read PATH: stat's size equals cat | wc -c (5 tries)
	local i s n
	for i in 1 2 3 4 5; do
		s=$(stat -c %s "$1") && n=$(cat "$1" | wc -c) && [ "$s" -eq "$n" ] && [ "$n" -gt 0 ] && return 0
		sleep 0.3
	done
	echo "# $1: stat $s, read $n" >&2
	return 1
}
echo 'launch container c3' >"$L/ctl"
mkdir "$L/vms/v1"
for f in host/info host/top host/log ns/lab/info ns/lab/top ns/lab/log ns/lab/config/memory \
	ns/lab/containers/c3/info ns/lab/containers/c3/top ns/lab/containers/c3/state \
	ns/lab/containers/c3/log ns/lab/containers/c3/config/memory version; do
	ok "size of $f is what a read gives" size_is_read "$M/$f"
done
is "$(stat -c %s "$L/vms/v1/screenshot.png")" "0" "screenshot.png of a VM not running: size 0 (a read fails)"
ok "... and its stat wrote no error to the log" sh -c "! grep -q screenshot '$L/vms/v1/log'"
ok "start v1" "$XWRITE" "$L/vms/v1/ctl" start
ok "pause v1 (a still screen)" "$XWRITE" "$L/vms/v1/ctl" pause
ok "size of a paused VM's screenshot.png is what a read gives" size_is_read "$L/vms/v1/screenshot.png"
cat "$L/vms/v1/screenshot.png" >"$T/shot.png"
ok "... a valid PNG" "$PNGINFO" "$T/shot.png"
ok "size of its thumbnail.png too" size_is_read "$L/vms/v1/thumbnail.png"
echo 'kill all' >"$L/ctl"

vmfs_stop
done_testing
