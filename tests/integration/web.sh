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
PORT=$((20000 + $$ % 20000))
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
like "$(tail -1 "$M/host/log")" "http GET /ns/../../etc/passwd: refused: not a path of the tree" "logged"
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
is "$(code -X DELETE $U/ns/default/vms/v1)" 200 "DELETE a running VM: rmdir kills and removes it"
ok "it is gone" test ! -e "$D/vms/v1"
is "$(code -X DELETE $U/ns/default)" 409 "DELETE the default namespace: 409"
is "$(code -X DELETE $U/ns/default/containers/c1)" 200 "DELETE a container"
is "$(code -X PUT $U/ns/lab/)" 201 "PUT ns/lab/: a namespace"
is "$(code -X DELETE $U/ns/lab)" 200 "DELETE it"

# vmfs stopping while a request waits for a start: answered, and a clean exit
is "$(code -X PUT $U/ns/default/vms/v2/)" 201 "mkdir v2"
curl -s -o "$T/start" -w '%{http_code}' -X POST --data-binary start $U/ns/default/vms/v2/ctl >"$T/start.code" &
cpid=$!
wait_for 5 sh -c "ps -eo args | grep -q '[q]emu-system.*process=vmfs-v2'"
ok "SIGTERM while a request waits: a clean exit" vmfs_term
wait $cpid
like "$(cat "$T/start.code")" "^(503|200)$" "the waiting request is answered ($(cat "$T/start.code"))"
vmfs_start --images "$T/images" || exit 1
ok "kill what runs" "$XWRITE" "$D/ctl" "kill all"
vmfs_stop
done_testing
