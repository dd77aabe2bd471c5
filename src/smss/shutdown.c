/* Orderly shutdown: sessions ended from the highest ID down, each initial process first
 * (wininit stops its services), then the subsystems, then whatever is left; the master
 * exits 0 with no process left behind, or reboots / powers off a whole machine. */
#include "master.h"
#include "log.h"
#include "platform.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const action_names[] = {"halt", "reboot", "power off"};

void shutdown_begin(uint32_t action, const char *why)
{
    if (M.state >= MASTER_SHUTTING_DOWN)
        return;
    M.state = MASTER_SHUTTING_DOWN;
    M.shutdown_action = action <= SMAPI_SHUTDOWN_POWEROFF ? action : SMAPI_SHUTDOWN_HALT;
    log_info("shutdown (%s) requested by %s", action_names[M.shutdown_action], why);
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Reap until none of pids[] is alive or the deadline passes; SIGCHLD wakes us. */
static bool wait_gone(const pid_t *pids, size_t n, long long deadline)
{
    for (;;) {
        loop_reap();
        bool any = false;
        for (size_t i = 0; i < n; i++)
            any |= pids[i] > 0 && kill(pids[i], 0) == 0 &&
                   platform_process_start_ticks(pids[i]) != 0;
        if (!any)
            return true;
        long long left = deadline - now_ms();
        if (left <= 0)
            return false;
        struct pollfd p = {M.sigfd, POLLIN, 0};
        poll(&p, 1, left > 100 ? 100 : (int)left); /* zombies of others: re-check often */
    }
}

/* Signal a group of processes, wait, then SIGKILL the ones left. */
static void stop_processes(const pid_t *pids, size_t n, unsigned timeout_ms, const char *what)
{
    size_t live = 0;
    for (size_t i = 0; i < n; i++)
        if (pids[i] > 0 && kill(pids[i], SIGTERM) == 0)
            live++;
    if (!live)
        return;
    if (wait_gone(pids, n, now_ms() + timeout_ms))
        return;
    log_warning("%s did not stop within %u ms; killing", what, timeout_ms);
    for (size_t i = 0; i < n; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGKILL);
    wait_gone(pids, n, now_ms() + 2000);
}

void terminate_descendants(unsigned timeout_ms)
{
    enum { MAX = 8192 };
    static pid_t pids[MAX];
    size_t n = platform_descendants(getpid(), pids, MAX);
    stop_processes(pids, n, timeout_ms, "the remaining processes");
    /* Anything started meanwhile (a double fork): no more grace. */
    while ((n = platform_descendants(getpid(), pids, MAX)) > 0) {
        for (size_t i = 0; i < n; i++)
            kill(pids[i], SIGKILL);
        wait_gone(pids, n, now_ms() + 2000);
    }
    loop_reap();
}

int shutdown_finish(void)
{
    /* One session at a time, the highest first, each ended as StopCsr ends one. */
    for (;;) {
        struct session *highest = NULL;
        for (size_t i = 0; i < session_count(); i++)
            if (!highest || session_at(i)->id > highest->id)
                highest = session_at(i);
        if (!highest)
            break;
        uint32_t id = highest->id;
        session_end_begin(highest, "shutdown");
        while (session_find(id) == highest)
            loop_once(-1);
    }
    terminate_descendants(M.cfg.shutdown_timeout_ms);
    pagefile_deactivate(&M.paging);
    master_cleanup();
    if (M.sandbox_done)
        M.exit_code = M.sandbox_status;
    if (M.shutdown_action != SMAPI_SHUTDOWN_HALT && M.pid1 && !M.sandbox) {
        log_info("%s", action_names[M.shutdown_action]);
        platform_reboot(M.shutdown_action == SMAPI_SHUTDOWN_POWEROFF);
        log_error("reboot(2) failed: %s", strerror(errno));
    }
    log_info("shutdown complete; exit status %d", M.exit_code);
    return M.exit_code;
}

void master_cleanup(void)
{
    if (M.knowndlls.snapshot_dir && knowndlls_unmount(M.knowndlls.snapshot_dir) < 0)
        log_warning("cannot unmount the KnownDlls snapshot %s: %s", M.knowndlls.snapshot_dir,
                    strerror(errno));
    /* After a crash the sessions were not ended one by one: their cgroups go here. */
    for (size_t i = 0; i < session_count(); i++)
        if (session_at(i)->cgroup[0])
            platform_cgroup_remove(session_at(i)->cgroup);
    if (M.cgroup_base[0] && platform_cgroup_remove(M.cgroup_base) < 0 && errno != ENOENT)
        log_warning("cannot remove the sessions' cgroup %s: %s", M.cgroup_base, strerror(errno));
}
