#!/usr/bin/env bash
# State vmfs cannot read is never deleted: each kind of damage, made while vmfs is
# unmounted, is moved aside to damaged/ with a REASON, said in host/log and in the
# namespace's log, and everything else mounts. The name can then be made again.
. "$(dirname "$0")/lib.sh"
need_root
vmfs_start || exit 1
N=$M/ns
CT=$S/ns/default/containers
echo 'launch container c[01-12]' >"$N/default/ctl"
mkdir "$N/e1" "$N/g1"
chmod 0750 "$N/e1"
echo 1G >"$N/e1/config/memory"
echo 'launch container e[1-3]' >"$N/e1/ctl"
echo 'launch container g[1-2]' >"$N/g1/ctl"
want_default=$(ls "$N/default/containers" | tr '\n' ' ')
vmfs_stop || exit 1
mkdir "$T/bytes"

same_tree() { # same_tree A B: the same names, types, link targets and bytes
	[ "$(cd "$1" && find . -printf '%p %y %l\n' | sort)" = "$(cd "$2" && find . -printf '%p %y %l\n' | sort)" ] || return 1
	local f
	for f in $(cd "$1" && find . -type f); do cmp "$1/$f" "$2/$f" || return 1; done
}

# damage CASE OBJ REASON-REGEX CMD...: runs CMD (damaging OBJ) while unmounted, mounts, checks
damage() {
	local what=$1 obj=$2 reason=$3
	shift 3
	"$@"
	[ -e "$CT/$obj/config" ] || [ -L "$CT/$obj/config" ] && cp -a "$CT/$obj" "$T/bytes/$obj"
	if ! vmfs_start; then
		is "did not mount" "mounted" "$what: vmfs mounts"
		kill -9 "$VMFS_PID" 2>/dev/null
		wait "$VMFS_PID" 2>/dev/null
		VMFS_PID=
		return
	fi
	local ent
	ent=$(ls -d "$S"/damaged/*-ns-default-containers-"$obj" 2>/dev/null | head -1)
	is "$(ls "$N/default/containers" | tr '\n' ' ')" "$(printf '%s' "$want_default" | sed "s/$obj //")" \
		"$what: every other object is there, $obj is not"
	ok "$what: damaged/ holds $obj with a REASON" test -f "$ent/REASON" -a -d "$ent/$obj"
	like "$(cat "$ent/REASON" 2>&1)" "ns/default/containers/$obj was moved here by vmfs .*because it cannot be read:
$reason" "$what: REASON says why"
	if [ -d "$T/bytes/$obj" ]; then
		ok "$what: nothing was deleted (the bytes are in damaged/)" same_tree "$T/bytes/$obj" "$ent/$obj"
	fi
	like "$(cat "$M/host/log")" "error: damaged state ns/default/containers/$obj moved aside to damaged/[^ ]*-ns-default-containers-$obj: .*$reason" \
		"$what: host/log says so"
	like "$(cat "$N/default/log")" "error: containers/$obj: damaged, moved aside to damaged/[^ ]* in the state directory: .*$reason" \
		"$what: the namespace's log says so"
	ok "$what: the name can be made again" sh -c "echo 'launch container $obj' >'$N/default/ctl'"
	ok "$what: ... and is there" test -d "$N/default/containers/$obj"
	vmfs_stop
}

damage "an empty config" c01 "config: the file is empty" truncate -s 0 "$CT/c01/config"
damage "garbage in config" c02 'config: line 1 \(".*"\) is not KEY=VALUE' \
	sh -c "{ head -c 3000 /dev/urandom | tr -d '\\n=\\0'; echo; } >'$CT/c02/config'"
damage "a 2 MiB config" c03 "config is too large: 2097152 bytes, a state file is at most 1048576" \
	sh -c "{ cat '$CT/c03/config'; printf 'init='; head -c 2097147 /dev/zero | tr '\\\\0' x; echo; } >'$CT/c03/config.new' && truncate -s 2097152 '$CT/c03/config.new' && mv '$CT/c03/config.new' '$CT/c03/config'"
damage "a FIFO for config" c04 "config is a FIFO, not a regular file" sh -c "rm '$CT/c04/config' && mkfifo '$CT/c04/config'"
damage "a symlink loop for config" c05 "config is a symbolic link, not a regular file" \
	sh -c "rm '$CT/c05/config' && ln -s config '$CT/c05/config'"
damage "a directory for config" c06 "config is a directory, not a regular file" \
	sh -c "rm '$CT/c06/config' && mkdir '$CT/c06/config'"
damage "id=abc" c07 'config: line 1: id: "abc" is not a number' sed -i 's/^id=.*/id=abc/' "$CT/c07/config"
damage "state=FLYING, a run directory" c08 'config: line 3: state: "FLYING" is not a state .*; its run directory went with it, so a container or VM it was running is not adopted' \
	sh -c "sed -i 's/^state=.*/state=FLYING/' '$CT/c08/config' && mkdir '$CT/c08/run' && echo 1 >'$CT/c08/run/pid'"
damage "a key twice" c09 "config: the key memory is given twice" sh -c "echo memory=1G >>'$CT/c09/config'; echo memory=2G >>'$CT/c09/config'"
damage "a key with a space" c10 'config: line 4: the key "col our" holds a character keys never have' sh -c "echo 'col our=blue' >>'$CT/c10/config'"
damage "no config, a log" c11 "config is missing" rm "$CT/c11/config"

# two objects with one id: the second found goes, naming the first
id12=$(sed -n 's/^id=//p' "$CT/c12/config")
cp -a "$CT/c12" "$T/bytes/c12"
sed -i "s/^id=.*/id=$id12/" "$CT/c09/config"
cp -a "$CT/c09" "$T/bytes/c09"
vmfs_start || exit 1
lost=$(ls "$N/default/containers" | grep -c -x -e c09 -e c12)
is "$lost" 1 "one id twice: one of the two objects is there"
gone=$(test -d "$N/default/containers/c09" && echo c12 || echo c09)
kept=$(test "$gone" = c09 && echo c12 || echo c09)
ent=$(ls -d "$S"/damaged/*-ns-default-containers-$gone | head -1)
like "$(cat "$ent/REASON")" "id $id12 is already ns/default/containers/$kept's" "... the other is in damaged/, naming the one that has the id"
ok "... with all its bytes" same_tree "$T/bytes/$gone" "$ent/$gone"
like "$(cat "$M/host/log")" "ns/default/containers/$gone moved aside .*id $id12 is already ns/default/containers/$kept's" "... host/log says so"
like "$(cat "$N/default/log")" "containers/$gone: damaged, .*id $id12 is already" "... and the namespace's log"
vmfs_stop

# values the knobs' table refuses: only they are set aside (a copy of the file as it was in
# damaged/), their defaults used, said in the logs; the object and the rest of its config stay
use_busybox_image
EXTRA_CLEANUP=kill_ours
vmfs_start --images "$T/images" || exit 1
echo 3 >"$N/default/containers/c05/config/fifo"
c05_state=$(cat "$N/default/containers/c05/state")
mkdir "$N/default/containers/r1"
ok "a container runs" "$XWRITE" "$N/default/containers/r1/ctl" start
r1pid=$(awk '$1=="pid"{print $2}' "$N/default/containers/r1/info")
vmfs_stop
echo vcpus=0 >>"$CT/r1/config"
{
	echo vcpus=abc
	echo memory=99999999T
	printf 'init=/%s\n' "$(head -c 10000 /dev/zero | tr '\0' x)"
	printf 'hostname=a\001b\n'
	echo colour=blue
	echo kernel=vmlinuz
} >>"$CT/c05/config"
cp "$CT/c05/config" "$T/bytes/c05.config"
printf 'config.memory=1X\nconfig.shade=dark\n' >>"$S/ns/default/ns.conf"
cp "$S/ns/default/ns.conf" "$T/bytes/default.refused"
ndam=$(ls "$S/damaged" | wc -l)
vmfs_start --images "$T/images" || exit 1
is "$(cat "$N/default/containers/r1/state")" RUNNING "a refused value in a running container's config: it is adopted, RUNNING"
is "$(awk '$1=="pid"{print $2}' "$N/default/containers/r1/info")" "$r1pid" "... its init the same process ($r1pid)"
ok "... alive" kill -0 "$r1pid"
like "$(cat "$N/default/containers/r1/log")" 'error: config: vcpus="0": .*; set aside' "... its log says why its vcpus is the default"
ok "... it can be killed" "$XWRITE" "$N/default/containers/r1/ctl" kill
ok "refused values: the object is there" test -d "$N/default/containers/c05"
is "$(cat "$N/default/containers/c05/state")" "$c05_state" "... in its state ($c05_state)"
is "$(cat "$N/default/containers/c05/config/vcpus")" "1" "... vcpus=abc: the default"
is "$(cat "$N/default/containers/c05/config/memory")" "256M" "... memory=99999999T: the default"
is "$(cat "$N/default/containers/c05/config/init")" "/init" "... a 10 kB init: the default"
is "$(cat "$N/default/containers/c05/config/hostname")" "" "... a control byte in hostname: the default"
ok "... no config/colour, no config/kernel for a container" test ! -e "$N/default/containers/c05/config/colour" -a ! -e "$N/default/containers/c05/config/kernel"
is "$(cat "$N/default/containers/c05/config/fifo")" "3" "... the good values stay"
ent=$(ls -d "$S"/damaged/*-ns-default-containers-c05-config 2>/dev/null | head -1)
ok "... the config as it was is in damaged/, byte for byte" cmp "$T/bytes/c05.config" "$ent/config"
like "$(cat "$ent/REASON" 2>&1)" 'ns/default/containers/c05/config is kept here as it was by vmfs at .*because values in it were refused:
vcpus="abc": "abc" is not a whole number: use one from 1 to 256
memory="99999999T": "99999999T" is too large: sizes go up to 16T
init="/x+[^"]*": the value is 10001 bytes long: init takes at most [0-9]+
hostname="a\\x01b": the value holds the control character .\\x01. \(at byte 2\): use printable text
colour="blue": not a parameter vmfs knows
kernel="vmlinuz": not a parameter of a container
' "... with a REASON naming each"
nslog=$(grep 'containers/c05: config' "$N/default/log")
is "$(wc -l <<<"$nslog")" 6 "the namespace's log has a line for each"
like "$nslog" 'error: containers/c05: config: memory="99999999T": "99999999T" is too large: sizes go up to 16T; set aside \(the file as it was is in damaged/[^ ]*-ns-default-containers-c05-config in the state directory\), the default is used' \
	"... saying why and where the file went"
like "$nslog" 'error: containers/c05: config: hostname="a\\+x01b": ' "... the control byte escaped"
ok "... (no raw control byte in the log)" sh -c "! grep -qa \"\$(printf '\\001')\" '$N/default/log'"
like "$(grep -a 'error: config' "$N/default/containers/c05/log")" 'error: config: vcpus="abc": .*; set aside' "the object's log says so"
like "$(awk '$1=="error"' "$N/default/containers/c05/info")" "^error .*set aside" "... and its info"
like "$(cat "$M/host/log")" 'error: state ns/default/containers/c05/config: values refused and set aside, the file as it was kept in damaged/[^ ]*: vcpus="abc": .*; kernel="vmlinuz": not a parameter of a container' \
	"... and host/log, on one line"
ok "... the config on disk no longer holds them" sh -c "! grep -aq -e '^vcpus=' -e '^memory=' -e '^init=' -e '^hostname=' -e '^colour=' -e '^kernel=' '$CT/c05/config'"
ok "... and still holds the good ones" grep -qx fifo=3 "$CT/c05/config"
is "$(stat -c '%a %u' "$N/default")" "755 0" "a refused template value: the namespace keeps its owner and mode"
is "$(cat "$N/default/config/memory")" "256M" "... memory=1X: the default"
ent=$(ls -d "$S"/damaged/*-ns-default-ns.conf 2>/dev/null | head -1)
ok "... ns.conf as it was is in damaged/" cmp "$T/bytes/default.refused" "$ent/ns.conf"
like "$(cat "$N/default/log")" 'error: ns.conf: config.shade="dark": not a parameter vmfs knows; set aside' \
	"... its log says so"
vmfs_stop
ndam=$((ndam + 3))
vmfs_start || exit 1
is "$(ls "$S/damaged" | wc -l)" "$ndam" "at the next start nothing more is set aside"
is "$(cat "$N/default/containers/c05/config/fifo")" "3" "... and the good value is there"
vmfs_stop

# a damaged ns.conf: the namespace and its objects stay, with safe settings
: >"$S/ns/e1/ns.conf"
cp "$S/ns/e1/ns.conf" "$T/bytes/e1.conf"
head -c 2000 /dev/urandom >"$S/ns/g1/ns.conf"
cp "$S/ns/g1/ns.conf" "$T/bytes/g1.conf"
vmfs_start || exit 1
is "$(ls "$N" | tr '\n' ' ')" "default e1 g1 " "damaged ns.conf: the namespaces are there"
is "$(ls "$N/e1/containers" | tr '\n' ' ')" "e1 e2 e3 " "... with all their objects"
is "$(ls "$N/g1/containers" | tr '\n' ' ')" "g1 g2 " "... (the other one too)"
is "$(stat -c '%a %u %g' "$N/e1")" "700 0 0" "... owned by root, mode 0700"
is "$(cat "$N/e1/config/memory")" "256M" "... with an empty template"
ent=$(ls -d "$S"/damaged/*-ns-e1-ns.conf | head -1)
ok "the empty ns.conf is in damaged/" cmp "$T/bytes/e1.conf" "$ent/ns.conf"
like "$(cat "$ent/REASON")" "ns.conf: the file is empty" "... with a REASON"
ent=$(ls -d "$S"/damaged/*-ns-g1-ns.conf | head -1)
ok "the garbage ns.conf is in damaged/, byte for byte" cmp "$T/bytes/g1.conf" "$ent/ns.conf"
like "$(cat "$M/host/log")" "error: damaged state ns/e1/ns.conf moved aside to damaged/[^ ]*-ns-e1-ns.conf: ns.conf: the file is empty; namespace e1 kept with its objects and safe settings \(owner root, mode 0700" \
	"host/log says so"
like "$(cat "$N/g1/log")" "error: ns.conf: damaged, moved aside to damaged/[^ ]*-ns-g1-ns.conf in the state directory: ns.conf: " \
	"the namespace's log says so"
echo 'launch container e4' >"$N/e1/ctl"
is "$(awk -F'\t' '$2=="e4"{print $1}' "$N/e1/info")" "4" "ids go on after the highest its objects hold"
ndam=$(ls "$S/damaged" | wc -l)
vmfs_stop
vmfs_start || exit 1
is "$(ls "$S/damaged" | wc -l)" "$ndam" "at the next start nothing more is damaged (a good ns.conf was written)"
is "$(stat -c '%a' "$N/e1")" "700" "... and the safe mode stays"
vmfs_stop

# ns.conf missing beside objects; a namespace a crash left half-made; links where
# directories should be
rm "$S/ns/g1/ns.conf"
mkdir -p "$S/ns/half/vms" "$S/ns/half/containers"
echo x >"$S/ns/half/.ns.conf.tmp"
mkdir "$T/elsewhere"
echo keep >"$T/elsewhere/ns.conf"
ln -s "$T/elsewhere" "$S/ns/evil"
ln -s "$T/elsewhere" "$CT/lnk"
bad=$(printf 'bad\n2026-01-01T00:00:00Z forged')
cp -a "$CT/c01" "$CT/$bad"
vmfs_start || exit 1
ent=$(ls -d "$S"/damaged/*-ns-default-containers-bad_* | head -1)
ok "a bad name in containers/ is moved aside, under its own name" test -f "$ent/$bad/config"
like "$(cat "$N/default/log")" 'error: containers/bad\\n2026-01-01T00:00:00Z forged: damaged, moved aside .*: not a name vmfs gives' \
	"... the log says so on one line, the newline escaped"
ok "... and holds no forged line" sh -c "! grep -q '^2026-01-01T00:00:00Z forged' '$N/default/log' '$M/host/log'"
is "$(ls "$N" | tr '\n' ' ')" "default e1 g1 " "the namespaces are there, the link and the half-made one are not"
is "$(ls "$N/g1/containers" | tr '\n' ' ')" "g1 g2 " "ns.conf missing: the objects are there"
like "$(cat "$N/g1/log")" "error: ns.conf: ns.conf is missing; namespace g1 kept with its objects and safe settings" "... its log says so"
ok "a half-made namespace (only temporary files) is removed" test ! -e "$S/ns/half"
like "$(cat "$M/host/log")" "state ns/half: removed a directory a crash left half-made" "... host/log says so"
ent=$(ls -d "$S"/damaged/*-ns-evil | head -1)
ok "a link in ns/ is moved aside, as a link" test -L "$ent/evil"
is "$(cat "$T/elsewhere/ns.conf")" "keep" "... what it pointed to is untouched"
like "$(cat "$M/host/log")" "damaged state ns/evil moved aside to damaged/[^ ]*-ns-evil: a symbolic link, not a namespace's directory" "... host/log says so"
like "$(cat "$N/default/log")" "error: containers/lnk: damaged, moved aside .*: a symbolic link, not the object's directory" "a link in containers/ too"
ok "mkdir of the link's name works" mkdir "$N/evil"
vmfs_stop

# logs that are not regular files: each goes aside alone, a new one starts, nothing hangs
rm "$CT/c02/log" "$S/ns/e1/log" "$S/log"
mkfifo "$CT/c02/log" "$S/log"
ln -s "$T/elsewhere/nslog" "$S/ns/e1/log"
vmfs_start || exit 1
ok "a FIFO for an object's log: the object is there" test -d "$N/default/containers/c02"
ok "... its FIFO is in damaged/" test -p "$(ls -d "$S"/damaged/*-ns-default-containers-c02-log | head -1)/log"
like "$(timeout 5 cat "$N/default/log")" "error: containers/c02/log: damaged, moved aside .*: log is a FIFO, not a regular file; a new log starts" \
	"... the namespace's log says so"
ok "... its new log reads" timeout 5 cat "$N/default/containers/c02/log"
like "$(timeout 5 cat "$M/host/log")" "error: damaged state log moved aside to damaged/[^ ]*-log: log is a FIFO, not a regular file; a new log starts" \
	"a FIFO for host/log: moved aside, host/log says so in a new one"
like "$(timeout 5 cat "$N/e1/log")" "error: log: damaged, moved aside .*: log is a symbolic link, not a regular file" \
	"a link for a namespace's log: moved aside, its new log says so"
ok "... nothing was written where the link pointed" test ! -e "$T/elsewhere/nslog"
vmfs_stop
done_testing
