#!/usr/bin/env bash
# With etcd, a cold move cut before its commit, and a source away across a move's end
# (docs/cluster-design.md, "Drain, move, live migration": the recovery of a cold move).
# Three hosts; c1, a stopped container of h1 with 48 MiB of state, moved to h2 by a write on h2:
# - h2 (the mover) killed -9 while it pulls the copy, restarted at once: its own recovery rolls
#   the move back (the claim's mark cleared, the intent gone), said in its logs; c1 is usable
#   on h1 (a config write, a start) and h2 holds nothing of it;
# - h2's link to etcd dropped while it pulls (a blackhole route in its network namespace, put
#   while its vmfs is stopped by SIGSTOP), so that it places its copy and cannot commit; killed
#   -9 then and restarted at once: its own recovery rolls back, its next pass removes the copy;
# - the same, h2 left running: it gives up its commit, removes its copy, and takes its mark back
#   once back in touch;
# - the same, h2 left down: h1 or h3 rolls the move back once h2 is down 2 s; h2, back, removes
#   its copy;
# - h1's link to etcd dropped once its export.tar is made: h2 commits without h1 seeing it; h1
#   killed -9 and started again finds c1 on h2 and removes its own copy (the claim untouched),
#   the archive of its earlier run too; a mark whose intent is gone (forged on p1's claim while
#   h1 is down) is taken back at that start;
# - c1 moved back to h1 while h2 (the source now) is cut from etcd: h2 removes its copy once
#   back in touch (a resync);
# - p1's claim forged to name h3 (which publishes no record of it) while h1 is down: h1 keeps
#   its copy, said.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
use_busybox_image

EXTRA_CLEANUP="etcd_flush_all; $EXTRA_CLEANUP"

etcd_one
etcd_members 3 "$U" "p9 = 0.0.0.0:5640" "p9_user = root" "p9_peers = cluster" \
	"images = $T/images" || { echo "not ok 1 - three members start"; exit 1; }
D1=$(mnt 1)/ns/default D2=$(mnt 2)/ns/default D3=$(mnt 3)/ns/default
S1=$T/h1/state/ns/default S2=$T/h2/state/ns/default
# host_of NSDIR NAME: the host column of NAME's row in that host's ns info
host_of() { awk -F'\t' -v n="$2" 'NR == 1 {for (i = 1; i <= NF; i++) h[$i] = i; next}
	$2 == n {print $h["host"]}' "$1/info"; }
on_all() { for d in "$D1" "$D2" "$D3"; do [ "$(host_of "$d" "$1")" = "$2" ] || return 1; done; }
for i in 1 2 3; do echo "h$i" >"$(mnt "$i")/ns/default/config/host"; mkdir "$(mnt "$i")/ns/default/containers/p$i"; done
hosts_all() { [ "$(field "$P/ns/default" hosts | tr ' ' '\n' | sort | tr '\n' ' ')" = "h1 h2 h3 " ]; }
ok "default spans the three hosts" wait_for 10 hosts_all
mkdir "$D1/containers/c1"
ok "c1 is h1's on every host" wait_for 10 on_all c1 h1
NSID=$(field "$P/ns/default" id)
CK=$P/name/$NSID/c1
dd if=/dev/urandom of="$S1/containers/c1/big" bs=1M count=48 2>/dev/null
sum=$(sha256sum <"$S1/containers/c1/big")
unmarked() { has "$CK" && ! val "$CK" | grep -q '^moving='; }
# cut_etcd I / uncut_etcd I: member I's packets to and from etcd dropped, its other links kept
# (a blackhole route to etcd's address; with rp_filter, packets from it are dropped as well)
cut_etcd() {
	ip netns exec "$ETCD_ID-h$1" sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.eth0.rp_filter=1 &&
		ip -n "$ETCD_ID-h$1" route add blackhole "$ETCD_HOST/32"
}
uncut_etcd() { ip -n "$ETCD_ID-h$1" route del blackhole "$ETCD_HOST/32"; }
# one_copy: c1 is h1's, whole, on every host's view; nothing of it on h2
one_copy() {
	[ "$(field "$CK" host)" = h1 ] && unmarked && count_is 0 "$P/intent/" &&
		[ "$(sha256sum <"$S1/containers/c1/big")" = "$sum" ] &&
		! ls -d "$S2/containers/c1" "$S2"/containers/.c1.* 2>/dev/null | grep -q .
}
# usable WHEN MEM: a config write reaches c1 and it starts (from h3: commands to h1), then stops
usable() {
	is "$(errno_of "$D3/containers/c1/config/memory" "$2")" "" "$1: a config write to c1 works"
	ok "($1: h1 has it)" wait_for 5 grep -qx "memory=$2" "$S1/containers/c1/config"
	is "$(errno_of "$D3/containers/c1/ctl" start)" "" "$1: c1 starts"
	ok "$1: it runs on h1" wait_for 10 grep -q '^RUNNING' "$D1/containers/c1/state"
	"$XWRITE" "$D1/containers/c1/ctl" kill
	ok "($1: stopped again, h3 sees it)" wait_for 10 grep -Eq '^(QUIT|ERROR)' "$D3/containers/c1/state"
}

# 1. the mover killed while it copies; at once back: it rolls back its own move
"$XWRITE" "$D2/ctl" "move c1 h2" >"$T/move1.out" 2>&1 &
mv=$!
# (h2 stopped the moment its copy starts: a fast machine moves 48 MiB before a look at etcd)
ok "h2 pulls c1's archive" wait_for 20 sh -c 'test -s "$0" && kill -STOP "$1"' "$S2/containers/.c1.move.tar" "$ETCD_PID_2"
ok "c1's claim is marked moving to h2" sh -c '[ "$(ETCDCTL_API=3 etcdctl --endpoints "$0" get --print-value-only "$1" | sed -n "s/^moving=//p")" = h2 ]' "$U" "$CK"
kill -9 "$ETCD_PID_2"
# (no other host may take its intent first: h2's down record says "since" later than now)
printf 'v=1\nsince=%s\nwhy=lapsed\nby=h1\n' $(($(date +%s) + 600)) | ectl put "$P/down/h2" >/dev/null
wait $mv 2>/dev/null
etcd_member_stop 2
ok "its intent is left behind" sh -c '[ "$(ETCDCTL_API=3 etcdctl --endpoints "$0" get --prefix --keys-only "$1" | grep -c .)" = 1 ]' "$U" "$P/intent/"
etcd_member_start 2 || { echo "not ok - h2 starts again"; exit 1; }
ok "h2 rolls its move back at its start: one copy, on h1, unmarked" wait_for 10 one_copy
rb='move h2\.[0-9]+\.[0-9]+ of c1 from h1 to h2 \(run by h2, cut before its commit\): rolled back by h2: c1 stays h1.s and is no longer marked moving; the copy made here, if any, is removed'
ok "h2's host/log says so" grep -Eq "$rb" "$T/h2/mnt/host/log"
ok "and its namespace's log" wait_for 3 grep -Eq "$rb" "$D2/log"
ok "h1's log says c1 is no longer marked" wait_for 5 grep -q "c1 is no longer marked moving to h2: that move ended without moving it" "$D1/log"
ok "h1's export.tar of it is gone" sh -c '! ls "$0"/h1/state/cluster/export/* 2>/dev/null | grep -q .' "$T"
ok "h2 removed its partial copy at its start" grep -q "containers/.c1.move.tar, a cold move's partial copy: removed" "$D2/log"
ok "every host lists c1 on h1" wait_for 10 on_all c1 h1
usable "after the mover's own rollback" 40M
ok "(h2 sees its new config)" wait_for 10 grep -qx 40M "$D2/containers/c1/config/memory"

# 2. the mover cut from etcd after it placed its copy, killed, back at once: its own recovery
# rolls back first; its next pass removes the copy (no other host may take the intent: h2's
# down record, written at the cut, says "since" later than now)
"$XWRITE" "$D2/ctl" "move c1 h2" >"$T/move2.out" 2>&1 &
mv=$!
ok "h2 pulls c1's archive again" wait_for 20 test -s "$S2/containers/.c1.move.tar"
kill -STOP "$ETCD_PID_2"
cut_etcd 2
printf 'v=1\nsince=%s\nwhy=lapsed\nby=h1\n' $(($(date +%s) + 600)) | ectl put "$P/down/h2" >/dev/null
kill -CONT "$ETCD_PID_2"
ok "h2 places its copy (it cannot commit: etcd is out of its reach)" wait_for 20 test -f "$S2/containers/c1/config"
kill -9 "$ETCD_PID_2"
wait $mv 2>/dev/null
etcd_member_stop 2
uncut_etcd 2
tag=$(ectl get --prefix --keys-only "$P/intent/" | sed -n 's|.*/||p')
like "$tag" '^h2\.[0-9]+\.[0-9]+$' "its intent is left behind ($tag)"
ok "the copy is tagged with it" grep -qx "$tag" "$S2/containers/c1/.moved-in"
etcd_member_start 2 || { echo "not ok - h2 starts again"; exit 1; }
ok "h2 rolls back, then removes its copy: one copy, on h1" wait_for 10 one_copy
ok "h2's log says it rolled back" grep -q "move $tag of c1 from h1 to h2 (run by h2, cut before its commit): rolled back by h2" "$T/h2/mnt/host/log"
ok "and that it removed its copy" wait_for 3 grep -q "c1 removed: the copy made here for move $tag (rolled back)" "$D2/log"
ok "every host lists c1 on h1" wait_for 10 on_all c1 h1
is "$(errno_of "$D3/containers/c1/config/memory" 44M)" "" "a config write to c1 works"

# 3. the mover cut after placing its copy, left running, no other host allowed to take its
# intent: it gives up its commit and removes its copy; back in touch, it takes its mark back
ok "(h2 sees its new config)" wait_for 10 grep -qx 44M "$D2/containers/c1/config/memory"
"$XWRITE" "$D2/ctl" "move c1 h2" >"$T/move2b.out" 2>&1 &
mv=$!
ok "h2 pulls c1's archive a third time" wait_for 20 test -s "$S2/containers/.c1.move.tar"
kill -STOP "$ETCD_PID_2"
cut_etcd 2
printf 'v=1\nsince=%s\nwhy=lapsed\nby=h1\n' $(($(date +%s) + 600)) | ectl put "$P/down/h2" >/dev/null
kill -CONT "$ETCD_PID_2"
ok "h2 places its copy" wait_for 20 test -f "$S2/containers/c1/config"
ok "it cannot commit: it removes its copy" wait_for 10 sh -c '! test -e "$0"' "$S2/containers/c1"
ok "its mark stays while it is cut" sh -c 'ETCDCTL_API=3 etcdctl --endpoints "$0" get --print-value-only "$1" | grep -qx "moving=h2"' "$U" "$CK"
uncut_etcd 2
wait $mv
ok "back in touch, h2 takes its mark back: one copy, on h1" wait_for 35 one_copy
ok "its log says so" wait_for 5 grep -Eq "move c1 from h1 to h2: .*the move's mark was taken back at try [0-9]+" "$D2/log"
ok "every host lists c1 on h1" wait_for 10 on_all c1 h1
h2_free() { [ -z "$(errno_of "$D2/containers/c1/config/memory" 44M)" ]; }
ok "h2 writes c1's config again (its cache caught up)" wait_for 10 h2_free

# 4. the same, but h2 killed and left down: another host rolls back; h2, back later, removes
# its copy
"$XWRITE" "$D2/ctl" "move c1 h2" >"$T/move3.out" 2>&1 &
mv=$!
ok "h2 pulls c1's archive a fourth time" wait_for 20 test -s "$S2/containers/.c1.move.tar"
kill -STOP "$ETCD_PID_2"
cut_etcd 2
kill -CONT "$ETCD_PID_2"
ok "h2 places its copy (it cannot commit: etcd is out of its reach)" wait_for 20 test -f "$S2/containers/c1/config"
kill -9 "$ETCD_PID_2"
wait $mv 2>/dev/null
etcd_member_stop 2
uncut_etcd 2
ok "h2 is down on h1" wait_for 10 grep -q '^down' "$(mnt 1)/hosts/h2/state"
ok "another host rolls the move back once h2 is down 2 s" wait_for 15 sh -c 'unmarked() { ETCDCTL_API=3 etcdctl --endpoints "$0" get --print-value-only "$1" | grep -q "^moving="; }; ! unmarked && [ -z "$(ETCDCTL_API=3 etcdctl --endpoints "$0" get --prefix --keys-only "$2")" ]' "$U" "$CK" "$P/intent/"
rb='move h2\.[0-9]+\.[0-9]+ of c1 from h1 to h2 \(run by h2, cut before its commit\): rolled back by h[13]: c1 stays h1.s and is no longer marked moving; the destination removes its copy, if any, when it is back'
ok "h1's or h3's namespace log says so" wait_for 3 sh -c 'grep -Ehq "$0" "$1/log" "$2/log"' "$rb" "$D1" "$D3"
ok "h1's or h3's host/log too" sh -c 'grep -Ehq "$0" "$1/host/log" "$2/host/log"' "$rb" "$(mnt 1)" "$(mnt 3)"
is "$(host_of "$D3" c1)" h1 "c1 is listed on h1"
usable "after another host's rollback" 48M
ok "h2's copy is still there while h2 is down" test -f "$S2/containers/c1/config"
etcd_member_start 2 || { echo "not ok - h2 starts again"; exit 1; }
ok "h2, back, removes its copy: one copy, on h1" wait_for 10 one_copy
cp='c1: the copy made here for move h2\.[0-9]+\.[0-9]+, which was rolled back \(its claim in ns default is h1.s\): removed here unless it runs'
ok "h2's host/log says why" grep -Eq "$cp" "$T/h2/mnt/host/log"
ok "its namespace's log says it is removed" wait_for 3 grep -Eq "c1 removed: the copy made here for move h2\.[0-9]+\.[0-9]+ \(rolled back\)" "$D2/log"
ok "every host lists c1 on h1, once" wait_for 10 on_all c1 h1
ok "(h2 sees its new config)" wait_for 10 grep -qx 48M "$D2/containers/c1/config/memory"
is "$(awk -F'\t' '$2 == "c1"' "$D2/info" | grep -c .)" 1 "(one row in h2's info)"

# 5. the source cut from etcd once its archive is made: h2 commits; h1, killed and back,
# removes its copy. Meanwhile (h1 down) p1's claim gets a mark whose intent is gone.
"$XWRITE" "$D2/ctl" "move c1 h2" >"$T/move4.out" 2>&1 &
mv=$!
ok "h1 makes c1's export.tar" wait_for 20 sh -c 'ls "$0"/h1/state/cluster/export/*.tar 2>/dev/null | grep -q .' "$T"
cut_etcd 1
wait $mv
is "$(cat "$T/move4.out")" "" "the move ends well"
ok "the claim names h2" wait_for 10 sh -c '[ "$(ETCDCTL_API=3 etcdctl --endpoints "$0" get --print-value-only "$1" | sed -n "s/^host=//p")" = h2 ]' "$U" "$CK"
ok "h1, cut, still has its copy" test -f "$S1/containers/c1/big"
kill -9 "$ETCD_PID_1"
etcd_member_stop 1
uncut_etcd 1
claim_after=$(val "$CK")
PK=$P/name/$NSID/p1
{ val "$PK" | grep . | grep -v '^intent='; printf 'moving=h3\nintent=h3.1.99\n'; } | ectl put "$PK" >/dev/null
etcd_member_start 1 || { echo "not ok - h1 starts again"; exit 1; }
ok "h1, back, removes its copy of c1" wait_for 10 sh -c '! test -e "$0"' "$S1/containers/c1"
is "$(val "$CK")" "$claim_after" "the claim is left as it was"
is "$(sha256sum <"$S2/containers/c1/big")" "$sum" "h2's copy is whole"
ok "h1's host/log says why" grep -Eq "c1 \(id [0-9]+\) moved to h2 while this host was away \(its claim in ns default names h2\): this copy is no longer the object: removed here unless it runs; its claim is left as it is" "$(mnt 1)/host/log"
ok "its namespace's log says it is removed" wait_for 3 grep -q "c1 removed: moved to h2 while this host was away" "$D1/log"
ok "and the archive of its earlier run" grep -Eq "cluster/export/[0-9]+\.[0-9]+\.tar, an archive of an earlier run's move: removed" "$(mnt 1)/host/log"
ok "none is left" sh -c '! ls "$0"/h1/state/cluster/export/* 2>/dev/null | grep -q .' "$T"
ok "every host lists c1 on h2" wait_for 10 on_all c1 h2
is "$(errno_of "$D1/containers/c1/ctl" start)" "" "c1 starts (from h1's tree: a command to h2)"
ok "it runs on h2" wait_for 10 grep -q '^RUNNING' "$D2/containers/c1/state"
"$XWRITE" "$D2/containers/c1/ctl" kill
# (a cold move takes a stopped object only: the move below must not race the kill)
ok "(stopped again, h1 sees it)" wait_for 10 grep -Eq '^(QUIT|ERROR)' "$D1/containers/c1/state"
pmark() { ! val "$PK" | grep -q '^moving='; }
ok "h1 takes back p1's mark, whose intent is gone" wait_for 10 pmark
ok "and says so" wait_for 3 grep -q "p1 is no longer marked moving to h3" "$D1/log"
is "$(errno_of "$D1/containers/p1/config/memory" 40M)" "" "p1's config can be written again"

# 6. back to h1, h2 (now the source) cut from etcd once its archive is made: h2 sees the commit
# only at its resync, and removes its copy then
"$XWRITE" "$D1/ctl" "move c1 h1" >"$T/move5.out" 2>&1 &
mv=$!
ok "h2 makes c1's export.tar" wait_for 20 sh -c 'ls "$0"/h2/state/cluster/export/*.tar 2>/dev/null | grep -q .' "$T"
cut_etcd 2
wait $mv
is "$(cat "$T/move5.out")" "" "the move back to h1 ends well"
ok "the claim names h1" wait_for 10 sh -c '[ "$(ETCDCTL_API=3 etcdctl --endpoints "$0" get --print-value-only "$1" | sed -n "s/^host=//p")" = h1 ]' "$U" "$CK"
ok "h2, cut, still has its copy" test -f "$S2/containers/c1/big"
uncut_etcd 2
ok "h2, back in touch, removes its copy" wait_for 15 sh -c '! test -e "$0"' "$S2/containers/c1"
ok "and says so" wait_for 3 grep -Eq "c1 moved to h1: its copy here is removed|c1 removed: moved to h1 while this host was away" "$D2/log"
ok "no archive is left on h2" wait_for 5 sh -c '! ls "$0"/h2/state/cluster/export/* 2>/dev/null | grep -q .' "$T"
is "$(sha256sum <"$S1/containers/c1/big")" "$sum" "h1's copy is whole"
ok "every host lists c1 on h1" wait_for 10 on_all c1 h1

# 7. a claim that names another host with the same id while that host publishes no record of
# it (forged while h1 is down): h1, back, keeps its copy of p1 (it may be the only one), said
etcd_member_stop 1
{ val "$PK" | grep . | sed 's/^host=.*/host=h3/'; } | ectl put "$PK" >/dev/null
etcd_member_start 1 || { echo "not ok - h1 starts again"; exit 1; }
said_kept() { grep -Eq "p1 \(id [0-9]+\): its claim in ns default names h3, which publishes no record of it: this copy is kept" "$(mnt 1)/host/log"; }
ok "h1, back, says p1's claim names h3, which has no record of it" wait_for 10 said_kept
sleep 1
ok "and keeps its copy of p1" test -d "$S1/containers/p1"
done_testing
