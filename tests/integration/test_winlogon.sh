#!/bin/sh
# winlogon on a pseudo-terminal with the real PAM stack (config/pam.d/smss-winlogon through
# SMSS_PAM_CONFDIR) and a test user "smsstest" that exists only in this test's mount
# namespace (temporary copies of /etc/passwd, /etc/shadow and /etc/group bind-mounted over
# the host's): a wrong password is refused, the right one gives the user's login shell in
# the session, exit returns to the prompt, SIGUSR1 redraws it, auto-logon needs no
# password, SIGTERM ends the user's session, a session >= 2 asks smss (a stand-in SmApiPort
# here) to end it, and without a terminal winlogon only waits for signals.
set -u
bin=${SMSS_BIN:-build}
top=${SMSS_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
case $bin in /*) ;; *) bin=$top/$bin;; esac

skip_all() { echo "ok 1 - winlogon # SKIP $1"; echo "1..1"; exit 0; }

if [ -z "${SMSS_WINLOGON_TEST_NS:-}" ]; then
    [ "$(id -u)" -eq 0 ] || skip_all "needs root (PAM as root, a private mount namespace)"
    unshare -m true 2>/dev/null || skip_all "cannot create a mount namespace (unshare -m)"
    [ -x "$bin/tests/helpers/ptydrive" ] || skip_all "tests/helpers not built (make tests)"
    SMSS_WINLOGON_TEST_NS=1 exec unshare -m sh "$0" "$@"
fi

n=0
ok() { n=$((n + 1)); printf "ok %d - %s\n" "$n" "$1"; }
notok() { n=$((n + 1)); printf "not ok %d - %s\n" "$n" "$1"; }
check() { if eval "$2"; then ok "$1"; else notok "$1"; fi; }

d=$(mktemp -d)
chmod 755 "$d"
cleanup() {
    pkill -KILL -u 4242 2>/dev/null
    [ -n "${fake:-}" ] && kill "$fake" 2>/dev/null
    rm -rf "$d"
}
trap cleanup EXIT

. "$top/tests/integration/testuser.sh"
make_test_user "$d" || skip_all "$why"

export SMSS_PAM_CONFDIR="$top/config/pam.d"
WL='HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon'
# config RUNTIME-DIR AUTO-LOGON: the effective configuration smss would write.
config() {
    mkdir -p "$1"
    cat >"$1/config.reg" <<EOF2
Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Session Manager\Linux]
"ShutdownTimeout"=dword:000007d0
"PamService"="smss-winlogon"

[$WL]
"AutoAdminLogon"="$2"
"DefaultUserName"="smsstest"
EOF2
}
# drive NAME SESSION RUNTIME-DIR: run winlogon under ptydrive with the script $d/NAME.script.
drive() {
    SMSS_SESSION_ID=$2 SMSS_RUNTIME_DIR=$3 timeout 60 "$bin/tests/helpers/ptydrive" \
        -t "$d/$1.transcript" "$d/$1.script" "$bin/winlogon" >"$d/$1.steps" 2>"$d/$1.log"
}
# report NAME: one TAP line per step of the run.
report() {
    while read -r verdict _ num rest; do
        case $verdict in
        pass) ok "$1: $rest" ;;
        FAIL) notok "$1: $rest" ;;
        esac
    done <"$d/$1.steps"
    if grep -q '^FAIL' "$d/$1.steps"; then
        sed 's/^/# /' "$d/$1.steps" "$d/$1.log" | tail -n 60
    fi
}

# The probe line the user's shell answers: who, where, in which session.
probe='echo "ID=$(id -u)/H=$HOME/U=$USER/S=$SHELL/SID=$SMSS_SESSION_ID/SN=$SESSIONNAME/A0=$0/CT=$(ps -o tty= -p $$)/LEAD=$(ps -o sid= -p $$ | tr -d " ")-$$"'

# 1. Session 1, interactive: wrong password, right password, the shell, logoff, SIGUSR1.
config "$d/rt1" 0
cat >"$d/interactive.script" <<EOF
expect login: 
send smsstest\n
expect Password: 
send wrong-password\n
expect Logon failure: the user name or password is incorrect.
expect login: 
send smsstest\n
expect Password: 
send $password\n
send $probe\n
expect ID=4242/H=$d/home/U=smsstest/S=/bin/bash/SID=1/SN=Console/A0=-bash/CT=pts/
send exit\n
expect login: 
signal USR1
expect login: 
signal TERM
exit 0
EOF
drive interactive 1 "$d/rt1"
report interactive
check "the password was not echoed" "! grep -q '$password' '$d/interactive.transcript'"
check "the user's shell led its own POSIX session (sid = its PID)" \
    "grep -Eq 'LEAD=([0-9]+)-\\1' '$d/interactive.transcript'"
check "the logon failure is logged" "grep -q 'logon failure for \"smsstest\"' '$d/interactive.log'"

# 2. Session 1, auto-logon: no password asked; logoff waits for Enter; SIGUSR1 while logged
#    on is shown to the user; SIGTERM ends the whole user session and winlogon exits 0.
config "$d/rt2" 1
cat >"$d/auto.script" <<EOF
send echo "AUTO=\$(id -un)"\n
expect AUTO=smsstest
absent Password:
absent login:
send exit\n
expect Press Enter to log on again.
send \n
send echo "AGAIN=\$(id -u)"; sleep 7331 &\n
expect AGAIN=4242
signal USR1
expect Secure attention sequence received
signal TERM
exit 0
EOF
drive auto 1 "$d/rt2"
report auto
check "SIGUSR1 while logged on is logged" \
    "grep -q 'Secure attention sequence received while smsstest is logged on' '$d/auto.log'"
# Processes of the user still alive (zombies awaiting their reaper are no longer running).
alive_user_processes() {
    ps -eo pid=,uid=,stat=,args= | awk '$2 == 4242 && $3 !~ /^Z/ || /sleep 7331/ && !/awk/ && $3 !~ /^Z/'
}
sleep 0.2
alive_user_processes | sed 's/^/# left: /'
check "SIGTERM left no process of the user (background job included)" \
    "[ -z \"\$(alive_user_processes)\" ]"

# 3. Session 2: logoff asks smss to end the session (SM_STOP_CSR), then winlogon exits 0.
config "$d/rt3" 1
"$bin/tests/helpers/fake_smapi" "$d/rt3/SmApiPort" 0 >"$d/fake.out" 2>&1 &
fake=$!
i=0
while [ ! -S "$d/rt3/SmApiPort" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
cat >"$d/session2.script" <<EOF
send echo "S2=\$SMSS_SESSION_ID/\$SESSIONNAME"\n
expect S2=2/Session2
send exit\n
exit 0
EOF
drive session2 2 "$d/rt3"
report session2
wait "$fake"
fake=
check "SM_STOP_CSR for session 2 reached SmApiPort" \
    "grep -q 'StopCsr type=6 length=8 session=2 exit_status=0' '$d/fake.out'"

# 4. No terminal: winlogon only waits for signals.
config "$d/rt4" 0
: >"$d/none.log"
SMSS_SESSION_ID=3 SMSS_RUNTIME_DIR="$d/rt4" SMSS_TERMINAL= "$bin/winlogon" 2>"$d/none.log" &
wl=$!
i=0
while ! grep -q 'no terminal' "$d/none.log" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
kill -USR1 "$wl"
sleep 0.2
kill -TERM "$wl"
wait "$wl"
status=$?
check "without a terminal: SIGUSR1 noted, SIGTERM ends winlogon with 0" \
    "[ $status -eq 0 ] && grep -q 'Secure attention sequence received (no terminal' '$d/none.log'"
echo "1..$n"
