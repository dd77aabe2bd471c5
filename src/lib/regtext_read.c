/* Reading .reg files.
 *
 * The file is first turned into UTF-8 text whatever its encoding (UTF-16LE with or
 * without byte-order mark, UTF-8 with or without, Windows-1252 for REGEDIT4), then read
 * line by line into a list of operations. Only when the whole file parsed without error
 * are the operations applied to the store, so a bad file changes nothing. */
#include "regtext.h"
#include "regdata.h"
#include "utf16.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { VALUE_NAME_MAX = 16383, KEY_NAME_MAX = 255 };

static const char HEADER_V5[] = "Windows Registry Editor Version 5.00";
static const char HEADER_V4[] = "REGEDIT4";
static const char *const ROOT_KEYS[] = {
    "HKEY_LOCAL_MACHINE", "HKEY_CURRENT_USER", "HKEY_CLASSES_ROOT", "HKEY_USERS",
    "HKEY_CURRENT_CONFIG", "HKLM", "HKCU", "HKCR", "HKU", "HKCC"};

enum op_kind { OP_KEY, OP_DELETE_KEY, OP_SET, OP_DELETE_VALUE };

/* Strings and data live in the parser's pool; operations refer to them by offset so the
 * pool can grow. */
struct op {
    enum op_kind kind;
    uint32_t type;
    unsigned line;
    size_t a_off, a_len; /* key path, or value name */
    size_t b_off, b_len; /* value data */
};

enum key_state { NO_KEY, KEY_OK, KEY_BAD, KEY_DELETED };

struct parser {
    const char *file;
    struct diags *diags;
    size_t errors_at_start;
    bool v4;
    const char *p, *end; /* the text still to read */
    const char *ls, *le; /* the current physical line, without its line break */
    unsigned line;
    enum key_state key;
    struct buf pool, scratch, conv; /* conv: a "text" value as UTF-16LE */
    struct op *ops;
    size_t nops, capops;
    bool oom;
};

/* ---- lines, positions, errors -------------------------------------------------- */

static bool next_line(struct parser *P)
{
    if (P->p >= P->end)
        return false;
    P->ls = P->p;
    const char *nl = memchr(P->p, '\n', (size_t)(P->end - P->p));
    P->le = nl ? nl : P->end;
    P->p = nl ? nl + 1 : P->end;
    if (P->le > P->ls && P->le[-1] == '\r')
        P->le--;
    P->line++;
    return true;
}

/* 1-based column of a position in the current line, in characters. */
static unsigned column_of(const struct parser *P, const char *at)
{
    unsigned col = 1;
    for (const char *c = P->ls; c < at && c < P->le; col++) {
        size_t n = utf8_sequence_length(c, (size_t)(P->le - c));
        c += n ? n : 1;
    }
    return col;
}

__attribute__((format(printf, 3, 4))) static void error_at(struct parser *P, const char *at,
                                                           const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_at(P->diags, DIAG_ERROR, P->file, P->line, column_of(P, at), "%s", msg);
}

static const char *skip_blanks(const struct parser *P, const char *c)
{
    while (c < P->le && (*c == ' ' || *c == '\t'))
        c++;
    return c;
}

/* After a complete value: only blanks or a ; comment may follow. */
static bool expect_line_end(struct parser *P, const char *c, const char *what)
{
    c = skip_blanks(P, c);
    if (c < P->le && *c != ';') {
        error_at(P, c, "unexpected text after %s; remove it or start a comment with ';'", what);
        return false;
    }
    return true;
}

/* ---- operations ---------------------------------------------------------------- */

static bool pool_add(struct parser *P, const void *data, size_t n, size_t *off)
{
    *off = P->pool.len;
    if (buf_append(&P->pool, data, n) < 0) {
        P->oom = true;
        return false;
    }
    return true;
}

static void add_op(struct parser *P, enum op_kind kind, uint32_t type, const char *a,
                   size_t an, const void *b, size_t bn)
{
    if (P->nops == P->capops) {
        size_t cap = P->capops ? P->capops * 2 : 256;
        struct op *v = realloc(P->ops, cap * sizeof *v);
        if (!v) {
            P->oom = true;
            return;
        }
        P->ops = v;
        P->capops = cap;
    }
    struct op *o = &P->ops[P->nops];
    *o = (struct op){kind, type, P->line, 0, an, 0, bn};
    size_t nul;
    if (!pool_add(P, a, an, &o->a_off) || !pool_add(P, "", 1, &nul) ||
        !pool_add(P, b, bn, &o->b_off))
        return;
    P->nops++;
}

/* ---- key lines ----------------------------------------------------------------- */

static bool valid_key_path(struct parser *P, const char *path, size_t n)
{
    const char *c = path, *end = path + n;
    const char *root_end = memchr(path, '\\', n);
    size_t root_len = (size_t)((root_end ? root_end : end) - path);
    bool root_ok = false;
    for (size_t i = 0; i < sizeof ROOT_KEYS / sizeof *ROOT_KEYS; i++)
        root_ok |= reg_name_equal(path, root_len, ROOT_KEYS[i], strlen(ROOT_KEYS[i]));
    if (!root_ok) {
        error_at(P, path,
                 "unknown root key '%.*s'; a key path starts with HKEY_LOCAL_MACHINE, "
                 "HKEY_CURRENT_USER, HKEY_CLASSES_ROOT, HKEY_USERS or HKEY_CURRENT_CONFIG",
                 (int)(root_len > 60 ? 60 : root_len), path);
        return false;
    }
    while (c <= end) {
        const char *sep = memchr(c, '\\', (size_t)(end - c));
        const char *comp_end = sep ? sep : end;
        if (comp_end == c) {
            error_at(P, c, "empty key name in the path (two '\\' in a row, or one at an end)");
            return false;
        }
        size_t chars = 0; /* UTF-16 units, as the registry counts */
        for (const char *q = c; q < comp_end; q++)
            chars += (((unsigned char)*q & 0xC0) != 0x80) + ((unsigned char)*q >= 0xF0);
        if (chars > KEY_NAME_MAX) {
            error_at(P, c, "key name of %zu characters; the registry allows at most %d",
                     chars, KEY_NAME_MAX);
            return false;
        }
        c = comp_end + 1;
        if (!sep)
            break;
    }
    return true;
}

static void parse_key_line(struct parser *P, const char *c)
{
    const char *close = P->le;
    while (close > c && close[-1] != ']')
        close--;
    if (close == c) {
        error_at(P, P->le, "key line has no closing ']'");
        P->key = KEY_BAD;
        return;
    }
    close--; /* at the ']' */
    if (!expect_line_end(P, close + 1, "the key's ']'")) {
        P->key = KEY_BAD;
        return;
    }
    const char *path = c + 1;
    bool del = path < close && *path == '-';
    if (del)
        path++;
    if (!valid_key_path(P, path, (size_t)(close - path))) {
        P->key = KEY_BAD;
        return;
    }
    add_op(P, del ? OP_DELETE_KEY : OP_KEY, 0, path, (size_t)(close - path), NULL, 0);
    P->key = del ? KEY_DELETED : KEY_OK;
}

/* ---- value lines --------------------------------------------------------------- */

/* A quoted string starting at *c (on the '"'); unescaped into P->scratch. */
static bool parse_quoted(struct parser *P, const char **c, const char *what)
{
    const char *q = *c + 1;
    P->scratch.len = 0;
    for (;;) {
        const char *run = q;
        while (q < P->le && *q != '"' && *q != '\\')
            q++;
        if (buf_append(&P->scratch, run, (size_t)(q - run)) < 0) {
            P->oom = true;
            return false;
        }
        if (q >= P->le) {
            error_at(P, *c, "%s has no closing '\"'", what);
            return false;
        }
        if (*q == '"')
            break;
        if (q + 1 < P->le && (q[1] == '\\' || q[1] == '"')) {
            if (buf_putc(&P->scratch, q[1]) < 0) {
                P->oom = true;
                return false;
            }
            q += 2;
            continue;
        }
        error_at(P, q,
                 "a backslash in %s must be written '\\\\' (only \\\\ and \\\" are escapes in "
                 ".reg text)",
                 what);
        return false;
    }
    *c = q + 1;
    return true;
}

/* Hex digit value + 1 (0: not a hex digit), for the byte loop. */
static const unsigned char HEXV[256] = {
    ['0'] = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ['A'] = 11, 12, 13, 14, 15, 16,
    ['a'] = 11, 12, 13, 14, 15, 16,
};

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* 1 to max hex digits at *c into *out. */
static bool parse_hex_number(struct parser *P, const char **c, unsigned max, uint32_t *out,
                             const char *what)
{
    const char *q = *c;
    uint32_t v = 0;
    unsigned n = 0;
    int d;
    while (q < P->le && (d = hex_digit(*q)) >= 0) {
        v = v << 4 | (uint32_t)d;
        q++;
        n++;
    }
    if (n == 0 || n > max) {
        error_at(P, *c, "%s takes 1 to %u hex digits", what, max);
        return false;
    }
    *c = q;
    *out = v;
    return true;
}

/* After an error inside a hex list: its remaining continuation lines belong to the same
 * value, so they are passed over rather than reported again as lines of their own. */
static bool skip_continuations(struct parser *P)
{
    for (;;) {
        const char *e = P->le;
        while (e > P->ls && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e == P->ls || e[-1] != '\\' || !next_line(P))
            return false;
    }
}

static bool parse_hex_list(struct parser *P, const char *c);

/* The comma-separated bytes of hex: and hex(N):, over continuation lines, into scratch. */
static bool parse_hex_bytes(struct parser *P, const char *c)
{
    bool ok = parse_hex_list(P, c);
    if (P->scratch.p) /* the byte loop stores without it; a buf ends with a NUL */
        P->scratch.p[P->scratch.len] = '\0';
    return ok || skip_continuations(P);
}

/* Room in scratch for every byte the rest of the line can hold (a byte takes at least
 * one digit and a comma), so the loop below stores without checking. */
static bool reserve_line(struct parser *P, const char *c)
{
    if (buf_reserve(&P->scratch, (size_t)(P->le - c) / 2 + 1) == 0)
        return true;
    P->oom = true;
    return false;
}

static bool parse_hex_list(struct parser *P, const char *c)
{
    P->scratch.len = 0;
    if (!reserve_line(P, c))
        return false;
    bool after_comma = false; /* where a line continuation may come */
    for (;;) {
        /* The common case, "xx," again and again, without the general checks. */
        const unsigned char *u = (const unsigned char *)c;
        while (P->le - c >= 3 && HEXV[u[0]] && HEXV[u[1]] && u[2] == ',') {
            P->scratch.p[P->scratch.len++] = (char)((HEXV[u[0]] - 1) << 4 | (HEXV[u[1]] - 1));
            u += 3;
            c += 3;
            after_comma = true;
        }
        c = skip_blanks(P, c);
        if (c >= P->le || *c == ';')
            return true;
        if (*c == '\\' && after_comma) {
            if (skip_blanks(P, c + 1) != P->le) {
                error_at(P, c + 1, "text after the line continuation '\\'");
                next_line(P); /* the next line still continues this value */
                return false;
            }
            if (!next_line(P)) {
                error_at(P, c, "the line continuation '\\' is on the last line of the file");
                return false;
            }
            c = P->ls;
            after_comma = false;
            if (!reserve_line(P, c))
                return false;
            continue;
        }
        int hi = hex_digit(*c), lo = c + 1 < P->le ? hex_digit(c[1]) : -1;
        if (hi < 0) {
            error_at(P, c, "expected a byte as two hex digits (as in hex:0a,ff)");
            return false;
        }
        unsigned char byte = (unsigned char)(lo < 0 ? hi : hi << 4 | lo);
        c += lo < 0 ? 1 : 2;
        if (c < P->le && hex_digit(*c) >= 0) {
            error_at(P, c - 2, "a byte has at most two hex digits; separate bytes with ','");
            return false;
        }
        P->scratch.p[P->scratch.len++] = (char)byte;
        c = skip_blanks(P, c);
        if (c >= P->le || *c == ';')
            return true;
        if (*c == '\\') {
            error_at(P, c, "expected ',' before the line continuation '\\'");
            return false;
        }
        if (*c != ',') {
            error_at(P, c, "expected ',' between hex bytes");
            return false;
        }
        c++;
        after_comma = true;
    }
}

static bool is_string_type(uint32_t type)
{
    return type == REG_SZ || type == REG_EXPAND_SZ || type == REG_LINK || type == REG_MULTI_SZ;
}

/* REGEDIT4 files hold string types' hex payloads as ANSI bytes: make them UTF-16LE. */
static bool ansi_payload_to_utf16(struct parser *P)
{
    struct buf u8 = BUF_INIT, u16 = BUF_INIT;
    bool ok = cp1252_to_utf8(P->scratch.p, P->scratch.len, &u8) == 0 &&
              utf8_to_utf16le(u8.p ? u8.p : "", u8.len, &u16) == 0;
    if (ok) {
        P->scratch.len = 0;
        ok = buf_append(&P->scratch, u16.p, u16.len) == 0;
    }
    if (!ok)
        P->oom = true;
    buf_free(&u8);
    buf_free(&u16);
    return ok;
}

static bool starts_with_nocase(const char *c, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(end - c) >= n && strncasecmp(c, word, n) == 0;
}

static void parse_value_line(struct parser *P, const char *c)
{
    const char *line_start = c;
    char name[VALUE_NAME_MAX + 1]; /* kept here: scratch is reused for the data */
    size_t name_len = 0;
    if (*c == '@') {
        c++;
    } else {
        if (!parse_quoted(P, &c, "the value name"))
            return;
        name_len = P->scratch.len;
        if (name_len > VALUE_NAME_MAX) {
            error_at(P, line_start, "value name of %zu bytes; the registry allows at most %d",
                     name_len, VALUE_NAME_MAX);
            return;
        }
        if (name_len)
            memcpy(name, P->scratch.p, name_len);
    }
    name[name_len] = '\0';

    c = skip_blanks(P, c);
    if (c >= P->le || *c != '=') {
        error_at(P, c, "expected '=' after the value name");
        return;
    }
    c = skip_blanks(P, c + 1);
    const char *data_start = c;
    uint32_t type;
    if (c < P->le && *c == '-') {
        if (!expect_line_end(P, c + 1, "'-' (delete the value)"))
            return;
        if (P->key == KEY_OK)
            add_op(P, OP_DELETE_VALUE, 0, name, name_len, NULL, 0);
        return;
    } else if (c < P->le && *c == '"') {
        if (!parse_quoted(P, &c, "the string") || !expect_line_end(P, c, "the string"))
            return;
        P->conv.len = 0;
        if (utf8_to_utf16le(P->scratch.p ? P->scratch.p : "", P->scratch.len, &P->conv) < 0 ||
            buf_append(&P->conv, "\0", 2) < 0) {
            P->oom = true;
            return;
        }
        if (P->key == KEY_OK)
            add_op(P, OP_SET, REG_SZ, name, name_len, P->conv.p, P->conv.len);
        return;
    } else if (starts_with_nocase(c, P->le, "dword:")) {
        c += 6;
        uint32_t v;
        if (!parse_hex_number(P, &c, 8, &v, "dword:") ||
            !expect_line_end(P, c, "the dword value"))
            return;
        uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
        if (P->key == KEY_OK)
            add_op(P, OP_SET, REG_DWORD, name, name_len, le, 4);
        return;
    } else if (starts_with_nocase(c, P->le, "hex:")) {
        type = REG_BINARY;
        c += 4;
    } else if (starts_with_nocase(c, P->le, "hex(")) {
        c += 4;
        if (!parse_hex_number(P, &c, 8, &type, "hex(N) type number"))
            return;
        if (c + 1 >= P->le || c[0] != ')' || c[1] != ':') {
            error_at(P, c, "expected '):' after the type number of hex(N)");
            return;
        }
        c += 2;
    } else {
        error_at(P, data_start,
                 "expected a value after '=': \"text\", dword:0000abcd, hex:aa,bb, "
                 "hex(N):aa,bb or - to delete");
        return;
    }
    unsigned first_line = P->line;
    if (!parse_hex_bytes(P, c))
        return;
    if (P->v4 && is_string_type(type) && !ansi_payload_to_utf16(P))
        return;
    if (P->key == KEY_OK) {
        unsigned last_line = P->line;
        P->line = first_line; /* the value's origin is where it starts */
        add_op(P, OP_SET, type, name, name_len, P->scratch.p, P->scratch.len);
        P->line = last_line;
    }
}

static void parse_line(struct parser *P)
{
    const char *c = skip_blanks(P, P->ls);
    if (c >= P->le || *c == ';')
        return;
    if (memchr(c, '\0', (size_t)(P->le - c))) {
        error_at(P, memchr(c, '\0', (size_t)(P->le - c)), "NUL character in the text");
        return;
    }
    if (*c == '[') {
        parse_key_line(P, c);
        return;
    }
    if (*c != '"' && *c != '@') {
        error_at(P, c, "expected a [key] line, a \"name\"=value line, @=value, or a ; comment");
        return;
    }
    size_t before = P->diags->errors;
    unsigned line = P->line, col = column_of(P, c); /* before continuation lines move on */
    parse_value_line(P, c);
    if (P->diags->errors != before)
        return;
    if (P->key == NO_KEY)
        diag_at(P->diags, DIAG_ERROR, P->file, line, col,
                "value before any [key] line; put a [HKEY_LOCAL_MACHINE\\...] line above it");
    else if (P->key == KEY_DELETED)
        diag_at(P->diags, DIAG_ERROR, P->file, line, col,
                "value under a key deletion line [-...]; add a [key] line for it");
}

/* ---- encodings ----------------------------------------------------------------- */

/* Report where UTF-16LE text stops being valid (an unpaired surrogate). */
static void report_bad_utf16(struct parser *P, const uint8_t *d, size_t len)
{
    unsigned line = 1, col = 1;
    for (size_t i = 0; i + 1 < len; i += 2, col++) {
        unsigned u = d[i] | d[i + 1] << 8;
        if (u == '\n') {
            line++;
            col = 0;
        } else if (u >= 0xD800 && u <= 0xDBFF) {
            unsigned next = i + 3 < len ? (unsigned)(d[i + 2] | d[i + 3] << 8) : 0;
            if (next >= 0xDC00 && next <= 0xDFFF) {
                i += 2;
                continue;
            }
            break;
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
            break;
        }
    }
    diag_at(P->diags, DIAG_ERROR, P->file, line, col,
            "invalid UTF-16LE text (an unpaired surrogate); the file is damaged");
}

static void report_bad_utf8(struct parser *P, const char *text, size_t len)
{
    P->p = text;
    P->end = text + len;
    while (next_line(P)) {
        for (const char *c = P->ls; c < P->le;) {
            size_t n = utf8_sequence_length(c, (size_t)(P->le - c));
            if (!n) {
                error_at(P, c,
                         "not UTF-8 text; save the file as UTF-8 or as UTF-16LE with a "
                         "byte-order mark (regedit's own form)");
                return;
            }
            c += n;
        }
    }
    diag_at(P->diags, DIAG_ERROR, P->file, 0, 0, "not UTF-8 text");
}

/* Turn the file's bytes into UTF-8 text in *text. False on error (reported). */
static bool decode_text(struct parser *P, const uint8_t *d, size_t len, struct buf *text,
                        const char **out, size_t *out_len)
{
    bool utf16 = false;
    if (len >= 2 && d[0] == 0xFE && d[1] == 0xFF) {
        diag_at(P->diags, DIAG_ERROR, P->file, 1, 1,
                "UTF-16 big-endian text; regedit reads UTF-16LE: convert the file "
                "(iconv -f UTF-16BE -t UTF-16LE) and add a byte-order mark");
        return false;
    }
    if (len >= 2 && d[0] == 0xFF && d[1] == 0xFE) {
        d += 2, len -= 2, utf16 = true;
    } else if (len >= 3 && d[0] == 0xEF && d[1] == 0xBB && d[2] == 0xBF) {
        d += 3, len -= 3;
    } else if (len >= 4 && d[0] && !d[1] && d[2] && !d[3]) {
        utf16 = true; /* UTF-16LE without a byte-order mark */
    }
    if (utf16) {
        if (len % 2) {
            diag_at(P->diags, DIAG_ERROR, P->file, 0, 0,
                    "UTF-16LE file with an odd number of bytes; it was cut short");
            return false;
        }
        if (utf16le_to_utf8(d, len, text) < 0) {
            if (errno == ENOMEM)
                P->oom = true;
            else
                report_bad_utf16(P, d, len);
            return false;
        }
        *out = text->p ? text->p : "";
        *out_len = text->len;
        return true;
    }
    if (len >= sizeof HEADER_V4 - 1 && memcmp(d, HEADER_V4, sizeof HEADER_V4 - 1) == 0) {
        if (cp1252_to_utf8(d, len, text) < 0) { /* REGEDIT4: ANSI text */
            P->oom = true;
            return false;
        }
        *out = text->p ? text->p : "";
        *out_len = text->len;
        return true;
    }
    if (!utf8_valid((const char *)d, len)) {
        report_bad_utf8(P, (const char *)d, len);
        return false;
    }
    *out = (const char *)d;
    *out_len = len;
    return true;
}

static bool parse_header(struct parser *P)
{
    if (!next_line(P)) {
        diag_at(P->diags, DIAG_ERROR, P->file, 1, 1,
                "empty file; a .reg file starts with the line '%s'", HEADER_V5);
        return false;
    }
    const char *e = P->le;
    while (e > P->ls && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    size_t n = (size_t)(e - P->ls);
    if (n == sizeof HEADER_V5 - 1 && memcmp(P->ls, HEADER_V5, n) == 0)
        return true;
    if (n == sizeof HEADER_V4 - 1 && memcmp(P->ls, HEADER_V4, n) == 0) {
        P->v4 = true;
        return true;
    }
    error_at(P, P->ls, "expected the header line '%s' (or 'REGEDIT4'), found '%.*s'",
             HEADER_V5, (int)(n > 60 ? 60 : n), P->ls);
    /* Go on as a version 5 file, to list the other errors too; a first line that is a
     * key (the header left out) is read as one. */
    const char *c = skip_blanks(P, P->ls);
    if (c < P->le && *c == '[') {
        P->p = P->ls;
        P->line = 0;
    }
    return true;
}

/* ---- applying ------------------------------------------------------------------ */

/* A [key] line's key, found from the previous key line's rather than from the root: an
 * export lists a key's subkeys right after it, so most paths extend or share the previous
 * one. Only a byte-identical prefix ending at a component boundary is reused (then the
 * same keys are meant, whatever the case rules); the rest is created as usual. */
struct last_key {
    const char *path;
    size_t len;
    struct reg_key *key;
};

static struct reg_key *create_key(struct reg_store *store, struct last_key *last,
                                  const char *path, size_t n, struct reg_origin origin)
{
    struct reg_key *base = reg_store_root(store);
    size_t from = 0;
    if (last->key) {
        size_t common = 0, max = n < last->len ? n : last->len;
        while (common < max && path[common] == last->path[common])
            common++;
        /* Up from the last key (named by last->path[0..p)) to the deepest one whose
         * path is also a whole-component prefix of the new path. */
        struct reg_key *k = last->key;
        size_t p = last->len;
        while (k && !(p <= common && (p == n || path[p] == '\\'))) {
            while (p > 0 && last->path[p - 1] != '\\')
                p--;
            k = p ? reg_key_parent(k) : NULL;
            p = p ? p - 1 : 0;
        }
        if (k) {
            base = k;
            from = p == n ? n : p + 1;
        }
    }
    struct reg_key *key = reg_key_create(store, base, path + from, n - from, origin);
    *last = (struct last_key){path, n, key};
    return key;
}

static int apply_ops(struct parser *P, struct reg_store *store)
{
    uint32_t source = reg_store_add_source(store, P->file);
    struct reg_key *root = reg_store_root(store), *key = NULL;
    struct last_key last = {NULL, 0, NULL};
    for (size_t i = 0; i < P->nops; i++) {
        const struct op *o = &P->ops[i];
        const char *a = P->pool.p + o->a_off;
        struct reg_origin origin = {source, o->line};
        switch (o->kind) {
        case OP_KEY:
            key = create_key(store, &last, a, o->a_len, origin);
            if (!key)
                return -1;
            break;
        case OP_DELETE_KEY: {
            struct reg_key *k = reg_key_lookup_n(root, a, o->a_len);
            if (k)
                reg_key_delete(store, k);
            key = NULL;
            last.key = NULL; /* it may have been deleted */
            break;
        }
        case OP_SET: /* a is NUL-terminated in the pool */
            if (reg_value_set(store, key, a, o->type, P->pool.p + o->b_off, o->b_len,
                              origin) < 0)
                return -1;
            break;
        case OP_DELETE_VALUE:
            reg_value_delete(key, a);
            break;
        }
    }
    return 0;
}

int regtext_load_buffer(struct reg_store *store, const char *name, const void *data,
                        size_t len, struct diags *diags)
{
    struct parser P = {.file = name, .diags = diags, .errors_at_start = diags->errors};
    struct buf text = BUF_INIT;
    const char *t;
    size_t tlen;
    int rc = -1;
    if (decode_text(&P, data, len, &text, &t, &tlen)) {
        P.p = t;
        P.end = t + tlen;
        P.line = 0;
        /* The operations' strings and data take about as much as the text: reserve it
         * once rather than growing (and copying) the pool many times. */
        if (buf_reserve(&P.pool, tlen) < 0)
            P.oom = true;
        if (parse_header(&P))
            while (next_line(&P) && !P.oom)
                parse_line(&P);
    }
    if (P.oom) {
        diag_at(diags, DIAG_ERROR, name, 0, 0, "out of memory reading the file");
        errno = ENOMEM;
    } else if (diags->errors == P.errors_at_start) {
        rc = apply_ops(&P, store);
        if (rc < 0)
            diag_at(diags, DIAG_ERROR, name, 0, 0,
                    "out of memory applying the file; the configuration is incomplete");
    }
    buf_free(&text);
    buf_free(&P.pool);
    buf_free(&P.scratch);
    buf_free(&P.conv);
    free(P.ops);
    return rc;
}

int regtext_load(struct reg_store *store, const char *path, struct diags *diags)
{
    struct buf b = BUF_INIT;
    if (read_file(path, &b) < 0) {
        int e = errno;
        diag_at(diags, DIAG_ERROR, path, 0, 0, "cannot read the file: %s", strerror(e));
        buf_free(&b);
        errno = e;
        return -1;
    }
    int r = regtext_load_buffer(store, path, b.p ? b.p : "", b.len, diags);
    buf_free(&b);
    return r;
}
