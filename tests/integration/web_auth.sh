#!/usr/bin/env bash
# Who may do what over HTTP and HTTPS: a password file made with vmfs-passwd, per-path rules
# (/, a namespace, one object), read-only users, 401 and 403 with their reasons in host/log,
# the file re-read when it changes, TLS with a PEM certificate (and a VNC websocket through
# it), and the refusals at start (an unsafe file, a non-loopback address without one).
. "$(dirname "$0")/lib.sh"
need_root
use_busybox_image
use_boot_image
for c in curl openssl; do
	command -v $c >/dev/null || { echo "not ok 1 - $c is installed (./setup --deps)"; exit 1; }
done
PASSWD=$ROOT/vmfs/vmfs-passwd
PORT=$(free_port)
U=http://127.0.0.1:$PORT
D=$M/ns/default
F=$T/web.passwd
mkuser() { echo "$2" | "$PASSWD" -c 4 "$F" "$1" "${@:3}" >/dev/null; } # mkuser USER PASS [ro|rw] [PATH]
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
body() { cat "$T/body"; }
lastlog() { tail -1 "$M/host/log"; }

mkuser admin adminpw rw /
mkuser viewer viewpw ro /
mkuser labby labpw rw /ns/lab/
mkuser one onepw rw /ns/default/containers/c1/
ok "vmfs-passwd made the file" grep -q '^one rw /ns/default/containers/c1/ \$2b\$04\$' "$F"

chmod 0664 "$F"
like "$("$VMFS" -f --state "$T/state2" --web 127.0.0.1:$PORT --web-passwd "$F" "$T/mnt" 2>&1)" \
	"writable by its group .*chmod go-w" "a password file others may write: vmfs does not start"
chmod 0600 "$F"
like "$("$VMFS" -f --state "$T/state2" --web 0.0.0.0:$PORT "$T/mnt" 2>&1)" \
	"0.0.0.0 is not a loopback address: without a password file" \
	"a non-loopback address without a password file: refused, saying why"

vmfs_start --images "$T/images" --web 127.0.0.1:$PORT --web-passwd "$F" || exit 1
mkdir "$D/containers/c1" "$D/containers/c2" "$M/ns/lab"

is "$(code $U/version)" 401 "no credentials: 401"
is "$(curl -s -o /dev/null -D - $U/version | tr -d '\r' | grep -i '^www-authenticate')" \
	'WWW-Authenticate: Basic realm="vmfs", charset="UTF-8"' "asking for Basic credentials"
like "$(lastlog)" "http GET /version from 127.0.0.1: refused: " "the refusal is logged"
is "$(code -u admin:nope $U/version)" 401 "a wrong password: 401"
like "$(lastlog)" "refused: wrong password for admin" "logged as such"
is "$(code -u eve:x $U/version)" 401 "an unknown user: 401"
is "$(code $U/ns/default/nope)" 401 "no credentials, a path that is not there: 401, not 404"
is "$(code -u admin:adminpw $U/version)" 200 "admin reads"
is "$(body)" "$(cat "$M/version")" "the file"
is "$(code -u admin:adminpw -X POST --data-binary start $U/ns/default/containers/c2/ctl)" 200 "admin starts c2"

is "$(code -u viewer:viewpw "$U/ns/default/info?format=json")" 200 "a read-only user reads a table"
is "$(code -u viewer:viewpw -X POST --data-binary 'kill all' $U/ns/default/ctl)" 403 "and may not write: 403"
like "$(body)" "^error: viewer may only read" "saying why"
is "$(cat "$D/containers/c2/state")" RUNNING "nothing was killed"
like "$(lastlog)" "http POST /ns/default/ctl from 127.0.0.1 as viewer: refused: viewer may only read" "logged with the user"
is "$(code -u viewer:viewpw -X PUT $U/ns/default/containers/c9/)" 403 "nor mkdir"
is "$(code -u viewer:viewpw -X DELETE $U/ns/default/containers/c2)" 403 "nor rmdir"
ok "c2 is still there" test -d "$D/containers/c2"

is "$(code -u labby:labpw $U/)" 200 "a namespace's user lists / (on the way to it)"
is "$(code -u labby:labpw $U/ns/)" 200 "and /ns/"
is "$(code -u labby:labpw $U/version)" 403 "but reads no file outside it"
is "$(code -u labby:labpw -X POST --data-binary 'launch container x[1-2]' $U/ns/lab/ctl)" 200 "launches in its namespace"
ok "made there" test -d "$M/ns/lab/containers/x2"
is "$(code -u labby:labpw "$U/ns/lab/info?format=json")" 200 "reads its table"
is "$(code -u labby:labpw -X POST --data-binary 'kill all' $U/ns/default/ctl)" 403 "may not touch another namespace"
like "$(body)" "^error: no rule for labby covers /ns/default/ctl" "saying why"
is "$(code -u labby:labpw $U/ns/lab2/)" 403 "/ns/lab/ does not cover /ns/lab2/"

is "$(code -u one:onepw -X POST --data-binary start $U/ns/default/containers/c1/ctl)" 200 "a user of one container starts it"
is "$(cat "$D/containers/c1/state")" RUNNING "it runs"
is "$(code -u one:onepw $U/ns/default/containers/c1/info)" 200 "reads its info"
is "$(code -u one:onepw -X POST --data-binary kill $U/ns/default/containers/c2/ctl)" 403 "but not another's ctl"
is "$(code -u one:onepw $U/ns/default/info)" 403 "nor the namespace's table"
is "$(code -u one:onepw -X DELETE $U/ns/default/containers/c2)" 403 "nor remove another"

is "$(code $U/ui/)" 401 "the pages need a user too"
is "$(code -u viewer:viewpw $U/ui/)" 200 "any user gets them"

# the file is read again when it changes
mkuser late latepw ro /
ok "a user added while vmfs runs gets in" wait_for 5 sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -u late:latepw $U/version) = 200 ]"
echo "broken line" >>"$F"
ok "a broken file is reported in the log" wait_for 5 grep -q "web: .*web.passwd:[0-9]*:.*(the previous rules stay)" "$M/host/log"
is "$(code -u late:latepw $U/version)" 200 "and the previous rules stay"
sed -i '$d' "$F"
"$XWRITE" "$D/ctl" "kill all" >/dev/null
"$XWRITE" "$M/ns/lab/ctl" "kill all" >/dev/null
vmfs_stop

# HTTPS: the same rules; a VNC websocket through TLS
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other \
	-keyout "$T/key2.pem" -out "$T/cert2.pem" 2>/dev/null
like "$("$VMFS" -f --state "$T/state2" --web 127.0.0.1:$PORT --web-cert "$T/cert.pem" "$T/mnt" 2>&1)" \
	"TLS needs both web_cert and web_key" "a certificate without a key: refused"
like "$("$VMFS" -f --state "$T/state2" --web 127.0.0.1:$PORT --web-cert "$T/cert.pem" --web-key "$T/key2.pem" "$T/mnt" 2>&1)" \
	"web_key .*key2.pem cannot be used with web_cert .*: The certificate and the given key do not match" "a key that is not the certificate's: refused, with gnutls's reason"
vmfs_start --images "$T/images" --web 127.0.0.1:$PORT --web-passwd "$F" \
	--web-cert "$T/cert.pem" --web-key "$T/key.pem" || exit 1
S=https://127.0.0.1:$PORT
tls() { code --cacert "$T/cert.pem" "$@"; }
is "$(tls -u admin:adminpw $S/version)" 200 "HTTPS: admin reads, the certificate verifies"
is "$(tls $S/version)" 401 "HTTPS: no credentials: 401"
is "$(tls -u viewer:viewpw -X POST --data-binary 'kill all' $S/ns/default/ctl)" 403 "HTTPS: a read-only user may not write"
is "$(tls -u one:onepw -X POST --data-binary start $S/ns/default/containers/c1/ctl)" 200 "HTTPS: the container's user starts it"
is "$(code $U/version)" 000 "plain HTTP on the HTTPS port: no answer"
mkdir "$D/vms/v1"
is "$(tls -u admin:adminpw -X POST --data-binary start $S/ns/default/vms/v1/ctl)" 200 "HTTPS: start a VM"
ws() { curl -s -i -N --max-time 3 --cacert "$T/cert.pem" -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
	-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$@" | tr -d '\0' | tr '\r' ' '; }
like "$(ws $S/ns/default/vms/v1/vnc)" "^HTTP/1.1 401 " "a VNC websocket without credentials: 401"
like "$(ws -u viewer:viewpw $S/ns/default/vms/v1/vnc)" "^HTTP/1.1 403 " \
	"a read-only user: 403 (VNC types into the guest)"
out=$(ws -u admin:adminpw $S/ns/default/vms/v1/vnc)
like "$out" "^HTTP/1.1 101 " "a writer: 101, through TLS"
like "$out" "RFB 003.008" "then QEMU's VNC greeting"
"$XWRITE" "$D/ctl" "kill all" >/dev/null
vmfs_stop
done_testing
