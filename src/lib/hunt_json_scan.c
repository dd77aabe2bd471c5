#include "hunt_json_scan.h"

#include <jansson.h>
#include <stdint.h>
#include <string.h>

/* The next '"' in [p, end): eight bytes at a time (a byte equal to '"' is a zero byte of
 * x ^ 0x22..22; the lowest flagged byte is exact), then byte by byte. */
static const char *find_quote(const char *p, const char *end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (end - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        x ^= UINT64_C(0x2222222222222222);
        uint64_t t = (x - UINT64_C(0x0101010101010101)) & ~x & UINT64_C(0x8080808080808080);
        if (t)
            return p + (__builtin_ctzll(t) >> 3);
        p += 8;
    }
#endif
    for (; p < end; p++)
        if (*p == '"')
            return p;
    return NULL;
}

struct walker {
    const char *p, *end;
    struct hunt_json_span path[HUNT_JSON_MAX_DEPTH];
    bool is_array[HUNT_JSON_MAX_DEPTH + 1];
    unsigned depth; /* containers open below the root object */
    hunt_json_member_fn fn;
    void *ctx;
};

static void skip_ws(struct walker *w)
{
    while (w->p < w->end && (*w->p == ' ' || *w->p == '\t' || *w->p == '\r' || *w->p == '\n'))
        w->p++;
}

/* At an opening quote: the string's content span; w->p after the closing quote. */
static int string(struct walker *w, struct hunt_json_span *out)
{
    const char *start = ++w->p;
    for (const char *q;; w->p = q + 1) {
        q = find_quote(w->p, w->end);
        if (!q)
            return -1;
        size_t k = 0;
        while (q - k > start && q[-1 - (long)k] == '\\')
            k++;
        if (k % 2 == 0) { /* not escaped: the end */
            out->p = start;
            out->n = (size_t)(q - start);
            w->p = q + 1;
            return 0;
        }
    }
}

/* A number or literal: up to the next delimiter. */
static int token(struct walker *w, struct hunt_json_span *out)
{
    const char *start = w->p;
    for (; w->p < w->end; w->p++) {
        char c = *w->p;
        if (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\r' || c == '\n')
            break;
    }
    out->p = start;
    out->n = (size_t)(w->p - start);
    if (out->n == 0)
        return -1;
    char c = *start;
    return (c == '-' || (c >= '0' && c <= '9') || (out->n == 4 && !memcmp(start, "true", 4)) ||
            (out->n == 5 && !memcmp(start, "false", 5)) ||
            (out->n == 4 && !memcmp(start, "null", 4)))
               ? 0 : -1;
}

static void report(struct walker *w, const struct hunt_json_span *key, struct hunt_json_span v,
                   bool is_string)
{
    struct hunt_json_member m = {.key = *key, .path = w->path, .depth = w->depth, .value = v,
                                 .is_string = is_string};
    w->fn(w->ctx, &m);
}

/* The walk: a state machine over containers (no recursion, depth bounded). */
int hunt_json_scan(const char *text, size_t n, hunt_json_member_fn fn, void *ctx)
{
    struct walker w = {.p = text, .end = text + n, .fn = fn, .ctx = ctx};
    skip_ws(&w);
    if (w.p >= w.end || *w.p != '{')
        return -1;
    w.p++;
    w.is_array[0] = false;
    static const struct hunt_json_span none = {"", 0};
    for (;;) {
        skip_ws(&w);
        if (w.p >= w.end)
            return -1;
        bool arr = w.is_array[w.depth];
        /* Close the container, or read "key:" (objects). */
        if (*w.p == (arr ? ']' : '}')) {
            w.p++;
            if (w.depth == 0)
                break;
            w.depth--;
            goto after_value;
        }
        struct hunt_json_span key = none;
        if (!arr) {
            if (*w.p != '"' || string(&w, &key) < 0)
                return -1;
            skip_ws(&w);
            if (w.p >= w.end || *w.p != ':')
                return -1;
            w.p++;
            skip_ws(&w);
            if (w.p >= w.end)
                return -1;
        }
        /* The value. */
        if (*w.p == '{' || *w.p == '[') {
            if (w.depth + 1 >= HUNT_JSON_MAX_DEPTH)
                return -1;
            w.path[w.depth] = key;
            w.is_array[++w.depth] = *w.p == '[';
            w.p++;
            continue;
        }
        struct hunt_json_span v;
        bool is_string = *w.p == '"';
        if ((is_string ? string(&w, &v) : token(&w, &v)) < 0)
            return -1;
        if (!arr)
            report(&w, &key, v, is_string);
    after_value:
        skip_ws(&w);
        if (w.p >= w.end)
            return -1;
        if (*w.p == ',') {
            w.p++;
            continue;
        }
        if (*w.p != (w.is_array[w.depth] ? ']' : '}'))
            return -1;
    }
    skip_ws(&w);
    return w.p == w.end ? 0 : -1;
}

long hunt_json_decode_string(const struct hunt_json_member *m, struct buf *out)
{
    long at = (long)out->len;
    if (!m->is_string || !memchr(m->value.p, '\\', m->value.n)) {
        if (buf_append(out, m->value.p, m->value.n) < 0 || buf_putc(out, '\0') < 0)
            return -1;
        return at;
    }
    /* The value with its quotes, as it stands in the text. */
    json_error_t err;
    json_t *s = json_loadb(m->value.p - 1, m->value.n + 2, JSON_DECODE_ANY, &err);
    int rc = json_is_string(s) ? buf_append(out, json_string_value(s), json_string_length(s))
                               : -1;
    json_decref(s);
    if (rc < 0 || buf_putc(out, '\0') < 0)
        return -1;
    return at;
}
