/* The modes of the smss program and the options they share. */
#ifndef SMSS_MODES_H
#define SMSS_MODES_H
#include "config.h"
#include <stdbool.h>

enum smss_mode {
    SMSS_MODE_BOOT,          /* the master */
    SMSS_MODE_SESSION_CHILD, /* "smss 0000000N XXXXXXXX": creates one session, exits */
    SMSS_MODE_SANDBOX,       /* boot in new namespaces, run a command, shut down */
    SMSS_MODE_CHECK_CONFIG,
    SMSS_MODE_PRINT_CONFIG,
};

struct smss_options {
    enum smss_mode mode;
    struct smss_config_sources sources;
    const char *runtime_dir, *state_dir; /* overrides; NULL = the configuration's */
    bool utf16;
    int argc;    /* what follows the options */
    char **argv;
};

/* True for a session child's command line: exactly two 8-hex-digit arguments. */
bool smss_is_session_child(int argc, char **argv);
int smss_run_mode(const struct smss_options *o);

/* The modes, one file each. */
int smss_check_config(const struct smss_options *o);
int smss_print_config(const struct smss_options *o);
int smss_boot(const struct smss_options *o);
int smss_session_child(const struct smss_options *o);
int smss_sandbox(const struct smss_options *o);
/* PID 1 of a sandbox (re-executed as a bare smss): options from the environment. */
int smss_sandbox_pid1(struct smss_options *o);

#endif
