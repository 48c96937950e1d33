#!/usr/bin/env bash
# Live migration in TLS (vmfs.conf migrate_tls = DIR): two vmfs on loopback, certificates made
# here (a CA, a server and a client certificate for 127.0.0.1), under TCG. A directory or key
# anyone may read or write refuses the start, with words; the migration listener speaks TLS; a
# migration in TLS brings the guest over; a destination that does not trust the source's
# certificate fails the move and the guest runs on at the source; a plain-TCP peer (destination
# or source) fails it too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/migrate_lib.sh"
command -v qemu-img >/dev/null || { echo "not ok 1 - qemu-img is installed (./setup --deps: qemu-utils)"; exit 1; }
command -v openssl >/dev/null || { echo "not ok 1 - openssl is installed"; exit 1; }

mkcert() { # mkcert DIR NAME CA_NAME USAGE: DIR/NAME-cert.pem and -key.pem signed by CA_NAME
	local dir=$1 name=$2 ca=$3 usage=$4
	openssl req -newkey rsa:2048 -nodes -keyout "$dir/$name-key.pem" -subj "/CN=127.0.0.1" \
		-out "$dir/$name.csr" 2>/dev/null &&
		printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=%s\nsubjectAltName=IP:127.0.0.1\n' \
			"$usage" >"$dir/$name.ext" &&
		openssl x509 -req -in "$dir/$name.csr" -CA "$T/$ca/ca-cert.pem" -CAkey "$T/$ca/ca-key" \
			-CAcreateserial -days 2 -extfile "$dir/$name.ext" -out "$dir/$name-cert.pem" 2>/dev/null &&
		rm -f "$dir/$name.csr" "$dir/$name.ext"
}
mkca() { # mkca NAME: $T/NAME/ca-cert.pem and its key (outside the TLS directories)
	mkdir -p "$T/$1" &&
		openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/$1/ca-key" -subj "/CN=vmfs test $1" \
			-days 2 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
			-out "$T/$1/ca-cert.pem" 2>/dev/null
}
mkca ca1 && mkca ca2 || { echo "not ok 1 - openssl made the CAs"; exit 1; }
mkdir -m 700 "$T/tls1"
cp "$T/ca1/ca-cert.pem" "$T/tls1/"
mkcert "$T/tls1" server ca1 serverAuth && mkcert "$T/tls1" client ca1 clientAuth ||
	{ echo "not ok 1 - openssl made the certificates"; exit 1; }
chmod 600 "$T"/tls1/*-key.pem
chmod 644 "$T"/tls1/*-cert.pem
cp -a "$T/tls1" "$T/tls2"
printf '[vmfs]\nmigrate_tls = %s\n' "$T/tls1" >"$T/vmfs1.conf"
printf '[vmfs]\nmigrate_tls = %s\n' "$T/tls2" >"$T/vmfs2.conf"

# a key group or others may read: vmfs does not start, and says why
cp -a "$T/tls1" "$T/tls-bad"
chmod 644 "$T/tls-bad/server-key.pem"
printf '[vmfs]\nmigrate_tls = %s\n' "$T/tls-bad" >"$T/bad.conf"
mkdir -p "$T/mbad"
out=$(timeout 20 "$VMFS" -f --conf "$T/bad.conf" --state "$T/sbad" "$T/mbad" 2>&1)
rc=$?
is "$rc" "1" "a key group and others may read refuses the start"
like "$out" "migrate_tls: .*server-key.pem may be read or written by group or others \(mode 644\)" "saying which and why"
chmod 600 "$T/tls-bad/server-key.pem"
chmod 775 "$T/tls-bad"
out=$(timeout 20 "$VMFS" -f --conf "$T/bad.conf" --state "$T/sbad" "$T/mbad" 2>&1)
like "$out" "migrate_tls: directory .*tls-bad may be written by group or others" "so does a directory others may write"

use_boot_image
qemu-img create -q -f qcow2 "$T/images/base.qcow2" 16M
mkdir -p "$T/images2" "$T/m2"
cp "$T/images/vmlinuz" "$T/images/initrd" "$T/images/base.qcow2" "$T/images2/"
vmfs_start --conf "$T/vmfs1.conf" --images "$T/images" || exit 1
M2=$T/m2
"$VMFS" -f --conf "$T/vmfs2.conf" --state "$T/s2" --images "$T/images2" "$M2" 2>>"$T/vmfs2.err" &
M2_PID=$!
M3=$T/m3 M3_PID=
EXTRA_CLEANUP='for d in "$M" "$M2" "$M3"; do [ -e "$d/ns/default/ctl" ] && echo "kill all" >"$d/ns/default/ctl"; done 2>/dev/null
	for d in "$M2" "$M3"; do fusermount3 -uz "$d" 2>/dev/null; done
	for p in $M2_PID $M3_PID; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; kill_ours "$T"'
ok "a second vmfs answers" wait_for 30 test -f "$M2/version"
A=$M/ns/default/vms
B=$M2/ns/default/vms
echo tcg >"$M/ns/default/config/accel"
echo tcg >"$M2/ns/default/config/accel"

port_of() { printf '%s' "$1" | sed -n "s/.*$2=\([^ ]*\).*/\1/p"; }
move() { # move SRC_VMDIR DST_VMDIR: a new DST receives (an old one flushed); SRC's answer
	local got
	[ -e "$2" ] && echo flush >"$2/ctl"
	mkdir "$2" && config "$2"
	got=$(ask "$2/ctl" "migrate-in 127.0.0.1")
	case $got in
	"ok: migrate-in ready"*) ask "$1/ctl" "migrate-out $(port_of "$got" migrate) nbd=$(port_of "$got" nbd)" ;;
	*) printf 'the destination: %s\n' "$got" ;;
	esac
}

qom_objects() { # qom_objects STATEDIR: the ids in /objects of the one QEMU running under it, and its
	# migration parameter tls-creds
	local sock
	sock=$(find "$1" -name qmp.sock -type s 2>/dev/null | head -1)
	[ -n "$sock" ] || { echo "no-qmp-socket"; return; }
	python3 - "$sock" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
f = s.makefile("rw")
def ask(cmd):
    f.write(json.dumps(cmd) + "\n"); f.flush()
    while True:
        m = json.loads(f.readline())
        if "return" in m or "error" in m:
            return m
f.readline()
ask({"execute": "qmp_capabilities"})
names = [o["name"] for o in ask({"execute": "qom-list", "arguments": {"path": "/objects"}}).get("return", [])]
params = ask({"execute": "query-migrate-parameters"}).get("return", {})
print(" ".join(names), "tls-creds=%s" % params.get("tls-creds", "?"))
PY
}

mkdir "$A/w"
config "$A/w"
ok "the source VM starts" "$XWRITE" "$A/w/ctl" start
ok "it boots to a shell" wait_for 60 console_has "$A/w" "w:/#"
ok "a marker in its memory" console_run "$A/w" "wrote-0" 'echo hello-$((40+2)) >/tmp/x; echo wrote-$?'

# the destination's migration listener speaks TLS only, and wants a client certificate
mkdir "$B/p"
config "$B/p"
out=$(ask "$B/p/ctl" "migrate-in 127.0.0.1")
like "$out" "^ok: migrate-in ready: migrate=127\.0\.0\.1:[0-9]+ " "a probe destination waits"
mig=$(port_of "$out" migrate)
hs=$(timeout 10 openssl s_client -connect "$mig" -CAfile "$T/tls1/ca-cert.pem" \
	-cert "$T/tls1/client-cert.pem" -key "$T/tls1/client-key.pem" -verify_return_error </dev/null 2>&1)
like "$hs" "Verify return code: 0 \(ok\)" "its migration port answers a TLS handshake with the CA's server certificate"
like "$hs" "subject=CN *= *127\.0\.0\.1" "(the server certificate for 127.0.0.1)"
# (QEMU may end by itself at a stream that is no migration: kill then finds it ending)
echo kill 2>/dev/null >"$B/p/ctl"
ok "the probe destination ends" wait_for 10 sh -c "grep -qxE 'ERROR|QUIT' '$B/p/state'"

# a migration in TLS
mkdir "$B/w"
config "$B/w"
out=$(ask "$B/w/ctl" "migrate-in 127.0.0.1")
like "$out" "^ok: migrate-in ready: migrate=127\.0\.0\.1:[0-9]+ nbd=127\.0\.0\.1:[0-9]+$" "migrate-in answers with its ports"
mig=$(port_of "$out" migrate)
nbd=$(port_of "$out" nbd)
spid=$(awk '$1=="pid"{print $2}' "$A/w/info")
out=$(ask "$A/w/ctl" "migrate-out $mig nbd=$nbd")
like "$out" "^ok: migrated: paused " "migrate-out in TLS answers with the pause"
ok "the destination runs" wait_for 10 sh -c "grep -qx RUNNING '$B/w/state'"
is "$(cat "$A/w/state")" "QUIT" "the source is QUIT"
ok "the source's QEMU is gone" gone "$spid"
ok "the guest's memory came along (its console answers)" console_run "$B/w" "got-hello-42" 'echo got-$(cat /tmp/x)'
grep -aq "migrate-out to $mig.*migration stream in TLS, disks over NBD in TLS" "$A/w/log" &&
	grep -aq "migrate-in: starting QEMU.*migration stream in TLS, disks over NBD in TLS" "$B/w/log"
ok "both logs say the stream and the disks were in TLS" test $? = 0
ok "the destination's log says the credentials left its QEMU" grep -aq "migrate-in: .*nbd-server-stop ok.*object-del vmfs-mig-tls ok" "$B/w/log"
objs=$(qom_objects "$T/s2")
echo "# its objects: $objs"
like "$objs" "tls-creds=$" "the destination's QEMU has its migration parameter tls-creds reset"
ok "and holds no TLS credentials once the guest runs" sh -c '! printf %s "$1" | grep -qE "vmfs-mig-tls|no-qmp-socket"' - "$objs"
ok "no copy of the keys is left in QEMU's directories" test -z "$(find "$S" "$T/s2" -name '*-key.pem' 2>/dev/null)"

# a destination that trusts another CA only (its own certificate is that CA's, which the
# source trusts too): the source's certificate is refused, the move fails
cat "$T/ca2/ca-cert.pem" >>"$T/tls2/ca-cert.pem"
cp "$T/ca2/ca-cert.pem" "$T/tls1/ca-cert.pem"
mkcert "$T/tls1" server ca2 serverAuth
chmod 600 "$T/tls1/server-key.pem"
out=$(move "$B/w" "$A/w")
like "$out" "^error: .*migrate-out to 127\.0\.0\.1:[0-9]+: cannot reach the destination's NBD export" "the move to it fails, saying where"
echo "# $out"
is "$(cat "$B/w/state")" "RUNNING" "the guest stays RUNNING on the source"
ok "and answers on its console" console_run "$B/w" "still-9" 'echo still-$((3*3))'
ok "the failed source's log says the credentials left its QEMU" grep -aq "migrate-out: object-del vmfs-mig-tls: ok" "$B/w/log"
objs=$(qom_objects "$T/s2")
echo "# its objects: $objs"
ok "the source's QEMU, running on, holds no TLS credentials" sh -c '! printf %s "$1" | grep -qE "vmfs-mig-tls|no-qmp-socket"' - "$objs"
echo kill >"$A/w/ctl"

# a destination in plain TCP: the source in TLS does not talk to it
mkdir -p "$M3"
"$VMFS" -f --state "$T/s3" --images "$T/images" "$M3" 2>>"$T/vmfs3.err" &
M3_PID=$!
ok "a third vmfs, without migrate_tls, answers" wait_for 30 test -f "$M3/version" || sed 's/^/# vmfs3: /' "$T/vmfs3.err"
echo tcg >"$M3/ns/default/config/accel"
out=$(move "$B/w" "$M3/ns/default/vms/w")
like "$out" "^error: .*migrate-out to 127\.0\.0\.1:[0-9]+: .*NBD" "a move to a plain-TCP destination fails, with words"
echo "# $out"
like "$(grep -a "migrate-out: " "$B/w/log" | tail -1)" "error|fail" "the source's log says so"
ok "the plain destination's log says plain TCP" grep -aq "migration stream in plain TCP" "$M3/ns/default/vms/w/log"
is "$(cat "$B/w/state")" "RUNNING" "the guest stays RUNNING on the source"
echo kill >"$M3/ns/default/vms/w/ctl"

# and the reverse: a source in plain TCP, a destination in TLS
echo flush >"$M3/ns/default/vms/w/ctl"
mkdir "$M3/ns/default/vms/w"
config "$M3/ns/default/vms/w"
ok "a VM starts on the plain vmfs" "$XWRITE" "$M3/ns/default/vms/w/ctl" start
out=$(move "$M3/ns/default/vms/w" "$A/w")
like "$out" "^error: .*migrate-out to 127\.0\.0\.1:[0-9]+: .*NBD.*TLS" "a plain source's move to it fails, with words"
echo "# $out"
ok "the plain source's log says plain TCP" grep -aq "migrate-out to .*migration stream in plain TCP" "$M3/ns/default/vms/w/log"
is "$(cat "$M3/ns/default/vms/w/state")" "RUNNING" "that guest stays RUNNING on its source"
is "$(cat "$A/w/state")" "BUILDING" "the destination still waits (nothing came)"
echo kill >"$A/w/ctl"
echo "kill all" >"$M3/ns/default/ctl"
ok "the third vmfs unmounts" fusermount3 -u "$M3"
wait $M3_PID
is "$?" "0" "and exits 0"
M3_PID=
sanitizer_check "$T/vmfs3.err" "the third vmfs"

echo "kill all" >"$M2/ns/default/ctl"
ok "the second vmfs unmounts" fusermount3 -u "$M2"
wait $M2_PID
is "$?" "0" "and exits 0"
sanitizer_check "$T/vmfs2.err" "the second vmfs"
done_testing
