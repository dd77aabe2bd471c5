#!/bin/sh
# The SM API on a real boot (smss as PID 1 in a sandbox): every message's success and
# failure replies, who may call, a process claiming to be csrss, hostile and silent
# clients, 200 clients creating and terminating sessions at once with nothing leaked,
# and StartCsr failing half-way leaving nothing behind.
set -u
bin=${SMSS_BIN:-build}
top=${SMSS_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
case $bin in /*) ;; *) bin=$top/$bin;; esac
if [ "$(id -u)" -ne 0 ] || ! unshare --pid --fork --mount true 2>/dev/null; then
    echo "ok 1 - api # SKIP needs root and namespaces"; echo "1..1"; exit 0
fi
d=$(mktemp -d)
chmod 755 "$d"
trap 'rm -rf "$d"' EXIT

cat >"$d/inside.sh" <<'INNER'
# Runs in session 1 of the sandbox; prints "PASS what" / "FAIL what: why" lines.
out=$1 abuse=$2
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
expect() { # expect WHAT STATUS COMMAND...: the command's exit status
    what=$1 want=$2; shift 2
    "$@" >"$out/last.out" 2>&1; got=$?
    if [ "$got" -eq "$want" ]; then pass "$what"; else fail "$what" "exit $got, wanted $want: $(head -c 300 "$out/last.out")"; fi
}
grepout() { if grep -q "$2" "$out/last.out"; then pass "$1"; else fail "$1" "no '$2' in: $(head -c 300 "$out/last.out")"; fi; }
count_procs() { ls -d /proc/[0-9]* | wc -l; }
master_fds() { ls /proc/1/fd | wc -l; }
cgroups() { cg=$(smssctl query --json | jq -r '.sessions[0].cgroup' | xargs dirname 2>/dev/null); ls -d "$cg"/session-* 2>/dev/null | wc -l; }

expect "StartCsr creates a session" 0 smssctl session create --json
grepout "StartCsr replies with session 2 and both PIDs" '"session": 2, "csrss_pid": [1-9][0-9]*, "initial_pid": [1-9]'
expect "StartCsr of an existing session is refused" 1 smssctl session create --id 1
grepout "the refusal says the session exists" "session 1 exists"
expect "ExecPgm starts a program in session 2" 0 smssctl exec --session 2 -- /bin/sleep 60
pid=$(cat "$out/last.out")
if [ -n "$pid" ] && [ "$(cat /proc/$pid/ns/ipc 2>/dev/null; readlink /proc/$pid/ns/ipc)" = "$(readlink /proc/$(smssctl query --json | jq '.sessions[] | select(.session==2) | .csrss_pid')/ns/ipc)" ]; then
    pass "the program runs in session 2's IPC namespace"; else fail "the program runs in session 2's IPC namespace" "pid $pid"; fi
expect "ExecPgm in a session that does not exist is refused" 1 smssctl exec --session 9 -- /bin/true
grepout "the refusal names the missing session" "session 9 has no Windows subsystem"
expect "ExecPgm of a program that does not exist fails" 1 smssctl exec --session 2 -- /nonexistent/program
grepout "the failure names the program" "/nonexistent/program"
expect "LoadDeferedSubsystem starts Posix in the caller's session" 0 smssctl subsystem load posix
sleep 0.3
if smssctl query --json | jq -e '.sessions[] | select(.session==1) | .subsystems | map(.name) | index("Posix")' >/dev/null; then
    pass "the Posix subsystem registered in session 1"; else fail "the Posix subsystem registered in session 1" "not in the query"; fi
expect "LoadDeferedSubsystem twice is refused" 1 smssctl subsystem load Posix
grepout "the refusal says it already runs" "already runs"
expect "LoadDeferedSubsystem of a name not in Optional is refused" 1 smssctl subsystem load Nonesuch
grepout "the refusal names SubSystems\\\\Optional" "not among SubSystems"
expect "Query answers" 0 smssctl query --json
expect "StopCsr ends session 2" 0 smssctl session terminate 2
if [ ! -d "/proc/$pid" ] && [ ! -d "$SMSS_RUNTIME_DIR/Sessions/2" ]; then
    pass "nothing of session 2 is left (its program, its directory)"; else fail "nothing of session 2 is left" "pid $pid or Sessions/2 remains"; fi
expect "StopCsr of a session that does not exist is refused" 1 smssctl session terminate 9
grepout "the refusal says there is no such session" "no session 9"
expect "StopCsr of session 0 is refused" 1 smssctl session terminate 0

# Who may call.
nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
expect "a non-root caller may not create sessions" 1 $nobody smssctl session create
grepout "the refusal says it is for root" "creating sessions is for root"
expect "a non-root caller may not shut the system down" 1 $nobody smssctl shutdown
smssctl session create --id 5 >/dev/null
expect "a non-root caller may not end another session" 1 $nobody smssctl session terminate 5
grepout "the refusal says who may" "is for root or the session's own processes"
smssctl session terminate 5
expect "a non-root caller may still read the tree" 0 $nobody smssctl tree
expect "a non-root caller may start a program in its own session" 0 $nobody smssctl exec --session 1 -- /bin/sleep 30
upid=$(cat "$out/last.out")
[ "$(stat -c %u /proc/$upid 2>/dev/null)" = 65534 ] && pass "that program runs as the caller, not as root" ||
    fail "that program runs as the caller, not as root" "PID $upid uid $(stat -c %u /proc/$upid 2>/dev/null)"
kill "$upid" 2>/dev/null
expect "a non-root caller may not start a program as root" 1 $nobody smssctl exec --session 1 --user root -- /bin/true
expect "a non-root caller may not start a program in another session" 1 $nobody smssctl exec --session 0 -- /bin/true
SMSS_SESSION_ID=1 "$SMSS_BIN_DIR/csrss" >"$out/last.out" 2>&1; rc=$?
if [ $rc -ne 0 ] && grep -q "was not started by smss as a subsystem" "$out/last.out"; then
    pass "a process claiming to be csrss is refused registration"; else fail "a process claiming to be csrss is refused registration" "exit $rc: $(cat "$out/last.out")"; fi
"$abuse" plain "$SMSS_RUNTIME_DIR"

# Misbehaving clients.
"$abuse" hostile "$SMSS_RUNTIME_DIR"
"$abuse" silent "$SMSS_RUNTIME_DIR"

# StartCsr failing after csrss started: nothing left behind.
before=$(count_procs)
expect "StartCsr with an initial command that cannot start fails" 1 smssctl session create --command /nonexistent/winlogon
grepout "the failure says nothing of the session is left" "nothing of it is left"
# The undo runs on after the reply: give it a moment (bounded).
for i in $(seq 50); do [ "$(count_procs)" -le "$before" ] && [ ! -d "$SMSS_RUNTIME_DIR/Sessions/2" ] && break; sleep 0.1; done
if [ "$(count_procs)" -le "$before" ] && [ ! -d "$SMSS_RUNTIME_DIR/Sessions/2" ] &&
   [ "$(smssctl sessions --json | jq length)" -eq 2 ]; then
    pass "the failed StartCsr left no process, directory or session"; else fail "the failed StartCsr left nothing behind" "processes $before -> $(count_procs)"; fi

# 200 clients at once.
procs=$(count_procs) fds=$(master_fds) cg=$(cgroups)
"$abuse" stress "$SMSS_RUNTIME_DIR" 200
sleep 0.5
[ "$(smssctl sessions --json | jq length)" -eq 2 ] && pass "after the storm only sessions 0 and 1 remain" || fail "after the storm only sessions 0 and 1 remain" "$(smssctl sessions)"
[ "$(count_procs)" -le "$procs" ] && pass "no process leaked" || fail "no process leaked" "$procs -> $(count_procs)"
[ "$(master_fds)" -le "$fds" ] && pass "no descriptor of the master leaked" || fail "no descriptor of the master leaked" "$fds -> $(master_fds)"
[ "$(cgroups)" -le "$cg" ] && pass "no cgroup leaked" || fail "no cgroup leaked" "$cg -> $(cgroups)"
[ "$(ls "$SMSS_RUNTIME_DIR/Sessions" | wc -l)" -eq 2 ] && pass "no session directory leaked" || fail "no session directory leaked" "$(ls "$SMSS_RUNTIME_DIR/Sessions")"
exit 0
INNER

SMSS_BIN_DIR=$bin "$bin/smss" --sandbox -- env SMSS_BIN_DIR="$bin" sh "$d/inside.sh" "$d" "$bin/tests/helpers/smapi_abuse" >"$d/results.txt" 2>"$d/log.txt"
rc=$?
n=0
while IFS= read -r line; do
    case $line in
    "PASS "*) n=$((n + 1)); echo "ok $n - ${line#PASS }";;
    "FAIL "*) n=$((n + 1)); echo "not ok $n - ${line#FAIL }";;
    esac
done <"$d/results.txt"
n=$((n + 1))
if [ $rc -eq 0 ]; then echo "ok $n - the sandbox shut down cleanly"; else echo "not ok $n - the sandbox shut down cleanly (exit $rc)"; tail -20 "$d/log.txt" | sed 's/^/#   /'; fi
echo "1..$n"
