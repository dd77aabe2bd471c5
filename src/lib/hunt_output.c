#include "hunt_output.h"
#include "buf.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define RED "\033[1;31m"
#define MAGENTA "\033[1;35m"
#define YELLOW "\033[33m"
#define CYAN "\033[36m"
#define DIM "\033[2m"
#define RESET "\033[0m"

static const char *sev_color(enum hunt_severity s)
{
    switch (s) {
    case HUNT_SEV_CRITICAL: return MAGENTA;
    case HUNT_SEV_HIGH: return RED;
    case HUNT_SEV_MEDIUM: return YELLOW;
    default: return CYAN;
    }
}

const char hunt_csv_header[] =
    "datetime,timestamp_desc,severity,rule_id,rule_name,technique,pid,ppid,process_name,"
    "executable,command_line,user,session,registry_path,registry_value,registry_data,message,"
    "evidence";

void hunt_output_init(struct hunt_output *o, enum hunt_out_format format, FILE *f, bool color)
{
    memset(o, 0, sizeof *o);
    o->format = format;
    o->f = f;
    o->color = color;
}

size_t hunt_output_total(const struct hunt_output *o)
{
    return o->count[0] + o->count[1] + o->count[2] + o->count[3];
}

/* ------------------------------------------------------------------ JSON lines */

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

static json_t *finding_json(const struct hunt_finding *f)
{
    json_t *j = json_object();
    char ts[40];
    if (f->time != HUNT_TIME_UNKNOWN) {
        hunt_time_format(f->time, ts, sizeof ts);
        set_str(j, "@timestamp", ts);
        set_str(j, "datetime", ts);
        set_str(j, "timestamp_desc", "Process start");
    }
    set_str(j, "message", f->message);
    json_t *rule = json_object(), *ev = json_object(), *threat = json_object(),
           *tech = json_object();
    set_str(rule, "id", f->rule_id);
    set_str(rule, "name", f->rule_name);
    json_object_set_new(j, "rule", rule);
    set_str(ev, "severity", hunt_severity_name(f->severity));
    set_str(ev, "kind", "alert");
    set_str(ev, "module", "smss-hunt");
    json_object_set_new(j, "event", ev);
    set_str(tech, "id", f->technique);
    json_object_set_new(threat, "technique", tech);
    set_str(threat, "framework", "MITRE ATT&CK");
    json_object_set_new(j, "threat", threat);
    if (f->is_process) {
        json_t *p = json_object(), *parent = json_object();
        json_object_set_new(p, "pid", json_integer(f->pid));
        set_str(p, "name", f->proc_name);
        set_str(p, "executable", f->proc_image);
        set_str(p, "command_line", f->proc_cmdline);
        if (f->ppid >= 0)
            json_object_set_new(parent, "pid", json_integer(f->ppid));
        json_object_set_new(p, "parent", parent);
        if (f->session >= 0)
            json_object_set_new(p, "session_id", json_integer(f->session));
        if (f->creator_pid >= 0)
            json_object_set_new(p, "creator_pid", json_integer(f->creator_pid));
        json_object_set_new(j, "process", p);
        if (f->proc_user) {
            json_t *u = json_object();
            set_str(u, "name", f->proc_user);
            json_object_set_new(j, "user", u);
        }
    } else {
        json_t *r = json_object();
        set_str(r, "path", f->registry_path);
        set_str(r, "value", f->registry_value);
        if (f->registry_data) {
            json_t *data = json_object();
            set_str(data, "strings", f->registry_data);
            json_object_set_new(r, "data", data);
        }
        json_object_set_new(j, "registry", r);
    }
    set_str(j, "evidence", f->evidence);
    return j;
}

static void write_jsonl(struct hunt_output *o, const struct hunt_finding *f)
{
    json_t *j = finding_json(f);
    if (!j || json_dumpf(j, o->f, JSON_COMPACT) < 0 ||
        fputc('\n', o->f) == EOF)
        o->failed = true;
    json_decref(j);
}

/* ------------------------------------------------------------------ CSV */

static void csv_field(struct buf *b, const char *s, bool last)
{
    s = s ? s : "";
    if (strpbrk(s, ",\"\r\n")) {
        buf_putc(b, '"');
        for (; *s; s++) {
            if (*s == '"')
                buf_putc(b, '"');
            buf_putc(b, *s);
        }
        buf_putc(b, '"');
    } else {
        buf_puts(b, s);
    }
    buf_putc(b, last ? '\n' : ',');
}

static void write_csv(struct hunt_output *o, const struct hunt_finding *f)
{
    if (!o->csv_header) {
        fprintf(o->f, "%s\n", hunt_csv_header);
        o->csv_header = true;
    }
    char ts[40] = "", pid[24] = "", ppid[24] = "", sess[24] = "";
    if (f->time != HUNT_TIME_UNKNOWN)
        hunt_time_format(f->time, ts, sizeof ts);
    if (f->is_process) {
        snprintf(pid, sizeof pid, "%lld", (long long)f->pid);
        if (f->ppid >= 0)
            snprintf(ppid, sizeof ppid, "%lld", (long long)f->ppid);
        if (f->session >= 0)
            snprintf(sess, sizeof sess, "%d", f->session);
    }
    struct buf b = BUF_INIT;
    const char *cols[] = {ts, ts[0] ? "Process start" : "", hunt_severity_name(f->severity),
                          f->rule_id, f->rule_name, f->technique, pid, ppid, f->proc_name,
                          f->proc_image, f->proc_cmdline, f->proc_user, sess,
                          f->registry_path, f->registry_value, f->registry_data, f->message,
                          f->evidence};
    size_t n = sizeof cols / sizeof *cols;
    for (size_t i = 0; i < n; i++)
        csv_field(&b, cols[i], i == n - 1);
    if (!b.p || fwrite(b.p, 1, b.len, o->f) != b.len)
        o->failed = true;
    buf_free(&b);
}

/* ------------------------------------------------------------------ table */

void hunt_output_finding(struct hunt_output *o, struct hunt_finding *f)
{
    o->count[f->severity]++;
    if (o->format == HUNT_OUT_JSONL) {
        write_jsonl(o, f);
    } else if (o->format == HUNT_OUT_CSV) {
        write_csv(o, f);
    } else {
        if (o->n == o->cap) {
            size_t cap = o->cap ? o->cap * 2 : 32;
            struct hunt_finding **v = realloc(o->v, cap * sizeof *v);
            if (!v) {
                o->failed = true;
                hunt_finding_free(f);
                return;
            }
            o->v = v;
            o->cap = cap;
        }
        o->v[o->n++] = f;
        return;
    }
    hunt_finding_free(f);
}

static void table_row(struct hunt_output *o, const struct hunt_finding *f)
{
    const char *c = o->color ? sev_color(f->severity) : "", *r = o->color ? RESET : "",
               *dim = o->color ? DIM : "";
    fprintf(o->f, "  %s%-9s%s %s%-34s%s %s\n", c, f->rule_id, r, c, f->rule_name, r,
            f->technique ? f->technique : "");
    fprintf(o->f, "      %s\n", f->message);
    if (f->is_process) {
        char ts[40], ppid[24] = "?", sess[24] = "?";
        if (f->ppid >= 0)
            snprintf(ppid, sizeof ppid, "%lld", (long long)f->ppid);
        if (f->session >= 0)
            snprintf(sess, sizeof sess, "%d", f->session);
        fprintf(o->f, "      %sprocess: PID %lld, parent %s, %s, session %s, user %s, "
                      "started %s%s\n", dim, (long long)f->pid, ppid,
                f->proc_image ? f->proc_image : f->proc_name ? f->proc_name : "?", sess,
                f->proc_user ? f->proc_user : "?", hunt_time_format(f->time, ts, sizeof ts), r);
    } else {
        fprintf(o->f, "      %sregistry: %s\\%s%s\n", dim, f->registry_path ? f->registry_path : "",
                f->registry_value ? f->registry_value : "", r);
    }
    if (f->evidence && *f->evidence)
        fprintf(o->f, "      %sevidence: %s%s\n", dim, f->evidence, r);
}

int hunt_output_finish(struct hunt_output *o)
{
    if (o->format == HUNT_OUT_TABLE) {
        if (o->n == 0)
            fprintf(o->f, "No findings: everything matches the baseline.\n");
        for (int s = HUNT_SEV_CRITICAL; s >= HUNT_SEV_LOW; s--) {
            if (!o->count[s])
                continue;
            const char *name = hunt_severity_name((enum hunt_severity)s);
            fprintf(o->f, "%s", o->color ? sev_color((enum hunt_severity)s) : "");
            for (const char *c = name; *c; c++)
                fputc(*c - 'a' + 'A', o->f);
            fprintf(o->f, " (%zu)%s\n", o->count[s], o->color ? RESET : "");
            for (size_t i = 0; i < o->n; i++)
                if ((int)o->v[i]->severity == s)
                    table_row(o, o->v[i]);
        }
    }
    if (fflush(o->f) != 0 || ferror(o->f))
        o->failed = true;
    return o->failed ? -1 : 0;
}

void hunt_output_free(struct hunt_output *o)
{
    for (size_t i = 0; i < o->n; i++)
        hunt_finding_free(o->v[i]);
    free(o->v);
    o->v = NULL;
    o->n = o->cap = 0;
}

/* ------------------------------------------------------------------ tree */

/* Text with line breaks and other control characters shown as blanks. */
static void put_flat(FILE *f, const char *s, size_t max)
{
    size_t n = 0;
    for (; *s && n < max; s++, n++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, f);
    if (*s)
        fputs("…", f);
}

static void tree_node(FILE *f, const struct hunt_proc *p, const struct hunt_ruleset *rs,
                      bool color, struct buf *prefix, bool last, unsigned depth)
{
    char ts[40];
    fprintf(f, "%s%s", prefix->p ? prefix->p : "", depth ? (last ? "└─ " : "├─ ") : "");
    fprintf(f, "%s %lld", p->name ? p->name : "?", (long long)p->pid);
    if (p->cmdline) {
        fputs("  \"", f);
        put_flat(f, p->cmdline, 60);
        fputc('"', f);
    }
    if (p->session >= 0)
        fprintf(f, "  session %d", p->session);
    if (p->user)
        fprintf(f, "  %s", p->user);
    if (p->start != HUNT_TIME_UNKNOWN)
        fprintf(f, "  %s", hunt_time_format(p->start, ts, sizeof ts));
    if (p->creator_pid >= 0 && p->creator_pid != p->ppid)
        fprintf(f, "  creator %lld", (long long)p->creator_pid);
    if (p->phantom)
        fprintf(f, "  (named by a child's record)");
    if (p->retired)
        fprintf(f, "  (ended)");
    if (p->fired) {
        fprintf(f, "  %s<<", color ? RED : "");
        for (int c = 0; c < HUNT_CHECK_COUNT; c++)
            if (p->fired & (UINT64_C(1) << c) && rs->rules[c].id)
                fprintf(f, " %s", rs->rules[c].id);
        fprintf(f, "%s", color ? RESET : "");
    }
    fputc('\n', f);
    size_t keep = prefix->len;
    if (depth)
        buf_puts(prefix, last ? "   " : "│  ");
    if (depth < 200)
        for (const struct hunt_proc *c = p->first_child; c; c = c->next_sibling)
            tree_node(f, c, rs, color, prefix, c->next_sibling == NULL, depth + 1);
    prefix->len = keep;
    if (prefix->p)
        prefix->p[keep] = '\0';
}

void hunt_output_tree(FILE *f, const struct hunt_tree *t, const struct hunt_ruleset *rs,
                      bool color)
{
    for (size_t i = 0; i < hunt_tree_nboots(t); i++) {
        const struct hunt_boot *b = hunt_tree_boot(t, i);
        if (!b->head)
            continue;
        char ts[40];
        fprintf(f, "boot %zu%s%s\n", i + 1, b->time != HUNT_TIME_UNKNOWN ? " at " : "",
                b->time != HUNT_TIME_UNKNOWN ? hunt_time_format(b->time, ts, sizeof ts) : "");
        struct buf prefix = BUF_INIT;
        buf_puts(&prefix, "");
        for (const struct hunt_proc *p = b->head; p; p = p->next_in_boot)
            if (!p->parent)
                tree_node(f, p, rs, color, &prefix, true, 0);
        buf_free(&prefix);
    }
}

/* ------------------------------------------------------------------ tree as JSON lines */

static void json_node(FILE *f, const struct hunt_proc *p, const struct hunt_ruleset *rs,
                      size_t boot, unsigned depth)
{
    json_t *j = json_object(), *proc = json_object(), *parent = json_object(),
           *ids = json_array();
    char ts[40];
    json_object_set_new(proc, "pid", json_integer(p->pid));
    set_str(proc, "name", p->name);
    set_str(proc, "executable", p->image);
    set_str(proc, "command_line", p->cmdline);
    if (p->ppid >= 0)
        json_object_set_new(parent, "pid", json_integer(p->ppid));
    json_object_set_new(proc, "parent", parent);
    if (p->session >= 0)
        json_object_set_new(proc, "session_id", json_integer(p->session));
    if (p->creator_pid >= 0)
        json_object_set_new(proc, "creator_pid", json_integer(p->creator_pid));
    if (p->start != HUNT_TIME_UNKNOWN)
        set_str(proc, "start", hunt_time_format(p->start, ts, sizeof ts));
    if (p->exit != HUNT_TIME_UNKNOWN)
        set_str(proc, "end", hunt_time_format(p->exit, ts, sizeof ts));
    json_object_set_new(j, "process", proc);
    if (p->user) {
        json_t *u = json_object();
        set_str(u, "name", p->user);
        json_object_set_new(j, "user", u);
    }
    json_t *ev = json_object();
    set_str(ev, "kind", "state");
    set_str(ev, "module", "smss-hunt");
    json_object_set_new(j, "event", ev);
    for (int c = 0; c < HUNT_CHECK_COUNT; c++)
        if (p->fired & (UINT64_C(1) << c) && rs->rules[c].id)
            json_array_append_new(ids, json_string(rs->rules[c].id));
    json_t *tree = json_object();
    json_object_set_new(tree, "boot", json_integer((json_int_t)boot + 1));
    json_object_set_new(tree, "depth", json_integer(depth));
    json_object_set_new(tree, "rule_ids", ids);
    json_object_set_new(tree, "ended", json_boolean(p->retired));
    json_object_set_new(tree, "from_child_record", json_boolean(p->phantom));
    json_object_set_new(j, "tree", tree);
    json_dumpf(j, f, JSON_COMPACT);
    fputc('\n', f);
    json_decref(j);
    if (depth < 200)
        for (const struct hunt_proc *c = p->first_child; c; c = c->next_sibling)
            json_node(f, c, rs, boot, depth + 1);
}

void hunt_output_tree_jsonl(FILE *f, const struct hunt_tree *t, const struct hunt_ruleset *rs)
{
    for (size_t i = 0; i < hunt_tree_nboots(t); i++)
        for (const struct hunt_proc *p = hunt_tree_boot(t, i)->head; p; p = p->next_in_boot)
            if (!p->parent)
                json_node(f, p, rs, i, 0);
}
