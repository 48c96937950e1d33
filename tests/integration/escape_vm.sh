#!/usr/bin/env bash
# Confined QEMU guests (issue 14): a disk whose backing chain leaves images/ and the VM's
# state directory is refused before anything opens it (backing file, symbolic link, data
# file, kernel); QEMU runs under its seccomp sandbox; VNC listens on no TCP port unless
# config/vnc-listen asks, and then asks for a password.
. "$(dirname "$0")/lib.sh"
command -v qemu-img >/dev/null || { echo "not ok 1 - qemu-img is installed (./setup --deps: qemu-utils)"; exit 1; }
use_boot_image
I=$T/images
O=$T/outside # a directory of the host's, outside the image store
mkdir -p "$O"
echo "secret of the host" >"$O/secret"
truncate -s 1M "$O/secret"
qemu-img create -q -f qcow2 "$O/disk.qcow2" 16M
qemu-img create -q -f qcow2 -u -F raw -b /etc/shadow "$I/shadow.qcow2" 16M
qemu-img create -q -f qcow2 -u -F raw -b "$O/secret" "$I/secret.qcow2" 16M
ln -s "$O/disk.qcow2" "$I/link.qcow2"
ln -s "$O/secret" "$I/secret.raw"
qemu-img create -q -f qcow2 -u -F raw -b secret.raw "$I/vialink.qcow2" 16M
qemu-img create -q -f qcow2 -u -F raw -b 'json:{"driver":"file","filename":"/etc/shadow"}' "$I/json.qcow2" 16M
qemu-img create -q -f qcow2 -o data_file="$O/secret" "$I/data.qcow2" 1M 2>/dev/null ||
	qemu-img create -q -f qcow2 -o data_file="$O/data.raw" "$I/data.qcow2" 1M
qemu-img create -q -f qcow2 "$I/base.qcow2" 16M
qemu-img create -q -f qcow2 -F qcow2 -b base.qcow2 "$I/top.qcow2" 16M
touch -a -d 2000-01-01 "$O/secret" "$O/disk.qcow2"
vmfs_start --images "$I" || exit 1
D=$M/ns/default
V=$D/vms
EXTRA_CLEANUP='[ -e "$D/ctl" ] && echo "kill all" > "$D/ctl" 2>/dev/null; kill_ours'
echo tcg >"$D/config/accel"
pid_of() { awk '$1=="pid"{print $2}' "$V/$1/info"; }

mkdir "$V/e"
echo vmlinuz >"$V/e/config/kernel" && echo initrd >"$V/e/config/initrd"
refused() { # refused DISK ERRNO WORDS DESC: start with config/disk DISK is refused
	echo "$1" >"$V/e/config/disk"
	is "$(errno_of "$V/e/ctl" start)" "$2" "$4: start refused ($2)"
	like "$(tail -1 "$V/e/log")" "$3" "$4: the log says why"
	is "$(cat "$V/e/state") $(pid_of e)" "ERROR -" "$4: no QEMU ran (state ERROR, no pid)"
}
refused shadow.qcow2 EACCES "disk 0: the backing chain of .*/shadow.qcow2: .*/etc/shadow is outside images/" \
	"a backing file /etc/shadow"
refused secret.qcow2 EACCES "outside images/" "a backing file elsewhere on the host"
refused link.qcow2 EACCES "link.qcow2 is $O/disk.qcow2, outside images/" "a symbolic link in images/ to a disk outside"
refused vialink.qcow2 EACCES "secret.raw is $O/secret, outside images/" "a backing file that is a link out of images/"
refused json.qcow2 EPERM "not a file" "a json: backing file"
refused data.qcow2 EACCES "the data file of .*outside images/" "a qcow2 whose external data file is outside"
refused "$O/disk.qcow2" EACCES "outside images/" "config/disk naming a file outside images/"
is "$(stat -c %X "$O/secret") $(stat -c %X "$O/disk.qcow2")" "946684800 946684800" "nothing read the files outside (atime unchanged)"
echo >"$V/e/config/disk"
echo "$O/secret" >"$V/e/config/kernel"
is "$(errno_of "$V/e/ctl" start)" "EACCES" "a kernel outside images/ is refused"
like "$(tail -1 "$V/e/log")" "config/kernel: .* outside images/" "the log says so"
echo vmlinuz >"$V/e/config/kernel"

mkdir "$V/g"
echo vmlinuz >"$V/g/config/kernel" && echo initrd >"$V/g/config/initrd"
echo top.qcow2 >"$V/g/config/disk"
ok "a chain inside images/ (top.qcow2 over base.qcow2, relative) starts" "$XWRITE" "$V/g/ctl" start
ok "it boots" wait_for 60 console_has "$V/g" "vmfs guest g is up"

# QEMU's seccomp sandbox
qp=$(pid_of g)
like "$(tr '\0' ' ' </proc/$qp/cmdline)" " -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny " \
	"QEMU runs with -sandbox, everything it can deny denied"
is "$(awk '$1=="Seccomp:"{print $2}' /proc/$qp/status)" "2" "its /proc status says Seccomp: 2 (a filter)"
ok "pause under the sandbox" "$XWRITE" "$V/g/ctl" pause
is "$(cat "$V/g/state")" "PAUSED" "PAUSED"
ok "resume" "$XWRITE" "$V/g/ctl" resume
ok "a screenshot under the sandbox" sh -c "head -c 8 '$V/g/screenshot.png' | grep -aq PNG"
ok "a commit under the sandbox (qemu-img runs outside QEMU)" "$XWRITE" "$V/g/ctl" "commit saved.qcow2"
ok "the committed image is there" test -s "$I/saved.qcow2"
is "$(cat "$V/g/state")" "RUNNING" "and the VM runs on"

ok "kill all" "$XWRITE" "$D/ctl" "kill all"
ok "no QEMU left" wait_for 5 none_of_ours
vmfs_stop
done_testing
