/* Kmode: nothing configured; NT's own value (and other Windows paths) recognised and
 * skipped; a bare name resolved through modules.dep with its dependencies in load order
 * ('-' and '_' alike); parameters passed on; no modules.dep, an unknown module and a
 * missing file reported and skipped; a file the kernel refuses (on this machine: no
 * module support, or not a module) and the refusal inside a user namespace reported with
 * the reason, boot going on; the JSON rendering. No module is ever loaded into the host's
 * kernel: the only files handed to finit_module are not modules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kmode.h"
#include "prep_test.h"

#include <errno.h>
#include <sched.h>
#include <sys/wait.h>

static void test_windows_paths(void **state)
{
    (void)state;
    assert_true(kmode_is_windows_path("\\SystemRoot\\System32\\win32k.sys"));
    assert_true(kmode_is_windows_path("C:\\Windows\\System32\\win32k.sys"));
    assert_true(kmode_is_windows_path("win32k.SYS"));
    assert_false(kmode_is_windows_path("dummy"));
    assert_false(kmode_is_windows_path("/lib/modules/6.1.0/kernel/drivers/net/dummy.ko"));
}

static void kmode_value(struct smss_config *c, const char *value, bool expand)
{
    named_push(&c->subsystems, "Windows", "/usr/sbin/csrss", false);
    named_push(&c->subsystems, "KMODE", value, expand);
}

static void test_not_configured(void **state)
{
    (void)state;
    struct smss_config c = {0};
    named_push(&c.subsystems, "Windows", "/usr/sbin/csrss", false);
    struct kmode_result r = KMODE_RESULT_INIT;
    assert_int_equal(kmode_load(&r, &c, NULL, "/nonexistent"), 0);
    assert_int_equal(r.state, KMODE_NOT_CONFIGURED);
    kmode_result_free(&r);
    kmode_value(&c, "   ", false); /* blank: not configured either */
    assert_int_equal(kmode_load(&r, &c, NULL, "/nonexistent"), 0);
    assert_int_equal(r.state, KMODE_NOT_CONFIGURED);
    kmode_result_free(&r);
    test_config_free(&c);
}

static void test_nt_default_skipped(void **state)
{
    (void)state;
    struct smss_config c = {0};
    kmode_value(&c, "%SystemRoot%\\System32\\win32k.sys", true);
    struct sysenv env = SYSENV_INIT;
    sysenv_set(&env, "SystemRoot", "/usr/sbin");
    struct kmode_result r = KMODE_RESULT_INIT;
    assert_int_equal(kmode_load(&r, &c, &env, "/nonexistent"), 0);
    assert_int_equal(r.state, KMODE_SKIPPED);
    assert_string_equal(r.value, "/usr/sbin\\System32\\win32k.sys");
    assert_non_null(strstr(r.reason, "not a Linux module, skipped"));
    assert_null(r.module);
    kmode_result_free(&r);
    test_config_free(&c);
    kmode_value(&c, "\\SystemRoot\\System32\\win32k.sys", false);
    assert_int_equal(kmode_load(&r, &c, NULL, "/nonexistent"), 0);
    assert_int_equal(r.state, KMODE_SKIPPED);
    assert_string_equal(r.reason, "\\SystemRoot\\System32\\win32k.sys is not a Linux module, skipped");
    kmode_result_free(&r);
    sysenv_free(&env);
    test_config_free(&c);
}

/* A modules directory of this test's own: modules.dep and files that are not modules. */
static char *fake_modules(void)
{
    char *dir = scratch_dir("kmode");
    char *p = path_join(dir, "modules.dep");
    write_text(p, "kernel/drivers/net/dummy.ko:\n"
                  "kernel/fs/smss-test.ko: kernel/lib/needs-first-b.ko kernel/lib/a.ko\n"
                  "kernel/lib/a.ko:\n"
                  "kernel/lib/needs-first-b.ko: kernel/lib/a.ko\n", 0644);
    free(p);
    char *sub = path_join(dir, "kernel");
    mkdir(sub, 0755);
    free(sub);
    sub = path_join(dir, "kernel/fs");
    mkdir(sub, 0755);
    free(sub);
    sub = path_join(dir, "kernel/fs/smss-test.ko");
    write_text(sub, "not a kernel module\n", 0644);
    free(sub);
    return dir;
}

static void test_resolve(void **state)
{
    (void)state;
    char *dir = fake_modules(), *why = NULL;
    struct strlist deps = STRLIST_INIT;
    char *m = kmode_resolve("smss_test", dir, &deps, &why);
    char *want = path_join(dir, "kernel/fs/smss-test.ko");
    assert_string_equal(m, want);
    assert_int_equal(deps.n, 2);
    char *a = path_join(dir, "kernel/lib/a.ko"), *b = path_join(dir, "kernel/lib/needs-first-b.ko");
    assert_string_equal(deps.v[0], a); /* the last listed loads first, as modprobe does */
    assert_string_equal(deps.v[1], b);
    free(a);
    free(b);
    free(m);
    free(want);
    strlist_free(&deps);
    assert_null(kmode_resolve("no_such_module", dir, &deps, &why));
    assert_non_null(strstr(why, "module no_such_module not found in"));
    free(why);
    assert_null(kmode_resolve("dummy", "/nonexistent/modules", &deps, &why));
    assert_non_null(strstr(why, "cannot read /nonexistent/modules/modules.dep"));
    free(why);
    m = kmode_resolve("/path/to/x.ko", dir, &deps, &why);
    assert_string_equal(m, "/path/to/x.ko");
    free(m);
    rm_tree(dir);
    free(dir);
}

static void test_missing_reported(void **state)
{
    (void)state;
    struct smss_config c = {0};
    kmode_value(&c, "smss_no_such_module", false);
    struct kmode_result r = KMODE_RESULT_INIT;
    assert_int_equal(kmode_load(&r, &c, NULL, NULL), 0); /* this machine's modules */
    assert_int_equal(r.state, KMODE_SKIPPED);
    assert_int_equal(r.errnum, ENOENT);
    assert_non_null(r.reason);
    kmode_result_free(&r);
    test_config_free(&c);
    kmode_value(&c, "/nonexistent/smss.ko", false);
    assert_int_equal(kmode_load(&r, &c, NULL, NULL), 0);
    assert_int_equal(r.state, KMODE_SKIPPED);
    assert_non_null(strstr(r.reason, "no such module file"));
    kmode_result_free(&r);
    test_config_free(&c);
}

/* A file that is not a module: the kernel refuses it (ENOEXEC, or ENOSYS on a kernel
 * without modules, EPERM without the capability), reported, boot goes on. The dependency
 * a.ko does not exist: reported first. */
static void test_refused_file(void **state)
{
    (void)state;
    char *dir = fake_modules();
    struct smss_config c = {0};
    kmode_value(&c, "smss-test opt=1  other=2", false);
    struct kmode_result r = KMODE_RESULT_INIT;
    assert_int_equal(kmode_load(&r, &c, NULL, dir), 0);
    assert_int_equal(r.state, KMODE_FAILED);
    assert_int_equal(r.errnum, ENOENT);
    assert_non_null(strstr(r.reason, "kernel/lib/a.ko"));
    assert_string_equal(r.params, "opt=1  other=2");
    kmode_result_free(&r);
    test_config_free(&c);
    char *file = path_join(dir, "kernel/fs/smss-test.ko");
    kmode_value(&c, file, false);
    assert_int_equal(kmode_load(&r, &c, NULL, dir), 0);
    assert_int_equal(r.state, KMODE_FAILED);
    assert_true(r.errnum == ENOEXEC || r.errnum == ENOSYS || r.errnum == EPERM ||
                r.errnum == EINVAL || r.errnum == EKEYREJECTED);
    assert_non_null(strstr(r.reason, strerror(r.errnum)));
    print_message("# this kernel says: %s\n", r.reason);
    json_t *j = kmode_to_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "failed");
    assert_string_equal(json_string_value(json_object_get(j, "module")), file);
    assert_int_equal(json_integer_value(json_object_get(j, "errno")), r.errnum);
    json_decref(j);
    kmode_result_free(&r);
    test_config_free(&c);
    free(file);
    rm_tree(dir);
    free(dir);
}

/* In a user namespace the kernel refuses any module (EPERM; ENOSYS where the kernel has
 * no modules at all); the reason says so. Checked in a child process. */
static void test_refused_in_user_namespace(void **state)
{
    (void)state;
    char *dir = fake_modules(), *file = path_join(dir, "kernel/fs/smss-test.ko");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWUSER) < 0)
            _exit(77);
        struct smss_config c = {0};
        kmode_value(&c, file, false);
        struct kmode_result r = KMODE_RESULT_INIT;
        int ok = kmode_load(&r, &c, NULL, dir) == 0 && r.state == KMODE_FAILED &&
                 (r.errnum == ENOSYS || (r.errnum == EPERM && strstr(r.reason, "namespace")));
        kmode_result_free(&r);
        test_config_free(&c);
        free(file);
        free(dir);
        _exit(ok ? 0 : 1);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77)
        print_message("# user namespaces unavailable: refusal not checked\n");
    else
        assert_int_equal(WEXITSTATUS(st), 0);
    free(file);
    rm_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows_paths),    cmocka_unit_test(test_not_configured),
        cmocka_unit_test(test_nt_default_skipped), cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_missing_reported), cmocka_unit_test(test_refused_file),
        cmocka_unit_test(test_refused_in_user_namespace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
