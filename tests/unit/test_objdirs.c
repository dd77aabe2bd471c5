/* Object directories and DOS devices: modes under both ProtectionMode settings (the
 * liberal \Windows and \RPC Control), the fixed directories, nested names, modes set again
 * on directories left by an earlier boot, the first failure fatal and naming its entry,
 * DOS device links with each kind of target, atomic replacement, and the JSON rendering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "objdirs.h"
#include "prep_test.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>

static mode_t mode_of(const char *runtime, const char *rel)
{
    char *p = path_join(runtime, rel);
    struct stat st;
    int rc = lstat(p, &st);
    free(p);
    assert_int_equal(rc, 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_uid, geteuid() == 0 ? 0 : st.st_uid);
    return st.st_mode & 07777;
}

static char *link_of(const char *runtime, const char *name)
{
    char *p, buf[PATH_MAX];
    if (asprintf(&p, "%s/GLOBAL\?\?/%s", runtime, name) < 0)
        abort();
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    free(p);
    if (n < 0)
        return NULL;
    buf[n] = '\0';
    return strdup(buf);
}

static void default_dirs(struct smss_config *c, uint32_t protection)
{
    c->protection_mode = protection;
    strlist_push(&c->object_directories, "\\Windows");
    strlist_push(&c->object_directories, "\\RPC Control");
    strlist_push(&c->object_directories, "\\BaseNamedObjects\\Restricted");
}

static void test_protective_modes(void **state)
{
    (void)state;
    char *rt = scratch_dir("objdirs");
    struct smss_config c = {0};
    default_dirs(&c, 1);
    struct objdirs_result r = OBJDIRS_RESULT_INIT;
    assert_int_equal(objdirs_create(&r, &c, rt), 0);
    assert_int_equal(mode_of(rt, "Sessions"), 0755);
    assert_int_equal(mode_of(rt, "KnownDlls"), 0755);
    assert_int_equal(mode_of(rt, "GLOBAL??"), 0755);
    assert_int_equal(mode_of(rt, "Windows"), 01777);
    assert_int_equal(mode_of(rt, "RPC Control"), 01777);
    assert_int_equal(mode_of(rt, "BaseNamedObjects"), 0755);
    assert_int_equal(mode_of(rt, "BaseNamedObjects/Restricted"), 0755);
    assert_int_equal(r.ndirs, 6);
    assert_false(r.dirs[3].existed);
    objdirs_result_free(&r);
    /* A second boot over the same tree: modes set again on what an intruder loosened. */
    char *win = path_join(rt, "Sessions");
    chmod(win, 0777);
    free(win);
    assert_int_equal(objdirs_create(&r, &c, rt), 0);
    assert_int_equal(mode_of(rt, "Sessions"), 0755);
    assert_true(r.dirs[0].existed);
    objdirs_result_free(&r);
    test_config_free(&c);
    rm_tree(rt);
    free(rt);
}

static void test_unprotected_modes(void **state)
{
    (void)state;
    char *rt = scratch_dir("objdirs");
    struct smss_config c = {0};
    default_dirs(&c, 0);
    struct objdirs_result r = OBJDIRS_RESULT_INIT;
    assert_int_equal(objdirs_create(&r, &c, rt), 0);
    assert_int_equal(mode_of(rt, "Sessions"), 0777);
    assert_int_equal(mode_of(rt, "Windows"), 0777);
    assert_int_equal(mode_of(rt, "RPC Control"), 0777);
    assert_int_equal(mode_of(rt, "BaseNamedObjects/Restricted"), 0777);
    assert_int_equal(objdirs_mode(2, "\\Windows"), 0777); /* only bit 0 counts */
    assert_int_equal(objdirs_mode(3, "\\windows"), 01777);
    objdirs_result_free(&r);
    test_config_free(&c);
    rm_tree(rt);
    free(rt);
}

static void test_names(void **state)
{
    (void)state;
    char *p = objdirs_path("/run/smss", "\\RPC Control");
    assert_string_equal(p, "/run/smss/RPC Control");
    free(p);
    p = objdirs_path("/run/smss", "\\A\\B");
    assert_string_equal(p, "/run/smss/A/B");
    free(p);
    static const char *const bad[] = {"\\", "", "\\A\\\\B", "\\A\\..\\B", "\\.", "\\a/b", "\\A\\"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        assert_null(objdirs_path("/run/smss", bad[i]));
        assert_int_equal(errno, EINVAL);
    }
}

/* NT stops at the first failure: the entries after it are not created. */
static void test_first_failure_fatal(void **state)
{
    (void)state;
    char *rt = scratch_dir("objdirs");
    struct smss_config c = {0};
    c.protection_mode = 1;
    strlist_push(&c.object_directories, "\\Windows");
    strlist_push(&c.object_directories, "\\Blocked");
    strlist_push(&c.object_directories, "\\After");
    char *blocked = path_join(rt, "Blocked");
    write_text(blocked, "a file where a directory belongs\n", 0644);
    struct objdirs_result r = OBJDIRS_RESULT_INIT;
    assert_int_equal(objdirs_create(&r, &c, rt), -1);
    assert_non_null(r.error);
    assert_non_null(strstr(r.error, "\\Blocked"));
    char *after = path_join(rt, "After");
    assert_int_equal(access(after, F_OK), -1);
    objdirs_result_free(&r);
    /* An invalid name is fatal too, named. */
    strlist_free(&c.object_directories);
    strlist_push(&c.object_directories, "\\..\\etc");
    assert_int_equal(objdirs_create(&r, &c, rt), -1);
    assert_non_null(strstr(r.error, "\\..\\etc"));
    objdirs_result_free(&r);
    free(after);
    free(blocked);
    test_config_free(&c);
    rm_tree(rt);
    free(rt);
}

static void test_dos_device_links(void **state)
{
    (void)state;
    char *rt = scratch_dir("objdirs");
    struct smss_config c = {0};
    c.protection_mode = 1;
    named_push(&c.dos_devices, "NUL", "/dev/null", false);
    named_push(&c.dos_devices, "AUX", "\\DosDevices\\COM1", false);
    named_push(&c.dos_devices, "PRN", "\\??\\LPT1", false);
    named_push(&c.dos_devices, "PIPE", "\\Device\\NamedPipe", false);
    struct objdirs_result r = OBJDIRS_RESULT_INIT;
    assert_int_equal(objdirs_create(&r, &c, rt), 0);
    assert_int_equal(r.nlinks, 4);
    char *t = link_of(rt, "NUL");
    assert_string_equal(t, "/dev/null");
    free(t);
    t = link_of(rt, "AUX");
    assert_string_equal(t, "COM1");
    free(t);
    t = link_of(rt, "PRN");
    assert_string_equal(t, "LPT1");
    free(t);
    char *want = path_join(rt, "Device/NamedPipe");
    t = link_of(rt, "PIPE");
    assert_string_equal(t, want);
    free(t);
    free(want);
    assert_false(r.links[0].replaced);
    objdirs_result_free(&r);
    test_config_free(&c);
    rm_tree(rt);
    free(rt);
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_link_replaced(void **state)
{
    (void)state;
    char *rt = scratch_dir("objdirs");
    struct smss_config c = {0};
    named_push(&c.dos_devices, "COM1", "/dev/ttyS0", false);
    struct objdirs_result r = OBJDIRS_RESULT_INIT;
    assert_int_equal(objdirs_create(&r, &c, rt), 0);
    objdirs_result_free(&r);
    free(c.dos_devices.v[0].value);
    c.dos_devices.v[0].value = strdup("/dev/ttyS1");
    assert_int_equal(objdirs_create(&r, &c, rt), 0);
    assert_true(r.links[0].replaced);
    char *t = link_of(rt, "COM1");
    assert_string_equal(t, "/dev/ttyS1");
    free(t);
    char *global = path_join(rt, "GLOBAL??");
    assert_int_equal(count_entries(global), 1); /* no temporary name left behind */
    free(global);
    objdirs_result_free(&r);
    /* A bad link name is fatal and named. */
    named_push(&c.dos_devices, "a/b", "/dev/null", false);
    assert_int_equal(objdirs_create(&r, &c, rt), -1);
    assert_non_null(strstr(r.error, "DOS Devices\\a/b"));
    objdirs_result_free(&r);
    test_config_free(&c);
    rm_tree(rt);
    free(rt);
}

static void test_json(void **state)
{
    (void)state;
    char *rt = scratch_dir("objdirs");
    struct smss_config c = {0};
    default_dirs(&c, 1);
    named_push(&c.dos_devices, "NUL", "/dev/null", false);
    struct objdirs_result r = OBJDIRS_RESULT_INIT;
    assert_int_equal(objdirs_create(&r, &c, rt), 0);
    json_t *j = objdirs_to_json(&r);
    assert_non_null(j);
    json_t *dirs = json_object_get(j, "directories");
    assert_int_equal(json_array_size(dirs), 6);
    assert_string_equal(json_string_value(json_object_get(json_array_get(dirs, 3), "mode")), "1777");
    json_t *l = json_array_get(json_object_get(j, "dos_devices"), 0);
    assert_string_equal(json_string_value(json_object_get(l, "points_to")), "/dev/null");
    json_decref(j);
    objdirs_result_free(&r);
    test_config_free(&c);
    rm_tree(rt);
    free(rt);
}

int main(void)
{
    umask(022);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protective_modes), cmocka_unit_test(test_unprotected_modes),
        cmocka_unit_test(test_names),            cmocka_unit_test(test_first_failure_fatal),
        cmocka_unit_test(test_dos_device_links), cmocka_unit_test(test_link_replaced),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
