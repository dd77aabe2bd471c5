/* JSON lines of Windows process events, one event per line, in the shapes the common
 * shippers write: Winlogbeat (winlog.event_id, winlog.event_data.*), NXLog and the public
 * security datasets (flat: EventID, SourceName, the data fields at the top level), and
 * EVTX-to-JSON dumps (Event.System.*, Event.EventData.*). Fields are read by name. */
#include "buf.h"
#include "hunt_event.h"
#include "hunt_input.h"
#include "hunt_json_scan.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_MAX 5

/* obj.a.b... for a NULL-terminated path of keys. */
static json_t *path_get(json_t *obj, const char *const *keys)
{
    for (; *keys && obj; keys++)
        obj = json_is_object(obj) ? json_object_get(obj, *keys) : NULL;
    return obj;
}

/* A JSON value as text: strings as they are, numbers printed into out. */
static const char *as_text(json_t *v, char *out, size_t size)
{
    if (json_is_object(v)) { /* {"#text": ...} or {"Value": ...} wrappers */
        json_t *t = json_object_get(v, "#text");
        v = t ? t : json_object_get(v, "Value");
    }
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(out, size, "%lld", (long long)json_integer_value(v));
        return out;
    }
    if (json_is_real(v)) {
        snprintf(out, size, "%.0f", json_real_value(v));
        return out;
    }
    return NULL;
}

static const char *first_text(json_t *root, const char *const *const *paths, char *out,
                              size_t size)
{
    for (; *paths; paths++) {
        const char *t = as_text(path_get(root, *paths), out, size);
        if (t)
            return t;
    }
    return NULL;
}

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *const *const id_paths[] = {
    P("winlog", "event_id"), P("EventID"), P("event_id"), P("Event", "System", "EventID"),
    P("event", "code"), NULL};
static const char *const *const provider_paths[] = {
    P("winlog", "provider_name"), P("SourceName"), P("ProviderName"), P("Provider_Name"),
    P("Event", "System", "Provider", "#attributes", "Name"), P("Event", "System", "Provider_Name"),
    NULL};
static const char *const *const time_paths[] = {
    P("Event", "System", "TimeCreated", "#attributes", "SystemTime"), P("TimeCreated"),
    P("@timestamp"), P("EventTime"), P("timestamp"), NULL};
static const char *const *const recno_paths[] = {
    P("winlog", "record_id"), P("RecordNumber"), P("EventRecordID"),
    P("Event", "System", "EventRecordID"), P("record_id"), NULL};
static const char *const *const data_paths[] = {
    P("winlog", "event_data"), P("Event", "EventData"), P("event_data"), P("EventData"), NULL};

struct jsonl_reader {
    const char *path;
    hunt_record_fn fn;
    void *ctx;
    struct hunt_input_stats *st;
    struct diags *d;
    unsigned reported;
    uint64_t line;
    struct buf scratch; /* decoded values of the line being read */
};

static void bad_line(struct jsonl_reader *jr, const char *msg)
{
    jr->st->bad++;
    if (jr->reported++ < REPORT_MAX)
        diag_at(jr->d, DIAG_WARNING, jr->path, (unsigned)jr->line, 0,
                "%s (line skipped; the rest is read)", msg);
}

/* Fill the event's fields from the data object (and the top level, for flat shapes). */
static void fields(json_t *root, struct hunt_event *e, char nums[HF_COUNT][24])
{
    json_t *data = NULL;
    for (const char *const *const *p = data_paths; *p && !data; p++) {
        data = path_get(root, *p);
        if (!json_is_object(data))
            data = NULL;
    }
    const char *key;
    json_t *v;
    for (int pass = 0; pass < 2; pass++) {
        json_t *obj = pass == 0 ? data : root;
        if (!obj)
            continue;
        json_object_foreach(obj, key, v) {
            int f = hunt_field_lookup(key, strlen(key));
            if (f >= 0 && !e->v[f])
                e->v[f] = as_text(v, nums[f], sizeof nums[f]);
        }
    }
}


/* ------------------------------------------------------------------ the fast path */

enum target { T_ID = HF_COUNT, T_PROVIDER, T_TIME, T_RECNO, T_COUNT };

struct fast {
    struct buf *scratch;
    long off[T_COUNT];
    int rank[T_COUNT];
    bool failed;
};

#define span_is(s, lit) ((s).n == sizeof(lit) - 1 && memcmp((s).p, lit, sizeof(lit) - 1) == 0)

/* Which target a member feeds, and with what rank (lower wins; the same preferences as
 * the paths of the full parse below). -1 when none. */
static int classify(const struct hunt_json_member *m, int *rank)
{
    struct hunt_json_span k = m->key, none = {"", 0};
    unsigned d = m->depth;
    if (span_is(k, "#text") || span_is(k, "Value")) { /* {"#text": value} wrappers */
        if (d == 0)
            return -1;
        k = m->path[--d];
    }
    struct hunt_json_span parent = d ? m->path[d - 1] : none, grand = d > 1 ? m->path[d - 2] : none;
    int f = hunt_field_lookup(k.p, k.n);
    if (f >= 0) {
        if (span_is(parent, "event_data") || span_is(parent, "EventData"))
            return *rank = 0, f;
        return d == 0 ? (*rank = 1, f) : -1;
    }
    if (span_is(k, "event_id"))
        return *rank = span_is(parent, "winlog") ? 0 : 2, T_ID;
    if (span_is(k, "EventID"))
        return *rank = d == 0 ? 1 : 3, T_ID;
    if (span_is(k, "code") && span_is(parent, "event"))
        return *rank = 4, T_ID;
    if (span_is(k, "provider_name") && span_is(parent, "winlog"))
        return *rank = 0, T_PROVIDER;
    if (span_is(k, "SourceName") || span_is(k, "ProviderName") || span_is(k, "Provider_Name"))
        return *rank = 1, T_PROVIDER;
    if (span_is(k, "Name") && span_is(parent, "#attributes") && span_is(grand, "Provider"))
        return *rank = 4, T_PROVIDER;
    if (span_is(k, "SystemTime") && span_is(parent, "#attributes"))
        return *rank = 0, T_TIME;
    if (span_is(k, "TimeCreated"))
        return *rank = 1, T_TIME;
    if (d == 0 && (span_is(k, "@timestamp") || span_is(k, "EventTime") || span_is(k, "timestamp")))
        return *rank = span_is(k, "@timestamp") ? 2 : 3, T_TIME;
    if (span_is(k, "record_id"))
        return *rank = span_is(parent, "winlog") ? 0 : 4, T_RECNO;
    if (span_is(k, "RecordNumber") || span_is(k, "EventRecordID"))
        return *rank = 1, T_RECNO;
    return -1;
}

static void fast_member(void *ctx, const struct hunt_json_member *m)
{
    struct fast *fs = ctx;
    int rank;
    int t = classify(m, &rank);
    if (t < 0 || rank >= fs->rank[t] || (!m->is_string && span_is(m->value, "null")))
        return;
    long at = hunt_json_decode_string(m, fs->scratch);
    if (at < 0) {
        fs->failed = true;
        return;
    }
    fs->off[t] = at;
    fs->rank[t] = rank;
}

/* 1 handled (or not a process event), 0 when the walk could not follow the text. */
static int fast_line(struct jsonl_reader *jr, const char *s, size_t n, int *rc)
{
    struct fast fs = {.scratch = &jr->scratch};
    jr->scratch.len = 0;
    for (int i = 0; i < T_COUNT; i++) {
        fs.off[i] = -1;
        fs.rank[i] = 1 << 20;
    }
    if (hunt_json_scan(s, n, fast_member, &fs) < 0 || fs.failed)
        return 0;
    const char *base = jr->scratch.p;
#define AT(t) (fs.off[t] >= 0 ? base + fs.off[t] : NULL)
    struct hunt_event e = {.time = HUNT_TIME_UNKNOWN};
    int64_t id = hunt_parse_pid(AT(T_ID));
    *rc = 0;
    if (id < 0)
        return 1;
    e.id = (unsigned)id;
    e.has_id = true;
    e.provider = AT(T_PROVIDER);
    if (!hunt_event_wanted(e.id, e.provider))
        return 1;
    e.time = hunt_time_parse(AT(T_TIME));
    e.recno = fs.off[T_RECNO] >= 0 ? strtoull(base + fs.off[T_RECNO], NULL, 10) : 0;
    for (int f = 0; f < HF_COUNT; f++)
        e.v[f] = AT(f);
#undef AT
    struct hunt_record r;
    char scratch[512];
    if (hunt_event_record(&e, &r, scratch, sizeof scratch)) {
        r.source = jr->path;
        if (!r.recno)
            r.recno = jr->line;
        jr->st->used++;
        *rc = jr->fn(jr->ctx, &r);
    }
    return 1;
}

/* ------------------------------------------------------------------ the full parse */

/* Lines the walk cannot follow: jansson parses them whole (and says what is wrong). */
static int handle_line(struct jsonl_reader *jr, const char *s, size_t n)
{
    int fast_rc;
    if (fast_line(jr, s, n, &fast_rc))
        return fast_rc;
    json_error_t err;
    json_t *root = json_loadb(s, n, 0, &err);
    if (!root || !json_is_object(root)) {
        char msg[256];
        snprintf(msg, sizeof msg, "not a JSON object: %s (column %d)",
                 root ? "another JSON value" : err.text, root ? 1 : err.column);
        json_decref(root);
        bad_line(jr, msg);
        return 0;
    }
    char idbuf[24], recbuf[24], nums[HF_COUNT][24];
    struct hunt_event e = {.time = HUNT_TIME_UNKNOWN};
    const char *id = first_text(root, id_paths, idbuf, sizeof idbuf);
    int rc = 0;
    if (id && hunt_parse_pid(id) >= 0) {
        e.id = (unsigned)hunt_parse_pid(id);
        e.has_id = true;
        e.provider = first_text(root, provider_paths, NULL, 0);
    }
    if (e.has_id && hunt_event_wanted(e.id, e.provider)) {
        e.time = hunt_time_parse(first_text(root, time_paths, NULL, 0));
        const char *rn = first_text(root, recno_paths, recbuf, sizeof recbuf);
        e.recno = rn ? strtoull(rn, NULL, 10) : 0;
        fields(root, &e, nums);
        struct hunt_record r;
        char scratch[512];
        if (hunt_event_record(&e, &r, scratch, sizeof scratch)) {
            r.source = jr->path;
            if (!r.recno)
                r.recno = jr->line;
            jr->st->used++;
            rc = jr->fn(jr->ctx, &r);
        }
    }
    json_decref(root);
    return rc;
}

int hunt_input_jsonl(const char *path, hunt_record_fn fn, void *ctx,
                     struct hunt_input_stats *st, struct diags *d)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
    if (!f) {
        diag_add(d, DIAG_ERROR, path, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct jsonl_reader jr = {.path = path, .fn = fn, .ctx = ctx, .st = st, .d = d};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        jr.line++;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        st->records++;
        rc = handle_line(&jr, line, (size_t)n);
    }
    if (rc == 0 && ferror(f)) {
        diag_add(d, DIAG_ERROR, path, "read error after line %llu: %s",
                 (unsigned long long)jr.line, strerror(errno));
        rc = -1;
    }
    if (jr.reported > REPORT_MAX)
        diag_add(d, DIAG_WARNING, path, "%u unreadable lines in all (the first %d listed)",
                 jr.reported, REPORT_MAX);
    free(line);
    buf_free(&jr.scratch);
    if (f != stdin)
        fclose(f);
    return rc;
}
