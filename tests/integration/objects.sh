#!/usr/bin/env bash
# Namespaces, VMs and containers: mkdir/rmdir, launch with ranges, config files that read
# back what was written, tables.
. "$(dirname "$0")/lib.sh"
vmfs_start || exit 1
N=$M/ns

# namespaces
ok "mkdir ns/lab creates a namespace" mkdir "$N/lab"
is "$(ls "$N" | tr '\n' ' ')" "default lab " "ls ns/"
ok "the new namespace has its files" test -f "$N/lab/ctl" -a -d "$N/lab/vms" -a -d "$N/lab/config"
ok "rmdir removes an empty namespace" rmdir "$N/lab"
ok "it is gone" test ! -e "$N/lab"
is "$(rmdir "$N/default" 2>&1)" "rmdir: failed to remove '$N/default': Device or resource busy" "default cannot be removed"

# objects by mkdir, from the namespace template
echo 1G >"$N/default/config/memory"
echo 2 >"$N/default/config/vcpus"
mkdir "$N/default/vms/a" "$N/default/containers/b"
is "$(cat "$N/default/vms/a/config/memory")" "1G" "mkdir copies the template (memory)"
is "$(cat "$N/default/containers/b/config/vcpus")" "2" "mkdir copies the template (vcpus)"
echo 256M >"$N/default/config/memory"
is "$(cat "$N/default/vms/a/config/memory")" "1G" "later template changes do not touch existing objects"
like "$(mkdir "$N/default/containers/a" 2>&1)" "File exists" "names are unique across vms/ and containers/"

# config values read back what was written, validated on write
c=$N/default/vms/a/config
echo 512M >"$c/memory"; is "$(cat "$c/memory")" "512M" "memory 512M"
echo 2G >"$c/memory"; is "$(cat "$c/memory")" "2G" "memory 2G"
echo 4 >"$c/vcpus"; is "$(cat "$c/vcpus")" "4" "vcpus 4"
echo false >"$c/snapshot"; is "$(cat "$c/snapshot")" "false" "snapshot false"
echo 'LAN1 br0,101,00:11:22:33:44:55,virtio-net-pci' >"$c/net"
is "$(cat "$c/net")" "LAN1 br0,101,00:11:22:33:44:55,virtio-net-pci" "net: a list of NIC specs"
echo 'console=ttyS0 quiet' >"$c/append"; is "$(cat "$c/append")" "console=ttyS0 quiet" "append keeps spaces"
echo tcg >"$c/accel"; is "$(cat "$c/accel")" "tcg" "accel tcg"
echo 'role=web tier=1' >"$c/tags"; is "$(cat "$c/tags")" "role=web tier=1" "tags"
is "$(errno_of "$c/memory" 12Q)" "EINVAL" "memory 12Q is refused"
is "$(errno_of "$c/vcpus" 0)" "EINVAL" "vcpus 0 is refused"
is "$(errno_of "$c/vcpus" 1000)" "EINVAL" "vcpus 1000 is refused"
is "$(errno_of "$c/snapshot" maybe)" "EINVAL" "snapshot maybe is refused"
is "$(errno_of "$c/accel" xen)" "EINVAL" "accel xen is refused"
is "$(errno_of "$c/net" 'LAN1,01:00:00:00:00:01')" "EINVAL" "a multicast MAC is refused"
is "$(errno_of "$c/net" '4095')" "EINVAL" "VLAN 4095 is refused"
like "$(errno_of "$c/kernel" /nonexistent/vmlinuz)" "ENOENT|EINVAL" "a kernel path that does not exist is refused"
printf 'x' >"$T/vmlinuz"
echo "$T/vmlinuz" >"$c/kernel"; is "$(cat "$c/kernel")" "$T/vmlinuz" "an existing kernel path is kept"
is "$(cat "$c/memory")" "2G" "refused writes changed nothing"
echo >"$c/memory"; is "$(cat "$c/memory")" "256M" "writing an empty line resets to the default"
echo 3G >"$c/memory"; : >"$c/memory"; is "$(cat "$c/memory")" "256M" "truncating resets to the default"
ok "an unknown parameter cannot be created" sh -c "! echo 1 > '$c/nosuch'"
is "$(wc -l <"$N/default/vms/a/log")" "$(grep -c . "$N/default/vms/a/log")" "the object log has whole lines"
like "$(cat "$N/default/vms/a/log")" "config/memory = 2G" "config changes are logged"

# launch with minimega's ranges
L=$N/default/ctl
ok "launch kvm web[1-20]" "$XWRITE" "$L" "launch kvm web[1-20]"
is "$(ls "$N/default/vms" | grep -c '^web')" "20" "twenty VMs"
ok "launch container db[01-10]" "$XWRITE" "$L" "launch container db[01-10]"
is "$(ls "$N/default/containers" | grep '^db' | head -2 | tr '\n' ' ')" "db01 db02 " "zero padding kept"
ok "launch with a comma list" "$XWRITE" "$L" "launch container x,y,z[1-2]"
is "$(ls "$N/default/containers" | grep -E '^(x|y|z)' | tr '\n' ' ')" "x y z1 z2 " "comma lists and ranges mix"
is "$(errno_of "$L" "launch kvm d1,d2,d1")" "EINVAL" "duplicates in a range are refused"
ok "nothing of a refused launch remains" test ! -e "$N/default/vms/d1"
is "$(errno_of "$L" "launch kvm web5,new1")" "EEXIST" "launch over an existing name is refused"
ok "... and creates none of the others" test ! -e "$N/default/vms/new1"
echo 768M >"$N/default/vms/web1/config/memory"
ok "launch kvm like web1" "$XWRITE" "$L" "launch kvm db[1-3] like web1"
is "$(cat "$N/default/vms/db2/config/memory")" "768M" "like copies the config"
is "$(errno_of "$L" "launch kvm q like nosuch")" "ENOENT" "like an unknown object is ENOENT"
is "$(errno_of "$L" "launch toaster t1")" "EINVAL" "an unknown type is refused"
is "$(errno_of "$L" "launch kvm all")" "EINVAL" "the name all is reserved"

# tables
info=$(cat "$N/default/info")
is "$(printf '%s\n' "$info" | tail -n +2 | wc -l)" "39" "ns info: one row per object"
is "$(printf '%s\n' "$info" | awk -F'\t' '$2=="web7"{print $3, $4}')" "kvm BUILDING" "ns info row: type and state"
is "$(printf '%s\n' "$info" | awk -F'\t' '$2=="db01"{print $3}')" "container" "ns info row of a container"
is "$(printf '%s\n' "$info" | awk -F'\t' '$2=="a"{print $8, $9}')" "256M LAN1,101" "ns info shows memory and VLANs"
is "$(awk '$1=="state"{print $2}' "$N/default/vms/web3/info")" "BUILDING" "object info is key value lines"
is "$(awk '$1=="namespace"{print $2}' "$N/default/vms/web3/info")" "default" "object info names its namespace"
is "$(cat "$N/default/vms/web3/state")" "BUILDING" "state reads BUILDING"
is "$(tail -n +2 "$N/default/top" | wc -l)" "39" "ns top: one row per object"

# acting on many
ok "kill a BUILDING object quits it" "$XWRITE" "$L" "kill web[1-2]"
is "$(cat "$N/default/vms/web1/state")" "QUIT" "web1 QUIT"
ok "flush removes QUIT objects" "$XWRITE" "$L" "flush all"
ok "flushed objects are gone" test ! -e "$N/default/vms/web1"
ok "others stay" test -d "$N/default/vms/web3"
ok "rmdir removes an object" rmdir "$N/default/vms/web3"
is "$(ls "$N/default/vms" | grep -c '^web')" "17" "seventeen left"
is "$(rmdir "$N/default/vms/nosuch" 2>&1)" "rmdir: failed to remove '$N/default/vms/nosuch': No such file or directory" "rmdir of nothing is ENOENT"

vmfs_stop
done_testing
