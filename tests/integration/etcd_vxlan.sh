#!/usr/bin/env bash
# VLANs across the hosts of a cluster on etcd (cluster/cvxlan.h): each host joins the VLANs
# its running objects use to the other hosts up that use them too, from their records and
# their alive's addr, with no head and no `vxlan` command. A container on VLAN 10 on h1 pings
# one on VLAN 10 on h2; one on VLAN 20 reaches neither; each host's VXLAN for 10 floods to
# the other's address only, VLAN 20 (used on one host) has none; when h2's last NIC on 10
# stops, both hosts' VXLANs for 10 go; hosts/ctl's vxlan is refused (EPERM, words in the log).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
use_busybox_image

EXTRA_CLEANUP="etcd_flush_all; $EXTRA_CLEANUP"

etcd_one
etcd_members 2 "$U" "p9 = 0.0.0.0:5640" "p9_user = root" "images = $T/images" ||
	{ echo "not ok 1 - two members start"; exit 1; }
D1=$(mnt 1)/ns/default D2=$(mnt 2)/ns/default
on() { local i=$1; shift; ip netns exec "$ETCD_ID-h$i" "$@"; } # on I CMD...: in hI's netns
# vxlans I: hI's VXLAN devices, "NAME:VNI" sorted, on one line
vxlans() {
	ip -n "$ETCD_ID-h$1" -d -o link show type vxlan 2>/dev/null |
		sed -n 's/^[0-9]*: \([^:@]*\)[:@].* vxlan id \([0-9]*\) .*/\1:\2/p' | sort | tr '\n' ' '
}
# floods I DEV: the addresses hI's DEV floods to, sorted, on one line
floods() {
	bridge -n "$ETCD_ID-h$1" fdb show dev "$2" 2>/dev/null |
		sed -n 's/^00:00:00:00:00:00 dst \([0-9.]*\) .*/\1/p' | sort | tr '\n' ' '
}

n=0
answer() { # answer OBJDIR CMD: runs CMD on the console; prints OK or NO (or nothing)
	echo "$2 && echo SAYS''-OK-$n. || echo SAYS''-NO-$n." >"$1/console"
	wait_for 20 console_has "$1" "SAYS-[OKN]*-$n\."
	timeout 1 cat "$1/console" | grep -ao "SAYS-[OKN]*-$n\." | head -1 | cut -d- -f2
}
says() { n=$((n + 1)); [ "$(answer "$@")" = OK ]; }
says_no() { n=$((n + 1)); [ "$(answer "$@")" = NO ]; }

for i in 1 2; do echo "h$i" >"$(mnt "$i")/ns/default/config/host"; done # each launches on itself
ok "h1 launches a1" "$XWRITE" "$D1/ctl" "launch container a1"
ok "h2 launches b1 b2" "$XWRITE" "$D2/ctl" "launch container b[1-2]"
echo "10,10.88.0.1/24" >"$D1/containers/a1/config/net"
echo "10,10.88.0.2/24" >"$D2/containers/b1/config/net"
echo "20,10.88.0.3/24" >"$D2/containers/b2/config/net"
is "$(vxlans 1)$(vxlans 2)" "" "no VXLAN before anything runs"
ok "h1 starts a1" "$XWRITE" "$D1/ctl" "start a1"
ok "h2 starts b1 b2" "$XWRITE" "$D2/ctl" "start b[1-2]"
ok "h2's record says b1's VLAN id" wait_for 5 sh -c 'ETCDCTL_API=3 etcdctl --endpoints "$0" get --prefix --print-value-only "$1" | grep -qx "vid.0=10"' "$U" "$P/h/h2/o/"

both() { [ "$(vxlans 1)" = "$1" ] && [ "$(vxlans 2)" = "$2" ]; }
one10() { [[ "$(vxlans 1)" =~ ^[a-z0-9]+x10:10\ $ ]] && [[ "$(vxlans 2)" =~ ^[a-z0-9]+x10:10\ $ ]]; }
ok "each host has a VXLAN for VLAN 10 (VNI 10), none for 20 (used on h2 only)" wait_for 5 one10
V1=$(vxlans 1) V2=$(vxlans 2)
PFX1=${V1%x10:10 } PFX2=${V2%x10:10 }
is "$(floods 1 "${PFX1}x10")" "$ETCD_ADDR_2 " "h1's floods to h2's cluster_addr only"
is "$(floods 2 "${PFX2}x10")" "$ETCD_ADDR_1 " "h2's to h1's only"
grep 'VXLAN' "$T/h1/mnt/host/log" | sed 's/^/# h1: /'

ok "a1 on h1 pings b1 on h2 over VLAN 10" says "$D1/containers/a1" "ping -c 2 -W 2 10.88.0.2"
ok "b1 on h2 pings a1 on h1" says "$D2/containers/b1" "ping -c 1 -W 2 10.88.0.1"
ok "b2 on VLAN 20 (h2) does not reach a1" says_no "$D2/containers/b2" "ping -c 2 -W 1 10.88.0.1"

# hosts/ctl's vxlan is the head's word of a probing cluster: refused here
out=$(etcd_wr "$T/h1/mnt/hosts/ctl" "vxlan 10 10.1.2.3")
like "$out" "errno=EPERM" "hosts/ctl vxlan: EPERM"
ok "... said in words" grep -q "vxlan: this vmfs is a host of cluster $ETCD_CLUSTER on etcd" "$T/h1/mnt/host/log"
is "$(floods 1 "${PFX1}x10")" "$ETCD_ADDR_2 " "... and changed nothing"

# the last NIC on 10 on h2 stops: h2's VXLAN goes with it, and h1's has no peer left
ok "h2 kills b1" "$XWRITE" "$D2/ctl" "kill b1"
ok "both VXLANs for VLAN 10 go" wait_for 5 both "" ""
ok "h2 starts b1 again" "$XWRITE" "$D2/ctl" "start b1"
ok "they come back" wait_for 5 both "${PFX1}x10:10 " "${PFX2}x10:10 "
ok "a1 reaches b1 again" says "$D1/containers/a1" "ping -c 2 -W 2 10.88.0.2"
ok "h1 kills a1" "$XWRITE" "$D1/ctl" "kill a1"
ok "both go again (h1 no longer uses 10)" wait_for 5 both "" ""

# nothing the containers' networks made is left
ok "kill and flush everything" sh -c '"$0" "$1/ctl" "kill all" && "$0" "$1/ctl" "flush all"' "$XWRITE" "$D1"
ok "no claim is left" wait_for 10 count_is 0 "$P/name/"
for i in 1 2; do
	pfx=PFX$i
	pfx=${!pfx}
	ok "h$i has no device of vmfs's left" wait_for 5 sh -c '! ip -n "$0" -o link show | grep -q ": $1"' "$ETCD_ID-h$i" "$pfx"
done
done_testing
