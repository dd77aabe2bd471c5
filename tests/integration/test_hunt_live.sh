#!/bin/sh
# smss-hunt live: this machine's /proc judged against the Linux baseline.
#  1. on a sandboxed boot of our own smss (smss --sandbox): clean, then findings for a
#     planted look-alike and a second long-lived smss (skipped until smss --sandbox exists);
#  2. on a process tree built here in a new PID namespace: a master "smss" as PID 1 (a
#     copy of cat, no arguments, nice -3) with csrss/wininit/winlogon (copies of sleep,
#     nice -5) in its directory: clean; then a look-alike "smmss" and a second "smss"
#     master: exactly those findings.
# TAP output.
set -u
BIN=${SMSS_BIN:-build}
BIN=$(cd "$BIN" && pwd)
HUNT=$BIN/smss-hunt
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# ---------------------------------------------------------------- 1. smss --sandbox
if timeout 60 "$BIN/smss" --sandbox -- true >/dev/null 2>&1; then
    if timeout 60 "$BIN/smss" --sandbox -- "$HUNT" live --format jsonl >"$T/sb.out" \
        2>"$T/sb.err"; then
        ok "live on a sandboxed smss boot is clean"
    else
        notok "live on a sandboxed smss boot is clean"; cat "$T/sb.out" "$T/sb.err"
    fi
    # A look-alike and a second master (a copy of cat named smss, reading a fifo that
    # never ends) beside the real boot.
    cp /bin/sleep "$T/smmss"
    cp /bin/cat "$T/smss"
    mkfifo "$T/sb.fifo"
    timeout 60 "$BIN/smss" --sandbox -- sh -c "'$T/smmss' 30 & exec 4<>'$T/sb.fifo';
        '$T/smss' <&4 & sleep 0.3; '$HUNT' live --format jsonl" >"$T/sb2.out" 2>"$T/sb2.err"
    rc=$?
    if grep -q '"id":"HUNT-P003".*"name":"smmss"' "$T/sb2.out" &&
        grep -q '"id":"HUNT-P007".*"name":"smss"' "$T/sb2.out"; then
        ok "live in the sandbox finds a look-alike and a second long-lived smss"
    else
        notok "live in the sandbox finds a look-alike and a second long-lived smss (rc=$rc)"
        cat "$T/sb2.out"; grep -v ': info: ' "$T/sb2.err"
    fi
    # The configuration smss runs with (its runtime directory's config.reg) is audited
    # too: a planted SubSystems entry, merged over the default, is found.
    printf 'Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\SubSystems]\n"Evil"="/tmp/evil"\n' >"$T/evil.reg"
    timeout 60 "$BIN/smss" --sandbox --merge "$T/evil.reg" -- "$HUNT" live --format jsonl \
        >"$T/sb3.out" 2>"$T/sb3.err"
    if grep -q '"id":"HUNT-C001".*"value":"Evil"' "$T/sb3.out" &&
        [ "$(grep -c '"id":"HUNT-P' "$T/sb3.out")" = 0 ]; then
        ok "live audits the configuration smss runs with"
    else
        notok "live audits the configuration smss runs with"; cat "$T/sb3.out"
        grep -v ': info: ' "$T/sb3.err"
    fi
else
    skip "live audits the configuration smss runs with" "smss --sandbox not available yet"
    skip "live on a sandboxed smss boot is clean" "smss --sandbox not available yet"
    skip "live in the sandbox finds a look-alike and a second long-lived smss" \
        "smss --sandbox not available yet"
fi

# ---------------------------------------------------------------- 2. a tree built here
if ! unshare --pid --fork --mount-proc --kill-child true >/dev/null 2>&1; then
    skip "live on a namespace tree is clean" "unshare --pid --mount-proc not permitted here"
    skip "live finds a look-alike and a second master" "unshare not permitted here"
    skip "live takes creators and sessions from processes.json" "unshare not permitted here"
    echo "1..$n"
    exit 0
fi
mkdir -p "$T/bin"
cp /bin/cat "$T/bin/smss"
for p in csrss wininit winlogon smmss; do cp /bin/sleep "$T/bin/$p"; done

# run_tree NAME EXTRA: boot the tree in a new PID namespace, run extra commands, then
# "smss-hunt live" inside it; leaves NAME.out, NAME.err and NAME.rc in $T.
run_tree() {
    name=$1 extra=$2
    mkfifo "$T/$name.fifo"
    HUNT_ARGS=${3:-} unshare --pid --fork --mount-proc --kill-child sh -c "
        cd '$T'
        nice -n -5 '$T/bin/csrss' 60 &
        nice -n -5 '$T/bin/wininit' 60 &
        nice -n -5 '$T/bin/winlogon' 60 &
        $extra
        ( sleep 0.5; '$HUNT' live \${HUNT_ARGS:---format jsonl} >'$T/$name.out' 2>'$T/$name.err';
          echo \$? >'$T/$name.rc' ) &
        exec 3<>'$T/$name.fifo'
        exec nice -n -3 '$T/bin/smss' <&3
    " &
    pid=$!
    i=0
    while [ ! -s "$T/$name.rc" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    # PID 1 of the namespace ignores SIGTERM; unshare --kill-child takes it down.
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

run_tree clean ""
if [ "$(cat "$T/clean.rc" 2>/dev/null)" = 0 ] && [ ! -s "$T/clean.out" ]; then
    ok "live on a namespace tree is clean"
else
    notok "live on a namespace tree is clean"
    cat "$T/clean.out" "$T/clean.err" 2>/dev/null
fi

mkfifo "$T/planted.fifo2"
run_tree planted "'$T/bin/smmss' 60 & exec 4<>'$T/planted.fifo2'; nice -n -3 '$T/bin/smss' <&4 &"
rc=$(cat "$T/planted.rc" 2>/dev/null)
look=$(grep -c '"id":"HUNT-P003".*"name":"smmss"' "$T/planted.out" 2>/dev/null)
second=$(grep -c '"id":"HUNT-P007".*"name":"smss"' "$T/planted.out" 2>/dev/null)
total=$(wc -l <"$T/planted.out" 2>/dev/null)
if [ "$rc" = 1 ] && [ "$look" = 1 ] && [ "$second" = 1 ] && [ "$total" = 2 ]; then
    ok "live finds a look-alike and a second master"
else
    notok "live finds a look-alike and a second master (rc=$rc look=$look second=$second total=$total)"
    cat "$T/planted.out" "$T/planted.err" 2>/dev/null
fi
# The state file of smss's runtime directory gives creators and sessions (PID 2 is the
# first process forked in the new namespace: csrss).
mkdir -p "$T/run"
echo '[{"pid":2,"creator_pid":77,"session":0,"role":"subsystem"},{"pid":3,"creator_pid":77,"session":0,"start_time":"2001-01-01T00:00:00Z"}]' >"$T/run/processes.json"
run_tree state "" "--tree --no-color --runtime-dir $T/run"
if grep -q '^├─ csrss 2 .*session 0 .*creator 77' "$T/state.out" &&
    ! grep -q 'wininit 3 .*creator 77' "$T/state.out"; then
    ok "live takes creators and sessions from processes.json (matching start times only)"
else
    notok "live takes creators and sessions from processes.json"; cat "$T/state.out" "$T/state.err"
fi
echo "1..$n"
