#!/usr/bin/env bash
# The HTTP door (--web): the same tree through URLs, with curl. Files and directories
# (JSON and HTML), tables as JSON, writes to ctl and values with the answers and reasons the
# mount gives, mkdir and rmdir, status codes, paths that leave the tree, requests from
# another origin, and a start that waits without holding anything else.
. "$(dirname "$0")/lib.sh"
need_root
use_busybox_image
use_boot_image
command -v curl >/dev/null || { echo "not ok 1 - curl is installed (./setup --deps)"; exit 1; }
PORT=$(free_port)
like "$("$VMFS" -f --state "$T/state2" --web 0.0.0.0:$PORT "$T/mnt" 2>&1)" \
	"0.0.0.0 is not a loopback address" "--web refuses anything but loopback (no auth yet)"
like "$("$VMFS" -f --state "$T/state2" --web 127.0.0.1 "$T/mnt" 2>&1)" "is not ADDR:PORT" \
	"--web without a port: a reason"
vmfs_start --images "$T/images" --web 127.0.0.1:$PORT || exit 1
U=http://127.0.0.1:$PORT
D=$M/ns/default
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; } # code ARGS: the status; the body in $T/body
body() { cat "$T/body"; }

is "$(code $U/version)" 200 "GET a file: 200"
is "$(body)" "$(cat "$M/version")" "its content, as through the mount"
is "$(curl -s -o /dev/null -w '%{content_type}' $U/version)" "text/plain; charset=utf-8" "as text/plain"
is "$(code $U/ns/)" 200 "GET a directory: 200"
like "$(body)" '^\[\{"name":"default","kind":"dir","size":[0-9]+,"mtime":[0-9]+\}\]$' "a JSON listing: name, kind, size, mtime"
like "$(curl -s $U/)" '"name":"version","kind":"file","size":[1-9]' "files have their size"
like "$(curl -s -H 'Accept: text/html' $U/ns/default)" '<a href="/ns/default/ctl">ctl</a>' "HTML for a browser, with links"

is "$(code -X PUT $U/ns/default/containers/c1/)" 201 "PUT DIR/NAME/: mkdir, 201"
ok "it is there through the mount" test -d "$D/containers/c1"
is "$(code -X PUT $U/ns/default/containers/c1/)" 409 "again: 409"
like "$(body)" "^error: mkdir containers/c1: c1 exists already" "with the reason"
like "$(tail -1 "$D/log")" "mkdir containers/c1: c1 exists already" "the same reason the log records"
is "$(code -X PUT --data-binary 128M $U/ns/default/containers/c1/config/memory)" 200 "PUT a value: 200"
is "$(cat "$D/containers/c1/config/memory")" "128M" "set"
is "$(code -X PUT --data-binary 12Q $U/ns/default/containers/c1/config/memory)" 400 "a bad value: 400"
like "$(body)" "^error: .*12Q" "saying why"
is "$(cat "$D/containers/c1/config/memory")" "128M" "and nothing changed"
# the token's holder is host root (docs/security.md): the host-reaching knobs are theirs too
is "$(code -X PUT --data-binary true $U/ns/default/containers/c1/config/privileged)" 200 \
	"PUT config/privileged (host-reaching) with the token: 200"
is "$(cat "$D/containers/c1/config/privileged")" "true" "set"
is "$(code -X PUT --data-binary false $U/ns/default/containers/c1/config/privileged)" 200 \
	"and back to false"

is "$(code -X POST --data-binary start $U/ns/default/containers/c1/ctl)" 200 "POST start to ctl: 200"
is "$(body)" "ok" "the ctl's answer"
is "$(cat "$D/containers/c1/state")" "RUNNING" "it runs"
is "$(code "$U/ns/default/info?format=json")" 200 "a table as JSON"
like "$(body)" '^\[\{"id":"1","name":"c1","type":"container","state":"RUNNING",' "rows as objects, the header's names as keys"
like "$(curl -s "$U/ns/default/containers/c1/info?format=json")" '^\{"id":"1","name":"c1","namespace":"default",' "key value lines as one object"
like "$(curl -s "$U/host/info?format=json")" '"network":"' "host/info too"
is "$(code -X POST --data-binary bogus $U/ns/default/ctl)" 400 "an unknown command: 400"
like "$(body)" '^error: "bogus": unknown command' "with the ctl's own answer"
is "$(code -X POST --data-binary 'start c1' $U/ns/default/ctl)" 409 "a start of a running one: 409"
is "$(code $U/ns/default/nope)" 404 "no such file: 404"
like "$(body)" "^error: /ns/default/nope: No such file" "saying which"
is "$(code -X PATCH $U/version)" 405 "another method: 405"
is "$(code -X POST --data-binary x $U/ns/default)" 409 "a write to a directory: 409"

# nothing outside the tree
is "$(code --path-as-is $U/ns/../../etc/passwd)" 403 "/ns/../../etc/passwd: 403"
is "$(code --path-as-is "$U/ns/%2e%2e/%2e%2e/etc/passwd")" 403 "%2e%2e: 403"
like "$(tail -1 "$M/host/log")" "http GET /ns/../../etc/passwd from 127.0.0.1: refused: not a path of the tree" "logged"
ln -s /etc "$T/images/etc"
is "$(code $U/images/etc/passwd)" 403 "a symlink in images/ is not followed: 403"
is "$(code $U/images/busybox/init)" 200 "a real file of images/ is served"
truncate -s 65M "$T/images/big.raw"
is "$(code $U/images/big.raw)" 500 "a file over 64 MiB: 500, never a cut file"
like "$(body)" "^error: /images/big.raw is larger than 64 MiB: copy it through the mount" "saying so"
rm "$T/images/big.raw"
is "$(code -H 'Origin: http://evil.example' -X POST --data-binary 'kill all' $U/ns/default/ctl)" 403 "a POST from another origin: 403"
is "$(cat "$D/containers/c1/state")" "RUNNING" "and nothing was killed"
like "$(tail -1 "$M/host/log")" "refused: a request from another origin" "logged"
is "$(code -H "Origin: http://127.0.0.1:$PORT" -X POST --data-binary 'kill c1' $U/ns/default/ctl)" 200 "from its own origin: 200"
is "$(body)" "ok: kill 1" "killed"
head -c 2000000 /dev/zero | tr '\0' x >"$T/big"
is "$(code -X PUT --data-binary @"$T/big" $U/ns/default/containers/c1/config/tags)" 400 "a body over 1 MiB: 400"

# a live console: followed by two viewers at once, typed into with POST
is "$(code -X POST --data-binary start $U/ns/default/containers/c1/ctl)" 200 "start c1 again"
curl -s -N "$U/ns/default/containers/c1/console?follow=1" >"$T/follow1" &
f1=$!
curl -s -N "$U/ns/default/containers/c1/console?follow=1" >"$T/follow2" &
f2=$!
sleep 0.5
is "$(code -X POST --data-binary 'echo hi$((6*7))
' $U/ns/default/containers/c1/console)" 200 "POST to console types"
ok "the first viewer sees the answer as it comes" wait_for 5 grep -q hi42 "$T/follow1"
ok "the second viewer too" wait_for 5 grep -q hi42 "$T/follow2"
ok "the answer is still open (endless)" kill -0 $f1
is "$(curl -s -D - -o /dev/null --max-time 1 "$U/ns/default/containers/c1/console?follow=1" | tr -d '\r' | grep -i '^transfer-encoding')" \
	"Transfer-Encoding: chunked" "chunked"
kill $f2
"$XWRITE" "$D/containers/c1/ctl" kill >/dev/null
"$XWRITE" "$D/containers/c1/ctl" start >/dev/null
is "$(code -X POST --data-binary 'echo again$((6*7))
' $U/ns/default/containers/c1/console)" 200 "after a restart"
ok "the follower goes on with the new run's output" wait_for 5 grep -q again42 "$T/follow1"
"$XWRITE" "$D/containers/c1/ctl" kill >/dev/null
rmdir "$D/containers/c1" 2>/dev/null || "$XWRITE" "$D/ctl" "delete c1" >/dev/null
ok "the answer ends when the container is removed" wait_for 5 sh -c "! kill -0 $f1 2>/dev/null"
wait $f1 2>/dev/null
is "$(code -X PUT $U/ns/default/containers/c1/)" 201 "mkdir c1 again"

# the browser pages
is "$(code -H 'Accept: text/html' $U/)" 302 "a browser at / is sent to the pages"
is "$(curl -s -o /dev/null -w '%{redirect_url}' -H 'Accept: text/html' $U/)" "$U/ui/" "at /ui/"
is "$(code $U/ui/)" 200 "GET /ui/: the page"
is "$(curl -s -o /dev/null -w '%{content_type}' $U/ui/)" "text/html; charset=utf-8" "as HTML"
is "$(code $U/ui/app.js)" 200 "its script"
is "$(curl -s -o /dev/null -w '%{content_type}' $U/ui/app.js)" "text/javascript; charset=utf-8" "as JavaScript"
is "$(code --path-as-is $U/ui/../../../etc/passwd)" 403 "/ui/../../../etc/passwd: 403"
is "$(code --path-as-is "$U/ui/%2e%2e/%2e%2e/setup")" 403 "/ui/%2e%2e/%2e%2e/setup: 403"
is "$(code $U/ui/nope.html)" 404 "a page that is not there: 404"
is "$(code -X POST --data-binary x $U/ui/index.html)" 403 "the pages are read only: 403"

# a VM's start waits for QEMU; the server answers meanwhile
is "$(code -X PUT $U/ns/default/vms/v1/)" 201 "mkdir a VM"
curl -s -o "$T/start" -w '%{http_code}' -X POST --data-binary start $U/ns/default/vms/v1/ctl >"$T/start.code" &
cpid=$!
t0=$(date +%s%N)
is "$(code $U/ns/default/vms/v1/state)" 200 "GET while the start goes on"
ms=$((($(date +%s%N) - t0) / 1000000))
ok "answered in ${ms} ms" test "$ms" -lt 2000
wait $cpid
is "$(cat "$T/start.code")" 200 "the start answers 200 when QEMU is up"
is "$(cat "$D/vms/v1/state")" "RUNNING" "RUNNING"
is "$(code $U/ns/default/vms/v1/screenshot.png)" 200 "GET screenshot.png"
is "$(curl -s -o /dev/null -w '%{content_type}' $U/ns/default/vms/v1/screenshot.png)" "image/png" "as image/png"
read -r w h _ < <("$ROOT/tests/tools/pnginfo" "$T/body")
is "$(code "$U/ns/default/vms/v1/screenshot.png?size=100")" 200 "screenshot.png?size=100"
read -r sw sh _ < <("$ROOT/tests/tools/pnginfo" "$T/body")
ok "scaled: ${w}x${h} -> ${sw}x${sh}, the larger side 100" test "$((sw > sh ? sw : sh))" = 100 -a "$w" -gt 100
is "$(code "$U/ns/default/vms/v1/screenshot.png?size=0")" 400 "size=0: 400"
like "$(body)" "use a number of pixels from 1 to 16384" "saying why"
# VNC: a websocket on vnc is QEMU's own, passed through (QEMU's RFB greeting comes back)
ws() { curl -s -i -N --max-time 3 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
	-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
	-H 'Sec-WebSocket-Protocol: binary' "$@" | tr -d '\0' | tr '\r' ' '; }
out=$(ws $U/ns/default/vms/v1/vnc)
like "$out" "^HTTP/1.1 101 " "a websocket on vms/v1/vnc: 101"
like "$out" "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=" "with the accept key for the client's key (RFC 6455's example)"
like "$out" "RFB 003.008" "then QEMU's VNC greeting"
like "$(tail -1 "$D/vms/v1/log")" "vnc: a viewer connected over the web" "the VM's log says so"
out=$(ws -H 'Origin: http://evil.example' $U/ns/default/vms/v1/vnc)
like "$out" "^HTTP/1.1 403 " "a websocket from another origin: 403"
like "$(tail -1 "$M/host/log")" "refused: a request from another origin" "logged"
out=$(ws $U/ns/default/vms/v1/info)
like "$out" "^HTTP/1.1 400 " "a websocket elsewhere: 400"
like "$out" "error: a websocket is served on a VM's vnc only" "saying where"
is "$(code -X DELETE $U/ns/default/vms/v1)" 200 "DELETE a running VM: rmdir kills and removes it"
ok "it is gone from the mount too (the kernel forgets the name at once, or within its 1 s)" wait_for 2 test ! -e "$D/vms/v1"
is "$(code -X DELETE $U/ns/default)" 409 "DELETE the default namespace: 409"
is "$(code -X DELETE $U/ns/default/containers/c1)" 200 "DELETE a container"
is "$(code -X PUT $U/ns/lab/)" 201 "PUT ns/lab/: a namespace"
is "$(code -X DELETE $U/ns/lab)" 200 "DELETE it"

# vmfs stopping while a request waits for a start: answered, and a clean exit
is "$(code -X PUT $U/ns/default/vms/v2/)" 201 "mkdir v2"
curl -s -o "$T/start" -w '%{http_code}' -X POST --data-binary start $U/ns/default/vms/v2/ctl >"$T/start.code" &
cpid=$!
wait_for 5 eval '[ -n "$(ours "$S/ns/default/vms/v2")" ]' # its QEMU runs
ok "SIGTERM while a request waits: a clean exit" vmfs_term
wait $cpid
like "$(cat "$T/start.code")" "^(503|200)$" "the waiting request is answered ($(cat "$T/start.code"))"
vmfs_start --images "$T/images" || exit 1
ok "kill what runs" "$XWRITE" "$D/ctl" "kill all"
vmfs_stop
done_testing
