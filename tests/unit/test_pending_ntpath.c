/* The rule mapping NT paths (PendingFileRenameOperations) to Linux paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ntpath.h"

#include <stdlib.h>
#include <string.h>

static struct ntpath_rules rules;

static int setup(void **state)
{
    (void)state;
    if (ntpath_rules_default(&rules, "/usr/sbin"))
        return -1;
    free(rules.drive_root['D' - 'A']);
    rules.drive_root['D' - 'A'] = strdup("/mnt/d/");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ntpath_rules_free(&rules);
    return 0;
}

static void maps(const char *nt, const char *want)
{
    char *out = NULL;
    const char *why = NULL;
    if (ntpath_to_linux(&rules, nt, &out, &why) != 0)
        fail_msg("%s: not mapped: %s", nt, why);
    assert_string_equal(out, want);
    free(out);
}

static void refuses(const char *nt, const char *reason_part)
{
    char *out = NULL;
    const char *why = NULL;
    if (ntpath_to_linux(&rules, nt, &out, &why) == 0)
        fail_msg("%s: mapped to %s, expected a refusal", nt, out);
    assert_null(out);
    assert_non_null(why);
    if (!strstr(why, reason_part))
        fail_msg("%s: reason '%s' lacks '%s'", nt, why, reason_part);
}

static void test_drive_prefixes(void **state)
{
    (void)state;
    maps("\\??\\C:\\Windows\\System32\\foo.dll", "/Windows/System32/foo.dll");
    maps("\\\\?\\C:\\dir\\file", "/dir/file");
    maps("\\DosDevices\\C:\\dir\\file", "/dir/file");
    maps("\\GLOBAL??\\c:\\dir\\file", "/dir/file");
    maps("C:\\dir\\file", "/dir/file");
    maps("c:/dir/file", "/dir/file");
    maps("\\??\\D:\\data\\x.txt", "/mnt/d/data/x.txt");
    maps("C:\\", "/");
}

static void test_separators_collapse_and_case_is_kept(void **state)
{
    (void)state;
    maps("\\??\\C:\\Dir\\\\Sub\\\\File.TXT", "/Dir/Sub/File.TXT");
    maps("C:\\dir\\sub\\", "/dir/sub");
    maps("C:\\a b\\c d", "/a b/c d");
}

static void test_system_root(void **state)
{
    (void)state;
    maps("\\SystemRoot\\System32\\smss.exe", "/usr/sbin/System32/smss.exe");
    maps("\\systemroot\\x", "/usr/sbin/x");
    refuses("\\SystemRootX\\y", "NT object path");
}

static void test_linux_paths_taken_as_they_are(void **state)
{
    (void)state;
    maps("/usr/lib/libfoo.so.1", "/usr/lib/libfoo.so.1");
    maps("//usr//lib/", "/usr/lib");
    refuses("/usr/../etc/shadow", "'..'");
}

static void test_unmappable(void **state)
{
    (void)state;
    refuses("", "empty");
    refuses("\\??\\UNC\\server\\share\\f", "UNC");
    refuses("\\\\server\\share\\f", "UNC");
    refuses("\\Device\\HarddiskVolume1\\f", "device");
    refuses("\\\\.\\PhysicalDrive0", "device");
    refuses("\\??\\E:\\f", "no Linux root");
    refuses("C:relative", "drive-relative");
    refuses("relative\\path", "not an absolute path");
    refuses("C:\\dir\\..\\etc", "'..'");
    refuses("C:\\dir\\.\\x", "'.'");
    refuses("C:\\file.txt:stream", "alternate data stream");
    refuses("\\BaseNamedObjects\\x", "NT object path");
}

static void test_system_root_unset(void **state)
{
    (void)state;
    struct ntpath_rules r;
    assert_int_equal(ntpath_rules_default(&r, NULL), 0);
    char *out = NULL;
    const char *why = NULL;
    assert_int_equal(ntpath_to_linux(&r, "\\SystemRoot\\x", &out, &why), -1);
    assert_non_null(strstr(why, "SystemRoot"));
    ntpath_rules_free(&r);
}

static void test_dos_devices_give_drive_roots(void **state)
{
    (void)state;
    struct smss_config c;
    memset(&c, 0, sizeof c);
    struct sm_named dev[] = {{"E:", "/srv/e", false, {0, 0}}, {"c:", "/sysroot", false, {0, 0}},
                             {"NUL", "/dev/null", false, {0, 0}}, {"F:", "\\Device\\X", false, {0, 0}}};
    c.dos_devices.v = dev;
    c.dos_devices.n = 4;
    struct ntpath_rules r;
    assert_int_equal(ntpath_rules_from_config(&r, &c, NULL), 0);
    assert_string_equal(r.drive_root['E' - 'A'], "/srv/e");
    assert_string_equal(r.drive_root['C' - 'A'], "/sysroot");
    assert_null(r.drive_root['F' - 'A']);
    char *out = NULL;
    const char *why = NULL;
    assert_int_equal(ntpath_to_linux(&r, "\\??\\E:\\a", &out, &why), 0);
    assert_string_equal(out, "/srv/e/a");
    free(out);
    ntpath_rules_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drive_prefixes),
        cmocka_unit_test(test_separators_collapse_and_case_is_kept),
        cmocka_unit_test(test_system_root),
        cmocka_unit_test(test_linux_paths_taken_as_they_are),
        cmocka_unit_test(test_unmappable),
        cmocka_unit_test(test_system_root_unset),
        cmocka_unit_test(test_dos_devices_give_drive_roots),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
