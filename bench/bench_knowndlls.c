/* The KnownDLLs snapshot of the embedded default configuration's set (libc, libm, libpam,
 * libpam_misc, libjansson and their DT_NEEDED closure: verification, SHA-256, copy,
 * read-only mount) against `cp` of the same files into a fresh directory on the same
 * filesystem, best of several runs each, page cache warm for both. Runs in a private
 * mount namespace of its own so the read-only mounts stay out of the machine's.
 *
 *   bench_knowndlls [RUNS]
 * prints: knowndlls-snapshot-vs-cp-ratio: X (goal: <= 1.5), after comment lines with both
 * times and the time of a snapshot whose checksums are deferred (knowndlls_options). */
#include "config.h"
#include "knowndlls.h"
#include "log.h"
#include "regmodel.h"
#include "process_spawn.h"
#include "sysenv.h"

#include <errno.h>
#include <stdbool.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void remove_tree(const char *dir)
{
    char *cmd;
    if (asprintf(&cmd, "chmod -R u+w '%s' 2>/dev/null; rm -rf '%s'", dir, dir) >= 0) {
        if (system(cmd) != 0)
            fprintf(stderr, "bench_knowndlls: cannot remove %s\n", dir);
        free(cmd);
    }
}

static int load_default(struct smss_config *c)
{
    struct reg_store *store = reg_store_new();
    struct diags d = DIAGS_INIT;
    struct smss_config_sources src = {.sysconf_reg = "/nonexistent/smss.reg"};
    int rc = store && smss_config_load_store(store, &src, &d) == 0 &&
                     smss_config_from_store(c, store, &d) == 0
                 ? 0
                 : -1;
    if (rc < 0)
        diags_print(&d, 2);
    diags_free(&d);
    reg_store_free(store);
    return rc;
}

/* One snapshot into a fresh runtime directory; its time in ms (or < 0). */
static double time_snapshot(const struct smss_config *c, const char *base, bool defer,
                            struct knowndlls_result *keep)
{
    struct knowndlls_options o = {.defer_checksums = defer};
    char rt[256];
    snprintf(rt, sizeof rt, "%s/rt", base);
    mkdir(rt, 0755);
    struct knowndlls_result r = KNOWNDLLS_RESULT_INIT;
    double t0 = now_ms();
    int rc = knowndlls_snapshot_with(&r, c, NULL, rt, &o);
    double t = now_ms() - t0;
    if (rc < 0)
        fprintf(stderr, "bench_knowndlls: %s\n", r.error ? r.error : "snapshot failed");
    knowndlls_unmount(r.snapshot_dir);
    if (keep && rc == 0) {
        knowndlls_result_free(keep);
        *keep = r;
    } else
        knowndlls_result_free(&r);
    remove_tree(rt);
    return rc < 0 ? -1 : t;
}

/* `cp` of the same sources into a fresh directory; its time in ms (or < 0). */
static double time_cp(const struct knowndlls_result *set, const char *base)
{
    char dest[256];
    snprintf(dest, sizeof dest, "%s/cp", base);
    char *cp = spawn_search_path("cp", "/usr/bin:/bin");
    char **argv = calloc(set->n + 4, sizeof *argv);
    if (!cp || !argv) {
        free(cp);
        free(argv);
        return -1;
    }
    size_t n = 0;
    argv[n++] = "cp";
    for (size_t i = 0; i < set->n; i++)
        argv[n++] = set->v[i].source;
    argv[n++] = dest;
    struct spawn_request req = SPAWN_REQUEST_INIT;
    req.path = cp;
    req.argv = argv;
    double t0 = now_ms();
    int st = -1;
    pid_t pid;
    struct spawn_error err;
    if (mkdir(dest, 0755) == 0 && spawn_process(&req, &pid, &err) == 0)
        waitpid(pid, &st, 0);
    double t = now_ms() - t0;
    free(cp);
    free(argv);
    remove_tree(dest);
    return st == 0 ? t : -1;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 15;
    if (runs < 1)
        runs = 1;
    log_init("bench_knowndlls", LOG_LEVEL_WARNING);
    if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
        fprintf(stderr, "# bench_knowndlls: no private mount namespace (%s): the snapshot is "
                        "read-only by mode\n", strerror(errno));
    struct smss_config c = {0};
    if (load_default(&c) < 0) {
        fprintf(stderr, "bench_knowndlls: cannot load the embedded default configuration\n");
        return 1;
    }
    char base[] = "/var/tmp/smss-bench-knowndlls.XXXXXX";
    if (!mkdtemp(base)) {
        perror("bench_knowndlls: mkdtemp");
        smss_config_free(&c);
        return 1;
    }
    struct knowndlls_result set = KNOWNDLLS_RESULT_INIT;
    double best_snap = -1, best_cp = -1, best_deferred = -1;
    if (time_snapshot(&c, base, false, &set) < 0 || set.n == 0) {
        fprintf(stderr, "bench_knowndlls: the default set gave no snapshot\n");
        remove_tree(base);
        knowndlls_result_free(&set);
        smss_config_free(&c);
        return 1;
    }
    uint64_t bytes = 0;
    for (size_t i = 0; i < set.n; i++)
        bytes += set.v[i].size;
    for (int i = 0; i < runs; i++) { /* alternate, so both see the same machine state */
        double s = time_snapshot(&c, base, false, NULL), p = time_cp(&set, base);
        double d = time_snapshot(&c, base, true, NULL);
        if (d >= 0 && (best_deferred < 0 || d < best_deferred))
            best_deferred = d;
        if (s >= 0 && (best_snap < 0 || s < best_snap))
            best_snap = s;
        if (p >= 0 && (best_cp < 0 || p < best_cp))
            best_cp = p;
    }
    remove_tree(base);
    int status = 0;
    if (best_snap < 0 || best_cp <= 0) {
        fprintf(stderr, "bench_knowndlls: a run failed\n");
        status = 1;
    } else {
        printf("# knowndlls: snapshot %.3f ms, cp %.3f ms: %zu files, %.1f MB, best of %d runs\n",
               best_snap, best_cp, set.n, (double)bytes / 1048576.0, runs);
        printf("# knowndlls: snapshot with the checksums deferred to the first query %.3f ms\n",
               best_deferred);
        printf("knowndlls-snapshot-vs-cp-ratio: %.2f (goal: <= 1.5)\n", best_snap / best_cp);
    }
    knowndlls_result_free(&set);
    smss_config_free(&c);
    return status;
}
