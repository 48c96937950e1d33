# Helpers of the migration tests (migrate.sh, migrate_tls.sh): sourced after lib.sh.
ask() { # ask CTL LINE: the answer read back on the same descriptor
	local out
	exec 3<>"$1"
	printf '%s\n' "$2" >&3 2>/dev/null
	out=$(cat <&3)
	exec 3>&-
	printf '%s\n' "$out"
}
config() { # config VMDIR: the same VM on both sides
	echo vmlinuz >"$1/config/kernel" && echo initrd >"$1/config/initrd" &&
		echo base.qcow2 >"$1/config/disk"
}
