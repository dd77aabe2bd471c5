/* Execute lists: the grammar (keywords without case, the words a program receives), real
 * programs found through the environment's Path, their working directory, exit statuses,
 * async entries really not waited for, debug entries skipped, a missing program logged
 * and skipped while the list goes on, autocheck's own message, autochk mapped to the
 * Linux disk checker (a recording stand-in, and the real fsck with an fstab holding
 * nothing to check), the caller's wait function, and the JSON rendering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "execute_list.h"
#include "prep_test.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

struct fixture {
    char *root, *bin1, *bin2, *out;
    struct sysenv env;
};

/* bin1: slow (runs until killed), fsck (records its argv); bin2: probe (records argv and
 * working directory, exits with the status $PROBE_STATUS). */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->root = scratch_dir("execute");
    f->bin1 = path_join(f->root, "bin1");
    f->bin2 = path_join(f->root, "bin two");
    f->out = path_join(f->root, "out");
    mkdir(f->bin1, 0755);
    mkdir(f->bin2, 0755);
    char *p = path_join(f->bin2, "probe");
    write_text(p, "#!/bin/sh\n{ for a in \"$@\"; do echo \"$a\"; done; pwd; } >> \"$PROBE_OUT\"\n"
                  "exit ${PROBE_STATUS:-0}\n", 0755);
    free(p);
    p = path_join(f->bin1, "slow");
    write_text(p, "#!/bin/sh\nexec /bin/sleep 30\n", 0755);
    free(p);
    p = path_join(f->bin1, "fsck");
    write_text(p, "#!/bin/sh\necho \"fsck $*\" >> \"$PROBE_OUT\"\n", 0755);
    free(p);
    p = path_join(f->bin1, "notexec");
    write_text(p, "not executable\n", 0644);
    free(p);
    char *path;
    if (asprintf(&path, "%s:%s", f->bin1, f->bin2) < 0)
        abort();
    sysenv_set(&f->env, "Path", path);
    sysenv_set(&f->env, "PROBE_OUT", f->out);
    free(path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rm_tree(f->root);
    free(f->root);
    free(f->bin1);
    free(f->bin2);
    free(f->out);
    sysenv_free(&f->env);
    free(f);
    return 0;
}

static char *take_output(struct fixture *f)
{
    struct buf b = BUF_INIT;
    if (read_file(f->out, &b) < 0) {
        buf_free(&b);
        return strdup("");
    }
    unlink(f->out);
    return b.p ? buf_steal(&b) : strdup("");
}

static void run(struct exec_result *r, struct fixture *f, const char *const *lines)
{
    struct strlist l = STRLIST_INIT;
    for (size_t i = 0; lines[i]; i++)
        strlist_push(&l, lines[i]);
    assert_int_equal(execute_list_run(r, "BootExecute", &l, &f->env, NULL), 0);
    assert_int_equal(r->n, l.n);
    strlist_free(&l);
}

static void test_parse(void **state)
{
    (void)state;
    bool debug, async, autocheck;
    char **argv;
    assert_int_equal(execute_parse("  AsYnC\tDEBUG autocheck  autochk   *  ", &debug, &async, &autocheck, &argv), 0);
    assert_true(debug && async && autocheck);
    assert_string_equal(argv[0], "autochk");
    assert_string_equal(argv[1], "*");
    assert_null(argv[2]);
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
    /* A keyword after the image is an argument. */
    assert_int_equal(execute_parse("prog async debug", &debug, &async, &autocheck, &argv), 0);
    assert_false(debug || async || autocheck);
    assert_string_equal(argv[1], "async");
    assert_string_equal(argv[2], "debug");
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
    assert_int_equal(execute_parse("async", &debug, &async, &autocheck, &argv), 0);
    assert_null(argv);
}

static void test_sync_found_through_path(void **state)
{
    struct fixture *f = *state;
    sysenv_set(&f->env, "PROBE_STATUS", "3");
    struct exec_result r = EXEC_RESULT_INIT;
    run(&r, f, (const char *const[]){"probe one  two", NULL});
    sysenv_set(&f->env, "PROBE_STATUS", "0");
    struct exec_item *it = &r.v[0];
    assert_int_equal(it->state, EXEC_EXITED);
    assert_true(WIFEXITED(it->status));
    assert_int_equal(WEXITSTATUS(it->status), 3);
    char *want_image = path_join(f->bin2, "probe");
    assert_string_equal(it->image, want_image);
    assert_string_equal(it->cwd, f->bin2);
    char *out = take_output(f), *want;
    /* argv[0] is the image word as written (a script sees its path as $0, so the result
     * shows it); the working directory is the image's. */
    assert_string_equal(it->argv[0], "probe");
    if (asprintf(&want, "one\ntwo\n%s\n", f->bin2) < 0)
        abort();
    assert_string_equal(out, want);
    free(want);
    free(out);
    free(want_image);
    execute_list_result_free(&r);
}

static void test_async_not_waited_for(void **state)
{
    struct fixture *f = *state;
    struct exec_result r = EXEC_RESULT_INIT;
    run(&r, f, (const char *const[]){"ASYNC slow", "probe after", NULL});
    struct exec_item *it = &r.v[0];
    assert_int_equal(it->state, EXEC_STARTED_ASYNC);
    assert_true(it->pid > 0);
    int st;
    /* Still running after the list returned, and after the next entry ran to its end. */
    assert_int_equal(waitpid(it->pid, &st, WNOHANG), 0);
    assert_int_equal(r.v[1].state, EXEC_EXITED);
    kill(it->pid, SIGTERM);
    assert_int_equal(waitpid(it->pid, &st, 0), it->pid);
    assert_true(WIFSIGNALED(st));
    char *out = take_output(f);
    assert_non_null(strstr(out, "after"));
    free(out);
    execute_list_result_free(&r);
}

static void test_debug_skipped(void **state)
{
    struct fixture *f = *state;
    struct exec_result r = EXEC_RESULT_INIT;
    run(&r, f, (const char *const[]){"Debug probe never", "   ", NULL});
    assert_int_equal(r.v[0].state, EXEC_SKIPPED_DEBUG);
    assert_int_equal(r.v[0].pid, 0);
    assert_int_equal(r.v[1].state, EXEC_EMPTY);
    char *out = take_output(f);
    assert_string_equal(out, "");
    free(out);
    execute_list_result_free(&r);
}

static void test_missing_program_skipped(void **state)
{
    struct fixture *f = *state;
    struct exec_result r = EXEC_RESULT_INIT;
    run(&r, f, (const char *const[]){"nosuchprogram x", "notexec", "autocheck nosuchchecker *", "probe still", NULL});
    assert_int_equal(r.v[0].state, EXEC_NOT_FOUND);
    assert_string_equal(r.v[0].reason, "program not found in Path: skipped");
    assert_int_equal(r.v[1].state, EXEC_NOT_FOUND); /* not executable: not a program */
    assert_int_equal(r.v[2].state, EXEC_NOT_FOUND);
    assert_string_equal(r.v[2].reason, "program not found - skipping AUTOCHECK");
    assert_int_equal(r.v[3].state, EXEC_EXITED);
    char *out = take_output(f);
    assert_non_null(strstr(out, "still"));
    free(out);
    execute_list_result_free(&r);
}

static void test_autocheck_mapping(void **state)
{
    struct fixture *f = *state;
    struct exec_result r = EXEC_RESULT_INIT;
    /* A filesystem waiting to be checked, so fsck -A has work and runs. */
    char *dir = scratch_dir("fstab-map"), *fstab = path_join(dir, "fstab");
    write_text(fstab, "/dev/vdz9 /nonexistent-data ext4 defaults 0 2\n", 0644);
    sysenv_set(&f->env, "FSTAB_FILE", fstab);
    run(&r, f, (const char *const[]){"autocheck autochk *", "AUTOCHECK AUTOCHK.EXE /dev/vdb1 /p",
                                     "autocheck autochk \\??\\C:", "autocheck probe own", NULL});
    for (size_t i = 0; i < r.n; i++)
        assert_int_equal(r.v[i].state, EXEC_EXITED);
    char *out = take_output(f);
    char *want;
    if (asprintf(&want, "fsck -M -a -T -A\nfsck -M -a -T /dev/vdb1\nfsck -M -a -T -A\nown\n%s\n",
                 f->bin2) < 0)
        abort();
    assert_string_equal(out, want);
    free(want);
    free(out);
    execute_list_result_free(&r);
    /* Not autochk: NULL, the image runs as it is. */
    char *argv[] = {"chkdsk", "*", NULL};
    assert_null(execute_autocheck_argv(argv));
    rm_tree(dir);
    free(dir);
    free(fstab);
}

/* What fsck -A -M would check: fstab entries with a pass number, not mounted. */
static void test_autocheck_pending(void **state)
{
    (void)state;
    char *dir = scratch_dir("pending"), *fstab = path_join(dir, "fstab"),
         *mi = path_join(dir, "mountinfo");
    write_text(fstab,
               "# comment\n"
               "/dev/vda1 / ext4 defaults 0 1\n"
               "/dev/vdb1 /data ext4 defaults 0 2\n"
               "/dev/vdc1 none swap sw 0 0\n"
               "/dev/vdd1 /boot ext4 defaults 0 2\n", 0644);
    write_text(mi, "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
                   "30 22 254:3 / /boot rw,relatime shared:9 - ext4 /dev/vdd1 rw\n", 0644);
    assert_int_equal(execute_autocheck_pending(fstab, mi), 1); /* /data */
    write_text(mi, "22 1 254:0 / / rw - ext4 /dev/vda1 rw\n"
                   "30 22 254:3 / /boot rw - ext4 /dev/vdd1 rw\n"
                   "31 22 254:2 / /data rw - ext4 /dev/vdb1 rw\n", 0644);
    assert_int_equal(execute_autocheck_pending(fstab, mi), 0);
    char *missing = path_join(dir, "no-fstab");
    assert_int_equal(execute_autocheck_pending(missing, mi), 0); /* nothing listed */
    rm_tree(dir);
    free(dir);
    free(fstab);
    free(mi);
    free(missing);
}

/* Nothing to check (an fstab naming only the mounted root): fsck is not even started,
 * as fsck -A -M would have done nothing; with a filesystem waiting, the real checker
 * runs. */
static void test_real_disk_checker_harmless(void **state)
{
    (void)state;
    struct sysenv env = SYSENV_INIT;
    sysenv_set(&env, "PATH", "/usr/sbin:/sbin:/usr/bin:/bin");
    char *dir = scratch_dir("fstab"), *fstab = path_join(dir, "fstab");
    write_text(fstab, "/dev/root / auto defaults 0 1\n", 0644);
    sysenv_set(&env, "FSTAB_FILE", fstab);
    struct strlist l = STRLIST_INIT;
    strlist_push(&l, "autocheck autochk *");
    struct exec_result r = EXEC_RESULT_INIT;
    assert_int_equal(execute_list_run(&r, "BootExecute", &l, &env, NULL), 0);
    assert_int_equal(r.v[0].state, EXEC_NOTHING_TO_CHECK);
    assert_int_equal(r.v[0].pid, 0);
    execute_list_result_free(&r);
    /* A swap entry with pass 0 and a bind of the mounted root: still nothing to check. */
    write_text(fstab, "/dev/root / auto defaults 0 1\n/dev/sw none swap sw 0 0\n", 0644);
    r = (struct exec_result)EXEC_RESULT_INIT;
    assert_int_equal(execute_list_run(&r, "BootExecute", &l, &env, NULL), 0);
    assert_int_equal(r.v[0].state, EXEC_NOTHING_TO_CHECK);
    execute_list_result_free(&r);
    strlist_free(&l);
    sysenv_free(&env);
    rm_tree(dir);
    free(dir);
    free(fstab);
}

static int counting_wait(pid_t pid, int *status, void *ctx)
{
    ++*(int *)ctx;
    return waitpid(pid, status, 0) == pid ? 0 : -1;
}

static void test_callers_wait_and_json(void **state)
{
    struct fixture *f = *state;
    int calls = 0;
    struct execute_options o = {.wait_child = counting_wait, .ctx = &calls};
    struct strlist l = STRLIST_INIT;
    strlist_push(&l, "probe x");
    strlist_push(&l, "debug probe");
    strlist_push(&l, "missing");
    struct exec_result r = EXEC_RESULT_INIT;
    assert_int_equal(execute_list_run(&r, "Execute", &l, &f->env, &o), 0);
    assert_int_equal(calls, 1);
    json_t *j = execute_list_to_json(&r);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "list")), "Execute");
    json_t *e0 = json_array_get(json_object_get(j, "entries"), 0);
    assert_string_equal(json_string_value(json_object_get(e0, "state")), "exited");
    assert_int_equal(json_integer_value(json_object_get(e0, "exit_status")), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(e0, "argv"), 1)), "x");
    json_t *e2 = json_array_get(json_object_get(j, "entries"), 2);
    assert_string_equal(json_string_value(json_object_get(e2, "state")), "not found");
    json_decref(j);
    free(take_output(f));
    execute_list_result_free(&r);
    strlist_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_sync_found_through_path),
        cmocka_unit_test(test_async_not_waited_for),
        cmocka_unit_test(test_debug_skipped),
        cmocka_unit_test(test_missing_program_skipped),
        cmocka_unit_test(test_autocheck_pending),
        cmocka_unit_test(test_autocheck_mapping),
        cmocka_unit_test(test_real_disk_checker_harmless),
        cmocka_unit_test(test_callers_wait_and_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
