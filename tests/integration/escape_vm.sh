#!/usr/bin/env bash
# Confined QEMU guests (issue 14): a disk whose backing chain leaves images/ and the VM's
# state directory is refused before anything opens it (backing file, symbolic link, data
# file, kernel); QEMU runs under its seccomp sandbox; VNC listens on no TCP port unless
# config/vnc-listen asks, and then asks for a password.
. "$(dirname "$0")/lib.sh"
command -v qemu-img >/dev/null || { echo "not ok 1 - qemu-img is installed (./setup --deps: qemu-utils)"; exit 1; }
use_boot_image
I=$T/images
O=$T/outside # a directory of the host's, outside the image store
mkdir -p "$O"
echo "secret of the host" >"$O/secret"
truncate -s 1M "$O/secret"
qemu-img create -q -f qcow2 "$O/disk.qcow2" 16M
qemu-img create -q -f qcow2 -u -F raw -b /etc/shadow "$I/shadow.qcow2" 16M
qemu-img create -q -f qcow2 -u -F raw -b "$O/secret" "$I/secret.qcow2" 16M
ln -s "$O/disk.qcow2" "$I/link.qcow2"
ln -s "$O/secret" "$I/secret.raw"
qemu-img create -q -f qcow2 -u -F raw -b secret.raw "$I/vialink.qcow2" 16M
qemu-img create -q -f qcow2 -u -F raw -b 'json:{"driver":"file","filename":"/etc/shadow"}' "$I/json.qcow2" 16M
qemu-img create -q -f qcow2 -o data_file="$O/secret" "$I/data.qcow2" 1M 2>/dev/null ||
	qemu-img create -q -f qcow2 -o data_file="$O/data.raw" "$I/data.qcow2" 1M
qemu-img create -q -f qcow2 "$I/base.qcow2" 16M
qemu-img create -q -f qcow2 -F qcow2 -b base.qcow2 "$I/top.qcow2" 16M
touch -a -d 2000-01-01 "$O/secret" "$O/disk.qcow2"
chmod 755 "$T" # mktemp made it 0700: nobody could not even reach the mount point
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
PORT=$(free_port)
U=http://127.0.0.1:$PORT
cat >"$T/wsvnc.py" <<'PY'
#!/usr/bin/env python3
"""wsvnc.py URL: a VNC viewer's first steps through a websocket (RFC 6455, masked client
frames): RFB greeting, security type None, ClientInit, ServerInit, then one full
FramebufferUpdateRequest. Prints "WxH BYTES" (BYTES: update bytes received within 10 s,
at most 100 KiB counted) or exits 1 with the reason."""
import base64, os, socket, struct, sys, urllib.parse

url = urllib.parse.urlsplit(sys.argv[1])
s = socket.create_connection((url.hostname, url.port), timeout=10)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Protocol: binary\r\n%s\r\n" % (url.path, url.netloc, key,
           "Authorization: Bearer %s\r\n" % os.environ["WEB_TOKEN"]
           if os.environ.get("WEB_TOKEN") else "")).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    c = s.recv(4096)
    if not c:
        sys.exit("closed during the handshake")
    buf += c
head, buf = buf.split(b"\r\n\r\n", 1)
if not head.startswith(b"HTTP/1.1 101"):
    sys.exit("no upgrade: " + head.split(b"\r\n")[0].decode())

def recv_exact(n):
    global buf
    while len(buf) < n:
        c = s.recv(65536)
        if not c:
            sys.exit("closed")
        buf += c
    out, buf = buf[:n], buf[n:]
    return out

data = b""
def rfb(n):  # n bytes of RFB, unframed
    global data
    while len(data) < n:
        h = recv_exact(2)
        if h[1] & 0x80:
            sys.exit("a server frame is masked")
        ln = h[1] & 0x7f
        if ln == 126:
            ln = struct.unpack(">H", recv_exact(2))[0]
        elif ln == 127:
            ln = struct.unpack(">Q", recv_exact(8))[0]
        data += recv_exact(ln)
    out, data = data[:n], data[n:]
    return out

def send(payload):
    m = os.urandom(4)
    ln = len(payload)
    h = bytes([0x82]) + (bytes([0x80 | ln]) if ln < 126 else bytes([0x80 | 126]) + struct.pack(">H", ln))
    s.sendall(h + m + bytes(b ^ m[i % 4] for i, b in enumerate(payload)))

if rfb(12) != b"RFB 003.008\n":
    sys.exit("no RFB greeting")
send(b"RFB 003.008\n")
n = rfb(1)[0]
types = rfb(n)
if 1 not in types:
    sys.exit("security types %s: no None" % list(types))
send(bytes([1]))
if rfb(4) != b"\0\0\0\0":
    sys.exit("security failed")
send(bytes([1]))  # ClientInit, shared
w, h = struct.unpack(">HH", rfb(4))
rfb(16)
rfb(struct.unpack(">I", rfb(4))[0])  # the desktop's name
send(struct.pack(">BBHHHH", 3, 0, 0, 0, w, h))
got = 0
try:
    while got < 100 * 1024:
        got += len(rfb(1024))
except socket.timeout:
    pass
print("%dx%d %d" % (w, h, got))
PY
vmfs_start --images "$I" --web 127.0.0.1:$PORT || exit 1
D=$M/ns/default
V=$D/vms
EXTRA_CLEANUP='[ -e "$D/ctl" ] && echo "kill all" > "$D/ctl" 2>/dev/null; kill_ours'
echo tcg >"$D/config/accel"
field() { awk -v k="$2" '$1==k{$1=""; print substr($0,2)}' "$V/$1/info"; }
pid_of() { field "$1" pid; }

mkdir "$V/e"
echo vmlinuz >"$V/e/config/kernel" && echo initrd >"$V/e/config/initrd"
refused() { # refused DISK ERRNO WORDS DESC: start with config/disk DISK is refused
	echo "$1" >"$V/e/config/disk"
	is "$(errno_of "$V/e/ctl" start)" "$2" "$4: start refused ($2)"
	like "$(tail -1 "$V/e/log")" "$3" "$4: the log says why"
	is "$(cat "$V/e/state") $(pid_of e)" "ERROR -" "$4: no QEMU ran (state ERROR, no pid)"
}
refused shadow.qcow2 EACCES "disk 0: the backing chain of .*/shadow.qcow2: .*/etc/shadow is outside images/" \
	"a backing file /etc/shadow"
refused secret.qcow2 EACCES "outside images/" "a backing file elsewhere on the host"
refused link.qcow2 EACCES "link.qcow2 is $O/disk.qcow2, outside images/" "a symbolic link in images/ to a disk outside"
refused vialink.qcow2 EACCES "secret.raw is $O/secret, outside images/" "a backing file that is a link out of images/"
refused json.qcow2 EPERM "not a file" "a json: backing file"
refused data.qcow2 EACCES "the data file of .*outside images/" "a qcow2 whose external data file is outside"
qemu-img create -q -f qcow2 -o data_file="$I/wdata.raw" "$I/wdata.qcow2" 1M
chgrp kvm "$I/wdata.raw" && chmod 664 "$I/wdata.raw"
refused wdata.qcow2 EPERM "the data file of .*wdata.qcow2: .*wdata.raw \(mode 0664, owner 0:[0-9]+\) is writable by QEMU's user" \
	"a data file (of a layer QEMU only reads) group kvm may write"
refused "$O/disk.qcow2" EACCES "outside images/" "config/disk naming a file outside images/"
mkdir -p "$S/ns/default/vms/e/run"
cp "$I/disk.qcow2" "$S/ns/default/vms/e/run/planted.qcow2" 2>/dev/null ||
	qemu-img create -q -f qcow2 "$S/ns/default/vms/e/run/planted.qcow2" 1M
# run/ is made afresh at each start, and nothing in it counts as checked
echo "$S/ns/default/vms/e/run/planted.qcow2" >"$V/e/config/disk"
like "$(errno_of "$V/e/ctl" start)" "^(ENOENT|EACCES)$" "a disk planted in the VM's run directory (QEMU writes there): start refused"
like "$(tail -1 "$V/e/log")" "No such file|its run/ is QEMU's own" "... the log says why"
is "$(cat "$V/e/state") $(pid_of e)" "ERROR -" "... no QEMU ran"
is "$(stat -c %X "$O/secret") $(stat -c %X "$O/disk.qcow2")" "946684800 946684800" "nothing read the files outside (atime unchanged)"
echo >"$V/e/config/disk"
echo "$O/secret" >"$V/e/config/kernel"
is "$(errno_of "$V/e/ctl" start)" "EACCES" "a kernel outside images/ is refused"
like "$(tail -1 "$V/e/log")" "config/kernel: .* outside images/" "the log says so"
echo vmlinuz >"$V/e/config/kernel"
# a FIFO as a disk QEMU writes itself: nothing opens it to look at it (that would block)
mkfifo "$I/fifo.img"
echo false >"$V/e/config/snapshot"
echo fifo.img >"$V/e/config/disk"
"$XWRITE" "$V/e/ctl" start >"$T/fifo.errno" 2>&1 &
fifo_start=$!
ok "a start with a FIFO as its disk: vmfs answers meanwhile" timeout 3 cat "$M/host/info"
ok "the start returns" wait_for 5 sh -c "! kill -0 $fifo_start"
: <>"$I/fifo.img" # should it have blocked: let it go
is "$(cat "$T/fifo.errno")" "EINVAL" "it is refused (EINVAL)"
like "$(tail -1 "$V/e/log")" "fifo.img is a FIFO, not a file: refused" "the log says why"
echo true >"$V/e/config/snapshot"

mkdir "$V/g"
echo vmlinuz >"$V/g/config/kernel" && echo initrd >"$V/g/config/initrd"
echo top.qcow2 >"$V/g/config/disk"
ok "a chain inside images/ (top.qcow2 over base.qcow2, relative) starts" "$XWRITE" "$V/g/ctl" start
ok "it boots" wait_for 60 console_has "$V/g" "vmfs guest g is up"

# QEMU's seccomp sandbox
qp=$(pid_of g)
like "$(tr '\0' ' ' </proc/$qp/cmdline)" " -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny " \
	"QEMU runs with -sandbox, everything it can deny denied"
is "$(awk '$1=="Seccomp:"{print $2}' /proc/$qp/status)" "2" "its /proc status says Seccomp: 2 (a filter)"
ok "pause under the sandbox" "$XWRITE" "$V/g/ctl" pause
is "$(cat "$V/g/state")" "PAUSED" "PAUSED"
ok "resume" "$XWRITE" "$V/g/ctl" resume
ok "a screenshot under the sandbox" sh -c "head -c 8 '$V/g/screenshot.png' | grep -aq PNG"
ok "a commit under the sandbox (qemu-img runs outside QEMU)" "$XWRITE" "$V/g/ctl" "commit saved.qcow2"
ok "the committed image is there" test -s "$I/saved.qcow2"
is "$(cat "$V/g/state")" "RUNNING" "and the VM runs on"

# VNC: by default a socket in the run directory, no TCP port
ok "QEMU listens on no TCP port" sh -c "! ss -Hltnp | grep -q 'pid=$qp,'"
sock=$(field g vnc_socket)
like "$sock" "/run/qemu/vnc.sock$" "VNC listens in run/qemu (QEMU's user's)"
ok "on a socket" test -S "$sock"
like "$(as_nobody /usr/bin/python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])" "$sock" 2>&1)" \
	"PermissionError" "which another user cannot connect to"
like "$(cat "$V/g/vnc")" "^socket $sock$" "vnc names the socket"
is "$(stat -c %a "$V/g/vnc")" "400" "vnc is readable by its owner only"
like "$(python3 "$T/wsvnc.py" "$U/ns/default/vms/g/vnc" 2>&1)" "^[0-9]+x[0-9]+ [1-9][0-9]{4,}$" \
	"the HTTP door's VNC: RFB both ways through the socket, a full screen update in frames"

# with config/vnc-listen: a TCP port that asks for the password only vnc shows
mkdir "$V/h"
echo vmlinuz >"$V/h/config/kernel" && echo initrd >"$V/h/config/initrd"
echo 127.0.0.1 >"$V/h/config/vnc-listen"
ok "a VM with vnc-listen 127.0.0.1 starts" "$XWRITE" "$V/h/ctl" start
addr=$(head -1 "$V/h/vnc")
like "$addr" "^127\.0\.0\.1:59[0-9][0-9]$" "vnc names its port"
like "$(sed -n 2p "$V/h/vnc")" "^password [A-Za-z0-9]{8}$" "and its password"
ok "another user cannot read vnc" sh -c "! as_nobody cat '$V/h/vnc' 2>/dev/null"
is "$(ss -Hltnp | awk -v p="pid=$(pid_of h)," 'index($0, p) { print $4 }')" "$addr" "QEMU listens on that port only"
sec=$(python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)
s.recv(12); s.sendall(b'RFB 003.008\n'); n = s.recv(1)[0]
print(' '.join(str(b) for b in s.recv(n)))" "${addr##*:}" 2>&1)
is "$sec" "2" "the port asks for a password: RFB security type 2 (VNC authentication) only"

# qemu-img reads what QEMU could have written as QEMU's user, given the layers vmfs checked:
# a name QEMU writes into its overlay's header is never opened
printf 'root-only-mark-%s\n' 42 >"$O/rootsecret"
truncate -s 1M "$O/rootsecret"
chmod 600 "$O/rootsecret"
touch -a -d 2000-01-01 "$O/rootsecret"
ov=$S/ns/default/vms/g/disk0.qcow2
ok "kill g" "$XWRITE" "$V/g/ctl" kill
# (the killed QEMU's lock on the overlay goes with its last descriptor: retried until then)
ok "its overlay's header rewritten, as QEMU's user could: backed by a root-only file" \
	wait_for 10 qemu-img rebase -u -f qcow2 -b "$O/rootsecret" -F raw "$ov"
like "$(qemu-img info -U "$ov" 2>&1)" "backing file: $O/rootsecret" "the header names it now"
ok "commit copies" "$XWRITE" "$V/g/ctl" "commit rebased.qcow2"
ok "the image is there" test -s "$I/rebased.qcow2"
ok "without the root-only file in it (the checked chain was copied, not the header's)" \
	sh -c "! grep -aq root-only-mark '$I/rebased.qcow2'"
is "$(stat -c %X "$O/rootsecret")" "946684800" "nothing read the root-only file (atime unchanged)"
is "$(stat -c '%U %a' "$I/rebased.qcow2")" "root 644" "the image is root's"
qemu-img rebase -u -f qcow2 -b "json:{\"driver\":\"file\",\"filename\":\"$O/rootsecret\"}" -F raw "$ov"
is "$(errno_of "$V/g/ctl" "commit rebased2.qcow2")" "EPERM" "an overlay backed by a json: name: commit refused"
like "$(tail -1 "$V/g/log")" "disk 0: the overlay: .* which is not a file: refused" "the log says why"
ok "no image and no part of it" test ! -e "$I/rebased2.qcow2" -a ! -e "$I/rebased2.qcow2.part"

ok "kill all" "$XWRITE" "$D/ctl" "kill all"
ok "no QEMU left" wait_for 5 none_of_ours
vmfs_stop
done_testing
