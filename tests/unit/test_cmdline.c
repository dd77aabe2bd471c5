/* Command lines split into argv: blanks, quoted stretches, empty words, unclosed quotes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmdline.h"

#include <errno.h>
#include <string.h>

static void expect_words(const char *line, const char *const *want, size_t n)
{
    char **argv = NULL;
    size_t argc = 99;
    assert_int_equal(cmdline_split(line, &argv, &argc), 0);
    assert_int_equal(argc, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(argv[i], want[i]);
    assert_null(argv[n]);
    cmdline_free(argv);
}

static void test_blanks(void **state)
{
    (void)state;
    const char *const w[] = {"/usr/sbin/svc", "-f", "--name=x"};
    expect_words("  /usr/sbin/svc \t-f   --name=x  ", w, 3);
}

static void test_quotes(void **state)
{
    (void)state;
    const char *const w[] = {"/opt/my service/run", "-x", "a b c", ""};
    expect_words("\"/opt/my service/run\" -x a\" b \"c \"\"", w, 4);
}

static void test_empty_line(void **state)
{
    (void)state;
    expect_words("", NULL, 0);
    expect_words(" \t ", NULL, 0);
}

static void test_unclosed_quote(void **state)
{
    (void)state;
    char **argv = NULL;
    size_t argc = 0;
    errno = 0;
    assert_int_equal(cmdline_split("/bin/x \"open", &argv, &argc), -1);
    assert_int_equal(errno, EINVAL);
    assert_null(argv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blanks),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_empty_line),
        cmocka_unit_test(test_unclosed_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
