/* Writing .reg files in regedit's form: Version 5.00 header, [key] lines, values as
 * "text", dword:0000abcd or hex lists wrapped as regedit wraps them, a blank line after
 * each key. Data that "text" or dword: cannot give back byte for byte is written as
 * hex(N): so that reading the file restores every value exactly. */
#include "regtext.h"
#include "regdata.h"
#include "utf16.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* regedit breaks a hex list once a line reaches this many characters, and indents the
 * continuation lines by two blanks. */
enum { HEX_LINE_LIMIT = 77 };

void regtext_writer_init(struct regtext_writer *w) { *w = (struct regtext_writer){BUF_INIT, 0}; }

void regtext_writer_free(struct regtext_writer *w) { buf_free(&w->text); }

static int put_quoted(struct buf *b, const char *s, size_t n)
{
    if (buf_putc(b, '"') < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if ((s[i] == '\\' || s[i] == '"') && buf_putc(b, '\\') < 0)
            return -1;
        if (buf_putc(b, s[i]) < 0)
            return -1;
    }
    return buf_putc(b, '"');
}

int regtext_write_comment(struct regtext_writer *w, const char *comment)
{
    return buf_printf(&w->text, "; %s\n", comment);
}

int regtext_write_key_header(struct regtext_writer *w, const char *path)
{
    return buf_printf(&w->text, "[%s]\n", path);
}

/* Width of UTF-8 text in UTF-16 units, as regedit counts a line's characters. */
static size_t text_width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        w += (c & 0xC0) != 0x80;   /* one per sequence start */
        w += c >= 0xF0;            /* a surrogate pair is two */
    }
    return w;
}

static int put_hex(struct buf *b, uint32_t type, const uint8_t *data, size_t len,
                   size_t line_len)
{
    static const char digits[] = "0123456789abcdef";
    int r = type == REG_BINARY ? buf_puts(b, "hex:") : buf_printf(b, "hex(%x):", type);
    if (r < 0)
        return -1;
    line_len += (size_t)(type == REG_BINARY ? 4 : (size_t)snprintf(NULL, 0, "hex(%x):", type));
    if (buf_reserve(b, len * 3 + len / 20 * 5 + 8) < 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char hx[3] = {digits[data[i] >> 4], digits[data[i] & 15], ','};
        if (buf_append(b, hx, i + 1 < len ? 3 : 2) < 0)
            return -1;
        if (i + 1 == len)
            break;
        line_len += 3;
        if (line_len >= HEX_LINE_LIMIT) {
            if (buf_puts(b, "\\\n  ") < 0)
                return -1;
            line_len = 2;
        }
    }
    return buf_putc(b, '\n');
}

int regtext_write_value(struct regtext_writer *w, const struct reg_value *v)
{
    struct buf *b = &w->text;
    size_t name_len = strlen(v->name);
    /* A CR inside the quotes reads back as it is (only CR LF ends a line); LF cannot. */
    if (memchr(v->name, '\n', name_len)) {
        w->skipped++;
        return buf_puts(b, "; a value whose name has a line break cannot be written in .reg "
                           "text; left out\n");
    }
    size_t start = b->len;
    if ((name_len ? put_quoted(b, v->name, name_len) : buf_putc(b, '@')) < 0 ||
        buf_putc(b, '=') < 0)
        return -1;
    size_t prefix = text_width(b->p + start, b->len - start);
    if (v->type == REG_SZ && regdata_is_plain_string(v->data, v->len)) {
        struct buf s = BUF_INIT;
        int r = utf16le_to_utf8(v->data, v->len - 2, &s);
        if (r == 0)
            r = put_quoted(b, s.p ? s.p : "", s.len);
        buf_free(&s);
        return r < 0 ? -1 : buf_putc(b, '\n');
    }
    if (v->type == REG_DWORD && v->len == 4) {
        uint32_t d;
        regdata_dword(REG_DWORD, v->data, v->len, &d);
        return buf_printf(b, "dword:%08x\n", d);
    }
    return put_hex(b, v->type, v->data, v->len, prefix);
}

int regtext_write_key_as(struct regtext_writer *w, const struct reg_key *k, const char *path,
                         bool recursive)
{
    if (strchr(path, '\n')) { /* a hive can hold such a name; .reg text cannot */
        w->skipped++;
        return buf_puts(&w->text, "; a key whose name has a line break cannot be written in "
                                  ".reg text; left out with its subtree\n\n");
    }
    int r = regtext_write_key_header(w, path);
    for (size_t i = 0; r == 0 && i < reg_key_value_count(k); i++)
        r = regtext_write_value(w, reg_key_value(k, i));
    if (r == 0)
        r = buf_putc(&w->text, '\n');
    for (size_t i = 0; recursive && r == 0 && i < reg_key_subkey_count(k); i++) {
        const struct reg_key *sub = reg_key_subkey(k, i);
        struct buf p = BUF_INIT;
        r = buf_printf(&p, "%s\\%s", path, reg_key_name(sub));
        if (r == 0)
            r = regtext_write_key_as(w, sub, p.p, true);
        buf_free(&p);
    }
    return r;
}

int regtext_write_key(struct regtext_writer *w, const struct reg_key *k, bool recursive)
{
    char *path = reg_key_path(k);
    if (!path)
        return -1;
    int r = regtext_write_key_as(w, k, path, recursive);
    free(path);
    return r;
}

static int lf_to_crlf(const char *s, size_t n, struct buf *out)
{
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t run = nl ? (size_t)(nl - (s + i)) : n - i;
        if (buf_append(out, s + i, run) < 0 || (nl && buf_append(out, "\r\n", 2) < 0))
            return -1;
        i += run + (nl ? 1 : 0);
    }
    return 0;
}

int regtext_writer_finish(struct regtext_writer *w, enum regtext_encoding enc, struct buf *out)
{
    struct buf all = BUF_INIT, crlf = BUF_INIT;
    int r = buf_puts(&all, "Windows Registry Editor Version 5.00\n\n");
    if (r == 0)
        r = buf_append(&all, w->text.p ? w->text.p : "", w->text.len);
    if (r == 0 && enc == REGTEXT_UTF8)
        r = buf_append(out, all.p, all.len);
    else if (r == 0) /* regedit's own: byte-order mark, UTF-16LE, CRLF */
        r = lf_to_crlf(all.p, all.len, &crlf) < 0 || buf_append(out, "\xFF\xFE", 2) < 0 ||
                    utf8_to_utf16le(crlf.p, crlf.len, out) < 0
                ? -1
                : 0;
    buf_free(&all);
    buf_free(&crlf);
    buf_free(&w->text);
    w->skipped = 0;
    return r;
}
