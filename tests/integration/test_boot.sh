#!/bin/sh
# The seeds' normal behaviour, process by process, on a real boot of smss as PID 1 in a
# sandbox (new PID, mount, IPC and UTS namespaces): the master, the session child
# instances, csrss/wininit/winlogon, per-session named objects, one master only, a
# service restarted by wininit, the crash path, orderly shutdown, no zombies.
set -u
bin=${SMSS_BIN:-build}
top=${SMSS_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
case $bin in /*) ;; *) bin=$top/$bin;; esac
n=0
ok() { n=$((n + 1)); printf "ok %d - %s\n" "$n" "$1"; }
notok() { n=$((n + 1)); printf "not ok %d - %s\n" "$n" "$1"; shift; for l in "$@"; do printf '#   %s\n' "$l"; done; }
check() { name=$1; shift; if "$@"; then ok "$name"; else notok "$name" "failed: $*"; fi; }

if [ "$(id -u)" -ne 0 ] || ! unshare --pid --fork --mount true 2>/dev/null; then
    echo "ok 1 - boot # SKIP needs root and namespaces"; echo "1..1"; exit 0
fi
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
export PATH="$bin:$PATH"
cgroups_before=$(ls -d /sys/fs/cgroup/smss-* /sys/fs/cgroup/unified/smss-* 2>/dev/null | wc -l)

# Inside the sandbox: write what the tests check into files of $d.
cat >"$d/inspect.sh" <<'INNER'
out=$1
smssctl tree --json >"$out/tree.json"
ps -eo pid=,ppid=,user=,nice=,args= >"$out/ps.txt"
wininit=$(jq -r '.[] | select(.name=="wininit") | .pid' "$out/tree.json")
# Named objects of session 1 (this command's) must not be visible in session 0.
echo hello >/dev/shm/session1-object
ipcmk -Q >/dev/null
ls "/proc/$wininit/root/dev/shm" >"$out/session0-shm.txt"
ls /dev/shm >"$out/session1-shm.txt"
nsenter -t "$wininit" -i ipcs -q >"$out/session0-ipc.txt"
ipcs -q >"$out/session1-ipc.txt"
# A second master is refused and names the first.
smss --runtime-dir "$SMSS_RUNTIME_DIR" >"$out/second.out" 2>&1; echo $? >"$out/second.rc"
grep -l ' Z ' /proc/[0-9]*/stat >"$out/zombies.txt" 2>/dev/null
exit 0
INNER

"$bin/smss" --sandbox -- sh "$d/inspect.sh" "$d" 2>"$d/log.txt"
rc=$?
check "sandbox boot runs the command and exits 0" [ "$rc" -eq 0 ]

jqt() { jq -e "$1" "$d/tree.json" >/dev/null; }
check "master is PID 1 with parent 0" jqt '.[] | select(.role=="master") | .pid==1 and .ppid==0'
check "master runs as root with no arguments" jqt '.[] | select(.role=="master") | .user=="root" and .cmdline==["smss"]'
check "master has NT base priority 11 (nice -3)" jqt '.[] | select(.role=="master") | .nice==-3'
check "exactly one smss process is left once boot completes" \
    [ "$(awk '$5 ~ /(^|\/)smss$/ && NF==5' "$d/ps.txt" | wc -l)" -eq 1 ]
check "two session child instances, each 'smss' with two 8-hex-digit arguments, gone" \
    jqt '[.[] | select(.role=="session-child" and .exited and (.cmdline|length)==3 and (.cmdline[1]|test("^[0-9a-f]{8}$")) and (.cmdline[2]|test("^[0-9a-f]{8}$")))] | length==2'
check "csrss and wininit in session 0, created by the exited child of session 0" \
    jqt '([.[] | select(.session==0 and .role=="session-child")][0].pid) as $c | [.[] | select(.session==0 and (.name=="csrss" or .name=="wininit") and .creator_pid==$c)] | length==2'
check "csrss and winlogon in session 1, created by the exited child of session 1" \
    jqt '([.[] | select(.session==1 and .role=="session-child")][0].pid) as $c | [.[] | select(.session==1 and (.name=="csrss" or .name=="winlogon") and .creator_pid==$c)] | length==2'
check "csrss, wininit and winlogon run as root with base priority 13 (nice -5)" \
    jqt '[.[] | select(.name=="csrss" or .name=="wininit" or .name=="winlogon") | select(.user=="root" and .nice==-5)] | length==4'
check "csrss, wininit and winlogon are children of the master after their creator exited" \
    jqt '[.[] | select(.name=="csrss" or .name=="wininit" or .name=="winlogon") | select(.ppid==1)] | length==4'
check "session 1's /dev/shm object is invisible in session 0" \
    sh -c "grep -q session1-object '$d/session1-shm.txt' && ! grep -q session1-object '$d/session0-shm.txt'"
check "session 1's SysV message queue is invisible in session 0" \
    sh -c "grep -q '^0x' '$d/session1-ipc.txt' && ! grep -q '^0x' '$d/session0-ipc.txt'"
check "a second master is refused with status 1" [ "$(cat "$d/second.rc")" -eq 1 ]
check "the refusal names the running master's PID" grep -q "another master Session Manager is running (PID 1" "$d/second.out"
check "no zombie process" [ ! -s "$d/zombies.txt" ]
check "the boot log shows every phase in NT's order" sh -c "
    grep -o 'phase [A-Za-z].*done' '$d/log.txt' | sed 's/  *done//' | tr '\n' '|' |
    grep -q 'configuration.*single instance.*object directories.*BootExecute.*pending file renames.*KnownDLLs.*paging files.*environment.*SetupExecute.*Kmode.*SmApiPort.*initial sessions.*Execute'"

# SIGTERM to PID 1: orderly shutdown, the highest session first, initial process first.
"$bin/smss" --sandbox -- sh -c 'kill -TERM 1; sleep 10' 2>"$d/term.txt"
rc=$?
check "SIGTERM: the master exits 0" [ "$rc" -eq 0 ]
# (a process that had not yet set up its signal handling "was killed" by the SIGTERM)
order=$(grep -oE '(winlogon|csrss|wininit) \(PID [0-9]+, session [01]\) (exited|was killed)|shutdown complete' "$d/term.txt" |
    sed 's/ (PID [0-9]*,/ (/; s/was killed/exited/' | tr '\n' '|')
check "SIGTERM: winlogon, csrss of session 1, then wininit, csrss of session 0" \
    [ "$order" = "winlogon ( session 1) exited|csrss ( session 1) exited|wininit ( session 0) exited|csrss ( session 0) exited|shutdown complete|" ]

# A service configured in the registry: started by wininit, restarted when killed.
mkdir -p "$d/etc"
cp "$top/tests/data/boot/service.reg" "$d/etc/smss.reg"
cat >"$d/svc.sh" <<'INNER'
first=$(pgrep -x -f '/bin/sleep 1000')
kill -9 "$first"
for i in $(seq 50); do
    second=$(pgrep -x -f '/bin/sleep 1000')
    [ -n "$second" ] && [ "$second" != "$first" ] && break
    sleep 0.1
done
parent=$(ps -o comm= -p "$(ps -o ppid= -p "$second" | tr -d ' ')")
echo "$first $second $parent" >"$1/svc.txt"
INNER
"$bin/smss" --sandbox --merge "$d/etc/smss.reg" -- sh "$d/svc.sh" "$d" 2>"$d/svc-log.txt"
read -r first second parent <"$d/svc.txt" 2>/dev/null || first=
check "wininit started the automatic service" [ -n "$first" ]
check "the killed service was restarted with a new PID" [ -n "${second:-}" ] && [ "${second:-}" != "$first" ]
check "the service runs under wininit" [ "${parent:-}" = "wininit" ]

# Sessions without their own cgroup or IPC namespace: ending one must find its processes
# by descent, never take the namespace it shares with everyone (session 0's wininit).
cat >"$d/noiso.reg" <<'REG'
Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Session Manager\Linux]
"SessionPrivateShm"=dword:00000000
"SessionIpcNamespace"=dword:00000000
"SessionCgroup"=dword:00000000
REG
"$bin/smss" --sandbox --merge "$d/noiso.reg" -- sh -c '
    smssctl session create >/dev/null || exit 3
    pid=$(smssctl exec --session 2 -- /bin/sleep 60) || exit 4
    smssctl session terminate 2 || exit 5
    [ ! -d /proc/$pid ] || exit 6
    pgrep -x wininit >/dev/null || exit 7' 2>"$d/noiso.txt"
rc=$?
check "without per-session namespaces, ending a session ends its own processes only" [ "$rc" -eq 0 ]

# Killing a critical process: the system crash, its status and record, nothing left.
for victim in wininit csrss; do
    rm -rf "$d/state"
    "$bin/smss" --sandbox --state-dir "$d/state" -- sh -c "kill -9 \$(pgrep -x $victim | head -1); sleep 10" 2>"$d/crash-$victim.txt"
    rc=$?
    check "killing $victim: exit status 26 (0xC000021A)" [ "$rc" -eq 26 ]
    ntname=$( [ $victim = wininit ] && echo "Windows Start-Up Application" || echo "Windows SubSystem")
    check "killing $victim: STATUS_SYSTEM_PROCESS_TERMINATED names $ntname" \
        grep -q "STATUS_SYSTEM_PROCESS_TERMINATED (0xC000021A): the critical process $ntname" "$d/crash-$victim.txt"
    check "killing $victim: crash record with status, process and exit status" \
        sh -c "jq -e '.status==\"0xC000021A\" and .process==\"$ntname\" and .exit_status==137' '$d/state/crash.json' >/dev/null"
done

# Not PID 1: a subreaper master; the crash path must leave no process behind.
mkdir -p "$d/run2"
( cd / && exec timeout -s KILL 60 "$bin/smss" --runtime-dir "$d/run2" --state-dir "$d/state2" ) 2>"$d/sub.txt" &
master=$!
for i in $(seq 100); do grep -q "boot complete" "$d/sub.txt" 2>/dev/null && break; sleep 0.05; done
check "not PID 1: the master says it runs as a child subreaper" grep -q "child subreaper" "$d/sub.txt"
wininit=$(grep -oE 'session 0 stands: csrss PID [0-9]+, [a-z]+ PID [0-9]+' "$d/sub.txt" | awk '{print $NF}')
kids=$(grep -oE '(csrss|winlogon) PID [0-9]+' "$d/sub.txt" | awk '{print $3}' | tr '\n' ' ')
kill -9 "$wininit" 2>/dev/null
wait "$master"; rc=$?
check "not PID 1: killing wininit crashes with status 26" [ "$rc" -eq 26 ]
left=0; for p in $wininit $kids; do [ -d "/proc/$p" ] && left=1; done
check "not PID 1: no process of the system is left behind" [ "$left" -eq 0 ]
check "not PID 1: the sessions' cgroups are gone after the crash" \
    sh -c "! ls -d /sys/fs/cgroup/unified/smss-$master-* /sys/fs/cgroup/smss-$master-* 2>/dev/null | grep -q ."
check "not PID 1: the KnownDlls snapshot mount is gone after the crash" \
    sh -c "! grep -q '$d/run2/KnownDlls' /proc/self/mountinfo"
check "no cgroup of any boot of this test is left on the host" \
    [ "$(ls -d /sys/fs/cgroup/smss-* /sys/fs/cgroup/unified/smss-* 2>/dev/null | wc -l)" -eq "$cgroups_before" ]
echo "1..$n"
