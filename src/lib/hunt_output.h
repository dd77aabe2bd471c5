/* smss-hunt's outputs: a table for people (grouped by severity, colour on a terminal),
 * JSON lines with ECS-style fields, CSV with stable columns for timeline tools, and the
 * process tree with findings marked. */
#ifndef SMSS_HUNT_OUTPUT_H
#define SMSS_HUNT_OUTPUT_H
#include "hunt_model.h"
#include "hunt_rules.h"
#include "hunt_tree.h"
#include <stdio.h>

enum hunt_out_format { HUNT_OUT_TABLE, HUNT_OUT_JSONL, HUNT_OUT_CSV };

struct hunt_output {
    enum hunt_out_format format;
    FILE *f;
    bool color;
    struct hunt_finding **v; /* the table's findings, held until the end */
    size_t n, cap;
    size_t count[4];         /* findings by severity */
    bool csv_header;
    bool failed;             /* a write or an allocation failed */
};

void hunt_output_init(struct hunt_output *o, enum hunt_out_format format, FILE *f, bool color);
/* Take a finding: JSON lines and CSV write it at once, the table keeps it. */
void hunt_output_finding(struct hunt_output *o, struct hunt_finding *f);
/* Write what is held (the table); 0, or -1 when writing failed. */
int hunt_output_finish(struct hunt_output *o);
void hunt_output_free(struct hunt_output *o);
size_t hunt_output_total(const struct hunt_output *o);

/* The CSV columns, in order (comma-separated). */
extern const char hunt_csv_header[];

/* The process tree of every boot the tree kept, findings marked with their rule IDs. */
void hunt_output_tree(FILE *f, const struct hunt_tree *t, const struct hunt_ruleset *rs,
                      bool color);

/* The same as JSON lines, one process a line in tree order (parents first): ECS-style
 * process fields, event.kind "state", and tree.boot, tree.depth, tree.rule_ids. */
void hunt_output_tree_jsonl(FILE *f, const struct hunt_tree *t, const struct hunt_ruleset *rs);

#endif
