#!/bin/sh
# smss --check-config and --print-config from the command line: exit statuses, every
# diagnostic with its position, and --print-config output that reads back to itself
# (UTF-8 and regedit's UTF-16LE), on the embedded default and the real Windows 7 hive.
# TAP output. Environment: SMSS_BIN, SMSS_TOP, SMSS_DATA.
set -u
: "${SMSS_BIN:?}" "${SMSS_TOP:?}"
SMSS_DATA=${SMSS_DATA:-$SMSS_TOP/../shared/data}
smss=$SMSS_BIN/smss
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
ok() { n=$((n + 1)); printf 'ok %s - %s\n' "$n" "$1"; }
not_ok() { n=$((n + 1)); printf 'not ok %s - %s\n' "$n" "$1"; shift; for l in "$@"; do printf '# %s\n' "$l"; done; }
skip() { n=$((n + 1)); printf 'ok %s - %s # SKIP %s\n' "$n" "$1" "$2"; }
# check NAME CONDITION-COMMAND...: ok when the command succeeds, else show the output.
check() {
    name=$1; shift
    if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; sed 's/^/#   /' "$tmp/out" | head -20; fi
}

SM='HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Session Manager'

# 1. The embedded default is clean.
"$smss" --check-config >"$tmp/out" 2>&1; rc=$?
check "check-config on the default: exit 0, no diagnostics" \
    test "$rc" -eq 0 -a "$(tail -n 1 "$tmp/out")" = "0 errors, 0 warnings"

# 2. A file with errors: exit 2, every error with file:line:column.
printf '%s\r\n' 'Windows Registry Editor Version 5.00' '' "[$SM]" \
    '"ProtectionMode"=dword:123456789' \
    '"BootExecute"=hex(7):61,00,zz' \
    '[HKEY_NOWHERE\X]' \
    '"Name"="unterminated' >"$tmp/errors.reg"
"$smss" --check-config --config "$tmp/errors.reg" >"$tmp/out" 2>&1; rc=$?
e=$tmp/errors.reg
check "check-config with errors: exit 2" test "$rc" -eq 2
check "check-config lists every error with file:line:column" \
    sh -c 'grep -q "^$1:4:24: error: .*1 to 8 hex digits" "$2" &&
           grep -q "^$1:5:28: error: .*two hex digits" "$2" &&
           grep -q "^$1:6:2: error: unknown root key" "$2" &&
           grep -q "^$1:7:8: error: .*no closing" "$2" &&
           grep -q "^4 errors, 0 warnings$" "$2"' - "$e" "$tmp/out"

# 3. A file with warnings only: exit 0, each warning named key\value at file:line.
printf '%s\n' 'Windows Registry Editor Version 5.00' '' "[$SM]" \
    '"ProtectionMode"="1"' \
    "[$SM\\Memory Management]" \
    '"PagingFiles"=hex(7):2f,00,73,00,20,00,78,00,00,00,00,00' >"$tmp/warn.reg"
"$smss" --check-config --config "$tmp/warn.reg" >"$tmp/out" 2>&1; rc=$?
w=$tmp/warn.reg
check "check-config with warnings: exit 0, warnings listed with file:line and key\\value" \
    sh -c 'test "$3" -eq 0 &&
           grep -q "^$1:4: Session Manager.ProtectionMode: warning: expected REG_DWORD" "$2" &&
           grep -q "^$1:6: Session Manager.Memory Management.PagingFiles: warning: entry \"/s x\" ignored" "$2" &&
           grep -q " 0 errors, [1-9][0-9]* warnings\$\|^0 errors, [1-9][0-9]* warnings\$" "$2"' - "$w" "$tmp/out" "$rc"

# 4. --print-config of the default reads back to the same text, both encodings.
"$smss" --print-config >"$tmp/d1.reg" 2>"$tmp/out" &&
    "$smss" --print-config --config "$tmp/d1.reg" >"$tmp/d2.reg" 2>>"$tmp/out"
check "print-config of the default prints the same text when read back" cmp -s "$tmp/d1.reg" "$tmp/d2.reg"

# 5. A configuration whose absent keys are printed as defaults reads back to itself.
printf '%s\n' 'Windows Registry Editor Version 5.00' '' \
    '[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\web]' '"ImagePath"="/usr/sbin/web"' \
    '[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\MiniNT]' >"$tmp/sparse.reg"
"$smss" --print-config --config "$tmp/sparse.reg" >"$tmp/s1.reg" 2>"$tmp/out" &&
    "$smss" --print-config --config "$tmp/s1.reg" >"$tmp/s2.reg" 2>>"$tmp/out"
check "print-config of a sparse file (defaults as comments) prints the same text when read back" \
    sh -c 'cmp -s "$1" "$2" && grep -q "^; default: \"BootExecute\" = \"autocheck autochk \*\"" "$1"' - "$tmp/s1.reg" "$tmp/s2.reg"

# 6-9. The real Windows 7 SYSTEM hive.
if [ ! -f "$SMSS_DATA/SYSTEM-win7.xz" ]; then
    for t in "print-config of the Windows 7 hive" "hive output reads back (UTF-8)" \
             "hive output in UTF-16LE" "hive output reads back (UTF-16LE)"; do
        skip "$t" "$SMSS_DATA/SYSTEM-win7.xz is absent"
    done
else
    xz -dc "$SMSS_DATA/SYSTEM-win7.xz" >"$tmp/SYSTEM"
    "$smss" --print-config --hive "$tmp/SYSTEM" >"$tmp/h1.reg" 2>"$tmp/out"; rc=$?
    # BootExecute exactly as regedit exports it: autocheck autochk *.
    boot='"BootExecute"=hex(7):61,00,75,00,74,00,6f,00,63,00,68,00,65,00,63,00,6b,00,20,\
  00,61,00,75,00,74,00,6f,00,63,00,68,00,6b,00,20,00,2a,00,00,00,00,00'
    knowndlls=$(awk '/^\[/ { in_k = ($0 ~ /\\Session Manager\\KnownDLLs\]$/); next }
                     in_k && /^"/ { n++ } END { print n + 0 }' "$tmp/h1.reg")
    check "print-config of the Windows 7 hive: BootExecute, 29 KnownDLLs, SubSystems Posix and Optional" \
        sh -c 'test "$3" -eq 0 && grep -qF "$(printf "%s" "$2" | head -n 1)" "$1" &&
               grep -A1 -F "$(printf "%s" "$2" | head -n 1)" "$1" | tail -n 1 | grep -qxF "$(printf "%s" "$2" | tail -n 1)" &&
               test "$4" -eq 29 &&
               grep -q "^\[.*\\\\Session Manager\\\\SubSystems\]$" "$1" &&
               grep -q "^\"Posix\"=" "$1" && grep -q "^\"Optional\"=hex(7):50,00,6f,00,73,00,69,00,78,00" "$1"' \
        - "$tmp/h1.reg" "$boot" "$rc" "$knowndlls"
    "$smss" --print-config --config "$tmp/h1.reg" >"$tmp/h2.reg" 2>"$tmp/out"
    check "hive output read back with --config prints byte-identical text (UTF-8)" cmp -s "$tmp/h1.reg" "$tmp/h2.reg"
    "$smss" --print-config --utf16 --hive "$tmp/SYSTEM" >"$tmp/u1.reg" 2>"$tmp/out"
    check "hive output in UTF-16LE: byte-order mark FF FE, CRLF line ends, same text" \
        sh -c 'test "$(head -c 2 "$1" | od -An -tx1 | tr -d " ")" = fffe &&
               file "$1" | grep -Eq "UTF-16|Windows Registry little-endian" &&
               iconv -f UTF-16LE -t UTF-8 "$1" | tail -c +4 >"$1.txt" &&
               test "$(grep -c "" "$1.txt")" -eq "$(grep -c "$(printf "\r")\$" "$1.txt")" &&
               tr -d "\r" <"$1.txt" | cmp -s - "$2"' - "$tmp/u1.reg" "$tmp/h1.reg"
    "$smss" --print-config --utf16 --config "$tmp/u1.reg" >"$tmp/u2.reg" 2>"$tmp/out"
    check "hive output read back with --config prints byte-identical text (UTF-16LE)" cmp -s "$tmp/u1.reg" "$tmp/u2.reg"
fi

# 10. Usage errors.
"$smss" --check-config extra >"$tmp/out" 2>&1; rc=$?
check "an unexpected argument is a usage error (exit 2)" test "$rc" -eq 2
"$smss" --check-config --config "$tmp/absent.reg" >"$tmp/out" 2>&1; rc=$?
check "a missing --config file: exit 2 and the reason" \
    sh -c 'test "$2" -eq 2 && grep -q "absent.reg: error: cannot read the file" "$1"' - "$tmp/out" "$rc"

echo "1..$n"
