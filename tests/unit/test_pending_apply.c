/* Applying delayed renames and deletes at boot, NT's semantics case by case: rename,
 * replace, refusal to replace, delete, non-empty directory refused, chains, moves across two
 * real filesystems (the disk and tmpfs), symbolic links, protected paths, the registry's
 * pairs applied once, injected ENOSPC and EIO, the report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "pending_apply.h"
#include "pending_queue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char disk[256], shm[256], state[300];
static bool cross_fs; /* disk and shm are different filesystems */

static const char *P(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *P(const char *fmt, ...)
{
    static char ring[8][1024];
    static int k;
    char *b = ring[k++ % 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, 1024, fmt, ap);
    va_end(ap);
    return b;
}

static int setup(void **st)
{
    (void)st;
    snprintf(disk, sizeof disk, "/var/tmp/test_pending_apply.XXXXXX");
    snprintf(shm, sizeof shm, "/dev/shm/test_pending_apply.XXXXXX");
    if (!mkdtemp(disk) || !mkdtemp(shm))
        return -1;
    snprintf(state, sizeof state, "%s/state", disk);
    struct stat a, b;
    stat(disk, &a);
    stat(shm, &b);
    cross_fs = a.st_dev != b.st_dev;
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", disk, shm);
    return system(cmd);
}

static void put(const char *path, const char *content)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static char *get(const char *path)
{
    static char b[4][4096];
    static int k;
    char *out = b[k++ % 4];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(out, 1, 4095, f);
    out[n] = 0;
    fclose(f);
    return out;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void queue(uint32_t flags, const char *src, const char *dst)
{
    struct pq_entry e = {flags, (char *)src, (char *)(dst ? dst : ""), 0, 0};
    struct diags d = DIAGS_INIT;
    assert_int_equal(pq_append(state, &e, 1, NULL, &d), 0);
    diags_free(&d);
}

static int apply(struct pending_report *r, const struct sm_rename *reg, size_t n,
                 const struct pending_options *o)
{
    return pending_apply_at_boot(state, reg, n, o, r);
}

static void expect(const struct pending_result *x, enum pending_outcome out, int err)
{
    if (x->outcome != out || x->err != err)
        fail_msg("%s -> %s: %s (%s), expected %s (%s)", x->source, x->destination,
                 pending_outcome_name(x->outcome), strerror(x->err), pending_outcome_name(out),
                 strerror(err));
}

static void no_temporaries(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -q smss-pending", dir);
    assert_int_not_equal(system(cmd), 0);
}

static void test_rename_within_a_filesystem(void **st)
{
    (void)st;
    put(P("%s/a", disk), "A");
    queue(0, P("%s/a", disk), P("%s/b", disk));
    struct pending_report r;
    assert_int_equal(apply(&r, NULL, 0, NULL), 0);
    assert_int_equal(r.n, 1);
    expect(&r.v[0], PENDING_DONE, 0);
    assert_false(exists(P("%s/a", disk)));
    assert_string_equal(get(P("%s/b", disk)), "A");
    pending_report_free(&r);
}

static void test_replace_and_refuse_to_replace(void **st)
{
    (void)st;
    put(P("%s/a", disk), "A");
    put(P("%s/b", disk), "B");
    put(P("%s/c", disk), "C");
    put(P("%s/d", disk), "D");
    queue(PQ_REPLACE, P("%s/a", disk), P("%s/b", disk));
    queue(0, P("%s/c", disk), P("%s/d", disk));
    struct pending_report r;
    assert_int_equal(apply(&r, NULL, 0, NULL), 0);
    expect(&r.v[0], PENDING_DONE, 0);
    expect(&r.v[1], PENDING_FAILED, EEXIST);
    assert_non_null(strstr(r.v[1].reason, "replace-existing"));
    assert_string_equal(get(P("%s/b", disk)), "A");
    assert_string_equal(get(P("%s/c", disk)), "C");
    assert_string_equal(get(P("%s/d", disk)), "D");
    pending_report_free(&r);
}

static void test_delete_files_and_directories(void **st)
{
    (void)st;
    put(P("%s/f", disk), "F");
    mkdir(P("%s/empty", disk), 0755);
    mkdir(P("%s/full", disk), 0755);
    put(P("%s/full/inside", disk), "I");
    queue(PQ_DELETE, P("%s/f", disk), NULL);
    queue(PQ_DELETE, P("%s/empty", disk), NULL);
    queue(PQ_DELETE, P("%s/full", disk), NULL);
    queue(PQ_DELETE, P("%s/never-was", disk), NULL);
    struct pending_report r;
    assert_int_equal(apply(&r, NULL, 0, NULL), 0);
    expect(&r.v[0], PENDING_DONE, 0);
    expect(&r.v[1], PENDING_DONE, 0);
    expect(&r.v[2], PENDING_FAILED, ENOTEMPTY);
    assert_non_null(strstr(r.v[2].reason, "not empty"));
    expect(&r.v[3], PENDING_FAILED, ENOENT);
    assert_false(exists(P("%s/f", disk)));
    assert_false(exists(P("%s/empty", disk)));
    assert_string_equal(get(P("%s/full/inside", disk)), "I");
    assert_int_equal(r.done, 2);
    assert_int_equal(r.failed, 2);
    pending_report_free(&r);
}

/* NT's chains: A -> B then C -> A (the old A ends at B, C's content at A), and B -> D after,
 * with a batch size that would otherwise let them share a batch. */
static void test_chains_apply_in_order(void **st)
{
    (void)st;
    put(P("%s/A", disk), "old A");
    put(P("%s/C", disk), "old C");
    queue(0, P("%s/A", disk), P("%s/B", disk));
    queue(0, P("%s/C", disk), P("%s/A", disk));
    queue(0, P("%s/B", disk), P("%s/D", disk));
    queue(PQ_DELETE, P("%s/A", disk), NULL);
    struct pending_report r;
    assert_int_equal(apply(&r, NULL, 0, NULL), 0);
    for (int i = 0; i < 4; i++)
        expect(&r.v[i], PENDING_DONE, 0);
    assert_false(exists(P("%s/A", disk)));
    assert_false(exists(P("%s/B", disk)));
    assert_false(exists(P("%s/C", disk)));
    assert_string_equal(get(P("%s/D", disk)), "old A");
    pending_report_free(&r);
}

/* A directory renamed, then a file below its new name. */
static void test_directory_then_its_contents(void **st)
{
    (void)st;
    mkdir(P("%s/dir", disk), 0755);
    put(P("%s/dir/x", disk), "X");
    queue(0, P("%s/dir", disk), P("%s/moved", disk));
    queue(0, P("%s/moved/x", disk), P("%s/y", disk));
    struct pending_report r;
    assert_int_equal(apply(&r, NULL, 0, NULL), 0);
    expect(&r.v[0], PENDING_DONE, 0);
    expect(&r.v[1], PENDING_DONE, 0);
    assert_string_equal(get(P("%s/y", disk)), "X");
    pending_report_free(&r);
}

static void test_across_filesystems(void **st)
{
    (void)st;
    if (!cross_fs)
        skip(); /* /var/tmp and /dev/shm are one filesystem here */
    char big[3000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = 0;
    put(P("%s/big", disk), big);
    chmod(P("%s/big", disk), 0640);
    struct timespec old[2] = {{1000000, 0}, {1000000, 0}};
    utimensat(AT_FDCWD, P("%s/big", disk), old, 0);
    put(P("%s/t", shm), "T");
    put(P("%s/existing", disk), "E");
    mkdir(P("%s/adir", disk), 0755);
    symlink("target-text", P("%s/link", disk));
    queue(0, P("%s/big", disk), P("%s/big", shm));
    queue(PQ_REPLACE, P("%s/t", shm), P("%s/existing", disk));
    queue(0, P("%s/adir", disk), P("%s/adir", shm));
    queue(0, P("%s/link", disk), P("%s/link", shm));
    struct pending_report r;
    assert_int_equal(apply(&r, NULL, 0, NULL), 0);
    expect(&r.v[0], PENDING_DONE, 0);
    expect(&r.v[1], PENDING_DONE, 0);
    expect(&r.v[2], PENDING_FAILED, EXDEV);
    assert_non_null(strstr(r.v[2].reason, "directory"));
    expect(&r.v[3], PENDING_DONE, 0);
    assert_false(exists(P("%s/big", disk)));
    assert_string_equal(get(P("%s/big", shm)), big);
    struct stat s;
    assert_int_equal(stat(P("%s/big", shm), &s), 0);
    assert_int_equal(s.st_mode & 07777, 0640);
    assert_int_equal(s.st_mtim.tv_sec, 1000000);
    assert_false(exists(P("%s/t", shm)));
    assert_string_equal(get(P("%s/existing", disk)), "T");
    assert_true(exists(P("%s/adir", disk)));
    char t[64] = {0};
    assert_int_equal(readlink(P("%s/link", shm), t, sizeof t - 1), 11);
    assert_string_equal(t, "target-text");
    no_temporaries(disk);
    no_temporaries(shm);
    pending_report_free(&r);
}

/* Applied once: the next boot finds nothing, and keeps the last report of operations. */
static void test_applied_exactly_once(void **st)
{
    (void)st;
    put(P("%s/a", disk), "A");
    queue(0, P("%s/a", disk), P("%s/b", disk));
    struct pending_report r;
    assert_int_equal(apply(&r, NULL, 0, NULL), 0);
    assert_int_equal(r.done, 1);
    pending_report_free(&r);
    put(P("%s/a", disk), "A again");
    assert_int_equal(apply(&r, NULL, 0, NULL), 0);
    assert_int_equal(r.n, 0);
    pending_report_free(&r);
    assert_string_equal(get(P("%s/a", disk)), "A again");
    struct diags d = DIAGS_INIT;
    assert_int_equal(pending_report_load(state, &r, &d), 0);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.v[0].source, P("%s/a", disk));
    pending_report_free(&r);
    assert_false(exists(P("%s/%s", state, PENDING_JOURNAL_FILE)));
    assert_false(exists(P("%s/%s", state, PENDING_TAKEN_FILE)));
}

static void test_symlinks_never_followed(void **st)
{
    (void)st;
    mkdir(P("%s/outside", disk), 0755);
    put(P("%s/outside/precious", disk), "P");
    symlink(P("%s/outside/precious", disk), P("%s/l1", disk));
    symlink(P("%s/outside/precious", disk), P("%s/l2", disk));
    symlink(P("%s/outside", disk), P("%s/dirlink", disk));
    queue(PQ_DELETE, P("%s/l1", disk), NULL);
    queue(0, P("%s/l2", disk), P("%s/l3", disk));
    queue(PQ_DELETE, P("%s/dirlink/precious", disk), NULL);
    struct pending_report r;
    assert_int_equal(apply(&r, NULL, 0, NULL), 0);
    expect(&r.v[0], PENDING_DONE, 0);
    expect(&r.v[1], PENDING_DONE, 0);
    expect(&r.v[2], PENDING_FAILED, ELOOP);
    assert_non_null(strstr(r.v[2].reason, "symbolic link"));
    assert_false(exists(P("%s/l1", disk)));
    char t[512] = {0};
    assert_true(readlink(P("%s/l3", disk), t, sizeof t - 1) > 0);
    assert_string_equal(get(P("%s/outside/precious", disk)), "P");
    pending_report_free(&r);
}

struct swap {
    const char *when, *dir, *target;
    bool done;
};

static int swap_hook(void *ctx, enum pending_step step, const char *what)
{
    (void)step;
    struct swap *s = ctx;
    if (!s->done && what && strcmp(what, s->when) == 0) {
        assert_int_equal(rename(s->dir, P("%s.orig", s->dir)), 0);
        assert_int_equal(symlink(s->target, s->dir), 0);
        s->done = true;
    }
    return 0;
}

/* A directory of the queued paths replaced by a symbolic link while applying runs: before
 * the batch is planned (the directory is opened then: refused), and between operations
 * (the directory already opened is used: the link is never followed). */
static void test_symlink_swapped_in_does_not_redirect(void **st)
{
    (void)st;
    for (int when = 0; when < 2; when++) {
        mkdir(P("%s/sub%d", disk, when), 0755);
        mkdir(P("%s/out%d", disk, when), 0755);
        put(P("%s/sub%d/f1", disk, when), "1");
        put(P("%s/sub%d/f2", disk, when), "2");
        put(P("%s/out%d/f2", disk, when), "outside");
        queue(0, P("%s/sub%d/f1", disk, when), P("%s/sub%d/g1", disk, when));
        queue(PQ_DELETE, P("%s/sub%d/f2", disk, when), NULL);
        struct swap s = {when ? P("%s/sub%d/f2", disk, when) : "pending.journal.tmp",
                         P("%s/sub%d", disk, when), P("%s/out%d", disk, when), false};
        struct pending_options o = {.fault = swap_hook, .fault_ctx = &s};
        struct pending_report r;
        assert_int_equal(apply(&r, NULL, 0, &o), 0);
        assert_true(s.done);
        assert_string_equal(get(P("%s/out%d/f2", disk, when)), "outside");
        assert_false(exists(P("%s/out%d/g1", disk, when)));
        if (when == 0) {
            expect(&r.v[0], PENDING_FAILED, ELOOP);
            expect(&r.v[1], PENDING_FAILED, ELOOP);
        } else {
            expect(&r.v[1], PENDING_DONE, 0);
            assert_false(exists(P("%s/sub%d.orig/f2", disk, when)));
        }
        pending_report_free(&r);
    }
}

static void test_protected_paths(void **st)
{
    (void)st;
    mkdir(P("%s/sys", disk), 0755);
    put(P("%s/sys/core", disk), "core");
    put(P("%s/new", disk), "new");
    struct strlist prot = STRLIST_INIT;
    strlist_push(&prot, P("%%SystemRoot%%/sys"));
    queue(PQ_REPLACE, P("%s/new", disk), P("%s/sys/core", disk));
    struct pending_options o = {.protected_paths = &prot, .system_root = disk};
    struct pending_report r;
    assert_int_equal(apply(&r, NULL, 0, &o), 0);
    expect(&r.v[0], PENDING_SKIPPED, EPERM);
    assert_non_null(strstr(r.v[0].reason, "AllowProtectedRenames"));
    assert_string_equal(get(P("%s/sys/core", disk)), "core");
    pending_report_free(&r);
    queue(PQ_REPLACE, P("%s/new", disk), P("%s/sys/core", disk));
    o.allow_protected_renames = true;
    assert_int_equal(apply(&r, NULL, 0, &o), 0);
    expect(&r.v[0], PENDING_DONE, 0);
    assert_string_equal(get(P("%s/sys/core", disk)), "new");
    pending_report_free(&r);
    assert_true(pending_path_protected(P("%s/sys", disk), &prot, disk));
    assert_false(pending_path_protected(P("%s/system", disk), &prot, disk));
    strlist_free(&prot);
}

/* The registry's pairs: after the queue, in order, mapped, applied once only. */
static void test_registry_pairs_once(void **st)
{
    (void)st;
    struct ntpath_rules rules;
    assert_int_equal(ntpath_rules_default(&rules, NULL), 0);
    rules.drive_root['X' - 'A'] = strdup(disk);
    put(P("%s/r1", disk), "R1");
    put(P("%s/r2", disk), "R2");
    put(P("%s/r3", disk), "R3");
    put(P("%s/q", disk), "Q");
    queue(0, P("%s/q", disk), P("%s/r1", disk)); /* fails: r1 exists, before the registry */
    struct sm_rename reg[] = {{"\\??\\X:\\r1", "\\??\\X:\\r2", true, {0, 0}},
                              {"\\??\\X:\\r3", "", false, {0, 0}},
                              {"\\\\server\\share\\x", "", false, {0, 0}}};
    struct pending_options o = {.ntpath = &rules};
    struct pending_report r;
    assert_false(pending_registry_applied(state, reg, 3));
    assert_int_equal(apply(&r, reg, 3, &o), 0);
    assert_int_equal(r.n, 4);
    expect(&r.v[0], PENDING_FAILED, EEXIST);
    assert_int_equal(r.v[1].origin, PENDING_FROM_REGISTRY);
    expect(&r.v[1], PENDING_DONE, 0);
    expect(&r.v[2], PENDING_DONE, 0);
    expect(&r.v[3], PENDING_SKIPPED, 0);
    assert_non_null(strstr(r.v[3].reason, "UNC"));
    assert_string_equal(r.v[3].source, "\\\\server\\share\\x");
    assert_string_equal(get(P("%s/r2", disk)), "R1");
    assert_false(exists(P("%s/r3", disk)));
    pending_report_free(&r);
    assert_true(pending_registry_applied(state, reg, 3));
    /* The read-only registry still holds them at the next boot: not applied again. */
    put(P("%s/r3", disk), "new R3");
    assert_int_equal(apply(&r, reg, 3, &o), 0);
    assert_int_equal(r.n, 0);
    assert_string_equal(get(P("%s/r3", disk)), "new R3");
    pending_report_free(&r);
    /* A different set is new. */
    assert_int_equal(apply(&r, reg + 1, 1, &o), 0);
    assert_int_equal(r.n, 1);
    assert_false(exists(P("%s/r3", disk)));
    pending_report_free(&r);
    ntpath_rules_free(&rules);
}

struct inject {
    enum pending_step step;
    const char *what; /* NULL: any */
    int nth, err, seen;
};

static int inject_hook(void *ctx, enum pending_step step, const char *what)
{
    struct inject *in = ctx;
    if (step != in->step || (in->what && (!what || !strstr(what, in->what))))
        return 0;
    return ++in->seen == in->nth ? in->err : 0;
}

/* ENOSPC and EIO while copying across filesystems: reported, the source untouched, no
 * temporary left, the destination as it was; the next operation still runs. */
static void test_enospc_and_eio_lose_nothing(void **st)
{
    (void)st;
    if (!cross_fs)
        skip();
    struct {
        enum pending_step step;
        int err;
    } cases[] = {{PSTEP_WRITE, ENOSPC}, {PSTEP_FSYNC, EIO}, {PSTEP_CREATE, EDQUOT}};
    for (size_t i = 0; i < 3; i++) {
        put(P("%s/src%zu", disk, i), "precious content");
        put(P("%s/dst%zu", shm, i), "old destination");
        put(P("%s/next%zu", disk, i), "N");
        queue(PQ_REPLACE, P("%s/src%zu", disk, i), P("%s/dst%zu", shm, i));
        queue(0, P("%s/next%zu", disk, i), P("%s/next%zu.moved", disk, i));
        struct inject in = {cases[i].step, cases[i].step == PSTEP_CREATE ? ".smss-pending" : P("%s/src%zu", disk, i), 1, cases[i].err, 0};
        if (cases[i].step == PSTEP_FSYNC)
            in.what = ".smss-pending";
        struct pending_options o = {.fault = inject_hook, .fault_ctx = &in};
        struct pending_report r;
        assert_int_equal(apply(&r, NULL, 0, &o), 0);
        expect(&r.v[0], PENDING_FAILED, cases[i].err);
        expect(&r.v[1], PENDING_DONE, 0);
        assert_string_equal(get(P("%s/src%zu", disk, i)), "precious content");
        assert_string_equal(get(P("%s/dst%zu", shm, i)), "old destination");
        no_temporaries(shm);
        pending_report_free(&r);
    }
}

/* The journal cannot be written (EIO): nothing is applied and nothing is lost; the next
 * boot applies it all. */
static void test_journal_write_error_defers_everything(void **st)
{
    (void)st;
    put(P("%s/a", disk), "A");
    queue(0, P("%s/a", disk), P("%s/b", disk));
    struct inject in = {PSTEP_WRITE, PENDING_JOURNAL_FILE, 1, EIO, 0};
    struct pending_options o = {.fault = inject_hook, .fault_ctx = &in};
    struct pending_report r;
    assert_int_equal(apply(&r, NULL, 0, &o), -1);
    assert_non_null(r.error);
    assert_true(exists(P("%s/a", disk)));
    pending_report_free(&r);
    assert_int_equal(apply(&r, NULL, 0, NULL), 0);
    assert_int_equal(r.done, 1);
    assert_string_equal(get(P("%s/b", disk)), "A");
    pending_report_free(&r);
}

/* A journal damaged beyond a torn tail is set aside with its queue, never guessed at. */
static void test_damaged_journal_set_aside(void **st)
{
    (void)st;
    put(P("%s/a", disk), "A");
    queue(0, P("%s/a", disk), P("%s/b", disk));
    mkdir(state, 0755);
    rename(P("%s/%s", state, PENDING_QUEUE_FILE), P("%s/%s", state, PENDING_TAKEN_FILE));
    put(P("%s/%s", state, PENDING_JOURNAL_FILE), "garbage, not a journal");
    struct pending_report r;
    assert_int_equal(apply(&r, NULL, 0, NULL), 0);
    assert_non_null(r.error);
    assert_non_null(strstr(r.error, "damaged"));
    assert_true(exists(P("%s/a", disk)));
    assert_false(exists(P("%s/%s", state, PENDING_JOURNAL_FILE)));
    pending_report_free(&r);
    struct diags d = DIAGS_INIT;
    assert_int_equal(pending_report_load(state, &r, &d), 0);
    assert_non_null(r.error);
    pending_report_free(&r);
}

/* A queue file that is not one: set aside, reported, the registry's pairs still applied. */
static void test_foreign_queue_set_aside(void **st)
{
    (void)st;
    mkdir(state, 0755);
    put(P("%s/%s", state, PENDING_QUEUE_FILE), "not a queue at all");
    put(P("%s/r", disk), "R");
    struct ntpath_rules rules;
    assert_int_equal(ntpath_rules_default(&rules, NULL), 0);
    rules.drive_root['X' - 'A'] = strdup(disk);
    struct sm_rename reg[] = {{"\\??\\X:\\r", "", false, {0, 0}}};
    struct pending_options o = {.ntpath = &rules};
    struct pending_report r;
    assert_int_equal(apply(&r, reg, 1, &o), 0);
    assert_non_null(r.error);
    assert_non_null(strstr(r.error, "cannot be read"));
    assert_int_equal(r.done, 1);
    assert_false(exists(P("%s/r", disk)));
    assert_false(exists(P("%s/%s", state, PENDING_TAKEN_FILE)));
    pending_report_free(&r);
    ntpath_rules_free(&rules);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q 'pending.taken.damaged-'", state);
    assert_int_equal(system(cmd), 0);
}

static void test_report_round_trip(void **st)
{
    (void)st;
    put(P("%s/with space\nand newline", disk), "x");
    queue(0, P("%s/with space\nand newline", disk), P("%s/-", disk));
    queue(PQ_DELETE, P("%s/100%%", disk), NULL);
    struct pending_report r, back;
    assert_int_equal(apply(&r, NULL, 0, NULL), 0);
    struct diags d = DIAGS_INIT;
    assert_int_equal(pending_report_load(state, &back, &d), 0);
    assert_int_equal(back.n, r.n);
    for (size_t i = 0; i < r.n; i++) {
        assert_string_equal(back.v[i].source, r.v[i].source);
        assert_string_equal(back.v[i].destination, r.v[i].destination);
        assert_string_equal(back.v[i].reason, r.v[i].reason);
        assert_int_equal(back.v[i].outcome, r.v[i].outcome);
        assert_int_equal(back.v[i].err, r.v[i].err);
        assert_int_equal(back.v[i].flags, r.v[i].flags);
    }
    assert_int_equal(back.done, 1);
    assert_int_equal(back.failed, 1);
    pending_report_free(&r);
    pending_report_free(&back);
    put(P("%s/%s", state, PENDING_REPORT_FILE), "smss-pending-report 1\nop q 0 done\n");
    assert_int_equal(pending_report_load(state, &back, &d), -1);
    assert_int_equal(d.errors, 1);
    pending_report_free(&back);
    diags_free(&d);
}

int main(void)
{
    log_init("test_pending_apply", LOG_LEVEL_ERROR);
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_rename_within_a_filesystem),
        T(test_replace_and_refuse_to_replace),
        T(test_delete_files_and_directories),
        T(test_chains_apply_in_order),
        T(test_directory_then_its_contents),
        T(test_across_filesystems),
        T(test_applied_exactly_once),
        T(test_symlinks_never_followed),
        T(test_symlink_swapped_in_does_not_redirect),
        T(test_protected_paths),
        T(test_registry_pairs_once),
        T(test_enospc_and_eio_lose_nothing),
        T(test_journal_write_error_defers_everything),
        T(test_damaged_journal_set_aside),
        T(test_foreign_queue_set_aside),
        T(test_report_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
