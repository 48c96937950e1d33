#!/usr/bin/env bash
# Naming an image is no way round its mode (docs/security.md, "Who may do what"): vmfs opens a
# guest's images as root, so a value that names files of images/ (disk, cdrom, kernel, initrd,
# filesystem) is taken only from a writer who could open them through the mount (or, through
# the HTTP door, whose rules let them read them), and a guest of a namespace a user owns starts
# only on images that user may read, whatever was swapped in after the value was written.
# Principals: root; ns/lab's owner (uid 65534); web users with rules on ns/lab. No guest runs:
# every refusal comes before QEMU or the shim would.
. "$(dirname "$0")/lib.sh"
need_root
command -v setpriv >/dev/null || skip_all "needs setpriv (util-linux)"
command -v curl >/dev/null || { echo "not ok 1 - curl is installed (./setup --deps)"; exit 1; }
export LC_ALL=C
umask 022
chmod 755 "$T"
install -m 0755 "$XWRITE" "$T/xwrite"
NXWRITE=$T/xwrite
PASSWD=$ROOT/vmfs/vmfs-passwd
F=$T/web.passwd
owner() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
mkuser() { echo "$2" | "$PASSWD" -c 4 "$F" "$1" "${@:3}" >/dev/null; } # USER PASS ro|rw PATH
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
mkuser labrw rwpw rw /ns/lab/
mkuser pubrw pubpw rw /ns/lab/
mkuser pubrw pubpw ro /images/public.img
chmod 0600 "$F"

mkdir -p "$T/images/o" "$T/images/rootonly"
truncate -s 1M "$T/images/public.img"
printf 'SECRET-%s\n' "$$" >"$T/images/secret.img"
chmod 0600 "$T/images/secret.img"
chmod 0700 "$T/images/rootonly"
truncate -s 1M "$T/images/o/mine.img"
mkdir "$T/images/o/fs"
chown -R 65534:65534 "$T/images/o"
ln -s ../secret.img "$T/images/o/link"
web_vmfs_start -o allow_other --images "$T/images" --web-passwd "$F" || exit 1
mkdir "$M/ns/lab" && chown 65534:65534 "$M/ns/lab"
L=$M/ns/lab
ok "the owner makes its VM" owner mkdir "$L/vms/v"
ok "and its container" owner mkdir "$L/containers/c"

# --- at write time, by the writer's rights
for p in disk cdrom kernel initrd; do
	is "$(owner "$NXWRITE" "$L/vms/v/config/$p" secret.img)" "EACCES" "owner: $p=secret.img (root's, 0600): EACCES"
done
like "$(tail -1 "$L/vms/v/log")" "config/initrd: you may not use secret.img: uid 65534 may not read secret.img \(owner 0:0, mode 0600\)" "the log says whose file, which mode"
is "$(owner "$NXWRITE" "$L/vms/v/config/disk" "public.img o/link,ide")" "EACCES" "owner: a link of its own to secret.img: EACCES"
like "$(tail -1 "$L/vms/v/log")" "o/link is secret.img: uid 65534 may not read" "the log says where the link leads"
is "$(owner "$NXWRITE" "$L/config/disk" secret.img)" "EACCES" "owner: the namespace's template too"
is "$(owner "$NXWRITE" "$L/containers/c/config/filesystem" rootonly)" "EACCES" "owner: filesystem=rootonly (0700 root): EACCES"
like "$(tail -1 "$L/containers/c/log")" "may not list rootonly" "saying so"
is "$(cat "$L/vms/v/config/disk")" "" "nothing changed"
is "$(owner "$NXWRITE" "$L/vms/v/config/disk" "public.img o/mine.img,ide")" "" "owner: public.img and its own o/mine.img: accepted"
is "$(owner "$NXWRITE" "$L/containers/c/config/filesystem" o/fs)" "" "owner: its own o/fs: accepted"
is "$("$NXWRITE" "$M/ns/default/config/disk" secret.img)" "" "root names secret.img in its own namespace"
"$NXWRITE" "$M/ns/default/config/disk" ""

# --- at start, by the namespace's owner's rights: a swap after the write changes nothing
is "$(stat -c %a "$M/images")" 755 "images/ in the mount: 0755 (the store itself is 0700 on the host)"
ok "the owner makes a file of its own in images/o" owner sh -c "echo x >'$M/images/o/new.img'"
like "$(owner rm "$M/images/o/mine.img" 2>&1)" "busy" "o/mine.img is in use: the owner cannot remove it through the mount"
# the in-use check aside: o/mine.img replaced by a link to secret.img behind vmfs's back
rm "$T/images/o/mine.img"
ln -s ../secret.img "$T/images/o/mine.img"
is "$(owner "$NXWRITE" "$L/vms/v/ctl" start)" "EACCES" "the owner's start: EACCES"
like "$(grep 'may not use it' "$L/vms/v/log" | tail -1)" "secret.img: the namespace's owner may not use it: uid 65534 may not read secret.img" "the log says why"
ok "no QEMU ran" test ! -e "$S/ns/lab/vms/v/run/qemu.pid"
"$NXWRITE" "$L/vms/v/config/disk" secret.img
is "$(cat "$L/vms/v/config/disk")" "secret.img" "root may name secret.img in the owner's VM"
is "$("$NXWRITE" "$L/vms/v/ctl" start)" "EACCES" "but the guest is the owner's: its start is refused all the same"
"$NXWRITE" "$L/containers/c/config/filesystem" rootonly
is "$(owner "$NXWRITE" "$L/containers/c/ctl" start)" "EACCES" "a container of the owner's on rootonly (root's choice): refused at start"
like "$(grep 'config/filesystem' "$L/containers/c/log" | tail -1)" "the namespace's owner may not use it: uid 65534 may not list rootonly" "saying why"
ok "no shim ran" test ! -e "$S/ns/lab/containers/c/run/intent"

# --- through the door, by the web user's rules
"$NXWRITE" "$L/vms/v/config/disk" ""
is "$(code -u labrw:rwpw -X PUT --data-binary public.img "$U/ns/lab/vms/v/config/disk")" 403 "web rw on ns/lab alone: disk=public.img: 403 (no rule reads images/)"
like "$(tail -1 "$L/vms/v/log")" "public.img: no rule of yours lets you read /images/public.img" "the log says so"
is "$(code -u pubrw:pubpw -X PUT --data-binary public.img "$U/ns/lab/vms/v/config/disk")" 200 "a web user who may read images/public.img: 200"
is "$(cat "$L/vms/v/config/disk")" "public.img" "and it is set"
is "$(code -u pubrw:pubpw -X PUT --data-binary secret.img "$U/ns/lab/vms/v/config/disk")" 403 "the same user: secret.img: 403"
vmfs_stop
done_testing
