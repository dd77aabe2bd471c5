/* Applying the delayed renames and deletes at boot, exactly once (the boot sequence's
 * "pending file renames and deletes" phase: after BootExecute, before KnownDLLs and paging
 * files). docs/RENAMES.md explains the journal and why every crash point is safe.
 *
 * Order: the queue file's entries (pending_queue.h), then the configuration's
 * PendingFileRenameOperations pairs, then its ...2 pairs (as config.c lists them), each NT
 * path mapped by ntpath.h. Per operation:
 *   rename, same filesystem   renameat2, RENAME_NOREPLACE unless replace-existing
 *   rename, across            copy to a temporary name beside the destination, fsync,
 *                             rename into place, fsync the directory, unlink the source
 *   delete                    unlink a file or symbolic link, rmdir an empty directory
 * Directories are opened with RESOLVE_NO_SYMLINKS and the last component is never followed,
 * so a symbolic link swapped in cannot redirect an operation. A failure is logged and
 * reported and does not stop the rest; nothing is retried at the next boot.
 *
 * Exactly once: the queue is taken (renamed) and an intent journal written before anything
 * moves; operations run in batches whose paths are independent, each batch preceded by one
 * durable intent record (what every path held) and followed by a syncfs and one durable
 * completion record. After a crash the interrupted batch is resolved from the journal and
 * what the paths hold now. The registry's pairs are recorded, by a hash of them, as applied
 * once their batch is finished, so they are never applied again. */
#ifndef SMSS_PENDING_APPLY_H
#define SMSS_PENDING_APPLY_H
#include "buf.h"
#include "config.h"
#include "diag.h"
#include "ntpath.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PENDING_TAKEN_FILE "pending.taken"
#define PENDING_JOURNAL_FILE "pending.journal"
#define PENDING_REPORT_FILE "pending.last-boot"
#define PENDING_REGISTRY_FILE "pending.registry-applied"

/* Steps that change the disk, named for the fault-injection seam below. */
enum pending_step {
    PSTEP_WRITE,    /* journal, report, registry record, or copied data */
    PSTEP_FSYNC,    /* fsync, fdatasync or syncfs */
    PSTEP_RENAME,   /* the operation's rename, or a state file's */
    PSTEP_UNLINK,   /* the operation's unlink or rmdir, or a state file's */
    PSTEP_CREATE,   /* a temporary or state file */
    PSTEP_TRUNCATE, /* cutting a torn journal tail */
};

struct pending_options {
    const struct ntpath_rules *ntpath;     /* NULL: C: → "/", no \SystemRoot */
    bool allow_protected_renames;          /* AllowProtectedRenames */
    const struct strlist *protected_paths; /* refused unless allowed; may be NULL */
    const char *system_root;               /* replaces %SystemRoot% in protected_paths */
    size_t batch_max;                      /* operations per batch; 0 = 65536 */
    /* Test seam: called before every step that changes the disk, with a short description.
     * Return 0 to go on, or an errno value to make that step fail with it. NULL in smss. */
    int (*fault)(void *ctx, enum pending_step step, const char *what);
    void *fault_ctx;
};

enum pending_origin { PENDING_FROM_QUEUE, PENDING_FROM_REGISTRY };
enum pending_outcome { PENDING_DONE, PENDING_FAILED, PENDING_SKIPPED };

struct pending_result {
    enum pending_origin origin;
    uint32_t flags;        /* PQ_REPLACE, PQ_DELETE */
    char *source;          /* Linux path; for an unmappable registry entry, the NT text */
    char *destination;     /* "" for a delete */
    enum pending_outcome outcome;
    int err;               /* errno of a failure, 0 otherwise */
    char *reason;          /* "", or why it failed or was skipped */
    bool resumed;          /* completed by a boot that was interrupted */
};

struct pending_report {
    int64_t time; /* when the applying finished (seconds since the epoch) */
    struct pending_result *v;
    size_t n, cap;
    size_t done, failed, skipped;
    size_t resumed_batches; /* interrupted batches this boot resolved */
    char *error;            /* NULL, or a problem with the state files themselves */
};

/* The options smss applies with: the configuration's AllowProtectedRenames, ProtectedPaths
 * and DOS Devices drive roots (into *rules, which the caller frees with ntpath_rules_free
 * after applying), and the system root. 0, or -1 (ENOMEM). Typical use in the boot phase:
 *
 *     struct pending_options o;  struct ntpath_rules rules;  struct pending_report rep;
 *     if (pending_options_from_config(&o, &rules, cfg, system_root) == 0) {
 *         pending_apply_at_boot(cfg->state_dir, cfg->renames, cfg->nrenames, &o, &rep);
 *         pending_report_free(&rep);
 *         ntpath_rules_free(&rules);
 *     }
 */
int pending_options_from_config(struct pending_options *o, struct ntpath_rules *rules,
                                const struct smss_config *c, const char *system_root);

/* Apply everything pending. Never fatal: every outcome is logged and put into *out (which
 * the caller frees with pending_report_free); the report is also written to
 * state_dir/pending.last-boot. Returns 0, or -1 when the state files could not be used at
 * all (out->error says why; the queue is left in place for the next boot). */
int pending_apply_at_boot(const char *state_dir, const struct sm_rename *registry_renames,
                          size_t n, const struct pending_options *opt, struct pending_report *out);

/* Whether a set of registry pairs was already applied (its hash is recorded). */
bool pending_registry_applied(const char *state_dir, const struct sm_rename *renames, size_t n);

/* The last boot's report (state_dir/pending.last-boot). 0; 1 when there is none; -1 with a
 * diagnostic when it cannot be read. */
int pending_report_load(const char *state_dir, struct pending_report *out, struct diags *d);
void pending_report_free(struct pending_report *r);

/* Whether path is one of the protected paths or below one (%SystemRoot% replaced). */
bool pending_path_protected(const char *path, const struct strlist *protected_paths,
                            const char *system_root);

/* Human text for an outcome: "done", "failed", "skipped". */
const char *pending_outcome_name(enum pending_outcome o);

#endif
