/* Names and paths: normalising the spellings of the system directory, base names and
 * command-line arguments, the session-child argument form, Damerau-Levenshtein distance,
 * confusable folding and the look-alike verdicts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hunt_lookalike.h"
#include "hunt_path.h"

#include <stdlib.h>
#include <string.h>

static void norm_is(const char *in, const char *want)
{
    char *got = hunt_path_normalize(in, NULL);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_normalize(void **state)
{
    (void)state;
    const char *want = "c:\\windows\\system32\\smss.exe";
    norm_is("\\SystemRoot\\System32\\smss.exe", want);
    norm_is("%SystemRoot%\\System32\\smss.exe", want);
    norm_is("%%SystemRoot%%\\system32\\SMSS.EXE", want);
    norm_is("\\??\\C:\\Windows\\System32\\smss.exe", want);
    norm_is("\\\\?\\C:\\Windows\\System32\\smss.exe", want);
    norm_is("C:\\Windows\\System32\\smss.exe", want);
    norm_is("C:/Windows/System32//smss.exe", want);
    norm_is("\\Device\\HarddiskVolume2\\Windows\\System32\\smss.exe", want);
    norm_is("\\Device\\HarddiskVolume11\\Windows\\System32\\smss.exe", want);
    norm_is("\\Windows\\System32\\smss.exe", want);
    norm_is("%windir%\\System32\\smss.exe", want);
    norm_is("\"C:\\Windows\\System32\\smss.exe\"", want);
    /* Elsewhere stays elsewhere. */
    norm_is("D:\\Windows\\System32\\smss.exe", "d:\\windows\\system32\\smss.exe");
    norm_is("C:\\Users\\Public\\smss.exe", "c:\\users\\public\\smss.exe");
    norm_is("SystemRoot\\System32\\smss.exe", want);
    norm_is("SystemRootX\\smss.exe", "systemrootx\\smss.exe");
    norm_is("\\\\server\\share\\smss.exe", "\\\\server\\share\\smss.exe");
    /* A path longer than the stack copies the normalisation works in. */
    char long_in[1200] = "\\SystemRoot", long_want[1200] = "c:\\windows";
    for (int i = 0; i < 100; i++) {
        strcat(long_in, "\\Directory");
        strcat(long_want, "\\directory");
    }
    norm_is(long_in, long_want);
    /* Linux paths keep their case. */
    norm_is("/usr/sbin//SMSS", "/usr/sbin/SMSS");
    char *other = hunt_path_normalize("\\SystemRoot\\System32\\smss.exe", "D:\\WinNT");
    assert_string_equal(other, "d:\\winnt\\system32\\smss.exe");
    free(other);
}

static void test_cmdline(void **state)
{
    (void)state;
    assert_string_equal(hunt_path_basename("C:\\Windows\\System32\\smss.exe"), "smss.exe");
    assert_string_equal(hunt_path_basename("/usr/sbin/smss"), "smss");
    assert_string_equal(hunt_path_basename("smss"), "smss");
    /* Either separator, whichever comes last. */
    assert_string_equal(hunt_path_basename("C:\\a/b\\c.exe"), "c.exe");
    assert_string_equal(hunt_path_basename("C:/a\\b/c.exe"), "c.exe");
    assert_string_equal(hunt_path_basename("C:\\a\\"), "");
    char *img = hunt_cmdline_image("\"C:\\Program Files\\x y\\a.exe\" -k");
    assert_string_equal(img, "C:\\Program Files\\x y\\a.exe");
    free(img);
    size_t n;
    const char *a = hunt_cmdline_args("\\SystemRoot\\System32\\smss.exe 00000000 0000003c  ", &n);
    assert_int_equal(n, 17);
    assert_true(hunt_args_session_child(a, n));
    a = hunt_cmdline_args("smss.exe", &n);
    assert_int_equal(n, 0);
    a = hunt_cmdline_args("smss.exe 0000000 0000003c", &n);
    assert_false(hunt_args_session_child(a, n));
    a = hunt_cmdline_args("smss.exe 00000000", &n);
    assert_false(hunt_args_session_child(a, n));
    a = hunt_cmdline_args("smss.exe 00000000 0000003g", &n);
    assert_false(hunt_args_session_child(a, n));
    a = hunt_cmdline_args("smss 00000001 0000abcd extra", &n);
    assert_false(hunt_args_session_child(a, n));
}

static unsigned dl(const char *a, const char *b)
{
    return hunt_dl_distance(a, strlen(a), b, strlen(b), 5);
}

static void test_distance(void **state)
{
    (void)state;
    assert_int_equal(dl("smss", "smss"), 0);
    assert_int_equal(dl("smmss", "smss"), 1);   /* insertion */
    assert_int_equal(dl("msss", "smss"), 1);    /* transposition */
    assert_int_equal(dl("scvhost", "svchost"), 1);
    assert_int_equal(dl("svhost", "svchost"), 1);
    assert_int_equal(dl("lsasss", "lsass"), 1);
    assert_int_equal(dl("csrsss", "csrss"), 1);
    assert_int_equal(dl("winlogin", "winlogon"), 1);
    assert_int_equal(dl("abc", "xyz"), 3);
    /* Bounded: beyond max reports max + 1. */
    assert_int_equal(hunt_dl_distance("abcdefgh", 8, "zzzzzzzz", 8, 2), 3);
}

static const char *const prot[] = {"smss.exe", "csrss.exe", "svchost.exe", "lsass.exe",
                                   "winlogon.exe"};
static const char *const known[] = {"taskhost.exe", "sass.exe"};

static enum hunt_lookalike_kind judge(const char *name, struct hunt_lookalike *la)
{
    return hunt_lookalike_check(name, prot, 5, known, 2, la);
}

static void test_lookalike(void **state)
{
    (void)state;
    struct hunt_lookalike la;
    assert_int_equal(judge("smmss.exe", &la), HUNT_LOOKALIKE_EDIT);
    assert_string_equal(la.target, "smss.exe");
    assert_int_equal(la.distance, 1);
    assert_int_equal(judge("SMMSS.EXE", &la), HUNT_LOOKALIKE_EDIT);
    assert_int_equal(judge("svchosts.exe", &la), HUNT_LOOKALIKE_EDIT);
    assert_int_equal(judge("smss.com", &la), HUNT_LOOKALIKE_EDIT); /* same stem */
    assert_int_equal(judge("smss.exe", &la), HUNT_LOOKALIKE_NONE);
    assert_int_equal(judge("SMSS.EXE", &la), HUNT_LOOKALIKE_NONE); /* Windows: no case */
    assert_int_equal(judge("sass.exe", &la), HUNT_LOOKALIKE_NONE); /* listed as known */
    /* Short names: one edit only (two would change half the name). */
    assert_int_equal(judge("ssh.exe", &la), HUNT_LOOKALIKE_NONE);
    assert_int_equal(judge("sms.exe", &la), HUNT_LOOKALIKE_EDIT);
    assert_int_equal(judge("notepad.exe", &la), HUNT_LOOKALIKE_NONE);
    /* Cyrillic es (U+0441) for c, Greek omicron (U+03BF) for o. */
    assert_int_equal(judge("\xd1\x81srss.exe", &la), HUNT_LOOKALIKE_CONFUSABLE);
    assert_string_equal(la.target, "csrss.exe");
    assert_int_equal(judge("winl\xce\xbfgon.exe", &la), HUNT_LOOKALIKE_CONFUSABLE);
    /* Right-to-left override. */
    assert_int_equal(judge("lsass\xe2\x80\xae" "exe.txt", &la), HUNT_LOOKALIKE_BIDI);
    /* A zero-width space is removed before comparing. */
    assert_int_equal(judge("sm\xe2\x80\x8bss.exe", &la), HUNT_LOOKALIKE_EDIT);
    bool c, b;
    char *f = hunt_name_fold("S\xd0\x9c\xd0\xa1.exe", &c, &b);
    assert_string_equal(f, "smc.exe");
    assert_true(c);
    assert_false(b);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_cmdline),
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_lookalike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
