#include "hunt_json_scan.h"

#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------------ byte scanning */

#if !defined(__SSE2__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
/* Bytes of x below c (c <= 0x80) flagged in their high bit. A borrow can flag a byte
 * only above a truly flagged one, so the lowest flag is exact. */
static inline uint64_t below(uint64_t x, unsigned char c) { return (x - ONES * c) & ~x & HIGHS; }
/* Bytes of x equal to c: the zero bytes of x ^ c..c. */
static inline uint64_t equal(uint64_t x, unsigned char c) { return below(x ^ ONES * c, 1); }
#endif

/* The first byte in [p, end) that a string's scan must stop at: '"', '\', a control
 * character, or a byte of a multi-byte UTF-8 sequence; end when none. Sixteen bytes a
 * step with SSE2 (eight without), the tail byte by byte. */
static inline const char *find_special(const char *p, const char *end)
{
#ifdef __SSE2__
    /* A signed compare with ' ' flags both controls and bytes >= 0x80 (negative). */
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(' ');
    for (; end - p >= 16; p += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                   _mm_cmplt_epi8(v, space));
        unsigned m = (unsigned)_mm_movemask_epi8(hit);
        if (m)
            return p + __builtin_ctz(m);
    }
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; end - p >= 8; p += 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        uint64_t t = equal(x, '"') | equal(x, '\\') | below(x, ' ') | (x & HIGHS);
        if (t)
            return p + (__builtin_ctzll(t) >> 3);
    }
#endif
    for (; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
            return p;
    }
    return end;
}

/* ------------------------------------------------------------------ string contents */

static int hex4(const char *p, const char *end)
{
    if (end - p < 4)
        return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)p[i], l = (unsigned char)(c | 0x20);
        int d = c >= '0' && c <= '9' ? c - '0' : l >= 'a' && l <= 'f' ? l - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* A \u escape at p (its backslash): the end, with the code point in *cp (a surrogate
 * pair joined). NULL for what jansson refuses: bad hex digits, an unpaired surrogate,
 * U+0000 (allowed there only on request). */
static const char *unicode_escape(const char *p, const char *end, unsigned *cp)
{
    int hi = hex4(p + 2, end);
    p += 6;
    if (hi >= 0xD800 && hi <= 0xDBFF) {
        if (end - p < 2 || p[0] != '\\' || p[1] != 'u')
            return NULL;
        int lo = hex4(p + 2, end);
        if (lo < 0xDC00 || lo > 0xDFFF)
            return NULL;
        *cp = 0x10000 + ((unsigned)(hi - 0xD800) << 10) + (unsigned)(lo - 0xDC00);
        return p + 6;
    }
    if (hi <= 0 || (hi >= 0xDC00 && hi <= 0xDFFF))
        return NULL;
    *cp = (unsigned)hi;
    return p;
}

/* The length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), or 0: no
 * overlong forms, no surrogates, nothing above U+10FFFF (what jansson accepts). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    size_t n = p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
             : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
    if (n == 0 || (size_t)(end - p) < n)
        return 0;
    unsigned cp = p[0] & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    static const unsigned least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* What each one-letter escape stands for; 0 for the letters that are none. */
static const char one_letter[256] = {['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
                                     ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t'};

/* What a one-letter escape stands for, or -1. */
static inline int simple_escape(char c)
{
    return one_letter[(unsigned char)c] ? one_letter[(unsigned char)c] : -1;
}

/* At a special byte other than '"': the end of its escape (the code point it stands for
 * in *cp) or of its UTF-8 sequence (*cp = 0: copied as it is). NULL for what jansson
 * refuses: an unknown escape, a control character, bad UTF-8. */
static const char *special_end(const char *p, const char *end, unsigned *cp)
{
    *cp = 0;
    if (*p == '\\') {
        if (end - p < 2)
            return NULL;
        if (p[1] == 'u')
            return unicode_escape(p, end, cp);
        int c = simple_escape(p[1]);
        if (c < 0)
            return NULL;
        *cp = (unsigned)c;
        return p + 2;
    }
    size_t n = utf8_len((const unsigned char *)p, (const unsigned char *)end);
    return n ? p + n : NULL; /* a control character has length 0 too */
}

/* ------------------------------------------------------------------ 64-byte windows */

/* The walk sees a line through a window of 64 bytes whose special bytes (as
 * find_special has them) are one bit mask, computed once: the short strings of a line,
 * one after another, are then each found by a shift and a count of trailing zeros
 * instead of a scan of their own. */
struct window {
    const char *base;
    size_t len; /* bytes of the line in it: 64, fewer at the end */
    uint64_t mask;
};

#ifdef __SSE2__
static inline uint64_t special16(const char *p)
{
    /* A signed compare with ' ' flags both controls and bytes >= 0x80 (negative). */
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(' ');
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                               _mm_cmplt_epi8(v, space));
    return (uint64_t)(unsigned)_mm_movemask_epi8(hit);
}

static inline uint64_t special64(const char *p)
{
    return special16(p) | special16(p + 16) << 16 | special16(p + 32) << 32 |
           special16(p + 48) << 48;
}
#else
static uint64_t special64(const char *p)
{
    uint64_t m = 0;
    for (int i = 0; i < 64; i++) {
        unsigned char c = (unsigned char)p[i];
        m |= (uint64_t)(c == '"' || c == '\\' || c < 0x20 || c >= 0x80) << i;
    }
    return m;
}
#endif

static void window_at(struct window *w, const char *p, const char *end)
{
    w->base = p;
    if (end - p >= 64) {
        w->len = 64;
        w->mask = special64(p);
        return;
    }
    /* The line's last bytes, copied so as not to read past it; the padding masked out. */
    char tail[64] = {0};
    w->len = (size_t)(end - p);
    memcpy(tail, p, w->len);
    w->mask = special64(tail) & ((UINT64_C(1) << w->len) - 1);
}

/* The first special byte at or after p, or end. */
static inline const char *next_special(struct window *w, const char *p, const char *end)
{
    for (;;) {
        size_t off = (size_t)(p - w->base);
        if (off < w->len) {
            uint64_t m = w->mask >> off;
            if (m)
                return p + __builtin_ctzll(m);
            p = w->base + w->len;
        }
        if (p >= end)
            return end;
        window_at(w, p, end);
    }
}

/* ------------------------------------------------------------------ key sets */

static unsigned key_hash(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    unsigned h = (unsigned)n * 0x9E3779B1u ^ u[0] * 0x85EBCA6Bu ^ u[n - 1] * 0xC2B2AE35u ^
                 u[n / 2] * 0x27D4EB2Fu;
    return (h ^ h >> 15 ^ h >> 24) & (HUNT_JSON_KEY_SLOTS - 1);
}

int hunt_json_keys_init(struct hunt_json_keys *ks, const char *const *names)
{
    memset(ks, 0, sizeof *ks);
    for (; *names; names++) {
        size_t n = strlen(*names);
        if (ks->n >= HUNT_JSON_KEYS_MAX || n == 0 || n > 255 ||
            hunt_json_keys_find(ks, *names, n) >= 0)
            return -1;
        unsigned s = key_hash(*names, n);
        while (ks->slot[s])
            s = (s + 1) & (HUNT_JSON_KEY_SLOTS - 1);
        ks->name[ks->n] = *names;
        ks->len[ks->n] = (unsigned char)n;
        ks->lengths[(unsigned char)**names] |= UINT32_C(1) << (n % 32);
        ks->slot[s] = (unsigned char)++ks->n;
    }
    return 0;
}

/* a[0..n) == b[0..n), by two overlapping loads for the lengths of names (4..16), with
 * no call. */
static inline bool same_bytes(const char *a, const char *b, size_t n)
{
    uint64_t x0, y0, x1, y1;
    uint32_t u0, v0, u1, v1;
    if (n > 16 || n < 4)
        return memcmp(a, b, n) == 0;
    if (n >= 8) {
        memcpy(&x0, a, 8), memcpy(&y0, b, 8), memcpy(&x1, a + n - 8, 8), memcpy(&y1, b + n - 8, 8);
        return x0 == y0 && x1 == y1;
    }
    memcpy(&u0, a, 4), memcpy(&v0, b, 4), memcpy(&u1, a + n - 4, 4), memcpy(&v1, b + n - 4, 4);
    return u0 == v0 && u1 == v1;
}

int hunt_json_keys_find(const struct hunt_json_keys *ks, const char *p, size_t n)
{
    if (n == 0 || n > 255)
        return -1;
    /* The table is at most a quarter full: a probe ends at an empty slot soon. */
    for (unsigned s = key_hash(p, n);; s = (s + 1) & (HUNT_JSON_KEY_SLOTS - 1)) {
        unsigned i = ks->slot[s];
        if (!i)
            return -1;
        if (ks->len[i - 1] == n && same_bytes(ks->name[i - 1], p, n))
            return (int)i - 1;
    }
}

/* The index of a key of the walk in ks, or -1. Most keys are no name of the set, and
 * are told so by their first byte and length, before any hashing. */
static inline int key_index(const struct hunt_json_keys *ks, const char *p, size_t n)
{
    if (n == 0 || !(ks->lengths[(unsigned char)*p] >> (n % 32) & 1))
        return -1;
    return hunt_json_keys_find(ks, p, n);
}

/* ------------------------------------------------------------------ the walk */

struct walker {
    struct window win;
    const struct hunt_json_keys *keys;
    hunt_json_member_fn fn;
    void *ctx;
    struct hunt_json_span path[HUNT_JSON_MAX_DEPTH];
    bool is_array[HUNT_JSON_MAX_DEPTH + 1];
    unsigned depth; /* containers open below the root object */
};

static const char *skip_ws_run(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* Whitespace skipped; compact lines have none, so one compare decides. */
static inline const char *ws(const char *p, const char *end)
{
    return p < end && (unsigned char)*p <= ' ' ? skip_ws_run(p, end) : p;
}

/* At an opening quote: the content into out; the byte after the closing quote, or NULL
 * when the string does not close or holds what jansson refuses (an unknown escape, a
 * control character, bad UTF-8). An escape is passed over whole, so \" and \\ never
 * end or start anything. *plain: nothing but printable ASCII was met. */
__attribute__((always_inline)) static inline const char *
string(struct window *win, const char *p, const char *end, struct hunt_json_span *out,
       bool *plain)
{
    const char *start = ++p;
    unsigned cp;
    *plain = true;
    for (;;) {
        p = next_special(win, p, end);
        if (p == end)
            return NULL;
        if (*p == '"')
            break;
        *plain = false;
        if (*p == '\\' && end - p >= 2 && one_letter[(unsigned char)p[1]])
            p += 2; /* the common escape, \\ of a path, at once */
        else if (!(p = special_end(p, end, &cp)))
            return NULL;
    }
    out->p = start;
    out->n = (size_t)(p - start);
    return p + 1;
}

static const char *digits(const char *p, const char *end)
{
    while (p < end && (unsigned)(*p - '0') < 10)
        p++;
    return p;
}

/* A number by JSON's grammar (-? int frac? exp?): its end, or NULL. NULL too for the
 * numbers jansson may find out of range (an integer of 19 digits or more, a large
 * exponent), which are left to it. */
static const char *number(const char *p, const char *end)
{
    if (p < end && *p == '-')
        p++;
    if (p >= end || (unsigned)(*p - '0') >= 10)
        return NULL;
    const char *int_start = p;
    p = *p == '0' ? p + 1 : digits(p, end);
    long magnitude = p - int_start;
    if (magnitude > 18)
        return NULL;
    if (p < end && *p == '.') {
        const char *q = digits(p + 1, end);
        if (q == p + 1)
            return NULL;
        p = q;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        bool minus = ++p < end && *p == '-';
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        long e = 0;
        const char *q = p;
        for (; q < end && (unsigned)(*q - '0') < 10; q++)
            e = e < 1000 ? e * 10 + (*q - '0') : e;
        if (q == p || (!minus && magnitude + e > 300))
            return NULL;
        p = q;
    }
    return p;
}

/* A number or literal: its end, or NULL. What follows is checked by the caller. */
static const char *token(const char *p, const char *end)
{
    static const char *const lits[] = {"true", "false", "null"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(lits[i]);
        if (*p == lits[i][0])
            return (size_t)(end - p) >= n && !memcmp(p, lits[i], n) ? p + n : NULL;
    }
    return number(p, end);
}

/* A scalar value at p (not a container), reported when it is an object member the
 * walker wants. Returns the byte after it, or NULL. */
static inline const char *scalar(struct walker *w, const char *p, const char *end,
                                 const struct hunt_json_span *key)
{
    struct hunt_json_span v;
    bool is_string = *p == '"', plain = false;
    const char *after = is_string ? string(&w->win, p, end, &v, &plain) : token(p, end);
    if (!after || w->is_array[w->depth])
        return after;
    int k = -1;
    if (w->keys && (k = key_index(w->keys, key->p, key->n)) < 0)
        return after;
    if (!is_string)
        v = (struct hunt_json_span){p, (size_t)(after - p)};
    struct hunt_json_member m = {.key = *key, .path = w->path, .depth = w->depth, .value = v,
                                 .is_string = is_string, .plain = plain, .key_index = k};
    w->fn(w->ctx, &m);
    return after;
}

enum after { AFTER_MEMBER, AFTER_DONE, AFTER_BAD };

/* After a value: a comma and the next member (none may be missing: "[1,]" is not
 * JSON), or closing brackets, each ending a container, up to the root's. *pp is left at
 * the next member, or after the root. */
static enum after after_value(struct walker *w, const char **pp, const char *end)
{
    const char *p = *pp;
    for (;;) {
        p = ws(p, end);
        if (p >= end)
            return AFTER_BAD;
        if (*p == ',') {
            p = ws(p + 1, end);
            if (p >= end || *p == '}' || *p == ']')
                return AFTER_BAD;
            *pp = p;
            return AFTER_MEMBER;
        }
        if (*p != (w->is_array[w->depth] ? ']' : '}'))
            return AFTER_BAD;
        p++;
        if (w->depth == 0) {
            *pp = p;
            return AFTER_DONE;
        }
        w->depth--;
    }
}

/* An object's "key": the key into *key; the value's first byte, or NULL. */
static const char *member_key(struct walker *w, const char *p, const char *end,
                              struct hunt_json_span *key)
{
    bool plain;
    if (p >= end || *p != '"' || !(p = string(&w->win, p, end, key, &plain)))
        return NULL;
    if (end - p >= 2 && p[0] == ':' && (unsigned char)p[1] > ' ')
        return p + 1; /* "key":value, as shippers write it */
    p = ws(p, end);
    if (p >= end || *p != ':')
        return NULL;
    p = ws(p + 1, end);
    return p < end ? p : NULL;
}

/* The walk: a loop over members with an explicit stack (no recursion, depth bounded). */
int hunt_json_scan_keys(const char *text, size_t n, const struct hunt_json_keys *keys,
                        hunt_json_member_fn fn, void *ctx)
{
    struct walker w; /* not zeroed whole: path[i] is read only once written */
    w.win = (struct window){.base = text};
    w.keys = keys, w.fn = fn, w.ctx = ctx;
    w.depth = 0;
    w.is_array[0] = false;
    const char *p = ws(text, text + n), *end = text + n;
    if (p >= end || *p != '{')
        return -1;
    p = ws(p + 1, end);
    if (p < end && *p == '}')
        return ws(p + 1, end) == end ? 0 : -1;
    for (;;) {
        struct hunt_json_span key = {"", 0};
        if (!w.is_array[w.depth] && !(p = member_key(&w, p, end, &key)))
            return -1;
        if (*p == '{' || *p == '[') {
            if (w.depth + 1 >= HUNT_JSON_MAX_DEPTH)
                return -1;
            w.path[w.depth] = key;
            w.is_array[++w.depth] = *p == '[';
            p = ws(p + 1, end);
            if (p >= end)
                return -1;
            if (*p != (w.is_array[w.depth] ? ']' : '}'))
                continue; /* its first member; an empty one closes below */
        } else if (!(p = scalar(&w, p, end, &key))) {
            return -1;
        } else if (end - p >= 2 && p[0] == ',' && p[1] == '"' && !w.is_array[w.depth]) {
            p++; /* ,"key": the next member, as shippers write it */
            continue;
        }
        switch (after_value(&w, &p, end)) {
        case AFTER_MEMBER: continue;
        case AFTER_DONE: return ws(p, end) == end ? 0 : -1;
        case AFTER_BAD: return -1;
        }
    }
}

int hunt_json_scan(const char *text, size_t n, hunt_json_member_fn fn, void *ctx)
{
    return hunt_json_scan_keys(text, n, NULL, fn, ctx);
}

/* ------------------------------------------------------------------ decoding */

static size_t utf8_put(char *w, unsigned cp)
{
    if (cp < 0x80) {
        w[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        w[0] = (char)(0xC0 | cp >> 6);
        w[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        w[0] = (char)(0xE0 | cp >> 12);
        w[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        w[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    w[0] = (char)(0xF0 | cp >> 18);
    w[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    w[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    w[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decode a string's content s[0..n) into w, which has room for n bytes (no escape
 * decodes longer than it is written). w may be s itself: the writing never passes the
 * reading, and runs move with memmove. The decoded length, or -1. */
static long decode(const char *s, size_t n, char *w)
{
    const char *p = s, *end = s + n;
    char *w0 = w;
    while (p < end) {
        const char *q = find_special(p, end), *next;
        memmove(w, p, (size_t)(q - p));
        w += q - p;
        if (q == end)
            break;
        unsigned cp;
        int c;
        if (*q == '\\' && end - q >= 2 && (c = simple_escape(q[1])) >= 0) { /* most */
            next = q + 2;
            *w++ = (char)c;
        } else if (*q == '"') { /* only a span not from the walk holds one bare */
            next = q + 1;
            *w++ = '"';
        } else if (!(next = special_end(q, end, &cp))) {
            return -1;
        } else if (*q == '\\') {
            w += utf8_put(w, cp);
        } else {
            memmove(w, q, (size_t)(next - q));
            w += next - q;
        }
        p = next;
    }
    return w - w0;
}

long hunt_json_decode_string(const struct hunt_json_member *m, struct buf *out)
{
    long at = (long)out->len;
    if (buf_reserve(out, m->value.n + 1) < 0)
        return -1;
    char *w = out->p + out->len;
    long n = (long)m->value.n;
    if (!m->is_string || m->plain) /* its text as it stands */
        memcpy(w, m->value.p, m->value.n);
    else if ((n = decode(m->value.p, m->value.n, w)) < 0)
        return -1;
    w[n] = '\0'; /* kept: the next value goes after it */
    out->len += (size_t)n + 1;
    out->p[out->len] = '\0';
    return at;
}

char *hunt_json_decode_in_place(const struct hunt_json_member *m)
{
    char *s = (char *)m->value.p; /* the caller's own, writable copy of the text */
    long n = (long)m->value.n;
    if (m->is_string && !m->plain && (n = decode(s, m->value.n, s)) < 0)
        return NULL;
    s[n] = '\0'; /* over the closing quote, or the byte after a number */
    return s;
}
