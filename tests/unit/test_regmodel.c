/* The registry model: case-insensitive names, creation and deletion, the name index
 * that takes over past 8 entries, paths, and merging stores with their sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "regmodel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct reg_origin NO_ORIGIN = {0, 0};

static struct reg_key *create(struct reg_store *s, struct reg_key *base, const char *path)
{
    return reg_key_create(s, base, path, strlen(path), NO_ORIGIN);
}

static void test_case_insensitive_lookup(void **state)
{
    (void)state;
    struct reg_store *s = reg_store_new();
    struct reg_key *root = reg_store_root(s);
    struct reg_key *k = create(s, root, "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet");
    assert_non_null(k);
    assert_ptr_equal(reg_key_lookup(root, "hkey_local_machine\\SYSTEM\\currentcontrolset"), k);
    assert_ptr_equal(reg_key_lookup(root, "HKLM\\system\\CurrentControlSet"), k);
    assert_ptr_equal(reg_key_lookup(root, "HKLM\\system\\CurrentControlSet\\"), k);
    assert_null(reg_key_lookup(root, "HKLM\\system\\CurrentControlSe"));
    assert_null(reg_key_lookup(root, "HKCU\\system"));
    /* Creating again finds the same key; the first spelling stays. */
    assert_ptr_equal(create(s, root, "HKLM\\SYSTEM\\currentcontrolset"), k);
    assert_string_equal(reg_key_name(k), "CurrentControlSet");
    assert_int_equal(reg_key_subkey_count(root), 1);
    /* Values, without case, "" the default. */
    assert_int_equal(reg_value_set(s, k, "Value", REG_DWORD, "\1\0\0\0", 4, NO_ORIGIN), 0);
    assert_int_equal(reg_value_set(s, k, "", REG_SZ, "x\0\0\0", 4, NO_ORIGIN), 0);
    assert_non_null(reg_value_get(k, "VALUE"));
    assert_string_equal(reg_value_get(k, "vAlUe")->name, "Value");
    assert_int_equal(reg_value_get(k, "")->type, REG_SZ);
    assert_null(reg_value_get(k, "Valu"));
    /* Data has a NUL after it for convenience. */
    assert_int_equal(reg_value_get(k, "")->data[4], 0);
    assert_true(reg_name_equal("AbC", 3, "aBc", 3));
    assert_false(reg_name_equal("AbC", 3, "aBcd", 4));
    assert_false(reg_name_equal("\xc3\xa9", 2, "\xc3\x89", 2)); /* ASCII case only */
    reg_store_free(s);
}

static void test_create_rejects_bad_names(void **state)
{
    (void)state;
    struct reg_store *s = reg_store_new();
    struct reg_key *root = reg_store_root(s);
    errno = 0;
    assert_null(create(s, root, "HKLM\\\\X"));
    assert_int_equal(errno, EINVAL);
    char path[300];
    snprintf(path, sizeof path, "HKLM\\%0256d", 0);
    errno = 0;
    assert_null(create(s, root, path));
    assert_int_equal(errno, EINVAL);
    snprintf(path, sizeof path, "HKLM\\%0255d", 0);
    assert_non_null(create(s, root, path));
    /* The limit counts characters (UTF-16 units), not bytes. */
    char wide[600] = "HKLM\\";
    for (int i = 0; i < 255; i++)
        strcat(wide, "\xc3\xa9");
    assert_non_null(create(s, root, wide));
    strcat(wide, "x");
    errno = 0;
    assert_null(create(s, root, wide));
    assert_int_equal(errno, EINVAL);
    reg_store_free(s);
}

static void test_delete_keys_and_values(void **state)
{
    (void)state;
    struct reg_store *s = reg_store_new();
    struct reg_key *root = reg_store_root(s);
    struct reg_key *a = create(s, root, "HKLM\\A");
    create(s, root, "HKLM\\A\\B\\C");
    create(s, root, "HKLM\\D");
    reg_value_set(s, reg_key_lookup(root, "HKLM\\A\\B"), "v", REG_DWORD, "\0\0\0\0", 4,
                  NO_ORIGIN);
    reg_key_delete(s, a);
    assert_null(reg_key_lookup(root, "HKLM\\A"));
    assert_null(reg_key_lookup(root, "HKLM\\A\\B\\C"));
    struct reg_key *hklm = reg_key_lookup(root, "HKLM");
    assert_int_equal(reg_key_subkey_count(hklm), 1);
    assert_string_equal(reg_key_name(reg_key_subkey(hklm, 0)), "D");
    reg_key_delete(s, root); /* the root stays */
    assert_ptr_equal(reg_key_lookup(root, "HKLM"), hklm);
    struct reg_key *d = reg_key_lookup(root, "HKLM\\D");
    reg_value_set(s, d, "x", REG_DWORD, "\0\0\0\0", 4, NO_ORIGIN);
    assert_true(reg_value_delete(d, "X"));
    assert_false(reg_value_delete(d, "x"));
    assert_int_equal(reg_key_value_count(d), 0);
    reg_store_free(s);
}

/* Past 8 entries an index finds names: check lookups, deletion in the middle and
 * re-adding stay right with 10,000 subkeys and values, in insertion order. */
static void test_many_subkeys_and_values(void **state)
{
    (void)state;
    enum { N = 10000 };
    struct reg_store *s = reg_store_new();
    struct reg_key *root = reg_store_root(s);
    struct reg_key *k = create(s, root, "HKLM\\Many");
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "Key%05d", i);
        assert_non_null(create(s, k, name));
        snprintf(name, sizeof name, "Val%05d", i);
        uint32_t d = (uint32_t)i;
        assert_int_equal(reg_value_set(s, k, name, REG_DWORD, &d, 4, NO_ORIGIN), 0);
    }
    assert_int_equal(reg_key_subkey_count(k), N);
    assert_int_equal(reg_key_value_count(k), N);
    for (int i = 0; i < N; i += 7) {
        snprintf(name, sizeof name, "kEY%05d", i);
        struct reg_key *c = reg_key_lookup(k, name);
        assert_non_null(c);
        assert_ptr_equal(c, reg_key_subkey(k, (size_t)i));
        snprintf(name, sizeof name, "VAL%05d", i);
        const struct reg_value *v = reg_value_get(k, name);
        assert_non_null(v);
        assert_int_equal(*(const uint32_t *)v->data, i);
    }
    assert_null(reg_key_lookup(k, "Key10000"));
    assert_null(reg_value_get(k, "Val10000"));
    /* Delete from the middle: the rest keep their order and stay findable. */
    for (int i = 4000; i < 4100; i++) {
        snprintf(name, sizeof name, "Key%05d", i);
        reg_key_delete(s, reg_key_lookup(k, name));
        snprintf(name, sizeof name, "Val%05d", i);
        assert_true(reg_value_delete(k, name));
    }
    assert_int_equal(reg_key_subkey_count(k), N - 100);
    assert_int_equal(reg_key_value_count(k), N - 100);
    assert_null(reg_key_lookup(k, "Key04050"));
    assert_null(reg_value_get(k, "Val04050"));
    assert_string_equal(reg_key_name(reg_key_subkey(k, 4000)), "Key04100");
    assert_string_equal(reg_key_value(k, 4000)->name, "Val04100");
    assert_non_null(reg_key_lookup(k, "Key09999"));
    assert_non_null(reg_value_get(k, "Val09999"));
    /* Re-add: at the end. */
    assert_non_null(create(s, k, "Key04050"));
    assert_int_equal(reg_value_set(s, k, "Val04050", REG_SZ, "", 0, NO_ORIGIN), 0);
    assert_string_equal(reg_key_name(reg_key_subkey(k, N - 100)), "Key04050");
    assert_string_equal(reg_key_value(k, N - 100)->name, "Val04050");
    assert_int_equal(reg_value_get(k, "val04050")->type, REG_SZ);
    /* Replacing keeps the place. */
    assert_int_equal(reg_value_set(s, k, "val00003", REG_BINARY, "z", 1, NO_ORIGIN), 0);
    assert_int_equal(reg_key_value(k, 3)->type, REG_BINARY);
    assert_string_equal(reg_key_value(k, 3)->name, "Val00003");
    assert_int_equal(reg_key_value_count(k), N - 99);
    /* Past 8 and back to few entries: lookups still work once the index is gone. */
    struct reg_key *small = create(s, root, "HKLM\\Small");
    for (int i = 0; i < 12; i++) {
        snprintf(name, sizeof name, "v%d", i);
        reg_value_set(s, small, name, REG_NONE, "", 0, NO_ORIGIN);
        snprintf(name, sizeof name, "k%d", i);
        create(s, small, name);
    }
    for (int i = 0; i < 9; i++) {
        snprintf(name, sizeof name, "V%d", i);
        assert_true(reg_value_delete(small, name));
        snprintf(name, sizeof name, "K%d", i);
        reg_key_delete(s, reg_key_lookup(small, name));
    }
    assert_non_null(reg_value_get(small, "v11"));
    assert_non_null(reg_key_lookup(small, "K10"));
    assert_null(reg_value_get(small, "v8"));
    assert_null(reg_key_lookup(small, "k0"));
    reg_store_free(s);
}

static void test_key_path(void **state)
{
    (void)state;
    struct reg_store *s = reg_store_new();
    struct reg_key *root = reg_store_root(s);
    struct reg_key *k = create(s, root, "HKLM\\SYSTEM\\Caf\xc3\xa9\\x y");
    char *p = reg_key_path(k);
    assert_string_equal(p, "HKEY_LOCAL_MACHINE\\SYSTEM\\Caf\xc3\xa9\\x y");
    free(p);
    p = reg_key_path(root);
    assert_string_equal(p, "");
    free(p);
    assert_ptr_equal(reg_key_parent(k), reg_key_lookup(root, "HKLM\\SYSTEM\\Caf\xc3\xa9"));
    assert_null(reg_key_parent(root));
    reg_store_free(s);
}

static void test_sources_and_origins(void **state)
{
    (void)state;
    struct reg_store *s = reg_store_new();
    uint32_t a = reg_store_add_source(s, "a.reg"), b = reg_store_add_source(s, "hive /x/SYSTEM");
    assert_int_equal(a, 1);
    assert_int_equal(b, 2);
    assert_int_equal(reg_store_add_source(s, "a.reg"), 1);
    char o[64];
    assert_string_equal(reg_origin_format(s, (struct reg_origin){a, 7}, o, sizeof o), "a.reg:7");
    assert_string_equal(reg_origin_format(s, (struct reg_origin){b, 0}, o, sizeof o),
                        "hive /x/SYSTEM");
    assert_string_equal(reg_store_source(s, 0), "(unknown)");
    assert_string_equal(reg_store_source(s, 99), "(unknown)");
    assert_string_equal(reg_type_name(REG_MULTI_SZ), "REG_MULTI_SZ");
    assert_string_equal(reg_type_name(REG_QWORD), "REG_QWORD");
    assert_string_equal(reg_type_name(0x1234), "REG_TYPE_0x1234");
    reg_store_free(s);
}

/* Merging copies values and subkeys, replaces same-named values in place, and maps the
 * source indexes into the destination's own list. */
static void test_merge(void **state)
{
    (void)state;
    struct reg_store *dst = reg_store_new(), *src = reg_store_new();
    uint32_t d1 = reg_store_add_source(dst, "default.reg");
    uint32_t s1 = reg_store_add_source(src, "other.reg");
    uint32_t s2 = reg_store_add_source(src, "default.reg");
    struct reg_key *dk = reg_key_create(dst, reg_store_root(dst), "HKLM\\X", 6,
                                        (struct reg_origin){d1, 1});
    reg_value_set(dst, dk, "a", REG_DWORD, "\1\0\0\0", 4, (struct reg_origin){d1, 2});
    reg_value_set(dst, dk, "b", REG_DWORD, "\2\0\0\0", 4, (struct reg_origin){d1, 3});
    struct reg_key *sk = reg_key_create(src, reg_store_root(src), "HKLM\\X", 6,
                                        (struct reg_origin){s1, 1});
    reg_value_set(src, sk, "A", REG_SZ, "z\0\0\0", 4, (struct reg_origin){s1, 5});
    reg_value_set(src, sk, "c", REG_DWORD, "\3\0\0\0", 4, (struct reg_origin){s2, 9});
    reg_key_create(src, sk, "Sub\\Deeper", 10, (struct reg_origin){s1, 6});
    assert_int_equal(reg_key_merge(dst, reg_store_root(dst), src, reg_store_root(src)), 0);

    assert_int_equal(reg_key_value_count(dk), 3);
    const struct reg_value *a = reg_key_value(dk, 0);
    assert_string_equal(a->name, "a"); /* replaced in place; first spelling kept */
    assert_int_equal(a->type, REG_SZ);
    char o[64];
    assert_string_equal(reg_origin_format(dst, a->origin, o, sizeof o), "other.reg:5");
    const struct reg_value *c = reg_value_get(dk, "c");
    assert_string_equal(reg_origin_format(dst, c->origin, o, sizeof o), "default.reg:9");
    assert_int_equal(c->origin.source, d1); /* the same description: the same index */
    struct reg_key *deep = reg_key_lookup(reg_store_root(dst), "HKLM\\X\\Sub\\Deeper");
    assert_non_null(deep);
    assert_string_equal(reg_origin_format(dst, reg_key_origin(deep), o, sizeof o), "other.reg:6");
    assert_string_equal(reg_key_value(dk, 1)->name, "b");
    reg_store_free(src);
    reg_store_free(dst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case_insensitive_lookup),
        cmocka_unit_test(test_create_rejects_bad_names),
        cmocka_unit_test(test_delete_keys_and_values),
        cmocka_unit_test(test_many_subkeys_and_values),
        cmocka_unit_test(test_key_path),
        cmocka_unit_test(test_sources_and_origins),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
