/* csrss: the session's Windows subsystem server. Started by a session child instance,
 * it registers with the master as the session's "Windows" subsystem (the master accepts
 * only the process it recorded as one), serves its SbApiPort (SbCreateProcess: start a
 * program inside the session, which it inherits from csrss: namespaces, cgroup,
 * environment), and tracks the session's processes as their subreaper. Critical: the
 * master treats its death as a system crash. */
#include "buf.h"
#include "log.h"
#include "platform.h"
#include "smapi_wire.h"
#include "process_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_CONNS = 256, STOP_TIMEOUT_MS = 3000 };

struct conn {
    int fd;
    struct smapi_reader reader;
};

/* A process started on request, with who waits for its exit. */
struct started {
    pid_t pid;
    struct conn *waiter;
    uint64_t cookie;
};

static struct {
    uint32_t session;
    const char *name;  /* the subsystem it serves: "Windows", or --subsystem NAME */
    const char *runtime_dir;
    pid_t master;
    int sm, sb_listen, sigfd, epfd;
    char sb_path[SMAPI_PATH_MAX];
    struct started *procs;
    size_t nprocs, capprocs;
    size_t nconns;
    bool stopping;
    int initial_pidfd;  /* the session's initial process (SbCreateSession), -1 if none */
    pid_t initial_pid;
} C = {.sm = -1, .sb_listen = -1, .sigfd = -1, .epfd = -1, .initial_pidfd = -1};

static char initial_tag; /* epoll tag of the initial process's pidfd */

static void usage(FILE *out)
{
    fputs("Usage: csrss [--subsystem NAME] [--help]\n"
          "The Windows subsystem server of one session, started by a session child\n"
          "instance of smss with SMSS_SESSION_ID, SMSS_RUNTIME_DIR and SMSS_READY_FD in its\n"
          "environment. It registers with the master, serves the session's SbApiPort and\n"
          "tracks the session's processes. See csrss(8).\n"
          "  --subsystem NAME  serve as another subsystem (an Optional one such as Posix,\n"
          "                    loaded on request); default Windows\n",
          out);
}

static int listen_sb(void)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/Sessions/%u/%s", C.runtime_dir, C.session, C.name) >=
            (int)sizeof dir ||
        platform_mkdir_p(dir, 0755) < 0)
        return -1;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (snprintf(C.sb_path, sizeof C.sb_path, "%s/SbApiPort", dir) >= (int)sizeof C.sb_path ||
        strlen(C.sb_path) >= sizeof a.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    str_copy(a.sun_path, sizeof a.sun_path, C.sb_path);
    unlink(C.sb_path);
    C.sb_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (C.sb_listen < 0 || bind(C.sb_listen, (struct sockaddr *)&a, sizeof a) < 0 ||
        chmod(C.sb_path, 0600) < 0 || listen(C.sb_listen, 64) < 0)
        return -1;
    return 0;
}

static int register_with_master(void)
{
    char port[PATH_MAX];
    snprintf(port, sizeof port, "%s/SmApiPort", C.runtime_dir);
    C.sm = smapi_connect(port, 5000);
    if (C.sm < 0) {
        log_error("cannot connect to the master at %s: %s", port, strerror(errno));
        return -1;
    }
    struct smapi_connect_subsystem rq = {.session = C.session};
    str_copy(rq.name, sizeof rq.name, C.name);
    str_copy(rq.sb_port, sizeof rq.sb_port, C.sb_path);
    struct smapi_message rep;
    if (smapi_call(C.sm, SM_CONNECT_SUBSYSTEM, &rq, sizeof rq, NULL, 0, &rep, 5000) < 0) {
        log_error("the master did not answer the registration: %s", strerror(errno));
        return -1;
    }
    int ok = rep.h.status == SMAPI_OK;
    if (!ok)
        log_error("the master refused the registration: %s",
                  rep.h.length == sizeof(struct smapi_error)
                      ? ((struct smapi_error *)rep.body)->message
                      : "no reason given");
    smapi_message_free(&rep);
    return ok ? 0 : -1;
}

static void signal_ready(void)
{
    const char *fd = getenv("SMSS_READY_FD");
    if (!fd)
        return;
    int n = atoi(fd);
    if (n > 2 && write(n, "1", 1) != 1)
        log_warning("cannot tell the session child that csrss is ready: %s", strerror(errno));
    if (n > 2)
        close(n);
}

/* ---- SbCreateProcess ----------------------------------------------------------- */

static int track(pid_t pid, struct conn *waiter, uint64_t cookie)
{
    if (C.nprocs == C.capprocs) {
        size_t cap = C.capprocs ? C.capprocs * 2 : 16;
        struct started *v = realloc(C.procs, cap * sizeof *v);
        if (!v)
            return -1;
        C.procs = v;
        C.capprocs = cap;
    }
    C.procs[C.nprocs++] = (struct started){pid, waiter, cookie};
    return 0;
}

static void create_process(struct conn *c, struct smapi_message *m)
{
    struct smapi_exec *rq = m->body;
    pid_t peer;
    uid_t uid;
    gid_t gid;
    if (platform_peer_cred(c->fd, &peer, &uid, &gid) < 0 || uid != 0) {
        smapi_send_error(c->fd, m->h.type, m->h.cookie, SMAPI_E_DENIED, EPERM,
                         "SbCreateProcess is for the master Session Manager");
        return;
    }
    char why[256];
    char **argv = smapi_exec_argv(rq, why, sizeof why);
    if (!argv) {
        smapi_send_error(c->fd, m->h.type, m->h.cookie, SMAPI_E_PROTOCOL, EINVAL, "%s", why);
        return;
    }
    char user[SMAPI_NAME_MAX], cwd[SMAPI_PATH_MAX];
    FIELD_COPY(user, rq->user);
    FIELD_COPY(cwd, rq->cwd);
    char *path = spawn_search_path(argv[0], getenv("PATH"));
    struct spawn_request sr = SPAWN_REQUEST_INIT;
    sr.path = path;
    sr.argv = argv;
    sr.user = user[0] ? user : NULL;
    sr.set_nice = true;
    sr.nice = platform_nice_for_priority(8);
    char imgdir[PATH_MAX] = "";
    if (cwd[0]) {
        sr.cwd = cwd;
    } else if (path) { /* NT: the image's directory is the current directory */
        str_copy(imgdir, sizeof imgdir, path);
        sr.cwd = dirname(imgdir);
    }
    if ((rq->flags & SMAPI_EXEC_STDIO) && m->nfds == 3) {
        sr.fd_in = m->fds[0];
        sr.fd_out = m->fds[1];
        sr.fd_err = m->fds[2];
    }
    pid_t pid;
    struct spawn_error err = {"search", ENOENT};
    if (!path || spawn_process(&sr, &pid, &err) < 0) {
        smapi_send_error(c->fd, m->h.type, m->h.cookie, SMAPI_E_FAILED, err.errnum,
                         "%s: %s failed: %s", argv[0], err.step, strerror(err.errnum));
    } else {
        track(pid, (rq->flags & SMAPI_EXEC_WAIT) ? c : NULL, m->h.cookie);
        struct smapi_process_started st = {pid, C.session};
        smapi_send(c->fd, m->h.type, SMAPI_OK, m->h.cookie, &st, sizeof st, NULL, 0);
        log_info("session %u: started %s (PID %d)", C.session, path, (int)pid);
    }
    free(path);
    free(argv);
}

/* SbCreateSession: the session's initial process; watched through a pidfd (it is not our
 * child), so its end can be reported to the master as SessionComplete. */
static void create_session(struct conn *c, struct smapi_message *m)
{
    const struct smapi_sb_create_session *rq = m->body;
    pid_t peer;
    uid_t uid;
    gid_t gid;
    if (platform_peer_cred(c->fd, &peer, &uid, &gid) < 0 || uid != 0) {
        smapi_send_error(c->fd, m->h.type, m->h.cookie, SMAPI_E_DENIED, EPERM,
                         "SbCreateSession is for the Session Manager");
        return;
    }
    if (rq->session != C.session || rq->initial_pid <= 1 || C.initial_pidfd >= 0) {
        smapi_send_error(c->fd, m->h.type, m->h.cookie, SMAPI_E_DENIED, 0,
                         "this csrss serves session %u and has %s initial process", C.session,
                         C.initial_pidfd >= 0 ? "its" : "no such");
        return;
    }
    int fd = platform_pidfd_open(rq->initial_pid);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &initial_tag};
    if (fd < 0 || epoll_ctl(C.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        smapi_send_error(c->fd, m->h.type, m->h.cookie, SMAPI_E_FAILED, e,
                         "cannot watch PID %d: %s", (int)rq->initial_pid, strerror(e));
        return;
    }
    C.initial_pidfd = fd;
    C.initial_pid = rq->initial_pid;
    smapi_send(c->fd, m->h.type, SMAPI_OK, m->h.cookie, NULL, 0, NULL, 0);
}

/* The initial process ended: the session is complete, as far as this subsystem knows. */
static void initial_ended(void)
{
    epoll_ctl(C.epfd, EPOLL_CTL_DEL, C.initial_pidfd, NULL);
    close(C.initial_pidfd);
    C.initial_pidfd = -1;
    log_info("session %u: the initial process (PID %d) ended; reporting SessionComplete",
             C.session, (int)C.initial_pid);
    struct smapi_session_ref ref = {C.session, 0};
    smapi_send(C.sm, SM_SESSION_COMPLETE, 0, 0, &ref, sizeof ref, NULL, 0);
}

/* ---- connections --------------------------------------------------------------- */

static void conn_close(struct conn *c)
{
    for (size_t i = 0; i < C.nprocs; i++)
        if (C.procs[i].waiter == c)
            C.procs[i].waiter = NULL;
    epoll_ctl(C.epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    smapi_reader_free(&c->reader);
    free(c);
    C.nconns--;
}

static void conn_readable(struct conn *c)
{
    for (;;) {
        char why[256];
        int r = smapi_reader_step(&c->reader, c->fd, SMAPI_MAX_REQUEST, why, sizeof why);
        if (r == 0)
            return;
        if (r < 0) {
            if (errno == EPROTO)
                smapi_send_error(c->fd, 0, 0, SMAPI_E_PROTOCOL, 0, "%s", why);
            conn_close(c);
            return;
        }
        struct smapi_message *m = &c->reader.msg;
        if (smapi_validate_request(m, why, sizeof why) != SMAPI_OK)
            smapi_send_error(c->fd, m->h.type, m->h.cookie, SMAPI_E_PROTOCOL, 0, "%s", why);
        else if (m->h.type == SB_CREATE_PROCESS)
            create_process(c, m);
        else if (m->h.type == SB_CREATE_SESSION)
            create_session(c, m);
        else if (m->h.type == SB_TERMINATE_SESSION) {
            /* The session ends: answer, then stop as on SIGTERM. */
            smapi_send(c->fd, m->h.type, SMAPI_OK, m->h.cookie, NULL, 0, NULL, 0);
            smapi_message_free(m);
            C.stopping = true;
            return;
        } else
            smapi_send_error(c->fd, m->h.type, m->h.cookie, SMAPI_E_UNSUPPORTED, 0,
                             "csrss serves SbCreateProcess; not %s", smapi_type_name(m->h.type));
        smapi_message_free(m);
    }
}

static void accept_conns(void)
{
    for (;;) {
        int fd = accept4(C.sb_listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct conn *c = calloc(1, sizeof *c);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (!c || C.nconns >= MAX_CONNS || epoll_ctl(C.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            free(c);
            close(fd);
            continue;
        }
        c->fd = fd;
        smapi_reader_init(&c->reader);
        C.nconns++;
    }
}

/* ---- processes ----------------------------------------------------------------- */

static void reap(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < C.nprocs; i++) {
            if (C.procs[i].pid != pid)
                continue;
            if (C.procs[i].waiter) {
                struct smapi_process_exited e = {pid, status};
                smapi_send(C.procs[i].waiter->fd, SB_PROCESS_EXITED, SMAPI_OK,
                           C.procs[i].cookie, &e, sizeof e, NULL, 0);
            }
            C.procs[i] = C.procs[--C.nprocs];
            break;
        }
    }
}

/* Whether any process of ours is left. csrss is a subreaper, so every descendant whose
 * parent is gone is its child: no children means no descendants, without reading /proc. */
static bool has_children(void)
{
    siginfo_t si;
    si.si_pid = 0;
    return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 || errno != ECHILD;
}

static void signal_descendants(int sig)
{
    enum { MAX = 4096 };
    static pid_t pids[MAX];
    size_t n = platform_descendants(getpid(), pids, MAX);
    for (size_t i = 0; i < n; i++)
        kill(pids[i], sig);
}

/* SIGTERM: the session ends. Our processes first, then ourselves. */
static void stop_all(void)
{
    if (!has_children())
        return;
    signal_descendants(SIGTERM);
    for (int waited = 0; waited < STOP_TIMEOUT_MS; waited += 20) {
        reap();
        if (!has_children())
            return;
        usleep(20000);
    }
    signal_descendants(SIGKILL);
    while (waitpid(-1, NULL, 0) > 0)
        ;
}

static bool handle_signals(void)
{
    struct signalfd_siginfo si;
    while (read(C.sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGCHLD)
            reap();
        else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
            return false;
    }
    return true;
}

static int loop(void)
{
    static char sm_tag, listen_tag, sig_tag;
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.ptr = &sig_tag;
    epoll_ctl(C.epfd, EPOLL_CTL_ADD, C.sigfd, &ev);
    ev.data.ptr = &listen_tag;
    epoll_ctl(C.epfd, EPOLL_CTL_ADD, C.sb_listen, &ev);
    ev.data.ptr = &sm_tag;
    epoll_ctl(C.epfd, EPOLL_CTL_ADD, C.sm, &ev);
    for (;;) {
        struct epoll_event evs[16];
        int n = epoll_wait(C.epfd, evs, 16, -1);
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &sig_tag) {
                if (!handle_signals())
                    return 0;
            } else if (p == &initial_tag) {
                initial_ended();
            } else if (p == &listen_tag) {
                accept_conns();
            } else if (p == &sm_tag) {
                char b[256];
                if (read(C.sm, b, sizeof b) <= 0) { /* replies to SessionComplete are read here */
                    log_error("session %u: the master closed the SM connection; ending the "
                              "session", C.session);
                    return 1;
                }
            } else {
                conn_readable(p);
                if (C.stopping)
                    return 0;
            }
        }
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"subsystem", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int o;
    C.name = "Windows";
    while ((o = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
        if (o == 's' && optarg[0] && !strchr(optarg, '/') && strlen(optarg) < SMAPI_NAME_MAX) {
            C.name = optarg;
            continue;
        }
        usage(o == 'h' ? stdout : stderr);
        return o == 'h' ? 0 : 2;
    }
    log_init("csrss", LOG_LEVEL_INFO);
    const char *session = getenv("SMSS_SESSION_ID");
    C.runtime_dir = getenv("SMSS_RUNTIME_DIR");
    if (!session || !C.runtime_dir) {
        log_error("SMSS_SESSION_ID and SMSS_RUNTIME_DIR are not set: csrss is started by smss "
                  "for a session, not by hand");
        return 2;
    }
    C.session = (uint32_t)strtoul(session, NULL, 10);
    static const int signals[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP};
    C.sigfd = platform_signalfd(signals, sizeof signals / sizeof *signals);
    C.epfd = epoll_create1(EPOLL_CLOEXEC);
    platform_set_subreaper();
    if (C.sigfd < 0 || C.epfd < 0 || listen_sb() < 0) {
        log_error("session %u: cannot set up the SbApiPort %s: %s", C.session, C.sb_path,
                  strerror(errno));
        return 1;
    }
    if (register_with_master() < 0)
        return 1;
    signal_ready();
    log_info("session %u: %s subsystem ready (SbApiPort %s)", C.session, C.name, C.sb_path);
    int rc = loop();
    stop_all();
    unlink(C.sb_path);
    log_info("session %u: csrss exits", C.session);
    return rc;
}
