#include "hunt_snapshot.h"

#include <stdlib.h>
#include <string.h>

void hunt_snap_row_free(struct hunt_snap_row *row)
{
    free(row->name);
    free(row->image);
    free(row->cmdline);
    free(row->user);
    row->name = row->image = row->cmdline = row->user = NULL;
}

int hunt_snapshot_add(struct hunt_snapshot *s, struct hunt_snap_row *row)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 128;
        struct hunt_snap_row *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            hunt_snap_row_free(row);
            return -1;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = *row;
    return 0;
}

void hunt_snapshot_free(struct hunt_snapshot *s)
{
    for (size_t i = 0; i < s->n; i++)
        hunt_snap_row_free(&s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* By start time, unknown starts last, then by PID. */
static int by_start(const void *a, const void *b)
{
    const struct hunt_snap_row *x = a, *y = b;
    bool xu = x->start == HUNT_TIME_UNKNOWN, yu = y->start == HUNT_TIME_UNKNOWN;
    if (xu != yu)
        return xu ? 1 : -1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->pid < y->pid ? -1 : x->pid > y->pid;
}

int hunt_snapshot_emit(struct hunt_snapshot *s, const char *source, const char *what,
                       hunt_record_fn fn, void *ctx, struct hunt_input_stats *st)
{
    qsort(s->v, s->n, sizeof *s->v, by_start);
    int64_t boot = HUNT_TIME_UNKNOWN, seen = HUNT_TIME_UNKNOWN;
    for (size_t i = 0; i < s->n; i++) {
        const struct hunt_snap_row *r = &s->v[i];
        if (r->start == HUNT_TIME_UNKNOWN)
            continue;
        if (boot == HUNT_TIME_UNKNOWN || r->pid == 4)
            boot = r->pid == 4 || boot == HUNT_TIME_UNKNOWN ? r->start : boot;
        if (seen == HUNT_TIME_UNKNOWN || r->start > seen)
            seen = r->start;
        if (r->exit != HUNT_TIME_UNKNOWN && r->exit > seen)
            seen = r->exit;
    }
    if (boot != HUNT_TIME_UNKNOWN) {
        struct hunt_record b = {.kind = HUNT_REC_BOOT, .time = boot, .os = HUNT_OS_WINDOWS,
                                .source = source, .what = what};
        if (fn(ctx, &b) < 0)
            return -1;
    }
    for (size_t i = 0; i < s->n; i++) {
        const struct hunt_snap_row *r = &s->v[i];
        struct hunt_record rec = {
            .kind = HUNT_REC_RUNNING, .pid = r->pid, .ppid = r->ppid, .creator_pid = -1,
            .name = r->name, .image = r->image, .cmdline = r->cmdline, .user = r->user,
            .session = r->session, .priority = r->priority, .has_priority = r->has_priority,
            .time = r->start, .exit_time = r->exit, .seen = seen, .os = HUNT_OS_WINDOWS,
            .source = source, .recno = r->line, .what = what};
        st->used++;
        if (fn(ctx, &rec) < 0)
            return -1;
    }
    return 0;
}
