#!/bin/sh
# A logon on the console of a real boot: smss as PID 1 in a sandbox, session 1's terminal
# a pseudo-terminal this test types on. winlogon asks through the real PAM stack: a wrong
# password is refused, the right one gives a shell as the user in session 1 (as the master's
# tree says), logoff returns to the prompt, and SIGTERM shuts the system down in order.
set -u
bin=${SMSS_BIN:-build}
top=${SMSS_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
case $bin in /*) ;; *) bin=$top/$bin;; esac
skip_all() { echo "ok 1 - logon # SKIP $1"; echo "1..1"; exit 0; }
if [ -z "${SMSS_LOGON_TEST_NS:-}" ]; then
    [ "$(id -u)" -eq 0 ] || skip_all "needs root"
    unshare --pid --fork --mount true 2>/dev/null || skip_all "cannot create namespaces"
    [ -x "$bin/tests/helpers/ptydrive" ] || skip_all "tests/helpers not built (make tests)"
    SMSS_LOGON_TEST_NS=1 exec unshare -m sh "$0" "$@"
fi
n=0
ok() { n=$((n + 1)); printf "ok %d - %s\n" "$n" "$1"; }
notok() { n=$((n + 1)); printf "not ok %d - %s\n" "$n" "$1"; }
d=$(mktemp -d)
chmod 755 "$d"
trap 'rm -rf "$d"' EXIT
. "$top/tests/integration/testuser.sh"
make_test_user "$d" || skip_all "$why"

# Boot with session 1's console on the pty ptydrive made (its path in SMSS_TERMINAL).
cat >"$d/boot.sh" <<BOOT
printf '%s\n' 'Windows Registry Editor Version 5.00' '' \
  '[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Linux]' \
  "\"ConsoleTerminal\"=\"\$SMSS_TERMINAL\"" \
  '"PamConfigDirectory"="$top/config/pam.d"' >"$d/console.reg"
exec "$bin/smss" --sandbox --merge "$d/console.reg"
BOOT
# What the logged-on shell runs: who it is, its session, and what the master's tree says of
# the shell itself (the probe's parent).
cat >"$d/probe.sh" <<'PROBE'
tree=$("$SystemRoot/smssctl" tree --json | jq -r --argjson p "$PPID" '.[] | select(.pid==$p) | [.session,.role,.user] | map(tostring) | join("-")')
echo "ID=$(id -u)/SID=$SMSS_SESSION_ID/TREE=$tree"
PROBE
chmod 644 "$d/probe.sh"
probe="sh $d/probe.sh"
cat >"$d/logon.script" <<SCRIPT
timeout 20
expect login: 
send smsstest\n
expect Password: 
send not-the-password\n
expect Logon failure: the user name or password is incorrect.
expect login: 
send smsstest\n
expect Password: 
send $password\n
send $probe\n
expect ID=4242/SID=1/TREE=1-user-smsstest
send exit\n
expect login: 
signal TERM
exit 0
SCRIPT
timeout 90 "$bin/tests/helpers/ptydrive" -t "$d/transcript" "$d/logon.script" sh "$d/boot.sh" \
    >"$d/steps" 2>"$d/log"
while read -r verdict _ num rest; do
    case $verdict in
    pass) ok "$rest" ;;
    FAIL) notok "$rest" ;;
    esac
done <"$d/steps"
if grep -q '^FAIL' "$d/steps"; then
    sed 's/^/# /' "$d/steps" "$d/transcript" | tail -n 40
    tail -20 "$d/log" | sed 's/^/# /'
fi
if grep -q "shutdown complete; exit status 0" "$d/log"; then ok "SIGTERM shut the system down in order"
else notok "SIGTERM shut the system down in order"; fi
echo "1..$n"
