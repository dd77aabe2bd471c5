/* The Session Manager configuration: a typed view of
 *   HKLM\SYSTEM\CurrentControlSet\Control\Session Manager
 * (and the few other keys smss reads), with NT's value names, types, defaults and
 * duplicate rule. docs/CONFIGURATION.md lists every value.
 *
 * Sources, in order: the embedded default (config/default.reg), then
 * SYSCONFDIR/smss/smss.reg merged over it when present; --config FILE.reg or --hive FILE
 * (repeatable) replace both. A value of the wrong type or a malformed entry is a warning
 * naming key\value and its source line, and the default is kept. */
#ifndef SMSS_CONFIG_H
#define SMSS_CONFIG_H
#include "buf.h"
#include "diag.h"
#include "regmodel.h"
#include <stdbool.h>
#include <stdint.h>

#define SM_KEY "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Session Manager"
#define SM_CONTROL_KEY "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control"
#define SM_SERVICES_KEY "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services"
#define SM_WINLOGON_KEY "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon"
#define SM_MAX_PAGING_FILES 16

/* A name → value entry (KnownDLLs, DOS Devices, Environment, SubSystems). */
struct sm_named {
    char *name;
    char *value;
    bool expand; /* REG_EXPAND_SZ: expand %VAR% when used */
    struct reg_origin origin;
};
struct sm_named_list {
    struct sm_named *v;
    size_t n, cap;
};

/* One PendingFileRenameOperations pair, as the registry holds it (NT paths). */
struct sm_rename {
    char *source;      /* the leading '@' already stripped */
    char *destination; /* "" = delete; the leading '!' already stripped */
    bool replace;      /* destination began with '!' */
    struct reg_origin origin;
};

/* One Memory Management\PagingFiles entry: "path [min MB [max MB]]". */
struct sm_paging_file {
    char *path;            /* "?:\pagefile.sys": '?' = any suitable filesystem */
    uint32_t min_mb, max_mb;
    bool system_managed;   /* no sizes, or both zero */
    struct reg_origin origin;
};

/* A service wininit starts: Services\NAME with ImagePath (and Start = 2, automatic). */
struct sm_service {
    char *name;
    char *image_path;      /* command line; REG_EXPAND_SZ expanded when started */
    bool image_expand;
    uint32_t start;        /* 2 automatic, 3 manual, 4 disabled */
    char *user;            /* ObjectName; NULL = root (LocalSystem) */
    uint32_t restart_delay_ms; /* first restart delay; doubles up to 30 s */
    struct reg_origin origin;
};

enum sm_crash_action { SM_CRASH_EXIT, SM_CRASH_REBOOT, SM_CRASH_POWEROFF };

struct smss_config {
    /* Session Manager values (REFERENCES §1), NT defaults when absent. */
    uint32_t protection_mode;               /* 1 */
    uint32_t allow_protected_renames;       /* 0 */
    struct strlist object_directories;      /* \Windows, \RPC Control */
    struct strlist boot_execute;            /* autocheck autochk * */
    struct strlist setup_execute;
    struct strlist execute;
    struct sm_rename *renames;              /* PendingFileRenameOperations, then ...2 */
    size_t nrenames;
    struct strlist exclude_from_known_dlls;
    char *known_dll_directory;              /* KnownDLLs\DllDirectory (expand) */
    struct sm_named_list known_dlls;        /* KnownDLLs\name → file */
    bool paging_files_set;                  /* false: absent, NT's default "?:\pagefile.sys" used */
    struct sm_paging_file paging_files[SM_MAX_PAGING_FILES];
    size_t npaging_files;
    struct sm_named_list dos_devices;       /* DOS Devices\name → target */
    struct sm_named_list environment;       /* Environment, in registry order */
    struct strlist subsystems_required;     /* Debug Windows */
    struct strlist subsystems_optional;     /* Posix */
    struct sm_named_list subsystems;        /* SubSystems\name → command line (Kmode too) */
    char *s0_initial_command;               /* %SystemRoot%/wininit (expand) */
    char *initial_command;                  /* sessions >= 1: Linux\InitialCommand, winlogon */
    uint32_t number_of_initial_sessions;    /* 2 */
    /* Other keys. */
    uint32_t safeboot_option;               /* Control\SafeBoot\Option\OptionValue; 0 = none */
    bool minint;                            /* Control\MiniNT exists */
    struct sm_service *services;            /* Services\* with an ImagePath */
    size_t nservices;
    /* Winlogon (SOFTWARE\...\Winlogon). */
    bool auto_admin_logon;
    char *default_user_name;
    char *shell;                            /* NULL: the user's login shell */
    char *userinit;                         /* NULL: none */
    /* Linux (Session Manager\Linux). */
    char *runtime_dir;                      /* /run/smss */
    char *state_dir;                        /* /var/lib/smss */
    enum sm_crash_action crash_action;      /* exit */
    uint32_t crash_exit_code;               /* 0xC000021A & 0xFF = 26 by default */
    uint32_t shutdown_timeout_ms;           /* 5000 */
    bool session_ipc_namespace;             /* 1 */
    bool session_private_shm;               /* 1 */
    bool session_cgroup;                    /* 1 */
    char *api_group;                        /* NULL: root only */
    char *pam_service;                      /* smss-winlogon */
    char *pam_config_directory;             /* NULL: PAM's own (/etc/pam.d) */
    char *console_terminal;                 /* session 1's terminal; NULL: smss's own */
    struct strlist protected_paths;         /* refused as rename targets unless allowed */
};

/* Where the configuration comes from. */
struct smss_config_sources {
    const char *reg_file;       /* --config FILE.reg */
    const char *hives[4];       /* --hive FILE (SYSTEM and/or SOFTWARE) */
    size_t nhives;
    bool hive_unsafe;           /* --hive-unsafe: read what a damaged hive still holds */
    const char *sysconf_reg;    /* the merged file; NULL = SYSCONFDIR/smss/smss.reg */
    bool no_default;            /* start from an empty store, not the embedded default */
};

/* One default: for values absent from the store (REFERENCES §1; ours for Linux\). */
struct sm_default {
    const char *key;  /* canonical key path */
    const char *name;
    uint32_t type;
    uint32_t dword;           /* REG_DWORD */
    const char *text;         /* REG_SZ, REG_EXPAND_SZ */
    const char *const *list;  /* REG_MULTI_SZ, NULL-terminated */
};
extern const struct sm_default smss_config_defaults[]; /* ends with key == NULL */

/* The embedded default configuration, byte for byte. */
const char *smss_default_reg(size_t *len);

/* Build the store from the sources. Errors in a source reject that source (and the whole
 * load); missing optional files are skipped. 0, or -1 (diags say why). */
int smss_config_load_store(struct reg_store *store, const struct smss_config_sources *src,
                           struct diags *diags);
/* Load the sources and return the typed view; diagnostics into diags. 0, or -1. */
int smss_config_load(struct smss_config *c, const struct smss_config_sources *src,
                     struct diags *diags);
/* The effective configuration the master writes to <runtime>/config.reg, as its
 * sessions' programs (wininit, winlogon) read it: diagnostics printed on standard error.
 * 0, or -1 (said why). */
int smss_config_load_effective(const char *path, struct smss_config *c);
/* The typed view of a store; never fails on content (warnings into diags), only on
 * allocation (-1, errno ENOMEM). */
int smss_config_from_store(struct smss_config *c, const struct reg_store *store,
                           struct diags *diags);
void smss_config_free(struct smss_config *c);
/* Problems visible only across values (a Required subsystem with no command, ...), as
 * warnings. */
void smss_config_check(const struct smss_config *c, struct diags *diags);

/* The keys smss reads, relative to HKLM\SYSTEM\CurrentControlSet (for the hive reader). */
extern const char *const smss_config_system_subtrees[];
/* The keys smss reads, relative to HKLM\SOFTWARE. */
extern const char *const smss_config_software_subtrees[];

/* Resolve "CurrentControlSet" in a store that holds ControlSet00N keys and Select\Current
 * (a regedit export of HKLM\SYSTEM, or a hive): returns the control set key, or NULL. */
struct reg_key *smss_config_current_control_set(const struct reg_store *store);
/* The Session Manager key of a store (through CurrentControlSet or Select\Current). */
struct reg_key *smss_config_sm_key(const struct reg_store *store);

/* --print-config: the effective configuration as a .reg file regedit would import: the
 * keys smss reads as the store holds them, values absent from it written with their NT
 * default and a "; default" comment. */
int smss_config_print(const struct reg_store *store, struct buf *out, bool utf16);

#endif
