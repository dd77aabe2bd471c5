/* Session figures of the SM API (the SM API issue), measured inside a sandboxed boot:
 *
 *   session-create-median-ratio / -p99-ratio: StartCsr until its reply (csrss and the
 *     initial command running), against the floor: a short-lived leader that calls
 *     setsid, posix_spawns the same two programs and exits while its parent reaps.
 *   session-throughput-ratio: sequential create+terminate per second, against the
 *     floor's iterations per second.
 *   master-kib-per-session: the master's resident memory growth per session while
 *     HELD sessions are held at once.
 *
 *   bench_sessions BUILD_DIR [N [HELD]]       (as root; boots the sandbox itself)
 */
#include "smapi_client.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

static long master_rss_kib(void)
{
    FILE *f = fopen("/proc/1/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            v = atol(line + 6);
    if (f)
        fclose(f);
    return v;
}

/* The floor: leader → setsid → posix_spawn the two programs → exit; we reap all three
 * (we are a subreaper, so the orphans come to us). Returns the milliseconds. */
static double floor_once(const char *csrss, const char *winlogon)
{
    double t0 = now_ms();
    pid_t leader = fork();
    if (leader == 0) {
        setsid();
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        pid_t a, b;
        char *av[] = {(char *)csrss, "--help", NULL}, *bv[] = {(char *)winlogon, "--help", NULL};
        posix_spawn(&a, csrss, &fa, NULL, av, environ);
        posix_spawn(&b, winlogon, &fa, NULL, bv, environ);
        _exit(0);
    }
    waitpid(leader, NULL, 0);
    double t1 = now_ms();
    while (waitpid(-1, NULL, 0) > 0) /* the two programs */
        ;
    return t1 - t0;
}

static int inner(const char *bin, int n, int held)
{
    char csrss[4200], winlogon[4200];
    snprintf(csrss, sizeof csrss, "%s/csrss", bin);
    snprintf(winlogon, sizeof winlogon, "%s/winlogon", bin);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    struct smapi_client_error err;
    int fd = smapi_open(smapi_runtime_dir(NULL), 5000, &err);
    if (fd < 0) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    double *api = calloc((size_t)n, sizeof *api), *flo = calloc((size_t)n, sizeof *flo);
    double api_total = 0, floor_total = 0;
    for (int i = 0; i < n; i++) { /* alternate, so load affects both alike */
        struct smapi_session_info info;
        double t0 = now_ms();
        if (smapi_start_csr(fd, SMAPI_SESSION_NONE, "", &info, 60000, &err) < 0) {
            fprintf(stderr, "StartCsr: %s\n", err.message);
            return 1;
        }
        double t1 = now_ms();
        if (smapi_stop_csr(fd, info.session, &err) < 0) {
            fprintf(stderr, "StopCsr: %s\n", err.message);
            return 1;
        }
        double t2 = now_ms();
        api[i] = t1 - t0;
        api_total += t2 - t0;
        double f0 = now_ms();
        flo[i] = floor_once(csrss, winlogon);
        floor_total += now_ms() - f0;
    }
    double am = pct(api, n, 0.5), a99 = pct(api, n, 0.99);
    double fm = pct(flo, n, 0.5), f99 = pct(flo, n, 0.99);
    printf("session-create-median-ratio: %.2f (goal: <= 1.3) [StartCsr %.2f ms, floor %.2f ms, "
           "%d sessions]\n", am / fm, am, fm, n);
    printf("session-create-p99-ratio: %.2f (goal: <= 2.0) [StartCsr %.2f ms, floor %.2f ms]\n",
           a99 / f99, a99, f99);
    printf("session-throughput-ratio: %.2f (goal: >= 0.7) [%.0f create+terminate/s, floor "
           "%.0f/s]\n", (n / api_total) / (n / floor_total), n / api_total * 1e3,
           n / floor_total * 1e3);
    fflush(stdout);
    /* Memory: hold many sessions at once. */
    long before = master_rss_kib();
    uint32_t *ids = calloc((size_t)held, sizeof *ids);
    int made = 0;
    for (; made < held; made++) {
        struct smapi_session_info info;
        if (smapi_start_csr(fd, SMAPI_SESSION_NONE, "", &info, 60000, &err) < 0) {
            fprintf(stderr, "holding sessions: StartCsr %d: %s\n", made, err.message);
            break;
        }
        ids[made] = info.session;
    }
    long after = master_rss_kib();
    printf("master-kib-per-session: %.2f (goal: <= 16) [%ld KiB with 2 sessions, %ld KiB with "
           "%d more]\n", made ? (double)(after - before) / made : -1.0, before, after, made);
    fflush(stdout);
    for (int i = 0; i < made; i++)
        smapi_stop_csr(fd, ids[i], &err);
    free(ids);
    free(api);
    free(flo);
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "--inner"))
        return inner(argv[2], atoi(argv[3]), atoi(argv[4]));
    if (argc < 2 || getuid() != 0) {
        fprintf(stderr, "usage (as root): bench_sessions BUILD_DIR [N [HELD]]\n");
        return 2;
    }
    char bin[4096], self[4096], smss[4200];
    if (!realpath(argv[1], bin) || !realpath("/proc/self/exe", self))
        return 2;
    snprintf(smss, sizeof smss, "%s/smss", bin);
    const char *n = argc > 2 ? argv[2] : "1000", *held = argc > 3 ? argv[3] : "1000";
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2); /* the system's log */
        execl(smss, smss, "--sandbox", "--", self, "--inner", bin, n, held, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
