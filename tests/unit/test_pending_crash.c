/* The crash campaign: a queue of mixed operations (renames, replaces, refusals, deletes,
 * chains, moves between the disk and tmpfs, the registry's pairs) is applied by a child
 * process that is killed with SIGKILL before its Nth step that changes the disk, for every
 * N; then another "boot" completes it. Every time, the files must end exactly as one
 * uninterrupted run leaves them (each operation exactly once, every byte where it belongs),
 * the report must say the same, and at the crash instant every content that the end state
 * holds must still exist somewhere. A second campaign also kills the recovering boot at every
 * step of its own. */
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
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char disk[256], shm[256], wd[300], ws[300], state[300];
static struct ntpath_rules rules;

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

static int rm_entry(const char *p, const struct stat *s, int flag, struct FTW *f)
{
    (void)s, (void)f;
    return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_tree(const char *p)
{
    nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void put_sized(const char *path, const char *tag, size_t size)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t n = 0; n < size;)
        n += (size_t)fprintf(f, "%s:%zu;", tag, n);
    fclose(f);
}

static void put(const char *path, const char *tag) { put_sized(path, tag, 40); }

static void queue(uint32_t flags, const char *src, const char *dst)
{
    struct pq_entry e = {flags, (char *)src, (char *)(dst ? dst : ""), 0, 0};
    struct diags d = DIAGS_INIT;
    assert_int_equal(pq_append(state, &e, 1, NULL, &d), 0);
    diags_free(&d);
}

static const struct sm_rename registry[] = {
    {"\\??\\X:\\r1", "\\??\\X:\\r2", true, {0, 0}},
    {"\\??\\Y:\\s1", "\\??\\X:\\s1", false, {0, 0}},
    {"\\??\\X:\\r3", "", false, {0, 0}},
};

/* The same starting state every time. */
static void scenario(void)
{
    rm_tree(wd), rm_tree(ws), rm_tree(state);
    assert_int_equal(mkdir(wd, 0755), 0);
    assert_int_equal(mkdir(ws, 0755), 0);
    const char *files[] = {"a", "c", "d", "e", "f", "g", "i", "y", "k", "r1", "r2", "r3"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        put(P("%s/%s", wd, files[i]), files[i]);
    put_sized(P("%s/big", wd), "big", 200000);
    put(P("%s/x", ws), "x");
    put(P("%s/t", ws), "t");
    put(P("%s/s1", ws), "s1");
    mkdir(P("%s/emptydir", wd), 0755);
    mkdir(P("%s/fulldir", wd), 0755);
    put(P("%s/fulldir/in", wd), "in");
    mkdir(P("%s/sub", wd), 0755);
    symlink("some-target", P("%s/lnk", wd));
    queue(0, P("%s/a", wd), P("%s/b", wd));
    queue(PQ_REPLACE, P("%s/c", wd), P("%s/d", wd));
    queue(0, P("%s/e", wd), P("%s/f", wd));           /* refused: f exists */
    queue(PQ_DELETE, P("%s/g", wd), NULL);
    queue(PQ_DELETE, P("%s/emptydir", wd), NULL);
    queue(PQ_DELETE, P("%s/fulldir", wd), NULL);      /* refused: not empty */
    queue(0, P("%s/b", wd), P("%s/h", wd));           /* chain: b made by the first */
    queue(0, P("%s/i", wd), P("%s/a", wd));           /* chain: a freed by the first */
    queue(0, P("%s/big", wd), P("%s/big", ws));       /* across */
    queue(PQ_REPLACE, P("%s/x", ws), P("%s/y", wd));  /* across, replacing */
    queue(0, P("%s/lnk", wd), P("%s/lnk", ws));       /* across, a symbolic link */
    queue(0, P("%s/k", wd), P("%s/sub/k", wd));
    queue(0, P("%s/missing", wd), P("%s/z", wd));     /* fails: no source */
    queue(PQ_DELETE, P("%s/t", ws), NULL);
}

/* A sorted listing: "path type hash" per entry, hash of the content or link target. */
struct snap {
    struct strlist lines;
    struct strlist contents; /* hashes of regular files */
};
static struct snap *cur_snap;
static const char *cur_root;

static uint64_t hash_file(const char *p, bool link)
{
    char buf[65536];
    uint64_t h = 1469598103934665603ull;
    if (link) {
        ssize_t n = readlink(p, buf, sizeof buf);
        for (ssize_t i = 0; i < n; i++)
            h = (h ^ (uint8_t)buf[i]) * 1099511628211ull;
        return h;
    }
    int fd = open(p, O_RDONLY);
    ssize_t n;
    while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            h = (h ^ (uint8_t)buf[i]) * 1099511628211ull;
    if (fd >= 0)
        close(fd);
    return h;
}

static int snap_entry(const char *p, const struct stat *s, int flag, struct FTW *f)
{
    (void)f;
    char line[1200];
    char t = flag == FTW_D ? 'd' : flag == FTW_SL ? 'l' : S_ISREG(s->st_mode) ? 'f' : '?';
    uint64_t h = t == 'f' || t == 'l' ? hash_file(p, t == 'l') : 0;
    snprintf(line, sizeof line, "%s%s %c %016llx", cur_root, p + strlen(cur_root == wd ? wd : ws), t,
             (unsigned long long)h);
    strlist_push(&cur_snap->lines, line);
    if (t == 'f') {
        snprintf(line, sizeof line, "%016llx", (unsigned long long)h);
        strlist_push(&cur_snap->contents, line);
    }
    return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void take_snap(struct snap *s)
{
    memset(s, 0, sizeof *s);
    cur_snap = s;
    cur_root = wd;
    nftw(wd, snap_entry, 16, FTW_PHYS);
    cur_root = ws;
    nftw(ws, snap_entry, 16, FTW_PHYS);
    qsort(s->lines.v, s->lines.n, sizeof *s->lines.v, cmp);
}

static void free_snap(struct snap *s)
{
    strlist_free(&s->lines);
    strlist_free(&s->contents);
}

static void same_snap(const struct snap *a, const struct snap *b, const char *when)
{
    size_t n = a->lines.n > b->lines.n ? a->lines.n : b->lines.n;
    for (size_t i = 0; i < n; i++) {
        const char *x = i < a->lines.n ? a->lines.v[i] : "(none)";
        const char *y = i < b->lines.n ? b->lines.v[i] : "(none)";
        if (strcmp(x, y))
            fail_msg("%s: expected %s, found %s", when, x, y);
    }
}

/* Every content the end state holds exists somewhere now. */
static void contents_survive(const struct snap *end, const struct snap *now, const char *when)
{
    for (size_t i = 0; i < end->contents.n; i++)
        if (strlist_find_nocase(&now->contents, end->contents.v[i]) < 0)
            fail_msg("%s: a file's content (hash %s) exists nowhere", when, end->contents.v[i]);
}

struct killer {
    long at, count;
};

static int kill_hook(void *ctx, enum pending_step step, const char *what)
{
    (void)step, (void)what;
    struct killer *k = ctx;
    if (++k->count == k->at)
        raise(SIGKILL);
    return 0;
}

/* One boot in this process, to the end: the number of steps it took. */
static long boot_here(void)
{
    struct killer k = {0, 0};
    struct pending_options o = {.ntpath = &rules, .batch_max = 3, .fault = kill_hook, .fault_ctx = &k};
    struct pending_report r;
    assert_int_equal(pending_apply_at_boot(state, registry, 3, &o, &r), 0);
    pending_report_free(&r);
    return k.count;
}

/* One boot in a child process: killed before step `at` (0: never). Returns the number of
 * steps it took when it finished, or -1 when it was killed. */
static long boot(long at)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        struct killer k = {at, 0};
        struct pending_options o = {.ntpath = &rules, .batch_max = 3, .fault = kill_hook, .fault_ctx = &k};
        struct pending_report r;
        int rc = pending_apply_at_boot(state, registry, 3, &o, &r);
        pending_report_free(&r);
        if (write(fds[1], &k.count, sizeof k.count) != sizeof k.count)
            _exit(3);
        _exit(rc ? 1 : 0);
    }
    close(fds[1]);
    long steps = -1;
    if (read(fds[0], &steps, sizeof steps) != sizeof steps)
        steps = -1;
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFSIGNALED(st)) {
        assert_int_equal(WTERMSIG(st), SIGKILL);
        return -1;
    }
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return steps;
}

static char *outcomes(void)
{
    struct pending_report r;
    struct diags d = DIAGS_INIT;
    assert_int_equal(pending_report_load(state, &r, &d), 0);
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < r.n; i++)
        buf_printf(&b, "%zu:%s:%d:%s:%s ", i, pending_outcome_name(r.v[i].outcome), r.v[i].err,
                   r.v[i].source, r.v[i].destination);
    pending_report_free(&r);
    return buf_steal(&b);
}

static struct snap reference;
static char *reference_outcomes;
static long reference_steps;

/* Killing a process loses nothing the kernel holds, so the campaign needs no disk: two
 * tmpfs filesystems (/dev/shm and one mounted in a private mount namespace) keep it fast.
 * Without the privilege to mount, the disk stands in for the second one. */
static bool private_tmpfs(const char *dir)
{
    return unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
           mount("tmpfs", dir, "tmpfs", 0, "size=64m") == 0;
}

static int setup(void **st)
{
    (void)st;
    snprintf(disk, sizeof disk, "/dev/shm/test_pending_crash.XXXXXX");
    snprintf(shm, sizeof shm, "/dev/shm/test_pending_crash.XXXXXX");
    if (!mkdtemp(disk) || !mkdtemp(shm))
        return -1;
    if (!private_tmpfs(disk)) {
        rmdir(disk);
        snprintf(disk, sizeof disk, "/var/tmp/test_pending_crash.XXXXXX");
        if (!mkdtemp(disk))
            return -1;
    }
    snprintf(wd, sizeof wd, "%s/w", disk);
    snprintf(ws, sizeof ws, "%s/w", shm);
    snprintf(state, sizeof state, "%s/state", disk);
    if (ntpath_rules_default(&rules, NULL))
        return -1;
    rules.drive_root['X' - 'A'] = strdup(wd);
    rules.drive_root['Y' - 'A'] = strdup(ws);
    scenario();
    reference_steps = boot_here();
    take_snap(&reference);
    reference_outcomes = outcomes();
    return reference_steps > 20 ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    free_snap(&reference);
    free(reference_outcomes);
    ntpath_rules_free(&rules);
    rm_tree(wd), rm_tree(ws), rm_tree(state);
    umount2(disk, MNT_DETACH);
    rmdir(disk);
    rm_tree(shm);
    return 0;
}

/* After the interrupted boots: one more boot completes; a further boot changes nothing. */
static void verify_recovery(const char *when, bool further)
{
    boot_here();
    struct snap s;
    take_snap(&s);
    same_snap(&reference, &s, when);
    char *o = outcomes();
    if (strcmp(o, reference_outcomes))
        fail_msg("%s: outcomes\n  %s\nexpected\n  %s", when, o, reference_outcomes);
    free(o);
    assert_false(access(P("%s/%s", state, PENDING_JOURNAL_FILE), F_OK) == 0);
    assert_false(access(P("%s/%s", state, PENDING_TAKEN_FILE), F_OK) == 0);
    if (further) {
        boot_here();
        struct snap again;
        take_snap(&again);
        same_snap(&reference, &again, "a further boot");
        free_snap(&again);
    }
    free_snap(&s);
}

static void crash_at(long k, const char *when)
{
    assert_int_equal(boot(k), -1);
    struct snap s;
    take_snap(&s);
    contents_survive(&reference, &s, when);
    free_snap(&s);
}

static void test_reference_run(void **st)
{
    (void)st;
    /* The reference itself says what each operation does: 10 done, 3 failed, 0 skipped
     * from the queue; the registry's three done. */
    assert_non_null(strstr(reference_outcomes, "2:failed:17:"));
    assert_non_null(strstr(reference_outcomes, "5:failed:39:"));
    assert_non_null(strstr(reference_outcomes, "12:failed:2:"));
    assert_non_null(strstr(reference_outcomes, "16:done:0:"));
    print_message("# %ld steps that change the disk in one uninterrupted boot\n", reference_steps);
}

static void test_crash_at_every_step(void **st)
{
    (void)st;
    char when[64];
    for (long k = 1; k <= reference_steps; k++) {
        snprintf(when, sizeof when, "crash before step %ld", k);
        scenario();
        crash_at(k, when);
        verify_recovery(when, k % 8 == 0);
    }
    print_message("# %ld crash points, each recovered exactly once\n", reference_steps);
}

static void test_crash_during_recovery(void **st)
{
    (void)st;
    char when[96];
    long points = 0;
    for (long k1 = reference_steps / 3; k1 < reference_steps; k1 += reference_steps / 3) {
        scenario();
        crash_at(k1, "first crash");
        long steps2 = boot_here();
        for (long k2 = 1; k2 <= steps2; k2++) {
            snprintf(when, sizeof when, "crash before step %ld, then %ld of the recovery", k1, k2);
            scenario();
            crash_at(k1, when);
            crash_at(k2, when);
            verify_recovery(when, k2 % 8 == 0);
            points++;
        }
    }
    print_message("# %ld double-crash points, each recovered exactly once\n", points);
}

int main(void)
{
    log_init("test_pending_crash", LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_run),
        cmocka_unit_test(test_crash_at_every_step),
        cmocka_unit_test(test_crash_during_recovery),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
