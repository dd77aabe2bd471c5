#include "sysenv.h"
#include "buf.h"
#include "utf16.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <unistd.h>

/* ---- the variable table ---- */

/* Length of the name part of "NAME=value". */
static size_t name_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq ? (size_t)(eq - entry) : strlen(entry);
}

static long find_var(const struct sysenv *e, const char *name, size_t len)
{
    for (size_t i = 0; i < e->n; i++)
        if (name_len(e->v[i]) == len && strncasecmp(e->v[i], name, len) == 0)
            return (long)i;
    return -1;
}

const char *sysenv_get(const struct sysenv *e, const char *name)
{
    long i = find_var(e, name, strlen(name));
    return i < 0 ? NULL : e->v[i] + strlen(name) + 1;
}

static int push_entry(struct sysenv *e, char *entry)
{
    if (e->n + 2 > e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 32;
        char **v = realloc(e->v, cap * sizeof *v);
        if (!v) {
            free(entry);
            return -1;
        }
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n++] = entry;
    e->v[e->n] = NULL;
    return 0;
}

int sysenv_set(struct sysenv *e, const char *name, const char *value)
{
    size_t len = strlen(name);
    if (len == 0 || strchr(name, '=')) {
        errno = EINVAL;
        return -1;
    }
    long i = find_var(e, name, len);
    /* NT's Path is the Linux PATH: every program looks it up with that spelling. */
    const char *spelt = strcasecmp(name, "PATH") == 0 ? "PATH" : name;
    char *entry;
    if (i >= 0) {
        /* Keep the spelling of the first setting (NT keeps the existing name). */
        if (asprintf(&entry, "%.*s=%s", (int)len, e->v[i], value) < 0)
            return -1;
        free(e->v[i]);
        e->v[i] = entry;
        return 0;
    }
    if (asprintf(&entry, "%s=%s", spelt, value) < 0)
        return -1;
    return push_entry(e, entry);
}

int sysenv_prepend_path(struct sysenv *e, const char *name, const char *dir)
{
    const char *old = sysenv_get(e, name);
    if (!old || !*old)
        return sysenv_set(e, name, dir);
    /* Already first: nothing to do (a second build must not stack copies). */
    size_t n = strlen(dir);
    if (strncmp(old, dir, n) == 0 && (old[n] == ':' || old[n] == '\0'))
        return 0;
    char *v;
    if (asprintf(&v, "%s:%s", dir, old) < 0)
        return -1;
    int rc = sysenv_set(e, name, v);
    free(v);
    return rc;
}

char *sysenv_expand(const struct sysenv *e, const char *s)
{
    struct buf b = BUF_INIT;
    const char *p = s;
    int rc = buf_puts(&b, "");
    while (rc == 0 && *p) {
        const char *open = strchr(p, '%');
        const char *close = open ? strchr(open + 1, '%') : NULL;
        if (!close) { /* no complete reference left: the rest as it is */
            rc = buf_puts(&b, p);
            break;
        }
        rc = buf_append(&b, p, (size_t)(open - p));
        size_t len = (size_t)(close - open - 1);
        long i = len ? find_var(e, open + 1, len) : -1;
        if (rc == 0 && i >= 0) {
            rc = buf_puts(&b, e->v[i] + len + 1);
            p = close + 1;
        } else if (rc == 0) {
            /* Undefined: "%NAME%" copied whole, and the scan goes on after it, as NT does
             * ("%UNDEF%Path%" stays as it is: the last '%' opens nothing). */
            rc = buf_append(&b, open, len + 2);
            p = close + 1;
        }
    }
    if (rc < 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

/* ---- static variables ---- */

int sysenv_load_static(struct sysenv *e, const struct smss_config *c, const char *system_root)
{
    if (system_root && sysenv_set(e, "SystemRoot", system_root) < 0)
        return -1;
    for (size_t i = 0; i < c->environment.n; i++) {
        const struct sm_named *v = &c->environment.v[i];
        if (!v->name || !*v->name || strchr(v->name, '='))
            continue; /* no Linux spelling for it; config.c warns about such names */
        char *value = v->expand ? sysenv_expand(e, v->value ? v->value : "")
                                : strdup(v->value ? v->value : "");
        if (!value)
            return -1;
        int rc = sysenv_set(e, v->name, value);
        free(value);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- the machine ---- */

/* The value of "key : value" in the first processor block of cpuinfo, or NULL. */
static const char *cpuinfo_field(const char *text, const char *key, char *out, size_t size)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len == 0 && line != text)
            break; /* end of the first block */
        if (len > klen && strncmp(line, key, klen) == 0 &&
            (line[klen] == ' ' || line[klen] == '\t' || line[klen] == ':')) {
            const char *colon = memchr(line, ':', len);
            if (colon) {
                const char *v = colon + 1;
                while (*v == ' ' || *v == '\t')
                    v++;
                size_t vlen = (size_t)(line + len - v);
                if (vlen >= size)
                    vlen = size - 1;
                memcpy(out, v, vlen);
                out[vlen] = '\0';
                return out;
            }
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

static unsigned long field_number(const char *text, const char *key, unsigned long dflt)
{
    char v[64];
    if (!cpuinfo_field(text, key, v, sizeof v))
        return dflt;
    char *end;
    unsigned long n = strtoul(v, &end, 0);
    return end == v ? dflt : n;
}

/* NT's names for the architectures; anything else keeps its uname spelling. */
static const char *nt_architecture(const char *machine)
{
    static const struct { const char *uname, *nt; } map[] = {
        {"x86_64", "AMD64"}, {"i386", "x86"},  {"i486", "x86"},   {"i586", "x86"},
        {"i686", "x86"},     {"aarch64", "ARM64"}, {"arm64", "ARM64"}, {"ia64", "IA64"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(machine, map[i].uname) == 0)
            return map[i].nt;
    if (strncmp(machine, "arm", 3) == 0)
        return "ARM";
    return machine;
}

static void x86_identity(struct sysenv_machine *m, const char *cpuinfo, bool is64)
{
    char vendor[64] = "Unknown";
    cpuinfo_field(cpuinfo, "vendor_id", vendor, sizeof vendor);
    unsigned long family = field_number(cpuinfo, "cpu family", 0);
    unsigned long model = field_number(cpuinfo, "model", 0);
    unsigned long stepping = field_number(cpuinfo, "stepping", 0);
    const char *prefix = !is64 ? "x86" : strcmp(vendor, "GenuineIntel") == 0 ? "Intel64" : "AMD64";
    m->level = (unsigned)family;
    snprintf(m->identifier, sizeof m->identifier, "%s Family %lu Model %lu Stepping %lu, %s",
             prefix, family, model, stepping, vendor);
    /* NT: the model in the high byte, the stepping in the low one, as 4 hex digits. */
    snprintf(m->revision, sizeof m->revision, "%02lx%02lx", model & 0xff, stepping & 0xff);
}

static void arm_identity(struct sysenv_machine *m, const char *cpuinfo, bool is64)
{
    unsigned long arch = field_number(cpuinfo, "CPU architecture", is64 ? 8 : 7);
    unsigned long part = field_number(cpuinfo, "CPU part", 0);
    unsigned long variant = field_number(cpuinfo, "CPU variant", 0);
    unsigned long rev = field_number(cpuinfo, "CPU revision", 0);
    static const struct { unsigned long id; const char *name; } vendors[] = {
        {0x41, "ARM Limited"}, {0x42, "Broadcom"},   {0x43, "Cavium"},
        {0x48, "HiSilicon"},   {0x4e, "NVIDIA"},     {0x51, "Qualcomm Technologies Inc"},
        {0x61, "Apple"},       {0xc0, "Ampere Computing"},
    };
    char implementer[40];
    unsigned long id = field_number(cpuinfo, "CPU implementer", 0);
    snprintf(implementer, sizeof implementer, "Implementer 0x%02lx", id);
    for (size_t i = 0; i < sizeof vendors / sizeof vendors[0]; i++)
        if (vendors[i].id == id)
            snprintf(implementer, sizeof implementer, "%s", vendors[i].name);
    m->level = (unsigned)arch;
    snprintf(m->identifier, sizeof m->identifier, "ARMv%lu (%s) Family %lu Model %lX Revision %lX, %s",
             arch, is64 ? "64-bit" : "32-bit", arch, part, rev, implementer);
    snprintf(m->revision, sizeof m->revision, "%02lx%02lx", variant & 0xff, rev & 0xff);
}

void sysenv_machine_from_cpuinfo(struct sysenv_machine *m, const char *uname_machine,
                                 const char *cpuinfo, unsigned ncpus)
{
    memset(m, 0, sizeof *m);
    snprintf(m->architecture, sizeof m->architecture, "%s", nt_architecture(uname_machine));
    m->ncpus = ncpus;
    bool x86 = strcmp(m->architecture, "AMD64") == 0 || strcmp(m->architecture, "x86") == 0;
    bool arm = strncmp(m->architecture, "ARM", 3) == 0;
    if (x86)
        x86_identity(m, cpuinfo, strcmp(m->architecture, "AMD64") == 0);
    else if (arm)
        arm_identity(m, cpuinfo, strcmp(m->architecture, "ARM64") == 0);
    else {
        snprintf(m->identifier, sizeof m->identifier, "%s", uname_machine);
        snprintf(m->revision, sizeof m->revision, "0000");
    }
}

/* The CPUs smss may run on: what nproc prints; the online count if affinity fails. */
static unsigned count_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

int sysenv_machine_probe(struct sysenv_machine *m)
{
    struct utsname u;
    if (uname(&u) < 0)
        return -1;
    struct buf info = BUF_INIT;
    if (read_file("/proc/cpuinfo", &info) < 0) {
        int e = errno;
        buf_free(&info);
        errno = e;
        return -1;
    }
    sysenv_machine_from_cpuinfo(m, u.machine, info.p ? info.p : "", count_cpus());
    buf_free(&info);
    return 0;
}

/* ---- dynamic variables and essentials ---- */

static const char *safeboot_name(uint32_t option)
{
    switch (option) {
    case 1: return "MINIMAL";
    case 2: return "NETWORK";
    case 3: return "DSREPAIR";
    default: return NULL;
    }
}

static int set_default(struct sysenv *e, const char *name, const char *value)
{
    return sysenv_get(e, name) ? 0 : sysenv_set(e, name, value);
}

int sysenv_add_dynamic(struct sysenv *e, const struct sysenv_machine *m,
                       const struct smss_config *c)
{
    char level[16], ncpus[16];
    snprintf(level, sizeof level, "%u", m->level);
    snprintf(ncpus, sizeof ncpus, "%u", m->ncpus);
    const char *safe = safeboot_name(c->safeboot_option);
    if (sysenv_set(e, "OS", "Windows_NT") < 0 ||
        sysenv_set(e, "PROCESSOR_ARCHITECTURE", m->architecture) < 0 ||
        sysenv_set(e, "PROCESSOR_LEVEL", level) < 0 ||
        sysenv_set(e, "PROCESSOR_IDENTIFIER", m->identifier) < 0 ||
        sysenv_set(e, "PROCESSOR_REVISION", m->revision) < 0 ||
        sysenv_set(e, "NUMBER_OF_PROCESSORS", ncpus) < 0 ||
        (safe && sysenv_set(e, "SAFEBOOT_OPTION", safe) < 0))
        return -1;
    /* What a login shell and its programs expect to find. */
    if (set_default(e, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") < 0 ||
        set_default(e, "LANG", "C.UTF-8") < 0 || set_default(e, "TERM", "linux") < 0 ||
        set_default(e, "HOME", "/") < 0)
        return -1;
    return 0;
}

int sysenv_build(struct sysenv *e, const struct smss_config *c, const char *system_root,
                 const char *knowndlls_dir)
{
    struct sysenv_machine m;
    if (sysenv_load_static(e, c, system_root) < 0 || sysenv_machine_probe(&m) < 0 ||
        sysenv_add_dynamic(e, &m, c) < 0)
        return -1;
    if (knowndlls_dir && sysenv_prepend_path(e, "LD_LIBRARY_PATH", knowndlls_dir) < 0)
        return -1;
    return 0;
}

json_t *prep_json_string(const char *s)
{
    if (!s)
        return json_null();
    size_t len = strlen(s);
    if (utf8_valid(s, len))
        return json_stringn(s, len);
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence_length(s + i, len - i);
        int rc = n ? buf_append(&b, s + i, n) : buf_puts(&b, "\xEF\xBF\xBD");
        if (rc < 0) {
            buf_free(&b);
            return NULL;
        }
        i += n ? n : 1;
    }
    json_t *j = json_stringn(b.p ? b.p : "", b.len);
    buf_free(&b);
    return j;
}

json_t *sysenv_to_json(const struct sysenv *e)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < e->n; i++) {
        size_t len = name_len(e->v[i]);
        const char *value = e->v[i][len] ? e->v[i] + len + 1 : "";
        if (json_object_setn_new(o, e->v[i], len, prep_json_string(value)) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

void sysenv_free(struct sysenv *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    *e = (struct sysenv)SYSENV_INIT;
}
