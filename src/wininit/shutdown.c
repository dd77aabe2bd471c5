/* Orderly shutdown: the services in reverse start order, then whatever else is left. */
#include "wininit.h"
#include "log.h"
#include "platform.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* Wait until deadline (monotonic ms) for a SIGCHLD, then reap. Other signals are
 * consumed: during shutdown a second SIGTERM changes nothing. */
static void wait_sigchld(struct supervisor *s, int sig_fd, int64_t deadline)
{
    int64_t left = deadline - now_ms();
    struct pollfd p = {sig_fd, POLLIN, 0};
    if (left > 0 && poll(&p, 1, left > 1000000 ? 1000000 : (int)left) > 0) {
        struct signalfd_siginfo si;
        while (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si)
            if (si.ssi_signo != SIGCHLD)
                log_info("signal %u ignored: shutting down", si.ssi_signo);
    }
    reap_children(s);
}

/* Stop one service: SIGTERM, then SIGKILL at deadline. */
static void stop_service(struct supervisor *s, struct service *sv, int sig_fd, int64_t deadline)
{
    pid_t pid = sv->pid;
    log_info("stopping service %s (PID %d): SIGTERM, %lld ms before SIGKILL", sv->cfg->name,
             (int)pid, (long long)(deadline - now_ms()));
    kill(pid, SIGTERM);
    while (sv->pid == pid && now_ms() < deadline)
        wait_sigchld(s, sig_fd, deadline);
    if (sv->pid != pid)
        return;
    log_warning("service %s (PID %d) did not stop in time: SIGKILL", sv->cfg->name, (int)pid);
    kill(pid, SIGKILL);
    int64_t grace = now_ms() + 1000; /* SIGKILL acts at once unless the kernel holds it */
    while (sv->pid == pid && now_ms() < grace)
        wait_sigchld(s, sig_fd, grace);
    if (sv->pid == pid)
        log_error("service %s (PID %d) survives SIGKILL (uninterruptible sleep?)",
                  sv->cfg->name, (int)pid);
}

/* Send sig to every child of wininit (orphans it adopted as subreaper). Returns how many. */
static int signal_children(int sig)
{
    return platform_signal_where(PLATFORM_BY_PPID, getpid(), sig);
}

static bool has_children(void)
{
    return waitid(P_ALL, 0, &(siginfo_t){0}, WEXITED | WNOHANG | WNOWAIT) == 0;
}

void supervisor_stop_all(struct supervisor *s, int sig_fd, uint32_t budget_ms)
{
    s->stopping = true;
    for (size_t i = 0; i < s->n; i++)
        s->v[i].pending = false;
    struct itimerspec off = {0};
    timerfd_settime(s->timer_fd, 0, &off, NULL);
    int64_t end = now_ms() + budget_ms;
    int64_t services_end = now_ms() + budget_ms / 10 * 9; /* the last tenth: orphans */
    for (size_t i = s->n; i-- > 0;) {
        if (!s->v[i].pid)
            continue;
        size_t running = 0;
        for (size_t j = 0; j <= i; j++)
            running += s->v[j].pid != 0;
        int64_t share = (services_end - now_ms()) / (int64_t)running;
        stop_service(s, &s->v[i], sig_fd, now_ms() + (share > 0 ? share : 0));
    }
    reap_children(s);
    int n = signal_children(SIGTERM);
    if (n)
        log_info("%d remaining process%s of session 0 sent SIGTERM", n, n == 1 ? "" : "es");
    while (has_children() && now_ms() < end)
        wait_sigchld(s, sig_fd, end);
    for (int round = 0; round < 50 && has_children(); round++) {
        n = signal_children(SIGKILL);
        if (n)
            log_warning("%d remaining process%s of session 0 killed (SIGKILL)", n,
                        n == 1 ? "" : "es");
        wait_sigchld(s, sig_fd, now_ms() + 100);
    }
    reap_children(s);
}
