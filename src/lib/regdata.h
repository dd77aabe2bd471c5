/* Value data to C types and back: UTF-16LE strings, multi-strings, DWORDs, QWORDs. */
#ifndef SMSS_REGDATA_H
#define SMSS_REGDATA_H
#include "buf.h"
#include "regmodel.h"
#include <stdbool.h>
#include <stdint.h>

/* A string type's text up to its first NUL unit, as UTF-8 (malloc'd). A missing
 * terminator is tolerated (hives hold such data). 0, or -1 with errno EILSEQ when the
 * data is not UTF-16LE (odd length, unpaired surrogate) or ENOMEM. */
int regdata_string(const uint8_t *data, size_t len, char **out);
/* A REG_MULTI_SZ's elements, empty ones included: each NUL unit ends an element and the
 * list's own terminator (one trailing empty element) is dropped, exactly one. */
int regdata_multi(const uint8_t *data, size_t len, struct strlist *out);
/* REG_DWORD (little-endian) or REG_DWORD_BIG_ENDIAN of exactly 4 bytes. */
int regdata_dword(uint32_t type, const uint8_t *data, size_t len, uint32_t *out);
/* REG_QWORD of exactly 8 bytes. */
int regdata_qword(const uint8_t *data, size_t len, uint64_t *out);

/* Encoders, appending to out: a string as UTF-16LE with its NUL unit; a multi-string as
 * each element with its NUL unit, then the list's terminating NUL unit. */
int regdata_from_string(const char *utf8, struct buf *out);
int regdata_from_multi(const char *const *v, size_t n, struct buf *out);

/* True when a string value can be written as "text" and read back to the same bytes:
 * valid UTF-16LE, exactly one NUL unit at the very end, no line breaks. */
bool regdata_is_plain_string(const uint8_t *data, size_t len);

#endif
