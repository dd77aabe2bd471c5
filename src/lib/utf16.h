/* Text encodings the registry uses: UTF-16LE (hives, regedit 5 files), Windows-1252
 * (REGEDIT4 files, 8-bit REG_SZ data) and UTF-8 (everything inside this project).
 * Conversions append to a buf; they go through iconv. Not thread-safe (cached handles). */
#ifndef SMSS_UTF16_H
#define SMSS_UTF16_H
#include "buf.h"
#include <stdbool.h>
#include <stddef.h>

/* len bytes of UTF-16LE (len even) to UTF-8. NUL units are converted like any other.
 * 0, or -1 with errno EILSEQ (unpaired surrogate, odd length) or ENOMEM. */
int utf16le_to_utf8(const void *src, size_t len, struct buf *out);
/* UTF-8 to UTF-16LE. 0, or -1 with errno EILSEQ (not UTF-8) or ENOMEM. */
int utf8_to_utf16le(const char *src, size_t len, struct buf *out);
/* Windows-1252 to UTF-8; the five bytes 1252 leaves undefined map to U+0081 etc., as
 * Windows itself maps them. Never fails but for ENOMEM. */
int cp1252_to_utf8(const void *src, size_t len, struct buf *out);
/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const char *s, size_t len);
/* Length of the well-formed UTF-8 sequence at s (at most len bytes), 0 when invalid. */
size_t utf8_sequence_length(const char *s, size_t len);

#endif
