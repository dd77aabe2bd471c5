/* KnownDLLs: ELF verification (real libraries pass; corrupt, foreign and truncated files
 * fail with the reason), the DT_NEEDED closure of a real library set against ldd, names
 * left out by ExcludeFromKnownDlls (value name, file name, a dependency), missing files
 * skipped, a corrupt file failing the boot with its name, the read-only snapshot with
 * source paths and checksums, a second snapshot over the first, and the proof: a library
 * replaced on disk after the snapshot does not reach a program started with the system
 * environment. The tests run in a private mount namespace of their own (as smss does), so
 * the snapshot's read-only mount never touches the machine's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "knowndlls.h"
#include "prep_test.h"
#include "process_spawn.h"
#include "sysenv.h"

#include <elf.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>

static bool own_namespace;
static const char *libdir; /* the directory holding the system's libpam and libjansson */

static int setup(void **state)
{
    (void)state;
    own_namespace = unshare(CLONE_NEWNS) == 0 &&
                    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0;
    if (!own_namespace)
        print_message("# no private mount namespace (%s): the snapshot is read-only by mode\n",
                      strerror(errno));
    static const char *const dirs[] = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                                       "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64",
                                       "/usr/lib", "/lib"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0] && !libdir; i++) {
        char *a = path_join(dirs[i], "libpam.so.0"), *b = path_join(dirs[i], "libjansson.so.4");
        if (access(a, R_OK) == 0 && access(b, R_OK) == 0)
            libdir = dirs[i];
        free(a);
        free(b);
    }
    return 0;
}

static char *fixture(const char *name)
{
    const char *top = getenv("SMSS_TOP");
    char *p;
    if (asprintf(&p, "%s/tests/data/prep/%s", top && *top ? top : ".", name) < 0)
        abort();
    return p;
}

static void load(const char *path, struct buf *b)
{
    b->len = 0;
    assert_int_equal(read_file(path, b), 0);
}

static char *inspect_why(const struct buf *b)
{
    char *why = NULL;
    assert_int_equal(knowndll_inspect(b->p, b->len, NULL, &why), -1);
    assert_non_null(why);
    return why;
}

static void expect_rejected(const struct buf *b, const char *reason_part)
{
    char *why = inspect_why(b);
    if (!strstr(why, reason_part))
        fail_msg("reason \"%s\" lacks \"%s\"", why, reason_part);
    free(why);
}

static void test_inspect(void **state)
{
    (void)state;
    if (!libdir)
        skip();
    struct buf b = BUF_INIT;
    char *libc = path_join(libdir, "libc.so.6");
    load(libc, &b);
    struct strlist needed = STRLIST_INIT;
    char *why = NULL;
    assert_int_equal(knowndll_inspect(b.p, b.len, &needed, &why), 0);
    assert_null(why);
    assert_true(needed.n >= 1);
    assert_non_null(strstr(needed.v[needed.n - 1], "ld-linux"));
    strlist_free(&needed);
    /* The same bytes, altered one field at a time. */
    ElfW(Ehdr) *h = (void *)b.p;
    h->e_machine = h->e_machine == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;
    expect_rejected(&b, "built for machine");
    load(libc, &b);
    h = (void *)b.p;
    h->e_type = ET_EXEC;
    expect_rejected(&b, "not a shared object");
    load(libc, &b);
    h = (void *)b.p;
    h->e_ident[EI_CLASS] = ELFCLASS32;
    expect_rejected(&b, "ELF class");
    load(libc, &b);
    h = (void *)b.p;
    h->e_phoff = b.len - 8;
    expect_rejected(&b, "program headers");
    load(libc, &b);
    b.len = 200; /* cut before the dynamic section */
    expect_rejected(&b, "outside the file");
    char *corrupt = fixture("corrupt-elf.so"), *script = fixture("linker-script.so");
    load(corrupt, &b);
    expect_rejected(&b, "truncated ELF header");
    load(script, &b);
    expect_rejected(&b, "not an ELF file");
    free(corrupt);
    free(script);
    free(libc);
    buf_free(&b);
}

static bool has_dll(const struct knowndlls_result *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].name, name) == 0)
            return true;
    return false;
}

/* The names ldd lists for a library: its whole closure, as the loader resolves it. */
static void ldd_names(const char *lib, struct strlist *out)
{
    char *cmd;
    if (asprintf(&cmd, "ldd '%s' | awk '$2 == \"=>\" {print $1; next} $1 ~ /^\\// {n = split($1, p, \"/\"); print p[n]}'", lib) < 0)
        abort();
    char *text = command_output(cmd);
    free(cmd);
    assert_non_null(text);
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        if (strlist_find_nocase(out, l) < 0)
            strlist_push(out, l);
    free(text);
}

static void real_set(struct smss_config *c)
{
    c->known_dll_directory = strdup(libdir);
    named_push(&c->known_dlls, "DllDirectory", libdir, true);
    named_push(&c->known_dlls, "pam", "libpam.so.0", false);
    named_push(&c->known_dlls, "jansson", "libjansson.so.4", false);
}

static void check_read_only(const struct knowndlls_result *r)
{
    assert_int_equal(r->protection, own_namespace ? KNOWNDLLS_READONLY_MOUNT : KNOWNDLLS_READONLY_MODE);
    if (!own_namespace)
        return;
    int fd = open(r->v[0].snapshot, O_WRONLY);
    assert_int_equal(fd, -1);
    assert_int_equal(errno, EROFS);
    char *planted = path_join(r->snapshot_dir, "libplanted.so");
    fd = open(planted, O_WRONLY | O_CREAT, 0644);
    assert_int_equal(fd, -1);
    assert_int_equal(errno, EROFS);
    free(planted);
}

static void test_closure_of_a_real_set(void **state)
{
    (void)state;
    if (!libdir)
        skip();
    char *rt = scratch_dir("knowndlls");
    struct smss_config c = {0};
    real_set(&c);
    struct knowndlls_result r = KNOWNDLLS_RESULT_INIT;
    assert_int_equal(knowndlls_snapshot(&r, &c, NULL, rt), 0);
    struct strlist want = STRLIST_INIT;
    strlist_push(&want, "libpam.so.0");
    strlist_push(&want, "libjansson.so.4");
    char *pam = path_join(libdir, "libpam.so.0"), *jansson = path_join(libdir, "libjansson.so.4");
    ldd_names(pam, &want);
    ldd_names(jansson, &want);
    for (size_t i = 0; i < want.n; i++)
        if (!has_dll(&r, want.v[i]))
            fail_msg("%s (ldd lists it) missing from the closure", want.v[i]);
    assert_int_equal(r.n, want.n);
    assert_null(r.v[0].needed_by);
    assert_non_null(r.v[r.n - 1].needed_by);
    /* Each copy: the bytes of its source (sha256sum agrees), mode 0444. */
    for (size_t i = 0; i < r.n; i++) {
        char *cmd;
        if (asprintf(&cmd, "sha256sum < '%s' | cut -d' ' -f1; sha256sum < '%s' | cut -d' ' -f1",
                     r.v[i].source, r.v[i].snapshot) < 0)
            abort();
        char *sums = command_output(cmd), want_sums[200];
        snprintf(want_sums, sizeof want_sums, "%s\n%s", r.v[i].sha256, r.v[i].sha256);
        assert_string_equal(sums, want_sums);
        struct stat st;
        assert_int_equal(stat(r.v[i].snapshot, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0444);
        assert_int_equal((uint64_t)st.st_size, r.v[i].size);
        free(sums);
        free(cmd);
    }
    check_read_only(&r);
    assert_int_equal(knowndlls_unmount(r.snapshot_dir), 0);
    strlist_free(&want);
    free(pam);
    free(jansson);
    knowndlls_result_free(&r);
    test_config_free(&c);
    rm_tree(rt);
    free(rt);
}

static void test_excluded_names(void **state)
{
    (void)state;
    if (!libdir)
        skip();
    char *rt = scratch_dir("knowndlls");
    struct smss_config c = {0};
    real_set(&c);
    named_push(&c.known_dlls, "zlib", "libz.so.1", false);
    strlist_push(&c.exclude_from_known_dlls, "JANSSON");        /* by value name */
    strlist_push(&c.exclude_from_known_dlls, "LIBZ.SO.1");      /* by file name */
    strlist_push(&c.exclude_from_known_dlls, "libaudit.so.1");  /* a dependency of libpam */
    struct knowndlls_result r = KNOWNDLLS_RESULT_INIT;
    assert_int_equal(knowndlls_snapshot(&r, &c, NULL, rt), 0);
    assert_true(has_dll(&r, "libpam.so.0"));
    assert_false(has_dll(&r, "libjansson.so.4"));
    assert_false(has_dll(&r, "libz.so.1"));
    assert_false(has_dll(&r, "libaudit.so.1"));
    char *copy = path_join(r.snapshot_dir, "libjansson.so.4");
    assert_int_equal(access(copy, F_OK), -1);
    free(copy);
    assert_true(strlist_find_nocase(&r.excluded, "jansson (libjansson.so.4)") >= 0);
    assert_true(strlist_find_nocase(&r.excluded, "zlib (libz.so.1)") >= 0);
    char *pam = path_join(libdir, "libpam.so.0");
    struct strlist deps = STRLIST_INIT;
    ldd_names(pam, &deps);
    if (strlist_find_nocase(&deps, "libaudit.so.1") >= 0)
        assert_true(strlist_find_nocase(&r.excluded, "libaudit.so.1 (libaudit.so.1)") >= 0);
    strlist_free(&deps);
    free(pam);
    knowndlls_unmount(r.snapshot_dir);
    knowndlls_result_free(&r);
    test_config_free(&c);
    rm_tree(rt);
    free(rt);
}

static void test_missing_skipped(void **state)
{
    (void)state;
    char *rt = scratch_dir("knowndlls");
    struct smss_config c = {0};
    c.known_dll_directory = strdup(rt);
    named_push(&c.known_dlls, "ghost", "libghost.so.9", false);
    named_push(&c.known_dlls, "abs", "/nonexistent/libabs.so.1", false);
    struct knowndlls_result r = KNOWNDLLS_RESULT_INIT;
    assert_int_equal(knowndlls_snapshot(&r, &c, NULL, rt), 0);
    assert_int_equal(r.n, 0);
    assert_null(r.error);
    assert_int_equal(r.missing.n, 2);
    assert_string_equal(r.missing.v[0], "libghost.so.9");
    knowndlls_unmount(r.snapshot_dir);
    knowndlls_result_free(&r);
    test_config_free(&c);
    rm_tree(rt);
    free(rt);
}

static void test_corrupt_file_fails_boot(void **state)
{
    (void)state;
    char *rt = scratch_dir("knowndlls");
    char *src = fixture("corrupt-elf.so"), *lib = path_join(rt, "libbroken.so.1");
    char *cmd;
    if (asprintf(&cmd, "cp '%s' '%s'", src, lib) < 0)
        abort();
    assert_int_equal(system(cmd), 0);
    struct smss_config c = {0};
    c.known_dll_directory = strdup("%LIBS%"); /* REG_EXPAND_SZ, expanded against env */
    named_push(&c.known_dlls, "broken", "libbroken.so.1", false);
    struct sysenv env = SYSENV_INIT;
    sysenv_set(&env, "LIBS", rt);
    struct knowndlls_result r = KNOWNDLLS_RESULT_INIT;
    assert_int_equal(knowndlls_snapshot(&r, &c, &env, rt), -1);
    assert_non_null(r.error);
    assert_non_null(strstr(r.error, lib));
    assert_non_null(strstr(r.error, "not an ELF shared object"));
    assert_string_equal(r.dll_directory, rt);
    knowndlls_unmount(r.snapshot_dir);
    knowndlls_result_free(&r);
    sysenv_free(&env);
    test_config_free(&c);
    free(cmd);
    free(src);
    free(lib);
    rm_tree(rt);
    free(rt);
}

/* ---- the replacement proof ---- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd;
    int n = vasprintf(&cmd, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    int rc = system(cmd);
    free(cmd);
    return rc;
}

/* libsmsstest.so (version text v) built into dir, installed by rename as an upgrade does. */
static void build_library(const char *dir, const char *v)
{
    assert_int_equal(sh("cd '%s' && printf '#include <unistd.h>\\nconst char *smsstest_version(void) { return getpid() > 0 ? \"%s\" : \"\"; }\\n' > lib.c &&"
                        " cc -shared -fPIC -Wl,-soname,libsmsstest.so -o libsmsstest.so.new lib.c &&"
                        " mv -f libsmsstest.so.new libsmsstest.so", dir, v), 0);
}

/* Run dir/prog with envp; its standard output. */
static char *run_prog(const char *dir, char *const *envp)
{
    char *prog = path_join(dir, "prog");
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct spawn_request req = SPAWN_REQUEST_INIT;
    char *argv[] = {prog, NULL};
    req.path = prog;
    req.argv = argv;
    req.envp = envp;
    req.fd_out = p[1];
    pid_t pid;
    struct spawn_error err;
    assert_int_equal(spawn_process(&req, &pid, &err), 0);
    close(p[1]);
    char out[256] = "";
    ssize_t n = read(p[0], out, sizeof out - 1);
    out[n > 0 ? n : 0] = '\0';
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    free(prog);
    return strdup(out);
}

static void test_replaced_library_does_not_reach_processes(void **state)
{
    (void)state;
    if (system("cc --version >/dev/null 2>&1") != 0) {
        print_message("# SKIP: no C compiler to build the test library\n");
        skip();
    }
    char *rt = scratch_dir("knowndlls"), *dir = path_join(rt, "lib");
    assert_int_equal(mkdir(dir, 0755), 0);
    build_library(dir, "v1");
    assert_int_equal(sh("cd '%s' && printf '#include <stdio.h>\\nconst char *smsstest_version(void);\\n"
                        "int main(void) { fputs(smsstest_version(), stdout); return 0; }\\n' > prog.c &&"
                        " cc -o prog prog.c -L. -lsmsstest", dir), 0);
    char *v1sum_cmd;
    if (asprintf(&v1sum_cmd, "sha256sum < '%s/libsmsstest.so' | cut -d' ' -f1", dir) < 0)
        abort();
    char *v1sum = command_output(v1sum_cmd);

    struct smss_config c = {0};
    c.known_dll_directory = strdup(dir);
    named_push(&c.known_dlls, "smsstest", "libsmsstest.so", false);
    struct knowndlls_result r = KNOWNDLLS_RESULT_INIT;
    assert_int_equal(knowndlls_snapshot(&r, &c, NULL, rt), 0);
    assert_true(has_dll(&r, "libsmsstest.so"));
    assert_true(has_dll(&r, "libc.so.6")); /* its closure came along */
    assert_string_equal(r.v[0].sha256, v1sum);

    build_library(dir, "v2"); /* the upgrade (or a planted copy) after boot */

    struct sysenv env = SYSENV_INIT;
    assert_int_equal(sysenv_build(&env, &c, NULL, r.snapshot_dir), 0);
    char *seen = run_prog(dir, env.v);
    assert_string_equal(seen, "v1");
    free(seen);
    /* Control: the library on disk really is v2 now. */
    char *direct;
    if (asprintf(&direct, "LD_LIBRARY_PATH=%s", dir) < 0)
        abort();
    char *plain[] = {direct, NULL};
    seen = run_prog(dir, plain);
    assert_string_equal(seen, "v2");
    free(seen);
    free(direct);

    knowndlls_unmount(r.snapshot_dir);
    knowndlls_result_free(&r);
    sysenv_free(&env);
    test_config_free(&c);
    free(v1sum);
    free(v1sum_cmd);
    rm_tree(rt);
    free(dir);
    free(rt);
}

/* A second boot in the same namespace: the old snapshot is undone and made again. */
static void test_second_snapshot(void **state)
{
    (void)state;
    if (!libdir)
        skip();
    char *rt = scratch_dir("knowndlls");
    struct smss_config c = {0};
    real_set(&c);
    struct knowndlls_result r = KNOWNDLLS_RESULT_INIT;
    assert_int_equal(knowndlls_snapshot(&r, &c, NULL, rt), 0);
    size_t n = r.n;
    knowndlls_result_free(&r);
    named_free(&c.known_dlls);
    named_push(&c.known_dlls, "pam", "libpam.so.0", false);
    assert_int_equal(knowndlls_snapshot(&r, &c, NULL, rt), 0);
    assert_true(r.n < n);
    char *gone = path_join(r.snapshot_dir, "libjansson.so.4");
    assert_int_equal(access(gone, F_OK), -1); /* not left over from the first snapshot */
    free(gone);
    check_read_only(&r);
    json_t *j = knowndlls_to_json(&r);
    assert_non_null(j);
    json_t *first = json_array_get(json_object_get(j, "dlls"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "name")), "libpam.so.0");
    assert_int_equal(strlen(json_string_value(json_object_get(first, "sha256"))), 64);
    assert_non_null(json_string_value(json_object_get(first, "source")));
    assert_string_equal(json_string_value(json_object_get(j, "protection")),
                        own_namespace ? "read-only mount" : "read-only mode");
    json_decref(j);
    while (umount2(r.snapshot_dir, MNT_DETACH) == 0)
        ;
    knowndlls_result_free(&r);
    test_config_free(&c);
    rm_tree(rt);
    free(rt);
}

/* Checksums left out of boot, computed later from the read-only copies: the same. */
static void test_deferred_checksums(void **state)
{
    (void)state;
    if (!libdir)
        skip();
    char *rt = scratch_dir("knowndlls");
    struct smss_config c = {0};
    real_set(&c);
    struct knowndlls_result now = KNOWNDLLS_RESULT_INIT, later = KNOWNDLLS_RESULT_INIT;
    assert_int_equal(knowndlls_snapshot(&now, &c, NULL, rt), 0);
    struct knowndlls_options o = {.defer_checksums = true};
    assert_int_equal(knowndlls_snapshot_with(&later, &c, NULL, rt, &o), 0);
    assert_int_equal(later.n, now.n);
    assert_string_equal(later.v[0].sha256, "");
    json_t *j = knowndlls_to_json(&later);
    assert_true(json_is_null(json_object_get(json_array_get(json_object_get(j, "dlls"), 0), "sha256")));
    json_decref(j);
    assert_int_equal(knowndlls_checksums(&later), 0);
    for (size_t i = 0; i < now.n; i++)
        assert_string_equal(later.v[i].sha256, now.v[i].sha256);
    while (umount2(later.snapshot_dir, MNT_DETACH) == 0)
        ;
    knowndlls_result_free(&now);
    knowndlls_result_free(&later);
    test_config_free(&c);
    rm_tree(rt);
    free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inspect),
        cmocka_unit_test(test_closure_of_a_real_set),
        cmocka_unit_test(test_excluded_names),
        cmocka_unit_test(test_missing_skipped),
        cmocka_unit_test(test_corrupt_file_fails_boot),
        cmocka_unit_test(test_replaced_library_does_not_reach_processes),
        cmocka_unit_test(test_second_snapshot),
        cmocka_unit_test(test_deferred_checksums),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
