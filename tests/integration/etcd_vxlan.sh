#!/usr/bin/env bash
# VLANs across the hosts of a cluster on etcd (cluster/cvxlan.h): each host joins the VLANs
# its running objects use to the other hosts up that use them too, from their records and
# their alive's addr, with no head and no `vxlan` command. A container on VLAN 10 on h1 pings
# one on VLAN 10 on h2; one on VLAN 20 reaches neither; each host's VXLAN for 10 floods to
# the others' addresses only (h3's too: it has one on 10), VLAN 20 (used on one host) has
# none; h3 going down leaves h1's list, the same VXLAN still carrying h1 to h2, and comes
# back into it; when h2's last NIC on 10 stops, the VXLANs for 10 go from h2 and from the
# lists; a VXLAN that h1's vmfs, killed -9, left is found and removed at its restart when
# nothing wants it any more; hosts/ctl's vxlan is refused (EPERM, words in the log).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
use_busybox_image

EXTRA_CLEANUP="etcd_flush_all; $EXTRA_CLEANUP"

etcd_one
etcd_members 3 "$U" "p9 = 0.0.0.0:5640" "p9_user = root" "images = $T/images" ||
	{ echo "not ok 1 - three members start"; exit 1; }
D1=$(mnt 1)/ns/default D2=$(mnt 2)/ns/default D3=$(mnt 3)/ns/default
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

for i in 1 2 3; do echo "h$i" >"$(mnt "$i")/ns/default/config/host"; done # each launches on itself
ok "h1 launches a1" "$XWRITE" "$D1/ctl" "launch container a1"
ok "h2 launches b1 b2" "$XWRITE" "$D2/ctl" "launch container b[1-2]"
ok "h3 launches c1" "$XWRITE" "$D3/ctl" "launch container c1"
echo "10,10.88.0.1/24" >"$D1/containers/a1/config/net"
echo "10,10.88.0.2/24" >"$D2/containers/b1/config/net"
echo "20,10.88.0.3/24" >"$D2/containers/b2/config/net"
echo "10,10.88.0.4/24" >"$D3/containers/c1/config/net"
is "$(vxlans 1)$(vxlans 2)$(vxlans 3)" "" "no VXLAN before anything runs"
ok "h1 starts a1" "$XWRITE" "$D1/ctl" "start a1"
ok "h2 starts b1 b2" "$XWRITE" "$D2/ctl" "start b[1-2]"
ok "h3 starts c1" "$XWRITE" "$D3/ctl" "start c1"
ok "h2's record says b1's VLAN id" wait_for 5 sh -c 'ETCDCTL_API=3 etcdctl --endpoints "$0" get --prefix --print-value-only "$1" | grep -qx "vid.0=10"' "$U" "$P/h/h2/o/"

both() { [ "$(vxlans 1)" = "$1" ] && [ "$(vxlans 2)" = "$2" ]; }
one10() { # each host has exactly one VXLAN, VLAN 10's
	local i
	for i in 1 2 3; do [[ "$(vxlans "$i")" =~ ^[a-z0-9]+x10:10\ $ ]] || return 1; done
}
ok "each host has a VXLAN for VLAN 10 (VNI 10), none for 20 (used on h2 only)" wait_for 5 one10
V1=$(vxlans 1) V2=$(vxlans 2) V3=$(vxlans 3)
PFX1=${V1%x10:10 } PFX2=${V2%x10:10 } PFX3=${V3%x10:10 }
A1=$ETCD_ADDR_1 A2=$ETCD_ADDR_2 A3=$ETCD_ADDR_3
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' '; }
flood_is() { [ "$(floods "$1" "$2")" = "$3" ]; }
ok "h1's floods to h2's and h3's cluster_addr only" wait_for 3 flood_is 1 "${PFX1}x10" "$(sorted "$A2" "$A3")"
ok "h2's to h1's and h3's" wait_for 3 flood_is 2 "${PFX2}x10" "$(sorted "$A1" "$A3")"
grep 'VXLAN' "$T/h1/mnt/host/log" | sed 's/^/# h1: /'

ok "a1 on h1 pings b1 on h2 over VLAN 10" says "$D1/containers/a1" "ping -c 2 -W 2 10.88.0.2"
ok "b1 on h2 pings a1 on h1" says "$D2/containers/b1" "ping -c 1 -W 2 10.88.0.1"
ok "a1 pings c1 on h3" says "$D1/containers/a1" "ping -c 1 -W 2 10.88.0.4"
ok "b2 on VLAN 20 (h2) does not reach a1" says_no "$D2/containers/b2" "ping -c 2 -W 1 10.88.0.1"

# h3 goes down: it leaves the others' lists, the VXLAN itself staying (its traffic goes on)
idx1=$(ip -n "$ETCD_ID-h1" -o link show "${PFX1}x10" | cut -d: -f1)
etcd_cut 3
ok "h3 down: h1's VXLAN floods to h2 only" wait_for 10 flood_is 1 "${PFX1}x10" "$A2 "
ok "... h2's to h1 only" wait_for 3 flood_is 2 "${PFX2}x10" "$A1 "
is "$(ip -n "$ETCD_ID-h1" -o link show "${PFX1}x10" | cut -d: -f1)" "$idx1" "... the same interface (flood entries changed, not the VXLAN)"
ok "a1 still reaches b1" says "$D1/containers/a1" "ping -c 1 -W 2 10.88.0.2"
etcd_restore 3
ok "h3 back: in h1's list again" wait_for 15 flood_is 1 "${PFX1}x10" "$(sorted "$A2" "$A3")"
ok "a1 reaches c1 again" says "$D1/containers/a1" "ping -c 2 -W 2 10.88.0.4"

# hosts/ctl's vxlan is the head's word of a probing cluster: refused here
out=$(etcd_wr "$T/h1/mnt/hosts/ctl" "vxlan 10 10.1.2.3")
like "$out" "errno=EPERM" "hosts/ctl vxlan: EPERM"
ok "... said in words" grep -q "vxlan: this vmfs is a host of cluster $ETCD_CLUSTER on etcd" "$T/h1/mnt/host/log"
is "$(floods 1 "${PFX1}x10")" "$(sorted "$A2" "$A3")" "... and changed nothing"

# the last NIC on 10 on h2 stops: h2's VXLAN goes with it, and h2 leaves the others' lists
ok "h2 kills b1" "$XWRITE" "$D2/ctl" "kill b1"
ok "h2's VXLAN goes" wait_for 5 sh -c '[ -z "$(ip -n "$0" -o link show type vxlan)" ]' "$ETCD_ID-h2"
ok "h1's floods to h3 only" wait_for 5 flood_is 1 "${PFX1}x10" "$A3 "
ok "h3 kills c1" "$XWRITE" "$D3/ctl" "kill c1"
ok "h1's VXLAN goes too: no other host up uses 10" wait_for 5 both "" ""
ok "h2 starts b1 again" "$XWRITE" "$D2/ctl" "start b1"
ok "h1 and h2 have theirs again" wait_for 5 both "${PFX1}x10:10 " "${PFX2}x10:10 "
ok "a1 reaches b1 again" says "$D1/containers/a1" "ping -c 2 -W 2 10.88.0.2"
# h1's vmfs killed -9: its VXLAN stays (a1 runs on); b1 stops meanwhile, so the restarted h1
# must find the VXLAN the dead run made and remove it (no other host up uses 10 then)
p1=$ETCD_PID_1
kill -9 "$p1"
ok "h1's vmfs is gone" wait_for 5 gone "$p1"
fusermount3 -uz "$T/h1/mnt" 2>/dev/null
ok "h2 kills b1 while h1's vmfs is dead" "$XWRITE" "$D2/ctl" "kill b1"
ok "h2's VXLAN goes" wait_for 5 sh -c '[ -z "$(ip -n "$0" -o link show type vxlan)" ]' "$ETCD_ID-h2"
is "$(floods 1 "${PFX1}x10")" "$A2 " "h1's VXLAN stays, flooding to h2 (no vmfs to change it)"
ok "h1's vmfs starts again" etcd_member_start 1
ok "... a1 still runs" wait_for 10 grep -q "^RUNNING" "$D1/containers/a1/state"
ok "h1 removed the VXLAN its dead run made" wait_for 10 both "" ""
ok "... said in its log" grep -q "VLAN 10's VXLAN, left by an earlier run, removed" "$T/h1/mnt/host/log"
ok "h2 starts b1 again" "$XWRITE" "$D2/ctl" "start b1"
ok "h1 and h2 have theirs again" wait_for 5 both "${PFX1}x10:10 " "${PFX2}x10:10 "
ok "a1 reaches b1 again" says "$D1/containers/a1" "ping -c 2 -W 2 10.88.0.2"
# killed -9 again, b1 running on: the restarted h1 keeps the VXLAN, made again from the
# records (its cache loaded first), never removed on the way
removals=$(grep -c "left by an earlier run, removed" "$T/h1/mnt/host/log")
p1=$ETCD_PID_1
kill -9 "$p1"
ok "h1's vmfs is gone again" wait_for 5 gone "$p1"
fusermount3 -uz "$T/h1/mnt" 2>/dev/null
ok "h1's vmfs starts again" etcd_member_start 1
ok "h1's VXLAN floods to h2" wait_for 10 flood_is 1 "${PFX1}x10" "$A2 "
sleep 1 # (a tick before the cache's load would have removed it by now)
is "$(grep -c "left by an earlier run, removed" "$T/h1/mnt/host/log")" "$removals" "... and was not removed on the way"
ok "a1 reaches b1" says "$D1/containers/a1" "ping -c 2 -W 2 10.88.0.2"
# tenants apart: namespace `other` (on h3 only) runs VLAN id 10 too; h1 and h2 run 10 in
# `default`: the same number is another VLAN, so h3 is in no list of theirs and not reached
M3=$(mnt 3)
mkdir "$(mnt 1)/ns/other"
ok "ns other is the cluster's" wait_for 5 has "$P/ns/other"
echo h3 >"$(mnt 1)/ns/other/hosts"
ok "h3 makes its copy of other" wait_for 5 test -d "$T/h3/state/ns/other"
echo h3 >"$M3/ns/other/config/host"
ok "h3 launches o1 in other" "$XWRITE" "$M3/ns/other/ctl" "launch container o1"
echo "10,10.88.0.9/24" >"$M3/ns/other/containers/o1/config/net"
ok "h3 starts o1 (other's VLAN 10)" "$XWRITE" "$M3/ns/other/ctl" "start o1"
ok "h3's record says o1's VLAN id" wait_for 5 sh -c 'ETCDCTL_API=3 etcdctl --endpoints "$0" get --prefix --print-value-only "$1" | grep -qx "vid.0=10"' "$U" "$P/h/h3/o/"
sleep 2 # (a tick of each host after the record)
ok "h1's VXLAN for 10 floods to h2 only, not to h3 (another namespace's 10)" flood_is 1 "${PFX1}x10" "$A2 "
ok "... h2's to h1 only" flood_is 2 "${PFX2}x10" "$A1 "
is "$(vxlans 3)" "" "h3 has no VXLAN: no other host runs other's VLAN 10"
ok "a1 (default, h1) does not reach o1 (other, h3)" says_no "$D1/containers/a1" "ping -c 2 -W 1 10.88.0.9"
ok "h3 kills and flushes o1" sh -c '"$0" "$1/ctl" "kill o1" && "$0" "$1/ctl" "flush o1"' "$XWRITE" "$M3/ns/other"
ok "h1 kills a1" "$XWRITE" "$D1/ctl" "kill a1"
ok "both go again (h1 no longer uses 10)" wait_for 5 both "" ""

# VLAN aliases are the cluster's (P/ns/NAME/vlan/ALIAS): h1 holds 101 for H1ONLY, so its
# LAN1 gets 102 and claims it; h2, whose lowest free id is 101, takes 102 for LAN1 too
lanid() { field "$P/ns/default/vlan/$1" id; }
lanid_is() { [ "$(lanid "$1")" = "$2" ]; }
echo 101 >"$D1/vlans/H1ONLY"
ok "h1's pinned alias is claimed in the cluster" wait_for 5 lanid_is H1ONLY 101
ok "h1 launches la" "$XWRITE" "$D1/ctl" "launch container la"
ok "h2 launches lb" "$XWRITE" "$D2/ctl" "launch container lb"
ok "h3 launches lc" "$XWRITE" "$D3/ctl" "launch container lc"
echo "LAN1,10.89.0.1/24" >"$D1/containers/la/config/net"
is "$(cat "$D1/vlans/LAN1")" 102 "h1's LAN1 is its lowest free id"
ok "h1's LAN1 is claimed in the cluster" wait_for 5 lanid_is LAN1 102
sleep 1 # (h2's cache of etcd follows by its watch)
echo "LAN1,10.89.0.2/24" >"$D2/containers/lb/config/net"
is "$(cat "$D2/vlans/LAN1")" 102 "h2's LAN1 takes the cluster's id, not its lowest free (101)"
ok "h1 starts la" "$XWRITE" "$D1/ctl" "start la"
ok "h2 starts lb" "$XWRITE" "$D2/ctl" "start lb"
ok "la on h1 pings lb on h2 over LAN1" says "$D1/containers/la" "ping -c 2 -W 2 10.89.0.2"
ok "lb pings la" says "$D2/containers/lb" "ping -c 1 -W 2 10.89.0.1"
# an alias made on h2 first: h1 takes its id
echo 333 >"$D2/vlans/LAN2"
ok "h2's LAN2 is claimed" wait_for 5 lanid_is LAN2 333
sleep 1
echo "LAN2,10.89.1.1/24" >"$D1/containers/a1/config/net" # (a1 stopped)
is "$(cat "$D1/vlans/LAN2")" 333 "h1's new LAN2 takes h2's id"
# h3 pinned LAN1 to another id by hand: said, and at lc's start its LAN1 becomes the cluster's
echo 444 >"$D3/vlans/LAN1"
ok "h3 says its LAN1 is not the cluster's" wait_for 5 grep -q "vlan alias LAN1: this host has id 444, the cluster's is 102" "$D3/log"
is "$(lanid LAN1)" 102 "... and the cluster's stays"
echo "LAN1,10.89.0.3/24" >"$D3/containers/lc/config/net"
ok "h3 starts lc" "$XWRITE" "$D3/ctl" "start lc"
is "$(cat "$D3/vlans/LAN1")" 102 "h3's LAN1 took the cluster's id at lc's start"
ok "... said in its log" grep -q "vlans/LAN1 = 102, the cluster's (was 444)" "$D3/log"
ok "lc on h3 pings la on h1" says "$D3/containers/lc" "ping -c 2 -W 2 10.89.0.1"
# a bad claim in etcd (another host's writing is checked): not taken, said
ok "a bad claim of LAN3 is put in etcd" sh -c 'printf "v=1\nid=9999\n" | ETCDCTL_API=3 etcdctl --endpoints "$0" put "$1"' "$U" "$P/ns/default/vlan/LAN3"
sleep 1
ok "h2 launches ld" "$XWRITE" "$D2/ctl" "launch container ld"
echo "LAN3,10.89.2.1/24" >"$D2/containers/ld/config/net"
like "$(cat "$D2/vlans/LAN3")" "^[1-9][0-9]*$" "h2's LAN3 gets an id of its own"
ok "... not the bad one" test "$(cat "$D2/vlans/LAN3")" != 9999
ok "h2 says the cluster's record is bad" wait_for 5 grep -q "vlan alias LAN3: the cluster's record .* is bad (.*out of range.*): this host keeps its id" "$D2/log"

# a claim that is a VLAN id but outside the namespace's vlans/range (101-4094 here): not taken
ok "a claim of LAN4 below the range is put in etcd" sh -c 'printf "v=1\nid=50\n" | ETCDCTL_API=3 etcdctl --endpoints "$0" put "$1"' "$U" "$P/ns/default/vlan/LAN4"
sleep 1
echo "LAN4,10.89.3.1/24" >"$D2/containers/ld/config/net"
ok "h2's LAN4 is not the claim's 50" sh -c 'id=$(cat "$0/vlans/LAN4") && [ "$id" -ge 101 ]' "$D2"
ok "... said in the namespace's log" grep -q "vlan alias LAN4: the cluster's id 50 is outside vlans/range 101-4094: not taken" "$D2/log"

# an alias with a tap on it keeps its id at a start (its device bears the id), said
echo 555 >"$D1/vlans/LAN5"
ok "h1's LAN5 is claimed" wait_for 5 lanid_is LAN5 555
echo 556 >"$D2/vlans/LAN5"
ok "h2 taps LAN5" "$XWRITE" "$D2/ctl" "tap LAN5 10.89.5.9/24"
echo "LAN5,10.89.5.1/24" >"$D2/containers/ld/config/net"
ok "h2 starts ld on LAN5" "$XWRITE" "$D2/ctl" "start ld"
is "$(cat "$D2/vlans/LAN5")" 556 "h2's LAN5 stays 556: a tap is on it"
ok "... said in its log" grep -q "vlans/LAN5 stays 556 (the cluster's is 555): a tap of the namespace is on it" "$D2/log"
ok "h2 kills ld, deletes its tap" sh -c '"$0" "$1/ctl" "kill ld" && "$0" "$1/ctl" "tap delete LAN5"' "$XWRITE" "$D2"

# nothing the containers' networks made is left
ok "kill and flush everything" sh -c '"$0" "$1/ctl" "kill all" && "$0" "$1/ctl" "flush all"' "$XWRITE" "$D1"
ok "no claim is left" wait_for 10 count_is 0 "$P/name/"
for i in 1 2 3; do
	pfx=PFX$i
	pfx=${!pfx}
	ok "h$i has no device of vmfs's left" wait_for 5 sh -c '! ip -n "$0" -o link show | grep -q ": $1"' "$ETCD_ID-h$i" "$pfx"
done
done_testing
