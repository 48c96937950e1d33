#!/usr/bin/env bash
# With etcd, another host's files under hosts/ (docs/tree.md, "Many hosts"): hosts/h2/top read
# through h1 has the columns of h1's own hosts/h1/top (a host/top's and `age`); its vms and
# containers are the claims naming h2, mem_total its info's memory (the same figure h2 shows of
# itself), cpu%, load1 and mem_used what h2 published in P/h/h2/load, with their age; a value
# there that cannot be true shows `-`, said once in h1's log. A VM of h2 (TCG): its vnc and qmp read and written through h1
# are h2's, by h2's 9P door; qmp is host root's only through h1 (h2's door acts as root), and
# a user who may not read vnc on h2 may not through h1 either. With h2 cut from etcd, its
# row is all `-`, and the VM's vnc and qmp fail at once with EHOSTDOWN.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
use_busybox_image
use_boot_image

EXTRA_CLEANUP="etcd_flush_all; kill_ours \"\$T\"; $EXTRA_CLEANUP"

etcd_one
etcd_members 2 "$U" "p9 = 0.0.0.0:5640" "p9_user = root" "p9_peers = cluster" \
	"images = $T/images" || { echo "not ok 1 - two members start"; exit 1; }
M1=$(mnt 1) M2=$(mnt 2)
D1=$M1/ns/default D2=$M2/ns/default

# pinned to h2: two containers there, one on h1
for i in 1 2; do echo "h2" >"$(mnt "$i")/ns/default/config/host"; done
"$XWRITE" "$D2/ctl" "launch container c1"
"$XWRITE" "$D2/ctl" "launch container c2"
for i in 1 2; do echo "h1" >"$(mnt "$i")/ns/default/config/host"; done
"$XWRITE" "$D1/ctl" "launch container c3"
ok "h1 lists h2's c1 and c2" wait_for 10 test -d "$D1/containers/c2" -a -d "$D1/containers/c1"

row() { sed -n 2p "$1/hosts/$2/top"; }
is "$(head -1 "$M1/hosts/h2/top")" "$(head -1 "$M1/hosts/h1/top")" \
	"hosts/h2/top through h1 has h1's own hosts/h1/top's columns"
is "$(head -1 "$M1/hosts/h1/top")" "$(printf 'host\tcpu%%\tload1\tmem_used\tmem_total\tvms\tcontainers\tage')" \
	"... host/top's and age"
is "$(row "$M1" h1 | cut -f8)" 0s "h1's own row: 0s old"
is "$(head -1 "$M1/host/top")" "$(printf 'host\tcpu%%\tload1\tmem_used\tmem_total\tvms\tcontainers')" \
	"host/top keeps its columns"
is "$(wc -l <"$M1/hosts/h2/top")" 2 "a header and one row"
own_mem=$(row "$M2" h2 | cut -f5)
like "$own_mem" '^[0-9]+M$' "h2's own top has its mem_total ($own_mem)"
ok "h2 publishes its figures" wait_for 10 has "$P/h/h2/load"
like "$(row "$M1" h2)" "^h2	[0-9]+\.[0-9]	[0-9]+\.[0-9][0-9]	[0-9]+M	$own_mem	0	2	[0-9]+s\$" \
	"through h1: cpu%, load1, mem_used and their age, its memory, 0 vms, 2 containers (its claims)"
is "$(row "$M1" h2 | cut -f4)" "$(($(field "$P/h/h2/load" mem-used) >> 20))M" \
	"mem_used is what h2 published"
pub=$(val "$P/h/h2/load")
printf 'v=1\ncpu=12.5\nload1=3.25\nmem-used=%s\nat=%s\n' $((100 << 20)) $(($(date +%s) - 30)) |
	ectl put "$P/h/h2/load" >/dev/null
ok "a value put 30 s ago shows 30 s old" wait_for 5 sh -c \
	'sed -n 2p "$0" | grep -Eq "^h2	12\.5	3\.25	100M	.*	3[01]s\$"' "$M1/hosts/h2/top"
printf 'v=1\ncpu=12.5\nload1=3.25\nmem-used=%s\nat=1\n' $((1 << 45)) | ectl put "$P/h/h2/load" >/dev/null
ok "32 TiB in use, more than h2 has: its figures -" wait_for 5 sh -c \
	'[ "$(sed -n 2p "$0" | cut -f2-4,8)" = "$(printf -- "-\t-\t-\t-")" ]' "$M1/hosts/h2/top"
ok "said in h1's log" grep -q "etcd: $P/h/h2/load (revision [0-9]*): mem-used $((1 << 45)) is more than the host's memory ([0-9]*): treated as absent" "$M1/host/log"
cat "$M1/hosts/h2/top" >/dev/null
is "$(grep -c "etcd: $P/h/h2/load (revision" "$M1/host/log")" 1 "once, not at each read"
printf '%s\n' "$pub" | ectl put "$P/h/h2/load" >/dev/null # as h2 left it
is "$(row "$M2" h1 | cut -f1,6,7)" "$(printf 'h1\t0\t1')" "and h1's through h2: 1 container"

"$XWRITE" "$D1/ctl" "launch container c4" # on h1: h2's count does not move
echo h2 >"$D1/config/host"
"$XWRITE" "$D1/ctl" "launch container c5"
ok "a third claim naming h2 counts" wait_for 10 sh -c \
	'[ "$(sed -n 2p "$1" | cut -f7)" = 3 ]' _ "$M1/hosts/h2/top"

# a VM of h2's, running under TCG; its vnc and qmp through h1
for d in "$D1" "$D2"; do echo tcg >"$d/config/accel"; done
V1=$D1/vms/v1 V2=$D2/vms/v1
for i in 1 2; do echo "h2" >"$(mnt "$i")/ns/default/config/host"; done
mkdir "$V2"
ok "v1 is made on h2" test -d "$T/h2/state/ns/default/vms/v1"
echo vmlinuz >"$V2/config/kernel" && echo initrd >"$V2/config/initrd"
ok "v1 starts on h2" "$XWRITE" "$V2/ctl" start
ok "h1 lists it RUNNING" wait_for 15 grep -q '^RUNNING' "$V1/state"
ok "hosts/h2/top through h1 counts it" wait_for 10 sh -c \
	'[ "$(sed -n 2p "$1" | cut -f6)" = 1 ]' _ "$M1/hosts/h2/top"
like "$(ls "$V1" | tr '\n' ' ')" " qmp .*vnc " "its files through h1 have qmp and vnc"
vnc1=$(cat "$V1/vnc")
like "$vnc1" "^socket $T/h2/state/ns/default/vms/v1/run/qemu/vnc.sock\$" \
	"vnc through h1 names h2's VNC socket"
is "$vnc1" "$(cat "$V2/vnc")" "... the text h2 shows of it"
is "$(stat -c %a "$V1/vnc") $(stat -c %a "$V1/qmp")" "$(stat -c %a "$V2/vnc") $(stat -c %a "$V2/qmp")" \
	"their modes are h2's own files'"
is "$(setpriv --reuid=65534 --regid=65534 --clear-groups cat "$V1/vnc" 2>&1 >/dev/null | grep -c denied)" 1 \
	"another user may not read it through h1"
is "$(setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'exec 3<>"$1"' _ "$V1/qmp" 2>&1 |
	grep -c denied)" 1 "nor open its qmp"
is "$(etcd_wr "$V1/qmp" '{"execute":"query-status"}')" \
	'{"status":"running","singlestep":false,"running":true};errno=ok' \
	"qmp through h1: h2's QEMU answers query-status"
is "$(etcd_wr "$V1/qmp" '{"execute":"stop"}')" '{};errno=ok' "a stop through h1"
ok "v1 PAUSED on h2" wait_for 10 grep -q '^PAUSED' "$V2/state"
like "$(etcd_wr "$V1/qmp" '{"execute":"no-such-command"}')" \
	'^error: .*CommandNotFound.*;errno=EIO$' "h2's refusal and errno come back through h1"
is "$(etcd_wr "$V1/qmp" '{"execute":"cont"}')" '{};errno=ok' "a cont"
ok "v1 RUNNING again" wait_for 10 grep -q '^RUNNING' "$V2/state"

etcd_cut 2
ok "h2 cut: v1 UNKNOWN on h1" wait_for 10 grep -q '^UNKNOWN since .*: h2 is down$' "$V1/state"
is "$(errno_of "$V1/qmp" '{"execute":"query-status"}')" EHOSTDOWN "qmp through h1: EHOSTDOWN"
ok "h2 cut: its row through h1 is all -" wait_for 15 sh -c \
	'[ "$(sed -n 2p "$1")" = "$(printf "h2\t-\t-\t-\t-\t-\t-\t-")" ]' _ "$M1/hosts/h2/top"
open_errno() { python3 -c 'import errno, sys
try: open(sys.argv[1]).read()
except OSError as e: print(errno.errorcode[e.errno])' "$1"; }
t0=$(date +%s%N)
is "$(open_errno "$V1/vnc")" EHOSTDOWN "its vnc too"
ms=$((($(date +%s%N) - t0) / 1000000))
ok "at once (${ms} ms)" test "$ms" -lt 1500
ok "in words in h1's log" grep -q "v1/vnc (on h2): unknown since .*: h2 is down" "$D1/log"
etcd_restore 2
ok "h2 back: its figures again" wait_for 15 sh -c \
	'[ "$(sed -n 2p "$1" | cut -f7)" = 3 ]' _ "$M1/hosts/h2/top"
done_testing
