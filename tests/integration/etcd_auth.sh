#!/usr/bin/env bash
# etcd/client.c by user and password against a real etcd with RBAC made by etcdctl (user,
# role granted a prefix, auth enabled): what etcd lets a host's user write, and what it
# refuses, and the password file's checks. Driven through tests/tools/etcdtry; no vmfs mount.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/integration/etcd_lib.sh"
TRY=$ROOT/tests/tools/etcdtry
[ -x "$TRY" ] || { echo "not ok 1 - tests/tools/etcdtry is built (make)"; exit 1; }
try() { timeout 20 "$TRY" "$@" 2>&1; }
ctl() { ETCDCTL_API=3 etcdctl --endpoints "$1" "${@:2}" >>"$T/ctl.log" 2>&1; }
rbac() { # rbac URLS: root, user h1 and its role (readwrite on /vmfs/c/), auth enabled
	local made=no
	ctl "$1" user add root:rootpw --interactive=false && ctl "$1" user grant-role root root &&
		ctl "$1" user add h1:h1pw --interactive=false && ctl "$1" role add h1role &&
		ctl "$1" role grant-permission h1role --prefix=true readwrite /vmfs/c/ &&
		ctl "$1" user grant-role h1 h1role && ctl "$1" auth enable && made=yes
	ok "etcdctl made root, user h1 and its role (readwrite on /vmfs/c/), and enabled auth" test "$made" = yes
}

# shellcheck disable=SC2119 # no arguments for the nodes
etcd_cluster3
rbac "$ETCD_URLS"
printf 'h1pw\n' >"$T/pw"
chmod 600 "$T/pw"
A=(--user h1 --password-file "$T/pw")
is "$(try "${A[@]}" "$ETCD_URLS" auth)" "authenticated" "a user authenticates with its password"
like "$(try "${A[@]}" "$ETCD_URLS" put /vmfs/c/x 1)" '^revision [0-9]+$' "a user's put under its granted prefix"
like "$(try "${A[@]}" "$ETCD_URLS" get /vmfs/c/x)" '^/vmfs/c/x=1 ' "and its read"
like "$(try "${A[@]}" "$ETCD_URLS" put /vmfs/other 1)" 'gRPC code 7 \(PermissionDenied\): etcdserver: permission denied \[EACCES\]$' \
	"a put outside it: EACCES, in etcd's words"
like "$(try "$ETCD_URLS" get /vmfs/c/x)" 'etcdserver: user name is empty' "without a user: refused"
like "$(try "${A[@]}" "$ETCD_URLS" txn /vmfs/c/x value = 1 ok: put /vmfs/c/y 2 fail:)" '^succeeded ' "a txn under the prefix"
like "$(try "${A[@]}" "$ETCD_URLS" txn ok: put /vmfs/c/y 3 put /vmfs/no 1 fail:)" 'permission denied \[EACCES\]' "a txn touching a key outside it: refused whole"
like "$(try "${A[@]}" "$ETCD_URLS" get /vmfs/c/y)" '^/vmfs/c/y=2 ' "and nothing of it applied"
# the watch carries the token too
R=$(try "${A[@]}" "$ETCD_URLS" put /vmfs/c/w 0 | sed -n 's/^revision //p')
"$TRY" "${A[@]}" "$ETCD_URLS" watch /vmfs/c/w "$((R + 1))" 1 10000 >"$T/w" 2>&1 &
W=$!
try "${A[@]}" "$ETCD_URLS" put /vmfs/c/w 1 >/dev/null
wait "$W"
is "$(cat "$T/w")" "PUT /vmfs/c/w=1 rev=$((R + 1))" "a watch under the prefix, as the user"
like "$(try "${A[@]}" "$ETCD_URLS" watch /vmfs/ 0 1 5000 | head -1)" '^DOWN .*permission denied' "a watch of a wider prefix: refused, DOWN says why"

# --- endpoints ---
etcd_kill e1
# the two left elect a leader if e1 led (a request meanwhile waits for it: on a slow machine past
# the call's bound); what is tested is the client's move past the dead first endpoint
ok "the two left have a leader" etcd_elected
like "$(try "${A[@]}" "$ETCD_URLS" put /vmfs/c/z 1)" '^revision [0-9]+$' "the first node killed: authenticated on the next, the put applied"

# --- the password and its file ---
printf 'wrong\n' >"$T/bad"
chmod 600 "$T/bad"
like "$(try --user h1 --password-file "$T/bad" "$ETCD_URLS" auth)" \
	'authenticating as h1: .*etcdserver: authentication failed, invalid user ID or password \[EACCES\]$' \
	"a wrong password: said at authentication, EACCES"
like "$(try --user h1 --password-file "$T/bad" "$ETCD_URLS" get /vmfs/c/x)" \
	'authenticating as h1: .*etcdserver: authentication failed, invalid user ID or password \[EACCES\]$' \
	"a wrong password: EACCES, in etcd's words"
chmod 640 "$T/pw"
like "$(try "${A[@]}" "$ETCD_URLS" get /vmfs/c/x)" "password file $T/pw may be read or written by group or others \(mode 640\): chmod 600 it" \
	"a password file readable by its group: refused before any request"
chmod 604 "$T/pw"
like "$(try "${A[@]}" "$ETCD_URLS" get /vmfs/c/x)" 'by group or others \(mode 604\)' "or by others: refused"
chmod 600 "$T/pw"
ln -s "$T/pw" "$T/pwlink"
like "$(try --user h1 --password-file "$T/pwlink" "$ETCD_URLS" get /vmfs/c/x)" "password file $T/pwlink cannot be opened" "a symbolic link: refused"
: >"$T/empty"
chmod 600 "$T/empty"
like "$(try --user h1 --password-file "$T/empty" "$ETCD_URLS" get /vmfs/c/x)" 'has an empty first line' "an empty password file: refused"
host=$(hostname)
printf 'hostpw\n' >"$T/hostpw"
chmod 600 "$T/hostpw"
ctl "$ETCD_URLS" --user root:rootpw user add "$host:hostpw" --interactive=false
ctl "$ETCD_URLS" --user root:rootpw user grant-role "$host" h1role
like "$(try --password-file "$T/hostpw" "$ETCD_URLS" put /vmfs/c/host 1)" '^revision [0-9]+$' "a password file without a user: the host name is the user"
like "$(try --user h1 "$ETCD_URLS" get /vmfs/c/x)" 'user h1 needs a password file' "a user without a password file: refused"
like "$(try --user 'h 1' --password-file "$T/pw" "$ETCD_URLS" get /vmfs/c/x)" 'a user name of 1 to 256 characters without spaces' "a user name with a space: refused"

etcd_stop_all

# --- a token that lapses (one node: a cluster of etcd 3.4 keeps simple tokens longer) ---
etcd_start one --auth-token-ttl 2
# shellcheck disable=SC2154 # set by etcd_start
rbac "$ETCD_URL_one"
out=$(try "${A[@]}" "$ETCD_URL_one" twice 4000 put /vmfs/c/t v)
is "$(grep -cx 'revision [0-9]*' <<<"$out") of $(wc -l <<<"$out")" "2 of 2" "a request after the token lapsed (4 s idle, TTL 2 s): authenticated again, applied"
done_testing
