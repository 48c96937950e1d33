#!/usr/bin/env bash
# The whole tree of docs/tree.md exists and reads sensibly.
. "$(dirname "$0")/lib.sh"
vmfs_start || exit 1

is "$(cat "$M/version")" "vmfs 0.1.0" "version"
is "$(ls "$M" | tr '\n' ' ')" "host hosts images ns version " "top level"
is "$(ls "$M/host" | tr '\n' ' ')" "info log top " "host/"
info=$(cat "$M/host/info")
for key in name cpus memory load kvm cgroup namespaces vms containers state images; do
	ok "host/info has $key" grep -q "^$key [^ ]" <<<"$info"
done
like "$(head -1 "$M/host/top")" "^host	cpu%	load1" "host/top has a header"
h=$(hostname)
ok "hosts/ lists this host" test -d "$M/hosts/$h"
is "$(cat "$M/hosts/$h/state")" "up" "hosts/$h/state"
ok "hosts/ctl exists" test -f "$M/hosts/ctl"
ok "images/ is a directory" test -d "$M/images"
is "$(ls "$M/ns")" "default" "ns/ holds default"
is "$(ls "$M/ns/default" | tr '\n' ' ')" "config containers ctl hosts info log taps top vlans vms " "a namespace's files"
is "$(cat "$M/ns/default/vlans/range")" "101-4094" "vlans/range default"
is "$(cat "$M/ns/default/hosts")" "$h" "hosts default: this host"
like "$(head -1 "$M/ns/default/info")" "^id	name	type	state	host	uptime	vcpus	memory	vlan	tap	mac	ip	pid" "ns info header (minimega's columns)"
is "$(wc -l <"$M/ns/default/info")" "1" "empty namespace: header only"
like "$(head -1 "$M/ns/default/top")" "^name	type	state	host	cpu%	rss" "ns top header"
for p in memory vcpus kernel initrd append disk cdrom net snapshot machine cpu accel vga tags filesystem init preinit hostname fifo volume; do
	ok "config/$p exists" test -f "$M/ns/default/config/$p"
done
is "$(cat "$M/ns/default/config/memory")" "256M" "memory default"
is "$(cat "$M/ns/default/config/accel")" "auto" "accel default"
like "$(cat "$M/ns/default/ctl")" "launch kvm\|container" "reading ctl lists its commands"
like "$(cat "$M/ns/default/ctl")" "move NAME HOST" "... move among them"

mkdir "$M/ns/default/vms/v1" "$M/ns/default/containers/c1"
is "$(ls "$M/ns/default/vms/v1" | tr '\n' ' ')" "config console console.log ctl info log qmp screenshot.png state thumbnail.png top vnc " "a VM's files"
is "$(ls "$M/ns/default/containers/c1" | tr '\n' ' ')" "config console console.log ctl fifo info log state top " "a container's files"
ok "a VM has kernel in config/" test -f "$M/ns/default/vms/v1/config/kernel"
ok "a container has no kernel in config/" test ! -e "$M/ns/default/containers/c1/config/kernel"
ok "a container has filesystem in config/" test -f "$M/ns/default/containers/c1/config/filesystem"
is "$(cat "$M/ns/default/vms/v1/state")" "BUILDING" "a new VM is BUILDING"
ok "stat of a missing file is ENOENT" test ! -e "$M/ns/default/nosuch"

vmfs_stop
is "$?" "0" "fusermount3 -u unmounts and vmfs exits 0"
ok "no mount left" sh -c "! grep -q ' $M ' /proc/mounts"
done_testing
