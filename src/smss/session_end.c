/* Ending a session without blocking the master: a small state machine per session,
 * advanced when processes are reaped and when a deadline passes. Order as NT: the
 * initial process (winlogon, wininit), then the subsystems, then whatever is left in the
 * session's cgroup (or, without one, its IPC namespace); each step SIGTERM, then SIGKILL
 * after Linux\ShutdownTimeout. One timerfd serves every session being ended and is
 * disarmed when none is, so an idle master has no timer. */
#include "log.h"
#include "master.h"
#include "platform.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum { MAX_PIDS = 4096, KILL_GRACE_MS = 2000 };

static int timer_fd = -1;
static struct watch timer_watch;

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static bool alive(pid_t pid)
{
    return pid > 0 && platform_process_start_ticks(pid) != 0 && kill(pid, 0) == 0;
}

/* The session's remaining processes for the current step. */
static size_t step_pids(const struct session *s, pid_t *pids, size_t max)
{
    size_t n = 0;
    switch (s->end_step) {
    case END_INITIAL:
        if (alive(s->initial_pid))
            pids[n++] = s->initial_pid;
        break;
    case END_SUBSYSTEMS:
        for (size_t i = 0; i < proc_count() && n < max; i++) {
            struct proc_rec *r = proc_at(i);
            if (!r->exited && r->session == s->id && r->role == SMAPI_ROLE_SUBSYSTEM &&
                alive(r->pid))
                pids[n++] = r->pid;
        }
        break;
    case END_REST:
        n = session_processes(s, pids, max);
        break;
    case END_DONE:
        break;
    }
    return n;
}

/* Arm the timer for the earliest deadline of the sessions being ended, or disarm it. */
static void rearm(void)
{
    long long next = 0;
    for (size_t i = 0; i < session_count(); i++) {
        const struct session *s = session_at(i);
        if (s->state == SESSION_TERMINATING && s->end_step != END_DONE &&
            (!next || s->end_deadline < next))
            next = s->end_deadline;
    }
    if (timer_fd < 0)
        return;
    struct itimerspec its = {0};
    if (next) {
        long long ms = next - now_ms();
        if (ms < 1)
            ms = 1;
        its.it_value.tv_sec = ms / 1000;
        its.it_value.tv_nsec = (ms % 1000) * 1000000;
    }
    timerfd_settime(timer_fd, 0, &its, NULL);
}

static void signal_step(struct session *s, int sig)
{
    pid_t pids[MAX_PIDS];
    size_t n = step_pids(s, pids, MAX_PIDS);
    for (size_t i = 0; i < n; i++) {
        /* A registered subsystem is asked through its SbApiPort, as NT asks it. */
        if (s->end_step == END_SUBSYSTEMS && sig == SIGTERM && api_sb_terminate(pids[i]) == 0)
            continue;
        kill(pids[i], sig);
    }
    if (s->end_step == END_REST && s->cgroup[0] && sig == SIGKILL)
        platform_cgroup_kill(s->cgroup);
}

static void begin_step(struct session *s, enum end_step step)
{
    s->end_step = step;
    s->end_killed = false;
    s->end_deadline = now_ms() + M.cfg.shutdown_timeout_ms;
    signal_step(s, SIGTERM);
}

/* Remove a directory tree the session's programs made under Sessions/N; never follows
 * a symbolic link out of it. */
static void remove_tree(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (e->d_type == DT_DIR)
            remove_tree(fd, e->d_name);
        else
            unlinkat(fd, e->d_name, 0);
    }
    if (d)
        closedir(d);
    else if (fd >= 0)
        close(fd);
    unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* The session has nothing left: its cgroup and directory go, its waiter hears, it is
 * forgotten. */
static void finish(struct session *s)
{
    s->end_step = END_DONE;
    char sessions[PATH_MAX], id[16];
    snprintf(sessions, sizeof sessions, "%s/Sessions", M.runtime_dir);
    snprintf(id, sizeof id, "%u", s->id);
    int dirfd = open(sessions, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd >= 0) {
        remove_tree(dirfd, id);
        close(dirfd);
    }
    if (s->cgroup[0] && platform_cgroup_remove(s->cgroup) < 0 && errno != ENOENT)
        log_warning("session %u: cannot remove cgroup %s: %s", s->id, s->cgroup, strerror(errno));
    log_info("session %u ended", s->id);
    if (s->end_waiter && s->failure[0]) /* a StartCsr that failed, now undone */
        api_reply_error(s->end_waiter, s->end_waiter_type, s->end_waiter_cookie, SMAPI_E_FAILED,
                        0, "session %u could not be created (nothing of it is left): %s",
                        s->id, s->failure);
    else if (s->end_waiter)
        api_reply_done(s->end_waiter, s->end_waiter_type, s->end_waiter_cookie);
    session_remove(s);
}

/* Move a session on as far as it can go now. */
static void advance(struct session *s)
{
    pid_t pids[MAX_PIDS];
    for (;;) {
        size_t n = step_pids(s, pids, MAX_PIDS);
        if (n && now_ms() < s->end_deadline)
            return; /* still waiting for them */
        if (n && !s->end_killed) {
            log_warning("session %u: %zu process(es) did not end within %u ms; killing", s->id,
                        n, M.cfg.shutdown_timeout_ms);
            signal_step(s, SIGKILL);
            s->end_killed = true;
            s->end_deadline = now_ms() + KILL_GRACE_MS;
            return;
        }
        if (n)
            log_error("session %u: %zu process(es) survived SIGKILL (uninterruptible?); going on",
                      s->id, n);
        if (s->end_step == END_REST) {
            finish(s);
            return;
        }
        begin_step(s, s->end_step + 1);
    }
}

void session_end_begin(struct session *s, const char *why)
{
    if (s->state == SESSION_TERMINATING && s->end_step != END_DONE && s->end_started)
        return;
    log_info("ending session %u (%s)", s->id, why);
    s->state = SESSION_TERMINATING;
    s->end_started = true;
    begin_step(s, END_INITIAL);
    advance_all();
}

void advance_all(void)
{
    for (size_t i = 0; i < session_count();) {
        struct session *s = session_at(i);
        if (s->state == SESSION_TERMINATING && s->end_started) {
            size_t before = session_count();
            advance(s);
            if (session_count() != before)
                continue; /* s was removed; the same index holds another */
        }
        i++;
    }
    rearm();
}

void session_end_timer(void)
{
    uint64_t expirations;
    if (read(timer_fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
        log_warning("timerfd: %s", strerror(errno));
    advance_all();
}

int session_end_init(void)
{
    timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (timer_fd < 0)
        return -1;
    timer_watch = (struct watch){WATCH_TIMER, timer_fd, NULL};
    return loop_add(&timer_watch, EPOLLIN);
}

/* Without a cgroup: the processes in the session's IPC namespace, when it has its own;
 * else the descendants of the processes recorded in it (csrss is the subreaper of what
 * it starts). Never the IPC namespace shared with the master: that is everyone's. */
static size_t by_ipc_namespace(const struct session *s, pid_t *pids, size_t max)
{
    struct stat own;
    if (!s->ipc_ns_ino || stat("/proc/self/ns/ipc", &own) < 0 || own.st_ino == s->ipc_ns_ino)
        return 0;
    DIR *d = opendir("/proc");
    size_t n = 0;
    struct dirent *e;
    while (d && n < max && (e = readdir(d))) {
        char *end, path[64];
        long pid = strtol(e->d_name, &end, 10);
        struct stat st;
        if (*end || pid <= 1 || pid == getpid())
            continue;
        snprintf(path, sizeof path, "/proc/%ld/ns/ipc", pid);
        if (stat(path, &st) == 0 && st.st_ino == s->ipc_ns_ino)
            pids[n++] = (pid_t)pid;
    }
    if (d)
        closedir(d);
    return n;
}

static size_t by_descent(const struct session *s, pid_t *pids, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < proc_count() && n < max; i++) {
        struct proc_rec *r = proc_at(i);
        if (r->exited || r->session != s->id || !alive(r->pid))
            continue;
        pids[n++] = r->pid;
        n += platform_descendants(r->pid, pids + n, max - n);
    }
    return n;
}

size_t session_processes(const struct session *s, pid_t *pids, size_t max)
{
    if (s->cgroup[0]) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/cgroup.procs", s->cgroup);
        FILE *f = fopen(path, "re");
        size_t n = 0;
        long pid;
        while (f && n < max && fscanf(f, "%ld", &pid) == 1)
            pids[n++] = (pid_t)pid;
        if (f) {
            fclose(f);
            return n;
        }
    }
    size_t n = by_ipc_namespace(s, pids, max);
    return n ? n : by_descent(s, pids, max);
}
