#!/usr/bin/env bash
# The tree on every host from the cluster's records (cluster/cview.h, docs/cluster-design.md
# "The tree on every host"): three hosts launch containers; each host's ns/default/info lists
# all of them with their host and cluster-wide ids, containers/ lists them, another host's
# object has its state, info and config from its record; a host cut off has its objects
# UNKNOWN since it went down on the others, still listed, also after another vmfs restarts;
# back, their true states.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
use_busybox_image

D() { printf '%s/ns/default' "$(mnt "$1")"; }
now_ms() { date +%s%3N; }
# row I NAME COLUMN: ns/default/info's COLUMN of NAME as host I shows it
col() { awk -F'\t' -v n="$2" -v c="$3" 'NR == 1 {for (i = 1; i <= NF; i++) h[$i] = i; next}
	$2 == n {print $h[c]}' "$(D "$1")/info" 2>/dev/null; }
row_is() { [ "$(col "$1" "$2" "$3")" = "$4" ]; } # row_is I NAME COLUMN VALUE
names_on() { awk -F'\t' 'NR > 1 {print $2}' "$(D "$1")/info" | sort | tr '\n' ' '; }
lists_all() { [ "$(names_on "$1")" = "a1 a2 b1 c1 " ]; }
state_like() { grep -Eq "$3" "$(D "$1")/containers/$2/state" 2>/dev/null; } # state_like I NAME RE
# every host's objects killed and removed at the end (a started container outlives its vmfs)
flush_members() {
	local i
	for i in 1 2 3; do
		[ -e "$(D "$i")/ctl" ] || continue
		echo "kill all" >"$(D "$i")/ctl" 2>/dev/null
		echo "flush all" >"$(D "$i")/ctl" 2>/dev/null
	done
}
EXTRA_CLEANUP="flush_members; $EXTRA_CLEANUP"

etcd_one
for i in 1 2 3; do # each host's image store: STATE/images
	mkdir -p "$T/h$i/state/images"
	cp -a "$T/images/busybox" "$T/h$i/state/images/busybox"
done
etcd_members 3 "$U" "p9 = 0.0.0.0:5640" || { echo "not ok 1 - three members start"; exit 1; }

for i in 1 2 3; do echo "h$i" >"$(D "$i")/config/host"; done # each launches on itself
"$XWRITE" "$(D 1)/ctl" "launch container a1,a2"
"$XWRITE" "$(D 2)/ctl" "launch container b1"
"$XWRITE" "$(D 3)/ctl" "launch container c1"
for i in 1 2 3; do
	ok "h$i's ns/default/info lists the 4 containers of the 3 hosts" wait_for 10 lists_all "$i"
done
for i in 1 2 3; do
	is "$(col "$i" a1 host) $(col "$i" a2 host) $(col "$i" b1 host) $(col "$i" c1 host)" \
		"h1 h1 h2 h3" "h$i: each row has its owner in host"
done
ids1="$(col 1 a1 id) $(col 1 a2 id) $(col 1 b1 id) $(col 1 c1 id)"
like "$ids1" '^[0-9]+ [0-9]+ [0-9]+ [0-9]+$' "h1: every row has an id ($ids1)"
is "$(tr ' ' '\n' <<<"$ids1" | sort -u | wc -l)" 4 "four different ids"
ids_are() { [ "$(col "$1" a1 id) $(col "$1" a2 id) $(col "$1" b1 id) $(col "$1" c1 id)" = "$2" ]; }
for i in 2 3; do
	ok "h$i shows the same ids" wait_for 3 ids_are "$i" "$ids1"
done
is "$(head -n 1 "$(D 2)/info" | awk -F'\t' '{print $NF}')" since "info's last column is since"
like "$(col 2 a1 since)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "a1's since on h2, from its record"

# shellcheck disable=SC2012 # names of vmfs's own: no blanks
is "$(ls "$(D 1)/containers" | tr '\n' ' ')" "a1 a2 b1 c1 " "h1's containers/ lists the other hosts' too"
# shellcheck disable=SC2012
is "$(ls "$(D 2)/vms" | wc -l)" 0 "vms/ lists none"
C1=$(D 1)/containers
like "$(cat "$C1/b1/state")" '^BUILDING since [0-9T:-]+Z$' "b1's state on h1, from h2's record"
ok "its info says host h2" grep -qx "host h2" "$C1/b1/info"
ok "and its cluster id" grep -qx "id $(col 1 b1 id)" "$C1/b1/info"
is "$(cat "$C1/b1/config/memory")" "$(cat "$(D 2)/containers/b1/config/memory")" \
	"its config/memory as h2 has it"
ino1=$(stat -c %i "$C1/b1")
ino3=$(stat -c %i "$(D 3)/containers/b1")
is "$ino1" "$ino3" "b1's inode number is the same on h1 and h3"
is "$(errno_of "$C1/b1/ctl" start)" "" "a command to another host's object: made by its host (cluster/ccmd.h)"
is "$(errno_of "$C1/b1/config/memory" 512M)" EBUSY "a config write too: refused by h2, b1 runs (etcd_remote.sh)"
rmdir_errno() { python3 -c 'import errno, os, sys
try: os.rmdir(sys.argv[1])
except OSError as e:
    print("EOPNOTSUPP" if e.errno == errno.EOPNOTSUPP else errno.errorcode[e.errno])' "$1"; }
is "$(rmdir_errno "$C1/b1")" EBUSY "rmdir of it too: a flush, refused while b1 runs"
ok "in words, in the namespace's log" grep -q "rmdir b1: .*b1 is [A-Z]*: flush needs it" "$(D 1)/log"

# a namespace made on h1 only: every host lists it, its objects, hosts and info
mkdir "$(mnt 1)/ns/lab"
"$XWRITE" "$(mnt 1)/ns/lab/ctl" "launch container l1"
L2=$(mnt 2)/ns/lab
ok "h2's ns/ lists lab, made on h1" wait_for 5 test -d "$L2"
ok "its containers/ has h1's l1" wait_for 5 test -d "$L2/containers/l1"
is "$(cat "$L2/hosts")" h1 "its hosts: h1"
is "$(awk -F'\t' '$2 == "l1" {print $5}' "$L2/info")" h1 "its info lists l1 on h1"
like "$(cat "$L2/containers/l1/state")" '^BUILDING since ' "l1's state"
is "$(stat -c %a "$L2")" "$(stat -c %a "$(mnt 1)/ns/lab")" "lab's mode as on h1"
like "$(mkdir "$L2/containers/x" 2>&1)" "Operation not supported" "mkdir in it on h2: EOPNOTSUPP"
ok "... and nothing made" test ! -e "$(mnt 1)/ns/lab/containers/x"

ok "b1 started on h2: RUNNING on h1" wait_for 5 state_like 1 b1 '^RUNNING since '
ok "and in h3's info" wait_for 3 row_is 3 b1 state RUNNING

# h3 cut off: its objects UNKNOWN on the others, since it went down, still listed
etcd_cut 3
t0=$(now_ms)
ok "h3 cut: c1 UNKNOWN on h1, since when h3 went down" \
	wait_for 5 state_like 1 c1 '^UNKNOWN since [0-9T:-]+Z: h3 is down$'
echo "# after $(($(now_ms) - t0)) ms"
ok "and on h2" wait_for 2 state_like 2 c1 '^UNKNOWN since [0-9T:-]+Z: h3 is down$'
since=$(sed -n 's/^UNKNOWN since \([^:]*:[^:]*:[^:]*\):.*/\1/p' "$C1/c1/state")
ok "h1's info: c1's row UNKNOWN" row_is 1 c1 state UNKNOWN
is "$(col 1 c1 since)" "$since" "with since when h3 went down"
ok "still listed in containers/" test -d "$C1/c1"
ok "its config still readable" test -n "$(cat "$C1/c1/config/memory")"
is "$(errno_of "$C1/c1/ctl" start)" EHOSTDOWN "a command to it: EHOSTDOWN"
ok "on h3, cut, h2's b1 is UNKNOWN since the cut" \
	wait_for 5 state_like 3 b1 '^UNKNOWN since [0-9T:-]+Z: this host is cut from etcd$'
ok "h3's own c1 keeps its state" state_like 3 c1 '^BUILDING'

# a restart of h1's vmfs while h3 is away: the same UNKNOWN, the same since
etcd_member_stop 1
etcd_member_start 1 || { echo "not ok - h1 restarts"; exit 1; }
ok "h1 restarted: c1 UNKNOWN with the same since" \
	wait_for 5 state_like 1 c1 "^UNKNOWN since $since: h3 is down$"
ok "and b1 RUNNING" wait_for 3 state_like 1 b1 '^RUNNING since '

etcd_restore 3
ok "h3 back: c1 BUILDING on h1, its true state" wait_for 10 state_like 1 c1 '^BUILDING since '
ok "and on h2" wait_for 3 row_is 2 c1 state BUILDING
ok "h3 sees b1 RUNNING again" wait_for 5 state_like 3 b1 '^RUNNING since '
done_testing
