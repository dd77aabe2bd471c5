/* Delayed renames: the cost of the exactly-once guarantee and of queuing through smssctl.
 *
 *   pending-apply-100k-vs-renameat-syncfs-ratio: X (goal: <= 2.0)
 *     Measured: pending_apply_at_boot on a queue of 100,000 renames within one directory
 *     of the disk (/var/tmp): taking the queue, the journal, every operation logged (to
 *     /dev/null), the report. Floor: a plain loop of renameat over 100,000 files of the same
 *     filesystem followed by one syncfs. Medians of RUNS alternated runs. SMSS_BENCH_DIR
 *     names another directory to measure in.
 *   pending-queue-10k-smssctl-vs-true-ratio: X (goal: <= 1.5)
 *     Measured: 10,000 sequential `smssctl movefile --delay-until-reboot --delete PATH`,
 *     each appending durably (flock, write, fdatasync) to a queue on the disk. Floor: 10,000
 *     sequential spawns of /bin/true. Both with posix_spawn, alternated in chunks.
 * Absolute times go to stderr. */
#include "log.h"
#include "pending_apply.h"
#include "pending_queue.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { N = 100000, RUNS = 3, SPAWNS = 10000, CHUNKS = 5 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return v[n / 2];
}

static int rm_entry(const char *p, const struct stat *s, int flag, struct FTW *f)
{
    (void)s, (void)f;
    return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_tree(const char *p) { nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* A directory of N empty files f0 .. f(N-1), made durable (not timed). */
static int make_files(const char *dir)
{
    if (mkdir(dir, 0755))
        return -1;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "f%d", i);
        int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0)
            return -1;
        close(fd);
    }
    syncfs(dfd);
    close(dfd);
    return 0;
}

static double floor_run(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    char a[32], b[32];
    double t = now();
    for (int i = 0; i < N; i++) {
        snprintf(a, sizeof a, "f%d", i);
        snprintf(b, sizeof b, "g%d", i);
        if (renameat(dfd, a, dfd, b))
            perror("renameat");
    }
    syncfs(dfd);
    t = now() - t;
    close(dfd);
    return t;
}

static int queue_all(const char *dir, const char *state)
{
    enum { CHUNK = 10000 };
    static struct pq_entry e[CHUNK];
    static char src[CHUNK][PATH_MAX / 8], dst[CHUNK][PATH_MAX / 8];
    for (int base = 0; base < N; base += CHUNK) {
        for (int i = 0; i < CHUNK; i++) {
            snprintf(src[i], sizeof src[i], "%s/f%d", dir, base + i);
            snprintf(dst[i], sizeof dst[i], "%s/g%d", dir, base + i);
            e[i] = (struct pq_entry){0, src[i], dst[i], 0, 0};
        }
        struct diags d = DIAGS_INIT;
        if (pq_append(state, e, CHUNK, NULL, &d)) {
            diags_print(&d, 2);
            return -1;
        }
        diags_free(&d);
    }
    return 0;
}

static double measured_run(const char *state, size_t *done)
{
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    struct pending_report rep;
    double t = now();
    pending_apply_at_boot(state, NULL, 0, NULL, &rep);
    t = now() - t;
    dup2(saved, 2);
    close(saved);
    close(null);
    *done = rep.done;
    pending_report_free(&rep);
    return t;
}

static int apply_figure(const char *tmp)
{
    double floor[RUNS], meas[RUNS];
    char a[PATH_MAX], b[PATH_MAX], st[PATH_MAX];
    for (int r = 0; r < RUNS; r++) {
        snprintf(a, sizeof a, "%s/floor%d", tmp, r);
        snprintf(b, sizeof b, "%s/apply%d", tmp, r);
        snprintf(st, sizeof st, "%s/state%d", tmp, r);
        if (make_files(a) || make_files(b) || queue_all(b, st))
            return -1;
        sync();
        floor[r] = floor_run(a);
        size_t done = 0;
        meas[r] = measured_run(st, &done);
        if (done != N) {
            fprintf(stderr, "bench_pending: %zu of %d renames done\n", done, N);
            return -1;
        }
        fprintf(stderr, "bench_pending: run %d: renameat+syncfs %.3f s, pending_apply_at_boot %.3f s\n", r,
                floor[r], meas[r]);
        rm_tree(a), rm_tree(b), rm_tree(st);
    }
    double f = median(floor, RUNS), m = median(meas, RUNS);
    printf("pending-apply-100k-vs-renameat-syncfs-ratio: %.2f (goal: <= 2.0)\n", m / f);
    return 0;
}

/* Start argv with its standard output on /dev/null. */
static pid_t launch(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static double spawn_many(char *const argv[], int count)
{
    double t = now();
    for (int i = 0; i < count; i++) {
        int status;
        pid_t pid = launch(argv);
        if (pid < 0 || waitpid(pid, &status, 0) != pid ||
            !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "bench_pending: %s failed\n", argv[0]);
            return -1;
        }
    }
    return now() - t;
}

static int queue_figure(const char *tmp)
{
    char self[PATH_MAX], ctl[PATH_MAX + 32], victim[PATH_MAX], state[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = 0;
    *strrchr(self, '/') = 0;
    snprintf(ctl, sizeof ctl, "%s/../smssctl", self);
    snprintf(victim, sizeof victim, "%s/victim", tmp);
    snprintf(state, sizeof state, "%s/queue-state", tmp);
    if (access(ctl, X_OK) != 0) {
        printf("pending-queue-10k-smssctl-vs-true-ratio: skipped (no %s: run make first)\n", ctl);
        return 0;
    }
    close(open(victim, O_WRONLY | O_CREAT, 0644));
    char *t_argv[] = {"/bin/true", NULL};
    char *c_argv[] = {ctl, "movefile", "--delay-until-reboot", "--delete", victim, "--state-dir", state, NULL};
    double floor = 0, meas = 0;
    for (int c = 0; c < CHUNKS; c++) {
        double f = spawn_many(t_argv, SPAWNS / CHUNKS), m = spawn_many(c_argv, SPAWNS / CHUNKS);
        if (f < 0 || m < 0)
            return -1;
        floor += f, meas += m;
    }
    struct pq_list l = PQ_LIST_INIT;
    struct diags d = DIAGS_INIT;
    char qpath[PATH_MAX + 32];
    snprintf(qpath, sizeof qpath, "%s/%s", state, PENDING_QUEUE_FILE);
    pq_read(qpath, &l, &d);
    size_t queued = l.n;
    pq_list_free(&l);
    diags_free(&d);
    if (queued != SPAWNS) {
        fprintf(stderr, "bench_pending: %zu of %d operations queued\n", queued, SPAWNS);
        return -1;
    }
    fprintf(stderr, "bench_pending: %d x /bin/true %.3f s, %d x smssctl movefile %.3f s\n", SPAWNS, floor,
            SPAWNS, meas);
    /* What the durable append costs: the same with the queue on tmpfs (fdatasync is free). */
    char shm[] = "/dev/shm/bench_pending.XXXXXX";
    if (mkdtemp(shm)) {
        c_argv[6] = shm;
        double f = spawn_many(t_argv, SPAWNS / 10), m = spawn_many(c_argv, SPAWNS / 10);
        fprintf(stderr, "bench_pending: with the queue on tmpfs instead (no device flush): ratio %.2f\n", m / f);
        rm_tree(shm);
    }
    printf("pending-queue-10k-smssctl-vs-true-ratio: %.2f (goal: <= 1.5)\n", meas / floor);
    return 0;
}

int main(void)
{
    /* SMSS_BENCH_DIR: where to measure (default /var/tmp, the disk). */
    const char *where = getenv("SMSS_BENCH_DIR");
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/bench_pending.XXXXXX", where && *where ? where : "/var/tmp");
    if (!mkdtemp(tmp)) {
        perror("bench_pending: mkdtemp");
        return 1;
    }
    log_init("bench_pending", LOG_LEVEL_INFO);
    int rc = apply_figure(tmp) || queue_figure(tmp) ? 1 : 0;
    rm_tree(tmp);
    return rc;
}
