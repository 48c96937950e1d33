#!/usr/bin/env bash
# Membership of a cluster on etcd (etcd/member.h, docs/cluster-design.md "Membership"): five
# hosts, each a vmfs in a network namespace of its own, on three etcd nodes. Each lists every
# host in hosts/ with its state from the records (nobody probes); a host cut off is down on
# the others within 3 s and back by itself; a clean stop is "stopped" at once; the etcd leader
# killed downs nobody; a second machine of a taken name is refused; a restarted vmfs keeps the
# others' "down since".
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root

state_of() { cat "$(mnt "$1")/hosts/$2/state" 2>/dev/null; } # state_of I H: H as host I sees it
now_ms() { date +%s%3N; }
# every host in $2 ("h1 h2") is "up since" on host I
sees_up() {
	local h
	for h in $2; do state_of "$1" "$h" | grep -q '^up since [0-9TZ:-]*, run [0-9]*$' || return 1; done
}
sees() { state_of "$1" "$2" | grep -Eq "$3"; } # sees I H REGEX
all_see() { # all_see "I..." H REGEX: on every host I
	local i
	for i in $1; do sees "$i" "$2" "$3" || return 1; done
}
all_see_up() { # all_see_up "I..." "H...": every H up on every I
	local i
	for i in $1; do sees_up "$i" "$2" || return 1; done
}

etcd_net
etcd_cluster3
# shellcheck disable=SC2154 # set by etcd_cluster3
URLS=$ETCD_URLS
etcd_members 5 "$URLS" "p9 = 0.0.0.0:5640" || { echo "not ok 1 - five members start"; exit 1; }
ALL="h1 h2 h3 h4 h5"

t0=$(now_ms)
ok "5 members join: each sees all 5 up" wait_for 10 all_see_up "1 2 3 4 5" "$ALL"
echo "# all five up on every host after $(($(now_ms) - t0)) ms"
for i in 1 2 3 4 5; do
	# shellcheck disable=SC2012 # names of vmfs's own: no blanks
	is "$(ls "$(mnt "$i")/hosts" | tr '\n' ' ')" "ctl discovered $ALL " "h$i's hosts/ lists the five hosts, itself too"
done
info=$(cat "$(mnt 1)/hosts/h2/info")
like "$info" "addr $ETCD_NET\\.12" "h2's info on h1 has its cluster_addr, from its alive record"
like "$info" "p9 $ETCD_NET\\.12:5640" "and its 9P door at that address"
like "$(ETCDCTL_API=3 etcdctl --endpoints "$URLS" get "/vmfs/$ETCD_CLUSTER/h/h2/id" --print-value-only)" \
	'^v=1' "P/h/h2/id holds h2's claim"
# shellcheck disable=SC2153 # set by etcd_members
ok "STATE/cluster/uuid is 0600" test "$(stat -c %a "$ETCD_STATE_2/cluster/uuid")" = 600
is "$(errno_of "$(mnt 1)/hosts/ctl" 'add h9 9p://10.0.0.9:564')" EPERM "hosts/ctl add is refused in cluster mode"
like "$(cat "$(mnt 1)/host/log")" 'hosts join it by their own vmfs.conf' "in words, in host/log"
like "$(cat "$(mnt 1)/host/log")" "etcd: no client certificate, no password: whoever reaches etcd can write cluster $ETCD_CLUSTER's keys" \
	"host/log says the cluster is open to anyone who reaches etcd"

# h5 cut from the network: etcd lets its lease lapse, the first host that sees it writes down
etcd_cut 5
t0=$(now_ms)
ok "h5 cut: down (lapsed) on h1" wait_for 6 sees 1 h5 '^down since .* \(lapsed\)$'
ms=$(($(now_ms) - t0))
echo "# h5 was down on h1 $ms ms after its link was cut"
ok "... within 3 s ($ms ms)" test "$ms" -le 3000
ok "and on h2, h3 and h4" wait_for 1 all_see "2 3 4" h5 '^down since .* \(lapsed\)$'
ok "h5 itself says it is cut from etcd" wait_for 3 sees 5 h5 '^cut from etcd since '
ok "and shows the others UNKNOWN" sees 5 h1 '^UNKNOWN since .*: this host is cut from etcd'
etcd_restore 5
ok "link back: h5 is up again on every host, by itself" wait_for 8 all_see_up "1 2 3 4 5" h5
ok "and sees the others up" wait_for 3 sees_up 5 "$ALL"
like "$(cat "$(mnt 1)/host/log")" "etcd: h5 is down since .* \\(lapsed, by h[1-4]\\)" "h1's host/log says h5 went down and who saw it"
is "$(ETCDCTL_API=3 etcdctl --endpoints "$URLS" get "/vmfs/$ETCD_CLUSTER/down/h5" --print-value-only)" "" \
	"h5's rejoin deleted P/down/h5"
like "$(cat "$(mnt 5)/host/log")" 'etcd: resync at revision [0-9]+: [0-9]+ keys, [0-9]+ vanished' \
	"h5 read the cluster's keys again after its cut"

# h4's vmfs stopped by SIGSTOP (a stalled host): down as well; when it runs again its next
# renewal finds the lease gone and it joins again by itself
kill -STOP "$ETCD_PID_4"
t0=$(now_ms)
ok "h4 stalled: down (lapsed) on h1" wait_for 6 sees 1 h4 '^down since .* \(lapsed\)$'
ms=$(($(now_ms) - t0))
echo "# h4 was down on h1 $ms ms after its vmfs was stopped"
ok "... within 3 s ($ms ms)" test "$ms" -le 3000
kill -CONT "$ETCD_PID_4"
ok "h4 runs again: up on h1 by itself" wait_for 5 sees_up 1 h4
like "$(cat "$(mnt 4)/host/log")" 'etcd: lease [0-9]+ lapsed \(not renewed in time\): .*/h/h4/alive is gone; joining again' \
	"h4's host/log says its lease lapsed and it joined again"

# a clean stop: down at once, and why
etcd_member_stop 3
t0=$(now_ms)
ok "h3 stopped cleanly: down (stopped) on h1 at once" wait_for 1 sees 1 h3 '^down since .* \(stopped\)$'
echo "# h3 was down (stopped) on h1 $(($(now_ms) - t0)) ms after its vmfs ended"
h3_down=$(state_of 1 h3)

# the etcd leader killed: a new one keeps every lease; nobody goes down
for i in 1 2 4 5; do printf -v "LOGLINES_$i" %s "$(wc -l <"$(mnt "$i")/host/log")"; done
leader=$(etcd_leader)
ok "the etcd leader is known ($leader)" test -n "$leader"
etcd_kill "$leader"
sleep 4 # more than the TTL and an election
# (during the election a host is cut from etcd for a moment and reads the records again after:
# on a loaded machine that may take a few seconds more; that no lease went is checked below)
ok "etcd's leader killed: h1, h2, h4, h5 still up on each of them" wait_for 10 all_see_up "1 2 4 5" "h1 h2 h4 h5"
new_lines() { local v=LOGLINES_$1; tail -n +"$((${!v} + 1))" "$(mnt "$1")/host/log"; }
for i in 1 2 4 5; do
	ok "h$i saw no lease go meanwhile" sh -c '! printf "%s" "$0" | grep -Eq "lease is gone|is down"' "$(new_lines "$i")"
done

# a second machine named h2 (its own state: another uuid) is refused, in words
# shellcheck disable=SC2034 # read by etcd_member_start
ETCD_STATE_3=$T/h3/other-machine
etcd_member_start 3 h2 || exit 1
ok "a second machine named h2 says it is not a member" wait_for 3 sees 3 h2 '^not a member since .*: h2 is taken in cluster lab by another machine \(uuid [0-9a-f]{32}\)$'
like "$(cat "$(mnt 3)/host/log")" "etcd: not joining: h2 is taken in cluster $ETCD_CLUSTER by another machine \\(uuid $(cat "$ETCD_STATE_2/cluster/uuid")\\)" \
	"its host/log says whose the name is"
ok "the real h2 stays up on h1" sees_up 1 h2
etcd_member_stop 3

# a host named as a file of hosts/ joins, but is not listed over the file
# shellcheck disable=SC2034 # read by etcd_member_start
ETCD_STATE_3=$T/h3/ctl-machine
etcd_member_start 3 ctl || exit 1
ok "a host named ctl joins (h1's host/log)" wait_for 3 grep -q "etcd: ctl is up" "$(mnt 1)/host/log"
# shellcheck disable=SC2010 # names of vmfs's own: no blanks
is "$(ls "$(mnt 1)/hosts" | grep -c '^ctl$')" 1 "h1's hosts/ lists ctl once: the file"
ok "hosts/ctl is still the file" test -f "$(mnt 1)/hosts/ctl"
etcd_member_stop 3

# a restarted vmfs keeps what the others wrote: h3's down since, as it was
etcd_member_stop 1
etcd_member_start 1 || exit 1
same_state() { [ "$(state_of "$1" "$2")" = "$3" ]; }
ok "h1 restarted: it sees h3 down since the same time" wait_for 5 same_state 1 h3 "$h3_down"
ok "and the others up" wait_for 3 sees_up 1 "h1 h2 h4 h5"

# a lease that lapses while no vmfs runs: the first to start writes down "since at least"
etcd_member_stop 1
etcd_member_stop 2
etcd_member_stop 4
kill -KILL "$ETCD_PID_5"
sleep 3 # its lease lapses unseen
etcd_member_start 1 || exit 1
ok "h5 died while nobody watched: h1 at its start says down since at least" \
	wait_for 3 sees 1 h5 '^down since at least .* \(lapsed\)$'
ok "and the others stopped" all_see 1 "h2" '^down since .* \(stopped\)$'

# etcd unreachable: vmfs serves its tree all the same, says so once, and its hosts/ says why
printf '[vmfs]\netcd = http://127.0.0.1:1\ncluster_addr = 127.0.0.1\np9 = 127.0.0.1:%s\n' "$(free_port)" >"$T/none.conf"
vmfs_start --conf "$T/none.conf" || exit 1
for NAME in "$M"/hosts/*; do [ -d "$NAME" ] && break; done
NAME=${NAME##*/} # the name vmfs goes by: the one directory of its hosts/
ok "etcd unreachable: vmfs serves its tree" test -f "$M/version"
ok "host/log says it cannot join" wait_for 3 grep -q "etcd: cannot join: .*127.0.0.1:1" "$M/host/log"
ok "its own hosts/ row says it is cut from etcd" wait_for 4 sh -c 'grep -q "^cut from etcd since .*127.0.0.1:1" "$0"' "$M/hosts/$NAME/state"
is "$(grep -c 'etcd: cannot join' "$M/host/log")" 1 "said once, not at every try"
vmfs_stop

# a cluster made by a newer vmfs (a higher P/layout) is not joined, in words
is "$(ETCDCTL_API=3 etcdctl --endpoints "$URLS" get "/vmfs/$ETCD_CLUSTER/layout" --print-value-only)" \
	"$(printf 'v=1\nlayout=1')" "the first host wrote P/layout"
printf 'v=1\nlayout=2\n' | ETCDCTL_API=3 etcdctl --endpoints "$URLS" put /vmfs/newer/layout >/dev/null
printf '[vmfs]\netcd = %s\ncluster = newer\ncluster_addr = 127.0.0.1\np9 = 127.0.0.1:%s\n' "$URLS" "$(free_port)" >"$T/newer.conf"
vmfs_start --conf "$T/newer.conf" || exit 1
ok "a cluster of layout 2: not joined, and hosts/ says why" wait_for 3 sh -c \
	'grep -q "^not a member since .*: cluster newer has layout 2, this vmfs knows layout 1: a newer vmfs made it" "$0"' "$M/hosts/$NAME/state"
is "$(ETCDCTL_API=3 etcdctl --endpoints "$URLS" get --prefix /vmfs/newer/h/ --keys-only)" "" "and it wrote nothing there"
vmfs_stop

# a bad key: the start fails, in words
printf '[vmfs]\netcd = %s\n' "$URLS" >"$T/noaddr.conf"
out=$(timeout 20 "$VMFS" -f --state "$S" --conf "$T/noaddr.conf" "$M" 2>&1)
like "$out" 'etcd: cluster_addr is not set: the address other hosts of the cluster reach this one at' \
	"etcd without cluster_addr (nor a 9P door's address): vmfs does not start, and says why"
printf '[vmfs]\netcd = %s\ncluster_addr = 10.0.0.1\n' "$URLS" >"$T/nop9.conf"
out=$(timeout 20 "$VMFS" -f --state "$S" --conf "$T/nop9.conf" "$M" 2>&1)
like "$out" 'etcd: p9 is not set: a host of a cluster serves its 9P door to the other hosts' \
	"etcd without a 9P door: vmfs does not start, and says why"
printf '[vmfs]\netcd = %s\ncluster = no/slash\n' "$URLS" >"$T/bad.conf"
out=$(timeout 20 "$VMFS" -f --state "$S" --conf "$T/bad.conf" "$M" 2>&1)
like "$out" 'no/slash' "cluster = no/slash: vmfs does not start, and says why"
done_testing
