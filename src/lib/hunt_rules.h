/* The rules file: smss-hunt's baseline as data (rules/baseline.rules, compiled in, and
 * any file given with --rules, read after it). docs/HUNTING.md describes the format:
 *
 *   # comment
 *   rule HUNT-P001                 a stanza: a kind and a name at column 0
 *     check      parent            indented "field value" lines
 *     name       process-unexpected-parent
 *     level      high
 *     technique  T1036.005
 *     title      Core process started by an unexpected parent
 *
 * Kinds: settings, rule, process NAME, config NAME, known (legitimate names never taken
 * for look-alikes), suspicious (path fragments). A later stanza of the same kind and
 * name replaces the earlier one field by field; "enabled no" switches a rule off. */
#ifndef SMSS_HUNT_RULES_H
#define SMSS_HUNT_RULES_H
#include "buf.h"
#include "diag.h"
#include "hunt_model.h"
#include <stdbool.h>
#include <stdint.h>

/* The checks the program implements; a rule binds one of them to an ID and a level. */
enum hunt_check {
    HUNT_CHECK_PARENT,
    HUNT_CHECK_PATH,
    HUNT_CHECK_LOOKALIKE,
    HUNT_CHECK_CONFUSABLE,
    HUNT_CHECK_BIDI,
    HUNT_CHECK_USER,
    HUNT_CHECK_INSTANCES,
    HUNT_CHECK_PERSISTENT_CHILD,
    HUNT_CHECK_SESSION,
    HUNT_CHECK_START,
    HUNT_CHECK_PRIORITY,
    HUNT_CHECK_ARGUMENTS,
    HUNT_CHECK_CFG_SUBSYSTEMS,
    HUNT_CHECK_CFG_BOOT_EXECUTE,
    HUNT_CHECK_CFG_EXECUTE,
    HUNT_CHECK_CFG_S0_INITIAL,
    HUNT_CHECK_CFG_KNOWN_DLLS_REMOVED,
    HUNT_CHECK_CFG_KNOWN_DLLS_EXCLUDED,
    HUNT_CHECK_CFG_PENDING_RENAME,
    HUNT_CHECK_CFG_SUSPICIOUS_PATH,
    HUNT_CHECK_CFG_APPCERT_DLLS,
    HUNT_CHECK_COUNT
};
/* "parent", "path", ...; -1 for an unknown word. */
int hunt_check_parse(const char *word);
const char *hunt_check_name(enum hunt_check c);

struct hunt_rule {
    char *id, *name, *title, *technique;
    enum hunt_severity level;
    bool enabled;
};

/* The normal behaviour of one process name on some platforms. */
struct hunt_baseline {
    char *name;                /* "smss.exe", "smss" (Linux) */
    unsigned os;               /* hunt_os bits */
    struct strlist images;     /* as written ("%SystemRoot%\\System32\\smss.exe",
                                  "$SMSS_DIR/csrss"); normalised when compared */
    struct strlist parents;    /* names; "none", "smss-child", "any" are words */
    int max_instances;         /* running at once per boot; -1 any */
    bool args_none, args_session_child, args_any; /* accepted argument forms */
    struct strlist users;      /* "SYSTEM", "LOCAL SERVICE", "root", "any", ... */
    int session_min, session_max; /* -1 = no bound */
    bool boot_window;          /* must start within the boot window (session 0/master) */
    bool has_priority;
    int priority;              /* base priority (Windows) or nice (Linux) */
    unsigned line;             /* where it was defined */
};

/* Expected Session Manager configuration for some platforms. */
struct hunt_config_baseline {
    char *name;
    unsigned os;
    struct strlist subsystems;      /* value names allowed under SubSystems */
    struct strlist subsystem_images;/* "Name=image" expected image of a subsystem value */
    struct strlist required;        /* allowed words in SubSystems\Required */
    struct strlist optional;        /* allowed words in SubSystems\Optional */
    struct strlist default_values;  /* allowed data of SubSystems\(default) */
    struct strlist boot_execute;    /* allowed BootExecute entries (normalised spaces) */
    struct strlist known_dlls;      /* KnownDLLs that must be present */
    struct strlist s0_initial;      /* allowed S0InitialCommand values */
};

struct hunt_ruleset {
    struct hunt_rule rules[HUNT_CHECK_COUNT]; /* indexed by check; id NULL = unbound */
    struct hunt_baseline *procs;
    size_t nprocs;
    struct hunt_config_baseline *configs;
    size_t nconfigs;
    struct strlist known;          /* legitimate names, never look-alikes */
    struct strlist suspicious;     /* lower-case path fragments: "\\temp\\", ... */
    int64_t grace;                 /* how long a session child smss may live (µs) */
    int64_t boot_window;           /* "within seconds of boot" (µs) */
    char *system_root;             /* "C:\\Windows" */
};

void hunt_ruleset_init(struct hunt_ruleset *rs);
void hunt_ruleset_free(struct hunt_ruleset *rs);
/* Read rules text into the set (merging). 0, or -1 with every error in diags
 * (name:line). */
int hunt_ruleset_load_buffer(struct hunt_ruleset *rs, const char *name, const char *text,
                             size_t len, struct diags *diags);
int hunt_ruleset_load_file(struct hunt_ruleset *rs, const char *path, struct diags *diags);
/* The compiled-in rules/baseline.rules. */
int hunt_ruleset_load_default(struct hunt_ruleset *rs, struct diags *diags);
const char *hunt_default_rules(size_t *len);

/* The rule of a check when it is bound and enabled, else NULL. */
const struct hunt_rule *hunt_ruleset_rule(const struct hunt_ruleset *rs, enum hunt_check c);
/* The baseline entries for a name (case-insensitive on Windows, exact on Linux) whose
 * os bits meet os; at most max written to out; returns how many. */
size_t hunt_ruleset_find(const struct hunt_ruleset *rs, const char *name, unsigned os,
                         const struct hunt_baseline **out, size_t max);
/* The config baseline for os (the last one that applies), or NULL. */
const struct hunt_config_baseline *hunt_ruleset_config(const struct hunt_ruleset *rs,
                                                       unsigned os);
/* Parse "xp 7 10 linux windows all" into hunt_os bits; 0 on an unknown word. */
unsigned hunt_os_parse(const char *words);

#endif
