#!/usr/bin/env bash
# What a running VM shows besides its console, under TCG: screenshot.png and thumbnail.png
# (decoded with libpng), vnc (a real RFB server on a port asked for, and its socket), the qmp
# transaction file (state follows what QEMU reports, whoever stopped the guest), info and
# top figures from QEMU, and the clear errors of a VM without a display.
. "$(dirname "$0")/lib.sh"
PNGINFO=$ROOT/tests/tools/pnginfo
use_boot_image
vmfs_start --images "$T/images" || exit 1
D=$M/ns/default
V=$D/vms
EXTRA_CLEANUP='[ -e "$D/ctl" ] && echo "kill all" > "$D/ctl" 2>/dev/null; kill_ours'

field() { awk -v k="$2" '$1==k{$1=""; print substr($0,2)}' "$V/$1/info"; }
qmp() { # qmp VM JSON: one transaction, prints the reply
	exec 5<>"$V/$1/qmp" || return 1
	printf '%s\n' "$2" >&5
	cat <&5
	exec 5>&-
}

mkdir "$V/s1"
echo 200 >"$V/s1/config/thumbnail"
echo 2 >"$V/s1/config/serial"
echo 127.0.0.1 >"$V/s1/config/vnc-listen" # a TCP port besides the socket
is "$(errno_of "$V/s1/screenshot.png" x)" "EACCES" "screenshot.png is read-only"
ok "no screenshot before start" sh -c "! cat '$V/s1/screenshot.png'"
like "$(cat "$V/s1/log")" "screenshot.png: no screen: s1 is not running" "the log says why"
ok "start" "$XWRITE" "$V/s1/ctl" start
ok "the banner appears on the console" wait_for 60 console_has "$V/s1" "vmfs guest s1 is up"

# a second serial port: a socket and a log in the run directory
ok "a shell prompt" wait_for 30 console_has "$V/s1" "s1:/#"
printf 'echo second-$((1+1)) > /dev/ttyS1\n' >"$V/s1/console"
ok "the guest's ttyS1 is run/serial1.log (config/serial 2)" wait_for 10 grep -aq second-2 "$S/ns/default/vms/s1/run/serial1.log"
ok "with its socket beside it" test -S "$S/ns/default/vms/s1/run/serial1.sock"

# the screen: the banner is on the VGA text screen too
cat "$V/s1/screenshot.png" >"$T/shot.png"
read -r w h colours < <("$PNGINFO" "$T/shot.png")
is "$w x $h" "720 x 400" "screenshot.png decodes as a 720x400 PNG (the VGA text screen)"
ok "the screen is not one colour" test "${colours:-0}" -gt 1
cat "$V/s1/thumbnail.png" >"$T/thumb.png"
read -r tw th _ < <("$PNGINFO" "$T/thumb.png")
is "$tw x $th" "200 x 111" "thumbnail.png is scaled to config/thumbnail (200), aspect kept"
ok "pause" "$XWRITE" "$V/s1/ctl" pause
ok "a paused VM still has a screen" sh -c "cat '$V/s1/screenshot.png' > '$T/p.png' && '$PNGINFO' '$T/p.png'"
ok "resume" "$XWRITE" "$V/s1/ctl" resume

# VNC: a real RFB server on the port vnc names (its password and socket beside it)
vnc=$(head -1 "$V/s1/vnc")
like "$vnc" '^127\.0\.0\.1:[0-9]+$' "vnc is host:port on localhost"
port=${vnc##*:}
rfb=$(timeout 3 bash -c "exec 5<>/dev/tcp/127.0.0.1/$port; head -c 11 <&5")
is "$rfb" "RFB 003.008" "the port answers as a VNC server"
like "$(field s1 vnc_socket)" "/run/qemu/vnc.sock$" "info: the VNC socket in QEMU's directory of the run directory"

# qmp: a transaction file
like "$(cat "$V/s1/qmp")" "one QMP command per line" "reading qmp first says what it takes"
like "$(qmp s1 '{"execute":"query-status"}')" '"status": ?"running"' "query-status through the qmp file"
qmp s1 '{"execute":"stop"}' >/dev/null
ok "a guest stopped through QMP shows PAUSED (state follows QEMU's events)" wait_for 5 grep -qx PAUSED "$V/s1/state"
qmp s1 '{"execute":"cont"}' >/dev/null
ok "and RUNNING after cont through QMP" wait_for 5 grep -qx RUNNING "$V/s1/state"
is "$(errno_of "$V/s1/qmp" 'not json')" "EINVAL" "a line that is not a QMP command is refused"
like "$(tail -1 "$V/s1/log")" "not a QMP command" "the log says why"
like "$(qmp s1 '{"execute":"no-such-command"}' 2>&1)" "CommandNotFound" "QEMU's own error comes back"

# info and top: what QEMU reports
is "$(field s1 status)" "running" "info: status from QEMU"
like "$(field s1 accel)" "^(tcg|kvm)$" "info: the accelerator QEMU uses"
is "$(field s1 vnc)" "$vnc" "info: vnc"
like "$(field s1 rss)" "^[1-9][0-9]*K$" "info: QEMU's rss"
printf 'echo lastline-$((40+2)); sleep 600\n' >"$V/s1/console" # no prompt after it
ok "info: console_last is the last line the guest printed" wait_for 10 sh -c "grep -qx 'console_last lastline-42' '$V/s1/info'"
ok "top: cpu% sampled in the background" wait_for 5 sh -c "awk '\$1==\"cpu%\" && \$2>0' '$V/s1/top' | grep -q ."
like "$(cat "$V/s1/top")" "guest_cpu% " "top: guest cpu"
like "$(cat "$D/top")" "s1	kvm	RUNNING" "the namespace top has its row"

# no display: a clear error, not an empty file
mkdir "$V/s2"
echo microvm >"$V/s2/config/machine"
ok "start a microvm VM" "$XWRITE" "$V/s2/ctl" start
like "$(cat "$V/s2/screenshot.png" 2>&1 >/dev/null)" "No such device" "screenshot.png of a VM without a display: ENODEV"
like "$(cat "$V/s2/log")" "screenshot.png: s2 has no display: machine microvm" "the log says why"
ok "and no vnc" sh -c "! cat '$V/s2/vnc'"
mkdir "$V/s3"
echo none >"$V/s3/config/vga"
ok "start a VM with vga none" "$XWRITE" "$V/s3/ctl" start
ok "its thumbnail.png fails" sh -c "! cat '$V/s3/thumbnail.png'"
like "$(cat "$V/s3/log")" "s3 has no display: config/vga is none" "the log says why"

# stop and gone: nothing left
ok "kill and flush" sh -c "'$XWRITE' '$D/ctl' 'kill all' && '$XWRITE' '$D/ctl' 'flush all'"
ok "no QEMU left" wait_for 3 none_of_ours
ok "the VNC port is closed" sh -c "! timeout 1 bash -c 'exec 5<>/dev/tcp/127.0.0.1/$port' 2>/dev/null"
vmfs_stop
done_testing
