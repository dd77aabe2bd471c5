/* Diagnostics: errors and warnings about input, each with where it was found
 * (file:line:column, or a key\value inside a hive) and what to do about it. */
#ifndef SMSS_DIAG_H
#define SMSS_DIAG_H
#include <stddef.h>

enum diag_level { DIAG_WARNING, DIAG_ERROR };

struct diag {
    enum diag_level level;
    char *where;        /* "file:line:column", "file:line", "hive SYSTEM: key\\value", ... */
    char *message;      /* what is wrong and what to do */
};

struct diags {
    struct diag *v;
    size_t n, cap;
    size_t errors, warnings;
};
#define DIAGS_INIT {NULL, 0, 0, 0, 0}

/* Record one diagnostic. Never fails visibly: on allocation failure the diagnostic is
 * counted but its text is replaced by a fixed one. */
void diag_add(struct diags *d, enum diag_level level, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Same, where = "file:line:column" (column 0 is left out; line 0 leaves out both). */
void diag_at(struct diags *d, enum diag_level level, const char *file, unsigned line,
             unsigned column, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Move every diagnostic of src to the end of dst. */
void diags_move(struct diags *dst, struct diags *src);
void diags_free(struct diags *d);
/* "where: error: message" lines, one per diagnostic, in the order they were found. */
void diags_print(const struct diags *d, int fd);

#endif
