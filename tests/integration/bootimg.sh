#!/usr/bin/env bash
# scripts/mkbootimg: the default VM boot image (Debian's cloud kernel, a busybox initrd).
# Builds it into a temp dir (checks the files, that a rebuild is byte-identical and fetches
# nothing), then boots it under QEMU with TCG (no KVM needed), as machine pc and as machine
# microvm: waits for the banner on the serial console (and reports how long the boot took),
# types commands on the serial line, checks the VGA screen through QMP (screendump: not one
# colour; the text memory: the banner is on it) and that poweroff in the guest, or an ACPI
# power-down (the power button), ends QEMU.
# Needs root only to install qemu-system-x86 when it is missing. Mounts no vmfs.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
trap 'exit 143' TERM INT HUP

MKBOOTIMG=$ROOT/scripts/mkbootimg
D=$T/boot
QEMU=qemu-system-x86_64
BOOT_TIMEOUT=${BOOT_TIMEOUT:-150} # seconds to the banner (TCG on a slow, busy machine)

[ "$(uname -m)" = x86_64 ] || skip_all "the boot image is for x86_64 (this is $(uname -m))"
if [ -z "${KERNEL_DEB:-}" ] && ! command -v apt-get >/dev/null; then
	skip_all "no apt-get to fetch the kernel (and no KERNEL_DEB)"
fi
if ! command -v "$QEMU" >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "# installing qemu-system-x86"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			-o DPkg::Lock::Timeout=120 qemu-system-x86 >"$T/apt.log" 2>&1 ||
			{ apt-get -qq update >>"$T/apt.log" 2>&1 &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
					-o DPkg::Lock::Timeout=120 qemu-system-x86 >>"$T/apt.log" 2>&1; } ||
			sed 's/^/#   /' "$T/apt.log" | tail -5
	fi
	command -v "$QEMU" >/dev/null || skip_all "no $QEMU (apt-get install qemu-system-x86)"
fi
command -v perl >/dev/null || skip_all "no perl (for the QMP and serial clients)"

# --- build
start=$(date +%s%N)
out=$("$MKBOOTIMG" "$D" 2>&1)
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
is "$rc" 0 "mkbootimg exits 0"
[ $rc = 0 ] || { printf '#   %s\n' "$out"; done_testing; exit 1; }
printf '%s\n' "$out" | sed 's/^/# /'
echo "# built in $ms ms"
like "$out" "mkbootimg: built $D: kernel [0-9.]+-[0-9]+-cloud-amd64 \(linux-image-[^ ]+-cloud-amd64 [^ ]+\), vmlinuz [0-9.]+M, initrd [0-9.]+[KM] " \
	"it says what it built: kernel version and sizes"
kver=$(printf '%s' "$out" | sed -n 's/.* kernel \([^ ]*-cloud-amd64\) .*/\1/p' | head -1)
ok "vmlinuz is a bzImage" sh -c "[ \"\$(dd if='$D/vmlinuz' bs=1 skip=514 count=4 2>/dev/null)\" = HdrS ]"
ok "initrd is gzip" sh -c "[ \"\$(head -c 2 '$D/initrd' | od -An -tx1 | tr -d ' ')\" = 1f8b ]"
list=$(gzip -dc "$D/initrd" | busybox cpio -t 2>/dev/null || gzip -dc "$D/initrd" | cpio -t 2>/dev/null)
for f in init bin/busybox bin/sh bin/poweroff bin/setsid sbin "lib/modules/$kver/modules.dep" \
	"lib/modules/$kver/kernel/drivers/net/virtio_net.ko" "lib/modules/$kver/kernel/drivers/virtio/virtio_pci.ko" \
	"lib/modules/$kver/kernel/drivers/virtio/virtio_mmio.ko"; do
	ok "the initrd has $f" grep -qx "$f" <<<"$list"
done
# the newc header of the last entry but the trailer: mode, rdev major and minor, name
hdr=$(gzip -dc "$D/initrd" | tail -c 248 | head -c 121)
is "${hdr:0:6} ${hdr:14:8} ${hdr:78:8} ${hdr:86:8} ${hdr:110:11}" "070701 00002180 00000005 00000001 dev/console" \
	"the initrd ends with a /dev/console node (c 5,1)"
mkdir -p "$T/x"
(cd "$T/x" && gzip -dc "$D/initrd" | busybox cpio -id 2>/dev/null)
ok "init parses (busybox sh -n)" busybox sh -n "$T/x/init"
ok "the .debs are cached" sh -c "ls '$D'/.cache/linux-image-cloud-amd64_*.deb '$D'/.cache/linux-image-$kver*_*.deb"
sum=$(sha256sum "$D/vmlinuz" "$D/initrd" | cut -d' ' -f1)
ino=$(stat -c %i "$D/initrd")
start=$(date +%s%N)
out2=$("$MKBOOTIMG" "$D" 2>&1)
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
is "$rc" 0 "a rebuild exits 0"
echo "# rebuilt in $ms ms"
unlike_dl=$(printf '%s\n' "$out2" | grep -c 'downloaded')
is "$unlike_dl" 0 "the rebuild downloads nothing (the cache)"
like "$out2" "; unchanged$" "the rebuild says nothing changed"
is "$(sha256sum "$D/vmlinuz" "$D/initrd" | cut -d' ' -f1)" "$sum" "the rebuild is byte-identical"
is "$(stat -c %i "$D/initrd")" "$ino" "an unchanged initrd is left in place"
is "$(find "$D" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort | tr '\n' ' ')" ".cache initrd vmlinuz " \
	"nothing else is left in DEST_DIR"
ok "no arguments is a usage error" sh -c "! '$MKBOOTIMG' 2>/dev/null"

# --- booting: QEMU (TCG), its serial line on a unix socket that a relay keeps connected for
# the whole run (it appends what the guest prints to NAME.log and types what is written to
# the FIFO NAME.in), QMP on another unix socket.
cat >"$T/relay.pl" <<'EOF'
use strict; use warnings; use IO::Socket::UNIX; use IO::Select;
my ($path, $fifo, $log, $limit) = @ARGV;
my $end = time + $limit;
my $s;
until ($s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path)) {
	die "relay: cannot connect to $path: $!\n" if time > $end;
	select(undef, undef, undef, 0.05);
}
open(my $in, '+<', $fifo) or die "relay: $fifo: $!\n";
open(my $out, '>>', $log) or die "relay: $log: $!\n";
my $sel = IO::Select->new($s, $in);
while (time < $end) {
	for my $fh ($sel->can_read(0.5)) {
		my $n = sysread($fh, my $buf, 4096);
		if ($fh == $s) {
			exit 0 unless $n;    # QEMU closed the serial line (it exited)
			syswrite($out, $buf);
		} elsif ($n) {
			syswrite($s, $buf);
		}
	}
}
EOF
cat >"$T/qmp.pl" <<'EOF'
# qmp.pl SOCKET JSON...: qmp_capabilities, then each command; prints each reply, fails on error
use strict; use warnings; use IO::Socket::UNIX;
my ($path, @cmds) = @ARGV;
$SIG{ALRM} = sub { die "qmp: timeout\n" };
alarm 30;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path) or die "qmp: $path: $!\n";
$s->autoflush(1);
my $greeting = <$s>;
die "qmp: no greeting\n" unless defined $greeting && $greeting =~ /"QMP"/;
for my $c ('{"execute":"qmp_capabilities"}', @cmds) {
	print $s "$c\n";
	while (my $l = <$s>) {
		next if $l =~ /^\{"event"/;
		print $l;
		die "qmp: $c failed\n" unless $l =~ /^\{"return"/;
		last;
	}
}
EOF
QPIDS=
RPIDS=
# shellcheck disable=SC2016,SC2034 # run by lib.sh's cleanup
# (QPIDS are timeout(1)s: TERM is passed on to their QEMU, and KILL follows 5 s later)
EXTRA_CLEANUP='for p in $QPIDS $RPIDS; do kill -TERM "$p" 2>/dev/null; done; for p in $QPIDS; do wait "$p" 2>/dev/null; done'

boot() { # boot NAME APPEND QEMU-ARGS...: starts QEMU; sets QPID, START
	local name=$1 append=$2
	shift 2
	rm -f "$T/$name.log" "$T/$name.in" "$T/$name.ser" "$T/$name.qmp"
	: >"$T/$name.log"
	mkfifo "$T/$name.in"
	QEMU_ARGS=(-accel tcg -m 128 -nodefaults -no-user-config -display none -no-reboot
		-kernel "$D/vmlinuz" -initrd "$D/initrd" -append "$append"
		-chardev "socket,id=ser0,path=$T/$name.ser,server=on,wait=on" -serial chardev:ser0
		-qmp "unix:$T/$name.qmp,server=on,wait=off" "$@")
	local a line=$QEMU
	for a in "${QEMU_ARGS[@]}"; do
		case $a in *[[:space:]]*) line+=" '$a'" ;; *) line+=" $a" ;; esac
	done
	echo "# $line"
	START=$(date +%s%N)
	# bounded even if this script is killed: timeout ends QEMU after 5 minutes
	timeout -k 5 300 "$QEMU" "${QEMU_ARGS[@]}" </dev/null >"$T/$name.err" 2>&1 &
	QPID=$!
	QPIDS="$QPIDS $QPID"
	perl "$T/relay.pl" "$T/$name.ser" "$T/$name.in" "$T/$name.log" 320 2>>"$T/$name.err" &
	RPIDS="$RPIDS $!"
}
wait_for() { # wait_for NAME SECONDS REGEX [COUNT]: until the serial output has COUNT matching lines
	local name=$1 end=$(($(date +%s) + $2)) re=$3 count=${4:-1} n
	while :; do
		n=$(tr -d '\r' <"$T/$name.log" | grep -Eac -- "$re")
		[ "$n" -ge "$count" ] && return 0
		[ "$(date +%s)" -lt "$end" ] || return 1
		kill -0 "$QPID" 2>/dev/null || { sleep 0.2; n=$(tr -d '\r' <"$T/$name.log" | grep -Eac -- "$re"); [ "$n" -ge "$count" ]; return; }
		sleep 0.1
	done
}
type_in() { # type_in NAME TEXT: types TEXT on the serial line (no newline added)
	# shellcheck disable=SC2016 # the inner shell expands them
	timeout 5 bash -c 'printf "%s" "$1" >"$2"' _ "$2" "$T/$1.in"
}
exited() { # exited SECONDS: QEMU ($QPID) exits by itself within SECONDS, with status 0
	local _ rc
	for _ in $(seq 1 $(($1 * 10))); do
		kill -0 "$QPID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$QPID" 2>/dev/null; then
		kill -TERM "$QPID" 2>/dev/null
		wait "$QPID" 2>/dev/null
		return 1
	fi
	wait "$QPID"
	rc=$?
	[ "$rc" = 0 ] || echo "# qemu exited with $rc"
	return "$rc"
}
show_log() { # on failure: the end of the serial output and QEMU's stderr
	echo "# serial output of $1 (end):"
	tail -c 1500 "$T/$1.log" | tr -d '\r' | sed 's/^/#   /'
	echo "# qemu stderr:"
	sed 's/^/#   /' "$T/$1.err" | tail -10
}
secs() { # secs NANOSECONDS
	printf '%d.%d' $(($1 / 1000000000)) $(($1 % 1000000000 / 100000000))
}
ppm_colours() { # ppm_colours FILE: "WxH N": the size and how many pixels differ from the first
	perl -e 'local $/; open(my $f, "<", $ARGV[0]) or die; binmode $f; my $d = <$f>;
		$d =~ s/\AP6\s+(\d+)\s+(\d+)\s+255\s//s or die "not a PPM\n"; my ($w, $h) = ($1, $2);
		length($d) >= $w * $h * 3 or die "short PPM\n"; my $first = substr($d, 0, 3); my $n = 0;
		for (my $i = 3; $i < $w * $h * 3; $i += 3) { $n++ if substr($d, $i, 3) ne $first }
		print "${w}x$h $n\n"' "$1"
}
vga_text() { # vga_text FILE: the characters of a dump of VGA text memory, 80 to a line
	perl -e 'local $/; open(my $f, "<", $ARGV[0]) or die; binmode $f; my $d = <$f>;
		my $t = join "", map { substr($d, 2 * $_, 1) } 0 .. length($d) / 2 - 1;
		$t =~ s/[^\x20-\x7e]/ /g; print substr($t, 80 * $_, 80), "\n" for 0 .. int(length($t) / 80) - 1' "$1"
}

# banner LOG LABEL NAME: the boot banner on the serial console, its time (ns since START)
# in BANNER_NS for the report
banner() {
	BANNER_NS=
	if wait_for "$1" "$BOOT_TIMEOUT" "^vmfs guest $3 is up\$"; then
		BANNER_NS=$(($(date +%s%N) - START))
		echo "ok $((TAP_N += 1)) - $2: the banner 'vmfs guest $3 is up' on the serial console ($(secs $BANNER_NS) s)"
	else
		echo "not ok $((TAP_N += 1)) - $2: the banner 'vmfs guest $3 is up' on the serial console"
		TAP_FAIL=$((TAP_FAIL + 1))
		show_log "$1"
	fi
}

# --- machine pc: VGA, a virtio-net NIC (isolated: user networking with restrict=on)
boot pc 'console=ttyS0 vmfs.name=t1 vmfs.ip=10.0.2.15/24' -M pc -vga std \
	-netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0,romfile=
banner pc pc t1
pc_ns=$BANNER_NS
ok "pc: eth0 is configured before the banner" wait_for pc 1 '^vmfs-init: eth0 10\.0\.2\.15/24$'
ok "pc: a shell prompt on ttyS0" wait_for pc 20 '^t1:/# '
# shellcheck disable=SC2016 # typed into the guest
type_in pc 'echo $((6*7))'$'\n'
ok "pc: 'echo \$((6*7))' typed on the serial line prints 42" wait_for pc 20 '^42$'
# shellcheck disable=SC2016
type_in pc 'echo "pid1=$(cat /proc/1/comm) host=$(hostname)"'$'\n'
ok "pc: PID 1 is init, the host name is t1" wait_for pc 20 '^pid1=init host=t1$'
type_in pc 'ip -4 addr show dev eth0; lsmod | grep -c ^virtio_net'$'\n'
ok "pc: eth0 (virtio-net, a module from the initrd) has 10.0.2.15/24" wait_for pc 20 'inet 10\.0\.2\.15/24 .*eth0'
type_in pc 'echo sleeping; sleep 60'$'\n'
wait_for pc 20 '^sleeping$' && sleep 0.5
type_in pc $'\003'
# shellcheck disable=SC2016
type_in pc 'echo "after-int-$((1+1))"'$'\n'
ok "pc: Ctrl-C interrupts a command (the shell has the serial line as its tty)" wait_for pc 10 '^after-int-2$'
type_in pc 'exit'$'\n'
ok "pc: after 'exit', init starts a new shell" wait_for pc 20 'built-in shell \(ash\)' 2
# shellcheck disable=SC2016
type_in pc 'echo "respawned-$((40+2))"'$'\n'
ok "pc: and it runs commands" wait_for pc 20 '^respawned-42$'

# the VGA screen
ppm=$T/pc-screen.ppm
qmp_out=$(perl "$T/qmp.pl" "$T/pc.qmp" "{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"$ppm\"}}" \
	"{\"execute\":\"pmemsave\",\"arguments\":{\"val\":$((0xb8000)),\"size\":32768,\"filename\":\"$T/pc-vga.bin\"}}" 2>&1)
is "$?" 0 "pc: QMP qmp_capabilities, screendump and pmemsave answer"
[ -f "$ppm" ] || printf '#   %s\n' "$qmp_out"
colours=$(ppm_colours "$ppm" 2>&1)
like "$colours" '^[0-9]+x[0-9]+ [1-9][0-9]*$' "pc: the screendump is a PPM, not all one colour ($colours pixels differ from the first)"
if [ -f "$T/pc-vga.bin" ]; then
	screen=$(vga_text "$T/pc-vga.bin")
	like "$screen" '#   vmfs guest t1 is up   #' "pc: the banner is on the VGA text screen"
	like "$screen" '__   ___ __ ___' "pc: large, under a big 'vmfs'"
else
	is "no dump" "a dump" "pc: the VGA text memory (pmemsave)"
fi
# (poweroff -f typed in the guest: microvm below, and vms.sh)
perl "$T/qmp.pl" "$T/pc.qmp" '{"execute":"system_powerdown"}' >/dev/null 2>&1
ok "pc: an ACPI power-down (QMP system_powerdown, vmfs's stop) makes QEMU exit (status 0)" exited 10
ok "pc: the guest synced first" wait_for pc 1 'vmfs-init: power button: syncing, powering off$'
[ "$TAP_FAIL" = 0 ] || show_log pc

# --- machine microvm: no VGA, virtio-mmio; under TCG it needs tsc_early_khz to boot
boot micro 'console=ttyS0 tsc_early_khz=2600000 vmfs.name=m1 vmfs.ip=10.0.2.15/24' -M microvm \
	-netdev user,id=n0,restrict=on -device virtio-net-device,netdev=n0
banner micro microvm m1
micro_ns=$BANNER_NS
ok "microvm: a shell prompt on ttyS0" wait_for micro 20 '^m1:/# '
# shellcheck disable=SC2016
type_in micro 'echo $((6*7))'$'\n'
ok "microvm: 'echo \$((6*7))' typed on the serial line prints 42" wait_for micro 20 '^42$'
type_in micro 'ip -4 addr show dev eth0'$'\n'
ok "microvm: eth0 (virtio-net on virtio-mmio) has 10.0.2.15/24" wait_for micro 20 'inet 10\.0\.2\.15/24 .*eth0'
type_in micro 'poweroff'$'\n'
ok "microvm: 'poweroff' (through init) makes QEMU exit (status 0)" exited 60
[ "$TAP_FAIL" = 0 ] || show_log micro

pc_t=failed micro_t=failed
[ -z "${pc_ns:-}" ] || pc_t="$(secs "$pc_ns") s"
[ -z "${micro_ns:-}" ] || micro_t="$(secs "$micro_ns") s"
echo "# boot to the banner under TCG: pc $pc_t, microvm $micro_t"
done_testing
