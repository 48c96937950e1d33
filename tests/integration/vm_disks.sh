#!/usr/bin/env bash
# VM disks under TCG: with snapshot true each VM writes to its own qcow2 overlay (the image
# stays as it was; the writes survive stop and start; flush removes them), commit turns a
# VM's disk into a new image that another VM boots with, disk figures come from QEMU, and
# bad disks are refused with the path.
. "$(dirname "$0")/lib.sh"
command -v qemu-img >/dev/null || { echo "not ok 1 - qemu-img is installed (./setup --deps: qemu-utils)"; exit 1; }
use_boot_image
qemu-img create -q -f qcow2 "$T/images/base.qcow2" 16M
truncate -s 8M "$T/images/raw.img"
vmfs_start --images "$T/images" || exit 1
D=$M/ns/default
V=$D/vms
EXTRA_CLEANUP='[ -e "$D/ctl" ] && echo "kill all" > "$D/ctl" 2>/dev/null; kill_ours'

field() { awk -v k="$2" '$1==k{$1=""; print substr($0,2)}' "$V/$1/info"; }
boots() { # boots VM: the default kernel and initrd with the disks in config/disk
	echo vmlinuz >"$V/$1/config/kernel" && echo initrd >"$V/$1/config/initrd"
}
run_in() { console_run "$V/$1" "$2" "$3"; } # run_in VM MARK CMD

mkdir "$V/d1"
boots d1
is "$(errno_of "$V/d1/config/disk" nosuch.qcow2)" "ENOENT" "a disk that does not exist is refused"
like "$(tail -1 "$V/d1/log")" "nosuch.qcow2" "with the path in the log"
ok "config/disk takes an image" "$XWRITE" "$V/d1/config/disk" base.qcow2
ok "start" "$XWRITE" "$V/d1/ctl" start
ok "boots to a shell" wait_for 60 console_has "$V/d1" "d1:/#"
ok "the guest writes its disk" run_in d1 "wrote-0" 'echo mark-d1-$((1+1)) | dd of=/dev/vda bs=512 count=1 conv=sync,fsync 2>/dev/null; echo wrote-$?'
ok "disk_written counts it (query-blockstats)" wait_for 5 sh -c "awk '\$1==\"disk_written\" && \$2>0' '$V/d1/info' | grep -q ."
like "$(field d1 disk_read)" "^[1-9][0-9]*$" "disk_read too"
ok "the image itself is untouched (the writes are in the overlay)" sh -c "! grep -aq mark-d1 '$T/images/base.qcow2'"
ok "the overlay is in the VM's state directory" test -f "$S/ns/default/vms/d1/disk0.qcow2"

# kept across stop and start
ok "kill" "$XWRITE" "$V/d1/ctl" kill
ok "start again" "$XWRITE" "$V/d1/ctl" start
ok "boots to a shell again" wait_for 60 console_has "$V/d1" "d1:/#"
ok "the writes survived stop and start" run_in d1 "got-mark-d1-2" 'echo got-$(head -c 9 /dev/vda)'

# commit, while it runs: a new image another VM boots with
ok "commit a running VM" "$XWRITE" "$V/d1/ctl" "commit saved.qcow2"
is "$(cat "$V/d1/state")" "RUNNING" "it runs on after the commit"
ok "images/saved.qcow2 appeared" test -f "$M/images/saved.qcow2"
ok "the log says so" grep -q "committed disk 0 to images/saved.qcow2" "$V/d1/log"
is "$(errno_of "$V/d1/ctl" "commit saved.qcow2")" "EEXIST" "commit never overwrites an image"
is "$(errno_of "$V/d1/ctl" "commit ../x")" "EINVAL" "an image name with a slash is refused"
mkdir "$V/d2"
boots d2
echo saved.qcow2 >"$V/d2/config/disk"
ok "a VM with the committed image starts" "$XWRITE" "$V/d2/ctl" start
ok "boots to a shell" wait_for 60 console_has "$V/d2" "d2:/#"
ok "and sees what the first VM wrote" run_in d2 "got-mark-d1-2" 'echo got-$(head -c 9 /dev/vda)'

# snapshot false: the VM writes the image itself
mkdir "$V/d3"
boots d3
echo raw.img >"$V/d3/config/disk"
echo false >"$V/d3/config/snapshot"
ok "a VM writing a raw image directly starts" "$XWRITE" "$V/d3/ctl" start
ok "boots to a shell" wait_for 60 console_has "$V/d3" "d3:/#"
ok "its write" run_in d3 "wrote-0" 'echo mark-d3 | dd of=/dev/vda bs=512 count=1 conv=sync,fsync 2>/dev/null; echo wrote-$?'
ok "lands in the image" grep -aq mark-d3 "$T/images/raw.img"
ok "no overlay for it" test ! -e "$S/ns/default/vms/d3/disk0.qcow2"
like "$(tr '\0' ' ' </proc/$(field d3 pid)/cmdline)" "-drive if=virtio,driver=raw,file.driver=file,file.filename=/dev/fdset/[0-9]+ " "QEMU is told the format (never left to guess)"
# QEMU (user vmfs) could not open the image by name: vmfs passes it open, for writing too
ok "QEMU holds the image open, given by vmfs" sh -c "ls -l /proc/$(field d3 pid)/fd | grep -q ' -> $T/images/raw.img$'"
like "$(for f in /proc/$(field d3 pid)/fd/*; do [ "$(readlink "$f")" = "$T/images/raw.img" ] && awk '$1=="flags:"{print $2}' "/proc/$(field d3 pid)/fdinfo/${f##*/}"; done | tr '\n' ' ')" "[0-7]*2 " \
	"one descriptor of it for writing (snapshot false)"

# snapshot off (any boolean spelling): the overlay goes, the VM opens its image
ok "kill d1" "$XWRITE" "$V/d1/ctl" kill
echo no >"$V/d1/config/snapshot"
ok "start d1 with snapshot no" "$XWRITE" "$V/d1/ctl" start
ok "its overlay is dropped" test ! -e "$S/ns/default/vms/d1/disk0.qcow2"
ok "the log says so" grep -q "disk 0: overlay dropped (snapshot is false now)" "$V/d1/log"
like "$(tr '\0' ' ' </proc/$(field d1 pid)/cmdline)" "-drive if=virtio,driver=qcow2,file.driver=file,file.filename=/dev/fdset/[0-9]+ " "QEMU opens the image itself (no backing layer)"
ok "the image, given by vmfs" sh -c "ls -l /proc/$(field d1 pid)/fd | grep -q ' -> $T/images/base.qcow2$'"

# a VM without a disk has nothing to commit
mkdir "$V/d4"
is "$(errno_of "$V/d4/ctl" "commit x")" "EINVAL" "commit of a VM without a disk is refused"
like "$(tail -1 "$V/d4/log")" "has no disk" "the log says why"

# a commit copies in the background: the write waits, vmfs does not
head -c 400M /dev/urandom >"$T/images/big.raw"
mkdir "$V/d5"
echo big.raw >"$V/d5/config/disk"
ok "start a VM with a 400 MiB disk" "$XWRITE" "$V/d5/ctl" start
copier() { # copier NAME: the qemu-img our vmfs runs to commit NAME (its child, holding NAME.part)
	local p
	for p in $(pgrep -P "$VMFS_PID" -x qemu-img); do
		ls -l "/proc/$p/fd" 2>/dev/null | grep -q " -> $T/images/$1\.part$" && echo "$p" && return 0
	done
	return 1
}
echo "commit big1" >"$V/d5/ctl" &
writer=$!
for i in $(seq 1000); do cp=$(copier big1) && break; sleep 0.005; done
ok "qemu-img copies" test -n "$cp"
is "$(stat -c %U "/proc/$cp")" "vmfs" "as QEMU's user (what it reads QEMU could have written)"
like "$(tr '\0' ' ' <"/proc/$cp/cmdline")" "^qemu-img convert -q -U json:\{\"driver\":\"qcow2\",\"file\":\{\"driver\":\"file\",\"filename\":\"/proc/self/fd/3\"\},\"backing\":\{\"driver\":\"raw\",\"file\":\{\"driver\":\"file\",\"filename\":\"/proc/self/fd/4\"\}\}\} -O qcow2 /proc/self/fd/5 $" \
	"on descriptors vmfs opened, every layer named to it"
kill -STOP $cp 2>/dev/null # hold the copy where it is
ok "while it copies, the writer waits" kill -0 $writer
is "$(cat "$V/d5/state")" "PAUSED" "the VM is paused for the copy (QEMU's STOP)"
is "$(errno_of "$D/ctl" "resume d5")" "EBUSY" "verbs through the namespace are refused during the copy"
ok "and say why" grep -q "d5 is being committed to an image" "$D/log"
"$XWRITE" "$V/d5/ctl" resume >/dev/null &
other=$!
sleep 0.5
ok "a write to the VM's own ctl waits for the copy (the kernel orders writes to a file)" kill -0 $other
ok "the rest of the tree answers" grep -qx RUNNING "$V/d1/state"
kill -CONT $cp 2>/dev/null
ok "the write returns when the copy ends" wait "$writer"
ok "and so does the one that waited" wait_for 5 sh -c "! kill -0 $other"
ok "images/big1 is there" test -f "$M/images/big1"
ok "the VM runs again" wait_for 5 grep -qx RUNNING "$V/d5/state"
ok "no part left" test ! -e "$T/images/big1.part"
echo "commit big2" >"$V/d5/ctl" 2>/dev/null &
writer=$!
for i in $(seq 1000); do cp=$(copier big2) && break; sleep 0.005; done
kill -STOP $cp 2>/dev/null
kill -INT $writer
ok "an interrupted writer goes away" wait_for 5 sh -c "! kill -0 $writer"
kill -CONT $cp 2>/dev/null
ok "the copy goes on and ends" wait_for 30 test -f "$M/images/big2"
ok "the log says so" wait_for 5 grep -q "committed disk 0 to images/big2" "$V/d5/log"
# vmfs killed during a commit: the next one ends the copy left running, removes its part and
# resumes the VM (run/commit said what to undo)
echo "commit big4" >"$V/d5/ctl" 2>/dev/null &
writer=$!
for i in $(seq 1000); do cp=$(copier big4) && break; sleep 0.005; done
kill -STOP $cp 2>/dev/null
ok "a copy under way" test -n "$cp" -a -e "$T/images/big4.part"
vmfs_kill9
wait $writer 2>/dev/null
vmfs_start --images "$T/images" || exit 1
ok "vmfs mounted again ends the copy left running" \
	wait_for 5 sh -c "! kill -0 $cp 2>/dev/null || grep -q '^State:.*Z' /proc/$cp/status"
ok "removes its part" test ! -e "$T/images/big4.part" -a ! -e "$T/images/big4"
ok "and the VM runs again" wait_for 5 grep -qx RUNNING "$V/d5/state"
ok "the log says so" grep -q "commit to images/big4 was cut short when vmfs was killed: its partial copy removed, the VM resumed" "$V/d5/log"
echo "commit big3" >"$V/d5/ctl" 2>/dev/null &
writer=$!
for i in $(seq 1000); do cp=$(copier big3) && break; sleep 0.005; done
kill -STOP $cp 2>/dev/null
ok "rmdir during a commit" rmdir "$V/d5"
ok "cancels it: the writer is told" sh -c "! wait $writer"
ok "no copy left running" sh -c "! kill -0 $cp 2>/dev/null"
ok "no partial image" test ! -e "$T/images/big3" -a ! -e "$T/images/big3.part"

# flush removes the overlays with the VMs
ok "kill and flush" sh -c "'$XWRITE' '$D/ctl' 'kill all' && '$XWRITE' '$D/ctl' 'flush all'"
ok "the overlays are gone" sh -c "! ls '$S'/ns/default/vms/*/disk0.qcow2"
ok "no QEMU left" wait_for 3 none_of_ours
ok "the images stay" test -f "$T/images/saved.qcow2" -a -f "$T/images/base.qcow2"
vmfs_stop
done_testing
