#!/bin/sh
# smss-hunt from the command line: usage and exit codes (0 clean, 1 findings, 2 usage or
# input errors), the three output formats and --tree, format detection and
# --input-format, --rules, several inputs combined, and the real files of SMSS_DATA
# (skipped when absent). TAP output.
set -u
BIN=${SMSS_BIN:-build}
HUNT=$BIN/smss-hunt
DATA=${SMSS_DATA:-${SMSS_TOP:-.}/../shared/data}
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { if [ "$1" = "$2" ]; then ok "$3"; else notok "$3 (got $1, want $2)"; cat "$T/err" 2>/dev/null; fi; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

hunt() { "$HUNT" "$@" >"$T/out" 2>"$T/err"; echo $?; }

# ---------------------------------------------------------------- usage
check "$(hunt --help)" 0 "--help exits 0"
grep -q 'usage: smss-hunt' "$T/out" && ok "--help prints the usage" || notok "--help prints the usage"
check "$(hunt)" 2 "no input is a usage error"
check "$(hunt --format xml x)" 2 "an unknown --format is a usage error"
check "$(hunt --bogus)" 2 "an unknown option is a usage error"
check "$(hunt "$T/missing.evtx")" 2 "a missing input is an input error"
grep -q "$T/missing.evtx" "$T/err" && ok "the error names the file" || notok "the error names the file"
printf 'hello\n' >"$T/unknown.txt"
check "$(hunt "$T/unknown.txt")" 2 "content of no known format is an input error"
grep -q 'input-format' "$T/err" && ok "the error says to use --input-format" ||
    notok "the error says to use --input-format"

# ---------------------------------------------------------------- small inputs built here
ev() { # pid ppid session image cmdline user utc recno
    printf '{"@timestamp":"%sZ","winlog":{"event_id":1,"provider_name":"Microsoft-Windows-Sysmon","record_id":%s,"event_data":{"ProcessId":"%s","ParentProcessId":"%s","TerminalSessionId":"%s","Image":"%s","CommandLine":"%s","User":"%s","UtcTime":"%s"}}}\n' \
        "$7" "$8" "$1" "$2" "$3" "$4" "$5" "$6" "$7"
}
S='NT AUTHORITY\\SYSTEM'
W='C:\\Windows\\System32'
{
    ev 300 4 0 "$W\\\\smss.exe" '\\SystemRoot\\System32\\smss.exe' "$S" "2019-03-19 20:41:10.000" 1
    ev 360 300 0 "$W\\\\smss.exe" '\\SystemRoot\\System32\\smss.exe 00000000 0000003c' "$S" "2019-03-19 20:41:11.000" 2
    ev 368 360 0 "$W\\\\csrss.exe" 'csrss.exe' "$S" "2019-03-19 20:41:11.100" 3
    ev 416 360 0 "$W\\\\wininit.exe" 'wininit.exe' "$S" "2019-03-19 20:41:11.200" 4
} >"$T/clean.jsonl"
cp "$T/clean.jsonl" "$T/planted.jsonl"
ev 900 416 0 "$W\\\\smmss.exe" 'smmss.exe' "$S" "2019-03-19 20:42:00.000" 5 >>"$T/planted.jsonl"

check "$(hunt "$T/clean.jsonl")" 0 "a normal boot is clean (exit 0)"
grep -q 'No findings' "$T/out" && ok "the table says there is nothing" || notok "the table says there is nothing"
check "$(hunt --no-color "$T/planted.jsonl")" 1 "a look-alike is a finding (exit 1)"
grep -q '^HIGH (1)' "$T/out" && grep -q 'HUNT-P003' "$T/out" && ok "the table groups it under HIGH" ||
    notok "the table groups it under HIGH"
check "$(hunt --format jsonl "$T/planted.jsonl")" 1 "jsonl output"
if grep -q '"rule":{"id":"HUNT-P003","name":"process-lookalike-name"}' "$T/out" &&
    grep -q '"event":{"severity":"high"' "$T/out" &&
    grep -q '"threat":{"technique":{"id":"T1036.005"}' "$T/out" &&
    grep -q '"pid":900,"name":"smmss.exe","executable":"C:\\\\Windows\\\\System32\\\\smmss.exe"' "$T/out" &&
    grep -q '"parent":{"pid":416}' "$T/out" && [ "$(wc -l <"$T/out")" -eq 1 ]; then
    ok "jsonl has the ECS fields of the finding"
else
    notok "jsonl has the ECS fields of the finding"; cat "$T/out"
fi
check "$(hunt --format csv "$T/planted.jsonl")" 1 "csv output"
head -1 "$T/out" | grep -q '^datetime,timestamp_desc,severity,rule_id,rule_name,technique,pid,ppid,process_name,executable,command_line,user,session,registry_path,registry_value,registry_data,message,evidence$' &&
    ok "csv has the stable header" || notok "csv has the stable header"
sed -n 2p "$T/out" | grep -q '^2019-03-19T20:42:00.000000Z,Process start,high,HUNT-P003,' &&
    ok "csv rows start with datetime and timestamp_desc" || notok "csv rows start with datetime"
check "$(hunt --tree --no-color "$T/planted.jsonl")" 1 "--tree"
grep -q 'smmss.exe 900 .*<< HUNT-P003' "$T/out" && grep -q '└─ wininit.exe 416' "$T/out" &&
    ok "--tree shows the tree with the finding marked" || { notok "--tree marks findings"; cat "$T/out"; }

check "$(hunt --tree --json "$T/planted.jsonl")" 1 "--tree --json"
grep -q '"pid":900,"name":"smmss.exe".*"tree":{"boot":1,"depth":[0-9]*,"rule_ids":\["HUNT-P003"\]' "$T/out" &&
    [ "$(grep -c '"kind":"state"' "$T/out")" -eq 6 ] &&
    ok "--tree --json writes the tree as JSON lines" || { notok "--tree --json"; cat "$T/out"; }

# --rules: switch the look-alike rule off; a broken rules file is an input error.
printf 'rule HUNT-P003\n  enabled no\n' >"$T/off.rules"
check "$(hunt --rules "$T/off.rules" "$T/planted.jsonl")" 0 "--rules switches a rule off"
printf 'rule HUNT-P003\n  level severe\n' >"$T/bad.rules"
check "$(hunt --rules "$T/bad.rules" "$T/planted.jsonl")" 2 "a bad rules file is an input error"
grep -q "bad.rules:2" "$T/err" && ok "the rules error names file:line" || notok "rules error names file:line"
check "$(hunt --print-rules)" 0 "--print-rules"
grep -q '^rule HUNT-P001' "$T/out" && ok "--print-rules prints the baseline" || notok "--print-rules"

# Volatility text, forced and detected; combined with the events into one tree.
printf 'PID\tPPID\tImageFileName\tSessionId\tCreateTime\tExitTime\n4\t0\tSystem\tN/A\t2019-03-19 20:41:09.000000 UTC\tN/A\n* 300\t4\tsmss.exe\tN/A\t2019-03-19 20:41:10.000000 UTC\tN/A\n** 1200\t300\tcsrss.exe\t5\t2019-03-19 20:50:00.000000 UTC\tN/A\n' >"$T/pslist.txt"
check "$(hunt --input-format volatility-text --no-color "$T/pslist.txt")" 1 "volatility text: csrss under the master is a finding"
grep -q 'csrss.exe (PID 1200) was started by smss.exe (PID 300)' "$T/out" &&
    ok "the parent finding names both" || { notok "the parent finding names both"; cat "$T/out"; }
check "$(hunt --tree --no-color "$T/clean.jsonl" "$T/pslist.txt")" 1 "events and a listing combined"
grep -q 'smss.exe 300 ' "$T/out" && [ "$(grep -c 'smss.exe 300 ' "$T/out")" -eq 1 ] &&
    ok "the master of both inputs is one process" || { notok "one master"; cat "$T/out"; }

# A .reg with a planted BootExecute entry.
cat >"$T/planted.reg" <<'EOF'
Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Session Manager]
"BootExecute"=hex(7):61,00,75,00,74,00,6f,00,63,00,68,00,65,00,63,00,6b,00,20,00,61,00,75,00,\
  74,00,6f,00,63,00,68,00,6b,00,20,00,2a,00,00,00,78,00,00,00,00,00
EOF
check "$(hunt --format jsonl "$T/planted.reg")" 1 ".reg with a planted BootExecute"
grep -q '"rule":{"id":"HUNT-C002"' "$T/out" && grep -q '"registry":{"path":"HKEY_LOCAL_MACHINE\\\\SYSTEM\\\\CurrentControlSet\\\\Control\\\\Session Manager","value":"BootExecute"' "$T/out" &&
    ok "the finding has registry.path and registry.value" || { notok "registry fields"; cat "$T/out"; }

# ---------------------------------------------------------------- the real files
if [ -f "$DATA/win7-boot-rdp-sysmon.evtx" ]; then
    check "$(hunt "$DATA/win7-boot-rdp-sysmon.evtx")" 0 "win7-boot-rdp-sysmon.evtx: no finding"
    grep -q '175 process records' "$T/err" && ok "every Sysmon 1 event read" || notok "every Sysmon 1 event read"
    check "$(hunt "$DATA/Security-4688.evtx")" 0 "Security-4688.evtx: no finding"
    check "$(hunt "$DATA/bad-chunk-magic.evtx")" 0 "bad-chunk-magic.evtx: read, not an error"
    grep -q 'chunk 6 .*damaged' "$T/err" && grep -q '267 records read' "$T/err" &&
        ok "the damaged chunks are reported and the rest read" || { notok "damaged chunks"; cat "$T/err"; }
    xz -dc "$DATA/SYSTEM-win7.xz" >"$T/SYSTEM"
    check "$(hunt "$T/SYSTEM")" 0 "the Windows 7 SYSTEM hive audits clean"
    check "$(hunt "$T/SYSTEM" "$T/planted.reg")" 1 "the hive and a planted .reg: one finding"
    check "$(hunt --format jsonl "$DATA/win7-boot-rdp-sysmon.evtx" "$T/planted.reg" | wc -l)" 1 \
        "exactly one finding in all"
else
    for t in 1 2 3 4 5 6 7 8 9; do skip "real data test $t" "$DATA absent (set SMSS_DATA)"; done
fi
echo "1..$n"
