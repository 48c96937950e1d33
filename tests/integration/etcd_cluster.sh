#!/usr/bin/env bash
# The cluster on etcd as a whole (docs/cluster-design.md "Tests"): three etcd nodes and five
# member vmfs, containers only. A launch from one host is placed across the five, and every
# host lists all of it; a member cut while `pause all` runs from another host is cancelled
# (its answer line, EHOSTDOWN) and applies nothing when it is back; ids are targets from a
# host that does not own them; two hosts launching overlapping names at once get each name
# once, the loser told where the winner's is; the etcd leader killed while commands run downs
# no host, and commands after the election reach all; a vmfs restarted during another
# member's outage shows that member's rows UNKNOWN with the same `since`.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
use_busybox_image

N=5
EXTRA_CLEANUP="etcd_flush_all; $EXTRA_CLEANUP"

etcd_net
etcd_cluster3
# shellcheck disable=SC2154 # set by etcd_cluster3
U=$ETCD_URLS
P=/vmfs/$ETCD_CLUSTER
etcd_members $N "$U" "p9 = 0.0.0.0:5640" "p9_user = root" "images = $T/images" ||
	{ echo "not ok 1 - five members start"; exit 1; }
ALL="1 2 3 4 5"
D() { printf '%s/ns/default' "$(mnt "$1")"; } # D I: host I's ns/default

# st I NAME: its state as host I sees it (a remote one's file says since when after it)
st() { awk '{print $1; exit}' "$(D "$1")/containers/$2/state" 2>/dev/null; }
all_in() { # all_in STATE I NAME...: each NAME in STATE on host I
	local want=$1 i=$2 n
	shift 2
	for n in "$@"; do [ "$(st "$i" "$n")" = "$want" ] || return 1; done
}
up_on() { # up_on I H...: every H "up since" in host I's hosts/
	local i=$1 h
	shift
	for h in "$@"; do grep -q '^up since' "$(mnt "$i")/hosts/$h/state" 2>/dev/null || return 1; done
}
all_up() { local i; for i in $ALL; do up_on "$i" h1 h2 h3 h4 h5 || return 1; done; }
ok "5 members: each sees all 5 up" wait_for 15 all_up

# each host holds an object of default (a seed made on itself), so default spans the five
for i in $ALL; do
	echo "h$i" >"$(D "$i")/config/host"
	is "$(tail -n 1 <<<"$("$XWRITE" -r "$(D "$i")/ctl" "launch container s$i")")" "ok: launched 1" "h$i launches s$i on itself"
	echo "" >"$(D "$i")/config/host"
done
spans() { [ "$(field "$P/ns/default" hosts | tr ' ' '\n' | sort | tr '\n' ' ')" = "h1 h2 h3 h4 h5 " ]; }
ok "namespace default spans the five hosts" wait_for 10 spans
NSID=$(field "$P/ns/default" id)
HOSTS=$(field "$P/ns/default" hosts) # the order of the answer's lines
host_of() { field "$P/name/$NSID/$1" host; }
id_of() { field "$P/name/$NSID/$1" id; }
# krows I: "NAME HOST" of the k rows of host I's info, by its columns' headers
krows() { awk -F'\t' 'NR == 1 {for (i = 1; i <= NF; i++) h[$i] = i; next}
	$h["name"] ~ /^k[0-9]+$/ {print $h["name"], $h["host"]}' "$(D "$1")/info" | sort; }
kclaims() { local k; for k in $(seq 1 20); do echo "k$k $(host_of "k$k")"; done | sort; }
all_list() { local i; for i in $ALL; do [ "$(krows "$i")" = "$1" ] || return 1; done; }

# 1. a launch from h1, placed across the members (fewest objects: 4 more each)
out=$(etcd_wr "$(D 1)/ctl" "launch container k[1-20]")
echo "# $out"
want=""
for h in $HOSTS; do want="$want$h: ok launched 4;"; done
is "$out" "${want}ok: launched 20;errno=ok" "launch k[1-20] on h1: 4 on each host, a line per host, then the sum"
is "$(count "$P/name/$NSID/k")" 20 "20 claims"
is "$(ectl get --prefix --print-value-only "$P/name/$NSID/k" | sed -n 's/^id=//p' | sort -u | grep -c .)" 20 "20 ids, one each"
CLAIMS=$(kclaims)
for i in $ALL; do
	is "$(awk -v h="h$i" '$2 == h' <<<"$CLAIMS" | grep -c .)" 4 "4 claimed for h$i"
done
made_right() { # every k made on its claim's host, and on no other
	local k h i
	while read -r k h; do
		for i in $ALL; do
			if [ "h$i" = "$h" ]; then test -d "$T/h$i/state/ns/default/containers/$k" || return 1
			else ! test -e "$T/h$i/state/ns/default/containers/$k" || return 1; fi
		done
	done <<<"$CLAIMS"
}
ok "each k is made on its claim's host only" made_right
ok "each host's info lists the 20, with their hosts" wait_for 10 all_list "$CLAIMS"
for i in $ALL; do is "$(krows "$i" | grep -c .)" 20 "h$i's info: 20 k rows"; done
K() { awk -v h="$1" '$2 == h {print $1}' <<<"$CLAIMS" | tr '\n' ' '; } # K H: H's k names
# shellcheck disable=SC2046 # names without blanks
runs_on_own() { local i; for i in $ALL; do all_in RUNNING "$i" $(K "h$i") "s$i" || return 1; done; }
out=$(etcd_wr "$(D 2)/ctl" "start all")
like "$out" "ok: start 25;errno=ok$" "start all from h2: 25 started"
ok "every host's containers run, each on its host" wait_for 10 runs_on_own
sleep 0.5 # the records of RUNNING reach the caches

# 6. ids as targets from a host that owns none of them: h1 pauses two of h3's by id
# shellcheck disable=SC2046 # names without blanks
set -- $(K h3)
A=$1 B=$2
IA=$(id_of "$A") IB=$(id_of "$B")
out=$(etcd_wr "$(D 1)/ctl" "pause $IA,$IB")
is "$out" "h3: ok pause 2;ok: pause 2;errno=ok" "pause $IA,$IB (ids of h3's $A and $B) from h1: made by h3"
ok "$A and $B are PAUSED on h3" all_in PAUSED 3 "$A" "$B"
ok "h1 sees them PAUSED" wait_for 3 all_in PAUSED 1 "$A" "$B"
# shellcheck disable=SC2046
ok "the other k of h3 untouched" all_in RUNNING 3 $(K h3 | cut -d' ' -f3-)
out=$(etcd_wr "$(D 5)/ctl" "resume $IA")
is "$out" "h3: ok resume 1;ok: resume 1;errno=ok" "resume $IA from h5: made by h3"
ok "$A RUNNING on h3" all_in RUNNING 3 "$A"
out=$(etcd_wr "$(D 4)/ctl" "resume $IB")
is "$out" "h3: ok resume 1;ok: resume 1;errno=ok" "resume $IB from h4"
is "$(etcd_wr "$(D 1)/ctl" "pause 999999" | sed 's/.*;//')" "errno=ENOENT" "an id nobody holds: ENOENT"
ok "all RUNNING again" wait_for 3 runs_on_own
sleep 0.5

# 2. h5 cut while h1 pauses all: h5's part is cancelled, the others paused; h5 back: nothing late
n5=$(($(K h5 | wc -w) + 1))
etcd_cut 5
t0=$(date +%s%3N)
out=$(etcd_wr "$(D 1)/ctl" "pause all")
ms=$(($(date +%s%3N) - t0))
echo "# answered in $ms ms:"; printf '%s\n' "$out" | tr ';' '\n' | sed 's/^/#   /'
lines=""
for h in $HOSTS; do
	[ "$h" = h5 ] && lines="${lines}h5: (not taken within 2\\.0 s: cancelled[^;]*|down since [^;]*: not sent[^;]*);" && continue
	lines="$lines$h: ok pause 5;"
done
like "$out" "^${lines}error: pause: 20 paused; h5 failed;errno=EHOSTDOWN$" "the answer: h1-h4 paused 5 each, h5 cancelled (or down: not sent), EHOSTDOWN"
ok "answered within 3.5 s ($ms ms)" test "$ms" -lt 3500
# shellcheck disable=SC2046
ok "h2's are PAUSED on h2" all_in PAUSED 2 $(K h2) s2
# shellcheck disable=SC2046
ok "h4's on h4" all_in PAUSED 4 $(K h4) s4
ok "h1's log has h5's line" grep -q "cluster: h1\.[0-9]*\.[0-9]* pause: h5: " "$(D 1)/log"
etcd_restore 5
ok "h5 back: up on h1 and h3" wait_for 10 sh -c 'grep -q "^up since" "$0/hosts/h5/state" && grep -q "^up since" "$1/hosts/h5/state"' "$(mnt 1)" "$(mnt 3)"
sleep 3
# shellcheck disable=SC2046
ok "h5's containers stay RUNNING: no late pause" all_in RUNNING 5 $(K h5) s5
ok "no command key is left" count_is 0 "$P/cmd/"
out=$(etcd_wr "$(D 3)/ctl" "resume all")
like "$out" "ok: resume $((25 - n5));errno=ok$" "resume all from h3 reaches all (h5 has nothing to resume)"
ok "all RUNNING" wait_for 5 runs_on_own
sleep 0.5
out=$(etcd_wr "$(D 2)/ctl" "pause all")
lines=""
for h in $HOSTS; do lines="$lines$h: ok pause 5;"; done
is "$out" "${lines}ok: pause 25;errno=ok" "a second pause all (from h2) reaches all five"
# shellcheck disable=SC2046
ok "h5's PAUSED now" all_in PAUSED 5 $(K h5) s5
is "$(tail -n 1 <<<"$(etcd_wr "$(D 5)/ctl" "resume all" | tr ';' '\n' | grep -v errno)")" "ok: resume 25" "resume all from h5"
ok "all RUNNING" wait_for 5 runs_on_own

# 5. h2 and h4 launch overlapping names at once: each name once; the loser told whose
etcd_wr "$(D 2)/ctl" "launch container r[1-4]" >"$T/r2" &
a=$!
etcd_wr "$(D 4)/ctl" "launch container r[3-6]" >"$T/r4" &
b=$!
wait $a $b
r2=$(cat "$T/r2") r4=$(cat "$T/r4")
echo "# h2: $r2"
echo "# h4: $r4"
if [[ $r2 == *"ok: launched 4;errno=ok" ]]; then won=$r2 lost=$r4 WON="r1 r2 r3 r4" GONE="r5 r6"
else won=$r4 lost=$r2 WON="r3 r4 r5 r6" GONE="r1 r2"; fi
like "$won" "ok: launched 4;errno=ok$" "one launch won"
like "$lost" "errno=EEXIST$" "the other is EEXIST"
like "$lost" "r[34] exists already in ns/default \\(on h[1-5]\\)" "the loser's answer names an overlapping name and a host"
x=$(sed -n 's/.*\(r[34]\) exists already in ns\/default (on \(h[1-5]\)).*/\1 \2/p' <<<"$lost")
is "$x" "${x%% *} $(host_of "${x%% *}")" "... the host the winner placed it on"
for r in $WON; do
	h=$(host_of "$r")
	ok "$r claimed ($h)" test -n "$h"
	ok "$r made on $h, on no other host" sh -c 'n=0; for d in "$0"/h*/state/ns/default/containers/"$1"; do [ -d "$d" ] && n=$((n + 1)); done; [ "$n" = 1 ] && test -d "$0/$2/state/ns/default/containers/$1"' "$T" "$r" "$h"
done
for r in $GONE; do
	ok "$r (only the loser's) is not claimed" sh -c '[ -z "$(ETCDCTL_API=3 etcdctl --endpoints "$0" get --keys-only "$1")" ]' "$U" "$P/name/$NSID/$r"
	ok "nor made anywhere" sh -c '! ls -d "$0"/h*/state/ns/default/containers/"$1" 2>/dev/null | grep -q .' "$T" "$r"
done
rnames() { awk -F'\t' 'NR == 1 {for (i = 1; i <= NF; i++) h[$i] = i; next} $h["name"] ~ /^r[0-9]$/ {print $h["name"]}' "$(D "$1")/info" | sort | tr '\n' ' '; }
every_r() { local i; for i in $ALL; do [ "$(rnames "$i")" = "$WON " ] || return 1; done; }
ok "every host's info lists $WON, each once" wait_for 5 every_r
is "$(count "$P/intent/")" 0 "no intent left"

# 3. the etcd leader killed while kill and start commands run: nobody goes down
leader=$(etcd_leader)
ok "the etcd leader is known ($leader)" test -n "$leader"
for i in $ALL; do printf -v "LOGLINES_$i" %s "$(wc -l <"$(mnt "$i")/host/log")"; done
seen_quit() { [ "$(st 3 "$1")" = QUIT ]; }
(
	for k in 1 2 3 4 5 6; do # h1 kills, h3 starts again once its cache has it QUIT
		etcd_wr "$(D 1)/ctl" "kill k$k"
		wait_for 5 seen_quit "k$k"
		etcd_wr "$(D 3)/ctl" "start k$k"
	done >"$T/during"
) &
busy=$!
sleep 0.3
t0=$(date +%s)
etcd_kill "$leader"
wait $busy
sed 's/^/# during the election: /' "$T/during"
ok "every command during the election was answered, in $(($(date +%s) - t0)) s" test "$(grep -c 'errno=' "$T/during")" = 12
ok "... ok or a refusal that says the cluster could not be reached" sh -c '! grep -Ev "errno=(ok|EHOSTDOWN|ETIMEDOUT|ENOTCONN|EBUSY)$" "$0"' "$T/during"
etcd_elected
ok "after the election every host sees all five up" wait_for 10 all_up
new_lines() { local v=LOGLINES_$1; tail -n +"$((${!v} + 1))" "$(mnt "$1")/host/log"; }
for i in $ALL; do
	ok "h$i saw no lease go" sh -c '! printf "%s" "$0" | grep -Eq "lease is gone|is down|lapsed"' "$(new_lines "$i")"
done
out=$(etcd_wr "$(D 5)/ctl" "kill k*")
lines=""
for h in $HOSTS; do lines="$lines$h: ok kill [0-4];"; done
like "$out" "^${lines}ok: kill [0-9]+;errno=ok$" \
	"after the election: kill k* from h5 reaches all five"
# shellcheck disable=SC2046 # names without blanks
quit_all() { local i; for i in $ALL; do all_in QUIT "$i" $(K "h$i") || return 1; done; }
ok "every k QUIT on its host" wait_for 10 quit_all
out=$(etcd_wr "$(D 4)/ctl" "start k*")
lines=""
for h in $HOSTS; do lines="$lines$h: ok start 4;"; done
is "$out" "${lines}ok: start 20;errno=ok" "start k* from h4 reaches all five"
ok "every k RUNNING on its host" wait_for 10 runs_on_own

# 4. h2's vmfs restarted while h4 is cut: h4's rows stay UNKNOWN with the same since on h2
etcd_cut 4
ok "h4 down on h2" wait_for 8 sh -c 'grep -q "^down since" "$0/hosts/h4/state"' "$(mnt 2)"
# urows I: "NAME STATE SINCE" of h4's rows in host I's info
urows() { awk -F'\t' 'NR == 1 {for (i = 1; i <= NF; i++) h[$i] = i; next}
	$h["host"] == "h4" {print $h["name"], $h["state"], $h["since"]}' "$(D "$1")/info" | sort; }
n4=$(ectl get --prefix --print-value-only "$P/name/$NSID/" | grep -cx host=h4)
unknown5() { [ "$(urows 2 | awk '$2 == "UNKNOWN"' | grep -c .)" = "$n4" ]; }
ok "h2 lists h4's $n4 UNKNOWN" wait_for 5 unknown5
before=$(urows 2)
printf '%s\n' "$before" | sed 's/^/# on h2: /'
since=$(awk 'NR == 1 {print $3}' <<<"$before")
ok "with a since" test -n "$since"
ok "the same since for each" test "$(awk '{print $3}' <<<"$before" | sort -u | grep -c .)" = 1
like "$(cat "$(mnt 1)/hosts/h4/state")" "^down since $since " "since is when h4 went down (h1's hosts/h4/state)"
etcd_member_stop 2
etcd_member_start 2 || { echo "not ok - h2 restarts"; exit 1; }
ok "h2 restarted: h4's rows listed again" wait_for 10 unknown5
is "$(urows 2)" "$before" "UNKNOWN with the same since as before its restart"
like "$(cat "$(D 2)/containers/$(K h4 | cut -d' ' -f1)/state")" "^UNKNOWN since .*h4 is down" "a row's state file says why"
etcd_restore 4
ok "h4 back: up on h2" wait_for 10 up_on 2 h4
# shellcheck disable=SC2046
ok "h4's containers still RUNNING" all_in RUNNING 4 $(K h4)
done_testing
