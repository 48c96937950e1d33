#!/usr/bin/env bash
# A host's recovery of its own launch intents (cluster/cintent.c, run at the publisher's first
# pass) takes only those of its earlier runs: an intent tagged with its current run is a launch
# under way (a launch waits only for the join, so it may claim before that pass). Intents are
# planted at claiming for a span of runs around the restart's; after it, every one but the
# run's own is rolled back, that one stays (claim and all) until the next restart, which rolls
# it back. A launch made at once after the start is whole.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root

etcd_one
etcd_members 1 "$U" "p9 = 0.0.0.0:5640" "cpu_ratio = 100" || { echo "not ok 1 - h1 starts"; exit 1; }
M=$T/h1/mnt
run_of_h1() { field "$P/h/h1/alive" run; } # its join's record: there once a launch is

mkdir "$M/ns/lab"
echo 16M >"$M/ns/lab/config/memory"
echo h1 >"$M/ns/lab/config/host"
ok "ns lab is the cluster's" wait_for 5 has "$P/ns/lab"
NSID=$(field "$P/ns/lab" id)
R0=$(run_of_h1)
ok "h1's alive record names its run ($R0)" test -n "$R0"

# h1 stopped; intents of h1 at claiming planted for runs T-2..T+12 (the next start's run is
# after the last and at least the clock's seconds), each with its claim and its reservation
etcd_member_stop 1
o=$(field "$P/cap/h1" objects) vc=$(field "$P/cap/h1" vcpus) mem=$(field "$P/cap/h1" memory)
o=${o:-0} vc=${vc:-0} mem=${mem:-0}
now=$(date +%s)
RUNS=$(seq $((now - 2)) $((now + 12)))
N=$(wc -w <<<"$RUNS")
printf 'v=1\nvcpus=%s\nmemory=%s\nobjects=%s\n' $((vc + N)) $((mem + N * (16 << 20))) $((o + N)) | ectl put "$P/cap/h1" >/dev/null
i=0
for r in $RUNS; do
	i=$((i + 1))
	printf 'v=1\nid=%s\ntype=container\nhost=h1\nintent=h1.%s.900\nctime=1\n' $((900 + i)) "$r" | ectl put "$P/name/$NSID/y$r" >/dev/null
	printf 'v=1\nhost=h1\nkind=launch\nns=%s\nobjects=y%s:%s:h1\nphase=claiming\nvcpus=1\nmemory=16777216\n' "$NSID" "$r" $((900 + i)) | ectl put "$P/intent/h1.$r.900" >/dev/null
done
is "$(count "$P/intent/h1.")" "$N" "$N intents of h1 planted"

# h1 starts, and launches at once (its claims made while its first pass may run)
etcd_member_start 1 || { echo "not ok - h1 starts again"; exit 1; }
out=$("$XWRITE" -r "$M/ns/lab/ctl" "launch container c[1-40]" 2>&1)
is "$(tail -n 1 <<<"$out")" "ok: launched 40" "a launch at once after the start: all of it"
is "$(count "$P/name/$NSID/c")" 40 "its 40 claims stay"
R=$(run_of_h1)
planted() { grep -qx "$1" <<<"$RUNS"; }
ok "h1's new run ($R) is one of the planted runs" planted "$R"
others_gone() { [ "$(count "$P/intent/h1.")" = 1 ]; }
ok "every intent of h1's earlier (or other) runs is rolled back" wait_for 10 others_gone
ok "the log says so" wait_for 3 grep -q "launch of y$((now - 2)) from h1 (cut at claiming): rolled back by h1; 1 claims given back" "$M/ns/lab/log"
ok "the intent of h1's current run stays" has "$P/intent/h1.$R.900"
ok "and its claim" has "$P/name/$NSID/y$R"
lacks() { ! grep -q "$1" "$2"; }
ok "the log says nothing of it" lacks "launch of y$R " "$M/ns/lab/log"
is "$(count "$P/name/$NSID/y")" 1 "no other planted claim is left"
is "$(field "$P/cap/h1" objects)" $((o + 41)) "the reservations of the others given back (40 launched, 1 planted left)"

# at the next start that run is an earlier one: rolled back
etcd_member_stop 1
etcd_member_start 1 || { echo "not ok - h1 starts a third time"; exit 1; }
ok "after the next restart it is rolled back" wait_for 10 hasnt "$P/intent/h1.$R.900"
ok "its claim is gone" hasnt "$P/name/$NSID/y$R"
ok "the log says so" wait_for 3 grep -q "launch of y$R from h1 (cut at claiming): rolled back by h1; 1 claims given back" "$M/ns/lab/log"
is "$(field "$P/cap/h1" objects)" $((o + 40)) "its reservation given back"
is "$(count "$P/name/$NSID/c")" 40 "the launch's claims stay"
"$XWRITE" -r "$M/ns/lab/ctl" "kill all" >/dev/null 2>&1
is "$(tail -n 1 <<<"$("$XWRITE" -r "$M/ns/lab/ctl" "flush all" 2>&1)")" "ok: flush 40" "lab flushed"
done_testing
