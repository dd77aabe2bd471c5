/* A fast walk over one JSON object (one line of a log shipper's output) that finds the
 * scalar members a reader wants without building the whole document: a Winlogbeat line
 * is a kilobyte or more, and parsing all of it costs ten times what finding a dozen
 * fields does. The walk only finds where members are (string-aware, so braces and
 * quotes inside strings are skipped correctly); decoding values with escapes is left to
 * jansson (hunt_json_decode_string). A text the walk cannot follow is reported as not
 * well-formed, and the caller parses it with jansson to say what is wrong. */
#ifndef SMSS_HUNT_JSON_SCAN_H
#define SMSS_HUNT_JSON_SCAN_H
#include "buf.h"
#include <stdbool.h>
#include <stddef.h>

#define HUNT_JSON_MAX_DEPTH 16

struct hunt_json_span {
    const char *p;
    size_t n;
};

/* One scalar member: its key, the keys of the objects around it (path[0] the outermost
 * member key, path[depth - 1] the parent; "" for array elements), and the value's text:
 * for strings the characters between the quotes (escapes undecoded), for numbers and
 * literals the token. */
struct hunt_json_member {
    struct hunt_json_span key;
    const struct hunt_json_span *path;
    unsigned depth;
    struct hunt_json_span value;
    bool is_string;
};

typedef void (*hunt_json_member_fn)(void *ctx, const struct hunt_json_member *m);

/* Walk text[0..n), an object. 0, or -1 when it is not a well-formed object (as far as
 * the walk checks: balanced, strings closed, values where values belong). */
int hunt_json_scan(const char *text, size_t n, hunt_json_member_fn fn, void *ctx);

/* A string member's value as UTF-8 appended to out (NUL-terminated), decoded by jansson
 * when it has escapes. Returns the offset of the text in out, or -1. */
long hunt_json_decode_string(const struct hunt_json_member *m, struct buf *out);

#endif
