/* The .reg reader and writer: every syntax form regedit and people write, every error
 * with its line and column, rejection leaving the store untouched, and exact round trips
 * of every value type through the writer in both encodings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "regdata.h"
#include "regmodel.h"
#include "regtext.h"
#include "utf16.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define V5 "Windows Registry Editor Version 5.00\n\n"
#define K "HKEY_LOCAL_MACHINE\\SOFTWARE\\Test"

/* ---- helpers ------------------------------------------------------------------- */

static int load_bytes(struct reg_store *s, const void *data, size_t len, struct diags *d)
{
    return regtext_load_buffer(s, "t.reg", data, len, d);
}

/* A store with the text applied; the load must succeed without any diagnostic. */
static struct reg_store *load_ok_bytes(const void *data, size_t len)
{
    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    int r = load_bytes(s, data, len, &d);
    if (r != 0 || d.n)
        diags_print(&d, 2);
    assert_int_equal(r, 0);
    assert_int_equal(d.n, 0);
    diags_free(&d);
    return s;
}

static struct reg_store *load_ok(const char *text) { return load_ok_bytes(text, strlen(text)); }

static const struct reg_value *val(struct reg_store *s, const char *key, const char *name)
{
    struct reg_key *k = reg_key_lookup(reg_store_root(s), key);
    assert_non_null(k);
    return reg_value_get(k, name);
}

static void assert_bytes(const struct reg_value *v, uint32_t type, const void *data, size_t len)
{
    assert_non_null(v);
    assert_int_equal(v->type, type);
    assert_int_equal(v->len, len);
    if (len)
        assert_memory_equal(v->data, data, len);
}

/* A string value: its data is the UTF-16LE of utf8 with one NUL unit. */
static void assert_text(const struct reg_value *v, uint32_t type, const char *utf8)
{
    struct buf b = BUF_INIT;
    assert_int_equal(regdata_from_string(utf8, &b), 0);
    assert_bytes(v, type, b.p, b.len);
    buf_free(&b);
}

static void assert_dword(const struct reg_value *v, uint32_t expected)
{
    uint32_t d;
    assert_non_null(v);
    assert_int_equal(regdata_dword(v->type, v->data, v->len, &d), 0);
    assert_int_equal(d, expected);
}

/* UTF-8 text as UTF-16LE, with a byte-order mark when asked. */
static struct buf to_utf16(const char *utf8, size_t len, bool bom)
{
    struct buf b = BUF_INIT;
    if (bom)
        assert_int_equal(buf_append(&b, "\xFF\xFE", 2), 0);
    assert_int_equal(utf8_to_utf16le(utf8, len, &b), 0);
    return b;
}

/* Two stores hold the same keys (names, order), values (names, types, bytes, order). */
static void assert_keys_equal(const struct reg_key *a, const struct reg_key *b)
{
    assert_string_equal(reg_key_name(a), reg_key_name(b));
    assert_int_equal(reg_key_value_count(a), reg_key_value_count(b));
    for (size_t i = 0; i < reg_key_value_count(a); i++) {
        const struct reg_value *x = reg_key_value(a, i), *y = reg_key_value(b, i);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->type, y->type);
        assert_int_equal(x->len, y->len);
        if (x->len)
            assert_memory_equal(x->data, y->data, x->len);
    }
    assert_int_equal(reg_key_subkey_count(a), reg_key_subkey_count(b));
    for (size_t i = 0; i < reg_key_subkey_count(a); i++)
        assert_keys_equal(reg_key_subkey(a, i), reg_key_subkey(b, i));
}

static void assert_stores_equal(struct reg_store *a, struct reg_store *b)
{
    assert_keys_equal(reg_store_root(a), reg_store_root(b));
}

/* The whole store written as UTF-8 .reg text (to compare stores as text). */
static char *store_text(struct reg_store *s, enum regtext_encoding enc, size_t *len)
{
    struct regtext_writer w;
    regtext_writer_init(&w);
    struct reg_key *root = reg_store_root(s);
    for (size_t i = 0; i < reg_key_subkey_count(root); i++)
        assert_int_equal(regtext_write_key(&w, reg_key_subkey(root, i), true), 0);
    struct buf out = BUF_INIT;
    assert_int_equal(regtext_writer_finish(&w, enc, &out), 0);
    regtext_writer_free(&w);
    if (len)
        *len = out.len;
    return buf_steal(&out);
}

/* Write in the encoding, read back into a fresh store, compare. */
static void assert_round_trip(struct reg_store *s, enum regtext_encoding enc)
{
    size_t len;
    char *text = store_text(s, enc, &len);
    struct reg_store *back = load_ok_bytes(text, len);
    assert_stores_equal(s, back);
    reg_store_free(back);
    free(text);
}

static const char BASE[] = V5 "[" K "]\n\"Keep\"=\"me\"\n";

/* text (UTF-8 or raw bytes) applied to a store that already has content: it must be
 * rejected with exactly `errors` errors, the first at line:col (col 0: line only; line 0:
 * no position) with `substr` in its message, and the store unchanged. */
static void expect_errors_bytes(const void *text, size_t len, size_t errors, unsigned line,
                                unsigned col, const char *substr)
{
    struct reg_store *s = load_ok(BASE);
    char *before = store_text(s, REGTEXT_UTF8, NULL);
    struct diags d = DIAGS_INIT;
    assert_int_equal(load_bytes(s, text, len, &d), -1);
    if (d.errors != errors || !d.n)
        diags_print(&d, 2);
    assert_int_equal(d.errors, errors);
    char where[64];
    if (line && col)
        snprintf(where, sizeof where, "t.reg:%u:%u", line, col);
    else if (line)
        snprintf(where, sizeof where, "t.reg:%u", line);
    else
        snprintf(where, sizeof where, "t.reg");
    if (strcmp(d.v[0].where, where) || !strstr(d.v[0].message, substr)) {
        diags_print(&d, 2);
        fprintf(stderr, "expected %s: ...%s...\n", where, substr);
    }
    assert_string_equal(d.v[0].where, where);
    assert_non_null(strstr(d.v[0].message, substr));
    char *after = store_text(s, REGTEXT_UTF8, NULL);
    assert_string_equal(before, after);
    free(before);
    free(after);
    diags_free(&d);
    reg_store_free(s);
}

static void expect_error(const char *text, unsigned line, unsigned col, const char *substr)
{
    expect_errors_bytes(text, strlen(text), 1, line, col, substr);
}

/* ---- reader: syntax forms ------------------------------------------------------ */

static const char SAMPLE[] =
    "Windows Registry Editor Version 5.00\r\n"
    "\r\n"
    "[" K "]\r\n"
    "\"Text\"=\"caf\xc3\xa9 \\\\server\\\\share \\\"q\\\"\"\r\n"
    "@=\"default\"\r\n"
    "\"Num\"=dword:0000002a\r\n"
    "\"Multi\"=hex(7):61,00,00,00,62,00,00,00,00,00\r\n";

static void check_sample(struct reg_store *s)
{
    assert_text(val(s, K, "Text"), REG_SZ, "caf\xc3\xa9 \\server\\share \"q\"");
    assert_text(val(s, K, ""), REG_SZ, "default");
    assert_dword(val(s, K, "Num"), 42);
    assert_bytes(val(s, K, "Multi"), REG_MULTI_SZ, "a\0\0\0b\0\0\0\0\0", 10);
}

static void test_utf8_crlf_and_lf(void **state)
{
    (void)state;
    struct reg_store *s = load_ok(SAMPLE);
    check_sample(s);
    reg_store_free(s);
    /* The same text with LF line ends. */
    char lf[sizeof SAMPLE];
    size_t n = 0;
    for (const char *c = SAMPLE; *c; c++)
        if (*c != '\r')
            lf[n++] = *c;
    s = load_ok_bytes(lf, n);
    check_sample(s);
    reg_store_free(s);
}

static void test_utf8_bom(void **state)
{
    (void)state;
    char b[sizeof SAMPLE + 3] = "\xEF\xBB\xBF";
    memcpy(b + 3, SAMPLE, sizeof SAMPLE - 1);
    struct reg_store *s = load_ok_bytes(b, sizeof SAMPLE + 2);
    check_sample(s);
    reg_store_free(s);
}

static void test_utf16le_bom_crlf(void **state)
{
    (void)state;
    struct buf b = to_utf16(SAMPLE, strlen(SAMPLE), true);
    struct reg_store *s = load_ok_bytes(b.p, b.len);
    check_sample(s);
    reg_store_free(s);
    buf_free(&b);
}

static void test_utf16le_without_bom(void **state)
{
    (void)state;
    struct buf b = to_utf16(SAMPLE, strlen(SAMPLE), false);
    struct reg_store *s = load_ok_bytes(b.p, b.len);
    check_sample(s);
    reg_store_free(s);
    buf_free(&b);
}

/* REGEDIT4: Windows-1252 text, string types' hex payloads as ANSI bytes. */
static void test_regedit4_ansi(void **state)
{
    (void)state;
    static const char text[] = "REGEDIT4\r\n\r\n"
                               "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Caf\xe9]\r\n"
                               "\"Name\xe9\"=\"\x81x\x80\"\r\n"
                               "\"Exp\"=hex(2):25,41,25,e9,00\r\n"
                               "\"Multi\"=hex(7):61,00,e9,81,00,00\r\n"
                               "\"Bin\"=hex:e9,81\r\n"
                               "\"D\"=dword:00000010\r\n";
    struct reg_store *s = load_ok(text);
    const char *key = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Caf\xc3\xa9";
    /* 0x81 is undefined in 1252: U+0081, as Windows maps it; 0x80 is the euro sign. */
    assert_text(val(s, key, "Name\xc3\xa9"), REG_SZ, "\xc2\x81x\xe2\x82\xac");
    assert_bytes(val(s, key, "Exp"), REG_EXPAND_SZ, "%\0A\0%\0\xe9\0\0\0", 10);
    assert_bytes(val(s, key, "Multi"), REG_MULTI_SZ, "a\0\0\0\xe9\0\x81\0\0\0\0\0", 12);
    assert_bytes(val(s, key, "Bin"), REG_BINARY, "\xe9\x81", 2); /* binary stays bytes */
    assert_dword(val(s, key, "D"), 16);
    reg_store_free(s);
}

/* In version 5 files hex(2) payloads are UTF-16LE already: taken as they are. */
static void test_v5_hex_payload_is_utf16(void **state)
{
    (void)state;
    struct reg_store *s = load_ok(V5 "[" K "]\n\"E\"=hex(2):41,00,e9,00,00,00\n");
    assert_bytes(val(s, K, "E"), REG_EXPAND_SZ, "A\0\xe9\0\0\0", 6);
    reg_store_free(s);
}

static void test_escapes_and_default_names(void **state)
{
    (void)state;
    struct reg_store *s = load_ok(V5 "[" K "]\n"
                                     "\"a\\\\b\\\"c\"=\"x\\\\\\\"y\"\n"
                                     "\"\"=\"empty name is the default\"\n"
                                     "\"e\"=\"\"\n");
    assert_text(val(s, K, "a\\b\"c"), REG_SZ, "x\\\"y");
    assert_text(val(s, K, ""), REG_SZ, "empty name is the default");
    assert_text(val(s, K, "e"), REG_SZ, "");
    reg_store_free(s);
    s = load_ok(V5 "[" K "]\n@=\"at\"\n");
    assert_text(val(s, K, ""), REG_SZ, "at");
    assert_int_equal(reg_key_value_count(reg_key_lookup(reg_store_root(s), K)), 1);
    reg_store_free(s);
}

static void test_dword_digits(void **state)
{
    (void)state;
    struct reg_store *s = load_ok(V5 "[" K "]\n"
                                     "\"d1\"=dword:f\n\"d2\"=dword:1F\n\"d3\"=dword:abc\n"
                                     "\"d4\"=dword:1234\n\"d5\"=dword:12345\n"
                                     "\"d6\"=dword:123456\n\"d7\"=dword:1234567\n"
                                     "\"d8\"=dword:FFFFFFFF\n\"up\"=DWORD:00000001\n");
    static const uint32_t want[] = {0xf, 0x1f, 0xabc, 0x1234, 0x12345, 0x123456, 0x1234567,
                                    0xffffffff};
    for (int i = 0; i < 8; i++) {
        char n[4];
        snprintf(n, sizeof n, "d%d", i + 1);
        assert_int_equal(val(s, K, n)->len, 4);
        assert_int_equal(val(s, K, n)->type, REG_DWORD);
        assert_dword(val(s, K, n), want[i]);
    }
    assert_dword(val(s, K, "up"), 1);
    reg_store_free(s);
}

static void test_hex_types(void **state)
{
    (void)state;
    struct buf text = BUF_INIT;
    buf_puts(&text, V5 "[" K "]\n");
    for (unsigned t = 0; t <= 11; t++)
        buf_printf(&text, "\"t%u\"=hex(%x):%02x,ff\n", t, t, t);
    buf_puts(&text, "\"bin\"=hex:00,0A,ff\n\"unk\"=hex(1234abcd):01\n\"UP\"=HEX(B):01\n"
                    "\"empty\"=hex:\n\"empty7\"=hex(7):\n");
    struct reg_store *s = load_ok(text.p);
    for (unsigned t = 0; t <= 11; t++) {
        char n[8];
        snprintf(n, sizeof n, "t%u", t);
        uint8_t want[2] = {(uint8_t)t, 0xff};
        assert_bytes(val(s, K, n), t, want, 2);
    }
    assert_bytes(val(s, K, "bin"), REG_BINARY, "\x00\x0a\xff", 3);
    assert_bytes(val(s, K, "unk"), 0x1234abcd, "\x01", 1);
    assert_bytes(val(s, K, "UP"), REG_QWORD, "\x01", 1);
    assert_bytes(val(s, K, "empty"), REG_BINARY, "", 0);
    assert_bytes(val(s, K, "empty7"), REG_MULTI_SZ, "", 0);
    reg_store_free(s);
    buf_free(&text);
}

static void test_continuation_lines(void **state)
{
    (void)state;
    struct reg_store *s = load_ok(V5 "[" K "]\n"
                                     "\"c\"=hex:01,02,\\\n"
                                     "  03,04,\\\n"
                                     "\t \t05\n"
                                     "\"trailing\"=hex:01,02,\n"
                                     "\"blanks\"=hex: 01 , 02 ,\\\r\n"
                                     "   03 ,\\  \n"
                                     "04\n"
                                     "\"after\"=dword:00000001\n");
    assert_bytes(val(s, K, "c"), REG_BINARY, "\x01\x02\x03\x04\x05", 5);
    assert_bytes(val(s, K, "trailing"), REG_BINARY, "\x01\x02", 2);
    assert_bytes(val(s, K, "blanks"), REG_BINARY, "\x01\x02\x03\x04", 4);
    assert_dword(val(s, K, "after"), 1);
    reg_store_free(s);
}

static void test_comments(void **state)
{
    (void)state;
    struct reg_store *s = load_ok(V5 "; a comment line\n"
                                     "   ; an indented one\n"
                                     "[" K "] ; after the key\n"
                                     "\"s\"=\"a;b\" ; after a string\n"
                                     "\"d\"=dword:00000002 ; after a dword\n"
                                     "\"h\"=hex:01,02 ; after hex\n"
                                     "\"x\"=- ; after a deletion\n"
                                     ";\"not\"=\"a value\"\n");
    assert_text(val(s, K, "s"), REG_SZ, "a;b");
    assert_dword(val(s, K, "d"), 2);
    assert_bytes(val(s, K, "h"), REG_BINARY, "\x01\x02", 2);
    assert_null(val(s, K, "not"));
    assert_int_equal(reg_key_value_count(reg_key_lookup(reg_store_root(s), K)), 3);
    reg_store_free(s);
}

static void test_deletions(void **state)
{
    (void)state;
    struct reg_store *s = load_ok(V5 "[" K "\\A\\B]\n\"v\"=\"1\"\n[" K "\\A\\C]\n"
                                     "[" K "]\n\"x\"=\"1\"\n\"y\"=\"2\"\n");
    struct diags d = DIAGS_INIT;
    static const char del[] = V5 "[-" K "\\A]\n[-" K "\\Absent\\Too]\n"
                                 "[" K "]\n\"x\"=-\n\"absent\"=-\n";
    assert_int_equal(load_bytes(s, del, strlen(del), &d), 0);
    assert_int_equal(d.n, 0);
    struct reg_key *root = reg_store_root(s);
    assert_null(reg_key_lookup(root, K "\\A"));
    assert_null(reg_key_lookup(root, K "\\A\\B"));
    assert_non_null(reg_key_lookup(root, K));
    assert_null(val(s, K, "x"));
    assert_text(val(s, K, "y"), REG_SZ, "2");
    assert_null(reg_key_lookup(root, K "\\Absent"));
    reg_store_free(s);
}

static void test_parents_and_abbreviations(void **state)
{
    (void)state;
    struct reg_store *s = load_ok(V5 "[HKLM\\Deep\\Er\\Key]\n\"v\"=dword:1\n"
                                     "[HKCU\\U]\n[HKCR\\C]\n[HKU\\S]\n[HKCC\\CC]\n"
                                     "[hkey_local_machine\\deep\\er]\n\"w\"=dword:2\n");
    struct reg_key *root = reg_store_root(s);
    assert_int_equal(reg_key_subkey_count(root), 5);
    assert_string_equal(reg_key_name(reg_key_subkey(root, 0)), "HKEY_LOCAL_MACHINE");
    assert_string_equal(reg_key_name(reg_key_subkey(root, 1)), "HKEY_CURRENT_USER");
    assert_string_equal(reg_key_name(reg_key_subkey(root, 2)), "HKEY_CLASSES_ROOT");
    assert_string_equal(reg_key_name(reg_key_subkey(root, 3)), "HKEY_USERS");
    assert_string_equal(reg_key_name(reg_key_subkey(root, 4)), "HKEY_CURRENT_CONFIG");
    assert_non_null(reg_key_lookup(root, "HKEY_LOCAL_MACHINE\\Deep"));
    assert_non_null(reg_key_lookup(root, "HKEY_LOCAL_MACHINE\\Deep\\Er"));
    assert_dword(val(s, "HKEY_LOCAL_MACHINE\\Deep\\Er\\Key", "v"), 1);
    /* The later line found the same key without case; the first spelling stays. */
    assert_dword(val(s, "HKEY_LOCAL_MACHINE\\Deep\\Er", "w"), 2);
    assert_string_equal(reg_key_name(reg_key_lookup(root, "HKLM\\deep")), "Deep");
    reg_store_free(s);
}

/* Key lines in any order find the same keys as paths looked up from the root: deeper,
 * sibling, back up, a name that shares a prefix, other case, abbreviations, after a
 * deletion. */
static void test_key_lines_in_any_order(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "HKLM\\A\\B\\C", "HKLM\\A\\B\\C\\D", "HKLM\\A\\B\\E", "HKLM\\A\\BX", "HKLM\\A\\B",
        "hklm\\a\\b\\c", "HKEY_LOCAL_MACHINE\\A\\B\\C\\D\\F", "HKLM\\A", "HKLM\\A\\B\\C\\D\\F",
        "HKCU\\A\\B", "HKLM\\A\\B\\CC", "-HKLM\\A\\B\\C", "HKLM\\A\\B\\C\\G", "HKLM"};
    struct buf text = BUF_INIT;
    buf_puts(&text, V5);
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        buf_printf(&text, "[%s]\n\"v\"=dword:%08zx\n\n", paths[i], i);
    /* The values after [-...] are an error: drop that one value line. */
    char *del = strstr(text.p, "[-HKLM\\A\\B\\C]\n");
    memmove(strchr(del, '\n') + 1, strstr(del, "\n\n") + 1, strlen(strstr(del, "\n\n") + 1) + 1);
    struct reg_store *s = load_ok(text.p);
    struct reg_key *root = reg_store_root(s);
    static const struct { const char *path; uint32_t v; } want[] = {
        {"HKLM\\A\\B\\C\\G", 12}, {"HKLM\\A\\B\\E", 2}, {"HKLM\\A\\BX", 3},
        {"HKLM\\A\\B", 4}, {"HKLM\\A", 7}, {"HKCU\\A\\B", 9}, {"HKLM\\A\\B\\CC", 10},
        {"HKLM", 13}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        assert_dword(val(s, want[i].path, "v"), want[i].v);
    assert_null(reg_key_lookup(root, "HKLM\\A\\B\\C\\D")); /* deleted with C */
    struct reg_key *b = reg_key_lookup(root, "HKLM\\A\\B");
    assert_int_equal(reg_key_subkey_count(b), 3); /* E, CC, then C again */
    assert_string_equal(reg_key_name(reg_key_subkey(b, 2)), "C");
    assert_int_equal(reg_key_subkey_count(reg_key_subkey(b, 2)), 1);
    assert_int_equal(reg_key_subkey_count(reg_key_lookup(root, "HKLM\\A")), 2); /* B, BX */
    reg_store_free(s);
    buf_free(&text);
}

static void test_replaced_value_keeps_place(void **state)
{
    (void)state;
    struct reg_store *s = load_ok(V5 "[" K "]\n\"a\"=\"1\"\n\"b\"=\"2\"\n\"c\"=\"3\"\n"
                                     "\"B\"=dword:00000007\n");
    struct reg_key *k = reg_key_lookup(reg_store_root(s), K);
    assert_int_equal(reg_key_value_count(k), 3);
    assert_string_equal(reg_key_value(k, 1)->name, "b");
    assert_dword(reg_key_value(k, 1), 7);
    assert_string_equal(reg_key_value(k, 2)->name, "c");
    reg_store_free(s);
}

static void test_origins(void **state)
{
    (void)state;
    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    static const char text[] = V5 "[" K "]\n\"a\"=\"1\"\n\"h\"=hex:01,\\\n  02\n\"z\"=dword:1\n";
    assert_int_equal(regtext_load_buffer(s, "conf/x.reg", text, strlen(text), &d), 0);
    char o[128];
    struct reg_key *k = reg_key_lookup(reg_store_root(s), K);
    assert_string_equal(reg_origin_format(s, reg_key_origin(k), o, sizeof o), "conf/x.reg:3");
    assert_string_equal(reg_origin_format(s, val(s, K, "a")->origin, o, sizeof o), "conf/x.reg:4");
    assert_string_equal(reg_origin_format(s, val(s, K, "h")->origin, o, sizeof o), "conf/x.reg:5");
    assert_string_equal(reg_origin_format(s, val(s, K, "z")->origin, o, sizeof o), "conf/x.reg:7");
    assert_string_equal(reg_store_source(s, val(s, K, "a")->origin.source), "conf/x.reg");
    reg_store_free(s);
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_regtext_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(SAMPLE, f);
    fclose(f);
    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    assert_int_equal(regtext_load(s, path, &d), 0);
    check_sample(s);
    unlink(path);
    assert_int_equal(regtext_load(s, path, &d), -1);
    assert_int_equal(d.errors, 1);
    assert_string_equal(d.v[0].where, path);
    assert_non_null(strstr(d.v[0].message, "cannot read"));
    diags_free(&d);
    reg_store_free(s);
}

/* ---- reader: errors ------------------------------------------------------------ */

static void test_error_header(void **state)
{
    (void)state;
    expect_error("Windows Registry Editor Version 4.00\n\n[" K "]\n", 1, 1,
                 "expected the header line");
    expect_error("", 1, 1, "empty file");
    /* A file that starts with its first key: the key line is still checked. */
    expect_errors_bytes("[HKEY_FOO\\X]\n", 13, 2, 1, 1, "expected the header line");
}

static void test_error_key_lines(void **state)
{
    (void)state;
    expect_error(V5 "[HKEY_LOCAL_MACHINE\\X\n", 3, 22, "no closing ']'");
    expect_error(V5 "[HKEY_LOCAL_MACHINE\\X] junk\n", 3, 24, "after the key's ']'");
    expect_error(V5 "[HKEY_FOO\\X]\n", 3, 2, "unknown root key 'HKEY_FOO'");
    expect_error(V5 "[-HKEY_FOO]\n", 3, 3, "unknown root key");
    expect_error(V5 "[HKLM\\\\X]\n", 3, 7, "empty key name");
    expect_error(V5 "[HKLM\\X\\]\n", 3, 9, "empty key name");
    char longkey[400];
    snprintf(longkey, sizeof longkey, V5 "[HKLM\\%0256d]\n", 0);
    expect_error(longkey, 3, 7, "key name of 256 characters");
    snprintf(longkey, sizeof longkey, V5 "[HKLM\\%0255d]\n", 0);
    struct reg_store *s = load_ok(longkey);
    reg_store_free(s);
    /* The limit is in characters: 255 two-byte characters are fine, 256 are not. */
    struct buf wide = BUF_INIT;
    buf_puts(&wide, V5 "[HKLM\\");
    for (int i = 0; i < 255; i++)
        buf_puts(&wide, "\xc3\xa9");
    buf_puts(&wide, "]\n");
    s = load_ok(wide.p);
    reg_store_free(s);
    wide.len -= 2;
    buf_puts(&wide, "\xf0\x9f\x98\x80]\n"); /* a pair: two units, 257 */
    expect_error(wide.p, 3, 7, "key name of 257 characters");
    buf_free(&wide);
}

static void test_error_value_placement(void **state)
{
    (void)state;
    expect_error(V5 "\"a\"=\"b\"\n", 3, 1, "value before any [key]");
    expect_error(V5 "[-" K "]\n\"a\"=\"b\"\n", 4, 1, "value under a key deletion");
    expect_error(V5 "  \"a\"=hex:01,\\\n  02\n", 3, 3, "value before any [key]");
    expect_error(V5 "[" K "]\nnot a value\n", 4, 1, "expected a [key] line");
}

static void test_error_value_syntax(void **state)
{
    (void)state;
    expect_error(V5 "[" K "]\n\"a\" \"b\"\n", 4, 5, "expected '='");
    expect_error(V5 "[" K "]\n@\n", 4, 2, "expected '='");
    expect_error(V5 "[" K "]\n\"a=\"b\"\n", 4, 5, "expected '='");
    expect_error(V5 "[" K "]\n\"a\"=\"b\n", 4, 5, "has no closing '\"'");
    expect_error(V5 "[" K "]\n\"a\n", 4, 1, "the value name has no closing");
    expect_error(V5 "[" K "]\n\"a\"=\"b\\n\"\n", 4, 7, "backslash");
    expect_error(V5 "[" K "]\n\"a\"=\"b\" x\n", 4, 9, "after the string");
    expect_error(V5 "[" K "]\n\"a\"=foo\n", 4, 5, "expected a value after '='");
    expect_error(V5 "[" K "]\n\"a\"=\n", 4, 5, "expected a value after '='");
    expect_error(V5 "[" K "]\n\"a\"=-x\n", 4, 6, "after '-'");
}

static void test_error_dword(void **state)
{
    (void)state;
    expect_error(V5 "[" K "]\n\"a\"=dword:123456789\n", 4, 11, "1 to 8 hex digits");
    expect_error(V5 "[" K "]\n\"a\"=dword:\n", 4, 11, "1 to 8 hex digits");
    expect_error(V5 "[" K "]\n\"a\"=dword:xyz\n", 4, 11, "1 to 8 hex digits");
    expect_error(V5 "[" K "]\n\"a\"=dword:12g\n", 4, 13, "after the dword value");
    expect_error(V5 "[" K "]\n\"a\"=dword:-1\n", 4, 11, "1 to 8 hex digits");
}

static void test_error_hex(void **state)
{
    (void)state;
    expect_error(V5 "[" K "]\n\"a\"=hex:01,zz\n", 4, 12, "two hex digits");
    expect_error(V5 "[" K "]\n\"a\"=hex:01,123\n", 4, 12, "at most two hex digits");
    expect_error(V5 "[" K "]\n\"a\"=hex:01 02\n", 4, 12, "expected ','");
    expect_error(V5 "[" K "]\n\"a\"=hex:01\\\n  02\n", 4, 11, "expected ',' before");
    expect_error(V5 "[" K "]\n\"a\"=hex:01,\\", 4, 12, "last line of the file");
    expect_error(V5 "[" K "]\n\"a\"=hex:01,\\\n", 4, 12, "last line of the file");
    expect_error(V5 "[" K "]\n\"a\"=hex:01,\\ x\n  02\n", 4, 13, "after the line continuation");
    expect_error(V5 "[" K "]\n\"a\"=hex:01,\\\n  02,zz\n", 5, 6, "two hex digits");
    expect_error(V5 "[" K "]\n\"a\"=hex(2:01\n", 4, 10, "expected '):'");
    expect_error(V5 "[" K "]\n\"a\"=hex():01\n", 4, 9, "1 to 8 hex digits");
    expect_error(V5 "[" K "]\n\"a\"=hex(123456789):01\n", 4, 9, "1 to 8 hex digits");
}

static void test_error_nul(void **state)
{
    (void)state;
    static const char text[] = V5 "[" K "]\n\"a\"=\"b\0c\"\n";
    expect_errors_bytes(text, sizeof text - 1, 1, 4, 7, "NUL character");
}

static void test_error_encodings(void **state)
{
    (void)state;
    expect_error(V5 "[" K "]\n\"a\"=\"b\xff\"\n", 4, 7, "not UTF-8");
    expect_error(V5 "[" K "]\n\"\xc3\xa9\"=\"\xc3\xa9\xe2\x82\"\n", 4, 7, "not UTF-8");
    /* Columns count characters, not bytes. */
    expect_error(V5 "[" K "]\n\"\xc3\xa9\xc3\xa9\" \"x\"\n", 4, 6, "expected '='");

    /* UTF-16LE with an unpaired surrogate on line 4, column 7. */
    static const char pre[] = "Windows Registry Editor Version 5.00\r\n\r\n[" K "]\r\n\"a\"=\"b";
    struct buf b = to_utf16(pre, strlen(pre), true);
    buf_append(&b, "\x00\xd8\"\0\r\0\n\0", 8);
    expect_errors_bytes(b.p, b.len, 1, 4, 7, "unpaired surrogate");
    /* A lone low surrogate, no byte-order mark. */
    buf_free(&b);
    b = to_utf16(pre, strlen(pre), false);
    buf_append(&b, "x\0\x00\xdc\"\0", 6);
    expect_errors_bytes(b.p, b.len, 1, 4, 8, "unpaired surrogate");
    /* Odd length: cut short. */
    buf_free(&b);
    b = to_utf16(SAMPLE, strlen(SAMPLE), true);
    expect_errors_bytes(b.p, b.len - 1, 1, 0, 0, "odd number of bytes");
    buf_free(&b);
    /* UTF-16BE. */
    expect_errors_bytes("\xFE\xFF\0W\0i", 6, 1, 1, 1, "big-endian");
}

static void test_several_errors_listed(void **state)
{
    (void)state;
    static const char text[] = V5 "[" K "]\n"  /* 3 */
                                  "\"ok\"=\"1\"\n"     /* 4 */
                                  "\"a\"=dword:1x\n"   /* 5 */
                                  "[HKFOO]\n"          /* 6 */
                                  "\"b\"=\"2\"\n"      /* 7: under a bad key: no error */
                                  "[" K "]\n"          /* 8 */
                                  "\"c\"=hex:1,2,3zz\n" /* 9 */
                                  "garbage\n";         /* 10 */
    struct reg_store *s = load_ok(BASE);
    char *before = store_text(s, REGTEXT_UTF8, NULL);
    struct diags d = DIAGS_INIT;
    assert_int_equal(load_bytes(s, text, strlen(text), &d), -1);
    assert_int_equal(d.errors, 4);
    assert_int_equal(d.n, 4);
    assert_string_equal(d.v[0].where, "t.reg:5:12");
    assert_string_equal(d.v[1].where, "t.reg:6:2");
    assert_string_equal(d.v[2].where, "t.reg:9:14");
    assert_string_equal(d.v[3].where, "t.reg:10:1");
    char *after = store_text(s, REGTEXT_UTF8, NULL);
    assert_string_equal(before, after);
    assert_null(val(s, K, "ok"));
    free(before);
    free(after);
    diags_free(&d);
    reg_store_free(s);
}

/* ---- writer -------------------------------------------------------------------- */

static struct reg_store *all_types_store(void)
{
    struct reg_store *s = reg_store_new();
    struct reg_origin o = {0, 0};
    struct reg_key *k = reg_key_create(s, reg_store_root(s), K "\\All", strlen(K "\\All"), o);
    struct reg_key *u = reg_key_create(s, reg_store_root(s),
                                       "HKEY_CURRENT_USER\\Caf\xc3\xa9\\\xe6\x97\xa5\xe6\x9c\xac",
                                       strlen("HKEY_CURRENT_USER\\Caf\xc3\xa9\\\xe6\x97\xa5\xe6\x9c\xac"), o);
    assert_non_null(k);
    assert_non_null(u);
    uint8_t big[1000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    struct {
        const char *name;
        uint32_t type;
        const char *data;
        size_t len;
    } v[] = {
        {"none", REG_NONE, "\x01\x02", 2},
        {"none0", REG_NONE, "", 0},
        {"sz", REG_SZ, "a\0b\0\0\0", 6},
        {"sz-nul-inside", REG_SZ, "a\0\0\0b\0\0\0", 8},
        {"sz-unterminated", REG_SZ, "a\0b\0", 4},
        {"sz-odd", REG_SZ, "a\0b", 3},
        {"sz-linebreak", REG_SZ, "a\0\n\0b\0\0\0", 8},
        {"sz-cr", REG_SZ, "a\0\r\0\0\0", 6},
        {"sz-quotes", REG_SZ, "\"\0\\\0q\0\\\0\"\0\0\0", 12},
        {"sz-empty", REG_SZ, "\0\0", 2},
        {"sz-zero", REG_SZ, "", 0},
        {"sz-nonascii", REG_SZ, "\xe9\0\xe5\x65\x3d\xd8\x00\xde\0\0", 10},
        {"sz-surrogate", REG_SZ, "\x00\xd8\0\0", 4},
        {"expand", REG_EXPAND_SZ, "%\0X\0%\0\0\0", 8},
        {"bin1", REG_BINARY, "\xff", 1},
        {"bin0", REG_BINARY, "", 0},
        {"dword", REG_DWORD, "\x78\x56\x34\x12", 4},
        {"dword3", REG_DWORD, "\x01\x02\x03", 3},
        {"dword0", REG_DWORD, "", 0},
        {"dwordbe", REG_DWORD_BIG_ENDIAN, "\x12\x34\x56\x78", 4},
        {"link", REG_LINK, "\\\0R\0\0\0", 6},
        {"multi", REG_MULTI_SZ, "a\0\0\0\0\0b\0\0\0\0\0", 12},
        {"res", REG_RESOURCE_LIST, "\x01\x00\x00\x00", 4},
        {"full", REG_FULL_RESOURCE_DESCRIPTOR, "\x02", 1},
        {"req", REG_RESOURCE_REQUIREMENTS_LIST, "\x03\x04", 2},
        {"qword", REG_QWORD, "\x01\x02\x03\x04\x05\x06\x07\x08", 8},
        {"unknown", 0x1234, "\xaa", 1},
        {"unknown-max", 0xffffffff, "\xbb\xcc", 2},
        {"", REG_SZ, "d\0\0\0", 4},
        {"na\xc3\xafve \\ \"name\"", REG_DWORD, "\x01\0\0\0", 4},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        assert_int_equal(reg_value_set(s, k, v[i].name, v[i].type, v[i].data, v[i].len, o), 0);
    assert_int_equal(reg_value_set(s, k, "big", REG_BINARY, big, sizeof big, o), 0);
    assert_int_equal(reg_value_set(s, u, "\xe5\x90\x8d", REG_SZ, "\xe5\x65\0\0", 4, o), 0);
    return s;
}

static void test_round_trip_every_type(void **state)
{
    (void)state;
    struct reg_store *s = all_types_store();
    assert_round_trip(s, REGTEXT_UTF8);
    assert_round_trip(s, REGTEXT_UTF16LE);
    reg_store_free(s);
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\r'))
            return true;
    return false;
}

static void test_writer_forms(void **state)
{
    (void)state;
    struct reg_store *s = all_types_store();
    char *t = store_text(s, REGTEXT_UTF8, NULL);
    assert_true(strncmp(t, "Windows Registry Editor Version 5.00\n\n[", 39) == 0);
    assert_true(has_line(t, "[" K "\\All]"));
    assert_true(has_line(t, "\"sz\"=\"ab\""));
    assert_true(has_line(t, "\"sz-quotes\"=\"\\\"\\\\q\\\\\\\"\""));
    assert_true(has_line(t, "\"sz-empty\"=\"\""));
    assert_true(has_line(t, "\"sz-nul-inside\"=hex(1):61,00,00,00,62,00,00,00"));
    assert_true(has_line(t, "\"sz-unterminated\"=hex(1):61,00,62,00"));
    assert_true(has_line(t, "\"sz-zero\"=hex(1):"));
    assert_true(has_line(t, "\"sz-linebreak\"=hex(1):61,00,0a,00,62,00,00,00"));
    assert_true(has_line(t, "\"none\"=hex(0):01,02"));
    assert_true(has_line(t, "\"bin0\"=hex:"));
    assert_true(has_line(t, "\"bin1\"=hex:ff"));
    assert_true(has_line(t, "\"dword\"=dword:12345678"));
    assert_true(has_line(t, "\"dword3\"=hex(4):01,02,03"));
    assert_true(has_line(t, "\"dwordbe\"=hex(5):12,34,56,78"));
    assert_true(has_line(t, "\"qword\"=hex(b):01,02,03,04,05,06,07,08"));
    assert_true(has_line(t, "\"unknown\"=hex(1234):aa"));
    assert_true(has_line(t, "\"unknown-max\"=hex(ffffffff):bb,cc"));
    assert_true(has_line(t, "@=\"d\""));
    assert_true(has_line(t, "\"na\xc3\xafve \\\\ \\\"name\\\"\"=dword:00000001"));
    assert_true(has_line(t, "[HKEY_CURRENT_USER\\Caf\xc3\xa9\\\xe6\x97\xa5\xe6\x9c\xac]"));
    assert_true(has_line(t, "\"\xe5\x90\x8d\"=\"\xe6\x97\xa5\""));
    free(t);

    size_t len;
    t = store_text(s, REGTEXT_UTF16LE, &len);
    assert_memory_equal(t, "\xFF\xFE" "W\0i\0", 6);
    assert_memory_equal(t + 2 + 36 * 2, "\r\0\n\0\r\0\n\0", 8);
    for (size_t i = 2; i + 1 < len; i += 2) /* every LF has its CR */
        if (t[i] == '\n' && !t[i + 1])
            assert_true(t[i - 2] == '\r' && !t[i - 1]);
    free(t);
    reg_store_free(s);
}

/* regedit's wrapping: a hex list breaks once a line reaches 77 characters, continuation
 * lines are indented two blanks and hold 25 bytes, every broken line ends ",\". */
static void test_writer_wraps_as_regedit(void **state)
{
    (void)state;
    static const char *const boot[] = {"autocheck autochk *"};
    struct buf data = BUF_INIT;
    assert_int_equal(regdata_from_multi(boot, 1, &data), 0);
    struct reg_store *s = reg_store_new();
    struct reg_origin o = {0, 0};
    struct reg_key *k = reg_key_create(s, reg_store_root(s), K, strlen(K), o);
    reg_value_set(s, k, "BootExecute", REG_MULTI_SZ, data.p, data.len, o);
    uint8_t big[200] = {0};
    reg_value_set(s, k, "Big", REG_BINARY, big, sizeof big, o);
    reg_value_set(s, k, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", REG_BINARY, big, 30, o);
    char *t = store_text(s, REGTEXT_UTF8, NULL);
    /* regedit's own export of BootExecute, line for line. */
    assert_non_null(strstr(t,
        "\"BootExecute\"=hex(7):61,00,75,00,74,00,6f,00,63,00,68,00,65,00,63,00,6b,00,20,\\\n"
        "  00,61,00,75,00,74,00,6f,00,63,00,68,00,6b,00,20,00,2a,00,00,00,00,00\n"));
    const char *big_line = strstr(t, "\"Big\"=hex:");
    assert_non_null(big_line);
    /* "Big"=hex: is 10 characters: 23 bytes reach 79 >= 77. */
    size_t bytes_on_line = 0, line_no = 0;
    for (const char *c = big_line;; line_no++) {
        const char *e = strchr(c, '\n');
        size_t n = (size_t)(e - c);
        size_t bytes = (n - (line_no ? 2 : 10) + 1) / 3;
        if (line_no)
            assert_memory_equal(c, "  ", 2);
        bytes_on_line += bytes;
        if (e[-1] != '\\')
            break;
        assert_true(e[-2] == ',');
        assert_int_equal(bytes, line_no ? 25 : 23);
        assert_true(n <= 80);
        c = e + 1;
    }
    assert_int_equal(bytes_on_line, 200);
    /* Names count in characters, as regedit counts them: "éééé"=hex: is 11 characters
     * (15 bytes), so 22 bytes fit on the first line (11 + 66 = 77; by bytes only 21). */
    const char *u = strstr(t, "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"=hex:");
    assert_non_null(u);
    const char *e = strchr(u, '\n');
    assert_int_equal(e - u, 15 + 22 * 3 + 1);
    free(t);
    buf_free(&data);
    reg_store_free(s);
}

/* A name with a line break cannot be written: left out as a comment, counted; a bare
 * carriage return inside the quotes reads back as it is. */
static void test_writer_skips_unwritable_names(void **state)
{
    (void)state;
    struct reg_store *s = reg_store_new();
    struct reg_origin o = {0, 0};
    struct reg_key *k = reg_key_create(s, reg_store_root(s), K, strlen(K), o);
    reg_value_set(s, k, "two\nlines", REG_DWORD, "\1\0\0\0", 4, o);
    reg_value_set(s, k, "ok", REG_DWORD, "\1\0\0\0", 4, o);
    reg_value_set(s, k, "carriage\rreturn", REG_DWORD, "\2\0\0\0", 4, o);
    reg_key_create(s, k, "two\nlines", 9, o);
    reg_key_create(s, k, "fine", 4, o);
    struct regtext_writer w;
    regtext_writer_init(&w);
    assert_int_equal(regtext_write_key(&w, k, true), 0);
    assert_int_equal(w.skipped, 2);
    struct buf out = BUF_INIT;
    assert_int_equal(regtext_writer_finish(&w, REGTEXT_UTF8, &out), 0);
    struct reg_store *back = load_ok(out.p);
    struct reg_key *bk = reg_key_lookup(reg_store_root(back), K);
    assert_int_equal(reg_key_value_count(bk), 2);
    assert_dword(reg_value_get(bk, "carriage\rreturn"), 2);
    assert_int_equal(reg_key_subkey_count(bk), 1);
    assert_string_equal(reg_key_name(reg_key_subkey(bk, 0)), "fine");
    reg_store_free(back);
    buf_free(&out);
    regtext_writer_free(&w);
    reg_store_free(s);
}

/* A file written under another path (regtext_write_key_as) reads back there. */
static void test_writer_key_as(void **state)
{
    (void)state;
    struct reg_store *s = load_ok(V5 "[HKLM\\SYSTEM\\ControlSet001\\Control]\n\"x\"=dword:5\n"
                                     "[HKLM\\SYSTEM\\ControlSet001\\Control\\Sub]\n");
    struct regtext_writer w;
    regtext_writer_init(&w);
    struct reg_key *k = reg_key_lookup(reg_store_root(s), "HKLM\\SYSTEM\\ControlSet001\\Control");
    assert_int_equal(regtext_write_key_as(&w, k, "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control", true), 0);
    struct buf out = BUF_INIT;
    assert_int_equal(regtext_writer_finish(&w, REGTEXT_UTF8, &out), 0);
    struct reg_store *back = load_ok(out.p);
    assert_dword(val(back, "HKLM\\SYSTEM\\CurrentControlSet\\Control", "x"), 5);
    assert_non_null(reg_key_lookup(reg_store_root(back), "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Sub"));
    reg_store_free(back);
    buf_free(&out);
    regtext_writer_free(&w);
    reg_store_free(s);
}

/* ---- the UTF-16LE conversions the reader and writer go through ----------------- */

static void assert_16_to_8(const char *u16, size_t len, const char *want)
{
    struct buf b = BUF_INIT;
    buf_puts(&b, "pre");
    assert_int_equal(utf16le_to_utf8(u16, len, &b), 0);
    assert_int_equal(b.len, 3 + strlen(want));
    assert_memory_equal(b.p + 3, want, strlen(want));
    assert_int_equal(b.p[b.len], 0);
    buf_free(&b);
}

static void assert_bad(int (*conv)(const char *, size_t, struct buf *), const char *in, size_t len)
{
    struct buf b = BUF_INIT;
    buf_puts(&b, "pre");
    errno = 0;
    assert_int_equal(conv(in, len, &b), -1);
    assert_int_equal(errno, EILSEQ);
    assert_string_equal(b.p, "pre"); /* nothing of a failed call kept */
    buf_free(&b);
}

static int conv16(const char *in, size_t len, struct buf *b) { return utf16le_to_utf8(in, len, b); }

static void test_utf16_conversions(void **state)
{
    (void)state;
    assert_16_to_8("A\0", 2, "A");
    assert_16_to_8("a\0b\0c\0d\0\xe9\0f\0g\0h\0i\0j\0", 20, "abcd\xc3\xa9" "fghij");
    assert_16_to_8("\xac\x20\x3d\xd8\x00\xde", 6, "\xe2\x82\xac\xf0\x9f\x98\x80");
    struct buf b = BUF_INIT;
    assert_int_equal(utf16le_to_utf8("x\0\0\0y\0", 6, &b), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.p, "x\0y", 3);
    buf_free(&b);
    assert_bad(conv16, "\x00\xd8", 2);                 /* high at the end */
    assert_bad(conv16, "\x00\xd8" "a\0", 4);           /* high, then not low */
    assert_bad(conv16, "a\0b\0c\0d\0\x00\xdc", 10);  /* lone low after a run */
    assert_bad(conv16, "\x00\xd8\x00\xd8\x00\xdc", 6);
    assert_bad(conv16, "abc", 3);                       /* odd length */
    assert_bad(utf8_to_utf16le, "\xc0\x80", 2);         /* overlong */
    assert_bad(utf8_to_utf16le, "ab\xed\xa0\x80", 5);   /* an encoded surrogate */
    assert_bad(utf8_to_utf16le, "\xe2\x82", 2);         /* cut short */
    assert_bad(utf8_to_utf16le, "\xf4\x90\x80\x80", 4); /* past U+10FFFF */
    assert_bad(utf8_to_utf16le, "\xff", 1);
    b = (struct buf)BUF_INIT;
    assert_int_equal(utf8_to_utf16le("\xf0\x9f\x98\x80\xc3\xa9\0A", 8, &b), 0);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.p, "\x3d\xd8\x00\xde\xe9\0\0\0A\0", 10);
    buf_free(&b);

    /* Every code point of the BMP (but surrogates) and a sample of the others, there and
     * back. */
    struct buf u16 = BUF_INIT, u8 = BUF_INIT, back = BUF_INIT;
    for (uint32_t c = 1; c < 0x110000; c += c < 0x10000 ? 1 : 0x3f1) {
        if (c >= 0xD800 && c <= 0xDFFF)
            continue;
        if (c < 0x10000) {
            uint8_t u[2] = {(uint8_t)c, (uint8_t)(c >> 8)};
            buf_append(&u16, u, 2);
        } else {
            uint32_t v = c - 0x10000, hi = 0xD800 | v >> 10, lo = 0xDC00 | (v & 0x3FF);
            uint8_t u[4] = {(uint8_t)hi, (uint8_t)(hi >> 8), (uint8_t)lo, (uint8_t)(lo >> 8)};
            buf_append(&u16, u, 4);
        }
    }
    assert_int_equal(utf16le_to_utf8(u16.p, u16.len, &u8), 0);
    assert_true(utf8_valid(u8.p, u8.len));
    assert_int_equal(utf8_to_utf16le(u8.p, u8.len, &back), 0);
    assert_int_equal(back.len, u16.len);
    assert_memory_equal(back.p, u16.p, u16.len);
    /* Two- and three-byte forms where they start. */
    assert_16_to_8("\x80\x00", 2, "\xc2\x80");
    assert_16_to_8("\xff\x07", 2, "\xdf\xbf");
    assert_16_to_8("\x00\x08", 2, "\xe0\xa0\x80");
    assert_16_to_8("\xff\xff", 2, "\xef\xbf\xbf");
    assert_16_to_8("\xff\xdb\xff\xdf", 4, "\xf4\x8f\xbf\xbf");
    buf_free(&u16);
    buf_free(&u8);
    buf_free(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_crlf_and_lf),
        cmocka_unit_test(test_utf8_bom),
        cmocka_unit_test(test_utf16le_bom_crlf),
        cmocka_unit_test(test_utf16le_without_bom),
        cmocka_unit_test(test_regedit4_ansi),
        cmocka_unit_test(test_v5_hex_payload_is_utf16),
        cmocka_unit_test(test_escapes_and_default_names),
        cmocka_unit_test(test_dword_digits),
        cmocka_unit_test(test_hex_types),
        cmocka_unit_test(test_continuation_lines),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_deletions),
        cmocka_unit_test(test_parents_and_abbreviations),
        cmocka_unit_test(test_key_lines_in_any_order),
        cmocka_unit_test(test_replaced_value_keeps_place),
        cmocka_unit_test(test_origins),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_error_header),
        cmocka_unit_test(test_error_key_lines),
        cmocka_unit_test(test_error_value_placement),
        cmocka_unit_test(test_error_value_syntax),
        cmocka_unit_test(test_error_dword),
        cmocka_unit_test(test_error_hex),
        cmocka_unit_test(test_error_nul),
        cmocka_unit_test(test_error_encodings),
        cmocka_unit_test(test_several_errors_listed),
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_writer_forms),
        cmocka_unit_test(test_writer_wraps_as_regedit),
        cmocka_unit_test(test_writer_skips_unwritable_names),
        cmocka_unit_test(test_writer_key_as),
        cmocka_unit_test(test_utf16_conversions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
