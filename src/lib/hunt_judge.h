/* The process rules: one process of the tree judged against the baseline (parent, image
 * path, look-alike name, user, session, instances, start time, priority, arguments), and
 * at the end of its life (a session child smss that stayed; a second master). */
#ifndef SMSS_HUNT_JUDGE_H
#define SMSS_HUNT_JUDGE_H
#include "hunt_model.h"
#include "hunt_rules.h"

/* A boot of the machine: the processes the tree holds for it. */
struct hunt_boot {
    unsigned index;
    int64_t time;               /* boot time, or the first process's start; unknown */
    struct hunt_proc *head, *tail;
    struct hunt_proc *master;   /* the master smss (a record or a phantom) */
    size_t nprocs;
};

/* Receives each finding; takes ownership. */
typedef void (*hunt_emit_fn)(void *ctx, struct hunt_finding *f);

/* Names already found to be no look-alike (most names, seen again and again). */
#define HUNT_NAME_CACHE 512
struct hunt_name_cache {
    char name[48];
    unsigned os;
};

struct hunt_judge {
    const struct hunt_ruleset *rs;
    struct hunt_name_cache *clean; /* HUNT_NAME_CACHE slots, or NULL */
    unsigned os;                /* platforms the evidence may come from (hunt_os bits) */
    const char *smss_dir;       /* $SMSS_DIR for the Linux baseline, or NULL */
    hunt_emit_fn emit;
    void *ctx;
    size_t findings;            /* emitted so far */
    bool oom;                   /* a finding was lost to ENOMEM */
};

enum hunt_smss_role { HUNT_NOT_SMSS, HUNT_SMSS_MASTER, HUNT_SMSS_CHILD, HUNT_SMSS_ODD };
/* What an smss process is, by its arguments (none: master; two 8-hex-digit words:
 * session child), or when the source has no command line, by its parent. */
enum hunt_smss_role hunt_smss_role(const struct hunt_proc *p);
/* The platforms a process belongs to: its own os bits, else the judge's. */
unsigned hunt_proc_os(const struct hunt_judge *j, const struct hunt_proc *p);

/* Judge a process as it enters the tree (or after new records added to it). */
void hunt_judge_start(struct hunt_judge *j, struct hunt_proc *p, const struct hunt_boot *b);
/* Judge a process that ended, was found again by a snapshot, or at the end of input:
 * persistence of session children, second masters. */
void hunt_judge_end(struct hunt_judge *j, struct hunt_proc *p, const struct hunt_boot *b);

/* Whether an account string (name, DOMAIN\name or SID) is the baseline's word
 * ("SYSTEM", "LOCAL SERVICE", "NETWORK SERVICE", "root", "any", or a name). */
bool hunt_user_matches(const char *word, const char *user);

#endif
