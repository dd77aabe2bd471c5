/* Boot figures of the Session Manager (the boot-and-sessions issue):
 *
 *   boot-to-winlogon-ratio: a sandboxed boot, from starting smss until a program runs in
 *     session 1 (session 1's winlogon is running by then), against the floor: a plain C
 *     program posix_spawning the same processes in the same order (the smss launcher and
 *     master, each session's child instance, csrss and initial process, the program),
 *     each waited for as far as posix_spawn waits (its exec). Medians of the same number
 *     of alternating runs.
 *   master-idle-context-switches-10s: the master's context switches over 10 s of idling.
 *   master-idle-rss-kib: its resident memory then.
 *
 *   bench_boot BUILD_DIR [RUNS]
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static char bin[4096];

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

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

/* Wait until the pipe shows the program ran (a byte), return the time. */
static double wait_marker(int fd)
{
    char c;
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 30000) <= 0 || read(fd, &c, 1) != 1)
        return -1;
    return now_ms();
}

/* A configuration with nothing to prepare: no object directories, DOS devices,
 * BootExecute, KnownDLLs, environment values or paging files (merged over the default). */
static char bare_reg[64];

static void write_bare_config(void)
{
    static const char text[] =
        "Windows Registry Editor Version 5.00\n\n"
        "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Session Manager]\n"
        "\"ObjectDirectories\"=hex(7):00,00\n\"BootExecute\"=hex(7):00,00\n\n"
        "[-HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\KnownDLLs]\n"
        "[-HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\DOS Devices]\n"
        "[-HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment]\n";
    snprintf(bare_reg, sizeof bare_reg, "/tmp/bench-bare-XXXXXX");
    int fd = mkstemp(bare_reg);
    if (fd < 0 || write(fd, text, sizeof text - 1) < 0)
        exit(2);
    close(fd);
}

/* One sandboxed boot: smss --sandbox -- echo (whose output arrives on our pipe). With
 * merge, that file is merged over the default configuration. */
static double boot_once_with(const char *merge)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    char smss[4200];
    snprintf(smss, sizeof smss, "%s/smss", bin);
    char *plain[] = {smss, "--sandbox", "--", "/bin/echo", "x", NULL};
    char *merged[] = {smss, "--sandbox", "--merge", (char *)merge, "--", "/bin/echo", "x", NULL};
    char **argv = merge ? merged : plain;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    double t0 = now_ms();
    pid_t pid;
    if (posix_spawn(&pid, smss, &fa, NULL, argv, environ) != 0)
        return -1;
    close(p[1]);
    double t1 = wait_marker(p[0]);
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    posix_spawn_file_actions_destroy(&fa);
    return t1 < 0 ? -1 : t1 - t0;
}

static double boot_once(void) { return boot_once_with(NULL); }

/* One sandboxed boot that prints its query: the milliseconds of every phase before the
 * initial sessions, by the master's own clock. */
static double boot_before_sessions(const char *merge)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    char smss[4200], ctl[4200];
    snprintf(smss, sizeof smss, "%s/smss", bin);
    snprintf(ctl, sizeof ctl, "%s/smssctl", bin);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 2);
        dup2(null, 0);
        if (merge)
            execl(smss, smss, "--sandbox", "--merge", merge, "--", ctl, "query", "--json", (char *)NULL);
        else
            execl(smss, smss, "--sandbox", "--", ctl, "query", "--json", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    json_error_t err;
    FILE *f = fdopen(p[0], "r");
    json_t *q = f ? json_loadf(f, 0, &err) : NULL;
    if (f)
        fclose(f);
    waitpid(pid, NULL, 0);
    double ms = 0;
    size_t i;
    json_t *phase;
    bool seen = false;
    json_array_foreach(json_object_get(q, "boot"), i, phase) {
        const char *name = json_string_value(json_object_get(phase, "phase"));
        if (name && !strcmp(name, "initial sessions")) {
            seen = true;
            break;
        }
        ms += json_number_value(json_object_get(phase, "ms"));
    }
    json_decref(q);
    return seen ? ms : -1;
}

/* The floor: the same images spawned in the same order by a plain program. The system
 * programs are given --help so they start and end at once; the last writes the marker. */
static double floor_once(void)
{
    static const char *const images[] = {"smss", "smss", "smss", "csrss", "wininit",
                                         "smss", "csrss", "winlogon"};
    int p[2];
    if (pipe(p) < 0)
        return -1;
    posix_spawn_file_actions_t quiet, marker;
    posix_spawn_file_actions_init(&quiet);
    posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_init(&marker);
    posix_spawn_file_actions_adddup2(&marker, p[1], 1);
    pid_t pids[16];
    int n = 0;
    double t0 = now_ms();
    for (size_t i = 0; i < sizeof images / sizeof *images; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", bin, images[i]);
        char *argv[] = {path, "--help", NULL};
        if (posix_spawn(&pids[n], path, &quiet, NULL, argv, environ) == 0)
            n++;
    }
    char *argv[] = {"/bin/echo", "x", NULL};
    posix_spawn(&pids[n++], "/bin/echo", &marker, NULL, argv, environ);
    close(p[1]);
    double t1 = wait_marker(p[0]);
    close(p[0]);
    for (int i = 0; i < n; i++)
        waitpid(pids[i], NULL, 0);
    posix_spawn_file_actions_destroy(&quiet);
    posix_spawn_file_actions_destroy(&marker);
    return t1 < 0 ? -1 : t1 - t0;
}

/* The master's host PID: the launcher's only child. */
static pid_t child_of(pid_t parent)
{
    char path[64], buf[64] = "";
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)parent, (int)parent);
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(path, "r");
        if (f && fgets(buf, sizeof buf, f) && atoi(buf) > 0) {
            fclose(f);
            return atoi(buf);
        }
        if (f)
            fclose(f);
        usleep(10000);
    }
    return -1;
}

static long status_field(pid_t pid, const char *name)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, name, strlen(name)))
            v = atol(line + strlen(name) + 1);
    if (f)
        fclose(f);
    return v;
}

static void idle_figures(void)
{
    char smss[4200];
    snprintf(smss, sizeof smss, "%s/smss", bin);
    int p[2];
    if (pipe(p) < 0)
        return;
    pid_t launcher = fork();
    if (launcher == 0) {
        dup2(p[1], 1);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 2);
        dup2(null, 0);
        execl(smss, smss, "--sandbox", "--", "/bin/sh", "-c", "echo up; sleep 14", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    wait_marker(p[0]);
    pid_t master = child_of(launcher);
    usleep(500000); /* let boot's last replies and reaping settle */
    long v0 = status_field(master, "voluntary_ctxt_switches");
    long n0 = status_field(master, "nonvoluntary_ctxt_switches");
    sleep(10);
    long v1 = status_field(master, "voluntary_ctxt_switches");
    long n1 = status_field(master, "nonvoluntary_ctxt_switches");
    long rss = status_field(master, "VmRSS");
    printf("master-idle-context-switches-10s: %ld (goal: 0)\n", (v1 - v0) + (n1 - n0));
    printf("master-idle-rss-kib: %ld (goal: < 2048)\n", rss);
    kill(launcher, SIGTERM);
    waitpid(launcher, NULL, 0);
    close(p[0]);
}

int main(int argc, char **argv)
{
    if (argc < 2 || getuid() != 0) {
        fprintf(stderr, "usage (as root): bench_boot BUILD_DIR [RUNS]\n");
        return 2;
    }
    if (!realpath(argv[1], bin))
        return 2;
    int runs = argc > 2 ? atoi(argv[2]) : 15;
    double *b = calloc((size_t)runs, sizeof *b), *f = calloc((size_t)runs, sizeof *f);
    boot_once(); /* warm the page cache */
    floor_once();
    for (int i = 0; i < runs; i++) { /* alternate, so load affects both alike */
        b[i] = boot_once();
        f[i] = floor_once();
        if (b[i] < 0 || f[i] < 0) {
            fprintf(stderr, "bench_boot: a run failed\n");
            return 1;
        }
    }
    double mb = median(b, runs), mf = median(f, runs);
    printf("boot-to-winlogon-ratio: %.2f (goal: <= 1.3) [boot %.2f ms, posix_spawn floor %.2f ms, "
           "median of %d]\n", mb / mf, mb, mf, runs);
    fflush(stdout);
    /* What the machine-preparation phases add: boots with the default configuration
     * against boots with nothing to prepare, alternating. The boots are the same from the
     * sessions on, so what is compared is the boot up to them, as the master times its
     * own phases (smssctl query): the sessions' jitter would drown a millisecond. */
    write_bare_config();
    double *with = calloc((size_t)runs, sizeof *with), *without = calloc((size_t)runs, sizeof *without);
    double *diff = calloc((size_t)runs, sizeof *diff);
    for (int i = 0; i < runs; i++) {
        with[i] = boot_before_sessions(NULL);
        without[i] = boot_before_sessions(bare_reg);
        diff[i] = with[i] - without[i];
        if (with[i] < 0 || without[i] < 0) {
            fprintf(stderr, "bench_boot: a boot's phase timings could not be read\n");
            return 1;
        }
    }
    double md = median(diff, runs), mw = median(with, runs), mo = median(without, runs);
    printf("preparation-added-ms: %.2f (goal: <= 2) [boot before the sessions: default %.2f ms, "
           "nothing to prepare %.2f ms; median of %d paired runs]\n", md, mw, mo, runs);
    free(diff);
    fflush(stdout);
    unlink(bare_reg);
    free(with);
    free(without);
    idle_figures();
    free(b);
    free(f);
    return 0;
}
