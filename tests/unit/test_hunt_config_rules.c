/* The configuration rules on .reg texts written here, each positive and negative: the
 * stock Windows 7/10 Session Manager is clean (Posix, (default)=mnmsrvc included), and
 * every planted change is found with its key, value and source line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hunt_config_rules.h"
#include "regtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct audit_result {
    struct hunt_finding *v[32];
    size_t n;
};

static void collect(void *ctx, struct hunt_finding *f)
{
    struct audit_result *r = ctx;
    if (r->n < 32)
        r->v[r->n++] = f;
    else
        hunt_finding_free(f);
}

static struct hunt_ruleset rules;

static int setup(void **state)
{
    (void)state;
    struct diags d = DIAGS_INIT;
    hunt_ruleset_init(&rules);
    int rc = hunt_ruleset_load_default(&rules, &d);
    diags_free(&d);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    hunt_ruleset_free(&rules);
    return 0;
}

#define SM "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Session Manager"

/* A stock Windows 7 Session Manager, as regedit exports it (UTF-8 here). */
static const char stock[] =
    "Windows Registry Editor Version 5.00\n\n" SM "]\n"
    "\"BootExecute\"=hex(7):61,00,75,00,74,00,6f,00,63,00,68,00,65,00,63,00,6b,00,20,00,"
    "61,00,75,00,74,00,6f,00,63,00,68,00,6b,00,20,00,2a,00,00,00,00,00\n"
    "\"ExcludeFromKnownDlls\"=hex(7):00,00\n"
    "\"SetupExecute\"=hex(7):00,00\n\n" SM "\\SubSystems]\n"
    "@=\"mnmsrvc\"\n"
    "\"Debug\"=hex(2):00,00\n"
    "\"Kmode\"=\"\\\\SystemRoot\\\\System32\\\\win32k.sys\"\n"
    "\"Optional\"=hex(7):50,00,6f,00,73,00,69,00,78,00,00,00,00,00\n"
    "\"Posix\"=\"%SystemRoot%\\\\system32\\\\psxss.exe\"\n"
    "\"Required\"=hex(7):44,00,65,00,62,00,75,00,67,00,00,00,57,00,69,00,6e,00,64,00,6f,"
    "00,77,00,73,00,00,00,00,00\n"
    "\"Windows\"=\"%SystemRoot%\\\\system32\\\\csrss.exe ObjectDirectory=\\\\Windows "
    "SharedSection=1024,12288,512 Windows=On SubSystemType=Windows\"\n\n" SM "\\KnownDLLs]\n"
    "\"DllDirectory\"=\"%SystemRoot%\\\\system32\"\n"
    "\"advapi32\"=\"advapi32.dll\"\n\"clbcatq\"=\"clbcatq.dll\"\n\"COMDLG32\"=\"COMDLG32.dll\"\n"
    "\"gdi32\"=\"gdi32.dll\"\n\"IMAGEHLP\"=\"IMAGEHLP.dll\"\n\"IMM32\"=\"IMM32.dll\"\n"
    "\"kernel32\"=\"kernel32.dll\"\n\"MSCTF\"=\"MSCTF.dll\"\n\"MSVCRT\"=\"MSVCRT.dll\"\n"
    "\"NORMALIZ\"=\"NORMALIZ.dll\"\n\"NSI\"=\"NSI.dll\"\n\"ole32\"=\"ole32.dll\"\n"
    "\"OLEAUT32\"=\"OLEAUT32.dll\"\n\"PSAPI\"=\"PSAPI.DLL\"\n\"rpcrt4\"=\"rpcrt4.dll\"\n"
    "\"sechost\"=\"sechost.dll\"\n\"Setupapi\"=\"Setupapi.dll\"\n\"SHELL32\"=\"SHELL32.dll\"\n"
    "\"SHLWAPI\"=\"SHLWAPI.dll\"\n\"user32\"=\"user32.dll\"\n\"WLDAP32\"=\"WLDAP32.dll\"\n"
    "\"WS2_32\"=\"WS2_32.dll\"\n\n";

/* Audit stock + extra lines (appended as a second .reg text). */
static void audit(const char *extra, struct audit_result *r)
{
    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    assert_int_equal(regtext_load_buffer(s, "stock.reg", stock, strlen(stock), &d), 0);
    if (extra) {
        char text[4096];
        snprintf(text, sizeof text, "Windows Registry Editor Version 5.00\n\n%s", extra);
        assert_int_equal(regtext_load_buffer(s, "planted.reg", text, strlen(text), &d), 0);
    }
    size_t n = 0;
    memset(r, 0, sizeof *r);
    assert_int_equal(hunt_config_audit(&rules, s, "test", HUNT_OS_7, collect, r, &n, &d), 0);
    assert_int_equal(n, r->n);
    for (size_t i = 0; i < r->n; i++)
        print_message("# %s %s\\%s: %s\n", r->v[i]->rule_id, r->v[i]->registry_path,
                      r->v[i]->registry_value, r->v[i]->message);
    reg_store_free(s);
    diags_free(&d);
}

static void result_free(struct audit_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        hunt_finding_free(r->v[i]);
    r->n = 0;
}

static size_t count(const struct audit_result *r, const char *rule)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += !strcmp(r->v[i]->rule_id, rule);
    return n;
}

static void test_stock_clean(void **state)
{
    (void)state;
    struct audit_result r;
    audit(NULL, &r);
    assert_int_equal(r.n, 0);
}

static void test_subsystems(void **state)
{
    (void)state;
    struct audit_result r;
    audit(SM "\\SubSystems]\n\"Evil\"=\"C:\\\\Windows\\\\evil.exe\"\n"
             "\"Required\"=hex(7):44,00,65,00,62,00,75,00,67,00,00,00,57,00,69,00,6e,00,64,00,"
             "6f,00,77,00,73,00,00,00,45,00,76,00,69,00,6c,00,00,00,00,00\n",
          &r);
    assert_int_equal(count(&r, "HUNT-C001"), 2);
    assert_string_equal(r.v[0]->registry_value, "Required");
    assert_string_equal(r.v[0]->registry_data, "Evil");
    assert_string_equal(r.v[1]->registry_value, "Evil");
    assert_string_equal(r.v[1]->evidence, "planted.reg:4");
    assert_non_null(strstr(r.v[1]->registry_path, "SubSystems"));
    result_free(&r);
    /* The Windows subsystem pointed at another program. */
    audit(SM "\\SubSystems]\n\"Windows\"=\"C:\\\\ProgramData\\\\csrss.exe ObjectDirectory=x\"\n",
          &r);
    assert_int_equal(count(&r, "HUNT-C001"), 1);
    assert_int_equal(count(&r, "HUNT-C008"), 1); /* and from a writable place */
    result_free(&r);
    /* A changed (default). */
    audit(SM "\\SubSystems]\n@=\"evil\"\n", &r);
    assert_int_equal(count(&r, "HUNT-C001"), 1);
    assert_string_equal(r.v[0]->registry_value, "(default)");
    result_free(&r);
}

static void test_boot_execute(void **state)
{
    (void)state;
    struct audit_result r;
    /* Blanks and case do not matter. */
    audit(SM "]\n\"BootExecute\"=hex(7):41,00,75,00,74,00,6f,00,63,00,68,00,65,00,63,00,6b,"
             "00,20,00,20,00,61,00,75,00,74,00,6f,00,63,00,68,00,6b,00,20,00,2a,00,00,00,00,00\n",
          &r);
    assert_int_equal(r.n, 0);
    audit(SM "]\n\"BootExecute\"=hex(7):61,00,00,00,00,00\n", &r);
    assert_int_equal(count(&r, "HUNT-C002"), 1);
    assert_string_equal(r.v[0]->registry_data, "a");
    result_free(&r);
}

static void test_execute_lists(void **state)
{
    (void)state;
    struct audit_result r;
    audit(SM "]\n\"Execute\"=hex(7):78,00,00,00,00,00\n"
             "\"SetupExecute\"=hex(7):79,00,00,00,00,00\n"
             "\"S0InitialCommand\"=\"C:\\\\Users\\\\Public\\\\w.exe\"\n",
          &r);
    assert_int_equal(count(&r, "HUNT-C003"), 2);
    assert_int_equal(count(&r, "HUNT-C004"), 1);
    assert_int_equal(count(&r, "HUNT-C008"), 1);
    result_free(&r);
    audit(SM "]\n\"S0InitialCommand\"=\"wininit.exe\"\n\"Execute\"=hex(7):00,00\n", &r);
    assert_int_equal(r.n, 0);
}

static void test_known_dlls(void **state)
{
    (void)state;
    struct audit_result r;
    audit(SM "\\KnownDLLs]\n\"kernel32\"=-\n\"user32\"=-\n" SM "]\n"
             "\"ExcludeFromKnownDlls\"=hex(7):77,00,73,00,32,00,5f,00,33,00,32,00,00,00,00,00\n",
          &r);
    assert_int_equal(count(&r, "HUNT-C005"), 2);
    assert_int_equal(count(&r, "HUNT-C006"), 1);
    result_free(&r);
}

static void test_pending_renames(void **state)
{
    (void)state;
    struct audit_result r;
    /* "\??\C:\a.tmp" deleted; "\??\C:\Temp\b.dll" → "!\??\C:\Windows\System32\b.dll". */
    char extra[2048], hex[1024];
    const char *parts[] = {"\\??\\C:\\a.tmp", "", "\\??\\C:\\Temp\\b.dll",
                           "!\\??\\C:\\Windows\\System32\\b.dll"};
    size_t k = 0;
    for (size_t i = 0; i < 4; i++) {
        for (const char *c = parts[i]; *c; c++)
            k += (size_t)snprintf(hex + k, sizeof hex - k, "%02x,00,", (unsigned char)*c);
        k += (size_t)snprintf(hex + k, sizeof hex - k, "00,00,");
    }
    snprintf(hex + k, sizeof hex - k, "00,00");
    snprintf(extra, sizeof extra, SM "]\n\"PendingFileRenameOperations\"=hex(7):%s\n", hex);
    audit(extra, &r);
    assert_int_equal(count(&r, "HUNT-C007"), 2);
    assert_non_null(strstr(r.v[0]->message, "delete \\??\\C:\\a.tmp"));
    assert_non_null(strstr(r.v[1]->message, "rename \\??\\C:\\Temp\\b.dll to "
                                            "\\??\\C:\\Windows\\System32\\b.dll (replacing it)"));
    assert_int_equal(count(&r, "HUNT-C008"), 1); /* from Temp */
    result_free(&r);
}

static void test_appcert(void **state)
{
    (void)state;
    struct audit_result r;
    audit(SM "\\AppCertDlls]\n\"x\"=\"C:\\\\Windows\\\\x.dll\"\n", &r);
    assert_int_equal(count(&r, "HUNT-C009"), 1);
    assert_int_equal(r.n, 1);
    result_free(&r);
}

static void test_no_key(void **state)
{
    (void)state;
    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    size_t n = 0;
    struct audit_result r = {0};
    assert_int_equal(hunt_config_audit(&rules, s, "empty.reg", HUNT_OS_7, collect, &r, &n, &d), -1);
    assert_int_equal(d.errors, 1);
    assert_string_equal(d.v[0].where, "empty.reg");
    reg_store_free(s);
    diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stock_clean),     cmocka_unit_test(test_subsystems),
        cmocka_unit_test(test_boot_execute),    cmocka_unit_test(test_execute_lists),
        cmocka_unit_test(test_known_dlls),      cmocka_unit_test(test_pending_renames),
        cmocka_unit_test(test_appcert),         cmocka_unit_test(test_no_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
