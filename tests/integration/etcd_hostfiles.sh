#!/usr/bin/env bash
# With etcd, another host's files under hosts/ (docs/tree.md, "Many hosts"): hosts/h2/top read
# through h1 has the columns of h1's own top; its vms and containers are the claims naming h2,
# mem_total its info's memory (the same figure h2 shows of itself), cpu%, load1 and mem_used
# `-` (no host publishes them). With h2 cut from etcd, its row is all `-`.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
use_busybox_image

mnt() { local v=ETCD_MNT_$1; printf '%s' "${!v:-}"; }
cleanup_objects() {
	local i d
	for i in 1 2; do
		d=$(mnt "$i")/ns/default
		if [ -z "$(mnt "$i")" ] || [ ! -e "$d/ctl" ]; then continue; fi
		timeout 20 sh -c 'echo "kill all" >"$1/ctl"; echo "flush all" >"$1/ctl"' _ "$d" 2>/dev/null
	done
}
EXTRA_CLEANUP="cleanup_objects; $EXTRA_CLEANUP"

etcd_net
etcd_start one
# shellcheck disable=SC2154 # set by etcd_start
U=$ETCD_URL_one
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
	"hosts/h2/top through h1 has h1's own top's columns"
is "$(wc -l <"$M1/hosts/h2/top")" 2 "a header and one row"
own_mem=$(row "$M2" h2 | cut -f5)
like "$own_mem" '^[0-9]+M$' "h2's own top has its mem_total ($own_mem)"
is "$(row "$M1" h2)" "$(printf 'h2\t-\t-\t-\t%s\t0\t2' "$own_mem")" \
	"through h1: 0 vms, 2 containers (its claims), its memory, unpublished figures -"
is "$(row "$M2" h1 | cut -f1,6,7)" "$(printf 'h1\t0\t1')" "and h1's through h2: 1 container"

"$XWRITE" "$D1/ctl" "launch container c4" # on h1: h2's count does not move
echo h2 >"$D1/config/host"
"$XWRITE" "$D1/ctl" "launch container c5"
ok "a third claim naming h2 counts" wait_for 10 sh -c \
	'[ "$(sed -n 2p "$1" | cut -f7)" = 3 ]' _ "$M1/hosts/h2/top"

etcd_cut 2
ok "h2 cut: its row through h1 is all -" wait_for 15 sh -c \
	'[ "$(sed -n 2p "$1")" = "$(printf "h2\t-\t-\t-\t-\t-\t-")" ]' _ "$M1/hosts/h2/top"
etcd_restore 2
ok "h2 back: its figures again" wait_for 15 sh -c \
	'[ "$(sed -n 2p "$1" | cut -f7)" = 3 ]' _ "$M1/hosts/h2/top"
done_testing
