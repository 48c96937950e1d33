#!/usr/bin/env bash
# Membership by lease (etcd/member.h): with `etcd = URL` in vmfs.conf, vmfs holds
# /vmfs/hosts/NAME on a lease it keeps alive; a vmfs that stops removes it at once, one that
# cannot renew loses it within TTL + 1 s and joins again when it can; no etcd key: nothing new.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root
TRY=$ROOT/tests/tools/etcdtry
[ -x "$TRY" ] || { echo "not ok 1 - tests/tools/etcdtry is built (make)"; exit 1; }
try() { timeout 20 "$TRY" "$@" 2>&1; }

etcd_start one
# shellcheck disable=SC2154 # set by etcd_start
U=$ETCD_URL_one
P9PORT=$(free_port)
printf '[vmfs]\netcd = %s\np9 = 127.0.0.1:%s\n' "$U" "$P9PORT" >"$T/vmfs.conf"
vmfs_start --conf "$T/vmfs.conf" || exit 1
NAME=$(cat "$M/ns/default/hosts") # the name vmfs goes by (its host name, if it is a valid one)
K=/vmfs/hosts/$NAME
ok "vmfs joins: $K is in etcd" wait_for 3 sh -c '"$@" | grep -q "^$0="' "$K" "$TRY" "$U" get "$K"
got=$(try "$U" get "$K")
like "$got" "^$K=\\{\"host\":\"$NAME\",\"vmfs\":\"[0-9.]+\",\"since\":[0-9]+,\"p9\":\"9p://127.0.0.1:$P9PORT\"\\} " \
	"its value says which host and vmfs, since when, and its 9P door's URL"
like "$got" ' lease=[1-9][0-9]*$' "on a lease"
lease=${got##*lease=}
like "$(cat "$M/host/log")" "etcd: joined as $K, lease $lease \\(2 s, renewed every 500 ms\\)" "host/log says it joined"
sleep 3
like "$(try "$U" get "$K")" " lease=$lease\$" "3 s later (past the TTL), the same lease holds it: renewed"

# A vmfs that cannot renew (frozen: as a host cut off) loses the key: etcd removes it 2.5 s
# after the last renewal (the 2 s TTL, then its sweep of expired leases every 500 ms), and the
# last renewal was at most 500 ms before the freeze; the polls here add their own time.
kill -STOP "$VMFS_PID"
t0=$(date +%s%N)
ok "vmfs frozen: its key goes" wait_for 6 sh -c '"$@" | grep -qx absent' _ "$TRY" "$U" get "$K"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# the key went $ms ms after the freeze"
ok "... within 3.5 s of the freeze ($ms ms)" test "$ms" -le 3500
kill -CONT "$VMFS_PID"
ok "thawed: it joins again" wait_for 3 sh -c '"$@" | grep -q "^$0=.* lease=[1-9]"' "$K" "$TRY" "$U" get "$K"
like "$(cat "$M/host/log")" "etcd: lease $lease lapsed \\(not renewed in time\\): $K is gone; joining again" \
	"host/log says the lease lapsed and it joined again"
like "$(try "$U" claim "$K" other)" "^exists: $K=" "another host of the same name cannot claim the key"

vmfs_stop
is "$(try "$U" get "$K")" "absent" "vmfs stopped: its key is removed at once (the lease revoked)"

# a bad etcd key: the start fails, in words
printf '[vmfs]\netcd = ftp://127.0.0.1:1\n' >"$T/bad.conf"
out=$(timeout 20 "$VMFS" -f --state "$S" --conf "$T/bad.conf" "$M" 2>&1)
rc=$?
ok "etcd = ftp://...: vmfs does not start" test "$rc" -ne 0 -a "$rc" -ne 124
like "$out" 'etcd: endpoint ftp://127.0.0.1:1 is not http://HOST:PORT or https://HOST:PORT' "and says why"
printf '[vmfs]\netcd = %s\netcd_ca = %s\n' "$U" "$T/none.crt" >"$T/bad.conf"
out=$(timeout 20 "$VMFS" -f --state "$S" --conf "$T/bad.conf" "$M" 2>&1)
like "$out" "CA file $T/none.crt cannot be read" "a CA file that cannot be read: the start fails, saying so"

# etcd unreachable: vmfs runs all the same, says so once, and joins when etcd answers
etcd_stop_all
vmfs_start --conf "$T/vmfs.conf" || exit 1
ok "etcd down: vmfs serves its tree" test -f "$M/version"
ok "and host/log says it cannot join" wait_for 3 grep -q "etcd: cannot join: etcd /v3/lease/grant: no endpoint answered: $U" "$M/host/log"
sleep 1.5
is "$(grep -c 'etcd: cannot join' "$M/host/log")" 1 "once, not at every try"
vmfs_stop

# no etcd key: no line about etcd (in a state of its own: host/log outlives a restart)
S=$T/state-plain
vmfs_start || exit 1
ok "without an etcd key: host/log has no etcd line" sh -c '! grep -q "etcd:" "$1"' _ "$M/host/log"
vmfs_stop
done_testing
