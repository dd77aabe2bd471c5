#!/bin/sh
# wininit run on its own (no smss): the automatic services start in order, a killed one is
# restarted with a new PID, one that exits at once is restarted with a growing delay, a
# missing image is retried, a manual one never starts, SIGTERM stops them in reverse start
# order (SIGKILL for one that ignores SIGTERM), wininit exits 0 and leaves nothing behind.
set -u
bin=${SMSS_BIN:-build}
n=0
ok() { n=$((n + 1)); printf "ok %d - %s\n" "$n" "$1"; }
notok() { n=$((n + 1)); printf "not ok %d - %s\n" "$n" "$1"; }
check() { if eval "$2"; then ok "$1"; else notok "$1"; fi; }

d=$(mktemp -d)
wpid=
cleanup() {
    [ -n "$wpid" ] && kill -KILL "$wpid" 2>/dev/null
    pkill -KILL -f "$d/" 2>/dev/null
    rm -rf "$d"
}
trap cleanup EXIT
mkdir "$d/bin"
# The services' children run a copy of sleep, so the leftovers of this run are findable.
cp "$(command -v sleep)" "$d/bin/svcsleep"

# UTF-16LE hex for a REG_EXPAND_SZ value, as regedit writes hex(2).
hex2() {
    printf '%s\0' "$1" | iconv -f UTF-8 -t UTF-16LE | od -An -v -tx1 |
        tr -s ' \n' ',,' | sed 's/^,//; s/,$//'
}

# A long-running service: records its PID, its stop (after an optional pause) in the
# shared stop-order file, and waits on a child so the trap runs at once.
long_service() { # NAME PAUSE TRAP-ACTION
    cat >"$d/bin/$1.sh" <<EOS
#!/bin/sh
echo \$\$ >>"$d/$1.pids"
trap '$3' TERM
"$d/bin/svcsleep" 6017 &
wait \$!
wait \$!
EOS
    chmod +x "$d/bin/$1.sh"
}
long_service svc1 0 "echo svc1 >>$d/stop-order; exit 0"
long_service svcB 0 "sleep 0.5; echo svcB >>$d/stop-order; exit 0"
long_service svcC 0 ""
cat >"$d/bin/svc2.sh" <<EOS
#!/bin/sh
echo \$\$ >>"$d/svc2.starts"
exit 1
EOS
cat >"$d/bin/manual.sh" <<EOS
#!/bin/sh
echo started >"$d/manual.started"
EOS
chmod +x "$d/bin/svc2.sh" "$d/bin/manual.sh"

S='HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services'
cat >"$d/config.reg" <<EOF2
Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Session Manager\Linux]
"ShutdownTimeout"=dword:000007d0

[$S\svc1]
"ImagePath"=hex(2):$(hex2 '%SVCDIR%/bin/svc1.sh --from-expansion')
"Start"=dword:00000002
"RestartDelay"=dword:000000c8

[$S\svc2]
"ImagePath"="svc2.sh"
"Start"=dword:00000002
"RestartDelay"=dword:00000064

[$S\manual]
"ImagePath"="$d/bin/manual.sh"
"Start"=dword:00000003

[$S\missing]
"ImagePath"="$d/bin/no-such-image"
"Start"=dword:00000002
"RestartDelay"=dword:00000064

[$S\svcB]
"ImagePath"="$d/bin/svcB.sh"
"Start"=dword:00000002

[$S\svcC]
"ImagePath"="$d/bin/svcC.sh"
"Start"=dword:00000002
EOF2

# Wait up to 5 s for a shell condition.
wait_for() {
    i=0
    while [ $i -lt 100 ]; do
        eval "$1" && return 0
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }

SMSS_RUNTIME_DIR=$d SMSS_SESSION_ID=0 SVCDIR=$d PATH="$d/bin:$PATH" \
    "$bin/wininit" 2>"$d/wininit.log" &
wpid=$!

check "svc1 started (ImagePath REG_EXPAND_SZ expanded)" 'wait_for "[ -s $d/svc1.pids ]"'
check "svcB and svcC started" 'wait_for "[ -s $d/svcB.pids ] && [ -s $d/svcC.pids ]"'
check "the start of svc1 is logged with its PID" \
    'grep -q "service svc1 started: PID $(head -n1 $d/svc1.pids)" "$d/wininit.log"'
pid1=$(head -n1 "$d/svc1.pids" 2>/dev/null)
kill -KILL "$pid1" 2>/dev/null
check "svc1 killed: restarted with a new PID" \
    'wait_for "[ \$(lines $d/svc1.pids) -ge 2 ]" && [ "$(sed -n 2p $d/svc1.pids)" != "$pid1" ]'

sleep 1.5
starts=$(lines "$d/svc2.starts")
check "svc2 (found in Path) restarted with back-off: $starts starts in ~1.5 s (3..7)" \
    '[ "$starts" -ge 3 ] && [ "$starts" -le 7 ]'
check "svc2's restart delay doubles: 100, 200, 400 ms" \
    'grep -q "service svc2: restart in 100 ms" "$d/wininit.log" &&
     grep -q "service svc2: restart in 200 ms" "$d/wininit.log" &&
     grep -q "service svc2: restart in 400 ms" "$d/wininit.log"'
check "a missing image is logged and retried with back-off" \
    '[ "$(grep -c "service missing cannot start: image .*not found or not executable" "$d/wininit.log")" -ge 2 ] &&
     grep -q "service missing: restart in 200 ms" "$d/wininit.log"'
check "the manual service (Start 3) was not started" '[ ! -e "$d/manual.started" ]'
zombies=0
for p in /proc/[0-9]*; do
    st=$(sed 's/.*) //' "$p/stat" 2>/dev/null) || continue
    set -- $st
    [ "${1:-}" = Z ] && [ "${2:-}" = "$wpid" ] && zombies=$((zombies + 1))
done
check "no zombie child under wininit while it runs" '[ "$zombies" -eq 0 ]'

kill -TERM "$wpid"
wait "$wpid"
status=$?
wpid_done=$wpid
wpid=
check "SIGTERM: wininit exits 0" '[ "$status" -eq 0 ]'
check "services stopped in reverse start order (svcB before svc1)" \
    '[ "$(cat $d/stop-order 2>/dev/null | tr "\n" " ")" = "svcB svc1 " ]'
check "svcC ignored SIGTERM and was killed" \
    'grep -q "service svcC (PID [0-9]*) did not stop in time: SIGKILL" "$d/wininit.log"'
ps -eo pid,ppid,stat,args | grep "$d/bin/" | grep -v grep | sed "s/^/# left: /"
check "no process left (services, their orphans, zombies)" \
    '! pgrep -f "$d/bin/" >/dev/null &&
     ! pgrep -P "$wpid_done" >/dev/null'
echo "1..$n"
sed 's/^/# /' "$d/wininit.log" | tail -n 40 >&2
