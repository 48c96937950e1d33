#!/usr/bin/env bash
# Every refused write: a fitting errno, the reason in words in the object's and the
# namespace's log, "error: ..." read back on the same descriptor, and nothing changed.
. "$(dirname "$0")/lib.sh"
vmfs_start || exit 1
D=$M/ns/default
mkdir "$D/vms/v1"

# the transaction file: answers on the same descriptor
is "$("$XWRITE" -r "$D/ctl" "launch kvm w1")" "ok: launched 1" "a ctl answers ok on the same descriptor"
like "$("$XWRITE" -r "$D/ctl" "launch kvm web[5-1]")" "^error: .*runs backwards" "a refused ctl command answers error: why"
like "$(tail -1 "$D/log")" "error: ctl: \"launch kvm web\[5-1\]\": .*runs backwards" "and the namespace log says why"

check_refused() { # check_refused FILE TEXT ERRNO REGEX DESC
	local before_ns before_obj
	before_ns=$(wc -l <"$D/log")
	is "$(errno_of "$1" "$2")" "$3" "$5: $3"
	like "$(tail -n +$((before_ns + 1)) "$D/log")" "$4" "$5: reason in the namespace log"
}
check_refused "$D/ctl" "frobnicate all" EINVAL "unknown command \"frobnicate\"" "an unknown command"
check_refused "$D/ctl" "launch kvm" EINVAL "usage: launch" "a command missing arguments"
check_refused "$D/ctl" "launch kvm 'unterminated" EINVAL "quote" "an unterminated quote"
check_refused "$D/ctl" "launch kvm -bad" EINVAL "starts with a letter or a digit" "a bad name"
check_refused "$D/ctl" "launch kvm $(printf 'a%.0s' {1..64})" EINVAL "63" "a 64-byte name"
check_refused "$D/ctl" "launch kvm v1" EEXIST "v1 exists already" "a name taken"
check_refused "$D/ctl" "start nosuch" ENOENT "no VM or container named nosuch" "an unknown target"
check_refused "$D/ctl" "pause v1" EBUSY "v1 is BUILDING: pause needs it RUNNING" "a verb in the wrong state"
check_refused "$D/vms/v1/ctl" "resume" EBUSY "resume needs it PAUSED" "an object verb in the wrong state"
check_refused "$D/vms/v1/config/memory" "lots" EINVAL "config/memory: .*lots" "a bad size"
check_refused "$D/vms/v1/config/vcpus" "-3" EINVAL "config/vcpus" "a negative count"
check_refused "$D/config/machine" "pc q35" EINVAL "config/machine" "a value with a blank where one word goes"
check_refused "$D/vlans/range" "200-100" EINVAL "vlans/range" "a backwards VLAN range"
check_refused "$D/hosts" "elsewhere" ENOENT "elsewhere is not a known host" "an unknown host"
like "$(cat "$D/vms/v1/log")" "error: config/memory: .*lots" "the object's own log has its errors"
like "$(awk '$1=="error"' "$D/vms/v1/info")" "^error .*vcpus|^error .*-3" "info shows the last error"
is "$(cat "$D/vms/v1/config/memory")" "256M" "nothing changed: memory"
is "$(cat "$D/vlans/range")" "101-4094" "nothing changed: vlans/range"
is "$(ls "$D/vms" | tr '\n' ' ')" "v1 w1 " "nothing changed: no half-made objects"
is "$(errno_of "$D/info" "x")" "EACCES" "info is read-only"
timeout 0.5 cat "$D/vms/v1/console" >/dev/null 2>&1
is "$?" "124" "reading the console of a BUILDING object waits for output (no error)"
is "$(errno_of "$D/vms/v1/console" "ls")" "EBUSY" "typing into a console with nothing running is EBUSY"
like "$(tail -1 "$D/vms/v1/log")" "console: nothing is running" "and says why"
is "$(errno_of "$M/hosts/ctl" "add h2 tmp/x")" "EINVAL" "a member that is none of ssh://, 9p://, 9p+ssh:// and an absolute path: EINVAL"
is "$(errno_of "$M/hosts/ctl" "add h2 ssh://root@10.0.0.2")" "EINVAL" "an ssh:// member without a path: EINVAL"
like "$(tail -1 "$M/host/log")" "is not ssh://USER@HOST/PATH \\(the path of the member's mount point is missing\\)" "saying what is missing"
is "$(errno_of "$M/hosts/ctl" "add h2 tmp/x")" "EINVAL" "again a relative path"
like "$(tail -1 "$M/host/log")" "ctl: \"add h2 tmp/x\": \"tmp/x\" is none of ssh://USER@HOST/PATH, 9p://HOST\\[:PORT\\], 9p\\+ssh://USER@HOST\\[:PORT\\] and an absolute path" "in host/log"
like "$(cat "$D/vms/v1/screenshot.png" 2>&1)" "busy" "screenshot of a VM that is not running: EBUSY"
like "$(tail -1 "$D/vms/v1/log")" "screenshot.png: no screen: v1 is not running" "and says why"

# a reason is never cut: a start refused for a 2600-byte root filesystem path names it whole
# in the object's log (a 1024-byte line cut it before)
long=$T/long$(printf '/%0200d' $(seq 1 13))
mkdir -p "$(dirname "$long")" && : >"$long" # a file, not a directory
mkdir "$D/containers/longfs"
printf '%s\n' "$long" >"$D/containers/longfs/config/filesystem"
is "$(cat "$D/containers/longfs/config/filesystem")" "$long" "a 2600-byte path is a valid config/filesystem"
is "$(errno_of "$D/containers/longfs/ctl" "start")" "ENOENT" "a start with a root filesystem that is a file: ENOENT"
is "$(grep -cF -- "-> ERROR: config/filesystem: $long is not a directory (Not a directory); ./setup" "$D/containers/longfs/log")" "1" \
	"the object's log has the whole reason, the whole path in it"
like "$(awk '$1=="exit"' "$D/containers/longfs/info")" "^exit error: config/filesystem: .*"$'\xe2\x80\xa6'"\\(cut\\)$" "info's exit line has the start of it, cut, and says so"
rmdir "$D/containers/longfs"

vmfs_stop
done_testing
