/* The input readers on small files written here: the lenient event XML reader, JSON
 * lines in the Winlogbeat, NXLog and EVTX-dump shapes (bad lines counted, the rest read),
 * the JSON walk under them (escapes at every offset of its scan, long values, what
 * jansson refuses, a campaign against jansson, key sets), Volatility 3 pslist/pstree in
 * JSON and text, process CSV exports, and format detection from content. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hunt_event.h"
#include "hunt_input.h"
#include "hunt_json_scan.h"
#include "hunt_xml.h"

#include <jansson.h>
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

/* ------------------------------------------------------------------ the walk, closely */

/* The last member named key of a walk of all members, kept whole. */
struct found {
    const char *key;
    struct hunt_json_member m;
    bool seen;
};

static void find_member(void *ctx, const struct hunt_json_member *m)
{
    struct found *f = ctx;
    if (m->key.n == strlen(f->key) && !memcmp(m->key.p, f->key, m->key.n)) {
        f->m = *m;
        f->seen = true;
    }
}

static char *decoded(const struct hunt_json_member *m)
{
    struct buf b = BUF_INIT;
    long at = hunt_json_decode_string(m, &b);
    assert_true(at >= 0);
    char *s = strdup(b.p + at);
    buf_free(&b);
    return s;
}

static void test_json_escapes_everywhere(void **state)
{
    (void)state;
    /* Runs of escaped backslashes, with and without an escaped quote after them, at
     * every offset of the 16-byte blocks and 64-byte windows the walk scans by: the
     * string ends at its own closing quote and decodes to what it holds. */
    for (int pad = 0; pad < 140; pad++)
        for (int run = 0; run <= 5; run++)
            for (int quote = 0; quote < 2; quote++) {
                char text[512], want[512];
                int n = snprintf(text, sizeof text, "{\"k\":\"%*s", pad, "");
                int w = snprintf(want, sizeof want, "%*s", pad, "");
                for (int i = 0; i < run; i++) {
                    n += snprintf(text + n, sizeof text - (size_t)n, "\\\\");
                    want[w++] = '\\';
                }
                if (quote) {
                    n += snprintf(text + n, sizeof text - (size_t)n, "\\\"}");
                    w += snprintf(want + w, sizeof want - (size_t)w, "\"}");
                }
                want[w] = '\0';
                snprintf(text + n, sizeof text - (size_t)n, "\",\"z\":[\"}\",{\"j\":1}]}");
                struct found f = {.key = "k"};
                assert_int_equal(hunt_json_scan(text, strlen(text), find_member, &f), 0);
                assert_true(f.seen);
                char *got = decoded(&f.m);
                assert_string_equal(got, want);
                assert_int_equal(f.m.plain, run == 0 && !quote);
                free(got);
            }
}

static void test_json_long_value(void **state)
{
    (void)state;
    /* 200 kB with an escape every 37 bytes and UTF-8 text, nested containers before it:
     * decoded as jansson decodes it, into a buffer and in place. */
    struct buf t = BUF_INIT;
    buf_puts(&t, "{\"a\":{\"b\":[1,{\"c\":null}]},\"v\":\"");
    for (int i = 0; i < 200000; i++) {
        if (i % 37 == 0)
            buf_puts(&t, i % 74 ? "\\\\" : "\\u00e9\\ud83d\\ude00\\n\\/\\t");
        else if (i % 91 == 0)
            buf_puts(&t, "\xc3\xa9\xe2\x82\xac");
        else
            buf_putc(&t, (char)('a' + i % 26));
    }
    buf_puts(&t, "\",\"w\":\"tail\"}");
    json_error_t err;
    json_t *root = json_loadb(t.p, t.len, 0, &err);
    assert_non_null(root);
    const char *want = json_string_value(json_object_get(root, "v"));
    struct found f = {.key = "v"};
    assert_int_equal(hunt_json_scan(t.p, t.len, find_member, &f), 0);
    assert_true(f.seen);
    char *got = decoded(&f.m);
    assert_string_equal(got, want);
    char *in_place = hunt_json_decode_in_place(&f.m);
    assert_ptr_equal(in_place, f.m.value.p);
    assert_string_equal(in_place, want);
    free(got);
    json_decref(root);
    buf_free(&t);
}

static void test_json_what_jansson_refuses(void **state)
{
    (void)state;
    /* Refused by the walk, and by jansson, so that the reader reports the line. */
    static const char *const bad[] = {
        "{\"a\":1,}", "{\"a\":[1,]}", "{\"a\":[,1]}", "{\"a\":01}", "{\"a\":1.}",
        "{\"a\":-}", "{\"a\":1e}", "{\"a\":.5}", "{\"a\":+1}", "{\"a\":nul}",
        "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\ud800\\u0041\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\\u0000\"}",
        "{\"a\":\"tab\there\"}", "{\"a\":\"\xff\"}", "{\"a\":\"\xc0\x80\"}",
        "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xe2\x82\"}",
        "{\"a\":\"x\\\"}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{\"a\":1}}", "{\"a\":1}x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct found f = {.key = "a"};
        json_error_t err;
        if (hunt_json_scan(bad[i], strlen(bad[i]), find_member, &f) != -1)
            fail_msg("the walk accepted %s", bad[i]);
        assert_null(json_loadb(bad[i], strlen(bad[i]), 0, &err));
    }
    /* Accepted by both, escapes and UTF-8 decoded alike. */
    static const char *const good[] = {
        "{\"a\":\"\\u00e9\\ud83d\\ude00\\u20AC\\b\\f\\/\"}", "{\"a\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}",
        "{\"a\":-0.5e-3}", "{\"a\":1E+2}", "{ \"a\" :\t\"x\" }\r\n", "{\"a\":\"\x7f\"}",
        "{\"\":{},\"a\":[[],{}],\"b\":[{\"c\":[true,false,null]}]}"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        struct found f = {.key = "a"};
        json_error_t err;
        json_t *root = json_loadb(good[i], strlen(good[i]), 0, &err);
        assert_non_null(root);
        assert_int_equal(hunt_json_scan(good[i], strlen(good[i]), find_member, &f), 0);
        json_t *a = json_object_get(root, "a");
        if (json_is_string(a)) {
            char *got = decoded(&f.m);
            assert_string_equal(got, json_string_value(a));
            free(got);
        }
        json_decref(root);
    }
    /* Left to jansson: integers it may not hold, large exponents, deep nesting. */
    static const char *const left[] = {"{\"a\":12345678901234567890}", "{\"a\":1e400}",
                                       "{\"a\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}"};
    for (size_t i = 0; i < sizeof left / sizeof *left; i++) {
        struct found f = {.key = "a"};
        assert_int_equal(hunt_json_scan(left[i], strlen(left[i]), find_member, &f), -1);
    }
}

/* A small deterministic generator, for the campaign below. */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* The last value of each top-level string member with a plain key, as the walk decodes
 * it, checked against jansson's (which keeps the last of duplicate keys). */
struct compare {
    json_t *root;
    char keys[64][32];
    char *values[64];
    size_t n;
};

static void remember(void *ctx, const struct hunt_json_member *m)
{
    struct compare *c = ctx;
    if (m->depth || !m->is_string || m->key.n >= 32 || memchr(m->key.p, '\\', m->key.n))
        return;
    size_t i = 0;
    while (i < c->n && (strlen(c->keys[i]) != m->key.n || memcmp(c->keys[i], m->key.p, m->key.n)))
        i++;
    if (i == c->n) {
        if (c->n == 64)
            return;
        memcpy(c->keys[c->n], m->key.p, m->key.n);
        c->keys[c->n++][m->key.n] = '\0';
    }
    free(c->values[i]);
    c->values[i] = decoded(m);
}

static void test_json_walk_agrees_with_jansson(void **state)
{
    (void)state;
    /* A few thousand lines, each a shipper's line with one to three bytes or escapes
     * inserted, removed or repeated: the walk accepts exactly the lines jansson accepts,
     * and decodes their strings as jansson does. */
    static const char base[] =
        "{\"@timestamp\":\"2019-03-19T20:41:11.851Z\",\"winlog\":{\"event_id\":1,"
        "\"record_id\":1966168,\"event_data\":{\"Image\":\"C:\\\\Windows\\\\System32\\\\"
        "smss.exe\",\"CommandLine\":\"\\\"C:\\\\x y\\\\z.exe\\\" -a\"}},\"p\":[1,2.5,-3e2],"
        "\"u\":\"caf\xc3\xa9 \\u00e9\\ud83d\\ude00\",\"t\":true,\"n\":null,\"m\":\"Process "
        "Create: a message long enough to cross a window or two of the walk's scan\"}";
    static const char *const bits[] = {
        "\"", "\\", "{", "}", "[", "]", ",", ":", " ", "\t", "\x01", "\x7f", "\xc3", "\xc3\xa9",
        "\xff", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe0\x80\xaf", "\\u00e9", "\\ud83d\\ude00",
        "\\ud800", "\\udc00", "\\u0000", "\\u00", "\\uzzzz", "\\x", "\\/", "\\\"", "\\\\", "1",
        "-", "e", ".", "0", "+", "E", "true", "nul", "null", "\\n"};
    uint32_t seed = 12345;
    size_t accepted = 0;
    for (int round = 0; round < 4000; round++) {
        char line[1024];
        size_t n = sizeof base - 1;
        memcpy(line, base, n);
        for (int k = 1 + (int)(lcg(&seed) % 3); k > 0; k--) {
            size_t at = lcg(&seed) % (n + 1);
            unsigned op = lcg(&seed) % 4;
            if (op < 2) { /* insert */
                const char *b = bits[lcg(&seed) % (sizeof bits / sizeof *bits)];
                size_t bn = strlen(b);
                memmove(line + at + bn, line + at, n - at);
                memcpy(line + at, b, bn);
                n += bn;
            } else if (op == 2 && at < n) { /* remove */
                size_t cut = 1 + lcg(&seed) % 3;
                cut = cut > n - at ? n - at : cut;
                memmove(line + at, line + at + cut, n - at - cut);
                n -= cut;
            } else if (at < n) { /* repeat */
                size_t len = 1 + lcg(&seed) % 12;
                len = len > n - at ? n - at : len;
                memmove(line + at + len, line + at, n - at);
                n += len;
            }
        }
        json_error_t err;
        json_t *root = json_loadb(line, n, 0, &err);
        bool jansson_ok = root && json_is_object(root);
        struct compare c = {.root = root};
        int walk = hunt_json_scan(line, n, remember, &c);
        if (walk != (jansson_ok ? 0 : -1))
            fail_msg("the walk says %d, jansson %s, on %.*s", walk, jansson_ok ? "yes" : "no",
                     (int)n, line);
        for (size_t i = 0; walk == 0 && i < c.n; i++) {
            json_t *v = json_object_get(root, c.keys[i]);
            if (json_is_string(v))
                assert_string_equal(c.values[i], json_string_value(v));
        }
        accepted += walk == 0;
        for (size_t i = 0; i < c.n; i++)
            free(c.values[i]);
        json_decref(root);
    }
    /* Both kinds were met in numbers. */
    assert_true(accepted > 500 && accepted < 3500);
}

static void test_json_keys(void **state)
{
    (void)state;
    struct hunt_json_keys ks;
    assert_int_equal(hunt_json_keys_init(&ks, (const char *const[]){"a", "b", "a", NULL}), -1);
    assert_int_equal(hunt_json_keys_init(&ks, (const char *const[]){"a", "", NULL}), -1);
    /* Names alike in first byte and length, and not. */
    assert_int_equal(hunt_json_keys_init(&ks, (const char *const[]){"ProcessName", "ParentImage",
                                                                     "Image", "x", NULL}), 0);
    assert_int_equal(hunt_json_keys_find(&ks, "ParentImage", 11), 1);
    assert_int_equal(hunt_json_keys_find(&ks, "ProcessName", 11), 0);
    assert_int_equal(hunt_json_keys_find(&ks, "ProcessGuid", 11), -1);
    assert_int_equal(hunt_json_keys_find(&ks, "Imag", 4), -1);
    assert_int_equal(hunt_json_keys_find(&ks, "", 0), -1);
    /* Only the named members are reported, with their index. */
    const char *t = "{\"Image\":\"i\",\"ProcessGuid\":\"g\",\"o\":{\"x\":1,\"ParentImage\":\"p\"},"
                    "\"l\":[{\"x\":2}]}";
    struct members ms = {.decoded = BUF_INIT};
    assert_int_equal(hunt_json_scan_keys(t, strlen(t), &ks, member, &ms), 0);
    assert_int_equal(ms.n, 4);
    assert_string_equal(ms.text[0], "Image=i");
    assert_string_equal(ms.text[1], "o.x=1");
    assert_string_equal(ms.text[2], "o.ParentImage=p");
    assert_string_equal(ms.text[3], "l..x=2");
    buf_free(&ms.decoded);
}

static char *write_tmp_n(const char *text, size_t n)
{
    char *path = strdup("/tmp/hunt-input-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

static void test_jsonl_lines(void **state)
{
    (void)state;
    /* CRLF, blank lines, malformed lines (reported by number, the rest read), a line of
     * 600 kB (longer than the reader's blocks), and a last line without a newline. */
    static const char sysmon[] = "{\"EventID\":1,\"SourceName\":\"Microsoft-Windows-Sysmon\","
                                 "\"ProcessId\":\"%d\",\"Image\":\"C:\\\\x\\\\a%d.exe\"%s}";
    struct buf t = BUF_INIT;
    buf_printf(&t, sysmon, 11, 11, "");
    buf_puts(&t, "\r\n");
    buf_printf(&t, sysmon, 12, 12, ",");                          /* line 2: trailing comma */
    buf_puts(&t, "\n{\"EventID\":1,\"ProcessId\":13,\"Image\":\"C:\\\\b.exe\"}\n");
    buf_printf(&t, sysmon, 14, 14, ",\"Other\":\"\\q\"");       /* line 4: bad escape */
    buf_puts(&t, "\n\n\r\n");                                     /* lines 5 and 6 */
    struct buf big = BUF_INIT;
    for (int i = 0; i < 60000; i++)
        buf_puts(&big, "0123\\\\6789");
    char *tail = NULL;
    assert_true(asprintf(&tail, ",\"Message\":\"%s\"", big.p) > 0);
    buf_printf(&t, sysmon, 17, 17, tail);                         /* line 7 */
    buf_putc(&t, '\n');
    buf_printf(&t, sysmon, 18, 18, "");                           /* line 8, no newline */
    char *path = write_tmp_n(t.p, t.len);
    struct got g = {0};
    struct hunt_input_stats st = {0};
    struct diags d = DIAGS_INIT;
    assert_int_equal(hunt_input_jsonl(path, keep, &g, &st, &d), 0);
    assert_int_equal(st.records, 6);
    assert_int_equal(st.bad, 2);
    assert_int_equal(d.warnings, 2);
    assert_non_null(strstr(d.v[0].where, ":2"));
    assert_non_null(strstr(d.v[1].where, ":4"));
    assert_int_equal(g.n, 4);
    assert_int_equal(g.r[0].pid, 11);
    assert_string_equal(g.strs[0][1], "C:\\x\\a11.exe");
    assert_int_equal(g.r[0].recno, 1);
    assert_int_equal(g.r[1].pid, 13);
    assert_int_equal(g.r[2].pid, 17);
    assert_int_equal(g.r[2].recno, 7);
    assert_int_equal(g.r[3].pid, 18);
    assert_int_equal(g.r[3].recno, 8);
    got_free(&g);
    diags_free(&d);
    unlink(path);
    free(path);
    /* Past five unreadable lines: five listed, then the count. */
    buf_free(&t);
    for (int i = 0; i < 8; i++)
        buf_puts(&t, "{\"a\":[1,]}\n");
    path = write_tmp_n(t.p, t.len);
    st = (struct hunt_input_stats){0};
    assert_int_equal(hunt_input_jsonl(path, keep, &g, &st, &d), 0);
    assert_int_equal(st.bad, 8);
    assert_int_equal(d.n, 6);
    assert_non_null(strstr(d.v[5].message, "8 unreadable lines"));
    diags_free(&d);
    unlink(path);
    free(path);
    free(tail);
    buf_free(&big);
    buf_free(&t);
}

static void test_event_numbers(void **state)
{
    (void)state;
    /* PIDs: decimal, hex, blanks around; not numbers, negative or too large. */
    assert_int_equal(hunt_parse_pid("3688"), 3688);
    assert_int_equal(hunt_parse_pid(" 42 "), 42);
    assert_int_equal(hunt_parse_pid("0x0000000000000e68"), 0xe68);
    assert_int_equal(hunt_parse_pid("123456789012345678"), INT64_C(123456789012345678));
    assert_int_equal(hunt_parse_pid("9223372036854775807"), INT64_MAX);
    assert_int_equal(hunt_parse_pid("9223372036854775808"), -1);
    assert_int_equal(hunt_parse_pid("-1"), -1);
    assert_int_equal(hunt_parse_pid("12a"), -1);
    assert_int_equal(hunt_parse_pid(""), -1);
    assert_int_equal(hunt_parse_pid(NULL), -1);
    /* Times: the epoch, the first day Windows counts, a leap day, a zone; a day past
     * the month's end runs into the next month, as timegm has it. */
    assert_int_equal(hunt_time_parse("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(hunt_time_parse("1601-01-01 00:00:00"), INT64_C(-11644473600) * HUNT_SECOND);
    assert_int_equal(hunt_time_parse("2019-03-19T20:41:11.751Z"), INT64_C(1553028071751000));
    assert_int_equal(hunt_time_parse("2000-02-29T12:00:00Z"), INT64_C(951825600) * HUNT_SECOND);
    assert_int_equal(hunt_time_parse("2019-03-19T22:41:11+02:00"), INT64_C(1553028071) * HUNT_SECOND);
    assert_int_equal(hunt_time_parse("2019-02-31T00:00:00Z"), hunt_time_parse("2019-03-03T00:00:00Z"));
    assert_int_equal(hunt_time_parse("9999-12-31T23:59:60Z"), INT64_C(253402300800) * HUNT_SECOND);
    assert_int_equal(hunt_time_parse("2019-13-01T00:00:00Z"), HUNT_TIME_UNKNOWN);
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
        cmocka_unit_test(test_json_escapes_everywhere),
        cmocka_unit_test(test_json_long_value),
        cmocka_unit_test(test_json_what_jansson_refuses),
        cmocka_unit_test(test_json_walk_agrees_with_jansson),
        cmocka_unit_test(test_json_keys),
        cmocka_unit_test(test_jsonl_lines),
        cmocka_unit_test(test_event_numbers),
        cmocka_unit_test(test_detect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
