/* "smss-hunt live": this Linux machine's processes from /proc, with what the running
 * smss knows (its runtime directory's processes.json: creator and session of each
 * process it started), as snapshot records for the tree. */
#ifndef SMSS_HUNT_LIVE_H
#define SMSS_HUNT_LIVE_H
#include "diag.h"
#include "hunt_input.h"
#include "hunt_tree.h"

struct hunt_live_options {
    const char *proc;        /* "/proc" */
    const char *runtime_dir; /* NULL: no state file read */
    const char *smss_dir;    /* NULL: the directory of the master's executable */
};

/* Read every process, sorted by start time, and hand them to fn as RUNNING records
 * after one BOOT record (the start of PID 1: the boot of this PID namespace). Sets the
 * tree's $SMSS_DIR from the master smss (PID 1 named smss) unless given. 0, or -1 when
 * /proc cannot be read (diags say why). */
int hunt_input_live(const struct hunt_live_options *o, struct hunt_tree *t, hunt_record_fn fn,
                    void *ctx, struct hunt_input_stats *st, struct diags *d);

#endif
