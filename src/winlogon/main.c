/* winlogon: the logon process of a user session (see winlogon(8)). */
#include "winlogon.h"
#include "config.h"
#include "diag.h"
#include "log.h"
#include "platform.h"
#include "regmodel.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fputs("Usage: winlogon [--config FILE.reg]\n"
          "The logon process of a user session: authenticates on the session's terminal\n"
          "through PAM (or logs DefaultUserName on when AutoAdminLogon is set), runs the\n"
          "user's session, and on logoff returns to the prompt (session 1) or ends the\n"
          "session (sessions 2 and up). Started by smss; the environment says where:\n"
          "  SMSS_SESSION_ID   the session (decimal; required)\n"
          "  SMSS_TERMINAL     the terminal device; empty or unset: no terminal, wait for signals\n"
          "  SMSS_RUNTIME_DIR  holds config.reg and the SmApiPort socket\n"
          "  SMSS_PAM_CONFDIR  a PAM configuration directory instead of the system's\n"
          "Signals: SIGUSR1 secure attention (redraw the prompt, or notify the user);\n"
          "SIGTERM ends the user's session and winlogon.\n"
          "  --config FILE.reg  read this configuration instead of $SMSS_RUNTIME_DIR/config.reg\n"
          "  --help             this text\n"
          "Exit status: 0 when ended by SIGTERM or after the session's end, 2 usage or\n"
          "configuration error.\n",
          f);
}

/* SIGCHLD, SIGTERM, SIGUSR1, SIGHUP and SIGINT arrive through a signalfd, nowhere else. */
static int open_signalfd(void)
{
    static const int signals[] = {SIGCHLD, SIGTERM, SIGUSR1, SIGHUP, SIGINT};
    return platform_signalfd(signals, sizeof signals / sizeof *signals);
}

int serve_signals(struct winlogon *w)
{
    struct signalfd_siginfo si;
    int sas = 0;
    while (read(w->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM) {
            log_info("SIGTERM from PID %u: ending", si.ssi_pid);
            w->terminate = true;
        } else if (si.ssi_signo == SIGUSR1) {
            sas++;
        } else if (si.ssi_signo != SIGCHLD) {
            log_info("signal %u (%s) from PID %u ignored", si.ssi_signo,
                     strsignal((int)si.ssi_signo), si.ssi_pid);
        }
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        if (pid == w->shell_pid) {
            w->shell_status = status;
            w->shell_pid = 0;
        }
    return sas;
}

/* Without a terminal (a session created for a program): only signals matter. */
static void run_without_terminal(struct winlogon *w)
{
    log_info("session %u has no terminal: waiting for signals", w->session);
    while (!w->terminate) {
        struct pollfd p = {w->sig_fd, POLLIN, 0};
        if (poll(&p, 1, -1) > 0 && serve_signals(w) > 0)
            log_info("%s (no terminal, no user)", SAS_TEXT);
    }
}

/* The user's session until logoff (or SIGTERM), then the logoff itself. */
static void run_user_session(struct winlogon *w)
{
    user_session_wait(w);
    if (w->terminate)
        user_session_end(w);
    int st = w->shell_status;
    log_info("user %s logged off from session %u (%s %d)", w->user, w->session,
             WIFSIGNALED(st) ? "its program was killed by signal" : "its program exited with",
             WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    user_session_cleanup(w);
    logon_close(w);
}

/* After an automatic logon ends: a key press first, so a shell that exits at once
 * cannot make winlogon spin. */
static bool press_enter(struct winlogon *w)
{
    char *line = NULL;
    int r = term_read_line(w, "Press Enter to log on again.\n", true, &line);
    free(line);
    return r == READ_LINE;
}

static void run_with_terminal(struct winlogon *w)
{
    const char *auto_user = w->c->default_user_name;
    bool auto_conf = w->c->auto_admin_logon && auto_user && *auto_user;
    if (w->c->auto_admin_logon && !auto_conf)
        log_warning("AutoAdminLogon is set but DefaultUserName is empty: asking for a logon");
    bool automatic = auto_conf, need_enter = false;
    while (!w->terminate) {
        if (w->tty_eof) { /* hung up, or end of file: reopen after a pause */
            term_close(w);
            w->tty_eof = false;
            wait_serving_signals(w, 1000);
            continue;
        }
        if (term_open(w) < 0) {
            wait_serving_signals(w, 1000);
            continue;
        }
        if (need_enter && !press_enter(w))
            continue;
        need_enter = false;
        enum logon_result r = automatic ? logon_automatic(w, auto_user) : logon_interactive(w);
        if (r == LOGON_RETRY && automatic) {
            log_warning("automatic logon of \"%s\" failed: asking for a logon", auto_user);
            automatic = false;
        }
        if (r != LOGON_OK)
            continue;
        run_user_session(w);
        if (w->terminate || (w->session >= 2 && request_session_end(w) == 0))
            break;
        automatic = need_enter = auto_conf;
        term_close(w);
    }
    term_close(w);
}

static int parse_session(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = s && *s ? strtoul(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v >= 0xFFFFFFFFul)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else {
            fprintf(stderr, "winlogon: unknown argument \"%s\"\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    log_init("winlogon", LOG_LEVEL_INFO);
    struct winlogon w = {.sig_fd = -1, .tty = -1};
    w.runtime_dir = getenv("SMSS_RUNTIME_DIR");
    const char *term = getenv("SMSS_TERMINAL"), *confdir = getenv("SMSS_PAM_CONFDIR");
    w.terminal = term && *term ? term : NULL;
    w.pam_confdir = confdir && *confdir ? confdir : NULL;
    if (parse_session(getenv("SMSS_SESSION_ID"), &w.session) < 0) {
        log_error("SMSS_SESSION_ID \"%s\" is not a session number: winlogon is started by "
                  "smss with it set", getenv("SMSS_SESSION_ID") ? getenv("SMSS_SESSION_ID") : "");
        return 2;
    }
    char path_buf[4096];
    if (!config_path) {
        if (!w.runtime_dir || !*w.runtime_dir) {
            log_error("SMSS_RUNTIME_DIR is not set: winlogon is started by smss (or give "
                      "--config FILE.reg)");
            return 2;
        }
        snprintf(path_buf, sizeof path_buf, "%s/config.reg", w.runtime_dir);
        config_path = path_buf;
    }
    struct smss_config c;
    if (smss_config_load_effective(config_path, &c) < 0)
        return 2;
    w.c = &c;
    if ((w.sig_fd = open_signalfd()) < 0) {
        log_error("signalfd: %s", strerror(errno));
        smss_config_free(&c);
        return 2;
    }
    log_info("session %u, terminal %s, PAM service \"%s\"%s%s", w.session,
             w.terminal ? w.terminal : "(none)", c.pam_service ? c.pam_service : "smss-winlogon",
             w.pam_confdir ? " in " : "", w.pam_confdir ? w.pam_confdir : "");
    if (w.terminal)
        run_with_terminal(&w);
    else
        run_without_terminal(&w);
    log_info("winlogon of session %u exits", w.session);
    free(w.user);
    close(w.sig_fd);
    smss_config_free(&c);
    return 0;
}
