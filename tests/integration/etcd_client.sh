#!/usr/bin/env bash
# etcd/client.c against a real etcd (one node, three, and one with TLS client certificates)
# and against a false one that answers garbage: what issue 18's hosts will keep their shared
# state with. Driven through tests/tools/etcdtry; no vmfs mount.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
TRY=$ROOT/tests/tools/etcdtry
[ -x "$TRY" ] || { echo "not ok 1 - tests/tools/etcdtry is built (make)"; exit 1; }
try() { timeout 20 "$TRY" "$@" 2>&1; }

etcd_start one
# shellcheck disable=SC2154 # set by etcd_start
U=$ETCD_URL_one

# --- keys ---
try "$U" put /t/a/x hello >/dev/null
try "$U" put /t/a/y world >/dev/null
try "$U" put /t/b other >/dev/null
like "$(try "$U" get /t/a/x)" '^/t/a/x=hello mod=[0-9]+ version=1 lease=0$' "get reads back what put wrote"
is "$(try "$U" get /t/none)" "absent" "get of a key never written: absent"
is "$(try "$U" range /t/a/ | cut -d' ' -f1)" "/t/a/x=hello
/t/a/y=world" "range of a prefix lists its keys in order, and no other"
is "$(try "$U" range /t/zz)" "" "range of a prefix nothing starts with: nothing"
is "$(try "$U" del /t/a/x)" "deleted 1" "delete of a key removes it"
is "$(try "$U" get /t/a/x)" "absent" "and it is gone"
is "$(try "$U" delprefix /t/)" "deleted 2" "delete of a prefix removes every key under it"
is "$(try "$U" range /t/)" "" "and they are gone"
printf -v big '%*s' 2000 ''
try "$U" put /t/big "${big// /é}" >/dev/null
is "$(try "$U" get /t/big | cut -d' ' -f1)" "/t/big=${big// /é}" "a value of 4000 bytes of UTF-8 comes back whole"

# --- the claim, compare-and-swap ---
is "$(try "$U" claim /t/names/c1 host1)" "created" "a claim of a free name creates it"
like "$(try "$U" claim /t/names/c1 host2)" '^exists: /t/names/c1=host1 ' "a second claim sees the first one's value"
like "$(try "$U" get /t/names/c1)" '^/t/names/c1=host1 mod=[0-9]+ version=1 ' "and did not change it"
mod=$(try "$U" get /t/names/c1 | sed -n 's/.* mod=\([0-9]*\) .*/\1/p')
is "$(try "$U" cas /t/names/c1 "$mod" host3)" "swapped" "compare-and-swap at the key's mod_revision swaps"
like "$(try "$U" cas /t/names/c1 "$mod" host4)" '^conflict: /t/names/c1=host3 ' "again at the old revision: a conflict, with the value that won"
is "$(try "$U" cas /t/names/c9 0 h)" "swapped" "compare-and-swap at revision 0 creates a key that does not exist"
is "$(try "$U" cas /t/names/c9 0 h)" "conflict: /t/names/c9=h mod=$(try "$U" get /t/names/c9 | sed -n 's/.* mod=\([0-9]*\) .*/\1/p') version=1 lease=0" \
	"and conflicts once it exists"

# --- the general transaction ---
try "$U" put /t/x/a 1 >/dev/null
try "$U" put /t/x/b 2 >/dev/null
out=$(try "$U" txn /t/x/a value = 1 ok: put /t/x/c 3 getp /t/x/ fail: put /t/x/d 4)
is "$(sed -E 's/ mod=.*//; s/revision [0-9]+$/revision N/' <<<"$out")" "succeeded revision N
range 0: 3 keys
/t/x/a=1
/t/x/b=2
/t/x/c=3" "txn: a compare that holds runs the success branch, its range sees its own put"
is "$(try "$U" get /t/x/d)" "absent" "and not the failure branch"
out=$(try "$U" txn /t/x/a value = 9 ok: put /t/x/d 4 fail: get /t/x/b del /t/x/c)
is "$(sed -E 's/ mod=.*//; s/revision [0-9]+$/revision N/' <<<"$out")" "failed revision N
range 0: 1 keys
/t/x/b=2" "txn: a compare that fails runs the failure branch, with its range"
is "$(try "$U" range /t/x/ | cut -d' ' -f1)" "/t/x/a=1
/t/x/b=2" "and its delete, and not the success branch's put"
amod=$(try "$U" get /t/x/a | sed -n 's/.* mod=\([0-9]*\) .*/\1/p')
cmpok() { # cmpok DESCRIPTION KEY TARGET OP ARG: the compare holds
	like "$(try "$U" txn "$2" "$3" "$4" "$5" ok: fail:)" '^succeeded ' "txn compare holds: $1"
}
cmpno() {
	like "$(try "$U" txn "$2" "$3" "$4" "$5" ok: fail:)" '^failed ' "txn compare fails: $1"
}
cmpok "version = 1" /t/x/a version = 1
cmpno "version > 1" /t/x/a version '>' 1
cmpok "an absent key's version = 0" /t/x/none version = 0
cmpok "create < its mod + 1" /t/x/a create '<' $((amod + 1))
cmpno "create != itself" /t/x/a create '!=' "$amod"
cmpok "mod = the key's mod_revision" /t/x/a mod = "$amod"
cmpno "mod < the key's mod_revision" /t/x/a mod '<' "$amod"
cmpok "value != another value" /t/x/a value '!=' 2
cmpno "value > a larger value" /t/x/a value '>' 5
cmpok "lease = 0 for a key without one" /t/x/a lease = 0
lease=$(try "$U" grant 60)
try "$U" put /t/x/l v "$lease" >/dev/null
cmpok "lease = the key's lease" /t/x/l lease = "$lease"
cmpno "lease = 0 for a key with one" /t/x/l lease = 0
like "$(try "$U" txn ok: puti /t/x/l w fail:)" '^succeeded ' "txn: a put that keeps the key's lease (ignore_lease)"
like "$(try "$U" get /t/x/l)" "^/t/x/l=w .* lease=$lease\$" "and the key kept it"
like "$(try "$U" txn /t/x/a version = 1 /t/x/b version = 1 ok: delp /t/x/ fail:)" '^succeeded ' "txn: two compares that hold, a delete of a prefix"
is "$(try "$U" range /t/x/)" "" "and the keys are gone"
like "$(try "$U" txnmany 128)" '^succeeded ' "txn: 128 compares and 128 puts (etcd's limit)"
is "$(try "$U" range /t/many/ | wc -l)" 128 "all made"
like "$(try "$U" txnmany 129)" '129 compares \(at most 128' "txn: 129 compares refused before sending, with words"
like "$(try "$U" txn ok: put /t/y 1 put /t/y 2 fail:)" "etcd $U/etcdserverpb.KV/Txn: gRPC code 3 \\(InvalidArgument\\): etcdserver: duplicate key given in txn request \\[EINVAL\\]" \
	"txn: etcd's refusal (a key put twice) in its words"

# --- leases ---
lease=$(try "$U" grant 2)
like "$lease" '^[1-9][0-9]*$' "a lease of 2 s is granted"
try "$U" put /t/hosts/h1 addr "$lease" >/dev/null
like "$(try "$U" get /t/hosts/h1)" "lease=$lease\$" "a key is put with the lease"
like "$(try "$U" keep "$lease" 4)" '^kept 8 times, ttl [12]$' "keepalives every 500 ms for 4 s"
like "$(try "$U" get /t/hosts/h1)" '^/t/hosts/h1=addr ' "keep it past its TTL"
ok "once they stop, the key is gone within TTL + 1 s" wait_for 3 sh -c '"$@" | grep -qx absent' _ "$TRY" "$U" get /t/hosts/h1
like "$(try "$U" keep "$lease" 1)" "lease $lease has lapsed" "a keepalive of a lapsed lease says it lapsed"
lease=$(try "$U" grant 60)
try "$U" put /t/hosts/h2 addr "$lease" >/dev/null
is "$(try "$U" revoke "$lease")" "revoked" "a lease is revoked"
is "$(try "$U" get /t/hosts/h2)" "absent" "and its key goes at once"
like "$(try "$U" revoke "$lease")" "etcd $U/etcdserverpb.Lease/LeaseRevoke: gRPC code 5 \\(NotFound\\): etcdserver: requested lease not found \\[ENOENT\\]" \
	"revoking it again: etcd's status, code and message"

# --- endpoints ---
dead=$(free_port)
like "$(try "http://127.0.0.1:$dead" get /t/x)" "no endpoint answered: http://127.0.0.1:$dead: .*(connect|refused)" \
	"an endpoint with nothing listening: an error in words that names it"
ok "and etcdtry fails" sh -c '! "$@" 2>/dev/null' _ "$TRY" "http://127.0.0.1:$dead" get /t/x
like "$(try "ftp://127.0.0.1:$dead" get /t/x)" 'is not http://HOST:PORT or https://HOST:PORT' "an endpoint that is not http(s): refused with words"
like "$(try "http://127.0.0.1:$dead,$U" get /t/names/c1)" '^/t/names/c1=host3 ' "a dead endpoint first in the list: the next one answers"

# --- garbage from a false etcd ---
# (its answers as protobuf fields [NUMBER, KIND, VALUE]: etcd/pb/etcd.proto's numbers)
etcd_fake
# shellcheck disable=SC2154 # set by etcd_fake
F=$ETCD_FAKE_URL
H='[1,"m",[[3,"v",5]]]' # a ResponseHeader at revision 5
kv() {                  # kv KEY VALUE CREATE MOD VERSION: a KeyValue's fields
	printf '[[1,"b","%s"],[5,"b","%s"],[2,"v",%s],[3,"v",%s],[4,"v",%s]]' "$@"
}
one() { # one FIELD... [-- SPEC MEMBERS]: every answer is one message of these fields
	local f=() IFS=,
	while [ $# -gt 0 ] && [ "$1" != -- ]; do f+=("$1") && shift; done
	shift
	reply "{\"messages\":[[${f[*]}]]${1:+,$1}}"
}
asked() { # asked N: the false etcd got N requests since the last asked
	local n
	n=$(wc -l <"$T/fake/requests")
	: >"$T/fake/requests"
	[ "$n" = "$1" ] || { echo "# $n requests, not $1" && return 1; }
}
: >"$T/fake/requests"
one "$H" "[2,\"m\",$(kv /t/x hi 2 3 2)]" '[4,"v",1]'
like "$(try "$F" get /t/x)" '^/t/x=hi mod=3 version=2 lease=0$' "the false etcd, well-formed: read as etcd would be"
one "$H" "[2,\"m\",$(kv /t/x hi 2 3 2)]" -- '"cut":3'
like "$(try "$F" get /t/x)" 'Range: the answer holds no whole message \[EPROTO\]' "an answer cut short: refused, saying so"
one "$H" -- '"longer":4'
like "$(try "$F" get /t/x)" 'the answer holds no whole message' "a frame that says it is longer than the body: refused"
one "$H" -- '"flag":1'
like "$(try "$F" get /t/x)" 'a message with flags 0x01 \(compressed: none was asked for\)' "a compressed message (none was asked for): refused"
reply '{"raw":"0000000003ffffff"}'
like "$(try "$F" get /t/x)" 'the answer \(3 bytes\) is not a RangeResponse \[EPROTO\]' "bytes that are not the message: refused"
one '[1,"v",5]'
like "$(try "$F" put /t/x v)" 'the answer \(2 bytes\) is not a PutResponse' "a header of the wrong wire type: refused"
reply "{\"messages\":[[$H],[$H]]}"
like "$(try "$F" put /t/x v)" 'the answer holds more than one message' "two messages in a unary call's answer: refused"
one "$H" "[2,\"m\",$(kv '/t\u0000x' hi 1 3 1)]"
like "$(try "$F" range /t)" 'a key is empty or holds a NUL byte' "a key with a NUL byte: refused"
one "$H" "[2,\"m\",$(kv /t/y hi 1 3 1)]"
like "$(try "$F" get /t/x)" 'asked for /t/x, got another key' "an answer about another key: refused"
one "$H" "[2,\"m\",$(kv /t/b 1 1 3 1)]" "[2,\"m\",$(kv /t/a 1 1 3 1)]"
like "$(try "$F" range /t/)" 'the keys are not in order' "a range's keys out of order: refused"
one '[1,"m",[[3,"v",-1]]]'
like "$(try "$F" get /t/x)" "the header's revision is -1" "a negative revision (10 bytes of varint): refused"
one '[1,"m",[]]'
like "$(try "$F" put /t/x v)" "the header's revision is 0" "a write at revision 0: refused"
like "$(try "$F" get /t/x)" "the header's revision is 0" "a read at revision 0: refused"
one "$H" "[2,\"m\",$(kv /t/x hi 5 3 1)]"
like "$(try "$F" get /t/x)" 'key /t/x was changed \(3\) before it was made \(5\)' "a mod_revision below the create_revision: refused"
one "$H" "[2,\"m\",$(kv /t/x hi 1 -3 1)]"
like "$(try "$F" get /t/x)" 'key /t/x has a revision, version or lease out of range \(1, -3, 1, 0\)' "a negative mod_revision: refused"
one "$H" '[2,"v",-4]' '[3,"v",2]'
like "$(try "$F" grant 2)" 'LeaseGrant: the answer has no lease id or TTL' "a negative lease id: refused"
one "$H" '[3,"v",2]'
like "$(try "$F" grant 2)" 'the answer has no lease id or TTL' "a grant without an id: refused"
one "$H" '[2,"v",7]' '[3,"v",2]'
like "$(try "$F" keep 8 1)" 'LeaseKeepAlive: renewed lease 7, not 8' "a keepalive answer for another lease: refused"
one "$H" '[2,"v",8]'
like "$(try "$F" keep 8 1)" 'lease 8 has lapsed \[ENOENT\]$' "a keepalive answer with TTL 0: the lease lapsed (ENOENT)"
one "$H" '[2,"v",1]'
like "$(try "$F" txn ok: put /t/x v fail:)" 'Txn: 0 responses to 1 operations' "a txn answer without its response: refused"
one "$H" '[2,"v",1]' '[3,"m",[[1,"m",[]]]]'
like "$(try "$F" txn ok: put /t/x v fail:)" 'the answer to the operation on /t/x is not a response_put' "a txn answer of another kind: refused"
one "$H" "[3,\"m\",[[1,\"m\",[[2,\"m\",$(kv /u/x '' 3 3 1)]]]]]"
like "$(try "$F" txn ok: fail: getp /t/)" 'asked for /t/\.\.\., got /u/x' "a txn range answer with a key outside the prefix: refused"
reply '{"grpc_status":3,"grpc_message":"etcdserver: 100% wrong\n\u00e9"}'
like "$(try "$F" put /t/x v)" 'gRPC code 3 \(InvalidArgument\): etcdserver: 100% wrong\\x0a\\xc3\\xa9 \[EINVAL\]$' \
	"etcd's message percent-decoded, its bytes outside printable ASCII shown as \\xNN"
reply '{"grpc_status":null}'
like "$(try "$F" put /t/x v)" 'the answer has no gRPC status' "an answer without grpc-status: refused"
: >"$T/fake/requests"
reply '{"trailers_only":true,"grpc_status":14,"grpc_message":"etcdserver: request timed out"}'
like "$(try "$F,$F" put /t/x v)" 'Put: gRPC code 14 \(Unavailable\): etcdserver: request timed out \(the request may have been applied\) \[ETIMEDOUT\]$' \
	"a write etcd says timed out: an error that says it may have been applied"
ok "and not sent to the next endpoint" asked 1
like "$(try "$F,$F" get /t/x)" 'no endpoint answered: .*request timed out; .*request timed out' "a read etcd says timed out: the next endpoint is asked"
ok "both were asked" asked 2
reply '{"grpc_status":14,"grpc_message":"etcdserver: no leader"}'
like "$(try "$F,$F" put /t/x v)" 'no endpoint answered: .*no leader; .*no leader' "a write refused for want of a leader: the next endpoint is asked"
ok "both were asked" asked 2
reply '{"status":500,"content_type":"text/html","text":"<html>oops</html>","grpc_status":null}'
like "$(try "$F" put /t/x v)" "Put: HTTP 500, not a gRPC answer: \"<html>oops</html>\" \\(not etcd's gRPC API" "an HTTP error that is not gRPC: its status, its words, and that it is not etcd's API"
reply '{"hang":true}'
start=$SECONDS
out=$(try --timeout 700 "$F" put /t/x v)
like "$out" 'timed out.*\(the request was sent: it may have been applied\) \[ETIMEDOUT\]' "an etcd that does not answer: the call ends at its timeout, saying the request may have been applied"
ok "within about its timeout (700 ms)" test $((SECONDS - start)) -le 2

# --- three nodes, one down ---
# shellcheck disable=SC2119 # no arguments for the nodes
etcd_cluster3
is "$(try "$ETCD_URLS" claim /t/c3 x)" "created" "three nodes: a claim through the list of endpoints"
etcd_kill e1
# the two left elect a leader if e1 led (a request meanwhile waits for it: on a slow machine past
# the call's bound); what is tested is the client's move past the dead first endpoint
ok "the two left have a leader" etcd_elected
like "$(try "$ETCD_URLS" get /t/c3)" '^/t/c3=x ' "the first node killed: the others answer"
like "$(try "$ETCD_URLS" claim /t/c3 y)" '^exists: /t/c3=x ' "and the claim still holds"
etcd_stop_all

# --- TLS with client certificates ---
P=$T/pki
mkdir -p "$P"
(
	cd "$P" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj /CN=test-ca -keyout ca.key -out ca.crt
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=etcd \
		-keyout server.key -out server.csr
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
		-extfile server.ext -out server.crt
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=vmfs \
		-keyout client.key -out client.csr
	printf 'extendedKeyUsage=clientAuth\n' >client.ext
	openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
		-extfile client.ext -out client.crt
	# a client certificate from a CA etcd does not trust
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj /CN=stranger -keyout stranger.key -out stranger.crt
) >"$T/pki.log" 2>&1 || { echo "not ok - openssl made the test certificates"; sed 's/^/#   /' "$T/pki.log"; exit 1; }
ETCD_SCHEME=https
ETCD_CTL_TLS=(--cacert "$P/ca.crt" --cert "$P/client.crt" --key "$P/client.key")
etcd_start tls --cert-file "$P/server.crt" --key-file "$P/server.key" --client-cert-auth \
	--trusted-ca-file "$P/ca.crt"
# shellcheck disable=SC2154 # set by etcd_start
V=$ETCD_URL_tls
TLS=(--ca "$P/ca.crt" --cert "$P/client.crt" --key "$P/client.key")
is "$(try "${TLS[@]}" "$V" claim /t/tls ok)" "created" "TLS: with the CA and a client certificate, a claim"
like "$(try "${TLS[@]}" "$V" get /t/tls)" '^/t/tls=ok ' "TLS: and a read"
out=$(try --ca "$P/ca.crt" "$V" get /t/tls)
# (TLS 1.3: etcd refuses the certificate after the handshake, once the request is sent)
like "$out" "(etcd $V/etcdserverpb.KV/Range: .*TLS|no endpoint answered: $V: )" "TLS: without a client certificate: refused, naming the endpoint"
ok "TLS: and no value read" sh -c '! printf %s "$1" | grep -q /t/tls=' _ "$out"
out=$(try --ca "$P/ca.crt" --cert "$P/stranger.crt" --key "$P/stranger.key" "$V" get /t/tls)
like "$out" "(etcd $V/etcdserverpb.KV/Range: .*TLS|no endpoint answered: $V: )" "TLS: a client certificate from another CA: refused"
ok "TLS: and no value read either" sh -c '! printf %s "$1" | grep -q /t/tls=' _ "$out"
out=$(try --cert "$P/client.crt" --key "$P/client.key" "$V" get /t/tls)
like "$out" "no endpoint answered: $V: .*(certificate|verif|issuer)" "TLS: etcd's certificate checked against the system's CAs only: refused, saying why"
like "$(try --ca "$T/nothere.crt" "$V" get /t/tls)" "CA file $T/nothere.crt cannot be read" "TLS: a CA file that does not exist: said before any request"
like "$(try --cert "$P/client.crt" "$V" get /t/tls)" "needs its key" "TLS: a certificate without its key: refused"
done_testing
