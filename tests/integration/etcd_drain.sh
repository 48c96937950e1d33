#!/usr/bin/env bash
# Drain, undrain and forget in a cluster on etcd (hosts/ctl, cluster/cdrain.h): a drained host
# says so on every host and takes nothing launched (ENOSPC with words), undrain gives it back;
# forget is refused while the host is up, works once it is stopped (its claims, its
# reservation go, every host stops listing it and its objects, the answer prints the admin's
# etcdctl line), and the forgotten host, started again, refuses to rejoin with words.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root

etcd_one
etcd_members 2 "$U" "p9 = 0.0.0.0:5640" || { echo "not ok 1 - two members start"; exit 1; }
M1=$T/h1/mnt M2=$T/h2/mnt

hctl() { "$XWRITE" -r "$1/hosts/ctl" "$2"; } # hctl MNT CMD: the answer (or error)
hctl_errno() { "$XWRITE" "$1/hosts/ctl" "$2"; }
state_says() { grep -q "$2" "$1/hosts/h2/state"; }
state_not() { ! grep -q "$2" "$1/hosts/h2/state"; }

both_info() { has "$P/h/h1/info" && has "$P/h/h2/info"; }
ok "both hosts publish their info" wait_for 10 both_info
# lab is made on h1 and spans h2 by its hosts (h2 makes its own copy from the record: a
# mkdir on h2 too would race h1's record, EEXIST once h2 sees it)
mkdir "$M1/ns/lab"
ok "ns lab is the cluster's" wait_for 5 has "$P/ns/lab"
echo "h1 h2" >"$M1/ns/lab/hosts"
ok "h2 makes its copy of lab" wait_for 5 test -d "$T/h2/state/ns/lab"
for m in "$M1" "$M2"; do
	echo 16M >"$m/ns/lab/config/memory"
done
# h2's launches stay on h2 (the template of h2's copy pins it)
echo h2 >"$M2/ns/lab/config/host"
NSID=$(field "$P/ns/lab" id)
ok "h2 maps it" wait_for 5 grep -q "^ns\.[0-9]*=$NSID$" "$T/h2/state/cluster/ids"
is "$("$XWRITE" -r "$M2/ns/lab/ctl" "launch container a1")" "$(printf 'h2: ok launched 1\nok: launched 1')" \
	"h2 launches a1: a line per host, then the sum"
ok "h1 lists a1 (h2's)" wait_for 5 test -d "$M1/ns/lab/containers/a1"

# drain
like "$(hctl "$M1" "drain h2")" "^ok: h2 draining since .*its objects stay" "h1: drain h2"
ok "P/cap/h2 has drain=" sh -c '[ -n "$0" ]' "$(field "$P/cap/h2" drain)"
for m in "$M1" "$M2"; do
	ok "$m: hosts/h2/state says draining" wait_for 5 state_says "$m" "^up since .*, run [0-9]*; draining since "
done
ok "a1 stays" test -d "$T/h2/state/ns/lab/containers/a1"
like "$(hctl "$M2" "drain h2")" "draining already" "drain again: said so"
out=$("$XWRITE" -r "$M2/ns/lab/ctl" "launch container b1")
like "$out" "h2: draining" "a launch on the drained h2 (its only host) is refused, with words"
is "$("$XWRITE" "$M2/ns/lab/ctl" "launch container b1")" ENOSPC "ENOSPC"
ok "b1 not claimed" hasnt "$P/name/$NSID/b1"
like "$("$XWRITE" -r "$M2/ns/lab/ctl" "plan launch container b1" 2>&1)" "draining" "plan says h2 is draining"

# undrain
like "$(hctl "$M1" "undrain h2")" "^ok: h2 undrained" "h1: undrain h2"
is "$(field "$P/cap/h2" drain)" "" "P/cap/h2's drain is gone"
ok "h1's hosts/h2/state no longer says draining" wait_for 5 state_not "$M1" draining
ok "nor h2's" wait_for 5 state_not "$M2" draining
is "$("$XWRITE" -r "$M2/ns/lab/ctl" "launch container b1")" "$(printf 'h2: ok launched 1\nok: launched 1')" \
	"h2 takes b1 again"
is "$(field "$P/name/$NSID/b1" host)" h2 "b1 is on h2"
ok "h1 lists b1" wait_for 5 test -d "$M1/ns/lab/containers/b1"

# refusals
like "$(hctl "$M1" "forget h2")" "h2 is up.*stop its vmfs first" "forget h2 while it is up: refused with words"
is "$(hctl_errno "$M1" "forget h2")" EBUSY "EBUSY"
like "$(hctl "$M1" "drain h9")" "no such host" "drain h9 (unknown): refused with words"
is "$(hctl_errno "$M1" "drain h9")" ENOENT "ENOENT"
like "$(hctl "$M1" "frobnicate h2")" "usage|unknown" "an unknown verb: refused with words"
is "$(hctl_errno "$M1" "frobnicate h2")" EINVAL "EINVAL"
like "$(hctl "$M1" "forget h1")" "this host" "forget of itself: refused"
ok "nothing forgotten" hasnt "$P/forgotten/h2"

# forget, once h2 is stopped
etcd_member_stop 2
ok "h2's alive is gone" wait_for 5 hasnt "$P/h/h2/alive"
ok "h1 sees it down" wait_for 5 sh -c '! grep -q "^up" "$0/hosts/h2/state"' "$M1"
out=$(hctl "$M1" "forget h2")
like "$out" "^ok: forgot h2: 2 claims" "h1: forget h2: its 2 claims deleted"
like "$out" "etcdctl del --prefix $P/h/h2/" "the answer prints the admin's etcdctl line"
ok "P/forgotten/h2 exists" has "$P/forgotten/h2"
is "$(field "$P/forgotten/h2" by)" h1 "by h1"
ok "P/cap/h2 is gone" hasnt "$P/cap/h2"
ok "a1's and b1's claims are gone" sh -c 'hasnt() { [ -z "$(ETCDCTL_API=3 etcdctl --endpoints "$0" get --keys-only "$1")" ]; }; hasnt "$1/a1" && hasnt "$1/b1"' "$U" "$P/name/$NSID"
ok "h2's area stays (the admin's to delete)" has "$P/h/h2/id"
ok "h1 no longer lists a1" wait_for 5 sh -c '! test -e "$0/ns/lab/containers/a1"' "$M1"
ok "h1's hosts/ no longer lists h2" sh -c '! ls "$0/hosts" | grep -qx h2' "$M1"
like "$(hctl "$M1" "forget h2")" "forgotten by h1" "forget again: says it is forgotten"
like "$(hctl "$M1" "drain h2")" "forgotten by h1" "drain of a forgotten host: refused with words"

# h2 comes back: it refuses to rejoin
etcd_member_start 2 || { echo "not ok - h2 starts again"; exit 1; }
ok "h2's host/log says it is forgotten" wait_for 10 grep -q "this host was forgotten by h1.*does not rejoin" "$M2/host/log"
like "$(cat "$M2/hosts/h2/state")" "not a member since .*forgotten by h1.*etcdctl del --prefix $P/h/h2/" "h2's hosts/h2/state says so"
sleep 1
ok "it did not put its alive" hasnt "$P/h/h2/alive"
ok "h1 still does not list it" sh -c '! ls "$0/hosts" | grep -qx h2' "$M1"

done_testing
