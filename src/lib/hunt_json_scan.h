/* A fast walk over one JSON object (one line of a log shipper's output) that finds the
 * scalar members a reader wants without building the whole document: a Winlogbeat line
 * is a kilobyte or more, and parsing all of it costs ten times what finding a dozen
 * fields does. The walk finds where members are, string-aware (braces and quotes inside
 * strings are passed over), through 64-byte windows whose quotes, backslashes and other
 * special bytes are a bit mask computed sixteen bytes at a time (SSE2); only the members
 * whose keys the reader names are reported, and values are decoded on demand.
 *
 * It accepts what jansson accepts: balanced containers, a value where a value belongs,
 * commas between members and none before a closing bracket, numbers by JSON's grammar,
 * the three literals, and strings as jansson reads them (known escapes, paired
 * surrogates, no \u0000, no control characters, well-formed UTF-8). It refuses (-1) the
 * rest, and also what it leaves to jansson: numbers jansson may find out of range and
 * containers deeper than HUNT_JSON_MAX_DEPTH. The caller parses a refused line with
 * jansson, which reads it or says what is wrong. */
#ifndef SMSS_HUNT_JSON_SCAN_H
#define SMSS_HUNT_JSON_SCAN_H
#include "buf.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HUNT_JSON_MAX_DEPTH 16

struct hunt_json_span {
    const char *p;
    size_t n;
};

/* A set of member names: the walk reports only members whose key is in the set, so the
 * many members no reader wants cost no call. A key is told apart by its first byte and
 * length (most keys end there), then by one hash probe. */
#define HUNT_JSON_KEYS_MAX 64
#define HUNT_JSON_KEY_SLOTS 256
struct hunt_json_keys {
    const char *name[HUNT_JSON_KEYS_MAX];
    unsigned char len[HUNT_JSON_KEYS_MAX];
    unsigned char slot[HUNT_JSON_KEY_SLOTS]; /* index + 1; 0 empty */
    unsigned n;
    uint32_t lengths[256]; /* by first byte: bit (length % 32) of each name */
};

/* Build a set from a NULL-terminated list of names (1..255 bytes, at most
 * HUNT_JSON_KEYS_MAX, no duplicates). 0, or -1 when the list breaks those limits. */
int hunt_json_keys_init(struct hunt_json_keys *ks, const char *const *names);
/* The index of a name in the set (its position in the list), or -1. */
int hunt_json_keys_find(const struct hunt_json_keys *ks, const char *p, size_t n);

/* One scalar member: its key, the keys of the objects around it (path[0] the outermost
 * member key, path[depth - 1] the parent; "" for array elements), and the value's text:
 * for strings the characters between the quotes (escapes undecoded), for numbers and
 * literals the token. plain: a string of printable ASCII without escapes, its own
 * text. key_index: the key's index in the walk's key set (-1 without one). */
struct hunt_json_member {
    struct hunt_json_span key;
    const struct hunt_json_span *path;
    unsigned depth;
    struct hunt_json_span value;
    bool is_string, plain;
    int key_index;
};

typedef void (*hunt_json_member_fn)(void *ctx, const struct hunt_json_member *m);

/* Walk text[0..n), an object, reporting every scalar member of an object (not array
 * elements). 0, or -1 when it is not a well-formed object or holds what is left to
 * jansson (above). */
int hunt_json_scan(const char *text, size_t n, hunt_json_member_fn fn, void *ctx);
/* The same, reporting only the members whose key is in keys (NULL: all). */
int hunt_json_scan_keys(const char *text, size_t n, const struct hunt_json_keys *keys,
                        hunt_json_member_fn fn, void *ctx);

/* A member's value as UTF-8 appended to out (NUL-terminated): a string decoded and
 * checked as jansson checks it (no control characters, valid UTF-8, known escapes, no
 * \u0000, surrogates paired), a number or literal as its token. Returns the offset of
 * the text in out, or -1 (ENOMEM, or a string jansson would refuse). */
long hunt_json_decode_string(const struct hunt_json_member *m, struct buf *out);
/* The same value decoded over its own text (never longer) and NUL-terminated where its
 * closing quote, or the byte after a number, stood: no copy. Only for a caller that
 * walked its own writable copy of the line and is done walking it; values do not
 * overlap, so each member of the line can be decoded so, once. The value, or NULL (never
 * for a member of a walk that succeeded: the walk checked what decoding checks). */
char *hunt_json_decode_in_place(const struct hunt_json_member *m);

#endif
