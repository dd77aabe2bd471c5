/* The Session Manager configuration: loading its sources into one store, and the typed
 * view smss works from. Reading follows NT: every value has a default; a value of the
 * wrong type or a malformed entry is a warning naming key\value and where it came from,
 * and the default is kept. */
#include "config.h"
#include "hive.h"
#include "regdata.h"
#include "regtext.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

extern const char smss_default_reg_blob[], smss_default_reg_blob_end[];

const char *const smss_config_system_subtrees[] = {
    "Control\\Session Manager", "Control\\MiniNT", "Control\\SafeBoot\\Option", NULL};
const char *const smss_config_software_subtrees[] = {
    "Microsoft\\Windows NT\\CurrentVersion\\Winlogon", NULL};

const char *smss_default_reg(size_t *len)
{
    *len = (size_t)(smss_default_reg_blob_end - smss_default_reg_blob);
    return smss_default_reg_blob;
}

/* NT's defaults (REFERENCES §1) and ours for the Linux values: the one place they are
 * written. The reader takes them for absent values, --print-config shows them. */
#define SM SM_KEY
static const char *const objdirs_default[] = {"\\Windows", "\\RPC Control", NULL};
static const char *const boot_default[] = {"autocheck autochk *", NULL};
static const char *const required_default[] = {"Debug", "Windows", NULL};
static const char *const paging_default[] = {"?:\\pagefile.sys", NULL};
static const char *const protected_default[] = {"%SystemRoot%", NULL};
static const char *const empty_list[] = {NULL};
const struct sm_default smss_config_defaults[] = {
    {SM, "ProtectionMode", REG_DWORD, 1, NULL, NULL},
    {SM, "AllowProtectedRenames", REG_DWORD, 0, NULL, NULL},
    {SM, "ObjectDirectories", REG_MULTI_SZ, 0, NULL, objdirs_default},
    {SM, "BootExecute", REG_MULTI_SZ, 0, NULL, boot_default},
    {SM, "SetupExecute", REG_MULTI_SZ, 0, NULL, empty_list},
    {SM, "Execute", REG_MULTI_SZ, 0, NULL, empty_list},
    {SM, "ExcludeFromKnownDlls", REG_MULTI_SZ, 0, NULL, empty_list},
    {SM, "S0InitialCommand", REG_EXPAND_SZ, 0, "%SystemRoot%/wininit", NULL},
    {SM, "NumberOfInitialSessions", REG_DWORD, 2, NULL, NULL},
    {SM "\\Memory Management", "PagingFiles", REG_MULTI_SZ, 0, NULL, paging_default},
    {SM "\\SubSystems", "Required", REG_MULTI_SZ, 0, NULL, required_default},
    {SM "\\SubSystems", "Optional", REG_MULTI_SZ, 0, NULL, empty_list},
    {SM "\\Linux", "RuntimeDirectory", REG_SZ, 0, "/run/smss", NULL},
    {SM "\\Linux", "StateDirectory", REG_SZ, 0, "/var/lib/smss", NULL},
    {SM "\\Linux", "CrashAction", REG_SZ, 0, "exit", NULL},
    {SM "\\Linux", "CrashExitCode", REG_DWORD, 0x1a, NULL, NULL},
    {SM "\\Linux", "ShutdownTimeout", REG_DWORD, 5000, NULL, NULL},
    {SM "\\Linux", "SessionIpcNamespace", REG_DWORD, 1, NULL, NULL},
    {SM "\\Linux", "SessionPrivateShm", REG_DWORD, 1, NULL, NULL},
    {SM "\\Linux", "SessionCgroup", REG_DWORD, 1, NULL, NULL},
    {SM "\\Linux", "PamService", REG_SZ, 0, "smss-winlogon", NULL},
    {SM "\\Linux", "InitialCommand", REG_EXPAND_SZ, 0, "%SystemRoot%/winlogon", NULL},
    {SM "\\Linux", "ProtectedPaths", REG_MULTI_SZ, 0, NULL, protected_default},
    {SM_WINLOGON_KEY, "AutoAdminLogon", REG_SZ, 0, "0", NULL},
    {NULL, NULL, 0, 0, NULL, NULL},
};
#undef SM

static const struct sm_default *default_of(const char *key_path, const char *name)
{
    for (const struct sm_default *d = smss_config_defaults; d->key; d++)
        if (!strcasecmp(d->key, key_path) && !strcasecmp(d->name, name))
            return d;
    return NULL;
}

/* ---- loading ------------------------------------------------------------------- */

static int load_hive(struct reg_store *store, const char *path, bool unsafe,
                     struct diags *diags)
{
    /* The kind of hive decides which list applies; hive_load places it. Read both lists'
     * keys: a SYSTEM hive has none of the SOFTWARE ones and the other way round. */
    static const char *const all[] = {
        "Control\\Session Manager", "Control\\MiniNT", "Control\\SafeBoot\\Option",
        "Microsoft\\Windows NT\\CurrentVersion\\Winlogon", NULL};
    return hive_load(store, path, all, unsafe ? HIVE_UNSAFE : 0, diags);
}

int smss_config_load_store(struct reg_store *store, const struct smss_config_sources *src,
                           struct diags *diags)
{
    if (src->reg_file || src->nhives) {
        if (src->reg_file && regtext_load(store, src->reg_file, diags) < 0)
            return -1;
        for (size_t i = 0; i < src->nhives; i++)
            if (load_hive(store, src->hives[i], src->hive_unsafe, diags) < 0)
                return -1;
        return 0;
    }
    if (!src->no_default) {
        size_t len;
        const char *text = smss_default_reg(&len);
        if (regtext_load_buffer(store, "(embedded default)", text, len, diags) < 0)
            return -1;
    }
    const char *merged = src->sysconf_reg ? src->sysconf_reg : SMSS_SYSCONFDIR "/smss/smss.reg";
    if (access(merged, F_OK) < 0 && errno == ENOENT)
        return 0;
    return regtext_load(store, merged, diags);
}

int smss_config_load(struct smss_config *c, const struct smss_config_sources *src,
                     struct diags *diags)
{
    struct reg_store *store = reg_store_new();
    int r = store ? smss_config_load_store(store, src, diags) : -1;
    if (!store)
        diag_add(diags, DIAG_ERROR, "configuration", "out of memory");
    if (r == 0)
        r = smss_config_from_store(c, store, diags);
    reg_store_free(store);
    return r;
}

int smss_config_load_effective(const char *path, struct smss_config *c)
{
    struct diags d = DIAGS_INIT;
    int r = smss_config_load(c, &(struct smss_config_sources){.reg_file = path}, &d);
    diags_print(&d, STDERR_FILENO);
    if (r < 0)
        dprintf(STDERR_FILENO, "cannot load the configuration %s; smss writes it to "
                               "$SMSS_RUNTIME_DIR/config.reg\n", path);
    diags_free(&d);
    return r;
}

/* ---- finding the keys ---------------------------------------------------------- */

struct reg_key *smss_config_current_control_set(const struct reg_store *store)
{
    struct reg_key *root = reg_store_root((struct reg_store *)store);
    struct reg_key *ccs = reg_key_lookup(root, "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet");
    if (ccs)
        return ccs;
    struct reg_key *select = reg_key_lookup(root, "HKEY_LOCAL_MACHINE\\SYSTEM\\Select");
    const struct reg_value *cur = select ? reg_value_get(select, "Current") : NULL;
    uint32_t n;
    if (!cur || regdata_dword(cur->type, cur->data, cur->len, &n) < 0)
        return NULL;
    char path[64];
    snprintf(path, sizeof path, "HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet%03u", n);
    return reg_key_lookup(root, path);
}

struct reg_key *smss_config_sm_key(const struct reg_store *store)
{
    struct reg_key *ccs = smss_config_current_control_set(store);
    return ccs ? reg_key_lookup(ccs, "Control\\Session Manager") : NULL;
}

/* ---- reading values with NT's tolerance ---------------------------------------- */

struct reader {
    const struct reg_store *store;
    struct diags *diags;
    const char *key_label; /* "Session Manager", "Session Manager\\KnownDLLs", ... */
    const char *key_path;  /* the canonical path, to find defaults */
};

__attribute__((format(printf, 3, 4))) static void warn(const struct reader *R,
                                                       const struct reg_value *v,
                                                       const char *fmt, ...)
{
    char where[512], origin[256], msg[512];
    reg_origin_format(R->store, v->origin, origin, sizeof origin);
    snprintf(where, sizeof where, "%s: %s\\%s", origin, R->key_label,
             v->name[0] ? v->name : "(default)");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_add(R->diags, DIAG_WARNING, where, "%s", msg);
}

static bool is_string_type(uint32_t t) { return t == REG_SZ || t == REG_EXPAND_SZ; }

/* A DWORD value: absent → default; wrong type → warning, default. */
static uint32_t read_dword_or(const struct reader *R, const struct reg_key *k, const char *name,
                              uint32_t def)
{
    const struct reg_value *v = k ? reg_value_get(k, name) : NULL;
    uint32_t out;
    if (!v)
        return def;
    if (regdata_dword(v->type, v->data, v->len, &out) == 0)
        return out;
    warn(R, v, "expected REG_DWORD, found %s of %zu bytes; using the default %u",
         reg_type_name(v->type), v->len, def);
    return def;
}

static uint32_t read_dword(const struct reader *R, const struct reg_key *k, const char *name)
{
    const struct sm_default *d = default_of(R->key_path, name);
    return read_dword_or(R, k, name, d ? d->dword : 0);
}

/* A string value, malloc'd: absent → copy of the default (may be NULL); wrong type →
 * warning, default. */
static int read_string(const struct reader *R, const struct reg_key *k, const char *name,
                       char **out, bool *expand)
{
    const struct sm_default *d = default_of(R->key_path, name);
    const char *def = d ? d->text : NULL;
    if (expand)
        *expand = d && d->type == REG_EXPAND_SZ;
    const struct reg_value *v = k ? reg_value_get(k, name) : NULL;
    if (v && is_string_type(v->type)) {
        if (regdata_string(v->data, v->len, out) == 0) {
            if (expand)
                *expand = v->type == REG_EXPAND_SZ;
            return 0;
        }
        if (errno == ENOMEM)
            return -1;
        warn(R, v, "the text is not valid UTF-16LE; using the default");
    } else if (v) {
        warn(R, v, "expected REG_SZ or REG_EXPAND_SZ, found %s; using the default",
             reg_type_name(v->type));
    }
    *out = def ? strdup(def) : NULL;
    return def && !*out ? -1 : 0;
}

/* A list: REG_MULTI_SZ, or a single REG_SZ as a one-element list (NT's registry query
 * hands both to the same routine). Empty elements are dropped, and NT's duplicate rule
 * applies: an identical entry (no case) is taken once. Absent → defaults. */
static int read_list(const struct reader *R, const struct reg_key *k, const char *name,
                     struct strlist *out)
{
    const struct sm_default *d = default_of(R->key_path, name);
    const char *const *defaults = d ? d->list : NULL;
    const struct reg_value *v = k ? reg_value_get(k, name) : NULL;
    struct strlist raw = STRLIST_INIT;
    int r = 0;
    if (v && v->type == REG_MULTI_SZ) {
        if (regdata_multi(v->data, v->len, &raw) < 0) {
            if (errno == ENOMEM)
                return -1;
            warn(R, v, "the multi-string is not valid UTF-16LE; using the default");
            v = NULL;
        }
    } else if (v && is_string_type(v->type)) {
        char *s;
        if (regdata_string(v->data, v->len, &s) < 0) {
            if (errno == ENOMEM)
                return -1;
            warn(R, v, "the text is not valid UTF-16LE; using the default");
            v = NULL;
        } else if (strlist_push_owned(&raw, s) < 0) {
            return -1;
        }
    } else if (v) {
        warn(R, v, "expected REG_MULTI_SZ, found %s; using the default", reg_type_name(v->type));
        v = NULL;
    }
    if (!v)
        for (size_t i = 0; defaults && defaults[i]; i++)
            if (strlist_push(&raw, defaults[i]) < 0)
                r = -1;
    for (size_t i = 0; r == 0 && i < raw.n; i++) {
        if (!raw.v[i][0] || strlist_find_nocase(out, raw.v[i]) >= 0)
            continue;
        r = strlist_push(out, raw.v[i]);
    }
    strlist_free(&raw);
    return r;
}

/* Named entries: a changed value replaces the earlier one, an identical one is kept once. */
static int named_put(struct sm_named_list *l, const char *name, char *value, bool expand,
                     struct reg_origin origin)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcasecmp(l->v[i].name, name) != 0)
            continue;
        free(l->v[i].value);
        l->v[i].value = value;
        l->v[i].expand = expand;
        l->v[i].origin = origin;
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct sm_named *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            free(value);
            return -1;
        }
        l->v = v;
        l->cap = cap;
    }
    char *n = strdup(name);
    if (!n) {
        free(value);
        return -1;
    }
    l->v[l->n++] = (struct sm_named){n, value, expand, origin};
    return 0;
}

static void named_free(struct sm_named_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].value);
    }
    free(l->v);
    *l = (struct sm_named_list){NULL, 0, 0};
}

/* Every string value of a key as name → value, in registry order; `skip` names (no case)
 * are left out; values of other types are warned about. */
static int read_named_key(const struct reader *R, const struct reg_key *k,
                          const char *const *skip, struct sm_named_list *out)
{
    for (size_t i = 0; k && i < reg_key_value_count(k); i++) {
        const struct reg_value *v = reg_key_value(k, i);
        bool skipped = !v->name[0];
        for (size_t j = 0; skip && skip[j]; j++)
            skipped |= strcasecmp(v->name, skip[j]) == 0;
        if (skipped)
            continue;
        if (!is_string_type(v->type)) {
            warn(R, v, "expected REG_SZ or REG_EXPAND_SZ, found %s; entry ignored",
                 reg_type_name(v->type));
            continue;
        }
        char *s;
        if (regdata_string(v->data, v->len, &s) < 0) {
            if (errno == ENOMEM)
                return -1;
            warn(R, v, "the text is not valid UTF-16LE; entry ignored");
            continue;
        }
        if (named_put(out, v->name, s, v->type == REG_EXPAND_SZ, v->origin) < 0)
            return -1;
    }
    return 0;
}

/* ---- the values with structure ------------------------------------------------- */

static int add_rename(struct smss_config *c, const char *src, const char *dst,
                      struct reg_origin origin)
{
    struct sm_rename *v = realloc(c->renames, (c->nrenames + 1) * sizeof *v);
    if (!v)
        return -1;
    c->renames = v;
    if (src[0] == '@')
        src++;
    bool replace = dst[0] == '!';
    char *s = strdup(src), *d = strdup(dst + (replace ? 1 : 0));
    if (!s || !d) {
        free(s);
        free(d);
        return -1;
    }
    c->renames[c->nrenames++] = (struct sm_rename){s, d, replace, origin};
    return 0;
}

/* PendingFileRenameOperations and ...2: (source, destination) pairs, duplicates kept
 * (NT keeps them: each is an operation). */
static int read_renames(const struct reader *R, const struct reg_key *k, const char *name,
                        struct smss_config *c)
{
    const struct reg_value *v = k ? reg_value_get(k, name) : NULL;
    if (!v)
        return 0;
    if (v->type != REG_MULTI_SZ) {
        warn(R, v, "expected REG_MULTI_SZ of (source, destination) pairs, found %s; ignored",
             reg_type_name(v->type));
        return 0;
    }
    struct strlist l = STRLIST_INIT;
    if (regdata_multi(v->data, v->len, &l) < 0) {
        if (errno == ENOMEM)
            return -1;
        warn(R, v, "the multi-string is not valid UTF-16LE; ignored");
        return 0;
    }
    int r = 0;
    for (size_t i = 0; r == 0 && i + 1 < l.n; i += 2)
        if (l.v[i][0])
            r = add_rename(c, l.v[i], l.v[i + 1], v->origin);
    if (l.n % 2)
        warn(R, v, "odd number of strings: the last source (\"%s\") has no destination and "
                   "is left out rather than deleted",
             l.v[l.n - 1]);
    strlist_free(&l);
    return r;
}

/* "path [min [max]]", numbers in any base (0x...). */
static bool parse_paging_entry(const char *entry, struct sm_paging_file *pf, char *why,
                               size_t whylen)
{
    const char *p = entry + strspn(entry, " \t");
    size_t n = strcspn(p, " \t");
    if (!n) {
        snprintf(why, whylen, "no path");
        return false;
    }
    unsigned long sizes[2] = {0, 0};
    const char *q = p + n;
    int count = 0;
    for (;;) {
        q += strspn(q, " \t");
        if (!*q)
            break;
        if (count == 2) {
            snprintf(why, whylen, "more than a path and two sizes");
            return false;
        }
        char *end;
        errno = 0;
        sizes[count] = strtoul(q, &end, 0);
        if (end == q || (*end && *end != ' ' && *end != '\t') || errno ||
            sizes[count] > UINT32_MAX || *q == '-') {
            snprintf(why, whylen, "size \"%.*s\" is not a number of MB (decimal or 0x hex)",
                     (int)strcspn(q, " \t"), q);
            return false;
        }
        q = end;
        count++;
    }
    pf->path = strndup(p, n);
    pf->min_mb = (uint32_t)sizes[0];
    pf->max_mb = (uint32_t)(count == 2 ? sizes[1] : sizes[0]);
    pf->system_managed = count == 0 || (sizes[0] == 0 && sizes[1] == 0);
    if (!pf->path) {
        snprintf(why, whylen, "out of memory");
        return false;
    }
    return true;
}

static int read_paging_files(const struct reader *R, const struct reg_key *mm,
                             struct smss_config *c)
{
    const struct reg_value *v = mm ? reg_value_get(mm, "PagingFiles") : NULL;
    struct strlist l = STRLIST_INIT;
    if (read_list(R, mm, "PagingFiles", &l) < 0)
        return -1;
    c->paging_files_set = v != NULL;
    for (size_t i = 0; i < l.n; i++) {
        if (c->npaging_files == SM_MAX_PAGING_FILES) {
            warn(R, v, "more than %d paging files; \"%s\" and the rest are ignored",
                 SM_MAX_PAGING_FILES, l.v[i]);
            break;
        }
        struct sm_paging_file *pf = &c->paging_files[c->npaging_files];
        char why[160];
        if (!parse_paging_entry(l.v[i], pf, why, sizeof why)) {
            warn(R, v, "entry \"%s\" ignored: %s", l.v[i], why);
            continue;
        }
        pf->origin = v ? v->origin : (struct reg_origin){0, 0}; /* NULL: the default */
        c->npaging_files++;
    }
    strlist_free(&l);
    return 0;
}

static int read_services(const struct reader *R0, const struct reg_key *services,
                         struct smss_config *c)
{
    for (size_t i = 0; services && i < reg_key_subkey_count(services); i++) {
        const struct reg_key *s = reg_key_subkey(services, i);
        char label[300];
        snprintf(label, sizeof label, "Services\\%s", reg_key_name(s));
        struct reader R = {R0->store, R0->diags, label, ""};
        if (!reg_value_get(s, "ImagePath"))
            continue;
        struct sm_service sv = {0};
        sv.origin = reg_value_get(s, "ImagePath")->origin;
        if (read_string(&R, s, "ImagePath", &sv.image_path, &sv.image_expand) < 0 ||
            read_string(&R, s, "ObjectName", &sv.user, NULL) < 0 ||
            !(sv.name = strdup(reg_key_name(s)))) {
            free(sv.image_path);
            free(sv.user);
            return -1;
        }
        if (!sv.image_path) {
            free(sv.user);
            free(sv.name);
            continue;
        }
        if (sv.user && (!strcasecmp(sv.user, "LocalSystem") || !sv.user[0])) {
            free(sv.user);
            sv.user = NULL;
        }
        sv.start = read_dword_or(&R, s, "Start", 3);
        sv.restart_delay_ms = read_dword_or(&R, s, "RestartDelay", 1000);
        struct sm_service *v = realloc(c->services, (c->nservices + 1) * sizeof *v);
        if (!v) {
            free(sv.image_path);
            free(sv.user);
            free(sv.name);
            return -1;
        }
        c->services = v;
        c->services[c->nservices++] = sv;
    }
    return 0;
}

static int read_linux(const struct reader *R, const struct reg_key *k, struct smss_config *c)
{
    char *action = NULL;
    if (read_string(R, k, "RuntimeDirectory", &c->runtime_dir, NULL) < 0 ||
        read_string(R, k, "StateDirectory", &c->state_dir, NULL) < 0 ||
        read_string(R, k, "ApiGroup", &c->api_group, NULL) < 0 ||
        read_string(R, k, "PamService", &c->pam_service, NULL) < 0 ||
        read_string(R, k, "PamConfigDirectory", &c->pam_config_directory, NULL) < 0 ||
        read_string(R, k, "ConsoleTerminal", &c->console_terminal, NULL) < 0 ||
        read_string(R, k, "InitialCommand", &c->initial_command,
                    NULL) < 0 ||
        read_list(R, k, "ProtectedPaths", &c->protected_paths) < 0 ||
        read_string(R, k, "CrashAction", &action, NULL) < 0)
        return -1;
    if (!strcasecmp(action, "reboot")) {
        c->crash_action = SM_CRASH_REBOOT;
    } else if (!strcasecmp(action, "poweroff")) {
        c->crash_action = SM_CRASH_POWEROFF;
    } else {
        c->crash_action = SM_CRASH_EXIT;
        const struct reg_value *v = k ? reg_value_get(k, "CrashAction") : NULL;
        if (strcasecmp(action, "exit") && v)
            warn(R, v, "CrashAction \"%s\" is not exit, reboot or poweroff; using exit", action);
    }
    free(action);
    c->crash_exit_code = read_dword(R, k, "CrashExitCode");
    if (c->crash_exit_code > 255) {
        c->crash_exit_code = 0x1a;
        warn(R, reg_value_get(k, "CrashExitCode"), "exit codes go up to 255; using 26");
    }
    c->shutdown_timeout_ms = read_dword(R, k, "ShutdownTimeout");
    c->session_ipc_namespace = read_dword(R, k, "SessionIpcNamespace") != 0;
    c->session_private_shm = read_dword(R, k, "SessionPrivateShm") != 0;
    c->session_cgroup = read_dword(R, k, "SessionCgroup") != 0;
    return 0;
}

static int read_winlogon(const struct reader *R, const struct reg_key *k, struct smss_config *c)
{
    char *auto_logon = NULL;
    /* NT stores AutoAdminLogon as REG_SZ "1"; a DWORD is accepted too. */
    const struct reg_value *v = k ? reg_value_get(k, "AutoAdminLogon") : NULL;
    uint32_t d;
    if (v && regdata_dword(v->type, v->data, v->len, &d) == 0) {
        c->auto_admin_logon = d != 0;
    } else {
        if (read_string(R, k, "AutoAdminLogon", &auto_logon, NULL) < 0)
            return -1;
        c->auto_admin_logon = strtoul(auto_logon, NULL, 10) != 0;
        free(auto_logon);
    }
    if (read_string(R, k, "DefaultUserName", &c->default_user_name, NULL) < 0 ||
        read_string(R, k, "Shell", &c->shell, NULL) < 0 ||
        read_string(R, k, "Userinit", &c->userinit, NULL) < 0)
        return -1;
    if (c->shell && !c->shell[0]) {
        free(c->shell);
        c->shell = NULL;
    }
    if (c->userinit && !c->userinit[0]) {
        free(c->userinit);
        c->userinit = NULL;
    }
    return 0;
}

/* ---- the typed view ------------------------------------------------------------ */

/* Read a subkey of Session Manager next: messages name it, defaults are looked up there. */
#define AT(R, sub) ((R)->key_label = "Session Manager\\" sub, (R)->key_path = SM_KEY "\\" sub)

static int read_session_manager(struct reader *R, const struct reg_key *sm, struct smss_config *c)
{
    static const char *const subsys_skip[] = {"Required", "Optional", NULL};
    static const char *const knowndll_skip[] = {"DllDirectory", NULL};

    R->key_label = "Session Manager";
    R->key_path = SM_KEY;
    c->protection_mode = read_dword(R, sm, "ProtectionMode");
    c->allow_protected_renames = read_dword(R, sm, "AllowProtectedRenames");
    c->number_of_initial_sessions = read_dword(R, sm, "NumberOfInitialSessions");
    if (read_list(R, sm, "ObjectDirectories", &c->object_directories) < 0 ||
        read_list(R, sm, "BootExecute", &c->boot_execute) < 0 ||
        read_list(R, sm, "SetupExecute", &c->setup_execute) < 0 ||
        read_list(R, sm, "Execute", &c->execute) < 0 ||
        read_list(R, sm, "ExcludeFromKnownDlls", &c->exclude_from_known_dlls) < 0 ||
        read_renames(R, sm, "PendingFileRenameOperations", c) < 0 ||
        read_renames(R, sm, "PendingFileRenameOperations2", c) < 0 ||
        read_string(R, sm, "S0InitialCommand", &c->s0_initial_command,
                    NULL) < 0)
        return -1;
    if (c->number_of_initial_sessions < 1) {
        warn(R, reg_value_get(sm, "NumberOfInitialSessions"),
             "at least session 0 is created; using 1");
        c->number_of_initial_sessions = 1;
    }

    const struct reg_key *k = sm ? reg_key_lookup(sm, "KnownDLLs") : NULL;
    AT(R, "KnownDLLs");
    if (read_string(R, k, "DllDirectory", &c->known_dll_directory, NULL) < 0 ||
        read_named_key(R, k, knowndll_skip, &c->known_dlls) < 0)
        return -1;

    k = sm ? reg_key_lookup(sm, "DOS Devices") : NULL;
    AT(R, "DOS Devices");
    if (read_named_key(R, k, NULL, &c->dos_devices) < 0)
        return -1;

    k = sm ? reg_key_lookup(sm, "Environment") : NULL;
    AT(R, "Environment");
    if (read_named_key(R, k, NULL, &c->environment) < 0)
        return -1;

    k = sm ? reg_key_lookup(sm, "Memory Management") : NULL;
    AT(R, "Memory Management");
    if (read_paging_files(R, k, c) < 0)
        return -1;

    k = sm ? reg_key_lookup(sm, "SubSystems") : NULL;
    AT(R, "SubSystems");
    if (read_list(R, k, "Required", &c->subsystems_required) < 0 ||
        read_list(R, k, "Optional", &c->subsystems_optional) < 0 ||
        read_named_key(R, k, subsys_skip, &c->subsystems) < 0)
        return -1;

    k = sm ? reg_key_lookup(sm, "Linux") : NULL;
    AT(R, "Linux");
    return read_linux(R, k, c);
}

int smss_config_from_store(struct smss_config *c, const struct reg_store *store,
                           struct diags *diags)
{
    memset(c, 0, sizeof *c);
    struct reader R = {store, diags, "Session Manager", SM_KEY};
    struct reg_key *ccs = smss_config_current_control_set(store);
    struct reg_key *sm = ccs ? reg_key_lookup(ccs, "Control\\Session Manager") : NULL;
    if (!sm)
        diag_add(diags, DIAG_WARNING, SM_KEY,
                 "the Session Manager key is absent; every value takes its NT default");
    int r = read_session_manager(&R, sm, c);
    if (r == 0 && ccs) {
        const struct reg_key *opt = reg_key_lookup(ccs, "Control\\SafeBoot\\Option");
        R.key_label = "Control\\SafeBoot\\Option";
        R.key_path = "";
        c->safeboot_option = read_dword_or(&R, opt, "OptionValue", 0);
        c->minint = reg_key_lookup(ccs, "Control\\MiniNT") != NULL;
        R.key_label = "Services";
        r = read_services(&R, reg_key_lookup(ccs, "Services"), c);
    }
    if (r == 0) {
        struct reg_key *root = reg_store_root((struct reg_store *)store);
        R.key_label = "Winlogon";
        R.key_path = SM_WINLOGON_KEY;
        r = read_winlogon(&R, reg_key_lookup(root, SM_WINLOGON_KEY), c);
    }
    if (r < 0) {
        smss_config_free(c);
        errno = ENOMEM;
    }
    return r;
}

void smss_config_free(struct smss_config *c)
{
    strlist_free(&c->object_directories);
    strlist_free(&c->boot_execute);
    strlist_free(&c->setup_execute);
    strlist_free(&c->execute);
    for (size_t i = 0; i < c->nrenames; i++) {
        free(c->renames[i].source);
        free(c->renames[i].destination);
    }
    free(c->renames);
    strlist_free(&c->exclude_from_known_dlls);
    free(c->known_dll_directory);
    named_free(&c->known_dlls);
    for (size_t i = 0; i < c->npaging_files; i++)
        free(c->paging_files[i].path);
    named_free(&c->dos_devices);
    named_free(&c->environment);
    strlist_free(&c->subsystems_required);
    strlist_free(&c->subsystems_optional);
    named_free(&c->subsystems);
    free(c->s0_initial_command);
    free(c->initial_command);
    for (size_t i = 0; i < c->nservices; i++) {
        free(c->services[i].name);
        free(c->services[i].image_path);
        free(c->services[i].user);
    }
    free(c->services);
    free(c->default_user_name);
    free(c->shell);
    free(c->userinit);
    free(c->runtime_dir);
    free(c->state_dir);
    free(c->api_group);
    free(c->pam_service);
    free(c->pam_config_directory);
    free(c->console_terminal);
    strlist_free(&c->protected_paths);
    memset(c, 0, sizeof *c);
}

static bool subsystem_defined(const struct smss_config *c, const char *name)
{
    for (size_t j = 0; j < c->subsystems.n; j++)
        if (!strcasecmp(c->subsystems.v[j].name, name))
            return true;
    return false;
}

/* Problems the typed view can see only as a whole: names that refer to nothing. */
void smss_config_check(const struct smss_config *c, struct diags *diags)
{
    const struct {
        const struct strlist *names;
        const char *where, *consequence;
    } lists[] = {
        {&c->subsystems_required, "Session Manager\\SubSystems\\Required",
         "it will be logged and skipped at boot"},
        {&c->subsystems_optional, "Session Manager\\SubSystems\\Optional",
         "loading it on request will fail"},
    };
    for (size_t l = 0; l < sizeof lists / sizeof *lists; l++)
        for (size_t i = 0; i < lists[l].names->n; i++)
            if (!subsystem_defined(c, lists[l].names->v[i]))
                diag_add(diags, DIAG_WARNING, lists[l].where,
                         "names \"%s\" but there is no SubSystems\\%s value with its "
                         "command; %s",
                         lists[l].names->v[i], lists[l].names->v[i], lists[l].consequence);
    if (c->number_of_initial_sessions > 64)
        diag_add(diags, DIAG_WARNING, "Session Manager\\NumberOfInitialSessions",
                 "%u initial sessions is unusually many; each is a csrss and a winlogon",
                 c->number_of_initial_sessions);
}
