/* smss-hunt's data: a process as the evidence shows it (one record of an input), a
 * process as the tree keeps it, and a finding (a rule that fired, with its evidence).
 *
 * Times are microseconds since the Unix epoch (UTC); HUNT_TIME_UNKNOWN when the source
 * does not say. PIDs are int64_t, -1 when unknown. */
#ifndef SMSS_HUNT_MODEL_H
#define SMSS_HUNT_MODEL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HUNT_TIME_UNKNOWN INT64_MIN
#define HUNT_SECOND INT64_C(1000000)

/* Platforms a baseline entry applies to (a bit set). */
enum hunt_os {
    HUNT_OS_XP = 1,
    HUNT_OS_7 = 2,     /* Vista, 7, 8 */
    HUNT_OS_10 = 4,    /* 10, 11, Server 2016+ */
    HUNT_OS_LINUX = 8, /* this project's smss on Linux */
};
#define HUNT_OS_WINDOWS (HUNT_OS_XP | HUNT_OS_7 | HUNT_OS_10)
#define HUNT_OS_ALL (HUNT_OS_WINDOWS | HUNT_OS_LINUX)

enum hunt_severity { HUNT_SEV_LOW, HUNT_SEV_MEDIUM, HUNT_SEV_HIGH, HUNT_SEV_CRITICAL };
/* "low", "medium", "high", "critical". */
const char *hunt_severity_name(enum hunt_severity s);
/* -1 when the word is none of them. */
int hunt_severity_parse(const char *word);

/* What one input record says. Strings are borrowed from the reader (valid during the
 * call that hands the record over); NULL when the source does not have them. */
enum hunt_record_kind {
    HUNT_REC_START,   /* a process was created (Sysmon 1, Security 4688) */
    HUNT_REC_EXIT,    /* a process ended (Sysmon 5, Security 4689) */
    HUNT_REC_RUNNING, /* a snapshot saw it running (pslist, CSV, /proc) */
    HUNT_REC_BOOT,    /* the machine started (Security 4608; a snapshot's boot time) */
};

struct hunt_record {
    enum hunt_record_kind kind;
    int64_t pid, ppid;
    int64_t creator_pid;   /* who created it, where the source knows (-1) */
    const char *name;      /* image base name; derived from image when NULL */
    const char *image;     /* executable path as the source spells it */
    const char *cmdline;
    const char *user;      /* "NT AUTHORITY\\SYSTEM", "S-1-5-18", "root", ... */
    const char *parent_image, *parent_cmdline; /* the parent as the record names it */
    int session;           /* -1 unknown */
    int priority;          /* base priority (Windows) or nice (Linux) */
    bool has_priority;
    int64_t time;          /* START/RUNNING: start; EXIT: exit; BOOT: boot */
    int64_t exit_time;     /* RUNNING: exit time when the snapshot shows one */
    int64_t seen;          /* RUNNING: when the snapshot was taken */
    unsigned os;           /* hunt_os bits the source implies; 0 = unknown */
    const char *source;    /* input file name, "/proc", ... */
    uint64_t recno;        /* record number or line in the source; 0 none */
    const char *what;      /* "Sysmon 1", "Security 4688", "pslist", ... */
};

/* A process in the tree. Strings are owned. */
struct hunt_proc {
    int64_t pid, ppid, creator_pid;
    char *name, *image, *cmdline, *user;
    char *image_norm;      /* hunt_path_normalize(image), or NULL */
    int session;
    int priority;
    bool has_priority;
    int64_t start, exit;   /* HUNT_TIME_UNKNOWN when not known */
    bool alive;            /* a snapshot saw it running */
    int64_t seen;          /* that snapshot's time */
    unsigned os;
    char *evidence;        /* "file#record (what)", records joined with "; " */
    bool phantom;          /* known only as some record's parent */
    bool retired;          /* exited or its PID was reused: no longer running */
    unsigned boot;         /* boot index in the tree */
    uint64_t fired;        /* rules already reported for it (bit = rule index) */
    unsigned nfindings;
    /* Links the tree maintains. */
    struct hunt_proc *parent;
    struct hunt_proc *first_child, *last_child, *prev_sibling, *next_sibling;
    struct hunt_proc *next_in_boot, *prev_in_boot;
    struct hunt_proc *hash_next;
};

void hunt_proc_free(struct hunt_proc *p);

/* A finding. Owned strings; a process finding fills the proc_* fields, a configuration
 * finding registry_path / registry_value / registry_data. */
struct hunt_finding {
    const char *rule_id;    /* borrowed from the rule set, which outlives findings */
    const char *rule_name;
    const char *technique;
    enum hunt_severity severity;
    char *message;          /* the one-line reason */
    char *evidence;         /* the records that caused it */
    bool is_process;
    int64_t pid, ppid, creator_pid;
    char *proc_name, *proc_image, *proc_cmdline, *proc_user;
    int session;
    int64_t time;           /* the process's start, or HUNT_TIME_UNKNOWN */
    char *registry_path, *registry_value, *registry_data;
};

void hunt_finding_free(struct hunt_finding *f);

/* Time helpers. "2019-03-19T20:41:11.123Z", "2019-03-19 20:41:11.123", "...+00:00",
 * " UTC" suffix: all UTC. HUNT_TIME_UNKNOWN when s is not such a time. */
int64_t hunt_time_parse(const char *s);
/* "2019-03-19T20:41:11.123456Z" into out (at least 32 bytes). */
const char *hunt_time_format(int64_t t, char *out, size_t size);

/* Safe strdup of a possibly NULL string; NULL on NULL. Sets *failed on ENOMEM. */
char *hunt_strdup(const char *s, bool *failed);

#endif
