#!/usr/bin/env bash
# etcd/snapshot.c and etcd/watch.c against a real etcd (one node, then three) and a false one:
# a prefix read whole at one revision, page by page, and every change after it streamed in
# order, across a compaction, a node killed and hostile messages. Driven through
# tests/tools/etcdtry; no vmfs mount.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
TRY=$ROOT/tests/tools/etcdtry
[ -x "$TRY" ] || { echo "not ok 1 - tests/tools/etcdtry is built (make)"; exit 1; }
try() { timeout 20 "$TRY" "$@" 2>&1; }
rev_of() { sed -n 's/^revision \([0-9]*\)$/\1/p'; }
# in_order FILE N PREFIX: FILE holds N events of PREFIX00000 ... in that order, each once, at
# rising revisions
in_order() {
	awk -v n="$2" -v p="$3" '
		{ split($2, kv, "="); want = sprintf("%s%05d", p, NR - 1)
		  if (kv[1] != want) { print "line " NR ": " $0 ", not " want; bad = 1; exit }
		  r = substr($3, 5) + 0; if (r <= last) { print "line " NR ": revision " r " after " last; bad = 1; exit }
		  last = r }
		END { if (!bad && NR != n) print NR " events, not " n }' "$1"
}

etcd_start one
# shellcheck disable=SC2154 # set by etcd_start
U=$ETCD_URL_one

# --- the snapshot ---
R=$(try "$U" fill /s/ 1000 a | rev_of)
like "$R" '^[0-9]+$' "1000 keys written"
try "$U" fill /s/ 1000 b >/dev/null
out=$(try "$U" snapshot /s/ "$R")
is "$(head -1 <<<"$out")" "revision $R" "a snapshot at a past revision says that revision"
is "$(tail -n +2 <<<"$out" | grep -c '=a mod=')" 1000 "and holds the 1000 keys as they were then, through every page ($((1000 / 256 + 1)) pages of 256)"
is "$(tail -n +2 <<<"$out" | cut -d= -f1 | sort -c && echo sorted)" "sorted" "in key order"
"$TRY" "$U" fill /s/ 1000 c >/dev/null 2>&1 &
W=$!
sleep 0.2
out=$(try "$U" snapshot /s/ 0)
wait "$W"
now=$(head -1 <<<"$out" | rev_of)
# keys are rewritten in order: a consistent snapshot is c...c b...b, never b then c
is "$(tail -n +2 <<<"$out" | sed 's/^[^=]*=\(.\) .*/\1/' | uniq | tr -d '\n')" "cb" \
	"a snapshot at revision 0 taken while the keys change: one revision's keys, in every page"
is "$(tail -n +2 <<<"$out" | wc -l)" 1000 "all 1000 of them"
is "$(tail -n +2 <<<"$out" | awk -v r="$now" '{ split($2, m, "="); if (m[2] + 0 > r) print }')" "" \
	"none changed after the snapshot's revision"
is "$(try "$U" snapshot /nothing/ 0 | tail -n +2)" "" "a snapshot of a prefix nothing starts with: no keys"
ETCDCTL_API=3 etcdctl --endpoints "$U" compact "$now" >/dev/null
like "$(try "$U" snapshot /s/ "$R")" "a snapshot of /s/ at revision $R \(compacted, .*gRPC code 11 \(OutOfRange\): etcdserver: mvcc: required revision has been compacted" \
	"a snapshot at a compacted revision: refused, saying so in etcd's words"

# --- the watch ---
R=$(try "$U" put /w/start x | rev_of)
"$TRY" "$U" watch /w/n "$((R + 1))" 500 20000 >"$T/w500" 2>"$T/w500.err" &
W=$!
try "$U" fill /w/n 500 v >/dev/null
wait "$W"
is "$(in_order "$T/w500" 500 /w/n)" "" "a watch gets every one of 500 puts, in order, once"
like "$(head -1 "$T/w500")" "^PUT /w/n00000=v rev=$((R + 1))\$" "from the revision it was asked for, with the value"
out=$(try "$U" watch /w/n "$((R + 1))" 1 5000 | head -1)
is "$out" "PUT /w/n00000=v rev=$((R + 1))" "a second watch from the same revision replays the same history"
R=$(try "$U" put /w/other y | rev_of)
"$TRY" "$U" watch /w/d "$((R + 1))" 3 10000 >"$T/wd" 2>&1 &
W=$!
try "$U" put /w/d1 1 >/dev/null
try "$U" put /w/zz 1 >/dev/null
try "$U" del /w/d1 >/dev/null
try "$U" put /w/d2 2 >/dev/null
wait "$W"
is "$(cut -d' ' -f1,2 "$T/wd")" "PUT /w/d1=1
DELETE /w/d1
PUT /w/d2=2" "a watch of a prefix: puts and deletes of its keys, none of another"
out=$(try "$U" watch /w/ 2 1 5000)
like "$out" "^COMPACTED $now etcd watch of /w/: etcd has compacted its history up to revision $now, and revision 2 was needed: range again\$" \
	"a watch from a compacted revision: COMPACTED, with etcd's compact revision"
rev=$(try "$U" put /w/x 1 | rev_of)
"$TRY" "$U" watch /w/x "$((rev + 1))" 1 20000 >"$T/wdown" 2>&1 &
W=$!
sleep 0.5
etcd_kill one
ok "its node killed: the watch says DOWN, with why" wait_for 5 grep -q "^DOWN no etcd endpoint answers the watch of /w/x: .*$U" "$T/wdown"
read -r _ peer <"$T/etcd-one/ports"
etcd_node one "one=http://127.0.0.1:$peer" new
etcd_wait "$U"
try "$U" put /w/x 2 >/dev/null
wait "$W"
is "$(sed 1d "$T/wdown")" "UP
PUT /w/x=2 rev=$((rev + 1))" "node back: UP, then the event, from where it was"
etcd_stop_all

# --- a false etcd's stream ---
# (WatchResponse: header 1 {revision 3}, created 3, events 11 {type 1, kv 2 {key 1,
# create_revision 2, mod_revision 3, version 4, value 5}}: etcd/pb/etcd.proto)
etcd_fake
# shellcheck disable=SC2154 # set by etcd_fake
F=$ETCD_FAKE_URL
C='[[1,"m",[[3,"v",5]]],[3,"v",1]]'
KV='[1,"b","/w/x"],[2,"v",6],[3,"v",6],[4,"v",1],[5,"b","hi"]'
ev() { printf '[[1,"m",[[3,"v",9]]],[11,"m",[%s]]]' "$1"; } # one response, one event's fields
stream() { local IFS=,; reply "{\"messages\":[$*]}"; }     # responses, then the stream ends
stream "$C" "$(ev "[2,\"m\",[$KV]]")"
like "$(try "$F" watch /w/ 6 1 5000 | head -1)" '^PUT /w/x=hi rev=6$' "the false etcd's stream, well-formed: read as etcd's"
stream "$C" "$(ev "[1,\"v\",2],[2,\"m\",[$KV]]")"
like "$(try "$F" watch /w/ 6 1 5000 | head -1)" '^DOWN .*an event of type 2' "an event of an unknown type: the stream refused, DOWN says why"
stream "$C" "$(ev "[2,\"m\",[$KV]]")"
like "$(try "$F" watch /v/ 6 1 5000 | head -1)" '^DOWN .*etcd watch of /v/: an event of /w/x' "an event of a key outside the prefix: refused"
like "$(try "$F" watch /w/ 7 1 5000 | head -1)" '^DOWN .*an event of /w/x at revision 6, after 6 was handed over' "an event from before the revision asked for: refused"
stream "$(ev "[2,\"m\",[$KV]]")"
like "$(try "$F" watch /w/ 6 1 5000 | head -1)" '^DOWN .*events before the watch was made' "events before the created message: refused"
stream "$C" "[[1,\"m\",[[3,\"v\",9]]],[11,\"m\",[[2,\"m\",[[1,\"b\",\"/w/x\"],[2,\"v\",6],[3,\"v\",7],[4,\"v\",1]]]]],[11,\"m\",[[2,\"m\",[$KV]]]]]"
like "$(try "$F" watch /w/ 6 2 5000 | head -1)" '^DOWN .*at revision 6, after 7' "events out of revision order: refused"
stream "$C" "$(ev '[2,"m",[[1,"b","/w/\u0000x"],[2,"v",6],[3,"v",6],[4,"v",1]]]')"
like "$(try "$F" watch /w/ 6 1 5000 | head -1)" '^DOWN .*a key is empty or holds a NUL byte' "a key holding a NUL byte: refused"
reply "{\"messages\":[$C,$(ev "[2,\"m\",[$KV]]")],\"cut\":3}"
like "$(try "$F" watch /w/ 6 1 5000 | head -1)" '^DOWN ' "a message cut short: the stream refused"
reply "{\"raw\":\"00000000050a03ffffff\"}"
like "$(try "$F" watch /w/ 6 1 5000 | head -1)" '^DOWN .*is not a WatchResponse' "bytes that are not a WatchResponse: refused"
stream "$C" '[[1,"m",[[3,"v",9]]],[7,"v",1]]'
like "$(try "$F" watch /w/ 6 1 5000 | head -1)" '^DOWN .*fragment' "a fragment (never asked for): refused"
reply "{\"messages\":[$C],\"grpc_status\":14,\"grpc_message\":\"etcdserver: no leader\"}"
like "$(try "$F" watch /w/ 6 1 5000 | head -1)" '^DOWN .*gRPC code 14 \(Unavailable\): etcdserver: no leader' "etcd's error at the stream's end: its words"
python3 - "$T/fake/reply" <<'PY'
import json, sys
kv = lambda i: [[1, "b", "/w/x"], [2, "v", 6], [3, "v", 6 + i], [4, "v", 1]]
events = [[11, "m", [[2, "m", kv(i)]]] for i in range(65537)]
json.dump({"messages": [[[1, "m", [[3, "v", 5]]], [3, "v", 1]], events]}, open(sys.argv[1], "w"))
PY
like "$(try "$F" watch /w/ 6 1 10000 | head -1)" '^COMPACTED 0 etcd watch of /w/: more than 65536 events or 67108864 bytes waited to be taken; they were dropped: range again$' \
	"more events than the queue holds: COMPACTED, so the taker ranges again"
reply '{"trailers_only":true,"grpc_status":3,"grpc_message":"bad request"}'
like "$(try "$F" watch /w/ 6 1 5000 | head -1)" '^DOWN .*gRPC code 3 \(InvalidArgument\): bad request' "a refused watch: etcd's code and words"
reply '{"status":500,"content_type":"text/html","text":"<html>oops</html>"}'
like "$(try "$F" watch /w/ 6 1 5000 | head -1)" '^DOWN .*500' "an HTTP error that is not gRPC: its status"

# --- three nodes, the watch's node killed ---
# shellcheck disable=SC2119 # no arguments for the nodes
etcd_cluster3
# the watch on a follower, the writes on the others: killing it costs no election
follower=""
for n in e1 e2 e3; do
	v=ETCD_URL_$n
	if ETCDCTL_API=3 etcdctl --endpoints "${!v}" endpoint status 2>/dev/null | grep -q ', false, false,'; then
		follower=$n
		break
	fi
done
ok "a follower found" test -n "$follower"
v=ETCD_URL_$follower
WATCH=${!v}
WRITE=""
for n in e1 e2 e3; do
	[ "$n" = "$follower" ] && continue
	v=ETCD_URL_$n
	WRITE=${WRITE:+$WRITE,}${!v}
done
R=$(try "$WRITE" put /k/start x | rev_of)
"$TRY" "$WATCH,$WRITE" watch /k/n "$((R + 1))" 600 30000 >"$T/w3" 2>"$T/w3.err" &
W=$!
"$TRY" --timeout 10000 "$WRITE" fill /k/n 600 v >"$T/fill3" 2>&1 &
F3=$!
# shellcheck disable=SC2016 # expanded by that sh
wait_for 10 sh -c '[ "$(wc -l <"$1")" -ge 100 ]' _ "$T/w3"
ok "the writes are under way as the watch's node is killed" kill -0 "$F3"
etcd_kill "$follower"
wait "$F3"
rc=$?
grep -q "^revision" "$T/fill3" || sed "s/^/#   /" "$T/fill3" "$T/w3.err"
ok "the writes went on (etcdtry fill exited $rc)" grep -q "^revision" "$T/fill3"
wait "$W"
is "$(in_order "$T/w3" 600 /k/n)" "" "the watch's node killed mid-stream: it resumed on another, 600 events, none lost, none twice, in order"
done_testing
