/* Paging files: the entry grammar (numbers in any base), NT's system-managed formula for
 * several RAM sizes, the min/max rules, the 16 MB steps against the usable space, the
 * reserve, NT paths mapped to Linux ones ('?' skipping tmpfs), the swap header, and real
 * swap files on the disk: no holes, mode 0600, a signature blkid and swaplabel read,
 * swapon and swapoff where the kernel allows, reuse of an existing file, a file already
 * active left alone, not enough space, the refusal on tmpfs reported with its reason, an
 * empty list, and the JSON rendering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pagefile.h"
#include "prep_test.h"

#include <errno.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/swap.h>

#define MiB (1024ull * 1024ull)

static void test_parse(void **state)
{
    (void)state;
    struct sm_paging_file e;
    const char *why;
    assert_int_equal(pagefile_parse("C:\\pagefile.sys 0x100 0400", &e, &why), 0);
    assert_string_equal(e.path, "C:\\pagefile.sys");
    assert_int_equal(e.min_mb, 256);
    assert_int_equal(e.max_mb, 256); /* 0400 is octal */
    assert_false(e.system_managed);
    free(e.path);
    assert_int_equal(pagefile_parse("  ?:\\pagefile.sys ", &e, &why), 0);
    assert_true(e.system_managed);
    free(e.path);
    assert_int_equal(pagefile_parse("/swap 0 0", &e, &why), 0);
    assert_true(e.system_managed);
    free(e.path);
    assert_int_equal(pagefile_parse("/swap 64", &e, &why), 0);
    assert_int_equal(e.min_mb, 64);
    assert_int_equal(e.max_mb, 0);
    free(e.path);
    static const char *const bad[] = {"", "   ", "/swap 12abc", "/swap 1 2 3", "/swap -5",
                                      "/swap 99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        assert_int_equal(pagefile_parse(bad[i], &e, &why), -1);
        assert_non_null(why);
    }
}

static void test_nt_formula(void **state)
{
    (void)state;
    static const uint64_t cases[][3] = {
        /* RAM MB, min, max */
        {256, 384, 768}, {512, 768, 1536}, {1023, 1534, 3069}, {1024, 1024, 3072},
        {4096, 4096, 12288}, {24105, 24105, 72315}, {0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t min, max;
        pagefile_nt_sizes(cases[i][0], &min, &max);
        assert_int_equal(min, cases[i][1]);
        assert_int_equal(max, cases[i][2]);
    }
    struct sm_paging_file e = {.min_mb = 100, .max_mb = 50};
    uint64_t min, max;
    pagefile_entry_sizes(&e, 4096, &min, &max);
    assert_int_equal(min, 100);
    assert_int_equal(max, 100); /* min > max: max = min */
    e = (struct sm_paging_file){.max_mb = 80};
    pagefile_entry_sizes(&e, 4096, &min, &max);
    assert_int_equal(min, 80);
    e = (struct sm_paging_file){.system_managed = true};
    pagefile_entry_sizes(&e, 2048, &min, &max);
    assert_int_equal(min, 2048);
    assert_int_equal(max, 6144);
}

static void test_fit_and_reserve(void **state)
{
    (void)state;
    assert_int_equal(pagefile_fit(100, 1000), 100);
    assert_int_equal(pagefile_fit(100, 60), 52); /* 100, 84, 68, 52 */
    assert_int_equal(pagefile_fit(100, 52), 52);
    assert_int_equal(pagefile_fit(40, 5), 0);    /* 40, 24, 8: none fits */
    assert_int_equal(pagefile_fit(16, 10), 0);
    assert_int_equal(pagefile_reserve_mb(1000), 64);
    assert_int_equal(pagefile_reserve_mb(100000), 1000);
}

static void test_paths(void **state)
{
    (void)state;
    struct pagefile_options o = {0};
    char *p = pagefile_linux_path("/var/swap/pf", &o);
    assert_string_equal(p, "/var/swap/pf");
    free(p);
    p = pagefile_linux_path("C:\\pagefile.sys", &o);
    assert_string_equal(p, "/pagefile.sys");
    free(p);
    p = pagefile_linux_path("\\??\\D:\\swap dir\\pf.sys", &o);
    assert_string_equal(p, "/swap dir/pf.sys");
    free(p);
    char *disk = scratch_dir("pagefile");
    const char *dirs[] = {"/dev/shm", disk, NULL};
    o.any_dirs = dirs;
    struct statfs s;
    if (statfs("/dev/shm", &s) == 0 && s.f_type == TMPFS_MAGIC) {
        p = pagefile_linux_path("?:\\pagefile.sys", &o);
        char *want = path_join(disk, "pagefile.sys");
        assert_string_equal(p, want); /* tmpfs passed over */
        free(want);
        free(p);
        const char *only_tmpfs[] = {"/dev/shm", NULL};
        o.any_dirs = only_tmpfs;
        errno = 0;
        assert_null(pagefile_linux_path("?:\\pagefile.sys", &o));
        assert_int_equal(errno, ENOENT);
    }
    errno = 0;
    assert_null(pagefile_linux_path("pagefile.sys", &o));
    assert_int_equal(errno, EINVAL);
    rm_tree(disk);
    free(disk);
}

static void test_header(void **state)
{
    (void)state;
    unsigned char page[4096], uuid[16];
    memset(uuid, 0xab, sizeof uuid);
    pagefile_swap_header(page, sizeof page, 16 * MiB, uuid, PAGEFILE_LABEL);
    assert_memory_equal(page + 4096 - 10, "SWAPSPACE2", 10);
    uint32_t v[3];
    memcpy(v, page + 1024, sizeof v);
    assert_int_equal(v[0], 1);
    assert_int_equal(v[1], 16 * MiB / 4096 - 1);
    assert_int_equal(v[2], 0);
    assert_memory_equal(page + 1024 + 12, uuid, 16);
    assert_string_equal((char *)page + 1024 + 28, "smss-pagefile");
}

/* ---- real swap files ---- */

static bool on_disk(const char *dir)
{
    struct statfs s;
    return statfs(dir, &s) == 0 && s.f_type != TMPFS_MAGIC && s.f_type != RAMFS_MAGIC;
}

static void one_file(struct smss_config *c, const char *spec)
{
    const char *why;
    c->paging_files_set = true;
    assert_int_equal(pagefile_parse(spec, &c->paging_files[c->npaging_files], &why), 0);
    c->npaging_files++;
}

static char *blkid(const char *tag, const char *path)
{
    char *cmd;
    if (asprintf(&cmd, "blkid -p -o value -s %s '%s'", tag, path) < 0)
        abort();
    char *out = command_output(cmd);
    free(cmd);
    return out;
}

static bool in_proc_swaps(const char *path)
{
    struct buf b = BUF_INIT;
    bool found = read_file("/proc/swaps", &b) == 0 && b.p && strstr(b.p, path);
    buf_free(&b);
    return found;
}

static void check_swap_file(const char *path, uint64_t mb)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal((uint64_t)st.st_size, mb * MiB);
    assert_true((uint64_t)st.st_blocks * 512 >= mb * MiB); /* no holes */
    char *type = blkid("TYPE", path), *label = blkid("LABEL", path);
    if (type) {
        assert_string_equal(type, "swap");
        assert_string_equal(label, PAGEFILE_LABEL);
    } else
        print_message("# blkid unavailable: signature checked with swaplabel only\n");
    free(type);
    free(label);
    char *cmd;
    if (asprintf(&cmd, "swaplabel '%s'", path) < 0)
        abort();
    char *out = command_output(cmd);
    free(cmd);
    if (out) {
        assert_non_null(strstr(out, "LABEL: " PAGEFILE_LABEL));
        assert_non_null(strstr(out, "UUID:"));
    }
    free(out);
}

static void test_real_swap_file(void **state)
{
    (void)state;
    char *dir = scratch_dir("pagefile");
    if (!on_disk(dir)) {
        print_message("# SKIP: %s is not on a disk filesystem\n", dir);
        rm_tree(dir);
        free(dir);
        skip();
    }
    char *path = path_join(dir, "pagefile.sys"), *spec;
    if (asprintf(&spec, "%s 16 0x20", path) < 0)
        abort();
    struct smss_config c = {0};
    one_file(&c, spec);
    struct pagefile_options o = {0};
    struct pagefile_result r = PAGEFILE_RESULT_INIT;
    assert_int_equal(pagefile_setup(&r, &c, &o), 0);
    assert_int_equal(r.n, 1);
    struct pagefile *p = &r.v[0];
    assert_int_equal(p->size_mb, 16);
    assert_int_equal(p->max_mb, 32);
    assert_false(p->reused);
    check_swap_file(path, 16);
    if (p->state == PAGEFILE_NOT_ACTIVATED) {
        print_message("# activation refused here (%s): creation checked only\n", p->reason);
        /* ENOSYS: under valgrind, which does not know swapon. */
        assert_true(p->errnum == EPERM || p->errnum == EINVAL || p->errnum == ENOSYS);
    } else {
        assert_int_equal(p->state, PAGEFILE_ACTIVE);
        assert_true(in_proc_swaps(path));
        /* Setting up again while active: left alone. */
        struct pagefile_result again = PAGEFILE_RESULT_INIT;
        assert_int_equal(pagefile_setup(&again, &c, &o), 0);
        assert_int_equal(again.v[0].state, PAGEFILE_ALREADY_ACTIVE);
        pagefile_result_free(&again);
        pagefile_deactivate(&r);
        assert_int_equal(p->state, PAGEFILE_CREATED);
        assert_false(in_proc_swaps(path));
    }
    /* The next boot reuses the file: same size, same signature (same UUID). */
    char *uuid = blkid("UUID", path);
    pagefile_result_free(&r);
    assert_int_equal(pagefile_setup(&r, &c, &o), 0);
    assert_true(r.v[0].reused);
    char *uuid2 = blkid("UUID", path);
    if (uuid && uuid2)
        assert_string_equal(uuid, uuid2);
    pagefile_deactivate(&r);
    free(uuid);
    free(uuid2);
    pagefile_result_free(&r);
    test_config_free(&c);
    free(spec);
    free(path);
    rm_tree(dir);
    free(dir);
}

/* System-managed through '?', with a small RAM size given: 1.5 x 20 MB = 30 MB. */
static void test_system_managed_on_any_filesystem(void **state)
{
    (void)state;
    char *dir = scratch_dir("pagefile");
    const char *dirs[] = {"/dev/shm", dir, NULL};
    struct smss_config c = {0};
    one_file(&c, "?:\\pagefile.sys");
    struct pagefile_options o = {.ram_mb = 20, .any_dirs = dirs, .no_activate = true};
    struct pagefile_result r = PAGEFILE_RESULT_INIT;
    assert_int_equal(pagefile_setup(&r, &c, &o), 0);
    char *want = path_join(dir, "pagefile.sys");
    assert_string_equal(r.v[0].path, want);
    assert_true(r.v[0].system_managed);
    assert_int_equal(r.v[0].min_mb, 30);
    assert_int_equal(r.v[0].max_mb, 60);
    assert_int_equal(r.v[0].state, PAGEFILE_CREATED);
    check_swap_file(want, 30);
    free(want);
    pagefile_result_free(&r);
    test_config_free(&c);
    rm_tree(dir);
    free(dir);
}

static void test_space_and_steps(void **state)
{
    (void)state;
    char *dir = scratch_dir("pagefile");
    char *path = path_join(dir, "pf"), *spec;
    struct statfs s;
    assert_int_equal(statfs(dir, &s), 0);
    int64_t free_mb = (int64_t)((uint64_t)s.f_bavail * s.f_bsize / MiB);
    if (asprintf(&spec, "%s 200", path) < 0)
        abort();
    struct smss_config c = {0};
    one_file(&c, spec);
    /* Reserve all but 96 MB: 200 MB is lowered in 16 MB steps to 88. */
    struct pagefile_options o = {.reserve_mb = free_mb - 96, .no_activate = true};
    struct pagefile_result r = PAGEFILE_RESULT_INIT;
    assert_int_equal(pagefile_setup(&r, &c, &o), 0);
    if (r.v[0].state == PAGEFILE_CREATED) {
        assert_true(r.v[0].size_mb < 200 && r.v[0].size_mb <= 120);
        assert_int_equal((200 - r.v[0].size_mb) % PAGEFILE_STEP_MB, 0);
        check_swap_file(path, r.v[0].size_mb);
    } else
        print_message("# free space moved during the test: %s\n", r.v[0].reason);
    pagefile_result_free(&r);
    unlink(path);
    /* Everything reserved: not created, the reason says why; never fatal. */
    o.reserve_mb = free_mb + 100000;
    assert_int_equal(pagefile_setup(&r, &c, &o), 0);
    assert_int_equal(r.v[0].state, PAGEFILE_FAILED);
    assert_int_equal(r.v[0].errnum, ENOSPC);
    assert_non_null(strstr(r.v[0].reason, "not enough free space"));
    assert_int_equal(access(path, F_OK), -1);
    pagefile_result_free(&r);
    test_config_free(&c);
    free(spec);
    free(path);
    rm_tree(dir);
    free(dir);
}

static void test_refused_on_tmpfs(void **state)
{
    (void)state;
    struct statfs s;
    if (statfs("/dev/shm", &s) < 0 || s.f_type != TMPFS_MAGIC) {
        print_message("# SKIP: /dev/shm is not tmpfs here\n");
        skip();
    }
    char path[] = "/dev/shm/smss-test-pagefile.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    struct smss_config c = {0};
    char *spec;
    if (asprintf(&spec, "%s 16", path) < 0)
        abort();
    one_file(&c, spec);
    struct pagefile_options o = {.reserve_mb = 0};
    struct pagefile_result r = PAGEFILE_RESULT_INIT;
    assert_int_equal(pagefile_setup(&r, &c, &o), 0);
    assert_int_equal(r.v[0].state, PAGEFILE_NOT_ACTIVATED);
    assert_true(r.v[0].errnum == EINVAL || r.v[0].errnum == EPERM || r.v[0].errnum == ENOSYS);
    if (r.v[0].errnum == EINVAL)
        assert_non_null(strstr(r.v[0].reason, "tmpfs"));
    assert_non_null(strstr(r.v[0].reason, strerror(r.v[0].errnum)));
    json_t *j = pagefile_to_json(&r);
    json_t *e = json_array_get(json_object_get(j, "paging_files"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "state")), "not activated");
    assert_int_equal(json_integer_value(json_object_get(e, "size_mb")), 16);
    json_decref(j);
    unlink(path);
    pagefile_result_free(&r);
    test_config_free(&c);
    free(spec);
}

static void test_empty_list_and_bad_path(void **state)
{
    (void)state;
    struct smss_config c = {0};
    c.paging_files_set = true;
    struct pagefile_options o = {0};
    struct pagefile_result r = PAGEFILE_RESULT_INIT;
    assert_int_equal(pagefile_setup(&r, &c, &o), 0);
    assert_true(r.none);
    assert_int_equal(r.n, 0);
    json_t *j = pagefile_to_json(&r);
    assert_true(json_is_true(json_object_get(j, "none")));
    json_decref(j);
    pagefile_result_free(&r);
    one_file(&c, "relative.sys 16");
    assert_int_equal(pagefile_setup(&r, &c, &o), 0);
    assert_int_equal(r.v[0].state, PAGEFILE_FAILED);
    assert_non_null(r.v[0].reason);
    pagefile_result_free(&r);
    test_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_nt_formula),
        cmocka_unit_test(test_fit_and_reserve),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_real_swap_file),
        cmocka_unit_test(test_system_managed_on_any_filesystem),
        cmocka_unit_test(test_space_and_steps),
        cmocka_unit_test(test_refused_on_tmpfs),
        cmocka_unit_test(test_empty_list_and_bad_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
