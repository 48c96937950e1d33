#!/usr/bin/env bash
# mkdir of an object in a namespace of a cluster on etcd is a launch of one (vmfs/cmkdir.c,
# vmfs/claunch.c): placed over the namespace's hosts (ns default spans h2 and h3: nothing lands
# on h1, where the mkdirs are made), claimed first, made on its host, answered when it is made
# and shows here; listed on every host right after. A name claimed elsewhere is EEXIST naming
# its host; every host drained is ENOSPC; the host it goes to cut is EHOSTDOWN; the words go to
# the namespace's log. `launch ... like
# NAME` copies the config of NAME on another host. A name just made on one host is found by a
# look-up on another at once (the look-up asks etcd before ENOENT).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root

etcd_one
etcd_members 3 "$U" "p9 = 0.0.0.0:5640" || { echo "not ok 1 - three members start"; exit 1; }
M1=$T/h1/mnt M2=$T/h2/mnt M3=$T/h3/mnt

# mk DIR: mkdir's errno name (ok, EEXIST...), as the caller sees it
mk() { python3 -c '
import errno, os, sys
try:
    os.mkdir(sys.argv[1]); print("ok")
except OSError as x:
    print(errno.errorcode[x.errno])' "$1"; }
made() { test -d "$T/h$1/state/ns/default/containers/$2"; }

all_info() { has "$P/h/h1/info" && has "$P/h/h2/info" && has "$P/h/h3/info"; }
ok "the three hosts publish their info" wait_for 10 all_info
# ns default, which every host has from its start: its hosts are made h2 and h3 below
for i in 1 2 3; do echo 16M >"$T/h$i/mnt/ns/default/config/memory"; done
ok "ns default is the cluster's" wait_for 5 has "$P/ns/default"
NSID=$(field "$P/ns/default" id)
all_map() { for i in 1 2 3; do grep -q "^ns\.[0-9]*=$NSID$" "$T/h$i/state/cluster/ids" || return 1; done; }
ok "every host maps it" wait_for 5 all_map
# default's hosts: h2 and h3, written on h1 (no host holds objects yet): a txn on the record
is "$("$XWRITE" "$T/h1/mnt/ns/default/hosts" "h2 nosuchhost")" "ENOENT" "hosts naming a host the cluster lacks: ENOENT"
like "$(tail -n 1 "$T/h1/mnt/ns/default/log")" "nosuchhost: no such host in cluster" "the log says which"
is "$("$XWRITE" "$T/h1/mnt/ns/default/hosts" "h2, h3 h2")" "" "echo 'h2, h3 h2' > ns/default/hosts on h1"
is "$(sed -n 's/^hosts=//p' <<<"$(val "$P/ns/default")")" "h2 h3" "the record's hosts are h2 h3 (once each)"
for i in 1 2 3; do
	ok "h$i reads hosts as h2 h3" wait_for 2 sh -c '[ "$(cat "$0")" = "h2 h3" ]' "$T/h$i/mnt/ns/default/hosts"
done

# mkdir on h1: placed on h2 or h3, answered once made, listed at once
for a in a1 a2 a3 a4; do
	is "$(mk "$M1/ns/default/containers/$a")" ok "mkdir $a on h1"
	h=$(field "$P/name/$NSID/$a" host)
	ok "$a is claimed for h2 or h3 ($h)" sh -c '[ "$0" = h2 ] || [ "$0" = h3 ]' "$h"
	ok "$a is made on $h" made "${h#h}" "$a"
	ok "$a is not made on h1" sh -c '! test -e "$0"' "$T/h1/state/ns/default/containers/$a"
	ok "h1 lists $a right after" sh -c 'ls "$0" | grep -qx "$1"' "$M1/ns/default/containers" "$a"
	ok "h1's stat sees it" stat "$M1/ns/default/containers/$a/state"
done
lists_all() { [ "$(ls "$1/ns/default/containers" | tr '\n' ' ')" = "a1 a2 a3 a4 " ]; }
for i in 2 3; do # (their caches follow etcd's watch: a few ms)
	ok "h$i lists all four" wait_for 2 lists_all "$T/h$i/mnt"
done

# a name claimed elsewhere (a claim of h9's, put by hand: no host lists it): EEXIST naming h9
printf 'v=1\nid=990\ntype=container\nhost=h9\nintent=h9.1.1\nctime=1\n' | ectl put "$P/name/$NSID/zz" >/dev/null
is "$(mk "$M1/ns/default/containers/zz")" EEXIST "mkdir of a name claimed on h9: EEXIST"
like "$(tail -n 1 "$M1/ns/default/log")" "mkdir containers/zz: .*zz exists already in ns/default \(on h9\)" "the log names h9"
ok "nothing made" sh -c '! ls "$0"/h*/state/ns/default/containers/zz 2>/dev/null | grep -q .' "$T"
ectl del "$P/name/$NSID/zz" >/dev/null

# every host of default drained: nothing fits, with the hosts' words
echo "drain h2" >"$M1/hosts/ctl"
echo "drain h3" >"$M1/hosts/ctl"
drained() { [ -n "$(field "$P/cap/h2" drain)" ] && [ -n "$(field "$P/cap/h3" drain)" ]; }
ok "h2 and h3 drain" wait_for 5 drained
is "$(mk "$M1/ns/default/containers/d1")" ENOSPC "mkdir with every host of default drained: ENOSPC"
like "$(tail -n 1 "$M1/ns/default/log")" "mkdir containers/d1: .*h2: .*draining.*h3: .*draining|mkdir containers/d1: .*h3: .*draining.*h2: .*draining" "the log gives each host's words"
ok "no claim of d1" hasnt "$P/name/$NSID/d1"
echo "undrain h2" >"$M1/hosts/ctl"
echo "undrain h3" >"$M1/hosts/ctl"
undrained() { [ -z "$(field "$P/cap/h2" drain)" ] && [ -z "$(field "$P/cap/h3" drain)" ]; }
ok "h2 and h3 undrain" wait_for 5 undrained

# the host it goes to is cut from etcd as the mkdir begins (pinned there): not taken, all
# rolled back, EHOSTDOWN by the errno rule
echo h3 >"$M1/ns/default/config/host"
etcd_cut 3
r=$(mk "$M1/ns/default/containers/e1")
etcd_restore 3
is "$r" EHOSTDOWN "mkdir of e1 pinned to h3, cut: EHOSTDOWN"
ok "the namespace's log says h3 did not take it" grep -q "h3: not taken within 5\.0 s: cancelled" "$M1/ns/default/log"
ok "no claim of e1 left" hasnt "$P/name/$NSID/e1"
echo "" >"$M1/ns/default/config/host"
ok "h3 back: nothing of e1 made there" sh -c 'sleep 2; ! test -e "$0"' "$T/h3/state/ns/default/containers/e1"

# launch ... like a1, a1 being another host's: its config is the template, claimed first
H=$(field "$P/name/$NSID/a1" host)
echo 24M >"$T/$H/mnt/ns/default/containers/a1/config/memory"
want=$(cat "$T/$H/mnt/ns/default/containers/a1/config/memory")
ok "h1 sees a1's memory from its record ($want)" wait_for 5 sh -c '[ "$(cat "$0")" = "$1" ]' "$M1/ns/default/containers/a1/config/memory" "$want"
is "$(tail -n 1 <<<"$("$XWRITE" -r "$M1/ns/default/ctl" "launch container b1 like a1")")" "ok: launched 1" "h1: launch container b1 like a1"
B=$(field "$P/name/$NSID/b1" host)
ok "b1 is claimed for h2 or h3 ($B)" sh -c '[ "$0" = h2 ] || [ "$0" = h3 ]' "$B"
is "$(cat "$T/$B/mnt/ns/default/containers/b1/config/memory" 2>&1)" "$want" "b1 has a1's memory"
is "$("$XWRITE" "$M1/ns/default/ctl" "launch container b2 like nosuch")" ENOENT "like a name nobody has: ENOENT"

# read-your-writes: made on h2, found on h3 at once
is "$(mk "$M2/ns/default/containers/c1")" ok "mkdir c1 on h2"
ok "h3's stat finds it right after" stat "$M3/ns/default/containers/c1"
ok "and h1's" stat "$M1/ns/default/containers/c1"
done_testing
