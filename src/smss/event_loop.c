/* The master's life after boot: one epoll loop over the signals (signalfd), SmApiPort,
 * its clients and the session child instances' report sockets. No timers: an idle
 * master sleeps in epoll_wait and wakes for nothing. */
#include "master.h"
#include "log.h"
#include "platform.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

int loop_add(struct watch *w, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = w};
    return epoll_ctl(M.epfd, EPOLL_CTL_ADD, w->fd, &ev);
}

void loop_del(struct watch *w)
{
    if (w->fd >= 0)
        epoll_ctl(M.epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

int loop_init(void)
{
    static const int signals[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPWR, SIGUSR1, SIGUSR2};
    M.sigfd = platform_signalfd(signals, sizeof signals / sizeof *signals);
    M.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (M.sigfd < 0 || M.epfd < 0)
        return -1;
    M.sig_watch = (struct watch){WATCH_SIGNALS, M.sigfd, NULL};
    if (loop_add(&M.sig_watch, EPOLLIN) < 0)
        return -1;
    return session_end_init();
}

/* An exit of a process the master knows. */
static void process_exited(pid_t pid, int status)
{
    struct proc_rec *r = proc_find(pid);
    if (!r) {
        log_debug("reaped PID %d (an orphan the master did not start)", (int)pid);
        return;
    }
    r->exited = true;
    r->wait_status = status;
    if (r->role == SMAPI_ROLE_SESSION_CHILD)
        return; /* its report (or its absence) is handled on its socket */
    struct session *s = r->session != SMAPI_SESSION_NONE ? session_find(r->session) : NULL;
    bool expected = M.state >= MASTER_SHUTTING_DOWN || (s && s->state == SESSION_TERMINATING);
    if (!expected && s && s->dynamic && s->state == SESSION_ACTIVE && r->role == SMAPI_ROLE_INITIAL) {
        /* A session created on request ends with its initial process (a logoff). */
        log_info("%s (PID %d) of session %u ended: the session is complete", r->name, (int)pid,
                 s->id);
        session_end_begin(s, "its initial process ended");
        return;
    }
    if (r->critical && !expected && (!s || s->state == SESSION_ACTIVE)) {
        char why[128];
        if (WIFEXITED(status))
            snprintf(why, sizeof why, "exited with status %d", WEXITSTATUS(status));
        else
            snprintf(why, sizeof why, "killed by signal %d (%s)", WTERMSIG(status),
                     strsignal(WTERMSIG(status)));
        system_crash(r->critical, pid, status, why);
    }
    log_info("%s (PID %d, session %u) %s", r->name, (int)pid, r->session,
             WIFEXITED(status) ? "exited" : "was killed");
}

/* Reap every exited child: one SIGCHLD can stand for many exits. Child reports are read
 * first so that a process is recorded before its exit is seen. */
void loop_reap(void)
{
    sessions_drain_reports();
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            break;
        process_exited(pid, status);
    }
    advance_all();
}

/* The console session's winlogon gets the secure attention signal. */
static void secure_attention(void)
{
    struct session *s = session_find(1);
    if (s && s->initial_pid > 0) {
        log_info("secure attention sequence: signalling winlogon (PID %d) of session 1",
                 (int)s->initial_pid);
        kill(s->initial_pid, SIGUSR1);
    } else {
        log_info("secure attention sequence: no console session to signal");
    }
}

static void handle_signals(void)
{
    struct signalfd_siginfo si;
    while (read(M.sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        switch (si.ssi_signo) {
        case SIGCHLD: loop_reap(); break;
        case SIGTERM: shutdown_begin(SMAPI_SHUTDOWN_HALT, "SIGTERM"); break;
        case SIGPWR: shutdown_begin(SMAPI_SHUTDOWN_POWEROFF, "SIGPWR"); break;
        case SIGINT: secure_attention(); break;
        default: log_info("signal %d (%s) ignored", (int)si.ssi_signo, strsignal((int)si.ssi_signo));
        }
    }
}

static void dispatch(struct watch *w, uint32_t events)
{
    switch (w->kind) {
    case WATCH_SIGNALS: handle_signals(); break;
    case WATCH_LISTEN: api_handle_listen(); break;
    case WATCH_CLIENT: api_handle_client(w->obj, events); break;
    case WATCH_CHILD: sessions_handle_child(w->obj); break;
    case WATCH_SB: sandbox_handle_sb(events); break;
    case WATCH_TIMER: session_end_timer(); break;
    }
}

/* Wait for events and handle them once. 0, or -1 when the loop cannot go on. */
int loop_once(int timeout_ms)
{
    struct epoll_event ev[32];
    int n = epoll_wait(M.epfd, ev, 32, timeout_ms);
    if (n < 0 && errno != EINTR) {
        log_error("epoll_wait: %s", strerror(errno));
        return -1;
    }
    for (int i = 0; i < n && M.state != MASTER_CRASHED; i++)
        dispatch(ev[i].data.ptr, ev[i].events);
    return 0;
}

int loop_run(void)
{
    while (M.state == MASTER_RUNNING)
        loop_once(-1);
    return shutdown_finish();
}
