#include "hunt_rules.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const check_names[HUNT_CHECK_COUNT] = {
    "parent",          "path",          "lookalike",         "confusable",
    "bidi",            "user",          "instances",         "persistent-child",
    "session",         "start",         "priority",          "arguments",
    "subsystems",      "boot-execute",  "execute",           "s0-initial-command",
    "known-dlls-removed", "known-dlls-excluded", "pending-rename", "suspicious-path",
    "appcert-dlls",
};

int hunt_check_parse(const char *word)
{
    for (int i = 0; i < HUNT_CHECK_COUNT; i++)
        if (strcmp(word, check_names[i]) == 0)
            return i;
    return -1;
}

const char *hunt_check_name(enum hunt_check c)
{
    return (unsigned)c < HUNT_CHECK_COUNT ? check_names[c] : "?";
}

unsigned hunt_os_parse(const char *words)
{
    static const struct {
        const char *w;
        unsigned bits;
    } map[] = {{"xp", HUNT_OS_XP},          {"vista", HUNT_OS_7}, {"7", HUNT_OS_7},
               {"8", HUNT_OS_7},            {"10", HUNT_OS_10},   {"11", HUNT_OS_10},
               {"linux", HUNT_OS_LINUX},    {"windows", HUNT_OS_WINDOWS},
               {"all", HUNT_OS_ALL}};
    unsigned bits = 0;
    char word[32];
    for (const char *p = words; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = 0;
        while (p[n] && p[n] != ' ' && p[n] != '\t' && p[n] != ',')
            n++;
        if (!n)
            break;
        if (n >= sizeof word)
            return 0;
        memcpy(word, p, n);
        word[n] = '\0';
        unsigned b = 0;
        for (size_t i = 0; i < sizeof map / sizeof *map; i++)
            if (strcasecmp(word, map[i].w) == 0)
                b = map[i].bits;
        if (!b)
            return 0;
        bits |= b;
        p += n;
    }
    return bits;
}

void hunt_ruleset_init(struct hunt_ruleset *rs)
{
    memset(rs, 0, sizeof *rs);
    rs->grace = 30 * HUNT_SECOND;
    rs->boot_window = 120 * HUNT_SECOND;
}

static void baseline_free(struct hunt_baseline *b)
{
    free(b->name);
    strlist_free(&b->images);
    strlist_free(&b->parents);
    strlist_free(&b->users);
}

static void config_free(struct hunt_config_baseline *c)
{
    free(c->name);
    strlist_free(&c->subsystems);
    strlist_free(&c->subsystem_images);
    strlist_free(&c->required);
    strlist_free(&c->optional);
    strlist_free(&c->default_values);
    strlist_free(&c->boot_execute);
    strlist_free(&c->known_dlls);
    strlist_free(&c->s0_initial);
}

static void rule_free(struct hunt_rule *r)
{
    free(r->id);
    free(r->name);
    free(r->title);
    free(r->technique);
    memset(r, 0, sizeof *r);
}

void hunt_ruleset_free(struct hunt_ruleset *rs)
{
    for (int i = 0; i < HUNT_CHECK_COUNT; i++)
        rule_free(&rs->rules[i]);
    for (size_t i = 0; i < rs->nprocs; i++)
        baseline_free(&rs->procs[i]);
    free(rs->procs);
    for (size_t i = 0; i < rs->nconfigs; i++)
        config_free(&rs->configs[i]);
    free(rs->configs);
    strlist_free(&rs->known);
    strlist_free(&rs->suspicious);
    free(rs->system_root);
    memset(rs, 0, sizeof *rs);
}

/* ------------------------------------------------------------------ the parser */

enum stanza { ST_NONE, ST_SETTINGS, ST_RULE, ST_PROCESS, ST_CONFIG, ST_KNOWN, ST_SUSPICIOUS };

struct parser {
    struct hunt_ruleset *rs;
    const char *file;
    unsigned line;
    struct diags *diags;
    enum stanza kind;
    /* The stanza being read. */
    struct hunt_rule rule;
    int rule_check;
    int rule_level;   /* -1 unset */
    int rule_enabled; /* -1 unset */
    struct hunt_baseline proc;
    struct hunt_config_baseline config;
    bool os_set;
};

static void perr(struct parser *p, const char *fmt, const char *a, const char *b)
{
    diag_at(p->diags, DIAG_ERROR, p->file, p->line, 0, fmt, a, b);
}

/* Split words of value into l (lower-casing when asked). */
static int push_words(struct strlist *l, const char *value, bool lower)
{
    for (const char *p = value; *p;) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = 0;
        while (p[n] && p[n] != ' ' && p[n] != '\t')
            n++;
        if (!n)
            break;
        if (strlist_push_n(l, p, n) < 0)
            return -1;
        if (lower)
            for (char *c = l->v[l->n - 1]; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        p += n;
    }
    return 0;
}

static int set_str(char **dst, const char *value)
{
    char *d = strdup(value);
    if (!d)
        return -1;
    free(*dst);
    *dst = d;
    return 0;
}

static bool parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcmp(s, "1"))
        return (*out = true), true;
    if (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcmp(s, "0"))
        return (*out = false), true;
    return false;
}

static int field_settings(struct parser *p, const char *f, const char *v)
{
    long n;
    if (!strcmp(f, "grace") || !strcmp(f, "boot-window")) {
        if (!parse_int(v, 0, 86400 * 365L, &n))
            return perr(p, "%s: expected a number of seconds, not \"%s\"", f, v), 0;
        *(strcmp(f, "grace") ? &p->rs->boot_window : &p->rs->grace) = n * HUNT_SECOND;
        return 0;
    }
    if (!strcmp(f, "system-root"))
        return set_str(&p->rs->system_root, v);
    perr(p, "unknown settings field \"%s\"%s (expected grace, boot-window, system-root)", f, "");
    return 0;
}

static int field_rule(struct parser *p, const char *f, const char *v)
{
    struct hunt_rule *r = &p->rule;
    if (!strcmp(f, "check")) {
        p->rule_check = hunt_check_parse(v);
        if (p->rule_check < 0)
            perr(p, "unknown check \"%s\"%s (docs/HUNTING.md lists them)", v, "");
        return 0;
    }
    if (!strcmp(f, "name"))
        return set_str(&r->name, v);
    if (!strcmp(f, "title") || !strcmp(f, "description"))
        return set_str(&r->title, v);
    if (!strcmp(f, "technique") || !strcmp(f, "tags"))
        return set_str(&r->technique, v);
    if (!strcmp(f, "level")) {
        p->rule_level = hunt_severity_parse(v);
        if (p->rule_level < 0)
            perr(p, "level \"%s\": expected low, medium, high or critical%s", v, "");
        return 0;
    }
    if (!strcmp(f, "enabled")) {
        bool b;
        if (!parse_bool(v, &b))
            return perr(p, "enabled \"%s\": expected yes or no%s", v, ""), 0;
        p->rule_enabled = b;
        return 0;
    }
    perr(p, "unknown rule field \"%s\"%s (expected check, name, level, technique, title, "
            "enabled)", f, "");
    return 0;
}

static bool parse_session(const char *v, int *lo, int *hi)
{
    long n;
    size_t len = strlen(v);
    if (!strcasecmp(v, "any"))
        return (*lo = -1, *hi = -1), true;
    if (len > 1 && v[len - 1] == '+') {
        char tmp[16];
        if (len >= sizeof tmp)
            return false;
        memcpy(tmp, v, len - 1);
        tmp[len - 1] = '\0';
        if (!parse_int(tmp, 0, INT_MAX, &n))
            return false;
        return (*lo = (int)n, *hi = -1), true;
    }
    if (!parse_int(v, 0, INT_MAX, &n))
        return false;
    return (*lo = (int)n, *hi = (int)n), true;
}

static int field_process(struct parser *p, const char *f, const char *v)
{
    struct hunt_baseline *b = &p->proc;
    long n;
    if (!strcmp(f, "os")) {
        b->os = hunt_os_parse(v);
        p->os_set = true;
        if (!b->os)
            perr(p, "os \"%s\": expected xp, 7, 10, linux, windows or all%s", v, "");
        return 0;
    }
    if (!strcmp(f, "image"))
        return push_words(&b->images, v, false);
    if (!strcmp(f, "parent"))
        return push_words(&b->parents, v, false);
    if (!strcmp(f, "user")) {
        /* Accounts may hold blanks ("LOCAL SERVICE"): one per line or comma-separated. */
        for (const char *s = v; *s;) {
            size_t k = strcspn(s, ",");
            while (k && s[k - 1] == ' ')
                k--;
            if (k && strlist_push_n(&b->users, s, k) < 0)
                return -1;
            s += strcspn(s, ",");
            while (*s == ',' || *s == ' ')
                s++;
        }
        return 0;
    }
    if (!strcmp(f, "instances")) {
        if (!strcasecmp(v, "any"))
            b->max_instances = -1;
        else if (parse_int(v, 0, INT_MAX, &n))
            b->max_instances = (int)n;
        else
            perr(p, "instances \"%s\": expected a number or any%s", v, "");
        return 0;
    }
    if (!strcmp(f, "arguments")) {
        struct strlist w = STRLIST_INIT;
        if (push_words(&w, v, true) < 0)
            return -1;
        b->args_none = b->args_session_child = b->args_any = false;
        for (size_t i = 0; i < w.n; i++) {
            if (!strcmp(w.v[i], "none"))
                b->args_none = true;
            else if (!strcmp(w.v[i], "session-child"))
                b->args_session_child = true;
            else if (!strcmp(w.v[i], "any"))
                b->args_any = true;
            else
                perr(p, "arguments \"%s\": expected none, session-child or any%s", w.v[i], "");
        }
        strlist_free(&w);
        return 0;
    }
    if (!strcmp(f, "session")) {
        if (!parse_session(v, &b->session_min, &b->session_max))
            perr(p, "session \"%s\": expected N, N+ or any%s", v, "");
        return 0;
    }
    if (!strcmp(f, "boot-window")) {
        if (!parse_bool(v, &b->boot_window))
            perr(p, "boot-window \"%s\": expected yes or no%s", v, "");
        return 0;
    }
    if (!strcmp(f, "priority")) {
        if (!parse_int(v, -20, 31, &n))
            return perr(p, "priority \"%s\": expected a number from -20 to 31%s", v, ""), 0;
        b->has_priority = true;
        b->priority = (int)n;
        return 0;
    }
    perr(p, "unknown process field \"%s\"%s (expected os, image, parent, instances, "
            "arguments, user, session, boot-window, priority)", f, "");
    return 0;
}

static int field_config(struct parser *p, const char *f, const char *v)
{
    struct hunt_config_baseline *c = &p->config;
    if (!strcmp(f, "os")) {
        c->os = hunt_os_parse(v);
        p->os_set = true;
        if (!c->os)
            perr(p, "os \"%s\": expected xp, 7, 10, linux, windows or all%s", v, "");
        return 0;
    }
    if (!strcmp(f, "subsystems"))
        return push_words(&c->subsystems, v, true);
    if (!strcmp(f, "subsystem-image"))
        return strlist_push(&c->subsystem_images, v);
    if (!strcmp(f, "required"))
        return push_words(&c->required, v, true);
    if (!strcmp(f, "optional"))
        return push_words(&c->optional, v, true);
    if (!strcmp(f, "default-value"))
        return strlist_push(&c->default_values, v);
    if (!strcmp(f, "boot-execute"))
        return strlist_push(&c->boot_execute, v);
    if (!strcmp(f, "known-dlls"))
        return push_words(&c->known_dlls, v, true);
    if (!strcmp(f, "s0-initial-command"))
        return push_words(&c->s0_initial, v, true);
    perr(p, "unknown config field \"%s\"%s (expected os, subsystems, subsystem-image, "
            "required, optional, default-value, boot-execute, known-dlls, "
            "s0-initial-command)", f, "");
    return 0;
}

static int field(struct parser *p, const char *f, const char *v)
{
    switch (p->kind) {
    case ST_SETTINGS: return field_settings(p, f, v);
    case ST_RULE: return field_rule(p, f, v);
    case ST_PROCESS: return field_process(p, f, v);
    case ST_CONFIG: return field_config(p, f, v);
    case ST_KNOWN:
        if (!strcmp(f, "names"))
            return push_words(&p->rs->known, v, false);
        break;
    case ST_SUSPICIOUS:
        if (!strcmp(f, "paths"))
            return push_words(&p->rs->suspicious, v, true);
        break;
    case ST_NONE:
        perr(p, "field \"%s\" outside a stanza%s (indented lines belong to the stanza "
                "line above them)", f, "");
        return 0;
    }
    perr(p, "unknown field \"%s\"%s (known takes names, suspicious takes paths)", f, "");
    return 0;
}

/* Store the finished stanza. */
static int end_stanza(struct parser *p)
{
    struct hunt_ruleset *rs = p->rs;
    int rc = 0;
    if (p->kind == ST_RULE) {
        struct hunt_rule *r = &p->rule;
        int c = p->rule_check;
        /* A rule stanza naming an ID already bound merges into it. */
        for (int i = 0; c < 0 && i < HUNT_CHECK_COUNT; i++)
            if (rs->rules[i].id && !strcmp(rs->rules[i].id, r->id))
                c = i;
        if (c < 0) {
            perr(p, "rule %s has no check%s (add \"check NAME\")", r->id, "");
        } else {
            struct hunt_rule *dst = &rs->rules[c];
            bool fresh = !dst->id || strcmp(dst->id, r->id) != 0;
            if (fresh) {
                rule_free(dst);
                dst->enabled = true;
                dst->level = HUNT_SEV_MEDIUM;
                dst->id = r->id, r->id = NULL;
            }
            if (r->name)
                free(dst->name), dst->name = r->name, r->name = NULL;
            if (r->title)
                free(dst->title), dst->title = r->title, r->title = NULL;
            if (r->technique)
                free(dst->technique), dst->technique = r->technique, r->technique = NULL;
            if (p->rule_level >= 0)
                dst->level = (enum hunt_severity)p->rule_level;
            if (p->rule_enabled >= 0)
                dst->enabled = p->rule_enabled;
            if (!dst->name && !(dst->name = strdup(hunt_check_name(c))))
                rc = -1;
        }
        rule_free(r);
    } else if (p->kind == ST_PROCESS) {
        if (!p->os_set)
            p->proc.os = strstr(p->proc.name, ".exe") || strstr(p->proc.name, ".EXE")
                             ? HUNT_OS_WINDOWS : HUNT_OS_ALL;
        size_t i;
        for (i = 0; i < rs->nprocs; i++)
            if (!strcasecmp(rs->procs[i].name, p->proc.name) && rs->procs[i].os == p->proc.os)
                break;
        if (i == rs->nprocs) {
            struct hunt_baseline *v = realloc(rs->procs, (rs->nprocs + 1) * sizeof *v);
            if (!v)
                return baseline_free(&p->proc), -1;
            rs->procs = v;
            rs->nprocs++;
        } else {
            baseline_free(&rs->procs[i]);
        }
        rs->procs[i] = p->proc;
    } else if (p->kind == ST_CONFIG) {
        if (!p->os_set)
            p->config.os = HUNT_OS_ALL;
        size_t i;
        for (i = 0; i < rs->nconfigs; i++)
            if (!strcasecmp(rs->configs[i].name, p->config.name))
                break;
        if (i == rs->nconfigs) {
            struct hunt_config_baseline *v =
                realloc(rs->configs, (rs->nconfigs + 1) * sizeof *v);
            if (!v)
                return config_free(&p->config), -1;
            rs->configs = v;
            rs->nconfigs++;
        } else {
            config_free(&rs->configs[i]);
        }
        rs->configs[i] = p->config;
    }
    memset(&p->proc, 0, sizeof p->proc);
    memset(&p->config, 0, sizeof p->config);
    p->kind = ST_NONE;
    return rc;
}

static int begin_stanza(struct parser *p, const char *kind, const char *name)
{
    p->os_set = false;
    if (!strcmp(kind, "settings") || !strcmp(kind, "known") || !strcmp(kind, "suspicious")) {
        p->kind = !strcmp(kind, "settings") ? ST_SETTINGS
                  : !strcmp(kind, "known")  ? ST_KNOWN : ST_SUSPICIOUS;
        return 0;
    }
    if (!*name) {
        perr(p, "\"%s\" needs a name on the same line%s", kind, "");
        return 0;
    }
    if (!strcmp(kind, "rule")) {
        p->kind = ST_RULE;
        memset(&p->rule, 0, sizeof p->rule);
        p->rule_check = -1;
        p->rule_level = p->rule_enabled = -1;
        return (p->rule.id = strdup(name)) ? 0 : -1;
    }
    if (!strcmp(kind, "process")) {
        p->kind = ST_PROCESS;
        p->proc = (struct hunt_baseline){.max_instances = -1, .args_any = true,
                                         .session_min = -1, .session_max = -1,
                                         .line = p->line};
        return (p->proc.name = strdup(name)) ? 0 : -1;
    }
    if (!strcmp(kind, "config")) {
        p->kind = ST_CONFIG;
        memset(&p->config, 0, sizeof p->config);
        return (p->config.name = strdup(name)) ? 0 : -1;
    }
    perr(p, "unknown stanza \"%s\"%s (expected settings, rule, process, config, known, "
            "suspicious)", kind, "");
    return 0;
}

/* Trim a line in place: comment (a '#' at the start or after a blank), trailing blanks. */
static char *trim(char *s)
{
    for (char *h = s; *h; h++)
        if (*h == '#' && (h == s || h[-1] == ' ' || h[-1] == '\t')) {
            *h = '\0';
            break;
        }
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Split "word rest" into two parts (rest with leading blanks skipped). */
static void split(char *s, char **word, char **rest)
{
    while (*s == ' ' || *s == '\t')
        s++;
    *word = s;
    while (*s && *s != ' ' && *s != '\t')
        s++;
    if (*s)
        *s++ = '\0';
    while (*s == ' ' || *s == '\t')
        s++;
    *rest = s;
}

static int parse_line(struct parser *p, char *line)
{
    bool indented = line[0] == ' ' || line[0] == '\t';
    trim(line);
    char *word, *rest;
    split(line, &word, &rest);
    if (!*word)
        return 0;
    if (!indented) {
        if (end_stanza(p) < 0)
            return -1;
        return begin_stanza(p, word, rest);
    }
    if (!*rest) {
        perr(p, "field \"%s\" has no value%s", word, "");
        return 0;
    }
    return field(p, word, rest);
}

int hunt_ruleset_load_buffer(struct hunt_ruleset *rs, const char *name, const char *text,
                             size_t len, struct diags *diags)
{
    struct parser p = {.rs = rs, .file = name, .diags = diags, .kind = ST_NONE};
    size_t errors = diags->errors;
    int rc = 0;
    for (size_t pos = 0; pos < len && rc == 0;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char *line = strndup(text + pos, n);
        p.line++;
        if (!line)
            rc = -1;
        else if (memchr(text + pos, '\0', n))
            perr(&p, "NUL byte in the line%s%s: a rules file is text", "", "");
        else
            rc = parse_line(&p, line);
        free(line);
        pos += n + 1;
    }
    if (rc == 0)
        rc = end_stanza(&p);
    else
        end_stanza(&p);
    rule_free(&p.rule);
    if (rc < 0)
        diag_add(diags, DIAG_ERROR, name, "out of memory reading the rules");
    return rc < 0 || diags->errors > errors ? -1 : 0;
}

int hunt_ruleset_load_file(struct hunt_ruleset *rs, const char *path, struct diags *diags)
{
    struct buf b = BUF_INIT;
    if (read_file(path, &b) < 0) {
        diag_add(diags, DIAG_ERROR, path, "cannot read the rules file: %s (check the path "
                 "given to --rules)", strerror(errno));
        buf_free(&b);
        return -1;
    }
    int rc = hunt_ruleset_load_buffer(rs, path, b.p ? b.p : "", b.len, diags);
    buf_free(&b);
    return rc;
}

int hunt_ruleset_load_default(struct hunt_ruleset *rs, struct diags *diags)
{
    size_t len;
    const char *text = hunt_default_rules(&len);
    return hunt_ruleset_load_buffer(rs, "rules/baseline.rules (built in)", text, len, diags);
}

const struct hunt_rule *hunt_ruleset_rule(const struct hunt_ruleset *rs, enum hunt_check c)
{
    const struct hunt_rule *r = &rs->rules[c];
    return r->id && r->enabled ? r : NULL;
}

size_t hunt_ruleset_find(const struct hunt_ruleset *rs, const char *name, unsigned os,
                         const struct hunt_baseline **out, size_t max)
{
    size_t n = 0;
    if (!name)
        return 0;
    for (size_t i = 0; i < rs->nprocs && n < max; i++) {
        const struct hunt_baseline *b = &rs->procs[i];
        /* Equal without case means equal first bytes once 0x20 is set: most names
         * differ there, before any call. */
        if (!(b->os & os) || (b->name[0] | 0x20) != (name[0] | 0x20))
            continue;
        bool linux_only = b->os == HUNT_OS_LINUX;
        if (linux_only ? strcmp(b->name, name) == 0 : strcasecmp(b->name, name) == 0)
            out[n++] = b;
    }
    return n;
}

const struct hunt_config_baseline *hunt_ruleset_config(const struct hunt_ruleset *rs,
                                                       unsigned os)
{
    const struct hunt_config_baseline *c = NULL;
    for (size_t i = 0; i < rs->nconfigs; i++)
        if (rs->configs[i].os & os)
            c = &rs->configs[i];
    return c;
}
