#!/usr/bin/env bash
# The path-swap race on images/ (issue 15): nobody owns a folder in the store and, on the
# host, exchanges its directory d with a symlink to a root-only directory outside the store
# (renameat2 RENAME_EXCHANGE in a loop) while, through d, it reads, writes, creates,
# deletes, renames, chmods, truncates... on the allow_other mount, and a read-only web user
# GETs a file and the listing. vmfs resolves every path beneath the store by descriptor
# with no symlink followed, so nothing outside changes and nothing secret comes back.
. "$(dirname "$0")/lib.sh"
need_root
use_busybox_image
PY=/usr/bin/python3 # not a shim in root's home: nobody runs it too
for c in setpriv $PY curl; do
	command -v $c >/dev/null || { echo "not ok 1 - $c is installed"; exit 1; }
done
export LC_ALL=C
umask 022
chmod 755 "$T" # mktemp made it 0700: nobody could not reach the mount point
SECS=${RACE_SECS:-10}
PORT=$(free_port)
F=$T/web.passwd
SECRET=SECRET-$RANDOM$RANDOM
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
cp "$ROOT/tests/tools/pathswap.py" "$T/pathswap.py" # a checkout may lie where nobody cannot go
chmod 755 "$T/pathswap.py"
echo viewpw | "$ROOT/vmfs/vmfs-passwd" -c 4 "$F" viewer ro / >/dev/null
chmod 600 "$F"

# the root-only directory outside the store: listing, creating and deleting need root
X=$T/secret
mkdir -m 0711 "$X"
echo "$SECRET" >"$X/secret.txt" && chmod 600 "$X/secret.txt"
echo "root's victim" >"$X/victim"
echo "root's doomed" >"$X/doomed"
echo "root's" >"$X/root-only-name"
snapshot() { (cd "$X" && find . -printf '%p %m %u:%g %s %T@\n' | sort && md5sum ./* | sort); }
BEFORE=$(snapshot)

vmfs_start -o allow_other --images "$T/images" --web 127.0.0.1:$PORT --web-passwd "$F" || exit 1
# nobody's folder in the store, made by root; d has the same names as the secret directory,
# so what the kernel looked up in d stays valid for it after a swap
I=$M/images
chmod 755 "$I"
mkdir "$I/u"
chown 65534:65534 "$I/u"
ok "nobody makes its folder d" as_nobody mkdir "$I/u/d"
for n in secret.txt victim doomed; do as_nobody sh -c "echo mine >$I/u/d/$n"; done
ok "nobody makes a symlink to the root-only directory" as_nobody ln -s "$X" "$I/u/evil"
is "$(as_nobody cat "$M/images/u/d/secret.txt")" mine "nobody reads its own file through the mount"
is "$(curl -s -u viewer:viewpw http://127.0.0.1:$PORT/images/u/d/secret.txt)" mine \
	"the read-only web user reads it over HTTP"
is "$(as_nobody cat "$M/images/u/evil/secret.txt" 2>&1 | sed 's/.*: //')" "Permission denied" \
	"the symlink itself leads where nobody's own rights say (the host checks them)"

# The swap is made in the store on the host, where vmfs cannot see it coming: as the root
# of a container whose root filesystem is the image itself (snapshot false) can, or a user
# given a folder there. vmfs keeps the store 0700; here nobody may pass through it.
chmod 711 "$T/images"
as_nobody $PY "$T/pathswap.py" swap "$T/images/u" "$SECS" >"$T/swap.out" &
SWAP=$!
as_nobody $PY "$T/pathswap.py" mount "$M/images/u" "$SECRET" "$SECS" >"$T/mount.out" 2>&1 &
MNT=$!
$PY "$T/pathswap.py" http "http://127.0.0.1:$PORT/images/u/d/" viewer:viewpw "$SECRET" \
	root-only-name "$SECS" >"$T/http.out" 2>&1 &
WEB=$!
EXTRA_CLEANUP="kill $SWAP $MNT $WEB 2>/dev/null"
wait $SWAP $MNT $WEB
EXTRA_CLEANUP=
for s in swap mount http; do echo "# $s: $(cat "$T/$s.out")"; done
count() { sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$T/$1.out"; }

ok "the swapper exchanged d and the symlink many times" test "$(count swap ops)" -gt 1000
ok "the mount side made many operations" test "$(count mount ops)" -gt 100
ok "some of them succeeded (on nobody's own folder)" test "$(count mount ok)" -gt 0
refused=$(($(sed -n 's/.*ELOOP:\([0-9]*\).*/\1/p' "$T/mount.out") + 0))
ok "the race reached vmfs: it met a symlink on the way and refused ($refused times)" test $refused -gt 0
ok "the web side made many requests" test "$(count http ops)" -gt 20
ok "and read nobody's file in some of them" test "$(count http ok)" -gt 0
is "$(count mount leaks)" 0 "through the mount: no secret content and no root-only name came back"
is "$(count http leaks)" 0 "over HTTP: no secret content and no root-only name came back"
AFTER=$(snapshot)
is "$AFTER" "$BEFORE" "the root-only directory is unchanged: no file made, deleted, written or chmodded"
[ "$AFTER" = "$BEFORE" ] || diff <(echo "$BEFORE") <(echo "$AFTER") | sed 's/^/#   /'
ok "the symlink still points outside, untouched" test "$(readlink "$T/images/u/evil")" = "$X"
# (the kernel keeps what it looked up for a second: d's last inode may be the symlink's)
ok "after it all, d/secret.txt is nobody's own file again" \
	wait_for 3 sh -c "[ \"\$(setpriv --reuid=65534 --regid=65534 --clear-groups cat $I/u/d/secret.txt)\" = mine ]"
ok "d is nobody's folder again" test -d "$T/images/u/d" -a ! -L "$T/images/u/d"

# a container's root filesystem is found the same way: vmfs-shim (host root) opens it
# beneath the store with no symlink followed, never by its path
C=$M/ns/default/containers
mkdir "$C/good" "$C/swap"
EXTRA_CLEANUP='echo "kill all" >"$M/ns/default/ctl" 2>/dev/null; kill_ours'
is "$(errno_of "$C/good/ctl" start)" "" "a container on images/busybox starts (its root found beneath the store)"
echo u/evil >"$C/swap/config/filesystem"
is "$(errno_of "$C/swap/ctl" start)" "EIO" "a container whose images/ root filesystem is a symlink does not start"
like "$(tail -3 "$C/swap/log")" "rootfs images/u/evil: Too many levels of symbolic links \(a symlink on the way" \
	"the log says why"
is "$(snapshot)" "$BEFORE" "the root-only directory is still unchanged"
echo "kill all" >"$M/ns/default/ctl"
done_testing
