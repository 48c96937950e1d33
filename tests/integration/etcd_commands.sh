#!/usr/bin/env bash
# Verbs across the hosts of an etcd cluster (cluster/ccmd.h, docs/cluster-design.md
# "Commands"): three members, each with containers of its own in namespace default. A verb
# written to one host's ns/default/ctl reaches every host's objects and is answered a line per
# host; a member cut from etcd is cancelled within the take window (EHOSTDOWN) and applies
# nothing when it is back (while cut, it refuses verbs that span hosts, ENOTCONN, and applies
# those on its own objects); a named object whose state refuses the verb is EBUSY with words; a
# glob on one host only succeeds; nothing matching is ENOENT; another host's object's own ctl is
# a command to that host. A member checks what it is sent:
# a command from no known host is not taken; one naming an object in a state that refuses the
# verb is answered EBUSY with the member's words, and the answer goes with the command. A head
# cut from etcd answers "outcome unknown" once its commands are surely gone, none applied.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
use_busybox_image

EXTRA_CLEANUP="etcd_flush_all; $EXTRA_CLEANUP"

etcd_one
etcd_members 3 "$U" "p9 = 0.0.0.0:5640" "p9_user = root" "images = $T/images" ||
	{ echo "not ok 1 - three members start"; exit 1; }
D1=$(mnt 1)/ns/default D2=$(mnt 2)/ns/default D3=$(mnt 3)/ns/default

# wr FILE TEXT: etcd_wr (etcd_lib.sh)
wr() { etcd_wr "$@"; }
st() { cat "$1/containers/$2/state" 2>/dev/null; }
all_in() { # all_in STATE DIR NAME...: each NAME of DIR is in STATE
	local want=$1 d=$2 n
	shift 2
	for n in "$@"; do [ "$(st "$d" "$n")" = "$want" ] || return 1; done
}

for i in 1 2 3; do echo "h$i" >"$(mnt "$i")/ns/default/config/host"; done # each launches on itself
"$XWRITE" "$D1/ctl" "launch container a[1-2]"
"$XWRITE" "$D2/ctl" "launch container b[1-2]"
"$XWRITE" "$D3/ctl" "launch container c[1-2]"
ok "every host's 6 objects are published" wait_for 10 count_is 6 "$P/name/"
ok "... and the records of h2's and h3's" wait_for 10 sh -c '[ "$("$@" "'"$P"'/h/h2/o/" | grep -c .)" = 2 ] && [ "$("$@" "'"$P"'/h/h3/o/" | grep -c .)" = 2 ]' _ \
	env ETCDCTL_API=3 etcdctl --endpoints "$U" get --prefix --keys-only
sleep 0.5 # h1's cache follows etcd's watch
# the answer's lines are in the order of the namespace's hosts (the order they joined it)
HOSTS=$(ectl get --print-value-only "$P/ns/default" | sed -n 's/^hosts=//p')
is "$(echo "$HOSTS" | tr ' ' '\n' | sort | tr '\n' ' ')" "h1 h2 h3 " "namespace default spans the 3 hosts"
each() { # each VERB N: "H: ok VERB N;" for every host, in hosts order
	local h
	for h in $HOSTS; do printf '%s: ok %s %s;' "$h" "$1" "$2"; done
}

out=$(wr "$D1/ctl" "start all")
like "$out" "^$(each start 2)ok: start 6;errno=ok$" "start all on h1: a line per host, then the sum"
ok "every host's containers run" all_in RUNNING "$D1" a1 a2
ok "... h2's" all_in RUNNING "$D2" b1 b2
ok "... h3's" all_in RUNNING "$D3" c1 c2
ok "no command key is left" wait_for 3 count_is 0 "$P/cmd/"
ok "nor an answer" wait_for 3 sh -c '! ETCDCTL_API=3 etcdctl --endpoints "$0" get --prefix --keys-only "$1" | grep -q /ans/' "$U" "$P/h/"
ok "records say RUNNING" wait_for 5 sh -c 'ETCDCTL_API=3 etcdctl --endpoints "$0" get --prefix --print-value-only "$1" | grep -c "^state=RUNNING" | grep -qx 6' "$U" "$P/h/"

out=$(wr "$D1/ctl" "pause all")
like "$out" "^$(each pause 2)ok: pause 6;errno=ok$" "pause all from h1 pauses objects on all 3 hosts"
ok "h2's are PAUSED on h2" all_in PAUSED "$D2" b1 b2
ok "h3's on h3" all_in PAUSED "$D3" c1 c2
ok "h1's on h1" all_in PAUSED "$D1" a1 a2
ok "h3's log says what it applied, and from whom" grep -q "cluster: command h1\.[0-9]*\.[0-9]* from h1: pause 2 object(s): done" "$D3/log"
out=$(wr "$D2/ctl" "resume all")
like "$out" "ok: resume 6;errno=ok$" "resume all from h2 reaches every host too"
ok "all RUNNING again" wait_for 3 all_in RUNNING "$D1" a1 a2
ok "... on h3" all_in RUNNING "$D3" c1 c2
sleep 0.5 # the records of RUNNING reach h1's cache

# a member cut: its part is cancelled at the take window; the others are paused
etcd_cut 3
t0=$(date +%s%3N)
out=$(wr "$D1/ctl" "pause all")
ms=$(($(date +%s%3N) - t0))
echo "# answered in $ms ms:"; printf '%s\n' "$out" | tr ';' '\n' | sed 's/^/#   /'
ok "with h3 cut, pause all answers within 3.5 s" test "$ms" -lt 3500
like "$out" "h3: (not taken within 2\\.0 s: cancelled|down since [^:]*: not sent)" "h3's line: cancelled (or down: not sent)"
like "$out" "errno=EHOSTDOWN$" "the write fails EHOSTDOWN"
like "$out" "(^|;)h1: ok pause 2;" "h1 paused"
like "$out" "(^|;)h2: ok pause 2;" "h2 paused"
ok "h2's are PAUSED" all_in PAUSED "$D2" b1 b2
ok "h1's log has h3's line" grep -q "cluster: h1\.[0-9]*\.[0-9]* pause: h3: " "$D1/log"
ok "h3 knows it is cut" wait_for 5 sh -c 'grep -q "^cut from etcd since" "$0/hosts/h3/state"' "$(mnt 3)"
out=$(wr "$D3/ctl" "pause all")
like "$out" "errno=ENOTCONN$" "on h3, cut: a verb that spans hosts is refused, ENOTCONN"
like "$out" "cut from the cluster's etcd since .*: a change that spans hosts cannot be made now; this host's guests keep running" "... with words"
ok "... and changes nothing" all_in RUNNING "$D3" c1 c2
out=$(wr "$D3/ctl" "pause c1")
like "$out" "^h3: ok pause 1;ok: pause 1;errno=ok$" "its own object: done"
ok "h3's log says it was applied while cut" grep -q "cluster: pause c1: applied while cut from etcd" "$D3/log"
"$XWRITE" "$D3/ctl" "resume c1"
etcd_restore 3
ok "h3 back: h1 sees it up" wait_for 10 sh -c 'grep -q "^up since" "$0/hosts/h3/state"' "$(mnt 1)"
sleep 3
ok "h3's objects stay RUNNING: no late pause" all_in RUNNING "$D3" c1 c2
ok "no command key is left" count_is 0 "$P/cmd/"
out=$(wr "$D1/ctl" "resume all")
like "$out" "ok: resume 4;errno=ok$" "resume all reaches all (h3 has nothing to resume)"
ok "h2's RUNNING" all_in RUNNING "$D2" b1 b2

# a named object whose state refuses the verb
"$XWRITE" "$D2/ctl" "launch container z1"
ok "z1 is published" wait_for 5 sh -c 'ETCDCTL_API=3 etcdctl --endpoints "$0" get --prefix --print-value-only "$1" | grep -qx name=z1' "$U" "$P/h/h2/o/"
sleep 0.5
out=$(wr "$D1/ctl" "pause z1")
printf '%s\n' "$out" | tr ';' '\n' | sed 's/^/#   /'
like "$out" "z1" "pause z1 (BUILDING, on h2): the answer names it"
like "$out" "errno=EBUSY$" "... EBUSY"
ok "... in h1's log" grep -q "z1" "$D1/log"
ok "z1 untouched" all_in BUILDING "$D2" z1
# through h1's 9P door (from its own host: p9_peers, as root: p9_user): the errno reaches Rlerror
p9() { timeout 20 ip netns exec "$ETCD_ID-h1" python3 "$ROOT/tests/tools/p9client.py" --tcp 127.0.0.1:5640 "$@"; }
like "$(p9 ctl ns/default/ctl "pause z1" | tr '\n' ';')" "^errno $(python3 -c 'import errno; print(errno.EBUSY)'): .*z1 is BUILDING" \
	"over 9P: Rlerror EBUSY, the words read back"
out=$(wr "$D1/ctl" "pause b*")
like "$out" "^h2: ok pause 2;ok: pause 2;errno=ok$" "a glob matching on one host only succeeds"
out=$(wr "$D1/ctl" "pause nothing*")
like "$out" "errno=ENOENT$" "nothing matching: ENOENT"
"$XWRITE" "$D1/ctl" "resume all"
ok "b1 RUNNING again" wait_for 3 all_in RUNNING "$D2" b1
sleep 0.5

# another host's object's own ctl: a command to that one host
B1=$(mnt 1)/ns/default/containers/b1
out=$(wr "$B1/ctl" stop)
like "$out" "^h2: ok stop 1;ok: stop 1;errno=ok$" "stop through h2's b1's ctl on h1: made by h2"
ok "b1 stopped on h2" wait_for 5 all_in QUIT "$D2" b1
ok "h1 sees it" wait_for 3 sh -c 'grep -q "^QUIT" "$0/state"' "$B1"
out=$(wr "$B1/ctl" pause)
like "$out" "errno=EBUSY$" "pause of b1 (QUIT) through its ctl on h1: EBUSY"
like "$out" "b1" "... in words"
is "$(errno_of "$B1/ctl" "commit x")" EOPNOTSUPP "what is not a verb is refused, with words"
# h1's view behind h2's truth (b1's record says RUNNING): h2 itself refuses, in its words
NSID=$(ectl get --print-value-only "$P/ns/default" | sed -n 's/^id=//p')
RB1=$P/h/h2/o/$NSID/$(ectl get --print-value-only "$P/name/$NSID/b1" | sed -n 's/^id=//p')
v=$(ectl get --print-value-only "$RB1" | sed 's/^state=QUIT$/state=RUNNING/') # (etcdctl adds a newline)
printf '%s\n' "$v" | ectl put "$RB1" >/dev/null
ok "h1 now sees b1 RUNNING" wait_for 3 sh -c 'grep -q "^RUNNING" "$0/state"' "$B1"
out=$(wr "$B1/ctl" pause)
like "$out" "^h2: EBUSY: b1 is QUIT: pause needs it RUNNING;error: .*;errno=EBUSY$" \
	"pause through b1's ctl on h1: h2's own refusal, its errno and words"
ok "... in h1's namespace log" grep -q "pause: h2: EBUSY: b1 is QUIT" "$D1/log"
ok "b1 still QUIT on h2" all_in QUIT "$D2" b1

# many objects: a member's part is done in slices, as a local write's. A launch (`like` too)
# claims first, within h2's capacity (cpus x its cpu_ratio, 4): h2's info is put here with
# ratios of 1000, as an admin's vmfs.conf would give them (h2 does not put it again: it
# publishes its info only when its own changes)
printf '%s\n' "$(ectl get --print-value-only "$P/h/h2/info" | sed 's/^cpu_ratio=.*/cpu_ratio=1000/; s/^mem_ratio=.*/mem_ratio=1000/')" | ectl put "$P/h/h2/info" >/dev/null
sleep 0.5 # h2's cache follows etcd's watch
"$XWRITE" "$D2/ctl" "launch container k[1-300] like z1"
ok "h1 lists h2's 300 new containers" wait_for 20 sh -c '[ "$(ls "$0" | grep -c "^k")" = 300 ]' "$D1/containers"
out=$(wr "$D1/ctl" "kill k*")
like "$out" "^h2: ok kill 300;ok: kill 300;errno=ok$" "kill k* from h1: h2 kills its 300 (BUILDING: QUIT)"
ok "h1 sees them QUIT" wait_for 10 sh -c '[ "$(grep -c "k[0-9]*	container	QUIT" "$0")" = 300 ]' "$D1/info"
out=$(wr "$D1/ctl" "flush k*")
like "$out" "^h2: ok flush 300;ok: flush 300;errno=ok$" "flush k* from h1: h2 flushes its 300"
ok "they are gone on h2" wait_for 5 sh -c '! ls "$0" | grep -q "^k"' "$D2/containers"

# what a member takes: records written by hand, as a peer could
Z=$(ectl get --print-value-only "$P/name/$NSID/z1" | sed -n 's/^id=//p')
rec() { printf 'v=1\nfrom=%s\nns=%s\nverb=%s\nids=%s\nunfit=refuse\ntake-ms=2000\nissued=%s\n' "$1" "$NSID" "$2" "$3" "$(date +%s)"; }
rec h9 pause "$Z" | ectl put "$P/cmd/h2/h9.1.1" >/dev/null
sleep 1.5
is "$(ectl get -w fields "$P/cmd/h2/h9.1.1" | sed -n 's/^"Version" : //p')" 1 "a command from no known host is not taken"
ok "... h2's host/log says why" grep -q "h9.1.1: from h9, which is no other host" "$(mnt 2)/host/log"
ectl del "$P/cmd/h2/h9.1.1" >/dev/null
rec h1 pause "$Z" | ectl put "$P/cmd/h2/h1.999.1" >/dev/null
ok "a command naming BUILDING z1 is taken and answered" wait_for 3 sh -c 'ETCDCTL_API=3 etcdctl --endpoints "$0" get --print-value-only "$1" | grep -q "^state=done"' "$U" "$P/h/h2/ans/h1.999.1"
ans=$(ectl get --print-value-only "$P/h/h2/ans/h1.999.1")
like "$ans" "errno=EBUSY" "EBUSY"
like "$ans" "reason=.*(BUILDING|z1)" "with the member's words"
like "$(ectl get --print-value-only "$P/cmd/h2/h1.999.1")" "taken=h2" "the command says who took it"
ok "z1 untouched" all_in BUILDING "$D2" z1
ectl del "$P/cmd/h2/h1.999.1" >/dev/null
ok "the command gone, its answer goes" wait_for 3 count_is 0 "$P/h/h2/ans/"
rec h1 pause 999999 | ectl put "$P/cmd/h2/h1.999.2" >/dev/null
ok "an id that is not h2's is answered ENOENT" wait_for 3 sh -c 'ETCDCTL_API=3 etcdctl --endpoints "$0" get --print-value-only "$1" | grep -q "^errno=ENOENT"' "$U" "$P/h/h2/ans/h1.999.2"
ectl del "$P/cmd/h2/h1.999.2" >/dev/null

# the head cut from etcd: it cannot confirm its cancels; it answers "unknown" once its lease,
# and the commands on it, are surely gone, and nothing is applied on the others
etcd_cut 1
t0=$(date +%s%3N)
out=$(wr "$D1/ctl" "pause all")
ms=$(($(date +%s%3N) - t0))
echo "# h1 cut: answered in $ms ms:"; printf '%s\n' "$out" | tr ';' '\n' | sed 's/^/#   /'
like "$out" "errno=(ETIMEDOUT|ENOTCONN)$" "pause all from h1, cut: ETIMEDOUT (outcome unknown), or ENOTCONN"
ok "answered within 12 s (the put, a cancel, the lease)" test "$ms" -lt 12000
etcd_restore 1
ok "h1 back" wait_for 10 sh -c 'grep -q "^up since" "$0/hosts/h1/state"' "$(mnt 2)"
sleep 1
ok "h2's b2 still RUNNING: nothing applied" all_in RUNNING "$D2" b2
ok "h3's too" all_in RUNNING "$D3" c1 c2
ok "no command key is left" wait_for 5 count_is 0 "$P/cmd/"

done_testing
