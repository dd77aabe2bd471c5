/* The system environment: what every process smss starts inherits, in every session.
 *
 * Built as NT builds it: SystemRoot first (so the registry values can refer to it), then
 * the Session Manager\Environment values in registry order, REG_EXPAND_SZ expanded against
 * what is set so far (an undefined %X% stays as it is); then the dynamic variables
 * computed from this machine (OS, PROCESSOR_*, NUMBER_OF_PROCESSORS, SAFEBOOT_OPTION);
 * then the Linux essentials a login needs when they are unset (PATH, LANG, TERM, HOME);
 * then the KnownDlls snapshot put first in LD_LIBRARY_PATH.
 *
 * Names compare without case, as NT's do; a variable keeps the spelling of its first
 * setting, except NT's "Path", which is spelt PATH: the name every Linux program reads.
 * docs/PREPARATION.md describes each variable. */
#ifndef SMSS_SYSENV_H
#define SMSS_SYSENV_H
#include "config.h"
#include <jansson.h>
#include <stddef.h>

/* "NAME=value" strings in order of first setting; v is NULL-terminated, so it is an
 * envp for spawn_request (never NULL once anything was set). */
struct sysenv {
    char **v;
    size_t n, cap;
};
#define SYSENV_INIT {NULL, 0, 0}

/* The dynamic variables' values, computed from this machine (or a test's input). */
struct sysenv_machine {
    char architecture[16]; /* PROCESSOR_ARCHITECTURE: AMD64, x86, ARM64, ARM, ... */
    unsigned level;        /* PROCESSOR_LEVEL: the CPU family */
    char identifier[160];  /* PROCESSOR_IDENTIFIER */
    char revision[16];     /* PROCESSOR_REVISION: model and stepping, 4 hex digits */
    unsigned ncpus;        /* NUMBER_OF_PROCESSORS */
};

/* Fill m from a uname machine name ("x86_64") and the text of /proc/cpuinfo. Pure. */
void sysenv_machine_from_cpuinfo(struct sysenv_machine *m, const char *uname_machine,
                                 const char *cpuinfo, unsigned ncpus);
/* Fill m from this machine: uname(2), /proc/cpuinfo, and the CPUs smss may run on
 * (sched_getaffinity, what nproc prints). 0, or -1 with errno (a file unreadable). */
int sysenv_machine_probe(struct sysenv_machine *m);

/* The value of NAME (compared without case), or NULL. */
const char *sysenv_get(const struct sysenv *e, const char *name);
/* Set NAME=value, replacing an earlier setting in place. 0, or -1 (ENOMEM, or EINVAL for
 * an empty name or one holding '='). */
int sysenv_set(struct sysenv *e, const char *name, const char *value);
/* Put dir first in the ':'-separated list NAME (LD_LIBRARY_PATH), once. 0 or -1. */
int sysenv_prepend_path(struct sysenv *e, const char *name, const char *dir);
/* Expand %NAME% references against e, as NT's RtlExpandEnvironmentStrings: names
 * without case; an undefined one, or a '%' with no closing '%', is copied as it is.
 * Returns a malloc'd string, or NULL (ENOMEM). */
char *sysenv_expand(const struct sysenv *e, const char *s);

/* SystemRoot = system_root (when not NULL), then the Environment key's values in order,
 * REG_EXPAND_SZ values expanded against what is set so far. 0, or -1 (ENOMEM). */
int sysenv_load_static(struct sysenv *e, const struct smss_config *c, const char *system_root);
/* The dynamic variables from m (SAFEBOOT_OPTION from c->safeboot_option: 1 MINIMAL,
 * 2 NETWORK, 3 DSREPAIR), then the Linux essentials where unset. 0, or -1 (ENOMEM). */
int sysenv_add_dynamic(struct sysenv *e, const struct sysenv_machine *m,
                       const struct smss_config *c);
/* All of it for this machine: static, dynamic, and knowndlls_dir (NULL: none) first in
 * LD_LIBRARY_PATH. 0, or -1 with errno; on failure e holds what was set. */
int sysenv_build(struct sysenv *e, const struct smss_config *c, const char *system_root,
                 const char *knowndlls_dir);

/* {"NAME": "value", ...} in order, for smssctl query. NULL on allocation failure. */
json_t *sysenv_to_json(const struct sysenv *e);
void sysenv_free(struct sysenv *e);

/* A JSON string for text that may not be UTF-8 (a path, an inherited value): invalid
 * bytes become U+FFFD. NULL gives JSON null. For the preparation modules' query output. */
json_t *prep_json_string(const char *s);

#endif
