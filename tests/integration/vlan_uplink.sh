#!/usr/bin/env bash
# The uplink (conf: uplink = IFACE) carries VLANs tagged off the host: with a bridge per
# VLAN it gets an 802.1Q interface per VLAN in that VLAN's bridge, with the filtering bridge
# it is a port tagged in each VLAN used. A kernel without what that needs (8021q here)
# fails the start with the reason and leaves nothing. The uplink is a veth pair the test
# makes (and removes).
. "$(dirname "$0")/lib.sh"
need_root
use_busybox_image
UP=vfup$$
UP=${UP:0:12}
ip link add "$UP" type veth peer name "${UP}p" || { echo "not ok 1 - make a veth for the uplink"; exit 1; }
EXTRA_CLEANUP='ip link del "$UP" 2>/dev/null; for d in $(devs); do ip link del "$d" 2>/dev/null; done'
printf '[vmfs]\nuplink = %s\n' "$UP" >"$T/vmfs.conf"
vmfs_start --conf "$T/vmfs.conf" --images "$T/images" || exit 1
D=$M/ns/default
mode=$(awk '$1=="network"{$1=""; print}' "$M/host/info")
like "$mode" "; uplink $UP$" "host/info names the uplink"
PFX=$(sed -n 's/.*a bridge per VLAN (\([a-z0-9]*\)\.VID).*/\1/p; s/.*vlan-filtering bridge \([a-z0-9]*\)0.*/\1/p' <<<"$mode")
devs() { ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | grep "^$PFX" | sort | tr '\n' ' '; }
mkdir "$D/containers/c1"
echo "LAN1,10.78.0.1/24" >"$D/containers/c1/config/net"
if [[ $mode == *"a bridge per VLAN"* ]] && ! ip link add link "$UP" name "${UP}.7" type vlan id 7 2>/dev/null; then
	echo "# this kernel has no 802.1Q interfaces: the start must fail, saying so"
	is "$(errno_of "$D/containers/c1/ctl" start)" "EOPNOTSUPP" "the start fails"
	like "$(tail -1 "$D/containers/c1/log")" "no 802.1Q VLAN interfaces \(CONFIG_VLAN_8021Q, module 8021q\)" "saying why"
	is "$(cat "$D/containers/c1/state")" "ERROR" "in ERROR"
	is "$(devs)" "" "and nothing of it is left"
	ok "the uplink itself is untouched" sh -c "ip -o link show $UP | grep -vq master"
else
	ip link del "${UP}.7" 2>/dev/null
	ok "the start works" "$XWRITE" "$D/containers/c1/ctl" start
	if [[ $mode == *"a bridge per VLAN"* ]]; then
		ok "an 802.1Q interface of the uplink for VLAN 101" sh -c "ip -d link show ${PFX}u101 | grep -q 'vlan protocol 802.1Q id 101'"
		ok "in VLAN 101's bridge" sh -c "ip -o link show ${PFX}u101 | grep -q 'master $PFX.101'"
	else
		ok "the uplink is a port of the bridge" sh -c "ip -o link show $UP | grep -q 'master ${PFX}0'"
		ok "tagged in VLAN 101" sh -c "bridge vlan show dev $UP | grep -w 101 | grep -vq Untagged"
	fi
	ok "kill" "$XWRITE" "$D/containers/c1/ctl" kill
	is "$(devs)" "" "the VLAN's devices are gone with the last NIC"
	ok "the uplink stays" ip link show "$UP"
fi
vmfs_stop
done_testing
