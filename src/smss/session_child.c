/* A session child instance: "smss 0000000N 0000000F". It reads what to create from the
 * socket it inherited (descriptor F), makes the session (its POSIX session, cgroup, IPC
 * namespace, private /dev/shm, Sessions/N directories), starts the Required subsystems
 * (waiting for csrss to register with the master) and the initial command, reports to
 * the master and exits, so its processes are left without a living parent, as on NT. */
#include "execute_list.h"
#include "log.h"
#include "platform.h"
#include "smapi_wire.h"
#include "smss_modes.h"
#include "process_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { READY_TIMEOUT_MS = 10000 };

struct child {
    int sock;
    struct smapi_child_request rq;
    pid_t started[SMAPI_MAX_SUBSYSTEMS + 1];
    size_t nstarted;
    pid_t csrss, initial;
    char why[512];
};

__attribute__((format(printf, 2, 3))) static int fail(struct child *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
    return -1;
}

static int make_session_directories(struct child *c)
{
    static const char *const dirs[] = {"BaseNamedObjects", "DosDevices", "Windows"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/Sessions/%u/%s", c->rq.runtime_dir, c->rq.session,
                 dirs[i]);
        if (platform_mkdir_p(path, 0755) < 0)
            return fail(c, "cannot create %s: %s", path, strerror(errno));
    }
    return 0;
}

/* The session's own POSIX session, cgroup, IPC namespace and /dev/shm: everything it
 * starts inherits them. */
static int isolate(struct child *c)
{
    if (setsid() < 0)
        return fail(c, "setsid: %s", strerror(errno));
    /* The cgroup: the master started us inside it already (c->rq.cgroup_dir). */
    if ((c->rq.flags & SMAPI_SESSION_IPC_NS) && platform_unshare(CLONE_NEWIPC) < 0)
        return fail(c, "cannot create the session's IPC namespace: %s", strerror(errno));
    if (c->rq.flags & SMAPI_SESSION_PRIVATE_SHM) {
        if (platform_unshare(CLONE_NEWNS) < 0 || platform_mount_slave_at("/dev/shm") < 0 ||
            platform_mount_tmpfs("/dev/shm", 01777) < 0)
            return fail(c, "cannot give the session a private /dev/shm: %s", strerror(errno));
    }
    return make_session_directories(c);
}

static int report_started(struct child *c, uint32_t role, pid_t pid, const char *name)
{
    struct smapi_child_started m = {c->rq.session, role, pid, ""};
    str_copy(m.name, sizeof m.name, name);
    return smapi_send(c->sock, SM_CHILD_STARTED, 0, 0, &m, sizeof m, NULL, 0);
}

/* An environment for the session's programs: ours, plus the session's variables. */
static char **session_env(const struct child *c, const char *extra)
{
    extern char **environ;
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 4, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "SMSS_SESSION_ID=", 16) && strncmp(environ[i], "SMSS_TERMINAL=", 14))
            env[k++] = environ[i];
    static char id[32];
    snprintf(id, sizeof id, "SMSS_SESSION_ID=%u", c->rq.session);
    env[k++] = id;
    if (extra)
        env[k++] = (char *)extra;
    env[k] = NULL;
    return env;
}

/* Start one program of the session; its image found through the environment's Path. */
static int start(struct child *c, const char *command, int nice, int inherit_fd,
                 const char *extra_env, pid_t *pid)
{
    bool debug, async, autocheck;
    char **argv = NULL;
    if (execute_parse(command, &debug, &async, &autocheck, &argv) < 0 || !argv || !argv[0])
        return fail(c, "cannot parse the command line \"%s\"", command);
    char *path = spawn_search_path(argv[0], getenv("PATH"));
    char **env = session_env(c, extra_env);
    int r = -1;
    if (!path) {
        fail(c, "%s: not found (searched the environment's Path)", argv[0]);
    } else if (!env) {
        fail(c, "out of memory");
    } else {
        struct spawn_request rq = SPAWN_REQUEST_INIT;
        rq.path = path;
        rq.argv = argv;
        rq.envp = env;
        rq.set_nice = true;
        rq.nice = nice;
        rq.inherit_fd = inherit_fd;
        struct spawn_error err;
        r = spawn_process(&rq, pid, &err);
        if (r < 0)
            fail(c, "%s: %s failed: %s", path, err.step, strerror(err.errnum));
        else
            c->started[c->nstarted++] = *pid;
    }
    free(path);
    free(env);
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
    return r;
}

/* csrss writes one byte on the inherited pipe once it is registered with the master. */
static int wait_ready(struct child *c, int fd, pid_t pid, const char *name)
{
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, READY_TIMEOUT_MS);
    char b;
    if (r > 0 && read(fd, &b, 1) == 1)
        return 0;
    if (r == 0)
        return fail(c, "%s (PID %d) did not register with the master within %d ms", name,
                    (int)pid, READY_TIMEOUT_MS);
    /* It closed the pipe without a word: it is exiting (its own log says why). */
    int status;
    for (int i = 0; i < 100 && waitpid(pid, &status, WNOHANG) != pid; i++)
        usleep(10000);
    if (kill(pid, 0) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    return fail(c, "%s (PID %d) ended before it was ready (%s %d)", name, (int)pid,
                WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static int start_subsystems(struct child *c)
{
    for (uint32_t i = 0; i < c->rq.nsubsystems && i < SMAPI_MAX_SUBSYSTEMS; i++) {
        struct smapi_child_subsystem *s = &c->rq.subsystems[i];
        s->name[sizeof s->name - 1] = s->command[sizeof s->command - 1] = '\0';
        bool windows = !strcasecmp(s->name, "Windows");
        int ready[2] = {-1, -1};
        char ready_env[48] = "";
        if (windows) {
            if (pipe2(ready, O_CLOEXEC) < 0)
                return fail(c, "pipe: %s", strerror(errno));
            snprintf(ready_env, sizeof ready_env, "SMSS_READY_FD=%d", ready[1]);
        }
        pid_t pid;
        int r = start(c, s->command, c->rq.subsystem_nice, ready[1],
                      windows ? ready_env : NULL, &pid);
        if (ready[1] >= 0)
            close(ready[1]);
        if (r == 0 && report_started(c, SMAPI_ROLE_SUBSYSTEM, pid, s->name) < 0)
            r = fail(c, "cannot report to the master: %s", strerror(errno));
        if (r == 0 && windows) {
            c->csrss = pid;
            r = wait_ready(c, ready[0], pid, "csrss");
        }
        if (ready[0] >= 0)
            close(ready[0]);
        if (r < 0)
            return -1;
        log_info("session %u: subsystem %s started (PID %d)", c->rq.session, s->name, (int)pid);
    }
    return 0;
}

static int start_initial(struct child *c)
{
    char term_env[SMAPI_PATH_MAX + 16];
    c->rq.terminal[sizeof c->rq.terminal - 1] = '\0';
    c->rq.initial_command[sizeof c->rq.initial_command - 1] = '\0';
    snprintf(term_env, sizeof term_env, "SMSS_TERMINAL=%s", c->rq.terminal);
    if (start(c, c->rq.initial_command, c->rq.initial_nice, -1, term_env, &c->initial) < 0)
        return -1;
    const char *name = strrchr(c->rq.initial_command, '/');
    name = name ? name + 1 : c->rq.initial_command;
    char short_name[SMAPI_NAME_MAX];
    snprintf(short_name, sizeof short_name, "%.*s", (int)strcspn(name, " \t"), name);
    if (report_started(c, SMAPI_ROLE_INITIAL, c->initial, short_name) < 0)
        return fail(c, "cannot report to the master: %s", strerror(errno));
    return 0;
}

/* NT's SbCreateSession: the initial process handed to the session's Windows subsystem. */
static int hand_to_subsystem(struct child *c)
{
    if (c->csrss < 0)
        return 0;
    char port[PATH_MAX];
    snprintf(port, sizeof port, "%s/Sessions/%u/Windows/SbApiPort", c->rq.runtime_dir,
             c->rq.session);
    int fd = smapi_connect(port, READY_TIMEOUT_MS);
    struct smapi_sb_create_session rq = {c->rq.session, c->initial};
    struct smapi_message rep;
    if (fd < 0 || smapi_call(fd, SB_CREATE_SESSION, &rq, sizeof rq, NULL, 0, &rep,
                             READY_TIMEOUT_MS) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return fail(c, "csrss did not take the session (SbCreateSession): %s", strerror(e));
    }
    int ok = rep.h.status == SMAPI_OK;
    smapi_message_free(&rep);
    close(fd);
    return ok ? 0 : fail(c, "csrss refused the session (SbCreateSession)");
}

static void undo(struct child *c)
{
    for (size_t i = 0; i < c->nstarted; i++)
        kill(c->started[i], SIGKILL);
    for (size_t i = 0; i < c->nstarted; i++)
        waitpid(c->started[i], NULL, 0);
}

static int parse_args(const struct smss_options *o, uint32_t *session, int *fd)
{
    *session = (uint32_t)strtoul(o->argv[0], NULL, 16);
    *fd = (int)strtol(o->argv[1], NULL, 16);
    return fcntl(*fd, F_SETFD, FD_CLOEXEC);
}

int smss_session_child(const struct smss_options *o)
{
    struct child c = {.sock = -1, .csrss = -1, .initial = -1};
    uint32_t session;
    if (parse_args(o, &session, &c.sock) < 0) {
        log_error("session child: descriptor %s was not inherited; a session child instance "
                  "is started by the master only", o->argv[1]);
        return 2;
    }
    struct smapi_message m;
    if (smapi_recv(c.sock, &m, SMAPI_MAX_REQUEST, READY_TIMEOUT_MS) < 0 ||
        m.h.type != SM_CHILD_REQUEST || m.h.length != sizeof c.rq) {
        log_error("session child %u: no valid request from the master", session);
        if (m.body)
            smapi_message_free(&m);
        return 2;
    }
    memcpy(&c.rq, m.body, sizeof c.rq);
    smapi_message_free(&m);
    c.rq.runtime_dir[sizeof c.rq.runtime_dir - 1] = c.rq.cgroup_dir[sizeof c.rq.cgroup_dir - 1] = '\0';
    int r = isolate(&c);
    if (r == 0)
        r = start_subsystems(&c);
    if (r == 0)
        r = start_initial(&c);
    struct smapi_child_report rep = {c.rq.session, r == 0 ? SMAPI_OK : SMAPI_E_FAILED, c.csrss,
                                     c.initial, ""};
    if (r < 0) {
        undo(&c);
        str_copy(rep.message, sizeof rep.message, c.why);
        log_error("session %u: %s", c.rq.session, c.why);
    }
    smapi_send(c.sock, SM_CHILD_REPORT, 0, 0, &rep, sizeof rep, NULL, 0);
    /* The session stands; csrss learns its initial process after the caller has its
     * answer (NT's SbCreateSession), so that round trip is off the caller's path. */
    if (r == 0 && hand_to_subsystem(&c) < 0)
        log_warning("session %u: %s; the session goes on without csrss watching its initial "
                    "process", c.rq.session, c.why);
    return r == 0 ? 0 : 1;
}
