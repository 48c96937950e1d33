#!/usr/bin/env bash
# VLANs carry traffic: containers and a TCG VM get NICs on bridges (veths and taps made at
# start, gone at the end), the same VLAN connects them, another VLAN or another namespace's
# LAN1 does not, addresses the guests use appear in info, a host tap reaches a guest, and
# nothing vmfs made is left after kill, flush, rmdir, or a kill -9 of vmfs and a restart.
# Real devices in this machine's network namespace, named with this vmfs's own prefix, so
# the test sees exactly what this vmfs made (and removes all of it on the way out).
. "$(dirname "$0")/lib.sh"
need_root
use_busybox_image
use_boot_image
vmfs_start --images "$T/images" || exit 1
D=$M/ns/default
C=$D/containers
PFX=
devs() { # the links whose names start with this vmfs's prefix, sorted, on one line
	ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | grep "^$PFX" | sort | tr '\n' ' '
}
EXTRA_CLEANUP='for d in $(devs); do ip link del "$d" 2>/dev/null; done'
mode=$(awk '$1=="network"{$1=""; print}' "$M/host/info")
like "$mode" "vlan-filtering bridge|a bridge per VLAN" "host/info says how VLANs are carried"
PFX=$(sed -n 's/.*a bridge per VLAN (\([a-z0-9]*\)\.VID).*/\1/p; s/.*vlan-filtering bridge \([a-z0-9]*\)0.*/\1/p' <<<"$mode")
like "$PFX" "^v[0-9a-f]{4}$" "devices of a test's vmfs have a prefix of their own"

n=0
answer() { # answer OBJDIR CMD: runs CMD on the console; prints OK or NO (or nothing)
	# the quotes keep the typed line (echoed back) from matching
	echo "$2 && echo SAYS''-OK-$n. || echo SAYS''-NO-$n." >"$1/console"
	wait_for 40 console_has "$1" "SAYS-[OKN]*-$n\."
	timeout 1 cat "$1/console" | grep -ao "SAYS-[OKN]*-$n\." | head -1 | cut -d- -f2
}
# (answer runs in a subshell: the counter moves here)
says() { n=$((n + 1)); [ "$(answer "$@")" = OK ]; }    # says OBJDIR CMD: CMD succeeded in the guest
says_no() { n=$((n + 1)); [ "$(answer "$@")" = NO ]; } # ... failed there (an answer, not a timeout)

for c in c1 c2 c3; do mkdir "$C/$c"; done
echo "LAN1,10.77.0.1/24" >"$C/c1/config/net"
echo "LAN1,10.77.0.2/24" >"$C/c2/config/net"
echo "LAN2,10.77.0.3/24" >"$C/c3/config/net"
is "$(devs)" "" "nothing is made before a start"
ok "three containers start" "$XWRITE" "$D/ctl" "start c[1-3]"
like "$(awk '$1=="tap"{print $2}' "$C/c1/info")" "^${PFX}v[0-9]+$" "info names c1's veth"
is "$(awk '$1=="vlan"{print $2}' "$C/c1/info")" "LAN1=101" "info: the alias and its id"
like "$(awk '$1=="bridge"{print $2}' "$C/c1/info")" "^$PFX" "info: the bridge"
like "$(cat "$C/c1/info")" "mac 52:54:" "info: the MAC vmfs chose"
ok "c1 has eth0 with its address" says "$C/c1" "ip addr show eth0 | grep -q 10.77.0.1/24"
ok "c1 pings c2 on LAN1" says "$C/c1" "ping -c 2 -W 2 10.77.0.2"
ok "c3 on LAN2 cannot reach c1" says_no "$C/c3" "ping -c 2 -W 1 10.77.0.1"
ok "learned: c2's address appears in its info" wait_for 5 sh -c "grep -q '^ip 10.77.0.2$' '$C/c2/info'"
like "$(cat "$D/info")" "c1	container	RUNNING	.*	LAN1	${PFX}v[0-9]+	52:54:[0-9a-f:]+	10.77.0.1	" "the namespace table has vlan, tap, mac and ip"
echo "ping -q -c 40 -i 0.1 -s 1000 10.77.0.2 >/dev/null &" >"$C/c1/console"
ok "top counts the traffic: c2's rx/s" wait_for 5 sh -c "awk '\$1==\"rx/s\" && \$2 > 2000 {f=1} END {exit !f}' '$C/c2/top'"
ok "and c1's tx/s" wait_for 5 sh -c "awk '\$1==\"tx/s\" && \$2 > 2000 {f=1} END {exit !f}' '$C/c1/top'"
like "$(cat "$D/top")" "c2	container	RUNNING	.*	[1-9][0-9]{3,}	[1-9][0-9]{3,}	" "the namespace's top has rx/s and tx/s"
ok "c1's config and its info agree on the MAC" sh -c "grep -q \"\$(awk '\$1==\"mac\"{print \$2}' '$C/c1/info')\" '$S/ns/default/containers/c1/run/nics'"

# a VM and a container on the same VLAN
mkdir "$D/vms/v1"
echo "LAN1,10.77.0.9/24" >"$D/vms/v1/config/net"
ok "a VM on LAN1 starts" "$XWRITE" "$D/vms/v1/ctl" start
like "$(awk '$1=="tap"{print $2}' "$D/vms/v1/info")" "^${PFX}t[0-9]+$" "the VM has a tap"
ok "the VM boots" wait_for 60 console_has "$D/vms/v1" "is up"
ok "the container reaches the VM" says "$C/c1" "ping -c 2 -W 3 10.77.0.9"
ok "the VM reaches the container" says "$D/vms/v1" "ping -c 2 -W 3 10.77.0.2"
ok "the VM's address is learned" wait_for 5 sh -c "grep -q '^ip 10.77.0.9$' '$D/vms/v1/info'"

# another namespace's LAN1 is another VLAN
mkdir "$M/ns/lab"
mkdir "$M/ns/lab/containers/l1"
echo "LAN1,10.77.0.5/24" >"$M/ns/lab/containers/l1/config/net"
ok "lab's container starts" "$XWRITE" "$M/ns/lab/ctl" "start l1"
isnt_same=$(cat "$M/ns/lab/vlans/LAN1")
ok "lab's LAN1 has another id ($isnt_same)" test "$isnt_same" != 101
n=$((n + 1))
ok "lab's LAN1 cannot reach default's LAN1" says_no "$M/ns/lab/containers/l1" "ping -c 2 -W 1 10.77.0.1"

# a host tap
ok "a host tap on LAN1" "$XWRITE" "$D/ctl" "tap LAN1 10.77.0.254/24"
ok "it is a device with the address" sh -c "ip -o addr show ${PFX}h101 | grep -q 10.77.0.254/24"
is "$(cat "$D/taps")" "LAN1 101 10.77.0.254/24 ${PFX}h101" "ns/NS/taps lists it"
ok "the host reaches a guest through it" "$T/images/busybox/bin/busybox" ping -c 2 -W 2 -I "${PFX}h101" 10.77.0.2
ok "and a guest the host" says "$C/c2" "ping -c 1 -W 2 10.77.0.254"
is "$(errno_of "$D/ctl" "tap LAN1 10.77.1.1/24")" "EEXIST" "a second tap on LAN1: EEXIST"
like "$(tail -1 "$D/log")" "has one on LAN1 already" "saying why"
is "$(errno_of "$D/ctl" "tap LAN1 10.77.1.1")" "EINVAL" "an address without its prefix: EINVAL"
like "$(tail -1 "$D/log")" "needs its prefix length" "saying so"
like "$(rm "$D/vlans/LAN1" 2>&1)" "busy" "an alias a tap uses cannot be removed"
like "$(tail -1 "$D/log")" "has a tap on it" "saying why"
is "$(errno_of "$D/ctl" "tap delete LAN9")" "ENOENT" "deleting a tap that is not there: ENOENT"
like "$(cat "$D/ctl")" "tap VLAN ADDR/PREFIX \| tap delete VLAN" "reading ctl lists tap"
L=$M/ns/lab
ok "lab gets a tap on its own LAN1" "$XWRITE" "$L/ctl" "tap LAN1 10.78.5.1/24"
labvid=$(cat "$L/vlans/LAN1")
ok "a device of its own (${PFX}h$labvid)" ip link show "${PFX}h$labvid"
is "$(errno_of "$L/vlans/LAN1" 999)" "EBUSY" "re-pinning an alias a tap is on: EBUSY"
like "$(tail -1 "$L/log")" "tap delete LAN1 first" "saying what to do"
is "$(errno_of "$L/ctl" "tap 101 10.78.6.1/24")" "EEXIST" "a VLAN by number whose host tap another namespace made: EEXIST"
like "$(tail -1 "$L/log")" "made by another namespace" "saying so"

# bad input changes nothing
mkdir "$C/bad"
echo "averyverylongbr,LAN1" >"$C/bad/config/net"
if [[ $mode == *"a bridge per VLAN"* ]]; then
	is "$(errno_of "$C/bad/ctl" start)" "EINVAL" "a bridge name too long to carry a VLAN: the start fails"
	like "$(tail -1 "$C/bad/log")" "over 15 bytes" "saying why"
	is "$(cat "$C/bad/state")" "ERROR" "in ERROR"
	ok "and nothing of it is left" sh -c "! ip link show averyverylongbr.101 2>/dev/null"
fi
rmdir "$C/bad"

# restart: what runs keeps its NICs; what a crash left goes
before=$(devs)
kill -9 "$VMFS_PID"
wait "$VMFS_PID" 2>/dev/null
fusermount3 -uz "$M"
ip tuntap add dev "${PFX}t999" mode tap
vmfs_start --images "$T/images" || exit 1
is "$(devs)" "$before" "after kill -9 and a restart: the devices of what runs are kept, a stray tap is gone"
like "$(awk '$1=="tap"{print $2}' "$C/c1/info")" "^${PFX}v[0-9]+$" "the adopted container still shows its NIC"
ok "and still reaches c2" says "$C/c1" "ping -c 1 -W 2 10.77.0.2"
ok "the host tap is back after a restart that lost it" sh -c "ip link del ${PFX}h101p; true"
kill -9 "$VMFS_PID"
wait "$VMFS_PID" 2>/dev/null
fusermount3 -uz "$M"
vmfs_start --images "$T/images" || exit 1
ok "host tap made again" ip -o addr show "${PFX}h101"

# the end of everything
ok "kill c1" "$XWRITE" "$C/c1/ctl" kill
ok "its veth is gone at once" sh -c "! ip link show $(awk '$1=="tap"{print $2}' "$C/c1/info" | tr -d -) 2>/dev/null; ! ip -o link | grep -q \"$(sed -n 's/ .*//p' "$S/ns/default/containers/c1/run/nics" 2>/dev/null)@\""
tap=$(awk '$1=="tap"{print $2}' "$D/vms/v1/info")
ok "kill the VM" "$XWRITE" "$D/ctl" "kill v1"
ok "its tap is gone" sh -c "! ip link show $tap 2>/dev/null"
ok "flush it" "$XWRITE" "$D/ctl" "flush v1"
ok "rmdir lab's container" rmdir "$M/ns/lab/containers/l1"
ok "rmdir ns/lab, which has a tap" rmdir "$M/ns/lab"
ok "its tap device goes with it" sh -c "! ip link show ${PFX}h$labvid 2>/dev/null"
ok "tap delete LAN1" "$XWRITE" "$D/ctl" "tap delete LAN1"
ok "kill the rest" "$XWRITE" "$D/ctl" "kill all"
is "$(devs)" "" "nothing vmfs made is left"
vmfs_stop
done_testing
