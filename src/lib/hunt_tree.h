/* The process tree of one machine, built from the records of every input in order.
 *
 * A PID names one process at a time: a record for a PID already held by a process that
 * started earlier means that process ended (PID reuse); a parent must have started
 * before its child. A record that names its parent (Sysmon's ParentImage) gives a
 * "phantom" parent when that one has no record of its own. Boots are told apart (a
 * session 0 smss child, the System process, a boot record, a second master whose own
 * session children appear) and every process of an earlier boot is retired.
 *
 * Memory: the running processes of the current boot, unless keep_all (for --tree), which
 * keeps every process. Each process is judged as it enters and when it ends. */
#ifndef SMSS_HUNT_TREE_H
#define SMSS_HUNT_TREE_H
#include "hunt_judge.h"
#include "hunt_model.h"
#include "hunt_rules.h"

struct hunt_tree_options {
    unsigned os;          /* platforms the evidence may come from; 0 = all */
    const char *smss_dir; /* $SMSS_DIR for the Linux baseline */
    bool keep_all;        /* keep ended processes and earlier boots (for --tree) */
};

struct hunt_tree;

struct hunt_tree *hunt_tree_new(const struct hunt_ruleset *rs,
                                const struct hunt_tree_options *o, hunt_emit_fn emit,
                                void *ctx);
void hunt_tree_free(struct hunt_tree *t);
/* Add one record. 0, or -1 with errno ENOMEM. */
int hunt_tree_add(struct hunt_tree *t, const struct hunt_record *r);
/* The end of all input: processes still running get their end-of-life judgement. */
void hunt_tree_finish(struct hunt_tree *t);

size_t hunt_tree_nboots(const struct hunt_tree *t);
const struct hunt_boot *hunt_tree_boot(const struct hunt_tree *t, size_t i);
size_t hunt_tree_nfindings(const struct hunt_tree *t);
/* Processes currently held (running ones, plus ended ones when keep_all). */
size_t hunt_tree_nprocs(const struct hunt_tree *t);
/* True when a finding could not be recorded for lack of memory. */
bool hunt_tree_oom(const struct hunt_tree *t);
/* Change $SMSS_DIR (live mode learns it from the master's executable). */
void hunt_tree_set_smss_dir(struct hunt_tree *t, const char *dir);

#endif
