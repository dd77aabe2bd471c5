/* SmApiPort: the master's API socket, served from the event loop without blocking it.
 * Callers are identified by the kernel (SO_PEERCRED); privileged messages are for root
 * (or Linux\ApiGroup); a process registers as a subsystem only if the master recorded it
 * as one (PID and start time). Every refusal is an error reply with a reason. */
#include "master.h"
#include "log.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_CLIENTS = 4096, SB_TIMEOUT_MS = 5000 };
static size_t nclients;
static struct client *clients[MAX_CLIENTS]; /* every connected client */

/* Whether a client is one of this session's own processes (the same session, not merely
 * one that had the same ID before). */
static bool in_session(const struct client *c, const struct session *s)
{
    return s && c->session == s->id && c->session_gen == s->generation;
}

int api_listen(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/SmApiPort", M.runtime_dir);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(a.sun_path, path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* Anyone may connect; what they may do is decided per message from SO_PEERCRED. */
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || chmod(path, 0666) < 0 ||
        listen(fd, 256) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    M.api_fd = fd;
    M.api_watch = (struct watch){WATCH_LISTEN, fd, NULL};
    return loop_add(&M.api_watch, EPOLLIN);
}

/* The session a process belongs to: its own record's, or its nearest recorded ancestor's. */
static uint32_t session_of(pid_t pid, uint32_t *role_of_ancestor, const char **ancestor_name)
{
    for (int depth = 0; pid > 1 && depth < 64; depth++) {
        struct proc_rec *r = proc_find(pid);
        if (r && r->start_ticks == platform_process_start_ticks(pid)) {
            if (role_of_ancestor)
                *role_of_ancestor = r->role;
            if (ancestor_name)
                *ancestor_name = r->name;
            return r->session;
        }
        pid = platform_process_ppid(pid);
    }
    return SMAPI_SESSION_NONE;
}

void api_handle_listen(void)
{
    for (;;) {
        int fd = accept4(M.api_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct client *c = calloc(1, sizeof *c);
        if (!c || nclients >= MAX_CLIENTS) {
            if (c)
                smapi_send_error(fd, 0, 0, SMAPI_E_BUSY, 0, "too many clients (%d); try again",
                                 MAX_CLIENTS);
            free(c);
            close(fd);
            continue;
        }
        c->w = (struct watch){WATCH_CLIENT, fd, c};
        smapi_reader_init(&c->reader);
        if (platform_peer_cred(fd, &c->pid, &c->uid, &c->gid) < 0 || loop_add(&c->w, EPOLLIN) < 0) {
            smapi_reader_free(&c->reader);
            free(c);
            close(fd);
            continue;
        }
        c->start_ticks = platform_process_start_ticks(c->pid);
        c->session = session_of(c->pid, NULL, NULL);
        struct session *s = c->session != SMAPI_SESSION_NONE ? session_find(c->session) : NULL;
        c->session_gen = s ? s->generation : 0;
        clients[nclients++] = c;
    }
}

void api_close_client(struct client *c)
{
    sessions_forget_client(c);
    for (size_t i = 0; i < nclients; i++)
        if (clients[i] == c) {
            clients[i] = clients[nclients - 1];
            break;
        }
    loop_del(&c->w);
    close(c->w.fd);
    smapi_reader_free(&c->reader);
    free(c);
    nclients--;
}


static int reply(struct client *c, uint16_t type, uint64_t cookie, const void *body, size_t len)
{
    return smapi_send(c->w.fd, type, SMAPI_OK, cookie, body, len, NULL, 0);
}

void api_reply_error(struct client *c, uint16_t type, uint64_t cookie, int status, int errnum,
                     const char *fmt, ...)
{
    struct smapi_error e = {errnum, ""};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    if (status == SMAPI_E_DENIED)
        log_warning("refused %s from PID %d (uid %u): %s", smapi_type_name(type), (int)c->pid,
                    (unsigned)c->uid, e.message);
    smapi_send(c->w.fd, type, status, cookie, &e, sizeof e, NULL, 0);
}

void api_reply_done(struct client *c, uint16_t type, uint64_t cookie)
{
    reply(c, type, cookie, NULL, 0);
}

void api_reply_session(struct client *c, uint64_t cookie, const struct session *s)
{
    struct smapi_session_info info = {s->id, s->csrss_pid, s->initial_pid};
    reply(c, SM_START_CSR, cookie, &info, sizeof info);
}

/* Root, or a member of Linux\ApiGroup. */
static bool privileged(const struct client *c)
{
    if (c->uid == 0)
        return true;
    if (!M.cfg.api_group)
        return false;
    struct group *g = getgrnam(M.cfg.api_group);
    if (!g)
        return false;
    if (c->gid == g->gr_gid)
        return true;
    char path[64], line[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)c->pid);
    FILE *f = fopen(path, "re");
    bool member = false;
    while (f && !member && fgets(line, sizeof line, f)) {
        if (strncmp(line, "Groups:", 7))
            continue;
        for (char *p = line + 7, *end; *p; p = end) {
            long gid = strtol(p, &end, 10);
            if (end == p)
                break;
            member |= (gid_t)gid == g->gr_gid;
        }
    }
    if (f)
        fclose(f);
    return member;
}

/* The registered subsystem connections. */
static struct client *api_registered[SMAPI_MAX_SUBSYSTEMS * 1024];
static size_t api_nregistered;

struct client *api_subsystem_of(uint32_t session, const char *name)
{
    for (size_t i = 0; i < api_nregistered; i++) {
        struct client *c = api_registered[i];
        if (c && in_session(c, session_find(session)) && !strcasecmp(c->subsystem_name, name))
            return c;
    }
    return NULL;
}

static void unregister(struct client *c)
{
    for (size_t i = 0; i < api_nregistered; i++)
        if (api_registered[i] == c)
            api_registered[i] = api_registered[--api_nregistered];
}

void api_forget_session(const struct session *s)
{
    for (size_t i = 0; i < nclients; i++) {
        struct client *c = clients[i];
        if (!in_session(c, s))
            continue;
        if (c->subsystem)
            unregister(c);
        c->subsystem = false;
        c->session = SMAPI_SESSION_NONE;
        c->session_gen = 0;
    }
}

/* ---- messages ------------------------------------------------------------------ */

static void connect_subsystem(struct client *c, const struct smapi_message *m)
{
    const struct smapi_connect_subsystem *rq = m->body;
    char name[SMAPI_NAME_MAX];
    FIELD_COPY(name, rq->name);
    /* The child instance reports whom it started right after starting it; csrss can be
     * quicker to connect than that report is to arrive. */
    sessions_drain_reports();
    if (!proc_find(c->pid))
        sessions_wait_started(c->pid, 2000);
    struct proc_rec *r = proc_find(c->pid);
    if (!r || r->role != SMAPI_ROLE_SUBSYSTEM || r->start_ticks != c->start_ticks ||
        r->session != rq->session) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_DENIED, 0,
                        "PID %d was not started by smss as a subsystem of session %u; only "
                        "such a process may register as one",
                        (int)c->pid, rq->session);
        return;
    }
    if (api_subsystem_of(rq->session, name) ||
        api_nregistered == sizeof api_registered / sizeof *api_registered) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_DENIED, 0,
                        "session %u already has a %s subsystem", rq->session, name);
        return;
    }
    c->subsystem = true;
    c->session = rq->session;
    c->session_gen = r && session_find(rq->session) ? session_find(rq->session)->generation : 0;
    str_copy(c->subsystem_name, sizeof c->subsystem_name, name);
    FIELD_COPY(c->sb_port, rq->sb_port);
    api_registered[api_nregistered++] = c;
    log_info("session %u: subsystem %s registered (PID %d, SbApiPort %s)", rq->session, name,
             (int)c->pid, c->sb_port);
    reply(c, m->h.type, m->h.cookie, NULL, 0);
}

static uint32_t inferred_role(pid_t pid, struct proc_rec *r)
{
    if (r)
        return r->role;
    uint32_t role = SMAPI_ROLE_OTHER;
    const char *name = NULL;
    if (session_of(platform_process_ppid(pid), &role, &name) == SMAPI_SESSION_NONE)
        return SMAPI_ROLE_OTHER;
    if (role == SMAPI_ROLE_INITIAL && name && !strcmp(name, "wininit"))
        return SMAPI_ROLE_SERVICE;
    if (role == SMAPI_ROLE_INITIAL || role == SMAPI_ROLE_SUBSYSTEM || role == SMAPI_ROLE_USER)
        return SMAPI_ROLE_USER;
    return role == SMAPI_ROLE_SERVICE ? SMAPI_ROLE_SERVICE : SMAPI_ROLE_OTHER;
}

static void fill_record(struct smapi_process *p, pid_t pid)
{
    memset(p, 0, sizeof *p);
    struct proc_rec *r = proc_find(pid);
    if (r && r->start_ticks != platform_process_start_ticks(pid))
        r = NULL; /* the PID was reused */
    p->pid = pid;
    p->ppid = pid == getpid() ? getppid() : platform_process_ppid(pid);
    if (M.pid1 && pid == getpid())
        p->ppid = 0;
    p->creator_pid = r ? r->creator : p->ppid;
    p->session = pid == getpid() ? SMAPI_SESSION_NONE : session_of(pid, NULL, NULL);
    p->uid = (uint32_t)platform_process_uid(pid);
    p->nice = platform_process_nice(pid);
    p->role = pid == getpid() ? SMAPI_ROLE_MASTER : inferred_role(pid, r);
    p->start_time_ns = platform_ticks_to_realtime_ns(platform_process_start_ticks(pid));
    platform_process_image(pid, p->image, sizeof p->image);
    platform_process_cmdline(pid, p->cmdline, sizeof p->cmdline);
    const char *base = strrchr(p->image, '/');
    str_copy(p->name, sizeof p->name, base ? base + 1 : p->image);
    if (r && r->role != SMAPI_ROLE_INITIAL && r->role != SMAPI_ROLE_SUBSYSTEM)
        str_copy(p->name, sizeof p->name, r->name);
}

static void tree(struct client *c, const struct smapi_message *m)
{
    enum { MAX = 8192 };
    static pid_t pids[MAX];
    size_t n = platform_descendants(getpid(), pids, MAX - 1);
    size_t exited = 0;
    for (size_t i = 0; i < proc_count(); i++)
        exited += proc_at(i)->exited && proc_at(i)->role == SMAPI_ROLE_SESSION_CHILD;
    size_t total = n + 1 + exited;
    struct smapi_process *recs = calloc(total, sizeof *recs);
    if (!recs) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_FAILED, ENOMEM, "out of memory");
        return;
    }
    size_t k = 0;
    fill_record(&recs[k++], getpid());
    for (size_t i = 0; i < n; i++)
        fill_record(&recs[k++], pids[i]);
    /* Exited creators stay in the tree: csrss, wininit and winlogon name them. */
    for (size_t i = 0; i < proc_count(); i++) {
        struct proc_rec *r = proc_at(i);
        if (!r->exited || r->role != SMAPI_ROLE_SESSION_CHILD)
            continue;
        struct smapi_process *p = &recs[k++];
        p->pid = r->pid;
        p->ppid = getpid();
        p->creator_pid = r->creator;
        p->session = r->session;
        p->role = r->role;
        p->exited = 1;
        p->nice = platform_nice_for_priority(PRIORITY_SMSS);
        p->start_time_ns = r->start_ns;
        snprintf(p->name, sizeof p->name, "smss");
        str_copy(p->image, sizeof p->image, M.self_exe);
        memcpy(p->cmdline, r->cmdline, sizeof r->cmdline);
    }
    size_t bytes = k * sizeof *recs;
    if (bytes > SMAPI_MAX_REPLY)
        bytes = SMAPI_MAX_REPLY / sizeof *recs * sizeof *recs;
    reply(c, m->h.type, m->h.cookie, recs, bytes);
    free(recs);
}

static void session_list(struct client *c, const struct smapi_message *m)
{
    size_t n = session_count();
    struct smapi_session *v = calloc(n ? n : 1, sizeof *v);
    if (!v) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_FAILED, ENOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct session *s = session_at(i);
        v[i] = (struct smapi_session){s->id, (uint32_t)s->state, s->csrss_pid, s->initial_pid,
                                      s->child_pid, 0, s->created_ns};
        for (size_t j = 0; j < proc_count(); j++)
            v[i].processes += proc_at(j)->session == s->id && !proc_at(j)->exited;
    }
    reply(c, m->h.type, m->h.cookie, v, n * sizeof *v);
    free(v);
}

static void shutdown_request(struct client *c, const struct smapi_message *m)
{
    const struct smapi_shutdown *rq = m->body;
    if (!privileged(c)) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_DENIED, EPERM,
                        "shutting the system down is for root%s%s",
                        M.cfg.api_group ? " or members of " : "",
                        M.cfg.api_group ? M.cfg.api_group : "");
        return;
    }
    reply(c, m->h.type, m->h.cookie, NULL, 0);
    char who[64];
    snprintf(who, sizeof who, "PID %d", (int)c->pid);
    shutdown_begin(rq->action, who);
}

static void start_csr(struct client *c, const struct smapi_message *m)
{
    const struct smapi_start_csr *rq = m->body;
    if (!privileged(c)) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_DENIED, EPERM,
                        "creating sessions is for root%s%s", M.cfg.api_group ? " or members of " : "",
                        M.cfg.api_group ? M.cfg.api_group : "");
        return;
    }
    if (M.state != MASTER_RUNNING) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_BUSY, 0, "the system is %s",
                        M.state == MASTER_BOOTING ? "still booting" : "shutting down");
        return;
    }
    if (rq->session != SMAPI_SESSION_NONE && session_find(rq->session)) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_DENIED, EEXIST, "session %u exists",
                        rq->session);
        return;
    }
    char cmd[SMAPI_CMD_MAX];
    FIELD_COPY(cmd, rq->command);
    if (session_request_start(c, m->h.cookie, rq->session, cmd) < 0)
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_FAILED, ENOMEM, "out of memory");
}

/* StopCsr and TerminateForeignSession: end a session; the reply comes once nothing of it
 * is left (at once when the caller is one of the session's own processes, which the
 * ending will stop). */
static void end_session_request(struct client *c, const struct smapi_message *m,
                                bool allowed)
{
    const struct smapi_session_ref *rq = m->body;
    struct session *s = session_find(rq->session);
    if (!allowed) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_DENIED, EPERM,
                        "ending session %u is for root or the session's own processes",
                        rq->session);
        return;
    }
    if (!s) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_NOT_FOUND, 0, "no session %u",
                        rq->session);
        return;
    }
    if (s->id == 0) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_DENIED, 0,
                        "session 0 is the services' session; it ends with the system "
                        "(smssctl shutdown)");
        return;
    }
    if (s->state == SESSION_CREATING) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_BUSY, 0,
                        "session %u is still being created; try again", s->id);
        return;
    }
    char why[64];
    snprintf(why, sizeof why, "%s from PID %d", smapi_type_name(m->h.type), (int)c->pid);
    if (in_session(c, s)) {
        reply(c, m->h.type, m->h.cookie, NULL, 0);
    } else if (!s->end_waiter) {
        s->end_waiter = c;
        s->end_waiter_type = m->h.type;
        s->end_waiter_cookie = m->h.cookie;
    } else {
        reply(c, m->h.type, m->h.cookie, NULL, 0); /* already being ended for someone else */
    }
    session_end_begin(s, why);
}

static void stop_csr(struct client *c, const struct smapi_message *m)
{
    const struct smapi_session_ref *rq = m->body;
    end_session_request(c, m, privileged(c) || in_session(c, session_find(rq->session)));
}

/* A registered subsystem (or root) ends a session it serves. */
static void terminate_foreign_session(struct client *c, const struct smapi_message *m)
{
    const struct smapi_session_ref *rq = m->body;
    end_session_request(c, m,
                        privileged(c) || (c->subsystem && in_session(c, session_find(rq->session))));
}

/* A subsystem reports that its session's last process is gone: the session is over. */
static void session_complete(struct client *c, const struct smapi_message *m)
{
    const struct smapi_session_ref *rq = m->body;
    struct session *s = session_find(rq->session);
    if (!c->subsystem || !in_session(c, s)) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_DENIED, EPERM,
                        "SessionComplete comes from a subsystem registered for session %u",
                        rq->session);
        return;
    }
    if (!s) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_NOT_FOUND, 0, "no session %u",
                        rq->session);
        return;
    }
    reply(c, m->h.type, m->h.cookie, NULL, 0);
    log_info("session %u: %s reports the session complete (status %d)", s->id,
             c->subsystem_name, rq->exit_status);
    if (s->dynamic)
        session_end_begin(s, "SessionComplete");
}

/* LoadDeferedSubsystem: an Optional subsystem, by name (no case), in the caller's
 * session, entering that session's namespaces and cgroup. */
static void load_defered_subsystem(struct client *c, const struct smapi_message *m)
{
    const struct smapi_load_subsystem *rq = m->body;
    char name[SMAPI_NAME_MAX];
    FIELD_COPY(name, rq->name);
    uint32_t session = c->session;
    struct session *s = session != SMAPI_SESSION_NONE ? session_find(session) : NULL;
    if (!in_session(c, s) || s->state != SESSION_ACTIVE) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_DENIED, 0,
                        "LoadDeferedSubsystem loads into the caller's session; PID %d is in "
                        "no active session", (int)c->pid);
        return;
    }
    if (strlist_find_nocase(&M.cfg.subsystems_optional, name) < 0) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_NOT_FOUND, 0,
                        "\"%s\" is not among SubSystems\\Optional", name);
        return;
    }
    for (size_t i = 0; i < proc_count(); i++) {
        struct proc_rec *r = proc_at(i);
        if (!r->exited && r->session == session && r->role == SMAPI_ROLE_SUBSYSTEM &&
            !strcasecmp(r->name, name)) {
            api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_DENIED, EEXIST,
                            "subsystem %s already runs in session %u (PID %d)", name, session,
                            (int)r->pid);
            return;
        }
    }
    pid_t pid;
    char why[512];
    if (subsystem_start_in_session(s, name, &pid, why, sizeof why) < 0) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_FAILED, errno, "%s", why);
        return;
    }
    struct smapi_process_started st = {pid, session};
    reply(c, m->h.type, m->h.cookie, &st, sizeof st);
}

static void exec_pgm(struct client *c, const struct smapi_message *m)
{
    const struct smapi_exec *rq = m->body;
    if (!privileged(c) && !in_session(c, session_find(rq->session))) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_DENIED, EPERM,
                        "starting a program in session %u is for root or that session's own "
                        "processes", rq->session);
        return;
    }
    struct smapi_exec copy = *rq;
    copy.flags &= ~(uint32_t)SMAPI_EXEC_WAIT; /* the master does not hold callers' waits */
    if (!privileged(c)) {
        /* A session's own process starts programs as itself, never as anyone else. */
        struct passwd *pw = getpwuid(c->uid);
        char asked[SMAPI_NAME_MAX];
        FIELD_COPY(asked, rq->user);
        if (!pw || (asked[0] && strcmp(asked, pw->pw_name))) {
            api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_DENIED, EPERM,
                            pw ? "starting a program as another user is for root"
                               : "uid %u has no user name to run the program as",
                            (unsigned)c->uid);
            return;
        }
        str_copy(copy.user, sizeof copy.user, pw->pw_name);
    }
    pid_t pid;
    int sb = -1;
    char why[512];
    if (api_sb_create_process(rq->session, &copy, m->fds, m->nfds, &pid, &sb, why, sizeof why) < 0) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_FAILED, errno, "%s", why);
        return;
    }
    close(sb);
    struct smapi_process_started st = {pid, rq->session};
    reply(c, m->h.type, m->h.cookie, &st, sizeof st);
}

static json_t *boot_json(void)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < M.ntimings; i++)
        json_array_append_new(a, json_pack("{s:s, s:f, s:s}", "phase", M.timings[i].phase, "ms",
                                           M.timings[i].ms, "result",
                                           M.timings[i].result == 0   ? "done"
                                           : M.timings[i].result > 0 ? "skipped"
                                                                     : "failed"));
    return a;
}

static json_t *sessions_json(void)
{
    static const char *const states[] = {"creating", "active", "terminating"};
    json_t *a = json_array();
    for (size_t i = 0; a && i < session_count(); i++) {
        const struct session *s = session_at(i);
        json_t *subs = json_array();
        for (size_t j = 0; j < api_nregistered; j++)
            if (api_registered[j]->session == s->id)
                json_array_append_new(subs, json_pack("{s:s, s:i, s:s}", "name",
                                                      api_registered[j]->subsystem_name, "pid",
                                                      (int)api_registered[j]->pid, "sb_port",
                                                      api_registered[j]->sb_port));
        json_array_append_new(a, json_pack("{s:i, s:s, s:i, s:i, s:i, s:s, s:o}", "session",
                                           (int)s->id, "state", states[s->state], "csrss_pid",
                                           (int)s->csrss_pid, "initial_pid", (int)s->initial_pid,
                                           "child_pid", (int)s->child_pid, "cgroup", s->cgroup,
                                           "subsystems", subs ? subs : json_null()));
    }
    return a;
}

/* The KnownDLLs checksums, once, computed by a short-lived child: hashing pulls in
 * libcrypto and megabytes of library data the master should not carry for the rest of
 * its life. The child reads the read-only snapshot, the bytes processes load. */
static void known_dll_checksums(void)
{
    bool missing = false;
    for (size_t i = 0; i < M.knowndlls.n; i++)
        missing |= !M.knowndlls.v[i].sha256[0];
    int p[2];
    if (!missing || pipe2(p, O_CLOEXEC) < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        knowndlls_checksums(&M.knowndlls);
        for (size_t i = 0; i < M.knowndlls.n; i++)
            if (write(p[1], M.knowndlls.v[i].sha256, sizeof M.knowndlls.v[i].sha256) < 0)
                _exit(1);
        _exit(0);
    }
    close(p[1]);
    for (size_t i = 0; pid > 0 && i < M.knowndlls.n; i++) {
        char hex[sizeof M.knowndlls.v[i].sha256];
        if (read(p[0], hex, sizeof hex) != (ssize_t)sizeof hex)
            break;
        hex[sizeof hex - 1] = '\0';
        memcpy(M.knowndlls.v[i].sha256, hex, sizeof hex);
    }
    close(p[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

static void query(struct client *c, const struct smapi_message *m)
{
    known_dll_checksums();
    json_t *j = json_pack("{s:{s:i, s:b, s:s, s:s, s:s}, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                          "master", "pid", (int)getpid(), "pid1", M.pid1, "runtime_dir",
                          M.runtime_dir, "state_dir", M.state_dir, "system_root", M.system_root,
                          "boot", boot_json(), "sessions", sessions_json(), "known_dlls",
                          knowndlls_to_json(&M.knowndlls), "paging_files",
                          pagefile_to_json(&M.paging), "environment", sysenv_to_json(&M.env),
                          "object_directories", objdirs_to_json(&M.objdirs), "kmode",
                          kmode_to_json(&M.kmode));
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (text)
        reply(c, m->h.type, m->h.cookie, text, strlen(text));
    else
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_FAILED, ENOMEM, "out of memory");
    free(text);
    json_decref(j);
}

static void dispatch(struct client *c, struct smapi_message *m)
{
    char why[256];
    if (smapi_validate_request(m, why, sizeof why) != SMAPI_OK) {
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_PROTOCOL, 0, "%s", why);
        return;
    }
    switch (m->h.type) {
    case SM_CONNECT_SUBSYSTEM: connect_subsystem(c, m); break;
    case SM_TREE: tree(c, m); break;
    case SM_SESSION_LIST: session_list(c, m); break;
    case SM_QUERY: query(c, m); break;
    case SM_SHUTDOWN: shutdown_request(c, m); break;
    case SM_START_CSR: start_csr(c, m); break;
    case SM_STOP_CSR: stop_csr(c, m); break;
    case SM_EXEC_PGM: exec_pgm(c, m); break;
    case SM_LOAD_DEFERED_SUBSYSTEM: load_defered_subsystem(c, m); break;
    case SM_TERMINATE_FOREIGN_SESSION: terminate_foreign_session(c, m); break;
    case SM_SESSION_COMPLETE: session_complete(c, m); break;
    default:
        api_reply_error(c, m->h.type, m->h.cookie, SMAPI_E_UNSUPPORTED, 0,
                        "%s is not served by the master", smapi_type_name(m->h.type));
    }
}

void api_handle_client(struct client *c, uint32_t events)
{
    for (;;) {
        char why[256];
        int r = smapi_reader_step(&c->reader, c->w.fd, SMAPI_MAX_REQUEST, why, sizeof why);
        if (r == 0)
            break;
        if (r < 0) {
            if (errno == EPROTO)
                api_reply_error(c, 0, 0, SMAPI_E_PROTOCOL, 0, "%s", why);
            if (c->subsystem) {
                log_info("session %u: subsystem %s (PID %d) disconnected", c->session,
                         c->subsystem_name, (int)c->pid);
                unregister(c);
            }
            api_close_client(c);
            return;
        }
        dispatch(c, &c->reader.msg);
        smapi_message_free(&c->reader.msg);
        if (M.state != MASTER_RUNNING && M.state != MASTER_BOOTING)
            break;
    }
    (void)events;
}

int api_sb_terminate(pid_t pid)
{
    for (size_t i = 0; i < api_nregistered; i++) {
        struct client *c = api_registered[i];
        if (c->pid != pid)
            continue;
        struct smapi_session_ref ref = {c->session, 0};
        int fd = smapi_connect(c->sb_port, 1000);
        int r = fd < 0 ? -1 : smapi_send(fd, SB_TERMINATE_SESSION, 0, 0, &ref, sizeof ref, NULL, 0);
        if (fd >= 0)
            close(fd); /* its answer is not awaited: the reaping says when it has gone */
        return r;
    }
    errno = ENOENT;
    return -1;
}

int api_sb_create_process(uint32_t session, const struct smapi_exec *req, const int *fds,
                          int nfds, pid_t *pid, int *sb, char *why, size_t n)
{
    struct client *sub = api_subsystem_of(session, "Windows");
    if (!sub) {
        snprintf(why, n, "session %u has no Windows subsystem", session);
        errno = ENOENT;
        return -1;
    }
    int fd = smapi_connect(sub->sb_port, SB_TIMEOUT_MS);
    if (fd < 0) {
        snprintf(why, n, "cannot reach csrss of session %u at %s: %s", session, sub->sb_port,
                 strerror(errno));
        return -1;
    }
    struct smapi_message rep;
    if (smapi_call(fd, SB_CREATE_PROCESS, req, sizeof *req, fds, nfds, &rep, SB_TIMEOUT_MS) < 0) {
        snprintf(why, n, "csrss of session %u did not answer: %s", session, strerror(errno));
        close(fd);
        return -1;
    }
    int rc = 0;
    if (rep.h.status != SMAPI_OK || rep.h.length != sizeof(struct smapi_process_started)) {
        const struct smapi_error *e = rep.body;
        snprintf(why, n, "%s", rep.h.length == sizeof *e ? e->message : "bad reply from csrss");
        errno = rep.h.length == sizeof *e && e->errnum ? e->errnum : EIO;
        rc = -1;
        close(fd);
    } else {
        *pid = ((const struct smapi_process_started *)rep.body)->pid;
        *sb = fd;
    }
    smapi_message_free(&rep);
    return rc;
}
