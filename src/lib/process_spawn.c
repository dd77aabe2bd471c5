#include "process_spawn.h"
#include "buf.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct child_report {
    int step;
    int errnum;
};

static const char *const step_names[] = {"signals", "setsid", "cgroup", "setns(ipc)",
                                         "setns(mnt)", "setpriority", "user", "chdir",
                                         "descriptors", "exec", "TIOCSCTTY"};
enum { S_SIGNALS, S_SETSID, S_CGROUP, S_IPC, S_MNT, S_NICE, S_USER, S_CHDIR, S_STDIO, S_EXEC,
       S_CTTY };

/* In the child: report the failed step and leave without running atexit handlers. */
static _Noreturn void child_fail(int fd, int step)
{
    struct child_report rep = {step, errno};
    ssize_t w = write(fd, &rep, sizeof rep);
    (void)w;
    _exit(127);
}

static int reset_signals(void)
{
    sigset_t none;
    sigemptyset(&none);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL); /* invalid numbers (32, 33) fail harmlessly */
    return sigprocmask(SIG_SETMASK, &none, NULL);
}

static int join_cgroup(int dirfd)
{
    int fd = openat(dirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, "0\n", 2);
    int e = errno;
    close(fd);
    errno = e;
    return w == 2 ? 0 : -1;
}

static int become_user(const char *user)
{
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        errno = errno ? errno : ENOENT;
        return -1;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
        setuid(pw->pw_uid) < 0)
        return -1;
    return 0;
}

static int move_fd(int from, int to)
{
    if (from < 0 || from == to)
        return from == to ? fcntl(to, F_SETFD, 0) : 0; /* keep it across exec */
    return dup2(from, to) < 0 ? -1 : 0;
}

static _Noreturn void child_main(const struct spawn_request *r, int report, bool in_cgroup)
{
    if (reset_signals() < 0)
        child_fail(report, S_SIGNALS);
    if (r->new_session && setsid() < 0)
        child_fail(report, S_SETSID);
    /* Before the user changes: taking a terminal over from another session needs root. */
    if (r->new_session && r->controlling_tty && ioctl(r->fd_in, TIOCSCTTY, 1) < 0)
        child_fail(report, S_CTTY);
    if (r->cgroup_fd >= 0 && !in_cgroup && join_cgroup(r->cgroup_fd) < 0)
        child_fail(report, S_CGROUP);
    if (r->ipc_ns_fd >= 0 && setns(r->ipc_ns_fd, CLONE_NEWIPC) < 0)
        child_fail(report, S_IPC);
    if (r->mnt_ns_fd >= 0 && setns(r->mnt_ns_fd, CLONE_NEWNS) < 0)
        child_fail(report, S_MNT);
    if (r->set_nice && setpriority(PRIO_PROCESS, 0, r->nice) < 0)
        child_fail(report, S_NICE);
    if (r->user && become_user(r->user) < 0)
        child_fail(report, S_USER);
    if (r->cwd && chdir(r->cwd) < 0)
        child_fail(report, S_CHDIR);
    if (move_fd(r->fd_in, 0) < 0 || move_fd(r->fd_out, 1) < 0 || move_fd(r->fd_err, 2) < 0)
        child_fail(report, S_STDIO);
    if (r->inherit_fd >= 0 && fcntl(r->inherit_fd, F_SETFD, 0) < 0)
        child_fail(report, S_STDIO);
    /* Renamed before the parent hears "running", so whoever reads /proc then sees argv. */
    if (r->run && platform_set_cmdline(r->argv) == 0) {
        if (platform_close_all_except(report, r->inherit_fd) < 0)
            child_fail(report, S_STDIO);
        if (r->envp)
            environ = (char **)r->envp;
        close(report); /* the parent's read ends: running */
        _exit(r->run(r->run_arg));
    }
    execve(r->path, r->argv, r->envp ? r->envp : environ);
    child_fail(report, S_EXEC);
}

int spawn_process(const struct spawn_request *r, pid_t *pid, struct spawn_error *err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        *err = (struct spawn_error){"pipe", errno};
        return -1;
    }
    /* Into its cgroup at birth (clone3 CLONE_INTO_CGROUP): moving a process afterwards
     * waits for an RCU grace period, milliseconds per process. Older kernels: fork, then
     * join in the child. */
    bool in_cgroup = false;
    pid_t child = -1;
    if (r->cgroup_fd >= 0) {
        child = platform_fork_into_cgroup(r->cgroup_fd);
        in_cgroup = child >= 0;
    }
    if (!in_cgroup)
        child = fork();
    if (child < 0) {
        *err = (struct spawn_error){"fork", errno};
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (child == 0) {
        close(p[0]);
        child_main(r, p[1], in_cgroup);
    }
    close(p[1]);
    struct child_report rep;
    ssize_t n;
    do
        n = read(p[0], &rep, sizeof rep);
    while (n < 0 && errno == EINTR);
    close(p[0]);
    if (n == (ssize_t)sizeof rep) {
        /* The child failed before exec and is exiting: collect it here, so a failed
         * start leaves nothing behind for anyone else to reap. */
        *err = (struct spawn_error){step_names[rep.step], rep.errnum};
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
        return -1;
    }
    *pid = child;
    return 0;
}

char *spawn_search_path(const char *image, const char *search_path)
{
    if (strchr(image, '/'))
        return strdup(image);
    const char *p = search_path ? search_path : "";
    while (*p) {
        size_t n = strcspn(p, ":;");
        if (n) {
            struct buf b = BUF_INIT;
            struct stat st;
            if (buf_printf(&b, "%.*s/%s", (int)n, p, image) < 0) {
                buf_free(&b);
                return NULL;
            }
            if (stat(b.p, &st) == 0 && S_ISREG(st.st_mode) && access(b.p, X_OK) == 0)
                return buf_steal(&b);
            buf_free(&b);
        }
        p += n;
        if (*p)
            p++;
    }
    errno = ENOENT;
    return NULL;
}
