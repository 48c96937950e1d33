#!/usr/bin/env bash
# vmfs's own 9P door (p9/door.c) driven by tests/tools/p9client.py over TCP, over the Unix
# socket and through `vmfs 9p-stdio`: the checks diod passes too (p9_lib.sh: reads equal
# the mount's, ctl answers on their fid, EBUSY as errno 16, mkdir/rmdir, a VM's screenshot, a
# console read after typing), then what only the door does: Tflush of a parked console read
# at once; the socket's peer acting as its own user (nobody: refused where the mount refuses
# nobody, whatever Tattach says); TCP peers acting as p9_user and only from p9_peers.
. "$(dirname "$0")/lib.sh"
need_root
command -v setpriv >/dev/null || skip_all "needs setpriv (util-linux)"
PY=/usr/bin/python3 # the system's: another user may not reach a python under /root
[ -x "$PY" ] || PY=$(command -v python3)
use_busybox_image
use_boot_image
. "$ROOT/tests/integration/p9_lib.sh"
chmod 755 "$T" # mktemp made it 0700: nobody could not reach the socket
cp "$P9CLIENT" "$T/p9client.py" # run by nobody: the checkout may be root's only
cp "$VMFS" "$T/vmfs-relay"
cp "$XWRITE" "$T/xwrite"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
SOCK=$T/9p.sock
start() { # start [ARGS]: vmfs with the socket and TCP on a free port
	local _
	for _ in 1 2 3; do
		PORT=$(free_port)
		vmfs_start -o allow_other --images "$T/images" --9p "127.0.0.1:$PORT" \
			--9p-socket "$SOCK" "$@" && return 0
	done
	return 1
}
start || exit 1
D=$M/ns/default
EXTRA_CLEANUP='kill_flush_all "$M/ns/default"; kill_flush_all "$M/ns/nb"; kill_ours'
tcp() { timeout 20 "$PY" "$T/p9client.py" --tcp "127.0.0.1:$PORT" "$@"; }
uds() { timeout 20 "$PY" "$T/p9client.py" --unix "$SOCK" "$@"; }
nobody_uds() { as_nobody timeout 20 "$PY" "$T/p9client.py" --unix "$SOCK" "$@"; }
under() { awk -v m="${1:-none}" -v lim="$2" 'BEGIN{exit !(m != "none" && m + 0 < lim)}'; }

ok "the socket is there, mode 666" test "$(stat -c %a "$SOCK")" = 666
like "$(cat "$M/host/log")" "9p: serving 127.0.0.1:$PORT over TCP to the peers 127.0.0.1, each acting as nobody" \
	"host/log says what TCP serves and as whom"

# root on the socket: the checks diod passes
P9=("$PY" "$T/p9client.py" --unix "$SOCK")
p9_check_tree default
P9=("$PY" "$T/p9client.py" --cmd "$T/vmfs-relay 9p-stdio --9p-socket $SOCK")
is "$(p9 cat ns/default/info)" "$(cat "$D/info")" "9p-stdio relays: cat info equals the local read"
is "$(tcp cat ns/default/info)" "$(cat "$D/info")" "tcp: cat info equals the local read"
is "$(p9 cat ns/default/../../ns/default/info)" "$(cat "$D/info")" "a walk through \"..\": ns/default/../../ns/default/info is info"

# running objects, over the socket: a VM's screen, a container's console, Tflush
P9=("$PY" "$T/p9client.py" --unix "$SOCK")
mkdir "$D/vms/v1" "$D/containers/c1"
ok "start a VM" "$XWRITE" "$D/vms/v1/ctl" start
ok "start a container" "$XWRITE" "$D/containers/c1/ctl" start
p9_check_screen ns/default/vms/v1
echo "kill v1" >"$D/ctl"
ok "the container's shell is up" wait_for 10 console_has "$D/containers/c1" "c1#"
p9_check_console ns/default/containers/c1
p9_flush_ms ns/default/containers/c1 >"$T/flush"
ms=$(awk '$1=="rflush_ms"{print $2}' "$T/flush")
ok "Tflush of a parked console read is answered within 100 ms ($ms ms)" under "$ms" 100
ok "and the flushed read is never answered" grep -q "read_answered_first no" "$T/flush"

# TCP acts as nobody (p9_user's default), here in a namespace nobody owns
mkdir "$M/ns/nb" && chown 65534 "$M/ns/nb" && mkdir "$M/ns/nb/containers/c2"
like "$(tcp ctl ns/nb/ctl 'kill all')" "^ok: " "tcp: a ctl write in nobody's namespace reads back ok:"
is "$(tcp ctl ns/nb/ctl 'pause c2' | head -1)" "errno 16: Device or resource busy" "tcp: a refused pause is errno 16"
ok "tcp: mkdir ns/nb/vms/v2" tcp mkdir ns/nb/vms/v2
ok "tcp: rmdir it" tcp rmdir ns/nb/vms/v2
ok "tcp: mkdir ns/nb/vms/v3" tcp mkdir ns/nb/vms/v3
removed() { tcp remove "$1" && ! test -e "$M/$1"; }
ok "tcp: Tremove of it (a fid's remove) and it is gone" removed ns/nb/vms/v3
is "$(tcp mkdir ns/p9t)" "errno 13: Permission denied" "tcp acts as nobody: no namespace in root's ns/"
is "$(tcp cat ns/default/containers/c1/console)" "errno 13: Permission denied" \
	"tcp acts as nobody: root's console refused (0640, never others')"
ok "start c2 in nobody's namespace" "$XWRITE" "$M/ns/nb/containers/c2/ctl" start
ok "c2's shell is up" wait_for 10 console_has "$M/ns/nb/containers/c2" "c2#"
tcp flushtest ns/nb/containers/c2/console 300 --limit 8 >"$T/flush"
ms=$(awk '$1=="rflush_ms"{print $2}' "$T/flush")
ok "tcp: Tflush of a parked console read within 100 ms ($ms ms)" under "$ms" 100
echo "kill all" >"$M/ns/nb/ctl"
echo "kill all" >"$D/ctl"

# the socket's peer is who the kernel says, whatever Tattach says (a walk of several names
# stops short where one is refused, which 9P cannot say more of: the client says ENOENT; a
# directory opened is refused with its errno)
mkdir "$M/ns/priv" && chmod 700 "$M/ns/priv"
is "$(as_nobody ls "$M/ns/priv" 2>&1 | sed 's/.*: //')" "Permission denied" \
	"(the mount: nobody cannot list root's 0700 namespace)"
is "$(nobody_uds ls ns/priv)" "errno 13: Permission denied" "socket as nobody: EACCES there too"
is "$(nobody_uds --uname root --n-uname 0 ls ns/priv)" "errno 13: Permission denied" \
	"a Tattach naming root changes nothing"
is "$(nobody_uds cat ns/priv/info)" "errno 2: No such file or directory" "nor does a walk reach into it"
is "$(as_nobody "$T/xwrite" "$M/ns/nb/ctl" 'tap 5 10.9.9.1/24')" "EPERM" \
	"(the mount: nobody may not add a tap, a host-reaching command)"
is "$(nobody_uds ctl ns/nb/ctl 'tap 5 10.9.9.1/24' | head -1)" "errno 1: Operation not permitted" \
	"socket as nobody: EPERM too"
like "$(nobody_uds ctl ns/nb/ctl 'stop all')" "^ok: " "socket as nobody: a command in its own namespace"
is "$(as_nobody timeout 20 "$PY" "$T/p9client.py" --cmd "$T/vmfs-relay 9p-stdio --9p-socket $SOCK" \
	ls ns/priv)" "errno 13: Permission denied" "9p-stdio run by nobody acts as nobody"
like "$(uds ls ns/priv)" "ctl" "and root on the socket, as root"
mkdir "$M/ns/grp" && chgrp 4242 "$M/ns/grp" && chmod 750 "$M/ns/grp"
in_group() { setpriv --reuid=65534 --regid=65534 --groups="$1" "${@:2}"; }
like "$(in_group 4242 ls "$M/ns/grp")" "ctl" "(the mount: nobody in group 4242 lists a 0750 namespace of that group)"
like "$(in_group 4242 timeout 20 "$PY" "$T/p9client.py" --unix "$SOCK" ls ns/grp)" "ctl" \
	"socket: so does nobody in group 4242 (its groups from the kernel)"
is "$(in_group 4243 timeout 20 "$PY" "$T/p9client.py" --unix "$SOCK" ls ns/grp)" \
	"errno 13: Permission denied" "and not in another group"
many=$(seq -s, 5000 5080) # more groups than the door keeps: the first 64, in the kernel's order
like "$(in_group "$many,4242" timeout 20 "$PY" "$T/p9client.py" --unix "$SOCK" ls ns/grp)" \
	"ctl" "a peer in 82 groups: group 4242, among the first 64, counts"
chgrp 9999 "$M/ns/grp"
is "$(in_group "$many,9999" timeout 20 "$PY" "$T/p9client.py" --unix "$SOCK" ls ns/grp)" \
	"errno 13: Permission denied" "group 9999, the 82nd, does not (the limit docs/tree.md states)"
is "$("$T/vmfs-relay" 9p-stdio --9p-socket "$T/none.sock" 2>&1 </dev/null)" \
	"vmfs 9p-stdio: cannot connect to $T/none.sock: No such file or directory (is vmfs running, with --9p-socket or p9_socket naming it?)" \
	"9p-stdio without a socket says so"

# a TCP peer not in p9_peers (127.0.0.1 alone by default)
"$PY" - "$PORT" >"$T/refused" <<'EOF'
import socket, sys
s = socket.socket()
s.bind(("127.0.0.2", 0))
s.connect(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
print("closed" if s.recv(1) == b"" else "open")
EOF
is "$(cat "$T/refused")" "closed" "a peer at 127.0.0.2 is closed at once"
ok "and logged with the reason" grep -q "9p: a connection from 127.0.0.2:[0-9]*: refused: its address is not in p9_peers" "$M/host/log"
ok "a clean exit" vmfs_stop
ok "the socket is removed at exit" test ! -e "$SOCK"

# the keys in vmfs.conf: TCP as root when named so, for the peers listed
printf '[vmfs]\np9_user = root\np9_peers = 10.1.2.0/24, 127.0.0.1\n' >"$T/vmfs.conf"
start --conf "$T/vmfs.conf" || exit 1
like "$(grep 'warning: 9p' "$M/host/log")" "TCP peers act as root" "p9_user = root: a warning in host/log"
P9=("$PY" "$T/p9client.py" --tcp "127.0.0.1:$PORT")
p9_check_tree default
ok "a clean exit" vmfs_stop
done_testing
