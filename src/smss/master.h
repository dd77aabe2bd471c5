/* The master Session Manager's state and the functions its files share.
 *
 * One master per machine (or container, or sandbox). Its files, one per NT
 * responsibility: boot.c (the phase table), boot_phases.c (each phase), instance_lock.c,
 * event_loop.c (signals, reaping, the epoll loop), proctable.c (who created whom),
 * sessions.c (sessions through child instances), api_server.c (SmApiPort),
 * critical.c (system crash), shutdown.c, sandbox.c. */
#ifndef SMSS_MASTER_H
#define SMSS_MASTER_H
#include "config.h"
#include "knowndlls.h"
#include "pagefile.h"
#include "pending_apply.h"
#include "regmodel.h"
#include "smapi.h"
#include "smapi_wire.h"
#include "smss_modes.h"
#include "sysenv.h"
#include "objdirs.h"
#include "execute_list.h"
#include "kmode.h"
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* NT base priorities (Windows Internals; REFERENCES §2). */
enum { PRIORITY_SMSS = 11, PRIORITY_CRITICAL = 13, PRIORITY_NORMAL = 8 };

/* ---- epoll watches ------------------------------------------------------------ */

enum watch_kind { WATCH_SIGNALS, WATCH_LISTEN, WATCH_CLIENT, WATCH_CHILD, WATCH_SB, WATCH_TIMER };
struct watch {
    enum watch_kind kind;
    int fd;
    void *obj;
};
int loop_add(struct watch *w, uint32_t events);
void loop_del(struct watch *w);

/* ---- process records ---------------------------------------------------------- */

struct proc_rec {
    pid_t pid;
    uint64_t start_ticks;   /* with pid, names the process despite PID reuse */
    uint64_t start_ns;      /* realtime, for people */
    pid_t creator;
    uint32_t session;       /* SMAPI_SESSION_NONE when none */
    uint32_t role;          /* enum smapi_role */
    char name[SMAPI_NAME_MAX];
    char cmdline[64];       /* as it started (NUL-separated): exited creators keep theirs */
    const char *critical;   /* NT's name for the bugcheck ("Windows SubSystem"), or NULL */
    bool exited;
    int wait_status;
};
struct proc_rec *proc_add(pid_t pid, pid_t creator, uint32_t session, uint32_t role,
                          const char *name, const char *critical);
struct proc_rec *proc_find(pid_t pid);
/* Forget exited records of a session (kept while they explain a creator). */
void proc_forget_session(uint32_t session);
size_t proc_count(void);
struct proc_rec *proc_at(size_t i);

/* ---- sessions ----------------------------------------------------------------- */

enum session_state { SESSION_CREATING, SESSION_ACTIVE, SESSION_TERMINATING };
enum end_step { END_INITIAL, END_SUBSYSTEMS, END_REST, END_DONE };

struct session {
    uint32_t id;
    uint64_t generation;      /* unique per session: IDs are reused, this is not */
    enum session_state state;
    pid_t child_pid;          /* the session child instance while it runs */
    pid_t csrss_pid, initial_pid;
    struct watch child_watch; /* its report socket */
    struct smapi_reader reader;
    char cgroup[PATH_MAX];    /* "" when the session has none */
    char terminal[SMAPI_PATH_MAX];
    char initial_command[SMAPI_CMD_MAX];
    uint64_t created_ns;
    /* who waits for the session to stand (StartCsr): a client, or NULL */
    struct client *waiter;
    uint64_t waiter_cookie;
    char failure[512];
    bool reported;
    bool dynamic;             /* created by StartCsr: its initial process may end it */
    unsigned long ipc_ns_ino; /* its IPC namespace, to find its processes without cgroup */
    /* ending it (session_end.c) */
    bool end_started, end_killed;
    enum end_step end_step;
    long long end_deadline;
    struct client *end_waiter;
    uint16_t end_waiter_type;
    uint64_t end_waiter_cookie;
};

/* Create a session through a child instance. 0 with *out, or -1 with errno. The
 * session stands when its child reports (sessions_handle_child). */
int session_start(uint32_t id, const char *initial_command, const char *terminal,
                  struct session **out);
struct session *session_find(uint32_t id);
uint32_t session_lowest_free(void);
size_t session_count(void);
struct session *session_at(size_t i);
/* The child instance's socket is readable. */
void sessions_handle_child(struct session *s);
/* Read every child report already queued: called before each reaping pass, so a
 * process is known before its exit is seen. */
void sessions_drain_reports(void);
/* A process whose parent is a session child instance still creating its session: wait
 * (bounded) for the child's word on it. 0 once it is recorded. */
int sessions_wait_started(pid_t pid, int timeout_ms);
void session_remove(struct session *s);
/* session_end.c: end a session without blocking (initial process, subsystems, the rest;
 * SIGTERM then SIGKILL after the timeout); the session is removed when nothing is left,
 * and s->end_waiter (if set) gets its reply then. */
int session_end_init(void);
void session_end_begin(struct session *s, const char *why);
void advance_all(void);     /* after reaping: move every ending session on */
void session_end_timer(void);
size_t session_processes(const struct session *s, pid_t *pids, size_t max);
/* StartCsr: queue a creation; at most max(4, CPUs) sessions are created at once. The
 * client gets its reply when the session stands (or could not be made). */
int session_request_start(struct client *c, uint64_t cookie, uint32_t session,
                          const char *command);
void sessions_start_queued(void);
/* A client went away: it waits for nothing any more. */
void sessions_forget_client(struct client *c);
/* Start an Optional subsystem in an active session: the session's IPC and mount
 * namespaces and cgroup entered, recorded as the session's subsystem. */
int subsystem_start_in_session(struct session *s, const char *name, pid_t *pid, char *why,
                               size_t n);

/* ---- the API ------------------------------------------------------------------ */

struct client {
    struct watch w;
    struct smapi_reader reader;
    pid_t pid;
    uid_t uid;
    gid_t gid;
    uint64_t start_ticks;
    bool subsystem;        /* registered with SM_CONNECT_SUBSYSTEM */
    uint32_t session;      /* the caller's session, or SMAPI_SESSION_NONE */
    uint64_t session_gen;  /* ... and which one of the sessions that had that ID */
    char subsystem_name[SMAPI_NAME_MAX];
    char sb_port[SMAPI_PATH_MAX];
};
int api_listen(void);
void api_handle_listen(void);
void api_handle_client(struct client *c, uint32_t events);
void api_close_client(struct client *c);
/* Reply to a client that waited (StartCsr); the client may have gone. */
void api_reply_session(struct client *c, uint64_t cookie, const struct session *s);
/* An empty success reply (StopCsr, once the session is gone). */
void api_reply_done(struct client *c, uint16_t type, uint64_t cookie);
void api_reply_error(struct client *c, uint16_t type, uint64_t cookie, int status, int errnum,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A session is gone: its subsystems' registrations and its clients' membership end
 * with it, so nothing they still send can reach a later session of the same ID. */
void api_forget_session(const struct session *s);
/* The subsystem connection registered for a session's Windows subsystem, or NULL. */
struct client *api_subsystem_of(uint32_t session, const char *name);
/* Ask the subsystem process pid to end its session (SbTerminateSession); -1 when it is
 * not a registered subsystem or cannot be reached. */
int api_sb_terminate(pid_t pid);
/* Ask a session's subsystem to start a program (SB_CREATE_PROCESS). The connection to
 * its SbApiPort is returned in *sb (kept open to hear SB_PROCESS_EXITED when waiting). */
int api_sb_create_process(uint32_t session, const struct smapi_exec *req, const int *fds,
                          int nfds, pid_t *pid, int *sb, char *why, size_t n);

/* ---- the master --------------------------------------------------------------- */

enum master_state { MASTER_BOOTING, MASTER_RUNNING, MASTER_SHUTTING_DOWN, MASTER_CRASHED };

struct boot_timing {
    const char *phase;
    double ms;
    int result; /* 0 done, 1 skipped/partial (logged), -1 fatal */
};

struct master {
    const struct smss_options *opt;
    struct reg_store *store;
    struct smss_config cfg;
    const char *runtime_dir, *state_dir;
    char self_exe[PATH_MAX], system_root[PATH_MAX];
    bool pid1, sandbox;
    enum master_state state;
    int lock_fd, sigfd, epfd, api_fd;
    struct watch sig_watch, api_watch;
    struct sysenv env;
    struct objdirs_result objdirs;
    struct knowndlls_result knowndlls;
    struct pagefile_result paging;
    struct pending_report renames;
    struct kmode_result kmode;
    struct boot_timing timings[16];
    size_t ntimings;
    char cgroup_base[PATH_MAX];   /* "" when sessions get no cgroup */
    uint32_t shutdown_action;
    int exit_code;
    /* The sandbox's command: its SbApiPort connection while it runs. */
    struct watch sandbox_watch;
    pid_t sandbox_pid;
    bool sandbox_done;
    int sandbox_status;
};
extern struct master M;

/* event_loop.c */
int loop_init(void);
int loop_run(void);          /* until shutdown; returns the exit status */
int loop_once(int timeout_ms); /* handle one batch of events */
void loop_reap(void);

/* critical.c: STATUS_SYSTEM_PROCESS_TERMINATED. Never returns. */
_Noreturn void system_crash(const char *process_name, pid_t pid, int wait_status,
                            const char *reason);
/* A fatal boot failure, named by its phase ("Session Manager Initialization"). */
_Noreturn void boot_failure(const char *phase, const char *reason);

/* shutdown.c: orderly shutdown, sessions from the highest ID down. */
void shutdown_begin(uint32_t action, const char *why);
int shutdown_finish(void); /* returns the exit status */
/* Every remaining descendant: SIGTERM, wait up to timeout_ms, SIGKILL, reaped. */
void terminate_descendants(unsigned timeout_ms);

/* Undo what the master made outside its runtime files before it exits (the KnownDlls
 * read-only mount, the sessions' cgroup), so a master that is not PID 1 leaves the
 * machine as it found it. */
void master_cleanup(void);

/* instance_lock.c */
int instance_lock(const char *runtime_dir);

/* boot.c */
int master_boot(const struct smss_options *o, bool sandbox);
/* The environment every process smss starts gets, plus per-process additions. */
char **master_env_for(uint32_t session, const char *extra1, const char *extra2);
void master_env_free(char **env);

/* sandbox.c: the command to run once boot is complete. */
void sandbox_boot_complete(void);
void sandbox_handle_sb(uint32_t events);

#endif
