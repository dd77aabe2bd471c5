/* libFuzzer target for the .reg reader and writer.
 *
 * Any bytes are loaded into a fresh store; when the reader accepts them, the store is
 * written with the writer in both encodings and read back, and the second store must
 * equal the first: the same keys in the same order, the same values with the same types
 * and bytes. A mismatch is a real bug (the writer lost or changed something the reader
 * accepted) and aborts. */
#include "regmodel.h"
#include "regtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mismatch(const struct reg_key *a, const char *what)
{
    char *path = reg_key_path(a);
    fprintf(stderr, "round trip changed %s at [%s]\n", what, path ? path : "?");
    free(path);
    abort();
}

static void compare_keys(const struct reg_key *a, const struct reg_key *b)
{
    if (strcmp(reg_key_name(a), reg_key_name(b)))
        mismatch(a, "a key name");
    if (reg_key_value_count(a) != reg_key_value_count(b))
        mismatch(a, "the number of values");
    for (size_t i = 0; i < reg_key_value_count(a); i++) {
        const struct reg_value *x = reg_key_value(a, i), *y = reg_key_value(b, i);
        if (strcmp(x->name, y->name) || x->type != y->type || x->len != y->len ||
            (x->len && memcmp(x->data, y->data, x->len)))
            mismatch(a, "a value");
    }
    if (reg_key_subkey_count(a) != reg_key_subkey_count(b))
        mismatch(a, "the number of subkeys");
    for (size_t i = 0; i < reg_key_subkey_count(a); i++)
        compare_keys(reg_key_subkey(a, i), reg_key_subkey(b, i));
}

static void round_trip(struct reg_store *s, enum regtext_encoding enc)
{
    struct regtext_writer w;
    regtext_writer_init(&w);
    struct reg_key *root = reg_store_root(s);
    for (size_t i = 0; i < reg_key_subkey_count(root); i++)
        if (regtext_write_key(&w, reg_key_subkey(root, i), true) < 0)
            abort(); /* only allocation can fail here */
    if (w.skipped)
        mismatch(root, "a name the writer cannot express");
    struct buf out = BUF_INIT;
    if (regtext_writer_finish(&w, enc, &out) < 0)
        abort();
    regtext_writer_free(&w);
    struct reg_store *back = reg_store_new();
    struct diags d = DIAGS_INIT;
    if (regtext_load_buffer(back, "written.reg", out.p, out.len, &d) < 0) {
        diags_print(&d, 2);
        fwrite(out.p, 1, out.len > 4000 ? 4000 : out.len, stderr);
        mismatch(root, "text the reader refuses");
    }
    compare_keys(root, reg_store_root(back));
    diags_free(&d);
    reg_store_free(back);
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    if (!s)
        return 0;
    int r = regtext_load_buffer(s, "fuzz.reg", data, size, &d);
    if (r == 0 && d.errors)
        abort(); /* accepted with errors: the contract is all or nothing */
    if (r < 0 && d.errors == 0)
        abort(); /* refused without saying why */
    if (r == 0) {
        round_trip(s, REGTEXT_UTF8);
        round_trip(s, REGTEXT_UTF16LE);
    }
    diags_free(&d);
    reg_store_free(s);
    return 0;
}
