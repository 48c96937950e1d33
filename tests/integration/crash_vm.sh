#!/usr/bin/env bash
# Crash-safe VM starts: vmfs killed -9 while two VMs start, mounted again, finds every QEMU
# of its own (by the run directory in its command line, under this test's $S): each is
# adopted by a RUNNING VM or ended, none keeps writing a console; kill all, flush all and
# the same names work again. A start that QEMU refuses leaves no tap and no bridge.
. "$(dirname "$0")/lib.sh"
need_root
use_boot_image
vmfs_start --images "$T/images" || exit 1
D=$M/ns/default
V=$D/vms

qemus() { # "PID NAME" of every QEMU whose console log (its fd set's note) is in $S
	local p c
	for p in /proc/[0-9]*; do
		{ c=$(tr '\0' ' ' <"$p/cmdline"); } 2>/dev/null || continue
		case "$c" in
		qemu-system-*"opaque=$S/"*) c=${c#*opaque=$S/}; c=${c%%/run/console.log*}; echo "${p#/proc/} ${c##*/}" ;;
		esac
	done
}
PFX=$(sed -n 's/.*a bridge per VLAN (\([a-z0-9]*\)\.VID).*/\1/p; s/.*vlan-filtering bridge \([a-z0-9]*\)0.*/\1/p' "$M/host/info")
devs() { # this vmfs's network devices (its prefix is its own)
	[ -n "$PFX" ] && ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | grep "^$PFX" | sort | tr '\n' ' '
}
EXTRA_CLEANUP='for p in $(qemus | cut -d" " -f1); do kill -9 $p; done; sleep 0.5;
	for d in $(devs); do ip link del "$d" 2>/dev/null; done'
like "$PFX" "^v[0-9a-f]{4}$" "this vmfs's devices have a prefix of their own ($PFX)"

state() { cat "$V/$1/state" 2>/dev/null; }
stranded() { # QEMUs without a RUNNING VM, RUNNING VMs without their QEMU
	local pid name
	while read -r pid name; do
		[ -n "$pid" ] && [ "$(state "$name")" != RUNNING ] && echo "QEMU $pid of $name ($(state "$name"))"
	done < <(qemus)
	for name in $(ls "$V"); do
		[ "$(state "$name")" = RUNNING ] || continue
		pid=$(awk '$1=="pid"{print $2}' "$V/$name/info")
		qemus | grep -q "^$pid $name$" || echo "$name is RUNNING but its QEMU ($pid) is not"
	done
}

rounds=0
cut=0
lost=0
nstranded=0
for delay in 0.01 0.02 0.05 0.15 0.3 1.5; do
	rounds=$((rounds + 1))
	echo 'launch kvm w[1-2]' >"$D/ctl"
	for n in w1 w2; do echo 128M >"$V/$n/config/memory"; echo 100 >"$V/$n/config/net"; done
	(echo 'start all' >"$D/ctl") 2>/dev/null &
	sleep "$delay"
	vmfs_kill9
	before=$(qemus | wc -l)
	vmfs_start --images "$T/images" || exit 1
	n=$(ls "$V" | wc -l)
	lost=$((lost + 2 - n))
	is "$n" "2" "round $rounds (kill -9 after ${delay}s, $before QEMUs ran): both VMs are back"
	s=$(stranded)
	nstranded=$((nstranded + $(printf '%s' "$s" | grep -c .)))
	is "$s" "" "round $rounds: every QEMU belongs to a RUNNING VM and each RUNNING VM has its QEMU"
	echo "# round $rounds: states: $(cat "$V"/*/state | tr '\n' ' ')"
	grep -h "adopted\|killed while\|ended QEMU\|-> ERROR\|had finished" "$V"/*/log | sed 's/^/#   /'
	cut=$((cut + $(grep -l "had finished when vmfs was killed\|killed while it started" "$V"/*/log | wc -l)))
	echo 'kill all' >"$D/ctl" 2>/dev/null
	is "$(qemus)" "" "round $rounds: kill all leaves no QEMU"
	ok "round $rounds: flush all" sh -c "echo 'flush all' >'$D/ctl'"
	is "$(ls "$V" | wc -l)" "0" "round $rounds: both VMs are gone"
	is "$(devs)" "" "round $rounds: no tap or bridge is left"
done
echo "# VM crash rounds: $rounds, objects lost: $lost, stranded: $nstranded, starts cut: $cut"
ok "some kills fell inside a start ($cut starts cut)" test "$cut" -gt 0

# a QEMU that is not adopted must not write the console of the next one of that name
echo 'launch kvm w1' >"$D/ctl"
echo 128M >"$V/w1/config/memory"
echo start >"$V/w1/ctl"
vmfs_kill9
vmfs_start --images "$T/images" || exit 1
is "$(state w1)" "RUNNING" "a running VM is adopted after kill -9"
echo kill >"$V/w1/ctl"
is "$(qemus)" "" "kill ends its QEMU"
echo start >"$V/w1/ctl"
is "$(qemus | wc -l)" "1" "started again: one QEMU for w1"

# a kill of a VM whose QEMU is already dead succeeds at once
pid=$(awk '$1=="pid"{print $2}' "$V/w1/info")
kill -9 "$pid"
t0=$(date +%s%N)
echo kill >"$V/w1/ctl" 2>/dev/null
ms=$((($(date +%s%N) - t0) / 1000000))
ok "kill of w1 whose QEMU is dead is answered within 1 s ($ms ms)" test "$ms" -lt 1000
ok "w1 has ended (its QEMU's end is seen at once)" wait_for 1 sh -c "grep -Eq '^(QUIT|ERROR)$' '$V/w1/state'"

# a start QEMU refuses leaves no tap and no bridge, twice in a row (from ERROR too)
echo 100 >"$V/w1/config/net"
echo -- "--no-such-option" >"$V/w1/config/qemu-append"
for i in 1 2; do
	echo start >"$V/w1/ctl" 2>/dev/null
	is "$(state w1)" "ERROR" "start $i with a bad qemu-append: ERROR"
	is "$(devs)" "" "start $i: no tap or bridge left"
	is "$(qemus)" "" "start $i: no QEMU left"
done
ok "flush w1" sh -c "echo flush >'$V/w1/ctl'"

vmfs_stop
done_testing
