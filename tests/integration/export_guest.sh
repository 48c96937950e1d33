#!/usr/bin/env bash
# The tree through the Linux kernel's own clients: a QEMU guest (TCG, raw QEMU run by the test:
# it is the client, no guest of the vmfs under test) boots Debian's kernel (linux-image-amd64:
# the cloud kernel has no 9p) from an initrd that scripts/mkbootimg builds with the 9p and nfsv4
# modules, mounts vmfs's 9P door (v9fs, trans=tcp) and nfs-ganesha's export of the mount (NFS
# v4.1) through QEMU's user network, runs the checks below with busybox and prints what it saw
# on the serial line, which the test compares with the mount. One boot for every check.
# vmfs, ganesha and QEMU all run in the test's network namespace (nfs_lib.sh): slirp's
# 10.0.2.2 is that namespace's loopback, so the door (p9_peers = 127.0.0.1) and port 2049
# are reached on loopback and nothing listens outside.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nfs_lib.sh"
need_root
command -v qemu-system-x86_64 >/dev/null ||
	{ echo "not ok 1 - qemu-system-x86_64 is installed (./setup --deps)"; exit 1; }
G=$ROOT/build/guest
if [ ! -s "$G/initrd" ] || [ "$ROOT/scripts/mkbootimg" -nt "$G/initrd" ]; then
	MKBOOTIMG_KERNEL_PKG=linux-image-amd64 MKBOOTIMG_MODULES="virtio_pci virtio_net 9p 9pnet_fd nfsv4" \
		"$ROOT/scripts/mkbootimg" "$G" >"$T/mkbootimg.log" 2>&1 ||
		{ echo "not ok 1 - scripts/mkbootimg $G (linux-image-amd64 with 9p and nfsv4)"; sed 's/^/#   /' "$T/mkbootimg.log"; exit 1; }
fi
use_busybox_image
use_boot_image
PNGINFO=$ROOT/tests/tools/pnginfo
PORT=5640 # in the test's own network namespace: nothing else listens there
D=$M/ns/default

QEMU_PID=
qemu_stop() {
	[ -n "$QEMU_PID" ] || return 0
	kill -9 "$QEMU_PID" 2>/dev/null
	wait "$QEMU_PID" 2>/dev/null
	QEMU_PID=
}
# shellcheck disable=SC2016,SC2034 # evaluated by lib.sh's cleanup; nfs_setup puts ganesha's stop first
EXTRA_CLEANUP='qemu_stop; kill_flush_all "$D"; kill_ours'
nfs_setup || exit 1
printf '[vmfs]\np9_user = root\np9_peers = 127.0.0.1\n' >"$T/vmfs.conf"
# shellcheck disable=SC2034 # lib.sh's vmfs_start runs vmfs under it
VMFS_PREFIX=(nsenter --net="/run/netns/$NFS_NS")
vmfs_start --nfs-export --images "$T/images" --conf "$T/vmfs.conf" --9p "127.0.0.1:$PORT" || exit 1
ok "ganesha exports the mount (NFSv4, in the test's network namespace)" ganesha_start

# what the guest reads through each client: a running container's console, a paused VM's
# screen, a stopped one, a directory long enough to take several Treaddir at msize 8192
mkdir "$D/containers/c1" "$D/vms/s1" "$D/vms/off1"
ok "start a container" "$XWRITE" "$D/containers/c1/ctl" start
ok "start a VM" "$XWRITE" "$D/vms/s1/ctl" start
ok "its shell is up" wait_for 10 console_has "$D/containers/c1" "c1#"
ok "the VM runs" wait_for 20 grep -qx RUNNING "$D/vms/s1/state"
ok "pause it (a still screen, no CPU taken from the guest)" "$XWRITE" "$D/vms/s1/ctl" pause
mkdir "$M/ns/many"
for i in $(seq 150); do mkdir "$M/ns/many/vms/a-vm-with-a-long-name-for-readdir-$i" || break; done
ok "150 VMs in ns/many" test "$(ls "$M/ns/many/vms" | wc -l)" = 150

# The guest's checks: "@@ KEY VALUE" lines on the serial console. $1: the mount point, $2:
# a tag for names made. busybox sh prints a failed write as "sh: write error: REASON".
mkdir -p "$T/guestfs"
cat >"$T/guestfs/checks" <<'EOF'
#!/bin/sh
r() { echo "@@ $*"; }
up() { cut -d' ' -f1 /proc/uptime; }
checks() { # checks MOUNT TAG
	m=$1 t=$2 d=$1/ns/default
	r "$t-version $(md5sum <"$m/version" | cut -d' ' -f1)"
	r "$t-ls $(ls "$d" | tr '\n' ' ')"
	r "$t-many $(ls "$m/ns/many/vms" | wc -l)"
	r "$t-find $(cd "$m" && find ns/default | sort | md5sum | cut -d' ' -f1)"
	r "$t-ls-off $(ls "$d/vms/off1" 2>&1 | tr '\n' ' ')"
	out=$(cat "$d/vms/off1/screenshot.png" 2>&1)
	r "$t-shot-off $?${out:+ $out}"
	echo "@@< $t-shot"
	base64 "$d/vms/s1/screenshot.png"
	echo "@@> $t-shot"
	r "$t-shot-size $(stat -c %s "$d/vms/s1/screenshot.png") $(wc -c <"$d/vms/s1/screenshot.png")"
	r "$t-info-head $(head -n 1 "$d/info")"
	r "$t-info-lines $(wc -l <"$d/info")"
	r "$t-info-size $(stat -c %s "$d/info") $(wc -c <"$d/info")"
	r "$t-memory $(cat "$d/config/memory")"
	r "$t-setmem $( (echo 300M >"$d/config/memory") 2>&1)$(cat "$d/config/memory")"
	echo 256M >"$d/config/memory"
	r "$t-ls-l $(ls -l "$d/config" | grep -c ' memory$')"
	r "$t-statfs $(stat -f -c '%b %s' "$m")"
	exec 3<>"$d/ctl"
	echo "launch kvm $t" >&3
	r "$t-launch $(cat <&3 | tr '\n' ' ')"
	exec 3>&-
	r "$t-vm $(cat "$d/vms/$t/state")"
	r "$t-pause $( (echo pause >"$d/vms/$t/ctl") 2>&1)"
	r "$t-bad $( (echo frobnicate >"$d/ctl") 2>&1)"
	rmdir "$d/vms/$t" && r "$t-rmdir-vm ok"
	r "$t-gone $(cat "$d/vms/$t/state" 2>&1)"
	mkdir "$m/ns/$t" && r "$t-mkdir $(test -f "$m/ns/$t/ctl" && echo ok)"
	chmod 750 "$m/ns/$t" && r "$t-chmod $(stat -c %a "$m/ns/$t")"
	r "$t-mkdir-again $(mkdir "$m/ns/$t" 2>&1)"
	rmdir "$m/ns/$t" && r "$t-rmdir $(test -e "$m/ns/$t" || echo ok)"
	r "$t-rmdir-default $(rmdir "$d" 2>&1)"
}
mkdir -p /p9 /nfs
if mount -t 9p -o trans=tcp,port=@PORT@,version=9p2000.L,cache=none,msize=8192 10.0.2.2 /p9; then
	r "p9-mount ok"
	checks /p9 p9
	# a console read parked in the door, interrupted: the kernel sends Tflush and waits
	a=$(up)
	timeout 1 cat /p9/ns/default/containers/c1/console >/dev/null
	r "p9-console $? $a $(up)"
	umount /p9 && r "p9-umount ok"
fi
if mount -t nfs4 -o vers=4.1,noac,addr=10.0.2.2,clientaddr=10.0.2.15 10.0.2.2:/export /nfs; then
	r "nfs-mount ok"
	checks /nfs nfs
	umount /nfs && r "nfs-umount ok"
fi
r "done ok"
EOF
sed -i "s/@PORT@/$PORT/" "$T/guestfs/checks"
chmod 755 "$T/guestfs/checks"
cpio=(cpio)
command -v cpio >/dev/null || cpio=(busybox cpio)
(cd "$T/guestfs" && echo checks | "${cpio[@]}" -o -H newc -R 0:0 2>/dev/null) | gzip -n >"$T/checks.gz"
cat "$G/initrd" "$T/checks.gz" >"$T/initrd"

# the guest: QEMU's user network in the namespace, powered off by the checks' end
start=$SECONDS
nsenter --net="/run/netns/$NFS_NS" qemu-system-x86_64 -M q35 -accel tcg -m 256 -smp 1 \
	-nodefaults -no-reboot -display none -serial "file:$T/serial.log" \
	-kernel "$G/vmlinuz" -initrd "$T/initrd" \
	-append "console=ttyS0 tsc_early_khz=2600000 panic=-1 vmfs.name=client vmfs.ip=10.0.2.15/24 vmfs.gw=10.0.2.2 vmfs.run=/checks" \
	-netdev user,id=n0 -device virtio-net-pci,netdev=n0 >"$T/qemu.err" 2>&1 &
QEMU_PID=$!
ok "the guest runs its checks and powers off (within 100 s)" wait_for 100 gone "$QEMU_PID"
echo "# guest: $((SECONDS - start)) s"
qemu_stop
got() { sed -n "s/^@@ $1 //p" "$T/serial.log" | tr -d '\r' | head -1; }
if [ "$(got "done")" != ok ]; then
	echo "# the guest's console:"
	tail -n 30 "$T/serial.log" | sed 's/^/#   /'
fi

for t in p9 nfs; do
	case $t in
	# over NFS: --nfs-export's EPERM for EBUSY; ctl's answer is not read back (below)
	# a stopped VM's screen: the door's EBUSY; NFS reads nothing (size 0: no READ is sent)
	p9) what="v9fs (9P door, trans=tcp)" busy="Device or resource busy" answer="ok: launched 1 "
		shotoff="1 cat: read error: Device or resource busy"
		statfs=$(stat -f -c '%b %s' "$M") ;;
	nfs) what="NFS v4.1 (ganesha)" busy="Operation not permitted" answer='' statfs='^[1-9][0-9]* [1-9][0-9]*$'
		shotoff=0 ;;
	esac
	is "$(got $t-mount)" ok "$what: the guest mounts the tree"
	is "$(got $t-version)" "$(md5sum <"$M/version" | cut -d' ' -f1)" "$what: cat version equals the local read"
	is "$(got $t-ls)" "$(ls "$D" | tr '\n' ' ')" "$what: ls ns/default is what the mount lists"
	is "$(got $t-many)" 150 "$what: ls of a directory of 150 VMs lists 150"
	is "$(got $t-find)" "$(cd "$M" && find ns/default | LC_ALL=C sort | md5sum | cut -d' ' -f1)" \
		"$what: find ns/default is what the mount finds"
	is "$(got $t-ls-off)" "$(ls "$D/vms/off1" | tr '\n' ' ')" \
		"$what: ls of a stopped VM's directory (its screenshot.png cannot be read)"
	is "$(got $t-shot-off)" "$shotoff" "$what: cat of a stopped VM's screenshot.png: '$shotoff'"
	sed -n "/^@@< $t-shot/,/^@@> $t-shot/p" "$T/serial.log" | tr -d '\r' | sed '1d;$d' |
		base64 -d >"$T/$t-shot.png" 2>/dev/null
	read -r w h _ < <("$PNGINFO" "$T/$t-shot.png" 2>/dev/null)
	like "${w:-0}x${h:-0}" "^[1-9][0-9]*x[1-9][0-9]*$" "$what: cat screenshot.png is a valid PNG (${w:-?}x${h:-?})"
	like "$(got $t-shot-size)" '^([0-9]+) \1$' "$what: stat -c %s screenshot.png is what cat reads"
	is "$(got $t-info-head)" "$(head -n 1 "$D/info")" "$what: cat info: its first line is the local one"
	is "$(got $t-info-lines)" "$(wc -l <"$D/info")" "$what: cat info: as many lines as the local read"
	like "$(got $t-info-size)" '^([0-9]+) \1$' "$what: stat -c %s info is what cat reads"
	is "$(got $t-memory)" "$(cat "$D/config/memory")" "$what: a config value"
	is "$(got $t-setmem)" 300M "$what: echo 300M > config/memory (O_TRUNC, then a write)"
	is "$(got $t-ls-l)" 1 "$what: ls -l config"
	like "$(got $t-statfs)" "$statfs" "$what: statfs (stat -f)"
	# The Linux NFS client reads no further than the size, and ctl's is 0: the answer is
	# never asked for (docs/export.md). v9fs with cache=none reads what the server gives.
	is "$(got $t-launch)" "$answer" "$what: exec 3<>ctl; echo launch >&3; cat <&3 reads: '$answer'"
	like "$(got $t-vm)" '^[A-Z]+$' "$what: the launch took effect: the VM it made has a state"
	is "$(got $t-pause)" "sh: write error: $busy" "$what: a refused pause, as the shell prints it"
	is "$(got $t-bad)" "sh: write error: Invalid argument" "$what: an unknown command: EINVAL"
	is "$(got $t-rmdir-vm)" ok "$what: rmdir of the VM"
	is "$(got $t-gone)" "cat: can't open '/$t/ns/default/vms/$t/state': No such file or directory" "$what: its files are gone"
	is "$(got $t-mkdir)" ok "$what: mkdir ns/$t makes a namespace"
	is "$(got $t-chmod)" 750 "$what: chmod 750 of the namespace"
	is "$(got $t-mkdir-again)" "mkdir: can't create directory '/$t/ns/$t': File exists" "$what: a second mkdir: EEXIST"
	is "$(got $t-rmdir)" ok "$what: rmdir removes it"
	is "$(got $t-rmdir-default)" "rmdir: '/$t/ns/default': $busy" "$what: rmdir ns/default: EBUSY"
	is "$(got $t-umount)" ok "$what: umount"
done
read -r st a b <<<"$(got p9-console)"
is "${st:-}" 143 "v9fs: timeout 1 cat console: the parked read is ended by the signal"
ok "v9fs: within 2.5 s of its start (Tflush answered at once)" \
	awk -v a="${a:-0}" -v b="${b:-99}" 'BEGIN{exit !(b - a < 2.5)}'
echo "# console read: $(awk -v a="${a:-0}" -v b="${b:-0}" 'BEGIN{print b - a}') s"
ok "the door refused no connection" sh -c "! grep -q 'error: 9p' '$M/host/log'"
is "$(got "done")" ok "the guest's checks ran to their end"
done_testing
