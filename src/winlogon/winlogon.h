/* winlogon: the logon process of a user session (see winlogon(8)). It authenticates the
 * user through PAM on the session's terminal (or logs DefaultUserName on automatically),
 * runs the user's session, and on logoff returns to the prompt (session 1) or asks smss
 * to end the session (SM_STOP_CSR, sessions >= 2). */
#ifndef SMSS_WINLOGON_H
#define SMSS_WINLOGON_H
#include "config.h"

#include <pwd.h>
#include <security/pam_appl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <termios.h>

#define LOGON_FAILURE_TEXT "Logon failure: the user name or password is incorrect."
#define SAS_TEXT "Secure attention sequence received"

struct winlogon {
    const struct smss_config *c;
    uint32_t session;          /* SMSS_SESSION_ID */
    const char *terminal;      /* SMSS_TERMINAL; NULL: none */
    const char *runtime_dir;   /* SMSS_RUNTIME_DIR */
    const char *pam_confdir;   /* SMSS_PAM_CONFDIR; NULL: the system's */
    int sig_fd;                /* signalfd: SIGTERM, SIGUSR1, SIGCHLD, SIGHUP, SIGINT */
    int tty;                   /* the terminal, opened without becoming its controller */
    bool terminate;            /* SIGTERM received */
    bool tty_eof;              /* end of file or hangup on the terminal: reopen it */
    /* The logged-on user. */
    pam_handle_t *pamh;
    bool session_open, cred_set;
    char *user;
    pid_t shell_pid;           /* 0 once it has exited */
    pid_t user_sid;            /* the user's POSIX session ID (the shell's PID) */
    int shell_status;
    bool tty_chowned;
    struct stat tty_orig;      /* the terminal's owner and mode before the logon */
};

/* terminal.c */
int term_open(struct winlogon *w);
void term_close(struct winlogon *w);
void term_write(struct winlogon *w, const char *text);
enum { READ_LINE = 1, READ_EOF = 0, READ_TERMINATE = -1 };
/* Show prompt and read one line (echo or not), serving signals meanwhile: SIGUSR1 redraws
 * the prompt, SIGTERM returns READ_TERMINATE. *line is malloc'd on READ_LINE. */
int term_read_line(struct winlogon *w, const char *prompt, bool echo, char **line);
/* Wait ms while serving signals (SIGTERM cuts it short). */
void wait_serving_signals(struct winlogon *w, int ms);

/* pam_logon.c */
enum logon_result { LOGON_OK, LOGON_RETRY, LOGON_TERMINATE };
enum logon_result logon_interactive(struct winlogon *w);
enum logon_result logon_automatic(struct winlogon *w, const char *user);
/* Close the PAM session and credentials of the user logged on, and end PAM. */
void logon_close(struct winlogon *w);

/* user_session.c */
/* Start the user's session on the terminal as w->user. 0, or -1 (logged). */
int user_session_start(struct winlogon *w, const struct passwd *pw);
/* Wait until the user's shell exits or SIGTERM; serve SIGUSR1 meanwhile. */
void user_session_wait(struct winlogon *w);
/* SIGTERM: end every process of the user's session (SIGHUP+SIGTERM, SIGKILL after the
 * ShutdownTimeout). */
void user_session_end(struct winlogon *w);
/* After the shell is gone: hang up what is left of its session, give the terminal back. */
void user_session_cleanup(struct winlogon *w);
/* Send sig to every process of POSIX session sid. Returns how many. */
int signal_session(pid_t sid, int sig);

/* session_end.c: SM_STOP_CSR for our own session. 0 when smss accepted (or ended us). */
int request_session_end(struct winlogon *w);

/* main.c */
/* Read the signals pending on the signalfd; returns the SIGUSR1 count, sets w->terminate,
 * reaps children (the shell's status into w->shell_status). */
int serve_signals(struct winlogon *w);

#endif
