# shellcheck shell=bash
# Sourced after lib.sh: an nfs-ganesha (NFSv4 only, FSAL_VFS) exporting the test's mount $M,
# in a network namespace of the test's own, so port 2049 and rpcbind never meet the host's
# or another test's. Its configuration, pid file, log and recovery directory live in
# $T/ganesha. Clients run in the namespace too (nfs_in); docs/export.md explains the keys.
# The namespace shares the mount namespace: ganesha sees $M as the test does.
NFS_NS=vmfs-nfs-${T##*.}
NFS_DIR=$T/ganesha
NFSOP=$ROOT/tests/tools/nfsop.py
GANESHA_PID=
GANESHA_START=
NFS_PSEUDO=/export

nfs_in() { nsenter --net="/run/netns/$NFS_NS" "$@"; } # nfs_in CMD...: CMD in the namespace
nfs_url() { echo "nfs://127.0.0.1$NFS_PSEUDO/$1?version=4"; } # nfs_url PATH (under $M)

nfs_setup() { # the namespace (loopback up) and ganesha's configuration
	if ! command -v ganesha.nfsd >/dev/null || ! command -v nfs-cat >/dev/null; then
		echo "not ok 1 - ganesha.nfsd and nfs-cat are installed (./setup --deps)"
		exit 1
	fi
	ip netns add "$NFS_NS" || { echo "not ok 1 - ip netns add $NFS_NS"; exit 1; }
	EXTRA_CLEANUP="nfs_teardown; ${EXTRA_CLEANUP:-}"
	nfs_in ip link set lo up || return 1
	mkdir -p "$NFS_DIR/recovery"
	local plugins
	plugins=$(dirname "$(find /usr/lib /usr/lib64 -name libfsalvfs.so 2>/dev/null | head -1)")
	cat >"$NFS_DIR/ganesha.conf" <<EOF
NFS_CORE_PARAM {
	Protocols = 4;
	Enable_NLM = false;
	Enable_RQUOTA = false;
	Enable_UDP = false;
	Plugins_Dir = "$plugins";
}
NFSV4 {
	Graceless = true;
	RecoveryRoot = "$NFS_DIR/recovery";
	Only_Numeric_Owners = true;
}
EXPORT {
	Export_Id = 1;
	Path = "$M";
	Pseudo = "$NFS_PSEUDO";
	Protocols = 4;
	SecType = sys;
	Squash = No_Root_Squash;
	Attr_Expiration_Time = 0;
	Access_Type = None;
	CLIENT { Clients = 127.0.0.1; Access_Type = RW; }
	FSAL { Name = VFS; }
}
LOG { Default_Log_Level = EVENT; }
EOF
}

ganesha_start() { # in the namespace, in the foreground; waits until the export answers
	rm -f "$NFS_DIR/ganesha.pid"
	# no D-Bus: another ganesha's name on the system bus is not ours to take
	# (nsenter, not nfs_in: $! must be ganesha itself, which nsenter --net becomes)
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$NFS_DIR/no-dbus nsenter --net="/run/netns/$NFS_NS" ganesha.nfsd -F \
		-f "$NFS_DIR/ganesha.conf" -L "$NFS_DIR/ganesha.log" -p "$NFS_DIR/ganesha.pid" \
		-N NIV_EVENT 2>>"$NFS_DIR/ganesha.err" &
	GANESHA_PID=$!
	GANESHA_START=$(proc_start "$GANESHA_PID")
	local i
	for i in $(seq 150); do
		if ! ganesha_alive; then
			echo "# ganesha died at start:"
			grep -E 'CRIT|FATAL|MAJ' "$NFS_DIR/ganesha.log" | tail -5 | sed 's/^/#   /'
			GANESHA_PID=
			return 1
		fi
		nfs_in nfs-cat "$(nfs_url version)" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "# ganesha did not answer within 15 s"
	return 1
}

# ganesha_alive: our ganesha runs, told by its start time as well as its pid (the shell reaps
# it as soon as it ends, and on a busy machine its pid is soon another process's; a read of
# its /proc/PID/stat while it exits can fail, which gone took for "runs" and killed it)
ganesha_alive() {
	[ -n "$GANESHA_PID" ] && [ -n "$GANESHA_START" ] &&
		[ "$(proc_start "$GANESHA_PID")" = "$GANESHA_START" ]
}

ganesha_stop() { # SIGTERM (ganesha's clean stop), SIGKILL after 30 s (said in stop.why,
	[ -n "$GANESHA_PID" ] || return 0 # which the teardown prints: ok swallows output)
	local rc=0 p=$GANESHA_PID
	ganesha_alive && kill -TERM "$p" 2>/dev/null
	for _ in $(seq 300); do ganesha_alive || break; sleep 0.1; done
	if ganesha_alive; then
		{
			echo "ganesha (pid $p) still runs 30 s after SIGTERM; its threads' states and waits:"
			for t in /proc/"$p"/task/*; do
				echo "$(awk '{print $3}' "$t/stat" 2>/dev/null) $(cat "$t/wchan" 2>/dev/null)"
			done | sort | uniq -c
		} >>"$NFS_DIR/stop.why" 2>&1
		kill -9 "$p" 2>/dev/null
		rc=1
	fi
	wait "$GANESHA_PID" 2>/dev/null
	GANESHA_PID=
	return $rc
}

nfs_teardown() { # for the cleanup: ganesha first (it holds the mount), then the namespace
	ganesha_stop >/dev/null
	if [ -s "$NFS_DIR/ganesha.log" ] && [ "${TAP_FAIL:-0}" != 0 ]; then
		echo "# ganesha's log (last errors):"
		grep -E 'CRIT|FATAL|MAJ' "$NFS_DIR/ganesha.log" | grep -v -i 'dbus\|krb5\|keytab\|principal' |
			tail -10 | sed 's/^/#   /'
	fi
	[ -s "$NFS_DIR/stop.why" ] && sed 's/^/# /' "$NFS_DIR/stop.why"
	ip netns del "$NFS_NS" 2>/dev/null
	return 0
}
