#!/usr/bin/env bash
# The infrastructure of the cluster tests (cluster_lib.sh), not the cluster: three member
# hosts come up, each with its network namespace, sshd, host name and vmfs; the head (this
# script) reaches them over ssh and sshfs; a cut link makes reads through sshfs fail within
# seconds and a restored one answers again; the teardown leaves nothing behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster_lib.sh"
need_root
use_busybox_image
ms() { echo $(($(date +%s%N) / 1000000)); }
fails() { ! "$@"; }

if ! cluster_setup 3; then
	echo "not ok 1 - three member hosts come up"
	echo "1..1"
	exit 1
fi
ok "three member hosts come up (in $CLUSTER_SETUP_MS ms)" true
echo "# setup of 3 members: $CLUSTER_SETUP_MS ms; subnet ${CLUSTER_HEAD_ADDR%.1}.0/24, prefix $CLUSTER_ID"
tops=
for i in 1 2 3; do
	a=$(cluster_var ADDR $i)
	mnt=$(cluster_var MNT $i)
	like "$(cluster_ssh $i cat "$mnt/version")" "^vmfs " "h$i: ssh root@$a cat $mnt/version"
	is "$(cluster_ssh $i "awk '\$1==\"name\"{print \$2}' $mnt/host/info")" "h$i" "h$i: host/info says name h$i"
	is "$(cluster_ssh $i hostname)" "h$i" "h$i: its own UTS name"
	is "$(cluster_ssh $i "ip -o -4 addr show eth0" | awk '{print $4}')" "$a/24" "h$i: eth0 has $a/24"
	is "$(cluster_ssh $i ls /sys/class/net | tr '\n' ' ')" "eth0 lo " "h$i: its /sys shows its own network namespace"
	tops+="$(cluster_ssh $i "awk '\$1==\"cgroup_top\"{print \$2}' $mnt/host/info") "
done
is "$(tr ' ' '\n' <<<"$tops" | grep . | sort -u | wc -l)" 3 "each member has a cgroup tree of its own ($tops)"
ok "a member reaches another over the bridge" cluster_ssh 1 "$T/images/busybox/bin/busybox ping -c 1 -W 2 $CLUSTER_ADDR_3"
ok "cluster_on enters a member without ssh" sh -c "[ \"\$(nsenter -t $CLUSTER_PID_2 -n -m -u hostname)\" = h2 ]"
is "$(cluster_on 2 hostname)" "h2" "cluster_on 2 hostname"

# the head mounts member 2's tree, as the cluster code will
H=$T/head/h2
mkdir -p "$H"
ok "sshfs mounts member 2's tree with cluster_sshfs_opts" \
	sshfs -o "$(cluster_sshfs_opts)" "root@$CLUSTER_ADDR_2:$CLUSTER_MNT_2" "$H"
is "$(ls "$H/ns")" "default" "ls ns/ through sshfs"
is "$(awk '$1=="name"{print $2}' "$H/host/info")" "h2" "host/info through sshfs says h2"
like "$(cat "$H/ns/default/info")" "^id	name	type" "a generated file reads whole through sshfs (direct_io)"
ok "echo 'launch container c1' >> ns/default/ctl through sshfs" sh -c "echo 'launch container c1' >> '$H/ns/default/ctl'"
is "$(cluster_ssh 2 cat "$CLUSTER_MNT_2/ns/default/containers/c1/state")" "BUILDING" "member 2 itself has c1 (BUILDING)"
is "$(ls "$H/ns/default/containers")" "c1" "ls through sshfs shows c1"
ok "echo 'start c1' >> ns/default/ctl through sshfs" sh -c "echo 'start c1' >> '$H/ns/default/ctl'"
is "$(cat "$H/ns/default/containers/c1/state")" "RUNNING" "c1 is RUNNING, through sshfs"
is "$(cluster_ssh 2 cat "$CLUSTER_MNT_2/ns/default/containers/c1/state")" "RUNNING" "and on member 2 itself"
is "$(cluster_ssh 1 ls "$CLUSTER_MNT_1/ns/default/containers")$(cluster_ssh 3 ls "$CLUSTER_MNT_3/ns/default/containers")" \
	"" "members 1 and 3 have no container"
ok "a refused command fails the write through sshfs (sshfs_sync)" sh -c "! echo 'bogus c1' >> '$H/ns/default/ctl'"
like "$(tail -1 "$H/ns/default/log")" 'unknown command "bogus"' "and member 2's log says why"
# OpenSSH's sftp-server seeks before each read and each write that is not O_APPEND: vmfs's
# ctl and console take an lseek (and ignore it), so plain `>` and reads work through sshfs
ok "echo CMD > ctl through sshfs runs it" sh -c "echo 'launch container n1' >'$H/ns/default/ctl'"
ok "the container is made" test -e "$H/ns/default/containers/n1"
echo 'flush n1' >>"$H/ns/default/ctl"
ok "a console reads through sshfs" test -n "$(timeout 3 head -c 20 "$H/ns/default/containers/c1/console" 2>/dev/null)"
exec 3<>"$H/ns/default/ctl"
echo 'start all' >&3
like "$(cat <&3)" "^ok: start" "a ctl's answer reads back through sshfs"
exec 3>&-

# a cut link: a read through sshfs fails within seconds; restored, it answers again
ok "cluster_cut 2" cluster_cut 2
t=$(ms)
timeout 20 cat "$H/ns/default/info" >/dev/null 2>&1
rc=$?
cut_ms=$(($(ms) - t))
echo "# a read through sshfs of the cut member ended after $cut_ms ms with rc $rc (124: timeout)"
ok "a read through the cut member's sshfs mount fails within 8 s ($cut_ms ms, rc $rc)" \
	test "$rc" != 0 -a "$cut_ms" -lt 8000
t=$(ms)
ok "ssh to the cut member fails" fails cluster_ssh 2 true
echo "# ssh to the cut member gave up after $(($(ms) - t)) ms"
ok "member 1 still answers while 2 is cut" cluster_ssh 1 true
ok "member 3 too" cluster_ssh 3 true
ok "cluster_restore 2" cluster_restore 2
t=$(ms)
ok "the sshfs mount answers again (reconnect)" wait_for 20 cat "$H/version"
echo "# the sshfs mount answered again $(($(ms) - t)) ms after the restore"
is "$(cat "$H/ns/default/containers/c1/state")" "RUNNING" "and reads c1's state"

# the teardown leaves nothing
pids=
for i in 1 2 3; do
	pids+="$(cluster_var PID $i) $(cat "$(cluster_var DIR $i)/vmfs.pid") $(cat "$(cluster_var DIR $i)/sshd.pid") "
done
sshfs_pid=$(pgrep -f -- " $H\$")
like "$sshfs_pid" "^[0-9]+$" "the sshfs process of the head ($sshfs_pid)"
nsids=$(cluster_var NSIDS 1)$(cluster_var NSIDS 2)$(cluster_var NSIDS 3)
t=$(ms)
# not through ok: what the teardown says (a member's sanitizer report, its not ok lines) must show
cluster_teardown
is "$?" 0 "cluster_teardown"
echo "# teardown of 3 members: $(($(ms) - t)) ms"
is "$(ip netns list | grep -c "^$CLUSTER_ID-")" "0" "no netns left"
is "$(ip -o link show | grep -c ": $CLUSTER_ID-")" "0" "no veth or bridge left"
left=
# (the head's sshfs ends once the kernel has dropped its mount: give it the moment it takes)
for p in $pids $sshfs_pid; do wait_for 5 gone "$p" || left+="$p "; done
is "$left" "" "holders, vmfs, sshd and sshfs are gone"
is "$(pgrep -f -- "$T" | tr '\n' ' ')" "" "no process names the test directory"
left=
for p in /proc/[0-9]*; do
	for ns in net mnt uts; do
		id=$(readlink "$p/ns/$ns" 2>/dev/null) && [[ " $nsids" == *" $id "* ]] && left+="${p#/proc/} "
	done
done
is "$left" "" "no process in a member's namespaces"
is "$(grep -c " $T" /proc/mounts)" "0" "no mount under the test directory"
left=
for g in $tops; do left+=$(ls -d /sys/fs/cgroup/*/"$g" /sys/fs/cgroup/"$g" 2>/dev/null); done
is "$left" "" "no cgroup of a member left"
done_testing
