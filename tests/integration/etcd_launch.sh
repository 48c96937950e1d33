#!/usr/bin/env bash
# Launch in a cluster on etcd (vmfs/claunch.c, cluster/claim.h, cluster/cintent.h): the names
# are claimed before anything is made, with the namespace's ids and the host's reservation in
# P/cap/H; two hosts launching overlapping names at once get each name once, the loser told
# whose it is; plan changes nothing; beyond a host's capacity ENOSPC with its figures; an
# intent left behind (a launcher cut) is rolled back or finished, by its host at its restart
# or by another once its host is down, and the namespace's log says which; a vmfs killed in
# a launch leaves all of it or none; dropping a host that holds objects from ns/NS/hosts is
# refused with their names. Across hosts (ns web): each other host makes its part on a `create`
# command, each host's info lists them all; the answer is a line per host; a host cut or
# refusing rolls all of it back (a third host's part killed and flushed); a forged create is
# refused.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root

etcd_one
etcd_members 3 "$U" "p9 = 0.0.0.0:5640" || { echo "not ok 1 - three members start"; exit 1; }
# web, for the launches across hosts below, on the three (etcd_ns_make: made, or joined once
# another host's web shows)
for i in 1 2 3; do etcd_ns_make "$i" web || echo "not ok - h$i makes or joins web"; done
for i in 1 2 3; do echo 16M >"$T/h$i/mnt/ns/web/config/memory"; done
etcd_member_stop 3 # h3 comes back for the last part only
M1=$T/h1/mnt M2=$T/h2/mnt

modrev() { ectl get "$1" -w fields | sed -n 's/^"ModRevision" : //p'; }
ask() { "$XWRITE" -r "$1/ns/lab/ctl" "$2"; } # ask MNT CMD: the ctl's answer (or error)
# made I NAME: host hI made NAME (its state directory: every host's mount lists every host's)
made() { test -d "$T/h$1/state/ns/lab/containers/$2"; }

both_info() { has "$P/h/h1/info" && has "$P/h/h2/info"; }
ok "both hosts publish their info" wait_for 10 both_info
CAP=$(($(nproc) * 4)) # vcpus a host takes: cpus x its cpu_ratio (4)
for i in 1 2; do
	etcd_ns_make "$i" lab || echo "not ok - h$i makes or joins lab"
	echo 16M >"$T/h$i/mnt/ns/lab/config/memory"
	echo "h$i" >"$T/h$i/mnt/ns/lab/config/host" # each host's launches of lab stay on it
done
ok "ns lab is the cluster's" wait_for 5 has "$P/ns/lab"
NSID=$(field "$P/ns/lab" id)
ok "both hosts map it" wait_for 5 sh -c 'grep -q "^ns\.[0-9]*=$0$" "$1/h1/state/cluster/ids" && grep -q "^ns\.[0-9]*=$0$" "$1/h2/state/cluster/ids"' "$NSID" "$T"

# a launch: claims first, with ids and the reservation
next=$(field "$P/ns/lab" next-id)
out=$(ask "$M1" "launch container k[1-4]")
is "$out" "h1: ok launched 4
ok: launched 4" "h1: launch container k[1-4]: h1's line, then the sum"
is "$(count "$P/name/$NSID/k")" 4 "4 claims"
for k in k1 k2 k3 k4; do
	is "$(field "$P/name/$NSID/$k" host)" h1 "$k is h1's"
	ok "$k is made on h1" made 1 "$k"
done
ids=$(ectl get --prefix --print-value-only "$P/name/$NSID/k" | sed -n 's/^id=//p' | sort -n | tr '\n' ' ')
is "$ids" "$next $((next + 1)) $((next + 2)) $((next + 3)) " "ids from the namespace's counter, each its own"
is "$(field "$P/ns/lab" next-id)" "$((next + 4))" "the counter moved past them"
is "$(field "$P/cap/h1" objects),$(field "$P/cap/h1" vcpus),$(field "$P/cap/h1" memory)" \
	"4,4,$((4 * 16 << 20))" "P/cap/h1 holds their vcpus and memory"
is "$(count "$P/intent/")" 0 "no intent left"
ok "their records are published under the claimed ids" wait_for 5 has "$P/h/h1/o/$NSID/$(field "$P/name/$NSID/k4" id)"

# plan: where, and the load after; nothing changes
rev=$(modrev "$P/cap/h1") nrev=$(modrev "$P/ns/lab")
out=$(ask "$M1" "plan launch container p[1-2]")
like "$out" "^p1 h1
p2 h1
h1: 6 objects, 6 of $CAP vcpus, " "plan: p1 h1, p2 h1, h1's load after"
like "$out" "ok: plan 2 \(nothing changed\)$" "and says it changed nothing"
is "$(count "$P/name/$NSID/p")" 0 "no claim made"
is "$(modrev "$P/cap/h1"),$(modrev "$P/ns/lab")" "$rev,$nrev" "P/cap/h1 and P/ns/lab untouched"
ok "nothing made" sh -c '! test -e "$0"' "$T/h1/state/ns/lab/containers/p1"

# beyond capacity: ENOSPC with the figures, nothing changes
out=$(ask "$M1" "launch container q[1-$((CAP - 3))]")
like "$out" "(no host|pinned to h1, which) has no room" "h1: $((CAP - 3)) more than its $CAP vcpus hold: refused"
is "$("$XWRITE" "$M1/ns/lab/ctl" "launch container q[1-$((CAP - 3))]")" ENOSPC "ENOSPC"
like "$(tail -n 3 "$M1/ns/lab/log")" "(no host has room for it|pinned to h1, which has no room for it): (h2: down; )?h1: [0-9]+ of $CAP vcpus" "the log gives h1's figures"
is "$(count "$P/name/$NSID/q")" 0 "no claim left"
is "$(modrev "$P/cap/h1")" "$rev" "P/cap/h1 untouched"

# two hosts at once, overlapping names: each name once; the loser told whose
"$XWRITE" -r "$M1/ns/lab/ctl" "launch container r[1-3]" >"$T/r1" &
a=$!
"$XWRITE" -r "$M2/ns/lab/ctl" "launch container r[2-4]" >"$T/r2" &
b=$!
wait $a $b
r1=$(tail -n 1 "$T/r1") r2=$(tail -n 1 "$T/r2")
echo "# h1: $r1"
echo "# h2: $r2"
if [ "$r1" = "ok: launched 3" ]; then W=h1 L=$M2 w=1 l=2 lost=$r2 won=r1,r2,r3 gone=r4; else W=h2 L=$M1 w=2 l=1 lost=$r1 won=r2,r3,r4 gone=r1; fi
ok "one launch won ($W)" sh -c '[ "$0" = "ok: launched 3" ] || [ "$1" = "ok: launched 3" ]' "$r1" "$r2"
like "$lost" "exists already" "the other is refused"
is "$("$XWRITE" "$L/ns/lab/ctl" "launch container $gone,r3")" EEXIST "EEXIST"
like "$(grep -h "exists already" "$L/ns/lab/log" | tail -n 1)" "r[234] exists already in ns/lab \(on $W\)" "its log names the winner's host"
for r in ${won//,/ }; do
	is "$(field "$P/name/$NSID/$r" host)" "$W" "$r claimed once, by $W"
	ok "$r made on $W" made $w "$r"
	ok "$r not made on the loser" sh -c '! test -e "$0"' "$T/h$l/state/ns/lab/containers/$r"
done
ok "the loser's mount lists ${won%%,*} as the winner's" wait_for 5 test -d "$L/ns/lab/containers/${won%%,*}"
ok "$gone (only the loser's) is not claimed" hasnt "$P/name/$NSID/$gone"
ok "nor made" sh -c '! test -e "$0"' "$T/h$l/state/ns/lab/containers/$gone"
is "$(count "$P/intent/")" 0 "no intent left"
like "$(field "$P/ns/lab" hosts)" "h1" "P/ns/lab's hosts name h1"

# an intent left by a launcher cut at claiming, of a host down for a while: another adopts
# it and rolls it back; its claims and its reservation go. At claiming the reservation holds
# every object the intent lists (made in its first txn), claimed or not: z3's chunk never
# came, and z4's name was another launch's (that claim stays), yet both give theirs back.
printf 'v=1\nsince=1\nwhy=lapsed\nby=h1\n' | ectl put "$P/down/h9" >/dev/null
printf 'v=1\nvcpus=4\nmemory=67108864\nobjects=4\n' | ectl put "$P/cap/h9" >/dev/null
for z in 1 2; do
	printf 'v=1\nid=%s\ntype=container\nhost=h9\nintent=h9.1.1\nctime=1\n' $((900 + z)) | ectl put "$P/name/$NSID/z$z" >/dev/null
done
printf 'v=1\nid=990\ntype=container\nhost=h8\nintent=h8.1.1\nctime=1\n' | ectl put "$P/name/$NSID/z4" >/dev/null
printf 'v=1\nhost=h9\nkind=launch\nns=%s\nobjects=z1:901:h9 z2:902:h9 z3:903:h9 z4:904:h9\nphase=claiming\nvcpus=1\nmemory=16777216\n' "$NSID" | ectl put "$P/intent/h9.1.1" >/dev/null
ok "h9 down, its intent at claiming: rolled back by another host" wait_for 5 hasnt "$P/intent/h9.1.1"
ok "its claims are gone" count_is 1 "$P/name/$NSID/z"
ok "another's claim of z4 stays" has "$P/name/$NSID/z4"
is "$(field "$P/cap/h9" objects),$(field "$P/cap/h9" vcpus),$(field "$P/cap/h9" memory)" "0,0,0" "its reservation given back, the unclaimed objects' too"
ok "the namespace's log says so" wait_for 3 sh -c 'grep -hq "launch of z1 z2 z3 and 1 more from h9 (cut at claiming): rolled back by h[12]; 2 claims given back" "$0/ns/lab/log" "$1/ns/lab/log"' "$M1" "$M2"
ectl del "$P/name/$NSID/z4" >/dev/null

# one cut at creating whose objects are all on their hosts: finished, the claims stay
k1=$(field "$P/name/$NSID/k1" id)
printf 'v=1\nhost=h9\nkind=launch\nns=%s\nobjects=k1:%s:h1\nphase=creating\n' "$NSID" "$k1" | ectl put "$P/intent/h9.1.2" >/dev/null
ok "an intent at creating, every object there: finished" wait_for 5 hasnt "$P/intent/h9.1.2"
ok "k1's claim stays" has "$P/name/$NSID/k1"
ok "the log says finished" wait_for 3 sh -c 'grep -hq "launch of k1 from h9 (cut at creating): finished by h[12]: every object is on its host" "$0/ns/lab/log" "$1/ns/lab/log"' "$M1" "$M2"

# an intent this vmfs cannot read (peer input): left alone, said once
printf 'v=1\nhost=h9\n' | ectl put "$P/intent/h9.1.3" >/dev/null
ok "an unreadable intent: host/log says so" wait_for 3 grep -q "$P/intent/h9.1.3: .*: this intent is left alone (treated as absent)" "$M1/host/log"
sleep 2
is "$(grep -c "$P/intent/h9.1.3: " "$M1/host/log")" 1 "once"
ok "and it is left as it was" has "$P/intent/h9.1.3"
ectl del "$P/intent/h9.1.3" >/dev/null

# a vmfs killed in the middle of a launch: after its restart all of it or none
n=$((CAP - 4)) # what h2 still takes, whichever host won above
"$XWRITE" -r "$M2/ns/lab/ctl" "launch container m[1-$n]" >/dev/null 2>&1 &
x=$!
sleep 0.0$((RANDOM % 10))
kill -9 "$ETCD_PID_2"
wait $x 2>/dev/null
etcd_member_stop 2
etcd_member_start 2 || { echo "not ok - h2 restarts"; exit 1; }
ok "after h2's restart no intent is left" wait_for 10 count_is 0 "$P/intent/"
claims=$(count "$P/name/$NSID/m")
made=$(find "$T/h2/state/ns/lab/containers" -mindepth 1 -maxdepth 1 -name 'm*' | grep -c .)
ok "all or none: $claims claims of $n" sh -c '[ "$0" = 0 ] || [ "$0" = "$1" ]' "$claims" "$n"
is "$made" "$claims" "and as many made on h2"
if grep -q "launch of m" "$M2/host/log"; then
	echo "# $(grep -h "launch of m" "$M2/host/log" | tail -n 1)"
fi

# an intent of h2's own, left at claiming while it was stopped: h2 rolls it back at its start
# (its down record says "since" later than now: no other host takes it first)
etcd_member_stop 2
o=$(field "$P/cap/h2" objects) vc=$(field "$P/cap/h2" vcpus) mem=$(field "$P/cap/h2" memory)
o=${o:-0} vc=${vc:-0} mem=${mem:-0} # none yet if h2 has launched nothing
printf 'v=1\nsince=%s\nwhy=stopped\nby=h2\n' $(($(date +%s) + 600)) | ectl put "$P/down/h2" >/dev/null
printf 'v=1\nvcpus=%s\nmemory=%s\nobjects=%s\n' $((vc + 1)) $((mem + (16 << 20))) $((o + 1)) | ectl put "$P/cap/h2" >/dev/null
printf 'v=1\nid=950\ntype=container\nhost=h2\nintent=h2.1.5\nctime=1\n' | ectl put "$P/name/$NSID/y1" >/dev/null
printf 'v=1\nhost=h2\nkind=launch\nns=%s\nobjects=y1:950:h2\nphase=claiming\nvcpus=1\nmemory=16777216\n' "$NSID" | ectl put "$P/intent/h2.1.5" >/dev/null
etcd_member_start 2 || { echo "not ok - h2 starts again"; exit 1; }
ok "h2 restarted: its intent is rolled back" wait_for 5 hasnt "$P/intent/h2.1.5"
ok "its claim is gone" hasnt "$P/name/$NSID/y1"
is "$(field "$P/cap/h2" objects),$(field "$P/cap/h2" vcpus),$(field "$P/cap/h2" memory)" "$o,$vc,$mem" "its reservation given back"
ok "h2's namespace log says so" wait_for 3 grep -q "launch of y1 from h2 (cut at claiming): rolled back by h2; 1 claims given back" "$M2/ns/lab/log"

# hosts: h1 holds objects of ns lab, so it cannot be dropped
out=$("$XWRITE" "$M2/ns/lab/hosts" "h2")
is "$out" "EBUSY" "ns/lab/hosts without h1: EBUSY"
like "$(tail -n 2 "$M2/host/log" "$M2/ns/lab/log" 2>/dev/null)" "h1 holds [0-9]+ objects of ns/lab \(k1 k2 k3 ...\): move or flush them first" "the log lists them"

# across hosts: each other host makes its part on a `create` command (lab's objects flushed
# first, so that the hosts are even)
n=$(count "$P/name/$NSID/")
ask "$M1" "kill all" >/dev/null
is "$(tail -n 1 <<<"$(ask "$M1" "flush all")")" "ok: flush $n" "lab flushed on every host"
ok "lab's claims go" wait_for 5 count_is 0 "$P/name/$NSID/"
wr() { etcd_wr "$1/ns/web/ctl" "$2"; } # wr MNT CMD: on web's ctl
ok "ns web is the cluster's" wait_for 5 has "$P/ns/web"
cap0() { for h in h1 h2; do [ "$(field "$P/cap/$h" objects),$(field "$P/cap/$h" vcpus),$(field "$P/cap/$h" memory)" = 0,0,0 ] || return 1; done; }
ok "the flush gave lab's reservations back" wait_for 5 cap0
# h2 holds an object of web: it is one of web's hosts
echo h2 >"$M2/ns/web/config/host"
is "$(tail -n 1 <<<"$("$XWRITE" -r "$M2/ns/web/ctl" "launch container w0")")" "ok: launched 1" "h2 launches w0 on itself"
ok "h2 is one of web's hosts" wait_for 5 sh -c 'ETCDCTL_API=3 etcdctl --endpoints "$0" get --print-value-only "$1" | grep -q "^hosts=.*h2"' "$U" "$P/ns/web"
WID=$(field "$P/ns/web" id)
ok "both hosts map it" wait_for 5 sh -c 'grep -q "^ns\.[0-9]*=$0$" "$1/h1/state/cluster/ids" && grep -q "^ns\.[0-9]*=$0$" "$1/h2/state/cluster/ids"' "$WID" "$T"
# web spans h1 and h2 (whichever host published web first made its record with itself only)
is "$("$XWRITE" "$M1/ns/web/hosts" "h1 h2")" "" "echo 'h1 h2' > ns/web/hosts on h1"
ok "h2 reads them" wait_for 2 sh -c '[ "$(cat "$0")" = "h1 h2" ]' "$M2/ns/web/hosts"
out=$(wr "$M1" "launch container k[1-6]")
like "$out" "ok: launched 6;errno=ok$" "launch k[1-6] across h1 and h2: ok, the sum"
like "$out" "(^|;)h1: ok launched [1-5];" "h1's line"
like "$out" "(^|;)h2: ok launched [1-5];" "h2's line"
for i in 1 2; do
	is "$(grep -o "h$i: ok launched [0-9]*" <<<"$out")" "h$i: ok launched $(ls "$T/h$i/state/ns/web/containers" | grep -c '^k')" "h$i's line counts what it made"
done
wmade() { test -d "$T/h$1/state/ns/web/containers/$2"; }
for k in k1 k2 k3 k4 k5 k6; do
	h=$(field "$P/name/$WID/$k" host)
	o=$([ "$h" = h1 ] && echo 2 || echo 1)
	ok "$k is claimed for $h and made there only" sh -c '[ -n "$0" ] && test -d "$1/${0}/state/ns/web/containers/$2" && ! test -e "$1/h$3/state/ns/web/containers/$2"' "$h" "$T" "$k" "$o"
done
ids=$(ectl get --prefix --print-value-only "$P/name/$WID/k" | sed -n 's/^id=//p' | sort -un | grep -c .)
is "$ids" 6 "six ids, one each"
both_list() { for m in "$M1" "$M2"; do [ "$(ls "$m/ns/web/containers" | tr '\n' ' ')" = "k1 k2 k3 k4 k5 k6 w0 " ] || return 1; done; }
ok "both hosts' trees list all six" wait_for 5 both_list
# info_rows MNT: "NAME HOST ID" of web's k rows, from its info's columns by their headers
info_rows() { awk -F'\t' 'NR == 1 {for (i = 1; i <= NF; i++) h[$i] = i; next}
	$2 ~ /^k/ {print $2, $h["host"], $h["id"]}' "$1/ns/web/info" | sort; }
claimed_rows() { for k in k1 k2 k3 k4 k5 k6; do echo "$k $(field "$P/name/$WID/$k" host) $(field "$P/name/$WID/$k" id)"; done; }
want=$(claimed_rows)
rows_are() { [ "$(info_rows "$1")" = "$2" ]; }
for i in 1 2; do
	ok "h$i's info lists all six with their hosts and ids" wait_for 5 rows_are "$T/h$i/mnt" "$want"
done
pub_ids() { for k in k1 k2 k3 k4 k5 k6; do has "$P/h/$(field "$P/name/$WID/$k" host)/o/$WID/$(field "$P/name/$WID/$k" id)" || return 1; done; }
ok "each is published by its host under its claimed id" wait_for 5 pub_ids
is "$(count "$P/intent/")" 0 "no intent left"
ok "h2's log says it made them, on h1's command" grep -q "cluster: command h1\.[0-9]*\.[0-9]* from h1: create [1-5] object(s): done" "$T/h2/mnt/ns/web/log"

# a member refusing (h2 lacks the image of the VM template): all rolled back, its errno and words
: >"$T/h1/state/images/only1.img"
echo "only1.img" >"$M1/ns/web/config/disk"
caps=$(for h in h1 h2; do echo "$(field "$P/cap/$h" objects),$(field "$P/cap/$h" vcpus)"; done)
out=$(wr "$M1" "launch kvm v[1-4]")
like "$out" "h2: ENOENT: the template's disk: .*only1\.img: No such file or directory" "h2 refuses: the image is not in its store"
like "$out" "errno=ENOENT$" "the write fails with h2's errno"
ok "no claim of v left" count_is 0 "$P/name/$WID/v"
is "$(for h in h1 h2; do echo "$(field "$P/cap/$h" objects),$(field "$P/cap/$h" vcpus)"; done)" "$caps" "the reservations given back"
ok "nothing made on h1" sh -c '! ls "$0"/v* 2>/dev/null | grep -q .' "$T/h1/state/ns/web/vms"
ok "nor on h2" sh -c '! ls "$0"/v* 2>/dev/null | grep -q .' "$T/h2/state/ns/web/vms"
is "$(count "$P/intent/")" 0 "no intent left"
echo "" >"$M1/ns/web/config/disk"

# h2 cut from etcd as the launch begins (its alive still stands): its part is cancelled at the
# take window, all rolled back, EHOSTDOWN
etcd_cut 2
caps=$(for h in h1 h2; do echo "$(field "$P/cap/$h" objects),$(field "$P/cap/$h" vcpus)"; done)
out=$(wr "$M1" "launch container c[1-4]")
etcd_restore 2
like "$out" "h2: not taken within 5\.0 s: cancelled" "h2's part: not taken, cancelled"
like "$out" "errno=EHOSTDOWN$" "EHOSTDOWN"
ok "no claim of c left" count_is 0 "$P/name/$WID/c"
is "$(for h in h1 h2; do echo "$(field "$P/cap/$h" objects),$(field "$P/cap/$h" vcpus)"; done)" "$caps" "the reservations given back"
ok "nothing made on h1" sh -c '! ls "$0"/c* 2>/dev/null | grep -q .' "$T/h1/state/ns/web/containers"
ok "h1's log says so" grep -q "cluster: h1\.[0-9]*\.[0-9]* launched: h2: not taken within 5\.0 s: cancelled" "$M1/ns/web/log"
ok "and that it was rolled back" grep -q "cluster: launch of 4: a host did not make its part: rolled back" "$M1/ns/web/log"
ok "h2 back: nothing of c made there" sh -c 'sleep 2; ! ls "$0"/c* 2>/dev/null | grep -q .' "$T/h2/state/ns/web/containers"

# a create command put by hand as h1's, for an id no claim gives h2: taken and refused, nothing made
F=h1.999.1
printf 'v=1\nfrom=h1\nns=%s\nverb=create\nids=990\nunfit=refuse\nargs=intent=h1.999.1 type=container names=f1\ntake-ms=5000\nissued=1\n' "$WID" | ectl put "$P/cmd/h2/$F" >/dev/null
ok "h2 answers the forged create" wait_for 5 sh -c 'ETCDCTL_API=3 etcdctl --endpoints "$0" get --print-value-only "$1" | grep -q "^state=done"' "$U" "$P/h/h2/ans/$F"
like "$(val "$P/h/h2/ans/$F")" "errno=EINVAL
reason=f1 \(id 990\) is not claimed in ns/web for h2 as a container by launch h1\.999\.1" "refused EINVAL: f1 is not claimed for h2 by that launch"
ok "nothing made" sh -c '! test -e "$0"' "$T/h2/state/ns/web/containers/f1"
ectl del "$P/cmd/h2/$F" >/dev/null
ok "its answer goes with the command" wait_for 3 hasnt "$P/h/h2/ans/$F"

# three hosts, h1 full: h2 makes its part, h3 refuses (no image): h2's are killed and flushed
etcd_member_start 3 || { echo "not ok - h3 starts"; exit 1; }
M3=$T/h3/mnt
echo h3 >"$M3/ns/web/config/host"
is "$(tail -n 1 <<<"$("$XWRITE" -r "$M3/ns/web/ctl" "launch container w3")")" "ok: launched 1" "h3 launches w3 on itself"
ok "h3 is one of web's hosts" wait_for 5 sh -c 'ETCDCTL_API=3 etcdctl --endpoints "$0" get --print-value-only "$1" | grep -q "^hosts=.*h3"' "$U" "$P/ns/web"
cap1=$(val "$P/cap/h1")
printf 'v=1\nvcpus=%s\nmemory=0\nobjects=0\n' "$CAP" | ectl put "$P/cap/h1" >/dev/null # h1 full
: >"$T/h2/state/images/only1.img"
echo "only1.img" >"$M1/ns/web/config/disk"
out=$(wr "$M1" "launch kvm u[1-6]")
like "$out" "(^|;)h2: ok launched [1-5];" "h2 made its part"
like "$out" "(^|;)h3: ENOENT: the template's disk: .*only1\.img: No such file or directory" "h3 refused"
like "$out" "errno=ENOENT$" "ENOENT"
ok "no claim of u left" count_is 0 "$P/name/$WID/u"
ok "h2's part killed and flushed: nothing of u there" sh -c '! ls "$0"/u* 2>/dev/null | grep -q .' "$T/h2/state/ns/web/vms"
ok "h2's log: killed, then flushed, on h1's command" sh -c 'grep -q "from h1: kill [1-5] object(s): done" "$0" && grep -q "from h1: flush [1-5] object(s): done" "$0"' "$M2/ns/web/log"
ok "nothing of u on h3" sh -c '! ls "$0"/u* 2>/dev/null | grep -q .' "$T/h3/state/ns/web/vms"
printf '%s\n' "$cap1" | ectl put "$P/cap/h1" >/dev/null
done_testing
