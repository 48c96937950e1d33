#!/usr/bin/env bash
# The tree exported over NFSv4 by nfs-ganesha (FSAL_VFS on the FUSE mount, docs/export.md),
# read and written with libnfs's userspace client (nfs-cat, nfs-ls, nfs-cp and
# tests/tools/nfsop.py), server and clients in a network namespace of the test: generated
# files and a running VM's screenshot read through NFS, a namespace made and removed, ctl
# writes that take effect, a refusal that ends (--nfs-export) instead of NFS4ERR_DELAY, and
# the restart of vmfs under an export as docs/export.md tells the operator to do it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nfs_lib.sh"
need_root
PNGINFO=$ROOT/tests/tools/pnginfo
FHANDLE=$ROOT/tests/tools/fhandle
D=$M/ns/default
V=$D/vms
nfsop() { timeout 30 nsenter --net="/run/netns/$NFS_NS" python3 "$NFSOP" "$@"; } # bounded

use_boot_image
vmfs_start --nfs-export --images "$T/images" || exit 1
EXTRA_CLEANUP='[ -e "$D/ctl" ] && echo "kill all" > "$D/ctl" 2>/dev/null; kill_ours'
nfs_setup || exit 1
ok "ganesha exports the mount (NFSv4 only, in the test's network namespace)" ganesha_start

# generated files: what NFS reads is what the mount gives
mkdir "$V/b1"
local_info=$(cat "$D/info")
is "$(nfsop read "$(nfs_url ns/default/info)")" "$local_info" \
	"ns/default/info read to its end through NFS equals the local read"
is "$(nfs_in nfs-cat "$(nfs_url ns/default/info)")" "$local_info" \
	"nfs-cat ns/default/info (it reads the size getattr gives) equals the local read"
like "$(nfs_in nfs-ls "$(nfs_url ns/default/vms)")" " b1$" "nfs-ls lists a VM made locally"

# a running VM's screen
mkdir "$V/s1"
echo 1 >"$V/s1/config/serial"
ok "start a VM (locally)" "$XWRITE" "$V/s1/ctl" start
ok "it runs" wait_for 20 grep -qx RUNNING "$V/s1/state"
nfsop read "$(nfs_url ns/default/vms/s1/screenshot.png)" >"$T/shot.png"
read -r w h _ < <("$PNGINFO" "$T/shot.png" 2>/dev/null)
ok "screenshot.png read through NFS is a valid PNG (${w:-?}x${h:-?})" test "${w:-0}" -gt 0 -a "${h:-0}" -gt 0
nfs_in nfs-cp "$(nfs_url ns/default/vms/s1/screenshot.png)" "$T/cp.png" >/dev/null 2>&1
read -r w h _ < <("$PNGINFO" "$T/cp.png" 2>/dev/null)
like "${w:-0}x${h:-0}" "^[1-9][0-9]*x[1-9][0-9]*$" \
	"nfs-cp screenshot.png (it copies the size getattr gives) is a valid PNG"

# ctl writes through NFS take effect; a bad one is refused with vmfs's errno
like "$(nfsop write "$(nfs_url ns/default/vms/s1/ctl)" pause)" "^ok 5" "write pause onto ctl through NFS"
ok "the VM is paused" wait_for 10 grep -qx PAUSED "$V/s1/state"
out=$(nfsop ctl "$(nfs_url ns/default/ctl)" "resume s1")
like "$out" "^ok 9" "write 'resume s1' onto the namespace's ctl"
like "$out" "^ok: resume 1$" "its answer is read back on the same open (NFSv4: an open is a descriptor)"
ok "it runs again" wait_for 10 grep -qx RUNNING "$V/s1/state"
like "$(nfsop write "$(nfs_url ns/default/ctl)" "frobnicate s1")" "^error EINVAL .*NFS4ERR_INVAL" \
	"an unknown command: NFS4ERR_INVAL (EINVAL)"
ok "the log says why" grep -q 'ctl: "frobnicate s1": unknown command "frobnicate"' "$D/log"

# a refusal ends: vmfs's EBUSY would be NFS4ERR_DELAY, retried for ever by kernel clients
is "$(errno_of "$V/b1/ctl" pause)" "EPERM" "with --nfs-export, pausing a BUILDING VM is EPERM on the mount too"
start=$SECONDS
out=$(nfsop write "$(nfs_url ns/default/vms/b1/ctl)" pause)
like "$out" "^error EPERM .*NFS4ERR_PERM" "through NFS the refused pause is NFS4ERR_PERM, a final error, not NFS4ERR_DELAY"
ok "and it is answered at once (within 5 s)" test $((SECONDS - start)) -le 5
ok "the VM's log says why" grep -q 'b1 is BUILDING: pause needs it RUNNING' "$V/b1/log"

# namespaces: mkdir and rmdir through NFS
ok "mkdir ns/nfs1 through NFS" nfsop mkdir "$(nfs_url ns/nfs1)"
ok "the namespace exists on the mount" test -f "$M/ns/nfs1/ctl"
like "$(nfs_in nfs-ls "$(nfs_url ns)")" " nfs1$" "nfs-ls ns lists it"
like "$(nfsop mkdir "$(nfs_url ns/nfs1)")" "^error EEXIST .*NFS4ERR_EXIST" "a second mkdir: NFS4ERR_EXIST"
like "$(nfsop mkdir "$(nfs_url ns/bad:name)")" "^error EINVAL" "a name vmfs refuses: EINVAL"
ok "rmdir ns/nfs1 through NFS" nfsop rmdir "$(nfs_url ns/nfs1)"
ok "it is gone from the mount" test ! -e "$M/ns/nfs1"
like "$(nfsop rmdir "$(nfs_url ns/nfs1)")" "^error ENOENT .*NFS4ERR_NOENT" "a second rmdir: NFS4ERR_NOENT"

# Restart of vmfs under the export, as docs/export.md says: stop ganesha (it holds the
# mount), unmount, start vmfs, start ganesha.
ok "kill s1" "$XWRITE" "$V/s1/ctl" kill
H=$M/ns/h/vms
mkdir "$M/ns/h" && mkdir "$H/zz" "$H/aa"
restart() { # each step says if it failed (a failure here once gave nothing else to go on)
	ganesha_stop || { echo "# restart: ganesha did not stop"; return 1; }
	vmfs_stop || { echo "# restart: vmfs did not stop cleanly"; return 1; }
	vmfs_start --nfs-export --images "$T/images" || { echo "# restart: vmfs did not start"; return 1; }
	ganesha_start || { echo "# restart: ganesha did not start"; return 1; }
	DEV=$(stat -c %d "$M")
	nfsop read "$(nfs_url ns/default/info)" >"$T/info.nfs" 2>"$T/info.err" ||
		{ echo "# restart: the read of info through NFS failed:"; cat "$T/info.nfs" "$T/info.err" | tail -5 | sed 's/^/#   /'; return 1; }
}
ok "while ganesha runs, the mount cannot be unmounted (busy)" sh -c "! fusermount3 -u '$M' 2>/dev/null"
ok "ganesha stops (SIGTERM)" ganesha_stop
ok "vmfs unmounts and ends (no one holds the mount)" vmfs_stop
vmfs_start --nfs-export --images "$T/images" || exit 1
ok "ganesha starts again on the new mount" ganesha_start
DEV=$(stat -c %d "$M")
is "$(nfsop read "$(nfs_url ns/default/info)")" "$(cat "$D/info")" "info through NFS after the restart"

# A handle from before must give the same file or a stale handle, never another object's.
# Of aa and zz, the one whose node id is lower is removed; if ids were numbered afresh in
# load order, the other one would get that id after the next restart.
declare -A INO FH MEM=([aa]=300M [zz]=400M)
for o in aa zz; do
	echo "${MEM[$o]}" >"$H/$o/config/memory"
	# (into a file, not read from a process substitution: that client could still be
	# ending its session when ganesha is asked to stop)
	nfsop handle "$(nfs_url ns/h/vms/$o/config/memory)" >"$T/handle.$o"
	read -r "INO[$o]" "FH[$o]" <"$T/handle.$o"
	"$FHANDLE" save "$H/$o/config/memory" "$T/kh.$o" # the kernel's, inside ganesha's
done
if [ "${INO[aa]:-0}" -lt "${INO[zz]:-0}" ]; then gone=aa kept=zz; else gone=zz kept=aa; fi
ok "rmdir vms/$gone" rmdir "$H/$gone"
dev_before=$DEV
ok "the same procedure again" restart
cat "$H/$kept/config/memory" >/dev/null # in the kernel's inode cache, as after any use
verdict() { # verdict ANSWER WANT: same (ANSWER is WANT), stale, or what else it gave
	case $1 in
	"$2") echo same ;;
	"error ESTALE"* | "error: ESTALE") echo stale ;;
	*) echo "another file: $1 (the object's is ${2:-gone})" ;;
	esac
}
stathandle() {
	nfsop stathandle "$(nfs_url ns/h/vms/$kept/config/memory)" "${1:-00}" |
		awk '$1=="old"{$1=""; print substr($0,2)}'
}
# ganesha's handles carry the mount's device number (FUSE gives no f_fsid): a new one after
# the restart makes every old handle stale before vmfs is asked; the same one lets the node
# id inside decide
echo "# the mount's device: $dev_before before the restart, $DEV after"
like "$(verdict "$(stathandle "${FH[$gone]}")" none)" "^stale$" \
	"through NFS, the old handle of the removed $gone's config/memory is NFS4ERR_STALE, not $kept's"
like "$(verdict "$(stathandle "${FH[$kept]}")" "$(stat -c %i "$H/$kept/config/memory")")" \
	"^(same|stale)$" "through NFS, the old handle of $kept's config/memory gives that file or NFS4ERR_STALE"
# one layer down, whatever the device: the kernel's handle inside ganesha's, opened on the
# new mount as ganesha opens it (tests/tools/fhandle; export_fuse.sh has the rest)
like "$(verdict "$("$FHANDLE" open "$M" "$T/kh.$gone" 2>/dev/null)" none)" "^stale$" \
	"the kernel's old handle of the removed $gone's config/memory is ESTALE, not $kept's"
like "$(verdict "$("$FHANDLE" open "$M" "$T/kh.$kept" 2>/dev/null)" "${MEM[$kept]}")" "^same$" \
	"the kernel's old handle of $kept's config/memory still reads ${MEM[$kept]}"

ok "ganesha stops" ganesha_stop
vmfs_stop
done_testing
