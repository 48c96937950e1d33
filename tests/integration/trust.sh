#!/usr/bin/env bash
# Who may do what (docs/security.md, "Who may do what"): principals x host-reaching knobs,
# consoles, screens, qmp and ctl. Principals: host root through the mount; the namespace's
# owner (uid 65534, owning ns/lab, 0755); another local user (uid 4242, no passwd entry
# needed); web users with rw and ro rules on ns/lab; a web request without credentials.
# One VM is started, for the qmp allowlist on a live QEMU; every other refusal comes before
# anything runs.
. "$(dirname "$0")/lib.sh"
need_root
command -v setpriv >/dev/null || skip_all "needs setpriv (util-linux)"
command -v curl >/dev/null || { echo "not ok 1 - curl is installed (./setup --deps)"; exit 1; }
export LC_ALL=C
umask 022
chmod 755 "$T" # mktemp made it 0700: the other users could not reach the mount point
install -m 0755 "$XWRITE" "$T/xwrite" # a checkout may lie where only root may enter
NXWRITE=$T/xwrite
PASSWD=$ROOT/vmfs/vmfs-passwd
F=$T/web.passwd

owner() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
other() { setpriv --reuid=4242 --regid=4242 --clear-groups "$@"; }
mkuser() { echo "$2" | "$PASSWD" -c 4 "$F" "$1" "${@:3}" >/dev/null; } # USER PASS ro|rw PATH
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
body() { cat "$T/body"; }
mkuser labrw rwpw rw /ns/lab/
mkuser labro ropw ro /ns/lab/
mkuser all allpw rw /
mkuser boss bosspw admin /ns/lab/containers/
chmod 0600 "$F"

use_boot_image # vmlinuz and initrd, for the one VM the qmp checks start
mkdir -p "$T/rootfs"
: >"$T/images/k"
printf '#!/bin/sh\nid -u >/tmp/owned\n' >"$T/pre.sh"
web_vmfs_start -o allow_other --images "$T/images" --web-passwd "$F" || exit 1

mkdir "$M/ns/lab" && chown 65534:65534 "$M/ns/lab"
L=$M/ns/lab
ok "the owner makes its container" owner mkdir "$L/containers/c"
ok "the owner makes its VM" owner mkdir "$L/vms/v"
mkdir "$M/ns/default/containers/d"
is "$(errno_of "$M/ns/default/containers/d/config/net" LAN1)" "" \
	"root: ns/default's d on LAN1 (VLAN $(cat "$M/ns/default/vlans/LAN1"))"
lan1=$(cat "$M/ns/default/vlans/LAN1")

# --- every host-reaching knob, by every principal: KNOB OBJ PARAM VALUE [WORDS]
knob() {
	local obj=$1 p=$2 val=$3 words=${4:-only host root may set it} f="$L/$1/config/$2"
	local before; before=$(cat "$f")
	is "$(other "$NXWRITE" "$f" "$val")" "EACCES" "$obj $p=$val: another local user: EACCES (mode)"
	is "$(owner "$NXWRITE" "$f" "$val")" "EPERM" "... the namespace's owner: EPERM"
	like "$(tail -1 "$L/$obj/log")" "error: config/$p: $words" "... and the log says why"
	is "$(code -u labrw:rwpw -X PUT --data-binary "$val" "$U/ns/lab/$obj/config/$p")" 403 \
		"... web rw on ns/lab: 403"
	like "$(body)" "^error: config/$p: only host root may set it, through the mount .or a web user whose rule is admin" \
		"... saying why"
	like "$(tail -1 "$L/$obj/log")" "error: config/$p: $words" "... in the object's log too"
	is "$(code -u all:allpw -X PUT --data-binary "$val" "$U/ns/lab/$obj/config/$p")" 403 \
		"... web rw on /: 403 (rw is not admin)"
	is "$(code -u labro:ropw -X PUT --data-binary "$val" "$U/ns/lab/$obj/config/$p")" 403 \
		"... web ro: 403"
	like "$(tail -1 "$M/host/log")" "PUT /ns/lab/$obj/config/$p from 127.0.0.1 as labro: refused: labro may only read" \
		"... host/log says why"
	is "$(code -X PUT --data-binary "$val" "$U/ns/lab/$obj/config/$p")" 401 "... no credentials: 401"
	like "$(tail -1 "$M/host/log")" "PUT /ns/lab/$obj/config/$p from 127.0.0.1: refused: " "... host/log says so"
	is "$(cat "$f")" "$before" "... and nothing changed"
	if [ "${obj%%/*}" = containers ]; then
		is "$(code -u boss:bosspw -X PUT --data-binary "$val" "$U/ns/lab/$obj/config/$p")" 200 \
			"... web admin on ns/lab/containers/ sets it (200)"
		is "$(cat "$f")" "$val" "... and it is set"
		: >"$f"
	else
		is "$(code -u boss:bosspw -X PUT --data-binary "$val" "$U/ns/lab/$obj/config/$p")" 403 \
			"... web admin on ns/lab/containers/ only: 403 here"
	fi
	is "$(errno_of "$f" "$val")" "" "... host root through the mount sets it"
	is "$(cat "$f")" "$val" "... and it is set"
	: >"$f"
}
knob containers/c preinit "$T/pre.sh"
knob containers/c preinit k "only host root may set it.*preinit reaches the host"
knob containers/c volume "/etc:/hostetc"
knob containers/c privileged true
knob containers/c snapshot false "only host root may set it.*false writes into the image itself"
knob vms/v snapshot no
knob containers/c filesystem "$T/rootfs" "only host root may set it.*absolute path"
knob containers/c net "br0,LAN1" "only host root may set it.*names the bridge br0"
knob containers/c net "$lan1" "only host root may set it.*VLAN $lan1 is not one of namespace lab's"
knob vms/v kernel /etc/hostname
knob vms/v initrd /etc/hostname
knob vms/v cdrom /etc/hostname
knob vms/v disk "/etc/hostname,virtio"
knob vms/v disk "k /etc/hostname"
knob vms/v qemu /bin/true
knob vms/v qemu-append "-monitor stdio"
knob vms/v vnc-listen 0.0.0.0
knob vms/v machine "pc,dumpdtb=/tmp/x"

# --- the same knobs are ordinary inside the namespace's own reach
is "$(owner "$NXWRITE" "$L/vms/v/config/kernel" k)" "" "control: the owner's kernel from images/ (k)"
is "$(owner "$NXWRITE" "$L/vms/v/config/machine" q35)" "" "control: a bare machine type"
is "$(owner "$NXWRITE" "$L/containers/c/config/privileged" false)" "" "control: privileged=false"
is "$(owner "$NXWRITE" "$L/containers/c/config/snapshot" yes)" "" "control: snapshot=yes (the default, spelled otherwise)"
is "$(owner "$NXWRITE" "$L/containers/c/config/net" LAN1)" "" "control: the owner's LAN1"
own=$(cat "$L/vlans/LAN1")
ok "... is a VLAN of its own ($own, not ns/default's $lan1)" test "$own" != "$lan1"
is "$(owner "$NXWRITE" "$L/containers/c/config/net" "$own")" "" "... and its number may be written"
is "$(errno_of "$M/ns/default/containers/d/config/net" "LAN1 300")" "" "root puts d on VLAN 300 by number"
is "$(owner "$NXWRITE" "$L/vlans/LAN1" 300)" "EBUSY" "the owner may not pin lab's LAN1 to it (EBUSY)"
like "$(tail -1 "$L/log")" "VLAN 300 is used by number in namespace default" "... the log says why"
is "$(errno_of "$M/ns/default/vlans/range" 300-310)" "" "with ns/default's range from 300"
is "$(errno_of "$M/ns/default/containers/d/config/net" "LAN1 300 LAN2")" "" "root's LAN2 in ns/default..."
is "$(cat "$M/ns/default/vlans/LAN2")" "301" "... is allocated past the VLAN 300 used by number"
is "$(owner "$NXWRITE" "$L/containers/c/config/memory" 128M)" "" "control: memory"
is "$(owner "$NXWRITE" "$L/containers/c/config/privileged" yes)" "EINVAL" \
	"a bad value is refused for its fault first (EINVAL)"

# --- the namespace's template and ctl
is "$(owner "$NXWRITE" "$L/config/volume" /:/host)" "EPERM" "the template's volume: EPERM for the owner"
like "$(tail -1 "$L/log")" "error: config/volume: only host root may set it" "... the namespace's log says why"
is "$(cat "$L/config/volume")" "" "... nothing changed"
is "$(owner "$NXWRITE" "$L/ctl" "tap LAN1 10.9.0.1/24")" "EPERM" "ctl tap (a host address): EPERM for the owner"
like "$(tail -1 "$L/log")" "tap: only host root may give the host an interface" "... the log says why"
is "$(owner "$NXWRITE" "$L/ctl" "'t'ap LAN1 10.9.0.1/24")" "EPERM" "... spelled with quotes ('t'ap) too"
is "$(cat "$L/taps")" "" "... no tap was made"
is "$(code -u labrw:rwpw -X POST --data-binary "tap LAN1 10.9.0.1/24" "$U/ns/lab/ctl")" 403 "... web rw: 403"
is "$(owner "$NXWRITE" "$L/ctl" "launch container c2 like c")" "" "control: the owner launches c2 like c"
is "$(other "$NXWRITE" "$L/ctl" "launch container c3")" "EACCES" "another user may not launch (EACCES)"
is "$(other "$NXWRITE" "$L/containers/c/ctl" kill)" "EACCES" "nor use an object's ctl"

# --- qmp: query-* and the lifecycle only, for anyone but host root
is "$(owner "$NXWRITE" "$L/vms/v/qmp" '{"execute":"migrate","arguments":{"uri":"exec:id"}}')" "EPERM" \
	"qmp migrate: EPERM for the owner"
like "$(tail -1 "$L/vms/v/log")" 'error: qmp: .*migrate: only host root may send it' "... the log says why"
is "$(owner "$NXWRITE" "$L/vms/v/qmp" '{"execute":"human-monitor-command","arguments":{"command-line":"info"}}')" \
	"EPERM" "qmp human-monitor-command: EPERM"
is "$(owner "$NXWRITE" "$L/vms/v/qmp" '{"execute":"query-status"}')" "EBUSY" \
	"qmp query-status passes the list (EBUSY: v is not running)"
is "$(code -u labrw:rwpw -X POST --data-binary '{"execute":"migrate"}' "$U/ns/lab/vms/v/qmp")" 403 \
	"qmp migrate from web rw: 403"
like "$(body)" "migrate: only host root may send it" "... saying why"
# --- the VM's own migration verbs: ports on the host, its memory sent anywhere: host root only
is "$(owner "$NXWRITE" "$L/vms/v/ctl" "migrate-in 127.0.0.1")" "EPERM" "ctl migrate-in: EPERM for the owner"
like "$(tail -1 "$L/log")" "migrate-in: only host root may move a VM between hosts" "... the log says why"
is "$(owner "$NXWRITE" "$L/vms/v/ctl" "'migrate-out' 127.0.0.1:1 nbd=127.0.0.1:2")" "EPERM" \
	"ctl migrate-out (quoted): EPERM for the owner"
is "$(code -u labrw:rwpw -X POST --data-binary "migrate-out 127.0.0.1:1 nbd=127.0.0.1:2" "$U/ns/lab/vms/v/ctl")" 403 \
	"... web rw: 403"
is "$(errno_of "$L/vms/v/qmp" '{"execute":"migrate","arguments":{"uri":"exec:id"}}')" "EBUSY" \
	"host root's migrate passes (EBUSY: v is not running)"
is "$(other "$NXWRITE" "$L/vms/v/qmp" '{"execute":"query-status"}')" "EACCES" "another user: EACCES (mode)"

# --- what the guest shows and takes: the namespace's owner and group, never others
is "$(stat -c '%a %u' "$L/vms/v/console" "$L/vms/v/console.log" "$L/vms/v/screenshot.png" \
	"$L/vms/v/thumbnail.png" "$L/vms/v/vnc" "$L/vms/v/qmp" | paste -sd,)" \
	"640 65534,440 65534,440 65534,440 65534,400 65534,640 65534" \
	"console, console.log, screenshot, thumbnail, vnc, qmp: no bits for others in a 0755 ns"
ok "control: another user lists the namespace" other ls "$L/vms/v"
ok "... and reads the VM's state" other cat "$L/vms/v/state"
for f in console console.log screenshot.png thumbnail.png vnc; do
	like "$(other cat "$L/vms/v/$f" 2>&1)" "Permission denied" "another user cannot read $f"
done
like "$(other cat "$L/containers/c/console.log" 2>&1)" "Permission denied" "... nor a container's console.log"
ok "the owner reads console.log" owner cat "$L/vms/v/console.log"
owner cat "$L/vms/v/screenshot.png" >/dev/null 2>"$T/shot.err"
ok "the owner may open screenshot.png (refused for v not running, not for the mode: $(cat "$T/shot.err"))" \
	sh -c "! grep -q 'Permission denied' '$T/shot.err'"
is "$(code -u labro:ropw "$U/ns/lab/vms/v/console.log")" 200 "web ro on ns/lab reads console.log (its rule)"
is "$(code "$U/ns/lab/vms/v/console.log")" 401 "no credentials: 401"
# the vnc file shows the VNC port's password, which types into the guest: a writer's
is "$(code -u labro:ropw "$U/ns/lab/vms/v/vnc")" 403 "web ro on ns/lab cannot read vnc (a writer's)"
like "$(tail -1 "$M/host/log")" "GET /ns/lab/vms/v/vnc from 127.0.0.1 as labro: refused: labro may only read" \
	"... host/log says why"
like "$(code -u labrw:rwpw "$U/ns/lab/vms/v/vnc")" "^(200|409)$" \
	"control: web rw on ns/lab is let through (409 while v is not running)"
# hosts/ctl: sshfs and tunnels that root runs (0644 on the mount; the door writes as root)
is "$(code -u all:allpw --data-binary "add h9 ssh://root@127.0.0.1/x" "$U/hosts/ctl")" 403 \
	"web rw on / cannot write hosts/ctl (rw is not admin)"
like "$(tail -1 "$M/host/log")" "hosts/ctl: only host root may join hosts" "... host/log says why"
ok "... and no host h9 was added" test ! -e "$M/hosts/h9"
# --- live: one VM under TCG (QEMU's monitor answers while the guest boots)
owner sh -c ': >"$1"' sh "$L/vms/v/config/kernel"
is "$(owner "$NXWRITE" "$L/vms/v/config/memory" 64M)" "" "the owner sizes v at 64M"
is "$(owner "$NXWRITE" "$L/vms/v/ctl" start)" "" "the owner starts v"
qmp_as() { "$@" sh -c 'exec 3<>"$1"; printf "%s\n" "$2" >&3 && cat <&3' sh "$L/vms/v/qmp" "$cmd"; }
cmd='{"execute":"migrate","execute":"query-status"}'
like "$(qmp_as owner)" '"status": ?"running"' \
	"the owner's query-status reaches QEMU (sent as parsed: the first execute key is gone)"
cmd='{"execute":"migrate","arguments":{"uri":"exec:touch '"$T"'/owned"}}'
is "$(owner "$NXWRITE" "$L/vms/v/qmp" "$cmd")" "EPERM" "a running VM: the owner's migrate to exec: is EPERM"
ok "... and ran nothing" test ! -e "$T/owned"
cmd='{"execute":"stop"}'
like "$(qmp_as owner)" '^\{\}' "the owner's stop (a lifecycle command) is sent"
ok "... v is paused (QEMU's STOP event)" wait_for 5 grep -qx PAUSED "$L/vms/v/state"
cmd='{"execute":"query-status"}'
like "$(qmp_as env)" '"status": ?"paused"' "host root's query-status"
is "$(errno_of "$L/vms/v/ctl" kill)" "" "v killed"

chmod 0750 "$L"
chgrp 4242 "$L"
is "$(stat -c %a "$L/vms/v/console.log")" "440" "with ns/lab 0750 and group 4242: console.log 440"
ok "... the group (4242) reads it" setpriv --reuid=4242 --regid=4242 --groups=4242 cat "$L/vms/v/console.log"

# --- an object on another host (a second vmfs, a member by path): the head checks for it,
# since the member takes the head's requests as host root's
mkdir -p "$T/m2"
"$VMFS" -f --state "$T/s2" --images "$T/images" "$T/m2" 2>>"$T/vmfs2.err" &
M2_PID=$!
# its objects first, through its own mount, so that it ends their processes and cgroups
EXTRA_CLEANUP='[ -e "$T/m2/ns/far/ctl" ] && { echo "kill all" >"$T/m2/ns/far/ctl"; echo "flush all" >"$T/m2/ns/far/ctl"; } 2>/dev/null
	fusermount3 -uz "$T/m2" 2>/dev/null; kill $M2_PID 2>/dev/null; wait $M2_PID 2>/dev/null'
ok "a second vmfs answers" wait_for 30 test -f "$T/m2/version"
is "$(errno_of "$M/hosts/ctl" "add h2 $T/m2")" "" "hosts/ctl: add h2 (by path)"
ok "h2 is up" wait_for 15 sh -c "grep -q '^up since' '$M/hosts/h2/state'"
mkdir "$M/ns/far" && chown 65534:65534 "$M/ns/far"
is "$(errno_of "$M/ns/far/hosts" h2)" "" "ns/far lives on h2"
is "$(owner "$NXWRITE" "$M/ns/far/ctl" "launch container rc")" "" "the owner launches rc there"
R=$M/ns/far/containers/rc
ok "rc is on h2, seen through the head" wait_for 10 test -f "$R/state"
is "$(owner "$NXWRITE" "$R/config/volume" /:/host)" "EPERM" "rc's volume=/:/host: EPERM for the owner"
like "$(tail -1 "$M/ns/far/log")" "rc/config/volume: only host root may set it" "... the log says why"
is "$(cat "$T/m2/ns/far/containers/rc/config/volume")" "" "... nothing changed on h2"
is "$(owner "$NXWRITE" "$R/config/net" 101)" "EPERM" "rc's net=101 (not ns/far's): EPERM"
is "$(owner "$NXWRITE" "$R/config/memory" 64M)" "" "control: the owner sets rc's memory"
is "$(cat "$T/m2/ns/far/containers/rc/config/memory")" "64M" "... on h2"
# a member's file over HTTP: the answer waits for the member's, not holding the door
is "$(code -u all:allpw "$U/ns/far/containers/rc/config/memory")" 200 "GET rc's memory over HTTP: 200"
is "$(body)" "64M" "... the member's answer"
is "$(code -u all:allpw "$U/ns/far/containers/rc/state?format=json")" 200 "GET rc's state as JSON"
like "$(body)" '^\{' "... an object"
is "$(stat -c %a "$R/console" "$R/console.log" "$R/state" | paste -sd,)" "640,440,444" \
	"rc's console and console.log: no bits for others (the modes of a local container's)"
like "$(other cat "$R/console.log" 2>&1)" "Permission denied" "another user cannot read rc's console.log"
ok "kill rc through the head" "$XWRITE" "$M/ns/far/ctl" "kill rc"
ok "nothing of rc runs on h2" wait_for 10 none_of_ours "$T/s2"

vmfs_stop
done_testing
