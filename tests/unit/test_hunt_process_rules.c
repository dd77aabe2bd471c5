/* The process rules, each positive and negative, on small trees built here: parent (an
 * exited smss child is fine; PID reuse), path (normalised spellings), look-alikes
 * (edit distance, confusables, right-to-left override), user, session (remote-desktop
 * sessions), instances (a persistent second master vs a reboot), persistent session
 * children, start time after boot, priority, smss arguments; the Linux baseline; and
 * the evidence a process keeps of its records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hunt_rules.h"
#include "hunt_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct world {
    struct hunt_ruleset rs;
    struct hunt_tree *t;
    struct hunt_finding *f[64];
    size_t n;
};

static void collect(void *ctx, struct hunt_finding *f)
{
    struct world *w = ctx;
    if (w->n < 64)
        w->f[w->n++] = f;
    else
        hunt_finding_free(f);
}

static struct world *world_new(unsigned os, const char *smss_dir)
{
    struct world *w = calloc(1, sizeof *w);
    struct diags d = DIAGS_INIT;
    hunt_ruleset_init(&w->rs);
    assert_int_equal(hunt_ruleset_load_default(&w->rs, &d), 0);
    diags_free(&d);
    struct hunt_tree_options o = {.os = os, .smss_dir = smss_dir};
    w->t = hunt_tree_new(&w->rs, &o, collect, w);
    assert_non_null(w->t);
    return w;
}

static void world_free(struct world *w)
{
    hunt_tree_free(w->t);
    for (size_t i = 0; i < w->n; i++)
        hunt_finding_free(w->f[i]);
    hunt_ruleset_free(&w->rs);
    free(w);
}

static size_t count(const struct world *w, const char *rule)
{
    size_t n = 0;
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->f[i]->rule_id, rule))
            n++;
    return n;
}

static void dump(const struct world *w)
{
    for (size_t i = 0; i < w->n; i++)
        print_message("# %s pid %lld: %s\n", w->f[i]->rule_id, (long long)w->f[i]->pid,
                      w->f[i]->message);
}

#define T0 (INT64_C(1553000000) * HUNT_SECOND)
#define SEC(s) (T0 + (int64_t)((s) * HUNT_SECOND))
#define SYS "NT AUTHORITY\\SYSTEM"

static void start(struct world *w, int64_t pid, int64_t ppid, int session, double at,
                  const char *image, const char *cmdline, const char *user)
{
    struct hunt_record r = {.kind = HUNT_REC_START, .pid = pid, .ppid = ppid,
                            .creator_pid = -1, .image = image, .cmdline = cmdline,
                            .user = user, .session = session, .time = SEC(at),
                            .exit_time = HUNT_TIME_UNKNOWN, .seen = HUNT_TIME_UNKNOWN,
                            .os = HUNT_OS_WINDOWS, .source = "test", .what = "Sysmon 1"};
    assert_int_equal(hunt_tree_add(w->t, &r), 0);
}

static void stop(struct world *w, int64_t pid, double at)
{
    struct hunt_record r = {.kind = HUNT_REC_EXIT, .pid = pid, .ppid = -1, .creator_pid = -1,
                            .session = -1, .time = SEC(at), .exit_time = HUNT_TIME_UNKNOWN,
                            .seen = HUNT_TIME_UNKNOWN, .os = HUNT_OS_WINDOWS, .source = "test"};
    assert_int_equal(hunt_tree_add(w->t, &r), 0);
}

static const char *const SMSS = "C:\\Windows\\System32\\smss.exe";

/* A normal boot: System, master 300, session children 360 (0) and 408 (1), csrss,
 * wininit, winlogon, services, lsass. */
static void normal_boot(struct world *w)
{
    start(w, 4, 0, 0, 0, NULL, NULL, SYS);
    start(w, 300, 4, 0, 0.5, "\\SystemRoot\\System32\\smss.exe", "\\SystemRoot\\System32\\smss.exe", SYS);
    start(w, 360, 300, 0, 2, SMSS, "\\SystemRoot\\System32\\smss.exe 00000000 0000003c", SYS);
    start(w, 368, 360, 0, 2.1, "C:\\Windows\\System32\\csrss.exe", "csrss.exe", SYS);
    start(w, 408, 300, 1, 2.2, SMSS, "\\SystemRoot\\System32\\smss.exe 00000001 0000003c", SYS);
    start(w, 416, 360, 0, 2.3, "\\Device\\HarddiskVolume2\\Windows\\System32\\wininit.exe",
          "wininit.exe", SYS);
    start(w, 428, 408, 1, 2.4, "%SystemRoot%\\system32\\csrss.exe", "csrss.exe", SYS);
    start(w, 456, 408, 1, 2.5, "\\??\\C:\\WINDOWS\\system32\\winlogon.exe", "winlogon.exe", SYS);
    stop(w, 360, 2.6);
    stop(w, 408, 2.7);
    start(w, 516, 416, 0, 2.8, "C:\\Windows\\system32\\services.exe", "services.exe", SYS);
    start(w, 524, 416, 0, 2.9, "C:\\Windows\\system32\\lsass.exe", "lsass.exe", "S-1-5-18");
}

static void test_normal_boot_clean(void **state)
{
    (void)state;
    struct world *w = world_new(HUNT_OS_ALL, NULL);
    normal_boot(w);
    hunt_tree_finish(w->t);
    dump(w);
    assert_int_equal(w->n, 0);
    world_free(w);
}

static void test_parent(void **state)
{
    (void)state;
    struct world *w = world_new(HUNT_OS_ALL, NULL);
    normal_boot(w);
    /* explorer whose userinit has exited: normal. */
    start(w, 2000, 9998, 1, 60, "C:\\Windows\\explorer.exe", "explorer.exe", "PC\\u");
    /* csrss under explorer: wrong. */
    start(w, 2010, 2000, 1, 61, "C:\\Windows\\System32\\csrss.exe", "csrss.exe", SYS);
    /* csrss whose parent (an smss child) has exited: normal. */
    start(w, 2020, 9999, 1, 62, "C:\\Windows\\System32\\csrss.exe", "csrss.exe", SYS);
    hunt_tree_finish(w->t);
    dump(w);
    assert_int_equal(count(w, "HUNT-P001"), 1);
    assert_int_equal(w->f[0]->pid, 2010);
    world_free(w);
}

static void test_pid_reuse(void **state)
{
    (void)state;
    struct world *w = world_new(HUNT_OS_ALL, NULL);
    normal_boot(w);
    /* A csrss record with parent 3000 arrives after PID 3000 was given to a notepad that
     * started later: the notepad is not its parent (PID reuse); its real parent, an smss
     * child, has exited: no finding. */
    start(w, 3000, 2000, 1, 100, "C:\\Windows\\notepad.exe", "notepad.exe", "PC\\u");
    start(w, 3010, 3000, 1, 50, "C:\\Windows\\System32\\csrss.exe", "csrss.exe", SYS);
    hunt_tree_finish(w->t);
    dump(w);
    assert_int_equal(count(w, "HUNT-P001"), 0);
    /* The same with the notepad started first: a real parent, and the wrong one. */
    start(w, 3020, 3000, 1, 120, "C:\\Windows\\System32\\csrss.exe", "csrss.exe", SYS);
    assert_int_equal(count(w, "HUNT-P001"), 1);
    world_free(w);
}

static void test_path(void **state)
{
    (void)state;
    struct world *w = world_new(HUNT_OS_ALL, NULL);
    normal_boot(w); /* \SystemRoot, \??\, %SystemRoot%, \Device\HarddiskVolume2, case */
    assert_int_equal(w->n, 0);
    start(w, 600, 516, 0, 3, "C:\\Windows\\System32\\svchost.exe", "svchost.exe -k x", SYS);
    assert_int_equal(count(w, "HUNT-P002"), 0);
    start(w, 610, 516, 0, 3, "C:\\Users\\Public\\svchost.exe", "svchost.exe -k x", SYS);
    start(w, 620, 516, 0, 3, "C:\\Windows\\SysWOW64\\svchost.exe", "svchost.exe -k x", SYS);
    dump(w);
    assert_int_equal(count(w, "HUNT-P002"), 1);
    assert_int_equal(w->f[0]->pid, 610);
    world_free(w);
}

static void test_lookalikes(void **state)
{
    (void)state;
    struct world *w = world_new(HUNT_OS_ALL, NULL);
    normal_boot(w);
    start(w, 700, 2000, 1, 50, "C:\\Windows\\System32\\smmss.exe", "smmss.exe", "PC\\u");
    start(w, 701, 2000, 1, 50, "C:\\Windows\\System32\\scvhost.exe", "x", "PC\\u");
    start(w, 702, 2000, 1, 50, "C:\\Windows\\System32\\lsass.com", "x", "PC\\u");
    /* Cyrillic "ѕ" (U+0455) and Greek omicron in place of Latin letters. */
    start(w, 703, 2000, 1, 50, "C:\\Windows\\System32\\\xd1\x95mss.exe", "x", "PC\\u");
    start(w, 704, 2000, 1, 50, "C:\\Windows\\System32\\winl\xce\xbfgon.exe", "x", "PC\\u");
    /* Right-to-left override: "smss[U+202E]exe.scr" reads "smssrcs.exe". */
    start(w, 705, 2000, 1, 50, "C:\\Users\\u\\smss\xe2\x80\xae" "exe.scr", "x", "PC\\u");
    /* Not look-alikes: known names, unrelated short names, case on Windows. */
    start(w, 710, 2000, 1, 50, "C:\\Windows\\System32\\taskhost.exe", "x", "PC\\u");
    start(w, 711, 2000, 1, 50, "C:\\Windows\\System32\\cmd.exe", "x", "PC\\u");
    start(w, 712, 2000, 1, 50, "C:\\Windows\\System32\\msg.exe", "x", "PC\\u");
    dump(w);
    assert_int_equal(count(w, "HUNT-P003"), 3); /* smmss, scvhost, lsass.com */
    assert_int_equal(count(w, "HUNT-P004"), 2);
    assert_int_equal(count(w, "HUNT-P005"), 1);
    world_free(w);
}

static void test_user(void **state)
{
    (void)state;
    struct world *w = world_new(HUNT_OS_ALL, NULL);
    normal_boot(w);
    start(w, 800, 516, 0, 3, "C:\\Windows\\System32\\svchost.exe", "svchost.exe -k x",
          "NT AUTHORITY\\NETWORK SERVICE");
    assert_int_equal(w->n, 0);
    start(w, 810, 416, 0, 3, "C:\\Windows\\System32\\lsm.exe", "lsm.exe", "PC\\alice");
    dump(w);
    assert_int_equal(count(w, "HUNT-P006"), 1);
    world_free(w);
}

static void test_sessions(void **state)
{
    (void)state;
    struct world *w = world_new(HUNT_OS_ALL, NULL);
    normal_boot(w);
    /* A remote-desktop session 2, 23 minutes after boot, through a session child. */
    start(w, 900, 300, 2, 1380, SMSS, "\\SystemRoot\\System32\\smss.exe 00000000 0000003c", SYS);
    start(w, 910, 900, 2, 1380.1, "C:\\Windows\\System32\\csrss.exe", "csrss.exe", SYS);
    start(w, 920, 900, 2, 1380.2, "C:\\Windows\\System32\\winlogon.exe", "winlogon.exe", SYS);
    stop(w, 900, 1381);
    assert_int_equal(w->n, 0);
    /* winlogon in session 0: wrong. */
    start(w, 930, 9999, 0, 2.5, "C:\\Windows\\System32\\winlogon.exe", "winlogon.exe", SYS);
    dump(w);
    assert_int_equal(count(w, "HUNT-P009"), 1);
    world_free(w);
}

static void test_second_master(void **state)
{
    (void)state;
    struct world *w = world_new(HUNT_OS_ALL, NULL);
    normal_boot(w);
    /* A second master that exits at once (what NT's own does): not a finding. */
    start(w, 1000, 4, 0, 5, SMSS, "\\SystemRoot\\System32\\smss.exe", SYS);
    stop(w, 1000, 5.1);
    assert_int_equal(w->n, 0);
    /* One that stays. */
    start(w, 1010, 4, 0, 6, SMSS, "\\SystemRoot\\System32\\smss.exe", SYS);
    hunt_tree_finish(w->t);
    dump(w);
    assert_int_equal(count(w, "HUNT-P007"), 1);
    world_free(w);
}

static void test_reboot_is_not_second_master(void **state)
{
    (void)state;
    struct world *w = world_new(HUNT_OS_ALL, NULL);
    normal_boot(w);
    /* A log without session numbers (Security 4688): a new master, then its own session
     * child: that was a reboot. */
    start(w, 304, 4, -1, 3600, SMSS, NULL, SYS);
    start(w, 364, 304, -1, 3602, SMSS, NULL, SYS);
    start(w, 372, 364, -1, 3602.1, "C:\\Windows\\System32\\csrss.exe", NULL, SYS);
    start(w, 420, 364, -1, 3602.2, "C:\\Windows\\System32\\wininit.exe", NULL, SYS);
    hunt_tree_finish(w->t);
    dump(w);
    assert_int_equal(w->n, 0);
    assert_int_equal(hunt_tree_nboots(w->t), 2);
    world_free(w);
}

static void test_persistent_child(void **state)
{
    (void)state;
    struct world *w = world_new(HUNT_OS_ALL, NULL);
    normal_boot(w);
    /* A session child that exits after 5 minutes. */
    start(w, 1100, 300, 3, 600, SMSS, "\\SystemRoot\\System32\\smss.exe 00000003 0000003c", SYS);
    stop(w, 1100, 900);
    /* One that exits in time. */
    start(w, 1110, 300, 4, 700, SMSS, "\\SystemRoot\\System32\\smss.exe 00000004 0000003c", SYS);
    stop(w, 1110, 701);
    dump(w);
    assert_int_equal(count(w, "HUNT-P008"), 1);
    assert_int_equal(w->f[0]->pid, 1100);
    world_free(w);
}

static void test_late_start(void **state)
{
    (void)state;
    struct world *w = world_new(HUNT_OS_ALL, NULL);
    normal_boot(w);
    /* lsm (session 0) an hour after boot: late. csrss of session 3 an hour later: fine. */
    start(w, 1200, 416, 0, 3600, "C:\\Windows\\System32\\lsm.exe", "lsm.exe", SYS);
    start(w, 1210, 300, 3, 3600, SMSS, "\\SystemRoot\\System32\\smss.exe 00000003 0000003c", SYS);
    start(w, 1220, 1210, 3, 3600.1, "C:\\Windows\\System32\\csrss.exe", "csrss.exe", SYS);
    dump(w);
    assert_int_equal(count(w, "HUNT-P010"), 1);
    assert_int_equal(w->f[0]->pid, 1200);
    world_free(w);
}

static void test_arguments_and_priority(void **state)
{
    (void)state;
    struct world *w = world_new(HUNT_OS_ALL, NULL);
    normal_boot(w);
    start(w, 1300, 300, 0, 3, SMSS, "\\SystemRoot\\System32\\smss.exe -evil", SYS);
    dump(w);
    assert_int_equal(count(w, "HUNT-P012"), 1);
    struct hunt_record r = {.kind = HUNT_REC_RUNNING, .pid = 1310, .ppid = 516,
                            .creator_pid = -1, .image = "C:\\Windows\\System32\\svchost.exe",
                            .session = 0, .priority = 8, .has_priority = true,
                            .time = SEC(4), .exit_time = HUNT_TIME_UNKNOWN, .seen = SEC(10),
                            .os = HUNT_OS_WINDOWS, .source = "t"};
    assert_int_equal(hunt_tree_add(w->t, &r), 0);
    assert_int_equal(count(w, "HUNT-P011"), 0);
    r.pid = 1320;
    r.priority = 13;
    assert_int_equal(hunt_tree_add(w->t, &r), 0);
    assert_int_equal(count(w, "HUNT-P011"), 1);
    world_free(w);
}

static void test_instances(void **state)
{
    (void)state;
    struct world *w = world_new(HUNT_OS_ALL, NULL);
    normal_boot(w);
    start(w, 1400, 416, 0, 3, "C:\\Windows\\System32\\lsass.exe", "lsass.exe", SYS);
    dump(w);
    assert_int_equal(count(w, "HUNT-P007"), 1);
    world_free(w);
}

/* ------------------------------------------------------------------ Linux */

static void running(struct world *w, int64_t pid, int64_t ppid, const char *exe,
                    const char *cmdline, const char *user, int nice, double at)
{
    struct hunt_record r = {.kind = HUNT_REC_RUNNING, .pid = pid, .ppid = ppid,
                            .creator_pid = -1, .image = exe, .cmdline = cmdline, .user = user,
                            .session = pid == 1 ? 0 : -1, .priority = nice,
                            .has_priority = true, .time = SEC(at),
                            .exit_time = HUNT_TIME_UNKNOWN, .seen = SEC(600),
                            .os = HUNT_OS_LINUX, .source = "/proc"};
    assert_int_equal(hunt_tree_add(w->t, &r), 0);
}

static void test_linux(void **state)
{
    (void)state;
    struct world *w = world_new(HUNT_OS_LINUX, "/usr/sbin");
    struct hunt_record boot = {.kind = HUNT_REC_BOOT, .time = SEC(0), .os = HUNT_OS_LINUX};
    assert_int_equal(hunt_tree_add(w->t, &boot), 0);
    running(w, 1, 0, "/usr/sbin/smss", "/usr/sbin/smss", "root", -3, 0);
    running(w, 7, 1, "/usr/sbin/csrss", "csrss", "root", -5, 1);
    running(w, 8, 1, "/usr/sbin/wininit", "wininit", "root", -5, 1);
    running(w, 30, 8, "/usr/bin/sleep", "sleep 100", "root", 0, 2);
    hunt_tree_finish(w->t);
    dump(w);
    assert_int_equal(w->n, 0);
    /* A look-alike, a session child that stayed, a second master, a csrss elsewhere. */
    running(w, 40, 1, "/tmp/smmss", "/tmp/smmss", "root", 0, 100);
    running(w, 41, 1, "/usr/sbin/smss", "/usr/sbin/smss 00000001 00000002", "root", -3, 100);
    running(w, 42, 30, "/usr/sbin/smss", "/usr/sbin/smss", "root", -3, 100);
    running(w, 43, 1, "/tmp/csrss", "csrss", "nobody", -5, 100);
    running(w, 44, 1, "/tmp/SMSS", "SMSS", "root", 0, 100);
    hunt_tree_finish(w->t);
    dump(w);
    assert_int_equal(count(w, "HUNT-P003"), 2);  /* smmss, SMSS (case) */
    assert_int_equal(count(w, "HUNT-P008"), 1);  /* the child 41 */
    assert_int_equal(count(w, "HUNT-P007"), 1);  /* the master 42 */
    assert_int_equal(count(w, "HUNT-P001"), 1);  /* 42's parent is sleep */
    assert_int_equal(count(w, "HUNT-P002"), 1);  /* /tmp/csrss */
    assert_int_equal(count(w, "HUNT-P006"), 1);  /* csrss as nobody */
    world_free(w);
}

static void test_smss_roles(void **state)
{
    (void)state;
    struct hunt_proc p = {.name = "smss", .cmdline = "/usr/sbin/smss"};
    assert_int_equal(hunt_smss_role(&p), HUNT_SMSS_MASTER);
    p.cmdline = "/usr/sbin/smss --config /etc/smss/site.reg"; /* Linux options */
    assert_int_equal(hunt_smss_role(&p), HUNT_SMSS_MASTER);
    p.cmdline = "/usr/sbin/smss 00000001 00000008";
    assert_int_equal(hunt_smss_role(&p), HUNT_SMSS_CHILD);
    p.cmdline = "/usr/sbin/smss evil";
    assert_int_equal(hunt_smss_role(&p), HUNT_SMSS_ODD);
    p.name = "smss.exe";
    p.cmdline = "smss.exe -x"; /* NT's smss takes no options */
    assert_int_equal(hunt_smss_role(&p), HUNT_SMSS_ODD);
    p.name = "csrss.exe";
    assert_int_equal(hunt_smss_role(&p), HUNT_NOT_SMSS);
    p.name = "SMSS.EXE"; /* Windows names without case */
    p.cmdline = "\\SystemRoot\\System32\\SMSS.EXE 00000001 0000003c";
    assert_int_equal(hunt_smss_role(&p), HUNT_SMSS_CHILD);
}

/* The process p of the tree's current boot with PID pid. */
static const struct hunt_proc *held(const struct hunt_tree *t, int64_t pid)
{
    const struct hunt_boot *b = hunt_tree_boot(t, hunt_tree_nboots(t) - 1);
    for (const struct hunt_proc *p = b->head; p; p = p->next_in_boot)
        if (p->pid == pid)
            return p;
    return NULL;
}

static void test_evidence(void **state)
{
    (void)state;
    /* Each record of a process is named in its evidence: source#record (what), the
     * number or the kind left out when the source has none, joined with "; ", and the
     * list capped near a kilobyte however many records there are. */
    struct hunt_ruleset rs;
    struct diags d = DIAGS_INIT;
    hunt_ruleset_init(&rs);
    assert_int_equal(hunt_ruleset_load_default(&rs, &d), 0);
    struct hunt_tree_options o = {.os = HUNT_OS_ALL, .keep_all = true};
    struct world w = {0};
    struct hunt_tree *t = hunt_tree_new(&rs, &o, collect, &w);
    struct hunt_record r = {.kind = HUNT_REC_START, .pid = 700, .ppid = -1, .creator_pid = -1,
                            .image = "C:\\x\\a.exe", .session = 1, .time = SEC(1),
                            .exit_time = HUNT_TIME_UNKNOWN, .seen = HUNT_TIME_UNKNOWN,
                            .os = HUNT_OS_WINDOWS, .source = "a.jsonl", .recno = 7,
                            .what = "Sysmon 1"};
    assert_int_equal(hunt_tree_add(t, &r), 0);
    r.source = "b.csv", r.recno = 0, r.what = NULL;
    assert_int_equal(hunt_tree_add(t, &r), 0);
    r.kind = HUNT_REC_EXIT, r.time = SEC(5), r.source = "a.jsonl", r.recno = 18446744073709551615u;
    r.what = "";
    assert_int_equal(hunt_tree_add(t, &r), 0);
    assert_string_equal(held(t, 700)->evidence,
                        "a.jsonl#7 (Sysmon 1); b.csv; a.jsonl#18446744073709551615 ()");
    r = (struct hunt_record){.kind = HUNT_REC_START, .pid = 800, .ppid = -1, .creator_pid = -1,
                             .image = "C:\\x\\b.exe", .session = 1, .time = SEC(10),
                             .exit_time = HUNT_TIME_UNKNOWN, .seen = HUNT_TIME_UNKNOWN,
                             .os = HUNT_OS_WINDOWS, .source = "c.jsonl", .what = "Sysmon 1"};
    for (int i = 1; i <= 500; i++) {
        r.recno = (uint64_t)i;
        assert_int_equal(hunt_tree_add(t, &r), 0);
    }
    const char *ev = held(t, 800)->evidence;
    assert_true(strncmp(ev, "c.jsonl#1 (Sysmon 1); c.jsonl#2 (Sysmon 1)", 42) == 0);
    assert_true(strlen(ev) >= 1024 && strlen(ev) < 1024 + 32);
    hunt_tree_free(t);
    for (size_t i = 0; i < w.n; i++)
        hunt_finding_free(w.f[i]);
    hunt_ruleset_free(&rs);
    diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_boot_clean),
        cmocka_unit_test(test_parent),
        cmocka_unit_test(test_pid_reuse),
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_lookalikes),
        cmocka_unit_test(test_user),
        cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_second_master),
        cmocka_unit_test(test_reboot_is_not_second_master),
        cmocka_unit_test(test_persistent_child),
        cmocka_unit_test(test_late_start),
        cmocka_unit_test(test_arguments_and_priority),
        cmocka_unit_test(test_instances),
        cmocka_unit_test(test_linux),
        cmocka_unit_test(test_smss_roles),
        cmocka_unit_test(test_evidence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
