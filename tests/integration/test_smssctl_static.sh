#!/bin/sh
# The plain build's smssctl is a static PIE (it queues renames from a rescue system and
# starts as fast as /bin/true); the other integration tests drive the sanitizer build's
# dynamic one. This checks the static one does its work: no program interpreter, queuing
# and listing, the queue file created for ApiGroup (getgrnam through NSS), and the process
# tree of a booted sandbox with user names (getpwuid). TAP output.
# Environment: SMSS_PLAIN_BIN (the plain build), SMSS_TOP.
set -u
: "${SMSS_TOP:?}"
bin=$(cd "${SMSS_PLAIN_BIN:-$SMSS_TOP/build}" 2>/dev/null && pwd)
ctl=$bin/smssctl
n=0
ok() { n=$((n + 1)); printf 'ok %s - %s\n' "$n" "$1"; }
not_ok() { n=$((n + 1)); printf 'not ok %s - %s\n' "$n" "$1"; }
if [ ! -x "$ctl" ] || ! command -v readelf >/dev/null; then
    echo "ok 1 - static smssctl # SKIP no $ctl or no readelf"
    echo "1..1"
    exit 0
fi
tmp=$(mktemp -d /var/tmp/test_smssctl_static.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
check() {
    name=$1; shift
    if "$@"; then ok "$name"; else not_ok "$name"; echo "#   failed: $*"; sed 's/^/#   /' "$tmp/out" | head -20; fi
}

# 1. Static: no program interpreter to load.
readelf -l "$ctl" >"$tmp/out" 2>&1
check "the plain build's smssctl has no program interpreter (static PIE)" \
    sh -c "grep -q 'DYN' '$tmp/out' && ! grep -q 'INTERP' '$tmp/out'"

# 2. Queuing and listing, with the queue file given to ApiGroup (a group name resolved by NSS).
cat >"$tmp/group.reg" <<REG
Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Linux]
"ApiGroup"="$(id -gn root)"
REG
: >"$tmp/victim"
"$ctl" --config "$tmp/group.reg" movefile --delay-until-reboot --delete "$tmp/victim" \
    --state-dir "$tmp/state" >"$tmp/out" 2>&1
check "movefile queues a delete (exit 0)" test $? -eq 0
check "the queue file is the group's, mode 0660" \
    test "$(stat -c '%a %G' "$tmp/state/pending.queue")" = "660 $(id -gn root)"
"$ctl" pending --json --state-dir "$tmp/state" >"$tmp/out" 2>&1
check "pending --json lists it" grep -q "\"source\": \"$tmp/victim\"" "$tmp/out"

# 3. The tree of a booted sandbox, users by name.
"$bin/smss" --sandbox -- "$ctl" tree >"$tmp/out" 2>/dev/null
check "tree in a sandboxed boot shows csrss and winlogon run by root" \
    sh -c "grep -q 'winlogon' '$tmp/out' && grep 'csrss' '$tmp/out' | grep -q ' root '"
echo "1..$n"
