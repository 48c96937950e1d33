#!/usr/bin/env bash
# The browser pages (web/ui/, served at /ui/ by --web), in a real browser: Debian's Chromium,
# headless, driven by tests/browser/ui.mjs (playwright-core). With a stopped container c1 and
# a running VM v1, the page lists them, starts c1 and follows it to RUNNING, types into its
# console (xterm.js) and reads the answer, shows v1's thumbnail and its screen (noVNC), and
# pauses, resumes, launches, removes and kills from the buttons. The browser logs in with the
# door's one-time URL (/?token=), as a person would. Screenshots of the pages are
# kept in $VMFS_ARTIFACTS (default build/artifacts), in web_browser/.
. "$(dirname "$0")/lib.sh"
need_root

# what the browser test needs: ./setup --deps installs all of it
missing=()
[ -x /usr/bin/chromium ] || [ -n "${CHROMIUM:-}" ] || missing+=("/usr/bin/chromium (Debian's chromium)")
command -v node >/dev/null || missing+=("node")
[ -d "$ROOT/tests/browser/node_modules/playwright-core" ] || missing+=("tests/browser/node_modules (npm ci)")
[ -f "$ROOT/web/ui/node_modules/@xterm/xterm/lib/xterm.mjs" ] &&
	[ -f "$ROOT/web/ui/node_modules/@novnc/novnc/core/rfb.js" ] || missing+=("web/ui/node_modules (npm ci)")
if [ ${#missing[@]} != 0 ]; then
	echo "not ok 1 - the browser test's tools are there: missing ${missing[*]}: run sudo ./setup --deps"
	echo "1..1"
	exit 1
fi

use_busybox_image
use_boot_image
PORT=$(free_port)
NODE_PID=
# whatever happens: no browser left, and no container or QEMU left running (they outlive vmfs)
EXTRA_CLEANUP='[ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null; [ -n "$VMFS_PID" ] && "$XWRITE" "$M/ns/default/ctl" "kill all" >/dev/null 2>&1'
vmfs_start --images "$T/images" --web 127.0.0.1:$PORT || exit 1
U=http://127.0.0.1:$PORT
D=$M/ns/default

ok "mkdir a container c1 (stopped)" mkdir "$D/containers/c1"
ok "mkdir a VM v1" mkdir "$D/vms/v1"
# the pages are under test, not KVM: TCG boots the same everywhere (and some hosts whose
# KVM probe passes still have QEMU fail on KVM)
ok "v1 under TCG" "$XWRITE" "$D/vms/v1/config/accel" tcg
ok "start v1" "$XWRITE" "$D/vms/v1/ctl" start
ok "v1 boots to a shell prompt" wait_for 90 console_has "$D/vms/v1" "v1:/#"
is "$(cat "$D/containers/c1/state")" BUILDING "c1 is stopped (BUILDING)"

ART=${VMFS_ARTIFACTS:-$ROOT/build/artifacts}/web_browser
mkdir -p "$ART"
rm -f "$ART"/*.png
echo "# screenshots go to $ART"

# ui.mjs prints TAP of its own: its lines are numbered on after ours. The browser, its
# profile and anything else it writes live under $T (HOME, TMPDIR), which cleanup removes.
mkdir -p "$T/home" "$T/tmp"
fails_before=$TAP_FAIL
VMFS_WEB_TOKEN=$WEB_TOKEN HOME=$T/home TMPDIR=$T/tmp XDG_CONFIG_HOME=$T/home/.config XDG_CACHE_HOME=$T/home/.cache \
	timeout -k 10 360 node "$ROOT/tests/browser/ui.mjs" "$U" "$ART" >"$T/browser.out" 2>&1 &
NODE_PID=$!
while IFS= read -r line; do
	if [[ $line =~ ^(not\ )?ok\ [0-9]+\ -\ (.*)$ ]]; then
		TAP_N=$((TAP_N + 1))
		if [ -n "${BASH_REMATCH[1]}" ]; then
			echo "not ok $TAP_N - browser: ${BASH_REMATCH[2]}"
			TAP_FAIL=$((TAP_FAIL + 1))
		else
			echo "ok $TAP_N - browser: ${BASH_REMATCH[2]}"
		fi
	elif ! [[ $line =~ ^1\.\.[0-9]+$ ]]; then
		printf '%s\n' "$line"
	fi
done < <(tail -n +1 -f --pid="$NODE_PID" "$T/browser.out")
wait "$NODE_PID"
node_rc=$?
NODE_PID=
ok "the browser test ran to its end (exit $node_rc: 0, or 1 with its failures above)" \
	test "$node_rc" = 0 -o \( "$node_rc" = 1 -a "$TAP_FAIL" -gt "$fails_before" \)
echo "# screenshots of the pages: $(ls "$ART"/*.png 2>/dev/null | tr '\n' ' ')"

ok "kill what runs" "$XWRITE" "$D/ctl" "kill all"
is "$(grep -c RUNNING "$D/info")" 0 "nothing runs"
ok "vmfs stops cleanly" vmfs_stop
done_testing
