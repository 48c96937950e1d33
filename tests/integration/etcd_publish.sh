#!/usr/bin/env bash
# What a host publishes in etcd (cluster/cpub.h): its namespaces claimed as the cluster's, its
# objects claimed with ids from the namespace's counter, their records kept as they change
# and removed when they go; a second host joining with objects of its own (a name the first
# holds stays local, said with the first host's name); changes made while etcd was down are
# published after; a damaged STATE/cluster/ids is refused with words.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
use_busybox_image
etcd_start one
# shellcheck disable=SC2154 # set by etcd_start
U=$ETCD_URL_one
P=/vmfs/default
D=$M/ns/default
C=$D/containers
M2=$T/mnt2
S2=$T/state2
H2=h2-$$
VMFS2_PID=
mkdir -p "$M2"
vmfs2_stop() {
	[ -n "$VMFS2_PID" ] || return 0
	fusermount3 -u "$M2" 2>/dev/null || fusermount3 -uz "$M2" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$VMFS2_PID" 2>/dev/null || break; sleep 0.1; done
	kill "$VMFS2_PID" 2>/dev/null
	wait "$VMFS2_PID" 2>/dev/null
	VMFS2_PID=
	sanitizer_check "$T/vmfs2.err" "the second vmfs"
}
EXTRA_CLEANUP="kill_flush_all '$D'; vmfs2_stop; $EXTRA_CLEANUP"

field_is() { [ "$(field "$1" "$2")" = "$3" ]; }

# a host of a cluster serves its 9P door to the others: each vmfs its own port
P9A=$(free_port) P9B=$(free_port)
printf '[vmfs]\netcd = %s\ncluster_addr = 127.0.0.1\np9 = 127.0.0.1:%s\n' "$U" "$P9A" >"$T/vmfs.conf"
printf '[vmfs]\netcd = %s\ncluster_addr = 127.0.0.1\np9 = 127.0.0.1:%s\n' "$U" "$P9B" >"$T/vmfs2.conf"
vmfs_start --images "$T/images" --conf "$T/vmfs.conf" || exit 1
H=$(cat "$D/hosts")

ok "namespace default is claimed" wait_for 5 has "$P/ns/default"
NSID=$(field "$P/ns/default" id)
is "$NSID" 1 "with the cluster's first id"
is "$(field "$P/nsid/1" name)" default "P/nsid/1 maps it back"
is "$(field "$P/next-ns-id" next)" 2 "the counter moved"
is "$(field "$P/ns/default" hosts)" "$H" "its hosts: this host"
ok "this host's info is published" wait_for 3 has "$P/h/$H/info"
like "$(val "$P/h/$H/info")" "^v=1
cpus=$(nproc)
" "with its cpus"
if command -v qemu-system-x86_64 >/dev/null; then
	qv=$(qemu-system-x86_64 --version | sed -n '1s/.*version \([0-9.]*\).*/\1/p')
	is "$(field "$P/h/$H/info" qemu)" "$qv" "its QEMU's version"
	like " $(field "$P/h/$H/info" machine) " " pc " "and QEMU's machine types"
else
	ok "no QEMU: host/log says the info has none" grep -q "cluster: this host's info has no QEMU version" "$M/host/log"
fi

"$XWRITE" "$D/ctl" "launch container c[1-3]"
ok "3 containers launched: 3 claims" wait_for 3 has "$P/name/1/c3"
declare -A ID
for c in c1 c2 c3; do
	ID[$c]=$(field "$P/name/1/$c" id)
	like "$(val "$P/name/1/$c")" "^v=1
id=[0-9]+
type=container
host=$H
" "$c's claim: its id, type, this host"
done
is "$(printf '%s\n' "${ID[@]}" | sort -u | wc -l)" 3 "three different ids"
ok "and 3 records" wait_for 3 has "$P/h/$H/o/1/${ID[c3]}"
for c in c1 c2 c3; do
	state=$(awk -v n="$c" '$2 == n {print $4}' "$D/info")
	is "$(field "$P/h/$H/o/1/${ID[$c]}" state)" "$state" "$c's record says $state, as the mount's info"
	is "$(field "$P/h/$H/o/1/${ID[$c]}" name)" "$c" "... and its name"
done
ok "STATE/cluster/ids maps them" grep -q "^o\.1\.[0-9]*=${ID[c1]}$" "$S/cluster/ids"

"$XWRITE" "$C/c1/ctl" start
t0=$(date +%s%N)
ok "c1 started: its record says RUNNING within 2 s" wait_for 2 field_is "$P/h/$H/o/1/${ID[c1]}" state RUNNING
echo "# after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
pid=$(awk '$1 == "pid" {print $2}' "$C/c1/info")
is "$(field "$P/h/$H/o/1/${ID[c1]}" pid)" "$pid" "with the pid the mount's info gives"
like "$(field "$P/h/$H/o/1/${ID[c1]}" started)" '^[0-9]+$' "and when it started"
ok "this host's top of ns default has c1's row" wait_for 7 sh -c '"$@" | grep -q "^$0="' "${ID[c1]}" \
	env ETCDCTL_API=3 etcdctl --endpoints "$U" get --print-value-only "$P/h/$H/top/1"

"$XWRITE" "$C/c3/ctl" start
"$XWRITE" "$C/c3/ctl" kill
wait_for 5 sh -c '[ "$(cat "$1")" = QUIT ]' _ "$C/c3/state"
ok "c3 started and killed: its record says QUIT" wait_for 2 field_is "$P/h/$H/o/1/${ID[c3]}" state QUIT
ok "flush c3" "$XWRITE" "$D/ctl" "flush c3"
ok "c3 flushed: its claim goes" wait_for 2 hasnt "$P/name/1/c3"
ok "and its record" wait_for 2 hasnt "$P/h/$H/o/1/${ID[c3]}"

# more objects than one transaction takes (128 operations): claimed and removed in chunks.
# A launch (`like` too) claims first, within this host's capacity (cpus x its cpu_ratio, 4):
# its info is put here with ratios of 1000, as an admin's vmfs.conf would give them (vmfs does
# not put it again: it publishes its info only when its own changes)
printf '%s\n' "$(val "$P/h/$H/info" | sed 's/^cpu_ratio=.*/cpu_ratio=1000/; s/^mem_ratio=.*/mem_ratio=1000/')" | ectl put "$P/h/$H/info" >/dev/null
sleep 0.5 # the cache follows etcd's watch
"$XWRITE" "$D/ctl" "launch container k[1-300] like c2"
ok "launch container k[1-300]: 300 claims" wait_for 5 count_is 300 "$P/name/1/k"
is "$(ectl get --prefix --print-value-only "$P/name/1/" | grep -c '^id=')" \
	"$(ectl get --prefix --print-value-only "$P/name/1/" | grep '^id=' | sort -u | wc -l)" "every claim's id is its own"
ok "and 302 records (c1 c2 too)" wait_for 5 count_is 302 "$P/h/$H/o/1/"
for i in $(seq 300); do rmdir "$C/k$i"; done
ok "all removed: their claims go" wait_for 5 count_is 0 "$P/name/1/k"
ok "and their records" wait_for 5 count_is 2 "$P/h/$H/o/1/"

# a second host that ran alone joins with objects of its own: d1 and d2 are claimed with ids
# of the cluster's namespace; c2 is the first host's, so the second's c2 stays local
unshare_vmfs2() {
	unshare --uts sh -c 'hostname "$0" && exec "$@"' "$H2" \
		"$VMFS" -f --state "$S2" --images "$T/images" "$@" "$M2" 2>>"$T/vmfs2.err" &
	VMFS2_PID=$!
	wait_for 20 test -e "$M2/version" || { echo "# the second vmfs did not start:"; sed 's/^/#   /' "$T/vmfs2.err"; }
}
unshare_vmfs2
"$XWRITE" "$M2/ns/default/ctl" "launch container d1,d2,c2"
vmfs2_stop
unshare_vmfs2 --conf "$T/vmfs2.conf"
ok "host 2 joins: d2 is claimed" wait_for 5 has "$P/name/1/d2"
is "$(field "$P/name/1/d1" host)" "$H2" "by host 2"
d1=$(field "$P/name/1/d1" id) d2=$(field "$P/name/1/d2" id)
ok "with ids of the namespace that no object of host 1 has ($d1 $d2)" \
	sh -c '! printf "%s\n" "$@" | sort | uniq -d | grep -q .' _ "$d1" "$d2" "${ID[@]}"
ok "and their records" wait_for 3 has "$P/h/$H2/o/1/$d2"
is "$(field "$P/name/1/c2" host)" "$H" "c2 stays host 1's"
ok "host 2 says which host holds c2 (host/log)" wait_for 3 grep -q "cluster: c2: the name is held in ns default by host $H " "$M2/host/log"
ok "... and in the namespace's log" wait_for 2 grep -q "cluster: c2: the name is held in ns default by host $H " "$M2/ns/default/log"
ok "host 2's c2 is still there, not renamed nor removed" test -d "$M2/ns/default/containers/c2"
ok "no record of host 2's c2" sh -c '! "$@" | grep -qx "name=c2"' env ETCDCTL_API=3 etcdctl --endpoints "$U" get --prefix --print-value-only "$P/h/$H2/o/"
like "$(field "$P/ns/default" hosts)" "^($H $H2|$H2 $H)$" "P/ns/default's hosts has both"
vmfs2_stop

# etcd down: changes are kept and published when it is back
read -r _ peer <"$T/etcd-one/ports"
etcd_kill one
"$XWRITE" "$C/c1/ctl" kill
out=$("$XWRITE" "$D/ctl" "launch container c4 like c2")
ok "etcd down: a launch (its claims first) is refused ($out)" test "$out" != ok
ok "and makes nothing" test ! -e "$S/ns/default/containers/c4"
ok "etcd down: host/log says publishing waits" wait_for 5 grep -q "cluster: cannot publish" "$M/host/log"
ok "c1 killed all the same" wait_for 5 sh -c '[ "$(cat "$1")" != RUNNING ]' _ "$C/c1/state"
etcd_node one "one=http://127.0.0.1:$peer" new
etcd_wait "$U"
"$XWRITE" "$D/ctl" "launch container c4 like c2"
ok "etcd back: c4 is launched and claimed" wait_for 5 has "$P/name/1/c4"
ok "and c1's record says $(cat "$C/c1/state")" wait_for 3 field_is "$P/h/$H/o/1/${ID[c1]}" state "$(cat "$C/c1/state")"
ok "host/log says it publishes again" wait_for 3 grep -q "cluster: etcd takes what this host publishes again" "$M/host/log"
is "$(grep -c "cluster: cannot publish" "$M/host/log")" 1 "one line when it went"

# a value another host wrote that this vmfs cannot read: that namespace is not published,
# said once, with the key and why (here a line cut short); the others go on
ectl put "$P/ns/lab" "$(printf 'v=1\nid=x\n')" >/dev/null
mkdir "$M/ns/lab"
ok "P/ns/lab unreadable: host/log says ns lab is not published, and why" \
	wait_for 3 grep -q "cluster: ns lab is not published in the cluster: $P/ns/lab: line 2 " "$M/host/log"
ok "... and so does ns lab's log" wait_for 2 grep -q "cluster: ns lab is not published" "$M/ns/lab/log"
"$XWRITE" "$D/ctl" "launch container c5"
ok "ns default is still published: c5 is claimed" wait_for 3 has "$P/name/1/c5"
is "$(grep -c "ns lab is not published" "$M/host/log")" 1 "said once"
is "$(val "$P/ns/lab")" "$(printf 'v=1\nid=x')" "the peer's value is left as it was"
rmdir "$M/ns/lab"

# a restart: the claims are looked at again, the records read back, nothing put again
modrev() { ectl get "$1" -w fields | sed -n 's/^"ModRevision" : //p'; }
K2=$P/h/$H/o/1/${ID[c2]}
since=$(field "$K2" since) rev=$(modrev "$K2")
vmfs_stop
vmfs_start --images "$T/images" --conf "$T/vmfs.conf" || exit 1
ok "restarted: c4's record is there" wait_for 3 has "$P/h/$H/o/1/$(field "$P/name/1/c4" id)"
sleep 1
is "$(modrev "$K2"),$(field "$K2" since)" "$rev,$since" "c2's record is not put again: the same revision and since"

# a claim gone while this host was down (the map says c2 had it): claimed again with a new id,
# the record under the old id deleted
vmfs_stop
ectl del "$P/name/1/c2" >/dev/null
vmfs_start --images "$T/images" --conf "$T/vmfs.conf" || exit 1
ok "c2's claim gone meanwhile: claimed again" wait_for 3 has "$P/name/1/c2"
new=$(field "$P/name/1/c2" id)
ok "with a new id ($new, was ${ID[c2]})" test "$new" -gt "${ID[c2]}"
ok "its record under the new id" wait_for 3 has "$P/h/$H/o/1/$new"
ok "the one under the old id is deleted" wait_for 3 hasnt "$K2"
like "$(cat "$M/host/log")" "cluster: c2: its claim \(id ${ID[c2]}\) is gone from the cluster: claimed again" "host/log says so"

# a damaged map is refused whole, with words, and kept
kill_flush_all "$D"
vmfs_stop
echo "o.1.x=1" >>"$S/cluster/ids"
cp "$S/cluster/ids" "$T/ids.damaged"
out=$(timeout 20 "$VMFS" -f --state "$S" --images "$T/images" --conf "$T/vmfs.conf" "$M" 2>&1)
rc=$?
ok "a damaged STATE/cluster/ids: vmfs does not start" test "$rc" -ne 0 -a "$rc" -ne 124
like "$out" "cluster: $S/cluster/ids: line [0-9]+: o.1.x: .* refused" "and says why"
ok "the file is kept as it was" cmp -s "$S/cluster/ids" "$T/ids.damaged"
done_testing
