#!/usr/bin/env bash
# Unix permissions are the access control: a namespace has an owner and a mode (chown and
# chmod its directory), everything inside follows them, they survive a restart, and on an
# allow_other mount the kernel enforces them for every user (here: nobody, uid 65534).
. "$(dirname "$0")/lib.sh"
need_root
command -v setpriv >/dev/null || skip_all "needs setpriv (util-linux)"
export LC_ALL=C
umask 022
chmod 755 "$T" # mktemp made it 0700: nobody could not even reach the mount point

as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
mode() { stat -c %a "$1"; }
owner() { stat -c %u:%g "$1"; }
# why_not CMD...: the reason a command that fails gives ("Permission denied"), or "".
why_not() { "$@" 2>&1 >/dev/null | sed -n '1s/.*: //p'; }

vmfs_start -o allow_other || exit 1
opts=$(awk -v m="$M" '$2 == m {print $4}' /proc/mounts)
like "$opts" "(^|,)default_permissions(,|$)" "mounted with default_permissions: the kernel checks modes"
like "$opts" "(^|,)allow_other(,|$)" "mounted with allow_other: other users may enter"

# --- owner and mode of a namespace
mkdir "$M/ns/lab"
is "$(owner "$M/ns/lab")" "0:0" "mkdir ns/lab by root: owned by root"
is "$(mode "$M/ns/lab")" "755" "mkdir ns/lab with umask 022: mode 755"
(umask 077 && mkdir "$M/ns/private")
is "$(mode "$M/ns/private")" "700" "mkdir ns/private with umask 077: mode 700"

ok "chown 65534:65534 ns/lab" chown 65534:65534 "$M/ns/lab"
is "$(owner "$M/ns/lab")" "65534:65534" "chown is kept"
ok "chmod 0750 ns/lab" chmod 0750 "$M/ns/lab"
is "$(mode "$M/ns/lab")" "750" "chmod is kept"
is "$(owner "$M/ns/lab")" "65534:65534" "chmod leaves the owner alone"

# --- everything inside follows: owner of the namespace, mode = natural mode & ns mode
for f in ctl hosts config/memory vlans/range; do
	is "$(mode "$M/ns/lab/$f") $(owner "$M/ns/lab/$f")" "640 65534:65534" "ns/lab/$f: 0666 & 0750 = 640, the ns owner's"
done
for f in info top log; do
	is "$(mode "$M/ns/lab/$f") $(owner "$M/ns/lab/$f")" "440 65534:65534" "ns/lab/$f: 0444 & 0750 = 440, the ns owner's"
done
for d in config vms containers vlans; do
	is "$(mode "$M/ns/lab/$d") $(owner "$M/ns/lab/$d")" "750 65534:65534" "ns/lab/$d/: 750, the ns owner's"
done
is "$(why_not chmod 0600 "$M/ns/lab/ctl")" "Operation not permitted" "chmod of ns/lab/ctl: EPERM"
is "$(why_not chown 0:0 "$M/ns/lab/ctl")" "Operation not permitted" "chown of ns/lab/ctl: EPERM"
is "$(why_not chmod 0777 "$M/ns/lab/vms")" "Operation not permitted" "chmod of ns/lab/vms: EPERM"
is "$(mode "$M/ns/lab/ctl") $(owner "$M/ns/lab/ctl")" "640 65534:65534" "a refused chmod/chown changes nothing"
like "$(cat "$M/ns/lab/log")" "owners and modes are set on the namespace directory" "ns/lab/log says why"

# --- the owner uses its namespace
is "$(as_nobody "$XWRITE" "$M/ns/lab/ctl" 'launch container c1')" "" "nobody: launch container c1 in its ns/lab"
is "$(ls "$M/ns/lab/containers")" "c1" "nobody's launch made c1"
ok "nobody: mkdir ns/lab/vms/v1" as_nobody mkdir "$M/ns/lab/vms/v1"
is "$(ls "$M/ns/lab/vms")" "v1" "nobody's mkdir made v1"
is "$(mode "$M/ns/lab/vms/v1") $(owner "$M/ns/lab/vms/v1")" "750 65534:65534" "a VM's directory follows the ns"
is "$(mode "$M/ns/lab/vms/v1/ctl") $(owner "$M/ns/lab/vms/v1/ctl")" "640 65534:65534" "a VM's ctl follows the ns"
is "$(mode "$M/ns/lab/vms/v1/state")" "440" "a VM's state follows the ns"
is "$(mode "$M/ns/lab/vms/v1/config/kernel")" "640" "a VM's config file follows the ns"
is "$(as_nobody "$XWRITE" "$M/ns/lab/vms/v1/config/memory" 512M)" "" "nobody: sets its VM's memory"
is "$(cat "$M/ns/lab/vms/v1/config/memory")" "512M" "nobody's memory value is kept"
ok "nobody: chmod 0700 of its own namespace" as_nobody chmod 0700 "$M/ns/lab"
is "$(mode "$M/ns/lab")" "700" "the owner's chmod is kept"
is "$(why_not as_nobody chown 0 "$M/ns/lab")" "Operation not permitted" "nobody cannot give its namespace away (chown: EPERM)"
as_nobody chmod 0750 "$M/ns/lab"
is "$(why_not as_nobody rmdir "$M/ns/lab")" "Permission denied" "nobody cannot remove its namespace (ns/ is root's)"

# --- someone else's namespace: root's default, 0755
ok "nobody: reads ns/default/info (0444)" as_nobody cat "$M/ns/default/info"
like "$(as_nobody cat "$M/ns/default/info")" "^id	name	type" "nobody sees the info table"
is "$(as_nobody "$XWRITE" "$M/ns/default/ctl" 'launch container c1')" "EACCES" "nobody: writing ns/default/ctl is EACCES"
is "$(why_not as_nobody mkdir "$M/ns/default/vms/x")" "Permission denied" "nobody: mkdir ns/default/vms/x is EACCES"
is "$(as_nobody "$XWRITE" "$M/ns/default/config/memory" 1G)" "EACCES" "nobody: writing ns/default/config/memory is EACCES"
is "$(ls "$M/ns/default/vms")$(ls "$M/ns/default/containers")" "" "nobody's refused commands made nothing"
is "$(cat "$M/ns/default/config/memory")" "256M" "nobody's refused write changed nothing"
is "$(why_not as_nobody chmod 0777 "$M/ns/default")" "Operation not permitted" "nobody cannot chmod a namespace it does not own"
is "$(mode "$M/ns/default")" "755" "ns/default keeps its mode"
is "$(why_not as_nobody mkdir "$M/ns/x")" "Permission denied" "nobody cannot mkdir in ns/ (root's, 0755)"
ok "no ns/x was made" test ! -e "$M/ns/x"

# --- a closed namespace
mkdir "$M/ns/closed"
chmod 0700 "$M/ns/closed"
is "$(why_not as_nobody ls "$M/ns/closed")" "Permission denied" "nobody cannot ls a root ns with mode 0700"
is "$(why_not as_nobody cat "$M/ns/closed/info")" "Permission denied" "nobody cannot read inside it either"
is "$(as_nobody "$XWRITE" "$M/ns/closed/ctl" 'launch kvm v')" "EACCES" "nobody cannot write its ctl"

# --- owners and modes survive a restart
vmfs_stop
vmfs_start -o allow_other || exit 1
is "$(mode "$M/ns/lab") $(owner "$M/ns/lab")" "750 65534:65534" "after a restart: ns/lab is still 750 65534:65534"
is "$(mode "$M/ns/lab/ctl") $(owner "$M/ns/lab/ctl")" "640 65534:65534" "after a restart: ns/lab/ctl still follows"
is "$(mode "$M/ns/closed") $(owner "$M/ns/closed")" "700 0:0" "after a restart: ns/closed is still 700 root's"
is "$(mode "$M/ns/private")" "700" "after a restart: ns/private is still 700"
is "$(as_nobody "$XWRITE" "$M/ns/lab/ctl" 'launch container c2')" "" "after a restart: nobody still launches in ns/lab"
is "$(why_not as_nobody ls "$M/ns/closed")" "Permission denied" "after a restart: ns/closed is still closed to nobody"

vmfs_stop
is "$?" "0" "fusermount3 -u: vmfs exits 0"
done_testing
