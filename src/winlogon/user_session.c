/* The user's session: a new POSIX session whose controlling terminal is the session's
 * terminal, running as the user with a login environment; Userinit, else Shell, else the
 * user's login shell. */
#include "winlogon.h"
#include "cmdline.h"
#include "log.h"
#include "platform.h"
#include "process_spawn.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* A NULL-terminated "NAME=value" vector; names compare exactly, as Linux programs do. */
struct envv {
    char **v;
    size_t n;
};

static int env_set(struct envv *e, const char *name, const char *value)
{
    size_t len = strlen(name);
    char *s;
    if (asprintf(&s, "%s=%s", name, value) < 0)
        return -1;
    for (size_t i = 0; i < e->n; i++)
        if (!strncmp(e->v[i], name, len) && e->v[i][len] == '=') {
            free(e->v[i]);
            e->v[i] = s;
            return 0;
        }
    char **v = realloc(e->v, (e->n + 2) * sizeof *v);
    if (!v) {
        free(s);
        return -1;
    }
    e->v = v;
    e->v[e->n++] = s;
    e->v[e->n] = NULL;
    return 0;
}

static int env_put(struct envv *e, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return 0;
    char *name = strndup(assignment, (size_t)(eq - assignment));
    int r = name ? env_set(e, name, eq + 1) : -1;
    free(name);
    return r;
}

static void env_free(struct envv *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
}

/* The system environment winlogon received, minus what only winlogon needs, plus the
 * login variables, then the PAM environment over them. */
static int login_environment(struct winlogon *w, const struct passwd *pw, const char *shell,
                             struct envv *e)
{
    for (char **p = environ; *p; p++)
        if (strncmp(*p, "SMSS_TERMINAL=", 14) && strncmp(*p, "SMSS_PAM_CONFDIR=", 17) &&
            env_put(e, *p) < 0)
            return -1;
    char sid[16], sname[32];
    snprintf(sid, sizeof sid, "%u", w->session);
    if (w->session == 1)
        snprintf(sname, sizeof sname, "Console");
    else
        snprintf(sname, sizeof sname, "Session%u", w->session);
    const char *term = getenv("TERM");
    if (env_set(e, "HOME", pw->pw_dir) < 0 || env_set(e, "USER", pw->pw_name) < 0 ||
        env_set(e, "LOGNAME", pw->pw_name) < 0 || env_set(e, "SHELL", shell) < 0 ||
        env_set(e, "PATH", getenv("PATH") ? getenv("PATH") : DEFAULT_PATH) < 0 ||
        env_set(e, "TERM", term && *term ? term : "linux") < 0 ||
        env_set(e, "SESSIONNAME", sname) < 0 || env_set(e, "SMSS_SESSION_ID", sid) < 0)
        return -1;
    char **pam_env = pam_getenvlist(w->pamh);
    int r = 0;
    for (size_t i = 0; pam_env && pam_env[i]; i++) {
        if (r == 0 && env_put(e, pam_env[i]) < 0)
            r = -1;
        free(pam_env[i]);
    }
    free(pam_env);
    return r;
}

/* What to run: Userinit, else Shell (command lines, image searched in PATH), else the
 * login shell with argv[0] "-name". *path and *argv are malloc'd. */
static int user_command(struct winlogon *w, const struct passwd *pw, char **path, char ***argv)
{
    const char *line = w->c->userinit ? w->c->userinit : w->c->shell;
    if (line) {
        size_t argc;
        if (cmdline_split(line, argv, &argc) < 0 || argc == 0) {
            log_error("%s \"%s\" is not a command line", w->c->userinit ? "Userinit" : "Shell",
                      line);
            if (argc == 0)
                cmdline_free(*argv);
            return -1;
        }
        *path = spawn_search_path((*argv)[0], getenv("PATH") ? getenv("PATH") : DEFAULT_PATH);
        if (!*path) {
            log_error("%s: \"%s\" not found in PATH", w->c->userinit ? "Userinit" : "Shell",
                      (*argv)[0]);
            cmdline_free(*argv);
            return -1;
        }
        return 0;
    }
    const char *sh = pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh";
    const char *base = strrchr(sh, '/') ? strrchr(sh, '/') + 1 : sh;
    *argv = calloc(2, sizeof **argv);
    *path = strdup(sh);
    if (!*argv || !*path || asprintf(&(*argv)[0], "-%s", base) < 0) {
        free(*path);
        free(*argv);
        return -1;
    }
    return 0;
}

/* The terminal belongs to the user while logged on (group tty, mode 0620, as login does). */
static void give_terminal(struct winlogon *w, const struct passwd *pw)
{
    if (fstat(w->tty, &w->tty_orig) < 0)
        return;
    struct group *g = getgrnam("tty");
    if (fchown(w->tty, pw->pw_uid, g ? g->gr_gid : pw->pw_gid) < 0 ||
        fchmod(w->tty, 0620) < 0)
        log_warning("cannot give %s to %s: %s", w->terminal, pw->pw_name, strerror(errno));
    w->tty_chowned = true;
}

int user_session_start(struct winlogon *w, const struct passwd *pw)
{
    char *path = NULL, **argv = NULL;
    struct envv env = {0};
    if (user_command(w, pw, &path, &argv) < 0)
        return -1;
    const char *shell = pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh";
    int rc = login_environment(w, pw, w->c->shell && !w->c->userinit ? path : shell, &env);
    if (rc < 0)
        log_error("cannot build the login environment: %s", strerror(errno));
    give_terminal(w, pw);
    struct spawn_request r = SPAWN_REQUEST_INIT;
    r.path = path;
    r.argv = argv;
    r.envp = env.v;
    r.cwd = pw->pw_dir;
    r.set_nice = true;
    r.nice = 0; /* NT base priority 8: the user's programs */
    r.new_session = true;
    r.controlling_tty = true;
    r.fd_in = r.fd_out = r.fd_err = w->tty;
    r.user = w->user; /* not pw_name: the child's getpwnam reuses pw's buffer */
    struct spawn_error err = {0};
    pid_t pid = 0;
    if (rc == 0 && (rc = spawn_process(&r, &pid, &err)) < 0 && !strcmp(err.step, "chdir")) {
        log_warning("home directory %s of %s: %s; starting in /", pw->pw_dir, pw->pw_name,
                    strerror(err.errnum));
        term_write(w, "No home directory; logging on with HOME=/.\n");
        r.cwd = "/";
        rc = spawn_process(&r, &pid, &err);
    }
    if (rc == 0) {
        w->shell_pid = w->user_sid = pid;
        log_info("user %s logged on to session %u on %s: %s PID %d", pw->pw_name, w->session,
                 w->terminal, path, (int)pid);
    } else if (err.step) {
        log_error("cannot start %s for %s: %s: %s", path, pw->pw_name, err.step,
                  strerror(err.errnum));
    }
    env_free(&env);
    free(path);
    cmdline_free(argv);
    if (rc < 0)
        user_session_cleanup(w);
    return rc;
}

void user_session_wait(struct winlogon *w)
{
    while (w->shell_pid > 0 && !w->terminate) {
        struct pollfd p = {w->sig_fd, POLLIN, 0};
        if (poll(&p, 1, -1) <= 0)
            continue;
        if (serve_signals(w) > 0) {
            log_info("%s while %s is logged on", SAS_TEXT, w->user ? w->user : "?");
            term_write(w, "\n" SAS_TEXT "\n");
        }
    }
}

int signal_session(pid_t sid, int sig)
{
    return platform_signal_where(PLATFORM_BY_SID, sid, sig);
}

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void user_session_end(struct winlogon *w)
{
    pid_t sid = w->user_sid;
    if (sid <= 0 || w->shell_pid <= 0)
        return;
    log_info("ending the session of %s (POSIX session %d): SIGHUP, SIGTERM", w->user, (int)sid);
    signal_session(sid, SIGHUP); /* an interactive shell ignores SIGTERM */
    signal_session(sid, SIGTERM);
    kill(sid, SIGCONT);
    int64_t deadline = mono_ms() + w->c->shutdown_timeout_ms;
    while (w->shell_pid > 0 && mono_ms() < deadline) {
        struct pollfd p = {w->sig_fd, POLLIN, 0};
        if (poll(&p, 1, (int)(deadline - mono_ms())) > 0)
            serve_signals(w);
    }
    int n = signal_session(sid, SIGKILL);
    if (n)
        log_warning("%d process%s of %s's session killed (SIGKILL) after %u ms", n,
                    n == 1 ? "" : "es", w->user, w->c->shutdown_timeout_ms);
    if (w->shell_pid > 0) {
        int status;
        if (waitpid(w->shell_pid, &status, 0) == w->shell_pid)
            w->shell_status = status;
        w->shell_pid = 0;
    }
}

void user_session_cleanup(struct winlogon *w)
{
    pid_t sid = w->user_sid;
    if (sid > 0) {
        int n = signal_session(sid, SIGHUP); /* what a terminal hangup would do */
        if (n)
            log_info("%d process%s left in %s's session sent SIGHUP", n, n == 1 ? "" : "es",
                     w->user);
    }
    w->shell_pid = w->user_sid = 0;
    if (w->tty_chowned && w->tty >= 0 &&
        (fchown(w->tty, w->tty_orig.st_uid, w->tty_orig.st_gid) < 0 ||
         fchmod(w->tty, w->tty_orig.st_mode & 07777) < 0))
        log_warning("cannot give %s back: %s", w->terminal, strerror(errno));
    w->tty_chowned = false;
}
