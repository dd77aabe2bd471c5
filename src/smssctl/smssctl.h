/* smssctl: the client of the Session Manager. Each subcommand is one cmd_NAME.c file with
 * a function `int cmd_NAME(struct smssctl *ctl, int argc, char **argv)` (argv[0] is the
 * subcommand's name) and one line in SMSSCTL_COMMANDS below. Exit codes: 0 success,
 * 1 found something / refused, 2 usage or input error. */
#ifndef SMSSCTL_H
#define SMSSCTL_H
#include "config.h"
#include <stdbool.h>
#include <stdio.h>

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2 };

/* name, function, one-line summary: adding a subcommand is one line here. */
#define SMSSCTL_COMMANDS(X)                                                                  \
    X(movefile, "queue a rename or delete for the next boot (MoveFileEx, delayed)")         \
    X(pending, "show what the next boot renames and deletes, or what the last boot did")   \
    X(tree, "the Session Manager's processes: creator, session, user, role, priority")     \
    X(shutdown, "end every session in order, then halt, reboot or power off")             \
    X(sessions, "list the sessions")                                                        \
    X(session, "create a session (StartCsr) or terminate one (StopCsr)")                    \
    X(exec, "start a program in a session through its subsystem (ExecPgm)")                 \
    X(subsystem, "load an Optional subsystem in this session (LoadDeferedSubsystem)")       \
    X(query, "boot phases, sessions, subsystems, known DLLs, paging files, environment")

/* What every subcommand shares: the global options and the configuration, loaded on
 * first use. */
struct smssctl {
    const char *program;        /* "smssctl" */
    struct smss_config_sources sources;
    const char *system_root;    /* --system-root, or the directory of smss */
    bool config_loaded;
    struct smss_config config;
};

#define X(name, summary) int cmd_##name(struct smssctl *ctl, int argc, char **argv);
SMSSCTL_COMMANDS(X)
#undef X

/* The configuration (diagnostics printed to stderr). NULL when it has errors. */
const struct smss_config *smssctl_config(struct smssctl *ctl);
/* The system root: --system-root, else the directory holding the smss program next to
 * this one (or ../sbin), else SMSS_SYSCONFDIR's sibling /usr/local/sbin. */
const char *smssctl_system_root(struct smssctl *ctl);
/* Whether the caller may use the Session Manager: root, or a member of the configured
 * API group. Prints the refusal. */
bool smssctl_authorised(struct smssctl *ctl, const char *what);
/* The options of a command that only reads from the master: --json, --runtime-dir DIR,
 * --help (prints usage). -1 to go on, else the exit code to return. */
int smssctl_read_options(int argc, char **argv, const char *usage, bool *json,
                         const char **runtime_dir);
/* "smssctl CMD: message" on stderr, and the exit code given. */
int smssctl_fail(const char *cmd, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
