#!/usr/bin/env bash
# User namespaces (docs/security.md): a default container's root is an unprivileged range of
# the host's ids (the user vmfs's, from /etc/subuid and /etc/subgid), its image is given to it
# through an idmapped mount and stays root's on disk, and what it creates belongs to the
# range. config/privileged=true opts out, and only host root may set it. A host without a
# range refuses the start, with the reason. An agent (init) runs each line written to the
# container's fifo/0 and answers on fifo/1, ending with "=RC".
. "$(dirname "$0")/lib.sh"
need_root
use_busybox_image
command -v setpriv >/dev/null || skip_all "needs setpriv (util-linux)"
D=$M/ns/default
C=$D/containers
IMG=$T/images/busybox
START=$(awk -F: '$1 == "vmfs" {print $2; exit}' /etc/subuid)
GSTART=$(awk -F: '$1 == "vmfs" {print $2; exit}' /etc/subgid)
[ -n "$START" ] && [ -n "$GSTART" ] || {
	echo "not ok 1 - /etc/subuid and /etc/subgid give vmfs a range (./setup: scripts/mkuser)"
	exit 1
}

fifo_agent "$IMG/bin/userns-agent" "userns agent up"
cp -a "$IMG" "$T/images/excl" # an image for snapshot=false, which writes into it

stop_all() { kill_flush_all "$D"; }
EXTRA_CLEANUP=stop_all

# inct NAME CMD: CMD run by NAME's agent; OUT: its output, RC: its status ("none": no answer)
inct() { fifo_run "$C/$1" "$2"; }
# ct NAME [KEY=VALUE...]: makes and starts a container running the agent
ct() {
	local name=$1 kv
	shift
	mkdir "$C/$name"
	echo 2 >"$C/$name/config/fifo"
	echo /bin/userns-agent >"$C/$name/config/init"
	for kv in "$@"; do echo "${kv#*=}" >"$C/$name/config/${kv%%=*}"; done
	ok "$name: starts" "$XWRITE" "$C/$name/ctl" start || sed 's/^/#   log: /' "$C/$name/log"
	ok "$name: its agent is up" wait_for 10 console_has "$C/$name" "userns agent up"
}
squash() { printf '%s\n' "$1" | tr -s ' \t' ' ' | sed 's/^ //'; }

chmod 755 "$T" # nobody must reach the mount point
vmfs_start --images "$T/images" -o allow_other || exit 1

# --- host/info
like "$(grep '^userns ' "$M/host/info")" "^userns yes \(vmfs $START\+65536, idmapped mounts\)$" \
	"host/info: userns yes (vmfs $START+65536, idmapped mounts)"

# --- a default container
ct u
inct u 'cat /proc/self/uid_map; cat /proc/self/gid_map'
is "$(squash "$OUT")" "0 $START 65536
0 $GSTART 65536" "uid_map and gid_map inside: 0..65535 are host $START.. and $GSTART.."
inct u 'id -u; id -g; ls -ln /bin/busybox | awk "{print \$3\":\"\$4}"'
is "$(printf '%s' "$OUT" | paste -sd' ')" "0 0 0:0" "inside it is root, and the image's files are root's"
ipid=$(awk '$1 == "pid" {print $2}' "$C/u/info")
is "$(awk '/^Uid:/ {print $2} /^Gid:/ {print $2}' "/proc/$ipid/status" | paste -sd' ')" \
	"$START $GSTART" "on the host its init runs as uid $START, gid $GSTART"

UP=$S/ns/default/containers/u/run/upper
inct u 'touch /made-here && mkdir /dir-here && echo x >/tmp/file-here && echo made'
is "$OUT" "made" "it creates files in / and /tmp"
is "$(stat -c %u:%g "$UP/made-here" "$UP/dir-here" "$UP/tmp/file-here" | sort -u)" "$START:$GSTART" \
	"in the overlay's upper layer on the host they are $START:$GSTART's, not root's"
is "$(stat -c %u:%g "$IMG" "$IMG/bin/busybox" "$IMG/tmp" | sort -u)" "0:0" \
	"the image on disk is unchanged: still root's"
ok "... and holds nothing the container made" test ! -e "$IMG/made-here"

inct u 'cp /bin/busybox /suid && chmod 4755 /suid && ls -ln /suid | cut -c1-10'
is "$OUT" "-rwsr-xr-x" "it writes a setuid program, root's inside"
is "$(stat -c '%A %u' "$UP/suid")" "-rwsr-xr-x $START" \
	"on the host that program is setuid $START, not setuid root"

# --- what its root cannot do
mkdir -p "$T/vol" && echo host-secret >"$T/vol/secret" && chmod 600 "$T/vol/secret"
chmod 755 "$T/vol"
echo "kill" >"$C/u/ctl"
echo "$T/vol:/vol" >"$C/u/config/volume"
ok "u: starts again with a volume holding a host root's 0600 file" "$XWRITE" "$C/u/ctl" start
wait_for 10 console_has "$C/u" "userns agent up" >/dev/null
inct u 'cat /vol/secret'
like "$RC:$OUT" "^[1-9][0-9]*:.*Permission denied" \
	"its root cannot read a host root's 0600 file (no capability over ids outside its range)"
inct u 'touch /vol/new'
like "$RC:$OUT" "^[1-9][0-9]*:.*Permission denied" "nor write into a host root's directory"
inct u 'mknod /tmp/null c 1 3'
like "$RC:$OUT" "^[1-9][0-9]*:.*Operation not permitted" "mknod c 1 3: refused (no device node in a user namespace)"
inct u 'touch /tmp/f && chown 70000 /tmp/f'
like "$RC:$OUT" "^[1-9][0-9]*:.*Invalid argument" "chown to a uid outside the map (70000): refused"
inct u 'ls /proc/1/root/ >/dev/null && cat /proc/1/environ | wc -c'
is "$RC" "0" "control: its own /proc/1/root works"
inct u "ls /proc/$VMFS_PID/root"
like "$RC" "^[1-9]" "the host's processes (vmfs, pid $VMFS_PID) are out of reach"
inct u 'nsenter -t 1 -U true'
like "$RC:$OUT" "^[1-9][0-9]*:.*Operation not permitted" "setns into a user namespace: refused"

# --- config/preinit: run by the shim as host root, in the container's UTS and network
# namespaces (so it may add a route, which the container's root may not)
# (it also says 64 KiB on the console, more than a terminal holds, and notes its groups)
printf '#!/bin/sh\nhostname >"$CONTAINER_ROOT/tmp/pre.host" && ip route add 10.99.0.0/24 dev lo\n%s\n%s\n' \
	'cat /proc/self/cgroup >"$CONTAINER_ROOT/tmp/pre.cg"' 'head -c 65536 /dev/zero | tr "\0" x' \
	>"$T/images/pre.sh"
chmod 755 "$T/images/pre.sh"
ct r preinit=pre.sh
inct r 'cat /tmp/pre.host; ip route | grep -c 10.99.0.0/24; ip route add 10.98.0.0/24 dev lo'
like "$(printf '%s' "$OUT" | paste -sd' ')" "^r 1 .*(Operation not permitted|Permission denied)" \
	"preinit ran in its UTS namespace and added a route; the container's root may not add one"
is "$(stat -c %u "$S/ns/default/containers/r/run/upper/tmp/pre.host")" "0" \
	"... what preinit wrote is host root's (it is the host's program)"
like "$(grep ':pids:' "$S/ns/default/containers/r/run/upper/tmp/pre.cg")" "/default/r(/container)?$" \
	"... it ran in the container's groups (its limits hold it, a kill ends it)"
ok "... and its 64 KiB of output did not hold the start (the console was drained)" \
	sh -c "tr -cd x <'$C/r/console.log' | wc -c | grep -qx 65536"

# --- a container with a NIC: vmfs makes its network namespace inside its user namespace
ct w net=LAN1,10.79.0.1/24 preinit=pre.sh
ct w2 net=LAN1,10.79.0.2/24
inct w 'cat /proc/self/uid_map; ls /sys/class/net | paste -sd" "; ip -o -4 addr show eth0 | grep -o "10.79.0.1/24"'
is "$(squash "$OUT")" "0 $START 65536
eth0 lo
10.79.0.1/24" "with a NIC: mapped, /sys/class/net shows its own devices only (eth0 lo), and its address"
wpid=$(awk '$1 == "pid" {print $2}' "$C/w/info")
is "$(squash "$(nsenter --net="/proc/$wpid/ns/net" cat /proc/sys/net/ipv4/ping_group_range)")" \
	"1 0" "its ping_group_range is the kernel's: no ICMP echo socket for anyone"
inct w 'ping -c 2 -W 2 10.79.0.2'
like "$RC:$(printf '%s' "$OUT" | grep 'packets received')" "^0:2 packets transmitted, 2 packets received" "busybox ping to w2 over LAN1 works: a raw socket (CAP_NET_RAW over its network)"
inct w 'ip link add d0 type dummy'
like "$RC:$OUT" "^[1-9][0-9]*:.*Operation not permitted" \
	"ip link add in it: EPERM, no CAP_NET_ADMIN (Docker's default set)"
ok "its network namespace is owned by its user namespace: every capability there suffices to add a link" \
	nsenter --user="/proc/$wpid/ns/user" --net="/proc/$wpid/ns/net" ip link add vq0 type veth peer name vq1
nsenter --net="/proc/$wpid/ns/net" ip link del vq0 2>/dev/null
is "$(stat -L -c %i "/proc/$wpid/ns/user" "/proc/$wpid/ns/net" | paste -sd' ')" \
	"$(stat -L -c %i "$S/ns/default/containers/w/run/userns" "$S/ns/default/containers/w/run/netns" | paste -sd' ')" \
	"... the ones vmfs bound on run/userns and run/netns"
inct w 'cat /tmp/pre.host; ip route | grep -c 10.99.0.0/24'
is "$(printf '%s' "$OUT" | paste -sd' ')" "w 1" "preinit, as host root, added its route in that network namespace"
inct w 'ls /sys/firmware | wc -l; touch /sys/x'
like "$(printf '%s' "$OUT" | paste -sd' ')" "^0 .*Read-only file system" "... /sys read-only, /sys/firmware masked"

# --- snapshot=false: the image itself, idmapped
ct x filesystem=excl snapshot=false
inct x 'cat /proc/self/uid_map; touch /excl-made && ls -ln /excl-made | awk "{print \$3}"'
is "$(squash "$OUT")" "0 $START 65536
0" "snapshot=false: mapped too, and its file is root's inside"
is "$(stat -c %u:%g "$T/images/excl/excl-made")" "0:0" \
	"... on disk the file it made is 0:0: the idmapped mount writes container ids as image ids"
is "$(stat -c %u:%g "$T/images/excl/bin/busybox")" "0:0" "... and the image's own files stay root's"

# --- privileged=true: no user namespace
ct p privileged=true "volume=$T/vol:/vol"
inct p 'cat /proc/self/uid_map; cat /vol/secret'
is "$(squash "$OUT")" "0 0 4294967295
host-secret" "privileged=true: no user namespace (uid_map 0 0 4294967295), host root's file readable"
is "$(cat "$C/p/config/privileged")" "true" "config/privileged reads true"

mkdir "$M/ns/lab" && chown 65534:65534 "$M/ns/lab"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
ok "nobody: mkdir its ns/lab/containers/c" as_nobody mkdir "$M/ns/lab/containers/c"
is "$(as_nobody "$XWRITE" "$M/ns/lab/containers/c/config/memory" 128M)" "" \
	"control: nobody sets its container's memory"
is "$(as_nobody "$XWRITE" "$M/ns/lab/containers/c/config/privileged" true)" "EPERM" \
	"nobody may not set config/privileged (EPERM)"
is "$(cat "$M/ns/lab/containers/c/config/privileged")" "false" "... which stays false"
like "$(cat "$M/ns/lab/containers/c/log")" "config/privileged: only host root may set it" \
	"... and the container's log says why"
is "$(as_nobody "$XWRITE" "$M/ns/lab/config/privileged" true)" "EPERM" \
	"nor in its namespace's defaults"
is "$("$XWRITE" "$M/ns/lab/containers/c/config/privileged" yes)" "EINVAL" \
	"root: privileged=yes is refused (true or false only)"
is "$("$XWRITE" "$M/ns/lab/containers/c/config/privileged" true)" "" "root: privileged=true is taken"

# --- a kernel before 6.13 (no lowerdir+ by descriptor): the idmapped image reaches the
# overlay by a path in the run directory, only while the overlay is made
stop_all
vmfs_stop || exit 1
VMFS_SHIM_OVERLAY_LOWER=path vmfs_start --images "$T/images" || exit 1
ct old
inct old 'id -u; ls -ln /bin/busybox | awk "{print \$3}"; touch /old-made && echo made'
is "$(printf '%s' "$OUT" | paste -sd' ')" "0 0 made" "the older kernels' way: root inside, the image root's, a file made"
is "$(stat -c %u:%g "$S/ns/default/containers/old/run/upper/old-made")" "$START:$GSTART" \
	"... owned by $START:$GSTART on the host"
like "$(grep " $S/ns/default/containers/old/run/root " /proc/self/mountinfo)" "lowerdir=$S/ns/default/containers/old/run/lower" \
	"... its overlay was given the layer by that path"
ok "... and nothing stays mounted on run/lower" sh -c "! grep -q ' $S/ns/default/containers/old/run/lower ' /proc/self/mountinfo"
stop_all
vmfs_stop || exit 1

# --- a host without a range: refused, unless privileged
: >"$T/subuid.empty"
VMFS_SUBUID=$T/subuid.empty vmfs_start --images "$T/images" || exit 1
like "$(grep '^userns ' "$M/host/info")" "^userns no \($T/subuid.empty has no range for the user vmfs" \
	"no range: host/info says userns no, and why"
mkdir "$C/n"
is "$("$XWRITE" "$C/n/ctl" start)" "EPERM" "a default container's start is refused (EPERM)"
is "$(cat "$C/n/state")" "ERROR" "... it is in ERROR"
like "$(cat "$C/n/log")" "userns no \($T/subuid.empty has no range for the user vmfs.*config/privileged" \
	"... and its log says why, and what opts out"
ct q privileged=true
inct q 'cat /proc/self/uid_map'
is "$(squash "$OUT")" "0 0 4294967295" "privileged=true still starts, without a user namespace"
stop_all
done_testing
