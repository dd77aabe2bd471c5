/* smss-hunt's inputs: each reader turns one file (or /proc) into hunt records, handed to
 * a callback in the order the source holds them (snapshots: by start time). Readers
 * stream: memory stays bounded by one record (snapshots: by the processes listed).
 * Problems go to diags with where (file:line, record number) and what to do. */
#ifndef SMSS_HUNT_INPUT_H
#define SMSS_HUNT_INPUT_H
#include "diag.h"
#include "hunt_model.h"
#include <stddef.h>
#include <stdint.h>

enum hunt_format {
    HUNT_FMT_AUTO,
    HUNT_FMT_EVTX,
    HUNT_FMT_JSONL,
    HUNT_FMT_VOLATILITY_JSON,
    HUNT_FMT_VOLATILITY_TEXT,
    HUNT_FMT_CSV,
    HUNT_FMT_HIVE,
    HUNT_FMT_REG,
    HUNT_FMT_UNKNOWN,
};
/* "evtx", "jsonl", "volatility-json", "volatility-text", "csv", "hive", "reg". */
const char *hunt_format_name(enum hunt_format f);
enum hunt_format hunt_format_parse(const char *word); /* HUNT_FMT_UNKNOWN when none */
/* The format of a file from its first bytes (and its name as a last resort). */
enum hunt_format hunt_format_detect(const char *path, const void *head, size_t n);
/* Same, reading the head of the file; HUNT_FMT_UNKNOWN with errno on a read error. */
enum hunt_format hunt_format_detect_file(const char *path);

/* Receives each record; returns 0, or -1 to stop (errno set). */
typedef int (*hunt_record_fn)(void *ctx, const struct hunt_record *r);

struct hunt_input_stats {
    uint64_t records;   /* records (events, lines, rows) read */
    uint64_t used;      /* handed over as hunt records */
    uint64_t bad;       /* unreadable records, skipped */
};

/* Each returns 0 when the input was read (bad records counted and reported as
 * warnings), -1 when it could not be read at all or the callback stopped. */
int hunt_input_evtx(const char *path, hunt_record_fn fn, void *ctx,
                    struct hunt_input_stats *st, struct diags *d);
int hunt_input_jsonl(const char *path, hunt_record_fn fn, void *ctx,
                     struct hunt_input_stats *st, struct diags *d);
int hunt_input_volatility(const char *path, enum hunt_format f, hunt_record_fn fn, void *ctx,
                          struct hunt_input_stats *st, struct diags *d);
int hunt_input_csv(const char *path, hunt_record_fn fn, void *ctx,
                   struct hunt_input_stats *st, struct diags *d);

#endif
