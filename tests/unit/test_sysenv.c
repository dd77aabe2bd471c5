/* The system environment: the Environment key's values in order with REG_EXPAND_SZ
 * expanded against what is set so far, undefined references kept, names without case,
 * SystemRoot first, the dynamic variables against /proc/cpuinfo and nproc (and against
 * recorded cpuinfo files of other machines), SAFEBOOT_OPTION, the Linux essentials, the
 * KnownDlls directory first in LD_LIBRARY_PATH, and the JSON rendering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "prep_test.h"
#include "sysenv.h"

#include <sys/utsname.h>

static char *fixture_text(const char *name)
{
    const char *top = getenv("SMSS_TOP");
    char *path;
    if (asprintf(&path, "%s/tests/data/prep/%s", top && *top ? top : ".", name) < 0)
        abort();
    struct buf b = BUF_INIT;
    assert_int_equal(read_file(path, &b), 0);
    free(path);
    return buf_steal(&b);
}

static void test_expansion_in_registry_order(void **state)
{
    (void)state;
    struct smss_config c = {0};
    named_push(&c.environment, "A", "one", false);
    named_push(&c.environment, "B", "%A%-two", true);
    named_push(&c.environment, "C", "%B%-%D%", true); /* D is set only later */
    named_push(&c.environment, "D", "four", false);
    named_push(&c.environment, "E", "%d%", true);     /* names without case */
    named_push(&c.environment, "F", "%A%", false);    /* REG_SZ: never expanded */
    named_push(&c.environment, "A", "changed", false); /* a later value replaces in place */
    struct sysenv e = SYSENV_INIT;
    assert_int_equal(sysenv_load_static(&e, &c, NULL), 0);
    assert_string_equal(sysenv_get(&e, "B"), "one-two");
    assert_string_equal(sysenv_get(&e, "C"), "one-two-%D%");
    assert_string_equal(sysenv_get(&e, "E"), "four");
    assert_string_equal(sysenv_get(&e, "F"), "%A%");
    assert_string_equal(sysenv_get(&e, "a"), "changed");
    assert_int_equal(e.n, 6);
    assert_string_equal(e.v[0], "A=changed"); /* first setting's position kept */
    assert_null(e.v[e.n]);
    sysenv_free(&e);
    test_config_free(&c);
}

static void test_undefined_references_kept(void **state)
{
    (void)state;
    struct sysenv e = SYSENV_INIT;
    assert_int_equal(sysenv_set(&e, "Path", "/bin"), 0);
    static const char *const cases[][2] = {
        {"%UNDEFINED%", "%UNDEFINED%"},
        {"x%UNDEFINED%y%Path%", "x%UNDEFINED%y/bin"},
        {"%UNDEF%Path%", "%UNDEF%Path%"},
        {"100%", "100%"},
        {"%%", "%%"},
        {"a%path%b%", "a/binb%"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = sysenv_expand(&e, cases[i][0]);
        assert_non_null(s);
        assert_string_equal(s, cases[i][1]);
        free(s);
    }
    sysenv_free(&e);
}

static void test_names_without_case(void **state)
{
    (void)state;
    struct sysenv e = SYSENV_INIT;
    assert_int_equal(sysenv_set(&e, "windir", "/w"), 0);
    assert_int_equal(sysenv_set(&e, "WINDIR", "/x"), 0);
    assert_int_equal(e.n, 1);
    assert_string_equal(e.v[0], "windir=/x");
    /* NT's Path is spelt PATH, the name Linux programs read. */
    assert_int_equal(sysenv_set(&e, "Path", "/bin"), 0);
    assert_string_equal(e.v[1], "PATH=/bin");
    assert_int_equal(sysenv_set(&e, "", "x"), -1);
    assert_int_equal(sysenv_set(&e, "A=B", "x"), -1);
    sysenv_free(&e);
}

static void test_systemroot_first_and_essentials(void **state)
{
    (void)state;
    struct smss_config c = {0};
    named_push(&c.environment, "ComSpec", "%SystemRoot%/cmd", true);
    named_push(&c.environment, "LANG", "de_DE.UTF-8", false);
    struct sysenv e = SYSENV_INIT;
    struct sysenv_machine m;
    sysenv_machine_from_cpuinfo(&m, "x86_64", "", 2);
    assert_int_equal(sysenv_load_static(&e, &c, "/usr/local/sbin"), 0);
    assert_int_equal(sysenv_add_dynamic(&e, &m, &c), 0);
    assert_string_equal(e.v[0], "SystemRoot=/usr/local/sbin");
    assert_string_equal(sysenv_get(&e, "ComSpec"), "/usr/local/sbin/cmd");
    assert_string_equal(sysenv_get(&e, "LANG"), "de_DE.UTF-8"); /* configured: kept */
    assert_non_null(strstr(sysenv_get(&e, "PATH"), "/usr/bin"));
    assert_string_equal(sysenv_get(&e, "TERM"), "linux");
    assert_string_equal(sysenv_get(&e, "OS"), "Windows_NT");
    assert_null(sysenv_get(&e, "SAFEBOOT_OPTION"));
    sysenv_free(&e);
    test_config_free(&c);
}

static void test_safeboot_option(void **state)
{
    (void)state;
    static const char *const names[] = {NULL, "MINIMAL", "NETWORK", "DSREPAIR", NULL};
    struct sysenv_machine m;
    sysenv_machine_from_cpuinfo(&m, "x86_64", "", 1);
    for (uint32_t opt = 0; opt < 5; opt++) {
        struct smss_config c = {0};
        c.safeboot_option = opt;
        struct sysenv e = SYSENV_INIT;
        assert_int_equal(sysenv_add_dynamic(&e, &m, &c), 0);
        if (names[opt])
            assert_string_equal(sysenv_get(&e, "SAFEBOOT_OPTION"), names[opt]);
        else
            assert_null(sysenv_get(&e, "SAFEBOOT_OPTION"));
        sysenv_free(&e);
    }
}

/* This machine: PROCESSOR_* against an independent reading of /proc/cpuinfo (awk), and
 * NUMBER_OF_PROCESSORS against nproc. */
static void test_dynamic_variables_of_this_machine(void **state)
{
    (void)state;
    struct smss_config c = {0};
    struct sysenv e = SYSENV_INIT;
    assert_int_equal(sysenv_build(&e, &c, "/sbin", NULL), 0);
    char *nproc = command_output("nproc");
    assert_non_null(nproc);
    assert_string_equal(sysenv_get(&e, "NUMBER_OF_PROCESSORS"), nproc);
    free(nproc);
    struct utsname u;
    uname(&u);
    if (strcmp(u.machine, "x86_64") == 0) {
        assert_string_equal(sysenv_get(&e, "PROCESSOR_ARCHITECTURE"), "AMD64");
        char *fam = command_output("awk -F': *' '/^cpu family/{print $2; exit}' /proc/cpuinfo");
        char *model = command_output("awk -F': *' '/^model[ \\t]*:/{print $2; exit}' /proc/cpuinfo");
        char *step = command_output("awk -F': *' '/^stepping/{print $2; exit}' /proc/cpuinfo");
        char *vendor = command_output("awk -F': *' '/^vendor_id/{print $2; exit}' /proc/cpuinfo");
        assert_true(fam && model && step && vendor);
        assert_string_equal(sysenv_get(&e, "PROCESSOR_LEVEL"), fam);
        char want[256], rev[16];
        snprintf(want, sizeof want, "%s Family %s Model %s Stepping %s, %s",
                 strcmp(vendor, "GenuineIntel") == 0 ? "Intel64" : "AMD64", fam, model, step,
                 vendor);
        assert_string_equal(sysenv_get(&e, "PROCESSOR_IDENTIFIER"), want);
        snprintf(rev, sizeof rev, "%02x%02x", atoi(model), atoi(step));
        assert_string_equal(sysenv_get(&e, "PROCESSOR_REVISION"), rev);
        free(fam);
        free(model);
        free(step);
        free(vendor);
    } else {
        print_message("# not x86_64 (%s): identifier checked only for presence\n", u.machine);
        assert_non_null(sysenv_get(&e, "PROCESSOR_IDENTIFIER"));
    }
    assert_string_equal(sysenv_get(&e, "SystemRoot"), "/sbin");
    sysenv_free(&e);
}

static void test_recorded_cpus(void **state)
{
    (void)state;
    char *intel = fixture_text("cpuinfo-intel-xeon.txt");
    struct sysenv_machine m;
    sysenv_machine_from_cpuinfo(&m, "x86_64", intel, 2);
    assert_string_equal(m.architecture, "AMD64");
    assert_int_equal(m.level, 6);
    assert_string_equal(m.identifier, "Intel64 Family 6 Model 85 Stepping 7, GenuineIntel");
    assert_string_equal(m.revision, "5507");
    sysenv_machine_from_cpuinfo(&m, "i686", intel, 1);
    assert_string_equal(m.architecture, "x86");
    assert_string_equal(m.identifier, "x86 Family 6 Model 85 Stepping 7, GenuineIntel");
    free(intel);
    char *arm = fixture_text("cpuinfo-arm64.txt");
    sysenv_machine_from_cpuinfo(&m, "aarch64", arm, 4);
    assert_string_equal(m.architecture, "ARM64");
    assert_int_equal(m.level, 8);
    assert_string_equal(m.identifier, "ARMv8 (64-bit) Family 8 Model D0C Revision 1, ARM Limited");
    assert_string_equal(m.revision, "0301");
    free(arm);
}

static void test_knowndlls_first_in_library_path(void **state)
{
    (void)state;
    struct sysenv e = SYSENV_INIT;
    assert_int_equal(sysenv_prepend_path(&e, "LD_LIBRARY_PATH", "/run/smss/KnownDlls"), 0);
    assert_string_equal(sysenv_get(&e, "LD_LIBRARY_PATH"), "/run/smss/KnownDlls");
    assert_int_equal(sysenv_set(&e, "LD_LIBRARY_PATH", "/opt/lib"), 0);
    assert_int_equal(sysenv_prepend_path(&e, "LD_LIBRARY_PATH", "/run/smss/KnownDlls"), 0);
    assert_int_equal(sysenv_prepend_path(&e, "LD_LIBRARY_PATH", "/run/smss/KnownDlls"), 0);
    assert_string_equal(sysenv_get(&e, "LD_LIBRARY_PATH"), "/run/smss/KnownDlls:/opt/lib");
    sysenv_free(&e);
}

static void test_json(void **state)
{
    (void)state;
    struct sysenv e = SYSENV_INIT;
    sysenv_set(&e, "Z", "last-name-first");
    sysenv_set(&e, "A", "bad \xff byte");
    json_t *j = sysenv_to_json(&e);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_COMPACT);
    assert_string_equal(s, "{\"Z\":\"last-name-first\",\"A\":\"bad \xef\xbf\xbd byte\"}");
    free(s);
    json_decref(j);
    sysenv_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expansion_in_registry_order),
        cmocka_unit_test(test_undefined_references_kept),
        cmocka_unit_test(test_names_without_case),
        cmocka_unit_test(test_systemroot_first_and_essentials),
        cmocka_unit_test(test_safeboot_option),
        cmocka_unit_test(test_dynamic_variables_of_this_machine),
        cmocka_unit_test(test_recorded_cpus),
        cmocka_unit_test(test_knowndlls_first_in_library_path),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
