#!/usr/bin/env bash
# With etcd, `move NAME HOST` of a stopped object (docs/cluster-design.md, "Drain, move, live
# migration"; docs/tree.md, "Many hosts"): a cold move. Three hosts; c1, a container of h1
# with a file written in its root filesystem, is moved to h2 by a write on h3: its state
# arrives (the file in its upper directory, its log), it starts on h2, h1's copy is gone,
# every host lists it on h2.
# v1, a VM of h1 with a disk overlay written to, moves to h3: the overlay arrives byte for
# byte; c1 moves again on a write on its destination; c2 carries 128 MiB. Refused with words:
# a running container ("stop it first"), a host draining or down, a host not in the
# namespace, an unknown host or name. While a claim is marked moving (forged here with
# etcdctl, as a destination that died would leave it) its verbs are EBUSY "moving to H" and
# its owner shows export.tar to root only; once its intent goes the owner takes the mark
# back. A partial copy goes at the destination's next start.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
use_busybox_image
use_boot_image
command -v qemu-io >/dev/null || { echo "not ok 1 - qemu-io is installed (./setup --deps: qemu-utils)"; exit 1; }
qemu-img create -q -f qcow2 "$T/images/base.qcow2" 16M

EXTRA_CLEANUP="etcd_flush_all; $EXTRA_CLEANUP"

etcd_one
etcd_members 3 "$U" "p9 = 0.0.0.0:5640" "p9_user = root" "p9_peers = cluster" \
	"images = $T/images" || { echo "not ok 1 - three members start"; exit 1; }
D1=$(mnt 1)/ns/default D2=$(mnt 2)/ns/default D3=$(mnt 3)/ns/default
S1=$T/h1/state/ns/default S2=$T/h2/state/ns/default S3=$T/h3/state/ns/default
ask() { "$XWRITE" -r "$1/ctl" "$2" 2>&1; } # ask NSDIR LINE: the answer read back (or error)
# host_of NSDIR NAME: the host column of NAME's row in that host's ns info
host_of() { awk -F'\t' -v n="$2" 'NR == 1 {for (i = 1; i <= NF; i++) h[$i] = i; next}
	$2 == n {print $h["host"]}' "$1/info"; }
on_all() { for d in "$D1" "$D2" "$D3"; do [ "$(host_of "$d" "$1")" = "$2" ] || return 1; done; }

# each host holds an object of default (p1 p2 p3), so that each is one of its hosts
for i in 1 2 3; do echo "h$i" >"$(mnt "$i")/ns/default/config/host"; mkdir "$(mnt "$i")/ns/default/containers/p$i"; done
P=/vmfs/$ETCD_CLUSTER
ns_hosts() { ETCDCTL_API=3 etcdctl --endpoints "$U" get --print-value-only "$P/ns/default" | sed -n 's/^hosts=//p'; }
hosts_all() { [ "$(ns_hosts | tr ' ' '\n' | sort | tr '\n' ' ')" = "h1 h2 h3 " ]; }
ok "default spans the three hosts" wait_for 10 hosts_all
"$XWRITE" "$D1/ctl" "launch container c1"
ok "c1 is h1's" wait_for 10 on_all c1 h1
is "$(errno_of "$D1/containers/c1/ctl" start)" "" "c1 starts on h1"
ok "it runs" wait_for 10 grep -q '^RUNNING' "$D1/containers/c1/state"
ok "a file written in its root filesystem" console_run "$D1/containers/c1" "wrote-0" \
	'echo moved-$((6*7)) >/marker; sync; echo wrote-$?'

out=$(ask "$D3" "move c1 h2")
like "$out" "stop it first" "move of a running container: refused, in words"
is "$(errno_of "$D3/ctl" "move c1 h2")" EBUSY "(EBUSY)"
is "$(host_of "$D1" c1)" h1 "c1 stays on h1"
"$XWRITE" "$D1/containers/c1/ctl" stop
ok "c1 stops" wait_for 20 grep -q '^QUIT' "$D1/containers/c1/state"
ok "h3 sees it stopped" wait_for 10 grep -q '^QUIT' "$D3/containers/c1/state"
ok "its file is in h1's state (upper directory)" grep -q moved-42 "$S1/containers/c1/run/upper/marker"

# refusals: a host draining, a host not in the namespace, no such host
echo "drain h2" >"$(mnt 1)/hosts/ctl"
out=$(ask "$D3" "move c1 h2")
like "$out" "h2 is draining since" "a draining host: refused, in words ($out)"
is "$(errno_of "$D3/ctl" "move c1 h2")" EBUSY "(EBUSY)"
echo "undrain h2" >"$(mnt 1)/hosts/ctl"
like "$(ask "$D3" "move c1 h9")" "no such host" "an unknown host: refused"
like "$(ask "$D3" "move c1 h1")" "on h1 already" "its own host: refused"
like "$(ask "$D3" "move nosuch h2")" "no VM or container named nosuch" "an unknown name: refused"
mkdir "$(mnt 1)/ns/solo" && mkdir "$(mnt 1)/ns/solo/containers/s1"
# (its claim reaches the cluster a moment after the mkdir: "not in the cluster yet" until then)
solo_refused() { ask "$(mnt 1)/ns/solo" "move s1 h2" | grep -q "h2 is not a host of ns/solo"; }
ok "a host not in the namespace's hosts: refused, in words" wait_for 10 solo_refused
is "$(errno_of "$(mnt 1)/ns/solo/ctl" "move s1 h2")" EINVAL "(EINVAL)"

# the cold move, written on a third host
t0=$(date +%s%N)
out=$(ask "$D3" "move c1 h2")
ms=$((($(date +%s%N) - t0) / 1000000))
like "$out" "^h2: ok" "move c1 h2 from h3: h2 answers ok ($out, ${ms} ms)"
ok "every host lists c1 on h2" wait_for 10 on_all c1 h2
ok "h1's copy is gone" wait_for 10 sh -c '! test -e "$1"' _ "$S1/containers/c1"
ok "h2 has its state" test -f "$S2/containers/c1/config"
ok "with the file written on h1" grep -q moved-42 "$S2/containers/c1/run/upper/marker"
ok "no archive is left on either side" sh -c '! ls "$1"/h1/state/cluster/export/* "$2"/containers/.c1.* 2>/dev/null | grep -q .' _ "$T" "$S2"
ok "h2's log says where from" grep -q "moved in from h1" "$D2/containers/c1/log"
is "$(errno_of "$D1/containers/c1/ctl" start)" "" "c1 starts (from h1's tree: a command to h2)"
ok "it runs on h2" wait_for 10 grep -q '^RUNNING' "$D2/containers/c1/state"
# (a start makes the container's run/ anew, upper/ with it, as on one host: the file was the
# state as it stood, checked above)
"$XWRITE" "$D2/containers/c1/ctl" kill
# written on the destination itself: no command, the same steps
ok "h3 sees c1 stopped" wait_for 10 grep -Eq '^(QUIT|ERROR)' "$D3/containers/c1/state"
like "$(ask "$D3" "move c1 h3")" "^ok: moved c1 from h2 to h3" "move c1 h3 written on h3"
ok "every host lists c1 on h3" wait_for 10 on_all c1 h3
ok "h2's copy is gone" wait_for 10 sh -c '! test -e "$1"' _ "$S2/containers/c1"
CG2=$(etcd_cgroup_top 2)
ok "and its cgroup on h2 (it ran there)" sh -c '[ -n "$1" ] && ! ls -d /sys/fs/cgroup/*/"$1"/default/c1 /sys/fs/cgroup/"$1"/default/c1 2>/dev/null | grep -q .' _ "$CG2"

# a stopped VM with a written overlay: h1 -> h3, the write on h1
mkdir "$D1/vms/v1"
echo tcg >"$D1/vms/v1/config/accel"
echo vmlinuz >"$D1/vms/v1/config/kernel"
echo initrd >"$D1/vms/v1/config/initrd"
echo base.qcow2 >"$D1/vms/v1/config/disk"
"$XWRITE" "$D1/vms/v1/ctl" start
ok "v1 made its overlay on h1" wait_for 20 test -f "$S1/vms/v1/disk0.qcow2"
"$XWRITE" "$D1/vms/v1/ctl" kill
ok "v1 is stopped" wait_for 20 grep -Eq '^(QUIT|ERROR)' "$D1/vms/v1/state"
# (its QEMU's lock on the overlay may outlast the state's change by a moment)
ok "a pattern written into the overlay" wait_for 10 \
	qemu-io -f qcow2 -c "write -P 0x5a 1M 256k" "$S1/vms/v1/disk0.qcow2"
sum1=$(sha256sum <"$S1/vms/v1/disk0.qcow2")
ok "v1 is claimed" wait_for 10 on_all v1 h1
ok "h3 sees it stopped" wait_for 10 grep -Eq '^(QUIT|ERROR)' "$D3/vms/v1/state"
out=$(ask "$D1" "move v1 h3")
like "$out" "^h3: ok" "move v1 h3 from h1 ($out)"
ok "every host lists v1 on h3" wait_for 10 on_all v1 h3
ok "h1's copy is gone" wait_for 10 sh -c '! test -e "$1"' _ "$S1/vms/v1"
is "$(sha256sum <"$S3/vms/v1/disk0.qcow2")" "$sum1" "its overlay arrives byte for byte"
ok "the pattern reads back on h3" \
	qemu-io -f qcow2 -c "read -P 0x5a 1M 256k" "$S3/vms/v1/disk0.qcow2"
is "$(cat "$S3/vms/v1/disk0.qcow2.base")" "$T/images/base.qcow2" \
	"the overlay's base is h3's image"

# a value that reaches the host goes only where the destination's own template has it
mkdir "$D1/containers/c3"
echo true >"$D1/containers/c3/config/privileged"
priv_seen() { [ "$(cat "$D2/containers/c3/config/privileged" 2>/dev/null)" = true ]; }
ok "h2 sees c3 privileged" wait_for 10 priv_seen
like "$(ask "$D1" "move c3 h2")" "h2: EPERM: c3's privileged reaches the host" \
	"a privileged container to a host whose template is not: refused, in words"
ok "c3 stays h1's" test -f "$S1/containers/c3/config"

# 128 MiB of state (verbs while it is marked: below, with a mark that stays)
mkdir "$D2/containers/c2"
ok "c2 is h2's" wait_for 10 on_all c2 h2
dd if=/dev/urandom of="$S2/containers/c2/big" bs=1M count=128 2>/dev/null
sum2=$(sha256sum <"$S2/containers/c2/big")
"$XWRITE" "$D3/ctl" "move c2 h1" >"$T/move2.out" 2>&1
is "$(cat "$T/move2.out")" "" "the move of c2 ends well"
ok "c2 is h1's" wait_for 10 on_all c2 h1
is "$(sha256sum <"$S1/containers/c2/big")" "$sum2" "its 128 MiB came along"
ok "and no export.tar once it is over" sh -c '! test -e "$1" && [ -z "$(find "$2" -type f)" ]' _ "$D1/containers/c2/export.tar" "$T/h2/state/cluster/export"

# a mark whose move never came (its destination died, its intent rolled back): forged here with
# etcdctl. While marked, verbs on c2 are EBUSY and its owner shows export.tar to root; once
# the intent goes, the owner takes the mark back
NSID=$(ectl get --print-value-only "$P/ns/default" | sed -n 's/^id=//p')
CK=$P/name/$NSID/c2
claim=$(ectl get --print-value-only "$CK")
# (values end in a newline: etcdctl takes them from its standard input)
printf 'v=1\nhost=h3\nkind=move\nns=%s\nobjects=c2:1:h3\nphase=creating\n' "$NSID" |
	ectl put "$P/intent/h3.1.1" >/dev/null
{ printf '%s\n' "$claim" | grep -v '^intent='; printf 'moving=h3\nintent=h3.1.1\n'; } | ectl put "$CK" >/dev/null
moving_busy() { ask "$D2" "kill c2" | grep -q "c2 is moving to h3"; }
ok "a claim marked moving: kill c2 is refused, in words" wait_for 10 moving_busy
is "$(errno_of "$D2/ctl" "kill c2")" EBUSY "(EBUSY)"
like "$(ask "$D1" "kill c2")" "c2 is moving to h3" "on its owner too"
is "$(errno_of "$D1/containers/c2/ctl" kill)" EBUSY "and through its own ctl there"
like "$(rmdir "$D1/containers/c2" 2>&1)" "busy" "rmdir of it there: EBUSY"
ok "its owner shows export.tar, mode 0400" wait_for 10 sh -c 'test "$(stat -c %a "$1")" = 400' _ "$D1/containers/c2/export.tar"
ok "which is GNU tar's archive of c2" sh -c 'tar -tf "$1" | grep -qx big' _ "$D1/containers/c2/export.tar"
ectl del "$P/intent/h3.1.1" >/dev/null
unmarked() { ! ectl get --print-value-only "$CK" | grep -q '^moving='; }
ok "the intent gone, the owner takes the mark back" wait_for 10 unmarked
ok "... and export.tar goes" wait_for 10 sh -c '! test -e "$1"' _ "$D1/containers/c2/export.tar"
verbs_back() { ! ask "$D2" "kill c2" | grep -q moving; }
ok "verbs reach c2 again" wait_for 10 verbs_back

# a partial copy (.NAME.moving) left by a move cut short goes at the next start
etcd_member_stop 2
mkdir -p "$S2/containers/.c9.moving/run"
etcd_member_start 2 || echo "# h2 did not start again"
ok "h2 removes a move's partial copy at its start" wait_for 10 sh -c '! test -e "$1"' _ "$S2/containers/.c9.moving"

# a host down
etcd_member_stop 3
ok "h3 is down on h1" wait_for 10 grep -q '^down' "$(mnt 1)/hosts/h3/state"
out=$(ask "$D1" "move c2 h3")
like "$out" "h3 is down" "a host down: refused, in words ($out)"
is "$(errno_of "$D1/ctl" "move c2 h3")" EHOSTDOWN "(EHOSTDOWN)"
done_testing
