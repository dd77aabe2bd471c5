#include "hunt_config_rules.h"
#include "buf.h"
#include "config.h"
#include "hive.h"
#include "hunt_path.h"
#include "regdata.h"
#include "regtext.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int hunt_config_load(struct reg_store *store, const char *path, bool is_hive, struct diags *d)
{
    if (!is_hive)
        return regtext_load(store, path, d);
    static const char *const subtrees[] = {"Control\\Session Manager", NULL};
    return hive_load(store, path, subtrees, 0, d);
}

struct audit {
    const struct hunt_ruleset *rs;
    const struct hunt_config_baseline *cb;
    const struct reg_store *store;
    hunt_emit_fn emit;
    void *ctx;
    size_t *n;
    bool oom;
};

static void finding(struct audit *a, enum hunt_check c, const struct reg_key *k,
                    const struct reg_value *v, const char *data, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void finding(struct audit *a, enum hunt_check c, const struct reg_key *k,
                    const struct reg_value *v, const char *data, const char *fmt, ...)
{
    const struct hunt_rule *r = hunt_ruleset_rule(a->rs, c);
    if (!r)
        return;
    struct hunt_finding *f = calloc(1, sizeof *f);
    struct buf msg = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    char where[512];
    struct reg_origin o = v ? v->origin : reg_key_origin(k);
    reg_origin_format(a->store, o, where, sizeof where);
    bool failed = rc < 0 || !f;
    if (f) {
        *f = (struct hunt_finding){.rule_id = r->id, .rule_name = r->name,
                                   .technique = r->technique, .severity = r->level,
                                   .pid = -1, .ppid = -1, .creator_pid = -1, .session = -1,
                                   .time = HUNT_TIME_UNKNOWN};
        f->message = buf_steal(&msg);
        f->registry_path = reg_key_path(k);
        const char *value = v ? (*v->name ? v->name : "(default)") : data ? data : "";
        f->registry_value = hunt_strdup(value, &failed);
        f->registry_data = hunt_strdup(data, &failed);
        f->evidence = hunt_strdup(where, &failed);
        failed |= !f->registry_path;
    }
    buf_free(&msg);
    if (failed) {
        a->oom = true;
        hunt_finding_free(f);
        return;
    }
    (*a->n)++;
    a->emit(a->ctx, f);
}

/* A value's strings: a multi-string's elements (empty ones left out) or one string. */
static int value_strings(const struct reg_value *v, struct strlist *out)
{
    if (v->type == REG_MULTI_SZ) {
        struct strlist all = STRLIST_INIT;
        if (regdata_multi(v->data, v->len, &all) < 0) {
            strlist_free(&all);
            return -1;
        }
        for (size_t i = 0; i < all.n; i++)
            if (*all.v[i] && strlist_push(out, all.v[i]) < 0) {
                strlist_free(&all);
                return -1;
            }
        strlist_free(&all);
        return 0;
    }
    if (v->type == REG_SZ || v->type == REG_EXPAND_SZ) {
        char *s = NULL;
        if (regdata_string(v->data, v->len, &s) < 0)
            return -1;
        if (*s)
            return strlist_push_owned(out, s);
        free(s);
        return 0;
    }
    return 0;
}

/* Blanks collapsed and trimmed, lower case: how BootExecute lines are compared. */
static char *squeeze(const char *s)
{
    char *d = malloc(strlen(s) + 1), *w = d;
    if (!d)
        return NULL;
    for (; *s; s++) {
        if (isspace((unsigned char)*s)) {
            if (w > d && w[-1] != ' ')
                *w++ = ' ';
            continue;
        }
        *w++ = (char)tolower((unsigned char)*s);
    }
    while (w > d && w[-1] == ' ')
        w--;
    *w = '\0';
    return d;
}

static bool in_list_nocase(const struct strlist *l, const char *s)
{
    return strlist_find_nocase(l, s) >= 0;
}

/* The suspicious fragment a text contains (lower-cased compare), or NULL. */
static const char *suspicious(const struct audit *a, const char *text)
{
    char *low = hunt_lower(text);
    const char *hit = NULL;
    for (size_t i = 0; low && i < a->rs->suspicious.n && !hit; i++)
        if (strstr(low, a->rs->suspicious.v[i]))
            hit = a->rs->suspicious.v[i];
    free(low);
    return hit;
}

static void check_suspicious(struct audit *a, const struct reg_key *k,
                             const struct reg_value *v, const char *text)
{
    const char *hit = suspicious(a, text);
    if (hit)
        finding(a, HUNT_CHECK_CFG_SUSPICIOUS_PATH, k, v, text,
                "%s\\%s names \"%s\", in a user-writable place (%s)", reg_key_name(k),
                *v->name ? v->name : "(default)", text, hit);
}

/* ------------------------------------------------------------------ SubSystems */

static void check_subsystem_list(struct audit *a, const struct reg_key *k,
                                 const struct reg_value *v, const struct strlist *allowed)
{
    struct strlist words = STRLIST_INIT;
    if (value_strings(v, &words) < 0)
        a->oom = true;
    for (size_t i = 0; i < words.n; i++)
        if (!in_list_nocase(allowed, words.v[i]))
            finding(a, HUNT_CHECK_CFG_SUBSYSTEMS, k, v, words.v[i],
                    "SubSystems\\%s lists \"%s\", which is not a standard subsystem",
                    v->name, words.v[i]);
    strlist_free(&words);
}

/* Expected image of a subsystem value ("Windows=%SystemRoot%\\system32\\csrss.exe"). */
static const char *expected_image(const struct hunt_config_baseline *cb, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < cb->subsystem_images.n; i++) {
        const char *e = cb->subsystem_images.v[i];
        if (!strncasecmp(e, name, n) && e[n] == '=')
            return e + n + 1;
    }
    return NULL;
}

static void check_subsystem_image(struct audit *a, const struct reg_key *k,
                                  const struct reg_value *v, const char *text)
{
    const char *want = expected_image(a->cb, v->name);
    if (!want)
        return;
    char *img = hunt_cmdline_image(text);
    char *got = img ? hunt_path_normalize(img, a->rs->system_root) : NULL;
    char *exp = hunt_path_normalize(want, a->rs->system_root);
    if (got && exp && strcmp(got, exp) != 0)
        finding(a, HUNT_CHECK_CFG_SUBSYSTEMS, k, v, text,
                "SubSystems\\%s starts %s instead of %s", v->name, img, want);
    free(img);
    free(got);
    free(exp);
}

static void audit_subsystems(struct audit *a, const struct reg_key *sm)
{
    const struct reg_key *k = reg_key_lookup(sm, "SubSystems");
    if (!k)
        return;
    for (size_t i = 0; i < reg_key_value_count(k); i++) {
        const struct reg_value *v = reg_key_value(k, i);
        struct strlist s = STRLIST_INIT;
        if (value_strings(v, &s) < 0)
            a->oom = true;
        char *text = NULL;
        {
            struct buf b = BUF_INIT;
            for (size_t j = 0; j < s.n; j++)
                buf_printf(&b, "%s%s", j ? " " : "", s.v[j]);
            buf_puts(&b, "");
            text = buf_steal(&b);
        }
        const char *name = *v->name ? v->name : "(default)";
        if (!in_list_nocase(&a->cb->subsystems, name)) {
            finding(a, HUNT_CHECK_CFG_SUBSYSTEMS, k, v, text,
                    "unexpected SubSystems value \"%s\" = \"%s\"", name, text ? text : "");
        } else if (!*v->name) {
            if (text && *text && !in_list_nocase(&a->cb->default_values, text))
                finding(a, HUNT_CHECK_CFG_SUBSYSTEMS, k, v, text,
                        "SubSystems (default) is \"%s\"; stock Windows has mnmsrvc", text);
        } else if (!strcasecmp(v->name, "Required")) {
            check_subsystem_list(a, k, v, &a->cb->required);
        } else if (!strcasecmp(v->name, "Optional")) {
            check_subsystem_list(a, k, v, &a->cb->optional);
        } else if (!strcasecmp(v->name, "Debug")) {
            if (text && *text)
                finding(a, HUNT_CHECK_CFG_SUBSYSTEMS, k, v, text,
                        "SubSystems\\Debug names a program (\"%s\"); it is normally empty",
                        text);
        } else if (text && *text) {
            check_subsystem_image(a, k, v, text);
        }
        if (text && *text)
            check_suspicious(a, k, v, text);
        free(text);
        strlist_free(&s);
    }
}

/* ------------------------------------------------------------------ execute lists */

static void audit_lists(struct audit *a, const struct reg_key *sm)
{
    const struct reg_value *v = reg_value_get(sm, "BootExecute");
    struct strlist s = STRLIST_INIT;
    if (v && value_strings(v, &s) == 0)
        for (size_t i = 0; i < s.n; i++) {
            bool ok = false;
            char *got = squeeze(s.v[i]);
            for (size_t k = 0; got && k < a->cb->boot_execute.n && !ok; k++) {
                char *want = squeeze(a->cb->boot_execute.v[k]);
                ok = want && !strcmp(want, got);
                free(want);
            }
            if (!ok)
                finding(a, HUNT_CHECK_CFG_BOOT_EXECUTE, sm, v, s.v[i],
                        "BootExecute runs \"%s\" at boot, before any service; the standard "
                        "entry is only \"autocheck autochk *\"", s.v[i]);
            check_suspicious(a, sm, v, s.v[i]);
            free(got);
        }
    strlist_free(&s);
    static const char *const runs[] = {"SetupExecute", "Execute"};
    for (size_t r = 0; r < 2; r++) {
        v = reg_value_get(sm, runs[r]);
        if (!v || value_strings(v, &s) < 0)
            continue;
        for (size_t i = 0; i < s.n; i++) {
            finding(a, HUNT_CHECK_CFG_EXECUTE, sm, v, s.v[i],
                    "%s runs \"%s\" at boot; it is normally empty", runs[r], s.v[i]);
            check_suspicious(a, sm, v, s.v[i]);
        }
        strlist_free(&s);
    }
    v = reg_value_get(sm, "S0InitialCommand");
    if (v && value_strings(v, &s) == 0 && s.n) {
        char *img = hunt_cmdline_image(s.v[0]);
        const char *base = img ? hunt_path_basename(img) : "";
        if (!in_list_nocase(&a->cb->s0_initial, base))
            finding(a, HUNT_CHECK_CFG_S0_INITIAL, sm, v, s.v[0],
                    "S0InitialCommand starts \"%s\" in session 0 instead of wininit", s.v[0]);
        check_suspicious(a, sm, v, s.v[0]);
        free(img);
    }
    strlist_free(&s);
}

/* ------------------------------------------------------------------ KnownDLLs */

static bool known_dll_present(const struct reg_key *k, const char *dll)
{
    for (size_t i = 0; i < reg_key_value_count(k); i++) {
        const struct reg_value *v = reg_key_value(k, i);
        if (!strcasecmp(v->name, dll))
            return true;
        char *s = NULL;
        if ((v->type == REG_SZ || v->type == REG_EXPAND_SZ) &&
            regdata_string(v->data, v->len, &s) == 0) {
            size_t n = strlen(dll);
            bool same = !strncasecmp(s, dll, n) && !strcasecmp(s + n, ".dll");
            free(s);
            if (same)
                return true;
        } else {
            free(s);
        }
    }
    return false;
}

static void audit_known_dlls(struct audit *a, const struct reg_key *sm)
{
    const struct reg_key *k = reg_key_lookup(sm, "KnownDLLs");
    if (k) {
        for (size_t i = 0; i < a->cb->known_dlls.n; i++)
            if (!known_dll_present(k, a->cb->known_dlls.v[i]))
                finding(a, HUNT_CHECK_CFG_KNOWN_DLLS_REMOVED, k, NULL, a->cb->known_dlls.v[i],
                        "KnownDLLs no longer lists %s: programs will search their own "
                        "directory for it first", a->cb->known_dlls.v[i]);
        for (size_t i = 0; i < reg_key_value_count(k); i++) {
            const struct reg_value *v = reg_key_value(k, i);
            struct strlist s = STRLIST_INIT;
            if (value_strings(v, &s) == 0 && s.n)
                check_suspicious(a, k, v, s.v[0]);
            strlist_free(&s);
        }
    }
    const struct reg_value *v = reg_value_get(sm, "ExcludeFromKnownDlls");
    struct strlist s = STRLIST_INIT;
    if (v && value_strings(v, &s) == 0)
        for (size_t i = 0; i < s.n; i++)
            finding(a, HUNT_CHECK_CFG_KNOWN_DLLS_EXCLUDED, sm, v, s.v[i],
                    "ExcludeFromKnownDlls takes %s out of KnownDLLs: it will be loaded by "
                    "search order (DLL hijacking)", s.v[i]);
    strlist_free(&s);
}

/* ------------------------------------------------------------------ renames, AppCert */

static void audit_renames(struct audit *a, const struct reg_key *sm)
{
    static const char *const names[] = {"PendingFileRenameOperations",
                                        "PendingFileRenameOperations2"};
    for (size_t r = 0; r < 2; r++) {
        const struct reg_value *v = reg_value_get(sm, names[r]);
        struct strlist all = STRLIST_INIT;
        if (!v || v->type != REG_MULTI_SZ || regdata_multi(v->data, v->len, &all) < 0) {
            strlist_free(&all);
            continue;
        }
        /* Pairs: source, destination ("" = delete; a leading '!' = replace). */
        for (size_t i = 0; i + 1 < all.n || (i < all.n && *all.v[i]); i += 2) {
            const char *src = all.v[i], *dst = i + 1 < all.n ? all.v[i + 1] : "";
            if (!*src)
                continue;
            const char *s = *src == '@' ? src + 1 : src;
            char data[1024];
            if (!*dst) {
                snprintf(data, sizeof data, "%s", s);
                finding(a, HUNT_CHECK_CFG_PENDING_RENAME, sm, v, data,
                        "at the next boot smss will delete %s", s);
            } else {
                bool replace = *dst == '!';
                snprintf(data, sizeof data, "%s -> %s", s, replace ? dst + 1 : dst);
                finding(a, HUNT_CHECK_CFG_PENDING_RENAME, sm, v, data,
                        "at the next boot smss will rename %s to %s%s", s,
                        replace ? dst + 1 : dst, replace ? " (replacing it)" : "");
            }
            check_suspicious(a, sm, v, data);
        }
        strlist_free(&all);
    }
}

static void audit_appcert(struct audit *a, const struct reg_key *sm)
{
    const struct reg_key *k = reg_key_lookup(sm, "AppCertDlls");
    if (!k)
        return;
    for (size_t i = 0; i < reg_key_value_count(k); i++) {
        const struct reg_value *v = reg_key_value(k, i);
        struct strlist s = STRLIST_INIT;
        value_strings(v, &s);
        const char *dll = s.n ? s.v[0] : "";
        finding(a, HUNT_CHECK_CFG_APPCERT_DLLS, k, v, dll,
                "AppCertDlls\\%s loads \"%s\" into every process that creates processes",
                *v->name ? v->name : "(default)", dll);
        if (*dll)
            check_suspicious(a, k, v, dll);
        strlist_free(&s);
    }
}

int hunt_config_audit(const struct hunt_ruleset *rs, const struct reg_store *store,
                      const char *source, unsigned os, hunt_emit_fn emit, void *ctx,
                      size_t *nfindings, struct diags *d)
{
    const struct reg_key *sm = smss_config_sm_key(store);
    if (!sm) {
        diag_add(d, DIAG_ERROR, source,
                 "no Session Manager key (SYSTEM\\CurrentControlSet\\Control\\Session Manager, "
                 "or a ControlSet00N chosen by Select\\Current): give a SYSTEM hive or a .reg "
                 "export of that key");
        return -1;
    }
    const struct hunt_config_baseline *cb = hunt_ruleset_config(rs, os);
    if (!cb) {
        diag_add(d, DIAG_ERROR, source, "the rules have no config stanza for this platform");
        return -1;
    }
    struct audit a = {.rs = rs, .cb = cb, .store = store, .emit = emit, .ctx = ctx,
                      .n = nfindings};
    audit_subsystems(&a, sm);
    audit_lists(&a, sm);
    audit_known_dlls(&a, sm);
    audit_renames(&a, sm);
    audit_appcert(&a, sm);
    if (a.oom)
        diag_add(d, DIAG_ERROR, source, "out of memory: some findings were lost");
    return a.oom ? -1 : 0;
}
