#!/usr/bin/env bash
# `vmfs cluster-setup` (etcd/setup.h): the etcdctl commands it prints make each host's etcd
# user and role, and with etcd's auth on, two hosts that authenticate as those users join,
# see each other, write P/down of the other when it is cut, and cannot write its records.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
need_root

out=$("$VMFS" cluster-setup --cluster a/b h1 2>&1)
ok "cluster-setup refuses a cluster that is not a name" test $? -eq 2
like "$out" '"a/b" contains' "and says why"

etcd_one
ctl() { ETCDCTL_API=3 etcdctl --endpoints "$U" --command-timeout 5s "$@"; }
ctl user add root --new-user-password rootpw >/dev/null 2>&1
ctl user grant-role root root >/dev/null 2>&1
ctl --user root:rootpw auth enable >/dev/null 2>&1
like "$(ctl put /x y 2>&1)" 'user name is empty|permission denied' "etcd's auth is on: a put without a user is refused"
for i in 1 2; do
	mkdir -p "$T/h$i"
	echo "secret-$i" >"$T/h$i/pw"
	chmod 600 "$T/h$i/pw"
	"$VMFS" cluster-setup --cluster "$ETCD_CLUSTER" --password-file "$T/h$i/pw" "h$i" >"$T/h$i/setup"
	ok "the commands for h$i run as etcd's root" env ETCDCTL_API=3 ETCDCTL_ENDPOINTS="$U" \
		ETCDCTL_USER=root:rootpw sh -e "$T/h$i/setup"
done
like "$(ctl --user root:rootpw role get "vmfs-$ETCD_CLUSTER-h1")" "/vmfs/$ETCD_CLUSTER/h/h1/" "h1's role has its own prefix"

# each member's vmfs.conf: the password file beside it (a relative path), the user its name
etcd_members 2 "$U" "p9 = 0.0.0.0:5640" "etcd_password_file = pw" || { echo "not ok - members start"; exit 1; }
up() { grep -q '^up since' "$T/h$1/mnt/hosts/h$2/state" 2>/dev/null; }
both_up() { up 1 1 && up 1 2 && up 2 1 && up 2 2; }
ok "both hosts join as their etcd users and see each other up" wait_for 10 both_up
ok "no permission was refused (h1's host/log)" sh -c '! grep -qi "permission denied" "$0"' "$T/h1/mnt/host/log"
like "$(cat "$T/h1/mnt/host/log")" "etcd: no TLS client certificate: whoever reaches etcd" \
	"host/log says what is missing: TLS (a password alone is sent in the clear)"

etcd_cut 2
ok "h2 cut: h1 writes P/down/h2 (its role may), down (lapsed)" wait_for 6 \
	grep -q '^down since .* (lapsed)$' "$T/h1/mnt/hosts/h2/state"
etcd_restore 2
ok "h2 back: up on h1" wait_for 8 up 1 2

out=$(ctl --user h1:secret-1 put "/vmfs/$ETCD_CLUSTER/h/h2/alive" forged 2>&1)
like "$out" 'permission denied' "h1's user cannot write h2's records"
out=$(ctl --user h1:secret-1 put "/vmfs/other/h/h1/id" x 2>&1)
like "$out" 'permission denied' "nor another cluster's"

etcd_member_stop 1
ok "h1 stopped: down (stopped) on h2 at once" wait_for 1 \
	grep -q '^down since .* (stopped)$' "$T/h2/mnt/hosts/h1/state"
done_testing
