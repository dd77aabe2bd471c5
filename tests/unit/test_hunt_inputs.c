/* The input readers on small files written here: the lenient event XML reader, JSON
 * lines in the Winlogbeat, NXLog and EVTX-dump shapes (bad lines counted, the rest read),
 * Volatility 3 pslist/pstree in JSON and text, process CSV exports, and format
 * detection from content. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hunt_input.h"
#include "hunt_json_scan.h"
#include "hunt_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct got {
    struct hunt_record r[32];
    char *strs[32][5];
    size_t n;
};

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static int keep(void *ctx, const struct hunt_record *r)
{
    struct got *g = ctx;
    if (g->n < 32) {
        g->r[g->n] = *r;
        g->strs[g->n][0] = dup_or_null(r->name);
        g->strs[g->n][1] = dup_or_null(r->image);
        g->strs[g->n][2] = dup_or_null(r->cmdline);
        g->strs[g->n][3] = dup_or_null(r->user);
        g->strs[g->n][4] = dup_or_null(r->parent_image);
        g->n++;
    }
    return 0;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        for (int k = 0; k < 5; k++)
            free(g->strs[i][k]);
    g->n = 0;
}

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/hunt-input-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* ------------------------------------------------------------------ XML */

static void test_xml_lenient(void **state)
{
    (void)state;
    /* An undeclared prefix, a control character, entities, a self-closing Data. */
    const char *xml =
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
        "<Provider Name='Microsoft-Windows-Sysmon'/><EventID Qualifiers=''>1</EventID>"
        "<TimeCreated SystemTime='2019-03-19T20:41:11.851292900Z'/>"
        "<EventRecordID>1966197</EventRecordID></System><EventData>"
        "<Data Name='RuleName'/><Data Name=\"ProcessId\">360</Data>"
        "<Data Name='Image'>C:\\Windows\\System32\\smss.exe</Data>"
        "<Data Name='CommandLine'>a &amp; b &lt;c&gt; &#x41;&#66;\x01 x:y</Data>"
        "<Data Name='User'/><bad:tag>zz</bad:tag>"
        "<Data Name='ParentProcessId'>292</Data></EventData></Event>";
    struct buf scratch = BUF_INIT;
    struct hunt_event e;
    assert_true(hunt_xml_event(xml, strlen(xml), &e, &scratch));
    assert_int_equal(e.id, 1);
    assert_string_equal(e.provider, "Microsoft-Windows-Sysmon");
    assert_int_equal(e.recno, 1966197);
    assert_string_equal(e.v[HF_PROCESS_ID], "360");
    assert_string_equal(e.v[HF_COMMAND_LINE], "a & b <c> AB\x01 x:y");
    assert_string_equal(e.v[HF_USER], "");
    assert_null(e.v[HF_TERMINAL_SESSION_ID]);
    struct hunt_record r;
    char s[512];
    assert_true(hunt_event_record(&e, &r, s, sizeof s));
    assert_int_equal(r.kind, HUNT_REC_START);
    assert_int_equal(r.pid, 360);
    assert_int_equal(r.ppid, 292);
    assert_int_equal(r.time, hunt_time_parse("2019-03-19T20:41:11.851292Z"));
    /* Not an event at all. */
    assert_false(hunt_xml_event("<x/>", 4, &e, &scratch));
    buf_free(&scratch);
}

static void test_4688_fields(void **state)
{
    (void)state;
    struct hunt_event e = {.id = 4688, .has_id = true, .provider = "Microsoft-Windows-Security-Auditing",
                           .time = hunt_time_parse("2019-02-08T05:36:55Z")};
    e.v[HF_NEW_PROCESS_ID] = "0x170";
    e.v[HF_PROCESS_ID] = "0x4";
    e.v[HF_NEW_PROCESS_NAME] = "C:\\Windows\\System32\\smss.exe";
    e.v[HF_TARGET_USER_SID] = "S-1-0-0";
    e.v[HF_SUBJECT_USER_SID] = "S-1-5-18";
    e.v[HF_COMMAND_LINE] = "";
    struct hunt_record r;
    char s[512];
    assert_true(hunt_event_record(&e, &r, s, sizeof s));
    assert_int_equal(r.pid, 0x170);
    assert_int_equal(r.ppid, 4);
    assert_string_equal(r.user, "S-1-5-18");
    assert_null(r.cmdline);
    e.id = 4624; /* a logon: not ours */
    assert_false(hunt_event_record(&e, &r, s, sizeof s));
}

/* ------------------------------------------------------------------ JSON lines */

static void test_jsonl_shapes(void **state)
{
    (void)state;
    char *path = write_tmp(
        /* Winlogbeat */
        "{\"@timestamp\":\"2019-03-19T20:41:11.851Z\",\"winlog\":{\"event_id\":1,"
        "\"provider_name\":\"Microsoft-Windows-Sysmon\",\"record_id\":7,\"event_data\":{"
        "\"ProcessId\":\"360\",\"ParentProcessId\":\"292\",\"Image\":\"C:\\\\Windows\\\\"
        "System32\\\\smss.exe\",\"CommandLine\":\"smss.exe 00000000 0000003c\","
        "\"TerminalSessionId\":\"0\",\"User\":\"NT AUTHORITY\\\\SYSTEM\","
        "\"UtcTime\":\"2019-03-19 20:41:11.751\"}}}\n"
        /* NXLog, flat, numbers as numbers */
        "{\"EventTime\":\"2019-03-19 20:41:12\",\"EventID\":1,\"SourceName\":"
        "\"Microsoft-Windows-Sysmon\",\"RecordNumber\":8,\"ProcessId\":368,"
        "\"ParentProcessId\":360,\"Image\":\"C:\\\\Windows\\\\System32\\\\csrss.exe\"}\n"
        /* an EVTX dump */
        "{\"Event\":{\"System\":{\"EventID\":4688,\"EventRecordID\":9,\"Provider\":{"
        "\"#attributes\":{\"Name\":\"Microsoft-Windows-Security-Auditing\"}},"
        "\"TimeCreated\":{\"#attributes\":{\"SystemTime\":\"2019-02-08T05:36:55.45Z\"}}},"
        "\"EventData\":{\"NewProcessId\":\"0x1c8\",\"ProcessId\":\"0x4\","
        "\"NewProcessName\":\"C:\\\\Windows\\\\System32\\\\smss.exe\","
        "\"SubjectUserSid\":\"S-1-5-18\"}}}\n"
        "\n"
        "not json at all\n"
        "{\"winlog\":{\"event_id\":3,\"event_data\":{\"ProcessId\":\"1\"}}}\n"
        "[1,2]\n"
        /* Sysmon 5 */
        "{\"winlog\":{\"event_id\":\"5\",\"provider_name\":\"Microsoft-Windows-Sysmon\","
        "\"event_data\":{\"ProcessId\":\"360\",\"UtcTime\":\"2019-03-19 20:41:13.000\"}}}\n");
    struct got g = {0};
    struct hunt_input_stats st = {0};
    struct diags d = DIAGS_INIT;
    assert_int_equal(hunt_input_jsonl(path, keep, &g, &st, &d), 0);
    assert_int_equal(st.records, 7);
    assert_int_equal(st.bad, 2);
    assert_int_equal(d.warnings, 2);
    assert_non_null(strstr(d.v[0].where, ":5"));
    assert_int_equal(g.n, 4);
    assert_int_equal(g.r[0].pid, 360);
    assert_int_equal(g.r[0].ppid, 292);
    assert_int_equal(g.r[0].session, 0);
    assert_int_equal(g.r[0].recno, 7);
    assert_string_equal(g.strs[0][3], "NT AUTHORITY\\SYSTEM");
    assert_int_equal(g.r[0].time, hunt_time_parse("2019-03-19T20:41:11.751Z"));
    assert_int_equal(g.r[1].pid, 368);
    assert_int_equal(g.r[1].ppid, 360);
    assert_int_equal(g.r[2].pid, 0x1c8);
    assert_int_equal(g.r[2].ppid, 4);
    assert_int_equal(g.r[2].kind, HUNT_REC_START);
    assert_int_equal(g.r[3].kind, HUNT_REC_EXIT);
    assert_int_equal(g.r[3].pid, 360);
    got_free(&g);
    diags_free(&d);
    unlink(path);
    free(path);
}

/* ------------------------------------------------------------------ Volatility */

static void test_volatility_json(void **state)
{
    (void)state;
    char *path = write_tmp(
        "[{\"PID\":4,\"PPID\":0,\"ImageFileName\":\"System\",\"SessionId\":null,"
        "\"CreateTime\":\"2019-03-19T20:41:08+00:00\",\"ExitTime\":null,\"__children\":["
        "{\"PID\":292,\"PPID\":4,\"ImageFileName\":\"smss.exe\",\"SessionId\":null,"
        "\"CreateTime\":\"2019-03-19T20:41:09+00:00\",\"ExitTime\":null,"
        "\"Path\":\"\\\\SystemRoot\\\\System32\\\\smss.exe\",\"Cmd\":\"\\\\SystemRoot\\\\System32\\\\smss.exe\","
        "\"__children\":[]}]},"
        "{\"PID\":368,\"PPID\":360,\"ImageFileName\":\"csrss.exe\",\"SessionId\":0,"
        "\"CreateTime\":\"2019-03-19T20:41:11+00:00\",\"ExitTime\":null,\"__children\":[]}]");
    assert_int_equal(hunt_format_detect_file(path), HUNT_FMT_VOLATILITY_JSON);
    struct got g = {0};
    struct hunt_input_stats st = {0};
    struct diags d = DIAGS_INIT;
    assert_int_equal(hunt_input_volatility(path, HUNT_FMT_VOLATILITY_JSON, keep, &g, &st, &d), 0);
    assert_int_equal(g.n, 4); /* the boot record, then three processes by start time */
    assert_int_equal(g.r[0].kind, HUNT_REC_BOOT);
    assert_int_equal(g.r[0].time, hunt_time_parse("2019-03-19T20:41:08Z"));
    assert_int_equal(g.r[1].pid, 4);
    assert_int_equal(g.r[2].pid, 292);
    assert_string_equal(g.strs[2][1], "\\SystemRoot\\System32\\smss.exe");
    assert_int_equal(g.r[2].session, -1);
    assert_int_equal(g.r[3].pid, 368);
    assert_int_equal(g.r[3].session, 0);
    assert_int_equal(g.r[3].kind, HUNT_REC_RUNNING);
    assert_int_equal(g.r[3].seen, hunt_time_parse("2019-03-19T20:41:11Z"));
    got_free(&g);
    diags_free(&d);
    unlink(path);
    free(path);
}

static void test_volatility_text(void **state)
{
    (void)state;
    char *path = write_tmp(
        "Volatility 3 Framework 2.5.0\n"
        "Progress:  100.00\t\tPDB scanning finished\n"
        "\n"
        "PID\tPPID\tImageFileName\tOffset(V)\tThreads\tHandles\tSessionId\tWow64\t"
        "CreateTime\tExitTime\n"
        "4\t0\tSystem\t0xfa8000c9b040\t87\t-\tN/A\tFalse\t2019-03-19 20:41:08.000000 \t"
        "N/A\n"
        "* 292\t4\tsmss.exe\t0xfa80\t2\t-\tN/A\tFalse\t2019-03-19 20:41:09.000000 \tN/A\n"
        "** 360\t292\tsmss.exe\t0xfa81\t0\t-\t0\tFalse\t2019-03-19 20:41:11.000000 \t"
        "2019-03-19 20:41:12.000000 \n"
        "garbage\tline\n");
    assert_int_equal(hunt_format_detect_file(path), HUNT_FMT_VOLATILITY_TEXT);
    struct got g = {0};
    struct hunt_input_stats st = {0};
    struct diags d = DIAGS_INIT;
    assert_int_equal(hunt_input_volatility(path, HUNT_FMT_VOLATILITY_TEXT, keep, &g, &st, &d), 0);
    assert_int_equal(st.bad, 1);
    assert_int_equal(g.n, 4);
    assert_int_equal(g.r[2].pid, 292);
    assert_int_equal(g.r[2].ppid, 4);
    assert_int_equal(g.r[3].pid, 360);
    assert_int_equal(g.r[3].session, 0);
    assert_int_equal(g.r[3].exit_time, hunt_time_parse("2019-03-19 20:41:12"));
    got_free(&g);
    diags_free(&d);
    unlink(path);
    free(path);
}

/* ------------------------------------------------------------------ CSV */

static void test_csv(void **state)
{
    (void)state;
    char *path = write_tmp(
        "#TYPE Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_Process\n"
        "\"Name\",\"ProcessId\",\"ParentProcessId\",\"ExecutablePath\",\"CommandLine\","
        "\"SessionId\",\"CreationDate\",\"Priority\"\n"
        "\"smss.exe\",\"292\",\"4\",\"C:\\Windows\\System32\\smss.exe\",\"\",\"0\","
        "\"3/19/2019 8:41:09 PM\",\"11\"\n"
        "\"evil.exe\",\"400\",\"292\",\"C:\\x\\evil.exe\",\"evil.exe \"\"a,b\"\"\",\"1\","
        "\"20190319204200.000000+000\",\"8\"\n"
        "\"nopid\",\"\",\"1\",\"\",\"\",\"\",\"\",\"\"\n");
    assert_int_equal(hunt_format_detect_file(path), HUNT_FMT_CSV);
    struct got g = {0};
    struct hunt_input_stats st = {0};
    struct diags d = DIAGS_INIT;
    assert_int_equal(hunt_input_csv(path, keep, &g, &st, &d), 0);
    assert_int_equal(st.bad, 1);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.r[0].kind, HUNT_REC_BOOT);
    assert_int_equal(g.r[1].pid, 292);
    assert_int_equal(g.r[1].priority, 11);
    assert_true(g.r[1].has_priority);
    assert_int_equal(g.r[1].time, hunt_time_parse("2019-03-19T20:41:09Z"));
    assert_int_equal(g.r[2].pid, 400);
    assert_string_equal(g.strs[2][2], "evil.exe \"a,b\"");
    assert_int_equal(g.r[2].time, hunt_time_parse("2019-03-19T20:42:00Z"));
    got_free(&g);
    diags_free(&d);
    unlink(path);
    free(path);
}

/* ------------------------------------------------------------------ the JSON walk */

struct members {
    char text[16][64];
    size_t n;
    struct buf decoded;
};

static void member(void *ctx, const struct hunt_json_member *m)
{
    struct members *ms = ctx;
    if (ms->n >= 16)
        return;
    long at = hunt_json_decode_string(m, &ms->decoded);
    assert_true(at >= 0);
    char path[32] = "";
    for (unsigned i = 0; i < m->depth; i++)
        snprintf(path + strlen(path), sizeof path - strlen(path), "%.*s.", (int)m->path[i].n,
                 m->path[i].p);
    snprintf(ms->text[ms->n++], 64, "%s%.*s=%s", path, (int)m->key.n, m->key.p,
             ms->decoded.p + at);
}

static void test_json_walk(void **state)
{
    (void)state;
    const char *t = "{\"a\":\"x\\\"}{,[\", \"b\" : {\"c\":[1,{\"d\":true}],\"e\":-2.5e3},"
                    "\"f\":\"C:\\\\W\\u00e9\",\"g\":null, \"h\":[]}";
    struct members ms = {.decoded = BUF_INIT};
    assert_int_equal(hunt_json_scan(t, strlen(t), member, &ms), 0);
    assert_int_equal(ms.n, 5);
    assert_string_equal(ms.text[0], "a=x\"}{,[");
    assert_string_equal(ms.text[1], "b.c..d=true"); /* b, c, then an array element */
    assert_string_equal(ms.text[2], "b.e=-2.5e3");
    assert_string_equal(ms.text[3], "f=C:\\W\xc3\xa9");
    assert_string_equal(ms.text[4], "g=null");
    buf_free(&ms.decoded);
    /* Not followed: the caller parses these with jansson. */
    static const char *const bad[] = {"{\"a\":1", "{\"a\" 1}", "[1]", "{\"a\":\"x}",
                                      "{\"a\":1}}", "{\"a\":tru}", "{\"a\":1,}x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct members m2 = {.decoded = BUF_INIT};
        assert_int_equal(hunt_json_scan(bad[i], strlen(bad[i]), member, &m2), -1);
        buf_free(&m2.decoded);
    }
}

static void test_jsonl_deep(void **state)
{
    (void)state;
    /* Deeper than the walk follows: read by the full parse, with the same result. */
    char *path = write_tmp(
        "{\"x\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]],\"EventID\":1,\"SourceName\":"
        "\"Microsoft-Windows-Sysmon\",\"ProcessId\":\"42\",\"Image\":\"C:\\\\x.exe\"}\n");
    struct got g = {0};
    struct hunt_input_stats st = {0};
    struct diags d = DIAGS_INIT;
    assert_int_equal(hunt_input_jsonl(path, keep, &g, &st, &d), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.r[0].pid, 42);
    assert_string_equal(g.strs[0][1], "C:\\x.exe");
    got_free(&g);
    diags_free(&d);
    unlink(path);
    free(path);
}

static void test_detect(void **state)
{
    (void)state;
    assert_int_equal(hunt_format_detect("x", "ElfFile\0\0\0", 10), HUNT_FMT_EVTX);
    assert_int_equal(hunt_format_detect("x", "regf\1\0\0\0", 8), HUNT_FMT_HIVE);
    assert_int_equal(hunt_format_detect("x", "\xff\xfeW\0i\0", 6), HUNT_FMT_REG);
    assert_int_equal(hunt_format_detect("x", "REGEDIT4\r\n", 10), HUNT_FMT_REG);
    assert_int_equal(hunt_format_detect("x", "Windows Registry Editor Version 5.00\n", 37),
                     HUNT_FMT_REG);
    assert_int_equal(hunt_format_detect("x", "{\"a\":1}\n", 8), HUNT_FMT_JSONL);
    assert_int_equal(hunt_format_detect("x", " [ {\"PID\":4} ]", 14), HUNT_FMT_VOLATILITY_JSON);
    assert_int_equal(hunt_format_detect("x", "PID\tPPID\tImageFileName\n", 23),
                     HUNT_FMT_VOLATILITY_TEXT);
    assert_int_equal(hunt_format_detect("x", "Name,ProcessId\n", 15), HUNT_FMT_CSV);
    assert_int_equal(hunt_format_detect("x", "hello", 5), HUNT_FMT_UNKNOWN);
    assert_int_equal(hunt_format_detect("a.evtx", "", 0), HUNT_FMT_EVTX);
    assert_int_equal(hunt_format_parse("volatility-text"), HUNT_FMT_VOLATILITY_TEXT);
    assert_int_equal(hunt_format_parse("nonsense"), HUNT_FMT_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_lenient),
        cmocka_unit_test(test_4688_fields),
        cmocka_unit_test(test_jsonl_shapes),
        cmocka_unit_test(test_volatility_json),
        cmocka_unit_test(test_volatility_text),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_json_walk),
        cmocka_unit_test(test_jsonl_deep),
        cmocka_unit_test(test_detect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
