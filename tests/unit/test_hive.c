/* The hive reader: the real Windows 7 SYSTEM hive, and hives built here with hivex from
 * the minimal template (every value type, control set selection, SOFTWARE hives, 8-bit
 * strings, damaged files in safe and unsafe mode). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "diag.h"
#include "hive.h"
#include "regdata.h"
#include "regmodel.h"

#include <errno.h>
#include <fcntl.h>
#include <hivex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SM "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager"
#define HIVE_SM "ControlSet001\\Control\\Session Manager"

/* ---- fixtures ----------------------------------------------------------------------- */

static char data_dir[4096];

/* The shared data folder, or NULL (the test is then skipped: a clone lacks it). */
static const char *data_folder(void)
{
    const char *d = getenv("SMSS_DATA"), *top = getenv("SMSS_TOP");
    if (d && *d)
        snprintf(data_dir, sizeof data_dir, "%s", d);
    else
        snprintf(data_dir, sizeof data_dir, "%s/../shared/data", top && *top ? top : ".");
    struct stat st;
    return stat(data_dir, &st) == 0 && S_ISDIR(st.st_mode) ? data_dir : NULL;
}

#define NEED_DATA()                                                                         \
    do {                                                                                    \
        if (!data_folder()) {                                                               \
            print_message("# SKIP: %s is absent (set SMSS_DATA to the sample data)\n",      \
                          data_dir);                                                        \
            skip();                                                                         \
        }                                                                                   \
    } while (0)

static void temp_path(char *out, size_t size)
{
    const char *t = getenv("TMPDIR");
    snprintf(out, size, "%s/test_hive.XXXXXX", t && *t ? t : "/tmp");
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    close(fd);
}

static void write_whole(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void copy_file(const char *from, const char *to)
{
    struct buf b = BUF_INIT;
    assert_int_equal(read_file(from, &b), 0);
    write_whole(to, b.p, b.len);
    buf_free(&b);
}

/* xz -dc FROM > TO */
static void unxz(const char *from, const char *to)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(to, O_WRONLY | O_TRUNC);
        if (fd < 0 || dup2(fd, 1) < 0)
            _exit(127);
        execlp("xz", "xz", "-dc", from, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- building hives with hivex ------------------------------------------------------ */

struct tv {
    const char *name;
    uint32_t type;
    const void *data;
    size_t len;
};

static struct buf utf16(const char *s)
{
    struct buf b = BUF_INIT;
    assert_int_equal(regdata_from_string(s, &b), 0);
    return b;
}

static hive_node_h key_at(hive_h *h, const char *path)
{
    hive_node_h n = hivex_root(h);
    char copy[512];
    snprintf(copy, sizeof copy, "%s", path);
    for (char *save = NULL, *c = strtok_r(copy, "\\", &save); c; c = strtok_r(NULL, "\\", &save)) {
        errno = 0;
        hive_node_h k = hivex_node_get_child(h, n, c);
        assert_int_equal(errno, 0);
        if (!k)
            k = hivex_node_add_child(h, n, c);
        assert_true(k != 0);
        n = k;
    }
    return n;
}

static void set_values(hive_h *h, const char *path, const struct tv *v, size_t n)
{
    hive_set_value *sv = calloc(n ? n : 1, sizeof *sv);
    assert_non_null(sv);
    for (size_t i = 0; i < n; i++)
        sv[i] = (hive_set_value){(char *)v[i].name, (hive_type)v[i].type, v[i].len,
                                 (char *)v[i].data};
    assert_int_equal(hivex_node_set_values(h, key_at(h, path), n, sv, 0), 0);
    free(sv);
}

static void set_dword(hive_h *h, const char *path, const char *name, uint32_t v)
{
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    struct tv t = {name, REG_DWORD, le, 4};
    set_values(h, path, &t, 1);
}

static void set_sz(hive_h *h, const char *path, const char *name, const char *text)
{
    struct buf b = utf16(text);
    struct tv t = {name, REG_SZ, b.p, b.len};
    set_values(h, path, &t, 1);
    buf_free(&b);
}

/* A fresh hive from the minimal template, open for writing. */
static hive_h *hive_begin(char *path, size_t size)
{
    char tmpl[4200];
    snprintf(tmpl, sizeof tmpl, "%s/minimal.hive", data_dir);
    temp_path(path, size);
    copy_file(tmpl, path);
    chmod(path, 0600);
    hive_h *h = hivex_open(path, HIVEX_OPEN_WRITE);
    assert_non_null(h);
    return h;
}

static void hive_end(hive_h *h)
{
    assert_int_equal(hivex_commit(h, NULL, 0), 0);
    assert_int_equal(hivex_close(h), 0);
}

/* Multi-string of PendingFileRenameOperations: a delete (empty destination) between. */
static const char *const renames[] = {"\\??\\C:\\old.tmp", "", "\\??\\C:\\new.dll",
                                      "!\\??\\C:\\Windows\\x.dll"};

static const uint8_t resource_list[] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                        0, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd};
static const uint8_t qword[] = {0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01};
static const uint8_t dword_ff[] = {0xff, 0xff, 0xff, 0xff};
static const uint8_t dword_be[] = {0x12, 0x34, 0x56, 0x78};
static const uint8_t binary[] = {0, 1, 2, 0xfe, 0xff};
static const uint8_t none[] = {7, 8, 9};
static const uint8_t unknown[] = {0xde, 0xad, 0xbe, 0xef, 0x01};

/* The Session Manager values of the "every type" hive, in hive order; filled by
 * every_type_values (the UTF-16 ones need building). */
static struct buf sz_buf, expand_buf, link_buf, multi_buf, big_buf;

static size_t every_type_values(struct tv *v)
{
    sz_buf = utf16("autocheck autochk *");
    expand_buf = utf16("%SystemRoot%\\system32");
    link_buf = utf16("\\Registry\\Machine\\System\\ControlSet001");
    link_buf.len -= 2; /* links are stored without a terminator */
    multi_buf = (struct buf)BUF_INIT;
    assert_int_equal(regdata_from_multi(renames, 4, &multi_buf), 0);
    big_buf = (struct buf)BUF_INIT;
    for (int i = 0; i < 3000; i++)
        assert_int_equal(buf_putc(&big_buf, (char)(i * 7)), 0);
    size_t n = 0;
    v[n++] = (struct tv){"", REG_SZ, sz_buf.p, sz_buf.len};
    v[n++] = (struct tv){"None", REG_NONE, none, sizeof none};
    v[n++] = (struct tv){"EmptyNone", REG_NONE, "", 0};
    v[n++] = (struct tv){"BootExecute", REG_SZ, sz_buf.p, sz_buf.len};
    v[n++] = (struct tv){"Expand", REG_EXPAND_SZ, expand_buf.p, expand_buf.len};
    v[n++] = (struct tv){"Binary", REG_BINARY, binary, sizeof binary};
    v[n++] = (struct tv){"Big", REG_BINARY, big_buf.p, big_buf.len};
    v[n++] = (struct tv){"Dword", REG_DWORD, dword_ff, 4};
    v[n++] = (struct tv){"DwordBE", REG_DWORD_BIG_ENDIAN, dword_be, 4};
    v[n++] = (struct tv){"Link", REG_LINK, link_buf.p, link_buf.len};
    v[n++] = (struct tv){"PendingFileRenameOperations", REG_MULTI_SZ, multi_buf.p,
                         multi_buf.len};
    v[n++] = (struct tv){"Resources", REG_RESOURCE_LIST, resource_list, sizeof resource_list};
    v[n++] = (struct tv){"Qword", REG_QWORD, qword, sizeof qword};
    v[n++] = (struct tv){"Odd", 0x1234, unknown, sizeof unknown};
    return n;
}

static void every_type_free(void)
{
    buf_free(&sz_buf);
    buf_free(&expand_buf);
    buf_free(&link_buf);
    buf_free(&multi_buf);
    buf_free(&big_buf);
}

static void add_select(hive_h *h, uint32_t current)
{
    struct tv v[4];
    uint8_t cur[4] = {(uint8_t)current, 0, 0, 0}, one[4] = {1, 0, 0, 0}, zero[4] = {0};
    v[0] = (struct tv){"Current", REG_DWORD, cur, 4};
    v[1] = (struct tv){"Default", REG_DWORD, one, 4};
    v[2] = (struct tv){"Failed", REG_DWORD, zero, 4};
    v[3] = (struct tv){"LastKnownGood", REG_DWORD, one, 4};
    set_values(h, "Select", v, 4);
}

/* A SYSTEM hive: Select\Current = 1, ControlSet001 with a Session Manager holding every
 * value type, two subkeys, a Services key smss does not read, and last (in its own hbin,
 * after a large value fills the one before) Session Manager\Late. */
static void build_system(char *path, size_t size)
{
    hive_h *h = hive_begin(path, size);
    add_select(h, 1);
    struct tv v[20];
    size_t n = every_type_values(v);
    set_values(h, HIVE_SM, v, n);
    every_type_free();
    struct buf req = BUF_INIT;
    const char *const required[] = {"Debug", "Windows"};
    assert_int_equal(regdata_from_multi(required, 2, &req), 0);
    struct tv sub = {"Required", REG_MULTI_SZ, req.p, req.len};
    set_values(h, HIVE_SM "\\SubSystems", &sub, 1);
    buf_free(&req);
    set_sz(h, HIVE_SM "\\Environment", "Path", "%SystemRoot%\\system32");
    static uint8_t pad[12000];
    struct buf img = utf16("tcpip.sys");
    struct tv tcpip[] = {{"ImagePath", REG_SZ, img.p, img.len},
                         {"Padding", REG_BINARY, pad, sizeof pad}};
    set_values(h, "ControlSet001\\Services\\Tcpip", tcpip, 2);
    buf_free(&img);
    set_sz(h, HIVE_SM "\\Late", "Added", "last");
    hive_end(h);
}

/* ---- the store ---------------------------------------------------------------------- */

static const struct reg_value *value_at(struct reg_store *s, const char *key, const char *name)
{
    struct reg_key *k = reg_key_lookup(reg_store_root(s), key);
    if (!k)
        fail_msg("key %s is missing", key);
    const struct reg_value *v = reg_value_get(k, name);
    if (!v)
        fail_msg("value %s\\%s is missing", key, name);
    return v;
}

static void assert_multi(struct reg_store *s, const char *key, const char *name,
                         const char *const *want, size_t n)
{
    const struct reg_value *v = value_at(s, key, name);
    assert_int_equal(v->type, REG_MULTI_SZ);
    struct strlist l = STRLIST_INIT;
    assert_int_equal(regdata_multi(v->data, v->len, &l), 0);
    assert_int_equal(l.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(l.v[i], want[i]);
    strlist_free(&l);
}

static void assert_string_value(struct reg_store *s, const char *key, const char *name,
                                uint32_t type, const char *want)
{
    const struct reg_value *v = value_at(s, key, name);
    assert_int_equal(v->type, type);
    char *text = NULL;
    assert_int_equal(regdata_string(v->data, v->len, &text), 0);
    assert_string_equal(text, want);
    free(text);
}

/* Every key, value, type and byte of a store, as text: to see that nothing changed. */
static void dump_key(const struct reg_key *k, struct buf *out)
{
    char *p = reg_key_path(k);
    buf_printf(out, "[%s]\n", p);
    free(p);
    for (size_t i = 0; i < reg_key_value_count(k); i++) {
        const struct reg_value *v = reg_key_value(k, i);
        buf_printf(out, "%s=%u:", v->name, v->type);
        for (size_t j = 0; j < v->len; j++)
            buf_printf(out, "%02x", v->data[j]);
        buf_putc(out, '\n');
    }
    for (size_t i = 0; i < reg_key_subkey_count(k); i++)
        dump_key(reg_key_subkey(k, i), out);
}

static char *dump(struct reg_store *s)
{
    struct buf b = BUF_INIT;
    dump_key(reg_store_root(s), &b);
    return buf_steal(&b);
}

/* A store already holding a configuration, as when a hive is read over the default. */
static struct reg_store *store_with_default(void)
{
    struct reg_store *s = reg_store_new();
    assert_non_null(s);
    struct reg_key *k = reg_key_create(s, reg_store_root(s), SM, strlen(SM),
                                       (struct reg_origin){0, 0});
    assert_non_null(k);
    struct buf b = utf16("default");
    assert_int_equal(reg_value_set(s, k, "BootExecute", REG_SZ, b.p, b.len,
                                   (struct reg_origin){0, 0}), 0);
    buf_free(&b);
    return s;
}

/* The first diagnostic of that level, or a failure listing them all. */
static const struct diag *find_diag(const struct diags *d, enum diag_level level,
                                    const char *where, const char *text)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].level == level && (!where || strcmp(d->v[i].where, where) == 0) &&
            (!text || strstr(d->v[i].message, text)))
            return &d->v[i];
    diags_print(d, 2);
    fail_msg("no %s at \"%s\" saying \"%s\"", level == DIAG_ERROR ? "error" : "warning",
             where ? where : "*", text ? text : "*");
    return NULL;
}

static char *where_of(const char *path, const char *inside)
{
    struct buf b = BUF_INIT;
    buf_printf(&b, "hive %s%s%s", path, inside ? ": " : "", inside ? inside : "");
    return buf_steal(&b);
}

static const char *const sm_only[] = {"Control\\Session Manager", "Control\\NoSuchKey", NULL};

/* ---- the real Windows 7 hive -------------------------------------------------------- */

static void test_win7_system(void **state)
{
    (void)state;
    NEED_DATA();
    char xz[4200], path[4200];
    snprintf(xz, sizeof xz, "%s/SYSTEM-win7.xz", data_dir);
    temp_path(path, sizeof path);
    unxz(xz, path);

    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    int r = hive_load(s, path, sm_only, 0, &d);
    diags_print(&d, 2);
    assert_int_equal(r, 0);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 0);

    assert_multi(s, SM, "BootExecute", (const char *const[]){"autocheck autochk *"}, 1);
    assert_multi(s, SM "\\SubSystems", "Required", (const char *const[]){"Debug", "Windows"}, 2);
    assert_multi(s, SM "\\SubSystems", "Optional", (const char *const[]){"Posix"}, 1);
    value_at(s, SM "\\SubSystems", "Posix");
    value_at(s, SM "\\SubSystems", "Kmode");
    value_at(s, SM "\\SubSystems", "Windows");
    struct reg_key *known = reg_key_lookup(reg_store_root(s), SM "\\KnownDLLs");
    assert_non_null(known);
    assert_int_equal(reg_key_value_count(known), 29);
    assert_string_value(s, SM "\\KnownDLLs", "DllDirectory", REG_EXPAND_SZ,
                        "%SystemRoot%\\system32");
    assert_non_null(reg_key_lookup(reg_store_root(s), SM "\\Environment"));
    assert_int_equal(value_at(s, SM "\\Memory Management", "PagingFiles")->type, REG_MULTI_SZ);

    /* Select copied; Current names ControlSet001. */
    const struct reg_value *cur = value_at(s, "HKLM\\SYSTEM\\Select", "Current");
    uint32_t n = 0;
    assert_int_equal(regdata_dword(cur->type, cur->data, cur->len, &n), 0);
    assert_int_equal(n, 1);

    /* Only the listed subtrees: no Services, no other Control keys, no missing one. */
    struct reg_key *ccs = reg_key_lookup(reg_store_root(s), "HKLM\\SYSTEM\\CurrentControlSet");
    assert_null(reg_key_lookup(ccs, "Services"));
    assert_null(reg_key_lookup(ccs, "Control\\NoSuchKey"));
    assert_int_equal(reg_key_subkey_count(reg_key_lookup(ccs, "Control")), 1);

    /* Origins name the hive. */
    char *want = where_of(path, NULL);
    assert_string_equal(reg_store_source(s, cur->origin.source), want);
    assert_int_equal(cur->origin.line, 0);
    assert_string_equal(reg_store_source(s, value_at(s, SM, "BootExecute")->origin.source), want);
    free(want);

    diags_free(&d);
    reg_store_free(s);
    unlink(path);
}

/* The whole hive (subtrees NULL) reads without a single diagnostic. */
static void test_win7_whole_control_set(void **state)
{
    (void)state;
    NEED_DATA();
    char xz[4200], path[4200];
    snprintf(xz, sizeof xz, "%s/SYSTEM-win7.xz", data_dir);
    temp_path(path, sizeof path);
    unxz(xz, path);
    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    assert_int_equal(hive_load(s, path, NULL, 0, &d), 0);
    assert_int_equal(d.n, 0);
    struct reg_key *services =
        reg_key_lookup(reg_store_root(s), "HKLM\\SYSTEM\\CurrentControlSet\\Services");
    assert_non_null(services);
    assert_true(reg_key_subkey_count(services) > 100);
    assert_multi(s, SM "\\SubSystems", "Required", (const char *const[]){"Debug", "Windows"}, 2);
    diags_free(&d);
    reg_store_free(s);
    unlink(path);
}

/* ---- built hives -------------------------------------------------------------------- */

static void test_every_type_byte_exact(void **state)
{
    (void)state;
    NEED_DATA();
    char path[4200];
    build_system(path, sizeof path);
    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    assert_int_equal(hive_load(s, path, sm_only, 0, &d), 0);
    assert_int_equal(d.n, 0);

    struct tv v[20];
    size_t n = every_type_values(v);
    struct reg_key *k = reg_key_lookup(reg_store_root(s), SM);
    assert_non_null(k);
    assert_int_equal(reg_key_value_count(k), n);
    for (size_t i = 0; i < n; i++) {
        const struct reg_value *got = reg_key_value(k, i); /* hive order */
        assert_string_equal(got->name, v[i].name);
        assert_int_equal(got->type, v[i].type);
        assert_int_equal(got->len, v[i].len);
        assert_memory_equal(got->data, v[i].data, v[i].len);
    }
    every_type_free();

    /* The delete entry (empty destination) survives, the list terminator does not. */
    assert_multi(s, SM, "PendingFileRenameOperations", renames, 4);
    assert_multi(s, SM "\\SubSystems", "Required", (const char *const[]){"Debug", "Windows"}, 2);
    assert_string_value(s, SM "\\Environment", "Path", REG_SZ, "%SystemRoot%\\system32");
    /* Subkeys in hive order (sorted, as hives keep them), the Select key copied,
     * Services not read. */
    assert_int_equal(reg_key_subkey_count(k), 3);
    assert_string_equal(reg_key_name(reg_key_subkey(k, 0)), "Environment");
    assert_string_equal(reg_key_name(reg_key_subkey(k, 1)), "Late");
    assert_string_equal(reg_key_name(reg_key_subkey(k, 2)), "SubSystems");
    struct reg_key *select = reg_key_lookup(reg_store_root(s), "HKLM\\SYSTEM\\Select");
    assert_int_equal(reg_key_value_count(select), 4);
    assert_null(reg_key_lookup(reg_store_root(s), "HKLM\\SYSTEM\\CurrentControlSet\\Services"));
    diags_free(&d);
    reg_store_free(s);

    /* subtrees NULL: the whole control set. */
    s = reg_store_new();
    assert_int_equal(hive_load(s, path, NULL, 0, &d), 0);
    assert_string_value(s, "HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip", "ImagePath",
                        REG_SZ, "tcpip.sys");
    assert_multi(s, SM, "PendingFileRenameOperations", renames, 4);
    diags_free(&d);
    reg_store_free(s);
    unlink(path);
}

/* Loading over an existing configuration replaces values, keeps the rest. */
static void test_merges_over_store(void **state)
{
    (void)state;
    NEED_DATA();
    char path[4200];
    build_system(path, sizeof path);
    struct reg_store *s = store_with_default();
    struct reg_key *k = reg_key_lookup(reg_store_root(s), SM);
    struct buf b = utf16("kept");
    assert_int_equal(reg_value_set(s, k, "OnlyHere", REG_SZ, b.p, b.len,
                                   (struct reg_origin){0, 0}), 0);
    buf_free(&b);
    struct diags d = DIAGS_INIT;
    assert_int_equal(hive_load(s, path, sm_only, 0, &d), 0);
    assert_string_value(s, SM, "BootExecute", REG_SZ, "autocheck autochk *");
    assert_string_value(s, SM, "OnlyHere", REG_SZ, "kept");
    diags_free(&d);
    reg_store_free(s);
    unlink(path);
}

static void test_select_current_2(void **state)
{
    (void)state;
    NEED_DATA();
    char path[4200];
    hive_h *h = hive_begin(path, sizeof path);
    add_select(h, 2);
    set_sz(h, "ControlSet001\\Control\\Session Manager", "Which", "one");
    set_sz(h, "ControlSet002\\Control\\Session Manager", "Which", "two");
    hive_end(h);
    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    assert_int_equal(hive_load(s, path, sm_only, 0, &d), 0);
    assert_string_value(s, SM, "Which", REG_SZ, "two");
    assert_null(reg_key_lookup(reg_store_root(s), "HKLM\\SYSTEM\\ControlSet001"));
    diags_free(&d);
    reg_store_free(s);
    unlink(path);
}

/* A load that must fail: an error whose where and message are checked; the store keeps
 * exactly what it held. */
static void expect_error(const char *path, unsigned flags, const char *inside, const char *text)
{
    struct reg_store *s = store_with_default();
    char *before = dump(s);
    struct diags d = DIAGS_INIT;
    assert_int_equal(hive_load(s, path, sm_only, flags, &d), -1);
    assert_true(d.errors > 0);
    char *where = where_of(path, inside);
    find_diag(&d, DIAG_ERROR, where, text);
    free(where);
    char *after = dump(s);
    assert_string_equal(before, after);
    free(before);
    free(after);
    diags_free(&d);
    reg_store_free(s);
}

static void test_select_current_missing(void **state)
{
    (void)state;
    NEED_DATA();
    char path[4200];
    hive_h *h = hive_begin(path, sizeof path);
    set_dword(h, "Select", "Default", 1);
    set_sz(h, HIVE_SM, "Which", "one");
    hive_end(h);
    expect_error(path, 0, NULL, "Select\\Current is missing");
    unlink(path);
}

/* hivex_value_dword says -1 both on error and for 0xFFFFFFFF: neither is taken blindly. */
static void test_select_current_bad(void **state)
{
    (void)state;
    NEED_DATA();
    char path[4200];
    hive_h *h = hive_begin(path, sizeof path);
    struct tv v = {"Current", REG_BINARY, "\x01\0\0\0", 4};
    set_values(h, "Select", &v, 1);
    set_sz(h, HIVE_SM, "Which", "one");
    hive_end(h);
    expect_error(path, 0, NULL, "Select\\Current is REG_BINARY of 4 bytes, not the REG_DWORD");
    unlink(path);

    h = hive_begin(path, sizeof path);
    set_dword(h, "Select", "Current", 0xFFFFFFFFu);
    set_sz(h, HIVE_SM, "Which", "one");
    hive_end(h);
    expect_error(path, 0, NULL, "ControlSet4294967295 is missing");
    unlink(path);
}

static void test_control_set_missing(void **state)
{
    (void)state;
    NEED_DATA();
    char path[4200];
    hive_h *h = hive_begin(path, sizeof path);
    add_select(h, 3);
    set_sz(h, HIVE_SM, "Which", "one");
    hive_end(h);
    expect_error(path, HIVE_UNSAFE, NULL, "ControlSet003 is missing, though Select\\Current = 3");
    unlink(path);
}

static void test_software_hive(void **state)
{
    (void)state;
    NEED_DATA();
    char path[4200];
    hive_h *h = hive_begin(path, sizeof path);
    struct buf shell = utf16("explorer.exe"), userinit = utf16("userinit.exe,");
    struct tv wv[] = {{"Shell", REG_SZ, shell.p, shell.len},
                      {"Userinit", REG_SZ, userinit.p, userinit.len}};
    set_values(h, "Microsoft\\Windows NT\\CurrentVersion\\Winlogon", wv, 2);
    buf_free(&shell);
    buf_free(&userinit);
    set_sz(h, "Microsoft\\Windows\\CurrentVersion\\Run", "Evil", "evil.exe");
    set_sz(h, "Classes\\.txt", "", "txtfile");
    hive_end(h);
    const char *const winlogon[] = {"microsoft\\windows nt\\currentversion\\winlogon",
                                    "Policies\\Absent", "Microsoft\\Windows\\Absent", NULL};
    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    assert_int_equal(hive_load(s, path, winlogon, 0, &d), 0);
    assert_int_equal(d.n, 0);
    const char *wl = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon";
    assert_string_value(s, wl, "Shell", REG_SZ, "explorer.exe");
    assert_string_value(s, wl, "Userinit", REG_SZ, "userinit.exe,");
    /* The hive's own spelling of the names, not the caller's. */
    char *p = reg_key_path(reg_key_lookup(reg_store_root(s), wl));
    assert_string_equal(p, "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\"
                           "CurrentVersion\\Winlogon");
    free(p);
    assert_null(reg_key_lookup(reg_store_root(s), "HKLM\\SOFTWARE\\Microsoft\\Windows"));
    assert_null(reg_key_lookup(reg_store_root(s), "HKLM\\SOFTWARE\\Classes"));
    assert_null(reg_key_lookup(reg_store_root(s), "HKLM\\SYSTEM"));
    diags_free(&d);
    reg_store_free(s);

    s = reg_store_new();
    assert_int_equal(hive_load(s, path, NULL, 0, &d), 0);
    assert_string_value(s, "HKLM\\SOFTWARE\\Classes\\.txt", "", REG_SZ, "txtfile");
    assert_string_value(s, "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run", "Evil",
                        REG_SZ, "evil.exe");
    diags_free(&d);
    reg_store_free(s);
    unlink(path);
}

static void test_unknown_kind(void **state)
{
    (void)state;
    NEED_DATA();
    char path[4200];
    hive_h *h = hive_begin(path, sizeof path);
    set_sz(h, "AppEvents\\Schemes", "", "x");
    set_sz(h, "Console", "", "y");
    hive_end(h);
    expect_error(path, 0, NULL,
                 "neither a SYSTEM hive (a Select key at its root) nor a SOFTWARE hive (a "
                 "Microsoft key at its root); its root holds: AppEvents, Console");
    unlink(path);
}

static void test_missing_file(void **state)
{
    (void)state;
    expect_error("/nonexistent/dir/SYSTEM", 0, NULL, "cannot open the hive: No such file");
}

/* ---- 8-bit strings ------------------------------------------------------------------ */

static void test_8bit_strings(void **state)
{
    (void)state;
    NEED_DATA();
    char path[4200];
    hive_h *h = hive_begin(path, sizeof path);
    add_select(h, 1);
    struct buf cjk = utf16("\xe4\xb8\xad\xe6\x96\x87"); /* 中文, both units without a zero byte */
    struct buf mixed = utf16("\xe6\x9d\xb1\xe4\xba\xac" "A"); /* 東京A: ends in a Latin letter */
    struct buf one = utf16("1");
    struct tv v[] = {
        {"Ansi", REG_SZ, "C:\\Program Files\\caf\xe9.exe", 26}, /* odd text + NUL */
        {"AnsiEven", REG_EXPAND_SZ, "%SystemRoot%\\x.exe", 19}, /* even text + NUL */
        {"AnsiBare", REG_SZ, "abcd", 4},                             /* no NUL at all */
        {"AnsiLines", REG_SZ, "ab\ncd", 6},
        {"Cjk", REG_SZ, cjk.p, cjk.len},
        {"CjkBare", REG_SZ, cjk.p, cjk.len - 2},
        {"Mixed", REG_SZ, mixed.p, mixed.len},
        {"OneBare", REG_SZ, one.p, one.len - 2}, /* "1" in UTF-16 without its NUL */
        {"Empty", REG_SZ, "", 0},
        {"Bin", REG_BINARY, "abc", 4},                               /* not a string type */
    };
    set_values(h, HIVE_SM, v, sizeof v / sizeof *v);
    hive_end(h);

    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    assert_int_equal(hive_load(s, path, sm_only, 0, &d), 0);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 4);
    for (size_t i = 0; i < d.n; i++) /* one line each, whatever the text holds */
        assert_null(strchr(d.v[i].message, '\n'));
    char *where = where_of(path, HIVE_SM "\\Ansi");
    find_diag(&d, DIAG_WARNING, where, "REG_SZ data is stored as 8-bit text, not UTF-16LE");
    free(where);
    where = where_of(path, HIVE_SM "\\AnsiEven");
    find_diag(&d, DIAG_WARNING, where, "REG_EXPAND_SZ data is stored as 8-bit text");
    free(where);

    /* Converted, with a terminator: the é (0xE9 in Windows-1252) included. */
    assert_string_value(s, SM, "Ansi", REG_SZ, "C:\\Program Files\\caf\xc3\xa9.exe");
    const struct reg_value *ansi = value_at(s, SM, "Ansi");
    assert_true(regdata_is_plain_string(ansi->data, ansi->len));
    assert_string_value(s, SM, "AnsiEven", REG_EXPAND_SZ, "%SystemRoot%\\x.exe");
    assert_string_value(s, SM, "AnsiBare", REG_SZ, "abcd");
    assert_string_value(s, SM, "AnsiLines", REG_SZ, "ab\ncd");
    /* Real UTF-16 left byte for byte. */
    const struct reg_value *c = value_at(s, SM, "Cjk");
    assert_int_equal(c->len, cjk.len);
    assert_memory_equal(c->data, cjk.p, cjk.len);
    c = value_at(s, SM, "CjkBare");
    assert_int_equal(c->len, cjk.len - 2);
    assert_memory_equal(c->data, cjk.p, cjk.len - 2);
    c = value_at(s, SM, "Mixed");
    assert_memory_equal(c->data, mixed.p, mixed.len);
    c = value_at(s, SM, "OneBare");
    assert_int_equal(c->len, 2);
    assert_int_equal(value_at(s, SM, "Empty")->len, 0);
    assert_int_equal(value_at(s, SM, "Bin")->len, 4);
    buf_free(&cjk);
    buf_free(&mixed);
    buf_free(&one);
    diags_free(&d);
    reg_store_free(s);
    unlink(path);
}

/* ---- damaged hives ------------------------------------------------------------------ */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* File offset of the used cell of kind "nk" or "vk" called name (first match), or a
 * failure. Names are the ASCII form hivex writes. */
static size_t find_cell(const struct buf *f, const char *kind, const char *name)
{
    const uint8_t *d = (const uint8_t *)f->p;
    size_t nl = strlen(name);
    for (size_t off = 0x1000; off + 0x20 <= f->len && !memcmp(d + off, "hbin", 4);) {
        size_t hsize = le32(d + off + 8);
        assert_true(hsize >= 0x1000 && off + hsize <= f->len);
        for (size_t c = off + 0x20; c + 8 <= off + hsize;) {
            int32_t cs = (int32_t)le32(d + c);
            size_t len = cs < 0 ? (size_t)(-(int64_t)cs) : (size_t)cs;
            assert_true(len >= 8);
            bool nk = kind[0] == 'n';
            size_t name_at = nk ? 0x50 : 0x18, len_at = nk ? 0x4c : 0x06;
            if (cs < 0 && !memcmp(d + c + 4, kind, 2) && c + name_at + nl <= f->len &&
                (size_t)(d[c + len_at] | d[c + len_at + 1] << 8) == nl &&
                !memcmp(d + c + name_at, name, nl))
                return c;
            c += len;
        }
        off += hsize;
    }
    fail_msg("no %s cell called %s", kind, name);
    return 0;
}

static size_t hbin_of(const struct buf *f, size_t cell)
{
    const uint8_t *d = (const uint8_t *)f->p;
    for (size_t off = 0x1000; off < f->len; off += le32(d + off + 8))
        if (cell < off + le32(d + off + 8))
            return off;
    fail_msg("cell 0x%zx is in no hbin", cell);
    return 0;
}

static void test_not_a_hive(void **state)
{
    (void)state;
    NEED_DATA();
    char path[4200];
    build_system(path, sizeof path);
    struct buf f = BUF_INIT;
    assert_int_equal(read_file(path, &f), 0);
    memcpy(f.p, "regx", 4);
    write_whole(path, f.p, f.len);
    expect_error(path, 0, NULL, "not a registry hive: a hive file begins with \"regf\"");
    expect_error(path, HIVE_UNSAFE, NULL, "not a registry hive");
    write_whole(path, "reg", 3);
    expect_error(path, 0, NULL, "shorter than that");
    write_whole(path, "regf", 4);
    expect_error(path, 0, NULL, "the hive is truncated: 4 bytes");
    memcpy(f.p, "regf", 4);
    write_whole(path, f.p, 100);
    expect_error(path, HIVE_UNSAFE, NULL, "the hive is truncated: 100 bytes");
    buf_free(&f);
    unlink(path);
}

static void test_truncated(void **state)
{
    (void)state;
    NEED_DATA();
    char path[4200];
    build_system(path, sizeof path);
    struct buf f = BUF_INIT;
    assert_int_equal(read_file(path, &f), 0);
    /* Cut inside the last hbin: nothing can be read in either mode. */
    write_whole(path, f.p, f.len - 100);
    expect_error(path, 0, NULL, "the hive is truncated: its header counts");
    expect_error(path, HIVE_UNSAFE, NULL, "cannot read the hive even in unsafe mode");

    /* Cut where the hbin holding Late begins: unsafe mode reads what is left. */
    size_t cut = hbin_of(&f, find_cell(&f, "nk", "Late"));
    assert_true(cut > hbin_of(&f, find_cell(&f, "nk", "Session Manager")));
    write_whole(path, f.p, cut);
    expect_error(path, 0, NULL, "--hive-unsafe reads what it still holds");
    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    assert_int_equal(hive_load(s, path, sm_only, HIVE_UNSAFE, &d), 0);
    char *where = where_of(path, NULL);
    find_diag(&d, DIAG_WARNING, where, "keys stored in the missing part are lost");
    free(where);
    where = where_of(path, HIVE_SM);
    find_diag(&d, DIAG_WARNING, where, "skipped (--hive-unsafe)");
    free(where);
    assert_string_value(s, SM, "BootExecute", REG_SZ, "autocheck autochk *");
    assert_null(reg_key_lookup(reg_store_root(s), SM "\\Late"));
    diags_free(&d);
    reg_store_free(s);
    buf_free(&f);
    unlink(path);
}

/* Sequence numbers that differ: the hive was not saved cleanly and its transaction logs,
 * which hivex does not apply, may hold newer data. Read, with a warning. */
static void test_unclean_hive(void **state)
{
    (void)state;
    NEED_DATA();
    char path[4200];
    build_system(path, sizeof path);
    struct buf f = BUF_INIT;
    assert_int_equal(read_file(path, &f), 0);
    uint8_t *hd = (uint8_t *)f.p;
    put_le32(hd + 8, le32(hd + 4) + 1);
    uint32_t sum = 0; /* the header checksum: XOR of its first 127 dwords */
    for (size_t i = 0; i < 0x1fc; i += 4)
        sum ^= le32(hd + i);
    put_le32(hd + 0x1fc, sum);
    write_whole(path, f.p, f.len);
    buf_free(&f);
    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    assert_int_equal(hive_load(s, path, sm_only, 0, &d), 0);
    assert_int_equal(d.n, 1);
    char *where = where_of(path, NULL);
    find_diag(&d, DIAG_WARNING, where, "not saved cleanly (sequence numbers");
    free(where);
    assert_string_value(s, SM, "BootExecute", REG_SZ, "autocheck autochk *");
    diags_free(&d);
    reg_store_free(s);
    unlink(path);
}

/* Damage the file with fix(), then: safe mode fails with an error at error_at and leaves
 * the store alone; unsafe mode reads the rest with a warning at warning_at, without
 * lost_key. */
static void check_damage(void (*fix)(struct buf *), const char *error_at, const char *error_text,
                         const char *warning_at, const char *lost_key)
{
    char path[4200];
    build_system(path, sizeof path);
    struct buf f = BUF_INIT;
    assert_int_equal(read_file(path, &f), 0);
    fix(&f);
    write_whole(path, f.p, f.len);
    buf_free(&f);
    expect_error(path, 0, error_at, error_text);

    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    assert_int_equal(hive_load(s, path, sm_only, HIVE_UNSAFE, &d), 0);
    assert_int_equal(d.errors, 0);
    char *where = where_of(path, warning_at);
    find_diag(&d, DIAG_WARNING, where, "skipped (--hive-unsafe)");
    free(where);
    /* The rest is there. */
    assert_string_value(s, SM, "BootExecute", REG_SZ, "autocheck autochk *");
    assert_multi(s, SM, "PendingFileRenameOperations", renames, 4);
    assert_non_null(reg_key_lookup(reg_store_root(s), "HKLM\\SYSTEM\\Select"));
    if (lost_key)
        assert_null(reg_key_lookup(reg_store_root(s), lost_key));
    diags_free(&d);
    reg_store_free(s);
    unlink(path);
}

/* A cell's signature ("nk", "vk") overwritten. */
static void break_nk(struct buf *f)
{
    memcpy(f->p + find_cell(f, "nk", "Environment") + 4, "xx", 2);
}
static void break_vk(struct buf *f) { memcpy(f->p + find_cell(f, "vk", "Qword") + 4, "xx", 2); }
static void break_hbin(struct buf *f)
{
    size_t late = hbin_of(f, find_cell(f, "nk", "Late"));
    assert_true(late > hbin_of(f, find_cell(f, "nk", "Session Manager")));
    memcpy(f->p + late, "XXXX", 4);
}

/* Late's only subkey entry pointed back at Session Manager: a loop. */
static void make_loop(struct buf *f)
{
    size_t late = find_cell(f, "nk", "Late");
    size_t list = 0x1000 + le32((uint8_t *)f->p + late + 0x20);
    assert_memory_equal(f->p + list + 4, "l", 1);
    size_t sm = find_cell(f, "nk", "Session Manager");
    put_le32((uint8_t *)f->p + list + 8, (uint32_t)(sm - 0x1000));
}

static void test_damaged_key(void **state)
{
    (void)state;
    NEED_DATA();
    check_damage(break_nk, HIVE_SM, "its list of subkeys cannot be read", HIVE_SM,
                 SM "\\Environment");
}

static void test_damaged_value(void **state)
{
    (void)state;
    NEED_DATA();
    check_damage(break_vk, HIVE_SM, "the name of value 13 of 14 cannot be read", HIVE_SM,
                 NULL);
}

static void test_damaged_hbin(void **state)
{
    (void)state;
    NEED_DATA();
    check_damage(break_hbin, NULL, "its structure is damaged; --hive-unsafe", HIVE_SM,
                 SM "\\Late");
}

static void test_loop(void **state)
{
    (void)state;
    NEED_DATA();
    char path[4200];
    /* Late needs a subkey of its own to have a list to bend. */
    build_system(path, sizeof path);
    hive_h *h = hivex_open(path, HIVEX_OPEN_WRITE);
    assert_non_null(h);
    key_at(h, HIVE_SM "\\Late\\Child");
    hive_end(h);
    struct buf f = BUF_INIT;
    assert_int_equal(read_file(path, &f), 0);
    make_loop(&f);
    write_whole(path, f.p, f.len);
    buf_free(&f);
    expect_error(path, 0, HIVE_SM "\\Late\\Session Manager", "a loop of keys");
    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    assert_int_equal(hive_load(s, path, sm_only, HIVE_UNSAFE, &d), 0);
    assert_int_equal(d.warnings, 1);
    assert_string_value(s, SM, "BootExecute", REG_SZ, "autocheck autochk *");
    diags_free(&d);
    reg_store_free(s);
    unlink(path);
}

/* A hive damaged everywhere: warnings stop at a bound, the rest are counted. */
static void test_many_damaged_values(void **state)
{
    (void)state;
    NEED_DATA();
    char path[4200];
    hive_h *h = hive_begin(path, sizeof path);
    add_select(h, 1);
    enum { N = 250 };
    struct tv v[N];
    char names[N][8];
    uint8_t one[4] = {1, 0, 0, 0};
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "v%03d", i);
        v[i] = (struct tv){names[i], REG_DWORD, one, 4};
    }
    set_values(h, HIVE_SM, v, N);
    hive_end(h);
    struct buf f = BUF_INIT;
    assert_int_equal(read_file(path, &f), 0);
    for (int i = 0; i < N; i++)
        memcpy(f.p + find_cell(&f, "vk", names[i]) + 4, "xx", 2);
    write_whole(path, f.p, f.len);
    buf_free(&f);
    expect_error(path, 0, HIVE_SM, "the name of value 1 of 250 cannot be read");
    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    assert_int_equal(hive_load(s, path, sm_only, HIVE_UNSAFE, &d), 0);
    assert_int_equal(d.n, 201);
    char *where = where_of(path, NULL);
    find_diag(&d, DIAG_WARNING, where, "50 more damaged places are not listed");
    free(where);
    assert_int_equal(reg_key_value_count(reg_key_lookup(reg_store_root(s), SM)), 0);
    diags_free(&d);
    reg_store_free(s);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_win7_system),
        cmocka_unit_test(test_win7_whole_control_set),
        cmocka_unit_test(test_every_type_byte_exact),
        cmocka_unit_test(test_merges_over_store),
        cmocka_unit_test(test_select_current_2),
        cmocka_unit_test(test_select_current_missing),
        cmocka_unit_test(test_select_current_bad),
        cmocka_unit_test(test_control_set_missing),
        cmocka_unit_test(test_software_hive),
        cmocka_unit_test(test_unknown_kind),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_8bit_strings),
        cmocka_unit_test(test_not_a_hive),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_unclean_hive),
        cmocka_unit_test(test_damaged_key),
        cmocka_unit_test(test_damaged_value),
        cmocka_unit_test(test_damaged_hbin),
        cmocka_unit_test(test_loop),
        cmocka_unit_test(test_many_damaged_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
