#!/bin/sh
# Delayed renames from the command line: smssctl movefile and smssctl pending (usage, exit
# statuses, absolute paths, protected paths, permissions, concurrent queuing, a torn queue
# tail), then the boot's applying through tests/helpers/pending_applier: outcomes in
# pending --last-boot, an interrupted boot resumed, the registry's pairs applied once, and
# a real ENOSPC on a small tmpfs losing nothing. TAP output.
# Environment: SMSS_BIN, SMSS_TOP.
set -u
: "${SMSS_BIN:?}" "${SMSS_TOP:?}"
ctl=$SMSS_BIN/smssctl
applier=$SMSS_BIN/tests/helpers/pending_applier
tmp=$(mktemp -d /var/tmp/test_pending_cli.XXXXXX)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
st=$tmp/state
n=0
ok() { n=$((n + 1)); printf 'ok %s - %s\n' "$n" "$1"; }
not_ok() { n=$((n + 1)); printf 'not ok %s - %s\n' "$n" "$1"; }
skip() { n=$((n + 1)); printf 'ok %s - %s # SKIP %s\n' "$n" "$1" "$2"; }
check() {
    name=$1; shift
    if "$@"; then ok "$name"; else not_ok "$name"; echo "#   failed: $*"; sed 's/^/#   /' "$tmp/out" | head -20; fi
}
count_ops() { grep -c '"operation"' "$1"; }
# A .reg multi-string value (hex(7), UTF-16LE) of ASCII strings.
hex7() {
    for s in "$@"; do
        [ -n "$s" ] && printf '%s' "$s" | od -An -v -tx1 | tr -s ' \n' '\n\n' | grep . | sed 's/$/,00/' | tr '\n' ','
        printf '00,00,'
    done
    printf '00,00'
}
SM='HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Session Manager'

# 1. --help everywhere, usage errors exit 2.
"$ctl" movefile --help >"$tmp/out" 2>&1 && grep -q 'delay-until-reboot' "$tmp/out" &&
    "$ctl" pending --help >>"$tmp/out" 2>&1 && grep -q 'last-boot' "$tmp/out" &&
    "$ctl" --help >>"$tmp/out" 2>&1 && grep -q 'movefile' "$tmp/out"
check "--help for smssctl, movefile and pending: exit 0" test $? -eq 0
"$ctl" movefile "$tmp/a" "$tmp/b" --state-dir "$st" >"$tmp/out" 2>&1; r1=$?
"$ctl" movefile --delay-until-reboot "$tmp/a" --state-dir "$st" >>"$tmp/out" 2>&1; r2=$?
"$ctl" movefile --delay-until-reboot --delete --replace-existing "$tmp/a" --state-dir "$st" >>"$tmp/out" 2>&1; r3=$?
"$ctl" pending --bogus >>"$tmp/out" 2>&1; r4=$?
"$ctl" nosuchcommand >>"$tmp/out" 2>&1; r5=$?
check "usage errors exit 2 (no --delay-until-reboot, one path, --delete with --replace-existing, bad option, bad command)" \
    test "$r1$r2$r3$r4$r5" = 22222

# 2. Queue: relative paths made absolute, a missing source refused with its path.
mkdir -p "$tmp/w/sub"
echo A >"$tmp/w/a"; echo C >"$tmp/w/c"; echo D >"$tmp/w/d"
(cd "$tmp/w" && "$ctl" movefile --delay-until-reboot a sub/../b --state-dir "$st") >"$tmp/out" 2>&1
check "movefile with relative paths: exit 0, queued as absolute paths" \
    grep -q "rename $tmp/w/a -> $tmp/w/b" "$tmp/out"
"$ctl" movefile --delay-until-reboot "$tmp/w/missing" "$tmp/w/x" --state-dir "$st" >"$tmp/out" 2>&1
check "movefile of a missing source: exit 2, the path named" \
    sh -c "test $? -eq 2 && grep -q '$tmp/w/missing' '$tmp/out'"
"$ctl" movefile --delay-until-reboot "$tmp/w/b" "$tmp/w/e" --state-dir "$st" >"$tmp/out" 2>&1
check "movefile of a source an earlier queued rename creates: accepted" test $? -eq 0
"$ctl" movefile --delay-until-reboot --replace-existing "$tmp/w/c" "$tmp/w/d" --state-dir "$st" >"$tmp/out" 2>&1 &&
    "$ctl" movefile --delay-until-reboot --delete "$tmp/w/e" --state-dir "$st" >>"$tmp/out" 2>&1
check "movefile --replace-existing and --delete: exit 0" test $? -eq 0
"$ctl" pending --json --state-dir "$st" >"$tmp/out" 2>&1
check "pending --json lists the four operations in order" \
    sh -c "test \$(grep -c '\"operation\"' '$tmp/out') -eq 4 &&
           grep -o '\"operation\": \"[a-z]*\"' '$tmp/out' | tr '\n' ' ' | grep -q 'rename.*rename.*replace.*delete'"
"$ctl" pending --state-dir "$st" >"$tmp/out" 2>&1
check "pending (table) shows them for people" grep -q "4 operations" "$tmp/out"

# 3. Protected paths and AllowProtectedRenames.
mkdir -p "$tmp/sys"; echo core >"$tmp/sys/core"
printf '%s\n' 'Windows Registry Editor Version 5.00' '' "[$SM\\Linux]" \
    "\"ProtectedPaths\"=hex(7):$(hex7 "$tmp/sys")" >"$tmp/prot.reg"
"$ctl" --config "$tmp/prot.reg" movefile --delay-until-reboot --replace-existing "$tmp/w/d" "$tmp/sys/core" \
    --state-dir "$tmp/st-prot" >"$tmp/out" 2>&1
check "a protected destination is refused: exit 1, AllowProtectedRenames named" \
    sh -c "test $? -eq 1 && grep -q AllowProtectedRenames '$tmp/out'"
printf '%s\n' "[$SM]" '"AllowProtectedRenames"=dword:00000001' >>"$tmp/prot.reg"
"$ctl" --config "$tmp/prot.reg" movefile --delay-until-reboot --replace-existing "$tmp/w/d" "$tmp/sys/core" \
    --state-dir "$tmp/st-prot" >"$tmp/out" 2>&1
check "with AllowProtectedRenames = 1 it is queued" test $? -eq 0

# 4. Permissions: root, or the configured API group.
if command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && getent group users >/dev/null; then
    gid=$(getent group users | cut -d: -f3)
    printf '%s\n' 'Windows Registry Editor Version 5.00' '' "[$SM\\Linux]" '"ApiGroup"="users"' >"$tmp/grp.reg"
    chmod 644 "$tmp/grp.reg"
    "$ctl" --config "$tmp/grp.reg" movefile --delay-until-reboot "$tmp/w/a" "$tmp/w/g1" --state-dir "$tmp/st-grp" >"$tmp/out" 2>&1
    setpriv --reuid=65534 --regid=65534 --clear-groups "$ctl" --config "$tmp/grp.reg" movefile \
        --delay-until-reboot "$tmp/w/a" "$tmp/w/g2" --state-dir "$tmp/st-grp" >"$tmp/out" 2>&1
    check "a user outside the API group is refused: exit 1, the group named" \
        sh -c "test $? -eq 1 && grep -q 'group users' '$tmp/out'"
    setpriv --reuid=65534 --regid=65534 --groups="$gid" "$ctl" --config "$tmp/grp.reg" movefile \
        --delay-until-reboot "$tmp/w/a" "$tmp/w/g3" --state-dir "$tmp/st-grp" >"$tmp/out" 2>&1
    check "a member of the API group queues (the queue file is group-writable)" test $? -eq 0
    setpriv --reuid=65534 --regid=65534 --clear-groups "$ctl" movefile --delay-until-reboot \
        "$tmp/w/a" "$tmp/w/g2" --state-dir "$tmp/st-grp" >"$tmp/out" 2>&1
    check "without an API group only root may queue: exit 1" test $? -eq 1
else
    for t in outside member nogroup; do skip "API group permissions ($t)" "needs root, setpriv and the group users"; done
fi

# 5. Many processes queuing at once: nothing lost, nothing interleaved.
i=0
while [ $i -lt 8 ]; do
    (j=0; while [ $j -lt 25 ]; do
        "$ctl" movefile --delay-until-reboot --delete "$tmp/w/a" --state-dir "$tmp/st-many" >/dev/null 2>&1 ||
            echo fail >>"$tmp/many-failed"
        j=$((j + 1)); done) &
    i=$((i + 1))
done
wait
"$ctl" pending --json --state-dir "$tmp/st-many" >"$tmp/out" 2>&1
check "200 concurrent smssctl movefile: 200 whole entries" \
    sh -c "test ! -e '$tmp/many-failed' && test \$(grep -c '\"operation\": \"delete\"' '$tmp/out') -eq 200 &&
           test \$(grep -c '\"source\": \"$tmp/w/a\"' '$tmp/out') -eq 200"

# 6. A torn append at the end of the queue: reported, discarded whole, the rest kept.
printf 'QENT\023\000\000\000partial' >>"$st/pending.queue"
"$ctl" pending --json --state-dir "$st" >"$tmp/out" 2>"$tmp/err"
check "pending with a torn queue tail: a warning, the 4 whole entries" \
    sh -c "test \$(grep -c '\"operation\"' '$tmp/out') -eq 4 && grep -q 'torn' '$tmp/err'"

# 7. The boot applies the queue; pending --last-boot reports each outcome.
"$applier" --state-dir "$st" >"$tmp/out" 2>&1
check "applying at boot: 4 done" grep -q "done 4 failed 0 skipped 0" "$tmp/out"
check "the files moved as queued (a -> b -> e deleted, c replaced d)" \
    sh -c "test ! -e '$tmp/w/a' -a ! -e '$tmp/w/b' -a ! -e '$tmp/w/e' -a ! -e '$tmp/w/c' && test \"\$(cat '$tmp/w/d')\" = C"
"$ctl" pending --last-boot --state-dir "$st" >"$tmp/out" 2>&1
check "pending --last-boot: 4 done" grep -q "4 done, 0 failed, 0 skipped" "$tmp/out"
"$ctl" pending --json --state-dir "$st" >"$tmp/out" 2>&1
check "after the boot nothing is pending" test "$(count_ops "$tmp/out")" -eq 0

# 8. A failure is reported with its errno and does not stop the rest.
echo F >"$tmp/w/f"; echo G >"$tmp/w/g"; echo H >"$tmp/w/h"
"$ctl" movefile --delay-until-reboot "$tmp/w/f" "$tmp/w/g" --state-dir "$st" >/dev/null 2>&1
"$ctl" movefile --delay-until-reboot "$tmp/w/h" "$tmp/w/i" --state-dir "$st" >/dev/null 2>&1
"$applier" --state-dir "$st" >/dev/null 2>&1
"$ctl" pending --last-boot --json --state-dir "$st" >"$tmp/out" 2>&1
check "a refused replace: failed EEXIST in --last-boot --json, the next one done" \
    sh -c "grep -q '\"error\": \"EEXIST\"' '$tmp/out' && grep -q '\"outcome\": \"done\"' '$tmp/out' &&
           test \"\$(cat '$tmp/w/g')\" = G && test -e '$tmp/w/i'"

# 9. A boot killed while applying: pending shows it interrupted; the next boot completes
#    every operation exactly once.
k=0
while [ $k -lt 10 ]; do echo "$k" >"$tmp/w/k$k"; "$ctl" movefile --delay-until-reboot "$tmp/w/k$k" "$tmp/w/m$k" --state-dir "$st" >/dev/null 2>&1; k=$((k + 1)); done
"$applier" --state-dir "$st" --batch 3 --crash-at 12 >/dev/null 2>&1
rc=$?
"$ctl" pending --state-dir "$st" >"$tmp/out" 2>&1
check "an interrupted boot (SIGKILL) is shown by pending" sh -c "test $rc -eq 137 && grep -q interrupted '$tmp/out'"
"$applier" --state-dir "$st" >"$tmp/out" 2>&1
good=1; k=0
while [ $k -lt 10 ]; do [ "$(cat "$tmp/w/m$k" 2>/dev/null)" = "$k" ] && [ ! -e "$tmp/w/k$k" ] || good=0; k=$((k + 1)); done
"$ctl" pending --last-boot --state-dir "$st" >"$tmp/out" 2>&1
check "the next boot completes all ten exactly once and says it resumed" \
    sh -c "test $good -eq 1 && grep -q '10 done, 0 failed' '$tmp/out' && grep -q 'resumed' '$tmp/out'"

# 10. The registry's PendingFileRenameOperations: NT paths mapped, applied once.
mkdir -p "$tmp/x"; echo R1 >"$tmp/x/r1"; echo R2 >"$tmp/x/r2"; echo R3 >"$tmp/x/r3"
printf '%s\n' 'Windows Registry Editor Version 5.00' '' "[$SM]" \
    "\"PendingFileRenameOperations\"=hex(7):$(hex7 '\??\X:\r1' '!\??\X:\r2' '\??\X:\r3' '' '\\server\share\f' '')" \
    "[$SM\\DOS Devices]" "\"X:\"=\"$tmp/x\"" >"$tmp/reg.reg"
"$ctl" --config "$tmp/reg.reg" pending --json --state-dir "$tmp/st-reg" >"$tmp/out" 2>&1
check "pending shows the registry's pairs with their NT paths before the boot" \
    sh -c "test \$(grep -c '\"from\": \"registry\"' '$tmp/out') -eq 3 && grep -q '\"mappable\": false' '$tmp/out'"
"$applier" --state-dir "$tmp/st-reg" --config "$tmp/reg.reg" >"$tmp/out" 2>&1
check "the registry's pairs applied: replace, delete, an unmappable UNC path skipped" \
    sh -c "grep -q 'done 2 failed 0 skipped 1' '$tmp/out' && test \"\$(cat '$tmp/x/r2')\" = R1 && test ! -e '$tmp/x/r3'"
echo R3 >"$tmp/x/r3"
"$applier" --state-dir "$tmp/st-reg" --config "$tmp/reg.reg" >"$tmp/out" 2>&1
"$ctl" --config "$tmp/reg.reg" pending --json --state-dir "$tmp/st-reg" >>"$tmp/out" 2>&1
check "the next boot does not apply them again (the registry is read-only)" \
    sh -c "grep -q 'done 0 failed 0 skipped 0' '$tmp/out' && test -e '$tmp/x/r3' &&
           ! grep -q '\"from\": \"registry\"' '$tmp/out'"

# 11. A real ENOSPC: moving 1 MB from the disk onto a 256 KB tmpfs (private mount namespace).
head -c 1048576 /dev/urandom >"$tmp/w/big"
if unshare -m true 2>/dev/null; then
    mkdir -p "$tmp/small"
    "$ctl" movefile --delay-until-reboot "$tmp/w/big" "$tmp/small/big" --state-dir "$tmp/st-nospc" >/dev/null 2>&1
    cp "$tmp/w/big" "$tmp/big.orig"
    unshare -m sh -c "mount --make-rprivate / && mount -t tmpfs -o size=256k none '$tmp/small' &&
        '$applier' --state-dir '$tmp/st-nospc' >'$tmp/out' 2>&1; ls -a '$tmp/small' >'$tmp/small.ls'"
    "$ctl" pending --last-boot --json --state-dir "$tmp/st-nospc" >>"$tmp/out" 2>&1
    check "ENOSPC across filesystems: failed ENOSPC, the source intact, no temporary left" \
        sh -c "grep -q '\"error\": \"ENOSPC\"' '$tmp/out' && cmp -s '$tmp/w/big' '$tmp/big.orig' &&
               ! grep -q smss-pending '$tmp/small.ls'"
else
    skip "ENOSPC across filesystems" "no private mount namespace (unshare -m) here"
fi

echo "1..$n"
