#!/usr/bin/env bash
# Limits and hostile bytes: values over their size limit, NUL and control bytes in values,
# a refused write that poisons the rest of its descriptor, names and requests that try to
# forge log lines, a ctl write over the command limit, and a long flush that never stalls
# the tree.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip_all "needs python3"
vmfs_start || exit 1
D=$M/ns/default
mkdir "$D/containers/c1" "$D/vms/v1"
C=$D/containers/c1

# writes WRITES... on one descriptor (open O_WRONLY|O_TRUNC, as a shell's >); prints the
# outcome of each ("ok" or the errno name); escapes as in Python bytes literals
writes() {
	python3 - "$@" <<'EOF'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
out = []
for w in sys.argv[2:]:
    try:
        os.write(fd, w.encode().decode('unicode_escape').encode('latin-1'))
        out.append("ok")
    except OSError as e:
        out.append(errno.errorcode[e.errno])
os.close(fd)
print(" ".join(out))
EOF
}
# every line of a log starts with a timestamp: nothing written into it made a line of its own
stamped() { ! grep -Evq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z ' "$1"; }

# sizes
big=$(head -c 5000 /dev/zero | tr '\0' x)
is "$(writes "$C/config/init" "/bin/$big")" "EFBIG" "a 5000-byte init: EFBIG"
like "$(tail -1 "$C/log")" "error: config/init: the value is 5005 bytes long: this file holds at most 4096" \
	"the log says how long it was and the limit"
is "$(cat "$C/config/init")" "/init" "init kept its value"
is "$(head -c 1048576 /dev/zero | tr '\0' y >"$C/config/init" 2>&1; echo $?)" 1 "a 1 MiB value through the shell is refused"
is "$(cat "$C/config/init")" "/init" "and changes nothing"
is "$(writes "$D/config/append" "$big")" "EFBIG" "the namespace template's values have the limit too"
is "$(writes "$D/hosts" "$big")" "EFBIG" "so has ns/NS/hosts"
is "$(writes "$D/vms/v1/config/qemu-append" "$(head -c 10000 /dev/zero | tr '\0' ' ')-S")" "ok" \
	"qemu-append takes up to 16 KiB"
echo >"$D/vms/v1/config/qemu-append"

# NUL and control bytes
echo 2G >"$C/config/memory"
is "$(writes "$C/config/memory" '1G\x00garbage')" "EINVAL" "a NUL inside a value: EINVAL"
like "$(tail -1 "$C/log")" "config/memory: the value holds the control byte '\\\\\\\\x00' at byte 3" \
	"the log names the byte and where"
is "$(writes "$C/config/memory" '1G\x1b[2J')" "EINVAL" "an escape code inside a value: EINVAL"
is "$(writes "$C/config/memory" '1G\n\n')" "EINVAL" "a second newline: EINVAL"
is "$(writes "$C/config/memory" '1G\r\n')" "EINVAL" "a carriage return: EINVAL"
is "$(cat "$C/config/memory")" "2G" "memory kept 2G through all of them"
is "$(writes "$C/config/memory" '3G\n')" "ok" "one trailing newline is fine"
is "$(cat "$C/config/memory")" "3G" "and sets the value"

# a refused write poisons the rest of its descriptor
echo 2G >"$C/config/memory"
is "$(writes "$C/config/memory" 'lots' '\n')" "EINVAL EINVAL" "a refused write, then a lone newline: both refused"
is "$(cat "$C/config/memory")" "2G" "memory is still 2G (not reset to the default)"
like "$(tail -1 "$C/log")" "an earlier write on this descriptor was refused \\(.*lots.*\\): the writes after it are refused too" \
	"the later write says why"
is "$(writes "$C/config/memory" '1G\x00x' '512M\n')" "EINVAL EINVAL" "a NUL, then a good value on the same descriptor: refused"
is "$(cat "$C/config/memory")" "2G" "still 2G"
is "$(writes "$C/config/memory" '\n')" "ok" "a lone newline on a fresh descriptor still resets"
is "$(cat "$C/config/memory")" "256M" "to the default"

# names and requests cannot forge log lines
forged='x
2026-01-01T00:00:00Z namespace default removed by root'
before=$(wc -l <"$D/log")
mkdir "$D/vms/$forged" 2>/dev/null
is "$?" 1 "mkdir of a name with a newline is refused"
is "$(($(wc -l <"$D/log") - before))" 1 "the refusal is one line of the namespace log"
ok "no forged line in it" eval "! grep -q '^2026-01-01T00:00:00Z' '$D/log'"
ok "every line of it starts with a timestamp" stamped "$D/log"
like "$(grep -F 'vms/x\n2026' "$D/log")" "error: mkdir vms/x\\\\n2026-01-01T00:00:00Z namespace" "the newline is escaped as \\n"
mkdir "$M/ns/$(printf 'e\033[31mred')" 2>/dev/null
ok "an escape code in a namespace name is not in host/log raw" eval "! grep -q \$'\\033' '$M/host/log'"
like "$(grep -F 'mkdir ns/e' "$M/host/log" | tail -1)" 'mkdir ns/e\\x1b\[31mred' "it is written \\x1b"
head -c 3000 /dev/urandom >"$T/random"
cat "$T/random" >"$M/hosts/ctl" 2>/dev/null
ok "random bytes written to hosts/ctl: every line of host/log is stamped" stamped "$M/host/log"
ok "and no control byte but the newlines is in host/log" eval "! tr -d '\\n' <'$M/host/log' | grep -qaP '[\\x00-\\x1f\\x7f]'"

# a ctl write over the command limit
seq 1 1001 | sed 's/^/launch container l/' >"$T/many"
is "$("$XWRITE" -r "$D/ctl" "$(cat "$T/many")" | head -c 200)" \
	"error: the write holds 1001 commands: a write to ctl takes at most 1000 (split it, or name many objects at once with a range such as web[1-5000])" \
	"1001 commands in one write: refused with the limit"
like "$(tail -1 "$D/log")" "error: ctl: the write holds 1001 commands" "in the log"
is "$(ls "$D/containers" | wc -l)" 1 "and nothing was launched"

done_testing
