#!/usr/bin/env bash
# vmfs-passwd, the command that writes the HTTP door's password file: from a script (the
# password on stdin) and at a terminal (two prompts, no echo, through a pty); the lines it
# writes, replaces and removes, the mode, and that every error leaves the file as it was. No
# mount and no root: it only writes files in $T.
. "$(dirname "$0")/lib.sh"
export LC_ALL=C

PW=${VMFS_PASSWD:-$ROOT/vmfs/vmfs-passwd}
F=$T/web.passwd
ERRS=$T/passwd.err # every run's stderr too, for the sanitizer check at the end

pw() { # pw INPUT ARGS...: runs vmfs-passwd -c 4 with INPUT on stdin (not a terminal)
	local input=$1
	shift
	OUT=$(printf '%b' "$input" | "$PW" -c 4 "$@" 2>&1)
	RC=$?
	printf '%s\n' "$OUT" >>"$ERRS"
}

# at_tty ANSWER1 [ANSWER2] -- ARGS...: runs vmfs-passwd -c 4 ARGS on a new terminal, typing
# each answer after its prompt; OUT gets what the terminal showed, RC the exit code.
at_tty() {
	local answers=()
	while [ "$1" != -- ]; do answers+=("$1"); shift; done
	shift
	OUT=$(timeout 60 python3 - "$PW" "${answers[@]}" -- -c 4 "$@" <<'EOF'
import os, pty, sys, time
args = sys.argv[1:]
cut = args.index("--")
prog, answers, rest = args[0], args[1:cut], args[cut + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(prog, [prog] + rest)
seen = b""
def wait_for(text):
    global seen
    end = time.time() + 10
    while text not in seen and time.time() < end:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            return
        if not chunk:
            return
        seen += chunk
for prompt, answer in zip([b"Password for ", b"Again: "], answers):
    wait_for(prompt)
    seen = seen.replace(prompt, b"<" + prompt.strip() + b">", 1)
    os.write(fd, answer.encode() + b"\n")
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace").replace("\r", ""))
sys.exit(os.waitstatus_to_exitcode(status))
EOF
	)
	RC=$?
	printf '%s\n' "$OUT" >>"$ERRS"
}

hash_of() { awk -v u="$1" '$1 == u { print $4; exit }' "$F"; }
fields() { awk '!/^#/ && NF { print $1, $2, $3 }' "$F"; }
# checks PASS against USER's hash with the system's crypt(3), as the server will (perl's
# crypt is libxcrypt's)
pass_ok() { perl -e 'exit(crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? 0 : 1)' "$2" "$(hash_of "$1")"; }
pass_wrong() { ! pass_ok "$@"; }
same_hash_for() { [ "$(awk -v u="$1" '$1 == u { print $4 }' "$F" | sort -u | wc -l)" = 1 ]; }
state() { stat -c '%i %a' "$F"; cat "$F"; } # the file as a whole, inode and mode included

# --- from a script
pw 'apple\n' "$F" alice ro /ns/lab/
is "$RC" 0 "a new file: exit 0"
is "$(stat -c %a "$F")" 600 "a new file has mode 0600"
is "$(fields)" "alice ro /ns/lab/" "its line: user, access, path"
like "$(hash_of alice)" '^\$2b\$04\$[./A-Za-z0-9]{53}$' "and a bcrypt hash of cost 4 (-c 4)"
ok "the hash checks out with crypt(3)" pass_ok alice apple
ok "another password does not" pass_wrong alice apples
like "$OUT" "alice ro /ns/lab/ added" "it says what it did"

old=$(hash_of alice)
pw 'pear\n' "$F" alice rw /
is "$(fields)" "alice ro /ns/lab/
alice rw /" "a second path for alice: a second line, after the first"
ok "one hash for all of alice's lines" same_hash_for alice
ok "the new password works" pass_ok alice pear
ok "the old one does not" pass_wrong alice apple

pw 'plum\n' "$F" alice rw /ns/lab
is "$(fields)" "alice rw /ns/lab/
alice rw /" "the same path (without its slash): the line is replaced, in place"
ok "still one hash for alice" same_hash_for alice
ok "the password is plum now" pass_ok alice plum

sed -i '1i # who may use the web door' "$F"
pw 'banana\n' "$F" bob ro /ns/lab/vms/web1
alice_hash=$(hash_of alice)
is "$(head -1 "$F")" "# who may use the web door" "comments stay"
is "$(fields)" "alice rw /ns/lab/
alice rw /
bob ro /ns/lab/vms/web1/" "bob added; alice's lines stay"
ok "alice's password is untouched" pass_ok alice plum
ok "bob's is banana" pass_ok bob banana

pw 'cherry\n' "$F" bob
is "$(fields | grep bob)" "bob ro /ns/lab/vms/web1/" \
	"no access or path for a known user: only the password changes (no rw / for bob)"
ok "bob's password is cherry" pass_ok bob cherry
like "$OUT" "password of bob is set" "and it says so"
pw 'date\n' "$F" carol
is "$(fields | grep carol)" "carol rw /" "a new user without access or path: rw /"
pw 'fig\r\n' "$F" dave ro /
ok "a CRLF line end is not part of the password" pass_ok dave fig

# --- at a terminal
at_tty hunter2 hunter2 -- "$F" erin ro /ns/lab/
is "$RC" 0 "at a terminal: exit 0"
like "$OUT" "<Password for>erin: " "it asks for the password"
like "$OUT" "<Again:>" "and again"
ok "the password is not echoed" bash -c '! grep -q hunter2 <<<"$1"' _ "$OUT"
ok "the password typed works" pass_ok erin hunter2

before=$(state)
at_tty hunter2 hunter3 -- "$F" erin rw /
is "$RC" 1 "two different passwords: exit 1"
like "$OUT" "the two passwords differ: nothing changed" "and it says so"
is "$(state)" "$before" "the file is unchanged"
at_tty "" -- "$F" erin rw /
like "$OUT" "an empty password is refused: nothing changed" "an empty password at a terminal"
is "$(state)" "$before" "the file is unchanged"

# --- errors leave the file as it was
refused() { # refused INPUT REGEX DESC ARGS...
	local input=$1 re=$2 desc=$3
	shift 3
	pw "$input" "$@"
	is "$RC" 1 "$desc: exit 1"
	like "$OUT" "$re" "$desc: the message"
	is "$(state)" "$before" "$desc: the file is unchanged"
}
refused '\n' 'an empty password is refused: nothing changed' "an empty password" "$F" erin
refused '' 'no password on standard input: nothing changed' "no input at all" "$F" erin
refused "$(printf 'x%.0s' {1..73})\n" 'only the first 72 bytes' "a password of 73 bytes" "$F" erin
refused 'x\n' '"rx" is not an access kind: use rw, ro or admin' "access rx" "$F" erin rx /
refused 'x\n' '"ns/lab" is not a path of the tree: it must start with /' "a relative path" \
	"$F" erin rw ns/lab
refused 'x\n' '"/ns/../x" is not a path of the tree: "." and ".." are not allowed' "a .. path" \
	"$F" erin rw /ns/../x
refused 'x\n' '"/ns//lab" is not a path of the tree: it has an empty component' "a // path" \
	"$F" erin rw /ns//lab
refused 'x\n' '"er!n" is not a user name' "a bad user name" "$F" 'er!n'
refused 'x\n' '"3" is not a bcrypt cost: use 4 to 31' "cost 3" -c 3 "$F" erin
refused '' 'erin has no line for /ns/other/ in .*: nothing changed' "-d of a missing line" \
	-d "$F" erin /ns/other
refused '' 'nobody has no line in' "-d of an unknown user" -d "$F" nobody
pw 'x\n' "$F" erin rw / extra
is "$RC" 2 "too many arguments: exit 2"
like "$OUT" "^usage: vmfs-passwd" "with the usage"
is "$(state)" "$before" "the file is unchanged"

# a line vmfs would refuse, written by hand: the command refuses to write on top of it
sed -i 's/^carol rw/carol rx/' "$F"
before=$(state)
refused 'x\n' "^vmfs-passwd: $F:[0-9]+: \"rx\" is not an access kind: use rw, ro or admin: nothing changed" \
	"a hand-made bad line elsewhere (named by the real file and line)" "$F" erin rw /
is "$(ls "$T" | grep -c 'web.passwd.')" 0 "no temporary file is left behind"
sed -i 's/^carol rx/carol rw/' "$F"

# --- -d
pw '' -d "$F" alice /ns/lab
is "$(fields | grep alice)" "alice rw /" "-d USER PATH removes that line only"
like "$OUT" "1 line of alice removed" "and says so"
pw '' -d "$F" erin
is "$(fields | grep -c erin)" 0 "-d USER removes all of the user's lines"
is "$(head -1 "$F")" "# who may use the web door" "the comment is still there"

# --- mode, owner, links
chmod 0664 "$F"
pw 'kiwi\n' "$F" alice
is "$(stat -c %a "$F")" 644 "the mode stays, less the group's write (which vmfs refuses)"
ln -s web.passwd "$T/link"
pw 'lime\n' "$T/link" alice
ok "through a link: the link stays" test -L "$T/link"
ok "and its target is updated" pass_ok alice lime

printf 'mango\n' | "$PW" "$F" frank ro / >>"$ERRS" 2>&1
like "$(hash_of frank)" '^\$2b\$12\$' "the default cost is 12"

if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "$ERRS"; then
	echo "# sanitizer report from vmfs-passwd:"
	sed 's/^/#   /' "$ERRS" | head -40
	TAP_N=$((TAP_N + 1))
	echo "not ok $TAP_N - vmfs-passwd has no sanitizer reports"
	TAP_FAIL=$((TAP_FAIL + 1))
fi
done_testing
