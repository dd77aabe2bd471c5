#include "hunt_lookalike.h"
#include "buf.h"
#include "utf16.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

unsigned hunt_dl_distance(const char *a, size_t an, const char *b, size_t bn, unsigned max)
{
    if ((an > bn ? an - bn : bn - an) > max)
        return max + 1;
    if (an > 255 || bn > 255)
        return max + 1;
    /* Three rows of the optimal-string-alignment matrix. */
    unsigned rows[3][256];
    unsigned *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= bn; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= an; i++) {
        cur[0] = (unsigned)i;
        unsigned best = cur[0];
        for (size_t j = 1; j <= bn; j++) {
            unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
            unsigned v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (prev[j - 1] + cost < v)
                v = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < v)
                v = prev2[j - 2] + 1;
            cur[j] = v;
            if (v < best)
                best = v;
        }
        if (best > max)
            return max + 1;
        unsigned *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[bn] > max ? max + 1 : prev[bn];
}

/* Cyrillic and Greek letters that render like Latin ones (the usual masquerading set). */
static const struct {
    uint32_t cp;
    char latin;
} confusables[] = {
    {0x0430, 'a'}, {0x0435, 'e'}, {0x043E, 'o'}, {0x0440, 'p'}, {0x0441, 'c'}, {0x0443, 'y'},
    {0x0445, 'x'}, {0x0455, 's'}, {0x0456, 'i'}, {0x0458, 'j'}, {0x04CF, 'l'}, {0x0501, 'd'},
    {0x051B, 'q'}, {0x051D, 'w'}, {0x0410, 'a'}, {0x0412, 'b'}, {0x0415, 'e'}, {0x041A, 'k'},
    {0x041C, 'm'}, {0x041D, 'h'}, {0x041E, 'o'}, {0x0420, 'p'}, {0x0421, 'c'}, {0x0422, 't'},
    {0x0425, 'x'}, {0x0405, 's'}, {0x0406, 'i'}, {0x0408, 'j'}, {0x03BF, 'o'}, {0x03B1, 'a'},
    {0x03B9, 'i'}, {0x03BA, 'k'}, {0x03BD, 'v'}, {0x03C1, 'p'}, {0x03C5, 'u'}, {0x03C7, 'x'},
    {0x0391, 'a'}, {0x0392, 'b'}, {0x0395, 'e'}, {0x0396, 'z'}, {0x0397, 'h'}, {0x0399, 'i'},
    {0x039A, 'k'}, {0x039C, 'm'}, {0x039D, 'n'}, {0x039F, 'o'}, {0x03A1, 'p'}, {0x03A4, 't'},
    {0x03A5, 'y'}, {0x03A7, 'x'},
};

static bool is_bidi_control(uint32_t cp)
{
    return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E ||
           cp == 0x200F || cp == 0x061C;
}

static bool is_invisible(uint32_t cp)
{
    return (cp >= 0x200B && cp <= 0x200D) || cp == 0xFEFF || cp == 0x2060 || cp == 0x00AD;
}

/* Decode one well-formed UTF-8 sequence of n bytes. */
static uint32_t decode(const unsigned char *s, size_t n)
{
    if (n == 1)
        return s[0];
    uint32_t cp = s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++)
        cp = (cp << 6) | (s[i] & 0x3F);
    return cp;
}

char *hunt_name_fold(const char *name, bool *confusable, bool *bidi)
{
    struct buf out = BUF_INIT;
    size_t len = strlen(name);
    *confusable = *bidi = false;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence_length(name + i, len - i);
        if (n == 0) { /* not UTF-8: keep the byte as it is */
            buf_putc(&out, name[i]);
            i++;
            continue;
        }
        uint32_t cp = decode((const unsigned char *)name + i, n);
        char latin = 0;
        for (size_t k = 0; k < sizeof confusables / sizeof *confusables; k++)
            if (confusables[k].cp == cp)
                latin = confusables[k].latin;
        if (latin) {
            *confusable = true;
            buf_putc(&out, latin);
        } else if (is_bidi_control(cp)) {
            *bidi = true;
        } else if (!is_invisible(cp)) {
            if (n == 1)
                buf_putc(&out, (char)tolower((unsigned char)cp));
            else
                buf_append(&out, name + i, n);
        }
        i += n;
    }
    if (buf_puts(&out, "") < 0) {
        buf_free(&out);
        return NULL;
    }
    return buf_steal(&out);
}

size_t hunt_name_stem_len(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? (size_t)(dot - name) : strlen(name);
}

static bool listed(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(name, list[i]) == 0)
            return true;
    return false;
}

/* The closest protected name within the limit, or -1. */
static long closest(const char *folded, const char *const *prot, size_t n, unsigned *dist)
{
    long best = -1;
    unsigned bestd = 3;
    size_t fl = hunt_name_stem_len(folded);
    for (size_t i = 0; i < n; i++) {
        char low[256];
        size_t pl = strlen(prot[i]);
        if (pl >= sizeof low)
            continue;
        for (size_t k = 0; k <= pl; k++)
            low[k] = (char)tolower((unsigned char)prot[i][k]);
        size_t ps = hunt_name_stem_len(low);
        unsigned limit = (fl <= 4 || ps <= 4) ? 1 : 2;
        unsigned d = hunt_dl_distance(folded, fl, low, ps, limit);
        if (d <= limit && d < bestd) {
            bestd = d;
            best = (long)i;
        }
    }
    *dist = bestd;
    return best;
}

enum hunt_lookalike_kind hunt_lookalike_check(const char *name,
                                              const char *const *protected_names,
                                              size_t nprotected, const char *const *known,
                                              size_t nknown, struct hunt_lookalike *out)
{
    *out = (struct hunt_lookalike){HUNT_LOOKALIKE_NONE, NULL, 0};
    if (!name || !*name)
        return HUNT_LOOKALIKE_NONE;
    bool confusable = false, bidi = false;
    char *folded = hunt_name_fold(name, &confusable, &bidi);
    if (!folded)
        return HUNT_LOOKALIKE_NONE;
    unsigned d = 0;
    long target = closest(folded, protected_names, nprotected, &d);
    if (bidi) {
        out->kind = HUNT_LOOKALIKE_BIDI;
    } else if (confusable && target >= 0) {
        out->kind = HUNT_LOOKALIKE_CONFUSABLE;
    } else if (target >= 0 && !confusable && !listed(name, known, nknown) &&
               !listed(name, protected_names, nprotected)) {
        out->kind = HUNT_LOOKALIKE_EDIT;
    }
    if (out->kind != HUNT_LOOKALIKE_NONE && target >= 0) {
        out->target = protected_names[target];
        out->distance = d;
    }
    free(folded);
    return out->kind;
}
