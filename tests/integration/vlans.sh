#!/usr/bin/env bash
# VLAN aliases (vlans/): allocated on first use from the namespace's range, unique across
# namespaces (one bridge carries them all), pinned by writing an id, removed with rm only
# when no NIC names them, kept across a remount. Bad input: a reason in the log, nothing
# changed. (The devices themselves come with the rest of the VLAN work.)
. "$(dirname "$0")/lib.sh"
vmfs_start || exit 1
D=$M/ns/default
L=$D/vlans

is "$(ls "$L" | tr '\n' ' ')" "range " "no aliases before any NIC names one"
mkdir "$D/containers/c1" "$D/containers/c2"
ok "a NIC on LAN1" "$XWRITE" "$D/containers/c1/config/net" LAN1
is "$(cat "$L/LAN1")" "101" "LAN1 gets the first id of the range"
ok "NICs on LAN1 and LAN2" "$XWRITE" "$D/containers/c2/config/net" "LAN1 LAN2"
is "$(cat "$L/LAN2")" "102" "LAN2 the next"
is "$(ls "$L" | tr '\n' ' ')" "LAN1 LAN2 range " "one file per alias"
ok "a VLAN given by number makes no alias" "$XWRITE" "$D/containers/c2/config/net" "LAN1 LAN2 300"
is "$(ls "$L" | tr '\n' ' ')" "LAN1 LAN2 range " "still two"
like "$(cat "$D/log")" "vlans/LAN1 = 101 \(allocated\)" "the namespace log says what was allocated"

# pinning
ok "pin LAN2 to 555" "$XWRITE" "$L/LAN2" 555
is "$(cat "$L/LAN2")" "555" "pinned"
is "$(errno_of "$L/LAN2" 101)" "EBUSY" "an id another alias has is refused"
like "$(tail -1 "$D/log")" "VLAN 101 is vlans/LAN1 of namespace default already" "saying whose it is"
is "$(errno_of "$L/LAN2" 4095)" "EINVAL" "4095 is not a VLAN id"
is "$(errno_of "$L/LAN2" abc)" "EINVAL" "nor is a word"
is "$(cat "$L/LAN2")" "555" "nothing changed"
ok "a new alias by writing its file" sh -c "echo 777 > '$L/LAN7'"
is "$(cat "$L/LAN7")" "777" "it has that id"
like "$(sh -c "echo 5 > '$L/42'" 2>&1)" "Invalid argument" "an alias is a name, not a number"
like "$(tail -1 "$D/log")" "a VLAN alias is a name such as LAN1, not a number" "saying so"

# removing
like "$(rm "$L/LAN1" 2>&1)" "Device or resource busy" "rm of an alias a NIC names: EBUSY"
like "$(tail -1 "$D/log")" "vlans/LAN1 is in use" "saying why"
ok "rm of an unused alias" rm "$L/LAN7"
ok "it is gone" test ! -e "$L/LAN7"
ok "the alias goes with the last NIC that named it: first the NICs" "$XWRITE" "$D/containers/c2/config/net" "LAN1"
ok "then rm" rm "$L/LAN2"

# two namespaces: the same alias is two VLANs
mkdir "$M/ns/lab"
mkdir "$M/ns/lab/containers/x1"
ok "LAN1 in another namespace" "$XWRITE" "$M/ns/lab/containers/x1/config/net" LAN1
is "$(cat "$M/ns/lab/vlans/LAN1")" "102" "gets another id than default's LAN1 (101)"
ok "a template NIC claims its alias too" "$XWRITE" "$M/ns/lab/config/net" LAN3
is "$(cat "$M/ns/lab/vlans/LAN3")" "103" "LAN3"

# a full range: the write is refused, nothing allocated
ok "a range of one id" "$XWRITE" "$M/ns/lab/vlans/range" "200-200"
ok "LAN4 takes it" "$XWRITE" "$M/ns/lab/containers/x1/config/net" "LAN1 LAN4"
is "$(errno_of "$M/ns/lab/containers/x1/config/net" "LAN5 LAN6")" "ENOSPC" "no id left: refused"
like "$(tail -1 "$M/ns/lab/log")" "no free VLAN id left for LAN5 in vlans/range 200-200" "saying why"
is "$(cat "$M/ns/lab/containers/x1/config/net")" "LAN1 LAN4" "config/net unchanged"
ok "and no alias made" test ! -e "$M/ns/lab/vlans/LAN5"

# kept across a remount
vmfs_stop
vmfs_start || exit 1
is "$(cat "$L/LAN1") $(cat "$M/ns/lab/vlans/LAN1") $(cat "$M/ns/lab/vlans/LAN4")" "101 102 200" "aliases survive a remount"
vmfs_stop
done_testing
