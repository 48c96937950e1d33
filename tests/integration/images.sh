#!/usr/bin/env bash
# images/ is the image store, a real directory: cp, mkdir, mv, rm and rmdir work as on any
# directory and land in the store on the host. An image that a VM's or container's config
# names cannot be removed (EBUSY, and host/log says who uses it); a config path must exist.
. "$(dirname "$0")/lib.sh"
export LC_ALL=C
umask 022

I=$M/images # the store through vmfs
H=$S/images # the same store on the host
V=$M/ns/default/vms/v
K=$V/config/kernel

# why_not CMD...: the reason a command that fails gives ("Device or resource busy"), or "".
why_not() { "$@" 2>&1 >/dev/null | sed -n '1s/.*: //p'; }

# A vmfs that hangs (see the last test) ignores SIGTERM and fusermount3 -u: kill -9 ends it.
EXTRA_CLEANUP='
	if [ -n "$VMFS_PID" ] && ! timeout -s KILL 2 cat "$M/version" >/dev/null 2>&1; then
		kill -9 "$VMFS_PID" 2>/dev/null
		wait "$VMFS_PID" 2>/dev/null
		VMFS_PID=
	fi'

vmfs_start || exit 1
head -c 3000000 /dev/urandom >"$T/blob"
echo "a kernel" >"$T/kern"

# --- a real directory
is "$(ls "$I")" "" "a new image store is empty"
ok "cp a file into images/" cp "$T/blob" "$I/disk.raw"
ok "the copy has the same content" cmp "$T/blob" "$I/disk.raw"
is "$(stat -c %s "$I/disk.raw")" "3000000" "stat: the copy's size"
is "$(ls -l "$I/disk.raw" | awk '{print $5}')" "3000000" "ls -l: the copy's size"
is "$(stat -c %a "$I/disk.raw")" "644" "the copy's mode follows the umask"
ok "the copy is in the store on the host" cmp "$T/blob" "$H/disk.raw"
is "$(ls "$I")" "disk.raw" "ls images/ lists it"

printf 'short' >"$I/disk.raw"
is "$(cat "$I/disk.raw")" "short" "writing over an image replaces its content"
is "$(stat -c %s "$H/disk.raw")" "5" "writing over an image truncates it"

ok "mkdir images/sub" mkdir "$I/sub"
ok "mkdir images/sub: a directory in the store" test -d "$H/sub"
ok "cp into images/sub" cp "$T/blob" "$I/sub/a"
ok "cp into images/sub: same content on the host" cmp "$T/blob" "$H/sub/a"
ok "mv within a directory of images/" mv "$I/sub/a" "$I/sub/b"
is "$(ls "$I/sub")" "b" "mv: the new name only"
is "$(ls "$H/sub")" "b" "mv: the new name only, on the host too"
ok "mv: content kept" cmp "$T/blob" "$I/sub/b"
ok "mv from a subdirectory to the top of images/" mv "$I/sub/b" "$I/top"
ok "mv to the top: arrived with its content" cmp "$T/blob" "$H/top"
ok "mv to the top: gone from images/sub" test ! -e "$I/sub/b"
cp "$T/blob" "$I/sub/c"
ok "mv of a directory" mv "$I/sub" "$I/sub2"
ok "mv of a directory: its files follow" cmp "$T/blob" "$I/sub2/c"
is "$(why_not rmdir "$I/sub2")" "Directory not empty" "rmdir of a non-empty directory: ENOTEMPTY"
ok "rm a file" rm "$I/sub2/c"
ok "rm a file: gone from the host" test ! -e "$H/sub2/c"
ok "rmdir an empty directory" rmdir "$I/sub2"
ok "rmdir: gone from the host" test ! -e "$H/sub2"
ok "rm images/top" rm "$I/top"
cp "$T/blob" "$H/from-host"
ok "a file put in the store on the host shows in images/" cmp "$T/blob" "$I/from-host"
rm "$H/from-host"
is "$(ls "$I")" "disk.raw" "images/ lists what the store holds"

# --- an image in use cannot be removed
cp "$T/kern" "$I/k"
mkdir "$V"
echo k >"$K"
is "$(cat "$K")" "k" "config/kernel names the image k"
is "$(why_not rm "$I/k")" "Device or resource busy" "rm of an image a VM's config names: EBUSY"
ok "the image in use is still there" cmp "$T/kern" "$H/k"
like "$(cat "$M/host/log")" "images/k is in use by ns/default/vms/v" "host/log says which VM uses it"

like "$(errno_of "$K" nosuch)" "^(ENOENT|EINVAL)$" "a config path that does not exist is refused (ENOENT or EINVAL)"
is "$(cat "$K")" "k" "a refused path leaves the value unchanged"
like "$(errno_of "$K" /nonexistent/vmlinuz)" "^(ENOENT|EINVAL)$" "an absolute path that does not exist is refused (ENOENT or EINVAL)"
is "$(cat "$K")" "k" "a refused absolute path leaves the value unchanged"

echo >"$K"
is "$(cat "$K")" "" "echo > config/kernel resets it"
ok "once no config names it, rm works" rm "$I/k"
ok "rm: the image is gone from the host" test ! -e "$H/k"

echo "$T/kern" >"$K"
is "$(cat "$K")" "$T/kern" "an absolute host path that exists is accepted"
cp "$T/kern" "$I/k2"
echo "$H/k2" >"$K"
is "$(why_not rm "$I/k2")" "Device or resource busy" "an image named by its absolute host path is in use too"

mkdir "$I/kernels"
cp "$T/kern" "$I/kernels/k3"
echo kernels/k3 >"$K"
is "$(why_not rm "$I/kernels/k3")" "Device or resource busy" "an image in a subdirectory is in use too"

cp "$T/blob" "$I/d1.qcow2"
cp "$T/blob" "$I/d2.raw"
echo "d1.qcow2,virtio d2.raw" >"$V/config/disk"
is "$(why_not rm "$I/d2.raw")" "Device or resource busy" "the second of two disks is in use too"

# a template names an image: a VM made from it names the image too
echo d1.qcow2 >"$M/ns/default/config/cdrom"
mkdir "$M/ns/default/vms/w"
echo >"$M/ns/default/config/cdrom"
echo >"$V/config/disk"
is "$(why_not rm "$I/d1.qcow2")" "Device or resource busy" "a VM made from a template naming an image uses it"
like "$(cat "$M/host/log")" "images/d1.qcow2 is in use by ns/default/vms/w" "host/log names that VM"
rmdir "$M/ns/default/vms/w"
ok "once the VM that used it is removed, rm works" rm "$I/d1.qcow2"

# a container's root filesystem, a directory
mkdir -p "$I/rootfs/bin"
echo '#!/bin/sh' >"$I/rootfs/bin/sh"
mkdir "$M/ns/default/containers/c"
echo rootfs >"$M/ns/default/containers/c/config/filesystem"
is "$(why_not rmdir "$I/rootfs")" "Device or resource busy" "rmdir of a container's root filesystem: EBUSY"
rm -rf "$I/rootfs" 2>/dev/null
ok "rm -r of a container's root filesystem leaves its files" test -f "$H/rootfs/bin/sh"

# still in use after a restart: the objects come back from the state directory
vmfs_stop
vmfs_start || exit 1
is "$(why_not rm "$I/kernels/k3")" "Device or resource busy" "after a restart, an image in use is still refused"

# other ways to name or move an image must not pull it from under the VM either
cp "$T/kern" "$I/k4"
is "$(errno_of "$K" ./k4)" "EINVAL" "config/kernel = ./k4 is refused: one spelling per image"
is "$(errno_of "$K" ../lock)" "EINVAL" "a relative path cannot leave the image store"
is "$(errno_of "$K" "$S/images/k4")" "" "the absolute path of a store image is accepted"
is "$(why_not rm "$I/k4")" "Device or resource busy" "an image named by its absolute path is in use too"
echo kernels/k3 >"$K"
mv "$I/kernels/k3" "$I/kernels/moved" 2>/dev/null
ok "mv of an image in use leaves config/kernel naming a file that exists" test -f "$H/$(cat "$K")"

# the absolute path of an image through the vmfs mount itself: vmfs must answer, not hang
cp "$T/kern" "$I/k5"
sleep 1.1 # let the kernel's cached entries expire, as they would for a user
{ timeout -s KILL 5 "$XWRITE" "$K" "$I/k5" >/dev/null; } 2>/dev/null
ok "config/kernel = a path under the mount point: the write returns" test $? != 137
answer=$(timeout -s KILL 5 cat "$M/version")
is "$answer" "vmfs 0.1.0" "config/kernel = a path under the mount point: vmfs still answers"
if [ "$answer" = "vmfs 0.1.0" ]; then
	vmfs_stop
	is "$?" "0" "fusermount3 -u: vmfs exits 0"
else
	vmfs_kill9 # a hung vmfs ignores SIGTERM and fusermount3 -u: end it for the cleanup
fi
done_testing
