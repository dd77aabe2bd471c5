/* The master's boot: NT's order as one table (DESIGN.md "Boot order"; ReactOS smss.c /
 * sminit.c). Each phase logs what it did and how long it took; a failure is either fatal
 * (a system crash naming the phase) or logged and skipped, as NT decides. */
#include "master.h"
#include "boot_phases.h"
#include "log.h"
#include "platform.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct master M = {.lock_fd = -1, .sigfd = -1, .epfd = -1, .api_fd = -1};

struct boot_phase {
    const char *name;
    int (*run)(void); /* 0 done, 1 partly done or skipped (logged), -1 failed */
    bool fatal;       /* a failure crashes the system, as in NT */
};

static const struct boot_phase phases[] = {
    {"configuration (registry pass)", phase_configuration, true},
    {"single instance, priority, PID-1 duties", phase_master_duties, true},
    {"object directories, DOS devices", phase_object_directories, true},
    {"BootExecute", phase_boot_execute, false},
    {"pending file renames and deletes", phase_pending_renames, false},
    {"KnownDLLs", phase_known_dlls, true},
    {"paging files", phase_paging_files, false},
    {"environment (dynamic)", phase_environment, true},
    {"SetupExecute", phase_setup_execute, false},
    {"Kmode", phase_kmode, false},
    {"SmApiPort", phase_api_port, true},
    {"initial sessions", phase_initial_sessions, true},
    {"Execute", phase_execute, false},
};

static double elapsed_ms(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

int master_boot(const struct smss_options *o, bool sandbox)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    M.opt = o;
    M.sandbox = sandbox;
    M.state = MASTER_BOOTING;
    for (size_t i = 0; i < sizeof phases / sizeof *phases; i++) {
        const struct boot_phase *p = &phases[i];
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        int r = p->run();
        double ms = elapsed_ms(&t);
        if (M.ntimings < sizeof M.timings / sizeof *M.timings)
            M.timings[M.ntimings++] = (struct boot_timing){p->name, ms, r};
        if (r == PHASE_ANOTHER_MASTER) /* leave without touching anything */
            return 1;
        if (r < 0 && p->fatal)
            boot_failure("Session Manager Initialization", p->name);
        log_info("phase %-40s %s in %.3f ms", p->name,
                 r == 0 ? "done" : r > 0 ? "done in part (see above)" : "failed, skipped", ms);
    }
    M.state = MASTER_RUNNING;
    log_info("boot complete in %.3f ms", elapsed_ms(&start));
    /* Give back what boot needed and the running master does not: freed heap, and the
     * library pages boot touched (clean, shared with the page cache). */
    malloc_trim(0);
    log_debug("released %zu KiB of clean file pages after boot",
              platform_release_clean_file_pages());
    if (M.sandbox)
        sandbox_boot_complete();
    return loop_run();
}

int smss_boot(const struct smss_options *o) { return master_boot(o, false); }
