/* Look-alike process names: a name an impostor chose to pass for a known one.
 * Edit distance (Damerau-Levenshtein, optimal string alignment, on lower-cased names
 * without their extension), Unicode confusables (Cyrillic and Greek letters that look
 * like Latin ones), and bidirectional-control characters (right-to-left override). */
#ifndef SMSS_HUNT_LOOKALIKE_H
#define SMSS_HUNT_LOOKALIKE_H
#include <stdbool.h>
#include <stddef.h>

/* Distance between a[0..an) and b[0..bn) (bytes), or max + 1 when it exceeds max. */
unsigned hunt_dl_distance(const char *a, size_t an, const char *b, size_t bn, unsigned max);

/* The name with every confusable letter replaced by the Latin letter it imitates,
 * bidirectional controls and zero-width characters removed, ASCII lower-cased
 * (malloc'd; NULL on ENOMEM). Sets *confusable / *bidi when it met such characters. */
char *hunt_name_fold(const char *name, bool *confusable, bool *bidi);

/* Length of the stem: the name without its last ".ext" (the whole name when none). */
size_t hunt_name_stem_len(const char *name);

enum hunt_lookalike_kind {
    HUNT_LOOKALIKE_NONE,
    HUNT_LOOKALIKE_EDIT,       /* within the edit distance of a protected name */
    HUNT_LOOKALIKE_CONFUSABLE, /* a protected name spelled with look-alike letters */
    HUNT_LOOKALIKE_BIDI,       /* a bidirectional override hides the real name */
};

struct hunt_lookalike {
    enum hunt_lookalike_kind kind;
    const char *target;   /* the protected name imitated (from the list), or NULL */
    unsigned distance;
};

/* Judge name against the protected names (the ones impostors imitate) and the known
 * names (legitimate names, protected ones included, never reported). Distance limit:
 * 2, or 1 when either stem has at most 4 letters (two edits there change half the
 * name). Returns the kind (also in *out). */
enum hunt_lookalike_kind hunt_lookalike_check(const char *name,
                                              const char *const *protected_names,
                                              size_t nprotected, const char *const *known,
                                              size_t nknown, struct hunt_lookalike *out);

#endif
