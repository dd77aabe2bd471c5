/* A process listing taken at one moment (Volatility pslist/pstree, a process CSV): rows
 * collected, then handed to the tree in start order after one boot record. The moment
 * itself is rarely written down; the latest start in the listing stands for it (the
 * listing was taken after every process in it started). */
#ifndef SMSS_HUNT_SNAPSHOT_H
#define SMSS_HUNT_SNAPSHOT_H
#include "hunt_input.h"

struct hunt_snap_row {
    int64_t pid, ppid;
    char *name, *image, *cmdline, *user; /* owned (malloc'd) or NULL */
    int session;
    int priority;
    bool has_priority;
    int64_t start, exit;
    uint64_t line;
};

struct hunt_snapshot {
    struct hunt_snap_row *v;
    size_t n, cap;
};

/* Take a row (its strings too). 0, or -1 with ENOMEM (the row's strings freed). */
int hunt_snapshot_add(struct hunt_snapshot *s, struct hunt_snap_row *row);
/* Hand the rows to fn: a boot record (PID 4's start, else the earliest), then each row
 * as a RUNNING record by start time. 0, or -1 when fn stopped. */
int hunt_snapshot_emit(struct hunt_snapshot *s, const char *source, const char *what,
                       hunt_record_fn fn, void *ctx, struct hunt_input_stats *st);
void hunt_snapshot_free(struct hunt_snapshot *s);
void hunt_snap_row_free(struct hunt_snap_row *row);

#endif
