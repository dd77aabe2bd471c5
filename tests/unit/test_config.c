/* The typed view of the Session Manager configuration: NT's defaults, tolerance of wrong
 * types (a warning naming key\value and file:line, the default kept), the duplicate rule,
 * the values with structure, and loading the sources in their order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "regdata.h"
#include "regtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define V5 "Windows Registry Editor Version 5.00\n\n"
#define SMK "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Session Manager"

/* ---- helpers ------------------------------------------------------------------- */

struct fixture {
    struct reg_store *store;
    struct smss_config c;
    struct diags d;
};

/* The typed view of a .reg text (named t.reg); the text itself must load cleanly. */
static void view(struct fixture *f, const char *text)
{
    f->store = reg_store_new();
    f->d = (struct diags)DIAGS_INIT;
    struct diags load = DIAGS_INIT;
    int r = regtext_load_buffer(f->store, "t.reg", text, strlen(text), &load);
    if (r)
        diags_print(&load, 2);
    assert_int_equal(r, 0);
    diags_free(&load);
    assert_int_equal(smss_config_from_store(&f->c, f->store, &f->d), 0);
}

static void done(struct fixture *f)
{
    smss_config_free(&f->c);
    diags_free(&f->d);
    reg_store_free(f->store);
}

/* The diagnostic whose where and message contain both substrings, or NULL. */
static const struct diag *find_diag(const struct diags *d, const char *where, const char *what)
{
    for (size_t i = 0; i < d->n; i++)
        if (strstr(d->v[i].where, where) && strstr(d->v[i].message, what))
            return &d->v[i];
    return NULL;
}

static void assert_diag(const struct diags *d, const char *where, const char *what)
{
    if (!find_diag(d, where, what)) {
        diags_print(d, 2);
        fprintf(stderr, "missing: %s: ...%s...\n", where, what);
    }
    assert_non_null(find_diag(d, where, what));
}

static void assert_list(const struct strlist *l, const char *const *want)
{
    size_t n = 0;
    while (want[n])
        n++;
    if (l->n != n)
        for (size_t i = 0; i < l->n; i++)
            fprintf(stderr, "  [%zu] %s\n", i, l->v[i]);
    assert_int_equal(l->n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(l->v[i], want[i]);
}

static const struct sm_named *named(const struct sm_named_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcasecmp(l->v[i].name, name))
            return &l->v[i];
    return NULL;
}

/* The field of the typed view that holds a default's value. */
static void check_default(const struct smss_config *c, const struct sm_default *d)
{
    const struct {
        const char *name;
        const uint32_t *dword;
        char *const *text;
        const struct strlist *list;
    } fields[] = {
        {"ProtectionMode", &c->protection_mode, NULL, NULL},
        {"AllowProtectedRenames", &c->allow_protected_renames, NULL, NULL},
        {"ObjectDirectories", NULL, NULL, &c->object_directories},
        {"BootExecute", NULL, NULL, &c->boot_execute},
        {"SetupExecute", NULL, NULL, &c->setup_execute},
        {"Execute", NULL, NULL, &c->execute},
        {"ExcludeFromKnownDlls", NULL, NULL, &c->exclude_from_known_dlls},
        {"S0InitialCommand", NULL, &c->s0_initial_command, NULL},
        {"NumberOfInitialSessions", &c->number_of_initial_sessions, NULL, NULL},
        {"Required", NULL, NULL, &c->subsystems_required},
        {"Optional", NULL, NULL, &c->subsystems_optional},
        {"RuntimeDirectory", NULL, &c->runtime_dir, NULL},
        {"StateDirectory", NULL, &c->state_dir, NULL},
        {"CrashExitCode", &c->crash_exit_code, NULL, NULL},
        {"ShutdownTimeout", &c->shutdown_timeout_ms, NULL, NULL},
        {"PamService", NULL, &c->pam_service, NULL},
        {"InitialCommand", NULL, &c->initial_command, NULL},
        {"ProtectedPaths", NULL, NULL, &c->protected_paths},
    };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        if (strcmp(fields[i].name, d->name))
            continue;
        if (fields[i].dword)
            assert_int_equal(*fields[i].dword, d->dword);
        else if (fields[i].text)
            assert_string_equal(*fields[i].text, d->text);
        else
            assert_list(fields[i].list, d->list);
        return;
    }
    /* The ones with a C type of their own. */
    if (!strcmp(d->name, "PagingFiles")) {
        assert_false(c->paging_files_set);
        assert_int_equal(c->npaging_files, 1);
        assert_string_equal(c->paging_files[0].path, d->list[0]);
        assert_true(c->paging_files[0].system_managed);
    } else if (!strcmp(d->name, "CrashAction")) {
        assert_string_equal(d->text, "exit");
        assert_int_equal(c->crash_action, SM_CRASH_EXIT);
    } else if (!strcmp(d->name, "SessionIpcNamespace")) {
        assert_int_equal(c->session_ipc_namespace, d->dword != 0);
    } else if (!strcmp(d->name, "SessionPrivateShm")) {
        assert_int_equal(c->session_private_shm, d->dword != 0);
    } else if (!strcmp(d->name, "SessionCgroup")) {
        assert_int_equal(c->session_cgroup, d->dword != 0);
    } else if (!strcmp(d->name, "AutoAdminLogon")) {
        assert_int_equal(c->auto_admin_logon, strcmp(d->text, "0") != 0);
    } else {
        fail_msg("no check for the default %s\\%s", d->key, d->name);
    }
}

/* ---- defaults and types -------------------------------------------------------- */

static void test_defaults_when_absent(void **state)
{
    (void)state;
    struct fixture f;
    view(&f, V5 "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Other]\n");
    size_t n = 0;
    for (const struct sm_default *d = smss_config_defaults; d->key; d++, n++)
        check_default(&f.c, d);
    assert_true(n >= 24);
    assert_int_equal(f.d.errors, 0);
    assert_int_equal(f.d.warnings, 1);
    assert_diag(&f.d, "Session Manager", "absent");
    assert_int_equal(f.c.known_dlls.n, 0);
    assert_null(f.c.known_dll_directory);
    assert_int_equal(f.c.nrenames, 0);
    assert_int_equal(f.c.nservices, 0);
    assert_null(f.c.api_group);
    assert_null(f.c.pam_config_directory);
    assert_null(f.c.console_terminal);
    assert_null(f.c.shell);
    assert_false(f.c.minint);
    assert_int_equal(f.c.safeboot_option, 0);
    done(&f);

    /* The key present but empty: the same defaults, no warning. */
    view(&f, V5 SMK "]\n");
    for (const struct sm_default *d = smss_config_defaults; d->key; d++)
        check_default(&f.c, d);
    assert_int_equal(f.d.n, 0);
    done(&f);
}

static void test_wrong_types_keep_defaults(void **state)
{
    (void)state;
    struct fixture f;
    view(&f, V5 SMK "]\n"                               /* 3 */
                "\"ProtectionMode\"=\"0\"\n"            /* 4 */
                "\"NumberOfInitialSessions\"=hex(4):05,00,00\n" /* 5: 3 bytes */
                "\"BootExecute\"=dword:00000001\n"      /* 6 */
                "\"S0InitialCommand\"=dword:00000001\n" /* 7 */
                SMK "\\Linux]\n"                        /* 8 */
                "\"CrashExitCode\"=\"5\"\n"             /* 9 */
                "\"RuntimeDirectory\"=hex(7):00,00\n"   /* 10 */
                SMK "\\KnownDLLs]\n"                    /* 11 */
                "\"bad\"=dword:00000001\n"              /* 12 */
                "\"good\"=\"good.so\"\n"                /* 13 */
                "\"DllDirectory\"=hex(2):00,d8,00,00\n"); /* 14: unpaired surrogate */
    assert_int_equal(f.c.protection_mode, 1);
    assert_diag(&f.d, "t.reg:4: Session Manager\\ProtectionMode", "expected REG_DWORD, found REG_SZ");
    assert_int_equal(f.c.number_of_initial_sessions, 2);
    assert_diag(&f.d, "t.reg:5: Session Manager\\NumberOfInitialSessions", "3 bytes");
    static const char *const boot[] = {"autocheck autochk *", NULL};
    assert_list(&f.c.boot_execute, boot);
    assert_diag(&f.d, "t.reg:6: Session Manager\\BootExecute", "expected REG_MULTI_SZ");
    assert_string_equal(f.c.s0_initial_command, "%SystemRoot%/wininit");
    assert_diag(&f.d, "t.reg:7: Session Manager\\S0InitialCommand", "expected REG_SZ");
    assert_int_equal(f.c.crash_exit_code, 26);
    assert_diag(&f.d, "t.reg:9: Session Manager\\Linux\\CrashExitCode", "expected REG_DWORD");
    assert_string_equal(f.c.runtime_dir, "/run/smss");
    assert_diag(&f.d, "t.reg:10: Session Manager\\Linux\\RuntimeDirectory", "REG_MULTI_SZ");
    assert_diag(&f.d, "t.reg:12: Session Manager\\KnownDLLs\\bad", "entry ignored");
    assert_diag(&f.d, "t.reg:14: Session Manager\\KnownDLLs\\DllDirectory", "not valid UTF-16LE");
    assert_null(f.c.known_dll_directory);
    assert_int_equal(f.c.known_dlls.n, 1);
    assert_string_equal(f.c.known_dlls.v[0].value, "good.so");
    assert_int_equal(f.d.errors, 0);
    assert_int_equal(f.d.warnings, 8);
    done(&f);
}

/* NT hands REG_SZ and REG_MULTI_SZ to the same routine: a string is a one-element list.
 * Identical entries (no case) are taken once; empty ones are dropped. */
static void test_lists(void **state)
{
    (void)state;
    struct fixture f;
    view(&f, V5 SMK "]\n"
                "\"BootExecute\"=\"autocheck autochk /r \\\\??\\\\C:\"\n"
                "\"Execute\"=hex(2):61,00,00,00\n"
                /* "a" "A" "" "b" "a" */
                "\"SetupExecute\"=hex(7):61,00,00,00,41,00,00,00,00,00,62,00,00,00,61,00,00,\\\n"
                "  00,00,00\n"
                "\"ObjectDirectories\"=hex(7):00,00\n"
                "\"ExcludeFromKnownDlls\"=hex(7):6b,00,00,00,4b,00,00,00,00,00\n");
    static const char *const boot[] = {"autocheck autochk /r \\??\\C:", NULL};
    static const char *const exec[] = {"a", NULL};
    static const char *const setup[] = {"a", "b", NULL};
    static const char *const none[] = {NULL};
    static const char *const k[] = {"k", NULL};
    assert_list(&f.c.boot_execute, boot);
    assert_list(&f.c.execute, exec);
    assert_list(&f.c.setup_execute, setup);
    assert_list(&f.c.object_directories, none); /* present and empty: no default */
    assert_list(&f.c.exclude_from_known_dlls, k);
    assert_int_equal(f.d.n, 0);
    done(&f);
}

/* ---- values with structure ----------------------------------------------------- */

static void test_pending_renames(void **state)
{
    (void)state;
    struct fixture f;
    struct buf text = BUF_INIT;
    static const char *const ops[] = {"@\\??\\C:\\a", "!\\??\\C:\\b", "\\??\\C:\\c", "",
                                      "\\??\\C:\\d", "\\??\\C:\\e", NULL};
    static const char *const ops2[] = {"\\??\\C:\\x", "", "\\??\\C:\\odd", NULL};
    struct buf data = BUF_INIT;
    buf_puts(&text, V5 SMK "]\n\"PendingFileRenameOperations\"=hex(7):");
    regdata_from_multi(ops, 6, &data);
    for (size_t i = 0; i < data.len; i++)
        buf_printf(&text, "%s%02x", i ? "," : "", (unsigned char)data.p[i]);
    buf_puts(&text, "\n\"PendingFileRenameOperations2\"=hex(7):");
    data.len = 0;
    regdata_from_multi(ops2, 3, &data);
    for (size_t i = 0; i < data.len; i++)
        buf_printf(&text, "%s%02x", i ? "," : "", (unsigned char)data.p[i]);
    buf_puts(&text, "\n");
    view(&f, text.p);
    assert_int_equal(f.c.nrenames, 4);
    assert_string_equal(f.c.renames[0].source, "\\??\\C:\\a"); /* '@' stripped */
    assert_string_equal(f.c.renames[0].destination, "\\??\\C:\\b");
    assert_true(f.c.renames[0].replace);                       /* '!' = replace */
    assert_string_equal(f.c.renames[1].source, "\\??\\C:\\c");
    assert_string_equal(f.c.renames[1].destination, "");       /* "" = delete */
    assert_false(f.c.renames[1].replace);
    assert_string_equal(f.c.renames[2].destination, "\\??\\C:\\e");
    assert_string_equal(f.c.renames[3].source, "\\??\\C:\\x"); /* ...2 after the first */
    assert_string_equal(f.c.renames[3].destination, "");
    assert_int_equal(f.c.renames[3].origin.line, 5);
    assert_int_equal(f.d.warnings, 1);
    assert_diag(&f.d, "t.reg:5: Session Manager\\PendingFileRenameOperations2", "odd number");
    done(&f);
    buf_free(&text);
    buf_free(&data);
}

static void test_paging_files(void **state)
{
    (void)state;
    static const char *const entries[] = {
        "C:\\pagefile.sys 512 1024", "D:\\p 0x200 0X400", "E:\\p", "F:\\p 0 0", "G:\\p abc",
        "H:\\p 12x", "I:\\p -1", "J:\\p 1 2 3", "  K:\\p\t7  ", "L:\\p 99999999999", NULL};
    struct buf text = BUF_INIT, data = BUF_INIT;
    regdata_from_multi(entries, 10, &data);
    buf_puts(&text, V5 SMK "\\Memory Management]\n\"PagingFiles\"=hex(7):");
    for (size_t i = 0; i < data.len; i++)
        buf_printf(&text, "%s%02x", i ? "," : "", (unsigned char)data.p[i]);
    buf_puts(&text, "\n");
    struct fixture f;
    view(&f, text.p);
    assert_true(f.c.paging_files_set);
    assert_int_equal(f.c.npaging_files, 5);
    struct sm_paging_file *p = f.c.paging_files;
    assert_string_equal(p[0].path, "C:\\pagefile.sys");
    assert_int_equal(p[0].min_mb, 512);
    assert_int_equal(p[0].max_mb, 1024);
    assert_false(p[0].system_managed);
    assert_int_equal(p[1].min_mb, 0x200);
    assert_int_equal(p[1].max_mb, 0x400);
    assert_string_equal(p[2].path, "E:\\p");
    assert_true(p[2].system_managed);  /* no sizes */
    assert_true(p[3].system_managed);  /* both zero */
    assert_string_equal(p[4].path, "K:\\p");
    assert_int_equal(p[4].min_mb, 7);
    assert_int_equal(p[4].origin.line, 4);
    assert_int_equal(f.d.warnings, 5);
    assert_diag(&f.d, "t.reg:4: Session Manager\\Memory Management\\PagingFiles", "\"G:\\p abc\" ignored");
    assert_diag(&f.d, "PagingFiles", "\"H:\\p 12x\" ignored");
    assert_diag(&f.d, "PagingFiles", "\"I:\\p -1\" ignored");
    assert_diag(&f.d, "PagingFiles", "\"J:\\p 1 2 3\" ignored");
    assert_diag(&f.d, "PagingFiles", "\"L:\\p 99999999999\" ignored");
    done(&f);

    /* More than 16: the rest warned about and left out. */
    char names[20][16];
    const char *many[21];
    for (int i = 0; i < 20; i++) {
        snprintf(names[i], sizeof names[i], "/swap%d", i);
        many[i] = names[i];
    }
    many[20] = NULL;
    text.len = data.len = 0;
    regdata_from_multi(many, 20, &data);
    buf_puts(&text, V5 SMK "\\Memory Management]\n\"PagingFiles\"=hex(7):");
    for (size_t i = 0; i < data.len; i++)
        buf_printf(&text, "%s%02x", i ? "," : "", (unsigned char)data.p[i]);
    buf_puts(&text, "\n");
    view(&f, text.p);
    assert_int_equal(f.c.npaging_files, SM_MAX_PAGING_FILES);
    assert_string_equal(f.c.paging_files[15].path, "/swap15");
    assert_int_equal(f.d.warnings, 1);
    assert_diag(&f.d, "PagingFiles", "more than 16 paging files; \"/swap16\"");
    done(&f);

    /* Empty value: no paging file. */
    view(&f, V5 SMK "\\Memory Management]\n\"PagingFiles\"=hex(7):00,00\n");
    assert_true(f.c.paging_files_set);
    assert_int_equal(f.c.npaging_files, 0);
    done(&f);
    buf_free(&text);
    buf_free(&data);
}

static void test_named_keys(void **state)
{
    (void)state;
    struct fixture f;
    view(&f, V5 SMK "\\Environment]\n"
                "\"ZED\"=\"last letter first\"\n"
                "\"Path\"=hex(2):25,00,58,00,25,00,00,00\n"
                "\"Alpha\"=\"a\"\n"
                "@=\"no name: skipped\"\n"
                SMK "\\DOS Devices]\n\"NUL\"=\"/dev/null\"\n"
                SMK "\\KnownDLLs]\n\"DllDirectory\"=hex(2):2f,00,6c,00,00,00\n\"libc\"=\"libc.so.6\"\n");
    assert_int_equal(f.c.environment.n, 3);
    assert_string_equal(f.c.environment.v[0].name, "ZED");
    assert_string_equal(f.c.environment.v[1].name, "Path");
    assert_string_equal(f.c.environment.v[1].value, "%X%");
    assert_true(f.c.environment.v[1].expand);
    assert_false(f.c.environment.v[0].expand);
    assert_string_equal(f.c.environment.v[2].name, "Alpha");
    assert_int_equal(f.c.environment.v[2].origin.line, 6);
    assert_string_equal(named(&f.c.dos_devices, "nul")->value, "/dev/null");
    assert_string_equal(f.c.known_dll_directory, "/l");
    assert_int_equal(f.c.known_dlls.n, 1); /* DllDirectory is not a DLL */
    assert_string_equal(f.c.known_dlls.v[0].name, "libc");
    assert_int_equal(f.d.n, 0);
    done(&f);
}

static void test_subsystems(void **state)
{
    (void)state;
    struct fixture f;
    view(&f, V5 SMK "\\SubSystems]\n"
                "@=\"mnmsrvc\"\n"
                "\"Debug\"=hex(2):00,00\n"
                "\"Kmode\"=hex(2):5c,00,00,00\n"
                "\"Optional\"=hex(7):50,00,6f,00,73,00,69,00,78,00,00,00,00,00\n"
                "\"Posix\"=\"psxss\"\n"
                "\"Required\"=hex(7):44,00,65,00,62,00,75,00,67,00,00,00,57,00,69,00,6e,00,\\\n"
                "  64,00,6f,00,77,00,73,00,00,00,00,00\n"
                "\"Windows\"=\"csrss ObjectDirectory=\\\\Windows\"\n");
    static const char *const req[] = {"Debug", "Windows", NULL};
    static const char *const opt[] = {"Posix", NULL};
    assert_list(&f.c.subsystems_required, req);
    assert_list(&f.c.subsystems_optional, opt);
    assert_int_equal(f.c.subsystems.n, 4);
    assert_null(named(&f.c.subsystems, "Required"));
    assert_null(named(&f.c.subsystems, "Optional"));
    assert_null(named(&f.c.subsystems, ""));
    assert_string_equal(named(&f.c.subsystems, "debug")->value, "");
    assert_string_equal(named(&f.c.subsystems, "Kmode")->value, "\\");
    assert_true(named(&f.c.subsystems, "Kmode")->expand);
    assert_string_equal(named(&f.c.subsystems, "Windows")->value, "csrss ObjectDirectory=\\Windows");
    assert_int_equal(f.d.n, 0);
    struct diags check = DIAGS_INIT;
    smss_config_check(&f.c, &check);
    assert_int_equal(check.n, 0);
    diags_free(&check);
    done(&f);
}

static void test_linux_values(void **state)
{
    (void)state;
    struct fixture f;
    view(&f, V5 SMK "\\Linux]\n"
                "\"RuntimeDirectory\"=\"/r\"\n\"StateDirectory\"=\"/s\"\n"
                "\"CrashAction\"=\"Reboot\"\n\"CrashExitCode\"=dword:00000007\n"
                "\"ShutdownTimeout\"=dword:00000064\n\"SessionIpcNamespace\"=dword:00000000\n"
                "\"SessionPrivateShm\"=dword:00000000\n\"SessionCgroup\"=dword:00000000\n"
                "\"ApiGroup\"=\"smss\"\n\"PamService\"=\"login\"\n"
                "\"InitialCommand\"=\"/bin/login\"\n\"ProtectedPaths\"=hex(7):2f,00,00,00,00,00\n"
                "\"PamConfigDirectory\"=\"/etc/smss/pam.d\"\n\"ConsoleTerminal\"=\"/dev/tty2\"\n");
    assert_string_equal(f.c.pam_config_directory, "/etc/smss/pam.d");
    assert_string_equal(f.c.console_terminal, "/dev/tty2");
    assert_string_equal(f.c.runtime_dir, "/r");
    assert_string_equal(f.c.state_dir, "/s");
    assert_int_equal(f.c.crash_action, SM_CRASH_REBOOT);
    assert_int_equal(f.c.crash_exit_code, 7);
    assert_int_equal(f.c.shutdown_timeout_ms, 100);
    assert_false(f.c.session_ipc_namespace);
    assert_false(f.c.session_private_shm);
    assert_false(f.c.session_cgroup);
    assert_string_equal(f.c.api_group, "smss");
    assert_string_equal(f.c.pam_service, "login");
    assert_string_equal(f.c.initial_command, "/bin/login");
    static const char *const prot[] = {"/", NULL};
    assert_list(&f.c.protected_paths, prot);
    assert_int_equal(f.d.n, 0);
    done(&f);

    view(&f, V5 SMK "\\Linux]\n\"CrashAction\"=\"poweroff\"\n");
    assert_int_equal(f.c.crash_action, SM_CRASH_POWEROFF);
    done(&f);
    view(&f, V5 SMK "\\Linux]\n\"CrashAction\"=\"explode\"\n\"CrashExitCode\"=dword:00000100\n");
    assert_int_equal(f.c.crash_action, SM_CRASH_EXIT);
    assert_int_equal(f.c.crash_exit_code, 26);
    assert_diag(&f.d, "t.reg:4: Session Manager\\Linux\\CrashAction", "\"explode\" is not exit");
    assert_diag(&f.d, "t.reg:5: Session Manager\\Linux\\CrashExitCode", "up to 255");
    done(&f);
    view(&f, V5 SMK "]\n\"NumberOfInitialSessions\"=dword:00000000\n");
    assert_int_equal(f.c.number_of_initial_sessions, 1);
    assert_diag(&f.d, "t.reg:4: Session Manager\\NumberOfInitialSessions", "using 1");
    done(&f);
}

#define WL "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon]\n"

static void test_winlogon(void **state)
{
    (void)state;
    struct fixture f;
    view(&f, V5 WL "\"AutoAdminLogon\"=\"1\"\n\"DefaultUserName\"=\"alice\"\n"
                   "\"Shell\"=\"\"\n\"Userinit\"=\"/bin/init-user\"\n");
    assert_true(f.c.auto_admin_logon);
    assert_string_equal(f.c.default_user_name, "alice");
    assert_null(f.c.shell); /* empty: the user's login shell */
    assert_string_equal(f.c.userinit, "/bin/init-user");
    done(&f);
    view(&f, V5 WL "\"AutoAdminLogon\"=dword:00000001\n");
    assert_true(f.c.auto_admin_logon);
    done(&f);
    view(&f, V5 WL "\"AutoAdminLogon\"=dword:00000000\n");
    assert_false(f.c.auto_admin_logon);
    done(&f);
    view(&f, V5 WL "\"AutoAdminLogon\"=\"0\"\n");
    assert_false(f.c.auto_admin_logon);
    assert_null(f.c.default_user_name);
    done(&f);
    view(&f, V5 WL "\"AutoAdminLogon\"=hex:01\n");
    assert_false(f.c.auto_admin_logon);
    assert_diag(&f.d, "t.reg:4: Winlogon\\AutoAdminLogon", "expected REG_SZ");
    done(&f);
}

static void test_services(void **state)
{
    (void)state;
    struct fixture f;
    view(&f, V5 "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\web]\n"
                "\"ImagePath\"=hex(2):25,00,53,00,25,00,2f,00,77,00,00,00\n"
                "\"Start\"=dword:00000002\n\"ObjectName\"=\"LocalSystem\"\n"
                "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\noimage]\n"
                "\"Start\"=dword:00000002\n"
                "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\db]\n"
                "\"ImagePath\"=\"/usr/sbin/db\"\n\"ObjectName\"=\"nobody\"\n"
                "\"RestartDelay\"=dword:000001f4\n"
                "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\bad]\n"
                "\"ImagePath\"=dword:00000001\n");
    assert_int_equal(f.c.nservices, 2);
    assert_string_equal(f.c.services[0].name, "web");
    assert_string_equal(f.c.services[0].image_path, "%S%/w");
    assert_true(f.c.services[0].image_expand);
    assert_int_equal(f.c.services[0].start, 2);
    assert_null(f.c.services[0].user);
    assert_int_equal(f.c.services[0].restart_delay_ms, 1000);
    assert_int_equal(f.c.services[0].origin.line, 4);
    assert_string_equal(f.c.services[1].name, "db");
    assert_false(f.c.services[1].image_expand);
    assert_int_equal(f.c.services[1].start, 3);
    assert_string_equal(f.c.services[1].user, "nobody");
    assert_int_equal(f.c.services[1].restart_delay_ms, 500);
    assert_diag(&f.d, "Services\\bad\\ImagePath", "expected REG_SZ");
    done(&f);
}

/* A regedit export of HKLM\SYSTEM has no CurrentControlSet: Select\Current names it. */
static void test_control_set_through_select(void **state)
{
    (void)state;
    struct fixture f;
    view(&f, V5 "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n\"Current\"=dword:00000002\n"
                "\"Default\"=dword:00000001\n"
                "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Session Manager]\n"
                "\"ProtectionMode\"=dword:00000005\n"
                "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Control\\Session Manager]\n"
                "\"ProtectionMode\"=dword:00000007\n"
                "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Control\\MiniNT]\n"
                "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Control\\SafeBoot\\Option]\n"
                "\"OptionValue\"=dword:00000001\n");
    assert_int_equal(f.c.protection_mode, 7);
    assert_true(f.c.minint);
    assert_int_equal(f.c.safeboot_option, 1);
    struct reg_key *sm = smss_config_sm_key(f.store);
    assert_non_null(sm);
    assert_ptr_equal(reg_key_parent(reg_key_parent(sm)), smss_config_current_control_set(f.store));
    assert_string_equal(reg_key_name(smss_config_current_control_set(f.store)), "ControlSet002");
    done(&f);
    /* Select\Current pointing nowhere: no control set, defaults with a warning. */
    view(&f, V5 "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n\"Current\"=dword:00000003\n"
                "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Session Manager]\n");
    assert_null(smss_config_current_control_set(f.store));
    assert_int_equal(f.c.protection_mode, 1);
    assert_diag(&f.d, "Session Manager", "absent");
    done(&f);
}

static void test_check_warnings(void **state)
{
    (void)state;
    struct fixture f;
    view(&f, V5 SMK "]\n\"NumberOfInitialSessions\"=dword:00000100\n"
                SMK "\\SubSystems]\n"
                "\"Required\"=hex(7):44,00,00,00,57,00,00,00,00,00\n"
                "\"Optional\"=hex(7):50,00,00,00,00,00\n"
                "\"W\"=\"csrss\"\n");
    struct diags d = DIAGS_INIT;
    smss_config_check(&f.c, &d);
    assert_int_equal(d.warnings, 3);
    assert_int_equal(d.errors, 0);
    assert_diag(&d, "SubSystems\\Required", "names \"D\" but there is no SubSystems\\D");
    assert_diag(&d, "SubSystems\\Optional", "names \"P\"");
    assert_diag(&d, "NumberOfInitialSessions", "256 initial sessions");
    diags_free(&d);
    done(&f);
}

/* ---- loading the sources ------------------------------------------------------- */

static char *temp_file(const char *text)
{
    char *path = strdup("/tmp/test_config_XXXXXX.reg");
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void load_sources(struct fixture *f, const struct smss_config_sources *src, int want)
{
    f->store = reg_store_new();
    f->d = (struct diags)DIAGS_INIT;
    assert_int_equal(smss_config_load_store(f->store, src, &f->d), want);
    assert_int_equal(smss_config_from_store(&f->c, f->store, &f->d), 0);
}

static void test_embedded_default(void **state)
{
    (void)state;
    size_t len;
    const char *text = smss_default_reg(&len);
    assert_true(len > 100);
    assert_memory_equal(text, "Windows Registry Editor Version 5.00", 36);
    assert_null(memchr(text, '@', len) ? strstr(text, "@MULTIARCH@") : NULL);
    struct smss_config_sources src = {.sysconf_reg = "/nonexistent/smss.reg"};
    struct fixture f;
    load_sources(&f, &src, 0);
    smss_config_check(&f.c, &f.d);
    if (f.d.n)
        diags_print(&f.d, 2);
    assert_int_equal(f.d.n, 0);
    static const char *const req[] = {"Debug", "Windows", NULL};
    assert_list(&f.c.subsystems_required, req);
    assert_int_equal(f.c.npaging_files, 0);
    assert_string_equal(named(&f.c.dos_devices, "NUL")->value, "/dev/null");
    char o[128];
    assert_string_equal(reg_origin_format(f.store, named(&f.c.dos_devices, "NUL")->origin, o,
                                          sizeof o),
                        "(embedded default):32");
    done(&f);
}

static void test_sysconf_merged(void **state)
{
    (void)state;
    char *path = temp_file(V5 SMK "]\n\"ProtectionMode\"=dword:00000000\n"
                              "[-HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\"
                              "Session Manager\\DOS Devices]\n");
    struct smss_config_sources src = {.sysconf_reg = path};
    struct fixture f;
    load_sources(&f, &src, 0);
    assert_int_equal(f.c.protection_mode, 0);
    assert_int_equal(f.c.dos_devices.n, 0);
    assert_int_equal(f.c.number_of_initial_sessions, 2); /* from the default */
    char o[256], want[256];
    const struct reg_value *v = reg_value_get(smss_config_sm_key(f.store), "ProtectionMode");
    snprintf(want, sizeof want, "%s:4", path);
    assert_string_equal(reg_origin_format(f.store, v->origin, o, sizeof o), want);
    assert_int_equal(f.d.n, 0);
    done(&f);
    unlink(path);
    free(path);
}

static void test_sysconf_broken_rejected(void **state)
{
    (void)state;
    char *path = temp_file(V5 SMK "]\n\"ProtectionMode\"=dword:00000000\n\"x\"=dword:xyz\n"
                              "[HKEY_NOWHERE]\n");
    struct smss_config_sources src = {.sysconf_reg = path};
    struct fixture f;
    load_sources(&f, &src, -1);
    assert_int_equal(f.d.errors, 2);
    char where[256];
    snprintf(where, sizeof where, "%s:5:", path);
    assert_diag(&f.d, where, "hex digits");
    snprintf(where, sizeof where, "%s:6:", path);
    assert_diag(&f.d, where, "unknown root key");
    assert_int_equal(f.c.protection_mode, 1); /* nothing of the file applied */
    done(&f);
    unlink(path);
    free(path);
}

static void test_explicit_sources(void **state)
{
    (void)state;
    char *path = temp_file(V5 SMK "]\n\"ProtectionMode\"=dword:00000003\n");
    /* --config replaces the default and the merged file. */
    struct smss_config_sources src = {.reg_file = path, .sysconf_reg = "/nonexistent"};
    struct fixture f;
    load_sources(&f, &src, 0);
    assert_int_equal(f.c.protection_mode, 3);
    assert_int_equal(f.c.dos_devices.n, 0);
    assert_null(reg_key_lookup(reg_store_root(f.store), "HKLM\\SOFTWARE"));
    done(&f);
    /* no_default: only the merged file. */
    struct smss_config_sources src2 = {.sysconf_reg = path, .no_default = true};
    load_sources(&f, &src2, 0);
    assert_int_equal(f.c.protection_mode, 3);
    assert_int_equal(f.c.known_dlls.n, 0);
    done(&f);
    /* A missing --config file is an error. */
    struct smss_config_sources src3 = {.reg_file = "/nonexistent/x.reg"};
    load_sources(&f, &src3, -1);
    assert_diag(&f.d, "/nonexistent/x.reg", "cannot read");
    done(&f);
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_when_absent),
        cmocka_unit_test(test_wrong_types_keep_defaults),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_pending_renames),
        cmocka_unit_test(test_paging_files),
        cmocka_unit_test(test_named_keys),
        cmocka_unit_test(test_subsystems),
        cmocka_unit_test(test_linux_values),
        cmocka_unit_test(test_winlogon),
        cmocka_unit_test(test_services),
        cmocka_unit_test(test_control_set_through_select),
        cmocka_unit_test(test_check_warnings),
        cmocka_unit_test(test_embedded_default),
        cmocka_unit_test(test_sysconf_merged),
        cmocka_unit_test(test_sysconf_broken_rejected),
        cmocka_unit_test(test_explicit_sources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
