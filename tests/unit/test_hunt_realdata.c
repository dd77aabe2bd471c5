/* smss-hunt on the real Windows files of ../shared/data (SMSS_DATA):
 *  - win7-boot-rdp-sysmon.evtx: no finding on the genuine smss/csrss/wininit/winlogon
 *    chain, the remote-desktop session 2 included;
 *  - the same events as Winlogbeat JSON lines, plus planted impostors (a look-alike name,
 *    a wrong parent, a wrong path, a persistent second master): exactly those findings;
 *  - Security-4688.evtx read by field name (master smss under System, its children);
 *  - bad-chunk-magic.evtx: the damaged chunks reported, the other records read;
 *  - the Windows 7 SYSTEM hive: clean; with a planted BootExecute or SubSystems entry
 *    (written with hivex into a copy): exactly that finding.
 * Every test skips when the data folder is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hunt_config_rules.h"
#include "hunt_input.h"
#include "hunt_rules.h"
#include "hunt_tree.h"
#include "hunt_xml.h"
#include "regmodel.h"

#include <hivex.h>
#include <jansson.h>
#include <libevtx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char data_dir[4096];

static bool have_data(const char *file, char *path, size_t size)
{
    const char *d = getenv("SMSS_DATA");
    const char *top = getenv("SMSS_TOP");
    if (d)
        snprintf(data_dir, sizeof data_dir, "%s", d);
    else
        snprintf(data_dir, sizeof data_dir, "%s/../shared/data", top ? top : ".");
    snprintf(path, size, "%s/%s", data_dir, file);
    return access(path, R_OK) == 0;
}

#define NEED(file, path)                                                                   \
    do {                                                                                   \
        if (!have_data(file, path, sizeof path)) {                                         \
            print_message("# SKIP: %s absent (set SMSS_DATA)\n", file);                    \
            skip();                                                                        \
        }                                                                                  \
    } while (0)

/* Findings collected as "RULE-ID pid" strings. */
struct collected {
    struct hunt_finding *v[256];
    size_t n;
};

static void collect(void *ctx, struct hunt_finding *f)
{
    struct collected *c = ctx;
    if (c->n < 256)
        c->v[c->n++] = f;
    else
        hunt_finding_free(f);
}

static void collected_free(struct collected *c)
{
    for (size_t i = 0; i < c->n; i++)
        hunt_finding_free(c->v[i]);
    c->n = 0;
}

static bool has_finding(const struct collected *c, const char *rule, int64_t pid)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->v[i]->rule_id, rule) && c->v[i]->pid == pid)
            return true;
    return false;
}

static void print_findings(const struct collected *c)
{
    for (size_t i = 0; i < c->n; i++)
        print_message("# finding %s pid %lld: %s\n", c->v[i]->rule_id, (long long)c->v[i]->pid,
                      c->v[i]->message);
}

struct fixture {
    struct hunt_ruleset rs;
    struct hunt_tree *tree;
    struct collected found;
    struct diags d;
    struct hunt_input_stats st;
};

static int to_tree(void *ctx, const struct hunt_record *r)
{
    return hunt_tree_add(ctx, r);
}

static void fixture_init(struct fixture *fx, bool keep_all)
{
    memset(fx, 0, sizeof *fx);
    hunt_ruleset_init(&fx->rs);
    assert_int_equal(hunt_ruleset_load_default(&fx->rs, &fx->d), 0);
    struct hunt_tree_options o = {.os = HUNT_OS_ALL, .keep_all = keep_all};
    fx->tree = hunt_tree_new(&fx->rs, &o, collect, &fx->found);
    assert_non_null(fx->tree);
}

static void fixture_free(struct fixture *fx)
{
    hunt_tree_free(fx->tree);
    collected_free(&fx->found);
    hunt_ruleset_free(&fx->rs);
    diags_free(&fx->d);
}

/* ------------------------------------------------------------------ Sysmon, Windows 7 */

static void test_win7_sysmon_clean(void **state)
{
    (void)state;
    char path[4200];
    NEED("win7-boot-rdp-sysmon.evtx", path);
    struct fixture fx;
    fixture_init(&fx, true);
    assert_int_equal(hunt_input_evtx(path, to_tree, fx.tree, &fx.st, &fx.d), 0);
    hunt_tree_finish(fx.tree);
    print_findings(&fx.found);
    assert_int_equal(fx.found.n, 0);
    assert_int_equal(fx.st.bad, 0);
    assert_int_equal(fx.st.used, 175); /* every Sysmon 1 event */
    /* Three boots: the end of one, then two whole ones. */
    assert_int_equal(hunt_tree_nboots(fx.tree), 3);
    /* The remote-desktop session 2 is there, under the session child smss 384. */
    const struct hunt_boot *b = hunt_tree_boot(fx.tree, 1);
    bool session2 = false;
    for (const struct hunt_proc *p = b->head; p; p = p->next_in_boot)
        if (p->pid == 3700 && p->session == 2 && p->parent && p->parent->pid == 384 &&
            !strcmp(p->name, "winlogon.exe"))
            session2 = true;
    assert_true(session2);
    assert_non_null(b->master);
    assert_int_equal(b->master->pid, 292);
    fixture_free(&fx);
}

/* One event as Winlogbeat writes it. */
static json_t *winlogbeat(unsigned id, const char *provider, const char *time, uint64_t recno,
                          json_t *data)
{
    json_t *wl = json_pack("{s:i, s:s, s:I, s:o}", "event_id", (int)id, "provider_name", provider,
                           "record_id", (json_int_t)recno, "event_data", data);
    return json_pack("{s:s, s:o}", "@timestamp", time, "winlog", wl);
}

static const char *const field_names[HF_COUNT] = {
    "UtcTime", "ProcessId", "Image", "CommandLine", "User", "TerminalSessionId",
    "ParentProcessId", "ParentImage", "ParentCommandLine", "NewProcessId", "NewProcessName",
    "SubjectUserSid", "SubjectUserName", "SubjectDomainName", "TargetUserSid",
    "TargetUserName", "TargetDomainName", "ParentProcessName", "ProcessName"};

/* The process events of an EVTX file as Winlogbeat JSON lines (fields by name). */
static void evtx_to_jsonl(const char *evtx, FILE *out)
{
    libevtx_file_t *f = NULL;
    assert_int_equal(libevtx_file_initialize(&f, NULL), 1);
    assert_int_equal(libevtx_file_open(f, evtx, LIBEVTX_OPEN_READ, NULL), 1);
    int n = 0;
    libevtx_file_get_number_of_records(f, &n, NULL);
    struct buf scratch = BUF_INIT;
    for (int i = 0; i < n; i++) {
        libevtx_record_t *r = NULL;
        size_t size = 0;
        if (libevtx_file_get_record_by_index(f, i, &r, NULL) != 1)
            continue;
        if (libevtx_record_get_utf8_xml_string_size(r, &size, NULL) == 1) {
            char *xml = malloc(size);
            struct hunt_event e;
            if (libevtx_record_get_utf8_xml_string(r, (uint8_t *)xml, size, NULL) == 1 &&
                hunt_xml_event(xml, strlen(xml), &e, &scratch) &&
                hunt_event_wanted(e.id, e.provider)) {
                json_t *data = json_object();
                for (int k = 0; k < HF_COUNT; k++)
                    if (e.v[k])
                        json_object_set_new(data, field_names[k], json_string(e.v[k]));
                char ts[40];
                json_t *line = winlogbeat(e.id, e.provider, hunt_time_format(e.time, ts, sizeof ts),
                                          e.recno, data);
                json_dumpf(line, out, JSON_COMPACT);
                fputc('\n', out);
                json_decref(line);
            }
            free(xml);
        }
        libevtx_record_free(&r, NULL);
    }
    buf_free(&scratch);
    libevtx_file_close(f, NULL);
    libevtx_file_free(&f, NULL);
}

static void plant(FILE *out, uint64_t recno, const char *utc, int pid, int ppid, int session,
                  const char *image, const char *cmdline, const char *user,
                  const char *parent_image)
{
    char p[16], pp[16], s[16];
    snprintf(p, sizeof p, "%d", pid);
    snprintf(pp, sizeof pp, "%d", ppid);
    snprintf(s, sizeof s, "%d", session);
    json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "UtcTime", utc,
                             "ProcessId", p, "ParentProcessId", pp, "TerminalSessionId", s,
                             "Image", image, "CommandLine", cmdline, "User", user,
                             "ParentImage", parent_image);
    json_t *line = winlogbeat(1, "Microsoft-Windows-Sysmon", "2019-03-19T23:40:00.000Z", recno,
                              data);
    json_dumpf(line, out, JSON_COMPACT);
    fputc('\n', out);
    json_decref(line);
}

static void run_jsonl(const char *file, struct fixture *fx)
{
    assert_int_equal(hunt_input_jsonl(file, to_tree, fx->tree, &fx->st, &fx->d), 0);
    hunt_tree_finish(fx->tree);
    print_findings(&fx->found);
}

static void test_win7_sysmon_planted(void **state)
{
    (void)state;
    char path[4200];
    NEED("win7-boot-rdp-sysmon.evtx", path);
    char tmp[] = "/tmp/hunt-planted-XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    FILE *out = fdopen(fd, "w");
    evtx_to_jsonl(path, out);
    fflush(out);

    /* The copy alone: as clean as the original. */
    struct fixture fx;
    fixture_init(&fx, false);
    run_jsonl(tmp, &fx);
    assert_int_equal(fx.found.n, 0);
    assert_int_equal(fx.st.used, 175);
    fixture_free(&fx);

    /* The last boot: master 292, services 516, explorer 1928 (session 1). */
    const char *sys = "NT AUTHORITY\\SYSTEM";
    plant(out, 9000001, "2019-03-19 23:30:00.000", 3900, 1928, 1,
          "C:\\Windows\\System32\\smmss.exe", "smmss.exe", "EXAMPLE\\user01",
          "C:\\Windows\\explorer.exe");
    plant(out, 9000002, "2019-03-19 23:30:01.000", 3904, 1928, 1,
          "C:\\Windows\\System32\\csrss.exe", "csrss.exe", sys, "C:\\Windows\\explorer.exe");
    plant(out, 9000003, "2019-03-19 23:30:02.000", 3908, 516, 0,
          "C:\\Windows\\Temp\\svchost.exe", "C:\\Windows\\Temp\\svchost.exe -k netsvcs", sys,
          "C:\\Windows\\System32\\services.exe");
    /* A second master started with the machine (so only its persistence is wrong). */
    plant(out, 9000004, "2019-03-19 23:12:51.000", 3912, 4, 0,
          "C:\\Windows\\System32\\smss.exe", "\\SystemRoot\\System32\\smss.exe", sys, "System");
    fclose(out);

    fixture_init(&fx, false);
    run_jsonl(tmp, &fx);
    assert_true(has_finding(&fx.found, "HUNT-P003", 3900)); /* look-alike smmss.exe */
    assert_true(has_finding(&fx.found, "HUNT-P001", 3904)); /* csrss under explorer */
    assert_true(has_finding(&fx.found, "HUNT-P002", 3908)); /* svchost from Temp */
    assert_true(has_finding(&fx.found, "HUNT-P007", 3912)); /* persistent second master */
    assert_int_equal(fx.found.n, 4);
    fixture_free(&fx);
    unlink(tmp);
}

/* ------------------------------------------------------------------ Security 4688 */

static void test_security_4688(void **state)
{
    (void)state;
    char path[4200];
    NEED("Security-4688.evtx", path);
    struct fixture fx;
    fixture_init(&fx, true);
    assert_int_equal(hunt_input_evtx(path, to_tree, fx.tree, &fx.st, &fx.d), 0);
    hunt_tree_finish(fx.tree);
    print_findings(&fx.found);
    assert_int_equal(fx.found.n, 0);
    assert_true(fx.st.used >= 11);
    /* The master smss 368 under System (4), its children 452 and 528 found by parent
     * (the log also holds their exits, 4689, so the boot's master slot is empty now). */
    const struct hunt_proc *m = NULL;
    for (size_t i = 0; i < hunt_tree_nboots(fx.tree); i++)
        for (const struct hunt_proc *p = hunt_tree_boot(fx.tree, i)->head; p; p = p->next_in_boot)
            if (p->pid == 368 && !m)
                m = p;
    assert_non_null(m);
    assert_non_null(m->parent);
    assert_int_equal(m->parent->pid, 4);
    assert_string_equal(m->parent->name, "System");
    assert_string_equal(m->image_norm, "c:\\windows\\system32\\smss.exe");
    assert_int_equal(hunt_smss_role(m), HUNT_SMSS_MASTER);
    int children = 0;
    for (const struct hunt_proc *c = m->first_child; c; c = c->next_sibling)
        if ((c->pid == 452 || c->pid == 528) && hunt_smss_role(c) == HUNT_SMSS_CHILD)
            children++;
    assert_int_equal(children, 2);
    assert_string_equal(m->user, "S-1-5-18");
    fixture_free(&fx);
}

/* ------------------------------------------------------------------ damaged EVTX */

static void test_bad_chunk(void **state)
{
    (void)state;
    char path[4200];
    NEED("bad-chunk-magic.evtx", path);
    struct fixture fx;
    fixture_init(&fx, false);
    assert_int_equal(hunt_input_evtx(path, to_tree, fx.tree, &fx.st, &fx.d), 0);
    assert_int_equal(fx.st.records, 267);
    bool c6 = false, c10 = false;
    for (size_t i = 0; i < fx.d.n; i++) {
        c6 |= strstr(fx.d.v[i].message, "chunk 6 ") != NULL;
        c10 |= strstr(fx.d.v[i].message, "chunk 10 ") != NULL;
        assert_int_equal(fx.d.v[i].level, DIAG_WARNING);
    }
    assert_true(c6 && c10);
    fixture_free(&fx);
}

/* Damaged records (bytes overwritten inside the chunks of a copy): counted, reported
 * (a few one by one, then a total), the others read. */
static void test_damaged_records(void **state)
{
    (void)state;
    char path[4200];
    NEED("Security-4688.evtx", path);
    FILE *in = fopen(path, "rb");
    assert_non_null(in);
    static unsigned char img[2 << 20];
    size_t n = fread(img, 1, sizeof img, in);
    fclose(in);
    for (size_t at = 4096 + 512 + 3000; at + 8 < n; at += 7919)
        memset(img + at, 0xA5, 8);
    char tmp[] = "/tmp/hunt-damaged-XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, img, n), (ssize_t)n);
    close(fd);
    struct fixture fx;
    fixture_init(&fx, false);
    assert_int_equal(hunt_input_evtx(tmp, to_tree, fx.tree, &fx.st, &fx.d), 0);
    print_message("# %llu records, %llu unreadable, %zu warnings\n",
                  (unsigned long long)fx.st.records, (unsigned long long)fx.st.bad, fx.d.n);
    assert_true(fx.st.bad > 0);
    assert_true(fx.st.records > fx.st.bad);
    assert_true(fx.d.n <= 6 + 1); /* five listed, one total (and maybe a damaged chunk) */
    assert_int_equal(fx.d.errors, 0);
    fixture_free(&fx);
    unlink(tmp);
}

/* ------------------------------------------------------------------ the SYSTEM hive */

static bool unpack_hive(const char *xz, const char *out)
{
    char cmd[8500];
    snprintf(cmd, sizeof cmd, "xz -dc '%s' > '%s'", xz, out);
    return system(cmd) == 0;
}

static struct hunt_ruleset hive_rules; /* outlives the findings, which borrow rule IDs */

static size_t audit_file(const char *hive, struct collected *c)
{
    struct hunt_ruleset rs = hive_rules;
    struct diags d = DIAGS_INIT;
    struct reg_store *s = reg_store_new();
    assert_int_equal(hunt_config_load(s, hive, true, &d), 0);
    size_t n = 0;
    assert_int_equal(hunt_config_audit(&rs, s, hive, HUNT_OS_7, collect, c, &n, &d), 0);
    reg_store_free(s);
    diags_free(&d);
    print_findings(c);
    return n;
}

/* Set a value of ControlSet001\Control\Session Manager[\sub] in a copy of the hive. */
static void hive_set(const char *in, const char *out, const char *sub, const char *name,
                     int type, const char *utf16, size_t len)
{
    hive_h *h = hivex_open(in, HIVEX_OPEN_WRITE);
    assert_non_null(h);
    hive_node_h n = hivex_root(h);
    const char *path[] = {"ControlSet001", "Control", "Session Manager", sub, NULL};
    for (size_t i = 0; path[i]; i++) {
        n = hivex_node_get_child(h, n, path[i]);
        assert_true(n != 0);
    }
    hive_set_value v = {.key = (char *)name, .t = (hive_type)type, .len = len,
                        .value = (char *)utf16};
    assert_int_equal(hivex_node_set_value(h, n, &v, 0), 0);
    assert_int_equal(hivex_commit(h, out, 0), 0);
    hivex_close(h);
}

/* ASCII text with embedded "\0" separators to UTF-16LE (for the multi-strings). */
static size_t utf16(const char *s, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = s[i];
        out[2 * i + 1] = 0;
    }
    return 2 * n;
}

static void test_win7_hive(void **state)
{
    (void)state;
    char path[4200];
    NEED("SYSTEM-win7.xz", path);
    char hive[] = "/tmp/hunt-hive-XXXXXX";
    int fd = mkstemp(hive);
    assert_true(fd >= 0);
    close(fd);
    assert_true(unpack_hive(path, hive));
    struct diags d = DIAGS_INIT;
    hunt_ruleset_init(&hive_rules);
    assert_int_equal(hunt_ruleset_load_default(&hive_rules, &d), 0);
    diags_free(&d);
    struct collected c = {0};
    assert_int_equal(audit_file(hive, &c), 0);

    char planted[] = "/tmp/hunt-hive-planted-XXXXXX";
    fd = mkstemp(planted);
    assert_true(fd >= 0);
    close(fd);
    char w[256];
    static const char boot[] = "autocheck autochk *\0C:\\Windows\\evil.exe\0";
    hive_set(hive, planted, NULL, "BootExecute", 7, w, utf16(boot, sizeof boot, w));
    assert_int_equal(audit_file(planted, &c), 1);
    assert_string_equal(c.v[0]->rule_id, "HUNT-C002");
    assert_string_equal(c.v[0]->registry_data, "C:\\Windows\\evil.exe");
    collected_free(&c);

    static const char sub[] = "%SystemRoot%\\system32\\evilss.exe";
    hive_set(hive, planted, "SubSystems", "Evil", 2, w, utf16(sub, sizeof sub, w));
    assert_int_equal(audit_file(planted, &c), 1);
    assert_string_equal(c.v[0]->rule_id, "HUNT-C001");
    assert_string_equal(c.v[0]->registry_value, "Evil");
    collected_free(&c);
    hunt_ruleset_free(&hive_rules);
    unlink(planted);
    unlink(hive);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_win7_sysmon_clean),
        cmocka_unit_test(test_win7_sysmon_planted),
        cmocka_unit_test(test_security_4688),
        cmocka_unit_test(test_bad_chunk),
        cmocka_unit_test(test_damaged_records),
        cmocka_unit_test(test_win7_hive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
