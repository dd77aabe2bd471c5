/* Sessions, as Vista and later create them: the master starts a child copy of itself
 * ("smss 0000000N 0000000F": the session ID and the number of the socket it inherits,
 * as NT's child gets two handle values), sends it what to create, and the child starts
 * the session's subsystems and initial command, reports, and exits. The master records
 * every process the child started, so their creator is known after Linux reparents them. */
#include "master.h"
#include "log.h"
#include "platform.h"
#include "process_spawn.h"
#include "execute_list.h"
#include "smss_modes.h"
#include <fcntl.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct session **sessions;
static size_t nsessions, capsessions;

struct session *session_find(uint32_t id)
{
    for (size_t i = 0; i < nsessions; i++)
        if (sessions[i]->id == id)
            return sessions[i];
    return NULL;
}

uint32_t session_lowest_free(void)
{
    uint32_t id = 0;
    while (session_find(id))
        id++;
    return id;
}

size_t session_count(void) { return nsessions; }
struct session *session_at(size_t i) { return sessions[i]; }

static const char *expand(const char *value, bool do_expand, char *out, size_t n)
{
    char *e = do_expand ? sysenv_expand(&M.env, value) : NULL;
    snprintf(out, n, "%s", e ? e : value);
    free(e);
    return out;
}

/* The Required subsystems with their commands: an empty command (Debug) is skipped and
 * an unknown name logged and skipped, as NT does. */
static void fill_subsystems(struct smapi_child_request *rq)
{
    const struct strlist *req = &M.cfg.subsystems_required;
    for (size_t i = 0; i < req->n && rq->nsubsystems < SMAPI_MAX_SUBSYSTEMS; i++) {
        const struct sm_named *cmd = NULL;
        for (size_t j = 0; j < M.cfg.subsystems.n; j++)
            if (!strcasecmp(M.cfg.subsystems.v[j].name, req->v[i]))
                cmd = &M.cfg.subsystems.v[j];
        if (!cmd) {
            log_warning("SubSystems\\Required names \"%s\", which has no command; skipped",
                        req->v[i]);
            continue;
        }
        if (!cmd->value[0])
            continue;
        struct smapi_child_subsystem *s = &rq->subsystems[rq->nsubsystems++];
        str_copy(s->name, sizeof s->name, cmd->name);
        expand(cmd->value, cmd->expand, s->command, sizeof s->command);
    }
}

static void build_request(const struct session *s, struct smapi_child_request *rq)
{
    memset(rq, 0, sizeof *rq);
    rq->session = s->id;
    rq->flags = (M.cfg.session_ipc_namespace ? SMAPI_SESSION_IPC_NS : 0) |
                (M.cfg.session_private_shm ? SMAPI_SESSION_PRIVATE_SHM : 0);
    rq->subsystem_nice = platform_nice_for_priority(PRIORITY_CRITICAL);
    rq->initial_nice = platform_nice_for_priority(PRIORITY_CRITICAL);
    str_copy(rq->runtime_dir, sizeof rq->runtime_dir, M.runtime_dir);
    str_copy(rq->cgroup_dir, sizeof rq->cgroup_dir, s->cgroup);
    str_copy(rq->terminal, sizeof rq->terminal, s->terminal);
    fill_subsystems(rq);
    str_copy(rq->initial_command, sizeof rq->initial_command, s->initial_command);
}

static struct session *session_new(uint32_t id)
{
    if (nsessions == capsessions) {
        size_t cap = capsessions ? capsessions * 2 : 8;
        struct session **v = realloc(sessions, cap * sizeof *v);
        if (!v)
            return NULL;
        sessions = v;
        capsessions = cap;
    }
    struct session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    static uint64_t generations;
    s->id = id;
    s->generation = ++generations;
    s->child_watch.fd = -1;
    s->csrss_pid = s->initial_pid = s->child_pid = -1;
    smapi_reader_init(&s->reader);
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    s->created_ns = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
    sessions[nsessions++] = s;
    return s;
}

void session_remove(struct session *s)
{
    api_forget_session(s);
    if (s->child_watch.fd >= 0) {
        loop_del(&s->child_watch);
        close(s->child_watch.fd);
    }
    smapi_reader_free(&s->reader);
    for (size_t i = 0; i < nsessions; i++)
        if (sessions[i] == s) {
            sessions[i] = sessions[--nsessions];
            break;
        }
    proc_forget_session(s->id);
    free(s);
}

/* What a child instance is started with: its command line and environment. */
/* The child instance is a copy of the master (NT's smss starts its children from its own
 * image; here the image is already in memory, so there is nothing to load again), shown
 * as "smss 0000000N 0000000F". Where the kernel cannot rename a process, spawn_process
 * executes the image afresh with those arguments, which lands in the same function. */
static int run_child_instance(void *argv)
{
    struct smss_options o = {.argc = 2, .argv = (char **)argv + 1};
    return smss_session_child(&o);
}

/* Start the child instance that will create the session. */
static int start_child(struct session *s)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    char id[16], fdnum[16];
    snprintf(id, sizeof id, "%08x", s->id);
    snprintf(fdnum, sizeof fdnum, "%08x", sv[1]);
    char *argv[] = {"smss", id, fdnum, NULL};
    char **env = master_env_for(s->id, NULL, NULL);
    struct spawn_request rq = SPAWN_REQUEST_INIT;
    rq.path = M.self_exe;
    rq.argv = argv;
    rq.envp = env;
    rq.run = run_child_instance;
    rq.run_arg = argv;
    rq.inherit_fd = sv[1];
    rq.set_nice = true;
    rq.nice = platform_nice_for_priority(PRIORITY_SMSS);
    /* The session's cgroup, made here so the child is born in it (no migration). */
    if (s->cgroup[0] && (mkdir(s->cgroup, 0755) == 0 || errno == EEXIST))
        rq.cgroup_fd = open(s->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->cgroup[0] && rq.cgroup_fd < 0) {
        log_warning("session %u: no cgroup %s (%s); the session goes on without one", s->id,
                    s->cgroup, strerror(errno));
        s->cgroup[0] = '\0';
    }
    struct spawn_error err;
    pid_t pid;
    int r = env ? spawn_process(&rq, &pid, &err) : -1;
    if (!env)
        err = (struct spawn_error){"environment", ENOMEM};
    master_env_free(env);
    close(sv[1]);
    if (rq.cgroup_fd >= 0)
        close(rq.cgroup_fd);
    if (r < 0) {
        close(sv[0]);
        errno = err.errnum;
        snprintf(s->failure, sizeof s->failure, "cannot start the session child instance "
                 "(%s: %s)", err.step, strerror(err.errnum));
        return -1;
    }
    s->child_pid = pid;
    proc_add(pid, getpid(), s->id, SMAPI_ROLE_SESSION_CHILD, "smss", NULL);
    struct smapi_child_request req;
    build_request(s, &req);
    if (smapi_send(sv[0], SM_CHILD_REQUEST, 0, 0, &req, sizeof req, NULL, 0) < 0) {
        snprintf(s->failure, sizeof s->failure, "cannot talk to the session child instance: %s",
                 strerror(errno));
        close(sv[0]);
        kill(pid, SIGKILL);
        return -1;
    }
    s->child_watch = (struct watch){WATCH_CHILD, sv[0], s};
    return loop_add(&s->child_watch, EPOLLIN);
}

int session_start(uint32_t id, const char *initial_command, const char *terminal,
                  struct session **out)
{
    if (session_find(id)) {
        errno = EEXIST;
        return -1;
    }
    struct session *s = session_new(id);
    if (!s)
        return -1;
    if (initial_command && initial_command[0]) {
        str_copy(s->initial_command, sizeof s->initial_command, initial_command);
    } else {
        const char *cmd = id == 0 ? M.cfg.s0_initial_command : M.cfg.initial_command;
        expand(cmd, true, s->initial_command, sizeof s->initial_command);
    }
    str_copy(s->terminal, sizeof s->terminal, terminal ? terminal : "");
    if (M.cgroup_base[0] && snprintf(s->cgroup, sizeof s->cgroup, "%s/session-%u",
                                     M.cgroup_base, id) >= (int)sizeof s->cgroup)
        s->cgroup[0] = '\0'; /* a path too long for a cgroup: the session goes without */
    log_info("creating session %u through a child instance", id);
    if (start_child(s) < 0) {
        int e = errno;
        log_error("session %u: %s", id, s->failure);
        session_remove(s);
        errno = e;
        return -1;
    }
    *out = s;
    return 0;
}

static const char *critical_name(uint32_t role, const char *name, uint32_t session)
{
    if (role == SMAPI_ROLE_SUBSYSTEM)
        return !strcasecmp(name, "Windows") ? "Windows SubSystem" : NULL;
    return session == 0 ? "Windows Start-Up Application" : "Windows Logon Process";
}

static void child_started(struct session *s, const struct smapi_child_started *m)
{
    char name[SMAPI_NAME_MAX];
    FIELD_COPY(name, m->name);
    const char *crit = critical_name(m->role, name, s->id);
    struct proc_rec *r = proc_add(m->pid, s->child_pid, s->id, m->role, name, crit);
    if (m->role == SMAPI_ROLE_SUBSYSTEM && !strcasecmp(name, "Windows")) {
        s->csrss_pid = m->pid;
        if (r)
            snprintf(r->name, sizeof r->name, "csrss");
    } else if (m->role == SMAPI_ROLE_INITIAL) {
        s->initial_pid = m->pid;
    }
}

/* The session failed to stand: undo what the child started (ReactOS does not). */
static void session_failed(struct session *s, const char *why)
{
    log_error("session %u could not be created: %s", s->id, why);
    if (M.state == MASTER_BOOTING)
        boot_failure("Session Manager Initialization", why);
    /* The caller hears once the undo is complete (session_end.c replies with failure). */
    str_copy(s->failure, sizeof s->failure, why);
    s->end_waiter = s->waiter;
    s->end_waiter_type = SM_START_CSR;
    s->end_waiter_cookie = s->waiter_cookie;
    s->waiter = NULL;
    session_end_begin(s, "creation failed");
    sessions_start_queued();
}

static void child_report(struct session *s, const struct smapi_child_report *m)
{
    s->reported = true;
    if (m->status != SMAPI_OK) {
        char why[sizeof m->message];
        FIELD_COPY(why, m->message);
        session_failed(s, why);
        return;
    }
    s->state = SESSION_ACTIVE;
    char ns[64];
    struct stat st;
    snprintf(ns, sizeof ns, "/proc/%d/ns/ipc", (int)s->csrss_pid);
    if (s->csrss_pid > 0 && stat(ns, &st) == 0)
        s->ipc_ns_ino = st.st_ino;
    struct proc_rec *initial = proc_find(s->initial_pid);
    log_info("session %u stands: csrss PID %d, %s PID %d (created by smss PID %d)", s->id,
             (int)s->csrss_pid, initial ? initial->name : "initial process", (int)s->initial_pid,
             (int)s->child_pid);
    if (s->waiter)
        api_reply_session(s->waiter, s->waiter_cookie, s);
    s->waiter = NULL;
    sessions_start_queued();
}

/* Read what the child sent. Returns false once its socket is closed or the session is
 * gone (a failure report ends it, and ending may free it at once). */
static bool read_child(struct session *s)
{
    uint32_t id = s->id;
    for (;;) {
        char why[256];
        int r = smapi_reader_step(&s->reader, s->child_watch.fd, SMAPI_MAX_REQUEST, why,
                                  sizeof why);
        if (r == 0)
            return true;
        if (r < 0) {
            loop_del(&s->child_watch);
            close(s->child_watch.fd);
            s->child_watch.fd = -1;
            return false;
        }
        struct smapi_message m = s->reader.msg; /* ours now: s may not outlive the report */
        memset(&s->reader.msg, 0, sizeof s->reader.msg);
        long want = smapi_request_size(m.h.type);
        if (want > 0 && m.h.length == (uint32_t)want && m.h.type == SM_CHILD_STARTED) {
            child_started(s, m.body);
        } else if (want > 0 && m.h.length == (uint32_t)want && m.h.type == SM_CHILD_REPORT) {
            child_report(s, m.body);
            smapi_message_free(&m);
            return false; /* the report is the last word */
        } else {
            log_warning("session %u: unexpected message %s from its child instance", id,
                        smapi_type_name(m.h.type));
        }
        smapi_message_free(&m);
    }
}

void sessions_handle_child(struct session *s)
{
    uint32_t id = s->id;
    uint64_t generation = s->generation;
    bool open = read_child(s);
    s = session_find(id);
    if (open || !s || s->generation != generation)
        return;
    if (s->child_watch.fd >= 0) {
        loop_del(&s->child_watch);
        close(s->child_watch.fd);
        s->child_watch.fd = -1;
    }
    if (!s->reported)
        session_failed(s, "the session child instance ended without reporting");
}

int sessions_wait_started(pid_t pid, int timeout_ms)
{
    uint32_t id;
    pid_t parent = platform_process_ppid(pid);
    struct session *s = NULL;
    for (size_t i = 0; i < nsessions; i++)
        if (sessions[i]->child_pid == parent && sessions[i]->state == SESSION_CREATING &&
            sessions[i]->child_watch.fd >= 0)
            s = sessions[i];
    if (!s)
        return -1; /* not started by one of our child instances */
    id = s->id;
    for (int waited = 0; !proc_find(pid) && waited < timeout_ms; waited += 10) {
        struct pollfd p = {s->child_watch.fd, POLLIN, 0};
        if (poll(&p, 1, 10) > 0) {
            sessions_handle_child(s); /* handles its end too, as the event loop would */
            if (!session_find(id) || session_find(id) != s || s->child_watch.fd < 0)
                break;
        }
    }
    return proc_find(pid) ? 0 : -1;
}

void sessions_drain_reports(void)
{
    for (size_t i = 0; i < nsessions; i++) {
        struct session *s = sessions[i];
        if (s->child_watch.fd >= 0 && !s->reported) {
            sessions_handle_child(s);
            if (i >= nsessions || sessions[i] != s)
                i = (size_t)-1; /* the table changed: start over */
        }
    }
}

/* ---- StartCsr requests: at most `limit` sessions being created at once ------------ */

struct start_request {
    struct client *client;
    uint64_t cookie;
    uint32_t session;
    char command[SMAPI_CMD_MAX];
};
static struct start_request *queue;
static size_t nqueue, capqueue;

/* Windows Internals: parallel session creation is limited to between 4 and the number
 * of processors; here the larger of the two. */
static size_t creation_limit(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 4 ? (size_t)cpus : 4;
}

static size_t sessions_creating(void)
{
    size_t n = 0;
    for (size_t i = 0; i < nsessions; i++)
        n += sessions[i]->state == SESSION_CREATING;
    return n;
}

static void start_one(const struct start_request *rq)
{
    uint32_t id = rq->session == SMAPI_SESSION_NONE ? session_lowest_free() : rq->session;
    struct session *s;
    if (session_start(id, rq->command, NULL, &s) < 0) {
        int e = errno;
        api_reply_error(rq->client, SM_START_CSR, rq->cookie,
                        e == EEXIST ? SMAPI_E_DENIED : SMAPI_E_FAILED, e,
                        e == EEXIST ? "session %u exists" : "session %u: %s", id, strerror(e));
        return;
    }
    s->dynamic = true;
    s->waiter = rq->client;
    s->waiter_cookie = rq->cookie;
}

int session_request_start(struct client *c, uint64_t cookie, uint32_t session,
                          const char *command)
{
    if (nqueue == capqueue) {
        size_t cap = capqueue ? capqueue * 2 : 16;
        struct start_request *v = realloc(queue, cap * sizeof *v);
        if (!v)
            return -1;
        queue = v;
        capqueue = cap;
    }
    struct start_request *rq = &queue[nqueue++];
    rq->client = c;
    rq->cookie = cookie;
    rq->session = session;
    str_copy(rq->command, sizeof rq->command, command);
    sessions_start_queued();
    return 0;
}

void sessions_start_queued(void)
{
    while (nqueue && sessions_creating() < creation_limit() && M.state == MASTER_RUNNING) {
        struct start_request rq = queue[0];
        memmove(queue, queue + 1, --nqueue * sizeof *queue);
        start_one(&rq);
    }
}

void sessions_forget_client(struct client *c)
{
    for (size_t i = 0; i < nsessions; i++) {
        if (sessions[i]->waiter == c)
            sessions[i]->waiter = NULL;
        if (sessions[i]->end_waiter == c)
            sessions[i]->end_waiter = NULL;
    }
    size_t j = 0;
    for (size_t i = 0; i < nqueue; i++)
        if (queue[i].client != c)
            queue[j++] = queue[i];
    nqueue = j;
}

/* ---- LoadDeferedSubsystem ------------------------------------------------------- */

static int open_ns(pid_t pid, const char *ns)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, ns);
    return open(path, O_RDONLY | O_CLOEXEC);
}

int subsystem_start_in_session(struct session *s, const char *name, pid_t *pid, char *why,
                               size_t n)
{
    const struct sm_named *cmd = NULL;
    for (size_t j = 0; j < M.cfg.subsystems.n; j++)
        if (!strcasecmp(M.cfg.subsystems.v[j].name, name))
            cmd = &M.cfg.subsystems.v[j];
    if (!cmd || !cmd->value[0]) {
        snprintf(why, n, "SubSystems\\%s has no command", name);
        errno = ENOENT;
        return -1;
    }
    char line[SMAPI_CMD_MAX];
    expand(cmd->value, cmd->expand, line, sizeof line);
    bool debug, async, autocheck;
    char **argv = NULL;
    if (execute_parse(line, &debug, &async, &autocheck, &argv) < 0 || !argv || !argv[0]) {
        snprintf(why, n, "cannot parse SubSystems\\%s \"%s\"", name, line);
        errno = EINVAL;
        return -1;
    }
    char *path = spawn_search_path(argv[0], sysenv_get(&M.env, "PATH"));
    char **env = master_env_for(s->id, NULL, NULL);
    int ipc = open_ns(s->csrss_pid, "ipc"), mnt = open_ns(s->csrss_pid, "mnt");
    int cg = s->cgroup[0] ? open(s->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    int rc = -1;
    if (!path) {
        snprintf(why, n, "%s: not found in the environment's Path", argv[0]);
        errno = ENOENT;
    } else if (ipc < 0 || mnt < 0) {
        snprintf(why, n, "cannot enter session %u (csrss PID %d): %s", s->id,
                 (int)s->csrss_pid, strerror(errno));
    } else {
        struct spawn_request rq = SPAWN_REQUEST_INIT;
        rq.path = path;
        rq.argv = argv;
        rq.envp = env;
        rq.new_session = true;
        rq.ipc_ns_fd = ipc;
        rq.mnt_ns_fd = mnt;
        rq.cgroup_fd = cg;
        rq.set_nice = true;
        rq.nice = platform_nice_for_priority(PRIORITY_CRITICAL);
        struct spawn_error err;
        rc = spawn_process(&rq, pid, &err);
        if (rc < 0) {
            snprintf(why, n, "%s: %s failed: %s", path, err.step, strerror(err.errnum));
            errno = err.errnum;
        } else {
            proc_add(*pid, getpid(), s->id, SMAPI_ROLE_SUBSYSTEM, name, NULL);
            log_info("session %u: deferred subsystem %s started (PID %d)", s->id, name, (int)*pid);
        }
    }
    int e = errno;
    if (ipc >= 0)
        close(ipc);
    if (mnt >= 0)
        close(mnt);
    if (cg >= 0)
        close(cg);
    free(path);
    master_env_free(env);
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
    errno = e;
    return rc;
}
