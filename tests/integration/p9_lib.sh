# shellcheck shell=bash
# The checks a 9P server exporting a vmfs tree must pass, through tests/tools/p9client.py (a
# library: tests/run runs no *_lib.sh itself):
# sourced by a test after lib.sh, with P9 set to the client and its transport, e.g.
#   P9=(python3 "$ROOT/tests/tools/p9client.py" --tcp 127.0.0.1:$PORT --aname /x)
# Paths are relative to the attached root (vmfs's mount point); $M is the same tree through
# FUSE, for comparison. Used against diod exporting the FUSE mount (export_diod.sh) and
# against vmfs's own 9P door (p9_door.sh).
# shellcheck disable=SC2034 # for the tests' P9 arrays
P9CLIENT=$ROOT/tests/tools/p9client.py
PNGINFO=$ROOT/tests/tools/pnginfo

p9() { timeout 20 "${P9[@]}" "$@"; }

p9_check_tree() { # the files of a namespace: reads, a ctl answer, a refusal's errno, mkdir/rmdir
	local ns=$1 out # ns: a namespace with no VM named p9a
	out=$(p9 ls "ns/$ns")
	like "$out" "(^|$(printf '\n'))ctl$(printf '\n')" "9P: ls ns/$ns lists ctl"
	is "$(p9 ls "ns/$ns" | sort)" "$(ls -A "$M/ns/$ns" | sort)" "9P: ls ns/$ns is what FUSE lists"
	is "$(p9 cat version)" "$(cat "$M/version")" "9P: cat version equals the local read"
	is "$(p9 ctl "ns/$ns/ctl" 'launch kvm p9a')" "ok: launched 1" "9P: a ctl write reads back its answer on the same fid"
	is "$(p9 cat "ns/$ns/info")" "$(cat "$M/ns/$ns/info")" "9P: cat info equals the local read"
	out=$(p9 ctl "ns/$ns/vms/p9a/ctl" pause)
	is "$(printf '%s\n' "$out" | head -1)" "errno 16: Device or resource busy" "9P: pause of a VM not running: Rlerror EBUSY (16)"
	like "$out" 'error: "pause": p9a is [A-Z]+: pause needs it RUNNING' "9P: and its answer says why"
	ok "9P: the write of a refused command exits 1" sh -c '! "$@"' _ "${P9[@]}" ctl "ns/$ns/vms/p9a/ctl" pause
	p9 rmdir "ns/$ns/vms/p9a"
	# (the mount may show a name removed by another door for up to a second: its cached entry)
	ok "9P: rmdir of a VM's directory removes it" wait_for 3 test ! -e "$M/ns/$ns/vms/p9a"
	is "$(p9 cat "ns/$ns/vms/p9a/state" 2>&1)" "errno 2: No such file or directory" "9P: its files are gone (ENOENT)"
	p9 mkdir ns/p9ns
	ok "9P: mkdir ns/p9ns makes a namespace" test -f "$M/ns/p9ns/ctl"
	like "$(p9 ls ns)" "p9ns" "9P: and it is listed"
	is "$(p9 mkdir ns/p9ns)" "errno 17: File exists" "9P: a second mkdir: EEXIST"
	p9 rmdir ns/p9ns
	ok "9P: rmdir removes it" wait_for 3 test ! -e "$M/ns/p9ns"
	is "$(p9 rmdir ns/default)" "errno 16: Device or resource busy" "9P: the default namespace cannot be removed: EBUSY"
}

p9_check_screen() { # p9_check_screen VMDIR: VMDIR (relative) is a running VM with a display
	rm -f "$T/p9shot.png"
	p9 get "$1/screenshot.png" "$T/p9shot.png"
	local w h _
	read -r w h _ < <("$PNGINFO" "$T/p9shot.png" 2>/dev/null)
	like "${w:-} x ${h:-}" "^[0-9]+ x [0-9]+$" "9P: screenshot.png decodes as a PNG ($w x $h)"
}

p9_check_console() { # p9_check_console OBJDIR: a running object's console (relative path)
	local mark=p9mark-$RANDOM
	p9 follow "$1/console" 6 >"$T/p9follow" 2>&1 &
	local fpid=$!
	sleep 1.5 # its scrollback read, a read parked
	printf 'echo %s-$((6*7))\n' "$mark" >"$M/$1/console"
	ok "9P: a console read returns after typing" wait_for 4 grep -aq "$mark-42" "$T/p9follow"
	wait "$fpid"
}

# p9_check_sizes FILE...: getattr's size is what a read returns (the true sizes of branch
# fhandle; through diod too once the mount has them)
p9_check_sizes() {
	local f
	for f; do
		is "$(p9 stat "$f" | awk '$1=="size"{print $2}')" "$(p9 cat "$f" | wc -c)" "9P: the size of $f is what a read returns"
	done
}

# p9_flush_ms OBJDIR: Tflush of a parked console read 500 ms after it parked. Output arrives
# 2 s later (typed), which answers a server that cannot cancel its read. Prints rflush_ms
# and read_answered_first, as flushtest does.
p9_flush_ms() {
	(sleep 2.5 && printf 'echo flushed\n' >"$M/$1/console") &
	local typer=$!
	p9 flushtest "$1/console" 500 --limit 8
	wait "$typer"
}
