#!/usr/bin/env bash
# QEMU runs as the host user vmfs (issue 14): its uids and gids, no capabilities, its seccomp
# filter; it can open no host file by name (not /etc/shadow, not images/), it makes files
# only in run/qemu, and a link it plants there is not followed by vmfs (root). Without the
# user, VMs are refused with the reason; VMFS_QEMU_USER=root is said to be unsafe.
. "$(dirname "$0")/lib.sh"
need_root
id vmfs >/dev/null 2>&1 || { echo "not ok 1 - the host user vmfs exists (./setup makes it)"; exit 1; }
use_boot_image
I=$T/images
VU=$(id -u vmfs)
VG=$(id -g vmfs)
PORT=$(free_port)
U=http://127.0.0.1:$PORT
vmfs_start --images "$I" --web 127.0.0.1:$PORT || exit 1
D=$M/ns/default
V=$D/vms
EXTRA_CLEANUP='[ -e "$D/ctl" ] && echo "kill all" > "$D/ctl" 2>/dev/null; kill_ours'
field() { awk -v k="$2" '$1==k{print $2}' "$V/$1/info"; }
status() { awk -v k="$2:" '$1==k{$1=""; print substr($0,2)}' "/proc/$1/status"; }

is "$(grep '^qemu user:' "$M/host/info")" "qemu user: vmfs (uid $VU)" "host/info names QEMU's user"

mkdir "$V/u"
echo vmlinuz >"$V/u/config/kernel" && echo initrd >"$V/u/config/initrd"
ok "start" "$XWRITE" "$V/u/ctl" start
ok "it boots" wait_for 60 console_has "$V/u" "vmfs guest u is up"
qp=$(field u pid)
is "$(status "$qp" Uid)" "$VU $VU $VU $VU" "QEMU's real, effective, saved and fs uid are vmfs's"
is "$(status "$qp" Gid)" "$VG $VG $VG $VG" "and its gids"
is "$(status "$qp" Groups | tr ' ' '\n' | grep -v '^$' | sort -n | tr '\n' ' ')" \
	"$(id -G vmfs | tr ' ' '\n' | sort -n | tr '\n' ' ')" "its groups are vmfs's (kvm among them)"
for c in CapInh CapPrm CapEff CapBnd CapAmb; do
	is "$(status "$qp" $c)" "0000000000000000" "$c: no capability"
done
is "$(status "$qp" Seccomp)" "2" "Seccomp: 2 (QEMU's filter)"
is "$(status "$qp" NoNewPrivs)" "1" "NoNewPrivs: 1"

# what a guest that took QEMU over could ask of it, here through the qmp file
qmp() { # qmp JSON: one transaction; the reply, or the error the log has
	{ exec 5<>"$V/u/qmp" && printf '%s\n' "$1" >&5 && cat <&5; exec 5>&-; } 2>/dev/null
	tail -1 "$V/u/log"
}
like "$(qmp '{"execute":"blockdev-add","arguments":{"driver":"file","node-name":"s","filename":"/etc/shadow","read-only":true}}')" \
	"Permission denied" "QEMU cannot open /etc/shadow"
like "$(qmp "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"k\",\"filename\":\"$I/initrd\",\"read-only\":true}}")" \
	"Permission denied" "nor a file of images/ by its name (the store is closed to it)"

# the files: run/ is root's, run/qemu QEMU's
R=$S/ns/default/vms/u/run
is "$(stat -c '%U %a' "$R")" "root 700" "run/ is root's"
is "$(stat -c '%U:%G %a' "$R/qemu")" "vmfs:vmfs 700" "run/qemu is QEMU's user's"
is "$(stat -c %U "$R/qemu/vnc.sock")" "vmfs" "QEMU made its VNC socket there"
is "$(stat -c %U "$R/console.log") $(stat -c %U "$R/qmp.sock") $(stat -c %U "$R/qemu.pid")" "root root root" \
	"console.log, qmp.sock and qemu.pid are root's (vmfs made them, QEMU got descriptors)"
is "$(readlink "/proc/$qp/cwd")" "$R/qemu" "QEMU works in run/qemu"
ok "QEMU's user cannot make a file in run/ beside vmfs's pid and exit files" \
	sh -c "! setpriv --reuid=vmfs --regid=vmfs --init-groups touch /proc/$qp/cwd/../planted 2>/dev/null"
ok "a screenshot (dumped in run/qemu)" sh -c "head -c 8 '$V/u/screenshot.png' | grep -aq PNG"
ok "nothing left there" test ! -e "$R/qemu/screen.ppm"

# a QEMU that swaps its VNC socket for a link to a root daemon's socket
python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); s.settimeout(8)
try:
    s.accept(); open(sys.argv[2], 'w').write('connected')
except socket.timeout:
    pass" "$T/trap.sock" "$T/trapped" &
trap_pid=$!
wait_for 5 test -S "$T/trap.sock"
mv "$R/qemu/vnc.sock" "$R/qemu/vnc.real"
ln -s "$T/trap.sock" "$R/qemu/vnc.sock"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Upgrade: websocket' -H 'Connection: Upgrade' \
	-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Version: 13' \
	"$U/ns/default/vms/u/vnc")
isnt_101() { [ "$code" != 101 ]; }
ok "the web door's VNC does not go through a link QEMU planted (HTTP $code)" isnt_101
kill "$trap_pid" 2>/dev/null
wait "$trap_pid" 2>/dev/null
ok "the socket the link named got no connection" test ! -e "$T/trapped"
rm -f "$R/qemu/vnc.sock"
mv "$R/qemu/vnc.real" "$R/qemu/vnc.sock"
ok "kill" "$XWRITE" "$V/u/ctl" kill

# a QEMU that plants links as it starts (a wrapper, run as QEMU is: the user vmfs, in run/qemu)
cat >"$T/plantingqemu" <<'SH'
#!/bin/sh
ln -sf /etc/shadow ../qemu.pid 2>/dev/null && touch planted
ln -sf /etc/shadow ../console.log 2>/dev/null && touch planted
ln -s /etc/shadow screen.ppm
exec qemu-system-x86_64 "$@"
SH
chmod 755 "$T/plantingqemu"
chmod 711 "$T" # the wrapper must be reachable by the user vmfs (state/ stays 0700)
mkdir "$V/p"
echo vmlinuz >"$V/p/config/kernel" && echo initrd >"$V/p/config/initrd"
echo "$T/plantingqemu" >"$V/p/config/qemu"
ok "a QEMU that plants links starts" "$XWRITE" "$V/p/ctl" start
PR=$S/ns/default/vms/p/run
ok "it could not replace qemu.pid or console.log in run/" test ! -e "$PR/qemu/planted"
ok "qemu.pid is still a file vmfs made" test -f "$PR/qemu.pid" -a ! -L "$PR/qemu.pid"
ok "console.log too" test -f "$PR/console.log" -a ! -L "$PR/console.log"
ok "its link in run/qemu is there" test -L "$PR/qemu/screen.ppm"
# The dump that meets the link is refused and the link goes; the size a lookup asks for makes
# that first dump, so the read after it may be QEMU's own screen: never what the link named.
cat "$V/p/screenshot.png" >"$T/p.png" 2>/dev/null
ok "a screenshot never gives what the link names (nothing, or a PNG of the screen)" \
	sh -c "! cmp -s '$T/p.png' /etc/shadow && { [ ! -s '$T/p.png' ] || '$ROOT/tests/tools/pnginfo' '$T/p.png' >/dev/null; }"
ok "no link is left in run/qemu" test ! -L "$PR/qemu/screen.ppm"
like "$(tail -1 "$V/p/log")" "screenshot of p: .*(Permission denied|Too many levels of symbolic links)" \
	"the log says why"
ok "kill it" "$XWRITE" "$V/p/ctl" kill

# every file QEMU uses, given open: a disk over a base, a CD-ROM, a kernel only root can read
cp "$I/vmlinuz" "$I/closed-vmlinuz"
chmod 600 "$I/closed-vmlinuz"
qemu-img create -q -f qcow2 "$I/base.qcow2" 16M
qemu-img create -q -f qcow2 -F qcow2 -b base.qcow2 "$I/top.qcow2"
truncate -s 1M "$I/cd.iso"
mkdir "$V/c"
echo closed-vmlinuz >"$V/c/config/kernel" && echo initrd >"$V/c/config/initrd"
echo top.qcow2 >"$V/c/config/disk" && echo cd.iso >"$V/c/config/cdrom"
ok "a VM with a disk chain, a CD-ROM and a 0600 kernel starts" "$XWRITE" "$V/c/ctl" start
ok "it boots" wait_for 60 console_has "$V/c" "vmfs guest c is up"
cp_=$(field c pid)
fds=$(for f in /proc/$cp_/fd/*; do readlink "$f"; done | sort -u)
for f in "$I/top.qcow2" "$I/base.qcow2" "$I/cd.iso" "$S/ns/default/vms/c/disk0.qcow2"; do
	ok "QEMU holds ${f#"$T"/} open (given by vmfs)" grep -qxF "$f" <<<"$fds"
done
ok "the 0600 kernel as a copy in memory (QEMU's user could not read the file)" grep -q '^/memfd:vmfs-boot' <<<"$fds"
ok "kill it" "$XWRITE" "$V/c/ctl" kill
# a base QEMU only reads, but could reopen for writing through /proc/self/fd/N
chmod 666 "$I/base.qcow2"
is "$(errno_of "$V/c/ctl" start)" "EPERM" "a base image others may write is refused"
like "$(tail -1 "$V/c/log")" "base.qcow2 \(mode 0666, owner 0:0\) is writable by QEMU's user" "saying why"
chown vmfs "$I/base.qcow2"
chmod 644 "$I/base.qcow2"
is "$(errno_of "$V/c/ctl" start)" "EPERM" "one QEMU's user owns too"
chown root:kvm "$I/base.qcow2"
chmod 664 "$I/base.qcow2"
is "$(errno_of "$V/c/ctl" start)" "EPERM" "one group kvm may write (QEMU's user is in it) too"
like "$(tail -1 "$V/c/log")" "base.qcow2 \(mode 0664, owner 0:$(getent group kvm | cut -d: -f3)\) is writable by QEMU's user" "saying why"
chown root:root "$I/base.qcow2"
# qemu-img reads a qcow2's header as QEMU's user: one only root may read is refused, in words
chmod 600 "$I/base.qcow2"
is "$(errno_of "$V/c/ctl" start)" "EACCES" "a qcow2 base QEMU's user may not read is refused"
like "$(tail -1 "$V/c/log")" "base.qcow2 \(mode 0600, owner 0:0\) is not readable by QEMU's user, as which qemu-img reads it" "saying why"
chmod 644 "$I/base.qcow2"
chown root "$I/base.qcow2"
chmod 644 "$I/base.qcow2"
# what QEMU's user cannot read is copied into memory at each start: 512 MiB at most
truncate -s 600M "$I/huge-initrd"
chmod 600 "$I/huge-initrd"
echo huge-initrd >"$V/c/config/initrd"
is "$(errno_of "$V/c/ctl" start)" "File too large" "a 600 MiB initrd only root can read is refused"
like "$(tail -1 "$V/c/log")" "config/initrd: refused: QEMU's user cannot read it, and with the kernel it is more than the 512 MiB vmfs copies into memory" \
	"the log says why"
ok "no QEMU ran" test -z "$(field c pid | grep -v '^-$')"
like "$(cat "$M/host/info")" "^qemu user: " "vmfs still answers"
# nothing that could block the copy: a FIFO, a device
mkfifo -m 600 "$I/fifo-initrd"
mknod -m 600 "$I/zero-initrd" c 1 5
for f in fifo-initrd zero-initrd; do
	echo "$f" >"$V/c/config/initrd"
	is "$(timeout 10 "$XWRITE" "$V/c/ctl" start)" "EINVAL" "an initrd that is $(stat -c %F "$I/$f") is refused at once"
	like "$(tail -1 "$V/c/log")" "config/initrd: .*$f is a (FIFO|character device), not a file: refused" "... the log says why"
done
like "$(cat "$M/host/info")" "^qemu user: " "vmfs still answers"
vmfs_stop

# no such user: VMs are refused, with the reason
VMFS_QEMU_USER=vmfs-no-such-user vmfs_start --images "$I" || exit 1
like "$(grep '^qemu user:' "$M/host/info")" "^qemu user: none \(no host user vmfs-no-such-user: run ./setup" \
	"host/info: no QEMU user, and why"
is "$(errno_of "$V/u/ctl" start)" "EPERM" "a start is refused"
like "$(cat "$V/u/log")" "QEMU's user: no host user vmfs-no-such-user" "the VM's log says why"
is "$(cat "$V/u/state")" "ERROR" "state ERROR"
ok "no QEMU ran" test -z "$(field u pid | grep -v '^-$')"
vmfs_stop

# the opt-out, said to be unsafe
VMFS_QEMU_USER=root vmfs_start --images "$I" || exit 1
like "$(grep '^qemu user:' "$M/host/info")" "^qemu user: root \(VMFS_QEMU_USER=root: unsafe" "host/info: root, unsafe"
ok "a commit works as before (qemu-img as root too)" "$XWRITE" "$V/c/ctl" "commit asroot.qcow2"
is "$(qemu-img info -f qcow2 "$I/asroot.qcow2" | sed -n 's/^virtual size: .*(\([0-9]*\) bytes)$/\1/p')" "16777216" "its image is the disk's size"
vmfs_stop
done_testing
