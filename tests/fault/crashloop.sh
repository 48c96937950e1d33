#!/usr/bin/env bash
# The crash loop: ROUNDS times (20), an operation on a few containers and VMs is written
# through the mount (launch, start, stop, flush of containers; start, commit, stop of a VM)
# and vmfs gets kill -9 at a random instant 0-1.5 s in. A vmfs on the same state directory
# must then list every object that existed, each in a state that is true, with nothing of
# this vmfs (process, mount, cgroup, network device) left that no running object holds, and
# the tree must still start and kill. SEED=N replays a run's choices (not its timing);
# OPS="start flush" limits the operations, KILL_MS=N fixes the instant of the kill.
. "$(dirname "$0")/lib.sh"
need_root
command -v qemu-img >/dev/null || { echo "not ok 1 - qemu-img is installed (./setup --deps: qemu-utils)"; exit 1; }
ROUNDS=${ROUNDS:-20}
SEED=${SEED:-$(($(date +%s) % 32768))}
RANDOM=$SEED
echo "# seed $SEED (SEED=$SEED replays these choices), $ROUNDS rounds, state in $S"
use_boot_image
use_busybox_image
qemu-img create -q -f qcow2 "$T/images/base.qcow2" 16M
# a check that dies (it runs in this shell, to count what it finds) says where, then the sweep
EXTRA_CLEANUP='[ -z "${FINISHED:-}" ] && [ -s "$T/check.out" ] && { echo "# the crash loop ended early; the last check said:"; tail -n 5 "$T/check.out" | sed "s/^/#   /"; }; fault_sweep'
vmfs_start --images "$T/images" || exit 1
fault_learn || { echo "not ok 1 - host/info names this vmfs's cgroup and device prefix"; exit 1; }
D=$M/ns/default
CONTAINERS="c1 c2 c3 c4 c5 c6"
VMS="v1 v2"

w() { timeout 30 "$XWRITE" "$@" >/dev/null 2>&1; } # one write, true if it was answered "done"

kind_dir() { [ "$1" = kvm ] && echo vms || echo containers; }

listing() { # "NAME KIND STATE" for every listed object
	timeout 10 cat "$D/info" | awk -F'\t' 'NR>1{print $2, $3, $4}'
}

launch_vm() { # a small VM with a disk: the cloud kernel boots in 128M under TCG
	w "$D/ctl" "launch kvm $1" || return 1
	w "$D/vms/$1/config/memory" 128M && w "$D/vms/$1/config/disk" base.qcow2
}

# every object gets a NIC on VLAN 101, so that devices are made and must be accounted for
w "$D/config/net" 101
w "$D/config/memory" 128M
# TCG whatever the host offers: on nested hosts a KVM guest may stop at once (internal-error)
w "$D/config/accel" tcg
ok "launch the containers" w "$D/ctl" "launch container c[1-6]"
ok "launch VM v1" launch_vm v1
ok "launch VM v2" launch_vm v2
ok "start three containers and a VM" w "$D/ctl" "$(printf 'start c1\nstart c2\nstart c3\nstart v1')"

declare -A TOOK=([vmstart]=300 [commit]=300 [vmstop]=100) # ms, as last measured
LOST_NAMES= # one name per loss: an object relaunched and lost again counts twice
declare -A STRAND_OBJ=() STRAND_PROC=() STRAND_MOUNT=() STRAND_CG=() STRAND_DEV=()
lost_total=0

pick() { # pick N WORDS...: sets PICKED to up to N of the words, in random order (not in a
	# subshell, which would draw from a new seed)
	local n=$1
	shift
	local a=("$@") out=() i j t
	for ((i = ${#a[@]} - 1; i > 0; i--)); do
		j=$((RANDOM % (i + 1)))
		t=${a[i]} a[i]=${a[j]} a[j]=$t
	done
	for ((i = 0; i < ${#a[@]} && i < n; i++)); do out+=("${a[i]}"); done
	PICKED="${out[*]}"
}

# names in BEFORE (the listing before the round) by kind and state
names_where() { # names_where KIND STATE-REGEX
	awk -v k="$1" -v s="^($2)\$" '$2==k && $3 ~ s {print $1}' <<<"$BEFORE"
}
missing_from() { # the names of a pool that are not listed
	local n
	for n in "$@"; do grep -q "^$n " <<<"$BEFORE" || echo "$n"; done
}

# plan_OP: sets OP_DESC and OP_CMDS (one line per write: FILE<tab>TEXT with \n for newlines)
# and FLUSHED, LAUNCHED; fails when the operation has nothing to work on
plan_launch() {
	local m=$(missing_from $CONTAINERS $VMS)
	[ -n "$m" ] || return 1
	local n
	pick 3 $m
	for n in $PICKED; do
		LAUNCHED+=" $n"
		case $n in
		v*) OP_CMDS+="vm $n"$'\n' ;;
		*) OP_CMDS+="$D/ctl	launch container $n"$'\n' ;;
		esac
	done
	OP_DESC="launch$LAUNCHED"
}
plan_start() {
	pick 6 $(names_where container 'BUILDING|QUIT|ERROR')
	local c=$PICKED
	[ -n "$c" ] || return 1
	OP_DESC="start $c"
	local n
	for n in $c; do OP_CMDS+="$D/ctl	start $n"$'\n'; done
}
plan_stop() {
	pick 3 $(names_where container 'RUNNING|PAUSED')
	local c=$PICKED
	[ -n "$c" ] || return 1
	OP_DESC="stop $c"
	OP_CMDS="$D/ctl	$(printf 'stop %s\\n' $c)"$'\n' # one write of several lines
}
plan_flush() {
	pick 3 $(names_where container 'QUIT|ERROR') $(names_where kvm 'QUIT|ERROR')
	local c=$PICKED
	[ -n "$c" ] || return 1
	OP_DESC="flush $c"
	FLUSHED=$c
	local n
	for n in $c; do OP_CMDS+="$D/ctl	flush $n"$'\n'; done
}
plan_vmstart() {
	local v=$(names_where kvm 'BUILDING|QUIT|ERROR' | tr '\n' ' ')
	v=${v% }
	[ -n "$v" ] || return 1
	OP_DESC="start $v" # both when both are down
	local n
	for n in $v; do OP_CMDS+="$D/vms/$n/ctl	start"$'\n'; done
}
plan_commit() {
	local v= n
	pick 2 $(names_where kvm 'RUNNING|PAUSED')
	for n in $PICKED; do
		[ -n "$(timeout 5 cat "$D/vms/$n/config/disk" 2>/dev/null)" ] && { v=$n; break; }
	done
	[ -n "$v" ] || return 1
	OP_DESC="commit $v to images/img$ROUND"
	COMMITTED=$v
	OP_CMDS="$D/vms/$v/ctl	commit img$ROUND"$'\n'
}
plan_vmstop() {
	pick 1 $(names_where kvm 'RUNNING|PAUSED')
	local v=$PICKED
	[ -n "$v" ] || return 1
	OP_DESC="stop $v"
	OP_CMDS="$D/vms/$v/ctl	stop"$'\n'
}
ALL_OPS=(launch start stop flush vmstart commit vmstop)
OPS=(${OPS:-${ALL_OPS[*]}})

# runs the planned writes one after the other, each answered one noted in $T/answered, and
# stops at the first that vmfs's death cut off
run_op() {
	local f text t0=${EPOCHREALTIME/./}
	while IFS=$'\t' read -r f text; do
		[ -n "$f" ] || continue
		[ -e "$T/killed" ] && return
		if [ "${f%% *}" = vm ]; then # a VM's launch, then its config
			w "$D/ctl" "launch kvm ${f#vm }" || return
			echo "ctl: launch kvm ${f#vm }" >>"$T/answered"
			w "$D/vms/${f#vm }/config/memory" 128M && w "$D/vms/${f#vm }/config/disk" base.qcow2
		elif w "$f" "$(printf '%b' "$text")"; then
			echo "${f#"$D"/}: $text" >>"$T/answered"
		elif [ -e "$T/killed" ]; then
			return
		else
			echo "${f#"$D"/}: $text (refused)" >>"$T/answered"
		fi
	done <<<"$OP_CMDS"
	echo $(((${EPOCHREALTIME/./} - t0) / 1000)) >"$T/took"
}

# The checks after a remount. Each prints why it failed on # lines.
check_present() { # every object that existed, or whose launch was answered, is listed
	local n lost=()
	for n in $(awk '{print $1}' <<<"$BEFORE") $ANSWERED_LAUNCH; do
		# a flush may take it, unless the flush was refused: then it must be whole
		[[ " $FLUSHED " == *" $n "* ]] && ! grep -qx "ctl: flush $n (refused)" "$T/answered" 2>/dev/null && continue
		grep -q "^$n " <<<"$AFTER" || lost+=("$n")
	done
	for n in "${lost[@]}"; do
		echo "#   lost: $n (was: $(grep "^$n " <<<"$BEFORE" | cut -d' ' -f2-)$(grep -qx "ctl: flush $n (refused)" "$T/answered" 2>/dev/null && echo ", and its flush was refused"))"
		LOST_NAMES+=" $n"
		lost_total=$((lost_total + 1))
	done
	[ ${#lost[@]} = 0 ]
}

check_flushed() { # a flushed object is gone whole (nothing left in $S) or kept whole
	local n k rc=0
	for n in $FLUSHED; do
		k=$(grep "^$n " <<<"$BEFORE" | cut -d' ' -f2)
		local dir=$S/ns/default/$(kind_dir "$k")/$n
		if grep -q "^$n " <<<"$AFTER"; then
			if grep -qx "ctl: flush $n" "$T/answered" 2>/dev/null; then
				echo "#   $n: its flush was answered, yet it is listed"
				rc=1
			fi
		elif [ -e "$dir" ]; then
			echo "#   $n: not listed, but $(find "$dir" | wc -l) files of it stay in the state directory: $(cd "$dir" && ls -A | tr '\n' ' ')"
			rc=1
		fi
	done
	return $rc
}

check_statedir() { # the state directory holds the listed objects, each with its config, and nothing else
	local d n k rc=0
	for d in "$S"/ns/default/vms/* "$S"/ns/default/containers/*; do
		[ -d "$d" ] || continue
		n=${d##*/}
		k=$([ "${d%/*}" = "$S/ns/default/vms" ] && echo kvm || echo container)
		if ! grep -q "^$n $k " <<<"$AFTER"; then
			echo "#   $S/ns/default/${d#"$S"/ns/default/} is in the state directory but not listed: $(ls -A "$d" | tr '\n' ' ')"
			rc=1
		elif [ ! -s "$d/config" ]; then
			echo "#   $n is listed but its config is missing or empty"
			rc=1
		fi
	done
	return $rc
}

check_configs() { # every object keeps the values it was launched with (from the template)
	local n k s rc=0 v
	while read -r n k s; do
		[ -n "$n" ] || continue
		local c=$D/$(kind_dir "$k")/$n/config
		v="$(timeout 5 cat "$c/memory") $(timeout 5 cat "$c/net")"
		[ "$v" = "128M 101" ] && continue
		echo "#   $n: memory and net read \"$v\", not \"128M 101\""
		rc=1
	done <<<"$AFTER"
	return $rc
}

owned_pids() { # the processes running objects hold: their recorded pids, cgroups, children
	local n k s cg
	{
		while read -r n k s; do
			case $s in RUNNING | PAUSED) ;; *) continue ;; esac
			local run=$S/ns/default/$(kind_dir "$k")/$n/run f
			for f in "$run/pid" "$run/shim.pid" "$run/qemu.pid"; do
				rec_alive "$f" && awk '{print $1}' "$f"
			done
			if [ "$k" = container ]; then
				for cg in $(cg_dirs); do # (the processes sit in container/, below the limits)
					cat "$cg/default/$n/cgroup.procs" "$cg/default/$n/container/cgroup.procs" 2>/dev/null
				done
			fi
		done <<<"$AFTER"
	} | sort -u >"$T/owned"
	# and their children (a shim's helpers), to any depth
	ps -eo pid=,ppid= | awk -v f="$T/owned" 'BEGIN{while((getline p<f)>0) own[p]=1}
		{par[$1]=$2} END{do{ch=0; for(p in par) if(!(p in own) && (par[p] in own)) {own[p]=1; ch=1}} while(ch);
		for(p in own) print p}'
}

check_states() { # RUNNING/PAUSED iff its process runs; nothing of it runs otherwise
	local n k s rc=0 f
	local procs=$(fault_procs)
	while read -r n k s; do
		[ -n "$n" ] || continue
		local dir=$S/ns/default/$(kind_dir "$k")/$n
		case $s in
		RUNNING | PAUSED)
			if ! rec_alive "$dir/run/pid"; then
				echo "#   $n is $s, but the process run/pid names ($(cat "$dir/run/pid" 2>/dev/null || echo none)) does not run"
				rc=1
			fi
			;;
		*)
			for f in "$dir/run/pid" "$dir/run/shim.pid" "$dir/run/qemu.pid"; do
				if rec_alive "$f"; then
					echo "#   $n is $s, but ${f##*/} $(awk '{print $1}' "$f") runs: $(tr '\0' ' ' </proc/$(awk '{print $1}' "$f")/cmdline | cut -c1-120)"
					rc=1
				fi
			done
			local p=$(awk -v o="default/$(kind_dir "$k")/$n" '$2==o{print $1}' <<<"$procs" | tr '\n' ' ')
			if [ -n "$p" ]; then
				echo "#   $n is $s, but processes of it run: $p"
				rc=1
			fi
			;;
		esac
	done <<<"$AFTER"
	return $rc
}

is_live() { # is_live NS/KIND/NAME: a listed RUNNING or PAUSED object
	local IFS=/
	set -- $1
	[ "$2" = vms ] && set -- "$1" kvm "$3" || set -- "$1" container "$3"
	grep -Eq "^$3 $2 (RUNNING|PAUSED)\$" <<<"$AFTER"
}

check_procs() {
	local own=" $(owned_pids | tr '\n' ' ') " pid o rc=0
	while read -r pid o; do
		[ -n "$pid" ] || continue
		[[ "$own" == *" $pid "* ]] && continue
		echo "#   stranded process $pid (of $o): $(tr '\0' ' ' </proc/$pid/cmdline 2>/dev/null | cut -c1-140)"
		STRAND_PROC[$pid:$(starttime "$pid")]=1
		[ "$o" != - ] && STRAND_OBJ[$o]=1
		rc=1
	done <<<"$(fault_procs)"
	return $rc
}

check_mounts() {
	local d o rc=0
	for d in $(fault_mounts); do
		o=$(obj_of "$d")
		[ "$o" != - ] && is_live "$o" && continue
		echo "#   stranded mount $d"
		STRAND_MOUNT[$d]=1
		[ "$o" != - ] && STRAND_OBJ[$o]=1
		rc=1
	done
	return $rc
}

check_cgroups() {
	local d rel rc=0
	while read -r d; do
		[ -n "$d" ] || continue
		rel=${d#*/"$CG_TOP"/}
		is_live "${rel%%/*}/containers/${rel#*/}" && continue
		echo "#   stranded cgroup $d ($(wc -l <"$d/cgroup.procs" 2>/dev/null || echo 0) processes)"
		STRAND_CG[$rel]=1
		STRAND_OBJ[${rel%%/*}/containers/${rel#*/}]=1
		rc=1
	done <<<"$(fault_cgroups)"
	return $rc
}

check_devices() {
	local n k s held=" " d rc=0
	while read -r n k s; do
		case $s in RUNNING | PAUSED) ;; *) continue ;; esac
		local nics=$S/ns/default/$(kind_dir "$k")/$n/run/nics
		[ -f "$nics" ] && held+="$(awk '{printf "%s %s ", $1, $2}' "$nics")"
	done <<<"$AFTER"
	for d in $(fault_devices); do
		[[ "$held" == *" $d "* ]] && continue
		echo "#   stranded network device $d"
		STRAND_DEV[$d]=1
		rc=1
	done
	return $rc
}

check_nics() { # every running object still has the NICs it was started with
	local n k s d rc=0
	while read -r n k s; do
		case $s in RUNNING | PAUSED) ;; *) continue ;; esac
		local nics=$S/ns/default/$(kind_dir "$k")/$n/run/nics
		[ -f "$nics" ] || continue
		for d in $(awk '{print $1}' "$nics"); do
			ip link show "$d" >/dev/null 2>&1 && continue
			echo "#   $n is $s, but its NIC $d is gone"
			rc=1
		done
	done <<<"$AFTER"
	return $rc
}

check_images() { # a commit cut short leaves no partial image, nor its VM paused
	local p=$(cd "$T/images" && ls -A | grep '\.part$' | tr '\n' ' ') rc=0
	[ -z "$p" ] || { echo "#   partial images in the store: $p"; rc=1; }
	if [ -n "$COMMITTED" ] && grep -q "^$COMMITTED kvm RUNNING" <<<"$BEFORE" &&
		grep -q "^$COMMITTED kvm PAUSED" <<<"$AFTER"; then
		echo "#   $COMMITTED was RUNNING before its commit and is PAUSED after: the commit's pause outlived it"
		rc=1
	fi
	return $rc
}

verb() { # verb NAME KIND VERB: one verb on an object's ctl; says why it failed
	local ctl=$D/$(kind_dir "$2")/$1/ctl r
	r=$(timeout 30 "$XWRITE" "$ctl" "$3" 2>&1) && return 0
	echo "#   $3 $1: ${r:-timed out} ($(tail -n 1 "${ctl%/ctl}/log"))"
	return 1
}

tree_works() { # a start and a kill of one object, picked at random, succeed
	pick 1 $(awk 'NF==3 {print $1 ":" $2 ":" $3}' <<<"$AFTER")
	if [ -z "$PICKED" ]; then # every object was flushed: one new one to try the tree with
		w "$D/ctl" "launch container c1" || { echo "#   nothing is listed, and launch c1 fails"; return 1; }
		PICKED=c1:container:BUILDING
	fi
	local IFS=:
	set -- $PICKED
	IFS=$' \t\n'
	case $3 in
	RUNNING | PAUSED)
		verb "$1" "$2" kill && verb "$1" "$2" start || return 1
		# a VM is left down, or the VM starts of later rounds would have nothing to start
		[ "$2" = container ] || verb "$1" "$2" kill
		;;
	*) verb "$1" "$2" start && verb "$1" "$2" kill ;;
	esac
}

check() { # check DESC FUNC: one TAP line; FUNC's # lines explain a failure
	local desc=$1 rc=0
	"$2" >"$T/check.out" 2>&1 || rc=$? # not in a subshell: the counts of what is stranded stay
	TAP_N=$((TAP_N + 1))
	if [ $rc = 0 ]; then
		echo "ok $TAP_N - $desc"
	else
		echo "not ok $TAP_N - $desc"
		head -20 "$T/check.out"
		TAP_FAIL=$((TAP_FAIL + 1))
	fi
}

t0=$SECONDS
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	if ! BEFORE=$(listing); then
		TAP_N=$((TAP_N + 1))
		echo "not ok $TAP_N - round $ROUND: ns/default/info can be read"
		break
	fi
	# the operation drawn, or the next one that has something to work on
	first=$((RANDOM % ${#OPS[@]}))
	for op in "${OPS[@]:first}" "${OPS[@]:0:first}" "${ALL_OPS[@]}"; do
		OP_DESC= OP_CMDS= FLUSHED= LAUNCHED= COMMITTED=
		"plan_$op" && break
	done
	# the instant of the kill: half the time anywhere in 0-1.5 s, half the time within
	# the time this kind of operation took when it was last left to finish (it is served
	# in a few ms on a fast build, so uniform instants alone would seldom cut into it)
	if [ -n "${KILL_MS:-}" ]; then
		ms=$KILL_MS
	elif ((RANDOM % 2)); then
		ms=$((RANDOM % 1501))
	else
		ms=$((RANDOM % (${TOOK[$op]:-30} + 1)))
	fi
	rm -f "$T/killed" "$T/answered" "$T/took"
	run_op &
	opid=$!
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	touch "$T/killed"
	vmfs_kill9
	wait "$opid"
	[ -s "$T/took" ] && TOOK[$op]=$(($(cat "$T/took") + 1)) && ((TOOK[$op] > 1500)) && TOOK[$op]=1500
	ANSWERED=$(cat "$T/answered" 2>/dev/null | tr '\n' ';')
	ANSWERED_LAUNCH=$(sed -n 's/^ctl: launch [a-z]* //p' "$T/answered" 2>/dev/null | tr '\n' ' ')
	echo "# round $ROUND: $OP_DESC; kill -9 at $ms ms; answered before: ${ANSWERED:-nothing}"
	# the killed vmfs's mount is stale until the next vmfs clears it, as a user's restart does
	if ! vmfs_start --images "$T/images"; then
		TAP_N=$((TAP_N + 1))
		echo "not ok $TAP_N - round $ROUND: vmfs mounts again"
		break
	fi
	AFTER=$(listing)
	echo "#   listed after the remount: $(awk '{printf "%s %s, ", $1, $3}' <<<"$AFTER")"
	check "round $ROUND ($op): every object that existed or was launched is listed" check_present
	check "round $ROUND ($op): a flushed object is gone whole or kept whole" check_flushed
	check "round $ROUND ($op): the state directory holds the listed objects with their configs, nothing else" check_statedir
	check "round $ROUND ($op): every object keeps its configuration" check_configs
	check "round $ROUND ($op): every state is true (RUNNING/PAUSED iff its process runs)" check_states
	check "round $ROUND ($op): no process of this vmfs without a running object" check_procs
	check "round $ROUND ($op): no mount under the state directory without a running object" check_mounts
	check "round $ROUND ($op): no cgroup of this vmfs without a running object" check_cgroups
	check "round $ROUND ($op): no network device of this vmfs without a running object" check_devices
	check "round $ROUND ($op): every running object has its NICs" check_nics
	check "round $ROUND ($op): no partial image in the image store, no VM left paused by a commit" check_images
	check "round $ROUND ($op): a start and a kill of one object work" tree_works
done
rounds_done=$((ROUND - 1))
[ "$rounds_done" -gt "$ROUNDS" ] && rounds_done=$ROUNDS
FINISHED=1
timeout 60 "$XWRITE" "$D/ctl" "kill all" >/dev/null 2>&1
stop_clean
echo "# crash loop: $rounds_done rounds in $((SECONDS - t0)) s, $lost_total objects lost (${LOST_NAMES# }), ${#STRAND_OBJ[@]} objects stranded (${#STRAND_PROC[@]} processes, ${#STRAND_MOUNT[@]} mounts, ${#STRAND_CG[@]} cgroups, ${#STRAND_DEV[@]} network devices)"
done_testing
