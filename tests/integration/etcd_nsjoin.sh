#!/usr/bin/env bash
# The namespace's record as the truth on every host (cluster/cnsjoin.h, docs/cluster-design.md,
# "The tree on every host"): a host named in ns/NS/hosts makes the namespace itself, with the
# record's owner and mode, and a launch places across them; a host joins by writing hosts on
# itself (its mkdir meets the cluster's namespace: EEXIST); one dropped while empty loses its
# copy; chown and chmod on any host are the record's, seen and enforced on every host for a
# user who is not root; a record another host wrote with a bad mode or owner is refused with a
# log line and changes nothing (set-id and sticky bits, which an earlier build wrote, are
# dropped). rmdir ns/NS on any host removes it from the cluster when no
# object of it is claimed anywhere (EBUSY naming the host that holds one otherwise), and every
# host's copy goes with its record; only root may, and never default.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
command -v setpriv >/dev/null || { echo "not ok 1 - setpriv (util-linux) is installed"; exit 1; }

etcd_one
etcd_members 3 "$U" "p9 = 0.0.0.0:5640" "allow_other = true" || { echo "not ok 1 - three members start"; exit 1; }
M1=$(mnt 1) M2=$(mnt 2) M3=$(mnt 3)
chmod 0711 "$T" "$T/h1" "$T/h2" "$T/h3" # other users reach the mounts: the refusals below are not vacuous
infos() { for h in h1 h2 h3; do has "$P/h/$h/info" || return 1; done; }
ok "the three hosts publish their info" wait_for 10 infos

# made on h1 only: the others list it from the cache
mkdir "$M1/ns/lab"
echo 16M >"$M1/ns/lab/config/memory"
ok "ns lab is the cluster's" wait_for 5 has "$P/ns/lab"
NSID=$(field "$P/ns/lab" id)
local_ns() { test -d "$T/h$1/state/ns/lab"; } # local_ns I: host hI has lab in its state
mapped() { grep -q "^ns\.[0-9]*=$NSID$" "$T/h$1/state/cluster/ids"; }
ok "h2 lists lab (the cluster's)" wait_for 3 test -d "$M2/ns/lab"
ok "... but does not hold it" sh -c '! test -e "$0/h2/state/ns/lab"' "$T"

# hosts written on h1 names h2: h2 makes lab, with the record's id
is "$("$XWRITE" "$M1/ns/lab/hosts" "h1 h2")" "" "echo 'h1 h2' > ns/lab/hosts on h1"
ok "h2 makes lab itself" wait_for 3 local_ns 2
ok "... maps it to the cluster's id $NSID" wait_for 3 mapped 2
ok "... and says so in host/log" grep -q "cluster: ns/lab made here: its record names this host" "$M2/host/log"
ok "h3, not named, does not" sh -c '! test -e "$0/h3/state/ns/lab"' "$T"

# a host joins from itself: mkdir meets the cluster's lab; hosts written on it
is "$(mkdir "$M3/ns/lab" 2>&1 | grep -c 'File exists')" 1 "mkdir ns/lab on h3: EEXIST (the cluster has lab)"
is "$("$XWRITE" "$M3/ns/lab/hosts" "h1 h2 h3")" "" "echo 'h1 h2 h3' > ns/lab/hosts on h3, which lacks lab"
ok "h3 makes lab" wait_for 3 local_ns 3
ok "... mapped to $NSID" wait_for 3 mapped 3
is "$(field "$P/ns/lab" hosts)" "h1 h2 h3" "the record names the three"
is "$(cat "$M3/ns/lab/hosts")" "h1 h2 h3" "h3 reads them when its write returns"
is "$("$XWRITE" "$M3/ns/lab/hosts" $'\n')" "EINVAL" "an empty hosts: refused"

# dropped while empty: its copy goes; the cluster's lab is still listed there
is "$("$XWRITE" "$M1/ns/lab/hosts" "h1 h2")" "" "h3 dropped (on h1)"
ok "h3's empty lab goes" wait_for 3 sh -c '! test -e "$0/h3/state/ns/lab"' "$T"
ok "... said in its host/log" grep -q "cluster: ns/lab removed here (empty)" "$M3/host/log"
ok "h3 still lists the cluster's lab" test -d "$M3/ns/lab/containers"
ok "h2 keeps its own" local_ns 2
is "$("$XWRITE" "$M2/ns/lab/hosts" "h1 h2")" "" "a write on h2 that changes nothing"

# h3 named again, and at once a launch across the three: each makes its part (policy fewest:
# 2 each), h3 making lab when the create comes if it has not yet
"$XWRITE" "$M1/ns/lab/hosts" "h1 h2 h3"
out=$(etcd_wr "$M1/ns/lab/ctl" "launch container k[1-6]")
ok "h3 made lab again" local_ns 3
like "$out" "ok: launched 6;errno=ok$" "launch k[1-6] on h1: ok"
for h in h1 h2 h3; do
	like "$out" "(^|;)$h: ok launched [1-6];" "$h's line"
done
for i in 2 3; do
	ok "h$i made its part" sh -c 'ls "$0" | grep -q ^k' "$T/h$i/state/ns/lab/containers"
done
all_list() { for m in "$M1" "$M2" "$M3"; do [ "$(ls "$m/ns/lab/containers" | tr '\n' ' ')" = "k1 k2 k3 k4 k5 k6 " ] || return 1; done; }
ok "every host lists all six" wait_for 5 all_list

# chown and chmod on h2: the record's, on every host
UA=64201 UB=64202
chown "$UA:$UA" "$M2/ns/lab" && chmod 0750 "$M2/ns/lab"
is "$(field "$P/ns/lab" uid):$(field "$P/ns/lab" gid):$(field "$P/ns/lab" mode)" "$UA:$UA:0750" \
	"chown and chmod on h2 are in the record when they return"
attrs() { [ "$(stat -c '%u:%g %a' "$1/ns/lab")" = "$UA:$UA 750" ]; }
for m in "$M1" "$M2" "$M3"; do
	ok "$(basename "$(dirname "$m")") shows $UA:$UA 750" wait_for 3 attrs "$m"
done
ok "h1's own lab took them (its ns.conf)" grep -q "^uid=$UA$" "$T/h1/state/ns/lab/ns.conf"
ok "h3's lab log says so" grep -q "cluster: owner $UA:$UA, mode 0750 (the cluster's record)" "$M3/ns/lab/log"
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups "$@"; }
for m in "$M1" "$M3"; do
	h=$(basename "$(dirname "$m")")
	ok "$h: the owner ($UA) lists lab" as "$UA" ls "$m/ns/lab/containers"
	is "$(as "$UB" ls "$m/ns/lab/containers" 2>&1 | grep -c 'Permission denied')" 1 \
		"$h: another user ($UB) may not"
	is "$(as "$UB" "$XWRITE" "$m/ns/lab/ctl" "kill k1")" EACCES "$h: nor write its ctl"
done
chmod 0755 "$M1/ns/lab"
ok "chmod 0755 on h1: h3 lets $UB in" wait_for 3 as "$UB" ls "$M3/ns/lab/containers"
is "$(field "$P/ns/lab" mode)" 0755 "the record says 0755"

# a namespace h3 does not have: its chmod is the record's too, taken by its host (h1)
mkdir "$M1/ns/solo"
ok "ns solo is the cluster's" wait_for 5 has "$P/ns/solo"
ok "h3 lists solo" wait_for 3 test -d "$M3/ns/solo"
chmod 0700 "$M3/ns/solo"
is "$(field "$P/ns/solo" mode)" 0700 "chmod 0700 of solo on h3 (which lacks it): in the record"
is "$(stat -c %a "$M3/ns/solo")" 700 "... and h3 shows it when chmod returns"
ok "h1's solo takes it" wait_for 3 sh -c '[ "$(stat -c %a "$0/ns/solo")" = 700 ]' "$M1"

# a host a cold move copies an object to is one of the namespace's while it does: dropping it is
# EBUSY (its copy is no object there before the commit). The mark is forged with etcdctl
mkdir "$M1/ns/solo/containers/s1"
is "$("$XWRITE" "$M1/ns/solo/hosts" "h1 h2")" "" "solo's hosts: h1 h2 (s1 is h1's)"
SID=$(field "$P/ns/solo" id)
SK=$P/name/$SID/s1
sclaim=$(ectl get --print-value-only "$SK")
printf 'v=1\nhost=h2\nkind=move\nns=%s\nobjects=s1:1:h2\nphase=creating\n' "$SID" |
	ectl put "$P/intent/h2.1.1" >/dev/null
{ printf '%s\n' "$sclaim" | sed '/^$/d; /^intent=/d'; printf 'moving=h2\nintent=h2.1.1\n'; } | ectl put "$SK" >/dev/null
is "$("$XWRITE" "$M1/ns/solo/hosts" "h1")" EBUSY "dropping h2 while s1's claim says moving to h2: EBUSY"
like "$(tail -n 2 "$M1/host/log" "$M1/ns/solo/log" 2>/dev/null)" "h2 holds or is receiving 1 object of ns/solo \(s1\): move or flush them first" "... in words"
is "$(field "$P/ns/solo" hosts)" "h1 h2" "the record still names h2"
ectl del "$P/intent/h2.1.1" >/dev/null
printf '%s\n' "$sclaim" | sed '/^$/d' | ectl put "$SK" >/dev/null
like "$(etcd_wr "$M1/ns/solo/ctl" "kill s1")" "errno=ok$" "s1 killed (its claim as it was)"
ok "s1 is QUIT" wait_for 10 grep -q '^QUIT' "$M1/ns/solo/containers/s1/state"
ok "s1 removed (rmdir on h1), solo empty again" rmdir "$M1/ns/solo/containers/s1"
ok "... its claim goes" wait_for 5 hasnt "$SK"

# hostile records: a bad mode, an owner out of range, bits beyond 0777: refused, said, nothing changes
good=$(val "$P/ns/lab")
before=$(for m in "$M1" "$M2" "$M3"; do stat -c '%u:%g %a' "$m/ns/lab"; done)
put_lab() { printf '%s\n' "$1" | ectl put "$P/ns/lab" >/dev/null; } # put_lab VALUE, as another host would
put_lab "$(sed 's/^mode=.*/mode=0999/' <<<"$good")"
ok "mode=0999: refused, said on h1" wait_for 3 grep -q "etcd: $P/ns/lab (revision [0-9]*): .*mode.*refused, the namespace's last readable record is kept" "$M1/host/log"
put_lab "$(sed 's/^uid=.*/uid=4294967296/' <<<"$good")"
ok "uid=4294967296: refused, said on h3" wait_for 3 grep -q "etcd: $P/ns/lab (revision [0-9]*): .*uid.*refused" "$M3/host/log"
put_lab "$(sed 's/^mode=.*/mode=17777/' <<<"$good")"
ok "mode=17777 (beyond 07777): refused, said on h2" wait_for 3 grep -q "etcd: $P/ns/lab (revision [0-9]*): .*mode.*refused" "$M2/host/log"
sleep 1.2 # (the kernel's attributes live 1 s)
is "$(for m in "$M1" "$M2" "$M3"; do stat -c '%u:%g %a' "$m/ns/lab"; done)" "$before" "owner and mode unchanged on the three"
ok "lab is still listed on h3" test -d "$M3/ns/lab/containers"
ok "h3 still holds its lab" local_ns 3
put_lab "$good"

# a record an earlier build wrote with a set-id bit (mkdir -m 2755): read as 0755, so a chmod
# of the namespace still works
put_lab "$(sed 's/^mode=.*/mode=2755/' <<<"$good")"
chmod 0750 "$M2/ns/lab" 2>"$T/chmod.err"
is "$(cat "$T/chmod.err")" "" "mode=2755 in the record (an earlier build's): chmod 0750 on h2 works"
is "$(field "$P/ns/lab" mode)" 0750 "the record says 0750"
put_lab "$good"

# rmdir ns/NS: made and removed on one host, at once and once the cluster has it
gone_all() { # gone_all NS: no host has NS, nor lists it, and the cluster has no record
	for i in 1 2 3; do ! test -e "$T/h$i/state/ns/$1" && ! test -e "$(mnt "$i")/ns/$1" || return 1; done
	hasnt "$P/ns/$1"
}
mkdir "$M1/ns/tmp1" && rmdir "$M1/ns/tmp1"
ok "mkdir ns/tmp1; rmdir ns/tmp1 on h1: gone everywhere" wait_for 3 gone_all tmp1
# hosts written the moment mkdir returns, before h1's publisher has claimed the namespace in
# etcd: the write waits for the claim rather than failing EAGAIN
mkdir "$M1/ns/quick"
is "$("$XWRITE" "$M1/ns/quick/hosts" "h1 h2" 2>&1)" "" "mkdir ns/quick; echo 'h1 h2' > ns/quick/hosts at once"
ok "... the record names both (read on h3)" wait_for 3 sh -c '[ "$(cat "$0/ns/quick/hosts")" = "h1 h2" ]' "$M3"
ok "h2 makes quick" wait_for 3 test -d "$T/h2/state/ns/quick"
ok "rmdir ns/quick on h1" rmdir "$M1/ns/quick"
ok "... gone everywhere" wait_for 3 gone_all quick
mkdir "$M1/ns/tmp2"
ok "ns tmp2 is the cluster's" wait_for 5 has "$P/ns/tmp2"
ok "rmdir ns/tmp2 on h1, once the cluster has it" rmdir "$M1/ns/tmp2"
ok "... its record is gone when rmdir returns" hasnt "$P/ns/tmp2"
ok "... and the other hosts no longer list it" wait_for 3 gone_all tmp2
sleep 1
ok "... and it is not made again" gone_all tmp2

# lab spans h1..h3: with one object left, on h2, rmdir is refused on any host, naming h2
on_h2=$(ls "$T/h2/state/ns/lab/containers")
keep=$(printf '%s\n' "$on_h2" | head -1)
others=$(ls "$M1/ns/lab/containers" | grep -vx "$keep" | tr '\n' ' ')
built() { for k in $others $keep; do grep -q '^QUIT' "$M1/ns/lab/containers/$k/state" || return 1; done; }
like "$(etcd_wr "$M1/ns/lab/ctl" "kill all")" "errno=ok$" "kill all in lab"
ok "lab's six are QUIT" wait_for 10 built
flushed=$(for k in $others; do etcd_wr "$M1/ns/lab/ctl" "flush $k"; done | grep -c "ok: flush 1;errno=ok$")
is "$flushed" 5 "flush every object of lab but $keep (h2's), one by one on h1"
ok "... their claims go" wait_for 5 count_is 1 "$P/name/$NSID/"
rmerr=$(rmdir "$M1/ns/lab" 2>&1)
like "$rmerr" "Device or resource busy" "rmdir ns/lab on h1 while h2 holds $keep: EBUSY"
ok "... said in lab's log, naming h2 and $keep" grep -q "rmdir ns.*h2 holds 1 object of ns/lab ($keep)" "$M1/ns/lab/log"
ok "... the record stays" has "$P/ns/lab"
like "$(rmdir "$M2/ns/lab" 2>&1)" "Directory not empty" "rmdir ns/lab on h2, which holds $keep: ENOTEMPTY"
is "$(as "$UA" rmdir "$M3/ns/lab" 2>&1 | grep -c 'Permission denied')" 1 "lab's owner ($UA), not root: EACCES"
is "$(as "$UB" rmdir "$M1/ns/lab" 2>&1 | grep -c 'Permission denied')" 1 "another user ($UB): EACCES"
like "$(rmdir "$M2/ns/default" 2>&1)" "Device or resource busy" "rmdir ns/default: EBUSY"
ok "... said" grep -q "default namespace cannot be removed" "$M2/ns/default/log"
ok "default is still the cluster's" has "$P/ns/default"

# the last object flushed: rmdir on h3 removes lab from the cluster and from every host
like "$(etcd_wr "$M1/ns/lab/ctl" "flush $keep")" "errno=ok$" "flush $keep (on h2)"
ok "... its claim goes" wait_for 5 count_is 0 "$P/name/$NSID/"
ok "rmdir ns/lab on h3" rmdir "$M3/ns/lab"
ok "... the record is gone when it returns" hasnt "$P/ns/lab"
ok "... with its id's record" hasnt "$P/nsid/$NSID"
ok "... and every host's copy goes" wait_for 3 gone_all lab
ok "h2's host/log says so" grep -q "cluster: ns/lab removed here (empty): it was removed from the cluster" "$M2/host/log"
ok "h3's host/log says it was removed" grep -q "namespace lab removed (from cluster" "$M3/host/log"
ok "rmdir ns/solo on h3, which does not have it" rmdir "$M3/ns/solo"
ok "... gone from h1 too" wait_for 3 gone_all solo

# removed while a host that has it is down: that host drops its empty copy when it is back
mkdir "$M1/ns/away"
ok "ns away is the cluster's" wait_for 5 has "$P/ns/away"
"$XWRITE" "$M1/ns/away/hosts" "h1 h3"
AWAY=$(field "$P/ns/away" id)
ok "h3 makes away and maps it" wait_for 3 grep -q "^ns\.[0-9]*=$AWAY$" "$T/h3/state/cluster/ids"
etcd_member_stop 3
ok "rmdir ns/away on h1 while h3 is down" rmdir "$M1/ns/away"
etcd_member_start 3 || echo "not ok - h3 starts again"
ok "h3, back, drops its empty copy" wait_for 5 gone_all away
ok "... said in its host/log" grep -q "cluster: ns/away removed here (empty): it was removed from the cluster while this host was away" "$M3/host/log"

done_testing
