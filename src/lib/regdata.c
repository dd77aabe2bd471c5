#include "regdata.h"
#include "utf16.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t units_until_nul(const uint8_t *data, size_t len)
{
    size_t i = 0;
    while (i + 1 < len && (data[i] | data[i + 1]))
        i += 2;
    return i;
}

int regdata_string(const uint8_t *data, size_t len, char **out)
{
    struct buf b = BUF_INIT;
    size_t n = units_until_nul(data, len & ~(size_t)1);
    if ((n == (len & ~(size_t)1) && len % 2) || utf16le_to_utf8(data, n, &b) < 0) {
        int e = errno == ENOMEM ? ENOMEM : EILSEQ;
        buf_free(&b);
        errno = e;
        return -1;
    }
    *out = buf_steal(&b);
    return *out ? 0 : -1;
}

int regdata_multi(const uint8_t *data, size_t len, struct strlist *out)
{
    if (len % 2) {
        errno = EILSEQ;
        return -1;
    }
    struct strlist l = STRLIST_INIT;
    size_t start = 0;
    bool trailing_empty = false;
    for (size_t i = 0; i <= len; i += 2) {
        bool end_of_data = i == len;
        if (!end_of_data && (data[i] | data[i + 1]))
            continue;
        if (end_of_data && i == start)
            break; /* nothing unterminated after the last NUL */
        struct buf b = BUF_INIT;
        if (utf16le_to_utf8(data + start, i - start, &b) < 0 || buf_reserve(&b, 0) < 0) {
            int e = errno;
            buf_free(&b);
            strlist_free(&l);
            errno = e == ENOMEM ? ENOMEM : EILSEQ;
            return -1;
        }
        trailing_empty = !end_of_data && b.len == 0;
        if (strlist_push_owned(&l, buf_steal(&b)) < 0) {
            strlist_free(&l);
            return -1;
        }
        start = i + 2;
    }
    if (trailing_empty) /* the list terminator */
        free(l.v[--l.n]);
    strlist_free(out);
    *out = l;
    return 0;
}

int regdata_dword(uint32_t type, const uint8_t *data, size_t len, uint32_t *out)
{
    if (len != 4 || (type != REG_DWORD && type != REG_DWORD_BIG_ENDIAN)) {
        errno = EINVAL;
        return -1;
    }
    if (type == REG_DWORD)
        *out = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
               (uint32_t)data[3] << 24;
    else
        *out = (uint32_t)data[3] | (uint32_t)data[2] << 8 | (uint32_t)data[1] << 16 |
               (uint32_t)data[0] << 24;
    return 0;
}

int regdata_qword(const uint8_t *data, size_t len, uint64_t *out)
{
    if (len != 8) {
        errno = EINVAL;
        return -1;
    }
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | data[i];
    *out = v;
    return 0;
}

int regdata_from_string(const char *utf8, struct buf *out)
{
    if (utf8_to_utf16le(utf8, strlen(utf8), out) < 0)
        return -1;
    return buf_append(out, "\0", 2);
}

int regdata_from_multi(const char *const *v, size_t n, struct buf *out)
{
    for (size_t i = 0; i < n; i++)
        if (regdata_from_string(v[i], out) < 0)
            return -1;
    return buf_append(out, "\0", 2);
}

bool regdata_is_plain_string(const uint8_t *data, size_t len)
{
    if (len < 2 || len % 2 || units_until_nul(data, len) != len - 2)
        return false;
    for (size_t i = 0; i + 2 < len; i += 2)
        if (data[i + 1] == 0 && (data[i] == '\n' || data[i] == '\r'))
            return false;
    struct buf b = BUF_INIT;
    bool ok = utf16le_to_utf8(data, len - 2, &b) == 0;
    buf_free(&b);
    return ok;
}
