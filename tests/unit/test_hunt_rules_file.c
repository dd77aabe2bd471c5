/* The rules file: the built-in baseline loads, every check is bound; a user file can
 * change a level, switch a rule off, add a process and a known name; errors name
 * file:line and what was expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hunt_rules.h"

#include <string.h>

static void load(struct hunt_ruleset *rs, const char *text, int want, struct diags *d)
{
    assert_int_equal(hunt_ruleset_load_buffer(rs, "user.rules", text, strlen(text), d), want);
}

static void test_default(void **state)
{
    (void)state;
    struct hunt_ruleset rs;
    struct diags d = DIAGS_INIT;
    hunt_ruleset_init(&rs);
    assert_int_equal(hunt_ruleset_load_default(&rs, &d), 0);
    assert_int_equal(d.n, 0);
    for (int c = 0; c < HUNT_CHECK_COUNT; c++) {
        const struct hunt_rule *r = hunt_ruleset_rule(&rs, (enum hunt_check)c);
        assert_non_null(r);
        assert_non_null(r->technique);
        assert_non_null(r->name);
    }
    assert_string_equal(hunt_ruleset_rule(&rs, HUNT_CHECK_LOOKALIKE)->id, "HUNT-P003");
    const struct hunt_baseline *b[4];
    assert_int_equal(hunt_ruleset_find(&rs, "SMSS.EXE", HUNT_OS_7, b, 4), 1);
    assert_int_equal(b[0]->priority, 11);
    assert_true(b[0]->args_none && b[0]->args_session_child);
    assert_int_equal(hunt_ruleset_find(&rs, "winlogon.exe", HUNT_OS_WINDOWS, b, 4), 2);
    assert_int_equal(hunt_ruleset_find(&rs, "smss", HUNT_OS_LINUX, b, 4), 1);
    assert_int_equal(hunt_ruleset_find(&rs, "SMSS", HUNT_OS_LINUX, b, 4), 0);
    assert_int_equal(rs.grace, 30 * HUNT_SECOND);
    const struct hunt_config_baseline *cb = hunt_ruleset_config(&rs, HUNT_OS_7);
    assert_string_equal(cb->name, "windows");
    assert_true(strlist_find_nocase(&cb->subsystems, "posix") >= 0);
    hunt_ruleset_free(&rs);
}

static void test_user_changes(void **state)
{
    (void)state;
    struct hunt_ruleset rs;
    struct diags d = DIAGS_INIT;
    hunt_ruleset_init(&rs);
    assert_int_equal(hunt_ruleset_load_default(&rs, &d), 0);
    load(&rs,
         "# my site\n"
         "rule HUNT-P011\n"
         "  level  high   # priorities matter here\n"
         "rule HUNT-P008\n"
         "  enabled no\n"
         "settings\n"
         "  grace 90\n"
         "process myagent.exe\n"
         "  image  C:\\Program Files\\Agent\\myagent.exe\n"
         "  parent services.exe\n"
         "  user   SYSTEM, LOCAL SERVICE\n"
         "  session 0\n"
         "known\n"
         "  names smsx.exe\n",
         0, &d);
    assert_int_equal(hunt_ruleset_rule(&rs, HUNT_CHECK_PRIORITY)->level, HUNT_SEV_HIGH);
    assert_string_equal(hunt_ruleset_rule(&rs, HUNT_CHECK_PRIORITY)->name,
                        "process-unexpected-priority");
    assert_null(hunt_ruleset_rule(&rs, HUNT_CHECK_PERSISTENT_CHILD));
    assert_int_equal(rs.grace, 90 * HUNT_SECOND);
    const struct hunt_baseline *b[2];
    assert_int_equal(hunt_ruleset_find(&rs, "MyAgent.exe", HUNT_OS_10, b, 2), 1);
    assert_int_equal(b[0]->users.n, 2);
    assert_string_equal(b[0]->users.v[1], "LOCAL SERVICE");
    assert_int_equal(b[0]->session_min, 0);
    assert_int_equal(b[0]->session_max, 0);
    assert_true(strlist_find_nocase(&rs.known, "smsx.exe") >= 0);
    /* Replacing a process stanza (same name and platforms). */
    load(&rs, "process smss.exe\n  os windows\n  priority 12\n", 0, &d);
    assert_int_equal(hunt_ruleset_find(&rs, "smss.exe", HUNT_OS_7, b, 2), 1);
    assert_int_equal(b[0]->priority, 12);
    hunt_ruleset_free(&rs);
    diags_free(&d);
}

static void test_errors(void **state)
{
    (void)state;
    struct hunt_ruleset rs;
    struct diags d = DIAGS_INIT;
    hunt_ruleset_init(&rs);
    load(&rs,
         "rule X-1\n"
         "  check nonsense\n"
         "process a.exe\n"
         "  session many\n"
         "  colour blue\n"
         "  level\n"
         "  priority 99\n"
         "whatever x\n"
         "  os mars\n",
         -1, &d);
    assert_int_equal(d.errors, 8);
    assert_string_equal(d.v[0].where, "user.rules:2");
    assert_non_null(strstr(d.v[0].message, "nonsense"));
    assert_string_equal(d.v[1].where, "user.rules:3"); /* the rule ended without a check */
    assert_non_null(strstr(d.v[1].message, "no check"));
    assert_string_equal(d.v[2].where, "user.rules:4");
    assert_string_equal(d.v[3].where, "user.rules:5");
    assert_non_null(strstr(d.v[3].message, "colour"));
    assert_string_equal(d.v[4].where, "user.rules:6");
    assert_string_equal(d.v[5].where, "user.rules:7");
    assert_string_equal(d.v[6].where, "user.rules:8");
    assert_string_equal(d.v[7].where, "user.rules:9");
    hunt_ruleset_free(&rs);
    diags_free(&d);
    /* A rule that names no check and no known ID. */
    hunt_ruleset_init(&rs);
    load(&rs, "rule NEW-1\n  level high\n", -1, &d);
    assert_non_null(strstr(d.v[0].message, "no check"));
    hunt_ruleset_free(&rs);
    diags_free(&d);
    /* A missing file. */
    hunt_ruleset_init(&rs);
    assert_int_equal(hunt_ruleset_load_file(&rs, "/nonexistent/x.rules", &d), -1);
    assert_string_equal(d.v[0].where, "/nonexistent/x.rules");
    hunt_ruleset_free(&rs);
    diags_free(&d);
}

static void test_os_words(void **state)
{
    (void)state;
    assert_int_equal(hunt_os_parse("xp 7"), HUNT_OS_XP | HUNT_OS_7);
    assert_int_equal(hunt_os_parse("10,11"), HUNT_OS_10);
    assert_int_equal(hunt_os_parse("windows"), HUNT_OS_WINDOWS);
    assert_int_equal(hunt_os_parse("all"), HUNT_OS_ALL);
    assert_int_equal(hunt_os_parse("7 mars"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default),
        cmocka_unit_test(test_user_changes),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_os_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
