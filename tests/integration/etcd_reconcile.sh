#!/usr/bin/env bash
# Reservations kept exact and a host's reconcile (cluster/creconcile.c, cluster/cns.c): after a
# launch placed across two hosts, a mkdir and flushes (on the owner, and by a command from the
# other host), each P/cap/H is the sum of the claims naming H; a P/cap/H put wrong by hand is
# said and corrected at the next vmfs start (its own and another host's) and at a return after
# a cut; at a restart, a local object whose claim went is claimed again if a mkdir or a
# completed launch made it, removed as the stray of a rolled-back launch if its record still
# carries that launch's tag (kept while it runs, removed at a start once it does not); a claim
# whose object's state went is deleted with its reservation, but kept while STATE/damaged/
# holds anything; a config change's move marked in P/cap/H is kept by a reconcile that reads
# before the object's record shows it. Each with its log words.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
use_busybox_image
cleanup_objects() { # every member's containers, each through its own tree
	local i d
	for i in 1 2; do
		d=$T/h$i/mnt/ns/web
		[ -e "$d/ctl" ] || continue
		timeout 20 sh -c 'echo "kill all" >"$1/ctl"' _ "$d" 2>/dev/null
	done
}
EXTRA_CLEANUP="cleanup_objects; $EXTRA_CLEANUP"

etcd_one
etcd_members 2 "$U" "p9 = 0.0.0.0:5640" "images = $T/images" || { echo "not ok 1 - two members start"; exit 1; }
M1=$T/h1/mnt M2=$T/h2/mnt
for i in 1 2; do
	etcd_ns_make "$i" web || echo "not ok - h$i makes or joins web"
	echo 16M >"$T/h$i/mnt/ns/web/config/memory"
done

wr() { etcd_wr "$1/ns/web/ctl" "$2"; }
ok "ns web is the cluster's" wait_for 5 has "$P/ns/web"
# web spans both, whichever host published it first (its record named that host only: a launch
# on the other then had no host of its own to place on)
is "$("$XWRITE" "$M1/ns/web/hosts" "h1 h2")" "" "web's hosts: h1 h2"
W=$(field "$P/ns/web" id)
both_info() { has "$P/h/h1/info" && has "$P/h/h2/info"; }
ok "both hosts publish their info" wait_for 10 both_info

# cap H: "objects,vcpus,memory" of P/cap/H; sum H: the same summed from the claims naming H,
# each sized by its record's cfg.vcpus and cfg.memory (1 and web's 16M when unset)
cap() { echo "$(field "$P/cap/$1" objects),$(field "$P/cap/$1" vcpus),$(field "$P/cap/$1" memory)"; }
sum() {
	local n=0 v=0 m=0 k id rec c mem
	for k in $(ectl get --prefix --keys-only "$P/name/" | grep .); do
		[ "$(field "$k" host)" = "$1" ] || continue
		id=$(field "$k" id) ns=${k#"$P/name/"}
		ns=${ns%%/*}
		rec=$(val "$P/h/$1/o/$ns/$id")
		c=$(sed -n 's/^cfg\.vcpus=//p' <<<"$rec")
		mem=$(sed -n 's/^cfg\.memory=//p' <<<"$rec")
		[ "${mem:-16M}" = 16M ] || { echo "unexpected memory $mem"; return; }
		n=$((n + 1)) v=$((v + ${c:-1})) m=$((m + (16 << 20)))
	done
	echo "$n,$v,$m"
}
exact() { [ "$(cap "$1")" = "$(sum "$1")" ]; }
settled() { [ "$(ectl get --prefix --keys-only "$P/intent/" | grep -c .)" = 0 ] && exact h1 && exact h2; }

# h2 holds an object of web (a mkdir: a launch of one, pinned to h2): it is one of web's hosts
echo h2 >"$M2/ns/web/config/host"
mkdir "$M2/ns/web/containers/m2"
: >"$M2/ns/web/config/host"
ok "h2's mkdir is claimed" wait_for 5 has "$P/name/$W/m2"
ok "h2 is one of web's hosts" wait_for 5 sh -c 'ETCDCTL_API=3 etcdctl --endpoints "$0" get --print-value-only "$1" | grep -q "^hosts=.*h2"' "$U" "$P/ns/web"
ok "what m2 reserves is in P/cap/h2, added in its claim's txn" wait_for 5 exact h2
is "$(cap h2)" "1,1,$((16 << 20))" "P/cap/h2 holds it"
out=$(wr "$M1" "launch container k[1-10]")
like "$out" "ok: launched 10;errno=ok$" "launch k[1-10] across h1 and h2"
on() { for k in k1 k2 k3 k4 k5 k6 k7 k8 k9 k10; do [ "$(field "$P/name/$W/$k" host)" = "$1" ] && echo "$k"; done; }
mapfile -t ON1 < <(on h1)
mapfile -t ON2 < <(on h2)
ok "both hosts took some (h1: ${ON1[*]}; h2: ${ON2[*]})" test "${#ON1[@]}" -gt 0 -a "${#ON2[@]}" -ge 4
pub() { has "$P/h/h2/o/$W/$(field "$P/name/$W/$1" id)"; }
ok "h2 publishes ${ON2[0]}" wait_for 5 pub "${ON2[0]}"
is "$(cap h1)" "$(sum h1)" "P/cap/h1 is the sum of h1's claims ($(cap h1))"
is "$(cap h2)" "$(sum h2)" "P/cap/h2 is the sum of h2's claims ($(cap h2))"

echo h1 >"$M1/ns/web/config/host" # (web spans h1 and h2: m1 pinned to h1)
mkdir "$M1/ns/web/containers/m1"
: >"$M1/ns/web/config/host"
ok "a mkdir on h1 is claimed" wait_for 5 has "$P/name/$W/m1"
ok "and reserves too" wait_for 5 exact h1

# a flush on the owner, and one asked of h1 for an object of h2 (a command)
F1=${ON2[0]} F2=${ON2[1]}
built() { for k in "$@"; do grep -Eq "^(QUIT|ERROR)" "$M2/ns/web/containers/$k/state" || return 1; done; }
"$XWRITE" -r "$M2/ns/web/ctl" "kill $F1" >/dev/null
"$XWRITE" -r "$M1/ns/web/ctl" "kill $F2" >/dev/null
ok "$F1 and $F2 are killed (a new object is BUILDING, which flush does not take)" wait_for 10 built "$F1" "$F2"
like "$(wr "$M2" "flush $F1")" "errno=ok$" "h2 flushes its $F1"
ok "its claim goes" wait_for 5 hasnt "$P/name/$W/$F1"
ok "and its reservation with it: P/cap/h2 is the sum of its claims" wait_for 5 exact h2
like "$(wr "$M1" "flush $F2")" "errno=ok$" "h1 flushes $F2, h2's, by a command"
ok "its claim goes" wait_for 5 hasnt "$P/name/$W/$F2"
ok "and its reservation with it" wait_for 5 exact h2
is "$(cap h2)" "$((${#ON2[@]} - 1)),$((${#ON2[@]} - 1)),$(((${#ON2[@]} - 1) * 16 << 20))" "P/cap/h2 holds two objects fewer (m2 and $((${#ON2[@]} - 2)) of k)"
ok "a kill gives nothing back (the object is still there)" exact h1
"$XWRITE" -r "$M1/ns/web/ctl" "kill all" >/dev/null
sleep 1
is "$(cap h1),$(cap h2)" "$(sum h1),$(sum h2)" "after kill all, both as they were"

# P/cap corrected at a start: h2's own and h1's (any vmfs corrects any host's)
etcd_member_stop 2
good1=$(cap h1) good2=$(cap h2)
printf 'v=1\nvcpus=99\nmemory=5\nobjects=7\n' | ectl put "$P/cap/h2" >/dev/null
printf 'v=1\nvcpus=0\nmemory=0\nobjects=0\ndrain=12345\n' | ectl put "$P/cap/h1" >/dev/null
etcd_member_start 2 || { echo "not ok - h2 starts again"; exit 1; }
ok "h2's start corrects P/cap/h2" wait_for 10 sh -c '[ "$0" = "$(ETCDCTL_API=3 etcdctl --endpoints "$1" get --print-value-only "$2" | sed -n "s/^objects=//p")" ]' "${good2%%,*}" "$U" "$P/cap/h2"
is "$(cap h2)" "$good2" "to the sum of its claims"
ok "and h1's" wait_for 5 sh -c '[ "$0" = "$1" ]' "$(cap h1)" "$good1"
is "$(cap h1)" "$good1" "P/cap/h1 is the sum of its claims again"
is "$(field "$P/cap/h1" drain)" 12345 "its drain kept"
like "$(grep "cluster: $P/cap/h2 held" "$M2/host/log")" "held vcpus=99 memory=5 objects=7 but the claims naming h2 sum to vcpus=[0-9]+ memory=[0-9]+ objects=[0-9]+: corrected" "h2's host/log says what it held and what it is now"
like "$(grep "cluster: $P/cap/h1 held" "$M2/host/log")" "held vcpus=0 memory=0 objects=0 but the claims naming h1 sum to vcpus=$(cut -d, -f2 <<<"$good1") memory=$(cut -d, -f3 <<<"$good1") objects=${good1%%,*}: corrected" "and for h1's"
ok "nothing more is said of a P/cap that agrees" sh -c '[ "$(grep -c "cap/h[12] held" "$0")" = 2 ]' "$M2/host/log"

# a cut: back, h2 reconciles again (a new lease, a rejoin)
etcd_cut 2
ok "h2 knows it is cut" wait_for 10 grep -q "^cut from etcd since" "$M2/hosts/h2/state"
sleep 1.5 # its publisher sees it too (it looks at least every second)
printf 'v=1\nvcpus=42\nmemory=0\nobjects=9\n' | ectl put "$P/cap/h2" >/dev/null
etcd_restore 2
ok "back, h2 corrects P/cap/h2 again" wait_for 15 exact h2
ok "and says so" grep -q "cluster: $P/cap/h2 held vcpus=42 memory=0 objects=9 but the claims naming h2 sum to .*: corrected" "$M2/host/log"

# restarts of h2 with claims deleted by hand. A mkdir's object, and a launch's once its launch
# is done (h2's STATE/cluster/ids then drops the launch's tag), are claimed again. One that
# still has the tag (h2 was cut while that launch ran, and it was rolled back: simulated by
# putting the tag back into h2's map while h2 is stopped) is a stray of that launch: removed.
S=${ON2[2]} X=${ON2[3]}
echo h2 >"$M1/ns/web/config/host" # web's launches from here on go to h2
like "$(wr "$M1" "launch container w1")" "ok: launched 1;errno=ok$" "w1 launched on h2 (never started: BUILDING)"
recof() { echo "$P/h/h2/o/$W/$(field "$P/name/$W/$1" id)"; }
ids=$T/h2/state/cluster/ids
# oline NAME: "LNS.LOCAL" of NAME's entry in h2's map (the line o.LNS.LOCAL=its id)
oline() {
	local l
	l=$(sed -n "s/^ns\.\([0-9]*\)=$W\$/\1/p" "$ids")
	sed -n "s/^o\.\($l\.[0-9]*\)=$(field "$P/name/$W/$1" id)\$/\1/p" "$ids"
}
# NAME's record is in, without a tag (records never carry it), and h2's map has no tag for it
untagged() {
	local o
	o=$(oline "$1")
	[ -n "$o" ] && ! grep -q "^t\.$o=" "$ids" && has "$(recof "$1")" && ! val "$(recof "$1")" | grep -q "^intent="
}
tagged() { local o; o=$(oline "$1"); [ -n "$o" ] && grep -q "^t\.$o=" "$ids"; }
ok "a launch's object's tag goes from h2's map once the launch is done" wait_for 5 untagged "$S"
ok "m2's never had one" untagged m2
ok "w1's launch is done and its record in" wait_for 5 untagged w1
etcd_member_stop 2
XK=$(recof "$X")
for k in "$X" w1; do o=$(oline "$k") && sed -i "/^o\.$o=/a t.$o=h1.77.1" "$ids"; done
ok "a tag planted for $X in h2's map" tagged "$X"
ok "and for w1" tagged w1
for k in m2 "$S" "$X" w1; do ectl del "$P/name/$W/$k" >/dev/null; done
etcd_member_start 2 || { echo "not ok - h2 starts again"; exit 1; }
claimed() { [ "$(field "$P/name/$W/$1" host)" = h2 ]; }
for k in m2 "$S"; do
	ok "$k is claimed again, for h2" wait_for 10 claimed "$k"
	ok "and stays" test -d "$T/h2/state/ns/web/containers/$k"
	like "$(grep "$k: its claim" "$M2/host/log")" "$k: its claim \(id [0-9]+\) is gone from the cluster: claimed again" "h2's log says so"
done
ok "$X, made for launch h1.77.1, is removed from h2" wait_for 10 sh -c '! test -e "$0"' "$T/h2/state/ns/web/containers/$X"
like "$(grep "$X: made here" "$M2/host/log")" "$X: made here for launch h1\.77\.1, which was rolled back \(its claim in ns web is gone\): a stray of that launch, removed here unless it runs" "h2's log says why"
ok "web's log says it was removed" grep -q "cluster: $X removed: a stray of launch h1.77.1 (rolled back)" "$M2/ns/web/log"
ok "nothing claims $X" hasnt "$P/name/$W/$X"
ok "its record is gone" wait_for 5 hasnt "$XK"
ok "w1, a BUILDING stray, is killed and removed too" wait_for 10 sh -c '! test -e "$0"' "$T/h2/state/ns/web/containers/w1"
ok "web's log says so" grep -q "cluster: w1 removed: a stray of launch h1.77.1 (rolled back)" "$M2/ns/web/log"
ok "every P/cap is the sum of its claims" wait_for 5 settled

# an object's state gone while h2 was down: its claim deleted with its reservation, unless
# STATE/damaged/ holds anything
G=${ON2[4]:-m2}
gid=$(field "$P/name/$W/$G" id)
etcd_member_stop 2
rm -rf "$T/h2/state/ns/web/containers/$G"
mkdir -p "$T/h2/state/damaged/test-left"
# and a claim for h2 that no map of h2 knows (its create never came, say), with its reservation
printf 'v=1\nid=990\ntype=container\nhost=h2\nctime=1\n' | ectl put "$P/name/$W/ghost" >/dev/null
IFS=, read -r o v m <<<"$(cap h2)"
printf 'v=1\nvcpus=%s\nmemory=%s\nobjects=%s\n' $((v + 1)) $((m + (16 << 20))) $((o + 1)) | ectl put "$P/cap/h2" >/dev/null
before=$(cap h2)
etcd_member_start 2 || { echo "not ok - h2 starts again"; exit 1; }
ok "with STATE/damaged/ not empty, h2 says it keeps $G's claim" wait_for 10 grep -q "$G is not here, but STATE/damaged/ holds state this vmfs could not read: its claim and record are kept" "$M2/host/log"
sleep 2 # passes come every second: none of them deletes it either
ok "the claim is kept" has "$P/name/$W/$G"
ok "and says it keeps ghost's" grep -q "cluster: ghost (id 990 of cluster namespace $W) is claimed by this host but is not here; STATE/damaged/ holds state this vmfs could not read, so its claim is kept" "$M2/host/log"
ok "which is kept" has "$P/name/$W/ghost"
ok "and its record" has "$P/h/h2/o/$W/$gid"
is "$(cap h2)" "$before" "and its reservation"
etcd_member_stop 2
rmdir "$T/h2/state/damaged/test-left"
etcd_member_start 2 || { echo "not ok - h2 starts again"; exit 1; }
ok "with nothing in damaged/, $G's claim is deleted" wait_for 10 hasnt "$P/name/$W/$G"
ok "h2's log says so" wait_for 3 grep -q "cluster: $G (id $gid) is claimed by this host but is not here (its state is gone): its claim is deleted and its reservation given back" "$M2/host/log"
ok "ghost's claim is deleted" wait_for 5 hasnt "$P/name/$W/ghost"
ok "said" wait_for 3 grep -q "cluster: ghost (id 990 of cluster namespace $W) is claimed by this host but is not here (its state is gone): its claim is deleted and its reservation given back" "$M2/host/log"
ok "their reservations given back: every P/cap is the sum of its claims" wait_for 5 settled
ok "h1's objects untouched" sh -c 'for k in "$@"; do test -d "$0/$k" || exit 1; done' "$T/h1/state/ns/web/containers" "${ON1[@]}" m1
# a stray that runs is kept (only the admin kills a guest), said; killed, the next start
# removes it
like "$(wr "$M1" "launch container y1")" "ok: launched 1;errno=ok$" "y1 launched on h2"
ok "h1 lists it" wait_for 5 test -e "$M1/ns/web/containers/y1/state"
like "$(wr "$M1" "start y1")" "ok: start 1;errno=ok$" "and starts it"
ok "y1 runs on h2" wait_for 20 grep -q "^RUNNING" "$M2/ns/web/containers/y1/state"
ok "y1's launch is done: h2's map has no tag for it" wait_for 5 untagged y1
etcd_member_stop 2
o=$(oline y1) && sed -i "/^o\.$o=/a t.$o=h1.78.1" "$ids"
ok "a tag planted for y1" tagged y1
ectl del "$P/name/$W/y1" >/dev/null
etcd_member_start 2 || { echo "not ok - h2 starts again"; exit 1; }
ok "h2 says y1 runs, so it is kept" wait_for 10 grep -q "cluster: y1 is a stray of launch h1.78.1 (rolled back) but it is RUNNING: kept, not listed in the cluster; kill and flush it" "$M2/ns/web/log"
ok "y1 is still there" test -d "$T/h2/state/ns/web/containers/y1"
ok "and runs" grep -q "^RUNNING" "$M2/ns/web/containers/y1/state"
like "$(etcd_wr "$M2/ns/web/containers/y1/ctl" kill)" "errno=ok$" "the admin kills it through its own ctl on h2"
ok "it stops" wait_for 10 grep -q "^QUIT" "$M2/ns/web/containers/y1/state"
etcd_member_stop 2
etcd_member_start 2 || { echo "not ok - h2 starts again"; exit 1; }
ok "at the next start the stray, no longer running, is removed" wait_for 10 sh -c '! test -e "$0"' "$T/h2/state/ns/web/containers/y1"
ok "web's log says so" grep -q "cluster: y1 removed: a stray of launch h1.78.1 (rolled back)" "$M2/ns/web/log"
ok "every P/cap is the sum of its claims" wait_for 5 settled

# a config change's window (cluster/ccmd_cfgcap.c): P/cap/h2 moved by the change and the object
# marked in its cfg-pending, h2's record not showing the change yet: as a config command leaves
# them between its CAS and the record. A reconcile reading then (h1's, at its start) keeps the
# move; without the mark it would undo it (the race), as the second start shows.
run2=$(field "$P/h/h2/alive" run) sid=$(field "$P/name/$W/$S" id)
IFS=, read -r o v m <<<"$(cap h2)"
window() { # window MARK: P/cap/h2 as $S's vcpus 1 -> 3 moves it; P/cap/h1 wrong; h1 starts
	etcd_member_stop 1
	printf 'v=1\nvcpus=%s\nmemory=%s\nobjects=%s\ncfg-run=%s\n%b' $((v + 2)) "$m" "$o" "$run2" \
		"$1" | ectl put "$P/cap/h2" >/dev/null
	printf 'v=1\nvcpus=0\nmemory=0\nobjects=0\n' | ectl put "$P/cap/h1" >/dev/null
	etcd_member_start 1 || { echo "not ok - h1 starts again"; exit 1; }
	ok "h1's start corrects P/cap/h1: its reconcile ran" wait_for 10 exact h1
}
said=$(grep -c "cap/h2 held" "$M1/host/log")
window "cfg-pending=$W.$sid:3:$((16 << 20))\n"
is "$(cap h2)" "$o,$((v + 2)),$m" "P/cap/h2 keeps the config change's move: $S sized by its mark"
is "$(grep -c "cap/h2 held" "$M1/host/log")" "$said" "h1 says nothing of it"
window ""
ok "without the mark, h1's reconcile undoes the move" wait_for 5 exact h2
ok "and says so" grep -q "cap/h2 held vcpus=$((v + 2)) memory=$m objects=$o but .*: corrected" "$M1/host/log"
[ "$TAP_FAIL" = 0 ] || grep -h "cluster" "$M2/host/log" | tail -n 30 | sed "s/^/# /"
done_testing
