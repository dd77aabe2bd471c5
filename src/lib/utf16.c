#include "utf16.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum { CV_1252_TO_8, CV_COUNT };

static iconv_t converter(int which)
{
    static iconv_t cache[CV_COUNT];
    static bool opened[CV_COUNT];
    static const char *const names[CV_COUNT][2] = {{"UTF-8", "WINDOWS-1252"}};
    if (!opened[which]) {
        cache[which] = iconv_open(names[which][0], names[which][1]);
        if (cache[which] == (iconv_t)-1)
            return cache[which];
        opened[which] = true;
    }
    iconv(cache[which], NULL, NULL, NULL, NULL); /* reset shift state */
    return cache[which];
}

/* Convert with iconv; on an invalid sequence call on_bad (if any) to emit a replacement
 * and skip `skip` bytes, else fail with EILSEQ. */
static int convert(int which, const char *src, size_t len, struct buf *out, size_t out_per_in,
                   bool latin_fallback)
{
    iconv_t cd = converter(which);
    if (cd == (iconv_t)-1)
        return -1;
    char *in = (char *)src;
    size_t left = len;
    while (left > 0) {
        if (buf_reserve(out, left * out_per_in + 8) < 0)
            return -1;
        char *o = out->p + out->len;
        size_t room = out->cap - out->len - 1;
        size_t r = iconv(cd, &in, &left, &o, &room);
        out->len = (size_t)(o - out->p);
        out->p[out->len] = '\0';
        if (r != (size_t)-1)
            break;
        if (errno == E2BIG)
            continue;
        if (latin_fallback && errno == EILSEQ) {
            /* An undefined 1252 byte: Windows maps it to the C1 control of that value. */
            unsigned char c = (unsigned char)*in;
            char u[2] = {(char)(0xC0 | (c >> 6)), (char)(0x80 | (c & 0x3F))};
            if (buf_append(out, u, 2) < 0)
                return -1;
            in++;
            left--;
            continue;
        }
        if (errno == EINVAL)
            errno = EILSEQ;
        return -1;
    }
    return 0;
}

/* The two UTF-16LE directions are plain loops rather than iconv: they carry every .reg
 * file and every hive string, and iconv's per-call overhead dominated reading. Same rules
 * as iconv: surrogates must pair, UTF-8 must be well-formed (no overlongs, no encoded
 * surrogates), NUL converts like any character. */
int utf16le_to_utf8(const void *src, size_t len, struct buf *out)
{
    if (len % 2) {
        errno = EILSEQ;
        return -1;
    }
    const uint8_t *s = src;
    size_t units = len / 2;
    if (buf_reserve(out, units * 3) < 0) /* at most 3 bytes per unit (a pair: 4 per 2) */
        return -1;
    unsigned char *o = (unsigned char *)out->p + out->len;
    for (size_t i = 0; i < units; i++) {
        /* Runs of ASCII, the bulk of .reg text, eight or four units at a time. */
#ifdef __SSE2__
        while (i + 8 <= units) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + 2 * i));
            __m128i high = _mm_and_si128(v, _mm_set1_epi16((short)0xFF80));
            if (_mm_movemask_epi8(_mm_cmpeq_epi16(high, _mm_setzero_si128())) != 0xFFFF)
                break;
            _mm_storel_epi64((__m128i *)(void *)o, _mm_packus_epi16(v, v));
            o += 8;
            i += 8;
        }
#endif
        while (i + 4 <= units) {
            uint64_t w;
            memcpy(&w, s + 2 * i, 8);
            if (w & 0xFF80FF80FF80FF80ull)
                break;
            o[0] = s[2 * i], o[1] = s[2 * i + 2], o[2] = s[2 * i + 4], o[3] = s[2 * i + 6];
            o += 4;
            i += 4;
        }
        if (i == units)
            break;
        uint32_t c = (uint32_t)s[2 * i] | (uint32_t)s[2 * i + 1] << 8;
        if (c < 0x80) {
            *o++ = (unsigned char)c;
        } else if (c < 0x800) {
            *o++ = (unsigned char)(0xC0 | c >> 6);
            *o++ = (unsigned char)(0x80 | (c & 0x3F));
        } else if (c < 0xD800 || c > 0xDFFF) {
            *o++ = (unsigned char)(0xE0 | c >> 12);
            *o++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            *o++ = (unsigned char)(0x80 | (c & 0x3F));
        } else {
            uint32_t lo = i + 1 < units ? (uint32_t)s[2 * i + 2] | (uint32_t)s[2 * i + 3] << 8 : 0;
            if (c > 0xDBFF || lo < 0xDC00 || lo > 0xDFFF) {
                out->p[out->len] = '\0'; /* nothing of this call kept */
                errno = EILSEQ;
                return -1;
            }
            c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
            i++;
            *o++ = (unsigned char)(0xF0 | c >> 18);
            *o++ = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            *o++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            *o++ = (unsigned char)(0x80 | (c & 0x3F));
        }
    }
    out->len = (size_t)((char *)o - out->p);
    out->p[out->len] = '\0';
    return 0;
}

int utf8_to_utf16le(const char *src, size_t len, struct buf *out)
{
    if (buf_reserve(out, len * 2) < 0) /* at most one unit (2 bytes) per byte */
        return -1;
    const unsigned char *s = (const unsigned char *)src;
    unsigned char *o = (unsigned char *)out->p + out->len;
    for (size_t i = 0; i < len;) {
        if (s[i] < 0x80) {
            *o++ = s[i++];
            *o++ = 0;
            continue;
        }
        size_t n = utf8_sequence_length(src + i, len - i);
        if (!n) {
            out->p[out->len] = '\0'; /* nothing of this call kept */
            errno = EILSEQ;
            return -1;
        }
        uint32_t c = s[i] & (0x7F >> n);
        for (size_t k = 1; k < n; k++)
            c = c << 6 | (s[i + k] & 0x3F);
        i += n;
        if (c >= 0x10000) {
            c -= 0x10000;
            uint32_t hi = 0xD800 | c >> 10, lo = 0xDC00 | (c & 0x3FF);
            *o++ = (unsigned char)hi, *o++ = (unsigned char)(hi >> 8);
            *o++ = (unsigned char)lo, *o++ = (unsigned char)(lo >> 8);
        } else {
            *o++ = (unsigned char)c, *o++ = (unsigned char)(c >> 8);
        }
    }
    out->len = (size_t)((char *)o - out->p);
    out->p[out->len] = '\0';
    return 0;
}

int cp1252_to_utf8(const void *src, size_t len, struct buf *out)
{
    return convert(CV_1252_TO_8, src, len, out, 3, true);
}

size_t utf8_sequence_length(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    if (len == 0)
        return 0;
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min;
    if ((c & 0xE0) == 0xC0)
        n = 1, min = 0x80, c &= 0x1F;
    else if ((c & 0xF0) == 0xE0)
        n = 2, min = 0x800, c &= 0x0F;
    else if ((c & 0xF8) == 0xF0)
        n = 3, min = 0x10000, c &= 0x07;
    else
        return 0;
    if (len <= n)
        return 0;
    for (size_t i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    return n + 1;
}

bool utf8_valid(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        /* ASCII runs are the common case: skip them eight bytes at a time. */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        size_t n = utf8_sequence_length(s + i, len - i);
        if (!n)
            return false;
        i += n;
    }
    return true;
}
